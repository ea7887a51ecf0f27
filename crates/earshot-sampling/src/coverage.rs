//! Monitoring coverage: per agent (or team) and period, evaluations due vs
//! done vs quota, and whether the monitoring SLA was met.
//!
//! * **required** = `min(minimum, volume)`: the minimum only binds when the
//!   agent has the volume;
//! * **due** = assignments completed, plus those past due and still open
//!   (what should be done by now); cancelled assignments do not count;
//! * **on-time ratio** = completed by their due time / due, 1 when nothing is
//!   due yet; the SLA is met when it reaches the tenant's target;
//! * the **quota** is met when completed evaluations reach `required`.

use crate::quota::EffectiveQuota;

/// What coverage needs to know of one assignment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AssignmentFacts {
    /// When it is due.
    pub due_ms: i64,
    /// When it was completed.
    pub complete_ms: Option<i64>,
    /// True when cancelled.
    pub cancelled: bool,
}

/// Coverage of one agent (or a sum over a team's agents) in one period.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Coverage {
    /// Eligible interactions.
    pub volume: u64,
    /// The effective minimum (summed for teams).
    pub quota_min: u32,
    /// The effective maximum (summed for teams); `None` when any is unbounded.
    pub quota_max: Option<u32>,
    /// `min(quota_min, volume)` (summed per agent for teams).
    pub required: u32,
    /// Selections (assignments created).
    pub selected: u32,
    /// Completed, plus open and past due.
    pub due: u32,
    /// Completed.
    pub done: u32,
    /// Completed by their due time.
    pub done_on_time: u32,
    /// Open and past due.
    pub overdue_open: u32,
    /// Open and not yet due.
    pub pending: u32,
    /// `done >= required` (for teams: every agent's own).
    pub quota_met: bool,
    /// `done_on_time / due`, in [0, 1]; 1 when nothing is due.
    pub on_time_ratio: f64,
    /// `on_time_ratio >= target`.
    pub sla_met: bool,
}

fn ratio(on_time: u32, due: u32) -> f64 {
    if due == 0 {
        1.0
    } else {
        f64::from(on_time) / f64::from(due)
    }
}

fn meets(on_time: u32, due: u32, target: f64) -> bool {
    // Compare counts, with a hair of tolerance for targets like 0.95 · 20.
    f64::from(on_time) + 1e-9 >= target * f64::from(due)
}

/// The coverage of one agent in one period at `now_ms`.
pub fn agent_coverage(
    volume: u64,
    quota: &EffectiveQuota,
    selected: u32,
    assignments: &[AssignmentFacts],
    now_ms: i64,
    on_time_target: f64,
) -> Coverage {
    let (mut done, mut done_on_time, mut overdue_open, mut pending) = (0u32, 0u32, 0u32, 0u32);
    for a in assignments.iter().filter(|a| !a.cancelled) {
        match a.complete_ms {
            Some(at) => {
                done += 1;
                if at <= a.due_ms {
                    done_on_time += 1;
                }
            }
            None if now_ms > a.due_ms => overdue_open += 1,
            None => pending += 1,
        }
    }
    let due = done + overdue_open;
    let required = quota.required(volume);
    Coverage {
        volume,
        quota_min: quota.min,
        quota_max: quota.max,
        required,
        selected,
        due,
        done,
        done_on_time,
        overdue_open,
        pending,
        quota_met: done >= required,
        on_time_ratio: ratio(done_on_time, due),
        sla_met: meets(done_on_time, due, on_time_target),
    }
}

/// A team's coverage: the sums of its agents' rows.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TeamCoverage {
    /// Sums (quota met only when every agent's is).
    pub coverage: Coverage,
    /// Agents in the team's rows.
    pub agents: u32,
    /// Agents whose quota is met.
    pub agents_quota_met: u32,
}

/// Sums agent rows into a team row.
pub fn team_rollup(rows: &[Coverage], on_time_target: f64) -> TeamCoverage {
    let mut c = Coverage {
        volume: 0,
        quota_min: 0,
        quota_max: Some(0),
        required: 0,
        selected: 0,
        due: 0,
        done: 0,
        done_on_time: 0,
        overdue_open: 0,
        pending: 0,
        quota_met: true,
        on_time_ratio: 1.0,
        sla_met: true,
    };
    let mut met = 0u32;
    for r in rows {
        c.volume = c.volume.saturating_add(r.volume);
        c.quota_min = c.quota_min.saturating_add(r.quota_min);
        c.quota_max = c
            .quota_max
            .zip(r.quota_max)
            .map(|(a, b)| a.saturating_add(b));
        c.required = c.required.saturating_add(r.required);
        c.selected = c.selected.saturating_add(r.selected);
        c.due = c.due.saturating_add(r.due);
        c.done = c.done.saturating_add(r.done);
        c.done_on_time = c.done_on_time.saturating_add(r.done_on_time);
        c.overdue_open = c.overdue_open.saturating_add(r.overdue_open);
        c.pending = c.pending.saturating_add(r.pending);
        c.quota_met &= r.quota_met;
        met += u32::from(r.quota_met);
    }
    c.on_time_ratio = ratio(c.done_on_time, c.due);
    c.sla_met = meets(c.done_on_time, c.due, on_time_target);
    TeamCoverage {
        coverage: c,
        agents: u32::try_from(rows.len()).unwrap_or(u32::MAX),
        agents_quota_met: met,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{PerAgentTarget, RandomTarget};

    fn quota() -> EffectiveQuota {
        EffectiveQuota::new(
            &PerAgentTarget {
                min: 4,
                max: Some(8),
                random: RandomTarget::Count(4),
            },
            None,
        )
    }

    fn a(due: i64, done: Option<i64>) -> AssignmentFacts {
        AssignmentFacts {
            due_ms: due,
            complete_ms: done,
            cancelled: false,
        }
    }

    #[test]
    fn worked_example() {
        let list = [
            a(100, Some(90)),  // on time
            a(100, Some(150)), // late
            a(100, None),      // overdue at now = 200
            a(300, None),      // pending
            AssignmentFacts {
                due_ms: 100,
                complete_ms: None,
                cancelled: true,
            },
        ];
        let c = agent_coverage(50, &quota(), 5, &list, 200, 0.95);
        assert_eq!(
            (
                c.required,
                c.due,
                c.done,
                c.done_on_time,
                c.overdue_open,
                c.pending
            ),
            (4, 3, 2, 1, 1, 1)
        );
        assert!(!c.quota_met);
        assert!((c.on_time_ratio - 1.0 / 3.0).abs() < 1e-12);
        assert!(!c.sla_met);
        // A small agent: the minimum binds only up to the volume.
        let small = agent_coverage(
            2,
            &quota(),
            2,
            &[a(100, Some(50)), a(100, Some(60))],
            200,
            0.95,
        );
        assert!(small.quota_met && small.sla_met);
        assert_eq!(small.required, 2);
        // Nothing due yet: ratio 1, SLA met.
        let fresh = agent_coverage(10, &quota(), 1, &[a(500, None)], 200, 1.0);
        assert_eq!(
            (fresh.on_time_ratio, fresh.sla_met, fresh.quota_met),
            (1.0, true, false)
        );
    }

    #[test]
    fn exact_targets_are_met_despite_rounding() {
        let list: Vec<AssignmentFacts> = (0..20)
            .map(|n| a(100, Some(if n < 19 { 50 } else { 150 })))
            .collect();
        let c = agent_coverage(100, &quota(), 20, &list, 200, 0.95);
        assert!(c.sla_met, "19 of 20 is 0.95");
    }

    #[test]
    fn teams_sum_their_agents() {
        let ok = agent_coverage(50, &quota(), 4, &[a(100, Some(1)); 4], 200, 0.9);
        let short = agent_coverage(50, &quota(), 4, &[a(100, Some(1)), a(100, None)], 200, 0.9);
        let t = team_rollup(&[ok, short], 0.9);
        assert_eq!((t.agents, t.agents_quota_met), (2, 1));
        assert!(!t.coverage.quota_met);
        assert_eq!(
            (t.coverage.required, t.coverage.done, t.coverage.due),
            (8, 5, 6)
        );
        assert_eq!(t.coverage.quota_max, Some(16));
        assert!(!t.coverage.sla_met);
        let empty = team_rollup(&[], 0.9);
        assert!(empty.coverage.quota_met && empty.coverage.sla_met && empty.agents == 0);
    }
}
