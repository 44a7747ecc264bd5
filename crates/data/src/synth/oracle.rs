//! The known answer distribution of one synthetic image (data-formats §4.3 items 3, 6, 7): a
//! finite set of K hypothesis masks with probabilities π, from which the raters draw i.i.d.
//!
//! Exposed quantities: the pixel marginal `p(x) = Σ_k π_k S_k(x)`, its variance `p(1 − p)`, the
//! K×K distance matrix `d(S_k, S_l) = 1 − IoU` (the official smoothed IoU, so empty vs empty is 0),
//! and `D = Σ_kl π_k π_l d(S_k, S_l)`. If n samples and m annotations are i.i.d. from π, the official
//! (V-statistic) GED has expectation `D·(1/n + 1/m)`.

use fmseg_metrics::bitmask::BitMask;
use fmseg_metrics::overlap::iou_distance;
use serde::Serialize;

use crate::rng::Rng;

/// The random stream of the oracle sampler, disjoint from the data stream.
pub const ORACLE_STREAM: u64 = 0x0AC1_E5A3_F1E5_0001;

/// The hypothesis masks and their probabilities.
#[derive(Debug, Clone, PartialEq)]
pub struct Oracle {
    /// A name per hypothesis (`empty`, `tight`, `nominal`, `loose`, `satellite`).
    pub names: Vec<&'static str>,
    /// K masks of H·W values in {0, 1}.
    pub masks: Vec<Vec<u8>>,
    /// π, summing to 1.
    pub probabilities: Vec<f64>,
}

/// The JSON-friendly summary of an oracle (without the masks).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OracleSummary {
    /// Hypothesis names.
    pub hypotheses: Vec<&'static str>,
    /// π.
    pub probabilities: Vec<f64>,
    /// Foreground pixel count of each hypothesis.
    pub foreground: Vec<u32>,
    /// K×K distances `1 − IoU`, row-major.
    pub distances: Vec<f64>,
    /// D = E d(S, S') for S, S' i.i.d. from π.
    pub expected_distance: f64,
}

impl Oracle {
    /// Number of pixels of each mask.
    pub fn pixels(&self) -> usize {
        self.masks.first().map_or(0, Vec::len)
    }

    /// The exact pixel marginal `p(x)`.
    pub fn marginal(&self) -> Vec<f32> {
        let mut p = vec![0.0f64; self.pixels()];
        for (mask, &pi) in self.masks.iter().zip(&self.probabilities) {
            for (acc, &v) in p.iter_mut().zip(mask) {
                *acc += pi * f64::from(v);
            }
        }
        p.into_iter().map(|v| v as f32).collect()
    }

    /// The exact per-pixel variance `p(1 − p)` of a rater's mask.
    pub fn variance(&self) -> Vec<f32> {
        self.marginal().into_iter().map(|p| p * (1.0 - p)).collect()
    }

    /// The K×K matrix of `1 − IoU` (official smoothing), row-major.
    pub fn distances(&self) -> Vec<f64> {
        let bits: Vec<BitMask> = self.masks.iter().map(|m| BitMask::from_u8(m)).collect();
        fmseg_metrics::overlap::pairwise_symmetric(&bits, iou_distance)
    }

    /// D = Σ_kl π_k π_l d(S_k, S_l).
    pub fn expected_distance(&self) -> f64 {
        let k = self.masks.len();
        let d = self.distances();
        (0..k)
            .flat_map(|i| (0..k).map(move |j| (i, j)))
            .map(|(i, j)| self.probabilities[i] * self.probabilities[j] * d[i * k + j])
            .sum()
    }

    /// E[official GED] for n oracle samples against m oracle annotations: `D·(1/n + 1/m)`.
    pub fn expected_official_ged(&self, n: usize, m: usize) -> f64 {
        self.expected_distance() * (1.0 / n as f64 + 1.0 / m as f64)
    }

    /// Draws a hypothesis index from π.
    pub fn draw(&self, rng: &mut Rng) -> usize {
        rng.categorical(&self.probabilities)
    }

    /// The oracle sampler of item `index`: `n` masks drawn from π, `n × H·W` values in {0, 1}.
    /// The stream is `(seed ^ ORACLE_STREAM, index)`, disjoint from the data stream
    /// (`fmseg data synth --oracle-samples` passes the item index, `fmseg run` the position in
    /// its test set).
    pub fn samples(&self, seed: u64, index: u64, n: usize) -> Vec<f32> {
        let mut rng = Rng::for_item(seed ^ ORACLE_STREAM, index);
        (0..n)
            .flat_map(|_| self.masks[self.draw(&mut rng)].clone())
            .map(f32::from)
            .collect()
    }

    /// The summary for `oracle.json`.
    pub fn summary(&self) -> OracleSummary {
        OracleSummary {
            hypotheses: self.names.clone(),
            probabilities: self.probabilities.clone(),
            foreground: self
                .masks
                .iter()
                .map(|m| m.iter().map(|&v| u32::from(v)).sum())
                .collect(),
            distances: self.distances(),
            expected_distance: self.expected_distance(),
        }
    }
}
