//! The knowledge base covers what the project promised: every cause id of
//! `shared/design/causes.md`, every seed claim S01–S30 traceable to an entry (S06–S28 to a
//! detector with examples), and every entry sourced and reviewed.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::path::PathBuf;

use restless_kb::{CauseKind, Kb};

fn shared() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared")
}

/// Ids from the tables and the mimic list of `design/causes.md`.
fn design_ids() -> (BTreeSet<String>, BTreeSet<String>) {
    let text = std::fs::read_to_string(shared().join("design/causes.md"))
        .expect("../shared/design/causes.md is readable");
    let mut ids = BTreeSet::new();
    let mut mimics = BTreeSet::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("| ") {
            let id = rest.split(" |").next().unwrap_or("").trim();
            if !id.is_empty() && id != "id" && !id.starts_with('-') {
                ids.insert(id.to_owned());
            }
        }
    }
    let start = text.find("## Mimics").expect("a Mimics section");
    let section = &text[start..];
    let body =
        section.lines().skip(1).take_while(|l| !l.starts_with("## ")).collect::<Vec<_>>().join(" ");
    for part in body.split(',') {
        let id: String =
            part.trim().chars().take_while(|c| c.is_ascii_lowercase() || *c == '-').collect();
        if !id.is_empty() {
            mimics.insert(id);
        }
    }
    (ids, mimics)
}

#[test]
fn every_design_id_is_in_the_knowledge_base_with_the_right_kind() {
    let kb = Kb::embedded().unwrap();
    let (ids, mimics) = design_ids();
    assert!(ids.len() >= 45, "parsed only {} ids from causes.md", ids.len());
    assert_eq!(mimics.len(), 15, "mimics parsed: {mimics:?}");
    for id in &ids {
        let c = kb.cause(id).unwrap_or_else(|| {
            panic!("cause `{id}` of design/causes.md is missing from the knowledge base")
        });
        assert_ne!(c.kind, CauseKind::Mimic, "{id} is not a mimic");
    }
    for id in &mimics {
        let c = kb.cause(id).unwrap_or_else(|| {
            panic!("mimic `{id}` of design/causes.md is missing from the knowledge base")
        });
        assert_eq!(c.kind, CauseKind::Mimic, "{id} must be a mimic");
    }
}

#[test]
fn every_seed_claim_is_answered() {
    let kb = Kb::embedded().unwrap();
    let claims: BTreeSet<&str> = kb.claims().iter().map(|c| c.id.as_str()).collect();
    let expected: BTreeSet<String> = (1..=30).map(|n| format!("S{n:02}")).collect();
    assert_eq!(
        claims,
        expected.iter().map(String::as_str).collect(),
        "claims.toml must hold S01 to S30"
    );

    let mut answered: BTreeSet<&str> = BTreeSet::new();
    for c in kb.causes() {
        for s in &c.seed {
            answered.insert(s);
        }
    }
    for n in 6..=28 {
        let id = format!("S{n:02}");
        let by: Vec<&str> =
            kb.causes().iter().filter(|c| c.seed.contains(&id)).map(|c| c.id.as_str()).collect();
        assert!(!by.is_empty(), "seed claim {id} is answered by no knowledge-base entry");
        // Traceable to a test: each answering entry carries examples the test suite runs.
        for c in kb.causes().iter().filter(|c| c.seed.contains(&id)) {
            assert!(!c.examples.is_empty(), "{} answers {id} but has no examples", c.id);
        }
    }
    // S01–S05 are answered by explanatory text and the classification.
    for b in kb.background() {
        for s in &b.seed {
            answered.insert(s);
        }
    }
    for s in &kb.classification().seed {
        answered.insert(s);
    }
    for id in ["S01", "S02", "S03", "S04", "S05"] {
        assert!(answered.contains(id), "{id} is not answered by background or classification");
    }
    // S29 (provenance) and S30 (feedback) are answered by the report and the service.
    for id in ["S29", "S30"] {
        let claim = kb.claims().iter().find(|c| c.id == id).unwrap();
        assert!(!claim.answered_by.trim().is_empty());
    }
}

#[test]
fn the_seed_articles_qualified_claims_say_so() {
    let kb = Kb::embedded().unwrap();
    for id in [
        "drug-beta-blocker",
        "drug-h2-blocker",
        "caffeine",
        "alcohol",
        "pregnancy",
        "lyme-disease",
        "amyloidosis",
        "venous-disease",
        "peripheral-neuropathy",
    ] {
        let c = kb.cause(id).unwrap();
        assert!(
            c.qualifies_seed.is_some(),
            "{id} must say where the evidence qualifies the seed article"
        );
    }
    // Strength follows the evidence, not the article.
    use restless_kb::Strength::{Contested, Weak};
    for (id, allowed) in [
        ("drug-beta-blocker", &[Weak, Contested][..]),
        ("drug-h2-blocker", &[Weak, Contested]),
        ("caffeine", &[Weak, Contested]),
        ("alcohol", &[Weak, Contested]),
        ("lyme-disease", &[Weak]),
        ("amyloidosis", &[Weak]),
    ] {
        let s = kb.cause(id).unwrap().strength;
        assert!(allowed.contains(&s), "{id} has strength {s:?}");
    }
}

#[test]
fn every_entry_is_sourced_reviewed_and_explained() {
    let kb = Kb::embedded().unwrap();
    for c in kb.causes() {
        assert!(!c.references.is_empty(), "{} has no references", c.id);
        for r in &c.references {
            let r = kb.reference(r).unwrap();
            assert!(
                r.citation.len() > 20,
                "{}: citation for {} is too short to be full",
                c.id,
                r.id
            );
        }
        assert!(c.reviewed.to_string().starts_with("20"), "{} review date", c.id);
        assert!(
            c.summary.len() > 40 && c.advice.len() > 40 && c.evidence.len() > 40,
            "{} needs real text",
            c.id
        );
    }
    assert!(kb.disclaimer().contains("does not replace"));
}

#[test]
fn contract_thresholds_are_in_the_knowledge_base() {
    // The clinical rules fixed by design/contract.md, checked on the compiled criteria.
    let kb = Kb::embedded().unwrap();
    let threshold = |cause: &str, fact: &str| -> Vec<(String, f64)> {
        kb.cause(cause)
            .unwrap()
            .criteria
            .iter()
            .filter(|c| c.fact.to_string() == fact)
            .filter_map(|c| match &c.test {
                restless_kb::Test::Compare { op, threshold, .. } => {
                    Some((op.symbol().to_owned(), *threshold))
                }
                _ => None,
            })
            .collect()
    };
    let iron = threshold("iron-deficiency", "lab.ferritin");
    assert!(iron.contains(&("<=".into(), 75.0)), "{iron:?}");
    assert!(iron.contains(&("<".into(), 50.0)), "{iron:?}");
    assert!(iron.contains(&("<".into(), 200.0)), "{iron:?}");
    assert!(
        threshold("iron-deficiency", "lab.transferrin-saturation").contains(&("<".into(), 20.0))
    );
    assert!(threshold("esrd-dialysis", "lab.egfr").contains(&("<".into(), 15.0)));
    let ckd = threshold("ckd-non-dialysis", "lab.egfr");
    assert!(ckd.contains(&(">=".into(), 15.0)) && ckd.contains(&("<".into(), 60.0)), "{ckd:?}");
}
