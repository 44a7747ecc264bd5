//! The composite entries of `input_blocks`, `middle_block` and `output_blocks`.
//!
//! Each official `TimestepEmbedSequential` becomes one typed struct or enum here, so the
//! sub-index of every layer is fixed by its field (see [`super::plan`] for the layout and
//! `weights::keys` for the key names).

use burn::module::Module;
use burn::tensor::Tensor;

use super::attention::AttentionBlock;
use super::resample::{Downsample, Upsample};
use super::resblock::ResBlock;

/// ResBlock (sub-index 0) optionally followed by attention (sub-index 1).
#[derive(Module, Debug)]
pub struct ResAttention {
    /// Sub-index 0.
    pub(crate) res: ResBlock,
    /// Sub-index 1.
    pub(crate) attention: Option<AttentionBlock>,
}

impl ResAttention {
    /// `[B, C_in, H, W]` → `[B, C_out, H, W]`, with `emb_act = SiLU(emb)` `[B, 4C]`.
    pub fn forward(&self, x: Tensor<4>, emb_act: Tensor<2>) -> Tensor<4> {
        let h = self.res.forward(x, emb_act);
        match &self.attention {
            Some(attention) => attention.forward(h),
            None => h,
        }
    }
}

/// One `input_blocks.{i}` entry after the stem.
// A network holds a dozen of these, built once: boxing the large variant would buy nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Module, Debug)]
pub enum EncoderBlock {
    /// ResBlock (+ attention).
    Res(ResAttention),
    /// Downsample at sub-index 0.
    Down(Downsample),
}

impl EncoderBlock {
    /// Applies the entry; `emb_act` is `SiLU(emb)` `[B, 4C]`.
    pub fn forward(&self, x: Tensor<4>, emb_act: Tensor<2>) -> Tensor<4> {
        match self {
            Self::Res(block) => block.forward(x, emb_act),
            Self::Down(down) => down.forward(x),
        }
    }
}

/// `middle_block`: ResBlock (0), attention (1), ResBlock (2), all C → C.
#[derive(Module, Debug)]
pub struct MiddleBlock {
    /// Sub-index 0.
    pub(crate) res_in: ResBlock,
    /// Sub-index 1.
    pub(crate) attention: AttentionBlock,
    /// Sub-index 2.
    pub(crate) res_out: ResBlock,
}

impl MiddleBlock {
    /// `[B, C, H, W]` → `[B, C, H, W]`.
    pub fn forward(&self, x: Tensor<4>, emb_act: Tensor<2>) -> Tensor<4> {
        let h = self.res_in.forward(x, emb_act.clone());
        self.res_out.forward(self.attention.forward(h), emb_act)
    }
}

/// One `output_blocks.{j}` entry: ResBlock on `cat([h, skip])` (+ attention) (+ Upsample).
#[derive(Module, Debug)]
pub struct DecoderBlock {
    /// Sub-indices 0 and 1.
    pub(crate) body: ResAttention,
    /// Last sub-index (1 or 2).
    pub(crate) upsample: Option<Upsample>,
}

impl DecoderBlock {
    /// `h` `[B, C_h, H, W]` and `skip` `[B, C_s, H, W]` → `[B, C_out, H', W']` (H' = 2H when
    /// the entry upsamples). The current `h` comes first in the concatenation.
    pub fn forward(&self, h: Tensor<4>, skip: Tensor<4>, emb_act: Tensor<2>) -> Tensor<4> {
        let h = self.body.forward(Tensor::cat(vec![h, skip], 1), emb_act);
        match &self.upsample {
            Some(up) => up.forward(h),
            None => h,
        }
    }
}
