//! Question insights: which behaviours fail most (a Pareto of failures per
//! question) and which of them customers actually notice (each question's
//! pass/fail against CSAT, NPS and FCR on the same interactions).
//!
//! - [`pareto`]: fail rate per question, Pareto order, cumulative share and
//!   the "vital few".
//! - [`association`]: the 2×k tables kept in question cells → difference of
//!   the outcome between passed and failed answers, with its test, and the
//!   phi correlation.
//!
//! Association is not causation, and the minimum sample applies to both
//! sides: a question failed twice says nothing about CSAT.

pub mod association;
pub mod pareto;
