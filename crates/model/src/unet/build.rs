//! Building a freshly initialised [`UNet`] from a [`UNetConfig`] (guided-diffusion
//! `UNetModel.__init__`, laid out by [`super::plan`]).
//!
//! Parameters get PyTorch's default bounds (burn's Kaiming-uniform with gain 1/√3 is
//! U(±1/√fan_in), as `nn.Conv2d` / `nn.Linear`), and the layers the official code wraps in
//! `zero_module` start at zero: every ResBlock's `out_layers.3`, every attention `proj_out` and
//! the final `out.2`, so a fresh network outputs v = 0 (paper §5 "Zero-initialised last convs").

use burn::tensor::Device;

use super::attention::AttentionBlock;
use super::blocks::{DecoderBlock, EncoderBlock, MiddleBlock, ResAttention};
use super::config::UNetConfig;
use super::error::ConfigError;
use super::model::UNet;
use super::norm::group_norm;
use super::plan::{EncoderPlan, ResPlan};
use super::resample::{Downsample, Upsample};
use super::resblock::{ResBlock, conv3x3};
use super::time_embed::TimeEmbed;

impl UNetConfig {
    /// Builds a freshly initialised network (PyTorch-default bounds, the official zero-init of
    /// `out_layers.3`, `proj_out` and `out.2`), or says which config value is unsupported.
    pub fn try_init(&self, device: &Device) -> Result<UNet, ConfigError> {
        let plan = self.plan()?;
        let emb = self.time_embed_dim();
        let res =
            |p: ResPlan| ResBlock::new(p, emb, self.dropout, self.use_scale_shift_norm, device);
        let new_order = self.use_new_attention_order;
        let input_blocks = plan
            .encoder
            .iter()
            .map(|block| match *block {
                EncoderPlan::Res(p, attention) => EncoderBlock::Res(ResAttention {
                    res: res(p),
                    attention: attention.map(|a| AttentionBlock::new(a, new_order, device)),
                }),
                EncoderPlan::Down(ch) => {
                    EncoderBlock::Down(Downsample::new(ch, self.conv_resample, device))
                }
            })
            .collect();
        let mid = ResPlan {
            in_channels: plan.middle.channels,
            out_channels: plan.middle.channels,
        };
        let output_blocks = plan
            .decoder
            .iter()
            .map(|block| DecoderBlock {
                body: ResAttention {
                    res: res(block.res),
                    attention: block
                        .attention
                        .map(|a| AttentionBlock::new(a, new_order, device)),
                },
                upsample: block
                    .upsample
                    .then(|| Upsample::new(block.res.out_channels, self.conv_resample, device)),
            })
            .collect();
        Ok(UNet {
            time_embed: TimeEmbed::new(self.model_channels, device),
            stem: conv3x3(self.in_channels, plan.stem_channels, false, device),
            input_blocks,
            middle_block: MiddleBlock {
                res_in: res(mid),
                attention: AttentionBlock::new(plan.middle, new_order, device),
                res_out: res(mid),
            },
            output_blocks,
            out_norm: group_norm(plan.out_in_channels, device),
            out_conv: conv3x3(plan.out_in_channels, self.out_channels, true, device),
            config: self.clone(),
        })
    }

    /// As [`Self::try_init`].
    ///
    /// # Panics
    ///
    /// If the config is unsupported or invalid (the [`ConfigError`] message says which field).
    pub fn init(&self, device: &Device) -> UNet {
        match self.try_init(device) {
            Ok(unet) => unet,
            Err(err) => panic!("{err}"),
        }
    }
}
