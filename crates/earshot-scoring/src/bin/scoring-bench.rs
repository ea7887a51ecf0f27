//! Scoring's benchmark: what a score costs, in the core and over gRPC, and
//! what an evaluation write costs on the storage engine.
//!
//! ```sh
//! cargo run --release -p earshot-scoring --bin scoring-bench
//! cargo run --release -p earshot-scoring --bin scoring-bench -- \
//!     --postgres postgres://postgres@127.0.0.1:5432/postgres
//! ```
//!
//! It prints, in one run on one machine:
//!
//! 1. the core score math (`score_answers`) on the customer-care scorecard,
//!    per call;
//! 2. `ScoreAnswers` over real gRPC through the full Earshot server stack
//!    (auth, tracing, limits), beside the PERFORMANCE.md baseline for the gRPC
//!    layer: a minimal unary service (`grpc.health.v1.Health/Check`) on the
//!    same server, driven by the same client load;
//! 3. `SubmitEvaluation` (score, new revision, audit entry and feed event in
//!    one transaction) on SQLite, or PostgreSQL with `--postgres URL`. No
//!    PERFORMANCE.md baseline is defined for evaluation writes; the figure is
//!    given for capacity planning.
//!
//! The tonic client saturates before the server does (PERFORMANCE.md), so
//! the gRPC figures are ratios under one load generator, not server limits.

use std::sync::Arc;
use std::time::{Duration, Instant};

use earshot_kit::{
    auth::{Role, TokenIssuer, TokenRequest, TokenVerifier, VerificationKeys},
    config::{Config, DbTarget},
    db::{Db, DbOptions},
    server,
};
use earshot_proto::common::v1 as common;
use earshot_proto::scoring::v1::{
    self as pb, scoring_service_client::ScoringServiceClient,
    scoring_service_server::ScoringServiceServer,
};
use earshot_scoring::answers::{Answer, AnswerValue};
use earshot_scoring::interchange::{DocumentFormat, import};
use earshot_scoring::score::score_answers;
use earshot_scoring::scorecard::ValidScorecard;
use earshot_scoring::service::{ScoringApi, sampling::Sampling};
use earshot_scoring::store::Store;
use tokio_util::sync::CancellationToken;
use tonic::{Request, transport::Channel};
use tonic_health::pb::{HealthCheckRequest, health_client::HealthClient};

const CARD: &str = include_str!("../../tests/fixtures/customer_care.yaml");
const SECRET: &[u8] = b"scoring-bench-secret-scoring-bench-secret";
const CONCURRENCY: usize = 32;
const GRPC_CALLS: usize = 40_000;
const SUBMITS: usize = 2_000;

type Fail = Box<dyn std::error::Error + Send + Sync>;

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
            value: Some(common::answer::Value::OptionId("partially".into())),
            comment: String::new(),
        },
        yes("follow_up", true),
        common::Answer {
            question_id: "empathy".into(),
            value: Some(common::answer::Value::ScaleValue(4)),
            comment: String::new(),
        },
        yes("disclosure", true),
        yes("interrupted", false),
    ]
}

fn core_bench() -> Result<Duration, Fail> {
    let sc = ValidScorecard::parse(import(DocumentFormat::Yaml, CARD.as_bytes())?)
        .map_err(|v| format!("{v}"))?;
    let given = vec![
        Answer::new("greeted", AnswerValue::Yes(true)),
        Answer::new("verified", AnswerValue::Yes(true)),
        Answer::new("resolved", AnswerValue::OptionId("partially".into())),
        Answer::new("follow_up", AnswerValue::Yes(true)),
        Answer::new("empathy", AnswerValue::Scale(4)),
        Answer::new("disclosure", AnswerValue::Yes(true)),
        Answer::new("interrupted", AnswerValue::Yes(false)),
    ];
    let n = 200_000_u32;
    let mut checksum = 0.0;
    let start = Instant::now();
    for _ in 0..n {
        let r = score_answers(&sc, std::hint::black_box(&given));
        checksum += r.result.total.unwrap_or(0.0);
    }
    let per = start.elapsed() / n;
    std::hint::black_box(checksum);
    Ok(per)
}

/// Latency percentiles and throughput of `calls` made by `CONCURRENCY`
/// tasks, each running `call` in a loop.
async fn drive<F, Fut>(calls: usize, call: F) -> Result<(f64, Duration, Duration), Fail>
where
    F: Fn() -> Fut + Clone + Send + 'static,
    Fut: Future<Output = Result<(), Fail>> + Send,
{
    let per_task = calls / CONCURRENCY;
    let start = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..CONCURRENCY {
        let call = call.clone();
        tasks.push(tokio::spawn(async move {
            let mut lat = Vec::with_capacity(per_task);
            for _ in 0..per_task {
                let t = Instant::now();
                call().await?;
                lat.push(t.elapsed());
            }
            Ok::<_, Fail>(lat)
        }));
    }
    let mut all = Vec::with_capacity(calls);
    for t in tasks {
        all.extend(t.await??);
    }
    let elapsed = start.elapsed();
    all.sort();
    let pct = |p: f64| {
        let i = ((all.len() as f64 - 1.0) * p).round() as usize;
        all.get(i).copied().unwrap_or_default()
    };
    Ok((
        all.len() as f64 / elapsed.as_secs_f64(),
        pct(0.5),
        pct(0.99),
    ))
}

fn with_token<T>(token: &str, msg: T) -> Result<Request<T>, Fail> {
    Ok(server::with_bearer(token, msg)?)
}

#[tokio::main]
async fn main() -> Result<(), Fail> {
    let args: Vec<String> = std::env::args().collect();
    let postgres = args
        .iter()
        .position(|a| a == "--postgres")
        .and_then(|i| args.get(i + 1).cloned());

    println!("scoring-bench (release build expected; medians vary on shared machines)");
    let per = core_bench()?;
    println!(
        "core   score_answers, customer-care card (3 sections, 7 questions): {:>8.2} µs/call",
        per.as_secs_f64() * 1e6
    );

    // The service on a fresh database.
    let dir = std::env::temp_dir().join(format!("scoring-bench-{}", std::process::id()));
    let schema = format!("scoring_bench_{}", std::process::id());
    let (target, engine) = match &postgres {
        Some(url) => (
            DbTarget::Postgres {
                url: url.clone(),
                schema: schema.clone(),
            },
            "PostgreSQL",
        ),
        None => (
            DbTarget::Sqlite {
                path: dir.join("scoring.db"),
            },
            "SQLite",
        ),
    };
    let db = Db::open(
        &target,
        &DbOptions::default(),
        earshot_scoring::spec().migrations,
    )
    .await?;
    let shutdown = CancellationToken::new();
    let nowhere = tonic::transport::Endpoint::from_static("http://127.0.0.1:9").connect_lazy();
    let api = ScoringApi::new(
        Store::new(db.clone()),
        Sampling::new(nowhere),
        shutdown.clone(),
    );
    let config = Config::default();
    let routes = tonic::service::Routes::new(ScoringServiceServer::new(api));
    let verifier = TokenVerifier::new(
        &VerificationKeys::Hs256(SECRET.to_vec()),
        "earshot",
        "earshot",
        Duration::from_secs(30),
    )?;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let health = tonic_health::server::HealthReporter::new();
    let serving = {
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            server::serve(
                &config,
                None,
                listener,
                routes,
                &[pb::scoring_service_server::SERVICE_NAME],
                health,
                verifier,
                shutdown,
            )
            .await
        })
    };
    let issuer = TokenIssuer::hs256(SECRET, "earshot", "earshot");
    let token = |subject: &str, roles: Vec<Role>| {
        issuer.mint(&TokenRequest {
            tenant: "bench".into(),
            subject: subject.into(),
            roles,
            teams: Vec::new(),
            ttl: Duration::from_secs(3600),
        })
    };
    let qa: Arc<str> = Arc::from(token("quinn", vec![Role::QaManager])?);
    let eve: Arc<str> = Arc::from(token("eve", vec![Role::Evaluator])?);
    let channel = Channel::from_shared(format!("http://{addr}"))?
        .tcp_nodelay(true)
        .connect()
        .await?;
    let client = ScoringServiceClient::new(channel.clone());

    // A published card.
    let card = client
        .clone()
        .import_scorecard(with_token(
            &qa,
            pb::ImportScorecardRequest {
                request_id: "card".into(),
                format: pb::ScorecardFormat::EarshotYaml as i32,
                content: CARD.as_bytes().to_vec(),
                validate_only: false,
                pass_mark: None,
            },
        )?)
        .await?
        .into_inner()
        .scorecard
        .ok_or("no scorecard")?;
    client
        .clone()
        .publish_scorecard(with_token(
            &qa,
            pb::PublishScorecardRequest {
                scorecard_id: card.id.clone(),
                etag: card.etag.clone(),
                change_note: String::new(),
                request_id: "publish".into(),
            },
        )?)
        .await?;

    // gRPC: the baseline, then ScoreAnswers, under the same load.
    let health_client = HealthClient::new(channel.clone());
    let baseline = drive(GRPC_CALLS, move || {
        let mut c = health_client.clone();
        async move {
            c.check(HealthCheckRequest {
                service: String::new(),
            })
            .await?;
            Ok(())
        }
    })
    .await?;
    let score_req = pb::ScoreAnswersRequest {
        scorecard: Some(pb::score_answers_request::Scorecard::Version(
            pb::ScorecardVersionRef {
                scorecard_id: card.id.clone(),
                version: 1,
            },
        )),
        answers: answers(),
    };
    let scored = {
        let client = client.clone();
        let qa = qa.clone();
        drive(GRPC_CALLS, move || {
            let mut c = client.clone();
            let r = with_token(&qa, score_req.clone());
            async move {
                c.score_answers(r?).await?;
                Ok(())
            }
        })
        .await?
    };
    println!(
        "grpc   baseline Health/Check (same server, {CONCURRENCY} concurrent): {:>9.0} req/s  p50 {:>6.0} µs  p99 {:>6.0} µs",
        baseline.0,
        baseline.1.as_secs_f64() * 1e6,
        baseline.2.as_secs_f64() * 1e6
    );
    println!(
        "grpc   ScoreAnswers (auth + cached version + score):           {:>9.0} req/s  p50 {:>6.0} µs  p99 {:>6.0} µs  = {:.2} of baseline",
        scored.0,
        scored.1.as_secs_f64() * 1e6,
        scored.2.as_secs_f64() * 1e6,
        scored.0 / baseline.0
    );

    // Writes: create drafts, then submit them concurrently.
    let mut drafts = Vec::with_capacity(SUBMITS);
    for n in 0..SUBMITS {
        let e = client
            .clone()
            .create_evaluation(with_token(
                &eve,
                pb::CreateEvaluationRequest {
                    request_id: format!("e{n}"),
                    origin: Some(pb::create_evaluation_request::Origin::MysteryShop(
                        pb::MysteryShopOrigin {
                            agent_id: format!("agent-{}", n % 50),
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
                        scorecard_id: card.id.clone(),
                        version: 0,
                    }),
                },
            )?)
            .await?
            .into_inner()
            .evaluation
            .ok_or("no evaluation")?;
        drafts.push((e.id, e.etag));
    }
    let queue = Arc::new(std::sync::Mutex::new(drafts));
    let submitted = {
        let client = client.clone();
        let eve = eve.clone();
        drive(SUBMITS, move || {
            let mut c = client.clone();
            let next = queue.lock().ok().and_then(|mut q| q.pop());
            let eve = eve.clone();
            async move {
                let (id, etag) = next.ok_or("out of drafts")?;
                let r = with_token(
                    &eve,
                    pb::SubmitEvaluationRequest {
                        evaluation_id: id,
                        etag,
                        content: Some(pb::DraftContent {
                            answers: answers(),
                            overall_comment: String::new(),
                        }),
                    },
                )?;
                c.submit_evaluation(r).await?;
                Ok(())
            }
        })
        .await?
    };
    println!(
        "store  SubmitEvaluation on {engine} ({CONCURRENCY} concurrent; revision + audit + feed event per commit): {:>7.0} submits/s  p50 {:>6.1} ms  p99 {:>6.1} ms",
        submitted.0,
        submitted.1.as_secs_f64() * 1e3,
        submitted.2.as_secs_f64() * 1e3
    );

    shutdown.cancel();
    let _ = serving.await;
    if postgres.is_some() {
        let ddl = format!("DROP SCHEMA IF EXISTS \"{schema}\" CASCADE");
        earshot_kit::with_pool!(db.read(), |p| sqlx::query(sqlx::AssertSqlSafe(ddl.clone()))
            .execute(p)
            .await
            .map(|r| r.rows_affected()))?;
    }
    db.close().await;
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
