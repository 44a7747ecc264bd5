use super::{random_tensors, random_unet, tiny_config};
use crate::unet::{NamedTensor, WeightsError, read_safetensors};
use burn::tensor::{Device, Distribution, Tensor};

#[test]
fn safetensors_round_trip_preserves_keys_shapes_and_outputs() {
    let config = tiny_config();
    let unet = random_unet(&config, 21);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("unet.safetensors");
    unet.save_safetensors(&path).unwrap();
    let stored = read_safetensors(&path).unwrap();
    let mut expected: Vec<(String, Vec<usize>)> = unet.parameter_shapes();
    expected.sort();
    let found: Vec<(String, Vec<usize>)> = stored
        .iter()
        .map(|(k, s, _)| (k.clone(), s.clone()))
        .collect();
    assert_eq!(found, expected);

    let reloaded = config
        .init(&Device::flex())
        .load_safetensors(&path)
        .unwrap();
    let device = Device::flex();
    let x = Tensor::<4>::random([1, 1, 8, 8], Distribution::Default, &device);
    let t = Tensor::<1>::random([1], Distribution::Default, &device);
    let image = Tensor::<4>::random([1, 1, 8, 8], Distribution::Default, &device);
    let a = unet.forward(x.clone(), t.clone(), image.clone());
    let b = reloaded.forward(x, t, image);
    assert_eq!((a - b).abs().max().into_scalar::<f32>(), 0.0);
}

#[test]
fn exported_linear_weights_use_pytorch_layout() {
    let unet = random_unet(&tiny_config(), 1);
    let tensors = unet.to_named_tensors().unwrap();
    let shape = |key: &str| {
        tensors
            .iter()
            .find(|(k, _, _)| k == key)
            .map(|(_, s, _)| s.clone())
    };
    assert_eq!(shape("time_embed.0.weight"), Some(vec![128, 32]));
    assert_eq!(shape("input_blocks.3.1.qkv.weight"), Some(vec![192, 64, 1]));
    assert_eq!(
        shape("input_blocks.3.1.proj_out.weight"),
        Some(vec![64, 64, 1])
    );
    assert_eq!(shape("out.2.weight"), Some(vec![1, 32, 3, 3]));
}

fn load(tensors: Vec<NamedTensor>) -> WeightsError {
    tiny_config()
        .init(&Device::flex())
        .load_named_tensors(tensors, "test.pt")
        .unwrap_err()
}

fn fresh() -> Vec<NamedTensor> {
    random_tensors(&tiny_config().init(&Device::flex()), 2)
}

#[test]
fn missing_key_is_named() {
    let mut tensors = fresh();
    tensors.retain(|(k, _, _)| k != "middle_block.1.qkv.bias");
    let err = load(tensors);
    assert!(
        matches!(&err, WeightsError::Missing { key, source_name }
        if key == "middle_block.1.qkv.bias" && source_name == "test.pt"),
        "{err}"
    );
}

#[test]
fn unexpected_key_is_named() {
    let mut tensors = fresh();
    tensors.push(("label_emb.weight".into(), vec![2], vec![0.0, 1.0]));
    let err = load(tensors);
    assert!(matches!(&err, WeightsError::Unexpected { key, .. } if key == "label_emb.weight"));
}

#[test]
fn shape_mismatch_is_named() {
    let mut tensors = fresh();
    let entry = tensors
        .iter_mut()
        .find(|(k, _, _)| k == "input_blocks.3.1.qkv.weight")
        .unwrap();
    entry.1 = vec![192, 64]; // squeezed: not the official Conv1d shape
    let err = load(tensors);
    assert!(
        matches!(&err, WeightsError::Shape { key, expected, found, .. }
        if key == "input_blocks.3.1.qkv.weight" && expected == &vec![192, 64, 1]
            && found == &vec![192, 64]),
        "{err}"
    );
}

#[test]
fn duplicate_and_short_tensors_are_named() {
    let mut tensors = fresh();
    let first = tensors[0].clone();
    tensors.push(first);
    assert!(
        matches!(load(tensors), WeightsError::Duplicate { key, .. } if key == "time_embed.0.weight")
    );
    let mut tensors = fresh();
    tensors[1].2.pop();
    assert!(
        matches!(load(tensors), WeightsError::Length { key, .. } if key == "time_embed.0.bias")
    );
}

#[test]
fn unreadable_files_are_typed_errors() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("absent.safetensors");
    assert!(matches!(
        read_safetensors(&missing),
        Err(WeightsError::Io { .. })
    ));
    let garbage = dir.path().join("garbage.safetensors");
    std::fs::write(&garbage, b"definitely not a safetensors file").unwrap();
    let err = read_safetensors(&garbage).unwrap_err();
    assert!(matches!(&err, WeightsError::SafeTensors { .. }), "{err}");
    assert!(err.to_string().contains("garbage.safetensors"));
}
