//! placeholder
pub mod calendar;
pub mod dimension;
pub mod facts;
pub mod significance;
pub mod stats;
pub mod validation;
