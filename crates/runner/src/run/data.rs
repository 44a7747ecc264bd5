//! Datasets of an experiment resolved into training sources and test sets: the embedded
//! synthetic benchmark (with its known answer distribution, for the oracle sampler and the true
//! variance maps) or a real dataset read natively (`fmseg_data::inspect::load_any`: LIDC pickles,
//! CIMD JPEG folders, MMIS HDF5/npy, fmseg caches), preprocessed as the official loader
//! (per-image min–max, optional lesion crop and resize) and split by the official LIDC split,
//! index ranges, or a seeded grouped split.

use std::path::{Path, PathBuf};

use burn::tensor::{Device, Tensor, TensorData};
use fmseg_data::cache::source_sha256;
use fmseg_data::formats::RawDataset;
use fmseg_data::inspect::{format_name, load_any};
use fmseg_data::preprocess::{
    PreprocessConfig, first_non_finite, preprocess_dataset, preprocessed_bytes,
};
use fmseg_data::synth::oracle::Oracle;
use fmseg_data::synth::{SynthConfig, SyntheticDataset};
use fmseg_model::dataset::InMemorySource;
use fmseg_model::experiment::DataShape;
use serde_json::json;

use super::spec::{DatasetEntry, FormatChoice};
use super::spec_file::{ExperimentError, SpecFile};
use super::split::split_raw;

/// Test images with their annotations.
#[derive(Debug, Clone)]
pub struct TestSet {
    /// `[N, C, H, W]` images in [0, 1], row-major.
    pub images: Vec<f32>,
    /// `[N, C, H, W]`.
    pub shape: [usize; 4],
    /// `[N, M, H, W]` masks in {0, 1}.
    pub annotations: Vec<u8>,
    /// M.
    pub raters: usize,
    /// The known answer distribution per image (synthetic data only).
    pub oracles: Option<Vec<Oracle>>,
}

/// A resolved dataset.
#[derive(Debug)]
pub struct LoadedDataset {
    /// The dataset id.
    pub id: String,
    /// Training items.
    pub train: InMemorySource,
    /// Number of training items.
    pub train_count: usize,
    /// Test items.
    pub test: TestSet,
    /// Validation items for learning curves (synthetic `validation_count` > 0), with what
    /// determines them (part of the keys of cells that score a learning curve, not of the
    /// training key).
    pub validation: Option<(TestSet, serde_json::Value)>,
    /// Everything that determines the data (spec, source checksums): part of every cell key.
    pub fingerprint: serde_json::Value,
    /// Where the data was read from (not part of the keys: moving a dataset reruns nothing).
    pub source: serde_json::Value,
}

impl TestSet {
    /// Images `start..end` as a `[end − start, C, H, W]` tensor on `device`.
    pub fn images_tensor(&self, start: usize, end: usize, device: &Device) -> Tensor<4> {
        let [_, c, h, w] = self.shape;
        let per = c * h * w;
        let values = self.images[start * per..end * per].to_vec();
        Tensor::from_data(TensorData::new(values, [end - start, c, h, w]), device)
    }
}

impl LoadedDataset {
    /// What a method block must fit: image channels and side, training items.
    pub fn shape(&self) -> DataShape {
        DataShape {
            channels: self.channels(),
            size: self.size(),
            train_count: self.train_count,
        }
    }

    /// Image channels.
    pub fn channels(&self) -> usize {
        self.test.shape[1]
    }
    /// Image side.
    pub fn size(&self) -> usize {
        self.test.shape[2]
    }
}

/// Resolves `datasets[index]`; `overrides` are `--data ID=PATH` pairs.
pub fn load_dataset(
    file: &SpecFile,
    index: usize,
    overrides: &[(String, PathBuf)],
) -> Result<LoadedDataset, ExperimentError> {
    let entry = &file.spec.datasets[index];
    let field = |f: &str| format!("datasets[{index}].{f}");
    let id_ok = !entry.id.is_empty()
        && entry
            .id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    if !id_ok {
        return Err(file.invalid(
            &field("id"),
            format!("'{}': use letters, digits, - _ .", entry.id),
        ));
    }
    let given = overrides
        .iter()
        .find(|(id, _)| *id == entry.id)
        .map(|(_, p)| p.clone());
    if let (Some(g), Some(_)) = (&given, &entry.synthetic) {
        return Err(file.invalid(
            &field("synthetic"),
            format!(
                "--data {}={}: '{}' is a synthetic dataset, which reads no files",
                entry.id,
                g.display(),
                entry.id
            ),
        ));
    }
    let base = |root: Option<&Path>| -> PathBuf {
        match root {
            Some(r) => resolve_path(&file.path, r),
            None => file
                .path
                .parent()
                .map_or_else(|| PathBuf::from("."), Path::to_path_buf),
        }
    };
    let (mut root, mut path) = (entry.root.clone(), entry.path.clone());
    match &given {
        Some(g) if g.is_file() && entry.test_path.is_none() => {
            root = None;
            path = Some(std::path::absolute(g).unwrap_or_else(|_| g.clone()));
        }
        Some(g) => root = Some(std::path::absolute(g).unwrap_or_else(|_| g.clone())),
        None => {}
    }
    let root_dir = base(root.as_deref());
    let join = |p: &Path| {
        if p.is_absolute() {
            p.to_path_buf()
        } else {
            root_dir.join(p)
        }
    };
    let path = path.as_deref().map(join);
    let test_path = entry.test_path.as_deref().map(join);
    match (&entry.synthetic, path) {
        (Some(_), Some(_)) => {
            Err(file.invalid(&field("path"), "give `synthetic` or `path`, not both"))
        }
        (None, None) => Err(file.invalid(&field("id"), "give `synthetic:` or `path:`")),
        (Some(_), None) => synthetic(file, index, entry),
        (None, Some(path)) => real(file, index, entry, &path, test_path.as_deref()),
    }
}

fn resolve_path(spec: &Path, p: &Path) -> PathBuf {
    if p.is_absolute() {
        return p.to_path_buf();
    }
    spec.parent().map_or_else(|| p.to_path_buf(), |d| d.join(p))
}

fn synthetic(
    file: &SpecFile,
    index: usize,
    entry: &DatasetEntry,
) -> Result<LoadedDataset, ExperimentError> {
    let field = |f: &str| format!("datasets[{index}].synthetic.{f}");
    let Some(s) = &entry.synthetic else {
        return Err(file.invalid(&field(""), "missing"));
    };
    for (name, set) in [
        ("root", entry.root.is_some()),
        ("test_path", entry.test_path.is_some()),
        ("path", entry.path.is_some()),
        ("format", entry.format.is_some()),
        ("split", entry.split.is_some()),
        ("preprocess", entry.preprocess.is_some()),
    ] {
        if set {
            return Err(file.invalid(
                &format!("datasets[{index}].{name}"),
                "applies to real datasets only",
            ));
        }
    }
    let config = SynthConfig {
        preset: s.preset,
        size: s.size.unwrap_or_else(|| s.preset.default_size()),
        raters: s.raters,
        seed: s.seed,
    };
    let generator = SyntheticDataset::new(config.clone()).map_err(|e| {
        let e = e.into_field_error();
        let f = if e.field.is_empty() {
            "preset"
        } else {
            &e.field
        };
        file.invalid(&field(f), e.message.clone())
    })?;
    let mut test_count = s.test_count;
    if let Some(limit) = entry.test_limit {
        test_count = test_count.min(limit);
    }
    if s.train_count == 0 {
        return Err(file.invalid(&field("train_count"), "must be at least 1"));
    }
    if test_count == 0 {
        return Err(file.invalid(&field("test_count"), "must be at least 1"));
    }
    let end = |start: u64, count: usize, name: &str| {
        start.checked_add(count as u64).ok_or_else(|| {
            file.invalid(
                &field(name),
                format!("{start} + {count} items overflows the item index"),
            )
        })
    };
    let train_range = s.train_start..end(s.train_start, s.train_count, "train_start")?;
    let test_range = s.test_start..end(s.test_start, test_count, "test_start")?;
    let side = config.size as u128;
    let per_item = side * side * (4 * generator.channels() as u128 + config.raters as u128);
    let items = s.train_count as u128 + test_count as u128;
    if let Some(message) = crate::memory::refusal(
        &format!("train_count {} + test_count {test_count}", s.train_count),
        crate::memory::Need::bytes_of(items.saturating_mul(per_item)).times(2),
        &format!("items × {side}×{side} pixels, images and masks, twice while they are built"),
    ) {
        return Err(file.invalid(&field("train_count"), message));
    }
    if train_range.start < test_range.end && test_range.start < train_range.end {
        return Err(file.invalid(
            &field("test_start"),
            format!("test items {test_range:?} overlap the training items {train_range:?}"),
        ));
    }
    let train = InMemorySource::from_synthetic(config.clone(), s.train_start, s.train_count)
        .map_err(|e| file.invalid(&field("train_count"), e.to_string()))?;
    let test = synthetic_set(&generator, test_range.clone());
    let validation = if s.validation_count == 0 {
        None
    } else {
        let range =
            s.validation_start..end(s.validation_start, s.validation_count, "validation_start")?;
        for (name, other) in [("training", &train_range), ("test", &test_range)] {
            if range.start < other.end && other.start < range.end {
                return Err(file.invalid(
                    &field("validation_start"),
                    format!("validation items {range:?} overlap the {name} items {other:?}"),
                ));
            }
        }
        let fingerprint = json!({ "synthetic": config, "validation": [range.start, range.end] });
        Some((synthetic_set(&generator, range), fingerprint))
    };
    Ok(LoadedDataset {
        id: entry.id.clone(),
        train,
        train_count: s.train_count,
        test,
        validation,
        source: json!({ "synthetic": true }),
        fingerprint: json!({
            "synthetic": config,
            "train": [train_range.start, train_range.end],
            "test": [test_range.start, test_range.end],
        }),
    })
}

/// The items `range` of a synthetic dataset as images, annotations and oracles.
fn synthetic_set(generator: &SyntheticDataset, range: std::ops::Range<u64>) -> TestSet {
    let items: Vec<_> = range.map(|i| generator.sample(i)).collect();
    let (c, size, m) = (
        generator.channels(),
        generator.config().size,
        generator.config().raters,
    );
    let (images, annotations) = fmseg_data::synth::stack(&items);
    TestSet {
        images,
        shape: [items.len(), c, size, size],
        annotations,
        raters: m,
        oracles: Some(items.into_iter().map(|it| it.oracle).collect()),
    }
}

fn real(
    file: &SpecFile,
    index: usize,
    entry: &DatasetEntry,
    path: &Path,
    test_path: Option<&Path>,
) -> Result<LoadedDataset, ExperimentError> {
    let field = |f: &str| format!("datasets[{index}].{f}");
    let raw = load_any(path).map_err(|e| file.invalid(&field("path"), e.to_string()))?;
    let raw_test = match test_path {
        Some(p) => Some(load_any(p).map_err(|e| file.invalid(&field("test_path"), e.to_string()))?),
        None => None,
    };
    for (set, name) in [(Some(&raw), "path"), (raw_test.as_ref(), "test_path")] {
        if let Some(bad) = set.and_then(first_non_finite) {
            return Err(file.invalid(&field(name), bad.to_string()));
        }
    }
    let detected = format_name(raw.format);
    if let Some(FormatChoice(Some(want))) = entry.format
        && want != raw.format
    {
        return Err(file.invalid(
            &field("format"),
            format!("'{want}' but {} holds {detected}", path.display()),
        ));
    }
    let checksum = source_sha256(path).map_err(|e| file.invalid(&field("path"), e.to_string()))?;
    let test_checksum = match test_path {
        Some(p) => {
            Some(source_sha256(p).map_err(|e| file.invalid(&field("test_path"), e.to_string()))?)
        }
        None => None,
    };
    let pre = entry
        .preprocess
        .clone()
        .unwrap_or(super::spec::PreprocessSpec {
            normalize: true,
            crop: None,
            size: None,
            keep_empty: true,
        });
    if pre.crop == Some(0) || pre.size == Some(0) {
        return Err(file.invalid(&field("preprocess"), "crop and size must be at least 1"));
    }
    let config = PreprocessConfig {
        normalize: pre.normalize,
        crop: pre.crop,
        size: pre.size,
        keep_empty: pre.keep_empty,
    };
    let (train, test, validation) = match (raw_test, &entry.split) {
        (Some(_), Some(_)) => {
            return Err(file.invalid(&field("split"), "give `split:` or `test_path:`, not both"));
        }
        (Some(test), None) => (raw, test, None),
        (None, Some(split)) => {
            let parts = split_raw(file, index, raw, split)?;
            (parts.train, parts.test, parts.validation)
        }
        (None, None) => {
            return Err(file.invalid(
                &field("split"),
                "a real dataset needs `split:` (official: true, train/test ranges, or test_fraction) or `test_path:`",
            ));
        }
    };
    let need = preprocessed_bytes(&train, &config)
        + preprocessed_bytes(&test, &config)
        + validation
            .as_ref()
            .map_or(0, |v| preprocessed_bytes(v, &config));
    if let Some(message) = crate::memory::refusal(
        &format!(
            "preprocess size {} crop {}",
            opt_side(config.size),
            opt_side(config.crop)
        ),
        crate::memory::Need::bytes_of(need).times(2),
        "every sample's float32 image and u8 masks at that side, twice while they are built",
    ) {
        return Err(file.invalid(&field("preprocess.size"), message));
    }
    let (train, train_report) = preprocess_dataset(train, &config);
    let (test, test_report) = preprocess_dataset(test, &config);
    let mut test = test;
    if let Some(limit) = entry.test_limit {
        test.samples.truncate(limit);
    }
    let (train_set, train_count) = to_arrays(file, &field("preprocess.size"), &train)?;
    let (test_set, _) = to_arrays(file, &field("preprocess.size"), &test)?;
    if train_set.shape[1..] != test_set.shape[1..] || train_set.raters != test_set.raters {
        return Err(file.invalid(
            &field("preprocess.size"),
            "training and test images differ in shape or rater count",
        ));
    }
    let validation = match validation {
        None => None,
        Some(v) => {
            let (v, _) = preprocess_dataset(v, &config);
            let (set, _) = to_arrays(file, &field("split.validation"), &v)?;
            if set.shape[1..] != test_set.shape[1..] || set.raters != test_set.raters {
                return Err(file.invalid(
                    &field("split.validation"),
                    "validation and test images differ in shape or rater count",
                ));
            }
            let fingerprint = json!({
                "sha256": checksum,
                "validation": entry.split.as_ref().and_then(|s| s.validation),
                "preprocess": pre,
            });
            Some((set, fingerprint))
        }
    };
    // the validation range is not part of the training data's identity
    let split = entry.split.as_ref().map(|s| super::spec::SplitSpec {
        validation: None,
        ..s.clone()
    });
    let train_source = InMemorySource::from_arrays(
        train_set.images,
        train_set.shape,
        train_set.annotations,
        train_set.raters,
    )
    .map_err(|e| file.invalid(&field("path"), e.to_string()))?;
    Ok(LoadedDataset {
        id: entry.id.clone(),
        train: train_source,
        train_count,
        test: test_set,
        validation,
        source: json!({
            "path": path.display().to_string(),
            "test_path": test_path.map(|p| p.display().to_string()),
        }),
        fingerprint: json!({
            "format": detected,
            "sha256": checksum,
            "test_sha256": test_checksum,
            "split": split,
            "preprocess": pre,
            "test_limit": entry.test_limit,
            "train_report": train_report,
            "test_report": test_report,
        }),
    })
}

fn to_arrays(
    file: &SpecFile,
    field: &str,
    ds: &RawDataset,
) -> Result<(TestSet, usize), ExperimentError> {
    let first = ds.samples.first().ok_or_else(|| {
        file.invalid(
            field,
            format!("{}: no samples after preprocessing", ds.source),
        )
    })?;
    let (c, h, w, m) = (
        first.channels,
        first.height,
        first.width,
        first.num_raters(),
    );
    if let Some((i, s)) = ds
        .samples
        .iter()
        .enumerate()
        .find(|(_, s)| (s.channels, s.height, s.width, s.num_raters()) != (c, h, w, m))
    {
        return Err(file.invalid(
            field,
            format!(
                "{}: sample {i} ({}) is {}×{}×{} with {} raters, sample 0 is {c}×{h}×{w} with {m}; set preprocess.size",
                ds.source,
                s.id,
                s.channels,
                s.height,
                s.width,
                s.num_raters()
            ),
        ));
    }
    if h != w {
        return Err(file.invalid(
            field,
            format!(
                "{}: images are {h}×{w}, not square; set preprocess.size or crop",
                ds.source
            ),
        ));
    }
    let n = ds.samples.len();
    Ok((
        TestSet {
            images: ds
                .samples
                .iter()
                .flat_map(|s| s.image.iter().copied())
                .collect(),
            shape: [n, c, h, w],
            annotations: ds
                .samples
                .iter()
                .flat_map(|s| s.masks.iter().flatten().copied())
                .collect(),
            raters: m,
            oracles: None,
        },
        n,
    ))
}

/// A side for a message (`none` when not given).
fn opt_side(side: Option<usize>) -> String {
    side.map_or_else(|| "none".into(), |s| s.to_string())
}
