//! Property tests of the engine over arbitrary patient records: it never panics, is a pure
//! function of its input, does not care in which order a record lists its facts, reports every
//! non-mimic cause exactly once and orders findings by status. Also the facts-level comparison
//! of measured values (`Bound::test`).

use std::collections::BTreeMap;
use std::sync::OnceLock;

use proptest::prelude::*;
use proptest::test_runner::Config;
use restless_engine::{Assessment, Status, assess};
use restless_facts::{
    Answer, AnswerFact, AnswerValue, Bound, Cmp, ConditionFact, ConditionStatus, Date, LabResult,
    MedStatus, MedicationFact, PatientRecord, Provenance, Reviewed, Sex,
};
use restless_kb::{CauseKind, Kb};

fn kb() -> &'static Kb {
    static KB: OnceLock<Kb> = OnceLock::new();
    KB.get_or_init(|| match Kb::embedded() {
        Ok(kb) => kb,
        Err(diags) => panic!(
            "embedded knowledge base is invalid:\n{}",
            diags.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n")
        ),
    })
}

fn config() -> Config {
    // No regression files: the suite must not write into the source tree.
    Config { cases: 256, failure_persistence: None, ..Config::default() }
}

const CMPS: &[Cmp] = &[Cmp::Lt, Cmp::Le, Cmp::Gt, Cmp::Ge, Cmp::Eq];

fn ids(list: impl Iterator<Item = String>, extra: &[&str]) -> Vec<String> {
    list.chain(extra.iter().map(|s| (*s).to_owned())).collect()
}

/// Evaluation dates, including month ends and a leap day (recency windows count months).
fn as_of() -> impl Strategy<Value = Date> {
    prop::sample::select(
        &["2026-11-27", "2026-03-31", "2024-02-29", "2025-12-31", "2000-01-01"][..],
    )
    .prop_map(|s| s.parse::<Date>().unwrap_or(Date::MIN))
}

/// A date around `as_of`: often one of a few shared days (so that results fall on the same day,
/// as iron and TIBC do), sometimes anywhere in the last years or just after, sometimes none.
fn date_around(as_of: Date) -> impl Strategy<Value = Option<Date>> {
    let shared =
        prop::sample::select(&[-800i64, -400, -366, -365, -200, -31, -30, -1, 0, 1, 30][..]);
    prop_oneof![
        1 => Just(None),
        3 => shared.prop_map(Some),
        2 => (-4000i64..100).prop_map(Some),
    ]
    .prop_map(move |d| d.and_then(|d| as_of.checked_add_signed(chrono::TimeDelta::days(d))))
}

/// Measured values: ordinary, zero, negative, huge, infinite and NaN.
fn number() -> impl Strategy<Value = f64> {
    prop_oneof![
        4 => 0.0f64..500.0,
        1 => -100.0f64..0.0,
        1 => prop::sample::select(&[0.0, -0.0, 1.0, 15.0, 20.0, 45.0, 75.0, 100.0, 1e308, f64::MAX, f64::MIN_POSITIVE][..]),
        1 => prop::sample::select(&[f64::NAN, f64::INFINITY, f64::NEG_INFINITY][..]),
        1 => any::<f64>(),
    ]
}

fn lab(as_of: Date) -> impl Strategy<Value = LabResult> {
    let analytes =
        ids(kb().terminology().analytes().iter().map(|a| a.id.clone()), &["not-an-analyte"]);
    (
        prop::sample::select(analytes),
        number(),
        prop::option::of(prop::sample::select(CMPS)),
        date_around(as_of),
        prop::bool::weighted(0.1),
    )
        .prop_map(|(analyte, value, comparator, date, derived)| LabResult {
            as_read: format!("{}{value}", comparator.map_or("", Cmp::symbol)),
            analyte: analyte.into(),
            value: Bound { value, comparator },
            date,
            source: Provenance::default(),
            derived,
        })
}

/// Results taken on one day, as a lab panel reports them: mostly iron studies and kidney
/// function, the inputs of derived values, often with a repeated analyte.
fn panel(as_of: Date) -> impl Strategy<Value = Vec<LabResult>> {
    let day = prop_oneof![3 => -360i64..=0, 1 => -2000i64..30]
        .prop_map(move |d| as_of.checked_add_signed(chrono::TimeDelta::days(d)));
    // Iron and TIBC weigh most: a day with one iron and two TIBC results is the hard case.
    let analyte = prop::sample::select(
        &[
            "serum-iron",
            "serum-iron",
            "tibc",
            "tibc",
            "tibc",
            "transferrin-saturation",
            "creatinine",
            "creatinine",
            "egfr",
            "ferritin",
        ][..],
    );
    // Values in each analyte's usual range (so derived TSAT falls on both sides of 20 %), and
    // now and then anything at all.
    let item = (
        analyte,
        prop::option::weighted(0.1, prop::sample::select(CMPS)),
        0.0f64..1.0,
        prop::option::weighted(0.15, number()),
    )
        .prop_map(|(analyte, comparator, at, wild)| {
            let (lo, hi) = match analyte {
                "serum-iron" => (5.0, 150.0),
                "tibc" => (150.0, 500.0),
                "transferrin-saturation" => (2.0, 60.0),
                "ferritin" => (5.0, 400.0),
                "creatinine" => (0.3, 10.0),
                _ => (5.0, 130.0),
            };
            (analyte, wild.unwrap_or(lo + at * (hi - lo)), comparator)
        });
    (day, prop::collection::vec(item, 1..7)).prop_map(|(date, items)| {
        items
            .into_iter()
            .map(|(analyte, value, comparator)| LabResult {
                as_read: format!("{}{value}", comparator.map_or("", Cmp::symbol)),
                analyte: analyte.into(),
                value: Bound { value, comparator },
                date,
                source: Provenance::default(),
                derived: false,
            })
            .collect()
    })
}

fn condition(as_of: Date) -> impl Strategy<Value = ConditionFact> {
    let sets = ids(
        kb().terminology().condition_sets().iter().map(|s| s.id.clone()),
        &["rls", "not-a-set"],
    );
    (
        prop::collection::vec(prop::sample::select(sets), 0..3),
        prop::sample::select(&[ConditionStatus::Active, ConditionStatus::History][..]),
        date_around(as_of),
        prop::sample::select(&["diabetes", "ICD-10-CM E11.42", "", "Ω"][..]),
    )
        .prop_map(|(sets, status, onset, display)| ConditionFact {
            sets: sets.into_iter().map(Into::into).collect(),
            status,
            onset,
            display: display.to_owned(),
            source: Provenance::default(),
        })
}

fn medication(as_of: Date) -> impl Strategy<Value = MedicationFact> {
    let t = kb().terminology();
    let drugs = ids(t.drugs().iter().map(|d| d.id.clone()), &["not-a-drug"]);
    let classes = ids(t.drug_classes().iter().map(|c| c.id.clone()), &["not-a-class"]);
    (
        prop::collection::vec(prop::sample::select(drugs), 0..3),
        prop_oneof![3 => Just(Vec::new()), 1 => prop::collection::vec(prop::sample::select(classes), 0..2)],
        prop::sample::select(&[MedStatus::Active, MedStatus::Stopped, MedStatus::Unknown][..]),
        date_around(as_of),
        date_around(as_of),
        prop::sample::select(&["Paxil 20 mg tablet", "paroxetine", "", "?"][..]),
    )
        .prop_map(|(ingredients, classes, status, start, end, display)| MedicationFact {
            ingredients: ingredients.into_iter().map(Into::into).collect(),
            classes: classes.into_iter().map(Into::into).collect(),
            display: display.to_owned(),
            status,
            start,
            end,
            source: Provenance::default(),
        })
}

fn answer() -> impl Strategy<Value = AnswerFact> {
    let value = prop_oneof![
        any::<bool>().prop_map(AnswerValue::YesNo),
        number().prop_map(AnswerValue::Number)
    ];
    (prop::sample::select(Answer::ALL), value).prop_map(|(answer, value)| AnswerFact {
        answer,
        value,
        source: Provenance::default(),
    })
}

/// Distinct sources, as every adapter gives (a JSON pointer or a resource id per item).
fn number_sources<T>(items: &mut [T], list: &str, source: impl Fn(&mut T) -> &mut Provenance) {
    for (i, item) in items.iter_mut().enumerate() {
        let p = source(item);
        *p = Provenance::new(format!("questionnaire:/{list}/{i}"));
        if i % 3 == 1 {
            *p = p.clone().with_field("value");
        }
    }
}

/// A record; with `repeats`, a question may be answered more than once (as a FHIR Bundle with
/// two pregnancy-status observations gives), otherwise once at most (as the questionnaire).
fn record(as_of: Date, repeats: bool) -> impl Strategy<Value = PatientRecord> {
    let person = (
        prop::option::of(prop_oneof![(-45_000i64..500), Just(0i64), Just(-366i64)]),
        prop::option::of(prop_oneof![0u32..120, any::<u32>()]),
        prop::option::of(prop::sample::select(&[Sex::Female, Sex::Male, Sex::Other][..])),
        prop::option::of(number()),
        any::<(bool, bool)>(),
    );
    let lists = (
        (prop::collection::vec(lab(as_of), 0..10), prop::collection::vec(panel(as_of), 0..4))
            .prop_map(|(mut labs, panels)| {
                labs.extend(panels.into_iter().flatten());
                labs
            }),
        prop::collection::vec(condition(as_of), 0..5),
        prop::collection::vec(medication(as_of), 0..5),
        prop::collection::vec(answer(), 0..24),
    );
    (person, lists).prop_map(
        move |(
            (birth, age, sex, onset, (rc, rm)),
            (mut labs, mut conditions, mut medications, mut answers),
        )| {
            number_sources(&mut labs, "labs", |l| &mut l.source);
            number_sources(&mut conditions, "conditions", |c| &mut c.source);
            number_sources(&mut medications, "medications", |m| &mut m.source);
            if !repeats {
                let mut asked = Vec::new();
                answers.retain(|a| {
                    let new = !asked.contains(&a.answer);
                    asked.push(a.answer);
                    new
                });
            }
            number_sources(&mut answers, "answers", |a| &mut a.source);
            PatientRecord {
                birth_date: birth
                    .and_then(|d| as_of.checked_add_signed(chrono::TimeDelta::days(d)))
                    .map(|d| (d, Provenance::new("questionnaire:/person/birth_date"))),
                age: age.map(|a| (a, Provenance::new("questionnaire:/person/age"))),
                sex: sex.map(|s| (s, Provenance::new("questionnaire:/person/sex"))),
                onset_age: onset
                    .map(|o| (o, Provenance::new("questionnaire:/symptoms/age_at_onset"))),
                labs,
                conditions,
                medications,
                answers,
                reviewed: Reviewed { conditions: rc, medications: rm },
                deceased: None,
            }
        },
    )
}

/// A record and the same record with its lists in another order.
fn record_and_shuffled(
    repeats: bool,
) -> impl Strategy<Value = (Date, PatientRecord, PatientRecord)> {
    as_of().prop_flat_map(move |d| (Just(d), record(d, repeats))).prop_flat_map(|(d, r)| {
        let shuffled = (
            Just(r.labs.clone()).prop_shuffle(),
            Just(r.conditions.clone()).prop_shuffle(),
            Just(r.medications.clone()).prop_shuffle(),
            Just(r.answers.clone()).prop_shuffle(),
        );
        (Just(d), Just(r.clone()), shuffled).prop_map(
            |(d, r, (labs, conditions, medications, answers))| {
                let s = PatientRecord { labs, conditions, medications, answers, ..r.clone() };
                (d, r, s)
            },
        )
    })
}

/// What must not depend on the order of the record's lists.
#[derive(Debug, PartialEq)]
struct Outline {
    findings: Vec<(String, Status, Vec<String>)>,
    classification: restless_engine::Classification,
    workup: Vec<restless_engine::WorkupItem>,
    diagnosis: (restless_engine::DiagnosisStatus, Vec<restless_engine::Tri>, Vec<(String, Status)>),
}

fn outline(a: &Assessment) -> Outline {
    Outline {
        findings: a
            .findings
            .iter()
            .map(|f| (f.cause.clone(), f.status, f.missing.clone()))
            .collect(),
        classification: a.classification.clone(),
        workup: a.workup.clone(),
        diagnosis: (
            a.diagnosis.status,
            a.diagnosis.criteria.iter().map(|c| c.value).collect(),
            a.diagnosis.mimics.iter().map(|m| (m.id.clone(), m.status)).collect(),
        ),
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn assessment_is_total_deterministic_and_complete((as_of, rec) in as_of().prop_flat_map(|d| (Just(d), record(d, true)))) {
        let kb = kb();
        let a = assess(kb, &rec, as_of);
        let b = assess(kb, &rec, as_of);
        prop_assert_eq!(&a, &b, "same input, different assessment");
        prop_assert_eq!(a.as_of, as_of);

        // Every non-mimic cause exactly once, and nothing else.
        let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
        for f in &a.findings {
            *seen.entry(f.cause.as_str()).or_default() += 1;
        }
        for cause in kb.causes() {
            let n = seen.remove(cause.id.as_str()).unwrap_or(0);
            if cause.kind == CauseKind::Mimic {
                prop_assert_eq!(n, 0, "mimic {} among findings", cause.id);
            } else {
                prop_assert_eq!(n, 1, "cause {} appears {} times", cause.id, n);
            }
        }
        prop_assert!(seen.is_empty(), "findings for unknown causes: {:?}", seen);

        // Ordered by status (present, possible, unknown, absent), then strength (strong first),
        // then id.
        let strength = |s: restless_kb::Strength| match s {
            restless_kb::Strength::Strong => 0,
            restless_kb::Strength::Moderate => 1,
            restless_kb::Strength::Weak => 2,
            restless_kb::Strength::Contested => 3,
        };
        for w in a.findings.windows(2) {
            let key = |f: &restless_engine::Finding| (f.status, strength(f.strength), f.cause.clone());
            prop_assert!(key(&w[0]) < key(&w[1]), "{} ({}) before {} ({})", w[0].cause, w[0].status.name(), w[1].cause, w[1].status.name());
        }
        // Mimics are listed only when present or possible, each once.
        for m in &a.diagnosis.mimics {
            prop_assert!(matches!(m.status, Status::Present | Status::Possible), "mimic {} listed as {}", m.id, m.status.name());
            prop_assert!(kb.cause(&m.id).is_some_and(|c| c.kind == CauseKind::Mimic));
        }
        prop_assert_eq!(a.diagnosis.criteria.len(), 5);
    }

    /// A population screen's assessment (no evidence, no text) reaches the same statuses,
    /// classification and work-up as the explained one.
    #[test]
    fn assessment_without_explanation_has_the_same_outline((as_of, rec) in as_of().prop_flat_map(|d| (Just(d), record(d, true)))) {
        let kb = kb();
        let full = assess(kb, &rec, as_of);
        let lite = restless_engine::assess_with(kb, &rec, as_of, restless_engine::AssessOptions { explain: false, follow_up: true, sources: false, why_not: false });
        prop_assert_eq!(outline(&full), outline(&lite));
        prop_assert_eq!(full.diagnosis.recorded.len(), lite.diagnosis.recorded.len());
        prop_assert!(lite.findings.iter().all(|f| f.evidence.is_empty() && f.advice.is_empty()));
        // A screen's: the same statuses, classification, diagnosis and work-up, without the
        // follow-up (missing facts, questions).
        let screen = restless_engine::assess_with(kb, &rec, as_of, restless_engine::AssessOptions::screen());
        let without_follow_up = |a: &Assessment| {
            let mut o = outline(a);
            for f in &mut o.findings {
                f.2.clear();
            }
            o
        };
        prop_assert_eq!(without_follow_up(&full), outline(&screen));
        prop_assert!(screen.questions.is_empty());
        prop_assert_eq!(&full.workup, &screen.workup);
        // A card's: the full evidence and advice of present findings (and none for the
        // others), the diagnosis's, without follow-up or reference lists.
        let cards = restless_engine::assess_with(kb, &rec, as_of, restless_engine::AssessOptions::cards());
        prop_assert_eq!(without_follow_up(&full), without_follow_up(&cards));
        prop_assert!(cards.questions.is_empty());
        for (f, c) in full.findings.iter().zip(&cards.findings) {
            if f.status == Status::Present {
                prop_assert_eq!((&f.evidence, &f.advice), (&c.evidence, &c.advice));
            } else {
                prop_assert!(c.evidence.is_empty() && c.advice.is_empty(), "{} explained", c.cause);
            }
            prop_assert_eq!(&f.alternatives, &c.alternatives);
            prop_assert!(c.references.is_empty() && c.seed.is_empty() && c.missing.is_empty());
        }
        prop_assert_eq!(&full.diagnosis.criteria, &cards.diagnosis.criteria);
        prop_assert_eq!(&full.diagnosis.recorded, &cards.diagnosis.recorded);
    }

    #[test]
    fn assessment_ignores_the_order_of_facts((as_of, rec, shuffled) in record_and_shuffled(false)) {
        let kb = kb();
        let a = outline(&assess(kb, &rec, as_of));
        let b = outline(&assess(kb, &shuffled, as_of));
        prop_assert_eq!(a, b);
    }

    /// The same with a question answered more than once (each answer with its own source).
    #[test]
    fn assessment_ignores_the_order_of_repeated_answers((as_of, rec, shuffled) in record_and_shuffled(true)) {
        let kb = kb();
        let a = outline(&assess(kb, &rec, as_of));
        let b = outline(&assess(kb, &shuffled, as_of));
        prop_assert_eq!(a, b);
    }

    #[test]
    fn exact_values_compare_plainly(v in number(), t in number(), op in prop::sample::select(CMPS)) {
        prop_assert_eq!(Bound::exact(v).test(op, t), Some(op.holds(v, t)));
        prop_assert_eq!(Bound { value: v, comparator: Some(Cmp::Eq) }.test(op, t), Some(op.holds(v, t)));
    }

    /// A bounded value (`<5`) settles a test only when every value it allows agrees.
    #[test]
    fn bounded_values_settle_only_when_every_allowed_value_agrees(
        v in -1000.0f64..1000.0,
        t in prop_oneof![-1000.0f64..1000.0, Just(0.0), Just(20.0), Just(75.0)],
        bound in prop::sample::select(&[Cmp::Lt, Cmp::Le, Cmp::Gt, Cmp::Ge][..]),
        op in prop::sample::select(&[Cmp::Lt, Cmp::Le, Cmp::Gt, Cmp::Ge][..]),
        gap in prop_oneof![Just(0.0f64), 1e-9f64..1.0, 1.0f64..2000.0],
        at_t in any::<bool>(),
    ) {
        let b = Bound { value: v, comparator: Some(bound) };
        // A value the bound allows: v itself when inclusive, else a point strictly inside (the
        // threshold itself when it is inside, to probe the edge).
        let inside = |x: f64| match bound {
            Cmp::Lt => x < v,
            Cmp::Le => x <= v,
            Cmp::Gt => x > v,
            Cmp::Ge => x >= v,
            Cmp::Eq => x == v,
        };
        let exclusive = matches!(bound, Cmp::Lt | Cmp::Gt);
        let gap = if gap == 0.0 && exclusive { 1e-6 } else { gap };
        let x = if at_t && inside(t) {
            t
        } else if matches!(bound, Cmp::Lt | Cmp::Le) {
            v - gap
        } else {
            v + gap
        };
        prop_assert!(inside(x), "{} is not inside {}{}", x, bound.symbol(), v);
        if let Some(settled) = b.test(op, t) {
            prop_assert_eq!(op.holds(x, t), settled, "{}{} tested {} {}: {} is allowed", bound.symbol(), v, op.symbol(), t, x);
        }
    }
}
