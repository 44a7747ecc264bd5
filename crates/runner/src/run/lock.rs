//! An exclusive claim on a model folder while it trains (`<dir>.lock` holding host and pid), so
//! that Slurm array tasks sharing a model train it once; a lock left by a dead process on this
//! host is taken over.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};

/// The claim; released (the lock file removed) on drop.
pub struct TrainLock {
    path: PathBuf,
}

fn host() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_else(|_| "unknown".into())
}

impl TrainLock {
    /// Waits until `dir`'s lock can be taken, then takes it.
    pub fn acquire(dir: &Path) -> Result<Self> {
        let path = dir.with_extension("lock");
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .with_context(|| format!("creating {}", parent.display()))?;
        }
        let me = format!("{} {}", host(), std::process::id());
        let mut waited = false;
        loop {
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(&path)
            {
                Ok(mut f) => {
                    use std::io::Write;
                    f.write_all(me.as_bytes())
                        .with_context(|| format!("writing {}", path.display()))?;
                    return Ok(Self { path });
                }
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let owner = std::fs::read_to_string(&path).unwrap_or_default();
                    let mut parts = owner.split_whitespace();
                    let (h, pid) = (
                        parts.next().unwrap_or_default(),
                        parts.next().unwrap_or_default(),
                    );
                    let dead = h == host() && !Path::new("/proc").join(pid).exists();
                    if dead || owner.is_empty() {
                        let _ = std::fs::remove_file(&path);
                        continue;
                    }
                    if !waited {
                        eprintln!("waiting for {} (held by {owner})", path.display());
                        waited = true;
                    }
                    std::thread::sleep(Duration::from_secs(5));
                }
                Err(e) => return Err(e).with_context(|| format!("creating {}", path.display())),
            }
        }
    }
}

impl Drop for TrainLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}
