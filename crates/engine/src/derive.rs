//! Facts computed from other facts: age at the as-of date, transferrin saturation from serum
//! iron and TIBC, and eGFR from creatinine (CKD-EPI 2021, race-free).

use restless_facts::{Bound, Date, LabResult, PatientRecord, Provenance, Sex, age_on};

/// What derivation adds to a record.
#[derive(Debug, Default)]
pub(crate) struct Derived {
    /// Age in whole years at as-of and where it came from.
    pub age: Option<(u32, Provenance)>,
    /// Lab results computed by restless.
    pub labs: Vec<LabResult>,
}

pub(crate) fn derive(record: &PatientRecord, as_of: Date) -> Derived {
    // A person recorded as deceased ages no further than the date of death.
    let until = match &record.deceased {
        Some((Some(death), _)) if *death < as_of => *death,
        _ => as_of,
    };
    let age = match &record.birth_date {
        Some((birth, src)) => age_on(*birth, until).map(|a| (a, src.clone())),
        None => record.age.clone(),
    };
    let mut labs = Vec::new();
    derive_tsat(record, as_of, &mut labs);
    derive_egfr(record, as_of, age.as_ref().map(|a| a.0), &mut labs);
    Derived { age, labs }
}

fn exact(l: &LabResult) -> Option<f64> {
    (l.value.comparator.is_none() && l.value.value.is_finite()).then_some(l.value.value)
}

/// TSAT (%) = serum iron / TIBC × 100 for each same-day pair, where no TSAT was reported that day.
fn derive_tsat(record: &PatientRecord, as_of: Date, out: &mut Vec<LabResult>) {
    fn of<'r>(
        record: &'r PatientRecord,
        id: &'static str,
        as_of: Date,
    ) -> impl Iterator<Item = &'r LabResult> {
        record.labs.iter().filter(move |l| &*l.analyte == id && l.date.is_some_and(|d| d <= as_of))
    }
    for tibc in of(record, "tibc", as_of) {
        let Some(day) = tibc.date else { continue };
        if of(record, "tibc", as_of).any(|o| {
            o.date == Some(day) && o.source < tibc.source && exact(o).is_some_and(|c| c > 0.0)
        }) {
            continue; // another usable TIBC that day comes first by source: the input order never decides
        }
        if of(record, "transferrin-saturation", as_of).any(|t| t.date == Some(day))
            || out.iter().any(|t| t.date == Some(day))
        {
            continue;
        }
        let Some(iron) = of(record, "serum-iron", as_of)
            .filter(|i| i.date == Some(day))
            .min_by(|a, b| a.source.cmp(&b.source))
        else {
            continue;
        };
        let (Some(fe), Some(cap)) = (exact(iron), exact(tibc)) else { continue };
        if cap <= 0.0 || fe < 0.0 {
            continue;
        }
        let pct = fe / cap * 100.0;
        out.push(LabResult {
            analyte: "transferrin-saturation".into(),
            value: Bound::exact(pct),
            as_read: format!(
                "{pct:.0} % (calculated: iron {} / TIBC {} × 100)",
                iron.as_read, tibc.as_read
            ),
            date: Some(day),
            source: Provenance::new(format!(
                "derived:{}+{}",
                iron.source.source, tibc.source.source
            )),
            derived: true,
        });
    }
}

/// CKD-EPI 2021 creatinine equation (Inker et al., NEJM 2021), for adults with a known sex,
/// from the latest creatinine when no eGFR was reported on or after that day.
fn derive_egfr(record: &PatientRecord, as_of: Date, age: Option<u32>, out: &mut Vec<LabResult>) {
    let (Some(age), Some((sex, _))) = (age, &record.sex) else { return };
    if age < 18 {
        return;
    }
    let (kappa, alpha, female_factor) = match sex {
        Sex::Female => (0.7, -0.241, 1.012),
        Sex::Male => (0.9, -0.302, 1.0),
        Sex::Other => return,
    };
    let latest = record
        .labs
        .iter()
        .filter(|l| &*l.analyte == "creatinine" && l.date.is_some_and(|d| d <= as_of))
        .max_by(|a, b| a.date.cmp(&b.date).then_with(|| b.source.cmp(&a.source)));
    let Some(scr) = latest else { return };
    let Some(value) = exact(scr) else { return };
    if value <= 0.0 {
        return;
    }
    let reported_since = record
        .labs
        .iter()
        .any(|l| &*l.analyte == "egfr" && l.date >= scr.date && l.date.is_some_and(|d| d <= as_of));
    if reported_since {
        return;
    }
    let r = value / kappa;
    let egfr = 142.0
        * r.min(1.0).powf(alpha)
        * r.max(1.0).powf(-1.200)
        * 0.9938f64.powf(f64::from(age))
        * female_factor;
    out.push(LabResult {
        analyte: "egfr".into(),
        value: Bound::exact(egfr),
        as_read: format!(
            "{egfr:.0} mL/min/1.73m2 (CKD-EPI 2021 from creatinine {}, age {age}, {})",
            scr.as_read,
            sex.name()
        ),
        date: scr.date,
        source: Provenance::new(format!("derived:{}", scr.source.source)),
        derived: true,
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lab(analyte: &str, v: f64, date: &str, src: &str) -> LabResult {
        LabResult {
            analyte: analyte.into(),
            value: Bound::exact(v),
            as_read: format!("{v}"),
            date: Some(date.parse().unwrap()),
            source: Provenance::new(src),
            derived: false,
        }
    }

    fn as_of() -> Date {
        "2026-11-27".parse().unwrap()
    }

    #[test]
    fn tsat_is_iron_over_tibc_on_the_same_day() {
        let rec = PatientRecord {
            labs: vec![
                lab("serum-iron", 50.0, "2026-10-01", "a"),
                lab("tibc", 400.0, "2026-10-01", "b"),
                lab("tibc", 300.0, "2026-09-01", "c"),
            ],
            ..PatientRecord::default()
        };
        let d = derive(&rec, as_of());
        assert_eq!(d.labs.len(), 1, "only the same-day pair gives a TSAT");
        assert!((d.labs[0].value.value - 12.5).abs() < 1e-9);
    }

    #[test]
    fn reported_tsat_wins_over_calculation() {
        let rec = PatientRecord {
            labs: vec![
                lab("serum-iron", 50.0, "2026-10-01", "a"),
                lab("tibc", 400.0, "2026-10-01", "b"),
                lab("transferrin-saturation", 14.0, "2026-10-01", "c"),
            ],
            ..PatientRecord::default()
        };
        assert!(derive(&rec, as_of()).labs.is_empty());
    }

    #[test]
    fn egfr_matches_ckd_epi_2021_reference_values() {
        // Worked values of the 2021 equation: creatinine 1.0 mg/dL, 50 years.
        let mut rec = PatientRecord {
            labs: vec![lab("creatinine", 1.0, "2026-10-01", "a")],
            age: Some((50, Provenance::new("q"))),
            ..PatientRecord::default()
        };
        rec.sex = Some((Sex::Male, Provenance::new("q")));
        let male = derive(&rec, as_of()).labs[0].value.value;
        rec.sex = Some((Sex::Female, Provenance::new("q")));
        let female = derive(&rec, as_of()).labs[0].value.value;
        // 142 × (1.0/0.9)^-1.2 × 0.9938^50 ≈ 91.7; female 142 × (1/0.7)^-1.2 × 0.9938^50 × 1.012 ≈ 68.6
        // (the NKF online calculator gives 91 and 68 for the same person).
        assert!((male - 91.7).abs() < 0.1, "male eGFR {male}");
        assert!((female - 68.6).abs() < 0.1, "female eGFR {female}");
    }

    #[test]
    fn no_egfr_without_age_and_sex_or_for_children() {
        let rec = PatientRecord {
            labs: vec![lab("creatinine", 1.0, "2026-10-01", "a")],
            ..PatientRecord::default()
        };
        assert!(derive(&rec, as_of()).labs.is_empty());
        let child = PatientRecord {
            labs: vec![lab("creatinine", 0.5, "2026-10-01", "a")],
            age: Some((10, Provenance::new("q"))),
            sex: Some((Sex::Male, Provenance::new("q"))),
            ..PatientRecord::default()
        };
        assert!(derive(&child, as_of()).labs.is_empty());
    }
}
