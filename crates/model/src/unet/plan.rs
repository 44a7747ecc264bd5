//! The block-by-block layout of the U-Net, derived from a validated [`UNetConfig`].
//!
//! Mirrors the construction loop of guided-diffusion's `UNetModel.__init__` (paper §1.4 layer
//! table): per level, `num_res_blocks` encoder ResBlocks (+ attention when the downsampling
//! factor is in `attention_resolutions`) and a parameter-free or conv Downsample except after
//! the last level; the middle block ResBlock–Attention–ResBlock; per level in reverse,
//! `num_res_blocks + 1` decoder ResBlocks that each consume one skip (popped last-in first-out),
//! with an Upsample closing every level but the top one. Indices follow the official keys:
//! encoder entry `i` is `input_blocks.{i+1}` (`input_blocks.0` is the stem conv), decoder entry
//! `j` is `output_blocks.{j}`.

use super::config::UNetConfig;
use super::error::ConfigError;
use super::norm::GROUPS;

/// Channels of one ResBlock.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResPlan {
    /// Input channels (for the decoder: h + skip).
    pub in_channels: usize,
    /// Output channels.
    pub out_channels: usize,
}

/// Width and head count of one attention block.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AttentionPlan {
    /// Channels C.
    pub channels: usize,
    /// Heads; each head is C / heads wide.
    pub heads: usize,
}

/// One `input_blocks.{i+1}` entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EncoderPlan {
    /// ResBlock at sub-index 0, optional attention at sub-index 1.
    Res(ResPlan, Option<AttentionPlan>),
    /// Downsample by 2 at sub-index 0, keeping the channel count.
    Down(usize),
}

/// One `output_blocks.{j}` entry (input is `cat([h, skip])`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecoderPlan {
    /// ResBlock at sub-index 0; `in_channels` includes the skip.
    pub res: ResPlan,
    /// Optional attention at sub-index 1.
    pub attention: Option<AttentionPlan>,
    /// Whether an Upsample (×2) closes the entry, at the last sub-index.
    pub upsample: bool,
}

/// The complete layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UNetPlan {
    /// Output channels of the stem conv (`input_blocks.0.0`).
    pub stem_channels: usize,
    /// `input_blocks.1..`.
    pub encoder: Vec<EncoderPlan>,
    /// Channels and heads of `middle_block` (ResBlock C→C, attention, ResBlock C→C).
    pub middle: AttentionPlan,
    /// `output_blocks.0..`.
    pub decoder: Vec<DecoderPlan>,
    /// Channels entering the output head (`out.0`).
    pub out_in_channels: usize,
    /// Number of ×2 downsamplings; inputs must have sides divisible by 2^this.
    pub downsamplings: usize,
}

impl UNetConfig {
    /// Checks every supported-value rule and derives the layout.
    pub fn plan(&self) -> Result<UNetPlan, ConfigError> {
        self.check_supported()?;
        self.check_values()?;
        let plan = self.build_plan()?;
        check_group_norms(&plan)?;
        Ok(plan)
    }

    fn build_plan(&self) -> Result<UNetPlan, ConfigError> {
        let mc = self.model_channels;
        let last = self.channel_mult.len() - 1;
        let stem_channels = self.channel_mult[0] * mc;
        let (mut ch, mut ds) = (stem_channels, 1usize);
        let mut skips = vec![ch];
        let mut encoder = Vec::new();
        for (level, mult) in self.channel_mult.iter().enumerate() {
            for _ in 0..self.num_res_blocks {
                let res = ResPlan {
                    in_channels: ch,
                    out_channels: mult * mc,
                };
                ch = res.out_channels;
                encoder.push(EncoderPlan::Res(
                    res,
                    self.attention_at(ds, ch, self.num_heads)?,
                ));
                skips.push(ch);
            }
            if level != last {
                encoder.push(EncoderPlan::Down(ch));
                skips.push(ch);
                ds *= 2;
            }
        }
        let middle = AttentionPlan {
            channels: ch,
            heads: self.heads(ch, self.num_heads)?,
        };
        let up_heads = match self.num_heads_upsample {
            -1 => self.num_heads,
            n => n as usize,
        };
        let mut decoder = Vec::new();
        for (level, mult) in self.channel_mult.iter().enumerate().rev() {
            for i in 0..=self.num_res_blocks {
                let skip = skips.pop().unwrap_or_default();
                let res = ResPlan {
                    in_channels: ch + skip,
                    out_channels: mult * mc,
                };
                ch = res.out_channels;
                let attention = self.attention_at(ds, ch, up_heads)?;
                let upsample = level != 0 && i == self.num_res_blocks;
                if upsample {
                    ds /= 2;
                }
                decoder.push(DecoderPlan {
                    res,
                    attention,
                    upsample,
                });
            }
        }
        Ok(UNetPlan {
            stem_channels,
            encoder,
            middle,
            decoder,
            out_in_channels: ch,
            downsamplings: last,
        })
    }

    fn attention_at(
        &self,
        ds: usize,
        channels: usize,
        num_heads: usize,
    ) -> Result<Option<AttentionPlan>, ConfigError> {
        if !self.attention_resolutions.contains(&ds) {
            return Ok(None);
        }
        Ok(Some(AttentionPlan {
            channels,
            heads: self.heads(channels, num_heads)?,
        }))
    }

    /// Head count for a `channels`-wide block, as guided-diffusion's `AttentionBlock` picks it.
    fn heads(&self, channels: usize, num_heads: usize) -> Result<usize, ConfigError> {
        let (heads, field) = match self.num_head_channels {
            -1 => (num_heads, "num_heads"),
            width if channels.is_multiple_of(width as usize) => {
                (channels / width as usize, "num_head_channels")
            }
            _ => (0, "num_head_channels"),
        };
        if heads == 0 || !channels.is_multiple_of(heads) {
            return Err(ConfigError::Invalid {
                field,
                value: format!("{heads} heads"),
                reason: format!("does not split {channels} attention channels evenly"),
            });
        }
        Ok(heads)
    }
}

/// Every GroupNorm in the layout must see a multiple of [`GROUPS`] channels.
fn check_group_norms(plan: &UNetPlan) -> Result<(), ConfigError> {
    let mut norms: Vec<(String, usize)> = Vec::new();
    let mut res = |prefix: String, r: &ResPlan| {
        norms.push((format!("{prefix}.in_layers.0"), r.in_channels));
        norms.push((format!("{prefix}.out_layers.0"), r.out_channels));
    };
    for (i, block) in plan.encoder.iter().enumerate() {
        if let EncoderPlan::Res(r, _) = block {
            res(format!("input_blocks.{}.0", i + 1), r);
        }
    }
    let mid = ResPlan {
        in_channels: plan.middle.channels,
        out_channels: plan.middle.channels,
    };
    res("middle_block.0".into(), &mid);
    for (j, block) in plan.decoder.iter().enumerate() {
        res(format!("output_blocks.{j}.0"), &block.res);
    }
    norms.push(("out.0".into(), plan.out_in_channels));
    match norms.into_iter().find(|(_, c)| c % GROUPS != 0) {
        Some((layer, channels)) => Err(ConfigError::GroupNorm {
            layer,
            channels,
            groups: GROUPS,
        }),
        None => Ok(()),
    }
}
