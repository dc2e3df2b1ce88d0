//! From raw files to a validated [`Kb`]: every problem is collected, none stops the others.

use std::collections::{BTreeMap, HashMap, HashSet};

use restless_facts::{
    AnswerFact, AnswerKind, AnswerValue, Bound, Cmp, ConditionFact, ConditionStatus, Date, FactKey,
    LabResult, MedStatus, MedicationFact, PatientRecord, Provenance, Sex,
};
use serde::de::DeserializeOwned;
use toml::Spanned;
use toml::value::Datetime;

use crate::diagnostic::{Code, KbDiagnostic, Sink};
use crate::model::{
    Analyte, Background, Cause, CauseKind, Claim, ConditionSet, Conversion, Criterion, Direction,
    Drug, DrugClass, Example, Expected, Expr, Product, Reference, Rule, Strength, Tag, Test,
};
use crate::source::{
    RawAnalyte, RawCause, RawClaims, RawConditions, RawCriterion, RawDrugFile, RawExample, RawLabs,
    RawManifest, RawReferences,
};
use crate::terminology::Terminology;
use crate::units::{normalise_unit, split_quantity};
use crate::{Classification, Kb};

fn parse<T: DeserializeOwned>(file: &str, text: &str, out: &mut Vec<KbDiagnostic>) -> Option<T> {
    match toml::from_str::<T>(text) {
        Ok(v) => Some(v),
        Err(e) => {
            let mut sink = Sink { file, text, out };
            let msg = e.message().trim().replace('\n', " ");
            sink.at(e.span().map(|s| s.start), Code::Syntax, msg);
            None
        }
    }
}

fn date_of(dt: &Datetime) -> Option<Date> {
    let d = dt.date?;
    if dt.time.is_some() {
        return None;
    }
    Date::from_ymd_opt(i32::from(d.year), u32::from(d.month), u32::from(d.day))
}

/// A file with its text, and the sink that reports against it.
struct FileCtx<'a> {
    name: &'a str,
    text: &'a str,
}

struct Compiler<'a> {
    out: Vec<KbDiagnostic>,
    refs: HashSet<String>,
    claims: HashSet<String>,
    lab_window: u32,
    terminology: Option<&'a Terminology>,
}

impl Compiler<'_> {
    fn diag(&mut self, f: &FileCtx<'_>, at: Option<usize>, code: Code, msg: impl Into<String>) {
        Sink { file: f.name, text: f.text, out: &mut self.out }.at(at, code, msg);
    }

    fn tag(&mut self, f: &FileCtx<'_>, s: &Spanned<String>) -> Tag {
        Tag::parse(s.get_ref()).unwrap_or_else(|| {
            self.diag(
                f,
                Some(s.span().start),
                Code::BadValue,
                format!("tag `{}` must be V, C or U", s.get_ref()),
            );
            Tag::Unverified
        })
    }

    fn references(
        &mut self,
        f: &FileCtx<'_>,
        refs: &[Spanned<String>],
        what: &str,
        at: usize,
    ) -> Vec<String> {
        if refs.is_empty() {
            self.diag(
                f,
                Some(at),
                Code::MissingSource,
                format!("{what} has no references; every entry needs a source"),
            );
        }
        for r in refs {
            if !self.refs.contains(r.get_ref()) {
                self.diag(
                    f,
                    Some(r.span().start),
                    Code::Dangling,
                    format!("reference `{}` is not defined in references.toml", r.get_ref()),
                );
            }
        }
        refs.iter().map(|r| r.get_ref().clone()).collect()
    }

    fn seeds(&mut self, f: &FileCtx<'_>, seeds: &[Spanned<String>]) -> Vec<String> {
        for s in seeds {
            if !self.claims.contains(s.get_ref()) {
                self.diag(
                    f,
                    Some(s.span().start),
                    Code::Dangling,
                    format!("seed claim `{}` is not in claims.toml (S01 to S30)", s.get_ref()),
                );
            }
        }
        seeds.iter().map(|s| s.get_ref().clone()).collect()
    }

    fn reviewed(&mut self, f: &FileCtx<'_>, dt: &Spanned<Datetime>) -> Date {
        date_of(dt.get_ref()).unwrap_or_else(|| {
            self.diag(
                f,
                Some(dt.span().start),
                Code::BadValue,
                "review date must be a plain date (YYYY-MM-DD)",
            );
            Date::MIN
        })
    }

    fn ids_unique(
        &mut self,
        f: &FileCtx<'_>,
        seen: &mut HashMap<String, String>,
        id: &Spanned<String>,
        what: &str,
    ) -> bool {
        let name = id.get_ref();
        if name.is_empty()
            || !name.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            self.diag(
                f,
                Some(id.span().start),
                Code::BadValue,
                format!("{what} id `{name}` must be lower-case letters, digits and hyphens"),
            );
        }
        if let Some(prev) = seen.get(name) {
            let prev = prev.clone();
            self.diag(
                f,
                Some(id.span().start),
                Code::Duplicate,
                format!("{what} `{name}` is already defined in {prev}"),
            );
            return false;
        }
        seen.insert(name.clone(), f.name.to_owned());
        true
    }

    fn criterion(&mut self, f: &FileCtx<'_>, raw: &RawCriterion) -> Option<Criterion> {
        let t = self.terminology?;
        let at = Some(raw.fact.span().start);
        let fact = match FactKey::parse(raw.fact.get_ref()) {
            Ok(k) => k,
            Err(e) => {
                self.diag(f, at, Code::UnknownFact, e.to_string());
                return None;
            }
        };
        let exists = match &fact {
            FactKey::Lab(id) => t.analyte(id).is_some(),
            FactKey::Condition(id) => t.condition_sets().iter().any(|s| s.id == **id),
            FactKey::Drug(id) => t.drug_class(id).is_some(),
            _ => true,
        };
        if !exists {
            self.diag(
                f,
                at,
                Code::UnknownFact,
                format!(
                    "`{}` names no lab analyte, condition set or drug class in the knowledge base",
                    raw.fact.get_ref()
                ),
            );
            return None;
        }
        let known = raw.known == Some(true);
        let bad = |c: &mut Self, msg: String| {
            c.diag(f, at, Code::BadValue, msg);
            None::<Criterion>
        };
        if raw.within_months.is_some() && !matches!(fact, FactKey::Lab(_)) {
            return bad(self, format!("`within-months` applies only to lab facts, not `{fact}`"));
        }
        if raw.include_history.is_some() && !matches!(fact, FactKey::Condition(_)) {
            return bad(
                self,
                format!("`include-history` applies only to condition facts, not `{fact}`"),
            );
        }
        let cmp = match &raw.cmp {
            Some(c) => match Cmp::parse(c.get_ref()) {
                Some(op) => Some(op),
                None => {
                    return bad(
                        self,
                        format!("operator `{}` must be <, <=, >, >= or =", c.get_ref()),
                    );
                }
            },
            None => None,
        };
        let test = if known {
            if cmp.is_some() || raw.value.is_some() || raw.is.is_some() {
                return bad(self, "`known` stands alone: no cmp, value or is".into());
            }
            Test::Known
        } else {
            match &fact {
                FactKey::Condition(_) | FactKey::Drug(_) => {
                    if cmp.is_some() || raw.value.is_some() || raw.is.is_some() {
                        return bad(
                            self,
                            format!(
                                "`{fact}` is tested for presence; it takes no cmp, value or is"
                            ),
                        );
                    }
                    Test::Present
                }
                FactKey::Sex => match raw.is.as_ref().map(|v| v.get_ref().as_str()) {
                    Some(Some("female")) => Test::SexIs(Sex::Female),
                    Some(Some("male")) => Test::SexIs(Sex::Male),
                    _ => return bad(self, "`sex` needs is = \"female\" or is = \"male\"".into()),
                },
                FactKey::Answer(a) if a.kind() == AnswerKind::YesNo => {
                    match raw.is.as_ref().map(|v| v.get_ref().as_bool()) {
                        Some(Some(b)) if cmp.is_none() && raw.value.is_none() => Test::Is(b),
                        _ => {
                            return bad(
                                self,
                                format!("`{fact}` is a yes/no answer: use is = true or is = false"),
                            );
                        }
                    }
                }
                FactKey::Lab(id) => {
                    let (Some(op), Some(v)) = (cmp, raw.value.as_ref()) else {
                        return bad(
                            self,
                            format!("`{fact}` needs cmp and value (a number with a unit)"),
                        );
                    };
                    let analyte = t.analyte(id)?;
                    let Some(text) = v.get_ref().as_str() else {
                        self.diag(f, Some(v.span().start), Code::UnitMismatch, format!("threshold for `{fact}` must be a string with a unit, such as \"75 {}\"", analyte.unit));
                        return None;
                    };
                    let Some((n, unit)) = split_quantity(text) else {
                        self.diag(
                            f,
                            Some(v.span().start),
                            Code::UnitMismatch,
                            format!("threshold `{text}` is not a number followed by a unit"),
                        );
                        return None;
                    };
                    let Some(canonical) = analyte.to_canonical(n, unit) else {
                        let accepted: Vec<&str> =
                            analyte.conversions.iter().map(|c| c.unit.as_str()).collect();
                        self.diag(
                            f,
                            Some(v.span().start),
                            Code::UnitMismatch,
                            format!(
                                "unit `{unit}` does not fit `{fact}`; accepted units: {}",
                                accepted.join(", ")
                            ),
                        );
                        return None;
                    };
                    Test::Compare { op, threshold: canonical, written: text.to_owned() }
                }
                FactKey::Age | FactKey::OnsetAge | FactKey::Answer(_) => {
                    let (Some(op), Some(v)) = (cmp, raw.value.as_ref()) else {
                        return bad(self, format!("`{fact}` needs cmp and a numeric value"));
                    };
                    let n = match v.get_ref() {
                        toml::Value::Integer(i) => *i as f64,
                        toml::Value::Float(x) => *x,
                        _ => {
                            self.diag(
                                f,
                                Some(v.span().start),
                                Code::UnitMismatch,
                                format!("`{fact}` is compared with a plain number, without a unit"),
                            );
                            return None;
                        }
                    };
                    Test::Compare { op, threshold: n, written: fmt_num(n) }
                }
            }
        };
        let tag = match &raw.tag {
            Some(s) => self.tag(f, s),
            None => match (&fact, &test) {
                (FactKey::Lab(_), Test::Compare { .. }) => {
                    self.diag(
                        f,
                        at,
                        Code::MissingSource,
                        format!("lab threshold on `{fact}` needs a verification tag (V, C or U)"),
                    );
                    Tag::Unverified
                }
                (FactKey::Condition(id), _) => t
                    .condition_sets()
                    .iter()
                    .find(|s| s.id == **id)
                    .map_or(Tag::Unverified, |s| s.tag),
                (FactKey::Drug(_), _) => Tag::Corroborated,
                _ => Tag::Verified,
            },
        };
        let within = match fact {
            FactKey::Lab(_) => Some(raw.within_months.unwrap_or(self.lab_window)),
            _ => None,
        };
        let include_history = raw.include_history.unwrap_or(false);
        let label = label(t, &fact, &test, within, include_history);
        Some(Criterion {
            id: raw.id.get_ref().clone(),
            fact,
            test,
            within_months: within,
            include_history,
            tag,
            label,
        })
    }

    fn criteria(
        &mut self,
        f: &FileCtx<'_>,
        raws: &[RawCriterion],
    ) -> (Vec<Criterion>, HashMap<String, usize>, bool) {
        let mut crits = Vec::new();
        let mut index = HashMap::new();
        let mut ok = true;
        let mut seen = HashMap::new();
        for raw in raws {
            if !self.ids_unique(f, &mut seen, &raw.id, "criterion") {
                ok = false;
                continue;
            }
            match self.criterion(f, raw) {
                Some(c) => {
                    index.insert(c.id.clone(), crits.len());
                    crits.push(c);
                }
                None => ok = false,
            }
        }
        (crits, index, ok)
    }

    fn expr(
        &mut self,
        f: &FileCtx<'_>,
        v: &Spanned<toml::Value>,
        index: &HashMap<String, usize>,
        complete: bool,
    ) -> Option<Expr> {
        let at = Some(v.span().start);
        let mut errors = Vec::new();
        let e = build_expr(v.get_ref(), index, complete, &mut errors);
        for (code, msg) in errors {
            self.diag(f, at, code, msg);
        }
        e
    }
}

fn fmt_num(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 { format!("{}", n as i64) } else { format!("{n}") }
}

fn label(
    t: &Terminology,
    fact: &FactKey,
    test: &Test,
    within: Option<u32>,
    history: bool,
) -> String {
    let subject = match fact {
        FactKey::Age => "age".to_owned(),
        FactKey::Sex => "sex".to_owned(),
        FactKey::OnsetAge => "age at onset".to_owned(),
        FactKey::Lab(id) => t.analyte(id).map_or_else(|| id.to_string(), |a| a.name.to_lowercase()),
        FactKey::Condition(id) => t
            .condition_sets()
            .iter()
            .find(|s| s.id == **id)
            .map_or_else(|| id.to_string(), |s| s.name.to_lowercase()),
        FactKey::Drug(id) => {
            t.drug_class(id).map_or_else(|| id.to_string(), |c| c.name.to_lowercase())
        }
        FactKey::Answer(a) => a.name().replace('-', " "),
    };
    let window = within.map(|m| format!(" within {m} months")).unwrap_or_default();
    match test {
        Test::Known => format!("{subject} on record{window}"),
        Test::Present => match fact {
            FactKey::Drug(_) => format!("currently taking: {subject}"),
            _ if history => format!("{subject} recorded (current or past)"),
            _ => format!("{subject} recorded as current"),
        },
        Test::Compare { op, written, .. } => {
            let unit = if matches!(fact, FactKey::Age | FactKey::OnsetAge) { " years" } else { "" };
            format!("{subject} {} {written}{unit}{window}", op.symbol())
        }
        Test::Is(b) => format!("{subject}: {}", if *b { "yes" } else { "no" }),
        Test::SexIs(s) => format!("sex is {}", s.name()),
    }
}

fn build_expr(
    v: &toml::Value,
    index: &HashMap<String, usize>,
    complete: bool,
    errors: &mut Vec<(Code, String)>,
) -> Option<Expr> {
    match v {
        toml::Value::String(s) => match index.get(s) {
            Some(&i) => Some(Expr::Ref(i)),
            None => {
                if complete {
                    errors.push((
                        Code::Dangling,
                        format!("rule names criterion `{s}`, which this file does not define"),
                    ));
                }
                None
            }
        },
        toml::Value::Table(t) if t.len() == 1 => {
            let (k, inner) = t.iter().next()?;
            match (k.as_str(), inner) {
                ("all" | "any", toml::Value::Array(items)) if !items.is_empty() => {
                    let parts: Vec<Option<Expr>> =
                        items.iter().map(|i| build_expr(i, index, complete, errors)).collect();
                    let parts: Option<Vec<Expr>> = parts.into_iter().collect();
                    let parts = parts?;
                    Some(if k == "all" { Expr::All(parts) } else { Expr::Any(parts) })
                }
                ("not", inner) => {
                    build_expr(inner, index, complete, errors).map(|e| Expr::Not(Box::new(e)))
                }
                _ => {
                    errors.push((
                        Code::BadValue,
                        format!("`{k}` must be all = [..], any = [..] (not empty) or not = .."),
                    ));
                    None
                }
            }
        }
        _ => {
            errors.push((
                Code::BadValue,
                "a rule is a criterion id, or a table with exactly one of all, any, not".into(),
            ));
            None
        }
    }
}

/// Compiles a knowledge base from `(relative path, text)` pairs.
pub(crate) fn compile(files: &[(String, String)]) -> Result<Kb, Vec<KbDiagnostic>> {
    let mut c = Compiler {
        out: Vec::new(),
        refs: HashSet::new(),
        claims: HashSet::new(),
        lab_window: 12,
        terminology: None,
    };
    let mut by_name: BTreeMap<&str, &str> = BTreeMap::new();
    let mut drug_files = Vec::new();
    let mut cause_files = Vec::new();
    for (name, text) in files {
        let n = name.as_str();
        match n {
            "manifest.toml" | "references.toml" | "claims.toml" | "labs.toml"
            | "conditions.toml" | "observations.toml" => {
                by_name.insert(n, text);
            }
            _ if n.starts_with("drugs/") && n.ends_with(".toml") => {
                drug_files.push((n, text.as_str()))
            }
            _ if n.starts_with("causes/") && n.ends_with(".toml") => {
                cause_files.push((n, text.as_str()))
            }
            _ if n.ends_with(".toml") => {
                c.out.push(KbDiagnostic { file: n.into(), line: None, code: Code::Layout, message: "unexpected file: knowledge-base TOML belongs in manifest.toml, references.toml, claims.toml, labs.toml, conditions.toml, observations.toml, drugs/ or causes/".into() });
            }
            _ => {}
        }
    }
    for required in
        ["manifest.toml", "references.toml", "claims.toml", "labs.toml", "conditions.toml"]
    {
        if !by_name.contains_key(required) {
            c.out.push(KbDiagnostic {
                file: required.into(),
                line: None,
                code: Code::Layout,
                message: "required file is missing".into(),
            });
        }
    }
    drug_files.sort();
    cause_files.sort();

    // References first: everything else points at them.
    let mut references = Vec::new();
    if let Some(text) = by_name.get("references.toml") {
        let f = FileCtx { name: "references.toml", text };
        if let Some(raw) = parse::<RawReferences>(f.name, f.text, &mut c.out) {
            let mut seen = HashMap::new();
            for r in raw.reference {
                if c.ids_unique(&f, &mut seen, &r.id, "reference") {
                    if r.citation.trim().is_empty() {
                        c.diag(
                            &f,
                            Some(r.id.span().start),
                            Code::MissingSource,
                            "reference has an empty citation",
                        );
                    }
                    c.refs.insert(r.id.get_ref().clone());
                    references.push(Reference {
                        id: r.id.into_inner(),
                        citation: r.citation,
                        url: r.url,
                        brief_key: r.brief_key,
                    });
                }
            }
        }
    }

    let mut claims = Vec::new();
    if let Some(text) = by_name.get("claims.toml") {
        let f = FileCtx { name: "claims.toml", text };
        if let Some(raw) = parse::<RawClaims>(f.name, f.text, &mut c.out) {
            let mut seen = HashMap::new();
            for cl in raw.claim {
                let id = cl.id.get_ref();
                let well_formed = id.len() == 3
                    && id.starts_with('S')
                    && id[1..].parse::<u8>().is_ok_and(|n| (1..=30).contains(&n));
                if !well_formed {
                    c.diag(
                        &f,
                        Some(cl.id.span().start),
                        Code::BadValue,
                        format!("claim id `{id}` must be S01 to S30"),
                    );
                    continue;
                }
                if seen.insert(id.clone(), ()).is_some() {
                    c.diag(
                        &f,
                        Some(cl.id.span().start),
                        Code::Duplicate,
                        format!("claim `{id}` is defined twice"),
                    );
                    continue;
                }
                const KINDS: &[&str] = &[
                    "history",
                    "framing",
                    "mechanism",
                    "classification",
                    "primary-risk",
                    "aggravator",
                    "secondary-cause",
                    "medication",
                    "provenance",
                    "feedback",
                ];
                if !KINDS.contains(&cl.kind.get_ref().as_str()) {
                    c.diag(
                        &f,
                        Some(cl.kind.span().start),
                        Code::BadValue,
                        format!(
                            "claim kind `{}` must be one of {}",
                            cl.kind.get_ref(),
                            KINDS.join(", ")
                        ),
                    );
                }
                c.claims.insert(id.clone());
                claims.push(Claim {
                    id: cl.id.into_inner(),
                    text: cl.text,
                    kind: cl.kind.into_inner(),
                    answered_by: cl.answered_by,
                });
            }
        }
    }

    let mut manifest = None;
    if let Some(text) = by_name.get("manifest.toml") {
        let f = FileCtx { name: "manifest.toml", text };
        manifest = parse::<RawManifest>(f.name, f.text, &mut c.out);
        if let Some(m) = &manifest {
            c.lab_window = m.lab_window_months;
        }
    }

    let mut analytes = Vec::new();
    if let Some(text) = by_name.get("labs.toml") {
        let f = FileCtx { name: "labs.toml", text };
        if let Some(raw) = parse::<RawLabs>(f.name, f.text, &mut c.out) {
            let mut seen = HashMap::new();
            let mut loinc_owner: HashMap<String, String> = HashMap::new();
            for a in raw.analyte {
                if !c.ids_unique(&f, &mut seen, &a.id, "analyte") {
                    continue;
                }
                analytes.push(compile_analyte(&mut c, &f, a, &mut loinc_owner));
            }
        }
    }

    let mut sets = Vec::new();
    if let Some(text) = by_name.get("conditions.toml") {
        let f = FileCtx { name: "conditions.toml", text };
        if let Some(raw) = parse::<RawConditions>(f.name, f.text, &mut c.out) {
            let mut seen = HashMap::new();
            for s in raw.set {
                if !c.ids_unique(&f, &mut seen, &s.id, "condition set") {
                    continue;
                }
                if s.icd10.is_empty() && s.snomed.is_empty() && s.text.is_empty() {
                    c.diag(
                        &f,
                        Some(s.id.span().start),
                        Code::BadValue,
                        format!("condition set `{}` has no codes and no phrases", s.id.get_ref()),
                    );
                }
                let tag = c.tag(&f, &s.tag);
                sets.push(ConditionSet {
                    id: s.id.into_inner(),
                    name: s.name,
                    icd10: s.icd10.into_iter().map(Spanned::into_inner).collect(),
                    snomed: s.snomed.into_iter().map(Spanned::into_inner).collect(),
                    text: s.text.into_iter().map(Spanned::into_inner).collect(),
                    tag,
                });
            }
        }
    }

    // Drugs: classes from every file first, then drugs and products that point at them.
    let mut raw_drugs = Vec::new();
    for (name, text) in &drug_files {
        let f = FileCtx { name, text };
        if let Some(raw) = parse::<RawDrugFile>(f.name, f.text, &mut c.out) {
            raw_drugs.push((*name, *text, raw));
        }
    }
    let mut classes = Vec::new();
    let mut class_seen = HashMap::new();
    for (name, text, raw) in &raw_drugs {
        let f = FileCtx { name, text };
        for cl in &raw.class {
            if c.ids_unique(&f, &mut class_seen, &cl.id, "drug class") {
                classes.push(DrugClass {
                    id: cl.id.get_ref().clone(),
                    name: cl.name.clone(),
                    atc: cl.atc.iter().map(|s| s.get_ref().to_ascii_uppercase()).collect(),
                    atc_exclude: cl
                        .atc_exclude
                        .iter()
                        .map(|s| s.get_ref().to_ascii_uppercase())
                        .collect(),
                    alternatives: cl.alternatives.iter().map(|s| s.get_ref().clone()).collect(),
                });
            }
        }
    }
    let mut drugs = Vec::new();
    let mut drug_seen = HashMap::new();
    let mut name_owner: HashMap<String, String> = HashMap::new();
    let mut rxcui_owner: HashMap<String, String> = HashMap::new();
    for (name, text, raw) in &raw_drugs {
        let f = FileCtx { name, text };
        for d in &raw.drug {
            if !c.ids_unique(&f, &mut drug_seen, &d.id, "drug") {
                continue;
            }
            for cl in &d.classes {
                if !class_seen.contains_key(cl.get_ref()) {
                    c.diag(
                        &f,
                        Some(cl.span().start),
                        Code::Dangling,
                        format!("drug class `{}` is not defined", cl.get_ref()),
                    );
                }
            }
            for n in std::iter::once(&d.id).chain(&d.synonyms).chain(&d.brands) {
                let key = crate::terminology::phrase(n.get_ref());
                if key.is_empty() {
                    c.diag(&f, Some(n.span().start), Code::BadValue, "a drug name needs letters");
                } else if let Some(owner) = name_owner.get(&key) {
                    if owner != d.id.get_ref() {
                        let owner = owner.clone();
                        c.diag(&f, Some(n.span().start), Code::Ambiguous, format!("name `{}` already means `{owner}`; use a [[product]] for combinations", n.get_ref()));
                    }
                } else {
                    name_owner.insert(key, d.id.get_ref().clone());
                }
            }
            if let Some(rx) = &d.rxcui {
                if !rx.get_ref().bytes().all(|b| b.is_ascii_digit()) {
                    c.diag(
                        &f,
                        Some(rx.span().start),
                        Code::BadValue,
                        format!("RxCUI `{}` must be digits", rx.get_ref()),
                    );
                } else if let Some(owner) =
                    rxcui_owner.insert(rx.get_ref().clone(), d.id.get_ref().clone())
                {
                    c.diag(
                        &f,
                        Some(rx.span().start),
                        Code::Ambiguous,
                        format!("RxCUI {} is already given to `{owner}`", rx.get_ref()),
                    );
                }
                if d.rxcui_tag.is_none() {
                    c.diag(
                        &f,
                        Some(rx.span().start),
                        Code::MissingSource,
                        "an RxCUI needs rxcui-tag (V, C or U)",
                    );
                }
            }
            let direction = Direction::parse(d.direction.get_ref()).unwrap_or_else(|| {
                c.diag(&f, Some(d.direction.span().start), Code::BadValue, format!("direction `{}` must be worsens, may-worsen, neutral, safer-alternative or treatment", d.direction.get_ref()));
                Direction::Neutral
            });
            let tag = c.tag(&f, &d.tag);
            let rxcui_tag = d.rxcui_tag.as_ref().map(|t| c.tag(&f, t));
            drugs.push(Drug {
                id: d.id.get_ref().clone(),
                synonyms: d.synonyms.iter().map(|s| s.get_ref().clone()).collect(),
                brands: d.brands.iter().map(|s| s.get_ref().clone()).collect(),
                atc: d.atc.iter().map(|s| s.get_ref().to_ascii_uppercase()).collect(),
                rxcui: d.rxcui.as_ref().map(|s| s.get_ref().clone()),
                rxcui_tag,
                classes: d.classes.iter().map(|s| s.get_ref().clone()).collect(),
                direction,
                tag,
            });
        }
    }
    let mut products = Vec::new();
    for (name, text, raw) in &raw_drugs {
        let f = FileCtx { name, text };
        for cl in &raw.class {
            for alt in &cl.alternatives {
                if !drug_seen.contains_key(alt.get_ref()) {
                    c.diag(
                        &f,
                        Some(alt.span().start),
                        Code::Dangling,
                        format!("alternative `{}` is not a drug in the dictionary", alt.get_ref()),
                    );
                }
            }
        }
        for p in &raw.product {
            for ing in &p.ingredients {
                if !drug_seen.contains_key(ing.get_ref()) {
                    c.diag(
                        &f,
                        Some(ing.span().start),
                        Code::Dangling,
                        format!("ingredient `{}` is not a drug in the dictionary", ing.get_ref()),
                    );
                }
            }
            let key = crate::terminology::phrase(p.name.get_ref());
            if let Some(owner) = name_owner.get(&key) {
                let owner = owner.clone();
                c.diag(
                    &f,
                    Some(p.name.span().start),
                    Code::Ambiguous,
                    format!("product name `{}` already names the drug `{owner}`", p.name.get_ref()),
                );
            } else {
                name_owner.insert(key, format!("product {}", p.name.get_ref()));
            }
            let tag = c.tag(&f, &p.tag);
            products.push(Product {
                name: p.name.get_ref().clone(),
                ingredients: p.ingredients.iter().map(|s| s.get_ref().clone()).collect(),
                tag,
            });
        }
    }

    let mut never_correct = Vec::new();
    for (name, text, raw) in &raw_drugs {
        let f = FileCtx { name, text };
        for w in &raw.never_correct {
            let key = crate::terminology::phrase(w.get_ref());
            if name_owner.contains_key(&key) {
                c.diag(&f, Some(w.span().start), Code::Ambiguous, format!("`{}` is a name in the dictionary; it cannot also be a word never corrected", w.get_ref()));
            }
            never_correct.push(w.get_ref().clone());
        }
    }
    let terminology = Terminology::build(analytes, sets, classes, drugs, products, never_correct);
    let mut terminology = terminology;
    if let Some(text) = by_name.get("observations.toml") {
        let f = FileCtx { name: "observations.toml", text };
        if let Some(raw) = parse::<crate::source::RawObservations>(f.name, f.text, &mut c.out) {
            for cd in raw.coded {
                let _ = c.tag(&f, &cd.tag);
                let _ =
                    c.references(&f, &cd.references, "coded observation", cd.answer.span().start);
                let answer = restless_facts::Answer::from_name(cd.answer.get_ref())
                    .filter(|a| a.kind() == restless_facts::AnswerKind::YesNo);
                let Some(answer) = answer else {
                    c.diag(
                        &f,
                        Some(cd.answer.span().start),
                        Code::UnknownFact,
                        format!(
                            "`{}` is not a yes/no answer of the questionnaire catalogue",
                            cd.answer.get_ref()
                        ),
                    );
                    continue;
                };
                for l in &cd.loinc {
                    if terminology.analyte_by_loinc(l.get_ref()).is_some() {
                        c.diag(
                            &f,
                            Some(l.span().start),
                            Code::Ambiguous,
                            format!("LOINC {} is already a lab analyte", l.get_ref()),
                        );
                    }
                    for (list, yes) in [(&cd.yes, true), (&cd.no, false)] {
                        for v in list {
                            terminology.add_coded(l.get_ref(), v.get_ref(), answer, yes);
                        }
                    }
                }
            }
        }
    }
    let mut c = Compiler { terminology: Some(&terminology), ..c };

    // The manifest's classification rule and background.
    let mut classification = None;
    let mut background = Vec::new();
    let mut version = String::new();
    let mut reviewed = Date::MIN;
    let mut disclaimer = String::new();
    let mut manifest_refs = Vec::new();
    if let (Some(m), Some(text)) = (manifest, by_name.get("manifest.toml")) {
        let f = FileCtx { name: "manifest.toml", text };
        version = m.version.get_ref().clone();
        let parts: Vec<&str> = version.split('.').collect();
        if parts.len() != 3 || parts.iter().any(|p| p.parse::<u32>().is_err()) {
            c.diag(
                &f,
                Some(m.version.span().start),
                Code::BadValue,
                format!("version `{version}` must be YEAR.MONTH.PATCH"),
            );
        }
        reviewed = c.reviewed(&f, &m.reviewed);
        disclaimer = m.disclaimer;
        manifest_refs = c.references(&f, &m.references, "the manifest", 0);
        let seed = c.seeds(&f, &m.classification.seed);
        let (criteria, index, complete) = c.criteria(&f, &m.classification.criterion);
        if let Some(core) = c.expr(&f, &m.classification.core_workup, &index, complete) {
            classification = Some(Classification { criteria, core_workup: core, seed });
        }
        let mut seen = HashMap::new();
        for b in m.background {
            if c.ids_unique(&f, &mut seen, &b.id, "background") {
                let seed = c.seeds(&f, &b.seed);
                let references = c.references(&f, &b.references, "background", b.id.span().start);
                background.push(Background {
                    id: b.id.into_inner(),
                    title: b.title,
                    text: b.text,
                    seed,
                    references,
                });
            }
        }
    }

    let mut causes = Vec::new();
    let mut cause_seen = HashMap::new();
    for (name, text) in &cause_files {
        let f = FileCtx { name, text };
        let Some(raw) = parse::<RawCause>(f.name, f.text, &mut c.out) else { continue };
        if !c.ids_unique(&f, &mut cause_seen, &raw.id, "cause") {
            continue;
        }
        if let Some(cause) = compile_cause(&mut c, &f, raw) {
            causes.push(cause);
        }
    }
    // In id order, whatever the order of the files: the engine's findings rely on it.
    causes.sort_by(|a, b| a.id.cmp(&b.id));

    if c.out.is_empty()
        && let Some(classification) = classification
    {
        return Ok(Kb {
            version,
            reviewed,
            disclaimer,
            references,
            manifest_references: manifest_refs,
            classification,
            background,
            claims,
            causes,
            terminology,
        });
    }
    let mut out = c.out;
    if out.is_empty() {
        out.push(KbDiagnostic {
            file: "manifest.toml".into(),
            line: None,
            code: Code::Layout,
            message: "the classification rule could not be compiled".into(),
        });
    }
    out.sort();
    out.dedup();
    Err(out)
}

fn compile_analyte(
    c: &mut Compiler<'_>,
    f: &FileCtx<'_>,
    a: RawAnalyte,
    loinc_owner: &mut HashMap<String, String>,
) -> Analyte {
    let tag = c.tag(f, &a.tag);
    let references =
        c.references(f, &a.references, &format!("analyte `{}`", a.id.get_ref()), a.id.span().start);
    for code in &a.loinc {
        let ok = code.get_ref().split_once('-').is_some_and(|(n, d)| {
            !n.is_empty()
                && n.bytes().all(|b| b.is_ascii_digit())
                && d.len() == 1
                && d.bytes().all(|b| b.is_ascii_digit())
        });
        if !ok {
            c.diag(
                f,
                Some(code.span().start),
                Code::BadValue,
                format!("`{}` is not a LOINC code (digits, hyphen, check digit)", code.get_ref()),
            );
        }
        if let Some(owner) = loinc_owner.insert(code.get_ref().clone(), a.id.get_ref().clone()) {
            c.diag(
                f,
                Some(code.span().start),
                Code::Ambiguous,
                format!("LOINC {} is already mapped to `{owner}`", code.get_ref()),
            );
        }
    }
    let mut conversions = vec![Conversion {
        unit: a.unit.get_ref().clone(),
        normal: normalise_unit(a.unit.get_ref()),
        factor: 1.0,
        offset: 0.0,
        back: None,
        tag: Tag::Verified,
    }];
    for conv in a.convert {
        let normal = normalise_unit(conv.unit.get_ref());
        if conversions.iter().any(|x| x.normal == normal) {
            c.diag(
                f,
                Some(conv.unit.span().start),
                Code::Duplicate,
                format!("unit `{}` is listed twice for `{}`", conv.unit.get_ref(), a.id.get_ref()),
            );
            continue;
        }
        if !(conv.factor.is_finite() && conv.factor > 0.0 && conv.offset.is_finite()) {
            c.diag(
                f,
                Some(conv.unit.span().start),
                Code::BadValue,
                "conversion factor must be a positive finite number",
            );
            continue;
        }
        if let Some(back) = conv.back
            && (!(back.is_finite() && back > 0.0) || (back * conv.factor - 1.0).abs() > 0.01)
        {
            c.diag(
                f,
                Some(conv.unit.span().start),
                Code::BadValue,
                format!("`back` {back} is not the inverse of factor {} within 1%", conv.factor),
            );
        }
        let tag = c.tag(f, &conv.tag);
        conversions.push(Conversion {
            unit: conv.unit.into_inner(),
            normal,
            factor: conv.factor,
            offset: conv.offset,
            back: conv.back,
            tag,
        });
    }
    let workup_loinc = a
        .workup_loinc
        .as_ref()
        .map(|s| s.get_ref().clone())
        .or_else(|| a.loinc.first().map(|s| s.get_ref().clone()));
    if let Some(w) = &a.workup_loinc
        && !a.loinc.iter().any(|l| l.get_ref() == w.get_ref())
    {
        c.diag(
            f,
            Some(w.span().start),
            Code::Dangling,
            format!("work-up LOINC {} is not one of this analyte's codes", w.get_ref()),
        );
    }
    Analyte {
        id: a.id.into_inner(),
        name: a.name,
        aliases: a.aliases,
        loinc: a.loinc.into_iter().map(Spanned::into_inner).collect(),
        unit: a.unit.into_inner(),
        conversions,
        workup: a.workup,
        workup_loinc,
        tag,
        references,
    }
}

fn compile_cause(c: &mut Compiler<'_>, f: &FileCtx<'_>, raw: RawCause) -> Option<Cause> {
    let at = Some(raw.id.span().start);
    let kind = CauseKind::parse(raw.kind.get_ref()).or_else(|| {
        c.diag(
            f,
            Some(raw.kind.span().start),
            Code::BadValue,
            format!(
                "kind `{}` must be primary-risk, secondary-cause, aggravator or mimic",
                raw.kind.get_ref()
            ),
        );
        None
    });
    let strength = Strength::parse(raw.strength.get_ref()).or_else(|| {
        c.diag(
            f,
            Some(raw.strength.span().start),
            Code::BadValue,
            format!(
                "strength `{}` must be strong, moderate, weak or contested",
                raw.strength.get_ref()
            ),
        );
        None
    });
    let expected_file = format!("causes/{}.toml", raw.id.get_ref());
    if f.name != expected_file {
        c.diag(
            f,
            at,
            Code::Layout,
            format!("cause `{}` belongs in {expected_file}", raw.id.get_ref()),
        );
    }
    let seed = c.seeds(f, &raw.seed);
    let references = c.references(
        f,
        &raw.references,
        &format!("cause `{}`", raw.id.get_ref()),
        raw.id.span().start,
    );
    let reviewed = c.reviewed(f, &raw.reviewed);
    for (field, text) in
        [("summary", &raw.summary), ("evidence", &raw.evidence), ("advice", &raw.advice)]
    {
        if text.trim().is_empty() {
            c.diag(f, at, Code::BadValue, format!("`{field}` must not be empty"));
        }
    }
    let (criteria, index, complete) = c.criteria(f, &raw.criterion);
    let rule = match &raw.rule {
        None => {
            c.diag(f, at, Code::BadValue, "every cause needs a [rule] with at least `present`");
            None
        }
        Some(r) => {
            let present = c.expr(f, &r.present, &index, complete);
            let possible = r.possible.as_ref().map(|p| c.expr(f, p, &index, complete));
            let absent = r.absent.as_ref().map(|p| c.expr(f, p, &index, complete));
            let ok = !matches!(possible, Some(None)) && !matches!(absent, Some(None));
            present.filter(|_| ok).map(|present| Rule {
                present,
                possible: possible.flatten(),
                absent: absent.flatten(),
            })
        }
    };
    let examples = compile_examples(c, f, &raw.id, &raw.example);
    // Judged on the examples as written, so an example dropped for its own error does not also
    // count as missing, and a bad kind or rule does not hide this problem.
    let has_positive = raw.example.iter().any(|e| e.expect.get_ref() == "present");
    let has_negative = raw.example.iter().any(|e| e.expect.get_ref() != "present");
    if !(has_positive && has_negative) {
        c.diag(f, at, Code::Examples, "every cause needs at least one [[example]] that expects present and one that expects another status");
    }
    let (kind, strength, rule) = (kind?, strength?, rule?);
    Some(Cause {
        id: raw.id.into_inner(),
        name: raw.name,
        kind,
        strength,
        seed,
        summary: raw.summary,
        evidence: raw.evidence,
        qualifies_seed: raw.qualifies_seed,
        advice: raw.advice,
        references,
        reviewed,
        criteria,
        rule,
        examples,
    })
}

fn compile_examples(
    c: &mut Compiler<'_>,
    f: &FileCtx<'_>,
    cause: &Spanned<String>,
    raws: &[RawExample],
) -> Vec<Example> {
    let Some(t) = c.terminology else { return Vec::new() };
    let mut out = Vec::new();
    for (n, ex) in raws.iter().enumerate() {
        let expect = match ex.expect.get_ref().as_str() {
            "present" => Expected::Present,
            "possible" => Expected::Possible,
            "absent" => Expected::Absent,
            "unknown" => Expected::Unknown,
            other => {
                c.diag(
                    f,
                    Some(ex.expect.span().start),
                    Code::BadValue,
                    format!("expect `{other}` must be present, possible, absent or unknown"),
                );
                continue;
            }
        };
        let Some(as_of) = date_of(ex.as_of.get_ref()) else {
            c.diag(
                f,
                Some(ex.as_of.span().start),
                Code::BadValue,
                format!("example `{}`: as-of must be a plain date (YYYY-MM-DD)", ex.name),
            );
            continue;
        };
        let mut record = PatientRecord::default();
        for r in &ex.reviewed {
            match r.get_ref().as_str() {
                "conditions" => record.reviewed.conditions = true,
                "medications" => record.reviewed.medications = true,
                other => c.diag(
                    f,
                    Some(r.span().start),
                    Code::BadValue,
                    format!("reviewed `{other}` must be conditions or medications"),
                ),
            }
        }
        let mut ok = true;
        for (i, fact) in ex.facts.iter().enumerate() {
            let src = Provenance::new(format!("example:{}#{}/facts/{i}", cause.get_ref(), n + 1));
            let at = Some(fact.fact.span().start);
            let value = fact.value.as_ref().map(Spanned::get_ref);
            let date = match &fact.date {
                None => None,
                Some(d) => match date_of(d.get_ref()) {
                    Some(d) => Some(d),
                    None => {
                        c.diag(
                            f,
                            Some(d.span().start),
                            Code::BadValue,
                            format!(
                                "example `{}`: date must be a plain date (YYYY-MM-DD)",
                                ex.name
                            ),
                        );
                        ok = false;
                        continue;
                    }
                },
            };
            let mut bad = |c: &mut Compiler<'_>, msg: String| {
                c.diag(f, at, Code::BadValue, format!("example `{}`: {msg}", ex.name));
                ok = false;
            };
            if fact.fact.get_ref() == "medication" {
                let Some(text) = value.and_then(toml::Value::as_str) else {
                    bad(c, "medication needs a text value".into());
                    continue;
                };
                let m = t.match_medication_text(text);
                if m.is_empty() {
                    bad(c, format!("medication `{text}` is not recognised by the drug dictionary"));
                    continue;
                }
                record.medications.push(MedicationFact {
                    ingredients: m.ingredients.into_iter().map(Into::into).collect(),
                    classes: Vec::new(),
                    display: text.to_owned(),
                    status: if fact.history == Some(true) {
                        MedStatus::Stopped
                    } else {
                        MedStatus::Active
                    },
                    start: None,
                    end: None,
                    source: src,
                });
                continue;
            }
            let key = match FactKey::parse(fact.fact.get_ref()) {
                Ok(k) => k,
                Err(e) => {
                    c.diag(f, at, Code::UnknownFact, format!("example `{}`: {e}", ex.name));
                    ok = false;
                    continue;
                }
            };
            match &key {
                FactKey::Age => match value
                    .and_then(toml::Value::as_integer)
                    .and_then(|v| u32::try_from(v).ok())
                {
                    Some(v) => record.age = Some((v, src)),
                    None => bad(c, "age needs a whole number of years".into()),
                },
                FactKey::OnsetAge => {
                    match value.and_then(|v| v.as_integer().map(|i| i as f64).or(v.as_float())) {
                        Some(v) => record.onset_age = Some((v, src)),
                        None => bad(c, "onset-age needs a number of years".into()),
                    }
                }
                FactKey::Sex => match value.and_then(toml::Value::as_str) {
                    Some("female") => record.sex = Some((Sex::Female, src)),
                    Some("male") => record.sex = Some((Sex::Male, src)),
                    Some("other") => record.sex = Some((Sex::Other, src)),
                    _ => bad(c, "sex needs female, male or other".into()),
                },
                FactKey::Lab(id) => {
                    let Some(analyte) = t.analyte(id) else {
                        bad(c, format!("no analyte `{id}`"));
                        continue;
                    };
                    let Some((num, unit)) =
                        value.and_then(toml::Value::as_str).and_then(split_quantity)
                    else {
                        bad(c, format!("`{key}` needs a value such as \"22 {}\"", analyte.unit));
                        continue;
                    };
                    let Some(canonical) = analyte.to_canonical(num, unit) else {
                        c.diag(
                            f,
                            at,
                            Code::UnitMismatch,
                            format!("example `{}`: unit `{unit}` does not fit `{key}`", ex.name),
                        );
                        ok = false;
                        continue;
                    };
                    record.labs.push(LabResult {
                        analyte: id.clone(),
                        value: Bound::exact(canonical),
                        as_read: format!("{} {unit}", fmt_num(num)),
                        date: Some(date.unwrap_or(as_of)),
                        source: src,
                        derived: false,
                    });
                }
                FactKey::Condition(id) => {
                    if !t.condition_sets().iter().any(|s| s.id == **id) {
                        bad(c, format!("no condition set `{id}`"));
                        continue;
                    }
                    record.conditions.push(ConditionFact {
                        sets: vec![id.clone()],
                        status: if fact.history == Some(true) {
                            ConditionStatus::History
                        } else {
                            ConditionStatus::Active
                        },
                        onset: date,
                        display: id.to_string(),
                        source: src,
                    });
                }
                FactKey::Drug(id) => {
                    if t.drug_class(id).is_none() {
                        bad(c, format!("no drug class `{id}`"));
                        continue;
                    }
                    record.medications.push(MedicationFact {
                        ingredients: Vec::new(),
                        classes: vec![id.clone()],
                        display: id.to_string(),
                        status: if fact.history == Some(true) {
                            MedStatus::Stopped
                        } else {
                            MedStatus::Active
                        },
                        start: None,
                        end: None,
                        source: src,
                    });
                }
                FactKey::Answer(a) => {
                    let v = match (a.kind(), value) {
                        (AnswerKind::YesNo, Some(toml::Value::Boolean(b))) => {
                            AnswerValue::YesNo(*b)
                        }
                        (AnswerKind::Number(_), Some(toml::Value::Integer(i))) => {
                            AnswerValue::Number(*i as f64)
                        }
                        (AnswerKind::Number(_), Some(toml::Value::Float(x))) => {
                            AnswerValue::Number(*x)
                        }
                        _ => {
                            bad(
                                c,
                                format!(
                                    "`{key}` needs a {} value",
                                    if a.kind() == AnswerKind::YesNo {
                                        "true/false"
                                    } else {
                                        "numeric"
                                    }
                                ),
                            );
                            continue;
                        }
                    };
                    record.answers.push(AnswerFact { answer: *a, value: v, source: src });
                }
            }
        }
        if ok {
            out.push(Example { name: ex.name.clone(), as_of, expect, record });
        }
    }
    out
}
