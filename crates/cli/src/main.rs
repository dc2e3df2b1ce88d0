//! The `restless` command line: thin glue over the library crates.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(name = "restless", version, about = "Finds the causes behind a person's restless legs syndrome")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Inspect the knowledge base.
    Kb {
        #[command(subcommand)]
        command: KbCommand,
    },
}

#[derive(Subcommand)]
enum KbCommand {
    /// Validate a knowledge-base folder (default: the embedded one) and list every problem.
    Check { dir: Option<PathBuf> },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Kb { command: KbCommand::Check { dir } } => {
            let result = match &dir {
                Some(d) => restless_kb::Kb::from_dir(d),
                None => restless_kb::Kb::embedded().map_err(restless_kb::LoadError::Invalid),
            };
            match result {
                Ok(kb) => {
                    println!("ok: knowledge base {} with {} causes", kb.version(), kb.causes().len());
                    ExitCode::SUCCESS
                }
                Err(restless_kb::LoadError::Invalid(diags)) => {
                    for d in &diags {
                        eprintln!("{d}");
                    }
                    eprintln!("{} problem(s)", diags.len());
                    ExitCode::from(2)
                }
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::from(2)
                }
            }
        }
    }
}
