//! Report speed over a generated history, beside the same aggregation by
//! scanning the raw facts.
//!
//! Generates a year of interactions and evaluations for many agents (by
//! default 1,000,000 interactions, 100,000 evaluations, 2,000 agents),
//! applies them day by day through the store's apply path (the followers'
//! path, in bulk), and writes the same facts as raw rows. After 1, 3, 6 and
//! 12 months of history it times the per-agent quality + operational +
//! customer report over the last 90 days from the rollups (and, after 12
//! months, over the last day and the whole year), with where its time went
//! (SQL fetch, decoding and folding cells into groups, report building), and the same
//! figures computed by a SQL GROUP BY over the raw rows, in the same run,
//! and checks that the two agree.
//!
//! ```text
//! cargo run --release -p earshot-reporting --bin reporting-bench -- \
//!     [--database-url postgres://…] [--interactions N] [--evaluations N] \
//!     [--agents N] [--runs N] [--sqlite-path FILE] [--existing]
//! ```
//! Without `--database-url` it runs on a fresh SQLite file in the temp dir
//! (or at `--sqlite-path`, kept afterwards). A PostgreSQL run leaves its
//! history in the `reporting_bench` schema; `--existing` measures the
//! 12-month reports over a history an earlier run left (to iterate on the
//! read path; the figures of record come from a full run).

use std::collections::BTreeMap;
use std::time::Instant;

use chrono::NaiveDate;
use earshot_kit::{
    Result,
    auth::Tenant,
    config::DbTarget,
    db::{Db, DbOptions},
    with_pool, with_tx,
};
use earshot_reporting::calendar::{DateRange, day_start_utc_ms};
use earshot_reporting::dimension::{Channel, Dimension, Filter};
use earshot_reporting::facts::*;
use earshot_reporting::reports::{customer_report, operational_report, quality_report};
use earshot_reporting::rollup::cells::InteractionCell;
use earshot_reporting::rollup::keys::InteractionKey;
use earshot_reporting::store::{self, Change, FactChange, codec::day_number};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

struct Args {
    url: Option<String>,
    interactions: u64,
    evaluations: u64,
    agents: u64,
    runs: usize,
    existing: bool,
    sqlite_path: Option<std::path::PathBuf>,
}

fn args() -> std::result::Result<Args, String> {
    let mut a = Args {
        url: None,
        interactions: 1_000_000,
        evaluations: 100_000,
        agents: 2_000,
        runs: 5,
        existing: false,
        sqlite_path: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--database-url" => a.url = Some(value()?),
            "--interactions" => a.interactions = value()?.parse().map_err(|e| format!("{e}"))?,
            "--evaluations" => a.evaluations = value()?.parse().map_err(|e| format!("{e}"))?,
            "--agents" => a.agents = value()?.parse().map_err(|e| format!("{e}"))?,
            "--runs" => a.runs = value()?.parse().map_err(|e| format!("{e}"))?,
            "--existing" => a.existing = true,
            "--sqlite-path" => a.sqlite_path = Some(value()?.into()),
            other => return Err(format!("unknown argument {other}")),
        }
    }
    Ok(a)
}

const RAW_DDL: [&str; 4] = [
    "CREATE TABLE bench_raw_interactions (
        tenant_id TEXT NOT NULL, interaction_id TEXT NOT NULL, day INTEGER NOT NULL,
        agent_id TEXT NOT NULL, team_id TEXT NOT NULL, queue_id TEXT NOT NULL,
        channel SMALLINT NOT NULL, inbound SMALLINT NOT NULL, handled SMALLINT NOT NULL,
        abandoned SMALLINT NOT NULL, wait_ms BIGINT NOT NULL, talk_ms BIGINT NOT NULL,
        hold_ms BIGINT NOT NULL, acw_ms BIGINT NOT NULL, transferred SMALLINT NOT NULL,
        fcr SMALLINT NOT NULL, csat SMALLINT, nps SMALLINT, complaints INTEGER NOT NULL,
        complaints_resolved INTEGER NOT NULL, evaluated SMALLINT NOT NULL)",
    "CREATE INDEX bench_raw_interactions_by_day ON bench_raw_interactions (tenant_id, day)",
    "CREATE TABLE bench_raw_evaluations (
        tenant_id TEXT NOT NULL, evaluation_id TEXT NOT NULL, day INTEGER NOT NULL,
        agent_id TEXT NOT NULL, team_id TEXT NOT NULL, score BIGINT NOT NULL,
        passed SMALLINT NOT NULL, critical SMALLINT NOT NULL, released SMALLINT NOT NULL)",
    "CREATE INDEX bench_raw_evaluations_by_day ON bench_raw_evaluations (tenant_id, day)",
];

/// One generated interaction as a raw row.
struct RawInteraction {
    id: String,
    day: i32,
    fact: InteractionFact,
    fcr: i16,
    csat: Option<i16>,
    nps: Option<i16>,
    complaints: i32,
    resolved: i32,
    evaluated: bool,
}

struct RawEvaluation {
    id: String,
    day: i32,
    agent: String,
    team: String,
    score: i64,
    passed: bool,
    critical: bool,
    released: bool,
}

fn b(x: bool) -> i16 {
    i16::from(x)
}

async fn insert_raw(
    db: &Db,
    tenant: &Tenant,
    ints: &[RawInteraction],
    evs: &[RawEvaluation],
) -> Result<()> {
    let mut tx = db.begin().await?;
    for chunk in ints.chunks(300) {
        let mut sql = String::from("INSERT INTO bench_raw_interactions VALUES ");
        for r in 0..chunk.len() {
            if r > 0 {
                sql.push_str(", ");
            }
            sql.push('(');
            for c in 0..21 {
                if c > 0 {
                    sql.push_str(", ");
                }
                sql.push_str(&format!("${}", r * 21 + c + 1));
            }
            sql.push(')');
        }
        with_tx!(tx, |c| {
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.clone()));
            for r in chunk {
                let f = &r.fact;
                q = q
                    .bind(tenant.id())
                    .bind(r.id.as_str())
                    .bind(r.day)
                    .bind(f.context.agent_id.as_str())
                    .bind(f.context.team_id.as_str())
                    .bind(f.context.queue_id.as_str())
                    .bind(
                        Channel::ALL
                            .iter()
                            .position(|x| *x == f.context.channel)
                            .unwrap_or(0) as i16,
                    )
                    .bind(b(f.direction == Direction::Inbound))
                    .bind(b(f.disposition == Disposition::Handled))
                    .bind(b(f.disposition == Disposition::Abandoned))
                    .bind(f.wait_ms)
                    .bind(f.talk_ms)
                    .bind(f.hold_ms)
                    .bind(f.after_call_work_ms)
                    .bind(b(f.transferred))
                    .bind(r.fcr)
                    .bind(r.csat)
                    .bind(r.nps)
                    .bind(r.complaints)
                    .bind(r.resolved)
                    .bind(b(r.evaluated));
            }
            q.execute(&mut *c).await.map(|_| ())
        })?;
    }
    for chunk in evs.chunks(500) {
        let mut sql = String::from("INSERT INTO bench_raw_evaluations VALUES ");
        for r in 0..chunk.len() {
            if r > 0 {
                sql.push_str(", ");
            }
            sql.push('(');
            for c in 0..9 {
                if c > 0 {
                    sql.push_str(", ");
                }
                sql.push_str(&format!("${}", r * 9 + c + 1));
            }
            sql.push(')');
        }
        with_tx!(tx, |c| {
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.clone()));
            for r in chunk {
                q = q
                    .bind(tenant.id())
                    .bind(r.id.as_str())
                    .bind(r.day)
                    .bind(r.agent.as_str())
                    .bind(r.team.as_str())
                    .bind(r.score)
                    .bind(b(r.passed))
                    .bind(b(r.critical))
                    .bind(b(r.released));
            }
            q.execute(&mut *c).await.map(|_| ())
        })?;
    }
    tx.commit().await
}

/// Generates and applies one day.
async fn day(
    db: &Db,
    tenant: &Tenant,
    rng: &mut Rng,
    date: NaiveDate,
    a: &Args,
    per_day: (u64, u64),
    seq: &mut u64,
) -> Result<()> {
    let start = day_start_utc_ms(date, chrono_tz::Tz::UTC);
    let d = day_number(date);
    let mut raws = Vec::new();
    let mut changes = Vec::new();
    for _ in 0..per_day.0 {
        *seq += 1;
        let agent_n = rng.below(a.agents);
        let abandoned = rng.chance(5);
        let inbound = abandoned || rng.chance(90);
        let (agent, team) = if abandoned {
            (String::new(), String::new())
        } else {
            (format!("agent-{agent_n}"), format!("team-{}", agent_n / 20))
        };
        let fact = InteractionFact {
            context: InteractionContext {
                start_ms: start + rng.below(86_000_000) as i64,
                channel: Channel::ALL[(agent_n % 3) as usize],
                agent_id: agent,
                team_id: team,
                queue_id: format!("queue-{}", agent_n % 5),
            },
            direction: if inbound {
                Direction::Inbound
            } else {
                Direction::Outbound
            },
            disposition: if abandoned {
                Disposition::Abandoned
            } else {
                Disposition::Handled
            },
            wait_ms: rng.below(90_000) as i64,
            talk_ms: if abandoned {
                0
            } else {
                60_000 + rng.below(600_000) as i64
            },
            hold_ms: if abandoned {
                0
            } else {
                rng.below(120_000) as i64
            },
            after_call_work_ms: if abandoned {
                0
            } else {
                rng.below(180_000) as i64
            },
            transferred: !abandoned && rng.chance(8),
            resolution: match rng.below(20) {
                0..=14 => Resolution::Resolved,
                15..=17 => Resolution::NotResolved,
                _ => Resolution::Unknown,
            },
        };
        let id = format!("i{seq:08}");
        let fcr = match fact.resolution {
            Resolution::Unknown => 0,
            Resolution::Resolved => 1,
            Resolution::NotResolved => 2,
        };
        changes.push(FactChange {
            tenant: tenant.clone(),
            interaction_id: id.clone(),
            change: Change::Interaction(fact.clone()),
        });
        let (mut csat, mut nps) = (None, None);
        if !abandoned && rng.chance(20) {
            csat = Some(1 + rng.below(5) as u8);
            nps = rng.chance(60).then(|| rng.below(11) as u8);
            changes.push(FactChange {
                tenant: tenant.clone(),
                interaction_id: id.clone(),
                change: Change::Survey(SurveyFact {
                    sent: true,
                    csat,
                    nps,
                }),
            });
        }
        let (mut complaints, mut resolved) = (0, 0);
        if rng.chance(2) {
            complaints = 1;
            let r = rng.chance(50);
            resolved = i32::from(r);
            changes.push(FactChange {
                tenant: tenant.clone(),
                interaction_id: id.clone(),
                change: Change::Complaint(Complaint {
                    complaint_id: "c1".into(),
                    category: ["Billing", "Rude", "Slow"][rng.below(3) as usize].into(),
                    resolved: r,
                }),
            });
        }
        raws.push(RawInteraction {
            id,
            day: d,
            fact,
            fcr,
            csat: csat.map(i16::from),
            nps: nps.map(i16::from),
            complaints,
            resolved,
            evaluated: false,
        });
    }
    let mut evs = Vec::new();
    let mut handled: Vec<usize> = (0..raws.len())
        .filter(|i| raws[*i].fact.disposition == Disposition::Handled)
        .collect();
    // Distinct interactions: a partial Fisher-Yates shuffle.
    for n in 0..per_day.1 {
        let n = n as usize;
        if n >= handled.len() {
            break;
        }
        let j = n + rng.below((handled.len() - n) as u64) as usize;
        handled.swap(n, j);
        let i = handled[n];
        raws[i].evaluated = true;
        let score = 4_000 + rng.below(6_001) as i64;
        let critical = rng.chance(5);
        let e = EvaluationFact {
            evaluation_id: format!("e{d}-{n}"),
            context: raws[i].fact.context.clone(),
            scorecard_id: "customer-care".into(),
            evaluator_id: format!("evaluator-{}", rng.below(50)),
            score: Score::from_hundredths(score),
            passed: score >= 8_000 && !critical,
            critical_failure: critical,
            released: rng.chance(80),
            questions: (0..8)
                .map(|q| QuestionResult {
                    question_id: format!("q{q}"),
                    outcome: match rng.below(20) {
                        0..=16 => QuestionOutcome::Passed,
                        17..=18 => QuestionOutcome::Failed,
                        _ => QuestionOutcome::NotApplicable,
                    },
                })
                .collect(),
        };
        evs.push(RawEvaluation {
            id: e.evaluation_id.clone(),
            day: d,
            agent: e.context.agent_id.clone(),
            team: e.context.team_id.clone(),
            score,
            passed: e.passed,
            critical,
            released: e.released,
        });
        changes.push(FactChange {
            tenant: tenant.clone(),
            interaction_id: raws[i].id.clone(),
            change: Change::Evaluation(e),
        });
    }
    let mut tx = db.begin().await?;
    store::apply_changes(&mut tx, &changes).await?;
    tx.commit().await?;
    insert_raw(db, tenant, &raws, &evs).await
}

/// Per-agent figures both ways compare on.
#[derive(Debug, Clone, PartialEq, Default)]
struct Check {
    interactions: i64,
    handled: i64,
    aht_ms: f64,
    evaluations: i64,
    score: f64,
    csat_answers: i64,
}

/// Where one rollup report's time went (ms).
#[derive(Debug, Clone, Copy, Default)]
struct Phases {
    fetch: f64,
    fold: f64,
    report: f64,
}

fn ms(d: std::time::Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// The per-agent quality + operational + customer report from rollups.
async fn rollup_report(
    db: &Db,
    tenant: &Tenant,
    range: DateRange,
) -> Result<(usize, BTreeMap<String, Check>, Phases)> {
    let f = Filter::default();
    let q = store::scan_quality_grouped(db, tenant, range, Dimension::Agent, &f).await?;
    let i = store::scan_grouped::<InteractionKey, InteractionCell>(
        db,
        tenant,
        range,
        Dimension::Agent,
        &f,
    )
    .await?;
    let mut phases = Phases {
        fetch: ms(q.times.fetch + i.times.fetch),
        // Keys are filtered and grouped from their stored form, cells
        // merged as they are decoded: one phase.
        fold: ms(q.times.decode + i.times.decode),
        report: 0.0,
    };
    let cells = q.cells + i.cells;
    let (qg, qt, ig, itot) = (q.groups, q.total, i.groups, i.total);
    let t = Instant::now();
    let quality = quality_report(qg, &qt, None, 10).map_err(earshot_kit::Error::internal)?;
    let ops =
        operational_report(ig.clone(), &itot, None, 10).map_err(earshot_kit::Error::internal)?;
    let customer = customer_report(ig, &itot, None, 10).map_err(earshot_kit::Error::internal)?;
    phases.report = ms(t.elapsed());
    let mut out: BTreeMap<String, Check> = BTreeMap::new();
    for r in &ops.rows {
        let c = out.entry(r.group_id.clone()).or_default();
        c.interactions = r.figures.interaction_count;
        c.handled = r.figures.handled_count;
        c.aht_ms = if r.figures.average_handle_time.no_data {
            0.0
        } else {
            r.figures.average_handle_time.value * 1000.0
        };
    }
    for r in &quality.rows {
        let c = out.entry(r.group_id.clone()).or_default();
        c.evaluations = r.figures.evaluation_count;
        c.score = if r.figures.mean_score.no_data {
            0.0
        } else {
            r.figures.mean_score.value
        };
    }
    for r in &customer.rows {
        out.entry(r.group_id.clone()).or_default().csat_answers = r.figures.csat.sample_size;
    }
    Ok((cells, out, phases))
}

/// Times the report over `range` both ways (`runs` times, medians) and
/// prints one table row.
async fn measure(
    db: &Db,
    tenant: &Tenant,
    range: DateRange,
    runs: usize,
    label: (&str, String),
) -> Result<()> {
    let mut rolled = Vec::new();
    let mut raw = Vec::new();
    let mut phases: Vec<Phases> = Vec::new();
    let mut cells = 0;
    let mut same = true;
    let mut groups = 0;
    // Each method's runs back to back, as a report would be read again: a
    // raw scan between two rollup runs would evict the cells from
    // PostgreSQL's buffer cache (128 MB here) and time the rollups cold.
    let mut reports = Vec::new();
    for _ in 0..runs {
        let t = Instant::now();
        let (c, r, p) = rollup_report(db, tenant, range).await?;
        rolled.push(ms(t.elapsed()));
        phases.push(p);
        cells = c;
        groups = r.len();
        reports.push(r);
    }
    for r in &reports {
        let t = Instant::now();
        let s = raw_report(db, tenant, range).await?;
        raw.push(ms(t.elapsed()));
        same &= agree(r, &s);
    }
    let phase = |f: fn(&Phases) -> f64| median(phases.iter().map(f).collect());
    println!(
        "| {} | {} | {} days | {cells} | {:.1} | {:.1} / {:.1} / {:.1} | {:.1} | {groups} | {} |",
        label.0,
        label.1,
        range.days(),
        median(rolled),
        phase(|p| p.fetch),
        phase(|p| p.fold),
        phase(|p| p.report),
        median(raw),
        if same { "yes" } else { "NO" }
    );
    Ok(())
}

/// One agent's sums over raw interaction rows: every operational and
/// customer figure of the report follows from these.
#[derive(Debug, sqlx::FromRow)]
#[allow(dead_code)] // all are read by the query; the check compares a few
struct RawRow {
    agent_id: String,
    n: i64,
    handled: i64,
    handle_ms: i64,
    offered: i64,
    abandoned: i64,
    within: i64,
    wait_ms: i64,
    transferred: i64,
    fcr_known: i64,
    fcr_resolved: i64,
    csat_n: i64,
    csat_satisfied: i64,
    nps_n: i64,
    nps_net: i64,
    complaints: i64,
    complaints_resolved: i64,
}

/// The same figures by GROUP BY over the raw rows.
async fn raw_report(db: &Db, tenant: &Tenant, range: DateRange) -> Result<BTreeMap<String, Check>> {
    let (lo, hi) = (day_number(range.start()), day_number(range.end()));
    let ints: Vec<RawRow> = with_pool!(db.read(), |p| {
        sqlx::query_as(
        "SELECT agent_id, COUNT(*) AS n,
            CAST(SUM(handled) AS BIGINT) AS handled,
            CAST(SUM(CASE WHEN handled = 1 THEN talk_ms + hold_ms + acw_ms ELSE 0 END) AS BIGINT) AS handle_ms,
            CAST(SUM(CASE WHEN inbound = 1 AND (handled = 1 OR abandoned = 1) THEN 1 ELSE 0 END) AS BIGINT) AS offered,
            CAST(SUM(CASE WHEN inbound = 1 THEN abandoned ELSE 0 END) AS BIGINT) AS abandoned,
            CAST(SUM(CASE WHEN inbound = 1 AND handled = 1 AND wait_ms <= 20000 THEN 1 ELSE 0 END) AS BIGINT) AS within,
            CAST(SUM(CASE WHEN inbound = 1 AND handled = 1 THEN wait_ms ELSE 0 END) AS BIGINT) AS wait_ms,
            CAST(SUM(CASE WHEN handled = 1 THEN transferred ELSE 0 END) AS BIGINT) AS transferred,
            CAST(SUM(CASE WHEN fcr > 0 THEN 1 ELSE 0 END) AS BIGINT) AS fcr_known,
            CAST(SUM(CASE WHEN fcr = 1 THEN 1 ELSE 0 END) AS BIGINT) AS fcr_resolved,
            COUNT(csat) AS csat_n,
            CAST(SUM(CASE WHEN csat >= 4 THEN 1 ELSE 0 END) AS BIGINT) AS csat_satisfied,
            COUNT(nps) AS nps_n,
            CAST(SUM(CASE WHEN nps >= 9 THEN 1 WHEN nps <= 6 THEN -1 ELSE 0 END) AS BIGINT) AS nps_net,
            CAST(SUM(complaints) AS BIGINT) AS complaints,
            CAST(SUM(complaints_resolved) AS BIGINT) AS complaints_resolved
         FROM bench_raw_interactions
         WHERE tenant_id = $1 AND day BETWEEN $2 AND $3
         GROUP BY agent_id"
    )
    .bind(tenant.id())
    .bind(lo)
    .bind(hi)
    .fetch_all(p)
    .await
    })?;
    let evs: Vec<(String, i64, i64, i64, i64)> = with_pool!(db.read(), |p| sqlx::query_as(
        "SELECT agent_id, COUNT(*), CAST(SUM(score) AS BIGINT),
            CAST(SUM(passed) AS BIGINT), CAST(SUM(critical) AS BIGINT)
         FROM bench_raw_evaluations
         WHERE tenant_id = $1 AND day BETWEEN $2 AND $3
         GROUP BY agent_id"
    )
    .bind(tenant.id())
    .bind(lo)
    .bind(hi)
    .fetch_all(p)
    .await)?;
    let mut out: BTreeMap<String, Check> = BTreeMap::new();
    for r in ints {
        let c = out.entry(r.agent_id.clone()).or_default();
        c.interactions = r.n;
        c.handled = r.handled;
        c.aht_ms = if r.handled > 0 {
            r.handle_ms as f64 / r.handled as f64
        } else {
            0.0
        };
        c.csat_answers = r.csat_n;
    }
    for (agent, n, sum, _, _) in evs {
        let c = out.entry(agent).or_default();
        c.evaluations = n;
        c.score = sum as f64 / n as f64 / 100.0;
    }
    Ok(out)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(v.len() / 2).copied().unwrap_or(0.0)
}

fn agree(a: &BTreeMap<String, Check>, b: &BTreeMap<String, Check>) -> bool {
    a.len() == b.len()
        && a.iter().all(|(k, x)| {
            b.get(k).is_some_and(|y| {
                x.interactions == y.interactions
                    && x.handled == y.handled
                    && x.evaluations == y.evaluations
                    && x.csat_answers == y.csat_answers
                    && (x.aht_ms - y.aht_ms).abs() < 1e-6 * x.aht_ms.max(1.0)
                    && (x.score - y.score).abs() < 1e-9 * x.score.max(1.0)
            })
        })
}

fn print_header() {
    println!(
        "| engine | history | period | cells read | rollups: quality + operational + customer (ms) | fetch / decode+fold / report (ms) | raw GROUP BY (ms) | groups | agree |"
    );
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> std::result::Result<(), Box<dyn std::error::Error>> {
    let a = args()?;
    let (target, engine, cleanup) = match &a.url {
        Some(url) => {
            use sqlx::Connection as _;
            if !a.existing {
                let mut c = sqlx::PgConnection::connect(url).await?;
                sqlx::query("DROP SCHEMA IF EXISTS reporting_bench CASCADE")
                    .execute(&mut c)
                    .await?;
                c.close().await?;
            }
            (
                DbTarget::Postgres {
                    url: url.clone(),
                    schema: "reporting_bench".into(),
                },
                "PostgreSQL",
                None,
            )
        }
        None if a.existing && a.sqlite_path.is_none() => {
            return Err("--existing needs --database-url or --sqlite-path".into());
        }
        None if a.sqlite_path.is_some() => {
            let path = a.sqlite_path.clone().ok_or("path")?;
            if !a.existing {
                // The database and its WAL files: a stale WAL beside a new
                // database must not be replayed into it.
                for suffix in ["", "-wal", "-shm"] {
                    let mut p = path.clone().into_os_string();
                    p.push(suffix);
                    let p = std::path::PathBuf::from(p);
                    if p.exists() {
                        std::fs::remove_file(&p)?;
                    }
                }
            }
            (DbTarget::Sqlite { path }, "SQLite", None)
        }
        None => {
            let dir = std::env::temp_dir().join(format!("reporting-bench-{}", std::process::id()));
            std::fs::create_dir_all(&dir)?;
            (
                DbTarget::Sqlite {
                    path: dir.join("reporting.db"),
                },
                "SQLite",
                Some(dir),
            )
        }
    };
    let db = Db::open(
        &target,
        &DbOptions::default(),
        earshot_reporting::spec().migrations,
    )
    .await?;
    store::build_grains(&db).await?;
    let tenant = Tenant::trusted("bench");
    let first = NaiveDate::from_ymd_opt(2025, 1, 1).ok_or("date")?;
    let days = 365u64;
    if a.existing {
        println!("{engine}: the history of an earlier run, 12 months");
        print_header();
        let end = first + chrono::Days::new(days - 1);
        let history = "12 months".to_owned();
        for start in [end - chrono::Days::new(89), end, first] {
            let range = DateRange::new(start, end).map_err(|_| "range")?;
            measure(&db, &tenant, range, a.runs, (engine, history.clone())).await?;
        }
        db.close().await;
        return Ok(());
    }
    {
        let mut tx = db.begin().await?;
        for ddl in RAW_DDL {
            with_tx!(tx, |c| sqlx::query(ddl).execute(&mut *c).await.map(|_| ()))?;
        }
        tx.commit().await?;
    }
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let per_day = (a.interactions.div_ceil(days), a.evaluations.div_ceil(days));
    println!(
        "{engine}: {} interactions, {} evaluations, {} agents over {days} days",
        per_day.0 * days,
        per_day.1 * days,
        a.agents
    );
    print_header();
    let mut seq = 0u64;
    let checkpoints = [1u32, 3, 6, 12];
    let load = Instant::now();
    let mut month = 0u32;
    for n in 0..days {
        let date = first + chrono::Days::new(n);
        day(&db, &tenant, &mut rng, date, &a, per_day, &mut seq).await?;
        let next = date + chrono::Days::new(1);
        if next.month0() != date.month0() || n + 1 == days {
            month += 1;
            if checkpoints.contains(&month) {
                let history = format!("{month} month{}", if month == 1 { "" } else { "s" });
                let end = date;
                let range =
                    DateRange::new(end - chrono::Days::new(89), end).map_err(|_| "range")?;
                measure(&db, &tenant, range, a.runs, (engine, history.clone())).await?;
                if n + 1 == days {
                    // The shortest and the longest report over the full
                    // history: a day and the whole year.
                    let day = DateRange::new(end, end).map_err(|_| "range")?;
                    measure(&db, &tenant, day, a.runs, (engine, history.clone())).await?;
                    let year = DateRange::new(first, end).map_err(|_| "range")?;
                    measure(&db, &tenant, year, a.runs, (engine, history)).await?;
                }
            }
        }
    }
    println!(
        "loaded {} interactions in {:.0} s through the apply path",
        seq,
        load.elapsed().as_secs_f64()
    );
    db.close().await;
    if let Some(dir) = cleanup {
        let _ = std::fs::remove_dir_all(dir);
    }
    Ok(())
}

use chrono::Datelike as _;
