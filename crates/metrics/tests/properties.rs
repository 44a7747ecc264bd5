//! Property tests of the metric definitions: symmetry, bounds, GED = 0 for identical sets,
//! invariance to sample order for the full-set values, and the one-pass sweep agreeing with a
//! fresh evaluation of each prefix.

#![allow(clippy::unwrap_used)]

use fmseg_metrics::bitmask::BitMask;
use fmseg_metrics::overlap::{dice, iou};
use fmseg_metrics::{ImageSet, Prefixes, Scores};
use proptest::prelude::*;

const H: usize = 6;
const W: usize = 7;
const PX: usize = H * W;

/// Soft masks: each pixel snaps to 0, 1 or a soft value, so binarisation and soft maps both vary.
fn soft_masks(count: std::ops::RangeInclusive<usize>) -> impl Strategy<Value = Vec<Vec<f32>>> {
    let pixel = prop_oneof![Just(0.0f32), Just(1.0f32), Just(0.5f32), 0.0f32..=1.0];
    prop::collection::vec(prop::collection::vec(pixel, PX), count)
}

fn binary_masks(count: std::ops::RangeInclusive<usize>) -> impl Strategy<Value = Vec<Vec<u8>>> {
    prop::collection::vec(
        prop::collection::vec(prop::bool::weighted(0.3).prop_map(u8::from), PX),
        count,
    )
}

fn score(samples: &[Vec<f32>], annotations: &[Vec<u8>], prefixes: Prefixes) -> Vec<Scores> {
    let s: Vec<f32> = samples.concat();
    let a: Vec<u8> = annotations.concat();
    ImageSet {
        samples: &s,
        annotations: &a,
        n: samples.len(),
        m: annotations.len(),
        pixels: PX,
    }
    .evaluate(prefixes)
    .unwrap()
    .into_iter()
    .map(|p| p.scores)
    .collect()
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * (1.0 + a.abs().max(b.abs()))
}

fn close_opt(a: Option<f64>, b: Option<f64>) -> bool {
    match (a, b) {
        (Some(x), Some(y)) => close(x, y),
        (None, None) => true,
        _ => false,
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn overlap_is_symmetric_and_bounded(a in binary_masks(1..=1), b in binary_masks(1..=1)) {
        let (a, b) = (BitMask::from_u8(&a[0]), BitMask::from_u8(&b[0]));
        prop_assert_eq!(iou(&a, &b), iou(&b, &a));
        prop_assert_eq!(dice(&a, &b), dice(&b, &a));
        for v in [iou(&a, &b), dice(&a, &b)] {
            prop_assert!((0.0..=1.0).contains(&v));
        }
        prop_assert!(iou(&a, &b) <= dice(&a, &b) + 1e-12);
    }

    #[test]
    fn scores_are_bounded(s in soft_masks(1..=5), g in binary_masks(1..=4)) {
        for row in score(&s, &g, Prefixes::All) {
            prop_assert!(row.ged >= -1e-12 && row.ged <= 2.0 + 1e-12, "ged {}", row.ged);
            for v in [row.dmax, row.dice, row.iou, row.hm_iou, row.ece] {
                prop_assert!((-1e-12..=1.0 + 1e-12).contains(&v), "{v}");
            }
            prop_assert!((-1.0 - 1e-9..=1.0 + 1e-9).contains(&row.sncc));
            if let Some(v) = row.sncc_phiseg {
                prop_assert!((-1.0 - 1e-9..=1.0 + 1e-9).contains(&v));
            }
        }
    }

    #[test]
    fn identical_sets_give_zero_ged(mask in binary_masks(1..=1), n in 1usize..5, m in 1usize..5) {
        let soft: Vec<f32> = mask[0].iter().map(|&v| f32::from(v)).collect();
        let rows = score(&vec![soft; n], &vec![mask[0].clone(); m], Prefixes::All);
        for row in rows {
            prop_assert!(row.ged.abs() < 1e-12);
            prop_assert!((row.dmax - 1.0).abs() < 1e-12);
            prop_assert!((row.hm_iou - 1.0).abs() < 1e-12);
            if let Some(u) = row.ged_unbiased {
                prop_assert!(u.abs() < 1e-12);
            }
        }
    }

    #[test]
    fn full_set_values_ignore_sample_order(s in soft_masks(2..=5), g in binary_masks(1..=4), rot in 1usize..5) {
        let mut rotated = s.clone();
        rotated.rotate_left(rot % s.len());
        let a = *score(&s, &g, Prefixes::Last).last().unwrap();
        let b = *score(&rotated, &g, Prefixes::Last).last().unwrap();
        for (x, y) in a.values().iter().zip(b.values()) {
            prop_assert!(close_opt(*x, y), "{x:?} vs {y:?}");
        }
    }

    #[test]
    fn sweep_equals_fresh_prefix_evaluation(s in soft_masks(1..=5), g in binary_masks(1..=3)) {
        let sweep = score(&s, &g, Prefixes::All);
        for k in 1..=s.len() {
            let fresh = *score(&s[..k], &g, Prefixes::Last).last().unwrap();
            for (x, y) in sweep[k - 1].values().iter().zip(fresh.values()) {
                prop_assert!(close_opt(*x, y), "k={k}: {x:?} vs {y:?}");
            }
        }
    }
}
