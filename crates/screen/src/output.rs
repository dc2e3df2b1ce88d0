//! What the screen writes: per-patient rows (NDJSON or CSV) and the summary (JSON and a
//! self-contained HTML page).

use std::collections::BTreeMap;
use std::io::{self, Write};

use restless_engine::{Assessment, Status};
use restless_kb::{CauseKind, Kb};
use serde::{Deserialize, Serialize};

use crate::{Format, Options};

/// One patient's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Row {
    /// Patient id.
    pub patient: String,
    /// secondary | primary | undetermined
    pub classification: String,
    /// RLS diagnosis recorded, or diagnostic criteria answered yes.
    pub rls: bool,
    /// Causes present.
    pub present: Vec<String>,
    /// Causes possible.
    pub possible: Vec<String>,
    /// Work-up tests that would settle open findings.
    pub missing_workup: Vec<String>,
    /// Recorded as deceased (counted apart in the summary).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deceased: bool,
    /// Whether ferritin, TSAT and kidney function were ever measured (for the summary).
    #[serde(skip)]
    pub(crate) never_tested: Vec<&'static str>,
    #[serde(skip)]
    pub(crate) drug_classes: Vec<String>,
}

impl Row {
    pub(crate) fn new(
        patient: &str,
        a: &Assessment,
        kb: &Kb,
        deceased: bool,
        tested: impl Fn(&str) -> bool,
    ) -> Row {
        let ids = |s: Status| {
            a.findings.iter().filter(|f| f.status == s).map(|f| f.cause.clone()).collect::<Vec<_>>()
        };
        let rls = !a.diagnosis.recorded.is_empty()
            || a.diagnosis.criteria.first().is_some_and(|c| c.value == restless_engine::Tri::Met);
        let mut never = Vec::new();
        if !tested("ferritin") {
            never.push("ferritin");
        }
        let tsat_known =
            tested("transferrin-saturation") || (tested("serum-iron") && tested("tibc"));
        if !tsat_known {
            never.push("transferrin saturation");
        }
        if !tested("egfr") && !tested("creatinine") {
            never.push("kidney function");
        }
        let drug_classes = a
            .findings
            .iter()
            .filter(|f| {
                f.status == Status::Present
                    && f.kind == CauseKind::Aggravator
                    && f.cause.starts_with("drug-")
            })
            .map(|f| kb.cause(&f.cause).map_or_else(|| f.cause.clone(), |c| c.name.clone()))
            .collect();
        Row {
            patient: patient.to_owned(),
            classification: a.classification.kind.name().to_owned(),
            rls,
            present: ids(Status::Present),
            possible: ids(Status::Possible),
            missing_workup: a.workup.iter().map(|w| w.test.clone()).collect(),
            deceased,
            never_tested: never,
            drug_classes,
        }
    }
}

/// Writes rows as they come, in NDJSON or CSV (with its header first).
pub(crate) enum RowWriter<'w> {
    Ndjson(&'w mut dyn Write),
    Csv(Box<csv::Writer<&'w mut dyn Write>>),
}

impl<'w> RowWriter<'w> {
    pub(crate) fn new(w: &'w mut dyn Write, format: Format) -> io::Result<RowWriter<'w>> {
        Ok(match format {
            Format::Ndjson => RowWriter::Ndjson(w),
            Format::Csv => {
                let mut c = csv::Writer::from_writer(w);
                c.write_record([
                    "patient",
                    "classification",
                    "rls",
                    "present",
                    "possible",
                    "missing_workup",
                ])?;
                RowWriter::Csv(Box::new(c))
            }
        })
    }

    pub(crate) fn write(&mut self, r: &Row) -> io::Result<()> {
        match self {
            RowWriter::Ndjson(w) => {
                serde_json::to_writer(&mut **w, r)?;
                w.write_all(b"\n")
            }
            RowWriter::Csv(c) => c
                .write_record([
                    r.patient.as_str(),
                    &r.classification,
                    if r.rls { "yes" } else { "no" },
                    &r.present.join(";"),
                    &r.possible.join(";"),
                    &r.missing_workup.join(";"),
                ])
                .map_err(io::Error::other),
        }
    }

    pub(crate) fn finish(self) -> io::Result<()> {
        match self {
            RowWriter::Ndjson(w) => w.flush(),
            RowWriter::Csv(mut c) => c.flush(),
        }
    }
}

/// How every line read was accounted for.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Accounting {
    /// Lines read.
    pub lines: u64,
    /// Lines that gave facts (or a Patient's demographics, or a Medication referenced later).
    pub used: u64,
    /// Lines of a type or code restless does not use (not parsed).
    pub irrelevant: u64,
    /// Relevant lines not used, by reason.
    pub skipped: BTreeMap<String, u64>,
    /// Lines that are not JSON or not a FHIR resource.
    pub malformed: u64,
    /// Malformed lines by kind.
    pub malformed_kinds: BTreeMap<String, u64>,
    /// Up to five `file:line` samples of each kind.
    pub malformed_samples: BTreeMap<String, Vec<String>>,
    /// Samples as (file index, byte offset) until their line numbers are worked out.
    #[serde(skip)]
    pub(crate) sample_offsets: BTreeMap<String, Vec<(usize, u64)>>,
    /// Lines with no patient to attach them to.
    pub orphaned: u64,
    /// Warnings by message (no personal data), with counts.
    pub warnings: BTreeMap<String, u64>,
}

impl Accounting {
    pub(crate) fn skip(&mut self, reason: &str) {
        *self.skipped.entry(reason.to_owned()).or_default() += 1;
    }

    pub(crate) fn merge(&mut self, o: &Accounting) {
        self.lines += o.lines;
        self.used += o.used;
        self.irrelevant += o.irrelevant;
        self.malformed += o.malformed;
        self.orphaned += o.orphaned;
        for (k, v) in &o.skipped {
            *self.skipped.entry(k.clone()).or_default() += v;
        }
        for (k, v) in &o.malformed_kinds {
            *self.malformed_kinds.entry(k.clone()).or_default() += v;
        }
        for (k, v) in &o.sample_offsets {
            let s = self.sample_offsets.entry(k.clone()).or_default();
            s.extend(v.iter().copied());
            s.sort_unstable();
            s.truncate(5);
        }
        for (k, v) in &o.malformed_samples {
            let s = self.malformed_samples.entry(k.clone()).or_default();
            for x in v {
                if s.len() < 5 {
                    s.push(x.clone());
                }
            }
        }
        for (k, v) in &o.warnings {
            *self.warnings.entry(k.clone()).or_default() += v;
        }
    }

    /// Whether the categories add up to the lines read.
    #[must_use]
    pub fn balanced(&self) -> bool {
        self.used
            + self.irrelevant
            + self.malformed
            + self.orphaned
            + self.skipped.values().sum::<u64>()
            == self.lines
    }
}

/// Counts of one cause.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CauseCount {
    /// Name.
    pub name: String,
    /// Kind.
    pub kind: String,
    /// Patients with it present.
    pub present: u64,
    /// Patients with it possible.
    pub possible: u64,
    /// Among patients with RLS: present.
    pub present_in_rls: u64,
}

/// The summary of a screen (mergeable across shards).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Summary format version.
    pub summary_version: u32,
    /// Engine version.
    pub engine_version: String,
    /// Knowledge-base version.
    pub kb_version: String,
    /// Evaluation date.
    pub as_of: String,
    /// Shards merged into this summary (`i/n`), or empty for a whole run.
    pub shards: Vec<String>,
    /// Input files.
    pub files: u64,
    /// Input bytes (compressed size for .gz).
    pub bytes: u64,
    /// Wall time in seconds (summed over shards when merged).
    pub seconds: f64,
    /// Seconds spent in each phase (not merged).
    #[serde(default)]
    pub timings: BTreeMap<String, f64>,
    /// Patients assessed (living; see `deceased`).
    pub patients: u64,
    /// Patients recorded as deceased: written to the output, left out of every other count.
    #[serde(default)]
    pub deceased: u64,
    /// Patients with RLS recorded.
    pub patients_with_rls: u64,
    /// Patients with any secondary cause present.
    pub with_secondary_cause: u64,
    /// Among RLS patients: with a secondary cause present.
    pub rls_with_secondary_cause: u64,
    /// Classification counts.
    pub classification: BTreeMap<String, u64>,
    /// Per-cause counts.
    pub causes: BTreeMap<String, CauseCount>,
    /// Among RLS patients: how many never had each test.
    pub rls_never_tested: BTreeMap<String, u64>,
    /// Among RLS patients: aggravating drug classes present.
    pub rls_aggravating_drugs: BTreeMap<String, u64>,
    /// Rows written to the output.
    pub rows_written: u64,
    /// Line accounting.
    pub accounting: Accounting,
    /// The disclaimer.
    pub disclaimer: String,
}

impl Summary {
    pub(crate) fn new(
        opts: &Options,
        kb: &Kb,
        acc: Accounting,
        files: usize,
        bytes: u64,
    ) -> Summary {
        let mut s = Summary {
            summary_version: 1,
            engine_version: env!("CARGO_PKG_VERSION").to_owned(),
            kb_version: kb.version().to_owned(),
            as_of: opts.as_of.to_string(),
            shards: opts.shard.map(|(i, n)| vec![format!("{i}/{n}")]).unwrap_or_default(),
            files: files as u64,
            bytes,
            accounting: acc,
            disclaimer: kb.disclaimer().to_owned(),
            ..Summary::default()
        };
        for c in kb.causes().iter().filter(|c| c.kind != CauseKind::Mimic) {
            s.causes.insert(
                c.id.clone(),
                CauseCount {
                    name: c.name.clone(),
                    kind: c.kind.name().to_owned(),
                    ..CauseCount::default()
                },
            );
        }
        s
    }

    /// Counts one patient's row in.
    pub(crate) fn add(&mut self, r: &Row, kb: &Kb) {
        if r.deceased {
            self.deceased += 1;
            return;
        }
        self.patients += 1;
        *self.classification.entry(r.classification.clone()).or_default() += 1;
        let secondary = r
            .present
            .iter()
            .any(|id| kb.cause(id).is_some_and(|c| c.kind == CauseKind::SecondaryCause));
        self.with_secondary_cause += u64::from(secondary);
        if r.rls {
            self.patients_with_rls += 1;
            self.rls_with_secondary_cause += u64::from(secondary);
            for t in &r.never_tested {
                *self.rls_never_tested.entry((*t).to_owned()).or_default() += 1;
            }
            for d in &r.drug_classes {
                *self.rls_aggravating_drugs.entry(d.clone()).or_default() += 1;
            }
        }
        for id in &r.present {
            if let Some(c) = self.causes.get_mut(id) {
                c.present += 1;
                c.present_in_rls += u64::from(r.rls);
            }
        }
        for id in &r.possible {
            if let Some(c) = self.causes.get_mut(id) {
                c.possible += 1;
            }
        }
    }

    /// Combines shard summaries of the same export into one.
    ///
    /// # Errors
    /// Summaries made with different knowledge bases, engines or as-of dates.
    pub fn merge(parts: &[Summary]) -> Result<Summary, String> {
        let Some(first) = parts.first() else { return Err("nothing to merge".into()) };
        let mut out =
            Summary { shards: Vec::new(), accounting: Accounting::default(), ..first.clone() };
        out.patients = 0;
        out.deceased = 0;
        out.patients_with_rls = 0;
        out.with_secondary_cause = 0;
        out.rls_with_secondary_cause = 0;
        out.classification.clear();
        out.rls_never_tested.clear();
        out.rls_aggravating_drugs.clear();
        out.rows_written = 0;
        out.seconds = 0.0;
        for c in out.causes.values_mut() {
            *c = CauseCount { name: c.name.clone(), kind: c.kind.clone(), ..CauseCount::default() };
        }
        for p in parts {
            if p.kb_version != first.kb_version
                || p.engine_version != first.engine_version
                || p.as_of != first.as_of
            {
                return Err(format!(
                    "summaries differ in knowledge base, engine or as-of ({} {} {} vs {} {} {})",
                    p.kb_version,
                    p.engine_version,
                    p.as_of,
                    first.kb_version,
                    first.engine_version,
                    first.as_of
                ));
            }
            for sh in &p.shards {
                if out.shards.contains(sh) {
                    return Err(format!("shard {sh} given twice"));
                }
                out.shards.push(sh.clone());
            }
            out.patients += p.patients;
            out.deceased += p.deceased;
            out.patients_with_rls += p.patients_with_rls;
            out.with_secondary_cause += p.with_secondary_cause;
            out.rls_with_secondary_cause += p.rls_with_secondary_cause;
            out.rows_written += p.rows_written;
            out.seconds += p.seconds;
            add_all(&mut out.classification, &p.classification);
            add_all(&mut out.rls_never_tested, &p.rls_never_tested);
            add_all(&mut out.rls_aggravating_drugs, &p.rls_aggravating_drugs);
            for (id, c) in &p.causes {
                let e = out.causes.entry(id.clone()).or_insert_with(|| CauseCount {
                    name: c.name.clone(),
                    kind: c.kind.clone(),
                    ..CauseCount::default()
                });
                e.present += c.present;
                e.possible += c.possible;
                e.present_in_rls += c.present_in_rls;
            }
            out.accounting.merge(&p.accounting);
        }
        out.shards.sort();
        // Every shard reads every line; count the lines once.
        if parts.len() > 1 {
            out.files = first.files;
            out.bytes = first.bytes;
        }
        Ok(out)
    }
}

fn add_all(into: &mut BTreeMap<String, u64>, from: &BTreeMap<String, u64>) {
    for (k, v) in from {
        *into.entry(k.clone()).or_default() += v;
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

fn bars(title: &str, items: &[(String, u64)], total: u64) -> String {
    let max = items.iter().map(|(_, v)| *v).max().unwrap_or(0).max(1);
    let row_h = 26;
    let h = row_h * items.len().max(1) + 10;
    let mut svg = format!(
        "<figure><figcaption>{}</figcaption><svg role=\"img\" aria-label=\"{}\" viewBox=\"0 0 760 {h}\" width=\"100%\">",
        esc(title),
        esc(title)
    );
    for (i, (label, v)) in items.iter().enumerate() {
        let y = i * row_h + 4;
        let w = (*v as f64 / max as f64 * 420.0).round();
        let pct = if total > 0 {
            format!(" ({:.1} %)", *v as f64 * 100.0 / total as f64)
        } else {
            String::new()
        };
        svg.push_str(&format!(
            "<text x=\"0\" y=\"{}\" font-size=\"13\">{}</text><rect x=\"300\" y=\"{y}\" width=\"{w}\" height=\"18\" fill=\"#2f5d8a\"/><text x=\"{}\" y=\"{}\" font-size=\"13\">{v}{pct}</text>",
            y + 14,
            esc(label),
            306.0 + w,
            y + 14
        ));
    }
    if items.is_empty() {
        svg.push_str("<text x=\"0\" y=\"18\" font-size=\"13\">none</text>");
    }
    svg.push_str("</svg></figure>");
    svg
}

/// The summary as a self-contained HTML page (inline CSS and SVG; no external assets).
#[must_use]
pub fn render_html(s: &Summary) -> String {
    let mut causes: Vec<(String, u64)> =
        s.causes.values().filter(|c| c.present > 0).map(|c| (c.name.clone(), c.present)).collect();
    causes.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let secondary: Vec<(String, u64)> = {
        let mut v: Vec<(String, u64)> = s
            .causes
            .values()
            .filter(|c| c.kind == "secondary-cause" && c.present_in_rls > 0)
            .map(|c| (c.name.clone(), c.present_in_rls))
            .collect();
        v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        v
    };
    let gaps: Vec<(String, u64)> =
        s.rls_never_tested.iter().map(|(k, v)| (format!("never tested: {k}"), *v)).collect();
    let mut drugs: Vec<(String, u64)> =
        s.rls_aggravating_drugs.iter().map(|(k, v)| (k.clone(), *v)).collect();
    drugs.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let headline = [
        ("patients screened".to_owned(), s.patients),
        ("with RLS recorded".to_owned(), s.patients_with_rls),
        ("RLS with a secondary cause present".to_owned(), s.rls_with_secondary_cause),
        ("any patient with a secondary cause present".to_owned(), s.with_secondary_cause),
    ];
    let acc = &s.accounting;
    let mut skipped = String::new();
    for (k, v) in &acc.skipped {
        skipped.push_str(&format!("<li>skipped, {}: {v}</li>", esc(k)));
    }
    let mut malformed = String::new();
    for (k, v) in &acc.malformed_kinds {
        let samples = acc.malformed_samples.get(k).map(|x| x.join(", ")).unwrap_or_default();
        malformed.push_str(&format!(
            "<li>malformed, {}: {v} (e.g. {})</li>",
            esc(k),
            esc(&samples)
        ));
    }
    format!(
        r#"<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>restless screen summary</title>
<style>body{{font-family:system-ui,sans-serif;max-width:820px;margin:2rem auto;padding:0 1rem;color:#1b1b1b}}
h1{{font-size:1.5rem}}h2{{font-size:1.15rem;margin-top:2rem}}figure{{margin:1rem 0}}figcaption{{font-weight:600;margin-bottom:.3rem}}
.k{{display:grid;grid-template-columns:repeat(auto-fit,minmax(170px,1fr));gap:.6rem}}.k div{{border:1px solid #c8d3de;border-radius:6px;padding:.6rem}}
.k b{{display:block;font-size:1.6rem;color:#2f5d8a}}small,.note{{color:#4a4a4a}}@media print{{body{{margin:0}}}}</style></head>
<body><h1>Restless legs: population screen</h1>
<p class="note">As of {as_of}; knowledge base {kb}; engine {engine}; {files} file(s), {mb:.1} MB, {lines} lines{shards}.</p>
<section class="k">{cards}</section>
<h2>Secondary causes among patients with RLS</h2>{sec}
<h2>Work-up gaps among patients with RLS</h2>{gaps}
<h2>Aggravating drugs among patients with RLS, by class</h2>{drugs}
<h2>Every cause present, all patients</h2>{all}
<h2>Accounting: every line read</h2><ul><li>used: {used}</li><li>irrelevant (not parsed): {irr}</li>{skipped}<li>orphaned (no patient): {orph}</li><li>malformed: {mal}</li>{malformed}</ul>
<p class="note">{disc}</p></body></html>
"#,
        as_of = esc(&s.as_of),
        kb = esc(&s.kb_version),
        engine = esc(&s.engine_version),
        files = s.files,
        mb = s.bytes as f64 / 1e6,
        lines = acc.lines,
        shards = if s.shards.is_empty() {
            String::new()
        } else {
            format!("; shards {}", esc(&s.shards.join(", ")))
        },
        cards = headline
            .iter()
            .map(|(k, v)| format!("<div><b>{v}</b>{}</div>", esc(k)))
            .collect::<String>(),
        sec = bars("Patients with RLS and the cause present", &secondary, s.patients_with_rls),
        gaps = bars("Patients with RLS who never had the test", &gaps, s.patients_with_rls),
        drugs = bars("Patients with RLS on a drug of the class", &drugs, s.patients_with_rls),
        all = bars("Patients with the cause present", &causes, s.patients),
        used = acc.used,
        irr = acc.irrelevant,
        orph = acc.orphaned,
        mal = acc.malformed,
        disc = esc(&s.disclaimer),
    )
}
