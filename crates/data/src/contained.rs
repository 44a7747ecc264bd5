//! Names read from files or configs that become paths must stay inside the folder they are
//! relative to: a cache index's shard names, an experiment's name under `results/`. A name is
//! accepted when it is a plain relative path of normal components (no root, no `..`, no `.`-only
//! name, no NUL) and, when the target exists, its canonical path is still inside the folder (so no
//! symbolic link leads out).

use std::path::{Component, Path, PathBuf};

use thiserror::Error;

/// Why a name cannot be used as a path inside its folder.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum ContainedError {
    /// Empty, absolute, or with `..`, `.` or a drive prefix.
    #[error("'{name}' must be a relative path inside its folder (no leading '/', no '..')")]
    NotRelative {
        /// The name.
        name: String,
    },
    /// It resolves (through a symbolic link) to a place outside the folder.
    #[error("'{name}' leads outside its folder (to {target})")]
    Escapes {
        /// The name.
        name: String,
        /// Where it leads.
        target: String,
    },
}

/// Refuses `name` unless it is a plain relative path of normal components (checked without
/// touching the file system).
pub fn plain_relative(name: &str) -> Result<&Path, ContainedError> {
    let relative = Path::new(name);
    let plain = !name.is_empty()
        && !name.contains('\0')
        && relative
            .components()
            .all(|c| matches!(c, Component::Normal(_)));
    if plain {
        Ok(relative)
    } else {
        Err(ContainedError::NotRelative { name: name.into() })
    }
}

/// `dir/name`, refused when `name` is not a plain relative path or leads outside `dir`.
pub fn contained(dir: &Path, name: &str) -> Result<PathBuf, ContainedError> {
    let path = dir.join(plain_relative(name)?);
    if let (Ok(target), Ok(root)) = (path.canonicalize(), dir.canonicalize())
        && !target.starts_with(&root)
    {
        return Err(ContainedError::Escapes {
            name: name.into(),
            target: target.display().to_string(),
        });
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_names_pass_and_escapes_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(
            contained(dir.path(), "shard-0.npy").unwrap(),
            dir.path().join("shard-0.npy")
        );
        assert!(contained(dir.path(), "sub/shard.npy").is_ok());
        for bad in ["", "/etc/passwd", "../x.npy", "a/../../x", ".", "a\0b"] {
            assert!(
                matches!(
                    contained(dir.path(), bad),
                    Err(ContainedError::NotRelative { .. })
                ),
                "{bad:?}"
            );
        }
    }

    #[cfg(unix)]
    #[test]
    fn links_leading_out_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), b"x").unwrap();
        std::os::unix::fs::symlink(outside.path().join("secret"), dir.path().join("link")).unwrap();
        let err = contained(dir.path(), "link").unwrap_err();
        assert!(matches!(err, ContainedError::Escapes { .. }), "{err}");
    }
}
