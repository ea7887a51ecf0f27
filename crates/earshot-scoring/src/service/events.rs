//! Change-feed events: built from the state just written, encoded, and
//! appended in the same transaction (`earshot_kit::feed::append`).
//!
//! Events are fat: every evaluation event carries the whole current revision
//! with its per-question results and the interaction's dimensions, so
//! reporting applies it by key without calling back.

use earshot_kit::feed::NewEvent;
use earshot_proto::common::v1 as common;
use earshot_proto::prost::Message as _;
use earshot_proto::scoring::v1 as pb;
use pb::event::Payload;

use super::convert;
use crate::scorecard::{QuestionKind, ScorecardDefinition};

/// An event ready to append.
pub fn new_event(payload: Payload, occurred_at: i64) -> NewEvent {
    let event_type = match &payload {
        Payload::EvaluationSubmitted(_) => "evaluation.submitted",
        Payload::EvaluationRevised(_) => "evaluation.revised",
        Payload::EvaluationReleased(_) => "evaluation.released",
        Payload::EvaluationAcknowledged(_) => "evaluation.acknowledged",
        Payload::EvaluationDisputed(_) => "evaluation.disputed",
        Payload::EvaluationResolved(_) => "evaluation.resolved",
        Payload::ScorecardPublished(_) => "scorecard.published",
        Payload::ScorecardArchived(_) => "scorecard.archived",
    };
    let event = pb::Event {
        sequence: 0,
        tenant_id: String::new(),
        occurred_time: None,
        payload: Some(payload),
    };
    NewEvent {
        event_type,
        payload: event.encode_to_vec(),
        occurred_at,
    }
}

/// The snapshot of an evaluation's current state (unredacted: feed readers
/// are the system and admins).
pub fn snapshot(e: &pb::Evaluation) -> pb::EvaluationSnapshot {
    let i = e.interaction.clone().unwrap_or_default();
    let r = e.result.clone().unwrap_or_default();
    pb::EvaluationSnapshot {
        evaluation_id: e.id.clone(),
        kind: e.kind,
        state: e.state,
        scorecard_id: e.scorecard_id.clone(),
        scorecard_version: e.scorecard_version,
        interaction_id: i.interaction_id,
        agent_id: i.agent_id,
        team_id: i.team_id,
        queue_id: i.queue_id,
        channel: i.channel,
        direction: i.direction,
        interaction_start_time: i.start_time,
        handle_duration: i.handle_duration,
        evaluator_id: e.evaluator_id.clone(),
        assignment_id: e.assignment_id.clone(),
        revision: e.revision,
        total_score: r.total_score,
        total_scored: r.total_scored,
        critical_score: r.critical_score,
        critical_scored: r.critical_scored,
        non_critical_score: r.non_critical_score,
        non_critical_scored: r.non_critical_scored,
        passed: r.passed,
        critical_failure: !r.critical_failures.is_empty(),
        band: r.band,
        sections: r.sections,
        questions: r.questions,
        critical_failures: r.critical_failures,
        submit_time: e.submit_time,
        release_time: e.release_time,
        scoring_method: r.scoring_method,
    }
}

/// A version was published.
pub fn published(
    scorecard_id: &str,
    version: i32,
    d: &ScorecardDefinition,
    actor: common::Actor,
) -> Payload {
    Payload::ScorecardPublished(pb::ScorecardPublished {
        scorecard_id: scorecard_id.to_owned(),
        version,
        name: d.name.clone(),
        scoring_method: convert::scoring_method_out(d.scoring_method) as i32,
        pass_mark: d.pass_mark,
        sections: d
            .sections
            .iter()
            .map(|s| pb::PublishedSection {
                id: s.id.clone(),
                title: s.title.clone(),
                weight: s.weight,
                questions: s
                    .questions
                    .iter()
                    .map(|q| pb::PublishedQuestion {
                        id: q.id.clone(),
                        text: q.text.clone(),
                        kind: match q.kind {
                            Some(QuestionKind::YesNo { .. }) => pb::QuestionKind::YesNo,
                            Some(QuestionKind::Scale { .. }) => pb::QuestionKind::Scale,
                            Some(QuestionKind::Choice { .. }) => pb::QuestionKind::Choice,
                            None => pb::QuestionKind::Unspecified,
                        } as i32,
                        critical: q.critical,
                        on_failure: convert::consequence_out(q.on_failure) as i32,
                        weight: q.weight,
                    })
                    .collect(),
            })
            .collect(),
        actor: Some(actor),
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn events_encode_with_their_type() {
        let e = new_event(
            Payload::ScorecardArchived(pb::ScorecardArchived {
                scorecard_id: "s".into(),
                actor: None,
            }),
            5,
        );
        assert_eq!(e.event_type, "scorecard.archived");
        let back = pb::Event::decode(e.payload.as_slice()).unwrap();
        assert!(matches!(back.payload, Some(Payload::ScorecardArchived(_))));
    }

    #[test]
    fn snapshots_carry_the_interaction_and_the_result() {
        let e = pb::Evaluation {
            id: "e".into(),
            revision: 2,
            interaction: Some(pb::InteractionSummary {
                agent_id: "a".into(),
                team_id: "t".into(),
                ..Default::default()
            }),
            result: Some(pb::ScoreResult {
                total_score: 80.0,
                total_scored: true,
                critical_failures: vec![pb::CriticalFailure::default()],
                ..Default::default()
            }),
            ..Default::default()
        };
        let s = snapshot(&e);
        assert_eq!((s.agent_id.as_str(), s.team_id.as_str()), ("a", "t"));
        assert_eq!(s.revision, 2);
        assert!(s.total_scored && s.critical_failure);
        assert_eq!(s.total_score, 80.0);
    }
}
