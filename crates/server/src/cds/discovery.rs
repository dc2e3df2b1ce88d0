//! `GET /cds-services`: the three services and the prefetch templates their rules need — the
//! Patient, every Condition, current MedicationRequests and MedicationStatements, the
//! Observations carrying a LOINC code the knowledge base knows (labs and coded answers), and
//! FamilyMemberHistory. The same templates drive the fetch (`cds::fetch`) when a client sends no
//! prefetch.

use axum::Json;
use axum::extract::State;
use restless_kb::Kb;
use serde_json::{Map, Value};

use super::wire::{Discovery, Service};
use crate::state::AppState;

/// Service id of the patient-view service.
pub const PATIENT_VIEW: &str = "restless-patient-view";
/// Service id of the order-select service.
pub const ORDER_SELECT: &str = "restless-order-select";
/// Service id of the order-sign service.
pub const ORDER_SIGN: &str = "restless-order-sign";

/// The hook a service answers.
#[must_use]
pub fn hook_of(service: &str) -> Option<&'static str> {
    match service {
        PATIENT_VIEW => Some("patient-view"),
        ORDER_SELECT => Some("order-select"),
        ORDER_SIGN => Some("order-sign"),
        _ => None,
    }
}

/// The prefetch templates, by key.
#[must_use]
pub fn prefetch_templates(kb: &Kb) -> Vec<(&'static str, String)> {
    let t = kb.terminology();
    let mut codes: Vec<&str> =
        t.analytes().iter().flat_map(|a| a.loinc.iter().map(String::as_str)).collect();
    codes.extend(t.analytes().iter().filter_map(|a| a.workup_loinc.as_deref()));
    codes.extend(t.coded_loincs());
    codes.sort_unstable();
    codes.dedup();
    let codes: Vec<String> = codes.iter().map(|c| format!("http://loinc.org|{c}")).collect();
    vec![
        ("patient", "Patient/{{context.patientId}}".to_owned()),
        ("conditions", "Condition?patient={{context.patientId}}".to_owned()),
        (
            "medicationRequests",
            "MedicationRequest?patient={{context.patientId}}&status=active,on-hold".to_owned(),
        ),
        (
            "medicationStatements",
            "MedicationStatement?patient={{context.patientId}}&status=active".to_owned(),
        ),
        (
            "observations",
            format!("Observation?patient={{{{context.patientId}}}}&code={}", codes.join(",")),
        ),
        ("familyHistory", "FamilyMemberHistory?patient={{context.patientId}}".to_owned()),
    ]
}

/// The discovery document.
#[must_use]
pub fn discovery(kb: &Kb) -> Discovery {
    let prefetch: Map<String, Value> =
        prefetch_templates(kb).into_iter().map(|(k, v)| (k.to_owned(), Value::String(v))).collect();
    let usage = "Needs the prefetch listed, or fhirServer with fhirAuthorization so that \
        restless can fetch what is missing; answers 412 when it can obtain no data at all. \
        Calls must carry a JWT (CDS Hooks 2.0 security)."
        .to_owned();
    Discovery {
        services: vec![
            Service {
                hook: "patient-view".to_owned(),
                title: "restless: causes of restless legs".to_owned(),
                description: "For a patient with restless legs syndrome: secondary causes and \
                    aggravating medicines present in the record, and iron studies (ferritin, \
                    transferrin saturation) never done or older than 12 months. No cards when \
                    there is nothing to act on."
                    .to_owned(),
                id: PATIENT_VIEW.to_owned(),
                prefetch: prefetch.clone(),
                usage_requirements: Some(usage.clone()),
            },
            Service {
                hook: "order-select".to_owned(),
                title: "restless: medicines that worsen restless legs".to_owned(),
                description: "Warns when a selected medication order may worsen the patient's \
                    restless legs, with the strength of the evidence and safer alternatives as \
                    suggestions."
                    .to_owned(),
                id: ORDER_SELECT.to_owned(),
                prefetch: prefetch.clone(),
                usage_requirements: Some(usage.clone()),
            },
            Service {
                hook: "order-sign".to_owned(),
                title: "restless: medicines that worsen restless legs (at signing)".to_owned(),
                description: "Warns when an order about to be signed may worsen the patient's \
                    restless legs, with the strength of the evidence and safer alternatives as \
                    suggestions."
                    .to_owned(),
                id: ORDER_SIGN.to_owned(),
                prefetch,
                usage_requirements: Some(usage),
            },
        ],
    }
}

/// The CDS services this server offers.
#[utoipa::path(get, path = "/cds-services", tag = "cds-hooks",
    responses((status = 200, description = "CDS Hooks discovery", body = Discovery)))]
pub(crate) async fn discover(State(state): State<AppState>) -> Json<Discovery> {
    Json(discovery(state.kb()))
}
