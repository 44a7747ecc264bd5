//! The marker error for bad user input: the binary exits with code 2 when it is in the chain.
//! It wraps the typed cause transparently (same message, same source chain), so a library error
//! keeps its chain up to `main`.

use std::error::Error;
use std::fmt;

use fmseg_model::training::TrainError;

/// A problem with a file or argument the user gave (exit code 2).
#[derive(Debug)]
pub struct InputError(Box<dyn Error + Send + Sync>);

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl Error for InputError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        self.0.source()
    }
}

/// Marks `cause` (a typed error, or a message) as bad input, as an `anyhow::Error`.
pub fn input_error(cause: impl Into<Box<dyn Error + Send + Sync>>) -> anyhow::Error {
    anyhow::Error::new(InputError(cause.into()))
}

/// A training error as the CLI reports it: bad settings or data are input errors (exit 2).
pub fn train_error(e: TrainError) -> anyhow::Error {
    match e {
        TrainError::Config { .. } | TrainError::Dataset(_) | TrainError::Resume { .. } => {
            input_error(e)
        }
        other => anyhow::Error::new(other),
    }
}

/// Whether `err`'s chain holds an [`InputError`], or an output path that runs through a regular
/// file (`--out results/table.md/x`: the user named an impossible folder).
pub fn is_input_error(err: &anyhow::Error) -> bool {
    err.chain().any(|e| {
        e.downcast_ref::<InputError>().is_some()
            || e.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::NotADirectory)
    })
}

/// The error chain as one line, `outer: inner: cause`, leaving out a cause whose text the error
/// above it already printed (several typed errors quote their source in their own message).
pub fn one_line(err: &anyhow::Error) -> String {
    let mut parts: Vec<String> = Vec::new();
    for e in err.chain() {
        let text = e.to_string();
        if text.is_empty() || parts.last().is_some_and(|above| above.contains(&text)) {
            continue;
        }
        parts.push(text);
    }
    parts.join(": ").replace(['\n', '\r'], " ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn wraps_transparently_and_is_found_in_the_chain() {
        let e = input_error(Outer(std::io::Error::other("inner")));
        assert_eq!(format!("{e:#}"), "outer: inner");
        assert!(is_input_error(&e));
        let e = e.context("reading x");
        assert!(is_input_error(&e));
        assert!(!is_input_error(&anyhow::anyhow!("plain")));
        assert_eq!(input_error("just a message").to_string(), "just a message");
    }

    #[derive(Debug, thiserror::Error)]
    #[error("reading w.safetensors: {0}")]
    struct Quoting(#[source] std::io::Error);

    #[test]
    fn one_line_prints_each_cause_once() {
        let e = anyhow::Error::new(Quoting(std::io::Error::other("disk on fire")))
            .context("training flow");
        assert_eq!(
            one_line(&e),
            "training flow: reading w.safetensors: disk on fire"
        );
        let e = anyhow::Error::new(Outer(std::io::Error::other("two\nlines")));
        assert_eq!(one_line(&e), "outer: two lines");
        let nested = std::io::Error::new(std::io::ErrorKind::NotADirectory, "not a directory");
        assert!(is_input_error(
            &anyhow::Error::new(nested).context("writing x")
        ));
    }
}
