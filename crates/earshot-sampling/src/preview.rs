//! A whole plan run over a list of interactions, in memory: the dry run
//! behind `PreviewPlan`, and the proof that the rules compose (the
//! statistical tests in `tests/` run it).
//!
//! It applies exactly what the service does as interactions arrive —
//! eligibility, draw, threshold, targeted rules ([`crate::selection::decide`]) —
//! in the order given, then closes every period ([`crate::top_up::top_up`]).
//! Late facts are taken as known when the interaction arrives (a preview
//! looks back at stored history, where they are). Expected volumes roll
//! forward: a period's volume becomes history for the agent's next period.

use std::collections::BTreeMap;

use crate::calendar::Period;
use crate::draw::draw;
use crate::eligibility::{self, EligibilityContext, Exclusion};
use crate::ids::{AgentId, QueueId, RuleId, TeamId};
use crate::interaction::Interaction;
use crate::plan::Plan;
use crate::quota::{self, EffectiveQuota};
use crate::selection::{self, AgentPeriodCounts, Candidate, Decision, PlanPeriodCounts, Reason};
use crate::settings::Settings;
use crate::stratification::{self, StratumKey};
use crate::targeted::{self, HandleTimeThresholds, LateFacts};
use crate::top_up::{self, PoolItem, PoolState};

/// One interaction to run the plan over.
#[derive(Debug, Clone, Copy)]
pub struct SimItem<'a> {
    /// The interaction.
    pub interaction: &'a Interaction,
    /// Its late facts.
    pub facts: LateFacts,
    /// True when another plan or a person selected it already.
    pub already_selected: bool,
}

/// What is known from before the simulated range.
#[derive(Debug, Clone, Default)]
pub struct History {
    /// Each agent's eligible volume in its previous complete periods, most
    /// recent first.
    pub agent_volumes: BTreeMap<AgentId, Vec<u64>>,
    /// Each agent's expected volume per stratum (for equal allocation).
    pub agent_strata: BTreeMap<AgentId, BTreeMap<StratumKey, f64>>,
    /// The volume assumed for an agent with no history (the median of the
    /// others), unless the plan sets one; `None` falls back to the default.
    pub prior: Option<f64>,
    /// Each agent's 95th percentile of handle time in the previous period.
    pub agent_p95_ms: BTreeMap<AgentId, i64>,
    /// Each queue's 95th percentile of handle time in the previous period.
    pub queue_p95_ms: BTreeMap<QueueId, i64>,
    /// When each agent was first seen (their start, for new-hire rules).
    pub agent_starts: BTreeMap<AgentId, i64>,
}

/// One selection the run made.
#[derive(Debug, Clone, PartialEq)]
pub struct SimSelection {
    /// Index of the interaction in the input.
    pub item: usize,
    /// Its agent.
    pub agent: AgentId,
    /// The period it counts against.
    pub period: Period,
    /// Why.
    pub reason: Reason,
    /// Its stratum.
    pub stratum: StratumKey,
    /// Its draw.
    pub u: f64,
    /// The rules it matched.
    pub matched: Vec<RuleId>,
}

/// One agent in one period after the run.
#[derive(Debug, Clone, PartialEq)]
pub struct AgentPeriod {
    /// The agent.
    pub agent: AgentId,
    /// The team of its latest interaction in the period.
    pub team: Option<TeamId>,
    /// The period.
    pub period: Period,
    /// The volume expected when the period opened.
    pub expected_volume: f64,
    /// The threshold fixed when the period opened.
    pub threshold: f64,
    /// The effective quota.
    pub quota: EffectiveQuota,
    /// The counters after the close.
    pub counts: AgentPeriodCounts,
    /// The random target at the actual volume.
    pub random_target: u32,
    /// True when the minimum is met (as far as volume allows).
    pub min_met: bool,
}

/// Counts of one stratum.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StratumStats {
    /// Eligible interactions.
    pub eligible: u64,
    /// Random selections (including top-ups).
    pub selected: u64,
}

/// The result of a run.
#[derive(Debug, Clone, Default)]
pub struct Simulation {
    /// The periods that had eligible interactions, in order.
    pub periods: Vec<Period>,
    /// Interactions given.
    pub interactions: u64,
    /// Of those, eligible.
    pub eligible: u64,
    /// Interactions left out, by reason.
    pub exclusions: BTreeMap<Exclusion, u64>,
    /// Selections: on arrival in input order, then the top-ups.
    pub selections: Vec<SimSelection>,
    /// Agent periods, by agent then period.
    pub agents: Vec<AgentPeriod>,
    /// Strata (empty without stratification).
    pub strata: BTreeMap<StratumKey, StratumStats>,
}

struct State {
    agent: AgentId,
    team: Option<TeamId>,
    latest_arrival: i64,
    period: Period,
    expected_volume: f64,
    threshold: f64,
    expected_random: u32,
    quota: EffectiveQuota,
    counts: AgentPeriodCounts,
    pool: Vec<PoolItem<usize>>,
}

/// Runs `plan` over `items` (in the order given) and closes every period.
pub fn simulate(
    plan: &Plan,
    settings: &Settings,
    items: &[SimItem<'_>],
    history: &History,
) -> Simulation {
    let spec = &plan.spec;
    let tz = &settings.time_zone;
    let ctx = |already_selected| EligibilityContext {
        time_zone: tz,
        business_hours: &settings.business_hours,
        already_selected,
    };
    let prior = spec
        .expected_agent_volume
        .map(f64::from)
        .or(history.prior)
        .unwrap_or_else(|| quota::default_prior(spec.period));
    let reason_random = if spec.stratification.is_some() {
        Reason::Stratified
    } else {
        Reason::Random
    };
    // First sight of each agent, for new-hire over-sampling.
    let mut starts = history.agent_starts.clone();
    for item in items {
        if let Some(a) = &item.interaction.agent {
            let at = item.interaction.arrived_ms;
            starts
                .entry(a.clone())
                .and_modify(|s| *s = (*s).min(at))
                .or_insert(at);
        }
    }

    let mut out = Simulation {
        interactions: items.len() as u64,
        ..Default::default()
    };
    let mut states: BTreeMap<(AgentId, i64), State> = BTreeMap::new();
    let mut plan_counts: BTreeMap<i64, PlanPeriodCounts> = BTreeMap::new();
    let no_strata = BTreeMap::new();

    for (index, item) in items.iter().enumerate() {
        let i = item.interaction;
        if let Err(why) = eligibility::check(spec, i, &ctx(item.already_selected)) {
            *out.exclusions.entry(why).or_insert(0) += 1;
            continue;
        }
        let (Some(agent), Some(period)) = (i.agent.clone(), tz.period(spec.period, i.arrived_ms))
        else {
            continue;
        };
        out.eligible += 1;
        let key = (agent.clone(), period.start_ms);
        if !states.contains_key(&key) {
            // The agent's earlier simulated periods, most recent first.
            let mut volumes: Vec<u64> = states
                .range((agent.clone(), i64::MIN)..(agent.clone(), period.start_ms))
                .rev()
                .map(|(_, s)| s.counts.eligible)
                .collect();
            volumes.extend(history.agent_volumes.get(&agent).into_iter().flatten());
            let expected_volume = quota::expected_volume(&volumes, prior);
            let multiplier = spec.new_hire.as_ref().and_then(|nh| {
                let start = nh.agent_starts.get(&agent).or(starts.get(&agent))?;
                quota::is_new_hire(*start, period.start_ms, nh.weeks).then_some(nh.multiplier)
            });
            let q = EffectiveQuota::new(&spec.target, multiplier);
            states.insert(
                key.clone(),
                State {
                    agent: agent.clone(),
                    team: None,
                    latest_arrival: i64::MIN,
                    period,
                    expected_volume,
                    threshold: q.threshold(expected_volume),
                    expected_random: q.expected_random(expected_volume),
                    quota: q,
                    counts: AgentPeriodCounts::default(),
                    pool: Vec::new(),
                },
            );
        }
        let Some(state) = states.get_mut(&key) else {
            continue;
        };
        if i.arrived_ms >= state.latest_arrival {
            state.latest_arrival = i.arrived_ms;
            state.team = i.team.clone();
        }
        let stratum = spec
            .stratification
            .as_ref()
            .map_or_else(StratumKey::none, |s| stratification::stratum_of(s, i, tz));
        let threshold = match &spec.stratification {
            Some(s) => stratification::stratum_threshold(
                s.allocation,
                state.threshold,
                state.expected_volume,
                history.agent_strata.get(&agent).unwrap_or(&no_strata),
                &stratum,
            ),
            None => state.threshold,
        };
        let p95 = HandleTimeThresholds {
            agent_p95_ms: history.agent_p95_ms.get(&agent).copied(),
            queue_p95_ms: i
                .queue
                .as_ref()
                .and_then(|q| history.queue_p95_ms.get(q))
                .copied(),
        };
        let matched = targeted::matching(&spec.rules, i, &item.facts, &p95);
        let u = draw(plan.seed, i.id.as_str());
        let plan_period = plan_counts.entry(period.start_ms).or_default();
        let decision = selection::decide(
            &Candidate {
                u,
                threshold,
                matched: &matched,
                draw_now: true,
            },
            &state.quota,
            state.expected_random,
            &state.counts,
            plan_period,
        );
        state.counts.eligible += 1;
        selection::record(&decision, &mut state.counts, plan_period);
        let entry = out.strata.entry(stratum.clone()).or_default();
        entry.eligible += 1;
        let (pool_state, reason) = match &decision {
            Decision::Random => {
                entry.selected += 1;
                (PoolState::Random, Some(reason_random.clone()))
            }
            Decision::Targeted(rule) => (PoolState::Targeted, Some(Reason::Targeted(rule.clone()))),
            Decision::Skip(_) => (PoolState::Unselected, None),
        };
        state.pool.push(PoolItem {
            key: index,
            u,
            stratum: stratum.clone(),
            state: pool_state,
        });
        if let Some(reason) = reason {
            out.selections.push(SimSelection {
                item: index,
                agent,
                period,
                reason,
                stratum,
                u,
                matched: matched.iter().map(|r| r.id.clone()).collect(),
            });
        }
    }

    let allocation = spec.stratification.as_ref().map(|s| s.allocation);
    for state in states.into_values() {
        let close = top_up::top_up(&state.pool, &state.quota, allocation);
        let mut counts = state.counts;
        for (index, stratum) in &close.picks {
            counts.top_up += 1;
            out.strata.entry(stratum.clone()).or_default().selected += 1;
            out.selections.push(SimSelection {
                item: *index,
                agent: state.agent.clone(),
                period: state.period,
                reason: Reason::TopUp,
                stratum: stratum.clone(),
                u: state
                    .pool
                    .iter()
                    .find(|p| p.key == *index)
                    .map_or(0.0, |p| p.u),
                matched: Vec::new(),
            });
        }
        if !out.periods.contains(&state.period) {
            out.periods.push(state.period);
        }
        out.agents.push(AgentPeriod {
            agent: state.agent,
            team: state.team,
            period: state.period,
            expected_volume: state.expected_volume,
            threshold: state.threshold,
            quota: state.quota,
            random_target: close.random_target,
            min_met: close.min_met(),
            counts,
        });
    }
    out.periods.sort_by_key(|p| p.start_ms);
    if spec.stratification.is_none() {
        out.strata.clear();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ids::PlanId;
    use crate::interaction::InteractionInput;
    use crate::interaction::tests::{T0, valid_input};
    use crate::plan::tests::weekly;
    use crate::time::HOUR_MS;

    fn calls(agent: &str, n: usize) -> Vec<Interaction> {
        (0..n)
            .map(|k| {
                let at = T0 + k as i64 * HOUR_MS;
                Interaction::parse(
                    InteractionInput {
                        id: format!("{agent}-{k}"),
                        agent_id: agent.into(),
                        arrived_ms: Some(at),
                        answered_ms: Some(at),
                        ended_ms: Some(at + 60_000),
                        ..valid_input()
                    },
                    T0 + 1000 * HOUR_MS,
                )
                .unwrap()
            })
            .collect()
    }

    #[test]
    fn a_week_for_two_agents() {
        let plan = Plan::create(PlanId::parse("p").unwrap(), weekly(), 11, 0);
        let mut all = calls("ann", 100);
        all.extend(calls("bob", 3));
        let mut items: Vec<SimItem<'_>> = all
            .iter()
            .map(|i| SimItem {
                interaction: i,
                facts: LateFacts::default(),
                already_selected: false,
            })
            .collect();
        // One of Bob's calls got a CSAT of 1.
        if let Some(last) = items.last_mut() {
            last.facts.min_csat = Some(1);
        }
        let sim = simulate(&plan, &Settings::default(), &items, &History::default());
        assert_eq!(sim.eligible, 103);
        assert_eq!(sim.agents.len(), 2);
        let ann = &sim.agents[0];
        assert_eq!(ann.agent.as_str(), "ann");
        assert!(ann.counts.total() >= 4 && ann.counts.total() <= 8);
        assert_eq!(
            ann.counts.random + ann.counts.top_up,
            4.max(ann.counts.random)
        );
        // Bob has 3 calls: all of them, the low-CSAT one possibly by its rule.
        let bob = &sim.agents[1];
        assert_eq!(bob.counts.total(), 3);
        assert!(bob.min_met);
        assert_eq!(sim.periods.len(), 1);
        assert!(sim.strata.is_empty());
    }
}
