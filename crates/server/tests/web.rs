//! The web page for people (issue 6) through `router().oneshot`: the questionnaire, the report,
//! uploads, validation, "download my answers", "was this useful?", page weight, no external
//! URLs, and HTML snapshots (insta) of both pages.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use axum::body::Body;
use axum::extract::Request;
use axum::http::{StatusCode, header};
use common::{Harness, Reply};
use serde_json::Value;

const FHIR_FILE: &str = "Clemente_Kreiger_1484a42d-0eaf-4654-9cbf-6b050a5cd73b.json";
const SECTIONS: &[&str] = &[
    "About you",
    "Your legs: five questions",
    "When it started and how often",
    "Family",
    "Pregnancy",
    "Medicines you take now",
    "Recent blood tests",
    "Other health conditions",
    "Sleep and daily life",
    "Things that can look like restless legs",
];

fn urlencode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char);
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn form_body(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{}={}", urlencode(k), urlencode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

async fn post_form(h: &Harness, uri: &str, pairs: &[(&str, &str)]) -> Reply {
    h.send(
        Request::post(uri)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(form_body(pairs)))
            .unwrap(),
    )
    .await
}

async fn post_multipart(h: &Harness, uri: &str, parts: &[(&str, &[u8])]) -> Reply {
    let mut body = Vec::new();
    for (name, content) in parts {
        body.extend_from_slice(b"--XBOUNDARYx\r\n");
        if *name == "file" {
            body.extend_from_slice(
                b"Content-Disposition: form-data; name=\"file\"; filename=\"upload.json\"\r\n\
                  Content-Type: application/json\r\n\r\n",
            );
        } else {
            body.extend_from_slice(
                format!("Content-Disposition: form-data; name=\"{name}\"\r\n\r\n").as_bytes(),
            );
        }
        body.extend_from_slice(content);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(b"--XBOUNDARYx--\r\n");
    h.send(
        Request::post(uri)
            .header(header::CONTENT_TYPE, "multipart/form-data; boundary=XBOUNDARYx")
            .body(Body::from(body))
            .unwrap(),
    )
    .await
}

/// The person of the issue: RLS criteria met, ferritin 20 ng/mL (dated), Paxil 20 mg.
const PERSON: &[(&str, &str)] = &[
    ("person.age", "46"),
    ("person.sex", "female"),
    ("symptoms.urge_to_move", "yes"),
    ("symptoms.worse_at_rest", "yes"),
    ("symptoms.relieved_by_movement", "yes"),
    ("symptoms.worse_in_evening", "yes"),
    ("symptoms.explained_by_other_condition", "no"),
    ("medications.0", "Paxil 20 mg"),
    ("medications_complete", "yes"),
    ("labs.0.name", "ferritin"),
    ("labs.0.comparator", ""),
    ("labs.0.value", "20"),
    ("labs.0.unit", "ng/mL"),
    ("labs.0.date", "2026-10-02"),
];

/// Every opening tag named `tag` in `html`, as its text up to `>`.
fn tags<'a>(html: &'a str, tag: &str) -> Vec<&'a str> {
    let open = format!("<{tag}");
    html.match_indices(&open)
        .filter(|(i, _)| html[i + open.len()..].starts_with([' ', '>', '\n']))
        .map(|(i, _)| {
            let end = html[i..].find('>').unwrap();
            &html[i..=i + end]
        })
        .collect()
}

fn attr<'a>(tag: &'a str, name: &str) -> Option<&'a str> {
    let key = format!(" {name}=\"");
    let start = tag.find(&key)? + key.len();
    let end = tag[start..].find('"')?;
    Some(&tag[start..start + end])
}

fn assert_html(r: &Reply, status: StatusCode) -> String {
    let text = r.text();
    assert_eq!(r.status, status, "{text}");
    assert_eq!(r.content_type(), "text/html; charset=utf-8");
    assert_eq!(r.headers[header::CACHE_CONTROL], "no-store");
    assert!(r.headers.contains_key(header::CONTENT_SECURITY_POLICY));
    text
}

/// No Rust debug output, panics or internal paths in a page meant for people.
fn assert_readable(html: &str) {
    for bad in ["Syntax {", "Invalid(", "Problem {", "panicked", "src/", "Error(", "\\n"] {
        assert!(!html.contains(bad), "page shows `{bad}`");
    }
}

fn assert_no_external_urls(html: &str) {
    for tag in ["a", "link", "script", "img", "form", "iframe", "source", "input", "button"] {
        for t in tags(html, tag) {
            for a in ["href", "src", "action", "formaction"] {
                if let Some(v) = attr(t, a) {
                    let v = v.to_ascii_lowercase();
                    assert!(
                        !v.starts_with("http:") && !v.starts_with("https:") && !v.starts_with("//"),
                        "external URL in {t}"
                    );
                }
            }
        }
    }
}

/// The page and everything it loads.
async fn weight(h: &Harness, html: &str) -> usize {
    let mut total = html.len();
    for t in tags(html, "link").into_iter().chain(tags(html, "script")) {
        if let Some(u) = attr(t, "href").or_else(|| attr(t, "src")) {
            let r = h.get(u).await;
            assert_eq!(r.status, StatusCode::OK, "{u}");
            total += r.body.len();
        }
    }
    total
}

#[tokio::test]
async fn the_questionnaire_has_every_section_and_a_label_for_every_control() {
    let h = Harness::new();
    let html = assert_html(&h.get("/").await, StatusCode::OK);
    for s in SECTIONS {
        assert!(html.contains(&format!(">{s}</h2>")), "section {s} missing");
    }
    let form_start = html.find("action=\"/report\"").expect("a plain form posting to /report");
    assert!(html[..form_start].ends_with("<form method=\"post\" "), "the form posts");
    let mut controls = 0;
    for tag in ["input", "select", "textarea"] {
        for t in tags(&html, tag) {
            if attr(t, "type") == Some("hidden") {
                continue;
            }
            let id = attr(t, "id").unwrap_or_else(|| panic!("control without id: {t}"));
            assert!(html.contains(&format!("<label for=\"{id}\"")), "no label for {id}");
            controls += 1;
        }
    }
    assert!(controls > 80, "{controls} controls");
    // Field names are the questionnaire's paths.
    for name in [
        "symptoms.urge_to_move",
        "symptoms.age_at_onset",
        "family_history.relative_with_rls",
        "pregnancy.pregnant",
        "medications.0",
        "labs.0.unit",
        "labs.0.date",
        "conditions.0",
        "lifestyle.caffeine_cups_per_day",
        "lifestyle.smoking",
        "mimic_screen.cramps",
    ] {
        assert!(html.contains(&format!("name=\"{name}\"")), "{name} missing");
    }
    // Autocomplete and unit choices without JavaScript.
    assert!(html.contains("<datalist id=\"drug-names\">"));
    assert!(html.contains("<option value=\"Paxil\">"));
    assert!(html.contains(
        "<datalist id=\"units-ferritin\"><option value=\"ng/mL\"><option value=\"ug/L\">"
    ));
    // Assets are embedded.
    let css = h.get("/assets/style.css").await;
    assert_eq!(css.status, StatusCode::OK);
    assert!(css.text().contains("@media print"));
    assert!(h.get("/assets/app.js").await.text().contains("use strict"));
    assert_eq!(h.get("/assets/nope.js").await.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn low_ferritin_and_paxil_show_both_causes_and_the_do_not_stop_advice() {
    let h = Harness::new();
    let html = assert_html(&post_form(&h, "/report", PERSON).await, StatusCode::OK);
    let present = html.find("id=\"g-present\"").unwrap();
    let possible = html.find("id=\"g-possible\"").unwrap();
    let found = &html[present..possible];
    assert!(found.contains("<h4>Iron deficiency</h4>"), "{found}");
    assert!(found.contains("<h4>Serotonergic antidepressant (SSRI, SNRI or tricyclic)</h4>"));
    assert!(found.contains("Paxil 20 mg (paroxetine)"));
    assert!(html.contains("Medicines that can make restless legs worse"));
    assert!(html.contains("Do not stop or change a medicine on your own."));
    assert!(html.contains("Safer alternatives to ask the prescriber about: "));
    assert!(html.contains("What to ask your doctor"));
    assert!(html.contains("Not medical advice."));
    assert!(html.contains("strength of evidence: strong"));
    assert!(html.contains("<summary>Sources</summary>"));
    // The JSON report download carries the same input; it is what /v1/assess returns.
    let doc = attr(
        tags(&html, "input").into_iter().find(|t| attr(t, "name") == Some("document")).unwrap(),
        "value",
    )
    .unwrap()
    .replace("&quot;", "\"");
    let json = post_form(&h, "/report", &[("document", &doc), ("format", "json")]).await;
    assert_eq!(json.status, StatusCode::OK);
    assert_eq!(json.content_type(), "application/json");
    assert!(json.headers[header::CONTENT_DISPOSITION].to_str().unwrap().starts_with("attachment"));
    let api = h.post("/v1/assess", doc.clone()).await;
    assert_eq!(json.body, api.body, "same bytes as POST /v1/assess");
    let report = json.json();
    let causes: Vec<&str> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["status"] == "present")
        .map(|f| f["cause"].as_str().unwrap())
        .collect();
    assert!(
        causes.contains(&"iron-deficiency") && causes.contains(&"drug-serotonergic-antidepressant")
    );
}

#[tokio::test]
async fn a_fhir_bundle_upload_shows_its_findings() {
    let h = Harness::new();
    let bundle = common::corpus("smart-generated-sample-data-r4-synthea", FHIR_FILE).to_string();
    let html = assert_html(
        &post_multipart(&h, "/upload", &[("file", bundle.as_bytes())]).await,
        StatusCode::OK,
    );
    assert!(html.contains("<h1>Your restless legs report</h1>"));
    let present = html.find("id=\"g-present\"").unwrap();
    let possible = html.find("id=\"g-possible\"").unwrap();
    assert!(html[present..possible].contains("<h4>Obesity</h4>"));
    assert!(html.contains("Observation/"), "evidence names the resource");
    // Too big to re-send: the JSON download asks for the file again.
    assert!(html.contains("choose the same file again"));
    let json =
        post_multipart(&h, "/upload", &[("format", b"json"), ("file", bundle.as_bytes())]).await;
    assert_eq!(json.content_type(), "application/json");
    assert_eq!(json.json()["report_version"], 1);
    // Pasted text works too.
    let pasted = post_multipart(&h, "/upload", &[("file", b""), ("text", bundle.as_bytes())]).await;
    assert_eq!(pasted.status, StatusCode::OK);
}

#[tokio::test]
async fn a_broken_upload_gets_a_readable_message() {
    let h = Harness::new();
    let cases: &[(&[u8], StatusCode, &str)] = &[
        (
            b"{\"resourceType\": \"Bundle\", \"entry\": [",
            StatusCode::BAD_REQUEST,
            "This is not a valid JSON file: there is a mistake on line 1",
        ),
        (b"\xff\xfe\x00binary", StatusCode::BAD_REQUEST, "This file is not a text file."),
        (b"   ", StatusCode::BAD_REQUEST, "The file is empty."),
        (
            b"{\"labs\": [{\"name\": \"ferritin\", \"value\": \"low\", \"date\": \"2026-10-02\"}]}",
            StatusCode::UNPROCESSABLE_ENTITY,
            "at /labs/0/value we expected",
        ),
        (b"[1, 2]", StatusCode::UNPROCESSABLE_ENTITY, "cannot be used"),
    ];
    for (body, status, words) in cases {
        let html = assert_html(&post_multipart(&h, "/upload", &[("file", body)]).await, *status);
        assert!(html.contains("We could not use this file"), "{html}");
        assert!(html.contains(words), "{words}: {html}");
        assert!(html.contains("action=\"/report\""), "the form is still there");
        assert_readable(&html);
    }
    // Not multipart at all.
    let html =
        assert_html(&post_form(&h, "/upload", &[("file", "x")]).await, StatusCode::BAD_REQUEST);
    assert!(html.contains("Please choose a file"));
    assert_readable(&html);
}

#[tokio::test]
async fn validation_messages_sit_next_to_the_fields_with_the_answers_kept() {
    let h = Harness::new();
    let r = post_form(
        &h,
        "/report",
        &[
            ("symptoms.urge_to_move", "yes"),
            ("symptoms.days_per_week", "9"),
            ("lifestyle.sleep_hours", "lots"),
            ("medications.0", "Paxil 20 mg"),
            ("labs.0.name", "ferritin"),
            ("labs.0.value", "20"),
            ("labs.0.unit", "ng/mL"),
        ],
    )
    .await;
    let html = assert_html(&r, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(html.contains("Please check 3 answers"));
    assert!(html.contains(
        "id=\"f-symptoms-days_per_week-error\" aria-live=\"polite\">Please enter a number from 0 to 7.</p>"
    ));
    assert!(html.contains("id=\"f-lifestyle-sleep_hours-error\" aria-live=\"polite\">Please enter a number, for example 6.5.</p>"));
    assert!(html.contains("id=\"f-labs-0-date-error\" aria-live=\"polite\">Please enter the date the blood was taken.</p>"));
    assert!(html.contains("<a href=\"#f-labs-0-date\">"));
    // The person's answers are kept.
    assert!(html.contains("value=\"Paxil 20 mg\""));
    assert!(html.contains("value=\"lots\""));
    assert!(html.contains(
        "id=\"f-symptoms-urge_to_move-yes\" name=\"symptoms.urge_to_move\" value=\"yes\" checked"
    ));
    // A problem found by the questionnaire reader (a JSON path) is mapped back to its field.
    let r =
        post_form(&h, "/report", &[("person.age", "30"), ("symptoms.age_at_onset", "50")]).await;
    let html = assert_html(&r, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        html.contains("id=\"f-symptoms-age_at_onset-error\" aria-live=\"polite\">Please check this answer: we expected an age at onset no greater than the current age"),
        "{html}"
    );
    assert_readable(&html);
}

#[tokio::test]
async fn answers_download_and_fill_the_form_again() {
    let h = Harness::new();
    let mut pairs = PERSON.to_vec();
    pairs.push(("action", "save"));
    let r = post_form(&h, "/report", &pairs).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        r.headers[header::CONTENT_DISPOSITION],
        "attachment; filename=\"restless-answers.json\""
    );
    let saved: Value = r.json();
    assert_eq!(saved["medications"][0], "Paxil 20 mg");
    assert_eq!(saved["labs"][0]["value"], 20);
    assert_eq!(saved["symptoms"]["explained_by_other_condition"], false);
    // The saved file fills the form on `/`.
    let html = assert_html(&post_multipart(&h, "/", &[("file", &r.body)]).await, StatusCode::OK);
    assert!(html.contains("Your saved answers are filled in below."));
    assert!(html.contains("name=\"medications.0\" value=\"Paxil 20 mg\""));
    assert!(html.contains("<option value=\"ferritin\" selected>"));
    // And as-is it gives a report.
    let report =
        assert_html(&post_multipart(&h, "/upload", &[("file", &r.body)]).await, StatusCode::OK);
    assert!(report.contains("<h4>Iron deficiency</h4>"));
    // A FHIR file is not saved answers.
    let html = assert_html(
        &post_multipart(&h, "/", &[("file", b"{\"resourceType\":\"Bundle\"}")]).await,
        StatusCode::UNPROCESSABLE_ENTITY,
    );
    assert!(html.contains("holds health records (FHIR)"));
}

#[tokio::test]
async fn was_this_useful_stores_cause_ids_only() {
    let h = Harness::new();
    let html = assert_html(&post_form(&h, "/report", PERSON).await, StatusCode::OK);
    assert!(html.contains("<form method=\"post\" action=\"/feedback/useful\""));
    assert!(html.contains("<input type=\"hidden\" name=\"cause\" value=\"iron-deficiency\">"));
    let r = post_form(
        &h,
        "/feedback/useful",
        &[
            ("cause", "iron-deficiency"),
            ("cause", "drug-serotonergic-antidepressant"),
            ("cause", "Jane Doe, born 1980"),
            ("useful", "yes"),
        ],
    )
    .await;
    assert!(assert_html(&r, StatusCode::OK).contains("Thank you"));
    let r = post_form(&h, "/feedback/useful", &[("useful", "maybe")]).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    let stored = h.state.db().useful_feedback().await.unwrap();
    assert_eq!(stored.len(), 1);
    assert!(stored[0].useful);
    assert_eq!(stored[0].causes, ["drug-serotonergic-antidepressant", "iron-deficiency"]);
}

#[tokio::test]
async fn pages_weigh_under_100_kb_and_link_nowhere_outside() {
    let h = Harness::new();
    let form = h.get("/").await.text();
    let report = post_form(&h, "/report", PERSON).await.text();
    let bundle = common::corpus("smart-generated-sample-data-r4-synthea", FHIR_FILE).to_string();
    let upload = post_multipart(&h, "/upload", &[("file", bundle.as_bytes())]).await.text();
    for (name, html) in [("form", &form), ("report", &report), ("upload report", &upload)] {
        let w = weight(&h, html).await;
        assert!(w < 100 * 1024, "{name} weighs {w} bytes");
        assert_no_external_urls(html);
        assert!(!html.contains("<style") && !html.contains(" style="), "{name}: inline CSS");
    }
}

/// The page with the knowledge base's lists (drugs, units) left out, so the snapshot follows
/// the form rather than the dictionary.
fn without_datalists(html: &str) -> String {
    let mut out = String::new();
    let mut rest = html;
    while let Some(i) = rest.find("<datalist") {
        out.push_str(&rest[..i]);
        let end = rest[i..].find("</datalist>").unwrap() + i + "</datalist>".len();
        out.push_str("<datalist…>");
        rest = &rest[end..];
    }
    out.push_str(rest);
    out
}

#[tokio::test]
async fn snapshot_of_the_questionnaire() {
    let h = Harness::new();
    insta::assert_snapshot!("questionnaire", without_datalists(&h.get("/").await.text()));
}

#[tokio::test]
async fn snapshot_of_the_report() {
    let h = Harness::new();
    insta::assert_snapshot!("report", post_form(&h, "/report", PERSON).await.text());
}

#[tokio::test]
async fn snapshot_of_a_form_with_messages() {
    let h = Harness::new();
    let r =
        post_form(&h, "/report", &[("symptoms.days_per_week", "9"), ("labs.1.value", "20")]).await;
    let html = without_datalists(&r.text());
    let start = html.find("<main").unwrap();
    let end = html.find("<section class=\"card\" id=\"s-about\"").unwrap();
    insta::assert_snapshot!("form_messages", &html[start..end]);
}
