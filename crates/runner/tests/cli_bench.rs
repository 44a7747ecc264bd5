//! `fmseg bench`: every kind prints one JSON line with the documented keys; bad options exit 2.
#![allow(clippy::unwrap_used)]

mod common;

use common::fmseg;

fn json_line(args: &[&str]) -> serde_json::Value {
    let o = fmseg(args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    serde_json::from_slice(&o.stdout).unwrap()
}

#[test]
fn network_kinds_print_the_documented_json() {
    let keys = [
        "kind",
        "net",
        "batch",
        "size",
        "params",
        "device",
        "median_s",
        "min_s",
        "max_s",
        "peak_rss_mb",
        "gflop_per_s",
    ];
    for (kind, net) in [
        ("forward", "cpu-default"),
        ("sample", "tiny"),
        ("train", "tiny"),
    ] {
        let args = [
            "bench", kind, "--net", net, "--batch", "2", "--steps", "2", "--warmup", "0",
            "--device", "cpu", "--json",
        ];
        let line = json_line(&args);
        for key in keys {
            assert!(line.get(key).is_some(), "{kind}: {key} missing in {line}");
        }
        assert_eq!(line["kind"], kind);
        assert_eq!(line["size"], 32);
        assert_eq!(line["device"], "cpu");
        assert!(line["params"].as_u64().unwrap() > 100_000, "{line}");
        let (min, med, max) = (
            line["min_s"].as_f64().unwrap(),
            line["median_s"].as_f64().unwrap(),
            line["max_s"].as_f64().unwrap(),
        );
        assert!(0.0 < min && min <= med && med <= max, "{line}");
        assert!(line["gflop_per_s"].as_f64().unwrap() > 0.0, "{line}");
    }
}

#[test]
fn metrics_prints_images_per_second() {
    let args = [
        "bench",
        "metrics",
        "--images",
        "2",
        "--samples",
        "4",
        "--annotators",
        "2",
        "--size",
        "16",
        "--steps",
        "1",
        "--json",
    ];
    let line = json_line(&args);
    assert_eq!(line["kind"], "metrics");
    assert_eq!(line["sweep"], true);
    assert!(line["images_per_s"].as_f64().unwrap() > 0.0, "{line}");
}

#[test]
fn bad_options_exit_2() {
    for args in [
        vec!["bench", "train", "--net", "tiny", "--size", "30"],
        vec!["bench", "forward", "--net", "huge"],
        vec!["bench", "forward", "--net", "tiny", "--batch", "0"],
        vec!["bench", "metrics", "--images", "0"],
    ] {
        let o = fmseg(&args);
        assert_eq!(o.status.code(), Some(2), "{args:?}");
        assert_eq!(
            String::from_utf8_lossy(&o.stderr).lines().count(),
            1,
            "{args:?}"
        );
    }
    if !cfg!(feature = "cuda") {
        let o = fmseg(&["bench", "forward", "--net", "tiny", "--device", "cuda"]);
        assert_eq!(o.status.code(), Some(2));
        assert!(String::from_utf8_lossy(&o.stderr).contains("--features cuda"));
    }
}
