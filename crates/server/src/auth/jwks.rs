//! JWK Sets: the allowlist of JWKS URLs, fetching (reqwest with rustls, timeouts, no
//! redirects, no proxy, size-capped), caching with a TTL, one refetch on an unknown `kid`, and
//! selection of the key that may verify a given token.
//!
//! Cache entries are keyed by URL, or by issuer for a set loaded out-of-band through
//! [`KeyStore::insert_pinned`]. Locks: the cache sits behind a `std` `RwLock` that is never
//! held across an `.await`; fetches of one URL are serialised by a per-URL async mutex, so a
//! burst of tokens with an unknown `kid` causes one request, not one per token.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::DecodingKey;
use serde::Deserialize;

use super::token::Header;
use super::{AuthError, sanitize};

/// How long a fetched JWK Set is used before it is fetched again.
pub(super) const CACHE_TTL: Duration = Duration::from_secs(10 * 60);
/// Shortest time between two fetches of one URL caused by an unknown `kid`.
pub(super) const REFETCH_COOLDOWN: Duration = Duration::from_secs(5);
/// How long a failed fetch is remembered (requests meanwhile fail at once).
pub(super) const FAILURE_BACKOFF: Duration = Duration::from_secs(5);
/// Largest JWK Set document read, in bytes.
pub(super) const MAX_JWKS_BYTES: usize = 256 * 1024;
/// Total time allowed for one fetch.
const FETCH_TIMEOUT: Duration = Duration::from_secs(10);
/// Time allowed to connect for one fetch.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Most keys accepted in one set.
const MAX_KEYS: usize = 100;
/// Smallest RSA modulus accepted, in bits.
const MIN_RSA_BITS: usize = 2048;

/// Where the keys for one token come from.
#[derive(Debug)]
pub(super) enum KeySource {
    /// The token's allowlisted `jku`.
    Jku(String),
    /// No `jku`: the issuer's out-of-band set (if loaded), then its allowlisted URLs in order
    /// (its `issuer|url` entries, or the plain URL entries if it has none).
    Issuer { issuer: String, urls: Vec<String> },
}

/// The parsed `jwks_allowlist`.
#[derive(Debug, Default)]
struct Allowlist {
    /// `issuer|url` entries.
    bound: Vec<(String, String)>,
    /// Plain `url` entries: a `jku` allowed for any allowed issuer.
    any_issuer: Vec<String>,
}

impl Allowlist {
    fn parse(entries: &[String]) -> Allowlist {
        let mut list = Allowlist::default();
        for entry in entries {
            let entry = entry.trim();
            match entry.split_once('|') {
                Some((issuer, url)) => {
                    let (issuer, url) = (issuer.trim(), url.trim());
                    if !issuer.is_empty() && !url.is_empty() {
                        list.bound.push((issuer.to_owned(), url.to_owned()));
                    }
                }
                None if !entry.is_empty() => list.any_issuer.push(entry.to_owned()),
                None => {}
            }
        }
        list
    }
}

/// The kind of public key, which decides the algorithms it can verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum KeyKind {
    Rsa,
    P256,
    P384,
}

impl KeyKind {
    /// The key kind an allowed `alg` needs.
    fn for_alg(alg_name: &str) -> Option<KeyKind> {
        match alg_name {
            "RS256" | "RS384" | "RS512" | "PS256" | "PS384" | "PS512" => Some(KeyKind::Rsa),
            "ES256" => Some(KeyKind::P256),
            "ES384" => Some(KeyKind::P384),
            _ => None,
        }
    }
}

/// One usable verification key of a set.
#[derive(Clone)]
struct Key {
    kid: String,
    kind: KeyKind,
    /// The JWK's `alg`, if it names one.
    alg: Option<String>,
    key: DecodingKey,
}

#[derive(Clone)]
struct Entry {
    keys: Arc<Vec<Key>>,
    fetched_at: Instant,
    /// Loaded out-of-band: never expires, never refetched.
    pinned: bool,
}

impl Entry {
    fn is_fresh(&self) -> bool {
        self.pinned || self.fetched_at.elapsed() < CACHE_TTL
    }
}

/// What a set holds for a token's `kid` and `alg`.
enum Lookup {
    Found(Vec<DecodingKey>),
    /// Some key has the `kid` but none can verify this `alg`: a refetch would not help.
    Unusable,
    /// No key has the `kid`.
    Absent,
}

fn lookup(keys: &[Key], header: &Header) -> Lookup {
    let mut with_kid = keys.iter().filter(|key| key.kid == header.kid).peekable();
    if with_kid.peek().is_none() {
        return Lookup::Absent;
    }
    let wanted = KeyKind::for_alg(header.alg_name);
    let usable: Vec<DecodingKey> = with_kid
        .filter(|key| Some(key.kind) == wanted)
        .filter(|key| key.alg.as_deref().is_none_or(|alg| alg == header.alg_name))
        .map(|key| key.key.clone())
        .collect();
    if usable.is_empty() { Lookup::Unusable } else { Lookup::Found(usable) }
}

/// Allowlist, cache and HTTP client.
pub(super) struct KeyStore {
    allowlist: Allowlist,
    client: Result<reqwest::Client, String>,
    cache: RwLock<HashMap<String, Entry>>,
    fetch_locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// Last failed fetch per URL, with its message.
    failures: Mutex<HashMap<String, (Instant, String)>>,
}

impl KeyStore {
    pub(super) fn new(allowlist: &[String]) -> KeyStore {
        let client = reqwest::Client::builder()
            .timeout(FETCH_TIMEOUT)
            .connect_timeout(CONNECT_TIMEOUT)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .build()
            .map_err(|err| format!("cannot build HTTP client: {err}"));
        KeyStore {
            allowlist: Allowlist::parse(allowlist),
            client,
            cache: RwLock::new(HashMap::new()),
            fetch_locks: Mutex::new(HashMap::new()),
            failures: Mutex::new(HashMap::new()),
        }
    }

    /// Decides where the keys of a token of the (allowed) issuer `iss` come from.
    pub(super) fn source_for(&self, iss: &str, jku: Option<&str>) -> Result<KeySource, AuthError> {
        let bound_urls = || {
            self.allowlist.bound.iter().filter(move |(issuer, _)| issuer == iss).map(|(_, url)| url)
        };
        match jku {
            Some(jku) => {
                let allowed = self.allowlist.any_issuer.iter().any(|url| url == jku)
                    || bound_urls().any(|url| url == jku);
                if allowed {
                    Ok(KeySource::Jku(jku.to_owned()))
                } else {
                    Err(AuthError::JwksNotAllowed(sanitize(jku)))
                }
            }
            None => {
                // The issuer's own URLs; failing those, the URLs trusted for every issuer.
                let mut urls: Vec<String> = bound_urls().cloned().collect();
                if urls.is_empty() {
                    urls.clone_from(&self.allowlist.any_issuer);
                }
                Ok(KeySource::Issuer { issuer: iss.to_owned(), urls })
            }
        }
    }

    /// The keys that may verify a token with this header.
    pub(super) async fn keys_for(
        &self,
        source: &KeySource,
        header: &Header,
    ) -> Result<Vec<DecodingKey>, AuthError> {
        match source {
            KeySource::Jku(url) => self.keys_from_url(url, header).await,
            KeySource::Issuer { issuer, urls } => {
                if let Some(entry) = self.cached(issuer).filter(|entry| entry.pinned) {
                    match lookup(&entry.keys, header) {
                        Lookup::Found(keys) => return Ok(keys),
                        Lookup::Unusable => return Err(AuthError::KeyNotFound),
                        Lookup::Absent => {}
                    }
                }
                let mut first_error = None;
                for url in urls {
                    match self.keys_from_url(url, header).await {
                        Ok(keys) => return Ok(keys),
                        Err(AuthError::KeyNotFound) => {}
                        Err(err) => {
                            first_error.get_or_insert(err);
                        }
                    }
                }
                Err(first_error.unwrap_or(AuthError::KeyNotFound))
            }
        }
    }

    /// Keys from one URL's set: cached, or fetched when missing, stale, or (at most once per
    /// cooldown) when the `kid` is unknown.
    async fn keys_from_url(
        &self,
        url: &str,
        header: &Header,
    ) -> Result<Vec<DecodingKey>, AuthError> {
        let observed = self.cached(url);
        if let Some(entry) = observed.as_ref().filter(|entry| entry.is_fresh()) {
            match lookup(&entry.keys, header) {
                Lookup::Found(keys) => return Ok(keys),
                Lookup::Unusable => return Err(AuthError::KeyNotFound),
                Lookup::Absent if entry.pinned || entry.fetched_at.elapsed() < REFETCH_COOLDOWN => {
                    return Err(AuthError::KeyNotFound);
                }
                Lookup::Absent => {}
            }
        }

        let fetch_lock = self.fetch_lock(url);
        let _fetching = fetch_lock.lock().await;

        // Another task may have fetched (or a set been pinned) while this one waited.
        if let Some(entry) = self.cached(url) {
            let changed = observed
                .as_ref()
                .is_none_or(|old| entry.fetched_at != old.fetched_at || entry.pinned != old.pinned);
            if changed && entry.is_fresh() {
                return found_or_not(lookup(&entry.keys, header));
            }
        }
        if let Some(message) = self.recent_failure(url) {
            return Err(AuthError::JwksFetch(message));
        }

        match self.fetch(url).await {
            Ok(keys) => {
                let entry =
                    Entry { keys: Arc::new(keys), fetched_at: Instant::now(), pinned: false };
                let result = found_or_not(lookup(&entry.keys, header));
                self.cache
                    .write()
                    .unwrap_or_else(PoisonError::into_inner)
                    .insert(url.to_owned(), entry);
                self.failures.lock().unwrap_or_else(PoisonError::into_inner).remove(url);
                result
            }
            Err(message) => {
                self.failures
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .insert(url.to_owned(), (Instant::now(), message.clone()));
                Err(AuthError::JwksFetch(message))
            }
        }
    }

    /// Loads a set under `key` (an issuer or a URL), pinned.
    pub(super) fn insert_pinned(&self, key: &str, jwks_json: &str) -> Result<(), AuthError> {
        let keys = parse_jwks(jwks_json.as_bytes()).map_err(AuthError::InvalidJwks)?;
        let entry = Entry { keys: Arc::new(keys), fetched_at: Instant::now(), pinned: true };
        self.cache.write().unwrap_or_else(PoisonError::into_inner).insert(key.to_owned(), entry);
        Ok(())
    }

    fn cached(&self, key: &str) -> Option<Entry> {
        self.cache.read().unwrap_or_else(PoisonError::into_inner).get(key).cloned()
    }

    fn fetch_lock(&self, url: &str) -> Arc<tokio::sync::Mutex<()>> {
        let mut locks = self.fetch_locks.lock().unwrap_or_else(PoisonError::into_inner);
        Arc::clone(locks.entry(url.to_owned()).or_default())
    }

    fn recent_failure(&self, url: &str) -> Option<String> {
        let failures = self.failures.lock().unwrap_or_else(PoisonError::into_inner);
        failures
            .get(url)
            .filter(|(at, _)| at.elapsed() < FAILURE_BACKOFF)
            .map(|(_, message)| format!("{message} (not retried for a few seconds)"))
    }

    /// GETs and parses a set. The URL is from the allowlist, so it may appear in messages.
    async fn fetch(&self, url: &str) -> Result<Vec<Key>, String> {
        let client = self.client.as_ref().map_err(Clone::clone)?;
        check_url(url)?;
        let mut response = client
            .get(url)
            .header(reqwest::header::ACCEPT, "application/json, application/jwk-set+json")
            .send()
            .await
            .map_err(|err| format!("GET {url}: {err}"))?;
        if response.status() != reqwest::StatusCode::OK {
            return Err(format!("GET {url}: HTTP {}", response.status()));
        }
        if response.content_length().is_some_and(|len| len > MAX_JWKS_BYTES as u64) {
            return Err(format!("GET {url}: JWKS larger than {MAX_JWKS_BYTES} bytes"));
        }
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|err| format!("GET {url}: {err}"))? {
            if body.len() + chunk.len() > MAX_JWKS_BYTES {
                return Err(format!("GET {url}: JWKS larger than {MAX_JWKS_BYTES} bytes"));
            }
            body.extend_from_slice(&chunk);
        }
        parse_jwks(&body).map_err(|err| format!("GET {url}: {err}"))
    }
}

fn found_or_not(lookup: Lookup) -> Result<Vec<DecodingKey>, AuthError> {
    match lookup {
        Lookup::Found(keys) => Ok(keys),
        Lookup::Unusable | Lookup::Absent => Err(AuthError::KeyNotFound),
    }
}

/// Only `https`, or `http` to a loopback host.
fn check_url(url: &str) -> Result<(), String> {
    let parsed = reqwest::Url::parse(url).map_err(|_| format!("{url}: not a valid URL"))?;
    let host = parsed.host_str().unwrap_or_default();
    let host = host.trim_start_matches('[').trim_end_matches(']');
    let loopback = host.eq_ignore_ascii_case("localhost")
        || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
    match parsed.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        _ => Err(format!("{url}: JWKS URLs must use https (http only to a loopback host)")),
    }
}

#[derive(Deserialize)]
struct RawSet {
    keys: Vec<serde_json::Value>,
}

#[derive(Deserialize)]
struct RawJwk {
    kty: Option<String>,
    kid: Option<String>,
    #[serde(rename = "use")]
    use_: Option<String>,
    key_ops: Option<Vec<String>>,
    alg: Option<String>,
    n: Option<String>,
    e: Option<String>,
    crv: Option<String>,
    x: Option<String>,
    y: Option<String>,
}

/// Parses a JWK Set, keeping the keys that can verify an allowed algorithm. Other keys
/// (symmetric, encryption, unknown types, no `kid`, weak RSA) are skipped, not errors.
fn parse_jwks(bytes: &[u8]) -> Result<Vec<Key>, String> {
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err("JWKS is not a JSON object".to_owned());
    }
    let set: RawSet = serde_json::from_slice(bytes)
        .map_err(|_| "JWKS is not a JSON object with keys".to_owned())?;
    if set.keys.len() > MAX_KEYS {
        return Err(format!("JWKS has more than {MAX_KEYS} keys"));
    }
    Ok(set
        .keys
        .into_iter()
        .filter_map(|value| serde_json::from_value::<RawJwk>(value).ok())
        .filter_map(usable_key)
        .collect())
}

fn usable_key(jwk: RawJwk) -> Option<Key> {
    let kid = jwk.kid.filter(|kid| !kid.is_empty())?;
    if jwk.use_.as_deref().is_some_and(|use_| use_ != "sig") {
        return None;
    }
    if jwk.key_ops.as_ref().is_some_and(|ops| !ops.iter().any(|op| op == "verify")) {
        return None;
    }
    let (kind, key) = match jwk.kty.as_deref()? {
        "RSA" => {
            let (n, e) = (jwk.n?, jwk.e?);
            let modulus = URL_SAFE_NO_PAD.decode(&n).ok()?;
            let exponent = URL_SAFE_NO_PAD.decode(&e).ok()?;
            if bit_length(&modulus) < MIN_RSA_BITS || exponent.is_empty() || exponent.len() > 8 {
                return None;
            }
            (KeyKind::Rsa, DecodingKey::from_rsa_raw_components(&modulus, &exponent))
        }
        "EC" => {
            let (kind, len) = match jwk.crv.as_deref()? {
                "P-256" => (KeyKind::P256, 32),
                "P-384" => (KeyKind::P384, 48),
                _ => return None,
            };
            let (x, y) = (jwk.x?, jwk.y?);
            let x_len = URL_SAFE_NO_PAD.decode(&x).ok()?.len();
            let y_len = URL_SAFE_NO_PAD.decode(&y).ok()?.len();
            if x_len != len || y_len != len {
                return None;
            }
            (kind, DecodingKey::from_ec_components(&x, &y).ok()?)
        }
        _ => return None,
    };
    if let Some(alg) = jwk.alg.as_deref()
        && KeyKind::for_alg(alg) != Some(kind)
    {
        return None;
    }
    Some(Key { kid, kind, alg: jwk.alg, key })
}

/// Number of significant bits of a big-endian unsigned integer.
fn bit_length(bytes: &[u8]) -> usize {
    match bytes.iter().position(|&b| b != 0) {
        Some(first) => (bytes.len() - first - 1) * 8 + (8 - bytes[first].leading_zeros() as usize),
        None => 0,
    }
}
