//! Unit spelling: one normal form for the many ways labs and people write a unit.
//!
//! Only spelling is normalised here (case, micro signs, `mcg`, UCUM brackets and braces, white
//! space). Which units an analyte accepts, and the factors between them, are knowledge-base
//! data (`labs.toml`).

/// The normal form of a unit string: lower case, `µ`/`μ`/`mc` as `u`, no spaces, brackets,
/// braces or underscores (`m[IU]/L` -> `miu/l`, `mL/min/{1.73_m2}` -> `ml/min/1.73m2`).
#[must_use]
pub fn normalise_unit(unit: &str) -> String {
    let mut s = String::with_capacity(unit.len());
    for ch in unit.trim().chars() {
        match ch {
            'µ' | 'μ' => s.push('u'),
            '[' | ']' | '{' | '}' | '_' | ' ' | '\u{a0}' => {}
            '²' => s.push('2'),
            c if c.is_ascii() => s.push(c.to_ascii_lowercase()),
            c => s.extend(c.to_lowercase()),
        }
    }
    // "ml/min/1.73m^2" and "ml/min/1.73 m2" both end as "ml/min/1.73m2". In this order; most
    // units contain none of these, and are then not copied again.
    for (from, to) in
        [("mcg", "ug"), ("mcmol", "umol"), ("per", "/"), ("litre", "l"), ("liter", "l"), ("^", "")]
    {
        if s.contains(from) {
            s = s.replace(from, to);
        }
    }
    s
}

/// `unit` trimmed, when that is already its normal form but for ASCII case (the normal form is
/// then its ASCII lower case): plain ASCII without a character [`normalise_unit`] drops and
/// without a spelling it replaces. Lets a unit be compared without building its normal form.
#[must_use]
pub(crate) fn plain_unit(unit: &str) -> Option<&str> {
    let t = unit.trim();
    let b = t.as_bytes();
    if !b
        .iter()
        .all(|c| c.is_ascii() && !matches!(c, b'[' | b']' | b'{' | b'}' | b'_' | b' ' | b'^'))
    {
        return None;
    }
    // What the replaced spellings begin with: `mc` (mcg, mcmol), `per`, `lit` (litre, liter).
    let has = |pat: &[u8]| b.windows(pat.len()).any(|w| w.eq_ignore_ascii_case(pat));
    (!has(b"mc") && !has(b"per") && !has(b"lit")).then_some(t)
}

/// Splits `"75 ng/mL"` into `(75.0, "ng/mL")`; `None` when there is no leading number.
#[must_use]
pub fn split_quantity(text: &str) -> Option<(f64, &str)> {
    let text = text.trim();
    let end = text
        .char_indices()
        .find(|&(i, c)| !(c.is_ascii_digit() || c == '.' || (i == 0 && (c == '-' || c == '+'))))
        .map_or(text.len(), |(i, _)| i);
    let value: f64 = text[..end].parse().ok()?;
    value.is_finite().then_some((value, text[end..].trim()))
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    proptest! {
        /// A plain unit's normal form is its ASCII lower case; units that are not plain include
        /// every one whose normal form differs from that.
        #[test]
        fn a_plain_unit_is_its_own_normal_form(unit in "[ a-zA-Z0-9/%.^_{}\\[\\]µμ²\u{a0}\t*-]{0,12}|[mMcCgGpPeErRlLiItT/ ]{0,10}") {
            let normal = normalise_unit(&unit);
            if normal != unit.trim().to_ascii_lowercase() {
                prop_assert!(plain_unit(&unit).is_none());
            }
            if let Some(plain) = plain_unit(&unit) {
                prop_assert_eq!(plain.to_ascii_lowercase(), normal);
            }
        }
    }

    #[test]
    fn plain_units() {
        assert_eq!(plain_unit(" ng/mL "), Some("ng/mL"));
        assert_eq!(plain_unit("%"), Some("%"));
        for not in ["mcg/L", "MCMOL/l", "g/litre", "per day", "m[IU]/L", "µg/L", "m^2", "1_000"] {
            assert_eq!(plain_unit(not), None, "{not}");
        }
    }

    #[test]
    fn spellings_meet() {
        assert_eq!(normalise_unit("ng/mL"), normalise_unit("ng/ml"));
        assert_eq!(normalise_unit("µg/L"), normalise_unit("mcg/L"));
        assert_eq!(normalise_unit("ug/L"), "ug/l");
        assert_eq!(normalise_unit("m[IU]/L"), "miu/l");
        assert_eq!(normalise_unit("mL/min/{1.73_m2}"), "ml/min/1.73m2");
        assert_eq!(normalise_unit("mL/min/1.73 m²"), "ml/min/1.73m2");
        assert_eq!(normalise_unit("µmol/L"), "umol/l");
        assert_eq!(normalise_unit("mEq/L"), "meq/l");
    }

    #[test]
    fn quantities_split() {
        assert_eq!(split_quantity("75 ng/mL"), Some((75.0, "ng/mL")));
        assert_eq!(split_quantity("1.7mg/dL"), Some((1.7, "mg/dL")));
        assert_eq!(split_quantity("18"), Some((18.0, "")));
        assert_eq!(split_quantity("ng/mL"), None);
    }
}
