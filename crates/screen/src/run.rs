//! The screen itself: stream, map, fold, assess, write.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::Ordering;

use rayon::prelude::*;
use restless_facts::Date;
use restless_ingest::fhir;
use restless_kb::Kb;
use serde_json::Value;

use crate::input::{Chunk, chunks, discover};
use crate::output::{Accounting, Row, RowWriter, Summary};
use crate::sniff::{Kind, kind};
use crate::state::{Ids, PatientState};
use crate::{Options, Progress, ScreenError, shard_of};
use restless_ingest::fhir::LoincFilter;

/// How many samples of each kind of malformed line the summary keeps.
const SAMPLES: usize = 5;

/// Everything folded so far; shared by the workers behind a mutex, touched once per chunk.
#[derive(Default)]
struct Folded {
    patients: HashMap<Box<str>, PatientState, foldhash::fast::RandomState>,
    ids: Ids,
    acc: Accounting,
    /// Medication resources by id, for references from requests in other files.
    medications: HashMap<String, Value>,
    /// Requests that reference a Medication, resolved after the pass.
    pending: Vec<(Box<str>, Value, String)>,
}

/// What one chunk produced, before it is folded in.
#[derive(Default)]
struct Partial {
    /// (patient key, mapped record, is the Patient resource itself)
    facts: Vec<(Box<str>, restless_facts::PatientRecord, bool)>,
    acc: Accounting,
    medications: Vec<(String, Value)>,
    pending: Vec<(Box<str>, Value, String)>,
    /// Lab results from the fast path.
    labs: Vec<(Box<str>, restless_facts::LabResult)>,
    /// Patients with a line that gave no fact (still attributed, for the orphan count).
    touched: Vec<Box<str>>,
    /// Patients with a Condition that named no set: their problem list is on record.
    problem_list: Vec<Box<str>>,
}

/// The patient a resource is about: the id in `subject` or `patient` (`Patient/<id>`,
/// `urn:uuid:<id>`, or an absolute URL ending in `Patient/<id>`).
fn patient_key(v: &Value) -> Option<Box<str>> {
    key_of(v.get("subject").or_else(|| v.get("patient"))?.get("reference")?.as_str()?)
}

/// The patient id a reference names.
fn key_of(r: &str) -> Option<Box<str>> {
    let r = r.trim();
    let id: &str = if let Some(u) = r.strip_prefix("urn:uuid:") {
        u
    } else {
        let parts: Vec<&str> = r.split('/').collect();
        let at = parts.iter().rposition(|p| *p == "Patient")?;
        let id: &str = parts.get(at + 1)?;
        return (!id.is_empty()).then(|| Box::from(id));
    };
    (!id.is_empty()).then(|| id.into())
}

/// Counts a malformed line and keeps where it starts (file, byte offset); line numbers are
/// worked out at the end for the few samples kept, so the hot path never counts lines.
fn malformed(acc: &mut Accounting, file: usize, offset: u64, what: &str) {
    acc.malformed += 1;
    let samples = acc.sample_offsets.entry(what.to_owned()).or_default();
    if samples.len() < SAMPLES {
        samples.push((file, offset));
    }
    *acc.malformed_kinds.entry(what.to_owned()).or_default() += 1;
}

/// `file:line` for each kept sample, counting newlines before its offset.
fn resolve_samples(acc: &mut Accounting, files: &[PathBuf]) {
    let mut offsets = std::mem::take(&mut acc.sample_offsets);
    for (kind, list) in &mut offsets {
        list.sort_unstable();
        list.truncate(SAMPLES);
        let mut shown = Vec::new();
        for &(file, offset) in list.iter() {
            let line = crate::input::line_at(&files[file], offset).unwrap_or(0);
            shown.push(format!("{}:{line}", files[file].display()));
        }
        acc.malformed_samples.insert(kind.clone(), shown);
    }
}

/// The patient a line is counted for, or `None` when it is counted as orphaned (no patient)
/// or as another shard's.
fn attribute(ctx: &Ctx<'_>, acc: &mut Accounting, key: Option<Box<str>>) -> Option<Box<str>> {
    let Some(key) = key else {
        acc.orphaned += 1;
        return None;
    };
    if let Some((i, n)) = ctx.opts.shard
        && shard_of(&key, n) != i
    {
        acc.skip("other shard");
        return None;
    }
    Some(key)
}

struct Ctx<'a> {
    kb: &'a Kb,
    opts: &'a Options,
    filter: LoincFilter,
    files: &'a [PathBuf],
}

/// Maps the whole lines in `bytes` (which start at `offset` in file number `file`) into `out`.
fn process(ctx: &Ctx<'_>, file_no: usize, offset: u64, bytes: &[u8], out: &mut Partial) {
    let file = &ctx.files[file_no];
    // A final newline ends the last line; it does not start another.
    let body = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    let mut start = 0;
    let ends = memchr::memchr_iter(b'\n', body).chain(std::iter::once(body.len()));
    for end in ends {
        let line = &body[start..end];
        let this = offset + start as u64;
        start = end + 1;
        out.acc.lines += 1;
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.iter().all(u8::is_ascii_whitespace) {
            out.acc.irrelevant += 1;
            continue;
        }
        let k = kind(line);
        match k {
            Kind::Irrelevant => {
                out.acc.irrelevant += 1;
                continue;
            }
            Kind::Observation if !ctx.filter.relevant(line) => {
                out.acc.irrelevant += 1;
                continue;
            }
            Kind::Condition => {
                // Diagnoses (restless legs aside) go straight to a fact, without a JSON tree;
                // every one puts the patient's problem list on record.
                if let Some((subject, outcome)) =
                    fhir::simple_condition(line, ctx.kb, ctx.opts.as_of)
                {
                    let Some(key) =
                        attribute(ctx, &mut out.acc, subject.as_deref().and_then(key_of))
                    else {
                        continue;
                    };
                    match outcome {
                        fhir::SimpleCondition::Irrelevant(warning) => {
                            out.acc.irrelevant += 1;
                            if let Some(w) = warning {
                                *out.acc.warnings.entry(w).or_default() += 1;
                            }
                            out.problem_list.push(key);
                        }
                        fhir::SimpleCondition::Skipped(reason) => {
                            out.acc.skip(reason);
                            out.problem_list.push(key);
                        }
                        fhir::SimpleCondition::Used(c) => {
                            out.acc.used += 1;
                            let mut rec = restless_facts::PatientRecord::default();
                            rec.reviewed.conditions = true;
                            rec.conditions.push(c);
                            out.facts.push((key, rec, false));
                        }
                    }
                    continue;
                }
            }
            Kind::Observation => {
                // Plain lab results go straight to a fact, without a JSON tree.
                if let Some((subject, outcome)) =
                    fhir::simple_observation_with(line, ctx.kb, ctx.opts.as_of, false)
                {
                    let Some(key) =
                        attribute(ctx, &mut out.acc, subject.as_deref().and_then(key_of))
                    else {
                        continue;
                    };
                    match outcome {
                        fhir::SimpleOutcome::Lab(lab) => {
                            out.acc.used += 1;
                            out.labs.push((key, lab));
                        }
                        fhir::SimpleOutcome::Skipped(reason) => {
                            out.acc.skip(reason);
                            out.touched.push(key);
                        }
                        fhir::SimpleOutcome::Irrelevant(warning)
                        | fhir::SimpleOutcome::Answer(_, Err(warning)) => {
                            out.acc.irrelevant += 1;
                            if let Some(w) = warning {
                                *out.acc.warnings.entry(w).or_default() += 1;
                            }
                            out.touched.push(key);
                        }
                        fhir::SimpleOutcome::Answer(answer, Ok(yes)) => {
                            out.acc.used += 1;
                            let mut rec = restless_facts::PatientRecord::default();
                            rec.answers.push(restless_facts::AnswerFact {
                                answer,
                                value: restless_facts::AnswerValue::YesNo(yes),
                                source: restless_facts::Provenance::default(),
                            });
                            out.facts.push((key, rec, false));
                        }
                    }
                    continue;
                }
            }
            Kind::MedicationRequest => {
                // Orders coded by a concept: a medication fact (or why not) without a JSON tree.
                if let Some((subject, outcome)) = fhir::simple_medication_request(line, ctx.kb) {
                    let Some(key) =
                        attribute(ctx, &mut out.acc, subject.as_deref().and_then(key_of))
                    else {
                        continue;
                    };
                    // Every order puts the patient's medication list on record.
                    let mut rec = restless_facts::PatientRecord::default();
                    rec.reviewed.medications = true;
                    match outcome {
                        fhir::SimpleMedication::Used(m) => {
                            out.acc.used += 1;
                            rec.medications.push(m);
                        }
                        fhir::SimpleMedication::Skipped(reason, warning) => {
                            out.acc.skip(reason);
                            if let Some(w) = warning {
                                *out.acc.warnings.entry(w.to_owned()).or_default() += 1;
                            }
                        }
                    }
                    out.facts.push((key, rec, false));
                    continue;
                }
            }
            _ => {}
        }
        let value: Value = match fhir::slim_resource(line) {
            Ok(v) => v,
            Err(e) => {
                let what = if e.is_eof() { "truncated JSON" } else { "malformed JSON" };
                malformed(&mut out.acc, file_no, this, what);
                continue;
            }
        };
        if k == Kind::Unknown {
            match value.get("resourceType").and_then(Value::as_str) {
                Some(_) => {
                    out.acc.irrelevant += 1; // e.g. resourceType after a nested object: not a type we read
                }
                None => malformed(&mut out.acc, file_no, this, "no resourceType"),
            }
            continue;
        }
        if k == Kind::Medication {
            if let Some(id) = value.get("id").and_then(Value::as_str) {
                out.medications.push((id.to_owned(), value.clone()));
            }
            out.acc.used += 1;
            continue;
        }
        let key = if k == Kind::Patient {
            value.get("id").and_then(Value::as_str).map(Box::from)
        } else {
            patient_key(&value)
        };
        let Some(key) = attribute(ctx, &mut out.acc, key) else { continue };
        let has_med_ref = value
            .get("medicationReference")
            .and_then(|m| m.get("reference"))
            .and_then(Value::as_str)
            .is_some_and(|r| !r.starts_with('#'));
        if has_med_ref {
            out.pending.push((key, value, format!("{}:{this}", file.display())));
            continue;
        }
        map_into(ctx, key, &value, k == Kind::Patient, out);
    }
}

fn map_into(ctx: &Ctx<'_>, key: Box<str>, value: &Value, is_patient: bool, out: &mut Partial) {
    match fhir::read(value, ctx.kb, ctx.opts.as_of) {
        Ok(ing) => {
            let tally = ing.tally.unwrap_or_default();
            if tally.used > 0 {
                out.acc.used += 1;
            } else if tally.irrelevant > 0 {
                out.acc.irrelevant += 1;
            } else {
                for (reason, _) in tally.skipped.iter().take(1) {
                    out.acc.skip(reason);
                }
                if tally.skipped.is_empty() {
                    out.acc.irrelevant += 1;
                }
            }
            for w in &ing.warnings {
                *out.acc.warnings.entry(w.message.clone()).or_default() += 1;
            }
            out.facts.push((key, ing.record, is_patient));
        }
        Err(_) => out.acc.skip("not a FHIR resource"),
    }
}

fn fold(into: &mut Folded, part: Partial, as_of: Date) {
    into.acc.merge(&part.acc);
    for (key, rec, is_patient) in part.facts {
        let st = into.patients.entry(key).or_default();
        st.lines += 1;
        if is_patient {
            st.set_demographics(&rec);
        } else {
            st.absorb(&rec, as_of, &mut into.ids);
        }
    }
    for (key, lab) in part.labs {
        let st = into.patients.entry(key).or_default();
        st.lines += 1;
        st.absorb_lab(&lab, &mut into.ids);
    }
    for key in part.touched {
        into.patients.entry(key).or_default().lines += 1;
    }
    for key in part.problem_list {
        let st = into.patients.entry(key).or_default();
        st.lines += 1;
        st.mark_problem_list();
    }
    into.medications.extend(part.medications);
    into.pending.extend(part.pending);
}

/// Screens an export: writes per-patient rows to `out` (atomically) and returns the summary.
///
/// # Errors
/// Unreadable inputs, an unwritable output, no input files, or malformed lines under `strict`.
pub fn screen(
    inputs: &[PathBuf],
    out: &Path,
    opts: &Options,
    kb: &Kb,
    progress: &Progress,
) -> Result<Summary, ScreenError> {
    let files = discover(inputs)?;
    if files.is_empty() {
        return Err(ScreenError::NoInput(
            inputs.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "),
        ));
    }
    if let Some((i, n)) = opts.shard
        && (n == 0 || i >= n)
    {
        return Err(ScreenError::Usage(format!(
            "--shard {i}/{n}: the shard must be from 0 to {}",
            n.saturating_sub(1)
        )));
    }
    let total: u64 = files.iter().filter_map(|f| std::fs::metadata(f).ok()).map(|m| m.len()).sum();
    progress.total_bytes.store(total, Ordering::Relaxed);
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.threads)
        .build()
        .map_err(|e| ScreenError::Usage(format!("cannot start {} threads: {e}", opts.threads)))?;
    let ctx = Ctx { kb, opts, filter: LoincFilter::new(kb), files: &files };
    let folded = Mutex::new(Folded::default());
    let started = std::time::Instant::now();
    let read_error: Mutex<Option<ScreenError>> = Mutex::new(None);
    let fail = |e: ScreenError| {
        if let Ok(mut slot) = read_error.lock() {
            slot.get_or_insert(e);
        }
    };
    let fold_in = |part: Partial, bytes: u64| {
        let lines = part.acc.lines;
        if let Ok(mut f) = folded.lock() {
            fold(&mut f, part, opts.as_of);
            progress.patients.store(f.patients.len() as u64, Ordering::Relaxed);
        }
        progress.add(bytes, lines);
    };

    // Regular files: cut into ranges that the workers read themselves, by position.
    let positional: Vec<bool> = files.iter().map(|f| crate::input::positional(f)).collect();
    let ranges = crate::input::ranges(&files, &positional, crate::input::CHUNK as u64)?;
    let opened: Vec<Option<std::fs::File>> = files
        .iter()
        .zip(&positional)
        .map(|(f, &p)| {
            p.then(|| std::fs::File::open(f))
                .transpose()
                .map_err(|source| ScreenError::Io { path: f.clone(), source })
        })
        .collect::<Result<_, _>>()?;
    pool.install(|| {
        ranges.par_iter().for_each_init(Vec::new, |buf, range| {
            let (Some(f), path) = (&opened[range.file], &files[range.file]) else { return };
            let mut part = Partial::default();
            let piece = crate::input::PIECE;
            let r = crate::input::read_range(f, path, range, piece, buf, &mut |offset, bytes| {
                process(&ctx, range.file, offset, bytes, &mut part);
            });
            if let Err(e) = r {
                fail(e);
            }
            fold_in(part, range.end - range.start);
        });
    });

    // Compressed files and pipes: one reader thread per file at a time feeds chunks to the
    // pool through a bounded channel, so memory holds only a few chunks however large the
    // export.
    let (tx, rx) = std::sync::mpsc::sync_channel::<Chunk>(pool.current_num_threads() * 2);
    let (spare_tx, spare_rx) =
        std::sync::mpsc::sync_channel::<Vec<u8>>(pool.current_num_threads() * 2 + 2);
    let spare_rx = Mutex::new(spare_rx);
    std::thread::scope(|scope| {
        scope.spawn(|| {
            for (i, f) in files.iter().enumerate().filter(|(i, _)| !positional[*i]) {
                let spare = || spare_rx.lock().ok().and_then(|r| r.try_recv().ok());
                let r = chunks(f, i, &spare, &mut |c| tx.send(c).is_ok());
                if let Err(e) = r {
                    fail(e);
                    break;
                }
            }
            drop(tx);
        });
        pool.install(|| {
            rx.into_iter().par_bridge().for_each(|chunk| {
                let mut part = Partial::default();
                process(&ctx, chunk.file, chunk.offset, &chunk.bytes, &mut part);
                fold_in(part, chunk.bytes.len() as u64);
                // Hand the buffer back for the next chunk; if the reader has enough, drop it.
                let _ = spare_tx.try_send(chunk.bytes);
            });
        });
    });
    if let Some(e) = read_error.into_inner().ok().flatten() {
        return Err(e);
    }
    let mut folded = folded.into_inner().unwrap_or_default();
    let mut timings = std::collections::BTreeMap::new();
    timings.insert("1 read and map lines".to_owned(), started.elapsed().as_secs_f64());
    let phase = std::time::Instant::now();

    // Requests that reference a Medication in another file.
    let pending = std::mem::take(&mut folded.pending);
    let mut late = Partial::default();
    for (key, request, _place) in pending {
        let reference = request
            .get("medicationReference")
            .and_then(|m| m.get("reference"))
            .and_then(Value::as_str)
            .unwrap_or("");
        let id = reference.rsplit('/').next().unwrap_or("").trim_start_matches("urn:uuid:");
        let entries: Vec<Value> = folded
            .medications
            .get(id)
            .map(|m| {
                let mut m = m.clone();
                // Let the Bundle resolve the reference however it was written.
                vec![serde_json::json!({ "fullUrl": reference, "resource": m.take() })]
            })
            .unwrap_or_default();
        let mut entries = entries;
        entries.push(serde_json::json!({ "resource": request }));
        let bundle =
            serde_json::json!({ "resourceType": "Bundle", "type": "collection", "entry": entries });
        map_into(&ctx, key, &bundle, false, &mut late);
    }
    late.acc.lines = 0;
    fold(&mut folded, late, opts.as_of);

    // Lines attributed to a patient id that never had a Patient resource are orphaned.
    let orphans: Vec<Box<str>> =
        folded.patients.iter().filter(|(_, s)| !s.seen_patient).map(|(k, _)| k.clone()).collect();
    for k in orphans {
        if let Some(s) = folded.patients.remove(&k) {
            let n = u64::from(s.lines);
            folded.acc.orphaned += n;
            folded.acc.used = folded.acc.used.saturating_sub(n);
        }
    }

    resolve_samples(&mut folded.acc, &files);
    if opts.strict && folded.acc.malformed > 0 {
        let first = folded
            .acc
            .malformed_samples
            .iter()
            .next()
            .map(|(k, v)| format!("{}: {k}", v.first().cloned().unwrap_or_default()))
            .unwrap_or_default();
        return Err(ScreenError::Malformed { count: folded.acc.malformed, first });
    }

    timings.insert("2 resolve references, orphans".to_owned(), phase.elapsed().as_secs_f64());
    let phase = std::time::Instant::now();
    // Assess every patient with the same engine as `assess`, in a deterministic order.
    let mut keys: Vec<&Box<str>> = folded.patients.keys().collect();
    keys.sort();
    let rls_set = Some(folded.ids.id("rls"));
    let ids = &folded.ids;
    let acc = std::mem::take(&mut folded.acc);
    let mut summary = Summary::new(opts, kb, acc, files.len(), total);
    let mut written = 0u64;
    // Assess and write in batches, so memory holds one batch of rows, not all of them.
    const BATCH: usize = 512;
    write_atomically(out, |w| {
        let mut rw = RowWriter::new(w, opts.format)?;
        for batch in keys.chunks(BATCH) {
            let rows: Vec<Row> = pool.install(|| {
                batch
                    .par_iter()
                    .map(|k| {
                        let st = &folded.patients[*k];
                        let rec = st.to_record(ids, rls_set);
                        let a = restless_engine::assess_with(
                            kb,
                            &rec,
                            opts.as_of,
                            restless_engine::AssessOptions::screen(),
                        );
                        Row::new(k, &a, kb, st.deceased(), |analyte| st.tested(analyte, ids))
                    })
                    .collect()
            });
            for r in &rows {
                summary.add(r, kb);
                if !opts.only_rls || r.rls {
                    rw.write(r)?;
                    written += 1;
                }
            }
        }
        rw.finish()
    })?;
    summary.rows_written = written;
    timings.insert("3 assess patients and write".to_owned(), phase.elapsed().as_secs_f64());
    summary.seconds = started.elapsed().as_secs_f64();
    summary.timings = timings;
    Ok(summary)
}

/// Writes a file beside its final path and renames it into place when complete, so a killed
/// run never leaves a partial file at `path`.
pub(crate) fn write_atomically(
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> std::io::Result<()>,
) -> Result<(), ScreenError> {
    let io = |source| ScreenError::Io { path: path.to_path_buf(), source };
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let mut tmp = tempfile::Builder::new()
        .prefix(".restless-")
        .suffix(".partial")
        .tempfile_in(dir)
        .map_err(io)?;
    {
        // 64 KiB: large enough for few write calls; a larger buffer only grows the resident
        // memory with the size of the output until it is full.
        let mut w = std::io::BufWriter::with_capacity(64 << 10, tmp.as_file_mut());
        write(&mut w).map_err(io)?;
        w.flush().map_err(io)?;
    }
    tmp.as_file().sync_all().map_err(io)?;
    tmp.persist(path).map_err(|e| io(e.error))?;
    Ok(())
}
