//! The velocity network v_θ(x_t, t, image) (paper §1.4, guided-diffusion `UNetModel.forward`).
//!
//! `cat([x_t, image])` (noisy mask first) → stem conv (`input_blocks.0`) → encoder entries, each
//! output pushed on a skip stack → middle block → decoder entries, each concatenating
//! `[h, popped skip]` → `out` = GN → SiLU → zero-initialised conv3×3. The time embedding of the
//! raw t conditions every ResBlock. An all-zero image is the unconditional (null) condition.

use burn::module::Module;
use burn::nn::GroupNorm;
use burn::nn::conv::Conv2d;
use burn::tensor::activation::silu;
use burn::tensor::{FloatDType, Tensor};

use super::blocks::{DecoderBlock, EncoderBlock, MiddleBlock};
use super::config::UNetConfig;
use super::norm::normed;
use super::time_embed::TimeEmbed;
use crate::precision::to_dtype;

/// The conditional flow-matching velocity U-Net.
#[derive(Module, Debug)]
pub struct UNet {
    /// `time_embed.{0,2}`.
    pub(crate) time_embed: TimeEmbed,
    /// `input_blocks.0.0`: conv3×3 `in_channels` → `channel_mult[0]·C`.
    pub(crate) stem: Conv2d,
    /// `input_blocks.1..`.
    pub(crate) input_blocks: Vec<EncoderBlock>,
    /// `middle_block`.
    pub(crate) middle_block: MiddleBlock,
    /// `output_blocks.0..`.
    pub(crate) output_blocks: Vec<DecoderBlock>,
    /// `out.0`.
    pub(crate) out_norm: GroupNorm,
    /// `out.2`.
    pub(crate) out_conv: Conv2d,
    /// The configuration the network was built from.
    #[module(skip)]
    pub(crate) config: UNetConfig,
}

/// Every block output of one forward pass, named as the fixtures' `intermediates_cond` keys.
#[derive(Debug, Clone)]
pub struct Activations {
    /// `time_sinusoid` `[B, C]`.
    pub time_sinusoid: Tensor<2>,
    /// `time_emb` `[B, 4C]`.
    pub time_emb: Tensor<2>,
    /// `unet_input` `[B, in_channels, H, W]`.
    pub unet_input: Tensor<4>,
    /// `input_blocks.N`, `middle_block`, `output_blocks.N` in execution order.
    pub blocks: Vec<(String, Tensor<4>)>,
    /// The velocity `[B, out_channels, H, W]`.
    pub output: Tensor<4>,
}

impl UNet {
    /// The configuration the network was built from.
    pub fn config(&self) -> &UNetConfig {
        &self.config
    }

    /// The velocity for noisy masks `x_t` at flow times `t` conditioned on `image`.
    ///
    /// # Shapes
    ///
    /// - `x_t`: `[B, in_channels − d_cond_image, H, W]`, H and W divisible by 2^(levels−1)
    /// - `t`: `[B]`, raw flow time in [0, 1]
    /// - `image`: `[B, d_cond_image, H, W]` (all zeros = unconditional)
    /// - returns `[B, out_channels, H, W]`
    ///
    /// # Panics
    ///
    /// If a shape does not match the above.
    pub fn forward(&self, x_t: Tensor<4>, t: Tensor<1>, image: Tensor<4>) -> Tensor<4> {
        self.run(x_t, t, image)
    }

    /// [`Self::forward`] keeping every block output, for bisecting a parity mismatch.
    pub fn forward_with_activations(
        &self,
        x_t: Tensor<4>,
        t: Tensor<1>,
        image: Tensor<4>,
    ) -> Activations {
        self.check_inputs(&x_t, &t, &image);
        let (time_sinusoid, time_emb) = self.time_embed.forward_with_sinusoid(t);
        let unet_input = Tensor::cat(vec![x_t, image], 1); // [B, in_channels, H, W]
        let mut blocks = Vec::new();
        let output = self.body(unet_input.clone(), time_emb.clone(), Some(&mut blocks));
        Activations {
            time_sinusoid,
            time_emb,
            unet_input,
            blocks,
            output,
        }
    }

    fn run(&self, x_t: Tensor<4>, t: Tensor<1>, image: Tensor<4>) -> Tensor<4> {
        self.check_inputs(&x_t, &t, &image);
        let io = FloatDType::from(x_t.dtype());
        let emb = self.time_embed.forward(t);
        let input = to_dtype(Tensor::cat(vec![x_t, image], 1), self.compute_dtype());
        to_dtype(self.body(input, emb, None), io)
    }

    /// The float type of the parameters (f32 unless cast by [`crate::precision::cast_module`]);
    /// inputs are cast to it on entry and the velocity back to the inputs' type.
    pub fn compute_dtype(&self) -> FloatDType {
        FloatDType::from(self.stem.weight.val().dtype())
    }

    /// Stem, encoder, middle, decoder and output head on the concatenated input.
    fn body(
        &self,
        input: Tensor<4>,
        emb: Tensor<2>,
        mut trace: Option<&mut Vec<(String, Tensor<4>)>>,
    ) -> Tensor<4> {
        let mut record = |name: &dyn Fn() -> String, h: &Tensor<4>| {
            if let Some(trace) = trace.as_deref_mut() {
                trace.push((name(), h.clone()));
            }
        };
        let emb_act = silu(emb); // the shared first layer of every `emb_layers`
        let mut h = self.stem.forward(input);
        record(&|| "input_blocks.0".into(), &h);
        let mut skips = vec![h.clone()];
        for (i, block) in self.input_blocks.iter().enumerate() {
            h = block.forward(h, emb_act.clone());
            record(&|| format!("input_blocks.{}", i + 1), &h);
            skips.push(h.clone());
        }
        h = self.middle_block.forward(h, emb_act.clone());
        record(&|| "middle_block".into(), &h);
        let decoder = self.output_blocks.iter().zip(skips.into_iter().rev());
        for (j, (block, skip)) in decoder.enumerate() {
            h = block.forward(h, skip, emb_act.clone());
            record(&|| format!("output_blocks.{j}"), &h);
        }
        self.out_conv.forward(silu(normed(&self.out_norm, h)))
    }

    fn check_inputs(&self, x_t: &Tensor<4>, t: &Tensor<1>, image: &Tensor<4>) {
        let [b, c, h, w] = x_t.dims();
        let mask_channels = self.config.mask_channels();
        assert_eq!(
            c, mask_channels,
            "x_t has {c} channels, the network expects {mask_channels}"
        );
        let expected = [b, self.config.d_cond_image, h, w];
        assert_eq!(
            image.dims(),
            expected,
            "image shape vs [B, d_cond_image, H, W] of x_t"
        );
        assert_eq!(t.dims(), [b], "t must hold one flow time per batch element");
        let factor = self.config.downsample_factor();
        assert!(
            h % factor == 0 && w % factor == 0,
            "input {h}x{w} is not divisible by the total downsampling factor {factor}"
        );
    }
}
