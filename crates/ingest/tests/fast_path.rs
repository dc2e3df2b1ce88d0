//! The fast path for plain lab Observations gives exactly what the general FHIR reader gives:
//! checked on every Observation of the shared Synthea corpora and on hand-made edge cases.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use restless_ingest::fhir::{self, SimpleOutcome};
use restless_kb::Kb;
use serde_json::{Value, json};

fn as_of() -> restless_facts::Date {
    "2026-11-27".parse().unwrap()
}

/// Compares the fast path with the general reader on one Observation; returns whether the fast
/// path took it.
fn check(kb: &Kb, obs: &Value) -> bool {
    let text = serde_json::to_vec(obs).unwrap();
    let Some((subject, fast)) = fhir::simple_observation(&text, kb, as_of()) else { return false };
    let general = fhir::read(obs, kb, as_of()).unwrap();
    let tally = general.tally.unwrap();
    let id = obs["id"].as_str().unwrap_or("?");
    assert_eq!(subject.as_deref(), obs["subject"]["reference"].as_str(), "{id}: subject");
    match fast {
        SimpleOutcome::Lab(lab) => {
            assert_eq!(tally.used, 1, "{id}: the general reader uses it");
            assert_eq!(general.record.labs.len(), 1, "{id}");
            let g = &general.record.labs[0];
            assert_eq!(
                (&g.analyte, g.value, g.date, &g.as_read),
                (&lab.analyte, lab.value, lab.date, &lab.as_read),
                "{id}"
            );
            assert!(general.warnings.is_empty(), "{id}: {:?}", general.warnings);
        }
        SimpleOutcome::Skipped(reason) => {
            assert_eq!(tally.skipped.keys().collect::<Vec<_>>(), vec![reason], "{id}");
        }
        SimpleOutcome::Irrelevant(warning) => {
            assert_eq!(tally.irrelevant, 1, "{id}");
            let messages: Vec<&str> = general.warnings.iter().map(|w| w.message.as_str()).collect();
            assert_eq!(messages, warning.iter().map(String::as_str).collect::<Vec<_>>(), "{id}");
        }
    }
    true
}

#[test]
fn fast_path_agrees_with_the_general_reader_on_the_synthea_corpus() {
    let kb = Kb::embedded().unwrap();
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/corpora/smart-generated-sample-data-r4-synthea");
    let (mut taken, mut seen) = (0, 0);
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.file_name().unwrap() == "MANIFEST.json" {
            continue;
        }
        let bundle: Value = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
        for entry in bundle["entry"].as_array().unwrap() {
            let r = &entry["resource"];
            if r["resourceType"] == "Observation" {
                seen += 1;
                taken += usize::from(check(&kb, r));
            }
        }
    }
    assert!(seen > 500, "{seen} observations");
    assert!(taken > 100, "the fast path took only {taken} of {seen}");
}

#[test]
fn fast_path_agrees_on_edge_cases() {
    let kb = Kb::embedded().unwrap();
    let base = json!({
        "resourceType": "Observation", "id": "o1", "status": "final",
        "category": [{ "coding": [{ "code": "laboratory" }] }],
        "code": { "coding": [{ "system": "http://loinc.org", "code": "2276-4" }] },
        "subject": { "reference": "Patient/p1" },
        "effectiveDateTime": "2026-10-02T08:00:00Z",
        "valueQuantity": { "value": 22, "unit": "ng/mL", "system": "http://unitsofmeasure.org", "code": "ng/mL" }
    });
    type Edit = Box<dyn Fn(&mut Value)>;
    let variants: Vec<Edit> = vec![
        Box::new(|_| {}),
        Box::new(|v| v["status"] = json!("entered-in-error")),
        Box::new(|v| v["status"] = json!("cancelled")),
        Box::new(|v| v["effectiveDateTime"] = json!("2027-01-01")),
        Box::new(|v| v["valueQuantity"]["value"] = json!(-3)),
        Box::new(|v| v["valueQuantity"] = json!({ "value": 30, "unit": "mmol/L" })),
        Box::new(|v| v["valueQuantity"] = json!({ "value": 30 })),
        Box::new(|v| {
            v["valueQuantity"] = json!({ "value": 30, "unit": "ug/L", "comparator": "<" })
        }),
        Box::new(|v| v["valueQuantity"] = json!({ "value": 30, "code": "ug/L" })),
        Box::new(|v| {
            v["code"]["coding"][0]["code"] = json!("2502-3");
            v["valueQuantity"] = json!({ "value": 140, "unit": "%" });
        }),
        Box::new(|v| {
            v.as_object_mut().unwrap().remove("effectiveDateTime");
            v["effectivePeriod"] = json!({ "start": "2026-09-01", "end": "2026-09-02" });
        }),
        Box::new(|v| {
            v.as_object_mut().unwrap().remove("effectiveDateTime");
            v["issued"] = json!("2026-09-03T10:00:00Z");
        }),
        Box::new(|v| {
            v.as_object_mut().unwrap().remove("valueQuantity");
        }),
        Box::new(|v| v["effectiveDateTime"] = json!("2026-10")),
    ];
    let mut taken = 0;
    for (n, f) in variants.iter().enumerate() {
        let mut v = base.clone();
        v["id"] = json!(format!("o{n}"));
        f(&mut v);
        taken += usize::from(check(&kb, &v));
    }
    assert!(taken >= 10, "the fast path took {taken} of the edge cases");
}

/// Checks a Condition: when the fast path calls it irrelevant, so does the general reader.
fn check_condition(kb: &Kb, c: &Value) -> bool {
    let text = serde_json::to_vec(c).unwrap();
    let Some((subject, warning)) = fhir::irrelevant_condition(&text, kb, as_of()) else {
        return false;
    };
    let general = fhir::read(c, kb, as_of()).unwrap();
    let tally = general.tally.unwrap();
    let id = c["id"].as_str().unwrap_or("?");
    assert_eq!(tally.irrelevant, 1, "{id}: {c}");
    assert!(general.record.conditions.is_empty(), "{id}");
    assert!(general.record.reviewed.conditions, "{id}: still a problem list");
    let messages: Vec<&str> = general.warnings.iter().map(|w| w.message.as_str()).collect();
    assert_eq!(messages, warning.iter().map(String::as_str).collect::<Vec<_>>(), "{id}");
    assert_eq!(subject.as_deref(), c["subject"]["reference"].as_str(), "{id}");
    true
}

#[test]
fn irrelevant_conditions_are_the_ones_the_general_reader_ignores() {
    let kb = Kb::embedded().unwrap();
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora");
    let (mut taken, mut seen, mut relevant_missed) = (0, 0, 0);
    let mut conditions = Vec::new();
    for e in std::fs::read_dir(dir.join("smart-generated-sample-data-r4-synthea")).unwrap() {
        let p = e.unwrap().path();
        if p.file_name().unwrap() == "MANIFEST.json" {
            continue;
        }
        let bundle: Value = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
        for entry in bundle["entry"].as_array().unwrap() {
            if entry["resource"]["resourceType"] == "Condition" {
                conditions.push(entry["resource"].clone());
            }
        }
    }
    for line in std::fs::read_to_string(
        dir.join("smart-bulk-fhir-datasets-10-patients/Condition.000.ndjson"),
    )
    .unwrap()
    .lines()
    {
        conditions.push(serde_json::from_str(line).unwrap());
    }
    for c in &conditions {
        seen += 1;
        if check_condition(&kb, c) {
            taken += 1;
        } else {
            let general = fhir::read(c, &kb, as_of()).unwrap();
            relevant_missed += usize::from(general.tally.unwrap().irrelevant == 1);
        }
    }
    assert!(seen > 500, "{seen}");
    assert!(taken * 2 > seen, "the fast path recognised only {taken} of {seen}");
    // Lines it leaves to the general reader are mostly ones that matter.
    assert!(
        relevant_missed * 4 < seen,
        "{relevant_missed} irrelevant conditions left to the slow path"
    );
}

#[test]
fn a_condition_that_may_matter_is_never_called_irrelevant() {
    let kb = Kb::embedded().unwrap();
    for c in [
        json!({"resourceType": "Condition", "id": "a", "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "N18.6"}]}}),
        json!({"resourceType": "Condition", "id": "b", "code": {"text": "kidney failure on dialysis"}}),
        json!({"resourceType": "Condition", "id": "c", "code": {"coding": [{"system": "http://snomed.info/sct", "code": "1", "display": "Restless legs"}]}}),
        json!({"resourceType": "Condition", "id": "d", "verificationStatus": {"coding": [{"code": "entered-in-error"}]}, "code": {"text": "sinusitis"}}),
        json!({"resourceType": "Condition", "id": "e", "onsetDateTime": "2030-01-01", "code": {"text": "sinusitis"}}),
    ] {
        assert!(
            fhir::irrelevant_condition(&serde_json::to_vec(&c).unwrap(), &kb, as_of()).is_none(),
            "{c}"
        );
    }
}
