//! The server's settings: command-line flags (`restless serve --help`), an optional TOML file
//! (`--config FILE`), and defaults that need no configuration at all. Flags win over the file,
//! the file over the defaults.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use restless_facts::Date;
use serde::Deserialize;

/// Where the server listens when nothing says otherwise.
pub const DEFAULT_ADDR: &str = "127.0.0.1:8080";

/// The flags of `restless serve`. Every setting is optional: unset flags fall back to the
/// config file, then to [`ServeConfig::default`].
#[derive(Clone, Debug, Default, clap::Args)]
pub struct ServeArgs {
    /// A TOML file with the same settings (kebab-case keys, `[auth]`, `[limits]`, `[fhir]`
    /// tables); flags override it.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Address and port to listen on [default: 127.0.0.1:8080].
    #[arg(long, value_name = "IP:PORT")]
    pub addr: Option<SocketAddr>,
    /// The URL clients reach this server at, used in links on CDS cards and in the OpenAPI
    /// document [default: http://ADDR].
    #[arg(long, value_name = "URL")]
    pub public_url: Option<String>,
    /// Folder for the database of CDS feedback (created) [default: $XDG_DATA_HOME/restless,
    /// else $HOME/.local/share/restless, else ./restless-data].
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Use the knowledge base in this folder instead of the embedded one.
    #[arg(long, value_name = "DIR")]
    pub kb: Option<PathBuf>,
    /// Accept CDS Hooks calls without a JWT. For local testing only: anyone who can reach the
    /// server can then call the services.
    #[arg(long)]
    pub insecure_no_auth: bool,
    /// A JWT issuer (`iss`) allowed to call the CDS services; repeat for several.
    #[arg(long = "jwt-issuer", value_name = "ISS")]
    pub jwt_issuers: Vec<String>,
    /// A JWKS URL signing keys may be fetched from, as `ISSUER|URL` (keys of that issuer only)
    /// or `URL` (keys of every allowed issuer); repeat for several.
    #[arg(long = "jwks-url", value_name = "URL")]
    pub jwks_urls: Vec<String>,
    /// The audience (`aud`) CDS Hooks tokens must name [default: the URL of the endpoint
    /// called, PUBLIC_URL/cds-services/ID, as CDS Hooks 2.0 specifies].
    #[arg(long, value_name = "AUD")]
    pub jwt_audience: Option<String>,
    /// Clock skew tolerated when checking token times, in seconds [default: 60].
    #[arg(long, value_name = "SECS")]
    pub jwt_leeway_secs: Option<u64>,
    /// JWT ids remembered against replay, at most (~100 bytes each); size it as verified calls
    /// per second × (token lifetime + leeway). When full, new tokens are refused
    /// [default: 2000000].
    #[arg(long, value_name = "N")]
    pub jwt_replay_capacity: Option<usize>,
    /// Requests inside the server at once (running or waiting for a CPU); more are answered
    /// 503 at once [default: 16 per CPU core].
    #[arg(long, value_name = "N")]
    pub max_concurrency: Option<usize>,
    /// Threads serving requests, each with the connections it is given [default: one per CPU
    /// core].
    #[arg(long, value_name = "N")]
    pub workers: Option<usize>,
    /// Time one request may take before it is answered 503 [default: 30].
    #[arg(long, value_name = "SECS")]
    pub request_timeout_secs: Option<u64>,
    /// Largest request body of the small REST routes, in bytes [default: 1048576].
    #[arg(long, value_name = "BYTES")]
    pub rest_body_limit: Option<usize>,
    /// Largest request body of `/v1/assess` and the CDS Hooks routes, in bytes
    /// [default: 5242880].
    #[arg(long, value_name = "BYTES")]
    pub cds_body_limit: Option<usize>,
    /// Time allowed for each request to an EHR's FHIR server [default: 10].
    #[arg(long, value_name = "SECS")]
    pub fhir_timeout_secs: Option<u64>,
    /// A FHIR server URL prefix the CDS services may fetch missing prefetch from; repeat for
    /// several [default: any server a verified caller names].
    #[arg(long = "fhir-server", value_name = "URL")]
    pub fhir_servers: Vec<String>,
    /// Evaluate every request as of this date (YYYY-MM-DD) instead of today; for
    /// demonstrations and tests.
    #[arg(long, value_name = "DATE", value_parser = parse_date)]
    pub as_of: Option<Date>,
}

fn parse_date(s: &str) -> Result<Date, String> {
    Date::parse_from_str(s, "%Y-%m-%d").map_err(|_| format!("`{s}` is not a date as YYYY-MM-DD"))
}

/// Limits that keep one client from starving the others.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Requests handled at once; the next is answered 503 instead of queueing.
    pub max_concurrency: usize,
    /// Worker threads; each serves the connections it is given, from first request to close.
    pub workers: usize,
    /// Time a request may take.
    pub request_timeout: Duration,
    /// Body limit of the small REST routes.
    pub rest_body_bytes: usize,
    /// Body limit of `/v1/assess` (FHIR Bundles) and of the CDS Hooks routes.
    pub cds_body_bytes: usize,
    /// Time allowed for each request to a FHIR server.
    pub fhir_timeout: Duration,
    /// Pages of a FHIR search followed (`next` links) per prefetch item.
    pub fhir_max_pages: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        let cores = std::thread::available_parallelism().map_or(2, usize::from);
        Limits {
            // About 16 × 0.4 ms of queueing per core at most for a typical CDS call.
            max_concurrency: 16 * cores,
            workers: cores,
            request_timeout: Duration::from_secs(30),
            rest_body_bytes: 1024 * 1024,
            cds_body_bytes: 5 * 1024 * 1024,
            fhir_timeout: Duration::from_secs(10),
            fhir_max_pages: 10,
        }
    }
}

/// Authentication of CDS Hooks callers.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AuthSettings {
    /// Accept calls without a token.
    pub insecure_no_auth: bool,
    /// Allowed issuers.
    pub issuers: Vec<String>,
    /// Allowed JWKS URLs.
    pub jwks_urls: Vec<String>,
    /// Expected audience; `None` means the URL of the endpoint called.
    pub audience: Option<String>,
    /// Tolerated clock skew, in seconds.
    pub leeway_secs: u64,
    /// Token ids remembered against replay, at most.
    pub replay_capacity: usize,
}

impl Default for AuthSettings {
    fn default() -> AuthSettings {
        AuthSettings {
            insecure_no_auth: false,
            issuers: Vec::new(),
            jwks_urls: Vec::new(),
            audience: None,
            leeway_secs: 60,
            replay_capacity: crate::auth::DEFAULT_REPLAY_CAPACITY,
        }
    }
}

/// Everything `serve` needs to know.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ServeConfig {
    /// Listening address.
    pub addr: SocketAddr,
    /// Public base URL without a trailing slash; `None` means `http://{addr}`.
    pub public_url: Option<String>,
    /// Folder of the database.
    pub data_dir: PathBuf,
    /// Knowledge-base folder; `None` means the embedded one.
    pub kb_dir: Option<PathBuf>,
    /// Authentication.
    pub auth: AuthSettings,
    /// Limits.
    pub limits: Limits,
    /// FHIR server URL prefixes the services may call; empty means any.
    pub fhir_servers: Vec<String>,
    /// A fixed evaluation date; `None` means the day of each request.
    pub as_of: Option<Date>,
}

impl Default for ServeConfig {
    fn default() -> ServeConfig {
        ServeConfig {
            addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            public_url: None,
            data_dir: default_data_dir(),
            kb_dir: None,
            auth: AuthSettings::default(),
            limits: Limits::default(),
            fhir_servers: Vec::new(),
            as_of: None,
        }
    }
}

impl ServeConfig {
    /// The base URL links point at, without a trailing slash.
    #[must_use]
    pub fn base_url(&self) -> String {
        match &self.public_url {
            Some(u) => u.trim_end_matches('/').to_owned(),
            None => format!("http://{}", self.addr),
        }
    }

    /// The JWT audience CDS Hooks tokens must carry.
    #[must_use]
    pub fn audience(&self) -> String {
        self.auth.audience.clone().unwrap_or_else(|| format!("{}/cds-services", self.base_url()))
    }

    /// The settings from flags, over the config file they name, over the defaults.
    ///
    /// # Errors
    /// The config file cannot be read or is not valid, or a setting is out of range.
    pub fn from_args(args: &ServeArgs) -> Result<ServeConfig, ConfigError> {
        let mut cfg = ServeConfig::default();
        if let Some(path) = &args.config {
            let text = std::fs::read_to_string(path)
                .map_err(|e| ConfigError::Read { path: path.clone(), message: e.to_string() })?;
            let file: FileConfig = toml::from_str(&text)
                .map_err(|e| ConfigError::Parse { path: path.clone(), message: e.to_string() })?;
            file.apply(&mut cfg, path)?;
        }
        if let Some(a) = args.addr {
            cfg.addr = a;
        }
        if let Some(u) = &args.public_url {
            cfg.public_url = Some(u.clone());
        }
        if let Some(d) = &args.data_dir {
            cfg.data_dir = d.clone();
        }
        if let Some(k) = &args.kb {
            cfg.kb_dir = Some(k.clone());
        }
        if args.insecure_no_auth {
            cfg.auth.insecure_no_auth = true;
        }
        if !args.jwt_issuers.is_empty() {
            cfg.auth.issuers = args.jwt_issuers.clone();
        }
        if !args.jwks_urls.is_empty() {
            cfg.auth.jwks_urls = args.jwks_urls.clone();
        }
        if let Some(a) = &args.jwt_audience {
            cfg.auth.audience = Some(a.clone());
        }
        if let Some(l) = args.jwt_leeway_secs {
            cfg.auth.leeway_secs = l;
        }
        if let Some(n) = args.jwt_replay_capacity {
            cfg.auth.replay_capacity = n;
        }
        let l = &mut cfg.limits;
        if let Some(n) = args.max_concurrency {
            l.max_concurrency = n;
        }
        if let Some(n) = args.workers {
            l.workers = n;
        }
        if let Some(s) = args.request_timeout_secs {
            l.request_timeout = Duration::from_secs(s);
        }
        if let Some(b) = args.rest_body_limit {
            l.rest_body_bytes = b;
        }
        if let Some(b) = args.cds_body_limit {
            l.cds_body_bytes = b;
        }
        if let Some(s) = args.fhir_timeout_secs {
            l.fhir_timeout = Duration::from_secs(s);
        }
        if !args.fhir_servers.is_empty() {
            cfg.fhir_servers = args.fhir_servers.clone();
        }
        if let Some(d) = args.as_of {
            cfg.as_of = Some(d);
        }
        cfg.check()?;
        Ok(cfg)
    }

    /// Rejects settings the server cannot run with.
    ///
    /// # Errors
    /// A zero limit or timeout, or a public URL that is not http(s).
    pub fn check(&self) -> Result<(), ConfigError> {
        let l = &self.limits;
        let zero = |name: &str| ConfigError::Invalid(format!("{name} must be greater than 0"));
        if l.max_concurrency == 0 {
            return Err(zero("max-concurrency"));
        }
        if l.workers == 0 {
            return Err(zero("workers"));
        }
        if self.auth.replay_capacity == 0 {
            return Err(zero("jwt-replay-capacity"));
        }
        if l.request_timeout.is_zero() {
            return Err(zero("request-timeout-secs"));
        }
        if l.rest_body_bytes == 0 {
            return Err(zero("rest-body-limit"));
        }
        if l.cds_body_bytes == 0 {
            return Err(zero("cds-body-limit"));
        }
        if l.fhir_timeout.is_zero() {
            return Err(zero("fhir-timeout-secs"));
        }
        if let Some(u) = &self.public_url
            && !(u.starts_with("http://") || u.starts_with("https://"))
        {
            return Err(ConfigError::Invalid(format!(
                "public-url `{u}` must start with http:// or https://"
            )));
        }
        Ok(())
    }
}

/// The default data folder: `$XDG_DATA_HOME/restless`, else `$HOME/.local/share/restless`,
/// else `./restless-data`.
#[must_use]
pub fn default_data_dir() -> PathBuf {
    let var = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    if let Some(x) = var("XDG_DATA_HOME") {
        return x.join("restless");
    }
    if let Some(h) = var("HOME") {
        return h.join(".local/share/restless");
    }
    PathBuf::from("restless-data")
}

/// A settings problem; the message names the file or setting.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The config file cannot be read.
    #[error("cannot read config file {}: {message}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        message: String,
    },
    /// The config file is not valid TOML for these settings.
    #[error("config file {}: {message}", path.display())]
    Parse {
        /// The file.
        path: PathBuf,
        /// Why, with line and column.
        message: String,
    },
    /// A setting is out of range.
    #[error("{0}")]
    Invalid(String),
}

/// The TOML file: the flags' names, grouped.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct FileConfig {
    addr: Option<String>,
    public_url: Option<String>,
    data_dir: Option<PathBuf>,
    kb: Option<PathBuf>,
    as_of: Option<String>,
    #[serde(default)]
    auth: FileAuth,
    #[serde(default)]
    limits: FileLimits,
    #[serde(default)]
    fhir: FileFhir,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct FileAuth {
    insecure_no_auth: Option<bool>,
    issuers: Option<Vec<String>>,
    jwks_urls: Option<Vec<String>>,
    audience: Option<String>,
    leeway_secs: Option<u64>,
    replay_capacity: Option<usize>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct FileLimits {
    max_concurrency: Option<usize>,
    workers: Option<usize>,
    request_timeout_secs: Option<u64>,
    rest_body_limit: Option<usize>,
    cds_body_limit: Option<usize>,
    fhir_timeout_secs: Option<u64>,
    fhir_max_pages: Option<usize>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
struct FileFhir {
    servers: Option<Vec<String>>,
}

impl FileConfig {
    fn apply(self, cfg: &mut ServeConfig, path: &Path) -> Result<(), ConfigError> {
        let invalid = |what: String| ConfigError::Parse { path: path.to_path_buf(), message: what };
        if let Some(a) = self.addr {
            cfg.addr =
                a.parse().map_err(|_| invalid(format!("addr `{a}` is not an IP:PORT address")))?;
        }
        if self.public_url.is_some() {
            cfg.public_url = self.public_url;
        }
        if let Some(d) = self.data_dir {
            // Relative to the file, as a person reading it would expect.
            cfg.data_dir = path.parent().map_or_else(|| d.clone(), |p| p.join(&d));
        }
        if let Some(k) = self.kb {
            cfg.kb_dir = Some(path.parent().map_or_else(|| k.clone(), |p| p.join(&k)));
        }
        if let Some(d) = self.as_of {
            cfg.as_of = Some(parse_date(&d).map_err(invalid)?);
        }
        let a = self.auth;
        if let Some(b) = a.insecure_no_auth {
            cfg.auth.insecure_no_auth = b;
        }
        if let Some(v) = a.issuers {
            cfg.auth.issuers = v;
        }
        if let Some(v) = a.jwks_urls {
            cfg.auth.jwks_urls = v;
        }
        if a.audience.is_some() {
            cfg.auth.audience = a.audience;
        }
        if let Some(v) = a.leeway_secs {
            cfg.auth.leeway_secs = v;
        }
        if let Some(v) = a.replay_capacity {
            cfg.auth.replay_capacity = v;
        }
        let l = self.limits;
        let lim = &mut cfg.limits;
        if let Some(v) = l.max_concurrency {
            lim.max_concurrency = v;
        }
        if let Some(v) = l.workers {
            lim.workers = v;
        }
        if let Some(v) = l.request_timeout_secs {
            lim.request_timeout = Duration::from_secs(v);
        }
        if let Some(v) = l.rest_body_limit {
            lim.rest_body_bytes = v;
        }
        if let Some(v) = l.cds_body_limit {
            lim.cds_body_bytes = v;
        }
        if let Some(v) = l.fhir_timeout_secs {
            lim.fhir_timeout = Duration::from_secs(v);
        }
        if let Some(v) = l.fhir_max_pages {
            lim.fhir_max_pages = v;
        }
        if let Some(v) = self.fhir.servers {
            cfg.fhir_servers = v;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_need_no_configuration() {
        let cfg = ServeConfig::from_args(&ServeArgs::default()).unwrap();
        assert_eq!(cfg.addr.to_string(), DEFAULT_ADDR);
        assert_eq!(cfg.base_url(), "http://127.0.0.1:8080");
        assert_eq!(cfg.audience(), "http://127.0.0.1:8080/cds-services");
        assert!(!cfg.auth.insecure_no_auth);
        assert_eq!(cfg.limits, Limits::default());
    }

    #[test]
    fn flags_override_the_file_which_overrides_defaults() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("restless.toml");
        std::fs::write(
            &file,
            r#"
addr = "127.0.0.1:9000"
public-url = "https://rls.example.org/"
data-dir = "data"
[auth]
issuers = ["https://ehr.example.org"]
replay-capacity = 5000
[limits]
max-concurrency = 8
workers = 3
fhir-timeout-secs = 3
[fhir]
servers = ["https://ehr.example.org/fhir"]
"#,
        )
        .unwrap();
        let args =
            ServeArgs { config: Some(file), max_concurrency: Some(4), ..ServeArgs::default() };
        let cfg = ServeConfig::from_args(&args).unwrap();
        assert_eq!(cfg.addr.to_string(), "127.0.0.1:9000");
        assert_eq!(cfg.base_url(), "https://rls.example.org");
        assert_eq!(cfg.data_dir, dir.path().join("data"));
        assert_eq!(cfg.auth.issuers, ["https://ehr.example.org"]);
        assert_eq!(cfg.auth.replay_capacity, 5000);
        assert_eq!(cfg.limits.max_concurrency, 4);
        assert_eq!(cfg.limits.workers, 3);
        let flagged = ServeArgs { workers: Some(5), ..args.clone() };
        assert_eq!(ServeConfig::from_args(&flagged).unwrap().limits.workers, 5);
        let args = ServeArgs { jwt_replay_capacity: Some(7), ..args };
        assert_eq!(ServeConfig::from_args(&args).unwrap().auth.replay_capacity, 7);
        let args = ServeArgs { jwt_replay_capacity: Some(0), ..args };
        assert!(ServeConfig::from_args(&args).is_err(), "a zero capacity refuses every token");
        assert_eq!(cfg.limits.fhir_timeout, Duration::from_secs(3));
        assert_eq!(cfg.fhir_servers, ["https://ehr.example.org/fhir"]);
    }

    #[test]
    fn unknown_keys_and_bad_values_are_refused_with_the_file_name() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("bad.toml");
        std::fs::write(&file, "adress = \"x\"\n").unwrap();
        let args = ServeArgs { config: Some(file), ..ServeArgs::default() };
        let e = ServeConfig::from_args(&args).unwrap_err().to_string();
        assert!(e.contains("bad.toml") && e.contains("adress"), "{e}");
        let args = ServeArgs { max_concurrency: Some(0), ..ServeArgs::default() };
        assert!(ServeConfig::from_args(&args).is_err());
        let args = ServeArgs { workers: Some(0), ..ServeArgs::default() };
        let e = ServeConfig::from_args(&args).unwrap_err().to_string();
        assert!(e.contains("workers"), "{e}");
    }
}
