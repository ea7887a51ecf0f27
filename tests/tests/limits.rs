//! Limits over real gRPC, on SQLite and PostgreSQL: each one is refused
//! with an error that names it, and changes nothing.
//!
//! - message size (`server.max_message_bytes`): `RESOURCE_EXHAUSTED`;
//! - batch size (ingest, surveys, feedback: 5,000 items): `INVALID_ARGUMENT`;
//! - page size: negative is `INVALID_ARGUMENT`, above the maximum is
//!   clamped (as AIP-158 asks), never an error;
//! - scorecard size (sections, questions, options): `INVALID_ARGUMENT`;
//! - interaction attributes (count, key, value, total size): the item is
//!   rejected with a violation naming the attribute, the batch goes on;
//! - per-tenant request rate (`server.tenant_rate_per_second`,
//!   `server.tenant_burst`): `RESOURCE_EXHAUSTED` with a retry delay; other
//!   tenants, the `service` role and health checks are not limited.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use earshot_kit::{auth::Role, time::from_millis};
use earshot_proto::calibration::v1 as calibration;
use earshot_proto::common::v1 as common;
use earshot_proto::sampling::v1 as sampling;
use earshot_proto::scoring::v1 as scoring;
use earshot_tests::{TestEngine, TestSuite};
use tonic::Code;
use tonic_types::StatusExt as _;

fn interaction(id: &str) -> sampling::Interaction {
    let t = earshot_kit::time::now_millis() - 3_600_000;
    sampling::Interaction {
        id: id.into(),
        channel: common::Channel::Voice as i32,
        agent_id: "agent-1".into(),
        team_id: "blue".into(),
        queue_id: "billing".into(),
        arrived_time: Some(from_millis(t)),
        answered_time: Some(from_millis(t + 5_000)),
        ended_time: Some(from_millis(t + 300_000)),
        ..Default::default()
    }
}

fn bad_fields(s: &tonic::Status) -> Vec<String> {
    s.get_error_details()
        .bad_request()
        .map(|b| b.field_violations.iter().map(|v| v.field.clone()).collect())
        .unwrap_or_default()
}

fn refused<T: std::fmt::Debug>(
    r: Result<T, tonic::Status>,
    code: Code,
    what: &str,
) -> tonic::Status {
    match r {
        Ok(v) => panic!("{what}: expected {code:?}, got {v:?}"),
        Err(s) => {
            assert_eq!(s.code(), code, "{what}: {}", s.message());
            s
        }
    }
}

/// How many interactions tenant `acme` has (to prove a refusal changed
/// nothing).
async fn interaction_count(suite: &TestSuite) -> usize {
    let mut admin = suite
        .sampling(&suite.token("acme", "root", &[Role::Admin]))
        .await
        .unwrap();
    admin
        .list_interactions(sampling::ListInteractionsRequest {
            page_size: 1000,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .interactions
        .len()
}

#[tokio::test]
async fn message_size_is_resource_exhausted_naming_the_setting() {
    for engine in TestEngine::available() {
        let suite = TestSuite::start_with(engine, |c| c.server.max_message_bytes = 64 * 1024)
            .await
            .unwrap();
        let acd = suite.token("acme", "acd", &[Role::Integration]);
        let qa = suite.token("acme", "quinn", &[Role::QaManager]);
        let mut sampling_client = suite.sampling(&acd).await.unwrap();
        let mut big = interaction("big-1");
        big.disposition = "x".repeat(70 * 1024);
        let s = refused(
            sampling_client
                .batch_ingest_interactions(sampling::BatchIngestInteractionsRequest {
                    interactions: vec![big.clone()],
                })
                .await,
            Code::ResourceExhausted,
            "a 70 KiB batch",
        );
        assert!(
            s.message().contains("server.max_message_bytes is 65536"),
            "{engine:?}: {}",
            s.message()
        );
        // The stream form: the oversized message ends the stream the same
        // way (in its trailers).
        let mut answers = sampling_client
            .ingest_interactions(tokio_stream::iter(vec![
                sampling::IngestInteractionsRequest {
                    batch_id: "b1".into(),
                    interactions: vec![big],
                },
            ]))
            .await
            .unwrap()
            .into_inner();
        let s = refused(
            answers.message().await,
            Code::ResourceExhausted,
            "a 70 KiB stream message",
        );
        assert!(
            s.message().contains("server.max_message_bytes is 65536"),
            "{}",
            s.message()
        );
        assert_eq!(interaction_count(&suite).await, 0, "nothing was ingested");

        let mut scoring_client = suite.scoring(&qa).await.unwrap();
        let s = refused(
            scoring_client
                .import_scorecard(scoring::ImportScorecardRequest {
                    request_id: "big".into(),
                    format: scoring::ScorecardFormat::EarshotYaml as i32,
                    content: vec![b' '; 70 * 1024],
                    ..Default::default()
                })
                .await,
            Code::ResourceExhausted,
            "a 70 KiB scorecard document",
        );
        assert!(
            s.message().contains("server.max_message_bytes"),
            "{}",
            s.message()
        );
        // Just under the limit is decoded and judged on its content.
        let s = refused(
            scoring_client
                .import_scorecard(scoring::ImportScorecardRequest {
                    request_id: "small".into(),
                    format: scoring::ScorecardFormat::EarshotYaml as i32,
                    content: vec![b' '; 60 * 1024],
                    ..Default::default()
                })
                .await,
            Code::InvalidArgument,
            "a 60 KiB blank document",
        );
        assert!(
            !s.message().contains("max_message_bytes"),
            "{}",
            s.message()
        );
        suite.stop().await.unwrap();
    }
}

#[tokio::test]
async fn batch_page_scorecard_and_attribute_limits_name_the_field() {
    for engine in TestEngine::available() {
        let suite = TestSuite::start(engine).await.unwrap();
        let acd = suite.token("acme", "acd", &[Role::Integration]);
        let admin = suite.token("acme", "root", &[Role::Admin]);
        let mut s = suite.sampling(&acd).await.unwrap();

        // Batches: 5,000 items at most, the whole batch refused above.
        let many: Vec<_> = (0..5001).map(|i| interaction(&format!("c-{i}"))).collect();
        let e = refused(
            s.batch_ingest_interactions(sampling::BatchIngestInteractionsRequest {
                interactions: many,
            })
            .await,
            Code::InvalidArgument,
            "5,001 interactions",
        );
        assert_eq!(bad_fields(&e), ["interactions"], "{engine:?}");
        assert!(e.message().contains("5000"), "{}", e.message());
        let e = refused(
            s.record_survey_responses(sampling::RecordSurveyResponsesRequest {
                responses: vec![sampling::SurveyResponse::default(); 5001],
            })
            .await,
            Code::InvalidArgument,
            "5,001 survey responses",
        );
        assert_eq!(bad_fields(&e), ["responses"]);
        let e = refused(
            s.record_feedback(sampling::RecordFeedbackRequest {
                feedback: vec![sampling::Feedback::default(); 5001],
            })
            .await,
            Code::InvalidArgument,
            "5,001 feedback items",
        );
        assert_eq!(bad_fields(&e), ["feedback"]);
        assert_eq!(interaction_count(&suite).await, 0);

        // Attributes: the item is rejected naming the attribute; the rest
        // of the batch is ingested.
        let mut too_many = interaction("attr-count");
        too_many.attributes = (0..65).map(|i| (format!("k{i}"), "v".into())).collect();
        let mut long_value = interaction("attr-value");
        long_value.attributes = [("note".to_owned(), "v".repeat(1025))].into();
        let mut long_key = interaction("attr-key");
        long_key.attributes = [("k".repeat(65), "v".into())].into();
        let mut too_big = interaction("attr-bytes");
        too_big.attributes = (0..20)
            .map(|i| (format!("k{i}"), "v".repeat(1000)))
            .collect();
        let r = s
            .batch_ingest_interactions(sampling::BatchIngestInteractionsRequest {
                interactions: vec![too_many, long_value, long_key, too_big, interaction("fine")],
            })
            .await
            .unwrap()
            .into_inner();
        let rejected = sampling::IngestOutcome::Rejected as i32;
        let outcomes: Vec<i32> = r.results.iter().map(|x| x.outcome).collect();
        assert_eq!(
            outcomes,
            [
                rejected,
                rejected,
                rejected,
                rejected,
                sampling::IngestOutcome::Created as i32
            ],
            "{engine:?}: {r:?}"
        );
        for (i, want) in ["at most 64 entries", "1024", "", "16 KiB"]
            .iter()
            .enumerate()
        {
            let v = &r.results[i].violations;
            assert!(
                v.iter()
                    .any(|v| v.field.starts_with("attributes") && v.description.contains(want)),
                "item {i}: {v:?}"
            );
        }
        assert_eq!(interaction_count(&suite).await, 1);

        // Page sizes: negative is refused naming page_size; above the
        // maximum is clamped.
        let mut sa = suite.sampling(&admin).await.unwrap();
        let e = refused(
            sa.list_interactions(sampling::ListInteractionsRequest {
                page_size: -1,
                ..Default::default()
            })
            .await,
            Code::InvalidArgument,
            "negative page size",
        );
        assert_eq!(bad_fields(&e), ["page_size"]);
        sa.list_interactions(sampling::ListInteractionsRequest {
            page_size: i32::MAX,
            ..Default::default()
        })
        .await
        .unwrap();
        let mut sc = suite.scoring(&admin).await.unwrap();
        let e = refused(
            sc.list_scorecards(scoring::ListScorecardsRequest {
                page_size: -5,
                ..Default::default()
            })
            .await,
            Code::InvalidArgument,
            "negative scorecard page size",
        );
        assert_eq!(bad_fields(&e), ["page_size"]);
        let mut ca = suite.calibration(&admin).await.unwrap();
        let e = refused(
            ca.list_sessions(calibration::ListSessionsRequest {
                page_size: -5,
                ..Default::default()
            })
            .await,
            Code::InvalidArgument,
            "negative session page size",
        );
        assert_eq!(bad_fields(&e), ["page_size"]);

        // Scorecards: 100 sections, 500 questions, 50 options at most.
        let question = |id: String, options: usize| scoring::Question {
            id: id.clone(),
            text: format!("Question {id}"),
            kind: Some(if options == 0 {
                scoring::question::Kind::YesNo(scoring::YesNoQuestion::default())
            } else {
                scoring::question::Kind::Choice(scoring::ChoiceQuestion {
                    options: (0..options)
                        .map(|o| scoring::ChoiceOption {
                            id: format!("o{o}"),
                            label: format!("Option {o}"),
                            points: Some(1.0),
                        })
                        .collect(),
                })
            }),
            ..Default::default()
        };
        let card =
            |sections: usize, per_section: usize, options: usize| scoring::ScorecardDefinition {
                name: "Big".into(),
                pass_mark: 80.0,
                sections: (0..sections)
                    .map(|s| scoring::Section {
                        id: format!("s{s}"),
                        title: format!("Section {s}"),
                        questions: (0..per_section)
                            .map(|q| question(format!("q{s}-{q}"), options))
                            .collect(),
                        ..Default::default()
                    })
                    .collect(),
                ..Default::default()
            };
        for (what, definition, field, text) in [
            (
                "101 sections",
                card(101, 1, 0),
                "definition.sections",
                "at most 100 sections",
            ),
            (
                "501 questions",
                card(5, 101, 0),
                "definition.sections",
                "at most 500 questions",
            ),
            (
                "51 options",
                card(1, 1, 51),
                "definition.sections[0].questions[0].choice.options",
                "at most 50 options",
            ),
        ] {
            let e = refused(
                sc.create_scorecard(scoring::CreateScorecardRequest {
                    request_id: what.into(),
                    definition: Some(definition),
                })
                .await,
                Code::InvalidArgument,
                what,
            );
            let fields = bad_fields(&e);
            assert!(fields.iter().any(|f| f == field), "{what}: {fields:?}");
            assert!(e.message().contains(text), "{what}: {}", e.message());
        }
        // The largest allowed card is accepted.
        sc.create_scorecard(scoring::CreateScorecardRequest {
            request_id: "largest".into(),
            definition: Some(card(100, 5, 50)),
        })
        .await
        .unwrap();
        let listed = sc
            .list_scorecards(scoring::ListScorecardsRequest::default())
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            listed.scorecards.len(),
            1,
            "only the valid card was created"
        );
        suite.stop().await.unwrap();
    }
}

#[tokio::test]
async fn tenant_rate_limit_refuses_with_a_retry_delay() {
    for engine in TestEngine::available() {
        let suite = TestSuite::start_with(engine, |c| {
            c.server.tenant_rate_per_second = 1.0;
            c.server.tenant_burst = 3;
        })
        .await
        .unwrap();
        let get = sampling::GetSettingsRequest::default;
        // Every client first, so the calls below follow each other closely
        // (one token flows in per second).
        let mut acme = suite
            .sampling(&suite.token("acme", "root", &[Role::Admin]))
            .await
            .unwrap();
        let mut acme_agent = suite
            .sampling(&suite.token("acme", "agent-1", &[Role::Agent]))
            .await
            .unwrap();
        let mut globex = suite
            .sampling(&suite.token("globex", "root", &[Role::Admin]))
            .await
            .unwrap();
        let mut system = suite
            .sampling(&suite.token("acme", "earshot-system", &[Role::Service]))
            .await
            .unwrap();
        let channel = suite
            .channel(earshot_kit::config::ServiceKind::Sampling)
            .await
            .unwrap();
        let mut health = tonic_health::pb::health_client::HealthClient::new(channel);
        // Each service keeps its own buckets; within sampling the burst is 3.
        for i in 0..3 {
            acme.get_settings(get())
                .await
                .unwrap_or_else(|e| panic!("{engine:?} call {i} within the burst: {e:?}"));
        }
        let s = refused(
            acme.get_settings(get()).await,
            Code::ResourceExhausted,
            "4th call",
        );
        assert!(
            s.message().contains("server.tenant_rate_per_second"),
            "{}",
            s.message()
        );
        let retry = s
            .get_error_details()
            .retry_info()
            .and_then(|r| r.retry_delay)
            .expect("a retry delay");
        assert!(
            retry > Duration::ZERO && retry <= Duration::from_secs(1),
            "one token at 1/s is at most 1s away: {retry:?}"
        );
        // Another person of the same tenant shares its bucket.
        refused(
            acme_agent.get_settings(get()).await,
            Code::ResourceExhausted,
            "same tenant",
        );
        // Another tenant is not affected.
        globex.get_settings(get()).await.unwrap();
        // The service role and health checks are exempt.
        for _ in 0..10 {
            system.get_settings(get()).await.unwrap();
        }
        for _ in 0..10 {
            health
                .check(tonic_health::pb::HealthCheckRequest::default())
                .await
                .unwrap();
        }
        // After the advised delay the tenant is served again.
        tokio::time::sleep(retry + Duration::from_millis(20)).await;
        acme.get_settings(get()).await.unwrap();
        suite.stop().await.unwrap();
    }
}
