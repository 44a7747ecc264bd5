//! The safe pickle reader on valid input: golden files written by real numpy 1.26 / 2.4
//! (protocols 2-5) and round-trip properties against the test writer.
// Test helpers outside `#[test]` functions unwrap fixture data on purpose.
#![allow(clippy::unwrap_used)]

mod formats_support;

use fmseg_data::formats::pickle::{self, ArrayData, PyValue};
use formats_support::{Arr, Opts, Val, assert_matches, dumps, fixtures, le_bytes};
use proptest::prelude::*;

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

fn golden(prefix: &str) -> serde_json::Value {
    let p = fixtures().join(format!("pickle/{prefix}expected.json"));
    serde_json::from_str(&std::fs::read_to_string(p).unwrap()).unwrap()
}

#[test]
fn golden_numpy_arrays_all_protocols() {
    for prefix in ["np1_", "np2_"] {
        let exp = golden(prefix);
        let arrays = exp["arrays"].as_object().unwrap();
        for proto in 2..=5 {
            let name = format!("pickle/{prefix}arrays_p{proto}.pkl");
            let v = pickle::from_file(&fixtures().join(&name)).unwrap();
            assert_eq!(v.as_dict().unwrap().len(), arrays.len(), "{name}");
            for (key, e) in arrays {
                let a = v
                    .get(key)
                    .and_then(PyValue::as_array)
                    .unwrap_or_else(|| panic!("{name}: {key}"));
                assert_eq!(
                    a.dtype().numpy_code(),
                    e["dtype"].as_str().unwrap(),
                    "{name}: {key}"
                );
                let shape: Vec<usize> = e["shape"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|d| d.as_u64().unwrap() as usize)
                    .collect();
                assert_eq!(a.shape(), &shape[..], "{name}: {key}");
                assert_eq!(
                    le_bytes(a.data()),
                    hex(e["le_hex"].as_str().unwrap()),
                    "{name}: {key}"
                );
            }
        }
    }
}

#[test]
fn golden_values_are_what_numpy_wrote() {
    let v = pickle::from_file(&fixtures().join("pickle/np2_arrays_p2.pkl")).unwrap();
    let a = v.get("i4_big_2x2").and_then(PyValue::as_array).unwrap();
    assert_eq!(a.data(), &ArrayData::I32(vec![1, -2, 70000, i32::MIN]));
    let f = v
        .get("f4_fortran_big_2x3x2")
        .and_then(PyValue::as_array)
        .unwrap();
    assert_eq!(
        f.to_f32_vec(),
        (0..12).map(|x| x as f32).collect::<Vec<_>>()
    );
    let h = v.get("f2_4").and_then(PyValue::as_array).unwrap();
    let h = h.to_f32_vec();
    assert_eq!(&h[..3], &[0.5, -2.0, 65504.0]);
    assert!((h[3] - 6e-8).abs() < 1e-9);
}

fn dtype_strategy() -> impl Strategy<Value = (&'static str, usize)> {
    prop::sample::select(vec![
        ("b1", 1),
        ("u1", 1),
        ("i1", 1),
        ("u2", 2),
        ("i2", 2),
        ("u4", 4),
        ("i4", 4),
        ("u8", 8),
        ("i8", 8),
        ("f2", 2),
        ("f4", 4),
        ("f8", 8),
    ])
}

fn arr_strategy() -> impl Strategy<Value = Arr> {
    (
        dtype_strategy(),
        prop::collection::vec(0usize..5, 0..4),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_flat_map(|((code, itemsize), shape, big, fortran)| {
            let n: usize = shape.iter().product();
            let hi = if code == "b1" { 1u8 } else { u8::MAX };
            prop::collection::vec(0..=hi, n * itemsize).prop_map(move |le_c| Arr {
                code,
                itemsize,
                big,
                fortran,
                shape: shape.clone(),
                le_c,
            })
        })
}

fn opts_strategy() -> impl Strategy<Value = Opts> {
    (2u8..=5, any::<bool>(), any::<bool>()).prop_map(|(protocol, np2, int_args)| Opts {
        protocol,
        np2,
        int_args,
    })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn arrays_round_trip_bit_identical(arrs in prop::collection::vec(arr_strategy(), 1..5), o in opts_strategy()) {
        // a dict of arrays plus the same arrays in a list: dtype objects get re-used via the memo
        let dict = Val::Dict(arrs.iter().enumerate().map(|(i, a)| (Val::Str(format!("a{i}")), Val::Array(a.clone()))).collect());
        let v = Val::List(vec![dict, Val::Tuple(arrs.into_iter().map(Val::Array).collect())]);
        let bytes = dumps(&v, &o);
        let decoded = pickle::from_bytes(&bytes).unwrap();
        assert_matches(&decoded, &v);
    }

    #[test]
    fn plain_values_round_trip(ints in prop::collection::vec(any::<i64>(), 0..20), f in any::<f64>(), s in ".{0,300}", b in prop::collection::vec(any::<u8>(), 0..300), o in opts_strategy()) {
        let v = Val::Dict(vec![
            (Val::Str("ints".into()), Val::List(ints.into_iter().map(Val::Int).collect())),
            (Val::Str(s.clone()), Val::Tuple(vec![Val::Float(f), Val::None, Val::Bool(true), Val::Bool(false)])),
            (Val::Int(7), Val::Bytes(b)),
        ]);
        assert_matches(&pickle::from_bytes(&dumps(&v, &o)).unwrap(), &v);
    }

}

#[test]
fn dtype_objects_are_reused_through_the_memo() {
    let a = Arr {
        code: "f4",
        itemsize: 4,
        big: false,
        fortran: false,
        shape: vec![2],
        le_c: vec![0; 8],
    };
    let v = Val::List(vec![
        Val::Array(a.clone()),
        Val::Array(a.clone()),
        Val::Array(a),
    ]);
    for protocol in 2..=5 {
        let bytes = dumps(
            &v,
            &Opts {
                protocol,
                np2: false,
                int_args: true,
            },
        );
        let count = bytes.windows(2).filter(|w| w == b"f4").count();
        assert_eq!(count, 1, "protocol {protocol}: dtype written once");
        assert_matches(&pickle::from_bytes(&bytes).unwrap(), &v);
    }
}

#[test]
fn fortran_big_endian_values() {
    // [[1, 2, 3], [4, 5, 6]] as >i2, stored Fortran: 1 4 2 5 3 6
    let le_c: Vec<u8> = (1i16..=6).flat_map(|x| x.to_le_bytes()).collect();
    let a = Arr {
        code: "i2",
        itemsize: 2,
        big: true,
        fortran: true,
        shape: vec![2, 3],
        le_c,
    };
    assert_eq!(a.stored_bytes(), vec![0, 1, 0, 4, 0, 2, 0, 5, 0, 3, 0, 6]);
    for protocol in 2..=5 {
        let v = pickle::from_bytes(&dumps(
            &Val::Array(a.clone()),
            &Opts {
                protocol,
                np2: true,
                int_args: false,
            },
        ))
        .unwrap();
        assert_eq!(
            v.as_array().unwrap().data(),
            &ArrayData::I16(vec![1, 2, 3, 4, 5, 6])
        );
    }
}

#[test]
fn python_semantics_of_small_values() {
    // LONG1 sign handling, BINSTRING as latin-1 text, duplicate dict keys keep the first slot
    let v = pickle::from_bytes(b"\x80\x02(\x8a\x01\xff\x8a\x02\x00\x80\x8a\x00U\x02\xe9at\x85.")
        .unwrap();
    let t = v.as_list().unwrap()[0].as_list().unwrap();
    assert_eq!(t[0], PyValue::Int(-1));
    assert_eq!(t[1], PyValue::Int(-32768));
    assert_eq!(t[2], PyValue::Int(0));
    assert_eq!(t[3], PyValue::Str("\u{e9}a".into()));
    let d = pickle::from_bytes(b"\x80\x02}(K\x01K\x02\x88K\x03K\x02K\x04u.").unwrap();
    assert_eq!(
        d,
        PyValue::Dict(vec![
            (PyValue::Int(1), PyValue::Int(3)),
            (PyValue::Int(2), PyValue::Int(4))
        ])
    );
}

#[test]
fn python2_style_array() {
    // what numpy 1.x under Python 2 wrote with protocol 2: BINSTRING for the type code, the
    // `'b'` argument and the raw data, ints for the dtype flags
    let bytes = b"\x80\x02cnumpy.core.multiarray\n_reconstruct\nq\x01cnumpy\nndarray\nq\x02K\x00\x85U\x01b\x87Rq\x03(K\x01K\x02\x85cnumpy\ndtype\nU\x02u1K\x00K\x01\x87R(K\x03U\x01|NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tb\x89U\x02\x05\x06tb.";
    let v = pickle::from_bytes(bytes).unwrap();
    assert_eq!(v.as_array().unwrap().data(), &ArrayData::U8(vec![5, 6]));
}
