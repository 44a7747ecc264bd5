//! `fmseg data inspect` / `fmseg data convert` end to end: JSON shape, exit codes, real samples
//! (skipped when `shared/` is absent), and a synth -> convert -> inspect round trip.
#![allow(clippy::unwrap_used)]

mod common;

use common::fmseg;

use std::path::{Path, PathBuf};
use std::process::Output;

fn json(out: &Output) -> serde_json::Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout.clone()).unwrap();
    assert_eq!(
        text.trim().lines().count(),
        1,
        "exactly one JSON line: {text}"
    );
    serde_json::from_str(text.trim()).unwrap()
}

fn shared() -> Option<PathBuf> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/real-samples");
    if p.is_dir() {
        Some(p)
    } else {
        eprintln!("skipping: {} is absent", p.display());
        None
    }
}

#[test]
fn inspect_real_pickle_and_cimd() {
    let Some(root) = shared() else { return };
    let pkl = root.join("qubiq-brain-growth-pickle/brain_growth_alpha.pkl");
    let v = json(&fmseg(&[
        "data",
        "inspect",
        pkl.to_str().unwrap(),
        "--json",
    ]));
    assert_eq!(v["format"], "knegt-pickle");
    assert_eq!(
        (v["images"].as_u64(), v["raters"].as_u64()),
        (Some(39), Some(7))
    );
    assert_eq!(
        (
            v["height"].as_u64(),
            v["width"].as_u64(),
            v["channels"].as_u64()
        ),
        (Some(128), Some(128), Some(1))
    );
    assert_eq!(v["raters_foreground"].as_array().unwrap().len(), 7);
    assert_eq!(v["problems"].as_array().unwrap().len(), 0);
    let cimd = root.join("lidc-cimd-jpeg");
    let v = json(&fmseg(&[
        "data",
        "inspect",
        cimd.to_str().unwrap(),
        "--json",
    ]));
    assert_eq!(
        (v["format"].as_str(), v["images"].as_u64()),
        (Some("cimd-jpeg"), Some(28))
    );
    assert!((v["empty_rater_fraction"].as_f64().unwrap() - 0.25).abs() < 1e-12);
    assert!(v["all_empty_fraction"].is_number());
    let human = fmseg(&["data", "inspect", cimd.to_str().unwrap()]);
    assert!(String::from_utf8_lossy(&human.stdout).contains("cimd-jpeg"));

    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("cache");
    let o = fmseg(&[
        "data",
        "convert",
        pkl.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--size",
        "64",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v = json(&fmseg(&[
        "data",
        "inspect",
        out.to_str().unwrap(),
        "--json",
    ]));
    assert_eq!(
        (
            v["format"].as_str(),
            v["images"].as_u64(),
            v["height"].as_u64()
        ),
        (Some("fmseg-cache"), Some(39), Some(64))
    );
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(out.join("index.json")).unwrap()).unwrap();
    assert_eq!(index["source_sha256"].as_str().unwrap().len(), 64);
}

#[test]
fn synth_convert_inspect_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let synth = dir.path().join("synth");
    let s = synth.to_str().unwrap();
    let o = fmseg(&[
        "data", "synth", "--preset", "tiny", "--count", "6", "--out", s,
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v = json(&fmseg(&["data", "inspect", s, "--json"]));
    assert_eq!(
        (
            v["format"].as_str(),
            v["images"].as_u64(),
            v["raters"].as_u64()
        ),
        (Some("fmseg-synth"), Some(6), Some(4))
    );
    let cache = dir.path().join("cache");
    let c = cache.to_str().unwrap();
    let o = fmseg(&[
        "data",
        "convert",
        s,
        "--out",
        c,
        "--crop",
        "16",
        "--drop-empty",
        "--shard-size",
        "2",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    let v = json(&fmseg(&["data", "inspect", c, "--json"]));
    assert_eq!(v["height"].as_u64(), Some(16));
    assert_eq!(v["all_empty_fraction"].as_f64(), Some(0.0));
}

#[test]
fn bad_input_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.pkl");
    std::fs::write(&junk, b"\x80\x04garbage").unwrap();
    for args in [
        vec!["data", "inspect", "/nonexistent/path"],
        vec!["data", "inspect", junk.to_str().unwrap()],
        vec![
            "data",
            "convert",
            junk.to_str().unwrap(),
            "--out",
            dir.path().to_str().unwrap(),
        ],
        vec!["data", "convert", "/x", "--out", "/y", "--size", "0"],
    ] {
        let o = fmseg(&args);
        assert_eq!(
            o.status.code(),
            Some(2),
            "{args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        assert!(String::from_utf8_lossy(&o.stderr).starts_with("error:"));
    }
}
