//! PHiSeg's prior p(z_l | z_{l+1}, x) and posterior q(z_l | z_{l+1}, x, s) networks
//! (`phiseg_model.py`: `prior` / `posterior`; §3.2 "Prior and posterior are conv nets,
//! upsampled samples from coarser levels are fed down").

use burn::module::Module;
use burn::nn::conv::Conv2d;
use burn::tensor::{Device, Tensor};
use fmseg_model::unet::Upsample;

use super::config::PhisegConfig;
use crate::common::{ConvBlock, ConvEncoder, conv1x1};
use crate::gaussian::DiagGaussian;

/// A hierarchical Gaussian encoder (prior or posterior).
#[derive(Module, Debug)]
pub struct HierarchicalEncoder {
    encoder: ConvEncoder,
    /// Level l < L−1: conv block on the upsampled z_{l+1}.
    z_in: Vec<ConvBlock>,
    /// Level l < L−1: conv block on `cat([features, z_in(up(z_{l+1}))])`.
    merge: Vec<ConvBlock>,
    /// Level l: 1×1 conv to `2·latent_channels` (μ, log σ).
    heads: Vec<Conv2d>,
    up: Upsample,
    /// R − L: the resolution index of latent level 0.
    #[module(skip)]
    offset: usize,
    #[module(skip)]
    latent_channels: usize,
}

/// Per-level distributions and samples, finest level first.
#[derive(Debug, Clone)]
pub struct HierarchySamples {
    /// `dists[l]` over `[B, latent_channels, h_l, w_l]`.
    pub dists: Vec<DiagGaussian<4>>,
    /// `z[l]`: the sample of level l (the given one when conditioning on given samples).
    pub z: Vec<Tensor<4>>,
}

impl HierarchicalEncoder {
    /// An encoder over `in_channels` input channels laid out by a validated `config`.
    pub fn new(config: &PhisegConfig, in_channels: usize, device: &Device) -> Self {
        let r = config.resolution_levels();
        let f = &config.filters[..r];
        let (n, bn, lc) = (
            config.convs_per_block,
            config.batch_norm,
            config.latent_channels,
        );
        let levels = config.latent_levels;
        let fl = |l: usize| f[config.latent_resolution_index(l)];
        Self {
            encoder: ConvEncoder::new(in_channels, f, n, bn, device),
            z_in: (0..levels - 1)
                .map(|l| ConvBlock::new(lc, fl(l), 1, bn, device))
                .collect(),
            merge: (0..levels - 1)
                .map(|l| ConvBlock::new(2 * fl(l), fl(l), n, bn, device))
                .collect(),
            heads: (0..levels)
                .map(|l| conv1x1(fl(l), 2 * lc, device))
                .collect(),
            up: Upsample::new(1, false, device),
            offset: r - levels,
            latent_channels: lc,
        }
    }

    /// Runs the hierarchy from the coarsest latent down.
    ///
    /// With `given = Some(z)` (the prior during training), level l conditions on `z[l+1]` and
    /// returns `z` unchanged as its samples; otherwise level l conditions on its own sample
    /// of level l+1, drawn as `μ + σ·noise[l]` (`noise[l]` standard normal, shaped as level l).
    pub fn forward(
        &self,
        input: Tensor<4>,
        given: Option<&[Tensor<4>]>,
        noise: &[Tensor<4>],
    ) -> HierarchySamples {
        let features = self.encoder.forward_levels(input);
        let levels = self.heads.len();
        let lc = self.latent_channels;
        let mut dists: Vec<Option<DiagGaussian<4>>> = vec![None; levels];
        let mut zs: Vec<Option<Tensor<4>>> = vec![None; levels];
        for l in (0..levels).rev() {
            let f = features[self.offset + l].clone();
            let h = if l + 1 < levels {
                let coarser = match given {
                    Some(z) => z[l + 1].clone(),
                    None => zs[l + 1].clone().expect("coarser level already sampled"),
                };
                let z_feat = self.z_in[l].forward(self.up.forward(coarser));
                self.merge[l].forward(Tensor::cat(vec![f, z_feat], 1))
            } else {
                f
            };
            let out = self.heads[l].forward(h);
            let dist = DiagGaussian::new(out.clone().narrow(1, 0, lc), out.narrow(1, lc, lc));
            zs[l] = Some(match given {
                Some(z) => z[l].clone(),
                None => dist.rsample(noise[l].clone()),
            });
            dists[l] = Some(dist);
        }
        HierarchySamples {
            dists: dists.into_iter().flatten().collect(),
            z: zs.into_iter().flatten().collect(),
        }
    }
}
