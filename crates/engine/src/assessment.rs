//! The assessment: findings per cause, the diagnosis criteria, the classification and the
//! work-up, built from criterion outcomes.

use restless_facts::{Answer, AnswerValue, Date, FactKey};
use restless_kb::{Cause, CauseKind, Expr, Strength, Tag};

use crate::eval::{Ctx, Outcome, leaves, support, value};

/// Three-valued truth.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Tri {
    /// The data meet it.
    Met,
    /// The data rule it out.
    NotMet,
    /// The data do not say.
    Unknown,
}

impl std::ops::Not for Tri {
    type Output = Tri;

    /// Negation; unknown stays unknown.
    fn not(self) -> Tri {
        match self {
            Tri::Met => Tri::NotMet,
            Tri::NotMet => Tri::Met,
            Tri::Unknown => Tri::Unknown,
        }
    }
}

impl Tri {
    /// `met`, `not-met`, `unknown`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Tri::Met => "met",
            Tri::NotMet => "not-met",
            Tri::Unknown => "unknown",
        }
    }
}

/// A finding's status (contract: present, possible, absent, unknown).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Status {
    /// The data meet the rule.
    Present,
    /// Partial or indirect evidence.
    Possible,
    /// Nothing in the data settles it.
    Unknown,
    /// The data rule it out.
    Absent,
}

impl Status {
    /// The contract's spelling.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Status::Present => "present",
            Status::Possible => "possible",
            Status::Unknown => "unknown",
            Status::Absent => "absent",
        }
    }
}

/// One piece of evidence: which input, which value and date, which rule.
#[derive(Clone, Debug, PartialEq)]
pub struct Evidence {
    /// `Observation/obs-17`, `questionnaire:/labs/0`.
    pub source: String,
    /// The fact (`ferritin`, `esrd`, `serotonergic-antidepressant`, `urge`).
    pub fact: String,
    /// The value as read (`22 ng/mL`).
    pub value: String,
    /// Its date, when known.
    pub date: Option<Date>,
    /// The rule it was tested against.
    pub rule: String,
    /// How well the rule's threshold or code list is verified.
    pub tag: Tag,
    /// False for history shown for context (stale labs, resolved conditions).
    pub counted: bool,
}

/// What the engine says about one cause.
#[derive(Clone, Debug, PartialEq)]
pub struct Finding {
    /// Cause id.
    pub cause: String,
    /// Cause name.
    pub name: String,
    /// Kind.
    pub kind: CauseKind,
    /// Status.
    pub status: Status,
    /// Strength of evidence for the cause.
    pub strength: Strength,
    /// Evidence.
    pub evidence: Vec<Evidence>,
    /// Facts that would settle or strengthen it (`ferritin`, `answer.urge`).
    pub missing: Vec<String>,
    /// Advice from the knowledge base.
    pub advice: String,
    /// Reference ids.
    pub references: Vec<String>,
    /// Seed claims.
    pub seed: Vec<String>,
    /// For drugs found: safer alternatives (drug ids).
    pub alternatives: Vec<String>,
}

/// One of the five IRLSSG criteria.
#[derive(Clone, Debug, PartialEq)]
pub struct CriterionResult {
    /// 1 to 5.
    pub number: u8,
    /// Short name.
    pub name: &'static str,
    /// Met, not met or unknown.
    pub value: Tri,
    /// The answers behind it.
    pub evidence: Vec<Evidence>,
}

/// A look-alike condition that may explain the symptoms.
#[derive(Clone, Debug, PartialEq)]
pub struct Mimic {
    /// Mimic id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Present or possible.
    pub status: Status,
    /// Evidence.
    pub evidence: Vec<Evidence>,
    /// Advice.
    pub advice: String,
}

/// Diagnosis status (contract).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DiagnosisStatus {
    /// All five criteria met.
    CriteriaMet,
    /// At least one criterion clearly not met.
    CriteriaNotMet,
    /// Not enough answers, or a mimic needs a clinician's judgement.
    Incomplete,
}

impl DiagnosisStatus {
    /// The contract's spelling.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            DiagnosisStatus::CriteriaMet => "criteria-met",
            DiagnosisStatus::CriteriaNotMet => "criteria-not-met",
            DiagnosisStatus::Incomplete => "incomplete",
        }
    }
}

/// The diagnostic picture.
#[derive(Clone, Debug, PartialEq)]
pub struct Diagnosis {
    /// Status.
    pub status: DiagnosisStatus,
    /// Criteria 1 to 5.
    pub criteria: Vec<CriterionResult>,
    /// Mimics present or possible.
    pub mimics: Vec<Mimic>,
    /// RLS diagnoses recorded in the data (coded), if any.
    pub recorded: Vec<Evidence>,
}

/// Primary, secondary or undetermined (contract).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ClassificationKind {
    /// A secondary cause is present.
    Secondary,
    /// None present and the core work-up is done.
    Primary,
    /// Neither can be said yet.
    Undetermined,
}

impl ClassificationKind {
    /// The contract's spelling.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            ClassificationKind::Secondary => "secondary",
            ClassificationKind::Primary => "primary",
            ClassificationKind::Undetermined => "undetermined",
        }
    }
}

/// The classification and its one-sentence summary.
#[derive(Clone, Debug, PartialEq)]
pub struct Classification {
    /// Kind.
    pub kind: ClassificationKind,
    /// One sentence for a clinician.
    pub summary: String,
    /// Whether the core work-up is complete.
    pub core_workup_done: bool,
}

/// A test to order.
#[derive(Clone, Debug, PartialEq)]
pub struct WorkupItem {
    /// What to order (`ferritin`).
    pub test: String,
    /// LOINC code to show.
    pub loinc: Option<String>,
    /// The analyte id.
    pub analyte: String,
    /// Cause ids it would settle.
    pub for_causes: Vec<String>,
}

/// A question to ask.
#[derive(Clone, Debug, PartialEq)]
pub struct Question {
    /// Stable id (`answer.urge`, `medication-list`).
    pub id: String,
    /// The question.
    pub text: String,
    /// Cause ids (or `diagnosis`) it would settle.
    pub for_causes: Vec<String>,
}

/// The engine's answer for one person.
#[derive(Clone, Debug, PartialEq)]
pub struct Assessment {
    /// Evaluation date.
    pub as_of: Date,
    /// Age in years at as-of, when known.
    pub age: Option<u32>,
    /// Classification.
    pub classification: Classification,
    /// Diagnosis.
    pub diagnosis: Diagnosis,
    /// One finding per non-mimic cause, ordered by status then strength.
    pub findings: Vec<Finding>,
    /// Tests that would settle open findings, without repeats.
    pub workup: Vec<WorkupItem>,
    /// Questions that would settle open findings.
    pub questions: Vec<Question>,
}

struct Evaluated<'k> {
    status: Status,
    evidence: Vec<Evidence>,
    missing: Vec<&'k FactKey>,
    alternatives: Vec<String>,
}

/// Adds the evidence of the cause's criteria at `idx` to `out`, without repeats. Criteria are
/// first evaluated without evidence; only those a finding shows are evaluated again to build
/// theirs (the value is the same either way).
fn collect_evidence(ctx: &Ctx<'_>, cause: &Cause, idx: &[usize], out: &mut Vec<Evidence>) {
    for &i in idx {
        let Some(c) = cause.criteria.get(i) else { continue };
        for e in ctx.criterion(c, true).evidence {
            if !out.iter().any(|x| x.source == e.source && x.rule == e.rule && x.value == e.value) {
                out.push(e);
            }
        }
    }
}

fn collect_missing<'k>(outcomes: &[Outcome<'k>], idx: &[usize], out: &mut Vec<&'k FactKey>) {
    for &i in idx {
        if let Some(o) = outcomes.get(i)
            && o.value == Tri::Unknown
            && let Some(m) = o.missing
            && !out.contains(&m)
        {
            out.push(m);
        }
    }
}

/// Scratch space reused from one cause to the next.
#[derive(Default)]
struct Scratch<'k> {
    outcomes: Vec<Outcome<'k>>,
    support: Vec<usize>,
}

fn evaluate<'k>(ctx: &Ctx<'_>, cause: &'k Cause, scratch: &mut Scratch<'k>) -> Evaluated<'k> {
    let Scratch { outcomes, support: idx } = scratch;
    outcomes.clear();
    outcomes.extend(cause.criteria.iter().map(|c| ctx.criterion(c, false)));
    let outcomes = &outcomes[..];
    let rule = &cause.rule;
    let present = value(&rule.present, outcomes);
    let possible = rule.possible.as_ref().map(|e| value(e, outcomes));
    let absent = rule.absent.as_ref().map(|e| value(e, outcomes));
    let mut evidence = Vec::new();
    let mut missing = Vec::new();
    let mut alternatives = Vec::new();
    // The criteria that decided `e`, in `idx`.
    let decided = |e: &Expr, outcomes: &[Outcome<'_>], idx: &mut Vec<usize>| {
        idx.clear();
        support(e, outcomes, idx);
    };
    let status = if present == Tri::Met {
        decided(&rule.present, outcomes, idx);
        if ctx.explain {
            collect_evidence(ctx, cause, idx, &mut evidence);
        }
        for &i in idx.iter() {
            if let (Some(c), Some(o)) = (cause.criteria.get(i), outcomes.get(i))
                && let (FactKey::Drug(class), Tri::Met) = (&c.fact, o.value)
                && let Some(cl) = ctx.kb.terminology().drug_class(class)
            {
                for a in &cl.alternatives {
                    if !alternatives.contains(a) {
                        alternatives.push(a.clone());
                    }
                }
            }
        }
        Status::Present
    } else if possible == Some(Tri::Met) {
        if let Some(p) = &rule.possible
            && ctx.why_not
        {
            decided(p, outcomes, idx);
            collect_evidence(ctx, cause, idx, &mut evidence);
        }
        decided(&rule.present, outcomes, idx);
        collect_missing(outcomes, idx, &mut missing);
        Status::Possible
    } else if absent == Some(Tri::Met) {
        if let Some(a) = &rule.absent
            && ctx.why_not
        {
            decided(a, outcomes, idx);
            collect_evidence(ctx, cause, idx, &mut evidence);
        }
        Status::Absent
    } else if present == Tri::NotMet && possible != Some(Tri::Unknown) {
        if ctx.why_not {
            decided(&rule.present, outcomes, idx);
            collect_evidence(ctx, cause, idx, &mut evidence);
            if let Some(p) = &rule.possible {
                decided(p, outcomes, idx);
                collect_evidence(ctx, cause, idx, &mut evidence);
            }
        }
        Status::Absent
    } else {
        if ctx.why_not {
            idx.clear();
            leaves(&rule.present, idx);
            if let Some(p) = &rule.possible {
                leaves(p, idx);
            }
            collect_evidence(ctx, cause, idx, &mut evidence);
        }
        decided(&rule.present, outcomes, idx);
        collect_missing(outcomes, idx, &mut missing);
        if let Some(p) = &rule.possible {
            decided(p, outcomes, idx);
            collect_missing(outcomes, idx, &mut missing);
        }
        Status::Unknown
    };
    Evaluated { status, evidence, missing, alternatives }
}

fn missing_name(ctx: &Ctx<'_>, key: &FactKey) -> String {
    match key {
        FactKey::Lab(id) => id.to_string(),
        FactKey::Age => ctx.rec.birth_date.as_ref().map_or("age", |_| "age").to_owned(),
        other => other.to_string(),
    }
}

fn strength_rank(s: Strength) -> u8 {
    match s {
        Strength::Strong => 0,
        Strength::Moderate => 1,
        Strength::Weak => 2,
        Strength::Contested => 3,
    }
}

pub(crate) fn build(ctx: &Ctx<'_>) -> Assessment {
    let mut findings = Vec::new();
    let mut mimics = Vec::new();
    let mut workup: Vec<WorkupItem> = Vec::new();
    let mut questions: Vec<Question> = Vec::new();
    // Open findings (unknown or possible): index in `findings` before sorting, what is missing.
    let mut open: Vec<(usize, Vec<&FactKey>)> = Vec::new();
    let mut scratch = Scratch::default();

    for cause in ctx.kb.causes() {
        let ev = evaluate(ctx, cause, &mut scratch);
        if cause.kind == CauseKind::Mimic {
            if matches!(ev.status, Status::Present | Status::Possible) {
                mimics.push(Mimic {
                    id: cause.id.clone(),
                    name: cause.name.clone(),
                    status: ev.status,
                    evidence: ev.evidence,
                    advice: cause.advice.clone(),
                });
            }
            continue;
        }
        let missing = if ctx.follow_up {
            ev.missing.iter().map(|k| missing_name(ctx, k)).collect()
        } else {
            Vec::new()
        };
        if matches!(ev.status, Status::Unknown | Status::Possible) {
            open.push((findings.len(), ev.missing));
        }
        findings.push(Finding {
            cause: cause.id.clone(),
            name: cause.name.clone(),
            kind: cause.kind,
            status: ev.status,
            strength: cause.strength,
            evidence: ev.evidence,
            missing,
            advice: if ctx.explain && (ev.status == Status::Present || ctx.why_not) {
                cause.advice.clone()
            } else {
                String::new()
            },
            references: if ctx.sources { cause.references.clone() } else { Vec::new() },
            seed: if ctx.sources { cause.seed.clone() } else { Vec::new() },
            alternatives: ev.alternatives,
        });
    }
    // Sort by status, then strength, then id; `rank` says where each finding went. Findings
    // come in the knowledge base's order, which is by id, and the sort is stable: ids need no
    // comparing.
    let mut order: Vec<usize> = (0..findings.len()).collect();
    order.sort_by_key(|&i| (findings[i].status, strength_rank(findings[i].strength)));
    let mut rank = vec![0; findings.len()];
    for (to, &from) in order.iter().enumerate() {
        rank[from] = to;
    }
    let mut slots: Vec<Option<Finding>> = findings.into_iter().map(Some).collect();
    let findings: Vec<Finding> = order.iter().filter_map(|&i| slots[i].take()).collect();
    mimics.sort_by(|a, b| a.status.cmp(&b.status).then(a.id.cmp(&b.id)));

    // Work-up and questions, in the order of the findings they serve.
    open.sort_by_key(|(i, _)| rank[*i]);
    let t = ctx.kb.terminology();
    for (i, missing) in &open {
        let cause = &findings[rank[*i]].cause;
        for &key in missing {
            match key {
                FactKey::Lab(id) => {
                    let Some(a) = t.analyte(id) else { continue };
                    let Some(test) = &a.workup else { continue };
                    match workup.iter_mut().find(|w| &w.test == test) {
                        Some(w) => {
                            if !w.for_causes.contains(cause) {
                                w.for_causes.push(cause.clone());
                            }
                        }
                        None => workup.push(WorkupItem {
                            test: test.clone(),
                            loinc: a.workup_loinc.clone(),
                            analyte: a.id.clone(),
                            for_causes: vec![cause.clone()],
                        }),
                    }
                }
                other if ctx.follow_up => {
                    let (prefix, name, text) = match other {
                        FactKey::Answer(a) => ("answer.", a.name(), a.question()),
                        FactKey::Age => ("", "age", "What is the person's date of birth?"),
                        FactKey::Sex => ("", "sex", "What is the person's sex?"),
                        FactKey::OnsetAge => (
                            "",
                            "onset-age",
                            "How old was the person when the symptoms first began?",
                        ),
                        FactKey::Condition(_) => (
                            "",
                            "condition-list",
                            "Which conditions has the person been diagnosed with? A complete list settles this.",
                        ),
                        FactKey::Drug(_) => (
                            "",
                            "medication-list",
                            "Which medicines does the person take now, including over-the-counter sleep aids and cold remedies? A complete list settles this.",
                        ),
                        FactKey::Lab(_) => continue,
                    };
                    ask(&mut questions, prefix, name, text, cause);
                }
                _ => {}
            }
        }
    }

    let diagnosis = diagnose(ctx, mimics, &mut questions);
    let mut classification = classify(ctx, &findings);
    if let Some((death, _)) = &ctx.rec.deceased {
        let when = death.map(|d| format!(" on {d}")).unwrap_or_default();
        classification.summary = format!(
            "Recorded as deceased{when}; no medicine counts as current. {}",
            classification.summary
        );
    }
    questions.sort_by(|a, b| b.for_causes.len().cmp(&a.for_causes.len()).then(a.id.cmp(&b.id)));
    Assessment {
        as_of: ctx.as_of,
        age: ctx.age.as_ref().map(|a| a.0),
        classification,
        diagnosis,
        findings,
        workup,
        questions,
    }
}

fn diagnose(ctx: &Ctx<'_>, mimics: Vec<Mimic>, questions: &mut Vec<Question>) -> Diagnosis {
    let answer = |a: Answer| ctx.answer(a);
    // The rule is written only when there is an answer to show.
    let ev = |a: Answer, rule: &dyn Fn() -> String| -> Vec<Evidence> {
        answer(a)
            .map(|x| {
                let value = match x.value {
                    AnswerValue::YesNo(b) => if b { "yes" } else { "no" }.to_owned(),
                    AnswerValue::Number(n) => n.to_string(),
                };
                let source = match &x.source.field {
                    Some(f) => format!("{}#{f}", x.source.source),
                    None => x.source.source.clone(),
                };
                vec![Evidence {
                    source,
                    fact: a.name().to_owned(),
                    value,
                    date: None,
                    rule: rule(),
                    tag: Tag::Verified,
                    counted: true,
                }]
            })
            .unwrap_or_default()
    };
    let yes_no = |a: Answer| match answer(a).map(|x| x.value) {
        Some(AnswerValue::YesNo(true)) => Tri::Met,
        Some(AnswerValue::YesNo(false)) => Tri::NotMet,
        _ => Tri::Unknown,
    };
    let core = [
        (1u8, "urge to move the legs", Answer::Urge),
        (2, "begins or worsens at rest", Answer::RestWorse),
        (3, "relieved by movement", Answer::MovementRelief),
        (4, "worse in the evening or at night", Answer::EveningWorse),
    ];
    let mut criteria: Vec<CriterionResult> = core
        .iter()
        .map(|&(n, name, a)| CriterionResult {
            number: n,
            name,
            value: yes_no(a),
            evidence: ev(a, &|| format!("IRLSSG criterion {n}: {name}")),
        })
        .collect();
    let c5_rule = "IRLSSG criterion 5: not solely explained by another condition";
    let mimic_present = mimics.iter().any(|m| m.status == Status::Present);
    let c5 = match yes_no(Answer::ExplainedByOther) {
        Tri::Met => Tri::NotMet,
        _ if mimic_present => Tri::Unknown,
        Tri::NotMet => Tri::Met,
        Tri::Unknown => Tri::Unknown,
    };
    let mut c5_evidence = ev(Answer::ExplainedByOther, &|| c5_rule.to_owned());
    for m in mimics.iter().filter(|m| m.status == Status::Present) {
        for e in &m.evidence {
            let mut e = e.clone();
            e.rule = format!("{c5_rule}: look-alike `{}` present", m.id);
            c5_evidence.push(e);
        }
    }
    criteria.push(CriterionResult {
        number: 5,
        name: "not explained by another condition",
        value: c5,
        evidence: c5_evidence,
    });

    for (c, a) in criteria.iter().zip([
        Answer::Urge,
        Answer::RestWorse,
        Answer::MovementRelief,
        Answer::EveningWorse,
        Answer::ExplainedByOther,
    ]) {
        if ctx.follow_up && c.value == Tri::Unknown && answer(a).is_none() {
            ask(questions, "answer.", a.name(), a.question(), "diagnosis");
        }
    }
    let status = if criteria.iter().any(|c| c.value == Tri::NotMet) {
        DiagnosisStatus::CriteriaNotMet
    } else if criteria.iter().all(|c| c.value == Tri::Met) {
        DiagnosisStatus::CriteriaMet
    } else {
        DiagnosisStatus::Incomplete
    };
    let recorded = ctx
        .rec
        .conditions
        .iter()
        .filter(|c| c.sets.iter().any(|s| &**s == "rls"))
        .filter(|c| c.onset.is_none_or(|d| d <= ctx.as_of))
        .map(|c| Evidence {
            source: c.source.source.clone(),
            fact: "rls".to_owned(),
            value: c.display.clone(),
            date: c.onset,
            rule: "restless legs syndrome recorded as a diagnosis".to_owned(),
            tag: Tag::Corroborated,
            counted: true,
        })
        .collect();
    Diagnosis { status, criteria, mimics, recorded }
}

/// Adds `cause` to the question `{prefix}{name}`, asking it first if it is new.
fn ask(questions: &mut Vec<Question>, prefix: &str, name: &str, text: &str, cause: &str) {
    let is = |q: &Question| {
        q.id.len() == prefix.len() + name.len() && q.id.starts_with(prefix) && q.id.ends_with(name)
    };
    let at = match questions.iter().position(is) {
        Some(at) => at,
        None => {
            questions.push(Question {
                id: format!("{prefix}{name}"),
                text: text.to_owned(),
                for_causes: Vec::new(),
            });
            questions.len() - 1
        }
    };
    let q = &mut questions[at];
    if !q.for_causes.iter().any(|c| c == cause) {
        q.for_causes.push(cause.to_owned());
    }
}

fn list(names: &[&str]) -> String {
    match names {
        [] => String::new(),
        [one] => (*one).to_owned(),
        [init @ .., last] => format!("{} and {last}", init.join(", ")),
    }
}

fn classify(ctx: &Ctx<'_>, findings: &[Finding]) -> Classification {
    let cls = ctx.kb.classification();
    let outcomes: Vec<Outcome> = cls.criteria.iter().map(|c| ctx.criterion(c, false)).collect();
    let core = value(&cls.core_workup, &outcomes);
    let core_done = core == Tri::Met;
    let names = |kind: CauseKind, status: Status| -> Vec<&str> {
        findings
            .iter()
            .filter(|f| f.kind == kind && f.status == status)
            .map(|f| f.name.as_str())
            .collect()
    };
    let secondary = names(CauseKind::SecondaryCause, Status::Present);
    let aggravators = names(CauseKind::Aggravator, Status::Present);
    let contributors = if aggravators.is_empty() {
        String::new()
    } else {
        format!("; contributing aggravators: {}", list(&aggravators))
    };
    if !secondary.is_empty() {
        return Classification {
            kind: ClassificationKind::Secondary,
            summary: format!(
                "Points to secondary RLS: {} present{contributors}.",
                list(&secondary)
            ),
            core_workup_done: core_done,
        };
    }
    if core_done {
        return Classification {
            kind: ClassificationKind::Primary,
            summary: format!(
                "No secondary cause found and the core work-up is complete, so the picture fits primary RLS{contributors}."
            ),
            core_workup_done: true,
        };
    }
    let mut gaps = Vec::new();
    let mut idx = Vec::new();
    leaves(&cls.core_workup, &mut idx);
    let not_on_record = |id: &str| {
        idx.iter().any(|&i| {
            cls.criteria.get(i).is_some_and(|c| c.id == id)
                && outcomes.get(i).is_some_and(|o| o.value != Tri::Met)
        })
    };
    if not_on_record("ferritin-known") {
        gaps.push("ferritin");
    }
    if not_on_record("tsat-known") {
        gaps.push("transferrin saturation");
    }
    let kidney = ["egfr-known", "creatinine-known", "esrd-recorded", "ckd-recorded"];
    if kidney.iter().all(|k| not_on_record(k)) {
        gaps.push("kidney function");
    }
    if core != Tri::Met && gaps.is_empty() {
        gaps.push("pregnancy status");
    }
    let possible = names(CauseKind::SecondaryCause, Status::Possible);
    let maybe = if possible.is_empty() {
        String::new()
    } else {
        format!("; possible: {}", list(&possible))
    };
    Classification {
        kind: ClassificationKind::Undetermined,
        summary: format!(
            "Primary or secondary cannot be told yet: no secondary cause is present, but the core work-up lacks {} within 12 months{maybe}{contributors}.",
            list(&gaps)
        ),
        core_workup_done: false,
    }
}
