//! Ground truth: the facts the generator planted for one patient, and the engine's verdict on
//! them.
//!
//! The tracker records what each written resource means under restless's reading rules (a lab
//! in its canonical unit and date, a diagnosis with the sets it was planted for and whether it
//! is current, a medication with its ingredients, status and period, a coded answer), never
//! what a reader makes of the file. The engine then decides every recorded cause from these
//! facts alone, so a reader that loses, misreads or over-reads a resource disagrees with the
//! ground truth.

use restless_facts::{
    Answer, AnswerFact, AnswerValue, Bound, Cmp, ConditionFact, ConditionStatus, Date, LabResult,
    MedStatus, MedicationFact, PatientRecord, Provenance, Reviewed, Sex, months_before,
};
use restless_kb::Kb;

#[derive(Default)]
pub(crate) struct Tracker {
    labs: Vec<LabResult>,
    conditions: Vec<ConditionFact>,
    medications: Vec<MedicationFact>,
    coded: Vec<(Answer, bool, Date, Provenance)>,
}

impl Tracker {
    pub(crate) fn clear(&mut self) {
        self.labs.clear();
        self.conditions.clear();
        self.medications.clear();
        self.coded.clear();
    }

    /// A lab value already in the analyte's canonical unit.
    pub(crate) fn lab(
        &mut self,
        analyte: &str,
        value: f64,
        comparator: Option<Cmp>,
        date: Date,
        source: String,
        field: String,
    ) {
        self.labs.push(LabResult {
            analyte: analyte.into(),
            value: Bound { value, comparator },
            as_read: String::new(),
            date: Some(date),
            source: Provenance { source, field: Some(field) },
            derived: false,
        });
    }

    pub(crate) fn condition(&mut self, sets: &[String], active: bool, onset: Date, source: String) {
        if sets.is_empty() {
            return;
        }
        self.conditions.push(ConditionFact {
            sets: sets.iter().map(|s| s.as_str().into()).collect(),
            status: if active { ConditionStatus::Active } else { ConditionStatus::History },
            onset: Some(onset),
            display: String::new(),
            source: Provenance { source, field: Some("code".into()) },
        });
    }

    pub(crate) fn medication(
        &mut self,
        ingredients: &[&str],
        status: MedStatus,
        start: Date,
        end: Option<Date>,
        source: String,
    ) {
        self.medications.push(MedicationFact {
            ingredients: ingredients.iter().map(|i| (*i).into()).collect(),
            classes: Vec::new(),
            display: String::new(),
            status,
            start: Some(start),
            end,
            source: Provenance { source, field: Some("medication".into()) },
        });
    }

    pub(crate) fn coded(&mut self, answer: Answer, yes: bool, date: Date, source: String) {
        self.coded.push((answer, yes, date, Provenance { source, field: None }));
    }

    /// The engine's status for each recorded cause, in the order of `targets`.
    pub(crate) fn verdict(
        &mut self,
        kb: &Kb,
        targets: &[&'static str],
        birth: Date,
        sex: Sex,
        as_of: Date,
    ) -> Vec<(&'static str, &'static str)> {
        // Coded answers count when recent; the latest of each kind wins (as the FHIR reader).
        let from = months_before(as_of, 12);
        let mut coded: Vec<_> = self.coded.drain(..).filter(|c| c.2 >= from).collect();
        coded.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| a.3.cmp(&b.3)));
        let mut answers: Vec<AnswerFact> = Vec::new();
        for (answer, yes, _, source) in coded {
            if answers.iter().any(|a| a.answer == answer) {
                continue;
            }
            answers.push(AnswerFact { answer, value: AnswerValue::YesNo(yes), source });
        }
        let record = PatientRecord {
            birth_date: Some((birth, Provenance::new("Patient").with_field("birthDate"))),
            age: None,
            sex: Some((sex, Provenance::new("Patient").with_field("gender"))),
            onset_age: None,
            labs: std::mem::take(&mut self.labs),
            conditions: std::mem::take(&mut self.conditions),
            medications: std::mem::take(&mut self.medications),
            answers,
            // Every generated patient has at least one Condition and one MedicationRequest.
            reviewed: Reviewed { conditions: true, medications: true },
            ..PatientRecord::default()
        };
        let assessment = restless_engine::assess(kb, &record, as_of);
        let out = targets
            .iter()
            .filter_map(|id| {
                assessment.findings.iter().find(|f| f.cause == *id).map(|f| (*id, f.status.name()))
            })
            .collect();
        // Hand the buffers back for the next patient.
        self.labs = record.labs;
        self.conditions = record.conditions;
        self.medications = record.medications;
        self.clear();
        out
    }
}
