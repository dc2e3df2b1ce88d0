//! Unit tests: determinism, file layout, ground truth shape, proportions, and the code tables
//! against the knowledge base.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::Path;

use restless_kb::Kb;
use serde_json::Value;

use super::*;
use crate::catalog::Catalog;
use crate::tables;

fn kb() -> Kb {
    Kb::embedded().expect("embedded knowledge base")
}

fn as_of() -> NaiveDate {
    NaiveDate::from_ymd_opt(2026, 11, 27).expect("date")
}

fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut out = BTreeMap::new();
    for e in fs::read_dir(dir).expect("dir") {
        let e = e.expect("entry");
        out.insert(e.file_name().to_string_lossy().into_owned(), fs::read(e.path()).expect("read"));
    }
    out
}

/// Every resource line of the export, with the type its file is named for.
fn resource_lines(dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (name, bytes) in files(dir) {
        if !name.ends_with(".ndjson") || name == "ground-truth.jsonl" {
            continue;
        }
        let kind = name.split('.').next().unwrap_or("").to_owned();
        for line in String::from_utf8(bytes).expect("utf-8").lines() {
            out.push((kind.clone(), line.to_owned()));
        }
    }
    out
}

#[test]
fn same_seed_same_bytes_other_seed_other_bytes() {
    let kb = kb();
    let (a, b, c) =
        (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let opts = Options::new(25, 42, as_of());
    let sa = generate(a.path(), &opts, &kb).unwrap();
    let sb = generate(b.path(), &opts, &kb).unwrap();
    assert_eq!(sa, sb);
    assert_eq!(files(a.path()), files(b.path()));
    generate(c.path(), &Options { seed: 43, ..opts }, &kb).unwrap();
    assert_ne!(
        files(a.path())["Observation.000.ndjson"],
        files(c.path())["Observation.000.ndjson"]
    );
}

#[test]
fn ground_truth_lines_parse_and_name_every_patient() {
    let kb = kb();
    let dir = tempfile::tempdir().unwrap();
    let s = generate(dir.path(), &Options::new(60, 7, as_of()), &kb).unwrap();
    assert_eq!(s.patients, 60);
    let text = fs::read_to_string(dir.path().join("ground-truth.jsonl")).unwrap();
    let patients: BTreeSet<String> = resource_lines(dir.path())
        .into_iter()
        .filter(|(k, _)| k == "Patient")
        .map(|(_, l)| {
            let v: Value = serde_json::from_str(&l).unwrap();
            v["id"].as_str().unwrap().to_owned()
        })
        .collect();
    let mut seen = BTreeSet::new();
    let mut rls = 0;
    let mut statuses = BTreeSet::new();
    for line in text.lines() {
        let v: Value = serde_json::from_str(line).unwrap();
        let obj = v.as_object().unwrap();
        assert_eq!(obj.keys().cloned().collect::<Vec<_>>(), ["patient", "planted", "rls"]);
        let id = v["patient"].as_str().unwrap();
        assert!(patients.contains(id), "{id} has no Patient line");
        assert!(seen.insert(id.to_owned()), "{id} twice");
        rls += usize::from(v["rls"].as_bool().unwrap());
        for (cause, status) in v["planted"].as_object().unwrap() {
            assert!(kb.cause(cause).is_some(), "unknown cause {cause}");
            let status = status.as_str().unwrap();
            assert!(["present", "possible", "absent", "unknown"].contains(&status));
            statuses.insert((cause.clone(), status.to_owned()));
        }
    }
    assert_eq!(seen.len(), 60);
    assert!((8..=32).contains(&rls), "restless legs in {rls} of 60");
    for cause in ["iron-deficiency", "esrd-dialysis", "ckd-non-dialysis", "diabetes", "pregnancy"] {
        assert!(statuses.iter().any(|(c, _)| c == cause), "{cause} never recorded");
    }
    assert!(statuses.contains(&("iron-deficiency".into(), "present".into())));
    assert!(statuses.contains(&("iron-deficiency".into(), "absent".into())));
    assert!(statuses.contains(&("pregnancy".into(), "absent".into())));
    let readme = fs::read_to_string(dir.path().join("README.txt")).unwrap();
    assert!(readme.contains("GROUND TRUTH") && readme.contains("iron-deficiency"));
}

#[test]
fn every_line_is_a_resource_of_its_file_and_belongs_to_a_patient() {
    let kb = kb();
    let dir = tempfile::tempdir().unwrap();
    generate(dir.path(), &Options::new(40, 11, as_of()), &kb).unwrap();
    let lines = resource_lines(dir.path());
    let mut patients = BTreeSet::new();
    for (kind, line) in &lines {
        let v: Value = serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert_eq!(v["resourceType"].as_str(), Some(kind.as_str()));
        assert!(v["id"].as_str().is_some_and(|id| id.len() == 36));
        if kind == "Patient" {
            patients.insert(v["id"].as_str().unwrap().to_owned());
        }
    }
    let (mut relative, mut urn) = (0, 0);
    for (kind, line) in &lines {
        if kind == "Patient" || kind == "Organization" || kind == "Practitioner" {
            continue;
        }
        let v: Value = serde_json::from_str(line).unwrap();
        let r = v["subject"]["reference"].as_str().or(v["patient"]["reference"].as_str());
        let r = r.unwrap_or_else(|| panic!("no patient reference: {line}"));
        let id = if let Some(id) = r.strip_prefix("Patient/") {
            relative += 1;
            id
        } else if let Some(id) = r.strip_prefix("urn:uuid:") {
            urn += 1;
            id
        } else {
            panic!("odd reference {r}")
        };
        assert!(patients.contains(id));
    }
    assert!(relative > urn && urn > 0, "Patient/ {relative}, urn:uuid: {urn}");
}

#[test]
fn observations_are_most_lines_and_irrelevant_bytes_most_bytes() {
    let kb = kb();
    let dir = tempfile::tempdir().unwrap();
    let s = generate(dir.path(), &Options::new(80, 3, as_of()), &kb).unwrap();
    let t = kb.terminology();
    let mut by_kind: BTreeMap<String, (u64, u64)> = BTreeMap::new();
    let (mut relevant_bytes, mut total_bytes, mut lines) = (0u64, 0u64, 0u64);
    for (kind, line) in resource_lines(dir.path()) {
        let bytes = line.len() as u64 + 1;
        total_bytes += bytes;
        lines += 1;
        let e = by_kind.entry(kind.clone()).or_default();
        e.0 += 1;
        e.1 += bytes;
        // Relevant: what restless reads (demographics, diagnoses, medications, and observations
        // whose code is an analyte or a coded answer). Everything else is irrelevant.
        let relevant = match kind.as_str() {
            "Patient" | "Condition" | "MedicationRequest" => true,
            "Observation" => {
                let v: Value = serde_json::from_str(&line).unwrap();
                let code = v["code"]["coding"][0]["code"].as_str().unwrap_or("");
                t.analyte_by_loinc(code).is_some() || t.coded_answer(code, &[]).is_some()
            }
            _ => false,
        };
        if relevant {
            relevant_bytes += bytes;
        }
    }
    assert_eq!(lines, s.lines);
    assert_eq!(total_bytes, s.bytes);
    let obs = by_kind["Observation"].0;
    assert!(obs * 2 > lines, "Observation lines {obs} of {lines}");
    let irrelevant = total_bytes - relevant_bytes;
    assert!(irrelevant * 10 > total_bytes * 6, "irrelevant bytes {irrelevant} of {total_bytes}");
    for kind in [
        "Encounter",
        "Procedure",
        "Immunization",
        "Claim",
        "ExplanationOfBenefit",
        "DiagnosticReport",
        "MedicationRequest",
        "Condition",
    ] {
        assert!(by_kind.get(kind).is_some_and(|k| k.0 > 0), "no {kind}");
    }
}

#[test]
fn files_are_split_by_line_count() {
    let kb = kb();
    let dir = tempfile::tempdir().unwrap();
    generate_with(dir.path(), &Options::new(10, 5, as_of()), &kb, 500).unwrap();
    let names: Vec<String> = files(dir.path()).into_keys().collect();
    assert!(names.contains(&"Observation.000.ndjson".to_owned()));
    assert!(names.contains(&"Observation.001.ndjson".to_owned()), "{names:?}");
    for (name, bytes) in files(dir.path()) {
        if name.ends_with(".ndjson") && name != "ground-truth.jsonl" {
            assert!(bytes.iter().filter(|b| **b == b'\n').count() <= 500, "{name}");
        }
    }
    // A second export into the same folder replaces the first one's files.
    generate_with(dir.path(), &Options::new(2, 5, as_of()), &kb, 100_000).unwrap();
    assert!(!files(dir.path()).contains_key("Observation.001.ndjson"));
}

#[test]
fn gzip_holds_the_same_lines() {
    let kb = kb();
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let plain = generate(a.path(), &Options::new(8, 9, as_of()), &kb).unwrap();
    let gz =
        generate(b.path(), &Options { gzip: true, ..Options::new(8, 9, as_of()) }, &kb).unwrap();
    assert_eq!(plain, gz);
    for (name, bytes) in files(a.path()) {
        if !name.ends_with(".ndjson") || name == "ground-truth.jsonl" {
            continue;
        }
        let packed = fs::read(b.path().join(format!("{name}.gz"))).unwrap();
        let mut unpacked = Vec::new();
        flate2::read::GzDecoder::new(packed.as_slice()).read_to_end(&mut unpacked).unwrap();
        assert_eq!(unpacked, bytes, "{name}");
    }
}

#[test]
fn malformed_lines_only_when_asked() {
    let kb = kb();
    let dir = tempfile::tempdir().unwrap();
    let opts = Options { malformed_every: Some(50), ..Options::new(10, 5, as_of()) };
    let s = generate(dir.path(), &opts, &kb).unwrap();
    let lines = resource_lines(dir.path());
    let bad =
        lines.iter().filter(|(_, l)| serde_json::from_str::<Value>(l).is_err()).count() as u64;
    assert!(bad > 0);
    assert_eq!(bad, (s.lines - bad) / 50);
    // The ground truth is the same as without them.
    let clean = tempfile::tempdir().unwrap();
    generate(clean.path(), &Options::new(10, 5, as_of()), &kb).unwrap();
    assert_eq!(
        fs::read(dir.path().join("ground-truth.jsonl")).unwrap(),
        fs::read(clean.path().join("ground-truth.jsonl")).unwrap()
    );
}

#[test]
fn odd_but_valid_lines_occur() {
    let kb = kb();
    let dir = tempfile::tempdir().unwrap();
    generate(dir.path(), &Options::new(40, 21, as_of()), &kb).unwrap();
    let lines = resource_lines(dir.path());
    assert!(lines.iter().any(|(_, l)| l.starts_with(r#"{"id":"#)), "no line with id first");
    assert!(
        lines
            .iter()
            .any(|(k, l)| k == "MedicationRequest" && l.contains(r##""reference":"#med0""##))
    );
    assert!(lines.iter().any(|(k, l)| k == "Observation" && l.contains(r#""ug/L""#)));
}

#[test]
fn planted_codes_mean_what_the_ground_truth_says() {
    let kb = kb();
    let cat = Catalog::new(&kb);
    let tested: Vec<&str> = cat.tested_sets.iter().map(String::as_str).collect();
    for choice in [
        &tables::RLS,
        &tables::DIABETES,
        &tables::ESRD,
        &tables::CKD_3_4,
        &tables::PREGNANCY,
        &tables::IRON_DEFICIENCY,
    ] {
        for dx in choice.icd.iter().chain(choice.snomed) {
            let read = cat.dx_sets(dx);
            let read_tested: BTreeSet<&str> =
                read.iter().map(String::as_str).filter(|s| tested.contains(s)).collect();
            let planted: BTreeSet<&str> = dx.sets.iter().copied().collect();
            assert_eq!(read_tested, planted, "{} {}", dx.code, dx.display);
        }
        let by_text: Vec<&str> = kb.terminology().sets_for_text(choice.text);
        assert!(by_text.iter().any(|s| choice.icd[0].sets.contains(s)), "{}", choice.text);
    }
    let neuro = cat.dx_sets(&tables::DIABETIC_NEUROPATHY);
    assert!(neuro.iter().any(|s| s == "diabetes"));
    assert!(cat.dx_sets(&tables::G25_8).iter().all(|s| !tested.contains(&s.as_str())));
}

#[test]
fn planted_drugs_are_read_as_their_ingredients() {
    let kb = kb();
    let cat = Catalog::new(&kb);
    let t = kb.terminology();
    let mut all: Vec<tables::Rx> =
        tables::PLANTED_RX.iter().flat_map(|(_, d)| d.iter().copied()).collect();
    all.push(tables::FERROUS_SULFATE);
    all.extend(tables::ANTIDIABETIC.iter().copied());
    for rx in all {
        let want: BTreeSet<&str> = rx.ingredients.iter().copied().collect();
        for text in [rx.display, rx.written] {
            let got = t.match_medication_text(text).ingredients;
            let got: BTreeSet<&str> = got.iter().map(String::as_str).collect();
            assert_eq!(got, want, "{text}");
        }
        for i in rx.ingredients {
            assert!(t.drug(i).is_some(), "{i} not in the drug dictionary");
        }
    }
    // Every drug cause can be planted.
    for (class, _) in tables::PLANTED_RX {
        assert!(cat.planted.iter().any(|p| p.class == *class), "{class} cannot be planted");
    }
}

#[test]
fn noise_stays_clear_of_the_tested_sets_and_classes() {
    let kb = kb();
    let cat = Catalog::new(&kb);
    assert!(cat.dropped.is_empty(), "noise the knowledge base reads as a cause: {:?}", cat.dropped);
    assert_eq!(cat.targets.len(), catalog::TARGET_CAUSES.len());
    // Past pregnancies are read as pregnancy: that is why they are always resolved.
    let past = cat.noise_dx.iter().find(|n| n.dx.snomed == "72892002").unwrap();
    assert_eq!(past.tested_sets, ["pregnancy"]);
}

#[test]
fn lab_codes_and_units_are_understood() {
    let kb = kb();
    let cat = Catalog::new(&kb);
    let mut labs: Vec<&tables::Lab> = vec![
        &tables::GLUCOSE,
        &tables::UREA,
        &tables::CALCIUM,
        &tables::SODIUM,
        &tables::POTASSIUM,
        &tables::CHLORIDE,
        &tables::CO2,
        &tables::CHOLESTEROL,
        &tables::TRIGLYCERIDES,
        &tables::LDL,
        &tables::HDL,
        &tables::WBC,
        &tables::RBC,
        &tables::HB,
        &tables::HB_G_L,
        &tables::HCT,
        &tables::MCV,
        &tables::MCH,
        &tables::MCHC,
        &tables::RDW,
        &tables::PLATELETS,
        &tables::PDW,
        &tables::MPV,
        &tables::HBA1C_PCT,
        &tables::HBA1C_IFCC,
        &tables::MICROALBUMIN,
        &tables::TSAT,
        &tables::HEIGHT,
        &tables::WEIGHT,
        &tables::BMI,
        &tables::BMI_PERCENTILE,
        &tables::HEAD,
        &tables::HEART_RATE,
        &tables::RESP_RATE,
        &tables::O2_SAT,
        &tables::TEMPERATURE,
        &tables::PAIN,
    ];
    labs.extend(tables::CREATININE.iter());
    labs.extend(tables::EGFR.iter());
    labs.extend(tables::FERRITIN.iter());
    labs.extend(tables::IRON.iter());
    labs.extend(tables::TIBC.iter());
    for lab in labs {
        // A code that restless reads must come in a unit it accepts, or the value is dropped.
        if let Some(a) = cat.analyte(lab) {
            assert!(a.accepts(lab.unit), "{} {} in {}", lab.loinc, a.id, lab.unit);
        }
    }
    for (lab, id) in [
        (&tables::FERRITIN[1], "ferritin"),
        (&tables::TSAT, "transferrin-saturation"),
        (&tables::EGFR[1], "egfr"),
        (&tables::CREATININE[2], "creatinine"),
        (&tables::HBA1C_IFCC, "hba1c"),
        (&tables::IRON[1], "serum-iron"),
        (&tables::TIBC[1], "tibc"),
    ] {
        assert_eq!(cat.analyte(lab).map(|a| a.id.as_str()), Some(id), "{}", lab.loinc);
    }
    // Synthea's creatinine code is not one restless reads: it is noise like the rest.
    assert!(cat.analyte(&tables::CREATININE[0]).is_none());
}

#[test]
fn table_strings_need_no_escaping() {
    let bad = |s: &str| s.contains('"') || s.contains('\\') || s.chars().any(char::is_control);
    for dx in tables::NOISE_DX {
        assert!(!bad(dx.display), "{}", dx.display);
    }
    for rx in tables::NOISE_RX {
        assert!(!bad(rx.display));
    }
    for (_, drugs) in tables::PLANTED_RX {
        for rx in *drugs {
            assert!(!bad(rx.display) && !bad(rx.rxcui));
        }
    }
    for s in tables::GIVEN_F.iter().chain(tables::GIVEN_M).chain(tables::FAMILY) {
        assert!(!bad(s));
    }
}
