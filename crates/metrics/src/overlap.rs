//! IoU and Dice of two binary masks with the official 1e-5 smoothing
//! (huynhspm/Data-Uncertainty `eval_segmentation.py`; paper-and-baselines §2.1):
//! `IoU = (|A∩B| + ε) / (|A∪B| + ε)`, `Dice = (2|A∩B| + ε) / (|A| + |B| + ε)`, ε = 1e-5.
//! Empty vs empty is therefore a perfect match (IoU = Dice = 1), empty vs non-empty ≈ 0.

use crate::bitmask::BitMask;

/// The smoothing constant added to numerator and denominator.
pub const SMOOTH: f64 = 1e-5;

/// Smoothed intersection over union.
#[inline(always)]
pub fn iou(a: &BitMask, b: &BitMask) -> f64 {
    let inter = f64::from(a.intersection(b));
    let union = f64::from(a.count()) + f64::from(b.count()) - inter;
    (inter + SMOOTH) / (union + SMOOTH)
}

/// Smoothed Dice coefficient.
#[inline(always)]
pub fn dice(a: &BitMask, b: &BitMask) -> f64 {
    let inter = f64::from(a.intersection(b));
    (2.0 * inter + SMOOTH) / (f64::from(a.count()) + f64::from(b.count()) + SMOOTH)
}

/// The GED kernel `d(a, b) = 1 − IoU(a, b)`.
#[inline(always)]
pub fn iou_distance(a: &BitMask, b: &BitMask) -> f64 {
    1.0 - iou(a, b)
}

/// Row-major `a.len() × b.len()` matrix of `f(a_i, b_j)`.
#[inline(always)]
pub fn pairwise(a: &[BitMask], b: &[BitMask], f: impl Fn(&BitMask, &BitMask) -> f64) -> Vec<f64> {
    let mut out = Vec::with_capacity(a.len() * b.len());
    for x in a {
        for y in b {
            out.push(f(x, y));
        }
    }
    out
}

/// Symmetric `a.len() × a.len()` matrix of `f(a_i, a_j)`, each pair computed once.
#[inline(always)]
pub fn pairwise_symmetric(a: &[BitMask], f: impl Fn(&BitMask, &BitMask) -> f64) -> Vec<f64> {
    let n = a.len();
    let mut out = vec![0.0; n * n];
    for i in 0..n {
        for j in i..n {
            let v = f(&a[i], &a[j]);
            out[i * n + j] = v;
            out[j * n + i] = v;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mask(bits: &[u8]) -> BitMask {
        BitMask::from_u8(bits)
    }

    #[test]
    fn empty_vs_empty_is_perfect() {
        let e = mask(&[0, 0, 0, 0]);
        assert_eq!(iou(&e, &e), 1.0);
        assert_eq!(dice(&e, &e), 1.0);
        assert_eq!(iou_distance(&e, &e), 0.0);
    }

    #[test]
    fn empty_vs_nonempty_is_nearly_zero() {
        let e = mask(&[0, 0, 0, 0]);
        let a = mask(&[1, 1, 0, 0]);
        // (0 + 1e-5) / (2 + 1e-5)
        assert!((iou(&e, &a) - 1e-5 / (2.0 + 1e-5)).abs() < 1e-15);
        assert!((dice(&e, &a) - 1e-5 / (2.0 + 1e-5)).abs() < 1e-15);
    }

    #[test]
    fn hand_computed_overlap() {
        let a = mask(&[1, 1, 1, 0]);
        let b = mask(&[0, 1, 1, 1]);
        // |A∩B| = 2, |A∪B| = 4, |A| + |B| = 6
        assert!((iou(&a, &b) - (2.0 + SMOOTH) / (4.0 + SMOOTH)).abs() < 1e-15);
        assert!((dice(&a, &b) - (4.0 + SMOOTH) / (6.0 + SMOOTH)).abs() < 1e-15);
    }
}
