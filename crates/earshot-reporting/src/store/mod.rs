//! Reporting's SQL: one query text for SQLite and PostgreSQL, every fact and
//! cell statement bound to a tenant.
//!
//! | table | holds |
//! | --- | --- |
//! | `feed_cursors` | per followed feed: last applied sequence, last head seen, when |
//! | `records` | per interaction: the [`InteractionRecord`] and the context its contribution was computed in |
//! | `cells` | rollup cells per tenant × family × grain × date × key (see [`codec`]) |
//! | `rollup_grains` | the grains complete for the whole history ([`build_grains`] builds the others at start) |
//! | `rollup_families` | the cell families complete for the whole history ([`build_grains`] projects the quality summary at start) |
//! | `tenant_context` | the tenant's time zone, from sampling's feed |
//! | `settings` | the tenant's reporting settings (encoded), etag, service-level thresholds |
//!
//! [`apply`] is the only writer of facts and cells. One batch of one feed is
//! one transaction: first the cursor moves by compare-and-set (`UPDATE …
//! WHERE source = $s AND seq = $old`), so a second replica applying the same
//! batch finds 0 rows and rolls back before touching anything (on
//! PostgreSQL the row lock also serialises the two); then each touched
//! record's old contribution is subtracted and its new one added, summed per
//! cell in memory and written once per cell.

pub mod codec;
pub mod read;

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use chrono_tz::Tz;
use earshot_kit::{
    Error, Result,
    auth::Tenant,
    db::{Db, Tx, TxInner},
    with_pool, with_tx,
};

use crate::calendar::DateRange;
use crate::dimension::{Channel, Dimension, Filter};
use crate::facts::{Complaint, EvaluationFact, InteractionFact, InteractionRecord, SurveyFact};
use crate::rollup::cells::{Cell, InteractionCell, QualityCell, QuestionCell};
use crate::rollup::contribution::{RollupContext, ServiceLevelThresholds, contribution};
use crate::rollup::cover::{Piece, Signed, cover, signed_cover};
use crate::rollup::keys::{
    CellKey, Grain, InteractionKey, QualityKey, QualitySummaryKey, QuestionKey,
};
use crate::rollup::{DEFAULT_GRAINS, Rollups, UnsupportedDimension};
use codec::{StoredCell, StoredKey, day_number, grain_code};

/// A change feed reporting follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Source {
    /// Sampling: interactions, surveys, complaints, FCR voids, time zones.
    Sampling,
    /// Scoring: evaluations.
    Scoring,
    /// Calibration: sessions (followed for lag; no figure depends on it yet).
    Calibration,
}

impl Source {
    /// Every source, in contract order.
    pub const ALL: [Source; 3] = [Source::Sampling, Source::Scoring, Source::Calibration];

    /// The cursor's name.
    pub fn name(self) -> &'static str {
        match self {
            Source::Sampling => "sampling",
            Source::Scoring => "scoring",
            Source::Calibration => "calibration",
        }
    }
}

/// One change to an interaction's record.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// The interaction itself (created or updated).
    Interaction(InteractionFact),
    /// Its survey (replaces any earlier one).
    Survey(SurveyFact),
    /// A complaint (by id).
    Complaint(Complaint),
    /// A repeat contact voided its FCR.
    FcrVoided,
    /// The latest revision of a counting evaluation.
    Evaluation(EvaluationFact),
    /// An evaluation no longer counts.
    EvaluationRemoved(String),
}

/// A change to one interaction of one tenant.
#[derive(Debug, Clone, PartialEq)]
pub struct FactChange {
    /// The tenant (from the feed event).
    pub tenant: Tenant,
    /// The interaction.
    pub interaction_id: String,
    /// What changed.
    pub change: Change,
}

/// A batch of one feed, decoded.
#[derive(Debug, Clone)]
pub struct Batch {
    /// The feed.
    pub source: Source,
    /// The cursor the batch was read after.
    pub after: i64,
    /// The sequence of its last event (the new cursor).
    pub last: i64,
    /// The source's head when read.
    pub head: i64,
    /// When its last event occurred (epoch ms).
    pub last_occurred_at: i64,
    /// Time zones announced by the batch, in order.
    pub time_zones: Vec<(Tenant, Tz)>,
    /// The fact changes, in feed order.
    pub changes: Vec<FactChange>,
}

/// What [`apply`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Applied {
    /// Applied and the cursor moved.
    Applied,
    /// The cursor was not at `after`: someone else applied (or is applying)
    /// it. Nothing was written; re-read the cursor.
    Conflict,
}

/// A cursor as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct CursorRow {
    /// The feed's name.
    pub source: String,
    /// Last sequence applied.
    pub seq: i64,
    /// Last head seen.
    pub head: i64,
    /// When the last applied event occurred (epoch ms).
    pub last_occurred_at: i64,
    /// When a batch was last applied (epoch ms).
    pub last_applied_at: i64,
}

/// The rollup context as stored with a record.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct StoredContext {
    time_zone: String,
    default_ms: i64,
    by_channel: Vec<(Channel, i64)>,
}

impl StoredContext {
    fn of(ctx: &RollupContext) -> Self {
        StoredContext {
            time_zone: ctx.time_zone.name().to_owned(),
            default_ms: ctx.service_level.default_ms,
            by_channel: ctx
                .service_level
                .by_channel
                .iter()
                .map(|(c, t)| (*c, *t))
                .collect(),
        }
    }

    fn context(&self) -> RollupContext {
        RollupContext {
            time_zone: self.time_zone.parse().unwrap_or(Tz::UTC),
            service_level: self.thresholds(),
        }
    }

    fn thresholds(&self) -> ServiceLevelThresholds {
        ServiceLevelThresholds {
            default_ms: self.default_ms,
            by_channel: self.by_channel.iter().copied().collect(),
        }
    }
}

fn json<T: serde::Serialize>(v: &T) -> Result<String> {
    serde_json::to_string(v).map_err(Error::internal)
}

fn unjson<T: serde::de::DeserializeOwned>(s: &str) -> Result<T> {
    serde_json::from_str(s).map_err(|e| Error::internal(format!("corrupt stored row: {e}")))
}

/// Applies one decoded batch in one transaction (see the module docs).
pub async fn apply(db: &Db, batch: &Batch, now_ms: i64) -> Result<Applied> {
    let mut tx = db.begin().await?;
    let moved = with_tx!(tx, |c| {
        sqlx::query(
        "UPDATE feed_cursors SET seq = $1, head = $2, last_occurred_at = $3, last_applied_at = $4
         WHERE source = $5 AND seq = $6"
    )
    .bind(batch.last)
    .bind(batch.head.max(batch.last))
    .bind(batch.last_occurred_at)
    .bind(now_ms)
    .bind(batch.source.name())
    .bind(batch.after)
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected())
    })?;
    if moved != 1 {
        tx.rollback().await?;
        return Ok(Applied::Conflict);
    }
    for (tenant, tz) in &batch.time_zones {
        with_tx!(tx, |c| sqlx::query(
            "INSERT INTO tenant_context (tenant_id, time_zone) VALUES ($1, $2)
             ON CONFLICT (tenant_id) DO UPDATE SET time_zone = excluded.time_zone"
        )
        .bind(tenant.id())
        .bind(tz.name())
        .execute(&mut *c)
        .await
        .map(|_| ()))?;
    }
    apply_changes(&mut tx, &batch.changes).await?;
    tx.commit().await?;
    Ok(Applied::Applied)
}

/// Applies fact changes inside `tx`: records and cells. Also the bulk path
/// of the benchmark (which has no cursor to move).
pub async fn apply_changes(tx: &mut Tx, changes: &[FactChange]) -> Result<()> {
    // Group by tenant and interaction, keeping first-seen order.
    let mut order: Vec<(Tenant, String)> = Vec::new();
    let mut grouped: HashMap<(Tenant, String), Vec<&Change>> = HashMap::new();
    for ch in changes {
        let k = (ch.tenant.clone(), ch.interaction_id.clone());
        grouped
            .entry(k.clone())
            .or_insert_with(|| {
                order.push(k);
                Vec::new()
            })
            .push(&ch.change);
    }
    let mut by_tenant: BTreeMap<Tenant, Vec<String>> = BTreeMap::new();
    for (t, id) in &order {
        by_tenant.entry(t.clone()).or_default().push(id.clone());
    }
    for (tenant, ids) in by_tenant {
        let ctx = tenant_context_tx(tx, &tenant).await?;
        let mut stored = load_records(tx, &tenant, &ids).await?;
        let mut delta = Rollups::default();
        let mut to_save: Vec<(String, InteractionRecord)> = Vec::new();
        for id in ids {
            let Some(list) = grouped.remove(&(tenant.clone(), id.clone())) else {
                continue;
            };
            let (mut record, old_ctx) = match stored.remove(&id) {
                Some((r, c)) => (r, Some(c)),
                None => (InteractionRecord::default(), None),
            };
            let before = record.clone();
            for change in list {
                apply_change(&mut record, change);
            }
            if record == before && old_ctx.as_ref() == Some(&ctx) {
                continue; // a duplicate: nothing changes
            }
            if let Some(old_ctx) = &old_ctx {
                delta.subtract(&contribution(&before, old_ctx));
            }
            delta.add(&contribution(&record, &ctx));
            to_save.push((id, record));
        }
        save_records(tx, &tenant, &to_save, &ctx).await?;
        for grain in DEFAULT_GRAINS {
            write_delta(tx, &tenant, grain, delta.interactions.at(grain)).await?;
            write_delta(tx, &tenant, grain, delta.quality.at(grain)).await?;
            write_delta(tx, &tenant, grain, delta.quality_summary.at(grain)).await?;
            write_delta(tx, &tenant, grain, delta.questions.at(grain)).await?;
        }
    }
    Ok(())
}

/// Rows per multi-row statement (well under SQLite's 32,766 parameters).
const CHUNK: usize = 250;

/// `($1, $2), ($3, $4), …` for `rows` rows of `width` parameters after the
/// first `offset` parameters.
fn values(rows: usize, width: usize, offset: usize) -> String {
    let mut out = String::new();
    for r in 0..rows {
        if r > 0 {
            out.push_str(", ");
        }
        out.push('(');
        for c in 0..width {
            if c > 0 {
                out.push_str(", ");
            }
            out.push_str(&format!("${}", offset + r * width + c + 1));
        }
        out.push(')');
    }
    out
}

/// Folds one change into a record.
pub fn apply_change(record: &mut InteractionRecord, change: &Change) {
    match change {
        Change::Interaction(i) => record.interaction = Some(i.clone()),
        Change::Survey(s) => record.survey = Some(*s),
        Change::Complaint(c) => record.upsert_complaint(c.clone()),
        Change::FcrVoided => record.fcr_voided = true,
        Change::Evaluation(e) => record.upsert_evaluation(e.clone()),
        Change::EvaluationRemoved(id) => record.remove_evaluation(id),
    }
}

async fn write_delta<'a, K, C>(
    tx: &mut Tx,
    tenant: &Tenant,
    grain: Grain,
    cells: impl Iterator<Item = (&'a K, &'a C)>,
) -> Result<()>
where
    K: CellKey + StoredKey + 'a,
    C: Cell + StoredCell + 'a,
{
    let g = grain_code(grain);
    let deltas: Vec<(i32, String, &C)> = cells
        .filter(|(_, c)| !c.is_zero())
        .map(|(k, c)| (day_number(k.date()), k.encode(), c))
        .collect();
    for chunk in deltas.chunks(CHUNK) {
        // Read the stored cells of the chunk at once.
        // One index range (the chunk's days) and its keys: cells arrive in
        // date order, so a chunk spans few days; rows of other (day, key)
        // pairs the range may return are ignored below.
        let lo = chunk.iter().map(|c| c.0).min().unwrap_or(0);
        let hi = chunk.iter().map(|c| c.0).max().unwrap_or(0);
        let keys: Vec<&str> = {
            let mut k: Vec<&str> = chunk.iter().map(|c| c.1.as_str()).collect();
            k.sort_unstable();
            k.dedup();
            k
        };
        let rows: Vec<(i32, String, Vec<u8>)> = match &mut tx.inner {
            // One array parameter on PostgreSQL (see `load_records`).
            TxInner::Postgres(t) => {
                sqlx::query_as(
                    "SELECT day, cell_key, body FROM cells
                     WHERE tenant_id = $1 AND family = $2 AND grain = $3 AND day BETWEEN $4 AND $5
                       AND cell_key = ANY($6)",
                )
                .bind(tenant.id())
                .bind(K::FAMILY)
                .bind(g)
                .bind(lo)
                .bind(hi)
                .bind(&keys)
                .fetch_all(&mut **t)
                .await?
            }
            TxInner::Sqlite(t) => {
                let sql = format!(
                    "SELECT day, cell_key, body FROM cells
                     WHERE tenant_id = $1 AND family = $2 AND grain = $3 AND day BETWEEN $4 AND $5
                       AND cell_key IN ({})",
                    placeholders(keys.len(), 6)
                );
                let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql))
                    .bind(tenant.id())
                    .bind(K::FAMILY)
                    .bind(g)
                    .bind(lo)
                    .bind(hi);
                for key in &keys {
                    q = q.bind(*key);
                }
                q.fetch_all(&mut **t).await?
            }
        };
        let mut current: HashMap<(i32, String), Vec<u8>> =
            rows.into_iter().map(|(d, k, b)| ((d, k), b)).collect();
        let mut upserts: Vec<(i32, &str, Vec<u8>)> = Vec::new();
        let mut deletes: Vec<(i32, &str)> = Vec::new();
        for (day, key, delta) in chunk {
            let mut cell = match current.remove(&(*day, key.clone())) {
                Some(b) => C::decode(&b).ok_or_else(|| Error::internal("corrupt rollup cell"))?,
                None => C::default(),
            };
            cell.add(delta);
            if cell.is_zero() {
                deletes.push((*day, key));
            } else {
                upserts.push((*day, key, cell.encode()));
            }
        }
        put_cells(tx, tenant, K::FAMILY, g, &upserts).await?;
        for (day, key) in deletes {
            with_tx!(tx, |c| {
                sqlx::query(
                "DELETE FROM cells
                 WHERE tenant_id = $1 AND family = $2 AND grain = $3 AND day = $4 AND cell_key = $5"
            )
            .bind(tenant.id())
            .bind(K::FAMILY)
            .bind(g)
            .bind(day)
            .bind(key)
            .execute(&mut *c)
            .await
            .map(|_| ())
            })?;
        }
    }
    Ok(())
}

/// Inserts or replaces cells of one family and grain: (day, key, body).
async fn put_cells(
    tx: &mut Tx,
    tenant: &Tenant,
    family: i16,
    grain: i16,
    cells: &[(i32, &str, Vec<u8>)],
) -> Result<()> {
    for chunk in cells.chunks(CHUNK) {
        let sql = format!(
            "INSERT INTO cells (tenant_id, family, grain, day, cell_key, body) VALUES {}
             ON CONFLICT (tenant_id, family, grain, day, cell_key)
             DO UPDATE SET body = excluded.body",
            values(chunk.len(), 6, 0)
        );
        with_tx!(tx, |c| {
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.clone()));
            for (day, key, body) in chunk {
                q = q
                    .bind(tenant.id())
                    .bind(family)
                    .bind(grain)
                    .bind(*day)
                    .bind(*key)
                    .bind(body.as_slice());
            }
            q.execute(&mut *c).await.map(|_| ())
        })?;
    }
    Ok(())
}

/// The stored records among `ids`, with the context each was computed in.
async fn load_records(
    tx: &mut Tx,
    tenant: &Tenant,
    ids: &[String],
) -> Result<HashMap<String, (InteractionRecord, RollupContext)>> {
    let mut out = HashMap::with_capacity(ids.len());
    for chunk in ids.chunks(CHUNK) {
        let rows: Vec<(String, String, String)> = match &mut tx.inner {
            // PostgreSQL plans a list of bind parameters generically (one
            // plan per list length, no index estimate); one array bound to
            // `= ANY($2)` gets the primary-key plan.
            TxInner::Postgres(t) => {
                let ids: Vec<&str> = chunk.iter().map(String::as_str).collect();
                sqlx::query_as(
                    "SELECT interaction_id, body, context FROM records
                     WHERE tenant_id = $1 AND interaction_id = ANY($2)",
                )
                .bind(tenant.id())
                .bind(ids)
                .fetch_all(&mut **t)
                .await?
            }
            TxInner::Sqlite(t) => {
                let sql = format!(
                    "SELECT interaction_id, body, context FROM records
                     WHERE tenant_id = $1 AND interaction_id IN ({})",
                    placeholders(chunk.len(), 2)
                );
                let mut q = sqlx::query_as(sqlx::AssertSqlSafe(sql)).bind(tenant.id());
                for id in chunk {
                    q = q.bind(id.as_str());
                }
                q.fetch_all(&mut **t).await?
            }
        };
        for (id, body, ctx) in rows {
            let ctx: StoredContext = unjson(&ctx)?;
            out.insert(id, (unjson(&body)?, ctx.context()));
        }
    }
    Ok(out)
}

/// `$first, $first+1, …` for `n` parameters.
fn placeholders(n: usize, first: usize) -> String {
    (0..n)
        .map(|i| format!("${}", i + first))
        .collect::<Vec<_>>()
        .join(", ")
}

async fn save_records(
    tx: &mut Tx,
    tenant: &Tenant,
    records: &[(String, InteractionRecord)],
    ctx: &RollupContext,
) -> Result<()> {
    let ctx = json(&StoredContext::of(ctx))?;
    for chunk in records.chunks(CHUNK) {
        let bodies: Vec<String> = chunk.iter().map(|(_, r)| json(r)).collect::<Result<_>>()?;
        let sql = format!(
            "INSERT INTO records (tenant_id, interaction_id, body, context) VALUES {}
             ON CONFLICT (tenant_id, interaction_id)
             DO UPDATE SET body = excluded.body, context = excluded.context",
            values(chunk.len(), 4, 0)
        );
        with_tx!(tx, |c| {
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.clone()));
            for ((id, _), body) in chunk.iter().zip(&bodies) {
                q = q
                    .bind(tenant.id())
                    .bind(id.as_str())
                    .bind(body.as_str())
                    .bind(ctx.as_str());
            }
            q.execute(&mut *c).await.map(|_| ())
        })?;
    }
    Ok(())
}

async fn tenant_context_tx(tx: &mut Tx, tenant: &Tenant) -> Result<RollupContext> {
    let tz: Option<(String,)> = with_tx!(tx, |c| sqlx::query_as(
        "SELECT time_zone FROM tenant_context WHERE tenant_id = $1"
    )
    .bind(tenant.id())
    .fetch_optional(&mut *c)
    .await)?;
    let sl: Option<(String,)> = with_tx!(tx, |c| sqlx::query_as(
        "SELECT service_level FROM settings WHERE tenant_id = $1"
    )
    .bind(tenant.id())
    .fetch_optional(&mut *c)
    .await)?;
    let service_level = match sl {
        Some((s,)) => unjson::<StoredThresholds>(&s)?.thresholds(),
        None => ServiceLevelThresholds::default(),
    };
    Ok(RollupContext {
        time_zone: tz.and_then(|(t,)| t.parse().ok()).unwrap_or(Tz::UTC),
        service_level,
    })
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
struct StoredThresholds {
    default_ms: i64,
    by_channel: Vec<(Channel, i64)>,
}

impl StoredThresholds {
    fn thresholds(&self) -> ServiceLevelThresholds {
        ServiceLevelThresholds {
            default_ms: self.default_ms,
            by_channel: self.by_channel.iter().copied().collect(),
        }
    }
}

/// The tenant's time zone as sampling announced it (UTC until then).
pub async fn time_zone(db: &Db, tenant: &Tenant) -> Result<Tz> {
    let tz: Option<(String,)> = with_pool!(db.read(), |p| sqlx::query_as(
        "SELECT time_zone FROM tenant_context WHERE tenant_id = $1"
    )
    .bind(tenant.id())
    .fetch_optional(p)
    .await)?;
    Ok(tz.and_then(|(t,)| t.parse().ok()).unwrap_or(Tz::UTC))
}

/// The tenant's stored settings: (etag, encoded body).
pub async fn settings(db: &Db, tenant: &Tenant) -> Result<Option<(String, Vec<u8>)>> {
    let row: Option<(String, Vec<u8>)> = with_pool!(db.read(), |p| sqlx::query_as(
        "SELECT etag, body FROM settings WHERE tenant_id = $1"
    )
    .bind(tenant.id())
    .fetch_optional(p)
    .await)?;
    Ok(row)
}

/// Replaces the tenant's settings when the stored etag is `expected`
/// (`None`: none stored yet). False when the etag moved meanwhile.
/// The thresholds apply to facts applied from now on; records already
/// applied keep the context they were computed in until they change.
pub async fn put_settings(
    db: &Db,
    tenant: &Tenant,
    expected: Option<&str>,
    etag: &str,
    body: &[u8],
    thresholds: &ServiceLevelThresholds,
) -> Result<bool> {
    let sl = json(&StoredThresholds {
        default_ms: thresholds.default_ms,
        by_channel: thresholds
            .by_channel
            .iter()
            .map(|(c, t)| (*c, *t))
            .collect(),
    })?;
    let mut tx = db.begin().await?;
    let n = match expected {
        Some(old) => with_tx!(tx, |c| sqlx::query(
            "UPDATE settings SET etag = $1, body = $2, service_level = $3
             WHERE tenant_id = $4 AND etag = $5"
        )
        .bind(etag)
        .bind(body)
        .bind(&sl)
        .bind(tenant.id())
        .bind(old)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?,
        None => with_tx!(tx, |c| {
            sqlx::query(
            "INSERT INTO settings (tenant_id, etag, body, service_level) VALUES ($1, $2, $3, $4)
             ON CONFLICT (tenant_id) DO NOTHING"
        )
        .bind(tenant.id())
        .bind(etag)
        .bind(body)
        .bind(&sl)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected())
        })?,
    };
    if n != 1 {
        tx.rollback().await?;
        return Ok(false);
    }
    tx.commit().await?;
    Ok(true)
}

/// Every cursor.
pub async fn cursors(db: &Db) -> Result<Vec<CursorRow>> {
    let rows = with_pool!(db.read(), |p| {
        sqlx::query_as::<_, CursorRow>(
        "SELECT source, seq, head, last_occurred_at, last_applied_at FROM feed_cursors ORDER BY source"
    )
    .fetch_all(p)
    .await
    })?;
    Ok(rows)
}

/// The cursor of one feed.
pub async fn cursor(db: &Db, source: Source) -> Result<CursorRow> {
    let row = with_pool!(db.read(), |p| {
        sqlx::query_as::<_, CursorRow>(
        "SELECT source, seq, head, last_occurred_at, last_applied_at FROM feed_cursors WHERE source = $1"
    )
    .bind(source.name())
    .fetch_optional(p)
    .await
    })?;
    row.ok_or_else(|| Error::internal(format!("no cursor for {}", source.name())))
}

/// Records a head seen without events to apply.
pub async fn note_head(db: &Db, source: Source, head: i64) -> Result<()> {
    let mut tx = db.begin().await?;
    with_tx!(tx, |c| sqlx::query(
        "UPDATE feed_cursors SET head = $1 WHERE source = $2 AND head < $1"
    )
    .bind(head)
    .bind(source.name())
    .execute(&mut *c)
    .await
    .map(|_| ()))?;
    tx.commit().await
}

/// The cells of one family covering `range` (read at day, ten-day and
/// month grain, see [`cover`]).
pub async fn scan<K, C>(db: &Db, tenant: &Tenant, range: DateRange) -> Result<Vec<(K, C)>>
where
    K: CellKey + StoredKey,
    C: Cell + StoredCell,
{
    Ok(scan_timed(db, tenant, range).await?.0)
}

/// Where a scan's time went.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScanTimes {
    /// Running the queries and receiving the rows.
    pub fetch: Duration,
    /// Decoding keys and cells from the rows.
    pub decode: Duration,
}

/// [`scan`], also telling how long SQL and decoding took.
pub async fn scan_timed<K, C>(
    db: &Db,
    tenant: &Tenant,
    range: DateRange,
) -> Result<(Vec<(K, C)>, ScanTimes)>
where
    K: CellKey + StoredKey,
    C: Cell + StoredCell,
{
    let mut times = ScanTimes::default();
    let raw = fetch::<K>(db, tenant, range, false, &mut times).await?;
    let mut out = Vec::new();
    let start = Instant::now();
    out.reserve(raw.len());
    for row in raw.iter() {
        let (day, key, body, _) = row?;
        out.push(decode_cell(day, key, body)?);
    }
    times.decode = start.elapsed();
    Ok((out, times))
}

/// Cells of one family covering `range`, filtered and merged per group of
/// `dimension` and in total, straight from the stored rows: keys are
/// filtered and grouped from their stored form, and only the group ids are
/// allocated. The same figures as [`scan`] followed by
/// [`crate::rollup::group_by`] and [`crate::rollup::total`].
pub async fn scan_grouped<K, C>(
    db: &Db,
    tenant: &Tenant,
    range: DateRange,
    dimension: Dimension,
    filter: &Filter,
) -> Result<Grouped<C>>
where
    K: CellKey + StoredKey,
    C: Cell + StoredCell,
{
    let mut times = ScanTimes::default();
    let raw = fetch::<K>(db, tenant, range, true, &mut times).await?;
    let start = Instant::now();
    let mut total = C::default();
    let mut groups: HashMap<&str, C> = HashMap::new();
    for row in raw.iter() {
        let (_, key, body, negative) = row?;
        let parts = K::parts_of(key).ok_or_else(|| Error::internal("corrupt rollup key"))?;
        if !parts.passes(filter) {
            continue;
        }
        let id = parts.group_id(dimension).ok_or_else(|| {
            Error::invalid("group_by", UnsupportedDimension(dimension).to_string())
        })?;
        let cell = C::decode(body).ok_or_else(|| Error::internal("corrupt rollup cell"))?;
        if negative {
            total.subtract(&cell);
            groups.entry(id).or_default().subtract(&cell);
        } else {
            total.add(&cell);
            match groups.get_mut(id) {
                Some(g) => g.add(&cell),
                None => {
                    groups.insert(id, cell);
                }
            }
        }
    }
    // Counters only count up from zero and a stored cell is never zero, so
    // a group's cells inside the period never add up to zero: one that does
    // had cells only outside it, subtracted again, and has no data in it.
    let groups = groups
        .into_iter()
        .filter(|(_, c)| !c.is_zero())
        .map(|(id, c)| (id.to_owned(), c))
        .collect();
    times.decode = start.elapsed();
    Ok(Grouped {
        groups,
        total,
        cells: raw.len(),
        times,
    })
}

/// The quality cells covering `range`, filtered and merged per group:
/// [`scan_grouped`] over the quality summary when the report neither groups
/// nor filters by evaluator (see [`QualitySummaryKey::serves`]), over the
/// full quality cells otherwise. Both give the same figures.
pub async fn scan_quality_grouped(
    db: &Db,
    tenant: &Tenant,
    range: DateRange,
    dimension: Dimension,
    filter: &Filter,
) -> Result<Grouped<QualityCell>> {
    if QualitySummaryKey::serves(dimension, filter) {
        scan_grouped::<QualitySummaryKey, QualityCell>(db, tenant, range, dimension, filter).await
    } else {
        scan_grouped::<QualityKey, QualityCell>(db, tenant, range, dimension, filter).await
    }
}

/// What [`scan_grouped`] found.
#[derive(Debug, Clone, PartialEq)]
pub struct Grouped<C> {
    /// One merged cell per group id, ordered by id.
    pub groups: BTreeMap<String, C>,
    /// Every cell that passed the filter, merged.
    pub total: C,
    /// Stored cells read.
    pub cells: usize,
    /// Where the time went (`decode` includes filtering and merging).
    pub times: ScanTimes,
}

/// The stored rows of one family covering `range`, in one buffer, read in
/// one statement. `signed` reads the fewest pieces with data, some of them
/// to be subtracted (see [`signed_cover`]); otherwise every row is a cell
/// inside `range`, to be added.
async fn fetch<K: StoredKey>(
    db: &Db,
    tenant: &Tenant,
    range: DateRange,
    signed: bool,
    times: &mut ScanTimes,
) -> Result<read::RawCells> {
    let start = Instant::now();
    let pieces = if signed {
        let span = read::day_span(db, tenant, K::FAMILY)
            .await?
            .and_then(|(lo, hi)| DateRange::new(codec::day_date(lo), codec::day_date(hi)).ok());
        signed_cover(range, &DEFAULT_GRAINS, span)
    } else {
        cover(range, &DEFAULT_GRAINS)
            .into_iter()
            .map(|piece| Signed {
                piece,
                negative: false,
            })
            .collect()
    };
    let mut raw = read::RawCells::default();
    read::cells(db, tenant, K::FAMILY, &runs(pieces), &mut raw).await?;
    times.fetch += start.elapsed();
    Ok(raw)
}

/// Pieces as index ranges: consecutive pieces of one grain and sign are one
/// range.
fn runs(mut pieces: Vec<Signed>) -> Vec<read::Run> {
    pieces.sort_by_key(|s| (s.piece.grain, s.negative, s.piece.start));
    let mut out: Vec<read::Run> = Vec::new();
    // The piece that would extend the last run: same grain and sign, next date.
    let mut extends = None;
    for s in pieces {
        let d = day_number(s.piece.start);
        match out.last_mut() {
            Some(run) if extends == Some(s) => run.hi = d,
            _ => out.push(read::Run {
                grain: grain_code(s.piece.grain),
                lo: d,
                hi: d,
                negative: s.negative,
            }),
        }
        extends = Some(Signed {
            piece: Piece {
                grain: s.piece.grain,
                start: s.piece.grain.next_start(s.piece.start),
            },
            negative: s.negative,
        });
    }
    out
}

fn decode_cell<K: StoredKey, C: StoredCell>(day: i32, key: &str, body: &[u8]) -> Result<(K, C)> {
    let k = K::decode(codec::day_date(day), key)
        .ok_or_else(|| Error::internal("corrupt rollup key"))?;
    let c = C::decode(body).ok_or_else(|| Error::internal("corrupt rollup cell"))?;
    Ok((k, c))
}

/// Builds every kept grain that the `rollup_grains` table does not list
/// yet from the day cells, and lists it: an upgrade that adds a grain (the
/// ten-day grain of migration 0002) gets it for the whole stored history
/// before the service reads or applies anything. Likewise the quality
/// summary of migration 0003, projected from the quality cells and listed
/// in `rollup_families`. Runs at start; a no-op once everything is listed.
pub async fn build_grains(db: &Db) -> Result<()> {
    let mut tx = db.begin().await?;
    // Every apply moves a cursor first: holding the cursor rows keeps other
    // replicas' applies out until the new grain is complete and listed.
    with_tx!(tx, |c| sqlx::query("UPDATE feed_cursors SET seq = seq")
        .execute(&mut *c)
        .await
        .map(|_| ()))?;
    let listed: Vec<(i16,)> = with_tx!(tx, |c| sqlx::query_as("SELECT grain FROM rollup_grains")
        .fetch_all(&mut *c)
        .await)?;
    let mut built = false;
    for grain in DEFAULT_GRAINS {
        let code = grain_code(grain);
        if listed.iter().any(|(g,)| *g == code) {
            continue;
        }
        // Cells a replica of this version may already have added are
        // rebuilt with the rest.
        with_tx!(tx, |c| sqlx::query("DELETE FROM cells WHERE grain = $1")
            .bind(code)
            .execute(&mut *c)
            .await
            .map(|_| ()))?;
        build_family::<InteractionCell>(&mut tx, InteractionKey::FAMILY, grain).await?;
        build_family::<QualityCell>(&mut tx, QualityKey::FAMILY, grain).await?;
        build_family::<QualityCell>(&mut tx, QualitySummaryKey::FAMILY, grain).await?;
        build_family::<QuestionCell>(&mut tx, QuestionKey::FAMILY, grain).await?;
        with_tx!(tx, |c| sqlx::query(
            "INSERT INTO rollup_grains (grain) VALUES ($1)"
        )
        .bind(code)
        .execute(&mut *c)
        .await
        .map(|_| ()))?;
        built = true;
    }
    // The quality summary (migration 0003): projected from the quality
    // cells at every grain, all of it rebuilt (cells a replica of this
    // version may already have added included).
    let families: Vec<(i16,)> =
        with_tx!(tx, |c| sqlx::query_as("SELECT family FROM rollup_families")
            .fetch_all(&mut *c)
            .await)?;
    if !families.iter().any(|(f,)| *f == QualitySummaryKey::FAMILY) {
        with_tx!(tx, |c| sqlx::query("DELETE FROM cells WHERE family = $1")
            .bind(QualitySummaryKey::FAMILY)
            .execute(&mut *c)
            .await
            .map(|_| ()))?;
        for grain in DEFAULT_GRAINS {
            build_quality_summary(&mut tx, grain).await?;
        }
        with_tx!(tx, |c| sqlx::query(
            "INSERT INTO rollup_families (family) VALUES ($1)"
        )
        .bind(QualitySummaryKey::FAMILY)
        .execute(&mut *c)
        .await
        .map(|_| ()))?;
        built = true;
    }
    if built {
        tx.commit().await
    } else {
        tx.rollback().await
    }
}

/// Projects the quality cells of one grain onto the summary keys, tenant by
/// tenant and month by month.
async fn build_quality_summary(tx: &mut Tx, grain: Grain) -> Result<()> {
    let g = grain_code(grain);
    let spans: Vec<(String, i32, i32)> = with_tx!(tx, |c| sqlx::query_as(
        "SELECT tenant_id, MIN(day), MAX(day) FROM cells
         WHERE family = $1 AND grain = $2 GROUP BY tenant_id"
    )
    .bind(QualityKey::FAMILY)
    .bind(g)
    .fetch_all(&mut *c)
    .await)?;
    for (tenant_id, first, last) in spans {
        let tenant = Tenant::trusted(&tenant_id);
        let mut month = Grain::Month.start_of(codec::day_date(first));
        let last = codec::day_date(last);
        while month <= last {
            let next = Grain::Month.next_start(month);
            let rows: Vec<(i32, String, Vec<u8>)> = with_tx!(tx, |c| sqlx::query_as(
                "SELECT day, cell_key, body FROM cells
                 WHERE tenant_id = $1 AND family = $2 AND grain = $3 AND day BETWEEN $4 AND $5"
            )
            .bind(tenant.id())
            .bind(QualityKey::FAMILY)
            .bind(g)
            .bind(day_number(month))
            .bind(day_number(next) - 1)
            .fetch_all(&mut *c)
            .await)?;
            let mut sums: BTreeMap<QualitySummaryKey, QualityCell> = BTreeMap::new();
            for (d, key, body) in rows {
                let (k, cell): (QualityKey, QualityCell) = decode_cell(d, &key, &body)?;
                sums.entry(QualitySummaryKey::of(&k))
                    .or_default()
                    .add(&cell);
            }
            let keys: Vec<(i32, String, &QualityCell)> = sums
                .iter()
                .filter(|(_, c)| !c.is_zero())
                .map(|(k, c)| (day_number(k.date), k.encode(), c))
                .collect();
            let cells: Vec<(i32, &str, Vec<u8>)> = keys
                .iter()
                .map(|(d, k, c)| (*d, k.as_str(), c.encode()))
                .collect();
            put_cells(tx, &tenant, QualitySummaryKey::FAMILY, g, &cells).await?;
            if next <= month {
                break;
            }
            month = next;
        }
    }
    Ok(())
}

/// Sums one family's day cells into `grain`, tenant by tenant and month by
/// month (or year by year for a year grain: a chunk must hold whole cells of
/// the grain, since each is written once).
async fn build_family<C: Cell + StoredCell>(tx: &mut Tx, family: i16, grain: Grain) -> Result<()> {
    let day = grain_code(Grain::Day);
    let chunk = grain.max(Grain::Month);
    let spans: Vec<(String, i32, i32)> = with_tx!(tx, |c| sqlx::query_as(
        "SELECT tenant_id, MIN(day), MAX(day) FROM cells
         WHERE family = $1 AND grain = $2 GROUP BY tenant_id"
    )
    .bind(family)
    .bind(day)
    .fetch_all(&mut *c)
    .await)?;
    for (tenant_id, first, last) in spans {
        let tenant = Tenant::trusted(&tenant_id);
        let mut month = chunk.start_of(codec::day_date(first));
        let last = codec::day_date(last);
        while month <= last {
            let next = chunk.next_start(month);
            let rows: Vec<(i32, String, Vec<u8>)> = with_tx!(tx, |c| sqlx::query_as(
                "SELECT day, cell_key, body FROM cells
                 WHERE tenant_id = $1 AND family = $2 AND grain = $3 AND day BETWEEN $4 AND $5"
            )
            .bind(tenant.id())
            .bind(family)
            .bind(day)
            .bind(day_number(month))
            .bind(day_number(next) - 1)
            .fetch_all(&mut *c)
            .await)?;
            let mut sums: BTreeMap<(i32, String), C> = BTreeMap::new();
            for (d, key, body) in rows {
                let cell =
                    C::decode(&body).ok_or_else(|| Error::internal("corrupt rollup cell"))?;
                let start = day_number(grain.start_of(codec::day_date(d)));
                sums.entry((start, key)).or_default().add(&cell);
            }
            let cells: Vec<(i32, &str, Vec<u8>)> = sums
                .iter()
                .filter(|(_, c)| !c.is_zero())
                .map(|((d, k), c)| (*d, k.as_str(), c.encode()))
                .collect();
            put_cells(tx, &tenant, family, grain_code(grain), &cells).await?;
            if next <= month {
                break;
            }
            month = next;
        }
    }
    Ok(())
}

/// Every stored cell of one family at one grain (tests and checks).
pub async fn cells_at<K, C>(db: &Db, tenant: &Tenant, grain: Grain) -> Result<Vec<(K, C)>>
where
    K: CellKey + StoredKey,
    C: Cell + StoredCell,
{
    let rows: Vec<(i32, String, Vec<u8>)> = with_pool!(db.read(), |p| sqlx::query_as(
        "SELECT day, cell_key, body FROM cells
         WHERE tenant_id = $1 AND family = $2 AND grain = $3"
    )
    .bind(tenant.id())
    .bind(K::FAMILY)
    .bind(grain_code(grain))
    .fetch_all(p)
    .await)?;
    let mut out = Vec::new();
    decode_rows(rows, &mut out)?;
    Ok(out)
}

fn decode_rows<K: StoredKey, C: StoredCell>(
    rows: Vec<(i32, String, Vec<u8>)>,
    out: &mut Vec<(K, C)>,
) -> Result<()> {
    out.reserve(rows.len());
    for (day, key, body) in rows {
        let date = codec::day_date(day);
        let k = K::decode(date, &key).ok_or_else(|| Error::internal("corrupt rollup key"))?;
        let c = C::decode(&body).ok_or_else(|| Error::internal("corrupt rollup cell"))?;
        out.push((k, c));
    }
    Ok(())
}

/// The stored record of an interaction (tests and checks).
pub async fn record(
    db: &Db,
    tenant: &Tenant,
    interaction_id: &str,
) -> Result<Option<InteractionRecord>> {
    let row: Option<(String,)> = with_pool!(db.read(), |p| sqlx::query_as(
        "SELECT body FROM records WHERE tenant_id = $1 AND interaction_id = $2"
    )
    .bind(tenant.id())
    .bind(interaction_id)
    .fetch_optional(p)
    .await)?;
    row.map(|(b,)| unjson(&b)).transpose()
}
