//! `cargo run --release -p restless-synth --example synth -- DIR PATIENTS [SEED] [--gzip]`:
//! writes an export and prints its size and speed (until the CLI has `restless synth`).

use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dir = args.first().ok_or("usage: synth DIR PATIENTS [SEED] [--gzip]")?;
    let patients: usize = args.get(1).map_or(Ok(100), |s| s.parse())?;
    let seed: u64 = args.get(2).filter(|s| !s.starts_with("--")).map_or(Ok(1), |s| s.parse())?;
    let gzip = args.iter().any(|a| a == "--gzip");
    let kb =
        restless_kb::Kb::embedded().map_err(|e| format!("{} knowledge-base problems", e.len()))?;
    let as_of = chrono::NaiveDate::from_ymd_opt(2026, 11, 27).ok_or("date")?;
    let opts =
        restless_synth::Options { gzip, ..restless_synth::Options::new(patients, seed, as_of) };
    let start = Instant::now();
    let s = restless_synth::generate(std::path::Path::new(dir), &opts, &kb)?;
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{} patients, {} lines, {:.1} MB in {secs:.2} s: {:.0} MB/s",
        s.patients,
        s.lines,
        s.bytes as f64 / 1e6,
        s.bytes as f64 / 1e6 / secs
    );
    Ok(())
}
