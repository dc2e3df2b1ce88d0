//! `restless serve`: the REST API and the HL7 CDS Hooks 2.0 services over the same engine as
//! `restless assess`.
//!
//! [`router`] builds the whole application from an [`AppState`] (tests drive it without a
//! socket); [`serve`] binds, logs, hands each connection to one of the worker threads (each
//! with a single-threaded runtime) until SIGTERM or Ctrl-C, lets requests in flight finish and
//! closes the database.
//!
//! Layers, outermost first: the access layer (`access.rs`: request ids kept when well formed or
//! generated, one access line per request with request id, method, route template, status and
//! latency — never bodies, paths of patients' resources, query strings or headers — and the
//! request metrics); then, for every route except the probes and `/metrics`,
//! load shedding over a global concurrency limit (503 at once instead of a queue) and a request
//! timeout; per group, body limits (`/v1/assess` and CDS Hooks: large, others: small) and CORS
//! on the CDS Hooks routes.

mod access;
mod api;
pub mod auth;
pub mod cds;
pub mod config;
pub mod db;
mod error;
mod logging;
pub mod metrics;
mod random;
mod state;
mod web;
mod workers;

use std::future::Future;
use std::net::SocketAddr;
use std::time::Duration;

use axum::Router;
use axum::error_handling::HandleErrorLayer;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, Method, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use restless_kb::{Kb, LoadError};
use tower::limit::GlobalConcurrencyLimitLayer;
use tower::{BoxError, ServiceBuilder};
use tower_http::cors::{Any, CorsLayer};
use tower_http::set_header::SetResponseHeaderLayer;

pub use config::{ConfigError, ServeArgs, ServeConfig};
pub use error::{ApiError, FieldError, Problem};
pub use logging::{Line as LogLine, init_logging};
pub use state::{AppState, StateError};

const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Why the server could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// Bad settings.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The knowledge base is not valid.
    #[error("{0}")]
    Kb(String),
    /// The state (database, HTTP client) could not be set up.
    #[error(transparent)]
    State(#[from] StateError),
    /// The address cannot be bound.
    #[error("cannot listen on {addr}: {message}")]
    Bind {
        /// The address.
        addr: SocketAddr,
        /// Why.
        message: String,
    },
    /// Serving failed.
    #[error("server: {0}")]
    Io(#[from] std::io::Error),
    /// The database did not close cleanly.
    #[error(transparent)]
    Db(#[from] db::DbError),
}

impl ServeError {
    /// Whether the user can fix it by changing the command line or the files it names (exit
    /// code 2).
    #[must_use]
    pub fn is_usage(&self) -> bool {
        matches!(self, ServeError::Config(_) | ServeError::Kb(_) | ServeError::Bind { .. })
    }
}

/// The whole application.
pub fn router(state: AppState) -> Router {
    let limits = state.config().limits.clone();
    let cors = CorsLayer::new()
        .allow_origin(Any)
        .allow_methods([Method::GET, Method::POST, Method::OPTIONS])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE, header::ACCEPT])
        .expose_headers([REQUEST_ID])
        .max_age(Duration::from_secs(24 * 3600));
    let cds_routes = Router::new()
        .route("/cds-services", get(cds::discovery::discover))
        .route("/cds-services/{id}", post(cds::service::call))
        .route("/cds-services/{id}/feedback", post(cds::feedback::feedback))
        // One `layer` call: axum boxes each route's service once per call, and clones every
        // box of a route for each request.
        .layer(
            ServiceBuilder::new()
                .layer(cors)
                // Cards carry a patient's evidence: no cache may keep them.
                .layer(SetResponseHeaderLayer::if_not_present(
                    header::CACHE_CONTROL,
                    HeaderValue::from_static("no-store"),
                ))
                .layer(DefaultBodyLimit::max(limits.cds_body_bytes)),
        );
    let assess = Router::new()
        .route("/v1/assess", post(api::assess::assess))
        .layer(DefaultBodyLimit::max(limits.cds_body_bytes));
    // The web page for people (issue 6): uploads of FHIR Bundles need the large limit.
    let web = web::routes().layer(DefaultBodyLimit::max(limits.cds_body_bytes));
    let rest = Router::new()
        .route("/v1/causes", get(api::causes::list))
        .route("/v1/causes/{id}", get(api::causes::show))
        .route("/openapi.json", get(api::openapi::openapi))
        .layer(DefaultBodyLimit::max(limits.rest_body_bytes));
    let timeout_secs = limits.request_timeout.as_secs();
    let limited = cds_routes.merge(assess).merge(rest).merge(web).layer(
        ServiceBuilder::new()
            .layer(HandleErrorLayer::new(move |e: BoxError| async move {
                overload_or_timeout(&e, timeout_secs)
            }))
            .load_shed()
            .layer(GlobalConcurrencyLimitLayer::new(limits.max_concurrency))
            .timeout(limits.request_timeout),
    );
    // Probes and metrics answer even when the server is saturated.
    let open = Router::new()
        .route("/healthz", get(api::health::healthz))
        .route("/readyz", get(api::health::readyz))
        .route("/metrics", get(api::metrics::metrics))
        .layer(DefaultBodyLimit::max(limits.rest_body_bytes));
    Router::new()
        .merge(limited)
        .merge(open)
        .fallback(not_found)
        // Inside the router, where the route template is known.
        .layer(access::AccessLayer::new(state.clone()))
        .with_state(state)
}

/// Maps the errors of the load-shedding and timeout layers.
fn overload_or_timeout(e: &BoxError, timeout_secs: u64) -> Response {
    if e.is::<tower::load_shed::error::Overloaded>() {
        tracing::warn!("request shed: at the concurrency limit");
        ApiError::Overloaded.into_response()
    } else if e.is::<tower::timeout::error::Elapsed>() {
        tracing::warn!("request timed out");
        ApiError::Timeout(timeout_secs).into_response()
    } else {
        ApiError::Internal(format!("middleware: {e}")).into_response()
    }
}

async fn not_found() -> ApiError {
    ApiError::NotFound("no such route; GET /openapi.json describes the API".to_owned())
}

/// Loads the embedded knowledge base or the one in `dir`.
///
/// # Errors
/// The knowledge base is not valid; the message lists every problem.
pub fn load_kb(dir: Option<&std::path::Path>) -> Result<Kb, ServeError> {
    match dir {
        None => Kb::embedded().map_err(|d| {
            ServeError::Kb(format!(
                "the embedded knowledge base is invalid ({} problems); this is a bug",
                d.len()
            ))
        }),
        Some(dir) => Kb::from_dir(dir).map_err(|e| match e {
            LoadError::Invalid(diags) => ServeError::Kb(format!(
                "{}\nthe knowledge base in {} has {} problem(s)",
                diags
                    .iter()
                    .map(|d| format!("{}/{d}", dir.display()))
                    .collect::<Vec<_>>()
                    .join("\n"),
                dir.display(),
                diags.len()
            )),
            other => ServeError::Kb(other.to_string()),
        }),
    }
}

/// Binds the configured address and serves until SIGTERM or Ctrl-C.
///
/// # Errors
/// The knowledge base, the database or the address cannot be used, or serving fails.
pub async fn serve(config: ServeConfig) -> Result<(), ServeError> {
    let kb = load_kb(config.kb_dir.as_deref())?;
    let state = AppState::new(config.clone(), kb)?;
    let listener = tokio::net::TcpListener::bind(config.addr)
        .await
        .map_err(|e| ServeError::Bind { addr: config.addr, message: e.to_string() })?;
    serve_on(listener, state, shutdown_signal()).await
}

/// Serves on `listener` until `shutdown` completes; then stops accepting, lets requests in
/// flight finish (each bounded by the request timeout), and closes the database.
///
/// # Errors
/// Serving fails or the database does not close cleanly.
pub async fn serve_on(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    announce(&state, listener.local_addr().ok());
    let app = router(state.clone());
    let draining = state.clone();
    let result =
        workers::serve(listener, app, state.config().limits.workers, shutdown, move || {
            draining.start_draining();
            tracing::info!("shutting down: finishing the requests in flight");
        })
        .await;
    let closed = state.db().close().await;
    result?;
    closed?;
    tracing::info!("stopped; database closed");
    Ok(())
}

fn announce(state: &AppState, local: Option<SocketAddr>) {
    let cfg = state.config();
    let addr = local.map_or_else(|| cfg.addr.to_string(), |a| a.to_string());
    tracing::info!(
        addr = %addr,
        public_url = %state.base_url(),
        data = %state.db().path().display(),
        kb_version = %state.kb().version(),
        max_concurrency = cfg.limits.max_concurrency,
        workers = cfg.limits.workers,
        "restless serve listening"
    );
    if cfg.auth.insecure_no_auth {
        tracing::warn!(
            "!!! INSECURE: --insecure-no-auth is set: CDS Hooks calls are accepted WITHOUT any \
             token; anyone who can reach {addr} can call the services and send feedback. Never \
             use this with real patient data !!!"
        );
    } else if cfg.auth.issuers.is_empty() {
        tracing::warn!(
            "no --jwt-issuer configured: every CDS Hooks service call will be refused (401) \
             until one is; the REST API works without"
        );
    }
    if cfg.public_url.is_none() && local.is_some_and(|a| !a.ip().is_loopback()) {
        tracing::warn!(
            "--public-url not set: card links will point at {}, which clients may not reach",
            state.base_url()
        );
    }
}

/// Completes on Ctrl-C or SIGTERM.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => tracing::info!("Ctrl-C received"),
        () = term => tracing::info!("SIGTERM received"),
    }
}

/// `restless serve`: settings from `args`, logging, then [`serve`] on a single-threaded runtime
/// that only accepts connections and waits for a signal (the requests are served by the worker
/// threads it starts).
///
/// # Errors
/// As [`serve`], plus bad settings.
pub fn run(args: &ServeArgs) -> Result<(), ServeError> {
    let config = ServeConfig::from_args(args)?;
    init_logging();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    rt.block_on(serve(config))
}
