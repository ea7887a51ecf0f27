//! Change feeds: a transactional outbox every service serves the same way.
//!
//! A service appends an event row in the *same transaction* as the state
//! change it describes ([`append`]), so an event exists exactly when its
//! change committed. Readers page through events by `sequence`
//! ([`read_after`]) or follow them ([`follow`]): catch up, then wait for new
//! commits.
//!
//! **No event is ever skipped.** A reader that has seen sequence *n* must
//! never later find a committed event below *n*. SQLite has one writer, so
//! sequences commit in order. On PostgreSQL an identity value can commit
//! after a higher one has been read; to rule that out, [`append`] first takes
//! a transaction-scoped advisory lock (one per service schema), so
//! event-writing transactions take their sequences and commit one after
//! another. The lock is taken as late as possible — callers append events
//! last — and held only until commit. `tests/feed.rs` proves the ordering
//! with a transaction held open across a concurrent commit.
//!
//! Payloads are the service's encoded protobuf event; the kit never looks
//! inside.

use std::{pin::Pin, time::Duration};

use futures::Stream;
use tokio_util::sync::CancellationToken;

use crate::{
    auth::Tenant,
    db::{Backend, Db, Tx},
    error::{Error, Result},
    with_pool, with_tx,
};

/// One stored event.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct StoredEvent {
    /// Position in the feed; strictly increasing in commit order.
    pub sequence: i64,
    /// The tenant the event belongs to.
    pub tenant_id: String,
    /// The event's kind, for filtering and logs (e.g. `evaluation.submitted`).
    pub event_type: String,
    /// The service's encoded protobuf event.
    pub payload: Vec<u8>,
    /// When the change happened, epoch milliseconds UTC.
    pub occurred_at: i64,
}

/// An event to append.
#[derive(Debug, Clone)]
pub struct NewEvent {
    /// The event's kind (see [`StoredEvent::event_type`]).
    pub event_type: &'static str,
    /// The service's encoded protobuf event.
    pub payload: Vec<u8>,
    /// When the change happened, epoch milliseconds UTC.
    pub occurred_at: i64,
}

/// Which events a reader may see.
#[derive(Debug, Clone)]
pub enum Scope {
    /// One tenant's events.
    Tenant(Tenant),
    /// Every tenant's events: only for the system identity (reporting).
    AllTenants,
}

const SQLITE_DDL: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS feed_events (
        sequence INTEGER PRIMARY KEY AUTOINCREMENT,
        tenant_id TEXT NOT NULL,
        event_type TEXT NOT NULL,
        payload BLOB NOT NULL,
        occurred_at INTEGER NOT NULL
    )",
    "CREATE INDEX IF NOT EXISTS feed_events_by_tenant ON feed_events (tenant_id, sequence)",
];

const POSTGRES_DDL: &[&str] = &[
    "CREATE TABLE IF NOT EXISTS feed_events (
        sequence BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        tenant_id TEXT NOT NULL,
        event_type TEXT NOT NULL,
        payload BYTEA NOT NULL,
        occurred_at BIGINT NOT NULL
    )",
    "CREATE INDEX IF NOT EXISTS feed_events_by_tenant ON feed_events (tenant_id, sequence)",
];

/// Creates the feed table when missing. Called by [`Db::open`]; the table is
/// the kit's, the same in every service.
pub(crate) async fn ensure_schema(db: &Db) -> Result<()> {
    let mut tx = db.begin().await?;
    let ddl = match db.backend() {
        Backend::Sqlite => SQLITE_DDL,
        Backend::Postgres => POSTGRES_DDL,
    };
    for stmt in ddl {
        let r = with_tx!(tx, |c| sqlx::query(*stmt)
            .execute(&mut *c)
            .await
            .map(|r| r.rows_affected()));
        if let Err(e) = r {
            // Two replicas creating the table at once: one wins, both go on.
            if crate::db::is_unique_violation(&e) {
                return Ok(());
            }
            return Err(e.into());
        }
    }
    tx.commit().await?;
    if db.backend() == Backend::Postgres {
        prefer_lz4(db).await;
    }
    Ok(())
}

/// Compresses new payloads with lz4 instead of PostgreSQL's default pglz:
/// an ingest batch's events are tens of kilobytes, and pglz took about 6%
/// of the server's time on the ingest benchmark; lz4 compresses them
/// several times faster. Best effort, once per table: a server built without lz4
/// (or a compatible engine without the clause) keeps its default.
async fn prefer_lz4(db: &Db) {
    let crate::db::Pool::Postgres(pool) = db.read() else {
        return;
    };
    let current: std::result::Result<Option<String>, sqlx::Error> = sqlx::query_scalar(
        "SELECT attcompression::text FROM pg_attribute \
         WHERE attrelid = 'feed_events'::regclass AND attname = 'payload'",
    )
    .fetch_optional(pool)
    .await;
    if let Ok(Some(c)) = current
        && c != "l"
        && let Err(e) =
            sqlx::query("ALTER TABLE feed_events ALTER COLUMN payload SET COMPRESSION lz4")
                .execute(pool)
                .await
    {
        tracing::debug!(error = %e, "feed payloads keep the default compression");
    }
}

/// Appends `events` for `tenant` inside `tx`. Call it after the state change
/// it describes, as late in the transaction as possible (see module docs).
pub async fn append(tx: &mut Tx, tenant: &Tenant, events: &[NewEvent]) -> Result<()> {
    if events.is_empty() {
        return Ok(());
    }
    if tx.backend() == Backend::Postgres && !tx.feed_locked {
        let key = tx.feed_lock_key;
        with_tx!(tx, |c| sqlx::query("SELECT pg_advisory_xact_lock($1)")
            .bind(key)
            .execute(&mut *c)
            .await
            .map(|r| r.rows_affected()))?;
        tx.feed_locked = true;
    }
    // Multi-row inserts: one statement per 200 events keeps the statement
    // cost (roughly 70 µs on sqlx-sqlite) off the per-event path.
    for chunk in events.chunks(200) {
        let mut sql = String::from(
            "INSERT INTO feed_events (tenant_id, event_type, payload, occurred_at) VALUES ",
        );
        for i in 0..chunk.len() {
            if i > 0 {
                sql.push(',');
            }
            let b = i * 4;
            sql.push_str(&format!("(${}, ${}, ${}, ${})", b + 1, b + 2, b + 3, b + 4));
        }
        with_tx!(tx, |c| {
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.clone()));
            for e in chunk {
                q = q
                    .bind(tenant.id())
                    .bind(e.event_type)
                    .bind(e.payload.as_slice())
                    .bind(e.occurred_at);
            }
            q.execute(&mut *c).await.map(|r| r.rows_affected())
        })?;
    }
    tx.wrote_events = true;
    Ok(())
}

/// Rewrites `tenant`'s stored events that occurred in `[since, until)`
/// (epoch milliseconds) inside `tx`: `edit` gets each event and returns its
/// new payload, or `None` to leave it as it is. This is how erasure and
/// retention remove personal data from the feed; sequences, types and times
/// never change, so followers' cursors stay valid (a follower that already
/// applied an event keeps what it derived, which holds no personal data).
/// Returns how many events changed.
pub async fn rewrite(
    tx: &mut Tx,
    tenant: &Tenant,
    since: i64,
    until: i64,
    mut edit: impl FnMut(&StoredEvent) -> Result<Option<Vec<u8>>>,
) -> Result<u64> {
    const PAGE: i64 = 500;
    let mut after = 0i64;
    let mut changed = 0u64;
    loop {
        let rows = with_tx!(tx, |c| sqlx::query_as::<_, StoredEvent>(
            "SELECT sequence, tenant_id, event_type, payload, occurred_at FROM feed_events \
             WHERE tenant_id = $1 AND sequence > $2 AND occurred_at >= $3 AND occurred_at < $4 \
             ORDER BY sequence LIMIT $5"
        )
        .bind(tenant.id())
        .bind(after)
        .bind(since)
        .bind(until)
        .bind(PAGE)
        .fetch_all(&mut *c)
        .await)?;
        let Some(last) = rows.last() else {
            return Ok(changed);
        };
        after = last.sequence;
        for event in &rows {
            if let Some(payload) = edit(event)?
                && payload != event.payload
            {
                with_tx!(tx, |c| sqlx::query(
                    "UPDATE feed_events SET payload = $1 WHERE sequence = $2"
                )
                .bind(payload.as_slice())
                .bind(event.sequence)
                .execute(&mut *c)
                .await
                .map(|r| r.rows_affected()))?;
                changed += 1;
            }
        }
        if (rows.len() as i64) < PAGE {
            return Ok(changed);
        }
    }
}

/// Up to `limit` events after `after`, in sequence order.
pub async fn read_after(
    db: &Db,
    scope: &Scope,
    after: i64,
    limit: i64,
) -> Result<Vec<StoredEvent>> {
    let rows = match scope {
        Scope::Tenant(t) => with_pool!(db.read(), |p| sqlx::query_as::<_, StoredEvent>(
            "SELECT sequence, tenant_id, event_type, payload, occurred_at FROM feed_events \
             WHERE tenant_id = $1 AND sequence > $2 ORDER BY sequence LIMIT $3"
        )
        .bind(t.id())
        .bind(after)
        .bind(limit)
        .fetch_all(p)
        .await)?,
        Scope::AllTenants => with_pool!(db.read(), |p| sqlx::query_as::<_, StoredEvent>(
            "SELECT sequence, tenant_id, event_type, payload, occurred_at FROM feed_events \
             WHERE sequence > $1 ORDER BY sequence LIMIT $2"
        )
        .bind(after)
        .bind(limit)
        .fetch_all(p)
        .await)?,
    };
    Ok(rows)
}

/// The highest committed sequence visible to `scope` (0 when empty).
pub async fn head(db: &Db, scope: &Scope) -> Result<i64> {
    let head: Option<i64> = match scope {
        Scope::Tenant(t) => with_pool!(db.read(), |p| sqlx::query_scalar(
            "SELECT MAX(sequence) FROM feed_events WHERE tenant_id = $1"
        )
        .bind(t.id())
        .fetch_one(p)
        .await)?,
        Scope::AllTenants => with_pool!(db.read(), |p| sqlx::query_scalar(
            "SELECT MAX(sequence) FROM feed_events"
        )
        .fetch_one(p)
        .await)?,
    };
    Ok(head.unwrap_or(0))
}

/// One batch delivered by [`follow`].
#[derive(Debug, Clone)]
pub struct Batch {
    /// Events in sequence order (never empty).
    pub events: Vec<StoredEvent>,
    /// The feed's highest sequence when the batch was read, so a follower
    /// can tell its lag.
    pub head_sequence: i64,
}

/// How to follow a feed.
#[derive(Debug, Clone)]
pub struct FollowOptions {
    /// Deliver events after this sequence.
    pub after: i64,
    /// Keep waiting for new events after catching up.
    pub follow: bool,
    /// Events per batch.
    pub batch_size: i64,
    /// How often to look for commits made by other replicas (commits in this
    /// process wake followers at once).
    pub poll_interval: Duration,
}

/// A stream of event batches: catch-up, then (with `follow`) new events as
/// they commit, until `shutdown` is cancelled or the receiver goes away.
pub fn follow(
    db: Db,
    scope: Scope,
    options: FollowOptions,
    shutdown: CancellationToken,
) -> Pin<Box<dyn Stream<Item = Result<Batch>> + Send>> {
    let stream = async_stream(db, scope, options, shutdown);
    Box::pin(stream)
}

fn async_stream(
    db: Db,
    scope: Scope,
    options: FollowOptions,
    shutdown: CancellationToken,
) -> impl Stream<Item = Result<Batch>> + Send {
    futures::stream::unfold((options.after, false), move |(mut after, done)| {
        let db = db.clone();
        let scope = scope.clone();
        let options = options.clone();
        let shutdown = shutdown.clone();
        async move {
            if done {
                return None;
            }
            loop {
                // Register for wake-ups before reading, so a commit
                // between the read and the wait is not missed.
                let notify = db.feed_notify().clone();
                let notified = notify.notified();
                tokio::pin!(notified);
                notified.as_mut().enable();
                let mut events = match read_after(&db, &scope, after, options.batch_size).await {
                    Ok(e) => e,
                    Err(e) => return Some((Err(e), (after, true))),
                };
                cap_bytes(&mut events, MAX_BATCH_BYTES);
                if let Some(last) = events.last() {
                    after = last.sequence;
                    let head_sequence = match head(&db, &scope).await {
                        Ok(h) => h.max(after),
                        Err(e) => return Some((Err(e), (after, true))),
                    };
                    return Some((
                        Ok(Batch {
                            events,
                            head_sequence,
                        }),
                        (after, false),
                    ));
                }
                if !options.follow {
                    return None;
                }
                tokio::select! {
                    _ = shutdown.cancelled() => return None,
                    _ = &mut notified => {},
                    _ = tokio::time::sleep(options.poll_interval) => {},
                }
            }
        }
    })
}

/// The most payload bytes one batch carries (at least one event is always
/// delivered), so a response stays well under the 4 MiB a gRPC client
/// decodes by default even when events are large.
pub const MAX_BATCH_BYTES: usize = 2 * 1024 * 1024;

/// Keeps the longest prefix of `events` within `max_bytes` of payload, and
/// never less than one event.
fn cap_bytes(events: &mut Vec<StoredEvent>, max_bytes: usize) {
    let mut total = 0usize;
    let mut keep = 0usize;
    for e in events.iter() {
        total = total.saturating_add(e.payload.len());
        if keep > 0 && total > max_bytes {
            break;
        }
        keep += 1;
    }
    events.truncate(keep);
}

/// Checks and defaults a `StreamEvents` request's batch size (0 → 500,
/// at most 5,000).
pub fn batch_size(requested: i32) -> Result<i64> {
    match requested {
        0 => Ok(500),
        n if n < 0 => Err(Error::invalid("max_batch_size", "must not be negative")),
        n => Ok(i64::from(n.min(5_000))),
    }
}

/// The response stream of a service's `StreamEvents`.
pub type ResponseStream<R> =
    Pin<Box<dyn Stream<Item = std::result::Result<R, tonic::Status>> + Send>>;

/// Serves a `StreamEvents` call: the caller's own tenant's events, or every
/// tenant's for the system identity. `build` turns each batch into the
/// service's response message (decode payloads with [`decode`]).
pub fn serve<R: Send + 'static>(
    db: Db,
    caller: &crate::auth::Caller,
    after_sequence: i64,
    follow_on: bool,
    max_batch_size: i32,
    shutdown: CancellationToken,
    build: impl Fn(Batch) -> Result<R> + Send + 'static,
) -> Result<ResponseStream<R>> {
    use futures::StreamExt as _;
    if after_sequence < 0 {
        return Err(Error::invalid("after_sequence", "must not be negative"));
    }
    let batch_size = batch_size(max_batch_size)?;
    let scope = if caller.is_system() {
        Scope::AllTenants
    } else {
        Scope::Tenant(caller.tenant().clone())
    };
    let stream = follow(
        db,
        scope,
        FollowOptions {
            after: after_sequence,
            follow: follow_on,
            batch_size,
            poll_interval: Duration::from_millis(250),
        },
        shutdown,
    )
    .map(move |r| r.and_then(&build).map_err(Error::into_status));
    Ok(Box::pin(stream))
}

/// Decodes a stored payload as the service's event message.
pub fn decode<E: prost::Message + Default>(event: &StoredEvent) -> Result<E> {
    E::decode(event.payload.as_slice()).map_err(|e| {
        Error::internal(format!(
            "feed event {} ({}) does not decode: {e}",
            event.sequence, event.event_type
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(seq: i64, bytes: usize) -> StoredEvent {
        StoredEvent {
            sequence: seq,
            tenant_id: "t".into(),
            event_type: "x".into(),
            payload: vec![0; bytes],
            occurred_at: 0,
        }
    }

    #[test]
    fn batches_are_capped_by_bytes_but_never_empty() {
        let mut v = vec![ev(1, 600), ev(2, 600), ev(3, 600)];
        cap_bytes(&mut v, 1000);
        assert_eq!(v.len(), 1);
        let mut v = vec![ev(1, 5000), ev(2, 1)];
        cap_bytes(&mut v, 1000);
        assert_eq!(v.len(), 1, "one oversized event still goes alone");
        let mut v = vec![ev(1, 10), ev(2, 10)];
        cap_bytes(&mut v, 1000);
        assert_eq!(v.len(), 2);
    }
}
