//! The long result format, from a cell's `rows.json` to `metrics.csv`, `metrics.parquet`, the
//! tables and the figures: one [`MetricRow`] per (method, variant, label, dataset, seed, image,
//! k, metric) with its value, the method column typed ([`MethodColumn`]), and one CSV writer
//! that quotes fields ([`long_csv`]).

use std::fmt;
use std::str::FromStr;

use fmseg_metrics::{METRIC_NAMES, PrefixScores};
use fmseg_model::MethodId;
use serde::{Deserialize, Serialize};

/// What produced a row's samples.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum MethodColumn {
    /// A trained method.
    Model(MethodId),
    /// Draws from the known answer distribution of a synthetic dataset.
    Oracle,
    /// Samples made elsewhere (`fmseg compare` under a name that is no method id).
    External,
}

impl MethodColumn {
    /// The column's text: the method id, `oracle` or `external`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Model(m) => m.as_str(),
            Self::Oracle => "oracle",
            Self::External => "external",
        }
    }

    /// The column of `fmseg compare`'s `--method NAME=…`: the method id when NAME is one.
    pub fn of_name(name: &str) -> Self {
        name.parse().unwrap_or(Self::External)
    }
}

impl FromStr for MethodColumn {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "oracle" => Ok(Self::Oracle),
            "external" => Ok(Self::External),
            other => other
                .parse::<MethodId>()
                .map(Self::Model)
                .map_err(|e| format!("method {e}, oracle or external")),
        }
    }
}

impl TryFrom<String> for MethodColumn {
    type Error = String;
    fn try_from(s: String) -> Result<Self, String> {
        s.parse()
    }
}

impl From<MethodColumn> for String {
    fn from(m: MethodColumn) -> Self {
        m.as_str().to_string()
    }
}

impl fmt::Display for MethodColumn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One metric value of one image.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MetricRow {
    /// What produced the samples.
    pub method: MethodColumn,
    /// Ablation values, `field=value` joined by `;` (empty for a plain method block).
    pub variant: String,
    /// Row label in tables and figures.
    pub label: String,
    /// Dataset id.
    pub dataset: String,
    /// Training/sampling seed.
    pub seed: u64,
    /// Image index within the test set.
    pub image: usize,
    /// Number of samples used.
    pub k: usize,
    /// Metric key (see [`all_metric_names`]).
    pub metric: &'static str,
    /// The value (undefined values are not emitted).
    pub value: f64,
}

/// A [`MetricRow`] as stored, before its metric name is checked.
#[derive(Deserialize)]
struct StoredRow {
    method: MethodColumn,
    variant: String,
    label: String,
    dataset: String,
    seed: u64,
    image: usize,
    k: usize,
    metric: String,
    value: f64,
}

impl TryFrom<StoredRow> for MetricRow {
    type Error = String;
    fn try_from(r: StoredRow) -> Result<Self, String> {
        Ok(Self {
            method: r.method,
            variant: r.variant,
            label: r.label,
            dataset: r.dataset,
            seed: r.seed,
            image: r.image,
            k: r.k,
            metric: metric_name(&r.metric)?,
            value: r.value,
        })
    }
}

impl<'de> Deserialize<'de> for MetricRow {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Self::try_from(StoredRow::deserialize(d)?).map_err(serde::de::Error::custom)
    }
}

/// Metrics only an experiment computes, from what a sample set alone does not hold:
/// `var_corr_oracle`, the Pearson correlation of the samples' per-pixel variance with the true
/// variance of a synthetic dataset's answer distribution (`fmseg_metrics::variance`).
pub const EXPERIMENT_METRICS: [&str; 1] = ["var_corr_oracle"];

/// Every metric a long table may hold: [`METRIC_NAMES`], then [`EXPERIMENT_METRICS`].
pub fn all_metric_names() -> impl Iterator<Item = &'static str> {
    METRIC_NAMES.iter().chain(&EXPERIMENT_METRICS).copied()
}

/// A metric key as the static name of [`all_metric_names`].
pub fn metric_name(name: &str) -> Result<&'static str, String> {
    all_metric_names()
        .find(|m| *m == name)
        .ok_or_else(|| format!("unknown metric '{name}'"))
}

/// The identity a row set shares: everything but image, k, metric and value.
#[derive(Debug, Clone, PartialEq)]
pub struct RowIdentity<'a> {
    /// What produced the samples.
    pub method: MethodColumn,
    /// Ablation values.
    pub variant: &'a str,
    /// Label.
    pub label: &'a str,
    /// Dataset id.
    pub dataset: &'a str,
    /// Seed.
    pub seed: u64,
}

impl RowIdentity<'_> {
    /// One row of this identity.
    pub fn row(&self, image: usize, k: usize, metric: &'static str, value: f64) -> MetricRow {
        MetricRow {
            method: self.method,
            variant: self.variant.to_string(),
            label: self.label.to_string(),
            dataset: self.dataset.to_string(),
            seed: self.seed,
            image,
            k,
            metric,
            value,
        }
    }

    /// One image's per-k scores as rows (only the `k` kept by `keep`), skipping undefined values.
    pub fn image_rows(
        &self,
        image: usize,
        per_k: &[PrefixScores],
        keep: impl Fn(usize) -> bool,
    ) -> Vec<MetricRow> {
        per_k
            .iter()
            .filter(|p| keep(p.k))
            .flat_map(|p| {
                METRIC_NAMES
                    .iter()
                    .zip(p.scores.values())
                    .filter_map(move |(&metric, value)| {
                        value.map(|value| self.row(image, p.k, metric, value))
                    })
            })
            .collect()
    }
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// The rows as CSV, header `method,variant,label,dataset,seed,image,k,metric,value`; text fields
/// are quoted when they hold a comma, quote or line break; values print with 17 significant
/// digits (exact round trip).
pub fn long_csv(rows: &[MetricRow]) -> String {
    let mut out = String::from("method,variant,label,dataset,seed,image,k,metric,value\n");
    for r in rows {
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{},{:.17e}\n",
            r.method,
            csv_field(&r.variant),
            csv_field(&r.label),
            csv_field(&r.dataset),
            r.seed,
            r.image,
            r.k,
            r.metric,
            r.value
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn method_column_round_trips_and_refuses_unknown_names() {
        for text in ["flow", "prob-unet", "phiseg", "cimd", "oracle", "external"] {
            let m: MethodColumn = text.parse().unwrap();
            assert_eq!(m.to_string(), text);
            let json = serde_json::to_string(&m).unwrap();
            assert_eq!(serde_json::from_str::<MethodColumn>(&json).unwrap(), m);
        }
        assert!(serde_json::from_str::<MethodColumn>("\"unet\"").is_err());
        assert_eq!(MethodColumn::of_name("mine"), MethodColumn::External);
        assert_eq!(
            MethodColumn::of_name("cimd"),
            MethodColumn::Model(MethodId::Cimd)
        );
    }

    #[test]
    fn csv_quotes_text_fields_and_rows_round_trip_through_json() {
        let row = MetricRow {
            method: MethodColumn::Model(MethodId::Flow),
            variant: "sampling.guidance=0.3;sampling.steps=4".into(),
            label: "flow (guidance=0.3, \"a\")".into(),
            dataset: "d".into(),
            seed: 1,
            image: 2,
            k: 4,
            metric: "ged",
            value: 0.25,
        };
        let csv = long_csv(std::slice::from_ref(&row));
        assert_eq!(
            csv.lines().nth(1).unwrap(),
            "flow,sampling.guidance=0.3;sampling.steps=4,\"flow (guidance=0.3, \"\"a\"\")\",d,1,2,4,ged,2.50000000000000000e-1"
        );
        let json = serde_json::to_string(&row).unwrap();
        assert_eq!(serde_json::from_str::<MetricRow>(&json).unwrap(), row);
        let bad = json.replace("\"ged\"", "\"gde\"");
        assert!(serde_json::from_str::<MetricRow>(&bad).is_err());
    }
}
