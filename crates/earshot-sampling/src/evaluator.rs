//! The evaluator directory: who evaluates, how much per day, on which
//! channels and languages, and whom they must never evaluate.

use std::collections::BTreeSet;

use crate::ids::{AgentId, EvaluatorId, LanguageTag, TeamId, check_name, optional};
use crate::interaction::Channel;
use crate::violation::Violations;

/// The most assignments per day.
pub const MAX_CAPACITY_PER_DAY: u32 = 1000;

/// An evaluator as received.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EvaluatorInput {
    /// Token subject.
    pub id: String,
    /// Name.
    pub display_name: String,
    /// Assignments per day.
    pub capacity_per_day: i32,
    /// Channel codes; empty for all.
    pub channels: Vec<i32>,
    /// Language tags; empty for all.
    pub languages: Vec<String>,
    /// Own team; empty for none.
    pub team_id: String,
    /// Teams never to evaluate.
    pub excluded_team_ids: Vec<String>,
    /// Agents never to evaluate.
    pub excluded_agent_ids: Vec<String>,
    /// External evaluator or mystery shopper.
    pub external: bool,
    /// Receives assignments.
    pub active: bool,
}

/// A valid evaluator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Evaluator {
    /// Token subject.
    pub id: EvaluatorId,
    /// Name.
    pub display_name: String,
    /// Assignments per day, 1 to 1000.
    pub capacity_per_day: u32,
    /// Channels; empty for all.
    pub channels: BTreeSet<Channel>,
    /// Languages; empty for all.
    pub languages: Vec<LanguageTag>,
    /// Own team.
    pub team: Option<TeamId>,
    /// Teams never to evaluate.
    pub excluded_teams: BTreeSet<TeamId>,
    /// Agents never to evaluate.
    pub excluded_agents: BTreeSet<AgentId>,
    /// External evaluator or mystery shopper.
    pub external: bool,
    /// Receives assignments.
    pub active: bool,
}

fn id_list<T: Ord>(
    v: &mut Violations,
    field: &str,
    values: &[String],
    parse: impl Fn(String) -> Result<T, String>,
) -> BTreeSet<T> {
    if values.len() > 1000 {
        v.add(field, "must have at most 1000 entries");
    }
    values
        .iter()
        .enumerate()
        .filter_map(|(n, s)| v.check(&format!("{field}[{n}]"), parse(s.clone())))
        .collect()
}

impl Evaluator {
    /// Validates an evaluator.
    pub fn parse(input: EvaluatorInput) -> Result<Self, Violations> {
        let mut v = Violations::new();
        let id = v.check("id", EvaluatorId::parse(input.id));
        v.check("display_name", check_name(&input.display_name, 200));
        let capacity_per_day = match u32::try_from(input.capacity_per_day) {
            Ok(c @ 1..=MAX_CAPACITY_PER_DAY) => c,
            _ => {
                v.add("capacity_per_day", "must be 1 to 1000");
                1
            }
        };
        let mut channels = BTreeSet::new();
        for (n, code) in input.channels.iter().enumerate() {
            match Channel::from_code(*code) {
                Some(c) => {
                    channels.insert(c);
                }
                None => v.add(format!("channels[{n}]"), "unknown channel"),
            }
        }
        if input.languages.len() > 50 {
            v.add("languages", "must have at most 50 entries");
        }
        let languages = input
            .languages
            .iter()
            .enumerate()
            .filter_map(|(n, l)| v.check(&format!("languages[{n}]"), LanguageTag::parse(l.clone())))
            .collect();
        let team = v
            .check("team_id", optional(&input.team_id, TeamId::parse))
            .flatten();
        let excluded_teams = id_list(
            &mut v,
            "excluded_team_ids",
            &input.excluded_team_ids,
            TeamId::parse,
        );
        let excluded_agents = id_list(
            &mut v,
            "excluded_agent_ids",
            &input.excluded_agent_ids,
            AgentId::parse,
        );
        match id {
            Some(id) if v.is_empty() => Ok(Evaluator {
                id,
                display_name: input.display_name,
                capacity_per_day,
                channels,
                languages,
                team,
                excluded_teams,
                excluded_agents,
                external: input.external,
                active: input.active,
            }),
            _ => Err(v),
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    pub fn input(id: &str) -> EvaluatorInput {
        EvaluatorInput {
            id: id.into(),
            display_name: format!("Evaluator {id}"),
            capacity_per_day: 10,
            active: true,
            ..Default::default()
        }
    }

    #[test]
    fn a_valid_evaluator() {
        let e = Evaluator::parse(EvaluatorInput {
            channels: vec![1, 2],
            languages: vec!["en".into(), "pt-BR".into()],
            team_id: "qa".into(),
            excluded_team_ids: vec!["team-a".into()],
            excluded_agent_ids: vec!["agent-9".into()],
            external: true,
            ..input("eve")
        })
        .unwrap();
        assert_eq!(e.channels.len(), 2);
        assert!(
            e.excluded_agents
                .contains(&AgentId::parse("agent-9").unwrap())
        );
        assert_eq!(e.team.as_ref().map(TeamId::as_str), Some("qa"));
    }

    #[test]
    fn every_bad_field_is_named() {
        let err = Evaluator::parse(EvaluatorInput {
            id: String::new(),
            display_name: String::new(),
            capacity_per_day: 0,
            channels: vec![42],
            languages: vec!["x".into()],
            team_id: " qa".into(),
            excluded_team_ids: vec![String::new()],
            excluded_agent_ids: vec!["\u{1}".into()],
            ..Default::default()
        })
        .unwrap_err();
        for f in [
            "id",
            "display_name",
            "capacity_per_day",
            "channels[0]",
            "languages[0]",
            "team_id",
            "excluded_team_ids[0]",
            "excluded_agent_ids[0]",
        ] {
            assert!(err.has_field(f), "{f}: {err}");
        }
    }
}
