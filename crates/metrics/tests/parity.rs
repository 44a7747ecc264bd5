//! Golden test against the official implementation: every case in `../shared/parity/metrics`
//! (produced by huynhspm/Data-Uncertainty `compute_metric`, batch size 1 per image, float32 torch)
//! must agree to ≤ 1e-6 for `mean`, `per_k` and `per_image`. Skips with a message when the shared
//! folder is absent.

#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use fmseg_metrics::{DatasetShape, Prefixes, Scores, evaluate_dataset};
use serde_json::Value;

const TOLERANCE: f64 = 1e-6;
const OFFICIAL: [&str; 5] = ["ged", "sncc", "dmax", "dice", "iou"];

fn parity_root() -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/parity/metrics");
    root.is_dir().then_some(root)
}

fn read_npy<T: npyz::Deserialize>(path: &Path) -> (Vec<u64>, Vec<T>) {
    let bytes = std::fs::read(path).unwrap();
    let npy = npyz::NpyFile::new(&bytes[..]).unwrap();
    let shape = npy.shape().to_vec();
    (shape, npy.into_vec().unwrap())
}

fn official(s: &Scores) -> [f64; 5] {
    [s.ged, s.sncc, s.dmax, s.dice, s.iou]
}

fn compare(case: &str, what: &str, ours: &Scores, expected: &Value, worst: &mut f64) {
    for (name, value) in OFFICIAL.iter().zip(official(ours)) {
        let want = expected[name].as_f64().unwrap();
        let diff = (value - want).abs();
        *worst = worst.max(diff);
        assert!(
            diff <= TOLERANCE,
            "{case} {what} {name}: ours {value} expected {want} (|Δ| = {diff:e})"
        );
    }
}

#[test]
fn official_metrics_match_every_parity_case() {
    let Some(root) = parity_root() else {
        eprintln!("skipping: ../shared/parity/metrics not found");
        return;
    };
    let mut cases: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    assert!(
        cases.len() >= 7,
        "expected the 7 parity cases, found {}",
        cases.len()
    );
    for dir in cases {
        let case = dir.file_name().unwrap().to_string_lossy().to_string();
        let (s_shape, samples) = read_npy::<f32>(&dir.join("samples.npy"));
        let (a_shape, annotations) = read_npy::<u8>(&dir.join("annotations.npy"));
        let expected: Value =
            serde_json::from_str(&std::fs::read_to_string(dir.join("expected.json")).unwrap())
                .unwrap();
        let shape = DatasetShape {
            images: s_shape[0] as usize,
            samples: s_shape[1] as usize,
            annotators: a_shape[1] as usize,
            height: s_shape[2] as usize,
            width: s_shape[3] as usize,
        };
        assert_eq!(
            expected["samples"].as_u64().unwrap() as usize,
            shape.samples
        );
        let report = evaluate_dataset(&samples, &annotations, shape, Prefixes::All).unwrap();
        let mut worst = 0.0f64;
        compare(&case, "mean", &report.mean, &expected["mean"], &mut worst);
        let per_k = expected["per_k"].as_array().unwrap();
        assert_eq!(
            per_k.len(),
            report.per_k.len(),
            "{case}: number of prefixes"
        );
        for (ours, want) in report.per_k.iter().zip(per_k) {
            assert_eq!(ours.k as u64, want["k"].as_u64().unwrap());
            compare(
                &case,
                &format!("per_k[{}]", ours.k),
                &ours.scores,
                want,
                &mut worst,
            );
        }
        let per_image = expected["per_image"].as_array().unwrap();
        assert_eq!(per_image.len(), report.per_image.len());
        for (i, (ours, want)) in report.per_image.iter().zip(per_image).enumerate() {
            compare(&case, &format!("per_image[{i}]"), ours, want, &mut worst);
        }
        eprintln!("{case}: max |Δ| = {worst:e}");
    }
}
