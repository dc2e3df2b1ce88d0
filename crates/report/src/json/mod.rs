//! The JSON report. Only versioned modules know its shape; version 1 is the contract in
//! `design/contract.md`.

pub mod v1;
