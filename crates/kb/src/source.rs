//! The knowledge-base files as written: raw serde types that reject unknown fields.
//!
//! Every identifier or value that a later check may complain about is wrapped in
//! [`Spanned`] so the complaint can name its line.

use serde::Deserialize;
use toml::Spanned;
use toml::value::Datetime;

/// `manifest.toml`: the knowledge base's version and report-wide settings.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawManifest {
    pub version: Spanned<String>,
    pub reviewed: Spanned<Datetime>,
    pub lab_window_months: u32,
    pub disclaimer: String,
    pub references: Vec<Spanned<String>>,
    pub classification: RawClassification,
    #[serde(default)]
    pub background: Vec<RawBackground>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawClassification {
    /// Criteria referenced by `core-workup`.
    #[serde(default)]
    pub criterion: Vec<RawCriterion>,
    /// When the core work-up counts as done.
    pub core_workup: Spanned<toml::Value>,
    /// Seed claims the classification answers.
    pub seed: Vec<Spanned<String>>,
}

/// A paragraph of explanation in the project's own words (mechanism, history, framing).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawBackground {
    pub id: Spanned<String>,
    pub title: String,
    pub text: String,
    pub seed: Vec<Spanned<String>>,
    pub references: Vec<Spanned<String>>,
}

/// `references.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawReferences {
    pub reference: Vec<RawReference>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawReference {
    pub id: Spanned<String>,
    pub citation: String,
    #[serde(default)]
    pub url: Option<String>,
    /// The key in the clinical brief (`S2`), when there is one.
    #[serde(default)]
    pub brief_key: Option<String>,
}

/// `claims.toml`: how each seed claim is answered.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawClaims {
    pub claim: Vec<RawClaim>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawClaim {
    pub id: Spanned<String>,
    pub text: String,
    pub kind: Spanned<String>,
    /// How the project answers it, in a sentence.
    pub answered_by: String,
}

/// `labs.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawLabs {
    pub analyte: Vec<RawAnalyte>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawAnalyte {
    pub id: Spanned<String>,
    pub name: String,
    /// Other names a person or lab may use (`iron saturation`).
    #[serde(default)]
    pub aliases: Vec<String>,
    pub loinc: Vec<Spanned<String>>,
    /// The unit every value is converted to.
    pub unit: Spanned<String>,
    /// Other accepted units and how to convert them to `unit`.
    #[serde(default)]
    pub convert: Vec<RawConversion>,
    /// The work-up line when this analyte is missing (`ferritin`), if it is a test to order.
    #[serde(default)]
    pub workup: Option<String>,
    /// The LOINC code to show in the work-up (defaults to the first).
    #[serde(default)]
    pub workup_loinc: Option<Spanned<String>>,
    pub tag: Spanned<String>,
    pub references: Vec<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawConversion {
    pub unit: Spanned<String>,
    /// canonical = value × factor + offset
    pub factor: f64,
    #[serde(default)]
    pub offset: f64,
    /// The factor the brief gives for the way back (canonical → this unit), when it gives one.
    #[serde(default)]
    pub back: Option<f64>,
    pub tag: Spanned<String>,
}

/// `conditions.toml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawConditions {
    pub set: Vec<RawConditionSet>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawConditionSet {
    pub id: Spanned<String>,
    pub name: String,
    /// ICD-10-CM codes or prefixes (`E11.42`, `N18.`, `G35`).
    #[serde(default)]
    pub icd10: Vec<Spanned<String>>,
    /// SNOMED CT concept ids.
    #[serde(default)]
    pub snomed: Vec<Spanned<String>>,
    /// Phrases a person may write (matched on whole words, case-insensitive).
    #[serde(default)]
    pub text: Vec<Spanned<String>>,
    pub tag: Spanned<String>,
}

/// A file under `drugs/`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawDrugFile {
    #[serde(default)]
    pub class: Vec<RawDrugClass>,
    #[serde(default)]
    pub drug: Vec<RawDrug>,
    #[serde(default)]
    pub product: Vec<RawProduct>,
    /// Words that are never corrected into a drug name: other drugs' names and common words
    /// within an edit or two of a dictionary name (`tizanidine` is not `nizatidine`).
    #[serde(default)]
    pub never_correct: Vec<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawDrugClass {
    pub id: Spanned<String>,
    pub name: String,
    /// ATC prefixes that fall in the class.
    #[serde(default)]
    pub atc: Vec<Spanned<String>>,
    /// ATC prefixes excluded from it.
    #[serde(default)]
    pub atc_exclude: Vec<Spanned<String>>,
    /// Drug ids to suggest instead.
    #[serde(default)]
    pub alternatives: Vec<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawDrug {
    /// The ingredient, lower case (`paroxetine`).
    pub id: Spanned<String>,
    /// Other ingredient names (`chlorpheniramine`, `meclozine`).
    #[serde(default)]
    pub synonyms: Vec<Spanned<String>>,
    #[serde(default)]
    pub brands: Vec<Spanned<String>>,
    #[serde(default)]
    pub atc: Vec<Spanned<String>>,
    /// RxNorm ingredient code, when verified or corroborated.
    #[serde(default)]
    pub rxcui: Option<Spanned<String>>,
    #[serde(default)]
    pub rxcui_tag: Option<Spanned<String>>,
    pub classes: Vec<Spanned<String>>,
    /// worsens | may-worsen | neutral | safer-alternative | treatment
    pub direction: Spanned<String>,
    pub tag: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawProduct {
    pub name: Spanned<String>,
    pub ingredients: Vec<Spanned<String>>,
    pub tag: Spanned<String>,
}

/// A file under `causes/`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawCause {
    pub id: Spanned<String>,
    pub name: String,
    pub kind: Spanned<String>,
    pub strength: Spanned<String>,
    #[serde(default)]
    pub seed: Vec<Spanned<String>>,
    /// What it is, for a person.
    pub summary: String,
    /// Why the strength is what it is.
    pub evidence: String,
    /// Where current evidence qualifies or contradicts the seed article.
    #[serde(default)]
    pub qualifies_seed: Option<String>,
    pub advice: String,
    pub references: Vec<Spanned<String>>,
    pub reviewed: Spanned<Datetime>,
    #[serde(default)]
    pub criterion: Vec<RawCriterion>,
    pub rule: Option<RawRule>,
    #[serde(default)]
    pub example: Vec<RawExample>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawCriterion {
    pub id: Spanned<String>,
    pub fact: Spanned<String>,
    #[serde(default)]
    pub cmp: Option<Spanned<String>>,
    #[serde(default)]
    pub value: Option<Spanned<toml::Value>>,
    #[serde(default)]
    pub is: Option<Spanned<toml::Value>>,
    /// Met when the fact has any usable value; never unknown.
    #[serde(default)]
    pub known: Option<bool>,
    /// Recency window for labs, overriding the manifest's.
    #[serde(default)]
    pub within_months: Option<u32>,
    /// For conditions: also count resolved ones.
    #[serde(default)]
    pub include_history: Option<bool>,
    /// Verification tag of the threshold or code list: V, C or U.
    #[serde(default)]
    pub tag: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawRule {
    pub present: Spanned<toml::Value>,
    #[serde(default)]
    pub possible: Option<Spanned<toml::Value>>,
    #[serde(default)]
    pub absent: Option<Spanned<toml::Value>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawExample {
    pub name: String,
    pub as_of: Spanned<Datetime>,
    pub expect: Spanned<String>,
    #[serde(default)]
    pub facts: Vec<RawExampleFact>,
    /// Which lists are complete: `conditions`, `medications`.
    #[serde(default)]
    pub reviewed: Vec<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawExampleFact {
    /// A fact key, or `medication` for free text resolved by the drug dictionary.
    pub fact: Spanned<String>,
    #[serde(default)]
    pub value: Option<Spanned<toml::Value>>,
    #[serde(default)]
    pub date: Option<Spanned<Datetime>>,
    #[serde(default)]
    pub history: Option<bool>,
}

/// `observations.toml`: coded observation answers that stand for questionnaire answers
/// (pregnancy status, smoking status).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawObservations {
    pub coded: Vec<RawCoded>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub(crate) struct RawCoded {
    /// LOINC codes of the observation.
    pub loinc: Vec<Spanned<String>>,
    /// The yes/no answer it stands for (`pregnant`).
    pub answer: Spanned<String>,
    /// SNOMED CT values meaning yes.
    pub yes: Vec<Spanned<String>>,
    /// SNOMED CT values meaning no.
    #[serde(default)]
    pub no: Vec<Spanned<String>>,
    pub tag: Spanned<String>,
    pub references: Vec<Spanned<String>>,
}
