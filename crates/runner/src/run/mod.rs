//! `fmseg run`, `fmseg sweep` and `fmseg collect`, as a pipeline of one-concept modules, each
//! importing only those before it: the experiment file (`spec`, `spec_file`, `counts`), its
//! ablation grid (`ablation`), the method registry (`method`), datasets (`data`), cells and their
//! keys (`key`, `plan`), the output folder (`layout`, `lock`), running a cell (`execute`, its
//! learning curve `curve`, `prepare`), reading results back (`gather`), and the merged outputs (`collect`, `figures_out`,
//! `figures`, `manifest`); Slurm job arrays (`slurm`). The folder layout is documented in
//! [`layout`].

pub mod ablation;
pub mod collect;
pub mod counts;
pub mod curve;
pub mod data;
pub mod execute;
pub mod figures;
pub mod figures_out;
pub mod gather;
pub mod key;
pub mod layout;
pub mod lock;
pub mod manifest;
pub mod method;
pub mod plan;
pub mod prepare;
pub mod score;
pub mod slurm;
pub mod spec;
pub mod spec_file;
pub mod split;
