//! Loading and exporting parameters as `(official key, PyTorch shape, f32 values)` triples.
//!
//! This is the format-neutral core of checkpoint interop: the safetensors reader/writer in
//! [`super::file`] and any other reader (e.g. a `.pt` pickle reader returning
//! `Vec<(String, Vec<usize>, Vec<f32>)>`) feed the same strict loader, which requires every key
//! of the network to be present exactly once with the exact PyTorch shape and no key left over.

use std::collections::HashMap;

use super::keys::ParamVisitor;
use super::slot::Slot;
use crate::unet::error::WeightsError;
use crate::unet::model::UNet;

/// One tensor: official key, PyTorch-layout shape, row-major f32 values.
pub type NamedTensor = (String, Vec<usize>, Vec<f32>);

struct Loader<'a> {
    tensors: HashMap<String, (Vec<usize>, Vec<f32>)>,
    source: &'a str,
    error: Option<WeightsError>,
}

impl ParamVisitor for Loader<'_> {
    fn visit(&mut self, key: String, slot: Slot<'_>) {
        if self.error.is_some() {
            return;
        }
        let source_name = self.source.to_string();
        let Some((found, data)) = self.tensors.remove(&key) else {
            self.error = Some(WeightsError::Missing { key, source_name });
            return;
        };
        let expected = slot.torch_shape();
        if found != expected {
            self.error = Some(WeightsError::Shape {
                key,
                source_name,
                expected,
                found,
            });
            return;
        }
        slot.assign(data);
    }
}

struct Exporter {
    tensors: Vec<NamedTensor>,
    error: Option<WeightsError>,
}

impl ParamVisitor for Exporter {
    fn visit(&mut self, key: String, slot: Slot<'_>) {
        if self.error.is_some() {
            return;
        }
        match slot.export() {
            Ok(data) => self.tensors.push((key, slot.torch_shape(), data)),
            Err(reason) => self.error = Some(WeightsError::Readback { key, reason }),
        }
    }
}

impl UNet {
    /// Replaces every parameter by the tensor of the same official key.
    ///
    /// `source` names the origin (a file path) in error messages. Fails, naming the key, on a
    /// duplicate key, a value count that does not match its shape, a missing key, a shape that
    /// differs from the parameter's PyTorch shape, or a key no parameter consumes. On failure
    /// the network is dropped (it would be partially overwritten).
    pub fn load_named_tensors<I>(mut self, tensors: I, source: &str) -> Result<Self, WeightsError>
    where
        I: IntoIterator<Item = NamedTensor>,
    {
        let mut map = HashMap::new();
        for (key, shape, data) in tensors {
            let source_name = source.to_string();
            if data.len() != shape.iter().product::<usize>() {
                return Err(WeightsError::Length {
                    key,
                    source_name,
                    shape,
                    len: data.len(),
                });
            }
            if map.contains_key(&key) {
                return Err(WeightsError::Duplicate { key, source_name });
            }
            map.insert(key, (shape, data));
        }
        let mut loader = Loader {
            tensors: map,
            source,
            error: None,
        };
        self.visit_params(&mut loader);
        if let Some(error) = loader.error {
            return Err(error);
        }
        if let Some(key) = loader.tensors.into_keys().min() {
            return Err(WeightsError::Unexpected {
                key,
                source_name: source.to_string(),
            });
        }
        Ok(self)
    }

    /// Every parameter as `(official key, PyTorch shape, values)`, in module order.
    pub fn to_named_tensors(&self) -> Result<Vec<NamedTensor>, WeightsError> {
        let mut exporter = Exporter {
            tensors: Vec::new(),
            error: None,
        };
        self.clone().visit_params(&mut exporter);
        match exporter.error {
            Some(error) => Err(error),
            None => Ok(exporter.tensors),
        }
    }
}
