//! FHIR R4 input: a Bundle of any type, a single resource, or NDJSON (one resource or Bundle a
//! line), for one person, read into facts.
//!
//! Real exports are sloppy; this reader is lenient where meaning is still clear (a `category`
//! or `doseAndRate` object where a list belongs, a Bundle without `type`: read with a
//! warning) and strict where it is not (entered-in-error, refuted, unconfirmed and cancelled
//! records never count; a resource about a patient other than the one in the input is
//! skipped). Every resource read is tallied as used, irrelevant or skipped with a reason.

pub(crate) mod fast;
mod index;
mod map;
pub use map::youngest_onset;
mod value;

pub use fast::{
    Collected, Collector, FastCondition, FastLab, FastMedication, FastPatient, LoincFilter, Piece,
    PlainPiece, ResourceText, SimpleCondition, SimpleMedication, SimpleOutcome, Slot, next_page,
    read_text, simple_condition, simple_medication_request, simple_observation,
    simple_observation_with, slim_resource,
};

use std::collections::BTreeMap;

use restless_facts::{Date, PatientRecord, Warning};
use restless_kb::Kb;
use serde_json::Value;

use crate::{IngestError, Ingested, Problem};
pub(crate) use index::Index;

/// How every resource read was accounted for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tally {
    /// Resources read, Bundles excluded.
    pub read: usize,
    /// Resources that gave at least one fact.
    pub used: usize,
    /// Resources of a type or code restless does not use.
    pub irrelevant: usize,
    /// Resources of a relevant type not used, by reason (`entered-in-error`, `refuted`...).
    pub skipped: BTreeMap<String, usize>,
}

impl Tally {
    pub(crate) fn skip(&mut self, reason: &str) {
        *self.skipped.entry(reason.to_owned()).or_default() += 1;
    }

    /// Total skipped.
    #[must_use]
    pub fn skipped_total(&self) -> usize {
        self.skipped.values().sum()
    }
}

/// A resource found in the input, with the name used for it in evidence and warnings.
#[derive(Debug, Clone)]
pub(crate) struct Found<'a> {
    pub resource: &'a Value,
    /// `Observation/obs-17`, or `Observation[entry 3]` when it has no id.
    pub name: String,
}

/// Reads a parsed FHIR document (a resource or a Bundle).
///
/// # Errors
/// Only when the document is not a FHIR resource at all.
pub fn read(doc: &Value, kb: &Kb, as_of: Date) -> Result<Ingested, IngestError> {
    read_many(std::slice::from_ref(doc), kb, as_of)
}

/// Reads NDJSON: one FHIR resource or Bundle per line, all about one person.
///
/// # Errors
/// A line that is not JSON (with its line number and column) or not a FHIR resource.
pub fn read_ndjson(text: &str, kb: &Kb, as_of: Date) -> Result<Ingested, IngestError> {
    let mut docs = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let v: Value = serde_json::from_str(line).map_err(|e| IngestError::Syntax {
            line: i + 1,
            column: e.column(),
            message: crate::error::short(&e),
        })?;
        if v.get("resourceType").and_then(Value::as_str).is_none() {
            return Err(IngestError::Invalid(vec![Problem::new(
                format!("line {}", i + 1),
                "a FHIR resource with resourceType",
            )]));
        }
        docs.push(v);
    }
    read_many(&docs, kb, as_of)
}

pub(crate) fn read_many(docs: &[Value], kb: &Kb, as_of: Date) -> Result<Ingested, IngestError> {
    let mut warnings = Vec::new();
    let mut index = Index::default();
    for (i, doc) in docs.iter().enumerate() {
        if doc.get("resourceType").and_then(Value::as_str).is_none() {
            return Err(IngestError::Invalid(vec![Problem::new(
                "/resourceType",
                "a FHIR resource type",
            )]));
        }
        index.add_document(doc, i, &mut warnings);
    }
    let mut record = PatientRecord::default();
    let mut tally = Tally::default();
    map::map_all(&index, kb, as_of, &mut record, &mut tally, &mut warnings);
    warnings.sort();
    warnings.dedup();
    Ok(Ingested { record, warnings, tally: Some(tally) })
}

pub(crate) fn warn(warnings: &mut Vec<Warning>, source: &str, message: impl Into<String>) {
    warnings.push(Warning { source: source.to_owned(), message: message.into() });
}
