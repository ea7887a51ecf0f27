//! `earshot demo`: the whole suite, in this process, on a throw-away
//! embedded database, running a month of a generated contact center through
//! the quality program — sampling, evaluation, dispute, calibration,
//! reporting — and writing the reports as one self-contained HTML page.
//!
//! Everything goes over real gRPC with the tokens each role would hold, so
//! the demo is also a worked example of the API.

use std::{
    collections::BTreeMap,
    io::Write as _,
    path::PathBuf,
    time::{Duration, Instant},
};

use clap::Args;
use earshot_kit::{
    auth::Role,
    config::{Config, ServiceKind},
};
use earshot_proto::{
    calibration::v1 as kpb,
    common::v1::Granularity,
    reporting::v1::{self as rpb, Dimension, Metric},
    sampling::v1 as spb,
    scoring::v1 as cpb,
};
use tokio_util::sync::CancellationToken;

use crate::client::{
    self, Clients,
    commands::PlanArgs,
    ingest, report,
    table::{Cell, Table},
};

pub mod generate;
mod html;

use generate::{Habit, Size};

const TENANT: &str = "demo";
const SCORECARD: &str = include_str!("scorecard.yaml");
const DAY: i64 = 86_400_000;

/// Flags of `earshot demo`.
#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    /// Seed of the generated center: the same seed gives the same center,
    /// scores and figures.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// How big a center.
    #[arg(long, value_enum, default_value = "standard")]
    pub size: Size,
    /// Where to write the HTML page.
    #[arg(long, short, default_value = "earshot-demo.html")]
    pub output: PathBuf,
    /// Keep the suite running afterwards (Ctrl-C stops it), to explore it
    /// with `earshot report …`, grpcurl or your own client.
    #[arg(long)]
    pub keep_running: bool,
    /// Print only the steps, not the report tables.
    #[arg(long, short)]
    pub quiet: bool,
}

/// What one report section holds.
#[derive(Debug, Clone, Default)]
pub struct Section {
    /// HTML id.
    pub id: &'static str,
    /// Heading.
    pub title: String,
    /// A sentence on what it shows.
    pub intro: String,
    /// Tables.
    pub tables: Vec<Table>,
    /// Inline SVG charts.
    pub charts: Vec<String>,
    /// A note when the section could not be filled.
    pub missing: Option<String>,
}

struct Steps {
    n: usize,
    total: usize,
    started: Instant,
    step_started: Instant,
}

impl Steps {
    fn begin(&mut self, what: &str) {
        self.n += 1;
        self.step_started = Instant::now();
        eprint!("[{:>2}/{}] {what} … ", self.n, self.total);
        let _ = std::io::stderr().flush();
    }

    fn done(&self, outcome: &str) {
        eprintln!(
            "{outcome} ({:.1}s)",
            self.step_started.elapsed().as_secs_f64()
        );
    }
}

/// Runs the demo.
pub async fn run(base: Config, args: DemoArgs) -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!(
        "earshot-demo-{}-{}",
        std::process::id(),
        earshot_kit::time::now_millis()
    ));
    std::fs::create_dir_all(&dir)
        .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", dir.display()))?;
    let result = run_in(base, &args, &dir).await;
    let _ = std::fs::remove_dir_all(&dir);
    result
}

async fn run_in(base: Config, args: &DemoArgs, dir: &std::path::Path) -> anyhow::Result<()> {
    let mut steps = Steps {
        n: 0,
        total: 11,
        started: Instant::now(),
        step_started: Instant::now(),
    };
    eprintln!(
        "Earshot demo: a month in a generated contact center (seed {}, {} size).",
        args.seed,
        format!("{:?}", args.size).to_ascii_lowercase()
    );

    // 1. The suite, on a throw-away SQLite directory and free ports.
    steps.begin("Starting the four services on a throw-away embedded database");
    let mut config = Config {
        data_dir: dir.join("data"),
        log: base.log.clone(),
        ..Config::default()
    };
    config.server.shutdown_grace = Duration::from_secs(2);
    for kind in ServiceKind::ALL {
        config.service_mut(kind).port = Some(0);
    }
    let shutdown = CancellationToken::new();
    let suite = crate::start(config.clone(), &ServiceKind::ALL, shutdown.clone()).await?;
    let urls: BTreeMap<ServiceKind, String> = ServiceKind::ALL
        .into_iter()
        .filter_map(|k| suite.url(k).map(|u| (k, u)))
        .collect();
    let config = (*suite.config).clone();
    let token = |subject: &str, roles: &[Role]| client::mint(&config, TENANT, subject, roles);
    let admin_token = token("demo-admin", &[Role::Admin, Role::QaManager])?;
    let admin = Clients::new(urls.clone(), &admin_token)?;
    let acd = admin.with_token(&token("acd", &[Role::Integration])?)?;
    steps.done(&format!(
        "sampling {}, scoring {}, calibration {}, reporting {}",
        admin.url(ServiceKind::Sampling),
        admin.url(ServiceKind::Scoring),
        admin.url(ServiceKind::Calibration),
        admin.url(ServiceKind::Reporting)
    ));

    let outcome = program(&mut steps, args, dir, &admin, &acd, &config).await;
    let sections = match outcome {
        Ok(s) => s,
        Err(e) => {
            shutdown.cancel();
            let _ = suite.wait().await;
            return Err(e);
        }
    };

    // Write the page.
    steps.begin("Writing the report page");
    let page = html::page(&sections, args.seed, args.size);
    std::fs::write(&args.output, page)
        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", args.output.display()))?;
    let shown = std::fs::canonicalize(&args.output).unwrap_or_else(|_| args.output.clone());
    steps.done(&format!("{}", shown.display()));

    if !args.quiet {
        let mut out = std::io::stdout();
        for s in &sections {
            let _ = writeln!(out, "\n== {} ==", s.title);
            if !s.intro.is_empty() {
                let _ = writeln!(out, "{}\n", s.intro);
            }
            if let Some(m) = &s.missing {
                let _ = writeln!(out, "{m}");
            }
            for t in &s.tables {
                let _ = writeln!(out, "{}", t.text());
            }
        }
    }
    eprintln!(
        "\nDone in {:.1}s. Open the report: {}",
        steps.started.elapsed().as_secs_f64(),
        shown.display()
    );
    if args.keep_running {
        eprintln!(
            "\nThe suite keeps running (Ctrl-C stops it and deletes its data). Point a client at it:\n"
        );
        for (k, u) in &urls {
            let var = format!("EARSHOT_{}_ADDRESS", k.name().to_ascii_uppercase());
            println!("export {var}={u}");
        }
        println!("export EARSHOT_TOKEN={admin_token}");
        eprintln!(
            "\nthen, for example:\n  earshot report quality --group-by agent\n  earshot assignments list --state routed\n  grpcurl -plaintext -H \"authorization: Bearer $EARSHOT_TOKEN\" {} list",
            urls.get(&ServiceKind::Sampling)
                .map(|u| u.trim_start_matches("http://"))
                .unwrap_or_default()
        );
        let stop = earshot_kit::shutdown::on_signal();
        tokio::select! {
            () = stop.cancelled() => {}
            () = shutdown.cancelled() => {}
        }
    }
    shutdown.cancel();
    suite
        .wait()
        .await
        .map_err(|e| anyhow::anyhow!("stopping the suite: {e}"))?;
    Ok(())
}

/// The evaluators and their habits.
const EVALUATORS: [(&str, &str, Habit); 3] = [
    (
        "hana",
        "Hana (harsh)",
        Habit {
            bias: -0.15,
            noise: 0.05,
        },
    ),
    (
        "lars",
        "Lars (lenient)",
        Habit {
            bias: 0.15,
            noise: 0.05,
        },
    ),
    (
        "maya",
        "Maya (calibrated)",
        Habit {
            bias: 0.0,
            noise: 0.05,
        },
    ),
];

async fn program(
    steps: &mut Steps,
    args: &DemoArgs,
    dir: &std::path::Path,
    admin: &Clients,
    acd: &Clients,
    config: &Config,
) -> anyhow::Result<Vec<Section>> {
    let seed = args.seed;
    let now = earshot_kit::time::now_millis();
    let end = now - now.rem_euclid(DAY);
    let days = 28;
    let start = end - days * DAY;
    let mut sections = Vec::new();

    // 2. The contact center.
    steps.begin("Generating the contact center");
    let center = generate::center(seed, args.size, end, days);
    let interactions_file = dir.join("interactions.csv");
    let surveys_file = dir.join("surveys.csv");
    std::fs::write(&interactions_file, generate::interactions_csv(&center))
        .and_then(|()| std::fs::write(&surveys_file, generate::surveys_csv(&center)))
        .map_err(|e| anyhow::anyhow!("cannot write the generated files: {e}"))?;
    let by_channel = |ch: &str| center.contacts.iter().filter(|c| c.channel == ch).count();
    steps.done(&format!(
        "{} teams, {} agents, {} interactions ({} voice, {} chat, {} email), {} repeat contacts, {} surveys, {} complaints",
        center.teams.len(),
        center.agents.len(),
        center.contacts.len(),
        by_channel("voice"),
        by_channel("chat"),
        by_channel("email"),
        center.repeats,
        center.surveys.len(),
        center.complaints.len()
    ));

    // 3. Set-up: evaluators, the scorecard, the sampling plan.
    steps.begin("Publishing a scorecard, adding evaluators, creating a sampling plan");
    let mut sampling = admin.sampling()?;
    for (id, name, _) in EVALUATORS {
        admin
            .call(
                ServiceKind::Sampling,
                sampling.create_evaluator(spb::CreateEvaluatorRequest {
                    evaluator: Some(spb::Evaluator {
                        id: id.into(),
                        display_name: name.into(),
                        capacity_per_day: 1000,
                        active: true,
                        ..Default::default()
                    }),
                    request_id: format!("demo-evaluator-{id}"),
                }),
            )
            .await?;
    }
    // Weeks close when the demo says (after every late fact is in), not
    // when the background sweep gets to them: the same seed, the same sample.
    let mut settings = admin
        .call(
            ServiceKind::Sampling,
            sampling.get_settings(spb::GetSettingsRequest {}),
        )
        .await?
        .settings
        .unwrap_or_default();
    settings.period_close_delay = Some(prost_types::Duration {
        seconds: 7 * 86_400,
        nanos: 0,
    });
    admin
        .call(
            ServiceKind::Sampling,
            sampling.update_settings(spb::UpdateSettingsRequest {
                settings: Some(settings),
            }),
        )
        .await?;
    let (card, published) = publish_scorecard(admin, "demo", "the demo's standard").await?;
    let per_week = (center.contacts.len() as f64 / center.agents.len().max(1) as f64 / 4.0).round();
    let plan_args = PlanArgs {
        name: "Weekly quality sample".into(),
        period: Granularity::Week,
        min_per_agent: 2,
        // No maximum and generous rule caps: every low CSAT, complaint and
        // repeat contact is picked, whatever order the facts arrive in, so
        // the same seed gives the same sample.
        max_per_agent: 0,
        rule_cap: 1000,
        random_per_agent: Some(2),
        expected_agent_volume: per_week as i32,
        channels: Vec::new(),
        queues: Vec::new(),
        rules: vec![
            "low-csat=2".into(),
            "complaint".into(),
            "repeat-contact".into(),
        ],
        due_hours: 72,
        seed: Some(seed),
    };
    let plan = admin
        .call(
            ServiceKind::Sampling,
            sampling.create_plan(spb::CreatePlanRequest {
                plan: Some(plan_args.plan()?),
                request_id: "demo-plan".into(),
            }),
        )
        .await?
        .plan
        .ok_or_else(|| anyhow::anyhow!("sampling answered without the plan"))?;
    steps.done(&format!(
        "scorecard \"Customer care\" v{published}, evaluators hana (harsh), lars (lenient), maya; plan: 2 random per agent per week, plus every low CSAT, complaint and repeat contact"
    ));

    // 4. Ingest, the way `earshot ingest` does it.
    steps.begin("Ingesting the month (earshot ingest interactions/surveys)");
    let options = |file: PathBuf| ingest::Options {
        file,
        format: None,
        rejects: Some(dir.join("rejects.csv")),
        checkpoint: Some(dir.join("checkpoint")),
        restart: true,
        batch_size: 1000,
        in_flight: 4,
        quiet: true,
    };
    let interactions =
        ingest::run(acd, ingest::Kind::Interactions, &options(interactions_file)).await?;
    let surveys = ingest::run(acd, ingest::Kind::Surveys, &options(surveys_file)).await?;
    let mut feedback = Vec::new();
    for c in &center.complaints {
        feedback.push(spb::Feedback {
            feedback_id: c.id.clone(),
            interaction_id: c.interaction.clone(),
            kind: spb::FeedbackKind::Complaint as i32,
            category: c.category.into(),
            text: String::new(),
            receive_time: Some(earshot_kit::time::from_millis(c.received)),
            resolved: c.resolved,
            resolve_time: c
                .resolved
                .then(|| earshot_kit::time::from_millis(c.received + DAY)),
        });
    }
    let mut complaints_recorded = 0;
    for chunk in feedback.chunks(1000) {
        let r = acd
            .call(
                ServiceKind::Sampling,
                acd.sampling()?.record_feedback(spb::RecordFeedbackRequest {
                    feedback: chunk.to_vec(),
                }),
            )
            .await?;
        complaints_recorded += r
            .counts
            .map(|c| c.created + c.updated + c.unchanged)
            .unwrap_or(0);
    }
    steps.done(&format!(
        "{} interactions stored, {} selected for evaluation, {} surveys, {} complaints{}",
        interactions.created + interactions.updated + interactions.unchanged,
        interactions.selected,
        surveys.created + surveys.updated + surveys.unchanged,
        complaints_recorded,
        if interactions.rejected + surveys.rejected > 0 {
            format!(", {} rejected", interactions.rejected + surveys.rejected)
        } else {
            String::new()
        }
    ));

    // 5. Assignments: close the finished weeks so every agent reaches the
    // minimum, then see what the evaluators have.
    steps.begin("Closing the finished weeks and routing assignments");
    let mut week = start;
    while week < end - 7 * DAY {
        let _ = admin
            .call(
                ServiceKind::Sampling,
                sampling.close_period(spb::ClosePeriodRequest {
                    plan_id: plan.id.clone(),
                    period_time: Some(earshot_kit::time::from_millis(week)),
                    force: false,
                    request_id: String::new(),
                }),
            )
            .await;
        week += 7 * DAY;
    }
    let assignments = list_assignments(admin).await?;
    let mut by_reason: BTreeMap<String, usize> = BTreeMap::new();
    let mut by_evaluator: BTreeMap<String, usize> = BTreeMap::new();
    for a in &assignments {
        *by_reason
            .entry(
                spb::SelectionReason::try_from(a.reason)
                    .map(|r| {
                        r.as_str_name()
                            .trim_start_matches("SELECTION_REASON_")
                            .to_ascii_lowercase()
                    })
                    .unwrap_or_default(),
            )
            .or_default() += 1;
        *by_evaluator.entry(a.evaluator_id.clone()).or_default() += 1;
    }
    steps.done(&format!(
        "{} assignments ({})",
        assignments.len(),
        by_reason
            .iter()
            .map(|(r, n)| format!("{n} {r}"))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    let mut sampling_table = Table::new("Selections by reason", &["reason", "assignments"]);
    for (r, n) in &by_reason {
        sampling_table.push(vec![Cell::text(r.clone()), Cell::int(*n as i64)]);
    }

    // 6. Evaluations: each evaluator claims and scores with their habits.
    steps.begin("Evaluators score their assignments");
    let quality_of: BTreeMap<&str, f64> = center
        .contacts
        .iter()
        .map(|c| (c.id.as_str(), c.quality))
        .collect();
    // The work is shared out by interaction id, round robin, so the same
    // seed gives the same evaluations (routing breaks ties by assignment
    // id, which is random); the QA manager moves what routing sent
    // elsewhere.
    let quality_of_owned: BTreeMap<String, f64> = quality_of
        .iter()
        .map(|(k, v)| ((*k).to_owned(), *v))
        .collect();
    let mut open: Vec<&spb::Assignment> = assignments
        .iter()
        .filter(|a| {
            a.state == spb::AssignmentState::Routed as i32
                || a.state == spb::AssignmentState::Queued as i32
        })
        .collect();
    // Ordered by a hash of the interaction id, not the id itself: ids start
    // with their channel (c-, e-, v-), so the first ids in order would all be
    // chats and the evaluations would cover no call.
    open.sort_by_cached_key(|a| {
        let id = a
            .interaction
            .as_ref()
            .map(|i| i.interaction_id.clone())
            .unwrap_or_default();
        (spread(&id), id)
    });
    open.truncate(args.size.evaluations());
    let mut work: BTreeMap<&str, Vec<spb::Assignment>> = BTreeMap::new();
    for (i, a) in open.into_iter().enumerate() {
        let target = EVALUATORS[i % EVALUATORS.len()].0;
        let a = if a.evaluator_id == target {
            a.clone()
        } else {
            admin
                .call(
                    ServiceKind::Sampling,
                    sampling.reassign_assignment(spb::ReassignAssignmentRequest {
                        assignment_id: a.id.clone(),
                        evaluator_id: target.into(),
                        etag: String::new(),
                        reason: "shared out evenly for the demo".into(),
                    }),
                )
                .await?
                .assignment
                .ok_or_else(|| anyhow::anyhow!("sampling answered without the assignment"))?
        };
        work.entry(target).or_default().push(a);
    }
    let mut evaluated: Vec<Evaluated> = Vec::new();
    for (id, _, habit) in EVALUATORS {
        let me = admin.with_token(&client::mint(config, TENANT, id, &[Role::Evaluator])?)?;
        let mine = work.remove(id).unwrap_or_default();
        evaluated.extend(
            evaluate(
                &me,
                admin,
                id,
                habit,
                seed,
                &card.id,
                &quality_of_owned,
                mine,
            )
            .await?,
        );
    }

    let mut eval_table = Table::new(
        "Evaluations by evaluator",
        &["evaluator", "evaluations", "mean_score", "passed"],
    );
    for (id, name, _) in EVALUATORS {
        let mine: Vec<&Evaluated> = evaluated.iter().filter(|e| e.evaluator == id).collect();
        let n = mine.len();
        let mean = mine.iter().map(|e| e.score).sum::<f64>() / n.max(1) as f64;
        let passed = mine.iter().filter(|e| e.passed).count();
        eval_table.push(vec![
            Cell::text(name),
            Cell::int(n as i64),
            Cell::num(mean, 1),
            Cell::int(passed as i64),
        ]);
    }
    steps.done(&format!(
        "{} evaluations submitted and released; {}",
        evaluated.len(),
        eval_table
            .rows
            .iter()
            .map(|r| format!("{} mean {}", r[0].text, r[2].text))
            .collect::<Vec<_>>()
            .join(", ")
    ));

    // 7. A dispute: an agent contests one of the harsh evaluator's scores;
    // the QA manager re-scores it.
    steps.begin("An agent disputes a harsh score; the QA manager re-scores");
    let dispute =
        dispute_and_rescore(admin, config, seed, &card.id, &evaluated, &quality_of).await?;
    steps.done(&dispute.summary);

    // 8. Calibration.
    steps.begin("A blind calibration session: three evaluators, the same interactions");
    let calibration = calibrate(admin, config, seed, &center, &card.id, published).await?;
    steps.done(&calibration.summary);

    // 9. Reporting catches up with the feeds.
    steps.begin("Waiting for reporting to catch up with the change feeds");
    let reporting_ready = wait_for_reporting(admin).await;
    steps.done(match &reporting_ready {
        Ok(s) => s.as_str(),
        Err(e) => e.as_str(),
    });

    // 10. Reports.
    steps.begin("Running the reports and rendering the charts");
    sections.push(Section {
        id: "center",
        title: "The contact center".into(),
        intro: format!(
            "Generated with seed {seed}: {} teams, {} agents, {} interactions over {days} days ({} to {}).",
            center.teams.len(),
            center.agents.len(),
            center.contacts.len(),
            report::date(Some(&local_date(start))),
            report::date(Some(&local_date(end - DAY))),
        ),
        tables: vec![center_table(&center)],
        ..Default::default()
    });
    sections.push(Section {
        id: "sampling",
        title: "Sampling".into(),
        intro: "The weekly plan picks a random sample per agent and adds targeted picks (low CSAT, complaints, repeat contacts); closing a week tops every agent up to the minimum.".into(),
        tables: vec![sampling_table],
        ..Default::default()
    });
    sections.push(Section {
        id: "evaluators",
        title: "Evaluators".into(),
        intro: "Three evaluators with different habits scored their assignments: Hana reads every call harshly, Lars leniently.".into(),
        tables: vec![eval_table],
        ..Default::default()
    });
    sections.push(Section {
        id: "dispute",
        title: "Dispute and re-score".into(),
        intro: dispute.summary.clone(),
        tables: vec![dispute.table],
        ..Default::default()
    });
    sections.push(Section {
        id: "calibration",
        title: "Calibration".into(),
        intro: calibration.summary.clone(),
        tables: calibration.tables,
        ..Default::default()
    });
    let period = rpb::Period {
        kind: Some(rpb::period::Kind::DateRange(rpb::DateRange {
            start_date: Some(local_date(start)),
            end_date: Some(local_date(end - DAY)),
        })),
    };
    let reports = reporting_sections(admin, &period, start, end, &card.id).await;
    let mut missing_reports = 0;
    for s in reports {
        if s.missing.is_some() {
            missing_reports += 1;
        }
        sections.push(s);
    }
    steps.done(&if missing_reports == 0 {
        "every report and chart".to_owned()
    } else {
        format!("{missing_reports} report sections unavailable (see the page)")
    });
    Ok(sections)
}

/// A calendar date in UTC (the demo tenant's time zone).
fn local_date(ms: i64) -> rpb::LocalDate {
    use chrono::Datelike as _;
    let d = chrono::DateTime::from_timestamp_millis(ms)
        .map(|d| d.date_naive())
        .unwrap_or_default();
    rpb::LocalDate {
        year: d.year(),
        month: i32::try_from(d.month()).unwrap_or(1),
        day: i32::try_from(d.day()).unwrap_or(1),
    }
}

fn center_table(center: &generate::Center) -> Table {
    let mut t = Table::new(
        "Teams",
        &[
            "team",
            "agents",
            "interactions",
            "voice",
            "chat",
            "email",
            "surveys",
            "complaints",
        ],
    );
    for team in &center.teams {
        let mine: Vec<&generate::Contact> = center
            .contacts
            .iter()
            .filter(|c| c.team == team.id)
            .collect();
        let ids: std::collections::BTreeSet<&str> = mine.iter().map(|c| c.id.as_str()).collect();
        let count = |ch: &str| mine.iter().filter(|c| c.channel == ch).count() as i64;
        t.push(vec![
            Cell::text(team.name),
            Cell::int(center.agents.iter().filter(|a| a.team == team.id).count() as i64),
            Cell::int(mine.len() as i64),
            Cell::int(count("voice")),
            Cell::int(count("chat")),
            Cell::int(count("email")),
            Cell::int(
                center
                    .surveys
                    .iter()
                    .filter(|s| ids.contains(s.interaction.as_str()))
                    .count() as i64,
            ),
            Cell::int(
                center
                    .complaints
                    .iter()
                    .filter(|s| ids.contains(s.interaction.as_str()))
                    .count() as i64,
            ),
        ]);
    }
    t
}

/// Imports the demo's scorecard (`{prefix}-scorecard`) and publishes it
/// (`{prefix}-publish`): the scorecard and its published version. The soak
/// uses it too.
pub async fn publish_scorecard(
    admin: &Clients,
    prefix: &str,
    change_note: &str,
) -> anyhow::Result<(cpb::Scorecard, i32)> {
    let mut scoring = admin.scoring()?;
    let imported = admin
        .call(
            ServiceKind::Scoring,
            scoring.import_scorecard(cpb::ImportScorecardRequest {
                request_id: format!("{prefix}-scorecard"),
                format: cpb::ScorecardFormat::EarshotYaml as i32,
                content: SCORECARD.as_bytes().to_vec(),
                validate_only: false,
                pass_mark: None,
            }),
        )
        .await?;
    if !imported.problems.is_empty() {
        anyhow::bail!("the demo scorecard has problems: {:?}", imported.problems);
    }
    let card = imported
        .scorecard
        .ok_or_else(|| anyhow::anyhow!("scoring answered without the scorecard"))?;
    let published = admin
        .call(
            ServiceKind::Scoring,
            scoring.publish_scorecard(cpb::PublishScorecardRequest {
                scorecard_id: card.id.clone(),
                etag: card.etag.clone(),
                change_note: change_note.into(),
                request_id: format!("{prefix}-publish"),
            }),
        )
        .await?
        .version
        .map(|v| v.version)
        .unwrap_or(1);
    Ok((card, published))
}

async fn list_assignments(c: &Clients) -> anyhow::Result<Vec<spb::Assignment>> {
    let mut s = c.sampling()?;
    let mut out = Vec::new();
    let mut page_token = String::new();
    loop {
        let r = c
            .call(
                ServiceKind::Sampling,
                s.list_assignments(spb::ListAssignmentsRequest {
                    page_size: 500,
                    page_token,
                    ..Default::default()
                }),
            )
            .await?;
        out.extend(r.assignments);
        if r.next_page_token.is_empty() {
            return Ok(out);
        }
        page_token = r.next_page_token;
    }
}

/// One submitted evaluation.
#[derive(Debug, Clone)]
struct Evaluated {
    evaluation_id: String,
    evaluator: &'static str,
    interaction_id: String,
    agent_id: String,
    score: f64,
    passed: bool,
    etag: String,
}

#[allow(clippy::too_many_arguments)]
async fn evaluate(
    me: &Clients,
    qa: &Clients,
    who: &'static str,
    habit: Habit,
    seed: u64,
    card_id: &str,
    quality_of: &BTreeMap<String, f64>,
    work: Vec<spb::Assignment>,
) -> anyhow::Result<Vec<Evaluated>> {
    let mut scoring = me.scoring()?;
    let mut qa_scoring = qa.scoring()?;
    let mut out = Vec::new();
    for a in work {
        let interaction = a.interaction.clone().unwrap_or_default();
        let quality = quality_of
            .get(&interaction.interaction_id)
            .copied()
            .unwrap_or(0.7);
        let created = me
            .call(
                ServiceKind::Scoring,
                scoring.create_evaluation(cpb::CreateEvaluationRequest {
                    request_id: format!("demo-eval-{}", a.id),
                    origin: Some(cpb::create_evaluation_request::Origin::Assignment(
                        cpb::FromAssignment {
                            assignment_id: a.id.clone(),
                        },
                    )),
                    scorecard: Some(cpb::ScorecardVersionRef {
                        scorecard_id: card_id.into(),
                        version: 0,
                    }),
                }),
            )
            .await?
            .evaluation
            .ok_or_else(|| anyhow::anyhow!("scoring answered without the evaluation"))?;
        let answers = generate::answers(seed, &interaction.interaction_id, who, quality, habit);
        let submitted = me
            .call(
                ServiceKind::Scoring,
                scoring.submit_evaluation(cpb::SubmitEvaluationRequest {
                    evaluation_id: created.id.clone(),
                    etag: created.etag.clone(),
                    content: Some(cpb::DraftContent {
                        answers,
                        overall_comment: String::new(),
                    }),
                }),
            )
            .await?
            .evaluation
            .ok_or_else(|| anyhow::anyhow!("scoring answered without the evaluation"))?;
        let released = qa
            .call(
                ServiceKind::Scoring,
                qa_scoring.release_evaluation(cpb::ReleaseEvaluationRequest {
                    evaluation_id: submitted.id.clone(),
                    etag: submitted.etag.clone(),
                }),
            )
            .await?
            .evaluation
            .ok_or_else(|| anyhow::anyhow!("scoring answered without the evaluation"))?;
        let result = submitted.result.unwrap_or_default();
        out.push(Evaluated {
            evaluation_id: released.id.clone(),
            evaluator: who,
            interaction_id: interaction.interaction_id.clone(),
            agent_id: interaction.agent_id.clone(),
            score: result.total_score,
            passed: result.passed,
            etag: released.etag,
        });
    }
    Ok(out)
}

struct DisputeOutcome {
    summary: String,
    table: Table,
}

async fn dispute_and_rescore(
    admin: &Clients,
    config: &Config,
    seed: u64,
    card_id: &str,
    evaluated: &[Evaluated],
    quality_of: &BTreeMap<&str, f64>,
) -> anyhow::Result<DisputeOutcome> {
    // The harsh evaluator's score furthest below a fair reading of the same
    // interaction: the one its agent disputes.
    let fair = |e: &Evaluated| {
        let quality = quality_of
            .get(e.interaction_id.as_str())
            .copied()
            .unwrap_or(0.7);
        generate::answers(
            seed,
            &e.interaction_id,
            "qa",
            quality,
            Habit {
                bias: 0.0,
                noise: 0.0,
            },
        )
    };
    let mut scoring = admin.scoring()?;
    let mut best: Option<(f64, &Evaluated)> = None;
    for e in evaluated
        .iter()
        .filter(|e| e.evaluator == "hana" && !e.agent_id.is_empty())
    {
        let fair_score = admin
            .call(
                ServiceKind::Scoring,
                scoring.score_answers(cpb::ScoreAnswersRequest {
                    scorecard: Some(cpb::score_answers_request::Scorecard::Version(
                        cpb::ScorecardVersionRef {
                            scorecard_id: card_id.into(),
                            version: 0,
                        },
                    )),
                    answers: fair(e),
                }),
            )
            .await?
            .result
            .map(|r| r.total_score)
            .unwrap_or_default();
        let gap = fair_score - e.score;
        if best.is_none_or(|(g, _)| gap > g) {
            best = Some((gap, e));
        }
    }
    let Some((_, e)) = best else {
        return Ok(DisputeOutcome {
            summary: "no evaluation to dispute".into(),
            table: Table::default(),
        });
    };
    let agent = admin.with_token(&client::mint(config, TENANT, &e.agent_id, &[Role::Agent])?)?;
    let disputed = agent
        .call(
            ServiceKind::Scoring,
            agent
                .scoring()?
                .dispute_evaluation(cpb::DisputeEvaluationRequest {
                    evaluation_id: e.evaluation_id.clone(),
                    etag: e.etag.clone(),
                    reason: "I resolved the issue and showed empathy throughout".into(),
                    questions: vec![cpb::DisputedQuestion {
                        question_id: "empathy".into(),
                        reason: "The customer thanked me twice".into(),
                    }],
                }),
        )
        .await?
        .evaluation
        .ok_or_else(|| anyhow::anyhow!("scoring answered without the evaluation"))?;
    let resolved = admin
        .call(
            ServiceKind::Scoring,
            admin
                .scoring()?
                .resolve_dispute(cpb::ResolveDisputeRequest {
                    evaluation_id: e.evaluation_id.clone(),
                    etag: disputed.etag.clone(),
                    outcome: Some(cpb::resolve_dispute_request::Outcome::Rescore(
                        cpb::Rescore {
                            answers: fair(e),
                            overall_comment: "Re-scored after listening again".into(),
                            comment: "The evaluator's reading was too strict".into(),
                        },
                    )),
                }),
        )
        .await?
        .evaluation
        .ok_or_else(|| anyhow::anyhow!("scoring answered without the evaluation"))?;
    let after = resolved.result.map(|r| r.total_score).unwrap_or_default();
    let mut t = Table::new(
        "The disputed evaluation",
        &[
            "evaluation",
            "agent",
            "interaction",
            "revision_1",
            "revision_2",
        ],
    );
    t.push(vec![
        Cell::text(e.evaluation_id.clone()),
        Cell::text(e.agent_id.clone()),
        Cell::text(e.interaction_id.clone()),
        Cell::num(e.score, 1),
        Cell::num(after, 1),
    ]);
    Ok(DisputeOutcome {
        summary: format!(
            "{} disputed Hana's {:.1} on {}; re-scored to {:.1} as revision {} (the first revision is kept)",
            e.agent_id, e.score, e.interaction_id, after, resolved.revision
        ),
        table: t,
    })
}

struct CalibrationOutcome {
    summary: String,
    tables: Vec<Table>,
}

fn statistic(s: Option<&kpb::AgreementStatistic>) -> Cell {
    match s.and_then(|s| s.outcome.as_ref()) {
        Some(kpb::agreement_statistic::Outcome::Value(v)) => Cell::num(*v, 2),
        Some(kpb::agreement_statistic::Outcome::UndefinedReason(_)) => Cell::text("undefined"),
        None => Cell::empty(),
    }
}

async fn calibrate(
    admin: &Clients,
    config: &Config,
    seed: u64,
    center: &generate::Center,
    card_id: &str,
    version: i32,
) -> anyhow::Result<CalibrationOutcome> {
    let mut rng = generate::Rng::keyed(seed, "calibration");
    let handled: Vec<&generate::Contact> =
        center.contacts.iter().filter(|c| !c.abandoned).collect();
    let mut chosen: Vec<&generate::Contact> = Vec::new();
    while chosen.len() < 10.min(handled.len()) {
        let c = handled[rng.index(handled.len())];
        if !chosen.iter().any(|x| x.id == c.id) {
            chosen.push(c);
        }
    }
    let mut mgr = admin.calibration()?;
    let session = admin
        .call(
            ServiceKind::Calibration,
            mgr.create_session(kpb::CreateSessionRequest {
                request_id: "demo-calibration".into(),
                name: "Monthly calibration".into(),
                description: "Blind: nobody sees the others' answers before close".into(),
                scorecard_id: card_id.into(),
                scorecard_version: version,
                mode: kpb::SessionMode::Blind as i32,
                participant_ids: EVALUATORS
                    .iter()
                    .map(|(id, _, _)| (*id).to_owned())
                    .collect(),
                interactions: Some(kpb::create_session_request::Interactions::Chosen(
                    kpb::InteractionList {
                        interaction_ids: chosen.iter().map(|c| c.id.clone()).collect(),
                    },
                )),
                ..Default::default()
            }),
        )
        .await?
        .session
        .ok_or_else(|| anyhow::anyhow!("calibration answered without the session"))?;
    for (id, _, habit) in EVALUATORS {
        let me = admin.with_token(&client::mint(config, TENANT, id, &[Role::Evaluator])?)?;
        let mut c = me.calibration()?;
        for contact in &chosen {
            me.call(
                ServiceKind::Calibration,
                c.submit_response(kpb::SubmitResponseRequest {
                    request_id: format!("demo-cal-{id}-{}", contact.id),
                    session_id: session.session_id.clone(),
                    interaction_id: contact.id.clone(),
                    answers: generate::answers(seed, &contact.id, id, contact.quality, habit),
                    ..Default::default()
                }),
            )
            .await?;
        }
    }
    let current = admin
        .call(
            ServiceKind::Calibration,
            mgr.get_session(kpb::GetSessionRequest {
                session_id: session.session_id.clone(),
            }),
        )
        .await?
        .session
        .ok_or_else(|| anyhow::anyhow!("calibration answered without the session"))?;
    let results = admin
        .call(
            ServiceKind::Calibration,
            mgr.close_session(kpb::CloseSessionRequest {
                session_id: session.session_id.clone(),
                etag: current.etag,
            }),
        )
        .await?
        .results
        .unwrap_or_default();
    let rel = results.reliability.clone().unwrap_or_default();
    let mut group = Table::new("Agreement of the group", &["statistic", "value"]);
    group.push(vec![
        Cell::text("Krippendorff's alpha, total score"),
        statistic(rel.total_alpha.as_ref()),
    ]);
    group.push(vec![
        Cell::text("Krippendorff's alpha, answers"),
        statistic(rel.answers_alpha.as_ref()),
    ]);
    group.push(vec![
        Cell::text("Fleiss' kappa, answers"),
        statistic(rel.answers_fleiss_kappa.as_ref()),
    ]);
    group.push(vec![
        Cell::text("Gwet's AC1, answers"),
        statistic(rel.answers_gwet_ac1.as_ref()),
    ]);
    group.push(vec![
        Cell::text("Percent agreement, answers"),
        statistic(rel.answers_percent_agreement.as_ref()),
    ]);
    for icc in &rel.total_icc {
        // ICC(2,1): two-way random, one rater — the usual figure.
        if icc.kind == kpb::StatisticKind::Icc21 as i32 {
            group.push(vec![
                Cell::text("ICC(2,1), total score"),
                statistic(Some(icc)),
            ]);
        }
    }
    let mut people = Table::new(
        "Each evaluator against the group",
        &[
            "evaluator",
            "mean_deviation",
            "within_tolerance",
            "question_agreement",
            "leniency",
        ],
    );
    for p in &results.participants {
        people.push(vec![
            Cell::text(p.participant_id.clone()),
            report::estimate(p.mean_signed_deviation.as_ref(), false),
            report::estimate(p.within_tolerance_rate.as_ref(), true),
            report::estimate(p.question_agreement_rate.as_ref(), true),
            Cell::text(
                kpb::Leniency::try_from(p.leniency)
                    .map(|l| {
                        l.as_str_name()
                            .trim_start_matches("LENIENCY_")
                            .to_ascii_lowercase()
                    })
                    .unwrap_or_default(),
            ),
        ]);
    }
    let mut pairs = Table::new("Pairs", &["evaluators", "cohen_kappa", "mean_difference"]);
    for p in &results.pairs {
        pairs.push(vec![
            Cell::text(format!("{} / {}", p.participant_a, p.participant_b)),
            statistic(p.cohen_kappa.as_ref()),
            report::estimate(p.mean_total_difference.as_ref(), false),
        ]);
    }
    let alpha = statistic(rel.total_alpha.as_ref()).text;
    let leniency: Vec<String> = people
        .rows
        .iter()
        .map(|r| format!("{} {}", r[0].text, r[4].text))
        .collect();
    Ok(CalibrationOutcome {
        summary: format!(
            "{} interactions, {} of {} responses; alpha on the total score {alpha}; {}",
            chosen.len(),
            results.responses_submitted,
            results.responses_expected,
            leniency.join(", ")
        ),
        tables: vec![group, people, pairs],
    })
}

async fn wait_for_reporting(admin: &Clients) -> Result<String, String> {
    let mut c = admin.reporting().map_err(|e| e.to_string())?;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match admin
            .call(
                ServiceKind::Reporting,
                c.get_feed_status(rpb::GetFeedStatusRequest {}),
            )
            .await
        {
            Ok(s) => {
                let behind: i64 = s.feeds.iter().map(|f| f.lag_events.max(0)).sum();
                let following = s
                    .feeds
                    .iter()
                    .all(|f| f.state == rpb::FeedState::Following as i32 || f.lag_events == 0);
                if behind == 0 && following && !s.feeds.is_empty() {
                    return Ok(format!(
                        "caught up ({} events applied)",
                        s.feeds.iter().map(|f| f.applied_sequence).sum::<i64>()
                    ));
                }
                if Instant::now() > deadline {
                    return Err(format!(
                        "still {behind} events behind; reports may be incomplete"
                    ));
                }
            }
            Err(e) if client::is_unimplemented(&e) => {
                return Err("reporting is not available in this build".into());
            }
            Err(e) => {
                if Instant::now() > deadline {
                    return Err(e.to_string());
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

type Reporting = earshot_proto::reporting::v1::reporting_service_client::ReportingServiceClient<
    client::AuthedChannel,
>;

/// What a report section holds: tables and charts.
type Filled = anyhow::Result<(Vec<Table>, Vec<String>)>;

fn section(id: &'static str, title: &str, intro: &str, filled: Filled) -> Section {
    let mut s = Section {
        id,
        title: title.into(),
        intro: intro.into(),
        ..Default::default()
    };
    match filled {
        Ok((tables, charts)) => {
            s.tables = tables;
            s.charts = charts;
        }
        Err(e) => s.missing = Some(format!("Not available: {e}")),
    }
    s
}

/// The reporting sections; a report that fails leaves its section with a
/// note instead of stopping the demo.
async fn reporting_sections(
    admin: &Clients,
    period: &rpb::Period,
    start: i64,
    end: i64,
    card_id: &str,
) -> Vec<Section> {
    let mut c = match admin.reporting() {
        Ok(c) => c,
        Err(e) => {
            return vec![section("quality", "Quality", "", Err(e))];
        }
    };
    let metrics = set_targets(admin, &mut c).await;
    vec![
        section(
            "quality",
            "Quality",
            "Evaluation scores by team, agent and evaluator, with 95% intervals; groups below the minimum sample are marked * and not ranked.",
            quality_section(admin, &mut c, period).await,
        ),
        section(
            "operational",
            "Operations",
            "Volume, average handle time (AHT), speed of answer (ASA), abandonment, service level, transfers, first contact resolution (FCR, voided by repeat contacts) and monitoring coverage.",
            operational_section(admin, &mut c, period).await,
        ),
        section(
            "customer",
            "Customers",
            "CSAT (share of 4 and 5), NPS, survey response rate and complaints with the share resolved.",
            customer_section(admin, &mut c, period).await,
        ),
        section(
            "trends",
            "Trends",
            "Week by week over the month, each point with its interval.",
            trend_section(admin, &mut c, period).await,
        ),
        section(
            "comparison",
            "The last two weeks against the two before",
            "Each change with its p-value and whether it is significant at 95%.",
            comparison_section(admin, &mut c, start, end).await,
        ),
        section(
            "targets",
            "Targets",
            "The center's targets (quality score at least 80, CSAT at least 75%, AHT at most 9 minutes, FCR at least 85%), week by week and over the month, by team.",
            targets_section(admin, &mut c, period, metrics).await,
        ),
        section(
            "questions",
            "Questions",
            "Which scorecard questions fail most (Pareto order), the vital few marked.",
            questions_section(admin, &mut c, period, card_id).await,
        ),
    ]
}

const K: ServiceKind = ServiceKind::Reporting;

async fn quality_section(admin: &Clients, c: &mut Reporting, period: &rpb::Period) -> Filled {
    let mut tables = Vec::new();
    for by in [Dimension::Team, Dimension::Agent, Dimension::Evaluator] {
        let r = admin
            .call(
                K,
                c.run_quality_report(rpb::RunQualityReportRequest {
                    period: Some(*period),
                    group_by: by as i32,
                    page_size: 500,
                    ..Default::default()
                }),
            )
            .await?;
        let mut t = report::quality(&r);
        t.title = format!("{} by {}", t.title, dim_name(by));
        tables.push(t);
    }
    let chart = admin
        .call(
            K,
            c.render_chart(rpb::RenderChartRequest {
                chart: Some(rpb::render_chart_request::Chart::Distribution(
                    rpb::DistributionChart {
                        period: Some(*period),
                        filter: None,
                    },
                )),
                width: 720,
                height: 320,
                title: "Distribution of evaluation scores".into(),
            }),
        )
        .await?;
    Ok((tables, vec![chart.svg]))
}

async fn operational_section(admin: &Clients, c: &mut Reporting, period: &rpb::Period) -> Filled {
    let mut tables = Vec::new();
    for by in [Dimension::Team, Dimension::Channel] {
        let r = admin
            .call(
                K,
                c.run_operational_report(rpb::RunOperationalReportRequest {
                    period: Some(*period),
                    group_by: by as i32,
                    page_size: 500,
                    ..Default::default()
                }),
            )
            .await?;
        let mut t = report::operational(&r);
        t.title = format!("{} by {}", t.title, dim_name(by));
        tables.push(t);
    }
    Ok((tables, Vec::new()))
}

async fn customer_section(admin: &Clients, c: &mut Reporting, period: &rpb::Period) -> Filled {
    let r = admin
        .call(
            K,
            c.run_customer_report(rpb::RunCustomerReportRequest {
                period: Some(*period),
                group_by: Dimension::Team as i32,
                page_size: 500,
                ..Default::default()
            }),
        )
        .await?;
    let mut t = report::customer(&r);
    t.title = format!("{} by team", t.title);
    Ok((vec![t], Vec::new()))
}

async fn trend_section(admin: &Clients, c: &mut Reporting, period: &rpb::Period) -> Filled {
    let mut tables = Vec::new();
    let mut charts = Vec::new();
    for (metric, title) in [
        (Metric::QualityScore, "Quality score by week"),
        (Metric::Csat, "CSAT by week"),
        (
            Metric::AverageHandleTime,
            "Average handle time by week (seconds)",
        ),
    ] {
        let trend = rpb::RunTrendRequest {
            metric: metric as i32,
            granularity: Granularity::Week as i32,
            period: Some(*period),
            group_by: Dimension::Center as i32,
            ..Default::default()
        };
        let r = admin.call(K, c.run_trend(trend.clone())).await?;
        tables.push(report::trend(&r));
        let chart = admin
            .call(
                K,
                c.render_chart(rpb::RenderChartRequest {
                    chart: Some(rpb::render_chart_request::Chart::Trend(rpb::TrendChart {
                        trend: Some(trend),
                        show_target: true,
                    })),
                    width: 720,
                    height: 320,
                    title: title.into(),
                }),
            )
            .await?;
        charts.push(chart.svg);
    }
    Ok((tables, charts))
}

async fn comparison_section(admin: &Clients, c: &mut Reporting, start: i64, end: i64) -> Filled {
    let mid = start + (end - start) / 2;
    let range = |a: i64, b: i64| rpb::Period {
        kind: Some(rpb::period::Kind::DateRange(rpb::DateRange {
            start_date: Some(local_date(a)),
            end_date: Some(local_date(b - DAY)),
        })),
    };
    let r = admin
        .call(
            K,
            c.compare_periods(rpb::ComparePeriodsRequest {
                metrics: vec![
                    Metric::QualityScore as i32,
                    Metric::AverageHandleTime as i32,
                    Metric::Csat as i32,
                    Metric::FirstContactResolution as i32,
                ],
                period: Some(range(mid, end)),
                baseline: rpb::BaselineKind::Custom as i32,
                baseline_period: Some(range(start, mid)),
                group_by: Dimension::Center as i32,
                page_size: 100,
                ..Default::default()
            }),
        )
        .await?;
    Ok((vec![report::compare(&r)], Vec::new()))
}

/// The center's targets, set before the reports so that the trend charts
/// draw them too.
async fn set_targets(admin: &Clients, c: &mut Reporting) -> anyhow::Result<Vec<i32>> {
    let target = |metric: Metric, value: f64, comparison: rpb::TargetComparison| rpb::Target {
        metric: metric as i32,
        value,
        comparison: comparison as i32,
        dimension: 0,
        group_id: String::new(),
    };
    let targets = vec![
        target(Metric::QualityScore, 80.0, rpb::TargetComparison::AtLeast),
        target(Metric::Csat, 0.75, rpb::TargetComparison::AtLeast),
        target(
            Metric::AverageHandleTime,
            540.0,
            rpb::TargetComparison::AtMost,
        ),
        target(
            Metric::FirstContactResolution,
            0.85,
            rpb::TargetComparison::AtLeast,
        ),
    ];
    let metrics = targets.iter().map(|t| t.metric).collect();
    admin
        .call(
            K,
            c.update_settings(rpb::UpdateSettingsRequest {
                settings: Some(rpb::Settings {
                    targets,
                    ..Default::default()
                }),
                update_mask: Some(prost_types::FieldMask {
                    paths: vec!["targets".into()],
                }),
                etag: String::new(),
            }),
        )
        .await?;
    Ok(metrics)
}

async fn targets_section(
    admin: &Clients,
    c: &mut Reporting,
    period: &rpb::Period,
    metrics: anyhow::Result<Vec<i32>>,
) -> Filled {
    let metrics = metrics?;
    let r = admin
        .call(
            K,
            c.run_target_report(rpb::RunTargetReportRequest {
                period: Some(*period),
                granularity: Granularity::Week as i32,
                group_by: Dimension::Team as i32,
                metrics,
                page_size: 100,
                ..Default::default()
            }),
        )
        .await?;
    Ok((vec![report::targets(&r)], Vec::new()))
}

async fn questions_section(
    admin: &Clients,
    c: &mut Reporting,
    period: &rpb::Period,
    card_id: &str,
) -> Filled {
    let r = admin
        .call(
            K,
            c.run_question_insights(rpb::RunQuestionInsightsRequest {
                scorecard_id: card_id.into(),
                period: Some(*period),
                page_size: 100,
                ..Default::default()
            }),
        )
        .await?;
    Ok((vec![report::questions(&r)], Vec::new()))
}

fn dim_name(d: Dimension) -> String {
    d.as_str_name()
        .trim_start_matches("DIMENSION_")
        .to_ascii_lowercase()
}

/// The section ids the page always has, in order.
pub const SECTION_IDS: [&str; 12] = [
    "center",
    "sampling",
    "evaluators",
    "dispute",
    "calibration",
    "quality",
    "operational",
    "customer",
    "trends",
    "comparison",
    "targets",
    "questions",
];

/// Charts the page holds when reporting answers: the score distribution
/// and three trends.
pub const CHART_COUNT: usize = 4;

/// FNV-1a of `id`: a fixed, well-spread order over interactions.
fn spread(id: &str) -> u64 {
    id.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}
