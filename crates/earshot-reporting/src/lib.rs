//! placeholder
pub mod significance;
pub mod stats;
pub mod validation;
