//! What the generator takes from the knowledge base before it writes anything: which causes the
//! ground truth records, which condition sets and drug classes those causes test, the planted
//! drugs that exist in the drug dictionary, and the noise conditions and medications that stay
//! clear of every tested set and class (so that noise can never change a recorded status).

use restless_facts::FactKey;
use restless_kb::{Analyte, Kb};

use crate::tables::{self, Lab, NoiseDx, NoiseRx, Rx};

/// Causes whose status the ground truth records, when the knowledge base has them: the causes
/// the generator plants, and the drug causes it can rule out (every patient has a medication
/// list).
pub(crate) const TARGET_CAUSES: &[&str] = &[
    "iron-deficiency",
    "esrd-dialysis",
    "ckd-non-dialysis",
    "diabetes",
    "pregnancy",
    "drug-serotonergic-antidepressant",
    "drug-beta-blocker",
    "drug-h2-blocker",
    "drug-antipsychotic",
    "drug-lithium",
    "drug-sedating-antihistamine",
    "drug-dopamine-antagonist-antiemetic",
    "drug-mirtazapine",
    "drug-tramadol",
    "drug-anticonvulsant",
];

/// A noise condition that passed the check, with the sets the knowledge base puts it in.
pub(crate) struct NoiseCondition {
    pub dx: NoiseDx,
    /// Tested sets it falls in (only for conditions always recorded as resolved).
    pub tested_sets: Vec<String>,
}

/// A drug class that can be planted, with its drugs.
pub(crate) struct PlantedClass {
    pub class: &'static str,
    pub drugs: Vec<Rx>,
}

pub(crate) struct Catalog<'k> {
    pub kb: &'k Kb,
    /// Cause ids recorded in the ground truth.
    pub targets: Vec<&'static str>,
    /// Condition sets the recorded causes test.
    pub tested_sets: Vec<String>,
    /// Drug classes the recorded causes test.
    pub tested_classes: Vec<String>,
    pub planted: Vec<PlantedClass>,
    pub noise_dx: Vec<NoiseCondition>,
    pub noise_rx: Vec<NoiseRx>,
    /// Noise dropped because the knowledge base reads it into a tested set or class.
    pub dropped: Vec<String>,
}

impl<'k> Catalog<'k> {
    pub(crate) fn new(kb: &'k Kb) -> Catalog<'k> {
        let mut targets = Vec::new();
        let mut tested_sets: Vec<String> = vec!["rls".to_owned()];
        let mut tested_classes: Vec<String> = Vec::new();
        for id in TARGET_CAUSES {
            let Some(cause) = kb.cause(id) else { continue };
            // Onset age comes from the restless-legs condition's onset, which the generator does
            // not model as a fact; a cause that tests it is left out.
            if cause.criteria.iter().any(|c| c.fact == FactKey::OnsetAge) {
                continue;
            }
            for c in &cause.criteria {
                match &c.fact {
                    FactKey::Condition(s) if !tested_sets.iter().any(|x| **x == **s) => {
                        tested_sets.push(s.to_string());
                    }
                    FactKey::Drug(d) if !tested_classes.iter().any(|x| **x == **d) => {
                        tested_classes.push(d.to_string());
                    }
                    _ => {}
                }
            }
            targets.push(*id);
        }
        let t = kb.terminology();
        let mut planted = Vec::new();
        for (class, drugs) in tables::PLANTED_RX {
            if !tested_classes.iter().any(|c| c == class) {
                continue;
            }
            let drugs: Vec<Rx> = drugs
                .iter()
                .filter(|rx| rx.ingredients.iter().all(|i| t.drug(i).is_some()))
                .filter(|rx| {
                    rx.ingredients
                        .iter()
                        .filter_map(|i| t.drug(i))
                        .any(|d| d.classes.iter().any(|c| c == class))
                })
                .copied()
                .collect();
            if !drugs.is_empty() {
                planted.push(PlantedClass { class, drugs });
            }
        }
        let mut cat = Catalog {
            kb,
            targets,
            tested_sets,
            tested_classes,
            planted,
            noise_dx: Vec::new(),
            noise_rx: Vec::new(),
            dropped: Vec::new(),
        };
        for dx in tables::NOISE_DX {
            let sets = cat.noise_condition_sets(dx);
            let tested: Vec<String> =
                sets.into_iter().filter(|s| cat.tested_sets.iter().any(|x| x == s)).collect();
            if !tested.is_empty() && dx.course != tables::Course::Past {
                cat.dropped.push(format!("condition {} {}", dx.snomed, dx.display));
                continue;
            }
            cat.noise_dx.push(NoiseCondition { dx: *dx, tested_sets: tested });
        }
        for rx in tables::NOISE_RX {
            let classes = cat.medication_classes(rx.rxcui, rx.display);
            if classes.iter().any(|c| cat.tested_classes.contains(c)) {
                cat.dropped.push(format!("medication {} {}", rx.rxcui, rx.display));
                continue;
            }
            cat.noise_rx.push(*rx);
        }
        cat
    }

    /// The sets a noise condition falls in, read as the FHIR reader reads a Condition: its codes
    /// first, its text only when no code is in any set.
    pub(crate) fn noise_condition_sets(&self, dx: &NoiseDx) -> Vec<String> {
        let t = self.kb.terminology();
        fn add(sets: &mut Vec<String>, s: &str) {
            if !sets.iter().any(|x| x == s) {
                sets.push(s.to_owned());
            }
        }
        let mut sets: Vec<String> = Vec::new();
        for s in t.sets_for_snomed(dx.snomed) {
            add(&mut sets, s);
        }
        if let Some((code, _)) = dx.icd {
            for s in t.sets_for_icd10(code) {
                add(&mut sets, s);
            }
        }
        if sets.is_empty() {
            let mut texts = vec![dx.display];
            if let Some((_, d)) = dx.icd {
                texts.push(d);
            }
            for txt in texts {
                for s in t.sets_for_text(txt) {
                    add(&mut sets, s);
                }
            }
        }
        sets
    }

    /// Sets of a planted diagnosis code as the knowledge base reads it.
    #[cfg(test)]
    pub(crate) fn dx_sets(&self, dx: &tables::Dx) -> Vec<String> {
        let t = self.kb.terminology();
        let sets = if dx.system == tables::SNOMED {
            t.sets_for_snomed(dx.code)
        } else {
            t.sets_for_icd10(dx.code)
        };
        sets.into_iter().map(str::to_owned).collect()
    }

    /// The classes a medication falls in, read as the FHIR reader reads one: the RxNorm code's
    /// ingredient and every drug name in the display.
    pub(crate) fn medication_classes(&self, rxcui: &str, display: &str) -> Vec<String> {
        let t = self.kb.terminology();
        let mut ingredients: Vec<String> = t.match_medication_text(display).ingredients;
        if let Some(d) = t.drug_by_rxcui(rxcui) {
            ingredients.push(d.id.clone());
        }
        let mut classes: Vec<String> = Vec::new();
        for i in &ingredients {
            if let Some(d) = t.drug(i) {
                for c in &d.classes {
                    if !classes.contains(c) {
                        classes.push(c.clone());
                    }
                }
            }
        }
        classes
    }

    /// The analyte a lab code means, as the FHIR reader finds it (LOINC, then the name).
    pub(crate) fn analyte(&self, lab: &Lab) -> Option<&'k Analyte> {
        let t = self.kb.terminology();
        t.analyte_by_loinc(lab.loinc).or_else(|| t.analyte_by_name(lab.display))
    }

    /// A value in the analyte's canonical unit, when the unit is one the analyte accepts.
    pub(crate) fn canonical(&self, lab: &Lab, value: f64) -> Option<(&'k str, f64)> {
        let a = self.analyte(lab)?;
        let v = a.to_canonical(value, lab.unit)?;
        Some((a.id.as_str(), v))
    }

    /// The RxNorm ingredient code of a drug in the dictionary.
    pub(crate) fn ingredient_rxcui(&self, id: &str) -> Option<&'k str> {
        self.kb.terminology().drug(id).and_then(|d| d.rxcui.as_deref())
    }
}
