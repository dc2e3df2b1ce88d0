//! Input adapters: a person's data in, normalised [`PatientRecord`] facts out.
//!
//! [`read`] detects the format by content (`resourceType` present means FHIR) and hands the
//! document to the matching adapter. Adapters never fail on missing data; they fail only on
//! input that cannot be used at all (malformed JSON, wrong types, impossible values), with an
//! error naming the place. Anything they read but could not use becomes a [`Warning`].

mod error;
pub mod fhir;
pub mod lenient;
pub mod questionnaire;

pub use error::{IngestError, Problem, Warning};

use restless_facts::{Date, PatientRecord};
use restless_kb::Kb;

/// The facts read from one document, and what could not be used.
#[derive(Debug, Clone, PartialEq)]
pub struct Ingested {
    /// The normalised record.
    pub record: PatientRecord,
    /// Things read but not used, each with its place.
    pub warnings: Vec<Warning>,
    /// For FHIR input: how every resource was accounted for.
    pub tally: Option<fhir::Tally>,
}

/// The kinds of document `read` recognises.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// The restless questionnaire JSON.
    Questionnaire,
    /// A FHIR R4 resource or Bundle.
    Fhir,
}

/// Reads one person's data, detecting the format by content.
///
/// `as_of` is the evaluation date: it checks impossible values (a birth date after it) and dates
/// facts the questionnaire reports as current.
///
/// # Errors
/// Malformed JSON (with line and column), a document of neither format, or values that are
/// impossible or of the wrong type (each with its JSON path).
pub fn read(text: &str, kb: &Kb, as_of: Date) -> Result<Ingested, IngestError> {
    match fhir::fast::resource_type(text) {
        // FHIR: read without building a tree of what is not used.
        Ok(Some(_)) => fhir::read_text(text, kb, as_of),
        Ok(None) => {
            let value: serde_json::Value =
                serde_json::from_str(text).map_err(IngestError::from_json)?;
            match detect(&value) {
                Some(Format::Questionnaire) => questionnaire::read(&value, kb, as_of),
                Some(Format::Fhir) => fhir::read(&value, kb, as_of),
                None => Err(IngestError::Invalid(vec![Problem::new(
                    "",
                    "a JSON object: a restless questionnaire or a FHIR resource",
                )])),
            }
        }
        Err(e) => {
            // Several JSON documents, one a line: FHIR NDJSON.
            let first = text.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
            let looks_ndjson = e.is_syntax()
                && e.line() > 1
                && serde_json::from_str::<serde_json::Value>(first)
                    .is_ok_and(|v| v.get("resourceType").is_some());
            if looks_ndjson {
                return fhir::read_ndjson(text, kb, as_of);
            }
            // A document that is not an object (a list, a number) is not a type error of the
            // probe but of the document: report it as such.
            if e.is_data() {
                return Err(IngestError::Invalid(vec![Problem::new(
                    "",
                    "a JSON object: a restless questionnaire or a FHIR resource",
                )]));
            }
            Err(IngestError::from_json(e))
        }
    }
}

/// Which format a parsed document is.
#[must_use]
pub fn detect(value: &serde_json::Value) -> Option<Format> {
    let obj = value.as_object()?;
    if obj.contains_key("resourceType") { Some(Format::Fhir) } else { Some(Format::Questionnaire) }
}
