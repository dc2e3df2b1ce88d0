//! Finding the export's files and cutting them into chunks of whole lines.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use crate::ScreenError;

/// Every `.ndjson` and `.ndjson.gz` file given or found (recursively) in the given folders,
/// sorted for a deterministic order.
///
/// # Errors
/// A path that cannot be read.
pub fn discover(inputs: &[PathBuf]) -> Result<Vec<PathBuf>, ScreenError> {
    let mut out = Vec::new();
    for p in inputs {
        walk(p, &mut out, true)?;
    }
    out.sort();
    out.dedup();
    Ok(out)
}

fn is_export_file(p: &Path) -> bool {
    let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
    name.ends_with(".ndjson") || name.ends_with(".ndjson.gz")
}

fn walk(p: &Path, out: &mut Vec<PathBuf>, given: bool) -> Result<(), ScreenError> {
    let meta =
        std::fs::metadata(p).map_err(|source| ScreenError::Io { path: p.to_path_buf(), source })?;
    if meta.is_dir() {
        let entries = std::fs::read_dir(p)
            .map_err(|source| ScreenError::Io { path: p.to_path_buf(), source })?;
        for e in entries {
            let e = e.map_err(|source| ScreenError::Io { path: p.to_path_buf(), source })?;
            walk(&e.path(), out, false)?;
        }
    } else if is_export_file(p) || (given && meta.is_file()) {
        out.push(p.to_path_buf());
    }
    Ok(())
}

/// A run of whole lines from one file.
pub(crate) struct Chunk {
    /// Index of the file in the input list.
    pub file: usize,
    /// Byte offset of the chunk in its (decompressed) file.
    pub offset: u64,
    /// The bytes: whole lines, the last one possibly without its newline at end of file.
    pub bytes: Vec<u8>,
}

/// Target size of a chunk: large enough to amortise scheduling, small enough to spread work.
const CHUNK: usize = 4 << 20;

/// Reads a file (decompressing `.gz`) and hands out chunks of whole lines to `sink`, which
/// returns `false` to stop early.
pub(crate) fn chunks(
    path: &Path,
    file: usize,
    spare: &dyn Fn() -> Option<Vec<u8>>,
    sink: &mut dyn FnMut(Chunk) -> bool,
) -> Result<(), ScreenError> {
    let io = |source| ScreenError::Io { path: path.to_path_buf(), source };
    let f = File::open(path).map_err(io)?;
    let mut reader: Box<dyn Read> = if path.extension().is_some_and(|e| e == "gz") {
        Box::new(flate2::read::MultiGzDecoder::new(BufReader::with_capacity(1 << 20, f)))
    } else {
        Box::new(f)
    };
    let mut carry: Vec<u8> = Vec::new();
    let mut offset: u64 = 0;
    loop {
        // Reuse a buffer the workers are done with: a fresh 4 MB allocation costs page faults.
        let mut buf = spare().unwrap_or_default();
        buf.clear();
        buf.extend_from_slice(&carry);
        carry.clear();
        buf.reserve(CHUNK);
        // `take` + `read_to_end` fills the buffer without zeroing it first.
        let got = (&mut reader).take(CHUNK as u64).read_to_end(&mut buf).map_err(io)?;
        let eof = got < CHUNK;
        if buf.is_empty() {
            return Ok(());
        }
        let cut =
            if eof { buf.len() } else { memchr::memrchr(b'\n', &buf).map_or(buf.len(), |i| i + 1) };
        carry = buf.split_off(cut);
        let len = buf.len() as u64;
        let chunk = Chunk { file, offset, bytes: buf };
        offset += len;
        if !sink(chunk) {
            return Ok(());
        }
        if eof && carry.is_empty() {
            return Ok(());
        }
    }
}

/// The 1-based line number of the line starting at `offset` in a file (decompressed for `.gz`).
pub(crate) fn line_at(path: &Path, offset: u64) -> std::io::Result<u64> {
    let f = File::open(path)?;
    let reader: Box<dyn Read> = if path.extension().is_some_and(|e| e == "gz") {
        Box::new(flate2::read::MultiGzDecoder::new(BufReader::new(f)))
    } else {
        Box::new(f)
    };
    let mut limited = reader.take(offset);
    let mut buf = vec![0u8; 1 << 20];
    let mut newlines = 0u64;
    loop {
        let n = limited.read(&mut buf)?;
        if n == 0 {
            return Ok(newlines + 1);
        }
        newlines += memchr::memchr_iter(b'\n', &buf[..n]).count() as u64;
    }
}
