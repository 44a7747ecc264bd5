//! The official split: index-for-index agreement with scikit-learn 1.9.1
//! `train_test_split(list(range(n)), test_size=0.1, random_state=42)`, and grouping by uid.
// Test helpers outside `#[test]` functions unwrap fixture data on purpose.
#![allow(clippy::unwrap_used)]

mod formats_support;

use fmseg_data::formats::split::{
    OFFICIAL_SEED, OFFICIAL_TEST_FRACTION, SplitError, official_lidc_split, split_by_group,
    train_test_split,
};
use fmseg_data::formats::{RawDataset, RawSample, SourceFormat};
use formats_support::shared_file;

fn indices(v: &serde_json::Value) -> Vec<usize> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_u64().unwrap() as usize)
        .collect()
}

#[test]
fn matches_scikit_learn_for_every_recorded_n() {
    let Some(p) = shared_file("parity/split/train_test_split_rs42.json") else {
        return;
    };
    let j: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap();
    let splits = j["splits"].as_object().unwrap();
    assert!(splits.len() >= 5);
    for (n, s) in splits {
        let n: usize = n.parse().unwrap();
        let (train, test) = train_test_split(n, OFFICIAL_TEST_FRACTION, OFFICIAL_SEED).unwrap();
        assert_eq!(test, indices(&s["test"]), "n = {n}: test");
        assert_eq!(train, indices(&s["train"]), "n = {n}: train");
    }
}

#[test]
fn sizes_follow_ceil_of_the_fraction() {
    for n in [2usize, 9, 10, 11, 875, 1010] {
        let (train, test) = train_test_split(n, 0.1, 42).unwrap();
        assert_eq!(test.len(), (0.1 * n as f64).ceil() as usize);
        let mut all: Vec<usize> = train.iter().chain(&test).copied().collect();
        all.sort_unstable();
        assert_eq!(all, (0..n).collect::<Vec<_>>());
    }
    // 875 unique LIDC series: 88 go to Val
    assert_eq!(train_test_split(875, 0.1, 42).unwrap().1.len(), 88);
}

#[test]
fn invalid_requests_are_errors() {
    assert_eq!(
        train_test_split(10, 0.0, 42),
        Err(SplitError::BadFraction(0.0))
    );
    assert_eq!(
        train_test_split(10, 1.0, 42),
        Err(SplitError::BadFraction(1.0))
    );
    assert!(matches!(
        train_test_split(10, f64::NAN, 42),
        Err(SplitError::BadFraction(_))
    ));
    assert!(matches!(
        train_test_split(1, 0.1, 42),
        Err(SplitError::EmptyTrain { n: 1, .. })
    ));
    assert!(matches!(
        train_test_split(0, 0.1, 42),
        Err(SplitError::EmptyTrain { n: 0, .. })
    ));
}

#[test]
fn groups_split_in_first_appearance_order() {
    // 10 unique groups in appearance order g0..g9; g3 and g8 have extra samples
    let mut groups: Vec<String> = (0..10).map(|g| format!("g{g}")).collect();
    groups.insert(4, "g3".into());
    groups.push("g8".into());
    groups.push("g3".into());
    let s = split_by_group(&groups, 0.1, 42).unwrap();
    // RandomState(42).permutation(10) = [8, 1, 5, 0, 7, 2, 9, 4, 3, 6]
    assert_eq!(s.test_groups, vec!["g8"]);
    assert_eq!(
        s.train_groups,
        ["g1", "g5", "g0", "g7", "g2", "g9", "g4", "g3", "g6"]
    );
    assert_eq!(s.test, vec![9, 11]);
    assert_eq!(s.train, vec![1, 6, 0, 8, 2, 10, 5, 3, 4, 12, 7]);
}

fn sample(id: &str, group: Option<&str>) -> RawSample {
    RawSample {
        id: id.into(),
        group: group.map(Into::into),
        image: vec![0.0],
        channels: 1,
        height: 1,
        width: 1,
        masks: vec![vec![0]],
    }
}

#[test]
fn official_split_moves_samples_into_train_and_val() {
    let samples = (0..12)
        .map(|i| sample(&format!("s{i}"), Some(&format!("uid{}", i % 10))))
        .collect();
    let ds = RawDataset {
        source: "data_lidc.pickle".into(),
        format: SourceFormat::KnegtPickle,
        image_dtype: None,
        mask_dtype: None,
        samples,
    };
    let (train, val) = official_lidc_split(ds.clone()).unwrap();
    assert_eq!(
        val.samples
            .iter()
            .map(|s| s.id.as_str())
            .collect::<Vec<_>>(),
        ["s8"]
    );
    assert_eq!(train.len(), 11);
    assert_eq!(&train.samples[0].id, "s1");
    assert_eq!(&train.samples[1].id, "s11");
    assert_eq!(train.format, SourceFormat::OfficialPickle);
    let mut no_uid = ds;
    no_uid.samples[3].group = None;
    assert_eq!(
        official_lidc_split(no_uid).unwrap_err(),
        SplitError::MissingGroup {
            index: 3,
            id: "s3".into()
        }
    );
}
