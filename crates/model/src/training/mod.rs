//! The reusable training loop shared by the flow model and the baselines (paper-and-baselines
//! §1.3; burn-performance §8.7: a custom loop rather than burn-train's `Learner`).
//!
//! A method plugs in through [`Objective`]: how to build its model, the scalar loss of one
//! batch, and how to export/import its parameters as official-named tensors. The loop then
//! provides AdamW (official defaults lr 1e-4, β = (0.9, 0.95), wd 0.01, constant LR), the EMA
//! of the parameters (kept on the training device, [`crate::ema_device`]), a log line /
//! `loss.csv`, atomic resumable checkpoints and a NaN/Inf guard (losses are read back at the
//! log period, before each checkpoint and at the end, so a non-finite loss stops the run with
//! the last good checkpoint kept). Every random draw of step `s` comes from `Rng::for_item(seed, s)` (and
//! the backend generator, used by dropout, is re-seeded from `(seed, s)`), so a run resumed from
//! a checkpoint is bit-identical to an uninterrupted one on the CPU.
//!
//! Output folder contract (shared with sampling): `config.json` (`{"unet": …, "training": …}`
//! plus the objective's and caller's fields), `model.safetensors` (EMA weights when EMA is on,
//! else the raw ones), `model_raw.safetensors`, `loss.csv` (`step,loss,seconds` and the
//! objective's [`Objective::term_names`], e.g. CIMD's `mse,vb,kl`) and
//! `checkpoints/step-XXXXXX/` (`model.safetensors`, `ema.safetensors`, `optimizer.bpk`,
//! `state.json`).

mod checkpoint;
mod config;
mod error;
pub mod parallel;
mod resume;
mod run;

use burn::module::Module;
use burn::tensor::{Device, Tensor};
use fmseg_data::rng::Rng;

pub use checkpoint::{CheckpointState, checkpoint_name, checkpoints, latest_checkpoint};
pub use config::TrainConfig;
pub use error::TrainError;
pub use run::{TrainSummary, train, train_on};

use crate::dataset::Batch;
use crate::unet::NamedTensor;

/// A trainable method: its model and its loss.
///
/// Implementations must draw all randomness of [`Objective::loss`] from `rng` (or from burn's
/// generator, which the loop seeds per step) for runs to be reproducible and resumable.
pub trait Objective {
    /// The network (a burn module; built on the loop's autodiff device).
    type Model: Module + 'static;

    /// Short method id for logs (`flow`, `prob-unet`, …).
    fn name(&self) -> &'static str;

    /// A freshly initialised model on `device`.
    fn init_model(&self, device: &Device) -> Result<Self::Model, TrainError>;

    /// The scalar loss `[1]` of one batch (`batch.shape = [B, C, H, W]`), differentiable
    /// w.r.t. the model's parameters.
    fn loss(&self, model: &Self::Model, batch: &Batch, rng: &mut Rng, device: &Device)
    -> Tensor<1>;

    /// Names of the loss's terms, logged in `loss.csv` after `seconds` (none by default).
    fn term_names(&self) -> Vec<&'static str> {
        Vec::new()
    }

    /// The differentiable loss `[1]` and, when [`Objective::term_names`] is not empty, its
    /// terms `[T]` in that order (detached; logged, never differentiated). By default the loss
    /// alone.
    fn loss_with_terms(
        &self,
        model: &Self::Model,
        batch: &Batch,
        rng: &mut Rng,
        device: &Device,
    ) -> (Tensor<1>, Option<Tensor<1>>) {
        (self.loss(model, batch, rng, device), None)
    }

    /// Every parameter as `(key, shape, values)`, in a fixed order (EMA and safetensors).
    fn export(&self, model: &Self::Model) -> Result<Vec<NamedTensor>, TrainError>;

    /// `model` with every parameter replaced by the tensor of the same key.
    fn import(
        &self,
        model: Self::Model,
        tensors: Vec<NamedTensor>,
        source: &str,
    ) -> Result<Self::Model, TrainError>;

    /// JSON fields merged into `config.json` (the flow model writes `{"unet": …}`).
    fn describe(&self) -> serde_json::Value;
}
