//! Errors and warnings of the input adapters, each naming its place in the input.

use std::fmt;

/// One problem at one place: a JSON pointer and what was expected there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// JSON pointer (`/labs/0/value`); empty for the whole document.
    pub path: String,
    /// What was expected, and what was found when that helps.
    pub expected: String,
}

impl Problem {
    /// A problem at `path`.
    pub fn new(path: impl Into<String>, expected: impl Into<String>) -> Problem {
        Problem { path: path.into(), expected: expected.into() }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let path = if self.path.is_empty() { "/" } else { &self.path };
        write!(f, "{path}: expected {}", self.expected)
    }
}

/// Input that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IngestError {
    /// Not JSON.
    #[error("line {line}, column {column}: malformed JSON: {message}")]
    Syntax {
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What the parser expected.
        message: String,
    },
    /// JSON, but with wrong types or impossible values; every problem found.
    #[error("{}", .0.iter().map(ToString::to_string).collect::<Vec<_>>().join("; "))]
    Invalid(Vec<Problem>),
    /// A format this version does not read.
    #[error("{what}")]
    Unsupported {
        /// What was not supported.
        what: String,
    },
}

impl IngestError {
    pub(crate) fn from_json(e: serde_json::Error) -> IngestError {
        IngestError::Syntax { line: e.line(), column: e.column(), message: short(&e) }
    }
}

pub use restless_facts::Warning;

/// serde_json's message without the " at line L column C" it appends (reported separately).
pub(crate) fn short(e: &serde_json::Error) -> String {
    let message = e.to_string();
    message.split(" at line ").next().unwrap_or(&message).to_owned()
}
