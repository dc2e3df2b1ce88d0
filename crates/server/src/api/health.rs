//! `GET /healthz` (the process answers) and `GET /readyz` (the database answers and the server
//! is not shutting down). Both stay outside the concurrency limit so probes work under load.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;

use crate::state::AppState;

/// A probe's answer.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Health {
    /// ok | ready | not-ready
    status: &'static str,
    /// restless version.
    version: &'static str,
    /// Knowledge-base version.
    kb_version: String,
    /// Why not ready.
    #[serde(skip_serializing_if = "Option::is_none")]
    reason: Option<String>,
}

/// Liveness.
#[utoipa::path(get, path = "/healthz", tag = "operations",
    responses((status = 200, description = "The process is alive", body = Health)))]
pub(crate) async fn healthz(State(state): State<AppState>) -> Json<Health> {
    Json(Health {
        status: "ok",
        version: restless_report::ENGINE_VERSION,
        kb_version: state.kb().version().to_owned(),
        reason: None,
    })
}

/// Readiness.
#[utoipa::path(get, path = "/readyz", tag = "operations",
    responses(
        (status = 200, description = "Ready to serve", body = Health),
        (status = 503, description = "Not ready: the database does not answer or the server is \
            shutting down", body = Health)
    ))]
pub(crate) async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<Health>) {
    let reason = if state.draining() {
        Some("shutting down".to_owned())
    } else {
        state.db().ping().await.err().map(|e| {
            tracing::warn!(error = %e, "readiness: database check failed");
            "database unavailable".to_owned()
        })
    };
    let status = if reason.is_some() { StatusCode::SERVICE_UNAVAILABLE } else { StatusCode::OK };
    (
        status,
        Json(Health {
            status: if reason.is_some() { "not-ready" } else { "ready" },
            version: restless_report::ENGINE_VERSION,
            kb_version: state.kb().version().to_owned(),
            reason,
        }),
    )
}
