//! Terminology: from codes, units and free text to knowledge-base ids.
//!
//! The input adapters use this and nothing else of the knowledge base: LOINC codes and lab
//! names to analytes, ICD-10-CM / SNOMED CT codes and phrases to condition sets, and RxNorm,
//! ATC and medication text (brands, doses, small misspellings) to drug ingredients and classes.

use std::collections::HashMap;

/// The lookup maps of the knowledge base: their keys come from the knowledge base only (never
/// from a person's record), so a fast hasher is safe; the input-keyed medication cache keeps
/// the standard one.
type KbMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;

use crate::model::{Analyte, ConditionSet, Drug, DrugClass, Product};

/// What the medication matcher found in a text.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MedMatch {
    /// Ingredient ids, in order of appearance, without repeats.
    pub ingredients: Vec<String>,
    /// Words that matched only after correcting a misspelling (`paroxetin` -> `paroxetine`).
    pub corrected: Vec<(String, String)>,
}

impl MedMatch {
    /// Whether anything was recognised.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.ingredients.is_empty()
    }
}

/// Code and text lookups, built once when the knowledge base is compiled.
#[derive(Clone, Debug, Default)]
pub struct Terminology {
    pub(crate) analytes: Vec<Analyte>,
    pub(crate) sets: Vec<ConditionSet>,
    pub(crate) classes: Vec<DrugClass>,
    pub(crate) drugs: Vec<Drug>,
    pub(crate) products: Vec<Product>,
    loinc: KbMap<String, usize>,
    analyte_names: KbMap<String, usize>,
    /// Normalised ICD-10 code or prefix -> indexes of the sets that list it, ascending.
    icd10: KbMap<String, Vec<usize>>,
    snomed: KbMap<String, Vec<usize>>,
    set_phrases: Vec<(Vec<String>, usize)>,
    /// First word of a phrase -> indexes into `set_phrases`.
    phrase_starts: KbMap<String, Vec<usize>>,
    rxcui: KbMap<String, usize>,
    atc_drug: KbMap<String, Vec<usize>>,
    drug_index: KbMap<String, usize>,
    /// Normalised phrase -> ingredient ids.
    lexicon: KbMap<String, Vec<String>>,
    /// Single-word lexicon entries of six letters or more, for misspelling correction.
    fuzzy_words: Vec<String>,
    /// Every string reachable from a fuzzy word by deleting up to the edits it allows, to the
    /// words it comes from (symmetric-delete candidate lookup: a misspelling within k edits
    /// shares a k-deletion variant with the word).
    deletions: KbMap<String, Vec<u32>>,
    never_correct: Vec<String>,
    longest_phrase: usize,
    /// Medication texts already matched: exports repeat the same few thousand drug names
    /// millions of times. Bounded; shared by clones and threads.
    med_cache: std::sync::Arc<std::sync::RwLock<HashMap<Box<str>, MedMatch>>>,
    /// (LOINC, SNOMED value) -> (answer, yes or no).
    coded: KbMap<(String, String), (restless_facts::Answer, bool)>,
    coded_loinc: KbMap<String, restless_facts::Answer>,
}

/// Words never corrected into a drug name: dose forms, salts and routes.
const NOT_DRUGS: &[&str] = &[
    "tablet",
    "tablets",
    "capsule",
    "capsules",
    "extended",
    "release",
    "delayed",
    "injection",
    "injectable",
    "solution",
    "suspension",
    "topical",
    "transdermal",
    "ophthalmic",
    "chewable",
    "disintegrating",
    "hydrochloride",
    "sulfate",
    "sulphate",
    "succinate",
    "tartrate",
    "maleate",
    "citrate",
    "sodium",
    "potassium",
    "calcium",
    "carbonate",
    "acetate",
    "bromide",
    "mesylate",
    "fumarate",
    "besylate",
    "hydrobromide",
    "monohydrate",
    "anhydrous",
    "orally",
    "nightly",
    "bedtime",
    "morning",
    "evening",
    "weekly",
    "monthly",
    "product",
    "patch",
    "spray",
    "liquid",
    "cream",
    "ointment",
    "lotion",
    "powder",
    "syrup",
    "elixir",
    "drops",
    "pellet",
    "inhaler",
    "prefilled",
    "syringe",
    "cartridge",
    "vitamin",
    "supplement",
    "pack",
    "kit",
    "strength",
    "metered",
    "chloride",
    "phosphate",
    "lactate",
    "gluconate",
    "oxalate",
    "pamoate",
    "decanoate",
    "enanthate",
    "palmitate",
    "lauroxil",
    "valerate",
    "benzoate",
    "dihydrochloride",
    "hcl",
    "sustained",
    "controlled",
    "immediate",
    "modified",
    "coated",
    "enteric",
    "film",
    "buccal",
    "sublingual",
    "intravenous",
    "intramuscular",
    "subcutaneous",
    "rectal",
    "vaginal",
    "nasal",
];

/// Lower-case words of a text: letters and digits, split where letters meet digits. This is
/// how the medication and condition matchers see text.
#[must_use]
pub fn words(text: &str) -> Vec<String> {
    let (low, spans) = word_spans(text);
    spans.into_iter().map(|r| low[r].to_owned()).collect()
}

/// [`words`] as byte ranges of one lower-cased copy of the text, without a string per word.
fn word_spans(text: &str) -> (String, Vec<std::ops::Range<usize>>) {
    let mut low = String::with_capacity(text.len());
    let mut spans = Vec::new();
    let mut start: Option<usize> = None;
    let mut cur_digit = false;
    for ch in text.chars() {
        // ASCII first: the same result as the general case, without the Unicode tables.
        let (c, alphanumeric) = if ch.is_ascii() {
            (ch.to_ascii_lowercase(), ch.is_ascii_alphanumeric())
        } else {
            let c = ch.to_lowercase().next().unwrap_or(ch);
            (c, c.is_alphanumeric())
        };
        if alphanumeric {
            let digit = c.is_ascii_digit();
            if let Some(s) = start
                && digit != cur_digit
            {
                spans.push(s..low.len());
                start = None;
            }
            cur_digit = digit;
            start.get_or_insert(low.len());
            low.push(c);
        } else if let Some(s) = start.take() {
            spans.push(s..low.len());
        }
    }
    if let Some(s) = start {
        spans.push(s..low.len());
    }
    (low, spans)
}

/// The normal form of a phrase for lookups: its words joined by single spaces.
pub(crate) fn phrase(text: &str) -> String {
    words(text).join(" ")
}

/// Normal form of an ICD-10 code: upper case, no dot, no spaces.
pub(crate) fn icd10_key(code: &str) -> String {
    code.trim()
        .chars()
        .filter(|c| *c != '.' && !c.is_whitespace())
        .flat_map(char::to_uppercase)
        .collect()
}

/// Optimal-string-alignment distance, giving up above `max`.
fn edit_distance(a: &str, b: &str, max: usize) -> Option<usize> {
    if a.len().abs_diff(b.len()) > max * 4 {
        return None; // cheap byte-length filter before any allocation (UTF-8 is at most 4 bytes a char)
    }
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    if a.len().abs_diff(b.len()) > max {
        return None;
    }
    let w = b.len() + 1;
    let mut d = vec![0usize; (a.len() + 1) * w];
    for (j, cell) in d.iter_mut().take(b.len() + 1).enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        d[i * w] = i;
        let mut row_min = usize::MAX;
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            let mut v = (d[(i - 1) * w + j] + 1)
                .min(d[i * w + j - 1] + 1)
                .min(d[(i - 1) * w + j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                v = v.min(d[(i - 2) * w + j - 2] + 1);
            }
            d[i * w + j] = v;
            row_min = row_min.min(v);
        }
        if row_min > max {
            return None;
        }
    }
    let v = d[a.len() * w + b.len()];
    (v <= max).then_some(v)
}

/// The word and every string made from it by deleting up to `k` characters.
fn deletion_variants(word: &str, k: usize) -> Vec<String> {
    let mut seen: std::collections::HashSet<String> = std::collections::HashSet::new();
    seen.insert(word.to_owned());
    let mut frontier = vec![word.to_owned()];
    for _ in 0..k {
        let mut next = Vec::new();
        for w in &frontier {
            let chars: Vec<char> = w.chars().collect();
            for skip in 0..chars.len() {
                let v: String =
                    chars.iter().enumerate().filter(|&(i, _)| i != skip).map(|(_, c)| *c).collect();
                if seen.insert(v.clone()) {
                    next.push(v);
                }
            }
        }
        frontier = next;
    }
    seen.into_iter().collect()
}

/// How many edits a misspelling of a word this long may carry.
fn allowed_edits(len: usize) -> usize {
    match len {
        0..=5 => 0,
        6..=8 => 1,
        _ => 2,
    }
}

impl Terminology {
    pub(crate) fn build(
        analytes: Vec<Analyte>,
        sets: Vec<ConditionSet>,
        classes: Vec<DrugClass>,
        drugs: Vec<Drug>,
        products: Vec<Product>,
        never_correct: Vec<String>,
    ) -> Terminology {
        let mut t =
            Terminology { analytes, sets, classes, drugs, products, ..Terminology::default() };
        t.never_correct = never_correct.iter().map(|w| phrase(w)).collect();
        t.never_correct.sort();
        for (i, a) in t.analytes.iter().enumerate() {
            for code in &a.loinc {
                t.loinc.entry(code.clone()).or_insert(i);
            }
            for name in std::iter::once(&a.id).chain(std::iter::once(&a.name)).chain(&a.aliases) {
                t.analyte_names.entry(phrase(name)).or_insert(i);
            }
        }
        for (i, s) in t.sets.iter().enumerate() {
            for code in &s.icd10 {
                t.icd10.entry(icd10_key(code)).or_default().push(i);
            }
            for code in &s.snomed {
                t.snomed.entry(code.clone()).or_default().push(i);
            }
            for p in &s.text {
                let w = words(p);
                if let Some(first) = w.first() {
                    t.phrase_starts.entry(first.clone()).or_default().push(t.set_phrases.len());
                }
                t.set_phrases.push((w, i));
            }
        }
        for (i, d) in t.drugs.iter().enumerate() {
            t.drug_index.insert(d.id.clone(), i);
            if let Some(rx) = &d.rxcui {
                t.rxcui.insert(rx.clone(), i);
            }
            for code in &d.atc {
                t.atc_drug.entry(code.to_ascii_uppercase()).or_default().push(i);
            }
            for name in std::iter::once(&d.id).chain(&d.synonyms).chain(&d.brands) {
                let entry = t.lexicon.entry(phrase(name)).or_default();
                if !entry.contains(&d.id) {
                    entry.push(d.id.clone());
                }
            }
        }
        for p in &t.products {
            let entry = t.lexicon.entry(phrase(&p.name)).or_default();
            for ing in &p.ingredients {
                if !entry.contains(ing) {
                    entry.push(ing.clone());
                }
            }
        }
        t.longest_phrase = t.lexicon.keys().map(|k| k.split(' ').count()).max().unwrap_or(1);
        let mut fuzzy: Vec<String> = t
            .lexicon
            .keys()
            .filter(|k| {
                !k.contains(' ') && k.chars().count() >= 6 && k.chars().all(char::is_alphabetic)
            })
            .cloned()
            .collect();
        fuzzy.sort();
        let mut deletions: KbMap<String, Vec<u32>> = KbMap::default();
        for (i, w) in fuzzy.iter().enumerate() {
            let i = u32::try_from(i).unwrap_or(u32::MAX);
            for d in deletion_variants(w, allowed_edits(w.chars().count())) {
                let e = deletions.entry(d).or_default();
                if !e.contains(&i) {
                    e.push(i);
                }
            }
        }
        t.fuzzy_words = fuzzy;
        t.deletions = deletions;
        t
    }

    pub(crate) fn add_coded(
        &mut self,
        loinc: &str,
        value: &str,
        answer: restless_facts::Answer,
        yes: bool,
    ) {
        self.coded.insert((loinc.to_owned(), value.to_owned()), (answer, yes));
        self.coded_loinc.insert(loinc.to_owned(), answer);
    }

    /// The questionnaire answer a coded observation stands for: `Some((answer, Some(yes)))`
    /// when the value is known, `Some((answer, None))` when the observation is one of these but
    /// its value is not in the lists, `None` when the LOINC code is not a coded answer.
    #[must_use]
    pub fn coded_answer(
        &self,
        loinc: &str,
        snomed_values: &[&str],
    ) -> Option<(restless_facts::Answer, Option<bool>)> {
        let answer = *self.coded_loinc.get(loinc.trim())?;
        for v in snomed_values {
            if let Some((a, yes)) = self.coded.get(&(loinc.trim().to_owned(), v.trim().to_owned()))
            {
                return Some((*a, Some(*yes)));
            }
        }
        Some((answer, None))
    }

    /// LOINC codes of the coded observations that stand for answers.
    pub fn coded_loincs(&self) -> impl Iterator<Item = &str> {
        self.coded_loinc.keys().map(String::as_str)
    }

    /// Every analyte.
    #[must_use]
    pub fn analytes(&self) -> &[Analyte] {
        &self.analytes
    }

    /// An analyte by id.
    #[must_use]
    pub fn analyte(&self, id: &str) -> Option<&Analyte> {
        self.analytes.iter().find(|a| a.id == id)
    }

    /// The analyte a LOINC code means.
    #[must_use]
    pub fn analyte_by_loinc(&self, code: &str) -> Option<&Analyte> {
        self.loinc.get(code.trim()).map(|&i| &self.analytes[i])
    }

    /// The analyte a name means (`ferritin`, `TSAT`, `iron saturation`), case-insensitive.
    #[must_use]
    pub fn analyte_by_name(&self, name: &str) -> Option<&Analyte> {
        self.analyte_names.get(&phrase(name)).map(|&i| &self.analytes[i])
    }

    /// Every condition set.
    #[must_use]
    pub fn condition_sets(&self) -> &[ConditionSet] {
        &self.sets
    }

    /// Condition sets an ICD-10 or ICD-10-CM code belongs to (by code prefix).
    #[must_use]
    pub fn sets_for_icd10(&self, code: &str) -> Vec<&str> {
        let key = icd10_key(code);
        // Each prefix of the code (a handful of characters) is looked up, rather than every
        // listed prefix tried against the code; sets come in knowledge-base order.
        let mut hits: Vec<usize> = std::iter::once(0)
            .chain(key.char_indices().map(|(at, c)| at + c.len_utf8()))
            .filter_map(|end| self.icd10.get(&key[..end]))
            .flatten()
            .copied()
            .collect();
        hits.sort_unstable();
        let mut out: Vec<&str> = Vec::new();
        for i in hits {
            let id = self.sets[i].id.as_str();
            if !out.contains(&id) {
                out.push(id);
            }
        }
        out
    }

    /// Condition sets a SNOMED CT concept id belongs to.
    #[must_use]
    pub fn sets_for_snomed(&self, code: &str) -> Vec<&str> {
        self.snomed
            .get(code.trim())
            .map(|v| v.iter().map(|&i| self.sets[i].id.as_str()).collect())
            .unwrap_or_default()
    }

    /// Condition sets whose phrases appear, as whole words, in a text. A phrase right after a
    /// negating or qualifying word (`no`, `not`, `non`, `ex`, `former`, `denies`, `without`,
    /// `acute`, `history of`, `past`, `resolved`) does not count: "not pregnant", "ex-smoker" and
    /// "acute kidney failure" name no current condition of the set.
    #[must_use]
    pub fn sets_for_text(&self, text: &str) -> Vec<&str> {
        const QUALIFIERS: &[&str] = &[
            "no", "not", "non", "ex", "former", "denies", "without", "acute", "of", "past",
            "resolved", "never",
        ];
        let (low, spans) = word_spans(text);
        let w: Vec<&str> = spans.iter().map(|r| &low[r.clone()]).collect();
        // Only phrases starting with a word of the text can match; report them in the
        // knowledge base's order.
        let mut hits: Vec<usize> = Vec::new();
        for (at, word) in w.iter().enumerate() {
            let Some(candidates) = self.phrase_starts.get(*word) else { continue };
            if at > 0 && QUALIFIERS.contains(&w[at - 1]) {
                continue;
            }
            for &k in candidates {
                let p = &self.set_phrases[k].0;
                if w.get(at..at + p.len()).is_some_and(|win| win.iter().eq(p.iter())) {
                    hits.push(k);
                }
            }
        }
        hits.sort_unstable();
        let mut out: Vec<&str> = Vec::new();
        for k in hits {
            let id = self.sets[self.set_phrases[k].1].id.as_str();
            if !out.contains(&id) {
                out.push(id);
            }
        }
        out
    }

    /// Every drug class.
    #[must_use]
    pub fn drug_classes(&self) -> &[DrugClass] {
        &self.classes
    }

    /// A drug class by id.
    #[must_use]
    pub fn drug_class(&self, id: &str) -> Option<&DrugClass> {
        self.classes.iter().find(|c| c.id == id)
    }

    /// Every drug.
    #[must_use]
    pub fn drugs(&self) -> &[Drug] {
        &self.drugs
    }

    /// Every combination product.
    #[must_use]
    pub fn products(&self) -> &[Product] {
        &self.products
    }

    /// A drug by ingredient id.
    #[must_use]
    pub fn drug(&self, id: &str) -> Option<&Drug> {
        self.drug_index.get(id).map(|&i| &self.drugs[i])
    }

    /// The drug an RxNorm ingredient code means.
    #[must_use]
    pub fn drug_by_rxcui(&self, code: &str) -> Option<&Drug> {
        self.rxcui.get(code.trim()).map(|&i| &self.drugs[i])
    }

    /// Drugs with exactly this ATC code.
    #[must_use]
    pub fn drugs_by_atc(&self, code: &str) -> Vec<&Drug> {
        self.atc_drug
            .get(&code.trim().to_ascii_uppercase())
            .map(|v| v.iter().map(|&i| &self.drugs[i]).collect())
            .unwrap_or_default()
    }

    /// Classes an ATC code falls in by prefix (used when no drug has the exact code).
    #[must_use]
    pub fn classes_by_atc_prefix(&self, code: &str) -> Vec<&str> {
        let code = code.trim().to_ascii_uppercase();
        self.classes
            .iter()
            .filter(|c| {
                c.atc.iter().any(|p| code.starts_with(p.as_str()))
                    && !c.atc_exclude.iter().any(|p| code.starts_with(p.as_str()))
            })
            .map(|c| c.id.as_str())
            .collect()
    }

    /// Class ids of a set of ingredients plus classes known directly.
    pub fn classes_of<'a>(
        &'a self,
        ingredients: &'a [Box<str>],
        direct: &'a [Box<str>],
    ) -> impl Iterator<Item = &'a str> + 'a {
        ingredients
            .iter()
            .filter_map(|i| self.drug(i))
            .flat_map(|d| d.classes.iter().map(String::as_str))
            .chain(direct.iter().map(AsRef::as_ref))
    }

    /// Recognises drugs in free text (`Paxil 20 mg tablet`, `Sertraline 50 MG Oral Tablet`,
    /// `tylenol_pm`), ignoring dose, form and case, and correcting one edit in names of six to
    /// eight letters and two in longer ones when exactly one name is that close.
    ///
    /// In RxNorm's branded form "Generic 25 MG Oral Tablet \[Brand\]", the generic part names the
    /// ingredients exactly; the bracketed brand is read only when the generic part names none
    /// (a brand family such as "Dimetapp" covers products of different ingredients).
    #[must_use]
    pub fn match_medication_text(&self, text: &str) -> MedMatch {
        const CACHE_LIMIT: usize = 100_000;
        if let Some(m) = self.med_cache.read().ok().and_then(|c| c.get(text).cloned()) {
            return m;
        }
        let m = self.match_uncached(text);
        if let Ok(mut c) = self.med_cache.write()
            && c.len() < CACHE_LIMIT
        {
            c.insert(text.into(), m.clone());
        }
        m
    }

    fn match_uncached(&self, text: &str) -> MedMatch {
        if let Some((generic, _)) = text.split_once('[') {
            let m = self.match_words(generic);
            if !m.is_empty() {
                return m;
            }
        }
        self.match_words(text)
    }

    fn match_words(&self, text: &str) -> MedMatch {
        let w = words(text);
        let mut out = MedMatch::default();
        let push = |out: &mut MedMatch, ids: &[String]| {
            for id in ids {
                if !out.ingredients.contains(id) {
                    out.ingredients.push(id.clone());
                }
            }
        };
        let mut i = 0;
        'scan: while i < w.len() {
            for n in (1..=self.longest_phrase.min(w.len() - i)).rev() {
                let key = w[i..i + n].join(" ");
                if let Some(ids) = self.lexicon.get(&key) {
                    push(&mut out, ids);
                    i += n;
                    continue 'scan;
                }
            }
            let word = &w[i];
            if let Some(best) = self.correct(word)
                && let Some(ids) = self.lexicon.get(best)
            {
                push(&mut out, ids);
                out.corrected.push((word.clone(), best.to_owned()));
            }
            i += 1;
        }
        out
    }

    fn correct(&self, word: &str) -> Option<&str> {
        let len = word.chars().count();
        if len < 6
            || !word.chars().all(char::is_alphabetic)
            || NOT_DRUGS.contains(&word)
            || self.never_correct.binary_search_by(|w| w.as_str().cmp(word)).is_ok()
        {
            return None;
        }
        let mut candidates: Vec<u32> = Vec::new();
        for d in deletion_variants(word, 2) {
            if let Some(ids) = self.deletions.get(&d) {
                candidates.extend(ids);
            }
        }
        candidates.sort_unstable();
        candidates.dedup();
        let mut best: Option<(&str, usize)> = None;
        let mut tie = false;
        for cand in candidates.iter().filter_map(|&i| self.fuzzy_words.get(i as usize)) {
            let allowed = allowed_edits(cand.chars().count()).min(allowed_edits(len).max(1));
            if let Some(d) = edit_distance(word, cand, allowed) {
                match best {
                    Some((_, bd)) if d > bd => {}
                    Some((_, bd)) if d == bd => tie = true,
                    _ => {
                        best = Some((cand, d));
                        tie = false;
                    }
                }
            }
        }
        if tie { None } else { best.map(|(c, _)| c) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_split_doses_and_punctuation() {
        assert_eq!(words("Paxil 20mg tablet"), ["paxil", "20", "mg", "tablet"]);
        assert_eq!(words("tylenol_pm"), ["tylenol", "pm"]);
        assert_eq!(words("Toprol-XL"), ["toprol", "xl"]);
    }

    #[test]
    fn edit_distance_counts_transpositions_once() {
        assert_eq!(edit_distance("paroxetine", "paroxetine", 2), Some(0));
        assert_eq!(edit_distance("paroxetin", "paroxetine", 2), Some(1));
        assert_eq!(edit_distance("proxetine", "paroxetine", 2), Some(1));
        assert_eq!(edit_distance("praoxetine", "paroxetine", 2), Some(1));
        assert_eq!(edit_distance("sertraline", "paroxetine", 2), None);
    }

    #[test]
    fn icd10_codes_normalise() {
        assert_eq!(icd10_key(" e11.42 "), "E1142");
    }

    #[test]
    fn icd10_sets_are_those_whose_prefixes_start_the_code_in_kb_order() {
        let kb = crate::Kb::embedded().expect("embedded knowledge base");
        let t = kb.terminology();
        // The definition: every listed prefix tried in the knowledge base's order.
        let listed: Vec<(String, &str)> = t
            .sets
            .iter()
            .flat_map(|s| s.icd10.iter().map(move |c| (icd10_key(c), s.id.as_str())))
            .collect();
        let by_definition = |code: &str| {
            let key = icd10_key(code);
            let mut out: Vec<&str> = Vec::new();
            for (prefix, id) in &listed {
                if key.starts_with(prefix.as_str()) && !out.contains(id) {
                    out.push(id);
                }
            }
            out
        };
        let mut codes: Vec<String> = listed.iter().map(|(k, _)| k.clone()).collect();
        codes.extend(listed.iter().map(|(k, _)| format!("{k}9X")));
        codes.extend(["", "Z", "n18.6", " E11.42 ", "É11", "E1", "G2581", "N18"].map(String::from));
        let mut several = 0;
        for code in &codes {
            let got = t.sets_for_icd10(code);
            assert_eq!(got, by_definition(code), "{code}");
            several += usize::from(got.len() > 1);
        }
        assert!(several > 0, "no code falls in two sets: the order is not exercised");
    }
}
