//! Interaction filters (`ListInteractions`, `DrawInteractions`): validation,
//! and the in-memory meaning that the store's SQL must reproduce.

use std::collections::BTreeSet;

use crate::ids::{AgentId, InteractionId, LanguageTag, QueueId, TeamId};
use crate::interaction::{Channel, Direction, Interaction};
use crate::time::DAY_MS;
use crate::violation::Violations;

/// The longest arrival range of a draw.
pub const MAX_DRAW_RANGE_MS: i64 = 366 * DAY_MS;
/// The most interactions one draw returns.
pub const MAX_DRAW_COUNT: u32 = 1000;

/// What the filter is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// Listing: every criterion optional.
    List,
    /// Drawing: an arrival range of at most 366 days is required.
    Draw,
}

/// A filter as received.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FilterInput {
    /// `arrived_range.start_time` (epoch ms).
    pub arrived_start_ms: Option<i64>,
    /// `arrived_range.end_time` (epoch ms).
    pub arrived_end_ms: Option<i64>,
    /// Channel codes.
    pub channels: Vec<i32>,
    /// Direction codes.
    pub directions: Vec<i32>,
    /// Agent ids.
    pub agent_ids: Vec<String>,
    /// Team ids.
    pub team_ids: Vec<String>,
    /// Queue ids.
    pub queue_ids: Vec<String>,
    /// Language tags.
    pub languages: Vec<String>,
    /// Dispositions.
    pub dispositions: Vec<String>,
    /// Shortest handle time.
    pub min_handle_ms: Option<i64>,
    /// Longest handle time.
    pub max_handle_ms: Option<i64>,
    /// Leave out selected interactions.
    pub exclude_selected: bool,
    /// Leave out evaluated interactions.
    pub exclude_evaluated: bool,
    /// Leave out these ids.
    pub exclude_interaction_ids: Vec<String>,
    /// Only with a survey.
    pub has_survey: bool,
    /// Only with a complaint.
    pub has_complaint: bool,
    /// Only not resolved at first contact.
    pub not_resolved_first_contact: bool,
    /// Leave out abandoned.
    pub exclude_abandoned: bool,
    /// Leave out interactions with no agent.
    pub exclude_unhandled: bool,
}

/// A valid filter. Empty sets match everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct InteractionFilter {
    /// `[start, end)` of arrival.
    pub arrived: Option<(i64, i64)>,
    /// Channels.
    pub channels: BTreeSet<Channel>,
    /// Directions.
    pub directions: BTreeSet<Direction>,
    /// Agents.
    pub agents: BTreeSet<AgentId>,
    /// Teams.
    pub teams: BTreeSet<TeamId>,
    /// Queues.
    pub queues: BTreeSet<QueueId>,
    /// Languages (a tag covers its sub-tags).
    pub languages: Vec<LanguageTag>,
    /// Dispositions.
    pub dispositions: BTreeSet<String>,
    /// Shortest handle time.
    pub min_handle_ms: Option<i64>,
    /// Longest handle time.
    pub max_handle_ms: Option<i64>,
    /// Leave out selected interactions.
    pub exclude_selected: bool,
    /// Leave out evaluated interactions.
    pub exclude_evaluated: bool,
    /// Leave out these ids.
    pub exclude_ids: BTreeSet<InteractionId>,
    /// Only with a survey.
    pub has_survey: bool,
    /// Only with a complaint.
    pub has_complaint: bool,
    /// Only not resolved at first contact.
    pub not_resolved_first_contact: bool,
    /// Leave out abandoned.
    pub exclude_abandoned: bool,
    /// Leave out interactions with no agent.
    pub exclude_unhandled: bool,
}

/// What a filter needs to know about an interaction besides its facts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct StoredFacts {
    /// It has an assignment.
    pub selected: bool,
    /// Its assignment was completed.
    pub evaluated: bool,
    /// It has a survey response.
    pub has_survey: bool,
    /// It has a complaint.
    pub has_complaint: bool,
    /// Its FCR was voided.
    pub fcr_voided: bool,
}

fn ids<T: Ord>(
    v: &mut Violations,
    field: &str,
    values: &[String],
    max: usize,
    parse: impl Fn(String) -> Result<T, String>,
) -> BTreeSet<T> {
    if values.len() > max {
        v.add(field, format!("must have at most {max} entries"));
    }
    values
        .iter()
        .enumerate()
        .filter_map(|(n, s)| v.check(&format!("{field}[{n}]"), parse(s.clone())))
        .collect()
}

impl InteractionFilter {
    /// Validates a filter for a purpose.
    pub fn parse(input: &FilterInput, purpose: Purpose) -> Result<Self, Violations> {
        let mut v = Violations::new();
        let arrived = match (input.arrived_start_ms, input.arrived_end_ms) {
            (Some(s), Some(e)) if e <= s => {
                v.add("arrived_range.end_time", "must be after start_time");
                None
            }
            (Some(s), Some(e)) => {
                if purpose == Purpose::Draw && e.saturating_sub(s) > MAX_DRAW_RANGE_MS {
                    v.add("arrived_range", "must be at most 366 days long");
                }
                Some((s, e))
            }
            (None, None) if purpose == Purpose::List => None,
            (None, None) => {
                v.add("arrived_range", "is required");
                None
            }
            (Some(_), None) => {
                v.add("arrived_range.end_time", "is required with start_time");
                None
            }
            (None, Some(_)) => {
                v.add("arrived_range.start_time", "is required with end_time");
                None
            }
        };
        let mut channels = BTreeSet::new();
        for (n, c) in input.channels.iter().enumerate() {
            match Channel::from_code(*c) {
                Some(c) => {
                    channels.insert(c);
                }
                None => v.add(format!("channels[{n}]"), "unknown channel"),
            }
        }
        let mut directions = BTreeSet::new();
        for (n, d) in input.directions.iter().enumerate() {
            match Direction::from_code(*d) {
                Some(d) => {
                    directions.insert(d);
                }
                None => v.add(format!("directions[{n}]"), "unknown direction"),
            }
        }
        let agents = ids(&mut v, "agent_ids", &input.agent_ids, 1000, AgentId::parse);
        let teams = ids(&mut v, "team_ids", &input.team_ids, 1000, TeamId::parse);
        let queues = ids(&mut v, "queue_ids", &input.queue_ids, 1000, QueueId::parse);
        let languages = ids(
            &mut v,
            "languages",
            &input.languages,
            100,
            LanguageTag::parse,
        )
        .into_iter()
        .collect();
        let dispositions = ids(
            &mut v,
            "dispositions",
            &input.dispositions,
            1000,
            |s: String| {
                if s.is_empty() {
                    Err("must not be empty".to_owned())
                } else {
                    Ok(s)
                }
            },
        );
        let exclude_ids = ids(
            &mut v,
            "exclude_interaction_ids",
            &input.exclude_interaction_ids,
            10_000,
            InteractionId::parse,
        );
        for (field, d) in [
            ("min_handle_duration", input.min_handle_ms),
            ("max_handle_duration", input.max_handle_ms),
        ] {
            if d.is_some_and(|d| d < 0) {
                v.add(field, "must not be negative");
            }
        }
        if let (Some(lo), Some(hi)) = (input.min_handle_ms, input.max_handle_ms)
            && hi < lo
        {
            v.add(
                "max_handle_duration",
                "must not be below min_handle_duration",
            );
        }
        v.into_result(InteractionFilter {
            arrived,
            channels,
            directions,
            agents,
            teams,
            queues,
            languages,
            dispositions,
            min_handle_ms: input.min_handle_ms,
            max_handle_ms: input.max_handle_ms,
            exclude_selected: input.exclude_selected,
            exclude_evaluated: input.exclude_evaluated,
            exclude_ids,
            has_survey: input.has_survey,
            has_complaint: input.has_complaint,
            not_resolved_first_contact: input.not_resolved_first_contact,
            exclude_abandoned: input.exclude_abandoned,
            exclude_unhandled: input.exclude_unhandled,
        })
    }

    /// True when the interaction matches every criterion.
    pub fn matches(&self, i: &Interaction, stored: &StoredFacts) -> bool {
        self.arrived
            .is_none_or(|(s, e)| s <= i.arrived_ms && i.arrived_ms < e)
            && within(&self.channels, Some(&i.channel))
            && within(&self.directions, Some(&i.direction))
            && within(&self.agents, i.agent.as_ref())
            && within(&self.teams, i.team.as_ref())
            && within(&self.queues, i.queue.as_ref())
            && within(&self.dispositions, Some(&i.disposition))
            && (self.languages.is_empty()
                || i.language
                    .as_ref()
                    .is_some_and(|l| self.languages.iter().any(|f| f.covers(l))))
            && self
                .min_handle_ms
                .is_none_or(|m| i.handle_ms().is_some_and(|h| h >= m))
            && self
                .max_handle_ms
                .is_none_or(|m| i.handle_ms().is_some_and(|h| h <= m))
            && !(self.exclude_selected && stored.selected)
            && !(self.exclude_evaluated && stored.evaluated)
            && !self.exclude_ids.contains(&i.id)
            && (!self.has_survey || stored.has_survey)
            && (!self.has_complaint || stored.has_complaint)
            && (!self.not_resolved_first_contact || stored.fcr_voided)
            && !(self.exclude_abandoned && i.abandoned)
            && !(self.exclude_unhandled && i.agent.is_none())
    }
}

fn within<T: Ord>(set: &BTreeSet<T>, value: Option<&T>) -> bool {
    set.is_empty() || value.is_some_and(|x| set.contains(x))
}

/// Validates a draw's count: 1 to [`MAX_DRAW_COUNT`].
pub fn draw_count(count: i32) -> Result<u32, String> {
    match u32::try_from(count) {
        Ok(c @ 1..=MAX_DRAW_COUNT) => Ok(c),
        _ => Err(format!("must be 1 to {MAX_DRAW_COUNT}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::interaction::tests::{T0, valid_input};

    #[test]
    fn draws_need_a_bounded_range() {
        let list = InteractionFilter::parse(&FilterInput::default(), Purpose::List).unwrap();
        assert_eq!(list.arrived, None);
        let err = InteractionFilter::parse(&FilterInput::default(), Purpose::Draw).unwrap_err();
        assert!(err.has_field("arrived_range"));
        let long = FilterInput {
            arrived_start_ms: Some(0),
            arrived_end_ms: Some(367 * DAY_MS),
            ..Default::default()
        };
        assert!(
            InteractionFilter::parse(&long, Purpose::Draw)
                .unwrap_err()
                .has_field("arrived_range")
        );
        assert!(InteractionFilter::parse(&long, Purpose::List).is_ok());
        let backwards = FilterInput {
            arrived_start_ms: Some(5),
            arrived_end_ms: Some(5),
            ..Default::default()
        };
        assert!(
            InteractionFilter::parse(&backwards, Purpose::List)
                .unwrap_err()
                .has_field("arrived_range.end_time")
        );
        let half = FilterInput {
            arrived_start_ms: Some(5),
            ..Default::default()
        };
        assert!(InteractionFilter::parse(&half, Purpose::List).is_err());
        assert_eq!(draw_count(1), Ok(1));
        assert!(draw_count(0).is_err() && draw_count(1001).is_err());
    }

    #[test]
    fn bad_criteria_are_named() {
        let input = FilterInput {
            channels: vec![0],
            directions: vec![9],
            agent_ids: vec![String::new()],
            languages: vec!["!".into()],
            dispositions: vec![String::new()],
            min_handle_ms: Some(-1),
            max_handle_ms: Some(-2),
            ..Default::default()
        };
        let err = InteractionFilter::parse(&input, Purpose::List).unwrap_err();
        for f in [
            "channels[0]",
            "directions[0]",
            "agent_ids[0]",
            "languages[0]",
            "dispositions[0]",
            "min_handle_duration",
            "max_handle_duration",
        ] {
            assert!(err.has_field(f), "{f}: {err}");
        }
    }

    #[test]
    fn matching() {
        let i = Interaction::parse(valid_input(), T0).unwrap();
        let f = |input: FilterInput| InteractionFilter::parse(&input, Purpose::List).unwrap();
        let none = StoredFacts::default();
        assert!(f(FilterInput::default()).matches(&i, &none));
        assert!(
            f(FilterInput {
                arrived_start_ms: Some(T0),
                arrived_end_ms: Some(T0 + 1),
                ..Default::default()
            })
            .matches(&i, &none)
        );
        assert!(
            !f(FilterInput {
                arrived_start_ms: Some(T0 + 1),
                arrived_end_ms: Some(T0 + 2),
                ..Default::default()
            })
            .matches(&i, &none)
        );
        assert!(
            f(FilterInput {
                channels: vec![1],
                languages: vec!["en".into()],
                ..Default::default()
            })
            .matches(&i, &none)
        );
        assert!(
            !f(FilterInput {
                channels: vec![2],
                ..Default::default()
            })
            .matches(&i, &none)
        );
        assert!(
            !f(FilterInput {
                min_handle_ms: Some(1_000_000),
                ..Default::default()
            })
            .matches(&i, &none)
        );
        assert!(
            !f(FilterInput {
                exclude_interaction_ids: vec!["call-1".into()],
                ..Default::default()
            })
            .matches(&i, &none)
        );
        let selected = StoredFacts {
            selected: true,
            evaluated: true,
            ..Default::default()
        };
        assert!(
            !f(FilterInput {
                exclude_selected: true,
                ..Default::default()
            })
            .matches(&i, &selected)
        );
        assert!(
            !f(FilterInput {
                exclude_evaluated: true,
                ..Default::default()
            })
            .matches(&i, &selected)
        );
        assert!(
            !f(FilterInput {
                has_survey: true,
                ..Default::default()
            })
            .matches(&i, &none)
        );
        let rich = StoredFacts {
            has_survey: true,
            has_complaint: true,
            fcr_voided: true,
            ..Default::default()
        };
        assert!(
            f(FilterInput {
                has_survey: true,
                has_complaint: true,
                not_resolved_first_contact: true,
                ..Default::default()
            })
            .matches(&i, &rich)
        );
    }
}
