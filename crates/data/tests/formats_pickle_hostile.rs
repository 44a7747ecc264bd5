//! The safe pickle reader on hostile input: forbidden globals, malformed streams, bad
//! arrays, every truncation of the golden files, random mutations and opcode soup.
// Test helpers outside `#[test]` functions unwrap fixture data on purpose.
#![allow(clippy::unwrap_used)]

mod formats_support;

use std::collections::BTreeMap;

use fmseg_data::formats::pickle::{self, PickleError};
use formats_support::{Arr, Opts, Val, dumps, fixtures, shared_file};
use proptest::prelude::*;

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn fragment_soup_never_panics(picks in prop::collection::vec(0..FRAGMENTS.len(), 0..60)) {
        let mut data = vec![0x80, 2];
        picks.iter().for_each(|&i| data.extend(FRAGMENTS[i]));
        data.push(b'.');
        let _ = pickle::from_bytes(&data);
    }

    #[test]
    fn mutated_golden_files_never_panic(pos in any::<prop::sample::Index>(), byte in any::<u8>(), which in 0usize..8) {
        let names = ["np1_arrays_p2", "np1_arrays_p3", "np1_arrays_p4", "np1_arrays_p5", "np2_arrays_p2", "np2_arrays_p4", "np2_knegt_p4", "np2_official_train_p5"];
        let mut data = std::fs::read(fixtures().join(format!("pickle/{}.pkl", names[which]))).unwrap();
        let i = pos.index(data.len());
        data[i] = byte;
        let _ = pickle::from_bytes(&data);
    }

    #[test]
    fn opcode_soup_never_panics(ops in prop::collection::vec(prop::sample::select(SOUP.to_vec()), 0..40), args in prop::collection::vec(any::<u8>(), 0..40)) {
        // interleave opcode bytes with random argument bytes
        let mut data = vec![0x80, 4];
        for (i, op) in ops.iter().enumerate() {
            data.push(*op);
            if let Some(&a) = args.get(i) { data.push(a % 4); }
        }
        data.push(b'.');
        let _ = pickle::from_bytes(&data);
    }
}

/// Pickle fragments that reach REDUCE / BUILD / BINPERSID with whitelisted globals, mixed by
/// `fragment_soup_never_panics`.
const FRAGMENTS: [&[u8]; 44] = [
    b"cnumpy\ndtype\n",
    b"cnumpy.core.multiarray\n_reconstruct\n",
    b"cnumpy\nndarray\n",
    b"cnumpy._core.numeric\n_frombuffer\n",
    b"c_codecs\nencode\n",
    b"c__builtin__\nbytes\n",
    b"ccollections\nOrderedDict\n",
    b"ctorch._utils\n_rebuild_tensor_v2\n",
    b"ctorch._utils\n_rebuild_parameter\n",
    b"ctorch\nFloatStorage\n",
    b"X\x02\x00\x00\x00f4",
    b"X\x02\x00\x00\x00u1",
    b"X\x01\x00\x00\x00<",
    b"X\x01\x00\x00\x00>",
    b"C\x04abcd",
    b"C\x00",
    b"K\x00",
    b"K\x01",
    b"K\x02",
    b"J\xff\xff\xff\xff",
    b")",
    b"(",
    b"t",
    b"R",
    b"b",
    b"Q",
    b"\x85",
    b"\x86",
    b"\x87",
    b"\x88",
    b"\x89",
    b"N",
    b"h\x00",
    b"h\x01",
    b"q\x00",
    b"q\x01",
    b"\x94",
    b"]",
    b"}",
    b"a",
    b"s",
    b"X\x07\x00\x00\x00storage",
    b"X\x01\x00\x00\x00F",
    b"\x96\x04\x00\x00\x00\x00\x00\x00\x00abcd",
];

/// Opcodes (and argument-ish bytes) mixed by `opcode_soup_never_panics`.
const SOUP: [u8; 40] = [
    b'(', b'.', b'0', b'1', b'2', b'J', b'K', b'M', b'N', b'Q', b'R', b'U', b'X', b'C', b'a', b'b',
    b'c', b'd', b'}', b'e', b'h', b'l', b']', b'q', b's', b't', b')', b'u', 0x85, 0x86, 0x87, 0x88,
    0x89, 0x8a, 0x8c, 0x93, 0x94, 0x95, 0x96, b'\n',
];

fn forbidden(bytes: &[u8]) -> (String, String, u64) {
    match pickle::from_bytes(bytes) {
        Err(PickleError::ForbiddenGlobal {
            module,
            name,
            offset,
        }) => (module, name, offset),
        other => panic!("expected a refusal, got {other:?}"),
    }
}

#[test]
fn malicious_globals_are_refused_by_name() {
    // CPython 3.11 `pickle.dumps(A(), protocol=2)` where `A.__reduce__` returns
    // `(os.system, ('echo pwned',))` (os.system pickles as posix.system on Linux)
    let os_system = b"\x80\x02cposix\nsystem\nq\x00X\n\x00\x00\x00echo pwnedq\x01\x85q\x02Rq\x03.";
    assert_eq!(forbidden(os_system), ("posix".into(), "system".into(), 2));
    // the same for `(builtins.eval, ('1+1',))`, protocol 4 and 5: STACK_GLOBAL at byte 29
    let eval4 = b"\x80\x04\x95\x1f\x00\x00\x00\x00\x00\x00\x00\x8c\x08builtins\x94\x8c\x04eval\x94\x93\x94\x8c\x031+1\x94\x85\x94R\x94.";
    let mut eval5 = eval4.to_vec();
    eval5[1] = 5;
    for eval in [eval4.as_slice(), &eval5] {
        assert_eq!(forbidden(eval), ("builtins".into(), "eval".into(), 29));
        let err = pickle::from_bytes(eval).unwrap_err().to_string();
        assert!(
            err.contains("'builtins.eval'") && err.contains("byte 29"),
            "{err}"
        );
    }
    for (module, name) in [
        ("os", "system"),
        ("nt", "system"),
        ("subprocess", "Popen"),
        ("numpy", "load"),
        ("torch", "load"),
        ("__builtin__", "getattr"),
        ("numpy.core.multiarray", "scalar"),
    ] {
        let bytes = format!("\u{80}\u{2}c{module}\n{name}\n)R.");
        let bytes: Vec<u8> = bytes.chars().map(|c| c as u8).collect();
        assert_eq!(forbidden(&bytes), (module.to_string(), name.to_string(), 2));
    }
}

fn err(bytes: &[u8]) -> PickleError {
    pickle::from_bytes(bytes).unwrap_err()
}

#[test]
fn malformed_streams_give_typed_errors() {
    assert!(matches!(
        err(b"\x80\x02\xff."),
        PickleError::UnknownOpcode {
            opcode: 0xff,
            offset: 2
        }
    ));
    assert!(matches!(
        err(b"\x80\x02\x81."),
        PickleError::UnsupportedOpcode { name: "NEWOBJ", .. }
    ));
    assert!(matches!(
        err(b"\x80\x06N."),
        PickleError::UnsupportedProtocol { protocol: 6, .. }
    ));
    assert!(matches!(
        err(b"\x80\x02t."),
        PickleError::MissingMark {
            opcode: "TUPLE",
            ..
        }
    ));
    assert!(matches!(
        err(b"\x80\x02Na."),
        PickleError::StackUnderflow {
            opcode: "APPEND",
            ..
        }
    ));
    assert!(matches!(
        err(b"\x80\x02(."),
        PickleError::StackUnderflow { opcode: "STOP", .. }
    ));
    assert!(matches!(
        err(b"\x80\x02h\x05."),
        PickleError::MemoMiss {
            index: 5,
            offset: 2
        }
    ));
    let bomb = [
        b"\x80\x04\x8e".as_slice(),
        &(1u64 << 62).to_le_bytes(),
        b".",
    ]
    .concat();
    assert!(matches!(err(&bomb), PickleError::LengthTooLarge { length, .. } if length == 1 << 62));
    let frame = [b"\x80\x04\x95".as_slice(), &u64::MAX.to_le_bytes()].concat();
    assert!(matches!(
        err(&frame),
        PickleError::LengthTooLarge { what: "FRAME", .. }
    ));
    assert!(matches!(err(b"\x80\x02N"), PickleError::Truncated { .. }));
    assert!(matches!(
        err(b"\x80\x02X\x02\x00\x00\x00\xff\xfe."),
        PickleError::InvalidText { .. }
    ));
    // a list appended to itself
    assert!(matches!(err(b"\x80\x02]q\x00h\x00a."), PickleError::Cycle));
    // 10 000 nested lists
    let deep = [
        b"\x80\x02".to_vec(),
        b"]".repeat(10_000),
        b"a".repeat(9_999),
        b".".to_vec(),
    ]
    .concat();
    assert!(matches!(err(&deep), PickleError::TooDeep { .. }));
    // 9-byte LONG1 beyond i64, unhashable key, BUILD on an int
    assert!(matches!(
        err(b"\x80\x02\x8a\x09\x00\x00\x00\x00\x00\x00\x00\x00\x01."),
        PickleError::Invalid { .. }
    ));
    assert!(matches!(
        err(b"\x80\x02}]Ns."),
        PickleError::Invalid {
            opcode: "SETITEM",
            ..
        }
    ));
    assert!(matches!(
        err(b"\x80\x02K\x01Nb."),
        PickleError::Invalid {
            opcode: "BUILD",
            ..
        }
    ));
    // REDUCE on something that is not a global
    assert!(matches!(
        err(b"\x80\x02N)R."),
        PickleError::Invalid {
            opcode: "REDUCE",
            ..
        }
    ));
}

#[test]
fn bad_arrays_give_typed_errors() {
    let a = Arr {
        code: "f4",
        itemsize: 4,
        big: false,
        fortran: false,
        shape: vec![2, 2],
        le_c: vec![0; 16],
    };
    for protocol in [2, 4, 5] {
        let mut bytes = dumps(
            &Val::Array(a.clone()),
            &Opts {
                protocol,
                np2: true,
                int_args: false,
            },
        );
        // turn the dtype code into an unsupported one
        let at = bytes.windows(2).position(|w| w == b"f4").unwrap();
        bytes[at] = b'O';
        assert!(
            matches!(
                pickle::from_bytes(&bytes),
                Err(PickleError::BadArray { .. })
            ),
            "protocol {protocol}"
        );
    }
    // shape says 3 elements but the buffer holds 4
    let mut b = a.clone();
    b.shape = vec![3];
    b.le_c.truncate(12);
    let mut bytes = dumps(
        &Val::Array(b),
        &Opts {
            protocol: 3,
            np2: true,
            int_args: false,
        },
    );
    let at = bytes.windows(2).position(|w| w == [b'C', 12]).unwrap();
    bytes[at + 1] = 11;
    bytes.remove(at + 2);
    let e = pickle::from_bytes(&bytes).unwrap_err();
    assert!(matches!(e, PickleError::BadArray { .. }), "{e}");
}

#[test]
fn every_truncation_of_every_golden_file_is_an_error() {
    let mut names: BTreeMap<String, Vec<u8>> = BTreeMap::new();
    for entry in std::fs::read_dir(fixtures().join("pickle")).unwrap() {
        let p = entry.unwrap().path();
        if p.extension().is_some_and(|e| e == "pkl") {
            names.insert(p.display().to_string(), std::fs::read(&p).unwrap());
        }
    }
    assert!(names.len() >= 12);
    for (name, data) in names {
        assert!(pickle::from_bytes(&data).is_ok(), "{name}");
        for cut in 0..data.len() {
            assert!(
                pickle::from_bytes(&data[..cut]).is_err(),
                "{name} cut at {cut}"
            );
        }
    }
}

#[test]
fn truncations_of_the_real_file_are_errors() {
    let Some(p) = shared_file("real-samples/qubiq-brain-growth-pickle/brain_growth_alpha.pkl")
    else {
        return;
    };
    let data = std::fs::read(p).unwrap();
    let cuts = (0..512)
        .chain((0..200).map(|i| i * data.len() / 200))
        .chain(data.len() - 64..data.len());
    for cut in cuts {
        assert!(pickle::from_bytes(&data[..cut]).is_err(), "cut at {cut}");
    }
}

/// A list of `n` memo references to memo slot `slot`, memoized as `slot + 1` (protocol 2).
fn list_of_refs(data: &mut Vec<u8>, slot: u8, n: usize) {
    data.extend_from_slice(b"](");
    for _ in 0..n {
        data.extend_from_slice(&[b'h', slot]);
    }
    data.extend_from_slice(&[b'e', b'q', slot + 1]);
}

#[test]
fn repeated_memo_references_cannot_blow_up_the_tree() {
    // [[[1]*1000]*1000]*1000 as shared references: a 6 KB pickle whose tree has 10^9 nodes
    let mut data = vec![0x80, 2, b']', b'('];
    for _ in 0..1000 {
        data.extend_from_slice(b"K\x01");
    }
    data.extend_from_slice(b"eq\x00");
    list_of_refs(&mut data, 0, 1000);
    list_of_refs(&mut data, 1, 1000);
    data.push(b'.');
    let e = err(&data);
    assert!(matches!(e, PickleError::TooLarge { .. }), "{e}");
    assert!(e.to_string().contains("memo references"), "{e}");

    // modest sharing (the same list ten times) still decodes, as Python would
    let mut data = vec![0x80, 2, b']', b'(', b'K', 7, b'e', b'q', 0];
    list_of_refs(&mut data, 0, 10);
    data.push(b'.');
    let v = pickle::from_bytes(&data).unwrap();
    let pickle::PyValue::List(items) = v else {
        panic!("{v:?}")
    };
    assert_eq!(items.len(), 10);
    assert!(
        items
            .iter()
            .all(|i| *i == pickle::PyValue::List(vec![pickle::PyValue::Int(7)]))
    );
}
