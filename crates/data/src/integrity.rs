//! Dataset integrity checks in the spirit of nnU-Net's `verify_dataset_integrity`: every
//! problem is collected (never only the first, never a panic), each naming the file and the
//! sample index and id. Checked: rater counts and `(C, H, W)` shapes that differ from the
//! dataset's most common one, buffers whose length disagrees with the shape, masks with values
//! other than 0/1, NaN/Inf image pixels, duplicate sample ids, and an empty dataset or split.

use std::collections::HashMap;

use serde::Serialize;

use crate::formats::RawDataset;

/// The kind of a [`Problem`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    /// The sample's rater count differs from the most common one.
    RaterCount,
    /// The sample's `(channels, height, width)` differs from the most common one.
    ShapeMismatch,
    /// An image or mask buffer's length does not match the sample's shape.
    BufferSize,
    /// A mask holds values other than 0 and 1.
    NonBinaryMask,
    /// The image holds NaN or infinite values.
    NonFiniteImage,
    /// Two samples share an id.
    DuplicateId,
    /// The dataset (or a split of it) has no samples.
    EmptySplit,
}

/// One integrity problem.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Problem {
    /// What kind of problem.
    pub kind: ProblemKind,
    /// The dataset's file or folder.
    pub file: String,
    /// Sample index, when the problem is about one sample.
    pub index: Option<usize>,
    /// Sample id, when the problem is about one sample.
    pub id: Option<String>,
    /// Human-readable details.
    pub message: String,
}

fn most_common<T: Copy + Eq + std::hash::Hash + Ord>(it: impl Iterator<Item = T>) -> Option<T> {
    let mut counts: HashMap<T, usize> = HashMap::new();
    for v in it {
        *counts.entry(v).or_default() += 1;
    }
    // Highest count; ties go to the smallest value, so the answer is deterministic.
    counts
        .into_iter()
        .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(&a.0)))
        .map(|(v, _)| v)
}

/// Checks one dataset; `split` names it in the empty-split message (e.g. `"train"`).
pub fn check_split(ds: &RawDataset, split: &str) -> Vec<Problem> {
    let file = ds.source.clone();
    let mut out = Vec::new();
    let mut push = |kind, index: Option<usize>, id: Option<&str>, message: String| {
        out.push(Problem {
            kind,
            file: file.clone(),
            index,
            id: id.map(str::to_string),
            message,
        });
    };
    if ds.samples.is_empty() {
        push(
            ProblemKind::EmptySplit,
            None,
            None,
            format!("split `{split}` has no samples"),
        );
        return out;
    }
    let raters = most_common(ds.samples.iter().map(|s| s.masks.len()));
    let shape = most_common(ds.samples.iter().map(|s| (s.channels, s.height, s.width)));
    let mut seen: HashMap<&str, usize> = HashMap::new();
    for (i, s) in ds.samples.iter().enumerate() {
        let id = Some(s.id.as_str());
        if let Some(r) = raters.filter(|&r| r != s.masks.len()) {
            let m = format!("{} raters, most samples have {r}", s.masks.len());
            push(ProblemKind::RaterCount, Some(i), id, m);
        }
        let sh = (s.channels, s.height, s.width);
        if let Some(c) = shape.filter(|&c| c != sh) {
            let m = format!("shape (C, H, W) = {sh:?}, most samples have {c:?}");
            push(ProblemKind::ShapeMismatch, Some(i), id, m);
        }
        let plane = s.height.saturating_mul(s.width);
        if s.image.len() != s.channels.saturating_mul(plane) {
            let m = format!("image has {} values for shape {sh:?}", s.image.len());
            push(ProblemKind::BufferSize, Some(i), id, m);
        }
        for (r, m) in s.masks.iter().enumerate() {
            if m.len() != plane {
                let msg = format!("rater {r} mask has {} values, expected {plane}", m.len());
                push(ProblemKind::BufferSize, Some(i), id, msg);
            }
            let bad: Vec<u8> = m.iter().copied().filter(|&v| v > 1).take(1).collect();
            if let Some(v) = bad.first() {
                let n = m.iter().filter(|&&v| v > 1).count();
                let msg = format!("rater {r} mask has {n} non-binary values (e.g. {v})");
                push(ProblemKind::NonBinaryMask, Some(i), id, msg);
            }
        }
        let nan = s.image.iter().filter(|v| v.is_nan()).count();
        let inf = s.image.iter().filter(|v| v.is_infinite()).count();
        if nan + inf > 0 {
            let m = format!("image has {nan} NaN and {inf} infinite values");
            push(ProblemKind::NonFiniteImage, Some(i), id, m);
        }
        if let Some(first) = seen.get(s.id.as_str()) {
            let m = format!("id `{}` already used by sample {first}", s.id);
            push(ProblemKind::DuplicateId, Some(i), id, m);
        } else {
            seen.insert(s.id.as_str(), i);
        }
    }
    out
}

/// Checks a whole dataset (an empty one is reported as the empty split `all`).
pub fn check_dataset(ds: &RawDataset) -> Vec<Problem> {
    check_split(ds, "all")
}
