//! Fact keys: the names rules use to point at a person's data.
//!
//! The families are fixed here (`age`, `sex`, `onset-age`, `lab.*`, `condition.*`, `drug.*`,
//! `answer.*`); which analytes, condition sets and drug classes exist is declared by the
//! knowledge base, which checks every key a rule names when it loads.

use std::fmt;

use crate::Answer;

/// A fact a rule can test.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FactKey {
    /// Age in whole years at the as-of date.
    Age,
    /// Administrative sex.
    Sex,
    /// Age in years when restless-legs symptoms began.
    OnsetAge,
    /// A lab analyte declared in the knowledge base (`lab.ferritin`).
    Lab(Box<str>),
    /// A condition set declared in the knowledge base (`condition.esrd`).
    Condition(Box<str>),
    /// A drug class declared in the knowledge base (`drug.ssri`).
    Drug(Box<str>),
    /// A questionnaire answer (`answer.urge`).
    Answer(Answer),
}

/// Why a string is not a fact key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FactKeyError {
    /// The text that was given.
    pub text: String,
    /// What was wrong with it.
    pub reason: &'static str,
}

impl fmt::Display for FactKeyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "`{}` is not a fact: {}", self.text, self.reason)
    }
}

impl std::error::Error for FactKeyError {}

impl FactKey {
    /// Parses `age`, `sex`, `onset-age`, `lab.<id>`, `condition.<id>`, `drug.<id>` or
    /// `answer.<name>`. Knowledge-base ids are checked by the knowledge base, not here.
    ///
    /// # Errors
    /// When the family is unknown, the id is empty or badly formed, or the answer is not in the
    /// catalogue.
    pub fn parse(text: &str) -> Result<FactKey, FactKeyError> {
        let err = |reason| FactKeyError { text: text.to_owned(), reason };
        match text {
            "age" => return Ok(FactKey::Age),
            "sex" => return Ok(FactKey::Sex),
            "onset-age" => return Ok(FactKey::OnsetAge),
            _ => {}
        }
        let Some((family, id)) = text.split_once('.') else {
            return Err(err(
                "expected age, sex, onset-age or a family prefix (lab., condition., drug., answer.)",
            ));
        };
        if id.is_empty()
            || !id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(err("ids are lower-case letters, digits and hyphens"));
        }
        match family {
            "lab" => Ok(FactKey::Lab(id.into())),
            "condition" => Ok(FactKey::Condition(id.into())),
            "drug" => Ok(FactKey::Drug(id.into())),
            "answer" => Answer::from_name(id)
                .map(FactKey::Answer)
                .ok_or_else(|| err("no such answer in the questionnaire catalogue")),
            _ => Err(err("unknown family; expected lab., condition., drug. or answer.")),
        }
    }
}

impl fmt::Display for FactKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FactKey::Age => f.write_str("age"),
            FactKey::Sex => f.write_str("sex"),
            FactKey::OnsetAge => f.write_str("onset-age"),
            FactKey::Lab(id) => write!(f, "lab.{id}"),
            FactKey::Condition(id) => write!(f, "condition.{id}"),
            FactKey::Drug(id) => write!(f, "drug.{id}"),
            FactKey::Answer(a) => write!(f, "answer.{}", a.name()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_round_trip() {
        for s in [
            "age",
            "sex",
            "onset-age",
            "lab.ferritin",
            "condition.esrd",
            "drug.ssri",
            "answer.urge",
        ] {
            assert_eq!(FactKey::parse(s).map(|k| k.to_string()), Ok(s.to_owned()));
        }
    }

    #[test]
    fn bad_keys_are_refused_with_a_reason() {
        for s in ["", "lab.", "lab.Ferritin", "blood.ferritin", "answer.nope", "ferritin"] {
            assert!(FactKey::parse(s).is_err(), "{s} should be refused");
        }
    }
}
