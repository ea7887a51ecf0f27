//! Faults, end to end, on SQLite and (with `EARSHOT_TEST_DATABASE_URL`)
//! PostgreSQL: the real `earshot` binary killed with SIGKILL during a large
//! ingest — as one process and as four — and restarted on the same
//! storage; reporting stopped under ingest and caught up; a dependency that
//! never answers; PostgreSQL restarted under load (ignored by default: it
//! restarts the shared server, so CI runs it alone). What each proves is in
//! docs/reliability.md.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use earshot_kit::{
    auth::Role,
    config::ServiceKind,
    testing::{self, TestStorage},
    time::from_millis,
};
use earshot_proto::common::v1 as common;
use earshot_proto::reporting::v1::{
    self as reporting, reporting_service_client::ReportingServiceClient,
};
use earshot_proto::sampling::v1::{self as pb, sampling_service_client::SamplingServiceClient};
use earshot_proto::scoring::v1::{self as scoring, scoring_service_client::ScoringServiceClient};
use earshot_tests::{AuthedChannel, Bearer, TestEngine, TestSuite};
use futures::StreamExt as _;
use tokio::sync::mpsc;
use tonic::{Code, service::interceptor::InterceptedService, transport::Channel};
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;
const CUSTOMER_CARE: &str =
    include_str!("../../crates/earshot-scoring/tests/fixtures/customer_care.yaml");

// ------------------------------------------------------------------ randomness

/// A small seeded generator (xorshift64*): kill points differ per run, and a
/// failing run prints the seed (`FAULTS_SEED=… cargo nextest run …` repeats it).
struct Rng(u64);

impl Rng {
    fn from_env() -> Rng {
        let seed = std::env::var("FAULTS_SEED")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| {
                std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map(|d| d.as_nanos() as u64)
                    .unwrap_or(1)
            })
            | 1;
        eprintln!("FAULTS_SEED={seed}");
        Rng(seed)
    }

    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in [lo, hi).
    fn between(&mut self, lo: usize, hi: usize) -> usize {
        lo + (self.next() % (hi - lo).max(1) as u64) as usize
    }
}

// ------------------------------------------------------------- the facts sent

/// How many interactions the kill tests stream (the figure the reliability
/// promise is stated for); `FAULTS_INTERACTIONS` lowers it for a quick run.
fn interaction_total() -> usize {
    std::env::var("FAULTS_INTERACTIONS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200_000)
}

const AGENTS: usize = 100;
const BATCH: usize = 1000;

/// The first millisecond of yesterday, UTC: every interaction falls in one
/// closed day, so the day's figures are final.
fn yesterday() -> i64 {
    let now = earshot_kit::time::now_millis();
    now - now.rem_euclid(DAY) - DAY
}

fn dur(ms: i64) -> prost_types::Duration {
    prost_types::Duration {
        seconds: ms / 1000,
        nanos: ((ms % 1000) * 1_000_000) as i32,
    }
}

/// Interaction `n` of `total`, spread over the day starting at `day`.
#[derive(Debug, Clone, Copy)]
struct Fact {
    n: usize,
    arrived: i64,
    wait: i64,
    talk: i64,
    hold: i64,
    acw: i64,
}

impl Fact {
    fn new(n: usize, total: usize, day: i64) -> Fact {
        let k = n as i64;
        Fact {
            n,
            arrived: day + (k * (DAY - HOUR)) / total.max(1) as i64,
            wait: 1_000 + 1_000 * (k % 30),
            talk: 60_000 + 1_000 * (k % 600),
            hold: 5_000 * (k % 4),
            acw: 10_000 + 500 * (k % 60),
        }
    }

    fn id(&self) -> String {
        format!("i-{:07}", self.n)
    }

    fn agent(&self) -> String {
        format!("agent-{:03}", self.n % AGENTS)
    }

    fn handle_ms(&self) -> i64 {
        self.talk + self.hold + self.acw
    }

    fn message(&self) -> pb::Interaction {
        pb::Interaction {
            id: self.id(),
            channel: common::Channel::Voice as i32,
            direction: common::Direction::Inbound as i32,
            agent_id: self.agent(),
            team_id: format!("team-{}", (self.n % AGENTS) / 20),
            queue_id: "billing".into(),
            arrived_time: Some(from_millis(self.arrived)),
            answered_time: Some(from_millis(self.arrived + self.wait)),
            ended_time: Some(from_millis(
                self.arrived + self.wait + self.talk + self.hold,
            )),
            wait_duration: Some(dur(self.wait)),
            talk_duration: Some(dur(self.talk)),
            hold_duration: Some(dur(self.hold)),
            after_call_work_duration: Some(dur(self.acw)),
            disposition: "resolved".into(),
            customer_ref: format!("cust-{}", self.n),
            language: "en".into(),
            ..Default::default()
        }
    }
}

fn facts(total: usize, day: i64) -> Vec<Fact> {
    (0..total).map(|n| Fact::new(n, total, day)).collect()
}

// ------------------------------------------------------------ the real binary

/// The `earshot` program of this build: `earshot::cli::main` as a binary
/// of this crate (`tests/bin`), since `CARGO_BIN_EXE_earshot` is only
/// available to the `earshot` package's own tests.
fn earshot_binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_earshot-under-test"))
}

/// A free loopback port (bound and released; the binary binds it next).
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// `earshot serve` run as a child process for some services, on fixed ports
/// so that a restart listens where the clients and the other services look.
struct Server {
    bin: PathBuf,
    services: Vec<ServiceKind>,
    ports: BTreeMap<ServiceKind, u16>,
    data_dir: PathBuf,
    database_url: Option<String>,
    log: PathBuf,
    child: Option<Child>,
}

impl Server {
    fn new(
        bin: &Path,
        services: &[ServiceKind],
        ports: &BTreeMap<ServiceKind, u16>,
        storage: &TestStorage,
        log_name: &str,
    ) -> Server {
        Server {
            bin: bin.to_path_buf(),
            services: services.to_vec(),
            ports: ports.clone(),
            data_dir: storage.dir.path().join("data"),
            database_url: storage.postgres_url.clone(),
            log: storage.dir.path().join(format!("{log_name}.log")),
            child: None,
        }
    }

    /// Starts the process and waits until every service it runs is SERVING.
    async fn start(&mut self) {
        assert!(self.child.is_none());
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let mut cmd = Command::new(&self.bin);
        cmd.arg("--data-dir").arg(&self.data_dir);
        if let Some(url) = &self.database_url {
            cmd.args(["--database-url", url]);
        }
        let names: Vec<&str> = self.services.iter().map(|k| k.name()).collect();
        cmd.args(["serve", "--services", &names.join(",")]);
        cmd.env_remove("RUST_LOG")
            .env_remove("EARSHOT_CONFIG")
            .env("EARSHOT_LOG__FILTER", "warn")
            .env("EARSHOT_AUTH__HS256_SECRET", testing::TEST_SECRET)
            .env("EARSHOT_DATABASE__MAX_CONNECTIONS", "4")
            .env("EARSHOT_SERVER__SHUTDOWN_GRACE", "1s")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log);
        for (kind, port) in &self.ports {
            cmd.env(
                format!("EARSHOT_{}__PORT", kind.name().to_uppercase()),
                port.to_string(),
            );
        }
        self.child = Some(cmd.spawn().unwrap());
        let deadline = Instant::now() + Duration::from_secs(60);
        for kind in self.services.clone() {
            loop {
                if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                    panic!(
                        "{names:?} exited with {status} at start:\n{}",
                        self.log_tail()
                    );
                }
                if health(self.ports[&kind], "").await == Some(ServingStatus::Serving) {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "{kind} not serving after 60s:\n{}",
                    self.log_tail()
                );
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }

    /// SIGKILL: no shutdown, no flush, no goodbye.
    fn kill9(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().unwrap();
            c.wait().unwrap();
        }
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    /// Panics when the log shows a panic.
    fn assert_no_panic(&self) {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        assert!(!text.contains("panicked"), "{}", self.log_tail());
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill9();
    }
}

/// A service's health status; `None` when it does not answer.
async fn health(port: u16, service: &str) -> Option<ServingStatus> {
    let ch = Channel::from_shared(format!("http://127.0.0.1:{port}"))
        .ok()?
        .connect_timeout(Duration::from_millis(500))
        .timeout(Duration::from_secs(1))
        .connect()
        .await
        .ok()?;
    let r = HealthClient::new(ch)
        .check(HealthCheckRequest {
            service: service.into(),
        })
        .await
        .ok()?;
    ServingStatus::try_from(r.into_inner().status).ok()
}

async fn authed(port: u16, token: &str) -> AuthedChannel {
    let ch = Channel::from_shared(format!("http://127.0.0.1:{port}"))
        .unwrap()
        .connect_timeout(Duration::from_secs(1))
        .connect_lazy();
    InterceptedService::new(ch, Bearer::new(token).unwrap())
}

// --------------------------------------------------- the ingest client

/// What a retrying ingest client saw.
#[derive(Debug, Default)]
struct IngestLog {
    /// Per interaction id: how many acknowledgements said CREATED.
    created: HashMap<String, u32>,
    /// Acknowledged batches (each once).
    acked: usize,
    /// Streams opened (1 + reconnects).
    streams: usize,
    /// Batches sent more than once.
    resent: usize,
}

/// Streams `batches` through `IngestInteractions` with up to `window`
/// unacknowledged batches, as an ACD integration should: acknowledgements
/// must come one per batch, in order; after a broken stream every
/// unacknowledged batch is sent again on a new one. `on_ack` sees the count
/// of acknowledged batches after each (the tests kill servers from it).
async fn ingest_with_retries(
    port: u16,
    token: &str,
    batches: &[Vec<pb::Interaction>],
    window: usize,
    mut on_ack: impl AsyncFnMut(usize),
) -> IngestLog {
    let mut log = IngestLog::default();
    let mut sent_before: HashSet<usize> = HashSet::new();
    let give_up = Instant::now() + Duration::from_secs(300);
    while log.acked < batches.len() {
        assert!(Instant::now() < give_up, "ingest made no progress: {log:?}");
        log.streams += 1;
        let mut client = SamplingServiceClient::new(authed(port, token).await)
            .max_decoding_message_size(64 << 20);
        let (tx, rx) = mpsc::channel::<pb::IngestInteractionsRequest>(window);
        let first = log.acked;
        let mut next = first;
        while next < batches.len() && next - first < window {
            if !sent_before.insert(next) {
                log.resent += 1;
            }
            tx.send(pb::IngestInteractionsRequest {
                batch_id: format!("b-{next}"),
                interactions: batches[next].clone(),
            })
            .await
            .unwrap();
            next += 1;
        }
        let mut tx = Some(tx);
        if next == batches.len() {
            tx = None;
        }
        let mut acks = match client
            .ingest_interactions(tokio_stream::wrappers::ReceiverStream::new(rx))
            .await
        {
            Ok(r) => r.into_inner(),
            Err(s) => {
                assert_retryable(&s);
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        loop {
            let ack = match acks.next().await {
                Some(Ok(a)) => a,
                Some(Err(s)) => {
                    assert_retryable(&s);
                    break;
                }
                None => break,
            };
            let expected = format!("b-{}", log.acked);
            assert_eq!(ack.batch_id, expected, "acknowledgements come in order");
            let batch = &batches[log.acked];
            assert_eq!(ack.results.len(), batch.len());
            for (r, i) in ack.results.iter().zip(batch) {
                assert_eq!(r.id, i.id);
                match pb::IngestOutcome::try_from(r.outcome) {
                    Ok(pb::IngestOutcome::Created) => {
                        *log.created.entry(r.id.clone()).or_default() += 1;
                    }
                    // A batch that landed before its acknowledgement was
                    // lost, sent again.
                    Ok(pb::IngestOutcome::Unchanged) => {}
                    other => panic!("unexpected outcome {other:?} for {}: {r:?}", r.id),
                }
            }
            log.acked += 1;
            on_ack(log.acked).await;
            if let Some(t) = &tx
                && next < batches.len()
            {
                if !sent_before.insert(next) {
                    log.resent += 1;
                }
                let sent = t
                    .send(pb::IngestInteractionsRequest {
                        batch_id: format!("b-{next}"),
                        interactions: batches[next].clone(),
                    })
                    .await;
                if sent.is_err() {
                    break;
                }
                next += 1;
                if next == batches.len() {
                    tx = None;
                }
            }
            if log.acked == batches.len() {
                break;
            }
        }
    }
    log
}

/// A failure a client may retry: the server went away or is restarting.
#[track_caller]
fn assert_retryable(s: &tonic::Status) {
    assert!(
        matches!(
            s.code(),
            Code::Unavailable | Code::Unknown | Code::Cancelled
        ) && !s.message().contains("panicked"),
        "not a retryable failure: {s:?}"
    );
}

// ------------------------------------------------------------- verification

async fn create_plan(port: u16, token: &str) -> pb::SamplingPlan {
    SamplingServiceClient::new(authed(port, token).await)
        .create_plan(pb::CreatePlanRequest {
            plan: Some(pb::SamplingPlan {
                display_name: "Daily".into(),
                period: common::Granularity::Day as i32,
                target: Some(pb::PerAgentTarget {
                    min_per_agent: 3,
                    max_per_agent: 4,
                    random_target: None,
                }),
                expected_agent_volume: 1000,
                ..Default::default()
            }),
            request_id: "faults-plan".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .plan
        .unwrap()
}

/// Checks sampling's stored facts against what was sent: the day's volume
/// per agent is exact (nothing lost, nothing doubled), every interaction is
/// selected at most once and no agent over the plan's maximum.
async fn check_sampling(port: u16, token: &str, plan: &pb::SamplingPlan, sent: &[Fact]) {
    let mut c = SamplingServiceClient::new(authed(port, token).await);
    let day = yesterday();
    let mut want: BTreeMap<String, i64> = BTreeMap::new();
    for f in sent {
        *want.entry(f.agent()).or_default() += 1;
    }
    let mut volume: BTreeMap<String, i64> = BTreeMap::new();
    let mut selected: BTreeMap<String, i32> = BTreeMap::new();
    let mut page_token = String::new();
    loop {
        let r = c
            .get_coverage(pb::GetCoverageRequest {
                plan_id: plan.id.clone(),
                range: Some(common::TimeRange {
                    start_time: Some(from_millis(day)),
                    end_time: Some(from_millis(day + DAY - 1)),
                }),
                group_by: pb::CoverageGroup::Agent as i32,
                page_size: 1000,
                page_token,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        for row in r.rows {
            *volume.entry(row.agent_id.clone()).or_default() += row.volume;
            *selected.entry(row.agent_id).or_default() += row.selected;
        }
        if r.next_page_token.is_empty() {
            break;
        }
        page_token = r.next_page_token;
    }
    assert_eq!(volume, want, "sampling's volume per agent");

    let mut seen = HashSet::new();
    let mut per_agent: BTreeMap<String, i32> = BTreeMap::new();
    let mut page_token = String::new();
    loop {
        let r = c
            .list_selections(pb::ListSelectionsRequest {
                plan_id: plan.id.clone(),
                page_size: 1000,
                page_token,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        for s in r.selections {
            let i = s.interaction.unwrap();
            assert!(
                seen.insert(i.interaction_id.clone()),
                "{} selected twice",
                i.interaction_id
            );
            *per_agent.entry(i.agent_id).or_default() += 1;
        }
        if r.next_page_token.is_empty() {
            break;
        }
        page_token = r.next_page_token;
    }
    let max = plan.target.unwrap().max_per_agent;
    assert!(!per_agent.is_empty(), "the plan selected nothing");
    for (agent, n) in &per_agent {
        assert!(*n <= max, "{agent}: {n} selections, plan max {max}");
        assert_eq!(selected.get(agent), Some(n), "{agent}: coverage's count");
    }
}

fn local_date(ms: i64) -> reporting::LocalDate {
    use chrono::Datelike as _;
    let t = chrono::DateTime::from_timestamp_millis(ms)
        .unwrap()
        .date_naive();
    reporting::LocalDate {
        year: t.year(),
        month: t.month() as i32,
        day: t.day() as i32,
    }
}

/// Yesterday, as a reporting period.
fn report_day() -> reporting::Period {
    let d = local_date(yesterday());
    reporting::Period {
        kind: Some(reporting::period::Kind::DateRange(reporting::DateRange {
            start_date: Some(d),
            end_date: Some(d),
        })),
    }
}

/// The operational report of yesterday by agent, every page.
async fn operational(
    r: &mut ReportingServiceClient<AuthedChannel>,
) -> Result<(reporting::OperationalRow, Vec<reporting::OperationalRow>), tonic::Status> {
    let mut rows = Vec::new();
    let mut page_token = String::new();
    loop {
        let resp = r
            .run_operational_report(reporting::RunOperationalReportRequest {
                period: Some(report_day()),
                group_by: reporting::Dimension::Agent as i32,
                page_size: 1000,
                page_token,
                ..Default::default()
            })
            .await?
            .into_inner();
        rows.extend(resp.rows);
        if resp.next_page_token.is_empty() {
            return Ok((resp.total.unwrap_or_default(), rows));
        }
        page_token = resp.next_page_token;
    }
}

#[track_caller]
fn close(what: &str, e: &Option<common::Estimate>, want: f64) {
    let e = e.as_ref().unwrap();
    assert!(!e.no_data, "{what}: no data, expected {want}");
    assert!(
        (e.value - want).abs() <= 1e-9 * want.abs().max(1.0),
        "{what}: got {}, expected {want}",
        e.value
    );
}

/// Waits until reporting's sampling feed is caught up and its volume has
/// reached the facts sent, then checks volume, handled count and average
/// handle time — center and per agent — against a recomputation from the
/// facts.
async fn check_reporting(port: u16, token: &str, sent: &[Fact]) {
    let mut r = ReportingServiceClient::new(authed(port, token).await);
    // Reporting applies about 1,500 events a second on PostgreSQL in a debug
    // build on a busy machine: 200,000 interactions take minutes.
    let deadline = Instant::now() + Duration::from_secs(420);
    loop {
        let status = r
            .get_feed_status(reporting::GetFeedStatusRequest {})
            .await
            .map(|s| s.into_inner());
        let caught_up = status.as_ref().is_ok_and(|s| {
            s.feeds.iter().any(|f| {
                f.source == reporting::FeedSource::Sampling as i32
                    && f.lag_events == 0
                    && f.state == reporting::FeedState::Following as i32
            })
        });
        let volume = match operational(&mut r).await {
            Ok((total, _)) => total.interaction_count,
            Err(_) => 0,
        };
        if caught_up && volume >= sent.len() as i64 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "reporting did not catch up: volume {volume} of {}, {status:?}",
            sent.len()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let (total, rows) = operational(&mut r).await.unwrap();
    let mean_handle = |fs: &[&Fact]| {
        fs.iter()
            .map(|f| f.handle_ms() as f64 / 1000.0)
            .sum::<f64>()
            / fs.len() as f64
    };
    let all: Vec<&Fact> = sent.iter().collect();
    assert_eq!(total.interaction_count, sent.len() as i64, "center volume");
    assert_eq!(total.handled_count, sent.len() as i64, "center handled");
    close("center aht", &total.average_handle_time, mean_handle(&all));
    let mut by_agent: BTreeMap<String, Vec<&Fact>> = BTreeMap::new();
    for f in sent {
        by_agent.entry(f.agent()).or_default().push(f);
    }
    let got: BTreeMap<String, &reporting::OperationalRow> = rows
        .iter()
        .map(|row| (row.group.as_ref().unwrap().id.clone(), row))
        .collect();
    assert_eq!(
        got.keys().collect::<Vec<_>>(),
        by_agent.keys().collect::<Vec<_>>()
    );
    for (agent, fs) in &by_agent {
        let row = got[agent];
        assert_eq!(row.interaction_count, fs.len() as i64, "{agent} volume");
        assert_eq!(row.handled_count, fs.len() as i64, "{agent} handled");
        close(
            &format!("{agent} aht"),
            &row.average_handle_time,
            mean_handle(fs),
        );
    }
}

/// Every interaction was created at most once over all acknowledgements,
/// and every one was acknowledged.
fn check_log(log: &IngestLog, batches: usize) {
    assert_eq!(log.acked, batches);
    let twice: Vec<_> = log
        .created
        .iter()
        .filter(|(_, n)| **n > 1)
        .take(5)
        .collect();
    assert!(twice.is_empty(), "created twice: {twice:?}");
}

// ------------------------------------------------------------------ 1. kill -9

/// Kill points: `count` distinct acknowledged-batch counts in the middle
/// 80% of the stream, ascending.
fn kill_points(rng: &mut Rng, batches: usize, count: usize) -> Vec<usize> {
    let mut range: Vec<usize> = (batches / 10 + 1..batches * 9 / 10).collect();
    assert!(
        range.len() >= count,
        "{batches} batches are too few for {count} kill points; raise FAULTS_INTERACTIONS"
    );
    // A partial Fisher-Yates shuffle: the first `count` are a random sample.
    for i in 0..count {
        let j = rng.between(i, range.len());
        range.swap(i, j);
    }
    let mut v = range[..count].to_vec();
    v.sort_unstable();
    v
}

/// `earshot serve` killed at random points of the stream and restarted.
async fn kill_during_ingest(engine: TestEngine) {
    let bin = earshot_binary();
    let total = interaction_total();
    let started = Instant::now();
    let mut rng = Rng::from_env();
    let storage = TestStorage::new(engine).await.unwrap();
    let ports: BTreeMap<ServiceKind, u16> =
        ServiceKind::ALL.iter().map(|k| (*k, free_port())).collect();
    let mut server = Server::new(&bin, &ServiceKind::ALL, &ports, &storage, "suite");
    server.start().await;
    let sampling = ports[&ServiceKind::Sampling];
    let admin = testing::token("acme", "root", &[Role::Admin]);
    let acd = testing::token("acme", "acd", &[Role::Integration]);
    let plan = create_plan(sampling, &admin).await;

    let sent = facts(total, yesterday());
    let batches: Vec<Vec<pb::Interaction>> = sent
        .chunks(BATCH)
        .map(|c| c.iter().map(Fact::message).collect())
        .collect();
    let points = kill_points(&mut rng, batches.len(), 3);
    let mut kills = 0;
    let log = ingest_with_retries(sampling, &acd, &batches, 8, async |acked| {
        if points.get(kills) == Some(&acked) {
            kills += 1;
            server.kill9();
            server.start().await;
        }
    })
    .await;
    let ingested = started.elapsed();
    check_log(&log, batches.len());
    assert_eq!(kills, points.len(), "{engine:?}: every kill happened");
    assert!(log.streams > points.len(), "{engine:?}: {log:?}");
    check_sampling(sampling, &admin, &plan, &sent).await;
    check_reporting(ports[&ServiceKind::Reporting], &admin, &sent).await;
    server.assert_no_panic();
    eprintln!(
        "{engine:?}: {total} interactions, {kills} kills at batches {points:?}, \
             {} streams, {} batches re-sent; ingest {:.1}s, total {:.1}s",
        log.streams,
        log.resent,
        ingested.as_secs_f64(),
        started.elapsed().as_secs_f64()
    );
}

// One test per engine: each gets its own time budget.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_ingest_loses_and_doubles_nothing_sqlite() {
    kill_during_ingest(TestEngine::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_ingest_loses_and_doubles_nothing_postgres() {
    if TestEngine::available().contains(&TestEngine::Postgres) {
        kill_during_ingest(TestEngine::Postgres).await;
    }
}

/// The four services as four processes, each killed in turn.
async fn kill_each_process(engine: TestEngine) {
    let bin = earshot_binary();
    let total = interaction_total() / 4;
    let started = Instant::now();
    let mut rng = Rng::from_env();
    let storage = TestStorage::new(engine).await.unwrap();
    let ports: BTreeMap<ServiceKind, u16> =
        ServiceKind::ALL.iter().map(|k| (*k, free_port())).collect();
    let mut servers: BTreeMap<ServiceKind, Server> = BTreeMap::new();
    for kind in ServiceKind::ALL {
        let mut s = Server::new(&bin, &[kind], &ports, &storage, kind.name());
        s.start().await;
        servers.insert(kind, s);
    }
    let sampling = ports[&ServiceKind::Sampling];
    let admin = testing::token("acme", "root", &[Role::Admin]);
    let acd = testing::token("acme", "acd", &[Role::Integration]);
    let plan = create_plan(sampling, &admin).await;

    let sent = facts(total, yesterday());
    let batches: Vec<Vec<pb::Interaction>> = sent
        .chunks(BATCH)
        .map(|c| c.iter().map(Fact::message).collect())
        .collect();
    // Each service in turn at its own point of the stream; sampling
    // (the one the client talks to) twice.
    let mut order = vec![
        ServiceKind::Reporting,
        ServiceKind::Sampling,
        ServiceKind::Scoring,
        ServiceKind::Calibration,
        ServiceKind::Sampling,
    ];
    let points = kill_points(&mut rng, batches.len(), order.len());
    let turn = rng.between(0, order.len());
    order.rotate_left(turn);
    let mut kills = 0;
    let log = ingest_with_retries(sampling, &acd, &batches, 8, async |acked| {
        if points.get(kills) == Some(&acked) {
            let kind = order[kills];
            kills += 1;
            let s = servers.get_mut(&kind).unwrap();
            s.kill9();
            s.start().await;
        }
    })
    .await;
    check_log(&log, batches.len());
    assert_eq!(kills, points.len());
    check_sampling(sampling, &admin, &plan, &sent).await;
    // Reporting once more, while it catches up.
    let r = servers.get_mut(&ServiceKind::Reporting).unwrap();
    r.kill9();
    r.start().await;
    check_reporting(ports[&ServiceKind::Reporting], &admin, &sent).await;
    for s in servers.values() {
        s.assert_no_panic();
    }
    eprintln!(
        "{engine:?}: {total} interactions, kills {:?} at batches {points:?}, {} streams; {:.1}s",
        order,
        log.streams,
        started.elapsed().as_secs_f64()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_each_service_process_in_turn_sqlite() {
    kill_each_process(TestEngine::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_each_service_process_in_turn_postgres() {
    if TestEngine::available().contains(&TestEngine::Postgres) {
        kill_each_process(TestEngine::Postgres).await;
    }
}

// ---------------------------------------------------- 3. reporting stopped

type Scoring = ScoringServiceClient<AuthedChannel>;

async fn scoring_client(suite: &TestSuite, subject: &str, roles: &[Role]) -> Scoring {
    suite
        .scoring(&suite.token("acme", subject, roles))
        .await
        .unwrap()
}

/// Publishes the customer-care card; returns its id.
async fn publish_card(qa: &mut Scoring) -> String {
    let card = qa
        .import_scorecard(scoring::ImportScorecardRequest {
            request_id: "cc".into(),
            format: scoring::ScorecardFormat::EarshotYaml as i32,
            content: CUSTOMER_CARE.as_bytes().to_vec(),
            validate_only: false,
            pass_mark: None,
        })
        .await
        .unwrap()
        .into_inner()
        .scorecard
        .unwrap();
    qa.publish_scorecard(scoring::PublishScorecardRequest {
        scorecard_id: card.id.clone(),
        etag: card.etag,
        change_note: "first".into(),
        request_id: "cc-publish".into(),
    })
    .await
    .unwrap();
    card.id
}

fn answers(k: usize) -> Vec<common::Answer> {
    use common::{Answer, answer::Value};
    let yes = |q: &str, v: bool| Answer {
        question_id: q.into(),
        value: Some(Value::Yes(v)),
        comment: if v { String::new() } else { "missed".into() },
    };
    let resolved = ["fully", "partially", "fully"][k % 3];
    let mut v = vec![
        yes("greeted", true),
        yes("verified", k.is_multiple_of(2)),
        Answer {
            question_id: "resolved".into(),
            value: Some(Value::OptionId(resolved.into())),
            ..Default::default()
        },
        Answer {
            question_id: "empathy".into(),
            value: Some(Value::ScaleValue(1 + (k % 5) as i32)),
            ..Default::default()
        },
        yes("disclosure", true),
        yes("interrupted", false),
    ];
    if resolved != "fully" {
        v.push(yes("follow_up", true));
    }
    v
}

/// Creates and submits an ad-hoc evaluation of `interaction`; returns its
/// score as reporting keeps it (hundredths of a point).
async fn evaluate(eve: &mut Scoring, card: &str, interaction: &str, k: usize) -> f64 {
    let created = eve
        .create_evaluation(scoring::CreateEvaluationRequest {
            request_id: format!("ev-{interaction}"),
            origin: Some(scoring::create_evaluation_request::Origin::AdHoc(
                scoring::AdHoc {
                    interaction_id: interaction.into(),
                },
            )),
            scorecard: Some(scoring::ScorecardVersionRef {
                scorecard_id: card.into(),
                version: 1,
            }),
        })
        .await
        .unwrap()
        .into_inner()
        .evaluation
        .unwrap();
    let submitted = eve
        .submit_evaluation(scoring::SubmitEvaluationRequest {
            evaluation_id: created.id.clone(),
            etag: created.etag.clone(),
            content: Some(scoring::DraftContent {
                answers: answers(k),
                overall_comment: "ok".into(),
            }),
        })
        .await
        .unwrap()
        .into_inner()
        .evaluation
        .unwrap();
    (submitted.result.unwrap().total_score * 100.0).round() / 100.0
}

/// The value of a gauge with `feed="<feed>"` in this process's metrics.
fn gauge(name: &str, feed: &str) -> Option<f64> {
    let prefix = format!("{name}{{feed=\"{feed}\"}} ");
    earshot_kit::metrics::render()
        .lines()
        .find_map(|l| l.strip_prefix(&prefix).and_then(|v| v.trim().parse().ok()))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reporting_stopped_under_ingest_shows_its_lag_and_catches_up() {
    const TOTAL: usize = 20_000;
    const EVALUATIONS: usize = 6;
    for engine in TestEngine::available() {
        let mut suite = TestSuite::start_split(engine).await.unwrap();
        let admin = suite.token("acme", "root", &[Role::Admin]);
        let acd = suite.token("acme", "acd", &[Role::Integration]);
        let mut qa = scoring_client(&suite, "quinn", &[Role::QaManager]).await;
        let mut eve = scoring_client(&suite, "eve", &[Role::Evaluator, Role::QaManager]).await;
        let card = publish_card(&mut qa).await;

        suite.stop_reporting().await.unwrap();
        let sent = facts(TOTAL, yesterday());
        let mut acd_client = suite.sampling(&acd).await.unwrap();
        for chunk in sent.chunks(BATCH) {
            let r = acd_client
                .batch_ingest_interactions(pb::BatchIngestInteractionsRequest {
                    interactions: chunk.iter().map(Fact::message).collect(),
                })
                .await
                .unwrap()
                .into_inner();
            assert_eq!(r.counts.unwrap().created as usize, chunk.len());
        }
        let mut scores = Vec::new();
        for k in 0..EVALUATIONS {
            scores.push(evaluate(&mut eve, &card, &sent[k * 7].id(), k).await);
        }

        // Started again, it reports how far behind it is while it catches up.
        suite.start_reporting().await.unwrap();
        let mut r = suite.reporting(&admin).await.unwrap();
        let mut saw_status_lag = false;
        let mut lagging_polls = 0;
        let mut saw_metric_lag = false;
        let deadline = Instant::now() + Duration::from_secs(120);
        loop {
            let s = r
                .get_feed_status(reporting::GetFeedStatusRequest {})
                .await
                .unwrap()
                .into_inner();
            let sampling = s
                .feeds
                .iter()
                .find(|f| f.source == reporting::FeedSource::Sampling as i32)
                .unwrap()
                .clone();
            if sampling.lag_events > 0 {
                saw_status_lag = true;
                lagging_polls += 1;
                assert_eq!(
                    sampling.lag_events,
                    sampling.head_sequence - sampling.applied_sequence,
                    "{sampling:?}"
                );
            }
            if gauge("earshot_reporting_feed_lag_events", "sampling").is_some_and(|v| v > 0.0) {
                saw_metric_lag = true;
            }
            let all_following = s.feeds.iter().all(|f| {
                f.lag_events == 0
                    && (f.state == reporting::FeedState::Following as i32
                        || f.state == reporting::FeedState::Disabled as i32)
            });
            let (total, _) = operational(&mut r).await.unwrap();
            if all_following && total.interaction_count >= TOTAL as i64 {
                break;
            }
            assert!(Instant::now() < deadline, "{engine:?}: no catch-up: {s:?}");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        eprintln!("{engine:?}: {lagging_polls} polls of GetFeedStatus saw the backlog");
        assert!(
            saw_status_lag,
            "{engine:?}: GetFeedStatus never showed the backlog"
        );
        assert!(
            saw_metric_lag,
            "{engine:?}: the lag gauge never showed the backlog"
        );
        assert_eq!(
            gauge("earshot_reporting_feed_lag_events", "sampling"),
            Some(0.0),
            "{engine:?}: caught up, the gauge says so"
        );

        // The figures equal a recomputation from what was sent.
        let (total, rows) = operational(&mut r).await.unwrap();
        assert_eq!(total.interaction_count, TOTAL as i64);
        assert_eq!(rows.len(), AGENTS);
        let aht = sent
            .iter()
            .map(|f| f.handle_ms() as f64 / 1000.0)
            .sum::<f64>()
            / TOTAL as f64;
        close("center aht", &total.average_handle_time, aht);
        let q = r
            .run_quality_report(reporting::RunQualityReportRequest {
                period: Some(report_day()),
                group_by: reporting::Dimension::Agent as i32,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        let qt = q.total.unwrap();
        assert_eq!(qt.evaluation_count, EVALUATIONS as i64, "{engine:?}");
        close(
            "mean score",
            &qt.mean_score,
            scores.iter().sum::<f64>() / scores.len() as f64,
        );
        suite.stop().await.unwrap();
    }
}

// ------------------------------------------------------------ 4. deadlines

/// A TCP listener that accepts connections and never answers: a dependency
/// that hangs.
async fn black_hole() -> (String, tokio::task::JoinHandle<()>) {
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", l.local_addr().unwrap());
    let task = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((s, _)) = l.accept().await {
            held.push(s);
        }
    });
    (url, task)
}

/// Calls an RPC of scoring that needs sampling (an ad-hoc evaluation reads
/// its interaction there) and returns the status and how long it took.
async fn call_needing_sampling(
    eve: &mut Scoring,
    card: &str,
    deadline: Option<Duration>,
) -> (Code, Duration) {
    let mut req = tonic::Request::new(scoring::CreateEvaluationRequest {
        request_id: format!("ev-{}", uuid_like()),
        origin: Some(scoring::create_evaluation_request::Origin::AdHoc(
            scoring::AdHoc {
                interaction_id: "i-0000001".into(),
            },
        )),
        scorecard: Some(scoring::ScorecardVersionRef {
            scorecard_id: card.into(),
            version: 1,
        }),
    });
    if let Some(d) = deadline {
        req.set_timeout(d);
    }
    let started = Instant::now();
    // The test's own bound: a hang fails here instead of hanging the test.
    let r = tokio::time::timeout(Duration::from_secs(20), eve.create_evaluation(req))
        .await
        .expect("the call hung past every deadline");
    let code = match r {
        Ok(_) => Code::Ok,
        // tonic's client enforces its own deadline too and, reaching it
        // before the server's answer arrives, reports CANCELLED "Timeout
        // expired": that is the caller's deadline passing.
        Err(s) if s.code() == Code::Cancelled && deadline.is_some() => {
            assert!(s.message().contains("Timeout expired"), "{s:?}");
            Code::DeadlineExceeded
        }
        Err(s) => s.code(),
    };
    (code, started.elapsed())
}

fn uuid_like() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_dependency_never_holds_a_caller_past_its_deadline() {
    let (url, hole) = black_hole().await;
    for (client_deadline, server_timeout) in [
        (Some(Duration::from_secs(2)), Duration::from_secs(30)),
        (None, Duration::from_secs(2)),
    ] {
        let engine = TestEngine::Sqlite;
        let url = url.clone();
        let suite = TestSuite::start_with(engine, move |c| {
            c.sampling.endpoint = Some(url);
            c.server.request_timeout = server_timeout;
        })
        .await
        .unwrap();
        let mut qa = scoring_client(&suite, "quinn", &[Role::QaManager]).await;
        let card = publish_card(&mut qa).await;
        let mut eve = scoring_client(&suite, "eve", &[Role::Evaluator, Role::QaManager]).await;
        let bound = client_deadline.unwrap_or(server_timeout);
        for _ in 0..2 {
            let (code, took) = call_needing_sampling(&mut eve, &card, client_deadline).await;
            assert!(
                matches!(code, Code::DeadlineExceeded | Code::Unavailable),
                "deadline {client_deadline:?}, server timeout {server_timeout:?}: {code:?}"
            );
            assert!(
                took <= bound + Duration::from_millis(750),
                "answered after {took:?}, bound {bound:?}"
            );
        }
        suite.stop().await.unwrap();
    }
    hole.abort();
}

// ------------------------------------------------- 5. PostgreSQL restarted

/// `pg_ctlcluster` on the newest local cluster; starts it again when
/// dropped if it is down, so a failing test still leaves the server running.
struct Cluster {
    version: String,
}

impl Cluster {
    fn local() -> Cluster {
        let mut versions: Vec<u32> = std::fs::read_dir("/etc/postgresql")
            .expect("a local PostgreSQL cluster managed by pg_ctlcluster")
            .filter_map(|e| e.ok()?.file_name().to_str()?.parse().ok())
            .collect();
        versions.sort_unstable();
        Cluster {
            version: versions.last().expect("a cluster version").to_string(),
        }
    }

    fn ctl(&self, action: &str) {
        let status = Command::new("pg_ctlcluster")
            .args(["--skip-systemctl-redirect", &self.version, "main", action])
            .status()
            .expect("pg_ctlcluster runs");
        assert!(status.success(), "pg_ctlcluster {action} failed");
    }

    fn running(&self) -> bool {
        Command::new("pg_isready")
            .args(["-h", "127.0.0.1", "-p", "5432", "-q"])
            .status()
            .is_ok_and(|s| s.success())
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        if !self.running() {
            let _ = Command::new("pg_ctlcluster")
                .args(["--skip-systemctl-redirect", &self.version, "main", "start"])
                .status();
        }
    }
}

/// What the load saw.
#[derive(Debug, Default)]
struct Load {
    acked: Vec<String>,
    sent: HashSet<String>,
    ok_calls: usize,
    unavailable: usize,
    deadline_exceeded: usize,
    slowest: Duration,
}

const LOAD_DEADLINE: Duration = Duration::from_secs(3);

/// Checks a failed call: retryable, and answered by its deadline.
#[track_caller]
fn record_failure(load: &mut Load, s: &tonic::Status, took: Duration) {
    match s.code() {
        Code::Unavailable => load.unavailable += 1,
        Code::DeadlineExceeded => load.deadline_exceeded += 1,
        // tonic's client reaching the caller's deadline first.
        Code::Cancelled if s.message().contains("Timeout expired") => load.deadline_exceeded += 1,
        other => panic!("a caller saw {other:?} during the outage: {s:?}"),
    }
    assert!(took <= LOAD_DEADLINE + Duration::from_secs(1), "{took:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "restarts the shared PostgreSQL server; .ci/run runs it alone"]
async fn postgres_restart_under_load_is_unavailable_then_recovers() {
    assert!(
        std::env::var_os(testing::POSTGRES_ENV).is_some(),
        "set {} to run this test",
        testing::POSTGRES_ENV
    );
    let cluster = Cluster::local();
    // A call waits at most 1 s for a connection, then answers UNAVAILABLE:
    // well inside the callers' 3 s deadline (the default, 5 s, would leave
    // them DEADLINE_EXCEEDED, which is also within the promise).
    let suite = TestSuite::start_with(TestEngine::Postgres, |c| {
        c.database.acquire_timeout = Duration::from_secs(1);
    })
    .await
    .unwrap();
    let port = suite.suite.addrs[&ServiceKind::Sampling].port();
    let acd = suite.token("acme", "acd", &[Role::Integration]);
    let service = "earshot.sampling.v1.SamplingService";
    let stop = tokio_util::sync::CancellationToken::new();

    // Health, every 100 ms.
    let watcher = {
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut seen = Vec::new();
            while !stop.is_cancelled() {
                let s = tokio::time::timeout(Duration::from_secs(2), health(port, service))
                    .await
                    .expect("health answers at once");
                if seen.last() != Some(&s) {
                    seen.push(s);
                }
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            seen
        })
    };
    // Writes and reads, each under a deadline, until stopped.
    let load = {
        let stop = stop.clone();
        let mut c = SamplingServiceClient::new(authed(port, &acd).await);
        tokio::spawn(async move {
            let mut load = Load::default();
            let day = yesterday();
            let mut n = 0usize;
            while !stop.is_cancelled() {
                let batch: Vec<pb::Interaction> = (n..n + 50)
                    .map(|k| Fact::new(k, 1_000_000, day).message())
                    .collect();
                n += 50;
                load.sent.extend(batch.iter().map(|i| i.id.clone()));
                let ids: Vec<String> = batch.iter().map(|i| i.id.clone()).collect();
                let mut req = tonic::Request::new(pb::BatchIngestInteractionsRequest {
                    interactions: batch,
                });
                req.set_timeout(LOAD_DEADLINE);
                let started = Instant::now();
                let r = tokio::time::timeout(LOAD_DEADLINE * 3, c.batch_ingest_interactions(req))
                    .await
                    .expect("a write hung past its deadline");
                let took = started.elapsed();
                load.slowest = load.slowest.max(took);
                match r {
                    Ok(r) => {
                        let r = r.into_inner();
                        assert_eq!(r.counts.unwrap().created, 50, "{r:?}");
                        load.ok_calls += 1;
                        load.acked.extend(ids);
                    }
                    Err(s) => record_failure(&mut load, &s, took),
                }
                // A read of something acknowledged: the right answer or none.
                if let Some(id) = load.acked.get(load.acked.len().saturating_sub(7)).cloned() {
                    let mut req = tonic::Request::new(pb::GetInteractionRequest {
                        interaction_id: id.clone(),
                    });
                    req.set_timeout(LOAD_DEADLINE);
                    let started = Instant::now();
                    let r = tokio::time::timeout(LOAD_DEADLINE * 3, c.get_interaction(req))
                        .await
                        .expect("a read hung past its deadline");
                    let took = started.elapsed();
                    load.slowest = load.slowest.max(took);
                    match r {
                        Ok(r) => {
                            let i = r.into_inner().interaction.unwrap();
                            assert_eq!(i.id, id);
                            let k: usize = id.trim_start_matches("i-").parse().unwrap();
                            assert_eq!(i.agent_id, Fact::new(k, 1_000_000, day).agent());
                            load.ok_calls += 1;
                        }
                        Err(s) => record_failure(&mut load, &s, took),
                    }
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            load
        })
    };

    tokio::time::sleep(Duration::from_secs(2)).await;
    // Down long enough for every probe and caller to notice, then up.
    cluster.ctl("stop");
    tokio::time::sleep(Duration::from_secs(4)).await;
    cluster.ctl("start");
    // Serving again by itself, within a bound.
    let back = Instant::now();
    loop {
        if health(port, service).await == Some(ServingStatus::Serving)
            && back.elapsed() > Duration::from_secs(1)
        {
            break;
        }
        assert!(
            back.elapsed() < Duration::from_secs(30),
            "not SERVING 30s after PostgreSQL came back"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The load keeps working afterwards.
    tokio::time::sleep(Duration::from_secs(3)).await;
    stop.cancel();
    let load = load.await.unwrap();
    let seen = watcher.await.unwrap();
    eprintln!(
        "health {seen:?}; {} ok calls, {} UNAVAILABLE, {} DEADLINE_EXCEEDED, slowest {:?}, {} acknowledged",
        load.ok_calls,
        load.unavailable,
        load.deadline_exceeded,
        load.slowest,
        load.acked.len()
    );
    assert!(
        seen.contains(&Some(ServingStatus::NotServing)),
        "health never said NOT_SERVING: {seen:?}"
    );
    assert_eq!(seen.last(), Some(&Some(ServingStatus::Serving)), "{seen:?}");
    assert!(load.unavailable > 0, "no caller saw UNAVAILABLE: {load:?}");

    // Every acknowledged write is there; nothing that was not sent is.
    let admin = suite.token("acme", "root", &[Role::Admin]);
    let mut c = SamplingServiceClient::new(authed(port, &admin).await);
    let mut stored = HashSet::new();
    let mut page_token = String::new();
    loop {
        let r = c
            .list_interactions(pb::ListInteractionsRequest {
                filter: None,
                page_size: 1000,
                page_token,
            })
            .await
            .unwrap()
            .into_inner();
        stored.extend(r.interactions.into_iter().map(|i| i.id));
        if r.next_page_token.is_empty() {
            break;
        }
        page_token = r.next_page_token;
    }
    let missing: Vec<_> = load
        .acked
        .iter()
        .filter(|id| !stored.contains(*id))
        .take(5)
        .collect();
    assert!(missing.is_empty(), "acknowledged but lost: {missing:?}");
    assert!(stored.is_subset(&load.sent));
    suite.stop().await.unwrap();
    assert!(cluster.running());
}
