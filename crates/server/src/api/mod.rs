//! The REST API: `/v1/assess`, `/v1/causes`, health probes, metrics and the OpenAPI document.
//! Content negotiation (JSON or HTML by `Accept`) lives here.

pub(crate) mod assess;
pub(crate) mod causes;
pub(crate) mod health;
pub(crate) mod html;
pub(crate) mod metrics;
pub(crate) mod openapi;

use axum::http::{HeaderMap, header};

/// Whether the client prefers `text/html` to `application/json` (by `Accept` quality; ties and
/// no header mean JSON).
pub(crate) fn wants_html(headers: &HeaderMap) -> bool {
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    let (mut html, mut json) = (0.0_f32, 0.0_f32);
    for part in accept.split(',') {
        let mut bits = part.split(';');
        let media = bits.next().unwrap_or("").trim().to_ascii_lowercase();
        let q = bits
            .filter_map(|p| p.trim().strip_prefix("q="))
            .find_map(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        if matches!(media.as_str(), "text/html" | "text/*" | "*/*") {
            html = html.max(q);
        }
        if matches!(media.as_str(), "application/json" | "application/*" | "*/*") {
            json = json.max(q);
        }
    }
    html > json
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;

    fn accept(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT, HeaderValue::from_str(v).unwrap());
        h
    }

    #[test]
    fn browsers_get_html_and_api_clients_json() {
        assert!(wants_html(&accept(
            "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
        )));
        assert!(wants_html(&accept("text/html")));
        assert!(!wants_html(&accept("*/*")));
        assert!(!wants_html(&accept("application/json")));
        assert!(!wants_html(&accept("application/json, text/html;q=0.5")));
        assert!(!wants_html(&HeaderMap::new()));
    }
}
