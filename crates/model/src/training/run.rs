//! The loop itself: batch → loss → backward → AdamW step → EMA update, with the losses read back
//! (and checked for NaN/Inf) only at the log period, before every checkpoint and at the end, then
//! checkpoints and the final export (see the [module docs](super)). Nothing else leaves the
//! device in the loop: the EMA shadow lives there ([`DeviceEma`]) and is exported only with a
//! checkpoint or the final weights.

use indicatif::{ProgressBar, ProgressStyle};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::optim::{AdamWConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::{Device, Tensor};
use fmseg_data::rng::{Rng, splitmix64};

use super::checkpoint::{
    CheckpointParts, CheckpointState, assign_param_ids, latest_checkpoint, param_ids, read_state,
    save_checkpoint, write_safetensors_atomic,
};
use super::parallel::shard_gradients;
use super::resume::{check_resumable, remove_orphans};
use super::{Objective, TrainConfig, TrainError};
use crate::dataset::{BatchBuilder, TrainSource};
use crate::ema_device::DeviceEma;
use crate::unet::{NamedTensor, read_safetensors};

/// What a finished run did.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainSummary {
    /// The step the run started from (0, or the resumed checkpoint's).
    pub start_step: u64,
    /// Steps done in total.
    pub steps: u64,
    /// Loss of the last step.
    pub final_loss: f32,
    /// Wall-clock seconds of this invocation's steps.
    pub seconds: f64,
    /// The newest checkpoint written.
    pub last_checkpoint: Option<PathBuf>,
}

struct State<M> {
    model: M,
    optim: ModuleOptimizer,
    ema: Option<DeviceEma>,
    step: u64,
    seconds: f64,
}

/// The training state: fresh, or read back from the `checkpoint` folder resumed from.
fn init<O: Objective>(
    objective: &O,
    config: &TrainConfig,
    device: &Device,
    checkpoint: Option<PathBuf>,
) -> Result<(State<O::Model>, Option<PathBuf>), TrainError> {
    device.seed(config.seed);
    let model = objective.init_model(device)?;
    let optim = AdamWConfig::new()
        .with_beta_1(config.betas[0] as f32)
        .with_beta_2(config.betas[1] as f32)
        .with_epsilon(config.epsilon as f32)
        .with_weight_decay(config.weight_decay as f32)
        .init();
    let Some(dir) = checkpoint else {
        let ema = config.ema_decay.map(|d| DeviceEma::new(&model, 0, d));
        let state = State {
            model,
            optim,
            ema,
            step: 0,
            seconds: 0.0,
        };
        return Ok((state, None));
    };
    let saved = read_state(&dir)?;
    let raw_path = dir.join("model.safetensors");
    let raw = read_safetensors(&raw_path).map_err(TrainError::model)?;
    let model = objective.import(model, raw, &raw_path.display().to_string())?;
    let model = assign_param_ids(model, &saved.param_ids, &dir)?;
    let optim_path = dir.join("optimizer.bpk");
    let optim = optim
        .load(&optim_path)
        .map_err(|e| TrainError::checkpoint(&optim_path, format!("{e:?}")))?;
    let ema = match (config.ema_decay, saved.ema_updates) {
        (Some(d), Some(updates)) => {
            let shadow =
                read_safetensors(dir.join("ema.safetensors")).map_err(TrainError::model)?;
            // Same key order as `export` (the file is sorted by key).
            let order = objective.export(&model)?;
            let mut by_key: std::collections::HashMap<_, _> =
                shadow.into_iter().map(|t| (t.0.clone(), t)).collect();
            let shadow = order
                .into_iter()
                .map(|(k, _, _)| {
                    by_key
                        .remove(&k)
                        .ok_or_else(|| TrainError::checkpoint(&dir, format!("EMA lacks {k}")))
                })
                .collect::<Result<Vec<_>, _>>()?;
            let shadow_model =
                objective.import(model.clone(), shadow, &dir.display().to_string())?;
            Some(DeviceEma::new(&shadow_model, updates, d))
        }
        (None, None) => None,
        _ => {
            return Err(TrainError::checkpoint(
                &dir,
                "EMA on/off differs from the run's setting",
            ));
        }
    };
    let state = State {
        model,
        optim,
        ema,
        step: saved.step,
        seconds: saved.seconds,
    };
    Ok((state, Some(dir)))
}

/// Keeps the rows of `loss.csv` up to `step` (a resumed run rewrites what follows).
fn open_loss_csv(out: &Path, step: u64, terms: &[&str]) -> Result<std::fs::File, TrainError> {
    let path = out.join("loss.csv");
    let mut text = String::from("step,loss,seconds");
    for name in terms {
        text.push(',');
        text.push_str(name);
    }
    text.push('\n');
    if step > 0
        && let Ok(old) = std::fs::read_to_string(&path)
    {
        for line in old.lines().skip(1) {
            let row_step = line.split(',').next().and_then(|s| s.parse::<u64>().ok());
            if row_step.is_some_and(|s| s <= step) {
                text.push_str(line);
                text.push('\n');
            }
        }
    }
    fmseg_data::atomic::write_atomic(&path, text.as_bytes())
        .map_err(|e| TrainError::checkpoint(&path, e))?;
    std::fs::OpenOptions::new()
        .append(true)
        .open(&path)
        .map_err(|e| TrainError::io(&path, e))
}

/// Trains `objective` on `source` into `out` (see the [module docs](super)); `device` must be
/// an autodiff device (`Device::flex().autodiff()`). With `resume`, continues from the newest
/// checkpoint under `out` when there is one. `metadata` is merged into `config.json`.
pub fn train<O: Objective>(
    objective: &O,
    source: &dyn TrainSource,
    config: &TrainConfig,
    metadata: &serde_json::Value,
    out: &Path,
    device: &Device,
    resume: bool,
) -> Result<TrainSummary, TrainError> {
    train_on(
        objective,
        source,
        config,
        metadata,
        out,
        std::slice::from_ref(device),
        resume,
        &|_| {},
    )
}

/// [`train`] with synchronous data parallelism over `devices` (autodiff devices; the model,
/// the optimiser and the EMA live on `devices[0]`; [`super::parallel`]). One device is exactly
/// [`train`]; several need `batch_size ≥ devices.len()`. `on_start` is called with the first
/// step once the settings, the data and any checkpoint resumed from have been accepted (a
/// caller announces the run there, so that a refused run prints nothing but its error).
#[allow(clippy::too_many_arguments)]
pub fn train_on<O: Objective>(
    objective: &O,
    source: &dyn TrainSource,
    config: &TrainConfig,
    metadata: &serde_json::Value,
    out: &Path,
    devices: &[Device],
    resume: bool,
    on_start: &dyn Fn(u64),
) -> Result<TrainSummary, TrainError> {
    config.validate()?;
    config.check_devices(devices.len())?;
    let device = &devices[0];
    let builder = BatchBuilder {
        batch_size: config.batch_size,
        flip: config.flip,
        seed: config.seed,
    };
    builder.check(source)?;
    std::fs::create_dir_all(out).map_err(|e| TrainError::io(out, e))?;
    let config_json = config_json(objective, config, metadata);
    let checkpoint = if resume {
        latest_checkpoint(out)?
    } else {
        None
    };
    let resuming = checkpoint.is_some();
    if resuming {
        check_resumable(out, &config_json)?;
    }
    write_config(&config_json, out)?;
    let (mut st, mut last_checkpoint) =
        init(objective, config, device, checkpoint).map_err(|e| match e {
            // a checkpoint that cannot be read back (truncated, deleted files, other shapes)
            TrainError::Io { .. } | TrainError::Checkpoint { .. } | TrainError::Model(_)
                if resuming =>
            {
                TrainError::Resume {
                    dir: out.to_path_buf(),
                    message: format!("its newest checkpoint cannot be read back: {e}"),
                }
            }
            other => other,
        })?;
    let start_step = st.step;
    on_start(start_step);
    let terms = objective.term_names();
    let mut csv = open_loss_csv(out, st.step, &terms)?;
    let csv_path = out.join("loss.csv");
    let started = Instant::now();
    let mut final_loss = f32::NAN;
    // A bar on an interactive stderr; hidden otherwise (CI logs keep the periodic lines).
    let bar = ProgressBar::new(config.steps).with_position(st.step);
    if let Ok(style) = ProgressStyle::with_template(
        "[{prefix}] {bar:30} {pos}/{len} steps, {msg}, {elapsed} elapsed, eta {eta}",
    ) {
        bar.set_style(style);
    }
    bar.set_prefix(objective.name());
    // Losses of the steps not yet read back: (step, loss, seconds at that step).
    let mut pending: Vec<(u64, Tensor<1>, f64)> = Vec::new();
    while st.step < config.steps {
        let step = st.step;
        let mut rng = Rng::for_item(config.seed, step);
        let step_seed = splitmix64(config.seed ^ splitmix64(step));
        let batch = builder.build(source, step, &mut rng);
        let (grads, kept) = if devices.len() == 1 {
            device.seed(step_seed);
            let (loss, logged) = objective.loss_with_terms(&st.model, &batch, &mut rng, device);
            let kept = logged_row(loss.clone().inner(), logged);
            (
                GradientsParams::from_grads(loss.backward(), &st.model),
                kept,
            )
        } else {
            shard_gradients(objective, &st.model, &batch, &mut rng, devices, step_seed)
        };
        st.model = st.optim.step(config.lr, st.model, grads);
        if let Some(ema) = st.ema.as_mut() {
            ema.update(&st.model);
        }
        st.step += 1;
        let seconds = st.seconds + started.elapsed().as_secs_f64();
        pending.push((st.step, kept, seconds));
        bar.set_position(st.step);
        let log_due = config.log_every > 0
            && (st.step.is_multiple_of(config.log_every) || st.step == config.steps);
        if !(log_due || config.checkpoint_due(st.step) || pending.len() >= MAX_PENDING) {
            continue;
        }
        let value = flush(
            &mut pending,
            1 + terms.len(),
            &mut csv,
            &csv_path,
            &last_checkpoint,
        )?;
        final_loss = value;
        bar.set_message(format!("loss {value:.5}"));
        if log_due {
            let line = format!(
                "[{}] step {}/{} loss {value:.5} ({seconds:.1} s)",
                objective.name(),
                st.step,
                config.steps
            );
            if bar.is_hidden() {
                eprintln!("{line}");
            } else {
                bar.println(line);
            }
        }
        if config.checkpoint_due(st.step) {
            csv.flush().map_err(|e| TrainError::io(&csv_path, e))?;
            let raw = objective.export(&st.model)?;
            let shadow = ema_export(objective, &st)?;
            let state = CheckpointState {
                step: st.step,
                ema_updates: st.ema.as_ref().map(DeviceEma::updates),
                param_ids: param_ids(&st.model),
                seconds,
            };
            let parts = CheckpointParts {
                raw: &raw,
                ema: shadow.as_deref(),
                optimizer: &st.optim,
                state: &state,
            };
            last_checkpoint = Some(save_checkpoint(out, &parts)?);
        }
    }
    bar.finish_and_clear();
    csv.flush().map_err(|e| TrainError::io(&csv_path, e))?;
    let raw = objective.export(&st.model)?;
    write_safetensors_atomic(&out.join("model_raw.safetensors"), &raw)?;
    let shadow = ema_export(objective, &st)?;
    write_safetensors_atomic(
        &out.join("model.safetensors"),
        shadow.as_deref().unwrap_or(&raw),
    )?;
    remove_orphans(out)?;
    Ok(TrainSummary {
        start_step,
        steps: st.step,
        final_loss,
        seconds: started.elapsed().as_secs_f64(),
        last_checkpoint,
    })
}

/// Most losses kept on the device before they are read back regardless of the log period.
const MAX_PENDING: usize = 256;

/// The row kept for `loss.csv`: the loss `[1]` followed by its terms `[T]`, detached.
pub(crate) fn logged_row(loss: Tensor<1>, terms: Option<Tensor<1>>) -> Tensor<1> {
    match terms {
        Some(terms) => Tensor::cat(vec![loss, terms.inner()], 0),
        None => loss,
    }
}

/// Reads the pending rows (loss and terms, `width` values each) back in one transfer, refuses a
/// non-finite loss (naming its step and the last checkpoint, which was written before it), and
/// appends them to `loss.csv`. Returns the last loss.
fn flush(
    pending: &mut Vec<(u64, Tensor<1>, f64)>,
    width: usize,
    csv: &mut std::fs::File,
    csv_path: &Path,
    last_checkpoint: &Option<PathBuf>,
) -> Result<f32, TrainError> {
    let losses: Vec<Tensor<1>> = pending.iter().map(|p| p.1.clone()).collect();
    let values = Tensor::cat(losses, 0)
        .into_data()
        .try_to_vec::<f32>()
        .map_err(|e| {
            TrainError::model(std::io::Error::other(format!(
                "reading the losses back: {e:?}"
            )))
        })?;
    let mut last = f32::NAN;
    for ((step, _, seconds), row) in pending.drain(..).zip(values.chunks(width)) {
        let value = row[0];
        if !value.is_finite() {
            return Err(TrainError::NonFinite {
                step,
                value,
                last_checkpoint: last_checkpoint.clone(),
            });
        }
        let mut line = format!("{step},{value},{seconds:.3}");
        for term in &row[1..] {
            line.push_str(&format!(",{term}"));
        }
        writeln!(csv, "{line}").map_err(|e| TrainError::io(csv_path, e))?;
        last = value;
    }
    Ok(last)
}

/// The EMA shadow as named tensors (`None` without EMA).
fn ema_export<O: Objective>(
    objective: &O,
    st: &State<O::Model>,
) -> Result<Option<Vec<NamedTensor>>, TrainError> {
    st.ema
        .as_ref()
        .map(|ema| objective.export(&ema.shadow_model(st.model.clone())))
        .transpose()
}

/// `config.json`: the method, the training settings, the objective's description, the caller's
/// metadata and which weights each exported file holds.
fn config_json<O: Objective>(
    objective: &O,
    config: &TrainConfig,
    metadata: &serde_json::Value,
) -> serde_json::Value {
    let mut json = serde_json::json!({ "method": objective.name(), "training": config });
    for extra in [objective.describe(), metadata.clone()] {
        if let (Some(map), serde_json::Value::Object(extra)) = (json.as_object_mut(), extra) {
            map.extend(extra);
        }
    }
    json["weights"] = serde_json::json!({
        "model.safetensors": if config.ema_decay.is_some() { "ema" } else { "raw" },
        "model_raw.safetensors": "raw",
    });
    json
}

fn write_config(json: &serde_json::Value, out: &Path) -> Result<(), TrainError> {
    let path = out.join("config.json");
    let text = serde_json::to_vec_pretty(json).map_err(|e| TrainError::checkpoint(&path, e))?;
    fmseg_data::atomic::write_atomic(&path, &text).map_err(|e| TrainError::checkpoint(&path, e))
}
