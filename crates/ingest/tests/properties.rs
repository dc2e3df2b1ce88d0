//! Property tests of `restless_ingest::read`: it never panics on any input (arbitrary JSON,
//! questionnaire- and FHIR-shaped documents, NDJSON, damaged JSON, bytes), every problem it
//! reports for a JSON document names its place with a well-formed JSON pointer, and a
//! well-formed questionnaire always reads, keeping every usable lab and every answer.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::OnceLock;

use proptest::prelude::*;
use proptest::test_runner::Config;
use restless_facts::Date;
use restless_ingest::{Format, IngestError, detect, read};
use restless_kb::Kb;
use serde_json::{Map, Number, Value};

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

fn as_of() -> Date {
    Date::from_ymd_opt(2026, 11, 27).unwrap_or(Date::MIN)
}

fn config() -> Config {
    // No regression files: the suite must not write into the source tree.
    Config { cases: 256, failure_persistence: None, ..Config::default() }
}

/// Keys of the questionnaire (top level, sections and list items, from `SCALARS`,
/// `QUESTIONNAIRE` and `LISTS`), plus a few that need escaping in a pointer.
fn keys() -> &'static [&'static str] {
    static KEYS: OnceLock<Vec<&'static str>> = OnceLock::new();
    KEYS.get_or_init(|| {
        let mut keys = SCALARS.to_vec();
        for &(section, fields) in QUESTIONNAIRE {
            keys.push(section);
            keys.extend(fields.iter().map(|(key, _)| *key));
        }
        for &(list, item_keys) in LISTS {
            keys.push(list);
            keys.extend(item_keys);
        }
        keys.extend(["", "a/b", "~0", "~", "x~1y/"]);
        // Each key once: "date" and "text" are read in more than one place.
        let mut seen = std::collections::HashSet::new();
        keys.retain(|key| seen.insert(*key));
        keys
    })
}

/// Strings the reader gives meaning to, and a few it must refuse.
const STRINGS: &[&str] = &[
    "",
    " ",
    "2026-11-20",
    "2026-11-27",
    "2026-11-28",
    "1979-03-14",
    "2999-01-01",
    "0000-01-01",
    "2026-02-30",
    "26-11-2026",
    "female",
    "male",
    "other",
    "unknown",
    "current",
    "former",
    "never",
    "icd-10-cm",
    "icd-10",
    "snomed",
    "E11.42",
    "N18.6",
    "G25.81",
    "44054006",
    "heavy periods",
    "not pregnant",
    "diabetes",
    "Paxil 20 mg tablet",
    "paroxetin",
    "tylenol pm",
    "sertraline",
    "ferritin",
    "TSAT",
    "eGFR",
    "2276-4",
    "2502-3",
    "ng/mL",
    "ug/L",
    "%",
    "g/L",
    "umol/L",
    "furlongs",
    "<",
    "<=",
    ">",
    ">=",
    "=",
    "~",
    "/",
    "µ",
    "\u{0}",
    "🦵",
];

fn number() -> impl Strategy<Value = Value> {
    prop_oneof![
        (0i64..200).prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<u64>().prop_map(Value::from),
        (-1000.0f64..1000.0).prop_map(|f| Number::from_f64(f).map_or(Value::Null, Value::Number)),
        any::<f64>().prop_map(|f| Number::from_f64(f).map_or(Value::Null, Value::Number)),
        prop::sample::select(
            &[
                0.0,
                -0.0,
                1.0,
                7.0,
                100.0,
                100.5,
                130.0,
                131.0,
                1e300,
                -1e300,
                f64::MAX,
                f64::MIN,
                f64::MIN_POSITIVE
            ][..]
        )
        .prop_map(|f| Number::from_f64(f).map_or(Value::Null, Value::Number)),
    ]
}

fn string() -> impl Strategy<Value = String> {
    prop_oneof![3 => prop::sample::select(STRINGS).prop_map(str::to_owned), 1 => any::<String>(), 1 => "[a-z0-9 ./-]{0,12}"]
}

fn key() -> impl Strategy<Value = String> {
    prop_oneof![6 => prop::sample::select(keys()).prop_map(str::to_owned), 1 => "[a-z_~/]{0,8}"]
}

fn leaf() -> BoxedStrategy<Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        number(),
        string().prop_map(Value::String)
    ]
    .boxed()
}

/// Arbitrary JSON, depth up to four, with keys mostly from the questionnaire's vocabulary.
fn json() -> BoxedStrategy<Value> {
    leaf()
        .prop_recursive(4, 64, 8, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::vec((key(), inner), 0..8)
                    .prop_map(|kv| Value::Object(kv.into_iter().collect::<Map<_, _>>())),
            ]
        })
        .boxed()
}

/// Whether the well-formed questionnaire test answers a field with yes or no.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Field {
    /// A yes/no question.
    YesNo,
    /// A date, a number or a choice.
    Other,
}

use Field::{Other, YesNo};

/// The questionnaire's sections and the keys each one reads, in document order: the one
/// catalogue behind `sections()`, `yes_no()` and `keys()`.
const QUESTIONNAIRE: &[(&str, &[(&str, Field)])] = &[
    ("person", &[("birth_date", Other), ("age", Other), ("sex", Other)]),
    (
        "symptoms",
        &[
            ("urge_to_move", YesNo),
            ("worse_at_rest", YesNo),
            ("relieved_by_movement", YesNo),
            ("worse_in_evening", YesNo),
            ("explained_by_other_condition", YesNo),
            ("days_per_week", Other),
            ("age_at_onset", Other),
        ],
    ),
    ("family_history", &[("relative_with_rls", YesNo)]),
    ("pregnancy", &[("pregnant", YesNo), ("postpartum", YesNo), ("pregnancies", Other)]),
    (
        "lifestyle",
        &[
            ("smoking", Other),
            ("alcohol_drinks_per_week", Other),
            ("alcohol_in_evening", YesNo),
            ("caffeine_cups_per_day", Other),
            ("sleep_hours", Other),
            ("shift_work", YesNo),
            ("stress", YesNo),
            ("fatigue", YesNo),
            ("low_mood_or_anxiety", YesNo),
            ("exercise_days_per_week", Other),
            ("long_immobility_triggers", YesNo),
            ("apnoea_signs", YesNo),
            ("apnoea_treated", YesNo),
            ("iron_loss_signs", YesNo),
            ("height_cm", Other),
            ("weight_kg", Other),
        ],
    ),
    ("treatment", &[("opioid_recently_reduced", YesNo), ("augmentation_signs", YesNo)]),
    (
        "mimic_screen",
        &[
            ("cramps", YesNo),
            ("single_position_relief", YesNo),
            ("pain_on_walking", YesNo),
            ("leg_swelling", YesNo),
            ("elevation_relief", YesNo),
            ("joint_pain", YesNo),
            ("muscle_pain", YesNo),
            ("foot_tapping", YesNo),
            ("whole_body_restlessness", YesNo),
            ("only_when_standing", YesNo),
            ("restless_sitting_not_lying", YesNo),
            ("numbness_or_burning", YesNo),
            ("radiating_back_pain", YesNo),
            ("toe_movements", YesNo),
            ("movements_in_sleep_only", YesNo),
        ],
    ),
];

/// A section and the keys it reads.
type Section = (&'static str, &'static [&'static str]);

/// The catalogue's sections with the keys of the fields `keep` accepts, in catalogue order;
/// sections left without keys are left out.
fn view(keep: fn(Field) -> bool) -> Vec<Section> {
    QUESTIONNAIRE
        .iter()
        .filter_map(|&(name, fields)| {
            let keys: Vec<&'static str> =
                fields.iter().filter(|(_, field)| keep(*field)).map(|(key, _)| *key).collect();
            // Leaked once per run (the views are kept in statics) so that keys can be `'static`.
            (!keys.is_empty()).then(|| (name, &*keys.leak()))
        })
        .collect()
}

/// The questionnaire's sections and the keys each one reads.
fn sections() -> &'static [Section] {
    static SECTIONS: OnceLock<Vec<Section>> = OnceLock::new();
    SECTIONS.get_or_init(|| view(|_| true))
}

/// The sections that hold yes/no questions, with those questions only.
fn yes_no() -> &'static [Section] {
    static YES_NO: OnceLock<Vec<Section>> = OnceLock::new();
    YES_NO.get_or_init(|| view(|field| field == YesNo))
}

/// The top-level keys that hold a single value; `resourceType` tests which format the document
/// is taken for.
const SCALARS: &[&str] = &[
    "questionnaire_version",
    "date",
    "conditions_complete",
    "medications_complete",
    "resourceType",
];

/// The list sections and the keys of their items.
const LISTS: &[(&str, &[&str])] = &[
    ("labs", &["name", "loinc", "value", "unit", "date", "comparator"]),
    ("conditions", &["text", "code", "system", "resolved", "onset"]),
    ("medications", &["text", "started", "stopped"]),
];

/// An object whose keys are mostly `keys`, with leaf values.
fn object_of(keys: &'static [&'static str]) -> impl Strategy<Value = Value> {
    let k = prop_oneof![8 => prop::sample::select(keys).prop_map(str::to_owned), 1 => key()];
    prop::collection::vec((k, prop_oneof![4 => leaf(), 1 => json()]), 0..8)
        .prop_map(|kv| Value::Object(kv.into_iter().collect()))
}

/// A questionnaire-shaped document: the real sections with mostly their own keys (values of any
/// type), lists of lab-, condition- and medication-shaped items, and top-level scalars. Reaches
/// deeper into the reader than `json`.
fn shaped() -> impl Strategy<Value = Value> {
    let section = prop::sample::select(sections()).prop_flat_map(|(name, keys)| {
        (Just(name.to_owned()), prop_oneof![6 => object_of(keys), 1 => json()])
    });
    let list = prop::sample::select(LISTS).prop_flat_map(|(name, keys)| {
        let item = prop_oneof![4 => object_of(keys), 1 => leaf()];
        (
            Just(name.to_owned()),
            prop_oneof![6 => prop::collection::vec(item, 0..5).prop_map(Value::Array), 1 => json()],
        )
    });
    let scalar = (prop::sample::select(SCALARS), leaf()).prop_map(|(k, v)| (k.to_owned(), v));
    let other = (key(), json());
    let entry = prop_oneof![4 => section, 3 => list, 2 => scalar, 1 => other];
    prop::collection::vec(entry, 0..10).prop_map(|kv| Value::Object(kv.into_iter().collect()))
}

/// Whether `p` is a JSON pointer (RFC 6901): empty, or `/`-separated tokens in which every `~`
/// is followed by `0` or `1`.
fn is_pointer(p: &str) -> bool {
    if p.is_empty() {
        return true;
    }
    if !p.starts_with('/') {
        return false;
    }
    let b = p.as_bytes();
    b.iter().enumerate().all(|(i, &c)| c != b'~' || matches!(b.get(i + 1), Some(b'0' | b'1')))
}

/// Reads `text` and checks what the reader reports: questionnaire warnings name a JSON pointer,
/// and, for a single JSON document (`pointers`), every problem does too.
fn check_result(text: &str, pointers: bool) -> Result<(), TestCaseError> {
    let questionnaire = serde_json::from_str::<Value>(text)
        .is_ok_and(|v| detect(&v) == Some(Format::Questionnaire));
    match read(text, kb(), as_of()) {
        Ok(ing) if questionnaire => {
            for w in &ing.warnings {
                let path = w.source.strip_prefix("questionnaire:");
                prop_assert!(
                    path.is_some_and(is_pointer),
                    "warning source is not questionnaire:<pointer>: {:?}",
                    w.source
                );
            }
        }
        Ok(_) => {}
        Err(IngestError::Invalid(problems)) => {
            prop_assert!(!problems.is_empty(), "Invalid with no problem");
            for p in problems.iter().filter(|_| pointers) {
                prop_assert!(
                    is_pointer(&p.path),
                    "problem path is not a JSON pointer: {:?} ({})",
                    p.path,
                    p.expected
                );
            }
            // The message renders.
            let _ = IngestError::Invalid(problems).to_string();
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
    Ok(())
}

// ---- FHIR-shaped input (a resource with `resourceType` goes to the FHIR reader) ----

const FHIR_TYPES: &[&str] = &[
    "Bundle",
    "Patient",
    "Observation",
    "Condition",
    "MedicationStatement",
    "MedicationRequest",
    "MedicationDispense",
    "MedicationAdministration",
    "Medication",
    "FamilyMemberHistory",
    "QuestionnaireResponse",
    "Encounter",
    "",
];

const FHIR_KEYS: &[&str] = &[
    "id",
    "status",
    "code",
    "coding",
    "system",
    "display",
    "text",
    "category",
    "subject",
    "patient",
    "reference",
    "effectiveDateTime",
    "effectiveInstant",
    "effectivePeriod",
    "issued",
    "start",
    "end",
    "valueQuantity",
    "value",
    "unit",
    "comparator",
    "valueCodeableConcept",
    "valueInteger",
    "valueString",
    "dataAbsentReason",
    "component",
    "clinicalStatus",
    "verificationStatus",
    "onsetDateTime",
    "onsetAge",
    "onsetPeriod",
    "onsetRange",
    "onsetString",
    "abatementDateTime",
    "abatementAge",
    "abatementPeriod",
    "abatementString",
    "birthDate",
    "gender",
    "medicationCodeableConcept",
    "medicationReference",
    "authoredOn",
    "intent",
    "dosage",
    "dosageInstruction",
    "doseAndRate",
    "dispenseRequest",
    "validityPeriod",
    "daysSupply",
    "whenHandedOver",
    "whenPrepared",
    "ingredient",
    "itemCodeableConcept",
    "contained",
    "relationship",
    "condition",
    "low",
    "type",
    "entry",
    "resource",
    "fullUrl",
    "resourceType",
];

const FHIR_STRINGS: &[&str] = &[
    "http://loinc.org",
    "http://snomed.info/sct",
    "http://hl7.org/fhir/sid/icd-10-cm",
    "http://hl7.org/fhir/sid/icd-10",
    "http://www.nlm.nih.gov/research/umls/rxnorm",
    "http://www.whocc.no/atc",
    "http://hl7.org/fhir/sid/ndc",
    "http://unitsofmeasure.org",
    "2276-4",
    "2502-3",
    "82810-3",
    "72166-2",
    "77386006",
    "60001007",
    "E11.42",
    "N18.6",
    "G25.81",
    "D50.9",
    "32937",
    "N06AB05",
    "ng/mL",
    "%",
    "mg/dL",
    "a",
    "mo",
    "<",
    ">=",
    "final",
    "amended",
    "entered-in-error",
    "active",
    "inactive",
    "resolved",
    "remission",
    "recurrence",
    "relapse",
    "refuted",
    "confirmed",
    "stopped",
    "completed",
    "cancelled",
    "on-hold",
    "not-taken",
    "intended",
    "draft",
    "order",
    "plan",
    "proposal",
    "MTH",
    "FTH",
    "SIS",
    "BRO",
    "SON",
    "DAU",
    "PRN",
    "NMTH",
    "female",
    "male",
    "Patient/p1",
    "#m1",
    "urn:uuid:1",
    "Medication/m1",
    "m1",
    "p1",
    "2026-10-01",
    "2026-10-01T10:00:00Z",
    "2026-10",
    "2026",
    "2030-01-01",
    "1979-03-14",
    "restless legs",
    "Paxil 20 mg",
    "collection",
    "transaction",
    "searchset",
];

fn fhir_leaf() -> BoxedStrategy<Value> {
    prop_oneof![
        4 => prop::sample::select(FHIR_STRINGS).prop_map(Value::from),
        2 => leaf(),
    ]
    .boxed()
}

/// Arbitrary FHIR-like JSON: FHIR field names, codings, quantities, nested lists.
fn fhir_json() -> BoxedStrategy<Value> {
    let k = prop_oneof![6 => prop::sample::select(FHIR_KEYS).prop_map(str::to_owned), 1 => key()];
    fhir_leaf()
        .prop_recursive(4, 48, 6, move |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
                prop::collection::vec((k.clone(), inner), 0..6)
                    .prop_map(|kv| Value::Object(kv.into_iter().collect())),
            ]
        })
        .boxed()
}

fn coding() -> BoxedStrategy<Value> {
    (prop::option::of(fhir_leaf()), prop::option::of(fhir_leaf()), prop::option::of(fhir_leaf()))
        .prop_map(|(system, code, display)| {
            let mut o = Map::new();
            for (k, v) in [("system", system), ("code", code), ("display", display)] {
                if let Some(v) = v {
                    o.insert(k.into(), v);
                }
            }
            Value::Object(o)
        })
        .boxed()
}

fn codeable_concept() -> BoxedStrategy<Value> {
    (prop::collection::vec(coding(), 0..3), prop::option::of(fhir_leaf()))
        .prop_map(|(codings, text)| {
            let mut o = Map::new();
            o.insert("coding".into(), Value::Array(codings));
            if let Some(t) = text {
                o.insert("text".into(), t);
            }
            Value::Object(o)
        })
        .boxed()
}

fn quantity() -> BoxedStrategy<Value> {
    (
        number(),
        prop::option::of(fhir_leaf()),
        prop::option::of(fhir_leaf()),
        prop::option::of(fhir_leaf()),
    )
        .prop_map(|(value, unit, code, comparator)| {
            let mut o = Map::new();
            o.insert("value".into(), value);
            for (k, v) in [("unit", unit), ("code", code), ("comparator", comparator)] {
                if let Some(v) = v {
                    o.insert(k.into(), v);
                }
            }
            Value::Object(o)
        })
        .boxed()
}

/// A field of a resource, most often with a value of the type FHIR gives it.
fn fhir_field() -> BoxedStrategy<(String, Value)> {
    const CONCEPTS: &[&str] = &[
        "code",
        "valueCodeableConcept",
        "medicationCodeableConcept",
        "clinicalStatus",
        "verificationStatus",
        "relationship",
        "category",
        "itemCodeableConcept",
        "dataAbsentReason",
    ];
    const QUANTITIES: &[&str] = &["valueQuantity", "onsetAge", "abatementAge", "daysSupply", "low"];
    const DATES: &[&str] = &[
        "effectiveDateTime",
        "effectiveInstant",
        "issued",
        "onsetDateTime",
        "abatementDateTime",
        "birthDate",
        "authoredOn",
        "whenHandedOver",
        "whenPrepared",
        "start",
        "end",
    ];
    const PERIODS: &[&str] =
        &["effectivePeriod", "onsetPeriod", "abatementPeriod", "validityPeriod"];
    const REFS: &[&str] = &["subject", "patient", "medicationReference"];
    let period =
        (prop::option::of(fhir_leaf()), prop::option::of(fhir_leaf())).prop_map(|(s, e)| {
            let mut o = Map::new();
            for (k, v) in [("start", s), ("end", e)] {
                if let Some(v) = v {
                    o.insert(k.into(), v);
                }
            }
            Value::Object(o)
        });
    let reference = fhir_leaf().prop_map(|r| {
        let mut o = Map::new();
        o.insert("reference".into(), r);
        Value::Object(o)
    });
    let component = prop::collection::vec((codeable_concept(), quantity()), 0..3).prop_map(|cs| {
        Value::Array(
            cs.into_iter()
                .map(|(c, q)| {
                    let mut o = Map::new();
                    o.insert("code".into(), c);
                    o.insert("valueQuantity".into(), q);
                    Value::Object(o)
                })
                .collect(),
        )
    });
    let status = prop::sample::select(
        &[
            "final",
            "amended",
            "active",
            "completed",
            "stopped",
            "entered-in-error",
            "cancelled",
            "not-taken",
            "on-hold",
            "draft",
            "unknown",
        ][..],
    )
    .prop_map(Value::from);
    prop_oneof![
        3 => (prop::sample::select(CONCEPTS), prop_oneof![4 => codeable_concept(), 1 => prop::collection::vec(codeable_concept(), 0..3).prop_map(Value::Array), 1 => fhir_json()]).prop_map(|(k, v)| (k.to_owned(), v)),
        2 => (prop::sample::select(QUANTITIES), prop_oneof![4 => quantity(), 1 => fhir_json()]).prop_map(|(k, v)| (k.to_owned(), v)),
        2 => (prop::sample::select(DATES), fhir_leaf()).prop_map(|(k, v)| (k.to_owned(), v)),
        1 => (prop::sample::select(PERIODS), period).prop_map(|(k, v)| (k.to_owned(), v)),
        1 => (prop::sample::select(REFS), reference).prop_map(|(k, v)| (k.to_owned(), v)),
        1 => component.prop_map(|v| ("component".to_owned(), v)),
        2 => status.prop_map(|v| ("status".to_owned(), v)),
        1 => prop::sample::select(&["female", "male", "other"][..]).prop_map(|g| ("gender".to_owned(), Value::from(g))),
        1 => fhir_leaf().prop_map(|v| ("id".to_owned(), v)),
        2 => (prop_oneof![6 => prop::sample::select(FHIR_KEYS).prop_map(str::to_owned), 1 => key()], fhir_json()),
    ]
    .boxed()
}

fn resource() -> BoxedStrategy<Value> {
    (
        prop_oneof![6 => prop::sample::select(FHIR_TYPES).prop_map(Value::from), 1 => leaf()],
        prop::collection::vec(fhir_field(), 0..10),
    )
        .prop_map(|(t, kv)| {
            let mut o: Map<String, Value> = kv.into_iter().collect();
            o.insert("resourceType".into(), t);
            Value::Object(o)
        })
        .boxed()
}

/// A coding from one of the knowledge base's own code lists, so that resources are recognised.
fn kb_coding() -> BoxedStrategy<Value> {
    let t = kb().terminology();
    let mut codes: Vec<(&'static str, String)> = Vec::new();
    for a in t.analytes() {
        codes.extend(a.loinc.iter().map(|c| ("http://loinc.org", c.clone())));
    }
    for set in t.condition_sets() {
        codes.extend(set.icd10.iter().map(|c| ("http://hl7.org/fhir/sid/icd-10-cm", c.clone())));
        codes.extend(set.snomed.iter().map(|c| ("http://snomed.info/sct", c.clone())));
    }
    for d in t.drugs() {
        codes.extend(
            d.rxcui.iter().map(|c| ("http://www.nlm.nih.gov/research/umls/rxnorm", c.clone())),
        );
        codes.extend(d.atc.iter().map(|c| ("http://www.whocc.no/atc", c.clone())));
    }
    for c in ["82810-3", "72166-2", "77386006", "60001007", "8517006", "449868002"] {
        codes.push(("http://loinc.org", c.to_owned()));
        codes.push(("http://snomed.info/sct", c.to_owned()));
    }
    prop::sample::select(codes)
        .prop_map(|(system, code)| {
            let mut o = Map::new();
            o.insert("system".into(), Value::from(system));
            o.insert("code".into(), Value::from(code));
            Value::Object(o)
        })
        .boxed()
}

fn kb_concept() -> BoxedStrategy<Value> {
    let units: Vec<String> = kb()
        .terminology()
        .analytes()
        .iter()
        .flat_map(|a| a.conversions.iter().map(|c| c.unit.clone()))
        .collect();
    let texts: Vec<String> = kb()
        .terminology()
        .drugs()
        .iter()
        .map(|d| d.id.clone())
        .chain(kb().terminology().condition_sets().iter().flat_map(|s| s.text.iter().cloned()))
        .chain(units)
        .collect();
    (
        prop::collection::vec(prop_oneof![4 => kb_coding(), 1 => coding()], 1..3),
        prop::option::of(prop::sample::select(texts)),
    )
        .prop_map(|(codings, text)| {
            let mut o = Map::new();
            o.insert("coding".into(), Value::Array(codings));
            if let Some(t) = text {
                o.insert("text".into(), Value::from(t));
            }
            Value::Object(o)
        })
        .boxed()
}

/// A resource of a type restless reads, with the fields it needs mostly present and plausible,
/// then perturbed by a few arbitrary fields.
fn plausible_resource() -> BoxedStrategy<Value> {
    let units: Vec<String> = kb()
        .terminology()
        .analytes()
        .iter()
        .flat_map(|a| a.conversions.iter().map(|c| c.unit.clone()))
        .collect();
    let date = prop_oneof![
        4 => (0u32..800).prop_map(|d| Value::from((as_of() - chrono::Days::new(u64::from(d))).format("%Y-%m-%d").to_string())),
        1 => fhir_leaf(),
    ];
    let quantity = (
        prop_oneof![4 => (0.0f64..500.0).prop_map(Value::from), 1 => number()],
        prop::sample::select(units),
        prop::option::of(prop::sample::select(&["<", "<=", ">", ">=", "~"][..])),
    )
        .prop_map(|(v, u, c)| {
            let mut o = Map::new();
            o.insert("value".into(), v);
            o.insert("unit".into(), Value::from(u));
            if let Some(c) = c {
                o.insert("comparator".into(), Value::from(c));
            }
            Value::Object(o)
        });
    let status = prop::sample::select(
        &[
            "final",
            "amended",
            "active",
            "completed",
            "stopped",
            "entered-in-error",
            "on-hold",
            "intended",
            "unknown",
        ][..],
    );
    let clinical = prop::sample::select(&["active", "recurrence", "relapse", "inactive", "remission", "resolved", "refuted", "confirmed", "entered-in-error"][..]).prop_map(|c| {
        serde_json::json!({ "coding": [{ "system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": c }] })
    });
    // Lab codes with units of the same analyte, so that observations are usable.
    let mut lab_codes: Vec<(String, String)> = Vec::new();
    for a in kb().terminology().analytes() {
        for code in &a.loinc {
            lab_codes.extend(a.conversions.iter().map(|c| (code.clone(), c.unit.clone())));
        }
    }
    let lab = (
        prop::sample::select(lab_codes),
        prop_oneof![4 => (0.0f64..500.0).prop_map(Value::from), 1 => number()],
        prop::option::weighted(0.2, prop::sample::select(&["<", "<=", ">", ">=", "~"][..])),
    )
        .prop_map(|((code, unit), value, comparator)| {
            let mut q = serde_json::json!({ "value": value, "unit": unit });
            if let (Some(c), Some(o)) = (comparator, q.as_object_mut()) {
                o.insert("comparator".into(), Value::from(c));
            }
            (serde_json::json!({ "coding": [{ "system": "http://loinc.org", "code": code }] }), q)
        });
    let kind = prop::sample::select(
        &[
            "Observation",
            "Condition",
            "MedicationStatement",
            "MedicationRequest",
            "Patient",
            "FamilyMemberHistory",
        ][..],
    );
    (
        kind,
        kb_concept(),
        quantity,
        date.clone(),
        date,
        status,
        clinical,
        prop::sample::select(&["female", "male", "other", "unknown"][..]),
        prop::collection::vec(fhir_field(), 0..3),
        lab,
        any::<bool>(),
    )
        .prop_map(
            |(
                kind,
                concept,
                quantity,
                d1,
                d2,
                status,
                clinical,
                gender,
                extra,
                (lab_code, lab_value),
                coded,
            )| {
                let mut o = Map::new();
                o.insert("resourceType".into(), Value::from(kind));
                o.insert("id".into(), Value::from("r1"));
                match kind {
                    "Observation" => {
                        o.insert("status".into(), Value::from(status));
                        if coded {
                            o.insert("code".into(), concept.clone());
                            o.insert("valueCodeableConcept".into(), concept);
                            o.insert("valueQuantity".into(), quantity);
                        } else {
                            o.insert("code".into(), lab_code);
                            o.insert("valueQuantity".into(), lab_value);
                        }
                        o.insert("effectiveDateTime".into(), d1);
                    }
                    "Condition" => {
                        o.insert("code".into(), concept);
                        o.insert("clinicalStatus".into(), clinical);
                        o.insert("onsetDateTime".into(), d1);
                    }
                    "MedicationStatement" | "MedicationRequest" => {
                        o.insert("status".into(), Value::from(status));
                        o.insert("medicationCodeableConcept".into(), concept);
                        o.insert(
                            "effectivePeriod".into(),
                            serde_json::json!({ "start": d1, "end": d2 }),
                        );
                        o.insert("authoredOn".into(), d2);
                    }
                    "Patient" => {
                        o.insert("gender".into(), Value::from(gender));
                        o.insert("birthDate".into(), d1);
                    }
                    _ => {
                        o.insert(
                            "relationship".into(),
                            serde_json::json!({ "coding": [{ "code": "MTH" }] }),
                        );
                        o.insert("condition".into(), serde_json::json!([{ "code": concept }]));
                    }
                }
                for (k, v) in extra {
                    o.insert(k, v);
                }
                Value::Object(o)
            },
        )
        .boxed()
}

/// A resource, or a Bundle of resources (entries with or without `fullUrl`).
fn fhir_doc() -> impl Strategy<Value = Value> {
    let any_resource = prop_oneof![2 => plausible_resource(), 1 => resource()];
    let entry = (
        prop::option::of(fhir_leaf()),
        any_resource.clone(),
        prop::collection::vec((key(), leaf()), 0..2),
    )
        .prop_map(|(url, r, extra)| {
            let mut e: Map<String, Value> = extra.into_iter().collect();
            if let Some(u) = url {
                e.insert("fullUrl".into(), u);
            }
            e.insert("resource".into(), r);
            Value::Object(e)
        });
    prop_oneof![
        1 => any_resource,
        2 => (prop::option::of(fhir_leaf()), prop::collection::vec(entry, 0..6)).prop_map(|(ty, entries)| {
            let mut b = Map::new();
            b.insert("resourceType".into(), Value::from("Bundle"));
            if let Some(t) = ty {
                b.insert("type".into(), t);
            }
            b.insert("entry".into(), Value::Array(entries));
            Value::Object(b)
        }),
    ]
}

#[test]
fn pointer_check_is_right() {
    for ok in ["", "/", "/labs/0", "/a~1b", "/~0", "/x~1y~0"] {
        assert!(is_pointer(ok), "{ok}");
    }
    for bad in ["labs", "/~", "/a~2", "/a~"] {
        assert!(!is_pointer(bad), "{bad}");
    }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_json_never_panics_and_problems_have_pointers(v in prop_oneof![json(), shaped()]) {
        let text = serde_json::to_string(&v).map_err(|e| TestCaseError::fail(e.to_string()))?;
        check_result(&text, true)?;
        // Pretty-printed, the same document reads the same way.
        let pretty = serde_json::to_string_pretty(&v).map_err(|e| TestCaseError::fail(e.to_string()))?;
        prop_assert_eq!(read(&text, kb(), as_of()), read(&pretty, kb(), as_of()));
    }

    #[test]
    fn fhir_documents_never_panic_and_problems_have_pointers(v in fhir_doc()) {
        let text = serde_json::to_string(&v).map_err(|e| TestCaseError::fail(e.to_string()))?;
        check_result(&text, true)?;
        // Reading is a function of the text.
        prop_assert_eq!(read(&text, kb(), as_of()), read(&text, kb(), as_of()));
    }

    /// NDJSON (one resource a line), with now and then a line that is not a resource or not JSON.
    #[test]
    fn ndjson_never_panics(
        lines in prop::collection::vec(
            prop_oneof![
                6 => fhir_doc().prop_map(|v| v.to_string()),
                1 => json().prop_map(|v| v.to_string()),
                1 => prop::sample::select(&["", "   ", "{", "not json", "{\"resourceType\": 1}"][..]).prop_map(str::to_owned),
            ],
            1..6,
        ),
        crlf in any::<bool>(),
    ) {
        // NDJSON problems name a line, not a JSON pointer: only the absence of panics is checked.
        check_result(&lines.join(if crlf { "\r\n" } else { "\n" }), false)?;
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        check_result(&String::from_utf8_lossy(&bytes), false)?;
    }

    #[test]
    fn arbitrary_strings_never_panic(s in any::<String>()) {
        check_result(&s, false)?;
    }

    #[test]
    fn damaged_json_never_panics(v in shaped(), cut in any::<prop::sample::Index>(), junk in prop::sample::select(&["", "{", "}", "[", "]", ",", ":", "\"", "\\", "null", "1e999", "-", "\u{feff}"][..])) {
        let text = serde_json::to_string(&v).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let mut at = cut.index(text.len() + 1);
        while !text.is_char_boundary(at) {
            at -= 1;
        }
        check_result(&format!("{}{junk}{}", &text[..at], &text[at..]), true)?;
        check_result(&text[..at], true)?;
    }
}

// ---- well-formed questionnaires ----

/// One lab entry as generated: which analyte and spelling, which unit, value, comparator, age.
#[derive(Clone, Debug)]
struct LabSpec {
    analyte: prop::sample::Index,
    spelling: prop::sample::Index,
    by_loinc: bool,
    unit: prop::sample::Index,
    value: f64,
    comparator: Option<&'static str>,
    days_ago: u32,
    /// 0: usable; 1: unknown lab name; 2: unit not accepted; 3: no unit (the last three are
    /// well-formed but not used, with a warning).
    kind: u8,
}

fn lab_spec() -> impl Strategy<Value = LabSpec> {
    (
        any::<prop::sample::Index>(),
        any::<prop::sample::Index>(),
        any::<bool>(),
        any::<prop::sample::Index>(),
        prop_oneof![0.0f64..=100.0, 0.0f64..100_000.0, Just(0.0)],
        prop::option::of(prop::sample::select(&["<", "<=", ">", ">="][..])),
        prop_oneof![0u32..400, 0u32..20_000],
        prop_oneof![6 => Just(0u8), 1 => 1u8..=3],
    )
        .prop_map(|(analyte, spelling, by_loinc, unit, value, comparator, days_ago, kind)| {
            LabSpec { analyte, spelling, by_loinc, unit, value, comparator, days_ago, kind }
        })
}

/// Builds the lab's JSON, and whether the reader must keep it.
fn lab_json(spec: &LabSpec) -> Result<(Value, bool), TestCaseError> {
    let t = kb().terminology();
    let a = spec.analyte.get(t.analytes());
    let names: Vec<&str> = std::iter::once(a.id.as_str())
        .chain(std::iter::once(a.name.as_str()))
        .chain(a.aliases.iter().map(String::as_str))
        .collect();
    let mut o = Map::new();
    // Resolve the analyte the way the reader will (a shared alias or code may mean another).
    let resolved = if spec.by_loinc && !a.loinc.is_empty() {
        let code = spec.spelling.get(&a.loinc);
        o.insert("loinc".into(), Value::from(code.as_str()));
        t.analyte_by_loinc(code)
    } else {
        let name = *spec.spelling.get(&names);
        o.insert("name".into(), Value::from(name));
        t.analyte_by_name(name)
    };
    let Some(resolved) = resolved else {
        return Err(TestCaseError::fail(format!("{} does not resolve to itself", a.id)));
    };
    prop_assume!(!resolved.conversions.is_empty());
    let mut unit = spec.unit.get(&resolved.conversions).unit.clone();
    let mut keep = true;
    match spec.kind {
        1 => {
            o.remove("loinc");
            o.insert("name".into(), Value::from("no such lab test zzq"));
            keep = false;
        }
        2 => {
            unit = "furlongs/fortnight".into();
            keep = false;
        }
        _ => {}
    }
    let value = if unit.trim() == "%" { spec.value.min(100.0) } else { spec.value };
    o.insert("value".into(), Number::from_f64(value).map_or(Value::Null, Value::Number));
    if spec.kind == 3 {
        keep = false;
    } else {
        o.insert("unit".into(), Value::from(unit));
    }
    if let Some(c) = spec.comparator {
        o.insert("comparator".into(), Value::from(c));
    }
    let date = as_of() - chrono::Days::new(u64::from(spec.days_ago));
    o.insert("date".into(), Value::from(date.format("%Y-%m-%d").to_string()));
    Ok((Value::Object(o), keep))
}

fn yes_no_count() -> usize {
    yes_no().iter().map(|(_, keys)| keys.len()).sum()
}

#[derive(Clone, Debug)]
struct QSpec {
    labs: Vec<LabSpec>,
    /// One entry per yes/no question in `yes_no()` order: unanswered, no or yes.
    answers: Vec<Option<bool>>,
    birth_days_ago: Option<u32>,
    sex: Option<&'static str>,
    medications: Vec<prop::sample::Index>,
    conditions: Vec<prop::sample::Index>,
    complete: (Option<bool>, Option<bool>),
}

fn q_spec() -> impl Strategy<Value = QSpec> {
    (
        prop::collection::vec(lab_spec(), 0..8),
        prop::collection::vec(prop::option::of(any::<bool>()), yes_no_count()),
        prop::option::of(0u32..40_000),
        prop::option::of(prop::sample::select(&["female", "male", "other", "unknown"][..])),
        prop::collection::vec(any::<prop::sample::Index>(), 0..4),
        prop::collection::vec(any::<prop::sample::Index>(), 0..4),
        (prop::option::of(any::<bool>()), prop::option::of(any::<bool>())),
    )
        .prop_map(|(labs, answers, birth_days_ago, sex, medications, conditions, complete)| {
            QSpec { labs, answers, birth_days_ago, sex, medications, conditions, complete }
        })
}

/// The questionnaire, the number of labs the reader must keep and the number of answers given.
fn questionnaire(spec: &QSpec) -> Result<(Value, usize, usize), TestCaseError> {
    let t = kb().terminology();
    let mut top = Map::new();
    top.insert("questionnaire_version".into(), Value::from(1));
    top.insert("date".into(), Value::from(as_of().format("%Y-%m-%d").to_string()));
    let mut person = Map::new();
    if let Some(days) = spec.birth_days_ago {
        let b = as_of() - chrono::Days::new(u64::from(days));
        person.insert("birth_date".into(), Value::from(b.format("%Y-%m-%d").to_string()));
    }
    if let Some(s) = spec.sex {
        person.insert("sex".into(), Value::from(s));
    }
    top.insert("person".into(), Value::Object(person));
    let mut given = 0;
    let mut answers = spec.answers.iter();
    for (section, keys) in yes_no() {
        let mut o = Map::new();
        for key in *keys {
            if let Some(Some(b)) = answers.next() {
                o.insert((*key).into(), Value::Bool(*b));
                given += 1;
            }
        }
        if !o.is_empty() {
            top.insert((*section).into(), Value::Object(o));
        }
    }
    let mut kept = 0;
    let mut labs = Vec::new();
    for l in &spec.labs {
        let (v, keep) = lab_json(l)?;
        labs.push(v);
        kept += usize::from(keep);
    }
    top.insert("labs".into(), Value::Array(labs));
    let meds: Vec<Value> =
        spec.medications.iter().map(|i| Value::from(i.get(t.drugs()).id.as_str())).collect();
    top.insert("medications".into(), Value::Array(meds));
    let sets = t.condition_sets();
    let conditions: Vec<Value> = spec
        .conditions
        .iter()
        .filter(|_| !sets.is_empty())
        .map(|i| {
            let s = i.get(sets);
            match s.text.first().filter(|p| !p.trim().is_empty()) {
                Some(p) => Value::from(p.as_str()),
                None => Value::from(s.name.as_str()),
            }
        })
        .collect();
    top.insert("conditions".into(), Value::Array(conditions));
    if let Some(c) = spec.complete.0 {
        top.insert("conditions_complete".into(), Value::Bool(c));
    }
    if let Some(m) = spec.complete.1 {
        top.insert("medications_complete".into(), Value::Bool(m));
    }
    Ok((Value::Object(top), kept, given))
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn well_formed_questionnaires_read_and_keep_every_usable_lab(spec in q_spec()) {
        let (doc, kept, given) = questionnaire(&spec)?;
        let text = serde_json::to_string_pretty(&doc).map_err(|e| TestCaseError::fail(e.to_string()))?;
        let ing = match read(&text, kb(), as_of()) {
            Ok(ing) => ing,
            Err(e) => return Err(TestCaseError::fail(format!("refused: {e}\n{text}"))),
        };
        prop_assert_eq!(ing.record.labs.len(), kept, "labs kept\n{}", text);
        prop_assert_eq!(ing.record.answers.len(), given, "answers kept\n{}", text);
        for (i, l) in ing.record.labs.iter().enumerate() {
            prop_assert!(l.date.is_some_and(|d| d <= as_of()));
            prop_assert!(kb().terminology().analyte(&l.analyte).is_some(), "lab {} has unknown analyte {}", i, l.analyte);
            prop_assert!(!l.derived);
        }
        // Reading is a function of the text.
        prop_assert_eq!(read(&text, kb(), as_of()), Ok(ing));
    }
}
