//! The questionnaire JSON Schema and the reader agree: every property the schema documents is
//! read (no "unknown field" warning when all of them are given), and every shipped example uses
//! only documented properties.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use restless_kb::Kb;
use serde_json::{Map, Value, json};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn schema() -> Value {
    let text = std::fs::read_to_string(root().join("schemas/questionnaire.schema.json")).unwrap();
    serde_json::from_str(&text).unwrap()
}

/// A valid value for a schema node, filling every documented property.
fn sample(node: &Value) -> Value {
    if let Some(c) = node.get("const") {
        return c.clone();
    }
    if let Some(options) = node.get("enum").and_then(Value::as_array) {
        return options[0].clone();
    }
    if let Some(options) = node.get("oneOf").and_then(Value::as_array) {
        // Prefer the object form, which documents more properties.
        let pick = options.iter().find(|o| o["type"] == "object").unwrap_or(&options[0]);
        return sample(pick);
    }
    match node["type"].as_str() {
        Some("object") => {
            let mut m = Map::new();
            if let Some(props) = node["properties"].as_object() {
                for (k, v) in props {
                    m.insert(k.clone(), sample(v));
                }
            }
            Value::Object(m)
        }
        Some("array") => json!([sample(&node["items"])]),
        Some("boolean") => json!(false),
        Some("number") => json!(
            node["minimum"]
                .as_f64()
                .unwrap_or(0.0)
                .max(1.0)
                .min(node["maximum"].as_f64().unwrap_or(f64::MAX))
        ),
        Some("string") if node["format"] == "date" => json!("2026-01-01"),
        _ => json!("ferritin"),
    }
}

#[test]
fn every_documented_property_is_read() {
    let kb = Kb::embedded().unwrap();
    let mut doc = sample(&schema());
    // Make the generated document meaningful where the reader needs it.
    doc["labs"] = json!([{ "name": "ferritin", "loinc": "2276-4", "value": 30, "comparator": "<", "unit": "ng/mL", "date": "2026-01-01" }]);
    doc["conditions"] = json!([{ "text": "diabetes", "code": "E11.9", "system": "icd-10-cm", "resolved": false, "onset": "2020-01-01" }]);
    doc["medications"] =
        json!([{ "text": "sertraline 50 mg", "started": "2025-01-01", "stopped": "2026-06-01" }]);
    doc["person"]["birth_date"] = json!("1976-01-01");
    doc["person"]["age"] = json!(50);
    doc["symptoms"]["age_at_onset"] = json!(40);
    let out = restless_ingest::read(&doc.to_string(), &kb, "2026-11-27".parse().unwrap())
        .unwrap_or_else(|e| panic!("{e}"));
    let unknown: Vec<_> =
        out.warnings.iter().filter(|w| w.message.contains("unknown field")).collect();
    assert!(unknown.is_empty(), "schema properties the reader does not read: {unknown:?}");
}

#[test]
fn examples_use_only_documented_properties() {
    let kb = Kb::embedded().unwrap();
    for entry in std::fs::read_dir(root().join("examples")).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let out = restless_ingest::read(&text, &kb, "2026-11-27".parse().unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let unknown: Vec<_> =
            out.warnings.iter().filter(|w| w.message.contains("unknown field")).collect();
        assert!(unknown.is_empty(), "{}: {unknown:?}", path.display());
    }
}
