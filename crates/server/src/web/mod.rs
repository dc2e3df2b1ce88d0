//! The web page for people: answer the questions, read and print the report.
//!
//! - `GET /` the questionnaire (server-rendered; works without JavaScript);
//!   `POST /` (multipart) fills it from a file of saved answers.
//! - `POST /report` (form) checks the answers, builds the questionnaire JSON (the field names
//!   are its paths) and shows the report; with `action=save` it returns that JSON as a download
//!   instead, and with `document=…&format=json` the JSON report of a document re-sent by the
//!   report page.
//! - `POST /upload` (multipart: `file` or `text`) assesses a FHIR Bundle, FHIR NDJSON or a
//!   questionnaire file; `format=json` returns the JSON report.
//! - `POST /feedback/useful` stores "was this useful?" with the report's cause ids only.
//! - `GET /assets/{name}` the style sheet and the small script, embedded in the binary.
//!
//! The server stores nothing from the form or the upload. Every page is self-contained: no
//! external URL, a strict Content-Security-Policy, `Cache-Control: no-store`.

mod form;
pub(crate) mod report;

use std::fmt::Write as _;

use axum::Router;
use axum::extract::multipart::MultipartRejection;
use axum::extract::rejection::FormRejection;
use axum::extract::{Form, Multipart, Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use restless_ingest::IngestError;
use restless_report::Report;
use serde_json::Value;

use crate::api::html::esc;
use crate::state::AppState;
use form::Answers;

const CSS: &str = include_str!("assets/style.css");
const JS: &str = include_str!("assets/app.js");

/// The largest re-sent document the report page carries for its JSON download; larger inputs
/// (big FHIR Bundles) are downloaded by uploading the file again with `format=json`.
const RESEND_LIMIT: usize = 24 * 1024;

const CSP: &str = "default-src 'none'; style-src 'self'; script-src 'self'; img-src 'self'; \
    connect-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'";

/// The web routes.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route("/", get(questionnaire).post(fill_from_file))
        .route("/report", post(report_from_form))
        .route("/upload", post(upload))
        .route("/feedback/useful", post(useful))
        .route("/assets/{name}", get(asset))
}

fn layout(title: &str, main: &str) -> String {
    format!(
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{}</title>\n\
<link rel=\"stylesheet\" href=\"/assets/style.css\">\n<script src=\"/assets/app.js\" defer></script>\n</head>\n<body>\n\
<a class=\"skip\" href=\"#main\">Skip to the content</a>\n\
<header class=\"site\"><p><a href=\"/\" class=\"brand\">restless</a> <span>finding the causes of restless legs</span></p></header>\n\
<main id=\"main\" tabindex=\"-1\">\n{main}</main>\n\
<footer class=\"site\"><p>restless supports, and does not replace, a clinician\u{2019}s judgement. Nothing you enter is stored.</p></footer>\n\
</body>\n</html>\n",
        esc(title)
    )
}

fn page(status: StatusCode, title: &str, main: &str) -> Response {
    let mut resp = (status, layout(title, main)).into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("text/html; charset=utf-8"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(CSP));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    resp
}

fn download(body: Vec<u8>, filename: &'static str) -> Response {
    let mut resp = body.into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::CONTENT_DISPOSITION,
        HeaderValue::from_str(&format!("attachment; filename=\"{filename}\""))
            .unwrap_or_else(|_| HeaderValue::from_static("attachment")),
    );
    resp
}

fn form_page(
    state: &AppState,
    status: StatusCode,
    a: &Answers,
    upload_error: Option<&str>,
) -> Response {
    let title = if a.errors.is_empty() && upload_error.is_none() {
        "Restless legs: finding the causes"
    } else {
        "Please check your answers \u{2014} restless legs"
    };
    page(status, title, &form::render(state.kb(), a, upload_error))
}

async fn questionnaire(State(state): State<AppState>) -> Response {
    form_page(&state, StatusCode::OK, &Answers::default(), None)
}

/// What an assessment gives: the JSON report document, or the exact bytes for a download.
enum Output {
    Page(Value),
    Json(Vec<u8>),
}

/// Runs ingest, the engine and a renderer off the async workers.
async fn assess(state: &AppState, text: String, json: bool) -> Result<Output, IngestError> {
    let st = state.clone();
    let as_of = state.today();
    let joined = tokio::task::spawn_blocking(move || -> Result<Output, IngestError> {
        let kb = st.kb();
        let ingested = restless_ingest::read(&text, kb, as_of)?;
        let assessment = restless_engine::assess(kb, &ingested.record, as_of);
        let report = Report { assessment: &assessment, kb, warnings: &ingested.warnings };
        if json {
            let mut out = Vec::new();
            restless_report::json::v1::write(&report, &mut out).map_err(|e| {
                IngestError::Unsupported { what: format!("writing the report: {e}") }
            })?;
            Ok(Output::Json(out))
        } else {
            Ok(Output::Page(restless_report::json::v1::to_value(&report)))
        }
    })
    .await;
    joined.unwrap_or_else(|e| {
        tracing::error!(error = %e, "assessment task failed");
        Err(IngestError::Unsupported { what: "the assessment failed; please try again".to_owned() })
    })
}

/// A problem with an input file, in plain words, and its status.
fn file_problem(e: &IngestError) -> (StatusCode, String) {
    match e {
        IngestError::Syntax { line, column, message } => (
            StatusCode::BAD_REQUEST,
            format!(
                "This is not a valid JSON file: there is a mistake on line {line}, column {column} \
                 ({message}). Choose a FHIR Bundle, FHIR NDJSON, or a file of answers saved from this page."
            ),
        ),
        IngestError::Invalid(problems) => {
            let mut m = format!(
                "The file is JSON but {} part{} of it cannot be used:",
                problems.len(),
                if problems.len() == 1 { "" } else { "s" }
            );
            for p in problems.iter().take(8) {
                let at =
                    if p.path.is_empty() { "the whole file".to_owned() } else { p.path.clone() };
                let _ = write!(m, " at {at} we expected {};", p.expected);
            }
            if problems.len() > 8 {
                let _ = write!(m, " and {} more;", problems.len() - 8);
            }
            m.pop();
            m.push('.');
            (StatusCode::UNPROCESSABLE_ENTITY, m)
        }
        IngestError::Unsupported { what } => {
            (StatusCode::UNPROCESSABLE_ENTITY, format!("This file cannot be read: {what}."))
        }
        other => (StatusCode::UNPROCESSABLE_ENTITY, format!("This file cannot be read: {other}.")),
    }
}

/// The form that gets the JSON report of `text`: re-sent when small, else re-uploaded.
fn download_form(text: &str) -> String {
    if text.len() <= RESEND_LIMIT {
        format!(
            "<form method=\"post\" action=\"/report\" class=\"inline\"><input type=\"hidden\" name=\"document\" value=\"{}\">\
<input type=\"hidden\" name=\"format\" value=\"json\"><button type=\"submit\" class=\"secondary\">Download the report as JSON</button></form>\n",
            esc(text)
        )
    } else {
        "<form method=\"post\" action=\"/upload\" enctype=\"multipart/form-data\" class=\"inline\">\
<input type=\"hidden\" name=\"format\" value=\"json\"><label for=\"again-file\">To download the report as JSON, choose the same file again</label> \
<input type=\"file\" id=\"again-file\" name=\"file\"> <button type=\"submit\" class=\"secondary\">Download JSON</button></form>\n"
            .to_owned()
    }
}

fn report_page(doc: &Value, text: &str) -> Response {
    page(StatusCode::OK, "Your restless legs report", &report::render(doc, &download_form(text)))
}

/// Assesses a whole document (upload or re-sent) and answers with the page or the download.
async fn assess_document(state: &AppState, text: String, json: bool) -> Response {
    match assess(state, text.clone(), json).await {
        Ok(Output::Json(bytes)) => download(bytes, "restless-report.json"),
        Ok(Output::Page(doc)) => report_page(&doc, &text),
        Err(e) => {
            let (status, message) = file_problem(&e);
            form_page(state, status, &Answers::default(), Some(&message))
        }
    }
}

fn value_of<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

async fn report_from_form(
    State(state): State<AppState>,
    form: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Response {
    let pairs = match form {
        Ok(Form(p)) => p,
        Err(e) => {
            let message = if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                "The answers are too large to send."
            } else {
                "The answers could not be read. Please fill in the form on this page and send it again."
            };
            return form_page(&state, e.status(), &Answers::default(), Some(message));
        }
    };
    let json = value_of(&pairs, "format") == Some("json");
    if let Some(document) = value_of(&pairs, "document").filter(|d| !d.trim().is_empty()) {
        return assess_document(&state, document.to_owned(), json).await;
    }
    let answers = Answers::from_pairs(&pairs);
    let built = match form::build(&answers, state.kb()) {
        Ok(b) => b,
        Err(with_errors) => {
            return form_page(&state, StatusCode::UNPROCESSABLE_ENTITY, &with_errors, None);
        }
    };
    if value_of(&pairs, "action") == Some("save") {
        let mut bytes = serde_json::to_vec_pretty(&built.doc).unwrap_or_default();
        bytes.push(b'\n');
        return download(bytes, "restless-answers.json");
    }
    let text = built.doc.to_string();
    match assess(&state, text.clone(), json).await {
        Ok(Output::Json(bytes)) => download(bytes, "restless-report.json"),
        Ok(Output::Page(doc)) => report_page(&doc, &text),
        Err(IngestError::Invalid(problems)) => {
            let mut a = answers;
            for p in problems {
                let message = form::problem_message(&p.expected);
                match form::field_for_path(&p.path, &built) {
                    Some(field) => {
                        a.errors.entry(field).or_insert(message);
                    }
                    None => a.notes.push(message),
                }
            }
            form_page(&state, StatusCode::UNPROCESSABLE_ENTITY, &a, None)
        }
        Err(e) => {
            let (status, message) = file_problem(&e);
            let mut a = answers;
            a.notes.push(message);
            form_page(&state, status, &a, None)
        }
    }
}

/// An upload: the document's text and whether the JSON report is wanted.
struct Upload {
    text: String,
    json: bool,
}

async fn read_upload(
    mp: Result<Multipart, MultipartRejection>,
) -> Result<Upload, (StatusCode, String)> {
    let bad = |m: &str| (StatusCode::BAD_REQUEST, m.to_owned());
    let mut mp = mp
        .map_err(|_| bad("Please choose a file, or paste its text, and press the button again."))?;
    let mut file = Vec::new();
    let mut pasted = String::new();
    let mut json = false;
    loop {
        let field = match mp.next_field().await {
            Ok(Some(f)) => f,
            Ok(None) => break,
            Err(e) => {
                return Err(if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                    (
                        StatusCode::PAYLOAD_TOO_LARGE,
                        "The file is too large to assess here.".to_owned(),
                    )
                } else {
                    bad("The upload was interrupted or garbled. Please try again.")
                });
            }
        };
        let name = field.name().unwrap_or("").to_owned();
        let bytes = field.bytes().await.map_err(|e| {
            if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
                (StatusCode::PAYLOAD_TOO_LARGE, "The file is too large to assess here.".to_owned())
            } else {
                bad("The upload was interrupted or garbled. Please try again.")
            }
        })?;
        match name.as_str() {
            "file" => file = bytes.to_vec(),
            "text" => pasted = String::from_utf8_lossy(&bytes).into_owned(),
            "format" => json = bytes.as_ref() == b"json",
            _ => {}
        }
    }
    let text = if file.iter().any(|b| !b.is_ascii_whitespace()) {
        let file = file.strip_prefix(b"\xEF\xBB\xBF").map_or(file.clone(), <[u8]>::to_vec);
        String::from_utf8(file).map_err(|_| {
            bad("This file is not a text file. Choose a FHIR Bundle (.json), FHIR NDJSON (.ndjson), \
                 or a file of answers saved from this page.")
        })?
    } else {
        pasted
    };
    if text.trim().is_empty() {
        return Err(bad(
            "The file is empty. Choose a file, or paste its text, and press the button again.",
        ));
    }
    Ok(Upload { text, json })
}

async fn upload(
    State(state): State<AppState>,
    mp: Result<Multipart, MultipartRejection>,
) -> Response {
    match read_upload(mp).await {
        Ok(u) => assess_document(&state, u.text, u.json).await,
        Err((status, message)) => form_page(&state, status, &Answers::default(), Some(&message)),
    }
}

async fn fill_from_file(
    State(state): State<AppState>,
    mp: Result<Multipart, MultipartRejection>,
) -> Response {
    let u = match read_upload(mp).await {
        Ok(u) => u,
        Err((status, message)) => {
            return form_page(&state, status, &Answers::default(), Some(&message));
        }
    };
    let doc: Value = match serde_json::from_str(&u.text) {
        Ok(v) => v,
        Err(e) => {
            let (status, message) = file_problem(&IngestError::Syntax {
                line: e.line(),
                column: e.column(),
                message: e.to_string().split(" at line ").next().unwrap_or("").to_owned(),
            });
            return form_page(&state, status, &Answers::default(), Some(&message));
        }
    };
    match form::from_json(&doc, state.kb()) {
        Ok(a) => form_page(&state, StatusCode::OK, &a, None),
        Err(message) => {
            form_page(&state, StatusCode::UNPROCESSABLE_ENTITY, &Answers::default(), Some(&message))
        }
    }
}

async fn useful(
    State(state): State<AppState>,
    form: Result<Form<Vec<(String, String)>>, FormRejection>,
) -> Response {
    let thanks = |status: StatusCode, text: &str| {
        page(
            status,
            "Thank you",
            &format!(
                "<h1>{}</h1>\n<p><a href=\"/\">Back to the questionnaire</a></p>\n",
                esc(text)
            ),
        )
    };
    let Ok(Form(pairs)) = form else {
        return thanks(
            StatusCode::BAD_REQUEST,
            "Please use the Yes or No button under the report.",
        );
    };
    let useful = match value_of(&pairs, "useful") {
        Some("yes") => true,
        Some("no") => false,
        _ => {
            return thanks(
                StatusCode::BAD_REQUEST,
                "Please use the Yes or No button under the report.",
            );
        }
    };
    // Only ids of the knowledge base are kept: nothing a person typed can reach the database.
    let mut causes: Vec<String> = pairs
        .iter()
        .filter(|(k, v)| k == "cause" && state.kb().cause(v).is_some())
        .map(|(_, v)| v.clone())
        .collect();
    causes.sort();
    causes.dedup();
    match state.db().store_useful(useful, causes).await {
        Ok(()) => thanks(StatusCode::OK, "Thank you for your answer."),
        Err(e) => {
            tracing::error!(error = %e, "storing usefulness feedback failed");
            thanks(StatusCode::SERVICE_UNAVAILABLE, "Sorry, your answer could not be saved.")
        }
    }
}

async fn asset(Path(name): Path<String>) -> Response {
    let (body, content_type) = match name.as_str() {
        "style.css" => (CSS, "text/css; charset=utf-8"),
        "app.js" => (JS, "text/javascript; charset=utf-8"),
        _ => return (StatusCode::NOT_FOUND, "no such asset").into_response(),
    };
    let mut resp = body.into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("public, max-age=3600"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    resp
}
