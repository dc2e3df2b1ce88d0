//! Body limits, load shedding and timeouts.

use std::time::Duration;

use serde_json::json;

use crate::common::*;

#[tokio::test]
async fn bodies_over_the_limit_are_refused_with_413() {
    let h = Harness::with(|c| {
        c.limits.rest_body_bytes = 1024;
        c.limits.cds_body_bytes = 4096;
    });
    let big = format!("{{\"pad\": \"{}\"}}", "x".repeat(5000));
    let p = h.post("/v1/assess", big.clone()).await.problem(413, "body-too-large");
    assert!(p["detail"].as_str().unwrap().contains("4096"));
    h.post("/cds-services/restless-patient-view", big.clone()).await.problem(413, "body-too-large");
    h.post("/cds-services/restless-patient-view/feedback", big)
        .await
        .problem(413, "body-too-large");
    // Under the limit is fine.
    let r = h.post("/v1/assess", format!("{{\"medications\": [\"{}\"]}}", "a".repeat(2000))).await;
    assert_eq!(r.status, 200, "{}", r.text());
}

#[tokio::test]
async fn the_default_limits_accept_a_large_bundle_and_refuse_over_5_mb() {
    let h = Harness::new();
    let mut resources = vec![patient(), rls_condition()];
    for i in 0..4000 {
        resources.push(ferritin(&format!("obs-{i}"), 100.0, "2026-10-01"));
    }
    let body = serde_json::to_vec(&bundle(&resources)).unwrap();
    assert!(body.len() > 1024 * 1024, "{}", body.len());
    let r = h.post("/v1/assess", body).await;
    assert_eq!(r.status, 200);
    let huge = vec![b' '; 5 * 1024 * 1024 + 1];
    h.post("/v1/assess", huge).await.problem(413, "body-too-large");
}

#[tokio::test]
async fn over_the_concurrency_limit_requests_are_shed_with_503_and_probes_still_answer() {
    // One request at a time; the first one waits on a slow FHIR server.
    let (base, log) = stub_fhir(vec![patient(), rls_condition()], Duration::from_millis(800)).await;
    let h = Harness::with(|c| c.limits.max_concurrency = 1);
    let slow = json!({"hook": "patient-view", "hookInstance": "1", "fhirServer": base,
        "fhirAuthorization": {"access_token": "t", "token_type": "Bearer"},
        "context": {"patientId": PATIENT}});
    let app = h.app.clone();
    let first = tokio::spawn(async move {
        send(
            &app,
            axum::extract::Request::post("/cds-services/restless-patient-view")
                .body(axum::body::Body::from(serde_json::to_vec(&slow).unwrap()))
                .unwrap(),
        )
        .await
    });
    // Wait until the first request is inside (it has called the FHIR server).
    for _ in 0..200 {
        if !log.requests.lock().unwrap().is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(!log.requests.lock().unwrap().is_empty(), "the slow request never started");
    let r = h.get("/v1/causes").await;
    r.problem(503, "overloaded");
    assert_eq!(r.headers["retry-after"], "1");
    assert_eq!(h.get("/healthz").await.status, 200);
    assert_eq!(h.get("/readyz").await.status, 200);
    let first = first.await.unwrap();
    assert_eq!(first.status, 200, "{}", first.text());
    // Capacity is back.
    assert_eq!(h.get("/v1/causes").await.status, 200);
    let m = h.get("/metrics").await.text();
    assert!(
        m.contains(
            "restless_http_requests_total{route=\"/v1/causes\",method=\"GET\",status=\"503\"} 1"
        ),
        "{m}"
    );
}

#[tokio::test]
async fn a_request_over_the_time_limit_is_answered_503() {
    let (base, _) = stub_fhir(vec![patient(), rls_condition()], Duration::from_secs(3)).await;
    let h = Harness::with(|c| c.limits.request_timeout = Duration::from_millis(300));
    let slow = json!({"hook": "patient-view", "hookInstance": "1", "fhirServer": base,
        "fhirAuthorization": {"access_token": "t", "token_type": "Bearer"},
        "context": {"patientId": PATIENT}});
    let started = std::time::Instant::now();
    h.post_json("/cds-services/restless-patient-view", &slow).await.problem(503, "timeout");
    assert!(started.elapsed() < Duration::from_secs(2));
}

/// Calls that only need the CPU are counted while they wait for it: more ready calls than the
/// limit means the excess is shed at once, not queued unseen (one thread here, so without
/// the handler's yield each call would finish within its first poll and none would be shed).
#[tokio::test]
async fn ready_cpu_bound_calls_beyond_the_limit_are_shed() {
    let h = Harness::with(|c| c.limits.max_concurrency = 2);
    let body = serde_json::to_vec(&hook_request(
        "patient-view",
        json!({"patientId": PATIENT}),
        Some(prefetch(&[rls_condition()], &[ferritin("f1", 20.0, "2026-10-01")], &[])),
    ))
    .unwrap();
    let calls: Vec<_> = (0..6)
        .map(|_| {
            let app = h.app.clone();
            let req = axum::extract::Request::post("/cds-services/restless-patient-view")
                .header("content-type", "application/json")
                .body(axum::body::Body::from(body.clone()))
                .unwrap();
            tokio::spawn(async move { send(&app, req).await.status })
        })
        .collect();
    let mut statuses = Vec::new();
    for c in calls {
        statuses.push(c.await.unwrap());
    }
    statuses.sort_unstable();
    assert_eq!(statuses, [200, 200, 503, 503, 503, 503]);
    // Capacity is back once they are done.
    assert_eq!(h.post("/cds-services/restless-patient-view", body).await.status, 200);
}
