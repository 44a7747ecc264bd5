//! Shared helpers of the baseline integration tests: small synthetic batches and a short
//! Adam run.
#![allow(dead_code)]

use burn::module::Module;
use burn::optim::{AdamConfig, GradientsParams};
use burn::tensor::{Device, Tensor, TensorData};
use fmseg_data::synth::{SynthConfig, SynthPreset, SyntheticDataset};
use fmseg_model::SampleSet;

/// `n` 32×32 synthetic images `[n, C, 32, 32]` (C = 1: `Tiny`, C = 3: `MmisLike`) and the
/// first rater's masks `[n, 1, 32, 32]`.
pub fn batch(n: usize, channels: usize, device: &Device) -> (Tensor<4>, Tensor<4>) {
    let preset = if channels == 1 {
        SynthPreset::Tiny
    } else {
        SynthPreset::MmisLike
    };
    let data = SyntheticDataset::new(SynthConfig {
        preset,
        size: 32,
        raters: 4,
        seed: 0,
    })
    .unwrap();
    assert_eq!(data.channels(), channels);
    let (mut images, mut masks) = (Vec::new(), Vec::new());
    for i in 0..n {
        let s = data.sample(i as u64);
        images.extend_from_slice(&s.image);
        masks.extend(s.annotations[..32 * 32].iter().map(|&v| f32::from(v)));
    }
    (
        Tensor::from_data(TensorData::new(images, [n, channels, 32, 32]), device),
        Tensor::from_data(TensorData::new(masks, [n, 1, 32, 32]), device),
    )
}

/// Runs `steps` Adam steps (lr `lr`) of `loss(model)` on the autodiff device, returning the
/// trained model and the loss of every step.
pub fn adam_run<M, F>(mut model: M, steps: usize, lr: f64, loss: F) -> (M, Vec<f32>)
where
    M: Module,
    F: Fn(&M, usize) -> Tensor<1>,
{
    let mut optim = AdamConfig::new().init();
    let mut history = Vec::new();
    for step in 0..steps {
        let value = loss(&model, step);
        history.push(value.clone().into_scalar::<f32>());
        let grads = GradientsParams::from_grads(value.backward(), &model);
        model = optim.step(lr, model, grads);
    }
    (model, history)
}

/// Asserts that the mean of the last 5 losses is below `fraction` × the mean of the first 3.
pub fn assert_falls(history: &[f32], fraction: f32) {
    let first: f32 = history[..3].iter().sum::<f32>() / 3.0;
    let last: f32 = history[history.len() - 5..].iter().sum::<f32>() / 5.0;
    eprintln!("loss: first-3 mean {first:.4}, last-5 mean {last:.4}");
    assert!(
        history.iter().all(|v| v.is_finite()) && last < fraction * first,
        "loss did not fall: first {first}, last {last}, history {history:?}"
    );
}

/// Checks shape, range and finiteness of a sample set.
pub fn check_set(set: &SampleSet, shape: [usize; 4]) {
    assert_eq!(set.shape, shape);
    assert_eq!(set.masks.len(), shape.iter().product::<usize>());
    assert!(
        set.masks.iter().all(|v| (0.0..=1.0).contains(v)),
        "masks outside [0, 1]"
    );
    assert!(set.nfe >= 1);
    assert!(set.seconds >= 0.0);
}

/// Asserts that drawing `count` samples of `images` in passes of 1, 3 and 64 rows gives the
/// same masks (max |Δ| ≤ 1e-5: only the backend's summation order may differ) and that a
/// request bounded by `max_batch` is refused when the bound is 0.
pub fn assert_pass_invariant<M: fmseg_baselines::common::passes::PassSampler>(
    model: &M,
    images: Tensor<4>,
    count: usize,
) {
    use fmseg_baselines::common::passes::sample_in_passes;
    let reference = sample_in_passes(model, images.clone(), count, 11, 64).unwrap();
    for max_batch in [1, 3] {
        let set = sample_in_passes(model, images.clone(), count, 11, max_batch).unwrap();
        assert_eq!(set.shape, reference.shape);
        let worst = set
            .masks
            .iter()
            .zip(&reference.masks)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        assert!(worst <= 1e-5, "max_batch {max_batch}: max |Δ| {worst}");
    }
    assert!(sample_in_passes(model, images, count, 11, 0).is_err());
}
