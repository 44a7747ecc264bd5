//! Export → import into a fresh model gives identical outputs, for every baseline; the import
//! is strict; `describe()` names the method.
#![allow(clippy::unwrap_used)]

use burn::tensor::{Device, Distribution, Tensor};
use fmseg_baselines::cimd::{Cimd, CimdConfig, CimdObjective};
use fmseg_baselines::common::params::{ParamsError, import_params};
use fmseg_baselines::phiseg::{Phiseg, PhisegConfig, PhisegObjective};
use fmseg_baselines::prob_unet::{ProbUnet, ProbUnetConfig, ProbUnetObjective};
use fmseg_model::SegmentationSampler;
use fmseg_model::training::Objective;

fn round_trip<O>(objective: &O)
where
    O: Objective,
    O::Model: SegmentationSampler,
{
    let device = Device::flex();
    let a = objective.init_model(&device).unwrap();
    let tensors = objective.export(&a).unwrap();
    assert!(!tensors.is_empty());
    let mut keys: Vec<&str> = tensors.iter().map(|t| t.0.as_str()).collect();
    keys.sort_unstable();
    keys.dedup();
    assert_eq!(keys.len(), tensors.len(), "parameter paths must be unique");
    let fresh = objective.init_model(&device).unwrap();
    let b = objective.import(fresh, tensors.clone(), "test").unwrap();
    assert_eq!(objective.export(&b).unwrap(), tensors);
    let images = Tensor::<4>::random([2, 1, 32, 32], Distribution::Default, &device);
    let sa = a.sample(images.clone(), 2, 7).unwrap();
    let sb = b.sample(images, 2, 7).unwrap();
    assert_eq!(sa.shape, sb.shape);
    assert_eq!(sa.masks, sb.masks);
    let json = objective.describe();
    assert_eq!(json["method"], objective.name());
    assert!(json.get(objective.name()).is_some());
    // Strictness: a missing and an unexpected key are refused, naming the key.
    let mut short = tensors.clone();
    let gone = short.pop().unwrap().0;
    let fresh = objective.init_model(&device).unwrap();
    match objective.import(fresh, short, "f") {
        Err(e) => assert!(e.to_string().contains(&gone), "{e}"),
        Ok(_) => panic!("missing key accepted"),
    }
}

#[test]
fn prob_unet_round_trips() {
    round_trip(&ProbUnetObjective::new(ProbUnetConfig {
        image_size: 32,
        filters: vec![8, 16],
        convs_per_block: 1,
        latent_dim: 3,
        ..ProbUnetConfig::default()
    }));
}

/// A 3-level PHiSeg with 2 latent levels at 32 px (batch norm on, the default).
fn small_phiseg() -> PhisegConfig {
    PhisegConfig {
        image_size: 32,
        filters: vec![8, 16, 16],
        convs_per_block: 1,
        resolution_levels: Some(3),
        latent_levels: 2,
        ..PhisegConfig::default()
    }
}

#[test]
fn phiseg_round_trips() {
    round_trip(&PhisegObjective::new(small_phiseg()));
}

#[test]
fn cimd_round_trips() {
    round_trip(&CimdObjective::new(CimdConfig {
        image_size: 32,
        model_channels: 32,
        channel_mult: vec![1, 2],
        num_res_blocks: 1,
        attention_resolutions: vec![],
        timesteps: 100,
        sampling_steps: 3,
        encoder_filters: vec![8, 16],
        encoder_convs: 1,
        latent_dim: 3,
        use_scale_shift_norm: true,
        ..CimdConfig::default()
    }));
}

#[test]
fn unexpected_tensor_is_refused() {
    let device = Device::flex();
    let config = ProbUnetConfig {
        image_size: 32,
        filters: vec![8, 16],
        convs_per_block: 1,
        ..ProbUnetConfig::default()
    };
    let model = ProbUnet::new(&config, &device).unwrap();
    let mut tensors = fmseg_baselines::common::params::export_params(&model).unwrap();
    tensors.push(("extra.weight".into(), vec![1], vec![0.0]));
    let err = import_params(ProbUnet::new(&config, &device).unwrap(), tensors, "f").unwrap_err();
    assert!(matches!(err, ParamsError::Unexpected { ref key, .. } if key == "extra.weight"));
    let _ = (Phiseg::new, Cimd::new);
}

#[test]
fn phiseg_batch_norm_running_statistics_are_exported_and_imported() {
    let objective = PhisegObjective::new(small_phiseg());
    let device = Device::flex();
    let a = objective.init_model(&device).unwrap();
    let mut tensors = objective.export(&a).unwrap();
    let running: Vec<usize> = (0..tensors.len())
        .filter(|&i| {
            tensors[i].0.ends_with("running_mean") || tensors[i].0.ends_with("running_var")
        })
        .collect();
    assert!(running.len() >= 4, "batch norm statistics are exported");
    for &i in &running {
        let var = tensors[i].0.ends_with("running_var");
        for v in &mut tensors[i].2 {
            *v = if var { *v * 3.0 } else { *v + 0.5 };
        }
    }
    let b = objective
        .import(
            objective.init_model(&device).unwrap(),
            tensors.clone(),
            "test",
        )
        .unwrap();
    assert_eq!(objective.export(&b).unwrap(), tensors);
    let images = Tensor::<4>::random([1, 1, 32, 32], Distribution::Default, &device);
    let sa = a.sample(images.clone(), 2, 7).unwrap();
    let sb = b.sample(images, 2, 7).unwrap();
    assert_ne!(
        sa.masks, sb.masks,
        "sampling uses the imported running statistics"
    );
}

#[test]
fn logged_term_names_match_the_losses() {
    use fmseg_baselines::common::objective::BaselineModel;
    use fmseg_data::rng::Rng;
    let device = Device::flex();
    let images = Tensor::<4>::random([2, 1, 32, 32], Distribution::Default, &device);
    let masks = Tensor::<4>::random([2, 1, 32, 32], Distribution::Default, &device).round();
    fn names<M: BaselineModel>(model: &M, i: Tensor<4>, m: Tensor<4>) -> Vec<&'static str> {
        model
            .batch_loss(i, m, &mut Rng::new(0))
            .terms
            .iter()
            .map(|(n, _)| *n)
            .collect()
    }
    let cimd = CimdConfig {
        image_size: 32,
        model_channels: 32,
        channel_mult: vec![1, 2],
        num_res_blocks: 1,
        attention_resolutions: vec![],
        encoder_filters: vec![8, 16],
        encoder_convs: 1,
        use_scale_shift_norm: true,
        ..CimdConfig::default()
    };
    let model = Cimd::new(&cimd, &device).unwrap();
    assert_eq!(
        names(&model, images.clone(), masks.clone()),
        CimdObjective::new(cimd).term_names()
    );
    let prob = ProbUnetConfig {
        image_size: 32,
        filters: vec![8, 16],
        ..ProbUnetConfig::default()
    };
    let model = ProbUnet::new(&prob, &device).unwrap();
    assert_eq!(
        names(&model, images.clone(), masks.clone()),
        ProbUnetObjective::new(prob).term_names()
    );
    for latent_levels in [1, 2] {
        let phiseg = PhisegConfig {
            image_size: 32,
            filters: vec![8, 16, 32],
            resolution_levels: Some(3),
            latent_levels,
            ..PhisegConfig::default()
        };
        let model = Phiseg::new(&phiseg, &device).unwrap();
        let expected = PhisegObjective::new(phiseg).term_names();
        assert_eq!(names(&model, images.clone(), masks.clone()), expected);
        assert_eq!(expected.len(), 3 + latent_levels);
    }
}
