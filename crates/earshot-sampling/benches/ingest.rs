//! The ingest benchmark (issue 3): stream interactions through
//! `IngestInteractions` into the real sampling service, with an active
//! plan, and print interactions/s beside a raw bulk insert of the same rows
//! into a table with the same columns and indexes, on the same engine, in
//! the same run.
//!
//! Baselines (shared/PERFORMANCE.md): SQLite — rusqlite, one prepared
//! single-row `INSERT` reused, 10,000-row transactions, WAL,
//! `synchronous=NORMAL`; PostgreSQL — `COPY … FROM STDIN` through sqlx's
//! `PgCopyIn`. Baseline and Earshot runs alternate, each on a fresh
//! database; medians over the rounds are printed at the end.
//!
//! ```text
//! EARSHOT_TEST_DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres \
//!   cargo bench -p earshot-sampling --bench ingest -- --rows 1000000 --rounds 3
//! ```
//!
//! Options: `--rows N` (default 1,000,000), `--rounds R` (3), `--batch B`
//! interactions per ingest batch (2,000), `--window W` unacknowledged
//! batches in flight per stream (4), `--streams S` concurrent ingest
//! streams, batches dealt round robin (1), `--engines sqlite,postgres` (PostgreSQL only when
//! `EARSHOT_TEST_DATABASE_URL` is set), `--earshot-sync normal` (run
//! Earshot's SQLite writer with `synchronous=NORMAL` like the baseline,
//! instead of its default `FULL`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::print_stdout)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result};
use earshot_kit::{
    auth::Role,
    config::{Config, ServiceKind},
    db::{Db, DbOptions},
    server::{self, ServiceContext},
    testing::{self, Engine, TestStorage},
    time::from_millis,
};
use earshot_proto::common::v1 as common;
use earshot_proto::sampling::v1::{self as pb, sampling_service_client::SamplingServiceClient};
use futures::StreamExt as _;
use sqlx::Connection as _;
use tokio::net::TcpListener;
use tokio_util::{sync::CancellationToken, task::TaskTracker};

const TENANT: &str = "bench";
const MIGRATION: &str = include_str!("../migrations/sqlite/0001_init.sql");
const PG_MIGRATION: &str = include_str!("../migrations/postgres/0001_init.sql");

/// splitmix64.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// One generated interaction, as both paths store it.
#[derive(Clone)]
struct Row {
    id: String,
    channel: i32,
    direction: i32,
    agent: String,
    team: String,
    queue: String,
    arrived: i64,
    answered: i64,
    ended: i64,
    wait: i64,
    talk: i64,
    hold: i64,
    acw: i64,
    disposition: &'static str,
    customer_ref: String,
    transferred: bool,
    abandoned: bool,
    escalated: bool,
    language: &'static str,
    attributes: Vec<(String, String)>,
    attributes_json: String,
    recording_uri: String,
}

impl Row {
    fn handle(&self) -> i64 {
        self.talk + self.hold + self.acw
    }
}

/// `n` interactions over the last 28 days, in arrival order with jitter:
/// random UUIDv4-shaped ids (as many CRMs send), 500 agents in 50 teams,
/// 20 queues, as many customers as interactions (so about one in five
/// comes back within the 7-day repeat-contact window).
fn generate(n: usize, now: i64) -> Vec<Row> {
    let mut rng = Rng(0x5eed);
    let span = 28 * 24 * 3_600_000_i64;
    let start = now - span - 3_600_000;
    let dispositions = ["resolved", "callback", "sale", "escalated", "info"];
    let languages = ["en", "en-GB", "fr", "de", "es"];
    let mut rows = Vec::with_capacity(n);
    for k in 0..n {
        let a = rng.next();
        let b = rng.next();
        let id = format!(
            "{:08x}-{:04x}-4{:03x}-{:04x}-{:012x}",
            a >> 32,
            (a >> 16) & 0xffff,
            a & 0xfff,
            (b >> 48) & 0x3fff | 0x8000,
            b & 0xffff_ffff_ffff
        );
        let agent_n = rng.below(500);
        let arrived =
            start + (span as u128 * k as u128 / n as u128) as i64 + rng.below(60_000) as i64;
        let wait = rng.below(120_000) as i64;
        let talk = 30_000 + rng.below(900_000) as i64;
        let hold = if rng.below(4) == 0 {
            rng.below(120_000) as i64
        } else {
            0
        };
        let acw = rng.below(90_000) as i64;
        let attributes = vec![
            (
                "segment".to_owned(),
                ["gold", "silver", "bronze"][rng.below(3) as usize].to_owned(),
            ),
            (
                "crm_case".to_owned(),
                format!("CASE-{}", rng.below(10_000_000)),
            ),
        ];
        let attributes_json = serde_json::to_string(
            &attributes
                .iter()
                .cloned()
                .collect::<std::collections::BTreeMap<_, _>>(),
        )
        .unwrap();
        rows.push(Row {
            id: id.clone(),
            channel: [1, 1, 1, 2, 2, 3][rng.below(6) as usize],
            direction: if rng.below(10) == 0 { 2 } else { 1 },
            agent: format!("agent-{agent_n:04}"),
            team: format!("team-{:02}", agent_n / 10),
            queue: format!("queue-{:02}", rng.below(20)),
            arrived,
            answered: arrived + wait,
            ended: arrived + wait + talk + hold,
            wait,
            talk,
            hold,
            acw,
            disposition: dispositions[rng.below(5) as usize],
            customer_ref: format!("cust-{:07}", rng.below(n as u64 + 1)),
            transferred: rng.below(12) == 0,
            abandoned: false,
            escalated: rng.below(40) == 0,
            language: languages[rng.below(5) as usize],
            attributes,
            attributes_json,
            recording_uri: format!("https://recordings.example.com/calls/{id}.wav"),
        });
    }
    rows
}

fn message(r: &Row) -> pb::Interaction {
    let d = |ms: i64| prost_types::Duration {
        seconds: ms / 1000,
        nanos: ((ms % 1000) * 1_000_000) as i32,
    };
    pb::Interaction {
        id: r.id.clone(),
        channel: r.channel,
        direction: r.direction,
        agent_id: r.agent.clone(),
        team_id: r.team.clone(),
        queue_id: r.queue.clone(),
        arrived_time: Some(from_millis(r.arrived)),
        answered_time: Some(from_millis(r.answered)),
        ended_time: Some(from_millis(r.ended)),
        wait_duration: Some(d(r.wait)),
        talk_duration: Some(d(r.talk)),
        hold_duration: Some(d(r.hold)),
        after_call_work_duration: Some(d(r.acw)),
        disposition: r.disposition.into(),
        customer_ref: r.customer_ref.clone(),
        transferred: r.transferred,
        abandoned: r.abandoned,
        escalated: r.escalated,
        language: r.language.into(),
        attributes: r.attributes.iter().cloned().collect(),
        recording_uri: r.recording_uri.clone(),
        ..Default::default()
    }
}

/// The `interactions` table and its indexes, exactly as the engine's
/// migration creates them.
fn interactions_ddl(migration: &str) -> String {
    let from = migration.find("CREATE TABLE interactions").unwrap();
    let to = migration.find("CREATE TABLE surveys").unwrap();
    migration[from..to]
        .lines()
        .filter(|l| !l.trim_start().starts_with("--"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn raw_sqlite(rows: &[Row], dir: &std::path::Path, now: i64) -> Result<f64> {
    let path = dir.join("raw.db");
    let mut conn = rusqlite::Connection::open(&path)?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.execute_batch(&interactions_ddl(MIGRATION))?;
    let sql = "INSERT INTO interactions (tenant_id, id, channel, direction, agent_id, team_id, \
               queue_id, arrived_at, answered_at, ended_at, wait_ms, talk_ms, hold_ms, acw_ms, \
               handle_ms, disposition, customer_ref, transferred, abandoned, escalated, language, \
               attributes, recording_uri, transcript_uri, source_update_at, created_at, updated_at, \
               revision, min_csat, nps_detractor, has_survey, has_complaint) VALUES \
               (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, \
               ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28, NULL, FALSE, FALSE, FALSE)";
    let started = Instant::now();
    for chunk in rows.chunks(10_000) {
        let tx = conn.transaction()?;
        {
            let mut stmt = tx.prepare_cached(sql)?;
            for r in chunk {
                stmt.execute(rusqlite::params![
                    TENANT,
                    r.id,
                    r.channel,
                    r.direction,
                    r.agent,
                    r.team,
                    r.queue,
                    r.arrived,
                    r.answered,
                    r.ended,
                    r.wait,
                    r.talk,
                    r.hold,
                    r.acw,
                    r.handle(),
                    r.disposition,
                    r.customer_ref,
                    r.transferred,
                    r.abandoned,
                    r.escalated,
                    r.language,
                    r.attributes_json,
                    r.recording_uri,
                    "",
                    Option::<i64>::None,
                    now,
                    now,
                    1_i64,
                ])?;
            }
        }
        tx.commit()?;
    }
    Ok(rows.len() as f64 / started.elapsed().as_secs_f64())
}

fn copy_escape(buf: &mut Vec<u8>, s: &str) {
    for b in s.bytes() {
        match b {
            b'\\' => buf.extend_from_slice(b"\\\\"),
            b'\t' => buf.extend_from_slice(b"\\t"),
            b'\n' => buf.extend_from_slice(b"\\n"),
            b'\r' => buf.extend_from_slice(b"\\r"),
            _ => buf.push(b),
        }
    }
}

async fn raw_postgres(rows: &[Row], url: &str, now: i64) -> Result<f64> {
    let mut conn = sqlx::PgConnection::connect(url).await?;
    sqlx::query("CREATE SCHEMA raw").execute(&mut conn).await?;
    sqlx::query("SET search_path = raw")
        .execute(&mut conn)
        .await?;
    let ddl = interactions_ddl(PG_MIGRATION);
    for stmt in ddl.split(';').filter(|s| !s.trim().is_empty()) {
        sqlx::query(sqlx::AssertSqlSafe(stmt.to_owned()))
            .execute(&mut conn)
            .await?;
    }
    let started = Instant::now();
    for chunk in rows.chunks(100_000) {
        let mut buf: Vec<u8> = Vec::with_capacity(chunk.len() * 400);
        for r in chunk {
            use std::io::Write as _;
            copy_escape(&mut buf, TENANT);
            buf.push(b'\t');
            copy_escape(&mut buf, &r.id);
            write!(buf, "\t{}\t{}\t", r.channel, r.direction)?;
            copy_escape(&mut buf, &r.agent);
            buf.push(b'\t');
            copy_escape(&mut buf, &r.team);
            buf.push(b'\t');
            copy_escape(&mut buf, &r.queue);
            write!(
                buf,
                "\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t{}\t",
                r.arrived,
                r.answered,
                r.ended,
                r.wait,
                r.talk,
                r.hold,
                r.acw,
                r.handle()
            )?;
            copy_escape(&mut buf, r.disposition);
            buf.push(b'\t');
            copy_escape(&mut buf, &r.customer_ref);
            for f in [r.transferred, r.abandoned, r.escalated] {
                buf.extend_from_slice(if f { b"\tt" } else { b"\tf" });
            }
            buf.push(b'\t');
            copy_escape(&mut buf, r.language);
            buf.push(b'\t');
            copy_escape(&mut buf, &r.attributes_json);
            buf.push(b'\t');
            copy_escape(&mut buf, &r.recording_uri);
            writeln!(buf, "\t\t\\N\t{now}\t{now}\t1\t\\N\tf\tf\tf")?;
        }
        let mut copy = conn
            .copy_in_raw(
                "COPY interactions (tenant_id, id, channel, direction, agent_id, team_id, queue_id, \
                 arrived_at, answered_at, ended_at, wait_ms, talk_ms, hold_ms, acw_ms, handle_ms, \
                 disposition, customer_ref, transferred, abandoned, escalated, language, attributes, \
                 recording_uri, transcript_uri, source_update_at, created_at, updated_at, revision, \
                 min_csat, nps_detractor, has_survey, has_complaint) FROM STDIN WITH (FORMAT text)",
            )
            .await?;
        copy.send(buf).await?;
        copy.finish().await?;
    }
    let rate = rows.len() as f64 / started.elapsed().as_secs_f64();
    let _ = conn.close().await;
    Ok(rate)
}

/// Adds the bearer token to every call.
#[derive(Clone)]
struct Bearer(tonic::metadata::MetadataValue<tonic::metadata::Ascii>);

impl tonic::service::Interceptor for Bearer {
    fn call(
        &mut self,
        mut req: tonic::Request<()>,
    ) -> std::result::Result<tonic::Request<()>, tonic::Status> {
        req.metadata_mut().insert("authorization", self.0.clone());
        Ok(req)
    }
}

struct Opts {
    rows: usize,
    rounds: usize,
    batch: usize,
    window: usize,
    streams: usize,
    engines: Vec<Engine>,
    /// Run Earshot's SQLite writer with synchronous=NORMAL (like the
    /// baseline) instead of its default FULL.
    sqlite_normal: bool,
}

/// Starts the sampling service alone on `storage` and streams `rows`
/// through `IngestInteractions`; returns interactions/s and selections.
async fn earshot(rows: &Arc<Vec<Row>>, storage: &TestStorage, opts: &Opts) -> Result<(f64, i64)> {
    let mut config = Config {
        data_dir: storage.dir.path().to_path_buf(),
        ..Config::default()
    };
    config.database.url = storage.postgres_url.clone();
    config.auth.hs256_secret = Some(testing::TEST_SECRET.into());
    let config = Arc::new(config);
    let spec = earshot_sampling::spec();
    let db = Db::open(
        &config.db_target(ServiceKind::Sampling),
        &DbOptions {
            max_connections: config.database.max_connections,
            acquire_timeout: config.database.acquire_timeout,
        },
        spec.migrations,
    )
    .await
    .map_err(|e| anyhow::anyhow!("{e}"))?;
    if opts.sqlite_normal
        && let Some(writer) = db.sqlite_writer()
    {
        // The writer pool holds one connection; the pragma stays with it.
        sqlx::query("PRAGMA synchronous = NORMAL")
            .execute(writer)
            .await?;
    }
    let shutdown = CancellationToken::new();
    let tasks = TaskTracker::new();
    let health = tonic_health::server::HealthReporter::new();
    let ctx = ServiceContext {
        kind: ServiceKind::Sampling,
        config: config.clone(),
        db: db.clone(),
        health: health.clone(),
        shutdown: shutdown.clone(),
        tasks: tasks.clone(),
        system_token: Arc::from(""),
        client_tls: None,
    };
    let routes = (spec.build)(ctx)
        .await
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let server = {
        let config = config.clone();
        let shutdown = shutdown.clone();
        tokio::spawn(async move {
            server::serve(
                &config,
                None,
                listener,
                routes,
                spec.service_names,
                health,
                testing::test_verifier(),
                shutdown,
            )
            .await
        })
    };

    let token = testing::token(TENANT, "bench", &[Role::Admin, Role::Integration]);
    let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))?
        .tcp_nodelay(true)
        .connect()
        .await?;
    let mut client = SamplingServiceClient::with_interceptor(
        channel,
        Bearer(format!("Bearer {token}").parse()?),
    )
    .max_decoding_message_size(64 << 20)
    .max_encoding_message_size(64 << 20);
    // An active plan: 4 to 8 per agent per week, 6 at random, transfers
    // targeted; and evaluators to route to.
    client
        .create_plan(pb::CreatePlanRequest {
            plan: Some(pb::SamplingPlan {
                display_name: "Weekly QA".into(),
                period: common::Granularity::Week as i32,
                target: Some(pb::PerAgentTarget {
                    min_per_agent: 4,
                    max_per_agent: 8,
                    random_target: Some(pb::per_agent_target::RandomTarget::Count(6)),
                }),
                expected_agent_volume: 500,
                targeted_rules: vec![pb::TargetedRule {
                    rule_id: "transfers".into(),
                    kind: pb::TargetedRuleKind::Transferred as i32,
                    cap_per_agent: 1,
                    priority: 1,
                    ..Default::default()
                }],
                ..Default::default()
            }),
            request_id: String::new(),
        })
        .await?;
    for e in 0..20 {
        client
            .create_evaluator(pb::CreateEvaluatorRequest {
                evaluator: Some(pb::Evaluator {
                    id: format!("evaluator-{e:02}"),
                    display_name: format!("Evaluator {e}"),
                    capacity_per_day: 1000,
                    active: true,
                    ..Default::default()
                }),
                request_id: String::new(),
            })
            .await?;
    }

    // `streams` concurrent IngestInteractions streams, batches dealt round
    // robin, each stream with `window` unacknowledged batches in flight.
    earshot_sampling::store::phases::reset();
    let started = Instant::now();
    let mut streams = Vec::new();
    for s in 0..opts.streams {
        let (tx, rx) = tokio::sync::mpsc::channel::<pb::IngestInteractionsRequest>(opts.window);
        let permits = Arc::new(tokio::sync::Semaphore::new(opts.window));
        let producer = {
            let rows = rows.clone();
            let permits = permits.clone();
            let (batch, every) = (opts.batch, opts.streams);
            tokio::spawn(async move {
                for (n, chunk) in rows.chunks(batch).enumerate().skip(s).step_by(every) {
                    let permit = permits.acquire().await.expect("semaphore open");
                    permit.forget();
                    let req = pb::IngestInteractionsRequest {
                        batch_id: n.to_string(),
                        interactions: chunk.iter().map(message).collect(),
                    };
                    if tx.send(req).await.is_err() {
                        break;
                    }
                }
            })
        };
        let mut client = client.clone();
        streams.push(tokio::spawn(async move {
            let mut acks = client
                .ingest_interactions(tokio_stream::wrappers::ReceiverStream::new(rx))
                .await?
                .into_inner();
            let (mut created, mut selected) = (0i64, 0i64);
            while let Some(ack) = acks.next().await {
                let ack = ack.context("ingest batch")?;
                let c = ack.counts.unwrap_or_default();
                created += i64::from(c.created);
                selected += i64::from(ack.selected);
                anyhow::ensure!(
                    c.rejected == 0,
                    "batch {} had rejects: {:?}",
                    ack.batch_id,
                    ack.results.iter().find(|r| !r.violations.is_empty())
                );
                permits.add_permits(1);
            }
            producer.await?;
            anyhow::Ok((created, selected))
        }));
    }
    let (mut created, mut selected) = (0i64, 0i64);
    for s in streams {
        let (c, sel) = s.await??;
        created += c;
        selected += sel;
    }
    let elapsed = started.elapsed();
    let phases = earshot_sampling::store::phases::totals()
        .into_iter()
        .map(|(name, d)| {
            format!(
                "{name} {:.1}s ({:.0}%)",
                d.as_secs_f64(),
                100.0 * d.as_secs_f64() / elapsed.as_secs_f64()
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    println!(
        "  phases (summed over streams, share of {:.1}s): {phases}",
        elapsed.as_secs_f64()
    );
    anyhow::ensure!(
        created as usize == rows.len(),
        "created {created} of {}",
        rows.len()
    );
    shutdown.cancel();
    let _ = server.await;
    tasks.close();
    tasks.wait().await;
    db.close().await;
    Ok((rows.len() as f64 / elapsed.as_secs_f64(), selected))
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => 0.0,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

fn parse_opts() -> Opts {
    let mut o = Opts {
        rows: 1_000_000,
        rounds: 3,
        batch: 2_000,
        window: 4,
        streams: 1,
        engines: vec![Engine::Sqlite],
        sqlite_normal: false,
    };
    if std::env::var_os(testing::POSTGRES_ENV).is_some() {
        o.engines.push(Engine::Postgres);
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut i = 0;
    while i < args.len() {
        let value = args.get(i + 1).cloned().unwrap_or_default();
        match args[i].as_str() {
            "--rows" => o.rows = value.parse().expect("--rows N"),
            "--rounds" => o.rounds = value.parse().expect("--rounds N"),
            "--batch" => o.batch = value.parse().expect("--batch N"),
            "--window" => o.window = value.parse().expect("--window N"),
            "--streams" => o.streams = value.parse::<usize>().expect("--streams N").max(1),
            "--earshot-sync" => o.sqlite_normal = value == "normal",
            "--engines" => {
                o.engines = value
                    .split(',')
                    .map(|e| match e {
                        "sqlite" => Engine::Sqlite,
                        "postgres" => Engine::Postgres,
                        other => panic!("unknown engine {other}"),
                    })
                    .collect()
            }
            // cargo bench passes --bench; ignore what we do not know.
            _ => {
                i += 1;
                continue;
            }
        }
        i += 2;
    }
    o
}

#[tokio::main]
async fn main() -> Result<()> {
    let opts = parse_opts();
    let now = earshot_kit::time::now_millis();
    println!(
        "generating {} interactions (random UUIDv4 ids, 500 agents, 28 days)…",
        opts.rows
    );
    let rows = Arc::new(generate(opts.rows, now));
    println!(
        "batch {} interactions, {} stream(s) with {} batches in flight each, {} round(s); Earshot's SQLite runs with synchronous={}, the raw baseline with NORMAL\n",
        opts.batch,
        opts.streams,
        opts.window,
        opts.rounds,
        if opts.sqlite_normal {
            "NORMAL"
        } else {
            "FULL (its default)"
        }
    );
    println!(
        "{:<10} {:>5} {:>16} {:>20} {:>8} {:>11}",
        "engine", "round", "raw rows/s", "earshot interact./s", "ratio", "selections"
    );
    let mut summary = Vec::new();
    for engine in &opts.engines {
        let (mut raws, mut ours) = (Vec::new(), Vec::new());
        for round in 1..=opts.rounds {
            let raw = {
                let storage = TestStorage::new(*engine)
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
                match engine {
                    Engine::Sqlite => raw_sqlite(&rows, storage.dir.path(), now)?,
                    Engine::Postgres => {
                        raw_postgres(
                            &rows,
                            storage.postgres_url.as_deref().unwrap_or_default(),
                            now,
                        )
                        .await?
                    }
                }
            };
            let storage = TestStorage::new(*engine)
                .await
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            let (rate, selected) = earshot(&rows, &storage, &opts).await?;
            drop(storage);
            println!(
                "{:<10} {:>5} {:>16.0} {:>20.0} {:>7.0}% {:>11}",
                format!("{engine:?}"),
                round,
                raw,
                rate,
                100.0 * rate / raw,
                selected
            );
            raws.push(raw);
            ours.push(rate);
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        summary.push((*engine, median(&mut raws), median(&mut ours)));
    }
    println!("\nmedians:");
    for (engine, raw, ours) in summary {
        println!(
            "{:<10} raw {:>10.0} rows/s   earshot {:>10.0} interactions/s   {:>4.0}% of raw",
            format!("{engine:?}"),
            raw,
            ours,
            100.0 * ours / raw
        );
    }
    Ok(())
}
