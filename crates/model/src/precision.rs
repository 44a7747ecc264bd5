//! Reduced-precision sampling: the network's parameters cast once to bf16 or f16, its inputs
//! cast on entry and its output cast back to f32, so the ODE state, the solver arithmetic, the
//! time sinusoid and everything outside the network stay f32 (as PyTorch's `autocast` leaves
//! the solver in f32). f32, the default, changes nothing.
//!
//! A device that cannot compute in the type is refused before any work
//! ([`Precision::check`], burn's `Device::supports_dtype`: on Vulkan bf16 is storage-only).
//! Training stays f32: mixed-precision training needs f32 master weights re-cast every step and
//! (f16) loss scaling, which the loop does not do.

use burn::module::{Module, ModuleMapper, Param};
use burn::tensor::{DType, Device, FloatDType, Tensor};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// The float type the network computes in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Precision {
    /// 32-bit IEEE floats (the default; the paper's and the parity fixtures').
    #[default]
    F32,
    /// bfloat16: f32's range, 8 bits of mantissa.
    Bf16,
    /// IEEE half: 11 bits of mantissa, range ±65504.
    F16,
}

impl Precision {
    /// Every precision.
    pub const ALL: [Precision; 3] = [Self::F32, Self::Bf16, Self::F16];

    /// `f32`, `bf16` or `f16`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::F32 => "f32",
            Self::Bf16 => "bf16",
            Self::F16 => "f16",
        }
    }

    /// The burn float type.
    pub fn dtype(self) -> FloatDType {
        match self {
            Self::F32 => FloatDType::F32,
            Self::Bf16 => FloatDType::BF16,
            Self::F16 => FloatDType::F16,
        }
    }

    /// Refuses a precision `device` cannot compute in.
    pub fn check(self, device: &Device, device_name: &str) -> Result<(), PrecisionError> {
        if self == Self::F32 || device.supports_dtype(self.dtype()) {
            Ok(())
        } else {
            Err(PrecisionError {
                precision: self,
                device: device_name.to_string(),
            })
        }
    }
}

fmseg_data::closed_names!(Precision, Precision::as_str);

/// A precision the device cannot compute in.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("{device} cannot compute in {precision} (it may store it, but has no arithmetic); use f32")]
pub struct PrecisionError {
    /// The refused precision.
    pub precision: Precision,
    /// The device, as named to the user.
    pub device: String,
}

/// `module` with every float parameter cast to `precision`, except GroupNorm's, which stay f32
/// (the network normalises in f32, as the official `GroupNorm32`); a no-op for [`Precision::F32`].
pub fn cast_module<M: Module>(module: M, precision: Precision) -> M {
    struct Cast {
        dtype: FloatDType,
        /// Depth of GroupNorm modules entered (their parameters are kept).
        in_norm: usize,
    }
    impl ModuleMapper for Cast {
        fn enter_module(&mut self, _name: &str, container_type: &str) {
            if container_type == "Struct:GroupNorm" {
                self.in_norm += 1;
            }
        }
        fn exit_module(&mut self, _name: &str, container_type: &str) {
            if container_type == "Struct:GroupNorm" {
                self.in_norm -= 1;
            }
        }
        fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
            if self.in_norm > 0 {
                return param;
            }
            let dtype = self.dtype;
            param.map(|t| to_dtype(t, dtype))
        }
    }
    if precision == Precision::F32 {
        return module;
    }
    module.map(&mut Cast {
        dtype: precision.dtype(),
        in_norm: 0,
    })
}

/// `t` in the float type `dtype` (no op when it already is).
pub(crate) fn to_dtype<const D: usize>(t: Tensor<D>, dtype: FloatDType) -> Tensor<D> {
    if t.dtype() == DType::from(dtype) {
        t
    } else {
        t.cast(dtype)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_f32_is_the_default() {
        for p in Precision::ALL {
            assert_eq!(p.as_str().parse::<Precision>(), Ok(p));
            assert_eq!(serde_json::to_string(&p).unwrap(), format!("\"{p}\""));
        }
        assert_eq!(Precision::default(), Precision::F32);
        assert!("fp16".parse::<Precision>().is_err());
    }

    #[test]
    fn the_cpu_computes_in_every_precision() {
        let device = Device::flex();
        for p in Precision::ALL {
            assert_eq!(p.check(&device, "cpu"), Ok(()));
        }
    }

    #[test]
    fn casting_keeps_group_norms_in_f32() {
        let device = Device::flex();
        let unet = crate::UNetConfig::cpu_small().try_init(&device).unwrap();
        let unet = cast_module(unet, Precision::Bf16);
        assert_eq!(unet.compute_dtype(), FloatDType::BF16);
        let gamma = unet.out_norm.gamma.as_ref().unwrap().val();
        assert_eq!(gamma.dtype(), DType::F32);
        let emb = unet.time_embed.linear_in.weight.val();
        assert_eq!(emb.dtype(), DType::BF16);
        assert_eq!(unet.time_embed.freqs.dtype(), DType::F32);
    }
}
