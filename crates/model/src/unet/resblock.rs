//! The time-conditioned residual block (guided-diffusion `ResBlock`, paper §1.4 "ResBlock").
//!
//! `h = conv3×3(SiLU(GN(x)))`; `e = Linear(SiLU(emb))`; with scale-shift norm
//! `h = GN(h)·(1+scale)+shift` (scale = first half of `e`), otherwise `h = GN(h + e)`;
//! `h = conv3×3(Dropout(SiLU(h)))`; result `skip(x) + h` with `skip` the identity or a 1×1 conv.
//! Official sub-keys: `in_layers.{0,2}`, `emb_layers.1`, `out_layers.{0,3}`, `skip_connection`.

use burn::module::Module;
use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::{
    Dropout, DropoutConfig, GroupNorm, Initializer, Linear, LinearConfig, PaddingConfig2d,
};
use burn::tensor::activation::silu;
use burn::tensor::{Device, Tensor};

use super::norm::{group_norm, normed};
use super::plan::ResPlan;

/// 3×3 conv with padding 1, optionally zero-initialised (the official `zero_module`).
pub(crate) fn conv3x3(c_in: usize, c_out: usize, zero: bool, device: &Device) -> Conv2d {
    let config = Conv2dConfig::new([c_in, c_out], [3, 3])
        .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1));
    let config = if zero {
        config.with_initializer(Initializer::Zeros)
    } else {
        config
    };
    config.init(device)
}

/// One ResBlock `C_in → C_out`.
#[derive(Module, Debug)]
pub struct ResBlock {
    /// `in_layers.0`: GroupNorm(C_in).
    pub(crate) in_norm: GroupNorm,
    /// `in_layers.2`: conv3×3 C_in → C_out.
    pub(crate) in_conv: Conv2d,
    /// `emb_layers.1`: Linear 4C → 2·C_out (scale-shift) or C_out (additive).
    pub(crate) emb_proj: Linear,
    /// `out_layers.0`: GroupNorm(C_out).
    pub(crate) out_norm: GroupNorm,
    /// `out_layers.2`: dropout (identity unless training on an autodiff device).
    pub(crate) dropout: Dropout,
    /// `out_layers.3`: conv3×3 C_out → C_out, zero-initialised.
    pub(crate) out_conv: Conv2d,
    /// `skip_connection`: 1×1 conv when C_in ≠ C_out.
    pub(crate) skip: Option<Conv2d>,
    /// FiLM (`true`) or additive (`false`) time conditioning.
    pub(crate) scale_shift: bool,
}

impl ResBlock {
    /// A freshly initialised block with the given channels and time-embedding width.
    pub fn new(
        plan: ResPlan,
        emb_dim: usize,
        dropout: f64,
        scale_shift: bool,
        device: &Device,
    ) -> Self {
        let ResPlan {
            in_channels: c_in,
            out_channels: c_out,
        } = plan;
        let emb_out = if scale_shift { 2 * c_out } else { c_out };
        let skip = (c_in != c_out).then(|| Conv2dConfig::new([c_in, c_out], [1, 1]).init(device));
        Self {
            in_norm: group_norm(c_in, device),
            in_conv: conv3x3(c_in, c_out, false, device),
            emb_proj: LinearConfig::new(emb_dim, emb_out).init(device),
            out_norm: group_norm(c_out, device),
            dropout: DropoutConfig::new(dropout).init(),
            out_conv: conv3x3(c_out, c_out, true, device),
            skip,
            scale_shift,
        }
    }

    /// Applies the block.
    ///
    /// `emb_act` is `SiLU(emb)`: the official `emb_layers` starts with a SiLU, which the U-Net
    /// computes once and shares between all blocks.
    ///
    /// # Shapes
    ///
    /// - `x`: `[B, C_in, H, W]`
    /// - `emb_act`: `[B, 4C]`
    /// - returns `[B, C_out, H, W]`
    pub fn forward(&self, x: Tensor<4>, emb_act: Tensor<2>) -> Tensor<4> {
        let h = self.in_conv.forward(silu(normed(&self.in_norm, x.clone())));
        let [batch, channels, _, _] = h.dims();
        let e = self.emb_proj.forward(emb_act);
        let e_width = e.dims()[1];
        let e = e.reshape([batch, e_width, 1, 1]); // [B, 2·C_out or C_out, 1, 1]
        let h = if self.scale_shift {
            let scale = e.clone().narrow(1, 0, channels); // [B, C_out, 1, 1]
            let shift = e.narrow(1, channels, channels); // [B, C_out, 1, 1]
            normed(&self.out_norm, h) * (scale + 1.0) + shift
        } else {
            normed(&self.out_norm, h + e)
        };
        let h = self.out_conv.forward(self.dropout.forward(silu(h)));
        match &self.skip {
            Some(conv) => conv.forward(x) + h,
            None => x + h,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Distribution;

    #[test]
    fn shapes_and_skip_for_both_conditioning_variants() {
        let device = Device::flex();
        for scale_shift in [true, false] {
            let plan = ResPlan {
                in_channels: 64,
                out_channels: 32,
            };
            let block = ResBlock::new(plan, 16, 0.1, scale_shift, &device);
            assert!(block.skip.is_some());
            assert_eq!(
                block.emb_proj.weight.dims(),
                [16, if scale_shift { 64 } else { 32 }]
            );
            let x = Tensor::<4>::random([2, 64, 8, 8], Distribution::Default, &device);
            let emb = Tensor::<2>::random([2, 16], Distribution::Default, &device);
            assert_eq!(block.forward(x, emb).dims(), [2, 32, 8, 8]);
        }
        let same = ResBlock::new(
            ResPlan {
                in_channels: 32,
                out_channels: 32,
            },
            16,
            0.0,
            true,
            &device,
        );
        assert!(same.skip.is_none());
    }

    #[test]
    fn zero_initialised_output_conv_makes_the_block_the_identity() {
        let device = Device::flex();
        let block = ResBlock::new(
            ResPlan {
                in_channels: 32,
                out_channels: 32,
            },
            8,
            0.0,
            true,
            &device,
        );
        let x = Tensor::<4>::random([1, 32, 4, 4], Distribution::Default, &device);
        let emb = Tensor::<2>::random([1, 8], Distribution::Default, &device);
        let diff = (block.forward(x.clone(), emb) - x)
            .abs()
            .max()
            .into_scalar::<f32>();
        assert_eq!(diff, 0.0);
    }
}
