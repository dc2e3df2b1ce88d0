//! `assess` on a 5 MB FHIR Bundle, against the physical reference of merely parsing the same
//! JSON. Run through `bench/assess`, which prints the ratio.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::path::PathBuf;

use criterion::{Criterion, criterion_group, criterion_main};
use serde_json::{Value, json};

/// The allocator of the `restless` binary (`src/main.rs`).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// A one-person Bundle of at least 5 MB, made from the largest Synthea bundle of the shared
/// corpora by repeating its Observations (with new ids) and its MedicationRequests.
fn five_mb_bundle() -> String {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/corpora/smart-generated-sample-data-r4-synthea");
    let mut best: Option<(usize, PathBuf)> = None;
    for e in std::fs::read_dir(&dir).expect("the shared corpora are beside the repository") {
        let p = e.unwrap().path();
        let n = std::fs::metadata(&p).unwrap().len() as usize;
        if p.file_name().unwrap() != "MANIFEST.json" && best.as_ref().is_none_or(|(m, _)| n > *m) {
            best = Some((n, p));
        }
    }
    let (_, path) = best.unwrap();
    let mut bundle: Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let entries = bundle["entry"].as_array().unwrap().clone();
    let repeatable: Vec<Value> = entries
        .iter()
        .filter(|e| {
            matches!(
                e["resource"]["resourceType"].as_str(),
                Some("Observation" | "MedicationRequest" | "Condition")
            )
        })
        .cloned()
        .collect();
    let mut out = entries;
    let mut round = 0;
    while serde_json::to_string(&json!({"entry": out})).unwrap().len() < 5 * 1024 * 1024 {
        round += 1;
        for e in &repeatable {
            let mut e = e.clone();
            let id = format!("{}-copy{round}", e["resource"]["id"].as_str().unwrap_or("x"));
            e["resource"]["id"] = json!(id);
            e["fullUrl"] = json!(format!("urn:uuid:{id}"));
            out.push(e);
        }
    }
    bundle["entry"] = Value::Array(out);
    serde_json::to_string(&bundle).unwrap()
}

fn bench(c: &mut Criterion) {
    let kb = restless_kb::Kb::embedded().unwrap();
    let text = five_mb_bundle();
    let as_of = "2026-11-27".parse().unwrap();
    eprintln!("bundle size: {:.1} MB", text.len() as f64 / 1e6);
    let mut g = c.benchmark_group("assess-5mb");
    g.sample_size(20);
    g.bench_function("parse-json-only", |b| {
        b.iter(|| black_box(serde_json::from_str::<Value>(black_box(&text)).unwrap()))
    });
    g.bench_function("assess", |b| {
        b.iter(|| {
            let ingested = restless_ingest::read(black_box(&text), &kb, as_of).unwrap();
            let a = restless_engine::assess(&kb, &ingested.record, as_of);
            let report =
                restless_report::Report { assessment: &a, kb: &kb, warnings: &ingested.warnings };
            let mut out = Vec::new();
            restless_report::json::v1::write(&report, &mut out).unwrap();
            black_box(out)
        });
    });
    g.finish();

    // The engine alone (no reading, no report), on the typical CDS patient-view prefetch of
    // `bench/serve` read as one Bundle, with and without explanations.
    let hook: Value = serde_json::from_str(
        &std::fs::read_to_string(
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../bench/serve.d/patient-view.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let mut entries = Vec::new();
    for v in hook["prefetch"].as_object().unwrap().values() {
        match v["entry"].as_array() {
            Some(list) => entries.extend(list.iter().cloned()),
            None => entries.push(json!({ "resource": v })),
        }
    }
    let bundle = json!({ "resourceType": "Bundle", "type": "collection", "entry": entries });
    let record = restless_ingest::read(&bundle.to_string(), &kb, as_of).unwrap().record;
    let mut g = c.benchmark_group("engine");
    let screen = restless_engine::AssessOptions::screen();
    for (name, opts) in [
        ("typical-prefetch-explained", restless_engine::AssessOptions::default()),
        ("typical-prefetch-cards", restless_engine::AssessOptions::cards()),
        ("typical-prefetch-statuses", restless_engine::AssessOptions { follow_up: true, ..screen }),
        ("typical-prefetch-screen", screen),
    ] {
        g.bench_function(name, |b| {
            b.iter(|| black_box(restless_engine::assess_with(&kb, black_box(&record), as_of, opts)))
        });
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
