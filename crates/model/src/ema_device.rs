//! The EMA of [`crate::ema`] kept on the training device: one flattened shadow tensor per float
//! parameter (in the module's visit order), updated with two tensor operations per parameter and
//! no host round trip; it is brought to the host only when a checkpoint or the final weights are
//! written ([`DeviceEma::shadow_model`] → the objective's `export`).
//!
//! The update is the same f32 arithmetic as the host version, `s ← s − (1 − d_k)·(s − θ)` (one
//! subtraction, one multiplication by the f32 rate, one subtraction), so on the CPU the shadow is
//! bit-identical to [`crate::ema::Ema`] (tested) and resumed runs stay bit-identical.

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param};
use burn::tensor::Tensor;

use crate::ema::ema_decay;

/// The moving average of a module's float parameters, on the module's device.
#[derive(Debug, Clone)]
pub struct DeviceEma {
    shadow: Vec<Tensor<1>>,
    updates: u64,
    max_decay: f64,
}

/// Collects every float parameter, flattened and without autodiff.
struct Collect(Vec<Tensor<1>>);

impl ModuleVisitor for Collect {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let value = param.val().inner();
        let n = value.shape().num_elements();
        self.0.push(value.reshape([n]));
    }
}

/// Moves the shadow towards the visited parameters.
struct Update<'a> {
    shadow: &'a mut [Tensor<1>],
    next: usize,
    rate: f32,
}

impl ModuleVisitor for Update<'_> {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        let value = param.val().inner();
        let n = value.shape().num_elements();
        if let Some(s) = self.shadow.get_mut(self.next) {
            let theta = value.reshape([n]);
            let step = (s.clone() - theta).mul_scalar(self.rate);
            *s = s.clone() - step;
        }
        self.next += 1;
    }
}

/// Replaces every float parameter's value by its shadow (same id, same autodiff state).
struct Replace<'a> {
    shadow: &'a [Tensor<1>],
    next: usize,
}

impl ModuleMapper for Replace<'_> {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let Some(s) = self.shadow.get(self.next) else {
            return param;
        };
        self.next += 1;
        param.map(|value| {
            let shadow = s.clone().reshape(value.shape());
            if value.is_autodiff() {
                shadow.autodiff()
            } else {
                shadow
            }
        })
    }
}

impl DeviceEma {
    /// A shadow equal to `model`'s parameters after `updates` updates (0 for a new run; a
    /// resumed run passes a model holding the saved shadow).
    pub fn new<M: Module>(model: &M, updates: u64, max_decay: f64) -> Self {
        let mut collect = Collect(Vec::new());
        model.visit(&mut collect);
        Self {
            shadow: collect.0,
            updates,
            max_decay,
        }
    }

    /// Number of updates done.
    pub fn updates(&self) -> u64 {
        self.updates
    }

    /// One update with `model`'s current parameters; returns the decay used.
    pub fn update<M: Module>(&mut self, model: &M) -> f64 {
        let decay = ema_decay(self.updates + 1, self.max_decay);
        let mut update = Update {
            shadow: &mut self.shadow,
            next: 0,
            rate: (1.0 - decay) as f32,
        };
        model.visit(&mut update);
        self.updates += 1;
        decay
    }

    /// `model` with every float parameter replaced by its shadow (for export).
    pub fn shadow_model<M: Module>(&self, model: M) -> M {
        model.map(&mut Replace {
            shadow: &self.shadow,
            next: 0,
        })
    }
}

#[cfg(test)]
mod tests {
    use burn::nn::{Linear, LinearConfig};
    use burn::tensor::{Device, Distribution};

    use super::*;
    use crate::ema::Ema;

    /// Every float parameter of `m` as host values, in visit order.
    fn host(m: &Linear) -> Vec<Vec<f32>> {
        let mut c = Collect(Vec::new());
        m.visit(&mut c);
        c.0.into_iter()
            .map(|t| t.into_data().try_to_vec::<f32>().unwrap())
            .collect()
    }

    /// `m` with every float parameter redrawn uniformly in [-1, 1].
    struct Redraw;
    impl ModuleMapper for Redraw {
        fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
            param.map(|v| Tensor::random(v.shape(), Distribution::Uniform(-1.0, 1.0), &v.device()))
        }
    }

    #[test]
    fn device_shadow_is_bit_identical_to_the_host_ema() {
        let device = Device::flex();
        device.seed(7);
        let mut model: Linear = LinearConfig::new(5, 3).init(&device);
        let named = |values: Vec<Vec<f32>>| -> Vec<crate::unet::NamedTensor> {
            values
                .into_iter()
                .enumerate()
                .map(|(i, v)| (format!("p{i}"), vec![v.len()], v))
                .collect()
        };
        let mut on_host = Ema::new(named(host(&model)), 0.999);
        let mut on_device = DeviceEma::new(&model, 0, 0.999);
        for _ in 0..6 {
            model = model.map(&mut Redraw);
            let d_host = on_host.update(&named(host(&model))).unwrap();
            let d_device = on_device.update(&model);
            assert_eq!(d_host, d_device);
        }
        assert_eq!(on_device.updates(), 6);
        let shadow = host(&on_device.shadow_model(model.clone()));
        let expected: Vec<Vec<f32>> = on_host.shadow().iter().map(|t| t.2.clone()).collect();
        assert_eq!(shadow, expected, "bitwise equal");
        // The model itself is untouched by export.
        assert_ne!(host(&model), expected);
    }
}
