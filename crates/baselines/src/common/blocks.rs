//! Convolutional building blocks of the Prob-UNet / PHiSeg family.
//!
//! Both reference codes build their encoders from blocks of 3×3 convs with ReLU (Kohl et al.'s
//! `prob_unet_config.py`: 3 convs per block; PHiSeg-code: the same, with batch norm), halving the
//! resolution with 2×2 average pooling between blocks. The axis-aligned Gaussian encoder of
//! Prob-UNet (paper-and-baselines §3.1), also used by CIMD's AMN/ACN (§3.3), ends in global
//! average pooling and a 1×1 conv to `2·latent` channels (mean, log σ).

use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{BatchNorm, BatchNormConfig, PaddingConfig2d};
use burn::tensor::activation::relu;
use burn::tensor::{Device, Tensor};
use fmseg_model::unet::Downsample;

use crate::gaussian::DiagGaussian;

/// 3×3 conv, padding 1.
pub(crate) fn conv3x3(c_in: usize, c_out: usize, device: &Device) -> Conv2d {
    Conv2dConfig::new([c_in, c_out], [3, 3])
        .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
        .init(device)
}

/// 1×1 conv.
pub(crate) fn conv1x1(c_in: usize, c_out: usize, device: &Device) -> Conv2d {
    Conv2dConfig::new([c_in, c_out], [1, 1]).init(device)
}

/// `n` × (conv3×3 → [BatchNorm] → ReLU).
#[derive(Module, Debug)]
pub struct ConvBlock {
    convs: Vec<Conv2d>,
    norms: Vec<BatchNorm>,
}

impl ConvBlock {
    /// A block `c_in → c_out` of `n ≥ 1` convs, with batch norm after each conv if `batch_norm`.
    pub fn new(c_in: usize, c_out: usize, n: usize, batch_norm: bool, device: &Device) -> Self {
        let convs = (0..n.max(1))
            .map(|i| conv3x3(if i == 0 { c_in } else { c_out }, c_out, device))
            .collect();
        let norms = if batch_norm {
            (0..n.max(1))
                .map(|_| BatchNormConfig::new(c_out).init(device))
                .collect()
        } else {
            Vec::new()
        };
        Self { convs, norms }
    }

    /// `[B, C_in, H, W]` → `[B, C_out, H, W]`.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let mut h = x;
        for (i, conv) in self.convs.iter().enumerate() {
            h = conv.forward(h);
            if let Some(norm) = self.norms.get(i) {
                h = norm.forward(h);
            }
            h = relu(h);
        }
        h
    }
}

/// A stack of [`ConvBlock`]s, one per resolution level, with 2×2 average pooling before every
/// block but the first.
#[derive(Module, Debug)]
pub struct ConvEncoder {
    blocks: Vec<ConvBlock>,
    pool: Downsample,
}

impl ConvEncoder {
    /// Levels with `filters[i]` channels each, `convs` convs per block.
    pub fn new(
        in_channels: usize,
        filters: &[usize],
        convs: usize,
        batch_norm: bool,
        device: &Device,
    ) -> Self {
        let mut c_in = in_channels;
        let blocks = filters
            .iter()
            .map(|&f| {
                let block = ConvBlock::new(c_in, f, convs, batch_norm, device);
                c_in = f;
                block
            })
            .collect();
        Self {
            blocks,
            pool: Downsample::new(1, false, device),
        }
    }

    /// Every level's output, finest first: level `i` is `[B, filters[i], H/2^i, W/2^i]`.
    pub fn forward_levels(&self, x: Tensor<4>) -> Vec<Tensor<4>> {
        let mut out: Vec<Tensor<4>> = Vec::with_capacity(self.blocks.len());
        let mut h = x;
        for (i, block) in self.blocks.iter().enumerate() {
            if i > 0 {
                h = self.pool.forward(h);
            }
            h = block.forward(h);
            out.push(h.clone());
        }
        out
    }

    /// Only the coarsest level's output.
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let mut h = x;
        for (i, block) in self.blocks.iter().enumerate() {
            if i > 0 {
                h = self.pool.forward(h);
            }
            h = block.forward(h);
        }
        h
    }
}

/// Conv encoder → global average pooling → 1×1 conv to `2·latent`: an axis-aligned Gaussian
/// over a `latent`-dimensional vector (Prob-UNet's `AxisAlignedConvGaussian`).
#[derive(Module, Debug)]
pub struct AxisAlignedEncoder {
    encoder: ConvEncoder,
    head: Conv2d,
    latent: usize,
}

impl AxisAlignedEncoder {
    /// An encoder over `in_channels` input channels.
    pub fn new(
        in_channels: usize,
        filters: &[usize],
        convs: usize,
        latent: usize,
        device: &Device,
    ) -> Self {
        let last = filters.last().copied().unwrap_or(in_channels);
        Self {
            encoder: ConvEncoder::new(in_channels, filters, convs, false, device),
            head: conv1x1(last, 2 * latent, device),
            latent,
        }
    }

    /// `[B, C_in, H, W]` → Gaussian with mean and log σ of shape `[B, latent]`.
    pub fn forward(&self, x: Tensor<4>) -> DiagGaussian<2> {
        let h = self.encoder.forward(x).mean_dim(2).mean_dim(3); // [B, F, 1, 1]
        let out = self.head.forward(h); // [B, 2k, 1, 1]
        let b = out.dims()[0];
        let out = out.reshape([b, 2 * self.latent]);
        DiagGaussian::new(
            out.clone().narrow(1, 0, self.latent),
            out.narrow(1, self.latent, self.latent),
        )
    }
}

/// Tiles `z` `[B, K]` over an `h × w` grid: `[B, K, h, w]`.
pub fn tile_latent(z: Tensor<2>, h: usize, w: usize) -> Tensor<4> {
    let [b, k] = z.dims();
    z.reshape([b, k, 1, 1]).expand([b, k, h, w])
}
