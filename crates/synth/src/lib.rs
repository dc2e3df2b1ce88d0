//! Synthetic FHIR Bulk Data exports for screening benchmarks and tests.
//!
//! [`generate`] writes an export shaped like a Synthea Bulk export (one numbered NDJSON file
//! series per resource type; most bytes are vital signs, routine labs, encounters, procedures
//! and claims that restless does not use) with causes of restless legs planted in a share of
//! the patients, and writes their ground truth alongside:
//!
//! - `Patient.000.ndjson`, `Observation.000.ndjson`, `Observation.001.ndjson`, ... (a new file
//!   every [`LINES_PER_FILE`] lines; `.ndjson.gz` with [`Options::gzip`]);
//! - `ground-truth.jsonl`: one line per patient (named `.jsonl` so that `restless screen DIR`
//!   does not take it for part of the export),
//!   `{"patient":"<id>","planted":{"iron-deficiency":"present",...},"rls":true}`;
//! - `README.txt`: what was planted and how the ground truth was decided.
//!
//! The ground truth is the engine's verdict on the facts the generator planted (values in
//! canonical units, diagnoses with the sets they were planted for, medications with their
//! ingredients, status and period), not on what any reader makes of the files; a reader that
//! loses or misreads a resource disagrees with it. Only causes whose every input the generator
//! controls are recorded. The same options and knowledge base give the same bytes.

mod catalog;
mod json;
mod patient;
mod rng;
mod sink;
mod tables;
mod truth;
mod world;

use std::collections::BTreeMap;
use std::fs::{self, File};
use std::io::{self, BufWriter, Write};
use std::path::Path;

use chrono::NaiveDate;
use restless_kb::Kb;

use crate::json::w;
use crate::sink::{KINDS, Sinks};

/// Lines per output file before the next file of the series is started.
pub const LINES_PER_FILE: u64 = 100_000;

/// What to generate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Options {
    /// Number of patients.
    pub patients: usize,
    /// Seed: the same seed (and options and knowledge base) gives the same bytes.
    pub seed: u64,
    /// The date the export is assessed on: labs are dated up to it, "recent" means the 12
    /// months before it.
    pub as_of: NaiveDate,
    /// Write `.ndjson.gz` instead of `.ndjson`.
    pub gzip: bool,
    /// For tests: after every N-th line, a malformed line (a resource cut off mid-JSON). The
    /// ground truth does not depend on them. `None` (the default) writes none.
    pub malformed_every: Option<u64>,
}

impl Options {
    /// Plain NDJSON, no malformed lines.
    #[must_use]
    pub fn new(patients: usize, seed: u64, as_of: NaiveDate) -> Options {
        Options { patients, seed, as_of, gzip: false, malformed_every: None }
    }
}

/// What was written.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Summary {
    /// Patients written.
    pub patients: usize,
    /// Lines in the resource files (malformed ones included; the ground truth not).
    pub lines: u64,
    /// Bytes of the resource files before compression.
    pub bytes: u64,
}

/// Writes an export of `opts.patients` patients into `dir` (created if needed; files of an
/// earlier export there are replaced, other files are left alone).
///
/// Memory use does not grow with the number of patients: each patient is planned, written and
/// assessed, then dropped.
///
/// # Errors
/// Any error creating or writing the files.
pub fn generate(dir: &Path, opts: &Options, kb: &Kb) -> io::Result<Summary> {
    generate_with(dir, opts, kb, LINES_PER_FILE)
}

pub(crate) fn generate_with(
    dir: &Path,
    opts: &Options,
    kb: &Kb,
    lines_per_file: u64,
) -> io::Result<Summary> {
    fs::create_dir_all(dir)?;
    remove_previous(dir)?;
    let cat = catalog::Catalog::new(kb);
    let world = world::World::new(&cat, opts.as_of, opts.seed);
    let mut sinks = Sinks::new(dir, opts.gzip, lines_per_file, opts.malformed_every);
    let mut buf = String::with_capacity(16 * 1024);
    world.write_directory(&mut sinks, &mut buf)?;
    let mut truth_out =
        BufWriter::with_capacity(64 * 1024, File::create(dir.join("ground-truth.jsonl"))?);
    let mut tracker = truth::Tracker::default();
    let mut tally = Tally::default();
    let mut line = String::with_capacity(1024);
    for i in 0..opts.patients {
        let rng = rng::Rng::new(opts.seed, i as u64);
        let pg = patient::Pg::new(&world, &mut sinks, &mut buf, &mut tracker, rng);
        let t = pg.run()?;
        line.clear();
        w!(line, r#"{{"patient":"{}","planted":{{"#, t.id.as_str());
        for (n, (cause, status)) in t.statuses.iter().enumerate() {
            if n > 0 {
                line.push(',');
            }
            w!(line, r#""{cause}":"{status}""#);
            *tally.status.entry((cause, status)).or_default() += 1;
        }
        w!(line, r#"}},"rls":{}}}"#, t.rls);
        line.push('\n');
        truth_out.write_all(line.as_bytes())?;
        for p in &t.planted {
            *tally.planted.entry(p).or_default() += 1;
        }
        tally.rls += usize::from(t.rls);
    }
    truth_out.flush()?;
    sinks.finish()?;
    let summary = Summary { patients: opts.patients, lines: sinks.lines, bytes: sinks.bytes };
    fs::write(dir.join("README.txt"), readme(opts, &cat, &sinks, &tally, &summary))?;
    Ok(summary)
}

#[derive(Default)]
struct Tally {
    rls: usize,
    planted: BTreeMap<&'static str, usize>,
    status: BTreeMap<(&'static str, &'static str), usize>,
}

/// Removes the files an earlier export would have left: `<Type>.<nnn>.ndjson[.gz]`, the ground
/// truth and the README.
fn remove_previous(dir: &Path) -> io::Result<()> {
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        let ours = name == "ground-truth.jsonl"
            || name == "README.txt"
            || KINDS.iter().any(|k| {
                name.strip_prefix(k.name())
                    .and_then(|rest| rest.strip_prefix('.'))
                    .and_then(|rest| {
                        rest.strip_suffix(".ndjson").or_else(|| rest.strip_suffix(".ndjson.gz"))
                    })
                    .is_some_and(|n| n.len() == 3 && n.bytes().all(|b| b.is_ascii_digit()))
            });
        if ours && entry.file_type()?.is_file() {
            fs::remove_file(entry.path())?;
        }
    }
    Ok(())
}

fn readme(
    opts: &Options,
    cat: &catalog::Catalog<'_>,
    sinks: &Sinks,
    tally: &Tally,
    summary: &Summary,
) -> String {
    let mut s = String::new();
    w!(
        s,
        "Synthetic FHIR R4 Bulk Data export written by restless-synth\n\
         ==============================================================\n\n\
         patients: {}\nseed: {}\nas-of date: {}\nknowledge base: {}\ngzip: {}\nmalformed line every: {}\n\
         resource lines: {} (malformed: {})\nresource bytes (uncompressed): {}\n\n",
        summary.patients,
        opts.seed,
        opts.as_of,
        cat.kb.version(),
        opts.gzip,
        opts.malformed_every.map_or_else(|| "never".to_owned(), |n| n.to_string()),
        summary.lines,
        sinks.malformed,
        summary.bytes,
    );
    s.push_str(
        "FILES\n\
         -----\n\
         <Type>.<nnn>.ndjson   one FHIR resource a line, grouped by type, a new file every 100,000\n\
         \x20                     lines (.ndjson.gz when compressed). Organization and Practitioner\n\
         \x20                     are shared; every other resource belongs to one patient and refers\n\
         \x20                     to it as \"Patient/<id>\" or, for some patients or resources,\n\
         \x20                     \"urn:uuid:<id>\".\n\
         ground-truth.jsonl   one line per patient:\n\
         \x20                     {\"patient\":\"<id>\",\"planted\":{\"<cause id>\":\"<status>\",...},\"rls\":true|false}\n\
         README.txt            this file.\n\n",
    );
    s.push_str("Lines and bytes per resource type:\n");
    for (i, k) in KINDS.iter().enumerate() {
        let pct = if summary.bytes > 0 {
            sinks.bytes_per_kind[i] as f64 * 100.0 / summary.bytes as f64
        } else {
            0.0
        };
        w!(
            s,
            "  {:<22} {:>12} lines {:>15} bytes {:>5.1} %\n",
            k.name(),
            sinks.per_kind[i],
            sinks.bytes_per_kind[i],
            pct
        );
    }
    s.push_str(
        "\nGROUND TRUTH\n\
         ------------\n\
         \"rls\" is true when the patient has a current, confirmed restless legs syndrome diagnosis\n\
         (ICD-10-CM G25.81 and/or SNOMED CT 32914008, or the text only). Entered-in-error and refuted\n\
         restless-legs diagnoses, and the WHO code G25.8 (not restless legs), leave it false.\n\n\
         \"planted\" gives, for every recorded cause, the status restless's engine assigns from the\n\
         facts the generator planted for that patient: each lab value in its canonical unit with its\n\
         date (transferrin saturation worked out from serum iron and TIBC where only those are given;\n\
         eGFR is always reported beside creatinine), each diagnosis with the condition sets it was\n\
         planted for (resolved ones as history; entered-in-error and refuted ones not at all), each\n\
         medication with its ingredients, status and validity period (entered-in-error, draft and\n\
         plan-only orders not at all), coded pregnancy status answers, age and sex. Every patient has\n\
         a problem list and a medication list, so a condition or drug class not recorded counts as\n\
         absent. The causes recorded are those whose every input the generator controls:\n",
    );
    for t in &cat.targets {
        w!(s, "  {t}\n");
    }
    s.push_str(
        "Noise conditions and medications that the knowledge base reads into a condition set or\n\
         drug class one of these causes tests are never written (resolved past pregnancies excepted,\n\
         and they are counted as history).\n",
    );
    if !cat.dropped.is_empty() {
        s.push_str("Noise left out for that reason with this knowledge base:\n");
        for d in &cat.dropped {
            w!(s, "  {d}\n");
        }
    }
    s.push_str(
        "\nWHAT WAS PLANTED\n\
         ----------------\n\
         About 30 % of patients have restless legs; causes are planted more often in them.\n\
         iron: recent low ferritin (ng/mL or ug/L, sometimes '<10'), normal ferritin with low\n\
         transferrin saturation (reported, or from serum iron and TIBC in ug/dL or umol/L), a coded\n\
         iron deficiency, recent normal ferritin and saturation (absent), a low ferritin older than\n\
         12 months only (unknown), recent normal ferritin without saturation (unknown), iron tablets\n\
         with no recent iron studies (possible), a small-cell anaemia without iron studies\n\
         (possible), a low ferritin entered in error (does not count).\n\
         kidneys: end-stage renal disease coded (N18.6, Z99.2, SNOMED 46177005) and/or eGFR < 15,\n\
         often with monthly dialysis; stage 3-4 chronic kidney disease by eGFR 15-59 and sometimes\n\
         coded (N18.3x, N18.4, SNOMED 431857002); everyone else's recent eGFR is 60 or more.\n\
         Creatinine is in mg/dL or umol/L; eGFR under LOINC 33914-3, 98979-8 or 62238-1.\n\
         diabetes: coded (E11.9, E11.65, SNOMED 44054006; some with diabetic neuropathy), by HbA1c\n\
         >= 6.8 % alone (in % or mmol/mol), metformin alone (possible), normal recent HbA1c\n\
         (absent), prediabetes (HbA1c 5.7-6.2 %, absent when recent).\n\
         pregnancy: women 18-45, coded Z33.1 or SNOMED 77386006 with prenatal visits, sometimes a\n\
         pregnancy status observation (LOINC 82810-3); other women sometimes have a recent 'not\n\
         pregnant' observation (absent); resolved past pregnancies do not count; men are absent.\n\
         drugs: RxNorm clinical drugs (codes and names from RxNorm) of the knowledge base's classes,\n\
         written as the clinical drug code, with the ingredient code, as a contained Medication, or\n\
         as free text (brands); about three quarters are current orders (status active, some with a validity\n\
         period), the rest stopped, completed, entered in error, draft, plan-only or expired: those\n\
         do not count.\n\n",
    );
    w!(s, "Patients with restless legs: {}\n\nPlanted (patients):\n", tally.rls);
    for (k, n) in &tally.planted {
        w!(s, "  {k:<32} {n}\n");
    }
    s.push_str("\nGround-truth statuses (patients):\n");
    for ((cause, status), n) in &tally.status {
        w!(s, "  {cause:<40} {status:<9} {n}\n");
    }
    s
}

#[cfg(test)]
mod tests;
