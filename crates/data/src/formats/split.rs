//! The official LIDC train/validation split: scikit-learn
//! `train_test_split(x, test_size=0.1, random_state=42)` over the unique `series_uid`s.
//!
//! Reference behaviour: scikit-learn `ShuffleSplit` as used by `train_test_split` with a float
//! `test_size` and no `train_size`: `n_test = ceil(test_size * n)`, `n_train = n - n_test`,
//! `perm = RandomState(seed).permutation(n)` (numpy legacy MT19937, see [`mt19937`]),
//! `test = perm[:n_test]`, `train = perm[n_test:n_test + n_train]`. The official preprocess
//! (huynhspm/Data-Uncertainty `datasets/preprocess/lidc.py`) groups Knegt's samples by
//! `series_uid` in first-appearance order, splits the list of unique uids, and writes each
//! subset's samples uid by uid in split order (samples of a uid in appearance order).

pub mod mt19937;

use std::collections::HashMap;

use thiserror::Error;

use super::raw::{RawDataset, RawSample, SourceFormat};
use mt19937::Mt19937;

/// `test_size` of the official LIDC split.
pub const OFFICIAL_TEST_FRACTION: f64 = 0.1;
/// `random_state` of the official LIDC split.
pub const OFFICIAL_SEED: u32 = 42;

/// Why a split cannot be made.
#[derive(Debug, Error, Clone, PartialEq)]
pub enum SplitError {
    /// scikit-learn requires a float `test_size` strictly inside (0, 1).
    #[error("test fraction {0} must lie strictly between 0 and 1")]
    BadFraction(f64),
    /// scikit-learn refuses splits that leave the train set empty.
    #[error("with {n} items and test fraction {fraction} the train set would be empty")]
    EmptyTrain {
        /// Number of items.
        n: usize,
        /// The test fraction.
        fraction: f64,
    },
    /// Grouped split of samples without a group key.
    #[error("sample {index} ('{id}') has no group (series_uid)")]
    MissingGroup {
        /// Sample index.
        index: usize,
        /// Sample id.
        id: String,
    },
}

/// `train_test_split(range(n), test_size=test_fraction, random_state=seed)`:
/// returns `(train indices, test indices)` in scikit-learn's order.
pub fn train_test_split(
    n: usize,
    test_fraction: f64,
    seed: u32,
) -> Result<(Vec<usize>, Vec<usize>), SplitError> {
    if !(test_fraction > 0.0 && test_fraction < 1.0) {
        return Err(SplitError::BadFraction(test_fraction));
    }
    let n_test = (test_fraction * n as f64).ceil() as usize;
    if n_test >= n {
        return Err(SplitError::EmptyTrain {
            n,
            fraction: test_fraction,
        });
    }
    let mut perm = Mt19937::new(seed).permutation(n);
    let train = perm.split_off(n_test);
    Ok((train, perm))
}

/// A split of grouped samples.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupSplit {
    /// Train groups, in split order.
    pub train_groups: Vec<String>,
    /// Test groups, in split order.
    pub test_groups: Vec<String>,
    /// Sample indices of the train groups, group by group (appearance order within a group).
    pub train: Vec<usize>,
    /// Sample indices of the test groups, likewise.
    pub test: Vec<usize>,
}

/// Splits the unique groups (first-appearance order) and expands them back to sample indices,
/// as the official preprocess does.
pub fn split_by_group<S: AsRef<str>>(
    groups: &[S],
    test_fraction: f64,
    seed: u32,
) -> Result<GroupSplit, SplitError> {
    let mut order: Vec<&str> = Vec::new();
    let mut members: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, g) in groups.iter().enumerate() {
        let g = g.as_ref();
        members
            .entry(g)
            .or_insert_with(|| {
                order.push(g);
                Vec::new()
            })
            .push(i);
    }
    let (train, test) = train_test_split(order.len(), test_fraction, seed)?;
    let expand = |idx: &[usize]| -> (Vec<String>, Vec<usize>) {
        let names = idx.iter().map(|&u| order[u].to_string()).collect();
        let samples = idx
            .iter()
            .flat_map(|&u| members[order[u]].iter().copied())
            .collect();
        (names, samples)
    };
    let (train_groups, train) = expand(&train);
    let (test_groups, test) = expand(&test);
    Ok(GroupSplit {
        train_groups,
        test_groups,
        train,
        test,
    })
}

/// Reproduces the official `Train.pickle` / `Val.pickle` from Knegt's pickle: returns
/// `(train, val)` with the samples in the order the official files hold them.
pub fn official_lidc_split(ds: RawDataset) -> Result<(RawDataset, RawDataset), SplitError> {
    let groups = ds
        .samples
        .iter()
        .enumerate()
        .map(|(index, s)| {
            s.group.clone().ok_or_else(|| SplitError::MissingGroup {
                index,
                id: s.id.clone(),
            })
        })
        .collect::<Result<Vec<_>, _>>()?;
    let split = split_by_group(&groups, OFFICIAL_TEST_FRACTION, OFFICIAL_SEED)?;
    let mut slots: Vec<Option<RawSample>> = ds.samples.into_iter().map(Some).collect();
    let mut pick = |idx: &[usize], name: &str| RawDataset {
        source: format!("{} ({name})", ds.source),
        format: SourceFormat::OfficialPickle,
        image_dtype: ds.image_dtype,
        mask_dtype: ds.mask_dtype,
        samples: idx.iter().filter_map(|&i| slots[i].take()).collect(),
    };
    let train = pick(&split.train, "Train");
    let val = pick(&split.test, "Val");
    Ok((train, val))
}
