//! Lifecycle state machines: which transitions exist, who may make them, and
//! what a refusal is. Pure functions: facts and caller in, new state or a
//! typed [`ScoringError`](crate::error::ScoringError) out; the shell stores
//! the result and writes the audit entry and feed event in one transaction.

pub mod evaluation;
pub mod scorecard;
