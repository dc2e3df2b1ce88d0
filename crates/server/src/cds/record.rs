//! From prefetched (and fetched) FHIR resources to a patient record, through the same FHIR
//! reader as `restless assess`; and from draft orders to the medications they would add.
//!
//! Resources are gathered into one collection Bundle (de-duplicated by `Type/id`, so a
//! resource prefetched under two keys counts once). A resource the reader cannot use at all is
//! dropped (its place logged) and the rest read again, so one bad resource from an EHR does not
//! silence the service.

use std::collections::HashSet;

use restless_facts::{Date, MedicationFact, PatientRecord};
use restless_ingest::IngestError;
use restless_kb::Kb;
use serde_json::{Value, json};

/// Reads resources into a record; `None` when nothing usable was given.
pub(crate) fn read_resources(resources: Vec<Value>, kb: &Kb, as_of: Date) -> Option<PatientRecord> {
    let mut seen = HashSet::new();
    let mut entries: Vec<Value> = Vec::new();
    for r in resources {
        let t = r.get("resourceType").and_then(Value::as_str).unwrap_or("");
        if matches!(t, "OperationOutcome" | "Bundle" | "") {
            continue;
        }
        if let Some(id) = r.get("id").and_then(Value::as_str)
            && !seen.insert(format!("{t}/{id}"))
        {
            continue;
        }
        entries.push(r);
    }
    if entries.is_empty() {
        return None;
    }
    // The resources are moved into one Bundle, not copied; unusable entries are removed from
    // it in place before trying again.
    let mut bundle = json!({ "resourceType": "Bundle", "type": "collection", "entry": [] });
    if let Some(list) = bundle.get_mut("entry").and_then(Value::as_array_mut) {
        list.extend(entries.into_iter().map(|r| {
            let mut e = serde_json::Map::new();
            e.insert("resource".to_owned(), r);
            Value::Object(e)
        }));
    }
    for _ in 0..4 {
        match restless_ingest::fhir::read(&bundle, kb, as_of) {
            Ok(ingested) => return Some(ingested.record),
            Err(IngestError::Invalid(problems)) => {
                let bad: HashSet<usize> = problems
                    .iter()
                    .filter_map(|p| p.path.strip_prefix("/entry/")?.split('/').next()?.parse().ok())
                    .collect();
                for p in &problems {
                    tracing::warn!(path = %p.path, "CDS data: resource not usable; dropped");
                }
                if bad.is_empty() {
                    return None;
                }
                let list = bundle.get_mut("entry").and_then(Value::as_array_mut)?;
                let mut i = 0;
                list.retain(|_| {
                    i += 1;
                    !bad.contains(&(i - 1))
                });
            }
            Err(e) => {
                tracing::warn!(error = %kind(&e), "CDS data: not readable");
                return None;
            }
        }
    }
    None
}

fn kind(e: &IngestError) -> &'static str {
    match e {
        IngestError::Syntax { .. } => "syntax",
        IngestError::Invalid(_) => "invalid",
        _ => "unsupported",
    }
}

/// A draft order the drug dictionary recognised.
#[derive(Debug, Clone)]
pub(crate) struct DraftMedication {
    /// `Type/id` of the draft order.
    pub reference: String,
    /// The draft resource as sent.
    pub resource: Value,
    /// What it would add to the record.
    pub fact: MedicationFact,
}

/// The medications that draft orders would add, read as if the orders were active today.
/// DSTU2's MedicationOrder is read as a MedicationRequest.
pub(crate) fn draft_medications(orders: &[Value], kb: &Kb, as_of: Date) -> Vec<DraftMedication> {
    let mut out = Vec::new();
    // Medication resources sent beside the orders, for medicationReference.
    let medications: Vec<&Value> = orders
        .iter()
        .filter(|r| r.get("resourceType").and_then(Value::as_str) == Some("Medication"))
        .collect();
    for (i, order) in orders.iter().enumerate() {
        let t = order.get("resourceType").and_then(Value::as_str).unwrap_or("");
        if !matches!(t, "MedicationRequest" | "MedicationOrder") {
            continue;
        }
        let id = order
            .get("id")
            .and_then(Value::as_str)
            .map_or_else(|| format!("draft-{i}"), str::to_owned);
        let reference = format!("{t}/{id}");
        // As a current order: restless asks what the record would hold once it is signed.
        let mut current = order.clone();
        if let Some(o) = current.as_object_mut() {
            o.insert("resourceType".into(), json!("MedicationRequest"));
            o.insert("id".into(), json!(id));
            o.insert("status".into(), json!("active"));
            o.insert("intent".into(), json!("order"));
            o.remove("authoredOn");
            o.remove("dateWritten");
            o.remove("dispenseRequest");
            if let Some(cc) =
                o.remove("medicationCodeableConcept").or_else(|| o.remove("medication"))
            {
                o.insert("medicationCodeableConcept".into(), cc);
            }
        }
        let mut entries = vec![json!({"resource": current})];
        entries.extend(medications.iter().map(|m| json!({"resource": m})));
        let bundle = json!({"resourceType": "Bundle", "type": "collection", "entry": entries});
        let Ok(ingested) = restless_ingest::fhir::read(&bundle, kb, as_of) else {
            tracing::warn!(order = i, "draft order not readable; skipped");
            continue;
        };
        for mut fact in ingested.record.medications {
            fact.source.source.clone_from(&format!("MedicationRequest/{id}"));
            out.push(DraftMedication {
                reference: reference.clone(),
                resource: order.clone(),
                fact,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kb() -> Kb {
        Kb::embedded().unwrap()
    }

    fn today() -> Date {
        Date::from_ymd_opt(2026, 11, 27).unwrap()
    }

    #[test]
    fn draft_orders_are_recognised_by_code_and_text() {
        let orders = vec![
            json!({"resourceType": "MedicationRequest", "id": "a", "status": "draft",
                   "intent": "order", "authoredOn": "2030-01-01",
                   "medicationCodeableConcept": {"text": "Paxil 20 mg tablet"}}),
            json!({"resourceType": "MedicationRequest", "id": "b", "status": "draft",
                   "intent": "order", "medicationCodeableConcept": {"coding": [
                       {"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "36437"}]}}),
            json!({"resourceType": "NutritionOrder", "id": "c"}),
            json!({"resourceType": "MedicationRequest", "id": "d", "status": "draft",
                   "intent": "order", "medicationCodeableConcept": {"text": "amoxicillin"}}),
        ];
        let meds = draft_medications(&orders, &kb(), today());
        let ingredients: Vec<(&str, Vec<&str>)> = meds
            .iter()
            .map(|m| (m.reference.as_str(), m.fact.ingredients.iter().map(AsRef::as_ref).collect()))
            .collect();
        assert!(
            ingredients.contains(&("MedicationRequest/a", vec!["paroxetine"])),
            "{ingredients:?}"
        );
        assert!(
            ingredients.contains(&("MedicationRequest/b", vec!["sertraline"])),
            "{ingredients:?}"
        );
        assert!(meds.iter().all(|m| m.fact.current_on(today())));
    }

    #[test]
    fn a_bad_resource_is_dropped_and_the_rest_read() {
        let resources = vec![
            json!({"resourceType": "Patient", "id": "p", "birthDate": "1970-01-01"}),
            json!({"resourceType": "Condition", "id": "c", "code": "not a concept"}),
            json!({"resourceType": "Condition", "id": "rls", "subject": {"reference": "Patient/p"},
                   "clinicalStatus": {"coding": [{"code": "active"}]},
                   "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "G25.81"}]}}),
        ];
        let rec = read_resources(resources, &kb(), today()).unwrap();
        assert!(rec.birth_date.is_some());
    }
}
