//! Calibration over real gRPC, on SQLite and PostgreSQL: blind sessions leak
//! nothing before close (responses, per-answer counts, scores: through every
//! RPC and the change feed), the expert and consensus flows, identities,
//! validation, idempotency, optimistic concurrency, ComputeAgreement, and
//! tenant isolation.
//!
//! Calibration runs alone here, against small in-test sampling and scoring
//! servers that implement just the calls calibration makes
//! (`GetInteraction`, `DrawInteractions`, `GetEvaluator`,
//! `GetScorecardVersion`, `ScoreAnswers`) per their contracts. The fakes
//! record every call, so the tests also check that calibration forwards the
//! caller's token. `full_flow.rs`-style tests against the real sampling and
//! scoring services belong beside these once those services are built.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::{Arc, Mutex};
use std::time::Duration;

use earshot_kit::{
    auth::Role,
    config::{Config, ServiceKind},
    testing::{self, Engine, TestStorage},
};
use earshot_proto::calibration::v1::{
    self as pb, calibration_service_client::CalibrationServiceClient,
};
use earshot_proto::common::v1::{self as common, Answer, answer};
use earshot_proto::sampling::v1::{
    self as sampling,
    sampling_service_server::{SamplingService, SamplingServiceServer},
};
use earshot_proto::scoring::v1::{
    self as scoring,
    scoring_service_client::ScoringServiceClient,
    scoring_service_server::{ScoringService, ScoringServiceServer},
};
use earshot_tests::Bearer;
use prost::Message as _;
use tokio_util::sync::CancellationToken;
use tonic::{
    Code, Request, Response, Status, service::interceptor::InterceptedService, transport::Channel,
};

// ------------------------------------------------------------------ fakes

/// What the fakes saw: (rpc, bearer token present).
type Calls = Arc<Mutex<Vec<(String, bool)>>>;

fn record<T>(calls: &Calls, rpc: &str, req: &Request<T>) {
    let authed = req
        .metadata()
        .get("authorization")
        .is_some_and(|v| v.to_str().unwrap_or("").starts_with("Bearer "));
    calls.lock().unwrap().push((rpc.to_owned(), authed));
}

#[derive(Clone)]
struct FakeSampling {
    calls: Calls,
}

fn interaction(id: &str) -> sampling::Interaction {
    sampling::Interaction {
        id: id.to_owned(),
        channel: common::Channel::Voice as i32,
        agent_id: format!("agent-of-{id}"),
        team_id: "blue".into(),
        queue_id: "billing".into(),
        arrived_time: Some(prost_types::Timestamp {
            seconds: 1_760_000_000,
            nanos: 0,
        }),
        ..Default::default()
    }
}

#[tonic::async_trait]
impl SamplingService for FakeSampling {
    async fn get_interaction(
        &self,
        request: Request<sampling::GetInteractionRequest>,
    ) -> Result<Response<sampling::GetInteractionResponse>, Status> {
        record(&self.calls, "GetInteraction", &request);
        let id = request.into_inner().interaction_id;
        if id.starts_with("unknown") {
            return Err(Status::not_found("no such interaction"));
        }
        Ok(Response::new(sampling::GetInteractionResponse {
            interaction: Some(interaction(&id)),
        }))
    }

    async fn draw_interactions(
        &self,
        request: Request<sampling::DrawInteractionsRequest>,
    ) -> Result<Response<sampling::DrawInteractionsResponse>, Status> {
        record(&self.calls, "DrawInteractions", &request);
        let req = request.into_inner();
        let matched = 5_i64;
        if i64::from(req.count) > matched && !req.allow_fewer {
            return Err(Status::failed_precondition(format!(
                "only {matched} interactions match"
            )));
        }
        let excluded = req
            .filter
            .map(|f| f.exclude_interaction_ids)
            .unwrap_or_default();
        let interactions = (0..matched)
            .map(|k| format!("drawn-{k}"))
            .filter(|id| !excluded.contains(id))
            .take(req.count as usize)
            .map(|id| interaction(&id))
            .collect();
        Ok(Response::new(sampling::DrawInteractionsResponse {
            interactions,
            seed: if req.seed == 0 { 4242 } else { req.seed },
            matched,
        }))
    }

    async fn get_evaluator(
        &self,
        request: Request<sampling::GetEvaluatorRequest>,
    ) -> Result<Response<sampling::GetEvaluatorResponse>, Status> {
        record(&self.calls, "GetEvaluator", &request);
        let id = request.into_inner().evaluator_id;
        if id.starts_with("stranger") {
            return Err(Status::not_found("no such evaluator"));
        }
        Ok(Response::new(sampling::GetEvaluatorResponse {
            evaluator: Some(sampling::Evaluator {
                display_name: format!("Evaluator {id}"),
                id,
                active: true,
                ..Default::default()
            }),
        }))
    }
}

#[derive(Clone)]
struct FakeScoring {
    calls: Calls,
}

fn question(id: &str, kind: scoring::question::Kind, na: bool) -> scoring::Question {
    scoring::Question {
        id: id.into(),
        text: id.into(),
        kind: Some(kind),
        not_applicable_allowed: na,
        ..Default::default()
    }
}

/// greet (yes/no), tone (scale 1-5, N/A allowed), outcome (solved 1 /
/// escalated 0): each worth one point.
fn scorecard() -> scoring::ScorecardVersion {
    use scoring::question::Kind;
    scoring::ScorecardVersion {
        scorecard_id: "sc-1".into(),
        version: 1,
        definition: Some(scoring::ScorecardDefinition {
            name: "Calls".into(),
            sections: vec![scoring::Section {
                id: "s1".into(),
                title: "All".into(),
                questions: vec![
                    question(
                        "greet",
                        Kind::YesNo(scoring::YesNoQuestion::default()),
                        false,
                    ),
                    question(
                        "tone",
                        Kind::Scale(scoring::ScaleQuestion {
                            min: 1,
                            max: 5,
                            pass_from: None,
                        }),
                        true,
                    ),
                    question(
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
        }),
        ..Default::default()
    }
}

#[tonic::async_trait]
impl ScoringService for FakeScoring {
    async fn get_scorecard_version(
        &self,
        request: Request<scoring::GetScorecardVersionRequest>,
    ) -> Result<Response<scoring::GetScorecardVersionResponse>, Status> {
        record(&self.calls, "GetScorecardVersion", &request);
        let req = request.into_inner();
        if req.scorecard_id != "sc-1" || req.version != 1 {
            return Err(Status::not_found("no such scorecard version"));
        }
        Ok(Response::new(scoring::GetScorecardVersionResponse {
            version: Some(scorecard()),
        }))
    }

    async fn score_answers(
        &self,
        request: Request<scoring::ScoreAnswersRequest>,
    ) -> Result<Response<scoring::ScoreAnswersResponse>, Status> {
        record(&self.calls, "ScoreAnswers", &request);
        let req = request.into_inner();
        let mut problems = Vec::new();
        let mut questions = Vec::new();
        let (mut earned, mut possible) = (0.0, 0.0);
        for q in ["greet", "tone", "outcome"] {
            let a = req.answers.iter().find(|a| a.question_id == q);
            let (status, e, p) = match a.and_then(|a| a.value.as_ref()) {
                None => {
                    problems.push(scoring::AnswerProblem {
                        question_id: q.into(),
                        kind: scoring::AnswerProblemKind::MissingAnswer as i32,
                        field: "answers".into(),
                        description: format!("{q} needs an answer"),
                    });
                    (scoring::QuestionStatus::Unanswered, 0.0, 0.0)
                }
                Some(answer::Value::NotApplicable(_)) => {
                    (scoring::QuestionStatus::NotApplicable, 0.0, 0.0)
                }
                Some(answer::Value::Yes(y)) => (
                    scoring::QuestionStatus::Answered,
                    if *y { 1.0 } else { 0.0 },
                    1.0,
                ),
                Some(answer::Value::ScaleValue(v)) => (
                    scoring::QuestionStatus::Answered,
                    (f64::from(*v) - 1.0) / 4.0,
                    1.0,
                ),
                Some(answer::Value::OptionId(o)) => (
                    scoring::QuestionStatus::Answered,
                    if o == "solved" { 1.0 } else { 0.0 },
                    1.0,
                ),
            };
            earned += e;
            possible += p;
            questions.push(scoring::QuestionResult {
                question_id: q.into(),
                section_id: "s1".into(),
                status: status as i32,
                earned_points: e,
                possible_points: p,
                failed: p > 0.0 && e < p,
                critical: false,
            });
        }
        let total = if possible > 0.0 {
            100.0 * earned / possible
        } else {
            0.0
        };
        Ok(Response::new(scoring::ScoreAnswersResponse {
            result: Some(scoring::ScoreResult {
                total_score: total,
                total_scored: possible > 0.0,
                raw_total_score: total,
                questions,
                ..Default::default()
            }),
            problems,
            scorecard_version: 1,
        }))
    }
}

// --------------------------------------------------------------- harness

struct Env {
    suite: Option<earshot::Suite>,
    calls: Calls,
    fakes: CancellationToken,
    _storage: TestStorage,
}

type Client = CalibrationServiceClient<InterceptedService<Channel, Bearer>>;

impl Env {
    async fn start(engine: Engine) -> Env {
        Env::start_with(engine, false).await
    }

    /// Calibration, with sampling faked and scoring faked too or (with
    /// `real_scoring`) the real scoring service running beside it.
    async fn start_with(engine: Engine, real_scoring: bool) -> Env {
        earshot_kit::telemetry::init_for_tests();
        let storage = TestStorage::new(engine).await.unwrap();
        let calls: Calls = Arc::default();
        let fakes = CancellationToken::new();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let fake_url = format!("http://{}", listener.local_addr().unwrap());
        let incoming =
            tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true));
        let server = tonic::transport::Server::builder()
            .add_service(SamplingServiceServer::new(FakeSampling {
                calls: calls.clone(),
            }))
            .add_service(ScoringServiceServer::new(FakeScoring {
                calls: calls.clone(),
            }))
            .serve_with_incoming_shutdown(incoming, fakes.clone().cancelled_owned());
        tokio::spawn(server);

        let mut config = Config {
            data_dir: storage.dir.path().to_path_buf(),
            ..Config::default()
        };
        config.database.url = storage.postgres_url.clone();
        config.database.max_connections = 4;
        config.auth.hs256_secret = Some(testing::TEST_SECRET.into());
        config.server.shutdown_grace = Duration::from_secs(2);
        config.service_mut(ServiceKind::Calibration).port = Some(0);
        config.service_mut(ServiceKind::Sampling).endpoint = Some(fake_url.clone());
        let services = if real_scoring {
            config.service_mut(ServiceKind::Scoring).port = Some(0);
            vec![ServiceKind::Calibration, ServiceKind::Scoring]
        } else {
            config.service_mut(ServiceKind::Scoring).endpoint = Some(fake_url);
            vec![ServiceKind::Calibration]
        };
        let suite = earshot::start(config, &services, CancellationToken::new())
            .await
            .unwrap();
        Env {
            suite: Some(suite),
            calls,
            fakes,
            _storage: storage,
        }
    }

    async fn client(&self, tenant: &str, subject: &str, roles: &[Role]) -> Client {
        let url = self
            .suite
            .as_ref()
            .and_then(|s| s.url(ServiceKind::Calibration))
            .unwrap();
        let channel = Channel::from_shared(url).unwrap().connect().await.unwrap();
        let token = testing::token(tenant, subject, roles);
        CalibrationServiceClient::new(InterceptedService::new(
            channel,
            Bearer::new(&token).unwrap(),
        ))
    }

    async fn scoring(
        &self,
        tenant: &str,
        subject: &str,
        roles: &[Role],
    ) -> ScoringServiceClient<InterceptedService<Channel, Bearer>> {
        let url = self
            .suite
            .as_ref()
            .and_then(|s| s.url(ServiceKind::Scoring))
            .unwrap();
        let channel = Channel::from_shared(url).unwrap().connect().await.unwrap();
        let token = testing::token(tenant, subject, roles);
        ScoringServiceClient::new(InterceptedService::new(
            channel,
            Bearer::new(&token).unwrap(),
        ))
    }

    async fn stop(mut self) {
        if let Some(s) = self.suite.take() {
            s.stop().await.unwrap();
        }
        self.fakes.cancel();
    }
}

async fn manager(env: &Env, tenant: &str) -> Client {
    env.client(tenant, "mgr", &[Role::QaManager]).await
}

async fn evaluator(env: &Env, tenant: &str, who: &str) -> Client {
    env.client(tenant, who, &[Role::Evaluator]).await
}

fn yes(q: &str, y: bool) -> Answer {
    Answer {
        question_id: q.into(),
        value: Some(answer::Value::Yes(y)),
        comment: String::new(),
    }
}

fn scale(q: &str, v: i32) -> Answer {
    Answer {
        question_id: q.into(),
        value: Some(answer::Value::ScaleValue(v)),
        comment: String::new(),
    }
}

fn choice(q: &str, o: &str) -> Answer {
    Answer {
        question_id: q.into(),
        value: Some(answer::Value::OptionId(o.into())),
        comment: String::new(),
    }
}

/// A full answer set: greet, tone, outcome.
fn answers(greet: bool, tone: i32, solved: bool) -> Vec<Answer> {
    vec![
        yes("greet", greet),
        scale("tone", tone),
        choice("outcome", if solved { "solved" } else { "escalated" }),
    ]
}

fn create_request(
    request_id: &str,
    mode: pb::SessionMode,
    expert: &str,
    participants: &[&str],
    interactions: &[&str],
) -> pb::CreateSessionRequest {
    pb::CreateSessionRequest {
        request_id: request_id.into(),
        name: "Week 47".into(),
        description: String::new(),
        scorecard_id: "sc-1".into(),
        scorecard_version: 1,
        mode: mode as i32,
        expert_participant_id: expert.into(),
        participant_ids: participants.iter().map(|p| (*p).to_owned()).collect(),
        interactions: Some(pb::create_session_request::Interactions::Chosen(
            pb::InteractionList {
                interaction_ids: interactions.iter().map(|i| (*i).to_owned()).collect(),
            },
        )),
        due_time: None,
    }
}

async fn create(client: &mut Client, req: pb::CreateSessionRequest) -> pb::Session {
    client
        .create_session(req)
        .await
        .unwrap()
        .into_inner()
        .session
        .unwrap()
}

async fn submit(
    client: &mut Client,
    session: &str,
    interaction: &str,
    answers: Vec<Answer>,
    comment: &str,
    etag: &str,
) -> Result<pb::Response, Status> {
    let request_id = format!("{session}/{interaction}/{comment}/{etag}");
    client
        .submit_response(pb::SubmitResponseRequest {
            request_id: request_id.chars().take(100).collect(),
            session_id: session.into(),
            interaction_id: interaction.into(),
            answers,
            comment: comment.into(),
            etag: etag.into(),
        })
        .await
        .map(|r| r.into_inner().response.unwrap())
}

async fn session(client: &mut Client, id: &str) -> Result<pb::Session, Status> {
    client
        .get_session(pb::GetSessionRequest {
            session_id: id.into(),
        })
        .await
        .map(|r| r.into_inner().session.unwrap())
}

async fn close(client: &mut Client, id: &str, etag: &str) -> (pb::Session, pb::SessionResults) {
    let r = client
        .close_session(pb::CloseSessionRequest {
            session_id: id.into(),
            etag: etag.into(),
        })
        .await
        .unwrap()
        .into_inner();
    (r.session.unwrap(), r.results.unwrap())
}

async fn get_response(
    client: &mut Client,
    session: &str,
    interaction: &str,
    participant: &str,
) -> Result<pb::Response, Status> {
    client
        .get_response(pb::GetResponseRequest {
            session_id: session.into(),
            interaction_id: interaction.into(),
            participant_id: participant.into(),
        })
        .await
        .map(|r| r.into_inner().response.unwrap())
}

async fn list_responses(client: &mut Client, session: &str) -> Result<Vec<pb::Response>, Status> {
    let mut out = Vec::new();
    let mut token = String::new();
    loop {
        let page = client
            .list_responses(pb::ListResponsesRequest {
                session_id: session.into(),
                page_size: 2,
                page_token: token,
                ..Default::default()
            })
            .await?
            .into_inner();
        out.extend(page.responses);
        if page.next_page_token.is_empty() {
            return Ok(out);
        }
        token = page.next_page_token;
    }
}

async fn results(client: &mut Client, id: &str) -> Result<pb::SessionResults, Status> {
    client
        .get_session_results(pb::GetSessionResultsRequest {
            session_id: id.into(),
        })
        .await
        .map(|r| r.into_inner().results.unwrap())
}

/// Every event of the caller's feed (not following).
async fn feed(client: &mut Client) -> Vec<pb::Event> {
    let mut stream = client
        .stream_events(pb::StreamEventsRequest {
            after_sequence: 0,
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

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn code<T: std::fmt::Debug>(r: Result<T, Status>) -> Code {
    match r {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(s) => s.code(),
    }
}

fn progress(s: &pb::Session, participant: &str) -> Option<pb::ParticipantProgress> {
    s.participants
        .iter()
        .find(|p| p.participant_id == participant)
        .and_then(|p| p.progress)
}

// ------------------------------------------------------------------ tests

/// Before close nobody but the author sees a response, its score, or any
/// count per answer: not other participants, not the manager, not an
/// admin, not the service role; not through GetResponse, ListResponses,
/// GetSessionResults, GetSession, ListSessions or the change feed. Managers
/// see progress only. After close everything is visible, missing responses
/// as missing.
#[tokio::test]
async fn blind_session_leaks_nothing_before_close() {
    for engine in Engine::available() {
        let env = Env::start(engine).await;
        let mut mgr = manager(&env, "acme").await;
        let mut admin = env.client("acme", "root", &[Role::Admin]).await;
        let mut system = env.client("acme", "svc", &[Role::Service]).await;
        let mut ann = evaluator(&env, "acme", "ann").await;
        let mut bob = evaluator(&env, "acme", "bob").await;
        let s = create(
            &mut mgr,
            create_request(
                "r1",
                pb::SessionMode::Blind,
                "",
                &["ann", "bob", "cy"],
                &["i1", "i2"],
            ),
        )
        .await;
        assert_eq!(s.state, pb::SessionState::Open as i32);
        assert_eq!(s.participants[0].display_name, "Evaluator ann");
        assert_eq!(s.interactions[0].agent_id, "agent-of-i1");
        let id = s.session_id.clone();

        // Calibration called its peers with the caller's token.
        {
            let calls = env.calls.lock().unwrap();
            assert!(calls.iter().all(|(_, authed)| *authed), "{calls:?}");
            assert!(calls.iter().any(|(rpc, _)| rpc == "GetScorecardVersion"));
            assert_eq!(
                calls
                    .iter()
                    .filter(|(rpc, _)| rpc == "GetEvaluator")
                    .count(),
                3
            );
        }

        const SECRET: &str = "ann-secret-comment-7f3a";
        let mine = submit(&mut ann, &id, "i1", answers(true, 5, true), SECRET, "")
            .await
            .unwrap();
        assert_eq!(mine.status, pb::ResponseStatus::Submitted as i32);
        assert_eq!(mine.score.as_ref().unwrap().total_score, 100.0);
        assert_eq!(mine.revision, 1);

        // The author reads it; nobody else does, whether or not it exists.
        assert_eq!(
            get_response(&mut ann, &id, "i1", "").await.unwrap().comment,
            SECRET
        );
        for (who, client) in [
            ("bob", &mut bob),
            ("mgr", &mut mgr),
            ("admin", &mut admin),
            ("service", &mut system),
        ] {
            assert_eq!(
                code(get_response(client, &id, "i1", "ann").await),
                Code::PermissionDenied,
                "{who} read ann's response"
            );
            assert_eq!(
                code(get_response(client, &id, "i2", "ann").await),
                Code::PermissionDenied,
                "{who} learned that ann's other response is missing"
            );
            let listed = list_responses(client, &id).await.unwrap();
            assert!(listed.is_empty(), "{who} listed {listed:?}");
            assert_eq!(
                code(results(client, &id).await),
                Code::FailedPrecondition,
                "{who} read results"
            );
        }
        let own = list_responses(&mut ann, &id).await.unwrap();
        assert_eq!(own.len(), 1);
        assert_eq!(
            code(get_response(&mut bob, &id, "i1", "").await),
            Code::NotFound
        );

        // Progress: ann and managers see it; bob does not see ann's.
        let seen_by_bob = session(&mut bob, &id).await.unwrap();
        assert_eq!(progress(&seen_by_bob, "ann"), None);
        assert_eq!(
            progress(&seen_by_bob, "bob").unwrap().responses_submitted,
            0
        );
        let seen_by_mgr = session(&mut mgr, &id).await.unwrap();
        let p = progress(&seen_by_mgr, "ann").unwrap();
        assert_eq!((p.responses_submitted, p.responses_expected), (1, 2));
        assert!(p.last_submit_time.is_some());
        // Submitting did not move the session's etag (nor anything else).
        assert_eq!(seen_by_mgr.etag, s.etag);
        assert_eq!(seen_by_mgr.update_time, s.update_time);
        let listed = bob
            .list_sessions(pb::ListSessionsRequest::default())
            .await
            .unwrap()
            .into_inner()
            .sessions;
        assert_eq!(listed.len(), 1);
        assert_eq!(progress(&listed[0], "ann"), None);

        // The feed carries the creation only, and nothing of the response.
        let events = feed(&mut admin).await;
        assert_eq!(events.len(), 1);
        assert!(matches!(
            events[0].payload,
            Some(pb::event::Payload::SessionCreated(_))
        ));
        for e in &events {
            let bytes = e.encode_to_vec();
            assert!(!contains(&bytes, SECRET.as_bytes()));
        }
        let all_tenants = feed(&mut system).await;
        assert_eq!(all_tenants.len(), 1);
        assert_eq!(all_tenants[0].tenant_id, "acme");
        assert_eq!(
            code(ann.stream_events(pb::StreamEventsRequest::default()).await),
            Code::PermissionDenied
        );

        // bob responds late for i1 (after moving the due time forward is not
        // possible, so check lateness later) and revises once.
        let b1 = submit(&mut bob, &id, "i1", answers(false, 3, true), "", "")
            .await
            .unwrap();
        assert_eq!(
            code(submit(&mut bob, &id, "i1", answers(false, 3, true), "again", "").await),
            Code::Aborted
        );
        assert_eq!(
            code(
                submit(
                    &mut bob,
                    &id,
                    "i1",
                    answers(false, 3, true),
                    "stale",
                    "nope"
                )
                .await
            ),
            Code::Aborted
        );
        let b1 = submit(
            &mut bob,
            &id,
            "i1",
            answers(true, 3, true),
            "revised",
            &b1.etag,
        )
        .await
        .unwrap();
        assert_eq!(b1.revision, 2);
        submit(&mut bob, &id, "i2", answers(true, 1, false), "", "")
            .await
            .unwrap();

        // Close: results computed, everything now visible.
        let current = session(&mut mgr, &id).await.unwrap();
        assert_eq!(
            code(
                mgr.close_session(pb::CloseSessionRequest {
                    session_id: id.clone(),
                    etag: "stale".into()
                })
                .await
            ),
            Code::Aborted
        );
        let (closed, res) = close(&mut mgr, &id, &current.etag).await;
        assert_eq!(closed.state, pb::SessionState::Closed as i32);
        assert!(!res.provisional);
        assert_eq!((res.responses_expected, res.responses_submitted), (6, 3));
        let i1 = &res.interactions[0];
        let reference = i1.reference.as_ref().unwrap();
        assert_eq!(reference.source, pb::ReferenceSource::GroupMedian as i32);
        // ann 100, bob 2/3 * 100 (greet yes, tone 3 = 0.5, solved): median of two.
        let bob_total = 100.0 * 2.5 / 3.0;
        assert!((reference.total_score.unwrap() - (100.0 + bob_total) / 2.0).abs() < 1e-9);
        assert_eq!(i1.scores[2].status, pb::ResponseStatus::Missing as i32);
        assert_eq!(res.questions.len(), 3);
        assert_eq!(res.questions[0].answer_counts[0].count, 3);

        assert_eq!(
            get_response(&mut bob, &id, "i1", "ann")
                .await
                .unwrap()
                .comment,
            SECRET
        );
        let all = list_responses(&mut mgr, &id).await.unwrap();
        assert_eq!(all.len(), 6);
        let statuses: Vec<i32> = all.iter().map(|r| r.status).collect();
        use pb::ResponseStatus::{Missing as M, Submitted as S};
        assert_eq!(
            statuses,
            vec![S as i32, S as i32, M as i32, M as i32, S as i32, M as i32]
        );
        assert_eq!(
            get_response(&mut mgr, &id, "i2", "cy")
                .await
                .unwrap()
                .status,
            M as i32
        );
        assert_eq!(
            results(&mut bob, &id).await.unwrap(),
            results(&mut mgr, &id).await.unwrap()
        );
        // Closed: no more responses, no second close.
        assert_eq!(
            code(submit(&mut ann, &id, "i2", answers(true, 5, true), "too late", "").await),
            Code::FailedPrecondition
        );
        let events = feed(&mut admin).await;
        assert_eq!(events.len(), 2);
        match &events[1].payload {
            Some(pb::event::Payload::SessionClosed(c)) => {
                assert_eq!(c.results.as_ref().unwrap().session_id, id);
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(events[1].sequence > events[0].sequence);
        env.stop().await;
    }
}

/// The expert's response is the reference; where the expert did not
/// respond, the group stands in and says so. Identities can be hidden from
/// participants; lateness is judged against the due time.
#[tokio::test]
async fn expert_flow() {
    for engine in Engine::available() {
        let env = Env::start(engine).await;
        let mut mgr = manager(&env, "acme").await;
        let mut ann = evaluator(&env, "acme", "ann").await;
        let mut bob = evaluator(&env, "acme", "bob").await;
        let mut cy = evaluator(&env, "acme", "cy").await;
        // Participants see pseudonyms for each other in this tenant.
        let settings = mgr
            .update_settings(pb::UpdateSettingsRequest {
                settings: Some(pb::Settings {
                    reveal_identities_to_participants: false,
                    tolerance_points: 10.0,
                    ..Default::default()
                }),
                update_mask: Some(prost_types::FieldMask {
                    paths: vec![
                        "reveal_identities_to_participants".into(),
                        "tolerance_points".into(),
                    ],
                }),
                etag: String::new(),
            })
            .await
            .unwrap()
            .into_inner()
            .settings
            .unwrap();
        assert!(!settings.reveal_identities_to_participants);
        assert!(!settings.etag.is_empty());

        let s = create(
            &mut mgr,
            create_request(
                "r1",
                pb::SessionMode::Expert,
                "bob",
                &["ann", "bob", "cy"],
                &["i1", "i2"],
            ),
        )
        .await;
        assert_eq!(s.tolerance_points, 10.0);
        assert_eq!(s.expert_participant_id, "bob");
        let id = s.session_id.clone();
        // ann sees cy and bob under pseudonyms, herself by name.
        let seen = session(&mut ann, &id).await.unwrap();
        let names: Vec<&str> = seen
            .participants
            .iter()
            .map(|p| p.participant_id.as_str())
            .collect();
        assert_eq!(names, vec!["ann", "participant-2", "participant-3"]);
        assert_eq!(seen.expert_participant_id, "participant-2");

        // Expert bob: 100 on i1 only. ann: 100 and 0; cy: 0 (i1), late on i2
        // after the due time moves into the past... due times must be in the
        // future, so lateness is checked with a short due time instead.
        submit(&mut bob, &id, "i1", answers(true, 5, true), "", "")
            .await
            .unwrap();
        submit(&mut ann, &id, "i1", answers(true, 5, true), "", "")
            .await
            .unwrap();
        submit(&mut ann, &id, "i2", answers(false, 1, false), "", "")
            .await
            .unwrap();
        submit(&mut cy, &id, "i1", answers(false, 1, false), "", "")
            .await
            .unwrap();
        submit(&mut cy, &id, "i2", answers(false, 1, true), "", "")
            .await
            .unwrap();
        let current = session(&mut mgr, &id).await.unwrap();
        let (_, res) = close(&mut mgr, &id, &current.etag).await;
        let i1 = &res.interactions[0];
        let r1 = i1.reference.as_ref().unwrap();
        assert_eq!(r1.source, pb::ReferenceSource::Expert as i32);
        assert_eq!(r1.total_score, Some(100.0));
        assert_eq!(i1.scores[0].deviation, Some(0.0));
        assert!(i1.scores[0].within_tolerance);
        assert_eq!(
            i1.scores[1].deviation, None,
            "the expert is not compared with themselves"
        );
        assert_eq!(i1.scores[2].deviation, Some(-100.0));
        let r2 = res.interactions[1].reference.as_ref().unwrap();
        assert!(r2.fell_back_to_group);
        assert_eq!(r2.source, pb::ReferenceSource::GroupMedian as i32);
        let expert = res
            .participants
            .iter()
            .find(|p| p.participant_id == "bob")
            .unwrap();
        assert!(expert.expert);
        let cy_result = res
            .participants
            .iter()
            .find(|p| p.participant_id == "cy")
            .unwrap();
        assert!(cy_result.mean_deviation_exceeds_tolerance);
        assert_eq!(cy_result.responses_missing, 0);

        // Participants read results with others pseudonymised; the manager
        // sees names.
        let for_ann = results(&mut ann, &id).await.unwrap();
        let ids: Vec<&str> = for_ann
            .participants
            .iter()
            .map(|p| p.participant_id.as_str())
            .collect();
        assert_eq!(ids, vec!["ann", "participant-2", "participant-3"]);
        assert_eq!(
            for_ann.interactions[0]
                .reference
                .as_ref()
                .unwrap()
                .expert_participant_id,
            "participant-2"
        );
        assert_eq!(for_ann.pairs[0].participant_b, "participant-2");
        let r = get_response(&mut ann, &id, "i1", "participant-3")
            .await
            .unwrap();
        assert_eq!(r.participant_id, "participant-3");
        assert_eq!(r.score.unwrap().total_score, 0.0);
        let for_mgr = results(&mut mgr, &id).await.unwrap();
        assert_eq!(for_mgr.participants[1].participant_id, "bob");

        // Trend: one point for cy, and only cy or a manager may read it.
        let trend = cy
            .get_participant_trend(pb::GetParticipantTrendRequest::default())
            .await
            .unwrap()
            .into_inner();
        assert_eq!(trend.points.len(), 1);
        assert_eq!(trend.participant_id, "cy");
        assert_eq!(
            code(
                ann.get_participant_trend(pb::GetParticipantTrendRequest {
                    participant_id: "cy".into(),
                    ..Default::default()
                })
                .await
            ),
            Code::PermissionDenied
        );
        let t = mgr
            .get_participant_trend(pb::GetParticipantTrendRequest {
                participant_id: "cy".into(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(t.points, trend.points);
        env.stop().await;
    }
}

/// Consensus: close gives provisional group-referenced results; the
/// recorded consensus becomes the reference, results become final, and the
/// feed carries each step.
#[tokio::test]
async fn consensus_flow() {
    for engine in Engine::available() {
        let env = Env::start(engine).await;
        let mut mgr = manager(&env, "acme").await;
        let mut admin = env.client("acme", "root", &[Role::Admin]).await;
        let mut ann = evaluator(&env, "acme", "ann").await;
        let mut bob = evaluator(&env, "acme", "bob").await;
        let s = create(
            &mut mgr,
            create_request(
                "r1",
                pb::SessionMode::Consensus,
                "",
                &["ann", "bob"],
                &["i1", "i2"],
            ),
        )
        .await;
        let id = s.session_id.clone();
        submit(&mut ann, &id, "i1", answers(true, 5, true), "", "")
            .await
            .unwrap();
        submit(&mut bob, &id, "i1", answers(true, 1, true), "", "")
            .await
            .unwrap();
        submit(&mut ann, &id, "i2", answers(false, 3, false), "", "")
            .await
            .unwrap();
        // Consensus before close is refused.
        assert_eq!(
            code(
                mgr.record_consensus(pb::RecordConsensusRequest {
                    session_id: id.clone(),
                    etag: s.etag.clone(),
                    consensus: vec![],
                })
                .await
            ),
            Code::FailedPrecondition
        );
        let (closed, provisional) = close(&mut mgr, &id, &s.etag).await;
        assert_eq!(closed.state, pb::SessionState::AwaitingConsensus as i32);
        assert!(provisional.provisional);
        assert_eq!(results(&mut ann, &id).await.unwrap(), provisional);
        // Submissions are closed.
        assert_eq!(
            code(submit(&mut bob, &id, "i2", answers(true, 5, true), "", "").await),
            Code::FailedPrecondition
        );

        let entry = |i: &str, agreed: Option<Vec<Answer>>| pb::InteractionConsensus {
            interaction_id: i.into(),
            outcome: Some(match agreed {
                Some(answers) => {
                    pb::interaction_consensus::Outcome::Answers(pb::ConsensusAnswers {
                        answers,
                        comment: "agreed in the meeting".into(),
                    })
                }
                None => pb::interaction_consensus::Outcome::NoConsensus(true),
            }),
        };
        // Every interaction needs an entry; answers must fit the scorecard.
        let bad = mgr
            .record_consensus(pb::RecordConsensusRequest {
                session_id: id.clone(),
                etag: closed.etag.clone(),
                consensus: vec![entry("i1", Some(vec![scale("greet", 3)]))],
            })
            .await
            .unwrap_err();
        assert_eq!(bad.code(), Code::InvalidArgument);
        assert!(
            bad.message().contains("consensus[0].answers.answers[0]"),
            "{}",
            bad.message()
        );
        assert!(
            bad.message().contains("\"i2\" has no entry"),
            "{}",
            bad.message()
        );

        let done = mgr
            .record_consensus(pb::RecordConsensusRequest {
                session_id: id.clone(),
                etag: closed.etag.clone(),
                consensus: vec![entry("i1", Some(answers(true, 3, true))), entry("i2", None)],
            })
            .await
            .unwrap()
            .into_inner();
        let session = done.session.unwrap();
        let res = done.results.unwrap();
        assert_eq!(session.state, pb::SessionState::Closed as i32);
        assert!(!res.provisional);
        let r1 = res.interactions[0].reference.as_ref().unwrap();
        assert_eq!(r1.source, pb::ReferenceSource::Consensus as i32);
        let consensus_total = 100.0 * 2.5 / 3.0;
        assert!((r1.total_score.unwrap() - consensus_total).abs() < 1e-9);
        assert!(
            (res.interactions[0].scores[0].deviation.unwrap() - (100.0 - consensus_total)).abs()
                < 1e-9
        );
        assert!(
            res.interactions[1]
                .reference
                .as_ref()
                .unwrap()
                .fell_back_to_group
        );
        assert_eq!(results(&mut bob, &id).await.unwrap(), res);
        // Final: no second consensus, no cancel.
        assert_eq!(
            code(
                mgr.cancel_session(pb::CancelSessionRequest {
                    session_id: id.clone(),
                    etag: session.etag.clone(),
                    reason: "oops".into(),
                })
                .await
            ),
            Code::FailedPrecondition
        );
        let kinds: Vec<&str> = feed(&mut admin)
            .await
            .iter()
            .map(|e| match e.payload {
                Some(pb::event::Payload::SessionCreated(_)) => "created",
                Some(pb::event::Payload::SessionClosed(_)) => "closed",
                Some(pb::event::Payload::ConsensusRecorded(_)) => "consensus",
                Some(pb::event::Payload::SessionCancelled(_)) => "cancelled",
                None => "none",
            })
            .collect();
        assert_eq!(kinds, vec!["created", "closed", "consensus"]);
        let trend = ann
            .get_participant_trend(pb::GetParticipantTrendRequest::default())
            .await
            .unwrap()
            .into_inner();
        assert_eq!(trend.points.len(), 1);
        env.stop().await;
    }
}

/// One tenant can neither read nor change another's sessions, responses,
/// results, settings or feed, even with the same subjects and ids.
#[tokio::test]
async fn tenants_are_isolated() {
    for engine in Engine::available() {
        let env = Env::start(engine).await;
        let mut acme = manager(&env, "acme").await;
        let mut globex = manager(&env, "globex").await;
        let mut acme_ann = evaluator(&env, "acme", "ann").await;
        let mut globex_ann = evaluator(&env, "globex", "ann").await;
        let mut globex_admin = env.client("globex", "root", &[Role::Admin]).await;
        let s = create(
            &mut acme,
            create_request(
                "same-key",
                pb::SessionMode::Blind,
                "",
                &["ann", "bob"],
                &["i1"],
            ),
        )
        .await;
        let id = s.session_id.clone();
        submit(&mut acme_ann, &id, "i1", answers(true, 5, true), "", "")
            .await
            .unwrap();

        assert_eq!(code(session(&mut globex, &id).await), Code::NotFound);
        assert_eq!(code(session(&mut globex_ann, &id).await), Code::NotFound);
        let listed = globex
            .list_sessions(pb::ListSessionsRequest::default())
            .await
            .unwrap()
            .into_inner();
        assert!(listed.sessions.is_empty());
        assert_eq!(
            code(submit(&mut globex_ann, &id, "i1", answers(true, 5, true), "", "").await),
            Code::NotFound
        );
        assert_eq!(
            code(get_response(&mut globex_ann, &id, "i1", "").await),
            Code::NotFound
        );
        assert_eq!(code(list_responses(&mut globex, &id).await), Code::NotFound);
        assert_eq!(
            code(
                globex
                    .close_session(pb::CloseSessionRequest {
                        session_id: id.clone(),
                        etag: s.etag.clone(),
                    })
                    .await
            ),
            Code::NotFound
        );
        assert_eq!(
            code(
                globex
                    .cancel_session(pb::CancelSessionRequest {
                        session_id: id.clone(),
                        etag: s.etag.clone(),
                        reason: "mine now".into(),
                    })
                    .await
            ),
            Code::NotFound
        );
        // The same request id in another tenant makes another session.
        let other = create(
            &mut globex,
            create_request(
                "same-key",
                pb::SessionMode::Blind,
                "",
                &["ann", "bob"],
                &["i1"],
            ),
        )
        .await;
        assert_ne!(other.session_id, id);
        // Settings are per tenant.
        acme.update_settings(pb::UpdateSettingsRequest {
            settings: Some(pb::Settings {
                tolerance_points: 2.0,
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["tolerance_points".into()],
            }),
            etag: String::new(),
        })
        .await
        .unwrap();
        let g = globex
            .get_settings(pb::GetSettingsRequest {})
            .await
            .unwrap()
            .into_inner()
            .settings
            .unwrap();
        assert_eq!(g.tolerance_points, 5.0);
        // globex's feed holds only globex's session.
        let events = feed(&mut globex_admin).await;
        assert_eq!(events.len(), 1);
        assert!(events.iter().all(|e| e.tenant_id == "globex"));
        // acme's session is untouched.
        let still = session(&mut acme, &id).await.unwrap();
        assert_eq!(still.state, pb::SessionState::Open as i32);
        assert_eq!(still.etag, s.etag);
        env.stop().await;
    }
}

/// Bad input is refused with field-level errors and changes nothing;
/// retries are idempotent; roles are enforced; draws and cancellation work;
/// ComputeAgreement answers over gRPC.
#[tokio::test]
async fn validation_idempotency_roles_and_stateless_agreement() {
    for engine in Engine::available() {
        let env = Env::start(engine).await;
        let mut mgr = manager(&env, "acme").await;
        let mut ann = evaluator(&env, "acme", "ann").await;
        let mut agent = env.client("acme", "al", &[Role::Agent]).await;
        let mut outsider = evaluator(&env, "acme", "zed").await;

        let mut bad = create_request(
            "r1",
            pb::SessionMode::Expert,
            "nobody",
            &["ann", "ann"],
            &[],
        );
        bad.name = String::new();
        let err = mgr.create_session(bad).await.unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument);
        for field in [
            "name",
            "participant_ids[1]",
            "expert_participant_id",
            "chosen.interaction_ids",
        ] {
            assert!(err.message().contains(field), "{field}: {}", err.message());
        }
        let unknown = mgr
            .create_session(create_request(
                "r1",
                pb::SessionMode::Blind,
                "",
                &["ann", "stranger"],
                &["i1"],
            ))
            .await
            .unwrap_err();
        assert_eq!(unknown.code(), Code::NotFound);
        assert!(unknown.message().contains("stranger"));
        let mut wrong_card =
            create_request("r1", pb::SessionMode::Blind, "", &["ann", "bob"], &["i1"]);
        wrong_card.scorecard_version = 9;
        assert_eq!(code(mgr.create_session(wrong_card).await), Code::NotFound);
        assert_eq!(
            code(
                mgr.create_session(create_request(
                    "r1",
                    pb::SessionMode::Blind,
                    "",
                    &["ann", "bob"],
                    &["unknown-1"]
                ))
                .await
            ),
            Code::NotFound
        );
        assert!(
            mgr.list_sessions(pb::ListSessionsRequest::default())
                .await
                .unwrap()
                .into_inner()
                .sessions
                .is_empty()
        );
        assert_eq!(
            code(
                agent
                    .create_session(create_request(
                        "r1",
                        pb::SessionMode::Blind,
                        "",
                        &["ann", "bob"],
                        &["i1"]
                    ))
                    .await
            ),
            Code::PermissionDenied
        );

        // Idempotent create.
        let a = create(
            &mut mgr,
            create_request("r1", pb::SessionMode::Blind, "", &["ann", "bob"], &["i1"]),
        )
        .await;
        let b = create(
            &mut mgr,
            create_request("r1", pb::SessionMode::Blind, "", &["ann", "bob"], &["i1"]),
        )
        .await;
        assert_eq!(a.session_id, b.session_id);
        let id = a.session_id.clone();
        assert_eq!(code(session(&mut outsider, &id).await), Code::NotFound);
        // An agent's role can never see a session: refused before lookup.
        assert_eq!(code(session(&mut agent, &id).await), Code::PermissionDenied);
        assert_eq!(
            code(submit(&mut outsider, &id, "i1", answers(true, 5, true), "", "").await),
            Code::NotFound
        );
        assert_eq!(
            code(submit(&mut mgr, &id, "i1", answers(true, 5, true), "", "").await),
            Code::PermissionDenied
        );
        assert_eq!(
            code(submit(&mut ann, &id, "i9", answers(true, 5, true), "", "").await),
            Code::NotFound
        );

        // Answers that do not fit: one violation per bad answer, nothing stored.
        let err = submit(
            &mut ann,
            &id,
            "i1",
            vec![scale("greet", 3), scale("tone", 9), yes("nope", true)],
            "",
            "",
        )
        .await
        .unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument);
        for f in ["answers[0]", "answers[1]", "answers[2].question_id"] {
            assert!(err.message().contains(f), "{f}: {}", err.message());
        }
        // Scoring's problems (a missing answer) are field errors too.
        let err = submit(&mut ann, &id, "i1", vec![yes("greet", true)], "", "")
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument);
        assert_eq!(
            code(get_response(&mut ann, &id, "i1", "").await),
            Code::NotFound
        );

        // Idempotent submit: the same request id returns the stored response.
        let req = pb::SubmitResponseRequest {
            request_id: "sub-1".into(),
            session_id: id.clone(),
            interaction_id: "i1".into(),
            answers: answers(true, 5, true),
            comment: String::new(),
            etag: String::new(),
        };
        let first = ann
            .submit_response(req.clone())
            .await
            .unwrap()
            .into_inner()
            .response
            .unwrap();
        let again = ann
            .submit_response(req)
            .await
            .unwrap()
            .into_inner()
            .response
            .unwrap();
        assert_eq!(first, again);

        // Update: mask, etag, due time.
        let s = session(&mut mgr, &id).await.unwrap();
        let err = mgr
            .update_session(pb::UpdateSessionRequest {
                session_id: id.clone(),
                etag: s.etag.clone(),
                update_mask: Some(prost_types::FieldMask {
                    paths: vec!["mode".into()],
                }),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument);
        let updated = mgr
            .update_session(pb::UpdateSessionRequest {
                session_id: id.clone(),
                etag: s.etag.clone(),
                update_mask: Some(prost_types::FieldMask {
                    paths: vec!["name".into()],
                }),
                name: "Renamed".into(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .session
            .unwrap();
        assert_eq!(updated.name, "Renamed");
        assert_ne!(updated.etag, s.etag);
        assert_eq!(
            code(
                mgr.update_session(pb::UpdateSessionRequest {
                    session_id: id.clone(),
                    etag: s.etag.clone(),
                    update_mask: Some(prost_types::FieldMask {
                        paths: vec!["name".into()]
                    }),
                    name: "Lost update".into(),
                    ..Default::default()
                })
                .await
            ),
            Code::Aborted
        );

        // Cancel: responses never revealed, no results.
        let cancelled = mgr
            .cancel_session(pb::CancelSessionRequest {
                session_id: id.clone(),
                etag: updated.etag.clone(),
                reason: "wrong scorecard".into(),
            })
            .await
            .unwrap()
            .into_inner()
            .session
            .unwrap();
        assert_eq!(cancelled.state, pb::SessionState::Cancelled as i32);
        assert_eq!(code(results(&mut mgr, &id).await), Code::FailedPrecondition);
        assert_eq!(
            code(get_response(&mut mgr, &id, "i1", "ann").await),
            Code::PermissionDenied
        );

        // A drawn session records the seed sampling used and leaves out
        // interactions already calibrated when asked.
        let draw = |request_id: &str| {
            let mut r =
                create_request(request_id, pb::SessionMode::Blind, "", &["ann", "bob"], &[]);
            r.interactions = Some(pb::create_session_request::Interactions::Draw(
                pb::InteractionDraw {
                    criteria: Some(pb::InteractionCriteria {
                        time_range: Some(common::TimeRange {
                            start_time: Some(prost_types::Timestamp {
                                seconds: 1_750_000_000,
                                nanos: 0,
                            }),
                            end_time: Some(prost_types::Timestamp {
                                seconds: 1_760_000_000,
                                nanos: 0,
                            }),
                        }),
                        exclude_calibrated: true,
                        ..Default::default()
                    }),
                    count: 2,
                    seed: 0,
                },
            ));
            r
        };
        let d1 = create(&mut mgr, draw("d1")).await;
        let ids: Vec<&str> = d1
            .interactions
            .iter()
            .map(|i| i.interaction_id.as_str())
            .collect();
        assert_eq!(ids, vec!["drawn-0", "drawn-1"]);
        match d1.interaction_source.unwrap().source {
            Some(pb::interaction_source::Source::Drawn(d)) => assert_eq!(d.seed, 4242),
            other => panic!("{other:?}"),
        }
        let d2 = create(&mut mgr, draw("d2")).await;
        let ids: Vec<&str> = d2
            .interactions
            .iter()
            .map(|i| i.interaction_id.as_str())
            .collect();
        assert_eq!(ids, vec!["drawn-2", "drawn-3"]);
        assert_eq!(
            code(mgr.create_session(draw("d3")).await),
            Code::FailedPrecondition
        );

        // Listing pages newest first and filters by state.
        let mut token = String::new();
        let mut seen = Vec::new();
        loop {
            let page = mgr
                .list_sessions(pb::ListSessionsRequest {
                    page_size: 1,
                    page_token: token,
                    ..Default::default()
                })
                .await
                .unwrap()
                .into_inner();
            seen.extend(page.sessions.into_iter().map(|s| s.session_id));
            if page.next_page_token.is_empty() {
                break;
            }
            token = page.next_page_token;
        }
        assert_eq!(
            seen,
            vec![d2.session_id.clone(), d1.session_id.clone(), id.clone()]
        );
        let open = mgr
            .list_sessions(pb::ListSessionsRequest {
                states: vec![pb::SessionState::Cancelled as i32],
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .sessions;
        assert_eq!(open.len(), 1);
        assert_eq!(
            code(
                ann.list_sessions(pb::ListSessionsRequest {
                    participant_id: "bob".into(),
                    ..Default::default()
                })
                .await
            ),
            Code::PermissionDenied
        );

        // Settings: validation and etags.
        let err = mgr
            .update_settings(pb::UpdateSettingsRequest {
                settings: Some(pb::Settings {
                    tolerance_points: 101.0,
                    ..Default::default()
                }),
                update_mask: Some(prost_types::FieldMask {
                    paths: vec!["tolerance_points".into()],
                }),
                etag: String::new(),
            })
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument);
        assert!(err.message().contains("settings.tolerance_points"));
        assert_eq!(
            code(agent.get_settings(pb::GetSettingsRequest {}).await),
            Code::PermissionDenied
        );

        // ComputeAgreement: Fleiss (1971) needs no state; bad input is named.
        let rating = |x: f64| pb::Rating {
            value: Some(pb::rating::Value::Number(x)),
        };
        let matrix = pb::RatingsMatrix {
            rater_ids: vec!["a".into(), "b".into(), "c".into()],
            units: vec![
                pb::RatedUnit {
                    unit_id: "u1".into(),
                    ratings: vec![rating(1.0), rating(1.0), rating(1.0)],
                },
                pb::RatedUnit {
                    unit_id: "u2".into(),
                    ratings: vec![rating(1.0), rating(2.0), rating(2.0)],
                },
                pb::RatedUnit {
                    unit_id: "u3".into(),
                    ratings: vec![rating(2.0), rating(2.0), pb::Rating { value: None }],
                },
            ],
        };
        let out = agent
            .compute_agreement(pb::ComputeAgreementRequest {
                ratings: Some(matrix.clone()),
                level: pb::LevelOfMeasurement::Nominal as i32,
                statistics: vec![
                    pb::StatisticKind::KrippendorffAlpha as i32,
                    pb::StatisticKind::FleissKappa as i32,
                    pb::StatisticKind::CohenKappa as i32,
                ],
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!((out.unit_count, out.rater_count), (3, 3));
        assert_eq!(out.statistics.len(), 2 + 3);
        assert_eq!(
            out.statistics[2].rater_ids,
            vec!["a".to_owned(), "b".to_owned()]
        );
        let mut ragged = matrix;
        ragged.units[0].ratings.pop();
        let err = agent
            .compute_agreement(pb::ComputeAgreementRequest {
                ratings: Some(ragged),
                statistics: vec![pb::StatisticKind::FleissKappa as i32, 99],
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument);
        assert!(err.message().contains("statistics[1]"), "{}", err.message());
        env.stop().await;
    }
}

/// With the real scoring service: the session pins a version scoring
/// published, responses are scored by scoring's own ScoreAnswers (answers it
/// refuses are field errors), and results use those scores.
#[tokio::test]
async fn responses_are_scored_by_the_real_scoring_service() {
    for engine in Engine::available() {
        let env = Env::start_with(engine, true).await;
        let mut scoring_client = env.scoring("acme", "mgr", &[Role::QaManager]).await;
        let created = scoring_client
            .create_scorecard(scoring::CreateScorecardRequest {
                request_id: "card-1".into(),
                definition: scorecard().definition,
            })
            .await;
        let card = created.unwrap().into_inner().scorecard.unwrap();
        let version = scoring_client
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
        let mut mgr = manager(&env, "acme").await;
        let mut ann = evaluator(&env, "acme", "ann").await;
        let mut bob = evaluator(&env, "acme", "bob").await;
        let mut req = create_request("r1", pb::SessionMode::Blind, "", &["ann", "bob"], &["i1"]);
        req.scorecard_id = card.id.clone();
        req.scorecard_version = version.version;
        let s = create(&mut mgr, req).await;
        let mut unknown =
            create_request("r2", pb::SessionMode::Blind, "", &["ann", "bob"], &["i1"]);
        unknown.scorecard_id = card.id.clone();
        unknown.scorecard_version = version.version + 1;
        assert_eq!(code(mgr.create_session(unknown).await), Code::NotFound);

        let a = submit(
            &mut ann,
            &s.session_id,
            "i1",
            answers(true, 5, true),
            "",
            "",
        )
        .await
        .unwrap();
        let want = scoring_client
            .score_answers(scoring::ScoreAnswersRequest {
                scorecard: Some(scoring::score_answers_request::Scorecard::Version(
                    scoring::ScorecardVersionRef {
                        scorecard_id: card.id.clone(),
                        version: version.version,
                    },
                )),
                answers: answers(false, 2, true),
            })
            .await
            .unwrap()
            .into_inner()
            .result
            .unwrap();
        let b = submit(
            &mut bob,
            &s.session_id,
            "i1",
            answers(false, 2, true),
            "",
            "",
        )
        .await
        .unwrap();
        let (a_score, b_score) = (a.score.unwrap(), b.score.unwrap());
        assert!(a_score.total_scored && (a_score.total_score - 100.0).abs() < 1e-9);
        assert!((b_score.total_score - want.total_score).abs() < 1e-9);
        assert_eq!(b_score.question_scores.len(), 3);
        // An answer the real scoring refuses (no answer for a required
        // question) is a field error; nothing is stored.
        let err = submit(
            &mut ann,
            &s.session_id,
            "i1",
            vec![yes("greet", true)],
            "x",
            a.etag.as_str(),
        )
        .await
        .unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument, "{err:?}");
        let (_, res) = close(&mut mgr, &s.session_id, &s.etag).await;
        let reference = res.interactions[0].reference.as_ref().unwrap();
        assert!((reference.total_score.unwrap() - (100.0 + want.total_score) / 2.0).abs() < 1e-9);
        env.stop().await;
    }
}
