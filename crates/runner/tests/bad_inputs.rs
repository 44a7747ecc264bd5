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
