//! Scoring's calls to sampling, over real gRPC, against a stand-in sampling
//! that keeps sampling's contract (GetInteraction, GetAssignment,
//! CompleteAssignment), on SQLite and PostgreSQL.
//!
//! What this proves: evaluations created from an assignment, ad hoc and as
//! self-evaluations take their interaction from sampling; the caller's
//! token travels with every call; submitting an assigned evaluation completes
//! its assignment, exactly once per evaluation, and a sampling that is down
//! stores nothing; sampling's refusals reach the caller as the same codes.
//! (The end-to-end suite covers the same paths against the real sampling
//! service once it serves these calls.)
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use earshot_kit::auth::Role;
use earshot_kit::testing::{self, Engine, TestStorage};
use earshot_proto::common::v1 as common;
use earshot_proto::sampling::v1::{
    self as sampling,
    sampling_service_server::{SamplingService, SamplingServiceServer},
};
use earshot_proto::scoring::v1::{self as pb, scoring_service_server::ScoringService};
use earshot_scoring::service::{ScoringApi, sampling::Sampling};
use earshot_scoring::store::Store;
use tokio_util::sync::CancellationToken;
use tonic::{Code, Request, Response, Status};

const CARD: &str = include_str!("fixtures/customer_care.yaml");

/// What the stand-in sampling saw and holds.
#[derive(Default)]
struct State {
    interactions: HashMap<String, sampling::Interaction>,
    assignments: HashMap<String, sampling::Assignment>,
    /// (assignment, evaluation, evaluator field, caller subject) per call.
    completions: Vec<(String, String, String, String)>,
    /// Subjects whose tokens reached sampling.
    callers: Vec<String>,
    down: bool,
}

#[derive(Clone, Default)]
struct FakeSampling(Arc<Mutex<State>>);

fn subject<T>(req: &Request<T>) -> Result<String, Status> {
    let header = req
        .metadata()
        .get("authorization")
        .ok_or_else(|| Status::unauthenticated("no token"))?;
    let token = header
        .to_str()
        .ok()
        .and_then(|h| h.strip_prefix("Bearer "))
        .ok_or_else(|| Status::unauthenticated("not a bearer token"))?;
    testing::test_verifier()
        .verify(token)
        .map(|c| c.subject().to_owned())
        .map_err(|_| Status::unauthenticated("bad token"))
}

#[tonic::async_trait]
impl SamplingService for FakeSampling {
    async fn get_interaction(
        &self,
        req: Request<sampling::GetInteractionRequest>,
    ) -> Result<Response<sampling::GetInteractionResponse>, Status> {
        let who = subject(&req)?;
        let mut s = self.0.lock().unwrap();
        if s.down {
            return Err(Status::unavailable("down"));
        }
        s.callers.push(who.clone());
        let i = s
            .interactions
            .get(&req.get_ref().interaction_id)
            .cloned()
            .ok_or_else(|| Status::not_found("no such interaction"))?;
        // Sampling's rule for agents: their own interactions only.
        if who.starts_with("agent") && i.agent_id != who {
            return Err(Status::not_found("no such interaction"));
        }
        Ok(Response::new(sampling::GetInteractionResponse {
            interaction: Some(i),
        }))
    }

    async fn get_assignment(
        &self,
        req: Request<sampling::GetAssignmentRequest>,
    ) -> Result<Response<sampling::GetAssignmentResponse>, Status> {
        let who = subject(&req)?;
        let mut s = self.0.lock().unwrap();
        if s.down {
            return Err(Status::unavailable("down"));
        }
        s.callers.push(who);
        let a = s
            .assignments
            .get(&req.get_ref().assignment_id)
            .cloned()
            .ok_or_else(|| Status::not_found("no such assignment"))?;
        Ok(Response::new(sampling::GetAssignmentResponse {
            assignment: Some(a),
        }))
    }

    async fn complete_assignment(
        &self,
        req: Request<sampling::CompleteAssignmentRequest>,
    ) -> Result<Response<sampling::CompleteAssignmentResponse>, Status> {
        let who = subject(&req)?;
        let r = req.into_inner();
        let mut s = self.0.lock().unwrap();
        if s.down {
            return Err(Status::unavailable("down"));
        }
        s.completions.push((
            r.assignment_id.clone(),
            r.evaluation_id.clone(),
            r.evaluator_id.clone(),
            who,
        ));
        let a = s
            .assignments
            .get_mut(&r.assignment_id)
            .ok_or_else(|| Status::not_found("no such assignment"))?;
        if a.state == sampling::AssignmentState::Completed as i32 {
            if a.evaluation_id != r.evaluation_id {
                return Err(Status::failed_precondition(
                    "completed by another evaluation",
                ));
            }
        } else {
            a.state = sampling::AssignmentState::Completed as i32;
            a.evaluation_id = r.evaluation_id;
        }
        Ok(Response::new(sampling::CompleteAssignmentResponse {
            assignment: Some(a.clone()),
        }))
    }
}

fn interaction(id: &str, agent: &str, team: &str) -> sampling::Interaction {
    sampling::Interaction {
        id: id.into(),
        channel: common::Channel::Chat as i32,
        direction: common::Direction::Inbound as i32,
        agent_id: agent.into(),
        team_id: team.into(),
        queue_id: "support".into(),
        arrived_time: Some(prost_types::Timestamp {
            seconds: 1_767_225_600,
            nanos: 0,
        }),
        handle_duration: Some(prost_types::Duration {
            seconds: 420,
            nanos: 0,
        }),
        language: "en-GB".into(),
        ..Default::default()
    }
}

fn assignment(id: &str, evaluator: &str, i: &sampling::Interaction) -> sampling::Assignment {
    sampling::Assignment {
        id: id.into(),
        interaction: Some(sampling::InteractionDimensions {
            interaction_id: i.id.clone(),
            channel: i.channel,
            direction: i.direction,
            agent_id: i.agent_id.clone(),
            team_id: i.team_id.clone(),
            queue_id: i.queue_id.clone(),
            language: i.language.clone(),
            arrived_time: i.arrived_time,
            handle_duration: i.handle_duration,
        }),
        state: sampling::AssignmentState::Claimed as i32,
        evaluator_id: evaluator.into(),
        due_time: Some(prost_types::Timestamp {
            seconds: 1_767_830_400,
            nanos: 0,
        }),
        ..Default::default()
    }
}

/// A request carrying a verified test caller, as the auth layer leaves it.
fn req<T>(tenant: &str, subject: &str, roles: &[Role], msg: T) -> Request<T> {
    let mut r = Request::new(msg);
    r.extensions_mut()
        .insert(testing::caller(tenant, subject, roles));
    r
}

struct Harness {
    api: ScoringApi,
    fake: FakeSampling,
    card: String,
    _storage: TestStorage,
    stop: CancellationToken,
}

async fn harness(engine: Engine) -> Harness {
    let fake = FakeSampling::default();
    {
        let mut s = fake.0.lock().unwrap();
        let i1 = interaction("i-1", "agent-7", "blue");
        let i2 = interaction("i-2", "agent-7", "blue");
        let i3 = interaction("i-3", "agent-8", "green");
        s.assignments
            .insert("a-1".into(), assignment("a-1", "eve", &i1));
        s.assignments
            .insert("a-2".into(), assignment("a-2", "other-evaluator", &i2));
        let mut done = assignment("a-3", "eve", &i3);
        done.state = sampling::AssignmentState::Completed as i32;
        done.evaluation_id = "elsewhere".into();
        s.assignments.insert("a-3".into(), done);
        let mut cancelled = assignment("a-4", "eve", &i3);
        cancelled.state = sampling::AssignmentState::Cancelled as i32;
        s.assignments.insert("a-4".into(), cancelled);
        for i in [i1, i2, i3] {
            s.interactions.insert(i.id.clone(), i);
        }
    }
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let stop = CancellationToken::new();
    let server = tonic::transport::Server::builder()
        .add_service(SamplingServiceServer::new(fake.clone()))
        .serve_with_incoming_shutdown(
            tokio_stream::wrappers::TcpListenerStream::new(listener),
            stop.clone().cancelled_owned(),
        );
    tokio::spawn(server);
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))
        .unwrap()
        .connect_lazy();

    let storage = TestStorage::new(engine).await.unwrap();
    let db = storage
        .open("scoring", earshot_scoring::spec().migrations)
        .await
        .unwrap();
    let api = ScoringApi::new(Store::new(db), Sampling::new(channel), stop.clone());
    let qa = [Role::QaManager];
    let imported = api
        .import_scorecard(req(
            "acme",
            "quinn",
            &qa,
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
        .unwrap();
    api.publish_scorecard(req(
        "acme",
        "quinn",
        &qa,
        pb::PublishScorecardRequest {
            scorecard_id: imported.id.clone(),
            etag: imported.etag,
            change_note: String::new(),
            request_id: "publish".into(),
        },
    ))
    .await
    .unwrap();
    Harness {
        api,
        fake,
        card: imported.id,
        _storage: storage,
        stop,
    }
}

fn create(
    rid: &str,
    card: &str,
    origin: pb::create_evaluation_request::Origin,
) -> pb::CreateEvaluationRequest {
    pb::CreateEvaluationRequest {
        request_id: rid.into(),
        origin: Some(origin),
        scorecard: Some(pb::ScorecardVersionRef {
            scorecard_id: card.into(),
            version: 0,
        }),
    }
}

fn from_assignment(id: &str) -> pb::create_evaluation_request::Origin {
    pb::create_evaluation_request::Origin::Assignment(pb::FromAssignment {
        assignment_id: id.into(),
    })
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

fn code<T>(r: Result<T, Status>) -> Code {
    match r {
        Ok(_) => Code::Ok,
        Err(s) => s.code(),
    }
}

#[tokio::test]
async fn evaluations_of_sampled_interactions() {
    for engine in Engine::available() {
        let h = harness(engine).await;
        let api = &h.api;
        let eve = [Role::Evaluator];

        // From an assignment: the interaction comes from the assignment, the
        // due time too; the caller's token reached sampling.
        let e = api
            .create_evaluation(req(
                "acme",
                "eve",
                &eve,
                create("r1", &h.card, from_assignment("a-1")),
            ))
            .await
            .unwrap()
            .into_inner()
            .evaluation
            .unwrap();
        assert_eq!(e.kind, pb::EvaluationKind::Assigned as i32);
        assert_eq!(e.assignment_id, "a-1");
        let i = e.interaction.clone().unwrap();
        assert_eq!(
            (
                i.interaction_id.as_str(),
                i.agent_id.as_str(),
                i.team_id.as_str(),
                i.language.as_str()
            ),
            ("i-1", "agent-7", "blue", "en-GB")
        );
        assert_eq!(i.handle_duration.unwrap().seconds, 420);
        assert_eq!(e.due_time.unwrap().seconds, 1_767_830_400);
        assert_eq!(h.fake.0.lock().unwrap().callers, ["eve"]);

        // One evaluation per assignment; other evaluators' and completed or
        // cancelled assignments are refused.
        assert_eq!(
            code(
                api.create_evaluation(req(
                    "acme",
                    "eve",
                    &eve,
                    create("r2", &h.card, from_assignment("a-1"))
                ))
                .await
            ),
            Code::FailedPrecondition
        );
        assert_eq!(
            code(
                api.create_evaluation(req(
                    "acme",
                    "eve",
                    &eve,
                    create("r3", &h.card, from_assignment("a-2"))
                ))
                .await
            ),
            Code::PermissionDenied
        );
        assert_eq!(
            code(
                api.create_evaluation(req(
                    "acme",
                    "eve",
                    &eve,
                    create("r4", &h.card, from_assignment("a-3"))
                ))
                .await
            ),
            Code::FailedPrecondition
        );
        assert_eq!(
            code(
                api.create_evaluation(req(
                    "acme",
                    "eve",
                    &eve,
                    create("r5", &h.card, from_assignment("a-4"))
                ))
                .await
            ),
            Code::FailedPrecondition
        );
        assert_eq!(
            code(
                api.create_evaluation(req(
                    "acme",
                    "eve",
                    &eve,
                    create("r6", &h.card, from_assignment("nope"))
                ))
                .await
            ),
            Code::NotFound
        );

        // Submit completes the assignment, on behalf of the submitter. With
        // sampling down nothing is stored and a retry succeeds.
        let submit = |etag: String| {
            req(
                "acme",
                "eve",
                &eve,
                pb::SubmitEvaluationRequest {
                    evaluation_id: e.id.clone(),
                    etag,
                    content: Some(pb::DraftContent {
                        answers: answers(),
                        overall_comment: String::new(),
                    }),
                },
            )
        };
        h.fake.0.lock().unwrap().down = true;
        assert_eq!(
            code(api.submit_evaluation(submit(e.etag.clone())).await),
            Code::Unavailable
        );
        let still = api
            .get_evaluation(req(
                "acme",
                "eve",
                &eve,
                pb::GetEvaluationRequest {
                    evaluation_id: e.id.clone(),
                },
            ))
            .await
            .unwrap()
            .into_inner()
            .evaluation
            .unwrap();
        assert_eq!(still.state, pb::EvaluationState::Draft as i32);
        assert_eq!(still.etag, e.etag);
        h.fake.0.lock().unwrap().down = false;
        let submitted = api
            .submit_evaluation(submit(e.etag.clone()))
            .await
            .unwrap()
            .into_inner()
            .evaluation
            .unwrap();
        assert_eq!(submitted.state, pb::EvaluationState::Submitted as i32);
        {
            let s = h.fake.0.lock().unwrap();
            assert_eq!(
                s.completions.last().unwrap(),
                &(
                    "a-1".to_string(),
                    e.id.clone(),
                    "eve".to_string(),
                    "eve".to_string()
                )
            );
            assert_eq!(
                s.assignments["a-1"].state,
                sampling::AssignmentState::Completed as i32
            );
        }

        // Ad hoc: the interaction is read from sampling.
        let adhoc = api
            .create_evaluation(req(
                "acme",
                "quinn",
                &[Role::QaManager],
                create(
                    "r7",
                    &h.card,
                    pb::create_evaluation_request::Origin::AdHoc(pb::AdHoc {
                        interaction_id: "i-3".into(),
                    }),
                ),
            ))
            .await
            .unwrap()
            .into_inner()
            .evaluation
            .unwrap();
        assert_eq!(adhoc.interaction.unwrap().agent_id, "agent-8");
        assert_eq!(
            code(
                api.create_evaluation(req(
                    "acme",
                    "quinn",
                    &[Role::QaManager],
                    create(
                        "r8",
                        &h.card,
                        pb::create_evaluation_request::Origin::AdHoc(pb::AdHoc {
                            interaction_id: "missing".into(),
                        }),
                    ),
                ))
                .await
            ),
            Code::NotFound
        );

        // Self-evaluation: only when enabled, only of the agent's own.
        let own = |rid: &str, id: &str| {
            req(
                "acme",
                "agent-7",
                &[Role::Agent],
                create(
                    rid,
                    &h.card,
                    pb::create_evaluation_request::Origin::SelfEvaluation(
                        pb::SelfEvaluationOrigin {
                            interaction_id: id.into(),
                        },
                    ),
                ),
            )
        };
        assert_eq!(
            code(api.create_evaluation(own("s1", "i-2")).await),
            Code::FailedPrecondition
        );
        let admin = [Role::Admin];
        let current = api
            .get_settings(req("acme", "root", &admin, pb::GetSettingsRequest {}))
            .await
            .unwrap()
            .into_inner()
            .settings
            .unwrap();
        api.update_settings(req(
            "acme",
            "root",
            &admin,
            pb::UpdateSettingsRequest {
                settings: Some(pb::Settings {
                    self_evaluation_enabled: true,
                    ..current
                }),
            },
        ))
        .await
        .unwrap();
        let mine = api
            .create_evaluation(own("s2", "i-2"))
            .await
            .unwrap()
            .into_inner()
            .evaluation
            .unwrap();
        assert_eq!(mine.kind, pb::EvaluationKind::Self_ as i32);
        assert_eq!(mine.evaluator_id, "agent-7");
        // Sampling hides another agent's interaction: NOT_FOUND.
        assert_eq!(
            code(api.create_evaluation(own("s3", "i-3")).await),
            Code::NotFound
        );
        // A self-evaluation submits and stops there: it is never released.
        let submitted = api
            .submit_evaluation(req(
                "acme",
                "agent-7",
                &[Role::Agent],
                pb::SubmitEvaluationRequest {
                    evaluation_id: mine.id.clone(),
                    etag: mine.etag.clone(),
                    content: Some(pb::DraftContent {
                        answers: answers(),
                        overall_comment: String::new(),
                    }),
                },
            ))
            .await
            .unwrap()
            .into_inner()
            .evaluation
            .unwrap();
        assert_eq!(
            code(
                api.release_evaluation(req(
                    "acme",
                    "quinn",
                    &[Role::QaManager],
                    pb::ReleaseEvaluationRequest {
                        evaluation_id: mine.id.clone(),
                        etag: submitted.etag,
                    },
                ))
                .await
            ),
            Code::FailedPrecondition
        );

        h.stop.cancel();
    }
}
