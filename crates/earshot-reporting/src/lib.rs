//! placeholder
pub mod stats;
pub mod validation;
