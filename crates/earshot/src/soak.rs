//! `earshot soak`: sustained mixed load on the whole suite for a bounded
//! time — ingest, reads, evaluators claiming and scoring assignments,
//! reports — at fixed rates, with every call's latency and outcome recorded
//! and the process's memory sampled, so a run says whether latency, errors
//! and memory stay flat. The suite runs in this process on a throw-away
//! embedded database (or a PostgreSQL database with `--database-url`), so
//! the memory figure is the suite's plus the (small, bounded) generator's.

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
    time::{Duration, Instant},
};

use clap::Args;
use earshot_kit::{
    auth::Role,
    config::{Config, ServiceKind},
};
use earshot_proto::{
    common::v1::{Channel, Direction, Granularity},
    reporting::v1 as rpb,
    sampling::v1 as spb,
    scoring::v1 as cpb,
};
use tokio_util::sync::CancellationToken;

use crate::client::{self, Clients, commands::PlanArgs};
use crate::demo::generate::{self, Habit};

const TENANT: &str = "soak";
const AGENTS: usize = 200;

/// Flags of `earshot soak`.
#[derive(Debug, Clone, Args)]
pub struct SoakArgs {
    /// How long the load runs, in seconds (after a short set-up).
    #[arg(long, default_value_t = 120)]
    pub seconds: u64,
    /// Interactions ingested per second (batches every 100 ms).
    #[arg(long, default_value_t = 500)]
    pub ingest_rate: u32,
    /// Interaction reads (GetInteraction) per second.
    #[arg(long, default_value_t = 50)]
    pub read_rate: u32,
    /// Report rounds (quality + operational + customer) per second.
    #[arg(long, default_value_t = 2)]
    pub report_rate: u32,
    /// Evaluators claiming and scoring assignments at once.
    #[arg(long, default_value_t = 4)]
    pub evaluators: usize,
    /// Run on this PostgreSQL server instead of embedded SQLite.
    #[arg(long)]
    pub database_url: Option<String>,
    /// Fail (exit 1) when more than this share of calls failed.
    #[arg(long, default_value_t = 0.001)]
    pub max_error_rate: f64,
}

/// Latencies and failures per operation.
#[derive(Default)]
struct Record {
    ops: BTreeMap<&'static str, Op>,
}

#[derive(Default)]
struct Op {
    latencies_us: Vec<u64>,
    errors: BTreeMap<String, u64>,
}

type Shared = Arc<Mutex<Record>>;

fn note<T>(rec: &Shared, op: &'static str, started: Instant, r: &Result<T, tonic::Status>) {
    let us = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
    if let Ok(mut g) = rec.lock() {
        let o = g.ops.entry(op).or_default();
        o.latencies_us.push(us);
        if let Err(s) = r {
            *o.errors.entry(format!("{:?}", s.code())).or_default() += 1;
        }
    }
}

/// The resident set size of this process in KiB (Linux), or 0.
fn rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse().ok())
        })
        .unwrap_or(0)
}

fn quantile(sorted: &[u64], q: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let i = ((sorted.len() as f64 - 1.0) * q).round() as usize;
    sorted[i.min(sorted.len() - 1)] as f64 / 1000.0
}

/// Runs the soak.
pub async fn run(base: Config, args: SoakArgs) -> anyhow::Result<bool> {
    let dir = std::env::temp_dir().join(format!(
        "earshot-soak-{}-{}",
        std::process::id(),
        earshot_kit::time::now_millis()
    ));
    let mut config = Config {
        data_dir: dir.join("data"),
        log: base.log.clone(),
        ..Config::default()
    };
    config.database.url = args.database_url.clone();
    config.server.shutdown_grace = Duration::from_secs(2);
    for kind in ServiceKind::ALL {
        config.service_mut(kind).port = Some(0);
    }
    let shutdown = CancellationToken::new();
    let suite = crate::start(config, &ServiceKind::ALL, shutdown.clone()).await?;
    let result = drive(&suite, &args).await;
    shutdown.cancel();
    let _ = suite.wait().await;
    let _ = std::fs::remove_dir_all(&dir);
    result
}

async fn drive(suite: &crate::Suite, args: &SoakArgs) -> anyhow::Result<bool> {
    let urls: BTreeMap<ServiceKind, String> = ServiceKind::ALL
        .into_iter()
        .filter_map(|k| suite.url(k).map(|u| (k, u)))
        .collect();
    let config = (*suite.config).clone();
    let token = |subject: &str, roles: &[Role]| client::mint(&config, TENANT, subject, roles);
    let admin = Clients::new(urls, &token("soak-admin", &[Role::Admin, Role::QaManager])?)?;
    let acd = admin.with_token(&token("acd", &[Role::Integration])?)?;

    // Set-up: evaluators, the demo's scorecard, a daily plan that selects a
    // few of each agent's interactions as they arrive.
    eprintln!(
        "soak: setting up (scorecard, plan, {} evaluators)",
        args.evaluators
    );
    let mut sampling = admin.sampling()?;
    let evaluators: Vec<String> = (0..args.evaluators).map(|i| format!("eval-{i}")).collect();
    for id in &evaluators {
        admin
            .call(
                ServiceKind::Sampling,
                sampling.create_evaluator(spb::CreateEvaluatorRequest {
                    evaluator: Some(spb::Evaluator {
                        id: id.clone(),
                        display_name: id.clone(),
                        capacity_per_day: 1000,
                        active: true,
                        ..Default::default()
                    }),
                    request_id: format!("soak-{id}"),
                }),
            )
            .await?;
    }
    let (card, _) = crate::demo::publish_scorecard(&admin, "soak", "soak").await?;
    let per_agent = i32::try_from(
        u64::from(args.ingest_rate) * args.seconds / u64::try_from(AGENTS).unwrap_or(1),
    )
    .unwrap_or(i32::MAX)
    .max(1);
    let plan = PlanArgs {
        name: "Soak".into(),
        period: Granularity::Day,
        min_per_agent: 1,
        max_per_agent: 20,
        rule_cap: 1000,
        random_per_agent: Some(4),
        expected_agent_volume: per_agent,
        channels: Vec::new(),
        queues: Vec::new(),
        rules: Vec::new(),
        due_hours: 72,
        seed: Some(7),
    };
    admin
        .call(
            ServiceKind::Sampling,
            sampling.create_plan(spb::CreatePlanRequest {
                plan: Some(plan.plan()?),
                request_id: "soak-plan".into(),
            }),
        )
        .await?;

    let rec: Shared = Arc::default();
    let stop = CancellationToken::new();
    let mut tasks = tokio::task::JoinSet::new();
    let ingested = Arc::new(std::sync::atomic::AtomicU64::new(0));

    // Ingest: one batch every 100 ms.
    {
        let (acd, rec, stop, ingested) = (acd.clone(), rec.clone(), stop.clone(), ingested.clone());
        let per_batch = (args.ingest_rate / 10).max(1);
        tasks.spawn(async move {
            let mut c = acd.sampling()?;
            let mut tick = tokio::time::interval(Duration::from_millis(100));
            let mut n = 0u64;
            while !stop.is_cancelled() {
                tick.tick().await;
                let now = earshot_kit::time::now_millis();
                let interactions: Vec<spb::Interaction> = (0..per_batch)
                    .map(|_| {
                        n += 1;
                        interaction(n, now)
                    })
                    .collect();
                let t = Instant::now();
                let r = c
                    .batch_ingest_interactions(spb::BatchIngestInteractionsRequest { interactions })
                    .await;
                note(&rec, "ingest batch", t, &r);
                if r.is_ok() {
                    ingested.store(n, std::sync::atomic::Ordering::Relaxed);
                }
            }
            anyhow::Ok(())
        });
    }
    // Reads of recent interactions.
    if args.read_rate > 0 {
        let (admin, rec, stop, ingested) =
            (admin.clone(), rec.clone(), stop.clone(), ingested.clone());
        let every = Duration::from_secs_f64(1.0 / f64::from(args.read_rate));
        tasks.spawn(async move {
            let mut c = admin.sampling()?;
            let mut tick = tokio::time::interval(every);
            let mut k = 0u64;
            while !stop.is_cancelled() {
                tick.tick().await;
                let top = ingested.load(std::sync::atomic::Ordering::Relaxed);
                if top == 0 {
                    continue;
                }
                k = k.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1);
                let t = Instant::now();
                let r = c
                    .get_interaction(spb::GetInteractionRequest {
                        interaction_id: id(1 + (k >> 33) % top),
                    })
                    .await;
                note(&rec, "get interaction", t, &r);
            }
            anyhow::Ok(())
        });
    }
    // Reports.
    if args.report_rate > 0 {
        let (admin, rec, stop) = (admin.clone(), rec.clone(), stop.clone());
        let every = Duration::from_secs_f64(1.0 / f64::from(args.report_rate));
        tasks.spawn(async move {
            let mut c = admin.reporting()?;
            let mut tick = tokio::time::interval(every);
            while !stop.is_cancelled() {
                tick.tick().await;
                let period = rpb::Period {
                    kind: Some(rpb::period::Kind::Preset(
                        rpb::PresetPeriod::Last7Days as i32,
                    )),
                };
                let group_by = rpb::Dimension::Agent as i32;
                let t = Instant::now();
                let r = c
                    .run_quality_report(rpb::RunQualityReportRequest {
                        period: Some(period),
                        group_by,
                        ..Default::default()
                    })
                    .await;
                note(&rec, "quality report", t, &r);
                let t = Instant::now();
                let r = c
                    .run_operational_report(rpb::RunOperationalReportRequest {
                        period: Some(period),
                        group_by,
                        ..Default::default()
                    })
                    .await;
                note(&rec, "operational report", t, &r);
                let t = Instant::now();
                let r = c
                    .run_customer_report(rpb::RunCustomerReportRequest {
                        period: Some(period),
                        group_by,
                        ..Default::default()
                    })
                    .await;
                note(&rec, "customer report", t, &r);
            }
            anyhow::Ok(())
        });
    }
    // Evaluators: claim, create, submit, release.
    for who in evaluators {
        let me = admin.with_token(&token(&who, &[Role::Evaluator])?)?;
        let (admin, rec, stop, card_id) =
            (admin.clone(), rec.clone(), stop.clone(), card.id.clone());
        tasks.spawn(async move {
            let mut s = me.sampling()?;
            let mut sc = me.scoring()?;
            let mut qa = admin.scoring()?;
            while !stop.is_cancelled() {
                let t = Instant::now();
                let r = s
                    .claim_next_assignment(spb::ClaimNextAssignmentRequest {
                        channels: Vec::new(),
                    })
                    .await;
                note(&rec, "claim assignment", t, &r);
                let Some(a) = r.ok().and_then(|r| r.into_inner().assignment) else {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    continue;
                };
                let t = Instant::now();
                let r = sc
                    .create_evaluation(cpb::CreateEvaluationRequest {
                        request_id: format!("soak-{}", a.id),
                        origin: Some(cpb::create_evaluation_request::Origin::Assignment(
                            cpb::FromAssignment {
                                assignment_id: a.id.clone(),
                            },
                        )),
                        scorecard: Some(cpb::ScorecardVersionRef {
                            scorecard_id: card_id.clone(),
                            version: 0,
                        }),
                    })
                    .await;
                note(&rec, "create evaluation", t, &r);
                let Some(e) = r.ok().and_then(|r| r.into_inner().evaluation) else {
                    continue;
                };
                let interaction = a.interaction.unwrap_or_default().interaction_id;
                let habit = Habit {
                    bias: 0.0,
                    noise: 0.05,
                };
                let t = Instant::now();
                let r = sc
                    .submit_evaluation(cpb::SubmitEvaluationRequest {
                        evaluation_id: e.id.clone(),
                        etag: e.etag.clone(),
                        content: Some(cpb::DraftContent {
                            answers: generate::answers(7, &interaction, &who, 0.7, habit),
                            overall_comment: String::new(),
                        }),
                    })
                    .await;
                note(&rec, "submit evaluation", t, &r);
                let Some(e) = r.ok().and_then(|r| r.into_inner().evaluation) else {
                    continue;
                };
                let t = Instant::now();
                let r = qa
                    .release_evaluation(cpb::ReleaseEvaluationRequest {
                        evaluation_id: e.id.clone(),
                        etag: e.etag.clone(),
                    })
                    .await;
                note(&rec, "release evaluation", t, &r);
            }
            anyhow::Ok(())
        });
    }

    // Run, sampling memory once a second.
    eprintln!(
        "soak: running {} s: {} interactions/s, {} reads/s, {} report rounds/s, {} evaluators",
        args.seconds, args.ingest_rate, args.read_rate, args.report_rate, args.evaluators
    );
    let started = Instant::now();
    let mut rss: Vec<u64> = Vec::new();
    while started.elapsed() < Duration::from_secs(args.seconds) {
        tokio::time::sleep(Duration::from_secs(1)).await;
        rss.push(rss_kib());
        let secs = started.elapsed().as_secs();
        if secs.is_multiple_of(30) {
            eprintln!(
                "soak: {secs} s, {} interactions, RSS {} MiB",
                ingested.load(std::sync::atomic::Ordering::Relaxed),
                rss.last().copied().unwrap_or(0) / 1024
            );
        }
    }
    stop.cancel();
    while let Some(r) = tasks.join_next().await {
        match r {
            Ok(Ok(())) => {}
            Ok(Err(e)) => eprintln!("soak: a load task stopped: {e}"),
            Err(e) => eprintln!("soak: a load task failed: {e}"),
        }
    }
    Ok(summarize(&rec, &rss, started.elapsed(), args))
}

fn id(n: u64) -> String {
    format!("soak-{n:09}")
}

/// Interaction number `n`, arrived just before `now`.
fn interaction(n: u64, now: i64) -> spb::Interaction {
    let agent = n % u64::try_from(AGENTS).unwrap_or(1);
    let arrived = now - 400_000 - i64::try_from(n % 1000).unwrap_or(0) * 100;
    let ts = earshot_kit::time::from_millis;
    spb::Interaction {
        id: id(n),
        channel: Channel::Voice as i32,
        direction: Direction::Inbound as i32,
        agent_id: format!("agent-{agent:03}"),
        team_id: format!("team-{:02}", agent / 10),
        queue_id: ["billing", "support", "sales"][usize::try_from(n % 3).unwrap_or(0)].into(),
        arrived_time: Some(ts(arrived)),
        answered_time: Some(ts(arrived + 20_000)),
        ended_time: Some(ts(arrived + 320_000)),
        customer_ref: format!("cust-{}", n % 50_000),
        ..Default::default()
    }
}

/// Prints the table and the memory line; false when the error rate is above
/// the limit.
fn summarize(rec: &Shared, rss: &[u64], elapsed: Duration, args: &SoakArgs) -> bool {
    let Ok(g) = rec.lock() else {
        return false;
    };
    let secs = elapsed.as_secs_f64();
    println!("| operation | calls | per second | errors | p50 ms | p99 ms | max ms |");
    println!("| --- | ---: | ---: | ---: | ---: | ---: | ---: |");
    let (mut calls, mut errors) = (0u64, 0u64);
    for (name, op) in &g.ops {
        let mut l = op.latencies_us.clone();
        l.sort_unstable();
        let n = l.len() as u64;
        let e: u64 = op.errors.values().sum();
        calls += n;
        errors += e;
        let detail = if op.errors.is_empty() {
            String::new()
        } else {
            format!(" {:?}", op.errors)
        };
        println!(
            "| {name} | {n} | {:.1} | {e}{detail} | {:.1} | {:.1} | {:.1} |",
            n as f64 / secs,
            quantile(&l, 0.5),
            quantile(&l, 0.99),
            quantile(&l, 1.0)
        );
    }
    let rate = if calls == 0 {
        0.0
    } else {
        errors as f64 / calls as f64
    };
    // Memory: the median of the second quarter (after warm-up) against the
    // median of the last quarter.
    let median = |s: &[u64]| {
        let mut v = s.to_vec();
        v.sort_unstable();
        v.get(v.len() / 2).copied().unwrap_or(0)
    };
    let q = rss.len() / 4;
    let early = median(rss.get(q..2 * q).unwrap_or_default());
    let late = median(rss.get(3 * q..).unwrap_or_default());
    let growth = if early == 0 {
        0.0
    } else {
        (late as f64 - early as f64) / early as f64 * 100.0
    };
    println!(
        "\nerrors: {errors} of {calls} calls ({:.3}%); RSS second quarter {:.0} MiB, last quarter {:.0} MiB ({growth:+.1}%), peak {:.0} MiB",
        rate * 100.0,
        early as f64 / 1024.0,
        late as f64 / 1024.0,
        rss.iter().max().copied().unwrap_or(0) as f64 / 1024.0
    );
    rate <= args.max_error_rate
}
