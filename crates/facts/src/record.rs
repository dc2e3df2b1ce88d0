//! One person's data, normalised: the engine's only input besides the knowledge base.

use crate::{Answer, Bound, Date};

/// Where a value came from: a resource (`Observation/obs-17`) or a questionnaire JSON pointer
/// (`questionnaire:/labs/0`), plus the field read when that helps (`valueQuantity`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct Provenance {
    /// The record: `Type/id` for FHIR, `questionnaire:<json pointer>` for the questionnaire.
    pub source: String,
    /// The field within it, when useful.
    pub field: Option<String>,
}

impl Provenance {
    /// A provenance with no field.
    #[must_use]
    pub fn new(source: impl Into<String>) -> Provenance {
        Provenance { source: source.into(), field: None }
    }

    /// The same record, naming a field inside it.
    #[must_use]
    pub fn with_field(mut self, field: impl Into<String>) -> Provenance {
        self.field = Some(field.into());
        self
    }
}

/// Administrative sex, as far as the rules use it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Sex {
    /// Female.
    Female,
    /// Male.
    Male,
    /// Other or not stated as female or male.
    Other,
}

impl Sex {
    /// `female`, `male`, `other`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Sex::Female => "female",
            Sex::Male => "male",
            Sex::Other => "other",
        }
    }
}

/// A lab result already converted to the analyte's canonical unit.
#[derive(Clone, Debug, PartialEq)]
pub struct LabResult {
    /// Analyte id from the knowledge base (`ferritin`).
    pub analyte: Box<str>,
    /// The value in the canonical unit, with any comparator the source gave.
    pub value: Bound,
    /// The value as the source wrote it (`22 ng/mL`), for evidence.
    pub as_read: String,
    /// When the specimen was taken (or the result issued).
    pub date: Option<Date>,
    /// Where it came from.
    pub source: Provenance,
    /// True when restless computed it from other results (TSAT from iron and TIBC, eGFR).
    pub derived: bool,
}

/// Whether a recorded condition is current.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ConditionStatus {
    /// Active, recurring or relapsed: counts as present.
    Active,
    /// Resolved, remitted or inactive: counts as history only.
    History,
}

/// A diagnosis mapped onto one or more knowledge-base condition sets.
#[derive(Clone, Debug, PartialEq)]
pub struct ConditionFact {
    /// Condition-set ids (`diabetes`, `peripheral-neuropathy`).
    pub sets: Vec<Box<str>>,
    /// Current or history.
    pub status: ConditionStatus,
    /// Onset, when known.
    pub onset: Option<Date>,
    /// The code or text as read (`ICD-10-CM E11.42`).
    pub display: String,
    /// Where it came from.
    pub source: Provenance,
}

/// Whether a medication record says the drug is being taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum MedStatus {
    /// Active or on hold.
    Active,
    /// Stopped, completed or cancelled.
    Stopped,
    /// Status not stated: the period decides.
    Unknown,
}

/// A medication mapped onto knowledge-base ingredients.
#[derive(Clone, Debug, PartialEq)]
pub struct MedicationFact {
    /// Ingredient ids (`paroxetine`); several for a combination product.
    pub ingredients: Vec<Box<str>>,
    /// Drug classes known without an ingredient (an ATC class code only).
    pub classes: Vec<Box<str>>,
    /// The text or code as read (`Paxil 20 mg tablet`).
    pub display: String,
    /// Status as recorded.
    pub status: MedStatus,
    /// Start of the period of use, when known.
    pub start: Option<Date>,
    /// End of the period of use, when known.
    pub end: Option<Date>,
    /// Where it came from.
    pub source: Provenance,
}

impl MedicationFact {
    /// Whether the medication is being taken on `as_of`: active unless its period ended
    /// before; stopped never; unknown status only when a period covers the date.
    #[must_use]
    pub fn current_on(&self, as_of: Date) -> bool {
        let started = self.start.is_none_or(|s| s <= as_of);
        let not_ended = self.end.is_none_or(|e| e >= as_of);
        match self.status {
            MedStatus::Active => started && not_ended,
            MedStatus::Stopped => false,
            MedStatus::Unknown => {
                (self.start.is_some() || self.end.is_some()) && started && not_ended
            }
        }
    }
}

/// A questionnaire answer's value.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum AnswerValue {
    /// Yes or no.
    YesNo(bool),
    /// A number in the answer's unit.
    Number(f64),
}

/// An answer to one questionnaire item.
#[derive(Clone, Debug, PartialEq)]
pub struct AnswerFact {
    /// Which item.
    pub answer: Answer,
    /// The value.
    pub value: AnswerValue,
    /// Where it came from.
    pub source: Provenance,
}

/// Which lists in the record are complete, so that an item missing from them means "no".
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct Reviewed {
    /// The condition list names every current condition.
    pub conditions: bool,
    /// The medication list names every current medication.
    pub medications: bool,
}

/// Everything known about one person, normalised.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct PatientRecord {
    /// Birth date.
    pub birth_date: Option<(Date, Provenance)>,
    /// Age in years when given directly instead of a birth date (taken as age at as-of).
    pub age: Option<(u32, Provenance)>,
    /// Sex.
    pub sex: Option<(Sex, Provenance)>,
    /// Age at symptom onset, in years.
    pub onset_age: Option<(f64, Provenance)>,
    /// Lab results.
    pub labs: Vec<LabResult>,
    /// Diagnoses.
    pub conditions: Vec<ConditionFact>,
    /// Medications.
    pub medications: Vec<MedicationFact>,
    /// Questionnaire answers.
    pub answers: Vec<AnswerFact>,
    /// Which lists are complete.
    pub reviewed: Reviewed,
    /// Recorded as deceased, with the date of death when known.
    pub deceased: Option<(Option<Date>, Provenance)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn med(status: MedStatus, start: Option<&str>, end: Option<&str>) -> MedicationFact {
        MedicationFact {
            ingredients: vec!["paroxetine".into()],
            classes: Vec::new(),
            display: "paroxetine".into(),
            status,
            start: start.map(|s| s.parse().unwrap()),
            end: end.map(|s| s.parse().unwrap()),
            source: Provenance::new("x"),
        }
    }

    #[test]
    fn medication_currency_follows_status_then_period() {
        let on: Date = "2026-11-27".parse().unwrap();
        assert!(med(MedStatus::Active, None, None).current_on(on));
        assert!(!med(MedStatus::Active, None, Some("2026-01-01")).current_on(on));
        assert!(!med(MedStatus::Active, Some("2027-01-01"), None).current_on(on));
        assert!(!med(MedStatus::Stopped, None, None).current_on(on));
        assert!(!med(MedStatus::Unknown, None, None).current_on(on));
        assert!(med(MedStatus::Unknown, Some("2026-01-01"), Some("2027-01-01")).current_on(on));
        assert!(!med(MedStatus::Unknown, Some("2025-01-01"), Some("2025-06-01")).current_on(on));
    }
}

/// Something an adapter read but could not use, with its place and no personal data.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Warning {
    /// `questionnaire:/labs/2`, `Observation/obs-3`.
    pub source: String,
    /// What happened.
    pub message: String,
}
