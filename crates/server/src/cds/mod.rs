//! HL7 CDS Hooks 2.0: discovery, the `patient-view`, `order-select` and `order-sign` services,
//! and feedback. Only this module knows the CDS Hooks wire format.

mod answer;
pub mod cards;
pub mod discovery;
pub(crate) mod feedback;
pub(crate) mod fetch;
pub(crate) mod record;
pub(crate) mod service;
pub mod wire;
