//! Request metrics in the Prometheus text format (`GET /metrics`): counts by route, method
//! and status, latency histograms by route and method, requests in flight, CDS cards issued
//! and feedback received. Labels are route templates (`/v1/causes/{id}`), never the path a
//! client sent, so no identifier or value from a request can reach them.
//!
//! A small registry of atomics: series are created on first use behind a lock, then found
//! again under a read lock without allocating, and updated without a lock.

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
    /// Observations per bucket: those at most its bound and above the previous one (summed
    /// into Prometheus' cumulative buckets when rendered, so an observation is one increment).
    buckets: [AtomicU64; BUCKETS.len()],
    count: AtomicU64,
    /// Sum in microseconds.
    sum_us: AtomicU64,
}

impl Histogram {
    fn observe(&self, d: Duration) {
        let secs = d.as_secs_f64();
        if let Some(i) = BUCKETS.iter().position(|le| secs <= *le) {
            self.buckets[i].fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        self.sum_us.fetch_add(u64::try_from(d.as_micros()).unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    /// Cumulative counts per bucket, as Prometheus has them.
    fn cumulative(&self) -> [u64; BUCKETS.len()] {
        let mut out = [0; BUCKETS.len()];
        let mut sum = 0;
        for (o, b) in out.iter_mut().zip(&self.buckets) {
            sum += b.load(Ordering::Relaxed);
            *o = sum;
        }
        out
    }
}

type Labels = Vec<(&'static str, String)>;

/// The series of one metric, by their label values.
#[derive(Debug)]
struct Family<T, const N: usize> {
    names: [&'static str; N],
    /// By the label values joined with [`SEP`], which keeps them in the order of the values.
    series: RwLock<BTreeMap<String, Arc<T>>>,
}

/// Between label values in a series' key; a control character no label value holds.
const SEP: char = '\u{1f}';

thread_local! {
    /// The key being looked up, reused from one lookup to the next.
    static KEY: std::cell::RefCell<String> = const { std::cell::RefCell::new(String::new()) };
}

impl<T: Default, const N: usize> Family<T, N> {
    fn new(names: [&'static str; N]) -> Family<T, N> {
        Family { names, series: RwLock::new(BTreeMap::new()) }
    }

    fn get(&self, values: [&str; N]) -> Arc<T> {
        KEY.with_borrow_mut(|key| {
            key.clear();
            for (i, v) in values.iter().enumerate() {
                if i > 0 {
                    key.push(SEP);
                }
                key.push_str(v);
            }
            if let Some(s) = self.series.read().ok().and_then(|m| m.get(key.as_str()).cloned()) {
                return s;
            }
            let mut m = self.series.write().unwrap_or_else(std::sync::PoisonError::into_inner);
            Arc::clone(m.entry(key.clone()).or_default())
        })
    }

    fn snapshot(&self) -> Vec<(Labels, Arc<T>)> {
        let labels = |key: &str| -> Labels {
            self.names.iter().copied().zip(key.split(SEP).map(str::to_owned)).collect()
        };
        self.series
            .read()
            .map(|m| m.iter().map(|(k, v)| (labels(k), Arc::clone(v))).collect())
            .unwrap_or_default()
    }
}

/// The registry.
#[derive(Debug)]
pub struct Metrics {
    requests: Family<AtomicU64, 3>,
    latency: Family<Histogram, 2>,
    in_flight: AtomicI64,
    cards: Family<AtomicU64, 2>,
    feedback: Family<AtomicU64, 2>,
    fhir_fetches: Family<AtomicU64, 1>,
}

impl Default for Metrics {
    fn default() -> Metrics {
        Metrics {
            requests: Family::new(["route", "method", "status"]),
            latency: Family::new(["route", "method"]),
            in_flight: AtomicI64::new(0),
            cards: Family::new(["service", "indicator"]),
            feedback: Family::new(["service", "outcome"]),
            fhir_fetches: Family::new(["result"]),
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
        // A status as http writes it, without allocating (any code an answer can carry).
        let known = axum::http::StatusCode::from_u16(status).ok();
        let other;
        let code = match &known {
            Some(s) => s.as_str(),
            None => {
                other = status.to_string();
                &other
            }
        };
        self.requests.get([route, method, code]).fetch_add(1, Ordering::Relaxed);
        self.latency.get([route, method]).observe(took);
    }

    /// Counts cards issued by a service.
    pub fn cards_issued(&self, service: &str, indicator: &str, n: u64) {
        self.cards.get([service, indicator]).fetch_add(n, Ordering::Relaxed);
    }

    /// Counts feedback stored.
    pub fn feedback_stored(&self, service: &str, outcome: &str) {
        self.feedback.get([service, outcome]).fetch_add(1, Ordering::Relaxed);
    }

    /// Counts one request to an EHR's FHIR server by result (`ok`, `error`, `timeout`,
    /// `refused`).
    pub fn fhir_fetch(&self, result: &'static str) {
        self.fhir_fetches.get([result]).fetch_add(1, Ordering::Relaxed);
    }

    /// The Prometheus text exposition.
    #[must_use]
    pub fn render(&self) -> String {
        fn counter<const N: usize>(
            out: &mut String,
            name: &str,
            help: &str,
            f: &Family<AtomicU64, N>,
        ) {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
            for (l, v) in f.snapshot() {
                let _ = writeln!(out, "{name}{} {}", labels(&l, None), v.load(Ordering::Relaxed));
            }
        }
        let mut out = String::new();
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
            for (n, le) in h.cumulative().into_iter().zip(BUCKETS) {
                let _ =
                    writeln!(out, "{name}_bucket{} {n}", labels(&l, Some(("le", le.to_string()))),);
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
        // Label values that share a prefix stay apart, and a status is written in full.
        m.observe_request("/v1/causes", "GET", 404, Duration::from_millis(1));
        m.observe_request("/v1/causes/{id}", "GET", 200, Duration::from_millis(1));
        let text = m.render();
        let healthz = "route=\"/healthz\",method=\"GET\"";
        let bucket = "restless_http_request_duration_seconds_bucket";
        for line in [
            format!("restless_http_requests_total{{{healthz},status=\"200\"}} 2"),
            format!("{bucket}{{{healthz},le=\"0.005\"}} 1"),
            format!("{bucket}{{{healthz},le=\"0.25\"}} 1"),
            // Buckets are cumulative: 1 s counts the 3 ms and the 300 ms observations.
            format!("{bucket}{{{healthz},le=\"1\"}} 2"),
            format!("{bucket}{{{healthz},le=\"+Inf\"}} 2"),
            format!("restless_http_request_duration_seconds_count{{{healthz}}} 2"),
            "restless_http_requests_total{route=\"/v1/causes\",method=\"GET\",status=\"404\"} 1"
                .to_owned(),
            "restless_http_requests_total{route=\"/v1/causes/{id}\",method=\"GET\",status=\"200\"} 1"
                .to_owned(),
        ] {
            assert!(text.contains(&line), "no `{line}` in:\n{text}");
        }
    }
}
