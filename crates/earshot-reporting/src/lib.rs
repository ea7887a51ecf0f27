//! placeholder
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]
pub mod benchmark;
pub mod calendar;
pub mod comparison;
pub mod dimension;
pub mod facts;
pub mod insights;
pub mod metrics;
pub mod output;
pub mod reports;
pub mod rollup;
pub mod settings;
pub mod significance;
pub mod stats;
pub mod targets;
pub mod trend;
pub mod validation;
