//! One module per subcommand, each with its argument struct (dispatched by
//! [`crate::cli::Command::run`]).

pub mod bench;
pub mod compare;
pub mod data;
pub mod data_tools;
pub mod diagnose;
pub mod evaluate;
pub mod likelihood;
pub mod model;
pub mod run;
pub mod sample;
pub mod train;
