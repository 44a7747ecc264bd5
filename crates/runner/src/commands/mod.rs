//! Subcommand dispatch.

mod data;
mod evaluate;

use anyhow::Result;

use crate::cli::{Cli, Command, DataCommand};

/// Runs the parsed command line.
pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Evaluate(args) => evaluate::run(&args),
        Command::Data(DataCommand::Synth(args)) => data::synth(&args),
    }
}
