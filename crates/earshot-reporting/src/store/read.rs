//! Reading many cells fast: a report reads tens of thousands of cells, and
//! the per-row cost of the generic drivers decided its time (sqlx's SQLite
//! driver hands each row from a worker thread over a channel, ~1–4 µs a
//! row; PostgreSQL's row messages cost ~2 µs each).
//!
//! - SQLite: the statement is stepped directly on the pooled connection
//!   through rusqlite (the same bundled libsqlite3 that sqlx links), while
//!   sqlx's lock on that connection is held.
//! - PostgreSQL: the rows as sqlx returns them, keys and bodies copied
//!   from the rows' own buffers.
//!
//! Both copy the rows into one [`RawCells`] buffer; decoding reads from it
//! without further allocation.

use std::ops::Range;

use earshot_kit::{Error, Result, auth::Tenant, db::Db, db::Pool};
use sqlx::Row as _;

/// The (day, key, body) rows of one read, in one buffer.
#[derive(Debug, Default)]
pub struct RawCells {
    bytes: Vec<u8>,
    rows: Vec<(i32, Range<usize>, Range<usize>)>,
}

impl RawCells {
    /// Number of rows.
    pub fn len(&self) -> usize {
        self.rows.len()
    }

    /// True when no row was read.
    pub fn is_empty(&self) -> bool {
        self.rows.is_empty()
    }

    fn reserve(&mut self, rows: usize) {
        self.rows.reserve(rows);
    }

    fn push(&mut self, day: i32, key: &[u8], body: &[u8]) {
        let k = self.bytes.len()..self.bytes.len() + key.len();
        self.bytes.extend_from_slice(key);
        let b = self.bytes.len()..self.bytes.len() + body.len();
        self.bytes.extend_from_slice(body);
        self.rows.push((day, k, b));
    }

    /// Every row as (day, key, body). Keys that are not UTF-8 are reported
    /// as corrupt.
    pub fn iter(&self) -> impl Iterator<Item = Result<(i32, &str, &[u8])>> {
        self.rows.iter().map(|(d, k, b)| {
            let key = std::str::from_utf8(&self.bytes[k.clone()])
                .map_err(|_| Error::internal("corrupt rollup key"))?;
            Ok((*d, key, &self.bytes[b.clone()]))
        })
    }
}

/// Appends the cells of one family and grain dated `lo..=hi` to `out`.
pub async fn cells(
    db: &Db,
    tenant: &Tenant,
    family: i16,
    grain: i16,
    (lo, hi): (i32, i32),
    out: &mut RawCells,
) -> Result<()> {
    match db.read() {
        Pool::Sqlite(pool) => {
            let mut conn = pool.acquire().await?;
            let mut locked = conn.lock_handle().await?;
            let handle = locked.as_raw_handle();
            blocking(|| {
                // SAFETY: `handle` is the open connection of `locked`, which
                // holds sqlx's lock on it for the whole call, so nothing else
                // uses it meanwhile. `from_handle` does not take ownership:
                // dropping `c` finalizes the statement prepared here and
                // leaves the connection open and idle (no transaction), as
                // sqlx left it.
                #[allow(unsafe_code)]
                let c = unsafe { rusqlite::Connection::from_handle(handle.as_ptr()) }
                    .map_err(Error::internal)?;
                step_sqlite(&c, tenant.id(), family, grain, (lo, hi), out).map_err(Error::internal)
            })
        }
        Pool::Postgres(pool) => {
            // Tried: one row per day with `array_agg` of keys and bodies
            // (fewer, larger rows). The aggregate cost the server more per
            // cell than the row messages cost sqlx, so rows stay rows.
            let rows = sqlx::query(
                "SELECT day, cell_key, body FROM cells
                 WHERE tenant_id = $1 AND family = $2 AND grain = $3 AND day BETWEEN $4 AND $5",
            )
            .bind(tenant.id())
            .bind(family)
            .bind(grain)
            .bind(lo)
            .bind(hi)
            .fetch_all(pool)
            .await?;
            out.reserve(rows.len());
            for row in &rows {
                let day: i32 = row.try_get(0)?;
                let key: &str = row.try_get(1)?;
                let body: &[u8] = row.try_get(2)?;
                out.push(day, key.as_bytes(), body);
            }
            Ok(())
        }
    }
}

fn step_sqlite(
    c: &rusqlite::Connection,
    tenant: &str,
    family: i16,
    grain: i16,
    (lo, hi): (i32, i32),
    out: &mut RawCells,
) -> rusqlite::Result<()> {
    let mut st = c.prepare(
        "SELECT day, cell_key, body FROM cells
         WHERE tenant_id = ?1 AND family = ?2 AND grain = ?3 AND day BETWEEN ?4 AND ?5",
    )?;
    let mut rows = st.query(rusqlite::params![tenant, family, grain, lo, hi])?;
    while let Some(row) = rows.next()? {
        let day: i32 = row.get(0)?;
        let key = row.get_ref(1)?.as_bytes()?;
        let body = row.get_ref(2)?.as_bytes()?;
        out.push(day, key, body);
    }
    Ok(())
}

/// Runs blocking work without stalling the other tasks of a multi-threaded
/// runtime (tokio moves them off this thread meanwhile); on a
/// current-thread runtime, where that is not possible, it runs inline.
fn blocking<T>(f: impl FnOnce() -> T) -> T {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current() {
        Ok(h) if h.runtime_flavor() == RuntimeFlavor::MultiThread => tokio::task::block_in_place(f),
        _ => f(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn raw_cells_keep_rows_apart() {
        let mut r = RawCells::default();
        r.push(3, b"k1", b"\x01\x02");
        r.push(-4, b"", b"");
        r.push(5, b"key\x1fx", b"\xff");
        let rows: Vec<_> = r.iter().map(|x| x.unwrap()).collect();
        assert_eq!(
            rows,
            vec![
                (3, "k1", &b"\x01\x02"[..]),
                (-4, "", &b""[..]),
                (5, "key\x1fx", &b"\xff"[..])
            ]
        );
        let mut bad = RawCells::default();
        bad.push(1, b"\xff", b"");
        assert!(bad.iter().next().unwrap().is_err());
    }
}
