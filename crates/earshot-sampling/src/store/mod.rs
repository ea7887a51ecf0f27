//! The sampling service's SQL: one query text for SQLite and PostgreSQL
//! (see `docs/storage.md`), except where the engines truly differ — bulk
//! loads (`COPY` on PostgreSQL, multi-row `INSERT` on SQLite) and row locks
//! (`FOR UPDATE` on PostgreSQL; SQLite has a single writer) — which say so
//! where they are.
//!
//! # Layout
//!
//! * [`rows`] — table rows and their mapping to the core's types.
//! * [`interactions`] — reads of interactions and the bulk write paths.
//! * [`ingest`] — one ingest batch in one transaction: classify, write,
//!   repeat contacts, selection, events.
//! * [`select`] — applying the active plans to interactions (on arrival and
//!   on late facts): agent periods, thresholds, decisions, selections,
//!   assignments and routing. Shared by ingest, late facts and close.
//! * [`late_facts`] — surveys, feedback, reported repeat contacts.
//! * [`plans`], [`evaluators`], [`assignments`], [`close`], [`coverage`],
//!   [`settings`] — the rest, one module per resource.
//!
//! Every method takes the caller's [`Tenant`]; every query binds it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use earshot_kit::{
    auth::Tenant,
    db::{Backend, Db, Tx},
    error::{Error, Result},
    feed::{self, NewEvent},
    privacy::CustomerRefHasher,
    with_pool, with_tx,
};
use earshot_proto::sampling::v1 as pb;
use prost::Message as _;

use crate::plan::Plan;

pub mod assignments;
pub mod close;
pub mod coverage;
pub mod evaluators;
pub mod ingest;
pub mod interactions;
pub mod late_facts;
pub mod manual;
pub mod phases;
pub mod plans;
pub mod privacy;
pub mod rows;
pub mod select;
pub mod settings;

/// The sampling store: the database and a cache of parsed plan versions
/// (immutable once written, so caching them is safe on any replica).
#[derive(Debug, Clone)]
pub struct Store {
    db: Db,
    plan_cache: Arc<Mutex<PlanCache>>,
    hasher: Option<Arc<CustomerRefHasher>>,
}

/// Parsed plan versions by (tenant, plan id, version).
type PlanCache = HashMap<(String, String, u32), Arc<Plan>>;

/// Most parsed plan versions kept in memory.
const PLAN_CACHE_MAX: usize = 2048;

impl Store {
    /// A store over a migrated database.
    pub fn new(db: Db) -> Self {
        Store {
            db,
            plan_cache: Arc::new(Mutex::new(HashMap::new())),
            hasher: None,
        }
    }

    /// The store, storing customer references as keyed hashes.
    pub fn with_hasher(mut self, hasher: Option<CustomerRefHasher>) -> Self {
        self.hasher = hasher.map(Arc::new);
        self
    }

    /// How customer references are stored: hashed with this, or as sent.
    pub fn hasher(&self) -> Option<&CustomerRefHasher> {
        self.hasher.as_deref()
    }

    /// The database.
    pub fn db(&self) -> &Db {
        &self.db
    }

    fn cached_plan(&self, tenant: &Tenant, id: &str, version: u32) -> Option<Arc<Plan>> {
        let cache = self.plan_cache.lock().ok()?;
        cache
            .get(&(tenant.id().to_owned(), id.to_owned(), version))
            .cloned()
    }

    fn cache_plan(&self, tenant: &Tenant, plan: Arc<Plan>) {
        if let Ok(mut cache) = self.plan_cache.lock() {
            if cache.len() >= PLAN_CACHE_MAX {
                cache.clear();
            }
            cache.insert(
                (
                    tenant.id().to_owned(),
                    plan.id.as_str().to_owned(),
                    plan.version,
                ),
                plan,
            );
        }
    }
}

/// A new server-assigned id: a UUIDv7, time-ordered so that inserts append.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// The start of the tenant's local day containing `now`.
pub fn day_start(tz: &crate::calendar::TimeZone, now: i64) -> i64 {
    tz.period(crate::calendar::PeriodKind::Day, now)
        .map_or(now, |p| p.start_ms)
}

/// The change-feed event for `payload`, encoded.
pub fn event(kind: &'static str, payload: pb::event::Payload, at_ms: i64) -> NewEvent {
    let e = pb::Event {
        sequence: 0,
        tenant_id: String::new(),
        occurred_time: None,
        payload: Some(payload),
    };
    NewEvent {
        event_type: kind,
        payload: e.encode_to_vec(),
        occurred_at: at_ms,
    }
}

/// Appends events to the feed (last statements of a transaction).
pub async fn append(tx: &mut Tx, tenant: &Tenant, events: &[NewEvent]) -> Result<()> {
    feed::append(tx, tenant, events).await
}

/// `$first, $first+1, … $first+n-1` as a comma-separated placeholder list.
pub fn placeholders(first: usize, n: usize) -> String {
    let mut s = String::with_capacity(n * 5);
    for k in 0..n {
        if k > 0 {
            s.push_str(", ");
        }
        s.push('$');
        s.push_str(&(first + k).to_string());
    }
    s
}

/// The statement for `backend`. On SQLite, a statement whose placeholders
/// are exactly `$1, $2, … $n` in textual order gets anonymous `?`
/// placeholders instead: binding a *named* parameter costs SQLite a linear
/// search of the statement's parameter names (`sqlite3_bind_parameter_name`,
/// which sqlx calls for every parameter), so a multi-row `INSERT` with
/// thousands of `$N` parameters binds in quadratic time, while anonymous
/// ones bind in linear time. Multi-row statements are therefore written with
/// each placeholder once, in order. Anything else is left as it is.
pub fn dialect(backend: Backend, sql: String) -> String {
    if backend == Backend::Postgres {
        return sql;
    }
    let bytes = sql.as_bytes();
    let mut out = String::with_capacity(sql.len());
    let mut expected = 1usize;
    let mut last = 0usize;
    let mut i = 0usize;
    while i < bytes.len() {
        if bytes.get(i) == Some(&b'$') && bytes.get(i + 1).is_some_and(u8::is_ascii_digit) {
            let mut j = i + 1;
            while bytes.get(j).is_some_and(u8::is_ascii_digit) {
                j += 1;
            }
            let n: usize = sql.get(i + 1..j).and_then(|d| d.parse().ok()).unwrap_or(0);
            if n != expected {
                return sql;
            }
            expected += 1;
            out.push_str(sql.get(last..i).unwrap_or_default());
            out.push('?');
            last = j;
            i = j;
        } else {
            i += 1;
        }
    }
    out.push_str(sql.get(last..).unwrap_or_default());
    out
}

/// ` FOR UPDATE` on PostgreSQL (where several replicas may write the same
/// counters at once), nothing on SQLite (one writer, `BEGIN IMMEDIATE`).
pub fn for_update(backend: Backend) -> &'static str {
    match backend {
        Backend::Postgres => " FOR UPDATE",
        Backend::Sqlite => "",
    }
}

/// Looks up an idempotency key inside a transaction.
pub async fn find_request(
    tx: &mut Tx,
    tenant: &Tenant,
    kind: &str,
    request_id: &str,
) -> Result<Option<String>> {
    if request_id.is_empty() {
        return Ok(None);
    }
    let found: Option<String> = with_tx!(tx, |c| {
        sqlx::query_scalar(
        "SELECT resource_id FROM request_ids WHERE tenant_id = $1 AND kind = $2 AND request_id = $3"
    )
    .bind(tenant.id())
    .bind(kind)
    .bind(request_id)
    .fetch_optional(&mut *c)
    .await
    })?;
    Ok(found)
}

/// Records an idempotency key inside a transaction.
pub async fn save_request(
    tx: &mut Tx,
    tenant: &Tenant,
    kind: &str,
    request_id: &str,
    resource_id: &str,
    now: i64,
) -> Result<()> {
    if request_id.is_empty() {
        return Ok(());
    }
    with_tx!(tx, |c| sqlx::query(
        "INSERT INTO request_ids (tenant_id, kind, request_id, resource_id, created_at) \
         VALUES ($1, $2, $3, $4, $5)"
    )
    .bind(tenant.id())
    .bind(kind)
    .bind(request_id)
    .bind(resource_id)
    .bind(now)
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// Checks an idempotency key's length.
pub fn check_request_id(request_id: &str) -> Result<()> {
    if request_id.chars().count() > 200 {
        return Err(Error::invalid(
            "request_id",
            "must be at most 200 characters",
        ));
    }
    Ok(())
}

/// The tenants that may have anything to maintain (plans, evaluators,
/// settings), for the background tasks. The ids come from this service's own
/// tables, never from a request, which is what [`Tenant::trusted`] is for.
pub async fn tenants(db: &Db) -> Result<Vec<Tenant>> {
    let ids: Vec<String> = with_pool!(db.read(), |p| sqlx::query_scalar(
        "SELECT tenant_id FROM plans UNION SELECT tenant_id FROM evaluators \
         UNION SELECT tenant_id FROM settings"
    )
    .fetch_all(p)
    .await)?;
    Ok(ids.into_iter().map(Tenant::trusted).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_gets_anonymous_placeholders_only_when_in_order() {
        assert_eq!(
            dialect(Backend::Sqlite, "VALUES ($1, $2), ($3, $4)".into()),
            "VALUES (?, ?), (?, ?)"
        );
        assert_eq!(
            dialect(Backend::Sqlite, "a = $2 AND b = $1".into()),
            "a = $2 AND b = $1"
        );
        assert_eq!(
            dialect(Backend::Sqlite, "x = $1 OR y = $1".into()),
            "x = $1 OR y = $1"
        );
        assert_eq!(dialect(Backend::Postgres, "x = $1".into()), "x = $1");
        assert_eq!(dialect(Backend::Sqlite, "no params".into()), "no params");
    }
}
