//! Squared generalised energy distance (GED, Kohl et al. 2018) with the `1 − IoU` kernel.
//!
//! The official estimator (huynhspm/Data-Uncertainty `eval_segmentation.py`, paper-and-baselines
//! §2.2) is the biased **V-statistic**: every within-set sum includes its zero diagonal and is
//! divided by n² (resp. m²); no square root is taken:
//!
//! `GED = 2/(n·m)·Σ_ij d(p_i, g_j) − 1/n²·Σ_ii' d(p_i, p_i') − 1/m²·Σ_jj' d(g_j, g_j')`.
//!
//! The **U-statistic** variant ([`GedSums::unbiased`]) divides the within-set sums by n(n−1) and
//! m(m−1) (diagonal excluded) and is undefined for n = 1 or m = 1.
//!
//! [`GedSweep`] evaluates the estimator on every prefix of the sample list (k = 1..n) in one pass,
//! reusing the pairwise distances: O(n² + n·m) additions after the distance matrices.

/// Sums of pairwise distances for one (samples, annotations) pair of sets.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GedSums {
    /// Number of samples n.
    pub n: usize,
    /// Number of annotations m.
    pub m: usize,
    /// Σ_ij d(p_i, g_j).
    pub cross: f64,
    /// Σ_ii' d(p_i, p_i') over all ordered pairs (the diagonal is 0).
    pub samples: f64,
    /// Σ_jj' d(g_j, g_j') over all ordered pairs (the diagonal is 0).
    pub annotations: f64,
}

impl GedSums {
    /// The official V-statistic GED.
    pub fn official(&self) -> f64 {
        let (n, m) = (self.n as f64, self.m as f64);
        2.0 * self.cross / (n * m) - self.samples / (n * n) - self.annotations / (m * m)
    }

    /// The unbiased U-statistic GED (no diagonal terms); `None` when n = 1 or m = 1.
    pub fn unbiased(&self) -> Option<f64> {
        if self.n < 2 || self.m < 2 {
            return None;
        }
        let (n, m) = (self.n as f64, self.m as f64);
        Some(
            2.0 * self.cross / (n * m)
                - self.samples / (n * (n - 1.0))
                - self.annotations / (m * (m - 1.0)),
        )
    }
}

/// Incremental GED over nested sample prefixes.
///
/// # Shapes
/// `cross`: n×m row-major `d(p_i, g_j)`; `samples`: n×n; `annotations`: m×m.
#[derive(Debug, Clone)]
pub struct GedSweep<'a> {
    cross: &'a [f64],
    samples: &'a [f64],
    n: usize,
    m: usize,
    annotations: f64,
}

impl<'a> GedSweep<'a> {
    /// Prepares the sweep from the three distance matrices.
    ///
    /// # Panics
    /// If the matrix sizes do not match n and m.
    pub fn new(
        cross: &'a [f64],
        samples: &'a [f64],
        annotations: &[f64],
        n: usize,
        m: usize,
    ) -> Self {
        assert_eq!(cross.len(), n * m, "cross matrix must be n×m");
        assert_eq!(samples.len(), n * n, "sample matrix must be n×n");
        assert_eq!(annotations.len(), m * m, "annotation matrix must be m×m");
        Self {
            cross,
            samples,
            n,
            m,
            annotations: annotations.iter().sum(),
        }
    }

    /// The sums for every prefix k = 1..=n, in order.
    pub fn prefixes(&self) -> Vec<GedSums> {
        let (n, m) = (self.n, self.m);
        let mut out = Vec::with_capacity(n);
        let (mut cross, mut within) = (0.0, 0.0);
        for k in 0..n {
            cross += self.cross[k * m..(k + 1) * m].iter().sum::<f64>();
            let row = &self.samples[k * n..k * n + k];
            within += 2.0 * row.iter().sum::<f64>() + self.samples[k * n + k];
            out.push(GedSums {
                n: k + 1,
                m,
                cross,
                samples: within,
                annotations: self.annotations,
            });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn single_sample_has_no_diversity_term() {
        // n = 1, m = 2: d(p, g1) = 0.5, d(p, g2) = 1, d(g1, g2) = 0.25
        let cross = [0.5, 1.0];
        let samples = [0.0];
        let ann = [0.0, 0.25, 0.25, 0.0];
        let sums = GedSweep::new(&cross, &samples, &ann, 1, 2).prefixes()[0];
        assert!((sums.official() - (2.0 * 1.5 / 2.0 - 0.5 / 4.0)).abs() < 1e-15);
        assert_eq!(sums.unbiased(), None);
    }

    #[test]
    fn prefix_sums_match_direct_sums() {
        let n = 3;
        let m = 2;
        let cross = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6];
        let samples = [0.0, 0.7, 0.8, 0.7, 0.0, 0.9, 0.8, 0.9, 0.0];
        let ann = [0.0, 0.3, 0.3, 0.0];
        let rows = GedSweep::new(&cross, &samples, &ann, n, m).prefixes();
        let k2 = rows[1];
        assert!((k2.cross - 1.0).abs() < 1e-12);
        assert!((k2.samples - 1.4).abs() < 1e-12);
        let expected = 2.0 * 1.0 / 4.0 - 1.4 / 4.0 - 0.6 / 4.0;
        assert!((k2.official() - expected).abs() < 1e-12);
        let unbiased = 2.0 * 1.0 / 4.0 - 1.4 / 2.0 - 0.6 / 2.0;
        assert!((k2.unbiased().unwrap() - unbiased).abs() < 1e-12);
        assert!((rows[2].samples - 2.0 * (0.7 + 0.8 + 0.9)).abs() < 1e-12);
    }
}
