//! Runs every `[[example]]` of every cause in the embedded knowledge base through the real
//! engine and checks the status it expects.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use restless_engine::{Status, assess};
use restless_kb::{CauseKind, Expected, Kb};

#[test]
fn every_knowledge_base_example_gives_its_expected_status() {
    let kb = match Kb::embedded() {
        Ok(kb) => kb,
        Err(diags) => panic!(
            "embedded knowledge base is invalid:\n{}",
            diags.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n")
        ),
    };
    let mut failures = Vec::new();
    let mut ran = 0;
    for cause in kb.causes() {
        for ex in &cause.examples {
            ran += 1;
            let a = assess(&kb, &ex.record, ex.as_of);
            let got = if cause.kind == CauseKind::Mimic {
                a.diagnosis
                    .mimics
                    .iter()
                    .find(|m| m.id == cause.id)
                    .map_or("absent-or-unknown", |m| m.status.name())
            } else {
                a.findings
                    .iter()
                    .find(|f| f.cause == cause.id)
                    .map_or("missing", |f| f.status.name())
            };
            let want = ex.expect.name();
            let ok = if cause.kind == CauseKind::Mimic {
                // Mimics are reported only when present or possible.
                match ex.expect {
                    Expected::Present | Expected::Possible => got == want,
                    Expected::Absent | Expected::Unknown => got == "absent-or-unknown",
                }
            } else {
                got == want
            };
            if !ok {
                failures.push(format!("{} / {:?}: expected {want}, got {got}", cause.id, ex.name));
            }
        }
    }
    assert!(ran > 0, "no examples ran");
    assert!(
        failures.is_empty(),
        "{} of {ran} examples failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn every_cause_has_a_positive_and_a_negative_example() {
    let kb = Kb::embedded().expect("embedded knowledge base loads");
    for cause in kb.causes() {
        assert!(
            cause.examples.iter().any(|e| e.expect == Expected::Present),
            "{} has no positive example",
            cause.id
        );
        assert!(
            cause.examples.iter().any(|e| e.expect != Expected::Present),
            "{} has no negative example",
            cause.id
        );
    }
    let _ = Status::Present;
}
