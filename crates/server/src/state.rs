//! What every handler shares: the knowledge base, the database, the token verifier, the
//! settings, the metrics registry and the HTTP client for FHIR servers. Cheap to clone.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use restless_facts::Date;
use restless_ingest::fhir::LoincFilter;
use restless_kb::Kb;

use crate::auth::{AuthConfig, Verifier};
use crate::config::ServeConfig;
use crate::db::{Db, DbError};
use crate::metrics::Metrics;

/// Shared state of the server.
#[derive(Clone)]
pub struct AppState {
    inner: Arc<Inner>,
}

struct Inner {
    kb: Kb,
    db: Db,
    verifier: Verifier,
    config: ServeConfig,
    base_url: String,
    metrics: Metrics,
    http: reqwest::Client,
    draining: AtomicBool,
    /// The CDS prefetch templates (built once from the knowledge base).
    templates: Vec<(&'static str, String)>,
    /// Finds the Observations restless uses in prefetched text.
    loinc: LoincFilter,
}

/// The state cannot be built.
#[derive(Debug, thiserror::Error)]
pub enum StateError {
    /// The database cannot be opened.
    #[error(transparent)]
    Db(#[from] DbError),
    /// The HTTP client cannot be built.
    #[error("cannot build the HTTP client: {0}")]
    Http(String),
}

impl AppState {
    /// Opens the database in the configured data folder and prepares everything else.
    ///
    /// # Errors
    /// The database cannot be opened or the HTTP client built.
    pub fn new(config: ServeConfig, kb: Kb) -> Result<AppState, StateError> {
        let db = Db::open(&config.data_dir)?;
        let verifier = Verifier::new(AuthConfig {
            insecure_no_auth: config.auth.insecure_no_auth,
            allowed_issuers: config.auth.issuers.clone(),
            jwks_allowlist: config.auth.jwks_urls.clone(),
            audience: config.audience(),
            leeway_secs: config.auth.leeway_secs,
            replay_capacity: config.auth.replay_capacity,
        });
        let http = reqwest::Client::builder()
            .timeout(config.limits.fhir_timeout)
            .connect_timeout(config.limits.fhir_timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("restless/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| StateError::Http(e.to_string()))?;
        let base_url = config.base_url();
        Ok(AppState {
            inner: Arc::new(Inner {
                db,
                verifier,
                config,
                base_url,
                metrics: Metrics::default(),
                http,
                draining: AtomicBool::new(false),
                templates: crate::cds::discovery::prefetch_templates(&kb),
                loinc: LoincFilter::new(&kb),
                kb,
            }),
        })
    }

    /// The CDS prefetch templates, by key.
    #[must_use]
    pub(crate) fn prefetch_templates(&self) -> &[(&'static str, String)] {
        &self.inner.templates
    }

    /// The filter that finds relevant Observations in raw text.
    #[must_use]
    pub(crate) fn loinc_filter(&self) -> &LoincFilter {
        &self.inner.loinc
    }

    /// The knowledge base.
    #[must_use]
    pub fn kb(&self) -> &Kb {
        &self.inner.kb
    }

    /// The database.
    #[must_use]
    pub fn db(&self) -> &Db {
        &self.inner.db
    }

    /// The token verifier (to pre-load a JWK Set sent out of band: `insert_jwks`).
    #[must_use]
    pub fn verifier(&self) -> &Verifier {
        &self.inner.verifier
    }

    /// The settings.
    #[must_use]
    pub fn config(&self) -> &ServeConfig {
        &self.inner.config
    }

    /// The public base URL, without a trailing slash.
    #[must_use]
    pub fn base_url(&self) -> &str {
        &self.inner.base_url
    }

    /// The metrics registry.
    #[must_use]
    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    /// The client for FHIR servers.
    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.inner.http
    }

    /// The evaluation date of a request made now.
    #[must_use]
    pub fn today(&self) -> Date {
        self.inner.config.as_of.unwrap_or_else(|| chrono::Local::now().date_naive())
    }

    /// Marks the server as shutting down: `/readyz` answers 503 from now on.
    pub fn start_draining(&self) {
        self.inner.draining.store(true, Ordering::SeqCst);
    }

    /// Whether the server is shutting down.
    #[must_use]
    pub fn draining(&self) -> bool {
        self.inner.draining.load(Ordering::SeqCst)
    }
}
