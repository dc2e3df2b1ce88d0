//! The `restless` command line: argument parsing, exit codes and files; everything else is
//! in the library crates.
//!
//! Exit codes: 0 report produced; 2 the input or the command line is unusable; 1 internal
//! failure.

use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand, ValueEnum};
use restless_facts::Date;
use restless_kb::{Kb, LoadError};
use restless_report::Report;

mod screen;

/// jemalloc rather than the system allocator (see `docs/benchmarks.md`, session 5).
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

#[derive(Parser)]
#[command(
    name = "restless",
    version,
    about = "Finds the causes behind a person's restless legs syndrome"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Assess one person: a questionnaire JSON, a FHIR R4 Bundle or resource, or FHIR NDJSON.
    Assess {
        /// The input file; `-` or nothing reads standard input.
        file: Option<PathBuf>,
        /// Evaluation date (YYYY-MM-DD); default today.
        #[arg(long, value_parser = parse_date)]
        as_of: Option<Date>,
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Text)]
        format: Format,
        /// Use the knowledge base in this folder instead of the embedded one.
        #[arg(long)]
        kb: Option<PathBuf>,
    },
    /// Screen a whole FHIR Bulk Data export: per-patient results and a summary.
    Screen {
        /// Export folders or .ndjson / .ndjson.gz files.
        #[arg(required = true)]
        inputs: Vec<PathBuf>,
        /// Per-patient results file; the summary is written beside it as
        /// PATH.summary.json and PATH.summary.html.
        #[arg(long)]
        out: PathBuf,
        /// Output format of the per-patient results.
        #[arg(long, value_enum, default_value_t = ScreenFormat::Ndjson)]
        format: ScreenFormat,
        /// Evaluation date (YYYY-MM-DD); default today.
        #[arg(long, value_parser = parse_date)]
        as_of: Option<Date>,
        /// Worker threads; default all cores.
        #[arg(long, default_value_t = 0)]
        threads: usize,
        /// Only patients with an RLS diagnosis or RLS symptoms recorded.
        #[arg(long)]
        only_rls: bool,
        /// Treat any malformed line as an error (exit code 2).
        #[arg(long)]
        strict: bool,
        /// Process only patients whose id hashes to shard i of N (i/N, i from 0).
        #[arg(long, value_parser = parse_shard)]
        shard: Option<(u32, u32)>,
        /// Use the knowledge base in this folder instead of the embedded one.
        #[arg(long)]
        kb: Option<PathBuf>,
    },
    /// Write a synthetic FHIR Bulk export with planted causes and their ground truth.
    Synth {
        /// Number of patients.
        #[arg(long)]
        patients: usize,
        /// Random seed: the same seed gives the same bytes.
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// The date the planted facts are relative to.
        #[arg(long, value_parser = parse_date)]
        as_of: Option<Date>,
        /// Compress the files (.ndjson.gz).
        #[arg(long)]
        gzip: bool,
        /// Inject a malformed line every N lines (for tests).
        #[arg(long)]
        malformed_every: Option<u64>,
        /// Output folder (created).
        #[arg(long)]
        out: PathBuf,
    },
    /// Combine shard summaries (`screen --shard`) into one summary.
    Merge {
        /// Summary JSON files written by `screen`.
        #[arg(required = true)]
        summaries: Vec<PathBuf>,
        /// Merged summary: PATH (JSON) and PATH with .html.
        #[arg(long)]
        out: PathBuf,
    },
    /// Serve the REST API and the HL7 CDS Hooks services over HTTP (until SIGTERM or Ctrl-C).
    Serve(Box<restless_server::ServeArgs>),
    /// Inspect or validate the knowledge base.
    Kb {
        #[command(subcommand)]
        command: KbCommand,
        /// Use the knowledge base in this folder instead of the embedded one (list, show).
        #[arg(long, global = true)]
        kb: Option<PathBuf>,
    },
}

#[derive(Subcommand)]
enum KbCommand {
    /// Validate a knowledge-base folder (default: the embedded one) and list every problem.
    Check {
        /// The folder to check.
        dir: Option<PathBuf>,
    },
    /// List every cause, aggravator, risk factor and mimic.
    List,
    /// Show one entry: what it is, how it is detected, the evidence and its sources.
    Show {
        /// The cause id (`restless kb list` shows them).
        id: String,
    },
}

#[derive(Clone, Copy, ValueEnum)]
enum Format {
    Text,
    Json,
}

#[derive(Clone, Copy, ValueEnum)]
enum ScreenFormat {
    Ndjson,
    Csv,
}

fn parse_shard(s: &str) -> Result<(u32, u32), String> {
    let (i, n) = s.split_once('/').ok_or_else(|| format!("`{s}` is not i/N"))?;
    let i: u32 = i.parse().map_err(|_| format!("`{i}` is not a number"))?;
    let n: u32 = n.parse().map_err(|_| format!("`{n}` is not a number"))?;
    if n == 0 || i >= n {
        return Err(format!("shard {i}/{n}: i must be from 0 to N-1"));
    }
    Ok((i, n))
}

fn parse_date(s: &str) -> Result<Date, String> {
    Date::parse_from_str(s, "%Y-%m-%d").map_err(|_| format!("`{s}` is not a date as YYYY-MM-DD"))
}

/// An error the user can fix: reported as is, exit code 2.
#[derive(Debug)]
struct UsageError(String);

impl std::fmt::Display for UsageError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UsageError {}

pub(crate) fn usage(msg: impl Into<String>) -> anyhow::Error {
    anyhow::Error::new(UsageError(msg.into()))
}

fn load_kb(dir: Option<&Path>) -> anyhow::Result<Kb> {
    match dir {
        None => Kb::embedded().map_err(|d| {
            anyhow::anyhow!(
                "the embedded knowledge base is invalid ({} problems); this is a bug",
                d.len()
            )
        }),
        Some(dir) => match Kb::from_dir(dir) {
            Ok(kb) => Ok(kb),
            Err(LoadError::Invalid(diags)) => {
                let lines: Vec<String> =
                    diags.iter().map(|d| format!("{}/{d}", dir.display())).collect();
                Err(usage(format!(
                    "{}\nthe knowledge base in {} has {} problem(s)",
                    lines.join("\n"),
                    dir.display(),
                    diags.len()
                )))
            }
            Err(e) => Err(usage(e.to_string())),
        },
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = run(cli);
    match result {
        Ok(code) => code,
        Err(e) => {
            if let Some(io) = e.downcast_ref::<io::Error>()
                && io.kind() == io::ErrorKind::BrokenPipe
            {
                return ExitCode::SUCCESS;
            }
            if e.downcast_ref::<UsageError>().is_some() {
                eprintln!("error: {e}");
                ExitCode::from(2)
            } else {
                eprintln!("error: {e:#}");
                ExitCode::from(1)
            }
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    match cli.command {
        Command::Assess { file, as_of, format, kb } => {
            let kb = load_kb(kb.as_deref())?;
            let as_of = as_of.unwrap_or_else(|| chrono::Local::now().date_naive());
            let (name, text) = read_input(file.as_deref())?;
            let ingested = restless_ingest::read(&text, &kb, as_of).map_err(|e| match e {
                restless_ingest::IngestError::Invalid(problems) => usage(
                    problems.iter().map(|p| format!("{name}: {p}")).collect::<Vec<_>>().join("\n"),
                ),
                other => usage(format!("{name}: {other}")),
            })?;
            let assessment = restless_engine::assess(&kb, &ingested.record, as_of);
            let report = Report { assessment: &assessment, kb: &kb, warnings: &ingested.warnings };
            let stdout = io::stdout();
            let mut out = io::BufWriter::new(stdout.lock());
            match format {
                Format::Text => restless_report::text::write(&report, &mut out)?,
                Format::Json => restless_report::json::v1::write(&report, &mut out)?,
            }
            out.flush()?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Screen { inputs, out, format, as_of, threads, only_rls, strict, shard, kb } => {
            let kb = load_kb(kb.as_deref())?;
            let as_of = as_of.unwrap_or_else(|| chrono::Local::now().date_naive());
            let opts = restless_screen::Options {
                as_of,
                threads,
                format: match format {
                    ScreenFormat::Ndjson => restless_screen::Format::Ndjson,
                    ScreenFormat::Csv => restless_screen::Format::Csv,
                },
                only_rls,
                strict,
                shard,
            };
            let summary = screen::run(&inputs, &out, &opts, &kb)?;
            screen::write_summary(&out, &summary)?;
            screen::report(&summary);
            Ok(ExitCode::SUCCESS)
        }
        Command::Synth { patients, seed, as_of, gzip, malformed_every, out } => {
            let kb = load_kb(None)?;
            let as_of = as_of.unwrap_or_else(|| chrono::Local::now().date_naive());
            let mut opts = restless_synth::Options::new(patients, seed, as_of);
            opts.gzip = gzip;
            opts.malformed_every = malformed_every;
            std::fs::create_dir_all(&out)
                .map_err(|e| usage(format!("cannot create {}: {e}", out.display())))?;
            let s = restless_synth::generate(&out, &opts, &kb)
                .with_context(|| format!("writing {}", out.display()))?;
            eprintln!(
                "{} patients, {} lines, {:.1} MB written to {}",
                s.patients,
                s.lines,
                s.bytes as f64 / 1e6,
                out.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Merge { summaries, out } => {
            let mut parts = Vec::new();
            for p in &summaries {
                let text = std::fs::read_to_string(p)
                    .map_err(|e| usage(format!("cannot read {}: {e}", p.display())))?;
                let s: restless_screen::Summary = serde_json::from_str(&text)
                    .map_err(|e| usage(format!("{}: not a screen summary: {e}", p.display())))?;
                parts.push(s);
            }
            let merged = restless_screen::Summary::merge(&parts).map_err(usage)?;
            screen::write_merged(&out, &merged)?;
            screen::report(&merged);
            Ok(ExitCode::SUCCESS)
        }
        Command::Serve(args) => match restless_server::run(&args) {
            Ok(()) => Ok(ExitCode::SUCCESS),
            Err(e) if e.is_usage() => Err(usage(e.to_string())),
            Err(e) => Err(anyhow::Error::new(e)),
        },
        Command::Kb { command: KbCommand::Check { dir }, .. } => {
            let result = match &dir {
                Some(d) => Kb::from_dir(d),
                None => Kb::embedded().map_err(LoadError::Invalid),
            };
            let shown =
                dir.as_ref().map_or_else(|| "embedded".to_owned(), |d| d.display().to_string());
            match result {
                Ok(kb) => {
                    let examples: usize = kb.causes().iter().map(|c| c.examples.len()).sum();
                    println!(
                        "ok: {shown} knowledge base {}: {} entries, {} examples, {} drugs, {} references",
                        kb.version(),
                        kb.causes().len(),
                        examples,
                        kb.terminology().drugs().len(),
                        kb.references().len()
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Err(LoadError::Invalid(diags)) => {
                    let stdout = io::stdout();
                    let mut out = stdout.lock();
                    for d in &diags {
                        writeln!(out, "{d}")?;
                    }
                    Err(usage(format!("{} problem(s) in the {shown} knowledge base", diags.len())))
                }
                Err(e) => Err(usage(e.to_string())),
            }
        }
        Command::Kb { command: KbCommand::List, kb } => {
            let kb = load_kb(kb.as_deref())?;
            let stdout = io::stdout();
            restless_report::kb_page::write_list(&kb, &mut stdout.lock())?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Kb { command: KbCommand::Show { id }, kb } => {
            let kb = load_kb(kb.as_deref())?;
            let Some(cause) = kb.cause(&id) else {
                return Err(usage(format!(
                    "no entry `{id}` in the knowledge base; `restless kb list` shows the ids"
                )));
            };
            let stdout = io::stdout();
            restless_report::kb_page::write_cause(&kb, cause, &mut stdout.lock())?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn read_input(file: Option<&Path>) -> anyhow::Result<(String, String)> {
    match file {
        None => read_stdin(),
        Some(p) if p.as_os_str() == "-" => read_stdin(),
        Some(p) => {
            let bytes =
                std::fs::read(p).map_err(|e| usage(format!("cannot read {}: {e}", p.display())))?;
            let text = String::from_utf8(bytes)
                .map_err(|_| usage(format!("{}: not UTF-8 text", p.display())))?;
            Ok((p.display().to_string(), text))
        }
    }
}

fn read_stdin() -> anyhow::Result<(String, String)> {
    let mut text = String::new();
    io::stdin()
        .read_to_string(&mut text)
        .map_err(|e| usage(format!("cannot read standard input: {e}")))
        .context("reading input")?;
    Ok(("<stdin>".to_owned(), text))
}
