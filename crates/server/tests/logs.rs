//! Privacy of the logs: every route is exercised (with a stub FHIR server, feedback, errors)
//! while all logs at DEBUG level and above are captured; none may carry a name, identifier,
//! code, value, token or comment from the requests. Its own binary: it installs the
//! process-wide log subscriber.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::http::header;
use serde_json::json;

use common::*;

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Everything that came from a patient's record or a client's secret in the requests below.
const SECRETS: &[&str] = &[
    "Zq9", // every id and text marker: pat-Zq90, obs-Zq91, cond-Zq92, mr-Zq93, tok-Zq94, ...
    "Zebulon",
    "Quixote",
    "1961-04-05",
    "21.37",
    "Paxil",
    "paroxetine",
    "G25.81",
    "2276-4",
];

#[tokio::test]
async fn no_patient_data_or_secret_reaches_the_logs() {
    let capture = Capture::default();
    let writer = capture.clone();
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::new("debug"))
        .with_ansi(false)
        .event_format(restless_server::LogLine)
        .with_writer(move || writer.clone())
        .init();

    let mut resources = vec![patient(), rls_condition(), ferritin("obs-Zq91", 21.37, "2026-11-01")];
    resources.push(med_request("mr-Zq93", "active", "Paxil 20 mg tablet"));
    let (fhir, _) = stub_fhir(resources, Duration::ZERO).await;
    let h = Harness::with(|c| c.limits.rest_body_bytes = 2048);

    // REST.
    for uri in [
        "/healthz",
        "/readyz",
        "/openapi.json",
        "/v1/causes",
        "/v1/causes/iron-deficiency",
        "/v1/causes/pat-Zq90",
    ] {
        h.get(uri).await;
    }
    let questionnaire = json!({"person": {"birth_date": "1961-04-05", "sex": "female"},
        "medications": ["Paxil 20 mg tablet"], "labs": [{"name": "ferritin", "value": 21.37, "unit": "ng/mL", "date": "2026-10-02"}]});
    assert_eq!(h.post_json("/v1/assess?as_of=2026-11-27", &questionnaire).await.status, 200);
    h.post("/v1/assess", r#"{"labs": [{"name": "ferritin", "value": "Zq9-21.37"}]}"#)
        .await
        .problem(422, "invalid-input");
    h.post("/v1/assess", r#"{"person": {"birth_date": "1961-04-05"#)
        .await
        .problem(400, "invalid-json");
    h.post("/v1/assess?as_of=Zq9", "{}").await.problem(400, "bad-request");
    let html = Request::post("/v1/assess")
        .header(header::ACCEPT, "text/html")
        .body(Body::from(serde_json::to_vec(&bundle(&[patient(), rls_condition()])).unwrap()))
        .unwrap();
    assert_eq!(h.send(html).await.status, 200);
    let tagged = Request::get("/healthz")
        .header("x-request-id", "Zebulon Quixote")
        .body(Body::empty())
        .unwrap();
    h.send(tagged).await;

    // CDS Hooks.
    h.get("/cds-services").await;
    let pv = "/cds-services/restless-patient-view";
    let prefetched = hook_request(
        "patient-view",
        json!({"patientId": PATIENT, "userId": "Practitioner/Zq98"}),
        Some(prefetch(
            &[rls_condition()],
            &[ferritin("obs-Zq91", 21.37, "2026-11-01")],
            &[med_request("mr-Zq93", "active", "Paxil 20 mg tablet")],
        )),
    );
    let r = h.post_json(pv, &prefetched).await;
    assert!(!check_response(&r.json()).is_empty());
    let fetched = json!({"hook": "Zq9-hook", "context": {"patientId": PATIENT, "selections": 7},
        "fhirServer": fhir, "fhirAuthorization": {"access_token": "tok-Zq94", "token_type": "Bearer"},
        "prefetch": {"patient": [patient()], "weird": "Zq9"}});
    let r = h.post_json(pv, &fetched).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let draft = json!({"resourceType": "MedicationRequest", "id": "draft-Zq96", "status": "draft", "intent": "order",
        "medicationCodeableConcept": {"text": "Paxil 20 mg tablet"}});
    let sign = hook_request(
        "order-sign",
        json!({"patientId": PATIENT, "draftOrders": draft_orders(std::slice::from_ref(&draft))}),
        Some(prefetch(&[rls_condition()], &[], &[])),
    );
    let r = h.post_json("/cds-services/restless-order-sign", &sign).await;
    let card = check_response(&r.json())[0]["uuid"].as_str().unwrap().to_owned();
    let select = hook_request(
        "order-select",
        json!({"patientId": PATIENT, "selections": ["MedicationRequest/draft-Zq96"], "draftOrders": draft_orders(&[draft])}),
        Some(prefetch(&[rls_condition()], &[], &[])),
    );
    h.post_json("/cds-services/restless-order-select", &select).await;
    let fb = json!({"feedback": [{"card": card, "outcome": "overridden",
        "overrideReason": {"reason": {"code": "no-rls", "system": "https://rls.example.org/x"}, "userComment": "comment-Zq95 Quixote"},
        "outcomeTimestamp": "2026-11-27T10:00:00Z"}]});
    assert_eq!(h.post_json("/cds-services/restless-order-sign/feedback", &fb).await.status, 200);
    h.post_json(
        "/cds-services/restless-order-sign/feedback",
        &json!({"feedback": [{"card": "Zq9"}]}),
    )
    .await
    .problem(400, "bad-request");
    h.post("/cds-services/restless-patient-view", "{\"Zq9\": ").await.problem(400, "invalid-json");
    h.post_json("/cds-services/pat-Zq90", &prefetched).await.problem(404, "not-found");
    h.get("/metrics").await;

    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    for s in SECRETS {
        let line = logs.lines().find(|l| l.contains(s));
        assert!(line.is_none(), "`{s}` is in the logs:\n{}", line.unwrap_or_default());
    }
    // And the logs do say what happened.
    assert!(logs.contains("route=/v1/assess") && logs.contains("status=422"), "{logs}");
    assert!(logs.contains("route=/cds-services/{id}") && logs.contains("status=200"));
    assert!(logs.contains("request_id="));
    // A CDS call's one line says which service answered and with how many cards.
    assert!(
        logs.lines().any(|l| l.contains("service=restless-patient-view")
            && l.contains("cards=")
            && l.contains("status=200")),
        "{logs}"
    );
    // A warning logged while a request is worked on names that request.
    let lenient =
        logs.lines().find(|l| l.contains("CDS request read leniently")).unwrap_or_default();
    let id = lenient.split("request_id=").nth(1).and_then(|s| s.split(' ').next());
    assert!(id.is_some_and(|id| id.len() == 36), "{lenient}");
    // ... and the access line of the same request says the same id.
    assert!(
        logs.lines()
            .any(|l| l.contains("response")
                && l.contains(&format!("request_id={}", id.unwrap_or("?")))),
        "{logs}"
    );
}
