//! Normalised cross-correlation of two maps over all H×W pixels.
//!
//! - [`ncc_official`]: `Σ(x−x̄)(y−ȳ) / (sqrt(Σ(x−x̄)²·Σ(y−ȳ)²) + 1e-6)` as in the official flow-matching
//!   evaluation (paper-and-baselines §2.3 step 4): a constant map gives 0.
//!
//! "Constant" means every value equal, tested exactly: a computed mean of equal values need not
//! equal them, and would leave rounding noise in place of the 0 (or undefined) result.
//! - [`ncc_pearson`]: PHiSeg's `variance_ncc_dist` NCC (Baumgartner et al. 2019), the Pearson
//!   correlation with population standard deviations and no epsilon: undefined (`None`, PHiSeg
//!   gets NaN) when either map is constant.

/// The epsilon added to the NCC denominator by the official code.
pub const NCC_EPS: f64 = 1e-6;

fn is_constant(x: &[f64]) -> bool {
    x.iter().all(|&v| v == x[0])
}

fn centred_moments(x: &[f64], y: &[f64]) -> (f64, f64, f64) {
    assert_eq!(x.len(), y.len(), "maps of different sizes");
    let len = x.len() as f64;
    let mx = x.iter().sum::<f64>() / len;
    let my = y.iter().sum::<f64>() / len;
    let (mut sxy, mut sxx, mut syy) = (0.0, 0.0, 0.0);
    for (a, b) in x.iter().zip(y) {
        let (dx, dy) = (a - mx, b - my);
        sxy += dx * dy;
        sxx += dx * dx;
        syy += dy * dy;
    }
    (sxy, sxx, syy)
}

/// The official NCC with `+1e-6` in the denominator.
///
/// # Panics
/// If the maps have different lengths.
pub fn ncc_official(x: &[f64], y: &[f64]) -> f64 {
    if is_constant(x) || is_constant(y) {
        return 0.0;
    }
    let (sxy, sxx, syy) = centred_moments(x, y);
    sxy / ((sxx * syy).sqrt() + NCC_EPS)
}

/// PHiSeg's NCC (Pearson correlation); `None` when a map is constant.
///
/// # Panics
/// If the maps have different lengths.
pub fn ncc_pearson(x: &[f64], y: &[f64]) -> Option<f64> {
    if is_constant(x) || is_constant(y) {
        return None;
    }
    let (sxy, sxx, syy) = centred_moments(x, y);
    let denom = (sxx * syy).sqrt();
    (denom > 0.0).then(|| sxy / denom)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn constant_map_gives_zero_or_none() {
        let c = [2.0; 5];
        let y = [1.0, 2.0, 3.0, 4.0, 5.0];
        assert_eq!(ncc_official(&c, &y), 0.0);
        assert_eq!(ncc_pearson(&c, &y), None);
    }

    #[test]
    fn perfectly_correlated_maps() {
        let x = [1.0, 2.0, 3.0, 4.0];
        let y = [3.0, 5.0, 7.0, 9.0];
        assert!((ncc_pearson(&x, &y).unwrap() - 1.0).abs() < 1e-12);
        // Σdx·dy = 10, sqrt(5·20) = 10 → 10 / (10 + 1e-6)
        assert!((ncc_official(&x, &y) - 10.0 / (10.0 + 1e-6)).abs() < 1e-12);
        let neg: Vec<f64> = y.iter().map(|v| -v).collect();
        assert!((ncc_pearson(&x, &neg).unwrap() + 1.0).abs() < 1e-12);
    }
}
