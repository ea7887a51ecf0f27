//! placeholder
pub mod calendar;
pub mod significance;
pub mod stats;
pub mod validation;
