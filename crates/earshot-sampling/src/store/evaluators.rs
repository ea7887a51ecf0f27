//! The evaluator directory.

use earshot_kit::{
    auth::Tenant,
    error::{Error, Result},
    time::from_millis,
    with_pool, with_tx,
};
use earshot_proto::sampling::v1 as pb;
use prost::Message as _;

use super::{Store, append, day_start, event, find_request, for_update, save_request};
use crate::convert;
use crate::evaluator::Evaluator;

#[derive(Debug, Clone, sqlx::FromRow)]
struct Row {
    id: String,
    body: Vec<u8>,
    created_at: i64,
    updated_at: i64,
    revision: i64,
}

fn message(row: &Row) -> Result<pb::Evaluator> {
    let mut m = pb::Evaluator::decode(row.body.as_slice())
        .map_err(|e| Error::internal(format!("evaluator {} does not decode: {e}", row.id)))?;
    m.etag = convert::etag(row.revision);
    m.create_time = Some(from_millis(row.created_at));
    m.update_time = Some(from_millis(row.updated_at));
    Ok(m)
}

/// Parses a stored evaluator definition.
pub fn parse_stored(body: &[u8]) -> Result<Evaluator> {
    let m = pb::Evaluator::decode(body)
        .map_err(|e| Error::internal(format!("stored evaluator does not decode: {e}")))?;
    Evaluator::parse(convert::evaluator_input(&m))
        .map_err(|v| Error::internal(format!("stored evaluator {} is invalid: {v}", m.id)))
}

impl Store {
    /// Adds an evaluator.
    pub async fn create_evaluator(
        &self,
        tenant: &Tenant,
        e: &pb::Evaluator,
        request_id: &str,
        now: i64,
    ) -> Result<pb::Evaluator> {
        let parsed = Evaluator::parse(convert::evaluator_input(e))
            .map_err(|v| convert::invalid_under("evaluator", v))?;
        let mut tx = self.db.begin().await?;
        if let Some(id) = find_request(&mut tx, tenant, "evaluator", request_id).await? {
            drop(tx);
            return self
                .evaluator(tenant, &id, now)
                .await?
                .ok_or_else(|| Error::internal("evaluator of a request id is missing"));
        }
        let body = convert::evaluator_definition(e).encode_to_vec();
        let inserted = with_tx!(tx, |c| sqlx::query(
            "INSERT INTO evaluators (tenant_id, id, display_name, active, body, created_at, \
             updated_at, revision) VALUES ($1, $2, $3, $4, $5, $6, $6, 1) \
             ON CONFLICT (tenant_id, id) DO NOTHING"
        )
        .bind(tenant.id())
        .bind(parsed.id.as_str())
        .bind(parsed.display_name.as_str())
        .bind(parsed.active)
        .bind(body.as_slice())
        .bind(now)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
        if inserted == 0 {
            return Err(Error::AlreadyExists(format!(
                "evaluator {:?}",
                parsed.id.as_str()
            )));
        }
        save_request(
            &mut tx,
            tenant,
            "evaluator",
            request_id,
            parsed.id.as_str(),
            now,
        )
        .await?;
        let out = message(&Row {
            id: parsed.id.as_str().to_owned(),
            body,
            created_at: now,
            updated_at: now,
            revision: 1,
        })?;
        append(
            &mut tx,
            tenant,
            &[event(
                "evaluator.changed",
                pb::event::Payload::EvaluatorChanged(pb::EvaluatorChanged {
                    evaluator: Some(out.clone()),
                }),
                now,
            )],
        )
        .await?;
        tx.commit().await?;
        Ok(out)
    }

    /// One evaluator, with today's load.
    pub async fn evaluator(
        &self,
        tenant: &Tenant,
        id: &str,
        now: i64,
    ) -> Result<Option<pb::Evaluator>> {
        let row: Option<Row> = with_pool!(self.db.read(), |p| sqlx::query_as::<_, Row>(
            "SELECT id, body, created_at, updated_at, revision FROM evaluators \
             WHERE tenant_id = $1 AND id = $2"
        )
        .bind(tenant.id())
        .bind(id)
        .fetch_optional(p)
        .await)?;
        let Some(row) = row else {
            return Ok(None);
        };
        let mut m = message(&row)?;
        self.fill_load(tenant, std::slice::from_mut(&mut m), now)
            .await?;
        Ok(Some(m))
    }

    async fn fill_load(&self, tenant: &Tenant, list: &mut [pb::Evaluator], now: i64) -> Result<()> {
        let tz = self.settings(tenant).await?.settings.time_zone;
        let day = day_start(&tz, now);
        for m in list {
            let today: Option<i64> = with_pool!(self.db.read(), |p| sqlx::query_scalar(
                "SELECT routed FROM evaluator_days WHERE tenant_id = $1 AND evaluator_id = $2 \
                 AND day_start = $3"
            )
            .bind(tenant.id())
            .bind(m.id.as_str())
            .bind(day)
            .fetch_optional(p)
            .await)?;
            let open: i64 = with_pool!(self.db.read(), |p| sqlx::query_scalar(
                "SELECT COUNT(*) FROM assignments WHERE tenant_id = $1 AND evaluator_id = $2 \
                 AND state IN (2, 3)"
            )
            .bind(tenant.id())
            .bind(m.id.as_str())
            .fetch_one(p)
            .await)?;
            m.assigned_today = i32::try_from(today.unwrap_or(0)).unwrap_or(i32::MAX);
            m.open_assignments = i32::try_from(open).unwrap_or(i32::MAX);
        }
        Ok(())
    }

    /// A page of evaluators by display name after `(display_name, id)`.
    pub async fn list_evaluators(
        &self,
        tenant: &Tenant,
        active_only: bool,
        channel: i32,
        after: Option<(String, String)>,
        limit: u32,
        now: i64,
    ) -> Result<Vec<pb::Evaluator>> {
        let mut out = Vec::new();
        let mut cursor = after;
        // The channel filter reads the stored definition, so fetch in
        // rounds until the page is full.
        loop {
            let (name, id) = cursor.clone().unwrap_or_default();
            let rows: Vec<(String, Row)> = with_pool!(self.db.read(), |p| sqlx::query_as::<
                _,
                (String, String, Vec<u8>, i64, i64, i64),
            >(
                "SELECT display_name, id, body, created_at, updated_at, revision FROM evaluators \
                 WHERE tenant_id = $1 AND ($2 = FALSE OR active) \
                 AND (display_name > $3 OR (display_name = $3 AND id > $4)) \
                 ORDER BY display_name, id LIMIT $5"
            )
            .bind(tenant.id())
            .bind(active_only)
            .bind(name)
            .bind(id)
            .bind(i64::from(limit) + 1)
            .fetch_all(p)
            .await)?
            .into_iter()
            .map(|(n, id, body, c, u, r)| {
                (
                    n,
                    Row {
                        id,
                        body,
                        created_at: c,
                        updated_at: u,
                        revision: r,
                    },
                )
            })
            .collect();
            let fetched = rows.len();
            for (name, row) in rows {
                cursor = Some((name, row.id.clone()));
                let m = message(&row)?;
                if channel == 0 || m.channels.is_empty() || m.channels.contains(&channel) {
                    out.push(m);
                }
                if out.len() > limit as usize {
                    break;
                }
            }
            if out.len() > limit as usize || fetched <= limit as usize {
                break;
            }
        }
        let take = out.len().min(limit as usize);
        self.fill_load(tenant, &mut out[..take], now).await?;
        Ok(out)
    }

    /// Replaces an evaluator's definition; their routed assignments that
    /// they may no longer take are re-routed.
    pub async fn update_evaluator(
        &self,
        tenant: &Tenant,
        e: &pb::Evaluator,
        now: i64,
    ) -> Result<pb::Evaluator> {
        let parsed = Evaluator::parse(convert::evaluator_input(e))
            .map_err(|v| convert::invalid_under("evaluator", v))?;
        let settings = self.settings(tenant).await?.settings;
        let mut tx = self.db.begin().await?;
        let sql = format!(
            "SELECT id, body, created_at, updated_at, revision FROM evaluators \
             WHERE tenant_id = $1 AND id = $2{}",
            for_update(tx.backend())
        );
        let row: Option<Row> = with_tx!(tx, |c| sqlx::query_as::<_, Row>(sqlx::AssertSqlSafe(
            sql.clone()
        ))
        .bind(tenant.id())
        .bind(parsed.id.as_str())
        .fetch_optional(&mut *c)
        .await)?;
        let row = row.ok_or_else(|| Error::not_found(format!("evaluator {:?}", e.id)))?;
        convert::check_etag(&e.etag, row.revision, "the evaluator")?;
        let body = convert::evaluator_definition(e).encode_to_vec();
        with_tx!(tx, |c| sqlx::query(
            "UPDATE evaluators SET display_name = $3, active = $4, body = $5, updated_at = $6, \
             revision = revision + 1 WHERE tenant_id = $1 AND id = $2"
        )
        .bind(tenant.id())
        .bind(parsed.id.as_str())
        .bind(parsed.display_name.as_str())
        .bind(parsed.active)
        .bind(body.as_slice())
        .bind(now)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
        let out = message(&Row {
            id: row.id.clone(),
            body,
            created_at: row.created_at,
            updated_at: now,
            revision: row.revision + 1,
        })?;
        let mut events = vec![event(
            "evaluator.changed",
            pb::event::Payload::EvaluatorChanged(pb::EvaluatorChanged {
                evaluator: Some(out.clone()),
            }),
            now,
        )];
        let moved =
            super::assignments::reroute_unfit(&mut tx, tenant, &settings, &parsed, now).await?;
        events.extend(moved);
        append(&mut tx, tenant, &events).await?;
        tx.commit().await?;
        Ok(out)
    }
}
