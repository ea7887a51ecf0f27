//! Table rows, and their mapping to the core's types and the contract's
//! messages.

use std::collections::BTreeMap;

use earshot_kit::{error::Error, error::Result, time::from_millis};
use earshot_proto::sampling::v1 as pb;

use crate::convert;
use crate::ids::InteractionId;
use crate::interaction::{Direction, Interaction, InteractionInput};
use crate::repeat_contact::{self, FcrStatus, RepeatContact, RepeatSource};
use crate::targeted::LateFacts;

/// The columns of `interactions` every read selects, in [`InteractionRow`]
/// order.
pub const INTERACTION_COLUMNS: &str = "id, channel, direction, agent_id, team_id, queue_id, \
     arrived_at, answered_at, ended_at, wait_ms, talk_ms, hold_ms, acw_ms, disposition, \
     customer_ref, transferred, abandoned, escalated, language, attributes, recording_uri, \
     transcript_uri, source_update_at, created_at, updated_at, revision, min_csat, \
     nps_detractor, has_survey, has_complaint, repeat_interaction_id, repeat_at, \
     repeat_source, repeat_reason";

/// One `interactions` row.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct InteractionRow {
    pub id: String,
    pub channel: i64,
    pub direction: i64,
    pub agent_id: String,
    pub team_id: String,
    pub queue_id: String,
    pub arrived_at: i64,
    pub answered_at: Option<i64>,
    pub ended_at: Option<i64>,
    pub wait_ms: Option<i64>,
    pub talk_ms: Option<i64>,
    pub hold_ms: Option<i64>,
    pub acw_ms: Option<i64>,
    pub disposition: String,
    pub customer_ref: String,
    pub transferred: bool,
    pub abandoned: bool,
    pub escalated: bool,
    pub language: String,
    pub attributes: String,
    pub recording_uri: String,
    pub transcript_uri: String,
    pub source_update_at: Option<i64>,
    pub created_at: i64,
    pub updated_at: i64,
    pub revision: i64,
    pub min_csat: Option<i64>,
    pub nps_detractor: bool,
    pub has_survey: bool,
    pub has_complaint: bool,
    pub repeat_interaction_id: Option<String>,
    pub repeat_at: Option<i64>,
    pub repeat_source: Option<i64>,
    pub repeat_reason: Option<String>,
}

/// A stored interaction with its bookkeeping and late-fact summary.
#[derive(Debug, Clone)]
pub struct Stored {
    /// The facts.
    pub interaction: Interaction,
    /// When first stored.
    pub created_at: i64,
    /// When last changed.
    pub updated_at: i64,
    /// Revision, from 1.
    pub revision: i64,
    /// Late facts as the targeted rules see them.
    pub facts: LateFacts,
    /// Has a survey response.
    pub has_survey: bool,
    /// The repeat contact that voided FCR, if any.
    pub repeat: Option<RepeatContact>,
}

fn i32_of(x: i64) -> i32 {
    i32::try_from(x).unwrap_or(0)
}

impl InteractionRow {
    /// The stored interaction. Rows were validated on the way in; one that no
    /// longer parses is an internal error.
    pub fn into_stored(self) -> Result<Stored> {
        let attributes: BTreeMap<String, String> = if self.attributes.is_empty() {
            BTreeMap::new()
        } else {
            serde_json::from_str(&self.attributes)
                .map_err(|e| Error::internal(format!("interaction {}: attributes: {e}", self.id)))?
        };
        let id = self.id.clone();
        let input = InteractionInput {
            id: self.id,
            channel: i32_of(self.channel),
            direction: i32_of(self.direction),
            agent_id: self.agent_id,
            team_id: self.team_id,
            queue_id: self.queue_id,
            arrived_ms: Some(self.arrived_at),
            answered_ms: self.answered_at,
            ended_ms: self.ended_at,
            wait_ms: self.wait_ms,
            talk_ms: self.talk_ms,
            hold_ms: self.hold_ms,
            after_call_work_ms: self.acw_ms,
            disposition: self.disposition,
            customer_ref: self.customer_ref,
            transferred: self.transferred,
            abandoned: self.abandoned,
            escalated: self.escalated,
            language: self.language,
            attributes,
            recording_uri: self.recording_uri,
            transcript_uri: self.transcript_uri,
            source_update_ms: self.source_update_at,
        };
        // Stored times passed the future check when they arrived.
        let interaction = Interaction::parse(input, i64::MAX / 4)
            .map_err(|v| Error::internal(format!("stored interaction {id} is invalid: {v}")))?;
        let repeat = match (self.repeat_at, self.repeat_source) {
            (Some(at), Some(source)) => Some(RepeatContact {
                repeat_interaction: self
                    .repeat_interaction_id
                    .filter(|s| !s.is_empty())
                    .and_then(|s| InteractionId::parse(s).ok()),
                repeat_ms: at,
                source: if source == 2 {
                    RepeatSource::Reported
                } else {
                    RepeatSource::Derived
                },
                reason: self.repeat_reason.unwrap_or_default(),
            }),
            _ => None,
        };
        Ok(Stored {
            interaction,
            created_at: self.created_at,
            updated_at: self.updated_at,
            revision: self.revision,
            facts: LateFacts {
                min_csat: self.min_csat.and_then(|c| u8::try_from(c).ok()),
                nps_detractor: self.nps_detractor,
                complaint: self.has_complaint,
                repeat_contact: repeat.is_some(),
            },
            has_survey: self.has_survey,
            repeat,
        })
    }
}

/// The repeat contact as the contract's message.
pub fn repeat_message(r: &RepeatContact) -> pb::RepeatContact {
    pb::RepeatContact {
        repeat_interaction_id: r
            .repeat_interaction
            .as_ref()
            .map(|i| i.as_str().to_owned())
            .unwrap_or_default(),
        repeat_time: Some(from_millis(r.repeat_ms)),
        source: match r.source {
            RepeatSource::Derived => pb::RepeatContactSource::Derived as i32,
            RepeatSource::Reported => pb::RepeatContactSource::Reported as i32,
        },
        reason: r.reason.clone(),
    }
}

/// First-contact resolution as the contract defines it for reporting: an
/// inbound interaction with a customer reference is resolved unless a
/// repeat contact voids it (pending while its window is open); a voided one
/// is not resolved whatever its direction; anything else is unknown.
pub fn fcr(i: &Interaction, repeat: Option<&RepeatContact>, window_ms: i64, now: i64) -> FcrStatus {
    if repeat.is_some() {
        return FcrStatus::NotResolved;
    }
    if i.direction != Direction::Inbound {
        return FcrStatus::Unknown;
    }
    repeat_contact::fcr_status(
        !i.customer_ref.is_empty(),
        None,
        i.arrived_ms,
        window_ms,
        now,
    )
}

/// The FCR status code of the contract.
pub fn fcr_code(s: FcrStatus) -> i32 {
    match s {
        FcrStatus::Unknown => pb::FcrStatus::Unspecified as i32,
        FcrStatus::Pending => pb::FcrStatus::Pending as i32,
        FcrStatus::Resolved => pb::FcrStatus::Resolved as i32,
        FcrStatus::NotResolved => pb::FcrStatus::NotResolved as i32,
    }
}

impl Stored {
    /// The contract's message: facts, repeat contact, FCR and bookkeeping
    /// (surveys and feedback are the caller's to add).
    pub fn message(&self, window_ms: i64, now: i64) -> pb::Interaction {
        let mut m = convert::interaction_facts(&self.interaction);
        m.repeat_contact = self.repeat.as_ref().map(repeat_message);
        m.fcr_status = fcr_code(fcr(&self.interaction, self.repeat.as_ref(), window_ms, now));
        m.create_time = Some(from_millis(self.created_at));
        m.update_time = Some(from_millis(self.updated_at));
        m.revision = self.revision;
        m
    }
}

/// A `surveys` row.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SurveyRow {
    pub interaction_id: String,
    pub survey_id: String,
    pub csat: Option<i64>,
    pub nps: Option<i64>,
    pub comment: String,
    pub respond_at: i64,
    pub survey_type: String,
}

impl SurveyRow {
    /// The contract's message.
    pub fn message(&self) -> pb::SurveyResponse {
        pb::SurveyResponse {
            survey_id: self.survey_id.clone(),
            interaction_id: self.interaction_id.clone(),
            csat: self.csat.map(i32_of),
            nps: self.nps.map(i32_of),
            comment: self.comment.clone(),
            respond_time: Some(from_millis(self.respond_at)),
            survey_type: self.survey_type.clone(),
        }
    }
}

/// A `feedback` row.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct FeedbackRow {
    pub interaction_id: String,
    pub feedback_id: String,
    pub kind: i64,
    pub category: String,
    pub body: String,
    pub receive_at: i64,
    pub resolved_at: Option<i64>,
}

impl FeedbackRow {
    /// The contract's message.
    pub fn message(&self) -> pb::Feedback {
        pb::Feedback {
            feedback_id: self.feedback_id.clone(),
            interaction_id: self.interaction_id.clone(),
            kind: i32_of(self.kind),
            category: self.category.clone(),
            text: self.body.clone(),
            receive_time: Some(from_millis(self.receive_at)),
            resolved: self.resolved_at.is_some(),
            resolve_time: self.resolved_at.map(from_millis),
        }
    }
}

/// The columns of `assignments` every read selects, in [`AssignmentRow`]
/// order.
pub const ASSIGNMENT_COLUMNS: &str = "id, selection_id, interaction_id, plan_id, plan_version, \
     period_start, period_end, reason, rule_id, state, evaluator_id, due_at, created_at, \
     route_at, claim_at, complete_at, evaluation_id, overdue, reroute_count, cancel_reason, \
     revision, agent_id, team_id, channel, language, pool, dims";

/// One `assignments` row.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct AssignmentRow {
    pub id: String,
    pub selection_id: String,
    pub interaction_id: String,
    pub plan_id: String,
    pub plan_version: i64,
    pub period_start: Option<i64>,
    pub period_end: Option<i64>,
    pub reason: i64,
    pub rule_id: String,
    pub state: i64,
    pub evaluator_id: String,
    pub due_at: i64,
    pub created_at: i64,
    pub route_at: Option<i64>,
    pub claim_at: Option<i64>,
    pub complete_at: Option<i64>,
    pub evaluation_id: String,
    pub overdue: bool,
    pub reroute_count: i64,
    pub cancel_reason: String,
    pub revision: i64,
    pub agent_id: String,
    pub team_id: String,
    pub channel: i64,
    pub language: String,
    pub pool: i64,
    pub dims: Vec<u8>,
}

impl AssignmentRow {
    /// The contract's message; `hide_evaluator` blanks the evaluator (agents
    /// under anonymous evaluation).
    pub fn message(&self, hide_evaluator: bool) -> pb::Assignment {
        use prost::Message as _;
        pb::Assignment {
            id: self.id.clone(),
            interaction: pb::InteractionDimensions::decode(self.dims.as_slice()).ok(),
            selection_id: self.selection_id.clone(),
            plan_id: self.plan_id.clone(),
            plan_version: i32_of(self.plan_version),
            period: match (self.period_start, self.period_end) {
                (Some(s), Some(e)) => Some(convert::time_range(s, e)),
                _ => None,
            },
            reason: i32_of(self.reason),
            rule_id: self.rule_id.clone(),
            state: i32_of(self.state),
            evaluator_id: if hide_evaluator {
                String::new()
            } else {
                self.evaluator_id.clone()
            },
            due_time: Some(from_millis(self.due_at)),
            create_time: Some(from_millis(self.created_at)),
            route_time: self.route_at.map(from_millis),
            claim_time: self.claim_at.map(from_millis),
            complete_time: self.complete_at.map(from_millis),
            evaluation_id: self.evaluation_id.clone(),
            overdue: self.overdue,
            reroute_count: i32_of(self.reroute_count),
            cancel_reason: self.cancel_reason.clone(),
            etag: convert::etag(self.revision),
        }
    }

    /// The lifecycle facts as the core sees them.
    pub fn lifecycle(&self) -> Result<crate::assignment::Assignment> {
        use crate::assignment::{Assignment, State};
        use crate::ids::{EvaluationId, EvaluatorId};
        let evaluator = || {
            EvaluatorId::parse(self.evaluator_id.clone())
                .map_err(|e| Error::internal(format!("assignment {}: evaluator: {e}", self.id)))
        };
        let state = match self.state {
            1 => State::Queued,
            2 => State::Routed(evaluator()?),
            3 => State::Claimed(evaluator()?),
            4 => State::Completed {
                evaluator: EvaluatorId::parse(self.evaluator_id.clone()).ok(),
                evaluation: EvaluationId::parse(self.evaluation_id.clone()).map_err(|e| {
                    Error::internal(format!("assignment {}: evaluation: {e}", self.id))
                })?,
            },
            5 => State::Cancelled,
            other => {
                return Err(Error::internal(format!(
                    "assignment {} has unknown state {other}",
                    self.id
                )));
            }
        };
        Ok(Assignment {
            state,
            due_ms: self.due_at,
            overdue: self.overdue,
            reroute_count: u32::try_from(self.reroute_count).unwrap_or(0),
            route_ms: self.route_at,
            claim_ms: self.claim_at,
            complete_ms: self.complete_at,
            cancel_reason: self.cancel_reason.clone(),
        })
    }
}

/// The columns of `selections` every read selects, in [`SelectionRow`]
/// order.
pub const SELECTION_COLUMNS: &str = "id, interaction_id, plan_id, plan_version, period_start, \
     period_end, reason, rule_id, rule_kind, stratum, draw, new_hire, matched_rule_ids, \
     selected_at, assignment_id, selected_by, selected_role, note, dims";

/// One `selections` row.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SelectionRow {
    pub id: String,
    pub interaction_id: String,
    pub plan_id: String,
    pub plan_version: i64,
    pub period_start: Option<i64>,
    pub period_end: Option<i64>,
    pub reason: i64,
    pub rule_id: String,
    pub rule_kind: i64,
    pub stratum: String,
    pub draw: f64,
    pub new_hire: bool,
    pub matched_rule_ids: String,
    pub selected_at: i64,
    pub assignment_id: String,
    pub selected_by: String,
    pub selected_role: String,
    pub note: String,
    pub dims: Vec<u8>,
}

impl SelectionRow {
    /// The contract's message.
    pub fn message(&self) -> pb::Selection {
        use prost::Message as _;
        pb::Selection {
            id: self.id.clone(),
            interaction: pb::InteractionDimensions::decode(self.dims.as_slice()).ok(),
            plan_id: self.plan_id.clone(),
            plan_version: i32_of(self.plan_version),
            period: match (self.period_start, self.period_end) {
                (Some(s), Some(e)) => Some(convert::time_range(s, e)),
                _ => None,
            },
            reason: i32_of(self.reason),
            rule_id: self.rule_id.clone(),
            rule_kind: i32_of(self.rule_kind),
            stratum: self.stratum.clone(),
            draw: self.draw,
            new_hire: self.new_hire,
            matched_rule_ids: self
                .matched_rule_ids
                .split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            select_time: Some(from_millis(self.selected_at)),
            assignment_id: self.assignment_id.clone(),
            selected_by: convert::actor(&self.selected_by, &self.selected_role),
            note: self.note.clone(),
        }
    }
}
