//! The fast path for plain lab Observations gives exactly what the general FHIR reader gives:
//! checked on every Observation of the shared Synthea corpora and on hand-made edge cases.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use restless_ingest::fhir::{self, SimpleCondition, SimpleMedication, SimpleOutcome};
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
        SimpleOutcome::Irrelevant(warning) | SimpleOutcome::Answer(_, Err(warning)) => {
            assert_eq!(tally.irrelevant, 1, "{id}");
            assert!(general.record.answers.is_empty(), "{id}");
            let messages: Vec<&str> = general.warnings.iter().map(|w| w.message.as_str()).collect();
            assert_eq!(messages, warning.iter().map(String::as_str).collect::<Vec<_>>(), "{id}");
        }
        SimpleOutcome::Answer(answer, Ok(yes)) => {
            assert_eq!(tally.used, 1, "{id}: the general reader uses it");
            let got: Vec<_> = general.record.answers.iter().map(|a| (a.answer, a.value)).collect();
            assert_eq!(got, vec![(answer, restless_facts::AnswerValue::YesNo(yes))], "{id}");
            assert!(general.warnings.is_empty(), "{id}: {:?}", general.warnings);
        }
    }
    true
}

#[test]
fn fast_path_agrees_with_the_general_reader_on_the_corpora() {
    let kb = Kb::embedded().unwrap();
    let (mut taken, mut seen) = (0, 0);
    for r in &corpus("Observation") {
        seen += 1;
        taken += usize::from(check(&kb, r));
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
        // Coded answers: smoking status with a known, an unknown, a stale and a future value.
        Box::new(|v| smoking(v, "449868002", "2026-10-02")),
        Box::new(|v| smoking(v, "8517006", "2026-10-02")),
        Box::new(|v| smoking(v, "266919005", "2026-10-02")),
        Box::new(|v| smoking(v, "123", "2026-10-02")),
        Box::new(|v| smoking(v, "449868002", "2020-01-01")),
        Box::new(|v| smoking(v, "449868002", "2027-01-01")),
        Box::new(|v| {
            smoking(v, "449868002", "2026-10-02");
            v.as_object_mut().unwrap().remove("valueCodeableConcept");
        }),
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

/// Turns the base Observation into a smoking status (LOINC 72166-2) with a SNOMED CT value.
fn smoking(v: &mut Value, snomed: &str, when: &str) {
    v["category"] = json!([{ "coding": [{ "code": "social-history" }] }]);
    v["code"] = json!({ "coding": [{ "system": "http://loinc.org", "code": "72166-2" }] });
    v.as_object_mut().unwrap().remove("valueQuantity");
    v["valueCodeableConcept"] =
        json!({ "coding": [{ "system": "http://snomed.info/sct", "code": snomed }] });
    v["effectiveDateTime"] = json!(when);
}

#[test]
fn coded_answers_written_as_a_lone_coding_are_left_to_the_general_reader() {
    let kb = Kb::embedded().unwrap();
    let mut v = json!({ "resourceType": "Observation", "id": "s", "status": "final" });
    smoking(&mut v, "449868002", "2026-10-02");
    v["valueCodeableConcept"] = json!({ "system": "http://snomed.info/sct", "code": "449868002" });
    assert!(fhir::simple_observation(&serde_json::to_vec(&v).unwrap(), &kb, as_of()).is_none());
}

/// Compares the MedicationRequest fast path with the general reader; returns whether the fast
/// path took it.
fn check_request(kb: &Kb, r: &Value) -> bool {
    let text = serde_json::to_vec(r).unwrap();
    let Some((subject, fast)) = fhir::simple_medication_request(&text, kb) else { return false };
    let general = fhir::read(r, kb, as_of()).unwrap();
    let tally = general.tally.unwrap();
    let id = r["id"].as_str().unwrap_or("?");
    let patient = r.get("subject").or_else(|| r.get("patient"));
    assert_eq!(subject.as_deref(), patient.and_then(|p| p["reference"].as_str()), "{id}: subject");
    assert!(general.record.reviewed.medications, "{id}: a medication list on record");
    let messages: Vec<&str> = general.warnings.iter().map(|w| w.message.as_str()).collect();
    match fast {
        SimpleMedication::Used(m) => {
            assert_eq!(tally.used, 1, "{id}: the general reader uses it");
            assert_eq!(general.record.medications, vec![m], "{id}");
            assert!(messages.is_empty(), "{id}: {messages:?}");
        }
        SimpleMedication::Skipped(reason, warning) => {
            assert_eq!(tally.skipped.keys().collect::<Vec<_>>(), vec![reason], "{id}");
            assert!(general.record.medications.is_empty(), "{id}");
            assert_eq!(messages, warning.into_iter().collect::<Vec<_>>(), "{id}");
        }
    }
    true
}

/// Every resource of a type in the shared corpora: the Synthea bundles and the 10-patient Bulk
/// export's file of that type (it has none for some types, e.g. Observation).
fn corpus(kind: &str) -> Vec<Value> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/corpora");
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir.join("smart-generated-sample-data-r4-synthea")).unwrap() {
        let p = e.unwrap().path();
        if p.file_name().unwrap() == "MANIFEST.json" {
            continue;
        }
        let bundle: Value = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
        for entry in bundle["entry"].as_array().unwrap() {
            if entry["resource"]["resourceType"] == kind {
                out.push(entry["resource"].clone());
            }
        }
    }
    let bulk = dir.join(format!("smart-bulk-fhir-datasets-10-patients/{kind}.000.ndjson"));
    if bulk.exists() {
        for line in std::fs::read_to_string(bulk).unwrap().lines() {
            out.push(serde_json::from_str(line).unwrap());
        }
    }
    out
}

#[test]
fn medication_request_fast_path_agrees_with_the_general_reader_on_the_corpora() {
    let kb = Kb::embedded().unwrap();
    let requests = corpus("MedicationRequest");
    let (mut taken, mut used) = (0, 0);
    for r in &requests {
        if check_request(&kb, r) {
            taken += 1;
            let text = serde_json::to_vec(r).unwrap();
            used += usize::from(matches!(
                fhir::simple_medication_request(&text, &kb),
                Some((_, SimpleMedication::Used(_)))
            ));
        }
    }
    assert!(requests.len() > 100, "{}", requests.len());
    assert!(
        taken * 10 > requests.len() * 9,
        "the fast path took only {taken} of {}",
        requests.len()
    );
    assert!(used > 10, "only {used} recognised drugs");
}

#[test]
fn medication_request_fast_path_agrees_on_edge_cases() {
    let kb = Kb::embedded().unwrap();
    let base = json!({
        "resourceType": "MedicationRequest", "id": "m", "status": "active", "intent": "order",
        "category": [{ "coding": [{ "code": "community" }] }],
        "medicationCodeableConcept": {
            "coding": [{ "system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "312938", "display": "sertraline 50 MG Oral Tablet" }],
            "text": "sertraline 50 MG Oral Tablet"
        },
        "subject": { "reference": "Patient/p1" },
        "authoredOn": "2026-09-01T10:00:00Z",
        "dosageInstruction": [{ "doseAndRate": [{ "doseQuantity": { "value": 1 } }] }]
    });
    type Edit = Box<dyn Fn(&mut Value)>;
    let med = |v: &mut Value, cc: Value| v["medicationCodeableConcept"] = cc;
    let variants: Vec<Edit> = vec![
        Box::new(|_| {}),
        Box::new(|v| v["status"] = json!("ACTIVE")),
        Box::new(|v| v["status"] = json!("stopped")),
        Box::new(|v| v["status"] = json!("entered-in-error")),
        Box::new(|v| v["status"] = json!("cancelled")),
        Box::new(|v| v["status"] = json!("draft")),
        Box::new(|v| v["status"] = json!("unknown")),
        Box::new(|v| {
            v.as_object_mut().unwrap().remove("status");
        }),
        Box::new(|v| v["intent"] = json!("plan")),
        Box::new(|v| {
            v["dispenseRequest"] =
                json!({ "validityPeriod": { "start": "2026-08-01", "end": "2027-08-01" } })
        }),
        Box::new(|v| v["dispenseRequest"] = json!({ "validityPeriod": { "end": "2026-10-01" } })),
        Box::new(|v| v["dispenseRequest"] = json!({ "validityPeriod": null })),
        Box::new(|v| v["dispenseRequest"] = json!({ "numberOfRepeatsAllowed": 2 })),
        Box::new(move |v| med(v, json!({ "text": "Paxil 20 mg tablet" }))),
        Box::new(move |v| med(v, json!({ "text": "Amoxicillin 250 MG Oral Capsule" }))),
        Box::new(move |v| {
            med(
                v,
                json!({ "coding": [{ "system": "http://hl7.org/fhir/sid/ndc", "code": "0093-7180" }] }),
            )
        }),
        Box::new(move |v| {
            med(v, json!({ "coding": [{ "system": "http://www.whocc.no/atc", "code": "N06AB" }] }))
        }),
        Box::new(move |v| {
            med(
                v,
                json!({ "coding": [{ "system": "http://www.whocc.no/atc", "code": "N06AB06" }] }),
            )
        }),
        Box::new(move |v| med(v, json!({}))),
        Box::new(move |v| {
            med(
                v,
                json!({ "system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "312938" }),
            )
        }),
        Box::new(|v| {
            v.as_object_mut().unwrap().remove("medicationCodeableConcept");
            v["medicationReference"] = json!({ "reference": "Medication/x" });
        }),
        Box::new(|v| v["category"] = json!({ "coding": [{ "code": "community" }] })),
        Box::new(|v| {
            v["dosageInstruction"] = json!([{ "doseAndRate": { "doseQuantity": { "value": 1 } } }])
        }),
        Box::new(|v| {
            v.as_object_mut().unwrap().remove("subject");
            v["patient"] = json!({ "reference": "Patient/p2" });
        }),
        Box::new(|v| v["subject"] = json!(null)),
        Box::new(|v| v["status"] = json!(3)),
    ];
    let mut taken = 0;
    for (n, f) in variants.iter().enumerate() {
        let mut v = base.clone();
        v["id"] = json!(format!("m{n}"));
        f(&mut v);
        taken += usize::from(check_request(&kb, &v));
    }
    assert!(taken >= 18, "the fast path took {taken} of the edge cases");
}

/// Compares the Condition fast path with the general reader; returns whether the fast path
/// took it.
fn check_condition(kb: &Kb, c: &Value) -> bool {
    let text = serde_json::to_vec(c).unwrap();
    let Some((subject, fast)) = fhir::simple_condition(&text, kb, as_of()) else {
        return false;
    };
    let general = fhir::read(c, kb, as_of()).unwrap();
    let tally = general.tally.unwrap();
    let id = c["id"].as_str().unwrap_or("?");
    let patient = c.get("subject").or_else(|| c.get("patient"));
    assert_eq!(subject.as_deref(), patient.and_then(|p| p["reference"].as_str()), "{id}");
    assert!(general.record.reviewed.conditions, "{id}: still a problem list");
    let messages: Vec<&str> = general.warnings.iter().map(|w| w.message.as_str()).collect();
    match fast {
        SimpleCondition::Used(fact) => {
            assert_eq!(tally.used, 1, "{id}: {c}");
            assert_eq!(general.record.conditions, vec![fact], "{id}");
            assert!(messages.is_empty(), "{id}: {messages:?}");
        }
        SimpleCondition::Skipped(reason) => {
            assert_eq!(tally.skipped.keys().collect::<Vec<_>>(), vec![reason], "{id}");
            assert!(general.record.conditions.is_empty(), "{id}");
        }
        SimpleCondition::Irrelevant(warning) => {
            assert_eq!(tally.irrelevant, 1, "{id}: {c}");
            assert!(general.record.conditions.is_empty(), "{id}");
            assert_eq!(messages, warning.iter().map(String::as_str).collect::<Vec<_>>(), "{id}");
        }
    }
    true
}

#[test]
fn condition_fast_path_agrees_with_the_general_reader_on_the_corpora() {
    let kb = Kb::embedded().unwrap();
    let (mut taken, mut used) = (0, 0);
    let conditions = corpus("Condition");
    for c in &conditions {
        if check_condition(&kb, c) {
            taken += 1;
            let text = serde_json::to_vec(c).unwrap();
            used += usize::from(matches!(
                fhir::simple_condition(&text, &kb, as_of()),
                Some((_, SimpleCondition::Used(_)))
            ));
        }
    }
    assert!(conditions.len() > 500, "{}", conditions.len());
    assert!(
        taken * 10 > conditions.len() * 9,
        "the fast path took only {taken} of {}",
        conditions.len()
    );
    assert!(used > 20, "only {used} conditions of a set");
}

#[test]
fn condition_fast_path_agrees_on_edge_cases() {
    let kb = Kb::embedded().unwrap();
    let icd = |code: &str| json!({ "coding": [{ "system": "http://hl7.org/fhir/sid/icd-10-cm", "code": code }] });
    let base = json!({
        "resourceType": "Condition", "id": "c", "subject": { "reference": "Patient/p1" },
        "clinicalStatus": { "coding": [{ "code": "active" }] },
        "code": { "coding": [{ "system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "N18.6", "display": "End stage renal disease" }], "text": "End stage renal disease" },
        "onsetDateTime": "2020-03-01"
    });
    type Edit = Box<dyn Fn(&mut Value)>;
    let mut taken_cases = Vec::new();
    let variants: Vec<(&str, Edit, bool)> = vec![
        ("plain", Box::new(|_| {}), true),
        (
            "resolved",
            Box::new(|v| v["clinicalStatus"] = json!({ "coding": [{ "code": "Resolved " }] })),
            true,
        ),
        (
            "abated",
            Box::new(|v| {
                v.as_object_mut().unwrap().remove("clinicalStatus");
                v["abatementDateTime"] = json!("2024-01-01");
            }),
            true,
        ),
        (
            "abated later",
            Box::new(|v| {
                v.as_object_mut().unwrap().remove("clinicalStatus");
                v["abatementDateTime"] = json!("2030-01-01");
            }),
            true,
        ),
        (
            "abatement as text",
            Box::new(|v| {
                v.as_object_mut().unwrap().remove("clinicalStatus");
                v["abatementString"] = json!("in childhood");
            }),
            true,
        ),
        (
            "onset period",
            Box::new(|v| {
                v.as_object_mut().unwrap().remove("onsetDateTime");
                v["onsetPeriod"] = json!({ "end": "2021-05-01" });
            }),
            true,
        ),
        (
            "unreadable onsetDateTime, then period",
            Box::new(|v| {
                v["onsetDateTime"] = json!("long ago");
                v["onsetPeriod"] = json!({ "start": "2019-05-01" });
            }),
            true,
        ),
        ("future onset", Box::new(|v| v["onsetDateTime"] = json!("2030-01-01")), true),
        (
            "snomed",
            Box::new(
                |v| v["code"] = json!({ "coding": [{ "system": "http://snomed.info/sct", "code": "46177005", "display": "End-stage renal disease" }] }),
            ),
            true,
        ),
        (
            "text only",
            Box::new(|v| v["code"] = json!({ "text": "kidney failure on dialysis" })),
            true,
        ),
        (
            "irrelevant",
            Box::new(
                |v| v["code"] = json!({ "coding": [{ "system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "J01.90", "display": "Acute sinusitis" }] }),
            ),
            true,
        ),
        (
            "unknown system",
            Box::new(|v| {
                v["code"] = json!({ "coding": [{ "system": "urn:local", "code": "77" }] })
            }),
            true,
        ),
        (
            "confirmed",
            Box::new(|v| v["verificationStatus"] = json!({ "coding": [{ "code": "confirmed" }] })),
            true,
        ),
        (
            "refuted",
            Box::new(|v| v["verificationStatus"] = json!({ "coding": [{ "code": "refuted" }] })),
            false,
        ),
        (
            "lone coding",
            Box::new(|v| {
                v["code"] =
                    json!({ "system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "N18.6" })
            }),
            false,
        ),
        (
            "lone clinical status",
            Box::new(|v| v["clinicalStatus"] = json!({ "code": "resolved" })),
            false,
        ),
        ("restless legs", Box::new(move |v| v["code"] = icd("G25.81")), false),
        (
            "no id",
            Box::new(|v| {
                v.as_object_mut().unwrap().remove("id");
            }),
            false,
        ),
        (
            "onset as an age",
            Box::new(|v| v["onsetAge"] = json!({ "value": 40, "unit": "a" })),
            false,
        ),
        (
            "category object",
            Box::new(|v| v["category"] = json!({ "coding": [{ "code": "problem-list-item" }] })),
            false,
        ),
        (
            "patient, not subject",
            Box::new(|v| {
                v.as_object_mut().unwrap().remove("subject");
                v["patient"] = json!({ "reference": "Patient/p2" });
            }),
            true,
        ),
    ];
    for (name, f, expect_taken) in &variants {
        let mut v = base.clone();
        f(&mut v);
        let taken = check_condition(&kb, &v);
        assert_eq!(taken, *expect_taken, "{name}: {v}");
        if taken {
            taken_cases.push(*name);
        }
    }
    assert!(taken_cases.len() >= 14, "{taken_cases:?}");
}

#[test]
fn a_screen_lab_carries_the_same_value_without_its_text() {
    let kb = Kb::embedded().unwrap();
    let obs = json!({
        "resourceType": "Observation", "id": "o1", "status": "final",
        "code": { "coding": [{ "system": "http://loinc.org", "code": "2276-4" }] },
        "subject": { "reference": "Patient/p1" },
        "effectiveDateTime": "2026-10-02",
        "valueQuantity": { "value": 22, "unit": "ng/mL", "system": "http://unitsofmeasure.org", "code": "ng/mL" }
    });
    let text = serde_json::to_vec(&obs).unwrap();
    let lab = |explain| match fhir::simple_observation_with(&text, &kb, as_of(), explain) {
        Some((Some(subject), SimpleOutcome::Lab(lab))) => {
            assert_eq!(subject, "Patient/p1");
            lab
        }
        other => panic!("not a lab: {other:?}"),
    };
    let (full, lean) = (lab(true), lab(false));
    assert_eq!((&full.analyte, full.value, full.date), (&lean.analyte, lean.value, lean.date));
    assert_eq!(
        (full.as_read.as_str(), full.source.source.as_str()),
        ("22 ng/mL", "Observation/o1")
    );
    assert!(lean.as_read.is_empty() && lean.source.source.is_empty());
}
