//! # fmseg-runner
//!
//! The `fmseg` command line as a library: argument definitions ([`cli`]), one module per command
//! ([`commands`]), the device chosen at run time ([`backend`]), experiments from YAML to tables
//! and figures ([`run`]), and result reporting ([`report`]). The binary (`src/main.rs`) only
//! parses the arguments and maps errors to exit codes.

#![warn(missing_docs)]

pub mod backend;
pub mod cli;
pub mod commands;
pub mod cpu_features;
pub mod input_error;
pub mod inputs;
pub mod memory;
pub mod report;
pub mod run;
pub mod table;
