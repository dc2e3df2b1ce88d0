//! The output files: one numbered series per resource type (`Observation.000.ndjson`,
//! `Observation.001.ndjson`, ...), each file closed after a fixed number of lines.

use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use flate2::Compression;
use flate2::write::GzEncoder;

/// The resource types written, one file series each.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Kind {
    Patient,
    Encounter,
    Condition,
    Observation,
    Procedure,
    Immunization,
    MedicationRequest,
    Claim,
    ExplanationOfBenefit,
    DiagnosticReport,
    CarePlan,
    AllergyIntolerance,
    Organization,
    Practitioner,
}

pub(crate) const KINDS: [Kind; 14] = [
    Kind::Patient,
    Kind::Encounter,
    Kind::Condition,
    Kind::Observation,
    Kind::Procedure,
    Kind::Immunization,
    Kind::MedicationRequest,
    Kind::Claim,
    Kind::ExplanationOfBenefit,
    Kind::DiagnosticReport,
    Kind::CarePlan,
    Kind::AllergyIntolerance,
    Kind::Organization,
    Kind::Practitioner,
];

impl Kind {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::Patient => "Patient",
            Kind::Encounter => "Encounter",
            Kind::Condition => "Condition",
            Kind::Observation => "Observation",
            Kind::Procedure => "Procedure",
            Kind::Immunization => "Immunization",
            Kind::MedicationRequest => "MedicationRequest",
            Kind::Claim => "Claim",
            Kind::ExplanationOfBenefit => "ExplanationOfBenefit",
            Kind::DiagnosticReport => "DiagnosticReport",
            Kind::CarePlan => "CarePlan",
            Kind::AllergyIntolerance => "AllergyIntolerance",
            Kind::Organization => "Organization",
            Kind::Practitioner => "Practitioner",
        }
    }

    fn slot(self) -> usize {
        KINDS.iter().position(|k| *k == self).unwrap_or(0)
    }
}

enum Out {
    Plain(BufWriter<File>),
    Gz(BufWriter<GzEncoder<File>>),
}

impl Out {
    fn write_all(&mut self, b: &[u8]) -> io::Result<()> {
        match self {
            Out::Plain(w) => w.write_all(b),
            Out::Gz(w) => w.write_all(b),
        }
    }

    fn close(self) -> io::Result<()> {
        match self {
            Out::Plain(mut w) => w.flush(),
            Out::Gz(w) => {
                let gz = w.into_inner().map_err(io::IntoInnerError::into_error)?;
                gz.finish()?.flush()
            }
        }
    }
}

struct Series {
    next_index: u32,
    lines_in_file: u64,
    out: Option<Out>,
}

/// Every output file, with line and byte counts.
pub(crate) struct Sinks {
    dir: PathBuf,
    gzip: bool,
    lines_per_file: u64,
    malformed_every: Option<u64>,
    series: Vec<Series>,
    /// Lines written to the resource files (malformed ones included).
    pub(crate) lines: u64,
    /// Bytes written to the resource files, before compression.
    pub(crate) bytes: u64,
    /// Lines per resource type.
    pub(crate) per_kind: [u64; KINDS.len()],
    /// Bytes per resource type.
    pub(crate) bytes_per_kind: [u64; KINDS.len()],
    /// Malformed lines injected.
    pub(crate) malformed: u64,
    /// Resource lines written (malformed ones not included).
    good: u64,
    /// Files written, in the order they were opened.
    pub(crate) files: Vec<String>,
}

const BUFFER: usize = 256 * 1024;

impl Sinks {
    pub(crate) fn new(
        dir: &Path,
        gzip: bool,
        lines_per_file: u64,
        malformed_every: Option<u64>,
    ) -> Sinks {
        Sinks {
            dir: dir.to_path_buf(),
            gzip,
            lines_per_file: lines_per_file.max(1),
            malformed_every: malformed_every.filter(|n| *n > 0),
            series: KINDS
                .iter()
                .map(|_| Series { next_index: 0, lines_in_file: 0, out: None })
                .collect(),
            lines: 0,
            bytes: 0,
            per_kind: [0; KINDS.len()],
            bytes_per_kind: [0; KINDS.len()],
            malformed: 0,
            good: 0,
            files: Vec::new(),
        }
    }

    fn open(&mut self, kind: Kind) -> io::Result<()> {
        let slot = kind.slot();
        let s = &mut self.series[slot];
        if let Some(out) = s.out.take() {
            out.close()?;
        }
        let ext = if self.gzip { "ndjson.gz" } else { "ndjson" };
        let name = format!("{}.{:03}.{ext}", kind.name(), s.next_index);
        s.next_index += 1;
        s.lines_in_file = 0;
        let file = File::create(self.dir.join(&name))?;
        s.out = Some(if self.gzip {
            Out::Gz(BufWriter::with_capacity(BUFFER, GzEncoder::new(file, Compression::fast())))
        } else {
            Out::Plain(BufWriter::with_capacity(BUFFER, file))
        });
        self.files.push(name);
        Ok(())
    }

    fn raw(&mut self, kind: Kind, line: &[u8]) -> io::Result<()> {
        let slot = kind.slot();
        if self.series[slot].out.is_none() || self.series[slot].lines_in_file >= self.lines_per_file
        {
            self.open(kind)?;
        }
        let s = &mut self.series[slot];
        if let Some(out) = s.out.as_mut() {
            out.write_all(line)?;
            out.write_all(b"\n")?;
        }
        s.lines_in_file += 1;
        let n = line.len() as u64 + 1;
        self.lines += 1;
        self.bytes += n;
        self.per_kind[slot] += 1;
        self.bytes_per_kind[slot] += n;
        Ok(())
    }

    /// Writes one resource line (without its newline). Every `malformed_every` lines, a broken
    /// copy of the line follows it: the first part of it, cut off mid-JSON.
    pub(crate) fn write(&mut self, kind: Kind, line: &str) -> io::Result<()> {
        self.raw(kind, line.as_bytes())?;
        self.good += 1;
        if let Some(n) = self.malformed_every
            && self.good.is_multiple_of(n)
        {
            let mut cut = (line.len() * 3 / 5).max(1).min(line.len());
            while cut > 0 && !line.is_char_boundary(cut) {
                cut -= 1;
            }
            let broken = format!("{},\"", &line[..cut]);
            self.malformed += 1;
            self.raw(kind, broken.as_bytes())?;
        }
        Ok(())
    }

    /// Closes every file.
    pub(crate) fn finish(&mut self) -> io::Result<()> {
        for s in &mut self.series {
            if let Some(out) = s.out.take() {
                out.close()?;
            }
        }
        Ok(())
    }
}
