//! CDS Hooks 2.0 client authentication: verification of the JWT that a CDS Client (an EHR)
//! sends as `Authorization: Bearer <jwt>` with every request (CDS Hooks 2.0, "Trusting CDS
//! Clients").
//!
//! # What is checked (fail closed: anything unexpected is refused)
//!
//! 1. The header value is `Bearer <jwt>` (scheme case-insensitive), the token is a compact JWS
//!    of three base64url segments and at most [`MAX_TOKEN_BYTES`] long.
//! 2. JOSE header: `alg` is one of RS256/RS384/RS512, PS256/PS384/PS512, ES256, ES384 (never
//!    `none`, never HS*: the spec forbids unsecured and symmetric JWTs); `typ` is `JWT`
//!    (REQUIRED by the spec); `kid` is present (REQUIRED by the spec); no `crit` header.
//!    Embedded `jwk`, `x5u`, `x5c` header fields are ignored, never trusted.
//! 3. `iss` (read from the still unverified payload only to pick the key source) is one of
//!    [`AuthConfig::allowed_issuers`] (exact string match). Nothing is fetched for any other
//!    issuer.
//! 4. The key: see "Key sources and the allowlist format" below. The JWK must carry the
//!    token's `kid`, match the algorithm (RSA for RS/PS with a modulus of at least 2048 bits,
//!    EC P-256 for ES256, EC P-384 for ES384; a JWK `alg`, if present, must equal the header's;
//!    `use`, if present, must be `sig`; `key_ops`, if present, must contain `verify`).
//! 5. The signature (through the `jsonwebtoken` crate's aws-lc-rs backend).
//! 6. Claims of the now verified payload: `aud` (a string or an array of strings) contains
//!    [`AuthConfig::audience`] exactly; `exp` has not passed and `iat` (and `nbf`, if present)
//!    is not in the future, both with [`AuthConfig::leeway_secs`] of clock skew; `exp` lies at
//!    most [`MAX_LIFETIME_SECS`] ahead (so the replay store never has to keep a `jti` longer);
//!    `jti` is a non-empty string of at most 256 bytes.
//! 7. Replay: the pair (`iss`, `jti`) has not been seen before; it is remembered until `exp`
//!    plus the leeway has passed (in memory, bounded; see `replay.rs`).
//!
//! Every error maps to HTTP 401. Nothing here logs; error messages never contain the token,
//! and the few values from it that they do name (an `alg`, a `jku`) are truncated and escaped.
//!
//! # Key sources and the allowlist format
//!
//! Each entry of [`AuthConfig::jwks_allowlist`] is one of:
//!
//! * `"<issuer>|<jwks_url>"` (split at the first `|`): the JWK Set of `<issuer>` lives at
//!   `<jwks_url>`. A `jku` equal to it is accepted for that issuer only, and it is the key
//!   source for that issuer's tokens without `jku`. An issuer may have several such entries
//!   (tried in order). This is the recommended form.
//! * `"<jwks_url>"` (no `|`): the keys at this URL are trusted for every allowed issuer. A
//!   `jku` equal to it is accepted for a token of any allowed issuer, and it is the key source
//!   for tokens without `jku` of any issuer that has no `issuer|url` entry. Fine for a single
//!   trusted EHR; with several, bind each URL to its issuer instead, or one EHR's keys could
//!   sign tokens in another's name.
//!
//! URLs are compared as exact strings. A token with a `jku` that is not allowlisted for its
//! issuer is refused ([`AuthError::JwksNotAllowed`]) before anything is fetched. A JWKS URL
//! must be `https://`, except on a loopback host (`127.0.0.0/8`, `localhost`, `[::1]`),
//! where `http://` is accepted for local testing.
//!
//! A JWK Set communicated out-of-band (the spec's alternative to `jku`) is loaded with
//! [`Verifier::insert_jwks`] under the issuer string (used for that issuer's tokens without
//! `jku`, before any allowlisted URL) or under an allowlisted URL (used instead of fetching it).
//! Such entries are pinned: they never expire and are never refetched.
//!
//! Fetched sets are cached for 10 minutes; a `kid` missing from a cached set triggers one
//! refetch, at most once per 5 seconds per URL, and concurrent fetches of one URL are
//! coalesced into one request. Fetches time out (5 s to connect, 10 s in all), follow no
//! redirects, use no proxy, and read at most 256 KiB. A failed fetch is not retried for
//! 5 seconds (requests meanwhile fail at once). Once a cached set has expired and cannot be
//! refetched, tokens are refused: stale keys are never used. See `jwks.rs`.
//!
//! # Limits of this module
//!
//! * `aud` must equal the one configured [`AuthConfig::audience`]. CDS Hooks sets `aud` to the
//!   URL of the endpoint being called (`.../cds-services` for discovery,
//!   `.../cds-services/{id}` for a service), so a server exposing several endpoints should call
//!   [`Verifier::verify_for_audience`] with the URL of the endpoint at hand.
//! * The replay store is in memory: it is per process and forgotten on restart (a token
//!   replayed against another replica, or after a restart within its lifetime, is accepted).

mod jwks;
mod replay;
mod token;

use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::DecodingKey;

use self::jwks::KeyStore;
pub use self::replay::DEFAULT_CAPACITY as DEFAULT_REPLAY_CAPACITY;
use self::replay::ReplayStore;
use self::token::{Payload, UnverifiedToken};

/// Longest accepted `Authorization` header value, in bytes.
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// Farthest in the future that a token's `exp` may lie (beyond the leeway), in seconds. The
/// replay store remembers a `jti` until `exp`, so this bounds how long it must keep one.
pub const MAX_LIFETIME_SECS: u64 = 3600;

/// Leeway used by [`AuthConfig::default`], in seconds.
pub const DEFAULT_LEEWAY_SECS: u64 = 60;

/// Issuer reported in the placeholder [`Claims`] when [`AuthConfig::insecure_no_auth`] is set.
pub const INSECURE_PLACEHOLDER_ISSUER: &str = "insecure-no-auth";

/// How the verifier trusts CDS Clients. See the module documentation for the allowlist format.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// Accept every request without checking anything (development only). [`Verifier::verify`]
    /// then returns placeholder claims; the caller is expected to log a loud warning.
    pub insecure_no_auth: bool,
    /// Issuers (`iss`) that are trusted, compared as exact strings.
    pub allowed_issuers: Vec<String>,
    /// `"<issuer>|<jwks_url>"` or `"<jwks_url>"` entries (see the module documentation).
    pub jwks_allowlist: Vec<String>,
    /// The service's own URL, which the token's `aud` must contain exactly.
    pub audience: String,
    /// Allowed clock skew, in seconds, for `exp`, `iat` and `nbf`.
    pub leeway_secs: u64,
    /// Token ids the replay store holds at most; when it is full of unexpired ids, new tokens
    /// are refused (fail closed).
    pub replay_capacity: usize,
}

impl Default for AuthConfig {
    /// Secure defaults: authentication on, nothing trusted, a leeway of 60 seconds.
    fn default() -> Self {
        AuthConfig {
            insecure_no_auth: false,
            allowed_issuers: Vec::new(),
            jwks_allowlist: Vec::new(),
            audience: String::new(),
            leeway_secs: DEFAULT_LEEWAY_SECS,
            replay_capacity: replay::DEFAULT_CAPACITY,
        }
    }
}

/// The verified identity of the caller.
#[derive(Debug, Clone)]
pub struct Claims {
    /// The issuer (`iss`), one of [`AuthConfig::allowed_issuers`].
    pub iss: String,
    /// The subject (`sub`), if the token has one (CDS Hooks does not require it).
    pub sub: Option<String>,
    /// The token's unique id (`jti`).
    pub jti: String,
}

/// Why a request was refused. Every variant maps to HTTP 401.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// No `Authorization` header.
    #[error("missing bearer token")]
    MissingToken,
    /// The header or token is not well formed; the message says what is wrong (never the token).
    #[error("malformed token: {0}")]
    Malformed(String),
    /// `iss` is missing or not one of the allowed issuers.
    #[error("unknown issuer")]
    UnknownIssuer,
    /// The `alg` header is not an allowed asymmetric algorithm.
    #[error("disallowed algorithm {0}")]
    DisallowedAlgorithm(String),
    /// No usable key with the token's `kid` for its algorithm.
    #[error("signing key not found")]
    KeyNotFound,
    /// The token's `jku` is not allowlisted for its issuer.
    #[error("JWKS URL not allowed: {0}")]
    JwksNotAllowed(String),
    /// The JWK Set could not be fetched or parsed.
    #[error("JWKS fetch failed: {0}")]
    JwksFetch(String),
    /// The signature does not verify.
    #[error("bad signature")]
    BadSignature,
    /// `aud` does not contain the service's URL.
    #[error("wrong audience")]
    WrongAudience,
    /// `exp` has passed.
    #[error("token expired")]
    Expired,
    /// `iat` lies in the future.
    #[error("token issued in the future")]
    IssuedInFuture,
    /// `nbf` lies in the future.
    #[error("token not yet valid")]
    NotYetValid,
    /// `exp` lies more than [`MAX_LIFETIME_SECS`] in the future.
    #[error("token lifetime too long")]
    LifetimeTooLong,
    /// The (`iss`, `jti`) pair was seen before.
    #[error("token replayed")]
    Replayed,
    /// The replay store is full of unexpired entries; refusing rather than forgetting one.
    #[error("replay store full")]
    ReplayStoreFull,
    /// A JWK Set given to [`Verifier::insert_jwks`] is not valid.
    #[error("invalid JWKS: {0}")]
    InvalidJwks(String),
}

/// Verifies CDS Hooks bearer tokens. Cheap to clone: clones share the key cache and the
/// replay store.
#[derive(Clone)]
pub struct Verifier {
    inner: Arc<Inner>,
}

struct Inner {
    insecure_no_auth: bool,
    allowed_issuers: Vec<String>,
    audience: String,
    leeway_secs: u64,
    keys: KeyStore,
    replay: ReplayStore,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("insecure_no_auth", &self.inner.insecure_no_auth)
            .field("allowed_issuers", &self.inner.allowed_issuers)
            .field("audience", &self.inner.audience)
            .field("leeway_secs", &self.inner.leeway_secs)
            .finish_non_exhaustive()
    }
}

impl Verifier {
    /// Builds a verifier. Allowlist entries that cannot be parsed are ignored (they match
    /// nothing), which fails closed.
    pub fn new(cfg: AuthConfig) -> Verifier {
        let keys = KeyStore::new(&cfg.jwks_allowlist);
        Verifier {
            inner: Arc::new(Inner {
                insecure_no_auth: cfg.insecure_no_auth,
                allowed_issuers: cfg.allowed_issuers,
                audience: cfg.audience,
                leeway_secs: cfg.leeway_secs,
                keys,
                replay: ReplayStore::new(cfg.replay_capacity),
            }),
        }
    }

    /// Verifies a request's `Authorization` header value (`Bearer <jwt>`) against the
    /// configured [`AuthConfig::audience`].
    pub async fn verify(&self, authorization_header: Option<&str>) -> Result<Claims, AuthError> {
        self.verify_for_audience(authorization_header, &self.inner.audience).await
    }

    /// Like [`Verifier::verify`], but the token's `aud` must contain `audience` (the URL of the
    /// endpoint being called) instead of the configured one.
    pub async fn verify_for_audience(
        &self,
        authorization_header: Option<&str>,
        audience: &str,
    ) -> Result<Claims, AuthError> {
        let inner = &self.inner;
        if inner.insecure_no_auth {
            return Ok(Claims {
                iss: INSECURE_PLACEHOLDER_ISSUER.to_owned(),
                sub: None,
                jti: String::new(),
            });
        }

        let header_value = authorization_header.ok_or(AuthError::MissingToken)?;
        let token = UnverifiedToken::parse(header_value)?;

        // Only the issuer is read before the signature is checked, to choose the key source.
        let iss = token.unverified_issuer()?;
        if !inner.allowed_issuers.contains(&iss) {
            return Err(AuthError::UnknownIssuer);
        }
        let source = inner.keys.source_for(&iss, token.header.jku.as_deref())?;
        let keys = inner.keys.keys_for(&source, &token.header).await?;
        verify_signature(&token, &keys)?;

        let payload = token.payload()?;
        if payload.iss != iss {
            // Cannot happen (both come from the same bytes); refuse rather than assume.
            return Err(AuthError::UnknownIssuer);
        }
        let now = now_secs();
        check_claims(&payload, audience, now, inner.leeway_secs)?;

        // `check_claims` guarantees `exp <= now + leeway + MAX_LIFETIME_SECS`.
        let keep_until = payload.exp.saturating_add(inner.leeway_secs);
        inner.replay.check_and_insert(&payload.iss, &payload.jti, keep_until, now)?;

        Ok(Claims { iss: payload.iss, sub: payload.sub, jti: payload.jti })
    }

    /// Pre-loads a JWK Set (JSON text) for an issuer or a JWKS URL, bypassing the network.
    /// The entry is pinned: it never expires and is never refetched. Loading a set does not
    /// allowlist anything: a `jku` must still be allowlisted, an issuer still allowed.
    pub fn insert_jwks(&self, url: &str, jwks_json: &str) -> Result<(), AuthError> {
        self.inner.keys.insert_pinned(url, jwks_json)
    }
}

fn verify_signature(token: &UnverifiedToken<'_>, keys: &[DecodingKey]) -> Result<(), AuthError> {
    for key in keys {
        if let Ok(true) =
            jsonwebtoken::crypto::verify(token.signature_b64, token.signing_input, key, token.alg)
        {
            return Ok(());
        }
    }
    Err(AuthError::BadSignature)
}

fn check_claims(payload: &Payload, audience: &str, now: u64, leeway: u64) -> Result<(), AuthError> {
    if audience.is_empty() || !payload.aud.iter().any(|aud| aud == audience) {
        return Err(AuthError::WrongAudience);
    }
    if now > payload.exp.saturating_add(leeway) {
        return Err(AuthError::Expired);
    }
    if payload.iat > now.saturating_add(leeway) {
        return Err(AuthError::IssuedInFuture);
    }
    if let Some(nbf) = payload.nbf
        && nbf > now.saturating_add(leeway)
    {
        return Err(AuthError::NotYetValid);
    }
    if payload.exp > now.saturating_add(leeway).saturating_add(MAX_LIFETIME_SECS) {
        return Err(AuthError::LifetimeTooLong);
    }
    Ok(())
}

fn now_secs() -> u64 {
    // A clock before 1970 yields 0, which makes every token look issued in the future.
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs())
}

/// Shortens and escapes a value taken from a token before it goes into an error message.
fn sanitize(value: &str) -> String {
    const MAX_CHARS: usize = 120;
    let mut out: String = value.chars().take(MAX_CHARS).flat_map(char::escape_default).collect();
    if value.chars().count() > MAX_CHARS {
        out.push_str("...");
    }
    out
}
