//! `restless screen`: the engine over a whole FHIR Bulk Data export.
//!
//! Exports are NDJSON files per resource type, not grouped by patient, possibly larger than
//! memory. The screen streams every line once, in parallel chunks: it reads each line's resource
//! type without parsing it, skips irrelevant lines (and Observations whose LOINC code restless
//! does not use) unparsed, maps relevant lines with the same FHIR mapper as `assess`, and folds
//! the facts into a compact per-patient state. Memory grows with the number of patients, not
//! with the bytes read. At the end every patient is assessed by the same engine as `assess`,
//! results are written to a temporary file that is moved into place only when complete, and a
//! summary accounts for every line read.

mod input;
mod output;
mod run;
mod sniff;
mod state;

use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};

use restless_facts::Date;

pub use input::discover;
pub use output::{Row, Summary, render_html};
pub use run::screen;

/// Output format of the per-patient results.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One JSON object a line.
    Ndjson,
    /// Comma-separated values with a header.
    Csv,
}

/// How to screen.
#[derive(Debug, Clone)]
pub struct Options {
    /// Evaluation date.
    pub as_of: Date,
    /// Worker threads (0: all cores).
    pub threads: usize,
    /// Output format.
    pub format: Format,
    /// Only patients with an RLS diagnosis or RLS symptoms recorded.
    pub only_rls: bool,
    /// Any malformed line is an error.
    pub strict: bool,
    /// Process only patients whose id hashes to shard `i` of `n`.
    pub shard: Option<(u32, u32)>,
}

/// Live counters for a progress display, updated while screening.
#[derive(Debug, Default)]
pub struct Progress {
    /// Bytes read so far.
    pub bytes: AtomicU64,
    /// Lines read so far.
    pub lines: AtomicU64,
    /// Patients seen so far.
    pub patients: AtomicU64,
    /// Total bytes of the input files (known before the run starts).
    pub total_bytes: AtomicU64,
}

impl Progress {
    pub(crate) fn add(&self, bytes: u64, lines: u64) {
        self.bytes.fetch_add(bytes, Ordering::Relaxed);
        self.lines.fetch_add(lines, Ordering::Relaxed);
    }
}

/// Why a screen could not run or finish.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ScreenError {
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The error.
        source: std::io::Error,
    },
    /// No `.ndjson` or `.ndjson.gz` file was found in the inputs.
    #[error("no .ndjson or .ndjson.gz files found in {0}")]
    NoInput(String),
    /// `--strict` and malformed lines were found.
    #[error("{count} malformed line(s); first at {first}")]
    Malformed {
        /// How many.
        count: u64,
        /// `file:line: problem` of the first.
        first: String,
    },
    /// A bad option.
    #[error("{0}")]
    Usage(String),
}

/// The stable shard of a patient id: FNV-1a 64 of the id, modulo `n`.
#[must_use]
pub fn shard_of(patient: &str, n: u32) -> u32 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in patient.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    u32::try_from(h % u64::from(n.max(1))).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_are_stable_and_spread() {
        assert_eq!(shard_of("abc", 4), shard_of("abc", 4));
        let mut counts = [0u32; 4];
        for i in 0..4000 {
            counts[shard_of(&format!("patient-{i}"), 4) as usize] += 1;
        }
        assert!(counts.iter().all(|&c| c > 800), "{counts:?}");
        assert_eq!(shard_of("x", 1), 0);
    }
}
