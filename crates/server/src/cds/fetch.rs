//! Fetching what a client did not prefetch from its FHIR server (`fhirServer` with
//! `fhirAuthorization`), and the further pages of prefetched searches (`link[next]`). Every
//! call has the configured timeout; searches follow at most the configured number of pages and
//! only links on the same server; servers may be restricted to an allow-list (`--fhir-server`).
//! Logs name the prefetch key and the HTTP status, never a URL (it carries the patient id).

use serde_json::Value;
use tokio::task::JoinSet;

use super::wire::{HookRequest, resources_of};
use crate::state::AppState;

/// Why nothing was fetched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// No `fhirServer` or no `fhirAuthorization`.
    NoServer,
    /// `context.patientId` is missing or not a FHIR id.
    NoPatient,
    /// The server is not on the allow-list or not http(s).
    NotAllowed,
}

/// A FHIR logical id: `[A-Za-z0-9\-.]{1,64}`.
pub(crate) fn is_fhir_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 64
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
}

struct Target {
    server: String,
    authorization: String,
    patient: String,
}

fn target(state: &AppState, req: &HookRequest<'_>) -> Result<Target, Refusal> {
    let (Some(server), Some(auth)) = (&req.fhir_server, &req.fhir_authorization) else {
        return Err(Refusal::NoServer);
    };
    let server = server.trim().trim_end_matches('/').to_owned();
    if !(server.starts_with("https://") || server.starts_with("http://")) {
        return Err(Refusal::NotAllowed);
    }
    let allowed = &state.config().fhir_servers;
    if !allowed.is_empty()
        && !allowed.iter().any(|a| {
            let a = a.trim_end_matches('/');
            // An entry without a port allows every port of its host.
            server == a
                || server.starts_with(&format!("{a}/"))
                || (!a.rsplit("//").next().unwrap_or("").contains(':')
                    && server.starts_with(&format!("{a}:")))
        })
    {
        return Err(Refusal::NotAllowed);
    }
    let patient = req.patient_id.clone().filter(|p| is_fhir_id(p)).ok_or(Refusal::NoPatient)?;
    let kind = if auth.token_type.is_empty() { "Bearer" } else { auth.token_type.as_str() };
    Ok(Target { server, authorization: format!("{kind} {}", auth.access_token), patient })
}

/// One GET; the parsed body or a short reason for the log.
async fn get(state: &AppState, url: &str, authorization: &str) -> Result<Value, String> {
    let resp = state
        .http()
        .get(url)
        .header(reqwest::header::AUTHORIZATION, authorization)
        .header(reqwest::header::ACCEPT, "application/fhir+json, application/json")
        .send()
        .await
        .map_err(|e| {
            let kind = if e.is_timeout() { "timeout" } else { "error" };
            state.metrics().fhir_fetch(kind);
            if e.is_timeout() { "timed out".to_owned() } else { "connection failed".to_owned() }
        })?;
    let status = resp.status();
    if !status.is_success() {
        state.metrics().fhir_fetch("error");
        return Err(format!("HTTP {}", status.as_u16()));
    }
    let body = resp.bytes().await.map_err(|e| {
        state.metrics().fhir_fetch(if e.is_timeout() { "timeout" } else { "error" });
        "body not received".to_owned()
    })?;
    state.metrics().fhir_fetch("ok");
    serde_json::from_slice(&body).map_err(|_| "body is not JSON".to_owned())
}

/// Where reading a search result starts.
enum Start {
    /// Its first page, fetched.
    Page(Value),
    /// The URL of its second page (the first came as prefetch).
    Next(String),
}

fn next_link(bundle: &Value) -> Option<String> {
    restless_ingest::fhir::next_page(bundle.get("link")?)
}

/// The resources of a search result from `start` on, following its further pages.
async fn follow(
    state: AppState,
    key: String,
    start: Start,
    server: String,
    authorization: String,
) -> (String, Vec<Value>) {
    let mut notes = Vec::new();
    let (mut out, mut next) = match start {
        Start::Page(first) => {
            (resources_of(&first, &format!("/prefetch/{key}"), &mut notes), next_link(&first))
        }
        Start::Next(url) => (Vec::new(), Some(url)),
    };
    let mut pages = 1;
    while let Some(url) = next.take() {
        if pages >= state.config().limits.fhir_max_pages {
            tracing::warn!(prefetch = %key, pages, "stopped following search pages at the limit");
            break;
        }
        if !url.starts_with(&format!("{server}/")) && !url.starts_with(&format!("{server}?")) {
            state.metrics().fhir_fetch("refused");
            tracing::warn!(prefetch = %key, "next page is on another server; not followed");
            break;
        }
        match get(&state, &url, &authorization).await {
            Ok(page) => {
                out.extend(resources_of(&page, &format!("/prefetch/{key}"), &mut notes));
                next = next_link(&page);
                pages += 1;
            }
            Err(why) => {
                tracing::warn!(prefetch = %key, reason = %why, "next search page not fetched");
                break;
            }
        }
    }
    for n in notes {
        tracing::warn!(note = %n, "CDS request: fetched data read leniently");
    }
    (key, out)
}

/// Fetches the prefetch items `missing` (key, template) and the further pages of prefetched
/// searches, `paged` (key, URL of the next page). Returns, per key, the resources obtained
/// (for `paged`, those of the further pages); keys that failed are absent.
pub(crate) async fn fetch(
    state: &AppState,
    req: &HookRequest<'_>,
    missing: Vec<(String, String)>,
    paged: Vec<(String, String)>,
) -> Result<Vec<(String, Vec<Value>)>, Refusal> {
    let t = target(state, req)?;
    let mut set: JoinSet<Option<(String, Vec<Value>)>> = JoinSet::new();
    for (key, template) in missing {
        let url = format!("{}/{}", t.server, template.replace("{{context.patientId}}", &t.patient));
        let (state, server, authorization) =
            (state.clone(), t.server.clone(), t.authorization.clone());
        set.spawn(async move {
            match get(&state, &url, &authorization).await {
                Ok(first) => {
                    Some(follow(state, key, Start::Page(first), server, authorization).await)
                }
                Err(why) => {
                    tracing::warn!(prefetch = %key, reason = %why, "prefetch not fetched");
                    None
                }
            }
        });
    }
    for (key, next) in paged {
        let (state, server, authorization) =
            (state.clone(), t.server.clone(), t.authorization.clone());
        let start = Start::Next(next);
        set.spawn(async move { Some(follow(state, key, start, server, authorization).await) });
    }
    let mut out = Vec::new();
    while let Some(done) = set.join_next().await {
        if let Ok(Some(item)) = done {
            out.push(item);
        }
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fhir_ids_are_checked_before_they_go_into_a_url() {
        assert!(is_fhir_id("1288992"));
        assert!(is_fhir_id("a-b.c"));
        assert!(!is_fhir_id(""));
        assert!(!is_fhir_id("../Patient"));
        assert!(!is_fhir_id("1&code=x"));
        assert!(!is_fhir_id(&"a".repeat(65)));
    }
}
