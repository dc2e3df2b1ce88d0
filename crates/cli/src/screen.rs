//! `restless screen` and `restless merge` at the command line: progress on standard error,
//! the summary files beside the output, and the accounting printed at the end.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use restless_kb::Kb;
use restless_screen::{Options, Progress, ScreenError, Summary};

fn side(out: &Path, suffix: &str) -> PathBuf {
    let mut s = out.as_os_str().to_owned();
    s.push(suffix);
    PathBuf::from(s)
}

pub(crate) fn run(
    inputs: &[PathBuf],
    out: &Path,
    opts: &Options,
    kb: &Kb,
) -> anyhow::Result<Summary> {
    let progress = Arc::new(Progress::default());
    let bar = ProgressBar::with_draw_target(
        None,
        if std::io::stderr().is_terminal() {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        },
    );
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} {bytes}/{total_bytes} {bytes_per_sec} ETA {eta} {msg}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    // The ticker redraws every 200 ms and stops as soon as the run ends (dropping `stop`
    // wakes it at once: a plain sleep would add up to 200 ms to every run).
    let (stop, stopped) = std::sync::mpsc::channel::<()>();
    let ticker = {
        let (progress, bar) = (progress.clone(), bar.clone());
        std::thread::spawn(move || {
            loop {
                bar.set_length(progress.total_bytes.load(Ordering::Relaxed));
                bar.set_position(progress.bytes.load(Ordering::Relaxed));
                bar.set_message(format!(
                    "{} lines, {} patients",
                    progress.lines.load(Ordering::Relaxed),
                    progress.patients.load(Ordering::Relaxed)
                ));
                match stopped.recv_timeout(Duration::from_millis(200)) {
                    Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
                    _ => break,
                }
            }
        })
    };
    let result = restless_screen::screen(inputs, out, opts, kb, &progress);
    drop(stop);
    let _ = ticker.join();
    bar.finish_and_clear();
    result.map_err(|e| match e {
        ScreenError::Io { .. }
        | ScreenError::NoInput(_)
        | ScreenError::Malformed { .. }
        | ScreenError::Usage(_) => crate::usage(e.to_string()),
        other => anyhow::Error::new(other),
    })
}

fn write_both(json_path: &Path, html_path: &Path, s: &Summary) -> anyhow::Result<()> {
    let json = serde_json::to_string_pretty(s)?;
    std::fs::write(json_path, json + "\n")
        .map_err(|e| crate::usage(format!("cannot write {}: {e}", json_path.display())))?;
    std::fs::write(html_path, restless_screen::render_html(s))
        .map_err(|e| crate::usage(format!("cannot write {}: {e}", html_path.display())))?;
    Ok(())
}

pub(crate) fn write_summary(out: &Path, s: &Summary) -> anyhow::Result<()> {
    write_both(&side(out, ".summary.json"), &side(out, ".summary.html"), s)
}

pub(crate) fn write_merged(out: &Path, s: &Summary) -> anyhow::Result<()> {
    write_both(out, &out.with_extension("html"), s)
}

/// The accounting, on standard error: every line read is one of these.
pub(crate) fn report(s: &Summary) {
    let a = &s.accounting;
    let skipped: u64 = a.skipped.values().sum();
    eprintln!(
        "{} lines: {} used, {} irrelevant, {} skipped, {} orphaned, {} malformed; {} patients ({} with RLS), {:.1} s",
        a.lines,
        a.used,
        a.irrelevant,
        skipped,
        a.orphaned,
        a.malformed,
        s.patients,
        s.patients_with_rls,
        s.seconds
    );
    for (k, v) in &a.skipped {
        eprintln!("  skipped, {k}: {v}");
    }
    for (k, v) in &a.malformed_kinds {
        let samples = a.malformed_samples.get(k).map(|x| x.join(", ")).unwrap_or_default();
        eprintln!("  malformed, {k}: {v} (e.g. {samples})");
    }
}
