//! CDS Hooks JWT verification (`auth`): a valid token passes, and each way a token can be
//! wrong is refused with its own error. Keys are test-only PEM files in `tests/auth_keys/`
//! (generated once with `openssl genpkey`); JWK Sets are derived from them at test time and
//! either pre-loaded with `Verifier::insert_jwks` or served by a stub HTTP server on 127.0.0.1.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use restless_server::auth::{AuthConfig, AuthError, Verifier};
use serde_json::{Value, json};

const ISSUER: &str = "https://ehr.example.com/";
const OTHER_ISSUER: &str = "https://other-ehr.example.com/";
const AUDIENCE: &str = "https://cds.example.org/cds-services/rls";
const JWKS_URL: &str = "https://ehr.example.com/jwks.json";
const OTHER_JWKS_URL: &str = "https://other-ehr.example.com/jwks.json";
const RSA_KID: &str = "rsa-1";
const P256_KID: &str = "p256-1";
const P384_KID: &str = "p384-1";

const RSA_PEM: &str = include_str!("auth_keys/rsa_private.pem");
const RSA_OTHER_PEM: &str = include_str!("auth_keys/rsa_other_private.pem");
/// The public JWK of `rsa_weak_1024_private.pem` (written with openssl: crypto backends refuse
/// to build one from so weak a key).
const RSA_WEAK_JWK: &str = include_str!("auth_keys/rsa_weak_1024_public.jwk.json");
const P256_PEM: &str = include_str!("auth_keys/ec_p256_private.pem");
const P384_PEM: &str = include_str!("auth_keys/ec_p384_private.pem");

fn rsa_key() -> EncodingKey {
    EncodingKey::from_rsa_pem(RSA_PEM.as_bytes()).unwrap()
}

fn p256_key() -> EncodingKey {
    EncodingKey::from_ec_pem(P256_PEM.as_bytes()).unwrap()
}

fn p384_key() -> EncodingKey {
    EncodingKey::from_ec_pem(P384_PEM.as_bytes()).unwrap()
}

fn now() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).unwrap().as_secs()
}

/// A public JWK for a private key, with a `kid`.
fn public_jwk(key: &EncodingKey, alg: Algorithm, kid: &str) -> Jwk {
    let mut jwk = Jwk::from_encoding_key(key, alg).unwrap();
    jwk.common.key_id = Some(kid.to_owned());
    jwk
}

fn jwks_json(keys: Vec<Jwk>) -> String {
    serde_json::to_string(&JwkSet { keys }).unwrap()
}

/// The JWK Set of the trusted EHR: an RSA key (JWK `alg` RS256), a P-256 and a P-384 key.
fn ehr_jwks() -> String {
    jwks_json(vec![
        public_jwk(&rsa_key(), Algorithm::RS256, RSA_KID),
        public_jwk(&p256_key(), Algorithm::ES256, P256_KID),
        public_jwk(&p384_key(), Algorithm::ES384, P384_KID),
    ])
}

/// A JWK Set whose RSA key names no `alg` (usable with every RSA algorithm).
fn rsa_jwks_any_alg() -> String {
    let mut jwk = public_jwk(&rsa_key(), Algorithm::RS256, RSA_KID);
    jwk.common.key_algorithm = None;
    jwks_json(vec![jwk])
}

fn config() -> AuthConfig {
    AuthConfig {
        insecure_no_auth: false,
        allowed_issuers: vec![ISSUER.to_owned(), OTHER_ISSUER.to_owned()],
        jwks_allowlist: vec![
            format!("{ISSUER}|{JWKS_URL}"),
            format!("{OTHER_ISSUER}|{OTHER_JWKS_URL}"),
        ],
        audience: AUDIENCE.to_owned(),
        leeway_secs: 60,
        replay_capacity: 1000,
    }
}

/// A verifier trusting [`ISSUER`], with its JWK Set pre-loaded at [`JWKS_URL`].
fn verifier() -> Verifier {
    let verifier = Verifier::new(config());
    verifier.insert_jwks(JWKS_URL, &ehr_jwks()).unwrap();
    verifier
}

static JTI: AtomicUsize = AtomicUsize::new(0);

fn fresh_jti() -> String {
    format!("jti-{}-{}", std::process::id(), JTI.fetch_add(1, Ordering::Relaxed))
}

/// Valid claims, issued now, expiring in five minutes.
fn claims() -> Value {
    let now = now();
    json!({
        "iss": ISSUER,
        "sub": "client-id",
        "aud": AUDIENCE,
        "exp": now + 300,
        "iat": now,
        "jti": fresh_jti(),
        "tenant": "2ddd6c3a-8e9a-44c6-a305-52111ad302a2",
    })
}

fn header(alg: Algorithm, kid: &str, jku: Option<&str>) -> Header {
    let mut header = Header::new(alg);
    header.typ = Some("JWT".to_owned());
    header.kid = Some(kid.to_owned());
    header.jku = jku.map(str::to_owned);
    header
}

fn sign(header: &Header, claims: &Value, key: &EncodingKey) -> String {
    jsonwebtoken::encode(header, claims, key).unwrap()
}

/// An RS256 token with the given claims, signed by the EHR's RSA key, `jku` = [`JWKS_URL`].
fn rs256(claims: &Value) -> String {
    sign(&header(Algorithm::RS256, RSA_KID, Some(JWKS_URL)), claims, &rsa_key())
}

fn bearer(token: &str) -> String {
    format!("Bearer {token}")
}

/// A token from raw header and claims JSON and a raw signature segment.
fn raw_token(header: &Value, claims: &Value, signature: &str) -> String {
    let h = URL_SAFE_NO_PAD.encode(serde_json::to_vec(header).unwrap());
    let c = URL_SAFE_NO_PAD.encode(serde_json::to_vec(claims).unwrap());
    format!("{h}.{c}.{signature}")
}

async fn verify(
    verifier: &Verifier,
    token: &str,
) -> Result<restless_server::auth::Claims, AuthError> {
    verifier.verify(Some(&bearer(token))).await
}

#[tokio::test]
async fn valid_rs256_token_passes() {
    let claims = claims();
    let verified = verify(&verifier(), &rs256(&claims)).await.unwrap();
    assert_eq!(verified.iss, ISSUER);
    assert_eq!(verified.sub.as_deref(), Some("client-id"));
    assert_eq!(verified.jti, claims["jti"].as_str().unwrap());
}

#[tokio::test]
async fn valid_tokens_of_every_allowed_algorithm_pass() {
    let verifier = verifier();
    let es256 = sign(&header(Algorithm::ES256, P256_KID, Some(JWKS_URL)), &claims(), &p256_key());
    let es384 = sign(&header(Algorithm::ES384, P384_KID, Some(JWKS_URL)), &claims(), &p384_key());
    verify(&verifier, &es256).await.unwrap();
    verify(&verifier, &es384).await.unwrap();

    // RSA algorithms other than RS256, against a JWK that names no `alg`.
    let verifier = Verifier::new(config());
    verifier.insert_jwks(JWKS_URL, &rsa_jwks_any_alg()).unwrap();
    for alg in [
        Algorithm::RS256,
        Algorithm::RS384,
        Algorithm::RS512,
        Algorithm::PS256,
        Algorithm::PS384,
        Algorithm::PS512,
    ] {
        let token = sign(&header(alg, RSA_KID, Some(JWKS_URL)), &claims(), &rsa_key());
        verify(&verifier, &token).await.unwrap_or_else(|e| panic!("{alg:?}: {e}"));
    }
}

#[tokio::test]
async fn jwk_alg_must_match_the_token_alg() {
    // The EHR's RSA JWK says RS256: a PS256 token with that kid is refused.
    let token = sign(&header(Algorithm::PS256, RSA_KID, Some(JWKS_URL)), &claims(), &rsa_key());
    assert!(matches!(verify(&verifier(), &token).await, Err(AuthError::KeyNotFound)));
}

#[tokio::test]
async fn audience_may_be_an_array_containing_the_service_url() {
    let mut claims = claims();
    claims["aud"] = json!(["https://elsewhere.example.org/", AUDIENCE]);
    verify(&verifier(), &rs256(&claims)).await.unwrap();
}

#[tokio::test]
async fn verify_for_audience_checks_the_given_endpoint_url() {
    let verifier = verifier();
    let mut claims = claims();
    claims["aud"] = json!("https://cds.example.org/cds-services");
    verifier
        .verify_for_audience(Some(&bearer(&rs256(&claims))), "https://cds.example.org/cds-services")
        .await
        .unwrap();
    claims["jti"] = json!(fresh_jti());
    assert!(matches!(
        verifier.verify_for_audience(Some(&bearer(&rs256(&claims))), AUDIENCE).await,
        Err(AuthError::WrongAudience)
    ));
}

#[tokio::test]
async fn expired_token_is_refused() {
    let mut claims = claims();
    let now = now();
    claims["iat"] = json!(now - 600);
    claims["exp"] = json!(now - 120);
    assert!(matches!(verify(&verifier(), &rs256(&claims)).await, Err(AuthError::Expired)));
}

#[tokio::test]
async fn expiry_within_the_leeway_is_tolerated() {
    let mut claims = claims();
    let now = now();
    claims["iat"] = json!(now - 300);
    claims["exp"] = json!(now - 20);
    verify(&verifier(), &rs256(&claims)).await.unwrap();
}

#[tokio::test]
async fn token_issued_far_in_the_future_is_refused() {
    let mut claims = claims();
    let now = now();
    claims["iat"] = json!(now + 600);
    claims["exp"] = json!(now + 900);
    assert!(matches!(verify(&verifier(), &rs256(&claims)).await, Err(AuthError::IssuedInFuture)));
}

#[tokio::test]
async fn token_not_yet_valid_is_refused() {
    let mut claims = claims();
    claims["nbf"] = json!(now() + 600);
    assert!(matches!(verify(&verifier(), &rs256(&claims)).await, Err(AuthError::NotYetValid)));
}

#[tokio::test]
async fn token_living_too_long_is_refused() {
    let mut claims = claims();
    claims["exp"] = json!(now() + 30 * 24 * 3600);
    assert!(matches!(verify(&verifier(), &rs256(&claims)).await, Err(AuthError::LifetimeTooLong)));
}

#[tokio::test]
async fn wrong_audience_is_refused() {
    let mut claims = claims();
    claims["aud"] = json!("https://attacker.example.net/cds-services/rls");
    assert!(matches!(verify(&verifier(), &rs256(&claims)).await, Err(AuthError::WrongAudience)));
    claims["aud"] = json!(["https://attacker.example.net/"]);
    claims["jti"] = json!(fresh_jti());
    assert!(matches!(verify(&verifier(), &rs256(&claims)).await, Err(AuthError::WrongAudience)));
}

#[tokio::test]
async fn missing_claims_are_refused() {
    for claim in ["aud", "exp", "iat", "jti"] {
        let mut claims = claims();
        claims.as_object_mut().unwrap().remove(claim);
        let result = verify(&verifier(), &rs256(&claims)).await;
        assert!(matches!(result, Err(AuthError::Malformed(_))), "{claim}: {result:?}");
    }
}

#[tokio::test]
async fn unknown_issuer_is_refused() {
    let mut claims = claims();
    claims["iss"] = json!("https://attacker.example.net/");
    assert!(matches!(verify(&verifier(), &rs256(&claims)).await, Err(AuthError::UnknownIssuer)));
    claims.as_object_mut().unwrap().remove("iss");
    assert!(matches!(verify(&verifier(), &rs256(&claims)).await, Err(AuthError::UnknownIssuer)));
}

#[tokio::test]
async fn alg_none_is_refused() {
    let header = json!({"alg": "none", "typ": "JWT", "kid": RSA_KID, "jku": JWKS_URL});
    for signature in ["", "c2lnbmF0dXJl"] {
        let token = raw_token(&header, &claims(), signature);
        let result = verify(&verifier(), &token).await;
        assert!(
            matches!(result, Err(AuthError::DisallowedAlgorithm(ref a)) if a == "none"),
            "{result:?}"
        );
    }
    let header = json!({"alg": "None", "typ": "JWT", "kid": RSA_KID});
    let result = verify(&verifier(), &raw_token(&header, &claims(), "")).await;
    assert!(matches!(result, Err(AuthError::DisallowedAlgorithm(_))), "{result:?}");
}

#[tokio::test]
async fn hs256_with_a_shared_secret_is_refused() {
    let hs256 = header(Algorithm::HS256, RSA_KID, Some(JWKS_URL));
    let token = sign(&hs256, &claims(), &EncodingKey::from_secret(b"shared secret"));
    assert!(matches!(
        verify(&verifier(), &token).await,
        Err(AuthError::DisallowedAlgorithm(ref a)) if a == "HS256"
    ));
    // The classic confusion attack: HMAC keyed with the (public) RSA key material.
    let jwk = serde_json::to_vec(&public_jwk(&rsa_key(), Algorithm::RS256, RSA_KID)).unwrap();
    let token = sign(&hs256, &claims(), &EncodingKey::from_secret(&jwk));
    assert!(matches!(verify(&verifier(), &token).await, Err(AuthError::DisallowedAlgorithm(_))));
    for alg in [Algorithm::HS384, Algorithm::HS512] {
        let token = sign(&header(alg, RSA_KID, None), &claims(), &EncodingKey::from_secret(b"s"));
        assert!(matches!(
            verify(&verifier(), &token).await,
            Err(AuthError::DisallowedAlgorithm(_))
        ));
    }
}

#[tokio::test]
async fn replayed_jti_is_refused() {
    let verifier = verifier();
    let token = rs256(&claims());
    verify(&verifier, &token).await.unwrap();
    assert!(matches!(verify(&verifier, &token).await, Err(AuthError::Replayed)));
    // The same jti in a new token (another signature) is a replay too.
    let clone = verifier.clone();
    let mut claims: Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(token.split('.').nth(1).unwrap()).unwrap())
            .unwrap();
    claims["iat"] = json!(now() - 1);
    assert!(matches!(verify(&clone, &rs256(&claims)).await, Err(AuthError::Replayed)));
}

/// The configured capacity is the store's: once full of live token ids, new tokens are
/// refused rather than an id forgotten.
#[tokio::test]
async fn a_full_replay_store_refuses_new_tokens() {
    let verifier = Verifier::new(AuthConfig { replay_capacity: 2, ..config() });
    verifier.insert_jwks(JWKS_URL, &ehr_jwks()).unwrap();
    for _ in 0..2 {
        verify(&verifier, &rs256(&claims())).await.unwrap();
    }
    assert!(matches!(verify(&verifier, &rs256(&claims())).await, Err(AuthError::ReplayStoreFull)));
}

#[tokio::test]
async fn kid_not_in_the_jwks_is_refused() {
    let token =
        sign(&header(Algorithm::RS256, "no-such-kid", Some(JWKS_URL)), &claims(), &rsa_key());
    assert!(matches!(verify(&verifier(), &token).await, Err(AuthError::KeyNotFound)));
}

#[tokio::test]
async fn key_of_the_wrong_type_for_the_alg_is_refused() {
    // ES256 token naming the RSA key's kid; and ES384 naming the P-256 key's kid.
    let token = sign(&header(Algorithm::ES256, RSA_KID, Some(JWKS_URL)), &claims(), &p256_key());
    assert!(matches!(verify(&verifier(), &token).await, Err(AuthError::KeyNotFound)));
    let token = sign(&header(Algorithm::ES384, P256_KID, Some(JWKS_URL)), &claims(), &p384_key());
    assert!(matches!(verify(&verifier(), &token).await, Err(AuthError::KeyNotFound)));
}

#[tokio::test]
async fn weak_rsa_key_in_the_jwks_is_ignored() {
    let weak: Jwk = serde_json::from_str(RSA_WEAK_JWK).unwrap();
    let verifier = Verifier::new(config());
    verifier.insert_jwks(JWKS_URL, &jwks_json(vec![weak])).unwrap();
    // The key is refused before any signature is checked, so the signature need not be real
    // (crypto backends refuse to sign with a 1024-bit key).
    let part = |v: &Value| URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap());
    let head = json!({"alg": "RS256", "typ": "JWT", "kid": "weak", "jku": JWKS_URL});
    let token =
        format!("{}.{}.{}", part(&head), part(&claims()), URL_SAFE_NO_PAD.encode([7u8; 128]));
    assert!(matches!(verify(&verifier, &token).await, Err(AuthError::KeyNotFound)));
}

#[tokio::test]
async fn jku_not_allowlisted_is_refused() {
    let verifier = verifier();
    let evil = "https://attacker.example.net/jwks.json";
    // Even with the attacker's set already in the cache, the jku is not trusted.
    verifier.insert_jwks(evil, &ehr_jwks()).unwrap();
    let token = sign(&header(Algorithm::RS256, RSA_KID, Some(evil)), &claims(), &rsa_key());
    assert!(matches!(
        verify(&verifier, &token).await,
        Err(AuthError::JwksNotAllowed(ref url)) if url == evil
    ));
}

#[tokio::test]
async fn jku_allowlisted_for_another_issuer_is_refused() {
    let verifier = verifier();
    verifier.insert_jwks(OTHER_JWKS_URL, &ehr_jwks()).unwrap();
    let token =
        sign(&header(Algorithm::RS256, RSA_KID, Some(OTHER_JWKS_URL)), &claims(), &rsa_key());
    assert!(matches!(verify(&verifier, &token).await, Err(AuthError::JwksNotAllowed(_))));
}

#[tokio::test]
async fn plain_url_entry_allows_the_jku_for_any_allowed_issuer() {
    let shared = "https://shared-idp.example.com/jwks.json";
    let mut cfg = config();
    cfg.jwks_allowlist.push(shared.to_owned());
    let verifier = Verifier::new(cfg);
    verifier.insert_jwks(shared, &ehr_jwks()).unwrap();
    let mut claims = claims();
    claims["iss"] = json!(OTHER_ISSUER);
    let token = sign(&header(Algorithm::RS256, RSA_KID, Some(shared)), &claims, &rsa_key());
    verify(&verifier, &token).await.unwrap();
}

#[tokio::test]
async fn token_without_jku_uses_the_issuers_allowlisted_url() {
    let token = sign(&header(Algorithm::ES256, P256_KID, None), &claims(), &p256_key());
    verify(&verifier(), &token).await.unwrap();
}

#[tokio::test]
async fn token_without_jku_may_use_an_out_of_band_set_loaded_for_the_issuer() {
    let mut cfg = config();
    cfg.jwks_allowlist.clear();
    let verifier = Verifier::new(cfg);
    verifier.insert_jwks(ISSUER, &ehr_jwks()).unwrap();
    let token = sign(&header(Algorithm::RS256, RSA_KID, None), &claims(), &rsa_key());
    verify(&verifier, &token).await.unwrap();
    // With a jku, the out-of-band set of the issuer is not used: the jku must be allowlisted.
    let token = sign(&header(Algorithm::RS256, RSA_KID, Some(JWKS_URL)), &claims(), &rsa_key());
    assert!(matches!(verify(&verifier, &token).await, Err(AuthError::JwksNotAllowed(_))));
}

#[tokio::test]
async fn malformed_headers_are_refused() {
    let verifier = verifier();
    let valid = rs256(&claims());
    let (h, rest) = valid.split_once('.').unwrap();
    let cases: Vec<String> = vec![
        String::new(),
        "Bearer".to_owned(),
        "Bearer ".to_owned(),
        format!("Basic {valid}"),
        format!("Token {valid}"),
        "Bearer abc".to_owned(),
        "Bearer a.b".to_owned(),
        "Bearer a.b.c.d".to_owned(),
        "Bearer a.b.c.d.e".to_owned(),
        format!("Bearer {valid}.extra"),
        format!("Bearer {h}!.{rest}"),
        format!("Bearer {valid} trailing"),
        format!("Bearer {}.{rest}", URL_SAFE_NO_PAD.encode("not json")),
        format!("Bearer {}.{rest}", URL_SAFE_NO_PAD.encode("[\"RS256\"]")),
        format!("Bearer {}.{rest}", URL_SAFE_NO_PAD.encode("{\"alg\": 256}")),
        format!("Bearer {h}==.{rest}"),
        format!("Bearer {}", "a".repeat(20_000)),
    ];
    for case in cases {
        let result = verifier.verify(Some(&case)).await;
        assert!(matches!(result, Err(AuthError::Malformed(_))), "{case:.60}: {result:?}");
    }
}

#[tokio::test]
async fn header_without_typ_or_kid_or_with_crit_is_refused() {
    let verifier = verifier();
    for header in [
        json!({"alg": "RS256", "kid": RSA_KID, "jku": JWKS_URL}),
        json!({"alg": "RS256", "typ": "JOSE+JSON", "kid": RSA_KID, "jku": JWKS_URL}),
        json!({"alg": "RS256", "typ": "JWT", "jku": JWKS_URL}),
        json!({"alg": "RS256", "typ": "JWT", "kid": "", "jku": JWKS_URL}),
        json!({"alg": "RS256", "typ": "JWT", "kid": RSA_KID, "crit": ["exp"], "exp": 1}),
    ] {
        let result = verify(&verifier, &raw_token(&header, &claims(), "c2ln")).await;
        assert!(matches!(result, Err(AuthError::Malformed(_))), "{header}: {result:?}");
    }
}

#[tokio::test]
async fn missing_header_is_refused() {
    assert!(matches!(verifier().verify(None).await, Err(AuthError::MissingToken)));
}

#[tokio::test]
async fn bad_signature_is_refused() {
    let verifier = verifier();
    // Signed by a key the EHR does not own, naming the EHR's kid.
    let other = EncodingKey::from_rsa_pem(RSA_OTHER_PEM.as_bytes()).unwrap();
    let token = sign(&header(Algorithm::RS256, RSA_KID, Some(JWKS_URL)), &claims(), &other);
    assert!(matches!(verify(&verifier, &token).await, Err(AuthError::BadSignature)));

    // A valid token whose payload was changed after signing.
    let token = rs256(&claims());
    let mut parts: Vec<String> = token.split('.').map(str::to_owned).collect();
    let mut forged = claims();
    forged["sub"] = json!("admin");
    parts[1] = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&forged).unwrap());
    assert!(matches!(verify(&verifier, &parts.join(".")).await, Err(AuthError::BadSignature)));

    // No signature, or a garbage one.
    let (signed, _) = token.rsplit_once('.').unwrap();
    assert!(matches!(verify(&verifier, &format!("{signed}.")).await, Err(AuthError::BadSignature)));
    assert!(matches!(
        verify(&verifier, &format!("{signed}.AAAA")).await,
        Err(AuthError::BadSignature)
    ));

    // ECDSA: a valid signature, but of another token.
    let token = sign(&header(Algorithm::ES256, P256_KID, Some(JWKS_URL)), &claims(), &p256_key());
    let (signed, _) = token.rsplit_once('.').unwrap();
    let other_sig =
        sign(&header(Algorithm::ES256, P256_KID, Some(JWKS_URL)), &claims(), &p256_key());
    let (_, other_sig) = other_sig.rsplit_once('.').unwrap();
    assert!(matches!(
        verify(&verifier, &format!("{signed}.{other_sig}")).await,
        Err(AuthError::BadSignature)
    ));
}

#[tokio::test]
async fn errors_never_echo_the_token() {
    let verifier = verifier();
    let token = rs256(&claims());
    let results = [
        verifier.verify(Some(&format!("Basic {token}"))).await,
        verifier.verify(Some(&format!("Bearer {token}.x"))).await,
        verifier.verify(Some(&format!("Bearer {token}x"))).await,
    ];
    for result in results {
        let err = result.unwrap_err();
        let text = format!("{err} {err:?}");
        assert!(!text.contains(&token[..20]), "{text}");
    }
}

#[tokio::test]
async fn spec_example_token_verifies_with_the_spec_jwks_and_is_expired() {
    // CDS Hooks 2.0, "Trusting CDS Clients": the example ES384 token and its JWK Set.
    let token = "eyJhbGciOiJFUzM4NCIsInR5cCI6IkpXVCIsImtpZCI6ImV4YW1wbGUta2lkIiwiamt1IjoiaHR0cHM6Ly9maGlyLWVoci5leGFtcGxlLmNvbS9qd2tfdXJpIn0.eyJpc3MiOiJodHRwczovL2ZoaXItZWhyLmV4YW1wbGUuY29tLyIsInN1YiI6ImNsaWVudF9pZCIsImF1ZCI6Imh0dHBzOi8vY2RzLmV4YW1wbGUub3JnL2Nkcy1zZXJ2aWNlcy9zb21lLXNlcnZpY2UiLCJleHAiOjE0MjI1Njg4NjAsImlhdCI6MTMxMTI4MDk3MCwianRpIjoiZWUyMmIwMjEtZTFiNy00NjExLWJhNWItOGVlYzZhMzNhYzFlIiwidGVuYW50IjoiMmRkZDZjM2EtOGU5YS00NGM2LWEzMDUtNTIxMTFhZDMwMmEyIn0.CUFPkplnWd6YGIvzoHolWCQBDsCL8QtTWKGg_QFpS169WrqDGzktRi-_we6-6rVzbjerU27ZKww_SW0-b9RTz-dPJNcqsueMio8r6EqXUXhbLm_ch3XFSbDlGHDl_tqo";
    let jwks = r#"{"keys":[{"kty":"EC","use":"sig","crv":"P-384","kid":"example-kid",
        "x":"46SDH7Znh821wblCBglA61sNE9ZrHYKKt3qRtRTmSXyOI_FIGBLWrWa0GPUkDCEk",
        "y":"XMcRuuoGW7CXjQdy-F5i3FeBE0x9hPLdeFdSoDd3ELmx404tLX0VRRcqzAsPhXcI","alg":"ES384"}]}"#;
    let issuer = "https://fhir-ehr.example.com/";
    let jku = "https://fhir-ehr.example.com/jwk_uri";
    let verifier = Verifier::new(AuthConfig {
        allowed_issuers: vec![issuer.to_owned()],
        jwks_allowlist: vec![format!("{issuer}|{jku}")],
        audience: "https://cds.example.org/cds-services/some-service".to_owned(),
        ..AuthConfig::default()
    });
    verifier.insert_jwks(jku, jwks).unwrap();
    // Past the signature (a wrong one would be BadSignature), the 2015 `exp` refuses it.
    assert!(matches!(verify(&verifier, token).await, Err(AuthError::Expired)));
    // And one flipped signature byte is caught.
    let mut forged = token.to_owned();
    forged.replace_range(forged.len() - 2.., "tp");
    assert!(matches!(verify(&verifier, &forged).await, Err(AuthError::BadSignature)));
}

#[tokio::test]
async fn insecure_mode_accepts_anything_with_placeholder_claims() {
    let verifier = Verifier::new(AuthConfig { insecure_no_auth: true, ..AuthConfig::default() });
    let claims = verifier.verify(None).await.unwrap();
    assert_eq!(claims.iss, "insecure-no-auth");
    assert!(claims.sub.is_none());
    verifier.verify(Some("Bearer garbage")).await.unwrap();
}

#[tokio::test]
async fn default_config_trusts_nobody() {
    let verifier = Verifier::new(AuthConfig::default());
    assert_eq!(AuthConfig::default().leeway_secs, 60);
    assert!(matches!(verify(&verifier, &rs256(&claims())).await, Err(AuthError::UnknownIssuer)));
}

#[test]
fn verifier_is_send_sync_clone() {
    fn assert_traits<T: Send + Sync + Clone + 'static>() {}
    assert_traits::<Verifier>();
    fn assert_send<T: Send>(_: &T) {}
    let verifier = Verifier::new(AuthConfig::default());
    assert_send(&verifier.verify(None));
}

#[test]
fn insert_jwks_refuses_invalid_sets() {
    let verifier = Verifier::new(config());
    for bad in ["", "[]", "{}", "{\"keys\": 1}", "not json"] {
        assert!(
            matches!(verifier.insert_jwks(JWKS_URL, bad), Err(AuthError::InvalidJwks(_))),
            "{bad}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Fetching from a stub JWKS server on 127.0.0.1.

/// A JWKS endpoint on loopback that counts its requests and can be changed while it runs.
struct StubJwks {
    url: String,
    body: Arc<Mutex<(u16, String)>>,
    hits: Arc<AtomicUsize>,
}

impl StubJwks {
    async fn start(jwks: String) -> StubJwks {
        let body = Arc::new(Mutex::new((200, jwks)));
        let hits = Arc::new(AtomicUsize::new(0));
        let (state_body, state_hits) = (Arc::clone(&body), Arc::clone(&hits));
        let app = axum::Router::new().route(
            "/jwks.json",
            axum::routing::get(move || {
                let (body, hits) = (Arc::clone(&state_body), Arc::clone(&state_hits));
                async move {
                    hits.fetch_add(1, Ordering::SeqCst);
                    let (status, text) = body.lock().unwrap().clone();
                    (axum::http::StatusCode::from_u16(status).unwrap(), text)
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        StubJwks { url: format!("http://{addr}/jwks.json"), body, hits }
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    fn set(&self, status: u16, body: String) {
        *self.body.lock().unwrap() = (status, body);
    }

    fn verifier(&self) -> Verifier {
        let mut cfg = config();
        cfg.jwks_allowlist = vec![format!("{ISSUER}|{}", self.url)];
        Verifier::new(cfg)
    }
}

#[tokio::test]
async fn allowlisted_jwks_is_fetched_once_and_cached() {
    let stub = StubJwks::start(ehr_jwks()).await;
    let verifier = stub.verifier();
    let token = |alg, kid: &str, key: &EncodingKey| {
        sign(&header(alg, kid, Some(&stub.url)), &claims(), key)
    };
    verify(&verifier, &token(Algorithm::RS256, RSA_KID, &rsa_key())).await.unwrap();
    assert_eq!(stub.hits(), 1);
    verify(&verifier, &token(Algorithm::ES256, P256_KID, &p256_key())).await.unwrap();
    verify(&verifier.clone(), &token(Algorithm::ES384, P384_KID, &p384_key())).await.unwrap();
    // Without jku, the issuer's allowlisted URL: the same cache entry.
    let no_jku = sign(&header(Algorithm::RS256, RSA_KID, None), &claims(), &rsa_key());
    verify(&verifier, &no_jku).await.unwrap();
    assert_eq!(stub.hits(), 1, "second and later verifications must use the cache");
}

#[tokio::test]
async fn unknown_kid_refetches_once_per_cooldown() {
    let stub =
        StubJwks::start(jwks_json(vec![public_jwk(&rsa_key(), Algorithm::RS256, RSA_KID)])).await;
    let verifier = stub.verifier();
    let rsa = sign(&header(Algorithm::RS256, RSA_KID, Some(&stub.url)), &claims(), &rsa_key());
    verify(&verifier, &rsa).await.unwrap();
    assert_eq!(stub.hits(), 1);

    // The EHR rotates in a P-256 key. Right after a fetch, an unknown kid does not refetch.
    stub.set(200, ehr_jwks());
    let es256 =
        || sign(&header(Algorithm::ES256, P256_KID, Some(&stub.url)), &claims(), &p256_key());
    assert!(matches!(verify(&verifier, &es256()).await, Err(AuthError::KeyNotFound)));
    assert_eq!(stub.hits(), 1);

    // After the cooldown, the unknown kid causes one refetch, which finds it.
    tokio::time::sleep(Duration::from_millis(5_200)).await;
    let tokens: Vec<String> = (0..8).map(|_| es256()).collect();
    let results = futures_join_all(&verifier, &tokens).await;
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert_eq!(stub.hits(), 2, "concurrent lookups of a new kid share one refetch");

    // A kid that is still unknown after the refetch is refused without another fetch.
    let ghost = sign(&header(Algorithm::RS256, "ghost", Some(&stub.url)), &claims(), &rsa_key());
    assert!(matches!(verify(&verifier, &ghost).await, Err(AuthError::KeyNotFound)));
    assert_eq!(stub.hits(), 2);
}

/// Verifies the tokens concurrently (spawned tasks on the test runtime).
async fn futures_join_all(verifier: &Verifier, tokens: &[String]) -> Vec<Result<(), String>> {
    let handles: Vec<_> = tokens
        .iter()
        .map(|token| {
            let (verifier, header) = (verifier.clone(), bearer(token));
            tokio::spawn(async move {
                verifier.verify(Some(&header)).await.map(|_| ()).map_err(|e| e.to_string())
            })
        })
        .collect();
    let mut results = Vec::new();
    for handle in handles {
        results.push(handle.await.unwrap());
    }
    results
}

#[tokio::test]
async fn failing_jwks_endpoint_is_refused_and_backed_off() {
    let stub = StubJwks::start(String::new()).await;
    stub.set(500, "oops".to_owned());
    let verifier = stub.verifier();
    let token = || sign(&header(Algorithm::RS256, RSA_KID, Some(&stub.url)), &claims(), &rsa_key());
    assert!(matches!(verify(&verifier, &token()).await, Err(AuthError::JwksFetch(_))));
    assert_eq!(stub.hits(), 1);
    // Within the back-off, no new request is made.
    stub.set(200, ehr_jwks());
    assert!(matches!(verify(&verifier, &token()).await, Err(AuthError::JwksFetch(_))));
    assert_eq!(stub.hits(), 1);

    // Invalid JSON from the endpoint is a fetch error too.
    let stub = StubJwks::start("{\"keys\": \"nope\"}".to_owned()).await;
    let token = sign(&header(Algorithm::RS256, RSA_KID, Some(&stub.url)), &claims(), &rsa_key());
    assert!(matches!(verify(&stub.verifier(), &token).await, Err(AuthError::JwksFetch(_))));
}

#[tokio::test]
async fn nothing_is_fetched_for_an_unknown_issuer_or_a_refused_jku() {
    let stub = StubJwks::start(ehr_jwks()).await;
    let verifier = stub.verifier();
    let mut claims = claims();
    claims["iss"] = json!("https://attacker.example.net/");
    let token = sign(&header(Algorithm::RS256, RSA_KID, Some(&stub.url)), &claims, &rsa_key());
    assert!(matches!(verify(&verifier, &token).await, Err(AuthError::UnknownIssuer)));

    // The stub's URL is allowlisted only for ISSUER, not for OTHER_ISSUER.
    claims["iss"] = json!(OTHER_ISSUER);
    let token = sign(&header(Algorithm::RS256, RSA_KID, Some(&stub.url)), &claims, &rsa_key());
    assert!(matches!(verify(&verifier, &token).await, Err(AuthError::JwksNotAllowed(_))));
    assert_eq!(stub.hits(), 0);
}

#[tokio::test]
async fn plain_url_entry_is_the_default_source_for_issuers_without_their_own() {
    let stub = StubJwks::start(ehr_jwks()).await;
    let mut cfg = config();
    // OTHER_ISSUER keeps its own bound URL; ISSUER has none, so it falls back to the plain URL.
    cfg.jwks_allowlist = vec![stub.url.clone(), format!("{OTHER_ISSUER}|{OTHER_JWKS_URL}")];
    let verifier = Verifier::new(cfg);
    let token = sign(&header(Algorithm::RS256, RSA_KID, None), &claims(), &rsa_key());
    verify(&verifier, &token).await.unwrap();
    assert_eq!(stub.hits(), 1);

    verifier.insert_jwks(OTHER_JWKS_URL, &jwks_json(Vec::new())).unwrap();
    let mut claims = claims();
    claims["iss"] = json!(OTHER_ISSUER);
    let token = sign(&header(Algorithm::RS256, RSA_KID, None), &claims, &rsa_key());
    assert!(matches!(verify(&verifier, &token).await, Err(AuthError::KeyNotFound)));
    assert_eq!(stub.hits(), 1);
}

#[tokio::test]
async fn plain_http_jwks_url_off_loopback_is_not_fetched() {
    let url = "http://ehr.example.com/jwks.json";
    let mut cfg = config();
    cfg.jwks_allowlist = vec![format!("{ISSUER}|{url}")];
    let verifier = Verifier::new(cfg);
    let token = sign(&header(Algorithm::RS256, RSA_KID, Some(url)), &claims(), &rsa_key());
    let result = verify(&verifier, &token).await;
    assert!(
        matches!(result, Err(AuthError::JwksFetch(ref m)) if m.contains("https")),
        "{result:?}"
    );
}
