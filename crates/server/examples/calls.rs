//! Runs one kind of work a fixed number of times, for `bench/calls`, which counts the
//! instructions it takes under callgrind (exact and repeatable on a shared machine, where
//! timings are not).
//!
//! `calls MODE BODY N`: MODE is `call` (a CDS Hooks patient-view call through the router,
//! without a socket), or a reference on the same body: `scan` (serde_json validating it without
//! building anything) or `value` (serde_json parsing it into a `Value`).

use std::process::ExitCode;

use axum::body::Body;
use axum::http::{Method, Request, StatusCode, header};
use restless_kb::Kb;
use restless_server::{AppState, ServeConfig, router};
use tower::ServiceExt;

/// The allocator of the `restless` binary, so that a call costs here what it costs there.
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("calls: {e}");
            ExitCode::from(2)
        }
    }
}

fn run() -> Result<(), String> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [mode, file, n] = args.as_slice() else {
        return Err("usage: calls call|scan|value BODY N".to_owned());
    };
    let n: usize = n.parse().map_err(|e| format!("N: {e}"))?;
    let bytes = std::fs::read(file).map_err(|e| format!("{file}: {e}"))?;
    match mode.as_str() {
        "call" => calls(&bytes, n),
        "scan" => {
            for _ in 0..n {
                serde_json::from_slice::<serde::de::IgnoredAny>(&bytes)
                    .map_err(|e| format!("{file}: {e}"))?;
            }
            Ok(())
        }
        "value" => {
            for _ in 0..n {
                serde_json::from_slice::<serde_json::Value>(&bytes)
                    .map_err(|e| format!("{file}: {e}"))?;
            }
            Ok(())
        }
        other => Err(format!("unknown mode {other:?}: call, scan or value")),
    }
}

fn calls(bytes: &[u8], n: usize) -> Result<(), String> {
    let dir = tempfile::tempdir().map_err(|e| format!("temporary folder: {e}"))?;
    let mut cfg = ServeConfig { data_dir: dir.path().to_path_buf(), ..ServeConfig::default() };
    cfg.auth.insecure_no_auth = true;
    cfg.as_of = "2026-11-27".parse().ok();
    let kb =
        Kb::embedded().map_err(|d| format!("embedded knowledge base: {} problems", d.len()))?;
    let app = router(AppState::new(cfg, kb).map_err(|e| e.to_string())?);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("runtime: {e}"))?;
    for _ in 0..n {
        let req = Request::builder()
            .method(Method::POST)
            .uri("/cds-services/restless-patient-view")
            .header(header::CONTENT_TYPE, "application/json")
            .body(Body::from(bytes.to_vec()))
            .map_err(|e| e.to_string())?;
        let res = rt.block_on(app.clone().oneshot(req)).map_err(|e| e.to_string())?;
        if res.status() != StatusCode::OK {
            return Err(format!("the call answered {}", res.status()));
        }
        rt.block_on(axum::body::to_bytes(res.into_body(), usize::MAX))
            .map_err(|e| e.to_string())?;
    }
    Ok(())
}
