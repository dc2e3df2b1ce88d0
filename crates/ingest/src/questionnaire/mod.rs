//! The restless questionnaire: a JSON document a person or clinician fills in (schema:
//! `schemas/questionnaire.schema.json`), read into facts.
//!
//! Every field is optional; what is missing stays unknown. Wrong types and impossible values
//! are errors with their JSON path, all reported together; unknown fields, unrecognised lab
//! names, units, conditions and medicines are warnings and are not used.

mod reader;

use restless_facts::{
    Answer, AnswerFact, AnswerValue, Bound, Cmp, ConditionFact, ConditionStatus, Date, LabResult,
    MedStatus, MedicationFact, PatientRecord, Provenance, Sex, age_on,
};
use restless_kb::Kb;
use serde_json::Value;

use crate::{IngestError, Ingested, Warning};
use reader::{Obj, Reader};

fn prov(path: &str) -> Provenance {
    Provenance::new(format!("questionnaire:{path}"))
}

/// Reads a parsed questionnaire.
///
/// # Errors
/// [`IngestError::Invalid`] listing every wrong type or impossible value with its JSON path.
pub fn read(doc: &Value, kb: &Kb, as_of: Date) -> Result<Ingested, IngestError> {
    let mut r = Reader::default();
    let mut rec = PatientRecord::default();
    let Some(root) = r.root(doc) else { return Err(IngestError::Invalid(r.into_problems())) };

    let mut top = root;
    // The format version; only 1 exists so far.
    top.number(&mut r, "questionnaire_version", 1.0, 1.0);
    let answered_on = top.date(&mut r, "date");
    if let Some(d) = answered_on
        && d > as_of
    {
        r.problem("/date", "a date on or before the as-of date");
    }

    // Person.
    let mut age_now: Option<f64> = None;
    if let Some(mut person) = top.object(&mut r, "person") {
        if let Some(b) = person.date(&mut r, "birth_date") {
            if b > as_of {
                r.problem(
                    "/person/birth_date",
                    format!("a birth date on or before the as-of date {as_of}"),
                );
            } else {
                age_now = age_on(b, as_of).map(f64::from);
                rec.birth_date = Some((b, prov("/person/birth_date")));
            }
        }
        if let Some(a) = person.number(&mut r, "age", 0.0, 130.0)
            && rec.birth_date.is_none()
        {
            age_now = Some(a.floor());
            rec.age = Some((a.floor() as u32, prov("/person/age")));
        }
        if let Some(s) = person.choice(&mut r, "sex", &["female", "male", "other", "unknown"]) {
            let sex = match s {
                "female" => Some(Sex::Female),
                "male" => Some(Sex::Male),
                "other" => Some(Sex::Other),
                _ => None,
            };
            rec.sex = sex.map(|s| (s, prov("/person/sex")));
        }
        person.finish(&mut r);
    }

    fn yes_no(
        r: &mut Reader,
        obj: &mut Obj<'_>,
        key: &'static str,
        answer: Answer,
        rec: &mut PatientRecord,
    ) {
        if let Some(b) = obj.boolean(r, key) {
            rec.answers.push(AnswerFact {
                answer,
                value: AnswerValue::YesNo(b),
                source: prov(&obj.child_path(key)),
            });
        }
    }
    fn number(
        r: &mut Reader,
        obj: &mut Obj<'_>,
        key: &'static str,
        answer: Answer,
        max: f64,
        rec: &mut PatientRecord,
    ) {
        if let Some(n) = obj.number(r, key, 0.0, max) {
            rec.answers.push(AnswerFact {
                answer,
                value: AnswerValue::Number(n),
                source: prov(&obj.child_path(key)),
            });
        }
    }

    if let Some(mut s) = top.object(&mut r, "symptoms") {
        yes_no(&mut r, &mut s, "urge_to_move", Answer::Urge, &mut rec);
        yes_no(&mut r, &mut s, "worse_at_rest", Answer::RestWorse, &mut rec);
        yes_no(&mut r, &mut s, "relieved_by_movement", Answer::MovementRelief, &mut rec);
        yes_no(&mut r, &mut s, "worse_in_evening", Answer::EveningWorse, &mut rec);
        yes_no(&mut r, &mut s, "explained_by_other_condition", Answer::ExplainedByOther, &mut rec);
        number(&mut r, &mut s, "days_per_week", Answer::FrequencyPerWeek, 7.0, &mut rec);
        if let Some(onset) = s.number(&mut r, "age_at_onset", 0.0, 130.0) {
            match age_now {
                Some(now) if onset > now => r.problem(
                    "/symptoms/age_at_onset",
                    format!("an age at onset no greater than the current age ({now})"),
                ),
                _ => rec.onset_age = Some((onset, prov("/symptoms/age_at_onset"))),
            }
        }
        s.finish(&mut r);
    }
    if let Some(mut f) = top.object(&mut r, "family_history") {
        yes_no(&mut r, &mut f, "relative_with_rls", Answer::FamilyHistory, &mut rec);
        f.finish(&mut r);
    }
    if let Some(mut p) = top.object(&mut r, "pregnancy") {
        yes_no(&mut r, &mut p, "pregnant", Answer::Pregnant, &mut rec);
        yes_no(&mut r, &mut p, "postpartum", Answer::Postpartum, &mut rec);
        number(&mut r, &mut p, "pregnancies", Answer::Pregnancies, 30.0, &mut rec);
        p.finish(&mut r);
    }
    if let Some(mut l) = top.object(&mut r, "lifestyle") {
        if let Some(v) = l.raw("smoking") {
            let path = l.child_path("smoking");
            let current = match v {
                Value::Bool(b) => Some(*b),
                Value::String(s) if s == "current" => Some(true),
                Value::String(s) if s == "former" || s == "never" => Some(false),
                _ => {
                    r.problem(&path, "\"current\", \"former\", \"never\" or true/false");
                    None
                }
            };
            if let Some(b) = current {
                rec.answers.push(AnswerFact {
                    answer: Answer::SmokingCurrent,
                    value: AnswerValue::YesNo(b),
                    source: prov(&path),
                });
            }
        }
        number(&mut r, &mut l, "alcohol_drinks_per_week", Answer::AlcoholPerWeek, 500.0, &mut rec);
        yes_no(&mut r, &mut l, "alcohol_in_evening", Answer::AlcoholEvening, &mut rec);
        number(&mut r, &mut l, "caffeine_cups_per_day", Answer::CaffeinePerDay, 100.0, &mut rec);
        number(&mut r, &mut l, "sleep_hours", Answer::SleepHours, 24.0, &mut rec);
        yes_no(&mut r, &mut l, "shift_work", Answer::ShiftWork, &mut rec);
        yes_no(&mut r, &mut l, "stress", Answer::Stress, &mut rec);
        yes_no(&mut r, &mut l, "fatigue", Answer::Fatigue, &mut rec);
        yes_no(&mut r, &mut l, "low_mood_or_anxiety", Answer::LowMoodOrAnxiety, &mut rec);
        number(
            &mut r,
            &mut l,
            "exercise_days_per_week",
            Answer::ExerciseDaysPerWeek,
            7.0,
            &mut rec,
        );
        yes_no(&mut r, &mut l, "long_immobility_triggers", Answer::LongImmobility, &mut rec);
        yes_no(&mut r, &mut l, "apnoea_signs", Answer::ApnoeaSigns, &mut rec);
        yes_no(&mut r, &mut l, "apnoea_treated", Answer::ApnoeaTreated, &mut rec);
        yes_no(&mut r, &mut l, "iron_loss_signs", Answer::IronLossSigns, &mut rec);
        let height = l.number(&mut r, "height_cm", 30.0, 260.0);
        let weight = l.number(&mut r, "weight_kg", 1.0, 500.0);
        if let (Some(h), Some(w)) = (height, weight) {
            let bmi = w / (h / 100.0).powi(2);
            rec.labs.push(LabResult {
                analyte: "bmi".into(),
                value: Bound::exact(bmi),
                as_read: format!("{bmi:.1} kg/m2 (from {h} cm and {w} kg)"),
                date: Some(answered_on.unwrap_or(as_of)),
                source: prov("/lifestyle"),
                derived: true,
            });
        }
        l.finish(&mut r);
    }
    if let Some(mut t) = top.object(&mut r, "treatment") {
        yes_no(&mut r, &mut t, "opioid_recently_reduced", Answer::OpioidReduced, &mut rec);
        yes_no(&mut r, &mut t, "augmentation_signs", Answer::AugmentationSigns, &mut rec);
        t.finish(&mut r);
    }
    if let Some(mut m) = top.object(&mut r, "mimic_screen") {
        for (key, answer) in [
            ("cramps", Answer::Cramps),
            ("single_position_relief", Answer::SinglePositionRelief),
            ("pain_on_walking", Answer::PainOnWalking),
            ("leg_swelling", Answer::LegSwelling),
            ("elevation_relief", Answer::ElevationRelief),
            ("joint_pain", Answer::JointPain),
            ("muscle_pain", Answer::MusclePain),
            ("foot_tapping", Answer::FootTapping),
            ("whole_body_restlessness", Answer::WholeBodyRestlessness),
            ("only_when_standing", Answer::OnlyStanding),
            ("restless_sitting_not_lying", Answer::SittingDizzy),
            ("numbness_or_burning", Answer::NumbBurning),
            ("radiating_back_pain", Answer::RadiatingBackPain),
            ("toe_movements", Answer::ToeMovements),
            ("movements_in_sleep_only", Answer::SleepMovementsOnly),
        ] {
            yes_no(&mut r, &mut m, key, answer, &mut rec);
        }
        m.finish(&mut r);
    }

    rec.reviewed.conditions = top.boolean(&mut r, "conditions_complete").unwrap_or(false);
    rec.reviewed.medications = top.boolean(&mut r, "medications_complete").unwrap_or(false);
    let t = kb.terminology();
    if let Some(items) = top.array(&mut r, "conditions") {
        for (i, item) in items.iter().enumerate() {
            let path = format!("/conditions/{i}");
            read_condition(&mut r, kb, item, &path, as_of, &mut rec);
        }
    }
    if let Some(items) = top.array(&mut r, "medications") {
        for (i, item) in items.iter().enumerate() {
            let path = format!("/medications/{i}");
            let (text, start, end) = match item {
                Value::String(s) => (Some(s.as_str()), None, None),
                Value::Object(_) => {
                    let Some(mut o) = r.object_at(item, &path) else { continue };
                    let text = o.string(&mut r, "text");
                    let start = o.date(&mut r, "started");
                    let end = o.date(&mut r, "stopped");
                    o.finish(&mut r);
                    (text, start, end)
                }
                _ => {
                    r.problem(
                        &path,
                        "a medicine as text, or an object with text, started, stopped",
                    );
                    continue;
                }
            };
            let Some(text) = text.filter(|s| !s.trim().is_empty()) else {
                r.problem(&format!("{path}/text"), "the medicine's name as text");
                continue;
            };
            if let (Some(s), Some(e)) = (start, end)
                && e < s
            {
                r.problem(&format!("{path}/stopped"), "a stop date on or after the start date");
                continue;
            }
            let m = t.match_medication_text(text);
            if m.is_empty() {
                r.warn(&path, "medicine not recognised by the drug dictionary; not assessed");
                continue;
            }
            for (_, to) in &m.corrected {
                r.warn(&path, format!("read as {to} (spelling corrected)"));
            }
            rec.medications.push(MedicationFact {
                ingredients: m.ingredients.into_iter().map(Into::into).collect(),
                classes: Vec::new(),
                display: text.trim().to_owned(),
                status: if end.is_some_and(|e| e < as_of) {
                    MedStatus::Stopped
                } else {
                    MedStatus::Active
                },
                start,
                end,
                source: prov(&path),
            });
        }
    }
    if let Some(items) = top.array(&mut r, "labs") {
        for (i, item) in items.iter().enumerate() {
            read_lab(&mut r, kb, item, &format!("/labs/{i}"), as_of, &mut rec);
        }
    }
    top.finish(&mut r);
    r.finish(rec)
}

fn read_condition(
    r: &mut Reader,
    kb: &Kb,
    item: &Value,
    path: &str,
    as_of: Date,
    rec: &mut PatientRecord,
) {
    let t = kb.terminology();
    let (text, code, system, resolved, onset) = match item {
        Value::String(s) => (Some(s.as_str()), None, None, false, None),
        Value::Object(_) => {
            let Some(mut o) = r.object_at(item, path) else { return };
            let text = o.string(r, "text");
            let code = o.string(r, "code");
            let system = o.choice(r, "system", &["icd-10-cm", "icd-10", "snomed"]);
            let resolved = o.boolean(r, "resolved").unwrap_or(false);
            let onset = o.date(r, "onset");
            o.finish(r);
            (text, code, system, resolved, onset)
        }
        _ => {
            r.problem(
                path,
                "a condition as text, or an object with text, code, system, resolved, onset",
            );
            return;
        }
    };
    if let Some(d) = onset
        && d > as_of
    {
        r.problem(&format!("{path}/onset"), "an onset date on or before the as-of date");
        return;
    }
    let mut sets: Vec<&str> = Vec::new();
    let mut display = String::new();
    if let Some(code) = code {
        let found = match system {
            Some("snomed") => t.sets_for_snomed(code),
            Some(_) => t.sets_for_icd10(code),
            None => {
                r.problem(
                    &format!("{path}/system"),
                    "the code system of the code: \"icd-10-cm\", \"icd-10\" or \"snomed\"",
                );
                return;
            }
        };
        sets.extend(found);
        display = format!(
            "{} {code}",
            system.map_or("", |s| if s == "snomed" { "SNOMED CT" } else { "ICD-10-CM" })
        );
    }
    if let Some(text) = text {
        for s in t.sets_for_text(text) {
            if !sets.contains(&s) {
                sets.push(s);
            }
        }
        if display.is_empty() {
            display = text.trim().to_owned();
        }
    }
    if code.is_none() && text.is_none_or(|s| s.trim().is_empty()) {
        r.problem(path, "a condition name (text) or a code");
        return;
    }
    if sets.is_empty() {
        r.warn(path, "condition not recognised by the knowledge base's code sets; not assessed");
        return;
    }
    rec.conditions.push(ConditionFact {
        sets: sets.into_iter().map(Into::into).collect(),
        status: if resolved { ConditionStatus::History } else { ConditionStatus::Active },
        onset,
        display,
        source: prov(path),
    });
}

fn read_lab(
    r: &mut Reader,
    kb: &Kb,
    item: &Value,
    path: &str,
    as_of: Date,
    rec: &mut PatientRecord,
) {
    let t = kb.terminology();
    let Some(mut o) = r.object_at(item, path) else { return };
    let name = o.string(r, "name");
    let loinc = o.string(r, "loinc");
    let value = o.number(r, "value", f64::MIN, f64::MAX);
    let comparator = o.choice(r, "comparator", &["<", "<=", ">", ">="]);
    let unit = o.string(r, "unit");
    let date = o.date(r, "date");
    o.finish(r);
    let analyte = match (loinc, name) {
        (Some(code), _) if t.analyte_by_loinc(code).is_some() => t.analyte_by_loinc(code),
        (_, Some(n)) if t.analyte_by_name(n).is_some() => t.analyte_by_name(n),
        (None, None) => {
            r.problem(path, "a lab with a name or a LOINC code");
            return;
        }
        _ => None,
    };
    let Some(value) = value else {
        if !o_has_value(item) {
            r.problem(&format!("{path}/value"), "the result as a number");
        }
        return;
    };
    if value < 0.0 {
        r.problem(&format!("{path}/value"), format!("a result of 0 or more (found {value})"));
        return;
    }
    if unit.is_some_and(|u| u.trim() == "%") && value > 100.0 {
        r.problem(&format!("{path}/value"), format!("a percentage of at most 100 (found {value})"));
        return;
    }
    let Some(date) = date else {
        r.problem(
            &format!("{path}/date"),
            "the date the sample was taken (YYYY-MM-DD): recency decides whether a result counts",
        );
        return;
    };
    if date > as_of {
        r.problem(&format!("{path}/date"), format!("a date on or before the as-of date {as_of}"));
        return;
    }
    let Some(analyte) = analyte else {
        r.warn(
            path,
            "lab not recognised (name or LOINC code unknown to the knowledge base); not used",
        );
        return;
    };
    let Some(unit) = unit else {
        r.warn(
            path,
            format!("no unit given for {}; not used (units are never assumed)", analyte.name),
        );
        return;
    };
    let Some(canonical) = analyte.to_canonical(value, unit) else {
        r.warn(
            path,
            format!(
                "unit not understood for {}; not used (accepted: {})",
                analyte.name,
                analyte.conversions.iter().map(|c| c.unit.as_str()).collect::<Vec<_>>().join(", ")
            ),
        );
        return;
    };
    let cmp = comparator.and_then(Cmp::parse);
    let shown = format!("{}{} {unit}", comparator.unwrap_or(""), fmt(value));
    rec.labs.push(LabResult {
        analyte: analyte.id.as_str().into(),
        value: Bound { value: canonical, comparator: cmp },
        as_read: shown,
        date: Some(date),
        source: prov(path),
        derived: false,
    });
}

fn o_has_value(item: &Value) -> bool {
    item.get("value").is_some()
}

fn fmt(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 { format!("{}", n as i64) } else { format!("{n}") }
}

/// Adds the warnings of a reader to an ingest result (used by the reader's `finish`).
pub(crate) fn warnings_into(source: &str, message: String) -> Warning {
    Warning { source: format!("questionnaire:{source}"), message }
}
