//! Helpers shared by the figure tests.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

/// Checks that both files exist and are non-empty, that the PNG decodes to `size`, and that
/// the SVG contains every text in `texts`.
pub fn check_outputs(paths: &[PathBuf], stem: &Path, size: Option<(u32, u32)>, texts: &[&str]) {
    assert_eq!(paths.len(), 2);
    assert_eq!(paths[0], super::canvas::with_suffix(stem, "png"));
    assert_eq!(paths[1], super::canvas::with_suffix(stem, "svg"));
    for p in paths {
        assert!(
            std::fs::metadata(p).unwrap().len() > 0,
            "{} is empty",
            p.display()
        );
    }
    let img = image::open(&paths[0]).unwrap();
    if let Some((w, h)) = size {
        assert_eq!((img.width(), img.height()), (w, h));
    }
    let svg = std::fs::read_to_string(&paths[1]).unwrap();
    assert!(svg.starts_with("<svg"));
    for t in texts {
        assert!(svg.contains(t), "SVG lacks {t:?}");
    }
    // No temporary files are left behind.
    let dir = stem.parent().unwrap();
    for entry in std::fs::read_dir(dir).unwrap() {
        let name = entry.unwrap().file_name();
        assert!(!name.to_string_lossy().ends_with(".tmp"));
    }
}
