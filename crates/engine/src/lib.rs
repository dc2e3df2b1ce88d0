//! The reasoning engine: a pure function from (facts, knowledge base, as-of date) to an
//! [`Assessment`].
//!
//! No I/O, no clock, no panics on any input: missing data is a result (`unknown`), never an
//! error. Every criterion is three-valued (met, not met, unknown) and every finding carries the
//! evidence that produced it and, when undecided, the data that would settle it.

mod assessment;
mod derive;
mod eval;

pub use assessment::{
    Assessment, Classification, ClassificationKind, CriterionResult, Diagnosis, DiagnosisStatus,
    Evidence, Finding, Mimic, Question, Status, Tri, WorkupItem,
};

use restless_facts::{Date, PatientRecord};
use restless_kb::Kb;

/// How much an assessment carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AssessOptions {
    /// Build the evidence trail and the text of each finding (advice, references). Off for
    /// population screens, which need only statuses and work-up: the statuses are the same.
    pub explain: bool,
    /// Say what would settle open findings besides tests: each finding's `missing` facts and
    /// the questions to ask. Off for population screens, which report only the work-up; the
    /// statuses and the work-up are the same.
    pub follow_up: bool,
    /// With `explain`, list each finding's references and seed claims (a report shows them;
    /// a CDS card links to the cause's page instead).
    pub sources: bool,
    /// With `explain`, explain the findings that are not present too: the evidence that ruled
    /// a cause out or left it open, and its advice. A report shows why; a CDS card speaks only
    /// of present causes, whose evidence and advice are the same either way.
    pub why_not: bool,
}

impl Default for AssessOptions {
    fn default() -> AssessOptions {
        AssessOptions { explain: true, follow_up: true, sources: true, why_not: true }
    }
}

impl AssessOptions {
    /// What a population screen needs: statuses, classification, diagnosis and work-up only.
    #[must_use]
    pub fn screen() -> AssessOptions {
        AssessOptions { explain: false, follow_up: false, sources: false, why_not: false }
    }

    /// What CDS cards show: statuses, the evidence and advice of present findings, work-up; no
    /// follow-up questions and no reference lists (a card links to the cause's page).
    #[must_use]
    pub fn cards() -> AssessOptions {
        AssessOptions { explain: true, follow_up: false, sources: false, why_not: false }
    }
}

/// Assesses one person against the knowledge base on the given date.
#[must_use]
pub fn assess(kb: &Kb, record: &PatientRecord, as_of: Date) -> Assessment {
    assess_with(kb, record, as_of, AssessOptions::default())
}

/// [`assess`] with options.
#[must_use]
pub fn assess_with(
    kb: &Kb,
    record: &PatientRecord,
    as_of: Date,
    opts: AssessOptions,
) -> Assessment {
    let derived = derive::derive(record, as_of);
    let mut ctx = eval::Ctx::new(kb, record, &derived, as_of);
    ctx.explain = opts.explain;
    ctx.follow_up = opts.follow_up;
    ctx.sources = opts.explain && opts.sources;
    ctx.why_not = opts.explain && opts.why_not;
    assessment::build(&ctx)
}
