//! The hostile-input catalogue (issue #16), through the built binary: each case asserts exit code
//! 2 (or the documented code), exactly one stderr line naming the file or field, no panic text and
//! no output written. Cases so far: `.npy` headers that overflow, lie about their body or are not
//! files; cache indexes whose shard names lead outside the cache; experiment names that lead
//! outside `results/`; output to a closed pipe.

#![allow(clippy::unwrap_used)]

mod common;

use common::fmseg_in;

use std::path::Path;
use std::process::{Command, Output, Stdio};

use fmseg_data::npy::{write_f32, write_u8};

/// Exit code 2, one stderr line holding every `needle`, nothing on stdout, no panic.
fn assert_refused(out: &Output, needles: &[&str]) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "stderr: {stderr}");
    assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    for needle in needles {
        assert!(stderr.contains(needle), "'{needle}' missing from: {stderr}");
    }
    assert!(
        out.stdout.is_empty(),
        "stdout: {}",
        String::from_utf8_lossy(&out.stdout)
    );
}

/// A version-1 `.npy` file with the given header dict and raw body.
fn raw_npy(path: &Path, dict: &str, body: &[u8]) {
    let mut header = dict.to_string();
    while !(10 + header.len() + 1).is_multiple_of(64) {
        header.push(' ');
    }
    header.push('\n');
    let mut bytes = b"\x93NUMPY\x01\x00".to_vec();
    bytes.extend_from_slice(&u16::try_from(header.len()).unwrap().to_le_bytes());
    bytes.extend_from_slice(header.as_bytes());
    bytes.extend_from_slice(body);
    std::fs::write(path, bytes).unwrap();
}

/// A valid (samples, annotations) pair of one 4×4 image, 2 samples, 2 annotators.
fn valid_pair(dir: &Path) -> (String, String) {
    let s = dir.join("s.npy");
    let a = dir.join("a.npy");
    write_f32(&s, &[1, 2, 4, 4], &[0.25; 32]).unwrap();
    write_u8(&a, &[1, 2, 4, 4], &[1; 32]).unwrap();
    (s.display().to_string(), a.display().to_string())
}

fn evaluate(dir: &Path, samples: &str, annotations: &str) -> Output {
    fmseg_in(
        dir,
        &[
            "evaluate",
            "--samples",
            samples,
            "--annotations",
            annotations,
            "--json",
        ],
    )
}

#[test]
fn npy_shape_whose_element_count_overflows() {
    let dir = tempfile::tempdir().unwrap();
    let (_, a) = valid_pair(dir.path());
    let s = dir.path().join("huge.npy");
    raw_npy(
        &s,
        "{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904, 4611686018427387904, 4, 4), }",
        b"",
    );
    let out = evaluate(dir.path(), s.to_str().unwrap(), &a);
    assert_refused(
        &out,
        &["huge.npy", "more elements than this machine can address"],
    );
}

#[test]
fn npy_body_shorter_or_longer_than_the_header_says() {
    let dir = tempfile::tempdir().unwrap();
    let (_, a) = valid_pair(dir.path());
    let dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (1, 2, 4, 4), }";
    for (name, body) in [
        ("short.npy", vec![0u8; 8]),
        ("long.npy", vec![0u8; 32 * 4 + 4]),
    ] {
        let s = dir.path().join(name);
        raw_npy(&s, dict, &body);
        let out = evaluate(dir.path(), s.to_str().unwrap(), &a);
        assert_refused(&out, &[name, "announces 128 bytes"]);
    }
}

#[test]
fn npy_header_longer_than_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let (_, a) = valid_pair(dir.path());
    let s = dir.path().join("cut.npy");
    std::fs::write(&s, b"\x93NUMPY\x01\x00\xff\xff{'descr'").unwrap();
    let out = evaluate(dir.path(), s.to_str().unwrap(), &a);
    assert_refused(&out, &["cut.npy", "header"]);
}

#[cfg(unix)]
#[test]
fn npy_that_is_not_a_regular_file_is_not_read() {
    let dir = tempfile::tempdir().unwrap();
    let (_, a) = valid_pair(dir.path());
    // /dev/zero would otherwise be read without end
    let out = evaluate(dir.path(), "/dev/zero", &a);
    assert_refused(&out, &["/dev/zero", "not a regular file"]);
}

/// A cache of 6 synthetic images in `dir/cache`, converted with 2 images per shard.
fn cache(dir: &Path) -> std::path::PathBuf {
    let synth = dir.join("synth");
    let cache = dir.join("cache");
    let (s, c) = (synth.to_str().unwrap(), cache.to_str().unwrap());
    for args in [
        vec![
            "data", "synth", "--preset", "tiny", "--count", "6", "--out", s,
        ],
        vec!["data", "convert", s, "--out", c, "--shard-size", "2"],
    ] {
        let o = fmseg_in(dir, &args);
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    }
    cache
}

fn set_shard_name(cache: &Path, field: &str, name: &str) {
    let path = cache.join("index.json");
    let mut index: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    index["shards"][1][field] = serde_json::Value::from(name);
    std::fs::write(&path, serde_json::to_string(&index).unwrap()).unwrap();
}

#[test]
fn cache_shard_names_must_stay_inside_the_cache() {
    let dir = tempfile::tempdir().unwrap();
    let cache = cache(dir.path());
    let original = std::fs::read_to_string(cache.join("index.json")).unwrap();
    for (field, name) in [
        ("images", "/etc/passwd"),
        ("masks", "../synth/masks.npy"),
        ("images", "/dev/zero"),
    ] {
        std::fs::write(cache.join("index.json"), &original).unwrap();
        set_shard_name(&cache, field, name);
        let c = cache.to_str().unwrap();
        let out = fmseg_in(dir.path(), &["data", "inspect", c, "--json"]);
        let shard = format!("shards[1].{field}");
        assert_refused(&out, &["index.json", &shard, "inside its folder"]);
        let copy = dir.path().join("copy");
        let out = fmseg_in(
            dir.path(),
            &["data", "convert", c, "--out", copy.to_str().unwrap()],
        );
        assert_refused(&out, &["index.json", &shard]);
        assert!(!copy.exists(), "nothing written for {name}");
    }
}

#[cfg(unix)]
#[test]
fn cache_shard_linking_outside_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let cache = cache(dir.path());
    let outside = dir.path().join("outside.npy");
    write_f32(&outside, &[1], &[0.0]).unwrap();
    std::os::unix::fs::symlink(&outside, cache.join("evil.npy")).unwrap();
    set_shard_name(&cache, "images", "evil.npy");
    let out = fmseg_in(dir.path(), &["data", "inspect", cache.to_str().unwrap()]);
    assert_refused(&out, &["shards[1].images", "leads outside its folder"]);
}

#[test]
fn experiment_name_must_be_one_folder_name() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../experiments/cpu-default.yaml"),
    )
    .unwrap();
    for name in ["../escape", "/tmp/abs", "a/b", ".."] {
        let yaml = dir.path().join("x.yaml");
        std::fs::write(
            &yaml,
            text.replace("name: cpu-default", &format!("name: {name}")),
        )
        .unwrap();
        let out = fmseg_in(dir.path(), &["run", yaml.to_str().unwrap(), "--list"]);
        assert_refused(&out, &["x.yaml", "name", "one plain folder name"]);
        assert!(!dir.path().join("escape").exists() && !dir.path().join("results").exists());
    }
}

#[test]
fn output_to_a_closed_pipe_exits_quietly() {
    let dir = tempfile::tempdir().unwrap();
    let (s, a) = valid_pair(dir.path());
    let mut child = Command::new(env!("CARGO_BIN_EXE_fmseg"))
        .args(["evaluate", "--samples", &s, "--annotations", &a, "--json"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take()); // the reader goes away before anything is written
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(141), "{stderr}");
    assert!(stderr.is_empty(), "quiet: {stderr}");
}

// ---------------------------------------------------------------------------------------------
// The table-driven catalogue: each case prepares its inputs in a fresh folder, runs one command
// (under a 4 GiB address-space limit, so that a case asking for more memory than it should fails
// here instead of taking the machine down) and must be refused with exit code 2 and one stderr
// line holding every needle, with nothing new left in the folder but what `keep` names.

/// Runs `fmseg args` in `dir` with the address space limited to `limit_kib`.
fn fmseg_limited(dir: &Path, args: &[String], limit_kib: u64) -> Output {
    Command::new("sh")
        .arg("-c")
        .arg(format!("ulimit -v {limit_kib}; exec \"$0\" \"$@\""))
        .arg(env!("CARGO_BIN_EXE_fmseg"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

/// Every path under `dir`, relative, sorted.
fn listing(dir: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            out.push(p.strip_prefix(dir).unwrap().display().to_string());
            if p.is_dir() && !p.is_symlink() {
                todo.push(p);
            }
        }
    }
    out.sort();
    out
}

/// One catalogue case.
struct Case {
    name: &'static str,
    /// Prepares the folder and returns the command line.
    setup: fn(&Path) -> Vec<String>,
    needles: &'static [&'static str],
}

fn s(v: &[&str]) -> Vec<String> {
    v.iter().map(|x| (*x).to_string()).collect()
}

fn p(dir: &Path, name: &str) -> String {
    dir.join(name).display().to_string()
}

const EXPERIMENT: &str = "\
name: cat
datasets:
  - id: tiny
    synthetic: { preset: tiny, size: 32, raters: 2, seed: 0, train_count: 4, test_count: 2 }
methods:
  - method: flow
    model: { preset: cpu-small, model_channels: 32, channel_mult: [1, 2], num_res_blocks: 1, attention_resolutions: [] }
    training: { steps: 1, batch_size: 2, checkpoint_every: 1, log_every: 1 }
seeds: [0]
sample_counts: [1, 2]
";

/// Writes the experiment with `from` replaced by `to` as `dir/x.yaml` and returns its path.
fn experiment(dir: &Path, from: &str, to: &str) -> String {
    assert!(from.is_empty() || EXPERIMENT.contains(from), "{from}");
    let text = if from.is_empty() {
        EXPERIMENT.to_string()
    } else {
        EXPERIMENT.replace(from, to)
    };
    std::fs::write(dir.join("x.yaml"), text).unwrap();
    p(dir, "x.yaml")
}

/// A flow model folder (`config.json` with a network, raw and EMA weights) in `dir/model`,
/// written without training: the weights of a freshly built tiny network.
fn model_folder(dir: &Path) -> String {
    let spec = experiment(dir, "", "");
    let out = p(dir, "model");
    let o = fmseg_in(dir, &["train", "--experiment", &spec, "--out", &out]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    out
}

fn images(dir: &Path, scale: f32) -> String {
    let path = dir.join("images.npy");
    let v: Vec<f32> = (0..2 * 32 * 32)
        .map(|i| scale * (i % 7) as f32 / 6.0)
        .collect();
    write_f32(&path, &[2, 1, 32, 32], &v).unwrap();
    path.display().to_string()
}

fn pickle(dir: &Path, bytes: &[u8]) -> String {
    let path = dir.join("data.pkl");
    std::fs::write(&path, bytes).unwrap();
    path.display().to_string()
}

fn synth(dir: &Path, extra: &[&str]) -> String {
    let out = p(dir, "synth");
    let mut args = vec![
        "data", "synth", "--preset", "tiny", "--count", "3", "--out", &out,
    ];
    args.extend_from_slice(extra);
    let o = fmseg_in(dir, &args);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    out
}

const CATALOGUE: &[Case] = &[
    // --- .npy ---
    Case {
        name: "npy header nesting 40 brackets deep (the npy parser backtracked for minutes)",
        setup: |d| {
            let (_, a) = valid_pair(d);
            let dict = format!("{{{}'descr': '<f4', 'shape': (1,)}}", "[".repeat(40));
            raw_npy(&d.join("deep.npy"), &dict, &[0; 4]);
            s(&[
                "evaluate",
                "--samples",
                &p(d, "deep.npy"),
                "--annotations",
                &a,
            ])
        },
        needles: &["deep.npy", "nests brackets"],
    },
    Case {
        name: "npy that is text",
        setup: |d| {
            let (_, a) = valid_pair(d);
            std::fs::write(d.join("t.npy"), "hello").unwrap();
            s(&["evaluate", "--samples", &p(d, "t.npy"), "--annotations", &a])
        },
        needles: &["t.npy", "NUMPY magic"],
    },
    Case {
        name: "npy of an unsupported dtype",
        setup: |d| {
            let (_, a) = valid_pair(d);
            raw_npy(
                &d.join("c.npy"),
                "{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }",
                &[0; 8],
            );
            s(&["evaluate", "--samples", &p(d, "c.npy"), "--annotations", &a])
        },
        needles: &["c.npy"],
    },
    Case {
        name: "samples holding NaN",
        setup: |d| {
            let (_, a) = valid_pair(d);
            let mut v = vec![0.5f32; 32];
            v[3] = f32::NAN;
            write_f32(&d.join("nan.npy"), &[1, 2, 4, 4], &v).unwrap();
            s(&[
                "evaluate",
                "--samples",
                &p(d, "nan.npy"),
                "--annotations",
                &a,
            ])
        },
        needles: &["nan.npy"],
    },
    Case {
        name: "samples and annotations of different sizes",
        setup: |d| {
            let (_, a) = valid_pair(d);
            write_f32(&d.join("s8.npy"), &[1, 2, 8, 8], &[0.5; 128]).unwrap();
            s(&[
                "evaluate",
                "--samples",
                &p(d, "s8.npy"),
                "--annotations",
                &a,
            ])
        },
        needles: &["s8.npy"],
    },
    Case {
        name: "missing samples file",
        setup: |d| {
            let (_, a) = valid_pair(d);
            s(&[
                "evaluate",
                "--samples",
                &p(d, "none.npy"),
                "--annotations",
                &a,
            ])
        },
        needles: &["none.npy"],
    },
    // --- pickles ---
    Case {
        name: "pickle calling os.system",
        setup: |d| {
            let f = pickle(
                d,
                b"\x80\x02cos\nsystem\nq\x00X\x02\x00\x00\x00idq\x01\x85q\x02Rq\x03.",
            );
            s(&["data", "inspect", &f])
        },
        needles: &["data.pkl", "os.system"],
    },
    Case {
        name: "pickle whose memo references expand to 10^9 nodes",
        setup: |d| {
            let mut b = vec![0x80, 2, b']', b'('];
            for _ in 0..1000 {
                b.extend_from_slice(b"K\x01");
            }
            b.extend_from_slice(b"eq\x00");
            for slot in 0..2u8 {
                b.extend_from_slice(b"](");
                for _ in 0..1000 {
                    b.extend_from_slice(&[b'h', slot]);
                }
                b.extend_from_slice(&[b'e', b'q', slot + 1]);
            }
            b.push(b'.');
            let f = pickle(d, &b);
            s(&["data", "inspect", &f])
        },
        needles: &["data.pkl", "memo references"],
    },
    Case {
        name: "truncated pickle",
        setup: |d| {
            let f = pickle(d, b"\x80\x02]q\x00(K\x01K\x02");
            s(&["data", "inspect", &f])
        },
        needles: &["data.pkl"],
    },
    // --- HDF5 ---
    Case {
        name: "h5 file that is not HDF5",
        setup: |d| {
            std::fs::write(d.join("x.h5"), b"\x89HDF\r\n\x1a\nbroken").unwrap();
            s(&["data", "inspect", &p(d, "x.h5")])
        },
        needles: &["x.h5"],
    },
    // --- caches ---
    Case {
        name: "cache index of an unknown format",
        setup: |d| {
            let c = cache(d);
            let text = std::fs::read_to_string(c.join("index.json")).unwrap();
            std::fs::write(
                c.join("index.json"),
                text.replace("\"fmseg-cache\"", "\"bogus\""),
            )
            .unwrap();
            s(&["data", "inspect", &c.display().to_string()])
        },
        needles: &["index.json", "unknown cache format `bogus`"],
    },
    Case {
        name: "cache index whose counts overflow",
        setup: |d| {
            let c = cache(d);
            let path = c.join("index.json");
            let mut index: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
            index["shards"][0]["count"] = serde_json::json!(u64::MAX);
            index["shards"][1]["count"] = serde_json::json!(4);
            std::fs::write(&path, index.to_string()).unwrap();
            s(&["data", "inspect", &c.display().to_string()])
        },
        needles: &["index.json", "samples in shards"],
    },
    Case {
        name: "cache shard replaced by a truncated file",
        setup: |d| {
            let c = cache(d);
            let index: serde_json::Value =
                serde_json::from_str(&std::fs::read_to_string(c.join("index.json")).unwrap())
                    .unwrap();
            let shard = c.join(index["shards"][0]["images"].as_str().unwrap());
            let bytes = std::fs::read(&shard).unwrap();
            std::fs::write(&shard, &bytes[..bytes.len() / 2]).unwrap();
            s(&["data", "inspect", &c.display().to_string()])
        },
        needles: &["images"],
    },
    // --- synth folders ---
    Case {
        name: "synth folder whose writer was interrupted (no oracle.json)",
        setup: |d| {
            let out = synth(d, &[]);
            std::fs::remove_file(Path::new(&out).join("oracle.json")).unwrap();
            s(&["data", "inspect", &out])
        },
        needles: &["synth", "incomplete", "oracle.json"],
    },
    // --- flags whose size is known in advance ---
    Case {
        name: "data synth --count 1000000000",
        setup: |d| {
            s(&[
                "data",
                "synth",
                "--count",
                "1000000000",
                "--out",
                &p(d, "big"),
            ])
        },
        needles: &["--count 1000000000", "needs", "available"],
    },
    Case {
        name: "data synth --oracle-samples 1000000000",
        setup: |d| {
            s(&[
                "data",
                "synth",
                "--count",
                "4",
                "--oracle-samples",
                "1000000000",
                "--out",
                &p(d, "big"),
            ])
        },
        needles: &["--oracle-samples 1000000000", "needs", "available"],
    },
    Case {
        name: "data synth --oracle-samples 0 (refused before anything is written)",
        setup: |d| {
            s(&[
                "data",
                "synth",
                "--count",
                "4",
                "--oracle-samples",
                "0",
                "--out",
                &p(d, "o"),
            ])
        },
        needles: &["--oracle-samples"],
    },
    Case {
        name: "data synth --start near u64::MAX",
        setup: |d| {
            s(&[
                "data",
                "synth",
                "--count",
                "4",
                "--start",
                "18446744073709551615",
                "--out",
                &p(d, "o"),
            ])
        },
        needles: &["--start 18446744073709551615", "overflows"],
    },
    Case {
        name: "data convert --size 100000",
        setup: |d| {
            let out = synth(d, &[]);
            s(&[
                "data",
                "convert",
                &out,
                "--size",
                "100000",
                "--out",
                &p(d, "c"),
            ])
        },
        needles: &["--size 100000", "needs", "available"],
    },
    Case {
        name: "data convert of a dataset with a NaN pixel",
        setup: |d| {
            let out = synth(d, &[]);
            let path = Path::new(&out).join("images.npy");
            let a = fmseg_data::npy::NpyArray::read(&path).unwrap();
            let mut v: Vec<f32> = a.to_f64().into_iter().map(|x| x as f32).collect();
            v[5] = f32::NAN;
            write_f32(&path, &a.shape, &v).unwrap();
            s(&["data", "convert", &out, "--out", &p(d, "c")])
        },
        needles: &["synth", "pixel 5", "NaN"],
    },
    Case {
        name: "sample --count 1000000000",
        setup: |d| {
            let m = model_folder(d);
            let i = images(d, 1.0);
            s(&[
                "sample",
                "--checkpoint",
                &m,
                "--images",
                &i,
                "--count",
                "1000000000",
                "--out",
                &p(d, "o.npy"),
            ])
        },
        needles: &["--count 1000000000", "needs", "available"],
    },
    Case {
        name: "sample_counts: [100000000] in an experiment",
        setup: |d| {
            let y = experiment(d, "sample_counts: [1, 2]", "sample_counts: [100000000]");
            s(&["run", &y, "--out", &p(d, "r")])
        },
        needles: &["x.yaml", "sample_counts", "needs", "available"],
    },
    // --- experiments ---
    Case {
        name: "seeds listed twice",
        setup: |d| {
            let y = experiment(d, "seeds: [0]", "seeds: [0, 0]");
            s(&["run", &y, "--out", &p(d, "r")])
        },
        needles: &["x.yaml", "seeds", "seed 0 is listed twice"],
    },
    Case {
        name: "unknown field in an ablation axis is blamed on the ablation",
        setup: |d| {
            let y = experiment(
                d,
                "seeds: [0]",
                "seeds: [0]\nablation:\n  axes:\n    - { field: training.lrr, values: [0.1, 0.2] }",
            );
            s(&["run", &y, "--list"])
        },
        needles: &["x.yaml", "ablation.axes", "training.lrr", "lrr"],
    },
    Case {
        name: "--data ID=PATH for a synthetic dataset",
        setup: |d| {
            let y = experiment(d, "", "");
            s(&[
                "run",
                &y,
                "--data",
                &format!("tiny={}", d.display()),
                "--out",
                &p(d, "r"),
            ])
        },
        needles: &["x.yaml", "datasets[0].synthetic", "reads no files"],
    },
    Case {
        name: "synthetic train_start + train_count overflows",
        setup: |d| {
            let y = experiment(
                d,
                "train_count: 4",
                "train_count: 4, train_start: 18446744073709551615",
            );
            s(&["run", &y, "--out", &p(d, "r")])
        },
        needles: &["x.yaml", "train_start", "overflows"],
    },
    Case {
        name: "brackets nested 100000 deep",
        setup: |d| {
            let text = format!(
                "name: x\nmethods: {}{}\n",
                "[".repeat(100_000),
                "]".repeat(100_000)
            );
            std::fs::write(d.join("deep.yaml"), text).unwrap();
            s(&["run", &p(d, "deep.yaml"), "--list"])
        },
        needles: &["deep.yaml", "brackets nest"],
    },
    Case {
        name: "unknown top-level key",
        setup: |d| {
            let y = experiment(d, "seeds: [0]", "seeds: [0]\nsedes: [1]");
            s(&["run", &y, "--list"])
        },
        needles: &["x.yaml", "sedes"],
    },
    Case {
        name: "dataset format: bogus",
        setup: |d| {
            std::fs::write(
                d.join("f.yaml"),
                "datasets:\n  - { id: r, path: data.pkl, format: bogus }\nmethods:\n  - method: flow\n",
            )
            .unwrap();
            s(&["run", &p(d, "f.yaml"), "--list"])
        },
        needles: &["f.yaml", "unknown format 'bogus'"],
    },
    // --- model folders and sampling ---
    Case {
        name: "sample images in 0..255",
        setup: |d| {
            let m = model_folder(d);
            let i = images(d, 255.0);
            s(&[
                "sample",
                "--checkpoint",
                &m,
                "--images",
                &i,
                "--out",
                &p(d, "o.npy"),
            ])
        },
        needles: &["images.npy", "outside [0, 1]"],
    },
    Case {
        name: "sample --guidance -5",
        setup: |d| {
            let m = model_folder(d);
            let i = images(d, 1.0);
            s(&[
                "sample",
                "--checkpoint",
                &m,
                "--images",
                &i,
                "--guidance",
                "-5",
                "--out",
                &p(d, "o.npy"),
            ])
        },
        needles: &["--guidance", "≥ -1"],
    },
    Case {
        name: "sample --raw-weights without model_raw.safetensors",
        setup: |d| {
            let m = model_folder(d);
            std::fs::remove_file(Path::new(&m).join("model_raw.safetensors")).unwrap();
            let i = images(d, 1.0);
            s(&[
                "sample",
                "--checkpoint",
                &m,
                "--images",
                &i,
                "--raw-weights",
                "--out",
                &p(d, "o.npy"),
            ])
        },
        needles: &["model", "model_raw.safetensors"],
    },
    Case {
        name: "model folder config.json with a misspelt method key",
        setup: |d| {
            std::fs::create_dir_all(d.join("m")).unwrap();
            std::fs::write(d.join("m/config.json"), r#"{"methd": "cimd"}"#).unwrap();
            let i = images(d, 1.0);
            s(&[
                "sample",
                "--checkpoint",
                &p(d, "m"),
                "--images",
                &i,
                "--out",
                &p(d, "o.npy"),
            ])
        },
        needles: &["config.json", "no `method` key"],
    },
    Case {
        name: "weights.pt that is not a PyTorch archive",
        setup: |d| {
            std::fs::create_dir_all(d.join("m")).unwrap();
            std::fs::write(
                d.join("m/config.json"),
                r#"{"constructor": {"out_channels": 1, "dropout": 0.1, "conv_resample": false, "dims": 2, "num_classes": null, "use_checkpoint": false, "num_heads": 1, "num_head_channels": -1, "num_heads_upsample": -1, "use_scale_shift_norm": true, "resblock_updown": false, "use_new_attention_order": true, "with_fourier_features": false, "ignore_time": false, "input_projection": true, "in_channels": 2, "d_cond_image": 1, "model_channels": 32, "channel_mult": [1, 2, 2], "num_res_blocks": 1, "attention_resolutions": [2]}}"#,
            )
            .unwrap();
            std::fs::write(d.join("m/weights.pt"), b"random bytes, not a checkpoint").unwrap();
            let i = images(d, 1.0);
            s(&[
                "sample",
                "--checkpoint",
                &p(d, "m"),
                "--images",
                &i,
                "--out",
                &p(d, "o.npy"),
            ])
        },
        needles: &["weights.pt", "not a PyTorch checkpoint"],
    },
    // --- resume ---
    Case {
        name: "--resume after the learning rate changed",
        setup: |d| {
            let out = model_folder(d);
            let y = experiment(d, "log_every: 1 }", "log_every: 1, lr: 0.5 }");
            s(&["train", "--experiment", &y, "--out", &out, "--resume"])
        },
        needles: &["cannot resume", "training.lr"],
    },
    Case {
        name: "--resume after the architecture changed",
        setup: |d| {
            let out = model_folder(d);
            let y = experiment(d, "model_channels: 32", "model_channels: 64");
            s(&["train", "--experiment", &y, "--out", &out, "--resume"])
        },
        needles: &["cannot resume", "unet.model_channels"],
    },
    Case {
        name: "--resume from a truncated checkpoint",
        setup: |d| {
            let out = model_folder(d);
            let f = Path::new(&out).join("checkpoints/step-000001/model.safetensors");
            let bytes = std::fs::read(&f).unwrap();
            std::fs::write(&f, &bytes[..bytes.len() / 3]).unwrap();
            let y = experiment(d, "steps: 1,", "steps: 2,");
            s(&["train", "--experiment", &y, "--out", &out, "--resume"])
        },
        needles: &["cannot resume", "model.safetensors"],
    },
    Case {
        name: "--resume with the checkpoint's state.json deleted",
        setup: |d| {
            let out = model_folder(d);
            std::fs::remove_file(Path::new(&out).join("checkpoints/step-000001/state.json"))
                .unwrap();
            let y = experiment(d, "steps: 1,", "steps: 2,");
            s(&["train", "--experiment", &y, "--out", &out, "--resume"])
        },
        needles: &["cannot resume", "state.json"],
    },
    // --- CLI flags ---
    Case {
        name: "compare with one method name twice",
        setup: |d| {
            let (s1, a) = valid_pair(d);
            let m = format!("flow={s1}");
            s(&[
                "compare",
                "--method",
                &m,
                "--method",
                &m,
                "--annotations",
                &a,
                "--out",
                &p(d, "cmp"),
            ])
        },
        needles: &["--method flow", "given twice"],
    },
    Case {
        name: "--out under a regular file",
        setup: |d| {
            std::fs::write(d.join("file"), b"x").unwrap();
            s(&[
                "data",
                "synth",
                "--count",
                "2",
                "--preset",
                "tiny",
                "--out",
                &p(d, "file/sub"),
            ])
        },
        needles: &["file/sub"],
    },
    Case {
        name: "an unknown subcommand",
        setup: |_| s(&["trian"]),
        needles: &["trian"],
    },
];

#[test]
fn catalogue_of_bad_inputs() {
    let mut failures = Vec::new();
    for case in CATALOGUE {
        let dir = tempfile::tempdir().unwrap();
        let args = (case.setup)(dir.path());
        let before = listing(dir.path());
        let out = fmseg_limited(dir.path(), &args, 4 << 20);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let mut problems = Vec::new();
        if out.status.code() != Some(2) {
            problems.push(format!("exit {:?}", out.status.code()));
        }
        if stderr.trim_end().lines().count() != 1 {
            problems.push("not one line".into());
        }
        if stderr.contains("panicked") || stderr.contains("internal error") {
            problems.push("panic".into());
        }
        for needle in case.needles {
            if !stderr.contains(needle) {
                problems.push(format!("'{needle}' missing"));
            }
        }
        if !out.stdout.is_empty() {
            problems.push("stdout written".into());
        }
        let after = listing(dir.path());
        let new: Vec<&String> = after.iter().filter(|f| !before.contains(f)).collect();
        if !new.is_empty() {
            problems.push(format!("left {new:?}"));
        }
        // the catalogue's messages, for the closing note
        eprintln!("[{}] {}", case.name, stderr.trim_end());
        if !problems.is_empty() {
            failures.push(format!(
                "{}: {} — {}",
                case.name,
                problems.join(", "),
                stderr.trim_end()
            ));
        }
    }
    assert!(CATALOGUE.len() >= 40, "the catalogue shrank");
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        CATALOGUE.len(),
        failures.join("\n")
    );
}
