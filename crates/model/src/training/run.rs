//! The loop itself: batch → loss → NaN/Inf guard → backward → AdamW step → EMA update → log,
//! with checkpoints and the final export (see the [module docs](super)).

use indicatif::{ProgressBar, ProgressStyle};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use burn::optim::{AdamWConfig, GradientsParams, ModuleOptimizer};
use burn::tensor::Device;
use fmseg_data::rng::{Rng, splitmix64};

use super::checkpoint::{
    CheckpointParts, CheckpointState, assign_param_ids, latest_checkpoint, param_ids, read_state,
    save_checkpoint, write_safetensors_atomic,
};
use super::{Objective, TrainConfig, TrainError};
use crate::dataset::{BatchBuilder, TrainSource};
use crate::ema::Ema;
use crate::unet::read_safetensors;

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
    ema: Option<Ema>,
    step: u64,
    seconds: f64,
}

fn init<O: Objective>(
    objective: &O,
    config: &TrainConfig,
    out: &Path,
    device: &Device,
    resume: bool,
) -> Result<(State<O::Model>, Option<PathBuf>), TrainError> {
    device.seed(config.seed);
    let model = objective.init_model(device)?;
    let optim = AdamWConfig::new()
        .with_beta_1(config.betas[0] as f32)
        .with_beta_2(config.betas[1] as f32)
        .with_epsilon(config.epsilon as f32)
        .with_weight_decay(config.weight_decay as f32)
        .init();
    let checkpoint = if resume {
        latest_checkpoint(out)?
    } else {
        None
    };
    let Some(dir) = checkpoint else {
        let ema = match config.ema_decay {
            Some(d) => Some(Ema::new(objective.export(&model)?, d)),
            None => None,
        };
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
            Some(Ema::resume(shadow, updates, d))
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
fn open_loss_csv(out: &Path, step: u64) -> Result<std::fs::File, TrainError> {
    let path = out.join("loss.csv");
    let mut text = String::from("step,loss,seconds\n");
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
    config.validate()?;
    let builder = BatchBuilder {
        batch_size: config.batch_size,
        flip: config.flip,
        seed: config.seed,
    };
    builder.check(source)?;
    std::fs::create_dir_all(out).map_err(|e| TrainError::io(out, e))?;
    write_config(objective, config, metadata, out)?;
    let (mut st, mut last_checkpoint) = init(objective, config, out, device, resume)?;
    let start_step = st.step;
    let mut csv = open_loss_csv(out, st.step)?;
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
    while st.step < config.steps {
        let step = st.step;
        let mut rng = Rng::for_item(config.seed, step);
        device.seed(splitmix64(config.seed ^ splitmix64(step)));
        let batch = builder.build(source, step, &mut rng);
        let loss = objective.loss(&st.model, &batch, &mut rng, device);
        let value = loss.clone().into_scalar::<f32>();
        if !value.is_finite() {
            return Err(TrainError::NonFinite {
                step: step + 1,
                value,
                last_checkpoint,
            });
        }
        let grads = GradientsParams::from_grads(loss.backward(), &st.model);
        st.model = st.optim.step(config.lr, st.model, grads);
        if let Some(ema) = st.ema.as_mut() {
            ema.update(&objective.export(&st.model)?)
                .map_err(TrainError::model)?;
        }
        st.step += 1;
        final_loss = value;
        let seconds = st.seconds + started.elapsed().as_secs_f64();
        writeln!(csv, "{},{value},{seconds:.3}", st.step)
            .map_err(|e| TrainError::io(&csv_path, e))?;
        bar.set_position(st.step);
        bar.set_message(format!("loss {value:.5}"));
        if config.log_every > 0
            && (st.step.is_multiple_of(config.log_every) || st.step == config.steps)
        {
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
            let state = CheckpointState {
                step: st.step,
                ema_updates: st.ema.as_ref().map(Ema::updates),
                param_ids: param_ids(&st.model),
                seconds,
            };
            let parts = CheckpointParts {
                raw: &raw,
                ema: st.ema.as_ref().map(Ema::shadow),
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
    let final_weights = st.ema.as_ref().map_or(raw.as_slice(), Ema::shadow);
    write_safetensors_atomic(&out.join("model.safetensors"), final_weights)?;
    Ok(TrainSummary {
        start_step,
        steps: st.step,
        final_loss,
        seconds: started.elapsed().as_secs_f64(),
        last_checkpoint,
    })
}

fn write_config<O: Objective>(
    objective: &O,
    config: &TrainConfig,
    metadata: &serde_json::Value,
    out: &Path,
) -> Result<(), TrainError> {
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
    let path = out.join("config.json");
    let text = serde_json::to_vec_pretty(&json).map_err(|e| TrainError::checkpoint(&path, e))?;
    fmseg_data::atomic::write_atomic(&path, &text).map_err(|e| TrainError::checkpoint(&path, e))
}
