//! A bounded random-mutation fuzzer for stable Rust (no libFuzzer, no coverage feedback):
//! mutates seed files (bit flips, byte overwrites with boundary values, inserts, deletes,
//! truncation, block duplication, splicing) and runs a reader on each input under
//! `catch_unwind`. Panicking inputs are saved to `artifacts/<target>/`.
//!
//! Usage: `mutate <pickle|npy|cache_index|hdf5> <seconds> <max-execs> <seed-file>...`

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::time::{Duration, Instant};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        // splitmix64
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
}

const INTERESTING: [u8; 10] = [0x00, 0x01, 0x7F, 0x80, 0xFF, 0xFE, 0x10, 0x40, 0x20, 0x08];

fn mutate(rng: &mut Rng, seeds: &[Vec<u8>], input: &mut Vec<u8>) {
    for _ in 0..1 + rng.below(8) {
        let len = input.len();
        match rng.below(8) {
            0 if len > 0 => {
                let i = rng.below(len);
                input[i] ^= 1 << rng.below(8);
            }
            1 if len > 0 => {
                let i = rng.below(len);
                input[i] = INTERESTING[rng.below(INTERESTING.len())];
            }
            2 if len >= 4 => {
                // A boundary 32-bit value (sizes, lengths, offsets) at a random place.
                let i = rng.below(len - 3);
                let v: u32 = [0, 1, u32::MAX, u32::MAX / 2 + 1, 0xFFFF, 0x7FFF_FFFF][rng.below(6)];
                input[i..i + 4].copy_from_slice(&v.to_le_bytes());
            }
            3 => {
                let i = rng.below(len + 1);
                let n = 1 + rng.below(16);
                let bytes: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
                input.splice(i..i, bytes);
            }
            4 if len > 1 => {
                let i = rng.below(len);
                let n = 1 + rng.below((len - i).min(64));
                input.drain(i..i + n);
            }
            5 if len > 1 => input.truncate(rng.below(len)),
            6 if len > 1 => {
                let i = rng.below(len);
                let n = 1 + rng.below((len - i).min(256));
                let block = input[i..i + n].to_vec();
                let j = rng.below(len + 1);
                input.splice(j..j, block);
            }
            _ => {
                let other = &seeds[rng.below(seeds.len())];
                if !other.is_empty() && len > 0 {
                    let a = rng.below(len);
                    let b = rng.below(other.len());
                    input.truncate(a);
                    input.extend_from_slice(&other[b..]);
                }
            }
        }
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 5 {
        eprintln!("usage: mutate <pickle|npy|cache_index|hdf5> <seconds> <max-execs> <seed-file>...");
        std::process::exit(2);
    }
    let Some(run) = fmseg_fuzz::target(&args[1]) else {
        eprintln!("unknown target {}", args[1]);
        std::process::exit(2);
    };
    let secs: u64 = args[2].parse().unwrap_or(60);
    let max: u64 = args[3].parse().unwrap_or(u64::MAX);
    let seeds: Vec<Vec<u8>> = args[4..]
        .iter()
        .filter_map(|p| std::fs::read(p).ok())
        .collect();
    if seeds.is_empty() {
        eprintln!("no readable seed files");
        std::process::exit(2);
    }
    std::panic::set_hook(Box::new(|_| {}));
    let out = std::path::Path::new("artifacts").join(&args[1]);
    let mut rng = Rng(0x5EED ^ secs);
    let start = Instant::now();
    let (mut execs, mut crashes, mut slowest) = (0u64, 0u64, Duration::ZERO);
    for s in &seeds {
        run(s);
    }
    while execs < max && start.elapsed() < Duration::from_secs(secs) {
        let mut input = seeds[rng.below(seeds.len())].clone();
        mutate(&mut rng, &seeds, &mut input);
        // Saved first: an allocation failure aborts the process before catch_unwind sees it.
        let _ = std::fs::create_dir_all(&out);
        let _ = std::fs::write(out.join("last-input"), &input);
        let t = Instant::now();
        let result = catch_unwind(AssertUnwindSafe(|| run(&input)));
        slowest = slowest.max(t.elapsed());
        execs += 1;
        if result.is_err() {
            crashes += 1;
            let _ = std::fs::create_dir_all(&out);
            let _ = std::fs::write(out.join(format!("crash-{execs}")), &input);
        }
    }
    println!(
        "target={} seeds={} execs={execs} crashes={crashes} seconds={:.1} slowest_ms={}",
        args[1],
        seeds.len(),
        start.elapsed().as_secs_f64(),
        slowest.as_millis()
    );
}
