//! Problems found while loading a knowledge base, each with a stable code, file and line.

use std::fmt;

/// A stable code for each kind of knowledge-base problem.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Code {
    /// KB001: the file is not valid TOML, or a field is unknown, missing or of the wrong type.
    Syntax,
    /// KB002: an id is defined twice.
    Duplicate,
    /// KB003: a rule names a fact that does not exist.
    UnknownFact,
    /// KB004: a threshold's unit does not fit the fact it tests.
    UnitMismatch,
    /// KB005: a reference to an id that is not defined.
    Dangling,
    /// KB006: an entry without a source.
    MissingSource,
    /// KB007: a value outside its allowed set (kind, strength, tag, operator, seed id...).
    BadValue,
    /// KB008: a cause without both a positive and a negative example.
    Examples,
    /// KB009: a file the knowledge base does not expect, or a required file that is missing.
    Layout,
    /// KB010: a code mapped twice in a way that makes lookups ambiguous.
    Ambiguous,
}

impl Code {
    /// `KB001`...
    #[must_use]
    pub fn as_str(self) -> &'static str {
        match self {
            Code::Syntax => "KB001",
            Code::Duplicate => "KB002",
            Code::UnknownFact => "KB003",
            Code::UnitMismatch => "KB004",
            Code::Dangling => "KB005",
            Code::MissingSource => "KB006",
            Code::BadValue => "KB007",
            Code::Examples => "KB008",
            Code::Layout => "KB009",
            Code::Ambiguous => "KB010",
        }
    }
}

/// One problem in the knowledge base.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct KbDiagnostic {
    /// The file, relative to the knowledge-base root (`causes/iron-deficiency.toml`).
    pub file: String,
    /// 1-based line, when the problem has a place in the file.
    pub line: Option<usize>,
    /// What kind of problem.
    pub code: Code,
    /// What is wrong and what was expected.
    pub message: String,
}

impl fmt::Display for KbDiagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => {
                write!(f, "{}:{}: {} {}", self.file, line, self.code.as_str(), self.message)
            }
            None => write!(f, "{}: {} {}", self.file, self.code.as_str(), self.message),
        }
    }
}

/// Collects diagnostics for one file, turning byte offsets into line numbers.
pub(crate) struct Sink<'a> {
    pub(crate) file: &'a str,
    pub(crate) text: &'a str,
    pub(crate) out: &'a mut Vec<KbDiagnostic>,
}

impl Sink<'_> {
    pub(crate) fn at(&mut self, offset: Option<usize>, code: Code, message: impl Into<String>) {
        let line = offset.map(|o| line_of(self.text, o));
        self.out.push(KbDiagnostic {
            file: self.file.to_owned(),
            line,
            code,
            message: message.into(),
        });
    }
}

/// 1-based line of a byte offset.
pub(crate) fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end].iter().filter(|&&b| b == b'\n').count() + 1
}
