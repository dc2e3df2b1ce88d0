//! The FHIR R4 reader end to end: realistic, hand-made Bundles and resources go through the real
//! reader and the real engine (embedded knowledge base, as of 2026-11-27), and each test checks
//! the findings (present, absent, unknown), the evidence's source (`Type/id`), the warnings and
//! the tally.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::OnceLock;

use restless_engine::{Assessment, Evidence, Finding, Status, assess};
use restless_facts::{Cmp, Date};
use restless_ingest::{Ingested, read};
use restless_kb::Kb;
use serde_json::{Value, json};

// --- Harness ------------------------------------------------------------------------------------

fn kb() -> &'static Kb {
    static KB: OnceLock<Kb> = OnceLock::new();
    KB.get_or_init(|| match Kb::embedded() {
        Ok(kb) => kb,
        Err(diags) => panic!(
            "embedded knowledge base is invalid:\n{}",
            diags.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n")
        ),
    })
}

fn as_of() -> Date {
    Date::from_ymd_opt(2026, 11, 27).unwrap()
}

const LOINC: &str = "http://loinc.org";
const SNOMED: &str = "http://snomed.info/sct";
const ICD10CM: &str = "http://hl7.org/fhir/sid/icd-10-cm";
const ICD10: &str = "http://hl7.org/fhir/sid/icd-10";
const RXNORM: &str = "http://www.nlm.nih.gov/research/umls/rxnorm";
const ATC: &str = "http://www.whocc.no/atc";
const NDC: &str = "http://hl7.org/fhir/sid/ndc";
const UCUM: &str = "http://unitsofmeasure.org";
const ROLE: &str = "http://terminology.hl7.org/CodeSystem/v3-RoleCode";
const BASE: &str = "https://ehr.example.org/fhir/R4";

/// What the reader and the engine made of one input.
struct Run {
    ing: Ingested,
    a: Assessment,
}

fn run(doc: &Value) -> Run {
    run_text(&serde_json::to_string_pretty(doc).unwrap())
}

fn run_text(text: &str) -> Run {
    let ing = read(text, kb(), as_of()).unwrap_or_else(|e| panic!("input rejected: {e}"));
    let a = assess(kb(), &ing.record, as_of());
    let r = Run { ing, a };
    r.check_invariants();
    r
}

/// `Observation/obs-17` from `Observation/obs-17#valueQuantity`; each part of a derived source.
fn record_names(source: &str) -> Vec<&str> {
    let s = source.strip_prefix("derived:").unwrap_or(source);
    s.split('+').map(|p| p.split('#').next().unwrap_or(p)).collect()
}

fn is_type_slash_id(name: &str) -> bool {
    let Some((kind, id)) = name.split_once('/') else { return false };
    kind.chars().next().is_some_and(|c| c.is_ascii_uppercase())
        && kind.chars().all(|c| c.is_ascii_alphabetic())
        && !id.is_empty()
        && id.len() <= 64
        && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.')
}

impl Run {
    fn check_invariants(&self) {
        let t = self.ing.tally.as_ref().expect("FHIR input has a tally");
        assert_eq!(
            t.used + t.irrelevant + t.skipped_total(),
            t.read,
            "every resource read is used, irrelevant or skipped: {t:?}"
        );
        let all = self
            .a
            .findings
            .iter()
            .flat_map(|f| &f.evidence)
            .chain(self.a.diagnosis.recorded.iter())
            .chain(self.a.diagnosis.mimics.iter().flat_map(|m| &m.evidence));
        for e in all {
            for name in record_names(&e.source) {
                assert!(is_type_slash_id(name), "evidence source {:?} is not Type/id", e.source);
            }
        }
        for w in &self.ing.warnings {
            assert!(!w.source.is_empty() && !w.message.is_empty(), "empty warning {w:?}");
        }
    }

    fn finding(&self, cause: &str) -> &Finding {
        self.a
            .findings
            .iter()
            .find(|f| f.cause == cause)
            .unwrap_or_else(|| panic!("no finding for {cause}"))
    }

    fn status(&self, cause: &str) -> Status {
        self.finding(cause).status
    }

    #[track_caller]
    fn expect(&self, cause: &str, want: Status) {
        let f = self.finding(cause);
        assert_eq!(
            f.status, want,
            "{cause}: evidence {:#?}\nmissing {:?}\nwarnings {:#?}\ntally {:?}",
            f.evidence, f.missing, self.ing.warnings, self.ing.tally
        );
    }

    /// Expects `cause` present with counted evidence from `source` (`Type/id`).
    #[track_caller]
    fn present_from(&self, cause: &str, source: &str) -> &Evidence {
        self.expect(cause, Status::Present);
        self.evidence_from(cause, source, true)
    }

    #[track_caller]
    fn evidence_from(&self, cause: &str, source: &str, counted: bool) -> &Evidence {
        let f = self.finding(cause);
        f.evidence
            .iter()
            .find(|e| record_names(&e.source).contains(&source) && e.counted == counted)
            .unwrap_or_else(|| {
                panic!("{cause}: no evidence from {source} (counted {counted}): {:#?}", f.evidence)
            })
    }

    fn warned(&self, source: &str, needle: &str) -> bool {
        self.ing.warnings.iter().any(|w| w.source == source && w.message.contains(needle))
    }

    #[track_caller]
    fn expect_warning(&self, source: &str, needle: &str) {
        assert!(
            self.warned(source, needle),
            "no warning on {source} containing {needle:?}: {:#?}",
            self.ing.warnings
        );
    }

    fn skipped(&self, reason: &str) -> usize {
        self.ing.tally.as_ref().and_then(|t| t.skipped.get(reason).copied()).unwrap_or(0)
    }

    fn labs(&self, analyte: &str) -> Vec<&restless_facts::LabResult> {
        self.ing.record.labs.iter().filter(|l| &*l.analyte == analyte).collect()
    }
}

// --- Builders -----------------------------------------------------------------------------------

fn patient(id: &str, gender: &str, birth: &str) -> Value {
    json!({
        "resourceType": "Patient",
        "id": id,
        "meta": { "profile": ["http://hl7.org/fhir/us/core/StructureDefinition/us-core-patient"] },
        "identifier": [{ "system": "urn:oid:1.2.36.146.595.217.0.1", "value": "12345" }],
        "name": [{ "family": "Example", "given": ["Pat"] }],
        "gender": gender,
        "birthDate": birth
    })
}

/// A woman of 46 at the as-of date.
fn woman() -> Value {
    patient("p1", "female", "1980-03-15")
}

/// A man of 66 at the as-of date.
fn man() -> Value {
    patient("p1", "male", "1960-01-10")
}

fn coding(system: &str, code: &str, display: &str) -> Value {
    if display.is_empty() {
        json!({ "system": system, "code": code })
    } else {
        json!({ "system": system, "code": code, "display": display })
    }
}

fn lab_category() -> Value {
    json!([{ "coding": [{
        "system": "http://terminology.hl7.org/CodeSystem/observation-category",
        "code": "laboratory"
    }] }])
}

/// A lab Observation with a valueQuantity in UCUM (`code` and `unit` both given).
fn lab(id: &str, loinc: &str, display: &str, value: Value, unit: &str, date: &str) -> Value {
    json!({
        "resourceType": "Observation",
        "id": id,
        "status": "final",
        "category": lab_category(),
        "code": { "coding": [coding(LOINC, loinc, display)], "text": display },
        "subject": { "reference": "Patient/p1" },
        "effectiveDateTime": format!("{date}T08:30:00Z"),
        "issued": format!("{date}T14:02:11.000+00:00"),
        "valueQuantity": { "value": value, "unit": unit, "system": UCUM, "code": unit }
    })
}

fn ferritin(id: &str, value: Value, unit: &str, date: &str) -> Value {
    lab(id, "2276-4", "Ferritin [Mass/volume] in Serum or Plasma", value, unit, date)
}

fn condition(id: &str, codings: Value) -> Value {
    json!({
        "resourceType": "Condition",
        "id": id,
        "clinicalStatus": { "coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
            "code": "active"
        }] },
        "verificationStatus": { "coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/condition-ver-status",
            "code": "confirmed"
        }] },
        "category": [{ "coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/condition-category",
            "code": "problem-list-item"
        }] }],
        "code": { "coding": codings },
        "subject": { "reference": "Patient/p1" },
        "recordedDate": "2024-02-01"
    })
}

fn coded_condition(id: &str, system: &str, code: &str, display: &str) -> Value {
    condition(id, json!([coding(system, code, display)]))
}

fn set_status(mut r: Value, key: &str, system: &str, code: &str) -> Value {
    r[key] = json!({ "coding": [{ "system": system, "code": code }] });
    r
}

fn clinical(r: Value, code: &str) -> Value {
    set_status(
        r,
        "clinicalStatus",
        "http://terminology.hl7.org/CodeSystem/condition-clinical",
        code,
    )
}

fn verification(r: Value, code: &str) -> Value {
    set_status(
        r,
        "verificationStatus",
        "http://terminology.hl7.org/CodeSystem/condition-ver-status",
        code,
    )
}

/// An active order for a medication given as a CodeableConcept.
fn request(id: &str, medication: Value) -> Value {
    json!({
        "resourceType": "MedicationRequest",
        "id": id,
        "status": "active",
        "intent": "order",
        "medicationCodeableConcept": medication,
        "subject": { "reference": "Patient/p1" },
        "authoredOn": "2026-08-14",
        "dosageInstruction": [{
            "text": "1 tablet by mouth daily",
            "timing": { "repeat": { "frequency": 1, "period": 1, "periodUnit": "d" } },
            "doseAndRate": [{ "doseQuantity": { "value": 1, "unit": "tablet" } }]
        }]
    })
}

fn with(mut r: Value, key: &str, v: Value) -> Value {
    r[key] = v;
    r
}

fn without(mut r: Value, key: &str) -> Value {
    r.as_object_mut().unwrap().remove(key);
    r
}

fn paxil() -> Value {
    json!({ "text": "Paxil 20mg" })
}

/// A collection Bundle; each entry gets an absolute fullUrl.
fn collection(resources: Vec<Value>) -> Value {
    bundle("collection", resources)
}

fn bundle(kind: &str, resources: Vec<Value>) -> Value {
    let entries: Vec<Value> = resources
        .into_iter()
        .map(|r| {
            let url = format!(
                "{BASE}/{}/{}",
                r["resourceType"].as_str().unwrap(),
                r["id"].as_str().unwrap_or("x")
            );
            json!({ "fullUrl": url, "resource": r })
        })
        .collect();
    json!({
        "resourceType": "Bundle",
        "id": "b1",
        "meta": { "lastUpdated": "2026-11-26T10:00:00Z" },
        "type": kind,
        "timestamp": "2026-11-26T10:00:00Z",
        "entry": entries
    })
}

// --- Units ---------------------------------------------------------------------------------------

#[test]
fn ferritin_in_conventional_and_si_units() {
    let r = run(&collection(vec![woman(), ferritin("obs-17", json!(22), "ng/mL", "2026-10-02")]));
    let e = r.present_from("iron-deficiency", "Observation/obs-17");
    assert_eq!(e.value, "22 ng/mL");
    assert_eq!(e.date, Date::from_ymd_opt(2026, 10, 2));
    assert_eq!(e.source, "Observation/obs-17#valueQuantity");

    let r = run(&collection(vec![woman(), ferritin("obs-si", json!(30), "ug/L", "2026-10-02")]));
    assert_eq!(r.present_from("iron-deficiency", "Observation/obs-si").value, "30 ug/L");

    // 120 ug/L is 120 ng/mL: above the threshold; with a normal TSAT it rules iron deficiency out.
    let r = run(&collection(vec![
        woman(),
        ferritin("obs-hi", json!(120), "ug/L", "2026-10-02"),
        lab("tsat-1", "2502-3", "Iron saturation", json!(31), "%", "2026-10-02"),
    ]));
    r.expect("iron-deficiency", Status::Absent);
    r.evidence_from("iron-deficiency", "Observation/obs-hi", true);
    r.evidence_from("iron-deficiency", "Observation/tsat-1", true);
    assert!((r.labs("ferritin")[0].value.value - 120.0).abs() < 1e-9);
}

#[test]
fn haemoglobin_in_g_per_l_and_mmol_per_l() {
    let hb = |id: &str, loinc: &str, v: f64, unit: &str| {
        lab(id, loinc, "Hemoglobin [Mass/volume] in Blood", json!(v), unit, "2026-09-20")
    };
    let mcv = lab("mcv-1", "787-2", "MCV [Entitic volume]", json!(72), "fL", "2026-09-20");
    // 110 g/L = 11.0 g/dL, below 12 for a woman: with a small MCV, iron deficiency is possible.
    let r = run(&collection(vec![woman(), hb("hb-gl", "718-7", 110.0, "g/L"), mcv.clone()]));
    assert!((r.labs("haemoglobin")[0].value.value - 11.0).abs() < 1e-9);
    r.expect("iron-deficiency", Status::Possible);
    r.evidence_from("iron-deficiency", "Observation/hb-gl", true);
    r.evidence_from("iron-deficiency", "Observation/mcv-1", true);

    // 6.8 mmol/L (monomer basis, LOINC 59260-0) is about 10.95 g/dL.
    let r = run(&collection(vec![woman(), hb("hb-mmol", "59260-0", 6.8, "mmol/L"), mcv.clone()]));
    let v = r.labs("haemoglobin")[0].value.value;
    assert!((v - 6.8 * 1.611).abs() < 1e-9, "{v}");
    r.expect("iron-deficiency", Status::Possible);
    r.evidence_from("iron-deficiency", "Observation/hb-mmol", true);

    // 8.9 mmol/L is about 14.3 g/dL: not anaemic, so not possible from the blood count.
    let r = run(&collection(vec![woman(), hb("hb-ok", "59260-0", 8.9, "mmol/L"), mcv]));
    assert_ne!(r.status("iron-deficiency"), Status::Possible);
}

#[test]
fn creatinine_in_umol_per_l_gives_a_derived_egfr() {
    // 600 umol/L = 6.8 mg/dL; CKD-EPI 2021 for a man of 66 gives about 8: kidney failure.
    let cr = |id: &str, v: i64| {
        lab(
            id,
            "14682-9",
            "Creatinine [Moles/volume] in Serum or Plasma",
            json!(v),
            "umol/L",
            "2026-10-01",
        )
    };
    let r = run(&collection(vec![man(), cr("cr-1", 600)]));
    let e = r.present_from("esrd-dialysis", "Observation/cr-1");
    assert_eq!(e.source, "derived:Observation/cr-1");
    assert!(e.value.contains("CKD-EPI 2021"), "{}", e.value);
    assert!(e.value.contains("600 umol/L"), "{}", e.value);
    assert!(e.rule.contains("calculated by restless"), "{}", e.rule);
    r.expect("ckd-non-dialysis", Status::Absent);

    // 100 umol/L = 1.13 mg/dL: eGFR about 70, neither stage.
    let r = run(&collection(vec![man(), cr("cr-2", 100)]));
    r.expect("esrd-dialysis", Status::Absent);
    r.expect("ckd-non-dialysis", Status::Absent);
    r.evidence_from("ckd-non-dialysis", "Observation/cr-2", true);

    // Without sex and birth date nothing is derived, and kidney function stays unknown.
    let r = run(&collection(vec![cr("cr-3", 600)]));
    r.expect("esrd-dialysis", Status::Unknown);
}

#[test]
fn reported_egfr_by_either_loinc_code() {
    let egfr = |id: &str, loinc: &str, v: i64, unit: &str| {
        lab(
            id,
            loinc,
            "Glomerular filtration rate/1.73 sq M.predicted",
            json!(v),
            unit,
            "2026-10-01",
        )
    };
    let r = run(&collection(vec![man(), egfr("egfr-1", "98979-8", 12, "mL/min/{1.73_m2}")]));
    r.present_from("esrd-dialysis", "Observation/egfr-1");
    r.expect("ckd-non-dialysis", Status::Absent);

    let r = run(&collection(vec![man(), egfr("egfr-2", "33914-3", 45, "mL/min/1.73m2")]));
    r.present_from("ckd-non-dialysis", "Observation/egfr-2");
    r.expect("esrd-dialysis", Status::Absent);

    // A reported eGFR on the creatinine's day wins over the calculation.
    let r = run(&collection(vec![
        man(),
        egfr("egfr-3", "98979-8", 45, "mL/min/{1.73_m2}"),
        lab("cr-1", "2160-0", "Creatinine", json!(6.8), "mg/dL", "2026-10-01"),
    ]));
    let e = r.present_from("ckd-non-dialysis", "Observation/egfr-3");
    assert_eq!(e.source, "Observation/egfr-3#valueQuantity");
    r.expect("esrd-dialysis", Status::Absent);
}

#[test]
fn comparator_on_a_quantity_is_kept() {
    let mut obs = ferritin("obs-lt", json!(10), "ng/mL", "2026-10-02");
    obs["valueQuantity"]["comparator"] = json!("<");
    let r = run(&collection(vec![woman(), obs]));
    let e = r.present_from("iron-deficiency", "Observation/obs-lt");
    assert_eq!(e.value, "<10 ng/mL");
    assert_eq!(r.labs("ferritin")[0].value.comparator, Some(Cmp::Lt));

    // ">300" says nothing about <= 75 except "no".
    let mut obs = ferritin("obs-gt", json!(300), "ng/mL", "2026-10-02");
    obs["valueQuantity"]["comparator"] = json!(">");
    let r = run(&collection(vec![
        woman(),
        obs,
        lab("tsat-1", "2502-3", "Iron saturation", json!(35), "%", "2026-10-02"),
    ]));
    r.expect("iron-deficiency", Status::Absent);
}

#[test]
fn value_string_with_a_number_and_unit() {
    let obs = without(ferritin("obs-s", json!(0), "", "2026-10-02"), "valueQuantity");
    let r = run(&collection(vec![woman(), with(obs.clone(), "valueString", json!("18 ng/mL"))]));
    let e = r.present_from("iron-deficiency", "Observation/obs-s");
    assert_eq!(e.source, "Observation/obs-s#valueString");
    assert_eq!(e.value, "18 ng/mL");

    let r = run(&collection(vec![woman(), with(obs.clone(), "valueString", json!("<5 ug/L"))]));
    assert_eq!(r.present_from("iron-deficiency", "Observation/obs-s").value, "<5 ug/L");

    // A bare number: the unit is never assumed.
    let r = run(&collection(vec![woman(), with(obs.clone(), "valueString", json!("18"))]));
    r.expect_warning("Observation/obs-s", "no unit");
    r.expect("iron-deficiency", Status::Unknown);
    assert!(r.labs("ferritin").is_empty());

    // Words, not a number.
    let r = run(&collection(vec![woman(), with(obs, "valueString", json!("see comment"))]));
    r.expect_warning("Observation/obs-s", "not a number");
    r.expect("iron-deficiency", Status::Unknown);
}

#[test]
fn unit_in_ucum_code_only_or_in_unit_text_only() {
    let mut code_only = ferritin("obs-code", json!(40), "ug/L", "2026-10-02");
    code_only["valueQuantity"] = json!({ "value": 40, "system": UCUM, "code": "ug/L" });
    let r = run(&collection(vec![woman(), code_only]));
    assert_eq!(r.present_from("iron-deficiency", "Observation/obs-code").value, "40 ug/L");

    let mut unit_only = ferritin("obs-unit", json!(40), "ug/L", "2026-10-02");
    unit_only["valueQuantity"] = json!({ "value": 40, "unit": "µg/L" });
    let r = run(&collection(vec![woman(), unit_only]));
    r.present_from("iron-deficiency", "Observation/obs-unit");
    assert!((r.labs("ferritin")[0].value.value - 40.0).abs() < 1e-9);

    // A human-readable unit the analyte does not accept, with an accepted UCUM code: the code wins.
    let mut both = ferritin("obs-both", json!(40), "ng/mL", "2026-10-02");
    both["valueQuantity"]["unit"] = json!("nanogram per millilitre");
    let r = run(&collection(vec![woman(), both]));
    r.present_from("iron-deficiency", "Observation/obs-both");
}

#[test]
fn unknown_unit_is_a_warning_and_the_value_is_not_used() {
    let r =
        run(&collection(vec![woman(), ferritin("obs-u", json!(40), "mg/furlong", "2026-10-02")]));
    r.expect_warning("Observation/obs-u", "unit restless does not understand");
    assert!(r.labs("ferritin").is_empty());
    r.expect("iron-deficiency", Status::Unknown);
    assert!(r.finding("iron-deficiency").missing.iter().any(|m| m == "ferritin"));
    // Warnings carry places, never values.
    for w in &r.ing.warnings {
        assert!(!w.message.contains("40") && !w.message.contains("furlong"), "{w:?}");
    }
    assert_eq!(r.ing.tally.as_ref().unwrap().irrelevant, 1, "read but not used");
}

#[test]
fn panel_with_ferritin_and_tsat_as_components() {
    let panel = json!({
        "resourceType": "Observation",
        "id": "panel-1",
        "status": "final",
        "category": lab_category(),
        "code": { "coding": [coding(LOINC, "50190-5", "Iron and Iron binding capacity panel")] },
        "subject": { "reference": "Patient/p1" },
        "effectiveDateTime": "2026-10-02",
        "component": [
            {
                "code": { "coding": [coding(LOINC, "2276-4", "Ferritin")] },
                "valueQuantity": { "value": 95, "unit": "ng/mL", "system": UCUM, "code": "ng/mL" }
            },
            {
                "code": { "coding": [coding(LOINC, "2502-3", "Iron saturation")] },
                "valueQuantity": { "value": 14, "unit": "%", "system": UCUM, "code": "%" }
            },
            {
                "code": { "coding": [coding(LOINC, "00000-0", "Something else")] },
                "valueString": "n/a"
            }
        ]
    });
    let r = run(&collection(vec![woman(), panel]));
    let e = r.present_from("iron-deficiency", "Observation/panel-1");
    assert_eq!(e.source, "Observation/panel-1#component[1].valueQuantity");
    assert_eq!(e.value, "14 %");
    assert_eq!(r.labs("ferritin").len(), 1);
    assert_eq!(r.labs("ferritin")[0].source.field.as_deref(), Some("component[0].valueQuantity"));
    assert_eq!(r.ing.tally.as_ref().unwrap().used, 2, "patient and panel");
}

#[test]
fn tsat_derived_from_same_day_iron_and_tibc() {
    let iron = |v: f64, unit: &str| {
        lab("fe-1", "2498-4", "Iron [Mass/volume] in Serum or Plasma", json!(v), unit, "2026-10-02")
    };
    let tibc = |v: f64, unit: &str, date: &str| {
        let mut o = lab("tibc-1", "2500-7", "Iron binding capacity", json!(v), unit, date);
        o["effectiveDateTime"] = json!(format!("{date}T11:45:00+02:00"));
        o
    };
    let fer = ferritin("fer-1", json!(110), "ng/mL", "2026-10-02");
    // 45 / 410 = 11 %: iron deficiency although ferritin is 110.
    let r = run(&collection(vec![
        woman(),
        fer.clone(),
        iron(45.0, "ug/dL"),
        tibc(410.0, "ug/dL", "2026-10-02"),
    ]));
    let e = r.present_from("iron-deficiency", "Observation/fe-1");
    assert_eq!(e.source, "derived:Observation/fe-1+Observation/tibc-1");
    assert!(e.value.starts_with("11 %"), "{}", e.value);

    // The same in SI units: 8 / 72 umol/L = 11 %.
    let r = run(&collection(vec![
        woman(),
        fer.clone(),
        iron(8.0, "umol/L"),
        tibc(72.0, "umol/L", "2026-10-02"),
    ]));
    r.present_from("iron-deficiency", "Observation/tibc-1");

    // Different days: no TSAT; ferritin 110 alone does not settle it.
    let r = run(&collection(vec![
        woman(),
        fer,
        iron(45.0, "ug/dL"),
        tibc(410.0, "ug/dL", "2026-09-02"),
    ]));
    r.expect("iron-deficiency", Status::Unknown);
    assert!(r.finding("iron-deficiency").missing.iter().any(|m| m == "transferrin-saturation"));
}

// --- Medications ---------------------------------------------------------------------------------

#[test]
fn brand_name_in_free_text() {
    let r = run(&collection(vec![woman(), request("mr-paxil", paxil())]));
    let e = r.present_from("drug-serotonergic-antidepressant", "MedicationRequest/mr-paxil");
    assert_eq!(e.source, "MedicationRequest/mr-paxil#medication");
    assert!(e.value.contains("Paxil 20mg") && e.value.contains("paroxetine"), "{}", e.value);
    assert!(!r.finding("drug-serotonergic-antidepressant").alternatives.is_empty());
}

#[test]
fn rxnorm_clinical_drug_display() {
    // 312941 is a clinical drug (SCD), not an ingredient: the display carries the ingredient.
    let med = json!({ "coding": [coding(RXNORM, "312941", "Sertraline 50 MG Oral Tablet")] });
    let r = run(&collection(vec![woman(), request("mr-sert", med)]));
    let e = r.present_from("drug-serotonergic-antidepressant", "MedicationRequest/mr-sert");
    assert!(e.value.contains("sertraline"), "{}", e.value);
}

#[test]
fn rxnorm_ingredient_code_only() {
    let med = json!({ "coding": [coding(RXNORM, "32937", "")] });
    let r = run(&collection(vec![woman(), request("mr-rx", med)]));
    let e = r.present_from("drug-serotonergic-antidepressant", "MedicationRequest/mr-rx");
    assert!(e.value.contains("paroxetine"), "{}", e.value);
    assert!(r.ing.warnings.is_empty(), "{:?}", r.ing.warnings);
}

#[test]
fn atc_code_only_and_atc_class_prefix_only() {
    let med = json!({ "coding": [coding(ATC, "N06AB05", "")] });
    let r = run(&collection(vec![woman(), request("mr-atc", med)]));
    r.present_from("drug-serotonergic-antidepressant", "MedicationRequest/mr-atc");

    // No dictionary drug has N05AH99; its N05A prefix puts it in the antipsychotic class.
    let med = json!({ "coding": [coding(ATC, "N05AH99", "")] });
    let r = run(&collection(vec![woman(), request("mr-class", med)]));
    r.present_from("drug-antipsychotic", "MedicationRequest/mr-class");
    r.expect("drug-serotonergic-antidepressant", Status::Absent);

    // N05AN (lithium) is excluded from the antipsychotic class.
    let med = json!({ "coding": [coding(ATC, "N05AN01", "")] });
    let r = run(&collection(vec![woman(), request("mr-li", med)]));
    r.expect("drug-antipsychotic", Status::Absent);
    r.present_from("drug-lithium", "MedicationRequest/mr-li");
}

#[test]
fn unrecognised_medications_are_warnings_never_silent() {
    // NDC only: restless has no NDC table.
    let med = json!({ "coding": [coding(NDC, "0093-7146-56", "")] });
    let r = run(&collection(vec![woman(), request("mr-ndc", med)]));
    r.expect_warning("MedicationRequest/mr-ndc", "NDC");
    assert_eq!(r.skipped("medication not recognised"), 1);

    // A name the dictionary does not know.
    let r = run(&collection(vec![woman(), request("mr-x", json!({ "text": "Zzyzx 10 mg" }))]));
    r.expect_warning("MedicationRequest/mr-x", "not recognised");
    for w in &r.ing.warnings {
        assert!(!w.message.contains("Zzyzx"), "{w:?}");
    }

    // Nothing at all.
    let r = run(&collection(vec![woman(), request("mr-empty", json!({}))]));
    r.expect_warning("MedicationRequest/mr-empty", "without a code or text");
}

// --- Conditions ----------------------------------------------------------------------------------

#[test]
fn snomed_only_condition() {
    let r = run(&collection(vec![
        woman(),
        coded_condition("c-dm", SNOMED, "44054006", "Diabetes mellitus type 2"),
    ]));
    let e = r.present_from("diabetes", "Condition/c-dm");
    assert_eq!(e.source, "Condition/c-dm#code");
    assert!(e.value.contains("44054006"), "{}", e.value);
    r.expect("multiple-sclerosis", Status::Absent); // the problem list is taken as complete
}

#[test]
fn icd10_cm_with_and_without_dots_and_who_icd10() {
    for (system, code) in
        [(ICD10CM, "E11.9"), (ICD10CM, "E119"), (ICD10CM, "e11.9 "), (ICD10, "E11.9")]
    {
        let r = run(&collection(vec![woman(), coded_condition("c-1", system, code, "")]));
        r.present_from("diabetes", "Condition/c-1");
    }
    let r = run(&collection(vec![
        woman(),
        coded_condition("c-ms", ICD10, "G35", "Multiple sclerosis"),
    ]));
    r.present_from("multiple-sclerosis", "Condition/c-ms");
    // The OID form of the system.
    let r = run(&collection(vec![
        woman(),
        coded_condition("c-oid", "urn:oid:2.16.840.1.113883.6.90", "G20.A1", ""),
    ]));
    r.present_from("parkinson-disease", "Condition/c-oid");
}

#[test]
fn fy2026_and_legacy_codes() {
    for code in ["G35.A", "G35", "G35.D", "G35.B1"] {
        let r = run(&collection(vec![woman(), coded_condition("c-ms", ICD10CM, code, "")]));
        r.present_from("multiple-sclerosis", "Condition/c-ms");
    }
    for code in ["G20.A1", "G20", "G20.B2"] {
        let r = run(&collection(vec![woman(), coded_condition("c-pd", ICD10CM, code, "")]));
        r.present_from("parkinson-disease", "Condition/c-pd");
    }
}

#[test]
fn condition_from_text_when_codes_are_local() {
    let c = condition(
        "c-local",
        json!([coding("http://ehr.example.org/problem-codes", "PRB-9981", "Type 2 diabetes")]),
    );
    let r = run(&collection(vec![woman(), c]));
    r.present_from("diabetes", "Condition/c-local");

    let c = condition(
        "c-unknown",
        json!([coding("http://ehr.example.org/problem-codes", "PRB-1", "")]),
    );
    let r = run(&collection(vec![woman(), c]));
    r.expect_warning("Condition/c-unknown", "code system restless does not read");
}

// --- Status and time -----------------------------------------------------------------------------

#[test]
fn stale_ferritin_is_history_only() {
    // 2025-06-01 is more than 12 months before 2026-11-27.
    let r = run(&collection(vec![woman(), ferritin("fer-old", json!(22), "ng/mL", "2025-06-01")]));
    r.expect("iron-deficiency", Status::Unknown);
    let e = r.evidence_from("iron-deficiency", "Observation/fer-old", false);
    assert!(e.rule.contains("history"), "{}", e.rule);
    assert!(r.finding("iron-deficiency").missing.iter().any(|m| m == "ferritin"));

    // Just inside the window counts.
    let r = run(&collection(vec![woman(), ferritin("fer-edge", json!(22), "ng/mL", "2025-11-27")]));
    r.present_from("iron-deficiency", "Observation/fer-edge");

    // After the as-of date: not read at all.
    let r =
        run(&collection(vec![woman(), ferritin("fer-future", json!(22), "ng/mL", "2026-12-01")]));
    r.expect("iron-deficiency", Status::Unknown);
    assert_eq!(r.skipped("dated after as-of"), 1);
}

#[test]
fn medication_request_status_and_intent() {
    let drug = "drug-serotonergic-antidepressant";
    for status in ["stopped", "completed", "cancelled", "draft"] {
        let r = run(&collection(vec![
            woman(),
            with(request("mr-1", paxil()), "status", json!(status)),
        ]));
        assert_ne!(r.status(drug), Status::Present, "status {status}");
        r.expect(drug, Status::Absent);
    }
    for status in ["active", "on-hold"] {
        let r = run(&collection(vec![
            woman(),
            with(request("mr-1", paxil()), "status", json!(status)),
        ]));
        r.present_from(drug, "MedicationRequest/mr-1");
    }
    for intent in ["proposal", "plan"] {
        let r = run(&collection(vec![
            woman(),
            with(request("mr-1", paxil()), "intent", json!(intent)),
        ]));
        r.expect(drug, Status::Absent);
        assert_eq!(r.skipped("proposal or plan, not an order"), 1);
    }
    // An order whose validity period ended before the as-of date is no longer current.
    let mut old = request("mr-old", paxil());
    old["dispenseRequest"] =
        json!({ "validityPeriod": { "start": "2025-01-01", "end": "2025-07-01" } });
    let r = run(&collection(vec![woman(), old]));
    r.expect(drug, Status::Absent);
}

#[test]
fn medication_statement_dispense_and_administration() {
    let drug = "drug-serotonergic-antidepressant";
    let statement = |status: &str| {
        json!({
            "resourceType": "MedicationStatement",
            "id": "ms-1",
            "status": status,
            "medicationCodeableConcept": { "text": "Zoloft 50 mg" },
            "subject": { "reference": "Patient/p1" },
            "effectivePeriod": { "start": "2026-03-01" },
            "dateAsserted": "2026-11-01"
        })
    };
    let r = run(&collection(vec![woman(), statement("active")]));
    r.present_from(drug, "MedicationStatement/ms-1");
    for status in ["stopped", "completed", "not-taken", "intended", "entered-in-error"] {
        let r = run(&collection(vec![woman(), statement(status)]));
        r.expect(drug, Status::Absent);
    }

    let dispense = |handed: &str, days: i64| {
        json!({
            "resourceType": "MedicationDispense",
            "id": "md-1",
            "status": "completed",
            "medicationCodeableConcept": { "coding": [coding(RXNORM, "312941", "Sertraline 50 MG Oral Tablet")] },
            "subject": { "reference": "Patient/p1" },
            "quantity": { "value": 30, "unit": "tablet" },
            "daysSupply": { "value": days, "unit": "days", "system": UCUM, "code": "d" },
            "whenHandedOver": handed
        })
    };
    let r = run(&collection(vec![woman(), dispense("2026-11-10T16:20:00-05:00", 30)]));
    r.present_from(drug, "MedicationDispense/md-1");
    let r = run(&collection(vec![woman(), dispense("2026-06-01", 30)]));
    r.expect(drug, Status::Absent);

    let administration = |status: &str, when: &str| {
        json!({
            "resourceType": "MedicationAdministration",
            "id": "ma-1",
            "status": status,
            "medicationCodeableConcept": { "coding": [coding(RXNORM, "32937", "paroxetine")] },
            "subject": { "reference": "Patient/p1" },
            "effectiveDateTime": when
        })
    };
    let r = run(&collection(vec![woman(), administration("completed", "2024-03-01T09:00:00Z")]));
    r.expect(drug, Status::Absent);
    let r = run(&collection(vec![woman(), administration("in-progress", "2026-11-27T07:00:00Z")]));
    r.present_from(drug, "MedicationAdministration/ma-1");
}

#[test]
fn entered_in_error_never_counts() {
    let c = verification(coded_condition("c-err", ICD10CM, "G35.A", ""), "entered-in-error");
    let o = with(
        ferritin("o-err", json!(12), "ng/mL", "2026-10-02"),
        "status",
        json!("entered-in-error"),
    );
    let m = with(request("mr-err", paxil()), "status", json!("entered-in-error"));
    let f = json!({
        "resourceType": "FamilyMemberHistory",
        "id": "fmh-err",
        "status": "entered-in-error",
        "patient": { "reference": "Patient/p1" },
        "relationship": { "coding": [coding(ROLE, "MTH", "mother")] },
        "condition": [{ "code": { "coding": [coding(ICD10CM, "G25.81", "")] } }]
    });
    let r = run(&collection(vec![woman(), c, o, m, f]));
    assert_ne!(r.status("multiple-sclerosis"), Status::Present);
    assert_ne!(r.status("iron-deficiency"), Status::Present);
    assert_ne!(r.status("drug-serotonergic-antidepressant"), Status::Present);
    assert_ne!(r.status("family-history"), Status::Present);
    assert_eq!(r.skipped("entered-in-error"), 4);
    assert!(r.ing.record.conditions.is_empty() && r.ing.record.labs.is_empty());
    assert!(r.ing.record.medications.is_empty() && r.ing.record.answers.is_empty());
}

#[test]
fn refuted_resolved_and_abated_conditions() {
    let r = run(&collection(vec![
        woman(),
        verification(coded_condition("c-ref", ICD10CM, "E11.9", ""), "refuted"),
    ]));
    assert_ne!(r.status("diabetes"), Status::Present);
    assert_eq!(r.skipped("refuted"), 1);

    let r = run(&collection(vec![
        woman(),
        clinical(coded_condition("c-res", ICD10CM, "G35.A", ""), "resolved"),
    ]));
    assert_ne!(r.status("multiple-sclerosis"), Status::Present);
    let e = r.evidence_from("multiple-sclerosis", "Condition/c-res", false);
    assert!(e.value.contains("resolved"), "{}", e.value);

    // No clinical status, abated in the past: history.
    let abated = with(
        without(
            coded_condition("c-ab", ICD10CM, "Z33.1", "Pregnant state, incidental"),
            "clinicalStatus",
        ),
        "abatementDateTime",
        json!("2025-04-02"),
    );
    let r = run(&collection(vec![woman(), abated]));
    assert_ne!(r.status("pregnancy"), Status::Present);
    r.evidence_from("pregnancy", "Condition/c-ab", false);

    // Abatement in the future: still current.
    let later = with(
        without(coded_condition("c-later", ICD10CM, "Z33.1", ""), "clinicalStatus"),
        "abatementDateTime",
        json!("2027-03-01"),
    );
    let r = run(&collection(vec![woman(), later]));
    r.present_from("pregnancy", "Condition/c-later");
}

// --- References ----------------------------------------------------------------------------------

#[test]
fn subject_by_id_urn_uuid_and_absolute_url() {
    // urn:uuid full URLs, as in transaction Bundles and Synthea exports.
    let pid = "urn:uuid:7d3c1f7e-4f0a-4f8c-9a55-0e1f8b9f2d11";
    let mid = "urn:uuid:2f6a1b20-93a4-4d4e-8a5c-55e1f0a1c001";
    let doc = json!({
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            { "fullUrl": pid, "resource": woman(), "request": { "method": "POST", "url": "Patient" } },
            {
                "fullUrl": mid,
                "resource": {
                    "resourceType": "Medication",
                    "id": "med-sert",
                    "code": { "coding": [coding(RXNORM, "312941", "Sertraline 50 MG Oral Tablet")] }
                },
                "request": { "method": "POST", "url": "Medication" }
            },
            {
                "fullUrl": "urn:uuid:0b8e8a0e-7c1e-4b36-a2f4-6a0d1c3e9f42",
                "resource": {
                    "resourceType": "MedicationRequest",
                    "id": "mr-ref",
                    "status": "active",
                    "intent": "order",
                    "medicationReference": { "reference": mid },
                    "subject": { "reference": pid }
                },
                "request": { "method": "POST", "url": "MedicationRequest" }
            }
        ]
    });
    let r = run(&doc);
    r.present_from("drug-serotonergic-antidepressant", "MedicationRequest/mr-ref");
    assert!(r.ing.warnings.is_empty(), "{:?}", r.ing.warnings);
    let t = r.ing.tally.as_ref().unwrap();
    assert_eq!((t.read, t.used, t.irrelevant), (3, 2, 1), "the Medication itself is irrelevant");

    // Absolute and versioned references.
    let mut mr = request("mr-abs", json!(null));
    mr = without(mr, "medicationCodeableConcept");
    mr["subject"] = json!({ "reference": format!("{BASE}/Patient/p1") });
    mr["medicationReference"] =
        json!({ "reference": "https://other.example.org/fhir/Medication/med-2/_history/3" });
    let med = json!({
        "resourceType": "Medication",
        "id": "med-2",
        "code": { "text": "quetiapine 25 mg tablet" }
    });
    let r = run(&collection(vec![woman(), med, mr]));
    r.present_from("drug-antipsychotic", "MedicationRequest/mr-abs");
}

#[test]
fn contained_medication_by_local_reference() {
    let mr = json!({
        "resourceType": "MedicationRequest",
        "id": "mr-tpm",
        "contained": [{
            "resourceType": "Medication",
            "id": "med1",
            "code": { "text": "Tylenol PM Extra Strength caplet" }
        }],
        "status": "active",
        "intent": "order",
        "medicationReference": { "reference": "#med1" },
        "subject": { "reference": "Patient/p1" },
        "authoredOn": "2026-10-01"
    });
    let r = run(&collection(vec![woman(), mr]));
    let e = r.present_from("drug-sedating-antihistamine", "MedicationRequest/mr-tpm");
    assert!(e.value.contains("diphenhydramine"), "{}", e.value);
    let t = r.ing.tally.as_ref().unwrap();
    assert_eq!(t.read, 2, "contained resources are read through their owner");

    // A Medication with ingredients only.
    let mr = json!({
        "resourceType": "MedicationStatement",
        "id": "ms-ing",
        "contained": [{
            "resourceType": "Medication",
            "id": "m",
            "ingredient": [
                { "itemCodeableConcept": { "coding": [coding(RXNORM, "3498", "diphenhydramine")] } },
                { "itemCodeableConcept": { "text": "acetaminophen" } }
            ]
        }],
        "status": "active",
        "medicationReference": { "reference": "#m" },
        "subject": { "reference": "Patient/p1" }
    });
    let r = run(&collection(vec![woman(), mr]));
    r.present_from("drug-sedating-antihistamine", "MedicationStatement/ms-ing");
}

#[test]
fn unresolvable_references_are_named() {
    let mut mr = without(request("mr-x", json!(null)), "medicationCodeableConcept");
    mr["medicationReference"] = json!({ "reference": "Medication/nowhere" });
    let r = run(&collection(vec![woman(), mr.clone()]));
    r.expect_warning("MedicationRequest/mr-x", "does not resolve");
    assert_eq!(r.skipped("medication not recognised"), 1);

    // A reference that does not resolve but carries a display: the display is read.
    mr["medicationReference"]["display"] = json!("Paxil 20 MG Oral Tablet");
    let r = run(&collection(vec![woman(), mr]));
    r.expect_warning("MedicationRequest/mr-x", "does not resolve");
    r.present_from("drug-serotonergic-antidepressant", "MedicationRequest/mr-x");

    // A display only.
    let mut mr = without(request("mr-d", json!(null)), "medicationCodeableConcept");
    mr["medicationReference"] = json!({ "display": "Benadryl 25 mg capsule" });
    let r = run(&collection(vec![woman(), mr]));
    r.present_from("drug-sedating-antihistamine", "MedicationRequest/mr-d");
}

// --- Onset ---------------------------------------------------------------------------------------

fn rls(onset_key: &str, onset: Value) -> Value {
    let mut c = coded_condition("rls-1", ICD10CM, "G25.81", "Restless legs syndrome");
    if !onset_key.is_empty() {
        c[onset_key] = onset;
    }
    c
}

#[test]
fn onset_in_every_form_gives_the_onset_age() {
    // The woman was born 1980-03-15.
    let age = json!({ "value": 30, "unit": "years", "system": UCUM, "code": "a" });
    let cases: Vec<(&str, Value, Option<f64>)> = vec![
        ("onsetDateTime", json!("2005-06-01"), Some(25.0)),
        ("onsetDateTime", json!("2005-06-01T00:00:00Z"), Some(25.0)),
        ("onsetAge", age, Some(30.0)),
        ("onsetAge", json!({ "value": 30, "unit": "Years" }), Some(30.0)),
        ("onsetPeriod", json!({ "start": "2001-01-01", "end": "2002-01-01" }), Some(20.0)),
        (
            "onsetRange",
            json!({ "low": { "value": 20, "unit": "yr", "system": UCUM, "code": "a" },
                    "high": { "value": 25, "unit": "yr", "system": UCUM, "code": "a" } }),
            Some(20.0),
        ),
        ("onsetString", json!("2003"), Some(22.0)),
        ("onsetString", json!("in her twenties"), None),
        ("", json!(null), None),
    ];
    for (key, onset, want) in cases {
        let r = run(&collection(vec![woman(), rls(key, onset.clone())]));
        let got = r.ing.record.onset_age.as_ref().map(|(a, _)| *a);
        assert_eq!(got, want, "{key} {onset}");
        assert_eq!(r.a.diagnosis.recorded.len(), 1, "{key}");
        assert_eq!(r.a.diagnosis.recorded[0].source, "Condition/rls-1");
        if want.is_some() {
            let e = r.present_from("early-onset", "Condition/rls-1");
            assert_eq!(e.source, "Condition/rls-1#onset");
        } else {
            r.expect("early-onset", Status::Unknown);
        }
    }

    // Onset at 50: not early.
    let r = run(&collection(vec![woman(), rls("onsetDateTime", json!("2030-01-01"))]));
    assert_eq!(r.skipped("dated after as-of"), 1, "an onset after as-of is not read");
    let r = run(&collection(vec![woman(), rls("onsetDateTime", json!("2025-06-01"))]));
    r.expect("early-onset", Status::Absent);
    r.evidence_from("early-onset", "Condition/rls-1", true);

    // A text onset restless cannot read is named, not silently dropped.
    let r = run(&collection(vec![woman(), rls("onsetString", json!("in her twenties"))]));
    r.expect_warning("Condition/rls-1", "onset");
    let weeks = json!({ "value": 30, "unit": "wk", "system": UCUM, "code": "wk" });
    let r = run(&collection(vec![woman(), rls("onsetAge", weeks)]));
    r.expect_warning("Condition/rls-1", "onset");
}

#[test]
fn onset_does_not_depend_on_where_the_patient_is() {
    let age = json!({ "value": 30, "unit": "a", "system": UCUM, "code": "a" });
    let first = run(&collection(vec![woman(), rls("onsetAge", age.clone())]));
    let last = run(&collection(vec![rls("onsetAge", age), woman()]));
    assert_eq!(first.a.diagnosis.recorded, last.a.diagnosis.recorded);
    assert_eq!(first.a.diagnosis.recorded[0].date, Date::from_ymd_opt(2010, 3, 15));
    assert_eq!(first.ing.record, last.ing.record);
}

// --- Coded answers: pregnancy and smoking ---------------------------------------------------------

fn coded_obs(id: &str, loinc: &str, answer: &str, date: &str) -> Value {
    json!({
        "resourceType": "Observation",
        "id": id,
        "status": "final",
        "category": [{ "coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/observation-category",
            "code": "social-history"
        }] }],
        "code": { "coding": [coding(LOINC, loinc, "")] },
        "subject": { "reference": "Patient/p1" },
        "effectiveDateTime": date,
        "valueCodeableConcept": { "coding": [coding(SNOMED, answer, "")] }
    })
}

#[test]
fn pregnancy_from_status_observation_and_codes() {
    let r =
        run(&collection(vec![woman(), coded_obs("preg-1", "82810-3", "77386006", "2026-11-01")]));
    let e = r.present_from("pregnancy", "Observation/preg-1");
    assert_eq!(e.source, "Observation/preg-1#valueCodeableConcept");

    let r =
        run(&collection(vec![woman(), coded_obs("preg-2", "82810-3", "60001007", "2026-11-01")]));
    r.expect("pregnancy", Status::Absent);
    r.evidence_from("pregnancy", "Observation/preg-2", true);

    let r = run(&collection(vec![woman(), coded_condition("c-z33", ICD10CM, "Z33.1", "")]));
    r.present_from("pregnancy", "Condition/c-z33");
    let r = run(&collection(vec![
        woman(),
        coded_condition("c-z3a", ICD10CM, "Z3A.28", "28 weeks gestation"),
    ]));
    r.present_from("pregnancy", "Condition/c-z3a");

    // An answer code restless does not know: a warning, not a guess.
    let r =
        run(&collection(vec![woman(), coded_obs("preg-3", "82810-3", "261665006", "2026-11-01")]));
    r.expect_warning("Observation/preg-3", "not recognised");
    r.expect("pregnancy", Status::Unknown);
}

#[test]
fn smoking_status_answers() {
    for (code, want) in [
        ("77176002", Status::Present),
        ("449868002", Status::Present),
        ("8517006", Status::Absent),
        ("266919005", Status::Absent),
    ] {
        let r = run(&collection(vec![woman(), coded_obs("smk-1", "72166-2", code, "2026-06-01")]));
        r.expect("smoking", want);
        r.evidence_from("smoking", "Observation/smk-1", true);
    }
    let r = run(&collection(vec![
        woman(),
        coded_obs("smk-2", "72166-2", "428041000124106", "2026-06-01"),
    ]));
    r.expect_warning("Observation/smk-2", "not recognised");
}

// --- Family history -----------------------------------------------------------------------------

fn relative(id: &str, role: &str, condition: Value) -> Value {
    json!({
        "resourceType": "FamilyMemberHistory",
        "id": id,
        "status": "completed",
        "patient": { "reference": "Patient/p1" },
        "relationship": { "coding": [coding(ROLE, role, "")] },
        "condition": [{ "code": condition, "onsetAge": { "value": 40, "unit": "a" } }]
    })
}

#[test]
fn family_history_first_degree_only() {
    let rls_icd = json!({ "coding": [coding(ICD10CM, "G25.81", "Restless legs syndrome")] });
    let r = run(&collection(vec![woman(), relative("fmh-1", "MTH", rls_icd.clone())]));
    let e = r.present_from("family-history", "FamilyMemberHistory/fmh-1");
    assert_eq!(e.source, "FamilyMemberHistory/fmh-1#condition");

    let rls_sct = json!({ "coding": [coding(SNOMED, "32914008", "Restless legs")] });
    let r = run(&collection(vec![woman(), relative("fmh-2", "BRO", rls_sct)]));
    r.present_from("family-history", "FamilyMemberHistory/fmh-2");

    let r = run(&collection(vec![woman(), relative("fmh-3", "COUSN", rls_icd.clone())]));
    assert_ne!(r.status("family-history"), Status::Present);
    assert_eq!(r.skipped("not a first-degree relative"), 1);

    // A relative with something else: irrelevant.
    let dm = json!({ "coding": [coding(ICD10CM, "E11.9", "")] });
    let r = run(&collection(vec![woman(), relative("fmh-4", "FTH", dm)]));
    r.expect("family-history", Status::Unknown);
    assert_eq!(r.ing.tally.as_ref().unwrap().irrelevant, 1);
}

// --- Bundle shapes -------------------------------------------------------------------------------

fn small_record() -> Vec<Value> {
    vec![
        woman(),
        ferritin("fer-1", json!(22), "ng/mL", "2026-10-02"),
        request("mr-1", paxil()),
        coded_condition("c-1", ICD10CM, "G35.A", ""),
    ]
}

#[track_caller]
fn expect_small_record(r: &Run) {
    r.present_from("iron-deficiency", "Observation/fer-1");
    r.present_from("drug-serotonergic-antidepressant", "MedicationRequest/mr-1");
    r.present_from("multiple-sclerosis", "Condition/c-1");
    assert_eq!(r.a.age, Some(46));
}

#[test]
fn every_bundle_type_is_read() {
    for kind in ["collection", "searchset", "transaction", "batch", "history", "message"] {
        let mut doc = bundle(kind, small_record());
        if kind == "transaction" || kind == "batch" {
            for e in doc["entry"].as_array_mut().unwrap() {
                let t = e["resource"]["resourceType"].as_str().unwrap().to_owned();
                e["request"] = json!({ "method": "POST", "url": t });
            }
        }
        if kind == "searchset" {
            doc["total"] = json!(4);
            for e in doc["entry"].as_array_mut().unwrap() {
                e["search"] = json!({ "mode": "match" });
            }
            doc["entry"].as_array_mut().unwrap().push(json!({
                "resource": {
                    "resourceType": "OperationOutcome",
                    "issue": [{ "severity": "information", "code": "informational" }]
                },
                "search": { "mode": "outcome" }
            }));
        }
        let r = run(&doc);
        expect_small_record(&r);
        assert!(!r.ing.warnings.iter().any(|w| w.message.contains("type")), "{kind}");
    }
}

#[test]
fn transaction_response_entries_without_resources() {
    let doc = json!({
        "resourceType": "Bundle",
        "id": "tr-1",
        "type": "transaction-response",
        "entry": [
            { "response": { "status": "201 Created", "location": "Patient/p1/_history/1" } },
            { "response": { "status": "201 Created", "location": "Observation/fer-1/_history/1" } },
            {
                "resource": ferritin("fer-2", json!(22), "ng/mL", "2026-10-02"),
                "response": { "status": "200 OK" }
            }
        ]
    });
    let r = run(&doc);
    assert_eq!(r.ing.tally.as_ref().unwrap().read, 1);
    assert_eq!(r.labs("ferritin").len(), 1);
    r.evidence_from("iron-deficiency", "Observation/fer-2", true);
}

#[test]
fn document_bundle_with_composition_first() {
    let composition = json!({
        "resourceType": "Composition",
        "id": "comp-1",
        "status": "final",
        "type": { "coding": [coding(LOINC, "34133-9", "Summary of episode note")] },
        "subject": { "reference": "Patient/p1" },
        "date": "2026-11-20",
        "author": [{ "reference": "Practitioner/dr-1" }],
        "title": "Patient summary",
        "section": [{ "title": "Problems", "entry": [{ "reference": "Condition/c-1" }] }]
    });
    let practitioner = json!({ "resourceType": "Practitioner", "id": "dr-1" });
    let mut resources = vec![composition];
    resources.extend(small_record());
    resources.push(practitioner);
    let r = run(&bundle("document", resources));
    expect_small_record(&r);
    let t = r.ing.tally.as_ref().unwrap();
    assert_eq!((t.read, t.used, t.irrelevant), (6, 4, 2));
}

#[test]
fn sloppy_shapes_are_read_with_warnings() {
    let mut doc = bundle("collection", small_record());
    doc.as_object_mut().unwrap().remove("type");
    // category as an object, doseAndRate as an object
    doc["entry"][1]["resource"]["category"] = json!({ "coding": [{ "code": "laboratory" }] });
    doc["entry"][2]["resource"]["dosageInstruction"][0]["doseAndRate"] =
        json!({ "doseQuantity": { "value": 1 } });
    let r = run(&doc);
    expect_small_record(&r);
    r.expect_warning("Bundle/b1", "no type");
    r.expect_warning("Observation/fer-1", "category is an object");
    r.expect_warning("MedicationRequest/mr-1", "doseAndRate is an object");
}

#[test]
fn a_single_resource() {
    let r = run(&ferritin("obs-1", json!(22), "ng/mL", "2026-10-02"));
    // Read and counted; 22 ng/mL meets the child and the adult threshold alike, so no age is
    // needed to call it.
    r.expect("iron-deficiency", Status::Present);
    r.evidence_from("iron-deficiency", "Observation/obs-1", true);
    let t = r.ing.tally.as_ref().unwrap();
    assert_eq!((t.read, t.used), (1, 1));
    assert_eq!(r.a.age, None);

    let r = run(&woman());
    assert_eq!(r.a.age, Some(46));
}

#[test]
fn ndjson_with_patient_resources_and_a_bundle() {
    let lines = [
        woman(),
        ferritin("fer-1", json!(22), "ng/mL", "2026-10-02"),
        coded_condition("c-1", ICD10CM, "G35.A", ""),
        collection(vec![request("mr-1", paxil())]),
    ];
    let text: String = lines.iter().map(|l| serde_json::to_string(l).unwrap() + "\n").collect();
    let r = run_text(&text);
    expect_small_record(&r);
    assert_eq!(r.ing.tally.as_ref().unwrap().read, 4);

    // CRLF line ends and blank lines are fine.
    let r = run_text(&text.replace('\n', "\r\n\r\n"));
    expect_small_record(&r);

    let r2 = restless_ingest::fhir::read_ndjson(&text, kb(), as_of()).unwrap();
    assert_eq!(r2.record, r.ing.record);
}

#[test]
fn ndjson_with_the_patient_repeated_is_one_person() {
    // A Bulk export's Patient file plus a Bundle that includes the same Patient again.
    let lines = [
        woman(),
        ferritin("fer-1", json!(22), "ng/mL", "2026-10-02"),
        collection(vec![
            woman(),
            request("mr-1", paxil()),
            coded_condition("c-1", ICD10CM, "G35.A", ""),
        ]),
    ];
    let text: String = lines.iter().map(|l| serde_json::to_string(l).unwrap() + "\n").collect();
    let r = run_text(&text);
    expect_small_record(&r);
    assert!(!r.ing.warnings.iter().any(|w| w.message.contains("patients")), "{:?}", r.ing.warnings);
    assert_eq!(r.skipped("another patient"), 0);
}

#[test]
fn two_patients_assess_the_first() {
    let other = patient("p2", "male", "1950-01-01");
    let mut theirs = ferritin("fer-p2", json!(5), "ng/mL", "2026-10-02");
    theirs["subject"] = json!({ "reference": "Patient/p2" });
    let mut their_med = request("mr-p2", json!({ "text": "Seroquel 25 mg" }));
    their_med["subject"] = json!({ "reference": format!("{BASE}/Patient/p2") });
    let mut resources = small_record();
    resources.extend([other, theirs, their_med]);
    let r = run(&collection(resources));
    expect_small_record(&r);
    r.expect_warning("Patient/p1", "2 patients");
    assert_eq!(r.skipped("another patient"), 3);
    assert_eq!(r.labs("ferritin").len(), 1);
    assert_ne!(r.status("drug-antipsychotic"), Status::Present);
}

#[test]
fn subject_naming_a_patient_not_in_the_input_is_skipped() {
    let mut theirs = ferritin("fer-x", json!(5), "ng/mL", "2026-10-02");
    theirs["subject"] = json!({ "reference": "Patient/someone-else" });
    let r = run(&collection(vec![woman(), theirs]));
    r.expect_warning("Observation/fer-x", "patient");
    assert!(r.labs("ferritin").is_empty());
    assert_eq!(r.skipped("another patient"), 1);

    // Without a Patient in the input, the input is taken to be about one person.
    let mut alone = ferritin("fer-y", json!(5), "ng/mL", "2026-10-02");
    alone["subject"] = json!({ "reference": "Patient/someone" });
    let r = run(&alone);
    assert_eq!(r.labs("ferritin").len(), 1);
    r.evidence_from("iron-deficiency", "Observation/fer-y", true);
}

// --- The tally -----------------------------------------------------------------------------------

#[test]
fn tally_accounts_for_every_resource() {
    let resources = vec![
        woman(),                                                                            // used
        ferritin("fer-1", json!(22), "ng/mL", "2026-10-02"),                                // used
        ferritin("fer-u", json!(22), "mg/furlong", "2026-10-02"), // irrelevant (warned)
        lab("bp", "8480-6", "Systolic blood pressure", json!(120), "mm[Hg]", "2026-10-02"), // irrelevant
        with(
            ferritin("fer-e", json!(1), "ng/mL", "2026-10-02"),
            "status",
            json!("entered-in-error"),
        ),
        request("mr-1", paxil()),                                    // used
        with(request("mr-p", paxil()), "intent", json!("proposal")), // skipped
        request("mr-n", json!({ "coding": [coding(NDC, "0093-7146-56", "")] })), // skipped
        coded_condition("c-1", ICD10CM, "G35.A", ""),                // used
        coded_condition("c-htn", ICD10CM, "I10", "Essential hypertension"), // irrelevant
        verification(coded_condition("c-r", ICD10CM, "E11.9", ""), "refuted"), // skipped
        json!({ "resourceType": "Encounter", "id": "enc-1", "status": "finished" }), // irrelevant
        json!({ "resourceType": "Medication", "id": "med-1", "code": { "text": "x" } }), // irrelevant
    ];
    let r = run(&collection(resources));
    let t = r.ing.tally.as_ref().unwrap();
    assert_eq!(t.read, 13);
    assert_eq!(t.used, 4);
    assert_eq!(t.irrelevant, 5);
    assert_eq!(t.skipped_total(), 4);
    assert_eq!(r.skipped("entered-in-error"), 1);
    assert_eq!(r.skipped("refuted"), 1);
    assert_eq!(r.skipped("proposal or plan, not an order"), 1);
    assert_eq!(r.skipped("medication not recognised"), 1);
    expect_small_record(&r);
}

// --- Stricter readings found while writing these tests -------------------------------------------

#[test]
fn unconfirmed_diagnoses_do_not_count() {
    for status in ["differential", "provisional", "unconfirmed"] {
        let r = run(&collection(vec![
            woman(),
            verification(coded_condition("c-ms", ICD10CM, "G35.A", ""), status),
        ]));
        assert_ne!(r.status("multiple-sclerosis"), Status::Present, "{status}");
        assert_eq!(r.skipped("unconfirmed"), 1, "{status}");
    }
}

#[test]
fn medication_with_unknown_status_needs_a_period_covering_as_of() {
    let drug = "drug-serotonergic-antidepressant";
    // Authored years ago, status unknown: nothing says it is still taken.
    let mut old = with(request("mr-u", paxil()), "status", json!("unknown"));
    old["authoredOn"] = json!("2019-05-01");
    let r = run(&collection(vec![woman(), old.clone()]));
    r.expect(drug, Status::Absent);

    // A validity period covering as-of decides.
    old["dispenseRequest"] =
        json!({ "validityPeriod": { "start": "2026-06-01", "end": "2027-06-01" } });
    let r = run(&collection(vec![woman(), old]));
    r.present_from(drug, "MedicationRequest/mr-u");

    // A statement for one day long ago with status unknown.
    let ms = json!({
        "resourceType": "MedicationStatement",
        "id": "ms-u",
        "status": "unknown",
        "medicationCodeableConcept": paxil(),
        "subject": { "reference": "Patient/p1" },
        "effectiveDateTime": "2018-02-01"
    });
    let r = run(&collection(vec![woman(), ms]));
    r.expect(drug, Status::Absent);
}

#[test]
fn family_relationship_in_text_only_is_named() {
    let mut f = relative("fmh-t", "MTH", json!({ "text": "restless legs syndrome" }));
    f["relationship"] = json!({ "text": "Mother" });
    let r = run(&collection(vec![woman(), f]));
    assert_ne!(r.status("family-history"), Status::Present);
    r.expect_warning("FamilyMemberHistory/fmh-t", "relationship is not coded");
}

#[test]
fn the_latest_coded_answer_wins_whatever_the_order() {
    let older = coded_obs("smk-jan", "72166-2", "77176002", "2026-01-10");
    let newer = coded_obs("smk-oct", "72166-2", "8517006", "2026-10-01T09:00:00Z");
    for entries in [vec![woman(), older.clone(), newer.clone()], vec![woman(), newer, older]] {
        let r = run(&collection(entries));
        r.expect("smoking", Status::Absent);
        r.evidence_from("smoking", "Observation/smk-oct", true);
        assert_eq!(r.ing.record.answers.len(), 1);
    }
    // Older than 12 months: not a current status.
    let r =
        run(&collection(vec![woman(), coded_obs("preg-old", "82810-3", "77386006", "2025-02-01")]));
    r.expect("pregnancy", Status::Unknown);
}

#[test]
fn medication_reference_to_a_bundle_entry() {
    let med = json!({
        "resourceType": "Medication",
        "id": "med-1",
        "code": { "coding": [coding(RXNORM, "866924", "Metoprolol Tartrate 25 MG Oral Tablet")] }
    });
    let mut mr = without(request("mr-m", json!(null)), "medicationCodeableConcept");
    mr["medicationReference"] = json!({ "reference": "Medication/med-1", "display": "metoprolol" });
    let r = run(&collection(vec![woman(), med, mr]));
    r.present_from("drug-beta-blocker", "MedicationRequest/mr-m");
    assert!(r.ing.warnings.is_empty(), "{:?}", r.ing.warnings);
}

#[test]
fn dispense_stopped_is_not_current() {
    let md = json!({
        "resourceType": "MedicationDispense",
        "id": "md-s",
        "status": "stopped",
        "medicationCodeableConcept": paxil(),
        "subject": { "reference": "Patient/p1" },
        "daysSupply": { "value": 90, "unit": "d" },
        "whenHandedOver": "2026-11-20"
    });
    let r = run(&collection(vec![woman(), md]));
    r.expect("drug-serotonergic-antidepressant", Status::Absent);
}

#[test]
fn assessment_does_not_depend_on_entry_order() {
    let mut resources = small_record();
    resources.extend([
        rls("onsetAge", json!({ "value": 31, "unit": "a", "system": UCUM, "code": "a" })),
        coded_obs("smk-1", "72166-2", "77176002", "2026-05-01"),
        coded_obs("smk-2", "72166-2", "8517006", "2026-05-01"),
        lab("fe-1", "2498-4", "Iron", json!(40), "ug/dL", "2026-10-02"),
        lab("tibc-1", "2500-7", "TIBC", json!(400), "ug/dL", "2026-10-02"),
        relative("fmh-1", "FTH", json!({ "coding": [coding(SNOMED, "32914008", "")] })),
        request("mr-2", json!({ "text": "Tylenol PM" })),
    ]);
    let forward = run(&collection(resources.clone()));
    resources.reverse();
    let backward = run(&collection(resources));
    assert_eq!(forward.a, backward.a);
    assert_eq!(forward.ing.warnings, backward.ing.warnings);
    assert_eq!(forward.ing.tally, backward.ing.tally);
    forward.present_from("early-onset", "Condition/rls-1");
    forward.present_from("family-history", "FamilyMemberHistory/fmh-1");
}

#[test]
fn malformed_ndjson_names_the_line() {
    let text = format!(
        "{}\n{}\n{{\"resourceType\": \"Observation\", \n",
        serde_json::to_string(&woman()).unwrap(),
        serde_json::to_string(&ferritin("fer-1", json!(22), "ng/mL", "2026-10-02")).unwrap()
    );
    let err = read(&text, kb(), as_of()).unwrap_err();
    assert!(err.to_string().starts_with("line 3,"), "{err}");

    let text = format!("{}\n{{\"not\": \"fhir\"}}\n", serde_json::to_string(&woman()).unwrap());
    let err = read(&text, kb(), as_of()).unwrap_err();
    assert!(err.to_string().contains("line 2"), "{err}");
}

#[test]
fn patient_without_id_is_found_by_its_full_url() {
    let doc = json!({
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            { "fullUrl": format!("{BASE}/Patient/p1"), "resource": without(woman(), "id") },
            { "fullUrl": format!("{BASE}/Observation/fer-1"),
              "resource": ferritin("fer-1", json!(22), "ng/mL", "2026-10-02") }
        ]
    });
    let r = run(&doc);
    r.present_from("iron-deficiency", "Observation/fer-1");
    assert_eq!(r.skipped("another patient"), 0);
    assert!(r.ing.warnings.is_empty(), "{:?}", r.ing.warnings);
}

/// The prefetch collector, one piece of text at a time, its resources appended to `out`.
fn collect_resources(
    text: &str,
    filter: &restless_ingest::fhir::LoincFilter,
    path: &str,
    out: &mut Vec<Value>,
) -> Result<restless_ingest::fhir::Collected, serde_json::Error> {
    let mut c = restless_ingest::fhir::Collector::new(filter);
    c.add(text, path)?;
    out.append(&mut c.resources);
    Ok(c.stats)
}

/// The `Collector` (CDS prefetch): relevant resources come out slimmed, the rest are
/// counted, odd shapes are noted by path, and nothing about a value reaches the notes.
#[test]
fn collect_resources_keeps_what_the_mapper_uses_and_counts_the_rest() {
    use restless_ingest::fhir::LoincFilter;
    let filter = LoincFilter::new(kb());
    let bundle = json!({"resourceType": "Bundle", "type": "searchset", "entry": [
        {"resource": {"resourceType": "Observation", "id": "ferritin", "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "2276-4"}]},
            "valueQuantity": {"value": 20, "unit": "ng/mL"},
            "text": {"div": "<div>secret-narrative</div>"}}},
        {"resource": {"resourceType": "Observation", "id": "pulse", "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]}}},
        {"resource": {"resourceType": "Encounter", "id": "e1"}},
        {"resource": {"resourceType": "OperationOutcome", "issue": []}},
        {"resource": {"resourceType": "Bundle", "entry": [{"resource": {"resourceType": "Patient"}}]}},
        {"fullUrl": "urn:uuid:no-resource-SECRET"},
        {"resource": "SECRET-not-an-object"}
    ]});
    let mut out = Vec::new();
    let c = collect_resources(&bundle.to_string(), &filter, "/prefetch/observations", &mut out)
        .unwrap();
    let ids: Vec<&str> = out.iter().filter_map(|r| r["id"].as_str()).collect();
    assert_eq!(ids, ["ferritin"]);
    assert!(out[0].get("text").is_none(), "narrative is not kept");
    assert_eq!((c.read, c.irrelevant), (5, 4));
    assert_eq!(
        c.notes,
        [
            "/prefetch/observations/entry/5: no resource object; skipped",
            "/prefetch/observations/entry/6: no resource object; skipped"
        ]
    );
    // A single resource, and a list of them (noted), are read too.
    let mut out = Vec::new();
    let patient = json!({"resourceType": "Patient", "id": "p", "birthDate": "1950-01-01"});
    collect_resources(&patient.to_string(), &filter, "/prefetch/patient", &mut out).unwrap();
    // resourceType need not come first; a Bundle whose entry is not a list is noted.
    let late = r#"[{"id": "late", "resourceType": "Condition"}, 7,
                   {"resourceType": "Bundle", "entry": {"resource": {}}}]"#;
    let c = collect_resources(late, &filter, "/prefetch/x", &mut out).unwrap();
    assert_eq!(out.len(), 2);
    assert_eq!(out[1]["id"], "late");
    assert_eq!(
        c.notes,
        [
            "/prefetch/x: an array where a Bundle was expected; read as resources",
            "/prefetch/x/1: not a JSON object; ignored",
            "/prefetch/x/2/entry: not an array; ignored"
        ]
    );
    assert!(c.notes.iter().all(|n| !n.contains("SECRET")));
    // Not JSON: an error; JSON that is no resource: a note.
    assert!(collect_resources("{\"resourceType\": ", &filter, "/p", &mut out).is_err());
    let c = collect_resources("\"text\"", &filter, "/p", &mut out).unwrap();
    assert_eq!(c.notes, ["/p: neither a resource nor a Bundle; ignored"]);
    assert_eq!(collect_resources("null", &filter, "/p", &mut out).unwrap(), Default::default());
}

/// What a collector made of its input, the parts `add` and `add_piece` must agree on (a
/// resource's own text may differ: a piece rebuilds an object it had to open).
fn collected(c: restless_ingest::fhir::Collector<'_>) -> String {
    let labs: Vec<_> = c.labs.iter().map(|l| (&l.subject, &l.lab, l.text.get())).collect();
    let meds: Vec<_> = c.medications.iter().map(|m| (&m.subject, &m.fact, m.text.get())).collect();
    let conditions: Vec<_> =
        c.conditions.iter().map(|m| (&m.subject, &m.fact, m.text.get())).collect();
    format!("{:?}\n{labs:?}\n{meds:?}\n{conditions:?}\n{:?}", c.resources, c.stats)
}

/// An object's JSON text with `resourceType` first, as FHIR servers write it (`json!` sorts
/// keys).
fn type_first(v: &Value) -> String {
    let mut o = v.as_object().unwrap().clone();
    let kind = o.remove("resourceType").unwrap();
    let rest = Value::Object(o).to_string();
    let sep = if rest == "{}" { "" } else { "," };
    format!(r#"{{"resourceType":{kind}{sep}{}"#, &rest[1..])
}

/// A JSON text with `resourceType` first in every object that has one, at any depth; pretty
/// printed with `indent` spaces (0: compact).
fn types_first(v: &Value, indent: usize) -> String {
    fn write(v: &Value, indent: usize, depth: usize, out: &mut String) {
        let (nl, pad, pad_in) = if indent == 0 {
            (String::new(), String::new(), String::new())
        } else {
            ("\n".to_owned(), " ".repeat(indent * depth), " ".repeat(indent * (depth + 1)))
        };
        match v {
            Value::Object(o) if !o.is_empty() => {
                let mut keys: Vec<&String> = o.keys().collect();
                keys.sort_by_key(|k| *k != "resourceType");
                out.push('{');
                for (n, k) in keys.into_iter().enumerate() {
                    out.push_str(if n == 0 { "" } else { "," });
                    out.push_str(&nl);
                    out.push_str(&pad_in);
                    out.push_str(&Value::String(k.clone()).to_string());
                    out.push_str(if indent == 0 { ":" } else { ": " });
                    write(&o[k], indent, depth + 1, out);
                }
                out.push_str(&nl);
                out.push_str(&pad);
                out.push('}');
            }
            Value::Array(a) if !a.is_empty() => {
                out.push('[');
                for (n, x) in a.iter().enumerate() {
                    out.push_str(if n == 0 { "" } else { "," });
                    out.push_str(&nl);
                    out.push_str(&pad_in);
                    write(x, indent, depth + 1, out);
                }
                out.push_str(&nl);
                out.push_str(&pad);
                out.push(']');
            }
            v => out.push_str(&v.to_string()),
        }
    }
    let mut out = String::new();
    write(v, indent, 0, &mut out);
    out
}

/// A prefetch value split while the request is read (`Piece`, typed resources parsed in the
/// same pass; `PlainPiece`) gives the collector what its text gives it: the same resources,
/// typed results (and their texts), counts and notes; on the Synthea bundles of the shared
/// corpora and on odd shapes.
#[test]
fn a_piece_is_collected_as_its_text_is() {
    use restless_ingest::fhir::{Collector, LoincFilter, Piece, PlainPiece};
    let filter = LoincFilter::new(kb());
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/corpora/smart-generated-sample-data-r4-synthea");
    let mut texts = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.file_name().unwrap() != "MANIFEST.json" {
            texts.push(std::fs::read_to_string(&p).unwrap());
        }
    }
    assert!(texts.len() >= 5);
    let synthea = texts.len();
    let lab = ferritin("f1", json!(12), "ng/mL", "2026-10-01");
    let entries = vec![
        woman(),
        lab.clone(),
        coded_condition("c1", ICD10CM, "E11.9", "Type 2 diabetes"),
        request("m1", paxil()),
        json!({"resourceType": "Encounter", "id": "e1"}),
        json!({"resourceType": "Bundle", "entry": [{"resource": man()}]}),
    ];
    let mut searchset = bundle("searchset", entries.clone());
    searchset["link"] = json!([{"relation": "self", "url": "x"}]);
    // Resources as FHIR servers write them (resourceType first), for the typed paths of the
    // document's own pass, and what those paths leave to the text.
    let hemoglobin = crate::lab("h1", "718-7", "Hemoglobin", json!(10), "g/dL", "2026-10-01");
    let panel = with(
        crate::lab("bp", "85354-9", "Blood pressure panel", json!(1), "1", "2026-10-01"),
        "component",
        json!([{"code": {"coding": [coding(LOINC, "2276-4", "Ferritin")]}, "valueQuantity": {"value": 3}}]),
    );
    let early = bundle(
        "searchset",
        vec![
            woman(),
            lab.clone(),
            hemoglobin,
            crate::lab("hr", "8867-4", "Heart rate", json!(70), "/min", "2026-10-01"),
            panel,
            ferritin("f2", json!(12), "ng/mL", "2027-10-01"),
            with(ferritin("f3", json!(12), "ng/mL", "2026-10-01"), "status", json!("cancelled")),
            without(ferritin("f4", json!(12), "ng/mL", "2026-10-01"), "id"),
            with(
                ferritin("f5", json!(12), "ng/mL", "2026-10-01"),
                "subject",
                json!({"reference": "Patient/p2"}),
            ),
            coded_condition("c1", ICD10CM, "E11.9", "Type 2 diabetes"),
            coded_condition("c2", ICD10CM, "G25.81", "Restless legs syndrome"),
            coded_condition("c3", ICD10CM, "Z00.00", "General exam"),
            without(coded_condition("c4", ICD10CM, "N18.4", "CKD stage 4"), "id"),
            request("m1", paxil()),
            without(request("m2", paxil()), "id"),
            with(
                request("m3", paxil()),
                "medicationReference",
                json!({"reference": "Medication/x"}),
            ),
            json!({"resourceType": "Encounter", "id": "e1"}),
            json!({"resourceType": "Bundle", "entry": [{"resource": man()}]}),
        ],
    );
    // The typed counts themselves (both routes share them): the future and the cancelled
    // ferritin are set aside for their status; the heart rate, the Encounter and the nested
    // Bundle are of no use to restless.
    let early_text = types_first(&early, 0);
    let mut typed = Collector::new(&filter).typed(kb(), as_of());
    typed.add(&early_text, "/prefetch/k").unwrap();
    assert_eq!((typed.stats.read, typed.stats.skipped, typed.stats.irrelevant), (18, 2, 3));
    let mut early_odd = early.clone();
    early_odd["entry"].as_array_mut().unwrap().extend([
        json!({"resource": {}}),
        json!({"resource": {"id": "x", "resourceType": "Observation"}}),
        json!({"resource": 7}),
    ]);
    let odd = [
        types_first(&early, 0),
        types_first(&early, 2),
        types_first(&early_odd, 1),
        // Shapes the typed paths do not take, and a key written with escapes: only a
        // `PlainPiece` reads these.
        types_first(&bundle("searchset", vec![with(lab.clone(), "subject", json!("Patient/p1"))]), 0),
        types_first(&bundle("searchset", vec![with(lab.clone(), "id", json!(7))]), 0),
        types_first(&bundle("collection", vec![woman()]), 0).replace(r#"{"resourceType":"Patient""#, r#"{"resource\u0054ype":"Patient""#),
        type_first(&searchset),
        type_first(&bundle("collection", vec![])),
        searchset.to_string(),
        serde_json::to_string_pretty(&searchset).unwrap(),
        // resourceType last: read as text.
        format!(r#"{{"type": "searchset", "entry": {}, "resourceType": "Bundle"}}"#, json!([{"resource": lab}])),
        r#"{"resourceType": "Bundle", "entry": null}"#.to_owned(),
        r#"{"resourceType": "Bundle", "entry": {"resource": {}}}"#.to_owned(),
        r#"{"resourceType": "Bundle", "entry": [7, {"fullUrl": "x"}, {"resource": "x"}, {"resource": []}]}"#.to_owned(),
        r#"{"resourceType": "Bundle"}"#.to_owned(),
        r#"{"resourceType": "Patient", "id": "p", "gender": "female", "birth\u0044ate": "1950-01-01"}"#.to_owned(),
        lab.to_string(),
        format!("[{}, 7, {}]", woman(), type_first(&bundle("collection", entries))),
        "{}".to_owned(),
        r#"{"id": "x"}"#.to_owned(),
        "null".to_owned(),
        "\"text\"".to_owned(),
        "7".to_owned(),
        "true".to_owned(),
        "[]".to_owned(),
    ];
    texts.extend(odd);
    let mut plain_only = Vec::new();
    for (i, text) in texts.iter().enumerate() {
        let early = serde_json::from_str::<Piece<'_>>(text).ok();
        let plain = serde_json::from_str::<PlainPiece<'_>>(text).unwrap().0;
        // Synthea writes resourceType first: its Bundles are opened, not kept as text.
        assert!(i >= synthea || plain.object_text().is_none(), "input {i}");
        if early.is_none() {
            plain_only.push(i - synthea);
        }
        for piece in early.iter().chain([&plain]) {
            for typed in [false, true] {
                let (mut a, mut b) = (Collector::new(&filter), Collector::new(&filter));
                if typed {
                    a = a.typed(kb(), as_of());
                    b = b.typed(kb(), as_of());
                }
                a.add(text, "/prefetch/k").unwrap();
                b.add_piece(piece, text, "/prefetch/k").unwrap();
                assert_eq!(collected(a), collected(b), "input {i}, typed {typed}");
            }
        }
    }
    // Every Synthea bundle is read in one pass; only the three shapes meant for it need the
    // plain reading.
    assert_eq!(plain_only, [3, 4, 5]);
    // Only `null` is null; only an opened Bundle has a next page.
    let null: Piece<'_> = serde_json::from_str("null").unwrap();
    assert!(null.is_null());
    let paged = json!({"resourceType": "Bundle", "link": [
        {"relation": "self", "url": "https://ehr/fhir/Observation?page=1"},
        {"relation": "next", "url": "https://ehr/fhir/Observation?page=2"}]});
    // Opened (resourceType first) or kept as text.
    for text in [type_first(&paged), paged.to_string()] {
        let piece: Piece<'_> = serde_json::from_str(&text).unwrap();
        assert!(!piece.is_null());
        assert_eq!(piece.next_link().as_deref(), Some("https://ehr/fhir/Observation?page=2"));
    }
    let patient = type_first(&json!({"resourceType": "Patient", "link": paged["link"]}));
    assert_eq!(serde_json::from_str::<Piece<'_>>(&patient).unwrap().next_link(), None);
    let searchset = type_first(&searchset);
    let piece: Piece<'_> = serde_json::from_str(&searchset).unwrap();
    assert_eq!(piece.next_link(), None);
    // Not JSON: an error, as for the text.
    assert!(
        serde_json::from_str::<Piece<'_>>(r#"{"resourceType": "Bundle", "entry": [}"#).is_err()
    );
    assert!(serde_json::from_str::<Piece<'_>>(r#"{"resourceType": "Patient", "id": }"#).is_err());
}

/// A Bundle written with `entry` twice: the piece reads the first list (its text cannot be
/// read as a Bundle at all).
#[test]
fn a_piece_reads_the_first_of_two_entry_lists() {
    use restless_ingest::fhir::{Collector, LoincFilter, Piece};
    let filter = LoincFilter::new(kb());
    let text = format!(
        r#"{{"resourceType": "Bundle", "entry": [{{"resource": {}}}], "entry": []}}"#,
        woman()
    );
    let piece: Piece<'_> = serde_json::from_str(&text).unwrap();
    let mut c = Collector::new(&filter);
    c.add_piece(&piece, &text, "/p").unwrap();
    assert_eq!(c.resources.len(), 1);
    assert!(Collector::new(&filter).add(&text, "/p").is_err());
}
