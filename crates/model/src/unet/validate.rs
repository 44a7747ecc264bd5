//! Which [`UNetConfig`] values this implementation accepts.
//!
//! The official constructor has options the paper's networks never use (`resblock_updown`,
//! class embeddings, Fourier features, an identity stem, a zeroed time embedding, 1-D/3-D
//! convolutions). They are rejected with [`ConfigError::Unsupported`] naming the argument,
//! rather than silently building a different network. Nonsensical values (zero channels, a
//! dropout outside [0, 1), head counts that do not divide the width) are
//! [`ConfigError::Invalid`].

use super::config::UNetConfig;
use super::error::ConfigError;

impl UNetConfig {
    pub(crate) fn check_supported(&self) -> Result<(), ConfigError> {
        let unsupported = |field, value: String, reason| {
            Err(ConfigError::Unsupported {
                field,
                value,
                reason,
            })
        };
        if self.dims != 2 {
            return unsupported("dims", self.dims.to_string(), "only 2-D images (dims = 2)");
        }
        if let Some(n) = self.num_classes {
            return unsupported("num_classes", n.to_string(), "no class embedding (null)");
        }
        if self.resblock_updown {
            return unsupported(
                "resblock_updown",
                "true".into(),
                "plain Downsample/Upsample",
            );
        }
        if self.with_fourier_features {
            return unsupported(
                "with_fourier_features",
                "true".into(),
                "no Fourier features",
            );
        }
        if self.ignore_time {
            return unsupported(
                "ignore_time",
                "true".into(),
                "the time embedding is required",
            );
        }
        if !self.input_projection {
            return unsupported("input_projection", "false".into(), "a 3x3 stem conv");
        }
        Ok(())
    }

    pub(crate) fn check_values(&self) -> Result<(), ConfigError> {
        let invalid = |field, value: String, reason: &str| {
            Err(ConfigError::Invalid {
                field,
                value,
                reason: reason.to_string(),
            })
        };
        if self.model_channels == 0 {
            return invalid("model_channels", "0".into(), "must be positive");
        }
        if self.out_channels == 0 {
            return invalid("out_channels", "0".into(), "must be positive");
        }
        if self.channel_mult.is_empty() || self.channel_mult.contains(&0) {
            let value = format!("{:?}", self.channel_mult);
            return invalid(
                "channel_mult",
                value,
                "needs at least one positive multiplier",
            );
        }
        if self.d_cond_image >= self.in_channels {
            let value = self.d_cond_image.to_string();
            let reason = format!(
                "must leave a mask channel of in_channels = {}",
                self.in_channels
            );
            return invalid("d_cond_image", value, &reason);
        }
        if !(self.dropout.is_finite() && (0.0..1.0).contains(&self.dropout)) {
            return invalid("dropout", self.dropout.to_string(), "must lie in [0, 1)");
        }
        if self.num_heads == 0 {
            return invalid("num_heads", "0".into(), "must be positive");
        }
        if self.num_head_channels != -1 && self.num_head_channels <= 0 {
            let value = self.num_head_channels.to_string();
            return invalid("num_head_channels", value, "must be -1 or positive");
        }
        if self.num_heads_upsample != -1 && self.num_heads_upsample <= 0 {
            let value = self.num_heads_upsample.to_string();
            return invalid("num_heads_upsample", value, "must be -1 or positive");
        }
        Ok(())
    }
}
