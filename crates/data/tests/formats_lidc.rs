//! LIDC-style pickle readers: the real QUBIQ brain-growth file, both layouts written by the
//! test pickle writer, and error messages naming file, sample and field.
// Test helpers outside `#[test]` functions unwrap fixture data on purpose.
#![allow(clippy::unwrap_used)]

mod formats_support;

use fmseg_data::formats::lidc_pickle::{lidc_from_bytes, read_lidc_pickle};
use fmseg_data::formats::pickle::DType;
use fmseg_data::formats::{LidcPickleError, SourceFormat};
use formats_support::{Arr, Opts, Val, dumps, fixtures, shared_file};

#[test]
fn real_brain_growth_pickle() {
    let Some(path) = shared_file("real-samples/qubiq-brain-growth-pickle/brain_growth_alpha.pkl")
    else {
        return;
    };
    let ds = read_lidc_pickle(&path).unwrap();
    assert_eq!(ds.format, SourceFormat::KnegtPickle);
    assert_eq!(ds.len(), 39);
    assert_eq!(ds.num_raters(), Some(7));
    assert_eq!(ds.shape(), Some((1, 128, 128)));
    assert_eq!(ds.image_dtype, Some(DType::U8));
    assert_eq!(ds.mask_dtype, Some(DType::U8));
    let s = &ds.samples[0];
    assert_eq!(s.id, "case01");
    assert_eq!(s.group.as_deref(), Some("case01"));
    assert_eq!(
        s.foreground_counts(),
        vec![2593, 2527, 2440, 2188, 2517, 2622, 2608]
    );
    let case30 = ds.sample("case30").unwrap();
    assert_eq!(
        case30.foreground_counts(),
        vec![3254, 2802, 2691, 2270, 3235, 3028, 3959]
    );
    for (i, s) in ds.samples.iter().enumerate() {
        assert_eq!(s.id, format!("case{:02}", i + 1));
        assert_eq!(s.group.as_deref(), Some(s.id.as_str()));
        assert!(s.image.iter().all(|&v| (0.0..=1.0).contains(&v)));
        assert!(s.image.iter().any(|&v| v > 0.0));
    }
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

#[test]
fn golden_knegt_and_official_layouts() {
    for prefix in ["np1_", "np2_"] {
        let exp: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(fixtures().join(format!("pickle/{prefix}expected.json")))
                .unwrap(),
        )
        .unwrap();
        let knegt = exp["knegt"].as_object().unwrap();
        let k = read_lidc_pickle(&fixtures().join(format!("pickle/{prefix}knegt_p4.pkl"))).unwrap();
        let o = read_lidc_pickle(&fixtures().join(format!("pickle/{prefix}official_train_p5.pkl")))
            .unwrap();
        assert_eq!(k.format, SourceFormat::KnegtPickle);
        assert_eq!(o.format, SourceFormat::OfficialPickle);
        assert_eq!((k.len(), o.len()), (3, 3));
        assert_eq!(
            (k.image_dtype, k.mask_dtype),
            (Some(DType::F32), Some(DType::U8))
        );
        assert_eq!(k.shape(), Some((1, 8, 8)));
        assert_eq!(o.num_raters(), Some(4));
        // json keys are sorted; the pickle keeps insertion order
        let keys: Vec<&str> = k.samples.iter().map(|s| s.id.as_str()).collect();
        assert_eq!(keys, ["100_slice0", "200_slice1", "100_slice2"]);
        for (i, s) in k.samples.iter().enumerate() {
            let e = &knegt[&s.id];
            assert_eq!(s.group.as_deref(), e["series_uid"].as_str());
            let img: Vec<u8> = s.image.iter().flat_map(|x| x.to_le_bytes()).collect();
            assert_eq!(img, hex(e["image_le_hex"].as_str().unwrap()), "{}", s.id);
            let sums: Vec<usize> = e["mask_sums"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| x.as_u64().unwrap() as usize)
                .collect();
            assert_eq!(s.foreground_counts(), sums);
            let os = &o.samples[i];
            assert_eq!(
                (os.id.as_str(), os.group.as_deref()),
                (i.to_string().as_str(), None)
            );
            assert_eq!((&os.image, &os.masks), (&s.image, &s.masks));
        }
    }
}

fn arr(code: &'static str, itemsize: usize, shape: &[usize], le_c: Vec<u8>) -> Arr {
    Arr {
        code,
        itemsize,
        big: false,
        fortran: false,
        shape: shape.to_vec(),
        le_c,
    }
}

fn s(x: &str) -> Val {
    Val::Str(x.into())
}

fn knegt_sample(image: Arr, masks: Vec<Arr>, uid: &str) -> Val {
    Val::Dict(vec![
        (s("image"), Val::Array(image)),
        (
            s("masks"),
            Val::List(masks.into_iter().map(Val::Array).collect()),
        ),
        (s("series_uid"), s(uid)),
        (s("alpha"), Val::Array(arr("u1", 1, &[1], vec![9]))),
    ])
}

#[test]
fn knegt_dtypes_and_thresholds() {
    // f8 image, masks as f4 / b1 / u1 {0,255} / i8
    let img = arr(
        "f8",
        8,
        &[2, 2],
        [0.0f64, 0.25, 0.5, 1.0]
            .iter()
            .flat_map(|x| x.to_le_bytes())
            .collect(),
    );
    let f4 = arr(
        "f4",
        4,
        &[2, 2],
        [0.5f32, 0.51, f32::NAN, 1.0]
            .iter()
            .flat_map(|x| x.to_le_bytes())
            .collect(),
    );
    let b1 = arr("b1", 1, &[2, 2], vec![1, 0, 0, 1]);
    let u1 = arr("u1", 1, &[2, 2], vec![0, 255, 1, 0]);
    let i8 = arr(
        "i8",
        8,
        &[2, 2],
        [-1i64, 0, 1, 2]
            .iter()
            .flat_map(|x| x.to_le_bytes())
            .collect(),
    );
    let v = Val::Dict(vec![(
        s("k0"),
        knegt_sample(img, vec![f4, b1, u1, i8], "uid-a"),
    )]);
    for protocol in 2..=5 {
        let bytes = dumps(
            &v,
            &Opts {
                protocol,
                np2: protocol % 2 == 0,
                int_args: protocol == 2,
            },
        );
        let ds = lidc_from_bytes("data_lidc.pickle", &bytes).unwrap();
        let smp = &ds.samples[0];
        assert_eq!(
            (smp.id.as_str(), smp.group.as_deref()),
            ("k0", Some("uid-a"))
        );
        assert_eq!(smp.image, vec![0.0, 0.25, 0.5, 1.0]);
        assert_eq!(
            smp.masks,
            vec![
                vec![0, 1, 0, 1],
                vec![1, 0, 0, 1],
                vec![0, 1, 1, 0],
                vec![0, 0, 1, 1]
            ]
        );
        assert_eq!(
            (ds.image_dtype, ds.mask_dtype),
            (Some(DType::F64), Some(DType::F32))
        );
    }
}

fn u1(shape: &[usize]) -> Arr {
    arr("u1", 1, shape, vec![0; shape.iter().product()])
}

fn field_error(v: &Val, file: &str) -> (LidcPickleError, String) {
    let e = lidc_from_bytes(
        file,
        &dumps(
            v,
            &Opts {
                protocol: 4,
                np2: false,
                int_args: true,
            },
        ),
    )
    .unwrap_err();
    let msg = e.to_string();
    (e, msg)
}

#[test]
fn errors_name_file_sample_and_field() {
    let mut masks: Vec<Arr> = (0..7).map(|_| u1(&[128, 128])).collect();
    masks[3] = u1(&[64, 64]);
    let v = Val::Dict(vec![
        (
            s("case06"),
            knegt_sample(u1(&[128, 128]), vec![u1(&[128, 128])], "case06"),
        ),
        (s("case07"), knegt_sample(u1(&[128, 128]), masks, "case07")),
    ]);
    let (e, msg) = field_error(&v, "brain_growth_alpha.pkl");
    assert_eq!(
        msg,
        "brain_growth_alpha.pkl: sample 'case07': field 'masks'[3]: shape (64,64) differs from image (128,128)"
    );
    assert!(matches!(e, LidcPickleError::Field { .. }));

    let not_dict = Val::Dict(vec![(s("x"), Val::List(vec![]))]);
    assert_eq!(
        field_error(&not_dict, "f.pkl").1,
        "f.pkl: sample 'x': field (value): has type list, expected dict"
    );
    let no_image = Val::Dict(vec![(
        s("x"),
        Val::Dict(vec![(s("masks"), Val::List(vec![]))]),
    )]);
    assert_eq!(
        field_error(&no_image, "f.pkl").1,
        "f.pkl: sample 'x': field 'image': missing"
    );
    let bad_uid = Val::Dict(vec![(
        s("x"),
        Val::Dict(vec![(s("series_uid"), Val::Int(3))]),
    )]);
    assert_eq!(
        field_error(&bad_uid, "f.pkl").1,
        "f.pkl: sample 'x': field 'series_uid': has type int, expected str"
    );
    let three_d = Val::Dict(vec![(
        s("x"),
        knegt_sample(u1(&[1, 4, 4]), vec![u1(&[1, 4, 4])], "u"),
    )]);
    assert_eq!(
        field_error(&three_d, "f.pkl").1,
        "f.pkl: sample 'x': field 'image': shape (1,4,4) is not 2-D"
    );
    let no_masks = Val::Dict(vec![(s("x"), knegt_sample(u1(&[4, 4]), vec![], "u"))]);
    assert_eq!(
        field_error(&no_masks, "f.pkl").1,
        "f.pkl: sample 'x': field 'masks': holds no masks"
    );

    let official = |images: Vec<Val>, masks: Vec<Val>| {
        Val::Dict(vec![
            (s("images"), Val::List(images)),
            (s("masks"), Val::List(masks)),
        ])
    };
    let ok = Val::List(vec![Val::Array(u1(&[4, 4]))]);
    let bad = official(
        vec![Val::Array(u1(&[4, 4])), Val::Array(u1(&[4, 4]))],
        vec![
            ok.clone(),
            Val::List(vec![Val::Array(u1(&[4, 4])), Val::Str("?".into())]),
        ],
    );
    assert_eq!(
        field_error(&bad, "Train.pickle").1,
        "Train.pickle: sample 1: field 'masks'[1][1]: has type str, expected ndarray"
    );
    let short = official(vec![Val::Array(u1(&[4, 4]))], vec![]);
    assert!(matches!(
        field_error(&short, "Val.pickle").0,
        LidcPickleError::Layout { .. }
    ));
    let top = Val::List(vec![]);
    assert!(matches!(
        field_error(&top, "x.pickle").0,
        LidcPickleError::Layout { .. }
    ));
    let e = lidc_from_bytes("x.pickle", b"\x80\x02cos\nsystem\n.")
        .unwrap_err()
        .to_string();
    assert_eq!(
        e,
        "x.pickle: byte 2: global 'os.system' is not allowed (refused, nothing was executed)"
    );
    let e = read_lidc_pickle(&fixtures().join("pickle/absent.pkl")).unwrap_err();
    assert!(matches!(e, LidcPickleError::Io { .. }));
}
