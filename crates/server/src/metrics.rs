//! Request metrics in the Prometheus text format (`GET /metrics`): counts by route, method
//! and status, latency histograms by route and method, requests in flight, CDS cards issued
//! and feedback received. Labels are route templates (`/v1/causes/{id}`), never the path a
//! client sent, so no identifier or value from a request can reach them.
//!
//! A small registry of atomics: series are created on first use behind a lock, then updated
//! without one.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

/// Upper bounds of the latency buckets, in seconds.
const BUCKETS: [f64; 12] =
    [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0];

#[derive(Default, Debug)]
struct Histogram {
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    /// Sum in microseconds.
    sum_us: AtomicU64,
}

impl Histogram {
    fn observe(&self, d: Duration) {
        let secs = d.as_secs_f64();
        for (b, le) in self.buckets.iter().zip(BUCKETS) {
            if secs <= le {
                b.fetch_add(1, Ordering::Relaxed);
            }
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_us.fetch_add(u64::try_from(d.as_micros()).unwrap_or(u64::MAX), Ordering::Relaxed);
    }
}

type Labels = Vec<(&'static str, String)>;

#[derive(Debug)]
struct Family<T> {
    series: RwLock<BTreeMap<Labels, Arc<T>>>,
}

impl<T: Default> Family<T> {
    fn new() -> Family<T> {
        Family { series: RwLock::new(BTreeMap::new()) }
    }

    fn get(&self, labels: Labels) -> Arc<T> {
        if let Some(s) = self.series.read().ok().and_then(|m| m.get(&labels).cloned()) {
            return s;
        }
        let mut m = self.series.write().unwrap_or_else(std::sync::PoisonError::into_inner);
        Arc::clone(m.entry(labels).or_default())
    }

    fn snapshot(&self) -> Vec<(Labels, Arc<T>)> {
        self.series
            .read()
            .map(|m| m.iter().map(|(k, v)| (k.clone(), Arc::clone(v))).collect())
            .unwrap_or_default()
    }
}

/// The registry.
#[derive(Debug)]
pub struct Metrics {
    requests: Family<AtomicU64>,
    latency: Family<Histogram>,
    in_flight: AtomicI64,
    cards: Family<AtomicU64>,
    feedback: Family<AtomicU64>,
    fhir_fetches: Family<AtomicU64>,
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics {
            requests: Family::new(),
            latency: Family::new(),
            in_flight: AtomicI64::new(0),
            cards: Family::new(),
            feedback: Family::new(),
            fhir_fetches: Family::new(),
        }
    }
}

fn escape(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

fn labels(l: &[(&'static str, String)], extra: Option<(&str, String)>) -> String {
    let mut parts: Vec<String> = l.iter().map(|(k, v)| format!("{k}=\"{}\"", escape(v))).collect();
    if let Some((k, v)) = extra {
        parts.push(format!("{k}=\"{v}\""));
    }
    if parts.is_empty() { String::new() } else { format!("{{{}}}", parts.join(",")) }
}

impl Metrics {
    /// Counts a request in flight (see `access::Access`).
    pub(crate) fn request_started(&self) {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a request no longer in flight, answered or abandoned.
    pub(crate) fn request_ended(&self) {
        self.in_flight.fetch_sub(1, Ordering::Relaxed);
    }

    /// Counts one finished request.
    pub fn observe_request(&self, route: &str, method: &str, status: u16, took: Duration) {
        self.requests
            .get(vec![
                ("route", route.to_owned()),
                ("method", method.to_owned()),
                ("status", status.to_string()),
            ])
            .fetch_add(1, Ordering::Relaxed);
        self.latency
            .get(vec![("route", route.to_owned()), ("method", method.to_owned())])
            .observe(took);
    }

    /// Counts cards issued by a service.
    pub fn cards_issued(&self, service: &str, indicator: &str, n: u64) {
        self.cards
            .get(vec![("service", service.to_owned()), ("indicator", indicator.to_owned())])
            .fetch_add(n, Ordering::Relaxed);
    }

    /// Counts feedback stored.
    pub fn feedback_stored(&self, service: &str, outcome: &str) {
        self.feedback
            .get(vec![("service", service.to_owned()), ("outcome", outcome.to_owned())])
            .fetch_add(1, Ordering::Relaxed);
    }

    /// Counts one request to an EHR's FHIR server by result (`ok`, `error`, `timeout`,
    /// `refused`).
    pub fn fhir_fetch(&self, result: &'static str) {
        self.fhir_fetches.get(vec![("result", result.to_owned())]).fetch_add(1, Ordering::Relaxed);
    }

    /// The Prometheus text exposition.
    #[must_use]
    pub fn render(&self) -> String {
        let mut out = String::new();
        let counter = |out: &mut String, name: &str, help: &str, f: &Family<AtomicU64>| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
            for (l, v) in f.snapshot() {
                let _ = writeln!(out, "{name}{} {}", labels(&l, None), v.load(Ordering::Relaxed));
            }
        };
        counter(
            &mut out,
            "restless_http_requests_total",
            "HTTP requests answered, by route template, method and status.",
            &self.requests,
        );
        let name = "restless_http_request_duration_seconds";
        let _ = writeln!(
            out,
            "# HELP {name} Time from request to response head, by route template and method.\n# TYPE {name} histogram"
        );
        for (l, h) in self.latency.snapshot() {
            for (b, le) in h.buckets.iter().zip(BUCKETS) {
                let _ = writeln!(
                    out,
                    "{name}_bucket{} {}",
                    labels(&l, Some(("le", le.to_string()))),
                    b.load(Ordering::Relaxed)
                );
            }
            let count = h.count.load(Ordering::Relaxed);
            let _ =
                writeln!(out, "{name}_bucket{} {count}", labels(&l, Some(("le", "+Inf".into()))));
            let sum = h.sum_us.load(Ordering::Relaxed) as f64 / 1e6;
            let _ = writeln!(out, "{name}_sum{} {sum}", labels(&l, None));
            let _ = writeln!(out, "{name}_count{} {count}", labels(&l, None));
        }
        let _ = writeln!(
            out,
            "# HELP restless_http_requests_in_flight Requests being handled now.\n# TYPE restless_http_requests_in_flight gauge\nrestless_http_requests_in_flight {}",
            self.in_flight.load(Ordering::Relaxed)
        );
        counter(
            &mut out,
            "restless_cds_cards_total",
            "CDS Hooks cards issued, by service and indicator.",
            &self.cards,
        );
        counter(
            &mut out,
            "restless_cds_feedback_total",
            "CDS Hooks feedback records stored, by service and outcome.",
            &self.feedback,
        );
        counter(
            &mut out,
            "restless_fhir_fetches_total",
            "Requests to EHR FHIR servers for missing prefetch, by result.",
            &self.fhir_fetches,
        );
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_counters_and_cumulative_buckets() {
        let m = Metrics::default();
        m.observe_request("/healthz", "GET", 200, Duration::from_millis(3));
        m.observe_request("/healthz", "GET", 200, Duration::from_millis(300));
        let text = m.render();
        assert!(text.contains(
            "restless_http_requests_total{route=\"/healthz\",method=\"GET\",status=\"200\"} 2"
        ));
        assert!(text.contains(
            "restless_http_request_duration_seconds_bucket{route=\"/healthz\",method=\"GET\",le=\"0.005\"} 1"
        ));
        assert!(text.contains(
            "restless_http_request_duration_seconds_bucket{route=\"/healthz\",method=\"GET\",le=\"+Inf\"} 2"
        ));
        assert!(text.contains(
            "restless_http_request_duration_seconds_count{route=\"/healthz\",method=\"GET\"} 2"
        ));
    }
}
