//! The calibration service's SQL: one query text for SQLite and PostgreSQL
//! (see `docs/storage.md`), every statement bound to the caller's tenant.
//!
//! | table | holds |
//! | --- | --- |
//! | `settings` | the tenant's settings (encoded `Settings`) and their etag |
//! | `sessions` | one row per session: state, times, etag, the encoded `Session` (without progress), the scorecard version it pins, and its results once closed |
//! | `session_participants`, `session_interactions` | membership, for listing a participant's sessions and for draws that leave out interactions already calibrated |
//! | `responses` | one row per (session, interaction, participant): lateness, revision, etag, and the encoded `Response` (answers, score, comment) |
//! | `submit_requests` | SubmitResponse idempotency keys, per participant |
//! | `trend_points` | one row per participant per session with final results, for GetParticipantTrend |
//!
//! Concurrency: every write that depends on a session's state first takes
//! the session row ([`lock_session`]: an `UPDATE` that bumps a private
//! counter, so PostgreSQL holds the row lock until commit; SQLite serialises
//! every write transaction anyway). A response submitted while the session
//! is being closed therefore either lands before close reads the responses,
//! or sees the session closed. The session's etag does not move with
//! responses, so nothing about other participants' activity leaks through it.

use earshot_kit::{
    Result,
    auth::Tenant,
    db::{Db, Tx},
    with_pool, with_tx,
};

/// A session as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SessionRow {
    /// Its id.
    pub session_id: String,
    /// Its state (the proto enum's number).
    pub state: i32,
    /// When it was created (epoch ms).
    pub created_at: i64,
    /// Its etag.
    pub etag: String,
    /// The encoded `Session`, without progress.
    pub body: Vec<u8>,
    /// The encoded scorecard version it pins.
    pub scorecard: Vec<u8>,
    /// The encoded `SessionResults`, once closed.
    pub results: Option<Vec<u8>>,
}

/// A session in a listing (no scorecard, no results).
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct SessionListRow {
    /// Its id.
    pub session_id: String,
    /// Its state (the proto enum's number).
    pub state: i32,
    /// Its etag.
    pub etag: String,
    /// When it was created (epoch ms).
    pub created_at: i64,
    /// The encoded `Session`, without progress.
    pub body: Vec<u8>,
}

/// A new session.
#[derive(Debug, Clone)]
pub struct NewSessionRow<'a> {
    /// Server-assigned id.
    pub session_id: &'a str,
    /// The caller's idempotency key.
    pub request_id: &'a str,
    /// The scorecard.
    pub scorecard_id: &'a str,
    /// Creation time (epoch ms).
    pub created_at: i64,
    /// Due time (epoch ms).
    pub due_at: i64,
    /// State number.
    pub state: i32,
    /// Etag.
    pub etag: &'a str,
    /// Encoded `Session`.
    pub body: &'a [u8],
    /// Encoded scorecard version.
    pub scorecard: &'a [u8],
    /// Participant ids, session order.
    pub participants: &'a [String],
    /// Interaction ids, session order.
    pub interactions: &'a [String],
}

/// One response as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ResponseRow {
    /// Its id.
    pub response_id: String,
    /// The interaction.
    pub interaction_id: String,
    /// The participant.
    pub participant_id: String,
    /// The interaction's position in the session.
    pub interaction_pos: i32,
    /// The participant's position in the session.
    pub participant_pos: i32,
    /// First submission (epoch ms).
    pub submitted_at: i64,
    /// Last revision (epoch ms).
    pub updated_at: i64,
    /// First submitted after the due time.
    pub late: bool,
    /// 1, then +1 per revision.
    pub revision: i32,
    /// Etag.
    pub etag: String,
    /// Encoded `Response` (answers, score, comment).
    pub body: Vec<u8>,
}

/// A participant's submission progress.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct ProgressRow {
    /// The participant.
    pub participant_id: String,
    /// Responses submitted.
    pub submitted: i64,
    /// Of those, late.
    pub late: i64,
    /// Last submission or revision (epoch ms).
    pub last_at: Option<i64>,
}

/// A trend point as stored.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct TrendRow {
    /// When the session's results became final (epoch ms).
    pub final_at: i64,
    /// The participant's deviations in that session, as a JSON array.
    pub deviations: String,
    /// Encoded `TrendPoint`.
    pub body: Vec<u8>,
}

/// A trend point to store.
#[derive(Debug, Clone)]
pub struct NewTrendRow {
    /// The participant.
    pub participant_id: String,
    /// When the results became final (epoch ms).
    pub final_at: i64,
    /// The session.
    pub session_id: String,
    /// Its scorecard.
    pub scorecard_id: String,
    /// The participant's deviations, JSON.
    pub deviations: String,
    /// Encoded `TrendPoint`.
    pub body: Vec<u8>,
}

// ---------------------------------------------------------------- settings

/// The tenant's stored settings: (etag, encoded `Settings`).
pub async fn settings(db: &Db, tenant: &Tenant) -> Result<Option<(String, Vec<u8>)>> {
    let row: Option<(String, Vec<u8>)> = with_pool!(db.read(), |p| sqlx::query_as(
        "SELECT etag, body FROM settings WHERE tenant_id = $1"
    )
    .bind(tenant.id())
    .fetch_optional(p)
    .await)?;
    Ok(row)
}

/// Stores settings if the stored etag is `old_etag` (empty: none stored
/// yet). False when another change won.
pub async fn put_settings(
    db: &Db,
    tenant: &Tenant,
    old_etag: &str,
    new_etag: &str,
    body: &[u8],
) -> Result<bool> {
    let mut tx = db.begin().await?;
    let n = if old_etag.is_empty() {
        with_tx!(tx, |c| sqlx::query(
            "INSERT INTO settings (tenant_id, etag, body) VALUES ($1, $2, $3) \
             ON CONFLICT (tenant_id) DO NOTHING"
        )
        .bind(tenant.id())
        .bind(new_etag)
        .bind(body)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?
    } else {
        with_tx!(tx, |c| sqlx::query(
            "UPDATE settings SET etag = $3, body = $4 WHERE tenant_id = $1 AND etag = $2"
        )
        .bind(tenant.id())
        .bind(old_etag)
        .bind(new_etag)
        .bind(body)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?
    };
    if n != 1 {
        tx.rollback().await?;
        return Ok(false);
    }
    tx.commit().await?;
    Ok(true)
}

// ---------------------------------------------------------------- sessions

const SESSION_COLUMNS: &str = "session_id, state, created_at, etag, body, scorecard, results";

/// One session.
pub async fn session(db: &Db, tenant: &Tenant, session_id: &str) -> Result<Option<SessionRow>> {
    let row = with_pool!(db.read(), |p| sqlx::query_as::<_, SessionRow>(
        "SELECT session_id, state, created_at, etag, body, scorecard, results \
         FROM sessions WHERE tenant_id = $1 AND session_id = $2"
    )
    .bind(tenant.id())
    .bind(session_id)
    .fetch_optional(p)
    .await)?;
    Ok(row)
}

/// The session a CreateSession `request_id` made, if any.
pub async fn session_by_request(
    db: &Db,
    tenant: &Tenant,
    request_id: &str,
) -> Result<Option<SessionRow>> {
    let row = with_pool!(db.read(), |p| sqlx::query_as::<_, SessionRow>(
        "SELECT session_id, state, created_at, etag, body, scorecard, results \
         FROM sessions WHERE tenant_id = $1 AND request_id = $2"
    )
    .bind(tenant.id())
    .bind(request_id)
    .fetch_optional(p)
    .await)?;
    Ok(row)
}

/// Inserts a new session with its membership and its creation event. False
/// (and nothing written) when the request id was taken meanwhile.
pub async fn insert_session(
    db: &Db,
    tenant: &Tenant,
    row: &NewSessionRow<'_>,
    events: &[earshot_kit::feed::NewEvent],
) -> Result<bool> {
    let mut tx = db.begin().await?;
    let n = with_tx!(tx, |c| sqlx::query(
        "INSERT INTO sessions (tenant_id, session_id, request_id, state, scorecard_id, \
         created_at, due_at, etag, body, scorecard) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) \
         ON CONFLICT (tenant_id, request_id) DO NOTHING"
    )
    .bind(tenant.id())
    .bind(row.session_id)
    .bind(row.request_id)
    .bind(row.state)
    .bind(row.scorecard_id)
    .bind(row.created_at)
    .bind(row.due_at)
    .bind(row.etag)
    .bind(row.body)
    .bind(row.scorecard)
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    if n != 1 {
        tx.rollback().await?;
        return Ok(false);
    }
    // At most 50 participants and 100 interactions: one statement each.
    let mut sql = String::from(
        "INSERT INTO session_participants (tenant_id, session_id, participant_id, position, created_at) VALUES ",
    );
    for i in 0..row.participants.len() {
        if i > 0 {
            sql.push(',');
        }
        let b = i * 2;
        sql.push_str(&format!("($1, $2, ${}, ${}, $3)", b + 4, b + 5));
    }
    if !row.participants.is_empty() {
        with_tx!(tx, |c| {
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
                .bind(tenant.id())
                .bind(row.session_id)
                .bind(row.created_at);
            for (i, p) in row.participants.iter().enumerate() {
                q = q
                    .bind(p.as_str())
                    .bind(i32::try_from(i).unwrap_or(i32::MAX));
            }
            q.execute(&mut *c).await.map(|r| r.rows_affected())
        })?;
    }
    let mut sql = String::from(
        "INSERT INTO session_interactions (tenant_id, session_id, interaction_id, position) VALUES ",
    );
    for i in 0..row.interactions.len() {
        if i > 0 {
            sql.push(',');
        }
        let b = i * 2;
        sql.push_str(&format!("($1, $2, ${}, ${})", b + 3, b + 4));
    }
    if !row.interactions.is_empty() {
        with_tx!(tx, |c| {
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.clone()))
                .bind(tenant.id())
                .bind(row.session_id);
            for (i, x) in row.interactions.iter().enumerate() {
                q = q
                    .bind(x.as_str())
                    .bind(i32::try_from(i).unwrap_or(i32::MAX));
            }
            q.execute(&mut *c).await.map(|r| r.rows_affected())
        })?;
    }
    earshot_kit::feed::append(&mut tx, tenant, events).await?;
    tx.commit().await?;
    Ok(true)
}

/// What ListSessions filters on.
#[derive(Debug, Clone, Default)]
pub struct SessionFilter {
    /// Only sessions with this participant; empty for all.
    pub participant_id: String,
    /// Only this scorecard; empty for all.
    pub scorecard_id: String,
    /// Only these states; empty for all.
    pub states: Vec<i32>,
    /// Created at or after (epoch ms).
    pub created_from: i64,
    /// Created before (epoch ms).
    pub created_to: i64,
}

/// A page of sessions, newest first, after the keyset `(created_at,
/// session_id)` cursor.
pub async fn list_sessions(
    db: &Db,
    tenant: &Tenant,
    filter: &SessionFilter,
    after: Option<(i64, String)>,
    limit: u32,
) -> Result<Vec<SessionListRow>> {
    // Up to four states, padded with -1 (no state has that number).
    let mut states = [-1_i32; 4];
    for (slot, s) in states.iter_mut().zip(&filter.states) {
        *slot = *s;
    }
    let any_state = filter.states.is_empty();
    let (cursor_at, cursor_id, has_cursor) = match after {
        Some((at, id)) => (at, id, true),
        None => (0, String::new(), false),
    };
    let rows = with_pool!(db.read(), |p| sqlx::query_as::<_, SessionListRow>(
        "SELECT s.session_id, s.state, s.etag, s.created_at, s.body FROM sessions s \
         WHERE s.tenant_id = $1 \
           AND ($2 = '' OR EXISTS (SELECT 1 FROM session_participants sp \
                 WHERE sp.tenant_id = s.tenant_id AND sp.session_id = s.session_id \
                   AND sp.participant_id = $2)) \
           AND ($3 = '' OR s.scorecard_id = $3) \
           AND ($4 OR s.state IN ($5, $6, $7, $8)) \
           AND s.created_at >= $9 AND s.created_at < $10 \
           AND (NOT $11 OR s.created_at < $12 OR (s.created_at = $12 AND s.session_id < $13)) \
         ORDER BY s.created_at DESC, s.session_id DESC LIMIT $14"
    )
    .bind(tenant.id())
    .bind(filter.participant_id.as_str())
    .bind(filter.scorecard_id.as_str())
    .bind(any_state)
    .bind(states[0])
    .bind(states[1])
    .bind(states[2])
    .bind(states[3])
    .bind(filter.created_from)
    .bind(filter.created_to)
    .bind(has_cursor)
    .bind(cursor_at)
    .bind(cursor_id.as_str())
    .bind(i64::from(limit))
    .fetch_all(p)
    .await)?;
    Ok(rows)
}

/// Takes the session row for the rest of `tx` and returns it (`None`: no
/// such session for this tenant).
pub async fn lock_session(
    tx: &mut Tx,
    tenant: &Tenant,
    session_id: &str,
) -> Result<Option<SessionRow>> {
    let n = with_tx!(tx, |c| sqlx::query(
        "UPDATE sessions SET response_seq = response_seq + 1 \
         WHERE tenant_id = $1 AND session_id = $2"
    )
    .bind(tenant.id())
    .bind(session_id)
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    if n == 0 {
        return Ok(None);
    }
    let sql =
        format!("SELECT {SESSION_COLUMNS} FROM sessions WHERE tenant_id = $1 AND session_id = $2");
    let row = with_tx!(tx, |c| sqlx::query_as::<_, SessionRow>(
        sqlx::AssertSqlSafe(sql.clone())
    )
    .bind(tenant.id())
    .bind(session_id)
    .fetch_optional(&mut *c)
    .await)?;
    Ok(row)
}

/// A session's new state, inside the transaction that locked it.
#[derive(Debug, Clone)]
pub struct SessionUpdate<'a> {
    /// State number.
    pub state: i32,
    /// New etag.
    pub etag: &'a str,
    /// Due time (epoch ms).
    pub due_at: i64,
    /// When results became final (epoch ms), if they are.
    pub final_at: Option<i64>,
    /// Encoded `Session`.
    pub body: &'a [u8],
    /// Encoded `SessionResults`, if any.
    pub results: Option<&'a [u8]>,
}

/// Writes a locked session's new state.
pub async fn save_session(
    tx: &mut Tx,
    tenant: &Tenant,
    session_id: &str,
    u: &SessionUpdate<'_>,
) -> Result<()> {
    with_tx!(tx, |c| sqlx::query(
        "UPDATE sessions SET state = $3, etag = $4, due_at = $5, final_at = $6, body = $7, \
         results = $8 WHERE tenant_id = $1 AND session_id = $2"
    )
    .bind(tenant.id())
    .bind(session_id)
    .bind(u.state)
    .bind(u.etag)
    .bind(u.due_at)
    .bind(u.final_at)
    .bind(u.body)
    .bind(u.results)
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Interactions used by any session of the tenant (at most `limit`), for
/// draws that leave out interactions already calibrated.
pub async fn calibrated_interactions(db: &Db, tenant: &Tenant, limit: u32) -> Result<Vec<String>> {
    let rows: Vec<(String,)> = with_pool!(db.read(), |p| sqlx::query_as(
        "SELECT DISTINCT interaction_id FROM session_interactions WHERE tenant_id = $1 \
         ORDER BY interaction_id LIMIT $2"
    )
    .bind(tenant.id())
    .bind(i64::from(limit))
    .fetch_all(p)
    .await)?;
    Ok(rows.into_iter().map(|r| r.0).collect())
}

// --------------------------------------------------------------- responses

const RESPONSE_COLUMNS: &str = "response_id, interaction_id, participant_id, interaction_pos, \
     participant_pos, submitted_at, updated_at, late, revision, etag, body";

/// One response, inside a transaction.
pub async fn response_in_tx(
    tx: &mut Tx,
    tenant: &Tenant,
    session_id: &str,
    interaction_id: &str,
    participant_id: &str,
) -> Result<Option<ResponseRow>> {
    let sql = format!(
        "SELECT {RESPONSE_COLUMNS} FROM responses WHERE tenant_id = $1 AND session_id = $2 \
         AND interaction_id = $3 AND participant_id = $4"
    );
    let row = with_tx!(tx, |c| sqlx::query_as::<_, ResponseRow>(
        sqlx::AssertSqlSafe(sql.clone())
    )
    .bind(tenant.id())
    .bind(session_id)
    .bind(interaction_id)
    .bind(participant_id)
    .fetch_optional(&mut *c)
    .await)?;
    Ok(row)
}

/// One response.
pub async fn response(
    db: &Db,
    tenant: &Tenant,
    session_id: &str,
    interaction_id: &str,
    participant_id: &str,
) -> Result<Option<ResponseRow>> {
    let sql = format!(
        "SELECT {RESPONSE_COLUMNS} FROM responses WHERE tenant_id = $1 AND session_id = $2 \
         AND interaction_id = $3 AND participant_id = $4"
    );
    let row = with_pool!(db.read(), |p| sqlx::query_as::<_, ResponseRow>(
        sqlx::AssertSqlSafe(sql.clone())
    )
    .bind(tenant.id())
    .bind(session_id)
    .bind(interaction_id)
    .bind(participant_id)
    .fetch_optional(p)
    .await)?;
    Ok(row)
}

/// Every response of a session, in session order, inside a transaction.
pub async fn responses_in_tx(
    tx: &mut Tx,
    tenant: &Tenant,
    session_id: &str,
) -> Result<Vec<ResponseRow>> {
    let sql = format!(
        "SELECT {RESPONSE_COLUMNS} FROM responses WHERE tenant_id = $1 AND session_id = $2 \
         ORDER BY interaction_pos, participant_pos"
    );
    let rows = with_tx!(tx, |c| sqlx::query_as::<_, ResponseRow>(
        sqlx::AssertSqlSafe(sql.clone())
    )
    .bind(tenant.id())
    .bind(session_id)
    .fetch_all(&mut *c)
    .await)?;
    Ok(rows)
}

/// A page of a session's responses in session order after the cursor
/// `(interaction_pos, participant_pos)`; `participant` and `interaction`
/// filter when not empty.
pub async fn list_responses(
    db: &Db,
    tenant: &Tenant,
    session_id: &str,
    interaction_id: &str,
    participant_id: &str,
    after: Option<(i32, i32)>,
    limit: u32,
) -> Result<Vec<ResponseRow>> {
    let (ai, ap) = after.unwrap_or((-1, -1));
    let sql = format!(
        "SELECT {RESPONSE_COLUMNS} FROM responses WHERE tenant_id = $1 AND session_id = $2 \
         AND ($3 = '' OR interaction_id = $3) AND ($4 = '' OR participant_id = $4) \
         AND (interaction_pos > $5 OR (interaction_pos = $5 AND participant_pos > $6)) \
         ORDER BY interaction_pos, participant_pos LIMIT $7"
    );
    let rows = with_pool!(db.read(), |p| sqlx::query_as::<_, ResponseRow>(
        sqlx::AssertSqlSafe(sql.clone())
    )
    .bind(tenant.id())
    .bind(session_id)
    .bind(interaction_id)
    .bind(participant_id)
    .bind(ai)
    .bind(ap)
    .bind(i64::from(limit))
    .fetch_all(p)
    .await)?;
    Ok(rows)
}

/// Writes a response (insert on first submission, replace on revision).
pub async fn put_response(
    tx: &mut Tx,
    tenant: &Tenant,
    session_id: &str,
    row: &ResponseRow,
    first: bool,
) -> Result<()> {
    if first {
        with_tx!(tx, |c| sqlx::query(
            "INSERT INTO responses (tenant_id, session_id, interaction_id, participant_id, \
             response_id, interaction_pos, participant_pos, submitted_at, updated_at, late, \
             revision, etag, body) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)"
        )
        .bind(tenant.id())
        .bind(session_id)
        .bind(row.interaction_id.as_str())
        .bind(row.participant_id.as_str())
        .bind(row.response_id.as_str())
        .bind(row.interaction_pos)
        .bind(row.participant_pos)
        .bind(row.submitted_at)
        .bind(row.updated_at)
        .bind(row.late)
        .bind(row.revision)
        .bind(row.etag.as_str())
        .bind(row.body.as_slice())
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
    } else {
        with_tx!(tx, |c| sqlx::query(
            "UPDATE responses SET updated_at = $5, revision = $6, etag = $7, body = $8 \
             WHERE tenant_id = $1 AND session_id = $2 AND interaction_id = $3 \
             AND participant_id = $4"
        )
        .bind(tenant.id())
        .bind(session_id)
        .bind(row.interaction_id.as_str())
        .bind(row.participant_id.as_str())
        .bind(row.updated_at)
        .bind(row.revision)
        .bind(row.etag.as_str())
        .bind(row.body.as_slice())
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
    }
    Ok(())
}

/// Judges lateness again against a new due time.
pub async fn rejudge_lateness(
    tx: &mut Tx,
    tenant: &Tenant,
    session_id: &str,
    due_at: i64,
) -> Result<()> {
    with_tx!(tx, |c| sqlx::query(
        "UPDATE responses SET late = (submitted_at > $3) WHERE tenant_id = $1 AND session_id = $2"
    )
    .bind(tenant.id())
    .bind(session_id)
    .bind(due_at)
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Submission progress per participant (only participants with a response).
pub async fn progress(db: &Db, tenant: &Tenant, session_id: &str) -> Result<Vec<ProgressRow>> {
    let rows = with_pool!(db.read(), |p| sqlx::query_as::<_, ProgressRow>(
        "SELECT participant_id, CAST(COUNT(*) AS BIGINT) AS submitted, \
         CAST(SUM(CASE WHEN late THEN 1 ELSE 0 END) AS BIGINT) AS late, \
         CAST(MAX(updated_at) AS BIGINT) AS last_at \
         FROM responses WHERE tenant_id = $1 AND session_id = $2 GROUP BY participant_id"
    )
    .bind(tenant.id())
    .bind(session_id)
    .fetch_all(p)
    .await)?;
    Ok(rows)
}

/// The response a SubmitResponse `request_id` wrote: (session, interaction).
pub async fn submit_request(
    db: &Db,
    tenant: &Tenant,
    participant_id: &str,
    request_id: &str,
) -> Result<Option<(String, String)>> {
    let row: Option<(String, String)> = with_pool!(db.read(), |p| sqlx::query_as(
        "SELECT session_id, interaction_id FROM submit_requests \
         WHERE tenant_id = $1 AND participant_id = $2 AND request_id = $3"
    )
    .bind(tenant.id())
    .bind(participant_id)
    .bind(request_id)
    .fetch_optional(p)
    .await)?;
    Ok(row)
}

/// Records a SubmitResponse `request_id`; false when it was taken meanwhile.
pub async fn record_submit_request(
    tx: &mut Tx,
    tenant: &Tenant,
    participant_id: &str,
    request_id: &str,
    session_id: &str,
    interaction_id: &str,
    revision: i32,
) -> Result<bool> {
    let n = with_tx!(tx, |c| sqlx::query(
        "INSERT INTO submit_requests (tenant_id, participant_id, request_id, session_id, \
         interaction_id, revision) VALUES ($1, $2, $3, $4, $5, $6) \
         ON CONFLICT (tenant_id, participant_id, request_id) DO NOTHING"
    )
    .bind(tenant.id())
    .bind(participant_id)
    .bind(request_id)
    .bind(session_id)
    .bind(interaction_id)
    .bind(revision)
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(n == 1)
}

// ------------------------------------------------------------------ trend

/// Stores trend points for a session whose results became final.
pub async fn insert_trend_points(tx: &mut Tx, tenant: &Tenant, rows: &[NewTrendRow]) -> Result<()> {
    for r in rows {
        with_tx!(tx, |c| sqlx::query(
            "INSERT INTO trend_points (tenant_id, participant_id, final_at, session_id, \
             scorecard_id, deviations, body) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (tenant_id, participant_id, final_at, session_id) DO NOTHING"
        )
        .bind(tenant.id())
        .bind(r.participant_id.as_str())
        .bind(r.final_at)
        .bind(r.session_id.as_str())
        .bind(r.scorecard_id.as_str())
        .bind(r.deviations.as_str())
        .bind(r.body.as_slice())
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
    }
    Ok(())
}

/// A participant's most recent trend points (at most `limit`), newest first.
pub async fn trend_points(
    db: &Db,
    tenant: &Tenant,
    participant_id: &str,
    scorecard_id: &str,
    from: i64,
    to: i64,
    limit: u32,
) -> Result<Vec<TrendRow>> {
    let rows = with_pool!(db.read(), |p| sqlx::query_as::<_, TrendRow>(
        "SELECT final_at, deviations, body FROM trend_points \
         WHERE tenant_id = $1 AND participant_id = $2 AND ($3 = '' OR scorecard_id = $3) \
           AND final_at >= $4 AND final_at < $5 \
         ORDER BY final_at DESC, session_id DESC LIMIT $6"
    )
    .bind(tenant.id())
    .bind(participant_id)
    .bind(scorecard_id)
    .bind(from)
    .bind(to)
    .bind(i64::from(limit))
    .fetch_all(p)
    .await)?;
    Ok(rows)
}

/// Blanks the comments of every response to the tenant's `interaction_ids`
/// (overall and per answer) in one transaction; answers, scores and results
/// stay, so agreement figures are unchanged. Returns how many responses
/// changed. Session results and the change feed carry no comments.
pub async fn erase_response_text(
    db: &Db,
    tenant: &Tenant,
    interaction_ids: &[String],
) -> Result<i64> {
    use earshot_proto::calibration::v1 as pb;
    use prost::Message as _;
    let mut tx = db.begin().await?;
    let mut changed = 0i64;
    for interaction in interaction_ids {
        let rows: Vec<(String, String, Vec<u8>)> = with_tx!(tx, |c| sqlx::query_as(
            "SELECT r.session_id, r.participant_id, r.body FROM responses r \
             JOIN session_interactions s ON s.tenant_id = r.tenant_id \
             AND s.session_id = r.session_id AND s.interaction_id = r.interaction_id \
             WHERE s.tenant_id = $1 AND s.interaction_id = $2"
        )
        .bind(tenant.id())
        .bind(interaction.as_str())
        .fetch_all(&mut *c)
        .await)?;
        for (session, participant, body) in rows {
            let mut r = pb::Response::decode(body.as_slice()).map_err(|e| {
                earshot_kit::Error::internal(format!(
                    "stored response of session {session} does not decode: {e}"
                ))
            })?;
            let had = !r.comment.is_empty() || r.answers.iter().any(|a| !a.comment.is_empty());
            if !had {
                continue;
            }
            r.comment.clear();
            for a in &mut r.answers {
                a.comment.clear();
            }
            with_tx!(tx, |c| sqlx::query(
                "UPDATE responses SET body = $1 WHERE tenant_id = $2 AND session_id = $3 \
                 AND interaction_id = $4 AND participant_id = $5"
            )
            .bind(r.encode_to_vec())
            .bind(tenant.id())
            .bind(session.as_str())
            .bind(interaction.as_str())
            .bind(participant.as_str())
            .execute(&mut *c)
            .await
            .map(|r| r.rows_affected()))?;
            changed += 1;
        }
    }
    tx.commit().await?;
    Ok(changed)
}
