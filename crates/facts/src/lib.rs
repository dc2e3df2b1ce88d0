//! Normalised patient facts: the vocabulary shared by the input adapters and the engine.
//!
//! A [`PatientRecord`] holds what one person's data says, already mapped onto knowledge-base
//! identifiers (lab analytes, condition sets, drug ingredients, questionnaire answers) and
//! carrying, for every value, where it came from ([`Provenance`]). This crate knows nothing of
//! JSON shapes, FHIR or the rules that use the facts, and it never reads the clock.

mod answer;
mod key;
mod record;
mod value;

pub use answer::{Answer, AnswerKind};
pub use key::{FactKey, FactKeyError};
pub use record::{
    AnswerFact, AnswerValue, ConditionFact, ConditionStatus, LabResult, MedStatus, MedicationFact,
    PatientRecord, Provenance, Reviewed, Sex, Warning,
};
pub use value::{Bound, Cmp};

/// A calendar date (no time zone): every date in restless is a day.
pub type Date = chrono::NaiveDate;

/// Whole years between `birth` and `on`, or `None` when `on` is before `birth`.
#[must_use]
pub fn age_on(birth: Date, on: Date) -> Option<u32> {
    use chrono::Datelike;
    if on < birth {
        return None;
    }
    let mut years = on.year() - birth.year();
    if (on.month(), on.day()) < (birth.month(), birth.day()) {
        years -= 1;
    }
    u32::try_from(years).ok()
}

/// The date `months` calendar months before `date` (clamped to the month's last day).
#[must_use]
pub fn months_before(date: Date, months: u32) -> Date {
    date.checked_sub_months(chrono::Months::new(months)).unwrap_or(Date::MIN)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        s.parse().unwrap()
    }

    #[test]
    fn age_counts_whole_years() {
        assert_eq!(age_on(d("1980-11-28"), d("2026-11-27")), Some(45));
        assert_eq!(age_on(d("1980-11-27"), d("2026-11-27")), Some(46));
        assert_eq!(age_on(d("2000-02-29"), d("2001-02-28")), Some(0));
        assert_eq!(age_on(d("2027-01-01"), d("2026-11-27")), None);
    }

    #[test]
    fn months_before_clamps_to_month_end() {
        assert_eq!(months_before(d("2026-11-27"), 12), d("2025-11-27"));
        assert_eq!(months_before(d("2026-03-31"), 1), d("2026-02-28"));
    }
}
