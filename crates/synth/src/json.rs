//! Writing JSON text by hand into a reused buffer: the export is gigabytes, and building
//! `serde_json::Value`s for every line would cost more than the writing itself.

use chrono::{Datelike, NaiveDate};

/// Appends formatted text to a `String` (writing to a `String` cannot fail).
macro_rules! w {
    ($buf:expr, $($arg:tt)*) => {{
        use ::std::fmt::Write as _;
        let _ = $buf.write_fmt(format_args!($($arg)*));
    }};
}
pub(crate) use w;

fn two(buf: &mut String, n: u32) {
    buf.push(char::from(b'0' + (n / 10 % 10) as u8));
    buf.push(char::from(b'0' + (n % 10) as u8));
}

/// `2025-03-01`
pub(crate) fn date(buf: &mut String, d: NaiveDate) {
    let y = d.year().clamp(0, 9999) as u32;
    two(buf, y / 100);
    two(buf, y % 100);
    buf.push('-');
    two(buf, d.month());
    buf.push('-');
    two(buf, d.day());
}

/// A moment of a visit: a day, seconds after midnight and a UTC offset as written.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Moment {
    pub day: NaiveDate,
    pub secs: u32,
    pub tz: &'static str,
}

impl Moment {
    pub(crate) fn plus_secs(self, s: u32) -> Moment {
        Moment { secs: (self.secs + s).min(86_399), ..self }
    }
}

/// `2025-03-01T09:14:07`: the day and time of a moment, without its offset.
fn date_time(buf: &mut String, m: Moment) {
    date(buf, m.day);
    buf.push('T');
    two(buf, m.secs / 3600);
    buf.push(':');
    two(buf, m.secs / 60 % 60);
    buf.push(':');
    two(buf, m.secs % 60);
}

/// `2025-03-01T09:14:07-05:00`
pub(crate) fn moment(buf: &mut String, m: Moment) {
    date_time(buf, m);
    buf.push_str(m.tz);
}

/// `2025-03-01T09:14:07.084-05:00`, the form Synthea gives `issued`.
pub(crate) fn instant(buf: &mut String, m: Moment, millis: u32) {
    date_time(buf, m);
    buf.push('.');
    buf.push(char::from(b'0' + (millis / 100 % 10) as u8));
    two(buf, millis % 100);
    buf.push_str(m.tz);
}

/// A number with a fixed count of decimals; the text is what a reader gets back exactly.
pub(crate) fn num(buf: &mut String, v: f64, decimals: usize) {
    w!(buf, "{v:.decimals$}");
}

/// The value a reader parses back from `num(v, decimals)`.
pub(crate) fn rounded(v: f64, decimals: usize) -> f64 {
    format!("{v:.decimals$}").parse().unwrap_or(v)
}

/// A JSON string body: escapes quotes, backslashes and control characters. Table strings that
/// already hold a JSON escape (`\u00e9`) are written through `raw` instead.
pub(crate) fn esc(buf: &mut String, s: &str) {
    if !s.bytes().any(|b| b == b'"' || b == b'\\' || b < 0x20) {
        buf.push_str(s);
        return;
    }
    for c in s.chars() {
        match c {
            '"' => buf.push_str("\\\""),
            '\\' => buf.push_str("\\\\"),
            c if (c as u32) < 0x20 => w!(buf, "\\u{:04x}", c as u32),
            c => buf.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_and_moments() {
        let mut b = String::new();
        let d = NaiveDate::from_ymd_opt(2025, 3, 1).unwrap_or_default();
        moment(&mut b, Moment { day: d, secs: 9 * 3600 + 14 * 60 + 7, tz: "-05:00" });
        assert_eq!(b, "2025-03-01T09:14:07-05:00");
        b.clear();
        instant(&mut b, Moment { day: d, secs: 0, tz: "Z" }, 84);
        assert_eq!(b, "2025-03-01T00:00:00.084Z");
    }

    #[test]
    fn numbers_round_trip() {
        let mut b = String::new();
        num(&mut b, 22.449, 1);
        assert_eq!(b, "22.4");
        assert!((rounded(22.449, 1) - 22.4).abs() < 1e-12);
    }

    #[test]
    fn escaping() {
        let mut b = String::new();
        esc(&mut b, "a\"b\\c\n");
        assert_eq!(b, "a\\\"b\\\\c\\u000a");
    }
}
