//! On-disk multi-rater formats (see `shared/docs/data-formats.md`): Python pickles holding
//! numpy arrays (Knegt's LIDC `data_lidc.pickle`, the official `Train.pickle`/`Val.pickle`,
//! MedicalMatting's QUBIQ brain-growth pickle), CIMD JPEG folders, PyTorch `.pt` state dicts,
//! and the official scikit-learn LIDC split.
//!
//! Every reader returns the plain [`RawDataset`] / [`RawSample`] (or, for `.pt`, named
//! arrays) and typed errors; nothing in a file is ever executed.

pub mod cimd_jpeg;
pub mod lidc_pickle;
pub mod mmis_h5;
pub mod mmis_npy;
pub mod pickle;
pub mod raw;
pub mod split;
pub mod torch_pt;

pub use cimd_jpeg::{CimdError, read_cimd_dir};
pub use lidc_pickle::{LidcPickleError, read_lidc_pickle};
pub use mmis_h5::{MmisH5Error, read_mmis_h5, read_mmis_h5_dir};
pub use mmis_npy::{MmisNpyError, read_mmis_npy_dir};
pub use raw::{RawDataset, RawSample, SourceFormat};
pub use split::{SplitError, official_lidc_split, split_by_group, train_test_split};
