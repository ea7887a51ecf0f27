//! Targeted rules: which rules an interaction matches, given its late facts
//! (surveys, feedback, repeat contact) and the handle-time percentiles of the
//! previous period.

use crate::interaction::Interaction;
use crate::plan::{HandleTimeBasis, RuleCondition, TargetedRule};

/// The fewest interactions a handle-time percentile is computed from.
pub const MIN_PERCENTILE_SAMPLE: usize = 20;

/// What is known about an interaction besides its own facts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LateFacts {
    /// The lowest CSAT answer among its surveys.
    pub min_csat: Option<u8>,
    /// Some survey gave an NPS of 0 to 6.
    pub nps_detractor: bool,
    /// A complaint was recorded (resolved or not).
    pub complaint: bool,
    /// A repeat contact voided its FCR.
    pub repeat_contact: bool,
}

/// The 95th percentiles of handle time over the previous period that a
/// long-handle-time rule compares with; `None` when too few interactions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HandleTimeThresholds {
    /// The agent's.
    pub agent_p95_ms: Option<i64>,
    /// The queue's.
    pub queue_p95_ms: Option<i64>,
}

/// True when the interaction meets the condition.
pub fn matches(
    condition: &RuleCondition,
    i: &Interaction,
    facts: &LateFacts,
    p95: &HandleTimeThresholds,
) -> bool {
    match condition {
        RuleCondition::LowCsat(at_most) => facts.min_csat.is_some_and(|c| c <= *at_most),
        RuleCondition::NpsDetractor => facts.nps_detractor,
        RuleCondition::Complaint => facts.complaint,
        RuleCondition::RepeatContact => facts.repeat_contact,
        RuleCondition::LongHandleTime(basis) => {
            let threshold = match basis {
                HandleTimeBasis::Agent => p95.agent_p95_ms,
                HandleTimeBasis::Queue => p95.queue_p95_ms,
            };
            matches!((i.handle_ms(), threshold), (Some(h), Some(t)) if h > t)
        }
        RuleCondition::Transferred => i.transferred,
        RuleCondition::Escalated => i.escalated,
        RuleCondition::Disposition(set) => set.contains(&i.disposition),
        RuleCondition::Attribute { key, values } => {
            i.attributes.get(key).is_some_and(|v| values.contains(v))
        }
    }
}

/// The rules the interaction matches, in the order they are tried.
pub fn matching<'a>(
    rules: &'a [TargetedRule],
    i: &Interaction,
    facts: &LateFacts,
    p95: &HandleTimeThresholds,
) -> Vec<&'a TargetedRule> {
    rules
        .iter()
        .filter(|r| matches(&r.condition, i, facts, p95))
        .collect()
}

/// The nearest-rank 95th percentile of handle times; `None` with fewer than
/// [`MIN_PERCENTILE_SAMPLE`] values. Sorts the slice.
pub fn p95(values: &mut [i64]) -> Option<i64> {
    if values.len() < MIN_PERCENTILE_SAMPLE {
        return None;
    }
    values.sort_unstable();
    // Nearest rank: ceil(0.95 n), 1-based.
    let rank = (values.len() * 95).div_ceil(100);
    values.get(rank.saturating_sub(1)).copied()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::interaction::tests::{T0, valid_input};
    use crate::plan::tests::weekly_input;
    use crate::plan::{PlanSpec, RuleInput};

    #[test]
    fn conditions() {
        let mut input = valid_input();
        input.transferred = true;
        let i = Interaction::parse(input, T0).unwrap();
        let none = LateFacts::default();
        let bad = LateFacts {
            min_csat: Some(2),
            nps_detractor: true,
            complaint: true,
            repeat_contact: true,
        };
        let p = HandleTimeThresholds {
            agent_p95_ms: Some(300_000),
            queue_p95_ms: Some(400_000),
        };
        let set = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect();
        let table: Vec<(RuleCondition, LateFacts, bool)> = vec![
            (RuleCondition::LowCsat(2), bad, true),
            (RuleCondition::LowCsat(1), bad, false),
            (RuleCondition::LowCsat(4), none, false),
            (RuleCondition::NpsDetractor, bad, true),
            (RuleCondition::NpsDetractor, none, false),
            (RuleCondition::Complaint, bad, true),
            (RuleCondition::RepeatContact, bad, true),
            (RuleCondition::RepeatContact, none, false),
            // Handle time is 345 s: above the agent's 300 s, below the queue's 400 s.
            (
                RuleCondition::LongHandleTime(HandleTimeBasis::Agent),
                none,
                true,
            ),
            (
                RuleCondition::LongHandleTime(HandleTimeBasis::Queue),
                none,
                false,
            ),
            (RuleCondition::Transferred, none, true),
            (RuleCondition::Escalated, none, false),
            (
                RuleCondition::Disposition(set(&["resolved", "sale"])),
                none,
                true,
            ),
            (RuleCondition::Disposition(set(&["sale"])), none, false),
            (
                RuleCondition::Attribute {
                    key: "segment".into(),
                    values: set(&["gold"]),
                },
                none,
                true,
            ),
            (
                RuleCondition::Attribute {
                    key: "segment".into(),
                    values: set(&["silver"]),
                },
                none,
                false,
            ),
            (
                RuleCondition::Attribute {
                    key: "nope".into(),
                    values: set(&["gold"]),
                },
                none,
                false,
            ),
        ];
        for (cond, facts, want) in table {
            assert_eq!(matches(&cond, &i, &facts, &p), want, "{cond:?}");
        }
        assert!(!matches(
            &RuleCondition::LongHandleTime(HandleTimeBasis::Agent),
            &i,
            &none,
            &HandleTimeThresholds::default()
        ));
    }

    #[test]
    fn matching_keeps_priority_order() {
        let mut plan = weekly_input();
        plan.rules = vec![
            RuleInput {
                rule_id: "xfer".into(),
                kind: 6,
                priority: 9,
                cap_per_agent: 1,
                ..Default::default()
            },
            RuleInput {
                rule_id: "complaint".into(),
                kind: 3,
                priority: 1,
                cap_per_agent: 1,
                ..Default::default()
            },
            RuleInput {
                rule_id: "esc".into(),
                kind: 7,
                priority: 2,
                cap_per_agent: 1,
                ..Default::default()
            },
        ];
        let plan = PlanSpec::parse(&plan).unwrap();
        let mut input = valid_input();
        input.transferred = true;
        let i = Interaction::parse(input, T0).unwrap();
        let facts = LateFacts {
            complaint: true,
            ..Default::default()
        };
        let got: Vec<&str> = matching(&plan.rules, &i, &facts, &HandleTimeThresholds::default())
            .iter()
            .map(|r| r.id.as_str())
            .collect();
        assert_eq!(got, ["complaint", "xfer"]);
    }

    #[test]
    fn percentile_by_nearest_rank() {
        let mut few: Vec<i64> = (1..20).collect();
        assert_eq!(p95(&mut few), None);
        let mut twenty: Vec<i64> = (1..=20).rev().collect();
        assert_eq!(p95(&mut twenty), Some(19));
        let mut hundred: Vec<i64> = (1..=100).collect();
        assert_eq!(p95(&mut hundred), Some(95));
        let mut hundred_one: Vec<i64> = (1..=101).collect();
        assert_eq!(p95(&mut hundred_one), Some(96));
    }
}
