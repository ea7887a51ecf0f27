//! The statistics every figure is built from, as mergeable sufficient
//! statistics plus the pure functions that turn them into estimates.
//!
//! - [`special`]: log-gamma, incomplete gamma/beta, normal and Student-t
//!   CDFs and quantiles (computed, never tabled).
//! - [`estimate`]: [`Estimate`], a value with its 95% interval, sample size
//!   and the insufficient/no-data flags.
//! - [`moments`]: count/sum/sum of squares → mean, standard deviation,
//!   Student-t interval.
//! - [`proportion`]: successes/trials → share with a Wilson interval.
//! - [`nps`]: promoter/passive/detractor counts → NPS with an adjusted-Wald
//!   interval and the three shares.
//! - [`histogram`]: the fixed 20-bin score histogram.

pub mod estimate;
pub mod histogram;
pub mod moments;
pub mod nps;
pub mod proportion;
pub mod special;

pub use estimate::Estimate;
pub use histogram::ScoreHistogram;
pub use moments::Moments;
pub use nps::{NpsCounts, NpsEstimate};
pub use proportion::Proportion;
