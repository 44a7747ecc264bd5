//! An experiment file as read: its path, text and parsed [`RunSpec`], and the one error type
//! of experiment files ([`ExperimentError`], shared with the model crate's block resolvers) with
//! the YAML line of the offending field.

use std::path::{Component, Path, PathBuf};

use fmseg_data::FieldError;
pub use fmseg_model::experiment::ExperimentError;

use super::spec::{MethodEntry, RunSpec};

/// A parsed experiment file with its text (for error lines) and path.
#[derive(Debug, Clone)]
pub struct SpecFile {
    /// The file.
    pub path: PathBuf,
    /// Its text.
    pub text: String,
    /// The parsed spec.
    pub spec: RunSpec,
}

impl SpecFile {
    /// Reads and parses `path`.
    pub fn load(path: &Path) -> Result<Self, ExperimentError> {
        let text = std::fs::read_to_string(path).map_err(|source| ExperimentError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::parse(text, path)
    }

    /// Parses `text`; `path` names the file in errors. The method blocks stay YAML values
    /// until the ablation grid is applied, but are also read typed once here, so that a bad
    /// method id, solver or sampling key is reported with its dotted path, line and column.
    pub fn parse(text: String, path: &Path) -> Result<Self, ExperimentError> {
        #[derive(serde::Deserialize)]
        struct TypedMethods {
            #[serde(default)]
            #[allow(dead_code)]
            methods: Vec<MethodEntry>,
        }
        let parse_error = |e: serde_yaml::Error| ExperimentError::Parse {
            path: path.to_path_buf(),
            message: e.to_string(),
        };
        let depth = flow_depth(&text);
        if depth > MAX_FLOW_DEPTH {
            return Err(ExperimentError::Parse {
                path: path.to_path_buf(),
                message: format!(
                    "brackets nest {depth} deep (at most {MAX_FLOW_DEPTH}; an experiment needs \
                     a few levels)"
                ),
            });
        }
        let spec: RunSpec = serde_yaml::from_str(&text).map_err(parse_error)?;
        serde_yaml::from_str::<TypedMethods>(&text).map_err(parse_error)?;
        let file = Self {
            path: path.to_path_buf(),
            text,
            spec,
        };
        if let Some(name) = &file.spec.name {
            // the name becomes results/<name>/: one plain folder name, nothing that leads out
            let mut parts = Path::new(name).components();
            let folder =
                matches!(parts.next(), Some(Component::Normal(_))) && parts.next().is_none();
            if !folder || name.contains('\0') {
                return Err(file.invalid(
                    "name",
                    format!("'{name}' must be one plain folder name (no '/', no '..')"),
                ));
            }
        }
        Ok(file)
    }

    /// The experiment name: `name:` or the file stem.
    pub fn name(&self) -> String {
        self.spec.name.clone().unwrap_or_else(|| {
            self.path
                .file_stem()
                .map_or_else(|| "experiment".into(), |s| s.to_string_lossy().into_owned())
        })
    }

    /// An [`ExperimentError::Invalid`] for `field`, with the field's line when it can be found.
    pub fn invalid(&self, field: &str, message: impl Into<String>) -> ExperimentError {
        self.field_error(FieldError::new(field, message))
    }

    /// A [`FieldError`] of a library resolver (its field already prefixed to the file's root)
    /// as the file's error, with the field's line.
    pub fn field_error(&self, error: FieldError) -> ExperimentError {
        let line = locate(&self.text, &error.field);
        ExperimentError::invalid(&self.path, line, error)
    }
}

/// The deepest `[`/`{` nesting an experiment file may have. The YAML reader's time grows with
/// the square of the flow nesting (120 KB of `[` took 9 s), so deeper files are refused before
/// parsing.
const MAX_FLOW_DEPTH: usize = 64;

/// The deepest flow-collection nesting of a YAML text (brackets in quotes and comments are not
/// counted).
fn flow_depth(text: &str) -> usize {
    let (mut depth, mut deepest) = (0usize, 0usize);
    for line in text.lines() {
        let mut quote: Option<char> = None;
        for c in line.chars() {
            match (quote, c) {
                (Some(q), c) if c == q => quote = None,
                (Some(_), _) => {}
                (None, '\'' | '"') => quote = Some(c),
                (None, '#') => break,
                (None, '[' | '{') => {
                    depth += 1;
                    deepest = deepest.max(depth);
                }
                (None, ']' | '}') => depth = depth.saturating_sub(1),
                _ => {}
            }
        }
    }
    deepest
}

/// The 1-based line of a dotted field such as `methods[1].training.steps`, found by walking the
/// YAML text key by key (block or flow style); `None` when a segment is not found.
pub fn locate(text: &str, field: &str) -> Option<usize> {
    let lines: Vec<&str> = text.lines().collect();
    let mut from = 0usize;
    let mut found = None;
    for segment in field.split('.') {
        let (key, index) = match segment.split_once('[') {
            Some((k, rest)) => (k, rest.trim_end_matches(']').parse::<usize>().ok()),
            None => (segment, None),
        };
        let at = (from..lines.len()).find(|&i| has_key(lines[i], key))?;
        found = Some(at);
        from = at;
        if let Some(index) = index {
            // The index-th list item after the key: lines whose first non-space char is `-`.
            let items: Vec<usize> = (at + 1..lines.len())
                .filter(|&i| lines[i].trim_start().starts_with("- "))
                .collect();
            let indent = items
                .first()
                .map(|&i| lines[i].len() - lines[i].trim_start().len())?;
            let item = items
                .into_iter()
                .filter(|&i| lines[i].len() - lines[i].trim_start().len() == indent)
                .nth(index)?;
            found = Some(item);
            from = item;
        }
    }
    found.map(|i| i + 1)
}

fn has_key(line: &str, key: &str) -> bool {
    let code = line.split('#').next().unwrap_or_default();
    let pattern = format!("{key}:");
    code.match_indices(&pattern).any(|(i, _)| {
        let before = code[..i].trim_end();
        before.is_empty() || before.ends_with(['{', ',', '-'])
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    const TEXT: &str = "name: t\ndatasets:\n  - id: a\n    synthetic: { preset: tiny, train_count: 8, test_count: 2 }\nmethods:\n  - method: flow\n    training: { steps: 1 }\n  - method: cimd\n    training:\n      steps: 3\n";

    #[test]
    fn deep_flow_nesting_is_refused_before_parsing() {
        assert_eq!(flow_depth("a: [1, {b: [2]}]  # [[[[\nc: '[[['\n"), 3);
        let deep = format!(
            "name: t\nmethods: {}{}\n",
            "[".repeat(60_000),
            "]".repeat(60_000)
        );
        let err = SpecFile::parse(deep, Path::new("x.yaml"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("x.yaml: brackets nest 60000 deep"), "{err}");
    }

    #[test]
    fn parses_and_defaults() {
        let f = SpecFile::parse(TEXT.into(), Path::new("x.yaml")).unwrap();
        assert_eq!(f.spec.seeds, vec![0]);
        assert_eq!(f.spec.sample_counts.as_slice(), &[1, 2, 4, 8, 16]);
        assert!(f.spec.oracle && f.spec.figures.enabled);
        assert_eq!(f.name(), "t");
    }

    #[test]
    fn unknown_keys_are_refused_with_position() {
        let bad = TEXT.replace("name: t", "name: t\nsede: [1]");
        let err = SpecFile::parse(bad, Path::new("x.yaml"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("x.yaml") && err.contains("sede") && err.contains("line"),
            "{err}"
        );
    }

    #[test]
    fn locate_walks_keys_and_list_items() {
        assert_eq!(locate(TEXT, "datasets[0].synthetic"), Some(4));
        assert_eq!(locate(TEXT, "methods[0].training"), Some(7));
        assert_eq!(locate(TEXT, "methods[1].training.steps"), Some(10));
        assert_eq!(locate(TEXT, "methods[1]"), Some(8));
        assert_eq!(locate(TEXT, "nothing"), None);
        let f = SpecFile::parse(TEXT.into(), Path::new("x.yaml")).unwrap();
        let e = f
            .invalid("methods[1].training.steps", "too few")
            .to_string();
        assert_eq!(e, "x.yaml:10: field `methods[1].training.steps`: too few");
    }
}
