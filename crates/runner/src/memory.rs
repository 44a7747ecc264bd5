//! Requests whose size is known before any work starts (sample counts × images × pixels, synthetic
//! counts, oracle draws, resize targets) are checked against the memory this machine has
//! available, and refused with one line naming the flag or field, the bytes needed and the bytes
//! available, instead of failing an allocation (an abort) minutes later.

use crate::input_error::input_error;

/// Bytes a request needs: the product of its factors (in `u128`, so it never overflows).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Need(u128);

impl Need {
    /// `count` elements of `bytes_each` bytes.
    pub fn elements(count: &[usize], bytes_each: usize) -> Self {
        Self(
            count
                .iter()
                .fold(bytes_each as u128, |n, &d| n.saturating_mul(d as u128)),
        )
    }

    /// A need of `bytes` bytes.
    pub fn bytes_of(bytes: u128) -> Self {
        Self(bytes)
    }

    /// This need `times` over (working copies held at once).
    pub fn times(self, times: usize) -> Self {
        Self(self.0.saturating_mul(times as u128))
    }

    /// The bytes.
    pub fn bytes(self) -> u128 {
        self.0
    }
}

/// The memory available to a new allocation: `MemAvailable` of `/proc/meminfo` (Linux), else
/// `None` (then nothing is refused).
pub fn available_bytes() -> Option<u128> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u128 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Refuses `need` when it exceeds the available memory; `what` names the flag or field and its
/// value (`--count 1000000000`), `detail` how the bytes add up.
pub fn check(what: &str, need: Need, detail: &str) -> anyhow::Result<()> {
    check_against(what, need, detail, available_bytes())
}

/// [`check`] against a given amount of available memory.
pub fn check_against(
    what: &str,
    need: Need,
    detail: &str,
    available: Option<u128>,
) -> anyhow::Result<()> {
    match refusal_against(what, need, detail, available) {
        Some(message) => Err(input_error(message)),
        None => Ok(()),
    }
}

/// The message refusing `need` when it exceeds the available memory (for callers with their own
/// error type, such as an experiment file's field errors).
pub fn refusal(what: &str, need: Need, detail: &str) -> Option<String> {
    refusal_against(what, need, detail, available_bytes())
}

fn refusal_against(
    what: &str,
    need: Need,
    detail: &str,
    available: Option<u128>,
) -> Option<String> {
    let available = available?;
    (need.bytes() > available).then(|| {
        format!(
            "{what}: needs {} ({detail}), this machine has {} available",
            human(need.bytes()),
            human(available)
        )
    })
}

/// Bytes as `12.3 GiB`.
pub fn human(bytes: u128) -> String {
    const UNITS: [&str; 7] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1024.0 && unit + 1 < UNITS.len() {
        value /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn needs_never_overflow_and_are_refused_above_what_is_available() {
        let huge = Need::elements(&[usize::MAX, usize::MAX, 4], 4).times(3);
        assert!(huge.bytes() > u128::from(u64::MAX));
        let e = check_against("--count 7", huge, "7 × 1", Some(1 << 30)).unwrap_err();
        let text = e.to_string();
        assert!(
            text.starts_with("--count 7: needs ") && text.ends_with("1.0 GiB available"),
            "{text}"
        );
        assert!(crate::input_error::is_input_error(&e));
        let small = Need::elements(&[16, 32, 32], 4);
        assert_eq!(small.bytes(), 65_536);
        assert!(check_against("x", small, "", Some(65_536)).is_ok());
        assert!(check_against("x", small, "", Some(65_535)).is_err());
        assert!(check_against("x", huge, "", None).is_ok());
        assert_eq!(human(512), "512 B");
        assert_eq!(human(3 << 29), "1.5 GiB");
    }

    #[test]
    fn this_machine_reports_some_memory() {
        if cfg!(target_os = "linux") {
            assert!(available_bytes().is_some_and(|b| b > 0));
        }
    }
}
