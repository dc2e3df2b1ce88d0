//! JSON report, version 1. Required fields never change meaning within version 1; new fields
//! may be added.

use serde::Serialize;

use restless_engine::{Evidence, Status};

use crate::{ENGINE_VERSION, Report, cited_references};

/// The report document.
#[derive(Serialize)]
pub struct Document<'a> {
    /// Always 1.
    pub report_version: u32,
    /// restless version.
    pub engine_version: &'static str,
    /// Knowledge-base version.
    pub kb_version: &'a str,
    /// When the knowledge base was last reviewed.
    pub kb_reviewed: String,
    /// Evaluation date.
    pub as_of: String,
    /// Primary, secondary or undetermined.
    pub classification: ClassificationV1<'a>,
    /// The IRLSSG criteria and mimics.
    pub diagnosis: DiagnosisV1<'a>,
    /// One entry per non-mimic cause.
    pub findings: Vec<FindingV1<'a>>,
    /// Tests to order.
    pub workup: Vec<WorkupV1<'a>>,
    /// Questions to ask.
    pub questions: Vec<QuestionV1<'a>>,
    /// Input that could not be used.
    pub warnings: Vec<WarningV1<'a>>,
    /// Full citations of every reference named in the report.
    pub references: Vec<ReferenceV1<'a>>,
    /// The disclaimer.
    pub disclaimer: &'a str,
}

/// Classification.
#[derive(Serialize)]
pub struct ClassificationV1<'a> {
    /// secondary | primary | undetermined
    pub kind: &'static str,
    /// One sentence.
    pub summary: &'a str,
    /// Whether the core work-up is complete.
    pub core_workup_complete: bool,
}

/// Diagnosis.
#[derive(Serialize)]
pub struct DiagnosisV1<'a> {
    /// criteria-met | criteria-not-met | incomplete
    pub status: &'static str,
    /// The five criteria.
    pub criteria: Vec<CriterionV1<'a>>,
    /// Mimics present or possible.
    pub mimics: Vec<MimicV1<'a>>,
    /// RLS diagnoses recorded in the input.
    pub recorded: Vec<EvidenceV1<'a>>,
}

/// One IRLSSG criterion.
#[derive(Serialize)]
pub struct CriterionV1<'a> {
    /// 1 to 5.
    pub number: u8,
    /// Short name.
    pub name: &'static str,
    /// met | not-met | unknown
    pub status: &'static str,
    /// Evidence.
    pub evidence: Vec<EvidenceV1<'a>>,
}

/// A mimic.
#[derive(Serialize)]
pub struct MimicV1<'a> {
    /// Mimic id.
    pub id: &'a str,
    /// Name.
    pub name: &'a str,
    /// present | possible
    pub status: &'static str,
    /// Evidence.
    pub evidence: Vec<EvidenceV1<'a>>,
    /// Advice.
    pub advice: &'a str,
}

/// One evidence item.
#[derive(Serialize)]
pub struct EvidenceV1<'a> {
    /// The input record.
    pub source: &'a str,
    /// The fact.
    pub fact: &'a str,
    /// The value as read.
    pub value: &'a str,
    /// Its date.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    /// The rule.
    pub rule: &'a str,
    /// verified | corroborated | unverified
    pub verification: &'static str,
    /// False for history shown for context.
    pub counted: bool,
}

/// A finding.
#[derive(Serialize)]
pub struct FindingV1<'a> {
    /// Cause id.
    pub cause: &'a str,
    /// Cause name.
    pub name: &'a str,
    /// primary-risk | secondary-cause | aggravator
    pub kind: &'static str,
    /// present | possible | absent | unknown
    pub status: &'static str,
    /// strong | moderate | weak | contested
    pub strength: &'static str,
    /// Evidence.
    pub evidence: Vec<EvidenceV1<'a>>,
    /// What would settle it.
    pub missing: &'a [String],
    /// Advice.
    pub advice: &'a str,
    /// Reference ids.
    pub references: &'a [String],
    /// Seed claims.
    pub seed: &'a [String],
    /// Safer alternatives, for drugs found.
    #[serde(skip_serializing_if = "<[String]>::is_empty")]
    pub alternatives: &'a [String],
}

/// A work-up test.
#[derive(Serialize)]
pub struct WorkupV1<'a> {
    /// The test.
    pub test: &'a str,
    /// LOINC code.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub loinc: Option<&'a str>,
    /// Causes it would settle.
    #[serde(rename = "for")]
    pub for_causes: &'a [String],
}

/// A question.
#[derive(Serialize)]
pub struct QuestionV1<'a> {
    /// Id.
    pub id: &'a str,
    /// The question.
    pub question: &'a str,
    /// Causes it would settle.
    #[serde(rename = "for")]
    pub for_causes: &'a [String],
}

/// A warning.
#[derive(Serialize)]
pub struct WarningV1<'a> {
    /// Where.
    pub source: &'a str,
    /// What.
    pub message: &'a str,
}

/// A reference.
#[derive(Serialize)]
pub struct ReferenceV1<'a> {
    /// Id.
    pub id: &'a str,
    /// Citation.
    pub citation: &'a str,
    /// Link.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub url: Option<&'a str>,
}

fn evidence(items: &[Evidence]) -> Vec<EvidenceV1<'_>> {
    items
        .iter()
        .map(|e| EvidenceV1 {
            source: &e.source,
            fact: &e.fact,
            value: &e.value,
            date: e.date.map(|d| d.to_string()),
            rule: &e.rule,
            verification: e.tag.name(),
            counted: e.counted,
        })
        .collect()
}

fn status(s: Status) -> &'static str {
    s.name()
}

/// Builds the version-1 document.
#[must_use]
pub fn document<'a>(r: &Report<'a>) -> Document<'a> {
    let a = r.assessment;
    let refs = cited_references(r);
    Document {
        report_version: 1,
        engine_version: ENGINE_VERSION,
        kb_version: r.kb.version(),
        kb_reviewed: r.kb.reviewed().to_string(),
        as_of: a.as_of.to_string(),
        classification: ClassificationV1 {
            kind: a.classification.kind.name(),
            summary: &a.classification.summary,
            core_workup_complete: a.classification.core_workup_done,
        },
        diagnosis: DiagnosisV1 {
            status: a.diagnosis.status.name(),
            criteria: a
                .diagnosis
                .criteria
                .iter()
                .map(|c| CriterionV1 {
                    number: c.number,
                    name: c.name,
                    status: c.value.name(),
                    evidence: evidence(&c.evidence),
                })
                .collect(),
            mimics: a
                .diagnosis
                .mimics
                .iter()
                .map(|m| MimicV1 {
                    id: &m.id,
                    name: &m.name,
                    status: status(m.status),
                    evidence: evidence(&m.evidence),
                    advice: &m.advice,
                })
                .collect(),
            recorded: evidence(&a.diagnosis.recorded),
        },
        findings: a
            .findings
            .iter()
            .map(|f| FindingV1 {
                cause: &f.cause,
                name: &f.name,
                kind: f.kind.name(),
                status: status(f.status),
                strength: f.strength.name(),
                evidence: evidence(&f.evidence),
                missing: &f.missing,
                advice: &f.advice,
                references: &f.references,
                seed: &f.seed,
                alternatives: &f.alternatives,
            })
            .collect(),
        workup: a
            .workup
            .iter()
            .map(|w| WorkupV1 {
                test: &w.test,
                loinc: w.loinc.as_deref(),
                for_causes: &w.for_causes,
            })
            .collect(),
        questions: a
            .questions
            .iter()
            .map(|q| QuestionV1 { id: &q.id, question: &q.text, for_causes: &q.for_causes })
            .collect(),
        warnings: r
            .warnings
            .iter()
            .map(|w| WarningV1 { source: &w.source, message: &w.message })
            .collect(),
        references: refs
            .iter()
            .filter_map(|id| r.kb.reference(id))
            .map(|x| ReferenceV1 { id: &x.id, citation: &x.citation, url: x.url.as_deref() })
            .collect(),
        disclaimer: r.kb.disclaimer(),
    }
}

/// Writes the version-1 report as pretty-printed JSON with a final newline.
///
/// # Errors
/// When writing fails.
pub fn write(r: &Report<'_>, out: &mut dyn std::io::Write) -> std::io::Result<()> {
    serde_json::to_writer_pretty(&mut *out, &document(r))?;
    out.write_all(b"\n")
}

/// The version-1 report as a JSON value.
#[must_use]
pub fn to_value(r: &Report<'_>) -> serde_json::Value {
    serde_json::to_value(document(r)).unwrap_or(serde_json::Value::Null)
}
