//! Routing assignments to evaluators: who may evaluate an interaction, and
//! which of them gets it.
//!
//! An evaluator is eligible when active, in the plan's pool (internal,
//! external or any), qualified for the channel and language, not the agent,
//! not excluded from the agent or the agent's team, not on the agent's own
//! team unless the tenant allows it, under the per-agent limit of the
//! conflict policy, and with capacity left today. Among the eligible, the
//! one with the lowest load relative to capacity after taking the item wins
//! (so load is balanced in proportion to capacity); ties go to the fewer
//! assignments today, then to a hash of (item, evaluator) so that no
//! evaluator is always first in line.

use std::collections::BTreeMap;

use crate::draw::hash;
use crate::evaluator::Evaluator;
use crate::ids::{AgentId, EvaluatorId, LanguageTag, TeamId};
use crate::interaction::Channel;
use crate::plan::EvaluatorPool;
use crate::settings::ConflictPolicy;

/// The interaction to route, with what routing needs to know about it.
#[derive(Debug, Clone, Copy)]
pub struct WorkItem<'a> {
    /// A stable key (the assignment id) for tie-breaking.
    pub key: &'a str,
    /// The agent evaluated.
    pub agent: &'a AgentId,
    /// The agent's team as of the interaction.
    pub team: Option<&'a TeamId>,
    /// The channel.
    pub channel: Channel,
    /// The language.
    pub language: Option<&'a LanguageTag>,
    /// The plan's evaluator pool.
    pub pool: EvaluatorPool,
}

/// An evaluator's current load.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Load {
    /// Assignments routed to them today (tenant time zone).
    pub assigned_today: u32,
    /// Assignments of this item's agent routed to them this plan period.
    pub same_agent_this_period: u32,
}

/// Why an evaluator may not take an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Ineligible {
    /// Inactive.
    Inactive,
    /// The evaluator is the agent.
    SelfEvaluation,
    /// Not in the plan's pool.
    Pool,
    /// Not qualified for the channel.
    Channel,
    /// Does not speak the language.
    Language,
    /// Excluded from this agent.
    ExcludedAgent,
    /// Excluded from this team.
    ExcludedTeam,
    /// The agent is on the evaluator's own team.
    OwnTeam,
    /// Already has the most assignments of this agent this period.
    AgentLimit,
    /// No capacity left today.
    NoCapacity,
}

impl Ineligible {
    /// A reason for an error message.
    pub fn describe(self) -> &'static str {
        match self {
            Ineligible::Inactive => "the evaluator is inactive",
            Ineligible::SelfEvaluation => "evaluators never evaluate themselves",
            Ineligible::Pool => {
                "the plan does not use this kind of evaluator (internal or external)"
            }
            Ineligible::Channel => "the evaluator is not qualified for this channel",
            Ineligible::Language => "the evaluator does not evaluate this language",
            Ineligible::ExcludedAgent => "the evaluator is excluded from this agent",
            Ineligible::ExcludedTeam => "the evaluator is excluded from this team",
            Ineligible::OwnTeam => "the agent is on the evaluator's own team",
            Ineligible::AgentLimit => {
                "the evaluator has the most assignments of this agent allowed this period"
            }
            Ineligible::NoCapacity => "the evaluator has no capacity left today",
        }
    }
}

/// `Ok(())` when `e` may take the item under `policy`.
pub fn eligibility(
    e: &Evaluator,
    load: Load,
    item: &WorkItem<'_>,
    policy: &ConflictPolicy,
) -> Result<(), Ineligible> {
    if !e.active {
        return Err(Ineligible::Inactive);
    }
    if item.agent.is_evaluator(&e.id) {
        return Err(Ineligible::SelfEvaluation);
    }
    match (item.pool, e.external) {
        (EvaluatorPool::Internal, true) | (EvaluatorPool::External, false) => {
            return Err(Ineligible::Pool);
        }
        _ => {}
    }
    if !e.channels.is_empty() && !e.channels.contains(&item.channel) {
        return Err(Ineligible::Channel);
    }
    if let Some(lang) = item.language
        && !e.languages.is_empty()
        && !e.languages.iter().any(|l| l.covers(lang))
    {
        return Err(Ineligible::Language);
    }
    if e.excluded_agents.contains(item.agent) {
        return Err(Ineligible::ExcludedAgent);
    }
    if let Some(team) = item.team {
        if e.excluded_teams.contains(team) {
            return Err(Ineligible::ExcludedTeam);
        }
        if !policy.allow_own_team && e.team.as_ref() == Some(team) {
            return Err(Ineligible::OwnTeam);
        }
    }
    if policy
        .max_assignments_per_agent_per_period
        .is_some_and(|m| load.same_agent_this_period >= m)
    {
        return Err(Ineligible::AgentLimit);
    }
    if load.assigned_today >= e.capacity_per_day {
        return Err(Ineligible::NoCapacity);
    }
    Ok(())
}

/// Routes a stream of items over a fixed set of evaluators, keeping their
/// loads up to date as it goes (one ingest batch, one close).
#[derive(Debug, Clone)]
pub struct Router<'a> {
    evaluators: Vec<(&'a Evaluator, u32)>,
    same_agent: BTreeMap<(EvaluatorId, AgentId), u32>,
    policy: ConflictPolicy,
}

impl<'a> Router<'a> {
    /// A router over evaluators with their assignments today, and the
    /// assignments per (evaluator, agent) this period.
    pub fn new(
        evaluators: impl IntoIterator<Item = (&'a Evaluator, u32)>,
        same_agent: BTreeMap<(EvaluatorId, AgentId), u32>,
        policy: ConflictPolicy,
    ) -> Self {
        Router {
            evaluators: evaluators.into_iter().collect(),
            same_agent,
            policy,
        }
    }

    fn load(&self, e: &Evaluator, today: u32, agent: &AgentId) -> Load {
        Load {
            assigned_today: today,
            same_agent_this_period: self
                .same_agent
                .get(&(e.id.clone(), agent.clone()))
                .copied()
                .unwrap_or(0),
        }
    }

    /// The evaluator the item goes to (recording the new load), or `None`
    /// when nobody is eligible (the assignment is queued). `exclude` is an
    /// evaluator who must not get it (the one releasing it).
    pub fn route(
        &mut self,
        item: &WorkItem<'_>,
        exclude: Option<&EvaluatorId>,
    ) -> Option<EvaluatorId> {
        let mut best: Option<(usize, u32, u32, u64)> = None;
        for (n, (e, today)) in self.evaluators.iter().enumerate() {
            if exclude == Some(&e.id)
                || eligibility(e, self.load(e, *today, item.agent), item, &self.policy).is_err()
            {
                continue;
            }
            let tie = hash(0, &format!("{}\u{0}{}", item.key, e.id));
            let better = match best {
                None => true,
                Some((_, b_today, b_cap, b_tie)) => {
                    // (today + 1) / capacity, compared without division.
                    let mine = u64::from(*today + 1) * u64::from(b_cap);
                    let theirs = u64::from(b_today + 1) * u64::from(e.capacity_per_day);
                    mine < theirs || (mine == theirs && (*today, tie) < (b_today, b_tie))
                }
            };
            if better {
                best = Some((n, *today, e.capacity_per_day, tie));
            }
        }
        let (n, _, _, _) = best?;
        let (e, today) = self.evaluators.get_mut(n)?;
        *today += 1;
        let key = (e.id.clone(), item.agent.clone());
        *self.same_agent.entry(key).or_insert(0) += 1;
        Some(e.id.clone())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::evaluator::EvaluatorInput;
    use crate::evaluator::tests::input;

    fn eval(edit: impl FnOnce(&mut EvaluatorInput)) -> Evaluator {
        let mut i = input("eve");
        edit(&mut i);
        Evaluator::parse(i).unwrap()
    }

    #[test]
    fn eligibility_table() {
        let agent = AgentId::parse("agent-1").unwrap();
        let team = TeamId::parse("team-a").unwrap();
        let pt_br = LanguageTag::parse("pt-BR").unwrap();
        let item = WorkItem {
            key: "as-1",
            agent: &agent,
            team: Some(&team),
            channel: Channel::Voice,
            language: Some(&pt_br),
            pool: EvaluatorPool::Any,
        };
        let policy = ConflictPolicy {
            allow_own_team: false,
            max_assignments_per_agent_per_period: Some(2),
        };
        let free = Load::default();
        type Edit = fn(&mut EvaluatorInput);
        let table: &[(Edit, Load, Result<(), Ineligible>)] = &[
            (|_| {}, Load::default(), Ok(())),
            (
                |e| e.active = false,
                Load::default(),
                Err(Ineligible::Inactive),
            ),
            (
                |e| e.id = "agent-1".into(),
                Load::default(),
                Err(Ineligible::SelfEvaluation),
            ),
            (
                |e| e.channels = vec![2],
                Load::default(),
                Err(Ineligible::Channel),
            ),
            (
                |e| e.languages = vec!["en".into()],
                Load::default(),
                Err(Ineligible::Language),
            ),
            (|e| e.languages = vec!["pt".into()], Load::default(), Ok(())),
            (
                |e| e.excluded_agent_ids = vec!["agent-1".into()],
                Load::default(),
                Err(Ineligible::ExcludedAgent),
            ),
            (
                |e| e.excluded_team_ids = vec!["team-a".into()],
                Load::default(),
                Err(Ineligible::ExcludedTeam),
            ),
            (
                |e| e.team_id = "team-a".into(),
                Load::default(),
                Err(Ineligible::OwnTeam),
            ),
            (
                |_| {},
                Load {
                    assigned_today: 0,
                    same_agent_this_period: 2,
                },
                Err(Ineligible::AgentLimit),
            ),
            (
                |_| {},
                Load {
                    assigned_today: 10,
                    same_agent_this_period: 0,
                },
                Err(Ineligible::NoCapacity),
            ),
        ];
        for (edit, load, want) in table {
            assert_eq!(eligibility(&eval(*edit), *load, &item, &policy), *want);
        }
        let own_ok = ConflictPolicy {
            allow_own_team: true,
            ..policy
        };
        assert_eq!(
            eligibility(&eval(|e| e.team_id = "team-a".into()), free, &item, &own_ok),
            Ok(())
        );
        let external = eval(|e| e.external = true);
        let internal_only = WorkItem {
            pool: EvaluatorPool::Internal,
            ..item
        };
        let external_only = WorkItem {
            pool: EvaluatorPool::External,
            ..item
        };
        assert_eq!(
            eligibility(&external, free, &internal_only, &policy),
            Err(Ineligible::Pool)
        );
        assert_eq!(
            eligibility(&eval(|_| {}), free, &external_only, &policy),
            Err(Ineligible::Pool)
        );
        assert_eq!(
            eligibility(&external, free, &external_only, &policy),
            Ok(())
        );
        // An interaction without a language fits everybody.
        let no_lang = WorkItem {
            language: None,
            ..item
        };
        assert_eq!(
            eligibility(
                &eval(|e| e.languages = vec!["en".into()]),
                free,
                &no_lang,
                &policy
            ),
            Ok(())
        );
        assert!(!Ineligible::NoCapacity.describe().is_empty());
    }

    #[test]
    fn load_is_balanced_in_proportion_to_capacity() {
        let big = eval(|e| {
            e.id = "big".into();
            e.capacity_per_day = 30;
        });
        let small = eval(|e| {
            e.id = "small".into();
            e.capacity_per_day = 10;
        });
        let mut router = Router::new(
            [(&big, 0), (&small, 0)],
            BTreeMap::new(),
            ConflictPolicy::default(),
        );
        let mut got: BTreeMap<String, u32> = BTreeMap::new();
        let agents: Vec<AgentId> = (0..40)
            .map(|n| AgentId::parse(format!("a{n}")).unwrap())
            .collect();
        for (n, agent) in agents.iter().enumerate() {
            let key = format!("as-{n}");
            let item = WorkItem {
                key: &key,
                agent,
                team: None,
                channel: Channel::Chat,
                language: None,
                pool: EvaluatorPool::Any,
            };
            if let Some(e) = router.route(&item, None) {
                *got.entry(e.to_string()).or_insert(0) += 1;
            }
        }
        // 40 items for a total capacity of 40: filled 30 / 10 exactly.
        assert_eq!(got.get("big"), Some(&30));
        assert_eq!(got.get("small"), Some(&10));
        // Everybody is full now: the next one is queued.
        let extra_agent = AgentId::parse("late").unwrap();
        let late = WorkItem {
            key: "as-x",
            agent: &extra_agent,
            team: None,
            channel: Channel::Chat,
            language: None,
            pool: EvaluatorPool::Any,
        };
        assert_eq!(router.route(&late, None), None);
    }

    #[test]
    fn releasing_goes_to_someone_else_and_the_agent_limit_spreads_agents() {
        let a = eval(|e| e.id = "a".into());
        let b = eval(|e| e.id = "b".into());
        let agent = AgentId::parse("agent-1").unwrap();
        let policy = ConflictPolicy {
            allow_own_team: false,
            max_assignments_per_agent_per_period: Some(1),
        };
        let mut router = Router::new([(&a, 0), (&b, 0)], BTreeMap::new(), policy);
        let item = |key: &'static str| WorkItem {
            key,
            agent: &agent,
            team: None,
            channel: Channel::Voice,
            language: None,
            pool: EvaluatorPool::Any,
        };
        let first = router.route(&item("1"), None).unwrap();
        let second = router.route(&item("2"), None).unwrap();
        assert_ne!(first, second, "one assignment of the agent each");
        assert_eq!(router.route(&item("3"), None), None);
        let mut fresh = Router::new(
            [(&a, 0), (&b, 0)],
            BTreeMap::new(),
            ConflictPolicy::default(),
        );
        assert_eq!(fresh.route(&item("4"), Some(&a.id)), Some(b.id.clone()));
    }
}
