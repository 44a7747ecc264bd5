//! The compute device, chosen once at run time (burn-mnist's `select_device`, style-anchors
//! §2.5): `--device auto|cpu|cuda[:N]|vulkan[:N]` on every command that runs a network, else
//! `FMSEG_DEVICE`, else an experiment's `device:`, else `auto`. This is the only file that names a
//! concrete backend or a backend cargo feature; everything below it takes a `&Device`.
//!
//! - `cpu`: burn's `flex` backend (always built).
//! - `cuda[:N]`: CUDA device N (default 0); needs a binary built with `--features cuda`.
//! - `vulkan[:N]`: the N-th discrete GPU through Vulkan (without N, wgpu's default adapter, which
//!   under Slurm is the allocated GPU); needs `--features vulkan`.
//! - `auto`: CUDA when compiled in and a device is present, else Vulkan likewise, else the CPU.
//!
//! The device is recorded in `manifest.json`, `train.json` and `cell.json` by its
//! [`SelectedDevice::name`]; it is never part of a cache key, so a model trained on a GPU is
//! reused on the CPU.

use std::fmt;
use std::str::FromStr;

use burn::tensor::Device;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Environment variable read when no `--device` flag is given.
pub const DEVICE_ENV: &str = "FMSEG_DEVICE";

/// A device request, as written on the command line, in the environment or in an experiment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(into = "String")]
pub enum DeviceChoice {
    /// The best device this binary can reach.
    #[default]
    Auto,
    /// The CPU (`flex`).
    Cpu,
    /// A CUDA device by index.
    Cuda(usize),
    /// A Vulkan GPU by discrete-GPU index, or the default adapter.
    Vulkan(Option<usize>),
}

/// Why a device request was refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum DeviceError {
    /// Not of the form `auto|cpu|cuda[:N]|vulkan[:N]`.
    #[error("'{0}': expected auto, cpu, cuda[:N] or vulkan[:N]")]
    Syntax(String),
    /// The backend is not compiled into this binary.
    #[error(
        "{choice}: this fmseg was built without {backend}; rebuild with `cargo build --release -p fmseg-runner --features {feature}`"
    )]
    NotBuilt {
        /// The request.
        choice: DeviceChoice,
        /// The backend's name.
        backend: &'static str,
        /// The cargo feature that compiles it in.
        feature: &'static str,
    },
    /// The backend is built but the device is not on this machine.
    #[error("{choice}: no such device on this machine ({found} {backend} device(s) found)")]
    Absent {
        /// The request.
        choice: DeviceChoice,
        /// The backend's name.
        backend: &'static str,
        /// How many devices of that backend were found.
        found: usize,
    },
}

impl FromStr for DeviceChoice {
    type Err = DeviceError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let syntax = || DeviceError::Syntax(s.to_string());
        let (kind, index) = match s.split_once(':') {
            Some((k, i)) => (k, Some(i.parse::<usize>().map_err(|_| syntax())?)),
            None => (s, None),
        };
        match (kind, index) {
            ("auto", None) => Ok(Self::Auto),
            ("cpu", None) => Ok(Self::Cpu),
            ("cuda", i) => Ok(Self::Cuda(i.unwrap_or(0))),
            ("vulkan", i) => Ok(Self::Vulkan(i)),
            _ => Err(syntax()),
        }
    }
}

impl<'de> Deserialize<'de> for DeviceChoice {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        fmseg_data::names::deserialize_parsed(d, "auto, cpu, cuda[:N] or vulkan[:N]")
    }
}

impl From<DeviceChoice> for String {
    fn from(c: DeviceChoice) -> Self {
        c.to_string()
    }
}

impl fmt::Display for DeviceChoice {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Auto => f.write_str("auto"),
            Self::Cpu => f.write_str("cpu"),
            Self::Cuda(i) => write!(f, "cuda:{i}"),
            Self::Vulkan(None) => f.write_str("vulkan"),
            Self::Vulkan(Some(i)) => write!(f, "vulkan:{i}"),
        }
    }
}

/// A device ready for use, with the name the outputs record.
#[derive(Debug, Clone)]
pub struct SelectedDevice {
    /// The plain (inference) device; `.autodiff()` gives the training device.
    pub device: Device,
    /// `cpu`, `cuda:N`, `vulkan` or `vulkan:N`.
    pub name: String,
}

impl SelectedDevice {
    /// The CPU.
    pub fn cpu() -> Self {
        Self {
            device: Device::flex(),
            name: DeviceChoice::Cpu.to_string(),
        }
    }

    /// Whether this is a GPU device.
    pub fn is_gpu(&self) -> bool {
        self.name != "cpu"
    }
}

/// The autodiff devices a model trains on and their names joined by `,`: `choices`
/// (`training.devices`, data parallel) when given, else the run's device.
pub fn training_devices(
    choices: &[DeviceChoice],
    run: &SelectedDevice,
) -> Result<(Vec<Device>, String), DeviceError> {
    if choices.is_empty() {
        return Ok((vec![run.device.clone().autodiff()], run.name.clone()));
    }
    let selected = choices
        .iter()
        .map(|&c| select(c))
        .collect::<Result<Vec<_>, _>>()?;
    let names: Vec<&str> = selected.iter().map(|s| s.name.as_str()).collect();
    let names = names.join(",");
    Ok((
        selected.into_iter().map(|s| s.device.autodiff()).collect(),
        names,
    ))
}

/// The device of the first of `flag`, `$FMSEG_DEVICE` and `file` that is given (else `auto`).
/// A malformed `$FMSEG_DEVICE` is an error naming the variable.
pub fn resolve_choice(
    flag: Option<DeviceChoice>,
    file: Option<DeviceChoice>,
) -> Result<DeviceChoice, String> {
    if let Some(c) = flag {
        return Ok(c);
    }
    if let Ok(value) = std::env::var(DEVICE_ENV)
        && !value.is_empty()
    {
        return value.parse().map_err(|e| format!("${DEVICE_ENV}: {e}"));
    }
    Ok(file.unwrap_or_default())
}

/// Opens the requested device; refuses a backend this binary lacks or a device it cannot see.
pub fn select(choice: DeviceChoice) -> Result<SelectedDevice, DeviceError> {
    match choice {
        DeviceChoice::Cpu => Ok(SelectedDevice::cpu()),
        DeviceChoice::Cuda(index) => cuda(choice, index),
        DeviceChoice::Vulkan(index) => vulkan(choice, index),
        DeviceChoice::Auto => Ok(cuda(choice, 0)
            .or_else(|_| vulkan(choice, None))
            .unwrap_or_else(|_| SelectedDevice::cpu())),
    }
}

#[cfg(feature = "cuda")]
fn cuda(choice: DeviceChoice, index: usize) -> Result<SelectedDevice, DeviceError> {
    use burn::tensor::DeviceType;
    let found = Device::enumerate(DeviceType::Cuda).len();
    if index >= found {
        return Err(DeviceError::Absent {
            choice,
            backend: "CUDA",
            found,
        });
    }
    Ok(SelectedDevice {
        device: Device::cuda(index),
        name: DeviceChoice::Cuda(index).to_string(),
    })
}

#[cfg(not(feature = "cuda"))]
fn cuda(choice: DeviceChoice, _index: usize) -> Result<SelectedDevice, DeviceError> {
    Err(DeviceError::NotBuilt {
        choice,
        backend: "CUDA",
        feature: "cuda",
    })
}

#[cfg(feature = "vulkan")]
fn vulkan(choice: DeviceChoice, index: Option<usize>) -> Result<SelectedDevice, DeviceError> {
    use burn::tensor::{DeviceKind, DeviceType};
    let found = Device::enumerate(DeviceType::Vulkan);
    let kind = match index {
        Some(i) => DeviceKind::DiscreteGpu(i),
        None => DeviceKind::DefaultDevice,
    };
    let device = Device::vulkan(kind);
    let present = match index {
        Some(_) => found.contains(&device),
        None => !found.is_empty(),
    };
    if !present {
        return Err(DeviceError::Absent {
            choice,
            backend: "Vulkan",
            found: found.len(),
        });
    }
    Ok(SelectedDevice {
        device,
        name: DeviceChoice::Vulkan(index).to_string(),
    })
}

#[cfg(not(feature = "vulkan"))]
fn vulkan(choice: DeviceChoice, _index: Option<usize>) -> Result<SelectedDevice, DeviceError> {
    Err(DeviceError::NotBuilt {
        choice,
        backend: "Vulkan",
        feature: "vulkan",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_prints_every_form() {
        for text in ["auto", "cpu", "cuda:0", "cuda:3", "vulkan", "vulkan:1"] {
            let c: DeviceChoice = text.parse().unwrap();
            assert_eq!(c.to_string(), text);
        }
        assert_eq!("cuda".parse::<DeviceChoice>(), Ok(DeviceChoice::Cuda(0)));
        for bad in ["gpu", "cuda:x", "cpu:1", "auto:0", ""] {
            let err = bad.parse::<DeviceChoice>().unwrap_err().to_string();
            assert!(err.contains("expected auto, cpu"), "{err}");
        }
    }

    #[test]
    fn the_cpu_is_always_there_and_auto_falls_back_to_it() {
        assert_eq!(select(DeviceChoice::Cpu).unwrap().name, "cpu");
        if !cfg!(any(feature = "cuda", feature = "vulkan")) {
            assert_eq!(select(DeviceChoice::Auto).unwrap().name, "cpu");
            let err = select(DeviceChoice::Cuda(0)).unwrap_err().to_string();
            assert!(err.contains("--features cuda"), "{err}");
            let err = select(DeviceChoice::Vulkan(None)).unwrap_err().to_string();
            assert!(err.contains("--features vulkan"), "{err}");
        }
    }

    #[test]
    fn flag_wins_then_environment_then_file() {
        // The environment is process-wide: this test only reads it when unset.
        if std::env::var(DEVICE_ENV).is_err() {
            assert_eq!(resolve_choice(None, None), Ok(DeviceChoice::Auto));
            assert_eq!(
                resolve_choice(None, Some(DeviceChoice::Cpu)),
                Ok(DeviceChoice::Cpu)
            );
        }
        assert_eq!(
            resolve_choice(Some(DeviceChoice::Cuda(1)), Some(DeviceChoice::Cpu)),
            Ok(DeviceChoice::Cuda(1))
        );
    }
}
