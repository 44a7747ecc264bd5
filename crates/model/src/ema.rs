//! Exponential moving average of the parameters (paper-and-baselines §1.3, official
//! `models/ema.py`): after optimizer step k = 1, 2, … the shadow moves towards the parameters,
//! `shadow ← shadow − (1 − d_k)·(shadow − θ)` with the warm-up decay
//! `d_k = min(d_max, (1 + k) / (10 + k))` (d_max = 0.999 in the paper). The shadow starts as a
//! copy of the initial parameters; its weights are the ones used for evaluation and sampling.
//!
//! This host version keeps the shadow as official-named tensors ([`NamedTensor`]); it is the
//! reference that the training loop's device-resident [`crate::ema_device::DeviceEma`] is tested
//! against bit for bit, and the form checkpoints store (f32 arithmetic, one fixed operation
//! order, so save/resume is bit-exact).

use thiserror::Error;

use crate::unet::NamedTensor;

/// The shadow does not match the parameters it is updated with.
#[derive(Debug, Error)]
#[error("EMA update: {0}")]
pub struct EmaError(pub String);

/// The warm-up decay of update `k` (1-based): `min(max_decay, (1 + k) / (10 + k))`.
pub fn ema_decay(k: u64, max_decay: f64) -> f64 {
    let k = k as f64;
    max_decay.min((1.0 + k) / (10.0 + k))
}

/// The moving average of a model's named parameters.
#[derive(Debug, Clone, PartialEq)]
pub struct Ema {
    shadow: Vec<NamedTensor>,
    updates: u64,
    max_decay: f64,
}

impl Ema {
    /// A shadow equal to `params`, with no update done yet.
    pub fn new(params: Vec<NamedTensor>, max_decay: f64) -> Self {
        Self::resume(params, 0, max_decay)
    }

    /// A shadow restored from a checkpoint after `updates` updates.
    pub fn resume(shadow: Vec<NamedTensor>, updates: u64, max_decay: f64) -> Self {
        Self {
            shadow,
            updates,
            max_decay,
        }
    }

    /// Number of updates done.
    pub fn updates(&self) -> u64 {
        self.updates
    }

    /// The shadow parameters.
    pub fn shadow(&self) -> &[NamedTensor] {
        &self.shadow
    }

    /// One update with the current parameters (same keys, order and shapes as the shadow);
    /// returns the decay used.
    pub fn update(&mut self, params: &[NamedTensor]) -> Result<f64, EmaError> {
        if params.len() != self.shadow.len() {
            return Err(EmaError(format!(
                "{} parameters, the shadow has {}",
                params.len(),
                self.shadow.len()
            )));
        }
        let decay = ema_decay(self.updates + 1, self.max_decay);
        let rate = (1.0 - decay) as f32;
        for ((key, shape, shadow), (pkey, pshape, theta)) in self.shadow.iter_mut().zip(params) {
            if key != pkey || shape != pshape {
                return Err(EmaError(format!(
                    "parameter {pkey} {pshape:?} vs shadow {key} {shape:?}"
                )));
            }
            for (s, &p) in shadow.iter_mut().zip(theta) {
                *s -= rate * (*s - p);
            }
        }
        self.updates += 1;
        Ok(decay)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn warm_up_matches_the_formula() {
        assert_eq!(ema_decay(1, 0.999), 2.0 / 11.0);
        assert_eq!(ema_decay(2, 0.999), 3.0 / 12.0);
        assert_eq!(ema_decay(10, 0.999), 11.0 / 20.0);
        // (1 + k) / (10 + k) reaches 0.999 at k = 8991.
        assert_eq!(ema_decay(8990, 0.999), 8991.0 / 9000.0);
        assert_eq!(ema_decay(8991, 0.999), 0.999);
        assert_eq!(ema_decay(1_000_000, 0.999), 0.999);
    }

    #[test]
    fn updates_follow_the_recursion() {
        let key = || ("w".to_string(), vec![2]);
        let (k, s) = key();
        let mut ema = Ema::new(vec![(k, s, vec![0.0, 1.0])], 0.999);
        let (k, s) = key();
        let params = vec![(k, s, vec![1.0, 1.0])];
        let mut expect = 0.0f32;
        for step in 1..=3u64 {
            let d = ema.update(&params).unwrap();
            assert_eq!(d, ema_decay(step, 0.999));
            expect -= ((1.0 - d) as f32) * (expect - 1.0);
            assert_eq!(ema.shadow()[0].2, vec![expect, 1.0]);
        }
        assert_eq!(ema.updates(), 3);
        let (_, s) = key();
        assert!(ema.update(&[("v".into(), s, vec![0.0, 0.0])]).is_err());
    }
}
