//! The score record of one sample set (one image, or a mean over images), and averaging.

use serde::{Deserialize, Serialize};

/// Every metric of one set of samples against one set of annotations.
///
/// The first five fields are the official metrics of the paper (paper-and-baselines §2); the rest
/// are named variants (see the crate docs). `None` marks a value that is undefined for this input
/// (e.g. the unbiased GED with a single sample); it serialises as JSON `null`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Scores {
    /// Official GED: V-statistic, `1 − IoU` kernel, no square root.
    pub ged: f64,
    /// Official SNCC (the flow-matching code's orientation and `+1e-6` NCC).
    pub sncc: f64,
    /// Dmax: mean over annotators of the best sample's Dice.
    pub dmax: f64,
    /// Dice of the thresholded sample mean against the thresholded annotator mean.
    pub dice: f64,
    /// IoU of the same pair as `dice`.
    pub iou: f64,
    /// GED as the unbiased U-statistic (no diagonal terms); undefined for n = 1 or m = 1.
    pub ged_unbiased: Option<f64>,
    /// Hungarian-matched IoU over both sets replicated to lcm(n, m).
    pub hm_iou: f64,
    /// PHiSeg's original S_NCC; undefined when a cross-entropy map is constant.
    pub sncc_phiseg: Option<f64>,
    /// Pixel-wise ECE of the sample mean against the annotators' mean (10 bins).
    pub ece: f64,
    /// The paper's variance claim as a number: the Pearson correlation (NCC, as ValUES compares
    /// uncertainty maps) of the samples' per-pixel variance with the annotators' per-pixel
    /// variance `ḡ(1 − ḡ)`; undefined when either map is constant (one sample, or raters who all
    /// agree).
    pub var_ncc: Option<f64>,
}

/// Scores using only the first `k` samples.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PrefixScores {
    /// The number of samples used.
    pub k: usize,
    /// The scores.
    #[serde(flatten)]
    pub scores: Scores,
}

/// The names of the metrics, official first, in the order of [`Scores::values`].
pub const METRIC_NAMES: [&str; 10] = [
    "ged",
    "sncc",
    "dmax",
    "dice",
    "iou",
    "ged_unbiased",
    "hm_iou",
    "sncc_phiseg",
    "ece",
    "var_ncc",
];

impl Scores {
    /// The values in the order of [`METRIC_NAMES`].
    pub fn values(&self) -> [Option<f64>; 10] {
        [
            Some(self.ged),
            Some(self.sncc),
            Some(self.dmax),
            Some(self.dice),
            Some(self.iou),
            self.ged_unbiased,
            Some(self.hm_iou),
            self.sncc_phiseg,
            Some(self.ece),
            self.var_ncc,
        ]
    }

    /// Mean of each metric over `items`; an optional metric is averaged over the items where it is
    /// defined and is `None` if it is defined nowhere.
    ///
    /// # Panics
    /// If `items` is empty.
    pub fn mean<'a>(items: impl IntoIterator<Item = &'a Scores>) -> Scores {
        let items: Vec<&Scores> = items.into_iter().collect();
        assert!(!items.is_empty(), "mean of no scores");
        let len = items.len() as f64;
        let mean = |f: fn(&Scores) -> f64| items.iter().map(|s| f(s)).sum::<f64>() / len;
        let mean_opt = |f: fn(&Scores) -> Option<f64>| {
            let defined: Vec<f64> = items.iter().filter_map(|s| f(s)).collect();
            (!defined.is_empty()).then(|| defined.iter().sum::<f64>() / defined.len() as f64)
        };
        Scores {
            ged: mean(|s| s.ged),
            sncc: mean(|s| s.sncc),
            dmax: mean(|s| s.dmax),
            dice: mean(|s| s.dice),
            iou: mean(|s| s.iou),
            ged_unbiased: mean_opt(|s| s.ged_unbiased),
            hm_iou: mean(|s| s.hm_iou),
            sncc_phiseg: mean_opt(|s| s.sncc_phiseg),
            ece: mean(|s| s.ece),
            var_ncc: mean_opt(|s| s.var_ncc),
        }
    }
}
