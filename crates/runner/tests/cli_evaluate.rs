//! End-to-end tests of `fmseg evaluate` and `fmseg data synth` through the built binary: the JSON
//! contract, agreement with the parity fixtures, the oracle closed form, and exit code 2 with the
//! file named for every kind of bad input.

#![allow(clippy::unwrap_used)]

mod common;

use common::fmseg;

use std::path::{Path, PathBuf};
use std::process::Output;

use fmseg_data::npy::{write_f32, write_u8};
use serde_json::Value;

fn path_str(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// Runs `fmseg evaluate --json` on a pair of files, asserts success and parses the object.
fn evaluate_json(samples: &Path, annotations: &Path, extra: &[&str]) -> Value {
    let mut args = vec![
        "evaluate",
        "--samples",
        path_str(samples),
        "--annotations",
        path_str(annotations),
        "--json",
    ];
    args.extend_from_slice(extra);
    let out = fmseg(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).unwrap();
    assert_eq!(text.trim().lines().count(), 1, "exactly one JSON line");
    serde_json::from_str(&text).unwrap()
}

fn write_pair(dir: &Path) -> (PathBuf, PathBuf) {
    let s = dir.join("s.npy");
    let a = dir.join("a.npy");
    // 2 images, 3 samples, 2 annotators, 2×2
    let samples: Vec<f32> = (0..24).map(|i| ((i * 7) % 11) as f32 / 10.0).collect();
    let annotations: Vec<u8> = (0..16).map(|i| u8::from(i % 3 == 0)).collect();
    write_f32(&s, &[2, 3, 2, 2], &samples).unwrap();
    write_u8(&a, &[2, 2, 2, 2], &annotations).unwrap();
    (s, a)
}

#[test]
fn json_output_is_one_object_with_the_contract_keys() {
    let dir = tempfile::tempdir().unwrap();
    let (s, a) = write_pair(dir.path());
    let v = evaluate_json(&s, &a, &[]);
    assert_eq!(
        (
            v["images"].as_u64(),
            v["samples"].as_u64(),
            v["annotators"].as_u64()
        ),
        (Some(2), Some(3), Some(2))
    );
    for key in [
        "ged",
        "sncc",
        "dmax",
        "dice",
        "iou",
        "ged_unbiased",
        "hm_iou",
        "sncc_phiseg",
        "ece",
        "var_ncc",
    ] {
        assert!(v["mean"].get(key).is_some(), "mean.{key}");
    }
    let per_k = v["per_k"].as_array().unwrap();
    assert_eq!(
        per_k
            .iter()
            .map(|r| r["k"].as_u64().unwrap())
            .collect::<Vec<_>>(),
        vec![1, 2, 3]
    );
    assert_eq!(v["per_image"].as_array().unwrap().len(), 2);
    // k = 1 has no unbiased GED, and one sample has no variance to correlate
    assert!(per_k[0]["ged_unbiased"].is_null());
    assert!(per_k[0]["var_ncc"].is_null());
}

#[test]
fn table_output_and_parity_case_through_the_cli() {
    let case =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/parity/metrics/lidc-like-64");
    if !case.is_dir() {
        eprintln!("skipping: ../shared/parity/metrics absent");
        return;
    }
    let s = case.join("samples.npy");
    let a = case.join("annotations.npy");
    let ours = evaluate_json(&s, &a, &[]);
    let expected: Value =
        serde_json::from_str(&std::fs::read_to_string(case.join("expected.json")).unwrap())
            .unwrap();
    for key in ["ged", "sncc", "dmax", "dice", "iou"] {
        let (x, y) = (
            ours["mean"][key].as_f64().unwrap(),
            expected["mean"][key].as_f64().unwrap(),
        );
        assert!((x - y).abs() <= 1e-6, "{key}: {x} vs {y}");
    }
    let table = fmseg(&[
        "evaluate",
        "--samples",
        path_str(&s),
        "--annotations",
        path_str(&a),
        "--batch-mean",
        "4",
    ]);
    let text = String::from_utf8(table.stdout).unwrap();
    assert!(
        text.contains("ged") && text.contains("hm_iou") && text.contains("batch 4"),
        "{text}"
    );
    assert_eq!(text.lines().count(), 1 + 2 + 16 + 1, "{text}");
}

/// `fmseg data synth` of the `tiny` preset with oracle samples into `out`; asserts success.
fn synth_tiny(out: &Path, count: &str, seed: &str, oracle_samples: &str) {
    let o = fmseg(&[
        "data",
        "synth",
        "--preset",
        "tiny",
        "--count",
        count,
        "--seed",
        seed,
        "--oracle-samples",
        oracle_samples,
        "--out",
        path_str(out),
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
}

fn assert_input_error(out: &Output, needles: &[&str]) {
    assert_eq!(
        out.status.code(),
        Some(2),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim().lines().count(), 1, "one line: {err}");
    for n in needles {
        assert!(err.contains(n), "{n:?} not in {err}");
    }
    assert!(out.stdout.is_empty());
}

#[test]
fn bad_inputs_exit_2_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let (s, a) = write_pair(dir.path());
    let p = |name: &str| dir.path().join(name);
    let ev = |s: &Path, a: &Path| {
        fmseg(&[
            "evaluate",
            "--samples",
            path_str(s),
            "--annotations",
            path_str(a),
        ])
    };

    assert_input_error(&ev(&p("missing.npy"), &a), &["missing.npy"]);
    std::fs::write(p("junk.npy"), b"garbage").unwrap();
    assert_input_error(&ev(&p("junk.npy"), &a), &["junk.npy", "not a valid .npy"]);

    write_f32(&p("rank2.npy"), &[4, 4], &[0.0; 16]).unwrap();
    assert_input_error(&ev(&p("rank2.npy"), &a), &["rank2.npy", "rank"]);

    write_f32(&p("wrong_hw.npy"), &[2, 3, 3, 2], &[0.0; 36]).unwrap();
    assert_input_error(
        &ev(&p("wrong_hw.npy"), &a),
        &["wrong_hw.npy", "do not match"],
    );

    let mut nan = vec![0.5f32; 24];
    nan[13] = f32::NAN;
    write_f32(&p("nan.npy"), &[2, 3, 2, 2], &nan).unwrap();
    assert_input_error(&ev(&p("nan.npy"), &a), &["nan.npy", "NaN", "[1, 0, 0, 1]"]);

    let mut big = vec![0.5f32; 24];
    big[0] = 1.5;
    write_f32(&p("big.npy"), &[2, 3, 2, 2], &big).unwrap();
    assert_input_error(&ev(&p("big.npy"), &a), &["big.npy", "1.5", "[0, 0, 0, 0]"]);

    write_u8(&p("u8_samples.npy"), &[2, 3, 2, 2], &[0; 24]).unwrap();
    assert_input_error(
        &ev(&p("u8_samples.npy"), &a),
        &["u8_samples.npy", "float32"],
    );

    let mut nan_ann = vec![0.0f32; 16];
    nan_ann[3] = f32::NAN;
    write_f32(&p("nan_ann.npy"), &[2, 2, 2, 2], &nan_ann).unwrap();
    assert_input_error(&ev(&s, &p("nan_ann.npy")), &["nan_ann.npy", "not finite"]);
}

#[test]
fn three_d_arrays_mean_one_image_and_float_annotations_threshold_at_half() {
    let dir = tempfile::tempdir().unwrap();
    let s = dir.path().join("s.npy");
    let a = dir.path().join("a.npy");
    write_f32(&s, &[1, 2, 2], &[1.0, 0.0, 0.0, 0.0]).unwrap();
    write_f32(&a, &[1, 2, 2], &[0.6, 0.5, 0.0, 0.0]).unwrap();
    let v = evaluate_json(&s, &a, &[]);
    assert_eq!(v["images"], 1);
    assert!(
        v["mean"]["ged"].as_f64().unwrap().abs() < 1e-12,
        "0.6 → 1 and 0.5 → 0 match the sample"
    );
}

#[test]
fn synth_writes_the_dataset_and_the_oracle_matches_its_closed_form() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().join("synth");
    synth_tiny(&out_dir, "40", "3", "8");
    for f in [
        "images.npy",
        "annotations.npy",
        "marginal.npy",
        "variance.npy",
        "oracle.json",
        "oracle_samples.npy",
    ] {
        assert!(out_dir.join(f).is_file(), "{f}");
    }
    let images = fmseg_data::npy::NpyArray::read(&out_dir.join("images.npy")).unwrap();
    assert_eq!(images.shape, vec![40, 1, 32, 32]);
    let oracle: Value =
        serde_json::from_str(&std::fs::read_to_string(out_dir.join("oracle.json")).unwrap())
            .unwrap();
    let items = oracle["items"].as_array().unwrap();
    assert_eq!(items.len(), 40);
    let expected: f64 = items
        .iter()
        .map(|it| it["expected_distance"].as_f64().unwrap())
        .sum::<f64>()
        / 40.0
        * (1.0 / 8.0 + 1.0 / 4.0);
    let v = evaluate_json(
        &out_dir.join("oracle_samples.npy"),
        &out_dir.join("annotations.npy"),
        &["--no-sweep"],
    );
    let ged = v["mean"]["ged"].as_f64().unwrap();
    // 40 images of one draw each: a loose Monte-Carlo band around D(1/n + 1/m).
    assert!(
        (ged - expected).abs() < 0.5 * expected + 0.02,
        "oracle GED {ged} vs E = {expected}"
    );
    assert_eq!(v["per_k"].as_array().unwrap().len(), 1);
}

#[test]
fn synth_refuses_bad_arguments_with_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let o = path_str(dir.path());
    assert_input_error(
        &fmseg(&["data", "synth", "--preset", "lidc", "--out", o]),
        &["--preset", "lidc-like"],
    );
    assert_input_error(
        &fmseg(&["data", "synth", "--size", "8", "--out", o]),
        &["size"],
    );
    assert_input_error(
        &fmseg(&["data", "synth", "--count", "0", "--out", o]),
        &["--count"],
    );
}

/// The subcommand names listed under "Commands:" in a help text.
fn listed_commands(help: &str) -> Vec<String> {
    help.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next().map(str::to_string))
        .filter(|c| c != "help")
        .collect()
}

#[test]
fn every_subcommand_has_help() {
    let top = fmseg(&["--help"]);
    assert!(top.status.success());
    let mut pending: Vec<Vec<String>> = listed_commands(&String::from_utf8_lossy(&top.stdout))
        .into_iter()
        .map(|c| vec![c])
        .collect();
    assert!(pending.len() >= 3, "{pending:?}");
    let mut checked = 0;
    while let Some(path) = pending.pop() {
        let mut args: Vec<&str> = path.iter().map(String::as_str).collect();
        args.push("--help");
        let out = fmseg(&args);
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        assert!(out.status.success() && text.contains("Usage"), "{args:?}");
        for sub in listed_commands(&text) {
            let mut next = path.clone();
            next.push(sub);
            pending.push(next);
        }
        checked += 1;
    }
    assert!(checked >= 5, "only {checked} commands found");
}

#[test]
fn compare_writes_long_rows_and_tables_for_each_k() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("synth");
    let out = fmseg(&[
        "data",
        "synth",
        "--preset",
        "tiny",
        "--count",
        "12",
        "--oracle-samples",
        "4",
        "--out",
        path_str(&data),
    ]);
    assert!(out.status.success());
    // A collapsed method: every sample is the first oracle draw.
    let oracle = fmseg_data::npy::NpyArray::read(&data.join("oracle_samples.npy")).unwrap();
    let fmseg_data::npy::NpyData::F32(v) = oracle.data else {
        panic!("f32")
    };
    let px = 32 * 32;
    let collapsed: Vec<f32> = v
        .chunks(4 * px)
        .flat_map(|img| img[..px].repeat(4))
        .collect();
    write_f32(
        &dir.path().join("collapsed.npy"),
        &[12, 4, 32, 32],
        &collapsed,
    )
    .unwrap();
    let res = dir.path().join("cmp");
    let run = fmseg(&[
        "compare",
        "--annotations",
        path_str(&data.join("annotations.npy")),
        "--method",
        &format!("oracle={}", path_str(&data.join("oracle_samples.npy"))),
        "--method",
        &format!("collapsed={}", path_str(&dir.path().join("collapsed.npy"))),
        "--dataset",
        "tiny",
        "--out",
        path_str(&res),
    ]);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let csv = std::fs::read_to_string(res.join("metrics.csv")).unwrap();
    assert!(csv.starts_with("method,variant,label,dataset,seed,image,k,metric,value\n"));
    // A name that is a method id keeps it in the method column; any other is `external`.
    assert!(
        csv.contains("\noracle,,oracle,tiny,0,11,4,ged,")
            && csv.contains("\nexternal,,collapsed,tiny,0,0,1,dmax,"),
        "{csv}"
    );
    let md = std::fs::read_to_string(res.join("table.md")).unwrap();
    for k in [1, 2, 4] {
        assert!(md.contains(&format!("| method (k = {k}) |")), "{md}");
    }
    assert!(md.contains("| oracle |") && md.contains("| collapsed |"));
    let tex = std::fs::read_to_string(res.join("table.tex")).unwrap();
    assert_eq!(tex.matches("\\toprule").count(), 3);
    let bad = fmseg(&[
        "compare",
        "--annotations",
        "a.npy",
        "--method",
        "noequals",
        "--out",
        path_str(&res),
    ]);
    assert_input_error(&bad, &["noequals", "NAME=S.npy"]);
}

#[test]
fn oracle_samples_track_the_true_variance() {
    let dir = tempfile::tempdir().unwrap();
    let s = dir.path().join("s");
    synth_tiny(&s, "6", "0", "16");
    let truth = s.join("variance.npy");
    let v = evaluate_json(
        &s.join("oracle_samples.npy"),
        &s.join("annotations.npy"),
        &["--true-variance", path_str(&truth)],
    );
    let per_k = v["per_k"].as_array().unwrap();
    assert!(
        per_k[0]["var_corr_oracle"].is_null(),
        "one sample has no variance"
    );
    let at_16 = per_k[15]["var_corr_oracle"].as_f64().unwrap();
    // 16 draws from the answer distribution: their variance follows the true one closely
    assert!(at_16 > 0.8, "var_corr_oracle at k = 16: {at_16}");
    assert_eq!(v["mean"]["var_corr_oracle"].as_f64(), Some(at_16));
    assert_eq!(v["per_image"].as_array().unwrap().len(), 6);
    assert!(
        v["mean"]["var_ncc"].as_f64().unwrap() > 0.0,
        "{}",
        v["mean"]
    );

    // a true variance of another shape is refused, naming the file
    write_f32(&dir.path().join("v.npy"), &[6, 4, 4], &[0.1; 96]).unwrap();
    let out = fmseg(&[
        "evaluate",
        "--samples",
        path_str(&s.join("oracle_samples.npy")),
        "--annotations",
        path_str(&s.join("annotations.npy")),
        "--true-variance",
        path_str(&dir.path().join("v.npy")),
    ]);
    assert_input_error(&out, &["v.npy", "expected (N, H, W)"]);
}
