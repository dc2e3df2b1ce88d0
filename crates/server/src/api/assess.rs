//! `POST /v1/assess`: one person's data (a restless questionnaire or FHIR R4 JSON/NDJSON,
//! detected by content) in, the JSON report v1 out — byte for byte what
//! `restless assess --format json` prints — or, when the client prefers `text/html`, the web
//! page's report as one self-contained HTML document (`web::report::standalone`).

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use restless_facts::Date;
use restless_report::Report;
use serde::Deserialize;
use utoipa::IntoParams;

use crate::error::{ApiError, Problem, body_rejection};
use crate::state::AppState;

/// The Content-Security-Policy of the standalone HTML report: inline style only.
const STANDALONE_CSP: &str = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; \
    form-action 'none'; frame-ancestors 'none'";

/// Query parameters of `/v1/assess`.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub(crate) struct AssessParams {
    /// Evaluation date, YYYY-MM-DD; default today (server time).
    as_of: Option<String>,
}

/// Assess one person.
#[utoipa::path(
    post,
    path = "/v1/assess",
    tag = "assess",
    params(AssessParams),
    request_body(
        content = serde_json::Value,
        description = "A restless questionnaire (schemas/questionnaire.schema.json), a FHIR R4 \
            resource or Bundle, or FHIR NDJSON; the format is detected by content.",
        content_type = "application/json"
    ),
    responses(
        (status = 200, description = "The assessment: JSON report version 1 (see the contract), \
            or an HTML page when `Accept` prefers text/html.",
            content(
                (serde_json::Value = "application/json"),
                (String = "text/html")
            )),
        (status = 400, description = "Malformed JSON (with line and column), an empty body or \
            a bad parameter", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body larger than the limit", body = Problem,
            content_type = "application/problem+json"),
        (status = 422, description = "JSON that cannot be used; `errors` names every JSON \
            pointer at fault", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Overloaded or timed out", body = Problem,
            content_type = "application/problem+json")
    )
)]
pub(crate) async fn assess(
    State(state): State<AppState>,
    query: Result<Query<AssessParams>, QueryRejection>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let Query(params) = query.map_err(|e| ApiError::BadRequest {
        detail: format!("query string: {e}"),
        errors: Vec::new(),
    })?;
    let as_of = match params.as_of.as_deref() {
        None | Some("") => state.today(),
        Some(s) => Date::parse_from_str(s, "%Y-%m-%d")
            .map_err(|_| ApiError::parameter("as_of", "expected a date as YYYY-MM-DD"))?,
    };
    let body = body.map_err(|e| body_rejection(&e, state.config().limits.cds_body_bytes))?;
    let text = String::from_utf8(body.to_vec()).map_err(|e| ApiError::BadRequest {
        detail: format!("the body is not UTF-8 text (byte {})", e.utf8_error().valid_up_to()),
        errors: Vec::new(),
    })?;
    if text.trim().is_empty() {
        return Err(ApiError::BadRequest {
            detail: "the body is empty: send a restless questionnaire or FHIR R4 JSON".to_owned(),
            errors: Vec::new(),
        });
    }
    let html = super::wants_html(&headers);
    let st = state.clone();
    // The engine is CPU-bound: keep it off the async workers.
    let rendered = tokio::task::spawn_blocking(move || -> Result<Vec<u8>, ApiError> {
        let kb = st.kb();
        let ingested = restless_ingest::read(&text, kb, as_of).map_err(ApiError::from_ingest)?;
        let assessment = restless_engine::assess(kb, &ingested.record, as_of);
        let report = Report { assessment: &assessment, kb, warnings: &ingested.warnings };
        if html {
            let doc = restless_report::json::v1::to_value(&report);
            Ok(crate::web::report::standalone(&doc).into_bytes())
        } else {
            let mut out = Vec::new();
            restless_report::json::v1::write(&report, &mut out)
                .map_err(|e| ApiError::Internal(format!("writing the report: {e}")))?;
            Ok(out)
        }
    })
    .await
    .map_err(|e| ApiError::Internal(format!("assessment task: {e}")))??;
    let content_type = if html { "text/html; charset=utf-8" } else { "application/json" };
    let mut resp = rendered.into_response();
    let h = resp.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(header::VARY, HeaderValue::from_static("accept"));
    // A person's health data: never kept by a cache.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(header::X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"));
    if html {
        // The page is self-contained: its inline style sheet and nothing else may load.
        h.insert(header::CONTENT_SECURITY_POLICY, HeaderValue::from_static(STANDALONE_CSP));
        h.insert(header::REFERRER_POLICY, HeaderValue::from_static("no-referrer"));
    }
    Ok(resp)
}
