//! The client subcommands: scorecards, sampling plans, ingest, assignments
//! and reports, over gRPC to a running suite.

use std::{
    hash::{Hash as _, Hasher as _},
    path::PathBuf,
    time::Instant,
};

use clap::{Args, Subcommand, ValueEnum};
use earshot_kit::config::ServiceKind;
use earshot_proto::{
    common::v1::{self as common, Channel, Granularity},
    reporting::v1 as rpb,
    sampling::v1 as spb,
    scoring::v1 as cpb,
};

use super::{
    Clients,
    ingest::{self, InputFormat},
    report::{self, ReportKind},
    table::{Cell, Format, Table},
};

/// `earshot scorecard …`
#[derive(Debug, Subcommand)]
pub enum ScorecardCommand {
    /// Import a scorecard file as a new draft (Earshot YAML or JSON, or a
    /// Genesys evaluation form exported as JSON).
    Import {
        /// The file.
        file: PathBuf,
        /// Its format; default from the extension (.yaml/.yml, .json).
        #[arg(long, value_enum)]
        format: Option<CardFormat>,
        /// Pass mark (0-100) for formats that carry none (Genesys).
        #[arg(long)]
        pass_mark: Option<f64>,
        /// Publish the imported draft as version 1.
        #[arg(long)]
        publish: bool,
    },
    /// Check a scorecard file without storing it; lists every problem.
    Validate {
        /// The file.
        file: PathBuf,
        /// Its format; default from the extension.
        #[arg(long, value_enum)]
        format: Option<CardFormat>,
        /// Pass mark for formats that carry none.
        #[arg(long)]
        pass_mark: Option<f64>,
    },
    /// Write a scorecard version (or the draft) as a file.
    Export {
        /// The scorecard id.
        id: String,
        /// The version; 0 means the draft.
        #[arg(long, default_value_t = 0)]
        version: i32,
        /// The format.
        #[arg(long, value_enum, default_value = "yaml")]
        format: CardFormat,
        /// Write here instead of standard output.
        #[arg(short, long)]
        output: Option<PathBuf>,
    },
    /// Publish a scorecard's draft as its next version.
    Publish {
        /// The scorecard id.
        id: String,
        /// What changed, for the version history.
        #[arg(long, default_value = "")]
        note: String,
    },
    /// List scorecards.
    List {
        /// Include archived scorecards.
        #[arg(long)]
        all: bool,
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
}

/// A scorecard file format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CardFormat {
    /// Earshot's YAML.
    Yaml,
    /// Earshot's JSON.
    Json,
    /// A Genesys Cloud evaluation form (JSON).
    Genesys,
}

impl CardFormat {
    fn proto(self) -> cpb::ScorecardFormat {
        match self {
            CardFormat::Yaml => cpb::ScorecardFormat::EarshotYaml,
            CardFormat::Json => cpb::ScorecardFormat::EarshotJson,
            CardFormat::Genesys => cpb::ScorecardFormat::GenesysJson,
        }
    }

    fn guess(file: &std::path::Path, content: &[u8]) -> CardFormat {
        match file.extension().and_then(|e| e.to_str()) {
            Some("yaml" | "yml") => CardFormat::Yaml,
            Some("json") => {
                // A Genesys form has questionGroups; ours has sections.
                let text = String::from_utf8_lossy(content);
                if text.contains("\"questionGroups\"") {
                    CardFormat::Genesys
                } else {
                    CardFormat::Json
                }
            }
            _ => CardFormat::Yaml,
        }
    }
}

/// `earshot plan …`
#[derive(Debug, Subcommand)]
pub enum PlanCommand {
    /// Create a sampling plan (active at once).
    Create(PlanArgs),
    /// Simulate a stored plan over the interactions already ingested.
    Preview {
        /// The plan id.
        id: String,
        /// Days back from now to simulate.
        #[arg(long, default_value_t = 30)]
        days: i64,
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
    /// List sampling plans.
    List {
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
}

/// A sampling plan from flags.
#[derive(Debug, Clone, Args)]
pub struct PlanArgs {
    /// The plan's name.
    #[arg(long)]
    pub name: String,
    /// The quota period: day, week or month.
    #[arg(long, default_value = "week", value_parser = report::parse_granularity)]
    pub period: Granularity,
    /// Evaluations per agent per period, at least.
    #[arg(long, default_value_t = 4)]
    pub min_per_agent: i32,
    /// Evaluations per agent per period, at most.
    #[arg(long, default_value_t = 8)]
    pub max_per_agent: i32,
    /// Random evaluations per agent per period (default: the minimum).
    #[arg(long)]
    pub random_per_agent: Option<i32>,
    /// Interactions an agent handles per period, expected (spreads the
    /// random sample over the period).
    #[arg(long, default_value_t = 200)]
    pub expected_agent_volume: i32,
    /// Only these channels (repeat): voice, chat, email, social, messaging, video.
    #[arg(long = "channel")]
    pub channels: Vec<String>,
    /// Only these queues (repeat).
    #[arg(long = "queue")]
    pub queues: Vec<String>,
    /// Targeted rules (repeat): low-csat[=MAX], detractor, complaint,
    /// repeat-contact, long-handle-time, transferred, escalated.
    #[arg(long = "rule")]
    pub rules: Vec<String>,
    /// The most each targeted rule selects per agent per period.
    #[arg(long, default_value_t = 2)]
    pub rule_cap: i32,
    /// Hours an evaluator has for an assignment.
    #[arg(long, default_value_t = 72)]
    pub due_hours: i64,
    /// Seed of the random draw (default: chosen by sampling).
    #[arg(long)]
    pub seed: Option<u64>,
}

impl PlanArgs {
    /// The plan these flags describe.
    pub fn plan(&self) -> anyhow::Result<spb::SamplingPlan> {
        let channels = self
            .channels
            .iter()
            .map(|c| parse_channel(c).map(|c| c as i32))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let rules = self
            .rules
            .iter()
            .enumerate()
            .map(|(i, r)| targeted_rule(r, i, self.rule_cap))
            .collect::<anyhow::Result<Vec<_>>>()?;
        Ok(spb::SamplingPlan {
            display_name: self.name.clone(),
            period: self.period as i32,
            scope: Some(spb::PlanScope {
                channels,
                queue_ids: self.queues.clone(),
                ..Default::default()
            }),
            target: Some(spb::PerAgentTarget {
                min_per_agent: self.min_per_agent,
                max_per_agent: self.max_per_agent,
                random_target: Some(spb::per_agent_target::RandomTarget::Count(
                    self.random_per_agent.unwrap_or(self.min_per_agent),
                )),
            }),
            targeted_rules: rules,
            due: Some(spb::DueRule {
                due_within: Some(prost_types::Duration {
                    seconds: self.due_hours.saturating_mul(3600),
                    nanos: 0,
                }),
                business_hours_only: false,
            }),
            seed: self.seed.unwrap_or(0),
            expected_agent_volume: self.expected_agent_volume,
            ..Default::default()
        })
    }
}

fn parse_channel(s: &str) -> anyhow::Result<Channel> {
    Channel::from_str_name(&format!("CHANNEL_{}", s.trim().to_ascii_uppercase()))
        .filter(|c| *c != Channel::Unspecified)
        .ok_or_else(|| {
            anyhow::anyhow!(
                "--channel {s:?}: expected voice, chat, email, social, messaging or video"
            )
        })
}

fn targeted_rule(spec: &str, index: usize, cap: i32) -> anyhow::Result<spb::TargetedRule> {
    use spb::TargetedRuleKind as K;
    let (name, arg) = match spec.split_once('=') {
        Some((n, a)) => (n, Some(a)),
        None => (spec, None),
    };
    let kind = match name.trim() {
        "low-csat" => K::LowCsat,
        "detractor" => K::NpsDetractor,
        "complaint" => K::Complaint,
        "repeat-contact" => K::RepeatContact,
        "long-handle-time" => K::LongHandleTime,
        "transferred" => K::Transferred,
        "escalated" => K::Escalated,
        other => anyhow::bail!(
            "--rule {other:?}: expected low-csat[=MAX], detractor, complaint, repeat-contact, long-handle-time, transferred or escalated"
        ),
    };
    let csat_at_most = match (kind, arg) {
        (K::LowCsat, Some(a)) => a
            .parse()
            .map_err(|_| anyhow::anyhow!("--rule low-csat={a}: expected a CSAT 1-5"))?,
        (K::LowCsat, None) => 2,
        (_, Some(_)) => anyhow::bail!("--rule {name}: takes no value"),
        _ => 0,
    };
    Ok(spb::TargetedRule {
        rule_id: name.to_owned(),
        display_name: name.replace('-', " "),
        kind: kind as i32,
        priority: i32::try_from(index).unwrap_or(0) + 1,
        cap_per_agent: cap,
        csat_at_most,
        handle_time_basis: if kind == K::LongHandleTime {
            spb::HandleTimeBasis::Queue as i32
        } else {
            0
        },
        ..Default::default()
    })
}

/// `earshot ingest …`
#[derive(Debug, Subcommand)]
pub enum IngestCommand {
    /// Interactions (contacts) from an ACD or CRM export.
    Interactions(IngestArgs),
    /// Survey answers (CSAT 1-5, NPS 0-10) against ingested interactions.
    Surveys(IngestArgs),
}

/// Flags of `earshot ingest`.
#[derive(Debug, Clone, Args)]
pub struct IngestArgs {
    /// The CSV or JSON Lines file (columns in docs/cli.md).
    pub file: PathBuf,
    /// The file's format; default from the extension (.jsonl/.ndjson: JSON
    /// Lines, else CSV).
    #[arg(long, value_enum)]
    pub format: Option<InputFormat>,
    /// Where rejected rows go (row, id, field, reason); default
    /// <FILE>.rejects.csv.
    #[arg(long)]
    pub rejects: Option<PathBuf>,
    /// Checkpoint of rows done, for resuming; default <FILE>.checkpoint.
    #[arg(long)]
    pub checkpoint: Option<PathBuf>,
    /// Send every row again, ignoring the checkpoint (ingest is idempotent:
    /// rows already stored come back unchanged).
    #[arg(long)]
    pub restart: bool,
    /// Rows per batch (1-5000).
    #[arg(long, default_value_t = 1000)]
    pub batch_size: usize,
    /// Batches in flight at most.
    #[arg(long, default_value_t = 4)]
    pub in_flight: usize,
    /// No progress lines.
    #[arg(long, short)]
    pub quiet: bool,
}

/// `earshot assignments …`
#[derive(Debug, Subcommand)]
pub enum AssignmentsCommand {
    /// List assignments.
    List {
        /// Only this evaluator's.
        #[arg(long)]
        evaluator: Option<String>,
        /// Only these states (repeat): queued, routed, claimed, completed,
        /// cancelled.
        #[arg(long = "state")]
        states: Vec<String>,
        /// Only overdue ones.
        #[arg(long)]
        overdue: bool,
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: usize,
        /// Output format.
        #[arg(long, value_enum, default_value = "table")]
        format: Format,
    },
}

/// `earshot report …`
#[derive(Debug, Args)]
pub struct ReportArgs {
    /// Which report.
    #[arg(value_enum)]
    pub kind: ReportKind,
    /// The period: last-30-days, this-month, last-12-months ... or
    /// YYYY-MM-DD..YYYY-MM-DD.
    #[arg(long, default_value = "last-30-days", value_parser = report::parse_period)]
    pub period: rpb::Period,
    /// Group by center, agent, team, queue, channel, scorecard or evaluator.
    #[arg(long, default_value = "team", value_parser = report::parse_dimension)]
    pub group_by: rpb::Dimension,
    /// For trend: the metric (quality_score, csat, average_handle_time ...).
    #[arg(long, default_value = "quality_score", value_parser = report::parse_metric)]
    pub metric: rpb::Metric,
    /// For trend and targets: day, week, month, quarter or year.
    #[arg(long, default_value = "week", value_parser = report::parse_granularity)]
    pub granularity: Granularity,
    /// For questions: the scorecard id.
    #[arg(long)]
    pub scorecard: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "table")]
    pub format: Format,
}

fn content_key(prefix: &str, bytes: &[u8]) -> String {
    let mut h = std::hash::DefaultHasher::new();
    bytes.hash(&mut h);
    format!("{prefix}-{:016x}", h.finish())
}

fn problems_line(problems: &[cpb::ValidationProblem]) -> String {
    problems
        .iter()
        .map(|p| format!("{}: {}", p.field, p.description))
        .collect::<Vec<_>>()
        .join("\n  ")
}

/// Runs `earshot scorecard …`.
pub async fn scorecard(clients: &Clients, cmd: ScorecardCommand) -> anyhow::Result<()> {
    let mut c = clients.scoring()?;
    let k = ServiceKind::Scoring;
    match cmd {
        ScorecardCommand::Import {
            file,
            format,
            pass_mark,
            publish,
        } => {
            let content = read(&file)?;
            let format = format.unwrap_or_else(|| CardFormat::guess(&file, &content));
            let r = clients
                .call(
                    k,
                    c.import_scorecard(cpb::ImportScorecardRequest {
                        request_id: content_key("import", &content),
                        format: format.proto() as i32,
                        content,
                        validate_only: false,
                        pass_mark,
                    }),
                )
                .await?;
            if !r.problems.is_empty() {
                anyhow::bail!(
                    "{} is not a valid scorecard:\n  {}",
                    file.display(),
                    problems_line(&r.problems)
                );
            }
            for n in &r.notes {
                eprintln!("note: {}: {}", n.field, n.description);
            }
            let card = r
                .scorecard
                .ok_or_else(|| anyhow::anyhow!("scoring answered without the scorecard"))?;
            let name = card
                .draft
                .as_ref()
                .map(|d| d.name.clone())
                .unwrap_or_default();
            if publish {
                let v = clients
                    .call(
                        k,
                        c.publish_scorecard(cpb::PublishScorecardRequest {
                            scorecard_id: card.id.clone(),
                            etag: card.etag.clone(),
                            change_note: format!("imported from {}", file.display()),
                            request_id: content_key("publish", card.id.as_bytes()),
                        }),
                    )
                    .await?;
                let version = v.version.map(|v| v.version).unwrap_or_default();
                println!("{}\t{name}\tpublished as version {version}", card.id);
            } else {
                println!(
                    "{}\t{name}\tdraft (publish with `earshot scorecard publish {}`)",
                    card.id, card.id
                );
            }
        }
        ScorecardCommand::Validate {
            file,
            format,
            pass_mark,
        } => {
            let content = read(&file)?;
            let format = format.unwrap_or_else(|| CardFormat::guess(&file, &content));
            let r = clients
                .call(
                    k,
                    c.import_scorecard(cpb::ImportScorecardRequest {
                        request_id: String::new(),
                        format: format.proto() as i32,
                        content,
                        validate_only: true,
                        pass_mark,
                    }),
                )
                .await?;
            for n in &r.notes {
                eprintln!("note: {}: {}", n.field, n.description);
            }
            if !r.problems.is_empty() {
                anyhow::bail!(
                    "{}: {} problems:\n  {}",
                    file.display(),
                    r.problems.len(),
                    problems_line(&r.problems)
                );
            }
            println!("{}: valid", file.display());
        }
        ScorecardCommand::Export {
            id,
            version,
            format,
            output,
        } => {
            let r = clients
                .call(
                    k,
                    c.export_scorecard(cpb::ExportScorecardRequest {
                        scorecard_id: id,
                        version,
                        format: format.proto() as i32,
                    }),
                )
                .await?;
            match output {
                Some(path) => {
                    std::fs::write(&path, &r.content)
                        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
                    eprintln!("wrote {}", path.display());
                }
                None => {
                    use std::io::Write as _;
                    std::io::stdout()
                        .write_all(&r.content)
                        .map_err(|e| anyhow::anyhow!("cannot write: {e}"))?;
                }
            }
        }
        ScorecardCommand::Publish { id, note } => {
            let card = clients
                .call(
                    k,
                    c.get_scorecard(cpb::GetScorecardRequest {
                        scorecard_id: id.clone(),
                    }),
                )
                .await?
                .scorecard
                .ok_or_else(|| anyhow::anyhow!("scoring answered without the scorecard"))?;
            let v = clients
                .call(
                    k,
                    c.publish_scorecard(cpb::PublishScorecardRequest {
                        scorecard_id: id.clone(),
                        etag: card.etag,
                        change_note: note,
                        request_id: String::new(),
                    }),
                )
                .await?;
            println!(
                "{id}\tpublished as version {}",
                v.version.map(|v| v.version).unwrap_or_default()
            );
        }
        ScorecardCommand::List { all, format } => {
            let mut t = Table::new(
                "",
                &[
                    "id",
                    "name",
                    "state",
                    "latest_version",
                    "unpublished_changes",
                ],
            );
            let mut page_token = String::new();
            loop {
                let r = clients
                    .call(
                        k,
                        c.list_scorecards(cpb::ListScorecardsRequest {
                            page_size: 200,
                            page_token,
                            state: 0,
                            include_archived: all,
                        }),
                    )
                    .await?;
                for s in r.scorecards {
                    t.push(vec![
                        Cell::text(s.id),
                        Cell::text(s.draft.map(|d| d.name).unwrap_or_default()),
                        Cell::text(enum_name(
                            cpb::ScorecardState::try_from(s.state).map(|x| x.as_str_name()),
                            "SCORECARD_STATE_",
                        )),
                        Cell::int(i64::from(s.latest_version)),
                        Cell::flag(s.has_unpublished_changes),
                    ]);
                }
                if r.next_page_token.is_empty() {
                    break;
                }
                page_token = r.next_page_token;
            }
            print!("{}", t.render(format));
        }
    }
    Ok(())
}

fn enum_name<E>(name: Result<&str, E>, prefix: &str) -> String {
    name.map(|n| n.trim_start_matches(prefix).to_ascii_lowercase())
        .unwrap_or_default()
}

fn read(file: &std::path::Path) -> anyhow::Result<Vec<u8>> {
    std::fs::read(file).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))
}

/// Runs `earshot plan …`.
pub async fn plan(clients: &Clients, cmd: PlanCommand) -> anyhow::Result<()> {
    let mut c = clients.sampling()?;
    let k = ServiceKind::Sampling;
    match cmd {
        PlanCommand::Create(args) => {
            let plan = args.plan()?;
            let r = clients
                .call(
                    k,
                    c.create_plan(spb::CreatePlanRequest {
                        plan: Some(plan),
                        request_id: String::new(),
                    }),
                )
                .await?;
            let p = r
                .plan
                .ok_or_else(|| anyhow::anyhow!("sampling answered without the plan"))?;
            println!("{}\t{}\tversion {}", p.id, p.display_name, p.version);
        }
        PlanCommand::Preview { id, days, format } => {
            let now = earshot_kit::time::now_millis();
            let r = clients
                .call(
                    k,
                    c.preview_plan(spb::PreviewPlanRequest {
                        plan_source: Some(spb::preview_plan_request::PlanSource::PlanId(id)),
                        range: Some(common::TimeRange {
                            start_time: Some(earshot_kit::time::from_millis(
                                now - days.clamp(1, 366) * 86_400_000,
                            )),
                            end_time: Some(earshot_kit::time::from_millis(now)),
                        }),
                        max_selections: 0,
                        minutes_per_evaluation: 0.0,
                    }),
                )
                .await?;
            let p = r.preview.unwrap_or_default();
            let mut t = Table::new(
                format!(
                    "{} interactions, {} eligible, {} would be selected ({:.1} evaluator hours)",
                    p.interactions, p.eligible, p.selected, p.evaluator_hours
                ),
                &["reason", "rule", "selections"],
            );
            for rc in &p.selections_by_reason {
                t.push(vec![
                    Cell::text(enum_name(
                        spb::SelectionReason::try_from(rc.reason).map(|x| x.as_str_name()),
                        "SELECTION_REASON_",
                    )),
                    Cell::text(rc.rule_id.clone()),
                    Cell::int(rc.count),
                ]);
            }
            for e in &p.exclusions {
                t.notes
                    .push(format!("excluded ({}): {}", e.reason, e.count));
            }
            print!("{}", t.render(format));
        }
        PlanCommand::List { format } => {
            let r = clients
                .call(k, c.list_plans(spb::ListPlansRequest::default()))
                .await?;
            let mut t = Table::new(
                "",
                &["id", "name", "state", "version", "period", "min", "max"],
            );
            for p in r.plans {
                let target = p.target.unwrap_or_default();
                t.push(vec![
                    Cell::text(p.id),
                    Cell::text(p.display_name),
                    Cell::text(enum_name(
                        spb::PlanState::try_from(p.state).map(|x| x.as_str_name()),
                        "PLAN_STATE_",
                    )),
                    Cell::int(i64::from(p.version)),
                    Cell::text(enum_name(
                        Granularity::try_from(p.period).map(|x| x.as_str_name()),
                        "GRANULARITY_",
                    )),
                    Cell::int(i64::from(target.min_per_agent)),
                    Cell::int(i64::from(target.max_per_agent)),
                ]);
            }
            print!("{}", t.render(format));
        }
    }
    Ok(())
}

/// Runs `earshot ingest …`.
pub async fn ingest(clients: &Clients, cmd: IngestCommand) -> anyhow::Result<()> {
    let (kind, args) = match cmd {
        IngestCommand::Interactions(a) => (ingest::Kind::Interactions, a),
        IngestCommand::Surveys(a) => (ingest::Kind::Surveys, a),
    };
    let started = Instant::now();
    let summary = ingest::run(
        clients,
        kind,
        &ingest::Options {
            file: args.file,
            format: args.format,
            rejects: args.rejects,
            checkpoint: args.checkpoint,
            restart: args.restart,
            batch_size: args.batch_size,
            in_flight: args.in_flight,
            quiet: args.quiet,
        },
    )
    .await?;
    println!("{}", summary.line(started.elapsed()));
    Ok(())
}

/// Runs `earshot assignments …`.
pub async fn assignments(clients: &Clients, cmd: AssignmentsCommand) -> anyhow::Result<()> {
    let AssignmentsCommand::List {
        evaluator,
        states,
        overdue,
        limit,
        format,
    } = cmd;
    let states = states
        .iter()
        .map(|s| {
            spb::AssignmentState::from_str_name(&format!(
                "ASSIGNMENT_STATE_{}",
                s.trim().to_ascii_uppercase()
            ))
            .filter(|s| *s != spb::AssignmentState::Unspecified)
            .map(|s| s as i32)
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "--state {s:?}: expected queued, routed, claimed, completed or cancelled"
                )
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut c = clients.sampling()?;
    let mut t = Table::new(
        "",
        &[
            "id",
            "interaction",
            "agent",
            "team",
            "channel",
            "reason",
            "state",
            "evaluator",
            "due",
        ],
    );
    let mut page_token = String::new();
    while t.rows.len() < limit {
        let r = clients
            .call(
                ServiceKind::Sampling,
                c.list_assignments(spb::ListAssignmentsRequest {
                    evaluator_id: evaluator.clone().unwrap_or_default(),
                    states: states.clone(),
                    overdue_only: overdue,
                    page_size: i32::try_from(limit.min(500)).unwrap_or(500),
                    page_token,
                    ..Default::default()
                }),
            )
            .await?;
        for a in r.assignments {
            if t.rows.len() >= limit {
                break;
            }
            let i = a.interaction.unwrap_or_default();
            t.push(vec![
                Cell::text(a.id),
                Cell::text(i.interaction_id),
                Cell::text(i.agent_id),
                Cell::text(i.team_id),
                Cell::text(enum_name(
                    Channel::try_from(i.channel).map(|x| x.as_str_name()),
                    "CHANNEL_",
                )),
                Cell::text(enum_name(
                    spb::SelectionReason::try_from(a.reason).map(|x| x.as_str_name()),
                    "SELECTION_REASON_",
                )),
                Cell::text(enum_name(
                    spb::AssignmentState::try_from(a.state).map(|x| x.as_str_name()),
                    "ASSIGNMENT_STATE_",
                )),
                Cell::text(a.evaluator_id),
                Cell::text(a.due_time.map(|t| rfc3339(&t)).unwrap_or_default()),
            ]);
        }
        if r.next_page_token.is_empty() {
            break;
        }
        page_token = r.next_page_token;
    }
    print!("{}", t.render(format));
    Ok(())
}

/// A timestamp as RFC 3339 (UTC, seconds).
pub fn rfc3339(t: &prost_types::Timestamp) -> String {
    chrono::DateTime::from_timestamp(t.seconds, 0)
        .map(|d| d.format("%Y-%m-%dT%H:%M:%SZ").to_string())
        .unwrap_or_default()
}

/// Runs one report and returns it as a table.
pub async fn run_report(clients: &Clients, args: &ReportArgs) -> anyhow::Result<Table> {
    let mut c = clients.reporting()?;
    let k = ServiceKind::Reporting;
    let period = Some(args.period);
    let by = args.group_by as i32;
    Ok(match args.kind {
        ReportKind::Quality => report::quality(
            &clients
                .call(
                    k,
                    c.run_quality_report(rpb::RunQualityReportRequest {
                        period,
                        group_by: by,
                        page_size: 500,
                        ..Default::default()
                    }),
                )
                .await?,
        ),
        ReportKind::Operational => report::operational(
            &clients
                .call(
                    k,
                    c.run_operational_report(rpb::RunOperationalReportRequest {
                        period,
                        group_by: by,
                        page_size: 500,
                        ..Default::default()
                    }),
                )
                .await?,
        ),
        ReportKind::Customer => report::customer(
            &clients
                .call(
                    k,
                    c.run_customer_report(rpb::RunCustomerReportRequest {
                        period,
                        group_by: by,
                        page_size: 500,
                        ..Default::default()
                    }),
                )
                .await?,
        ),
        ReportKind::Trend => report::trend(
            &clients
                .call(
                    k,
                    c.run_trend(rpb::RunTrendRequest {
                        metric: args.metric as i32,
                        granularity: args.granularity as i32,
                        period,
                        group_by: rpb::Dimension::Center as i32,
                        ..Default::default()
                    }),
                )
                .await?,
        ),
        ReportKind::Compare => report::compare(
            &clients
                .call(
                    k,
                    c.compare_periods(rpb::ComparePeriodsRequest {
                        metrics: vec![
                            rpb::Metric::QualityScore as i32,
                            rpb::Metric::PassRate as i32,
                            rpb::Metric::AverageHandleTime as i32,
                            rpb::Metric::Csat as i32,
                            rpb::Metric::FirstContactResolution as i32,
                        ],
                        period,
                        baseline: rpb::BaselineKind::PreviousPeriod as i32,
                        group_by: by,
                        page_size: 500,
                        ..Default::default()
                    }),
                )
                .await?,
        ),
        ReportKind::Questions => {
            let scorecard_id = match &args.scorecard {
                Some(s) => s.clone(),
                None => anyhow::bail!(
                    "report questions needs --scorecard <ID> (see `earshot scorecard list`)"
                ),
            };
            report::questions(
                &clients
                    .call(
                        k,
                        c.run_question_insights(rpb::RunQuestionInsightsRequest {
                            scorecard_id,
                            period,
                            page_size: 500,
                            ..Default::default()
                        }),
                    )
                    .await?,
            )
        }
        ReportKind::Targets => report::targets(
            &clients
                .call(
                    k,
                    c.run_target_report(rpb::RunTargetReportRequest {
                        period,
                        granularity: args.granularity as i32,
                        group_by: by,
                        page_size: 500,
                        ..Default::default()
                    }),
                )
                .await?,
        ),
    })
}

/// Runs `earshot report …` and prints it.
pub async fn report(clients: &Clients, args: ReportArgs) -> anyhow::Result<()> {
    let t = run_report(clients, &args).await?;
    print!("{}", t.render(args.format));
    Ok(())
}
