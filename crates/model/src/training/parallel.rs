//! Synchronous data-parallel gradients over several devices, for one model (burn-train's
//! `MultiDevice` strategy with the optimiser on the main device, written for this loop).
//!
//! Each step the host batch is split into contiguous shards, one per device (sizes differ by at
//! most one). Device 0 runs its shard on the model itself; every other device on a fork of it
//! (`Module::fork`: a copy of the parameters there, same parameter ids). Shard `k`'s loss is
//! weighted by `|shard_k| / B`, so for the batch-mean losses of every objective here the summed
//! gradient is the full batch's; the gradients are moved to device 0 and summed there, where the
//! optimiser steps. No collective library (NCCL) is needed: the transfers are device copies.
//!
//! Not bit-identical to one device: the objectives draw their noise per shard from the same host
//! generator in shard order, and a per-batch CFG drop becomes per shard.

use burn::module::Module;
use burn::optim::{GradientsAccumulator, GradientsParams};
use burn::tensor::{Device, Tensor};
use fmseg_data::rng::Rng;

use super::Objective;
use crate::dataset::Batch;

/// The gradients of `batch`'s loss on `model` computed as shards on `devices` (device 0 holds
/// `model`), summed on device 0, plus the loss and its terms `[1 + T]` (plain, on device 0). Each device is seeded
/// with `seed + k` first (dropout masks).
pub fn shard_gradients<O: Objective>(
    objective: &O,
    model: &O::Model,
    batch: &Batch,
    rng: &mut Rng,
    devices: &[Device],
    seed: u64,
) -> (GradientsParams, Tensor<1>) {
    let total = batch.shape[0] as f64;
    let mut sum = GradientsAccumulator::<O::Model>::new();
    let mut losses: Vec<Tensor<1>> = Vec::with_capacity(devices.len());
    let mut main: Option<Device> = None;
    for (k, (shard, device)) in batch.shards(devices.len()).iter().zip(devices).enumerate() {
        device.seed(seed.wrapping_add(k as u64));
        let replica = if k == 0 {
            model.clone()
        } else {
            model.clone().fork(device)
        };
        let weight = shard.shape[0] as f64 / total;
        let (loss, terms) = objective.loss_with_terms(&replica, shard, rng, device);
        let loss = loss.mul_scalar(weight);
        let plain =
            super::run::logged_row(loss.clone().inner(), terms.map(|t| t.mul_scalar(weight)));
        let target = main.get_or_insert_with(|| plain.device()).clone();
        losses.push(plain.to_device(&target));
        let grads = GradientsParams::from_grads(loss.backward(), &replica);
        sum.accumulate(model, grads.to_device(&target, &replica));
    }
    // Shard rows (loss and terms, each already weighted by the shard's share) summed row-wise.
    let width = losses[0].dims()[0];
    let loss = Tensor::stack::<2>(losses, 0).sum_dim(0).reshape([width]);
    (sum.grads(), loss)
}
