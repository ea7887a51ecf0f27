//! Erasing the free text on evaluations of given interactions: the
//! evaluator's comments, dispute reasons and resolutions, coaching and
//! acknowledgement comments, in the current state and in every revision.
//!
//! Revisions are otherwise immutable; erasure of personal data is the one
//! exception, and it only blanks text: answers, scores and states stay, so
//! every figure is unchanged. The change feed needs no rewrite: its events
//! carry scores and results, never comments. Audit entries record the
//! erasure (resource `evaluation`, action `evaluation_text_erased`).

use earshot_kit::{Result, auth::Tenant, error::Error, with_tx};
use earshot_proto::scoring::v1 as pb;
use prost::Message as _;

use super::Store;

/// Rows changed per kind, in a fixed order.
pub type Counts = Vec<(&'static str, i64)>;

/// Blanks the free text of an evaluation; true when any was set.
pub fn strip_evaluation(e: &mut pb::Evaluation) -> bool {
    let mut changed = strip_answers(&mut e.answers);
    changed |= take(&mut e.overall_comment);
    changed |= take(&mut e.acknowledgement_comment);
    if let Some(d) = e.dispute.as_mut() {
        changed |= take(&mut d.reason);
        changed |= take(&mut d.resolution_comment);
        for q in &mut d.questions {
            changed |= take(&mut q.reason);
        }
    }
    for c in &mut e.coaching_comments {
        changed |= take(&mut c.text);
    }
    changed
}

/// Blanks the free text of a revision; true when any was set.
pub fn strip_revision(r: &mut pb::EvaluationRevision) -> bool {
    let mut changed = strip_answers(&mut r.answers);
    changed |= take(&mut r.overall_comment);
    changed |= take(&mut r.reason);
    changed
}

fn strip_answers(answers: &mut [earshot_proto::common::v1::Answer]) -> bool {
    let mut changed = false;
    for a in answers {
        changed |= take(&mut a.comment);
    }
    changed
}

fn take(s: &mut String) -> bool {
    let had = !s.is_empty();
    s.clear();
    had
}

impl Store {
    /// Erases the free text on the tenant's evaluations of `interaction_ids`
    /// in one transaction, recording one audit entry per changed evaluation.
    pub async fn erase_interaction_text(
        &self,
        t: &Tenant,
        interaction_ids: &[String],
        by: (&str, &str),
        now: i64,
    ) -> Result<Counts> {
        let mut tx = self.db.begin().await?;
        let (mut evaluations, mut revisions) = (0i64, 0i64);
        for interaction in interaction_ids {
            let rows: Vec<(String, Vec<u8>)> = with_tx!(tx, |c| sqlx::query_as(
                "SELECT id, body FROM evaluations WHERE tenant_id = $1 AND interaction_id = $2"
            )
            .bind(t.id())
            .bind(interaction.as_str())
            .fetch_all(&mut *c)
            .await)?;
            for (id, body) in rows {
                let mut e = pb::Evaluation::decode(body.as_slice()).map_err(|err| {
                    Error::internal(format!("stored evaluation {id} does not decode: {err}"))
                })?;
                let mut changed = false;
                if strip_evaluation(&mut e) {
                    // A new version: an editor holding the old etag must
                    // reload rather than write the erased text back.
                    with_tx!(tx, |c| sqlx::query(
                        "UPDATE evaluations SET body = $1, version = version + 1 \
                         WHERE tenant_id = $2 AND id = $3"
                    )
                    .bind(e.encode_to_vec())
                    .bind(t.id())
                    .bind(id.as_str())
                    .execute(&mut *c)
                    .await
                    .map(|r| r.rows_affected()))?;
                    evaluations += 1;
                    changed = true;
                }
                let revs: Vec<(i64, Vec<u8>)> = with_tx!(tx, |c| sqlx::query_as(
                    "SELECT revision, body FROM evaluation_revisions \
                     WHERE tenant_id = $1 AND evaluation_id = $2"
                )
                .bind(t.id())
                .bind(id.as_str())
                .fetch_all(&mut *c)
                .await)?;
                for (revision, body) in revs {
                    let mut r = pb::EvaluationRevision::decode(body.as_slice()).map_err(|err| {
                        Error::internal(format!(
                            "stored revision {revision} of {id} does not decode: {err}"
                        ))
                    })?;
                    if strip_revision(&mut r) {
                        with_tx!(tx, |c| sqlx::query(
                            "UPDATE evaluation_revisions SET body = $1 \
                             WHERE tenant_id = $2 AND evaluation_id = $3 AND revision = $4"
                        )
                        .bind(r.encode_to_vec())
                        .bind(t.id())
                        .bind(id.as_str())
                        .bind(revision)
                        .execute(&mut *c)
                        .await
                        .map(|r| r.rows_affected()))?;
                        revisions += 1;
                        changed = true;
                    }
                }
                if changed {
                    Store::insert_audit(
                        &mut tx,
                        t,
                        &super::audit::AuditRow {
                            id: uuid::Uuid::now_v7().to_string(),
                            occurred_at: now,
                            actor_subject: by.0.to_owned(),
                            actor_role: by.1.to_owned(),
                            action: "evaluation_text_erased".to_owned(),
                            resource_type: "evaluation".to_owned(),
                            resource_id: id.clone(),
                            revision: i64::from(e.revision),
                            from_state: String::new(),
                            to_state: String::new(),
                            details: "{}".to_owned(),
                        },
                    )
                    .await?;
                }
            }
        }
        tx.commit().await?;
        Ok(vec![
            ("evaluations", evaluations),
            ("evaluation_revisions", revisions),
        ])
    }
}
