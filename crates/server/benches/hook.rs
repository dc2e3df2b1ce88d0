//! One CDS Hooks call through the router, without a socket: where a request's time goes
//! inside the server, apart from HTTP and the load generator (`bench/serve` measures those).
//!
//! `cargo bench -p restless-server --bench hook`. Groups: the typical patient-view body of
//! `bench/serve.d` (Patient, 10 Conditions, 30 Observations, 8 MedicationRequests) and the
//! minimal one; for each, the whole call and, as references, parsing the body into a
//! `serde_json::Value` and scanning it without building anything.

use std::path::PathBuf;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use criterion::{Criterion, criterion_group, criterion_main};
use restless_kb::Kb;
use restless_server::{AppState, ServeConfig, router};
use tower::ServiceExt;

/// The allocator of the `restless` binary, so that a call costs here what it costs there.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn body(name: &str) -> Vec<u8> {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../bench/serve.d").join(name);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temporary folder");
    let mut cfg = ServeConfig { data_dir: dir.path().to_path_buf(), ..ServeConfig::default() };
    cfg.auth.insecure_no_auth = true;
    cfg.as_of = "2026-11-27".parse().ok();
    let state =
        AppState::new(cfg, Kb::embedded().expect("embedded knowledge base")).expect("server state");
    let app = router(state);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    for (group, file) in [
        ("patient-view-typical", "patient-view.json"),
        ("patient-view-minimal", "patient-view-minimal.json"),
    ] {
        let bytes = body(file);
        let mut g = c.benchmark_group(group);
        g.bench_function("call", |b| {
            b.iter(|| {
                let req = Request::builder()
                    .method(Method::POST)
                    .uri("/cds-services/restless-patient-view")
                    .header(header::CONTENT_TYPE, "application/json")
                    .body(Body::from(bytes.clone()))
                    .expect("request");
                let res = rt.block_on(app.clone().oneshot(req)).expect("response");
                assert_eq!(res.status(), StatusCode::OK);
                let out =
                    rt.block_on(axum::body::to_bytes(res.into_body(), usize::MAX)).expect("body");
                assert!(out.len() > 20);
            });
        });
        g.bench_function("parse-to-value", |b| {
            b.iter(|| serde_json::from_slice::<serde_json::Value>(&bytes).expect("JSON"));
        });
        g.bench_function("scan-only", |b| {
            b.iter(|| serde_json::from_slice::<serde::de::IgnoredAny>(&bytes).expect("JSON"));
        });
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
