//! Prob-UNet: shapes, KL, sampling determinism, config refusals and a short optimisation.
#![allow(clippy::unwrap_used)]

mod support;

use burn::module::Module;
use burn::tensor::Device;
use fmseg_baselines::prob_unet::{ProbUnet, ProbUnetConfig};
use fmseg_data::rng::Rng;
use fmseg_model::{MethodId, SegmentationSampler};

fn tiny(channels: usize) -> ProbUnetConfig {
    ProbUnetConfig {
        image_channels: channels,
        image_size: 32,
        filters: vec![8, 16],
        convs_per_block: 1,
        latent_dim: 3,
        ..ProbUnetConfig::default()
    }
}

#[test]
fn shapes_for_one_and_three_channels() {
    let device = Device::flex();
    for c in [1, 3] {
        let model = ProbUnet::new(&tiny(c), &device).unwrap();
        let (images, masks) = support::batch(2, c, &device);
        assert_eq!(model.features(images.clone()).dims(), [2, 8, 32, 32]);
        let noise = burn::tensor::Tensor::<2>::zeros([2, 3], &device);
        let out = model.forward_train(images.clone(), masks.clone(), noise);
        assert_eq!(out.logits.dims(), [2, 1, 32, 32]);
        assert_eq!(out.prior.mean.dims(), [2, 3]);
        let loss = model.loss(images, masks, &mut Rng::new(0));
        let host = loss.to_host();
        assert_eq!(
            host.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
            ["total", "reconstruction", "kl"]
        );
        assert!(host.iter().all(|(_, v)| v.is_finite()));
        assert!(host[2].1 >= -1e-5, "KL must be non-negative: {host:?}");
    }
}

#[test]
fn loss_is_reconstruction_plus_beta_kl() {
    let device = Device::flex();
    let (images, masks) = support::batch(2, 1, &device);
    let config = ProbUnetConfig {
        beta: 10.0,
        ..tiny(1)
    };
    let model = ProbUnet::new(&config, &device).unwrap();
    let loss = model.loss(images.clone(), masks.clone(), &mut Rng::new(3));
    let h = loss.to_host();
    assert!((h[0].1 - (h[1].1 + 10.0 * h[2].1)).abs() < 1e-3 * h[0].1.abs().max(1.0));
    // The KL term equals the closed form of the two encoders' Gaussians.
    let q = model.posterior(images.clone(), masks);
    let p = model.prior(images);
    let (qm, ql, pm, pl) = [q.mean, q.log_std, p.mean, p.log_std]
        .map(|t| t.into_data().try_to_vec::<f32>().unwrap())
        .into();
    let mut kl = 0.0f64;
    for i in 0..qm.len() {
        let (qm, ql, pm, pl) = (qm[i] as f64, ql[i] as f64, pm[i] as f64, pl[i] as f64);
        kl += pl - ql + ((2.0 * ql).exp() + (qm - pm).powi(2)) / (2.0 * (2.0 * pl).exp()) - 0.5;
    }
    assert!(
        (h[2].1 as f64 - kl / 2.0).abs() < 1e-4,
        "{} vs {}",
        h[2].1,
        kl / 2.0
    );
}

#[test]
fn sampling_is_seeded_and_soft() {
    let device = Device::flex();
    let model = ProbUnet::new(&tiny(1), &device).unwrap();
    assert_eq!(model.method(), MethodId::ProbUnet);
    let (images, _) = support::batch(2, 1, &device);
    let a = model.sample(images.clone(), 3, 7).unwrap();
    support::check_set(&a, [2, 3, 32, 32]);
    assert_eq!(a.masks, model.sample(images.clone(), 3, 7).unwrap().masks);
    assert_ne!(a.masks, model.sample(images.clone(), 3, 8).unwrap().masks);
    // Samples within one call differ, and a 1-sample request is the prefix of a 3-sample one.
    let plane = 32 * 32;
    assert_ne!(a.masks[..plane], a.masks[plane..2 * plane]);
    let one = model.sample(images.clone(), 1, 7).unwrap();
    assert_eq!(one.masks[..plane], a.masks[..plane]);
    assert!(model.sample(images, 0, 7).is_err());
}

#[test]
fn invalid_configs_name_the_field() {
    let cases: Vec<(ProbUnetConfig, &str)> = vec![
        (
            ProbUnetConfig {
                latent_dim: 0,
                ..tiny(1)
            },
            "latent_dim",
        ),
        (
            ProbUnetConfig {
                filters: vec![],
                ..tiny(1)
            },
            "filters",
        ),
        (
            ProbUnetConfig {
                filters: vec![8, 0],
                ..tiny(1)
            },
            "filters",
        ),
        (
            ProbUnetConfig {
                image_size: 31,
                ..tiny(1)
            },
            "image_size",
        ),
        (
            ProbUnetConfig {
                image_channels: 0,
                ..tiny(1)
            },
            "image_channels",
        ),
        (
            ProbUnetConfig {
                beta: -1.0,
                ..tiny(1)
            },
            "beta",
        ),
        (
            ProbUnetConfig {
                convs_per_block: 0,
                ..tiny(1)
            },
            "convs_per_block",
        ),
    ];
    for (config, field) in cases {
        let err = config.validate().expect_err(field);
        assert_eq!(err.field, field);
        assert!(err.to_string().contains(field));
    }
    assert!(ProbUnetConfig::default().validate().is_ok());
    let json = r#"{"latent_dim": 6, "bogus": 1}"#;
    assert!(serde_json::from_str::<ProbUnetConfig>(json).is_err());
    let parsed: ProbUnetConfig = serde_json::from_str(r#"{"reduction": "mean"}"#).unwrap();
    assert_eq!(parsed.filters, vec![32, 64, 128, 192]);
    assert_eq!(parsed.beta, 1.0);
}

#[test]
fn loss_falls_under_adam() {
    let device = Device::flex().autodiff();
    // Seeded initialisation: the fall is then a fixed, reproducible outcome.
    device.seed(11);
    let (images, masks) = support::batch(4, 1, &device);
    let config = ProbUnetConfig {
        filters: vec![8, 16],
        convs_per_block: 2,
        ..tiny(1)
    };
    let model = ProbUnet::new(&config, &device).unwrap();
    let (model, history) = support::adam_run(model, 60, 3e-3, |m, step| {
        m.loss(images.clone(), masks.clone(), &mut Rng::new(step as u64))
            .total
    });
    support::assert_falls(&history, 0.8);
    // The trained model samples on the plain device.
    let plain = model.valid();
    let (images, _) = support::batch(1, 1, &Device::flex());
    support::check_set(&plain.sample(images, 2, 0).unwrap(), [1, 2, 32, 32]);
}

#[test]
fn reductions_differ_by_the_pixel_count() {
    let device = Device::flex();
    let (images, masks) = support::batch(2, 1, &device);
    let model = ProbUnet::new(&tiny(1), &device).unwrap();
    let sum = model
        .loss(images.clone(), masks.clone(), &mut Rng::new(4))
        .to_host();
    let mean = model
        .with_reduction(fmseg_baselines::Reduction::Mean)
        .loss(images, masks, &mut Rng::new(4))
        .to_host();
    // Sum over 32·32 pixels, mean over the batch = 1024 × the per-pixel mean; same KL.
    assert!((sum[1].1 - 1024.0 * mean[1].1).abs() < 1e-3 * sum[1].1);
    assert!((sum[2].1 - mean[2].1).abs() < 1e-6);
}

#[test]
fn pass_size_does_not_change_the_draws() {
    let device = Device::flex();
    let model = ProbUnet::new(&tiny(1), &device).unwrap();
    let (images, _) = support::batch(3, 1, &device);
    support::assert_pass_invariant(&model, images, 4);
}
