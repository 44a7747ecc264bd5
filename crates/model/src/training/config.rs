//! The resolved training settings (official defaults of `train_arg_parser.py`, §1.3).

use serde::{Deserialize, Serialize};

use super::error::TrainError;

/// Settings of one run; [`Default`] holds the official values where the paper fixes them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    /// Optimizer steps in total (a resumed run continues up to this count).
    pub steps: u64,
    /// Samples per batch (official 24 per GPU).
    pub batch_size: usize,
    /// Constant AdamW learning rate (official 1e-4).
    pub lr: f64,
    /// AdamW (β1, β2) (official (0.9, 0.95)).
    pub betas: [f64; 2],
    /// AdamW ε (PyTorch default 1e-8).
    pub epsilon: f64,
    /// Decoupled weight decay (PyTorch AdamW default 0.01).
    pub weight_decay: f64,
    /// EMA of the parameters with this maximum decay (official 0.999); `None` = off.
    pub ema_decay: Option<f64>,
    /// Horizontal-flip augmentation, p = 0.5 (official on).
    pub flip: bool,
    /// Seed of every draw (official 0).
    pub seed: u64,
    /// Write a resumable checkpoint every this many steps (and at the last step); 0 = only at
    /// the end.
    pub checkpoint_every: u64,
    /// Print a log line every this many steps; 0 = never.
    pub log_every: u64,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            steps: 1000,
            batch_size: 24,
            lr: 1e-4,
            betas: [0.9, 0.95],
            epsilon: 1e-8,
            weight_decay: 0.01,
            ema_decay: Some(0.999),
            flip: true,
            seed: 0,
            checkpoint_every: 500,
            log_every: 50,
        }
    }
}

impl TrainConfig {
    /// Refuses a data-parallel run over `devices` devices that cannot give each a sample (or
    /// has no device at all).
    pub fn check_devices(&self, devices: usize) -> Result<(), TrainError> {
        let message = if devices == 0 {
            "at least one device is needed".to_string()
        } else if devices > self.batch_size {
            format!(
                "{devices} devices need a batch_size of at least {devices} (one sample per device)"
            )
        } else {
            return Ok(());
        };
        Err(TrainError::Config {
            field: "devices",
            message,
        })
    }

    /// Checks every range, naming the offending field.
    pub fn validate(&self) -> Result<(), TrainError> {
        let bad = |field, message: String| Err(TrainError::Config { field, message });
        if self.steps == 0 {
            return bad("steps", "must be at least 1".into());
        }
        if self.batch_size == 0 {
            return bad("batch_size", "must be at least 1".into());
        }
        if !(self.lr.is_finite() && self.lr > 0.0) {
            return bad("lr", format!("{} is not a positive number", self.lr));
        }
        if !self.betas.iter().all(|b| (0.0..1.0).contains(b)) {
            return bad("betas", format!("{:?} must lie in [0, 1)", self.betas));
        }
        if !(self.epsilon.is_finite() && self.epsilon > 0.0) {
            return bad(
                "epsilon",
                format!("{} is not a positive number", self.epsilon),
            );
        }
        if !(self.weight_decay.is_finite() && self.weight_decay >= 0.0) {
            return bad("weight_decay", format!("{} is negative", self.weight_decay));
        }
        if let Some(d) = self.ema_decay
            && !(0.0..1.0).contains(&d)
        {
            return bad("ema_decay", format!("{d} must lie in [0, 1)"));
        }
        Ok(())
    }

    /// Whether a checkpoint is due after finishing step `done` (1-based count of steps done).
    pub fn checkpoint_due(&self, done: u64) -> bool {
        done == self.steps
            || (self.checkpoint_every > 0 && done.is_multiple_of(self.checkpoint_every))
    }
}
