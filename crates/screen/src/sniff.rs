//! Reading what a line is without parsing it: its resource type, and for Observations whether
//! any LOINC code restless uses appears in it.

/// The kinds of line the screen distinguishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Patient,
    Observation,
    Condition,
    MedicationRequest,
    /// Other types that give facts (statements, administrations, dispenses, family history).
    Clinical,
    Medication,
    Irrelevant,
    Unknown,
}

/// The value of the first `"resourceType"` key of a JSON line, without parsing the line.
pub(crate) fn resource_type(line: &[u8]) -> Option<&[u8]> {
    static FINDER: std::sync::LazyLock<memchr::memmem::Finder<'static>> =
        std::sync::LazyLock::new(|| memchr::memmem::Finder::new(b"\"resourceType\""));
    let at = FINDER.find(line)?;
    let rest = &line[at + 14..];
    let colon = rest.iter().position(|&b| b == b':')?;
    if !rest[..colon].iter().all(u8::is_ascii_whitespace) {
        return None;
    }
    let rest = &rest[colon + 1..];
    let open = rest.iter().position(|&b| !b.is_ascii_whitespace())?;
    if rest[open] != b'"' {
        return None;
    }
    let value = &rest[open + 1..];
    let close = memchr::memchr(b'"', value)?;
    Some(&value[..close])
}

pub(crate) fn kind(line: &[u8]) -> Kind {
    match resource_type(line) {
        None => Kind::Unknown,
        Some(b"Patient") => Kind::Patient,
        Some(b"Observation") => Kind::Observation,
        Some(b"Condition") => Kind::Condition,
        Some(b"MedicationRequest") => Kind::MedicationRequest,
        Some(
            b"MedicationStatement"
            | b"MedicationAdministration"
            | b"MedicationDispense"
            | b"FamilyMemberHistory",
        ) => Kind::Clinical,
        Some(b"Medication") => Kind::Medication,
        Some(_) => Kind::Irrelevant,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resource_types_are_read_without_parsing() {
        assert_eq!(
            resource_type(br#"{"resourceType":"Observation","id":"1"}"#),
            Some(&b"Observation"[..])
        );
        assert_eq!(
            resource_type(br#"{ "id": "1", "resourceType" : "Patient" }"#),
            Some(&b"Patient"[..])
        );
        assert_eq!(resource_type(br#"{"id":"1"}"#), None);
        assert_eq!(kind(br#"{"resourceType":"Claim"}"#), Kind::Irrelevant);
        assert_eq!(kind(br#"{"resourceType":"MedicationRequest"}"#), Kind::MedicationRequest);
        assert_eq!(kind(br#"{"resourceType":"MedicationStatement"}"#), Kind::Clinical);
    }
}
