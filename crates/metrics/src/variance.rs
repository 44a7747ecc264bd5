//! `var_ncc`: the paper's central claim — that the pixel-wise variance of the samples reflects the
//! annotators' disagreement — as one number per image and prefix k. It is the Pearson correlation
//! (the NCC with which ValUES compares a predicted uncertainty map with the rater-based one) of the
//! samples' per-pixel population variance `Σp²/k − s̄²` with the annotators' per-pixel variance
//! `ḡ(1 − ḡ)` (ḡ the fraction of annotators marking the pixel). Undefined (`None`) when either map
//! is constant: a single sample, identical samples, or annotators who agree everywhere.
//!
//! The fused pass ([`crate::pixelwise`]) computes it from shifted raw moments; [`var_ncc`] here is
//! the literal two-pass definition it falls back on and is tested against.
//!
//! Where the true answer distribution is known (the synthetic benchmark's oracle),
//! [`variance_correlation`] correlates the samples' variance with the true per-pixel variance
//! instead of the annotators' (a handful of raters estimate it coarsely).

use crate::bitmask::BitMask;
use crate::ncc::ncc_pearson;
use crate::pixel_sums::PixelSums;

/// The variance `ḡ(1 − ḡ)` of a pixel that a fraction `mean` of the annotators marked.
#[inline(always)]
pub fn annotator_variance(mean: f64) -> f64 {
    mean * (1.0 - mean)
}

/// `var_ncc` of the samples pushed into `sums` against `annotations`, by the literal definition.
///
/// # Panics
/// If the sizes disagree or there are no annotations.
pub fn var_ncc(sums: &PixelSums, annotations: &[BitMask]) -> Option<f64> {
    assert!(!annotations.is_empty(), "no annotations");
    let m = annotations.len() as f64;
    let pixels = sums.pixels();
    let samples: Vec<f64> = (0..pixels).map(|i| sums.variance_at(i)).collect();
    let raters: Vec<f64> = (0..pixels)
        .map(|i| {
            let marked = annotations.iter().filter(|g| g.get(i)).count() as f64;
            annotator_variance(marked / m)
        })
        .collect();
    ncc_pearson(&samples, &raters)
}

/// For one image's samples (n×H·W, row-major) and a reference per-pixel variance map (H·W): the
/// Pearson correlation of the first k samples' variance with the reference, for every k that
/// `keep` accepts, in increasing k (`None` where a map is constant).
///
/// # Panics
/// If `samples` is not n whole maps of the reference's size.
pub fn variance_correlation(
    samples: &[f32],
    reference: &[f64],
    keep: impl Fn(usize) -> bool,
) -> Vec<(usize, Option<f64>)> {
    let pixels = reference.len();
    assert!(
        pixels > 0 && samples.len().is_multiple_of(pixels),
        "samples of the reference's size"
    );
    let mut sums = PixelSums::new(pixels);
    let mut variance = vec![0.0; pixels];
    let mut out = Vec::new();
    for (k, sample) in (1..).zip(samples.chunks(pixels)) {
        sums.push(sample);
        if keep(k) {
            for (i, v) in variance.iter_mut().enumerate() {
                *v = sums.variance_at(i);
            }
            out.push((k, ncc_pearson(&variance, reference)));
        }
    }
    out
}

/// [`variance_correlation`] for N images at once: `samples` N×n×H·W, `reference` N×H·W (float32,
/// as the oracle's `variance.npy`), `pixels` = H·W; one list of `(k, correlation)` per image.
///
/// # Panics
/// If the sizes disagree.
pub fn variance_correlations(
    samples: &[f32],
    reference: &[f32],
    n: usize,
    pixels: usize,
    keep: impl Fn(usize) -> bool + Copy,
) -> Vec<Vec<(usize, Option<f64>)>> {
    assert!(
        n > 0 && pixels > 0 && samples.len() == n * reference.len(),
        "n samples of the reference's size per image"
    );
    samples
        .chunks(n * pixels)
        .zip(reference.chunks(pixels))
        .map(|(image, truth)| {
            let truth: Vec<f64> = truth.iter().map(|&v| f64::from(v)).collect();
            variance_correlation(image, &truth, keep)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn variance_where_the_raters_disagree_scores_high() {
        // 4 pixels: raters disagree on pixels 1 and 2 only
        let annotations = [
            BitMask::from_u8(&[0, 1, 1, 1]),
            BitMask::from_u8(&[0, 0, 0, 1]),
        ];
        let mut sums = PixelSums::new(4);
        sums.push(&[0.0, 1.0, 0.0, 1.0]);
        assert_eq!(
            var_ncc(&sums, &annotations),
            None,
            "one sample: no variance"
        );
        sums.push(&[0.0, 0.0, 1.0, 1.0]);
        let v = var_ncc(&sums, &annotations).unwrap();
        assert!((v - 1.0).abs() < 1e-12, "{v}");
        // variance where the raters agree instead: perfectly anti-correlated
        let mut wrong = PixelSums::new(4);
        wrong.push(&[1.0, 0.5, 0.5, 0.0]);
        wrong.push(&[0.0, 0.5, 0.5, 1.0]);
        let v = var_ncc(&wrong, &annotations).unwrap();
        assert!((v + 1.0).abs() < 1e-12, "{v}");
        // raters who agree everywhere: undefined
        let agree = [
            BitMask::from_u8(&[0, 1, 1, 0]),
            BitMask::from_u8(&[0, 1, 1, 0]),
        ];
        assert_eq!(var_ncc(&sums, &agree), None);
    }

    #[test]
    fn correlation_with_a_reference_per_prefix() {
        let reference = [0.0, 0.25, 0.25, 0.0];
        let samples = [
            0.0, 1.0, 0.0, 0.0, /* 2 */ 0.0, 0.0, 1.0, 0.0, /* 3 */ 0.0, 1.0, 1.0, 0.0,
        ];
        let all = variance_correlation(&samples, &reference, |_| true);
        assert_eq!(all.len(), 3);
        assert_eq!(all[0], (1, None));
        assert!((all[1].1.unwrap() - 1.0).abs() < 1e-12);
        assert!((all[2].1.unwrap() - 1.0).abs() < 1e-12);
        let last = variance_correlation(&samples, &reference, |k| k == 3);
        assert_eq!(last, vec![all[2]]);
    }

    #[test]
    fn correlations_of_several_images_are_each_image_alone() {
        let reference = [
            0.0f32, 0.25, 0.25, 0.0, /* image 2 */ 0.25, 0.0, 0.0, 0.25,
        ];
        let samples = [
            0.0, 1.0, 0.0, 0.0, 0.0, 0.0, 1.0, 0.0, // image 1, two samples
            1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 1.0, // image 2, two samples
        ];
        let all = variance_correlations(&samples, &reference, 2, 4, |_| true);
        assert_eq!(all.len(), 2);
        for (i, per_k) in all.iter().enumerate() {
            let truth: Vec<f64> = reference[i * 4..(i + 1) * 4]
                .iter()
                .map(|&v| f64::from(v))
                .collect();
            assert_eq!(
                *per_k,
                variance_correlation(&samples[i * 8..(i + 1) * 8], &truth, |_| true)
            );
        }
        assert!((all[1][1].1.unwrap() - 1.0).abs() < 1e-12);
    }
}
