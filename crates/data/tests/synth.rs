//! The synthetic dataset: determinism, preset properties, and the oracle's closed forms checked
//! against the official metric code (data-formats §4.3 item 7).

#![allow(clippy::unwrap_used)]

use fmseg_data::rng::Rng;
use fmseg_data::synth::{SynthConfig, SynthPreset, SyntheticDataset};
use fmseg_metrics::{ImageSet, Prefixes};

fn dataset(preset: SynthPreset, size: usize, raters: usize, seed: u64) -> SyntheticDataset {
    SyntheticDataset::new(SynthConfig {
        preset,
        size,
        raters,
        seed,
    })
    .unwrap()
}

#[test]
fn items_are_pure_functions_of_seed_and_index() {
    let a = dataset(SynthPreset::LidcLike, 48, 4, 7);
    let b = dataset(SynthPreset::LidcLike, 48, 4, 7);
    assert_eq!(a.sample(5), b.sample(5));
    assert_ne!(a.sample(5).image, a.sample(6).image);
    assert_ne!(
        a.sample(5).image,
        dataset(SynthPreset::LidcLike, 48, 4, 8).sample(5).image
    );
}

#[test]
fn presets_have_their_shapes_and_ranges() {
    for preset in SynthPreset::ALL {
        let size = preset.default_size();
        let ds = dataset(preset, size, 5, 1);
        let channels = if preset == SynthPreset::MmisLike {
            3
        } else {
            1
        };
        assert_eq!(ds.channels(), channels, "{preset:?}");
        for i in 0..20 {
            let s = ds.sample(i);
            assert_eq!(s.image.len(), channels * size * size);
            assert_eq!(s.annotations.len(), 5 * size * size);
            assert!(s.image.iter().all(|v| (0.0..=1.0).contains(v)));
            assert!(s.annotations.iter().all(|&v| v <= 1));
            let total: f64 = s.oracle.probabilities.iter().sum();
            assert!((total - 1.0).abs() < 1e-12, "{preset:?} π sums to {total}");
            let p = s.oracle.marginal();
            let var = s.oracle.variance();
            assert!(
                p.iter()
                    .zip(&var)
                    .all(|(p, v)| (p * (1.0 - p) - v).abs() < 1e-7)
            );
            if preset == SynthPreset::Tiny {
                assert!(s.oracle.masks.len() <= 3);
            }
            if preset == SynthPreset::Degenerate {
                assert_eq!(s.oracle.masks.len(), 1);
            }
        }
    }
}

#[test]
fn invalid_sizes_and_rater_counts_are_refused_with_the_field() {
    let err = SyntheticDataset::new(SynthConfig {
        preset: SynthPreset::Tiny,
        size: 16,
        raters: 4,
        seed: 0,
    })
    .unwrap_err()
    .to_string();
    assert!(err.contains("size"), "{err}");
    let err = SyntheticDataset::new(SynthConfig {
        preset: SynthPreset::Tiny,
        size: 32,
        raters: 0,
        seed: 0,
    })
    .unwrap_err()
    .to_string();
    assert!(err.contains("raters"), "{err}");
}

#[test]
fn lidc_like_has_some_raters_marking_nothing() {
    let ds = dataset(SynthPreset::LidcLike, 32, 4, 3);
    let images = 400;
    let with_empty = (0..images)
        .filter(|&i| {
            let s = ds.sample(i);
            s.annotations
                .chunks(32 * 32)
                .any(|m| m.iter().all(|&v| v == 0))
        })
        .count();
    let fraction = with_empty as f64 / images as f64;
    // Target ≈ 30 % (CIMD's 28 real LIDC crops: 7 with at least one empty rater).
    assert!(
        (0.2..=0.4).contains(&fraction),
        "fraction with an empty rater: {fraction}"
    );
}

/// Official GED of `n` oracle draws against `m` oracle draws, averaged over `trials`.
fn mean_oracle_ged(
    ds: &SyntheticDataset,
    index: u64,
    n: usize,
    m: usize,
    trials: usize,
) -> (f64, f64) {
    let s = ds.sample(index);
    let oracle = &s.oracle;
    let px = oracle.pixels();
    let mut rng = Rng::for_item(99, index);
    let values: Vec<f64> = (0..trials)
        .map(|_| {
            let samples: Vec<f32> = (0..n)
                .flat_map(|_| {
                    oracle.masks[oracle.draw(&mut rng)]
                        .iter()
                        .map(|&v| f32::from(v))
                })
                .collect();
            let annotations: Vec<u8> = (0..m)
                .flat_map(|_| oracle.masks[oracle.draw(&mut rng)].clone())
                .collect();
            ImageSet {
                samples: &samples,
                annotations: &annotations,
                n,
                m,
                pixels: px,
            }
            .evaluate(Prefixes::Last)
            .unwrap()[0]
                .scores
                .ged
        })
        .collect();
    let mean = values.iter().sum::<f64>() / trials as f64;
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (trials - 1) as f64;
    (mean, var / trials as f64)
}

#[test]
fn oracle_sampler_reaches_the_closed_form_expected_ged() {
    let ds = dataset(SynthPreset::LidcLike, 32, 4, 11);
    let (n, m, trials) = (3, 4, 300);
    let (mut empirical, mut expected, mut variance) = (0.0, 0.0, 0.0);
    let images = 24;
    for i in 0..images {
        let (mean, var_of_mean) = mean_oracle_ged(&ds, i, n, m, trials);
        empirical += mean;
        variance += var_of_mean;
        expected += ds.sample(i).oracle.expected_official_ged(n, m);
    }
    let (empirical, expected) = (empirical / images as f64, expected / images as f64);
    let se = variance.sqrt() / images as f64;
    assert!(
        expected > 0.05,
        "the preset should have real disagreement (E[GED] = {expected})"
    );
    assert!(
        (empirical - expected).abs() < 4.0 * se + 1e-4,
        "E[GED] = D(1/n+1/m) = {expected}, oracle sampler {empirical} (se {se})"
    );
}

#[test]
fn perfect_sampler_on_degenerate_gives_zero_ged_exactly() {
    let ds = dataset(SynthPreset::Degenerate, 32, 4, 5);
    for i in 0..10 {
        let s = ds.sample(i);
        let px = s.oracle.pixels();
        let samples: Vec<f32> = s.oracle.masks[0]
            .iter()
            .cycle()
            .take(6 * px)
            .map(|&v| f32::from(v))
            .collect();
        let rows = ImageSet {
            samples: &samples,
            annotations: &s.annotations,
            n: 6,
            m: 4,
            pixels: px,
        }
        .evaluate(Prefixes::All)
        .unwrap();
        for row in rows {
            assert_eq!(row.scores.ged, 0.0);
            assert_eq!(row.scores.dice, 1.0);
            assert_eq!(row.scores.dmax, 1.0);
        }
        assert_eq!(s.oracle.expected_distance(), 0.0);
    }
}
