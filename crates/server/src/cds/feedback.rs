//! `POST /cds-services/{id}/feedback`: what the clinician did with a card (accepted, with the
//! suggestions taken, or overridden, with a reason). Stored in the database and committed before
//! the 200 answer, so an acknowledged record is never lost. Items missing `card` or `outcome`
//! make the whole request 400 (nothing stored), naming each place; a missing
//! `outcomeTimestamp` is tolerated.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::http::HeaderMap;
use serde::Serialize;
use serde_json::Value;
use utoipa::ToSchema;

use restless_kb::Kb;

use super::cards::card_of_uuid;
use super::service::{admit, parse_json};
use crate::db::NewFeedback;
use crate::error::{ApiError, FieldError, Problem};
use crate::state::AppState;

/// The answer to a feedback request.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct FeedbackStored {
    /// Records stored.
    stored: usize,
}

fn field(path: String, detail: &str) -> FieldError {
    FieldError { pointer: Some(format!("#{path}")), parameter: None, detail: detail.to_owned() }
}

fn text(v: Option<&Value>) -> Option<String> {
    v.and_then(Value::as_str).map(str::to_owned)
}

/// Reads the items; every problem is collected with its pointer.
fn read(
    service: &str,
    issuer: &str,
    kb: &Kb,
    v: &Value,
) -> Result<Vec<NewFeedback>, Vec<FieldError>> {
    let Some(items) = v.get("feedback").and_then(Value::as_array) else {
        return Err(vec![field("/feedback".into(), "an array of feedback items")]);
    };
    let mut out = Vec::new();
    let mut errors = Vec::new();
    for (i, item) in items.iter().enumerate() {
        let at = |k: &str| format!("/feedback/{i}/{k}");
        let card = text(item.get("card")).filter(|c| !c.trim().is_empty());
        if card.is_none() {
            errors.push(field(at("card"), "the uuid of the card"));
        }
        let outcome = text(item.get("outcome"));
        match outcome.as_deref() {
            Some("accepted" | "overridden") => {}
            _ => errors.push(field(at("outcome"), "`accepted` or `overridden`")),
        }
        if item.get("outcomeTimestamp").and_then(Value::as_str).is_none() {
            tracing::warn!(path = %at("outcomeTimestamp"), "feedback without outcomeTimestamp");
        }
        let accepted: Vec<String> = item
            .get("acceptedSuggestions")
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(|s| text(s.get("id"))).collect())
            .unwrap_or_default();
        let reason = item.get("overrideReason");
        let coding = reason.and_then(|r| r.get("reason"));
        if let (Some(card), Some(outcome)) = (card, outcome) {
            let issued = card_of_uuid(kb, &card);
            out.push(NewFeedback {
                service: service.to_owned(),
                card,
                outcome,
                outcome_timestamp: text(item.get("outcomeTimestamp")),
                accepted_suggestions: accepted,
                override_code: text(coding.and_then(|c| c.get("code"))),
                override_system: text(coding.and_then(|c| c.get("system"))),
                override_display: text(coding.and_then(|c| c.get("display"))),
                user_comment: text(reason.and_then(|r| r.get("userComment"))),
                issuer: issuer.to_owned(),
                indicator: issued.as_ref().map(|(_, i)| i.name().to_owned()),
                topic: issued.map(|(t, _)| t),
            });
        }
    }
    if errors.is_empty() { Ok(out) } else { Err(errors) }
}

/// Record what the clinician did with cards.
#[utoipa::path(
    post,
    path = "/cds-services/{id}/feedback",
    tag = "cds-hooks",
    params(("id" = String, Path, description = "Service id from discovery")),
    request_body(content = Object, description = "CDS Hooks 2.0 feedback: `{\"feedback\": [...]}`", content_type = "application/json"),
    responses(
        (status = 200, description = "Stored (committed to disk)", body = FeedbackStored),
        (status = 400, description = "Malformed, or items without card or outcome (nothing stored)", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "No valid JWT", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such service", body = Problem, content_type = "application/problem+json")
    ),
    security(("jwt" = []))
)]
pub(crate) async fn feedback(
    State(state): State<AppState>,
    Path(id): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Json<FeedbackStored>, ApiError> {
    let feedback_path = format!("/cds-services/{id}/feedback");
    let service_path = format!("/cds-services/{id}");
    let (_, claims, body) =
        admit(&state, &id, &headers, body, &[&feedback_path, &service_path]).await?;
    let value = parse_json(&body)?;
    let items =
        read(&id, &claims.iss, state.kb(), &value).map_err(|errors| ApiError::BadRequest {
            detail: format!(
                "{} feedback problem(s); nothing was stored; see `errors`",
                errors.len()
            ),
            errors,
        })?;
    let outcomes: Vec<String> = items.iter().map(|f| f.outcome.clone()).collect();
    let stored = state
        .db()
        .store_feedback(items)
        .await
        .map_err(|e| ApiError::Internal(format!("storing feedback: {e}")))?;
    for o in &outcomes {
        state.metrics().feedback_stored(&id, o);
    }
    tracing::info!(service = %id, stored, "CDS feedback stored");
    Ok(Json(FeedbackStored { stored }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn kb() -> Kb {
        Kb::embedded().unwrap()
    }

    #[test]
    fn every_bad_item_is_named() {
        let v = json!({"feedback": [
            {"card": "a", "outcome": "accepted", "outcomeTimestamp": "2026-01-01T00:00:00Z"},
            {"outcome": "maybe"},
        ]});
        let errors = read("s", "iss", &kb(), &v).unwrap_err();
        let pointers: Vec<_> = errors.iter().filter_map(|e| e.pointer.clone()).collect();
        assert_eq!(pointers, ["#/feedback/1/card", "#/feedback/1/outcome"]);
    }

    #[test]
    fn override_reasons_are_kept() {
        let v = json!({"feedback": [{"card": "9368d37b", "outcome": "overridden",
            "overrideReason": {"reason": {"code": "d7ecf885", "system": "https://example.com/r"},
                               "userComment": "A comment"},
            "outcomeTimestamp": "2020-12-11T00:00:00Z"}]});
        let items = read("s", "iss", &kb(), &v).unwrap();
        assert_eq!(items[0].override_code.as_deref(), Some("d7ecf885"));
        assert_eq!(items[0].user_comment.as_deref(), Some("A comment"));
    }
}
