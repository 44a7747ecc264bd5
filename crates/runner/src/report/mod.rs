//! Reporting: long-format metric rows, bootstrap confidence intervals over images, and
//! Markdown / LaTeX (booktabs) comparison tables.

pub mod bootstrap;
pub mod rows;
pub mod tables;
