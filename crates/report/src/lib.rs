//! Renderers: an [`restless_engine::Assessment`] as text for a person at a terminal,
//! or as the versioned JSON report (`json::v1`, the external contract).
//!
//! Renderers are deterministic: the same assessment gives the same bytes.

pub mod json;
pub mod kb_page;
pub mod text;

use restless_engine::Assessment;
use restless_facts::Warning;
use restless_kb::Kb;

/// The engine's version, recorded in every report.
pub const ENGINE_VERSION: &str = env!("CARGO_PKG_VERSION");

/// What a report is made of.
#[derive(Clone, Copy)]
pub struct Report<'a> {
    /// The assessment.
    pub assessment: &'a Assessment,
    /// The knowledge base it was made with.
    pub kb: &'a Kb,
    /// What the input adapters could not use.
    pub warnings: &'a [Warning],
}

/// The ids of every reference cited by the report's findings and mimics, in first-cited order,
/// followed by the knowledge base's report-wide references.
#[must_use]
pub fn cited_references(r: &Report<'_>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    let mut add = |id: &str| {
        if !out.iter().any(|x| x == id) {
            out.push(id.to_owned());
        }
    };
    for f in &r.assessment.findings {
        for id in &f.references {
            add(id);
        }
    }
    for m in &r.assessment.diagnosis.mimics {
        if let Some(c) = r.kb.cause(&m.id) {
            for id in &c.references {
                add(id);
            }
        }
    }
    for id in r.kb.manifest_references() {
        add(id);
    }
    out
}
