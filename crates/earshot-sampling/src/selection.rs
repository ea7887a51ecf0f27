//! Selection as interactions arrive: the heart of sampling.
//!
//! # The rule
//!
//! Each eligible interaction has a draw `u = H(plan seed, id)` ([`crate::draw`]).
//! When it is first stored ended, it is selected **at random** if
//! `u < τ`, where `τ` is its agent's threshold for the period (per stratum
//! when stratified) — see [`crate::quota`] — fixed when the agent's period
//! opens; and never when the agent is at the plan's maximum. Otherwise it is
//! offered to the plan's **targeted rules** in priority order; the first
//! matching rule with cap left selects it, provided the agent keeps room
//! under the maximum for the random selections still expected. Late facts
//! (a survey, a complaint, a repeat contact) offer it to the rules again,
//! never to the random draw. At period close, [`crate::top_up`] tops agents
//! up with their smallest unselected draws.
//!
//! # Why this design
//!
//! * **Deterministic**: the draw depends only on (seed, id); thresholds and
//!   counters live in the database, so every replica decides the same.
//! * **A simple random sample, spread like the population**: while an agent
//!   is below the maximum, its random selections on arrival are exactly the
//!   interactions with `u < τ` and its top-ups are the next-smallest draws, so
//!   at close the random selections are the `k` smallest draws of the period:
//!   a uniform sample without replacement whatever the arrival order, batch
//!   size or replica. Uniform in draw means uniform in time: the selected
//!   timestamps follow the population's (tested with a Kolmogorov–Smirnov
//!   test in `tests/`).
//! * **Why τ is never adjusted mid-period**: the tempting improvement —
//!   lowering τ when an agent turns out busier than expected, à la
//!   Knuth's selection sampling — makes early interactions likelier to be
//!   picked than late ones, biasing the sample toward the start of the
//!   period. A fixed τ keeps the sample exact, and an overestimated volume
//!   costs nothing but later (top-up) selections. Only the maximum can cut
//!   the sample short, and only for an agent whose volume exceeds
//!   `max / τ` — several times the expected volume.
//! * **Min and max**: the maximum is checked before every selection; the
//!   minimum is met at close as far as the agent's volume allows.

use std::collections::BTreeMap;

use crate::ids::RuleId;
use crate::plan::TargetedRule;
use crate::quota::EffectiveQuota;

/// Why an interaction was selected.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Reason {
    /// At random (unstratified plan).
    Random,
    /// At random within its stratum.
    Stratified,
    /// At period close, to reach the random target or the minimum.
    TopUp,
    /// By a targeted rule.
    Targeted(RuleId),
    /// By hand.
    Manual,
}

impl Reason {
    /// The `SelectionReason` code.
    pub fn code(&self) -> i32 {
        match self {
            Reason::Random => 1,
            Reason::Stratified => 2,
            Reason::TopUp => 3,
            Reason::Targeted(_) => 4,
            Reason::Manual => 5,
        }
    }

    /// True for the reasons that make up the random sample.
    pub fn is_random(&self) -> bool {
        matches!(self, Reason::Random | Reason::Stratified | Reason::TopUp)
    }
}

/// The counters of one agent in one plan period, as the store keeps them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AgentPeriodCounts {
    /// Eligible interactions seen (drawn) so far.
    pub eligible: u64,
    /// Selected at random as they arrived.
    pub random: u32,
    /// Selected at close.
    pub top_up: u32,
    /// Selected by targeted rules.
    pub targeted: u32,
    /// Targeted selections per rule.
    pub by_rule: BTreeMap<RuleId, u32>,
}

impl AgentPeriodCounts {
    /// All selections (what the minimum and maximum count).
    pub fn total(&self) -> u32 {
        self.random
            .saturating_add(self.top_up)
            .saturating_add(self.targeted)
    }
}

/// The counters of one plan period over all agents (rule caps per period).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlanPeriodCounts {
    /// Targeted selections per rule.
    pub by_rule: BTreeMap<RuleId, u32>,
}

/// An interaction offered to a plan.
#[derive(Debug, Clone, Copy)]
pub struct Candidate<'a> {
    /// Its draw for the plan.
    pub u: f64,
    /// Its agent's (stratum's) threshold for the period.
    pub threshold: f64,
    /// The targeted rules it matches, in the order they are tried.
    pub matched: &'a [&'a TargetedRule],
    /// True at its first eligible store (the only time it is drawn); false
    /// when offered again because of a late fact.
    pub draw_now: bool,
}

/// Why an offered interaction was not selected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SkipReason {
    /// Its draw was not below the threshold and no rule matched.
    AboveThreshold,
    /// No rule matched (late-fact offer).
    NoRuleMatched,
    /// The agent is at the maximum.
    AtMaximum,
    /// The room under the maximum is kept for the random sample.
    ReservedForRandom,
    /// Every matching rule is at its cap.
    RuleCapsReached,
}

/// What to do with an offered interaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// Select it at random.
    Random,
    /// Select it by this rule.
    Targeted(RuleId),
    /// Do not select it.
    Skip(SkipReason),
}

/// Decides about one interaction. `expected_random` is the random selections
/// expected over the agent's period ([`EffectiveQuota::expected_random`]),
/// whose room under the maximum targeted rules may not take.
pub fn decide(
    c: &Candidate<'_>,
    quota: &EffectiveQuota,
    expected_random: u32,
    agent: &AgentPeriodCounts,
    plan: &PlanPeriodCounts,
) -> Decision {
    let total = agent.total();
    let at_max = quota.max.is_some_and(|m| total >= m);
    if c.draw_now && c.u < c.threshold {
        return if at_max {
            Decision::Skip(SkipReason::AtMaximum)
        } else {
            Decision::Random
        };
    }
    if c.matched.is_empty() {
        return Decision::Skip(if c.draw_now {
            SkipReason::AboveThreshold
        } else {
            SkipReason::NoRuleMatched
        });
    }
    if at_max {
        return Decision::Skip(SkipReason::AtMaximum);
    }
    if let Some(max) = quota.max {
        let reserve = expected_random.saturating_sub(agent.random.saturating_add(agent.top_up));
        if u64::from(total) + 1 + u64::from(reserve) > u64::from(max) {
            return Decision::Skip(SkipReason::ReservedForRandom);
        }
    }
    for rule in c.matched {
        let by_agent = agent.by_rule.get(&rule.id).copied().unwrap_or(0);
        let by_plan = plan.by_rule.get(&rule.id).copied().unwrap_or(0);
        if by_agent < rule.cap_per_agent && rule.cap_per_period.is_none_or(|cap| by_plan < cap) {
            return Decision::Targeted(rule.id.clone());
        }
    }
    Decision::Skip(SkipReason::RuleCapsReached)
}

/// Applies a decision to the counters.
pub fn record(decision: &Decision, agent: &mut AgentPeriodCounts, plan: &mut PlanPeriodCounts) {
    match decision {
        Decision::Random => agent.random = agent.random.saturating_add(1),
        Decision::Targeted(rule) => {
            agent.targeted = agent.targeted.saturating_add(1);
            let a = agent.by_rule.entry(rule.clone()).or_insert(0);
            *a = a.saturating_add(1);
            let p = plan.by_rule.entry(rule.clone()).or_insert(0);
            *p = p.saturating_add(1);
        }
        Decision::Skip(_) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{PerAgentTarget, RandomTarget, RuleCondition};

    fn rule(id: &str, cap_agent: u32, cap_period: Option<u32>) -> TargetedRule {
        TargetedRule {
            id: RuleId::parse(id).unwrap(),
            display_name: String::new(),
            priority: 1,
            cap_per_agent: cap_agent,
            cap_per_period: cap_period,
            condition: RuleCondition::Complaint,
        }
    }

    fn c<'a>(u: f64, matched: &'a [&'a TargetedRule], draw_now: bool) -> Candidate<'a> {
        Candidate {
            u,
            threshold: 0.1,
            matched,
            draw_now,
        }
    }

    fn quota(min: u32, max: Option<u32>) -> EffectiveQuota {
        EffectiveQuota::new(
            &PerAgentTarget {
                min,
                max,
                random: RandomTarget::Count(min),
            },
            None,
        )
    }

    #[test]
    fn decision_table() {
        let complaint = rule("complaint", 2, None);
        let xfer = rule("xfer", 1, Some(1));
        let both = [&complaint, &xfer];
        let none: [&TargetedRule; 0] = [];
        let q = quota(4, Some(8));
        let fresh = AgentPeriodCounts::default();
        let plan = PlanPeriodCounts::default();
        let both: &[&TargetedRule] = &both;
        let none: &[&TargetedRule] = &none;

        assert_eq!(
            decide(&c(0.05, none, true), &q, 4, &fresh, &plan),
            Decision::Random
        );
        // A random pick wins over rules, so the sample stays a prefix of draws.
        assert_eq!(
            decide(&c(0.05, both, true), &q, 4, &fresh, &plan),
            Decision::Random
        );
        // Late facts never draw.
        assert_eq!(
            decide(&c(0.05, none, false), &q, 4, &fresh, &plan),
            Decision::Skip(SkipReason::NoRuleMatched)
        );
        assert_eq!(
            decide(&c(0.5, none, true), &q, 4, &fresh, &plan),
            Decision::Skip(SkipReason::AboveThreshold)
        );
        assert_eq!(
            decide(&c(0.5, both, true), &q, 4, &fresh, &plan),
            Decision::Targeted(RuleId::parse("complaint").unwrap())
        );
        // At the maximum nothing more is selected.
        let full = AgentPeriodCounts {
            random: 5,
            targeted: 3,
            ..Default::default()
        };
        assert_eq!(
            decide(&c(0.05, none, true), &q, 4, &full, &plan),
            Decision::Skip(SkipReason::AtMaximum)
        );
        assert_eq!(
            decide(&c(0.5, both, true), &q, 4, &full, &plan),
            Decision::Skip(SkipReason::AtMaximum)
        );
        // 1 random + 3 targeted, 4 random expected: 3 more random must fit in 8.
        let tight = AgentPeriodCounts {
            random: 1,
            targeted: 4,
            ..Default::default()
        };
        assert_eq!(
            decide(&c(0.5, both, true), &q, 4, &tight, &plan),
            Decision::Skip(SkipReason::ReservedForRandom)
        );
        // Caps: complaint at its per-agent cap falls through to xfer; xfer at its period cap.
        let capped = AgentPeriodCounts {
            targeted: 2,
            by_rule: [(RuleId::parse("complaint").unwrap(), 2)].into(),
            ..Default::default()
        };
        assert_eq!(
            decide(&c(0.5, both, true), &q, 4, &capped, &plan),
            Decision::Targeted(RuleId::parse("xfer").unwrap())
        );
        let plan_capped = PlanPeriodCounts {
            by_rule: [(RuleId::parse("xfer").unwrap(), 1)].into(),
        };
        assert_eq!(
            decide(&c(0.5, both, true), &q, 4, &capped, &plan_capped),
            Decision::Skip(SkipReason::RuleCapsReached)
        );
        // No maximum: no reserve either.
        let open = quota(4, None);
        let many = AgentPeriodCounts {
            random: 100,
            targeted: 100,
            ..Default::default()
        };
        assert_eq!(
            decide(&c(0.05, none, true), &open, 4, &many, &plan),
            Decision::Random
        );
    }

    #[test]
    fn recording_counts() {
        let mut a = AgentPeriodCounts::default();
        let mut p = PlanPeriodCounts::default();
        let r = RuleId::parse("r").unwrap();
        record(&Decision::Random, &mut a, &mut p);
        record(&Decision::Targeted(r.clone()), &mut a, &mut p);
        record(&Decision::Targeted(r.clone()), &mut a, &mut p);
        record(&Decision::Skip(SkipReason::AtMaximum), &mut a, &mut p);
        assert_eq!((a.random, a.targeted, a.total()), (1, 2, 3));
        assert_eq!(a.by_rule[&r], 2);
        assert_eq!(p.by_rule[&r], 2);
        assert!(Reason::TopUp.is_random() && !Reason::Manual.is_random());
        assert_eq!(Reason::Targeted(r).code(), 4);
    }
}
