//! Parsing of the bearer token: the `Authorization` header value, the compact JWS segments, the
//! JOSE header (with the algorithm allowlist) and the claims. Nothing here checks a signature;
//! the claims are only handed out through [`UnverifiedToken::payload`], which the caller uses
//! after the signature has been verified.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use serde::Deserialize;
use serde::de::DeserializeOwned;

use super::{AuthError, MAX_TOKEN_BYTES, sanitize};

/// The only algorithms accepted: asymmetric ones (CDS Hooks forbids `none` and symmetric
/// algorithms) that the aws-lc-rs backend of `jsonwebtoken` implements.
const ALLOWED_ALGORITHMS: &[(&str, Algorithm)] = &[
    ("RS256", Algorithm::RS256),
    ("RS384", Algorithm::RS384),
    ("RS512", Algorithm::RS512),
    ("PS256", Algorithm::PS256),
    ("PS384", Algorithm::PS384),
    ("PS512", Algorithm::PS512),
    ("ES256", Algorithm::ES256),
    ("ES384", Algorithm::ES384),
];

/// Longest accepted `jti`, in bytes.
const MAX_JTI_BYTES: usize = 256;

/// The JOSE header fields this module uses; unknown fields are ignored, never trusted.
#[derive(Debug)]
pub(super) struct Header {
    /// The `alg` value as written in the token (one of [`ALLOWED_ALGORITHMS`]).
    pub(super) alg_name: &'static str,
    pub(super) kid: String,
    pub(super) jku: Option<String>,
}

#[derive(Deserialize)]
struct RawHeader {
    alg: Option<String>,
    typ: Option<String>,
    kid: Option<String>,
    jku: Option<String>,
    crit: Option<serde_json::Value>,
}

/// A syntactically valid token whose signature has not been checked yet.
pub(super) struct UnverifiedToken<'a> {
    pub(super) header: Header,
    pub(super) alg: Algorithm,
    /// `<header>.<payload>` as sent: the bytes the signature covers.
    pub(super) signing_input: &'a [u8],
    /// The third segment, base64url.
    pub(super) signature_b64: &'a str,
    payload_json: Vec<u8>,
}

impl<'a> UnverifiedToken<'a> {
    /// Parses `Bearer <jwt>` and the JOSE header; refuses disallowed algorithms.
    pub(super) fn parse(authorization_header: &'a str) -> Result<Self, AuthError> {
        if authorization_header.len() > MAX_TOKEN_BYTES {
            return Err(malformed("authorization header too long"));
        }
        let (scheme, rest) = authorization_header
            .trim_start_matches(' ')
            .split_once(' ')
            .ok_or_else(|| malformed("expected `Bearer <token>`"))?;
        if !scheme.eq_ignore_ascii_case("bearer") {
            return Err(malformed("authorization scheme is not Bearer"));
        }
        let jwt = rest.trim_matches(' ');
        if jwt.is_empty() {
            return Err(malformed("empty bearer token"));
        }
        if !jwt.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.') {
            return Err(malformed("token contains characters outside base64url"));
        }
        let mut segments = jwt.split('.');
        let (Some(header_b64), Some(payload_b64), Some(signature_b64), None) =
            (segments.next(), segments.next(), segments.next(), segments.next())
        else {
            return Err(malformed("expected a JWS of three dot-separated segments"));
        };
        if header_b64.is_empty() || payload_b64.is_empty() {
            return Err(malformed("empty header or payload segment"));
        }

        let raw: RawHeader = decode_json(header_b64, "header")?;
        let alg_name = raw.alg.ok_or_else(|| malformed("header has no alg"))?;
        let (alg_name, alg) = ALLOWED_ALGORITHMS
            .iter()
            .find(|(name, _)| *name == alg_name)
            .copied()
            .ok_or_else(|| AuthError::DisallowedAlgorithm(sanitize(&alg_name)))?;
        match raw.typ.as_deref() {
            Some(typ) if typ.eq_ignore_ascii_case("JWT") => {}
            Some(typ) if typ.eq_ignore_ascii_case("application/jwt") => {}
            Some(_) => return Err(malformed("header typ is not JWT")),
            None => return Err(malformed("header has no typ")),
        }
        if raw.crit.is_some() {
            return Err(malformed("header has unsupported crit parameters"));
        }
        let kid =
            raw.kid.filter(|kid| !kid.is_empty()).ok_or_else(|| malformed("header has no kid"))?;
        if signature_b64.is_empty() {
            return Err(AuthError::BadSignature);
        }
        let payload_json = URL_SAFE_NO_PAD
            .decode(payload_b64)
            .map_err(|_| malformed("payload is not base64url"))?;

        let signing_input_len = header_b64.len() + 1 + payload_b64.len();
        Ok(UnverifiedToken {
            header: Header { alg_name, kid, jku: raw.jku },
            alg,
            signing_input: &jwt.as_bytes()[..signing_input_len],
            signature_b64,
            payload_json,
        })
    }

    /// The `iss` claim, read before the signature is verified: only to choose a key source.
    pub(super) fn unverified_issuer(&self) -> Result<String, AuthError> {
        #[derive(Deserialize)]
        struct IssOnly {
            iss: Option<serde_json::Value>,
        }
        let claims: IssOnly = parse_object(&self.payload_json, "payload")?;
        match claims.iss {
            Some(serde_json::Value::String(iss)) => Ok(iss),
            _ => Err(AuthError::UnknownIssuer),
        }
    }

    /// The claims. Call only after the signature has been verified.
    pub(super) fn payload(&self) -> Result<Payload, AuthError> {
        let raw: RawPayload = parse_object(&self.payload_json, "payload")?;
        let iss = raw.iss.ok_or(AuthError::UnknownIssuer)?;
        let aud = match raw.aud {
            Some(Audience::One(aud)) => vec![aud],
            Some(Audience::Many(auds)) => auds,
            None => return Err(malformed("payload has no aud")),
        };
        let exp = numeric_date(raw.exp, "exp")?;
        let iat = numeric_date(raw.iat, "iat")?;
        let nbf = match raw.nbf {
            Some(value) => Some(numeric_date(Some(value), "nbf")?),
            None => None,
        };
        let jti = raw.jti.ok_or_else(|| malformed("payload has no jti"))?;
        if jti.is_empty() || jti.len() > MAX_JTI_BYTES {
            return Err(malformed("jti is empty or too long"));
        }
        Ok(Payload { iss, sub: raw.sub, aud, exp, iat, nbf, jti })
    }
}

/// The claims of a token, types checked.
#[derive(Debug)]
pub(super) struct Payload {
    pub(super) iss: String,
    pub(super) sub: Option<String>,
    pub(super) aud: Vec<String>,
    pub(super) exp: u64,
    pub(super) iat: u64,
    pub(super) nbf: Option<u64>,
    pub(super) jti: String,
}

#[derive(Deserialize)]
struct RawPayload {
    iss: Option<String>,
    sub: Option<String>,
    aud: Option<Audience>,
    exp: Option<serde_json::Number>,
    iat: Option<serde_json::Number>,
    nbf: Option<serde_json::Number>,
    jti: Option<String>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Audience {
    One(String),
    Many(Vec<String>),
}

/// A NumericDate (seconds since the epoch): a non-negative JSON number; fractions are dropped.
fn numeric_date(value: Option<serde_json::Number>, claim: &str) -> Result<u64, AuthError> {
    let value = value.ok_or_else(|| AuthError::Malformed(format!("payload has no {claim}")))?;
    if let Some(secs) = value.as_u64() {
        return Ok(secs);
    }
    match value.as_f64() {
        // `as` saturates; the range check keeps the value meaningful.
        #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
        Some(secs) if secs.is_finite() && (0.0..1.0e15).contains(&secs) => Ok(secs.floor() as u64),
        _ => Err(AuthError::Malformed(format!("{claim} is not a valid NumericDate"))),
    }
}

/// Decodes a base64url segment holding a JSON object.
fn decode_json<T: DeserializeOwned>(segment: &str, what: &str) -> Result<T, AuthError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| AuthError::Malformed(format!("{what} is not base64url")))?;
    parse_object(&bytes, what)
}

/// Parses a JSON object (an array, which serde would also map onto a struct, is refused).
/// Duplicate member names are refused as well.
fn parse_object<T: DeserializeOwned>(bytes: &[u8], what: &str) -> Result<T, AuthError> {
    if bytes.iter().find(|b| !b.is_ascii_whitespace()) != Some(&b'{') {
        return Err(AuthError::Malformed(format!("{what} is not a JSON object")));
    }
    serde_json::from_slice(bytes).map_err(|_| {
        AuthError::Malformed(format!("{what} is not valid JSON of the expected shape"))
    })
}

fn malformed(reason: &str) -> AuthError {
    AuthError::Malformed(reason.to_owned())
}
