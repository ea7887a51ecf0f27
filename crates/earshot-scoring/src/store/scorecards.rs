//! `scorecards` (the draft and state) and `scorecard_versions` (published,
//! immutable).

use earshot_kit::{Result, auth::Tenant, db::Tx, with_pool, with_tx};

use super::{Sql, Store, fetch_all_sql};

/// A scorecard as stored.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct ScorecardRow {
    /// Its id.
    pub id: String,
    /// `draft`, `published` or `archived`.
    pub state: String,
    /// Encoded `ScorecardDefinition`.
    pub draft: Vec<u8>,
    /// Newest published version, 0 when none.
    pub latest_version: i64,
    /// Whether the draft differs from the latest version.
    pub has_unpublished_changes: bool,
    /// Concurrency counter (the etag).
    pub version: i64,
    /// Creation time, epoch ms.
    pub created_at: i64,
    /// Last change, epoch ms.
    pub updated_at: i64,
    /// Archive time, epoch ms.
    pub archived_at: Option<i64>,
    /// Creator's subject.
    pub created_by: String,
    /// Creator's role.
    pub created_by_role: String,
    /// Last writer's subject.
    pub updated_by: String,
    /// Last writer's role.
    pub updated_by_role: String,
}

/// A published version as stored.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct VersionRow {
    /// The scorecard.
    pub scorecard_id: String,
    /// The version number.
    pub version: i64,
    /// Encoded `ScorecardDefinition` (valid).
    pub definition: Vec<u8>,
    /// Publication time, epoch ms.
    pub published_at: i64,
    /// Publisher's subject.
    pub published_by: String,
    /// Publisher's role.
    pub published_by_role: String,
    /// The publisher's note.
    pub change_note: String,
}

const SCORECARD_COLUMNS: &str = "id, state, draft, latest_version, has_unpublished_changes, \
    version, created_at, updated_at, archived_at, created_by, created_by_role, updated_by, \
    updated_by_role";

/// Which scorecards a list returns.
#[derive(Debug, Clone, Default)]
pub struct ScorecardQuery {
    /// Only these states (empty: any).
    pub states: Vec<&'static str>,
    /// Keyset cursor: rows strictly older than (created_at, id).
    pub before: Option<(i64, String)>,
    /// At most this many rows.
    pub limit: i64,
}

impl Store {
    /// One scorecard.
    pub async fn scorecard(&self, t: &Tenant, id: &str) -> Result<Option<ScorecardRow>> {
        let row = with_pool!(self.db().read(), |p| sqlx::query_as::<_, ScorecardRow>(
            "SELECT id, state, draft, latest_version, has_unpublished_changes, version, \
             created_at, updated_at, archived_at, created_by, created_by_role, updated_by, \
             updated_by_role FROM scorecards WHERE tenant_id = $1 AND id = $2"
        )
        .bind(t.id())
        .bind(id)
        .fetch_optional(p)
        .await)?;
        Ok(row)
    }

    /// Scorecards newest first.
    pub async fn scorecards(&self, t: &Tenant, q: &ScorecardQuery) -> Result<Vec<ScorecardRow>> {
        let mut sql = Sql::new("SELECT ");
        sql.push(SCORECARD_COLUMNS)
            .push(" FROM scorecards WHERE tenant_id = ")
            .text(t.id());
        if !q.states.is_empty() {
            sql.push(" AND state IN (");
            for (i, s) in q.states.iter().enumerate() {
                if i > 0 {
                    sql.push(", ");
                }
                sql.text(*s);
            }
            sql.push(")");
        }
        if let Some((at, id)) = &q.before {
            sql.push(" AND (created_at, id) < (")
                .int(*at)
                .push(", ")
                .text(id.clone())
                .push(")");
        }
        sql.push(" ORDER BY created_at DESC, id DESC LIMIT ")
            .int(q.limit);
        Ok(fetch_all_sql!(self.db(), ScorecardRow, sql)?)
    }

    /// Inserts a new scorecard.
    pub async fn insert_scorecard(tx: &mut Tx, t: &Tenant, r: &ScorecardRow) -> Result<()> {
        with_tx!(tx, |c| sqlx::query(
            "INSERT INTO scorecards (tenant_id, id, state, draft, latest_version, \
             has_unpublished_changes, version, created_at, updated_at, archived_at, created_by, \
             created_by_role, updated_by, updated_by_role) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)"
        )
        .bind(t.id())
        .bind(&r.id)
        .bind(&r.state)
        .bind(r.draft.as_slice())
        .bind(r.latest_version)
        .bind(r.has_unpublished_changes)
        .bind(r.version)
        .bind(r.created_at)
        .bind(r.updated_at)
        .bind(r.archived_at)
        .bind(&r.created_by)
        .bind(&r.created_by_role)
        .bind(&r.updated_by)
        .bind(&r.updated_by_role)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Writes `r` over the stored row if its version is still `expected`;
    /// false when another write won.
    pub async fn update_scorecard(
        tx: &mut Tx,
        t: &Tenant,
        r: &ScorecardRow,
        expected: i64,
    ) -> Result<bool> {
        let n = with_tx!(tx, |c| sqlx::query(
            "UPDATE scorecards SET state = $3, draft = $4, latest_version = $5, \
             has_unpublished_changes = $6, version = $7, updated_at = $8, archived_at = $9, \
             updated_by = $10, updated_by_role = $11 \
             WHERE tenant_id = $1 AND id = $2 AND version = $12"
        )
        .bind(t.id())
        .bind(&r.id)
        .bind(&r.state)
        .bind(r.draft.as_slice())
        .bind(r.latest_version)
        .bind(r.has_unpublished_changes)
        .bind(r.version)
        .bind(r.updated_at)
        .bind(r.archived_at)
        .bind(&r.updated_by)
        .bind(&r.updated_by_role)
        .bind(expected)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(n == 1)
    }

    /// One published version; `version` 0 means the latest.
    pub async fn scorecard_version(
        &self,
        t: &Tenant,
        scorecard_id: &str,
        version: i64,
    ) -> Result<Option<VersionRow>> {
        let row = if version == 0 {
            with_pool!(self.db().read(), |p| sqlx::query_as::<_, VersionRow>(
                "SELECT scorecard_id, version, definition, published_at, published_by, \
                 published_by_role, change_note FROM scorecard_versions \
                 WHERE tenant_id = $1 AND scorecard_id = $2 ORDER BY version DESC LIMIT 1"
            )
            .bind(t.id())
            .bind(scorecard_id)
            .fetch_optional(p)
            .await)?
        } else {
            with_pool!(self.db().read(), |p| sqlx::query_as::<_, VersionRow>(
                "SELECT scorecard_id, version, definition, published_at, published_by, \
                 published_by_role, change_note FROM scorecard_versions \
                 WHERE tenant_id = $1 AND scorecard_id = $2 AND version = $3"
            )
            .bind(t.id())
            .bind(scorecard_id)
            .bind(version)
            .fetch_optional(p)
            .await)?
        };
        Ok(row)
    }

    /// A scorecard's versions, newest first, below `before` (exclusive).
    pub async fn scorecard_versions(
        &self,
        t: &Tenant,
        scorecard_id: &str,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<VersionRow>> {
        let rows = with_pool!(self.db().read(), |p| sqlx::query_as::<_, VersionRow>(
            "SELECT scorecard_id, version, definition, published_at, published_by, \
             published_by_role, change_note FROM scorecard_versions \
             WHERE tenant_id = $1 AND scorecard_id = $2 AND version < $3 \
             ORDER BY version DESC LIMIT $4"
        )
        .bind(t.id())
        .bind(scorecard_id)
        .bind(before.unwrap_or(i64::MAX))
        .bind(limit)
        .fetch_all(p)
        .await)?;
        Ok(rows)
    }

    /// Inserts a published version (never updated afterwards).
    pub async fn insert_version(tx: &mut Tx, t: &Tenant, r: &VersionRow) -> Result<()> {
        with_tx!(tx, |c| sqlx::query(
            "INSERT INTO scorecard_versions (tenant_id, scorecard_id, version, definition, \
             published_at, published_by, published_by_role, change_note) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        )
        .bind(t.id())
        .bind(&r.scorecard_id)
        .bind(r.version)
        .bind(r.definition.as_slice())
        .bind(r.published_at)
        .bind(&r.published_by)
        .bind(&r.published_by_role)
        .bind(&r.change_note)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(())
    }
}
