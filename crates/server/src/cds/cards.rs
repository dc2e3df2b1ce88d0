//! Cards from assessments: the only place that knows what restless says in an EHR.
//!
//! - `patient-view`, for a patient with restless legs (an RLS diagnosis recorded, or the
//!   diagnostic criteria met): one card per secondary cause present, one per aggravating
//!   medicine present, and one when ferritin or transferrin saturation was never checked or is
//!   older than 12 months (unless iron deficiency is already shown).
//! - `order-select` / `order-sign`: one warning per draft order and aggravator the order would
//!   make present, naming the drug, the strength of the evidence and the safer alternatives as
//!   suggestions that update or remove the draft order.
//!
//! Card text carries the patient's evidence (that is its point, and it goes back to the EHR that
//! sent it); patient-derived text is escaped for Markdown.

use std::fmt::Write as _;

use restless_engine::{Assessment, DiagnosisStatus, Evidence, Finding, Status};
use restless_facts::{Date, FactKey, PatientRecord, months_before};
use restless_kb::{CauseKind, Kb, Strength};
use serde_json::{Value, json};

use super::record::DraftMedication;
use super::wire::{
    Action, ActionType, Card, Coding, Indicator, Link, SelectionBehavior, Source, Suggestion,
    summary,
};

/// The source label of every card.
pub const SOURCE_LABEL: &str = "restless";
/// The topic code of the iron work-up card.
pub const IRON_WORKUP: &str = "iron-workup";
const LOINC: &str = "http://loinc.org";
const RXNORM: &str = "http://www.nlm.nih.gov/research/umls/rxnorm";

/// What every card needs to know about where it is served from.
pub(crate) struct Ctx<'a> {
    /// The knowledge base.
    pub kb: &'a Kb,
    /// Public base URL.
    pub base_url: &'a str,
    /// Evaluation date.
    pub as_of: Date,
    /// `context.patientId`, when valid.
    pub patient_id: Option<&'a str>,
}

// Card strings are joined with `concat` (one exact allocation) rather than `format!`: a
// patient-view call builds dozens of them.
impl Ctx<'_> {
    fn cause_url(&self, id: &str) -> String {
        [self.base_url, "/v1/causes/", id].concat()
    }

    fn source(&self, code: &str, display: &str) -> Source {
        let causes = [self.base_url, "/v1/causes"].concat();
        Source {
            label: SOURCE_LABEL.to_owned(),
            url: Some(causes.clone()),
            topic: Some(Coding {
                system: causes,
                code: code.to_owned(),
                display: Some(display.to_owned()),
            }),
        }
    }

    fn reasons(&self, items: &[(&str, &str)]) -> Vec<Coding> {
        items
            .iter()
            .map(|(code, display)| Coding {
                system: [self.base_url, "/cds-services/override-reasons"].concat(),
                code: (*code).to_owned(),
                display: Some((*display).to_owned()),
            })
            .collect()
    }

    fn link(&self, id: &str, name: &str) -> Link {
        Link {
            label: ["restless: ", name].concat(),
            url: self.cause_url(id),
            kind: "absolute".to_owned(),
        }
    }
}

/// A suggestion's id: random.
fn uuid() -> String {
    crate::random::uuid_v4().to_string()
}

/// Marks a card id written by [`card_uuid`] (high nibble of byte 11).
const CARD_MARK: u8 = 0xB0;

/// FNV-1a, 32 bits: a stable fingerprint of a topic code (not a secret).
fn fingerprint(topic: &str) -> u32 {
    topic.bytes().fold(0x811c_9dc5_u32, |h, b| (h ^ u32::from(b)).wrapping_mul(0x0100_0193))
}

/// A card's id: a UUID (RFC 9562 version 8) that carries, beside 82 random bits, the card's
/// indicator and a fingerprint of its topic. Feedback on the card then says what it was about
/// without restless keeping any record of the cards it issues.
pub fn card_uuid(topic: &str, indicator: Indicator) -> String {
    let mut b = crate::random::bytes16();
    let code = match indicator {
        Indicator::Info => 0,
        Indicator::Warning => 1,
        Indicator::Critical => 2,
    };
    b[11] = CARD_MARK | code;
    b[12..16].copy_from_slice(&fingerprint(topic).to_be_bytes());
    uuid::Uuid::new_v8(b).to_string()
}

/// The topic (a cause id of the knowledge base, or [`IRON_WORKUP`]) and indicator of a card
/// issued by restless, from its id; `None` for any other id.
#[must_use]
pub fn card_of_uuid(kb: &Kb, id: &str) -> Option<(String, Indicator)> {
    let u = uuid::Uuid::parse_str(id.trim()).ok()?;
    let b = u.as_bytes();
    if u.get_version_num() != 8 || b[11] & 0xF0 != CARD_MARK {
        return None;
    }
    let indicator = match b[11] & 0x0F {
        0 => Indicator::Info,
        1 => Indicator::Warning,
        2 => Indicator::Critical,
        _ => return None,
    };
    let print = u32::from_be_bytes([b[12], b[13], b[14], b[15]]);
    let topic = std::iter::once(IRON_WORKUP)
        .chain(kb.causes().iter().map(|c| c.id.as_str()))
        .find(|t| fingerprint(t) == print)?;
    Some((topic.to_owned(), indicator))
}

/// Escapes text from a patient's record for Markdown.
pub(crate) fn md(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    md_into(&mut out, s);
    out
}

/// Appends `s` to `out`, escaped for Markdown as [`md`] escapes it.
fn md_into(out: &mut String, s: &str) {
    // Every character escaped is ASCII, so the text is copied in runs between them.
    let mut from = 0;
    for (i, b) in s.bytes().enumerate() {
        if matches!(b, b'\\' | b'`' | b'*' | b'_' | b'[' | b']' | b'<' | b'>' | b'#' | b'|' | b'!')
        {
            out.push_str(&s[from..i]);
            out.push('\\');
            from = i;
        }
    }
    out.push_str(&s[from..]);
}

fn indicator(strength: Strength) -> Indicator {
    match strength {
        Strength::Strong | Strength::Moderate => Indicator::Warning,
        Strength::Weak | Strength::Contested => Indicator::Info,
    }
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    c.next().map_or_else(String::new, |f| f.to_uppercase().chain(c).collect())
}

fn evidence_lines(out: &mut String, evidence: &[Evidence]) {
    let mut seen: Vec<(&str, &str, &str)> = Vec::new();
    for e in evidence.iter().filter(|e| e.counted) {
        // One line per fact read: a value meeting two thresholds is shown once.
        let key = (e.source.as_str(), e.fact.as_str(), e.value.as_str());
        if seen.contains(&key) {
            continue;
        }
        seen.push(key);
        let source = e.source.split('#').next().unwrap_or(&e.source);
        out.push_str("- ");
        md_into(out, &e.fact);
        out.push_str(": ");
        md_into(out, &e.value);
        out.push_str(" (");
        md_into(out, source);
        if let Some(d) = e.date {
            // A date is digits and hyphens: nothing to escape.
            let _ = write!(out, ", {d}");
        }
        out.push_str(") — ");
        md_into(out, &e.rule);
        out.push('\n');
    }
}

/// Whether the assessment shows restless legs syndrome.
#[must_use]
pub(crate) fn has_rls(a: &Assessment) -> bool {
    !a.diagnosis.recorded.is_empty() || a.diagnosis.status == DiagnosisStatus::CriteriaMet
}

fn rls_basis(a: &Assessment) -> String {
    match a.diagnosis.recorded.first() {
        Some(e) => format!(
            "Restless legs syndrome is recorded ({}, {}).",
            md(&e.value),
            md(e.source.split('#').next().unwrap_or(&e.source))
        ),
        None => {
            "The record meets the five diagnostic criteria of restless legs syndrome.".to_owned()
        }
    }
}

/// The first evidence of a finding that is a medicine (a drug class its criteria read): an
/// aggravator such as opioid withdrawal can also be present through a coded diagnosis.
fn drug_evidence<'a>(kb: &Kb, f: &'a Finding) -> Option<&'a Evidence> {
    let classes = cause_classes(kb, &f.cause);
    f.evidence.iter().find(|e| e.counted && classes.contains(&e.fact.as_str()))
}

/// Whether a cause is a medicine (its criteria read the medication list).
fn is_drug_cause(kb: &Kb, cause: &str) -> bool {
    kb.cause(cause).is_some_and(|c| {
        c.kind == CauseKind::Aggravator
            && c.criteria.iter().any(|k| matches!(k.fact, FactKey::Drug(_)))
    })
}

/// The drug classes a cause's criteria read.
fn cause_classes<'a>(kb: &'a Kb, cause: &str) -> Vec<&'a str> {
    kb.cause(cause)
        .map(|c| {
            c.criteria
                .iter()
                .filter_map(|k| match &k.fact {
                    FactKey::Drug(class) => Some(&**class),
                    _ => None,
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Drug classes that some aggravator reads: a draft order outside them cannot make a card.
pub(crate) fn aggravating_classes(kb: &Kb) -> Vec<&str> {
    let mut out: Vec<&str> = kb
        .causes()
        .iter()
        .filter(|c| c.kind == CauseKind::Aggravator)
        .flat_map(|c| c.criteria.iter())
        .filter_map(|k| match &k.fact {
            FactKey::Drug(class) => Some(&**class),
            _ => None,
        })
        .collect();
    out.sort_unstable();
    out.dedup();
    out
}

fn finding_card(ctx: &Ctx<'_>, f: &Finding, headline: String, extra: &str) -> Card {
    let mut detail = String::with_capacity(1024);
    evidence_lines(&mut detail, &f.evidence);
    if let Some(c) = ctx.kb.cause(&f.cause) {
        detail.push('\n');
        detail.push_str(&c.summary);
        detail.push_str("\n\n");
    }
    detail.push_str(extra);
    detail.push_str(&f.advice);
    detail.push_str("\n\nStrength of the evidence: **");
    detail.push_str(f.strength.name());
    detail.push_str("**.");
    Card {
        uuid: card_uuid(&f.cause, indicator(f.strength)),
        summary: summary(&headline),
        detail: Some(detail),
        indicator: indicator(f.strength),
        source: ctx.source(&f.cause, &f.name),
        suggestions: Vec::new(),
        selection_behavior: None,
        override_reasons: ctx.reasons(&[
            ("already-addressed", "Already being addressed"),
            ("not-relevant", "Not relevant for this patient"),
        ]),
        links: vec![ctx.link(&f.cause, &f.name)],
    }
}

/// The cards of `patient-view`.
pub(crate) fn patient_view(ctx: &Ctx<'_>, a: &Assessment, rec: &PatientRecord) -> Vec<Card> {
    if !has_rls(a) {
        return Vec::new();
    }
    let mut cards = Vec::new();
    for f in a.findings.iter().filter(|f| f.status == Status::Present) {
        if f.kind == CauseKind::SecondaryCause {
            let headline = [&*f.name, " may be causing this patient's restless legs"].concat();
            cards.push(finding_card(ctx, f, headline, ""));
        } else if f.kind == CauseKind::Aggravator
            && let Some(drug) = drug_evidence(ctx.kb, f)
        {
            let extra = if f.alternatives.is_empty() {
                String::new()
            } else {
                format!("Less likely to worsen restless legs: {}.\n\n", f.alternatives.join(", "))
            };
            let headline = format!("{} may worsen restless legs ({})", drug.value, f.name);
            cards.push(finding_card(ctx, f, headline, &extra));
        }
    }
    let iron_shown =
        a.findings.iter().any(|f| f.cause == "iron-deficiency" && f.status == Status::Present);
    if !iron_shown && let Some(card) = iron_workup(ctx, rec) {
        cards.push(card);
    }
    // Warnings first, stable otherwise.
    cards.sort_by_key(|c| match c.indicator {
        Indicator::Critical => 0,
        Indicator::Warning => 1,
        Indicator::Info => 2,
    });
    cards
}

/// The newest date of a current result of any of `analytes`, and the newest of any date.
fn latest(rec: &PatientRecord, analytes: &[&str], from: Date, as_of: Date) -> (bool, Option<Date>) {
    let mut current = false;
    let mut newest: Option<Date> = None;
    for l in rec.labs.iter().filter(|l| analytes.contains(&&*l.analyte)) {
        if let Some(d) = l.date.filter(|d| *d <= as_of) {
            current |= d >= from;
            newest = newest.max(Some(d));
        }
    }
    (current, newest)
}

fn iron_workup(ctx: &Ctx<'_>, rec: &PatientRecord) -> Option<Card> {
    let from = months_before(ctx.as_of, 12);
    let (ferritin_ok, ferritin_last) = latest(rec, &["ferritin"], from, ctx.as_of);
    let (tsat_ok, tsat_last) = latest(rec, &["transferrin-saturation"], from, ctx.as_of);
    let (iron_ok, iron_last) = latest(rec, &["serum-iron"], from, ctx.as_of);
    let (binding_ok, _) = latest(rec, &["tibc", "transferrin"], from, ctx.as_of);
    let tsat_ok = tsat_ok || (iron_ok && binding_ok);
    let tsat_last = tsat_last.max(iron_last);
    let t = ctx.kb.terminology();
    let mut due: Vec<(&str, &str, Option<Date>)> = Vec::new();
    if !ferritin_ok {
        due.push(("ferritin", "ferritin", ferritin_last));
    }
    if !tsat_ok {
        due.push(("transferrin-saturation", "transferrin saturation", tsat_last));
    }
    if due.is_empty() {
        return None;
    }
    let names: Vec<&str> = due.iter().map(|d| d.1).collect();
    let headline = if due.iter().all(|d| d.2.is_none()) {
        format!("Check {}: never measured for this patient with restless legs", names.join(" and "))
    } else {
        format!("Check {}: no result in the last 12 months", names.join(" and "))
    };
    let mut detail = String::from(
        "Iron deficiency is the most common reversible cause of restless legs, and guidelines \
         ask for ferritin and transferrin saturation in every patient, repeated when symptoms \
         worsen. Treatment thresholds for restless legs are higher than for anaemia \
         (ferritin ≤ 75 ng/mL or transferrin saturation < 20 %).\n\n",
    );
    for (_, name, last) in &due {
        match last {
            Some(d) => {
                let _ = writeln!(detail, "- {name}: last result {d}, more than 12 months ago");
            }
            None => {
                let _ = writeln!(detail, "- {name}: no result in the record");
            }
        }
    }
    let mut actions = Vec::new();
    if let Some(patient) = ctx.patient_id {
        for (analyte, name, _) in &due {
            let Some(a) = t.analyte(analyte) else { continue };
            let Some(code) =
                a.workup_loinc.as_deref().or_else(|| a.loinc.first().map(String::as_str))
            else {
                continue;
            };
            let text = a.workup.clone().unwrap_or_else(|| (*name).to_owned());
            actions.push(Action {
                kind: ActionType::Create,
                description: format!("Order {text}"),
                resource: Some(json!({
                    "resourceType": "ServiceRequest",
                    "status": "draft",
                    "intent": "order",
                    "code": {"coding": [{"system": LOINC, "code": code, "display": text}], "text": text},
                    "subject": {"reference": format!("Patient/{patient}")},
                    "reasonCode": [{"text": "Restless legs syndrome: iron studies"}],
                })),
                resource_id: None,
            });
        }
    }
    let suggestions = if actions.is_empty() {
        Vec::new()
    } else {
        vec![Suggestion {
            label: format!("Order {}", names.join(" and ")),
            uuid: uuid(),
            is_recommended: None,
            actions,
        }]
    };
    let name = "Iron studies for restless legs";
    Some(Card {
        uuid: card_uuid(IRON_WORKUP, Indicator::Info),
        summary: summary(&headline),
        detail: Some(detail),
        indicator: Indicator::Info,
        source: ctx.source(IRON_WORKUP, name),
        selection_behavior: (!suggestions.is_empty()).then_some(SelectionBehavior::AtMostOne),
        suggestions,
        override_reasons: ctx.reasons(&[
            ("already-ordered", "Already ordered"),
            ("results-elsewhere", "Recent results held elsewhere"),
            ("not-relevant", "Not relevant for this patient"),
        ]),
        links: vec![ctx.link("iron-deficiency", "iron deficiency and restless legs")],
    })
}

/// The replacement of a draft order's medicine by `alternative`, dose left to the prescriber.
fn replaced(order: &Value, kb: &Kb, alternative: &str) -> Value {
    let mut r = order.clone();
    let drug = kb.terminology().drug(alternative);
    let mut coding = Vec::new();
    if let Some(rx) = drug.and_then(|d| d.rxcui.as_deref()) {
        coding.push(json!({"system": RXNORM, "code": rx, "display": alternative}));
    }
    let mut concept = json!({"text": capitalised(alternative)});
    if !coding.is_empty() {
        concept["coding"] = Value::Array(coding);
    }
    if let Some(o) = r.as_object_mut() {
        o.remove("medicationReference");
        o.remove("medication");
        o.insert("medicationCodeableConcept".into(), concept);
        // A dose of one drug is no dose of another.
        o.remove("dosageInstruction");
        o.remove("dispenseRequest");
        o.remove("text");
    }
    r
}

/// The warnings for draft orders: `with_drafts` is the assessment of the record plus the draft
/// medications, `baseline` of the record alone.
pub(crate) fn draft_orders(
    ctx: &Ctx<'_>,
    baseline: &Assessment,
    with_drafts: &Assessment,
    drafts: &[DraftMedication],
) -> Vec<Card> {
    if !has_rls(baseline) {
        return Vec::new();
    }
    let t = ctx.kb.terminology();
    let mut cards = Vec::new();
    for d in drafts {
        for f in with_drafts.findings.iter().filter(|f| {
            f.status == Status::Present
                && f.kind == CauseKind::Aggravator
                && is_drug_cause(ctx.kb, &f.cause)
        }) {
            let from_draft = f
                .evidence
                .iter()
                .any(|e| e.source.split('#').next() == Some(d.fact.source.source.as_str()));
            if !from_draft {
                continue;
            }
            let classes = cause_classes(ctx.kb, &f.cause);
            let members: Vec<&str> = d
                .fact
                .ingredients
                .iter()
                .filter(|i| {
                    t.drug(i)
                        .is_some_and(|x| x.classes.iter().any(|c| classes.contains(&c.as_str())))
                })
                .map(AsRef::as_ref)
                .collect();
            let drug = if members.is_empty() {
                d.fact.display.clone()
            } else {
                members.iter().map(|m| capitalised(m)).collect::<Vec<_>>().join(" + ")
            };
            let mut alternatives: Vec<&str> = Vec::new();
            for c in &classes {
                if let Some(cl) = t.drug_class(c) {
                    for a in &cl.alternatives {
                        if !alternatives.contains(&a.as_str()) && !members.contains(&a.as_str()) {
                            alternatives.push(a);
                        }
                    }
                }
            }
            let cause = ctx.kb.cause(&f.cause);
            let mut detail = format!(
                "**{}** ({}, {}) belongs to a group of medicines that can bring on or worsen \
                 restless legs: {}.\n\n{}\n\n",
                md(&drug),
                md(&d.fact.display),
                md(&d.reference),
                f.name,
                rls_basis(baseline)
            );
            if let Some(c) = cause {
                let _ = write!(detail, "{}\n\n", c.evidence);
            }
            let _ = write!(detail, "Strength of the evidence: **{}**.\n\n", f.strength.name());
            if !alternatives.is_empty() {
                let _ = write!(
                    detail,
                    "Less likely to worsen restless legs: {}.\n\n",
                    alternatives.join(", ")
                );
            }
            detail.push_str(&f.advice);
            let mut suggestions: Vec<Suggestion> = alternatives
                .iter()
                .map(|alt| Suggestion {
                    label: format!("Order {alt} instead of {}", drug.to_lowercase()),
                    uuid: uuid(),
                    is_recommended: None,
                    actions: vec![Action {
                        kind: ActionType::Update,
                        description: format!(
                            "Replace {} with {alt} in this draft order; enter the dose and quantity",
                            drug.to_lowercase()
                        ),
                        resource: Some(replaced(&d.resource, ctx.kb, alt)),
                        resource_id: None,
                    }],
                })
                .collect();
            suggestions.push(Suggestion {
                label: format!("Remove the {} order", drug.to_lowercase()),
                uuid: uuid(),
                is_recommended: None,
                actions: vec![Action {
                    kind: ActionType::Delete,
                    description: format!("Remove the draft order {}", d.reference),
                    resource: None,
                    resource_id: Some(d.reference.clone()),
                }],
            });
            let verb = if f.strength == Strength::Contested { "may" } else { "can" };
            cards.push(Card {
                uuid: card_uuid(&f.cause, indicator(f.strength)),
                summary: summary(&format!(
                    "{drug} {verb} worsen this patient's restless legs (evidence: {})",
                    f.strength.name()
                )),
                detail: Some(detail),
                indicator: indicator(f.strength),
                source: ctx.source(&f.cause, &f.name),
                suggestions,
                selection_behavior: Some(SelectionBehavior::AtMostOne),
                override_reasons: ctx.reasons(&[
                    ("benefit-outweighs-risk", "Benefit outweighs the risk for this patient"),
                    ("tolerated-before", "Taken before without worse restless legs"),
                    ("will-monitor", "Will monitor restless legs symptoms"),
                    ("no-rls", "Patient does not have restless legs syndrome"),
                ]),
                links: vec![ctx.link(&f.cause, &f.name)],
            });
        }
    }
    cards
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    fn kb() -> Kb {
        Kb::embedded().unwrap()
    }

    #[test]
    fn a_card_id_is_a_uuid_that_gives_back_its_topic_and_indicator() {
        let kb = kb();
        let topics: Vec<&str> =
            std::iter::once(IRON_WORKUP).chain(kb.causes().iter().map(|c| c.id.as_str())).collect();
        // Decoding is unambiguous only while no two topics share a fingerprint.
        let prints: HashSet<u32> = topics.iter().map(|t| fingerprint(t)).collect();
        assert_eq!(prints.len(), topics.len(), "two topics share a fingerprint");
        for t in &topics {
            for ind in [Indicator::Info, Indicator::Warning, Indicator::Critical] {
                let id = card_uuid(t, ind);
                let u = uuid::Uuid::parse_str(&id).unwrap();
                assert_eq!(u.get_version_num(), 8);
                assert_eq!(u.get_variant(), uuid::Variant::RFC4122);
                assert_eq!(card_of_uuid(&kb, &id), Some(((*t).to_owned(), ind)));
                assert_eq!(card_of_uuid(&kb, &id.to_uppercase()), Some(((*t).to_owned(), ind)));
            }
        }
        let many: HashSet<String> =
            (0..10_000).map(|_| card_uuid(IRON_WORKUP, Indicator::Info)).collect();
        assert_eq!(many.len(), 10_000);
        // Ids restless did not issue say nothing.
        assert_eq!(card_of_uuid(&kb, &uuid::Uuid::new_v4().to_string()), None);
        assert_eq!(card_of_uuid(&kb, &card_uuid("not-a-topic", Indicator::Info)), None);
        assert_eq!(card_of_uuid(&kb, "9368d37b"), None);
        assert_eq!(card_of_uuid(&kb, ""), None);
    }

    #[test]
    fn markdown_escaping_marks_each_special_character_and_keeps_the_rest() {
        assert_eq!(md(""), "");
        assert_eq!(md("plain — text, 5 mg"), "plain — text, 5 mg");
        assert_eq!(md(r"a\b`c*d_e[f]g<h>i#j|k!l"), r"a\\b\`c\*d\_e\[f\]g\<h\>i\#j\|k\!l");
        assert_eq!(md("**ß**"), r"\*\*ß\*\*");
        let mut out = "- ".to_owned();
        md_into(&mut out, "é_");
        assert_eq!(out, r"- é\_");
    }
}
