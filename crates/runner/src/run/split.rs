//! How a real dataset is divided into training and test images (`datasets[i].split`): the
//! official LIDC split by `series_uid` (numpy MT19937 + sklearn's `ShuffleSplit`, 90/10), index
//! ranges in file order (with an optional validation range for learning curves), or a seeded
//! split by group (patients, cases; ids when the data has no groups).

use fmseg_data::formats::{RawDataset, official_lidc_split, split_by_group};

use super::spec::SplitSpec;
use super::spec_file::{ExperimentError, SpecFile};

/// A real dataset divided: training, test and (index ranges only) validation images.
pub struct Parts {
    /// Training images.
    pub train: RawDataset,
    /// Test images.
    pub test: RawDataset,
    /// Validation images (`split.validation`).
    pub validation: Option<RawDataset>,
}

/// Splits `raw` as `datasets[index].split` says.
pub fn split_raw(
    file: &SpecFile,
    index: usize,
    raw: RawDataset,
    split: &SplitSpec,
) -> Result<Parts, ExperimentError> {
    let field = format!("datasets[{index}].split");
    if split.validation.is_some() && (split.train.is_none() || split.test.is_none()) {
        return Err(file.invalid(
            &format!("{field}.validation"),
            "a validation range goes with `train` + `test` ranges",
        ));
    }
    let two = |(train, test): (RawDataset, RawDataset)| Parts {
        train,
        test,
        validation: None,
    };
    let modes = usize::from(split.official)
        + usize::from(split.train.is_some() || split.test.is_some())
        + usize::from(split.test_fraction.is_some());
    if modes != 1 {
        return Err(file.invalid(
            &field,
            "give exactly one of `official: true`, `train`+`test` ranges, or `test_fraction`",
        ));
    }
    let n = raw.len();
    if split.official {
        return official_lidc_split(raw)
            .map(two)
            .map_err(|e| file.invalid(&field, e.to_string()));
    }
    let pick = |raw: &RawDataset, idx: &[usize], name: &str| RawDataset {
        source: format!("{} ({name})", raw.source),
        format: raw.format,
        image_dtype: raw.image_dtype,
        mask_dtype: raw.mask_dtype,
        samples: idx.iter().map(|&i| raw.samples[i].clone()).collect(),
    };
    if let Some(fraction) = split.test_fraction {
        if !(fraction > 0.0 && fraction < 1.0) {
            return Err(file.invalid(&format!("{field}.test_fraction"), "must be in (0, 1)"));
        }
        let groups: Vec<String> = raw
            .samples
            .iter()
            .map(|s| s.group.clone().unwrap_or_else(|| s.id.clone()))
            .collect();
        let seed = split.seed.unwrap_or(42);
        let seed = u32::try_from(seed)
            .map_err(|_| file.invalid(&format!("{field}.seed"), "must fit in 32 bits"))?;
        let g = split_by_group(&groups, fraction, seed)
            .map_err(|e| file.invalid(&field, e.to_string()))?;
        return Ok(two((
            pick(&raw, &g.train, "train"),
            pick(&raw, &g.test, "test"),
        )));
    }
    let range = |name: &str, r: Option<[usize; 2]>| -> Result<Vec<usize>, ExperimentError> {
        let [a, b] = r.ok_or_else(|| file.invalid(&format!("{field}.{name}"), "missing range"))?;
        if a >= b || b > n {
            return Err(file.invalid(
                &format!("{field}.{name}"),
                format!("[{a}, {b}) is empty or beyond the {n} samples"),
            ));
        }
        Ok((a..b).collect())
    };
    let train = range("train", split.train)?;
    let test = range("test", split.test)?;
    if train.iter().any(|i| test.contains(i)) {
        return Err(file.invalid(&format!("{field}.test"), "overlaps the training range"));
    }
    let validation = match split.validation {
        None => None,
        Some(_) => {
            let v = range("validation", split.validation)?;
            if v.iter().any(|i| train.contains(i) || test.contains(i)) {
                return Err(file.invalid(
                    &format!("{field}.validation"),
                    "overlaps the training or test range",
                ));
            }
            Some(pick(&raw, &v, "validation"))
        }
    };
    Ok(Parts {
        train: pick(&raw, &train, "train"),
        test: pick(&raw, &test, "test"),
        validation,
    })
}
