//! The tenant's scoring settings, their defaults and their rules.

use crate::violation::{Collector, Violations};

/// One day in milliseconds.
pub const DAY_MS: i64 = 24 * 60 * 60 * 1000;
/// The longest dispute window: 366 days.
pub const MAX_DISPUTE_WINDOW_MS: i64 = 366 * DAY_MS;

/// Per-tenant scoring settings (mirrors `earshot.scoring.v1.Settings`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// Hide the evaluator's identity from agents.
    pub anonymous_evaluation: bool,
    /// Release automatically on submit.
    pub auto_release_on_submit: bool,
    /// Evaluators may release their own evaluations.
    pub evaluators_may_release: bool,
    /// How long after release an agent may dispute, in milliseconds; 0 means
    /// no limit.
    pub dispute_window_ms: i64,
    /// Agents may create self-evaluations.
    pub self_evaluation_enabled: bool,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            anonymous_evaluation: false,
            auto_release_on_submit: false,
            evaluators_may_release: false,
            dispute_window_ms: 7 * DAY_MS,
            self_evaluation_enabled: false,
        }
    }
}

impl Settings {
    /// Checks settings given by a caller.
    pub fn parse(s: Settings) -> Result<Settings, Violations> {
        let mut c = Collector::default();
        if s.dispute_window_ms < 0 {
            c.push("settings.dispute_window", "must not be negative");
        } else if s.dispute_window_ms > MAX_DISPUTE_WINDOW_MS {
            c.push("settings.dispute_window", "must be at most 366 days");
        }
        c.into_result(s)
    }

    /// Whether a dispute at `now_ms` of an evaluation released at
    /// `released_ms` is within the window (epoch milliseconds, UTC).
    pub fn dispute_open(&self, released_ms: i64, now_ms: i64) -> bool {
        self.dispute_window_ms == 0 || now_ms.saturating_sub(released_ms) <= self.dispute_window_ms
    }
}
