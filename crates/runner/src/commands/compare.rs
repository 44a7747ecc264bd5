//! `fmseg compare`: the paper's comparison protocol on precomputed samples — every method scored
//! with the same metric code against the same annotations, per image and per sample count k —
//! written as `metrics.csv` (the long format of `fmseg run`: the method column is the name when it
//! is a method id, else `external`, and the label is the name), `table.md` and `table.tex` (one table per k: mean over
//! images ± half the 95 % bootstrap interval, best per column in bold).

use std::path::PathBuf;

use crate::report::rows::{MethodColumn, MetricRow, RowIdentity, long_csv};
use crate::report::tables::ComparisonTable;
use anyhow::{Context, Result};
use clap::Args;
use fmseg_data::atomic::write_atomic;
use fmseg_metrics::{Prefixes, evaluate_images};

use crate::input_error::input_error;
use crate::inputs::load_evaluation_input;

/// `fmseg compare`.
#[derive(Debug, Args)]
pub struct CompareArgs {
    /// Annotations .npy (N, m, H, W) shared by every method.
    #[arg(long, value_name = "A.npy")]
    pub annotations: PathBuf,
    /// A method and its samples .npy (N, n, H, W), as NAME=PATH; repeat for each method.
    #[arg(long = "method", value_name = "NAME=S.npy", required = true)]
    pub methods: Vec<String>,
    /// Dataset name recorded in the rows.
    #[arg(long, default_value = "data")]
    pub dataset: String,
    /// Seed recorded in the rows.
    #[arg(long, default_value_t = 0)]
    pub seed: u64,
    /// Sample counts to tabulate (default: 1, 2, 4, ... up to n, and n).
    #[arg(long, value_delimiter = ',')]
    pub k: Vec<usize>,
    /// Output folder.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

fn default_counts(n: usize) -> Vec<usize> {
    let mut ks: Vec<usize> = std::iter::successors(Some(1usize), |k| k.checked_mul(2))
        .take_while(|&k| k <= n)
        .collect();
    if ks.last() != Some(&n) {
        ks.push(n);
    }
    ks
}

/// Runs the command.
pub fn run(args: &CompareArgs) -> Result<()> {
    let mut rows: Vec<MetricRow> = Vec::new();
    let mut min_n = usize::MAX;
    let mut seen = std::collections::HashSet::new();
    for spec in &args.methods {
        let (name, path) = spec
            .split_once('=')
            .filter(|(n, p)| !n.is_empty() && !p.is_empty())
            .ok_or_else(|| input_error(format!("--method '{spec}': expected NAME=S.npy")))?;
        if !seen.insert(name) {
            return Err(input_error(format!(
                "--method {name}: the name is given twice (each method needs its own row)"
            )));
        }
        let input = load_evaluation_input(path.as_ref(), &args.annotations)?;
        min_n = min_n.min(input.shape.samples);
        let per_image = evaluate_images(
            &input.samples,
            &input.annotations,
            input.shape,
            Prefixes::All,
        )
        .map_err(|e| input_error(format!("{path}: {e}")))?;
        let identity = RowIdentity {
            method: MethodColumn::of_name(name),
            variant: "",
            label: name,
            dataset: &args.dataset,
            seed: args.seed,
        };
        for (i, per_k) in per_image.iter().enumerate() {
            rows.extend(identity.image_rows(i, per_k, |_| true));
        }
    }
    let ks = if args.k.is_empty() {
        default_counts(min_n)
    } else {
        args.k.clone()
    };
    if let Some(bad) = ks.iter().find(|&&k| k == 0 || k > min_n) {
        return Err(input_error(format!(
            "--k {bad}: every method has only {min_n} samples"
        )));
    }
    let tables: Vec<ComparisonTable> = ks
        .iter()
        .map(|&k| ComparisonTable::at_k(&rows, k))
        .collect();
    let md: String = tables
        .iter()
        .map(|t| t.markdown())
        .collect::<Vec<_>>()
        .join("\n");
    let tex: String = tables
        .iter()
        .map(|t| t.latex())
        .collect::<Vec<_>>()
        .join("\n");
    let out = &args.out;
    write_atomic(&out.join("metrics.csv"), long_csv(&rows).as_bytes())
        .context("writing metrics.csv")?;
    write_atomic(&out.join("table.md"), md.as_bytes()).context("writing table.md")?;
    write_atomic(&out.join("table.tex"), tex.as_bytes()).context("writing table.tex")?;
    if let Some(last) = tables.last() {
        println!("{}", last.markdown());
    }
    eprintln!(
        "wrote metrics.csv, table.md and table.tex to {}",
        out.display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::default_counts;

    #[test]
    fn default_counts_are_powers_of_two_and_n() {
        assert_eq!(default_counts(16), vec![1, 2, 4, 8, 16]);
        assert_eq!(default_counts(15), vec![1, 2, 4, 8, 15]);
        assert_eq!(default_counts(1), vec![1]);
    }
}
