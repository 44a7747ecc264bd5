use crate::unet::{ConfigError, EncoderPlan, UNetConfig};

/// A change applied to a preset.
type Edit = Box<dyn Fn(&mut UNetConfig)>;

const FIXTURE_CONSTRUCTOR: &str = r#"{
  "out_channels": 1, "dropout": 0.1, "conv_resample": false, "dims": 2, "num_classes": null,
  "use_checkpoint": false, "num_heads": 1, "num_head_channels": -1, "num_heads_upsample": -1,
  "use_scale_shift_norm": true, "resblock_updown": false, "use_new_attention_order": true,
  "with_fourier_features": false, "ignore_time": false, "input_projection": true,
  "in_channels": 2, "d_cond_image": 1, "model_channels": 64, "channel_mult": [1, 2, 4, 4],
  "num_res_blocks": 2, "attention_resolutions": [2]
}"#;

#[test]
fn parses_the_official_constructor_kwargs_into_the_lidc_preset() {
    let config = UNetConfig::from_json_str(FIXTURE_CONSTRUCTOR).unwrap();
    assert_eq!(config, UNetConfig::lidc_condition());
    let round_trip = UNetConfig::from_json_str(&config.to_json_string().unwrap()).unwrap();
    assert_eq!(round_trip, config);
}

#[test]
fn rejects_unknown_keys() {
    let json = FIXTURE_CONSTRUCTOR.replace("\"dims\": 2", "\"dims\": 2, \"image_size\": 128");
    let err = UNetConfig::from_json_str(&json).unwrap_err();
    assert!(matches!(err, ConfigError::Json(_)));
    assert!(err.to_string().contains("image_size"), "{err}");
}

#[test]
fn missing_optional_keys_take_the_official_defaults() {
    let json = r#"{"in_channels": 2, "model_channels": 32, "out_channels": 1,
        "num_res_blocks": 2, "attention_resolutions": [], "d_cond_image": 1}"#;
    let config = UNetConfig::from_json_str(json).unwrap();
    assert_eq!(config.channel_mult, vec![1, 2, 4, 8]);
    assert!(config.conv_resample && config.input_projection && !config.use_scale_shift_norm);
    assert_eq!(
        (config.num_head_channels, config.num_heads_upsample),
        (-1, -1)
    );
    assert_eq!(config.dropout, 0.0);
}

#[test]
fn unsupported_values_name_their_field() {
    let cases: Vec<(&str, Edit)> = vec![
        ("resblock_updown", Box::new(|c| c.resblock_updown = true)),
        ("num_classes", Box::new(|c| c.num_classes = Some(10))),
        ("dims", Box::new(|c| c.dims = 3)),
        (
            "with_fourier_features",
            Box::new(|c| c.with_fourier_features = true),
        ),
        ("ignore_time", Box::new(|c| c.ignore_time = true)),
        ("input_projection", Box::new(|c| c.input_projection = false)),
    ];
    for (name, edit) in cases {
        let mut config = UNetConfig::cpu_small();
        edit(&mut config);
        match config.plan() {
            Err(ConfigError::Unsupported { field, .. }) => assert_eq!(field, name),
            other => panic!("{name}: {other:?}"),
        }
    }
}

#[test]
fn invalid_values_are_rejected() {
    let cases: Vec<(&str, Edit)> = vec![
        ("d_cond_image", Box::new(|c| c.d_cond_image = 2)),
        ("dropout", Box::new(|c| c.dropout = 1.0)),
        ("channel_mult", Box::new(|c| c.channel_mult = vec![])),
        ("num_head_channels", Box::new(|c| c.num_head_channels = 0)),
        ("num_head_channels", Box::new(|c| c.num_head_channels = 48)),
        ("num_heads", Box::new(|c| c.num_heads = 3)),
    ];
    for (name, edit) in cases {
        let mut config = UNetConfig::cpu_small();
        edit(&mut config);
        match config.plan() {
            Err(ConfigError::Invalid { field, .. }) => assert_eq!(field, name),
            other => panic!("{name}: {other:?}"),
        }
    }
}

#[test]
fn group_norm_channel_counts_must_be_multiples_of_32() {
    let mut config = UNetConfig::cpu_small();
    config.model_channels = 48;
    match config.plan() {
        Err(ConfigError::GroupNorm {
            layer,
            channels,
            groups,
        }) => {
            assert_eq!(
                (layer.as_str(), channels, groups),
                ("input_blocks.1.0.in_layers.0", 48, 32)
            );
        }
        other => panic!("{other:?}"),
    }
    // 96 = 3 × 32 is fine (groups of 3), as in the fixtures' decoder.
    config.model_channels = 96;
    assert!(config.plan().is_ok());
}

#[test]
fn paper_layout_has_the_documented_structure() {
    let plan = UNetConfig::lidc_condition().plan().unwrap();
    // 4 levels × 2 ResBlocks + 3 Downsamples after the stem; downsampling at input_blocks.3/6/9.
    assert_eq!(plan.encoder.len(), 11);
    for i in [3, 6, 9] {
        assert!(
            matches!(plan.encoder[i - 1], EncoderPlan::Down(_)),
            "input_blocks.{i}"
        );
    }
    let attention: Vec<usize> = (0..11)
        .filter(|&i| matches!(plan.encoder[i], EncoderPlan::Res(_, Some(_))))
        .map(|i| i + 1)
        .collect();
    assert_eq!(attention, vec![4, 5]);
    assert_eq!(plan.decoder.len(), 12);
    let in_channels: Vec<usize> = plan.decoder.iter().map(|d| d.res.in_channels).collect();
    assert_eq!(
        in_channels,
        vec![512, 512, 512, 512, 512, 384, 384, 256, 192, 192, 128, 128]
    );
    let ups: Vec<usize> = (0..12).filter(|&j| plan.decoder[j].upsample).collect();
    assert_eq!(ups, vec![2, 5, 8]);
    assert_eq!(
        (
            plan.middle.channels,
            plan.out_in_channels,
            plan.downsamplings
        ),
        (256, 64, 3)
    );
}

#[test]
fn presets_differ_only_where_documented() {
    let (lidc, mmis) = (UNetConfig::lidc_condition(), UNetConfig::mmis_condition());
    assert_eq!((mmis.in_channels, mmis.d_cond_image), (4, 3));
    assert_eq!(
        UNetConfig {
            in_channels: 2,
            d_cond_image: 1,
            ..mmis
        },
        lidc
    );
    let small = UNetConfig::cpu_small();
    assert!(small.plan().is_ok());
    assert!(small.attention_resolutions.is_empty());
}
