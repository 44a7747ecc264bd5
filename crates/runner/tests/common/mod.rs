//! Shared by the CLI integration tests: running the built `fmseg` binary.

#![allow(dead_code, clippy::unwrap_used)]

use std::path::Path;
use std::process::{Command, Output};

/// Runs the built binary with `args` and collects its output.
pub fn fmseg(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fmseg"))
        .args(args)
        .output()
        .unwrap()
}

/// Runs the built binary with `args` in the working directory `dir`.
pub fn fmseg_in(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_fmseg"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}
