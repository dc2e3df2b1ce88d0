//! From prefetched (and fetched) FHIR resources to a patient record, through the same FHIR
//! reader as `restless assess`; and from draft orders to the medications they would add.
//!
//! Resources are gathered into one collection Bundle (de-duplicated by `Type/id`, so a
//! resource prefetched under two keys counts once). A resource the reader cannot use at all is
//! dropped (its place logged) and the rest read again, so one bad resource from an EHR does not
//! silence the service.

use std::collections::HashSet;

use restless_facts::{Date, MedicationFact, PatientRecord, Provenance};
use restless_ingest::IngestError;
use restless_ingest::fhir::{Collector, FastCondition, FastPatient, ResourceText, Slot};
use restless_kb::Kb;
use serde_json::{Value, json};

/// Reads what a [`Collector`] gathered, with resources obtained as trees (`more`), into a
/// record; `None` when nothing usable was given.
///
/// What the typed paths read (labs, medication orders, conditions) is kept only where the
/// general reader would take it without a doubt: the input holds exactly one Patient and the
/// resource is about it (`Patient/id`) or about no one in particular. Any other is read by the
/// general reader, which judges its subject. A fact whose `Type/id` is already in the input
/// counts once.
///
/// The Patient and the restless legs conditions read typed are used as they are only when
/// nothing at all goes to the general reader (one Patient, every resource read typed and about
/// it): the record is then built here, the age at onset as the general reader works it out.
/// Otherwise they go back to the general reader, at the places they had among its resources.
pub(crate) fn read_collected(
    collector: Collector<'_>,
    mut more: Vec<Value>,
    kb: &Kb,
    as_of: Date,
) -> Option<PatientRecord> {
    let Collector { resources: mut slim, labs, medications, conditions, patients: typed, .. } =
        collector;
    let (rls, conditions): (Vec<_>, Vec<_>) = conditions
        .into_iter()
        .partition(|c| c.fact.as_ref().is_some_and(|f| f.sets.iter().any(|s| &**s == "rls")));
    let all_typed = typed.len() == 1 && slim.is_empty() && more.is_empty();
    if !all_typed {
        put_back(&mut slim, &typed, &rls);
    }
    let mut resources = slim;
    resources.append(&mut more);
    let id_of = |r: &Value, t: &str| {
        (r.get("resourceType").and_then(Value::as_str) == Some(t))
            .then(|| r.get("id").and_then(Value::as_str))
            .flatten()
            .map(str::to_owned)
    };
    let mut patients: Vec<String> = resources.iter().filter_map(|r| id_of(r, "Patient")).collect();
    if all_typed {
        patients.extend(typed.iter().map(|p| p.id.clone()));
    }
    patients.sort_unstable();
    patients.dedup();
    // Sized for every fact and resource at once: grown step by step, rehashing cost more than
    // the inserts.
    let mut seen: HashSet<String> = HashSet::with_capacity(
        resources.len() + labs.len() + medications.len() + conditions.len() + rls.len(),
    );
    seen.extend(["Observation", "MedicationRequest", "Condition"].iter().flat_map(|t| {
        resources.iter().filter_map(move |r| Some([t, "/", id_of(r, t)?.as_str()].concat()))
    }));
    let about_the_patient = |subject: Option<&str>| match (patients.as_slice(), subject) {
        ([p], Some(s)) => s.strip_prefix("Patient/") == Some(p.as_str()),
        ([_], None) => true,
        _ => false,
    };
    let mut sort = Sorter { about: &about_the_patient, seen: &mut seen, general: Vec::new() };
    let (labs, _) =
        sort.keep(labs.into_iter().map(|f| (f.subject, Some(f.lab), f.text)), |l| &l.source.source);
    let (medications, medication_list) = sort
        .keep(medications.into_iter().map(|m| (m.subject, m.fact, m.text)), |m| &m.source.source);
    let (mut conditions, mut problem_list) = sort
        .keep(conditions.into_iter().map(|c| (c.subject, c.fact, c.text)), |c| &c.source.source);
    if all_typed {
        if sort.general.is_empty() && rls.iter().all(|c| about_the_patient(c.subject.as_deref())) {
            let (mut record, rls_list) = typed_record(&typed[0], rls, &mut sort);
            record.labs = labs;
            record.medications = medications;
            conditions.append(&mut record.conditions);
            record.conditions = conditions;
            problem_list |= rls_list;
            record.reviewed.medications |= medication_list;
            record.reviewed.conditions |= problem_list;
            return Some(record);
        }
        // Something is the general reader's after all: the Patient and the restless legs
        // conditions go to it too (`resources` is empty here: they come first, in the order
        // they came).
        put_back(&mut resources, &typed, &rls);
    }
    // Anything not surely about the patient goes to the general reader.
    for text in sort.general {
        if let Some(text) = text.get()
            && let Ok(v) = restless_ingest::fhir::slim_resource(text.as_bytes())
        {
            resources.push(v);
        }
    }
    let mut record = read_resources(resources, kb, as_of)?;
    record.labs.extend(labs);
    record.medications.extend(medications);
    record.conditions.extend(conditions);
    record.reviewed.medications |= medication_list;
    record.reviewed.conditions |= problem_list;
    Some(record)
}

/// Puts the Patients and restless legs conditions read typed (for the general reader after
/// all) among the slim resources, each where the general reader would have had it.
fn put_back(slim: &mut Vec<Value>, patients: &[FastPatient<'_>], rls: &[FastCondition<'_>]) {
    let mut back: Vec<(Slot, ResourceText<'_>)> = patients.iter().map(|p| (p.at, p.text)).collect();
    back.extend(rls.iter().map(|c| (c.at, c.text)));
    back.sort_by_key(|(at, _)| *at);
    // Each insertion moves the later places one further.
    let mut moved = 0;
    for (at, text) in back {
        if let Some(text) = text.get()
            && let Ok(v) = restless_ingest::fhir::slim_resource(text.as_bytes())
        {
            slim.insert((at.index + moved).min(slim.len()), v);
            moved += 1;
        }
    }
}

/// The record of a Patient read typed, with its restless legs conditions (each `Type/id` once,
/// through `sort`), and whether any of them was about the patient: what the general reader
/// makes of the same (demographics, the conditions, the age at onset: the youngest of the
/// conditions' onsets, the first of equals).
fn typed_record<'t>(
    p: &FastPatient<'t>,
    rls: Vec<FastCondition<'t>>,
    sort: &mut Sorter<'_, 't>,
) -> (PatientRecord, bool) {
    let name = format!("Patient/{}", p.id);
    let mut record = PatientRecord {
        birth_date: p.birth_date.map(|b| (b, Provenance::new(&name).with_field("birthDate"))),
        sex: p.sex.map(|s| (s, Provenance::new(&name).with_field("gender"))),
        ..PatientRecord::default()
    };
    let (facts, any) =
        sort.keep(rls.into_iter().map(|c| (c.subject, c.fact, c.text)), |c| &c.source.source);
    // The typed path leaves onsets given as ages to the general reader: dates only here.
    record.onset_age = restless_ingest::fhir::youngest_onset(
        p.birth_date,
        facts.iter().map(|f| (None, f.onset, &f.source)),
    );
    record.conditions = facts;
    (record, any)
}

/// Sorts what the typed paths read: kept when surely about the patient, else left to the
/// general reader.
struct Sorter<'s, 't> {
    about: &'s dyn Fn(Option<&str>) -> bool,
    /// `Type/id` of the facts kept so far and of the resources the general reader has.
    seen: &'s mut HashSet<String>,
    /// Texts for the general reader.
    general: Vec<ResourceText<'t>>,
}

impl<'t> Sorter<'_, 't> {
    /// The facts about the patient, each `Type/id` (`name`) once, and whether any resource was
    /// about the patient (for a medication list or problem list on record).
    fn keep<T>(
        &mut self,
        read: impl Iterator<Item = (Option<String>, Option<T>, ResourceText<'t>)>,
        name: impl Fn(&T) -> &str,
    ) -> (Vec<T>, bool) {
        let (mut kept, mut any) = (Vec::new(), false);
        for (subject, fact, text) in read {
            if !(self.about)(subject.as_deref()) {
                self.general.push(text);
                continue;
            }
            any = true;
            if let Some(fact) = fact
                && self.seen.insert(name(&fact).to_owned())
            {
                kept.push(fact);
            }
        }
        (kept, any)
    }
}

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

    fn obs(id: Option<&str>, subject: Option<&str>, loinc: &str, value: f64, unit: &str) -> Value {
        let mut o = json!({"resourceType": "Observation", "status": "final",
            "code": {"coding": [{"system": "http://loinc.org", "code": loinc}]},
            "category": [{"coding": [{"code": "laboratory"}]}],
            "effectiveDateTime": "2026-10-01",
            "valueQuantity": {"value": value, "unit": unit, "system": "http://unitsofmeasure.org", "code": unit}});
        if let Some(id) = id {
            o["id"] = json!(id);
        }
        if let Some(s) = subject {
            o["subject"] = json!({"reference": s});
        }
        o
    }

    /// The labs, in order; a resource without an id is named by its place in the Bundle
    /// rebuilt from the prefetch, which depends on what else was rebuilt: not compared.
    fn sorted_labs(rec: &PatientRecord) -> Vec<String> {
        let mut v: Vec<String> = rec
            .labs
            .iter()
            .map(|l| {
                let mut l = l.clone();
                if l.source.source.starts_with("Observation[") {
                    l.source.source = "Observation[no id]".to_owned();
                }
                format!("{l:?}")
            })
            .collect();
        v.sort();
        v
    }

    fn order(id: Option<&str>, subject: Option<&str>, rxnorm: &str, text: &str) -> Value {
        let mut o = json!({"resourceType": "MedicationRequest", "status": "active", "intent": "order",
            "medicationCodeableConcept": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": rxnorm}], "text": text},
            "authoredOn": "2026-10-01"});
        if let Some(id) = id {
            o["id"] = json!(id);
        }
        if let Some(s) = subject {
            o["subject"] = json!({"reference": s});
        }
        o
    }

    fn condition(id: &str, subject: &str, icd10: &str, text: &str) -> Value {
        json!({"resourceType": "Condition", "id": id, "subject": {"reference": subject},
            "clinicalStatus": {"coding": [{"code": "active"}]},
            "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": icd10}], "text": text}})
    }

    /// Medications and conditions of a record, in a comparable form (a resource without an id
    /// is named by its place, which depends on what else was rebuilt: not compared).
    fn sorted_rest(rec: &PatientRecord) -> (Vec<String>, Vec<String>, bool, bool) {
        let norm = |s: &str| if s.contains('[') { "[no id]".to_owned() } else { s.to_owned() };
        let mut meds: Vec<String> = rec
            .medications
            .iter()
            .map(|m| {
                let mut m = m.clone();
                m.source.source = norm(&m.source.source);
                format!("{m:?}")
            })
            .collect();
        meds.sort();
        let mut conds: Vec<String> = rec.conditions.iter().map(|c| format!("{c:?}")).collect();
        conds.sort();
        (meds, conds, rec.reviewed.medications, rec.reviewed.conditions)
    }

    /// Demographics and the age at onset of a record, in a comparable form.
    fn person(rec: &PatientRecord) -> String {
        format!("{:?} {:?} {:?} {:?}", rec.birth_date, rec.sex, rec.onset_age, rec.deceased)
    }

    /// Reading with the typed paths (labs, orders, conditions, the Patient) gives the record the
    /// general reader gives, whoever the resources are about and however they are named; with
    /// everything read typed (`lists` 3 and 4) too.
    #[test]
    fn typed_reading_gives_the_same_record_as_the_general_reader() {
        let kb = kb();
        let filter = restless_ingest::fhir::LoincFilter::new(&kb);
        let patient = json!({"resourceType": "Patient", "id": "p1", "birthDate": "1960-05-01", "gender": "female"});
        let observations = json!({"resourceType": "Bundle", "type": "searchset", "entry": [
            {"resource": obs(Some("f1"), Some("Patient/p1"), "2276-4", 30.0, "ng/mL")},
            {"resource": obs(Some("t1"), None, "2502-3", 15.0, "%")},
            {"resource": obs(Some("x1"), Some("Patient/someone-else"), "2276-4", 500.0, "ng/mL")},
            {"resource": obs(Some("u1"), Some("urn:uuid:p1"), "2276-4", 45.0, "ng/mL")},
            {"resource": obs(None, Some("Patient/p1"), "2276-4", 12.0, "ng/mL")},
            {"resource": obs(Some("bad-unit"), Some("Patient/p1"), "2276-4", 12.0, "furlongs")}
        ]});
        // Pretty-printed, as some servers send it (the typed path must not depend on layout).
        let observations = serde_json::to_string_pretty(&observations).unwrap();
        // The same ferritin again under another key counts once.
        let again = obs(Some("f1"), Some("Patient/p1"), "2276-4", 30.0, "ng/mL").to_string();
        let orders = json!({"resourceType": "Bundle", "type": "searchset", "entry": [
            {"resource": order(Some("m1"), Some("Patient/p1"), "312941", "sertraline 100 MG Oral Tablet")},
            {"resource": order(Some("m2"), Some("Patient/p1"), "999999", "Unheard-of 5 MG Oral Tablet")},
            {"resource": order(Some("m3"), Some("Patient/someone-else"), "311666", "metoclopramide 10 MG Oral Tablet")},
            {"resource": order(None, Some("Patient/p1"), "311666", "metoclopramide 10 MG Oral Tablet")},
            {"resource": order(Some("m1"), Some("Patient/p1"), "312941", "sertraline 100 MG Oral Tablet")}
        ]})
        .to_string();
        let conditions = json!({"resourceType": "Bundle", "type": "searchset", "entry": [
            {"resource": condition("c1", "Patient/p1", "I10", "Essential hypertension")},
            {"resource": condition("c2", "Patient/someone-else", "K21.9", "Gastro-esophageal reflux disease")},
            {"resource": condition("c3", "Patient/p1", "G25.81", "Restless legs syndrome")},
            {"resource": condition("c4", "Patient/p1", "E11.9", "Type 2 diabetes mellitus")},
            {"resource": condition("c5", "Patient/someone-else", "N18.6", "End stage renal disease")},
            {"resource": condition("c4", "Patient/p1", "E11.9", "Type 2 diabetes mellitus")}
        ]})
        .to_string();
        // Lists whose every entry the typed paths take: only the typed reading can put them on
        // record.
        let unknown_order =
            order(Some("m9"), Some("Patient/p1"), "999999", "Unheard-of").to_string();
        let hypertension =
            condition("c9", "Patient/p1", "I10", "Essential hypertension").to_string();
        // Only what the typed paths take, all about the patient: two restless legs conditions
        // with onsets (the youngest gives the age at onset), one without, a lab.
        let mut rls_late = condition("r1", "Patient/p1", "G25.81", "Restless legs syndrome");
        rls_late["onsetDateTime"] = json!("2015-03-02");
        let mut rls_early = condition("r2", "Patient/p1", "G25.81", "Restless legs");
        rls_early["onsetPeriod"] = json!({"start": "2001-07-01"});
        rls_early["clinicalStatus"] = json!({"coding": [{"code": "resolved"}]});
        let rls_undated = condition("r3", "Patient/p1", "G25.81", "RLS");
        let typed_only = json!({"resourceType": "Bundle", "type": "searchset", "entry": [
            {"resource": rls_late}, {"resource": condition("c9", "Patient/p1", "I10", "Essential hypertension")},
            {"resource": rls_early}, {"resource": rls_undated}, {"resource": rls_late}
        ]})
        .to_string();
        let clean_obs = json!({"resourceType": "Bundle", "type": "searchset", "entry": [
            {"resource": obs(Some("f1"), Some("Patient/p1"), "2276-4", 30.0, "ng/mL")},
            {"resource": obs(Some("t1"), None, "2502-3", 15.0, "%")}
        ]})
        .to_string();
        let patient_text = patient.to_string();
        let untyped = json!({"resourceType": "MedicationRequest", "status": "active",
            "intent": "order", "subject": {"reference": "Patient/p1"},
            "medicationReference": {"reference": "Medication/x"}})
        .to_string();
        let read = |typed: bool, with_patient: bool, lists: u8| {
            let mut c = Collector::new(&filter);
            if typed {
                c = c.typed(&kb, today());
            }
            if with_patient {
                c.add(&patient_text, "/prefetch/patient").unwrap();
            }
            if lists >= 3 {
                c.add(&clean_obs, "/prefetch/observations").unwrap();
            } else {
                c.add(&observations, "/prefetch/observations").unwrap();
            }
            c.add(&again, "/prefetch/mine").unwrap();
            if lists == 1 {
                c.add(&orders, "/prefetch/medicationRequests").unwrap();
                c.add(&conditions, "/prefetch/conditions").unwrap();
            } else if lists == 2 {
                c.add(&unknown_order, "/prefetch/medicationRequests").unwrap();
                c.add(&hypertension, "/prefetch/conditions").unwrap();
            } else if lists == 3 {
                c.add(&typed_only, "/prefetch/conditions").unwrap();
            } else if lists == 4 {
                // The same, and one order only the general reader takes (no coding, no id).
                c.add(&typed_only, "/prefetch/conditions").unwrap();
                c.add(&untyped, "/prefetch/medicationRequests").unwrap();
            }
            let fast = c.labs.len() + c.medications.len() + c.conditions.len() + c.patients.len();
            // Every resource read is accounted for: typed, parsed, irrelevant or skipped.
            let s = &c.stats;
            assert_eq!(s.read, fast + c.resources.len() + s.irrelevant + s.skipped, "{s:?}");
            (read_collected(c, Vec::new(), &kb, today()).unwrap_or_default(), fast)
        };
        for with_patient in [true, false] {
            for lists in [0, 1, 2, 3, 4] {
                let (general, none) = read(false, with_patient, lists);
                let (typed, fast) = read(true, with_patient, lists);
                let case = format!("with patient: {with_patient}, lists: {lists}");
                assert_eq!(none, 0);
                assert!(fast >= 3, "the typed path was not taken ({fast})");
                assert_eq!(sorted_labs(&typed), sorted_labs(&general), "{case}");
                assert_eq!(sorted_rest(&typed), sorted_rest(&general), "{case}");
                assert_eq!(person(&typed), person(&general), "{case}");
                assert!(!general.labs.is_empty());
                if lists == 3 && with_patient {
                    // Read without the general reader, and the youngest onset counts.
                    assert!(
                        general
                            .onset_age
                            .as_ref()
                            .is_some_and(|(y, p)| *y == 41.0 && p.source == "Condition/r2"),
                        "{:?}",
                        general.onset_age
                    );
                    assert_eq!(general.conditions.len(), 3, "{:?}", general.conditions);
                }
                if lists == 1 && with_patient {
                    assert!(fast >= 3 + 4, "orders and conditions not typed ({fast})");
                    assert!(general.medications.len() >= 2 && general.reviewed.conditions);
                    // Diabetes counted once, though prefetched twice; the other patient's
                    // kidney failure not at all.
                    assert_eq!(general.conditions.len(), 2, "{:?}", general.conditions);
                }
                if lists == 2 && with_patient {
                    assert!(general.reviewed.medications && general.reviewed.conditions);
                }
            }
        }
    }

    /// Two Patients (in either order), one recorded as deceased (or with `deceasedBoolean`
    /// false), one born after as-of: the typed path leaves them to the general reader; a birth
    /// date given as a year only is read typed. Either way the record is the general reader's.
    #[test]
    fn patients_the_typed_path_leaves_alone_give_the_general_readers_record() {
        let kb = kb();
        let filter = restless_ingest::fhir::LoincFilter::new(&kb);
        let mut rls = condition("r1", "Patient/p2", "G25.81", "Restless legs syndrome");
        rls["onsetDateTime"] = json!("2010-01-01");
        let conditions =
            json!({"resourceType": "Bundle", "type": "searchset", "entry": [{"resource": rls}]})
                .to_string();
        let p = |id: &str, extra: Value| {
            let mut v = json!({"resourceType": "Patient", "id": id, "birthDate": "1950-02-03", "gender": "male"});
            if let (Some(v), Some(extra)) = (v.as_object_mut(), extra.as_object()) {
                v.extend(extra.clone());
            }
            v.to_string()
        };
        let cases = [
            vec![p("p1", json!({})), p("p2", json!({}))],
            vec![p("p2", json!({})), p("p1", json!({}))],
            vec![p("p2", json!({"deceasedDateTime": "2020-01-01"}))],
            vec![p("p2", json!({"deceasedBoolean": false}))],
            vec![p("p2", json!({"birthDate": "2030-01-01"}))],
            vec![p("p2", json!({"birthDate": "1950"}))],
        ];
        for patients in &cases {
            let read = |typed: bool| {
                let mut c = Collector::new(&filter);
                if typed {
                    c = c.typed(&kb, today());
                }
                for (i, text) in patients.iter().enumerate() {
                    c.add(text, &format!("/prefetch/p{i}")).unwrap();
                }
                c.add(&conditions, "/prefetch/conditions").unwrap();
                read_collected(c, Vec::new(), &kb, today()).unwrap_or_default()
            };
            let (general, typed) = (read(false), read(true));
            assert_eq!(person(&typed), person(&general), "{patients:?}");
            assert_eq!(sorted_rest(&typed), sorted_rest(&general), "{patients:?}");
        }
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
