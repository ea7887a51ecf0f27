//! `earshot ingest`: interactions and survey answers from the CSV or JSON
//! Lines exports that ACD and CRM tools produce.
//!
//! Columns are matched by header name (case and `-`/space insensitive, with
//! the aliases listed in docs/cli.md). Rows the client cannot read, and rows
//! sampling rejects, go to a reject file (`row,id,field,reason`; `row` is the
//! file line, the header being line 1). Interactions stream over
//! `IngestInteractions` in batches with a bounded number in flight; after
//! each acknowledged batch a checkpoint file records how many rows are done,
//! so a re-run (after a failure, or of the same file) skips them. Ingest is
//! idempotent on the interaction id, so a re-run with `--restart` stores
//! nothing twice either.

use std::{
    collections::{BTreeMap, VecDeque},
    io::{IsTerminal as _, Write as _},
    path::{Path, PathBuf},
    time::{Duration, Instant},
};

use earshot_kit::config::ServiceKind;
use earshot_proto::{
    common::v1::{Channel, Direction},
    sampling::v1::{self as pb, IngestOutcome},
};
use futures::StreamExt as _;
use prost_types::Timestamp;

use super::{Clients, csv};

/// What a file holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Interactions (contacts) from an ACD or CRM.
    Interactions,
    /// Survey answers (CSAT, NPS) against stored interactions.
    Surveys,
}

/// The file's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum InputFormat {
    /// Comma-separated with a header line.
    Csv,
    /// One JSON object per line.
    Jsonl,
}

/// How to ingest.
#[derive(Debug, Clone)]
pub struct Options {
    /// The file.
    pub file: PathBuf,
    /// Its format; default from the extension (.jsonl/.ndjson, else CSV).
    pub format: Option<InputFormat>,
    /// Where rejected rows go; default `<file>.rejects.csv`.
    pub rejects: Option<PathBuf>,
    /// The checkpoint; default `<file>.checkpoint`.
    pub checkpoint: Option<PathBuf>,
    /// Ignore the checkpoint and send every row.
    pub restart: bool,
    /// Rows per batch, 1 to 5,000.
    pub batch_size: usize,
    /// Batches sent and not yet acknowledged, at most.
    pub in_flight: usize,
    /// No progress lines.
    pub quiet: bool,
}

/// What a run did.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Summary {
    /// Data rows in the file.
    pub rows: usize,
    /// Rows skipped as done by an earlier run.
    pub skipped: usize,
    /// Stored as new.
    pub created: usize,
    /// Stored with changes.
    pub updated: usize,
    /// Already stored as sent.
    pub unchanged: usize,
    /// Older than what is stored.
    pub stale: usize,
    /// Rejected (by the client or by sampling).
    pub rejected: usize,
    /// Interactions selected for evaluation by this run.
    pub selected: usize,
    /// The reject file, when anything was rejected.
    pub rejects_file: Option<PathBuf>,
}

impl Summary {
    /// One line for people.
    pub fn line(&self, elapsed: Duration) -> String {
        let sent = self.rows.saturating_sub(self.skipped);
        let rate = sent as f64 / elapsed.as_secs_f64().max(1e-3);
        let mut s = format!(
            "{} rows: {} new, {} updated, {} unchanged, {} stale, {} rejected",
            self.rows, self.created, self.updated, self.unchanged, self.stale, self.rejected
        );
        if self.selected > 0 {
            s.push_str(&format!(", {} selected for evaluation", self.selected));
        }
        if self.skipped > 0 {
            s.push_str(&format!(
                "; {} rows skipped, done by an earlier run (--restart sends them again)",
                self.skipped
            ));
        }
        if sent > 0 {
            s.push_str(&format!(
                " in {:.1}s ({rate:.0} rows/s)",
                elapsed.as_secs_f64()
            ));
        }
        if let Some(f) = &self.rejects_file {
            s.push_str(&format!("; rejects in {}", f.display()));
        }
        s
    }
}

/// One rejected row.
#[derive(Debug, Clone, PartialEq)]
pub struct Reject {
    /// The file line.
    pub row: usize,
    /// The item id, when known.
    pub id: String,
    /// The column or field.
    pub field: String,
    /// Why.
    pub reason: String,
}

// The canonical columns and their aliases.
const INTERACTION_COLUMNS: &[(&str, &[&str])] = &[
    (
        "id",
        &["interaction_id", "contact_id", "call_id", "conversation_id"],
    ),
    ("channel", &["media_type", "media"]),
    ("direction", &[]),
    ("agent_id", &["agent", "user_id"]),
    ("team_id", &["team"]),
    ("queue_id", &["queue", "skill"]),
    (
        "arrived_time",
        &["arrived_at", "start_time", "started_at", "start"],
    ),
    ("answered_time", &["answered_at"]),
    ("ended_time", &["ended_at", "end_time", "end"]),
    ("wait_seconds", &["wait_duration", "queue_seconds"]),
    ("talk_seconds", &["talk_duration", "talk_time"]),
    ("hold_seconds", &["hold_duration", "hold_time"]),
    (
        "acw_seconds",
        &["after_call_work_seconds", "wrap_up_seconds", "acw"],
    ),
    ("disposition", &["wrap_up_code", "outcome"]),
    ("customer_ref", &["customer_id", "customer"]),
    ("transferred", &[]),
    ("abandoned", &[]),
    ("escalated", &[]),
    ("language", &["lang"]),
    ("recording_uri", &["recording_url"]),
    ("transcript_uri", &["transcript_url"]),
    ("source_update_time", &["updated_at", "last_modified"]),
];

const SURVEY_COLUMNS: &[(&str, &[&str])] = &[
    ("survey_id", &["id", "response_id"]),
    (
        "interaction_id",
        &["contact_id", "call_id", "conversation_id"],
    ),
    ("csat", &["csat_score", "satisfaction"]),
    ("nps", &["nps_score", "likelihood_to_recommend"]),
    ("comment", &["verbatim", "comments"]),
    (
        "respond_time",
        &["responded_at", "response_time", "submitted_at"],
    ),
    ("survey_type", &["type"]),
];

fn normalize(name: &str) -> String {
    name.trim().to_ascii_lowercase().replace([' ', '-'], "_")
}

/// How a file's columns map to fields: canonical name → column index, and
/// attribute columns (`attr.<key>`).
#[derive(Debug, Default)]
struct Mapping {
    columns: BTreeMap<&'static str, usize>,
    attributes: Vec<(String, usize)>,
    ignored: Vec<String>,
}

fn map_header(kind: Kind, header: &[String]) -> anyhow::Result<Mapping> {
    let table = match kind {
        Kind::Interactions => INTERACTION_COLUMNS,
        Kind::Surveys => SURVEY_COLUMNS,
    };
    let mut m = Mapping::default();
    for (i, raw) in header.iter().enumerate() {
        let name = normalize(raw);
        if kind == Kind::Interactions
            && let Some(key) = name
                .strip_prefix("attr.")
                .or_else(|| name.strip_prefix("attributes."))
        {
            // Keep the key as written, minus the prefix.
            let original = raw.trim();
            let at = original.find('.').map_or(0, |p| p + 1);
            let key = if original.len() > at {
                &original[at..]
            } else {
                key
            };
            m.attributes.push((key.to_owned(), i));
            continue;
        }
        let found = table
            .iter()
            .find(|(canon, aliases)| *canon == name || aliases.contains(&name.as_str()));
        match found {
            Some((canon, _)) => {
                if m.columns.insert(canon, i).is_some() {
                    anyhow::bail!("line 1: two columns map to {canon:?}");
                }
            }
            None => m.ignored.push(raw.trim().to_owned()),
        }
    }
    let required: &[&str] = match kind {
        Kind::Interactions => &["id"],
        Kind::Surveys => &["survey_id", "interaction_id"],
    };
    for r in required {
        if !m.columns.contains_key(r) {
            anyhow::bail!("line 1: no {r:?} column (see docs/cli.md for the column names)");
        }
    }
    Ok(m)
}

/// A row's fields by canonical name.
struct Row<'a> {
    m: &'a Mapping,
    fields: &'a [String],
}

/// A field that does not parse: (column, reason).
type FieldError = (String, String);

impl Row<'_> {
    fn get(&self, name: &str) -> &str {
        self.m
            .columns
            .get(name)
            .and_then(|i| self.fields.get(*i))
            .map(|s| s.trim())
            .unwrap_or("")
    }

    fn time(&self, name: &str) -> Result<Option<Timestamp>, FieldError> {
        let v = self.get(name);
        if v.is_empty() {
            return Ok(None);
        }
        parse_time(v).map(Some).ok_or_else(|| {
            (
                name.to_owned(),
                format!("{v:?} is not a time (RFC 3339, e.g. 2026-11-02T09:15:00Z)"),
            )
        })
    }

    fn duration(&self, name: &str) -> Result<Option<prost_types::Duration>, FieldError> {
        let v = self.get(name);
        if v.is_empty() {
            return Ok(None);
        }
        parse_seconds(v).map(Some).ok_or_else(|| {
            (
                name.to_owned(),
                format!("{v:?} is not a duration (seconds, or H:MM:SS)"),
            )
        })
    }

    fn flag(&self, name: &str) -> Result<bool, FieldError> {
        let v = self.get(name);
        match v.to_ascii_lowercase().as_str() {
            "" | "false" | "no" | "n" | "0" | "f" => Ok(false),
            "true" | "yes" | "y" | "1" | "t" => Ok(true),
            _ => Err((name.to_owned(), format!("{v:?} is not true or false"))),
        }
    }

    fn small_int(&self, name: &str) -> Result<Option<i32>, FieldError> {
        let v = self.get(name);
        if v.is_empty() {
            return Ok(None);
        }
        v.parse::<f64>()
            .ok()
            .filter(|x| x.fract() == 0.0 && x.abs() < 1e6)
            .map(|x| Some(x as i32))
            .ok_or_else(|| (name.to_owned(), format!("{v:?} is not a whole number")))
    }
}

fn parse_time(v: &str) -> Option<Timestamp> {
    use chrono::{DateTime, NaiveDateTime};
    let dt = DateTime::parse_from_rfc3339(v)
        .map(|d| d.to_utc())
        .ok()
        .or_else(|| {
            ["%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M"]
                .iter()
                .find_map(|f| NaiveDateTime::parse_from_str(v, f).ok())
                .map(|n| n.and_utc())
        })?;
    Some(Timestamp {
        seconds: dt.timestamp(),
        nanos: i32::try_from(dt.timestamp_subsec_nanos()).unwrap_or(0),
    })
}

fn parse_seconds(v: &str) -> Option<prost_types::Duration> {
    let secs = if v.contains(':') {
        let mut total = 0.0;
        let parts: Vec<&str> = v.split(':').collect();
        if parts.len() > 3 {
            return None;
        }
        for p in parts {
            let n: f64 = p.parse().ok()?;
            total = total * 60.0 + n;
        }
        total
    } else {
        v.parse::<f64>().ok()?
    };
    if !secs.is_finite() || !(0.0..1e9).contains(&secs) {
        return None;
    }
    let whole = secs.trunc();
    Some(prost_types::Duration {
        seconds: whole as i64,
        nanos: ((secs - whole) * 1e9).round() as i32,
    })
}

fn parse_channel(v: &str) -> Option<Channel> {
    Some(
        match v.to_ascii_lowercase().replace("channel_", "").as_str() {
            "voice" | "call" | "phone" | "telephony" | "callback" => Channel::Voice,
            "chat" | "webchat" | "web_chat" => Channel::Chat,
            "email" | "mail" | "e-mail" => Channel::Email,
            "social" => Channel::Social,
            "messaging" | "sms" | "message" | "whatsapp" => Channel::Messaging,
            "video" => Channel::Video,
            _ => return None,
        },
    )
}

fn parse_direction(v: &str) -> Option<Direction> {
    Some(
        match v.to_ascii_lowercase().replace("direction_", "").as_str() {
            "" => Direction::Unspecified,
            "inbound" | "in" => Direction::Inbound,
            "outbound" | "out" => Direction::Outbound,
            "internal" => Direction::Internal,
            _ => return None,
        },
    )
}

fn interaction(row: &Row<'_>) -> Result<pb::Interaction, FieldError> {
    let channel_text = row.get("channel");
    let channel = if channel_text.is_empty() {
        Channel::Unspecified
    } else {
        parse_channel(channel_text).ok_or_else(|| {
            (
                "channel".to_owned(),
                format!("{channel_text:?} is not voice, chat, email, social, messaging or video"),
            )
        })?
    };
    let direction_text = row.get("direction");
    let direction = parse_direction(direction_text).ok_or_else(|| {
        (
            "direction".to_owned(),
            format!("{direction_text:?} is not inbound, outbound or internal"),
        )
    })?;
    let attributes = row
        .m
        .attributes
        .iter()
        .filter_map(|(k, i)| {
            let v = row.fields.get(*i)?.trim();
            (!v.is_empty()).then(|| (k.clone(), v.to_owned()))
        })
        .collect();
    Ok(pb::Interaction {
        id: row.get("id").to_owned(),
        channel: channel as i32,
        direction: direction as i32,
        agent_id: row.get("agent_id").to_owned(),
        team_id: row.get("team_id").to_owned(),
        queue_id: row.get("queue_id").to_owned(),
        arrived_time: row.time("arrived_time")?,
        answered_time: row.time("answered_time")?,
        ended_time: row.time("ended_time")?,
        wait_duration: row.duration("wait_seconds")?,
        talk_duration: row.duration("talk_seconds")?,
        hold_duration: row.duration("hold_seconds")?,
        after_call_work_duration: row.duration("acw_seconds")?,
        disposition: row.get("disposition").to_owned(),
        customer_ref: row.get("customer_ref").to_owned(),
        transferred: row.flag("transferred")?,
        abandoned: row.flag("abandoned")?,
        escalated: row.flag("escalated")?,
        language: row.get("language").to_owned(),
        attributes,
        recording_uri: row.get("recording_uri").to_owned(),
        transcript_uri: row.get("transcript_uri").to_owned(),
        source_update_time: row.time("source_update_time")?,
        ..Default::default()
    })
}

fn survey(row: &Row<'_>) -> Result<pb::SurveyResponse, FieldError> {
    Ok(pb::SurveyResponse {
        survey_id: row.get("survey_id").to_owned(),
        interaction_id: row.get("interaction_id").to_owned(),
        csat: row.small_int("csat")?,
        nps: row.small_int("nps")?,
        comment: row.get("comment").to_owned(),
        respond_time: row.time("respond_time")?,
        survey_type: row.get("survey_type").to_owned(),
    })
}

/// The file read into rows: (line, fields) and the header mapping.
struct Input {
    mapping: Mapping,
    rows: Vec<(usize, Vec<String>)>,
    /// Lines that are not a row at all (bad JSON): rejected as they are.
    broken: Vec<Reject>,
}

fn read_input(kind: Kind, path: &Path, format: InputFormat) -> anyhow::Result<Input> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
    match format {
        InputFormat::Csv => {
            let records =
                csv::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            let mut it = records.into_iter();
            let header = it
                .next()
                .ok_or_else(|| anyhow::anyhow!("{}: the file is empty", path.display()))?;
            let mapping = map_header(kind, &header.fields)
                .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            Ok(Input {
                mapping,
                rows: it.map(|r| (r.line, r.fields)).collect(),
                broken: Vec::new(),
            })
        }
        InputFormat::Jsonl => {
            // The header is the union of keys, in first-seen order.
            let mut names: Vec<String> = Vec::new();
            let mut index: BTreeMap<String, usize> = BTreeMap::new();
            let mut rows = Vec::new();
            let mut broken = Vec::new();
            for (n, line) in text.lines().enumerate() {
                let line_no = n + 1;
                if line.trim().is_empty() {
                    continue;
                }
                let obj = match serde_json::from_str::<serde_json::Value>(line) {
                    Ok(serde_json::Value::Object(o)) => o,
                    Ok(_) => {
                        broken.push(Reject {
                            row: line_no,
                            id: String::new(),
                            field: String::new(),
                            reason: "the line is not a JSON object".into(),
                        });
                        continue;
                    }
                    Err(e) => {
                        broken.push(Reject {
                            row: line_no,
                            id: String::new(),
                            field: String::new(),
                            reason: format!("not JSON: {e}"),
                        });
                        continue;
                    }
                };
                let mut fields = vec![String::new(); names.len()];
                // A nested "attributes" object reads as attr.<key> columns.
                let mut pairs = Vec::with_capacity(obj.len());
                for (k, v) in obj {
                    match v {
                        serde_json::Value::Object(inner) if k == "attributes" => {
                            pairs.extend(
                                inner.into_iter().map(|(ak, av)| (format!("attr.{ak}"), av)),
                            );
                        }
                        v => pairs.push((k, v)),
                    }
                }
                for (k, v) in pairs {
                    let i = *index.entry(k.clone()).or_insert_with(|| {
                        names.push(k.clone());
                        names.len() - 1
                    });
                    if fields.len() <= i {
                        fields.resize(i + 1, String::new());
                    }
                    fields[i] = match v {
                        serde_json::Value::String(s) => s,
                        serde_json::Value::Null => String::new(),
                        other => other.to_string(),
                    };
                }
                rows.push((line_no, fields));
            }
            let mapping = map_header(kind, &names).map_err(|e| {
                anyhow::anyhow!(
                    "{}: {}",
                    path.display(),
                    e.to_string().replace("line 1: ", "")
                )
            })?;
            Ok(Input {
                mapping,
                rows,
                broken,
            })
        }
    }
}

/// The checkpoint: rows done by earlier runs of this very file (same size
/// and modification time), so a re-run skips them.
#[derive(Debug, PartialEq)]
struct Checkpoint {
    fingerprint: String,
    rows_done: usize,
}

fn fingerprint(path: &Path) -> anyhow::Result<String> {
    let meta = std::fs::metadata(path)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
    let modified = meta
        .modified()
        .ok()
        .and_then(|m| m.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    Ok(format!("{}:{modified}", meta.len()))
}

fn read_checkpoint(path: &Path) -> Option<Checkpoint> {
    let text = std::fs::read_to_string(path).ok()?;
    let mut fp = None;
    let mut rows = None;
    for line in text.lines() {
        if let Some(v) = line.strip_prefix("file=") {
            fp = Some(v.to_owned());
        }
        if let Some(v) = line.strip_prefix("rows_done=") {
            rows = v.parse().ok();
        }
    }
    Some(Checkpoint {
        fingerprint: fp?,
        rows_done: rows?,
    })
}

fn write_checkpoint(path: &Path, c: &Checkpoint) -> anyhow::Result<()> {
    // Write then rename: a crash leaves the old checkpoint or the new one.
    let tmp = path.with_extension("checkpoint.tmp");
    std::fs::write(
        &tmp,
        format!(
            "# earshot ingest checkpoint: rows acknowledged by sampling\nfile={}\nrows_done={}\n",
            c.fingerprint, c.rows_done
        ),
    )
    .and_then(|()| std::fs::rename(&tmp, path))
    .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))
}

fn sibling(file: &Path, suffix: &str) -> PathBuf {
    let mut name = file.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Progress on stderr: a rewritten line on a terminal, else a line every
/// few seconds.
struct Progress {
    total: usize,
    start: Instant,
    last: Instant,
    tty: bool,
    quiet: bool,
    what: &'static str,
    base: usize,
}

impl Progress {
    fn new(total: usize, base: usize, quiet: bool, what: &'static str) -> Progress {
        let now = Instant::now();
        Progress {
            total,
            start: now,
            last: now,
            tty: std::io::stderr().is_terminal(),
            quiet,
            what,
            base,
        }
    }

    fn update(&mut self, done: usize, rejected: usize, force: bool) {
        if self.quiet {
            return;
        }
        let every = if self.tty {
            Duration::from_millis(100)
        } else {
            Duration::from_secs(2)
        };
        if !force && self.last.elapsed() < every {
            return;
        }
        self.last = Instant::now();
        let pct = if self.total == 0 {
            100.0
        } else {
            done as f64 * 100.0 / self.total as f64
        };
        // The rate of this run: rows skipped from a checkpoint took no time.
        let rate =
            done.saturating_sub(self.base) as f64 / self.start.elapsed().as_secs_f64().max(1e-3);
        let width = 30;
        let filled = ((pct / 100.0) * width as f64).round() as usize;
        let bar = format!(
            "{}{}",
            "#".repeat(filled.min(width)),
            "-".repeat(width - filled.min(width))
        );
        let line = format!(
            "ingest {}: [{bar}] {done}/{} rows ({pct:.0}%), {rejected} rejected, {rate:.0} rows/s",
            self.what, self.total
        );
        let mut err = std::io::stderr();
        if self.tty {
            let _ = write!(err, "\r{line}");
            if force {
                let _ = writeln!(err);
            }
        } else {
            let _ = writeln!(err, "{line}");
        }
    }
}

struct RejectFile {
    path: PathBuf,
    file: Option<std::fs::File>,
    append: bool,
}

impl RejectFile {
    fn write(&mut self, r: &Reject) -> anyhow::Result<()> {
        if self.file.is_none() {
            let existed = self.append && self.path.exists();
            let mut f = std::fs::OpenOptions::new()
                .create(true)
                .append(self.append)
                .write(true)
                .truncate(!self.append)
                .open(&self.path)
                .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", self.path.display()))?;
            if !existed {
                f.write_all(csv::line(&["row", "id", "field", "reason"]).as_bytes())
                    .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", self.path.display()))?;
            }
            self.file = Some(f);
        }
        if let Some(f) = &mut self.file {
            let row = r.row.to_string();
            f.write_all(csv::line(&[row.as_str(), &r.id, &r.field, &r.reason]).as_bytes())
                .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", self.path.display()))?;
        }
        Ok(())
    }
}

/// A batch sent and not yet acknowledged: its rows' lines, and where the
/// checkpoint may move once it is.
struct Pending {
    batch_id: String,
    lines: Vec<usize>,
    rows_done_after: usize,
}

/// Ingests `options.file` of `kind`.
pub async fn run(clients: &Clients, kind: Kind, options: &Options) -> anyhow::Result<Summary> {
    let started = Instant::now();
    let format =
        options
            .format
            .unwrap_or_else(|| match options.file.extension().and_then(|e| e.to_str()) {
                Some("jsonl" | "ndjson" | "json") => InputFormat::Jsonl,
                _ => InputFormat::Csv,
            });
    if !(1..=5000).contains(&options.batch_size) {
        anyhow::bail!("--batch-size must be 1 to 5000");
    }
    let input = read_input(kind, &options.file, format)?;
    if !input.mapping.ignored.is_empty() && !options.quiet {
        eprintln!(
            "ingest: ignoring columns {} (see docs/cli.md for the names read)",
            input.mapping.ignored.join(", ")
        );
    }
    let checkpoint_path = options
        .checkpoint
        .clone()
        .unwrap_or_else(|| sibling(&options.file, ".checkpoint"));
    let fp = fingerprint(&options.file)?;
    let skip = match read_checkpoint(&checkpoint_path) {
        Some(c) if !options.restart && c.fingerprint == fp => c.rows_done.min(input.rows.len()),
        _ => 0,
    };
    let mut rejects = RejectFile {
        path: options
            .rejects
            .clone()
            .unwrap_or_else(|| sibling(&options.file, ".rejects.csv")),
        file: None,
        append: skip > 0,
    };
    if skip == 0 && rejects.path.exists() {
        // A fresh run owns the reject file.
        let _ = std::fs::remove_file(&rejects.path);
    }
    let mut summary = Summary {
        rows: input.rows.len() + input.broken.len(),
        skipped: skip,
        ..Summary::default()
    };
    if skip == 0 {
        for r in &input.broken {
            rejects.write(r)?;
            summary.rejected += 1;
        }
    }
    let mut progress = Progress::new(
        input.rows.len(),
        skip,
        options.quiet,
        match kind {
            Kind::Interactions => "interactions",
            Kind::Surveys => "surveys",
        },
    );

    // Convert the rows still to do; client-side rejects go straight to the
    // file. Each batch remembers which rows it carries.
    let mut batches: Vec<(Vec<usize>, Vec<Item>, usize)> = Vec::new();
    let mut lines = Vec::new();
    let mut items = Vec::new();
    for (k, (line, fields)) in input.rows.iter().enumerate().skip(skip) {
        let row = Row {
            m: &input.mapping,
            fields,
        };
        let converted = match kind {
            Kind::Interactions => interaction(&row).map(|i| Item::Interaction(Box::new(i))),
            Kind::Surveys => survey(&row).map(Item::Survey),
        };
        match converted {
            Ok(item) => {
                lines.push(*line);
                items.push(item);
            }
            Err((field, reason)) => {
                let id = match kind {
                    Kind::Interactions => row.get("id"),
                    Kind::Surveys => row.get("survey_id"),
                };
                rejects.write(&Reject {
                    row: *line,
                    id: id.to_owned(),
                    field,
                    reason,
                })?;
                summary.rejected += 1;
            }
        }
        if items.len() == options.batch_size || (k + 1 == input.rows.len() && !items.is_empty()) {
            batches.push((
                std::mem::take(&mut lines),
                std::mem::take(&mut items),
                k + 1,
            ));
        }
    }
    let done_base = skip;
    let mut done = done_base;
    progress.update(done, summary.rejected, false);
    match kind {
        Kind::Interactions => {
            let mut client = clients.sampling()?;
            let (tx, rx) = tokio::sync::mpsc::channel::<pb::IngestInteractionsRequest>(
                options.in_flight.max(1),
            );
            let mut pending: VecDeque<Pending> = VecDeque::new();
            let mut queue: VecDeque<(Vec<usize>, Vec<Item>, usize)> = batches.into();
            let call = client.ingest_interactions(tokio_stream::wrappers::ReceiverStream::new(rx));
            // Fill the window before awaiting the stream's start: the
            // server answers once it has requests.
            let mut seq = 0usize;
            let mut send_next = |pending: &mut VecDeque<Pending>,
                                 queue: &mut VecDeque<(Vec<usize>, Vec<Item>, usize)>|
             -> Option<pb::IngestInteractionsRequest> {
                let (lines, items, after) = queue.pop_front()?;
                seq += 1;
                let batch_id = format!("b{seq}");
                pending.push_back(Pending {
                    batch_id: batch_id.clone(),
                    lines,
                    rows_done_after: after,
                });
                Some(pb::IngestInteractionsRequest {
                    batch_id,
                    interactions: items
                        .into_iter()
                        .filter_map(|i| match i {
                            Item::Interaction(x) => Some(*x),
                            Item::Survey(_) => None,
                        })
                        .collect(),
                })
            };
            let window = options.in_flight.max(1);
            while pending.len() < window {
                let Some(req) = send_next(&mut pending, &mut queue) else {
                    break;
                };
                if tx.send(req).await.is_err() {
                    break;
                }
            }
            if pending.is_empty() {
                drop(tx);
            } else {
                let mut tx = Some(tx);
                let mut acks = clients.call(ServiceKind::Sampling, call).await?;
                while let Some(ack) = acks.next().await {
                    let ack = ack.map_err(|s| {
                        anyhow::anyhow!(super::describe(
                            ServiceKind::Sampling,
                            clients.url(ServiceKind::Sampling),
                            &s
                        ))
                    })?;
                    let Some(p) = pending.pop_front() else {
                        anyhow::bail!("sampling acknowledged a batch that was not sent");
                    };
                    if p.batch_id != ack.batch_id {
                        anyhow::bail!(
                            "sampling acknowledged batch {:?} while {:?} was expected",
                            ack.batch_id,
                            p.batch_id
                        );
                    }
                    summary.selected += usize::try_from(ack.selected).unwrap_or(0);
                    tally(&mut summary, &mut rejects, &p.lines, &ack.results)?;
                    done = p.rows_done_after;
                    write_checkpoint(
                        &checkpoint_path,
                        &Checkpoint {
                            fingerprint: fp.clone(),
                            rows_done: done,
                        },
                    )?;
                    progress.update(done, summary.rejected, false);
                    match send_next(&mut pending, &mut queue) {
                        Some(req) => {
                            if let Some(t) = &tx
                                && t.send(req).await.is_err()
                            {
                                anyhow::bail!("the ingest stream closed early");
                            }
                        }
                        None => {
                            // Nothing left to send: closing our side ends
                            // the stream once the last batch is answered.
                            tx = None;
                        }
                    }
                    if pending.is_empty() {
                        break;
                    }
                }
                drop(tx);
                if !pending.is_empty() {
                    anyhow::bail!(
                        "the ingest stream ended with {} batches unacknowledged; run again to resume",
                        pending.len()
                    );
                }
            }
        }
        Kind::Surveys => {
            let mut client = clients.sampling()?;
            for (lines, items, after) in batches {
                let responses: Vec<pb::SurveyResponse> = items
                    .into_iter()
                    .filter_map(|i| match i {
                        Item::Survey(s) => Some(s),
                        Item::Interaction(_) => None,
                    })
                    .collect();
                if !responses.is_empty() {
                    let r = clients
                        .call(
                            ServiceKind::Sampling,
                            client.record_survey_responses(pb::RecordSurveyResponsesRequest {
                                responses,
                            }),
                        )
                        .await?;
                    tally(&mut summary, &mut rejects, &lines, &r.results)?;
                }
                done = after;
                write_checkpoint(
                    &checkpoint_path,
                    &Checkpoint {
                        fingerprint: fp.clone(),
                        rows_done: done,
                    },
                )?;
                progress.update(done, summary.rejected, false);
            }
        }
    }
    // Every row is acknowledged or rejected by now (the last rows may all
    // have been the client's rejects, in no batch).
    write_checkpoint(
        &checkpoint_path,
        &Checkpoint {
            fingerprint: fp.clone(),
            rows_done: input.rows.len(),
        },
    )?;
    progress.update(done.max(input.rows.len()), summary.rejected, true);
    if rejects.file.is_some() || (skip > 0 && rejects.path.exists()) {
        summary.rejects_file = Some(rejects.path.clone());
    }
    let _ = started;
    Ok(summary)
}

enum Item {
    Interaction(Box<pb::Interaction>),
    Survey(pb::SurveyResponse),
}

fn tally(
    summary: &mut Summary,
    rejects: &mut RejectFile,
    lines: &[usize],
    results: &[pb::ItemResult],
) -> anyhow::Result<()> {
    for r in results {
        match IngestOutcome::try_from(r.outcome).unwrap_or(IngestOutcome::Unspecified) {
            IngestOutcome::Created => summary.created += 1,
            IngestOutcome::Updated => summary.updated += 1,
            IngestOutcome::Unchanged => summary.unchanged += 1,
            IngestOutcome::Stale => summary.stale += 1,
            IngestOutcome::Rejected | IngestOutcome::Unspecified => {
                summary.rejected += 1;
                let row = usize::try_from(r.index)
                    .ok()
                    .and_then(|i| lines.get(i))
                    .copied()
                    .unwrap_or(0);
                if r.violations.is_empty() {
                    rejects.write(&Reject {
                        row,
                        id: r.id.clone(),
                        field: String::new(),
                        reason: "rejected".into(),
                    })?;
                }
                for v in &r.violations {
                    rejects.write(&Reject {
                        row,
                        id: r.id.clone(),
                        field: v.field.clone(),
                        reason: v.description.clone(),
                    })?;
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn mapping(cols: &[&str]) -> Mapping {
        map_header(
            Kind::Interactions,
            &cols.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>(),
        )
        .unwrap()
    }

    #[test]
    fn header_aliases_and_attributes() {
        let m = mapping(&["Contact ID", "Media Type", "Agent", "attr.Region", "Mood"]);
        assert_eq!(m.columns["id"], 0);
        assert_eq!(m.columns["channel"], 1);
        assert_eq!(m.columns["agent_id"], 2);
        assert_eq!(m.attributes, [("Region".to_owned(), 3)]);
        assert_eq!(m.ignored, ["Mood"]);
        assert!(map_header(Kind::Interactions, &["agent".into()]).is_err());
        assert!(map_header(Kind::Interactions, &["id".into(), "call_id".into()]).is_err());
    }

    #[test]
    fn rows_convert_or_name_the_field() {
        let m = mapping(&[
            "id",
            "channel",
            "arrived_time",
            "talk_seconds",
            "transferred",
        ]);
        let f = |v: &[&str]| v.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
        let ok = f(&["c1", "Voice", "2026-11-02T09:00:00Z", "0:05:30", "yes"]);
        let i = interaction(&Row { m: &m, fields: &ok }).unwrap();
        assert_eq!(i.channel, Channel::Voice as i32);
        assert_eq!(i.talk_duration.unwrap().seconds, 330);
        assert!(i.transferred);
        let bad = f(&["c2", "fax", "2026-11-02T09:00:00Z", "1", ""]);
        assert_eq!(
            interaction(&Row {
                m: &m,
                fields: &bad
            })
            .unwrap_err()
            .0,
            "channel"
        );
        let bad = f(&["c3", "chat", "yesterday", "1", ""]);
        assert_eq!(
            interaction(&Row {
                m: &m,
                fields: &bad
            })
            .unwrap_err()
            .0,
            "arrived_time"
        );
        let bad = f(&["c4", "chat", "2026-11-02 09:00:00", "-3", ""]);
        assert_eq!(
            interaction(&Row {
                m: &m,
                fields: &bad
            })
            .unwrap_err()
            .0,
            "talk_seconds"
        );
    }

    #[test]
    fn checkpoints_round_trip_and_belong_to_one_file() {
        let dir = std::env::temp_dir().join(format!("earshot-ckpt-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("a.csv");
        std::fs::write(&file, "id\n1\n").unwrap();
        let path = sibling(&file, ".checkpoint");
        assert!(path.ends_with("a.csv.checkpoint"));
        let c = Checkpoint {
            fingerprint: fingerprint(&file).unwrap(),
            rows_done: 1,
        };
        write_checkpoint(&path, &c).unwrap();
        assert_eq!(read_checkpoint(&path), Some(c));
        std::fs::write(&file, "id\n1\n2\n").unwrap();
        assert_ne!(
            read_checkpoint(&path).unwrap().fingerprint,
            fingerprint(&file).unwrap()
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn json_lines_read_like_csv() {
        let dir = std::env::temp_dir().join(format!("earshot-jsonl-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("i.jsonl");
        std::fs::write(
            &file,
            "{\"id\":\"c1\",\"channel\":\"chat\",\"talk_seconds\":95,\"transferred\":true,\"attributes\":{\"region\":\"north\"}}\n\n[1]\n",
        )
        .unwrap();
        let input = read_input(Kind::Interactions, &file, InputFormat::Jsonl).unwrap();
        assert_eq!(input.rows.len(), 1);
        assert_eq!(input.broken.len(), 1);
        assert_eq!(input.broken[0].row, 3);
        let (_, fields) = &input.rows[0];
        let i = interaction(&Row {
            m: &input.mapping,
            fields,
        })
        .unwrap();
        assert_eq!(i.talk_duration.unwrap().seconds, 95);
        assert!(i.transferred);
        assert_eq!(i.attributes["region"], "north");
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn times_and_durations() {
        assert_eq!(
            parse_time("2026-11-02T09:00:00+01:00").unwrap().seconds,
            parse_time("2026-11-02 08:00:00").unwrap().seconds
        );
        assert_eq!(parse_seconds("1:00:01").unwrap().seconds, 3601);
        assert_eq!(parse_seconds("12.5").unwrap().nanos, 500_000_000);
        assert!(parse_seconds("abc").is_none());
    }
}
