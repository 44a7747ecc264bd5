//! What `--resume` may continue: the checkpoint's run must have had the same resolved
//! configuration (method, network, objective, training settings, dataset fingerprint) as the
//! run now asked for. Only the step count, the logging and checkpoint periods and the
//! experiment's name may differ;
//! any other difference is refused with the fields named, since continuing would silently mix
//! two configurations in one model. Also removes the temporary folders and files an interrupted
//! run left behind.

use std::path::Path;

use serde_json::Value;

use super::error::TrainError;

/// The `config.json` fields a resumed run may change: the step count, the periods, and the
/// experiment's name (a label of the caller's metadata, not a setting).
pub(crate) const RESUMABLE: [&str; 4] = [
    "training.steps",
    "training.log_every",
    "training.checkpoint_every",
    "experiment",
];

/// The differing fields of two configurations, as `path: checkpoint A, now B`, in key order.
pub(crate) fn differences(saved: &Value, now: &Value) -> Vec<String> {
    let mut out = Vec::new();
    walk("", saved, now, &mut out);
    out
}

fn walk(path: &str, saved: &Value, now: &Value, out: &mut Vec<String>) {
    if RESUMABLE.contains(&path) {
        return;
    }
    match (saved, now) {
        (Value::Object(a), Value::Object(b)) => {
            let mut keys: Vec<&String> = a.keys().chain(b.keys()).collect();
            keys.sort();
            keys.dedup();
            for k in keys {
                let child = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                let absent = Value::String("(absent)".into());
                walk(
                    &child,
                    a.get(k).unwrap_or(&absent),
                    b.get(k).unwrap_or(&absent),
                    out,
                );
            }
        }
        (a, b) if a != b => out.push(format!("{path}: checkpoint {a}, now {b}")),
        _ => {}
    }
}

/// Refuses to resume into `out` when its `config.json` differs from `now` beyond [`RESUMABLE`].
pub(crate) fn check_resumable(out: &Path, now: &Value) -> Result<(), TrainError> {
    let path = out.join("config.json");
    let refuse = |message: String| TrainError::Resume {
        dir: out.to_path_buf(),
        message,
    };
    let saved: Value = std::fs::read(&path)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| {
            refuse(format!(
                "{} is missing or damaged, so the checkpoint's configuration is unknown",
                path.display()
            ))
        })?;
    let diff = differences(&saved, now);
    if diff.is_empty() {
        return Ok(());
    }
    const SHOWN: usize = 4;
    let more = diff.len().saturating_sub(SHOWN);
    let message = format!(
        "the configuration differs from the checkpoint's ({}{}); only {} may change on --resume \
         (train into a new folder instead)",
        diff[..diff.len().min(SHOWN)].join("; "),
        if more > 0 {
            format!("; and {more} more")
        } else {
            String::new()
        },
        RESUMABLE.join(", ")
    );
    Err(refuse(message))
}

/// Removes what an interrupted run left: `checkpoints/.step-*.tmp/` folders and `.*.tmp` files
/// beside the exported weights (the writers rename them into place when they finish).
pub(crate) fn remove_orphans(out: &Path) -> Result<(), TrainError> {
    for (dir, folders) in [(out.join("checkpoints"), true), (out.to_path_buf(), false)] {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            if !(name.starts_with('.') && name.ends_with(".tmp")) {
                continue;
            }
            let path = entry.path();
            let removed = if folders && path.is_dir() {
                std::fs::remove_dir_all(&path)
            } else if path.is_file() {
                std::fs::remove_file(&path)
            } else {
                Ok(())
            };
            removed.map_err(|e| TrainError::io(&path, e))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn only_steps_and_periods_may_change() {
        let saved = json!({"method": "flow", "training": {"steps": 100, "lr": 1e-4, "log_every": 10, "checkpoint_every": 50}, "dataset": {"fingerprint": "a"}});
        let mut now = saved.clone();
        now["training"]["steps"] = json!(400);
        now["training"]["log_every"] = json!(1);
        now["training"]["checkpoint_every"] = json!(5);
        assert!(differences(&saved, &now).is_empty());
        now["training"]["lr"] = json!(2e-4);
        now["dataset"]["fingerprint"] = json!("b");
        now["extra"] = json!(1);
        assert_eq!(
            differences(&saved, &now),
            vec![
                "dataset.fingerprint: checkpoint \"a\", now \"b\"".to_string(),
                "extra: checkpoint \"(absent)\", now 1".to_string(),
                "training.lr: checkpoint 0.0001, now 0.0002".to_string(),
            ]
        );
    }

    #[test]
    fn resuming_a_changed_run_names_the_fields_and_orphans_go() {
        let dir = tempfile::tempdir().unwrap();
        let saved = json!({"training": {"lr": 1e-4}});
        let err = check_resumable(dir.path(), &saved).unwrap_err().to_string();
        assert!(err.contains("missing or damaged"), "{err}");
        std::fs::write(dir.path().join("config.json"), saved.to_string()).unwrap();
        assert!(check_resumable(dir.path(), &saved).is_ok());
        let err = check_resumable(dir.path(), &json!({"training": {"lr": 1e-3}}))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("training.lr: checkpoint 0.0001, now 0.001"),
            "{err}"
        );

        let ck = dir.path().join("checkpoints");
        std::fs::create_dir_all(ck.join(".step-000010.999.tmp")).unwrap();
        std::fs::create_dir_all(ck.join("step-000010")).unwrap();
        std::fs::write(dir.path().join(".model.safetensors.999.tmp"), b"x").unwrap();
        remove_orphans(dir.path()).unwrap();
        assert!(!ck.join(".step-000010.999.tmp").exists());
        assert!(ck.join("step-000010").exists());
        assert!(!dir.path().join(".model.safetensors.999.tmp").exists());
        assert!(dir.path().join("config.json").exists());
    }
}
