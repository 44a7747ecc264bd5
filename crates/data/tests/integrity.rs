//! Integrity checks: one test per problem kind, all problems reported together, no panics on
//! malformed samples.
#![allow(clippy::unwrap_used)]

use fmseg_data::formats::{RawDataset, RawSample, SourceFormat};
use fmseg_data::integrity::{ProblemKind, check_dataset, check_split};

fn s(id: &str, raters: usize, h: usize) -> RawSample {
    RawSample {
        id: id.into(),
        group: None,
        image: vec![0.5; h * 4],
        channels: 1,
        height: h,
        width: 4,
        masks: vec![vec![0; h * 4]; raters],
    }
}

fn ds(samples: Vec<RawSample>) -> RawDataset {
    RawDataset {
        source: "data.pkl".into(),
        format: SourceFormat::KnegtPickle,
        image_dtype: None,
        mask_dtype: None,
        samples,
    }
}

fn kinds(d: &RawDataset) -> Vec<(ProblemKind, Option<usize>)> {
    check_dataset(d)
        .into_iter()
        .map(|p| (p.kind, p.index))
        .collect()
}

#[test]
fn clean_dataset_has_no_problems() {
    assert!(check_dataset(&ds(vec![s("a", 4, 4), s("b", 4, 4)])).is_empty());
}

#[test]
fn rater_count() {
    let d = ds(vec![s("a", 4, 4), s("b", 3, 4), s("c", 4, 4)]);
    assert_eq!(kinds(&d), [(ProblemKind::RaterCount, Some(1))]);
}

#[test]
fn shape_mismatch() {
    let d = ds(vec![s("a", 4, 4), s("b", 4, 4), s("c", 4, 5)]);
    let p = check_dataset(&d);
    assert_eq!(kinds(&d), [(ProblemKind::ShapeMismatch, Some(2))]);
    assert_eq!(
        (p[0].file.as_str(), p[0].id.as_deref()),
        ("data.pkl", Some("c"))
    );
}

#[test]
fn non_binary_mask() {
    let mut b = s("b", 4, 4);
    b.masks[2][3] = 255;
    assert_eq!(
        kinds(&ds(vec![s("a", 4, 4), b])),
        [(ProblemKind::NonBinaryMask, Some(1))]
    );
}

#[test]
fn non_finite_image() {
    let mut a = s("a", 4, 4);
    a.image[0] = f32::NAN;
    a.image[1] = f32::INFINITY;
    let p = check_dataset(&ds(vec![a]));
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].kind, ProblemKind::NonFiniteImage);
    assert!(
        p[0].message.contains("1 NaN and 1 infinite"),
        "{}",
        p[0].message
    );
}

#[test]
fn duplicate_id() {
    let d = ds(vec![s("a", 4, 4), s("b", 4, 4), s("a", 4, 4)]);
    let p = check_dataset(&d);
    assert_eq!(kinds(&d), [(ProblemKind::DuplicateId, Some(2))]);
    assert!(p[0].message.contains("sample 0"));
}

#[test]
fn empty_split() {
    let p = check_split(&ds(vec![]), "val");
    assert_eq!(p.len(), 1);
    assert_eq!(p[0].kind, ProblemKind::EmptySplit);
    assert!(p[0].message.contains("`val`"));
}

#[test]
fn buffer_size_and_all_problems_listed() {
    let mut bad = s("a", 2, 4);
    bad.image.truncate(3);
    bad.masks[0].clear();
    bad.masks[1][0] = 7;
    let mut nan = s("x", 4, 4);
    nan.image[5] = f32::NAN;
    let d = ds(vec![s("a", 4, 4), bad, s("c", 4, 4), nan]);
    let k = kinds(&d);
    for want in [
        (ProblemKind::RaterCount, Some(1)),
        (ProblemKind::BufferSize, Some(1)),
        (ProblemKind::NonBinaryMask, Some(1)),
        (ProblemKind::DuplicateId, Some(1)),
        (ProblemKind::NonFiniteImage, Some(3)),
    ] {
        assert!(k.contains(&want), "{want:?} missing in {k:?}");
    }
    assert_eq!(
        k.iter().filter(|x| x.0 == ProblemKind::BufferSize).count(),
        2
    );
}
