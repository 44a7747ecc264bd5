//! PHiSeg's likelihood p(s | z_0..z_{L−1}) with residual (coarse-to-fine accumulated) outputs
//! (`phiseg_model.py`: `likelihood`; §3.2 "one output per latent level, accumulated").

use burn::module::Module;
use burn::nn::conv::Conv2d;
use burn::tensor::module::interpolate;
use burn::tensor::ops::{InterpolateMode, InterpolateOptions};
use burn::tensor::{Device, Tensor};
use fmseg_model::unet::Upsample;

use super::config::PhisegConfig;
use crate::common::{ConvBlock, conv1x1};

/// The hierarchical likelihood network.
#[derive(Module, Debug)]
pub struct Likelihood {
    /// Level l: conv block on z_l.
    z_in: Vec<ConvBlock>,
    /// Level l < L−1: conv block on `cat([z_in(z_l), up(h_{l+1})])`.
    merge: Vec<ConvBlock>,
    /// Up-sampling conv blocks from latent level 0 to full resolution (R − L of them).
    refine: Vec<ConvBlock>,
    /// Level l: 1×1 conv to one logit.
    heads: Vec<Conv2d>,
    up: Upsample,
}

impl Likelihood {
    /// A likelihood network laid out by a validated `config`.
    pub fn new(config: &PhisegConfig, device: &Device) -> Self {
        let r = config.resolution_levels();
        let f = &config.filters[..r];
        let (n, bn, lc, levels) = (
            config.convs_per_block,
            config.batch_norm,
            config.latent_channels,
            config.latent_levels,
        );
        let fl = |l: usize| f[config.latent_resolution_index(l)];
        let offset = r - levels;
        Self {
            z_in: (0..levels)
                .map(|l| ConvBlock::new(lc, fl(l), n, bn, device))
                .collect(),
            merge: (0..levels - 1)
                .map(|l| ConvBlock::new(fl(l) + fl(l + 1), fl(l), n, bn, device))
                .collect(),
            refine: (0..offset)
                .rev()
                .map(|i| ConvBlock::new(f[i + 1], f[i], n, bn, device))
                .collect(),
            heads: (0..levels)
                .map(|l| conv1x1(if l == 0 { f[0] } else { fl(l) }, 1, device))
                .collect(),
            up: Upsample::new(1, false, device),
        }
    }

    /// The accumulated logits `s_l = Σ_{k ≥ l} ŝ_k`, each `[B, 1, size, size]`, finest level
    /// first (`s_0` is the segmentation), from latents `z[l]` (finest first).
    pub fn forward(&self, z: &[Tensor<4>], size: usize) -> Vec<Tensor<4>> {
        let levels = self.heads.len();
        let resize = |x: Tensor<4>| {
            let options =
                InterpolateOptions::new(InterpolateMode::Nearest).with_output_size([size, size]);
            interpolate(x, options)
        };
        let mut own: Vec<Tensor<4>> = Vec::with_capacity(levels); // ŝ_l, coarsest first
        let mut h: Option<Tensor<4>> = None;
        for l in (0..levels).rev() {
            let zf = self.z_in[l].forward(z[l].clone());
            let cur = match h.take() {
                Some(coarser) => {
                    self.merge[l].forward(Tensor::cat(vec![zf, self.up.forward(coarser)], 1))
                }
                None => zf,
            };
            let head_in = if l == 0 {
                self.refine
                    .iter()
                    .fold(cur.clone(), |x, block| block.forward(self.up.forward(x)))
            } else {
                cur.clone()
            };
            own.push(resize(self.heads[l].forward(head_in)));
            h = Some(cur);
        }
        // own = [ŝ_{L−1}, …, ŝ_0]; accumulate coarse to fine.
        let mut accumulated = Vec::with_capacity(levels);
        let mut sum: Option<Tensor<4>> = None;
        for s in own {
            let next = match sum {
                Some(acc) => acc + s,
                None => s,
            };
            accumulated.push(next.clone());
            sum = Some(next);
        }
        accumulated.reverse();
        accumulated
    }
}
