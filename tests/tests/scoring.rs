//! The scoring service end to end, over real gRPC, on SQLite and on
//! PostgreSQL: scorecards from draft to archive, the whole evaluation
//! lifecycle with its refusals (stale etags, a dispute before release,
//! agents reading what is not theirs), anonymous evaluation, the audit log,
//! the change feed, and tenant isolation.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use earshot_kit::{auth::Role, config::ServiceKind, testing};
use earshot_proto::common::v1 as common;
use earshot_proto::scoring::v1::{self as pb, scoring_service_client::ScoringServiceClient};
use earshot_tests::{Bearer, TestEngine, TestSuite};
use tonic::{Code, service::interceptor::InterceptedService, transport::Channel};
use tonic_types::StatusExt as _;

type Client = ScoringServiceClient<InterceptedService<Channel, Bearer>>;

const CUSTOMER_CARE: &str =
    include_str!("../../crates/earshot-scoring/tests/fixtures/customer_care.yaml");
const GENESYS_FORM: &str =
    include_str!("../../crates/earshot-scoring/tests/fixtures/genesys_form.json");

async fn client(suite: &TestSuite, tenant: &str, subject: &str, roles: &[Role]) -> Client {
    let token = suite.token(tenant, subject, roles);
    ScoringServiceClient::new(suite.authed(ServiceKind::Scoring, &token).await.unwrap())
}

async fn supervisor(suite: &TestSuite, tenant: &str, subject: &str, teams: &[&str]) -> Client {
    let token = testing::token_with_teams(tenant, subject, &[Role::Supervisor], teams);
    ScoringServiceClient::new(suite.authed(ServiceKind::Scoring, &token).await.unwrap())
}

/// The fields of a status's BadRequest details.
fn bad_fields(status: &tonic::Status) -> Vec<String> {
    status
        .get_error_details()
        .bad_request()
        .map(|b| b.field_violations.iter().map(|v| v.field.clone()).collect())
        .unwrap_or_default()
}

fn expect_code<T: std::fmt::Debug>(
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

fn yes(q: &str, v: bool) -> common::Answer {
    common::Answer {
        question_id: q.into(),
        value: Some(common::answer::Value::Yes(v)),
        comment: String::new(),
    }
}

fn scale(q: &str, v: i32) -> common::Answer {
    common::Answer {
        question_id: q.into(),
        value: Some(common::answer::Value::ScaleValue(v)),
        comment: String::new(),
    }
}

fn choice(q: &str, o: &str) -> common::Answer {
    common::Answer {
        question_id: q.into(),
        value: Some(common::answer::Value::OptionId(o.into())),
        comment: String::new(),
    }
}

/// A full, clean answer set for the customer-care card: everything passes
/// but empathy (4 of 1..5), resolved fully (follow-up hidden).
/// opening 2/2, resolution (2·1 + 1·0.75)/3 = 0.9166…, compliance 2/2:
/// total = (1·1 + 2·0.91666 + 1·1)/4 = 95.8333…
fn good_answers() -> Vec<common::Answer> {
    vec![
        yes("greeted", true),
        yes("verified", true),
        choice("resolved", "fully"),
        scale("empathy", 4),
        yes("disclosure", true),
        yes("interrupted", false),
    ]
}

/// Imports the customer-care card and publishes it; returns its id.
async fn published_card(qa: &mut Client, request_id: &str) -> String {
    let imported = qa
        .import_scorecard(pb::ImportScorecardRequest {
            request_id: request_id.into(),
            format: pb::ScorecardFormat::EarshotYaml as i32,
            content: CUSTOMER_CARE.as_bytes().to_vec(),
            validate_only: false,
            pass_mark: None,
        })
        .await
        .unwrap()
        .into_inner();
    assert!(imported.problems.is_empty(), "{:?}", imported.problems);
    let card = imported.scorecard.unwrap();
    let published = qa
        .publish_scorecard(pb::PublishScorecardRequest {
            scorecard_id: card.id.clone(),
            etag: card.etag,
            change_note: "first".into(),
            request_id: format!("{request_id}-publish"),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(published.version.unwrap().version, 1);
    card.id
}

fn mystery_shop(
    request_id: &str,
    scorecard_id: &str,
    agent: &str,
    team: &str,
) -> pb::CreateEvaluationRequest {
    pb::CreateEvaluationRequest {
        request_id: request_id.into(),
        origin: Some(pb::create_evaluation_request::Origin::MysteryShop(
            pb::MysteryShopOrigin {
                interaction_id: String::new(),
                agent_id: agent.into(),
                team_id: team.into(),
                queue_id: "billing".into(),
                channel: common::Channel::Voice as i32,
                start_time: Some(prost_types::Timestamp {
                    seconds: 1_767_225_600,
                    nanos: 0,
                }),
                handle_duration: Some(prost_types::Duration {
                    seconds: 300,
                    nanos: 0,
                }),
                details: Some(pb::MysteryShop {
                    scenario: "Billing dispute, angry caller".into(),
                    shopper: "Vendor A".into(),
                }),
            },
        )),
        scorecard: Some(pb::ScorecardVersionRef {
            scorecard_id: scorecard_id.into(),
            version: 0,
        }),
    }
}

async fn set_settings(admin: &mut Client, f: impl FnOnce(&mut pb::Settings)) -> pb::Settings {
    let mut s = admin
        .get_settings(pb::GetSettingsRequest {})
        .await
        .unwrap()
        .into_inner()
        .settings
        .unwrap();
    f(&mut s);
    admin
        .update_settings(pb::UpdateSettingsRequest { settings: Some(s) })
        .await
        .unwrap()
        .into_inner()
        .settings
        .unwrap()
}

async fn feed(client: &mut Client, after: i64) -> Vec<pb::Event> {
    let mut stream = client
        .stream_events(pb::StreamEventsRequest {
            after_sequence: after,
            follow: false,
            max_batch_size: 0,
        })
        .await
        .unwrap()
        .into_inner();
    let mut out = Vec::new();
    while let Some(batch) = stream.message().await.unwrap() {
        out.extend(batch.events);
    }
    out
}

fn kind(e: &pb::Event) -> &'static str {
    use pb::event::Payload as P;
    match e.payload.as_ref().unwrap() {
        P::EvaluationSubmitted(_) => "submitted",
        P::EvaluationRevised(_) => "revised",
        P::EvaluationReleased(_) => "released",
        P::EvaluationAcknowledged(_) => "acknowledged",
        P::EvaluationDisputed(_) => "disputed",
        P::EvaluationResolved(_) => "resolved",
        P::ScorecardPublished(_) => "published",
        P::ScorecardArchived(_) => "archived",
    }
}

#[tokio::test]
async fn scorecards_from_draft_to_archive() {
    for engine in TestEngine::available() {
        let suite = TestSuite::start(engine).await.unwrap();
        let mut qa = client(&suite, "acme", "quinn", &[Role::QaManager]).await;
        let mut evaluator = client(&suite, "acme", "eve", &[Role::Evaluator]).await;
        let mut agent = client(&suite, "acme", "agent-7", &[Role::Agent]).await;

        // Only managers create; an empty request id is refused.
        let draft = pb::ScorecardDefinition {
            name: "Chat quality".into(),
            pass_mark: 70.0,
            sections: vec![pb::Section {
                id: "s".into(),
                title: "Basics".into(),
                questions: vec![pb::Question {
                    id: "greeted".into(),
                    text: "Greeted?".into(),
                    kind: Some(pb::question::Kind::YesNo(pb::YesNoQuestion {
                        pass_on_no: false,
                    })),
                    ..Default::default()
                }],
                ..Default::default()
            }],
            ..Default::default()
        };
        let create = |rid: &str, d: pb::ScorecardDefinition| pb::CreateScorecardRequest {
            request_id: rid.into(),
            definition: Some(d),
        };
        expect_code(
            evaluator
                .create_scorecard(create("r1", draft.clone()))
                .await,
            Code::PermissionDenied,
            "evaluator creates",
        );
        let s = expect_code(
            qa.create_scorecard(create("", draft.clone())).await,
            Code::InvalidArgument,
            "no request id",
        );
        assert_eq!(bad_fields(&s), ["request_id"]);
        let mut too_big = draft.clone();
        too_big.name = "x".repeat(201);
        let s = expect_code(
            qa.create_scorecard(create("r0", too_big)).await,
            Code::InvalidArgument,
            "over-long name",
        );
        assert_eq!(bad_fields(&s), ["definition.name"]);

        // Create is idempotent on request_id; reuse for other content is refused.
        let card = qa
            .create_scorecard(create("r1", draft.clone()))
            .await
            .unwrap()
            .into_inner()
            .scorecard
            .unwrap();
        assert_eq!(card.state, pb::ScorecardState::Draft as i32);
        let again = qa
            .create_scorecard(create("r1", draft.clone()))
            .await
            .unwrap()
            .into_inner()
            .scorecard
            .unwrap();
        assert_eq!(again.id, card.id);
        let mut other = draft.clone();
        other.name = "Other".into();
        let s = expect_code(
            qa.create_scorecard(create("r1", other)).await,
            Code::InvalidArgument,
            "reused request id",
        );
        assert_eq!(bad_fields(&s), ["request_id"]);

        // Evaluators read; agents do not list.
        let got = evaluator
            .get_scorecard(pb::GetScorecardRequest {
                scorecard_id: card.id.clone(),
            })
            .await
            .unwrap()
            .into_inner()
            .scorecard
            .unwrap();
        assert_eq!(got.draft.unwrap().name, "Chat quality");
        expect_code(
            agent
                .list_scorecards(pb::ListScorecardsRequest::default())
                .await,
            Code::PermissionDenied,
            "agent lists",
        );

        // An invalid draft saves (with problems) but does not publish.
        let mut broken = draft.clone();
        broken.sections[0].weight = Some(-1.0);
        broken.sections[0].questions[0].kind = None;
        expect_code(
            qa.update_scorecard(pb::UpdateScorecardRequest {
                scorecard_id: card.id.clone(),
                etag: String::new(),
                definition: Some(broken.clone()),
            })
            .await,
            Code::InvalidArgument,
            "missing etag",
        );
        expect_code(
            qa.update_scorecard(pb::UpdateScorecardRequest {
                scorecard_id: card.id.clone(),
                etag: "999".into(),
                definition: Some(broken.clone()),
            })
            .await,
            Code::Aborted,
            "stale etag",
        );
        let updated = qa
            .update_scorecard(pb::UpdateScorecardRequest {
                scorecard_id: card.id.clone(),
                etag: card.etag.clone(),
                definition: Some(broken),
            })
            .await
            .unwrap()
            .into_inner();
        let fields: Vec<_> = updated.problems.iter().map(|p| p.field.as_str()).collect();
        assert!(fields.contains(&"sections[0].weight"), "{fields:?}");
        assert!(
            fields.contains(&"sections[0].questions[0].kind"),
            "{fields:?}"
        );
        let card = updated.scorecard.unwrap();
        let s = expect_code(
            qa.publish_scorecard(pb::PublishScorecardRequest {
                scorecard_id: card.id.clone(),
                etag: card.etag.clone(),
                change_note: String::new(),
                request_id: "p1".into(),
            })
            .await,
            Code::InvalidArgument,
            "publish invalid",
        );
        assert!(bad_fields(&s).contains(&"draft.sections[0].weight".to_string()));
        let valid = qa
            .validate_scorecard(pb::ValidateScorecardRequest {
                source: Some(pb::validate_scorecard_request::Source::ScorecardId(
                    card.id.clone(),
                )),
            })
            .await
            .unwrap()
            .into_inner();
        assert!(!valid.valid);

        // Fix, publish version 1; publishing the same draft again is refused;
        // a retried publish returns the same version.
        let card = qa
            .update_scorecard(pb::UpdateScorecardRequest {
                scorecard_id: card.id.clone(),
                etag: card.etag.clone(),
                definition: Some(draft.clone()),
            })
            .await
            .unwrap()
            .into_inner()
            .scorecard
            .unwrap();
        let publish = |etag: String, rid: &str| pb::PublishScorecardRequest {
            scorecard_id: card.id.clone(),
            etag,
            change_note: "launch".into(),
            request_id: rid.into(),
        };
        let v1 = qa
            .publish_scorecard(publish(card.etag.clone(), "p2"))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(v1.version.as_ref().unwrap().version, 1);
        let card = v1.scorecard.unwrap();
        assert_eq!(card.state, pb::ScorecardState::Published as i32);
        assert!(!card.has_unpublished_changes);
        let replay = qa
            .publish_scorecard(publish("stale".into(), "p2"))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(replay.version.unwrap().version, 1);
        expect_code(
            qa.publish_scorecard(publish(card.etag.clone(), "p3")).await,
            Code::FailedPrecondition,
            "nothing to publish",
        );

        // Version 2; version 1 stays as it was.
        let mut second = draft.clone();
        second.pass_mark = 90.0;
        let card = qa
            .update_scorecard(pb::UpdateScorecardRequest {
                scorecard_id: card.id.clone(),
                etag: card.etag.clone(),
                definition: Some(second),
            })
            .await
            .unwrap()
            .into_inner()
            .scorecard
            .unwrap();
        assert!(card.has_unpublished_changes);
        let v2 = qa
            .publish_scorecard(publish(card.etag.clone(), "p4"))
            .await
            .unwrap()
            .into_inner();
        assert_eq!(v2.version.unwrap().version, 2);
        let card = v2.scorecard.unwrap();
        let v1 = agent
            .get_scorecard_version(pb::GetScorecardVersionRequest {
                scorecard_id: card.id.clone(),
                version: 1,
            })
            .await
            .unwrap()
            .into_inner()
            .version
            .unwrap();
        assert_eq!(v1.definition.unwrap().pass_mark, 70.0);
        let latest = agent
            .get_scorecard_version(pb::GetScorecardVersionRequest {
                scorecard_id: card.id.clone(),
                version: 0,
            })
            .await
            .unwrap()
            .into_inner()
            .version
            .unwrap();
        assert_eq!(latest.version, 2);
        let page = qa
            .list_scorecard_versions(pb::ListScorecardVersionsRequest {
                scorecard_id: card.id.clone(),
                page_size: 1,
                page_token: String::new(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(page.versions[0].version, 2);
        let page2 = qa
            .list_scorecard_versions(pb::ListScorecardVersionsRequest {
                scorecard_id: card.id.clone(),
                page_size: 1,
                page_token: page.next_page_token.clone(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(page2.versions[0].version, 1);
        assert!(page2.next_page_token.is_empty());
        expect_code(
            qa.list_scorecard_versions(pb::ListScorecardVersionsRequest {
                scorecard_id: card.id.clone(),
                page_size: 1,
                page_token: "garbage".into(),
            })
            .await,
            Code::InvalidArgument,
            "bad page token",
        );

        // Export version 1 as YAML and import it back: the same definition.
        let exported = qa
            .export_scorecard(pb::ExportScorecardRequest {
                scorecard_id: card.id.clone(),
                version: 1,
                format: pb::ScorecardFormat::EarshotYaml as i32,
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(exported.media_type, "application/yaml");
        assert_eq!(exported.file_name, "chat-quality-v1.yaml");
        let back = qa
            .import_scorecard(pb::ImportScorecardRequest {
                request_id: String::new(),
                format: pb::ScorecardFormat::EarshotYaml as i32,
                content: exported.content,
                validate_only: true,
                pass_mark: None,
            })
            .await
            .unwrap()
            .into_inner();
        assert!(back.scorecard.is_none());
        let mut expected = draft.clone();
        expected.scoring_method = pb::ScoringMethod::Earshot as i32;
        expected.sections[0].weight = Some(1.0);
        expected.sections[0].questions[0].weight = Some(1.0);
        expected.sections[0].questions[0].comment_required = pb::CommentRequirement::Never as i32;
        expected.sections[0].questions[0].on_failure = 0;
        expected.sections[0].questions[0].visible_when = None;
        assert_eq!(back.definition.unwrap(), expected);

        // Archived: final, and no new evaluations.
        let archived = qa
            .archive_scorecard(pb::ArchiveScorecardRequest {
                scorecard_id: card.id.clone(),
                etag: card.etag.clone(),
            })
            .await
            .unwrap()
            .into_inner()
            .scorecard
            .unwrap();
        assert_eq!(archived.state, pb::ScorecardState::Archived as i32);
        expect_code(
            qa.archive_scorecard(pb::ArchiveScorecardRequest {
                scorecard_id: card.id.clone(),
                etag: archived.etag.clone(),
            })
            .await,
            Code::FailedPrecondition,
            "archive twice",
        );
        expect_code(
            evaluator
                .create_evaluation(mystery_shop("e1", &card.id, "agent-7", "blue"))
                .await,
            Code::FailedPrecondition,
            "evaluate with an archived scorecard",
        );
        let listed = qa
            .list_scorecards(pb::ListScorecardsRequest::default())
            .await
            .unwrap()
            .into_inner();
        assert!(listed.scorecards.iter().all(|s| s.id != card.id));
        let all = qa
            .list_scorecards(pb::ListScorecardsRequest {
                include_archived: true,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert!(all.scorecards.iter().any(|s| s.id == card.id));

        suite.stop().await.unwrap();
    }
}

#[tokio::test]
async fn genesys_forms_import_and_score_as_genesys_documents() {
    for engine in TestEngine::available() {
        let suite = TestSuite::start(engine).await.unwrap();
        let mut qa = client(&suite, "acme", "quinn", &[Role::QaManager]).await;
        let imported = qa
            .import_scorecard(pb::ImportScorecardRequest {
                request_id: "g1".into(),
                format: pb::ScorecardFormat::GenesysJson as i32,
                content: GENESYS_FORM.as_bytes().to_vec(),
                validate_only: false,
                pass_mark: Some(75.0),
            })
            .await
            .unwrap()
            .into_inner();
        assert!(imported.problems.is_empty(), "{:?}", imported.problems);
        // The pass mark was given, so no note asks for one.
        assert!(imported.notes.iter().all(|n| n.field != "passMark"));
        let card = imported.scorecard.unwrap();
        let d = card.draft.clone().unwrap();
        assert_eq!(d.scoring_method, pb::ScoringMethod::Genesys as i32);
        assert_eq!(d.pass_mark, 75.0);
        // Everything shown: 160/220 (tests/genesys_fixture.rs, worked by hand).
        let answers = vec![
            choice("greet", "greet-yes"),
            choice("verify", "verify-yes"),
            choice("resolved", "partially"),
            common::Answer {
                comment: "offered a call back".into(),
                ..choice("follow-up", "follow-yes")
            },
            choice("disclosure", "disclosure-yes"),
            choice("consent", "consent-no"),
        ];
        let scored = qa
            .score_answers(pb::ScoreAnswersRequest {
                scorecard: Some(pb::score_answers_request::Scorecard::DraftScorecardId(
                    card.id.clone(),
                )),
                answers: answers.clone(),
            })
            .await
            .unwrap()
            .into_inner();
        assert!(scored.problems.is_empty(), "{:?}", scored.problems);
        let r = scored.result.unwrap();
        assert_eq!(r.total_score, 72.727272727);
        assert_eq!(r.critical_score, 66.666666667);
        assert_eq!(r.non_critical_score, 80.0);
        assert!(!r.passed);
        // A comment is required on every answer of follow-up (commentsRequired).
        let mut uncommented = answers;
        uncommented[3].comment.clear();
        let scored = qa
            .score_answers(pb::ScoreAnswersRequest {
                scorecard: Some(pb::score_answers_request::Scorecard::DraftScorecardId(
                    card.id.clone(),
                )),
                answers: uncommented,
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(scored.problems.len(), 1);
        assert_eq!(
            scored.problems[0].kind,
            pb::AnswerProblemKind::CommentRequired as i32
        );
        assert_eq!(scored.problems[0].field, "answers[3].comment");
        suite.stop().await.unwrap();
    }
}

#[tokio::test]
async fn the_whole_evaluation_lifecycle() {
    for engine in TestEngine::available() {
        let suite = TestSuite::start(engine).await.unwrap();
        let mut admin = client(&suite, "acme", "root", &[Role::Admin]).await;
        let mut qa = client(&suite, "acme", "quinn", &[Role::QaManager]).await;
        let mut eve = client(&suite, "acme", "eve", &[Role::Evaluator]).await;
        let mut agent = client(&suite, "acme", "agent-7", &[Role::Agent]).await;
        let mut other_agent = client(&suite, "acme", "agent-8", &[Role::Agent]).await;
        let mut sup = supervisor(&suite, "acme", "sue", &["blue"]).await;
        let mut other_sup = supervisor(&suite, "acme", "sam", &["green"]).await;
        let settings = set_settings(&mut admin, |s| s.anonymous_evaluation = true).await;
        assert!(settings.anonymous_evaluation);
        assert_eq!(settings.etag, "1");
        let card = published_card(&mut qa, "cc").await;

        // Create (idempotent), as the evaluator.
        let created = eve
            .create_evaluation(mystery_shop("e1", &card, "agent-7", "blue"))
            .await
            .unwrap()
            .into_inner()
            .evaluation
            .unwrap();
        assert_eq!(created.state, pb::EvaluationState::Draft as i32);
        assert_eq!(created.kind, pb::EvaluationKind::MysteryShop as i32);
        assert_eq!(created.scorecard_version, 1);
        assert_eq!(created.evaluator_id, "eve");
        assert!(
            !created.problems.is_empty(),
            "an empty draft has missing answers"
        );
        let again = eve
            .create_evaluation(mystery_shop("e1", &card, "agent-7", "blue"))
            .await
            .unwrap()
            .into_inner()
            .evaluation
            .unwrap();
        assert_eq!(again.id, created.id);
        let id = created.id.clone();
        let bad = expect_code(
            eve.create_evaluation(mystery_shop("e2", &card, "", "blue"))
                .await,
            Code::InvalidArgument,
            "mystery shop without agent",
        );
        assert_eq!(bad_fields(&bad), ["mystery_shop.agent_id"]);

        // Drafts: nobody but the evaluator and managers sees them.
        for c in [&mut agent, &mut sup] {
            expect_code(
                c.get_evaluation(pb::GetEvaluationRequest {
                    evaluation_id: id.clone(),
                })
                .await,
                Code::NotFound,
                "draft seen by agent or supervisor",
            );
        }

        let listed = sup
            .list_evaluations(pb::ListEvaluationsRequest::default())
            .await
            .unwrap()
            .into_inner();
        assert!(
            listed.evaluations.is_empty(),
            "drafts are not listed for supervisors"
        );
        let listed = eve
            .list_evaluations(pb::ListEvaluationsRequest::default())
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            listed.evaluations.len(),
            1,
            "evaluators list their own drafts"
        );

        // Save a draft with a problem: the preview shows it, nothing fails.
        let mut answers = good_answers();
        answers[3] = scale("empathy", 9);
        let saved = eve
            .save_evaluation_draft(pb::SaveEvaluationDraftRequest {
                evaluation_id: id.clone(),
                etag: created.etag.clone(),
                content: Some(pb::DraftContent {
                    answers: answers.clone(),
                    overall_comment: "Good call".into(),
                }),
            })
            .await
            .unwrap()
            .into_inner()
            .evaluation
            .unwrap();
        // 9 is off the 1..5 scale; the answer is left out, so empathy is
        // also unanswered.
        let fields: Vec<_> = saved.problems.iter().map(|p| p.field.as_str()).collect();
        assert_eq!(fields, ["answers[3].scale_value", "answers"]);
        assert_ne!(saved.etag, created.etag);

        // Submit: a stale etag is ABORTED; answer problems are
        // INVALID_ARGUMENT naming the field; both change nothing.
        let submit =
            |etag: &str, answers: Option<Vec<common::Answer>>| pb::SubmitEvaluationRequest {
                evaluation_id: id.clone(),
                etag: etag.into(),
                content: answers.map(|a| pb::DraftContent {
                    answers: a,
                    overall_comment: "Good call".into(),
                }),
            };
        expect_code(
            eve.submit_evaluation(submit(&created.etag, None)).await,
            Code::Aborted,
            "stale etag",
        );
        let s = expect_code(
            eve.submit_evaluation(submit(&saved.etag, None)).await,
            Code::InvalidArgument,
            "saved answers have a problem",
        );
        assert_eq!(bad_fields(&s), ["answers[3].scale_value", "answers"]);
        let s = expect_code(
            eve.submit_evaluation(submit(&saved.etag, Some(answers)))
                .await,
            Code::InvalidArgument,
            "given answers have a problem",
        );
        assert_eq!(
            bad_fields(&s),
            ["content.answers[3].scale_value", "content.answers"]
        );
        let submitted = eve
            .submit_evaluation(submit(&saved.etag, Some(good_answers())))
            .await
            .unwrap()
            .into_inner()
            .evaluation
            .unwrap();
        assert_eq!(submitted.state, pb::EvaluationState::Submitted as i32);
        assert_eq!(submitted.revision, 1);
        let r = submitted.result.clone().unwrap();
        assert_eq!(r.total_score, 95.833333333);
        assert!(r.passed);
        assert_eq!(r.band, "Exceeds expectations");

        // A dispute before release is refused; agents do not see it yet.
        let dispute = |etag: &str| pb::DisputeEvaluationRequest {
            evaluation_id: id.clone(),
            etag: etag.into(),
            reason: "I did show empathy".into(),
            questions: vec![pb::DisputedQuestion {
                question_id: "empathy".into(),
                reason: "The customer thanked me".into(),
            }],
        };
        expect_code(
            agent.dispute_evaluation(dispute(&submitted.etag)).await,
            Code::FailedPrecondition,
            "dispute before release",
        );
        expect_code(
            agent
                .get_evaluation(pb::GetEvaluationRequest {
                    evaluation_id: id.clone(),
                })
                .await,
            Code::NotFound,
            "agent reads before release",
        );
        // Supervisors of the team see it once submitted; of other teams, never.
        sup.get_evaluation(pb::GetEvaluationRequest {
            evaluation_id: id.clone(),
        })
        .await
        .unwrap();
        expect_code(
            other_sup
                .get_evaluation(pb::GetEvaluationRequest {
                    evaluation_id: id.clone(),
                })
                .await,
            Code::NotFound,
            "other team's supervisor",
        );
        for (c, n) in [(&mut sup, 1), (&mut other_sup, 0)] {
            let listed = c
                .list_evaluations(pb::ListEvaluationsRequest::default())
                .await
                .unwrap()
                .into_inner();
            assert_eq!(
                listed.evaluations.len(),
                n,
                "supervisors list their teams' only"
            );
        }

        // Release: evaluators may not (settings), QA managers may.
        let release = |etag: &str| pb::ReleaseEvaluationRequest {
            evaluation_id: id.clone(),
            etag: etag.into(),
        };
        expect_code(
            eve.release_evaluation(release(&submitted.etag)).await,
            Code::PermissionDenied,
            "evaluator releases",
        );
        let released = qa
            .release_evaluation(release(&submitted.etag))
            .await
            .unwrap()
            .into_inner()
            .evaluation
            .unwrap();
        assert_eq!(released.state, pb::EvaluationState::Released as i32);

        // Coaching comments: the team's supervisor may; retried, one comment.
        let comment = pb::AddCoachingCommentRequest {
            request_id: "c1".into(),
            evaluation_id: id.clone(),
            question_id: "empathy".into(),
            text: "Mirror the customer's words".into(),
        };
        let c1 = sup
            .add_coaching_comment(comment.clone())
            .await
            .unwrap()
            .into_inner();
        let c1b = sup
            .add_coaching_comment(comment.clone())
            .await
            .unwrap()
            .into_inner();
        assert_eq!(
            c1.comment.as_ref().unwrap().id,
            c1b.comment.as_ref().unwrap().id
        );
        expect_code(
            other_sup.add_coaching_comment(comment.clone()).await,
            Code::NotFound,
            "other supervisor comments",
        );
        eve.add_coaching_comment(pb::AddCoachingCommentRequest {
            request_id: "c2".into(),
            text: "Well handled overall".into(),
            question_id: String::new(),
            ..comment.clone()
        })
        .await
        .unwrap();
        let s = expect_code(
            eve.add_coaching_comment(pb::AddCoachingCommentRequest {
                request_id: "c3".into(),
                question_id: "nope".into(),
                ..comment.clone()
            })
            .await,
            Code::InvalidArgument,
            "comment on an unknown question",
        );
        assert_eq!(bad_fields(&s), ["question_id"]);

        // The agent sees it, without the evaluator (anonymous evaluation);
        // another agent sees nothing, by id or by list.
        let seen = agent
            .get_evaluation(pb::GetEvaluationRequest {
                evaluation_id: id.clone(),
            })
            .await
            .unwrap()
            .into_inner()
            .evaluation
            .unwrap();
        assert!(seen.evaluator_hidden);
        assert!(seen.evaluator_id.is_empty());
        assert_eq!(seen.coaching_comments.len(), 2);
        let authors: Vec<_> = seen
            .coaching_comments
            .iter()
            .map(|c| c.author.clone().unwrap().subject)
            .collect();
        assert_eq!(
            authors,
            ["sue", ""],
            "the evaluator's own comment is anonymous"
        );
        expect_code(
            other_agent
                .get_evaluation(pb::GetEvaluationRequest {
                    evaluation_id: id.clone(),
                })
                .await,
            Code::NotFound,
            "another agent reads",
        );
        let listed = other_agent
            .list_evaluations(pb::ListEvaluationsRequest::default())
            .await
            .unwrap()
            .into_inner();
        assert!(listed.evaluations.is_empty());
        let mine = agent
            .list_evaluations(pb::ListEvaluationsRequest::default())
            .await
            .unwrap()
            .into_inner();
        assert_eq!(mine.evaluations.len(), 1);
        assert!(mine.evaluations[0].evaluator_id.is_empty());
        // Filtering by evaluator would reveal who wrote it: nothing matches.
        let probe = agent
            .list_evaluations(pb::ListEvaluationsRequest {
                evaluator_id: "eve".into(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert!(probe.evaluations.is_empty());
        expect_code(
            other_agent.dispute_evaluation(dispute(&seen.etag)).await,
            Code::NotFound,
            "another agent disputes",
        );

        // Dispute: unknown questions are named; then DISPUTED.
        let mut wrong = dispute(&seen.etag);
        wrong.questions[0].question_id = "nope".into();
        let s = expect_code(
            agent.dispute_evaluation(wrong).await,
            Code::InvalidArgument,
            "dispute of an unknown question",
        );
        assert_eq!(bad_fields(&s), ["questions[0].question_id"]);
        let disputed = agent
            .dispute_evaluation(dispute(&seen.etag))
            .await
            .unwrap()
            .into_inner()
            .evaluation
            .unwrap();
        assert_eq!(disputed.state, pb::EvaluationState::Disputed as i32);
        assert_eq!(disputed.dispute.as_ref().unwrap().disputed_revision, 1);

        // Resolve: never the evaluator; a re-score with a problem names it;
        // then a new revision.
        let rescore = |answers: Vec<common::Answer>| pb::ResolveDisputeRequest {
            evaluation_id: id.clone(),
            etag: disputed.etag.clone(),
            outcome: Some(pb::resolve_dispute_request::Outcome::Rescore(pb::Rescore {
                answers,
                overall_comment: "Re-scored after review".into(),
                comment: "Empathy was clearly shown".into(),
            })),
        };
        let mut better = good_answers();
        better[3] = scale("empathy", 5);
        expect_code(
            eve.resolve_dispute(rescore(better.clone())).await,
            Code::PermissionDenied,
            "evaluator resolves",
        );
        let mut broken = better.clone();
        broken.remove(0);
        let s = expect_code(
            qa.resolve_dispute(rescore(broken)).await,
            Code::InvalidArgument,
            "re-score with a missing answer",
        );
        assert_eq!(bad_fields(&s), ["rescore.answers"]);
        let resolved = qa
            .resolve_dispute(rescore(better))
            .await
            .unwrap()
            .into_inner()
            .evaluation
            .unwrap();
        assert_eq!(resolved.state, pb::EvaluationState::Resolved as i32);
        assert_eq!(resolved.revision, 2);
        assert_eq!(resolved.result.as_ref().unwrap().total_score, 100.0);
        assert_eq!(
            resolved.dispute.as_ref().unwrap().resolution,
            pb::DisputeResolution::Rescored as i32
        );
        // Quinn wrote revision 2, so quinn may not resolve anything about it;
        // an admin with the old etag gets ABORTED.
        expect_code(
            qa.resolve_dispute(rescore(good_answers())).await,
            Code::PermissionDenied,
            "the re-scorer resolves again",
        );
        expect_code(
            admin.resolve_dispute(rescore(good_answers())).await,
            Code::Aborted,
            "resolve again with the old etag",
        );

        // Revisions: immutable, newest first; authors hidden from the agent.
        let revs = agent
            .list_evaluation_revisions(pb::ListEvaluationRevisionsRequest {
                evaluation_id: id.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .revisions;
        assert_eq!(revs.iter().map(|r| r.revision).collect::<Vec<_>>(), [2, 1]);
        assert!(
            revs.iter()
                .all(|r| r.author.as_ref().unwrap().subject.is_empty())
        );
        assert_eq!(revs[1].result.as_ref().unwrap().total_score, 95.833333333);
        let revs = qa
            .list_evaluation_revisions(pb::ListEvaluationRevisionsRequest {
                evaluation_id: id.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .revisions;
        assert_eq!(revs[0].author.as_ref().unwrap().subject, "quinn");
        assert_eq!(revs[1].author.as_ref().unwrap().subject, "eve");

        // The audit log: every change and who made it; admins only.
        expect_code(
            qa.list_audit_entries(pb::ListAuditEntriesRequest::default())
                .await,
            Code::PermissionDenied,
            "QA manager reads the audit log",
        );
        let entries = admin
            .list_audit_entries(pb::ListAuditEntriesRequest {
                resource_id: id.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .entries;
        let trail: Vec<_> = entries
            .iter()
            .rev()
            .map(|e| {
                (
                    pb::AuditAction::try_from(e.action).unwrap(),
                    e.actor.clone().unwrap().subject,
                )
            })
            .collect();
        use pb::AuditAction as A;
        assert_eq!(
            trail,
            [
                (A::EvaluationCreated, "eve".to_string()),
                (A::EvaluationDraftSaved, "eve".into()),
                (A::EvaluationSubmitted, "eve".into()),
                (A::EvaluationReleased, "quinn".into()),
                (A::CoachingCommentAdded, "sue".into()),
                (A::CoachingCommentAdded, "eve".into()),
                (A::EvaluationDisputed, "agent-7".into()),
                (A::EvaluationResolved, "quinn".into()),
            ]
        );
        let resolved_entry = &entries[0];
        assert_eq!(resolved_entry.from_state, "disputed");
        assert_eq!(resolved_entry.to_state, "resolved");
        assert_eq!(resolved_entry.details["resolution"], "rescored");
        let settings_changes = admin
            .list_audit_entries(pb::ListAuditEntriesRequest {
                action: A::SettingsUpdated as i32,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .entries;
        assert_eq!(settings_changes.len(), 1);
        assert_eq!(
            settings_changes[0].details["anonymous_evaluation"],
            "false -> true"
        );

        // The change feed: every evaluation event, with per-question results.
        let events = feed(&mut admin, 0).await;
        let kinds: Vec<_> = events.iter().map(kind).collect();
        assert_eq!(
            kinds,
            [
                "published",
                "submitted",
                "released",
                "disputed",
                "revised",
                "resolved"
            ]
        );
        assert!(events.windows(2).all(|w| w[0].sequence < w[1].sequence));
        let Some(pb::event::Payload::EvaluationRevised(rev)) = &events[4].payload else {
            panic!("not a revision");
        };
        assert_eq!(rev.previous_revision, 1);
        assert_eq!(rev.previous_total_score, 95.833333333);
        let snap = rev.evaluation.as_ref().unwrap();
        assert_eq!((snap.revision, snap.total_score), (2, 100.0));
        assert_eq!(snap.agent_id, "agent-7");
        assert_eq!(snap.team_id, "blue");
        assert_eq!(snap.evaluator_id, "eve");
        assert_eq!(snap.questions.len(), 7);
        assert!(events.iter().all(|e| e.tenant_id == "acme"));
        let after = feed(&mut admin, events[2].sequence).await;
        assert_eq!(after.len(), 3);
        expect_code(
            agent
                .stream_events(pb::StreamEventsRequest::default())
                .await
                .map(|_| ()),
            Code::PermissionDenied,
            "agent reads the feed",
        );

        suite.stop().await.unwrap();
    }
}

#[tokio::test]
async fn acknowledgement_auto_release_windows_and_deletion() {
    for engine in TestEngine::available() {
        let suite = TestSuite::start(engine).await.unwrap();
        let mut admin = client(&suite, "acme", "root", &[Role::Admin]).await;
        let mut qa = client(&suite, "acme", "quinn", &[Role::QaManager]).await;
        let mut eve = client(&suite, "acme", "eve", &[Role::Evaluator]).await;
        let mut agent = client(&suite, "acme", "agent-7", &[Role::Agent]).await;
        let card = published_card(&mut qa, "cc").await;

        // Settings: a stale etag is refused; then auto-release and a 1 ms
        // dispute window.
        let mut stale = admin
            .get_settings(pb::GetSettingsRequest {})
            .await
            .unwrap()
            .into_inner()
            .settings
            .unwrap();
        assert_eq!(stale.etag, "");
        stale.etag = "7".into();
        expect_code(
            admin
                .update_settings(pb::UpdateSettingsRequest {
                    settings: Some(stale),
                })
                .await,
            Code::Aborted,
            "stale settings etag",
        );
        expect_code(
            qa.update_settings(pb::UpdateSettingsRequest {
                settings: Some(pb::Settings::default()),
            })
            .await,
            Code::PermissionDenied,
            "QA manager changes settings",
        );
        set_settings(&mut admin, |s| {
            s.auto_release_on_submit = true;
            s.dispute_window = Some(prost_types::Duration {
                seconds: 0,
                nanos: 1_000_000,
            });
        })
        .await;

        // Submit releases at once; the agent acknowledges; nothing follows.
        let mk = |rid: &str| mystery_shop(rid, &card, "agent-7", "blue");
        let first = eve
            .create_evaluation(mk("a"))
            .await
            .unwrap()
            .into_inner()
            .evaluation
            .unwrap();
        let submitted = eve
            .submit_evaluation(pb::SubmitEvaluationRequest {
                evaluation_id: first.id.clone(),
                etag: first.etag.clone(),
                content: Some(pb::DraftContent {
                    answers: good_answers(),
                    overall_comment: String::new(),
                }),
            })
            .await
            .unwrap()
            .into_inner()
            .evaluation
            .unwrap();
        assert_eq!(submitted.state, pb::EvaluationState::Released as i32);
        let acked = agent
            .acknowledge_evaluation(pb::AcknowledgeEvaluationRequest {
                evaluation_id: first.id.clone(),
                etag: submitted.etag.clone(),
                comment: "Thanks".into(),
            })
            .await
            .unwrap()
            .into_inner()
            .evaluation
            .unwrap();
        assert_eq!(acked.state, pb::EvaluationState::Acknowledged as i32);
        assert_eq!(acked.acknowledgement_comment, "Thanks");
        expect_code(
            agent
                .dispute_evaluation(pb::DisputeEvaluationRequest {
                    evaluation_id: first.id.clone(),
                    etag: acked.etag.clone(),
                    reason: "changed my mind".into(),
                    questions: vec![],
                })
                .await,
            Code::FailedPrecondition,
            "dispute after acknowledging",
        );

        // A second one: the 1 ms dispute window has closed.
        let second = eve
            .create_evaluation(mk("b"))
            .await
            .unwrap()
            .into_inner()
            .evaluation
            .unwrap();
        let released = eve
            .submit_evaluation(pb::SubmitEvaluationRequest {
                evaluation_id: second.id.clone(),
                etag: second.etag.clone(),
                content: Some(pb::DraftContent {
                    answers: good_answers(),
                    overall_comment: String::new(),
                }),
            })
            .await
            .unwrap()
            .into_inner()
            .evaluation
            .unwrap();
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        let s = expect_code(
            agent
                .dispute_evaluation(pb::DisputeEvaluationRequest {
                    evaluation_id: second.id.clone(),
                    etag: released.etag.clone(),
                    reason: "too late?".into(),
                    questions: vec![],
                })
                .await,
            Code::FailedPrecondition,
            "dispute after the window",
        );
        assert!(s.message().contains("window"), "{}", s.message());

        // Drafts can be deleted (with their etag); submitted ones cannot.
        let third = eve
            .create_evaluation(mk("c"))
            .await
            .unwrap()
            .into_inner()
            .evaluation
            .unwrap();
        expect_code(
            eve.delete_evaluation(pb::DeleteEvaluationRequest {
                evaluation_id: third.id.clone(),
                etag: "0".into(),
            })
            .await,
            Code::Aborted,
            "delete with a stale etag",
        );
        eve.delete_evaluation(pb::DeleteEvaluationRequest {
            evaluation_id: third.id.clone(),
            etag: third.etag.clone(),
        })
        .await
        .unwrap();
        expect_code(
            eve.get_evaluation(pb::GetEvaluationRequest {
                evaluation_id: third.id.clone(),
            })
            .await,
            Code::NotFound,
            "deleted draft",
        );
        expect_code(
            eve.delete_evaluation(pb::DeleteEvaluationRequest {
                evaluation_id: second.id.clone(),
                etag: released.etag.clone(),
            })
            .await,
            Code::FailedPrecondition,
            "delete a released evaluation",
        );

        // Lists: newest first, paged, filtered by state.
        let page = qa
            .list_evaluations(pb::ListEvaluationsRequest {
                page_size: 1,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(page.evaluations[0].id, second.id);
        let next = qa
            .list_evaluations(pb::ListEvaluationsRequest {
                page_size: 1,
                page_token: page.next_page_token.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(next.evaluations[0].id, first.id);
        assert!(next.next_page_token.is_empty());
        expect_code(
            qa.list_evaluations(pb::ListEvaluationsRequest {
                page_size: 1,
                page_token: page.next_page_token,
                state: pb::EvaluationState::Released as i32,
                ..Default::default()
            })
            .await,
            Code::InvalidArgument,
            "a page token with other filters",
        );
        let acked_only = qa
            .list_evaluations(pb::ListEvaluationsRequest {
                state: pb::EvaluationState::Acknowledged as i32,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(acked_only.evaluations.len(), 1);
        assert_eq!(acked_only.evaluations[0].id, first.id);

        // Auto-release is on the feed as its own event, by the system.
        let events = feed(&mut admin, 0).await;
        let kinds: Vec<_> = events.iter().map(kind).collect();
        assert_eq!(
            kinds,
            [
                "published",
                "submitted",
                "released",
                "acknowledged",
                "submitted",
                "released"
            ]
        );
        let Some(pb::event::Payload::EvaluationReleased(r)) = &events[2].payload else {
            panic!("not a release");
        };
        assert_eq!(r.actor.as_ref().unwrap().role, "service");

        suite.stop().await.unwrap();
    }
}

#[tokio::test]
async fn tenants_are_isolated() {
    for engine in TestEngine::available() {
        let suite = TestSuite::start(engine).await.unwrap();
        let mut acme_qa = client(&suite, "acme", "quinn", &[Role::QaManager]).await;
        let mut acme_eve = client(&suite, "acme", "eve", &[Role::Evaluator]).await;
        let mut globex = client(&suite, "globex", "quinn", &[Role::Admin, Role::QaManager]).await;
        let mut globex_agent = client(&suite, "globex", "agent-7", &[Role::Agent]).await;
        let card = published_card(&mut acme_qa, "cc").await;
        let evaluation = acme_eve
            .create_evaluation(mystery_shop("e", &card, "agent-7", "blue"))
            .await
            .unwrap()
            .into_inner()
            .evaluation
            .unwrap();

        // Same subject names, same request ids, another tenant: nothing of
        // acme's is visible or changeable.
        expect_code(
            globex
                .get_scorecard(pb::GetScorecardRequest {
                    scorecard_id: card.clone(),
                })
                .await,
            Code::NotFound,
            "read another tenant's scorecard",
        );
        expect_code(
            globex
                .update_scorecard(pb::UpdateScorecardRequest {
                    scorecard_id: card.clone(),
                    etag: "2".into(),
                    definition: Some(pb::ScorecardDefinition::default()),
                })
                .await,
            Code::NotFound,
            "change another tenant's scorecard",
        );
        expect_code(
            globex
                .get_scorecard_version(pb::GetScorecardVersionRequest {
                    scorecard_id: card.clone(),
                    version: 1,
                })
                .await,
            Code::NotFound,
            "read another tenant's version",
        );
        expect_code(
            globex
                .score_answers(pb::ScoreAnswersRequest {
                    scorecard: Some(pb::score_answers_request::Scorecard::Version(
                        pb::ScorecardVersionRef {
                            scorecard_id: card.clone(),
                            version: 0,
                        },
                    )),
                    answers: good_answers(),
                })
                .await,
            Code::NotFound,
            "score with another tenant's scorecard",
        );
        expect_code(
            globex
                .create_evaluation(mystery_shop("e", &card, "agent-9", "red"))
                .await,
            Code::NotFound,
            "evaluate with another tenant's scorecard",
        );
        expect_code(
            globex
                .get_evaluation(pb::GetEvaluationRequest {
                    evaluation_id: evaluation.id.clone(),
                })
                .await,
            Code::NotFound,
            "read another tenant's evaluation",
        );
        expect_code(
            globex
                .save_evaluation_draft(pb::SaveEvaluationDraftRequest {
                    evaluation_id: evaluation.id.clone(),
                    etag: evaluation.etag.clone(),
                    content: Some(pb::DraftContent::default()),
                })
                .await,
            Code::NotFound,
            "change another tenant's evaluation",
        );
        expect_code(
            globex_agent
                .acknowledge_evaluation(pb::AcknowledgeEvaluationRequest {
                    evaluation_id: evaluation.id.clone(),
                    etag: evaluation.etag.clone(),
                    comment: String::new(),
                })
                .await,
            Code::NotFound,
            "an agent of the same name in another tenant",
        );
        let lists = (
            globex
                .list_scorecards(pb::ListScorecardsRequest {
                    include_archived: true,
                    ..Default::default()
                })
                .await
                .unwrap()
                .into_inner(),
            globex
                .list_evaluations(pb::ListEvaluationsRequest::default())
                .await
                .unwrap()
                .into_inner(),
            globex
                .list_audit_entries(pb::ListAuditEntriesRequest::default())
                .await
                .unwrap()
                .into_inner(),
        );
        assert!(lists.0.scorecards.is_empty());
        assert!(lists.1.evaluations.is_empty());
        assert!(lists.2.entries.is_empty());
        assert!(feed(&mut globex, 0).await.is_empty());

        // The system identity reads every tenant's events in one feed.
        let system = testing::token(
            earshot_kit::auth::SYSTEM_TENANT,
            earshot_kit::auth::SYSTEM_SUBJECT,
            &[Role::Service],
        );
        let mut system =
            ScoringServiceClient::new(suite.authed(ServiceKind::Scoring, &system).await.unwrap());
        let all = feed(&mut system, 0).await;
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].tenant_id, "acme");

        // Globex's own work is separate, with the same request ids.
        let own = published_card(&mut globex, "cc").await;
        assert_ne!(own, card);
        assert_eq!(feed(&mut globex, 0).await.len(), 1);
        assert_eq!(feed(&mut system, 0).await.len(), 2);

        suite.stop().await.unwrap();
    }
}

#[tokio::test]
async fn stateless_scoring_and_request_limits() {
    let suite = TestSuite::start(TestEngine::Sqlite).await.unwrap();
    let mut qa = client(&suite, "acme", "quinn", &[Role::QaManager]).await;
    let mut agent = client(&suite, "acme", "agent-7", &[Role::Agent]).await;
    let mut acd = client(&suite, "acme", "acd", &[Role::Integration]).await;
    let definition = qa
        .import_scorecard(pb::ImportScorecardRequest {
            request_id: String::new(),
            format: pb::ScorecardFormat::EarshotYaml as i32,
            content: CUSTOMER_CARE.as_bytes().to_vec(),
            validate_only: true,
            pass_mark: None,
        })
        .await
        .unwrap()
        .into_inner()
        .definition
        .unwrap();
    let inline = |answers: Vec<common::Answer>| pb::ScoreAnswersRequest {
        scorecard: Some(pb::score_answers_request::Scorecard::Definition(
            definition.clone(),
        )),
        answers,
    };
    // Problems never fail a preview; they come back beside the score.
    let mut answers = good_answers();
    answers[1] = yes("verified", false);
    let scored = qa
        .score_answers(inline(answers))
        .await
        .unwrap()
        .into_inner();
    let r = scored.result.unwrap();
    assert_eq!(r.total_score, 0.0, "verified failing zeroes the evaluation");
    assert!(r.total_scored && !r.passed);
    assert_eq!(r.raw_total_score, 83.333333333);
    assert_eq!(scored.problems.len(), 1);
    assert_eq!(scored.problems[0].field, "answers[1].comment");
    assert_eq!(scored.scorecard_version, 0);

    let many = vec![yes("greeted", true); 1_001];
    let s = expect_code(
        qa.score_answers(inline(many)).await,
        Code::InvalidArgument,
        "1,001 answers",
    );
    assert_eq!(bad_fields(&s), ["answers"]);
    expect_code(
        agent.score_answers(inline(vec![])).await,
        Code::PermissionDenied,
        "agent scores",
    );
    expect_code(
        acd.get_settings(pb::GetSettingsRequest {}).await,
        Code::PermissionDenied,
        "integration reads scoring settings",
    );
    let mut invalid = definition.clone();
    invalid.pass_mark = 120.0;
    let s = expect_code(
        qa.score_answers(pb::ScoreAnswersRequest {
            scorecard: Some(pb::score_answers_request::Scorecard::Definition(invalid)),
            answers: vec![],
        })
        .await,
        Code::InvalidArgument,
        "invalid inline definition",
    );
    assert_eq!(bad_fields(&s), ["definition.pass_mark"]);
    let s = expect_code(
        qa.import_scorecard(pb::ImportScorecardRequest {
            request_id: "x".into(),
            format: pb::ScorecardFormat::Unspecified as i32,
            content: b"{}".to_vec(),
            validate_only: false,
            pass_mark: Some(101.0),
        })
        .await,
        Code::InvalidArgument,
        "bad import",
    );
    assert_eq!(bad_fields(&s), ["pass_mark"]);
    let s = expect_code(
        qa.import_scorecard(pb::ImportScorecardRequest {
            request_id: "x".into(),
            format: pb::ScorecardFormat::EarshotYaml as i32,
            content: b"name: [unclosed".to_vec(),
            validate_only: false,
            pass_mark: None,
        })
        .await,
        Code::InvalidArgument,
        "unparseable document",
    );
    assert_eq!(bad_fields(&s), ["content"]);
    expect_code(
        qa.stream_events(pb::StreamEventsRequest {
            after_sequence: 0,
            follow: false,
            max_batch_size: 1_001,
        })
        .await
        .map(|_| ()),
        Code::PermissionDenied,
        "QA manager reads the feed",
    );

    // Ad hoc evaluations read the interaction from the real sampling
    // service, over gRPC, as the caller. One sampling does not know is
    // refused (NOT_FOUND; UNAVAILABLE while sampling does not serve
    // GetInteraction yet) and nothing is stored.
    let mut eve = client(&suite, "acme", "eve", &[Role::Evaluator]).await;
    let r = eve
        .create_evaluation(pb::CreateEvaluationRequest {
            request_id: "adhoc".into(),
            origin: Some(pb::create_evaluation_request::Origin::AdHoc(pb::AdHoc {
                interaction_id: "no-such-call".into(),
            })),
            scorecard: Some(pb::ScorecardVersionRef {
                scorecard_id: "any".into(),
                version: 0,
            }),
        })
        .await;
    let s = r.unwrap_err();
    assert!(
        matches!(s.code(), Code::NotFound | Code::Unavailable),
        "{:?} {}",
        s.code(),
        s.message()
    );
    let listed = qa
        .list_evaluations(pb::ListEvaluationsRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert!(listed.evaluations.is_empty());
    suite.stop().await.unwrap();
}
