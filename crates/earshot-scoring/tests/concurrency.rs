//! Concurrent writers, on SQLite and PostgreSQL: optimistic concurrency and
//! idempotency hold when calls race, not only when they take turns.
//!
//! - eight submits of one draft with the same etag: exactly one wins, the
//!   rest are `ABORTED`, and exactly one revision and one feed event exist;
//! - eight creates with one request id: one evaluation, every caller gets it;
//! - eight publishes of one draft under different request ids: one version.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use earshot_kit::auth::Role;
use earshot_kit::testing::{self, Engine, TestStorage};
use earshot_proto::common::v1 as common;
use earshot_proto::scoring::v1::{self as pb, scoring_service_server::ScoringService};
use earshot_scoring::service::{ScoringApi, sampling::Sampling};
use earshot_scoring::store::Store;
use tokio_util::sync::CancellationToken;
use tonic::{Code, Request};

const CARD: &str = include_str!("fixtures/customer_care.yaml");
const RACERS: usize = 8;

fn req<T>(subject: &str, roles: &[Role], msg: T) -> Request<T> {
    let mut r = Request::new(msg);
    r.extensions_mut()
        .insert(testing::caller("acme", subject, roles));
    r
}

async fn api(engine: Engine) -> (Arc<ScoringApi>, TestStorage) {
    let storage = TestStorage::new(engine).await.unwrap();
    let db = storage
        .open("scoring", earshot_scoring::spec().migrations)
        .await
        .unwrap();
    // Nothing here calls sampling; a channel to nowhere is enough.
    let channel = tonic::transport::Endpoint::from_static("http://127.0.0.1:9").connect_lazy();
    let api = ScoringApi::new(
        Store::new(db),
        Sampling::new(channel),
        CancellationToken::new(),
    );
    (Arc::new(api), storage)
}

async fn draft_card(api: &ScoringApi) -> pb::Scorecard {
    api.import_scorecard(req(
        "quinn",
        &[Role::QaManager],
        pb::ImportScorecardRequest {
            request_id: "card".into(),
            format: pb::ScorecardFormat::EarshotYaml as i32,
            content: CARD.as_bytes().to_vec(),
            validate_only: false,
            pass_mark: None,
        },
    ))
    .await
    .unwrap()
    .into_inner()
    .scorecard
    .unwrap()
}

fn mystery(rid: &str, card: &str) -> pb::CreateEvaluationRequest {
    pb::CreateEvaluationRequest {
        request_id: rid.into(),
        origin: Some(pb::create_evaluation_request::Origin::MysteryShop(
            pb::MysteryShopOrigin {
                agent_id: "agent-7".into(),
                team_id: "blue".into(),
                channel: common::Channel::Voice as i32,
                start_time: Some(prost_types::Timestamp {
                    seconds: 1_767_225_600,
                    nanos: 0,
                }),
                ..Default::default()
            },
        )),
        scorecard: Some(pb::ScorecardVersionRef {
            scorecard_id: card.into(),
            version: 0,
        }),
    }
}

fn answers() -> Vec<common::Answer> {
    let yes = |q: &str, v: bool| common::Answer {
        question_id: q.into(),
        value: Some(common::answer::Value::Yes(v)),
        comment: String::new(),
    };
    vec![
        yes("greeted", true),
        yes("verified", true),
        common::Answer {
            question_id: "resolved".into(),
            value: Some(common::answer::Value::OptionId("fully".into())),
            comment: String::new(),
        },
        common::Answer {
            question_id: "empathy".into(),
            value: Some(common::answer::Value::ScaleValue(5)),
            comment: String::new(),
        },
        yes("disclosure", true),
        yes("interrupted", false),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_writers_keep_the_rules() {
    for engine in Engine::available() {
        let (api, _storage) = api(engine).await;
        let card = draft_card(&api).await;

        // Publishes under different request ids: one version.
        let mut tasks = Vec::new();
        for n in 0..RACERS {
            let api = api.clone();
            let card = card.clone();
            tasks.push(tokio::spawn(async move {
                api.publish_scorecard(req(
                    "quinn",
                    &[Role::QaManager],
                    pb::PublishScorecardRequest {
                        scorecard_id: card.id,
                        etag: card.etag,
                        change_note: String::new(),
                        request_id: format!("publish-{n}"),
                    },
                ))
                .await
                .map(|r| r.into_inner().version.unwrap().version)
            }));
        }
        let mut published = Vec::new();
        for t in tasks {
            match t.await.unwrap() {
                Ok(v) => published.push(v),
                Err(s) => assert_eq!(s.code(), Code::Aborted, "{engine:?}: {}", s.message()),
            }
        }
        assert_eq!(published, [1], "{engine:?}");

        // Creates with one request id: one evaluation.
        let mut tasks = Vec::new();
        for _ in 0..RACERS {
            let api = api.clone();
            let id = card.id.clone();
            tasks.push(tokio::spawn(async move {
                api.create_evaluation(req("eve", &[Role::Evaluator], mystery("same", &id)))
                    .await
                    .map(|r| r.into_inner().evaluation.unwrap())
            }));
        }
        let mut ids = Vec::new();
        let mut created = None;
        for t in tasks {
            match t.await.unwrap() {
                Ok(e) => {
                    ids.push(e.id.clone());
                    created = Some(e);
                }
                // A twin still in flight may ask for a retry; never a second
                // evaluation.
                Err(s) => assert_eq!(s.code(), Code::Aborted, "{engine:?}: {}", s.message()),
            }
        }
        ids.dedup();
        assert_eq!(ids.len(), 1, "{engine:?}: {ids:?}");
        let e = created.unwrap();
        let listed = api
            .list_evaluations(req(
                "quinn",
                &[Role::QaManager],
                pb::ListEvaluationsRequest::default(),
            ))
            .await
            .unwrap()
            .into_inner()
            .evaluations;
        assert_eq!(listed.len(), 1, "{engine:?}");

        // Submits with one etag: one wins.
        let mut tasks = Vec::new();
        for _ in 0..RACERS {
            let api = api.clone();
            let (id, etag) = (e.id.clone(), e.etag.clone());
            tasks.push(tokio::spawn(async move {
                api.submit_evaluation(req(
                    "eve",
                    &[Role::Evaluator],
                    pb::SubmitEvaluationRequest {
                        evaluation_id: id,
                        etag,
                        content: Some(pb::DraftContent {
                            answers: answers(),
                            overall_comment: String::new(),
                        }),
                    },
                ))
                .await
            }));
        }
        let mut wins = 0;
        for t in tasks {
            match t.await.unwrap() {
                Ok(_) => wins += 1,
                Err(s) => assert!(
                    matches!(s.code(), Code::Aborted | Code::FailedPrecondition),
                    "{engine:?}: {:?} {}",
                    s.code(),
                    s.message()
                ),
            }
        }
        assert_eq!(wins, 1, "{engine:?}");
        let revisions = api
            .list_evaluation_revisions(req(
                "quinn",
                &[Role::QaManager],
                pb::ListEvaluationRevisionsRequest {
                    evaluation_id: e.id.clone(),
                    ..Default::default()
                },
            ))
            .await
            .unwrap()
            .into_inner()
            .revisions;
        assert_eq!(revisions.len(), 1, "{engine:?}");
        let audit = api
            .list_audit_entries(req(
                "root",
                &[Role::Admin],
                pb::ListAuditEntriesRequest {
                    action: pb::AuditAction::EvaluationSubmitted as i32,
                    ..Default::default()
                },
            ))
            .await
            .unwrap()
            .into_inner()
            .entries;
        assert_eq!(audit.len(), 1, "{engine:?}");
    }
}
