//! The whole calibration flow through the real suite, on SQLite and
//! PostgreSQL: evaluators and interactions in sampling, a published
//! scorecard in scoring, then a calibration session whose interactions come
//! from sampling (chosen and drawn), whose participants are checked against
//! sampling's evaluator directory, and whose responses scoring scores.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use earshot_kit::{auth::Role, config::ServiceKind};
use earshot_proto::calibration::v1::{
    self as pb, calibration_service_client::CalibrationServiceClient,
};
use earshot_proto::common::v1::{self as common, Answer, answer};
use earshot_proto::sampling::v1::{
    self as sampling, sampling_service_client::SamplingServiceClient,
};
use earshot_proto::scoring::v1::{self as scoring, scoring_service_client::ScoringServiceClient};
use earshot_tests::{TestEngine, TestSuite};
use tonic::Code;

fn ts(ms: i64) -> prost_types::Timestamp {
    earshot_kit::time::from_millis(ms)
}

fn definition() -> scoring::ScorecardDefinition {
    use scoring::question::Kind;
    let q = |id: &str, kind: Kind, na: bool| scoring::Question {
        id: id.into(),
        text: format!("Question {id}"),
        kind: Some(kind),
        not_applicable_allowed: na,
        ..Default::default()
    };
    scoring::ScorecardDefinition {
        name: "Calls".into(),
        pass_mark: 80.0,
        sections: vec![scoring::Section {
            id: "basics".into(),
            title: "Basics".into(),
            questions: vec![
                q(
                    "greet",
                    Kind::YesNo(scoring::YesNoQuestion::default()),
                    false,
                ),
                q(
                    "tone",
                    Kind::Scale(scoring::ScaleQuestion {
                        min: 1,
                        max: 5,
                        pass_from: Some(3),
                    }),
                    true,
                ),
                q(
                    "outcome",
                    Kind::Choice(scoring::ChoiceQuestion {
                        options: vec![
                            scoring::ChoiceOption {
                                id: "solved".into(),
                                label: "Solved".into(),
                                points: Some(1.0),
                            },
                            scoring::ChoiceOption {
                                id: "escalated".into(),
                                label: "Escalated".into(),
                                points: Some(0.0),
                            },
                        ],
                    }),
                    false,
                ),
            ],
            ..Default::default()
        }],
        ..Default::default()
    }
}

fn answers(greet: bool, tone: i32, solved: bool) -> Vec<Answer> {
    let a = |q: &str, v: answer::Value| Answer {
        question_id: q.into(),
        value: Some(v),
        comment: String::new(),
    };
    vec![
        a("greet", answer::Value::Yes(greet)),
        a("tone", answer::Value::ScaleValue(tone)),
        a(
            "outcome",
            answer::Value::OptionId(if solved { "solved" } else { "escalated" }.into()),
        ),
    ]
}

#[tokio::test]
async fn calibration_runs_on_real_sampling_and_scoring() {
    for engine in TestEngine::available() {
        let suite = TestSuite::start(engine).await.unwrap();
        let admin = suite.token("acme", "maria", &[Role::Admin, Role::QaManager]);
        let mut sampling_client =
            SamplingServiceClient::new(suite.authed(ServiceKind::Sampling, &admin).await.unwrap());
        let mut scoring_client =
            ScoringServiceClient::new(suite.authed(ServiceKind::Scoring, &admin).await.unwrap());
        let mut mgr = CalibrationServiceClient::new(
            suite
                .authed(ServiceKind::Calibration, &admin)
                .await
                .unwrap(),
        );

        // Sampling: two evaluators and three interactions.
        for who in ["ann", "bob"] {
            let r = sampling_client
                .create_evaluator(sampling::CreateEvaluatorRequest {
                    evaluator: Some(sampling::Evaluator {
                        id: who.into(),
                        display_name: format!("Evaluator {who}"),
                        capacity_per_day: 20,
                        active: true,
                        ..Default::default()
                    }),
                    request_id: format!("ev-{who}"),
                })
                .await;
            r.unwrap();
        }
        let now = earshot_kit::time::now_millis();
        let start = now - 3 * 3_600_000;
        let interactions: Vec<sampling::Interaction> = (0..3)
            .map(|k| sampling::Interaction {
                id: format!("call-{k}"),
                channel: common::Channel::Voice as i32,
                agent_id: format!("agent-{k}"),
                team_id: "blue".into(),
                queue_id: "billing".into(),
                arrived_time: Some(ts(start + k * 60_000)),
                answered_time: Some(ts(start + k * 60_000 + 5_000)),
                ended_time: Some(ts(start + k * 60_000 + 300_000)),
                ..Default::default()
            })
            .collect();
        let ingested = sampling_client
            .batch_ingest_interactions(sampling::BatchIngestInteractionsRequest { interactions })
            .await
            .unwrap()
            .into_inner();
        assert!(
            ingested
                .results
                .iter()
                .all(|r| r.outcome == sampling::IngestOutcome::Created as i32),
            "{ingested:?}"
        );

        // Scoring: a published scorecard.
        let card = scoring_client
            .create_scorecard(scoring::CreateScorecardRequest {
                request_id: "card-1".into(),
                definition: Some(definition()),
            })
            .await
            .unwrap()
            .into_inner()
            .scorecard
            .unwrap();
        let published = scoring_client
            .publish_scorecard(scoring::PublishScorecardRequest {
                scorecard_id: card.id.clone(),
                etag: card.etag.clone(),
                change_note: "first".into(),
                request_id: "pub-1".into(),
            })
            .await
            .unwrap()
            .into_inner()
            .version
            .unwrap();

        // Calibration: a blind session over chosen interactions.
        let session = mgr
            .create_session(pb::CreateSessionRequest {
                request_id: "flow-1".into(),
                name: "Full flow".into(),
                scorecard_id: card.id.clone(),
                scorecard_version: published.version,
                mode: pb::SessionMode::Blind as i32,
                participant_ids: vec!["ann".into(), "bob".into()],
                interactions: Some(pb::create_session_request::Interactions::Chosen(
                    pb::InteractionList {
                        interaction_ids: vec!["call-0".into(), "call-1".into()],
                    },
                )),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .session
            .unwrap();
        assert_eq!(session.participants[0].display_name, "Evaluator ann");
        assert_eq!(session.interactions[1].agent_id, "agent-1");
        assert_eq!(session.interactions[1].team_id, "blue");
        // Unknown evaluators and interactions are refused by sampling's word.
        let refused = mgr
            .create_session(pb::CreateSessionRequest {
                request_id: "flow-x".into(),
                name: "Refused".into(),
                scorecard_id: card.id.clone(),
                scorecard_version: published.version,
                mode: pb::SessionMode::Blind as i32,
                participant_ids: vec!["ann".into(), "nobody".into()],
                interactions: Some(pb::create_session_request::Interactions::Chosen(
                    pb::InteractionList {
                        interaction_ids: vec!["call-0".into()],
                    },
                )),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::NotFound, "{refused:?}");

        // Responses scored by scoring.
        let ann_token = suite.token("acme", "ann", &[Role::Evaluator]);
        let bob_token = suite.token("acme", "bob", &[Role::Evaluator]);
        let mut ann = CalibrationServiceClient::new(
            suite
                .authed(ServiceKind::Calibration, &ann_token)
                .await
                .unwrap(),
        );
        let mut bob = CalibrationServiceClient::new(
            suite
                .authed(ServiceKind::Calibration, &bob_token)
                .await
                .unwrap(),
        );
        let submit = |i: &str, a: Vec<Answer>, key: &str| pb::SubmitResponseRequest {
            request_id: key.into(),
            session_id: session.session_id.clone(),
            interaction_id: i.into(),
            answers: a,
            ..Default::default()
        };
        let r = ann
            .submit_response(submit("call-0", answers(true, 5, true), "a0"))
            .await
            .unwrap()
            .into_inner()
            .response
            .unwrap();
        let score = r.score.unwrap();
        assert!(score.total_scored);
        assert!((score.total_score - 100.0).abs() < 1e-9, "{score:?}");
        let expected = scoring_client
            .score_answers(scoring::ScoreAnswersRequest {
                scorecard: Some(scoring::score_answers_request::Scorecard::Version(
                    scoring::ScorecardVersionRef {
                        scorecard_id: card.id.clone(),
                        version: published.version,
                    },
                )),
                answers: answers(false, 3, true),
            })
            .await
            .unwrap()
            .into_inner()
            .result
            .unwrap()
            .total_score;
        let b = bob
            .submit_response(submit("call-0", answers(false, 3, true), "b0"))
            .await
            .unwrap()
            .into_inner()
            .response
            .unwrap();
        assert!((b.score.unwrap().total_score - expected).abs() < 1e-9);
        bob.submit_response(submit("call-1", answers(true, 4, false), "b1"))
            .await
            .unwrap();
        // An answer scoring refuses (a scale value out of range) is a field error.
        let bad = ann
            .submit_response(submit("call-1", answers(true, 9, true), "a1"))
            .await
            .unwrap_err();
        assert_eq!(bad.code(), Code::InvalidArgument);

        let current = mgr
            .get_session(pb::GetSessionRequest {
                session_id: session.session_id.clone(),
            })
            .await
            .unwrap()
            .into_inner()
            .session
            .unwrap();
        let closed = mgr
            .close_session(pb::CloseSessionRequest {
                session_id: session.session_id.clone(),
                etag: current.etag.clone(),
            })
            .await
            .unwrap()
            .into_inner();
        let results = closed.results.unwrap();
        let i0 = &results.interactions[0];
        let reference = i0.reference.as_ref().unwrap().total_score.unwrap();
        assert!((reference - (100.0 + expected) / 2.0).abs() < 1e-9);
        assert_eq!(
            results.interactions[1].scores[0].status,
            pb::ResponseStatus::Missing as i32
        );

        // A drawn session: sampling picks from what was ingested, leaving out
        // interactions already calibrated.
        let drawn = mgr
            .create_session(pb::CreateSessionRequest {
                request_id: "flow-2".into(),
                name: "Drawn".into(),
                scorecard_id: card.id.clone(),
                scorecard_version: published.version,
                mode: pb::SessionMode::Blind as i32,
                participant_ids: vec!["ann".into(), "bob".into()],
                interactions: Some(pb::create_session_request::Interactions::Draw(
                    pb::InteractionDraw {
                        criteria: Some(pb::InteractionCriteria {
                            time_range: Some(common::TimeRange {
                                start_time: Some(ts(start - 3_600_000)),
                                end_time: Some(ts(now)),
                            }),
                            exclude_calibrated: true,
                            ..Default::default()
                        }),
                        count: 1,
                        seed: 7,
                    },
                )),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .session
            .unwrap();
        let ids: Vec<&str> = drawn
            .interactions
            .iter()
            .map(|i| i.interaction_id.as_str())
            .collect();
        assert_eq!(ids, ["call-2"]);
        suite.stop().await.unwrap();
    }
}
