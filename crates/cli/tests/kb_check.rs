//! `restless kb check`: the embedded knowledge base passes; an edited copy with broken files
//! fails with exit code 2 and lists every problem as `path:line: KBxxx message`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::{Command, Output};

use restless_kb::Kb;

/// A cause whose ferritin threshold is in mmol/L: KB004 on line 15.
const UNIT_MISMATCH: &str = r#"id = "broken-unit-mismatch"
name = "Broken: unit mismatch"
kind = "aggravator"
strength = "weak"
summary = "A test entry with one defect."
evidence = "None; it exists to test the loader."
advice = "None."
references = ["aasm-2024"]
reviewed = 2026-11-27

[[criterion]]
id = "ferritin-low"
fact = "lab.ferritin"
cmp = "<="
value = "75 mmol/L"
tag = "V"

[rule]
present = "ferritin-low"

[[example]]
name = "low ferritin"
as-of = 2026-11-27
expect = "present"
facts = [{ fact = "lab.ferritin", value = "22 ng/mL", date = 2026-10-02 }]

[[example]]
name = "no iron studies"
as-of = 2026-11-27
expect = "unknown"
facts = []
"#;

/// A cause with a strength outside the allowed set: KB007 on line 4.
const BAD_STRENGTH: &str = r#"id = "broken-bad-strength"
name = "Broken: bad strength"
kind = "aggravator"
strength = "very strong"
summary = "A test entry with one defect."
evidence = "None; it exists to test the loader."
advice = "None."
references = ["aasm-2024"]
reviewed = 2026-11-27

[[criterion]]
id = "ferritin-low"
fact = "lab.ferritin"
cmp = "<="
value = "75 ng/mL"
tag = "V"

[rule]
present = "ferritin-low"

[[example]]
name = "low ferritin"
as-of = 2026-11-27
expect = "present"
facts = [{ fact = "lab.ferritin", value = "22 ng/mL", date = 2026-10-02 }]

[[example]]
name = "normal ferritin"
as-of = 2026-11-27
expect = "absent"
facts = [{ fact = "lab.ferritin", value = "140 ng/mL", date = 2026-10-02 }]
"#;

fn restless(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_restless")).args(args).output().expect("run restless")
}

fn write_kb(dir: &Path, files: &[(String, String)]) {
    for (path, text) in files {
        let full = dir.join(path);
        if let Some(parent) = full.parent() {
            std::fs::create_dir_all(parent).expect("create folder");
        }
        std::fs::write(&full, text).expect("write file");
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn embedded_kb_checks_clean() {
    let out = restless(&["kb".as_ref(), "check".as_ref()]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout:\n{}\nstderr:\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(text(&out.stdout).starts_with("ok: embedded"), "stdout:\n{}", text(&out.stdout));
}

#[test]
fn unedited_copy_checks_clean() {
    let dir = tempfile::tempdir().expect("temp dir");
    write_kb(dir.path(), &Kb::embedded_files());
    let out = restless(&["kb".as_ref(), "check".as_ref(), dir.path().as_os_str()]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "stdout:\n{}\nstderr:\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    assert!(text(&out.stdout).starts_with("ok: "), "stdout:\n{}", text(&out.stdout));
}

#[test]
fn broken_copy_lists_every_problem_with_file_and_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut files = Kb::embedded_files();
    files.push(("causes/broken-unit-mismatch.toml".into(), UNIT_MISMATCH.into()));
    files.push(("causes/broken-bad-strength.toml".into(), BAD_STRENGTH.into()));
    write_kb(dir.path(), &files);

    let out = restless(&["kb".as_ref(), "check".as_ref(), dir.path().as_os_str()]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(2), "stdout:\n{stdout}\nstderr:\n{stderr}");

    // The path may be shown relative to the knowledge base or prefixed with the folder.
    let prefix = format!("{}/", dir.path().display());
    let lines: Vec<&str> = stdout
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| l.strip_prefix(prefix.as_str()).unwrap_or(l))
        .collect();
    for want in
        ["causes/broken-bad-strength.toml:4: KB007 ", "causes/broken-unit-mismatch.toml:15: KB004 "]
    {
        assert!(
            lines.iter().any(|l| l.starts_with(want)),
            "no line starting `{want}` in stdout:\n{stdout}"
        );
    }
    assert_eq!(lines.len(), 2, "exactly the two problems should be listed; stdout:\n{stdout}");
    assert!(
        lines.iter().any(|l| l.contains("mmol/L")),
        "the KB004 message should name the unit; stdout:\n{stdout}"
    );
    assert!(stderr.contains("2 problem(s)"), "stderr:\n{stderr}");
}

#[test]
fn missing_folder_is_a_usage_error() {
    let dir = tempfile::tempdir().expect("temp dir");
    let missing = dir.path().join("no-such-kb");
    let out = restless(&["kb".as_ref(), "check".as_ref(), missing.as_os_str()]);
    assert_eq!(out.status.code(), Some(2), "stderr:\n{}", text(&out.stderr));
    assert!(text(&out.stderr).contains("no-such-kb"), "stderr:\n{}", text(&out.stderr));
}
