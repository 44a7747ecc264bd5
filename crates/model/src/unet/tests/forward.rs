use super::{random_unet, tiny_config};
use crate::unet::UNetConfig;
use burn::module::Module;
use burn::tensor::{Device, Distribution, Tensor};

fn inputs(b: usize, image_channels: usize, side: usize) -> (Tensor<4>, Tensor<1>, Tensor<4>) {
    let device = Device::flex();
    let x = Tensor::random([b, 1, side, side], Distribution::Normal(0.0, 1.0), &device);
    let t = Tensor::random([b], Distribution::Default, &device);
    let image = Tensor::random(
        [b, image_channels, side, side],
        Distribution::Default,
        &device,
    );
    (x, t, image)
}

#[test]
fn output_shape_for_one_and_three_image_channels() {
    for image_channels in [1, 3] {
        let config = tiny_config().with_image_channels(image_channels);
        assert_eq!(config.in_channels, 1 + image_channels);
        let unet = random_unet(&config, 7);
        let (x, t, image) = inputs(2, image_channels, 8);
        let v = unet.forward(x, t, image);
        assert_eq!(v.dims(), [2, 1, 8, 8]);
        assert!(v.abs().max().into_scalar::<f32>() > 0.0);
    }
}

#[test]
fn image_and_time_change_the_velocity() {
    let unet = random_unet(&tiny_config(), 11);
    let (x, t, image) = inputs(1, 1, 8);
    let base = unet.forward(x.clone(), t.clone(), image.clone());
    let uncond = unet.forward_uncond(x.clone(), t.clone());
    let later = unet.forward(x, t + 0.5, image);
    assert!((base.clone() - uncond).abs().max().into_scalar::<f32>() > 1e-3);
    assert!((base - later).abs().max().into_scalar::<f32>() > 1e-3);
}

#[test]
fn batch_elements_are_independent() {
    let unet = random_unet(&tiny_config(), 3);
    let (x, t, image) = inputs(3, 1, 8);
    let all = unet.forward(x.clone(), t.clone(), image.clone());
    let one = unet.forward(x.narrow(0, 1, 1), t.narrow(0, 1, 1), image.narrow(0, 1, 1));
    assert!((all.narrow(0, 1, 1) - one).abs().max().into_scalar::<f32>() < 1e-5);
}

#[test]
fn activations_follow_the_block_names() {
    let unet = random_unet(&tiny_config(), 5);
    let (x, t, image) = inputs(1, 1, 8);
    let acts = unet.forward_with_activations(x.clone(), t.clone(), image.clone());
    let names: Vec<&str> = acts.blocks.iter().map(|(n, _)| n.as_str()).collect();
    let expected = [
        "input_blocks.0",
        "input_blocks.1",
        "input_blocks.2",
        "input_blocks.3",
        "middle_block",
        "output_blocks.0",
        "output_blocks.1",
        "output_blocks.2",
        "output_blocks.3",
    ];
    assert_eq!(names, expected);
    assert_eq!(acts.time_sinusoid.dims(), [1, 32]);
    assert_eq!(acts.time_emb.dims(), [1, 128]);
    assert_eq!(acts.unet_input.dims(), [1, 2, 8, 8]);
    let diff = (acts.output - unet.forward(x, t, image))
        .abs()
        .max()
        .into_scalar::<f32>();
    assert_eq!(diff, 0.0);
}

#[test]
fn conv_resample_and_additive_conditioning_variants_run() {
    let config = UNetConfig {
        conv_resample: true,
        use_scale_shift_norm: false,
        use_new_attention_order: false,
        num_head_channels: 16,
        ..tiny_config()
    };
    let unet = random_unet(&config, 9);
    let keys: Vec<String> = unet
        .parameter_shapes()
        .into_iter()
        .map(|(k, _)| k)
        .collect();
    assert!(keys.contains(&"input_blocks.2.0.op.weight".to_string()));
    assert!(keys.contains(&"output_blocks.1.2.conv.weight".to_string()));
    let (x, t, image) = inputs(2, 1, 8);
    assert_eq!(unet.forward(x, t, image).dims(), [2, 1, 8, 8]);
}

#[test]
fn paper_structure_has_the_fixture_parameter_count() {
    // Fixture `paper-shape` is `lidc_condition` with C = 32: 5,824,161 parameters.
    let small = UNetConfig {
        model_channels: 32,
        ..UNetConfig::lidc_condition()
    };
    assert_eq!(small.init(&Device::flex()).num_params(), 5_824_161);
}

#[test]
#[should_panic(expected = "not divisible by the total downsampling factor")]
fn rejects_sides_not_divisible_by_the_downsampling() {
    let unet = tiny_config().init(&Device::flex());
    let (x, t, image) = inputs(1, 1, 7);
    unet.forward(x, t, image);
}

#[test]
fn loaded_weights_train_on_an_autodiff_device() {
    let device = Device::flex().autodiff();
    let config = tiny_config();
    let fresh = config.init(&device);
    let tensors = super::random_tensors(&fresh, 4);
    let unet = fresh.load_named_tensors(tensors, "random").unwrap();
    let x = Tensor::<4>::random([2, 1, 8, 8], Distribution::Default, &device);
    let t = Tensor::<1>::random([2], Distribution::Default, &device);
    let image = Tensor::<4>::random([2, 1, 8, 8], Distribution::Default, &device);
    let loss = unet.forward_cfg(x, t, image, 0.3).powi_scalar(2).mean();
    let grads = loss.backward();
    let stem_grad = unet.stem.weight.grad(&grads).expect("stem weight gradient");
    let qkv_grad = unet
        .middle_block
        .attention
        .qkv
        .weight
        .grad(&grads)
        .expect("qkv gradient");
    assert!(stem_grad.abs().sum().into_scalar::<f32>() > 0.0);
    assert!(qkv_grad.abs().sum().into_scalar::<f32>() > 0.0);
}

#[test]
fn unconditional_network_without_image_channels_runs() {
    let config = UNetConfig {
        in_channels: 1,
        d_cond_image: 0,
        ..tiny_config()
    };
    let unet = random_unet(&config, 13);
    let (x, t, image) = inputs(2, 0, 8);
    assert_eq!(unet.forward_cfg(x, t, image, 0.3).dims(), [2, 1, 8, 8]);
}
