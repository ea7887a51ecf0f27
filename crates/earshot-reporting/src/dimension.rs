//! What reports group by and filter on: channels, dimensions and filters.
//!
//! These are the domain twins of `Channel`, `Dimension` and `ReportFilter` in
//! the contracts; the gRPC edge maps one onto the other.

use std::collections::BTreeSet;

use crate::validation::{Violations, parse_id};

/// The medium of an interaction.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub enum Channel {
    /// A phone call.
    Voice,
    /// A web or in-app chat.
    Chat,
    /// An email thread.
    Email,
    /// A social-media conversation.
    Social,
    /// SMS or another messaging service.
    Messaging,
    /// A video call.
    Video,
}

impl Channel {
    /// Every channel, in contract order.
    pub const ALL: [Channel; 6] = [
        Channel::Voice,
        Channel::Chat,
        Channel::Email,
        Channel::Social,
        Channel::Messaging,
        Channel::Video,
    ];

    /// The contract's enum value name, used as the group id of a channel row
    /// ("CHANNEL_VOICE").
    pub fn name(self) -> &'static str {
        match self {
            Channel::Voice => "CHANNEL_VOICE",
            Channel::Chat => "CHANNEL_CHAT",
            Channel::Email => "CHANNEL_EMAIL",
            Channel::Social => "CHANNEL_SOCIAL",
            Channel::Messaging => "CHANNEL_MESSAGING",
            Channel::Video => "CHANNEL_VIDEO",
        }
    }
}

/// What a report groups rows by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Dimension {
    /// The whole tenant: one group with the empty id.
    Center,
    /// Per agent.
    Agent,
    /// Per team.
    Team,
    /// Per queue.
    Queue,
    /// Per channel (group id = [`Channel::name`]).
    Channel,
    /// Per scorecard (quality and question figures only).
    Scorecard,
    /// Per evaluator (quality figures only).
    Evaluator,
}

/// Most ids one filter field may hold.
pub const MAX_FILTER_IDS: usize = 1_000;

/// A report filter: within a field values are OR-ed, across fields AND-ed,
/// an empty field does not restrict.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// Only these agents.
    pub agents: BTreeSet<String>,
    /// Only these teams.
    pub teams: BTreeSet<String>,
    /// Only these queues.
    pub queues: BTreeSet<String>,
    /// Only these channels.
    pub channels: BTreeSet<Channel>,
    /// Only evaluations on these scorecards (quality figures).
    pub scorecards: BTreeSet<String>,
    /// Only evaluations by these evaluators (quality figures).
    pub evaluators: BTreeSet<String>,
    /// Only evaluations released to the agent (set by the edge for agent
    /// callers, never by a request field).
    pub released_only: bool,
}

/// The raw filter as a caller sent it (ids as strings, channels already
/// mapped; `None` is CHANNEL_UNSPECIFIED).
#[derive(Debug, Clone, Default)]
pub struct FilterDraft {
    /// `agent_ids`.
    pub agent_ids: Vec<String>,
    /// `team_ids`.
    pub team_ids: Vec<String>,
    /// `queue_ids`.
    pub queue_ids: Vec<String>,
    /// `channels`; `None` for an unspecified channel.
    pub channels: Vec<Option<Channel>>,
    /// `scorecard_ids`.
    pub scorecard_ids: Vec<String>,
    /// `evaluator_ids`.
    pub evaluator_ids: Vec<String>,
}

fn parse_ids(field: &str, ids: &[String], v: &mut Violations) -> BTreeSet<String> {
    if ids.len() > MAX_FILTER_IDS {
        v.push(field, format!("at most {MAX_FILTER_IDS} ids"));
        return BTreeSet::new();
    }
    let mut out = BTreeSet::new();
    for (i, id) in ids.iter().enumerate() {
        if let Some(id) = v.take(&format!("{field}[{i}]"), parse_id(id)) {
            out.insert(id);
        }
    }
    out
}

impl Filter {
    /// Validates a filter (field paths relative to the filter message).
    pub fn parse(draft: &FilterDraft) -> Result<Filter, Violations> {
        let mut v = Violations::new();
        let agents = parse_ids("agent_ids", &draft.agent_ids, &mut v);
        let teams = parse_ids("team_ids", &draft.team_ids, &mut v);
        let queues = parse_ids("queue_ids", &draft.queue_ids, &mut v);
        let scorecards = parse_ids("scorecard_ids", &draft.scorecard_ids, &mut v);
        let evaluators = parse_ids("evaluator_ids", &draft.evaluator_ids, &mut v);
        let mut channels = BTreeSet::new();
        for (i, c) in draft.channels.iter().enumerate() {
            match c {
                Some(c) => {
                    channels.insert(*c);
                }
                None => v.push(format!("channels[{i}]"), "must not be CHANNEL_UNSPECIFIED"),
            }
        }
        v.into_result(Filter {
            agents,
            teams,
            queues,
            channels,
            scorecards,
            evaluators,
            released_only: false,
        })
    }

    /// Restricts the filter to the teams a supervisor may see: the result
    /// keeps only allowed teams, or all of them when the request named none.
    /// An empty intersection stays non-empty-but-impossible (a sentinel no
    /// team matches), so the report is empty rather than unrestricted.
    #[must_use]
    pub fn restricted_to_teams(mut self, allowed: &BTreeSet<String>) -> Filter {
        let teams: BTreeSet<String> = if self.teams.is_empty() {
            allowed.clone()
        } else {
            self.teams.intersection(allowed).cloned().collect()
        };
        self.teams = if teams.is_empty() {
            // No id can contain a control character, so this matches nothing.
            BTreeSet::from(["\u{0}".to_owned()])
        } else {
            teams
        };
        self
    }

    /// True when `value` passes an id set (an empty set passes everything).
    pub fn allows(set: &BTreeSet<String>, value: &str) -> bool {
        set.is_empty() || set.contains(value)
    }

    /// True when `channel` passes the channel set.
    pub fn allows_channel(&self, channel: Channel) -> bool {
        self.channels.is_empty() || self.channels.contains(&channel)
    }

    /// True when the filter uses evaluation-only fields.
    pub fn has_evaluation_fields(&self) -> bool {
        !self.scorecards.is_empty() || !self.evaluators.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_reports_each_bad_field() {
        let draft = FilterDraft {
            agent_ids: vec!["a1".into(), String::new()],
            channels: vec![Some(Channel::Chat), None],
            team_ids: vec!["t".into(); MAX_FILTER_IDS + 1],
            ..FilterDraft::default()
        };
        let err = Filter::parse(&draft).unwrap_err();
        let fields: Vec<_> = err.as_slice().iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, ["agent_ids[1]", "team_ids", "channels[1]"]);
        let ok = Filter::parse(&FilterDraft {
            agent_ids: vec!["a1".into(), "a1".into()],
            ..FilterDraft::default()
        });
        assert_eq!(ok.map(|f| f.agents.len()), Ok(1));
    }

    #[test]
    fn supervisor_restriction() {
        let allowed = BTreeSet::from(["t1".to_owned(), "t2".to_owned()]);
        let f = Filter::default().restricted_to_teams(&allowed);
        assert_eq!(f.teams, allowed);
        let f = Filter {
            teams: BTreeSet::from(["t2".to_owned(), "t9".to_owned()]),
            ..Filter::default()
        }
        .restricted_to_teams(&allowed);
        assert_eq!(f.teams, BTreeSet::from(["t2".to_owned()]));
        let f = Filter {
            teams: BTreeSet::from(["t9".to_owned()]),
            ..Filter::default()
        }
        .restricted_to_teams(&allowed);
        assert!(!f.teams.is_empty());
        assert!(!Filter::allows(&f.teams, "t9"));
        assert!(Filter::allows(&BTreeSet::<String>::new(), "x"));
    }

    #[test]
    fn channel_names_match_the_contract() {
        let names: Vec<_> = Channel::ALL.iter().map(|c| c.name()).collect();
        assert_eq!(names[0], "CHANNEL_VOICE");
        assert_eq!(names[5], "CHANNEL_VIDEO");
    }
}
