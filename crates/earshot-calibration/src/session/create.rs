//! What a valid new session is (CreateSession): every field checked at once,
//! each problem reported against its proto field path.

use std::collections::HashSet;

use super::{GroupReference, InteractionId, Mode, ParticipantId, ScorecardId, Tolerance};
use crate::settings::Settings;
use crate::validation::Violations;

/// Fewest participants: agreement needs two.
pub const MIN_PARTICIPANTS: usize = 2;
/// Most participants.
pub const MAX_PARTICIPANTS: usize = 50;
/// Most interactions.
pub const MAX_INTERACTIONS: usize = 100;
/// Longest window a draw may search.
pub const MAX_DRAW_WINDOW_MS: i64 = 366 * 86_400_000;

/// How the caller wants interactions chosen.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum InteractionsInput {
    /// Neither given.
    #[default]
    Missing,
    /// Listed ids.
    Chosen(Vec<String>),
    /// A random draw from sampling.
    Draw {
        /// Start of the window (epoch ms), if given.
        start_ms: Option<i64>,
        /// End of the window (epoch ms), if given.
        end_ms: Option<i64>,
        /// How many to draw.
        count: i32,
        /// The seed (0: the server picks).
        seed: u64,
    },
}

/// A CreateSession request as received.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct NewSessionInput {
    /// Idempotency key.
    pub request_id: String,
    /// Title.
    pub name: String,
    /// Description.
    pub description: String,
    /// Scorecard id.
    pub scorecard_id: String,
    /// Scorecard version.
    pub scorecard_version: i32,
    /// Mode; `None` when unspecified.
    pub mode: Option<Mode>,
    /// Expert participant id (expert mode).
    pub expert_participant_id: String,
    /// Participant ids.
    pub participant_ids: Vec<String>,
    /// The interactions.
    pub interactions: InteractionsInput,
    /// Due time (epoch ms), if given.
    pub due_ms: Option<i64>,
}

/// The interactions of a valid new session.
#[derive(Debug, Clone, PartialEq)]
pub enum InteractionPlan {
    /// These, in order.
    Chosen(Vec<InteractionId>),
    /// Draw `count` from the window with `seed` (sampling's DrawInteractions).
    Draw {
        /// Window start (epoch ms).
        start_ms: i64,
        /// Window end (epoch ms).
        end_ms: i64,
        /// How many.
        count: u32,
        /// Seed; 0 lets the edge pick and record one.
        seed: u64,
    },
}

/// A valid new session, with the tenant's settings frozen into it.
#[derive(Debug, Clone, PartialEq)]
pub struct NewSession {
    /// Idempotency key.
    pub request_id: String,
    /// Title.
    pub name: String,
    /// Description.
    pub description: String,
    /// Scorecard id.
    pub scorecard_id: ScorecardId,
    /// Scorecard version (positive).
    pub scorecard_version: i32,
    /// Mode.
    pub mode: Mode,
    /// The expert (expert mode only).
    pub expert: Option<ParticipantId>,
    /// Participants, request order.
    pub participants: Vec<ParticipantId>,
    /// The interactions.
    pub interactions: InteractionPlan,
    /// Due time (epoch ms).
    pub due_ms: i64,
    /// Tolerance, from settings.
    pub tolerance: Tolerance,
    /// Group reference method, from settings.
    pub group_reference: GroupReference,
}

impl NewSession {
    /// Validates a CreateSession request at time `now_ms` under `settings`.
    pub fn parse(
        input: NewSessionInput,
        now_ms: i64,
        settings: &Settings,
    ) -> Result<NewSession, Violations> {
        let mut v = Violations::new();
        let request_id = input.request_id.trim().to_owned();
        if request_id.is_empty() || request_id.chars().count() > 100 {
            v.push("request_id", "must be 1 to 100 characters");
        }
        let name = input.name.trim().to_owned();
        if name.is_empty() || name.chars().count() > 200 {
            v.push("name", "must be 1 to 200 characters");
        }
        if input.description.chars().count() > 4_000 {
            v.push("description", "must be at most 4,000 characters");
        }
        let scorecard_id = ScorecardId::parse(&input.scorecard_id)
            .map_err(|e| v.push("scorecard_id", e))
            .ok();
        if input.scorecard_version <= 0 {
            v.push(
                "scorecard_version",
                "must be a published version (1 or more)",
            );
        }
        let mode = input.mode;
        if mode.is_none() {
            v.push("mode", "choose blind, expert or consensus");
        }

        let mut participants = Vec::with_capacity(input.participant_ids.len());
        let mut seen = HashSet::new();
        for (i, raw) in input.participant_ids.iter().enumerate() {
            match ParticipantId::parse(raw) {
                Err(e) => v.push(format!("participant_ids[{i}]"), e),
                Ok(p) if !seen.insert(p.clone()) => {
                    v.push(format!("participant_ids[{i}]"), "duplicate participant")
                }
                Ok(p) => participants.push(p),
            }
        }
        let n = input.participant_ids.len();
        if !(MIN_PARTICIPANTS..=MAX_PARTICIPANTS).contains(&n) {
            v.push(
                "participant_ids",
                format!("must list {MIN_PARTICIPANTS} to {MAX_PARTICIPANTS} participants"),
            );
        }

        let expert = match (mode, input.expert_participant_id.as_str()) {
            (Some(Mode::Expert), "") => {
                v.push("expert_participant_id", "required in expert mode");
                None
            }
            (Some(Mode::Expert), raw) => match ParticipantId::parse(raw) {
                Ok(e) if participants.contains(&e) => Some(e),
                Ok(_) => {
                    v.push("expert_participant_id", "must be one of participant_ids");
                    None
                }
                Err(e) => {
                    v.push("expert_participant_id", e);
                    None
                }
            },
            (_, "") => None,
            (_, _) => {
                v.push("expert_participant_id", "only in expert mode");
                None
            }
        };

        let interactions = match input.interactions {
            InteractionsInput::Missing => {
                v.push(
                    "interactions",
                    "list interactions (chosen) or ask for a draw",
                );
                None
            }
            InteractionsInput::Chosen(ids) => {
                if ids.is_empty() || ids.len() > MAX_INTERACTIONS {
                    v.push(
                        "chosen.interaction_ids",
                        format!("must list 1 to {MAX_INTERACTIONS} interactions"),
                    );
                }
                let mut out = Vec::with_capacity(ids.len());
                let mut seen = HashSet::new();
                for (i, raw) in ids.iter().enumerate() {
                    match InteractionId::parse(raw) {
                        Err(e) => v.push(format!("chosen.interaction_ids[{i}]"), e),
                        Ok(x) if !seen.insert(x.clone()) => v.push(
                            format!("chosen.interaction_ids[{i}]"),
                            "duplicate interaction",
                        ),
                        Ok(x) => out.push(x),
                    }
                }
                Some(InteractionPlan::Chosen(out))
            }
            InteractionsInput::Draw {
                start_ms,
                end_ms,
                count,
                seed,
            } => {
                if !(1..=MAX_INTERACTIONS as i32).contains(&count) {
                    v.push("draw.count", format!("must be 1 to {MAX_INTERACTIONS}"));
                }
                match (start_ms, end_ms) {
                    (Some(s), Some(e)) if e <= s => v.push(
                        "draw.criteria.time_range",
                        "end_time must be after start_time",
                    ),
                    (Some(s), Some(e)) if e.saturating_sub(s) > MAX_DRAW_WINDOW_MS => {
                        v.push("draw.criteria.time_range", "must span at most 366 days")
                    }
                    (Some(_), Some(_)) => {}
                    _ => v.push(
                        "draw.criteria.time_range",
                        "a draw needs start_time and end_time",
                    ),
                }
                Some(InteractionPlan::Draw {
                    start_ms: start_ms.unwrap_or(0),
                    end_ms: end_ms.unwrap_or(0),
                    count: count.max(0) as u32,
                    seed,
                })
            }
        };

        let due_ms = match input.due_ms {
            Some(d) if d <= now_ms => {
                v.push("due_time", "must be in the future");
                d
            }
            Some(d) => d,
            None => now_ms.saturating_add(settings.default_response_window_ms),
        };

        match (v.is_empty(), scorecard_id, mode, interactions) {
            (true, Some(scorecard_id), Some(mode), Some(interactions)) => Ok(NewSession {
                request_id,
                name,
                description: input.description,
                scorecard_id,
                scorecard_version: input.scorecard_version,
                mode,
                expert,
                participants,
                interactions,
                due_ms,
                tolerance: settings.tolerance,
                group_reference: settings.group_reference,
            }),
            _ => Err(v),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_800_000_000_000;

    fn valid() -> NewSessionInput {
        NewSessionInput {
            request_id: "req-1".into(),
            name: "Week 47 calibration".into(),
            description: String::new(),
            scorecard_id: "sc-1".into(),
            scorecard_version: 3,
            mode: Some(Mode::Expert),
            expert_participant_id: "bob".into(),
            participant_ids: vec!["ann".into(), "bob".into(), "cy".into()],
            interactions: InteractionsInput::Chosen(vec!["i1".into(), "i2".into()]),
            due_ms: Some(NOW + 86_400_000),
        }
    }

    #[test]
    fn accepts_a_valid_session_and_freezes_settings() {
        let s = NewSession::parse(valid(), NOW, &Settings::default()).unwrap();
        assert_eq!(s.expert.as_ref().map(ParticipantId::as_str), Some("bob"));
        assert_eq!(s.participants.len(), 3);
        assert_eq!(s.tolerance, Tolerance::DEFAULT);
        assert_eq!(s.group_reference, GroupReference::Median);
        let mut no_due = valid();
        no_due.due_ms = None;
        let s = NewSession::parse(no_due, NOW, &Settings::default()).unwrap();
        assert_eq!(s.due_ms, NOW + 7 * 86_400_000);
    }

    #[test]
    fn table_of_violations() {
        type Edit = fn(&mut NewSessionInput);
        let cases: [(Edit, &str); 16] = [
            (|i| i.request_id.clear(), "request_id"),
            (|i| i.name = "  ".into(), "name"),
            (|i| i.description = "x".repeat(4_001), "description"),
            (|i| i.scorecard_id.clear(), "scorecard_id"),
            (|i| i.scorecard_version = 0, "scorecard_version"),
            (|i| i.mode = None, "mode"),
            (
                |i| i.participant_ids = vec!["bob".into()],
                "participant_ids",
            ),
            (
                |i| i.participant_ids.push("ann".into()),
                "participant_ids[3]",
            ),
            (
                |i| i.participant_ids.push(String::new()),
                "participant_ids[3]",
            ),
            (
                |i| i.expert_participant_id = "zed".into(),
                "expert_participant_id",
            ),
            (|i| i.expert_participant_id.clear(), "expert_participant_id"),
            (
                |i| {
                    i.mode = Some(Mode::Blind);
                },
                "expert_participant_id",
            ),
            (
                |i| i.interactions = InteractionsInput::Missing,
                "interactions",
            ),
            (
                |i| i.interactions = InteractionsInput::Chosen(vec!["i1".into(), "i1".into()]),
                "chosen.interaction_ids[1]",
            ),
            (
                |i| {
                    i.interactions = InteractionsInput::Draw {
                        start_ms: Some(10),
                        end_ms: Some(5),
                        count: 0,
                        seed: 0,
                    }
                },
                "draw.criteria.time_range",
            ),
            (|i| i.due_ms = Some(NOW), "due_time"),
        ];
        for (edit, field) in cases {
            let mut input = valid();
            edit(&mut input);
            let err = NewSession::parse(input, NOW, &Settings::default()).unwrap_err();
            assert!(err.has_field(field), "{field}: {err}");
        }
        let mut too_many = valid();
        too_many.participant_ids = (0..51).map(|i| format!("p{i}")).collect();
        too_many.expert_participant_id = "p0".into();
        assert!(
            NewSession::parse(too_many, NOW, &Settings::default())
                .unwrap_err()
                .has_field("participant_ids")
        );
        let mut draw = valid();
        draw.interactions = InteractionsInput::Draw {
            start_ms: None,
            end_ms: Some(5),
            count: 101,
            seed: 0,
        };
        let err = NewSession::parse(draw, NOW, &Settings::default()).unwrap_err();
        assert!(err.has_field("draw.count") && err.has_field("draw.criteria.time_range"));
    }

    #[test]
    fn all_problems_at_once() {
        let err =
            NewSession::parse(NewSessionInput::default(), NOW, &Settings::default()).unwrap_err();
        assert!(err.len() >= 6, "{err}");
    }
}
