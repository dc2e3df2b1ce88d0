//! Reading a large FHIR document without building a JSON tree of what restless does not use.
//!
//! A Bundle's entries are first seen as raw JSON text: an entry of a resource type restless
//! does not read, or an Observation carrying none of the LOINC codes it uses (vital signs,
//! most panels), is counted as irrelevant without being parsed. Only the rest becomes a
//! `serde_json::Value` and goes through the ordinary mapper, so the result is the same as
//! parsing everything.

use std::borrow::Cow;

use restless_facts::Date;
use restless_kb::Kb;
use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;

use crate::{IngestError, Ingested};

/// Finds, in raw JSON text, any LOINC code restless uses (as a quoted string).
///
/// A LOINC code is digits, a hyphen and one check digit. The filter looks at each hyphen of the
/// text (found with a vectorised search) that is followed by one digit and a closing quote, and
/// checks the quoted string around it against the codes in use: far fewer places than every
/// quote of a JSON line.
pub struct LoincFilter {
    codes: std::collections::HashSet<Vec<u8>>,
}

impl LoincFilter {
    /// The filter for a knowledge base's analytes and coded answers.
    #[must_use]
    pub fn new(kb: &Kb) -> LoincFilter {
        let t = kb.terminology();
        let mut codes: std::collections::HashSet<Vec<u8>> = t
            .analytes()
            .iter()
            .flat_map(|a| a.loinc.iter().map(|c| c.as_bytes().to_vec()))
            .collect();
        codes.extend(t.coded_loincs().map(|c| c.as_bytes().to_vec()));
        LoincFilter { codes }
    }

    /// Whether the text may hold a relevant Observation (false means it certainly does not).
    #[must_use]
    pub fn relevant(&self, text: &[u8]) -> bool {
        for dash in memchr::memchr_iter(b'-', text) {
            // `"<digits>-<digit>"`
            if text.get(dash + 2) != Some(&b'"')
                || !text.get(dash + 1).is_some_and(u8::is_ascii_digit)
            {
                continue;
            }
            let mut start = dash;
            while start > 0 && text[start - 1].is_ascii_digit() {
                start -= 1;
            }
            if start == dash || start == 0 || text[start - 1] != b'"' {
                continue;
            }
            if self.codes.contains(&text[start..dash + 2]) {
                return true;
            }
        }
        false
    }
}

/// The resource types the mapper reads or follows.
pub(crate) fn is_relevant_type(t: &str) -> bool {
    matches!(
        t,
        "Patient"
            | "Condition"
            | "Observation"
            | "MedicationRequest"
            | "MedicationStatement"
            | "MedicationAdministration"
            | "MedicationDispense"
            | "FamilyMemberHistory"
            | "Medication"
            | "Bundle"
    )
}

#[derive(Deserialize)]
struct Head<'a> {
    #[serde(rename = "resourceType", borrow, default)]
    resource_type: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    id: Option<&'a RawValue>,
    #[serde(rename = "type", borrow, default)]
    kind: Option<&'a RawValue>,
    #[serde(borrow, default)]
    entry: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct Entry<'a> {
    #[serde(rename = "fullUrl", borrow, default)]
    full_url: Option<&'a RawValue>,
    #[serde(borrow, default)]
    resource: Option<&'a RawValue>,
}

#[derive(Deserialize)]
struct TypeOnly<'a> {
    #[serde(rename = "resourceType", borrow, default)]
    resource_type: Option<Cow<'a, str>>,
}

/// The `resourceType` of a JSON document, reading it without building a tree; `Ok(None)` for
/// JSON without one.
///
/// # Errors
/// Malformed JSON, with its line and column.
pub(crate) fn resource_type(text: &str) -> Result<Option<String>, serde_json::Error> {
    if !text.trim_start().starts_with('{') {
        // Not an object (serde would read a list as a struct): the caller parses it in full.
        return Ok(None);
    }
    serde_json::from_str::<TypeOnly<'_>>(text).map(|t| t.resource_type.map(Cow::into_owned))
}

fn raw(v: Option<&RawValue>) -> Option<Value> {
    v.and_then(|r| serde_json::from_str(r.get()).ok())
}

/// Reads FHIR JSON text (a resource or a Bundle), skipping unused Bundle entries unparsed.
///
/// # Errors
/// Malformed JSON (line and column), or JSON that is not a FHIR resource.
pub fn read_text(text: &str, kb: &Kb, as_of: Date) -> Result<Ingested, IngestError> {
    let head: Head<'_> = serde_json::from_str(text).map_err(IngestError::from_json)?;
    let is_bundle = head.resource_type.as_deref() == Some("Bundle");
    let entries: Option<Vec<Entry<'_>>> = match (is_bundle, head.entry) {
        (true, Some(e)) => serde_json::from_str(e.get()).ok(),
        _ => None,
    };
    let Some(entries) = entries else {
        // A single resource, or a Bundle whose entry list is not a list of entries: read whole.
        let doc: Value = serde_json::from_str(text).map_err(IngestError::from_json)?;
        return super::read(&doc, kb, as_of);
    };
    let filter = LoincFilter::new(kb);
    let mut kept = Vec::with_capacity(entries.len());
    let mut irrelevant = 0usize;
    for e in entries {
        let Some(res) = e.resource else {
            continue; // transaction-response entries may carry only a response
        };
        let t: Option<TypeOnly<'_>> = serde_json::from_str(res.get()).ok();
        let rt = t.and_then(|t| t.resource_type);
        let skip = match rt.as_deref() {
            Some("Observation") => !filter.relevant(res.get().as_bytes()),
            Some(t) => !is_relevant_type(t),
            None => false, // let the mapper report it
        };
        if skip {
            irrelevant += 1;
            continue;
        }
        let Ok(resource) = serde_json::from_str::<Value>(res.get()) else { continue };
        let mut entry = serde_json::Map::new();
        if let Some(u) = raw(e.full_url) {
            entry.insert("fullUrl".into(), u);
        }
        entry.insert("resource".into(), resource);
        kept.push(Value::Object(entry));
    }
    let mut slim = serde_json::Map::new();
    slim.insert("resourceType".into(), Value::String("Bundle".into()));
    if let Some(id) = raw(head.id) {
        slim.insert("id".into(), id);
    }
    if let Some(k) = raw(head.kind) {
        slim.insert("type".into(), k);
    }
    slim.insert("entry".into(), Value::Array(kept));
    let mut ing = super::read_many(&[Value::Object(slim)], kb, as_of)?;
    if let Some(t) = ing.tally.as_mut() {
        t.read += irrelevant;
        t.irrelevant += irrelevant;
    }
    Ok(ing)
}

/// Whether the mapper reads a top-level field of a resource.
fn kept_field(key: &str) -> bool {
    const EXACT: &[&str] = &[
        "resourceType",
        "id",
        "status",
        "intent",
        "code",
        "subject",
        "patient",
        "clinicalStatus",
        "verificationStatus",
        "issued",
        "component",
        "dataAbsentReason",
        "authoredOn",
        "dispenseRequest",
        "whenHandedOver",
        "whenPrepared",
        "daysSupply",
        "relationship",
        "condition",
        "contained",
        "birthDate",
        "gender",
        "category",
        "ingredient",
    ];
    const PREFIXES: &[&str] =
        &["onset", "abatement", "effective", "value", "medication", "deceased"];
    EXACT.contains(&key) || PREFIXES.iter().any(|p| key.starts_with(p))
}

struct Slim;

impl<'de> serde::de::DeserializeSeed<'de> for Slim {
    type Value = Value;

    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> serde::de::Visitor<'de> for Slim {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a FHIR resource (a JSON object)")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut out = serde_json::Map::new();
        while let Some(key) = map.next_key::<Cow<'de, str>>()? {
            if kept_field(&key) {
                let v: Value = map.next_value()?;
                out.insert(key.into_owned(), v);
            } else {
                map.next_value::<serde::de::IgnoredAny>()?;
            }
        }
        Ok(Value::Object(out))
    }
}

/// Parses one resource keeping only the top-level fields the mapper reads, skipping the rest
/// (narrative, encounter, dosage instructions...) without building it. Mapping the result
/// gives the same facts as mapping the whole resource; only the lenient-shape warning about
/// `doseAndRate` is not raised, since dosage is not read.
///
/// # Errors
/// Malformed JSON, or JSON that is not an object.
pub fn slim_resource(text: &[u8]) -> Result<Value, serde_json::Error> {
    let mut de = serde_json::Deserializer::from_slice(text);
    let v = serde::de::DeserializeSeed::deserialize(Slim, &mut de)?;
    de.end()?;
    Ok(v)
}
