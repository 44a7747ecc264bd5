//! `fmseg`: the command line of the fmseg workspace.
//!
//! Exit codes: 0 success, 2 bad input or usage (one line on stderr naming the file and the
//! problem), 1 any other failure.

mod cli;
mod commands;
mod input_error;
mod inputs;
mod run;
mod table;

use clap::Parser;

use crate::input_error::InputError;

fn main() {
    let cli = cli::Cli::parse();
    if let Err(err) = commands::run(cli) {
        let line = format!("{err:#}").replace('\n', " ");
        eprintln!("error: {line}");
        let code = if err
            .chain()
            .any(|e| e.downcast_ref::<InputError>().is_some())
        {
            2
        } else {
            1
        };
        std::process::exit(code);
    }
}
