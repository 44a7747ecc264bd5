//! Throughput of the metric code: images per second for n = 16 samples, m = 4 annotators at
//! 128×128, with the full k = 1..16 prefix sweep and with only k = 16.
//!
//! Run: `cargo bench -p fmseg-metrics --bench metrics` (or `just bench-metrics`).

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use fmseg_metrics::{DatasetShape, Prefixes, evaluate_dataset};

const IMAGES: usize = 8;
const N: usize = 16;
const M: usize = 4;
const SIDE: usize = 128;

/// Discs of random radius around a common centre: overlapping, LIDC-like masks.
fn disc_stack(count: usize, seed: &mut u64, soft: bool) -> Vec<f32> {
    let mut out = Vec::with_capacity(count * SIDE * SIDE);
    for _ in 0..count {
        *seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        let r = 10.0 + ((*seed >> 40) % 20) as f32;
        for y in 0..SIDE {
            for x in 0..SIDE {
                let d = ((x as f32 - 64.0).powi(2) + (y as f32 - 60.0).powi(2)).sqrt();
                let v = if soft {
                    (0.5 + (r - d) / 6.0).clamp(0.0, 1.0)
                } else {
                    f32::from(d < r)
                };
                out.push(v);
            }
        }
    }
    out
}

fn bench(c: &mut Criterion) {
    let mut seed = 42;
    let samples = disc_stack(IMAGES * N, &mut seed, true);
    let annotations: Vec<u8> = disc_stack(IMAGES * M, &mut seed, false)
        .iter()
        .map(|&v| v as u8)
        .collect();
    let shape = DatasetShape {
        images: IMAGES,
        samples: N,
        annotators: M,
        height: SIDE,
        width: SIDE,
    };
    let mut group = c.benchmark_group("evaluate_n16_m4_128px");
    group.throughput(Throughput::Elements(IMAGES as u64));
    group.sample_size(20);
    for (name, prefixes) in [
        ("sweep_k1_to_16", Prefixes::All),
        ("only_k16", Prefixes::Last),
    ] {
        group.bench_function(name, |b| {
            b.iter(|| {
                evaluate_dataset(&samples, &annotations, shape, prefixes).expect("valid input")
            })
        });
    }
    group.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
