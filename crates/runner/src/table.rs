//! Plain-text tables for the terminal.

use fmseg_metrics::{METRIC_NAMES, Scores};

fn cell(v: Option<f64>) -> String {
    v.map_or_else(|| "—".to_string(), |x| format!("{x:.4}"))
}

/// A table with one row per labelled score record.
pub fn scores_table(rows: &[(String, Scores)]) -> String {
    let header: Vec<String> = std::iter::once("k".to_string())
        .chain(METRIC_NAMES.iter().map(|s| s.to_string()))
        .collect();
    let body: Vec<Vec<String>> = rows
        .iter()
        .map(|(label, s)| {
            std::iter::once(label.clone())
                .chain(s.values().into_iter().map(cell))
                .collect()
        })
        .collect();
    let widths: Vec<usize> = (0..header.len())
        .map(|c| {
            body.iter()
                .map(|r| r[c].chars().count())
                .chain([header[c].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: &[String]| {
        cells
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:>w$}"))
            .collect::<Vec<_>>()
            .join("  ")
    };
    let mut out = line(&header);
    out.push('\n');
    out.push_str(
        &widths
            .iter()
            .map(|w| "-".repeat(*w))
            .collect::<Vec<_>>()
            .join("  "),
    );
    for row in &body {
        out.push('\n');
        out.push_str(&line(row));
    }
    out
}
