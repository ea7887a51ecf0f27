//! Change-feed events → fact changes: the only place reporting reads another
//! service's contract types.
//!
//! | source | event | becomes |
//! | --- | --- | --- |
//! | sampling | `InteractionsUpserted` | the interaction (FCR from its `fcr_status`: pending counts as unknown), its embedded surveys and complaints |
//! | sampling | `SurveysRecorded` | the survey (the latest answer replaces the earlier one) |
//! | sampling | `FeedbackRecorded` | complaints only (compliments and suggestions are not figures) |
//! | sampling | `FcrVoided` | the FCR void |
//! | sampling | `SettingsChanged` | the tenant's time zone |
//! | scoring | every evaluation event | the snapshot's latest revision; self-evaluations and drafts do not count |
//! | calibration | — | followed for its cursor and lag; no figure depends on it |
//!
//! An interaction counts as *handled* when it was not abandoned and has an
//! agent; abandoned when sampling says so; anything else is volume only.

use chrono_tz::Tz;
use earshot_kit::auth::Tenant;
use earshot_proto::common::v1 as common;
use earshot_proto::sampling::v1 as sampling;
use earshot_proto::scoring::v1 as scoring;
use prost_types::{Duration, Timestamp};

use crate::dimension::Channel;
use crate::facts::{
    Complaint, Direction, Disposition, EvaluationFact, InteractionContext, InteractionFact,
    QuestionOutcome, QuestionResult, Resolution, Score, SurveyFact,
};
use crate::store::{Change, FactChange};

/// One event, decoded.
#[derive(Debug, Clone, Default)]
pub struct Decoded {
    /// Its sequence.
    pub sequence: i64,
    /// When it occurred (epoch ms).
    pub occurred_ms: i64,
    /// The fact changes it carries.
    pub changes: Vec<FactChange>,
    /// A time zone it announces.
    pub time_zone: Option<(Tenant, Tz)>,
}

fn ms(t: Option<&Timestamp>) -> i64 {
    t.map_or(0, |t| {
        t.seconds
            .saturating_mul(1000)
            .saturating_add(i64::from(t.nanos) / 1_000_000)
    })
}

fn dur_ms(d: Option<&Duration>) -> i64 {
    d.map_or(0, |d| {
        d.seconds
            .saturating_mul(1000)
            .saturating_add(i64::from(d.nanos) / 1_000_000)
    })
}

/// The domain channel of a contract channel; `None` when unspecified.
pub fn channel(code: i32) -> Option<Channel> {
    Some(match common::Channel::try_from(code).ok()? {
        common::Channel::Voice => Channel::Voice,
        common::Channel::Chat => Channel::Chat,
        common::Channel::Email => Channel::Email,
        common::Channel::Social => Channel::Social,
        common::Channel::Messaging => Channel::Messaging,
        common::Channel::Video => Channel::Video,
        common::Channel::Unspecified => return None,
    })
}

fn direction(code: i32) -> Direction {
    match common::Direction::try_from(code) {
        Ok(common::Direction::Inbound) => Direction::Inbound,
        Ok(common::Direction::Outbound) => Direction::Outbound,
        Ok(common::Direction::Internal) => Direction::Internal,
        _ => Direction::Unknown,
    }
}

fn change(tenant: &Tenant, interaction_id: &str, change: Change) -> FactChange {
    FactChange {
        tenant: tenant.clone(),
        interaction_id: interaction_id.to_owned(),
        change,
    }
}

fn survey(s: &sampling::SurveyResponse) -> SurveyFact {
    SurveyFact {
        sent: true,
        csat: s
            .csat
            .and_then(|c| u8::try_from(c).ok())
            .filter(|c| (1..=5).contains(c)),
        nps: s
            .nps
            .and_then(|n| u8::try_from(n).ok())
            .filter(|n| *n <= 10),
    }
}

fn complaint(f: &sampling::Feedback) -> Option<Complaint> {
    (f.kind == sampling::FeedbackKind::Complaint as i32).then(|| Complaint {
        complaint_id: f.feedback_id.clone(),
        category: crate::facts::normalise_category(&f.category),
        resolved: f.resolved,
    })
}

/// The interaction fact of a sampling interaction; `None` when it cannot
/// be placed (no channel) or fails validation.
pub fn interaction(i: &sampling::Interaction) -> Option<InteractionFact> {
    let context = InteractionContext {
        start_ms: ms(i.arrived_time.as_ref()),
        channel: channel(i.channel)?,
        agent_id: i.agent_id.clone(),
        team_id: i.team_id.clone(),
        queue_id: i.queue_id.clone(),
    };
    let disposition = if i.abandoned {
        Disposition::Abandoned
    } else if !i.agent_id.is_empty() {
        Disposition::Handled
    } else {
        Disposition::Other
    };
    let resolution = match sampling::FcrStatus::try_from(i.fcr_status) {
        Ok(sampling::FcrStatus::Resolved) => Resolution::Resolved,
        Ok(sampling::FcrStatus::NotResolved) => Resolution::NotResolved,
        _ => Resolution::Unknown,
    };
    let fact = InteractionFact {
        context,
        direction: direction(i.direction),
        disposition,
        wait_ms: dur_ms(i.wait_duration.as_ref()),
        talk_ms: dur_ms(i.talk_duration.as_ref()),
        hold_ms: dur_ms(i.hold_duration.as_ref()),
        after_call_work_ms: dur_ms(i.after_call_work_duration.as_ref()),
        transferred: i.transferred,
        resolution,
    };
    fact.validate().ok().map(|()| fact)
}

fn rejected(outcome: i32) -> bool {
    matches!(
        sampling::IngestOutcome::try_from(outcome),
        Ok(sampling::IngestOutcome::Rejected | sampling::IngestOutcome::Stale)
    )
}

/// Decodes a sampling event.
pub fn sampling_event(e: &sampling::Event) -> Decoded {
    use sampling::event::Payload;
    let tenant = Tenant::trusted(&e.tenant_id);
    let mut out = Decoded {
        sequence: e.sequence,
        occurred_ms: ms(e.occurred_time.as_ref()),
        ..Decoded::default()
    };
    let Some(p) = &e.payload else { return out };
    match p {
        Payload::InteractionsUpserted(u) => {
            for up in &u.upserts {
                let Some(i) = &up.interaction else { continue };
                if rejected(up.outcome) {
                    continue;
                }
                let Some(fact) = interaction(i) else {
                    tracing::warn!(interaction = %i.id, "interaction event skipped: cannot be placed");
                    continue;
                };
                out.changes
                    .push(change(&tenant, &i.id, Change::Interaction(fact)));
                if let Some(s) = i.surveys.last() {
                    out.changes
                        .push(change(&tenant, &i.id, Change::Survey(survey(s))));
                }
                for f in &i.feedback {
                    if let Some(c) = complaint(f) {
                        out.changes
                            .push(change(&tenant, &i.id, Change::Complaint(c)));
                    }
                }
            }
        }
        Payload::SurveysRecorded(s) => {
            for r in &s.records {
                let Some(sv) = &r.survey else { continue };
                if rejected(r.outcome) {
                    continue;
                }
                out.changes.push(change(
                    &tenant,
                    &sv.interaction_id,
                    Change::Survey(survey(sv)),
                ));
            }
        }
        Payload::FeedbackRecorded(f) => {
            for r in &f.records {
                let Some(fb) = &r.feedback else { continue };
                if rejected(r.outcome) {
                    continue;
                }
                if let Some(c) = complaint(fb) {
                    out.changes
                        .push(change(&tenant, &fb.interaction_id, Change::Complaint(c)));
                }
            }
        }
        Payload::FcrVoided(v) => {
            for void in &v.voids {
                if let Some(d) = &void.interaction {
                    out.changes
                        .push(change(&tenant, &d.interaction_id, Change::FcrVoided));
                }
            }
        }
        Payload::SettingsChanged(s) => {
            if let Some(tz) = s
                .settings
                .as_ref()
                .and_then(|s| s.time_zone.parse::<Tz>().ok())
            {
                out.time_zone = Some((tenant, tz));
            }
        }
        _ => {}
    }
    out
}

/// The evaluation fact of a snapshot; `None` when it does not count (a
/// draft, a self-evaluation) or cannot be placed.
pub fn evaluation(s: &scoring::EvaluationSnapshot) -> Option<EvaluationFact> {
    use scoring::{EvaluationKind as K, EvaluationState as S};
    let kind = K::try_from(s.kind).ok()?;
    if matches!(kind, K::Self_ | K::Unspecified) {
        return None;
    }
    let state = S::try_from(s.state).ok()?;
    if matches!(state, S::Unspecified | S::Draft) {
        return None;
    }
    let released = matches!(
        state,
        S::Released | S::Acknowledged | S::Disputed | S::Resolved
    );
    let questions = s
        .questions
        .iter()
        .filter_map(|q| {
            let outcome = match scoring::QuestionStatus::try_from(q.status).ok()? {
                scoring::QuestionStatus::Answered if q.failed => QuestionOutcome::Failed,
                scoring::QuestionStatus::Answered => QuestionOutcome::Passed,
                scoring::QuestionStatus::NotApplicable | scoring::QuestionStatus::Hidden => {
                    QuestionOutcome::NotApplicable
                }
                _ => return None,
            };
            Some(QuestionResult {
                question_id: q.question_id.clone(),
                outcome,
            })
        })
        .collect();
    let score = if s.total_score.is_finite() {
        Score::from_hundredths((s.total_score * 100.0).round() as i64)
    } else {
        Score::from_hundredths(0)
    };
    let fact = EvaluationFact {
        evaluation_id: s.evaluation_id.clone(),
        context: InteractionContext {
            start_ms: ms(s.interaction_start_time.as_ref()),
            channel: channel(s.channel)?,
            agent_id: s.agent_id.clone(),
            team_id: s.team_id.clone(),
            queue_id: s.queue_id.clone(),
        },
        scorecard_id: s.scorecard_id.clone(),
        evaluator_id: s.evaluator_id.clone(),
        score,
        passed: s.passed,
        critical_failure: s.critical_failure,
        released,
        questions,
    };
    fact.validate().ok().map(|()| fact)
}

/// Decodes a scoring event.
pub fn scoring_event(e: &scoring::Event) -> Decoded {
    use scoring::event::Payload;
    let tenant = Tenant::trusted(&e.tenant_id);
    let mut out = Decoded {
        sequence: e.sequence,
        occurred_ms: ms(e.occurred_time.as_ref()),
        ..Decoded::default()
    };
    let snapshot = match &e.payload {
        Some(Payload::EvaluationSubmitted(x)) => x.evaluation.as_ref(),
        Some(Payload::EvaluationRevised(x)) => x.evaluation.as_ref(),
        Some(Payload::EvaluationReleased(x)) => x.evaluation.as_ref(),
        Some(Payload::EvaluationAcknowledged(x)) => x.evaluation.as_ref(),
        Some(Payload::EvaluationDisputed(x)) => x.evaluation.as_ref(),
        Some(Payload::EvaluationResolved(x)) => x.evaluation.as_ref(),
        _ => None,
    };
    if let Some(s) = snapshot
        && !s.interaction_id.is_empty()
    {
        let c = match evaluation(s) {
            Some(f) => Change::Evaluation(f),
            None => Change::EvaluationRemoved(s.evaluation_id.clone()),
        };
        out.changes.push(change(&tenant, &s.interaction_id, c));
    }
    out
}

/// Decodes a calibration event (sequence and time only).
pub fn calibration_event(e: &earshot_proto::calibration::v1::Event) -> Decoded {
    Decoded {
        sequence: e.sequence,
        occurred_ms: ms(e.occurred_time.as_ref()),
        ..Decoded::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn call() -> sampling::Interaction {
        sampling::Interaction {
            id: "i1".into(),
            channel: common::Channel::Voice as i32,
            direction: common::Direction::Inbound as i32,
            agent_id: "a1".into(),
            team_id: "t1".into(),
            arrived_time: Some(Timestamp {
                seconds: 1_767_225_600,
                nanos: 0,
            }),
            wait_duration: Some(Duration {
                seconds: 12,
                nanos: 500_000_000,
            }),
            fcr_status: sampling::FcrStatus::Pending as i32,
            ..Default::default()
        }
    }

    #[test]
    fn interactions_are_handled_abandoned_or_other() {
        let f = interaction(&call()).unwrap();
        assert_eq!(f.disposition, Disposition::Handled);
        assert_eq!(f.wait_ms, 12_500);
        assert_eq!(f.context.start_ms, 1_767_225_600_000);
        // Pending FCR is unknown until sampling decides.
        assert_eq!(f.resolution, Resolution::Unknown);
        let mut a = call();
        a.abandoned = true;
        a.agent_id.clear();
        assert_eq!(interaction(&a).unwrap().disposition, Disposition::Abandoned);
        let mut o = call();
        o.agent_id.clear();
        assert_eq!(interaction(&o).unwrap().disposition, Disposition::Other);
        // Without a channel it cannot be placed in a rollup.
        let mut n = call();
        n.channel = 0;
        assert!(interaction(&n).is_none());
    }

    #[test]
    fn only_submitted_non_self_evaluations_count() {
        let mut s = scoring::EvaluationSnapshot {
            evaluation_id: "e1".into(),
            kind: scoring::EvaluationKind::AdHoc as i32,
            state: scoring::EvaluationState::Released as i32,
            scorecard_id: "sc".into(),
            interaction_id: "i1".into(),
            agent_id: "a1".into(),
            channel: common::Channel::Chat as i32,
            evaluator_id: "ev".into(),
            total_score: 87.456,
            passed: true,
            questions: vec![
                scoring::QuestionResult {
                    question_id: "q1".into(),
                    status: scoring::QuestionStatus::Answered as i32,
                    failed: true,
                    ..Default::default()
                },
                scoring::QuestionResult {
                    question_id: "q2".into(),
                    status: scoring::QuestionStatus::Hidden as i32,
                    ..Default::default()
                },
                scoring::QuestionResult {
                    question_id: "q3".into(),
                    status: scoring::QuestionStatus::Unanswered as i32,
                    ..Default::default()
                },
            ],
            ..Default::default()
        };
        let e = evaluation(&s).unwrap();
        assert!(e.released);
        assert_eq!(e.score.hundredths(), 8746);
        assert_eq!(
            e.questions
                .iter()
                .map(|q| (q.question_id.as_str(), q.outcome))
                .collect::<Vec<_>>(),
            [
                ("q1", QuestionOutcome::Failed),
                ("q2", QuestionOutcome::NotApplicable)
            ]
        );
        s.kind = scoring::EvaluationKind::Self_ as i32;
        assert!(evaluation(&s).is_none());
        s.kind = scoring::EvaluationKind::Assigned as i32;
        s.state = scoring::EvaluationState::Draft as i32;
        assert!(evaluation(&s).is_none());
        // A snapshot that no longer counts removes the evaluation.
        let ev = scoring::Event {
            sequence: 7,
            tenant_id: "acme".into(),
            payload: Some(scoring::event::Payload::EvaluationRevised(
                scoring::EvaluationRevised {
                    evaluation: Some(s),
                    ..Default::default()
                },
            )),
            ..Default::default()
        };
        let d = scoring_event(&ev);
        assert_eq!(d.sequence, 7);
        assert_eq!(d.changes[0].change, Change::EvaluationRemoved("e1".into()));
    }
}
