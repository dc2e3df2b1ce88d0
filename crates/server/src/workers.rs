//! Worker threads, each with a runtime of its own, and the acceptor that hands them
//! connections.
//!
//! A CDS call is a fraction of a millisecond of CPU with no waiting in it, so there is nothing
//! for a work-stealing scheduler to balance within a connection; between connections, its
//! wake-ups of idle workers cost more than they save (on two cores under load: about a sixth of
//! the CPU of a call, measured as two single-threaded servers answering a fifth more than one
//! server with two workers). Here each worker is a single-threaded tokio runtime that serves the
//! connections it is given, from first request to close; the acceptor gives each new
//! connection to the worker with the fewest open ones. Shared state (knowledge base, database,
//! metrics, the concurrency limit) is the same for all workers.

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use axum::Router;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot, watch};

use crate::logging;

/// A connection on its way to a worker.
type Handover = (std::net::TcpStream, SocketAddr);

/// One worker as the acceptor sees it.
struct Worker {
    /// Where its connections go.
    handover: mpsc::UnboundedSender<Handover>,
    /// Its open connections.
    open: Arc<AtomicUsize>,
    /// How its server ended.
    done: oneshot::Receiver<io::Result<()>>,
}

/// Serves `app` on `listener` with `workers` threads until `shutdown` completes; then stops
/// accepting (the listener is closed), runs `on_stop`, lets every worker finish the requests
/// in flight, and returns.
///
/// # Errors
/// A worker thread or its runtime cannot be started, or a worker's server failed or stopped
/// unexpectedly.
pub(crate) async fn serve(
    listener: TcpListener,
    app: Router,
    workers: usize,
    shutdown: impl Future<Output = ()>,
    on_stop: impl FnOnce(),
) -> io::Result<()> {
    let local = listener.local_addr()?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut pool = Vec::with_capacity(workers);
    for i in 0..workers.max(1) {
        pool.push(start(i, local, app.clone(), stop_rx.clone())?);
    }
    accept(&listener, &pool, shutdown).await;
    // New connections are refused from here on.
    drop(listener);
    on_stop();
    let _ = stop_tx.send(true);
    let mut result = Ok(());
    for w in pool {
        drop(w.handover);
        let outcome = w.done.await.unwrap_or_else(|_| {
            Err(io::Error::other("a worker thread stopped unexpectedly (it panicked)"))
        });
        if let Err(e) = outcome
            && result.is_ok()
        {
            result = Err(e);
        }
    }
    result
}

/// Starts worker `i`: a thread running a single-threaded runtime that serves what it is
/// handed until `stop` turns true.
fn start(
    i: usize,
    local: SocketAddr,
    app: Router,
    mut stop: watch::Receiver<bool>,
) -> io::Result<Worker> {
    let (handover, incoming) = mpsc::unbounded_channel();
    let open = Arc::new(AtomicUsize::new(0));
    let (done_tx, done) = oneshot::channel();
    let listener = Handed { incoming, local, open: Arc::clone(&open) };
    std::thread::Builder::new().name(format!("restless-worker-{i}")).spawn(move || {
        let _log = logging::batch_this_thread();
        let served = runtime().and_then(|rt| {
            rt.block_on(async move {
                tokio::spawn(tick());
                axum::serve(listener, app)
                    .with_graceful_shutdown(async move {
                        let _ = stop.wait_for(|s| *s).await;
                    })
                    .await
            })
        });
        let _ = done_tx.send(served);
    })?;
    Ok(Worker { handover, open, done })
}

/// How often [`tick`] fires.
const TICK: Duration = Duration::from_secs(1);

/// Keeps a timer due within [`TICK`] on a worker's runtime, for as long as it runs.
///
/// tokio wakes a runtime's driver whenever a timer is set to expire before every timer
/// already pending, and so whenever one is set while none is pending. On a single-threaded
/// runtime that driver is the worker's own thread: every request's timeout, set when its
/// handling starts, cost an `eventfd` write and an extra poll of the driver (one `write` per
/// request under load, counted with strace). With this timer pending, timeouts of a second or
/// more are later than it and are set without a wake-up; the price is one wake a second.
async fn tick() {
    let mut every = tokio::time::interval(TICK);
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
    }
}

/// A worker's runtime: single-threaded, with I/O and timers, writing the log lines its thread
/// holds before it goes idle.
pub(crate) fn runtime() -> io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .on_thread_park(logging::flush_this_thread)
        .build()
}

/// Accepts connections until `shutdown` completes, each handed to the least busy worker.
async fn accept(listener: &TcpListener, pool: &[Worker], shutdown: impl Future<Output = ()>) {
    tokio::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            () = &mut shutdown => return,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    accept_failed(&e).await;
                    continue;
                }
            },
        };
        let mut stream = match stream.into_std() {
            Ok(s) => s,
            Err(e) => {
                tracing::warn!(error = %e, "a connection could not be handed to a worker; closed");
                continue;
            }
        };
        // Least open connections first; a worker that has stopped is passed over.
        let mut order: Vec<&Worker> = pool.iter().collect();
        order.sort_by_key(|w| w.open.load(Ordering::Relaxed));
        let mut taken = false;
        for w in order {
            w.open.fetch_add(1, Ordering::Relaxed);
            match w.handover.send((stream, peer)) {
                Ok(()) => {
                    taken = true;
                    break;
                }
                Err(mpsc::error::SendError((back, _))) => {
                    w.open.fetch_sub(1, Ordering::Relaxed);
                    stream = back;
                }
            }
        }
        if !taken {
            tracing::error!("no worker is running to take a connection; closed");
        }
    }
}

/// After a failed `accept`: errors of one connection are passed over; others (such as too many
/// open files) are logged and accepting pauses for a second, as axum's own loop does.
async fn accept_failed(e: &io::Error) {
    use io::ErrorKind::{ConnectionAborted, ConnectionRefused, ConnectionReset};
    if matches!(e.kind(), ConnectionRefused | ConnectionAborted | ConnectionReset) {
        return;
    }
    tracing::error!(error = %e, "accepting a connection failed; retrying in a second");
    tokio::time::sleep(Duration::from_secs(1)).await;
}

/// A worker's listener: the connections the acceptor hands it.
struct Handed {
    incoming: mpsc::UnboundedReceiver<Handover>,
    local: SocketAddr,
    open: Arc<AtomicUsize>,
}

impl axum::serve::Listener for Handed {
    type Io = CountedStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (CountedStream, SocketAddr) {
        loop {
            let Some((stream, peer)) = self.incoming.recv().await else {
                // The acceptor has stopped, so has the server: its shutdown signal ends this
                // wait.
                return std::future::pending().await;
            };
            let open = OpenGuard(Arc::clone(&self.open));
            match TcpStream::from_std(stream) {
                Ok(io) => return (CountedStream { _open: open, io }, peer),
                Err(e) => {
                    tracing::warn!(error = %e, "a worker could not take a connection; closed");
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.local)
    }
}

/// Counts one open connection of a worker, until dropped.
struct OpenGuard(Arc<AtomicUsize>);

impl Drop for OpenGuard {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

/// A worker's connection: the TCP stream, counted among the worker's open connections while
/// it lives. Reads and writes go straight to the stream (vectored writes included, which
/// hyper uses for a response's head and body). The count drops before the socket closes (fields
/// drop in order), so a client that has seen the close sees the count without it.
struct CountedStream {
    _open: OpenGuard,
    io: TcpStream,
}

impl AsyncRead for CountedStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_read(cx, buf)
    }
}

impl AsyncWrite for CountedStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use axum::routing::get;

    use super::*;

    /// Answers with the name of the thread that served the request.
    fn app() -> Router {
        Router::new()
            .route("/", get(|| async { std::thread::current().name().unwrap_or("?").to_owned() }))
    }

    /// `GET /` on a kept-alive connection: the answer's body (the serving thread's name).
    async fn ask(s: &mut tokio::net::TcpStream) -> String {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        s.write_all(b"GET / HTTP/1.1\r\nhost: test\r\n\r\n").await.unwrap();
        let mut answer = Vec::new();
        loop {
            let mut chunk = [0u8; 512];
            let n = s.read(&mut chunk).await.unwrap();
            assert!(n > 0, "the server closed the connection");
            answer.extend_from_slice(&chunk[..n]);
            let text = String::from_utf8(answer.clone()).unwrap();
            if let Some((head, body)) = text.split_once("\r\n\r\n") {
                let length: usize = head
                    .lines()
                    .find_map(|l| l.strip_prefix("content-length: "))
                    .unwrap()
                    .parse()
                    .unwrap();
                if body.len() >= length {
                    return body[..length].to_owned();
                }
            }
        }
    }

    /// Closes a connection and waits until the server has closed its side too.
    async fn close(mut s: tokio::net::TcpStream) {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        s.shutdown().await.unwrap();
        let mut rest = Vec::new();
        s.read_to_end(&mut rest).await.unwrap();
    }

    #[tokio::test]
    async fn connections_go_to_the_least_busy_worker_and_stay_there() {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        let stopped_log = Arc::new(AtomicUsize::new(0));
        let on_stop = {
            let log = Arc::clone(&stopped_log);
            move || {
                log.fetch_add(1, Ordering::SeqCst);
            }
        };
        let server = tokio::spawn(serve(
            listener,
            app(),
            3,
            async move {
                let _ = stopped.await;
            },
            on_stop,
        ));
        // Six clients, one keep-alive connection each, opened one after the other.
        let mut clients = Vec::new();
        let mut first = Vec::new();
        for _ in 0..6 {
            let mut c = tokio::net::TcpStream::connect(addr).await.unwrap();
            first.push(ask(&mut c).await);
            clients.push(c);
        }
        let mut per_worker = std::collections::BTreeMap::new();
        for name in &first {
            *per_worker.entry(name.clone()).or_insert(0) += 1;
        }
        assert_eq!(
            per_worker.into_iter().collect::<Vec<_>>(),
            [
                ("restless-worker-0".to_owned(), 2),
                ("restless-worker-1".to_owned(), 2),
                ("restless-worker-2".to_owned(), 2)
            ]
        );
        // Later requests on a connection are served by the same worker.
        for (c, name) in clients.iter_mut().zip(&first) {
            assert_eq!(&ask(c).await, name);
        }
        // Closed connections no longer count: with worker 1's two closed (and the server's
        // side closed too), it is the least busy (were they still counted, the tie would go to
        // worker 0).
        for gone in [4, 1] {
            assert_eq!(first[gone], "restless-worker-1");
            close(clients.remove(gone)).await;
        }
        let mut late = tokio::net::TcpStream::connect(addr).await.unwrap();
        assert_eq!(ask(&mut late).await, "restless-worker-1");
        assert_eq!(stopped_log.load(Ordering::SeqCst), 0);
        stop.send(()).unwrap();
        tokio::time::timeout(Duration::from_secs(5), server).await.unwrap().unwrap().unwrap();
        assert_eq!(stopped_log.load(Ordering::SeqCst), 1);
        // The listener is closed: a new connection is refused.
        assert!(tokio::net::TcpStream::connect(addr).await.is_err());
    }
}
