//! Maps each FHIR resource onto facts, applying the contract's status and time rules.

use restless_facts::{
    Answer, AnswerFact, AnswerValue, Bound, Cmp, ConditionFact, ConditionStatus, Date, LabResult,
    MedStatus, MedicationFact, PatientRecord, Provenance, Sex, Warning, age_on,
};
use restless_kb::Kb;
use serde_json::Value;

use super::value::{Coding, System, codings, date, number, parse_text_value};
use super::{Index, Tally, warn};

struct Mapper<'k, 'a> {
    kb: &'k Kb,
    index: &'a Index<'a>,
    as_of: Date,
    rec: &'a mut PatientRecord,
    tally: &'a mut Tally,
    warnings: &'a mut Vec<Warning>,
    patient: Option<usize>,
    /// With no Patient resource and several subjects: the one assessed.
    subject: Option<String>,
    rls_onset: Vec<(Option<f64>, Option<Date>, Provenance)>,
    /// Coded answers with their dates: only the latest per answer is kept.
    coded: Vec<(Answer, bool, Date, Provenance)>,
}

fn s<'v>(v: &'v Value, key: &str) -> Option<&'v str> {
    v.get(key).and_then(Value::as_str)
}

fn status_code(v: &Value, key: &str) -> Option<String> {
    // A plain code (`status`) or a CodeableConcept (`clinicalStatus`).
    match v.get(key)? {
        Value::String(s) => Some(s.trim().to_ascii_lowercase()),
        cc @ Value::Object(_) => {
            codings(Some(cc)).0.first().map(|c| c.code.trim().to_ascii_lowercase())
        }
        _ => None,
    }
}

/// Relationships that make a relative first-degree (HL7 v3 RoleCode).
const FIRST_DEGREE: &[&str] = &[
    "PRN", "NPRN", "FTH", "MTH", "NFTH", "NMTH", "SIB", "NSIB", "BRO", "SIS", "NBRO", "NSIS",
    "TWIN", "TWINBRO", "TWINSIS", "FTWIN", "ITWIN", "FTWINBRO", "FTWINSIS", "ITWINBRO", "ITWINSIS",
    "CHILD", "NCHILD", "SON", "DAU", "SONC", "DAUC",
];

/// The resource types that give facts about a person (the Patient aside). The fast readers
/// skip every other type unparsed (`fast::is_relevant_type`).
pub(crate) fn gives_facts(kind: &str) -> bool {
    matches!(
        kind,
        "Condition"
            | "Observation"
            | "MedicationRequest"
            | "MedicationStatement"
            | "MedicationAdministration"
            | "MedicationDispense"
            | "FamilyMemberHistory"
    )
}

pub(crate) fn map_all(
    index: &Index<'_>,
    kb: &Kb,
    as_of: Date,
    rec: &mut PatientRecord,
    tally: &mut Tally,
    warnings: &mut Vec<Warning>,
) {
    let patients: Vec<usize> = (0..index.resources.len())
        .filter(|&i| {
            !index.parent.contains_key(&i)
                && s(index.resources[i].resource, "resourceType") == Some("Patient")
        })
        .collect();
    // The same Patient may come twice (a Bulk export's Patient file and a Bundle that includes
    // it again): patients are told apart by `Type/id`, not by occurrence.
    let mut distinct: Vec<&str> = Vec::new();
    for &p in &patients {
        if !distinct.contains(&index.resources[p].name.as_str()) {
            distinct.push(&index.resources[p].name);
        }
    }
    if distinct.len() > 1 {
        warn(
            warnings,
            distinct[0],
            format!(
                "the input holds {} patients; assessing the first, resources of the others are skipped",
                distinct.len()
            ),
        );
    }
    // With no Patient resource the input is taken to be about one person; if its resources
    // point at several patients, only the first (in sort order) is assessed.
    let mut subjects: Vec<String> = Vec::new();
    if patients.is_empty() {
        for f in &index.resources {
            if let Some(r) = f
                .resource
                .get("subject")
                .or_else(|| f.resource.get("patient"))
                .and_then(|x| s(x, "reference"))
            {
                let id = subject_id(r);
                if !subjects.contains(&id) {
                    subjects.push(id);
                }
            }
        }
        subjects.sort();
        if subjects.len() > 1 {
            warn(
                warnings,
                "input",
                format!(
                    "the input holds no Patient resource and refers to {} patients; only the resources of the first are assessed",
                    subjects.len()
                ),
            );
        }
    }
    let mut m = Mapper {
        kb,
        index,
        as_of,
        rec,
        tally,
        warnings,
        patient: patients.first().copied(),
        subject: if subjects.len() > 1 { subjects.into_iter().next() } else { None },
        rls_onset: Vec::new(),
        coded: Vec::new(),
    };
    // Demographics first, so that nothing read later depends on where the Patient stands.
    if let Some(p) = m.patient {
        m.patient_demographics(p);
    }
    let mut saw_condition = false;
    let mut saw_medication = false;
    for i in 0..index.resources.len() {
        if index.parent.contains_key(&i) {
            continue; // contained resources are read through their owner's references
        }
        let found = &index.resources[i];
        let r = found.resource;
        let kind = s(r, "resourceType").unwrap_or("");
        m.tally.read += 1;
        if kind == "Patient" {
            if Some(i) == m.patient {
                m.tally.used += 1;
            } else if m.is_the_patient(i) {
                m.tally.skip("same patient repeated");
            } else {
                m.tally.skip("another patient");
            }
            continue;
        }
        if !gives_facts(kind) {
            m.tally.irrelevant += 1;
            continue;
        }
        if !m.belongs_to_patient(i) {
            m.tally.skip("another patient");
            continue;
        }
        let used = match kind {
            "Condition" => {
                saw_condition = true;
                m.condition(i)
            }
            "Observation" => m.observation(i),
            "FamilyMemberHistory" => m.family(i),
            _ => {
                saw_medication = true;
                m.medication(i, kind)
            }
        };
        match used {
            Outcome::Used => m.tally.used += 1,
            Outcome::Irrelevant => m.tally.irrelevant += 1,
            Outcome::Skipped(reason) => m.tally.skip(reason),
        }
    }
    m.finish_onset();
    m.finish_coded();
    // A record that carries a problem list or a medication list is taken to carry all of it:
    // a condition or drug class not in it counts as absent rather than unknown.
    rec.reviewed.conditions = saw_condition;
    rec.reviewed.medications = saw_medication;
}

enum Outcome {
    Used,
    Irrelevant,
    Skipped(&'static str),
}

impl Mapper<'_, '_> {
    fn name(&self, i: usize) -> String {
        self.index.resources[i].name.clone()
    }

    /// Whether the resource at `i` is the assessed patient (the same `Type/id`).
    fn is_the_patient(&self, i: usize) -> bool {
        self.patient
            .is_some_and(|p| p == i || self.index.resources[p].name == self.index.resources[i].name)
    }

    fn belongs_to_patient(&mut self, i: usize) -> bool {
        if self.patient.is_none() {
            // No Patient in the input: it is about one person, the first subject when several.
            let Some(chosen) = &self.subject else { return true };
            let r = self.index.resources[i].resource;
            return r
                .get("subject")
                .or_else(|| r.get("patient"))
                .and_then(|x| s(x, "reference"))
                .is_none_or(|reference| subject_id(reference) == *chosen);
        }
        let r = self.index.resources[i].resource;
        let Some(reference) =
            r.get("subject").or_else(|| r.get("patient")).and_then(|x| s(x, "reference"))
        else {
            return true; // no subject: the document is about one person
        };
        match self.index.resolve(i, reference) {
            Some(target)
                if s(self.index.resources[target].resource, "resourceType") == Some("Patient") =>
            {
                self.is_the_patient(target)
            }
            Some(_) => true,
            // `Patient/other` when the input holds a different Patient: someone else's record.
            None if super::index::reference_type(reference) == Some("Patient") => {
                warn(
                    self.warnings,
                    &self.name(i),
                    "subject refers to a patient who is not in this input; skipped",
                );
                false
            }
            None => true,
        }
    }

    fn patient_demographics(&mut self, i: usize) {
        let r = self.index.resources[i].resource;
        let name = self.name(i);
        if let Some(b) = date(r.get("birthDate")) {
            if b <= self.as_of {
                self.rec.birth_date = Some((b, Provenance::new(&name).with_field("birthDate")));
            } else {
                warn(self.warnings, &name, "birthDate is after the as-of date; not used");
            }
        }
        if let Some(sex) = sex_of(s(r, "gender")) {
            self.rec.sex = Some((sex, Provenance::new(&name).with_field("gender")));
        }
        let died = date(r.get("deceasedDateTime"));
        let deceased = match (r.get("deceasedBoolean").and_then(Value::as_bool), died) {
            (_, Some(d)) if d <= self.as_of => Some(Some(d)),
            (Some(true), _) => Some(None),
            _ => None,
        };
        if let Some(when) = deceased {
            self.rec.deceased = Some((when, Provenance::new(&name).with_field("deceased")));
            warn(
                self.warnings,
                &name,
                "the patient is recorded as deceased; age stops at death and no medicine counts as current",
            );
        }
    }

    fn lenient_lists(&mut self, i: usize) {
        let r = self.index.resources[i].resource;
        if r.get("category").is_some_and(Value::is_object) {
            warn(
                self.warnings,
                &self.name(i),
                "category is an object where FHIR has a list; read anyway",
            );
        }
        if let Some(Value::Array(dosages)) = r.get("dosageInstruction").or_else(|| r.get("dosage"))
            && dosages.iter().any(|d| d.get("doseAndRate").is_some_and(Value::is_object))
        {
            warn(
                self.warnings,
                &self.name(i),
                "doseAndRate is an object where FHIR has a list; read anyway",
            );
        }
    }

    fn condition(&mut self, i: usize) -> Outcome {
        self.lenient_lists(i);
        let r = self.index.resources[i].resource;
        let name = self.name(i);
        let verification = status_code(r, "verificationStatus");
        if matches!(verification.as_deref(), Some("entered-in-error")) {
            return Outcome::Skipped("entered-in-error");
        }
        if matches!(verification.as_deref(), Some("refuted")) {
            return Outcome::Skipped("refuted");
        }
        // A differential, provisional or unconfirmed diagnosis is not an established one.
        if matches!(verification.as_deref(), Some("unconfirmed" | "provisional" | "differential")) {
            return Outcome::Skipped("unconfirmed");
        }
        let clinical = status_code(r, "clinicalStatus");
        let abated = date(r.get("abatementDateTime")).or_else(|| {
            r.get("abatementPeriod")
                .and_then(|p| date(p.get("end")).or_else(|| date(p.get("start"))))
        });
        let abated = abated.is_some_and(|d| d <= self.as_of)
            || r.get("abatementString").is_some()
            || r.get("abatementAge").is_some()
            || r.get("abatementRange").is_some();
        let status = match clinical.as_deref() {
            Some("inactive" | "remission" | "resolved") => ConditionStatus::History,
            Some("active" | "recurrence" | "relapse") => ConditionStatus::Active,
            _ if abated => ConditionStatus::History,
            _ => ConditionStatus::Active,
        };
        let (onset, onset_age) = self.onset(r);
        if onset.is_some_and(|d| d > self.as_of) {
            return Outcome::Skipped("dated after as-of");
        }
        let t = self.kb.terminology();
        let (codes, text) = codings(r.get("code"));
        let mut sets: Vec<&str> = Vec::new();
        let mut display = String::new();
        let mut unknown_system = false;
        for c in &codes {
            let found = match c.system {
                System::Icd10Cm | System::Icd10 => t.sets_for_icd10(c.code),
                System::Snomed => t.sets_for_snomed(c.code),
                _ => {
                    unknown_system = c.system == System::Other;
                    Vec::new()
                }
            };
            if !found.is_empty() && display.is_empty() {
                display = coding_display(c);
            }
            for f in found {
                if !sets.contains(&f) {
                    sets.push(f);
                }
            }
        }
        if sets.is_empty() {
            for txt in text.into_iter().chain(codes.iter().filter_map(|c| c.display)) {
                for f in t.sets_for_text(txt) {
                    if !sets.contains(&f) {
                        sets.push(f);
                        display = txt.to_owned();
                    }
                }
            }
        }
        if sets.is_empty() {
            if unknown_system && codes.iter().all(|c| c.system == System::Other) {
                warn(
                    self.warnings,
                    &name,
                    "condition coded only in a code system restless does not read",
                );
            }
            return Outcome::Irrelevant;
        }
        let source = Provenance::new(&name).with_field("code");
        if sets.contains(&"rls") {
            let onset_given =
                ["onsetDateTime", "onsetAge", "onsetPeriod", "onsetRange", "onsetString"]
                    .iter()
                    .any(|k| r.get(*k).is_some());
            if onset_given && onset.is_none() && onset_age.is_none() {
                warn(self.warnings, &name, "onset in a form restless cannot read; not used");
            }
            self.rls_onset.push((onset_age, onset, source.clone()));
        }
        self.rec.conditions.push(ConditionFact {
            sets: sets.into_iter().map(Into::into).collect(),
            status,
            onset,
            display,
            source,
        });
        Outcome::Used
    }

    /// Onset as a date (any onset[x] form) and as an age in years when given as one.
    fn onset(&self, r: &Value) -> (Option<Date>, Option<f64>) {
        if let Some(d) = date(r.get("onsetDateTime")) {
            return (Some(d), None);
        }
        if let Some(p) = r.get("onsetPeriod") {
            return (date(p.get("start")).or_else(|| date(p.get("end"))), None);
        }
        let age = |q: &Value| -> Option<f64> {
            let v = number(q.get("value")).filter(|v| *v >= 0.0)?;
            // UCUM codes are case-sensitive (`a` year, `mo` month); human units are not.
            let per_year = |u: &str| match u {
                "a" | "y" | "yr" | "yrs" | "year" | "years" => Some(1.0),
                "mo" | "month" | "months" => Some(12.0),
                _ => None,
            };
            let from_code = s(q, "code").and_then(|c| per_year(c.trim()));
            let from_unit = s(q, "unit").and_then(|u| per_year(&u.trim().to_ascii_lowercase()));
            let given = q.get("code").is_some() || q.get("unit").is_some();
            // An age with no unit at all is read in years, the unit ages are given in.
            let per = from_code.or(from_unit).or(if given { None } else { Some(1.0) })?;
            Some(v / per)
        };
        let years = r
            .get("onsetAge")
            .and_then(age)
            .or_else(|| r.get("onsetRange").and_then(|x| x.get("low")).and_then(age));
        if let Some(y) = years {
            let d =
                self.rec.birth_date.as_ref().and_then(|(b, _)| {
                    b.checked_add_months(chrono::Months::new((y * 12.0) as u32))
                });
            return (d, Some(y));
        }
        if let Some(txt) = s(r, "onsetString") {
            return (date(Some(&Value::String(txt.to_owned()))), None);
        }
        (None, None)
    }

    fn finish_onset(&mut self) {
        if self.rec.onset_age.is_some() {
            return;
        }
        let birth = self.rec.birth_date.as_ref().map(|(b, _)| *b);
        self.rec.onset_age = youngest_onset(
            birth,
            self.rls_onset.iter().map(|(age, onset, src)| (*age, *onset, src)),
        );
    }

    fn observation(&mut self, i: usize) -> Outcome {
        self.lenient_lists(i);
        let r = self.index.resources[i].resource;
        match s(r, "status").map(str::to_ascii_lowercase).as_deref() {
            Some("entered-in-error") => return Outcome::Skipped("entered-in-error"),
            Some("cancelled") => return Outcome::Skipped("cancelled"),
            Some("registered") => return Outcome::Skipped("no result yet"),
            _ => {}
        }
        let when = date(r.get("effectiveDateTime"))
            .or_else(|| date(r.get("effectiveInstant")))
            .or_else(|| {
                r.get("effectivePeriod")
                    .and_then(|p| date(p.get("end")).or_else(|| date(p.get("start"))))
            })
            .or_else(|| date(r.get("issued")));
        if when.is_some_and(|d| d > self.as_of) {
            return Outcome::Skipped("dated after as-of");
        }
        let name = self.name(i);
        let mut used = self.observation_value(r, r, &name, None, when);
        if let Some(Value::Array(components)) = r.get("component") {
            for (n, c) in components.iter().enumerate() {
                used |= self.observation_value(r, c, &name, Some(n), when);
            }
        }
        if used { Outcome::Used } else { Outcome::Irrelevant }
    }

    /// Reads the code and value of an observation or of one of its components.
    fn observation_value(
        &mut self,
        obs: &Value,
        part: &Value,
        name: &str,
        component: Option<usize>,
        when: Option<Date>,
    ) -> bool {
        let t = self.kb.terminology();
        let (codes, text) = codings(part.get("code"));
        let field = |f: &str| match component {
            Some(n) => format!("component[{n}].{f}"),
            None => f.to_owned(),
        };
        // Coded answers (pregnancy status, smoking status).
        for c in codes.iter().filter(|c| c.system == System::Loinc) {
            let (values, _) = codings(part.get("valueCodeableConcept"));
            let snomed: Vec<&str> =
                values.iter().filter(|v| v.system == System::Snomed).map(|v| v.code).collect();
            if let Some((answer, yes)) = t.coded_answer(c.code, &snomed) {
                let Some(yes) = yes else {
                    warn(
                        self.warnings,
                        name,
                        format!("{} value not recognised; not used", answer.name()),
                    );
                    return false;
                };
                let Some(when) = when.filter(|d| self.recent(Some(*d))) else {
                    return false;
                };
                self.coded.push((
                    answer,
                    yes,
                    when,
                    Provenance::new(name).with_field(field("valueCodeableConcept")),
                ));
                return true;
            }
        }
        let analyte = codes
            .iter()
            .filter(|c| c.system == System::Loinc)
            .find_map(|c| t.analyte_by_loinc(c.code))
            .or_else(|| text.and_then(|x| t.analyte_by_name(x)))
            .or_else(|| codes.iter().filter_map(|c| c.display).find_map(|d| t.analyte_by_name(d)));
        let Some(analyte) = analyte else { return false };
        if part.get("dataAbsentReason").is_some()
            || obs.get("dataAbsentReason").is_some() && component.is_none()
        {
            return false;
        }
        // The value: a Quantity, a number held in a string, or an integer.
        let (cmp, value, unit, as_field) = if let Some(q) = part.get("valueQuantity") {
            let Some(v) = number(q.get("value")) else {
                warn(
                    self.warnings,
                    name,
                    format!("{} without a numeric value; not used", analyte.name),
                );
                return false;
            };
            let cmp = s(q, "comparator").and_then(Cmp::parse);
            let code_unit = s(q, "code")
                .filter(|_| s(q, "system").is_none_or(|sys| sys.contains("unitsofmeasure")));
            let unit = code_unit
                .filter(|u| analyte.accepts(u))
                .or_else(|| s(q, "unit"))
                .or(code_unit)
                .unwrap_or("")
                .to_owned();
            (cmp, v, unit, field("valueQuantity"))
        } else if let Some(txt) = s(part, "valueString") {
            let Some((cmp, v, unit)) = parse_text_value(txt) else {
                warn(
                    self.warnings,
                    name,
                    format!("{} value is text that is not a number; not used", analyte.name),
                );
                return false;
            };
            // A bare number in a string takes the analyte's canonical unit only when the
            // observation says so nowhere else; that is a guess, so it is refused.
            (cmp, v, unit, field("valueString"))
        } else if let Some(v) = number(part.get("valueInteger")) {
            (None, v, String::new(), field("valueInteger"))
        } else {
            return false;
        };
        if value < 0.0 || !value.is_finite() {
            warn(
                self.warnings,
                name,
                format!("{} has an impossible value; not used", analyte.name),
            );
            return false;
        }
        if unit.trim() == "%" && value > 100.0 {
            warn(
                self.warnings,
                name,
                format!("{} is a percentage over 100; not used", analyte.name),
            );
            return false;
        }
        let Some(canonical) = analyte.to_canonical(value, &unit) else {
            let why = if unit.is_empty() {
                "has no unit"
            } else {
                "has a unit restless does not understand"
            };
            warn(
                self.warnings,
                name,
                format!("{} {why}; not used (units are never assumed)", analyte.name),
            );
            return false;
        };
        if when.is_none() {
            warn(
                self.warnings,
                name,
                format!("{} has no date; shown as history only", analyte.name),
            );
        }
        let shown = format!("{}{} {}", cmp.map(|c| c.symbol()).unwrap_or(""), fmt(value), unit)
            .trim()
            .to_owned();
        self.rec.labs.push(LabResult {
            analyte: analyte.id.as_str().into(),
            value: Bound { value: canonical, comparator: cmp },
            as_read: shown,
            date: when,
            source: Provenance::new(name).with_field(as_field),
            derived: false,
        });
        true
    }

    /// Keeps the latest coded answer of each kind (pregnancy status, smoking status); on the
    /// same day, the first by source, so that the input order never decides.
    fn finish_coded(&mut self) {
        let mut coded = std::mem::take(&mut self.coded);
        coded.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| a.3.cmp(&b.3)));
        let mut seen: Vec<Answer> = Vec::new();
        for (answer, yes, _, source) in coded {
            if seen.contains(&answer) {
                continue;
            }
            seen.push(answer);
            self.rec.answers.push(AnswerFact { answer, value: AnswerValue::YesNo(yes), source });
        }
    }

    fn recent(&self, when: Option<Date>) -> bool {
        when.is_some_and(|d| d >= restless_facts::months_before(self.as_of, 12))
    }

    fn family(&mut self, i: usize) -> Outcome {
        let r = self.index.resources[i].resource;
        match s(r, "status") {
            Some("entered-in-error") => return Outcome::Skipped("entered-in-error"),
            Some("health-unknown") => return Outcome::Skipped("health unknown"),
            _ => {}
        }
        let (rel, _) = codings(r.get("relationship"));
        let first_degree =
            rel.iter().any(|c| FIRST_DEGREE.contains(&c.code.to_ascii_uppercase().as_str()));
        let t = self.kb.terminology();
        let Some(Value::Array(conditions)) = r.get("condition") else { return Outcome::Irrelevant };
        let has_rls = conditions.iter().any(|c| {
            let (codes, text) = codings(c.get("code"));
            codes.iter().any(|x| match x.system {
                System::Icd10Cm | System::Icd10 => t.sets_for_icd10(x.code).contains(&"rls"),
                System::Snomed => t.sets_for_snomed(x.code).contains(&"rls"),
                _ => false,
            }) || text.is_some_and(|x| t.sets_for_text(x).contains(&"rls"))
        });
        if !has_rls {
            return Outcome::Irrelevant;
        }
        if !first_degree {
            if rel.is_empty() {
                warn(
                    self.warnings,
                    &self.name(i),
                    "relationship is not coded (HL7 v3 RoleCode); family history not used",
                );
            }
            return Outcome::Skipped("not a first-degree relative");
        }
        self.rec.answers.push(AnswerFact {
            answer: Answer::FamilyHistory,
            value: AnswerValue::YesNo(true),
            source: Provenance::new(self.name(i)).with_field("condition"),
        });
        Outcome::Used
    }

    fn medication(&mut self, i: usize, kind: &str) -> Outcome {
        self.lenient_lists(i);
        let r = self.index.resources[i].resource;
        let name = self.name(i);
        let status = match med_status(kind, s(r, "status")) {
            Ok(status) => status,
            Err(reason) => return Outcome::Skipped(reason),
        };
        if kind == "MedicationRequest" && not_an_order(s(r, "intent")) {
            return Outcome::Skipped("proposal or plan, not an order");
        }
        let (start, mut end, point) = self.med_period(r, kind);
        // With no status to go on, a single date (an order's authoredOn, a statement's
        // effectiveDateTime) says the drug was taken then, not that it still is.
        if status == MedStatus::Unknown && point {
            end = start;
        }
        let source = Provenance::new(&name).with_field("medication");
        match self.med_identity(i, r).fact(status, start, end, source) {
            Ok(fact) => {
                self.rec.medications.push(fact);
                Outcome::Used
            }
            Err(warning) => {
                warn(self.warnings, &name, warning);
                Outcome::Skipped("medication not recognised")
            }
        }
    }

    /// Start and end of use, and whether they come from a single point in time rather than a
    /// period.
    fn med_period(&self, r: &Value, kind: &str) -> (Option<Date>, Option<Date>, bool) {
        let period = |p: Option<&Value>| {
            p.map(|p| (date(p.get("start")), date(p.get("end")))).unwrap_or((None, None))
        };
        let (start, end) = match kind {
            "MedicationRequest" => {
                let validity = r.get("dispenseRequest").and_then(|d| d.get("validityPeriod"));
                return request_period(
                    date(r.get("authoredOn")),
                    validity.map(|v| period(Some(v))),
                );
            }
            "MedicationDispense" => {
                let handed = date(r.get("whenHandedOver")).or_else(|| date(r.get("whenPrepared")));
                let days = r
                    .get("daysSupply")
                    .and_then(|q| number(q.get("value")))
                    .filter(|d| *d >= 0.0 && *d < 3650.0);
                let end =
                    handed.and_then(|h| days.map(|d| h + chrono::Days::new(d as u64)).or(Some(h)));
                (handed, end)
            }
            _ => {
                if let Some(d) = date(r.get("effectiveDateTime")) {
                    let end = if kind == "MedicationAdministration" { Some(d) } else { None };
                    return (Some(d), end, true);
                }
                period(r.get("effectivePeriod"))
            }
        };
        (start, end, false)
    }

    /// What the medication of an order, statement, administration or dispense is.
    fn med_identity(&mut self, i: usize, r: &Value) -> Identity {
        let mut concepts: Vec<&Value> = Vec::new();
        // Text read besides the concepts: a reference's display when the reference cannot be
        // followed.
        let mut texts: Vec<&str> = Vec::new();
        if let Some(cc) = r.get("medicationCodeableConcept") {
            concepts.push(cc);
        }
        let reference_display = r.get("medicationReference").and_then(|m| s(m, "display"));
        if let Some(reference) = r.get("medicationReference").and_then(|m| s(m, "reference")) {
            match self.index.resolve(i, reference) {
                Some(m) => {
                    let med = self.index.resources[m].resource;
                    if let Some(cc) = med.get("code") {
                        concepts.push(cc);
                    }
                    if let Some(Value::Array(ings)) = med.get("ingredient") {
                        for ing in ings {
                            if let Some(cc) = ing.get("itemCodeableConcept") {
                                concepts.push(cc);
                            }
                        }
                    }
                }
                None => {
                    warn(
                        self.warnings,
                        &self.name(i),
                        "medicationReference does not resolve to a Medication in this input",
                    );
                    texts.extend(reference_display);
                }
            }
        } else {
            texts.extend(reference_display);
        }
        let concepts: Vec<_> = concepts.into_iter().map(|cc| codings(Some(cc))).collect();
        identify(self.kb.terminology(), &texts, &concepts)
    }
}

/// How a medication resource's `status` reads: the status to record, or why the resource is
/// skipped.
pub(crate) fn med_status(kind: &str, status: Option<&str>) -> Result<MedStatus, &'static str> {
    let status = status.map(str::to_ascii_lowercase);
    Ok(match (kind, status.as_deref()) {
        (_, Some("entered-in-error")) => return Err("entered-in-error"),
        (_, Some("cancelled" | "not-taken" | "not-done" | "declined")) => {
            return Err("cancelled or not taken");
        }
        ("MedicationRequest", Some("draft")) => return Err("draft order"),
        ("MedicationRequest", Some("active" | "on-hold")) => MedStatus::Active,
        ("MedicationStatement", Some("active")) => MedStatus::Active,
        ("MedicationStatement", Some("intended")) => return Err("intended, not yet taken"),
        ("MedicationAdministration", Some("in-progress")) => MedStatus::Active,
        (_, Some("completed" | "stopped" | "revoked")) if kind != "MedicationDispense" => {
            MedStatus::Stopped
        }
        // A dispense that was stopped was not handed over.
        ("MedicationDispense", Some("stopped")) => MedStatus::Stopped,
        _ => MedStatus::Unknown,
    })
}

/// Whether a MedicationRequest's `intent` makes it a proposal or plan rather than an order.
pub(crate) fn not_an_order(intent: Option<&str>) -> bool {
    matches!(intent, Some("proposal" | "plan" | "option"))
}

/// Start and end of an order, and whether they come from a single point in time: from
/// `dispenseRequest.validityPeriod` (start, end) when present, else from `authoredOn` alone.
pub(crate) fn request_period(
    authored: Option<Date>,
    validity: Option<(Option<Date>, Option<Date>)>,
) -> (Option<Date>, Option<Date>, bool) {
    match validity {
        None => (authored, None, authored.is_some()),
        Some((start, end)) => (start.or(authored), end, false),
    }
}

/// What a medication is, as the drug dictionary recognises it.
pub(crate) struct Identity {
    /// Ingredient drug ids.
    ingredients: Vec<String>,
    /// Class ids, from an ATC class code.
    classes: Vec<String>,
    /// The text shown for it.
    display: String,
    /// Whether the only code was an NDC.
    ndc_only: bool,
}

impl Identity {
    /// The medication fact, or the warning to give when the dictionary recognises nothing.
    pub(crate) fn fact(
        self,
        status: MedStatus,
        start: Option<Date>,
        end: Option<Date>,
        source: Provenance,
    ) -> Result<MedicationFact, &'static str> {
        if self.ingredients.is_empty() && self.classes.is_empty() {
            return Err(if self.ndc_only {
                "medication coded only by NDC, which restless cannot resolve; not assessed"
            } else if !self.display.is_empty() {
                "medication not recognised by the drug dictionary; not assessed"
            } else {
                "medication without a code or text; not assessed"
            });
        }
        Ok(MedicationFact {
            ingredients: self.ingredients.into_iter().map(Into::into).collect(),
            classes: self.classes.into_iter().map(Into::into).collect(),
            display: self.display,
            status,
            start,
            end,
            source,
        })
    }
}

/// What a medication is. `texts` are read before the concepts (a reference's display); each
/// concept is its codings and text.
pub(crate) fn identify(
    t: &restless_kb::Terminology,
    texts: &[&str],
    concepts: &[(Vec<Coding<'_>>, Option<&str>)],
) -> Identity {
    let mut ingredients: Vec<String> = Vec::new();
    let mut classes: Vec<String> = Vec::new();
    let mut display = String::new();
    let mut ndc = false;
    let mut other_code = false;
    let add = |list: &mut Vec<String>, id: &str| {
        if !list.iter().any(|x| x == id) {
            list.push(id.to_owned());
        }
    };
    for &txt in texts {
        if display.is_empty() {
            display = txt.to_owned();
        }
        for id in t.match_medication_text(txt).ingredients {
            add(&mut ingredients, &id);
        }
    }
    for (codes, text) in concepts {
        for c in codes {
            match c.system {
                System::RxNorm => {
                    if let Some(d) = t.drug_by_rxcui(c.code) {
                        add(&mut ingredients, &d.id);
                    }
                }
                System::Atc => {
                    let exact = t.drugs_by_atc(c.code);
                    if exact.is_empty() {
                        for cl in t.classes_by_atc_prefix(c.code) {
                            add(&mut classes, cl);
                        }
                    }
                    for d in exact {
                        add(&mut ingredients, &d.id);
                    }
                }
                System::Ndc => ndc = true,
                _ => other_code = true,
            }
        }
        // Clinical and branded drugs carry their ingredients and brands in the display.
        for txt in text.iter().copied().chain(codes.iter().filter_map(|c: &Coding<'_>| c.display)) {
            if display.is_empty() {
                display = txt.to_owned();
            }
            for id in t.match_medication_text(txt).ingredients {
                add(&mut ingredients, &id);
            }
        }
        if display.is_empty()
            && let Some(c) = codes.first()
        {
            display = format!("{} {}", short_system(c), c.code);
        }
    }
    let ndc_only = ndc && !other_code && display.starts_with("NDC");
    Identity { ingredients, classes, display, ndc_only }
}

fn short_system<'c>(c: &Coding<'c>) -> &'c str {
    match c.system {
        System::RxNorm => "RxNorm",
        System::Atc => "ATC",
        System::Ndc => "NDC",
        System::Snomed => "SNOMED CT",
        System::Icd10Cm => "ICD-10-CM",
        System::Icd10 => "ICD-10",
        System::Loinc => "LOINC",
        System::Other => c.system_uri,
    }
}

/// A coding as evidence shows it: short system name, code and display (joined with `concat`,
/// one allocation: every coded fact read makes one).
pub(crate) fn coding_display(c: &Coding<'_>) -> String {
    match c.display {
        Some(d) => [short_system(c), " ", c.code, " ", d].concat(),
        None => [short_system(c), " ", c.code].concat(),
    }
}

fn fmt(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 { format!("{}", n as i64) } else { format!("{n}") }
}

/// The id a subject reference names: `Patient/x`, `urn:uuid:x` and `.../Patient/x/_history/2`
/// all give `x`.
fn subject_id(reference: &str) -> String {
    let r = reference.trim();
    if let Some(u) = r.strip_prefix("urn:uuid:") {
        return u.to_owned();
    }
    let parts: Vec<&str> = r.split('/').collect();
    match parts.iter().rposition(|p| *p == "Patient") {
        Some(at) => parts.get(at + 1).copied().unwrap_or("").to_owned(),
        None => r.to_owned(),
    }
}

/// A Patient's `gender` as restless reads it.
pub(crate) fn sex_of(gender: Option<&str>) -> Option<Sex> {
    match gender {
        Some("female") => Some(Sex::Female),
        Some("male") => Some(Sex::Male),
        Some("other") => Some(Sex::Other),
        _ => None,
    }
}

/// The age at onset of restless legs from the person's restless legs conditions, each with its
/// onset as an age in years and as a date, in input order: the youngest (an age as given, else
/// the age on the onset date, from `birth`), the first of equals, named `onset` of its
/// condition.
pub fn youngest_onset<'p>(
    birth: Option<Date>,
    onsets: impl IntoIterator<Item = (Option<f64>, Option<Date>, &'p Provenance)>,
) -> Option<(f64, Provenance)> {
    let mut best: Option<(f64, &Provenance)> = None;
    for (age, onset, src) in onsets {
        let years =
            age.or_else(|| onset.and_then(|d| birth.and_then(|b| age_on(b, d))).map(f64::from));
        if let Some(y) = years
            && best.is_none_or(|(b, _)| y < b)
        {
            best = Some((y, src));
        }
    }
    best.map(|(y, src)| (y, src.clone().with_field("onset")))
}
