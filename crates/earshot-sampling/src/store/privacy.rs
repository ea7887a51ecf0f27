//! Personal data: erasing one customer's and purging what outlived the
//! tenant's retention.
//!
//! Both remove the same things — an interaction's customer_ref, attributes,
//! recording and transcript references, its survey verbatims and feedback
//! text, and the same fields inside stored change-feed events — and keep
//! every fact a figure is made of (times, durations, flags, scores,
//! categories), so reporting's totals do not move. Neither publishes an
//! event: there is nothing for a consumer to recount. Each run is recorded
//! in `privacy_actions` (who, when, what was removed; never the reference).

use std::collections::HashSet;

use earshot_kit::{
    auth::Tenant,
    db::Tx,
    error::{Error, Result},
    feed::{self, StoredEvent},
    with_pool, with_tx,
};
use earshot_proto::sampling::v1 as pb;
use prost::Message as _;

use super::{Store, dialect, new_id, placeholders};

/// Rows changed by one erasure or purge, per kind, in a fixed order.
pub type Counts = Vec<(&'static str, i64)>;

/// Statement size for id lists.
const CHUNK: usize = 500;

/// What erasure and purge clear on an interaction, and the rows that still
/// hold any of it.
const CLEAR_DETAIL: &str = "UPDATE interactions SET customer_ref = '', attributes = '', \
     recording_uri = '', transcript_uri = ''";
const HAS_DETAIL: &str = "(customer_ref <> '' OR attributes <> '' OR recording_uri <> '' \
     OR transcript_uri <> '')";

/// Which interactions' personal fields an event rewrite strips.
enum Strip<'a> {
    /// Only these (an erasure).
    Ids(&'a HashSet<String>),
    /// Every interaction the event names (a retention purge of old events).
    All,
}

impl Strip<'_> {
    fn covers(&self, id: &str) -> bool {
        match self {
            Strip::Ids(ids) => ids.contains(id),
            Strip::All => true,
        }
    }
}

/// The event with personal fields removed, or `None` when nothing changes.
fn strip_event(event: &StoredEvent, strip: &Strip<'_>) -> Result<Option<Vec<u8>>> {
    let mut e = pb::Event::decode(event.payload.as_slice()).map_err(|err| {
        Error::internal(format!(
            "feed event {} does not decode: {err}",
            event.sequence
        ))
    })?;
    let mut changed = false;
    match e.payload.as_mut() {
        Some(pb::event::Payload::InteractionsUpserted(u)) => {
            for up in &mut u.upserts {
                if let Some(i) = up.interaction.as_mut()
                    && strip.covers(&i.id)
                {
                    changed |= strip_interaction(i);
                }
            }
        }
        Some(pb::event::Payload::SurveysRecorded(s)) => {
            for r in &mut s.records {
                if let Some(sv) = r.survey.as_mut()
                    && strip.covers(&sv.interaction_id)
                    && !sv.comment.is_empty()
                {
                    sv.comment.clear();
                    changed = true;
                }
            }
        }
        Some(pb::event::Payload::FeedbackRecorded(f)) => {
            for r in &mut f.records {
                if let Some(fb) = r.feedback.as_mut()
                    && strip.covers(&fb.interaction_id)
                    && !fb.text.is_empty()
                {
                    fb.text.clear();
                    changed = true;
                }
            }
        }
        _ => {}
    }
    Ok(changed.then(|| e.encode_to_vec()))
}

/// Clears an interaction message's personal fields; true when any was set.
fn strip_interaction(i: &mut pb::Interaction) -> bool {
    let had = !i.customer_ref.is_empty()
        || !i.attributes.is_empty()
        || !i.recording_uri.is_empty()
        || !i.transcript_uri.is_empty()
        || i.surveys.iter().any(|s| !s.comment.is_empty())
        || i.feedback.iter().any(|f| !f.text.is_empty());
    i.customer_ref.clear();
    i.attributes.clear();
    i.recording_uri.clear();
    i.transcript_uri.clear();
    for s in &mut i.surveys {
        s.comment.clear();
    }
    for f in &mut i.feedback {
        f.text.clear();
    }
    had
}

async fn exec(tx: &mut Tx, sql: String, tenant: &Tenant, ids: &[String]) -> Result<i64> {
    let sql = dialect(tx.backend(), sql);
    let n = with_tx!(tx, |c| {
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.clone())).bind(tenant.id());
        for id in ids {
            q = q.bind(id.as_str());
        }
        q.execute(&mut *c).await.map(|r| r.rows_affected())
    })?;
    Ok(i64::try_from(n).unwrap_or(i64::MAX))
}

async fn record_action(
    tx: &mut Tx,
    tenant: &Tenant,
    action: &str,
    by: (&str, &str),
    now: i64,
    counts: &Counts,
) -> Result<()> {
    let details = serde_json::to_string(
        &counts
            .iter()
            .map(|(k, n)| ((*k).to_owned(), *n))
            .collect::<std::collections::BTreeMap<_, _>>(),
    )
    .unwrap_or_default();
    with_tx!(tx, |c| sqlx::query(
        "INSERT INTO privacy_actions (tenant_id, id, action, actor_subject, actor_role, \
         occurred_at, details) VALUES ($1, $2, $3, $4, $5, $6, $7)"
    )
    .bind(tenant.id())
    .bind(new_id())
    .bind(action)
    .bind(by.0)
    .bind(by.1)
    .bind(now)
    .bind(details)
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

impl Store {
    /// The ids of the tenant's interactions whose stored customer_ref is one
    /// of `refs`, and the earliest time one of them was stored.
    pub async fn customer_interactions(
        &self,
        tenant: &Tenant,
        refs: &[String],
    ) -> Result<(Vec<String>, Option<i64>)> {
        let mut ids = Vec::new();
        let mut first: Option<i64> = None;
        for r in refs.iter().filter(|r| !r.is_empty()) {
            let rows: Vec<(String, i64)> = with_pool!(self.db.read(), |p| sqlx::query_as(
                "SELECT id, created_at FROM interactions \
                 WHERE tenant_id = $1 AND customer_ref = $2 AND customer_ref <> ''"
            )
            .bind(tenant.id())
            .bind(r.as_str())
            .fetch_all(p)
            .await)?;
            for (id, created) in rows {
                first = Some(first.map_or(created, |f| f.min(created)));
                ids.push(id);
            }
        }
        ids.sort();
        ids.dedup();
        Ok((ids, first))
    }

    /// Removes the personal detail of the interactions `ids` and of the feed
    /// events written since `since` that name them, in one transaction.
    pub async fn erase_interactions(
        &self,
        tenant: &Tenant,
        ids: &[String],
        since: i64,
        by: (&str, &str),
        now: i64,
    ) -> Result<Counts> {
        let mut tx = self.db.begin().await?;
        let (mut interactions, mut surveys, mut feedback) = (0, 0, 0);
        for chunk in ids.chunks(CHUNK) {
            let list = placeholders(2, chunk.len());
            interactions += exec(
                &mut tx,
                format!("{CLEAR_DETAIL} WHERE tenant_id = $1 AND id IN ({list}) AND {HAS_DETAIL}"),
                tenant,
                chunk,
            )
            .await?;
            surveys += exec(
                &mut tx,
                format!(
                    "UPDATE surveys SET comment = '' WHERE tenant_id = $1 \
                     AND interaction_id IN ({list}) AND comment <> ''"
                ),
                tenant,
                chunk,
            )
            .await?;
            feedback += exec(
                &mut tx,
                format!(
                    "UPDATE feedback SET body = '' WHERE tenant_id = $1 \
                     AND interaction_id IN ({list}) AND body <> ''"
                ),
                tenant,
                chunk,
            )
            .await?;
        }
        let set: HashSet<String> = ids.iter().cloned().collect();
        let events = if set.is_empty() {
            0
        } else {
            feed::rewrite(&mut tx, tenant, since, i64::MAX, |e| {
                strip_event(e, &Strip::Ids(&set))
            })
            .await?
        };
        let counts: Counts = vec![
            ("interactions", interactions),
            ("survey_verbatims", surveys),
            ("feedback_texts", feedback),
            ("feed_events", i64::try_from(events).unwrap_or(i64::MAX)),
        ];
        record_action(&mut tx, tenant, "erase_customer", by, now, &counts).await?;
        tx.commit().await?;
        Ok(counts)
    }

    /// Applies `retention_ms` at `now`: purges the detail of interactions
    /// that arrived before `now - retention_ms` and of feed events written
    /// before then (from where the previous purge stopped). Returns the
    /// cutoff and what changed.
    pub async fn purge_expired(
        &self,
        tenant: &Tenant,
        retention_ms: i64,
        by: (&str, &str),
        now: i64,
    ) -> Result<(i64, Counts)> {
        let cutoff = now.saturating_sub(retention_ms);
        let mut tx = self.db.begin().await?;
        let done: Option<i64> = with_tx!(tx, |c| sqlx::query_scalar(
            "SELECT purged_through FROM retention_state WHERE tenant_id = $1"
        )
        .bind(tenant.id())
        .fetch_optional(&mut *c)
        .await)?;
        let done = done.unwrap_or(i64::MIN);
        let mut counts: Counts = Vec::new();
        let interactions =
            format!("{CLEAR_DETAIL} WHERE tenant_id = $1 AND arrived_at < $2 AND {HAS_DETAIL}");
        for (kind, sql) in [
            ("interactions", interactions.as_str()),
            (
                "survey_verbatims",
                "UPDATE surveys SET comment = '' WHERE tenant_id = $1 AND comment <> '' \
                 AND interaction_id IN (SELECT id FROM interactions WHERE tenant_id = $1 \
                 AND arrived_at < $2)",
            ),
            (
                "feedback_texts",
                "UPDATE feedback SET body = '' WHERE tenant_id = $1 AND body <> '' \
                 AND interaction_id IN (SELECT id FROM interactions WHERE tenant_id = $1 \
                 AND arrived_at < $2)",
            ),
        ] {
            let n = with_tx!(tx, |c| sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(tenant.id())
                .bind(cutoff)
                .execute(&mut *c)
                .await
                .map(|r| r.rows_affected()))?;
            counts.push((kind, i64::try_from(n).unwrap_or(i64::MAX)));
        }
        let events = if cutoff > done {
            feed::rewrite(&mut tx, tenant, done, cutoff, |e| {
                strip_event(e, &Strip::All)
            })
            .await?
        } else {
            0
        };
        counts.push(("feed_events", i64::try_from(events).unwrap_or(i64::MAX)));
        with_tx!(tx, |c| sqlx::query(
            "INSERT INTO retention_state (tenant_id, purged_through) VALUES ($1, $2) \
             ON CONFLICT (tenant_id) DO UPDATE SET purged_through = excluded.purged_through"
        )
        .bind(tenant.id())
        .bind(cutoff.max(done))
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
        if counts.iter().any(|(_, n)| *n > 0) {
            record_action(&mut tx, tenant, "purge_expired", by, now, &counts).await?;
        }
        tx.commit().await?;
        Ok((cutoff, counts))
    }
}
