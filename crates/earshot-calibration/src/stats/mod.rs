//! Statistics that calibration's figures rest on: special functions, the F
//! and t distributions, and the `Estimate` (value + 95% interval + sample
//! size) every aggregate carries.

pub mod distribution;
pub mod estimate;
pub mod special;
