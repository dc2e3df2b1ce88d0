//! The REST API through the router, without a socket.

use axum::body::Body;
use axum::extract::Request;
use axum::http::header;
use restless_report::Report;

use crate::common::{AS_OF, Harness, as_of, example, kb};

#[tokio::test]
async fn assess_returns_exactly_the_cli_json_report() {
    let h = Harness::new();
    let text = example("iron-deficiency.json");
    let r = h.post(&format!("/v1/assess?as_of={AS_OF}"), text.clone()).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.content_type(), "application/json");
    assert_eq!(r.headers[header::CACHE_CONTROL], "no-store");
    let kb = kb();
    let ingested = restless_ingest::read(&text, &kb, as_of()).unwrap();
    let a = restless_engine::assess(&kb, &ingested.record, as_of());
    let mut expected = Vec::new();
    restless_report::json::v1::write(
        &Report { assessment: &a, kb: &kb, warnings: &ingested.warnings },
        &mut expected,
    )
    .unwrap();
    assert_eq!(r.body, expected);
    let v = r.json();
    assert_eq!(v["report_version"], 1);
    assert_eq!(v["classification"]["kind"], "secondary");
}

#[tokio::test]
async fn assess_reads_fhir_bundles_and_defaults_the_date() {
    let h = Harness::new();
    let bundle = crate::common::bundle(&[
        crate::common::patient(),
        crate::common::rls_condition(),
        crate::common::ferritin("obs-1", 20.0, "2026-10-01"),
    ]);
    let r = h.post_json("/v1/assess", &bundle).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let v = r.json();
    // The harness fixes "today" to AS_OF.
    assert_eq!(v["as_of"], AS_OF);
    let iron =
        v["findings"].as_array().unwrap().iter().find(|f| f["cause"] == "iron-deficiency").unwrap();
    assert_eq!(iron["status"], "present");
    let sources: Vec<&str> = iron["evidence"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["source"].as_str().unwrap())
        .collect();
    assert!(sources.iter().any(|s| s.starts_with("Observation/obs-1")), "{sources:?}");
}

#[tokio::test]
async fn assess_gives_html_to_browsers_with_everything_escaped() {
    let h = Harness::new();
    let req = Request::post("/v1/assess?as_of=2026-11-27")
        .header(header::ACCEPT, "text/html,application/xhtml+xml,*/*;q=0.8")
        .body(Body::from(
            r#"{"medications": ["<script>alert(1)</script> Paxil 20 mg"], "medications_complete": true}"#,
        ))
        .unwrap();
    let r = h.send(req).await;
    assert_eq!(r.status, 200);
    assert!(r.content_type().starts_with("text/html"));
    assert_eq!(r.headers[header::VARY], "accept");
    assert_eq!(r.headers[header::CACHE_CONTROL], "no-store");
    let csp = r.headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
    assert!(csp.starts_with("default-src 'none'") && !csp.contains("script-src"), "{csp}");
    let html = r.text();
    // The web page's report, as one self-contained document.
    assert!(html.starts_with("<!doctype html>"));
    assert!(html.ends_with("</html>\n"));
    assert!(html.contains("<h1>Your restless legs report</h1>"));
    assert!(html.contains("<h3>Serotonergic antidepressant (SSRI, SNRI or tricyclic)</h3>"));
    assert!(html.contains("Do not stop or change a medicine on your own."));
    assert!(!html.contains("<script"), "unescaped input, or a script, in HTML");
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt; Paxil 20 mg"));
    // Nothing to load: the style sheet is inline.
    assert!(html.contains("<style>"));
    for loads in ["<link", "<img", "<iframe", " src=", "url("] {
        assert!(!html.contains(loads), "{loads} in a self-contained page");
    }
    // The disclaimer, also on paper.
    let disclaimer = format!("<strong>Not medical advice.</strong> {}", kb().disclaimer());
    assert!(html.contains(&disclaimer));
}

#[tokio::test]
async fn assess_errors_are_problem_json_with_the_place_at_fault() {
    let h = Harness::new();
    let r = h.post("/v1/assess", r#"{"labs": [{"name": "ferritin", "value": "low"}]}"#).await;
    let p = r.problem(422, "invalid-input");
    assert_eq!(p["errors"][0]["pointer"], "#/labs/0/value");
    assert!(p["errors"][0]["detail"].as_str().unwrap().starts_with("expected"));

    let r = h.post("/v1/assess", "{\n  \"labs\": [\n").await;
    let p = r.problem(400, "invalid-json");
    assert_eq!(p["line"], 3);
    assert!(p["column"].is_number());

    let p = h.post("/v1/assess", "   ").await.problem(400, "bad-request");
    assert!(p["detail"].as_str().unwrap().contains("empty"));

    let p = h.post("/v1/assess?as_of=27/11/2026", "{}").await.problem(400, "bad-request");
    assert_eq!(p["errors"][0]["parameter"], "as_of");

    let p = h.post("/v1/assess", "[1, 2]").await.problem(422, "invalid-input");
    assert_eq!(p["errors"][0]["pointer"], "#");

    let r = h.post("/v1/assess", vec![0xff_u8, 0xfe, 0x00]).await;
    r.problem(400, "bad-request");

    // Wrong method on a known route.
    let r = h.get("/v1/assess").await;
    assert_eq!(r.status, 405);
}

#[tokio::test]
async fn causes_list_and_entries_in_json_and_html() {
    let h = Harness::new();
    let r = h.get("/v1/causes").await;
    assert_eq!(r.status, 200);
    let v = r.json();
    let causes = v["causes"].as_array().unwrap();
    assert_eq!(causes.len(), kb().causes().len());
    let iron = causes.iter().find(|c| c["id"] == "iron-deficiency").unwrap();
    assert_eq!(iron["kind"], "secondary-cause");
    assert_eq!(iron["url"], "https://rls.example.org/v1/causes/iron-deficiency");

    let v = h.get("/v1/causes/iron-deficiency").await.json();
    assert_eq!(v["id"], "iron-deficiency");
    for k in ["name", "summary", "evidence", "advice", "reviewed", "strength"] {
        assert!(v[k].as_str().is_some_and(|s| !s.is_empty()), "{k}");
    }
    assert!(v["detection"][0].as_str().unwrap().starts_with("present when"));
    assert!(v["references"][0]["citation"].as_str().is_some_and(|s| !s.is_empty()));

    let req = Request::get("/v1/causes/iron-deficiency")
        .header(header::ACCEPT, "text/html")
        .body(Body::empty())
        .unwrap();
    let r = h.send(req).await;
    assert!(r.content_type().starts_with("text/html"));
    assert!(r.text().contains("<h1>Iron deficiency"));

    let p = h.get("/v1/causes/no-such-cause").await.problem(404, "not-found");
    assert!(p["detail"].as_str().unwrap().contains("no-such-cause"));
    h.get("/nowhere").await.problem(404, "not-found");
}

#[tokio::test]
async fn probes_answer_and_readiness_follows_the_database_and_shutdown() {
    let h = Harness::new();
    let v = h.get("/healthz").await.json();
    assert_eq!(v["status"], "ok");
    assert_eq!(v["kb_version"], kb().version());
    let r = h.get("/readyz").await;
    assert_eq!(r.status, 200);
    assert_eq!(r.json()["status"], "ready");
    h.state.start_draining();
    let r = h.get("/readyz").await;
    assert_eq!(r.status, 503);
    assert_eq!(r.json()["reason"], "shutting down");
    let h = Harness::new();
    h.state.db().close().await.unwrap();
    assert_eq!(h.get("/readyz").await.status, 503);
    assert_eq!(h.get("/healthz").await.status, 200);
}

#[tokio::test]
async fn metrics_count_requests_by_route_template() {
    let h = Harness::new();
    h.get("/v1/causes/iron-deficiency").await;
    h.get("/v1/causes/iron-deficiency").await;
    h.get("/v1/causes/nope").await;
    h.get("/no/such/path/pat-123").await;
    let r = h.get("/metrics").await;
    assert_eq!(r.status, 200);
    assert!(r.content_type().starts_with("text/plain; version=0.0.4"));
    let m = r.text();
    assert!(m.contains(
        "restless_http_requests_total{route=\"/v1/causes/{id}\",method=\"GET\",status=\"200\"} 2"
    ), "{m}");
    assert!(m.contains(
        "restless_http_requests_total{route=\"/v1/causes/{id}\",method=\"GET\",status=\"404\"} 1"
    ));
    assert!(m.contains("route=\"unmatched\""));
    assert!(m.contains("# TYPE restless_http_request_duration_seconds histogram"));
    assert!(m.contains(
        "restless_http_request_duration_seconds_count{route=\"/v1/causes/{id}\",method=\"GET\"} 3"
    ));
    // Paths as sent never become labels.
    assert!(!m.contains("iron-deficiency") && !m.contains("pat-123"));
}

/// A request the client gives up on (its future dropped before the answer) leaves the gauge of
/// requests in flight; only the `/metrics` request itself is in flight when it renders.
#[tokio::test]
async fn an_abandoned_request_is_no_longer_counted_in_flight() {
    let (fhir, log) =
        crate::common::stub_fhir(vec![crate::common::patient()], std::time::Duration::from_secs(5))
            .await;
    let h = Harness::new();
    let slow = serde_json::json!({"hook": "patient-view", "hookInstance": "1", "fhirServer": fhir,
        "fhirAuthorization": {"access_token": "t", "token_type": "Bearer"},
        "context": {"patientId": crate::common::PATIENT}});
    let req = Request::post("/cds-services/restless-patient-view")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(slow.to_string()))
        .unwrap();
    let mut call = Box::pin(tower::ServiceExt::oneshot(h.app.clone(), req));
    // Started, and waiting for the FHIR server.
    let waiting = async {
        while log.requests.lock().unwrap().is_empty() {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    };
    tokio::select! {
        _ = &mut call => panic!("the call should wait for the slow FHIR server"),
        () = waiting => {}
    }
    let during = h.get("/metrics").await.text();
    assert!(during.contains("restless_http_requests_in_flight 2"), "{during}");
    drop(call);
    let after = h.get("/metrics").await.text();
    assert!(after.contains("restless_http_requests_in_flight 1"), "{after}");
}

#[tokio::test]
async fn request_ids_are_generated_propagated_and_sanitised() {
    let h = Harness::new();
    let r = h.get("/healthz").await;
    let id = r.headers.get("x-request-id").unwrap().to_str().unwrap().to_owned();
    assert!(uuid::Uuid::parse_str(&id).is_ok());
    let req =
        Request::get("/healthz").header("x-request-id", "abc-123").body(Body::empty()).unwrap();
    assert_eq!(h.send(req).await.headers["x-request-id"], "abc-123");
    let req = Request::get("/healthz")
        .header("x-request-id", "Zebulon Quixote 1961-04-05")
        .body(Body::empty())
        .unwrap();
    let r = h.send(req).await;
    let id = r.headers["x-request-id"].to_str().unwrap();
    assert!(uuid::Uuid::parse_str(id).is_ok(), "{id}");
}

#[tokio::test]
async fn openapi_is_generated_and_documents_every_route() {
    let h = Harness::new();
    let v = h.get("/openapi.json").await.json();
    assert!(v["openapi"].as_str().unwrap().starts_with("3."));
    assert_eq!(v["servers"][0]["url"], "https://rls.example.org");
    let paths = v["paths"].as_object().unwrap();
    for (p, method) in [
        ("/v1/assess", "post"),
        ("/v1/causes", "get"),
        ("/v1/causes/{id}", "get"),
        ("/healthz", "get"),
        ("/readyz", "get"),
        ("/metrics", "get"),
        ("/openapi.json", "get"),
        ("/cds-services", "get"),
        ("/cds-services/{id}", "post"),
        ("/cds-services/{id}/feedback", "post"),
    ] {
        assert!(paths.get(p).and_then(|x| x.get(method)).is_some(), "{method} {p} undocumented");
    }
    assert_eq!(paths.len(), 10, "a route is documented that does not exist, or the reverse");
    let schemas = v["components"]["schemas"].as_object().unwrap();
    for s in ["Problem", "Card", "Discovery", "CauseDetail"] {
        assert!(schemas.contains_key(s), "schema {s}");
    }
    assert_eq!(v["components"]["securitySchemes"]["jwt"]["scheme"], "bearer");
    assert!(
        v["paths"]["/v1/assess"]["post"]["responses"]["422"]["content"]["application/problem+json"]
            .is_object()
    );
}
