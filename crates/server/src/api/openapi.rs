//! `GET /openapi.json`: the OpenAPI 3.1 document, generated from the handlers' and types'
//! annotations (utoipa), with this server's public URL.

use axum::Json;
use axum::extract::State;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{OpenApi as Document, ServerBuilder};
use utoipa::{Modify, OpenApi};

use crate::state::AppState;

struct Jwt;

impl Modify for Jwt {
    fn modify(&self, doc: &mut Document) {
        let components = doc.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "jwt",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some("CDS Hooks 2.0: a JWT signed by the CDS client"))
                    .build(),
            ),
        );
    }
}

/// The API description.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "restless",
        description = "Finds the causes behind a person's restless legs syndrome: a REST API \
            and HL7 CDS Hooks 2.0 services. Supports, and does not replace, a clinician's \
            judgement."
    ),
    paths(
        super::assess::assess,
        super::causes::list,
        super::causes::show,
        super::health::healthz,
        super::health::readyz,
        super::metrics::metrics,
        openapi,
        crate::cds::discovery::discover,
        crate::cds::service::call,
        crate::cds::feedback::feedback,
    ),
    components(schemas(crate::error::Problem, crate::error::FieldError)),
    modifiers(&Jwt),
    tags(
        (name = "assess", description = "Assess one person"),
        (name = "knowledge base", description = "What restless knows, with sources"),
        (name = "cds-hooks", description = "HL7 CDS Hooks 2.0"),
        (name = "operations", description = "Probes and metrics")
    )
)]
pub(crate) struct ApiDoc;

/// The document, with `servers` set to the public URL.
pub(crate) fn document(base_url: &str) -> Document {
    let mut doc = ApiDoc::openapi();
    doc.info.version = env!("CARGO_PKG_VERSION").to_owned();
    doc.servers = Some(vec![ServerBuilder::new().url(base_url).build()]);
    doc
}

/// This document.
#[utoipa::path(get, path = "/openapi.json", tag = "operations",
    responses((status = 200, description = "OpenAPI 3.1", body = Object)))]
pub(crate) async fn openapi(State(state): State<AppState>) -> Json<Document> {
    Json(document(state.base_url()))
}
