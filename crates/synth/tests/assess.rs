//! The ground truth against the real reader and engine: each patient's lines, read by
//! `restless_ingest` and assessed by `restless_engine`, must give the planted status for every
//! recorded cause, and restless legs exactly when the ground truth says so.

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use chrono::NaiveDate;
use restless_kb::Kb;
use restless_synth::{Options, generate};
use serde_json::Value;

fn as_of() -> NaiveDate {
    std::env::var("SYNTH_CHECK_AS_OF")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| NaiveDate::from_ymd_opt(2026, 11, 27).expect("date"))
}

/// Each patient's lines (Patient first), as one NDJSON text.
fn by_patient(dir: &Path) -> BTreeMap<String, String> {
    let mut patients: BTreeMap<String, String> = BTreeMap::new();
    let mut others: Vec<(String, String)> = Vec::new();
    let mut names: Vec<_> = fs::read_dir(dir)
        .expect("dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".ndjson") && n != "ground-truth.jsonl")
        .collect();
    names.sort();
    for name in names {
        let text = fs::read_to_string(dir.join(&name)).expect("read");
        for line in text.lines() {
            let v: Value = match serde_json::from_str(line) {
                Ok(v) => v,
                Err(_) => continue, // malformed lines belong to nobody
            };
            match v["resourceType"].as_str() {
                Some("Patient") => {
                    let id = v["id"].as_str().expect("id").to_owned();
                    let entry = patients.entry(id).or_default();
                    *entry = format!("{line}\n{entry}");
                }
                Some("Organization" | "Practitioner") => {}
                _ => {
                    let r = v["subject"]["reference"]
                        .as_str()
                        .or(v["patient"]["reference"].as_str())
                        .expect("patient reference");
                    let id = r.trim_start_matches("Patient/").trim_start_matches("urn:uuid:");
                    others.push((id.to_owned(), line.to_owned()));
                }
            }
        }
    }
    for (id, line) in others {
        let entry = patients.entry(id).or_default();
        entry.push_str(&line);
        entry.push('\n');
    }
    patients
}

fn check(dir: &Path, kb: &Kb) -> usize {
    let truth = fs::read_to_string(dir.join("ground-truth.jsonl")).expect("truth");
    let patients = by_patient(dir);
    let mut checked = 0;
    let mut failures = Vec::new();
    for line in truth.lines() {
        let t: Value = serde_json::from_str(line).expect("truth line");
        let id = t["patient"].as_str().expect("patient");
        let text = &patients[id];
        let ingested = restless_ingest::read(text, kb, as_of()).expect("readable");
        let rls = ingested.record.conditions.iter().any(|c| {
            c.status == restless_facts::ConditionStatus::Active
                && c.sets.iter().any(|s| &**s == "rls")
        });
        if rls != t["rls"].as_bool().expect("rls") {
            failures.push(format!("{id}: rls read {rls}, planted {}", t["rls"]));
        }
        let a = restless_engine::assess(kb, &ingested.record, as_of());
        for (cause, want) in t["planted"].as_object().expect("planted") {
            let got = a
                .findings
                .iter()
                .find(|f| f.cause == *cause)
                .map(|f| f.status.name())
                .unwrap_or("missing");
            checked += 1;
            if got != want.as_str().expect("status") {
                failures.push(format!("{id}: {cause} assessed {got}, planted {want}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {checked} disagree:\n{}",
        failures.len(),
        failures.join("\n")
    );
    checked
}

#[test]
fn assess_patient_by_patient_agrees_with_the_ground_truth() {
    let kb = Kb::embedded().expect("kb");
    let dir = tempfile::tempdir().expect("tmp");
    // SYNTH_CHECK_PATIENTS, SYNTH_CHECK_SEED and SYNTH_CHECK_AS_OF widen the check (in
    // release: thousands of patients).
    let n = std::env::var("SYNTH_CHECK_PATIENTS").ok().and_then(|v| v.parse().ok()).unwrap_or(300);
    let seed = std::env::var("SYNTH_CHECK_SEED").ok().and_then(|v| v.parse().ok()).unwrap_or(2026);
    generate(dir.path(), &Options::new(n, seed, as_of()), &kb).expect("generate");
    let checked = check(dir.path(), &kb);
    assert!(checked >= n * 10, "only {checked} statuses checked");
}

#[test]
fn malformed_lines_do_not_change_what_each_patient_says() {
    let kb = Kb::embedded().expect("kb");
    let dir = tempfile::tempdir().expect("tmp");
    let opts = Options { malformed_every: Some(97), ..Options::new(40, 5, as_of()) };
    generate(dir.path(), &opts, &kb).expect("generate");
    check(dir.path(), &kb);
}
