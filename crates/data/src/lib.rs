//! # fmseg-data
//!
//! Multi-rater segmentation data for fmseg: the embedded synthetic dataset with a known answer
//! distribution ([`synth`]), numpy array files ([`npy`]), and the real on-disk formats of LIDC,
//! MMIS and QUBIQ ([`formats`]).

#![warn(missing_docs)]

pub mod atomic;
pub mod cache;
pub mod contained;
pub mod error;
pub mod field;
pub mod formats;
pub mod inspect;
pub mod integrity;
pub mod names;
pub mod npy;
pub mod preprocess;
pub mod rng;
pub mod synth;

pub use error::DataError;
pub use field::FieldError;
pub use names::{UnknownName, parse_name};
