//! Floating-point operations of one forward pass, counted from the layout ([`UNetPlan`]):
//! 2 per multiply-add of every convolution, linear layer and attention product (the `gflop_per_s`
//! of `fmseg bench`). Norms, activations, resampling without convolution and additions are
//! left out (a few per cent at these widths), as is customary.

use super::config::UNetConfig;
use super::error::ConfigError;
use super::plan::{AttentionPlan, EncoderPlan, ResPlan};

/// A k×k convolution `c_in → c_out` over `pixels` output positions.
fn conv(k: usize, c_in: usize, c_out: usize, pixels: usize) -> f64 {
    2.0 * (k * k * c_in * c_out * pixels) as f64
}

impl UNetConfig {
    /// FLOPs of one sample's forward pass at `height × width` (sides divisible by the
    /// downsampling factor); a training step is about three times this (forward + backward).
    pub fn forward_flops(&self, height: usize, width: usize) -> Result<f64, ConfigError> {
        let plan = self.plan()?;
        let emb = self.time_embed_dim();
        let emb_out = |c: usize| if self.use_scale_shift_norm { 2 * c } else { c };
        let res = |r: &ResPlan, pixels: usize| {
            let skip = if r.in_channels == r.out_channels {
                0.0
            } else {
                conv(1, r.in_channels, r.out_channels, pixels)
            };
            conv(3, r.in_channels, r.out_channels, pixels)
                + conv(3, r.out_channels, r.out_channels, pixels)
                + 2.0 * (emb * emb_out(r.out_channels)) as f64
                + skip
        };
        let attention = |a: &AttentionPlan, pixels: usize| {
            let c = a.channels;
            conv(1, c, 3 * c, pixels) + conv(1, c, c, pixels) + 4.0 * (pixels * pixels * c) as f64
        };
        let mc = self.model_channels;
        let mut total = 2.0 * (mc * emb + emb * emb) as f64; // the time MLP
        let mut pixels = height * width;
        total += conv(3, self.in_channels, plan.stem_channels, pixels);
        for entry in &plan.encoder {
            match entry {
                EncoderPlan::Res(r, a) => {
                    total += res(r, pixels) + a.as_ref().map_or(0.0, |a| attention(a, pixels));
                }
                EncoderPlan::Down(c) => {
                    pixels /= 4;
                    if self.conv_resample {
                        total += conv(3, *c, *c, pixels);
                    }
                }
            }
        }
        let m = plan.middle;
        let middle = ResPlan {
            in_channels: m.channels,
            out_channels: m.channels,
        };
        total += 2.0 * res(&middle, pixels) + attention(&m, pixels);
        for d in &plan.decoder {
            total +=
                res(&d.res, pixels) + d.attention.as_ref().map_or(0.0, |a| attention(a, pixels));
            if d.upsample {
                pixels *= 4;
                if self.conv_resample {
                    total += conv(3, d.res.out_channels, d.res.out_channels, pixels);
                }
            }
        }
        total += conv(3, plan.out_in_channels, self.out_channels, pixels);
        Ok(total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_single_level_net_counts_by_hand() {
        // One level, one ResBlock C→C, no attention outside the middle block.
        let config = UNetConfig {
            model_channels: 32,
            channel_mult: vec![1],
            num_res_blocks: 1,
            attention_resolutions: vec![],
            use_scale_shift_norm: false,
            ..UNetConfig::lidc_condition()
        };
        let (c, p, e) = (32usize, 16 * 16, 128usize);
        let conv3 = |i: usize, o: usize| 2.0 * (9 * i * o * p) as f64;
        let res = |i: usize, o: usize| {
            conv3(i, o)
                + conv3(o, o)
                + 2.0 * (e * o) as f64
                + if i == o {
                    0.0
                } else {
                    2.0 * (i * o * p) as f64
                }
        };
        let attn =
            2.0 * (c * 3 * c * p) as f64 + 2.0 * (c * c * p) as f64 + 4.0 * (p * p * c) as f64;
        let decoder = res(2 * c, c) + res(2 * c, c); // num_res_blocks + 1 entries, each with a skip
        let want = 2.0 * (c * e + e * e) as f64
            + conv3(2, c)
            + res(c, c)
            + 2.0 * res(c, c)
            + attn
            + decoder
            + conv3(c, 1);
        let got = config.forward_flops(16, 16).unwrap();
        assert!((got - want).abs() < 1e-6 * want, "{got} vs {want}");
    }
}
