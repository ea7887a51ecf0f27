//! Interactions: lookups, the bulk write paths, and the filtered reads
//! (`GetInteraction`, `ListInteractions`, `DrawInteractions`).

use std::collections::HashMap;
use std::fmt::Write as _;

use earshot_kit::{
    auth::Tenant,
    db::{Tx, TxInner},
    error::{Error, Result},
    with_pool, with_tx,
};

use super::rows::{FeedbackRow, INTERACTION_COLUMNS, InteractionRow, Stored, SurveyRow};
use super::{Store, placeholders};
use crate::filter::InteractionFilter;
use crate::interaction::Interaction;

/// Rows per multi-row `INSERT` on SQLite: 28 parameters a row keeps a
/// statement under SQLite's 32,766-parameter limit, and a few hundred rows
/// a statement amortise sqlx's fixed cost per statement (~70 µs).
const INSERT_CHUNK: usize = 500;
/// Ids per `IN (…)` lookup.
const LOOKUP_CHUNK: usize = 1000;

/// A typed bind value for dynamically built queries.
#[derive(Debug, Clone)]
pub enum Arg {
    /// Text.
    T(String),
    /// An integer.
    I(i64),
}

/// Binds `args` in order onto a query (expanded once per engine).
#[macro_export]
#[doc(hidden)]
macro_rules! bind_args {
    ($q:expr, $args:expr) => {{
        let mut q = $q;
        for a in $args {
            q = match a {
                $crate::store::interactions::Arg::T(s) => q.bind(s.clone()),
                $crate::store::interactions::Arg::I(i) => q.bind(*i),
            };
        }
        q
    }};
}

/// An interaction to write, with the JSON of its attributes.
#[derive(Debug)]
pub struct NewRow<'a> {
    /// The facts.
    pub interaction: &'a Interaction,
    /// When (created and updated).
    pub now: i64,
}

fn attributes_json(i: &Interaction) -> String {
    if i.attributes.is_empty() {
        String::new()
    } else {
        serde_json::to_string(&i.attributes).unwrap_or_default()
    }
}

fn opt_str<T: AsRef<str>>(v: Option<&T>) -> &str {
    v.map_or("", |x| x.as_ref())
}

/// Appends one field to a `COPY … (FORMAT text)` line.
fn copy_text(buf: &mut Vec<u8>, s: &str) {
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

fn copy_int(buf: &mut Vec<u8>, v: Option<i64>) {
    match v {
        Some(v) => {
            let _ = write!(Bytes(buf), "{v}");
        }
        None => buf.extend_from_slice(b"\\N"),
    }
}

struct Bytes<'a>(&'a mut Vec<u8>);

impl std::fmt::Write for Bytes<'_> {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        self.0.extend_from_slice(s.as_bytes());
        Ok(())
    }
}

const INSERT_COLUMNS: &str = "tenant_id, id, channel, direction, agent_id, team_id, queue_id, \
     arrived_at, answered_at, ended_at, wait_ms, talk_ms, hold_ms, acw_ms, handle_ms, \
     disposition, customer_ref, transferred, abandoned, escalated, language, attributes, \
     recording_uri, transcript_uri, source_update_at, created_at, updated_at, revision, \
     min_csat, nps_detractor, has_survey, has_complaint";

/// Inserts interactions known to be new. PostgreSQL: one `COPY … FROM
/// STDIN` (its bulk path; a concurrent writer that inserted one of the ids
/// since the lookup makes it fail with a unique violation, and the caller
/// retries the batch). SQLite: multi-row `INSERT`s of [`INSERT_CHUNK`] rows.
pub async fn insert_new(tx: &mut Tx, tenant: &Tenant, rows: &[NewRow<'_>]) -> Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    if let TxInner::Postgres(t) = &mut tx.inner {
        let mut buf: Vec<u8> = Vec::with_capacity(rows.len() * 320);
        for r in rows {
            let i = r.interaction;
            let tab = |b: &mut Vec<u8>| b.push(b'\t');
            copy_text(&mut buf, tenant.id());
            tab(&mut buf);
            copy_text(&mut buf, i.id.as_str());
            tab(&mut buf);
            copy_int(&mut buf, Some(i64::from(i.channel.code())));
            tab(&mut buf);
            copy_int(&mut buf, Some(i64::from(i.direction.code())));
            tab(&mut buf);
            copy_text(&mut buf, opt_str(i.agent.as_ref()));
            tab(&mut buf);
            copy_text(&mut buf, opt_str(i.team.as_ref()));
            tab(&mut buf);
            copy_text(&mut buf, opt_str(i.queue.as_ref()));
            for v in [
                Some(i.arrived_ms),
                i.answered_ms,
                i.ended_ms,
                i.wait_ms,
                i.talk_ms,
                i.hold_ms,
                i.after_call_work_ms,
                i.handle_ms(),
            ] {
                tab(&mut buf);
                copy_int(&mut buf, v);
            }
            tab(&mut buf);
            copy_text(&mut buf, &i.disposition);
            tab(&mut buf);
            copy_text(&mut buf, &i.customer_ref);
            for f in [i.transferred, i.abandoned, i.escalated] {
                buf.extend_from_slice(if f { b"\tt" } else { b"\tf" });
            }
            tab(&mut buf);
            copy_text(&mut buf, i.language.as_ref().map_or("", |l| l.as_str()));
            tab(&mut buf);
            copy_text(&mut buf, &attributes_json(i));
            tab(&mut buf);
            copy_text(&mut buf, &i.recording_uri);
            tab(&mut buf);
            copy_text(&mut buf, &i.transcript_uri);
            for v in [i.source_update_ms, Some(r.now), Some(r.now), Some(1)] {
                tab(&mut buf);
                copy_int(&mut buf, v);
            }
            buf.extend_from_slice(b"\t\\N\tf\tf\tf\n");
        }
        let conn: &mut sqlx::PgConnection = t;
        let raced = |e: sqlx::Error| {
            if earshot_kit::db::is_unique_violation(&e) {
                Error::Aborted("another writer stored one of the interactions".into())
            } else {
                Error::from(e)
            }
        };
        let mut copy = conn
            .copy_in_raw(&format!(
                "COPY interactions ({INSERT_COLUMNS}) FROM STDIN WITH (FORMAT text)"
            ))
            .await?;
        copy.send(buf).await.map_err(raced)?;
        copy.finish().await.map_err(raced)?;
        return Ok(());
    }
    for chunk in rows.chunks(INSERT_CHUNK) {
        let sql = super::dialect(tx.backend(), insert_sql(chunk.len()));
        with_tx!(tx, |c| {
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.clone()));
            for r in chunk {
                let i = r.interaction;
                q = q
                    .bind(tenant.id())
                    .bind(i.id.as_str())
                    .bind(i64::from(i.channel.code()))
                    .bind(i64::from(i.direction.code()))
                    .bind(opt_str(i.agent.as_ref()))
                    .bind(opt_str(i.team.as_ref()))
                    .bind(opt_str(i.queue.as_ref()))
                    .bind(i.arrived_ms)
                    .bind(i.answered_ms)
                    .bind(i.ended_ms)
                    .bind(i.wait_ms)
                    .bind(i.talk_ms)
                    .bind(i.hold_ms)
                    .bind(i.after_call_work_ms)
                    .bind(i.handle_ms())
                    .bind(i.disposition.as_str())
                    .bind(i.customer_ref.as_str())
                    .bind(i.transferred)
                    .bind(i.abandoned)
                    .bind(i.escalated)
                    .bind(i.language.as_ref().map_or("", |l| l.as_str()))
                    .bind(attributes_json(i))
                    .bind(i.recording_uri.as_str())
                    .bind(i.transcript_uri.as_str())
                    .bind(i.source_update_ms)
                    .bind(r.now)
                    .bind(r.now)
                    .bind(1_i64);
            }
            q.execute(&mut *c).await.map(|r| r.rows_affected())
        })?;
    }
    Ok(())
}

/// The multi-row INSERT for `n` rows: each row binds 28 values (the tenant
/// first), every placeholder once and in order (see [`super::dialect`]);
/// late-fact columns start empty.
pub fn insert_sql(n: usize) -> String {
    let mut sql = format!("INSERT INTO interactions ({INSERT_COLUMNS}) VALUES ");
    for r in 0..n {
        if r > 0 {
            sql.push(',');
        }
        sql.push('(');
        sql.push_str(&placeholders(1 + r * 28, 28));
        sql.push_str(", NULL, FALSE, FALSE, FALSE)");
    }
    sql
}

/// Replaces the facts of a stored interaction (a changed re-send); its late
/// facts stay.
pub async fn update_facts(tx: &mut Tx, tenant: &Tenant, i: &Interaction, now: i64) -> Result<()> {
    with_tx!(tx, |c| sqlx::query(
        "UPDATE interactions SET channel = $3, direction = $4, agent_id = $5, team_id = $6, \
         queue_id = $7, arrived_at = $8, answered_at = $9, ended_at = $10, wait_ms = $11, \
         talk_ms = $12, hold_ms = $13, acw_ms = $14, handle_ms = $15, disposition = $16, \
         customer_ref = $17, transferred = $18, abandoned = $19, escalated = $20, \
         language = $21, attributes = $22, recording_uri = $23, transcript_uri = $24, \
         source_update_at = $25, updated_at = $26, revision = revision + 1 \
         WHERE tenant_id = $1 AND id = $2"
    )
    .bind(tenant.id())
    .bind(i.id.as_str())
    .bind(i64::from(i.channel.code()))
    .bind(i64::from(i.direction.code()))
    .bind(opt_str(i.agent.as_ref()))
    .bind(opt_str(i.team.as_ref()))
    .bind(opt_str(i.queue.as_ref()))
    .bind(i.arrived_ms)
    .bind(i.answered_ms)
    .bind(i.ended_ms)
    .bind(i.wait_ms)
    .bind(i.talk_ms)
    .bind(i.hold_ms)
    .bind(i.after_call_work_ms)
    .bind(i.handle_ms())
    .bind(i.disposition.as_str())
    .bind(i.customer_ref.as_str())
    .bind(i.transferred)
    .bind(i.abandoned)
    .bind(i.escalated)
    .bind(i.language.as_ref().map_or("", |l| l.as_str()))
    .bind(attributes_json(i))
    .bind(i.recording_uri.as_str())
    .bind(i.transcript_uri.as_str())
    .bind(i.source_update_ms)
    .bind(now)
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// The stored interactions among `ids`, inside a write transaction.
pub async fn lookup(tx: &mut Tx, tenant: &Tenant, ids: &[&str]) -> Result<HashMap<String, Stored>> {
    let mut out = HashMap::new();
    if ids.is_empty() {
        return Ok(out);
    }
    // PostgreSQL: one array parameter (`= ANY`) plans as an index scan
    // whatever the batch size; long `IN` lists of separate parameters do not.
    if let TxInner::Postgres(t) = &mut tx.inner {
        let sql = format!(
            "SELECT {INTERACTION_COLUMNS} FROM interactions WHERE tenant_id = $1 AND id = ANY($2)"
        );
        let conn: &mut sqlx::PgConnection = t;
        let rows: Vec<InteractionRow> =
            sqlx::query_as::<_, InteractionRow>(sqlx::AssertSqlSafe(sql))
                .bind(tenant.id())
                .bind(ids)
                .fetch_all(conn)
                .await?;
        for r in rows {
            let s = r.into_stored()?;
            out.insert(s.interaction.id.as_str().to_owned(), s);
        }
        return Ok(out);
    }
    for chunk in ids.chunks(LOOKUP_CHUNK) {
        let sql = super::dialect(
            tx.backend(),
            format!(
                "SELECT {INTERACTION_COLUMNS} FROM interactions WHERE tenant_id = $1 AND id IN ({})",
                placeholders(2, chunk.len())
            ),
        );
        let rows: Vec<InteractionRow> = with_tx!(tx, |c| {
            let mut q = sqlx::query_as::<_, InteractionRow>(sqlx::AssertSqlSafe(sql.clone()))
                .bind(tenant.id());
            for id in chunk {
                q = q.bind(*id);
            }
            q.fetch_all(&mut *c).await
        })?;
        for r in rows {
            let s = r.into_stored()?;
            out.insert(s.interaction.id.as_str().to_owned(), s);
        }
    }
    Ok(out)
}

/// What a caller may see of interactions.
#[derive(Debug, Clone, Default)]
pub struct Visibility {
    /// Only these teams (supervisors).
    pub teams: Option<Vec<String>>,
    /// Only this agent (agents).
    pub agent: Option<String>,
}

fn next(args: &mut Vec<Arg>, a: Arg) -> String {
    args.push(a);
    format!("${}", args.len() + 1)
}

fn list(sql: &mut String, args: &mut Vec<Arg>, col: &str, values: Vec<Arg>) {
    if values.is_empty() {
        return;
    }
    let ps: Vec<String> = values.into_iter().map(|v| next(args, v)).collect();
    let _ = write!(sql, " AND {col} IN ({})", ps.join(", "));
}

/// The SQL `WHERE` conditions (after the tenant, `$1`) and binds for a
/// filter and a visibility.
pub fn filter_sql(f: &InteractionFilter, vis: &Visibility) -> (String, Vec<Arg>) {
    let mut sql = String::new();
    let mut args: Vec<Arg> = Vec::new();
    if let Some((s, e)) = f.arrived {
        let a = next(&mut args, Arg::I(s));
        let b = next(&mut args, Arg::I(e));
        let _ = write!(sql, " AND arrived_at >= {a} AND arrived_at < {b}");
    }
    list(
        &mut sql,
        &mut args,
        "channel",
        f.channels
            .iter()
            .map(|c| Arg::I(i64::from(c.code())))
            .collect(),
    );
    list(
        &mut sql,
        &mut args,
        "direction",
        f.directions
            .iter()
            .map(|d| Arg::I(i64::from(d.code())))
            .collect(),
    );
    list(
        &mut sql,
        &mut args,
        "agent_id",
        f.agents
            .iter()
            .map(|a| Arg::T(a.as_str().to_owned()))
            .collect(),
    );
    list(
        &mut sql,
        &mut args,
        "team_id",
        f.teams
            .iter()
            .map(|a| Arg::T(a.as_str().to_owned()))
            .collect(),
    );
    list(
        &mut sql,
        &mut args,
        "queue_id",
        f.queues
            .iter()
            .map(|a| Arg::T(a.as_str().to_owned()))
            .collect(),
    );
    list(
        &mut sql,
        &mut args,
        "disposition",
        f.dispositions.iter().map(|d| Arg::T(d.clone())).collect(),
    );
    if !f.languages.is_empty() {
        let mut parts = Vec::new();
        for l in &f.languages {
            let lower = l.as_str().to_ascii_lowercase();
            let a = next(&mut args, Arg::T(lower.clone()));
            let b = next(&mut args, Arg::T(format!("{lower}-%")));
            parts.push(format!("LOWER(language) = {a} OR LOWER(language) LIKE {b}"));
        }
        let _ = write!(sql, " AND ({})", parts.join(" OR "));
    }
    if let Some(m) = f.min_handle_ms {
        let a = next(&mut args, Arg::I(m));
        let _ = write!(sql, " AND handle_ms >= {a}");
    }
    if let Some(m) = f.max_handle_ms {
        let a = next(&mut args, Arg::I(m));
        let _ = write!(sql, " AND handle_ms <= {a}");
    }
    if f.exclude_selected {
        sql.push_str(
            " AND NOT EXISTS (SELECT 1 FROM assignments a WHERE a.tenant_id = interactions.tenant_id \
             AND a.interaction_id = interactions.id AND a.state <> 5)",
        );
    }
    if f.exclude_evaluated {
        sql.push_str(
            " AND NOT EXISTS (SELECT 1 FROM assignments a WHERE a.tenant_id = interactions.tenant_id \
             AND a.interaction_id = interactions.id AND a.state = 4)",
        );
    }
    if !f.exclude_ids.is_empty() {
        let ps: Vec<String> = f
            .exclude_ids
            .iter()
            .map(|i| next(&mut args, Arg::T(i.as_str().to_owned())))
            .collect();
        let _ = write!(sql, " AND id NOT IN ({})", ps.join(", "));
    }
    if f.has_survey {
        sql.push_str(" AND has_survey");
    }
    if f.has_complaint {
        sql.push_str(" AND has_complaint");
    }
    if f.not_resolved_first_contact {
        sql.push_str(" AND repeat_at IS NOT NULL");
    }
    if f.exclude_abandoned {
        sql.push_str(" AND NOT abandoned");
    }
    if f.exclude_unhandled {
        sql.push_str(" AND agent_id <> ''");
    }
    if let Some(teams) = &vis.teams {
        if teams.is_empty() {
            sql.push_str(" AND 1 = 0");
        } else {
            let ps: Vec<String> = teams
                .iter()
                .map(|t| next(&mut args, Arg::T(t.clone())))
                .collect();
            let _ = write!(sql, " AND team_id IN ({})", ps.join(", "));
        }
    }
    if let Some(agent) = &vis.agent {
        let a = next(&mut args, Arg::T(agent.clone()));
        let _ = write!(sql, " AND agent_id = {a}");
    }
    (sql, args)
}

impl Store {
    /// One interaction with its surveys and feedback.
    pub async fn interaction(
        &self,
        tenant: &Tenant,
        id: &str,
    ) -> Result<Option<(Stored, Vec<SurveyRow>, Vec<FeedbackRow>)>> {
        let sql = format!(
            "SELECT {INTERACTION_COLUMNS} FROM interactions WHERE tenant_id = $1 AND id = $2"
        );
        let row: Option<InteractionRow> =
            with_pool!(self.db.read(), |p| sqlx::query_as::<_, InteractionRow>(
                sqlx::AssertSqlSafe(sql.clone())
            )
            .bind(tenant.id())
            .bind(id)
            .fetch_optional(p)
            .await)?;
        let Some(row) = row else {
            return Ok(None);
        };
        let stored = row.into_stored()?;
        let (surveys, feedback) = self.late_facts_of(tenant, &[id]).await?;
        Ok(Some((stored, surveys, feedback)))
    }

    /// The surveys and feedback of some interactions, oldest first.
    pub async fn late_facts_of(
        &self,
        tenant: &Tenant,
        ids: &[&str],
    ) -> Result<(Vec<SurveyRow>, Vec<FeedbackRow>)> {
        if ids.is_empty() {
            return Ok((Vec::new(), Vec::new()));
        }
        let ps = placeholders(2, ids.len());
        let s_sql = format!(
            "SELECT interaction_id, survey_id, csat, nps, comment, respond_at, survey_type \
             FROM surveys WHERE tenant_id = $1 AND interaction_id IN ({ps}) \
             ORDER BY respond_at, survey_id"
        );
        let f_sql = format!(
            "SELECT interaction_id, feedback_id, kind, category, body, receive_at, resolved_at \
             FROM feedback WHERE tenant_id = $1 AND interaction_id IN ({ps}) \
             ORDER BY receive_at, feedback_id"
        );
        let surveys: Vec<SurveyRow> = with_pool!(self.db.read(), |p| {
            let mut q = sqlx::query_as::<_, SurveyRow>(sqlx::AssertSqlSafe(s_sql.clone()))
                .bind(tenant.id());
            for id in ids {
                q = q.bind(*id);
            }
            q.fetch_all(p).await
        })?;
        let feedback: Vec<FeedbackRow> = with_pool!(self.db.read(), |p| {
            let mut q = sqlx::query_as::<_, FeedbackRow>(sqlx::AssertSqlSafe(f_sql.clone()))
                .bind(tenant.id());
            for id in ids {
                q = q.bind(*id);
            }
            q.fetch_all(p).await
        })?;
        Ok((surveys, feedback))
    }

    /// A page of interactions, newest arrival first, after the keyset
    /// cursor `(arrived_at, id)`.
    pub async fn list_interactions(
        &self,
        tenant: &Tenant,
        filter: &InteractionFilter,
        vis: &Visibility,
        after: Option<(i64, String)>,
        limit: u32,
    ) -> Result<Vec<Stored>> {
        let (mut cond, mut args) = filter_sql(filter, vis);
        if let Some((at, id)) = after {
            args.push(Arg::I(at));
            let a = args.len() + 1;
            args.push(Arg::T(id));
            let b = args.len() + 1;
            let _ = write!(
                cond,
                " AND (arrived_at < ${a} OR (arrived_at = ${a} AND id < ${b}))"
            );
        }
        args.push(Arg::I(i64::from(limit) + 1));
        let lim = args.len() + 1;
        let sql = format!(
            "SELECT {INTERACTION_COLUMNS} FROM interactions WHERE tenant_id = $1{cond} \
             ORDER BY arrived_at DESC, id DESC LIMIT ${lim}"
        );
        let rows: Vec<InteractionRow> = with_pool!(self.db.read(), |p| {
            let q = sqlx::query_as::<_, InteractionRow>(sqlx::AssertSqlSafe(sql.clone()))
                .bind(tenant.id());
            crate::bind_args!(q, &args).fetch_all(p).await
        })?;
        rows.into_iter().map(InteractionRow::into_stored).collect()
    }

    /// Every matching interaction's id (for draws), streamed from the
    /// database into `each`.
    pub async fn matching_ids(
        &self,
        tenant: &Tenant,
        filter: &InteractionFilter,
        mut each: impl FnMut(String),
    ) -> Result<()> {
        use futures::TryStreamExt as _;
        let (cond, args) = filter_sql(filter, &Visibility::default());
        let sql = format!("SELECT id FROM interactions WHERE tenant_id = $1{cond}");
        with_pool!(self.db.read(), |p| {
            let q =
                sqlx::query_scalar::<_, String>(sqlx::AssertSqlSafe(sql.clone())).bind(tenant.id());
            let mut stream = crate::bind_args!(q, &args).fetch(p);
            loop {
                match stream.try_next().await {
                    Ok(Some(id)) => each(id),
                    Ok(None) => break Ok(()),
                    Err(e) => break Err(e),
                }
            }
        })
        .map_err(Error::from)
    }

    /// Stored interactions by id (any order), outside a transaction.
    pub async fn interactions_by_id(
        &self,
        tenant: &Tenant,
        ids: &[String],
    ) -> Result<HashMap<String, Stored>> {
        let mut out = HashMap::new();
        for chunk in ids.chunks(LOOKUP_CHUNK) {
            let sql = format!(
                "SELECT {INTERACTION_COLUMNS} FROM interactions WHERE tenant_id = $1 AND id IN ({})",
                placeholders(2, chunk.len())
            );
            let rows: Vec<InteractionRow> = with_pool!(self.db.read(), |p| {
                let mut q = sqlx::query_as::<_, InteractionRow>(sqlx::AssertSqlSafe(sql.clone()))
                    .bind(tenant.id());
                for id in chunk {
                    q = q.bind(id.as_str());
                }
                q.fetch_all(p).await
            })?;
            for r in rows {
                let s = r.into_stored()?;
                out.insert(s.interaction.id.as_str().to_owned(), s);
            }
        }
        Ok(out)
    }

    /// Every interaction that arrived in `[start, end)`, in arrival order
    /// (previews and period close).
    pub async fn interactions_in(
        &self,
        tenant: &Tenant,
        start: i64,
        end: i64,
        agent: Option<&str>,
    ) -> Result<Vec<Stored>> {
        let rows: Vec<InteractionRow> = match agent {
            Some(a) => {
                let sql = format!(
                    "SELECT {INTERACTION_COLUMNS} FROM interactions WHERE tenant_id = $1 \
                     AND agent_id = $2 AND arrived_at >= $3 AND arrived_at < $4 ORDER BY arrived_at, id"
                );
                with_pool!(self.db.read(), |p| sqlx::query_as::<_, InteractionRow>(
                    sqlx::AssertSqlSafe(sql.clone())
                )
                .bind(tenant.id())
                .bind(a)
                .bind(start)
                .bind(end)
                .fetch_all(p)
                .await)?
            }
            None => {
                let sql = format!(
                    "SELECT {INTERACTION_COLUMNS} FROM interactions WHERE tenant_id = $1 \
                     AND arrived_at >= $2 AND arrived_at < $3 ORDER BY arrived_at, id"
                );
                with_pool!(self.db.read(), |p| sqlx::query_as::<_, InteractionRow>(
                    sqlx::AssertSqlSafe(sql.clone())
                )
                .bind(tenant.id())
                .bind(start)
                .bind(end)
                .fetch_all(p)
                .await)?
            }
        };
        rows.into_iter().map(InteractionRow::into_stored).collect()
    }
}

/// Every interaction that arrived in `[start, end)` inside a transaction,
/// in arrival order (period close: on its read snapshot, or again in its
/// write transaction).
pub async fn in_range_tx(
    tx: &mut Tx,
    tenant: &Tenant,
    start: i64,
    end: i64,
) -> Result<Vec<Stored>> {
    let sql = format!(
        "SELECT {INTERACTION_COLUMNS} FROM interactions WHERE tenant_id = $1 \
         AND arrived_at >= $2 AND arrived_at < $3 ORDER BY arrived_at, id"
    );
    let rows: Vec<InteractionRow> = with_tx!(tx, |c| sqlx::query_as::<_, InteractionRow>(
        sqlx::AssertSqlSafe(sql.clone())
    )
    .bind(tenant.id())
    .bind(start)
    .bind(end)
    .fetch_all(&mut *c)
    .await)?;
    rows.into_iter().map(InteractionRow::into_stored).collect()
}
