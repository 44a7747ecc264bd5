//! Axis ticks of the line panels: where the ticks of a log-scaled x axis go (every value present,
//! or 1-2-5 decades), thinned so labels never overlap, and the decimals of y tick labels.

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};

/// Where the ticks of a log-scaled x axis go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TickRule {
    /// At every x value present (thinned only where labels would overlap), e.g. k = 1, 2, 4, 8.
    Present,
    /// At 1, 2, 5, 10, 20, 50, … within the data range (for irregular values such as NFE).
    Decades,
}

/// A linear axis over log-transformed x values whose ticks are exactly the given positions (no
/// light grid lines), so the axis shows the k or NFE values present and nothing else.
pub(crate) struct TickAxis {
    /// Axis start (log2 of the raw value).
    pub lo: f64,
    /// Axis end (log2 of the raw value).
    pub hi: f64,
    /// Tick positions (log2 of the raw values).
    pub ticks: Vec<f64>,
}

impl Ranged for TickAxis {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        let t = (value - self.lo) / (self.hi - self.lo);
        limit.0 + (f64::from(limit.1 - limit.0) * t).round() as i32
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.lo..self.hi
    }
}

/// Picks tick positions among `values` (sorted, log2 scale) at least `min_gap` apart, so labels
/// never overlap (with k = 1, 2, 4, 8, … every value is kept; with dense k such as 1..=16 the
/// crowded large values are thinned).
pub(crate) fn thin_ticks(values: &[f64], min_gap: f64) -> Vec<f64> {
    let mut out: Vec<f64> = Vec::new();
    for &v in values {
        if out.last().is_none_or(|&last| v - last >= min_gap) {
            out.push(v);
        }
    }
    out
}

/// log2 of the values 1, 2, 5 × 10^e lying in `lo..=hi` (raw values, `lo` > 0).
pub(crate) fn decade_ticks(lo: f64, hi: f64) -> Vec<f64> {
    let mut out = Vec::new();
    let mut e = lo.log10().floor() as i32;
    while 10f64.powi(e) <= hi * (1.0 + 1e-9) && e < 300 {
        for m in [1.0, 2.0, 5.0] {
            let v = m * 10f64.powi(e);
            if v >= lo * (1.0 - 1e-9) && v <= hi * (1.0 + 1e-9) {
                out.push(v.log2());
            }
        }
        e += 1;
    }
    out
}

/// Number of decimals for tick labels on an axis spanning `range`.
pub(crate) fn decimals_for(range: f64) -> usize {
    let step = (range / 6.0).abs();
    if !step.is_finite() || step <= 0.0 {
        return 2;
    }
    (-step.log10().floor()).clamp(0.0, 6.0) as usize
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_the_k_values_present() {
        let xs: Vec<f64> = [1.0f64, 2.0, 4.0, 8.0, 16.0]
            .iter()
            .map(|v| v.log2())
            .collect();
        assert_eq!(thin_ticks(&xs, 0.5), xs);
        assert_eq!(thin_ticks(&[0.0, 0.1, 1.0], 0.5), vec![0.0, 1.0]);
        assert_eq!(decimals_for(0.3), 2);
        let d: Vec<f64> = decade_ticks(3.0, 120.0)
            .iter()
            .map(|v| v.exp2().round())
            .collect();
        assert_eq!(d, vec![5.0, 10.0, 20.0, 50.0, 100.0]);
        assert_eq!(decimals_for(30.0), 0);
    }
}
