//! End-to-end tests of the training loop with the flow-matching objective on the `tiny`
//! synthetic preset: the loss falls, resuming is bit-identical, a NaN loss stops the run and
//! keeps the last good checkpoint, and the CFG drop acts per batch or per sample.
#![allow(clippy::unwrap_used)]

use std::cell::Cell;
use std::path::Path;
use std::sync::Mutex;

use burn::tensor::{Device, Tensor};
use fmseg_data::rng::Rng;
use fmseg_data::synth::{SynthConfig, SynthPreset};
use fmseg_model::dataset::{Batch, BatchBuilder, InMemorySource};
use fmseg_model::flow::{CfgDropMode, FlowMatching};
use fmseg_model::training::{Objective, TrainConfig, TrainError, train};
use fmseg_model::unet::{NamedTensor, UNet, UNetConfig};

/// burn's backend generator is global: runs that use it must not overlap.
static SERIAL: Mutex<()> = Mutex::new(());

fn tiny_unet(dropout: f64) -> UNetConfig {
    UNetConfig {
        model_channels: 32,
        channel_mult: vec![1, 2],
        num_res_blocks: 1,
        attention_resolutions: vec![],
        dropout,
        ..UNetConfig::lidc_condition()
    }
}

fn source(count: usize) -> InMemorySource {
    InMemorySource::from_synthetic(SynthConfig::preset(SynthPreset::Tiny), 0, count).unwrap()
}

fn objective(dropout: f64) -> FlowMatching {
    FlowMatching {
        unet: tiny_unet(dropout),
        cfg_drop_prob: 0.5,
        cfg_drop: CfgDropMode::PerBatch,
    }
}

fn config(steps: u64, checkpoint_every: u64) -> TrainConfig {
    TrainConfig {
        steps,
        batch_size: 4,
        checkpoint_every,
        log_every: 0,
        ..TrainConfig::default()
    }
}

fn run<O: Objective>(
    obj: &O,
    cfg: &TrainConfig,
    out: &Path,
    resume: bool,
) -> Result<(), TrainError> {
    let device = Device::flex().autodiff();
    let meta = serde_json::json!({});
    train(obj, &source(8), cfg, &meta, out, &device, resume).map(|_| ())
}

fn losses(out: &Path) -> Vec<f32> {
    let text = std::fs::read_to_string(out.join("loss.csv")).unwrap();
    text.lines()
        .skip(1)
        .map(|l| l.split(',').nth(1).unwrap().parse().unwrap())
        .collect()
}

#[test]
fn loss_falls_on_the_tiny_preset() {
    let _guard = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let cfg = TrainConfig {
        steps: 40,
        batch_size: 8,
        lr: 1e-3,
        checkpoint_every: 0,
        log_every: 0,
        ..TrainConfig::default()
    };
    let device = Device::flex().autodiff();
    let meta = serde_json::json!({"note": "test"});
    train(
        &objective(0.0),
        &source(32),
        &cfg,
        &meta,
        dir.path(),
        &device,
        false,
    )
    .unwrap();
    let l = losses(dir.path());
    assert_eq!(l.len(), 40);
    let first = l[..5].iter().sum::<f32>() / 5.0;
    let last = l[35..].iter().sum::<f32>() / 5.0;
    // A fresh network predicts v = 0, so the first losses are ≈ E|x1 − x0|² = 2.
    assert!((first - 2.0).abs() < 0.3, "first {first}");
    assert!(last < first - 0.2, "first {first} last {last}");
    let config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("config.json")).unwrap()).unwrap();
    assert_eq!(config["unet"]["model_channels"], 32);
    assert_eq!(config["note"], "test");
    let unet = tiny_unet(0.0).init(&Device::flex());
    unet.load_safetensors(dir.path().join("model.safetensors"))
        .unwrap();
}

#[test]
fn resume_is_bit_identical_to_an_uninterrupted_run() {
    let _guard = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let (straight, split) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let obj = objective(0.1); // dropout on: the backend generator is re-seeded per step
    run(&obj, &config(6, 3), straight.path(), false).unwrap();
    run(&obj, &config(3, 3), split.path(), false).unwrap();
    run(&obj, &config(6, 3), split.path(), true).unwrap();
    for file in ["model_raw.safetensors", "model.safetensors"] {
        let a = std::fs::read(straight.path().join(file)).unwrap();
        let b = std::fs::read(split.path().join(file)).unwrap();
        assert!(a == b, "{file} differs after resume");
    }
    assert_eq!(losses(straight.path()), losses(split.path()));
    assert!(
        split
            .path()
            .join("checkpoints/step-000003/optimizer.bpk")
            .exists()
    );
    assert!(
        split
            .path()
            .join("checkpoints/step-000006/state.json")
            .exists()
    );
    // EMA differs from the raw weights.
    let raw = std::fs::read(straight.path().join("model_raw.safetensors")).unwrap();
    let ema = std::fs::read(straight.path().join("model.safetensors")).unwrap();
    assert_ne!(raw, ema);
}

/// The `Objective` methods a test objective takes unchanged from its `inner` flow objective.
macro_rules! delegate_to_inner {
    () => {
        fn init_model(&self, device: &Device) -> Result<UNet, TrainError> {
            self.inner.init_model(device)
        }
        fn export(&self, model: &UNet) -> Result<Vec<NamedTensor>, TrainError> {
            self.inner.export(model)
        }
        fn import(&self, m: UNet, t: Vec<NamedTensor>, s: &str) -> Result<UNet, TrainError> {
            self.inner.import(m, t, s)
        }
        fn describe(&self) -> serde_json::Value {
            self.inner.describe()
        }
    };
}

/// The flow objective with a NaN loss injected at call `at` (1-based).
struct NanAt {
    inner: FlowMatching,
    at: usize,
    calls: Cell<usize>,
}

impl Objective for NanAt {
    type Model = UNet;
    fn name(&self) -> &'static str {
        "nan-test"
    }
    fn loss(&self, model: &UNet, batch: &Batch, rng: &mut Rng, device: &Device) -> Tensor<1> {
        self.calls.set(self.calls.get() + 1);
        let loss = self.inner.loss(model, batch, rng, device);
        if self.calls.get() == self.at {
            loss.mul_scalar(f32::NAN)
        } else {
            loss
        }
    }
    delegate_to_inner!();
}

#[test]
fn nan_loss_stops_and_keeps_the_last_good_checkpoint() {
    let _guard = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let obj = NanAt {
        inner: objective(0.0),
        at: 5,
        calls: Cell::new(0),
    };
    let err = run(&obj, &config(8, 2), dir.path(), false).unwrap_err();
    let TrainError::NonFinite {
        step,
        value,
        last_checkpoint,
    } = &err
    else {
        panic!("{err}");
    };
    assert_eq!(*step, 5);
    assert!(value.is_nan());
    let ckpt = last_checkpoint.clone().unwrap();
    assert!(ckpt.ends_with("checkpoints/step-000004"));
    assert!(ckpt.join("model.safetensors").exists());
    assert!(err.to_string().contains("non-finite loss"), "{err}");
    assert!(!dir.path().join("model.safetensors").exists());
    assert_eq!(losses(dir.path()).len(), 4);
}

#[test]
fn condition_drop_zeroes_whole_batches_or_single_samples() {
    let src = source(8);
    let builder = BatchBuilder {
        batch_size: 8,
        flip: true,
        seed: 0,
    };
    let batch = builder.build(&src, 0, &mut Rng::new(1));
    let plane = 32 * 32;
    let dropped = |image: &[f32]| -> Vec<bool> {
        image
            .chunks_exact(plane)
            .map(|p| p.iter().all(|&v| v == 0.0))
            .collect()
    };
    let mut obj = objective(0.0);
    let mut rng = Rng::new(3);
    let mut mixed = 0;
    for _ in 0..50 {
        let (x0, x1, t, image) = obj.draw_inputs(&batch, &mut rng);
        assert_eq!((x0.len(), x1.len(), t.len()), (8 * plane, 8 * plane, 8));
        assert!(x1.iter().all(|&v| v == 1.0 || v == -1.0));
        let d = dropped(&image);
        assert!(d.iter().all(|&x| x == d[0]), "per-batch drop split a batch");
    }
    obj.cfg_drop = CfgDropMode::PerSample;
    for _ in 0..50 {
        let d = dropped(&obj.draw_inputs(&batch, &mut rng).3);
        mixed += usize::from(d.iter().any(|&x| x) && d.iter().any(|&x| !x));
    }
    assert!(mixed > 30, "{mixed}");
    obj.cfg_drop_prob = 0.0;
    assert_eq!(obj.draw_inputs(&batch, &mut rng).3, batch.images);
}

/// The flow loss computed row by row, each row's noise from its own item's generator: a loss
/// whose value does not depend on how the batch is split.
struct PerRow {
    inner: FlowMatching,
}

impl Objective for PerRow {
    type Model = UNet;
    fn name(&self) -> &'static str {
        "per-row"
    }
    fn loss(&self, model: &UNet, batch: &Batch, _rng: &mut Rng, device: &Device) -> Tensor<1> {
        let rows = batch.shards(batch.shape[0]);
        let n = rows.len() as f64;
        let terms: Vec<Tensor<1>> = rows
            .iter()
            .map(|row| {
                let mut rng = Rng::for_item(9, row.indices[0] as u64);
                self.inner.loss(model, row, &mut rng, device)
            })
            .collect();
        Tensor::cat(terms, 0).sum().div_scalar(n)
    }
    delegate_to_inner!();
}

#[test]
fn shard_gradients_sum_to_the_full_batch_gradient() {
    use burn::optim::{GradientsParams, SgdConfig};
    use fmseg_model::training::parallel::shard_gradients;
    let _guard = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let device = Device::flex().autodiff();
    let obj = PerRow {
        inner: objective(0.0),
    };
    let builder = BatchBuilder {
        batch_size: 5,
        flip: false,
        seed: 0,
    };
    let batch = builder.build(&source(8), 0, &mut Rng::for_item(0, 0));
    let mut sgd = SgdConfig::new().init();
    // One full-batch step first, so that every layer (not only the zero-initialised output
    // convolution) has a gradient.
    let model = obj.init_model(&device).unwrap();
    let loss = obj.loss(&model, &batch, &mut Rng::for_item(0, 1), &device);
    let grads = GradientsParams::from_grads(loss.backward(), &model);
    let model = sgd.step(0.1, model, grads);
    let full_loss = obj.loss(&model, &batch, &mut Rng::for_item(0, 1), &device);
    let full_value = full_loss.clone().into_scalar::<f32>();
    let full = GradientsParams::from_grads(full_loss.backward(), &model);
    let devices = [device.clone(), device.clone(), device.clone()];
    let (sharded, loss) =
        shard_gradients(&obj, &model, &batch, &mut Rng::for_item(0, 1), &devices, 0);
    let value = loss.into_scalar::<f32>();
    assert!(
        (value - full_value).abs() <= 1e-5 * full_value.abs(),
        "{value} vs {full_value}"
    );
    let a = obj.export(&sgd.step(1.0, model.clone(), full)).unwrap();
    let b = obj.export(&sgd.step(1.0, model.clone(), sharded)).unwrap();
    let before = obj.export(&model).unwrap();
    let mut moved = 0usize;
    for ((ka, _, va), ((_, _, vb), (_, _, v0))) in a.iter().zip(b.iter().zip(&before)) {
        for ((x, y), z) in va.iter().zip(vb).zip(v0) {
            let step = (x - z).abs();
            moved += usize::from(step > 0.0);
            assert!(
                (x - y).abs() <= 1e-5 + 1e-3 * step,
                "{ka}: {x} vs {y} (step {step})"
            );
        }
    }
    assert!(moved > 1000, "only {moved} parameters moved");
}

#[test]
fn data_parallel_training_runs_over_several_devices() {
    use fmseg_model::training::train_on;
    let _guard = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().unwrap();
    let device = Device::flex().autodiff();
    let meta = serde_json::json!({});
    let cfg = config(3, 2);
    let devices = [device.clone(), device.clone()];
    let summary = train_on(
        &objective(0.1),
        &source(8),
        &cfg,
        &meta,
        dir.path(),
        &devices,
        false,
        &|_| {},
    )
    .unwrap();
    assert_eq!(summary.steps, 3);
    assert!(summary.final_loss.is_finite());
    assert!(dir.path().join("model.safetensors").is_file());
    assert_eq!(losses(dir.path()).len(), 3);
    let too_many = vec![device; 5];
    let err = train_on(
        &objective(0.0),
        &source(8),
        &cfg,
        &meta,
        dir.path(),
        &too_many,
        false,
        &|_| {},
    );
    assert!(
        matches!(
            err,
            Err(TrainError::Config {
                field: "devices",
                ..
            })
        ),
        "{err:?}"
    );
}
