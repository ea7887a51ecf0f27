//! Earshot's calibration service: calibration sessions (blind, expert and
//! consensus) and the agreement statistics that say how well evaluators agree.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod agreement;
pub mod stats;
pub mod validation;
