//! Integration tests of `restless serve`, one binary (logs are in `tests/logs.rs`, which needs
//! the process-wide log subscriber to itself).
//!
//! - `rest`: `/v1/assess`, `/v1/causes`, probes, metrics, OpenAPI, errors.
//! - `cds`: discovery, the three services on the spec's examples and on built patients,
//!   fetching from a stub FHIR server, auth, CORS, feedback and its durability.
//! - `limits`: body limits (413), overload (503), timeouts.
//! - `socket`: end to end over a real socket on 127.0.0.1, graceful shutdown.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../common/mod.rs"]
mod common;

mod cds;
mod limits;
mod rest;
mod socket;
