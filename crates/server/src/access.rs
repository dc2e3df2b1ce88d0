//! Every request's id, access line and metrics, in one layer.
//!
//! For each request, [`Access`]:
//! - keeps the client's `x-request-id` when it is a short token, and otherwise replaces it with
//!   a random UUID; the response carries the id back;
//! - makes the id the thread's current request while the request is worked on, so that every
//!   line logged meanwhile (a warning deep in a handler included) says which request it
//!   belongs to (see [`current_request_id`] and `logging::Line`);
//! - writes one access line when the response is ready: request id, method, route template,
//!   status, latency and, for CDS calls, the service and the number of cards ([`CdsCall`]);
//! - counts the request in the metrics under its route template.
//!
//! It is one layer with a future of its own, rather than a tracing span, a trace layer and
//! two middleware functions: those cost a span's registration, a boxed service and a boxed
//! future each per request, about 5 % of the server's CPU on a typical CDS call (measured in
//! `docs/benchmarks.md`, session 9). Nothing from the request beyond its method, route
//! template and a well-formed id reaches the line.

use std::cell::RefCell;
use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderValue, Method};
use axum::response::Response;
use tower::{Layer, Service};

use crate::REQUEST_ID;
use crate::state::AppState;

/// What a CDS Hooks call answered, for its access line: set by the service on its response.
#[derive(Clone, Debug)]
pub(crate) struct CdsCall {
    /// The service's id.
    pub service: String,
    /// Cards in the answer.
    pub cards: usize,
}

thread_local! {
    /// The id of the request this thread is working on, while it polls that request.
    static CURRENT: RefCell<Option<HeaderValue>> = const { RefCell::new(None) };
}

/// The id of the request this thread is working on, if any.
pub(crate) fn current_request_id() -> Option<HeaderValue> {
    CURRENT.try_with(|c| c.try_borrow().ok().and_then(|id| id.clone())).ok().flatten()
}

/// Whether a client's request id may be kept (it is logged): 1 to 64 letters, digits, `-`,
/// `_` or `.`.
fn acceptable(id: &HeaderValue) -> bool {
    let b = id.as_bytes();
    !b.is_empty()
        && b.len() <= 64
        && b.iter().all(|c| c.is_ascii_alphanumeric() || matches!(c, b'-' | b'_' | b'.'))
}

/// The layer: see the module's documentation.
#[derive(Clone)]
pub(crate) struct AccessLayer {
    state: AppState,
}

impl AccessLayer {
    pub(crate) fn new(state: AppState) -> AccessLayer {
        AccessLayer { state }
    }
}

impl<S> Layer<S> for AccessLayer {
    type Service = Access<S>;

    fn layer(&self, inner: S) -> Access<S> {
        Access { inner, state: self.state.clone() }
    }
}

/// The service of [`AccessLayer`].
#[derive(Clone)]
pub(crate) struct Access<S> {
    inner: S,
    state: AppState,
}

impl<S> Service<Request> for Access<S>
where
    S: Service<Request, Response = Response, Error = Infallible>,
{
    type Response = Response;
    type Error = Infallible;
    type Future = AccessFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request) -> AccessFuture<S::Future> {
        let id = match req.headers().get(&REQUEST_ID) {
            Some(id) if acceptable(id) => id.clone(),
            _ => {
                let id = crate::random::request_id();
                req.headers_mut().insert(&REQUEST_ID, id.clone());
                id
            }
        };
        let route = req.extensions().get::<MatchedPath>().cloned();
        let method = req.method().clone();
        let in_flight = InFlight::new(self.state.clone());
        let start = Instant::now();
        let mut id = Some(id);
        // The inner service may start work in `call`: it is this request's too.
        let inner = Current::set(&mut id, || self.inner.call(req));
        AccessFuture { inner, id, route, method, start, in_flight: Some(in_flight) }
    }
}

/// Makes `id` the thread's current request id while `f` runs, then takes it back (on unwind
/// too), restoring whatever was current before.
struct Current<'a> {
    slot: &'a mut Option<HeaderValue>,
}

impl Current<'_> {
    fn set<T>(id: &mut Option<HeaderValue>, f: impl FnOnce() -> T) -> T {
        swap_current(id);
        let _back = Current { slot: id };
        f()
    }
}

impl Drop for Current<'_> {
    fn drop(&mut self) {
        swap_current(self.slot);
    }
}

fn swap_current(id: &mut Option<HeaderValue>) {
    let _ = CURRENT.try_with(|c| {
        if let Ok(mut current) = c.try_borrow_mut() {
            std::mem::swap(&mut *current, id);
        }
    });
}

/// Counts a request in flight until dropped, whether it finished or was abandoned (a client
/// that hung up).
struct InFlight(AppState);

impl InFlight {
    fn new(state: AppState) -> InFlight {
        state.metrics().request_started();
        InFlight(state)
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.metrics().request_ended();
    }
}

pin_project_lite::pin_project! {
    /// The future of [`Access`].
    pub(crate) struct AccessFuture<F> {
        #[pin]
        inner: F,
        id: Option<HeaderValue>,
        route: Option<MatchedPath>,
        method: Method,
        start: Instant,
        in_flight: Option<InFlight>,
    }
}

impl<F> Future for AccessFuture<F>
where
    F: Future<Output = Result<Response, Infallible>>,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let inner = this.inner;
        let Ok(mut resp) = ready!(Current::set(this.id, || inner.poll(cx)));
        let latency = this.start.elapsed();
        let route = this.route.as_ref().map_or("unmatched", MatchedPath::as_str);
        let status = resp.status();
        let call = resp.extensions_mut().remove::<CdsCall>();
        // The line names its request itself (`logging::Line` adds the current id only to lines
        // that do not).
        let id = this.id.as_ref().and_then(|v| v.to_str().ok()).unwrap_or("-");
        let latency_ms = latency.as_secs_f64() * 1000.0;
        let (service, cards) = match &call {
            Some(c) => (Some(tracing::field::display(c.service.as_str())), Some(c.cards)),
            None => (None, None),
        };
        let method = this.method.as_str();
        let code = status.as_u16();
        if status.is_server_error() {
            tracing::warn!(request_id = %id, method = %method, route = %route, service, cards, status = code, latency_ms, "response");
        } else {
            tracing::info!(request_id = %id, method = %method, route = %route, service, cards, status = code, latency_ms, "response");
        }
        if let Some(in_flight) = this.in_flight.take() {
            in_flight.0.metrics().observe_request(route, method, code, latency);
        }
        if let Some(id) = this.id.take() {
            resp.headers_mut().insert(&REQUEST_ID, id);
        }
        Poll::Ready(Ok(resp))
    }
}
