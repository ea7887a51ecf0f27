//! Where ingest's time goes: process-wide totals of the time spent in each
//! phase of storing interactions, so the ingest benchmark (and anyone
//! diagnosing a slow ingest) can see the cost of a batch by phase. Adding
//! to a total is one relaxed atomic add per phase and group of batches.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// A phase of storing a group of batches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Validating and converting items (before the transaction).
    Prepare,
    /// Loading the tenant's settings and active plans.
    Context,
    /// Opening the transaction.
    Begin,
    /// Looking the batch's ids up (idempotency).
    Lookup,
    /// Writing new and changed interactions.
    Write,
    /// Waiting for the tenant's ingest lock.
    Lock,
    /// Finding repeat contacts.
    Probe,
    /// Writing the voids of first-contact resolution they make.
    Voids,
    /// The active plans' decisions: counters, selections, assignments.
    Plans,
    /// Building and appending the change-feed events.
    Events,
    /// Committing.
    Commit,
    /// Closing ended plan periods with their top-ups: the background
    /// sweep, beside ingest (its rescan reads a snapshot; only the claim
    /// and the top-up's writes take the writer).
    Close,
}

const ALL: [Phase; 12] = [
    Phase::Prepare,
    Phase::Context,
    Phase::Begin,
    Phase::Lookup,
    Phase::Write,
    Phase::Lock,
    Phase::Probe,
    Phase::Voids,
    Phase::Plans,
    Phase::Events,
    Phase::Commit,
    Phase::Close,
];

impl Phase {
    /// The phase's name.
    pub fn name(self) -> &'static str {
        match self {
            Phase::Prepare => "prepare",
            Phase::Context => "context",
            Phase::Begin => "begin",
            Phase::Lookup => "lookup",
            Phase::Write => "write",
            Phase::Lock => "lock",
            Phase::Probe => "probe",
            Phase::Voids => "voids",
            Phase::Plans => "plans",
            Phase::Events => "events",
            Phase::Commit => "commit",
            Phase::Close => "close",
        }
    }
}

static TOTALS: [AtomicU64; ALL.len()] = [const { AtomicU64::new(0) }; ALL.len()];

/// Adds the time since `since` to `phase`'s total; returns now, the start
/// of the next phase.
pub fn add(phase: Phase, since: Instant) -> Instant {
    let now = Instant::now();
    let nanos = u64::try_from(now.duration_since(since).as_nanos()).unwrap_or(u64::MAX);
    if let Some(t) = TOTALS.get(phase as usize) {
        t.fetch_add(nanos, Ordering::Relaxed);
    }
    now
}

/// Every phase with its total time since the process started (or the last
/// [`reset`]).
pub fn totals() -> Vec<(&'static str, Duration)> {
    ALL.iter()
        .map(|p| {
            let nanos = TOTALS
                .get(*p as usize)
                .map_or(0, |t| t.load(Ordering::Relaxed));
            (p.name(), Duration::from_nanos(nanos))
        })
        .collect()
}

/// Sets every total back to zero.
pub fn reset() {
    for t in &TOTALS {
        t.store(0, Ordering::Relaxed);
    }
}
