//! `GET /v1/causes` and `/v1/causes/{id}`: the knowledge base, as JSON or, for a browser (the
//! links on CDS cards), as HTML.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{Html, IntoResponse, Response};
use restless_kb::Cause;
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::{ApiError, Problem};
use crate::state::AppState;

/// The knowledge base in brief.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CauseList {
    /// Knowledge-base version.
    kb_version: String,
    /// When it was last reviewed.
    kb_reviewed: String,
    /// Every entry.
    causes: Vec<CauseSummary>,
}

/// One entry in brief.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CauseSummary {
    /// Stable id.
    id: String,
    /// Name.
    name: String,
    /// secondary-cause | aggravator | primary-risk | mimic
    kind: String,
    /// strong | moderate | weak | contested
    strength: String,
    /// What it is.
    summary: String,
    /// Where the full entry is.
    url: String,
}

/// One entry in full.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct CauseDetail {
    /// Stable id.
    id: String,
    /// Name.
    name: String,
    /// secondary-cause | aggravator | primary-risk | mimic
    kind: String,
    /// strong | moderate | weak | contested
    strength: String,
    /// What it is.
    summary: String,
    /// The evidence behind it.
    evidence: String,
    /// How the seed claim is qualified.
    #[serde(skip_serializing_if = "Option::is_none")]
    qualifies_seed: Option<String>,
    /// How restless decides, one line per status.
    detection: Vec<String>,
    /// What to do.
    advice: String,
    /// Sources.
    references: Vec<ReferenceOut>,
    /// Seed claims answered.
    seed: Vec<String>,
    /// Last review.
    reviewed: String,
}

/// A source.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct ReferenceOut {
    /// Id.
    id: String,
    /// Citation.
    citation: String,
    /// Link.
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<String>,
}

fn summary(c: &Cause, base: &str) -> CauseSummary {
    CauseSummary {
        id: c.id.clone(),
        name: c.name.clone(),
        kind: c.kind.name().to_owned(),
        strength: c.strength.name().to_owned(),
        summary: c.summary.clone(),
        url: format!("{base}/v1/causes/{}", c.id),
    }
}

fn html(body: String) -> Response {
    let mut r = Html(body).into_response();
    r.headers_mut().insert(header::VARY, HeaderValue::from_static("accept"));
    r
}

fn json<T: Serialize>(v: T) -> Response {
    let mut r = Json(v).into_response();
    r.headers_mut().insert(header::VARY, HeaderValue::from_static("accept"));
    r
}

/// Every cause, aggravator, risk factor and look-alike.
#[utoipa::path(
    get,
    path = "/v1/causes",
    tag = "knowledge base",
    responses((status = 200, description = "The list (HTML when `Accept` prefers text/html)",
        content((CauseList = "application/json"), (String = "text/html"))))
)]
pub(crate) async fn list(State(state): State<AppState>, headers: HeaderMap) -> Response {
    let kb = state.kb();
    if super::wants_html(&headers) {
        return html(super::html::cause_list(kb, state.base_url()));
    }
    json(CauseList {
        kb_version: kb.version().to_owned(),
        kb_reviewed: kb.reviewed().to_string(),
        causes: kb.causes().iter().map(|c| summary(c, state.base_url())).collect(),
    })
}

/// One entry: what it is, how it is detected, the evidence and its sources.
#[utoipa::path(
    get,
    path = "/v1/causes/{id}",
    tag = "knowledge base",
    params(("id" = String, Path, description = "Cause id, e.g. `iron-deficiency`")),
    responses(
        (status = 200, description = "The entry (HTML when `Accept` prefers text/html)",
            content((CauseDetail = "application/json"), (String = "text/html"))),
        (status = 404, description = "No such entry", body = Problem,
            content_type = "application/problem+json")
    )
)]
pub(crate) async fn show(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let kb = state.kb();
    let Some(c) = kb.cause(&id) else {
        return Err(ApiError::NotFound(format!(
            "no entry `{id}` in the knowledge base; GET /v1/causes lists them"
        )));
    };
    if super::wants_html(&headers) {
        return Ok(html(super::html::cause(kb, c, state.base_url())));
    }
    Ok(json(CauseDetail {
        id: c.id.clone(),
        name: c.name.clone(),
        kind: c.kind.name().to_owned(),
        strength: c.strength.name().to_owned(),
        summary: c.summary.clone(),
        evidence: c.evidence.clone(),
        qualifies_seed: c.qualifies_seed.clone(),
        detection: restless_report::kb_page::rule_in_words(c)
            .into_iter()
            .map(|(when, words)| format!("{when}: {words}"))
            .collect(),
        advice: c.advice.clone(),
        references: c
            .references
            .iter()
            .map(|r| match kb.reference(r) {
                Some(x) => ReferenceOut {
                    id: x.id.clone(),
                    citation: x.citation.clone(),
                    url: x.url.clone(),
                },
                None => ReferenceOut { id: r.clone(), citation: String::new(), url: None },
            })
            .collect(),
        seed: c.seed.clone(),
        reviewed: c.reviewed.to_string(),
    }))
}
