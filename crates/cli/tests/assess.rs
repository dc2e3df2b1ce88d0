//! `restless assess` end to end: every shipped example gives the findings a clinician would
//! expect from it, output is byte-identical across runs, and bad input ends with exit code 2
//! and a message naming the JSON path.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::process::{Command, Output};

use serde_json::Value;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_restless"))
}

fn example(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples").join(name)
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("the binary runs")
}

fn assess_json(name: &str) -> Value {
    let path = example(name);
    let out = run(&["assess", path.to_str().unwrap(), "--as-of", "2026-11-27", "--format", "json"]);
    assert!(out.status.success(), "{name}: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).expect("valid JSON")
}

fn status<'a>(report: &'a Value, cause: &str) -> &'a str {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["cause"] == cause)
        .and_then(|f| f["status"].as_str())
        .unwrap_or_else(|| panic!("no finding for {cause}"))
}

fn finding<'a>(report: &'a Value, cause: &str) -> &'a Value {
    report["findings"].as_array().unwrap().iter().find(|f| f["cause"] == cause).unwrap()
}

fn mimics(report: &Value) -> Vec<&str> {
    report["diagnosis"]["mimics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["id"].as_str().unwrap())
        .collect()
}

fn workup_tests(report: &Value) -> Vec<&str> {
    report["workup"].as_array().unwrap().iter().map(|w| w["test"].as_str().unwrap()).collect()
}

#[test]
fn iron_deficiency_example() {
    let r = assess_json("iron-deficiency.json");
    assert_eq!(r["classification"]["kind"], "secondary");
    assert_eq!(r["diagnosis"]["status"], "criteria-met");
    assert_eq!(status(&r, "iron-deficiency"), "present");
    assert_eq!(
        status(&r, "iron-loss-source"),
        "present",
        "heavy periods are a source of iron loss"
    );
    assert_eq!(status(&r, "esrd-dialysis"), "absent", "eGFR 96");
    assert_eq!(status(&r, "pregnancy"), "absent");
    let ev = &finding(&r, "iron-deficiency")["evidence"];
    assert!(ev.as_array().unwrap().iter().any(|e| e["source"] == "questionnaire:/labs/0"
        && e["value"] == "22 ng/mL"
        && e["date"] == "2026-10-02"));
    assert!(mimics(&r).is_empty());
}

#[test]
fn pregnancy_example() {
    let r = assess_json("pregnancy.json");
    assert_eq!(r["classification"]["kind"], "secondary");
    assert_eq!(status(&r, "pregnancy"), "present");
    assert_eq!(status(&r, "iron-deficiency"), "present", "ferritin 48 ug/L is at most 75");
    assert_eq!(
        status(&r, "drug-sedating-antihistamine"),
        "present",
        "Diclegis contains doxylamine"
    );
    assert_eq!(
        status(&r, "esrd-dialysis"),
        "absent",
        "creatinine 55 umol/L gives a normal calculated eGFR"
    );
    let warnings = r["warnings"].as_array().unwrap();
    assert!(
        warnings.iter().any(|w| w["source"] == "questionnaire:/medications/0"),
        "prenatal vitamins are not in the dictionary: {warnings:?}"
    );
}

#[test]
fn kidney_failure_example() {
    let r = assess_json("kidney-failure.json");
    assert_eq!(r["classification"]["kind"], "secondary");
    assert_eq!(status(&r, "esrd-dialysis"), "present");
    assert_eq!(status(&r, "ckd-non-dialysis"), "absent", "kidney failure is not stage 3-4 CKD");
    assert_eq!(
        status(&r, "iron-deficiency"),
        "present",
        "TSAT calculated from iron and TIBC is 15 %"
    );
    assert!(
        finding(&r, "iron-deficiency")["evidence"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["source"].as_str().unwrap().starts_with("derived:"))
    );
    assert_eq!(status(&r, "diabetes"), "present", "HbA1c 58 mmol/mol is above 48");
    assert_eq!(status(&r, "drug-beta-blocker"), "present");
    assert_eq!(r["diagnosis"]["status"], "incomplete", "criterion 5 was not answered");
}

#[test]
fn drug_induced_example() {
    let r = assess_json("drug-induced.json");
    for cause in [
        "drug-serotonergic-antidepressant",
        "drug-sedating-antihistamine",
        "drug-dopamine-antagonist-antiemetic",
        "smoking",
        "caffeine",
    ] {
        assert_eq!(status(&r, cause), "present", "{cause}");
    }
    let ssri = finding(&r, "drug-serotonergic-antidepressant");
    let ev = ssri["evidence"].as_array().unwrap();
    assert_eq!(ev.len(), 1, "the stopped sertraline does not count: {ev:?}");
    assert!(ev[0]["value"].as_str().unwrap().contains("paroxetine"));
    assert!(ssri["alternatives"].as_array().unwrap().iter().any(|a| a == "bupropion"));
    assert_eq!(status(&r, "drug-antipsychotic"), "absent");
    assert_eq!(status(&r, "drug-mirtazapine"), "absent");
    // No secondary cause and the work-up is done: primary, with the drugs named as contributors.
    assert_eq!(r["classification"]["kind"], "primary");
    assert!(r["classification"]["summary"].as_str().unwrap().contains("antihistamine"));
    assert!(
        mimics(&r).contains(&"akathisia"),
        "a dopamine blocker makes akathisia a possible look-alike"
    );
}

#[test]
fn familial_primary_example() {
    let r = assess_json("familial-primary.json");
    assert_eq!(r["classification"]["kind"], "primary");
    assert_eq!(r["classification"]["core_workup_complete"], true);
    assert_eq!(r["diagnosis"]["status"], "criteria-met");
    assert_eq!(status(&r, "family-history"), "present");
    assert_eq!(status(&r, "early-onset"), "present");
    for f in r["findings"].as_array().unwrap() {
        if f["kind"] == "secondary-cause" {
            assert_ne!(f["status"], "present", "{} must not be present", f["cause"]);
        }
    }
    assert_eq!(
        status(&r, "drug-sedating-antihistamine"),
        "absent",
        "loratadine is the safer alternative"
    );
    assert!(mimics(&r).is_empty());
}

#[test]
fn mimic_dominated_example() {
    let r = assess_json("mimic-dominated.json");
    assert_eq!(r["diagnosis"]["status"], "criteria-not-met");
    let m = mimics(&r);
    for id in ["leg-cramps", "claudication", "venous-disease", "positional-discomfort"] {
        assert!(m.contains(&id), "{id} missing from {m:?}");
    }
    assert_eq!(r["classification"]["kind"], "undetermined");
}

#[test]
fn nearly_empty_example() {
    let r = assess_json("nearly-empty.json");
    assert_eq!(r["classification"]["kind"], "undetermined");
    assert_eq!(r["diagnosis"]["status"], "incomplete");
    let tests = workup_tests(&r);
    for t in ["ferritin", "transferrin saturation (serum iron and TIBC)", "creatinine with eGFR"] {
        assert!(tests.contains(&t), "{t} missing from the work-up {tests:?}");
    }
    let ferritin =
        r["workup"].as_array().unwrap().iter().find(|w| w["test"] == "ferritin").unwrap();
    assert_eq!(ferritin["loinc"], "2276-4");
    // Nothing is said to be present or absent without data, except what age alone settles.
    for f in r["findings"].as_array().unwrap() {
        if f["status"] == "present" {
            assert_eq!(f["kind"], "primary-risk", "{} present from nearly nothing", f["cause"]);
        }
    }
    assert_eq!(status(&r, "iron-deficiency"), "unknown");
    assert!(
        finding(&r, "iron-deficiency")["missing"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m == "ferritin")
    );
}

#[test]
fn every_report_has_the_contract_fields_and_a_finding_per_cause() {
    let kb = restless_kb::Kb::embedded().unwrap();
    let causes: Vec<&str> = kb
        .causes()
        .iter()
        .filter(|c| c.kind != restless_kb::CauseKind::Mimic)
        .map(|c| c.id.as_str())
        .collect();
    for entry in std::fs::read_dir(example("")).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        if !name.ends_with(".json") {
            continue;
        }
        let r = assess_json(&name);
        assert_eq!(r["report_version"], 1);
        assert_eq!(r["as_of"], "2026-11-27");
        assert_eq!(r["kb_version"], kb.version());
        assert!(r["engine_version"].is_string());
        assert!(r["disclaimer"].as_str().unwrap().contains("does not replace"));
        let findings = r["findings"].as_array().unwrap();
        let ids: Vec<&str> = findings.iter().map(|f| f["cause"].as_str().unwrap()).collect();
        let mut sorted = ids.clone();
        sorted.sort_unstable();
        let mut expected = causes.clone();
        expected.sort_unstable();
        assert_eq!(sorted, expected, "{name}: one finding per non-mimic cause");
        let rank = |s: &str| {
            ["present", "possible", "unknown", "absent"].iter().position(|x| *x == s).unwrap()
        };
        let ranks: Vec<usize> =
            findings.iter().map(|f| rank(f["status"].as_str().unwrap())).collect();
        assert!(ranks.windows(2).all(|w| w[0] <= w[1]), "{name}: findings out of order");
        for f in findings {
            for key in ["kind", "strength", "evidence", "missing", "advice", "references", "seed"] {
                assert!(!f[key].is_null(), "{name}: {} lacks {key}", f["cause"]);
            }
        }
    }
}

#[test]
fn same_input_and_as_of_give_byte_identical_output() {
    for format in ["json", "text"] {
        let path = example("kidney-failure.json");
        let a =
            run(&["assess", path.to_str().unwrap(), "--as-of", "2026-11-27", "--format", format]);
        let b =
            run(&["assess", path.to_str().unwrap(), "--as-of", "2026-11-27", "--format", format]);
        assert!(a.status.success());
        assert_eq!(a.stdout, b.stdout, "{format} output differs between runs");
    }
}

#[test]
fn text_report_groups_by_status_and_ends_with_the_disclaimer() {
    let path = example("iron-deficiency.json");
    let out = run(&["assess", path.to_str().unwrap(), "--as-of", "2026-11-27"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let present = text.find("\nPRESENT").expect("a PRESENT group");
    let absent = text.find("\nRULED OUT BY THE DATA").expect("a ruled-out group");
    assert!(present < absent);
    assert!(text.contains("Iron deficiency"));
    assert!(text.contains("ferritin = 22 ng/mL on 2026-10-02"));
    assert!(text.trim_end().ends_with("prescribed it."), "disclaimer last");
}

#[test]
fn standard_input_is_read_with_a_dash() {
    use std::io::Write;
    let mut child = bin()
        .args(["assess", "-", "--as-of", "2026-11-27", "--format", "json"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(br#"{"person": {"age": 40}, "labs": [{"name": "ferritin", "value": 30, "unit": "ug/L", "date": "2026-11-01"}]}"#).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(status(&r, "iron-deficiency"), "present");
}

fn bad(doc: &str) -> (i32, String) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("input.json");
    std::fs::write(&path, doc).unwrap();
    let out = run(&["assess", path.to_str().unwrap(), "--as-of", "2026-11-27", "--format", "json"]);
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn malformed_json_names_line_and_column() {
    let (code, err) = bad("{\n  \"person\": {\"age\": 40,}\n}");
    assert_eq!(code, 2);
    assert!(err.contains("input.json") && err.contains("line 2"), "{err}");
}

#[test]
fn wrong_types_and_impossible_values_name_the_json_path() {
    let cases = [
        (r#"{"person": {"age": "forty"}}"#, "/person/age"),
        (
            r#"{"labs": [{"name": "ferritin", "value": -3, "unit": "ng/mL", "date": "2026-01-01"}]}"#,
            "/labs/0/value",
        ),
        (r#"{"person": {"birth_date": "2027-01-01"}}"#, "/person/birth_date"),
        (
            r#"{"labs": [{"name": "transferrin saturation", "value": 140, "unit": "%", "date": "2026-01-01"}]}"#,
            "/labs/0/value",
        ),
        (r#"{"person": {"age": 30}, "symptoms": {"age_at_onset": 45}}"#, "/symptoms/age_at_onset"),
        (r#"{"symptoms": {"urge_to_move": "yes"}}"#, "/symptoms/urge_to_move"),
        (r#"{"labs": [{"name": "ferritin", "value": 30, "unit": "ng/mL"}]}"#, "/labs/0/date"),
        (r#"{"medications": [42]}"#, "/medications/0"),
        (r#"[1, 2]"#, "/"),
    ];
    for (doc, path) in cases {
        let (code, err) = bad(doc);
        assert_eq!(code, 2, "{doc}: {err}");
        assert!(err.contains(path), "{doc}: message should name {path}: {err}");
        assert!(err.contains("expected"), "{doc}: message should say what was expected: {err}");
    }
}

#[test]
fn every_problem_is_reported_at_once() {
    let (code, err) =
        bad(r#"{"person": {"age": -1, "sex": "f"}, "symptoms": {"urge_to_move": 1}}"#);
    assert_eq!(code, 2);
    for path in ["/person/age", "/person/sex", "/symptoms/urge_to_move"] {
        assert!(err.contains(path), "{path} missing from: {err}");
    }
}

#[test]
fn unknown_fields_and_units_are_warnings_not_errors() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("input.json");
    std::fs::write(&path, r#"{"person": {"age": 40, "favourite_colour": "blue"}, "labs": [{"name": "ferritin", "value": 30, "unit": "mmol/L", "date": "2026-11-01"}]}"#).unwrap();
    let out = run(&["assess", path.to_str().unwrap(), "--as-of", "2026-11-27", "--format", "json"]);
    assert!(out.status.success());
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    let w = r["warnings"].as_array().unwrap();
    assert!(w.iter().any(|w| w["source"] == "questionnaire:/person/favourite_colour"), "{w:?}");
    assert!(
        w.iter().any(|w| w["source"] == "questionnaire:/labs/0"
            && w["message"].as_str().unwrap().contains("unit")),
        "{w:?}"
    );
    assert_eq!(
        status(&r, "iron-deficiency"),
        "unknown",
        "a value in a unit not understood is never used"
    );
}

#[test]
fn bad_command_lines_exit_2() {
    assert_eq!(run(&["assess", "--as-of", "27/11/2026"]).status.code(), Some(2));
    assert_eq!(run(&["assess", "/nonexistent/file.json"]).status.code(), Some(2));
    assert_eq!(run(&["kb", "show", "no-such-cause"]).status.code(), Some(2));
}

#[test]
fn kb_list_and_show() {
    let out = run(&["kb", "list"]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("iron-deficiency") && text.contains("venous-disease"));
    let out = run(&["kb", "show", "drug-beta-blocker"]);
    assert!(out.status.success());
    let page = String::from_utf8(out.stdout).unwrap();
    for part in
        ["How restless detects it", "The evidence", "Sources", "What the seed article got wrong"]
    {
        assert!(page.contains(part), "{part} missing:\n{page}");
    }
}
