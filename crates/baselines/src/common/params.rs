//! Generic export/import of a burn module's float parameters as named tensors
//! `(dotted module path, shape, row-major f32 values)`, used by every baseline's
//! [`fmseg_model::training::Objective`] (EMA, safetensors checkpoints, `fmseg sample`).
//!
//! Keys are the module's field path (`encoder.blocks.0.convs.1.weight`), built from burn's
//! `enter_module`/`exit_module` callbacks. Import is strict: every parameter must be present
//! exactly once with its exact shape and no tensor may be left over. burn visits a BatchNorm's
//! running statistics (`RunningState`) like float parameters, so they are exported and imported
//! too (`….norms.0.running_mean` / `running_var`; checked in `tests/objective.rs`).

use std::collections::HashMap;

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::tensor::{Tensor, TensorData};
use fmseg_model::unet::NamedTensor;
use thiserror::Error;

/// Why parameters could not be exported or imported.
#[derive(Debug, Clone, PartialEq, Error)]
pub enum ParamsError {
    /// The model has a parameter the tensors lack.
    #[error("{source_name}: missing parameter `{key}`")]
    Missing {
        /// The parameter path.
        key: String,
        /// Where the tensors came from.
        source_name: String,
    },
    /// A tensor no parameter consumes.
    #[error("{source_name}: unexpected tensor `{key}`")]
    Unexpected {
        /// The tensor key.
        key: String,
        /// Where the tensors came from.
        source_name: String,
    },
    /// Shape mismatch.
    #[error("{source_name}: `{key}` has shape {found:?}, the model expects {expected:?}")]
    Shape {
        /// The parameter path.
        key: String,
        /// Where the tensors came from.
        source_name: String,
        /// The model's shape.
        expected: Vec<usize>,
        /// The tensor's shape.
        found: Vec<usize>,
    },
    /// A key appears twice, or the value count does not match the shape.
    #[error("{source_name}: `{key}`: {message}")]
    Malformed {
        /// The tensor key.
        key: String,
        /// Where the tensors came from.
        source_name: String,
        /// What is wrong.
        message: String,
    },
    /// A parameter could not be read back from the device.
    #[error("reading back `{key}`: {message}")]
    Readback {
        /// The parameter path.
        key: String,
        /// The backend's message.
        message: String,
    },
}

#[derive(Default)]
struct Path(Vec<String>);

impl Path {
    fn key(&self) -> String {
        self.0.join(".")
    }
}

struct Exporter {
    path: Path,
    tensors: Vec<NamedTensor>,
    error: Option<ParamsError>,
}

impl ModuleVisitor for Exporter {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.0.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.0.pop();
    }

    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        if self.error.is_some() {
            return;
        }
        let key = self.path.key();
        let value = param.val();
        let shape = value.dims().to_vec();
        match value.into_data().try_into_vec_as::<f32>() {
            Ok(data) => self.tensors.push((key, shape, data)),
            Err(e) => {
                self.error = Some(ParamsError::Readback {
                    key,
                    message: e.to_string(),
                });
            }
        }
    }
}

struct Importer<'a> {
    path: Path,
    tensors: HashMap<String, (Vec<usize>, Vec<f32>)>,
    source: &'a str,
    error: Option<ParamsError>,
}

impl ModuleMapper for Importer<'_> {
    fn enter_module(&mut self, name: &str, _container_type: &str) {
        self.path.0.push(name.to_string());
    }

    fn exit_module(&mut self, _name: &str, _container_type: &str) {
        self.path.0.pop();
    }

    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        if self.error.is_some() {
            return param;
        }
        let key = self.path.key();
        let source_name = self.source.to_string();
        let Some((found, data)) = self.tensors.remove(&key) else {
            self.error = Some(ParamsError::Missing { key, source_name });
            return param;
        };
        let expected = param.lazy_shape().to_vec();
        if found != expected {
            self.error = Some(ParamsError::Shape {
                key,
                source_name,
                expected,
                found,
            });
            return param;
        }
        let device = param.lazy_device();
        let value = Tensor::from_data(TensorData::new(data, found), &device);
        let id = param.id;
        param.transform_for_load(value, id)
    }
}

/// Every float parameter of `model` as `(path, shape, values)`, in module order.
pub fn export_params<M: Module>(model: &M) -> Result<Vec<NamedTensor>, ParamsError> {
    let mut exporter = Exporter {
        path: Path::default(),
        tensors: Vec::new(),
        error: None,
    };
    model.visit(&mut exporter);
    match exporter.error {
        Some(error) => Err(error),
        None => Ok(exporter.tensors),
    }
}

/// `model` with every float parameter replaced by the tensor of the same path (strict: no
/// missing, duplicate, mis-shaped or left-over tensor). `source` names the origin in errors.
pub fn import_params<M: Module>(
    model: M,
    tensors: Vec<NamedTensor>,
    source: &str,
) -> Result<M, ParamsError> {
    let mut map = HashMap::new();
    for (key, shape, data) in tensors {
        let malformed = |key: String, message: String| ParamsError::Malformed {
            key,
            source_name: source.to_string(),
            message,
        };
        if data.len() != shape.iter().product::<usize>() {
            let message = format!("{} values for shape {shape:?}", data.len());
            return Err(malformed(key, message));
        }
        if map.contains_key(&key) {
            return Err(malformed(key, "appears twice".into()));
        }
        map.insert(key, (shape, data));
    }
    let mut importer = Importer {
        path: Path::default(),
        tensors: map,
        source,
        error: None,
    };
    let model = model.map(&mut importer);
    if let Some(error) = importer.error {
        return Err(error);
    }
    if let Some(key) = importer.tensors.into_keys().min() {
        return Err(ParamsError::Unexpected {
            key,
            source_name: source.to_string(),
        });
    }
    Ok(model)
}
