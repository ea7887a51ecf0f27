//! `audit_entries`: one row per state change, written in the change's own
//! transaction and never edited.

use earshot_kit::{Result, auth::Tenant, db::Tx, with_tx};

use super::{Sql, Store, fetch_all_sql};

/// An audit entry as stored.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct AuditRow {
    /// Its id (UUIDv7: time-ordered).
    pub id: String,
    /// When, epoch ms.
    pub occurred_at: i64,
    /// Who.
    pub actor_subject: String,
    /// In which role.
    pub actor_role: String,
    /// What (the `AuditAction` value name without its prefix, lower case).
    pub action: String,
    /// `scorecard`, `evaluation` or `settings`.
    pub resource_type: String,
    /// The resource id; empty for settings.
    pub resource_id: String,
    /// Scorecard version or evaluation revision concerned; 0 when none.
    pub revision: i64,
    /// State before, or empty.
    pub from_state: String,
    /// State after, or empty.
    pub to_state: String,
    /// A JSON object of short strings.
    pub details: String,
}

/// Which audit entries a list returns.
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    /// Only this resource type.
    pub resource_type: Option<String>,
    /// Only this resource id.
    pub resource_id: Option<String>,
    /// Only this actor.
    pub actor_subject: Option<String>,
    /// Only this action.
    pub action: Option<String>,
    /// At or after, epoch ms.
    pub from: Option<i64>,
    /// Before, epoch ms.
    pub to: Option<i64>,
    /// Keyset cursor: entries strictly older than (occurred_at, id).
    pub before: Option<(i64, String)>,
    /// At most this many.
    pub limit: i64,
}

impl Store {
    /// Appends an audit entry.
    pub async fn insert_audit(tx: &mut Tx, t: &Tenant, a: &AuditRow) -> Result<()> {
        with_tx!(tx, |c| sqlx::query(
            "INSERT INTO audit_entries (tenant_id, id, occurred_at, actor_subject, actor_role, \
             action, resource_type, resource_id, revision, from_state, to_state, details) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)"
        )
        .bind(t.id())
        .bind(&a.id)
        .bind(a.occurred_at)
        .bind(&a.actor_subject)
        .bind(&a.actor_role)
        .bind(&a.action)
        .bind(&a.resource_type)
        .bind(&a.resource_id)
        .bind(a.revision)
        .bind(&a.from_state)
        .bind(&a.to_state)
        .bind(&a.details)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(())
    }

    /// Audit entries newest first.
    pub async fn audit_entries(&self, t: &Tenant, q: &AuditQuery) -> Result<Vec<AuditRow>> {
        let mut sql = Sql::new(
            "SELECT id, occurred_at, actor_subject, actor_role, action, resource_type, \
             resource_id, revision, from_state, to_state, details FROM audit_entries \
             WHERE tenant_id = ",
        );
        sql.text(t.id());
        if let Some(v) = &q.resource_type {
            sql.push(" AND resource_type = ").text(v.clone());
        }
        if let Some(v) = &q.resource_id {
            sql.push(" AND resource_id = ").text(v.clone());
        }
        if let Some(v) = &q.actor_subject {
            sql.push(" AND actor_subject = ").text(v.clone());
        }
        if let Some(v) = &q.action {
            sql.push(" AND action = ").text(v.clone());
        }
        if let Some(v) = q.from {
            sql.push(" AND occurred_at >= ").int(v);
        }
        if let Some(v) = q.to {
            sql.push(" AND occurred_at < ").int(v);
        }
        if let Some((at, id)) = &q.before {
            sql.push(" AND (occurred_at, id) < (")
                .int(*at)
                .push(", ")
                .text(id.clone())
                .push(")");
        }
        sql.push(" ORDER BY occurred_at DESC, id DESC LIMIT ")
            .int(q.limit);
        Ok(fetch_all_sql!(self.db(), AuditRow, sql)?)
    }
}
