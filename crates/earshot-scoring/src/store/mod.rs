//! Scoring's SQL: the only code that touches its tables.
//!
//! One query text serves SQLite and PostgreSQL (`docs/storage.md`): `$N`
//! placeholders, TEXT ids, BIGINT epoch milliseconds, BOOLEAN, and encoded
//! protobuf messages in BLOB/BYTEA columns. Every method takes the caller's
//! [`Tenant`](earshot_kit::auth::Tenant) and binds it first; every key and index leads with
//! `tenant_id`.
//!
//! Writes happen inside a [`Tx`](earshot_kit::db::Tx) the service opens, so a state change, its
//! audit entry and its change-feed event commit together. Optimistic
//! concurrency is a compare-and-set on each row's `version` (the etag):
//! an `UPDATE … WHERE version = $expected` that touches no row lost a race,
//! and the caller answers `ABORTED`.
//!
//! | file | tables |
//! |---|---|
//! | [`scorecards`] | `scorecards`, `scorecard_versions` |
//! | [`evaluations`] | `evaluations`, `evaluation_revisions` |
//! | [`audit`] | `audit_entries` |
//! | [`settings`] | `settings` |
//! | [`requests`] | `requests` (idempotency keys) |

pub mod audit;
pub mod erasure;
pub mod evaluations;
pub mod requests;
pub mod scorecards;
pub mod settings;

use earshot_kit::db::Db;

/// Scoring's tables on one database.
#[derive(Debug, Clone)]
pub struct Store {
    db: Db,
}

impl Store {
    /// The store on `db` (migrated by the kit).
    pub fn new(db: Db) -> Self {
        Self { db }
    }

    /// The database, for opening write transactions and serving the feed.
    pub fn db(&self) -> &Db {
        &self.db
    }
}

/// A bound value of a query assembled at run time.
#[derive(Debug, Clone)]
pub(crate) enum Arg {
    Text(String),
    Int(i64),
}

/// A query assembled at run time (list filters), with numbered
/// placeholders so one text serves both engines.
#[derive(Debug, Default)]
pub(crate) struct Sql {
    pub(crate) text: String,
    pub(crate) args: Vec<Arg>,
}

impl Sql {
    pub(crate) fn new(text: &str) -> Self {
        Self {
            text: text.to_owned(),
            args: Vec::new(),
        }
    }

    /// Appends SQL text.
    pub(crate) fn push(&mut self, s: &str) -> &mut Self {
        self.text.push_str(s);
        self
    }

    /// Binds a value and appends its placeholder.
    pub(crate) fn bind(&mut self, a: Arg) -> &mut Self {
        self.args.push(a);
        let n = self.args.len();
        self.text.push('$');
        self.text.push_str(&n.to_string());
        self
    }

    pub(crate) fn text(&mut self, s: impl Into<String>) -> &mut Self {
        self.bind(Arg::Text(s.into()))
    }

    pub(crate) fn int(&mut self, i: i64) -> &mut Self {
        self.bind(Arg::Int(i))
    }
}

/// Fetches every row of an assembled query as `R`, on either engine.
macro_rules! fetch_all_sql {
    ($db:expr, $row:ty, $sql:expr) => {{
        let sql: &$crate::store::Sql = &$sql;
        earshot_kit::with_pool!($db.read(), |p| {
            let mut q = sqlx::query_as::<_, $row>(sqlx::AssertSqlSafe(sql.text.clone()));
            for a in &sql.args {
                q = match a {
                    $crate::store::Arg::Text(s) => q.bind(s.clone()),
                    $crate::store::Arg::Int(i) => q.bind(*i),
                };
            }
            q.fetch_all(p).await
        })
    }};
}
pub(crate) use fetch_all_sql;
