//! CDS Hooks: discovery, the services on the specification's examples and on built patients,
//! the FHIR fetch, authentication, CORS and feedback.

use std::time::Duration;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{Method, header};
use restless_server::{AppState, router};
use serde_json::{Value, json};

use crate::common::*;

const PV: &str = "/cds-services/restless-patient-view";
const SELECT: &str = "/cds-services/restless-order-select";
const SIGN: &str = "/cds-services/restless-order-sign";

#[tokio::test]
async fn discovery_lists_three_services_with_the_prefetch_the_rules_need() {
    let h = Harness::new();
    let r = h.get("/cds-services").await;
    assert_eq!(r.status, 200);
    let v = r.json();
    let services = v["services"].as_array().unwrap();
    let hooks: Vec<&str> = services.iter().map(|s| s["hook"].as_str().unwrap()).collect();
    assert_eq!(hooks, ["patient-view", "order-select", "order-sign"]);
    for s in services {
        for k in ["id", "title", "description"] {
            assert!(s[k].as_str().is_some_and(|x| !x.is_empty()), "{k}");
        }
        let p = &s["prefetch"];
        assert_eq!(p["patient"], "Patient/{{context.patientId}}");
        assert_eq!(p["conditions"], "Condition?patient={{context.patientId}}");
        assert!(p["medicationRequests"].as_str().unwrap().contains("status=active"));
        assert!(p["medicationStatements"].as_str().unwrap().starts_with("MedicationStatement?"));
        assert!(p["familyHistory"].as_str().unwrap().starts_with("FamilyMemberHistory?"));
        let obs = p["observations"].as_str().unwrap();
        // Ferritin, transferrin saturation and eGFR are among the LOINC codes.
        for code in ["2276-4", "2502-3", "98979-8"] {
            assert!(obs.contains(&format!("http://loinc.org|{code}")), "{code}");
        }
    }
}

/// The topic code of each card.
fn topics(cards: &[Value]) -> Vec<&str> {
    cards.iter().map(|c| c["source"]["topic"]["code"].as_str().unwrap()).collect()
}

/// Asserts a valid 200 answer with the cards that a low ferritin on the first page of the
/// Observation search and the antihistamine on its second page give.
fn assert_both_pages_read(r: &Reply) {
    assert_eq!(r.status, 200, "{}", r.text());
    let cards = check_response(&r.json());
    let topics = topics(&cards);
    assert!(topics.contains(&"iron-deficiency"), "{topics:?}");
    assert!(topics.contains(&"drug-sedating-antihistamine"), "{topics:?}");
}

fn rls_prefetch(observations: &[Value], meds: &[Value]) -> Value {
    prefetch(&[rls_condition()], observations, meds)
}

#[tokio::test]
async fn patient_view_shows_causes_drugs_and_links_with_evidence() {
    let h = Harness::new();
    let req = hook_request(
        "patient-view",
        json!({"userId": "Practitioner/1", "patientId": PATIENT}),
        Some(rls_prefetch(
            &[ferritin("obs-Zq91", 21.0, "2026-10-02")],
            &[med_request("mr-Zq93", "active", "Paxil 20 mg tablet")],
        )),
    );
    let r = h.post_json(PV, &req).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.headers[axum::http::header::CACHE_CONTROL], "no-store");
    let cards = check_response(&r.json());
    let topics = topics(&cards);
    assert!(topics.contains(&"iron-deficiency"), "{topics:?}");
    assert!(topics.contains(&"drug-serotonergic-antidepressant"), "{topics:?}");
    // Iron deficiency is shown, so no separate work-up card.
    assert!(!topics.contains(&"iron-workup"));
    let iron = cards.iter().find(|c| c["source"]["topic"]["code"] == "iron-deficiency").unwrap();
    assert_eq!(iron["indicator"], "warning");
    let detail = iron["detail"].as_str().unwrap();
    assert!(detail.contains("21 ng/mL") && detail.contains("Observation/obs-Zq91"), "{detail}");
    // One line per value read, even when it meets two thresholds.
    assert_eq!(detail.matches("Observation/obs-Zq91").count(), 1, "{detail}");
    assert_eq!(iron["links"][0]["url"], "https://rls.example.org/v1/causes/iron-deficiency");
    let drug = cards
        .iter()
        .find(|c| c["source"]["topic"]["code"] == "drug-serotonergic-antidepressant")
        .unwrap();
    assert!(drug["detail"].as_str().unwrap().contains("bupropion"));
    // Warnings before information.
    let order: Vec<&str> = cards.iter().map(|c| c["indicator"].as_str().unwrap()).collect();
    let mut sorted = order.clone();
    sorted.sort_by_key(|i| if *i == "warning" { 0 } else { 1 });
    assert_eq!(order, sorted);
}

#[tokio::test]
async fn patient_view_asks_for_iron_studies_never_done_or_stale() {
    let h = Harness::new();
    let ctx = json!({"userId": "Practitioner/1", "patientId": PATIENT});
    let r = h
        .post_json(PV, &hook_request("patient-view", ctx.clone(), Some(rls_prefetch(&[], &[]))))
        .await;
    let cards = check_response(&r.json());
    assert_eq!(cards.len(), 1, "{cards:?}");
    let c = &cards[0];
    assert_eq!(c["source"]["topic"]["code"], "iron-workup");
    assert_eq!(c["indicator"], "info");
    assert!(c["summary"].as_str().unwrap().contains("never measured"));
    let actions = c["suggestions"][0]["actions"].as_array().unwrap();
    let codes: Vec<&str> = actions
        .iter()
        .map(|a| a["resource"]["code"]["coding"][0]["code"].as_str().unwrap())
        .collect();
    assert_eq!(codes, ["2276-4", "2502-3"]);
    assert_eq!(actions[0]["type"], "create");
    assert_eq!(actions[0]["resource"]["subject"]["reference"], format!("Patient/{PATIENT}"));

    // A normal ferritin from two years ago is stale.
    let old = ferritin("obs-old", 150.0, "2024-09-01");
    let r = h
        .post_json(PV, &hook_request("patient-view", ctx.clone(), Some(rls_prefetch(&[old], &[]))))
        .await;
    let cards = check_response(&r.json());
    let c = cards.iter().find(|c| c["source"]["topic"]["code"] == "iron-workup").unwrap();
    assert!(c["summary"].as_str().unwrap().contains("last 12 months"), "{c}");
    assert!(c["detail"].as_str().unwrap().contains("2024-09-01"));

    // A recent normal ferritin still leaves transferrin saturation due.
    let recent = ferritin("obs-new", 150.0, "2026-09-01");
    let r = h
        .post_json(PV, &hook_request("patient-view", ctx, Some(rls_prefetch(&[recent], &[]))))
        .await;
    let cards = check_response(&r.json());
    let c = cards.iter().find(|c| c["source"]["topic"]["code"] == "iron-workup").unwrap();
    assert!(!c["summary"].as_str().unwrap().contains("ferritin"), "{c}");
    assert!(c["summary"].as_str().unwrap().contains("transferrin saturation"));
}

#[tokio::test]
async fn no_cards_for_a_patient_without_restless_legs() {
    let h = Harness::new();
    let p = prefetch(
        &[],
        &[ferritin("obs-1", 12.0, "2026-10-02")],
        &[med_request("mr-1", "active", "sertraline 50 mg")],
    );
    let r = h
        .post_json(PV, &hook_request("patient-view", json!({"patientId": PATIENT}), Some(p)))
        .await;
    assert_eq!(r.status, 200);
    assert!(check_response(&r.json()).is_empty());
}

fn paroxetine_draft() -> Value {
    json!({"resourceType": "MedicationRequest", "id": "draft-Zq96", "status": "draft",
           "intent": "order", "subject": {"reference": format!("Patient/{PATIENT}")},
           "medicationCodeableConcept": {"coding": [{"system": "http://www.nlm.nih.gov/research/umls/rxnorm",
               "code": "1738503", "display": "paroxetine 20 MG Oral Tablet"}], "text": "paroxetine 20 MG Oral Tablet"},
           "dosageInstruction": [{"text": "20 mg once daily"}]})
}

#[tokio::test]
async fn order_sign_warns_about_a_worsening_drug_with_alternatives_acting_on_the_draft() {
    let h = Harness::new();
    let ctx = json!({"userId": "Practitioner/1", "patientId": PATIENT,
                     "draftOrders": draft_orders(&[paroxetine_draft()])});
    let r = h.post_json(SIGN, &hook_request("order-sign", ctx, Some(rls_prefetch(&[], &[])))).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let cards = check_response(&r.json());
    assert_eq!(cards.len(), 1, "{cards:#?}");
    let c = &cards[0];
    assert_eq!(c["indicator"], "warning");
    let summary = c["summary"].as_str().unwrap();
    assert!(summary.starts_with("Paroxetine") && summary.contains("moderate"), "{summary}");
    assert_eq!(c["selectionBehavior"], "at-most-one");
    assert_eq!(c["source"]["topic"]["code"], "drug-serotonergic-antidepressant");
    let detail = c["detail"].as_str().unwrap();
    assert!(
        detail.contains("Restless legs syndrome is recorded")
            && detail.contains("Condition/cond-Zq92")
    );
    let suggestions = c["suggestions"].as_array().unwrap();
    let labels: Vec<&str> = suggestions.iter().map(|s| s["label"].as_str().unwrap()).collect();
    assert!(labels[0].contains("bupropion"), "{labels:?}");
    let update = &suggestions[0]["actions"][0];
    assert_eq!(update["type"], "update");
    let res = &update["resource"];
    assert_eq!(res["id"], "draft-Zq96");
    assert_eq!(res["status"], "draft");
    assert_eq!(res["medicationCodeableConcept"]["text"], "Bupropion");
    assert_eq!(
        res["medicationCodeableConcept"]["coding"][0]["system"],
        "http://www.nlm.nih.gov/research/umls/rxnorm"
    );
    assert!(res.get("dosageInstruction").is_none(), "a paroxetine dose must not carry over");
    let delete = &suggestions.last().unwrap()["actions"][0];
    assert_eq!(delete["type"], "delete");
    assert_eq!(delete["resourceId"], "MedicationRequest/draft-Zq96");
    assert!(c["overrideReasons"].as_array().unwrap().len() >= 2);
}

#[tokio::test]
async fn order_select_warns_only_about_the_selected_orders() {
    let h = Harness::new();
    let amox = med_request("draft-amox", "draft", "amoxicillin 500 mg capsule");
    let orders = draft_orders(&[paroxetine_draft(), amox]);
    let only_amox = json!({"patientId": PATIENT, "selections": ["MedicationRequest/draft-amox"],
                           "draftOrders": orders});
    let r = h
        .post_json(SELECT, &hook_request("order-select", only_amox, Some(rls_prefetch(&[], &[]))))
        .await;
    assert!(check_response(&r.json()).is_empty());
    let both = json!({"patientId": PATIENT,
                      "selections": ["MedicationRequest/draft-Zq96", "MedicationRequest/draft-amox"],
                      "draftOrders": orders});
    let r = h
        .post_json(SELECT, &hook_request("order-select", both, Some(rls_prefetch(&[], &[]))))
        .await;
    let cards = check_response(&r.json());
    assert_eq!(cards.len(), 1);
    assert_eq!(
        cards[0]["suggestions"].as_array().unwrap().last().unwrap()["actions"][0]["resourceId"],
        "MedicationRequest/draft-Zq96"
    );
}

#[tokio::test]
async fn no_order_warning_without_restless_legs_or_without_a_worsening_drug() {
    let h = Harness::new();
    let ctx = json!({"patientId": PATIENT, "draftOrders": draft_orders(&[paroxetine_draft()])});
    let r =
        h.post_json(SIGN, &hook_request("order-sign", ctx, Some(prefetch(&[], &[], &[])))).await;
    assert_eq!(r.status, 200);
    assert!(check_response(&r.json()).is_empty());
    // An order that cannot worsen RLS needs no patient data at all: no 412.
    let amox = med_request("draft-amox", "draft", "amoxicillin 500 mg capsule");
    let ctx = json!({"patientId": PATIENT, "draftOrders": draft_orders(&[amox])});
    let r = h.post_json(SIGN, &hook_request("order-sign", ctx, None)).await;
    assert_eq!(r.status, 200);
    assert!(check_response(&r.json()).is_empty());
}

#[tokio::test]
async fn the_specification_examples_give_valid_responses() {
    let h = Harness::new();
    let docs = "cds-hooks-docs-spec-examples";
    let hl7 = "cds-hooks-hl7-spec-examples";
    // Complete requests as published: the fhirServer named is not on the allow-list, so
    // nothing is fetched; the prefetched Patient alone has nothing to act on.
    for (folder, file) in
        [(docs, "current--L167--example.json"), (hl7, "index--L219--example.json")]
    {
        let r = h.post_json(PV, &corpus(folder, file)).await;
        assert_eq!(r.status, 200, "{file}: {}", r.text());
        assert!(check_response(&r.json()).is_empty(), "{file}");
    }
    // The pagination example (order-sign): amoxicillin, no cards.
    let r = h
        .post_json(SIGN, &corpus(hl7, "index--L306--example-of-pagination-in-prefetch.json"))
        .await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert!(check_response(&r.json()).is_empty());
    // Context-only fragments, wrapped into requests.
    for (service, hook, file) in [
        (SELECT, "order-select", "order-select--L45--example-r4.json"),
        (SIGN, "order-sign", "order-sign--L46--example-r4.json"),
        (SELECT, "order-select", "order-select--L228--example-stu3.json"),
        (SELECT, "order-select", "order-select--L409--example-dstu2.json"),
    ] {
        let ex = corpus(docs, file);
        let r = h.post_json(service, &hook_request(hook, ex["context"].clone(), None)).await;
        assert_eq!(r.status, 200, "{file}: {}", r.text());
        assert!(check_response(&r.json()).is_empty(), "{file}");
    }
    // patient-view with no prefetch and no FHIR server: no data at all, which CDS Hooks 2.0
    // answers with 412.
    for file in ["patient-view--L28--examples.json", "patient-view--L35--examples.json"] {
        let ex = corpus(docs, file);
        let r = h.post_json(PV, &hook_request("patient-view", ex["context"].clone(), None)).await;
        r.problem(412, "data-unavailable");
    }
}

/// The spec's order examples with the drug swapped for one that worsens RLS, for a patient
/// with RLS: a card pointing at the right draft, in every FHIR version the examples use.
#[tokio::test]
async fn the_specification_order_examples_with_a_worsening_drug_give_a_card() {
    let h = Harness::new();
    let docs = "cds-hooks-docs-spec-examples";
    for (service, hook, file, kind) in [
        (SELECT, "order-select", "order-select--L45--example-r4.json", "MedicationRequest"),
        (SIGN, "order-sign", "order-sign--L46--example-r4.json", "MedicationRequest"),
        (SELECT, "order-select", "order-select--L409--example-dstu2.json", "MedicationOrder"),
    ] {
        let mut ex = corpus(docs, file);
        let entries = ex["context"]["draftOrders"]["entry"].as_array_mut().unwrap();
        let med = entries
            .iter_mut()
            .find(|e| e["resource"]["resourceType"] == kind)
            .unwrap_or_else(|| panic!("{file}: no {kind}"));
        let id = med["resource"]["id"].as_str().unwrap().to_owned();
        med["resource"]["medicationCodeableConcept"] = json!({"coding": [{
            "system": "http://www.nlm.nih.gov/research/umls/rxnorm", "code": "36437",
            "display": "sertraline"}], "text": "Zoloft 50 mg tablet"});
        let mut ctx = ex["context"].clone();
        ctx["patientId"] = json!(PATIENT);
        let r = h.post_json(service, &hook_request(hook, ctx, Some(rls_prefetch(&[], &[])))).await;
        assert_eq!(r.status, 200, "{file}: {}", r.text());
        let cards = check_response(&r.json());
        assert_eq!(cards.len(), 1, "{file}: {cards:#?}");
        let delete =
            cards[0]["suggestions"].as_array().unwrap().last().unwrap()["actions"][0].clone();
        assert_eq!(delete["resourceId"], format!("{kind}/{id}"), "{file}");
        assert!(cards[0]["summary"].as_str().unwrap().starts_with("Sertraline"), "{file}");
    }
}

#[tokio::test]
async fn requests_are_read_leniently() {
    let h = Harness::new();
    // No hookInstance, a numeric patientId, prefetch as bare arrays, a null key, junk entries.
    let req = json!({
        "hook": "patient-view",
        "context": {"patientId": 42},
        "prefetch": {
            "patient": null,
            "conditions": [rls_condition()],
            "observations": {"resourceType": "Bundle", "entry": [{"fullUrl": "x"}, {"resource": ferritin("o", 20.0, "2026-10-01")}]},
            "extra": "not a resource"
        }
    });
    let r = h.post_json(PV, &req).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let cards = check_response(&r.json());
    assert!(cards.iter().any(|c| c["source"]["topic"]["code"] == "iron-deficiency"));
    // Not JSON, not an object, unknown service.
    h.post(PV, "{oops").await.problem(400, "invalid-json");
    h.post(PV, "[]").await.problem(400, "bad-request");
    h.post_json("/cds-services/nope", &json!({})).await.problem(404, "not-found");
}

#[tokio::test]
async fn missing_prefetch_is_fetched_from_the_fhir_server_page_by_page() {
    let resources = vec![
        patient(),
        rls_condition(),
        ferritin("obs-Zq91", 19.0, "2026-11-01"),
        med_request("mr-Zq93", "active", "Benadryl 25 mg"),
    ];
    let (base, log) = stub_fhir(resources, Duration::ZERO).await;
    let h = Harness::new();
    let req = json!({
        "hook": "patient-view", "hookInstance": "1",
        "fhirServer": base,
        "fhirAuthorization": {"access_token": "tok-Zq94", "token_type": "Bearer", "expires_in": 300,
                              "scope": "patient/*.read", "subject": "restless"},
        "context": {"patientId": PATIENT},
        // The client prefetched only the patient.
        "prefetch": {"patient": patient()}
    });
    // The antihistamine comes from the second page of the Observation search.
    assert_both_pages_read(&h.post_json(PV, &req).await);
    let requests = log.requests.lock().unwrap().clone();
    assert!(requests.iter().all(|(_, auth)| auth.as_deref() == Some("Bearer tok-Zq94")));
    let uris: Vec<&str> = requests.iter().map(|(u, _)| u.as_str()).collect();
    assert!(
        uris.iter().any(|u| u.starts_with(&format!("/fhir/Condition?patient={PATIENT}"))),
        "{uris:?}"
    );
    assert!(
        uris.iter().any(|u| u.starts_with("/fhir/Observation?patient=") && u.contains("2276-4"))
    );
    assert!(uris.contains(&"/fhir/page2"));
    assert!(
        !uris.iter().any(|u| u.starts_with("/fhir/Patient/")),
        "the prefetched Patient was fetched again"
    );
}

/// A prefetched search with a `next` page that cannot be followed (its server is not on the
/// allow-list) still counts as its first page.
#[tokio::test]
async fn an_unfollowable_prefetch_page_counts_as_its_first_page() {
    let h = Harness::new();
    let mut req = hook_request(
        "patient-view",
        json!({"patientId": PATIENT}),
        Some(rls_prefetch(&[ferritin("obs-Zq97", 21.0, "2026-10-02")], &[])),
    );
    req["prefetch"]["observations"]["link"] =
        json!([{"relation": "next", "url": "https://ehr.invalid/fhir/page2"}]);
    req["fhirServer"] = json!("https://ehr.invalid/fhir");
    req["fhirAuthorization"] = json!({"access_token": "tok", "token_type": "Bearer"});
    let r = h.post_json(PV, &req).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let cards = check_response(&r.json());
    let topics = topics(&cards);
    assert!(topics.contains(&"iron-deficiency"), "{topics:?}");
}

/// A prefetched search with a `next` page on the FHIR server: the further pages are fetched
/// and read with the first, whether the Bundle was written with `resourceType` first (split
/// while the request is read) or after its entries (read as text).
#[tokio::test]
async fn a_prefetched_search_is_completed_page_by_page() {
    let benadryl = med_request("mr-Zq98", "active", "Benadryl 25 mg");
    let (base, log) = stub_fhir(vec![benadryl], Duration::ZERO).await;
    let h = Harness::new();
    let mut req = hook_request(
        "patient-view",
        json!({"patientId": PATIENT}),
        Some(rls_prefetch(&[ferritin("obs-Zq99", 19.0, "2026-11-01")], &[])),
    );
    req["fhirServer"] = json!(base);
    req["fhirAuthorization"] = json!({"access_token": "tok-Zq96", "token_type": "Bearer"});
    req["prefetch"]["observations"]["link"] =
        json!([{"relation": "next", "url": format!("{base}/page2")}]);
    // serde_json writes keys in order: "entry" and "link" before "resourceType".
    let late = serde_json::to_string(&req).unwrap();
    let search = req["prefetch"]["observations"].to_string();
    let mut rest = req["prefetch"]["observations"].as_object().unwrap().clone();
    rest.remove("resourceType");
    let rest = Value::Object(rest).to_string();
    let first = late.replacen(&search, &format!(r#"{{"resourceType":"Bundle",{}"#, &rest[1..]), 1);
    assert_ne!(first, late);
    for body in [first, late] {
        assert_both_pages_read(&h.post(PV, body).await);
    }
    let requests = log.requests.lock().unwrap().clone();
    let pages: Vec<_> = requests.iter().filter(|(u, _)| u == "/fhir/page2").collect();
    assert_eq!(pages.len(), 2, "{requests:?}");
    assert!(pages.iter().all(|(_, auth)| auth.as_deref() == Some("Bearer tok-Zq96")));
}

#[tokio::test]
async fn fhir_servers_off_the_allow_list_are_never_called_and_slow_ones_time_out() {
    let (base, log) = stub_fhir(vec![patient(), rls_condition()], Duration::ZERO).await;
    let h = Harness::with(|c| c.fhir_servers = vec!["https://ehr.example.org/fhir".to_owned()]);
    let req = json!({"hook": "patient-view", "hookInstance": "1", "fhirServer": base,
        "fhirAuthorization": {"access_token": "t", "token_type": "Bearer"},
        "context": {"patientId": PATIENT}});
    h.post_json(PV, &req).await.problem(412, "data-unavailable");
    assert!(log.requests.lock().unwrap().is_empty());

    let (slow, _) = stub_fhir(vec![patient(), rls_condition()], Duration::from_secs(3)).await;
    let h = Harness::with(|c| c.limits.fhir_timeout = Duration::from_millis(200));
    let mut req = req;
    req["fhirServer"] = json!(slow);
    let started = std::time::Instant::now();
    h.post_json(PV, &req).await.problem(412, "data-unavailable");
    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(
        h.get("/metrics").await.text().contains("restless_fhir_fetches_total{result=\"timeout\"}")
    );
}

#[tokio::test]
async fn cds_calls_need_a_valid_token_unless_auth_is_disabled() {
    let h = Harness::with(|c| {
        c.auth.insecure_no_auth = false;
        c.auth.issuers = vec!["https://ehr.example.org".to_owned()];
    });
    let req =
        hook_request("patient-view", json!({"patientId": PATIENT}), Some(rls_prefetch(&[], &[])));
    let r = h.post_json(PV, &req).await;
    r.problem(401, "unauthorized");
    assert_eq!(r.headers[header::WWW_AUTHENTICATE], "Bearer");
    let bad = Request::post(PV)
        .header(header::AUTHORIZATION, "Bearer not.a.jwt")
        .body(Body::from(serde_json::to_vec(&req).unwrap()))
        .unwrap();
    h.send(bad).await.problem(401, "unauthorized");
    let fb = json!({"feedback": [{"card": "x", "outcome": "accepted", "outcomeTimestamp": "2026-11-27T10:00:00Z"}]});
    h.post_json(&format!("{PV}/feedback"), &fb).await.problem(401, "unauthorized");
    assert!(h.state.db().feedback().await.unwrap().is_empty());
    // Discovery carries no patient data and stays open.
    assert_eq!(h.get("/cds-services").await.status, 200);
}

#[tokio::test]
async fn cors_preflight_is_answered_on_cds_routes() {
    let h = Harness::new();
    let req = method_request(Method::OPTIONS, SIGN)
        .header(header::ORIGIN, "https://sandbox.cds-hooks.org")
        .header(header::ACCESS_CONTROL_REQUEST_METHOD, "POST")
        .header(header::ACCESS_CONTROL_REQUEST_HEADERS, "authorization,content-type")
        .body(Body::empty())
        .unwrap();
    let r = h.send(req).await;
    assert!(r.status.is_success(), "{}", r.status);
    assert_eq!(r.headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
    let allowed =
        r.headers[header::ACCESS_CONTROL_ALLOW_HEADERS].to_str().unwrap().to_ascii_lowercase();
    assert!(allowed.contains("authorization") && allowed.contains("content-type"));
    let req = Request::get("/cds-services")
        .header(header::ORIGIN, "https://x.example")
        .body(Body::empty())
        .unwrap();
    assert_eq!(h.send(req).await.headers[header::ACCESS_CONTROL_ALLOW_ORIGIN], "*");
}

#[tokio::test]
async fn feedback_is_stored_durably_and_survives_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(dir.path());
    let state = AppState::new(cfg.clone(), kb()).unwrap();
    let app = router(state.clone());
    // A card to give feedback on.
    let ctx = json!({"patientId": PATIENT, "draftOrders": draft_orders(&[paroxetine_draft()])});
    let r = send(&app, post(SIGN, &hook_request("order-sign", ctx, Some(rls_prefetch(&[], &[])))))
        .await;
    let cards = check_response(&r.json());
    let card = cards[0]["uuid"].as_str().unwrap().to_owned();
    let suggestion = cards[0]["suggestions"][0]["uuid"].as_str().unwrap().to_owned();
    let fb = json!({"feedback": [
        {"card": card, "outcome": "accepted", "acceptedSuggestions": [{"id": suggestion}],
         "outcomeTimestamp": "2026-11-27T10:05:31Z"},
        {"card": "9368d37b-283f-44a0-93ea-547cebab93ed", "outcome": "overridden",
         "overrideReason": {"reason": {"code": "tolerated-before", "system": "https://rls.example.org/cds-services/override-reasons"},
                            "userComment": "comment-Zq95"},
         "outcomeTimestamp": "2026-11-27T10:06:00Z"}
    ]});
    let r = send(&app, post(&format!("{SIGN}/feedback"), &fb)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    assert_eq!(r.json()["stored"], 2);
    // Invalid items: nothing stored, every place named.
    let bad = json!({"feedback": [{"card": "a", "outcome": "accepted"}, {"outcome": "meh"}]});
    let p = send(&app, post(&format!("{SIGN}/feedback"), &bad)).await.problem(400, "bad-request");
    let pointers: Vec<&str> =
        p["errors"].as_array().unwrap().iter().map(|e| e["pointer"].as_str().unwrap()).collect();
    assert_eq!(pointers, ["#/feedback/1/card", "#/feedback/1/outcome"]);
    send(&app, post("/cds-services/nope/feedback", &fb)).await.problem(404, "not-found");

    // Restart: close, then a new state on the same folder.
    drop(app);
    state.db().close().await.unwrap();
    drop(state);
    let state = AppState::new(cfg, kb()).unwrap();
    let stored = state.db().feedback().await.unwrap();
    assert_eq!(stored.len(), 2);
    let first = &stored[0];
    assert_eq!(first.feedback.card, card);
    assert_eq!(first.feedback.outcome, "accepted");
    assert_eq!(first.feedback.accepted_suggestions, [suggestion]);
    assert_eq!(first.feedback.service, "restless-order-sign");
    assert_eq!(first.feedback.topic.as_deref(), Some("drug-serotonergic-antidepressant"));
    assert_eq!(first.feedback.indicator.as_deref(), cards[0]["indicator"].as_str());
    let second = &stored[1];
    assert_eq!(second.feedback.override_code.as_deref(), Some("tolerated-before"));
    assert_eq!(second.feedback.user_comment.as_deref(), Some("comment-Zq95"));
    assert_eq!(second.feedback.topic, None, "a card restless did not issue has no topic");
    let m = router(state.clone());
    drop(m);
    state.db().close().await.unwrap();
}

/// Real patients as an EHR would prefetch them, resources written as their FHIR server wrote
/// them (`resourceType` first, so the prefetch's typed resources are parsed in the body's own
/// pass), each given restless legs: each answer is the one the plain reading gives. The plain
/// reading is forced by an extra Observation the single pass cannot take (an id written as a
/// number) and that changes nothing (a heart rate, which restless does not read).
#[tokio::test]
async fn prefetch_read_in_one_pass_answers_as_the_plain_reading() {
    #[derive(serde::Deserialize)]
    struct Entries<'a> {
        #[serde(borrow)]
        entry: Vec<EntryText<'a>>,
    }
    #[derive(serde::Deserialize)]
    struct EntryText<'a> {
        #[serde(borrow)]
        resource: &'a serde_json::value::RawValue,
    }
    let h = Harness::new();
    let dir = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/corpora/smart-generated-sample-data-r4-synthea");
    let (mut patients, mut topics_seen) = (0, std::collections::BTreeSet::new());
    for e in std::fs::read_dir(dir).unwrap() {
        let path = e.unwrap().path();
        if path.file_name().unwrap() == "MANIFEST.json" {
            continue;
        }
        let text = std::fs::read_to_string(&path).unwrap();
        // References as a FHIR server's search gives them (`Patient/id`), not the transaction
        // Bundle's `urn:uuid:` ones, so that the typed readings are kept.
        let first = serde_json::from_str::<Entries<'_>>(&text).unwrap().entry[0].resource.get();
        let id = serde_json::from_str::<Value>(first).unwrap()["id"].clone();
        let patient_id = id.as_str().unwrap();
        let text =
            text.replace(&format!("urn:uuid:{patient_id}"), &format!("Patient/{patient_id}"));
        let bundle: Entries<'_> = serde_json::from_str(&text).unwrap();
        let of_type = |t: &str| -> Vec<&str> {
            let head = format!(r#"{{"resourceType":"{t}""#);
            bundle.entry.iter().map(|e| e.resource.get()).filter(|r| r.starts_with(&head)).collect()
        };
        let patient = of_type("Patient")[0];
        let search = |items: &[&str]| {
            let entries: Vec<String> =
                items.iter().map(|r| format!(r#"{{"resource":{r}}}"#)).collect();
            format!(
                r#"{{"resourceType":"Bundle","type":"searchset","entry":[{}]}}"#,
                entries.join(",")
            )
        };
        let poison = r#"{"resourceType":"Observation","id":7,"status":"final","code":{"coding":[{"system":"http://loinc.org","code":"8867-4"}]}}"#;
        let mut observations = of_type("Observation");
        let one_pass = search(&observations);
        observations.push(poison);
        let plain = search(&observations);
        let rls = format!(
            r#"{{"resourceType":"Condition","id":"rls-1","verificationStatus":{{"coding":[{{"system":"http://terminology.hl7.org/CodeSystem/condition-ver-status","code":"confirmed"}}]}},"code":{{"coding":[{{"system":"http://hl7.org/fhir/sid/icd-10-cm","code":"G25.81"}}]}},"subject":{{"reference":"Patient/{patient_id}"}},"onsetDateTime":"2020-01-01"}}"#
        );
        let mut conditions = of_type("Condition");
        conditions.push(&rls);
        let body = |observations: &str| {
            format!(
                r#"{{"hook":"patient-view","hookInstance":"d1577c69-dfbe-44ad-ba6d-3e05e953b2ea","context":{{"patientId":{id}}},"prefetch":{{"patient":{patient},"conditions":{},"observations":{observations},"medicationRequests":{}}}}}"#,
                search(&conditions),
                search(&of_type("MedicationRequest")),
            )
        };
        // Card and suggestion ids are random: compared without them.
        fn without_ids(v: &mut Value) {
            match v {
                Value::Object(o) => {
                    o.remove("uuid");
                    o.values_mut().for_each(without_ids);
                }
                Value::Array(a) => a.iter_mut().for_each(without_ids),
                _ => {}
            }
        }
        let answer = |r: &Reply| {
            assert_eq!(r.status, 200, "{}: {}", path.display(), r.text());
            let mut v = r.json();
            without_ids(&mut v);
            v
        };
        let reply = h.post(PV, body(&one_pass)).await;
        let a = answer(&reply);
        let b = answer(&h.post(PV, body(&plain)).await);
        assert_eq!(a, b, "{}", path.display());
        let cards = check_response(&reply.json());
        assert!(!cards.is_empty(), "{}", path.display());
        topics_seen.extend(topics(&cards).into_iter().map(str::to_owned));
        patients += 1;
    }
    // The patients' own conditions, labs and orders gave cards beyond the iron work-up.
    assert!(patients >= 10, "{patients}");
    assert!(topics_seen.len() >= 4, "{topics_seen:?}");
}

fn post(uri: &str, body: &Value) -> Request {
    Request::post(uri)
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(serde_json::to_vec(body).unwrap()))
        .unwrap()
}

/// The real JWT check through the router: the token's `aud` must be the URL of the endpoint
/// called, and a token is good once.
#[tokio::test]
async fn a_signed_token_is_accepted_for_its_endpoint_once() {
    use jsonwebtoken::jwk::{Jwk, JwkSet};
    use jsonwebtoken::{Algorithm, EncodingKey, Header};

    const ISS: &str = "https://ehr.example.com/";
    const JWKS: &str = "https://ehr.example.com/jwks.json";
    let key = EncodingKey::from_ec_pem(include_bytes!("../auth_keys/ec_p256_private.pem")).unwrap();
    let mut jwk = Jwk::from_encoding_key(&key, Algorithm::ES256).unwrap();
    jwk.common.key_id = Some("k1".to_owned());
    let h = Harness::with(|c| {
        c.auth.insecure_no_auth = false;
        c.auth.issuers = vec![ISS.to_owned()];
        c.auth.jwks_urls = vec![format!("{ISS}|{JWKS}")];
    });
    h.state
        .verifier()
        .insert_jwks(JWKS, &serde_json::to_string(&JwkSet { keys: vec![jwk] }).unwrap())
        .unwrap();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    let token = |aud: &str, jti: &str| {
        let mut header = Header::new(Algorithm::ES256);
        header.typ = Some("JWT".to_owned());
        header.kid = Some("k1".to_owned());
        header.jku = Some(JWKS.to_owned());
        let claims = json!({"iss": ISS, "aud": aud, "exp": now + 300, "iat": now, "jti": jti});
        format!("Bearer {}", jsonwebtoken::encode(&header, &claims, &key).unwrap())
    };
    let call = |auth: String, uri: &str, body: &Value| {
        Request::post(uri)
            .header(header::AUTHORIZATION, auth)
            .body(Body::from(serde_json::to_vec(body).unwrap()))
            .unwrap()
    };
    let ctx = json!({"patientId": PATIENT, "draftOrders": draft_orders(&[paroxetine_draft()])});
    let req = hook_request("order-sign", ctx, Some(rls_prefetch(&[], &[])));
    let good = token("https://rls.example.org/cds-services/restless-order-sign", "j1");
    let r = h.send(call(good.clone(), SIGN, &req)).await;
    assert_eq!(r.status, 200, "{}", r.text());
    let card = check_response(&r.json())[0]["uuid"].as_str().unwrap().to_owned();
    // Replayed.
    h.send(call(good, SIGN, &req)).await.problem(401, "unauthorized");
    // Meant for another service.
    let other = token("https://rls.example.org/cds-services/restless-patient-view", "j2");
    h.send(call(other, SIGN, &req)).await.problem(401, "unauthorized");
    // Feedback with the feedback endpoint's URL or the service's.
    let fb = json!({"feedback": [{"card": card, "outcome": "overridden", "outcomeTimestamp": "2026-11-27T10:00:00Z"}]});
    for (aud, jti) in [
        ("https://rls.example.org/cds-services/restless-order-sign/feedback", "j3"),
        ("https://rls.example.org/cds-services/restless-order-sign", "j4"),
    ] {
        let r = h.send(call(token(aud, jti), &format!("{SIGN}/feedback"), &fb)).await;
        assert_eq!(r.status, 200, "{aud}: {}", r.text());
    }
    let stored = h.state.db().feedback().await.unwrap();
    assert_eq!(stored.len(), 2);
    assert_eq!(stored[0].feedback.issuer, ISS);
}
