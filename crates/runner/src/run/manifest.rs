//! `manifest.json`: the provenance of an experiment's outputs — the git commit (and whether the
//! tree was dirty), the fmseg version, the parsed experiment, each dataset's fingerprint and
//! checksum, every cell's resolved configuration, seed, NFE and wall times, the device, and the
//! files written.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};
use fmseg_data::atomic::write_atomic;
use serde_json::json;

use super::gather::Gathered;
use super::plan::Plan;

/// `(commit, dirty)` of the git work tree holding `dir`, if any.
pub fn git_commit(dir: &Path) -> (Option<String>, Option<bool>) {
    let run = |args: &[&str]| {
        Command::new("git")
            .arg("-C")
            .arg(dir)
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    let commit = run(&["rev-parse", "HEAD"]);
    let dirty = commit
        .as_ref()
        .and_then(|_| run(&["status", "--porcelain", "--untracked-files=no"]))
        .map(|s| !s.is_empty());
    (commit, dirty)
}

/// The devices recorded in the manifest: the one this invocation ran on (`None` for
/// `fmseg collect`), the ones the finished cells sampled on, and the host.
pub fn device_description(this: Option<&str>, gathered: &Gathered) -> serde_json::Value {
    let cells: std::collections::BTreeSet<&str> = gathered
        .records
        .iter()
        .filter_map(|r| r.device.as_deref())
        .collect();
    json!({
        "this_invocation": this,
        "cells": cells,
        "host": format!(
            "{} {}, {} rayon threads",
            std::env::consts::OS,
            std::env::consts::ARCH,
            rayon::current_num_threads()
        ),
        "cpu_features": crate::cpu_features::cpu_features(),
    })
}

/// Writes `out/manifest.json`.
pub fn write_manifest(
    plan: &Plan,
    gathered: &Gathered,
    figures: &[PathBuf],
    out: &Path,
    wall_seconds: Option<f64>,
    device: Option<&str>,
) -> Result<()> {
    let spec_dir = Path::new(&plan.spec_file)
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf);
    let (commit, dirty) = git_commit(&spec_dir);
    let rel = |p: &PathBuf| {
        p.strip_prefix(out)
            .unwrap_or(p)
            .to_string_lossy()
            .into_owned()
    };
    let manifest = json!({
        "experiment": plan.experiment,
        "spec_file": plan.spec_file,
        "fmseg_version": env!("CARGO_PKG_VERSION"),
        "git_commit": commit,
        "git_dirty": dirty,
        "device": device_description(device, gathered),
        "written_unix_seconds": std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0),
        "wall_seconds_of_this_invocation": wall_seconds,
        "sample_counts": plan.sample_counts,
        "spec": plan.spec,
        "datasets": plan.datasets,
        "cells": gathered.records,
        "unfinished_cells": gathered.missing,
        "seeds": gathered.records.iter().map(|r| r.cell.seed).collect::<std::collections::BTreeSet<_>>(),
        "outputs": {
            "metrics": ["metrics.csv", "metrics.parquet"],
            "tables": ["table.md", "table.tex"],
            "figures": figures.iter().map(rel).collect::<Vec<_>>(),
        },
    });
    let text = serde_json::to_string_pretty(&manifest)?;
    write_atomic(&out.join("manifest.json"), text.as_bytes()).context("writing manifest.json")
}
