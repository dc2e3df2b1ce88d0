//! Code tables. Codes and display strings are taken from the Synthea exports in
//! `shared/corpora` (SNOMED CT, LOINC, CVX, RxNorm), from the RxNorm names of the CDS Hooks
//! Sandbox medication list in the same folder (RxCUI -> clinical drug name), and from the
//! knowledge base (ICD-10-CM codes of the condition sets). None is invented: an entry whose
//! ICD-10-CM code was not certain is coded in SNOMED CT only.

pub(crate) const SNOMED: &str = "http://snomed.info/sct";
pub(crate) const ICD10CM: &str = "http://hl7.org/fhir/sid/icd-10-cm";
pub(crate) const RXNORM: &str = "http://www.nlm.nih.gov/research/umls/rxnorm";

// --- Conditions that the ground truth depends on --------------------------------------------

/// A diagnosis code that puts a condition in knowledge-base sets (`sets` lists the sets the
/// ground truth relies on; the knowledge base may put it in others too).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Dx {
    pub system: &'static str,
    pub code: &'static str,
    pub display: &'static str,
    pub sets: &'static [&'static str],
}

const fn sct(code: &'static str, display: &'static str, sets: &'static [&'static str]) -> Dx {
    Dx { system: SNOMED, code, display, sets }
}

const fn icd(code: &'static str, display: &'static str, sets: &'static [&'static str]) -> Dx {
    Dx { system: ICD10CM, code, display, sets }
}

/// A planted condition: one or more codings of the same diagnosis (ICD-10-CM, SNOMED CT or both).
pub(crate) struct DxChoice {
    pub icd: &'static [Dx],
    pub snomed: &'static [Dx],
    /// Text when the condition carries no code the knowledge base reads.
    pub text: &'static str,
}

pub(crate) const RLS: DxChoice = DxChoice {
    icd: &[icd("G25.81", "Restless legs syndrome", &["rls"])],
    snomed: &[sct("32914008", "Restless legs syndrome (disorder)", &["rls"])],
    text: "Restless legs syndrome",
};

pub(crate) const DIABETES: DxChoice = DxChoice {
    icd: &[
        icd("E11.9", "Type 2 diabetes mellitus without complications", &["diabetes"]),
        icd("E11.65", "Type 2 diabetes mellitus with hyperglycemia", &["diabetes"]),
    ],
    snomed: &[sct("44054006", "Diabetes mellitus type 2 (disorder)", &["diabetes"])],
    text: "Type 2 diabetes",
};

/// Neuropathy due to type 2 diabetes: implies diabetes.
pub(crate) const DIABETIC_NEUROPATHY: Dx =
    sct("368581000119106", "Neuropathy due to type 2 diabetes mellitus (disorder)", &["diabetes"]);

pub(crate) const ESRD: DxChoice = DxChoice {
    icd: &[
        icd("N18.6", "End stage renal disease", &["esrd"]),
        icd("Z99.2", "Dependence on renal dialysis", &["esrd"]),
    ],
    snomed: &[sct("46177005", "End-stage renal disease (disorder)", &["esrd"])],
    text: "End stage renal disease",
};

pub(crate) const CKD_3_4: DxChoice = DxChoice {
    icd: &[
        icd("N18.30", "Chronic kidney disease, stage 3 unspecified", &["ckd-3-4"]),
        icd("N18.31", "Chronic kidney disease, stage 3a", &["ckd-3-4"]),
        icd("N18.32", "Chronic kidney disease, stage 3b", &["ckd-3-4"]),
        icd("N18.4", "Chronic kidney disease, stage 4 (severe)", &["ckd-3-4"]),
    ],
    snomed: &[sct("431857002", "Chronic kidney disease stage 4 (disorder)", &["ckd-3-4"])],
    text: "Chronic kidney disease stage 4",
};

pub(crate) const PREGNANCY: DxChoice = DxChoice {
    icd: &[icd("Z33.1", "Pregnant state, incidental", &["pregnancy"])],
    snomed: &[sct("77386006", "Pregnant (finding)", &["pregnancy"])],
    text: "Pregnancy",
};

pub(crate) const IRON_DEFICIENCY: DxChoice = DxChoice {
    icd: &[
        icd("D50.9", "Iron deficiency anemia, unspecified", &["iron-deficiency"]),
        icd("E61.1", "Iron deficiency", &["iron-deficiency"]),
    ],
    snomed: &[sct("87522002", "Iron deficiency anemia (disorder)", &["iron-deficiency"])],
    text: "Iron deficiency anemia",
};

/// Not restless legs: the WHO ICD-10 parent, which the knowledge base leaves out on purpose.
pub(crate) const G25_8: Dx =
    icd("G25.8", "Other specified extrapyramidal and movement disorders", &[]);

// --- Conditions that are noise ----------------------------------------------------------------

/// How a noise condition is recorded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Course {
    /// Social and employment findings, recorded at check-ups and resolved at the next.
    Finding,
    /// Acute illness at a visit for a symptom, resolved within weeks.
    Acute,
    /// Chronic, active from onset.
    Chronic,
    /// Past event, always resolved.
    Past,
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct NoiseDx {
    pub snomed: &'static str,
    pub display: &'static str,
    pub icd: Option<(&'static str, &'static str)>,
    pub course: Course,
}

const fn n(snomed: &'static str, display: &'static str, course: Course) -> NoiseDx {
    NoiseDx { snomed, display, icd: None, course }
}

const fn ni(
    snomed: &'static str,
    display: &'static str,
    icd: &'static str,
    icd_display: &'static str,
    course: Course,
) -> NoiseDx {
    NoiseDx { snomed, display, icd: Some((icd, icd_display)), course }
}

pub(crate) const NOISE_DX: &[NoiseDx] = &[
    n("160903007", "Full-time employment (finding)", Course::Finding),
    n("160904001", "Part-time employment (finding)", Course::Finding),
    n("741062008", "Not in labor force (finding)", Course::Finding),
    n("73595000", "Stress (finding)", Course::Finding),
    n("706893006", "Victim of intimate partner abuse (finding)", Course::Finding),
    n("423315002", "Limited social contact (finding)", Course::Finding),
    n("422650009", "Social isolation (finding)", Course::Finding),
    n("424393004", "Reports of violence in the environment (finding)", Course::Finding),
    n("224299000", "Received higher education (finding)", Course::Finding),
    n("266948004", "Has a criminal record (finding)", Course::Finding),
    n(
        "5251000175109",
        "Received certificate of high school equivalency (finding)",
        Course::Finding,
    ),
    n("105531004", "Housing unsatisfactory (finding)", Course::Finding),
    n("266934004", "Transport problem (finding)", Course::Finding),
    n("160968000", "Risk activity involvement (finding)", Course::Finding),
    ni(
        "195662009",
        "Acute viral pharyngitis (disorder)",
        "J02.9",
        "Acute pharyngitis, unspecified",
        Course::Acute,
    ),
    ni(
        "444814009",
        "Viral sinusitis (disorder)",
        "J01.90",
        "Acute sinusitis, unspecified",
        Course::Acute,
    ),
    ni(
        "10509002",
        "Acute bronchitis (disorder)",
        "J20.9",
        "Acute bronchitis, unspecified",
        Course::Acute,
    ),
    ni(
        "43878008",
        "Streptococcal sore throat (disorder)",
        "J02.0",
        "Streptococcal pharyngitis",
        Course::Acute,
    ),
    ni(
        "301011002",
        "Escherichia coli urinary tract infection",
        "N39.0",
        "Urinary tract infection, site not specified",
        Course::Acute,
    ),
    ni(
        "65363002",
        "Otitis media",
        "H66.90",
        "Otitis media, unspecified, unspecified ear",
        Course::Acute,
    ),
    n("44465007", "Sprain of ankle", Course::Acute),
    n("283371005", "Laceration of forearm", Course::Acute),
    n("370247008", "Facial laceration", Course::Acute),
    n("16114001", "Fracture of ankle", Course::Acute),
    n("840544004", "Suspected COVID-19", Course::Acute),
    ni("840539006", "COVID-19", "U07.1", "COVID-19", Course::Acute),
    ni("386661006", "Fever (finding)", "R50.9", "Fever, unspecified", Course::Acute),
    ni(
        "59621000",
        "Essential hypertension (disorder)",
        "I10",
        "Essential (primary) hypertension",
        Course::Chronic,
    ),
    ni("55822004", "Hyperlipidemia", "E78.5", "Hyperlipidemia, unspecified", Course::Chronic),
    ni("15777000", "Prediabetes", "R73.03", "Prediabetes", Course::Chronic),
    ni("271737000", "Anemia (disorder)", "D64.9", "Anemia, unspecified", Course::Chronic),
    ni(
        "302870006",
        "Hypertriglyceridemia (disorder)",
        "E78.1",
        "Pure hyperglyceridemia",
        Course::Chronic,
    ),
    n("237602007", "Metabolic syndrome X (disorder)", Course::Chronic),
    n("40055000", "Chronic sinusitis (disorder)", Course::Chronic),
    n("278860009", "Chronic low back pain (finding)", Course::Chronic),
    n("1121000119107", "Chronic neck pain (finding)", Course::Chronic),
    n("57676002", "Joint pain (finding)", Course::Chronic),
    n("414545008", "Ischemic heart disease (disorder)", Course::Chronic),
    n("367498001", "Seasonal allergic rhinitis", Course::Chronic),
    n("24079001", "Atopic dermatitis", Course::Chronic),
    n("233678006", "Childhood asthma", Course::Chronic),
    n("72892002", "Normal pregnancy", Course::Past),
    n("19169002", "Miscarriage in first trimester", Course::Past),
    n("399261000", "History of coronary artery bypass grafting (situation)", Course::Past),
    n("703151001", "History of single seizure (situation)", Course::Past),
];

// --- Medications ---------------------------------------------------------------------------------

/// A clinical drug (RxNorm SCD) with the knowledge-base ingredients it contains.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Rx {
    pub rxcui: &'static str,
    pub display: &'static str,
    /// Knowledge-base ingredient ids.
    pub ingredients: &'static [&'static str],
    /// How a person or a free-text order would write it (brand or plain name with strength).
    pub written: &'static str,
}

const fn rx(
    rxcui: &'static str,
    display: &'static str,
    ingredients: &'static [&'static str],
    written: &'static str,
) -> Rx {
    Rx { rxcui, display, ingredients, written }
}

/// Drugs planted for the drug causes, by knowledge-base class. The class a drug counts for is
/// read from the knowledge base at run time; the class here only groups the table.
pub(crate) const PLANTED_RX: &[(&str, &[Rx])] = &[
    (
        "serotonergic-antidepressant",
        &[
            rx("312941", "Sertraline 50 MG Oral Tablet", &["sertraline"], "Zoloft 50 mg tablet"),
            rx("312938", "Sertraline 100 MG Oral Tablet", &["sertraline"], "sertraline 100mg"),
            rx("314199", "Paroxetine 20 MG Oral Tablet", &["paroxetine"], "Paxil 20 mg tablet"),
            rx("200371", "Citalopram 20 MG Oral Tablet", &["citalopram"], "Celexa 20 mg"),
            rx("349332", "Escitalopram 10 MG Oral Tablet", &["escitalopram"], "Lexapro 10mg daily"),
            rx("310385", "Fluoxetine 20 MG Oral Capsule", &["fluoxetine"], "Prozac 20 mg capsule"),
            rx("313586", "venlafaxine 75 MG Oral Tablet", &["venlafaxine"], "Effexor 75 mg"),
        ],
    ),
    (
        "beta-blocker",
        &[
            rx(
                "866514",
                "Metoprolol Tartrate 50 MG Oral Tablet",
                &["metoprolol"],
                "Lopressor 50 mg",
            ),
            rx(
                "866412",
                "24 HR metoprolol succinate 100 MG Extended Release Oral Tablet",
                &["metoprolol"],
                "Toprol XL 100 mg",
            ),
            rx("197381", "Atenolol 50 MG Oral Tablet", &["atenolol"], "atenolol 50 mg tablet"),
            rx("200032", "carvedilol 12.5 MG Oral Tablet", &["carvedilol"], "Coreg 12.5 mg"),
            rx(
                "856519",
                "Propranolol Hydrochloride 40 MG Oral Tablet",
                &["propranolol"],
                "propranolol 40mg",
            ),
        ],
    ),
    (
        "h2-blocker",
        &[
            rx("310273", "Famotidine 20 MG Oral Tablet", &["famotidine"], "Pepcid 20 mg"),
            rx("198191", "Ranitidine 150 MG Oral Tablet", &["ranitidine"], "Zantac 150 mg tablet"),
        ],
    ),
    (
        "antipsychotic",
        &[
            rx("310672", "Haloperidol 5 MG Oral Tablet", &["haloperidol"], "Haldol 5 mg"),
            rx(
                "312744",
                "quetiapine 25 MG Oral Tablet",
                &["quetiapine"],
                "Seroquel 25 mg at night",
            ),
            rx("314154", "olanzapine 10 MG Oral Tablet", &["olanzapine"], "Zyprexa 10 mg"),
            rx("312830", "Risperidone 1 MG Oral Tablet", &["risperidone"], "Risperdal 1 mg"),
        ],
    ),
    (
        "lithium",
        &[
            rx(
                "197890",
                "Lithium Carbonate 300 MG Oral Tablet",
                &["lithium"],
                "lithium carbonate 300 mg",
            ),
            rx(
                "197889",
                "Lithium Carbonate 300 MG Oral Capsule",
                &["lithium"],
                "Lithium 300mg capsule",
            ),
        ],
    ),
    (
        "sedating-antihistamine",
        &[
            rx(
                "1049630",
                "Diphenhydramine Hydrochloride 25 MG Oral Tablet",
                &["diphenhydramine"],
                "Benadryl 25 mg",
            ),
            rx(
                "1092378",
                "Acetaminophen 500 MG / Diphenhydramine Hydrochloride 25 MG Oral Tablet [Tylenol PM]",
                &["acetaminophen", "diphenhydramine"],
                "Tylenol PM 2 caplets at bedtime",
            ),
            rx(
                "901814",
                "Diphenhydramine Hydrochloride 25 MG / Ibuprofen 200 MG Oral Capsule",
                &["diphenhydramine", "ibuprofen"],
                "Advil PM",
            ),
            rx(
                "1101446",
                "doxylamine succinate 25 MG Oral Tablet",
                &["doxylamine"],
                "Unisom SleepTabs 25 mg",
            ),
            rx(
                "995258",
                "Hydroxyzine Hydrochloride 25 MG Oral Tablet",
                &["hydroxyzine"],
                "hydroxyzine 25mg",
            ),
            rx(
                "477045",
                "Chlorpheniramine Maleate 2 MG/ML Oral Solution",
                &["chlorpheniramine"],
                "chlorpheniramine syrup",
            ),
        ],
    ),
    (
        "dopamine-antagonist-antiemetic",
        &[
            rx("311666", "Metoclopramide 10 MG Oral Tablet", &["metoclopramide"], "Reglan 10 mg"),
            rx(
                "311668",
                "Metoclopramide 5 MG Oral Tablet",
                &["metoclopramide"],
                "metoclopramide 5 mg",
            ),
            rx(
                "198365",
                "Prochlorperazine 10 MG Oral Tablet",
                &["prochlorperazine"],
                "Compazine 10 mg",
            ),
        ],
    ),
    (
        "mirtazapine-mianserin",
        &[
            rx("311725", "Mirtazapine 15 MG Oral Tablet", &["mirtazapine"], "Remeron 15 mg"),
            rx(
                "314111",
                "Mirtazapine 30 MG Oral Tablet",
                &["mirtazapine"],
                "mirtazapine 30mg nightly",
            ),
        ],
    ),
    (
        "tramadol",
        &[rx("835603", "tramadol hydrochloride 50 MG Oral Tablet", &["tramadol"], "Ultram 50 mg")],
    ),
];

pub(crate) const FERROUS_SULFATE: Rx = rx(
    "310325",
    "ferrous sulfate 325 MG Oral Tablet",
    &["ferrous-sulfate"],
    "ferrous sulfate 325 mg",
);

pub(crate) const ANTIDIABETIC: &[Rx] = &[
    rx(
        "860975",
        "24 HR Metformin hydrochloride 500 MG Extended Release Oral Tablet",
        &["metformin"],
        "metformin ER 500 mg",
    ),
    rx(
        "861007",
        "Metformin hydrochloride 500 MG Oral Tablet",
        &["metformin"],
        "metformin 500 mg twice daily",
    ),
    rx(
        "106892",
        "insulin isophane, human 70 UNT/ML / insulin, regular, human 30 UNT/ML Injectable Suspension [Humulin]",
        &["insulin"],
        "insulin 70/30, 20 units twice daily",
    ),
];

/// How a noise medication is used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Use {
    /// Taken for years, renewed at check-ups.
    Chronic,
    /// A short course at a visit for a symptom.
    Acute,
    /// Contraception (women 15 to 45).
    Contraceptive,
    /// Restless-legs treatment (for people with restless legs).
    RlsTreatment,
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct NoiseRx {
    pub rxcui: &'static str,
    pub display: &'static str,
    pub usage: Use,
}

const fn m(rxcui: &'static str, display: &'static str, usage: Use) -> NoiseRx {
    NoiseRx { rxcui, display, usage }
}

pub(crate) const NOISE_RX: &[NoiseRx] = &[
    m("314076", "lisinopril 10 MG Oral Tablet", Use::Chronic),
    m("310798", "Hydrochlorothiazide 25 MG Oral Tablet", Use::Chronic),
    m("314231", "Simvastatin 10 MG Oral Tablet", Use::Chronic),
    m("197361", "amLODIPine 5 MG Oral Tablet", Use::Chronic),
    m("617310", "atorvastatin 20 MG Oral Tablet", Use::Chronic),
    m("979492", "Losartan Potassium 50 MG Oral Tablet", Use::Chronic),
    m("966221", "Levothyroxine Sodium 0.05 MG Oral Tablet", Use::Chronic),
    m("198051", "Omeprazole 20 MG Delayed Release Oral Capsule", Use::Chronic),
    m("243670", "Aspirin 81 MG Oral Tablet", Use::Chronic),
    m("904419", "Alendronic acid 10 MG Oral Tablet", Use::Chronic),
    m("351137", "albuterol 0.21 MG/ML Inhalation Solution", Use::Chronic),
    m("351109", "budesonide 0.25 MG/ML Inhalation Suspension", Use::Chronic),
    m("200224", "montelukast 10 MG Oral Tablet", Use::Chronic),
    m("863669", "Tamsulosin hydrochloride 0.4 MG Oral Capsule", Use::Chronic),
    m("311372", "Loratadine 10 MG Oral Tablet", Use::Chronic),
    m("313782", "Acetaminophen 325 MG Oral Tablet", Use::Acute),
    m("310965", "Ibuprofen 200 MG Oral Tablet", Use::Acute),
    m("849574", "Naproxen sodium 220 MG Oral Tablet", Use::Acute),
    m("562251", "Amoxicillin 250 MG / Clavulanate 125 MG Oral Tablet", Use::Acute),
    m("308192", "Amoxicillin 500 MG Oral Tablet", Use::Acute),
    m("834061", "Penicillin V Potassium 250 MG Oral Tablet", Use::Acute),
    m("308460", "Azithromycin 250 MG Oral Tablet", Use::Acute),
    m("309114", "Cephalexin 500 MG Oral Capsule", Use::Acute),
    m("311995", "NITROFURANTOIN, MACROCRYSTALS 50 MG Oral Capsule", Use::Acute),
    m("1094107", "Phenazopyridine hydrochloride 100 MG Oral Tablet", Use::Acute),
    m("198145", "Prednisone 10 MG Oral Tablet", Use::Acute),
    m("152695", "meloxicam 15 MG Oral Tablet", Use::Acute),
    m("828348", "Cyclobenzaprine hydrochloride 10 MG Oral Tablet", Use::Acute),
    m("198052", "Ondansetron 4 MG Oral Tablet", Use::Acute),
    m("997488", "Fexofenadine hydrochloride 30 MG Oral Tablet", Use::Acute),
    m("757594", "Jolivette 28 Day Pack", Use::Contraceptive),
    m("748962", "Camila 28 Day Pack", Use::Contraceptive),
    m("831533", "Errin 28 Day Pack", Use::Contraceptive),
    m("749762", "Seasonique 91 Day Pack", Use::Contraceptive),
    m("807283", "Mirena 52 MG Intrauterine System", Use::Contraceptive),
    m("312845", "ropinirole 0.25 MG Oral Tablet", Use::RlsTreatment),
    m("859033", "Pramipexole dihydrochloride 0.125 MG Oral Tablet", Use::RlsTreatment),
    m("310431", "gabapentin 300 MG Oral Capsule", Use::RlsTreatment),
];

// --- Observations ------------------------------------------------------------------------------

/// A laboratory test as coded in an export.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Lab {
    pub loinc: &'static str,
    pub display: &'static str,
    pub unit: &'static str,
}

const fn lab(loinc: &'static str, display: &'static str, unit: &'static str) -> Lab {
    Lab { loinc, display, unit }
}

pub(crate) const GLUCOSE: Lab = lab("2339-0", "Glucose [Mass/volume] in Blood", "mg/dL");
pub(crate) const UREA: Lab = lab("6299-2", "Urea nitrogen [Mass/volume] in Blood", "mg/dL");
pub(crate) const CALCIUM: Lab = lab("49765-1", "Calcium [Mass/volume] in Blood", "mg/dL");
pub(crate) const SODIUM: Lab = lab("2947-0", "Sodium [Moles/volume] in Blood", "mmol/L");
pub(crate) const POTASSIUM: Lab = lab("6298-4", "Potassium [Moles/volume] in Blood", "mmol/L");
pub(crate) const CHLORIDE: Lab = lab("2069-3", "Chloride [Moles/volume] in Blood", "mmol/L");
pub(crate) const CO2: Lab =
    lab("20565-8", "Carbon dioxide, total [Moles/volume] in Blood", "mmol/L");
/// Creatinine: the Synthea code in mg/dL, the serum code in mg/dL, the SI code in umol/L.
pub(crate) static CREATININE: [Lab; 3] = [
    lab("38483-4", "Creatinine [Mass/volume] in Blood", "mg/dL"),
    lab("2160-0", "Creatinine [Mass/volume] in Serum or Plasma", "mg/dL"),
    lab("14682-9", "Creatinine [Moles/volume] in Serum or Plasma", "umol/L"),
];
pub(crate) static EGFR: [Lab; 3] = [
    lab(
        "33914-3",
        "Glomerular filtration rate/1.73 sq M.predicted [Volume Rate/Area] in Serum or Plasma by Creatinine-based formula (MDRD)",
        "mL/min/{1.73_m2}",
    ),
    lab(
        "98979-8",
        "Glomerular filtration rate/1.73 sq M.predicted [Volume Rate/Area] in Serum, Plasma or Blood by Creatinine-based formula (CKD-EPI 2021)",
        "mL/min/{1.73_m2}",
    ),
    lab(
        "62238-1",
        "Glomerular filtration rate/1.73 sq M.predicted [Volume Rate/Area] in Serum, Plasma or Blood by Creatinine-based formula (CKD-EPI)",
        "mL/min/{1.73_m2}",
    ),
];
pub(crate) const CHOLESTEROL: Lab =
    lab("2093-3", "Cholesterol [Mass/volume] in Serum or Plasma", "mg/dL");
pub(crate) const TRIGLYCERIDES: Lab = lab("2571-8", "Triglycerides", "mg/dL");
pub(crate) const LDL: Lab = lab("18262-6", "Low Density Lipoprotein Cholesterol", "mg/dL");
pub(crate) const HDL: Lab =
    lab("2085-9", "Cholesterol in HDL [Mass/volume] in Serum or Plasma", "mg/dL");

pub(crate) const WBC: Lab =
    lab("6690-2", "Leukocytes [#/volume] in Blood by Automated count", "10*3/uL");
pub(crate) const RBC: Lab =
    lab("789-8", "Erythrocytes [#/volume] in Blood by Automated count", "10*6/uL");
pub(crate) const HB: Lab = lab("718-7", "Hemoglobin [Mass/volume] in Blood", "g/dL");
pub(crate) const HB_G_L: Lab = lab("718-7", "Hemoglobin [Mass/volume] in Blood", "g/L");
pub(crate) const HCT: Lab =
    lab("4544-3", "Hematocrit [Volume Fraction] of Blood by Automated count", "%");
pub(crate) const MCV: Lab = lab("787-2", "MCV [Entitic volume] by Automated count", "fL");
pub(crate) const MCH: Lab = lab("785-6", "MCH [Entitic mass] by Automated count", "pg");
pub(crate) const MCHC: Lab = lab("786-4", "MCHC [Mass/volume] by Automated count", "g/dL");
pub(crate) const RDW: Lab =
    lab("21000-5", "Erythrocyte distribution width [Entitic volume] by Automated count", "fL");
pub(crate) const PLATELETS: Lab =
    lab("777-3", "Platelets [#/volume] in Blood by Automated count", "10*3/uL");
pub(crate) const PDW: Lab = lab(
    "32207-3",
    "Platelet distribution width [Entitic volume] in Blood by Automated count",
    "fL",
);
pub(crate) const MPV: Lab =
    lab("32623-1", "Platelet mean volume [Entitic volume] in Blood by Automated count", "fL");

pub(crate) const HBA1C_PCT: Lab = lab("4548-4", "Hemoglobin A1c/Hemoglobin.total in Blood", "%");
pub(crate) const HBA1C_IFCC: Lab =
    lab("59261-8", "Hemoglobin A1c/Hemoglobin.total in Blood by IFCC protocol", "mmol/mol");
pub(crate) const MICROALBUMIN: Lab =
    lab("14959-1", "Microalbumin/Creatinine [Mass Ratio] in Urine", "mg/g");

pub(crate) static FERRITIN: [Lab; 2] = [
    lab("2276-4", "Ferritin [Mass/volume] in Serum or Plasma", "ng/mL"),
    lab("2276-4", "Ferritin [Mass/volume] in Serum or Plasma", "ug/L"),
];
pub(crate) const TSAT: Lab =
    lab("2502-3", "Iron saturation [Mass Fraction] in Serum or Plasma", "%");
pub(crate) static IRON: [Lab; 2] = [
    lab("2498-4", "Iron [Mass/volume] in Serum or Plasma", "ug/dL"),
    lab("2498-4", "Iron [Mass/volume] in Serum or Plasma", "umol/L"),
];
pub(crate) static TIBC: [Lab; 2] = [
    lab("2500-7", "Iron binding capacity [Mass/volume] in Serum or Plasma", "ug/dL"),
    lab("2500-7", "Iron binding capacity [Mass/volume] in Serum or Plasma", "umol/L"),
];

/// Vital signs: (LOINC, display, unit).
pub(crate) const HEIGHT: Lab = lab("8302-2", "Body Height", "cm");
pub(crate) const WEIGHT: Lab = lab("29463-7", "Body Weight", "kg");
pub(crate) const BMI: Lab = lab("39156-5", "Body mass index (BMI) [Ratio]", "kg/m2");
pub(crate) const BMI_PERCENTILE: Lab =
    lab("59576-9", "Body mass index (BMI) [Percentile] Per age and sex", "%");
pub(crate) const HEAD: Lab = lab("9843-4", "Head Occipital-frontal circumference", "cm");
pub(crate) const HEART_RATE: Lab = lab("8867-4", "Heart rate", "/min");
pub(crate) const RESP_RATE: Lab = lab("9279-1", "Respiratory rate", "/min");
pub(crate) const O2_SAT: Lab = lab("2708-6", "Oxygen saturation in Arterial blood", "%");
pub(crate) const TEMPERATURE: Lab = lab("8310-5", "Body temperature", "Cel");
pub(crate) const PAIN: Lab =
    lab("72514-3", "Pain severity - 0-10 verbal numeric rating [Score] - Reported", "{score}");

/// Tobacco smoking status answers (SNOMED CT), as the Synthea exports write them.
pub(crate) const SMOKING: &[(&str, &str)] = &[
    ("266919005", "Never smoked tobacco (finding)"),
    ("8517006", "Ex-smoker (finding)"),
    ("449868002", "Smokes tobacco daily (finding)"),
];

// --- Visits --------------------------------------------------------------------------------------

pub(crate) const WELLNESS: (&str, &str) =
    ("162673000", "General examination of patient (procedure)");
pub(crate) const CHECK_UP: (&str, &str) = ("185349003", "Encounter for check up (procedure)");
pub(crate) const SYMPTOM: (&str, &str) = ("185345009", "Encounter for symptom (procedure)");
pub(crate) const PROBLEM: (&str, &str) = ("185347001", "Encounter for problem (procedure)");
pub(crate) const EMERGENCY: (&str, &str) = ("50849002", "Emergency room admission (procedure)");
pub(crate) const PRENATAL: (&str, &str) = ("424619006", "Prenatal visit (regime/therapy)");
pub(crate) const PRENATAL_FIRST: (&str, &str) =
    ("424441002", "Prenatal initial visit (regime/therapy)");
pub(crate) const DIALYSIS: (&str, &str) = ("302497006", "Hemodialysis (procedure)");

pub(crate) const WELLNESS_PROCEDURES: &[(&str, &str)] = &[
    ("428191000124101", "Documentation of current medications (procedure)"),
    ("430193006", "Medication reconciliation (procedure)"),
    ("311791003", "Information gathering (procedure)"),
    ("415300000", "Review of systems (procedure)"),
    ("162676008", "Brief general examination (procedure)"),
    ("171207006", "Depression screening (procedure)"),
];

pub(crate) const SICK_PROCEDURES: &[(&str, &str)] = &[
    ("117015009", "Throat culture (procedure)"),
    ("23426006", "Measurement of respiratory function (procedure)"),
    ("288086009", "Suture open wound (procedure)"),
    ("399208008", "Plain chest X-ray (procedure)"),
    ("14768001", "Peripheral blood smear interpretation (procedure)"),
];

pub(crate) const OTHER_PROCEDURES: &[(&str, &str)] = &[
    ("73761001", "Colonoscopy (procedure)"),
    ("252160004", "Standard pregnancy test (procedure)"),
    ("169230002", "Ultrasound scan for fetal viability (procedure)"),
];

/// Vaccines (CVX).
pub(crate) const FLU: (&str, &str) = ("140", "Influenza, seasonal, injectable, preservative free");
pub(crate) const VACCINES: &[(&str, &str)] = &[
    ("113", "Td (adult) preservative free"),
    ("115", "Tdap"),
    ("52", "Hep A, adult"),
    ("43", "Hep B, adult"),
    ("62", "HPV, quadrivalent"),
    ("114", "meningococcal MCV4P"),
    ("121", "zoster"),
    ("33", "pneumococcal polysaccharide vaccine, 23 valent"),
    (
        "208",
        "SARS-COV-2 (COVID-19) vaccine, mRNA, spike protein, LNP, preservative free, 30 mcg/0.3mL dose",
    ),
];
pub(crate) const CHILD_VACCINES: &[(&str, &str)] = &[
    ("10", "IPV"),
    ("20", "DTaP"),
    ("03", "MMR"),
    ("21", "varicella"),
    ("83", "Hep A, ped/adol, 2 dose"),
];

pub(crate) const ALLERGIES: &[(&str, &str, &str)] = &[
    ("419474003", "Allergy to mould", "environment"),
    ("232350006", "House dust mite allergy", "environment"),
    ("91930004", "Allergy to eggs", "food"),
    ("300913006", "Shellfish allergy", "food"),
    ("91935009", "Allergy to peanuts", "food"),
    ("294505008", "Allergy to amoxicillin", "medication"),
];

pub(crate) const CARE_PLANS: &[(&str, &str, &str, &str)] = &[
    ("326051000000105", "Self care", "58332002", "Allergy education"),
    ("698360004", "Diabetes self management plan", "160670007", "Diabetic diet"),
    (
        "443402002",
        "Lifestyle education regarding hypertension",
        "386463000",
        "Prescribed activity/exercise education",
    ),
    ("53950000", "Respiratory therapy", "304510005", "Recommendation to avoid exercise"),
    ("134435003", "Routine antenatal care", "135892000", "Antenatal education"),
];

// --- People and places ---------------------------------------------------------------------------

pub(crate) const GIVEN_F: &[&str] = &[
    "Sumiko", "Larue", "Chrissy", "Michele", "Laurie", "Tanya", "Adriana", "Beatriz", "Carmen",
    "Delia", "Elena", "Fatima", "Gloria", "Hanna", "Irene", "Jada", "Keisha", "Lucia", "Maria",
    "Nadia", "Olivia", "Paula", "Rosa", "Sofia", "Tamara", "Ursula", "Vera", "Wendy", "Yolanda",
    "Zelda", "Ann", "Bettie", "Cristin", "Dorthy", "Eliza",
];
pub(crate) const GIVEN_M: &[&str] = &[
    "Buster", "Clemente", "Denny", "Dirk", "Hershel", "Milan", "Abdul", "Bennie", "Carlos",
    "Dewayne", "Elias", "Felipe", "Gilberto", "Hugo", "Ivan", "Jamal", "Kenton", "Lamar", "Marco",
    "Nelson", "Omar", "Pedro", "Quincy", "Rafael", "Santos", "Theo", "Ulysses", "Vince", "Wilbur",
    "Xavier", "Yusuf", "Zack", "Arden", "Brock", "Cory",
];
pub(crate) const FAMILY: &[&str] = &[
    "Hoeger",
    "Weimann",
    "Kreiger",
    "Bins",
    "Kuhlman",
    "Marvin",
    "McCullough",
    "Wolf",
    "Beatty",
    "Medhurst",
    "VonRueden",
    "Cummerata",
    "Hermiston",
    "Simonis",
    "Abbott",
    "Bauch",
    "Conroy",
    "Dach",
    "Ernser",
    "Feest",
    "Gislason",
    "Hagenes",
    "Jakubowski",
    "Kessler",
    "Lakin",
    "Mante",
    "Nader",
    "Osinski",
    "Pfannerstill",
    "Quigley",
    "Runolfsdottir",
    "Schaden",
    "Torphy",
    "Upton",
    "Walsh",
    "Yundt",
    "Zieme",
    "Boyle",
    "Carroll",
    "Durgan",
];
/// Names outside ASCII: some written as UTF-8, some with JSON `\u` escapes (both valid).
pub(crate) const ODD_GIVEN: &[&str] = &[
    "Zo\u{eb}",
    "Jos\u{e9}",
    "S\u{f8}ren",
    "\u{141}ukasz",
    "Chlo\\u00e9",
    "Ren\\u00e9e",
    "Fran\u{e7}ois",
];
pub(crate) const ODD_FAMILY: &[&str] = &[
    "M\u{fc}ller",
    "N\u{fa}\u{f1}ez",
    "O'Brien",
    "Gon\\u00e7alves",
    "\u{17b}ukowski",
    "Stra\u{df}e",
];

pub(crate) const CITIES: &[(&str, &str)] = &[
    ("Boston", "02118"),
    ("Worcester", "01604"),
    ("Springfield", "01109"),
    ("Cambridge", "02139"),
    ("Lowell", "01852"),
    ("Brockton", "02301"),
    ("Quincy", "02169"),
    ("Lynn", "01902"),
    ("New Bedford", "02740"),
    ("Fall River", "02720"),
    ("Newton", "02458"),
    ("Somerville", "02143"),
    ("Lawrence", "01841"),
    ("Framingham", "01701"),
    ("Haverhill", "01830"),
    ("Waltham", "02451"),
    ("Malden", "02148"),
    ("Brookline", "02446"),
    ("Plymouth", "02360"),
    ("Medford", "02155"),
    ("Taunton", "02780"),
    ("Chicopee", "01013"),
    ("Weymouth", "02188"),
    ("Revere", "02151"),
    ("Peabody", "01960"),
    ("Methuen", "01844"),
    ("Barnstable", "02630"),
    ("Pittsfield", "01201"),
    ("Attleboro", "02703"),
    ("Arlington", "02474"),
];
pub(crate) const STREETS: &[&str] = &[
    "Hahn Gateway",
    "Mertz Wall",
    "Kerluke Run",
    "Boehm Junction",
    "Rau Mill",
    "Hills Lane",
    "Lowe Loaf",
    "Pfeffer Way",
    "Ritchie Ferry",
    "Tromp Corner",
    "Gutkowski Crossing",
    "Schiller Parade",
    "Koss Annex",
    "Douglas Route",
    "Stiedemann Rapid",
];
pub(crate) const ORG_NAMES: &[&str] = &[
    "WILLIAMS MEDICAL GROUP PRACTICE LLC",
    "BOSTON MEDICAL CENTER CORPORATION",
    "MASSACHUSETTS GENERAL HOSPITAL",
    "BAYSTATE MEDICAL CENTER",
    "LOWELL GENERAL HOSPITAL",
    "SIGNATURE HEALTHCARE BROCKTON HOSPITAL",
    "SOUTH SHORE HOSPITAL",
    "CAMBRIDGE HEALTH ALLIANCE",
    "NEWTON-WELLESLEY HOSPITAL",
    "LAWRENCE GENERAL HOSPITAL",
    "METROWEST MEDICAL CENTER",
    "FAMILY PRACTICE GROUP PC",
    "PCP4217 LLC",
    "COMMUNITY HEALTH CONNECTIONS INC",
    "HARBOR HEALTH SERVICES INC",
];
pub(crate) const PAYERS: &[&str] = &[
    "Medicare",
    "Medicaid",
    "Blue Cross Blue Shield",
    "Aetna",
    "UnitedHealthcare",
    "Humana",
    "NO_INSURANCE",
];

pub(crate) const RACES: &[(&str, &str)] = &[
    ("2106-3", "White"),
    ("2054-5", "Black or African American"),
    ("2028-9", "Asian"),
    ("1002-5", "American Indian or Alaska Native"),
    ("2131-1", "Other"),
];
pub(crate) const LANGUAGES: &[(&str, &str)] = &[
    ("en-US", "English (United States)"),
    ("es", "Spanish"),
    ("pt", "Portuguese"),
    ("zh", "Chinese"),
];
