#!/usr/bin/env python3
"""Baseline screen in plain Python + orjson: what an analyst would write instead of restless.

Reads a FHIR Bulk Data export (NDJSON, one resource per line, any resource type in any file),
applies a deliberately small core of restless's rules (see README.md) with the codes, units and
drug names taken from restless's own knowledge base (kb/), and writes one line per patient:

    {"patient":"<id>","rls":false,"present":["diabetes","drug-beta-blocker"]}

Usage:
    python3 python_screen.py --threads N --as-of 2026-11-27 --out OUT.ndjson DIR_OR_FILES...

Work is split into byte ranges of whole lines (gzip files are one range each) and spread over
N processes; each range is pre-filtered on the raw bytes before anything is parsed, and yields
small per-patient partial results that the parent merges and evaluates.

The knowledge-base loading and the rule evaluation here are shared with duckdb_screen.py, so
that both baselines implement exactly the same rules.
"""

from __future__ import annotations

import argparse
import datetime as dt
import gzip
import multiprocessing as mp
import os
import re
import sys
import time
import tomllib
from pathlib import Path

import orjson

HERE = Path(__file__).resolve().parent
DEFAULT_KB = HERE.parent.parent / "kb"

# --- Code systems (as restless reads them; a trailing slash and spaces are ignored) ---------------

ICD10_SYSTEMS = (
    "http://hl7.org/fhir/sid/icd-10-cm",
    "urn:oid:2.16.840.1.113883.6.90",
    "http://hl7.org/fhir/sid/icd-10",
    "urn:oid:2.16.840.1.113883.6.3",
)
SNOMED_SYSTEMS = ("http://snomed.info/sct", "urn:oid:2.16.840.1.113883.6.96")
LOINC_SYSTEMS = ("http://loinc.org", "urn:oid:2.16.840.1.113883.6.1")
RXNORM_SYSTEMS = ("http://www.nlm.nih.gov/research/umls/rxnorm", "urn:oid:2.16.840.1.113883.6.88")

# --- The rule set -----------------------------------------------------------------------------------

# Condition sets (kb/conditions.toml) the rules read.
CONDITION_SETS = (
    "rls", "iron-deficiency", "esrd", "ckd-3-4", "diabetes", "pregnancy",
    "peripheral-neuropathy", "diabetic-neuropathy", "multiple-sclerosis", "parkinson",
    "rheumatoid-arthritis", "sjogren", "hypothyroidism", "lyme", "amyloidosis",
)

# Causes present when an active condition of one of the sets is recorded, and nothing else.
CONDITION_CAUSES = {
    "peripheral-neuropathy": ("peripheral-neuropathy", "diabetic-neuropathy"),
    "multiple-sclerosis": ("multiple-sclerosis",),
    "parkinson-disease": ("parkinson",),
    "rheumatoid-arthritis": ("rheumatoid-arthritis",),
    "sjogren-syndrome": ("sjogren",),
    "lyme-disease": ("lyme",),
    "amyloidosis": ("amyloidosis",),
    "pregnancy": ("pregnancy",),
}

# Drug causes and the drug class (kb/drugs/classes.toml) each one tests.
DRUG_CAUSES = {
    "drug-serotonergic-antidepressant": "serotonergic-antidepressant",
    "drug-mirtazapine": "mirtazapine-mianserin",
    "drug-antipsychotic": "antipsychotic",
    "drug-lithium": "lithium",
    "drug-beta-blocker": "beta-blocker",
    "drug-h2-blocker": "h2-blocker",
    "drug-sedating-antihistamine": "sedating-antihistamine",
    "drug-dopamine-antagonist-antiemetic": "dopamine-antagonist-antiemetic",
    "drug-anticonvulsant": "anticonvulsant-rls-reports",
    "drug-tramadol": "tramadol",
}

# Lab analytes (kb/labs.toml) the rules read. Thresholds are those of kb/causes/*.toml, in each
# analyte's canonical unit.
ANALYTES = ("ferritin", "transferrin-saturation", "egfr", "hba1c", "glucose-fasting", "tsh")
FERRITIN_ADULT_MAX = 75.0   # ng/mL, <=, age >= 18     (iron-deficiency.toml)
FERRITIN_CHILD_BELOW = 50.0  # ng/mL, <, age < 18      (iron-deficiency.toml)
TSAT_BELOW = 20.0           # %, <                     (iron-deficiency.toml)
EGFR_G5_BELOW = 15.0        # mL/min/1.73 m2, <        (esrd-dialysis.toml)
EGFR_CKD_BELOW = 60.0       # 15 <= eGFR < 60          (ckd-non-dialysis.toml)
HBA1C_MIN = 6.5             # %, >=                    (diabetes.toml)
FPG_MIN = 126.0             # mg/dL, >=                (diabetes.toml)
TSH_ABOVE = 4.12            # mIU/L, >                 (hypothyroidism.toml)
LAB_WINDOW_MONTHS = 12

ALL_CAUSES = sorted(
    ["iron-deficiency", "esrd-dialysis", "ckd-non-dialysis", "diabetes", "hypothyroidism"]
    + list(CONDITION_CAUSES)
    + list(DRUG_CAUSES)
)

CONDITION_NOT_ESTABLISHED = ("entered-in-error", "refuted", "unconfirmed", "provisional", "differential")
CONDITION_INACTIVE = ("inactive", "remission", "resolved")
CONDITION_ACTIVE = ("active", "recurrence", "relapse")
OBSERVATION_SKIP = ("entered-in-error", "cancelled", "registered")
MED_ACTIVE = ("active", "on-hold")
MED_NOT_ORDER = ("proposal", "plan", "option")


# --- Text and unit normal forms (the same as restless's kb crate) ---------------------------------

_WORD = re.compile(r"[^\W_]+")
_DIGITS = re.compile(r"[0-9]+|[^0-9]+")


def words(text: str) -> list[str]:
    """Lower-case alphanumeric runs, also split where digits meet letters ("20mg" -> 20, mg)."""
    out: list[str] = []
    for w in _WORD.findall(text.lower()):
        if w.isalpha():
            out.append(w)
        else:
            out.extend(_DIGITS.findall(w))
    return out


def normalise_unit(unit: str) -> str:
    s = unit.strip().replace("µ", "u").replace("μ", "u")
    for ch in "[]{}_ \u00a0":
        s = s.replace(ch, "")
    s = s.replace("²", "2").lower()
    s = s.replace("mcg", "ug").replace("mcmol", "umol")
    s = s.replace("per", "/").replace("litre", "l").replace("liter", "l")
    return s.replace("^", "")


def icd10_key(code: str) -> str:
    return "".join(c for c in code.strip() if c != "." and not c.isspace()).upper()


def norm_system(uri) -> str:
    return uri.strip().rstrip("/") if isinstance(uri, str) else ""


# --- Knowledge base -------------------------------------------------------------------------------


class Kb:
    """The slice of kb/ the baselines need, as plain tables."""

    def __init__(self, root: Path):
        with open(root / "conditions.toml", "rb") as f:
            sets = {s["id"]: s for s in tomllib.load(f)["set"]}
        missing = [s for s in CONDITION_SETS if s not in sets]
        if missing:
            raise SystemExit(f"kb/conditions.toml lacks condition sets {missing}")
        # ICD-10 prefix (normal form) -> sets; SNOMED id -> sets.
        self.icd10: dict[str, set[str]] = {}
        self.snomed: dict[str, set[str]] = {}
        for sid in CONDITION_SETS:
            for code in sets[sid].get("icd10", []):
                self.icd10.setdefault(icd10_key(code), set()).add(sid)
            for code in sets[sid].get("snomed", []):
                self.snomed.setdefault(code.strip(), set()).add(sid)
        self.icd10_lengths = sorted({len(p) for p in self.icd10})

        with open(root / "labs.toml", "rb") as f:
            analytes = {a["id"]: a for a in tomllib.load(f)["analyte"]}
        # LOINC -> analyte; analyte -> {normal unit: (factor, offset)}.
        self.loinc: dict[str, str] = {}
        self.units: dict[str, dict[str, tuple[float, float]]] = {}
        for aid in ANALYTES:
            a = analytes[aid]
            for code in a["loinc"]:
                self.loinc[code.strip()] = aid
            conv = {normalise_unit(a["unit"]): (1.0, 0.0)}
            for c in a.get("convert", []):
                conv[normalise_unit(c["unit"])] = (float(c["factor"]), float(c.get("offset", 0.0)))
            self.units[aid] = conv

        # Drug dictionary: RxCUI -> ingredient, phrase (normal form) -> ingredients,
        # ingredient -> classes.
        self.rxcui: dict[str, str] = {}
        self.lexicon: dict[str, set[str]] = {}
        self.classes: dict[str, set[str]] = {}
        products = []
        for path in sorted((root / "drugs").glob("*.toml")):
            with open(path, "rb") as f:
                data = tomllib.load(f)
            products.extend(data.get("product", []))
            for d in data.get("drug", []):
                self.classes[d["id"]] = set(d.get("classes", []))
                if d.get("rxcui"):
                    self.rxcui[d["rxcui"].strip()] = d["id"]
                for name in [d["id"], *d.get("synonyms", []), *d.get("brands", [])]:
                    self.lexicon.setdefault(" ".join(words(name)), set()).add(d["id"])
        for p in products:
            self.lexicon.setdefault(" ".join(words(p["name"])), set()).update(p["ingredients"])
        self.lexicon.pop("", None)
        self.longest_phrase = max(len(k.split(" ")) for k in self.lexicon)
        wanted = set(DRUG_CAUSES.values())
        # Ingredient -> the wanted classes it belongs to (ingredients of no wanted class dropped).
        self.ingredient_classes = {
            i: cl & wanted for i, cl in self.classes.items() if cl & wanted
        }

    def sets_for_icd10(self, code: str) -> set[str]:
        key = icd10_key(code)
        out: set[str] = set()
        for n in self.icd10_lengths:
            if n <= len(key):
                out |= self.icd10.get(key[:n], set())
        return out

    def classes_for_text(self, text: str) -> set[str]:
        """Wanted classes of every dictionary phrase found as whole words in `text`."""
        w = words(text)
        out: set[str] = set()
        for i in range(len(w)):
            for n in range(1, min(self.longest_phrase, len(w) - i) + 1):
                ings = self.lexicon.get(" ".join(w[i : i + n]))
                if ings:
                    for ing in ings:
                        out |= self.ingredient_classes.get(ing, set())
        return out


# --- Dates ------------------------------------------------------------------------------------------

_DAY = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")


def fhir_date(v) -> dt.date | None:
    """A FHIR date or dateTime of any precision as a day (2026, 2026-10, 2026-10-02T08:00Z)."""
    if not isinstance(v, str):
        return None
    s = v.strip()
    day = s[:10]
    if len(day) == 7:
        day += "-01"
    elif len(day) == 4:
        day += "-01-01"
    elif len(day) != 10:
        return None
    if not _DAY.match(day):
        return None
    try:
        return dt.date(int(day[:4]), int(day[5:7]), int(day[8:10]))
    except ValueError:
        return None


def months_before(d: dt.date, months: int) -> dt.date:
    y, m = divmod(d.year * 12 + (d.month - 1) - months, 12)
    m += 1
    last = (dt.date(y + (m == 12), m % 12 + 1, 1) - dt.timedelta(days=1)).day
    return dt.date(y, m, min(d.day, last))


def age_on(birth: dt.date, on: dt.date) -> int | None:
    if on < birth:
        return None
    years = on.year - birth.year
    if (on.month, on.day) < (birth.month, birth.day):
        years -= 1
    return years


_PATIENT_REF = re.compile(r"(?:^|/)Patient/([^/]+)")


def patient_id(reference) -> str | None:
    """`Patient/<id>`, `https://host/fhir/Patient/<id>` or `urn:uuid:<id>` -> <id>."""
    if not isinstance(reference, str):
        return None
    if reference.startswith("urn:uuid:"):
        return reference[9:] or None
    m = _PATIENT_REF.search(reference)
    return m.group(1) if m else None


# --- Rules ------------------------------------------------------------------------------------------


def evaluate(age, labs: dict, conds: set, classes: set) -> list[str]:
    """Causes present for one patient: `labs` holds the latest in-window value per analyte."""
    ferritin = labs.get("ferritin")
    tsat = labs.get("transferrin-saturation")
    egfr = labs.get("egfr")
    hba1c = labs.get("hba1c")
    fpg = labs.get("glucose-fasting")
    tsh = labs.get("tsh")
    present = []
    if (
        (age is not None and age >= 18 and ferritin is not None and ferritin <= FERRITIN_ADULT_MAX)
        or (age is not None and age < 18 and ferritin is not None and ferritin < FERRITIN_CHILD_BELOW)
        or (tsat is not None and tsat < TSAT_BELOW)
        or "iron-deficiency" in conds
    ):
        present.append("iron-deficiency")
    if (egfr is not None and egfr < EGFR_G5_BELOW) or "esrd" in conds:
        present.append("esrd-dialysis")
    if (egfr is not None and EGFR_G5_BELOW <= egfr < EGFR_CKD_BELOW) or (
        "ckd-3-4" in conds and "esrd" not in conds
    ):
        present.append("ckd-non-dialysis")
    if (hba1c is not None and hba1c >= HBA1C_MIN) or (fpg is not None and fpg >= FPG_MIN) or (
        "diabetes" in conds
    ):
        present.append("diabetes")
    if (tsh is not None and tsh > TSH_ABOVE) or ("hypothyroidism" in conds and tsh is None):
        present.append("hypothyroidism")
    for cause, sets in CONDITION_CAUSES.items():
        if any(s in conds for s in sets):
            present.append(cause)
    for cause, cl in DRUG_CAUSES.items():
        if cl in classes:
            present.append(cause)
    return sorted(present)


# --- Reading ----------------------------------------------------------------------------------------


def list_inputs(paths: list[str]) -> list[str]:
    """Every *.ndjson and *.ndjson.gz file under the given directories, plus the files given."""
    out = []
    for p in paths:
        if os.path.isdir(p):
            for root, dirs, files in os.walk(p):
                dirs.sort()
                for name in sorted(files):
                    if name.endswith(".ndjson") or name.endswith(".ndjson.gz"):
                        out.append(os.path.join(root, name))
        elif os.path.isfile(p):
            out.append(p)
        else:
            raise SystemExit(f"no such file or directory: {p}")
    if not out:
        raise SystemExit("no .ndjson or .ndjson.gz files in the input")
    return out


class Partial:
    """Per-patient facts from part of the input; partials merge in any order."""

    __slots__ = ("birth", "conds", "labs", "classes")

    def __init__(self):
        # Patient id -> birth date (None when unknown); the earliest wins if a Patient repeats.
        self.birth: dict[str, dt.date | None] = {}
        self.conds: dict[str, set[str]] = {}
        # (patient, analyte) -> (-date ordinal, resource id, value): the minimum is the latest.
        self.labs: dict[tuple[str, str], tuple[int, str, float]] = {}
        self.classes: dict[str, set[str]] = {}

    def add_birth(self, pid: str, b: dt.date | None):
        cur = self.birth.get(pid)
        if cur is None or (b is not None and b < cur):
            self.birth[pid] = b

    def merge(self, o: "Partial"):
        for pid, b in o.birth.items():
            self.add_birth(pid, b)
        for pid, s in o.conds.items():
            self.conds.setdefault(pid, set()).update(s)
        for k, v in o.labs.items():
            cur = self.labs.get(k)
            if cur is None or v < cur:
                self.labs[k] = v
        for pid, s in o.classes.items():
            self.classes.setdefault(pid, set()).update(s)


class Scanner:
    def __init__(self, kb: Kb, as_of: dt.date):
        self.kb = kb
        self.as_of = as_of
        self.window_from = months_before(as_of, LAB_WINDOW_MONTHS)
        # A MedicationRequest line is parsed only when it holds an active status (any case).
        # Observations get no such test: searching each line for the analytes' 17 LOINC codes
        # (with `in`, one regex, or findall) measured 4x slower than orjson parsing the line.
        self.med_marker = re.compile(rb'"(?:active|on-hold)"', re.IGNORECASE)

    # One line: a cheap look at the raw bytes first, orjson only for lines that may matter.
    def line(self, line: bytes, part: Partial):
        i = line.find(b'"resourceType"')
        if i < 0:
            return
        j = line.find(b'"', line.find(b":", i + 14) + 1)
        k = line.find(b'"', j + 1)
        rt = line[j + 1 : k]
        if rt == b"MedicationRequest":
            if not self.med_marker.search(line):
                return
        elif rt != b"Observation" and rt != b"Condition" and rt != b"Patient":
            # The first resourceType may belong to a contained resource written before the
            # top-level one: such lines are parsed rather than skipped.
            c = line.find(b'"contained"', 0, i)
            if c < 0:
                return
        try:
            r = orjson.loads(line)
        except orjson.JSONDecodeError:
            return
        if not isinstance(r, dict):
            return
        t = r.get("resourceType")
        if t == "Condition":
            self.condition(r, part)
        elif t == "Observation":
            self.observation(r, part)
        elif t == "MedicationRequest":
            self.medication(r, part)
        elif t == "Patient":
            pid = r.get("id")
            if isinstance(pid, str):
                b = fhir_date(r.get("birthDate"))
                if b is not None and b > self.as_of:
                    b = None
                part.add_birth(pid, b)

    @staticmethod
    def subject(r) -> str | None:
        """The patient a resource is about: subject.reference, else patient.reference."""
        for key in ("subject", "patient"):
            ref = r.get(key)
            if isinstance(ref, dict) and isinstance(ref.get("reference"), str):
                return patient_id(ref["reference"])
        return None

    def condition(self, r, part: Partial):
        # Codes first: most conditions are in none of the sets.
        found: set[str] = set()
        snomed = self.kb.snomed
        for c in codings(r.get("code")):
            code = c["code"]
            system = c.get("system")
            if system not in SNOMED_SYSTEMS and system not in ICD10_SYSTEMS:
                system = norm_system(system)
            if system in SNOMED_SYSTEMS:
                sets = snomed.get(code.strip())
                if sets:
                    found |= sets
            elif system in ICD10_SYSTEMS:
                found |= self.kb.sets_for_icd10(code)
        if not found:
            return
        pid = self.subject(r)
        if pid is None:
            return
        if status_code(r.get("verificationStatus")) in CONDITION_NOT_ESTABLISHED:
            return
        clinical = status_code(r.get("clinicalStatus"))
        if clinical in CONDITION_INACTIVE:
            return
        if clinical not in CONDITION_ACTIVE:
            ap = r.get("abatementPeriod")
            abated = fhir_date(r.get("abatementDateTime"))
            if abated is None and isinstance(ap, dict):
                abated = fhir_date(ap.get("end")) or fhir_date(ap.get("start"))
            if (abated is not None and abated <= self.as_of) or any(
                r.get(k) is not None for k in ("abatementString", "abatementAge", "abatementRange")
            ):
                return
        onset = fhir_date(r.get("onsetDateTime"))
        if onset is None and isinstance(r.get("onsetPeriod"), dict):
            op = r["onsetPeriod"]
            onset = fhir_date(op.get("start")) or fhir_date(op.get("end"))
        if onset is not None and onset > self.as_of:
            return
        part.conds.setdefault(pid, set()).update(found)

    def observation(self, r, part: Partial):
        # The first LOINC coding of an analyte; the code is looked up before the system is
        # checked, as nearly every Observation is LOINC-coded but few are these analytes.
        analyte = None
        loinc = self.kb.loinc
        for c in codings(r.get("code")):
            a = loinc.get(c["code"].strip())
            if a is not None:
                system = c.get("system")
                if system in LOINC_SYSTEMS or norm_system(system) in LOINC_SYSTEMS:
                    analyte = a
                    break
        if analyte is None or r.get("dataAbsentReason") is not None:
            return
        pid = self.subject(r)
        if pid is None:
            return
        status = r.get("status")
        if isinstance(status, str) and status.lower() in OBSERVATION_SKIP:
            return
        when = fhir_date(r.get("effectiveDateTime")) or fhir_date(r.get("effectiveInstant"))
        if when is None and isinstance(r.get("effectivePeriod"), dict):
            ep = r["effectivePeriod"]
            when = fhir_date(ep.get("end")) or fhir_date(ep.get("start"))
        if when is None:
            when = fhir_date(r.get("issued"))
        if when is None or when > self.as_of or when < self.window_from:
            return
        q = r.get("valueQuantity")
        if not isinstance(q, dict):
            return
        value = number(q.get("value"))
        if value is None or value < 0:
            return
        conv = self.kb.units[analyte]
        code_unit = q.get("code") if isinstance(q.get("code"), str) else None
        qsys = q.get("system")
        if code_unit is not None and isinstance(qsys, str) and "unitsofmeasure" not in qsys:
            code_unit = None
        text_unit = q.get("unit") if isinstance(q.get("unit"), str) else None
        if code_unit is not None and normalise_unit(code_unit) in conv:
            unit = code_unit
        else:
            unit = text_unit if text_unit is not None else (code_unit or "")
        if unit.strip() == "%" and value > 100:
            return
        c = conv.get(normalise_unit(unit))
        if c is None:
            return
        canonical = value * c[0] + c[1]
        key = (pid, analyte)
        cand = (-when.toordinal(), r.get("id") if isinstance(r.get("id"), str) else "", canonical)
        cur = part.labs.get(key)
        if cur is None or cand < cur:
            part.labs[key] = cand

    def medication(self, r, part: Partial):
        pid = self.subject(r)
        if pid is None:
            return
        status = r.get("status")
        if not isinstance(status, str) or status.lower() not in MED_ACTIVE:
            return
        if r.get("intent") in MED_NOT_ORDER:
            return
        validity = r.get("dispenseRequest")
        validity = validity.get("validityPeriod") if isinstance(validity, dict) else None
        validity = validity if isinstance(validity, dict) else {}
        start = fhir_date(validity.get("start")) or fhir_date(r.get("authoredOn"))
        end = fhir_date(validity.get("end"))
        if (start is not None and start > self.as_of) or (end is not None and end < self.as_of):
            return
        cc = r.get("medicationCodeableConcept")
        if not isinstance(cc, dict):
            return
        found: set[str] = set()
        texts = []
        if isinstance(cc.get("text"), str):
            texts.append(cc["text"])
        for c in codings(cc):  # as restless: a coding without a code is not read at all
            if norm_system(c.get("system")) in RXNORM_SYSTEMS:
                ing = self.kb.rxcui.get(c["code"].strip())
                if ing:
                    found |= self.kb.ingredient_classes.get(ing, set())
            if isinstance(c.get("display"), str):
                texts.append(c["display"])
        for t in texts:
            found |= self.kb.classes_for_text(t)
        if found:
            part.classes.setdefault(pid, set()).update(found)


def codings(cc) -> list[dict]:
    """Codings of a CodeableConcept that carry a string code."""
    if cc.__class__ is not dict:
        return []
    lst = cc.get("coding")
    if lst.__class__ is not list:
        return []
    return [c for c in lst if c.__class__ is dict and c.get("code").__class__ is str]


def status_code(v) -> str | None:
    """The first coded coding of a CodeableConcept status (R4; a plain string is not read)."""
    cs = codings(v)
    return cs[0]["code"].strip().lower() if cs else None


def number(v) -> float | None:
    if isinstance(v, bool):
        return None
    if isinstance(v, (int, float)):
        f = float(v)
    elif isinstance(v, str):
        try:
            f = float(v.strip())
        except ValueError:
            return None
    else:
        return None
    return f if f == f and f not in (float("inf"), float("-inf")) else None


# --- Work units and processes --------------------------------------------------------------------

CHUNK = 32 << 20  # bytes of whole lines per work unit


def plan(files: list[str]) -> list[tuple[str, int, int]]:
    """(file, start, end) byte ranges cut at line ends; a gzip file is one unit (start -1)."""
    units = []
    for path in files:
        if path.endswith(".gz"):
            units.append((path, -1, -1))
            continue
        size = os.path.getsize(path)
        with open(path, "rb") as f:
            start = 0
            while start < size:
                end = min(start + CHUNK, size)
                if end < size:
                    f.seek(end)
                    f.readline()  # to the end of the line the cut fell in
                    end = f.tell()
                units.append((path, start, end))
                start = end
    # Big units first, so that the last ones to finish are small.
    units.sort(key=lambda u: -(u[2] - u[1]) if u[1] >= 0 else -os.path.getsize(u[0]) * 8)
    return units


_SCANNER: Scanner | None = None


def _init(kb_root: str, as_of: dt.date):
    global _SCANNER
    _SCANNER = Scanner(Kb(Path(kb_root)), as_of)


def _work(unit: tuple[str, int, int]) -> Partial:
    path, start, end = unit
    scanner = _SCANNER
    part = Partial()
    if start < 0:
        with gzip.open(path, "rb") as f:
            for line in f:
                scanner.line(line, part)
        return part
    with open(path, "rb") as f:
        f.seek(start)
        data = f.read(end - start)
    for line in data.split(b"\n"):
        if line:
            scanner.line(line, part)
    return part


def screen(files: list[str], as_of: dt.date, threads: int, kb_root: Path) -> list[dict]:
    units = plan(files)
    total = Partial()
    if threads <= 1:
        _init(str(kb_root), as_of)
        for u in units:
            total.merge(_work(u))
    else:
        ctx = mp.get_context("fork")
        with ctx.Pool(threads, initializer=_init, initargs=(str(kb_root), as_of)) as pool:
            for part in pool.imap_unordered(_work, units):
                total.merge(part)
    latest: dict[str, dict[str, float]] = {}
    for (pid, analyte), (_, _, value) in total.labs.items():
        latest.setdefault(pid, {})[analyte] = value
    out = []
    # Every Patient resource, and any other patient that a counted fact is about.
    everyone = set(total.birth) | set(total.conds) | set(latest) | set(total.classes)
    for pid in sorted(everyone):
        birth = total.birth.get(pid)
        age = age_on(birth, as_of) if birth is not None else None
        conds = total.conds.get(pid, set())
        out.append(
            {
                "patient": pid,
                "rls": "rls" in conds,
                "present": evaluate(age, latest.get(pid, {}), conds, total.classes.get(pid, set())),
            }
        )
    return out


def parse_args(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("inputs", nargs="+", help="NDJSON files or directories holding them")
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    p.add_argument("--as-of", required=True, type=dt.date.fromisoformat)
    p.add_argument("--out", required=True)
    p.add_argument("--kb", type=Path, default=DEFAULT_KB, help="knowledge-base folder (default: kb/)")
    return p.parse_args(argv)


def main(argv=None):
    args = parse_args(argv)
    files = list_inputs(args.inputs)
    started = time.perf_counter()
    rows = screen(files, args.as_of, args.threads, args.kb)
    with open(args.out, "wb") as f:
        for row in rows:
            f.write(orjson.dumps(row) + b"\n")
    secs = time.perf_counter() - started
    size = sum(os.path.getsize(p) for p in files)
    print(
        f"python_screen: {len(files)} files, {size / 1e6:.1f} MB, {len(rows)} patients, "
        f"{secs:.2f} s, {size / 1e6 / secs:.0f} MB/s, threads={args.threads}",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
