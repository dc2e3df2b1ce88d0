//! The server's log: `tracing` lines to standard error, gathered per worker thread.
//!
//! Every request logs one access line. Written one by one, each line is a `write` to standard
//! error under its process-wide lock, which the two workers of a two-core machine then contend
//! for: together about one fortieth of a CDS call's CPU (`docs/benchmarks.md`, session 8). A
//! worker thread therefore collects its lines ([`batch_this_thread`]) and writes them at once:
//!
//! - before its runtime goes idle (the runtime's park hook calls [`flush_this_thread`]), so on a
//!   quiet server a request's line is out as soon as the worker has nothing left to do;
//! - when the lines waiting pass [`BATCH_BYTES`], or the first of them has waited
//!   [`BATCH_AGE`], so a busy worker writes at least that often;
//! - when the thread ends, even by a panic (the guard's `Drop`).
//!
//! Any other thread (the acceptor, start-up, blocking tasks) writes each line at once. Lines
//! are whole when written (the formatter hands over one complete line per event), so lines of
//! different threads never interleave within a line; across threads, their order may differ
//! from the order of their timestamps by up to one batch. A process killed without warning
//! (SIGKILL) loses at most the lines still waiting, by the limits above.
//!
//! Each line ([`Line`]) reads: time, level, the id of the request being worked on when the line
//! was logged (unless the line names it itself, as the access line does), where it comes from,
//! and the message with its fields.

use std::cell::RefCell;
use std::io::{self, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tracing_subscriber::fmt::format::{FormatEvent, FormatFields, Writer};
use tracing_subscriber::fmt::time::{FormatTime, SystemTime};
use tracing_subscriber::fmt::{FmtContext, MakeWriter};
use tracing_subscriber::registry::LookupSpan;

/// Lines waiting past this many bytes are written.
pub(crate) const BATCH_BYTES: usize = 16 * 1024;

/// Lines are written once the first of them has waited this long (checked as lines arrive).
pub(crate) const BATCH_AGE: Duration = Duration::from_millis(100);

/// Where lines end up; standard error outside tests.
pub(crate) type Sink = Arc<dyn Fn(&[u8]) + Send + Sync>;

/// Sets up logging to standard error (`RUST_LOG` filters; default `info`), with worker threads
/// writing in batches.
pub fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(Batched::new(stderr_sink()))
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .event_format(Line)
        .try_init();
}

/// The format of the server's log lines (see the module's documentation).
pub struct Line;

impl<S, N> FormatEvent<S, N> for Line
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut w: Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> std::fmt::Result {
        let meta = event.metadata();
        SystemTime.format_time(&mut w)?;
        let level = *meta.level();
        if w.has_ansi_escapes() {
            let colour = match level {
                tracing::Level::ERROR => "31",
                tracing::Level::WARN => "33",
                tracing::Level::INFO => "32",
                tracing::Level::DEBUG => "34",
                tracing::Level::TRACE => "35",
            };
            write!(w, " \x1b[{colour}m{level:>5}\x1b[0m")?;
        } else {
            write!(w, " {level:>5}")?;
        }
        if meta.fields().field("request_id").is_none()
            && let Some(id) = crate::access::current_request_id()
            && let Ok(id) = id.to_str()
        {
            write!(w, " request_id={id}")?;
        }
        write!(w, " {}: ", meta.target())?;
        ctx.field_format().format_fields(w.by_ref(), event)?;
        writeln!(w)
    }
}

/// Standard error, in one `write_all` under its lock. A failed write is dropped: there is
/// nowhere else to report it.
fn stderr_sink() -> Sink {
    Arc::new(|bytes: &[u8]| {
        let _ = io::stderr().lock().write_all(bytes);
    })
}

/// What a batching thread holds.
struct Pending {
    /// Whole lines, in the order logged.
    lines: Vec<u8>,
    /// When the first of `lines` arrived.
    since: Instant,
    /// Where to write them (the sink of the writer that added the first line).
    sink: Option<Sink>,
}

thread_local! {
    /// `Some` while this thread batches its lines.
    static PENDING: RefCell<Option<Pending>> = const { RefCell::new(None) };
}

/// From now until the guard drops, lines logged on this thread through [`Batched`] wait to be
/// written together. The guard writes what is left when it drops.
#[must_use = "the thread batches only while the guard lives"]
pub(crate) fn batch_this_thread() -> BatchGuard {
    PENDING.with(|p| {
        let mut p = p.borrow_mut();
        if p.is_none() {
            *p = Some(Pending {
                lines: Vec::with_capacity(BATCH_BYTES),
                since: Instant::now(),
                sink: None,
            });
        }
    });
    BatchGuard(())
}

/// Writes the lines this thread holds, if any (nothing once the thread's locals are gone).
pub(crate) fn flush_this_thread() {
    let _ = PENDING.try_with(|p| {
        if let Ok(mut p) = p.try_borrow_mut()
            && let Some(p) = p.as_mut()
        {
            p.flush();
        }
    });
}

/// Ends batching on this thread, writing what is left.
pub(crate) struct BatchGuard(());

impl Drop for BatchGuard {
    fn drop(&mut self) {
        if let Ok(mut p) = PENDING.try_with(|p| p.try_borrow_mut().ok().and_then(|mut p| p.take()))
            && let Some(p) = p.as_mut()
        {
            p.flush();
        }
    }
}

impl Pending {
    fn flush(&mut self) {
        if self.lines.is_empty() {
            return;
        }
        if let Some(sink) = &self.sink {
            sink(&self.lines);
        }
        self.lines.clear();
    }

    /// Adds one line, writing the batch when it is due.
    fn add(&mut self, line: &[u8], sink: &Sink) {
        let now = Instant::now();
        if !self.sink.as_ref().is_some_and(|s| Arc::ptr_eq(s, sink)) {
            // Lines for another sink: those waiting go to theirs first.
            self.flush();
            self.sink = Some(Arc::clone(sink));
        }
        if self.lines.is_empty() {
            self.since = now;
        }
        self.lines.extend_from_slice(line);
        if self.lines.len() >= BATCH_BYTES || now.duration_since(self.since) >= BATCH_AGE {
            self.flush();
        }
    }
}

/// A [`MakeWriter`] for the log: batched on threads that asked for it, direct elsewhere.
#[derive(Clone)]
pub(crate) struct Batched {
    sink: Sink,
}

impl Batched {
    pub(crate) fn new(sink: Sink) -> Self {
        Self { sink }
    }
}

impl<'a> MakeWriter<'a> for Batched {
    type Writer = LineWriter<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        LineWriter { sink: &self.sink }
    }
}

/// The writer for one event.
pub(crate) struct LineWriter<'a> {
    sink: &'a Sink,
}

impl Write for LineWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        // Not batched: no batching on this thread, its locals gone, or a line logged while its
        // batch was being written.
        let batched = PENDING
            .try_with(|p| {
                let mut p = p.try_borrow_mut().ok()?;
                p.as_mut().map(|p| p.add(buf, self.sink))
            })
            .ok()
            .flatten()
            .is_some();
        if !batched {
            (self.sink)(buf);
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;

    /// A sink that records each write apart.
    fn recorder() -> (Sink, Arc<Mutex<Vec<Vec<u8>>>>) {
        let writes = Arc::new(Mutex::new(Vec::new()));
        let w = Arc::clone(&writes);
        let sink: Sink = Arc::new(move |b: &[u8]| {
            w.lock().unwrap_or_else(std::sync::PoisonError::into_inner).push(b.to_vec());
        });
        (sink, writes)
    }

    fn log(writer: &Batched, line: &str) {
        writer.make_writer().write_all(line.as_bytes()).unwrap();
    }

    /// Runs `f` on a new thread that batches its lines, until the thread ends (a failed
    /// assertion in `f` fails the test).
    fn on_batching_thread(f: impl FnOnce() + Send + 'static) {
        std::thread::spawn(move || {
            let _guard = batch_this_thread();
            f();
        })
        .join()
        .unwrap();
    }

    #[test]
    fn a_thread_that_does_not_batch_writes_each_line_at_once() {
        let (sink, writes) = recorder();
        let w = Batched::new(sink);
        std::thread::spawn(move || {
            log(&w, "one\n");
            log(&w, "two\n");
        })
        .join()
        .unwrap();
        assert_eq!(*writes.lock().unwrap(), vec![b"one\n".to_vec(), b"two\n".to_vec()]);
    }

    #[test]
    fn a_batching_thread_writes_its_lines_together_when_flushed_and_when_it_ends() {
        let (sink, writes) = recorder();
        let w = Batched::new(sink);
        let seen = Arc::clone(&writes);
        on_batching_thread(move || {
            log(&w, "a\n");
            log(&w, "b\n");
            assert!(seen.lock().unwrap().is_empty(), "lines were written before a flush");
            flush_this_thread();
            assert_eq!(*seen.lock().unwrap(), vec![b"a\nb\n".to_vec()]);
            flush_this_thread();
            assert_eq!(seen.lock().unwrap().len(), 1, "an empty batch was written");
            log(&w, "c\n");
        });
        // The guard wrote the last line as the thread ended.
        assert_eq!(*writes.lock().unwrap(), vec![b"a\nb\n".to_vec(), b"c\n".to_vec()]);
    }

    #[test]
    fn lines_of_two_writers_on_one_thread_each_reach_their_own_sink() {
        let (sink_a, writes_a) = recorder();
        let (sink_b, writes_b) = recorder();
        let (a, b) = (Batched::new(sink_a), Batched::new(sink_b));
        on_batching_thread(move || {
            log(&a, "a1\n");
            log(&a, "a2\n");
            log(&b, "b1\n");
            log(&a, "a3\n");
        });
        assert_eq!(*writes_a.lock().unwrap(), vec![b"a1\na2\n".to_vec(), b"a3\n".to_vec()]);
        assert_eq!(*writes_b.lock().unwrap(), vec![b"b1\n".to_vec()]);
    }

    #[test]
    fn a_batch_is_written_once_it_passes_the_size_limit() {
        let (sink, writes) = recorder();
        let w = Batched::new(sink);
        let line = format!("{}\n", "x".repeat(999));
        let per_batch = BATCH_BYTES.div_ceil(line.len());
        let seen = Arc::clone(&writes);
        on_batching_thread(move || {
            for _ in 0..per_batch - 1 {
                log(&w, &line);
            }
            assert!(seen.lock().unwrap().is_empty());
            log(&w, &line);
            let batches = seen.lock().unwrap();
            assert_eq!(batches.len(), 1);
            assert_eq!(batches[0], line.repeat(per_batch).into_bytes());
        });
    }

    #[test]
    fn a_batch_is_written_once_its_first_line_is_old_enough() {
        let (sink, writes) = recorder();
        let w = Batched::new(sink);
        let seen = Arc::clone(&writes);
        on_batching_thread(move || {
            log(&w, "old\n");
            std::thread::sleep(BATCH_AGE + Duration::from_millis(20));
            assert!(seen.lock().unwrap().is_empty(), "waiting alone does not write");
            log(&w, "new\n");
            assert_eq!(*seen.lock().unwrap(), vec![b"old\nnew\n".to_vec()]);
        });
    }

    #[test]
    fn a_worker_runtime_writes_the_lines_before_it_goes_idle() {
        let (sink, writes) = recorder();
        let subscriber = tracing_subscriber::fmt()
            .with_writer(Batched::new(sink))
            .with_ansi(false)
            .without_time()
            .finish();
        let seen = Arc::clone(&writes);
        on_batching_thread(move || {
            tracing::subscriber::with_default(subscriber, || {
                let rt = crate::workers::runtime().unwrap();
                rt.block_on(async {
                    tracing::info!("served");
                    tokio::task::yield_now().await;
                    // Busy: the line waits.
                    assert!(seen.lock().unwrap().is_empty());
                    // Idle until the timer fires: the runtime parks and writes first.
                    tokio::time::sleep(Duration::from_millis(5)).await;
                    let batches = seen.lock().unwrap();
                    assert_eq!(batches.len(), 1);
                    assert!(String::from_utf8_lossy(&batches[0]).contains("served"));
                });
            });
        });
    }
}
