//! # fmseg-baselines
//!
//! The baselines the paper compares with (arXiv 2507.22418, paper-and-baselines §3): Prob-UNet
//! (Kohl et al. 2018), PHiSeg (Baumgartner et al. 2019) and CIMD (Rahman et al. 2023), each behind
//! the same [`fmseg_model::SegmentationSampler`] interface as the flow model.
