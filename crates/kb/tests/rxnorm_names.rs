//! The medication matcher over the 23,342 RxNorm names of the CDS Hooks sandbox's medication
//! picker (`shared/corpora/cds-hooks-sandbox-rxnorm-names/rxcui-to-name.json`).
//!
//! RxNorm names are spelled correctly, so any misspelling correction there is a false hit: the
//! corrected word goes into `kb/drugs/never-correct.toml`. The test also pins a sample of
//! expected hits (brands, salts, combinations) and expected misses (drugs not in the dictionary
//! that look like ones that are), and checks that every drug class is still reached by enough
//! names. Run with `--nocapture` to see the per-class counts.
//!
//! Speed: matching every name as written costs about 20 s in a debug build, nearly all of it
//! in misspelling correction of words that are not drug names at all ("pseudoephedrine",
//! "guaifenesin"), which repeat across thousands of names. So each distinct word is matched on
//! its own once; a word that matches nothing alone, is not corrected alone and is no word of
//! any dictionary name cannot affect the match of any name, and is replaced by a short neutral
//! token before the names are matched (names that then read alike are matched once).
//! `rewriting_keeps_every_match` checks on a spread sample that each rewritten name matches
//! exactly as the original does.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;
use std::sync::OnceLock;

use restless_kb::{Kb, MedMatch, words};

/// Correct brand names of dictionary drugs that are not (yet) listed as brands, so the matcher
/// reaches them by correcting one letter: the answer is right, but only by luck. Each pair is
/// (word, dictionary name it is corrected to). Once the brand is added to the dictionary the
/// correction disappears and its line here should go.
const PENDING_BRANDS: &[(&str, &str)] = &[];

/// Smallest number of names that must reach each class (about 80% of the count when the test
/// was written; see docs/medication-matching.md). Classes without a floor are only printed.
const CLASS_FLOORS: &[(&str, usize)] = &[
    ("beta-blocker", 250),
    ("h2-blocker", 70),
    ("antipsychotic", 400),
    ("lithium", 20),
    ("serotonergic-antidepressant", 300),
    ("mirtazapine-mianserin", 20),
    ("other-antidepressant", 90),
    ("antidepressant-alternative", 60),
    ("sedating-antihistamine", 750),
    ("non-sedating-antihistamine", 100),
    ("dopamine-antagonist-antiemetic", 45),
    ("antiemetic-alternative", 25),
    ("anticonvulsant-rls-reports", 110),
    ("anticonvulsant-other", 120),
    ("gabapentinoid", 50),
    ("tramadol", 30),
    ("opioid", 600),
    ("dopaminergic", 120),
    ("decarboxylase-inhibitor", 50),
    ("iron-supplement", 55),
    ("vitamin-c", 300),
    ("caffeine", 200),
    ("antidiabetic", 100),
    ("thyroid-hormone", 150),
    ("analgesic-other", 900),
];

/// Names that must be matched, by RxCUI, with their exact name and the dictionary ingredients
/// they contain (in any order, nothing more).
const EXPECTED_HITS: &[(&str, &str, &[&str])] = &[
    ("312941", "Sertraline 50 MG Oral Tablet", &["sertraline"]),
    ("208161", "Sertraline 50 MG Oral Tablet [Zoloft]", &["sertraline"]),
    ("1188169", "Zoloft Pill", &["sertraline"]),
    ("866427", "24 HR metoprolol succinate 25 MG Extended Release Oral Tablet", &["metoprolol"]),
    (
        "866429",
        "24 HR metoprolol succinate 25 MG Extended Release Oral Tablet [Toprol]",
        &["metoprolol"],
    ),
    (
        "1092376",
        "Acetaminophen 500 MG / Diphenhydramine Hydrochloride 25 MG [Tylenol PM]",
        &["acetaminophen", "diphenhydramine"],
    ),
    ("1187314", "Tylenol PM Pill", &["acetaminophen", "diphenhydramine"]),
    (
        "901817",
        "Diphenhydramine Citrate 38 MG / Ibuprofen 200 MG [Advil PM]",
        &["diphenhydramine", "ibuprofen"],
    ),
    ("1363309", "Chlorpheniramine Maleate 4 MG Oral Tablet", &["chlorpheniramine"]),
    (
        "1013619",
        "Chlorpheniramine Maleate 3 MG / Phenylephrine Hydrochloride 10 MG Oral Tablet",
        &["chlorpheniramine"],
    ),
    (
        "1087389",
        "12 HR CHLORPHENIRAMINE POLISTIREX 4 MG / HYDROCODONE POLISTIREX 5 MG Extended Release Oral Capsule [TussiCaps]",
        &["chlorpheniramine", "hydrocodone"],
    ),
    ("197889", "Lithium Carbonate 300 MG Oral Capsule", &["lithium"]),
    ("1164694", "Lithium Aspartate Pill", &["lithium"]),
    ("310273", "Famotidine 20 MG Oral Tablet", &["famotidine"]),
    ("1185203", "Pepcid Complete Pill", &["famotidine"]),
    ("1099562", "Divalproex Sodium 250 MG", &["valproate"]),
    ("1099669", "Valproic Acid 250 MG", &["valproate"]),
    (
        "210095",
        "ferrous sulfate 160 MG Extended Release Oral Tablet [Slow-Fe]",
        &["ferrous-sulfate"],
    ),
    ("724596", "Carbidopa 25 MG / Levodopa 100 MG [Sinemet]", &["carbidopa", "levodopa"]),
    ("199565", "Benserazide 25 MG / Levodopa 100 MG Oral Tablet", &["benserazide", "levodopa"]),
    ("199770", "Methotrimeprazine 25 MG Oral Tablet", &["levomepromazine"]),
    ("1245185", "Dimenhydrinate 25 MG [Dramamine]", &["dimenhydrinate"]),
    ("995633", "Meclizine Hydrochloride 25 MG [Bonine]", &["meclizine"]),
    (
        "1375950",
        "doxylamine succinate 10 MG / Pyridoxine Hydrochloride 10 MG [Diclegis]",
        &["doxylamine"],
    ),
    (
        "1052649",
        "Acetaminophen 325 MG / doxylamine succinate 6.25 MG / Phenylephrine Hydrochloride 5 MG [NyQuil Sinex]",
        &["acetaminophen", "doxylamine"],
    ),
    (
        "1236273",
        "Acetaminophen 325 MG / Dextromethorphan Hydrobromide 15 MG / doxylamine succinate 6.25 MG [Nyquil Cold & Flu]",
        &["acetaminophen", "doxylamine"],
    ),
    ("1484090", "Hydroxyzine Pamoate 25 MG", &["hydroxyzine"]),
    ("1151461", "Cyproheptadine Pill", &["cyproheptadine"]),
    ("721791", "24 HR quetiapine 200 MG Extended Release Oral Tablet", &["quetiapine"]),
    ("1180763", "Seroquel Pill", &["quetiapine"]),
    ("207265", "Metoclopramide 5 MG Oral Tablet [Reglan]", &["metoclopramide"]),
    ("1162281", "Prochlorperazine Pill", &["prochlorperazine"]),
    ("1101336", "gabapentin enacarbil 600 MG [Horizant]", &["gabapentin-enacarbil"]),
    ("483450", "pregabalin 75 MG Oral Capsule", &["pregabalin"]),
    ("152953", "ropinirole 1 MG Oral Tablet [Requip]", &["ropinirole"]),
    ("1114478", "Pramipexole dihydrochloride 2.25 MG", &["pramipexole"]),
    (
        "836396",
        "Acetaminophen 325 MG / tramadol hydrochloride 37.5 MG [Ultracet]",
        &["acetaminophen", "tramadol"],
    ),
    ("725062", "Fluoxetine 25 MG / olanzapine 6 MG [Symbyax]", &["fluoxetine", "olanzapine"]),
    ("1152272", "Amitriptyline / Perphenazine Pill", &["amitriptyline", "perphenazine"]),
    ("1152268", "Amitriptyline / Chlordiazepoxide Pill", &["amitriptyline"]),
    ("1187947", "Wellbutrin Pill", &["bupropion"]),
    ("1180724", "Remeron Pill", &["mirtazapine"]),
    ("856461", "Propranolol Hydrochloride 120 MG [Inderal]", &["propranolol"]),
    ("746021", "Atenolol 100 MG / Chlorthalidone 25 MG [Tenoretic]", &["atenolol"]),
    ("1171571", "Claritin-D Pill", &["loratadine"]),
    ("966158", "Levothyroxine Sodium 0.025 MG Oral Tablet [Synthroid]", &["levothyroxine"]),
    ("860976", "Metformin hydrochloride 500 MG [Glucophage]", &["metformin"]),
    (
        "1086746",
        "dexchlorpheniramine 2 MG / Phenylephrine 10 MG [Rymed-D]",
        &["dexchlorpheniramine"],
    ),
    ("1190838", "Brompheniramine Maleate 4 MG", &["brompheniramine"]),
    (
        "1251803",
        "Brompheniramine Maleate 1 MG / Phenylephrine Hydrochloride 2.5 MG [Dimetapp Cold]",
        &["brompheniramine"],
    ),
    ("857443", "Clemastine Fumarate 1.34 MG Oral Tablet [Tavist]", &["clemastine"]),
    ("1162313", "Promethazine Pill", &["promethazine"]),
    ("104895", "Ondansetron 4 MG Oral Tablet [Zofran]", &["ondansetron"]),
    ("1166221", "Celontin Pill", &["methsuximide"]),
    ("1010601", "Buprenorphine 2 MG / Naloxone 0.5 MG [Suboxone]", &["buprenorphine"]),
    (
        "1012162",
        "Acetaminophen 650 MG / Codeine Phosphate 60 MG [Cocet]",
        &["acetaminophen", "codeine"],
    ),
    ("1102191", "Iron-Dextran Complex 65 MG", &["iron-dextran"]),
    ("1001437", "Caffeine 50 MG / Magnesium Salicylate 162.5 MG Oral Tablet", &["caffeine"]),
    ("349332", "Escitalopram 10 MG Oral Tablet", &["escitalopram"]),
    ("105018", "lamotrigine 100 MG Oral Tablet [Lamictal]", &["lamotrigine"]),
    ("1174446", "Cymbalta Pill", &["duloxetine"]),
    ("104063", "Cimetidine 400 MG Oral Tablet [Tagamet]", &["cimetidine"]),
    ("104096", "Nizatidine 150 MG Oral Capsule [Axid]", &["nizatidine"]),
    ("1090517", "Ranitidine 150 MG [Wal-Zan]", &["ranitidine"]),
    ("1154234", "Desvenlafaxine Pill", &["desvenlafaxine"]),
    (
        "1147393",
        "Acetaminophen 325 MG / Hydrocodone Bitartrate 10 MG [Xodol]",
        &["acetaminophen", "hydrocodone"],
    ),
];

const EXPECTED_MISSES: &[(&str, &str)] = &[
    ("1162725", "tizanidine Pill"),
    ("1157375", "Ethosuximide Pill"),
    ("1160396", "Mephenytoin Pill"),
    ("1156642", "cycrimine Pill"),
    ("993463", "midodrine hydrochloride 10 MG [Proamatine]"),
    ("1179517", "Proamatine Pill"),
    ("861844", "Ketorolac Tromethamine 10 MG Oral Tablet [Toradol]"),
    ("834021", "Ketorolac Tromethamine 10 MG"),
    ("1150086", "Inulin 2500 MG"),
    ("1163080", "bovine cartilage extract / Shark cartilage extract Pill"),
    ("204511", "Trimethadione 300 MG Oral Capsule"),
    ("204463", "paramethadione 300 MG Oral Capsule"),
    ("1152763", "Clarithromycin Pill"),
    ("106042", "Dichlorphenamide 50 MG Oral Tablet [Daranide]"),
    ("1537035", "vorapaxar 2.08 MG"),
    ("1183439", "Orapred Pill"),
    ("311978", "Nicotinyl Alcohol 50 MG Oral Tablet"),
    ("199877", "chromium nicotinic acid complex 0.2 MG Oral Capsule"),
    (
        "283386",
        "Lecithin 425 MG / Phosphatidylethanolamines 100 MG / Phosphatidylinositols 75 MG Oral Capsule",
    ),
    ("104375", "Lisinopril 2.5 MG Oral Tablet [Zestril]"),
    ("1152282", "Amlodipine / atorvastatin Pill"),
    ("1165150", "Esomeprazole Pill"),
    ("1165326", "Loperamide / Simethicone Pill"),
    ("108852", "famciclovir 125 MG Oral Tablet [Famvir]"),
    ("1162757", "trandolapril / Verapamil Pill"),
    ("103918", "fluvastatin 20 MG Oral Capsule [Lescol]"),
    ("1157877", "quinapril Pill"),
    ("1101017", "Doxycycline 50 MG [Ocudox]"),
    ("104367", "Doxazosin 1 MG Oral Tablet [Cardura]"),
    ("1165477", "Risedronate Pill"),
    ("863618", "Oxybutynin chloride 10 MG"),
    ("1164628", "Hydroxychloroquine Pill"),
    ("1093059", "Clomiphene Citrate 50 MG"),
    ("833007", "Desmopressin Acetate 0.2 MG"),
    ("1151373", "Buspirone Pill"),
    ("1162131", "Hydrochlorothiazide / Methyldopa Pill"),
    ("1161719", "Primidone Pill"),
    ("1161728", "Procainamide Pill"),
    ("1160955", "Ketoconazole Pill"),
    ("1158235", "Triamterene Pill"),
];

fn corpus_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/corpora/cds-hooks-sandbox-rxnorm-names/rxcui-to-name.json")
}

/// (RxCUI, name) pairs in file order. The file holds one `"rxcui": "name",` pair a line inside
/// `cuiToName`; the names contain no escapes, which the parser checks.
fn corpus() -> &'static [(String, String)] {
    static CORPUS: OnceLock<Vec<(String, String)>> = OnceLock::new();
    CORPUS.get_or_init(|| {
        let text = std::fs::read_to_string(corpus_path())
            .expect("shared/corpora/cds-hooks-sandbox-rxnorm-names/rxcui-to-name.json is readable");
        let start = text.find("\"cuiToName\"").expect("a cuiToName object");
        let mut out = Vec::new();
        for line in text[start..].lines().skip(1) {
            let line = line.trim().trim_end_matches(',');
            let Some(rest) = line.strip_prefix('"') else { continue };
            let (key, rest) = rest.split_once("\": \"").expect("a \"rxcui\": \"name\" line");
            let name = rest.strip_suffix('"').expect("a quoted name");
            assert!(key.chars().all(|c| c.is_ascii_digit()), "RxCUI {key:?} is not numeric");
            assert!(!name.contains(['\\', '"']), "escapes in {name:?} are not parsed");
            out.push((key.to_owned(), name.to_owned()));
        }
        assert_eq!(out.len(), 23_342, "the corpus has 23,342 names");
        out
    })
}

fn name_of(rxcui: &str) -> &'static str {
    static INDEX: OnceLock<HashMap<&'static str, &'static str>> = OnceLock::new();
    let index =
        INDEX.get_or_init(|| corpus().iter().map(|(c, n)| (c.as_str(), n.as_str())).collect());
    index.get(rxcui).unwrap_or_else(|| panic!("RxCUI {rxcui} is not in the corpus"))
}

fn kb() -> &'static Kb {
    static KB: OnceLock<Kb> = OnceLock::new();
    KB.get_or_init(|| Kb::embedded().expect("the embedded knowledge base loads"))
}

/// Stands in for words that cannot affect a match: shorter than any corrected word and no
/// word of any dictionary name.
const NEUTRAL: &str = "zq";

/// Every name matched once, shared by the tests.
struct Scan {
    /// The name with inert words replaced, as matched.
    rewritten: Vec<String>,
    /// The match of each name, in corpus order.
    matches: Vec<MedMatch>,
}

fn scan() -> &'static Scan {
    static SCAN: OnceLock<Scan> = OnceLock::new();
    SCAN.get_or_init(|| {
        let t = kb().terminology();
        let mut lexicon_words: HashSet<String> = HashSet::new();
        for d in t.drugs() {
            for name in std::iter::once(&d.id).chain(&d.synonyms).chain(&d.brands) {
                lexicon_words.extend(words(name));
            }
        }
        for p in t.products() {
            lexicon_words.extend(words(&p.name));
        }
        assert!(!lexicon_words.contains(NEUTRAL) && t.match_medication_text(NEUTRAL).is_empty());

        let tokenized: Vec<Vec<String>> = corpus().iter().map(|(_, n)| words(n)).collect();
        let mut distinct: Vec<&str> = tokenized
            .iter()
            .flatten()
            .map(String::as_str)
            .filter(|w| !lexicon_words.contains(*w))
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        distinct.sort_unstable();
        // A word is inert when, alone, it matches nothing and is corrected to nothing.
        let threads = std::thread::available_parallelism().map_or(1, usize::from).min(8);
        let chunk = distinct.len().div_ceil(threads).max(1);
        let inert: HashSet<&str> = std::thread::scope(|s| {
            let handles: Vec<_> = distinct
                .chunks(chunk)
                .map(|part| {
                    s.spawn(move || {
                        part.iter()
                            .copied()
                            .filter(|w| {
                                let m = t.match_medication_text(w);
                                m.is_empty() && m.corrected.is_empty()
                            })
                            .collect::<Vec<&str>>()
                    })
                })
                .collect();
            handles.into_iter().flat_map(|h| h.join().expect("a scan thread")).collect()
        });

        // A run of inert words becomes one neutral token: the words on either side stay apart,
        // and names that differ only in doses and forms collapse into one text.
        let rewritten: Vec<String> = tokenized
            .iter()
            .map(|ws| {
                let mut out: Vec<&str> = Vec::with_capacity(ws.len());
                for w in ws {
                    let w = if inert.contains(w.as_str()) { NEUTRAL } else { w.as_str() };
                    if !(w == NEUTRAL && out.last() == Some(&NEUTRAL)) {
                        out.push(w);
                    }
                }
                out.join(" ")
            })
            .collect();
        let mut memo: HashMap<&str, MedMatch> = HashMap::new();
        let matches = rewritten
            .iter()
            .map(|r| memo.entry(r).or_insert_with(|| t.match_medication_text(r)).clone())
            .collect();
        Scan { rewritten, matches }
    })
}

#[test]
fn rewriting_keeps_every_match() {
    let t = kb().terminology();
    let scan = scan();
    let mut checked = 0;
    for (i, (cui, name)) in corpus().iter().enumerate().step_by(151) {
        let direct = t.match_medication_text(name);
        assert_eq!(
            direct, scan.matches[i],
            "{cui} {name:?} matches differently once rewritten as {:?}",
            scan.rewritten[i]
        );
        checked += 1;
    }
    // The expected hits and misses, matched as written, must agree with the scan too.
    for cui in EXPECTED_HITS.iter().map(|h| h.0).chain(EXPECTED_MISSES.iter().map(|m| m.0)) {
        let i = corpus().iter().position(|(c, _)| c == cui).expect("an RxCUI of the corpus");
        assert_eq!(t.match_medication_text(&corpus()[i].1), scan.matches[i], "{cui}");
        checked += 1;
    }
    assert!(checked > 200);
}

#[test]
fn no_spelling_corrections() {
    let mut bad = Vec::new();
    let mut pending: BTreeMap<(&str, &str), usize> = BTreeMap::new();
    for ((cui, name), m) in corpus().iter().zip(&scan().matches) {
        for (word, to) in &m.corrected {
            match PENDING_BRANDS.iter().find(|(w, _)| w == word) {
                Some(&(w, target)) if target == to => *pending.entry((w, target)).or_default() += 1,
                _ => bad.push(format!("{cui} {name:?}: {word:?} corrected to {to:?}")),
            }
        }
    }
    for (w, target) in PENDING_BRANDS {
        match pending.get(&(*w, *target)) {
            Some(n) => eprintln!("pending brand: {w:?} -> {target:?} by correction in {n} names"),
            None => eprintln!("{w:?} is no longer corrected: remove it from PENDING_BRANDS"),
        }
    }
    assert!(
        bad.is_empty(),
        "{} RxNorm names matched only after a spelling correction (each is a false hit: add \
         the word to kb/drugs/never-correct.toml, or the brand to its drug):\n{}",
        bad.len(),
        bad.join("\n")
    );
}

#[test]
fn expected_hits() {
    assert!(EXPECTED_HITS.len() >= 40);
    let t = kb().terminology();
    let mut bad = Vec::new();
    for (cui, name, want) in EXPECTED_HITS {
        assert_eq!(name_of(cui), *name, "the corpus name of {cui}");
        let m = t.match_medication_text(name);
        let mut got: Vec<&str> = m.ingredients.iter().map(String::as_str).collect();
        let mut want = want.to_vec();
        got.sort_unstable();
        want.sort_unstable();
        if got != want || !m.corrected.is_empty() {
            bad.push(format!("{cui} {name:?}: want {want:?}, got {got:?} {:?}", m.corrected));
        }
        for id in &want {
            assert!(t.drug(id).is_some(), "{id} is a dictionary ingredient");
        }
    }
    assert!(bad.is_empty(), "expected hits not found:\n{}", bad.join("\n"));
}

#[test]
fn expected_misses() {
    assert!(EXPECTED_MISSES.len() >= 30);
    let t = kb().terminology();
    let mut bad = Vec::new();
    for (cui, name) in EXPECTED_MISSES {
        assert_eq!(name_of(cui), *name, "the corpus name of {cui}");
        let m = t.match_medication_text(name);
        if !m.is_empty() || !m.corrected.is_empty() {
            bad.push(format!("{cui} {name:?}: matched {:?} {:?}", m.ingredients, m.corrected));
        }
    }
    assert!(bad.is_empty(), "names of drugs outside the dictionary matched:\n{}", bad.join("\n"));
}

/// RxNorm writes packs as `{n (component) / ...} Pack`; the corpus has none, so one is made up.
#[test]
fn pack_names_match_their_components() {
    let t = kb().terminology();
    let m = t.match_medication_text(
        "{25 (Sertraline 50 MG Oral Tablet) / 5 (Sertraline 25 MG Oral Tablet) } Pack [Zoloft]",
    );
    assert_eq!(m.ingredients, ["sertraline"]);
    assert!(m.corrected.is_empty());
}

#[test]
fn class_counts_above_floors() {
    let t = kb().terminology();
    let mut counts: BTreeMap<&str, usize> =
        t.drug_classes().iter().map(|c| (c.id.as_str(), 0)).collect();
    let mut matched = 0;
    for m in &scan().matches {
        if m.is_empty() {
            continue;
        }
        matched += 1;
        let ingredients: Vec<Box<str>> = m.ingredients.iter().map(|i| i.as_str().into()).collect();
        let mut classes: Vec<&str> = t.classes_of(&ingredients, &[]).collect();
        classes.sort_unstable();
        classes.dedup();
        for c in classes {
            *counts.get_mut(c).expect("a class of the dictionary") += 1;
        }
    }
    eprintln!("RxNorm names matched: {matched} of {}", corpus().len());
    eprintln!("{:<32} {:>6} {:>6}", "class", "names", "floor");
    for c in t.drug_classes() {
        let floor = CLASS_FLOORS.iter().find(|f| f.0 == c.id).map(|f| f.1);
        let shown = floor.map_or_else(|| "-".to_owned(), |f| f.to_string());
        eprintln!("{:<32} {:>6} {:>6}", c.id, counts[c.id.as_str()], shown);
    }
    let mut low = Vec::new();
    for (class, floor) in CLASS_FLOORS {
        let n = *counts.get(class).unwrap_or_else(|| panic!("{class} is a class"));
        if n < *floor {
            low.push(format!("{class}: {n} names, floor {floor}"));
        }
    }
    assert!(low.is_empty(), "classes reached by too few RxNorm names:\n{}", low.join("\n"));
}
