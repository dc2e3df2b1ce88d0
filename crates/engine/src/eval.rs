//! Three-valued evaluation of criteria and formulas over one person's facts.

use restless_facts::{
    AnswerValue, ConditionStatus, Date, FactKey, LabResult, PatientRecord, Provenance,
    months_before,
};
use restless_kb::{Criterion, Expr, Kb, Tag, Test};

use crate::assessment::{Evidence, Tri};
use crate::derive::Derived;

/// Everything evaluation needs, borrowed for one assessment.
pub(crate) struct Ctx<'a> {
    pub kb: &'a Kb,
    pub rec: &'a PatientRecord,
    pub as_of: Date,
    pub age: Option<(u32, Provenance)>,
    /// Whether to build evidence (a report) or only statuses (a population screen).
    pub explain: bool,
    /// Whether to list missing facts and questions (see `AssessOptions::follow_up`).
    pub follow_up: bool,
    /// Whether findings list their references and seed claims.
    pub sources: bool,
    /// Whether findings that are not present are explained too (see `AssessOptions::why_not`).
    pub why_not: bool,
    /// Lab results by analyte, newest first.
    labs: Vec<&'a LabResult>,
    /// Drug classes of the medicines current at as-of, and condition sets of the conditions
    /// begun by then: most criteria are settled by their absence here, without a search.
    classes_now: Vec<&'a str>,
    sets_on_record: Vec<&'a str>,
}

/// The outcome of one criterion: its value, the evidence it rests on and, when unknown or not
/// yet on record, the fact that would settle it.
/// `missing` is the criterion's own fact key, borrowed from the knowledge base.
#[derive(Clone, Debug)]
pub(crate) struct Outcome<'k> {
    pub value: Tri,
    pub evidence: Vec<Evidence>,
    pub missing: Option<&'k FactKey>,
}

fn src(p: &Provenance) -> String {
    match &p.field {
        Some(f) => format!("{}#{f}", p.source),
        None => p.source.clone(),
    }
}

fn fmt_num(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 { format!("{}", n as i64) } else { format!("{n}") }
}

impl<'a> Ctx<'a> {
    pub(crate) fn new(
        kb: &'a Kb,
        rec: &'a PatientRecord,
        derived: &'a Derived,
        as_of: Date,
    ) -> Ctx<'a> {
        let mut labs: Vec<&LabResult> = rec.labs.iter().chain(&derived.labs).collect();
        // By analyte, then newest first; ties broken by source so the order of the input never
        // matters.
        labs.sort_by(|a, b| {
            a.analyte
                .cmp(&b.analyte)
                .then_with(|| b.date.cmp(&a.date))
                .then_with(|| a.source.cmp(&b.source))
                .then_with(|| a.as_read.cmp(&b.as_read))
        });
        let t = kb.terminology();
        let mut classes_now: Vec<&str> = Vec::new();
        for m in rec.medications.iter().filter(|m| rec.deceased.is_none() && m.current_on(as_of)) {
            for cl in t.classes_of(&m.ingredients, &m.classes) {
                if !classes_now.contains(&cl) {
                    classes_now.push(cl);
                }
            }
        }
        let mut sets_on_record: Vec<&str> = Vec::new();
        for c in rec.conditions.iter().filter(|c| c.onset.is_none_or(|d| d <= as_of)) {
            for s in &c.sets {
                if !sets_on_record.contains(&&**s) {
                    sets_on_record.push(s);
                }
            }
        }
        Ctx {
            kb,
            rec,
            as_of,
            age: derived.age.clone(),
            explain: true,
            follow_up: true,
            sources: true,
            why_not: true,
            labs,
            classes_now,
            sets_on_record,
        }
    }

    /// The answer to a question. When the input answers it more than once, the choice must not
    /// depend on input order: the answer from the first source in sort order wins, and among
    /// answers from the same source, "yes" and the larger number.
    pub(crate) fn answer(
        &self,
        a: restless_facts::Answer,
    ) -> Option<&'a restless_facts::AnswerFact> {
        let rank = |v: &AnswerValue| match v {
            AnswerValue::YesNo(b) => (u8::from(!*b), 0.0),
            AnswerValue::Number(n) => (2, -n),
        };
        self.rec.answers.iter().filter(|x| x.answer == a).min_by(|x, y| {
            x.source.cmp(&y.source).then_with(|| {
                rank(&x.value).partial_cmp(&rank(&y.value)).unwrap_or(std::cmp::Ordering::Equal)
            })
        })
    }

    /// Evidence items, built only when explaining.
    fn items(explain: bool, make: impl FnOnce() -> Vec<Evidence>) -> Vec<Evidence> {
        if explain { make() } else { Vec::new() }
    }

    fn ev(
        &self,
        c: &Criterion,
        source: String,
        fact: &str,
        value: String,
        date: Option<Date>,
    ) -> Evidence {
        Evidence {
            source,
            fact: fact.to_owned(),
            value,
            date,
            rule: c.label.clone(),
            tag: c.tag,
            counted: true,
        }
    }

    /// Labs of an analyte within the window ending at as-of (newest first), and stale ones
    /// (older or undated), as two iterators over the same list.
    fn labs_of(
        &self,
        id: &str,
        months: u32,
    ) -> (
        impl Iterator<Item = &'a LabResult> + use<'a, '_>,
        impl Iterator<Item = &'a LabResult> + use<'a, '_>,
    ) {
        let from = months_before(self.as_of, months);
        let as_of = self.as_of;
        let from_at = self.labs.partition_point(|l| &*l.analyte < id);
        let to = from_at + self.labs[from_at..].partition_point(|l| &*l.analyte == id);
        let all = &self.labs[from_at..to];
        let current =
            all.iter().copied().filter(move |l| l.date.is_some_and(|d| d <= as_of && d >= from));
        let stale = all.iter().copied().filter(move |l| l.date.is_none_or(|d| d < from));
        (current, stale)
    }

    /// The outcome of a criterion, with its evidence only when `explain` (the value and the
    /// missing fact are the same either way).
    pub(crate) fn criterion<'k>(&self, c: &'k Criterion, explain: bool) -> Outcome<'k> {
        let unknown = |missing: &'k FactKey| Outcome {
            value: Tri::Unknown,
            evidence: Vec::new(),
            missing: Some(missing),
        };
        let tri = |b: bool| if b { Tri::Met } else { Tri::NotMet };
        match (&c.fact, &c.test) {
            (FactKey::Age, test) => match &self.age {
                None if *test == Test::Known => {
                    Outcome { value: Tri::NotMet, evidence: Vec::new(), missing: Some(&c.fact) }
                }
                None => unknown(&c.fact),
                Some((age, p)) => {
                    let value = match test {
                        Test::Compare { op, threshold, .. } => {
                            tri(op.holds(f64::from(*age), *threshold))
                        }
                        _ => Tri::Met,
                    };
                    Outcome {
                        value,
                        evidence: Self::items(explain, || {
                            vec![self.ev(c, src(p), "age", format!("{age} years"), None)]
                        }),
                        missing: None,
                    }
                }
            },
            (FactKey::Sex, test) => match &self.rec.sex {
                None if *test == Test::Known => {
                    Outcome { value: Tri::NotMet, evidence: Vec::new(), missing: Some(&c.fact) }
                }
                None => unknown(&c.fact),
                Some((sex, p)) => {
                    let value = match test {
                        Test::SexIs(want) => tri(sex == want),
                        _ => Tri::Met,
                    };
                    Outcome {
                        value,
                        evidence: Self::items(explain, || {
                            vec![self.ev(c, src(p), "sex", sex.name().to_owned(), None)]
                        }),
                        missing: None,
                    }
                }
            },
            (FactKey::OnsetAge, test) => match &self.rec.onset_age {
                None if *test == Test::Known => {
                    Outcome { value: Tri::NotMet, evidence: Vec::new(), missing: Some(&c.fact) }
                }
                None => unknown(&c.fact),
                Some((onset, p)) => {
                    let value = match test {
                        Test::Compare { op, threshold, .. } => tri(op.holds(*onset, *threshold)),
                        _ => Tri::Met,
                    };
                    Outcome {
                        value,
                        evidence: Self::items(explain, || {
                            vec![self.ev(
                                c,
                                src(p),
                                "onset-age",
                                format!("{} years", fmt_num(*onset)),
                                None,
                            )]
                        }),
                        missing: None,
                    }
                }
            },
            (FactKey::Lab(id), test) => self.lab(c, id, test, explain),
            (FactKey::Condition(id), _) => self.condition(c, id, explain),
            (FactKey::Drug(id), _) => self.drug(c, id, explain),
            (FactKey::Answer(a), test) => {
                let found = self.answer(*a);
                let key = &c.fact;
                match found {
                    None if *test == Test::Known => {
                        Outcome { value: Tri::NotMet, evidence: Vec::new(), missing: Some(key) }
                    }
                    None => unknown(key),
                    Some(ans) => {
                        let (value, shown) = match (test, ans.value) {
                            (Test::Is(want), AnswerValue::YesNo(b)) => {
                                (tri(b == *want), if b { "yes" } else { "no" }.to_owned())
                            }
                            (Test::Compare { op, threshold, .. }, AnswerValue::Number(n)) => {
                                (tri(op.holds(n, *threshold)), fmt_num(n))
                            }
                            (Test::Known, AnswerValue::YesNo(b)) => {
                                (Tri::Met, if b { "yes" } else { "no" }.to_owned())
                            }
                            (Test::Known, AnswerValue::Number(n)) => (Tri::Met, fmt_num(n)),
                            // A value of the wrong kind cannot come from the adapters; treat it as no data.
                            _ => return unknown(key),
                        };
                        Outcome {
                            value,
                            evidence: Self::items(explain, || {
                                vec![self.ev(c, src(&ans.source), a.name(), shown, None)]
                            }),
                            missing: None,
                        }
                    }
                }
            }
        }
    }

    fn lab<'k>(&self, c: &'k Criterion, id: &str, test: &Test, explain: bool) -> Outcome<'k> {
        let months = c.within_months.unwrap_or(12);
        let (mut current, stale) = self.labs_of(id, months);
        let key = &c.fact;
        let history = |e: &mut Vec<Evidence>| {
            if !explain {
                return;
            }
            for l in stale.take(3) {
                let mut item = self.ev(c, src(&l.source), id, l.as_read.clone(), l.date);
                item.rule = format!(
                    "{} (older than {months} months or undated: shown as history, not counted)",
                    c.label
                );
                item.counted = false;
                e.push(item);
            }
        };
        let Some(latest) = current.next() else {
            let mut evidence = Vec::new();
            history(&mut evidence);
            let value = if *test == Test::Known { Tri::NotMet } else { Tri::Unknown };
            return Outcome { value, evidence, missing: Some(key) };
        };
        let value = match test {
            Test::Compare { op, threshold, .. } => match latest.value.test(*op, *threshold) {
                Some(b) => {
                    if b {
                        Tri::Met
                    } else {
                        Tri::NotMet
                    }
                }
                None => Tri::Unknown,
            },
            _ => Tri::Met,
        };
        let evidence = Self::items(explain, || {
            let mut item = self.ev(c, src(&latest.source), id, latest.as_read.clone(), latest.date);
            if latest.derived {
                item.rule = format!("{} (value calculated by restless)", c.label);
            }
            vec![item]
        });
        Outcome { value, evidence, missing: (value == Tri::Unknown).then_some(key) }
    }

    fn condition<'k>(&self, c: &'k Criterion, id: &str, explain: bool) -> Outcome<'k> {
        let matching = || {
            self.rec
                .conditions
                .iter()
                .filter(move |f| f.sets.iter().any(|s| &**s == id))
                .filter(|f| f.onset.is_none_or(|d| d <= self.as_of))
        };
        let counted =
            || matching().filter(|f| c.include_history || f.status == ConditionStatus::Active);
        let fact = &c.fact;
        if !self.sets_on_record.contains(&id) || counted().next().is_none() {
            let mut evidence = Vec::new();
            for f in matching().take(if explain { 3 } else { 0 }) {
                let mut item =
                    self.ev(c, src(&f.source), id, format!("{} (resolved)", f.display), f.onset);
                item.rule = format!("{} (resolved or inactive: history only)", c.label);
                item.counted = false;
                evidence.push(item);
            }
            let value = if self.rec.reviewed.conditions || c.test == Test::Known {
                Tri::NotMet
            } else {
                Tri::Unknown
            };
            return Outcome { value, evidence, missing: (value == Tri::Unknown).then_some(fact) };
        }
        let evidence = counted()
            .take(if explain { 5 } else { 0 })
            .map(|f| self.ev(c, src(&f.source), id, f.display.clone(), f.onset))
            .collect();
        Outcome { value: Tri::Met, evidence, missing: None }
    }

    fn drug<'k>(&self, c: &'k Criterion, id: &str, explain: bool) -> Outcome<'k> {
        let t = self.kb.terminology();
        let matching = || {
            self.rec
                .medications
                .iter()
                // Nobody takes a medicine after death.
                .filter(|m| self.rec.deceased.is_none() && m.current_on(self.as_of))
                .filter(move |m| t.classes_of(&m.ingredients, &m.classes).any(|cl| cl == id))
        };
        let fact = &c.fact;
        if !self.classes_now.contains(&id) || matching().next().is_none() {
            let value = if self.rec.reviewed.medications
                || self.rec.deceased.is_some()
                || c.test == Test::Known
            {
                Tri::NotMet
            } else {
                Tri::Unknown
            };
            return Outcome {
                value,
                evidence: Vec::new(),
                missing: (value == Tri::Unknown).then_some(fact),
            };
        }
        let evidence = matching()
            .take(if explain { 5 } else { 0 })
            .map(|m| {
                let members: Vec<&str> = m
                    .ingredients
                    .iter()
                    .filter(|i| t.drug(i).is_some_and(|d| d.classes.iter().any(|cl| cl == id)))
                    .map(AsRef::as_ref)
                    .collect();
                let shown = if members.is_empty()
                    || members.iter().any(|i| m.display.to_lowercase() == *i)
                {
                    m.display.clone()
                } else {
                    format!("{} ({})", m.display, members.join(", "))
                };
                let tag = members
                    .iter()
                    .filter_map(|i| t.drug(i))
                    .map(|d| d.tag)
                    .max()
                    .unwrap_or(Tag::Corroborated);
                let mut e = self.ev(c, src(&m.source), id, shown, m.start);
                e.tag = e.tag.max(tag);
                e
            })
            .collect();
        Outcome { value: Tri::Met, evidence, missing: None }
    }
}

/// The value of a formula over already-computed criterion outcomes.
pub(crate) fn value(e: &Expr, outcomes: &[Outcome<'_>]) -> Tri {
    match e {
        Expr::Ref(i) => outcomes.get(*i).map_or(Tri::Unknown, |o| o.value),
        Expr::Not(inner) => !value(inner, outcomes),
        Expr::All(parts) | Expr::Any(parts) => {
            let (decisive, fallback) = poles(e);
            let mut unknown = false;
            for p in parts {
                match value(p, outcomes) {
                    v if v == decisive => return decisive,
                    Tri::Unknown => unknown = true,
                    _ => {}
                }
            }
            if unknown { Tri::Unknown } else { fallback }
        }
    }
}

/// For `All`: (not met, met); for `Any`: (met, not met). The first decides the formula as soon
/// as one part has it; the second is its value when every part has it.
fn poles(e: &Expr) -> (Tri, Tri) {
    if matches!(e, Expr::All(_)) { (Tri::NotMet, Tri::Met) } else { (Tri::Met, Tri::NotMet) }
}

/// Appends the indices of the criteria that decided a formula's value to `out` (sorted, without
/// repeats): the parts that have the formula's value, or all parts when every one was needed.
pub(crate) fn support(e: &Expr, outcomes: &[Outcome<'_>], out: &mut Vec<usize>) {
    let from = out.len();
    support_of(e, outcomes, out);
    out[from..].sort_unstable();
    let mut kept = from;
    for i in from..out.len() {
        if kept == from || out[kept - 1] != out[i] {
            out[kept] = out[i];
            kept += 1;
        }
    }
    out.truncate(kept);
}

fn support_of(e: &Expr, outcomes: &[Outcome<'_>], out: &mut Vec<usize>) {
    match e {
        Expr::Ref(i) => out.push(*i),
        Expr::Not(inner) => support_of(inner, outcomes, out),
        Expr::All(parts) | Expr::Any(parts) => {
            let (_, fallback) = poles(e);
            let v = value(e, outcomes);
            for p in parts {
                if v == fallback || value(p, outcomes) == v {
                    support_of(p, outcomes, out);
                }
            }
        }
    }
}

/// Every criterion index a formula mentions.
pub(crate) fn leaves(e: &Expr, out: &mut Vec<usize>) {
    match e {
        Expr::Ref(i) => out.push(*i),
        Expr::Not(inner) => leaves(inner, out),
        Expr::All(parts) | Expr::Any(parts) => parts.iter().for_each(|p| leaves(p, out)),
    }
}
