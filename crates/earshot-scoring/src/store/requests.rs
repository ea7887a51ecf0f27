//! `requests`: the idempotency keys of creating calls.
//!
//! A creating call claims its `(operation, request_id)` as the first write
//! of its transaction. The claim fails when the key exists — a retry, or a
//! concurrent twin on PostgreSQL, whose insert waits for the first
//! transaction and then finds the key — and the caller answers with what the
//! first call created. A key reused for a different request (another
//! fingerprint) is refused.

use earshot_kit::{Result, auth::Tenant, db::Tx, with_pool, with_tx};

use super::Store;

/// A claimed idempotency key.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct RequestRow {
    /// A fingerprint of the request's content.
    pub fingerprint: i64,
    /// What it created (a scorecard or evaluation id).
    pub resource_id: String,
    /// More about what it created (a version number, a comment id), or empty.
    pub detail: String,
}

/// A creating operation, the namespace of its request ids.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Operation {
    /// CreateScorecard and ImportScorecard.
    CreateScorecard,
    /// PublishScorecard.
    PublishScorecard,
    /// CreateEvaluation.
    CreateEvaluation,
    /// AddCoachingComment.
    AddCoachingComment,
}

impl Operation {
    fn as_str(self) -> &'static str {
        match self {
            Self::CreateScorecard => "create_scorecard",
            Self::PublishScorecard => "publish_scorecard",
            Self::CreateEvaluation => "create_evaluation",
            Self::AddCoachingComment => "add_coaching_comment",
        }
    }
}

/// A 64-bit fingerprint as stored (the bits of the `u64`).
pub fn stored_fingerprint(f: u64) -> i64 {
    i64::from_ne_bytes(f.to_ne_bytes())
}

impl Store {
    /// The key, if claimed.
    pub async fn request(
        &self,
        t: &Tenant,
        op: Operation,
        request_id: &str,
    ) -> Result<Option<RequestRow>> {
        let row = with_pool!(self.db().read(), |p| sqlx::query_as::<_, RequestRow>(
            "SELECT fingerprint, resource_id, detail FROM requests \
             WHERE tenant_id = $1 AND operation = $2 AND request_id = $3"
        )
        .bind(t.id())
        .bind(op.as_str())
        .bind(request_id)
        .fetch_optional(p)
        .await)?;
        Ok(row)
    }

    /// Claims the key for what this call creates; false when it was
    /// already claimed (nothing written).
    #[allow(clippy::too_many_arguments)]
    pub async fn claim_request(
        tx: &mut Tx,
        t: &Tenant,
        op: Operation,
        request_id: &str,
        fingerprint: u64,
        resource_id: &str,
        detail: &str,
        now: i64,
    ) -> Result<bool> {
        let n = with_tx!(tx, |c| sqlx::query(
            "INSERT INTO requests (tenant_id, operation, request_id, fingerprint, resource_id, \
             detail, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (tenant_id, operation, request_id) DO NOTHING"
        )
        .bind(t.id())
        .bind(op.as_str())
        .bind(request_id)
        .bind(stored_fingerprint(fingerprint))
        .bind(resource_id)
        .bind(detail)
        .bind(now)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(n == 1)
    }

    /// Forgets the keys that created `resource_id` (a deleted draft), so a
    /// retry creates afresh rather than pointing at nothing.
    pub async fn forget_requests(
        tx: &mut Tx,
        t: &Tenant,
        op: Operation,
        resource_id: &str,
    ) -> Result<()> {
        with_tx!(tx, |c| sqlx::query(
            "DELETE FROM requests WHERE tenant_id = $1 AND operation = $2 AND resource_id = $3"
        )
        .bind(t.id())
        .bind(op.as_str())
        .bind(resource_id)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
        Ok(())
    }
}
