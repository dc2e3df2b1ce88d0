//! Every kind of knowledge-base problem is reported with its code, file and line.
//!
//! `tests/broken/` holds one small file per kind of problem. Each starts with a header:
//!
//! ```toml
//! # target: causes/broken-unit-mismatch.toml   (the path in the KB it replaces or adds)
//! # expect: KB004 19                            (code and 1-based line in this file; `-` = none)
//! ```
//!
//! The file is put into a copy of the embedded knowledge base (which on its own loads), and the
//! loader must report exactly the expected diagnostics, no more and no fewer. Loading all of
//! them at once must report every one of them: the loader does not stop at the first problem.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use restless_kb::{Kb, KbDiagnostic, LoadError};

/// One file from `tests/broken/`.
#[derive(Debug)]
struct Broken {
    /// The file name in `tests/broken/`.
    name: String,
    /// The path inside the knowledge base it replaces or adds.
    target: String,
    text: String,
    expect: Vec<Expect>,
}

/// A diagnostic reduced to what the headers state: file, line and code.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Expect {
    file: String,
    line: Option<usize>,
    code: String,
}

impl std::fmt::Display for Expect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{}: {}", self.file, line, self.code),
            None => write!(f, "{}: {}", self.file, self.code),
        }
    }
}

fn broken_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests").join("broken")
}

/// Reads and parses every file in `tests/broken/`, in name order.
fn broken_files() -> Vec<Broken> {
    let dir = broken_dir();
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()))
        .map(|entry| entry.unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display())).path())
        .filter(|p| p.extension().is_some_and(|e| e == "toml"))
        .collect();
    paths.sort();
    assert!(!paths.is_empty(), "no broken files in {}", dir.display());
    paths.iter().map(|p| parse_broken(p)).collect()
}

fn parse_broken(path: &Path) -> Broken {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let text = std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    let mut target = None;
    let mut expect_raw = Vec::new();
    for line in text.lines().take_while(|l| l.starts_with('#')) {
        if let Some(t) = line.strip_prefix("# target:") {
            assert!(target.is_none(), "{name}: more than one `# target:` header");
            target = Some(t.trim().to_owned());
        } else if let Some(e) = line.strip_prefix("# expect:") {
            let mut parts = e.split_whitespace();
            let (Some(code), Some(at), None) = (parts.next(), parts.next(), parts.next()) else {
                panic!("{name}: `{line}` must be `# expect: KBnnn LINE` (or `-` for no line)");
            };
            assert!(
                code.len() == 5
                    && code.starts_with("KB")
                    && code[2..].bytes().all(|b| b.is_ascii_digit()),
                "{name}: `{code}` is not a diagnostic code"
            );
            let at = match at {
                "-" => None,
                n => Some(
                    n.parse::<usize>()
                        .unwrap_or_else(|_| panic!("{name}: line `{n}` is not a number")),
                ),
            };
            expect_raw.push((code.to_owned(), at));
        }
    }
    let target = target.unwrap_or_else(|| panic!("{name}: no `# target:` header"));
    assert!(!expect_raw.is_empty(), "{name}: no `# expect:` header");
    let lines = text.lines().count();
    for (code, line) in &expect_raw {
        assert!(
            name.starts_with(code.as_str())
                || expect_raw.iter().any(|(c, _)| name.starts_with(c.as_str())),
            "{name}: named after none of its expected codes"
        );
        if let Some(l) = line {
            assert!(
                (1..=lines).contains(l),
                "{name}: expected line {l} is outside the file ({lines} lines)"
            );
        }
    }
    let expect = expect_raw
        .into_iter()
        .map(|(code, line)| Expect { file: target.clone(), line, code })
        .collect();
    Broken { name, target, text, expect }
}

/// The embedded files, with `target` replaced by `text` (or added when it is new).
fn with_file(mut files: Vec<(String, String)>, target: &str, text: &str) -> Vec<(String, String)> {
    match files.iter_mut().find(|(path, _)| path == target) {
        Some(slot) => slot.1 = text.to_owned(),
        None => files.push((target.to_owned(), text.to_owned())),
    }
    files
}

/// The diagnostics of a load that must fail.
fn diagnostics(files: &[(String, String)], what: &str) -> Vec<KbDiagnostic> {
    match Kb::from_files(files) {
        Ok(_) => panic!("{what}: the knowledge base loaded, but it should have been rejected"),
        Err(diags) => {
            assert!(!diags.is_empty(), "{what}: rejected with no diagnostics");
            diags
        }
    }
}

fn reduce(diags: &[KbDiagnostic]) -> BTreeSet<Expect> {
    diags
        .iter()
        .map(|d| Expect { file: d.file.clone(), line: d.line, code: d.code.as_str().to_owned() })
        .collect()
}

fn render(diags: &[KbDiagnostic]) -> String {
    diags.iter().map(|d| format!("    {d}\n")).collect()
}

fn show(set: &BTreeSet<Expect>) -> String {
    set.iter().map(|e| format!("    {e}\n")).collect()
}

#[test]
fn embedded_kb_loads_on_its_own() {
    if let Err(diags) = Kb::from_files(&Kb::embedded_files()) {
        panic!(
            "the embedded knowledge base has problems, so the broken-file tests prove nothing:\n{}",
            render(&diags)
        );
    }
    assert!(Kb::embedded().is_ok());
}

/// Causes come in id order whatever the order of the files given (the engine lists findings
/// of equal status and strength in this order without comparing ids).
#[test]
fn causes_are_in_id_order_whatever_the_order_of_the_files() {
    let mut files = Kb::embedded_files();
    // `zz-b.toml` sorts before `zz.toml`, but the id `zz` before `zz-b`.
    let (_, model) = files.iter().find(|(p, _)| p == "causes/iron-deficiency.toml").unwrap();
    let model = model.clone();
    for id in ["zz", "zz-b"] {
        let text = model.replace("id = \"iron-deficiency\"", &format!("id = \"{id}\""));
        files = with_file(files, &format!("causes/{id}.toml"), &text);
    }
    files.reverse();
    let kb = Kb::from_files(&files).unwrap_or_else(|d| panic!("{}", render(&d)));
    let ids: Vec<&str> = kb.causes().iter().map(|c| c.id.as_str()).collect();
    assert!(ids.len() > 1);
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "{ids:?}");
}

#[test]
fn broken_files_cover_every_code() {
    let covered: BTreeSet<String> =
        broken_files().iter().flat_map(|b| b.expect.iter().map(|e| e.code.clone())).collect();
    let all: BTreeSet<String> = (1..=10).map(|n| format!("KB{n:03}")).collect();
    let missing: Vec<&String> = all.difference(&covered).collect();
    assert!(missing.is_empty(), "no broken file exercises {missing:?}");
}

#[test]
fn each_broken_file_reports_exactly_its_problems() {
    let embedded = Kb::embedded_files();
    let mut failures = String::new();
    for b in broken_files() {
        let files = with_file(embedded.clone(), &b.target, &b.text);
        let diags = diagnostics(&files, &b.name);
        let got = reduce(&diags);
        let want: BTreeSet<Expect> = b.expect.iter().cloned().collect();
        if got != want {
            failures.push_str(&format!(
                "{} (as {}):\n  expected:\n{}  got:\n{}",
                b.name,
                b.target,
                show(&want),
                render(&diags)
            ));
        }
        // A code and a line are not enough on their own: each problem must also say what is wrong.
        for d in &diags {
            assert!(
                !d.message.trim().is_empty(),
                "{}: diagnostic without a message: {d:?}",
                b.name
            );
        }
    }
    assert!(failures.is_empty(), "diagnostics differ from the `# expect:` headers:\n{failures}");
}

#[test]
fn all_broken_files_at_once_report_every_problem() {
    let broken = broken_files();
    let mut targets = BTreeSet::new();
    let mut files = Kb::embedded_files();
    for b in &broken {
        assert!(
            targets.insert(b.target.clone()),
            "{}: target {} is used by another broken file",
            b.name,
            b.target
        );
        files = with_file(files, &b.target, &b.text);
    }
    let diags = diagnostics(&files, "all broken files");
    let got = reduce(&diags);
    let want: BTreeSet<Expect> = broken.iter().flat_map(|b| b.expect.iter().cloned()).collect();
    let missing: BTreeSet<Expect> = want.difference(&got).cloned().collect();
    let extra: BTreeSet<Expect> = got.difference(&want).cloned().collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "loading every broken file at once:\n  missing:\n{}  unexpected:\n{}  all:\n{}",
        show(&missing),
        show(&extra),
        render(&diags)
    );
    assert!(
        diags.len() >= broken.len(),
        "{} diagnostics for {} broken files",
        diags.len(),
        broken.len()
    );
}

#[test]
fn from_dir_reports_the_same_problems() {
    let dir = tempfile::tempdir().expect("temp dir");
    let broken = broken_files();
    let mut files = Kb::embedded_files();
    for b in &broken {
        files = with_file(files, &b.target, &b.text);
    }
    for (path, text) in &files {
        let full = dir.path().join(path);
        if let Some(parent) = full.parent() {
            std::fs::create_dir_all(parent).expect("create folder");
        }
        std::fs::write(&full, text).expect("write file");
    }
    let from_files = diagnostics(&files, "all broken files");
    match Kb::from_dir(dir.path()) {
        Err(LoadError::Invalid(diags)) => assert_eq!(diags, from_files),
        Err(e) => panic!("from_dir failed to read the copy: {e}"),
        Ok(_) => panic!("from_dir accepted a knowledge base with broken files"),
    }
}

/// A LOINC code given to two analytes. Built in code rather than as a file: a full copy of
/// labs.toml would be large and would go stale. The second analyte's `loinc` line is replaced
/// by the first analyte's code.
#[test]
fn loinc_code_given_to_two_analytes_is_ambiguous() {
    let embedded = Kb::embedded_files();
    let labs = &embedded.iter().find(|(p, _)| p == "labs.toml").expect("labs.toml is embedded").1;
    let loinc_lines: Vec<usize> = labs
        .lines()
        .enumerate()
        .filter(|(_, l)| l.starts_with("loinc = ["))
        .map(|(i, _)| i)
        .collect();
    assert!(loinc_lines.len() >= 2, "labs.toml has fewer than two analytes with LOINC codes");
    let first = labs.lines().nth(loinc_lines[0]).unwrap_or_default();
    let code = first.split('"').nth(1).expect("a quoted LOINC code").to_owned();
    let second = loinc_lines[1];
    let broken: String = labs
        .lines()
        .enumerate()
        .map(
            |(i, l)| if i == second { format!("loinc = [\"{code}\"]\n") } else { format!("{l}\n") },
        )
        .collect();

    let files = with_file(embedded.clone(), "labs.toml", &broken);
    let diags = diagnostics(&files, "labs.toml with a LOINC code given twice");
    let want = Expect { file: "labs.toml".into(), line: Some(second + 1), code: "KB010".into() };
    assert_eq!(reduce(&diags), BTreeSet::from([want]), "got:\n{}", render(&diags));
    assert!(diags[0].message.contains(&code), "the message should name the code: {}", diags[0]);
}

#[test]
fn display_is_file_line_code_message() {
    let broken = broken_files();
    let unit = broken
        .iter()
        .find(|b| b.name == "KB004-unit-mismatch.toml")
        .expect("KB004-unit-mismatch.toml");
    let files = with_file(Kb::embedded_files(), &unit.target, &unit.text);
    let diags = diagnostics(&files, &unit.name);
    assert_eq!(diags.len(), 1, "got:\n{}", render(&diags));
    let d = &diags[0];
    assert_eq!(d.to_string(), format!("causes/broken-unit-mismatch.toml:19: KB004 {}", d.message));
    assert!(
        d.message.contains("mmol/L") && d.message.contains("lab.ferritin"),
        "message: {}",
        d.message
    );

    // A problem with the whole file has no line: `file: KBxxx message`.
    let notes = broken
        .iter()
        .find(|b| b.name == "KB009-unexpected-file.toml")
        .expect("KB009-unexpected-file.toml");
    let files = with_file(Kb::embedded_files(), &notes.target, &notes.text);
    let diags = diagnostics(&files, &notes.name);
    assert_eq!(diags.len(), 1, "got:\n{}", render(&diags));
    assert_eq!(diags[0].to_string(), format!("notes.toml: KB009 {}", diags[0].message));
}
