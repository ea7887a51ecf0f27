//! The edge between generated proto types and the core's plain inputs.
//!
//! Proto messages become the core's `*Input` structs (times as epoch
//! milliseconds, enums as wire codes) here, and core values become proto
//! messages for responses and change-feed events. Nothing here validates:
//! that is each core type's `parse`. Conversions never panic; an out-of-range
//! timestamp saturates and is then rejected by the core's range checks.

use std::collections::BTreeMap;

use earshot_kit::{FieldViolation, error::Error, time::from_millis};
use earshot_proto::common::v1 as common;
use earshot_proto::sampling::v1 as pb;
use prost_types::{Duration, Timestamp};

use crate::business_hours::WindowInput;
use crate::evaluator::EvaluatorInput;
use crate::feedback::FeedbackInput;
use crate::filter::FilterInput;
use crate::interaction::{Interaction, InteractionInput};
use crate::plan::{
    ExclusionsInput, NewHireInput, PlanInput, RandomTargetInput, RuleInput, ScopeInput,
    StratificationInput, TargetInput,
};
use crate::settings::SettingsInput;
use crate::survey::SurveyInput;
use crate::violation::Violations;

impl From<Violations> for Error {
    fn from(v: Violations) -> Self {
        Error::InvalidArgument(
            v.into_vec()
                .into_iter()
                .map(|v| FieldViolation::new(v.field, v.description))
                .collect(),
        )
    }
}

/// The core's violations nested under `prefix` as a kit error.
pub fn invalid_under(prefix: &str, v: Violations) -> Error {
    Error::InvalidArgument(
        v.into_vec()
            .into_iter()
            .map(|v| {
                FieldViolation::new(crate::violation::join_path(prefix, &v.field), v.description)
            })
            .collect(),
    )
}

/// Per-item violations of a batch, in the contract's shape.
pub fn item_violations(v: Violations) -> Vec<pb::ItemViolation> {
    v.into_vec()
        .into_iter()
        .map(|v| pb::ItemViolation {
            field: v.field,
            description: v.description,
        })
        .collect()
}

/// A timestamp as epoch milliseconds, saturating (the core rejects what is
/// out of range).
pub fn ts_ms(t: &Timestamp) -> i64 {
    t.seconds
        .saturating_mul(1000)
        .saturating_add(i64::from(t.nanos.clamp(-999_999_999, 999_999_999)) / 1_000_000)
}

/// An optional timestamp as epoch milliseconds.
pub fn opt_ts(t: Option<&Timestamp>) -> Option<i64> {
    t.map(ts_ms)
}

/// A duration as milliseconds, saturating; negative stays negative.
pub fn dur_ms(d: &Duration) -> i64 {
    d.seconds
        .saturating_mul(1000)
        .saturating_add(i64::from(d.nanos.clamp(-999_999_999, 999_999_999)) / 1_000_000)
}

/// An optional duration as milliseconds.
pub fn opt_dur(d: Option<&Duration>) -> Option<i64> {
    d.map(dur_ms)
}

/// Milliseconds as a duration.
pub fn duration(ms: i64) -> Duration {
    Duration {
        seconds: ms / 1000,
        nanos: i32::try_from((ms % 1000) * 1_000_000).unwrap_or(0),
    }
}

/// An optional time as a timestamp.
pub fn opt_time(ms: Option<i64>) -> Option<Timestamp> {
    ms.map(from_millis)
}

/// A time range as (start, end) milliseconds; either may be missing.
pub fn range_ms(r: Option<&common::TimeRange>) -> (Option<i64>, Option<i64>) {
    match r {
        Some(r) => (opt_ts(r.start_time.as_ref()), opt_ts(r.end_time.as_ref())),
        None => (None, None),
    }
}

/// A `[start, end)` range as the contract's `TimeRange`.
pub fn time_range(start_ms: i64, end_ms: i64) -> common::TimeRange {
    common::TimeRange {
        start_time: Some(from_millis(start_ms)),
        end_time: Some(from_millis(end_ms)),
    }
}

/// An interaction as received.
pub fn interaction_input(i: pb::Interaction) -> InteractionInput {
    InteractionInput {
        arrived_ms: opt_ts(i.arrived_time.as_ref()),
        answered_ms: opt_ts(i.answered_time.as_ref()),
        ended_ms: opt_ts(i.ended_time.as_ref()),
        wait_ms: opt_dur(i.wait_duration.as_ref()),
        talk_ms: opt_dur(i.talk_duration.as_ref()),
        hold_ms: opt_dur(i.hold_duration.as_ref()),
        after_call_work_ms: opt_dur(i.after_call_work_duration.as_ref()),
        source_update_ms: opt_ts(i.source_update_time.as_ref()),
        id: i.id,
        channel: i.channel,
        direction: i.direction,
        agent_id: i.agent_id,
        team_id: i.team_id,
        queue_id: i.queue_id,
        disposition: i.disposition,
        customer_ref: i.customer_ref,
        transferred: i.transferred,
        abandoned: i.abandoned,
        escalated: i.escalated,
        language: i.language,
        attributes: i.attributes.into_iter().collect(),
        recording_uri: i.recording_uri,
        transcript_uri: i.transcript_uri,
    }
}

/// The facts of a stored interaction as the contract's message (late facts
/// and output-only fields are the caller's to add).
pub fn interaction_facts(i: &Interaction) -> pb::Interaction {
    pb::Interaction {
        attributes: i
            .attributes
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
        recording_uri: i.recording_uri.clone(),
        transcript_uri: i.transcript_uri.clone(),
        handle_duration: i.handle_ms().map(duration),
        ..interaction_event_facts(i)
    }
}

/// The facts of an interaction as its `InteractionsUpserted` entry carries
/// them: what subscribers compute with (dimensions, times, durations, flags,
/// disposition, customer reference, language), not its free-form attributes
/// nor its media references (served by `GetInteraction`), nor the handle
/// time, which follows from the durations.
pub fn interaction_event_facts(i: &Interaction) -> pb::Interaction {
    pb::Interaction {
        id: i.id.as_str().to_owned(),
        channel: i.channel.code(),
        direction: i.direction.code(),
        agent_id: i
            .agent
            .as_ref()
            .map(|a| a.as_str().to_owned())
            .unwrap_or_default(),
        team_id: i
            .team
            .as_ref()
            .map(|a| a.as_str().to_owned())
            .unwrap_or_default(),
        queue_id: i
            .queue
            .as_ref()
            .map(|a| a.as_str().to_owned())
            .unwrap_or_default(),
        arrived_time: Some(from_millis(i.arrived_ms)),
        answered_time: opt_time(i.answered_ms),
        ended_time: opt_time(i.ended_ms),
        wait_duration: i.wait_ms.map(duration),
        talk_duration: i.talk_ms.map(duration),
        hold_duration: i.hold_ms.map(duration),
        after_call_work_duration: i.after_call_work_ms.map(duration),
        disposition: i.disposition.clone(),
        customer_ref: i.customer_ref.clone(),
        transferred: i.transferred,
        abandoned: i.abandoned,
        escalated: i.escalated,
        language: i
            .language
            .as_ref()
            .map(|l| l.as_str().to_owned())
            .unwrap_or_default(),
        source_update_time: opt_time(i.source_update_ms),
        ..Default::default()
    }
}

/// The dimensions reports group by.
pub fn dimensions(i: &Interaction) -> pb::InteractionDimensions {
    pb::InteractionDimensions {
        interaction_id: i.id.as_str().to_owned(),
        channel: i.channel.code(),
        direction: i.direction.code(),
        agent_id: i
            .agent
            .as_ref()
            .map(|a| a.as_str().to_owned())
            .unwrap_or_default(),
        team_id: i
            .team
            .as_ref()
            .map(|a| a.as_str().to_owned())
            .unwrap_or_default(),
        queue_id: i
            .queue
            .as_ref()
            .map(|a| a.as_str().to_owned())
            .unwrap_or_default(),
        language: i
            .language
            .as_ref()
            .map(|l| l.as_str().to_owned())
            .unwrap_or_default(),
        arrived_time: Some(from_millis(i.arrived_ms)),
        handle_duration: i.handle_ms().map(duration),
    }
}

/// A survey response as received.
pub fn survey_input(s: pb::SurveyResponse) -> SurveyInput {
    SurveyInput {
        respond_ms: opt_ts(s.respond_time.as_ref()),
        survey_id: s.survey_id,
        interaction_id: s.interaction_id,
        csat: s.csat,
        nps: s.nps,
        comment: s.comment,
        survey_type: s.survey_type,
    }
}

/// A stored survey response as the contract's message.
pub fn survey(s: &crate::survey::SurveyResponse) -> pb::SurveyResponse {
    pb::SurveyResponse {
        survey_id: s.survey_id.as_str().to_owned(),
        interaction_id: s.interaction_id.as_str().to_owned(),
        csat: s.csat.map(|c| i32::from(c.get())),
        nps: s.nps.map(|n| i32::from(n.get())),
        comment: s.comment.clone(),
        respond_time: Some(from_millis(s.respond_ms)),
        survey_type: s.survey_type.clone(),
    }
}

/// Feedback as received.
pub fn feedback_input(f: pb::Feedback) -> FeedbackInput {
    FeedbackInput {
        receive_ms: opt_ts(f.receive_time.as_ref()),
        resolve_ms: opt_ts(f.resolve_time.as_ref()),
        feedback_id: f.feedback_id,
        interaction_id: f.interaction_id,
        kind: f.kind,
        category: f.category,
        text: f.text,
        resolved: f.resolved,
    }
}

/// Stored feedback as the contract's message.
pub fn feedback(f: &crate::feedback::Feedback) -> pb::Feedback {
    pb::Feedback {
        feedback_id: f.feedback_id.as_str().to_owned(),
        interaction_id: f.interaction_id.as_str().to_owned(),
        kind: f.kind.code(),
        category: f.category.clone(),
        text: f.text.clone(),
        receive_time: Some(from_millis(f.receive_ms)),
        resolved: f.resolved_ms.is_some(),
        resolve_time: opt_time(f.resolved_ms),
    }
}

/// A plan definition as received.
pub fn plan_input(p: &pb::SamplingPlan) -> PlanInput {
    let scope = p.scope.clone().unwrap_or_default();
    let target = p.target.as_ref().map(|t| TargetInput {
        min_per_agent: t.min_per_agent,
        max_per_agent: t.max_per_agent,
        random: match &t.random_target {
            None => RandomTargetInput::Unset,
            Some(pb::per_agent_target::RandomTarget::Count(c)) => RandomTargetInput::Count(*c),
            Some(pb::per_agent_target::RandomTarget::Rate(r)) => RandomTargetInput::Rate(*r),
            Some(pb::per_agent_target::RandomTarget::Significance(s)) => {
                RandomTargetInput::Significance(
                    s.confidence_level,
                    s.margin_of_error,
                    s.expected_proportion,
                )
            }
        },
    });
    let exclusions = p.exclusions.clone().unwrap_or_default();
    let due = p.due.unwrap_or_default();
    PlanInput {
        display_name: p.display_name.clone(),
        description: p.description.clone(),
        state: p.state,
        scope: ScopeInput {
            channels: scope.channels,
            directions: scope.directions,
            queue_ids: scope.queue_ids,
            team_ids: scope.team_ids,
            agent_ids: scope.agent_ids,
            dispositions: scope.dispositions,
            languages: scope.languages,
            min_handle_ms: opt_dur(scope.min_handle_duration.as_ref()),
            max_handle_ms: opt_dur(scope.max_handle_duration.as_ref()),
            business_hours_only: scope.business_hours_only,
        },
        period: p.period,
        target,
        stratification: p.stratification.as_ref().map(|s| StratificationInput {
            dimensions: s.dimensions.clone(),
            allocation: s.allocation,
            band_start_hours: s.time_of_day_band_start_hours.clone(),
        }),
        exclusions: ExclusionsInput {
            abandoned: exclusions.exclude_abandoned,
            already_selected: exclusions.exclude_already_selected,
            dispositions: exclusions.exclude_dispositions,
            transferred: exclusions.exclude_transferred,
        },
        rules: p
            .targeted_rules
            .iter()
            .map(|r| RuleInput {
                rule_id: r.rule_id.clone(),
                display_name: r.display_name.clone(),
                kind: r.kind,
                priority: r.priority,
                cap_per_agent: r.cap_per_agent,
                cap_per_period: r.cap_per_period,
                csat_at_most: r.csat_at_most,
                handle_time_basis: r.handle_time_basis,
                dispositions: r.dispositions.clone(),
                attribute_key: r.attribute_key.clone(),
                attribute_values: r.attribute_values.clone(),
            })
            .collect(),
        new_hire: p.new_hire.as_ref().map(|n| NewHireInput {
            weeks: n.weeks,
            multiplier: n.multiplier,
            agent_starts: n
                .agent_start_times
                .iter()
                .map(|(k, v)| (k.clone(), ts_ms(v)))
                .collect::<BTreeMap<_, _>>(),
        }),
        due_within_ms: opt_dur(due.due_within.as_ref()),
        due_business_hours_only: due.business_hours_only,
        evaluator_pool: p.evaluator_pool,
        expected_agent_volume: p.expected_agent_volume,
    }
}

/// A plan's definition with every output-only field cleared, as stored.
pub fn plan_definition(p: &pb::SamplingPlan) -> pb::SamplingPlan {
    pb::SamplingPlan {
        id: String::new(),
        version: 0,
        etag: String::new(),
        create_time: None,
        update_time: None,
        archive_time: None,
        created_by: None,
        updated_by: None,
        seed: 0,
        ..p.clone()
    }
}

/// Settings as received.
pub fn settings_input(s: &pb::Settings) -> SettingsInput {
    let bh = s.business_hours.clone().unwrap_or_default();
    let sla = s.monitoring_sla.unwrap_or_default();
    let cp = s.conflict_policy.unwrap_or_default();
    SettingsInput {
        time_zone: s.time_zone.clone(),
        windows: bh
            .windows
            .iter()
            .map(|w| WindowInput {
                day: w.day,
                open_minute: w.open_minute,
                close_minute: w.close_minute,
            })
            .collect(),
        holidays: bh.holidays,
        repeat_contact_window_ms: opt_dur(s.repeat_contact_window.as_ref()),
        default_due_within_ms: opt_dur(sla.default_due_within.as_ref()),
        on_time_target: sla.on_time_target,
        allow_own_team: cp.allow_own_team,
        max_assignments_per_agent_per_period: cp.max_assignments_per_agent_per_period,
        period_close_delay_ms: opt_dur(s.period_close_delay.as_ref()),
        retention_ms: opt_dur(s.retention.as_ref()),
    }
}

/// Valid settings as the contract's message, defaults filled in.
pub fn settings_message(s: &crate::settings::Settings, stored: &pb::Settings) -> pb::Settings {
    pb::Settings {
        time_zone: s.time_zone.name().to_owned(),
        business_hours: stored
            .business_hours
            .clone()
            .or(Some(pb::BusinessHours::default())),
        repeat_contact_window: Some(duration(s.repeat_contact_window_ms)),
        monitoring_sla: Some(pb::MonitoringSla {
            default_due_within: Some(duration(s.sla.default_due_within_ms)),
            on_time_target: s.sla.on_time_target,
        }),
        conflict_policy: Some(pb::ConflictPolicy {
            allow_own_team: s.conflict_policy.allow_own_team,
            max_assignments_per_agent_per_period: s
                .conflict_policy
                .max_assignments_per_agent_per_period
                .map_or(0, |n| i32::try_from(n).unwrap_or(i32::MAX)),
        }),
        period_close_delay: Some(duration(s.period_close_delay_ms)),
        retention: s.retention_ms.map(duration),
        etag: String::new(),
        update_time: None,
        updated_by: None,
    }
}

/// An evaluator as received.
pub fn evaluator_input(e: &pb::Evaluator) -> EvaluatorInput {
    EvaluatorInput {
        id: e.id.clone(),
        display_name: e.display_name.clone(),
        capacity_per_day: e.capacity_per_day,
        channels: e.channels.clone(),
        languages: e.languages.clone(),
        team_id: e.team_id.clone(),
        excluded_team_ids: e.excluded_team_ids.clone(),
        excluded_agent_ids: e.excluded_agent_ids.clone(),
        external: e.external,
        active: e.active,
    }
}

/// An evaluator's definition with output-only fields cleared, as stored.
pub fn evaluator_definition(e: &pb::Evaluator) -> pb::Evaluator {
    pb::Evaluator {
        etag: String::new(),
        create_time: None,
        update_time: None,
        assigned_today: 0,
        open_assignments: 0,
        ..e.clone()
    }
}

/// An interaction filter as received.
pub fn filter_input(f: Option<&pb::InteractionFilter>) -> FilterInput {
    let Some(f) = f else {
        return FilterInput::default();
    };
    let (arrived_start_ms, arrived_end_ms) = range_ms(f.arrived_range.as_ref());
    FilterInput {
        arrived_start_ms,
        arrived_end_ms,
        channels: f.channels.clone(),
        directions: f.directions.clone(),
        agent_ids: f.agent_ids.clone(),
        team_ids: f.team_ids.clone(),
        queue_ids: f.queue_ids.clone(),
        languages: f.languages.clone(),
        dispositions: f.dispositions.clone(),
        min_handle_ms: opt_dur(f.min_handle_duration.as_ref()),
        max_handle_ms: opt_dur(f.max_handle_duration.as_ref()),
        exclude_selected: f.exclude_selected,
        exclude_evaluated: f.exclude_evaluated,
        exclude_interaction_ids: f.exclude_interaction_ids.clone(),
        has_survey: f.has_survey,
        has_complaint: f.has_complaint,
        not_resolved_first_contact: f.not_resolved_first_contact,
        exclude_abandoned: f.exclude_abandoned,
        exclude_unhandled: f.exclude_unhandled,
    }
}

/// An actor for the contract.
pub fn actor(subject: &str, role: &str) -> Option<common::Actor> {
    if subject.is_empty() {
        None
    } else {
        Some(common::Actor {
            subject: subject.to_owned(),
            role: role.to_owned(),
        })
    }
}

/// An etag from a revision number.
pub fn etag(revision: i64) -> String {
    format!("r{revision}")
}

/// Checks a sent etag against the stored revision: empty skips the check,
/// a stale one is `ABORTED`.
pub fn check_etag(sent: &str, revision: i64, what: &str) -> Result<(), Error> {
    if sent.is_empty() || sent == etag(revision) {
        Ok(())
    } else {
        Err(Error::Aborted(format!(
            "{what} changed since it was read (etag {sent} is stale); read it again"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_saturate_and_round_trip() {
        let t = Timestamp {
            seconds: i64::MAX,
            nanos: 0,
        };
        assert_eq!(ts_ms(&t), i64::MAX);
        let d = Duration {
            seconds: -1,
            nanos: 0,
        };
        assert_eq!(dur_ms(&d), -1000);
        assert_eq!(dur_ms(&duration(1234)), 1234);
        assert_eq!(ts_ms(&from_millis(1_741_597_200_123)), 1_741_597_200_123);
    }

    #[test]
    fn etags() {
        assert!(check_etag("", 3, "x").is_ok());
        assert!(check_etag("r3", 3, "x").is_ok());
        assert!(check_etag("r2", 3, "x").is_err());
    }
}
