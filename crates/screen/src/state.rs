//! Compact per-patient state: only what the engine needs to reach the same findings as
//! `assess`, without the provenance strings a report would show.
//!
//! Compaction rules, each chosen so the engine's result cannot change:
//! - labs: the latest result per analyte (the engine judges the latest result in the window);
//!   serum iron and TIBC keep every day, because TSAT is calculated from same-day pairs;
//! - medications: only those current at as-of (the engine counts nothing else);
//! - conditions: one entry per (sets, status), keeping the earliest onset;
//! - answers: one entry per (answer, value).

use std::collections::HashMap;

use restless_facts::{
    AnswerFact, AnswerValue, Bound, ConditionFact, ConditionStatus, Date, LabResult, MedStatus,
    MedicationFact, PatientRecord, Provenance, Sex, age_on,
};

/// Interned knowledge-base ids (analytes, condition sets, drugs, classes) for compact storage.
#[derive(Default)]
pub(crate) struct Ids {
    names: Vec<Box<str>>,
    index: HashMap<Box<str>, u16, foldhash::fast::RandomState>,
}

impl Ids {
    pub(crate) fn id(&mut self, name: &str) -> u16 {
        if let Some(&i) = self.index.get(name) {
            return i;
        }
        let i = u16::try_from(self.names.len()).unwrap_or(u16::MAX);
        self.names.push(name.into());
        self.index.insert(name.into(), i);
        i
    }

    pub(crate) fn name(&self, i: u16) -> Box<str> {
        self.names.get(usize::from(i)).cloned().unwrap_or_default()
    }

    /// Whether id `i` stands for `name` (without copying the name).
    pub(crate) fn is(&self, i: u16, name: &str) -> bool {
        self.names.get(usize::from(i)).is_some_and(|n| &**n == name)
    }
}

/// A lab result in 16 bytes: the value, the day (days from the common era, `i32::MIN` for
/// none), the analyte and the comparator.
#[derive(Clone, Copy)]
struct Lab {
    value: f64,
    day: i32,
    analyte: u16,
    cmp: u8,
}

const NO_DAY: i32 = i32::MIN;

fn pack_day(d: Option<Date>) -> i32 {
    use chrono::Datelike;
    d.map_or(NO_DAY, |d| d.num_days_from_ce())
}

fn unpack_day(day: i32) -> Option<Date> {
    if day == NO_DAY { None } else { Date::from_num_days_from_ce_opt(day) }
}

fn pack_cmp(c: Option<restless_facts::Cmp>) -> u8 {
    use restless_facts::Cmp;
    match c {
        None => 0,
        Some(Cmp::Lt) => 1,
        Some(Cmp::Le) => 2,
        Some(Cmp::Gt) => 3,
        Some(Cmp::Ge) => 4,
        Some(Cmp::Eq) => 5,
    }
}

fn unpack_cmp(c: u8) -> Option<restless_facts::Cmp> {
    use restless_facts::Cmp;
    match c {
        1 => Some(Cmp::Lt),
        2 => Some(Cmp::Le),
        3 => Some(Cmp::Gt),
        4 => Some(Cmp::Ge),
        5 => Some(Cmp::Eq),
        _ => None,
    }
}

struct Cond {
    sets: Box<[u16]>,
    active: bool,
    onset: Option<Date>,
}

struct Med {
    ingredients: Box<[u16]>,
    classes: Box<[u16]>,
}

/// One patient, compact.
#[derive(Default)]
pub(crate) struct PatientState {
    pub seen_patient: bool,
    birth: Option<Date>,
    sex: Option<Sex>,
    deceased: Option<Option<Date>>,
    onset_age: Option<f64>,
    labs: Vec<Lab>,
    conds: Vec<Cond>,
    meds: Vec<Med>,
    answers: Vec<(restless_facts::Answer, AnswerValue)>,
    conditions_list: bool,
    medications_list: bool,
    /// Analytes with any result on record, current or not (for "never tested").
    tested: Vec<u16>,
    /// Lines attributed to this patient.
    pub lines: u32,
}

fn keep_all_days(analyte: &str) -> bool {
    matches!(analyte, "serum-iron" | "tibc")
}

impl PatientState {
    pub(crate) fn set_demographics(&mut self, rec: &PatientRecord) {
        self.seen_patient = true;
        if let Some((b, _)) = &rec.birth_date {
            self.birth = Some(*b);
        }
        if let Some((s, _)) = &rec.sex {
            self.sex = Some(*s);
        }
        if let Some((d, _)) = &rec.deceased {
            self.deceased = Some(*d);
        }
    }

    /// Whether the patient is recorded as deceased.
    pub(crate) fn deceased(&self) -> bool {
        self.deceased.is_some()
    }

    /// Folds the facts of one mapped resource in.
    pub(crate) fn absorb(&mut self, rec: &PatientRecord, as_of: Date, ids: &mut Ids) {
        self.conditions_list |= rec.reviewed.conditions;
        self.medications_list |= rec.reviewed.medications;
        if let Some((age, _)) = &rec.onset_age {
            self.onset_age = Some(self.onset_age.map_or(*age, |a| a.min(*age)));
        }
        for l in &rec.labs {
            self.absorb_lab(l, ids);
        }
        for c in &rec.conditions {
            let mut sets: Vec<u16> = c.sets.iter().map(|s| ids.id(s)).collect();
            sets.sort_unstable();
            let active = c.status == ConditionStatus::Active;
            match self.conds.iter_mut().find(|x| *x.sets == *sets && x.active == active) {
                Some(old) => {
                    old.onset = match (old.onset, c.onset) {
                        (Some(a), Some(b)) => Some(a.min(b)),
                        (a, b) => a.or(b),
                    };
                }
                None => self.conds.push(Cond { sets: sets.into(), active, onset: c.onset }),
            }
        }
        for m in &rec.medications {
            if !m.current_on(as_of) {
                continue;
            }
            let mut ingredients: Vec<u16> = m.ingredients.iter().map(|s| ids.id(s)).collect();
            ingredients.sort_unstable();
            let mut classes: Vec<u16> = m.classes.iter().map(|s| ids.id(s)).collect();
            classes.sort_unstable();
            if !self.meds.iter().any(|x| *x.ingredients == *ingredients && *x.classes == *classes) {
                self.meds.push(Med { ingredients: ingredients.into(), classes: classes.into() });
            }
        }
        for a in &rec.answers {
            if !self.answers.iter().any(|(k, v)| *k == a.answer && *v == a.value) {
                self.answers.push((a.answer, a.value));
            }
        }
    }

    /// Folds one lab result in.
    pub(crate) fn absorb_lab(&mut self, l: &LabResult, ids: &mut Ids) {
        let analyte = ids.id(&l.analyte);
        if !self.tested.contains(&analyte) {
            self.tested.push(analyte);
        }
        let new = Lab {
            value: l.value.value,
            day: pack_day(l.date),
            analyte,
            cmp: pack_cmp(l.value.comparator),
        };
        if keep_all_days(&l.analyte) {
            self.labs.push(new);
            return;
        }
        match self.labs.iter_mut().find(|x| x.analyte == analyte) {
            Some(old) => {
                // Newer wins; on the same day the order must not depend on input order.
                let newer = new.day > old.day
                    || (new.day == old.day && new.value.total_cmp(&old.value).is_lt());
                if newer {
                    *old = new;
                }
            }
            None => self.labs.push(new),
        }
    }

    /// Records that the patient's problem list is in the export.
    pub(crate) fn mark_problem_list(&mut self) {
        self.conditions_list = true;
    }

    /// Whether any result of the analyte is on record.
    pub(crate) fn tested(&self, analyte: &str, ids: &Ids) -> bool {
        self.tested.iter().any(|&i| ids.is(i, analyte))
    }

    /// The record the engine assesses.
    pub(crate) fn to_record(&self, ids: &Ids, rls_set: Option<u16>) -> PatientRecord {
        let p = Provenance::default;
        let mut rec = PatientRecord {
            birth_date: self.birth.map(|b| (b, p())),
            sex: self.sex.map(|s| (s, p())),
            deceased: self.deceased.map(|d| (d, p())),
            ..PatientRecord::default()
        };
        rec.reviewed.conditions = self.conditions_list;
        rec.reviewed.medications = self.medications_list;
        rec.labs = self
            .labs
            .iter()
            .map(|l| LabResult {
                analyte: ids.name(l.analyte),
                value: Bound { value: l.value, comparator: unpack_cmp(l.cmp) },
                as_read: String::new(),
                date: unpack_day(l.day),
                source: p(),
                derived: false,
            })
            .collect();
        rec.conditions = self
            .conds
            .iter()
            .map(|c| ConditionFact {
                sets: c.sets.iter().map(|&s| ids.name(s)).collect(),
                status: if c.active { ConditionStatus::Active } else { ConditionStatus::History },
                onset: c.onset,
                display: String::new(),
                source: p(),
            })
            .collect();
        rec.medications = self
            .meds
            .iter()
            .map(|m| MedicationFact {
                ingredients: m.ingredients.iter().map(|&i| ids.name(i)).collect(),
                classes: m.classes.iter().map(|&i| ids.name(i)).collect(),
                display: String::new(),
                status: MedStatus::Active,
                start: None,
                end: None,
                source: p(),
            })
            .collect();
        rec.answers = self
            .answers
            .iter()
            .map(|&(answer, value)| AnswerFact { answer, value, source: p() })
            .collect();
        // Age at onset: as the FHIR mapper computes it, from the earliest onset of an RLS condition.
        let from_dates = rls_set.and_then(|rls| {
            let birth = self.birth?;
            self.conds
                .iter()
                .filter(|c| c.sets.contains(&rls))
                .filter_map(|c| c.onset)
                .filter_map(|d| age_on(birth, d))
                .min()
                .map(f64::from)
        });
        rec.onset_age = match (self.onset_age, from_dates) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
        .map(|a| (a, p()));
        rec
    }
}
