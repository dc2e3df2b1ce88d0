//! `restless screen` and `restless merge` end to end: the same findings as `assess` patient by
//! patient, every line accounted for, malformed lines reported with samples, atomic output,
//! shards that merge back into the whole.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_restless"))
}

fn bulk() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/corpora/smart-bulk-fhir-datasets-10-patients")
}

fn screen(inputs: &[&Path], out: &Path, extra: &[&str]) -> std::process::Output {
    let mut cmd = bin();
    cmd.arg("screen");
    for i in inputs {
        cmd.arg(i);
    }
    cmd.args(["--out", out.to_str().unwrap(), "--as-of", "2026-11-27"]).args(extra);
    cmd.output().unwrap()
}

fn rows(path: &Path) -> BTreeMap<String, Value> {
    std::fs::read_to_string(path)
        .unwrap()
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            (v["patient"].as_str().unwrap().to_owned(), v)
        })
        .collect()
}

fn summary(out: &Path) -> Value {
    let mut p = out.as_os_str().to_owned();
    p.push(".summary.json");
    serde_json::from_str(&std::fs::read_to_string(PathBuf::from(p)).unwrap()).unwrap()
}

fn balanced(acc: &Value) -> bool {
    let skipped: u64 =
        acc["skipped"].as_object().unwrap().values().map(|v| v.as_u64().unwrap()).sum();
    acc["used"].as_u64().unwrap()
        + acc["irrelevant"].as_u64().unwrap()
        + acc["malformed"].as_u64().unwrap()
        + acc["orphaned"].as_u64().unwrap()
        + skipped
        == acc["lines"].as_u64().unwrap()
}

/// The lines of one patient across the export, as one NDJSON document.
fn lines_of(patient: &str) -> String {
    let mut out = String::new();
    let mut files: Vec<PathBuf> =
        std::fs::read_dir(bulk()).unwrap().map(|e| e.unwrap().path()).collect();
    files.sort();
    for f in files {
        for line in std::fs::read_to_string(&f).unwrap().lines() {
            let Ok(v) = serde_json::from_str::<Value>(line) else { continue };
            let about = v
                .get("subject")
                .or_else(|| v.get("patient"))
                .and_then(|s| s["reference"].as_str())
                .map(|r| r.rsplit(['/', ':']).next().unwrap().to_owned());
            let is_patient = v["resourceType"] == "Patient" && v["id"] == patient;
            if is_patient || about.as_deref() == Some(patient) {
                out.push_str(line);
                out.push('\n');
            }
        }
    }
    out
}

#[test]
fn screen_gives_the_same_findings_as_assess_for_every_patient() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("rows.ndjson");
    let o = screen(&[&bulk()], &out, &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let rows = rows(&out);
    assert_eq!(rows.len(), 13, "13 Patient records in the export");
    let kb = restless_kb::Kb::embedded().unwrap();
    let as_of = "2026-11-27".parse().unwrap();
    for (id, row) in &rows {
        let doc = lines_of(id);
        let ing = restless_ingest::read(&doc, &kb, as_of).unwrap();
        let a = restless_engine::assess(&kb, &ing.record, as_of);
        let of = |s: restless_engine::Status| {
            a.findings
                .iter()
                .filter(|f| f.status == s)
                .map(|f| Value::String(f.cause.clone()))
                .collect::<Vec<_>>()
        };
        assert_eq!(row["classification"], a.classification.kind.name(), "{id}");
        assert_eq!(
            row["present"].as_array().unwrap(),
            &of(restless_engine::Status::Present),
            "{id}: present"
        );
        assert_eq!(
            row["possible"].as_array().unwrap(),
            &of(restless_engine::Status::Possible),
            "{id}: possible"
        );
        let workup: Vec<Value> = a.workup.iter().map(|w| Value::String(w.test.clone())).collect();
        assert_eq!(row["missing_workup"].as_array().unwrap(), &workup, "{id}: work-up");
    }
    let s = summary(&out);
    assert!(balanced(&s["accounting"]), "{}", s["accounting"]);
    let deceased = rows.values().filter(|r| r["deceased"] == true).count() as u64;
    assert!(deceased > 0, "the export holds patients who have died");
    assert_eq!(s["patients"].as_u64().unwrap() + s["deceased"].as_u64().unwrap(), 13);
    assert_eq!(s["deceased"].as_u64().unwrap(), deceased);
    // log.ndjson is the export's log, not resources: reported as malformed with samples.
    assert!(
        s["accounting"]["malformed_samples"]["no resourceType"][0]
            .as_str()
            .unwrap()
            .contains("log.ndjson:1")
    );
}

#[test]
fn malformed_lines_are_counted_with_samples_and_strict_refuses_them() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("mixed.ndjson");
    let good = r#"{"resourceType":"Patient","id":"p1","gender":"female","birthDate":"1980-01-01"}"#;
    let cond = r#"{"resourceType":"Condition","id":"c1","subject":{"reference":"Patient/p1"},"code":{"coding":[{"system":"http://hl7.org/fhir/sid/icd-10-cm","code":"N18.6"}]}}"#;
    let enc = r#"{"resourceType":"Encounter","id":"e1","subject":{"reference":"Patient/p1"}}"#;
    let orphan = r#"{"resourceType":"Condition","id":"c2","code":{"coding":[{"system":"http://hl7.org/fhir/sid/icd-10-cm","code":"E11.9"}]}}"#;
    let text = format!(
        "{good}\n{cond}\n{{\"resourceType\":\"Condition\",\"id\":\n{enc}\nnot json at all\n\n{orphan}\n{{\"id\":\"x\"}}\n"
    );
    std::fs::write(&input, &text).unwrap();
    let out = dir.path().join("rows.ndjson");
    let o = screen(&[&input], &out, &[]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let s = summary(&out);
    let acc = &s["accounting"];
    assert_eq!(acc["lines"], 8);
    assert_eq!(acc["malformed"], 3, "{acc}");
    assert_eq!(acc["orphaned"], 1, "{acc}");
    assert!(balanced(acc), "{acc}");
    let samples = acc["malformed_samples"].as_object().unwrap();
    let all: Vec<&str> = samples
        .values()
        .flat_map(|v| v.as_array().unwrap().iter().map(|x| x.as_str().unwrap()))
        .collect();
    for line in [":3", ":5", ":8"] {
        assert!(
            all.iter().any(|s| s.ends_with(line) && s.contains("mixed.ndjson")),
            "no sample for line {line}: {all:?}"
        );
    }
    let rows = rows(&out);
    assert_eq!(
        rows["p1"]["present"].as_array().unwrap().iter().filter(|c| *c == "esrd-dialysis").count(),
        1
    );
    let stderr = String::from_utf8_lossy(&o.stderr);
    assert!(stderr.contains("8 lines") && stderr.contains("3 malformed"), "{stderr}");

    let strict_out = dir.path().join("strict.ndjson");
    let o = screen(&[&input], &strict_out, &["--strict"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(!strict_out.exists(), "no output when --strict refuses the input");
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("mixed.ndjson:"),
        "the error names file:line"
    );
}

#[test]
fn a_killed_run_leaves_no_output_file() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    // The input is a named pipe that this test writes into and never closes: the run cannot
    // finish, so the kill always lands mid-run, however fast the machine.
    let input = dir.path().join("export.ndjson");
    let made = std::process::Command::new("mkfifo").arg(&input).status().unwrap();
    assert!(made.success(), "mkfifo failed");
    let out = dir.path().join("rows.ndjson");
    let mut child = bin()
        .args([
            "screen",
            input.to_str().unwrap(),
            "--out",
            out.to_str().unwrap(),
            "--as-of",
            "2026-11-27",
            "--threads",
            "1",
        ])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Opening the pipe for writing waits until the run opens it for reading.
    let mut pipe = std::fs::OpenOptions::new().write(true).open(&input).unwrap();
    let base = std::fs::read_to_string(bulk().join("MedicationRequest.000.ndjson")).unwrap();
    pipe.write_all(base.as_bytes()).unwrap();
    pipe.flush().unwrap();
    std::thread::sleep(std::time::Duration::from_millis(200));
    assert!(child.try_wait().unwrap().is_none(), "the run ended before its input did");
    child.kill().unwrap();
    let status = child.wait().unwrap();
    drop(pipe);
    assert!(!status.success());
    assert!(!out.exists(), "a killed run must not leave {}", out.display());
}

#[test]
fn shards_partition_the_patients_and_merge_back() {
    let dir = tempfile::tempdir().unwrap();
    let whole = dir.path().join("whole.ndjson");
    assert!(screen(&[&bulk()], &whole, &[]).status.success());
    let mut shard_rows = BTreeMap::new();
    let mut summaries = Vec::new();
    for i in 0..3 {
        let out = dir.path().join(format!("shard{i}.ndjson"));
        let o = screen(&[&bulk()], &out, &["--shard", &format!("{i}/3")]);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        for (k, v) in rows(&out) {
            assert!(shard_rows.insert(k, v).is_none(), "a patient appeared in two shards");
        }
        let mut p = out.as_os_str().to_owned();
        p.push(".summary.json");
        summaries.push(PathBuf::from(p));
    }
    assert_eq!(shard_rows, rows(&whole), "the shards together give the whole");
    let merged = dir.path().join("merged.json");
    let mut cmd = bin();
    cmd.arg("merge");
    for s in &summaries {
        cmd.arg(s);
    }
    let o = cmd.args(["--out", merged.to_str().unwrap()]).output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let m: Value = serde_json::from_str(&std::fs::read_to_string(&merged).unwrap()).unwrap();
    let w = summary(&whole);
    for key in ["patients", "patients_with_rls", "with_secondary_cause", "causes", "classification"]
    {
        assert_eq!(m[key], w[key], "{key}");
    }
    assert_eq!(m["shards"].as_array().unwrap().len(), 3);
    assert!(merged.with_extension("html").exists());
    // Merging the same shard twice is refused.
    let o = bin()
        .arg("merge")
        .arg(&summaries[0])
        .arg(&summaries[0])
        .args(["--out", dir.path().join("x.json").to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
}

#[test]
fn csv_output_and_only_rls() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("two.ndjson");
    let lines = [
        r#"{"resourceType":"Patient","id":"a","gender":"male","birthDate":"1950-01-01"}"#,
        r#"{"resourceType":"Condition","id":"c1","subject":{"reference":"urn:uuid:a"},"code":{"coding":[{"system":"http://snomed.info/sct","code":"32914008"}]}}"#,
        r#"{"resourceType":"Patient","id":"b","gender":"female","birthDate":"1990-01-01"}"#,
    ];
    std::fs::write(&input, lines.join("\n")).unwrap();
    let out = dir.path().join("rows.csv");
    let o = screen(&[&input], &out, &["--format", "csv", "--only-rls"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let text = std::fs::read_to_string(&out).unwrap();
    let mut l = text.lines();
    assert_eq!(l.next().unwrap(), "patient,classification,rls,present,possible,missing_workup");
    let row = l.next().unwrap();
    assert!(row.starts_with("a,") && row.contains(",yes,"), "{row}");
    assert!(l.next().is_none(), "only the patient with RLS: {text}");
    let html = std::fs::read_to_string(dir.path().join("rows.csv.summary.html")).unwrap();
    assert!(
        html.contains("<svg") && !html.contains("http://") && !html.contains("https://"),
        "self-contained HTML"
    );
}

#[test]
fn screen_reproduces_the_planted_ground_truth_of_a_generated_export() {
    let dir = tempfile::tempdir().unwrap();
    let export = dir.path().join("export");
    let o = bin()
        .args([
            "synth",
            "--patients",
            "150",
            "--seed",
            "7",
            "--as-of",
            "2026-11-27",
            "--gzip",
            "--out",
            export.to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let out = dir.path().join("rows.ndjson");
    let o = screen(&[&export], &out, &["--threads", "2"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let rows = rows(&out);
    let truth = std::fs::read_to_string(export.join("ground-truth.jsonl")).unwrap();
    let mut checked = 0;
    for line in truth.lines() {
        let t: Value = serde_json::from_str(line).unwrap();
        let id = t["patient"].as_str().unwrap();
        let row =
            rows.get(id).unwrap_or_else(|| panic!("patient {id} missing from the screen output"));
        assert_eq!(row["rls"], t["rls"], "{id}: rls");
        let has =
            |list: &str, cause: &str| row[list].as_array().unwrap().iter().any(|c| c == cause);
        for (cause, status) in t["planted"].as_object().unwrap() {
            let got = if has("present", cause) {
                "present"
            } else if has("possible", cause) {
                "possible"
            } else {
                "absent-or-unknown"
            };
            let want = match status.as_str().unwrap() {
                s @ ("present" | "possible") => s,
                _ => "absent-or-unknown",
            };
            assert_eq!(got, want, "{id}: {cause} planted {status}");
            checked += 1;
        }
    }
    assert!(checked > 150 * 10, "only {checked} planted statuses checked");
    let s = summary(&out);
    assert!(balanced(&s["accounting"]), "{}", s["accounting"]);
    assert_eq!(s["accounting"]["malformed"], 0, "ground-truth.jsonl is not part of the export");
}
