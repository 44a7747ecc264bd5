//! Subcommand dispatch.

pub mod compare;
mod data;
mod data_tools;
mod evaluate;
pub mod likelihood;
pub mod model;
pub mod run;
pub mod sample;
pub mod train;

use anyhow::Result;

use crate::cli::{Cli, Command, DataCommand};

/// Runs the parsed command line.
pub fn run(cli: Cli) -> Result<()> {
    match cli.command {
        Command::Evaluate(args) => evaluate::run(&args),
        Command::Compare(args) => compare::run(&args),
        Command::Likelihood(args) => likelihood::run(&args),
        Command::Data(DataCommand::Synth(args)) => data::synth(&args),
        Command::Model(model::ModelCommand::Velocity(args)) => model::velocity(&args),
        Command::Sample(args) => sample::run(&args),
        Command::Train(args) => train::run(&args),
        Command::Run(args) => run::run(&args),
        Command::Sweep(args) => run::sweep(&args),
        Command::Collect(args) => run::collect_dir(&args),
        Command::Data(DataCommand::Inspect(args)) => data_tools::inspect(&args),
        Command::Data(DataCommand::Convert(args)) => data_tools::convert(&args),
    }
}
