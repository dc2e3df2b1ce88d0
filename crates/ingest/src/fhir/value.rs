//! FHIR datatypes as restless needs them: dates of any precision, codings, quantities and
//! numbers written as strings.

use restless_facts::{Cmp, Date};
use serde_json::Value;

/// The code systems restless reads, by URI.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum System {
    Icd10Cm,
    Icd10,
    Snomed,
    Loinc,
    RxNorm,
    Atc,
    Ndc,
    Other,
}

pub(crate) fn system(uri: &str) -> System {
    match uri.trim().trim_end_matches('/') {
        "http://hl7.org/fhir/sid/icd-10-cm" | "urn:oid:2.16.840.1.113883.6.90" => System::Icd10Cm,
        "http://hl7.org/fhir/sid/icd-10" | "urn:oid:2.16.840.1.113883.6.3" => System::Icd10,
        "http://snomed.info/sct" | "urn:oid:2.16.840.1.113883.6.96" => System::Snomed,
        "http://loinc.org" | "urn:oid:2.16.840.1.113883.6.1" => System::Loinc,
        "http://www.nlm.nih.gov/research/umls/rxnorm" | "urn:oid:2.16.840.1.113883.6.88" => {
            System::RxNorm
        }
        "http://www.whocc.no/atc" | "urn:oid:2.16.840.1.113883.6.73" => System::Atc,
        "http://hl7.org/fhir/sid/ndc" | "urn:oid:2.16.840.1.113883.6.69" => System::Ndc,
        _ => System::Other,
    }
}

/// A coding as read.
pub(crate) struct Coding<'a> {
    pub system: System,
    pub system_uri: &'a str,
    pub code: &'a str,
    pub display: Option<&'a str>,
}

/// The codings and text of a CodeableConcept (or a lone Coding, leniently).
pub(crate) fn codings(cc: Option<&Value>) -> (Vec<Coding<'_>>, Option<&str>) {
    let Some(cc) = cc else { return (Vec::new(), None) };
    let mut out = Vec::new();
    let list: Vec<&Value> = match cc.get("coding") {
        Some(Value::Array(items)) => items.iter().collect(),
        Some(one @ Value::Object(_)) => vec![one],
        _ if cc.get("code").is_some() => vec![cc],
        _ => Vec::new(),
    };
    for c in list {
        let Some(code) = c.get("code").and_then(Value::as_str) else { continue };
        let uri = c.get("system").and_then(Value::as_str).unwrap_or("");
        out.push(Coding {
            system: system(uri),
            system_uri: uri,
            code,
            display: c.get("display").and_then(Value::as_str),
        });
    }
    (out, cc.get("text").and_then(Value::as_str))
}

/// A FHIR date or dateTime of any precision, as a day (`2026`, `2026-10`, `2026-10-02`,
/// `2026-10-02T08:00:00Z`); partial dates take their first day.
pub(crate) fn date(v: Option<&Value>) -> Option<Date> {
    date_str(v?.as_str()?)
}

/// [`date`] on a string: `YYYY`, `YYYY-MM`, `YYYY-MM-DD` or a dateTime, as a day.
pub(crate) fn date_str(s: &str) -> Option<Date> {
    let s = s.trim().as_bytes();
    let num = |b: &[u8]| -> Option<u32> {
        if b.is_empty() || !b.iter().all(u8::is_ascii_digit) {
            return None;
        }
        b.iter().try_fold(0u32, |n, d| n.checked_mul(10)?.checked_add(u32::from(d - b'0')))
    };
    let year = num(s.get(..4)?)?;
    let (month, day) = match s.len() {
        4 => (1, 1),
        7 if s[4] == b'-' => (num(&s[5..7])?, 1),
        n if n >= 10 && s[4] == b'-' && s[7] == b'-' => (num(&s[5..7])?, num(&s[8..10])?),
        _ => return None,
    };
    Date::from_ymd_opt(i32::try_from(year).ok()?, month, day)
}

/// A number in a FHIR JSON value: a JSON number, or a string holding one (`"22"`).
pub(crate) fn number(v: Option<&Value>) -> Option<f64> {
    match v? {
        Value::Number(n) => n.as_f64().filter(|x| x.is_finite()),
        Value::String(s) => s.trim().parse::<f64>().ok().filter(|x| x.is_finite()),
        _ => None,
    }
}

/// A value written as text: `"<5"`, `"22 ng/mL"`, `">= 60"`: comparator, number, unit.
pub(crate) fn parse_text_value(s: &str) -> Option<(Option<Cmp>, f64, String)> {
    let s = s.trim();
    let (cmp, rest) = ["<=", ">=", "<", ">"]
        .iter()
        .find_map(|c| s.strip_prefix(c).map(|r| (Cmp::parse(c), r)))
        .unwrap_or((None, s));
    let (n, unit) = restless_kb::units::split_quantity(rest.trim())?;
    Some((cmp, n, unit.to_owned()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn dates_of_any_precision() {
        assert_eq!(date(Some(&json!("2026-10-02T08:00:00+02:00"))), "2026-10-02".parse().ok());
        assert_eq!(date(Some(&json!("2026-10"))), "2026-10-01".parse().ok());
        assert_eq!(date(Some(&json!("2026"))), "2026-01-01".parse().ok());
        assert_eq!(date(Some(&json!("yesterday"))), None);
    }

    #[test]
    fn text_values() {
        assert_eq!(parse_text_value("<5"), Some((Some(Cmp::Lt), 5.0, String::new())));
        assert_eq!(parse_text_value("22 ng/mL"), Some((None, 22.0, "ng/mL".into())));
        assert_eq!(parse_text_value(">= 60 mL/min"), Some((Some(Cmp::Ge), 60.0, "mL/min".into())));
        assert_eq!(parse_text_value("positive"), None);
    }
}
