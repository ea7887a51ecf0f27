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

use earshot_kit::{Error, Result, auth::Tenant, db::Db, db::Pool, with_pool};
use sqlx::Row as _;

/// The (day, key, body) rows of one read, in one buffer, each with the
/// sign of the run it was read for.
#[derive(Debug, Default)]
pub struct RawCells {
    bytes: Vec<u8>,
    rows: Vec<Stored>,
}

#[derive(Debug)]
struct Stored {
    day: i32,
    key: Range<usize>,
    body: Range<usize>,
    negative: bool,
}

/// One index range of cells to read: `grain` dated `lo..=hi`, added or
/// (`negative`) subtracted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Run {
    /// The grain's storage code.
    pub grain: i16,
    /// First day number.
    pub lo: i32,
    /// Last day number.
    pub hi: i32,
    /// Subtract these cells.
    pub negative: bool,
}

/// A row as [`RawCells::iter`] hands it out.
pub type RawRow<'a> = (i32, &'a str, &'a [u8], bool);

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

    fn push(&mut self, day: i32, key: &[u8], body: &[u8], negative: bool) {
        let k = self.bytes.len()..self.bytes.len() + key.len();
        self.bytes.extend_from_slice(key);
        let b = self.bytes.len()..self.bytes.len() + body.len();
        self.bytes.extend_from_slice(body);
        self.rows.push(Stored {
            day,
            key: k,
            body: b,
            negative,
        });
    }

    /// Every row as (day, key, body, negative). Keys that are not UTF-8 are
    /// reported as corrupt.
    pub fn iter(&self) -> impl Iterator<Item = Result<RawRow<'_>>> {
        self.rows.iter().map(|r| {
            let key = std::str::from_utf8(&self.bytes[r.key.clone()])
                .map_err(|_| Error::internal("corrupt rollup key"))?;
            Ok((r.day, key, &self.bytes[r.body.clone()], r.negative))
        })
    }
}

/// The statement reading `runs`: one `SELECT` per run joined by
/// `UNION ALL`, each an index range, and each row tagged with its run. One
/// statement is one snapshot on both engines, which a signed read needs (a
/// write landing between a month and the day subtracted from it would
/// leave a figure that never existed).
fn runs_sql(runs: usize, postgres: bool) -> String {
    let p = |n: usize| {
        if postgres {
            format!("${n}")
        } else {
            format!("?{n}")
        }
    };
    (0..runs)
        .map(|i| {
            let at = 3 + 3 * i;
            format!(
                "SELECT {i} AS run, day, cell_key, body FROM cells \
                 WHERE tenant_id = {} AND family = {} AND grain = {} AND day BETWEEN {} AND {}",
                p(1),
                p(2),
                p(at),
                p(at + 1),
                p(at + 2)
            )
        })
        .collect::<Vec<_>>()
        .join(" UNION ALL ")
}

fn run_sign(runs: &[Run], run: i32) -> Result<bool> {
    usize::try_from(run)
        .ok()
        .and_then(|i| runs.get(i))
        .map(|r| r.negative)
        .ok_or_else(|| Error::internal("cell read for an unknown run"))
}

/// Appends the cells of one family in `runs` to `out`, in one statement.
pub async fn cells(
    db: &Db,
    tenant: &Tenant,
    family: i16,
    runs: &[Run],
    out: &mut RawCells,
) -> Result<()> {
    if runs.is_empty() {
        return Ok(());
    }
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
                step_sqlite(&c, tenant.id(), family, runs, out)
            })
        }
        Pool::Postgres(pool) => {
            // Tried: one row per day with `array_agg` of keys and bodies
            // (fewer, larger rows). The aggregate cost the server more per
            // cell than the row messages cost sqlx, so rows stay rows.
            // Generated from the number of runs only; every value is bound.
            let sql = sqlx::AssertSqlSafe(runs_sql(runs.len(), true));
            let mut q = sqlx::query(sql).bind(tenant.id()).bind(family);
            for r in runs {
                q = q.bind(r.grain).bind(r.lo).bind(r.hi);
            }
            let rows = q.fetch_all(pool).await?;
            out.reserve(rows.len());
            for row in &rows {
                let run: i32 = row.try_get(0)?;
                let day: i32 = row.try_get(1)?;
                let key: &str = row.try_get(2)?;
                let body: &[u8] = row.try_get(3)?;
                out.push(day, key.as_bytes(), body, run_sign(runs, run)?);
            }
            Ok(())
        }
    }
}

fn step_sqlite(
    c: &rusqlite::Connection,
    tenant: &str,
    family: i16,
    runs: &[Run],
    out: &mut RawCells,
) -> Result<()> {
    let mut st = c
        .prepare(&runs_sql(runs.len(), false))
        .map_err(Error::internal)?;
    let mut params: Vec<Box<dyn rusqlite::ToSql>> =
        vec![Box::new(tenant.to_owned()), Box::new(family)];
    for r in runs {
        params.push(Box::new(r.grain));
        params.push(Box::new(r.lo));
        params.push(Box::new(r.hi));
    }
    let mut rows = st
        .query(rusqlite::params_from_iter(params.iter()))
        .map_err(Error::internal)?;
    while let Some(row) = rows.next().map_err(Error::internal)? {
        let (run, day, key, body) = sqlite_row(row).map_err(Error::internal)?;
        out.push(day, key, body, run_sign(runs, run)?);
    }
    Ok(())
}

/// (run, day, key, body) of a row of [`runs_sql`].
fn sqlite_row<'r>(row: &'r rusqlite::Row<'_>) -> rusqlite::Result<(i32, i32, &'r [u8], &'r [u8])> {
    Ok((
        row.get(0)?,
        row.get(1)?,
        row.get_ref(2)?.as_bytes()?,
        row.get_ref(3)?.as_bytes()?,
    ))
}

/// The first and last day with a day cell of `family`, if any: what prices
/// a signed cover (see [`crate::rollup::cover::signed_cover`]). Two index
/// probes, written as `ORDER BY … LIMIT 1`: PostgreSQL without statistics
/// on the table planned `min()`/`max()` as a scan of every day cell.
pub async fn day_span(db: &Db, tenant: &Tenant, family: i16) -> Result<Option<(i32, i32)>> {
    let sql = "SELECT (SELECT day FROM cells WHERE tenant_id = $1 AND family = $2 AND grain = 0 \
                       ORDER BY day LIMIT 1), \
                      (SELECT day FROM cells WHERE tenant_id = $1 AND family = $2 AND grain = 0 \
                       ORDER BY day DESC LIMIT 1)";
    let span: (Option<i32>, Option<i32>) = with_pool!(db.read(), |p| sqlx::query_as(sql)
        .bind(tenant.id())
        .bind(family)
        .fetch_one(p)
        .await)?;
    Ok(span.0.zip(span.1))
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
        r.push(3, b"k1", b"\x01\x02", false);
        r.push(-4, b"", b"", true);
        r.push(5, b"key\x1fx", b"\xff", false);
        let rows: Vec<_> = r.iter().map(|x| x.unwrap()).collect();
        assert_eq!(
            rows,
            vec![
                (3, "k1", &b"\x01\x02"[..], false),
                (-4, "", &b""[..], true),
                (5, "key\x1fx", &b"\xff"[..], false)
            ]
        );
        let mut bad = RawCells::default();
        bad.push(1, b"\xff", b"", false);
        assert!(bad.iter().next().unwrap().is_err());
    }
}
