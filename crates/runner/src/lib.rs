//! Library side of the `fmseg` runner: result reporting shared by the commands (tables with
//! bootstrap confidence intervals). The command-line front end is the `fmseg` binary.

pub mod report;
