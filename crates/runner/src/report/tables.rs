//! Comparison tables: one row per method, one column per metric (official metrics first, then the
//! variants), each cell the mean over images ± half the 95 % bootstrap interval, the best mean per
//! column in bold (lower is better for `ged`, `ged_unbiased` and `ece`; higher for the rest).
//! Rendered as Markdown and as LaTeX with booktabs rules.

use std::collections::BTreeMap;

use super::bootstrap::{MeanCi, RESAMPLES, bootstrap_mean};
use super::rows::{MetricRow, all_metric_names};

/// Whether smaller values of a metric are better.
pub fn lower_is_better(metric: &str) -> bool {
    matches!(metric, "ged" | "ged_unbiased" | "ece")
}

/// Cells of a comparison at one sample count k.
#[derive(Debug, Clone, PartialEq)]
pub struct ComparisonTable {
    /// The sample count.
    pub k: usize,
    /// Methods in row order.
    pub methods: Vec<String>,
    /// Metric columns present, in [`all_metric_names`] order.
    pub metrics: Vec<&'static str>,
    /// (method, metric) → mean and interval.
    pub cells: BTreeMap<(String, &'static str), MeanCi>,
}

impl ComparisonTable {
    /// Builds the table of `rows` at sample count `k`, one row per label; labels keep their
    /// first-appearance order.
    pub fn at_k(rows: &[MetricRow], k: usize) -> Self {
        let mut methods: Vec<String> = Vec::new();
        let mut values: BTreeMap<(String, &'static str), Vec<f64>> = BTreeMap::new();
        for r in rows.iter().filter(|r| r.k == k) {
            if !methods.contains(&r.label) {
                methods.push(r.label.clone());
            }
            values
                .entry((r.label.clone(), r.metric))
                .or_default()
                .push(r.value);
        }
        let metrics = all_metric_names()
            .filter(|m| {
                methods
                    .iter()
                    .any(|me| values.contains_key(&(me.clone(), *m)))
            })
            .collect();
        let cells = values
            .into_iter()
            .filter_map(|(key, v)| bootstrap_mean(&v, RESAMPLES, 0x7AB1E).map(|ci| (key, ci)))
            .collect();
        Self {
            k,
            methods,
            metrics,
            cells,
        }
    }

    fn best(&self, metric: &'static str) -> Option<f64> {
        let means = self
            .methods
            .iter()
            .filter_map(|m| self.cells.get(&(m.clone(), metric)))
            .map(|c| c.mean);
        if lower_is_better(metric) {
            means.reduce(f64::min)
        } else {
            means.reduce(f64::max)
        }
    }

    fn cell(&self, method: &str, metric: &'static str, bold: fn(&str) -> String) -> String {
        match self.cells.get(&(method.to_string(), metric)) {
            None => "—".to_string(),
            Some(ci) => {
                let text = format!("{:.4} ± {:.4}", ci.mean, ci.half_width());
                if self.best(metric) == Some(ci.mean) && self.methods.len() > 1 {
                    bold(&text)
                } else {
                    text
                }
            }
        }
    }

    fn arrow(metric: &str) -> &'static str {
        if lower_is_better(metric) {
            "↓"
        } else {
            "↑"
        }
    }

    /// GitHub-flavoured Markdown.
    pub fn markdown(&self) -> String {
        let mut out = format!("| method (k = {}) |", self.k);
        for m in &self.metrics {
            out.push_str(&format!(" {m} {} |", Self::arrow(m)));
        }
        out.push_str("\n|---|");
        out.push_str(&"---|".repeat(self.metrics.len()));
        for method in &self.methods {
            out.push_str(&format!("\n| {method} |"));
            for m in &self.metrics {
                out.push_str(&format!(
                    " {} |",
                    self.cell(method, m, |t| format!("**{t}**"))
                ));
            }
        }
        out.push('\n');
        out
    }

    /// A LaTeX `tabular` with booktabs rules (needs `\usepackage{booktabs}`).
    pub fn latex(&self) -> String {
        let esc = |s: &str| s.replace('_', "\\_");
        let mut out = format!(
            "\\begin{{tabular}}{{l{}}}\n\\toprule\n",
            "r".repeat(self.metrics.len())
        );
        out.push_str(&format!("method ($k = {}$)", self.k));
        for m in &self.metrics {
            let arrow = if lower_is_better(m) {
                "$\\downarrow$"
            } else {
                "$\\uparrow$"
            };
            out.push_str(&format!(" & {} {arrow}", esc(m)));
        }
        out.push_str(" \\\\\n\\midrule\n");
        for method in &self.methods {
            out.push_str(&esc(method));
            for m in &self.metrics {
                let cell = self
                    .cell(method, m, |t| format!("\\textbf{{{t}}}"))
                    .replace('±', "$\\pm$");
                out.push_str(&format!(" & {}", cell.replace('—', "--")));
            }
            out.push_str(" \\\\\n");
        }
        out.push_str("\\bottomrule\n\\end{tabular}\n");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(label: &str, image: usize, metric: &'static str, value: f64) -> MetricRow {
        MetricRow {
            method: super::super::rows::MethodColumn::of_name(label),
            variant: String::new(),
            label: label.into(),
            dataset: "d".into(),
            seed: 0,
            image,
            k: 16,
            metric,
            value,
        }
    }

    #[test]
    fn best_is_bold_in_the_right_direction() {
        let rows = vec![
            row("flow", 0, "ged", 0.2),
            row("flow", 1, "ged", 0.2),
            row("prob-unet", 0, "ged", 0.4),
            row("prob-unet", 1, "ged", 0.4),
            row("flow", 0, "dice", 0.5),
            row("flow", 1, "dice", 0.5),
            row("prob-unet", 0, "dice", 0.7),
            row("prob-unet", 1, "dice", 0.7),
        ];
        let t = ComparisonTable::at_k(&rows, 16);
        assert_eq!(t.metrics, vec!["ged", "dice"]);
        let md = t.markdown();
        assert!(
            md.contains("| flow | **0.2000 ± 0.0000** | 0.5000 ± 0.0000 |"),
            "{md}"
        );
        assert!(
            md.contains("| prob-unet | 0.4000 ± 0.0000 | **0.7000 ± 0.0000** |"),
            "{md}"
        );
        let tex = t.latex();
        assert!(
            tex.contains("\\toprule") && tex.contains("\\textbf{0.2000 $\\pm$ 0.0000}"),
            "{tex}"
        );
        assert!(tex.contains("prob-unet & 0.4000"), "{tex}");
    }

    #[test]
    fn missing_cells_are_dashes_and_other_k_are_ignored() {
        let mut rows = vec![row("flow", 0, "ged", 0.2), row("cimd", 0, "dice", 0.5)];
        rows.push(MetricRow {
            k: 1,
            ..row("flow", 0, "ged", 9.0)
        });
        let md = ComparisonTable::at_k(&rows, 16).markdown();
        // flow is the only method with a GED, hence the best; cimd the only one with a Dice
        assert!(md.contains("| flow | **0.2000 ± 0.0000** | — |"), "{md}");
        assert!(md.contains("| cimd | — | **0.5000 ± 0.0000** |"), "{md}");
        assert!(!md.contains("9.0000"), "{md}");
    }
}
