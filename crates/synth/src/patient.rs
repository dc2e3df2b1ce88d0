//! One patient: a plan (who they are, their visits, what is planted where), then every
//! resource of every visit written in date order, then the ground truth.

use std::collections::BTreeSet;
use std::io;

use chrono::{Datelike, Days, Months, NaiveDate};
use restless_facts::{Cmp, MedStatus, Sex};

use crate::catalog::NoiseCondition;
use crate::json::{self, Moment, esc, num, w};
use crate::rng::{Id, Rng};
use crate::sink::{Kind, Sinks};
use crate::tables::{self, Course, Dx, DxChoice, Lab, NoiseRx, Rx, Use};
use crate::truth::Tracker;
use crate::world::World;

/// Share of lines written with `id` before `resourceType` (valid JSON, unusual order).
const ODD_ORDER: f64 = 0.004;

/// What the ground truth records for one patient.
pub(crate) struct Truth {
    pub id: Id,
    pub rls: bool,
    pub statuses: Vec<(&'static str, &'static str)>,
    /// Short labels of what was planted (for the README's tally).
    pub planted: Vec<&'static str>,
}

// --- The plan ----------------------------------------------------------------------------------

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum VisitKind {
    Wellness,
    Sick,
    Emergency,
    Followup,
    Prenatal { first: bool },
    Dialysis,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cbc {
    None,
    Normal,
    Microcytic,
}

struct Visit {
    at: Moment,
    kind: VisitKind,
    id: Id,
    prac: usize,
    bmp: bool,
    lipid: bool,
    cbc: Cbc,
    a1c: bool,
    microalbumin: bool,
    events: Vec<Event>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum DxStatus {
    Active,
    /// No clinicalStatus and no abatement: read as current.
    Unstated,
    Resolved(NaiveDate),
    EnteredInError,
    Refuted,
}

struct PlantedDx {
    codings: Vec<Dx>,
    /// Written as text only (no coding).
    text: Option<&'static str>,
    status: DxStatus,
    problem_list: bool,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RxForm {
    /// The clinical drug's RxNorm code and name.
    Scd,
    /// The clinical drug and the ingredient codes.
    ScdAndIngredient,
    /// Only the ingredient's RxNorm code, with the clinical drug as text.
    Ingredient,
    /// Free text as a person or an order entry would write it, no code.
    Written,
    /// A contained Medication referenced as `#med0`.
    Contained,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RxStatus {
    Active,
    /// Active with a validity period ending on this day (past or future).
    ActiveUntil(NaiveDate),
    Stopped,
    Completed,
    EnteredInError,
    Draft,
    /// Status active but intent `plan`: not an order.
    Plan,
}

struct PlantedRx {
    rx: Rx,
    form: RxForm,
    status: RxStatus,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum TsatForm {
    Reported,
    /// Serum iron and TIBC only: transferrin saturation is worked out from them.
    Derived,
    Both,
}

struct IronPanel {
    /// Value, comparator, unit index into `tables::FERRITIN`.
    ferritin: Option<(f64, Option<Cmp>, usize)>,
    /// Saturation in %, how it is reported, unit index into `tables::IRON`/`TIBC`.
    tsat: Option<(f64, TsatForm, usize)>,
    status: &'static str,
}

enum Event {
    Dx(PlantedDx),
    Rx(PlantedRx),
    Iron(IronPanel),
    /// A pregnancy status observation: pregnant or not.
    PregnancyStatus(bool),
}

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kidney {
    Normal,
    Ckd { egfr: f64 },
    Esrd,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Diabetes {
    None,
    NormalA1c,
    Pre,
    Coded,
    LabOnly,
    MetforminOnly,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Style {
    Relative,
    Urn,
    Mixed,
}

enum ChronicRx {
    Noise(NoiseRx),
    Planted(Rx),
}

struct Chronic {
    rx: ChronicRx,
    start: NaiveDate,
}

struct Person {
    id: Id,
    female: bool,
    birth: NaiveDate,
    age: u32,
    given: &'static str,
    family: &'static str,
    suffix: (u32, u32),
    prefix: &'static str,
    relative: String,
    urn: String,
    style: Style,
    city: usize,
    home_prac: usize,
    payer: &'static str,
    rls: bool,
    kidney: Kidney,
    diabetes: Diabetes,
    smoking: usize,
    height: f64,
    bmi: f64,
    full_precision: bool,
}

/// The patient being written.
pub(crate) struct Pg<'a, 'c, 'k> {
    w: &'a World<'c, 'k>,
    sinks: &'a mut Sinks,
    buf: &'a mut String,
    tr: &'a mut Tracker,
    rng: Rng,
    p: Person,
    visits: Vec<Visit>,
    chronic_rx: Vec<Chronic>,
    chronic_dx: Vec<(usize, NaiveDate)>,
    planted: Vec<&'static str>,
    conditions_written: usize,
    medications_written: usize,
    /// Condition ids written at the current visit (for the claim's diagnosis list).
    visit_dx: Vec<Id>,
    /// Billable items of the current visit: (system, code, display).
    visit_items: Vec<(&'static str, &'static str, &'static str)>,
}

/// An encounter as seen from the resources written during it.
#[derive(Clone, Copy)]
struct At {
    enc: Id,
    m: Moment,
    prac: usize,
}

#[derive(Clone, Copy)]
enum Cat {
    Vital,
    Lab,
    Survey,
}

impl Cat {
    fn code(self) -> (&'static str, &'static str) {
        match self {
            Cat::Vital => ("vital-signs", "Vital signs"),
            Cat::Lab => ("laboratory", "Laboratory"),
            Cat::Survey => ("survey", "Survey"),
        }
    }

    fn profile(self) -> &'static str {
        match self {
            Cat::Vital => "http://hl7.org/fhir/StructureDefinition/vitalsigns",
            Cat::Lab => "http://hl7.org/fhir/us/core/StructureDefinition/us-core-observation-lab",
            Cat::Survey => {
                "http://hl7.org/fhir/us/core/StructureDefinition/us-core-observation-survey"
            }
        }
    }
}

/// A quantity observation to write.
struct Q<'l> {
    lab: &'l Lab,
    value: f64,
    decimals: usize,
    cmp: Option<Cmp>,
    status: &'static str,
    cat: Cat,
}

fn days(n: i64) -> Days {
    Days::new(n.unsigned_abs())
}

fn minus(d: NaiveDate, n: i64) -> NaiveDate {
    d.checked_sub_days(days(n)).unwrap_or(d)
}

fn plus(d: NaiveDate, n: i64) -> NaiveDate {
    d.checked_add_days(days(n)).unwrap_or(d)
}

fn age_at(birth: NaiveDate, d: NaiveDate) -> u32 {
    restless_facts::age_on(birth, d).unwrap_or(0)
}

/// Serum creatinine (mg/dL) that gives `egfr` by CKD-EPI 2021 at this age and sex.
fn creatinine_for(egfr: f64, age: u32, female: bool) -> f64 {
    let (kappa, alpha, f) = if female { (0.7, -0.241, 1.012) } else { (0.9, -0.302, 1.0) };
    let c = egfr / (142.0 * 0.9938f64.powf(f64::from(age)) * f);
    let r = if c >= 1.0 { c.powf(1.0 / alpha) } else { c.powf(-1.0 / 1.2) };
    (r * kappa).clamp(0.3, 15.0)
}

fn tz_for(d: NaiveDate) -> &'static str {
    if (4..=10).contains(&d.month()) { "-04:00" } else { "-05:00" }
}

impl<'a, 'c, 'k> Pg<'a, 'c, 'k> {
    pub(crate) fn new(
        w: &'a World<'c, 'k>,
        sinks: &'a mut Sinks,
        buf: &'a mut String,
        tr: &'a mut Tracker,
        mut rng: Rng,
    ) -> Pg<'a, 'c, 'k> {
        let p = person(w, &mut rng);
        Pg {
            w,
            sinks,
            buf,
            tr,
            rng,
            p,
            visits: Vec::new(),
            chronic_rx: Vec::new(),
            chronic_dx: Vec::new(),
            planted: Vec::new(),
            conditions_written: 0,
            medications_written: 0,
            visit_dx: Vec::new(),
            visit_items: Vec::new(),
        }
    }

    /// Plans, writes every resource and returns the ground truth.
    pub(crate) fn run(mut self) -> io::Result<Truth> {
        self.tr.clear();
        self.plan();
        self.write_patient()?;
        let visits = std::mem::take(&mut self.visits);
        let last = visits.len().saturating_sub(1);
        let last_wellness = visits.iter().rposition(|v| v.kind == VisitKind::Wellness);
        for (i, v) in visits.iter().enumerate() {
            self.write_visit(v, i == last, Some(i) == last_wellness)?;
        }
        let sex = if self.p.female { Sex::Female } else { Sex::Male };
        let statuses =
            self.tr.verdict(self.w.cat.kb, &self.w.cat.targets, self.p.birth, sex, self.w.as_of);
        Ok(Truth { id: self.p.id, rls: self.p.rls, statuses, planted: self.planted })
    }

    // --- planning ---------------------------------------------------------------------------

    fn add_visit(&mut self, used: &mut BTreeSet<NaiveDate>, day: NaiveDate, kind: VisitKind) {
        let mut d = day;
        let last = minus(self.w.as_of, 1);
        let first = plus(self.p.birth, 1);
        // Move to the nearest free day within the patient's life and before as-of.
        for step in 0..60 {
            let cand = if step % 2 == 0 { plus(day, step / 2) } else { minus(day, step / 2 + 1) };
            if cand <= last && cand >= first && !used.contains(&cand) {
                d = cand;
                break;
            }
        }
        if used.contains(&d) || d > last || d < first {
            return;
        }
        used.insert(d);
        let secs = self.rng.range(7 * 3600, 18 * 3600) as u32;
        let tz = if self.rng.chance(0.03) { "Z" } else { tz_for(d) };
        let prac = if self.rng.chance(0.8) {
            self.p.home_prac
        } else {
            self.rng.index(self.w.pracs.len())
        };
        self.visits.push(Visit {
            at: Moment { day: d, secs, tz },
            kind,
            id: self.rng.uuid(),
            prac,
            bmp: false,
            lipid: false,
            cbc: Cbc::None,
            a1c: false,
            microalbumin: false,
            events: Vec::new(),
        });
    }

    fn sort_visits(&mut self) {
        self.visits.sort_by_key(|v| v.at.day);
    }

    /// A visit between `lo` and `hi` (inclusive), made when there is none.
    fn visit_in(
        &mut self,
        used: &mut BTreeSet<NaiveDate>,
        lo: NaiveDate,
        hi: NaiveDate,
    ) -> Option<usize> {
        let (lo, hi) = (lo.max(plus(self.p.birth, 1)), hi.min(minus(self.w.as_of, 1)));
        if lo > hi {
            return None;
        }
        let found: Vec<usize> = (0..self.visits.len())
            .filter(|&i| {
                let d = self.visits[i].at.day;
                d >= lo && d <= hi && !matches!(self.visits[i].kind, VisitKind::Dialysis)
            })
            .collect();
        if !found.is_empty() {
            return Some(found[self.rng.index(found.len())]);
        }
        let span = (hi - lo).num_days();
        let day = plus(lo, self.rng.range(0, span));
        let before = self.visits.len();
        self.add_visit(used, day, VisitKind::Followup);
        (self.visits.len() > before).then_some(before)
    }

    fn plan(&mut self) {
        let as_of = self.w.as_of;
        let window = self.w.window;
        let age = self.p.age;
        let adult = age >= 18;
        let mut used = BTreeSet::new();

        // Visits: yearly check-ups back from the latest, visits for symptoms in between.
        let hist_years = if adult {
            self.rng.range(4, 11) + if age > 60 { 3 } else { 0 }
        } else {
            i64::from(age).clamp(1, self.rng.range(2, 7))
        };
        let start = minus(as_of, hist_years * 365).max(plus(self.p.birth, 20));
        let recent_care = self.rng.chance(0.9);
        let mut d = minus(
            as_of,
            if recent_care { self.rng.range(3, 320) } else { self.rng.range(400, 900) },
        );
        if d < start {
            d = start;
        }
        while d >= start {
            self.add_visit(&mut used, d, VisitKind::Wellness);
            let step = if age_at(self.p.birth, d) < 3 {
                self.rng.range(60, 120)
            } else {
                self.rng.range(330, 400)
            };
            d = minus(d, step);
        }
        let span = (minus(as_of, 1) - start).num_days().max(1);
        let sick = (span as f64 / 365.25 * self.rng.uniform(0.3, 1.8)).round() as i64;
        for _ in 0..sick {
            let day = plus(start, self.rng.range(0, span));
            let kind = if self.rng.chance(0.1) { VisitKind::Emergency } else { VisitKind::Sick };
            self.add_visit(&mut used, day, kind);
        }
        self.sort_visits();
        let recent =
            self.visits.iter().rposition(|v| v.kind == VisitKind::Wellness && v.at.day >= window);
        let stale_limit = minus(window, 30);
        let stale = self.visits.iter().rposition(|v| {
            v.kind == VisitKind::Wellness
                && v.at.day < stale_limit
                && v.at.day >= minus(as_of, 5 * 365)
        });
        let rls = self.p.rls;

        // Restless legs, and codes that look like it but are not.
        if rls {
            self.planted.push("rls");
            let lo = minus(as_of, 15 * 365).max(start);
            if let Some(i) = self.visit_in(&mut used, lo, minus(as_of, 30)) {
                let dx = self.dx_from(&tables::RLS, DxStatus::Active);
                self.visits[i].events.push(Event::Dx(dx));
            }
        } else if adult && self.rng.chance(0.04) {
            let status =
                if self.rng.chance(0.5) { DxStatus::EnteredInError } else { DxStatus::Refuted };
            self.planted.push(if status == DxStatus::Refuted {
                "rls-refuted"
            } else {
                "rls-entered-in-error"
            });
            if let Some(i) = self.visit_in(&mut used, start, minus(as_of, 10)) {
                let dx = self.dx_from(&tables::RLS, status);
                self.visits[i].events.push(Event::Dx(dx));
            }
        } else if adult && self.rng.chance(0.015) {
            self.planted.push("g25.8-not-rls");
            if let Some(i) = self.visit_in(&mut used, start, minus(as_of, 10)) {
                let dx = PlantedDx {
                    codings: vec![tables::G25_8],
                    text: None,
                    status: DxStatus::Active,
                    problem_list: false,
                };
                self.visits[i].events.push(Event::Dx(dx));
            }
        }

        // Kidneys.
        if self.p.kidney == Kidney::Esrd {
            let coded = !recent_care || self.rng.chance(0.8);
            self.planted.push(if coded { "esrd-coded" } else { "esrd-egfr" });
            if coded {
                let lo = minus(as_of, 6 * 365).max(start);
                if let Some(i) = self.visit_in(&mut used, lo, minus(as_of, 30)) {
                    let dx = self.dx_from(&tables::ESRD, DxStatus::Active);
                    self.visits[i].events.push(Event::Dx(dx));
                }
            }
            if self.rng.chance(0.7) {
                // Monthly dialysis sessions over the last year.
                let mut d = minus(as_of, self.rng.range(2, 20));
                let first = minus(as_of, 365).max(start);
                while d > first {
                    self.add_visit(&mut used, d, VisitKind::Dialysis);
                    d = minus(d, self.rng.range(25, 35));
                }
            }
            if let Some(i) = recent {
                self.visits[i].bmp = !coded || self.rng.chance(0.85);
            }
        }
        if let Kidney::Ckd { egfr } = self.p.kidney {
            let coded = self.rng.chance(0.35);
            self.planted.push(if coded { "ckd-coded" } else { "ckd-egfr" });
            if coded {
                let lo = minus(as_of, 5 * 365).max(start);
                if let Some(i) = self.visit_in(&mut used, lo, minus(as_of, 30)) {
                    let icd = if egfr < 30.0 {
                        tables::CKD_3_4.icd[3]
                    } else if egfr < 45.0 {
                        *self.rng.pick(&[tables::CKD_3_4.icd[0], tables::CKD_3_4.icd[2]])
                    } else {
                        *self.rng.pick(&[tables::CKD_3_4.icd[0], tables::CKD_3_4.icd[1]])
                    };
                    let mut codings = vec![icd];
                    if egfr < 30.0 && self.rng.chance(0.5) {
                        codings.push(tables::CKD_3_4.snomed[0]);
                    }
                    let dx = PlantedDx {
                        codings,
                        text: None,
                        status: DxStatus::Active,
                        problem_list: self.rng.chance(0.5),
                    };
                    self.visits[i].events.push(Event::Dx(dx));
                }
            }
            if let Some(i) = recent {
                self.visits[i].bmp = true;
            }
        }
        if self.p.kidney == Kidney::Normal
            && adult
            && let Some(i) = recent
        {
            self.visits[i].bmp = self.rng.chance(0.75);
        }

        // Diabetes.
        match self.p.diabetes {
            Diabetes::Coded => {
                self.planted.push("diabetes-coded");
                let lo = minus(as_of, 15 * 365).max(start);
                let onset = self.visit_in(&mut used, lo, minus(as_of, 60));
                if let Some(i) = onset {
                    let dx = self.dx_from(&tables::DIABETES, DxStatus::Active);
                    self.visits[i].events.push(Event::Dx(dx));
                    let day = self.visits[i].at.day;
                    if self.rng.chance(0.15)
                        && let Some(j) = self.visit_in(&mut used, plus(day, 200), minus(as_of, 5))
                    {
                        let dx = PlantedDx {
                            codings: vec![tables::DIABETIC_NEUROPATHY],
                            text: None,
                            status: DxStatus::Active,
                            problem_list: false,
                        };
                        self.visits[j].events.push(Event::Dx(dx));
                    }
                    if self.rng.chance(0.75) {
                        let rx = *self.rng.pick(tables::ANTIDIABETIC);
                        self.chronic_rx.push(Chronic { rx: ChronicRx::Planted(rx), start: day });
                    }
                }
                for v in &mut self.visits {
                    if v.kind == VisitKind::Wellness && onset.is_some() {
                        v.a1c = self.rng.chance(0.6);
                        v.microalbumin = self.rng.chance(0.3);
                    }
                }
            }
            Diabetes::LabOnly => {
                self.planted.push("diabetes-hba1c");
                if let Some(i) = recent {
                    self.visits[i].a1c = true;
                }
            }
            Diabetes::MetforminOnly => {
                self.planted.push("metformin-only");
                if let Some(i) = self.visit_in(&mut used, minus(as_of, 700), minus(as_of, 5)) {
                    let rx = PlantedRx {
                        rx: tables::ANTIDIABETIC[self.rng.index(2)],
                        form: self.rx_form(),
                        status: RxStatus::Active,
                    };
                    self.visits[i].events.push(Event::Rx(rx));
                }
            }
            Diabetes::Pre => {
                for v in &mut self.visits {
                    if v.kind == VisitKind::Wellness {
                        v.a1c = self.rng.chance(0.4);
                    }
                }
                let i = self.rng.index(NOISE_PREDIABETES.len());
                if let Some(n) = self.noise_dx_index(NOISE_PREDIABETES[i]) {
                    self.chronic_dx.push((n, start));
                }
            }
            Diabetes::NormalA1c => {
                self.planted.push("hba1c-normal");
                if let Some(i) = recent {
                    self.visits[i].a1c = true;
                }
            }
            Diabetes::None => {}
        }

        // Iron.
        self.plan_iron(&mut used, recent, stale);

        // Pregnancy.
        if self.p.female && (18..=45).contains(&age) {
            let p_preg = if rls { 0.2 } else { 0.06 };
            if self.rng.chance(p_preg) {
                self.planted.push("pregnant");
                let onset = minus(as_of, self.rng.range(30, 250));
                let before = self.visits.len();
                self.add_visit(&mut used, onset, VisitKind::Prenatal { first: true });
                if self.visits.len() > before {
                    let choice = self.dx_from(&tables::PREGNANCY, DxStatus::Active);
                    self.visits[before].events.push(Event::Dx(choice));
                    let mut d = plus(self.visits[before].at.day, self.rng.range(25, 32));
                    let mut prenatal = Vec::new();
                    while d < minus(as_of, 1) {
                        prenatal.push(d);
                        d = plus(d, self.rng.range(25, 32));
                    }
                    for d in prenatal {
                        self.add_visit(&mut used, d, VisitKind::Prenatal { first: false });
                    }
                    if self.rng.chance(0.5) {
                        let last = self.visits.len() - 1;
                        self.visits[last].events.push(Event::PregnancyStatus(true));
                    }
                }
            } else if let Some(i) = recent
                && self.rng.chance(0.35)
            {
                self.planted.push("not-pregnant-observed");
                self.visits[i].events.push(Event::PregnancyStatus(false));
            }
        }

        // Drugs that can cause or worsen restless legs.
        let classes: Vec<(&'static str, Vec<Rx>)> =
            self.w.cat.planted.iter().map(|p| (p.class, p.drugs.clone())).collect();
        for (class, drugs) in classes {
            let p = match (adult, rls) {
                (true, true) => 0.08,
                (true, false) => 0.03,
                (false, _) if class == "sedating-antihistamine" => 0.03,
                _ => 0.0,
            };
            if !self.rng.chance(p) {
                continue;
            }
            self.plant_drug(&mut used, class, &drugs, start);
        }

        // Noise: chronic conditions and medications, contraception, allergies.
        if adult {
            let n = self.rng.weighted(&[0.35, 0.3, 0.2, 0.1, 0.05]);
            for _ in 0..n {
                let Some(pick) = self.pick_noise_dx(Course::Chronic) else {
                    break;
                };
                let wellness: Vec<NaiveDate> = self
                    .visits
                    .iter()
                    .filter(|v| v.kind == VisitKind::Wellness)
                    .map(|v| v.at.day)
                    .collect();
                if let Some(&d) = wellness.get(self.rng.index(wellness.len().max(1))) {
                    self.chronic_dx.push((pick, d));
                }
            }
            let m = self.rng.weighted(&[0.4, 0.3, 0.2, 0.1]);
            for _ in 0..m {
                let Some(rx) = self.pick_noise_rx(Use::Chronic) else {
                    break;
                };
                if let Some(d) = self.random_wellness_day() {
                    self.chronic_rx.push(Chronic { rx: ChronicRx::Noise(rx), start: d });
                }
            }
        }
        if self.p.female && (15..=45).contains(&age) && self.rng.chance(0.35) {
            self.add_noise_rx(Use::Contraceptive);
        }
        if rls && self.rng.chance(0.4) {
            self.add_noise_rx(Use::RlsTreatment);
        }
        if self.p.female && (20..=55).contains(&age) && self.rng.chance(0.25) {
            // A past pregnancy, resolved.
            let code = if self.rng.chance(0.8) { "72892002" } else { "19169002" };
            if let Some(n) = self.noise_dx_index(code) {
                let lo = minus(as_of, 20 * 365).max(plus(self.p.birth, 18 * 365));
                let hi = minus(as_of, 2 * 365);
                if lo < hi {
                    let day = plus(lo, self.rng.range(0, (hi - lo).num_days()));
                    self.chronic_dx.push((n, day));
                }
            }
        }

        // Check-up content.
        for v in &mut self.visits {
            if v.kind != VisitKind::Wellness {
                continue;
            }
            let age_then = age_at(self.p.birth, v.at.day);
            if age_then >= 18 {
                v.bmp |= self.rng.chance(0.45);
                v.lipid = age_then >= 25 && self.rng.chance(0.3);
            }
            if v.cbc == Cbc::None && age_then >= 5 && self.rng.chance(0.3) {
                v.cbc = Cbc::Normal;
            }
        }
        self.sort_visits();
    }

    fn random_wellness_day(&mut self) -> Option<NaiveDate> {
        let days: Vec<NaiveDate> = self
            .visits
            .iter()
            .filter(|v| v.kind == VisitKind::Wellness)
            .map(|v| v.at.day)
            .collect();
        if days.is_empty() { None } else { Some(days[self.rng.index(days.len())]) }
    }

    /// A noise condition of `course` drawn at random, as an index into the catalogue's
    /// `noise_dx` (no draw when there is none).
    fn pick_noise_dx(&mut self, course: Course) -> Option<usize> {
        let options: Vec<usize> = (0..self.w.cat.noise_dx.len())
            .filter(|&i| self.w.cat.noise_dx[i].dx.course == course)
            .collect();
        (!options.is_empty()).then(|| options[self.rng.index(options.len())])
    }

    /// The catalogue's noise drugs of one use.
    fn noise_rx_of(&self, usage: Use) -> Vec<NoiseRx> {
        self.w.cat.noise_rx.iter().filter(|r| r.usage == usage).copied().collect()
    }

    /// A noise drug of `usage` drawn at random (no draw when there is none).
    fn pick_noise_rx(&mut self, usage: Use) -> Option<NoiseRx> {
        let options = self.noise_rx_of(usage);
        (!options.is_empty()).then(|| options[self.rng.index(options.len())])
    }

    /// A chronic prescription of a noise drug of `usage`, from a random check-up on. The day is
    /// drawn before the drug, and nothing is drawn when there is no such drug or check-up.
    fn add_noise_rx(&mut self, usage: Use) {
        let options = self.noise_rx_of(usage);
        if !options.is_empty()
            && let Some(start) = self.random_wellness_day()
        {
            let rx = options[self.rng.index(options.len())];
            self.chronic_rx.push(Chronic { rx: ChronicRx::Noise(rx), start });
        }
    }

    fn noise_dx_index(&self, snomed: &str) -> Option<usize> {
        self.w.cat.noise_dx.iter().position(|n| n.dx.snomed == snomed)
    }

    /// A planted diagnosis in one of its codings: ICD-10-CM, SNOMED CT or both, now and then as
    /// text only.
    fn dx_from(&mut self, choice: &DxChoice, status: DxStatus) -> PlantedDx {
        let icd = *self.rng.pick(choice.icd);
        let sct = *self.rng.pick(choice.snomed);
        let (codings, text) = match self.rng.weighted(&[0.35, 0.35, 0.27, 0.03]) {
            0 => (vec![icd], None),
            1 => (vec![sct], None),
            2 => (vec![sct, icd], None),
            _ => (Vec::new(), Some(choice.text)),
        };
        let status = if status == DxStatus::Active && self.rng.chance(0.05) {
            DxStatus::Unstated
        } else {
            status
        };
        let problem_list = status != DxStatus::Unstated && self.rng.chance(0.4);
        PlantedDx { codings, text, status, problem_list }
    }

    fn rx_form(&mut self) -> RxForm {
        match self.rng.weighted(&[0.5, 0.15, 0.1, 0.15, 0.1]) {
            0 => RxForm::Scd,
            1 => RxForm::ScdAndIngredient,
            2 => RxForm::Ingredient,
            3 => RxForm::Written,
            _ => RxForm::Contained,
        }
    }

    fn plant_drug(
        &mut self,
        used: &mut BTreeSet<NaiveDate>,
        class: &'static str,
        drugs: &[Rx],
        start: NaiveDate,
    ) {
        let as_of = self.w.as_of;
        let rx = drugs[self.rng.index(drugs.len())];
        let status = match self.rng.weighted(&[0.62, 0.14, 0.07, 0.04, 0.05, 0.03, 0.03, 0.02]) {
            0 => RxStatus::Active,
            1 => RxStatus::ActiveUntil(plus(as_of, self.rng.range(20, 300))),
            2 => RxStatus::Stopped,
            3 => RxStatus::Completed,
            4 => RxStatus::EnteredInError,
            5 => RxStatus::ActiveUntil(minus(as_of, self.rng.range(10, 400))),
            6 => RxStatus::Draft,
            _ => RxStatus::Plan,
        };
        self.planted.push(match status {
            RxStatus::Active | RxStatus::ActiveUntil(_)
                if !matches!(status, RxStatus::ActiveUntil(d) if d < as_of) =>
            {
                class
            }
            _ => "drug-not-current",
        });
        let lo = match status {
            RxStatus::ActiveUntil(end) => minus(end.min(as_of), 300),
            _ => minus(as_of, 3 * 365),
        }
        .max(start);
        let hi = match status {
            RxStatus::ActiveUntil(end) if end < as_of => minus(end, 30),
            _ => minus(as_of, 2),
        };
        if let Some(i) = self.visit_in(used, lo, hi) {
            let day = self.visits[i].at.day;
            let form = self.rx_form();
            self.visits[i].events.push(Event::Rx(PlantedRx { rx, form, status }));
            // Earlier prescriptions of the same drug, since stopped.
            if self.rng.chance(0.35)
                && let Some(j) = self.visit_in(used, minus(day, 3 * 365).max(start), minus(day, 20))
            {
                let form = self.rx_form();
                self.visits[j].events.push(Event::Rx(PlantedRx {
                    rx,
                    form,
                    status: RxStatus::Stopped,
                }));
            }
        }
    }

    fn plan_iron(
        &mut self,
        used: &mut BTreeSet<NaiveDate>,
        recent: Option<usize>,
        stale: Option<usize>,
    ) {
        let rls = self.p.rls;
        // present-ferritin, present-tsat, present-below, coded, absent, stale, on-iron,
        // ferritin-only, entered-in-error, microcytic, none
        let weights: [f64; 11] = if rls {
            [0.2, 0.07, 0.03, 0.04, 0.22, 0.1, 0.04, 0.06, 0.03, 0.03, 0.18]
        } else {
            [0.05, 0.02, 0.01, 0.01, 0.18, 0.06, 0.02, 0.05, 0.01, 0.01, 0.58]
        };
        let mut plan = self.rng.weighted(&weights);
        let needs_recent = matches!(plan, 0 | 1 | 2 | 4 | 7 | 8 | 9);
        if needs_recent && recent.is_none() || plan == 5 && stale.is_none() {
            plan = 10;
        }
        let ferritin_unit = usize::from(self.rng.chance(0.3));
        let iron_unit = usize::from(self.rng.chance(0.2));
        let tsat_form = |rng: &mut Rng| match rng.weighted(&[0.6, 0.25, 0.15]) {
            0 => TsatForm::Reported,
            1 => TsatForm::Derived,
            _ => TsatForm::Both,
        };
        let panel = |f: Option<(f64, Option<Cmp>, usize)>, t: Option<(f64, TsatForm, usize)>| {
            Event::Iron(IronPanel { ferritin: f, tsat: t, status: "final" })
        };
        match plan {
            0 => {
                self.planted.push("iron-low-ferritin");
                let f = self.rng.uniform(6.0, 45.0);
                let t = if self.rng.chance(0.5) {
                    Some((self.rng.uniform(8.0, 30.0), tsat_form(&mut self.rng), iron_unit))
                } else {
                    None
                };
                if let Some(i) = recent {
                    self.visits[i].events.push(panel(Some((f, None, ferritin_unit)), t));
                }
                if self.rng.chance(0.2) {
                    self.plant_ferrous(used, true);
                }
            }
            1 => {
                self.planted.push("iron-low-tsat");
                let f = self.rng.uniform(90.0, 260.0);
                let t = self.rng.uniform(7.0, 17.0);
                let form = tsat_form(&mut self.rng);
                if let Some(i) = recent {
                    self.visits[i]
                        .events
                        .push(panel(Some((f, None, ferritin_unit)), Some((t, form, iron_unit))));
                }
            }
            2 => {
                self.planted.push("iron-ferritin-below");
                if let Some(i) = recent {
                    self.visits[i].events.push(panel(Some((10.0, Some(Cmp::Lt), 0)), None));
                }
            }
            3 => {
                self.planted.push("iron-coded");
                let lo = minus(self.w.as_of, 3 * 365);
                if let Some(i) = self.visit_in(used, lo, minus(self.w.as_of, 5)) {
                    let dx = self.dx_from(&tables::IRON_DEFICIENCY, DxStatus::Active);
                    self.visits[i].events.push(Event::Dx(dx));
                }
            }
            4 => {
                self.planted.push("iron-normal");
                let f = self.rng.uniform(90.0, 320.0);
                let t = self.rng.uniform(22.0, 45.0);
                let form = tsat_form(&mut self.rng);
                if let Some(i) = recent {
                    self.visits[i]
                        .events
                        .push(panel(Some((f, None, ferritin_unit)), Some((t, form, iron_unit))));
                }
                // An old low result, since corrected: history only.
                if let Some(j) = stale
                    && self.rng.chance(0.3)
                {
                    let f = self.rng.uniform(8.0, 40.0);
                    self.visits[j].events.push(panel(Some((f, None, ferritin_unit)), None));
                }
            }
            5 => {
                self.planted.push("iron-stale-low");
                let f = self.rng.uniform(6.0, 45.0);
                if let Some(j) = stale {
                    self.visits[j].events.push(panel(Some((f, None, ferritin_unit)), None));
                }
            }
            6 => {
                self.planted.push("iron-on-treatment");
                self.plant_ferrous(used, true);
            }
            7 => {
                self.planted.push("iron-ferritin-only-normal");
                let f = self.rng.uniform(90.0, 300.0);
                if let Some(i) = recent {
                    self.visits[i].events.push(panel(Some((f, None, ferritin_unit)), None));
                }
            }
            8 => {
                self.planted.push("iron-entered-in-error");
                let f = self.rng.uniform(6.0, 40.0);
                if let Some(i) = recent {
                    self.visits[i].events.push(Event::Iron(IronPanel {
                        ferritin: Some((f, None, ferritin_unit)),
                        tsat: None,
                        status: "entered-in-error",
                    }));
                }
            }
            9 => {
                self.planted.push("microcytic-anaemia");
                if let Some(i) = recent {
                    self.visits[i].cbc = Cbc::Microcytic;
                }
                if let Some(n) = self.noise_dx_index("271737000") {
                    let day = recent.map_or(self.w.window, |i| self.visits[i].at.day);
                    self.chronic_dx.push((n, day));
                }
            }
            _ => {
                // A stopped course of iron, or a resolved iron deficiency, long ago: history
                // that must not count.
                if self.rng.chance(0.03) {
                    self.planted.push("iron-treatment-stopped");
                    self.plant_ferrous(used, false);
                } else if self.rng.chance(0.02) {
                    self.planted.push("iron-deficiency-resolved");
                    let as_of = self.w.as_of;
                    if let Some(i) = self.visit_in(used, minus(as_of, 6 * 365), minus(as_of, 400)) {
                        let day = self.visits[i].at.day;
                        let abated = plus(day, self.rng.range(60, 300));
                        let mut dx = self.dx_from(&tables::IRON_DEFICIENCY, DxStatus::Active);
                        dx.status = DxStatus::Resolved(abated);
                        self.visits[i].events.push(Event::Dx(dx));
                    }
                }
            }
        }
    }

    fn plant_ferrous(&mut self, used: &mut BTreeSet<NaiveDate>, active: bool) {
        let as_of = self.w.as_of;
        let (lo, hi) = if active {
            (minus(as_of, 2 * 365), minus(as_of, 3))
        } else {
            (minus(as_of, 6 * 365), minus(as_of, 2 * 365))
        };
        if let Some(i) = self.visit_in(used, lo, hi) {
            let form = self.rx_form();
            let status = if active { RxStatus::Active } else { RxStatus::Stopped };
            self.visits[i].events.push(Event::Rx(PlantedRx {
                rx: tables::FERROUS_SULFATE,
                form,
                status,
            }));
        }
    }

    // --- writing ----------------------------------------------------------------------------

    fn use_urn(&mut self) -> bool {
        match self.p.style {
            Style::Relative => false,
            Style::Urn => true,
            Style::Mixed => self.rng.chance(0.5),
        }
    }

    fn head(&mut self, kind: Kind, id: &Id) {
        self.buf.clear();
        if self.rng.chance(ODD_ORDER) {
            w!(self.buf, r#"{{"id":"{}","resourceType":"{}""#, id.as_str(), kind.name());
        } else {
            w!(self.buf, r#"{{"resourceType":"{}","id":"{}""#, kind.name(), id.as_str());
        }
    }

    fn reference(&mut self, key: &str, urn: bool) {
        let r = if urn { &self.p.urn } else { &self.p.relative };
        w!(self.buf, r#","{key}":{{"reference":"{r}"}}"#);
    }

    fn enc_ref(&mut self, at: &At, urn: bool) {
        let e = at.enc.as_str();
        if urn {
            w!(self.buf, r#","encounter":{{"reference":"urn:uuid:{e}"}}"#);
        } else {
            w!(self.buf, r#","encounter":{{"reference":"Encounter/{e}"}}"#);
        }
    }

    fn end(&mut self, kind: Kind) -> io::Result<()> {
        self.buf.push('}');
        self.sinks.write(kind, self.buf)
    }

    fn name_display(&self) -> String {
        format!(
            "{}{} {}{} {}{}",
            self.p.prefix,
            if self.p.prefix.is_empty() { "" } else { " " },
            self.p.given,
            self.p.suffix.0,
            self.p.family,
            self.p.suffix.1
        )
        .trim()
        .to_owned()
    }

    fn write_patient(&mut self) -> io::Result<()> {
        let p = &self.p;
        let id = p.id;
        let (city, zip) = tables::CITIES[p.city];
        let street = tables::STREETS[p.city % tables::STREETS.len()];
        let race = *self.rng.pick(tables::RACES);
        let lang = *self.rng.pick(tables::LANGUAGES);
        let hispanic = self.rng.chance(0.12);
        let ssn = self.rng.range(1000, 9999);
        let dl = self.rng.range(10_000_000, 99_999_999);
        let tel = self.rng.range(1000, 9999);
        let lat = 42.0 + self.rng.f64() * 0.8;
        let lon = -71.0 - self.rng.f64() * 1.8;
        let daly = self.rng.uniform(0.0, 10.0);
        let qaly = f64::from(p.age) - daly;
        let house = self.rng.range(10, 999);
        let married = p.age >= 25 && self.rng.chance(0.55);
        let mother = *self.rng.pick(tables::FAMILY);
        let mother_given = *self.rng.pick(tables::GIVEN_F);
        let born_city = self.rng.index(tables::CITIES.len());
        let person_seed = self.rng.next_u64() >> 1;
        self.head(Kind::Patient, &id);
        let p = &self.p;
        let b = &mut *self.buf;
        w!(
            b,
            r#","meta":{{"profile":["http://hl7.org/fhir/us/core/StructureDefinition/us-core-patient"]}},"text":{{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">Generated by <a href=\"https://github.com/synthetichealth/synthea\">Synthea</a>.Version identifier: 3c23908\n .   Person seed: {person_seed}  Population seed: 1</div>"}},"extension":[{{"url":"http://hl7.org/fhir/us/core/StructureDefinition/us-core-race","extension":[{{"url":"ombCategory","valueCoding":{{"system":"urn:oid:2.16.840.1.113883.6.238","code":"{rc}","display":"{rd}"}}}},{{"url":"text","valueString":"{rd}"}}]}},{{"url":"http://hl7.org/fhir/us/core/StructureDefinition/us-core-ethnicity","extension":[{{"url":"ombCategory","valueCoding":{{"system":"urn:oid:2.16.840.1.113883.6.238","code":"{ec}","display":"{ed}"}}}},{{"url":"text","valueString":"{ed}"}}]}},{{"url":"http://hl7.org/fhir/StructureDefinition/patient-mothersMaidenName","valueString":"{mother_given}{s1} {mother}{s2}"}},{{"url":"http://hl7.org/fhir/us/core/StructureDefinition/us-core-birthsex","valueCode":"{bs}"}},{{"url":"http://hl7.org/fhir/StructureDefinition/patient-birthPlace","valueAddress":{{"city":"{bc}","state":"Massachusetts","country":"US"}}}},{{"url":"http://synthetichealth.github.io/synthea/disability-adjusted-life-years","valueDecimal":{daly}}},{{"url":"http://synthetichealth.github.io/synthea/quality-adjusted-life-years","valueDecimal":{qaly}}}]"#,
            rc = race.0,
            rd = race.1,
            ec = if hispanic { "2135-2" } else { "2186-5" },
            ed = if hispanic { "Hispanic or Latino" } else { "Not Hispanic or Latino" },
            s1 = p.suffix.1 % 700 + 100,
            s2 = p.suffix.0 % 700 + 100,
            bs = if p.female { "F" } else { "M" },
            bc = tables::CITIES[born_city].0,
        );
        let idv = id.as_str();
        w!(
            b,
            r#","identifier":[{{"system":"https://github.com/synthetichealth/synthea","value":"{idv}"}},{{"type":{{"coding":[{{"system":"http://terminology.hl7.org/CodeSystem/v2-0203","code":"MR","display":"Medical Record Number"}}],"text":"Medical Record Number"}},"system":"http://hospital.smarthealthit.org","value":"{idv}"}},{{"type":{{"coding":[{{"system":"http://terminology.hl7.org/CodeSystem/v2-0203","code":"SS","display":"Social Security Number"}}],"text":"Social Security Number"}},"system":"http://hl7.org/fhir/sid/us-ssn","value":"999-{a:02}-{ssn}"}}"#,
            a = ssn % 90 + 10,
        );
        if p.age >= 16 {
            w!(
                b,
                r#",{{"type":{{"coding":[{{"system":"http://terminology.hl7.org/CodeSystem/v2-0203","code":"DL","display":"Driver's license number"}}],"text":"Driver's license number"}},"system":"urn:oid:2.16.840.1.113883.4.3.25","value":"S{dl}"}}"#
            );
        }
        b.push_str(r#"],"name":[{"use":"official","family":""#);
        b.push_str(p.family);
        w!(b, "{}", p.suffix.1);
        b.push_str(r#"","given":[""#);
        b.push_str(p.given);
        w!(b, "{}", p.suffix.0);
        b.push_str("\"]");
        if !p.prefix.is_empty() {
            w!(b, r#","prefix":["{}"]"#, p.prefix);
        }
        b.push_str("}]");
        w!(
            b,
            r#","telecom":[{{"system":"phone","value":"555-{x:03}-{tel}","use":"home"}}],"gender":"{g}","birthDate":""#,
            x = tel % 900 + 100,
            g = if p.female { "female" } else { "male" },
        );
        json::date(b, p.birth);
        w!(
            b,
            r#"","address":[{{"extension":[{{"url":"http://hl7.org/fhir/StructureDefinition/geolocation","extension":[{{"url":"latitude","valueDecimal":{lat}}},{{"url":"longitude","valueDecimal":{lon}}}]}}],"line":["{house} {street}"],"city":"{city}","state":"MA","postalCode":"{zip}","country":"US"}}],"maritalStatus":{{"coding":[{{"system":"http://terminology.hl7.org/CodeSystem/v3-MaritalStatus","code":"{mc}","display":"{md}"}}],"text":"{md}"}},"multipleBirthBoolean":false,"communication":[{{"language":{{"coding":[{{"system":"urn:ietf:bcp:47","code":"{lc}","display":"{ld}"}}],"text":"{ld}"}}}}]"#,
            mc = if married { "M" } else { "S" },
            md = if married { "Married" } else { "Never Married" },
            lc = lang.0,
            ld = lang.1,
        );
        self.end(Kind::Patient)
    }

    fn write_visit(&mut self, v: &Visit, last_visit: bool, last_wellness: bool) -> io::Result<()> {
        let at = At { enc: v.id, m: v.at, prac: v.prac };
        self.visit_dx.clear();
        self.visit_items.clear();
        let adult = age_at(self.p.birth, v.at.day) >= 18;
        let (code, display) = match v.kind {
            VisitKind::Wellness => {
                if self.rng.chance(0.5) {
                    tables::WELLNESS
                } else {
                    tables::CHECK_UP
                }
            }
            VisitKind::Sick => tables::SYMPTOM,
            VisitKind::Emergency => tables::EMERGENCY,
            VisitKind::Followup => tables::PROBLEM,
            VisitKind::Prenatal { first: true } => tables::PRENATAL_FIRST,
            VisitKind::Prenatal { first: false } => tables::PRENATAL,
            VisitKind::Dialysis => tables::DIALYSIS,
        };
        // An acute problem at a visit for a symptom.
        let acute =
            if matches!(v.kind, VisitKind::Sick | VisitKind::Emergency) && self.rng.chance(0.75) {
                self.pick_noise_dx(Course::Acute)
            } else {
                None
            };
        self.encounter(&at, v.kind, (code, display), acute)?;
        self.visit_items.push((tables::SNOMED, code, display));

        // Conditions.
        if let Some(i) = acute {
            let abated = plus(v.at.day, self.rng.range(7, 30));
            self.noise_condition(&at, i, Some(abated))?;
        }
        if v.kind == VisitKind::Wellness
            && adult
            && self.rng.chance(0.45)
            && let Some(i) = self.pick_noise_dx(Course::Finding)
        {
            let abated = plus(v.at.day, self.rng.range(200, 500));
            self.noise_condition(&at, i, Some(abated))?;
        }
        let starting: Vec<usize> =
            self.chronic_dx.iter().filter(|(_, d)| *d <= v.at.day).map(|(i, _)| *i).collect();
        self.chronic_dx.retain(|(_, d)| *d > v.at.day);
        for i in starting {
            let abated = match self.w.cat.noise_dx[i].dx.course {
                Course::Past => Some(plus(v.at.day, self.rng.range(60, 270))),
                _ => None,
            };
            self.noise_condition(&at, i, abated)?;
        }
        for e in &v.events {
            if let Event::Dx(dx) = e {
                self.planted_condition(&at, dx)?;
            }
        }
        // Every patient has a problem list: one finding at least.
        if last_visit
            && self.conditions_written == 0
            && let Some(i) = self.pick_noise_dx(Course::Finding)
        {
            self.noise_condition(&at, i, None)?;
        }

        // Vital signs.
        self.vitals(&at, v.kind)?;

        // Laboratory.
        let age_then = age_at(self.p.birth, v.at.day);
        if v.bmp && age_then >= 18 {
            self.bmp(&at)?;
        }
        if v.lipid {
            self.lipid(&at)?;
        }
        if v.cbc != Cbc::None {
            self.cbc(&at, v.cbc == Cbc::Microcytic)?;
        }
        if v.a1c {
            self.hba1c(&at)?;
        }
        if v.microalbumin {
            let value = self.rng.uniform(5.0, 80.0);
            self.obs_q(
                &at,
                &Q {
                    lab: &tables::MICROALBUMIN,
                    value,
                    decimals: 1,
                    cmp: None,
                    status: "final",
                    cat: Cat::Lab,
                },
            )?;
        }
        for e in &v.events {
            match e {
                Event::Iron(panel) => self.iron_panel(&at, panel)?,
                Event::PregnancyStatus(yes) => self.pregnancy_status(&at, *yes)?,
                _ => {}
            }
        }

        // Procedures and immunisations.
        self.procedures(&at, v.kind)?;
        if v.kind == VisitKind::Wellness {
            self.immunizations(&at, age_then)?;
        }

        // Medications.
        let renewals: Vec<usize> =
            (0..self.chronic_rx.len()).filter(|&i| self.chronic_rx[i].start <= v.at.day).collect();
        if v.kind == VisitKind::Wellness {
            for i in renewals {
                let active = last_wellness;
                match &self.chronic_rx[i].rx {
                    ChronicRx::Noise(rx) => {
                        let rx = *rx;
                        self.noise_med(&at, &rx, if active { "active" } else { "stopped" })?;
                    }
                    ChronicRx::Planted(rx) => {
                        let rx = *rx;
                        let form = self.rx_form();
                        let status = if active { RxStatus::Active } else { RxStatus::Stopped };
                        self.planted_med(&at, &PlantedRx { rx, form, status })?;
                    }
                }
            }
        }
        if matches!(v.kind, VisitKind::Sick | VisitKind::Emergency)
            && self.rng.chance(0.5)
            && let Some(rx) = self.pick_noise_rx(Use::Acute)
        {
            let status = if self.rng.chance(0.8) { "stopped" } else { "completed" };
            self.noise_med(&at, &rx, status)?;
        }
        for e in &v.events {
            if let Event::Rx(rx) = e {
                self.planted_med(&at, rx)?;
            }
        }
        // Every patient has a medication list: one past course at least.
        if last_visit
            && self.medications_written == 0
            && let Some(rx) = self.pick_noise_rx(Use::Acute)
        {
            self.noise_med(&at, &rx, "completed")?;
        }

        // Care plans and allergies now and then.
        if v.kind == VisitKind::Wellness && self.rng.chance(0.06) {
            self.care_plan(&at)?;
        }
        if v.kind == VisitKind::Wellness && self.rng.chance(0.03) {
            self.allergy(&at)?;
        }

        // Billing.
        let claim = self.claim(&at)?;
        self.eob(&at, &claim)
    }

    fn encounter(
        &mut self,
        at: &At,
        kind: VisitKind,
        (code, display): (&'static str, &'static str),
        acute: Option<usize>,
    ) -> io::Result<()> {
        let urn = self.use_urn();
        let prac = &self.w.pracs[at.prac];
        let org = &self.w.orgs[prac.org];
        let minutes = self.rng.range(15, 60) as u32;
        let class = match kind {
            VisitKind::Emergency => "EMER",
            _ => "AMB",
        };
        let act_code = if self.rng.chance(0.005) {
            // Escaped slashes: valid JSON, rare in practice.
            r"http:\/\/terminology.hl7.org\/CodeSystem\/v3-ActCode"
        } else {
            "http://terminology.hl7.org/CodeSystem/v3-ActCode"
        };
        let name = self.name_display();
        self.head(Kind::Encounter, &at.enc);
        let b = &mut *self.buf;
        w!(
            b,
            r#","meta":{{"profile":["http://hl7.org/fhir/us/core/StructureDefinition/us-core-encounter"]}},"identifier":[{{"use":"official","system":"https://github.com/synthetichealth/synthea","value":"{e}"}}],"status":"finished","class":{{"system":"{act_code}","code":"{class}"}},"type":[{{"coding":[{{"system":"http://snomed.info/sct","code":"{code}","display":"{display}"}}],"text":"{display}"}}]"#,
            e = at.enc.as_str(),
        );
        let r = if urn { &self.p.urn } else { &self.p.relative };
        w!(b, r#","subject":{{"reference":"{r}","display":"{name}"}}"#);
        b.push_str(r#","participant":[{"type":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-ParticipationType","code":"PPRF","display":"primary performer"}],"text":"primary performer"}],"period":{"start":""#);
        json::moment(b, at.m);
        b.push_str(r#"","end":""#);
        json::moment(b, at.m.plus_secs(minutes * 60));
        w!(
            b,
            r#""}},"individual":{{"reference":"Practitioner?identifier=http://hl7.org/fhir/sid/us-npi|{npi}","display":"Dr. {g}{gs} {f}{fs}"}}}}],"period":{{"start":""#,
            npi = prac.npi,
            g = prac.given,
            gs = prac.suffix * 3 % 1000,
            f = prac.family,
            fs = prac.suffix,
        );
        json::moment(b, at.m);
        b.push_str(r#"","end":""#);
        json::moment(b, at.m.plus_secs(minutes * 60));
        b.push_str("\"}");
        if let Some(i) = acute {
            let dx = &self.w.cat.noise_dx[i].dx;
            w!(
                b,
                r#","reasonCode":[{{"coding":[{{"system":"http://snomed.info/sct","code":"{}","display":"{}"}}]}}]"#,
                dx.snomed,
                dx.display
            );
        }
        w!(
            b,
            r#","location":[{{"location":{{"reference":"Location?identifier=https://github.com/synthetichealth/synthea|{o}","display":"{n}"}}}}],"serviceProvider":{{"reference":"Organization?identifier=https://github.com/synthetichealth/synthea|{o}","display":"{n}"}}"#,
            o = org.id.as_str(),
            n = org.name,
        );
        self.end(Kind::Encounter)
    }

    fn condition_head(
        &mut self,
        id: &Id,
        clinical: Option<&str>,
        verification: &str,
        problem: bool,
    ) {
        self.head(Kind::Condition, id);
        let profile = if problem {
            "us-core-condition-problems-health-concerns"
        } else {
            "us-core-condition-encounter-diagnosis"
        };
        w!(
            self.buf,
            r#","meta":{{"profile":["http://hl7.org/fhir/us/core/StructureDefinition/{profile}"]}}"#
        );
        if let Some(c) = clinical {
            w!(
                self.buf,
                r#","clinicalStatus":{{"coding":[{{"system":"http://terminology.hl7.org/CodeSystem/condition-clinical","code":"{c}"}}]}}"#
            );
        }
        w!(
            self.buf,
            r#","verificationStatus":{{"coding":[{{"system":"http://terminology.hl7.org/CodeSystem/condition-ver-status","code":"{verification}"}}]}}"#
        );
        if problem {
            self.buf.push_str(r#","category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-category","code":"problem-list-item","display":"Problem List Item"}]}]"#);
        } else {
            self.buf.push_str(r#","category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-category","code":"encounter-diagnosis","display":"Encounter Diagnosis"}]}]"#);
        }
    }

    fn condition_tail(&mut self, at: &At, urn: bool, abated: Option<NaiveDate>) {
        self.reference("subject", urn);
        self.enc_ref(at, urn);
        self.buf.push_str(r#","onsetDateTime":""#);
        json::moment(self.buf, at.m);
        self.buf.push('"');
        if let Some(a) = abated {
            self.buf.push_str(r#","abatementDateTime":""#);
            json::moment(self.buf, Moment { day: a, ..at.m });
            self.buf.push('"');
        }
        self.buf.push_str(r#","recordedDate":""#);
        json::moment(self.buf, at.m);
        self.buf.push('"');
    }

    fn noise_condition(
        &mut self,
        at: &At,
        index: usize,
        abated: Option<NaiveDate>,
    ) -> io::Result<()> {
        let NoiseCondition { dx, tested_sets } = &self.w.cat.noise_dx[index];
        let dx = *dx;
        // An abatement after as-of is not known yet: the condition is still active.
        let abated = abated.filter(|a| *a < self.w.as_of);
        let id = self.rng.uuid();
        let urn = self.use_urn();
        let with_icd = dx.icd.is_some() && self.rng.chance(0.5);
        self.condition_head(
            &id,
            Some(if abated.is_some() { "resolved" } else { "active" }),
            "confirmed",
            false,
        );
        w!(
            self.buf,
            r#","code":{{"coding":[{{"system":"http://snomed.info/sct","code":"{}","display":"{}"}}"#,
            dx.snomed,
            dx.display
        );
        if with_icd && let Some((c, d)) = dx.icd {
            w!(self.buf, r#",{{"system":"{}","code":"{c}","display":"{d}"}}"#, tables::ICD10CM);
        }
        w!(self.buf, r#"],"text":"{}"}}"#, dx.display);
        self.condition_tail(at, urn, abated);
        self.end(Kind::Condition)?;
        self.conditions_written += 1;
        self.visit_dx.push(id);
        if !tested_sets.is_empty() {
            let sets = tested_sets.clone();
            self.tr.condition(
                &sets,
                abated.is_none(),
                at.m.day,
                format!("Condition/{}", id.as_str()),
            );
        }
        Ok(())
    }

    fn planted_condition(&mut self, at: &At, dx: &PlantedDx) -> io::Result<()> {
        let id = self.rng.uuid();
        let urn = self.use_urn();
        let (clinical, verification, abated) = match dx.status {
            DxStatus::Active => (Some("active"), "confirmed", None),
            DxStatus::Unstated => (None, "confirmed", None),
            DxStatus::Resolved(d) => (Some("resolved"), "confirmed", Some(d)),
            DxStatus::EnteredInError => (None, "entered-in-error", None),
            DxStatus::Refuted => (None, "refuted", None),
        };
        let problem = dx.problem_list && clinical.is_some();
        self.condition_head(&id, clinical, verification, problem);
        let b = &mut *self.buf;
        if let Some(text) = dx.text {
            w!(b, r#","code":{{"text":"{text}"}}"#);
        } else {
            b.push_str(r#","code":{"coding":["#);
            for (i, c) in dx.codings.iter().enumerate() {
                if i > 0 {
                    b.push(',');
                }
                w!(
                    b,
                    r#"{{"system":"{}","code":"{}","display":"{}"}}"#,
                    c.system,
                    c.code,
                    c.display
                );
            }
            let text = dx.codings.first().map_or("", |c| c.display);
            w!(b, r#"],"text":"{text}"}}"#);
        }
        self.condition_tail(at, urn, abated);
        self.end(Kind::Condition)?;
        self.conditions_written += 1;
        self.visit_dx.push(id);
        // What restless reads from it: the sets planted, current unless resolved; nothing when
        // entered in error or refuted. Text-only diagnoses are read through the phrases of the
        // knowledge base, so their sets come from it.
        let counts =
            matches!(dx.status, DxStatus::Active | DxStatus::Unstated | DxStatus::Resolved(_));
        if counts {
            let mut sets: Vec<String> = Vec::new();
            for c in &dx.codings {
                for s in c.sets {
                    if !sets.iter().any(|x| x == s) {
                        sets.push((*s).to_owned());
                    }
                }
            }
            if let Some(text) = dx.text {
                for s in self.w.cat.kb.terminology().sets_for_text(text) {
                    if !sets.iter().any(|x| x == s) {
                        sets.push(s.to_owned());
                    }
                }
            }
            let active = !matches!(dx.status, DxStatus::Resolved(_));
            self.tr.condition(&sets, active, at.m.day, format!("Condition/{}", id.as_str()));
        }
        Ok(())
    }

    fn vitals(&mut self, at: &At, kind: VisitKind) -> io::Result<()> {
        let age = age_at(self.p.birth, at.m.day);
        let child_height =
            50.0 + 25.0 * f64::from(age.min(2)) + 6.0 * f64::from(age.saturating_sub(2));
        let height = if age >= 18 { self.p.height } else { child_height.min(self.p.height) };
        let bmi = if age >= 18 {
            self.p.bmi + self.rng.uniform(-1.0, 1.0)
        } else {
            self.rng.uniform(15.0, 19.5)
        };
        let weight = bmi * (height / 100.0) * (height / 100.0);
        let full = self.p.full_precision;
        let d1 = if full { 99 } else { 1 };
        match kind {
            VisitKind::Wellness => {
                self.vital(at, &tables::HEIGHT, height, d1)?;
                self.vital(at, &tables::WEIGHT, weight, d1)?;
                if age >= 2 {
                    self.vital(at, &tables::BMI, bmi, if full { 99 } else { 2 })?;
                }
                if age < 3 {
                    let head = 35.0 + 4.0 * f64::from(age) + self.rng.uniform(0.0, 8.0);
                    self.vital(at, &tables::HEAD, head, d1)?;
                }
                if (2..20).contains(&age) {
                    let pct = self.rng.uniform(5.0, 95.0);
                    self.vital(at, &tables::BMI_PERCENTILE, pct, d1)?;
                }
                self.blood_pressure(at)?;
                let hr = self.rng.normal(74.0, 10.0, 48.0, 120.0);
                self.vital(at, &tables::HEART_RATE, hr, if full { 99 } else { 0 })?;
                let rr = self.rng.normal(15.0, 2.0, 10.0, 24.0);
                self.vital(at, &tables::RESP_RATE, rr, if full { 99 } else { 0 })?;
                if self.rng.chance(0.4) {
                    let o2 = self.rng.uniform(95.0, 99.5);
                    self.vital(at, &tables::O2_SAT, o2, 1)?;
                }
                if self.rng.chance(0.3) {
                    let t = self.rng.normal(36.9, 0.25, 36.0, 37.6);
                    self.vital(at, &tables::TEMPERATURE, t, 1)?;
                }
                if age >= 18 {
                    let pain = self.rng.range(0, 4) as f64;
                    self.survey_score(at, pain)?;
                    self.smoking(at)?;
                }
            }
            VisitKind::Sick | VisitKind::Emergency | VisitKind::Followup => {
                self.blood_pressure(at)?;
                let hr = self.rng.normal(84.0, 12.0, 50.0, 140.0);
                self.vital(at, &tables::HEART_RATE, hr, if full { 99 } else { 0 })?;
                let rr = self.rng.normal(16.0, 2.5, 10.0, 30.0);
                self.vital(at, &tables::RESP_RATE, rr, 0)?;
                let t = self.rng.normal(37.6, 0.6, 36.2, 39.8);
                self.vital(at, &tables::TEMPERATURE, t, 1)?;
                if self.rng.chance(0.5) {
                    let o2 = self.rng.uniform(92.0, 99.5);
                    self.vital(at, &tables::O2_SAT, o2, 1)?;
                }
                if age >= 18 {
                    let pain = self.rng.range(1, 8) as f64;
                    self.survey_score(at, pain)?;
                }
            }
            VisitKind::Prenatal { .. } | VisitKind::Dialysis => {
                self.blood_pressure(at)?;
                self.vital(at, &tables::WEIGHT, weight, d1)?;
                let hr = self.rng.normal(78.0, 9.0, 50.0, 120.0);
                self.vital(at, &tables::HEART_RATE, hr, 0)?;
            }
        }
        Ok(())
    }

    fn vital(&mut self, at: &At, lab: &Lab, value: f64, decimals: usize) -> io::Result<Id> {
        self.obs_q(at, &Q { lab, value, decimals, cmp: None, status: "final", cat: Cat::Vital })
    }

    fn obs_start(&mut self, id: &Id, cat: Cat, status: &str) {
        self.head(Kind::Observation, id);
        let (code, display) = cat.code();
        w!(
            self.buf,
            r#","meta":{{"profile":["{}"]}},"status":"{status}","category":[{{"coding":[{{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":"{code}","display":"{display}"}}]}}]"#,
            cat.profile()
        );
    }

    fn obs_when(&mut self, at: &At, urn: bool) {
        self.reference("subject", urn);
        self.enc_ref(at, urn);
        if self.rng.chance(0.002) {
            // A period instead of a date-time: valid, read from its end.
            self.buf.push_str(r#","effectivePeriod":{"start":""#);
            json::moment(self.buf, at.m);
            self.buf.push_str(r#"","end":""#);
            json::moment(self.buf, at.m);
            self.buf.push_str("\"}");
        } else {
            self.buf.push_str(r#","effectiveDateTime":""#);
            json::moment(self.buf, at.m);
            self.buf.push('"');
        }
        self.buf.push_str(r#","issued":""#);
        let ms = self.rng.below(1000) as u32;
        json::instant(self.buf, at.m.plus_secs(3600), ms);
        self.buf.push('"');
    }

    /// A quantity observation; tracked when restless reads it as a lab value.
    fn obs_q(&mut self, at: &At, q: &Q<'_>) -> io::Result<Id> {
        let id = self.rng.uuid();
        let urn = self.use_urn();
        self.obs_start(&id, q.cat, q.status);
        let Lab { loinc, display, unit } = *q.lab;
        w!(
            self.buf,
            r#","code":{{"coding":[{{"system":"http://loinc.org","code":"{loinc}","display":"{display}"}}],"text":"{display}"}}"#
        );
        self.obs_when(at, urn);
        self.buf.push_str(r#","valueQuantity":{"value":"#);
        let written = if q.decimals >= 99 {
            w!(self.buf, "{}", q.value);
            q.value
        } else {
            num(self.buf, q.value, q.decimals);
            json::rounded(q.value, q.decimals)
        };
        if let Some(c) = q.cmp {
            w!(self.buf, r#","comparator":"{}""#, c.symbol());
        }
        w!(self.buf, r#","unit":"{unit}","system":"http://unitsofmeasure.org","code":"{unit}"}}"#);
        self.end(Kind::Observation)?;
        if !matches!(q.status, "entered-in-error" | "cancelled" | "registered")
            && let Some((analyte, value)) = self.w.cat.canonical(q.lab, written)
        {
            self.tr.lab(
                analyte,
                value,
                q.cmp,
                at.m.day,
                format!("Observation/{}", id.as_str()),
                "valueQuantity".to_owned(),
            );
        }
        Ok(id)
    }

    fn blood_pressure(&mut self, at: &At) -> io::Result<()> {
        let sys = self.rng.normal(122.0, 13.0, 90.0, 180.0);
        let dia = self.rng.normal(78.0, 8.0, 55.0, 110.0);
        let id = self.rng.uuid();
        let urn = self.use_urn();
        self.obs_start(&id, Cat::Vital, "final");
        self.buf.push_str(r#","code":{"coding":[{"system":"http://loinc.org","code":"85354-9","display":"Blood pressure panel with all children optional"}],"text":"Blood pressure panel with all children optional"}"#);
        self.obs_when(at, urn);
        let full = self.p.full_precision;
        self.buf.push_str(r#","component":[{"code":{"coding":[{"system":"http://loinc.org","code":"8462-4","display":"Diastolic Blood Pressure"}],"text":"Diastolic Blood Pressure"},"valueQuantity":{"value":"#);
        if full {
            w!(self.buf, "{dia}");
        } else {
            num(self.buf, dia, 0);
        }
        self.buf.push_str(r#","unit":"mm[Hg]","system":"http://unitsofmeasure.org","code":"mm[Hg]"}},{"code":{"coding":[{"system":"http://loinc.org","code":"8480-6","display":"Systolic Blood Pressure"}],"text":"Systolic Blood Pressure"},"valueQuantity":{"value":"#);
        if full {
            w!(self.buf, "{sys}");
        } else {
            num(self.buf, sys, 0);
        }
        self.buf.push_str(
            r#","unit":"mm[Hg]","system":"http://unitsofmeasure.org","code":"mm[Hg]"}}]"#,
        );
        self.end(Kind::Observation)
    }

    fn survey_score(&mut self, at: &At, pain: f64) -> io::Result<()> {
        self.obs_q(
            at,
            &Q {
                lab: &tables::PAIN,
                value: pain,
                decimals: 0,
                cmp: None,
                status: "final",
                cat: Cat::Survey,
            },
        )?;
        Ok(())
    }

    fn obs_coded(
        &mut self,
        at: &At,
        (loinc, display): (&str, &str),
        (code, value): (&str, &str),
    ) -> io::Result<Id> {
        let id = self.rng.uuid();
        let urn = self.use_urn();
        self.obs_start(&id, Cat::Survey, "final");
        w!(
            self.buf,
            r#","code":{{"coding":[{{"system":"http://loinc.org","code":"{loinc}","display":"{display}"}}],"text":"{display}"}}"#
        );
        self.obs_when(at, urn);
        w!(
            self.buf,
            r#","valueCodeableConcept":{{"coding":[{{"system":"http://snomed.info/sct","code":"{code}","display":"{value}"}}],"text":"{value}"}}"#
        );
        self.end(Kind::Observation)?;
        if let Some((answer, Some(yes))) = self.w.cat.kb.terminology().coded_answer(loinc, &[code])
        {
            self.tr.coded(answer, yes, at.m.day, format!("Observation/{}", id.as_str()));
        }
        Ok(id)
    }

    fn smoking(&mut self, at: &At) -> io::Result<()> {
        let (code, value) = tables::SMOKING[self.p.smoking];
        self.obs_coded(at, ("72166-2", "Tobacco smoking status"), (code, value))?;
        Ok(())
    }

    fn pregnancy_status(&mut self, at: &At, yes: bool) -> io::Result<()> {
        let value = if yes {
            ("77386006", "Pregnant (finding)")
        } else {
            ("60001007", "Not pregnant (finding)")
        };
        self.obs_coded(at, ("82810-3", "Pregnancy status"), value)?;
        Ok(())
    }

    fn report(
        &mut self,
        at: &At,
        panel: Option<(&str, &str)>,
        text: &str,
        results: &[(Id, &str)],
    ) -> io::Result<()> {
        let id = self.rng.uuid();
        let urn = self.use_urn();
        let org = self.w.orgs[self.w.pracs[at.prac].org].name;
        self.head(Kind::DiagnosticReport, &id);
        self.buf.push_str(r#","meta":{"profile":["http://hl7.org/fhir/us/core/StructureDefinition/us-core-diagnosticreport-lab"]},"status":"final","category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v2-0074","code":"LAB","display":"Laboratory"}]}]"#);
        match panel {
            Some((code, display)) => w!(
                self.buf,
                r#","code":{{"coding":[{{"system":"http://loinc.org","code":"{code}","display":"{display}"}}],"text":"{display}"}}"#
            ),
            None => w!(self.buf, r#","code":{{"text":"{text}"}}"#),
        }
        self.reference("subject", urn);
        self.enc_ref(at, urn);
        self.buf.push_str(r#","effectiveDateTime":""#);
        json::moment(self.buf, at.m);
        self.buf.push_str(r#"","issued":""#);
        json::instant(self.buf, at.m.plus_secs(3600), 84);
        w!(self.buf, r#"","performer":[{{"display":"{org}"}}],"result":["#);
        for (i, (rid, d)) in results.iter().enumerate() {
            if i > 0 {
                self.buf.push(',');
            }
            if urn {
                w!(self.buf, r#"{{"reference":"urn:uuid:{}","display":"{d}"}}"#, rid.as_str());
            } else {
                w!(self.buf, r#"{{"reference":"Observation/{}","display":"{d}"}}"#, rid.as_str());
            }
        }
        self.buf.push(']');
        self.end(Kind::DiagnosticReport)
    }

    fn lab(
        &mut self,
        at: &At,
        lab: &'static Lab,
        value: f64,
        decimals: usize,
        out: &mut Vec<(Id, &'static str)>,
    ) -> io::Result<()> {
        let id =
            self.obs_q(at, &Q { lab, value, decimals, cmp: None, status: "final", cat: Cat::Lab })?;
        out.push((id, lab.display));
        Ok(())
    }

    /// The eGFR this patient has on this day.
    fn egfr_on(&mut self, day: NaiveDate) -> f64 {
        let age = f64::from(age_at(self.p.birth, day));
        match self.p.kidney {
            Kidney::Normal => {
                self.rng.normal(100.0 - 0.7 * (age - 30.0).max(0.0), 10.0, 62.0, 130.0)
            }
            Kidney::Ckd { egfr } => {
                if day >= self.w.window {
                    (egfr + self.rng.uniform(-2.0, 2.0)).clamp(16.5, 57.0)
                } else {
                    let years = (self.w.window - day).num_days() as f64 / 365.25;
                    (egfr + 2.5 * years + self.rng.uniform(-3.0, 3.0)).clamp(16.5, 95.0)
                }
            }
            Kidney::Esrd => {
                if day >= minus(self.w.as_of, 2 * 365) {
                    self.rng.uniform(5.0, 13.0)
                } else {
                    self.rng.uniform(16.0, 35.0)
                }
            }
        }
    }

    fn bmp(&mut self, at: &At) -> io::Result<()> {
        let mut out = Vec::with_capacity(10);
        let diabetic = matches!(self.p.diabetes, Diabetes::Coded | Diabetes::LabOnly);
        let glucose =
            if diabetic { self.rng.uniform(110.0, 220.0) } else { self.rng.uniform(70.0, 105.0) };
        self.lab(at, &tables::GLUCOSE, glucose, 1, &mut out)?;
        let urea = self.rng.uniform(7.0, 20.0);
        self.lab(at, &tables::UREA, urea, 1, &mut out)?;
        let egfr = self.egfr_on(at.m.day);
        let age = age_at(self.p.birth, at.m.day);
        let scr = creatinine_for(egfr, age, self.p.female);
        let c = self.rng.weighted(&[0.55, 0.3, 0.15]);
        let crea = &tables::CREATININE[c];
        if crea.unit == "umol/L" {
            self.lab(at, crea, scr * 88.4, 0, &mut out)?;
        } else {
            self.lab(at, crea, scr, 2, &mut out)?;
        }
        for (lab, lo, hi) in [
            (&tables::CALCIUM, 8.6, 10.3),
            (&tables::SODIUM, 136.0, 145.0),
            (&tables::POTASSIUM, 3.5, 5.1),
            (&tables::CHLORIDE, 98.0, 107.0),
            (&tables::CO2, 22.0, 29.0),
        ] {
            let v = self.rng.uniform(lo, hi);
            self.lab(at, lab, v, 1, &mut out)?;
        }
        // eGFR is always reported with the creatinine, as laboratories do.
        let e = self.rng.weighted(&[0.5, 0.35, 0.15]);
        let decimals = usize::from(self.rng.chance(0.3));
        self.lab(at, &tables::EGFR[e], egfr, decimals, &mut out)?;
        self.report(at, Some(("51990-0", "Basic metabolic panel - Blood")), "", &out)
    }

    fn lipid(&mut self, at: &At) -> io::Result<()> {
        let mut out = Vec::with_capacity(4);
        let chol = self.rng.uniform(150.0, 260.0);
        let tg = self.rng.uniform(70.0, 250.0);
        let hdl = self.rng.uniform(35.0, 80.0);
        let ldl = (chol - hdl - tg / 5.0).max(40.0);
        self.lab(at, &tables::CHOLESTEROL, chol, 1, &mut out)?;
        self.lab(at, &tables::TRIGLYCERIDES, tg, 1, &mut out)?;
        self.lab(at, &tables::LDL, ldl, 1, &mut out)?;
        self.lab(at, &tables::HDL, hdl, 1, &mut out)?;
        self.report(
            at,
            Some(("57698-3", "Lipid panel with direct LDL - Serum or Plasma")),
            "",
            &out,
        )
    }

    fn cbc(&mut self, at: &At, microcytic: bool) -> io::Result<()> {
        let mut out = Vec::with_capacity(11);
        let (hb, mcv) = if microcytic {
            let hb = if self.p.female {
                self.rng.uniform(9.0, 11.5)
            } else {
                self.rng.uniform(9.5, 12.5)
            };
            (hb, self.rng.uniform(66.0, 77.0))
        } else {
            let hb = if self.p.female {
                self.rng.uniform(12.3, 15.5)
            } else {
                self.rng.uniform(13.4, 17.0)
            };
            (hb, self.rng.uniform(82.0, 98.0))
        };
        let wbc = self.rng.uniform(4.0, 10.5);
        self.lab(at, &tables::WBC, wbc, 1, &mut out)?;
        let rbc = self.rng.uniform(4.0, 5.8);
        self.lab(at, &tables::RBC, rbc, 2, &mut out)?;
        if self.rng.chance(0.1) {
            self.lab(at, &tables::HB_G_L, hb * 10.0, 0, &mut out)?;
        } else {
            self.lab(at, &tables::HB, hb, 1, &mut out)?;
        }
        let hct = hb * 3.0;
        self.lab(at, &tables::HCT, hct, 1, &mut out)?;
        self.lab(at, &tables::MCV, mcv, 1, &mut out)?;
        let mch = mcv / 3.0;
        self.lab(at, &tables::MCH, mch, 1, &mut out)?;
        let mchc = self.rng.uniform(32.0, 36.0);
        self.lab(at, &tables::MCHC, mchc, 1, &mut out)?;
        let rdw = self.rng.uniform(39.0, 46.0);
        self.lab(at, &tables::RDW, rdw, 1, &mut out)?;
        let plt = self.rng.uniform(150.0, 400.0);
        self.lab(at, &tables::PLATELETS, plt, 0, &mut out)?;
        let pdw = self.rng.uniform(10.0, 17.0);
        self.lab(at, &tables::PDW, pdw, 1, &mut out)?;
        let mpv = self.rng.uniform(9.0, 12.5);
        self.lab(at, &tables::MPV, mpv, 1, &mut out)?;
        self.report(at, Some(("58410-2", "CBC panel - Blood by Automated count")), "", &out)
    }

    fn hba1c(&mut self, at: &At) -> io::Result<()> {
        let pct = match self.p.diabetes {
            Diabetes::Coded | Diabetes::LabOnly => self.rng.normal(7.7, 0.7, 6.8, 11.0),
            Diabetes::Pre => self.rng.uniform(5.7, 6.2),
            _ => self.rng.uniform(4.7, 5.6),
        };
        let mut out = Vec::with_capacity(1);
        if self.rng.chance(0.15) {
            let mmol = (pct - 2.152) / 0.09148;
            self.lab(at, &tables::HBA1C_IFCC, mmol, 0, &mut out)?;
        } else {
            self.lab(at, &tables::HBA1C_PCT, pct, 1, &mut out)?;
        }
        Ok(())
    }

    fn iron_panel(&mut self, at: &At, panel: &IronPanel) -> io::Result<()> {
        let mut out = Vec::with_capacity(4);
        if let Some((value, cmp, unit)) = panel.ferritin {
            let lab = &tables::FERRITIN[unit];
            let id = self.obs_q(
                at,
                &Q { lab, value, decimals: 1, cmp, status: panel.status, cat: Cat::Lab },
            )?;
            out.push((id, lab.display));
        }
        if let Some((tsat, form, unit)) = panel.tsat {
            if matches!(form, TsatForm::Reported | TsatForm::Both) {
                let id = self.obs_q(
                    at,
                    &Q {
                        lab: &tables::TSAT,
                        value: tsat,
                        decimals: 1,
                        cmp: None,
                        status: panel.status,
                        cat: Cat::Lab,
                    },
                )?;
                out.push((id, tables::TSAT.display));
            }
            if matches!(form, TsatForm::Derived | TsatForm::Both) {
                let tibc = self.rng.uniform(250.0, 420.0);
                let iron = tsat * tibc / 100.0;
                let (iron_v, tibc_v, decimals) =
                    if unit == 1 { (iron / 5.585, tibc / 5.585, 1) } else { (iron, tibc, 0) };
                for (lab, v) in [(&tables::IRON[unit], iron_v), (&tables::TIBC[unit], tibc_v)] {
                    let id = self.obs_q(
                        at,
                        &Q {
                            lab,
                            value: v,
                            decimals,
                            cmp: None,
                            status: panel.status,
                            cat: Cat::Lab,
                        },
                    )?;
                    out.push((id, lab.display));
                }
            }
        }
        self.report(at, None, "Iron studies", &out)
    }

    fn procedures(&mut self, at: &At, kind: VisitKind) -> io::Result<()> {
        let list: Vec<(&'static str, &'static str)> = match kind {
            VisitKind::Wellness => {
                let n = self.rng.range(1, 3) as usize;
                (0..n).map(|_| *self.rng.pick(tables::WELLNESS_PROCEDURES)).collect()
            }
            VisitKind::Sick | VisitKind::Emergency if self.rng.chance(0.45) => {
                vec![*self.rng.pick(tables::SICK_PROCEDURES)]
            }
            VisitKind::Dialysis => vec![tables::DIALYSIS],
            VisitKind::Prenatal { first: true } => vec![tables::OTHER_PROCEDURES[1]],
            VisitKind::Prenatal { first: false } if self.rng.chance(0.3) => {
                vec![tables::OTHER_PROCEDURES[2]]
            }
            VisitKind::Followup if self.rng.chance(0.3) => vec![tables::WELLNESS_PROCEDURES[1]],
            _ => Vec::new(),
        };
        for (code, display) in list {
            let id = self.rng.uuid();
            let urn = self.use_urn();
            let org = &self.w.orgs[self.w.pracs[at.prac].org];
            let minutes = self.rng.range(10, 45) as u32;
            self.head(Kind::Procedure, &id);
            w!(
                self.buf,
                r#","meta":{{"profile":["http://hl7.org/fhir/us/core/StructureDefinition/us-core-procedure"]}},"status":"completed","code":{{"coding":[{{"system":"http://snomed.info/sct","code":"{code}","display":"{display}"}}],"text":"{display}"}}"#
            );
            self.reference("subject", urn);
            self.enc_ref(at, urn);
            self.buf.push_str(r#","performedPeriod":{"start":""#);
            json::moment(self.buf, at.m);
            self.buf.push_str(r#"","end":""#);
            json::moment(self.buf, at.m.plus_secs(minutes * 60));
            w!(
                self.buf,
                r#""}},"location":{{"reference":"Location?identifier=https://github.com/synthetichealth/synthea|{}","display":"{}"}}"#,
                org.id.as_str(),
                org.name
            );
            self.end(Kind::Procedure)?;
            self.visit_items.push((tables::SNOMED, code, display));
        }
        Ok(())
    }

    fn immunizations(&mut self, at: &At, age: u32) -> io::Result<()> {
        let mut list = Vec::new();
        if matches!(at.m.day.month(), 9..=12 | 1) || self.rng.chance(0.3) {
            list.push(tables::FLU);
        }
        if age < 18 && self.rng.chance(0.5) {
            list.push(*self.rng.pick(tables::CHILD_VACCINES));
        } else if self.rng.chance(0.12) {
            list.push(*self.rng.pick(tables::VACCINES));
        }
        for (code, display) in list {
            let id = self.rng.uuid();
            let urn = self.use_urn();
            let org = &self.w.orgs[self.w.pracs[at.prac].org];
            self.head(Kind::Immunization, &id);
            w!(
                self.buf,
                r#","meta":{{"profile":["http://hl7.org/fhir/us/core/StructureDefinition/us-core-immunization"]}},"status":"completed","vaccineCode":{{"coding":[{{"system":"http://hl7.org/fhir/sid/cvx","code":"{code}","display":"{display}"}}],"text":"{display}"}}"#
            );
            self.reference("patient", urn);
            self.enc_ref(at, urn);
            self.buf.push_str(r#","occurrenceDateTime":""#);
            json::moment(self.buf, at.m);
            w!(
                self.buf,
                r#"","primarySource":true,"location":{{"reference":"Location?identifier=https://github.com/synthetichealth/synthea|{}","display":"{}"}}"#,
                org.id.as_str(),
                org.name
            );
            self.end(Kind::Immunization)?;
            self.visit_items.push(("http://hl7.org/fhir/sid/cvx", code, display));
        }
        Ok(())
    }

    fn med_head(&mut self, id: &Id, status: &str, intent: &str) {
        self.head(Kind::MedicationRequest, id);
        w!(
            self.buf,
            r#","meta":{{"profile":["http://hl7.org/fhir/us/core/StructureDefinition/us-core-medicationrequest"]}},"status":"{status}","intent":"{intent}","category":[{{"coding":[{{"system":"http://terminology.hl7.org/CodeSystem/medicationrequest-category","code":"community","display":"Community"}}],"text":"Community"}}]"#
        );
    }

    fn med_tail(&mut self, at: &At, urn: bool, validity: Option<(NaiveDate, NaiveDate)>) {
        self.reference("subject", urn);
        self.enc_ref(at, urn);
        self.buf.push_str(r#","authoredOn":""#);
        json::moment(self.buf, at.m);
        let prac = &self.w.pracs[at.prac];
        w!(
            self.buf,
            r#"","requester":{{"reference":"Practitioner?identifier=http://hl7.org/fhir/sid/us-npi|{}","display":"Dr. {}{} {}{}"}}"#,
            prac.npi,
            prac.given,
            prac.suffix * 3 % 1000,
            prac.family,
            prac.suffix
        );
        let freq = self.rng.range(1, 3);
        w!(
            self.buf,
            r#","dosageInstruction":[{{"sequence":1,"timing":{{"repeat":{{"frequency":{freq},"period":1.0,"periodUnit":"d"}}}},"asNeededBoolean":false,"doseAndRate":[{{"type":{{"coding":[{{"system":"http://terminology.hl7.org/CodeSystem/dose-rate-type","code":"ordered","display":"Ordered"}}]}},"doseQuantity":{{"value":1.0}}}}]}}]"#
        );
        if let Some((start, end)) = validity {
            self.buf.push_str(r#","dispenseRequest":{"validityPeriod":{"start":""#);
            json::date(self.buf, start);
            self.buf.push_str(r#"","end":""#);
            json::date(self.buf, end);
            w!(
                self.buf,
                r#""}},"numberOfRepeatsAllowed":{},"quantity":{{"value":30,"unit":"TAB"}},"expectedSupplyDuration":{{"value":30,"unit":"days","system":"http://unitsofmeasure.org","code":"d"}}}}"#,
                self.rng.range(0, 5)
            );
        }
    }

    fn noise_med(&mut self, at: &At, rx: &NoiseRx, status: &str) -> io::Result<()> {
        let id = self.rng.uuid();
        let urn = self.use_urn();
        self.med_head(&id, status, "order");
        w!(
            self.buf,
            r#","medicationCodeableConcept":{{"coding":[{{"system":"{}","code":"{}","display":"{}"}}],"text":"{}"}}"#,
            tables::RXNORM,
            rx.rxcui,
            rx.display,
            rx.display
        );
        self.med_tail(at, urn, None);
        self.end(Kind::MedicationRequest)?;
        self.medications_written += 1;
        self.pharmacy_claim(at, &id, (rx.rxcui, rx.display))
    }

    fn planted_med(&mut self, at: &At, p: &PlantedRx) -> io::Result<()> {
        let id = self.rng.uuid();
        let urn = self.use_urn();
        let (status, intent) = match p.status {
            RxStatus::Active | RxStatus::ActiveUntil(_) => ("active", "order"),
            RxStatus::Stopped => ("stopped", "order"),
            RxStatus::Completed => ("completed", "order"),
            RxStatus::EnteredInError => ("entered-in-error", "order"),
            RxStatus::Draft => ("draft", "order"),
            RxStatus::Plan => ("active", "plan"),
        };
        self.med_head(&id, status, intent);
        let rx = p.rx;
        let ingredient_codes: Vec<(&str, &str)> = rx
            .ingredients
            .iter()
            .filter_map(|i| self.w.cat.ingredient_rxcui(i).map(|c| (c, *i)))
            .collect();
        let form = match p.form {
            RxForm::Ingredient if ingredient_codes.is_empty() => RxForm::Scd,
            f => f,
        };
        let b = &mut *self.buf;
        match form {
            RxForm::Scd => w!(
                b,
                r#","medicationCodeableConcept":{{"coding":[{{"system":"{}","code":"{}","display":"{}"}}],"text":"{}"}}"#,
                tables::RXNORM,
                rx.rxcui,
                rx.display,
                rx.display
            ),
            RxForm::ScdAndIngredient | RxForm::Ingredient => {
                b.push_str(r#","medicationCodeableConcept":{"coding":["#);
                let mut first = true;
                if form == RxForm::ScdAndIngredient {
                    w!(
                        b,
                        r#"{{"system":"{}","code":"{}","display":"{}"}}"#,
                        tables::RXNORM,
                        rx.rxcui,
                        rx.display
                    );
                    first = false;
                }
                for (code, name) in &ingredient_codes {
                    if !first {
                        b.push(',');
                    }
                    first = false;
                    w!(
                        b,
                        r#"{{"system":"{}","code":"{code}","display":"{name}"}}"#,
                        tables::RXNORM
                    );
                }
                w!(b, r#"],"text":"{}"}}"#, rx.display);
            }
            RxForm::Written => {
                b.push_str(r#","medicationCodeableConcept":{"text":""#);
                esc(b, rx.written);
                b.push_str("\"}");
            }
            RxForm::Contained => w!(
                b,
                r##","contained":[{{"resourceType":"Medication","id":"med0","code":{{"coding":[{{"system":"{}","code":"{}","display":"{}"}}],"text":"{}"}},"status":"active"}}],"medicationReference":{{"reference":"#med0","display":"{}"}}"##,
                tables::RXNORM,
                rx.rxcui,
                rx.display,
                rx.display,
                rx.display
            ),
        }
        let validity = match p.status {
            RxStatus::ActiveUntil(end) => Some((at.m.day, end)),
            _ => None,
        };
        self.med_tail(at, urn, validity);
        self.end(Kind::MedicationRequest)?;
        self.medications_written += 1;
        // What restless reads from it.
        let med_status = match p.status {
            RxStatus::Active | RxStatus::ActiveUntil(_) => Some(MedStatus::Active),
            RxStatus::Stopped | RxStatus::Completed => Some(MedStatus::Stopped),
            RxStatus::EnteredInError | RxStatus::Draft | RxStatus::Plan => None,
        };
        if let Some(s) = med_status {
            let end = validity.map(|(_, e)| e);
            self.tr.medication(
                rx.ingredients,
                s,
                at.m.day,
                end,
                format!("MedicationRequest/{}", id.as_str()),
            );
        }
        if !matches!(p.status, RxStatus::EnteredInError | RxStatus::Draft | RxStatus::Plan) {
            self.pharmacy_claim(at, &id, (rx.rxcui, rx.display))?;
        }
        Ok(())
    }

    fn care_plan(&mut self, at: &At) -> io::Result<()> {
        let (cc, cd, ac, ad) = *self.rng.pick(tables::CARE_PLANS);
        let id = self.rng.uuid();
        let urn = self.use_urn();
        self.head(Kind::CarePlan, &id);
        w!(
            self.buf,
            r#","meta":{{"profile":["http://hl7.org/fhir/us/core/StructureDefinition/us-core-careplan"]}},"text":{{"status":"generated","div":"<div xmlns=\"http://www.w3.org/1999/xhtml\">Care Plan for {cd}.<br/>Activities: <ul><li>{cd}</li></ul></div>"}},"status":"active","intent":"order","category":[{{"coding":[{{"system":"http://hl7.org/fhir/us/core/CodeSystem/careplan-category","code":"assess-plan"}}]}},{{"coding":[{{"system":"http://snomed.info/sct","code":"{cc}","display":"{cd}"}}],"text":"{cd}"}}]"#
        );
        self.reference("subject", urn);
        self.enc_ref(at, urn);
        self.buf.push_str(r#","period":{"start":""#);
        json::moment(self.buf, at.m);
        w!(
            self.buf,
            r#""}},"activity":[{{"detail":{{"code":{{"coding":[{{"system":"http://snomed.info/sct","code":"{ac}","display":"{ad}"}}],"text":"{ad}"}},"status":"in-progress","location":{{"display":"{}"}}}}}}]"#,
            self.w.orgs[self.w.pracs[at.prac].org].name
        );
        self.end(Kind::CarePlan)
    }

    fn allergy(&mut self, at: &At) -> io::Result<()> {
        let (code, display, category) = *self.rng.pick(tables::ALLERGIES);
        let id = self.rng.uuid();
        let urn = self.use_urn();
        self.head(Kind::AllergyIntolerance, &id);
        w!(
            self.buf,
            r#","meta":{{"profile":["http://hl7.org/fhir/us/core/StructureDefinition/us-core-allergyintolerance"]}},"clinicalStatus":{{"coding":[{{"system":"http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical","code":"active"}}]}},"verificationStatus":{{"coding":[{{"system":"http://terminology.hl7.org/CodeSystem/allergyintolerance-verification","code":"confirmed"}}]}},"type":"allergy","category":["{category}"],"criticality":"low","code":{{"coding":[{{"system":"http://snomed.info/sct","code":"{code}","display":"{display}"}}],"text":"{display}"}}"#
        );
        self.reference("patient", urn);
        self.buf.push_str(r#","recordedDate":""#);
        json::moment(self.buf, at.m);
        self.buf.push('"');
        self.end(Kind::AllergyIntolerance)
    }

    fn claim(&mut self, at: &At) -> io::Result<Id> {
        let id = self.rng.uuid();
        let urn = self.use_urn();
        let org = &self.w.orgs[self.w.pracs[at.prac].org];
        let name = self.name_display();
        self.head(Kind::Claim, &id);
        self.buf.push_str(r#","status":"active","type":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/claim-type","code":"professional"}]},"use":"claim""#);
        let r = if urn { &self.p.urn } else { &self.p.relative };
        w!(
            self.buf,
            r#","patient":{{"reference":"{r}","display":"{name}"}},"billablePeriod":{{"start":""#
        );
        json::moment(self.buf, at.m);
        self.buf.push_str(r#"","end":""#);
        json::moment(self.buf, at.m.plus_secs(1800));
        self.buf.push_str(r#""},"created":""#);
        json::moment(self.buf, at.m.plus_secs(1800));
        w!(
            self.buf,
            r#"","provider":{{"reference":"Organization?identifier=https://github.com/synthetichealth/synthea|{o}","display":"{n}"}},"priority":{{"coding":[{{"system":"http://terminology.hl7.org/CodeSystem/processpriority","code":"normal"}}]}},"facility":{{"reference":"Location?identifier=https://github.com/synthetichealth/synthea|{o}","display":"{n}"}}"#,
            o = org.id.as_str(),
            n = org.name,
        );
        if !self.visit_dx.is_empty() {
            self.buf.push_str(r#","diagnosis":["#);
            for (i, c) in self.visit_dx.iter().enumerate() {
                if i > 0 {
                    self.buf.push(',');
                }
                w!(
                    self.buf,
                    r#"{{"sequence":{},"diagnosisReference":{{"reference":"Condition/{}"}}}}"#,
                    i + 1,
                    c.as_str()
                );
            }
            self.buf.push(']');
        }
        w!(
            self.buf,
            r#","insurance":[{{"sequence":1,"focal":true,"coverage":{{"display":"{}"}}}}],"item":["#,
            self.p.payer
        );
        let mut total = 0.0;
        for (i, (system, code, display)) in self.visit_items.iter().enumerate() {
            if i > 0 {
                self.buf.push(',');
            }
            let net = 50.0 + (i as f64 * 37.5) % 400.0;
            total += net;
            w!(
                self.buf,
                r#"{{"sequence":{s},"productOrService":{{"coding":[{{"system":"{system}","code":"{code}","display":"{display}"}}],"text":"{display}"}},"encounter":[{{"reference":"Encounter/{e}"}}],"net":{{"value":{net:.2},"currency":"USD"}}}}"#,
                s = i + 1,
                e = at.enc.as_str(),
            );
        }
        w!(self.buf, r#"],"total":{{"value":{total:.2},"currency":"USD"}}"#);
        self.end(Kind::Claim)?;
        Ok(id)
    }

    fn pharmacy_claim(
        &mut self,
        at: &At,
        med: &Id,
        (code, display): (&str, &str),
    ) -> io::Result<()> {
        if !self.rng.chance(0.5) {
            return Ok(());
        }
        let id = self.rng.uuid();
        let urn = self.use_urn();
        let org = &self.w.orgs[self.w.pracs[at.prac].org];
        self.head(Kind::Claim, &id);
        self.buf.push_str(r#","status":"active","type":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/claim-type","code":"pharmacy"}]},"use":"claim""#);
        self.reference("patient", urn);
        self.buf.push_str(r#","billablePeriod":{"start":""#);
        json::moment(self.buf, at.m);
        self.buf.push_str(r#"","end":""#);
        json::moment(self.buf, at.m.plus_secs(900));
        self.buf.push_str(r#""},"created":""#);
        json::moment(self.buf, at.m.plus_secs(900));
        let cost = self.rng.uniform(2.0, 300.0);
        w!(
            self.buf,
            r#"","provider":{{"reference":"Organization?identifier=https://github.com/synthetichealth/synthea|{o}","display":"{n}"}},"priority":{{"coding":[{{"system":"http://terminology.hl7.org/CodeSystem/processpriority","code":"normal"}}]}},"prescription":{{"reference":"MedicationRequest/{m}"}},"insurance":[{{"sequence":1,"focal":true,"coverage":{{"display":"{payer}"}}}}],"item":[{{"sequence":1,"productOrService":{{"coding":[{{"system":"{rx}","code":"{code}","display":"{display}"}}],"text":"{display}"}},"encounter":[{{"reference":"Encounter/{e}"}}]}}],"total":{{"value":{cost:.2},"currency":"USD"}}"#,
            o = org.id.as_str(),
            n = org.name,
            m = med.as_str(),
            payer = self.p.payer,
            rx = tables::RXNORM,
            e = at.enc.as_str(),
        );
        self.end(Kind::Claim)
    }

    fn eob(&mut self, at: &At, claim_id: &Id) -> io::Result<()> {
        let id = self.rng.uuid();
        let urn = self.use_urn();
        let org = &self.w.orgs[self.w.pracs[at.prac].org];
        let prac = &self.w.pracs[at.prac];
        let r = if urn { self.p.urn.clone() } else { self.p.relative.clone() };
        let payer = self.p.payer;
        self.head(Kind::ExplanationOfBenefit, &id);
        w!(
            self.buf,
            r#","meta":{{"profile":["http://hl7.org/fhir/us/core/StructureDefinition/us-core-explanationofbenefit"]}},"contained":[{{"resourceType":"ServiceRequest","id":"referral","status":"completed","intent":"order","subject":{{"reference":"{r}"}},"requester":{{"reference":"Practitioner?identifier=http://hl7.org/fhir/sid/us-npi|{npi}"}},"performer":[{{"reference":"Practitioner?identifier=http://hl7.org/fhir/sid/us-npi|{npi}"}}]}},{{"resourceType":"Coverage","id":"coverage","status":"active","type":{{"text":"{payer}"}},"beneficiary":{{"reference":"{r}"}},"payor":[{{"display":"{payer}"}}]}}],"identifier":[{{"system":"https://bluebutton.cms.gov/resources/variables/clm_id","value":"{c}"}},{{"system":"https://bluebutton.cms.gov/resources/identifier/claim-group","value":"99999999999"}}],"status":"active","type":{{"coding":[{{"system":"http://terminology.hl7.org/CodeSystem/claim-type","code":"professional"}}]}},"use":"claim","patient":{{"reference":"{r}"}},"billablePeriod":{{"start":""#,
            npi = prac.npi,
            c = claim_id.as_str(),
        );
        json::moment(self.buf, at.m);
        self.buf.push_str(r#"","end":""#);
        json::moment(self.buf, at.m.plus_secs(1800));
        self.buf.push_str(r#""},"created":""#);
        json::moment(self.buf, at.m.plus_secs(1800));
        w!(
            self.buf,
            r##"","insurer":{{"display":"{payer}"}},"provider":{{"reference":"Practitioner?identifier=http://hl7.org/fhir/sid/us-npi|{npi}"}},"referral":{{"reference":"#referral"}},"facility":{{"reference":"Location?identifier=https://github.com/synthetichealth/synthea|{o}","display":"{n}"}},"claim":{{"reference":"Claim/{c}"}},"outcome":"complete","careTeam":[{{"sequence":1,"provider":{{"reference":"Practitioner?identifier=http://hl7.org/fhir/sid/us-npi|{npi}"}},"role":{{"coding":[{{"system":"http://terminology.hl7.org/CodeSystem/claimcareteamrole","code":"primary","display":"Primary provider"}}]}}}}]"##,
            npi = prac.npi,
            o = org.id.as_str(),
            n = org.name,
            c = claim_id.as_str(),
        );
        if !self.visit_dx.is_empty() {
            self.buf.push_str(r#","diagnosis":["#);
            for (i, c) in self.visit_dx.iter().enumerate() {
                if i > 0 {
                    self.buf.push(',');
                }
                w!(
                    self.buf,
                    r#"{{"sequence":{},"diagnosisReference":{{"reference":"Condition/{}"}},"type":[{{"coding":[{{"system":"http://terminology.hl7.org/CodeSystem/ex-diagnosistype","code":"principal"}}]}}]}}"#,
                    i + 1,
                    c.as_str()
                );
            }
            self.buf.push(']');
        }
        w!(
            self.buf,
            r##","insurance":[{{"focal":true,"coverage":{{"reference":"#coverage","display":"{payer}"}}}}],"item":["##
        );
        let mut total = 0.0;
        let mut paid = 0.0;
        let n_items = self.visit_items.len();
        for i in 0..n_items {
            let (system, code, display) = self.visit_items[i];
            if i > 0 {
                self.buf.push(',');
            }
            let net = 50.0 + self.rng.uniform(0.0, 400.0);
            let coins = net * 0.2;
            let allowed = net - coins;
            total += net;
            paid += allowed;
            w!(
                self.buf,
                r#"{{"sequence":{s},"category":{{"coding":[{{"system":"https://bluebutton.cms.gov/resources/variables/line_cms_type_srvc_cd","code":"1","display":"Medical care"}}]}},"productOrService":{{"coding":[{{"system":"{system}","code":"{code}","display":"{display}"}}],"text":"{display}"}},"servicedPeriod":{{"start":""#,
                s = i + 1,
            );
            json::moment(self.buf, at.m);
            self.buf.push_str(r#"","end":""#);
            json::moment(self.buf, at.m.plus_secs(1800));
            w!(
                self.buf,
                r#""}},"locationCodeableConcept":{{"coding":[{{"system":"http://terminology.hl7.org/CodeSystem/ex-serviceplace","code":"19","display":"Off Campus-Outpatient Hospital"}}]}},"encounter":[{{"reference":"Encounter/{e}"}}],"net":{{"value":{net:.2},"currency":"USD"}},"adjudication":[{{"category":{{"coding":[{{"system":"https://bluebutton.cms.gov/resources/codesystem/adjudication","code":"https://bluebutton.cms.gov/resources/variables/line_coinsrnc_amt","display":"Line Beneficiary Coinsurance Amount"}}]}},"amount":{{"value":{coins:.2},"currency":"USD"}}}},{{"category":{{"coding":[{{"system":"https://bluebutton.cms.gov/resources/codesystem/adjudication","code":"https://bluebutton.cms.gov/resources/variables/line_prvdr_pmt_amt","display":"Line Provider Payment Amount"}}]}},"amount":{{"value":{allowed:.2},"currency":"USD"}}}},{{"category":{{"coding":[{{"system":"https://bluebutton.cms.gov/resources/codesystem/adjudication","code":"https://bluebutton.cms.gov/resources/variables/line_sbmtd_chrg_amt","display":"Line Submitted Charge Amount"}}]}},"amount":{{"value":{net:.2},"currency":"USD"}}}},{{"category":{{"coding":[{{"system":"https://bluebutton.cms.gov/resources/codesystem/adjudication","code":"https://bluebutton.cms.gov/resources/variables/line_alowd_chrg_amt","display":"Line Allowed Charge Amount"}}]}},"amount":{{"value":{net:.2},"currency":"USD"}}}},{{"category":{{"coding":[{{"system":"https://bluebutton.cms.gov/resources/codesystem/adjudication","code":"https://bluebutton.cms.gov/resources/variables/line_bene_ptb_ddctbl_amt","display":"Line Beneficiary Part B Deductible Amount"}}]}},"amount":{{"value":0,"currency":"USD"}}}},{{"category":{{"coding":[{{"system":"https://bluebutton.cms.gov/resources/codesystem/adjudication","code":"https://bluebutton.cms.gov/resources/variables/line_prcsg_ind_cd","display":"Line Processing Indicator Code"}}]}}}}]}}"#,
                e = at.enc.as_str(),
            );
        }
        w!(
            self.buf,
            r#"],"total":[{{"category":{{"coding":[{{"system":"http://terminology.hl7.org/CodeSystem/adjudication","code":"submitted","display":"Submitted Amount"}}],"text":"Submitted Amount"}},"amount":{{"value":{total:.2},"currency":"USD"}}}}],"payment":{{"amount":{{"value":{paid:.2},"currency":"USD"}}}}"#
        );
        self.end(Kind::ExplanationOfBenefit)
    }
}

/// The noise conditions that go with prediabetes.
const NOISE_PREDIABETES: &[&str] = &["15777000"];

/// Who the patient is and which profiles they get.
fn person(w: &World<'_, '_>, rng: &mut Rng) -> Person {
    let as_of = w.as_of;
    let id = rng.uuid();
    let rls = rng.chance(0.3);
    let female = rng.chance(if rls { 0.62 } else { 0.51 });
    let age: u32 = if rls {
        rng.range(20, 88) as u32
    } else {
        match rng.weighted(&[0.14, 0.36, 0.32, 0.18]) {
            0 => rng.range(1, 17) as u32,
            1 => rng.range(18, 44) as u32,
            2 => rng.range(45, 69) as u32,
            _ => rng.range(70, 95) as u32,
        }
    };
    let birth = as_of
        .checked_sub_months(Months::new(age * 12))
        .and_then(|d| d.checked_sub_days(Days::new(rng.below(365))))
        .unwrap_or(as_of);
    let odd = rng.chance(0.02);
    let given = rng.pick_copy(if odd {
        tables::ODD_GIVEN
    } else if female {
        tables::GIVEN_F
    } else {
        tables::GIVEN_M
    });
    let family = rng.pick_copy(if odd { tables::ODD_FAMILY } else { tables::FAMILY });
    let married_name = female && age >= 25 && rng.chance(0.5);
    let prefix = match (female, age >= 18, married_name) {
        (_, false, _) => "",
        (true, true, true) => "Mrs.",
        (true, true, false) => "Ms.",
        (false, true, _) => "Mr.",
    };
    let style = match rng.weighted(&[0.8, 0.08, 0.12]) {
        0 => Style::Relative,
        1 => Style::Urn,
        _ => Style::Mixed,
    };
    let adult = age >= 18;
    let kidney = if !adult {
        Kidney::Normal
    } else {
        let (p_esrd, p_ckd) = match (rls, age >= 50) {
            (true, true) => (0.07, 0.14),
            (true, false) => (0.04, 0.06),
            (false, true) => (0.02, 0.08),
            (false, false) => (0.005, 0.02),
        };
        match rng.weighted(&[p_esrd, p_ckd, 1.0 - p_esrd - p_ckd]) {
            0 => Kidney::Esrd,
            1 => Kidney::Ckd { egfr: rng.uniform(18.0, 56.0) },
            _ => Kidney::Normal,
        }
    };
    let diabetes = if !adult {
        Diabetes::None
    } else {
        let coded = if rls { 0.2 } else { 0.1 } * if age >= 40 { 1.3 } else { 0.5 };
        match rng.weighted(&[coded, 0.03, 0.02, 0.12, 0.2, 1.0]) {
            0 => Diabetes::Coded,
            1 => Diabetes::LabOnly,
            2 => Diabetes::MetforminOnly,
            3 => Diabetes::Pre,
            4 => Diabetes::NormalA1c,
            _ => Diabetes::None,
        }
    };
    let city = rng.index(tables::CITIES.len());
    Person {
        id,
        female,
        birth,
        age,
        given,
        family,
        suffix: (rng.range(10, 999) as u32, rng.range(10, 999) as u32),
        prefix,
        relative: format!("Patient/{}", id.as_str()),
        urn: format!("urn:uuid:{}", id.as_str()),
        style,
        city,
        home_prac: rng.index(w.pracs.len()),
        payer: rng.pick_copy(tables::PAYERS),
        rls,
        kidney,
        diabetes,
        smoking: rng.weighted(&[0.6, 0.25, 0.15]),
        height: if female {
            rng.normal(162.0, 7.0, 145.0, 185.0)
        } else {
            rng.normal(176.0, 7.0, 155.0, 200.0)
        },
        bmi: rng.normal(27.0, 4.5, 17.5, 45.0),
        full_precision: rng.chance(0.25),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn creatinine_inverts_ckd_epi() {
        for (egfr, age, female) in
            [(90.0, 50, false), (9.0, 70, true), (38.0, 60, false), (120.0, 25, true)]
        {
            let scr = creatinine_for(egfr, age, female);
            let (kappa, alpha, f) = if female { (0.7, -0.241, 1.012) } else { (0.9, -0.302, 1.0) };
            let r: f64 = scr / kappa;
            let back = 142.0
                * r.min(1.0).powf(alpha)
                * r.max(1.0).powf(-1.2)
                * 0.9938f64.powf(f64::from(age))
                * f;
            assert!((back - egfr).abs() < 0.5, "{egfr} -> {scr} -> {back}");
        }
    }
}
