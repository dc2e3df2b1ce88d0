//! Errors as HTTP responses: `application/problem+json` (RFC 9457) with a stable `code`, a
//! message a person can act on, and, for input errors, the JSON pointer of every place at
//! fault. Messages name places, never a patient's values; internal details are logged, not
//! sent.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use restless_ingest::IngestError;
use serde::Serialize;
use utoipa::ToSchema;

/// The media type of error bodies.
pub(crate) const PROBLEM_JSON: &str = "application/problem+json";

/// An error body (RFC 9457).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// Always `about:blank`: `code` says what went wrong.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Short, the same for every occurrence of the code.
    pub title: &'static str,
    /// The HTTP status.
    pub status: u16,
    /// What went wrong here and how to fix it.
    pub detail: String,
    /// Stable machine-readable code (`invalid-json`, `invalid-input`, `not-found`, …).
    pub code: &'static str,
    /// Line of a JSON syntax error, 1-based.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<usize>,
    /// Column of a JSON syntax error, 1-based.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<usize>,
    /// Every place at fault.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldError>,
}

/// One place at fault.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct FieldError {
    /// JSON pointer into the request body, as a URI fragment (`#/labs/0/value`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pointer: Option<String>,
    /// The query parameter at fault.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub parameter: Option<String>,
    /// What was expected there.
    pub detail: String,
}

/// Everything a handler can fail with.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// The body is not JSON.
    #[error("line {line}, column {column}: malformed JSON: {message}")]
    Syntax {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// The parser's message.
        message: String,
    },
    /// JSON, but not usable: each problem with its pointer.
    #[error("{detail}")]
    Invalid {
        /// Summary.
        detail: String,
        /// The places.
        errors: Vec<FieldError>,
    },
    /// The request itself is wrong (a parameter, an empty body).
    #[error("{detail}")]
    BadRequest {
        /// What is wrong.
        detail: String,
        /// The places.
        errors: Vec<FieldError>,
    },
    /// No such resource.
    #[error("{0}")]
    NotFound(String),
    /// The body is larger than the route accepts.
    #[error("the request body is larger than {limit} bytes")]
    TooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// No valid token.
    #[error("{0}")]
    Unauthorized(String),
    /// The CDS service has no data to work on (CDS Hooks 2.0: 412).
    #[error("{0}")]
    PreconditionFailed(String),
    /// Too many requests at once.
    #[error("the server is at its limit of concurrent requests; retry shortly")]
    Overloaded,
    /// The request took longer than allowed.
    #[error("the request took longer than the server's {0} s limit")]
    Timeout(u64),
    /// A bug or a failing dependency; the detail is logged, not sent.
    #[error("internal error: {0}")]
    Internal(String),
}

impl ApiError {
    /// An input error from the adapters, with every JSON pointer.
    pub fn from_ingest(e: IngestError) -> ApiError {
        match e {
            IngestError::Syntax { line, column, message } => {
                ApiError::Syntax { line, column, message }
            }
            IngestError::Invalid(problems) => ApiError::Invalid {
                detail: format!(
                    "the document cannot be used: {} problem(s); see `errors`",
                    problems.len()
                ),
                errors: problems
                    .into_iter()
                    .map(|p| FieldError {
                        pointer: Some(format!("#{}", p.path)),
                        parameter: None,
                        detail: format!("expected {}", p.expected),
                    })
                    .collect(),
            },
            other => ApiError::Invalid { detail: other.to_string(), errors: Vec::new() },
        }
    }

    /// A bad query parameter.
    pub fn parameter(name: &str, detail: impl Into<String>) -> ApiError {
        let detail = detail.into();
        ApiError::BadRequest {
            detail: format!("query parameter `{name}`: {detail}"),
            errors: vec![FieldError { pointer: None, parameter: Some(name.to_owned()), detail }],
        }
    }

    /// The HTTP status.
    #[must_use]
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::Syntax { .. } | ApiError::BadRequest { .. } => StatusCode::BAD_REQUEST,
            ApiError::Invalid { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            ApiError::PreconditionFailed(_) => StatusCode::PRECONDITION_FAILED,
            ApiError::Overloaded | ApiError::Timeout(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The problem document.
    #[must_use]
    pub fn problem(&self) -> Problem {
        let (code, title) = match self {
            ApiError::Syntax { .. } => ("invalid-json", "The body is not valid JSON"),
            ApiError::Invalid { .. } => ("invalid-input", "The document cannot be used"),
            ApiError::BadRequest { .. } => ("bad-request", "The request is not valid"),
            ApiError::NotFound(_) => ("not-found", "Not found"),
            ApiError::TooLarge { .. } => ("body-too-large", "The request body is too large"),
            ApiError::Unauthorized(_) => ("unauthorized", "Authentication failed"),
            ApiError::PreconditionFailed(_) => {
                ("data-unavailable", "The data the service needs is unavailable")
            }
            ApiError::Overloaded => ("overloaded", "The server is busy"),
            ApiError::Timeout(_) => ("timeout", "The request timed out"),
            ApiError::Internal(_) => ("internal", "Internal server error"),
        };
        let (line, column) = match self {
            ApiError::Syntax { line, column, .. } => (Some(*line), Some(*column)),
            _ => (None, None),
        };
        let errors = match self {
            ApiError::Invalid { errors, .. } | ApiError::BadRequest { errors, .. } => {
                errors.clone()
            }
            _ => Vec::new(),
        };
        let detail = match self {
            // Never send internals.
            ApiError::Internal(_) => {
                "something went wrong on the server; it has been logged".to_owned()
            }
            other => other.to_string(),
        };
        Problem {
            kind: "about:blank",
            title,
            status: self.status().as_u16(),
            detail,
            code,
            line,
            column,
            errors,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(detail) = &self {
            tracing::error!(error = %detail, "internal error");
        }
        let status = self.status();
        let body = serde_json::to_vec(&self.problem()).unwrap_or_default();
        let mut resp = (status, body).into_response();
        let h = resp.headers_mut();
        h.insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        match self {
            ApiError::Unauthorized(_) => {
                h.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
            }
            ApiError::Overloaded => {
                h.insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            _ => {}
        }
        resp
    }
}

/// Maps axum's body rejection: too large is 413, anything else 400.
pub(crate) fn body_rejection(
    e: &axum::extract::rejection::BytesRejection,
    limit: usize,
) -> ApiError {
    if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
        ApiError::TooLarge { limit }
    } else {
        ApiError::BadRequest { detail: format!("cannot read the body: {e}"), errors: Vec::new() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use restless_ingest::Problem as IngestProblem;

    #[test]
    fn ingest_problems_keep_their_pointers() {
        let e = ApiError::from_ingest(IngestError::Invalid(vec![
            IngestProblem::new("/labs/0/value", "a number"),
            IngestProblem::new("", "a JSON object"),
        ]));
        assert_eq!(e.status(), StatusCode::UNPROCESSABLE_ENTITY);
        let p = serde_json::to_value(e.problem()).unwrap();
        assert_eq!(p["errors"][0]["pointer"], "#/labs/0/value");
        assert_eq!(p["errors"][1]["pointer"], "#");
        assert_eq!(p["code"], "invalid-input");
    }

    #[test]
    fn internal_details_are_not_sent() {
        let p = ApiError::Internal("disk on fire at /secret".into()).problem();
        assert!(!p.detail.contains("secret"));
    }
}
