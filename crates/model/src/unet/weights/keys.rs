//! The official `state_dict` key of every parameter, in module order.
//!
//! Mirrors the attribute names of guided-diffusion's `UNetModel` (see the parity README): the
//! time MLP `time_embed.{0,2}`, `input_blocks.N.M`, `middle_block.K`, `output_blocks.N.M` and
//! the head `out.{0,2}`; inside a ResBlock `in_layers.{0,2}`, `emb_layers.1`, `out_layers.{0,3}`
//! and `skip_connection`; inside an attention block `norm`, `qkv`, `proj_out`; resampling convs
//! `op` (down) and `conv` (up). The walk visits keys in the order PyTorch registers them, so
//! [`UNet::parameter_shapes`] equals the fixtures' ordered `state_dict` list.

use burn::nn::conv::Conv2d;
use burn::nn::{GroupNorm, Linear};

use super::slot::Slot;
use crate::unet::attention::AttentionBlock;
use crate::unet::blocks::{EncoderBlock, ResAttention};
use crate::unet::model::UNet;
use crate::unet::resblock::ResBlock;

/// Receives every parameter under its official key.
pub(crate) trait ParamVisitor {
    /// One parameter.
    fn visit(&mut self, key: String, slot: Slot<'_>);
}

fn linear(v: &mut dyn ParamVisitor, prefix: &str, layer: &mut Linear, conv1d: bool) {
    let weight = match conv1d {
        true => Slot::Conv1d(&mut layer.weight),
        false => Slot::Linear(&mut layer.weight),
    };
    v.visit(format!("{prefix}.weight"), weight);
    if let Some(bias) = &mut layer.bias {
        v.visit(format!("{prefix}.bias"), Slot::Vector(bias));
    }
}

fn conv(v: &mut dyn ParamVisitor, prefix: &str, layer: &mut Conv2d) {
    v.visit(format!("{prefix}.weight"), Slot::Conv2d(&mut layer.weight));
    if let Some(bias) = &mut layer.bias {
        v.visit(format!("{prefix}.bias"), Slot::Vector(bias));
    }
}

fn norm(v: &mut dyn ParamVisitor, prefix: &str, layer: &mut GroupNorm) {
    if let Some(gamma) = &mut layer.gamma {
        v.visit(format!("{prefix}.weight"), Slot::Vector(gamma));
    }
    if let Some(beta) = &mut layer.beta {
        v.visit(format!("{prefix}.bias"), Slot::Vector(beta));
    }
}

fn res_block(v: &mut dyn ParamVisitor, prefix: &str, block: &mut ResBlock) {
    norm(v, &format!("{prefix}.in_layers.0"), &mut block.in_norm);
    conv(v, &format!("{prefix}.in_layers.2"), &mut block.in_conv);
    linear(
        v,
        &format!("{prefix}.emb_layers.1"),
        &mut block.emb_proj,
        false,
    );
    norm(v, &format!("{prefix}.out_layers.0"), &mut block.out_norm);
    conv(v, &format!("{prefix}.out_layers.3"), &mut block.out_conv);
    if let Some(skip) = &mut block.skip {
        conv(v, &format!("{prefix}.skip_connection"), skip);
    }
}

fn attention(v: &mut dyn ParamVisitor, prefix: &str, block: &mut AttentionBlock) {
    norm(v, &format!("{prefix}.norm"), &mut block.norm);
    linear(v, &format!("{prefix}.qkv"), &mut block.qkv, true);
    linear(v, &format!("{prefix}.proj_out"), &mut block.proj_out, true);
}

fn res_attention(v: &mut dyn ParamVisitor, prefix: &str, block: &mut ResAttention) {
    res_block(v, &format!("{prefix}.0"), &mut block.res);
    if let Some(attn) = &mut block.attention {
        attention(v, &format!("{prefix}.1"), attn);
    }
}

impl UNet {
    /// Visits every parameter under its official key, in PyTorch registration order.
    pub(crate) fn visit_params(&mut self, v: &mut dyn ParamVisitor) {
        linear(v, "time_embed.0", &mut self.time_embed.linear_in, false);
        linear(v, "time_embed.2", &mut self.time_embed.linear_out, false);
        conv(v, "input_blocks.0.0", &mut self.stem);
        for (i, block) in self.input_blocks.iter_mut().enumerate() {
            let prefix = format!("input_blocks.{}", i + 1);
            match block {
                EncoderBlock::Res(block) => res_attention(v, &prefix, block),
                EncoderBlock::Down(down) => {
                    if let Some(op) = &mut down.op {
                        conv(v, &format!("{prefix}.0.op"), op);
                    }
                }
            }
        }
        res_block(v, "middle_block.0", &mut self.middle_block.res_in);
        attention(v, "middle_block.1", &mut self.middle_block.attention);
        res_block(v, "middle_block.2", &mut self.middle_block.res_out);
        for (j, block) in self.output_blocks.iter_mut().enumerate() {
            let prefix = format!("output_blocks.{j}");
            res_attention(v, &prefix, &mut block.body);
            let up_index = if block.body.attention.is_some() { 2 } else { 1 };
            if let Some(up_conv) = block.upsample.as_mut().and_then(|up| up.conv.as_mut()) {
                conv(v, &format!("{prefix}.{up_index}.conv"), up_conv);
            }
        }
        norm(v, "out.0", &mut self.out_norm);
        conv(v, "out.2", &mut self.out_conv);
    }

    /// Every parameter's official key and PyTorch-layout shape, in module order.
    pub fn parameter_shapes(&self) -> Vec<(String, Vec<usize>)> {
        struct Shapes(Vec<(String, Vec<usize>)>);
        impl ParamVisitor for Shapes {
            fn visit(&mut self, key: String, slot: Slot<'_>) {
                self.0.push((key, slot.torch_shape()));
            }
        }
        let mut shapes = Shapes(Vec::new());
        self.clone().visit_params(&mut shapes);
        shapes.0
    }
}
