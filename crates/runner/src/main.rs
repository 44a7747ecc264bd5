//! `fmseg`: the command line of the fmseg workspace (the commands live in the `fmseg_runner`
//! library).
//!
//! Exit codes: 0 success, 2 bad input or usage (one line on stderr naming the file and the
//! problem), 1 any other failure.

use clap::Parser;
use fmseg_runner::cli::Cli;
use fmseg_runner::input_error::is_input_error;

/// Parses the command line; a usage error is one line on stderr and exit code 2 (help and
/// version print as clap renders them).
fn parse() -> Cli {
    use clap::error::ErrorKind;
    match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e)
            if matches!(
                e.kind(),
                ErrorKind::DisplayHelp
                    | ErrorKind::DisplayVersion
                    | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            ) =>
        {
            e.exit()
        }
        Err(e) => {
            let text = e.render().to_string();
            let line: Vec<&str> = text
                .lines()
                .map(str::trim)
                .take_while(|l| !l.starts_with("Usage:") && !l.starts_with("For more information"))
                .filter(|l| !l.is_empty())
                .collect();
            eprintln!("{}", line.join(" "));
            std::process::exit(2);
        }
    }
}

fn main() {
    let cli = parse();
    if let Err(err) = cli.command.run() {
        let line = format!("{err:#}").replace('\n', " ");
        eprintln!("error: {line}");
        std::process::exit(if is_input_error(&err) { 2 } else { 1 });
    }
}
