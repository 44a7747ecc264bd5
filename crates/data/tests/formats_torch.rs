//! `torch.save` zip archives: the real U-Net parity weights against their safetensors twin,
//! and small archives assembled here (views, dtypes, hostile or compressed archives).
// Test helpers outside `#[test]` functions unwrap fixture data on purpose.
#![allow(clippy::unwrap_used)]

mod formats_support;

use fmseg_data::formats::pickle::{ArrayData, PickleError};
use fmseg_data::formats::torch_pt::{PtArchive, TorchPtError, read_state_dict};
use formats_support::shared_file;

/// `(name -> (dtype, shape, bytes))` of a safetensors file, in header order.
fn safetensors(data: &[u8]) -> Vec<(String, String, Vec<usize>, Vec<u8>)> {
    let n = u64::from_le_bytes(data[..8].try_into().unwrap()) as usize;
    let header: serde_json::Value = serde_json::from_slice(&data[8..8 + n]).unwrap();
    let body = &data[8 + n..];
    let mut out = Vec::new();
    for (k, v) in header.as_object().unwrap() {
        if k == "__metadata__" {
            continue;
        }
        let off: Vec<usize> = v["data_offsets"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_u64().unwrap() as usize)
            .collect();
        let shape = v["shape"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_u64().unwrap() as usize)
            .collect();
        out.push((
            k.clone(),
            v["dtype"].as_str().unwrap().to_string(),
            shape,
            body[off[0]..off[1]].to_vec(),
        ));
    }
    out
}

#[test]
fn real_weights_match_safetensors() {
    for fixture in ["tiny", "paper-shape"] {
        let Some(pt) = shared_file(&format!("parity/unet/{fixture}/weights.pt")) else {
            return;
        };
        let st = std::fs::read(pt.with_file_name("weights.safetensors")).unwrap();
        let config: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(pt.with_file_name("config.json")).unwrap(),
        )
        .unwrap();
        let sd = read_state_dict(&pt).unwrap();
        let order: Vec<&str> = config["state_dict"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e[0].as_str().unwrap())
            .collect();
        assert_eq!(
            sd.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
            order,
            "{fixture}: module order"
        );
        let params: usize = sd.iter().map(|(_, a)| a.len()).sum();
        assert_eq!(
            params as u64,
            config["param_count"].as_u64().unwrap(),
            "{fixture}"
        );
        let reference = safetensors(&st);
        assert_eq!(reference.len(), sd.len());
        for (name, dtype, shape, bytes) in reference {
            let (_, a) = sd.iter().find(|(k, _)| *k == name).unwrap();
            assert_eq!(dtype, "F32");
            assert_eq!(a.shape(), &shape[..], "{name}");
            let got: Vec<u8> = a
                .as_f32()
                .unwrap()
                .iter()
                .flat_map(|x| x.to_le_bytes())
                .collect();
            assert_eq!(got, bytes, "{fixture}: {name}");
        }
    }
}

/// A stored zip archive (CRC left 0: the reader does not check it).
fn zip(records: &[(&str, &[u8])], method: u16) -> Vec<u8> {
    let (mut out, mut cd) = (Vec::new(), Vec::new());
    for (name, data) in records {
        let offset = out.len() as u32;
        let common = |v: &mut Vec<u8>| {
            v.extend(20u16.to_le_bytes());
            v.extend(0u16.to_le_bytes());
            v.extend(method.to_le_bytes());
            v.extend([0; 8]); // time, date, crc
            v.extend((data.len() as u32).to_le_bytes());
            v.extend((data.len() as u32).to_le_bytes());
            v.extend((name.len() as u16).to_le_bytes());
            v.extend(0u16.to_le_bytes());
        };
        out.extend(0x0403_4b50u32.to_le_bytes());
        common(&mut out);
        out.extend(name.as_bytes());
        out.extend(*data);
        cd.extend(0x0201_4b50u32.to_le_bytes());
        cd.extend(20u16.to_le_bytes());
        common(&mut cd);
        cd.extend([0; 8]); // comment len, disk, internal attr, external attr (part)
        cd.extend([0; 2]);
        cd.extend(offset.to_le_bytes());
        cd.extend(name.as_bytes());
    }
    let cd_off = out.len() as u32;
    out.extend(&cd);
    out.extend(0x0605_4b50u32.to_le_bytes());
    out.extend([0; 4]);
    out.extend((records.len() as u16).to_le_bytes());
    out.extend((records.len() as u16).to_le_bytes());
    out.extend((cd.len() as u32).to_le_bytes());
    out.extend(cd_off.to_le_bytes());
    out.extend([0; 2]);
    out
}

fn text(s: &str) -> Vec<u8> {
    [
        vec![b'X'],
        (s.len() as u32).to_le_bytes().to_vec(),
        s.as_bytes().to_vec(),
    ]
    .concat()
}

/// `(name, storage class, storage key, numel, offset, shape, stride)` of one tensor.
type Spec<'a> = (&'a str, &'a str, &'a str, u8, u8, &'a [u8], &'a [u8]);

/// data.pkl as torch writes it (protocol 2) for `(name, storage class, key, numel, offset,
/// shape, stride)` tensors.
fn data_pkl(tensors: &[Spec]) -> Vec<u8> {
    let mut p = b"\x80\x02ccollections\nOrderedDict\nq\x00)Rq\x01(".to_vec();
    for (name, class, key, numel, offset, shape, stride) in tensors {
        p.extend(text(name));
        p.extend(b"ctorch._utils\n_rebuild_tensor_v2\n((");
        p.extend(text("storage"));
        p.extend(format!("ctorch\n{class}\n").as_bytes());
        p.extend(text(key));
        p.extend(text("cpu"));
        p.extend([b'K', *numel, b't', b'Q', b'K', *offset]);
        for dims in [shape, stride] {
            p.push(b'(');
            dims.iter().for_each(|&d| p.extend([b'K', d]));
            p.push(b't');
        }
        p.extend(b"\x89h\x00)RtR");
    }
    p.extend(b"u.");
    p
}

#[test]
fn synthetic_archive_views_and_dtypes() {
    let f32s: Vec<u8> = (0..8).flat_map(|x| (x as f32).to_le_bytes()).collect();
    let i64s: Vec<u8> = [-5i64, 7].iter().flat_map(|x| x.to_le_bytes()).collect();
    let f16s: Vec<u8> = [0x3c00u16, 0xc000]
        .iter()
        .flat_map(|x| x.to_le_bytes())
        .collect();
    let pkl = data_pkl(&[
        // transposed view of storage 0 with offset 2: shape (3, 2), stride (1, 3)
        ("w.t", "FloatStorage", "0", 8, 2, &[3, 2], &[1, 3]),
        ("steps", "LongStorage", "1", 2, 0, &[2], &[1]),
        ("h", "HalfStorage", "2", 2, 1, &[], &[]),
    ]);
    let bytes = zip(
        &[
            ("m/data.pkl", &pkl),
            ("m/byteorder", b"little"),
            ("m/data/0", &f32s),
            ("m/data/1", &i64s),
            ("m/data/2", &f16s),
        ],
        0,
    );
    let ar = PtArchive::new(&bytes).unwrap();
    assert_eq!(ar.records().len(), 5);
    let sd = ar.state_dict().unwrap();
    assert_eq!(sd[0].1.shape(), &[3, 2]);
    assert_eq!(sd[0].1.as_f32().unwrap(), &[2.0, 5.0, 3.0, 6.0, 4.0, 7.0]);
    assert_eq!(sd[1].1.data(), &ArrayData::I64(vec![-5, 7]));
    assert_eq!(sd[2].1.to_f32_vec(), vec![-2.0]);

    // every truncation fails cleanly
    for cut in 0..bytes.len() {
        assert!(
            PtArchive::new(&bytes[..cut])
                .and_then(|a| a.state_dict())
                .is_err(),
            "cut {cut}"
        );
    }
    // view past its storage, compressed record, missing record, forbidden global
    let past = data_pkl(&[("x", "FloatStorage", "0", 4, 3, &[2], &[1])]);
    let e = PtArchive::new(&zip(&[("m/data.pkl", &past), ("m/data/0", &f32s[..16])], 0))
        .unwrap()
        .state_dict();
    assert!(
        matches!(e, Err(TorchPtError::Pickle(PickleError::BadArray { .. }))),
        "{e:?}"
    );
    assert!(matches!(
        PtArchive::new(&zip(&[("m/data.pkl", &pkl)], 8)),
        Err(TorchPtError::Zip(_))
    ));
    let e = PtArchive::new(&zip(&[("m/data.pkl", &pkl)], 0))
        .unwrap()
        .state_dict();
    assert!(matches!(e, Err(TorchPtError::Layout(m)) if m.contains("data/0")));
    let evil = b"\x80\x02ctorch\nload\n.".to_vec();
    let e = PtArchive::new(&zip(&[("m/data.pkl", &evil)], 0))
        .err()
        .unwrap();
    assert_eq!(
        e.to_string(),
        "data.pkl: byte 2: global 'torch.load' is not allowed (refused, nothing was executed)"
    );
    assert!(matches!(
        PtArchive::new(b"PK not a zip"),
        Err(TorchPtError::Zip(_))
    ));
    let be = zip(&[("m/data.pkl", &pkl), ("m/byteorder", b"big")], 0);
    assert!(matches!(PtArchive::new(&be), Err(TorchPtError::Layout(_))));
}
