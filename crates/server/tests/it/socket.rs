//! End to end over a real socket on 127.0.0.1, and graceful shutdown.

use std::time::Duration;

use restless_server::{AppState, db::DB_FILE, serve_on};
use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn serves_over_a_socket_and_shuts_down_gracefully() {
    let (fhir, log) = stub_fhir(vec![patient(), rls_condition()], Duration::from_millis(500)).await;
    let dir = tempfile::tempdir().unwrap();
    let state = AppState::new(config(dir.path()), kb()).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(serve_on(listener, state, async move {
        let _ = stopped.await;
    }));
    let client = reqwest::Client::new();

    let r = client.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let r = client
        .post(format!("{base}/v1/assess?as_of=2026-11-27"))
        .body(example("iron-deficiency.json"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<serde_json::Value>().await.unwrap()["report_version"], 1);
    let r = client.get(format!("{base}/cds-services")).send().await.unwrap();
    assert_eq!(r.status(), 200);

    // A request in flight when the shutdown starts still gets its answer.
    let slow = json!({"hook": "patient-view", "hookInstance": "1", "fhirServer": fhir,
        "fhirAuthorization": {"access_token": "t", "token_type": "Bearer"},
        "context": {"patientId": PATIENT}});
    let in_flight = {
        let (client, url) = (client.clone(), format!("{base}/cds-services/restless-patient-view"));
        tokio::spawn(async move { client.post(url).json(&slow).send().await })
    };
    for _ in 0..200 {
        if !log.requests.lock().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    stop.send(()).unwrap();
    let r = in_flight.await.unwrap().unwrap();
    assert_eq!(r.status(), 200);
    assert!(r.json::<serde_json::Value>().await.unwrap()["cards"].is_array());
    tokio::time::timeout(Duration::from_secs(5), server).await.unwrap().unwrap().unwrap();

    // Stopped: no new connections; the database was checkpointed and closed.
    assert!(client.get(format!("{base}/healthz")).send().await.is_err());
    assert!(dir.path().join(DB_FILE).exists());
    let wal = dir.path().join(format!("{DB_FILE}-wal"));
    assert!(!wal.exists() || std::fs::metadata(&wal).unwrap().len() == 0);
}
