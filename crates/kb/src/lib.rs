//! The restless knowledge base: causes of restless legs syndrome, their detection rules,
//! thresholds, code sets, drug dictionary and sources, as data.
//!
//! The files under `kb/` at the repository root are embedded in the binary
//! ([`Kb::embedded`]); [`Kb::from_dir`] loads an edited copy instead. Loading validates
//! everything and reports every problem with its file and line ([`KbDiagnostic`]); once a
//! [`Kb`] exists, the engine can trust it.

mod compile;
mod diagnostic;
mod model;
mod source;
mod terminology;
pub mod units;

use std::path::{Path, PathBuf};

use restless_facts::Date;

pub use diagnostic::{Code, KbDiagnostic};
pub use model::{
    Analyte, Background, Cause, CauseKind, Claim, ConditionSet, Conversion, Criterion, Direction,
    Drug, DrugClass, Example, Expected, Expr, Product, Reference, Rule, Strength, Tag, Test,
};
pub use terminology::{MedMatch, Terminology, words};

static EMBEDDED: include_dir::Dir<'static> =
    include_dir::include_dir!("$CARGO_MANIFEST_DIR/../../kb");

/// The rule that decides whether the core work-up is complete (contract: classification).
#[derive(Clone, Debug, PartialEq)]
pub struct Classification {
    /// Criteria used by `core_workup`.
    pub criteria: Vec<Criterion>,
    /// Met when the work-up needed to call RLS primary has been done.
    pub core_workup: Expr,
    /// Seed claims answered by the classification.
    pub seed: Vec<String>,
}

/// A validated knowledge base.
#[derive(Clone, Debug)]
pub struct Kb {
    version: String,
    reviewed: Date,
    disclaimer: String,
    references: Vec<Reference>,
    manifest_references: Vec<String>,
    classification: Classification,
    background: Vec<Background>,
    claims: Vec<Claim>,
    causes: Vec<Cause>,
    terminology: Terminology,
}

/// Why a knowledge base could not be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadError {
    /// A file or folder could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// What was being read.
        path: PathBuf,
        /// Why it failed.
        source: std::io::Error,
    },
    /// The files were read but are not a valid knowledge base.
    #[error("the knowledge base has {} problem(s)", .0.len())]
    Invalid(Vec<KbDiagnostic>),
}

impl Kb {
    /// The knowledge base built into this binary.
    ///
    /// # Errors
    /// Only if the embedded copy is broken, which the test suite rules out.
    pub fn embedded() -> Result<Kb, Vec<KbDiagnostic>> {
        let mut files = Vec::new();
        collect_embedded(&EMBEDDED, &mut files);
        compile::compile(&files)
    }

    /// The embedded knowledge base's files, as `(relative path, text)`.
    #[must_use]
    pub fn embedded_files() -> Vec<(String, String)> {
        let mut files = Vec::new();
        collect_embedded(&EMBEDDED, &mut files);
        files
    }

    /// Loads and validates a knowledge base from a folder laid out like `kb/`.
    ///
    /// # Errors
    /// [`LoadError::Io`] when a file cannot be read; [`LoadError::Invalid`] with every problem
    /// found otherwise.
    pub fn from_dir(dir: &Path) -> Result<Kb, LoadError> {
        let mut files = Vec::new();
        read_dir(dir, dir, &mut files)?;
        files.sort();
        compile::compile(&files).map_err(LoadError::Invalid)
    }

    /// Loads and validates a knowledge base from `(relative path, text)` pairs.
    ///
    /// # Errors
    /// Every problem found.
    pub fn from_files(files: &[(String, String)]) -> Result<Kb, Vec<KbDiagnostic>> {
        compile::compile(files)
    }

    /// The knowledge base's version (`2026.11.0`).
    #[must_use]
    pub fn version(&self) -> &str {
        &self.version
    }

    /// When the knowledge base as a whole was last reviewed.
    #[must_use]
    pub fn reviewed(&self) -> Date {
        self.reviewed
    }

    /// The disclaimer every report carries.
    #[must_use]
    pub fn disclaimer(&self) -> &str {
        &self.disclaimer
    }

    /// Every reference.
    #[must_use]
    pub fn references(&self) -> &[Reference] {
        &self.references
    }

    /// A reference by id.
    #[must_use]
    pub fn reference(&self, id: &str) -> Option<&Reference> {
        self.references.iter().find(|r| r.id == id)
    }

    /// References for the report as a whole (diagnostic criteria, classification).
    #[must_use]
    pub fn manifest_references(&self) -> &[String] {
        &self.manifest_references
    }

    /// The classification rule.
    #[must_use]
    pub fn classification(&self) -> &Classification {
        &self.classification
    }

    /// Explanatory paragraphs.
    #[must_use]
    pub fn background(&self) -> &[Background] {
        &self.background
    }

    /// The seed claims and how each is answered.
    #[must_use]
    pub fn claims(&self) -> &[Claim] {
        &self.claims
    }

    /// Every cause, in id order.
    #[must_use]
    pub fn causes(&self) -> &[Cause] {
        &self.causes
    }

    /// A cause by id.
    #[must_use]
    pub fn cause(&self, id: &str) -> Option<&Cause> {
        self.causes.iter().find(|c| c.id == id)
    }

    /// Code, unit and text lookups.
    #[must_use]
    pub fn terminology(&self) -> &Terminology {
        &self.terminology
    }
}

fn collect_embedded(dir: &include_dir::Dir<'_>, out: &mut Vec<(String, String)>) {
    for f in dir.files() {
        if let Some(text) = f.contents_utf8() {
            out.push((f.path().to_string_lossy().replace('\\', "/"), text.to_owned()));
        }
    }
    for d in dir.dirs() {
        collect_embedded(d, out);
    }
    out.sort();
}

fn read_dir(root: &Path, dir: &Path, out: &mut Vec<(String, String)>) -> Result<(), LoadError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| LoadError::Io { path, source }
    };
    for entry in std::fs::read_dir(dir).map_err(io(dir))? {
        let entry = entry.map_err(io(dir))?;
        let path = entry.path();
        if path.is_dir() {
            read_dir(root, &path, out)?;
        } else if path.extension().is_some_and(|e| e == "toml") {
            let text = std::fs::read_to_string(&path).map_err(io(&path))?;
            let rel = path.strip_prefix(root).unwrap_or(&path).to_string_lossy().replace('\\', "/");
            out.push((rel, text));
        }
    }
    Ok(())
}
