//! Storage: one service's database on SQLite (embedded default) or
//! PostgreSQL, behind one small type.
//!
//! # One query text for both engines
//!
//! Queries are written once, in the SQL both engines accept: `$1, $2 …`
//! placeholders (sqlx-sqlite binds `$N` by number), ids as `TEXT`, times as
//! `BIGINT` epoch milliseconds, `BOOLEAN`, `DOUBLE PRECISION`, blobs for
//! encoded protobuf. [`with_pool!`](crate::with_pool) and
//! [`with_tx!`](crate::with_tx) expand the same statement once per engine at
//! compile time, so each engine runs its own native driver (no `sqlx::Any`,
//! whose type gaps and runtime driver registry we avoid) and no query text
//! is written twice. Where the engines truly differ (bulk load with `COPY`,
//! `FOR UPDATE SKIP LOCKED`, advisory locks) a store matches on
//! [`Backend`] explicitly. `docs/storage.md` records the decision.
//!
//! # SQLite
//!
//! WAL, a busy timeout, foreign keys on. Writes go through a pool of exactly
//! one connection (SQLite has one writer; queuing in-process is cheaper and
//! fairer than `SQLITE_BUSY` retries) and every write transaction is
//! `BEGIN IMMEDIATE`; reads use a separate read-only pool, and
//! [`Db::begin_read`] gives a snapshot that does not hold the writer. WAL
//! checkpoints run beside the writer, in a task with its own connection.
//!
//! # PostgreSQL
//!
//! One database, one schema per service (`search_path` is set on every
//! connection), so a service cannot read another's tables by accident.

use std::{str::FromStr, sync::Arc, time::Duration};

use sqlx::{
    Connection as _, PgPool, Postgres, Sqlite, SqlitePool, Transaction,
    migrate::Migrator,
    postgres::{PgConnectOptions, PgPoolOptions},
    sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous},
};
use tokio::sync::Notify;

use crate::{
    config::{DbTarget, redact_url},
    error::{Error, Result},
};

/// Which engine a [`Db`] runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// Embedded SQLite.
    Sqlite,
    /// PostgreSQL (or a compatible engine).
    Postgres,
}

/// A service's embedded migrations, one folder per engine
/// (`migrations/sqlite`, `migrations/postgres`).
#[derive(Debug, Clone, Copy)]
pub struct Migrations {
    /// For SQLite.
    pub sqlite: &'static Migrator,
    /// For PostgreSQL.
    pub postgres: &'static Migrator,
}

/// Pool settings.
#[derive(Debug, Clone)]
pub struct DbOptions {
    /// Connections in the (read) pool.
    pub max_connections: u32,
    /// How long to wait for a connection before `UNAVAILABLE`.
    pub acquire_timeout: Duration,
}

impl Default for DbOptions {
    fn default() -> Self {
        DbOptions {
            max_connections: 8,
            acquire_timeout: Duration::from_secs(5),
        }
    }
}

#[derive(Debug)]
enum Pools {
    Sqlite {
        write: SqlitePool,
        read: SqlitePool,
        checkpoint: Arc<Checkpointer>,
    },
    Postgres(PgPool),
}

/// SQLite's WAL is copied back into the database file (a checkpoint) by a
/// task with its own connection, woken after commits, instead of by the
/// writer at the end of a commit: a batch of random-order index inserts
/// leaves tens of megabytes of pages to copy, and the writer goes on with
/// the next transaction meanwhile. The writer still checkpoints itself
/// once the WAL passes [`WRITER_CHECKPOINT_PAGES`] (the task fell behind,
/// or readers held it up), which also lets the WAL start over from the
/// beginning.
#[derive(Debug, Default)]
struct Checkpointer {
    wake: Notify,
    stopped: std::sync::atomic::AtomicBool,
}

impl Checkpointer {
    fn stop(&self) {
        self.stopped
            .store(true, std::sync::atomic::Ordering::Release);
        self.wake.notify_one();
    }
}

impl Drop for Pools {
    fn drop(&mut self) {
        if let Pools::Sqlite { checkpoint, .. } = self {
            checkpoint.stop();
        }
    }
}

/// The WAL size, in pages, past which the writer checkpoints itself.
const WRITER_CHECKPOINT_PAGES: &str = "16384";

/// How long the checkpoint task lets commits gather before it runs.
const CHECKPOINT_DELAY: Duration = Duration::from_millis(20);

async fn checkpoints(mut conn: sqlx::SqliteConnection, c: Arc<Checkpointer>) {
    use std::sync::atomic::Ordering;
    loop {
        c.wake.notified().await;
        if c.stopped.load(Ordering::Acquire) {
            break;
        }
        tokio::time::sleep(CHECKPOINT_DELAY).await;
        // PASSIVE never waits for the writer or readers: it copies what
        // it can now, and the next wake-up copies the rest.
        if let Err(e) = sqlx::query("PRAGMA wal_checkpoint(PASSIVE)")
            .execute(&mut conn)
            .await
        {
            tracing::debug!(error = %e, "background WAL checkpoint failed");
        }
    }
    let _ = conn.close().await;
}

/// A service's database. Cheap to clone.
#[derive(Debug, Clone)]
pub struct Db {
    pools: Arc<Pools>,
    /// Woken after a transaction that appended change-feed events commits,
    /// so followers in this process see them at once.
    feed_notify: Arc<Notify>,
    /// The PostgreSQL schema (or "main" for SQLite); keys the feed lock.
    schema: Arc<str>,
}

/// A read handle: `with_pool!(db.read(), |p| query.fetch_all(p).await)`.
#[derive(Debug, Clone, Copy)]
pub enum Pool<'a> {
    /// SQLite's read-only pool.
    Sqlite(&'a SqlitePool),
    /// The PostgreSQL pool.
    Postgres(&'a PgPool),
}

/// The engine-specific transaction inside a [`Tx`].
#[derive(Debug)]
pub enum TxInner {
    /// SQLite (`BEGIN IMMEDIATE` on the writer connection).
    Sqlite(Transaction<'static, Sqlite>),
    /// PostgreSQL.
    Postgres(Transaction<'static, Postgres>),
}

/// A write transaction: `with_tx!(tx, |c| query.execute(&mut *c).await)`.
/// Dropped without [`Tx::commit`], it rolls back.
#[derive(Debug)]
pub struct Tx {
    /// The engine's transaction; use [`with_tx!`](crate::with_tx).
    pub inner: TxInner,
    /// SQLite: woken after a commit (a write transaction).
    checkpoint: Option<Arc<Checkpointer>>,
    feed_notify: Arc<Notify>,
    pub(crate) wrote_events: bool,
    pub(crate) feed_lock_key: i64,
    pub(crate) feed_locked: bool,
}

impl Tx {
    /// Which engine this transaction runs on.
    pub fn backend(&self) -> Backend {
        match self.inner {
            TxInner::Sqlite(_) => Backend::Sqlite,
            TxInner::Postgres(_) => Backend::Postgres,
        }
    }

    /// Commits; then wakes this process's change-feed followers if the
    /// transaction appended events.
    pub async fn commit(self) -> Result<()> {
        match self.inner {
            TxInner::Sqlite(t) => t.commit().await?,
            TxInner::Postgres(t) => t.commit().await?,
        }
        if let Some(c) = &self.checkpoint {
            c.wake.notify_one();
        }
        if self.wrote_events {
            self.feed_notify.notify_waiters();
        }
        Ok(())
    }

    /// Rolls back explicitly (dropping does the same).
    pub async fn rollback(self) -> Result<()> {
        match self.inner {
            TxInner::Sqlite(t) => t.rollback().await?,
            TxInner::Postgres(t) => t.rollback().await?,
        }
        Ok(())
    }
}

/// Runs `$body` once per engine with `$p` bound to the pool:
/// `with_pool!(db.read(), |p| sqlx::query("…").fetch_all(p).await)`.
#[macro_export]
macro_rules! with_pool {
    ($pool:expr, |$p:ident| $body:expr) => {
        match $pool {
            $crate::db::Pool::Sqlite($p) => $body,
            $crate::db::Pool::Postgres($p) => $body,
        }
    };
}

/// Runs `$body` once per engine with `$c` bound to the transaction's
/// connection: `with_tx!(tx, |c| sqlx::query("…").execute(&mut *c).await)`.
#[macro_export]
macro_rules! with_tx {
    ($tx:expr, |$c:ident| $body:expr) => {
        match &mut ($tx).inner {
            $crate::db::TxInner::Sqlite(t) => {
                let $c = &mut **t;
                $body
            }
            $crate::db::TxInner::Postgres(t) => {
                let $c = &mut **t;
                $body
            }
        }
    };
}

impl Db {
    /// Opens (creating when missing) the database at `target` and applies
    /// the service's migrations. Errors are one line naming the target.
    pub async fn open(
        target: &DbTarget,
        options: &DbOptions,
        migrations: Migrations,
    ) -> Result<Db> {
        match target {
            DbTarget::Sqlite { path } => {
                if let Some(dir) = path.parent()
                    && !dir.as_os_str().is_empty()
                {
                    std::fs::create_dir_all(dir).map_err(|e| {
                        Error::Unavailable(format!(
                            "cannot create data directory {}: {e}",
                            dir.display()
                        ))
                    })?;
                }
                let base = SqliteConnectOptions::new()
                    .filename(path)
                    .journal_mode(SqliteJournalMode::Wal)
                    // FULL: an acknowledged write survives power loss, not only
                    // a process crash. Batched writes amortise the fsync.
                    .synchronous(SqliteSynchronous::Full)
                    .busy_timeout(Duration::from_secs(10))
                    .foreign_keys(true)
                    .pragma("temp_store", "memory")
                    .pragma("cache_size", "-32768");
                let write = SqlitePoolOptions::new()
                    .max_connections(1)
                    .acquire_timeout(options.acquire_timeout.max(Duration::from_secs(30)))
                    .connect_with(
                        base.clone()
                            .create_if_missing(true)
                            .pragma("wal_autocheckpoint", WRITER_CHECKPOINT_PAGES),
                    )
                    .await
                    .map_err(|e| open_error(target, e))?;
                migrations
                    .sqlite
                    .run(&write)
                    .await
                    .map_err(|e| Error::Unavailable(format!("migrating {target}: {e}")))?;
                let read = SqlitePoolOptions::new()
                    .max_connections(options.max_connections)
                    .acquire_timeout(options.acquire_timeout)
                    .connect_with(base.clone().read_only(true))
                    .await
                    .map_err(|e| open_error(target, e))?;
                let checkpoint = Arc::new(Checkpointer::default());
                let conn = sqlx::SqliteConnection::connect_with(&base)
                    .await
                    .map_err(|e| open_error(target, e))?;
                tokio::spawn(checkpoints(conn, checkpoint.clone()));
                let db = Db {
                    pools: Arc::new(Pools::Sqlite {
                        write,
                        read,
                        checkpoint,
                    }),
                    feed_notify: Arc::new(Notify::new()),
                    schema: Arc::from("main"),
                };
                crate::feed::ensure_schema(&db).await?;
                Ok(db)
            }
            DbTarget::Postgres { url, schema } => {
                if schema.is_empty()
                    || !schema
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c == '_' || c.is_ascii_digit())
                {
                    return Err(Error::internal(format!("bad schema name {schema:?}")));
                }
                let base = PgConnectOptions::from_str(url).map_err(|e| {
                    Error::Unavailable(format!("bad database url {}: {e}", redact_url(url)))
                })?;
                {
                    let mut conn = sqlx::PgConnection::connect_with(&base)
                        .await
                        .map_err(|e| open_error(target, e))?;
                    let ddl = format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\"");
                    // Replicas starting at once race on CREATE SCHEMA; the
                    // loser's unique violation means it exists, which is fine.
                    if let Err(e) = sqlx::query(sqlx::AssertSqlSafe(ddl))
                        .execute(&mut conn)
                        .await
                        && !is_unique_violation(&e)
                    {
                        return Err(open_error(target, e));
                    }
                    let _ = conn.close().await;
                }
                let pool = PgPoolOptions::new()
                    .max_connections(options.max_connections)
                    .acquire_timeout(options.acquire_timeout)
                    .connect_with(base.options([("search_path", schema.as_str())]))
                    .await
                    .map_err(|e| open_error(target, e))?;
                migrations
                    .postgres
                    .run(&pool)
                    .await
                    .map_err(|e| Error::Unavailable(format!("migrating {target}: {e}")))?;
                let db = Db {
                    pools: Arc::new(Pools::Postgres(pool)),
                    feed_notify: Arc::new(Notify::new()),
                    schema: Arc::from(schema.as_str()),
                };
                crate::feed::ensure_schema(&db).await?;
                Ok(db)
            }
        }
    }

    /// Which engine this is.
    pub fn backend(&self) -> Backend {
        match &*self.pools {
            Pools::Sqlite { .. } => Backend::Sqlite,
            Pools::Postgres(_) => Backend::Postgres,
        }
    }

    /// A handle for reads.
    pub fn read(&self) -> Pool<'_> {
        match &*self.pools {
            Pools::Sqlite { read, .. } => Pool::Sqlite(read),
            Pools::Postgres(p) => Pool::Postgres(p),
        }
    }

    /// A handle on the SQLite writer (for the rare statement that must not
    /// run inside a transaction, such as `VACUUM`); `None` on PostgreSQL.
    pub fn sqlite_writer(&self) -> Option<&SqlitePool> {
        match &*self.pools {
            Pools::Sqlite { write, .. } => Some(write),
            Pools::Postgres(_) => None,
        }
    }

    /// Starts a write transaction.
    pub async fn begin(&self) -> Result<Tx> {
        let inner = match &*self.pools {
            Pools::Sqlite { write, .. } => {
                TxInner::Sqlite(write.begin_with("BEGIN IMMEDIATE").await?)
            }
            Pools::Postgres(p) => TxInner::Postgres(p.begin().await?),
        };
        Ok(Tx {
            inner,
            checkpoint: match &*self.pools {
                Pools::Sqlite { checkpoint, .. } => Some(checkpoint.clone()),
                Pools::Postgres(_) => None,
            },
            feed_notify: self.feed_notify.clone(),
            wrote_events: false,
            feed_lock_key: feed_lock_key(&self.schema),
            feed_locked: false,
        })
    }

    /// Starts a read-only transaction: one consistent snapshot across its
    /// statements, without the SQLite writer (a long read does not hold up
    /// writes). SQLite: a deferred transaction on the read pool; PostgreSQL:
    /// `REPEATABLE READ READ ONLY`. Writes in it fail.
    pub async fn begin_read(&self) -> Result<Tx> {
        let inner = match &*self.pools {
            Pools::Sqlite { read, .. } => TxInner::Sqlite(read.begin().await?),
            Pools::Postgres(p) => TxInner::Postgres(
                p.begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                    .await?,
            ),
        };
        Ok(Tx {
            inner,
            checkpoint: None,
            feed_notify: self.feed_notify.clone(),
            wrote_events: false,
            feed_lock_key: feed_lock_key(&self.schema),
            feed_locked: false,
        })
    }

    /// Checks the database answers (health probes).
    pub async fn ping(&self) -> Result<()> {
        with_pool!(self.read(), |p| sqlx::query("SELECT 1")
            .execute(p)
            .await
            .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Closes every connection (graceful shutdown).
    pub async fn close(&self) {
        match &*self.pools {
            Pools::Sqlite {
                write,
                read,
                checkpoint,
            } => {
                read.close().await;
                write.close().await;
                checkpoint.stop();
            }
            Pools::Postgres(p) => p.close().await,
        }
    }

    pub(crate) fn feed_notify(&self) -> &Arc<Notify> {
        &self.feed_notify
    }
}

/// A stable per-schema key for the change-feed advisory lock, so two
/// services sharing one PostgreSQL database never wait on each other.
fn feed_lock_key(schema: &str) -> i64 {
    // FNV-1a: stable across builds and replicas.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in b"earshot-feed:".iter().chain(schema.as_bytes()) {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    i64::from_ne_bytes(h.to_ne_bytes())
}

fn open_error(target: &DbTarget, e: sqlx::Error) -> Error {
    let detail = e.to_string().replace('\n', " ");
    Error::Unavailable(format!("cannot open {target}: {detail}"))
}

/// True for a unique-constraint violation (PostgreSQL 23505, SQLite 2067/1555).
pub fn is_unique_violation(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(db) => matches!(
            db.code().as_deref(),
            Some("23505") | Some("2067") | Some("1555")
        ),
        _ => false,
    }
}
