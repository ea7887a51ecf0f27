//! `evaluations` (current state) and `evaluation_revisions` (immutable
//! scored revisions).
//!
//! An evaluation row carries the columns that lists filter on and that the
//! access rules need, plus the whole current state as an encoded
//! `earshot.scoring.v1.Evaluation` (`body`), written together by one
//! function so they never disagree.

use earshot_kit::{Result, auth::Tenant, db::Tx, with_pool, with_tx};

use super::{Sql, Store, fetch_all_sql};

/// An evaluation as stored.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct EvaluationRow {
    /// Its id.
    pub id: String,
    /// Stored kind (`assigned`, `ad_hoc`, `mystery_shop`, `self`).
    pub kind: String,
    /// Stored state (`draft` … `resolved`).
    pub state: String,
    /// The scorecard.
    pub scorecard_id: String,
    /// The pinned version.
    pub scorecard_version: i64,
    /// The interaction (may be empty for a mystery shop).
    pub interaction_id: String,
    /// The agent evaluated.
    pub agent_id: String,
    /// The agent's team as of the interaction.
    pub team_id: String,
    /// The evaluator (revision 1's author).
    pub evaluator_id: String,
    /// The sampling assignment, or empty.
    pub assignment_id: String,
    /// The latest revision, 0 while a draft.
    pub revision: i64,
    /// The latest revision's author (who may not resolve a dispute of it).
    pub latest_revision_author: String,
    /// Release time, epoch ms.
    pub released_at: Option<i64>,
    /// Creation time, epoch ms.
    pub created_at: i64,
    /// Last change, epoch ms.
    pub updated_at: i64,
    /// Concurrency counter (the etag).
    pub version: i64,
    /// Encoded `Evaluation`, unredacted, etag empty.
    pub body: Vec<u8>,
}

/// A revision as stored.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct RevisionRow {
    /// The evaluation.
    pub evaluation_id: String,
    /// The revision number.
    pub revision: i64,
    /// Creation time, epoch ms.
    pub created_at: i64,
    /// Encoded `EvaluationRevision`, unredacted.
    pub body: Vec<u8>,
}

/// The evaluations a caller may list (a union; see
/// [`crate::access::ListScope`]).
#[derive(Debug, Clone, Default)]
pub struct Scope {
    /// Every evaluation.
    pub all: bool,
    /// Evaluations written by this evaluator.
    pub evaluator_id: Option<String>,
    /// Evaluations past DRAFT of agents in these teams.
    pub teams: Vec<String>,
    /// Released evaluations of this agent, and their own self-evaluations.
    pub agent_id: Option<String>,
}

/// Request filters; they narrow the scope, never widen it.
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// Only this stored state.
    pub state: Option<&'static str>,
    /// Only this stored kind.
    pub kind: Option<&'static str>,
    /// Only this agent.
    pub agent_id: Option<String>,
    /// Only this evaluator.
    pub evaluator_id: Option<String>,
    /// Only this team.
    pub team_id: Option<String>,
    /// Only this scorecard.
    pub scorecard_id: Option<String>,
    /// Only this interaction.
    pub interaction_id: Option<String>,
    /// Created at or after, epoch ms.
    pub created_from: Option<i64>,
    /// Created before, epoch ms.
    pub created_before: Option<i64>,
}

/// The states in which an evaluation has been released to its agent.
pub const RELEASED_STATES: [&str; 4] = ["released", "acknowledged", "disputed", "resolved"];

const EVALUATION_COLUMNS: &str = "id, kind, state, scorecard_id, scorecard_version, \
    interaction_id, agent_id, team_id, evaluator_id, assignment_id, revision, \
    latest_revision_author, released_at, created_at, updated_at, version, body";

impl Store {
    /// One evaluation.
    pub async fn evaluation(&self, t: &Tenant, id: &str) -> Result<Option<EvaluationRow>> {
        let row = with_pool!(self.db().read(), |p| {
            sqlx::query_as::<_, EvaluationRow>(
            "SELECT id, kind, state, scorecard_id, scorecard_version, interaction_id, agent_id, \
             team_id, evaluator_id, assignment_id, revision, latest_revision_author, \
             released_at, created_at, updated_at, version, body \
             FROM evaluations WHERE tenant_id = $1 AND id = $2"
        )
        .bind(t.id())
        .bind(id)
        .fetch_optional(p)
        .await
        })?;
        Ok(row)
    }

    /// Evaluations in `scope` matching `filter`, newest first, strictly
    /// older than the `before` cursor, at most `limit`.
    pub async fn evaluations(
        &self,
        t: &Tenant,
        scope: &Scope,
        filter: &Filter,
        before: Option<&(i64, String)>,
        limit: i64,
    ) -> Result<Vec<EvaluationRow>> {
        let mut sql = Sql::new("SELECT ");
        sql.push(EVALUATION_COLUMNS)
            .push(" FROM evaluations WHERE tenant_id = ")
            .text(t.id());
        if !scope.all {
            let mut parts = 0;
            sql.push(" AND (");
            if let Some(e) = &scope.evaluator_id {
                sql.push("evaluator_id = ").text(e.clone());
                parts += 1;
            }
            if !scope.teams.is_empty() {
                if parts > 0 {
                    sql.push(" OR ");
                }
                sql.push("(state <> 'draft' AND team_id IN (");
                for (i, team) in scope.teams.iter().enumerate() {
                    if i > 0 {
                        sql.push(", ");
                    }
                    sql.text(team.clone());
                }
                sql.push("))");
                parts += 1;
            }
            if let Some(a) = &scope.agent_id {
                if parts > 0 {
                    sql.push(" OR ");
                }
                sql.push("(agent_id = ")
                    .text(a.clone())
                    .push(" AND (evaluator_id = ")
                    .text(a.clone())
                    .push(" OR state IN ('released', 'acknowledged', 'disputed', 'resolved')))");
                parts += 1;
            }
            if parts == 0 {
                sql.push("1 = 0");
            }
            sql.push(")");
        }
        let eq = |sql: &mut Sql, column: &str, v: &Option<String>| {
            if let Some(v) = v {
                sql.push(" AND ").push(column).push(" = ").text(v.clone());
            }
        };
        if let Some(s) = filter.state {
            sql.push(" AND state = ").text(s);
        }
        if let Some(k) = filter.kind {
            sql.push(" AND kind = ").text(k);
        }
        eq(&mut sql, "agent_id", &filter.agent_id);
        eq(&mut sql, "evaluator_id", &filter.evaluator_id);
        eq(&mut sql, "team_id", &filter.team_id);
        eq(&mut sql, "scorecard_id", &filter.scorecard_id);
        eq(&mut sql, "interaction_id", &filter.interaction_id);
        if let Some(from) = filter.created_from {
            sql.push(" AND created_at >= ").int(from);
        }
        if let Some(to) = filter.created_before {
            sql.push(" AND created_at < ").int(to);
        }
        if let Some((at, id)) = before {
            sql.push(" AND (created_at, id) < (")
                .int(*at)
                .push(", ")
                .text(id.clone())
                .push(")");
        }
        sql.push(" ORDER BY created_at DESC, id DESC LIMIT ")
            .int(limit);
        Ok(fetch_all_sql!(self.db(), EvaluationRow, sql)?)
    }

    /// Inserts a new evaluation. A second evaluation of the same assignment
    /// is a unique violation (`evaluations_by_assignment`).
    pub async fn insert_evaluation(
        tx: &mut Tx,
        t: &Tenant,
        r: &EvaluationRow,
    ) -> std::result::Result<(), sqlx::Error> {
        with_tx!(tx, |c| sqlx::query(
            "INSERT INTO evaluations (tenant_id, id, kind, state, scorecard_id, \
             scorecard_version, interaction_id, agent_id, team_id, evaluator_id, assignment_id, \
             revision, latest_revision_author, released_at, created_at, updated_at, version, \
             body) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, \
             $16, $17, $18)"
        )
        .bind(t.id())
        .bind(&r.id)
        .bind(&r.kind)
        .bind(&r.state)
        .bind(&r.scorecard_id)
        .bind(r.scorecard_version)
        .bind(&r.interaction_id)
        .bind(&r.agent_id)
        .bind(&r.team_id)
        .bind(&r.evaluator_id)
        .bind(&r.assignment_id)
        .bind(r.revision)
        .bind(&r.latest_revision_author)
        .bind(r.released_at)
        .bind(r.created_at)
        .bind(r.updated_at)
        .bind(r.version)
        .bind(r.body.as_slice())
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Writes the mutable columns of `r` if the stored version is still
    /// `expected`; false when another write won. Identity columns (kind,
    /// scorecard, interaction, agent, team, evaluator, assignment, creation
    /// time) never change.
    pub async fn update_evaluation(
        tx: &mut Tx,
        t: &Tenant,
        r: &EvaluationRow,
        expected: i64,
    ) -> Result<bool> {
        let n = with_tx!(tx, |c| sqlx::query(
            "UPDATE evaluations SET state = $3, revision = $4, latest_revision_author = $5, \
             released_at = $6, updated_at = $7, version = $8, body = $9 \
             WHERE tenant_id = $1 AND id = $2 AND version = $10"
        )
        .bind(t.id())
        .bind(&r.id)
        .bind(&r.state)
        .bind(r.revision)
        .bind(&r.latest_revision_author)
        .bind(r.released_at)
        .bind(r.updated_at)
        .bind(r.version)
        .bind(r.body.as_slice())
        .bind(expected)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(n == 1)
    }

    /// Deletes a draft if its version is still `expected`; false otherwise.
    pub async fn delete_draft_evaluation(
        tx: &mut Tx,
        t: &Tenant,
        id: &str,
        expected: i64,
    ) -> Result<bool> {
        let n = with_tx!(tx, |c| sqlx::query(
            "DELETE FROM evaluations WHERE tenant_id = $1 AND id = $2 AND version = $3 \
             AND state = 'draft'"
        )
        .bind(t.id())
        .bind(id)
        .bind(expected)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(n == 1)
    }

    /// Inserts a revision (never updated afterwards).
    pub async fn insert_revision(tx: &mut Tx, t: &Tenant, r: &RevisionRow) -> Result<()> {
        with_tx!(tx, |c| sqlx::query(
            "INSERT INTO evaluation_revisions (tenant_id, evaluation_id, revision, created_at, \
             body) VALUES ($1, $2, $3, $4, $5)"
        )
        .bind(t.id())
        .bind(&r.evaluation_id)
        .bind(r.revision)
        .bind(r.created_at)
        .bind(r.body.as_slice())
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// An evaluation's revisions, newest first, below `before` (exclusive).
    pub async fn revisions(
        &self,
        t: &Tenant,
        evaluation_id: &str,
        before: Option<i64>,
        limit: i64,
    ) -> Result<Vec<RevisionRow>> {
        let rows = with_pool!(self.db().read(), |p| sqlx::query_as::<_, RevisionRow>(
            "SELECT evaluation_id, revision, created_at, body FROM evaluation_revisions \
             WHERE tenant_id = $1 AND evaluation_id = $2 AND revision < $3 \
             ORDER BY revision DESC LIMIT $4"
        )
        .bind(t.id())
        .bind(evaluation_id)
        .bind(before.unwrap_or(i64::MAX))
        .bind(limit)
        .fetch_all(p)
        .await)?;
        Ok(rows)
    }
}
