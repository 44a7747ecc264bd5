//! The vector units of this CPU that the numeric code can use, recorded in every manifest:
//! floating-point results agree bit for bit only between machines with the same units (and the
//! same thread count), so a table is reproducible to the last digit where these match and within
//! its confidence intervals elsewhere.

/// The features detected at run time (x86-64: SSE4.2 through AVX-512 and FMA; aarch64: NEON,
/// SVE), and those the binary was compiled to assume.
pub fn cpu_features() -> serde_json::Value {
    serde_json::json!({
        "detected": detected(),
        "compiled_for": compiled_for(),
    })
}

#[cfg(target_arch = "x86_64")]
fn detected() -> Vec<&'static str> {
    let mut out = Vec::new();
    macro_rules! probe {
        ($($f:tt),*) => {
            $(if std::arch::is_x86_feature_detected!($f) {
                out.push($f);
            })*
        };
    }
    probe!(
        "sse4.2",
        "avx",
        "avx2",
        "fma",
        "f16c",
        "avx512f",
        "avx512bw",
        "avx512vl",
        "avx512dq",
        "avx512fp16"
    );
    out
}

#[cfg(target_arch = "aarch64")]
fn detected() -> Vec<&'static str> {
    let mut out = Vec::new();
    macro_rules! probe {
        ($($f:tt),*) => {
            $(if std::arch::is_aarch64_feature_detected!($f) {
                out.push($f);
            })*
        };
    }
    probe!("neon", "fp16", "sve", "sve2");
    out
}

#[cfg(not(any(target_arch = "x86_64", target_arch = "aarch64")))]
fn detected() -> Vec<&'static str> {
    Vec::new()
}

fn compiled_for() -> Vec<&'static str> {
    let mut out = Vec::new();
    macro_rules! assumed {
        ($($f:tt),*) => {
            $(if cfg!(target_feature = $f) {
                out.push($f);
            })*
        };
    }
    assumed!("sse4.2", "avx", "avx2", "fma", "avx512f", "neon");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_detected_and_compiled_features() {
        let v = cpu_features();
        let detected = v["detected"].as_array().unwrap();
        if cfg!(target_arch = "x86_64") {
            // every x86-64 CPU this builds for has SSE4.2 or better, and compiled-for ⊆ detected
            assert!(!detected.is_empty(), "{v}");
        }
        for f in v["compiled_for"].as_array().unwrap() {
            assert!(
                detected.contains(f),
                "{f} compiled for but not detected: {v}"
            );
        }
    }
}
