//! Unit conversions of the knowledge base, tested in both directions against the brief's
//! factors and its worked thresholds (clinical brief §3.4).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use restless_kb::Kb;

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * b.abs().max(1e-9)
}

#[test]
fn worked_thresholds_convert_both_ways() {
    let kb = Kb::embedded().unwrap();
    let t = kb.terminology();
    // (analyte, value in conventional unit, conventional unit, value in SI, SI unit, tolerance)
    let cases = [
        ("ferritin", 75.0, "ng/mL", 75.0, "ug/L", 1e-9),
        ("ferritin", 75.0, "ng/mL", 75.0, "µg/L", 1e-9),
        ("serum-iron", 60.0, "ug/dL", 10.74, "umol/L", 0.01),
        ("b12", 200.0, "pg/mL", 148.0, "pmol/L", 0.01),
        ("magnesium", 1.7, "mg/dL", 0.70, "mmol/L", 0.01),
        ("magnesium", 1.7, "mg/dL", 1.40, "mEq/L", 0.01),
        ("magnesium", 1.6, "mg/dL", 0.66, "mmol/L", 0.01),
        ("hba1c", 6.5, "%", 48.0, "mmol/mol", 0.015),
        ("glucose-fasting", 126.0, "mg/dL", 7.0, "mmol/L", 0.01),
        ("haemoglobin", 12.0, "g/dL", 120.0, "g/L", 1e-9),
        ("haemoglobin", 12.0, "g/dL", 7.4, "mmol/L", 0.01),
        ("folate", 3.0, "ng/mL", 6.8, "nmol/L", 0.01),
        ("folate", 4.0, "ng/mL", 9.1, "nmol/L", 0.01),
        ("creatinine", 1.0, "mg/dL", 88.4, "umol/L", 1e-3),
        ("vitamin-d", 20.0, "ng/mL", 50.0, "nmol/L", 0.01),
    ];
    for (id, conv, conv_unit, si, si_unit, tol) in cases {
        let a = t.analyte(id).unwrap_or_else(|| panic!("analyte {id}"));
        let canonical_from_conv =
            a.to_canonical(conv, conv_unit).unwrap_or_else(|| panic!("{id} accepts {conv_unit}"));
        let canonical_from_si =
            a.to_canonical(si, si_unit).unwrap_or_else(|| panic!("{id} accepts {si_unit}"));
        assert!(
            close(canonical_from_si, canonical_from_conv, tol),
            "{id}: {si} {si_unit} -> {canonical_from_si}, expected about {canonical_from_conv}"
        );
        let back = a.from_canonical(canonical_from_conv, si_unit).unwrap();
        assert!(
            close(back, si, tol),
            "{id}: {conv} {conv_unit} -> {back} {si_unit}, expected about {si}"
        );
        let there_and_back =
            a.from_canonical(a.to_canonical(si, si_unit).unwrap(), si_unit).unwrap();
        assert!(
            close(there_and_back, si, 0.011),
            "{id}: round trip of {si} {si_unit} gave {there_and_back}"
        );
    }
}

#[test]
fn every_conversion_round_trips() {
    let kb = Kb::embedded().unwrap();
    for a in kb.terminology().analytes() {
        for c in &a.conversions {
            for v in [0.5, 1.0, 7.3, 100.0] {
                let canonical = a.to_canonical(v, &c.unit).unwrap();
                let back = a.from_canonical(canonical, &c.unit).unwrap();
                // The brief's factors for the two directions agree to about 1 %.
                assert!(close(back, v, 0.011), "{} {}: {v} -> {canonical} -> {back}", a.id, c.unit);
            }
        }
    }
}

#[test]
fn unknown_units_are_refused_not_guessed() {
    let kb = Kb::embedded().unwrap();
    let ferritin = kb.terminology().analyte("ferritin").unwrap();
    assert_eq!(ferritin.to_canonical(30.0, "mmol/L"), None);
    assert_eq!(ferritin.to_canonical(30.0, ""), None);
    let egfr = kb.terminology().analyte("egfr").unwrap();
    assert!(
        egfr.accepts("mL/min/{1.73_m2}")
            && egfr.accepts("mL/min/1.73m2")
            && egfr.accepts("mL/min/1.73 m²")
    );
}
