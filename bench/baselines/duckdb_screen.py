#!/usr/bin/env python3
"""Baseline screen in DuckDB SQL: what an analyst would write instead of restless.

The same rules, codes and output as python_screen.py (see README.md), done the DuckDB way: one
`read_json` scan over every NDJSON file with explicit, typed `columns=` (only the fields the
rules read), a filter on resourceType (a file's name proves nothing), then joins and a window
function for the latest lab per patient, all in SQL, with `SET threads = N`.

Usage:
    python3 duckdb_screen.py --threads N --as-of 2026-11-27 --out OUT.ndjson DIR_OR_FILES...

Python here only loads the knowledge base into small tables and builds the SQL text; the data
never passes through Python. `--explain` prints the SQL instead of running it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.dont_write_bytecode = True  # no __pycache__ beside the scripts
import python_screen as ps  # noqa: E402  (the shared knowledge-base loader and rule constants)

PERIOD = 'STRUCT("start" VARCHAR, "end" VARCHAR)'
STATUS_CC = "STRUCT(coding STRUCT(code VARCHAR)[])"

# Only the fields the rules read, per resource type, in one scan. Types follow FHIR R4; with
# ignore_errors a field of another shape (a coding given as an object instead of a list) reads as
# NULL and a line that is not JSON as a row of NULLs, as python_screen.py skips them.
COLUMNS = {
    "resourceType": "VARCHAR",
    "id": "VARCHAR",
    # Condition, Observation, MedicationRequest
    "subject": "STRUCT(reference VARCHAR)",
    "patient": "STRUCT(reference VARCHAR)",
    "code": "STRUCT(coding STRUCT(system VARCHAR, code VARCHAR)[])",
    "status": "VARCHAR",
    # Patient
    "birthDate": "VARCHAR",
    # Condition
    "clinicalStatus": STATUS_CC,
    "verificationStatus": STATUS_CC,
    "onsetDateTime": "VARCHAR",
    "onsetPeriod": PERIOD,
    "abatementDateTime": "VARCHAR",
    "abatementPeriod": PERIOD,
    "abatementString": "VARCHAR",
    "abatementAge": "JSON",
    "abatementRange": "JSON",
    # Observation
    "effectiveDateTime": "VARCHAR",
    "effectiveInstant": "VARCHAR",
    "effectivePeriod": PERIOD,
    "issued": "VARCHAR",
    # value as text: a JSON number keeps its digits, a number in a string is accepted too.
    "valueQuantity": "STRUCT(value VARCHAR, unit VARCHAR, system VARCHAR, code VARCHAR)",
    "dataAbsentReason": "JSON",
    # MedicationRequest
    "intent": "VARCHAR",
    "authoredOn": "VARCHAR",
    "dispenseRequest": f"STRUCT(validityPeriod {PERIOD})",
    "medicationCodeableConcept": (
        "STRUCT(coding STRUCT(system VARCHAR, code VARCHAR, display VARCHAR)[], text VARCHAR)"
    ),
}


def lit(s: str) -> str:
    return "'" + s.replace("'", "''") + "'"


def lits(items) -> str:
    return "(" + ", ".join(lit(x) for x in items) + ")"


MACROS = r"""
-- A FHIR date or dateTime of any precision as a day; NULL when it is not one.
CREATE OR REPLACE TEMP MACRO fhir_day(s) AS (
    CASE length(left(trim(s), 10))
        WHEN 10 THEN left(trim(s), 10)
        WHEN 7 THEN left(trim(s), 10) || '-01'
        WHEN 4 THEN left(trim(s), 10) || '-01-01'
    END);
CREATE OR REPLACE TEMP MACRO fhir_date(s) AS (
    CASE WHEN regexp_full_match(fhir_day(s), '[0-9]{4}-[0-9]{2}-[0-9]{2}')
         THEN TRY_CAST(fhir_day(s) AS DATE) END);
-- `Patient/<id>`, `https://host/fhir/Patient/<id>` or `urn:uuid:<id>` -> <id>.
CREATE OR REPLACE TEMP MACRO patient_id(ref) AS (
    CASE WHEN starts_with(ref, 'urn:uuid:') THEN nullif(ref[10:], '')
         ELSE nullif(regexp_extract(ref, '(?:^|/)Patient/([^/]+)', 1), '') END);
CREATE OR REPLACE TEMP MACRO norm_system(s) AS (rtrim(trim(s), '/'));
-- The unit spelling restless compares: case, micro signs, brackets, braces, spaces.
CREATE OR REPLACE TEMP MACRO norm_unit(u) AS (
    replace(replace(replace(replace(replace(replace(
        lower(translate(trim(u), 'µμ²[]{}_ ' || chr(160), 'uu2')),
        'mcg', 'ug'), 'mcmol', 'umol'), 'per', '/'), 'litre', 'l'), 'liter', 'l'), '^', ''));
-- Lower-case words, split at non-alphanumerics and where digits meet letters.
CREATE OR REPLACE TEMP MACRO words(t) AS (
    list_filter(
        regexp_split_to_array(
            regexp_replace(regexp_replace(lower(t), '([0-9])([^0-9])', '\1 \2', 'g'),
                           '([^0-9])([0-9])', '\1 \2', 'g'),
            '[^\pL\pN]+'),
        lambda x: x <> ''));
CREATE OR REPLACE TEMP MACRO first_code(cc) AS (
    lower(trim(list_filter(cc.coding, lambda x: x.code IS NOT NULL)[1].code)));
"""


def build_sql(files: list[str], as_of: dt.date, kb: ps.Kb, out: str) -> list[str]:
    as_of_sql = f"DATE '{as_of.isoformat()}'"
    window_from = f"DATE '{ps.months_before(as_of, ps.LAB_WINDOW_MONTHS).isoformat()}'"
    loinc_case = (
        "CASE trim(c.code) "
        + " ".join(f"WHEN {lit(code)} THEN {lit(a)}" for code, a in sorted(kb.loinc.items()))
        + " END"
    )
    columns = "{" + ", ".join(f"{lit(k)}: {lit(v)}" for k, v in COLUMNS.items()) + "}"
    file_list = "[" + ", ".join(lit(f) for f in files) + "]"
    analyte_of = (
        "list_filter(list_transform(code.coding, lambda c: CASE WHEN norm_system(c.system) IN "
        f"{lits(ps.LOINC_SYSTEMS)} THEN {loinc_case} END), lambda x: x IS NOT NULL)[1]"
    )

    codes = "[" + ", ".join(lit(c) for c in sorted(kb.loinc)) + "]"

    sql = []
    # 1. One scan: the four resource types, and of Observations and MedicationRequests only
    #    those that can matter (one of the analytes' LOINC codes, checked exactly later; an
    #    active status). Cheap tests here: the kept rows are materialised.
    sql.append(f"""
CREATE TEMP TABLE res AS
SELECT *, patient_id(coalesce(subject.reference, patient.reference)) AS pid
FROM read_json({file_list}, format = 'newline_delimited', columns = {columns},
               ignore_errors = true)
WHERE resourceType IN ('Patient', 'Condition')
   OR (resourceType = 'Observation'
       AND list_has_any(list_transform(code.coding, lambda c: trim(c.code)), {codes}))
   OR (resourceType = 'MedicationRequest' AND lower(status) IN {lits(ps.MED_ACTIVE)})
""")
    # 2. Conditions: established, current, coded in one of the sets.
    sql.append(f"""
CREATE TEMP TABLE cond AS
WITH c AS (
    SELECT pid, unnest(code.coding) AS cd
    FROM res
    WHERE resourceType = 'Condition' AND pid IS NOT NULL
      AND coalesce(first_code(verificationStatus), '') NOT IN {lits(ps.CONDITION_NOT_ESTABLISHED)}
      AND coalesce(first_code(clinicalStatus), '') NOT IN {lits(ps.CONDITION_INACTIVE)}
      AND (coalesce(first_code(clinicalStatus), '') IN {lits(ps.CONDITION_ACTIVE)} OR NOT (
            coalesce(coalesce(fhir_date(abatementDateTime), fhir_date(abatementPeriod."end"),
                              fhir_date(abatementPeriod.start)) <= {as_of_sql}, false)
            OR abatementString IS NOT NULL OR abatementAge IS NOT NULL
            OR abatementRange IS NOT NULL))
      AND coalesce(coalesce(fhir_date(onsetDateTime), fhir_date(onsetPeriod.start),
                            fhir_date(onsetPeriod."end")) <= {as_of_sql}, true)
), coded AS (
    SELECT pid, norm_system(cd.system) AS system, cd.code AS code
    FROM c WHERE cd.code IS NOT NULL
), icd AS (
    SELECT pid, upper(regexp_replace(trim(code), '[.\\s]', '', 'g')) AS icd_key
    FROM coded WHERE system IN {lits(ps.ICD10_SYSTEMS)}
)
SELECT DISTINCT pid, s.set_id
FROM (SELECT pid, icd_key, unnest({sorted(kb.icd10_lengths)}) AS n FROM icd) i
JOIN kb_icd10 s ON s.prefix = left(i.icd_key, i.n)
UNION
SELECT DISTINCT pid, s.set_id
FROM coded JOIN kb_snomed s ON s.code = trim(coded.code)
WHERE coded.system IN {lits(ps.SNOMED_SYSTEMS)}
""")
    # 3. Labs: value in the analyte's canonical unit, latest in the window per patient.
    sql.append(f"""
CREATE TEMP TABLE lab AS
WITH o AS (
    SELECT pid, coalesce(id, '') AS id, {analyte_of} AS analyte,
           coalesce(fhir_date(effectiveDateTime), fhir_date(effectiveInstant),
                    fhir_date(effectivePeriod."end"), fhir_date(effectivePeriod.start),
                    fhir_date(issued)) AS day,
           TRY_CAST(valueQuantity.value AS DOUBLE) AS value,
           valueQuantity.unit AS text_unit,
           CASE WHEN valueQuantity.system IS NULL
                  OR contains(valueQuantity.system, 'unitsofmeasure')
                THEN valueQuantity.code END AS code_unit
    FROM res
    WHERE resourceType = 'Observation' AND pid IS NOT NULL
      AND coalesce(lower(status), '') NOT IN {lits(ps.OBSERVATION_SKIP)}
      AND dataAbsentReason IS NULL
), u AS (
    SELECT o.*,
           CASE WHEN code_unit IS NOT NULL AND EXISTS (
                    SELECT 1 FROM kb_unit k WHERE k.analyte = o.analyte
                                               AND k.unit = norm_unit(o.code_unit))
                THEN code_unit ELSE coalesce(text_unit, code_unit, '') END AS unit
    FROM o
    WHERE analyte IS NOT NULL AND day BETWEEN {window_from} AND {as_of_sql}
      AND value >= 0 AND isfinite(value)
)
SELECT pid, analyte, value FROM (
    SELECT u.pid, u.analyte, u.value * k.factor + k.offset AS value,
           row_number() OVER (PARTITION BY u.pid, u.analyte
                              ORDER BY u.day DESC, u.id, u.value * k.factor + k.offset) AS rn
    FROM u JOIN kb_unit k ON k.analyte = u.analyte AND k.unit = norm_unit(u.unit)
    WHERE NOT (trim(u.unit) = '%' AND u.value > 100)
) WHERE rn = 1
""")
    # 4. Medications: current orders, by RxNorm ingredient code or a dictionary name in the text.
    sql.append(f"""
CREATE TEMP TABLE med AS
WITH m AS (
    SELECT pid, medicationCodeableConcept AS mcc
    FROM res
    WHERE resourceType = 'MedicationRequest' AND pid IS NOT NULL
      AND lower(status) IN {lits(ps.MED_ACTIVE)}
      AND coalesce(intent, '') NOT IN {lits(ps.MED_NOT_ORDER)}
      AND coalesce(coalesce(fhir_date(dispenseRequest.validityPeriod.start),
                            fhir_date(authoredOn)) <= {as_of_sql}, true)
      AND coalesce(fhir_date(dispenseRequest.validityPeriod."end") >= {as_of_sql}, true)
      AND mcc IS NOT NULL
), by_code AS (
    SELECT pid, k.ingredient
    FROM (SELECT pid, unnest(mcc.coding) AS cd FROM m) x
    JOIN kb_rxcui k ON k.rxcui = trim(x.cd.code)
    WHERE norm_system(x.cd.system) IN {lits(ps.RXNORM_SYSTEMS)}
), texts AS (
    SELECT pid, words(t) AS w
    FROM (SELECT pid, unnest(list_concat([mcc.text], list_transform(list_filter(mcc.coding, lambda c: c.code IS NOT NULL), lambda c: c.display))) AS t
          FROM m)
    WHERE t IS NOT NULL
), starts AS (
    SELECT pid, w, unnest(range(1, len(w) + 1)) AS i FROM texts
), grams AS (
    SELECT pid, array_to_string(w[i : i + n - 1], ' ') AS phrase
    FROM (SELECT pid, w, i, unnest(range(1, {kb.longest_phrase} + 1)) AS n FROM starts)
    WHERE i + n - 1 <= len(w)
), by_text AS (
    SELECT pid, k.ingredient FROM grams JOIN kb_lexicon k ON k.phrase = grams.phrase
)
SELECT DISTINCT pid, c.class
FROM (SELECT * FROM by_code UNION ALL SELECT * FROM by_text) x
JOIN kb_class c ON c.ingredient = x.ingredient
""")
    # 5. Per patient: facts side by side, then the rules.
    t = {k: repr(v) for k, v in {
        "fa": ps.FERRITIN_ADULT_MAX, "fc": ps.FERRITIN_CHILD_BELOW, "ts": ps.TSAT_BELOW,
        "g5": ps.EGFR_G5_BELOW, "ckd": ps.EGFR_CKD_BELOW, "a1c": ps.HBA1C_MIN,
        "fpg": ps.FPG_MIN, "tsh": ps.TSH_ABOVE}.items()}
    rules = {
        "iron-deficiency": f"""(age >= 18 AND ferritin <= {t['fa']})
            OR (age < 18 AND ferritin < {t['fc']}) OR tsat < {t['ts']}
            OR list_contains(sets, 'iron-deficiency')""",
        "esrd-dialysis": f"egfr < {t['g5']} OR list_contains(sets, 'esrd')",
        "ckd-non-dialysis": f"""(egfr >= {t['g5']} AND egfr < {t['ckd']})
            OR (list_contains(sets, 'ckd-3-4') AND NOT list_contains(sets, 'esrd'))""",
        "diabetes": f"hba1c >= {t['a1c']} OR fpg >= {t['fpg']} OR list_contains(sets, 'diabetes')",
        "hypothyroidism": f"""tsh > {t['tsh']}
            OR (list_contains(sets, 'hypothyroidism') AND tsh IS NULL)""",
    }
    for cause, sets in ps.CONDITION_CAUSES.items():
        rules[cause] = " OR ".join(f"list_contains(sets, {lit(s)})" for s in sets)
    for cause, cl in ps.DRUG_CAUSES.items():
        rules[cause] = f"list_contains(classes, {lit(cl)})"
    assert sorted(rules) == ps.ALL_CAUSES
    present = ",\n            ".join(
        f"CASE WHEN coalesce({rules[c]}, false) THEN {lit(c)} END" for c in sorted(rules)
    )
    sql.append(f"""
COPY (
    WITH patients AS (
        SELECT id AS pid, min(CASE WHEN fhir_date(birthDate) <= {as_of_sql}
                                   THEN fhir_date(birthDate) END) AS birth
        FROM res WHERE resourceType = 'Patient' AND id IS NOT NULL GROUP BY id
    ), everyone AS (
        SELECT pid FROM patients UNION SELECT pid FROM cond
        UNION SELECT pid FROM lab UNION SELECT pid FROM med
    ), labs AS (
        SELECT pid,
               max(value) FILTER (analyte = 'ferritin') AS ferritin,
               max(value) FILTER (analyte = 'transferrin-saturation') AS tsat,
               max(value) FILTER (analyte = 'egfr') AS egfr,
               max(value) FILTER (analyte = 'hba1c') AS hba1c,
               max(value) FILTER (analyte = 'glucose-fasting') AS fpg,
               max(value) FILTER (analyte = 'tsh') AS tsh
        FROM lab GROUP BY pid
    ), facts AS (
        SELECT e.pid,
               year({as_of_sql}) - year(p.birth)
                 - CASE WHEN month({as_of_sql}) * 100 + day({as_of_sql})
                             < month(p.birth) * 100 + day(p.birth) THEN 1 ELSE 0 END AS age,
               coalesce((SELECT list(set_id) FROM cond c WHERE c.pid = e.pid), []) AS sets,
               coalesce((SELECT list(class) FROM med m WHERE m.pid = e.pid), []) AS classes,
               l.ferritin, l.tsat, l.egfr, l.hba1c, l.fpg, l.tsh
        FROM everyone e LEFT JOIN patients p USING (pid) LEFT JOIN labs l USING (pid)
    )
    SELECT pid AS patient,
           list_contains(sets, 'rls') AS rls,
           list_filter([
            {present}
           ], lambda x: x IS NOT NULL) AS present
    FROM facts
    ORDER BY pid
) TO {lit(out)} (FORMAT json)
""")
    return sql


def load_kb_tables(con, kb: ps.Kb):
    con.execute("CREATE TEMP TABLE kb_icd10 (prefix VARCHAR, set_id VARCHAR)")
    con.executemany(
        "INSERT INTO kb_icd10 VALUES (?, ?)",
        [(p, s) for p, sets in sorted(kb.icd10.items()) for s in sorted(sets)],
    )
    con.execute("CREATE TEMP TABLE kb_snomed (code VARCHAR, set_id VARCHAR)")
    con.executemany(
        "INSERT INTO kb_snomed VALUES (?, ?)",
        [(c, s) for c, sets in sorted(kb.snomed.items()) for s in sorted(sets)],
    )
    con.execute("CREATE TEMP TABLE kb_unit (analyte VARCHAR, unit VARCHAR, factor DOUBLE, \"offset\" DOUBLE)")
    con.executemany(
        "INSERT INTO kb_unit VALUES (?, ?, ?, ?)",
        [(a, u, f, o) for a, conv in sorted(kb.units.items()) for u, (f, o) in sorted(conv.items())],
    )
    con.execute("CREATE TEMP TABLE kb_rxcui (rxcui VARCHAR, ingredient VARCHAR)")
    con.executemany("INSERT INTO kb_rxcui VALUES (?, ?)", sorted(kb.rxcui.items()))
    con.execute("CREATE TEMP TABLE kb_lexicon (phrase VARCHAR, ingredient VARCHAR)")
    con.executemany(
        "INSERT INTO kb_lexicon VALUES (?, ?)",
        [(p, i) for p, ings in sorted(kb.lexicon.items()) for i in sorted(ings)],
    )
    con.execute("CREATE TEMP TABLE kb_class (ingredient VARCHAR, class VARCHAR)")
    con.executemany(
        "INSERT INTO kb_class VALUES (?, ?)",
        [(i, c) for i, cls in sorted(kb.ingredient_classes.items()) for c in sorted(cls)],
    )


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("inputs", nargs="+", help="NDJSON files or directories holding them")
    p.add_argument("--threads", type=int, default=os.cpu_count() or 1)
    p.add_argument("--as-of", required=True, type=dt.date.fromisoformat)
    p.add_argument("--out", required=True)
    p.add_argument("--kb", type=Path, default=ps.DEFAULT_KB, help="knowledge-base folder (default: kb/)")
    p.add_argument("--memory-limit", default=None, help="DuckDB memory_limit, e.g. 8GB")
    p.add_argument("--explain", action="store_true", help="print the SQL and stop")
    args = p.parse_args(argv)

    files = ps.list_inputs(args.inputs)
    kb = ps.Kb(args.kb)
    statements = build_sql(files, args.as_of, kb, args.out)
    if args.explain:
        print(MACROS)
        print(";\n".join(statements) + ";")
        return
    started = time.perf_counter()
    con = duckdb.connect()
    con.execute(f"SET threads = {int(args.threads)}")
    if args.memory_limit:
        con.execute(f"SET memory_limit = {lit(args.memory_limit)}")
    con.execute("SET preserve_insertion_order = true")
    con.execute(MACROS)
    load_kb_tables(con, kb)
    for stmt in statements:
        con.execute(stmt)
    secs = time.perf_counter() - started
    with open(args.out, "rb") as f:
        n = sum(1 for _ in f)
    size = sum(os.path.getsize(p) for p in files)
    print(
        f"duckdb_screen: {len(files)} files, {size / 1e6:.1f} MB, {n} patients, "
        f"{secs:.2f} s, {size / 1e6 / secs:.0f} MB/s, threads={args.threads}",
        file=sys.stderr,
    )


if __name__ == "__main__":
    main()
