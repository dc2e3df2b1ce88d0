//! Shared test machinery: a state on a temporary data folder, one-shot requests through the
//! router, patient data builders, a stub FHIR server on 127.0.0.1, and a strict checker of CDS
//! Hooks 2.0 responses.

#![allow(dead_code, unreachable_pub)]

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::response::IntoResponse;
use restless_facts::Date;
use restless_kb::Kb;
use restless_server::{AppState, ServeConfig, router};
use serde_json::{Value, json};
use tower::ServiceExt;

pub const AS_OF: &str = "2026-11-27";

pub fn as_of() -> Date {
    AS_OF.parse().unwrap()
}

pub fn kb() -> Kb {
    static KB: OnceLock<Kb> = OnceLock::new();
    KB.get_or_init(|| Kb::embedded().unwrap()).clone()
}

/// A test configuration: no auth, fixed date, FHIR calls only to loopback.
pub fn config(dir: &Path) -> ServeConfig {
    let mut cfg = ServeConfig { data_dir: dir.to_path_buf(), ..ServeConfig::default() };
    cfg.auth.insecure_no_auth = true;
    cfg.as_of = Some(as_of());
    cfg.public_url = Some("https://rls.example.org".to_owned());
    cfg.fhir_servers = vec!["http://127.0.0.1".to_owned()];
    cfg.limits.fhir_timeout = Duration::from_secs(5);
    cfg
}

pub struct Harness {
    pub state: AppState,
    pub app: Router,
    pub dir: tempfile::TempDir,
}

impl Harness {
    pub fn new() -> Harness {
        Harness::with(|_| {})
    }

    pub fn with(f: impl FnOnce(&mut ServeConfig)) -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let mut cfg = config(dir.path());
        f(&mut cfg);
        let state = AppState::new(cfg, kb()).unwrap();
        let app = router(state.clone());
        Harness { state, app, dir }
    }

    pub async fn send(&self, req: Request) -> Reply {
        send(&self.app, req).await
    }

    pub async fn get(&self, uri: &str) -> Reply {
        self.send(Request::get(uri).body(Body::empty()).unwrap()).await
    }

    pub async fn post(&self, uri: &str, body: impl Into<Body>) -> Reply {
        self.send(
            Request::post(uri)
                .header(header::CONTENT_TYPE, "application/json")
                .body(body.into())
                .unwrap(),
        )
        .await
    }

    pub async fn post_json(&self, uri: &str, body: &Value) -> Reply {
        self.post(uri, serde_json::to_vec(body).unwrap()).await
    }
}

pub struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    pub fn text(&self) -> String {
        String::from_utf8(self.body.clone()).unwrap()
    }

    pub fn content_type(&self) -> &str {
        self.headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("")
    }

    /// Asserts a problem+json error with this status and code; returns the document.
    pub fn problem(&self, status: u16, code: &str) -> Value {
        assert_eq!(self.status.as_u16(), status, "{}", String::from_utf8_lossy(&self.body));
        assert_eq!(self.content_type(), "application/problem+json");
        let p = self.json();
        assert_eq!(p["status"], status);
        assert_eq!(p["code"], code, "{p}");
        assert!(p["title"].as_str().is_some_and(|t| !t.is_empty()));
        assert!(p["detail"].as_str().is_some_and(|t| !t.is_empty()));
        p
    }
}

pub async fn send(app: &Router, req: Request) -> Reply {
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let headers = resp.headers().clone();
    let body = axum::body::to_bytes(resp.into_body(), usize::MAX).await.unwrap().to_vec();
    Reply { status, headers, body }
}

pub fn example(name: &str) -> String {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../examples").join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

pub fn corpus(folder: &str, file: &str) -> Value {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/corpora")
        .join(folder)
        .join(file);
    let text = std::fs::read_to_string(&p)
        .unwrap_or_else(|e| panic!("the shared corpora are missing: {} ({e})", p.display()));
    serde_json::from_str(&text).unwrap()
}

// ---------------------------------------------------------------------------------------------
// Patient data.

pub const PATIENT: &str = "pat-Zq90";

pub fn patient() -> Value {
    json!({"resourceType": "Patient", "id": PATIENT, "gender": "female",
           "birthDate": "1961-04-05", "name": [{"family": "Quixote", "given": ["Zebulon"]}]})
}

pub fn rls_condition() -> Value {
    json!({"resourceType": "Condition", "id": "cond-Zq92",
           "subject": {"reference": format!("Patient/{PATIENT}")},
           "clinicalStatus": {"coding": [{"system": "http://terminology.hl7.org/CodeSystem/condition-clinical", "code": "active"}]},
           "code": {"coding": [{"system": "http://hl7.org/fhir/sid/icd-10-cm", "code": "G25.81",
                                "display": "Restless legs syndrome"}], "text": "Willis-Ekbom Zq97"}})
}

pub fn ferritin(id: &str, value: f64, date: &str) -> Value {
    json!({"resourceType": "Observation", "id": id, "status": "final",
           "subject": {"reference": format!("Patient/{PATIENT}")},
           "code": {"coding": [{"system": "http://loinc.org", "code": "2276-4", "display": "Ferritin"}]},
           "effectiveDateTime": date,
           "valueQuantity": {"value": value, "unit": "ng/mL", "system": "http://unitsofmeasure.org", "code": "ng/mL"}})
}

pub fn med_request(id: &str, status: &str, text: &str) -> Value {
    json!({"resourceType": "MedicationRequest", "id": id, "status": status, "intent": "order",
           "subject": {"reference": format!("Patient/{PATIENT}")},
           "medicationCodeableConcept": {"text": text},
           "dosageInstruction": [{"text": "one tablet daily"}]})
}

pub fn bundle(resources: &[Value]) -> Value {
    json!({"resourceType": "Bundle", "type": "searchset",
           "entry": resources.iter().map(|r| json!({"resource": r})).collect::<Vec<_>>()})
}

/// Prefetch for the discovery keys.
pub fn prefetch(conditions: &[Value], observations: &[Value], meds: &[Value]) -> Value {
    json!({
        "patient": patient(),
        "conditions": bundle(conditions),
        "medicationRequests": bundle(meds),
        "medicationStatements": bundle(&[]),
        "observations": bundle(observations),
        "familyHistory": bundle(&[]),
    })
}

pub fn hook_request(hook: &str, context: Value, prefetch: Option<Value>) -> Value {
    let mut r = json!({"hook": hook, "hookInstance": "d1577c69-dfbe-44ad-ba6d-3e05e953b2ea",
                       "context": context});
    if let Some(p) = prefetch {
        r["prefetch"] = p;
    }
    r
}

pub fn draft_orders(resources: &[Value]) -> Value {
    json!({"resourceType": "Bundle", "type": "collection",
           "entry": resources.iter().map(|r| json!({"resource": r})).collect::<Vec<_>>()})
}

// ---------------------------------------------------------------------------------------------
// Strict CDS Hooks 2.0 response checks.

fn is_uuid(s: &str) -> bool {
    uuid::Uuid::parse_str(s).is_ok()
}

fn is_absolute(s: &str) -> bool {
    s.starts_with("https://") || s.starts_with("http://")
}

/// No `null`, empty string, empty array or empty object anywhere.
fn no_empty(v: &Value, path: &str) {
    match v {
        Value::Null => panic!("{path}: null"),
        Value::String(s) => assert!(!s.is_empty(), "{path}: empty string"),
        Value::Array(a) => {
            assert!(!a.is_empty(), "{path}: empty array");
            for (i, x) in a.iter().enumerate() {
                no_empty(x, &format!("{path}/{i}"));
            }
        }
        Value::Object(o) => {
            assert!(!o.is_empty(), "{path}: empty object");
            for (k, x) in o {
                no_empty(x, &format!("{path}/{k}"));
            }
        }
        _ => {}
    }
}

fn only_keys(v: &Value, allowed: &[&str], path: &str) {
    let o = v.as_object().unwrap_or_else(|| panic!("{path}: not an object"));
    for k in o.keys() {
        assert!(allowed.contains(&k.as_str()), "{path}: unexpected field `{k}`");
    }
}

fn coding(v: &Value, path: &str) {
    only_keys(v, &["system", "code", "display"], path);
    assert!(v["system"].as_str().is_some_and(is_absolute), "{path}/system");
    assert!(v["code"].as_str().is_some(), "{path}/code");
}

/// Checks a hook response against CDS Hooks 2.0, strictly; returns the cards.
pub fn check_response(v: &Value) -> Vec<Value> {
    only_keys(v, &["cards", "systemActions"], "");
    let cards = v["cards"].as_array().expect("cards must be an array").clone();
    for (i, c) in cards.iter().enumerate() {
        let p = format!("/cards/{i}");
        no_empty(c, &p);
        only_keys(
            c,
            &[
                "uuid",
                "summary",
                "detail",
                "indicator",
                "source",
                "suggestions",
                "selectionBehavior",
                "overrideReasons",
                "links",
            ],
            &p,
        );
        assert!(c["uuid"].as_str().is_some_and(is_uuid), "{p}/uuid");
        let summary = c["summary"].as_str().expect("summary");
        assert!(
            summary.chars().count() < 140,
            "{p}/summary: {} characters",
            summary.chars().count()
        );
        assert!(
            matches!(c["indicator"].as_str(), Some("info" | "warning" | "critical")),
            "{p}/indicator"
        );
        let source = &c["source"];
        only_keys(source, &["label", "url", "icon", "topic"], &format!("{p}/source"));
        assert!(source["label"].as_str().is_some(), "{p}/source/label");
        if let Some(u) = source.get("url") {
            assert!(u.as_str().is_some_and(is_absolute), "{p}/source/url");
        }
        let topic = source.get("topic").expect("restless always sets source.topic");
        coding(topic, &format!("{p}/source/topic"));
        if let Some(d) = c.get("detail") {
            assert!(d.is_string(), "{p}/detail");
        }
        let suggestions = c.get("suggestions").and_then(Value::as_array);
        match suggestions {
            Some(list) => {
                assert!(
                    matches!(c["selectionBehavior"].as_str(), Some("at-most-one" | "any")),
                    "{p}/selectionBehavior is required with suggestions"
                );
                for (j, s) in list.iter().enumerate() {
                    let sp = format!("{p}/suggestions/{j}");
                    only_keys(s, &["label", "uuid", "isRecommended", "actions"], &sp);
                    assert!(s["label"].as_str().is_some(), "{sp}/label");
                    assert!(s["uuid"].as_str().is_some_and(is_uuid), "{sp}/uuid");
                    for (k, a) in s["actions"].as_array().expect("actions").iter().enumerate() {
                        let ap = format!("{sp}/actions/{k}");
                        only_keys(a, &["type", "description", "resource", "resourceId"], &ap);
                        assert!(a["description"].as_str().is_some(), "{ap}/description");
                        match a["type"].as_str() {
                            Some("create" | "update") => {
                                assert!(a["resource"]["resourceType"].is_string(), "{ap}/resource");
                                assert!(a.get("resourceId").is_none(), "{ap}/resourceId");
                            }
                            Some("delete") => {
                                let id = a["resourceId"].as_str().expect("resourceId");
                                assert!(id.split_once('/').is_some(), "{ap}/resourceId: {id}");
                                assert!(a.get("resource").is_none(), "{ap}/resource");
                            }
                            other => panic!("{ap}/type: {other:?}"),
                        }
                    }
                }
            }
            None => assert!(
                c.get("selectionBehavior").is_none(),
                "{p}/selectionBehavior without suggestions"
            ),
        }
        if let Some(reasons) = c.get("overrideReasons") {
            for (j, r) in reasons.as_array().expect("overrideReasons").iter().enumerate() {
                coding(r, &format!("{p}/overrideReasons/{j}"));
            }
        }
        if let Some(links) = c.get("links") {
            for (j, l) in links.as_array().expect("links").iter().enumerate() {
                let lp = format!("{p}/links/{j}");
                only_keys(l, &["label", "url", "type", "appContext", "autolaunchable"], &lp);
                assert!(l["label"].as_str().is_some(), "{lp}/label");
                assert!(l["url"].as_str().is_some_and(is_absolute), "{lp}/url");
                assert!(matches!(l["type"].as_str(), Some("absolute" | "smart")), "{lp}/type");
            }
        }
    }
    cards
}

// ---------------------------------------------------------------------------------------------
// A stub FHIR server on 127.0.0.1.

/// What the stub received: (path and query, Authorization header).
pub type Received = Vec<(String, Option<String>)>;

#[derive(Clone, Default)]
pub struct StubLog {
    pub requests: Arc<Mutex<Received>>,
}

#[derive(Clone)]
struct Stub {
    log: StubLog,
    delay: Duration,
    base: Arc<OnceLock<String>>,
    resources: Arc<Vec<Value>>,
}

async fn stub_handler(State(stub): State<Stub>, req: Request) -> axum::response::Response {
    let uri = req.uri().to_string();
    let auth =
        req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok()).map(str::to_owned);
    stub.log.requests.lock().unwrap().push((uri.clone(), auth));
    if !stub.delay.is_zero() {
        tokio::time::sleep(stub.delay).await;
    }
    let path = req.uri().path().trim_start_matches("/fhir/").to_owned();
    let base = stub.base.get().cloned().unwrap_or_default();
    let of = |t: &str| -> Vec<Value> {
        stub.resources.iter().filter(|r| r["resourceType"] == t).cloned().collect()
    };
    let body = if let Some(id) = path.strip_prefix("Patient/") {
        match of("Patient").into_iter().find(|p| p["id"] == id) {
            Some(p) => p,
            None => return StatusCode::NOT_FOUND.into_response(),
        }
    } else if path == "page2" {
        bundle(&of("MedicationRequest"))
    } else if path == "Observation" {
        // Two pages: Observations, then the MedicationRequests (a page link must be followed).
        let mut b = bundle(&of("Observation"));
        b["link"] = json!([{"relation": "next", "url": format!("{base}/page2")}]);
        b
    } else if path == "MedicationRequest" {
        bundle(&[])
    } else {
        bundle(&of(&path))
    };
    ([(header::CONTENT_TYPE, "application/fhir+json")], serde_json::to_vec(&body).unwrap())
        .into_response()
}

/// Starts a stub FHIR server serving `resources` by type; returns its base URL and its log.
pub async fn stub_fhir(resources: Vec<Value>, delay: Duration) -> (String, StubLog) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/fhir", listener.local_addr().unwrap());
    let stub = Stub {
        log: StubLog::default(),
        delay,
        base: Arc::new(OnceLock::new()),
        resources: Arc::new(resources),
    };
    let _ = stub.base.set(base.clone());
    let log = stub.log.clone();
    let app = Router::new().fallback(stub_handler).with_state(stub);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (base, log)
}

pub fn method_request(method: Method, uri: &str) -> axum::http::request::Builder {
    Request::builder().method(method).uri(uri)
}
