//! The questionnaire form: its fields, named after the questionnaire JSON (`symptoms.urge_to_move`
//! is `/symptoms/urge_to_move`; list rows are `medications.0`, `labs.1.unit`), rendering with a
//! person's answers and messages next to the fields, and the mappings form → questionnaire JSON
//! (with validation in plain words) and questionnaire JSON → form (filling from a saved file).
//!
//! The wording is the project's own; the IRLS rating-scale items are not reproduced.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use restless_kb::Kb;
use serde_json::{Map, Value};

use crate::api::html::esc;

/// Rows shown at least, per list.
const MED_ROWS: usize = 6;
const LAB_ROWS: usize = 4;
const COND_ROWS: usize = 4;
/// Rows accepted at most, per list.
const MAX_ROWS: usize = 40;

/// What a field holds.
#[derive(Clone, Copy)]
pub(crate) enum Kind {
    /// Yes / No / Not sure radios; "not sure" leaves the answer unknown.
    YesNo,
    /// A number in a range.
    Number { min: f64, max: f64, example: &'static str },
    /// A date (YYYY-MM-DD).
    Date,
    /// One of a few values; the first option is "not given".
    Choice(&'static [(&'static str, &'static str)]),
    /// A tick box that means `true` when ticked and unknown otherwise.
    Check,
}

/// One control of the form.
pub(crate) struct Field {
    /// The questionnaire JSON path with dots.
    pub name: &'static str,
    /// The question.
    pub label: &'static str,
    /// A hint under the question, or "".
    pub hint: &'static str,
    /// What it holds.
    pub kind: Kind,
}

/// A repeated list of rows.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum List {
    Medicines,
    Labs,
    Conditions,
}

/// One section of the page.
pub(crate) struct Section {
    pub id: &'static str,
    pub title: &'static str,
    pub intro: &'static str,
    pub list: Option<List>,
    pub fields: &'static [Field],
}

const fn yn(name: &'static str, label: &'static str) -> Field {
    Field { name, label, hint: "", kind: Kind::YesNo }
}

const fn num(
    name: &'static str,
    label: &'static str,
    min: f64,
    max: f64,
    example: &'static str,
) -> Field {
    Field { name, label, hint: "", kind: Kind::Number { min, max, example } }
}

const SEX: &[(&str, &str)] =
    &[("", "Prefer not to say"), ("female", "Female"), ("male", "Male"), ("other", "Other")];
const SMOKING: &[(&str, &str)] = &[
    ("", "Prefer not to say"),
    ("never", "I have never smoked"),
    ("former", "I used to smoke"),
    ("current", "I smoke now"),
];
const COMPARATOR: &[(&str, &str)] = &[("", "exactly"), ("<", "less than"), (">", "more than")];

/// Every section, in page order.
pub(crate) const SECTIONS: &[Section] = &[
    Section {
        id: "about",
        title: "About you",
        intro: "Your age matters for some causes. Give a date of birth or an age.",
        list: None,
        fields: &[
            Field { name: "person.birth_date", label: "Date of birth", hint: "", kind: Kind::Date },
            num("person.age", "Or your age in years", 0.0, 130.0, "54"),
            Field { name: "person.sex", label: "Sex", hint: "", kind: Kind::Choice(SEX) },
        ],
    },
    Section {
        id: "symptoms",
        title: "Your legs: five questions",
        intro: "These five questions decide whether the feelings in your legs fit restless legs \
            syndrome. Answer \u{201c}Not sure\u{201d} when you do not know.",
        list: None,
        fields: &[
            yn(
                "symptoms.urge_to_move",
                "Do you feel a need to move your legs, often with unpleasant feelings in them?",
            ),
            yn("symptoms.worse_at_rest", "Does it start or get worse when you sit or lie still?"),
            yn(
                "symptoms.relieved_by_movement",
                "Does moving, such as walking or stretching, ease it for as long as you keep moving?",
            ),
            yn(
                "symptoms.worse_in_evening",
                "Is it there only in the evening or at night, or is it worse then?",
            ),
            Field {
                name: "symptoms.explained_by_other_condition",
                label: "Is it fully explained by something else, such as cramps, sore joints, \
                    swollen legs or a habit of tapping your feet?",
                hint: "Answer \u{201c}No\u{201d} if nothing else explains it.",
                kind: Kind::YesNo,
            },
        ],
    },
    Section {
        id: "onset",
        title: "When it started and how often",
        intro: "",
        list: None,
        fields: &[
            num("symptoms.age_at_onset", "How old were you when it began?", 0.0, 130.0, "41"),
            num("symptoms.days_per_week", "On how many days a week do you have it?", 0.0, 7.0, "4"),
        ],
    },
    Section {
        id: "family",
        title: "Family",
        intro: "",
        list: None,
        fields: &[yn(
            "family_history.relative_with_rls",
            "Does a parent, brother, sister or child of yours have restless legs?",
        )],
    },
    Section {
        id: "pregnancy",
        title: "Pregnancy",
        intro: "Skip this part if it does not apply to you.",
        list: None,
        fields: &[
            yn("pregnancy.pregnant", "Are you pregnant now?"),
            yn("pregnancy.postpartum", "Did you give birth in the last three months?"),
            num("pregnancy.pregnancies", "How many times have you been pregnant?", 0.0, 30.0, "2"),
        ],
    },
    Section {
        id: "medicines",
        title: "Medicines you take now",
        intro: "One medicine per line, by the name on the box (brand or generic), with the dose \
            if you like, for example \u{201c}Paxil 20 mg\u{201d}. Include sleep aids, allergy \
            and cold remedies bought without a prescription.",
        list: Some(List::Medicines),
        fields: &[
            Field {
                name: "medications_complete",
                label: "This is every medicine I take now, including ones bought without a \
                    prescription",
                hint: "",
                kind: Kind::Check,
            },
            yn(
                "treatment.opioid_recently_reduced",
                "Have you stopped or cut down an opioid painkiller or tramadol in the last few weeks?",
            ),
            Field {
                name: "treatment.augmentation_signs",
                label: "If you take a dopamine medicine for restless legs: do the feelings now \
                    start earlier in the day, spread to your arms, or need higher doses?",
                hint: "Skip this if you do not take such a medicine.",
                kind: Kind::YesNo,
            },
        ],
    },
    Section {
        id: "labs",
        title: "Recent blood tests",
        intro: "Copy results from your lab report: the test, the number, the unit printed next \
            to it and the date the blood was taken. A result without its unit cannot be used.",
        list: Some(List::Labs),
        fields: &[],
    },
    Section {
        id: "conditions",
        title: "Other health conditions",
        intro: "Conditions a doctor has told you about, one per line, in your own words.",
        list: Some(List::Conditions),
        fields: &[
            Field {
                name: "conditions_complete",
                label: "This is every condition I have been diagnosed with",
                hint: "",
                kind: Kind::Check,
            },
            yn(
                "lifestyle.iron_loss_signs",
                "Do you have heavy periods, black or bloody stools, give blood often, or have \
                 you had weight-loss surgery?",
            ),
        ],
    },
    Section {
        id: "lifestyle",
        title: "Sleep and daily life",
        intro: "",
        list: None,
        fields: &[
            num(
                "lifestyle.sleep_hours",
                "How many hours do you usually sleep a night?",
                0.0,
                24.0,
                "6.5",
            ),
            Field {
                name: "lifestyle.smoking",
                label: "Smoking",
                hint: "",
                kind: Kind::Choice(SMOKING),
            },
            num(
                "lifestyle.alcohol_drinks_per_week",
                "How many alcoholic drinks do you have in a usual week?",
                0.0,
                500.0,
                "3",
            ),
            yn("lifestyle.alcohol_in_evening", "Do you drink alcohol in the evening?"),
            num(
                "lifestyle.caffeine_cups_per_day",
                "How many cups of coffee, tea, cola or energy drinks do you have a day?",
                0.0,
                100.0,
                "2",
            ),
            yn("lifestyle.stress", "Have you been under a lot of stress lately?"),
            yn("lifestyle.fatigue", "Do you feel tired or worn out most days?"),
            yn(
                "lifestyle.low_mood_or_anxiety",
                "Have you felt low, down or anxious on most days in the last two weeks?",
            ),
            num(
                "lifestyle.exercise_days_per_week",
                "On how many days a week do you exercise for 30 minutes or more?",
                0.0,
                7.0,
                "3",
            ),
            yn("lifestyle.shift_work", "Do you work night or rotating shifts?"),
            yn(
                "lifestyle.long_immobility_triggers",
                "Do long car rides, flights or films bring the feelings on?",
            ),
            yn(
                "lifestyle.apnoea_signs",
                "Do you snore loudly, stop breathing in your sleep (as others notice), or doze \
                 off in the day?",
            ),
            yn(
                "lifestyle.apnoea_treated",
                "If you have sleep apnoea: is it treated, for example with a CPAP machine?",
            ),
            num("lifestyle.height_cm", "Height in centimetres", 30.0, 260.0, "170"),
            num("lifestyle.weight_kg", "Weight in kilograms", 1.0, 500.0, "72"),
        ],
    },
    Section {
        id: "mimics",
        title: "Things that can look like restless legs",
        intro: "Other problems can feel similar. These questions help tell them apart.",
        list: None,
        fields: &[
            yn("mimic_screen.cramps", "Does a calf or foot muscle suddenly harden and hurt?"),
            yn(
                "mimic_screen.single_position_relief",
                "Does one change of position make it go away?",
            ),
            yn(
                "mimic_screen.pain_on_walking",
                "Do your legs hurt when you walk, easing when you stop?",
            ),
            yn("mimic_screen.leg_swelling", "Are your legs or ankles swollen?"),
            yn(
                "mimic_screen.elevation_relief",
                "Do your legs ache and feel heavy after standing, and feel better when raised?",
            ),
            yn("mimic_screen.joint_pain", "Do your joints hurt, more so when you use them?"),
            yn(
                "mimic_screen.muscle_pain",
                "Are your leg muscles sore or tender at any time of day?",
            ),
            yn(
                "mimic_screen.foot_tapping",
                "Do you tap your feet out of habit, without discomfort or a need to move?",
            ),
            yn(
                "mimic_screen.whole_body_restlessness",
                "Is the restlessness in your whole body rather than your legs?",
            ),
            yn(
                "mimic_screen.only_when_standing",
                "Is it there only while you stand still, going away when you walk or sit?",
            ),
            yn(
                "mimic_screen.restless_sitting_not_lying",
                "Are you restless when sitting but not lying down, and dizzy when you stand up?",
            ),
            yn(
                "mimic_screen.numbness_or_burning",
                "Do you have numbness, burning or pins and needles that moving does not ease?",
            ),
            yn("mimic_screen.radiating_back_pain", "Does pain shoot from your back down one leg?"),
            yn(
                "mimic_screen.toe_movements",
                "Do your toes or feet make constant writhing movements?",
            ),
            yn(
                "mimic_screen.movements_in_sleep_only",
                "Do others notice your legs jerking in your sleep, while you feel no urge when awake?",
            ),
        ],
    },
];

const LAB_PARTS: &[&str] = &["name", "comparator", "value", "unit", "date"];

/// Every field of the form (list rows excepted).
pub(crate) fn fields() -> impl Iterator<Item = &'static Field> {
    SECTIONS.iter().flat_map(|s| s.fields.iter())
}

/// A person's answers as typed, messages per field, and notes for the whole form.
#[derive(Clone, Debug, Default)]
pub(crate) struct Answers {
    /// Field name → text as typed (never empty).
    pub values: BTreeMap<String, String>,
    /// Field name → what is wrong, in plain words.
    pub errors: BTreeMap<String, String>,
    /// Messages about the whole form.
    pub notes: Vec<String>,
}

fn row_of(name: &str, list: &str) -> Option<(usize, String)> {
    let rest = name.strip_prefix(list)?.strip_prefix('.')?;
    let (index, part) = rest.split_once('.').map_or((rest, ""), |(i, p)| (i, p));
    let index: usize = index.parse().ok()?;
    (index < MAX_ROWS).then(|| (index, part.to_owned()))
}

/// Whether `name` is a control of the form.
pub(crate) fn known(name: &str) -> bool {
    fields().any(|f| f.name == name)
        || row_of(name, "medications").is_some_and(|(_, p)| p.is_empty())
        || row_of(name, "conditions").is_some_and(|(_, p)| p.is_empty())
        || row_of(name, "labs").is_some_and(|(_, p)| LAB_PARTS.contains(&p.as_str()))
}

impl Answers {
    /// The form's controls from posted pairs; other names are ignored.
    pub(crate) fn from_pairs(pairs: &[(String, String)]) -> Answers {
        let mut a = Answers::default();
        for (k, v) in pairs {
            let v = v.trim();
            if !v.is_empty() && known(k) {
                a.values.insert(k.clone(), v.to_owned());
            }
        }
        a
    }

    fn get(&self, name: &str) -> &str {
        self.values.get(name).map_or("", String::as_str)
    }

    fn err(&mut self, name: impl Into<String>, message: impl Into<String>) {
        self.errors.entry(name.into()).or_insert_with(|| message.into());
    }

    fn rows(&self, list: &str, at_least: usize) -> usize {
        let used = self
            .values
            .keys()
            .filter_map(|k| row_of(k, list))
            .map(|(i, _)| i + 1)
            .max()
            .unwrap_or(0);
        (used + 2).max(at_least).min(MAX_ROWS)
    }
}

/// The questionnaire JSON built from the form, and which form row each list entry came from.
pub(crate) struct Built {
    pub doc: Value,
    pub medications: Vec<usize>,
    pub labs: Vec<usize>,
    pub conditions: Vec<usize>,
}

fn set(doc: &mut Map<String, Value>, dotted: &str, v: Value) {
    match dotted.split_once('.') {
        None => {
            doc.insert(dotted.to_owned(), v);
        }
        Some((head, rest)) => {
            let child = doc.entry(head.to_owned()).or_insert_with(|| Value::Object(Map::new()));
            if let Value::Object(m) = child {
                set(m, rest, v);
            }
        }
    }
}

fn parse_number(text: &str) -> Option<f64> {
    let t = text.trim().replace(',', ".");
    t.parse::<f64>().ok().filter(|n| n.is_finite())
}

fn number_value(n: f64) -> Value {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        #[allow(clippy::cast_possible_truncation)]
        let i = n as i64;
        Value::from(i)
    } else {
        Value::from(n)
    }
}

fn fmt_number(n: f64) -> String {
    if n.fract() == 0.0 { format!("{n:.0}") } else { n.to_string() }
}

fn valid_date(text: &str) -> bool {
    text.len() == 10 && chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d").is_ok()
}

fn ordinal(i: usize) -> String {
    format!("{}", i + 1)
}

/// Checks the answers and builds the questionnaire JSON; on problems, the answers come back
/// with a message next to every field at fault.
pub(crate) fn build(answers: &Answers, kb: &Kb) -> Result<Built, Answers> {
    let mut a = answers.clone();
    a.errors.clear();
    let mut doc = Map::new();
    doc.insert("questionnaire_version".to_owned(), Value::from(1));
    for f in fields() {
        let text = a.get(f.name).to_owned();
        if text.is_empty() {
            continue;
        }
        match f.kind {
            Kind::YesNo => match text.as_str() {
                "yes" => set(&mut doc, f.name, Value::Bool(true)),
                "no" => set(&mut doc, f.name, Value::Bool(false)),
                "unsure" => {}
                _ => a.err(f.name, "Please choose Yes, No or Not sure."),
            },
            Kind::Check => {
                if text == "yes" {
                    set(&mut doc, f.name, Value::Bool(true));
                }
            }
            Kind::Number { min, max, example } => match parse_number(&text) {
                None => a.err(f.name, format!("Please enter a number, for example {example}.")),
                Some(n) if n < min || n > max => a.err(
                    f.name,
                    format!(
                        "Please enter a number from {} to {}.",
                        fmt_number(min),
                        fmt_number(max)
                    ),
                ),
                Some(n) => set(&mut doc, f.name, number_value(n)),
            },
            Kind::Date => {
                if valid_date(&text) {
                    set(&mut doc, f.name, Value::String(text));
                } else {
                    a.err(f.name, "Please enter a date as year-month-day, for example 2026-10-02.");
                }
            }
            Kind::Choice(options) => {
                if options.iter().any(|(v, _)| *v == text) {
                    set(&mut doc, f.name, Value::String(text));
                } else {
                    a.err(f.name, "Please choose one of the options.");
                }
            }
        }
    }
    let mut built = Built {
        doc: Value::Null,
        medications: Vec::new(),
        labs: Vec::new(),
        conditions: Vec::new(),
    };
    let mut meds = Vec::new();
    let mut conds = Vec::new();
    for i in 0..MAX_ROWS {
        let m = a.get(&format!("medications.{i}"));
        if !m.is_empty() {
            meds.push(Value::String(m.to_owned()));
            built.medications.push(i);
        }
        let c = a.get(&format!("conditions.{i}"));
        if !c.is_empty() {
            conds.push(Value::String(c.to_owned()));
            built.conditions.push(i);
        }
    }
    let mut labs = Vec::new();
    for i in 0..MAX_ROWS {
        let key = |p: &str| format!("labs.{i}.{p}");
        let (name, value, unit, date) =
            (a.get(&key("name")), a.get(&key("value")), a.get(&key("unit")), a.get(&key("date")));
        if [name, value, unit, date].iter().all(|s| s.is_empty()) {
            continue;
        }
        let (name, value, unit, date) =
            (name.to_owned(), value.to_owned(), unit.to_owned(), date.to_owned());
        let comparator = a.get(&key("comparator")).to_owned();
        let analyte = kb.terminology().analyte(&name);
        let mut ok = true;
        if analyte.is_none() {
            a.err(key("name"), "Please choose which test this result is from.");
            ok = false;
        }
        let n = parse_number(&value);
        if value.is_empty() {
            a.err(key("value"), "Please enter the result as a number.");
            ok = false;
        } else if n.is_none_or(|n| n < 0.0) {
            a.err(
                key("value"),
                "Please enter the result as a number of 0 or more, for example 20.",
            );
            ok = false;
        }
        if unit.is_empty() {
            a.err(
                key("unit"),
                "Please enter the unit printed next to the result, for example ng/mL.",
            );
            ok = false;
        } else if let Some(an) = analyte
            && !an.accepts(&unit)
        {
            let units: Vec<&str> = an.conversions.iter().map(|c| c.unit.as_str()).collect();
            a.err(
                key("unit"),
                format!(
                    "This unit cannot be used for {}. Units that can: {}.",
                    an.name,
                    units.join(", ")
                ),
            );
            ok = false;
        }
        if date.is_empty() {
            a.err(key("date"), "Please enter the date the blood was taken.");
            ok = false;
        } else if !valid_date(&date) {
            a.err(key("date"), "Please enter a date as year-month-day, for example 2026-10-02.");
            ok = false;
        }
        if !COMPARATOR.iter().any(|(v, _)| *v == comparator) {
            a.err(key("comparator"), "Please choose one of the options.");
            ok = false;
        }
        if ok && let Some(n) = n {
            let mut lab = Map::new();
            lab.insert("name".to_owned(), Value::String(name));
            if !comparator.is_empty() {
                lab.insert("comparator".to_owned(), Value::String(comparator));
            }
            lab.insert("value".to_owned(), number_value(n));
            lab.insert("unit".to_owned(), Value::String(unit));
            lab.insert("date".to_owned(), Value::String(date));
            labs.push(Value::Object(lab));
            built.labs.push(i);
        }
    }
    if !meds.is_empty() || doc.contains_key("medications_complete") {
        doc.insert("medications".to_owned(), Value::Array(meds));
    }
    if !conds.is_empty() || doc.contains_key("conditions_complete") {
        doc.insert("conditions".to_owned(), Value::Array(conds));
    }
    if !labs.is_empty() {
        doc.insert("labs".to_owned(), Value::Array(labs));
    }
    if !a.errors.is_empty() {
        return Err(a);
    }
    built.doc = Value::Object(doc);
    Ok(built)
}

/// The form field a questionnaire JSON pointer (`/labs/0/unit`) refers to, given the rows the
/// list entries came from.
pub(crate) fn field_for_path(path: &str, built: &Built) -> Option<String> {
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let name = match parts.as_slice() {
        [list @ ("medications" | "conditions" | "labs"), index, rest @ ..] => {
            let rows = match *list {
                "medications" => &built.medications,
                "conditions" => &built.conditions,
                _ => &built.labs,
            };
            let row = rows.get(index.parse::<usize>().ok()?)?;
            match (*list, rest) {
                ("labs", [part, ..]) => format!("labs.{row}.{part}"),
                ("labs", []) => format!("labs.{row}.name"),
                _ => format!("{list}.{row}"),
            }
        }
        _ => parts.join("."),
    };
    known(&name).then_some(name)
}

/// A plain-words message from the reader's "expected …".
pub(crate) fn problem_message(expected: &str) -> String {
    format!("Please check this answer: we expected {expected}.")
}

fn json_text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => n.as_f64().map(fmt_number),
        _ => None,
    }
}

fn lookup<'a>(doc: &'a Value, dotted: &str) -> Option<&'a Value> {
    dotted.split('.').try_fold(doc, |v, k| v.get(k))
}

/// The form filled from a saved questionnaire file; what the form cannot show is named in the
/// notes. `Err` carries a plain-words reason when the document is not a questionnaire.
pub(crate) fn from_json(doc: &Value, kb: &Kb) -> Result<Answers, String> {
    let Some(obj) = doc.as_object() else {
        return Err("This file does not hold saved answers: it is not a JSON object.".to_owned());
    };
    if obj.contains_key("resourceType") {
        return Err("This file holds health records (FHIR), not answers saved from this page. \
            Use \u{201c}Show the report\u{201d} to assess it."
            .to_owned());
    }
    let mut a = Answers::default();
    let mut dropped: Vec<String> = Vec::new();
    for f in fields() {
        let Some(v) = lookup(doc, f.name) else { continue };
        let text = match (f.kind, v) {
            (Kind::YesNo, Value::Bool(b)) => Some(if *b { "yes" } else { "no" }.to_owned()),
            (Kind::Check, Value::Bool(true)) => Some("yes".to_owned()),
            (Kind::Check, Value::Bool(false)) => None,
            (Kind::Choice(_), Value::Bool(b)) if f.name == "lifestyle.smoking" => {
                Some(if *b { "current" } else { "never" }.to_owned())
            }
            (_, v) => json_text(v),
        };
        match text {
            Some(t) if !t.is_empty() => {
                a.values.insert(f.name.to_owned(), t);
            }
            Some(_) | None => {}
        }
    }
    let list = |k: &str| obj.get(k).and_then(Value::as_array).map_or(&[][..], Vec::as_slice);
    for (i, m) in list("medications").iter().take(MAX_ROWS).enumerate() {
        let text = match m {
            Value::Object(o) => {
                if o.contains_key("started") || o.contains_key("stopped") {
                    dropped.push("start and stop dates of medicines".to_owned());
                }
                o.get("text").and_then(json_text)
            }
            other => json_text(other),
        };
        if let Some(t) = text {
            a.values.insert(format!("medications.{i}"), t);
        }
    }
    for (i, c) in list("conditions").iter().take(MAX_ROWS).enumerate() {
        let text = match c {
            Value::Object(o) => {
                if o.contains_key("code") {
                    dropped.push("diagnosis codes".to_owned());
                }
                if o.contains_key("onset") || o.contains_key("resolved") {
                    dropped.push("onset dates and resolved conditions".to_owned());
                }
                o.get("text").and_then(json_text)
            }
            other => json_text(other),
        };
        if let Some(t) = text {
            a.values.insert(format!("conditions.{i}"), t);
        }
    }
    for (i, l) in list("labs").iter().take(MAX_ROWS).enumerate() {
        let term = kb.terminology();
        let analyte =
            l.get("loinc").and_then(Value::as_str).and_then(|c| term.analyte_by_loinc(c)).or_else(
                || l.get("name").and_then(Value::as_str).and_then(|n| term.analyte_by_name(n)),
            );
        match analyte {
            Some(an) => {
                a.values.insert(format!("labs.{i}.name"), an.id.clone());
            }
            None => dropped.push("blood tests the page does not know".to_owned()),
        }
        for part in ["comparator", "value", "unit", "date"] {
            if let Some(t) = l.get(part).and_then(json_text).filter(|t| !t.is_empty()) {
                a.values.insert(format!("labs.{i}.{part}"), t);
            }
        }
    }
    dropped.sort();
    dropped.dedup();
    a.notes.push(
        "Your saved answers are filled in below. Check them, then press \u{201c}Show my \
         report\u{201d}."
            .to_owned(),
    );
    if !dropped.is_empty() {
        a.notes.push(format!(
            "This form cannot show {} from your file, so they are left out. To use them, \
             upload the file with \u{201c}Show the report\u{201d} instead.",
            dropped.join(", ")
        ));
    }
    Ok(a)
}

fn control_id(name: &str) -> String {
    format!("f-{}", name.replace('.', "-"))
}

fn described_by(hint: bool, error: bool, id: &str) -> String {
    let mut ids = Vec::new();
    if hint {
        ids.push(format!("{id}-hint"));
    }
    if error {
        ids.push(format!("{id}-error"));
    }
    if ids.is_empty() { String::new() } else { format!(" aria-describedby=\"{}\"", ids.join(" ")) }
}

fn error_line(out: &mut String, id: &str, error: Option<&String>) {
    // The element is always there so that live validation can fill it.
    let _ = writeln!(
        out,
        "<p class=\"error\" id=\"{id}-error\" aria-live=\"polite\">{}</p>",
        error.map(|e| esc(e)).unwrap_or_default()
    );
}

fn invalid(error: bool) -> &'static str {
    if error { " aria-invalid=\"true\"" } else { "" }
}

fn render_field(out: &mut String, f: &Field, a: &Answers) {
    let id = control_id(f.name);
    let value = a.get(f.name);
    let error = a.errors.get(f.name);
    let cls = if error.is_some() { "field has-error" } else { "field" };
    let hint = !f.hint.is_empty();
    let hint_html = if hint {
        format!("<p class=\"hint\" id=\"{id}-hint\">{}</p>\n", esc(f.hint))
    } else {
        String::new()
    };
    match f.kind {
        Kind::YesNo => {
            let _ = write!(
                out,
                "<fieldset class=\"{cls} yesno\" id=\"{id}\"{}>\n<legend>{}</legend>\n{hint_html}<div class=\"choices\">",
                described_by(hint, error.is_some(), &id),
                esc(f.label)
            );
            for (v, label) in [("yes", "Yes"), ("no", "No"), ("unsure", "Not sure")] {
                let checked = if value == v { " checked" } else { "" };
                let _ = write!(
                    out,
                    "<span class=\"choice\"><input type=\"radio\" id=\"{id}-{v}\" name=\"{}\" value=\"{v}\"{checked}> <label for=\"{id}-{v}\">{label}</label></span>",
                    esc(f.name)
                );
            }
            out.push_str("</div>\n");
            error_line(out, &id, error);
            out.push_str("</fieldset>\n");
        }
        Kind::Check => {
            let checked = if value == "yes" { " checked" } else { "" };
            let _ = writeln!(
                out,
                "<div class=\"{cls} check\"><input type=\"checkbox\" id=\"{id}\" name=\"{}\" value=\"yes\"{checked}> <label for=\"{id}\">{}</label></div>",
                esc(f.name),
                esc(f.label)
            );
        }
        Kind::Number { min, max, example } => {
            let _ = writeln!(
                out,
                "<div class=\"{cls}\"><label for=\"{id}\">{}</label>\n{hint_html}<input type=\"text\" inputmode=\"decimal\" class=\"num\" id=\"{id}\" name=\"{}\" value=\"{}\" data-min=\"{}\" data-max=\"{}\" data-example=\"{example}\" autocomplete=\"off\"{}{}>",
                esc(f.label),
                esc(f.name),
                esc(value),
                fmt_number(min),
                fmt_number(max),
                described_by(hint, error.is_some(), &id),
                invalid(error.is_some())
            );
            error_line(out, &id, error);
            out.push_str("</div>\n");
        }
        Kind::Date => {
            let _ = writeln!(
                out,
                "<div class=\"{cls}\"><label for=\"{id}\">{}</label>\n{hint_html}<input type=\"date\" id=\"{id}\" name=\"{}\" value=\"{}\"{}{}>",
                esc(f.label),
                esc(f.name),
                esc(value),
                described_by(hint, error.is_some(), &id),
                invalid(error.is_some())
            );
            error_line(out, &id, error);
            out.push_str("</div>\n");
        }
        Kind::Choice(options) => {
            let _ = write!(
                out,
                "<div class=\"{cls}\"><label for=\"{id}\">{}</label>\n{hint_html}<select id=\"{id}\" name=\"{}\"{}{}>",
                esc(f.label),
                esc(f.name),
                described_by(hint, error.is_some(), &id),
                invalid(error.is_some())
            );
            options_html(out, options.iter().map(|(v, l)| (*v, *l)), value);
            out.push_str("</select>\n");
            error_line(out, &id, error);
            out.push_str("</div>\n");
        }
    }
}

fn options_html<'a>(
    out: &mut String,
    options: impl Iterator<Item = (&'a str, &'a str)>,
    value: &str,
) {
    for (v, l) in options {
        let sel = if v == value { " selected" } else { "" };
        let _ = write!(out, "<option value=\"{}\"{sel}>{}</option>", esc(v), esc(l));
    }
}

fn text_row(out: &mut String, a: &Answers, name: &str, label: &str, list: &str) {
    let id = control_id(name);
    let error = a.errors.get(name);
    let cls = if error.is_some() { "field has-error" } else { "field" };
    let _ = writeln!(
        out,
        "<div class=\"{cls}\"><label for=\"{id}\">{}</label>\n<input type=\"text\" id=\"{id}\" name=\"{}\" value=\"{}\" list=\"{list}\" autocomplete=\"off\"{}{}>",
        esc(label),
        esc(name),
        esc(a.get(name)),
        described_by(false, error.is_some(), &id),
        invalid(error.is_some())
    );
    error_line(out, &id, error);
    out.push_str("</div>\n");
}

fn render_list(out: &mut String, list: List, a: &Answers, kb: &Kb) {
    match list {
        List::Medicines => {
            out.push_str("<div class=\"rows\" data-list=\"medications\">\n");
            for i in 0..a.rows("medications", MED_ROWS) {
                text_row(
                    out,
                    a,
                    &format!("medications.{i}"),
                    &format!("Medicine {}", ordinal(i)),
                    "drug-names",
                );
            }
            out.push_str("</div>\n");
        }
        List::Conditions => {
            out.push_str("<div class=\"rows\" data-list=\"conditions\">\n");
            for i in 0..a.rows("conditions", COND_ROWS) {
                text_row(
                    out,
                    a,
                    &format!("conditions.{i}"),
                    &format!("Condition {}", ordinal(i)),
                    "condition-names",
                );
            }
            out.push_str("</div>\n");
        }
        List::Labs => {
            let analytes = kb.terminology().analytes();
            for i in 0..a.rows("labs", LAB_ROWS) {
                let n = ordinal(i);
                let key = |p: &str| format!("labs.{i}.{p}");
                let _ = writeln!(
                    out,
                    "<fieldset class=\"lab\"><legend>Blood test {n}</legend>\n<div class=\"lab-grid\">"
                );
                // Test.
                let name = key("name");
                let id = control_id(&name);
                let err = a.errors.get(&name);
                let _ = write!(
                    out,
                    "<div class=\"field{}\"><label for=\"{id}\">Test</label>\n<select id=\"{id}\" name=\"{name}\" data-lab=\"{}\"{}{}>",
                    if err.is_some() { " has-error" } else { "" },
                    control_id(&key("unit")),
                    described_by(false, err.is_some(), &id),
                    invalid(err.is_some())
                );
                let chosen = a.get(&name);
                options_html(
                    out,
                    std::iter::once(("", "Choose a test")).chain(
                        analytes
                            .iter()
                            .filter(|an| !an.unit.starts_with('{'))
                            .map(|an| (an.id.as_str(), an.name.as_str())),
                    ),
                    chosen,
                );
                out.push_str("</select>\n");
                error_line(out, &id, err);
                out.push_str("</div>\n");
                // Comparator.
                let cmp = key("comparator");
                let id = control_id(&cmp);
                let err = a.errors.get(&cmp);
                let _ = write!(
                    out,
                    "<div class=\"field\"><label for=\"{id}\">Result was</label>\n<select id=\"{id}\" name=\"{cmp}\">"
                );
                options_html(out, COMPARATOR.iter().map(|(v, l)| (*v, *l)), a.get(&cmp));
                out.push_str("</select>\n");
                error_line(out, &id, err);
                out.push_str("</div>\n");
                // Value, unit, date.
                for (part, label, kind) in [
                    ("value", "Result", "num"),
                    ("unit", "Unit", "unit"),
                    ("date", "Date of the test", "date"),
                ] {
                    let k = key(part);
                    let id = control_id(&k);
                    let err = a.errors.get(&k);
                    let attrs = match kind {
                        "num" => "type=\"text\" inputmode=\"decimal\" class=\"num\" data-min=\"0\" data-example=\"20\" autocomplete=\"off\"".to_owned(),
                        "unit" => {
                            let list = analytes
                                .iter()
                                .find(|an| an.id == chosen)
                                .map_or_else(|| "units-all".to_owned(), |an| format!("units-{}", an.id));
                            format!("type=\"text\" list=\"{list}\" autocomplete=\"off\"")
                        }
                        _ => "type=\"date\"".to_owned(),
                    };
                    let _ = writeln!(
                        out,
                        "<div class=\"field{}\"><label for=\"{id}\">{label}</label>\n<input {attrs} id=\"{id}\" name=\"{k}\" value=\"{}\"{}{}>",
                        if err.is_some() { " has-error" } else { "" },
                        esc(a.get(&k)),
                        described_by(false, err.is_some(), &id),
                        invalid(err.is_some())
                    );
                    error_line(out, &id, err);
                    out.push_str("</div>\n");
                }
                out.push_str("</div>\n</fieldset>\n");
            }
        }
    }
}

fn datalists(out: &mut String, kb: &Kb) {
    let term = kb.terminology();
    let mut drugs: Vec<String> = Vec::new();
    for d in term.drugs() {
        drugs.push(d.id.clone());
        drugs.extend(d.brands.iter().cloned());
    }
    drugs.extend(term.products().iter().map(|p| p.name.clone()));
    drugs.sort_by_key(|s| s.to_lowercase());
    drugs.dedup_by(|a, b| a.eq_ignore_ascii_case(b));
    out.push_str("<datalist id=\"drug-names\">");
    for d in &drugs {
        let _ = write!(out, "<option value=\"{}\">", esc(d));
    }
    out.push_str("</datalist>\n<datalist id=\"condition-names\">");
    let mut conds: Vec<&str> =
        term.condition_sets().iter().filter_map(|s| s.text.first().map(String::as_str)).collect();
    conds.sort_unstable();
    conds.dedup();
    for c in conds {
        let _ = write!(out, "<option value=\"{}\">", esc(c));
    }
    out.push_str("</datalist>\n");
    let mut all: Vec<&str> = Vec::new();
    for an in term.analytes() {
        let _ = write!(out, "<datalist id=\"units-{}\">", esc(&an.id));
        for c in &an.conversions {
            let _ = write!(out, "<option value=\"{}\">", esc(&c.unit));
            all.push(&c.unit);
        }
        out.push_str("</datalist>\n");
    }
    all.sort_unstable();
    all.dedup();
    out.push_str("<datalist id=\"units-all\">");
    for u in all {
        let _ = write!(out, "<option value=\"{}\">", esc(u));
    }
    out.push_str("</datalist>\n");
}

/// The label of a field or list control, for the error summary.
fn label_of(name: &str) -> String {
    if let Some(f) = fields().find(|f| f.name == name) {
        return f.label.to_owned();
    }
    if let Some((i, _)) = row_of(name, "medications") {
        return format!("Medicine {}", ordinal(i));
    }
    if let Some((i, _)) = row_of(name, "conditions") {
        return format!("Condition {}", ordinal(i));
    }
    if let Some((i, part)) = row_of(name, "labs") {
        let what = match part.as_str() {
            "name" => "test",
            "comparator" => "result was",
            "value" => "result",
            "unit" => "unit",
            _ => "date",
        };
        return format!("Blood test {}: {what}", ordinal(i));
    }
    name.to_owned()
}

/// Where a message about `name` should link to: radios link to their first option.
fn anchor_of(name: &str) -> String {
    let id = control_id(name);
    match fields().find(|f| f.name == name) {
        Some(Field { kind: Kind::YesNo, .. }) => format!("{id}-yes"),
        _ => id,
    }
}

/// The upload box: a file or pasted text, to see a report or to fill the form.
pub(crate) fn upload_box(out: &mut String, error: Option<&str>) {
    let cls = if error.is_some() { "card upload has-error" } else { "card upload" };
    let _ = writeln!(
        out,
        "<section class=\"{cls}\" id=\"upload\" aria-labelledby=\"upload-title\">\n<h2 id=\"upload-title\">Have a file instead?</h2>\n\
<p>Upload health records as a FHIR Bundle or FHIR NDJSON (from a patient portal or a clinic), \
or a file of answers you saved from this page. Nothing you upload is kept.</p>"
    );
    if let Some(e) = error {
        let _ = writeln!(
            out,
            "<div class=\"alert\" role=\"alert\" id=\"upload-error\" tabindex=\"-1\"><h3>We could not use this file</h3><p>{}</p></div>",
            esc(e)
        );
    }
    out.push_str(
        "<form method=\"post\" action=\"/upload\" enctype=\"multipart/form-data\">\n\
<div class=\"field\"><label for=\"upload-file\">File (.json or .ndjson)</label>\n\
<input type=\"file\" id=\"upload-file\" name=\"file\" accept=\".json,.ndjson,.txt,application/json,application/fhir+json\"></div>\n\
<details><summary>Or paste the text</summary>\n<div class=\"field\"><label for=\"upload-text\">Text of the file</label>\n\
<textarea id=\"upload-text\" name=\"text\" rows=\"6\" spellcheck=\"false\"></textarea></div></details>\n\
<div class=\"buttons\"><button type=\"submit\" class=\"primary\">Show the report</button>\n\
<button type=\"submit\" formaction=\"/\" class=\"secondary\">Fill the form with my saved answers</button></div>\n</form>\n</section>\n",
    );
}

/// The questionnaire page's content: intro, messages, the upload box and the form.
pub(crate) fn render(kb: &Kb, a: &Answers, upload_error: Option<&str>) -> String {
    let mut out = String::with_capacity(64 * 1024);
    out.push_str(
        "<h1>Restless legs: finding the causes</h1>\n<p class=\"lead\">Answer what you can and \
leave the rest: a question left empty counts as unknown, never as \u{201c}no\u{201d}. The report shows \
which causes fit your answers, which are ruled out and which tests would settle the rest, to \
discuss with your doctor. Nothing you type is stored.</p>\n",
    );
    if !a.errors.is_empty() {
        let n = a.errors.len();
        let _ = writeln!(
            out,
            "<div class=\"alert error-summary\" role=\"alert\" id=\"error-summary\" tabindex=\"-1\">\n<h2>Please check {} {}</h2>\n<ul>",
            n,
            if n == 1 { "answer" } else { "answers" }
        );
        // In page order.
        let mut names: Vec<&String> = a.errors.keys().collect();
        names.sort_by_key(|n| order_of(n));
        for name in names {
            let _ = writeln!(
                out,
                "<li><a href=\"#{}\">{} \u{2014} {}</a></li>",
                anchor_of(name),
                esc(&label_of(name)),
                esc(&a.errors[name])
            );
        }
        out.push_str("</ul>\n</div>\n");
    }
    if !a.notes.is_empty() {
        out.push_str("<div class=\"note\" role=\"status\">");
        for n in &a.notes {
            let _ = write!(out, "<p>{}</p>", esc(n));
        }
        out.push_str("</div>\n");
    }
    upload_box(&mut out, upload_error);
    out.push_str("<form method=\"post\" action=\"/report\" id=\"questionnaire\" class=\"questionnaire\">\n<nav class=\"toc\" aria-label=\"Sections\"><h2>Sections</h2><ol>");
    for s in SECTIONS {
        let _ = write!(out, "<li><a href=\"#s-{}\">{}</a></li>", s.id, esc(s.title));
    }
    out.push_str("</ol></nav>\n");
    for s in SECTIONS {
        let _ = writeln!(
            out,
            "<section class=\"card\" id=\"s-{}\" aria-labelledby=\"s-{}-title\">\n<h2 id=\"s-{}-title\">{}</h2>",
            s.id,
            s.id,
            s.id,
            esc(s.title)
        );
        if !s.intro.is_empty() {
            let _ = writeln!(out, "<p class=\"intro\">{}</p>", esc(s.intro));
        }
        if let Some(list) = s.list {
            render_list(&mut out, list, a, kb);
        }
        for f in s.fields {
            render_field(&mut out, f, a);
        }
        out.push_str("</section>\n");
    }
    datalists(&mut out, kb);
    out.push_str(
        "<div class=\"buttons submit\"><button type=\"submit\" class=\"primary\">Show my report</button>\n\
<button type=\"submit\" name=\"action\" value=\"save\" class=\"secondary\">Download my answers</button></div>\n\
<p class=\"hint\">\u{201c}Download my answers\u{201d} saves a file you can upload here later to fill the form again.</p>\n</form>\n",
    );
    out
}

/// Position of a field in the page, for ordering messages.
fn order_of(name: &str) -> (usize, usize, String) {
    for (si, s) in SECTIONS.iter().enumerate() {
        if let Some(fi) = s.fields.iter().position(|f| f.name == name) {
            return (si, fi + MAX_ROWS * 8, String::new());
        }
        let list = match s.list {
            Some(List::Medicines) => "medications",
            Some(List::Labs) => "labs",
            Some(List::Conditions) => "conditions",
            None => continue,
        };
        if let Some((i, part)) = row_of(name, list) {
            let p = LAB_PARTS.iter().position(|x| *x == part).unwrap_or(0);
            return (si, i * 8 + p, String::new());
        }
    }
    (usize::MAX, 0, name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kb() -> Kb {
        Kb::embedded().unwrap()
    }

    fn answers(pairs: &[(&str, &str)]) -> Answers {
        let pairs: Vec<(String, String)> =
            pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        Answers::from_pairs(&pairs)
    }

    #[test]
    fn every_field_name_is_a_questionnaire_path() {
        let schema: Value =
            serde_json::from_str(include_str!("../../../../schemas/questionnaire.schema.json"))
                .unwrap();
        for f in fields() {
            let mut node = &schema;
            for part in f.name.split('.') {
                node = &node["properties"][part];
            }
            assert!(node.is_object(), "{} is not in the schema", f.name);
        }
    }

    #[test]
    fn builds_the_questionnaire_json() {
        let a = answers(&[
            ("symptoms.urge_to_move", "yes"),
            ("symptoms.explained_by_other_condition", "no"),
            ("symptoms.worse_at_rest", "unsure"),
            ("lifestyle.sleep_hours", "6,5"),
            ("medications.2", "Paxil 20 mg"),
            ("medications_complete", "yes"),
            ("labs.1.name", "ferritin"),
            ("labs.1.value", "20"),
            ("labs.1.unit", "ng/mL"),
            ("labs.1.date", "2026-10-02"),
            ("bogus", "x"),
        ]);
        let b = build(&a, &kb()).unwrap_or_else(|a| panic!("{:?}", a.errors));
        assert_eq!(
            b.doc,
            serde_json::json!({
                "questionnaire_version": 1,
                "symptoms": { "urge_to_move": true, "explained_by_other_condition": false },
                "lifestyle": { "sleep_hours": 6.5 },
                "medications": ["Paxil 20 mg"],
                "medications_complete": true,
                "labs": [{ "name": "ferritin", "value": 20, "unit": "ng/mL", "date": "2026-10-02" }]
            })
        );
        assert_eq!(b.medications, vec![2]);
        assert_eq!(b.labs, vec![1]);
        assert_eq!(field_for_path("/labs/0/date", &b).as_deref(), Some("labs.1.date"));
        assert_eq!(field_for_path("/medications/0", &b).as_deref(), Some("medications.2"));
        assert_eq!(
            field_for_path("/symptoms/age_at_onset", &b).as_deref(),
            Some("symptoms.age_at_onset")
        );
        assert_eq!(field_for_path("/nowhere", &b), None);
    }

    #[test]
    fn messages_name_the_fields_in_plain_words() {
        let a = answers(&[
            ("symptoms.days_per_week", "9"),
            ("lifestyle.sleep_hours", "lots"),
            ("labs.0.name", "ferritin"),
            ("labs.0.value", "20"),
            ("labs.0.unit", "furlongs"),
        ]);
        let e = build(&a, &kb()).err().unwrap().errors;
        assert_eq!(e["symptoms.days_per_week"], "Please enter a number from 0 to 7.");
        assert!(e["lifestyle.sleep_hours"].starts_with("Please enter a number"));
        assert!(e["labs.0.unit"].contains("ng/mL"), "{}", e["labs.0.unit"]);
        assert!(e["labs.0.date"].contains("date"));
    }

    #[test]
    fn a_saved_file_fills_the_form_and_builds_the_same_answers() {
        let k = kb();
        let text = include_str!("../../../../examples/iron-deficiency.json");
        let doc: Value = serde_json::from_str(text).unwrap();
        let a = from_json(&doc, &k).unwrap();
        assert_eq!(a.values["symptoms.urge_to_move"], "yes");
        assert_eq!(a.values["labs.1.name"], "transferrin-saturation");
        assert_eq!(a.values["lifestyle.sleep_hours"], "6.5");
        let b = build(&a, &k).unwrap_or_else(|a| panic!("{:?}", a.errors));
        assert_eq!(b.doc["labs"].as_array().unwrap().len(), 4);
        assert_eq!(b.doc["symptoms"], doc["symptoms"]);
        assert!(from_json(&serde_json::json!({"resourceType": "Bundle"}), &k).is_err());
    }
}
