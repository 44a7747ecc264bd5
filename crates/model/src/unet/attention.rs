//! Spatial self-attention (guided-diffusion `AttentionBlock`, paper §1.4 "Attention block").
//!
//! `x + proj_out(attn(qkv(GN(x))))` over the H·W tokens (row-major, no positional encoding).
//! The official `qkv` and `proj_out` are `Conv1d(k = 1)` layers; here they are `Linear` layers
//! over tokens with the same weights (the trailing kernel axis squeezed, transposed to burn's
//! `[in, out]` layout). Logits are `q·k/√d` per head of width d = C / heads, softmax over keys.
//! The channel split follows `use_new_attention_order`: `true` (`QKVAttention`) takes q, k, v as
//! consecutive thirds of the 3C channels, each split into heads; `false` (`QKVAttentionLegacy`)
//! splits into heads first, each head holding its own `[q | k | v]`. The product uses
//! `burn::tensor::module::attention` (a fused kernel on flex at inference; burn decomposes it
//! into matmul + softmax under autodiff).

use burn::module::Module;
use burn::nn::{GroupNorm, Initializer, Linear, LinearConfig};
use burn::tensor::module::attention;
use burn::tensor::ops::AttentionModuleOptions;
use burn::tensor::{Device, Tensor};

use super::norm::{group_norm, normed};
use super::plan::AttentionPlan;

/// One attention block over C channels.
#[derive(Module, Debug)]
pub struct AttentionBlock {
    /// `norm`: GroupNorm(C).
    pub(crate) norm: GroupNorm,
    /// `qkv`: C → 3C (official Conv1d weight `[3C, C, 1]`).
    pub(crate) qkv: Linear,
    /// `proj_out`: C → C (official Conv1d weight `[C, C, 1]`), zero-initialised.
    pub(crate) proj_out: Linear,
    /// Number of heads.
    pub(crate) heads: usize,
    /// `use_new_attention_order`.
    pub(crate) new_order: bool,
}

impl AttentionBlock {
    /// A freshly initialised block (`proj_out` zeroed as the official `zero_module`).
    pub fn new(plan: AttentionPlan, new_order: bool, device: &Device) -> Self {
        let c = plan.channels;
        Self {
            norm: group_norm(c, device),
            qkv: LinearConfig::new(c, 3 * c).init(device),
            proj_out: LinearConfig::new(c, c)
                .with_initializer(Initializer::Zeros)
                .init(device),
            heads: plan.heads,
            new_order,
        }
    }

    /// Applies the block.
    ///
    /// # Shapes
    ///
    /// - `x`: `[B, C, H, W]`
    /// - returns `[B, C, H, W]`
    pub fn forward(&self, x: Tensor<4>) -> Tensor<4> {
        let [b, c, h, w] = x.dims();
        let (heads, t) = (self.heads, h * w);
        let d = c / heads;
        let tokens = normed(&self.norm, x.clone())
            .reshape([b, c, t])
            .swap_dims(1, 2); // [B, T, C]
        let qkv = self.qkv.forward(tokens); // [B, T, 3C]
        let (qkv, axis) = if self.new_order {
            (qkv.reshape([b, t, 3, heads, d]), 2) // [B, T, (q|k|v), heads, d]
        } else {
            (qkv.reshape([b, t, heads, 3, d]), 3) // [B, T, heads, (q|k|v), d]
        };
        let part = |i: usize| {
            qkv.clone()
                .narrow(axis, i, 1)
                .reshape([b, t, heads, d])
                .swap_dims(1, 2) // [B, heads, T, d]
        };
        let options = AttentionModuleOptions::default(); // scale 1/√d
        let a = attention(part(0), part(1), part(2), None, None, options); // [B, heads, T, d]
        let a = a.swap_dims(1, 2).reshape([b, t, c]); // [B, T, C]
        let out = self
            .proj_out
            .forward(a)
            .swap_dims(1, 2)
            .reshape([b, c, h, w]);
        x + out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use burn::tensor::Distribution;
    use burn::tensor::activation::softmax;

    /// Per-head reference with explicit channel offsets, as the official Conv1d layout reads.
    fn reference(block: &AttentionBlock, x: Tensor<4>) -> Tensor<4> {
        let [b, c, h, w] = x.dims();
        let d = c / block.heads;
        let tokens = block
            .norm
            .forward(x.clone())
            .reshape([b, c, h * w])
            .swap_dims(1, 2);
        let qkv = block.qkv.forward(tokens); // [B, T, 3C]
        let heads: Vec<Tensor<3>> = (0..block.heads)
            .map(|head| {
                let offset = |part: usize| match block.new_order {
                    true => part * c + head * d,
                    false => head * 3 * d + part * d,
                };
                let take = |part: usize| qkv.clone().narrow(2, offset(part), d); // [B, T, d]
                let logits = take(0).matmul(take(1).swap_dims(1, 2)) / (d as f64).sqrt();
                softmax(logits, 2).matmul(take(2)) // [B, T, d]
            })
            .collect();
        let a = Tensor::cat(heads, 2); // [B, T, C]
        x + block
            .proj_out
            .forward(a)
            .swap_dims(1, 2)
            .reshape([b, c, h, w])
    }

    fn random_block(heads: usize, new_order: bool, device: &Device) -> AttentionBlock {
        let plan = AttentionPlan {
            channels: 32,
            heads,
        };
        let mut block = AttentionBlock::new(plan, new_order, device);
        block.proj_out = LinearConfig::new(32, 32).init(device);
        block
    }

    #[test]
    fn matches_per_head_reference_for_both_orders() {
        let device = Device::flex();
        for (heads, new_order) in [(1, true), (1, false), (4, true), (4, false)] {
            let block = random_block(heads, new_order, &device);
            let x = Tensor::<4>::random([2, 32, 4, 5], Distribution::Default, &device);
            let diff = (block.forward(x.clone()) - reference(&block, x))
                .abs()
                .max()
                .into_scalar::<f32>();
            assert!(diff < 1e-5, "heads {heads} new_order {new_order}: {diff}");
        }
    }

    #[test]
    fn zero_initialised_projection_makes_the_block_the_identity() {
        let device = Device::flex();
        let block = AttentionBlock::new(
            AttentionPlan {
                channels: 32,
                heads: 1,
            },
            true,
            &device,
        );
        let x = Tensor::<4>::random([1, 32, 3, 3], Distribution::Default, &device);
        assert_eq!(
            (block.forward(x.clone()) - x)
                .abs()
                .max()
                .into_scalar::<f32>(),
            0.0
        );
    }

    #[test]
    fn gradients_flow_on_autodiff_device() {
        let device = Device::flex().autodiff();
        let block = random_block(2, true, &device);
        let x = Tensor::<4>::random([1, 32, 4, 4], Distribution::Default, &device).require_grad();
        let grads = block.forward(x.clone()).powi_scalar(2).sum().backward();
        let gx = x.grad(&grads).expect("input gradient");
        assert!(gx.abs().sum().into_scalar::<f32>() > 0.0);
    }
}
