//! `fmseg`: the command line of the fmseg workspace (the commands live in the `fmseg_runner`
//! library).
//!
//! Exit codes: 0 success, 2 bad input or usage (one line on stderr naming the file and the
//! problem), 1 any other failure, 70 an internal error (a panic: one line on stderr, no
//! backtrace), 141 output to a closed pipe (`fmseg ... | head`: quiet, as a SIGPIPE would end it).

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

use clap::Parser;
use fmseg_runner::cli::Cli;
use fmseg_runner::input_error::{is_input_error, one_line};

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

/// Exit code of an internal error (a panic), `EX_SOFTWARE` of sysexits.h.
const INTERNAL_ERROR: i32 = 70;
/// Exit code when stdout is a closed pipe: 128 + SIGPIPE, what a shell reports for a tool that
/// SIGPIPE ended.
const BROKEN_PIPE: i32 = 141;

/// Any panic prints one line (the first one only, not a backtrace); a panic from printing to a
/// closed pipe exits quietly.
fn install_panic_hook() {
    static REPORTED: AtomicBool = AtomicBool::new(false);
    std::panic::set_hook(Box::new(|info| {
        let payload = info.payload();
        let message = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_string())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        if message.contains("Broken pipe") {
            std::process::exit(BROKEN_PIPE);
        }
        if REPORTED.swap(true, Ordering::SeqCst) {
            return;
        }
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let line = message.replace('\n', " ");
        let _ = writeln!(
            std::io::stderr(),
            "error: internal error: {line}{at} (a bug in fmseg: please report it with the command line)"
        );
    }));
}

/// Whether the error chain holds a write to a closed pipe.
fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

fn main() {
    install_panic_hook();
    let cli = parse();
    let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| cli.command.run()));
    match outcome {
        Ok(Ok(())) => {}
        Ok(Err(err)) if is_broken_pipe(&err) => std::process::exit(BROKEN_PIPE),
        Ok(Err(err)) => {
            let _ = writeln!(std::io::stderr(), "error: {}", one_line(&err));
            std::process::exit(if is_input_error(&err) { 2 } else { 1 });
        }
        // the hook printed the line
        Err(_) => std::process::exit(INTERNAL_ERROR),
    }
}
