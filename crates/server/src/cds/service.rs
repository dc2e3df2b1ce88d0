//! `POST /cds-services/{id}`: one hook call. Authenticates the caller, reads the request
//! leniently, gathers the patient's data (prefetch, then the FHIR server for what is missing),
//! runs the engine and answers with cards. Order services look at the draft orders first and
//! answer at once, without fetching anything, when none of them could worsen restless legs.

use axum::body::{Body, Bytes};
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::Response;
use restless_facts::{Date, PatientRecord};
use restless_ingest::fhir::{Collector, Piece};
use serde_json::Value;

use super::cards::{self, Ctx};
use super::discovery::{ORDER_SELECT, hook_of};
use super::fetch::{Refusal, fetch, is_fhir_id};
use super::record::{draft_medications, read_collected};
use super::wire::{CdsResponse, HookRequest, ReadError};
use crate::access::CdsCall;
use crate::auth::{AuthError, Claims};
use crate::error::{ApiError, Problem, body_rejection};
use crate::state::AppState;

/// Verifies the caller's JWT (fail closed: any error is 401). The token's `aud` must be the
/// URL of the endpoint called (`{public_url}{path}`, CDS Hooks 2.0), or the configured
/// `--jwt-audience`; for feedback, the service's URL is accepted too.
pub(crate) async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    paths: &[&str],
) -> Result<Claims, ApiError> {
    let value = headers.get(header::AUTHORIZATION).and_then(|v| v.to_str().ok());
    let audiences: Vec<String> = match &state.config().auth.audience {
        Some(a) => vec![a.clone()],
        None => paths.iter().map(|p| format!("{}{p}", state.base_url())).collect(),
    };
    let mut last = None;
    for aud in &audiences {
        // The audience is checked before the token's id is remembered against replay, so a
        // second audience may be tried with the same token.
        match state.verifier().verify_for_audience(value, aud).await {
            Ok(claims) => return Ok(claims),
            Err(AuthError::WrongAudience) => last = Some(AuthError::WrongAudience),
            Err(e) => {
                last = Some(e);
                break;
            }
        }
    }
    let reason = last.map_or_else(|| "no audience".to_owned(), |e| e.to_string());
    tracing::warn!(error = %reason, "CDS call refused: token not accepted");
    Err(ApiError::Unauthorized(
        "a valid CDS Hooks JWT is required in the Authorization header (Bearer)".to_owned(),
    ))
}

/// What every CDS route checks first, in order: the service exists (404), the caller's token
/// is good for one of `paths` (401), and the body arrived within the limit (413). Returns the
/// service's hook, the verified claims and the body.
pub(crate) async fn admit(
    state: &AppState,
    id: &str,
    headers: &HeaderMap,
    body: Result<Bytes, BytesRejection>,
    paths: &[&str],
) -> Result<(&'static str, Claims, Bytes), ApiError> {
    let Some(hook) = hook_of(id) else {
        return Err(ApiError::NotFound(format!(
            "no CDS service `{id}`; GET /cds-services lists them"
        )));
    };
    let claims = authenticate(state, headers, paths).await?;
    let body = body.map_err(|e| body_rejection(&e, state.config().limits.cds_body_bytes))?;
    Ok((hook, claims, body))
}

/// Parses a JSON body, reporting syntax errors with line and column.
pub(crate) fn parse_json(body: &[u8]) -> Result<Value, ApiError> {
    serde_json::from_slice(body).map_err(|e| syntax_error(&e))
}

/// A JSON syntax error as a 400 naming the line and column.
fn syntax_error(e: &serde_json::Error) -> ApiError {
    let message = e.to_string();
    let message = message.split(" at line ").next().unwrap_or(&message).to_owned();
    ApiError::Syntax { line: e.line(), column: e.column(), message }
}

/// Call a CDS service.
#[utoipa::path(
    post,
    path = "/cds-services/{id}",
    tag = "cds-hooks",
    params(("id" = String, Path, description = "Service id from discovery")),
    request_body(content = Object, description = "A CDS Hooks 2.0 request", content_type = "application/json"),
    responses(
        (status = 200, description = "Cards (none when there is nothing useful to say)", body = CdsResponse),
        (status = 400, description = "Not JSON, or not a JSON object", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid JWT", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such service", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "No patient data in prefetch and none obtainable from the FHIR server", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Body larger than the limit", body = Problem, content_type = "application/problem+json"),
        (status = 503, description = "Overloaded or timed out", body = Problem, content_type = "application/problem+json")
    ),
    security(("jwt" = []))
)]
pub(crate) async fn call(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    let (hook, _, body) =
        admit(&state, &id, &headers, body, &[&format!("/cds-services/{id}")]).await?;
    let mut notes = Vec::new();
    let req = HookRequest::read(&body, &mut notes).map_err(|e| match e {
        ReadError::Syntax(e) => syntax_error(&e),
        ReadError::NotObject => ApiError::BadRequest {
            detail: "a CDS Hooks request must be a JSON object".to_owned(),
            errors: Vec::new(),
        },
    })?;
    if let Some(h) = &req.hook
        && h != hook
    {
        notes.push(format!("/hook: `{}` sent to the {hook} service", short_name(h)));
    }
    for n in &notes {
        tracing::warn!(service = %id, note = %n, "CDS request read leniently");
    }
    // The CPU work below runs on this task without awaiting. Yielding once first lets every
    // connection with a request ready reach this point before any is computed, so requests
    // waiting for a CPU are counted by the concurrency limit (and the excess shed with 503)
    // instead of waiting unseen in the scheduler's queue.
    tokio::task::yield_now().await;
    let as_of = state.today();
    let patient_id = req.patient_id.as_deref().filter(|p| is_fhir_id(p));
    let ctx = Ctx { kb: state.kb(), base_url: state.base_url(), as_of, patient_id };
    // The work below is a fraction of a millisecond of CPU: it runs on the request's own task
    // (a hand-off to the blocking pool cost more than it saved; the concurrency limit keeps
    // the workers from being swamped).
    let cards = if hook == "patient-view" {
        let record = gather(&state, &req, as_of).await?;
        let a = assess(ctx.kb, &record, as_of);
        cards::patient_view(&ctx, &a, &record)
    } else {
        if !req.has_draft_orders {
            tracing::warn!(service = %id, "CDS request without context.draftOrders: no cards");
        }
        let mut drafts = draft_medications(&req.draft_orders, ctx.kb, as_of);
        if id == ORDER_SELECT {
            if req.has_selections {
                drafts.retain(|d| req.selections.iter().any(|s| s == &d.reference));
            } else {
                tracing::warn!(service = %id, "order-select without context.selections: every draft order considered");
            }
        }
        let relevant = cards::aggravating_classes(ctx.kb);
        let t = ctx.kb.terminology();
        drafts.retain(|d| {
            t.classes_of(&d.fact.ingredients, &d.fact.classes).any(|c| relevant.contains(&c))
        });
        if drafts.is_empty() {
            Vec::new()
        } else {
            let record = gather(&state, &req, as_of).await?;
            let baseline = assess(ctx.kb, &record, as_of);
            if cards::has_rls(&baseline) {
                let mut with = record;
                with.medications.extend(drafts.iter().map(|d| d.fact.clone()));
                let after = assess(ctx.kb, &with, as_of);
                cards::draft_orders(&ctx, &baseline, &after, &drafts)
            } else {
                Vec::new()
            }
        }
    };
    for c in &cards {
        state.metrics().cards_issued(&id, c.indicator.name(), 1);
    }
    let call = CdsCall { cards: cards.len(), service: id };
    // Written by `CdsResponse::to_json`, byte for byte what `Json` would write, faster.
    let json = CdsResponse { cards }
        .to_json()
        .map_err(|e| ApiError::Internal(format!("writing the answer: {e}")))?;
    let mut response = Response::new(Body::from(json));
    response
        .headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    // For the access line (see `access`).
    response.extensions_mut().insert(call);
    Ok(response)
}

/// A hook name fit for a log line: known names as they are, anything else redacted.
fn short_name(h: &str) -> &str {
    if h.len() <= 40 && h.bytes().all(|b| b.is_ascii_lowercase() || b == b'-') {
        h
    } else {
        "(unrecognised)"
    }
}

/// The patient's data from prefetch, completed from the FHIR server when possible.
///
/// # Errors
/// 412 when no data at all could be obtained.
async fn gather(
    state: &AppState,
    req: &HookRequest<'_>,
    as_of: Date,
) -> Result<PatientRecord, ApiError> {
    let templates = state.prefetch_templates();
    let mut notes = Vec::new();
    // Prefetched values as the request's own pass split (and partly parsed) them, read below
    // without building what restless does not use.
    let mut pieces: Vec<(String, &Piece<'_>)> = Vec::new();
    // Resources obtained as trees: further pages and resources fetched.
    let mut resources: Vec<Value> = Vec::new();
    let mut have_data = false;
    let mut missing = Vec::new();
    // Prefetched searches with further pages (key, URL of the next page); their first page is
    // read with the rest of the prefetch.
    let mut paged = Vec::new();
    for (key, template) in templates {
        match req.prefetch.get(*key).filter(|p| !p.is_null()) {
            None => missing.push(((*key).to_owned(), template.clone())),
            Some(piece) => {
                have_data = true;
                // Further pages matter only when restless may follow them.
                if req.fhir_authorization.is_some()
                    && let Some(next) = piece.next_link()
                {
                    paged.push(((*key).to_owned(), next));
                }
                pieces.push((format!("/prefetch/{key}"), piece));
            }
        }
    }
    // Prefetch under other keys (a client's own template names) is data too.
    for (key, piece) in &req.prefetch {
        if templates.iter().any(|(k, _)| k == key) || piece.is_null() {
            continue;
        }
        pieces.push(("/prefetch/(other key)".to_owned(), piece));
    }
    if !missing.is_empty() || !paged.is_empty() {
        let n_missing = missing.len();
        match fetch(state, req, missing, paged).await {
            Ok(fetched) => {
                for (_, found) in fetched {
                    have_data = true;
                    resources.extend(found);
                }
            }
            Err(why) => {
                // Searches whose further pages could not be followed count as their first page.
                match why {
                    Refusal::NoServer => tracing::debug!(
                        missing = n_missing,
                        "prefetch incomplete and no fhirServer with fhirAuthorization"
                    ),
                    Refusal::NoPatient => tracing::warn!(
                        "prefetch incomplete and context.patientId missing or not a FHIR id"
                    ),
                    Refusal::NotAllowed => {
                        state.metrics().fhir_fetch("refused");
                        tracing::warn!(
                            "fhirServer not on the allow-list or not http(s); not called"
                        );
                    }
                }
            }
        }
    }
    let mut collector = Collector::new(state.loinc_filter()).typed(state.kb(), as_of);
    for (path, piece) in pieces {
        // The body was checked to be JSON as a whole, so this does not fail in practice.
        if collector.add_piece(piece, req.source, &path).is_err() {
            notes.push(format!("{path}: not JSON; ignored"));
        }
    }
    // (Template keys counted already, even when empty.)
    have_data |= collector.stats.read > 0;
    notes.append(&mut collector.stats.notes);
    for n in notes {
        tracing::warn!(note = %n, "CDS prefetch read leniently");
    }
    if !have_data {
        return Err(ApiError::PreconditionFailed(
            "no patient data: send the prefetch listed at GET /cds-services, or fhirServer with \
             fhirAuthorization so that restless can fetch it"
                .to_owned(),
        ));
    }
    Ok(read_collected(collector, resources, state.kb(), as_of).unwrap_or_default())
}

/// The assessment cards are made from: evidence and advice of present findings, no follow-up
/// questions or reference lists (cards link to the cause's page for those).
fn assess(
    kb: &restless_kb::Kb,
    record: &PatientRecord,
    as_of: Date,
) -> restless_engine::Assessment {
    restless_engine::assess_with(kb, record, as_of, restless_engine::AssessOptions::cards())
}
