//! Reading a large FHIR document without building a JSON tree of what restless does not use.
//!
//! A Bundle's entries are first seen as raw JSON text: an entry of a resource type restless
//! does not read, or an Observation carrying none of the LOINC codes it uses (vital signs,
//! most panels), is counted as irrelevant without being parsed. Only the rest becomes a
//! `serde_json::Value` and goes through the ordinary mapper, so the result is the same as
//! parsing everything.

use std::borrow::Cow;
use std::fmt::Write as _;

use restless_facts::Date;
use restless_kb::Kb;
use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;

use crate::lenient::{Lenient, Shape, Str, borrowed_str};
use crate::{IngestError, Ingested};

/// Finds, in raw JSON text, any LOINC code restless uses (as a quoted string).
///
/// The filter reads the string value of every `"code"` key (found with a vectorised search)
/// and checks it against the codes in use: a handful of places per line.
pub struct LoincFilter {
    codes: std::collections::HashSet<Vec<u8>, foldhash::fast::RandomState>,
}

impl LoincFilter {
    /// The filter for a knowledge base's analytes and coded answers.
    #[must_use]
    pub fn new(kb: &Kb) -> LoincFilter {
        let t = kb.terminology();
        let mut codes: std::collections::HashSet<Vec<u8>, foldhash::fast::RandomState> = t
            .analytes()
            .iter()
            .flat_map(|a| a.loinc.iter().map(|c| c.as_bytes().to_vec()))
            .collect();
        codes.extend(t.coded_loincs().map(|c| c.as_bytes().to_vec()));
        LoincFilter { codes }
    }

    /// Whether the text may hold a relevant Observation (false means it certainly does not).
    ///
    /// Looks at the value of every `"code"` key (a coding's code, a unit code, a category
    /// code): a LOINC code of the knowledge base there means the Observation may matter.
    #[must_use]
    pub fn relevant(&self, text: &[u8]) -> bool {
        static KEY: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
            std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"\"code\""));
        for at in KEY.find_iter(text) {
            let mut i = at + 6;
            while text.get(i).is_some_and(|b| b.is_ascii_whitespace()) {
                i += 1;
            }
            if text.get(i) != Some(&b':') {
                continue;
            }
            i += 1;
            while text.get(i).is_some_and(|b| b.is_ascii_whitespace()) {
                i += 1;
            }
            if text.get(i) != Some(&b'"') {
                continue;
            }
            let start = i + 1;
            let Some(len) = text.get(start..).and_then(|rest| memchr::memchr(b'"', rest)) else {
                continue;
            };
            if self.codes.contains(&text[start..start + len]) {
                return true;
            }
        }
        false
    }
}

/// The resource types the mapper reads or follows: those that give facts, the Patient,
/// Medications (followed from orders) and Bundles (opened).
pub(crate) fn is_relevant_type(t: &str) -> bool {
    super::map::gives_facts(t) || matches!(t, "Patient" | "Medication" | "Bundle")
}

#[derive(Deserialize)]
struct Head<'a> {
    #[serde(rename = "resourceType", borrow, default, deserialize_with = "borrowed_str")]
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
    #[serde(rename = "resourceType", borrow, default, deserialize_with = "borrowed_str")]
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

/// How a [`Collector`] went through the FHIR JSON text given to it.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Collected {
    /// Resources seen, relevant or not.
    pub read: usize,
    /// Resources of a type, or Observations with codes, that restless does not use: skipped
    /// unparsed; and lab Observations the typed path found without a usable value.
    pub irrelevant: usize,
    /// Lab Observations the typed path set aside for their status (entered in error,
    /// cancelled, no result yet, dated after the as-of date).
    pub skipped: usize,
    /// Oddities of shape, one line each, naming JSON paths below the `path` given (never
    /// values).
    pub notes: Vec<String>,
}

/// A lab result read by the typed fast path, with what is needed to check, or redo, it.
#[derive(Debug, Clone)]
pub struct FastLab<'t> {
    /// The Observation's `subject.reference`, as written.
    pub subject: Option<String>,
    /// The result, named `Observation/{id}` as the general reader names it.
    pub lab: restless_facts::LabResult,
    /// The resource's text, for the general reader when the subject must be judged by it.
    pub text: ResourceText<'t>,
}

/// A MedicationRequest read by the typed fast path.
#[derive(Debug, Clone)]
pub struct FastMedication<'t> {
    /// The order's `subject.reference` (else `patient.reference`), as written.
    pub subject: Option<String>,
    /// The medication, named `MedicationRequest/{id}`; `None` when the general reader would
    /// skip the order (it still puts a medication list on record).
    pub fact: Option<restless_facts::MedicationFact>,
    /// The resource's text, for the general reader when the subject must be judged by it.
    pub text: ResourceText<'t>,
}

/// A Condition read by the typed fast path: a problem list on record, and the condition when
/// it names a condition set.
#[derive(Debug, Clone)]
pub struct FastCondition<'t> {
    /// The condition's `subject.reference` (else `patient.reference`), as written.
    pub subject: Option<String>,
    /// The condition, named `Condition/{id}`; `None` when the general reader would skip it or
    /// call it irrelevant.
    pub fact: Option<restless_facts::ConditionFact>,
    /// The resource's text, for the general reader when the subject must be judged by it.
    pub text: ResourceText<'t>,
    /// Where the general reader would have had it (a restless legs condition goes back there
    /// unless the whole input was read typed).
    pub at: Slot,
}

/// A Patient read by the typed fast path: what the general reader takes from it. Its caller
/// uses it only when nothing else goes to the general reader (which alone judges several
/// patients, and the onset of restless legs against the birth date); else the Patient goes
/// back to the general reader at [`FastPatient::at`].
#[derive(Debug, Clone)]
pub struct FastPatient<'t> {
    /// The Patient's id.
    pub id: String,
    /// `birthDate` when readable and not after as-of.
    pub birth_date: Option<Date>,
    /// `gender` as the general reader reads it.
    pub sex: Option<restless_facts::Sex>,
    /// The resource's text, for the general reader.
    pub text: ResourceText<'t>,
    /// Where the general reader would have had it.
    pub at: Slot,
}

/// Where a resource read typed would have stood among [`Collector::resources`]: before the
/// resource then at `index`, after the typed ones met before it there (`seq` counts them).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Slot {
    /// The length of [`Collector::resources`] when the resource was met.
    pub index: usize,
    /// The order in which resources read typed were met.
    pub seq: usize,
}

/// Gathers the resources restless may use from pieces of FHIR JSON text (each a Bundle, a
/// resource, or a list of either): irrelevant types and Observations without a LOINC code in
/// use are counted and never parsed; the rest are parsed slim (only the fields the mapper
/// reads) into [`Collector::resources`] — or, with [`Collector::typed`], plain lab
/// Observations, MedicationRequests coded by a concept, Conditions and Patients are read
/// straight into [`Collector::labs`], [`Collector::medications`], [`Collector::conditions`] and
/// [`Collector::patients`] without a tree. Lenient: a shape that cannot be read is noted (by JSON path, never by
/// value) and skipped.
pub struct Collector<'t> {
    filter: &'t LoincFilter,
    typed: Option<(&'t Kb, Date)>,
    /// Resources parsed slim.
    pub resources: Vec<Value>,
    /// Lab results read by the typed path.
    pub labs: Vec<FastLab<'t>>,
    /// MedicationRequests read by the typed path.
    pub medications: Vec<FastMedication<'t>>,
    /// Conditions read by the typed path.
    pub conditions: Vec<FastCondition<'t>>,
    /// Patients read by the typed path.
    pub patients: Vec<FastPatient<'t>>,
    /// Counts and notes.
    pub stats: Collected,
    /// Resources read typed so far, for [`Slot::seq`].
    seq: usize,
}

impl<'t> Collector<'t> {
    /// A collector that parses every relevant resource slim.
    #[must_use]
    pub fn new(filter: &'t LoincFilter) -> Collector<'t> {
        Collector {
            filter,
            typed: None,
            resources: Vec::new(),
            labs: Vec::new(),
            medications: Vec::new(),
            conditions: Vec::new(),
            patients: Vec::new(),
            stats: Collected::default(),
            seq: 0,
        }
    }

    /// Reads plain lab Observations (one coded value with a unit, dated, with an id),
    /// MedicationRequests coded by a concept (with an id) and Conditions with the typed fast
    /// paths of `screen` instead, and Patients without `deceased[x]`; the caller must then judge
    /// each one's subject as the general reader would (see [`FastLab::subject`]), and give the
    /// Patients and the restless legs conditions back to the general reader unless it needs
    /// nothing else (see [`FastPatient`]).
    #[must_use]
    pub fn typed(mut self, kb: &'t Kb, as_of: Date) -> Collector<'t> {
        self.typed = Some((kb, as_of));
        self
    }

    /// Adds a piece of FHIR JSON already split while the document around it was read (see
    /// [`Piece`]); `source` is that document's text, `path` names the piece in notes. The same
    /// as [`Collector::add`] on the piece's text.
    ///
    /// # Errors
    /// A resource's text is not JSON (it always is when the piece was read from JSON), or a
    /// resource read early cannot be found in `source` (it always can when the piece was read
    /// from `source`).
    pub fn add_piece(
        &mut self,
        piece: &'t Piece<'t>,
        source: &'t str,
        path: &str,
    ) -> Result<(), serde_json::Error> {
        match &piece.0 {
            PieceKind::Null => Ok(()),
            PieceKind::Bundle { entries, .. } => self.text_entries(entries, At::Root(path)),
            PieceKind::EarlyBundle { entries, .. } => {
                self.early_entries(entries, source, At::Root(path))
            }
            PieceKind::Object(text) => self.one(text, At::Root(path), true),
            PieceKind::Array(items) => self.items(items, path),
            PieceKind::Other => {
                self.not_fhir(path);
                Ok(())
            }
        }
    }

    /// Adds one piece of text; `path` names it in notes.
    ///
    /// # Errors
    /// The text is not JSON at all.
    pub fn add(&mut self, text: &'t str, path: &str) -> Result<(), serde_json::Error> {
        let trimmed = text.trim_start();
        if trimmed.starts_with('[') {
            let items: Vec<&RawValue> = serde_json::from_str(text)?;
            self.items(&items, path)?;
        } else if trimmed.starts_with('{') {
            self.one(text, At::Root(path), true)?;
        } else if trimmed != "null" {
            // Validates the text, so that only JSON reaches here.
            serde_json::from_str::<serde::de::IgnoredAny>(text)?;
            self.not_fhir(path);
        }
        Ok(())
    }

    /// A list where a Bundle was expected: each item read as a resource or Bundle.
    fn items(&mut self, items: &[&'t RawValue], path: &str) -> Result<(), serde_json::Error> {
        self.stats
            .notes
            .push(format!("{path}: an array where a Bundle was expected; read as resources"));
        for (i, item) in items.iter().enumerate() {
            self.one(item.get(), At::Item(&At::Root(path), i), true)?;
        }
        Ok(())
    }

    fn not_fhir(&mut self, path: &str) {
        self.stats.notes.push(format!("{path}: neither a resource nor a Bundle; ignored"));
    }

    fn one(
        &mut self,
        text: &'t str,
        path: At<'_>,
        open_bundle: bool,
    ) -> Result<(), serde_json::Error> {
        let c = &mut self.stats;
        if !text.trim_start().starts_with('{') {
            c.notes.push(format!("{path}: not a JSON object; ignored"));
            return Ok(());
        }
        let kind = match peek_type(text) {
            Some(t) => Some(Cow::Borrowed(t)),
            None => match serde_json::from_str::<TypeOnly<'_>>(text) {
                Ok(t) => t.resource_type,
                Err(e) if e.is_data() => {
                    c.notes.push(format!("{path}: not a FHIR resource; ignored"));
                    return Ok(());
                }
                Err(e) => return Err(e),
            },
        };
        match kind.as_deref() {
            None => c.notes.push(format!("{path}: an object without resourceType; ignored")),
            Some("Bundle") if open_bundle => {
                let bundle: BundleEntries<'t> = serde_json::from_str(text)?;
                self.text_entries(&bundle.entry, path)?;
            }
            Some(t) => {
                c.read += 1;
                let relevant = match t {
                    "Observation" => self.filter.relevant(text.as_bytes()),
                    "Bundle" => false,
                    t => is_relevant_type(t),
                };
                if !relevant {
                    c.irrelevant += 1;
                    return Ok(());
                }
                if let Some((kb, as_of)) = self.typed
                    && let Some(read) = parse_typed(t, text)
                    && self.take_typed(&read, ResourceText(TextAt::Text(text)), kb, as_of)
                {
                    return Ok(());
                }
                self.slim(text, path)?;
            }
        }
        Ok(())
    }

    /// Keeps what a typed path makes of a parsed resource, with its text (`text`) for the
    /// general reader should its subject need judging; `false` when the resource is the
    /// general reader's.
    fn take_typed(
        &mut self,
        read: &Early<'t>,
        text: ResourceText<'t>,
        kb: &Kb,
        as_of: Date,
    ) -> bool {
        match read {
            Early::Observation(o) => match observation_outcome(o, kb, as_of, true) {
                Some((subject, SimpleOutcome::Lab(lab))) if !lab.source.source.is_empty() => {
                    let subject = subject.map(Cow::into_owned);
                    self.labs.push(FastLab { subject, lab, text });
                }
                // Nothing usable whoever it is about (a status that never counts, no value, a
                // unit restless does not read).
                Some((_, SimpleOutcome::Skipped(_))) => self.stats.skipped += 1,
                Some((_, SimpleOutcome::Irrelevant(_))) => self.stats.irrelevant += 1,
                // No id (the general reader names it), a coded answer (the general reader
                // keeps the latest of several), or not a plain lab.
                _ => return false,
            },
            Early::Condition(c) => {
                let Some((subject, outcome)) = condition_outcome(c, kb, as_of, true) else {
                    return false;
                };
                let fact = match outcome {
                    SimpleCondition::Used(c) => Some(c),
                    SimpleCondition::Skipped(_) | SimpleCondition::Irrelevant(_) => None,
                };
                let subject = subject.map(Cow::into_owned);
                let at = self.slot();
                self.conditions.push(FastCondition { subject, fact, text, at });
            }
            Early::Patient(p) => {
                let Some((id, birth_date, sex)) = patient_outcome(p, as_of) else {
                    return false;
                };
                let at = self.slot();
                self.patients.push(FastPatient { id, birth_date, sex, text, at });
            }
            Early::MedicationRequest(m) => {
                let Some((subject, outcome)) = medication_outcome(m, kb) else {
                    return false;
                };
                let fact = match outcome {
                    SimpleMedication::Used(m) => Some(m),
                    SimpleMedication::Skipped(..) => None,
                };
                // Without an id the general reader names it by its place: leave it to it.
                if fact.as_ref().is_some_and(|m| m.source.source.is_empty()) {
                    return false;
                }
                let subject = subject.map(Cow::into_owned);
                self.medications.push(FastMedication { subject, fact, text });
            }
            Early::Later(_) => return false,
        }
        true
    }

    /// Where the resource being read typed would stand among the general reader's.
    fn slot(&mut self) -> Slot {
        self.seq += 1;
        Slot { index: self.resources.len(), seq: self.seq }
    }

    /// Whether `one` would read this Observation, from its `code.coding` alone: a LOINC code
    /// in use written there (without escapes) is in its text too. `false` means "not sure".
    fn surely_relevant(&self, o: &SimpleObs<'_>) -> bool {
        let codings = o.code.as_ref().and_then(|c| c.coding.as_deref()).unwrap_or_default();
        codings.iter().any(|c| {
            matches!(&c.code, Some(Cow::Borrowed(code)) if self.filter.codes.contains(code.as_bytes()))
        })
    }

    /// A relevant resource for the general reader, parsed slim.
    fn slim(&mut self, text: &str, path: At<'_>) -> Result<(), serde_json::Error> {
        match slim_resource(text.as_bytes()) {
            Ok(v) => self.resources.push(v),
            Err(e) if e.is_data() => {
                self.stats.notes.push(format!("{path}: not readable; skipped"));
            }
            Err(e) => return Err(e),
        }
        Ok(())
    }

    /// The resources of a Bundle read by [`Piece`], as [`Collector::text_entries`] reads them
    /// from text.
    fn early_entries(
        &mut self,
        entry: &'t Shape<EarlyEntries<'t>>,
        source: &'t str,
        path: At<'_>,
    ) -> Result<(), serde_json::Error> {
        // Each resource's text ends before a later entry's resource begins (entries follow one
        // another in the document): where the next one does, for the entry at `i`.
        let next_start = |i: usize| match entry {
            Shape::Is(Entries(entries)) => entries.get(i + 1..)?.iter().find_map(|e| match e {
                Shape::Is(EntryResource(Some(EarlyValue::Resource(r)))) => {
                    offset_in(source, r.first_key)
                }
                _ => None,
            }),
            _ => None,
        };
        self.entries(entry, path, |c, resource, at| match resource {
            EarlyValue::Resource(r) => {
                let bound = match at {
                    At::EntryResource(_, i) => next_start(i),
                    _ => None,
                };
                c.early(r, source, bound, at).map(|()| true)
            }
            EarlyValue::Empty => c.one("{}", at, false).map(|()| true),
            EarlyValue::NotObject => Ok(false),
        })
    }

    /// Whether no code in use is written in `source` from `from` (a slice of it) up to `bound`
    /// (a byte offset), where a resource's text lies: then [`LoincFilter::relevant`] says no
    /// to that text too.
    fn none_between(&self, source: &str, from: &str, bound: usize) -> bool {
        offset_in(source, from)
            .and_then(|start| source.as_bytes().get(start..bound))
            .is_some_and(|span| !self.filter.relevant(span))
    }

    /// One resource met in the document's own pass: what [`Collector::one`] does with its
    /// text, without parsing it again when a typed path read it.
    ///
    /// `bound`, when known, is where in `source` the resource's text ends at the latest.
    fn early(
        &mut self,
        r: &'t EarlyResource<'t>,
        source: &'t str,
        bound: Option<usize>,
        path: At<'_>,
    ) -> Result<(), serde_json::Error> {
        let lazy = ResourceText(TextAt::Key { source, first_key: r.first_key });
        let text = || {
            lazy.get().ok_or_else(|| {
                serde::de::Error::custom("a resource could not be found again in its document")
            })
        };
        let Some((kb, as_of)) = self.typed else {
            return self.one(text()?, path, false);
        };
        match &r.read {
            // As `one`: a type restless does not read is counted without its text.
            Early::Later(Some(t)) if *t == "Bundle" || !is_relevant_type(t) => {
                self.stats.read += 1;
                self.stats.irrelevant += 1;
                return Ok(());
            }
            Early::Later(_) => return self.one(text()?, path, false),
            // As `one`: an Observation is read only when a LOINC code in use is written in it;
            // unless its codings settle that, the document is searched from where its text
            // begins to where the next resource begins (no need to find where it ends), else
            // its text.
            Early::Observation(o) if !self.surely_relevant(o) => {
                if bound.is_some_and(|b| self.none_between(source, r.first_key, b)) {
                    self.stats.read += 1;
                    self.stats.irrelevant += 1;
                    return Ok(());
                }
                return self.one(text()?, path, false);
            }
            read => {
                self.stats.read += 1;
                if self.take_typed(read, lazy, kb, as_of) {
                    return Ok(());
                }
            }
        }
        self.slim(text()?, path)
    }

    /// The resources of a Bundle's entries, as text.
    fn text_entries(
        &mut self,
        entry: &Shape<TextEntries<'t>>,
        path: At<'_>,
    ) -> Result<(), serde_json::Error> {
        self.entries(entry, path, |c, r, at| {
            let text: &'t str = r.get();
            if !text.starts_with('{') {
                return Ok(false);
            }
            c.one(text, at, false).map(|()| true)
        })
    }

    /// The resources of a Bundle's entries, each given to `read`, which says whether it was a
    /// resource object; entries without one are noted.
    fn entries<'e, R>(
        &mut self,
        entry: &'e Shape<Entries<R>>,
        path: At<'_>,
        mut read: impl FnMut(&mut Self, &'e R, At<'_>) -> Result<bool, serde_json::Error>,
    ) -> Result<(), serde_json::Error> {
        match entry {
            Shape::Absent => {}
            Shape::Other => self.stats.notes.push(format!("{path}/entry: not an array; ignored")),
            Shape::Is(Entries(entries)) => {
                for (i, e) in entries.iter().enumerate() {
                    let done = match e {
                        Shape::Is(EntryResource(Some(r))) => {
                            read(self, r, At::EntryResource(&path, i))?
                        }
                        _ => false,
                    };
                    if !done {
                        self.stats
                            .notes
                            .push(format!("{path}/entry/{i}: no resource object; skipped"));
                    }
                }
            }
        }
        Ok(())
    }
}

/// The JSON path of a resource, written out only when a note names it.
#[derive(Clone, Copy)]
enum At<'p> {
    /// Given by the caller.
    Root(&'p str),
    /// An item of a list.
    Item(&'p At<'p>, usize),
    /// The resource of a Bundle's entry.
    EntryResource(&'p At<'p>, usize),
}

impl std::fmt::Display for At<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            At::Root(p) => f.write_str(p),
            At::Item(p, i) => write!(f, "{p}/{i}"),
            At::EntryResource(p, i) => write!(f, "{p}/entry/{i}/resource"),
        }
    }
}

/// A piece of FHIR JSON — a Bundle, a resource, or a list of them — split into its resources
/// while the document around it is read. Deserialize it from the document's text where a
/// `&RawValue` would be, and hand it with that text to [`Collector::add_piece`], which reads it
/// as [`Collector::add`] reads the piece's own text.
///
/// A Bundle is opened when its `resourceType` comes first, as FHIR servers write it (its first
/// `entry` and `link` are used, as `Collector::add` uses them, but a repeated `entry` is not
/// an error here). Its entries' Observations, Conditions and MedicationRequests written with
/// `resourceType` first are parsed by the typed paths in the same pass, so that their text is
/// read once; other resources are skipped and read later from the document's text, found
/// again from where their first key lies. Any other object is kept as text, rebuilt from its
/// members in their order when it had to be opened.
///
/// Reading fails on what a typed path cannot take (see [`PlainPiece`], which takes any JSON).
#[derive(Debug)]
pub struct Piece<'a>(PieceKind<'a>);

#[derive(Debug)]
enum PieceKind<'a> {
    Null,
    Bundle {
        entries: Shape<TextEntries<'a>>,
        link: Option<&'a RawValue>,
    },
    /// A Bundle whose entries' resources were read in the same pass (see [`EarlyResource`]).
    EarlyBundle {
        entries: Shape<EarlyEntries<'a>>,
        link: Option<&'a RawValue>,
    },
    Object(Cow<'a, str>),
    Array(Vec<&'a RawValue>),
    Other,
}

impl Piece<'_> {
    /// Whether the value was `null` (for CDS Hooks prefetch: "could not be prefetched").
    #[must_use]
    pub fn is_null(&self) -> bool {
        matches!(self.0, PieceKind::Null)
    }

    /// The text of an object that is not an opened Bundle (rebuilt when it had to be opened).
    #[must_use]
    pub fn object_text(&self) -> Option<&str> {
        match &self.0 {
            PieceKind::Object(text) => Some(text),
            _ => None,
        }
    }

    /// The URL of the `next` page of a Bundle (a search result with more pages).
    #[must_use]
    pub fn next_link(&self) -> Option<String> {
        #[derive(Deserialize)]
        struct Head {
            #[serde(rename = "resourceType", default)]
            kind: Option<Value>,
            #[serde(default)]
            link: Option<Value>,
        }
        let links = match &self.0 {
            PieceKind::Bundle { link, .. } | PieceKind::EarlyBundle { link, .. } => {
                serde_json::from_str::<Value>((*link)?.get()).ok()?
            }
            PieceKind::Object(text) => match serde_json::from_str::<Head>(text).ok()? {
                Head { kind: Some(Value::String(k)), link: Some(link) } if k == "Bundle" => link,
                _ => return None,
            },
            _ => return None,
        };
        next_page(&links)
    }
}

/// The URL of the `next` link in a Bundle's `link` list (a search result with more pages).
#[must_use]
pub fn next_page(links: &Value) -> Option<String> {
    links.as_array()?.iter().find_map(|l| {
        (l.get("relation").and_then(Value::as_str) == Some("next"))
            .then(|| l.get("url").and_then(Value::as_str).map(str::to_owned))
            .flatten()
    })
}

impl<'de: 'a, 'a> Deserialize<'de> for Piece<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(PieceVisitor { early: true, life: std::marker::PhantomData })
    }
}

/// A [`Piece`] read without parsing any resource in the same pass: a Bundle's entries are kept
/// as text. Reading a [`Piece`] fails when a resource it parses early has a shape its typed
/// path does not take (a number where a string is expected, a field written twice) or a first
/// key written with escapes; a `PlainPiece` takes any JSON, so read the document again with it
/// then.
#[derive(Debug)]
pub struct PlainPiece<'a>(pub Piece<'a>);

impl<'de: 'a, 'a> Deserialize<'de> for PlainPiece<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(PieceVisitor { early: false, life: std::marker::PhantomData })
            .map(PlainPiece)
    }
}

struct PieceVisitor<'a> {
    /// Whether a Bundle's entries are parsed by the typed paths in the same pass.
    early: bool,
    life: std::marker::PhantomData<&'a ()>,
}

impl<'de: 'a, 'a> serde::de::Visitor<'de> for PieceVisitor<'a> {
    type Value = Piece<'a>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Piece<'a>, A::Error> {
        let Some(first) = map.next_key::<Str<'de>>()? else {
            return Ok(Piece(PieceKind::Object(Cow::Borrowed("{}"))));
        };
        let value = map.next_value::<&'a RawValue>()?;
        if &*first == "resourceType" && value.get() == "\"Bundle\"" {
            return Ok(Piece(if self.early {
                let (entries, link) = bundle_members::<EarlyValue<'a>, A>(map)?;
                PieceKind::EarlyBundle { entries, link }
            } else {
                let (entries, link) = bundle_members::<&'a RawValue, A>(map)?;
                PieceKind::Bundle { entries, link }
            }));
        }
        let mut text = String::from("{");
        let mut member = |k: &str, v: &RawValue| -> Result<(), A::Error> {
            if text.len() > 1 {
                text.push(',');
            }
            let key = serde_json::to_string(k).map_err(serde::de::Error::custom)?;
            text.push_str(&key);
            text.push(':');
            text.push_str(v.get());
            Ok(())
        };
        member(&first, value)?;
        while let Some((k, v)) = map.next_entry::<Str<'de>, &'a RawValue>()? {
            member(&k, v)?;
        }
        text.push('}');
        Ok(Piece(PieceKind::Object(Cow::Owned(text))))
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Piece<'a>, A::Error> {
        let mut items = Vec::new();
        while let Some(item) = seq.next_element::<&'a RawValue>()? {
            items.push(item);
        }
        Ok(Piece(PieceKind::Array(items)))
    }

    fn visit_unit<E>(self) -> Result<Piece<'a>, E> {
        Ok(Piece(PieceKind::Null))
    }

    fn visit_none<E>(self) -> Result<Piece<'a>, E> {
        Ok(Piece(PieceKind::Null))
    }

    fn visit_bool<E>(self, _: bool) -> Result<Piece<'a>, E> {
        Ok(Piece(PieceKind::Other))
    }

    fn visit_i64<E>(self, _: i64) -> Result<Piece<'a>, E> {
        Ok(Piece(PieceKind::Other))
    }

    fn visit_u64<E>(self, _: u64) -> Result<Piece<'a>, E> {
        Ok(Piece(PieceKind::Other))
    }

    fn visit_f64<E>(self, _: f64) -> Result<Piece<'a>, E> {
        Ok(Piece(PieceKind::Other))
    }

    fn visit_str<E>(self, _: &str) -> Result<Piece<'a>, E> {
        Ok(Piece(PieceKind::Other))
    }
}

/// The rest of an opened Bundle: its first `entry` (each resource read as `R`) and `link`.
type BundleMembers<'a, R> = (Shape<Entries<R>>, Option<&'a RawValue>);

fn bundle_members<'de: 'a, 'a, R: Deserialize<'de>, A: serde::de::MapAccess<'de>>(
    mut map: A,
) -> Result<BundleMembers<'a, R>, A::Error> {
    let (mut entries, mut link) = (None, None);
    while let Some(key) = map.next_key::<Str<'de>>()? {
        if &*key == "entry" && entries.is_none() {
            entries = Some(map.next_value::<Shape<Entries<R>>>()?);
        } else if &*key == "link" && link.is_none() {
            link = Some(map.next_value::<&'a RawValue>()?);
        } else {
            map.next_value::<serde::de::IgnoredAny>()?;
        }
    }
    Ok((entries.unwrap_or_default(), link))
}

/// The resource type of a resource written the usual way, with `resourceType` first and
/// without escapes; `None` otherwise (the caller then parses).
fn peek_type(text: &str) -> Option<&str> {
    let rest = text.trim_start().strip_prefix('{')?.trim_start();
    let rest = rest.strip_prefix("\"resourceType\"")?.trim_start();
    let rest = rest.strip_prefix(':')?.trim_start().strip_prefix('"')?;
    let end = rest.find(['"', '\\'])?;
    (rest.as_bytes().get(end) == Some(&b'"')).then(|| &rest[..end])
}

/// A Bundle's entries, read in one pass without parsing the resources.
#[derive(Deserialize)]
struct BundleEntries<'a> {
    #[serde(borrow, default)]
    entry: Shape<TextEntries<'a>>,
}

/// The entries of a Bundle: each one's `resource`, when the entry is an object that has one,
/// read as `R`: its text ([`TextEntries`]) or what the document's own pass made of it
/// ([`EarlyEntries`]).
#[derive(Debug)]
struct Entries<R>(Vec<Shape<EntryResource<R>>>);

/// One entry's `resource`.
#[derive(Debug)]
struct EntryResource<R>(Option<R>);

/// A Bundle's entries, each resource as text.
type TextEntries<'a> = Entries<&'a RawValue>;

/// A Bundle's entries read by [`Piece`]: each resource read in the same pass.
type EarlyEntries<'a> = Entries<EarlyValue<'a>>;

impl<'de, R: Deserialize<'de>> Lenient<'de> for Entries<R> {
    fn from_seq<A: serde::de::SeqAccess<'de>>(mut seq: A) -> Result<Option<Self>, A::Error> {
        let mut list = Vec::with_capacity(seq.size_hint().unwrap_or(0));
        while let Some(e) = seq.next_element::<Shape<EntryResource<R>>>()? {
            list.push(e);
        }
        Ok(Some(Entries(list)))
    }
}

impl<'de, R: Deserialize<'de>> Lenient<'de> for EntryResource<R> {
    fn from_map<A: serde::de::MapAccess<'de>>(mut map: A) -> Result<Option<Self>, A::Error> {
        let mut resource = None;
        while let Some(k) = map.next_key::<Str<'de>>()? {
            if &*k == "resource" {
                resource = Some(map.next_value::<R>()?);
            } else {
                map.next_value::<serde::de::IgnoredAny>()?;
            }
        }
        Ok(Some(EntryResource(resource)))
    }
}

/// An entry's `resource` as the document's own pass left it.
#[derive(Debug)]
enum EarlyValue<'a> {
    /// An object with at least one member.
    Resource(EarlyResource<'a>),
    /// `{}`.
    Empty,
    /// Not an object.
    NotObject,
}

/// A resource met in the document's own pass. Observations, Conditions and MedicationRequests
/// written with `resourceType` first are parsed there by their typed paths; anything else is
/// skipped. Either way the resource's text can be found again in the document from where its
/// first key is ([`object_at`]), for the general reader.
#[derive(Debug)]
struct EarlyResource<'a> {
    /// The resource's first key, as written in the document (without escapes).
    first_key: &'a str,
    read: Early<'a>,
}

/// What the document's own pass made of a resource. (The parsed forms are boxed: they are
/// large, and moving them up through the lenient wrappers cost more than the allocation.)
#[derive(Debug)]
enum Early<'a> {
    Observation(Box<SimpleObs<'a>>),
    Condition(Box<ConditionLine<'a>>),
    MedicationRequest(Box<SimpleRequest<'a>>),
    /// Only from a resource's text (see `parse_typed`).
    Patient(Box<PatientLine<'a>>),
    /// Skipped, to be read from its text; with its type when written first as a plain string.
    Later(Option<&'a str>),
}

impl<'de: 'a, 'a> Deserialize<'de> for EarlyValue<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(EarlyVisitor(std::marker::PhantomData))
    }
}

struct EarlyVisitor<'a>(std::marker::PhantomData<&'a ()>);

impl<'de: 'a, 'a> serde::de::Visitor<'de> for EarlyVisitor<'a> {
    type Value = EarlyValue<'a>;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        use serde::de::value::MapAccessDeserializer;
        let Some(Str(first)) = map.next_key::<Str<'de>>()? else {
            return Ok(EarlyValue::Empty);
        };
        // Only a key borrowed from the document says where the resource is.
        let Cow::Borrowed(first_key) = first else {
            return Err(serde::de::Error::custom("a resource's first key is written with escapes"));
        };
        if first_key.is_empty() {
            return Err(serde::de::Error::custom("a resource's first key is empty"));
        }
        let kind = if first_key == "resourceType" {
            let value = map.next_value::<&'de RawValue>()?.get();
            value.strip_prefix('"').and_then(|v| v.strip_suffix('"'))
        } else {
            map.next_value::<serde::de::IgnoredAny>()?;
            None
        };
        let read = match kind {
            Some("Observation") => Early::Observation(Box::new(SimpleObs::deserialize(
                MapAccessDeserializer::new(map),
            )?)),
            Some("Condition") => Early::Condition(Box::new(ConditionLine::deserialize(
                MapAccessDeserializer::new(map),
            )?)),
            Some("MedicationRequest") => Early::MedicationRequest(Box::new(
                SimpleRequest::deserialize(MapAccessDeserializer::new(map))?,
            )),
            kind => {
                while map.next_entry::<serde::de::IgnoredAny, serde::de::IgnoredAny>()?.is_some() {}
                Early::Later(kind.filter(|k| !k.contains('\\')))
            }
        };
        Ok(EarlyValue::Resource(EarlyResource { first_key, read }))
    }

    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
        Ok(EarlyValue::NotObject)
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(EarlyValue::NotObject)
    }

    fn visit_none<E>(self) -> Result<Self::Value, E> {
        Ok(EarlyValue::NotObject)
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(EarlyValue::NotObject)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(EarlyValue::NotObject)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(EarlyValue::NotObject)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(EarlyValue::NotObject)
    }

    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(EarlyValue::NotObject)
    }
}

/// The text of the JSON object of `source` whose first key is `first_key`, a slice of
/// `source` (the key as written, between its quotes); `None` when it is not.
///
/// `source` is a document already parsed whole (the pass that met the key), so it is valid
/// JSON and the object ends where its braces balance outside strings: found by jumping from
/// one quote or brace to the next, without tokenising again.
fn object_at<'t>(source: &'t str, first_key: &str) -> Option<&'t str> {
    // Where the key lies in the source (the slice came from it; checked, not assumed).
    let offset = offset_in(source, first_key)?;
    // Before the key's opening quote: only whitespace back to the object's `{`.
    let open = source.get(..offset)?.strip_suffix('"')?.trim_end().strip_suffix('{')?.len();
    let end = open + object_len(source.get(open..)?.as_bytes())?;
    source.get(open..end)
}

/// The length of the JSON object at the start of `text` (valid JSON from its `{`), up to and
/// including its closing brace; `None` when the braces never balance.
fn object_len(text: &[u8]) -> Option<usize> {
    let mut depth = 0usize;
    let mut i = 0;
    while let Some(at) = memchr::memchr3(b'"', b'{', b'}', text.get(i..)?) {
        i += at;
        match text[i] {
            b'{' => depth += 1,
            b'}' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            _ => {
                // A string: to its closing quote, stepping over escaped characters.
                i += 1;
                loop {
                    i += memchr::memchr2(b'"', b'\\', text.get(i..)?)?;
                    if text[i] == b'"' {
                        break;
                    }
                    i += 2;
                }
            }
        }
        i += 1;
    }
    None
}

/// Where `part` (a slice of `source`) begins in `source`, in bytes; `None` when it is not a
/// slice of it.
fn offset_in(source: &str, part: &str) -> Option<usize> {
    let offset = (part.as_ptr() as usize).checked_sub(source.as_ptr() as usize)?;
    (offset.checked_add(part.len())? <= source.len()).then_some(offset)
}

/// A resource's JSON text, as read or as found again in its document when asked for.
#[derive(Debug, Clone, Copy)]
pub struct ResourceText<'t>(TextAt<'t>);

#[derive(Debug, Clone, Copy)]
enum TextAt<'t> {
    Text(&'t str),
    Key { source: &'t str, first_key: &'t str },
}

impl<'t> ResourceText<'t> {
    /// The text; `None` only when it cannot be found again, which does not happen for the
    /// texts a [`Collector`] gives.
    #[must_use]
    pub fn get(self) -> Option<&'t str> {
        match self.0 {
            TextAt::Text(text) => Some(text),
            TextAt::Key { source, first_key } => object_at(source, first_key),
        }
    }
}

/// A resource's text parsed for its typed path, when its type has one and the text that path's
/// shape (as in [`simple_observation`], [`simple_condition`], [`simple_medication_request`]).
fn parse_typed<'t>(kind: &str, text: &'t str) -> Option<Early<'t>> {
    Some(match kind {
        "Observation" => Early::Observation(Box::new(serde_json::from_str(text).ok()?)),
        "Condition" => Early::Condition(Box::new(serde_json::from_str(text).ok()?)),
        "MedicationRequest" => Early::MedicationRequest(Box::new(serde_json::from_str(text).ok()?)),
        "Patient" => Early::Patient(Box::new(serde_json::from_str(text).ok()?)),
        _ => return None,
    })
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
        while let Some(key) = map.next_key::<Str<'de>>()? {
            if kept_field(&key) {
                let v: Value = map.next_value()?;
                out.insert(key.0.into_owned(), v);
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

/// What the fast path made of one Observation line.
#[derive(Debug, Clone, PartialEq)]
pub enum SimpleOutcome {
    /// A lab result.
    Lab(restless_facts::LabResult),
    /// Not used, with the reason the general reader would give.
    Skipped(&'static str),
    /// Relevant type, but nothing usable (the general reader calls it irrelevant); with the
    /// warning it would give, if any.
    Irrelevant(Option<String>),
    /// A coded answer (smoking status, pregnancy status): `Ok(yes)` when its value is
    /// recognised and recent (the general reader uses it); otherwise the general reader calls
    /// it irrelevant, with the warning it gives, if any. When one input holds several answers
    /// to the same question, the general reader keeps the latest: combining them is the
    /// caller's job.
    Answer(restless_facts::Answer, Result<bool, Option<String>>),
}

#[derive(Debug, Deserialize)]
struct Coding<'a> {
    #[serde(borrow, default, deserialize_with = "borrowed_str")]
    system: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "borrowed_str")]
    code: Option<Cow<'a, str>>,
}

#[derive(Debug, Deserialize)]
struct Concept<'a> {
    #[serde(borrow, default)]
    coding: Option<Vec<Coding<'a>>>,
}

#[derive(Debug, Deserialize)]
struct Reference<'a> {
    #[serde(borrow, default, deserialize_with = "borrowed_str")]
    reference: Option<Cow<'a, str>>,
}

#[derive(Debug, Deserialize)]
struct Period<'a> {
    #[serde(borrow, default, deserialize_with = "borrowed_str")]
    start: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "borrowed_str")]
    end: Option<Cow<'a, str>>,
}

#[derive(Debug, Deserialize)]
struct Quantity<'a> {
    #[serde(default)]
    value: Option<f64>,
    #[serde(borrow, default, deserialize_with = "borrowed_str")]
    comparator: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "borrowed_str")]
    unit: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "borrowed_str")]
    system: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "borrowed_str")]
    code: Option<Cow<'a, str>>,
}

/// The fields of a plain lab Observation; anything else present sends the line to the
/// general reader.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SimpleObs<'a> {
    #[serde(borrow, default, deserialize_with = "borrowed_str")]
    id: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "borrowed_str")]
    status: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    code: Option<Concept<'a>>,
    #[serde(borrow, default)]
    subject: Option<Reference<'a>>,
    #[serde(borrow, default, deserialize_with = "borrowed_str")]
    effective_date_time: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "borrowed_str")]
    effective_instant: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    effective_period: Option<Period<'a>>,
    #[serde(borrow, default, deserialize_with = "borrowed_str")]
    issued: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    value_quantity: Option<Quantity<'a>>,
    #[serde(borrow, default)]
    category: Option<&'a RawValue>,
    #[serde(default)]
    component: Option<serde::de::IgnoredAny>,
    #[serde(default)]
    data_absent_reason: Option<serde::de::IgnoredAny>,
    #[serde(default)]
    value_string: Option<serde::de::IgnoredAny>,
    #[serde(default)]
    value_integer: Option<serde::de::IgnoredAny>,
    #[serde(borrow, default)]
    value_codeable_concept: Option<ConceptText<'a>>,
    #[serde(default)]
    contained: Option<serde::de::IgnoredAny>,
}

/// Maps a plain lab Observation (LOINC-coded, one `valueQuantity`, no components) straight to
/// a lab result, without building a JSON tree. Returns the subject reference and the outcome,
/// or `None` when the line is anything else; the general reader then takes it. The outcome is
/// the one the general reader gives (`crates/ingest/tests` checks this on every Observation of
/// the shared corpora).
#[must_use]
pub fn simple_observation<'t>(
    text: &'t [u8],
    kb: &Kb,
    as_of: Date,
) -> Option<(Option<Cow<'t, str>>, SimpleOutcome)> {
    simple_observation_with(text, kb, as_of, true)
}

/// [`simple_observation`], with `explain: false` for a population screen: a lab result then
/// carries neither its value as read nor its source, which only a report shows.
#[must_use]
pub fn simple_observation_with<'t>(
    text: &'t [u8],
    kb: &Kb,
    as_of: Date,
    explain: bool,
) -> Option<(Option<Cow<'t, str>>, SimpleOutcome)> {
    let o: SimpleObs<'t> = serde_json::from_str(std::str::from_utf8(text).ok()?).ok()?;
    observation_outcome(&o, kb, as_of, explain)
}

/// What [`simple_observation_with`] makes of an Observation once parsed.
fn observation_outcome<'t>(
    o: &SimpleObs<'t>,
    kb: &Kb,
    as_of: Date,
    explain: bool,
) -> Option<(Option<Cow<'t, str>>, SimpleOutcome)> {
    use super::value::date_str;
    if o.component.is_some()
        || o.data_absent_reason.is_some()
        || o.value_string.is_some()
        || o.value_integer.is_some()
        || o.contained.is_some()
    {
        return None;
    }
    // `category` as an object earns a warning in the general reader: leave it to it.
    if o.category.is_some_and(|c| !c.get().starts_with('[')) {
        return None;
    }
    let subject = o.subject.as_ref().and_then(|s| s.reference.clone());
    match o.status.as_deref().map(str::to_ascii_lowercase).as_deref() {
        Some("entered-in-error") => {
            return Some((subject, SimpleOutcome::Skipped("entered-in-error")));
        }
        Some("cancelled") => return Some((subject, SimpleOutcome::Skipped("cancelled"))),
        Some("registered") => return Some((subject, SimpleOutcome::Skipped("no result yet"))),
        _ => {}
    }
    let t = kb.terminology();
    let codings = o.code.as_ref().and_then(|c| c.coding.as_deref()).unwrap_or_default();
    let loincs: Vec<&str> = codings
        .iter()
        .filter(|c| {
            c.system
                .as_deref()
                .is_some_and(|s| super::value::system(s) == super::value::System::Loinc)
        })
        .filter_map(|c| c.code.as_deref())
        .collect();
    let when = o
        .effective_date_time
        .as_deref()
        .and_then(date_str)
        .or_else(|| o.effective_instant.as_deref().and_then(date_str))
        .or_else(|| {
            o.effective_period.as_ref().and_then(|p| {
                p.end
                    .as_deref()
                    .and_then(date_str)
                    .or_else(|| p.start.as_deref().and_then(date_str))
            })
        })
        .or_else(|| o.issued.as_deref().and_then(date_str));
    if let Some(code) = loincs.iter().find(|c| t.coded_answer(c, &[]).is_some()) {
        // A coded answer (smoking or pregnancy status), read from its SNOMED CT value.
        let (values, _) = match &o.value_codeable_concept {
            Some(v) => v.read()?,
            None => (Vec::new(), None),
        };
        if when.is_some_and(|d| d > as_of) {
            return Some((subject, SimpleOutcome::Skipped("dated after as-of")));
        }
        let snomed: Vec<&str> = values
            .iter()
            .filter(|c| c.system == super::value::System::Snomed)
            .map(|c| c.code)
            .collect();
        let (answer, yes) = t.coded_answer(code, &snomed)?;
        let outcome = match yes {
            None => Err(Some(format!("{} value not recognised; not used", answer.name()))),
            Some(yes) => {
                let recent = when.is_some_and(|d| d >= restless_facts::months_before(as_of, 12));
                if recent { Ok(yes) } else { Err(None) }
            }
        };
        return Some((subject, SimpleOutcome::Answer(answer, outcome)));
    }
    if o.value_codeable_concept.is_some() {
        return None;
    }
    let analyte = loincs.iter().find_map(|c| t.analyte_by_loinc(c))?;
    if when.is_some_and(|d| d > as_of) {
        return Some((subject, SimpleOutcome::Skipped("dated after as-of")));
    }
    let Some(q) = &o.value_quantity else {
        return Some((subject, SimpleOutcome::Irrelevant(None)));
    };
    let Some(value) = q.value.filter(|v| v.is_finite()) else {
        return None; // a value written as text, or missing: the general reader words it
    };
    let cmp = q.comparator.as_deref().and_then(restless_facts::Cmp::parse);
    let code_unit = q
        .code
        .as_deref()
        .filter(|_| q.system.as_deref().is_none_or(|s| s.contains("unitsofmeasure")));
    // The UCUM code when the analyte accepts it (converting it once), else the unit as shown.
    let coded = code_unit.and_then(|u| Some((u, analyte.to_canonical(value, u)?)));
    let unit = coded.map(|(u, _)| u).or(q.unit.as_deref()).or(code_unit).unwrap_or("").to_owned();
    if value < 0.0 {
        return Some((
            subject,
            SimpleOutcome::Irrelevant(Some(format!(
                "{} has an impossible value; not used",
                analyte.name
            ))),
        ));
    }
    if unit.trim() == "%" && value > 100.0 {
        return Some((
            subject,
            SimpleOutcome::Irrelevant(Some(format!(
                "{} is a percentage over 100; not used",
                analyte.name
            ))),
        ));
    }
    let Some(canonical) = coded.map(|(_, c)| c).or_else(|| analyte.to_canonical(value, &unit))
    else {
        let why =
            if unit.is_empty() { "has no unit" } else { "has a unit restless does not understand" };
        return Some((
            subject,
            SimpleOutcome::Irrelevant(Some(format!(
                "{} {why}; not used (units are never assumed)",
                analyte.name
            ))),
        ));
    };
    // The general reader warns about undated results: leave those to it.
    when?;
    // As read: comparator, value and unit ("<5 ng/mL"), in one buffer.
    let shown = if explain {
        let mut s = String::with_capacity(8 + unit.len());
        s.push_str(cmp.map_or("", |c| c.symbol()));
        push_number(&mut s, value);
        s.push(' ');
        s.push_str(&unit);
        s.truncate(s.trim_end().len());
        s
    } else {
        String::new()
    };
    Some((
        subject,
        SimpleOutcome::Lab(restless_facts::LabResult {
            analyte: analyte.id.as_str().into(),
            value: restless_facts::Bound { value: canonical, comparator: cmp },
            as_read: shown,
            date: when,
            // Named as the general reader names it; without an id, left empty (the general
            // reader would name it by its place in the input).
            source: o.id.as_ref().filter(|_| explain).map_or_else(
                restless_facts::Provenance::default,
                |id| {
                    restless_facts::Provenance::new(["Observation/", id].concat())
                        .with_field("valueQuantity")
                },
            ),
            derived: false,
        }),
    ))
}

/// Writes `value` as `f64`'s `Display` does; a whole number through the integer formatter,
/// which writes the same text in a fraction of the time.
fn push_number(s: &mut String, value: f64) {
    if value.fract() == 0.0 && value.abs() < 1e15 && !(value == 0.0 && value.is_sign_negative()) {
        // Whole and within ±1e15: the cast is exact.
        let _ = write!(s, "{}", value as i64);
    } else {
        let _ = write!(s, "{value}");
    }
}

/// A CodeableConcept as the typed paths read it.
#[derive(Debug, Deserialize)]
struct ConceptText<'a> {
    #[serde(borrow, default)]
    coding: Option<Vec<CodingDisplay<'a>>>,
    #[serde(borrow, default, deserialize_with = "borrowed_str")]
    text: Option<Cow<'a, str>>,
    /// A lone coding written in place of the concept (read leniently by the general reader).
    #[serde(default)]
    code: Option<serde::de::IgnoredAny>,
}

impl ConceptText<'_> {
    /// Its codings that carry a code, and its text, as the general reader's
    /// `value::codings` reads them; `None` for a lone coding written in place of the concept,
    /// which the typed paths leave to the general reader.
    fn read(&self) -> Option<(Vec<super::value::Coding<'_>>, Option<&str>)> {
        if self.coding.is_none() && self.code.is_some() {
            return None;
        }
        let codes = self
            .coding
            .iter()
            .flatten()
            .filter_map(|x| {
                let uri = x.system.as_deref().unwrap_or("");
                Some(super::value::Coding {
                    system: super::value::system(uri),
                    system_uri: uri,
                    code: x.code.as_deref()?,
                    display: x.display.as_deref(),
                })
            })
            .collect();
        Some((codes, self.text.as_deref()))
    }
}

#[derive(Debug, Deserialize)]
struct CodingDisplay<'a> {
    #[serde(borrow, default, deserialize_with = "borrowed_str")]
    system: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "borrowed_str")]
    code: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "borrowed_str")]
    display: Option<Cow<'a, str>>,
}

/// The fields of a Patient the general reader takes (`deceased[x]` only to leave the Patient
/// to it when present).
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct PatientLine<'a> {
    #[serde(borrow, default, deserialize_with = "borrowed_str")]
    id: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "borrowed_str")]
    birth_date: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "borrowed_str")]
    gender: Option<Cow<'a, str>>,
    #[serde(default)]
    deceased_boolean: Option<serde::de::IgnoredAny>,
    #[serde(default)]
    deceased_date_time: Option<serde::de::IgnoredAny>,
}

/// A Patient's id, birth date and sex as the general reader reads them; `None` (left to the
/// general reader) without an id, with `deceased[x]`, or with a birth date after as-of (which
/// it words as a warning).
fn patient_outcome(
    p: &PatientLine<'_>,
    as_of: Date,
) -> Option<(String, Option<Date>, Option<restless_facts::Sex>)> {
    let id = p.id.as_deref()?;
    if p.deceased_boolean.is_some() || p.deceased_date_time.is_some() {
        return None;
    }
    let birth = p.birth_date.as_deref().and_then(super::value::date_str);
    if birth.is_some_and(|b| b > as_of) {
        return None;
    }
    Some((id.to_owned(), birth, super::map::sex_of(p.gender.as_deref())))
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ConditionLine<'a> {
    #[serde(borrow, default, deserialize_with = "borrowed_str")]
    id: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    code: Option<ConceptText<'a>>,
    #[serde(borrow, default, deserialize_with = "present")]
    subject: Option<Option<Reference<'a>>>,
    #[serde(borrow, default, deserialize_with = "present")]
    patient: Option<Option<Reference<'a>>>,
    #[serde(borrow, default)]
    verification_status: Option<Concept<'a>>,
    #[serde(borrow, default)]
    clinical_status: Option<ConceptText<'a>>,
    #[serde(borrow, default)]
    category: Option<&'a RawValue>,
    #[serde(default)]
    contained: Option<serde::de::IgnoredAny>,
    #[serde(borrow, default, deserialize_with = "borrowed_str")]
    onset_date_time: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    onset_period: Option<Period<'a>>,
    #[serde(default)]
    onset_age: Option<serde::de::IgnoredAny>,
    #[serde(default)]
    onset_range: Option<serde::de::IgnoredAny>,
    #[serde(default)]
    onset_string: Option<serde::de::IgnoredAny>,
    #[serde(borrow, default, deserialize_with = "borrowed_str")]
    abatement_date_time: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    abatement_period: Option<Period<'a>>,
    #[serde(default)]
    abatement_string: Option<serde::de::IgnoredAny>,
    #[serde(default)]
    abatement_age: Option<serde::de::IgnoredAny>,
    #[serde(default)]
    abatement_range: Option<serde::de::IgnoredAny>,
}

/// What the fast path made of one Condition line.
#[derive(Debug, Clone, PartialEq)]
pub enum SimpleCondition {
    /// A condition of one or more condition sets, named `Condition/{id}`.
    Used(restless_facts::ConditionFact),
    /// Not used, with the reason the general reader would give.
    Skipped(&'static str),
    /// A condition that names no condition set (the general reader calls it irrelevant), with
    /// the warning it would give, if any.
    Irrelevant(Option<String>),
}

/// Maps a Condition straight to a condition fact, without building a JSON tree: the sets its
/// codes or text name, its clinical status (abatement included) and onset. Every Condition
/// puts a problem list on record, whatever the outcome. Returns the patient reference and the
/// outcome, which is the general reader's (checked in `crates/ingest/tests/fast_path.rs`), or
/// `None` when it is not sure: a verification status other than confirmed, restless legs
/// itself (whose onset gives the age at onset), an onset given as an age or text, no id for a
/// used condition, contained resources, a category object, a value of an unexpected type.
#[must_use]
pub fn simple_condition<'t>(
    text: &'t [u8],
    kb: &Kb,
    as_of: Date,
) -> Option<(Option<Cow<'t, str>>, SimpleCondition)> {
    let c: ConditionLine<'t> = serde_json::from_str(std::str::from_utf8(text).ok()?).ok()?;
    condition_outcome(&c, kb, as_of, false)
}

/// What [`simple_condition`] makes of a Condition once parsed; a restless legs condition only
/// with `rls` (else `None`: its onset is the general reader's to judge), as the general reader
/// makes its fact. Its onset is then read as the general reader would: this path leaves
/// `onsetAge`, `onsetRange` and `onsetString` to it.
fn condition_outcome<'t>(
    c: &ConditionLine<'t>,
    kb: &Kb,
    as_of: Date,
    rls: bool,
) -> Option<(Option<Cow<'t, str>>, SimpleCondition)> {
    use super::value::{System, date_str};
    // Only a confirmed (or unstated) diagnosis: the general reader words the rest.
    if let Some(vs) = &c.verification_status {
        let first = vs.coding.as_ref().and_then(|c| c.first()).and_then(|c| c.code.as_deref());
        if !first.is_some_and(|code| code.trim().eq_ignore_ascii_case("confirmed")) {
            return None;
        }
    }
    if c.contained.is_some() || c.onset_age.is_some() || c.onset_range.is_some() {
        return None;
    }
    if c.onset_string.is_some() || c.category.is_some_and(|c| !c.get().starts_with('[')) {
        return None;
    }
    let clinical = match &c.clinical_status {
        Some(cs) => cs.read()?.0.first().map(|x| x.code),
        None => None,
    };
    let subject = patient_reference(&c.subject, &c.patient);
    // As the general reader: a readable onsetDateTime, else onsetPeriod's start or end.
    let onset = c.onset_date_time.as_deref().and_then(date_str).or_else(|| {
        c.onset_period.as_ref().and_then(|p| {
            p.start.as_deref().and_then(date_str).or_else(|| p.end.as_deref().and_then(date_str))
        })
    });
    if onset.is_some_and(|d| d > as_of) {
        return Some((subject, SimpleCondition::Skipped("dated after as-of")));
    }
    let (codings, text) = c.code.as_ref()?.read()?;
    let t = kb.terminology();
    let mut sets: Vec<&str> = Vec::new();
    let mut display = String::new();
    let mut unknown_system = false;
    for cd in &codings {
        let found = match cd.system {
            System::Icd10Cm | System::Icd10 => t.sets_for_icd10(cd.code),
            System::Snomed => t.sets_for_snomed(cd.code),
            _ => {
                unknown_system = cd.system == System::Other;
                Vec::new()
            }
        };
        if !found.is_empty() && display.is_empty() {
            display = super::map::coding_display(cd);
        }
        for f in found {
            if !sets.contains(&f) {
                sets.push(f);
            }
        }
    }
    if sets.is_empty() {
        let texts = text.into_iter().chain(codings.iter().filter_map(|c| c.display));
        for (n, txt) in texts.clone().enumerate() {
            // The text usually repeats a display: a repeat adds no set.
            if texts.clone().take(n).any(|earlier| earlier == txt) {
                continue;
            }
            for f in t.sets_for_text(txt) {
                if !sets.contains(&f) {
                    sets.push(f);
                    display = txt.to_owned();
                }
            }
        }
    }
    if sets.is_empty() {
        let warning = (unknown_system && codings.iter().all(|c| c.system == System::Other))
            .then(|| "condition coded only in a code system restless does not read".to_owned());
        return Some((subject, SimpleCondition::Irrelevant(warning)));
    }
    let id = c.id.as_deref()?;
    if sets.contains(&"rls") && !rls {
        return None;
    }
    let abated_on = c.abatement_date_time.as_deref().and_then(date_str).or_else(|| {
        c.abatement_period.as_ref().and_then(|p| {
            p.end.as_deref().and_then(date_str).or_else(|| p.start.as_deref().and_then(date_str))
        })
    });
    let abated = abated_on.is_some_and(|d| d <= as_of)
        || c.abatement_string.is_some()
        || c.abatement_age.is_some()
        || c.abatement_range.is_some();
    let status = match clinical.map(|s| s.trim().to_ascii_lowercase()).as_deref() {
        Some("inactive" | "remission" | "resolved") => restless_facts::ConditionStatus::History,
        Some("active" | "recurrence" | "relapse") => restless_facts::ConditionStatus::Active,
        _ if abated => restless_facts::ConditionStatus::History,
        _ => restless_facts::ConditionStatus::Active,
    };
    let fact = restless_facts::ConditionFact {
        sets: sets.into_iter().map(Into::into).collect(),
        status,
        onset,
        display,
        source: restless_facts::Provenance::new(["Condition/", id].concat()).with_field("code"),
    };
    Some((subject, SimpleCondition::Used(fact)))
}

/// What the fast path made of one MedicationRequest line.
#[derive(Debug, Clone, PartialEq)]
pub enum SimpleMedication {
    /// A medication the drug dictionary recognises.
    Used(restless_facts::MedicationFact),
    /// Not used, with the reason the general reader would give and its warning, if any.
    Skipped(&'static str, Option<&'static str>),
}

/// A field that may be absent, `null`, or a value: `None`, `Some(None)`, `Some(Some(v))`.
fn present<'de, D, T>(d: D) -> Result<Option<Option<T>>, D::Error>
where
    D: serde::Deserializer<'de>,
    T: Deserialize<'de>,
{
    Option::<T>::deserialize(d).map(Some)
}

/// The reference in `subject` when the member is there (even `null`: then none), else in
/// `patient`, as the general reader and `screen` read it.
fn patient_reference<'a>(
    subject: &Option<Option<Reference<'a>>>,
    patient: &Option<Option<Reference<'a>>>,
) -> Option<Cow<'a, str>> {
    subject.as_ref().or(patient.as_ref()).and_then(Option::as_ref).and_then(|r| r.reference.clone())
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct SimpleRequest<'a> {
    #[serde(borrow, default, deserialize_with = "borrowed_str")]
    id: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "borrowed_str")]
    status: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "borrowed_str")]
    intent: Option<Cow<'a, str>>,
    #[serde(borrow, default, deserialize_with = "present")]
    subject: Option<Option<Reference<'a>>>,
    #[serde(borrow, default, deserialize_with = "present")]
    patient: Option<Option<Reference<'a>>>,
    #[serde(borrow, default, deserialize_with = "borrowed_str")]
    authored_on: Option<Cow<'a, str>>,
    #[serde(borrow, default)]
    dispense_request: Option<DispenseRequest<'a>>,
    #[serde(borrow, default)]
    medication_codeable_concept: Option<ConceptText<'a>>,
    #[serde(borrow, default)]
    category: Option<&'a RawValue>,
    #[serde(borrow, default)]
    dosage_instruction: Option<Vec<Dosage<'a>>>,
    #[serde(default)]
    medication_reference: Option<serde::de::IgnoredAny>,
    #[serde(default)]
    dosage: Option<serde::de::IgnoredAny>,
    #[serde(default)]
    contained: Option<serde::de::IgnoredAny>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct DispenseRequest<'a> {
    #[serde(borrow, default)]
    validity_period: Option<&'a RawValue>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Dosage<'a> {
    #[serde(borrow, default)]
    dose_and_rate: Option<&'a RawValue>,
}

/// Maps a MedicationRequest coded by a CodeableConcept straight to a medication fact (or the
/// reason it is skipped), without building a JSON tree. Returns the patient reference
/// (`subject`, else `patient`) and the outcome, which is the general reader's (checked in
/// `crates/ingest/tests/fast_path.rs`), or `None` for anything else: a medication reference,
/// contained resources, the lenient shapes the general reader warns about, a value of an
/// unexpected type. Every MedicationRequest counts as a medication list on record, whatever
/// the outcome.
#[must_use]
pub fn simple_medication_request<'t>(
    text: &'t [u8],
    kb: &Kb,
) -> Option<(Option<Cow<'t, str>>, SimpleMedication)> {
    let r: SimpleRequest<'t> = serde_json::from_str(std::str::from_utf8(text).ok()?).ok()?;
    medication_outcome(&r, kb)
}

/// What [`simple_medication_request`] makes of a MedicationRequest once parsed.
fn medication_outcome<'t>(
    r: &SimpleRequest<'t>,
    kb: &Kb,
) -> Option<(Option<Cow<'t, str>>, SimpleMedication)> {
    use super::map::{identify, med_status, not_an_order, request_period};
    use super::value::date_str;
    if r.medication_reference.is_some() || r.dosage.is_some() || r.contained.is_some() {
        return None;
    }
    // Shapes the general reader reads with a warning: leave them to it.
    if r.category.is_some_and(|c| !c.get().starts_with('[')) {
        return None;
    }
    let dosages = r.dosage_instruction.iter().flatten();
    if dosages.filter_map(|d| d.dose_and_rate).any(|d| d.get().starts_with('{')) {
        return None;
    }
    // Read before any outcome: a lone coding in place of the concept goes to the general reader.
    let concepts: Vec<_> = match &r.medication_codeable_concept {
        Some(c) => vec![c.read()?],
        None => Vec::new(),
    };
    let validity = match r.dispense_request.as_ref().and_then(|d| d.validity_period) {
        None => None,
        Some(raw) => {
            let p: Option<Period<'_>> = serde_json::from_str(raw.get()).ok()?;
            // `null` or a period: the general reader takes both as a period without dates.
            let p = p.unwrap_or(Period { start: None, end: None });
            Some((p.start.as_deref().and_then(date_str), p.end.as_deref().and_then(date_str)))
        }
    };
    let subject = patient_reference(&r.subject, &r.patient);
    let skipped =
        |reason, warning| Some((subject.clone(), SimpleMedication::Skipped(reason, warning)));
    let status = match med_status("MedicationRequest", r.status.as_deref()) {
        Ok(s) => s,
        Err(reason) => return skipped(reason, None),
    };
    if not_an_order(r.intent.as_deref()) {
        return skipped("proposal or plan, not an order", None);
    }
    let authored = r.authored_on.as_deref().and_then(date_str);
    let (start, mut end, point) = request_period(authored, validity);
    if status == restless_facts::MedStatus::Unknown && point {
        end = start;
    }
    let source = r.id.as_deref().map_or_else(restless_facts::Provenance::default, |id| {
        restless_facts::Provenance::new(["MedicationRequest/", id].concat())
            .with_field("medication")
    });
    match identify(kb.terminology(), &[], &concepts).fact(status, start, end, source) {
        Ok(fact) => Some((subject, SimpleMedication::Used(fact))),
        Err(warning) => skipped("medication not recognised", Some(warning)),
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::{object_at, object_len, push_number};

    fn shown(value: f64) -> String {
        let mut s = String::new();
        push_number(&mut s, value);
        s
    }

    proptest! {
        #[test]
        fn numbers_are_written_as_display_writes_them(
            value in prop_oneof![any::<f64>(), (-1e16f64..1e16).prop_map(f64::trunc), 0.0f64..1000.0]
        ) {
            prop_assert_eq!(shown(value), value.to_string());
        }
    }

    #[test]
    fn whole_numbers_at_the_edges_are_written_as_display_writes_them() {
        for v in [
            0.0,
            -0.0,
            1.0,
            -1.0,
            38.0,
            999_999_999_999_999.0,
            1e15,
            -1e15,
            1e16,
            f64::MAX,
            f64::INFINITY,
            f64::NAN,
        ] {
            assert_eq!(shown(v), v.to_string(), "{v}");
        }
    }

    #[test]
    fn an_object_ends_where_its_braces_balance_outside_strings() {
        let doc =
            r#"{"a": [{"resourceType": "X", "s": "}\"{\\", "n": {"b": "{{"}}, {"c": 1}], "z": 2}"#;
        let at = doc.find("resourceType").expect("key");
        let first_key = &doc[at..at + "resourceType".len()];
        assert_eq!(
            object_at(doc, first_key),
            Some(r#"{"resourceType": "X", "s": "}\"{\\", "n": {"b": "{{"}}"#)
        );
        assert_eq!(object_len(doc.as_bytes()), Some(doc.len()));
        // Unbalanced or cut short: no object.
        assert_eq!(object_len(br#"{"a": "}"#), None);
        assert_eq!(object_len(br#"{"a": "\"#), None);
        assert_eq!(object_len(b"{{}"), None);
        // A key that is not a slice of the document, or not an object's first key.
        assert_eq!(object_at(doc, "resourceType"), None);
        let z = doc.rfind("\"z\"").expect("z") + 1;
        assert_eq!(object_at(doc, &doc[z..=z]), None);
    }
}
