//! The long result format shared by `metrics.csv` and the tables: one row per
//! (method, dataset, seed, image, k, metric) with its value.

use fmseg_metrics::{METRIC_NAMES, PrefixScores};
use serde::Serialize;

/// One metric value of one image.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricRow {
    /// Method id (`flow`, `prob-unet`, `phiseg`, `cimd`, `oracle`).
    pub method: String,
    /// Dataset name.
    pub dataset: String,
    /// Training/sampling seed.
    pub seed: u64,
    /// Image index within the test set.
    pub image: usize,
    /// Number of samples used.
    pub k: usize,
    /// Metric key (see [`METRIC_NAMES`]).
    pub metric: &'static str,
    /// The value (undefined values are not emitted).
    pub value: f64,
}

/// Expands one image's per-k scores into long rows, skipping undefined values.
pub fn image_rows(
    method: &str,
    dataset: &str,
    seed: u64,
    image: usize,
    per_k: &[PrefixScores],
) -> Vec<MetricRow> {
    per_k
        .iter()
        .flat_map(|p| {
            METRIC_NAMES
                .iter()
                .zip(p.scores.values())
                .filter_map(move |(&metric, value)| {
                    value.map(|value| MetricRow {
                        method: method.to_string(),
                        dataset: dataset.to_string(),
                        seed,
                        image,
                        k: p.k,
                        metric,
                        value,
                    })
                })
        })
        .collect()
}

/// Writes rows as CSV with the header `method,dataset,seed,image,k,metric,value`.
pub fn to_csv(rows: &[MetricRow]) -> String {
    let mut out = String::from("method,dataset,seed,image,k,metric,value\n");
    for r in rows {
        out.push_str(&format!(
            "{},{},{},{},{},{},{:.17e}\n",
            r.method, r.dataset, r.seed, r.image, r.k, r.metric, r.value
        ));
    }
    out
}
