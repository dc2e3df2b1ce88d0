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
pub(crate) const CHUNK: usize = 4 << 20;

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

/// A byte range of a regular file, read by the worker that processes it (see [`read_range`]).
pub(crate) struct Range {
    /// Index of the file in the input list.
    pub file: usize,
    /// First byte of the range; the line that straddles it belongs to the range before.
    pub start: u64,
    /// End of the range; the line that straddles it belongs to this range.
    pub end: u64,
}

/// Whether a file can be read by position: a regular, uncompressed file. Compressed files and
/// pipes are read front to back by one reader thread instead ([`chunks`]).
pub(crate) fn positional(path: &Path) -> bool {
    path.extension().is_none_or(|e| e != "gz") && std::fs::metadata(path).is_ok_and(|m| m.is_file())
}

/// Cuts every positional file into ranges of `size` bytes ([`CHUNK`] in a run).
pub(crate) fn ranges(
    files: &[PathBuf],
    positional: &[bool],
    size: u64,
) -> Result<Vec<Range>, ScreenError> {
    let mut out = Vec::new();
    for (file, path) in files.iter().enumerate() {
        if !positional[file] {
            continue;
        }
        let len = std::fs::metadata(path)
            .map_err(|source| ScreenError::Io { path: path.clone(), source })?
            .len();
        let mut start = 0;
        while start < len {
            let end = (start + size.max(1)).min(len);
            out.push(Range { file, start, end });
            start = end;
        }
    }
    Ok(out)
}

/// Size of one read inside a range: small enough that the bytes are still in the core's cache
/// when its lines are processed right after the read.
pub(crate) const PIECE: usize = 256 << 10;

/// Reads the whole lines that start in `range` (the first partial line is the previous
/// range's; the last line is finished past the end) in cache-sized pieces, calling
/// `lines(offset, bytes)` with runs of whole lines and their offset in the file. The worker
/// that processes a range reads it, so the copy out of the page cache is spread over the cores
/// and its bytes are processed while they are hot.
pub(crate) fn read_range(
    f: &File,
    path: &Path,
    range: &Range,
    piece: usize,
    buf: &mut Vec<u8>,
    lines: &mut dyn FnMut(u64, &[u8]),
) -> Result<(), ScreenError> {
    let piece = piece.max(1);
    use std::os::unix::fs::FileExt;
    let io = |source| ScreenError::Io { path: path.to_path_buf(), source };
    // `buf[..len]` holds unprocessed bytes; `base` is the file offset of `buf[0]` and `pos`
    // where the next read starts. The buffer is only grown, never cleared, so reads do not pay
    // for zeroing it.
    let mut len = 0;
    let mut pos = range.start.saturating_sub(1);
    let mut base = pos;
    // A range that does not start the file begins after the first newline at or after
    // `start - 1`: the line before it is the previous range's.
    let mut seeking = range.start > 0;
    loop {
        if buf.len() < len + piece {
            buf.resize(len + piece, 0);
        }
        let got = loop {
            match f.read_at(&mut buf[len..len + piece], pos) {
                Ok(n) => break n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(io(e)),
            }
        };
        len += got;
        pos += got as u64;
        let eof = got == 0;
        if seeking {
            let Some(nl) = memchr::memchr(b'\n', &buf[..len]) else {
                if eof {
                    return Ok(());
                }
                base += len as u64;
                len = 0;
                continue;
            };
            base += nl as u64 + 1;
            buf.copy_within(nl + 1..len, 0);
            len -= nl + 1;
            seeking = false;
            if base >= range.end {
                return Ok(());
            }
        }
        let data = &buf[..len];
        // Whole lines read so far (at the end of the file, the last line needs no newline).
        let complete = if eof { len } else { memchr::memrchr(b'\n', data).map_or(0, |i| i + 1) };
        let (cut, done) = if base + complete as u64 >= range.end {
            // The line holding the range's last byte is its last line; the next starts the
            // next range.
            let last = usize::try_from(range.end - base - 1).unwrap_or(0).min(complete);
            let cut =
                memchr::memchr(b'\n', &data[last..complete]).map_or(complete, |i| last + i + 1);
            (cut, true)
        } else {
            (complete, eof)
        };
        if cut > 0 {
            lines(base, &data[..cut]);
        }
        if done {
            return Ok(());
        }
        base += cut as u64;
        buf.copy_within(cut..len, 0);
        len -= cut;
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Every line of a file, with its offset, read through ranges of `size` bytes and reads of
    /// `piece` bytes.
    fn lines_by_ranges(text: &[u8], size: u64, piece: usize) -> Vec<(u64, Vec<u8>)> {
        let dir = tempfile::tempdir().expect("temporary folder");
        let path = dir.path().join("x.ndjson");
        std::fs::write(&path, text).expect("write");
        let files = vec![path.clone()];
        let f = File::open(&path).expect("open");
        let mut out = Vec::new();
        let mut buf = Vec::new();
        for r in ranges(&files, &[true], size).expect("ranges") {
            read_range(&f, &path, &r, piece, &mut buf, &mut |offset, bytes| {
                let body = bytes.strip_suffix(b"\n").unwrap_or(bytes);
                let mut at = offset;
                for line in body.split(|b| *b == b'\n') {
                    out.push((at, line.to_vec()));
                    at += line.len() as u64 + 1;
                }
            })
            .expect("read");
        }
        out
    }

    fn lines_of(text: &[u8]) -> Vec<(u64, Vec<u8>)> {
        let body = text.strip_suffix(b"\n").unwrap_or(text);
        let mut at = 0;
        let mut out = Vec::new();
        if text.is_empty() {
            return out;
        }
        for line in body.split(|b| *b == b'\n') {
            out.push((at, line.to_vec()));
            at += line.len() as u64 + 1;
        }
        out
    }

    #[test]
    fn a_range_ending_on_a_newline_leaves_the_next_line_to_the_next_range() {
        // Range size 4 ends exactly after "abc\n".
        assert_eq!(lines_by_ranges(b"abc\ndef\n", 4, 2), lines_of(b"abc\ndef\n"));
        assert_eq!(lines_by_ranges(b"abc\ndef", 3, 1), lines_of(b"abc\ndef"));
        assert_eq!(lines_by_ranges(b"\n\n\nx", 1, 1), lines_of(b"\n\n\nx"));
    }

    proptest! {
        /// However the file is cut into ranges and reads, every line arrives once, whole, in
        /// order, at its offset.
        #[test]
        fn ranges_deliver_every_line_once(
            lines in proptest::collection::vec("[a-z]{0,40}", 0..40),
            final_newline in any::<bool>(),
            size in 1u64..64,
            piece in 1usize..32,
        ) {
            let mut text = lines.join("\n").into_bytes();
            if final_newline && !text.is_empty() {
                text.push(b'\n');
            }
            prop_assert_eq!(lines_by_ranges(&text, size, piece), lines_of(&text));
        }
    }
}
