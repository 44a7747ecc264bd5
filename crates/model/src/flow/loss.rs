//! The conditional flow-matching objective of the paper (§1.1, official
//! `training/train_loop.py`): plain MSE between the predicted and the CondOT target velocity,
//! `L = mean_{b,c,h,w} (v_θ(x_t, t, X) − (x1 − x0))²`, with `t ~ U(0, 1)` and `x0 ~ N(0, I)` per
//! sample, and classifier-free-guidance training by replacing the image with zeros.
//!
//! The official code decides the condition drop once per **batch** (one uniform draw, the whole
//! batch is unconditional with probability `class_drop_prob`, README value 0.5);
//! [`CfgDropMode::PerSample`] is offered as an option. All draws come from the step's seeded
//! host [`Rng`] (order: `t` for every sample, then `x0`, then the drop draw(s)).

use burn::tensor::{Device, Tensor, TensorData};
use fmseg_data::rng::Rng;
use serde::{Deserialize, Serialize};

use super::path::{cond_ot, mask_to_model_space};
use crate::dataset::Batch;
use crate::training::{Objective, TrainError};
use crate::unet::{NamedTensor, UNet, UNetConfig};

/// How the classifier-free-guidance condition drop is decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CfgDropMode {
    /// One draw per batch: the whole batch is unconditional or none of it (official).
    PerBatch,
    /// One draw per sample.
    PerSample,
}

/// Which samples keep their image condition: `false` = image replaced by zeros.
///
/// `PerBatch` draws one uniform `u` and drops all `batch` samples iff `u < drop_prob`;
/// `PerSample` draws one `u` per sample.
pub fn cfg_keep(mode: CfgDropMode, drop_prob: f64, batch: usize, rng: &mut Rng) -> Vec<bool> {
    match mode {
        CfgDropMode::PerBatch => vec![rng.uniform() >= drop_prob; batch],
        CfgDropMode::PerSample => (0..batch).map(|_| rng.uniform() >= drop_prob).collect(),
    }
}

/// Flow matching on the velocity U-Net.
#[derive(Debug, Clone, PartialEq)]
pub struct FlowMatching {
    /// The network to build.
    pub unet: UNetConfig,
    /// Probability of training a batch (or sample) unconditionally.
    pub cfg_drop_prob: f64,
    /// Per batch (official) or per sample.
    pub cfg_drop: CfgDropMode,
}

impl FlowMatching {
    /// Host-side inputs of one loss evaluation: `(x0, x1, t, image with drops applied)`.
    ///
    /// # Shapes
    /// `x0`, `x1`: `B×1×H×W`; `t`: `B`; image: `B×C×H×W` (as `batch.images`).
    pub fn draw_inputs(
        &self,
        batch: &Batch,
        rng: &mut Rng,
    ) -> (Vec<f32>, Vec<f32>, Vec<f32>, Vec<f32>) {
        let [b, c, h, w] = batch.shape;
        let t: Vec<f32> = (0..b).map(|_| rng.uniform() as f32).collect();
        let x0: Vec<f32> = (0..b * h * w).map(|_| rng.normal() as f32).collect();
        let keep = cfg_keep(self.cfg_drop, self.cfg_drop_prob, b, rng);
        let plane = c * h * w;
        let mut image = batch.images.clone();
        for (k, keep) in keep.iter().enumerate() {
            if !keep {
                image[k * plane..(k + 1) * plane].fill(0.0);
            }
        }
        (x0, mask_to_model_space(&batch.masks), t, image)
    }
}

impl Objective for FlowMatching {
    type Model = UNet;

    fn name(&self) -> &'static str {
        "flow"
    }

    fn init_model(&self, device: &Device) -> Result<UNet, TrainError> {
        self.unet.try_init(device).map_err(TrainError::model)
    }

    /// `batch.shape = [B, C, H, W]` with `C = d_cond_image`, masks `[B, 1, H, W]` → scalar `[1]`.
    fn loss(&self, model: &UNet, batch: &Batch, rng: &mut Rng, device: &Device) -> Tensor<1> {
        let [b, c, h, w] = batch.shape;
        let (x0, x1, t, image) = self.draw_inputs(batch, rng);
        let x0 = Tensor::from_data(TensorData::new(x0, [b, 1, h, w]), device);
        let x1 = Tensor::from_data(TensorData::new(x1, [b, 1, h, w]), device);
        let t = Tensor::<1>::from_data(TensorData::new(t, [b]), device);
        let image = Tensor::from_data(TensorData::new(image, [b, c, h, w]), device);
        let path = cond_ot(x0, x1, t.clone());
        let v = model.forward(path.x_t, t, image);
        (v - path.velocity).powi_scalar(2).mean()
    }

    fn export(&self, model: &UNet) -> Result<Vec<NamedTensor>, TrainError> {
        model.to_named_tensors().map_err(TrainError::model)
    }

    fn import(
        &self,
        model: UNet,
        tensors: Vec<NamedTensor>,
        source: &str,
    ) -> Result<UNet, TrainError> {
        model
            .load_named_tensors(tensors, source)
            .map_err(TrainError::model)
    }

    fn describe(&self) -> serde_json::Value {
        serde_json::json!({
            "unet": self.unet,
            "objective": {
                "name": "flow-matching",
                "path": "cond-ot",
                "cfg_drop_prob": self.cfg_drop_prob,
                "cfg_drop": self.cfg_drop,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_batch_drop_is_all_or_nothing() {
        let mut rng = Rng::new(11);
        let draws: Vec<Vec<bool>> = (0..400)
            .map(|_| cfg_keep(CfgDropMode::PerBatch, 0.5, 8, &mut rng))
            .collect();
        assert!(draws.iter().all(|k| k.iter().all(|&x| x == k[0])));
        let dropped = draws.iter().filter(|k| !k[0]).count() as f64 / 400.0;
        assert!((dropped - 0.5).abs() < 0.08, "{dropped}");
        assert!(
            cfg_keep(CfgDropMode::PerBatch, 0.0, 4, &mut rng)
                .iter()
                .all(|&k| k)
        );
        assert!(
            cfg_keep(CfgDropMode::PerBatch, 1.0, 4, &mut rng)
                .iter()
                .all(|&k| !k)
        );
    }

    #[test]
    fn per_sample_drop_mixes_within_a_batch() {
        let mut rng = Rng::new(5);
        let draws: Vec<Vec<bool>> = (0..200)
            .map(|_| cfg_keep(CfgDropMode::PerSample, 0.5, 8, &mut rng))
            .collect();
        assert!(
            draws
                .iter()
                .any(|k| k.iter().any(|&x| x) && k.iter().any(|&x| !x))
        );
        let kept = draws.iter().flatten().filter(|&&k| k).count() as f64 / 1600.0;
        assert!((kept - 0.5).abs() < 0.05, "{kept}");
    }
}
