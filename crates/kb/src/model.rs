//! The compiled knowledge base: validated, with private invariants, ready for the engine.

use restless_facts::{Cmp, Date, FactKey, PatientRecord, Sex};

use crate::units::{normalise_unit, plain_unit};

/// How far a fact in the knowledge base was checked against its source (the brief's tags).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Tag {
    /// Seen in the cited source.
    Verified,
    /// Corroborated by two or more independent tables or secondary summaries.
    Corroborated,
    /// Not verified: shown as such wherever it drives a finding.
    Unverified,
}

impl Tag {
    pub(crate) fn parse(s: &str) -> Option<Tag> {
        Some(match s {
            "V" => Tag::Verified,
            "C" => Tag::Corroborated,
            "U" => Tag::Unverified,
            _ => return None,
        })
    }

    /// `verified`, `corroborated`, `unverified`.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Tag::Verified => "verified",
            Tag::Corroborated => "corroborated",
            Tag::Unverified => "unverified",
        }
    }
}

/// What a cause is to restless legs.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CauseKind {
    /// A predisposition, not a removable cause.
    PrimaryRisk,
    /// A condition that can produce or drive RLS.
    SecondaryCause,
    /// Something that worsens or unmasks RLS (drugs, lifestyle).
    Aggravator,
    /// A look-alike checked for diagnostic criterion 5.
    Mimic,
}

impl CauseKind {
    pub(crate) fn parse(s: &str) -> Option<CauseKind> {
        Some(match s {
            "primary-risk" => CauseKind::PrimaryRisk,
            "secondary-cause" => CauseKind::SecondaryCause,
            "aggravator" => CauseKind::Aggravator,
            "mimic" => CauseKind::Mimic,
            _ => return None,
        })
    }

    /// The contract's spelling.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            CauseKind::PrimaryRisk => "primary-risk",
            CauseKind::SecondaryCause => "secondary-cause",
            CauseKind::Aggravator => "aggravator",
            CauseKind::Mimic => "mimic",
        }
    }
}

/// Strength of the evidence that a cause matters for RLS.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Strength {
    /// Guideline-level or consistent prospective evidence.
    Strong,
    /// Consistent observational evidence or consensus lists.
    Moderate,
    /// Case reports, single small studies or mechanism only.
    Weak,
    /// Credible sources disagree.
    Contested,
}

impl Strength {
    pub(crate) fn parse(s: &str) -> Option<Strength> {
        Some(match s {
            "strong" => Strength::Strong,
            "moderate" => Strength::Moderate,
            "weak" => Strength::Weak,
            "contested" => Strength::Contested,
            _ => return None,
        })
    }

    /// The contract's spelling.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Strength::Strong => "strong",
            Strength::Moderate => "moderate",
            Strength::Weak => "weak",
            Strength::Contested => "contested",
        }
    }
}

/// What a criterion asks of its fact.
#[derive(Clone, Debug, PartialEq)]
pub enum Test {
    /// A condition or current drug of the class is recorded.
    Present,
    /// The fact has a usable value at all (never unknown).
    Known,
    /// A number compared with a threshold in the fact's canonical unit.
    Compare {
        /// The operator.
        op: Cmp,
        /// The threshold in the canonical unit.
        threshold: f64,
        /// The threshold as written in the knowledge base (`75 ng/mL`).
        written: String,
    },
    /// A yes/no answer equals this.
    Is(bool),
    /// Sex equals this.
    SexIs(Sex),
}

/// One testable statement about a fact.
#[derive(Clone, Debug, PartialEq)]
pub struct Criterion {
    /// Id, unique within its cause.
    pub id: String,
    /// The fact tested.
    pub fact: FactKey,
    /// The test.
    pub test: Test,
    /// For labs, the recency window in months.
    pub within_months: Option<u32>,
    /// For conditions, whether resolved ones count too.
    pub include_history: bool,
    /// Verification of the threshold or code list it relies on.
    pub tag: Tag,
    /// Human-readable rule (`ferritin <= 75 ng/mL within 12 months`).
    pub label: String,
}

/// A three-valued formula over a cause's criteria.
#[derive(Clone, Debug, PartialEq)]
pub enum Expr {
    /// The criterion at this index of the cause's criteria.
    Ref(usize),
    /// All must hold.
    All(Vec<Expr>),
    /// One must hold.
    Any(Vec<Expr>),
    /// Negation.
    Not(Box<Expr>),
}

/// When a cause is present, possible or absent.
#[derive(Clone, Debug, PartialEq)]
pub struct Rule {
    /// Met: the cause is present.
    pub present: Expr,
    /// Met (and present is not): the cause is possible.
    pub possible: Option<Expr>,
    /// Met: the cause is ruled out. Without it, a present formula that is not met rules it out.
    pub absent: Option<Expr>,
}

/// The status a knowledge-base example expects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expected {
    /// `present`
    Present,
    /// `possible`
    Possible,
    /// `absent`
    Absent,
    /// `unknown`
    Unknown,
}

impl Expected {
    /// The contract's spelling.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Expected::Present => "present",
            Expected::Possible => "possible",
            Expected::Absent => "absent",
            Expected::Unknown => "unknown",
        }
    }
}

/// A worked example stored with a cause and run by the test suite.
#[derive(Clone, Debug, PartialEq)]
pub struct Example {
    /// What it shows.
    pub name: String,
    /// The evaluation date.
    pub as_of: Date,
    /// The status the engine must give.
    pub expect: Expected,
    /// The person.
    pub record: PatientRecord,
}

/// A cause, aggravator, risk factor or mimic.
#[derive(Clone, Debug, PartialEq)]
pub struct Cause {
    /// Stable kebab-case id.
    pub id: String,
    /// Name for people.
    pub name: String,
    /// Kind.
    pub kind: CauseKind,
    /// Strength of evidence.
    pub strength: Strength,
    /// Seed claims it answers (`S10`).
    pub seed: Vec<String>,
    /// What it is.
    pub summary: String,
    /// Why the strength is what it is.
    pub evidence: String,
    /// How current evidence qualifies the seed article, when it does.
    pub qualifies_seed: Option<String>,
    /// What to do next.
    pub advice: String,
    /// Reference ids.
    pub references: Vec<String>,
    /// Last clinical review.
    pub reviewed: Date,
    /// Criteria used by the rule.
    pub criteria: Vec<Criterion>,
    /// The rule.
    pub rule: Rule,
    /// Worked examples.
    pub examples: Vec<Example>,
}

/// A full citation.
#[derive(Clone, Debug, PartialEq)]
pub struct Reference {
    /// Stable id (`aasm-2024`).
    pub id: String,
    /// Full citation.
    pub citation: String,
    /// Where to read it.
    pub url: Option<String>,
    /// The brief's key (`S2`).
    pub brief_key: Option<String>,
}

/// A seed claim and how the project answers it.
#[derive(Clone, Debug, PartialEq)]
pub struct Claim {
    /// `S01`...`S30`.
    pub id: String,
    /// The claim, paraphrased.
    pub text: String,
    /// The claim's kind in the seed list.
    pub kind: String,
    /// How it is answered.
    pub answered_by: String,
}

/// An explanatory paragraph (mechanism, history, framing).
#[derive(Clone, Debug, PartialEq)]
pub struct Background {
    /// Id.
    pub id: String,
    /// Title.
    pub title: String,
    /// Text in the project's own words.
    pub text: String,
    /// Seed claims it answers.
    pub seed: Vec<String>,
    /// Reference ids.
    pub references: Vec<String>,
}

/// A unit an analyte accepts and its conversion to the canonical unit.
#[derive(Clone, Debug, PartialEq)]
pub struct Conversion {
    /// The unit as written in the knowledge base.
    pub unit: String,
    pub(crate) normal: String,
    /// canonical = value × factor + offset.
    pub factor: f64,
    /// See `factor`.
    pub offset: f64,
    /// The brief's factor for canonical -> this unit, when it gives one.
    pub back: Option<f64>,
    /// Verification of the factor.
    pub tag: Tag,
}

/// A lab analyte.
#[derive(Clone, Debug, PartialEq)]
pub struct Analyte {
    /// Id (`ferritin`).
    pub id: String,
    /// Name for people.
    pub name: String,
    /// Other names.
    pub aliases: Vec<String>,
    /// LOINC codes that mean it.
    pub loinc: Vec<String>,
    /// Canonical unit.
    pub unit: String,
    /// Accepted units (the canonical one first, factor 1).
    pub conversions: Vec<Conversion>,
    /// The test to order when it is missing.
    pub workup: Option<String>,
    /// The LOINC code shown with the work-up.
    pub workup_loinc: Option<String>,
    /// Verification of the codes.
    pub tag: Tag,
    /// Reference ids.
    pub references: Vec<String>,
}

impl Analyte {
    fn conversion(&self, unit: &str) -> Option<&Conversion> {
        // Most units as written are their normal form but for case: compared as they are.
        // (A normal form has no upper-case ASCII, so ignoring ASCII case here is equality with
        // the unit's normal form.)
        if let Some(plain) = plain_unit(unit) {
            return self
                .conversions
                .iter()
                .find(|c| c.normal.as_bytes().eq_ignore_ascii_case(plain.as_bytes()));
        }
        let n = normalise_unit(unit);
        self.conversions.iter().find(|c| c.normal == n)
    }

    /// Converts a value in `unit` to the canonical unit; `None` when the unit is not one this
    /// analyte accepts (never guessed).
    #[must_use]
    pub fn to_canonical(&self, value: f64, unit: &str) -> Option<f64> {
        self.conversion(unit).map(|c| value * c.factor + c.offset)
    }

    /// Converts a canonical value to `unit`, with the brief's own factor for that direction
    /// when it gives one.
    #[must_use]
    pub fn from_canonical(&self, value: f64, unit: &str) -> Option<f64> {
        self.conversion(unit).map(|c| match c.back {
            Some(back) if c.offset == 0.0 => value * back,
            _ => (value - c.offset) / c.factor,
        })
    }

    /// Whether `unit` is accepted.
    #[must_use]
    pub fn accepts(&self, unit: &str) -> bool {
        self.conversion(unit).is_some()
    }
}

/// A named set of diagnosis codes and phrases.
#[derive(Clone, Debug, PartialEq)]
pub struct ConditionSet {
    /// Id (`esrd`).
    pub id: String,
    /// Name for people.
    pub name: String,
    /// ICD-10-CM codes or prefixes.
    pub icd10: Vec<String>,
    /// SNOMED CT ids.
    pub snomed: Vec<String>,
    /// Phrases.
    pub text: Vec<String>,
    /// Verification of the code list.
    pub tag: Tag,
}

/// A drug class.
#[derive(Clone, Debug, PartialEq)]
pub struct DrugClass {
    /// Id (`ssri`).
    pub id: String,
    /// Name for people.
    pub name: String,
    /// ATC prefixes in the class.
    pub atc: Vec<String>,
    /// ATC prefixes excluded.
    pub atc_exclude: Vec<String>,
    /// Drug ids to suggest instead.
    pub alternatives: Vec<String>,
}

/// What a drug does to RLS.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Direction {
    /// Consistent consensus and case evidence.
    Worsens,
    /// Weak or contested evidence.
    MayWorsen,
    /// Insufficient or mixed.
    Neutral,
    /// Suggested instead of a worsening drug.
    SaferAlternative,
    /// Used to treat RLS.
    Treatment,
}

impl Direction {
    pub(crate) fn parse(s: &str) -> Option<Direction> {
        Some(match s {
            "worsens" => Direction::Worsens,
            "may-worsen" => Direction::MayWorsen,
            "neutral" => Direction::Neutral,
            "safer-alternative" => Direction::SaferAlternative,
            "treatment" => Direction::Treatment,
            _ => return None,
        })
    }

    /// The knowledge base's spelling.
    #[must_use]
    pub fn name(self) -> &'static str {
        match self {
            Direction::Worsens => "worsens",
            Direction::MayWorsen => "may-worsen",
            Direction::Neutral => "neutral",
            Direction::SaferAlternative => "safer-alternative",
            Direction::Treatment => "treatment",
        }
    }
}

/// A drug ingredient.
#[derive(Clone, Debug, PartialEq)]
pub struct Drug {
    /// Ingredient name, lower case.
    pub id: String,
    /// Other ingredient names.
    pub synonyms: Vec<String>,
    /// Brand names.
    pub brands: Vec<String>,
    /// ATC codes.
    pub atc: Vec<String>,
    /// RxNorm ingredient code.
    pub rxcui: Option<String>,
    /// Verification of the RxNorm code.
    pub rxcui_tag: Option<Tag>,
    /// Class ids.
    pub classes: Vec<String>,
    /// Effect on RLS.
    pub direction: Direction,
    /// Verification of the entry's names and codes.
    pub tag: Tag,
}

/// A combination product named by brand (`Tylenol PM`).
#[derive(Clone, Debug, PartialEq)]
pub struct Product {
    /// The name.
    pub name: String,
    /// Ingredient ids (only those in the dictionary).
    pub ingredients: Vec<String>,
    /// Verification of the composition.
    pub tag: Tag,
}
