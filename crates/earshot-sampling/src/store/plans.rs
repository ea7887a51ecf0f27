//! Sampling plans and their versions.

use std::sync::Arc;

use earshot_kit::{
    auth::Tenant,
    db::Tx,
    error::{Error, Result},
    time::from_millis,
    with_pool, with_tx,
};
use earshot_proto::sampling::v1 as pb;
use prost::Message as _;

use super::{Store, append, event, find_request, for_update, new_id, placeholders, save_request};
use crate::convert;
use crate::ids::PlanId;
use crate::plan::{Plan, PlanChangeError, PlanSpec, PlanState};

#[derive(Debug, Clone, sqlx::FromRow)]
struct PlanRow {
    id: String,
    version: i64,
    #[allow(dead_code)]
    state: i64,
    seed: i64,
    created_at: i64,
    created_by: String,
    created_role: String,
    archived_at: Option<i64>,
    revision: i64,
}

#[derive(Debug, Clone, sqlx::FromRow)]
struct VersionRow {
    body: Vec<u8>,
    created_at: i64,
    created_by: String,
    created_role: String,
}

const PLAN_COLUMNS: &str =
    "id, version, state, seed, created_at, created_by, created_role, archived_at, revision";

fn seed_u64(s: i64) -> u64 {
    u64::from_ne_bytes(s.to_ne_bytes())
}

fn seed_i64(s: u64) -> i64 {
    i64::from_ne_bytes(s.to_ne_bytes())
}

fn version_u32(v: i64) -> u32 {
    u32::try_from(v).unwrap_or(0)
}

fn parse_body(id: &str, version: u32, seed: u64, body: &[u8]) -> Result<Plan> {
    let m = pb::SamplingPlan::decode(body)
        .map_err(|e| Error::internal(format!("plan {id} v{version} does not decode: {e}")))?;
    let spec = PlanSpec::parse(&convert::plan_input(&m))
        .map_err(|v| Error::internal(format!("stored plan {id} v{version} is invalid: {v}")))?;
    let id = PlanId::parse(id).map_err(|e| Error::internal(format!("plan id: {e}")))?;
    Ok(Plan {
        id,
        version,
        seed,
        archived: false,
        spec,
    })
}

fn message(row: &PlanRow, v: &VersionRow) -> Result<pb::SamplingPlan> {
    let mut m = pb::SamplingPlan::decode(v.body.as_slice())
        .map_err(|e| Error::internal(format!("plan {} does not decode: {e}", row.id)))?;
    m.id = row.id.clone();
    m.version = i32::try_from(row.version).unwrap_or(0);
    if row.archived_at.is_some() {
        m.state = pb::PlanState::Archived as i32;
    } else if m.state == 0 {
        m.state = pb::PlanState::Active as i32;
    }
    m.seed = seed_u64(row.seed);
    m.etag = convert::etag(row.revision);
    m.create_time = Some(from_millis(row.created_at));
    m.update_time = Some(from_millis(v.created_at));
    m.archive_time = row.archived_at.map(from_millis);
    m.created_by = convert::actor(&row.created_by, &row.created_role);
    m.updated_by = convert::actor(&v.created_by, &v.created_role);
    Ok(m)
}

/// A fresh random seed (never 0).
fn fresh_seed() -> u64 {
    uuid::Uuid::new_v4().as_u64_pair().0.max(1)
}

impl Store {
    /// The plans that select now, in creation order, parsed (cached by
    /// version).
    pub async fn active_plans(&self, tenant: &Tenant) -> Result<Vec<Arc<Plan>>> {
        let rows: Vec<(String, i64, i64)> =
            with_pool!(self.db.read(), |p| sqlx::query_as::<_, (String, i64, i64)>(
                "SELECT id, version, seed FROM plans WHERE tenant_id = $1 AND state = 1 \
             ORDER BY created_at, id"
            )
            .bind(tenant.id())
            .fetch_all(p)
            .await)?;
        let mut out = Vec::with_capacity(rows.len());
        for (id, version, seed) in rows {
            out.push(
                self.plan_version(tenant, &id, version_u32(version), seed)
                    .await?,
            );
        }
        Ok(out)
    }

    /// Every plan of the tenant (archived too), latest versions, in
    /// creation order.
    pub async fn all_plans(&self, tenant: &Tenant) -> Result<Vec<Arc<Plan>>> {
        let ids: Vec<String> = with_pool!(self.db.read(), |p| sqlx::query_scalar::<_, String>(
            "SELECT id FROM plans WHERE tenant_id = $1 ORDER BY created_at, id"
        )
        .bind(tenant.id())
        .fetch_all(p)
        .await)?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(p) = self.plan(tenant, &id).await? {
                out.push(p);
            }
        }
        Ok(out)
    }

    async fn plan_version(
        &self,
        tenant: &Tenant,
        id: &str,
        version: u32,
        seed: i64,
    ) -> Result<Arc<Plan>> {
        if let Some(p) = self.cached_plan(tenant, id, version) {
            return Ok(p);
        }
        let body: Option<Vec<u8>> = with_pool!(self.db.read(), |p| {
            sqlx::query_scalar(
            "SELECT body FROM plan_versions WHERE tenant_id = $1 AND plan_id = $2 AND version = $3"
        )
        .bind(tenant.id())
        .bind(id)
        .bind(i64::from(version))
        .fetch_optional(p)
        .await
        })?;
        let body =
            body.ok_or_else(|| Error::internal(format!("plan {id} v{version} is missing")))?;
        let plan = Arc::new(parse_body(id, version, seed_u64(seed), &body)?);
        self.cache_plan(tenant, plan.clone());
        Ok(plan)
    }

    /// A plan (its latest version, or `version`) parsed, with whether it is
    /// archived.
    pub async fn plan(&self, tenant: &Tenant, id: &str) -> Result<Option<Arc<Plan>>> {
        let row: Option<PlanRow> = with_pool!(self.db.read(), |p| sqlx::query_as::<_, PlanRow>(
            sqlx::AssertSqlSafe(format!(
                "SELECT {PLAN_COLUMNS} FROM plans WHERE tenant_id = $1 AND id = $2"
            ))
        )
        .bind(tenant.id())
        .bind(id)
        .fetch_optional(p)
        .await)?;
        let Some(row) = row else {
            return Ok(None);
        };
        let plan = self
            .plan_version(tenant, id, version_u32(row.version), row.seed)
            .await?;
        if row.archived_at.is_some() {
            return Ok(Some(Arc::new(plan.archive())));
        }
        Ok(Some(plan))
    }

    /// The contract's message for a plan version (0 for the latest).
    pub async fn plan_message(
        &self,
        tenant: &Tenant,
        id: &str,
        version: i64,
    ) -> Result<Option<pb::SamplingPlan>> {
        let row: Option<PlanRow> = with_pool!(self.db.read(), |p| sqlx::query_as::<_, PlanRow>(
            sqlx::AssertSqlSafe(format!(
                "SELECT {PLAN_COLUMNS} FROM plans WHERE tenant_id = $1 AND id = $2"
            ))
        )
        .bind(tenant.id())
        .bind(id)
        .fetch_optional(p)
        .await)?;
        let Some(mut row) = row else {
            return Ok(None);
        };
        let version = if version == 0 { row.version } else { version };
        let v: Option<VersionRow> =
            with_pool!(self.db.read(), |p| sqlx::query_as::<_, VersionRow>(
                "SELECT body, created_at, created_by, created_role FROM plan_versions \
             WHERE tenant_id = $1 AND plan_id = $2 AND version = $3"
            )
            .bind(tenant.id())
            .bind(id)
            .bind(version)
            .fetch_optional(p)
            .await)?;
        let Some(v) = v else {
            return Ok(None);
        };
        row.version = version;
        message(&row, &v).map(Some)
    }

    /// Creates a plan (version 1), idempotent on `request_id`.
    pub async fn create_plan(
        &self,
        tenant: &Tenant,
        plan: &pb::SamplingPlan,
        request_id: &str,
        by: (&str, &str),
        now: i64,
    ) -> Result<pb::SamplingPlan> {
        let spec = PlanSpec::parse(&convert::plan_input(plan))
            .map_err(|v| convert::invalid_under("plan", v))?;
        let mut tx = self.db.begin().await?;
        if let Some(id) = find_request(&mut tx, tenant, "plan", request_id).await? {
            drop(tx);
            return self
                .plan_message(tenant, &id, 0)
                .await?
                .ok_or_else(|| Error::internal("plan of a request id is missing"));
        }
        let id = new_id();
        let seed = if plan.seed != 0 {
            plan.seed
        } else {
            fresh_seed()
        };
        let mut definition = convert::plan_definition(plan);
        definition.state = spec.state.code();
        let body = definition.encode_to_vec();
        with_tx!(tx, |c| sqlx::query(
            "INSERT INTO plans (tenant_id, id, version, state, seed, display_name, created_at, \
             created_by, created_role, archived_at, revision) \
             VALUES ($1, $2, 1, $3, $4, $5, $6, $7, $8, NULL, 1)"
        )
        .bind(tenant.id())
        .bind(id.as_str())
        .bind(i64::from(spec.state.code()))
        .bind(seed_i64(seed))
        .bind(spec.display_name.as_str())
        .bind(now)
        .bind(by.0)
        .bind(by.1)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
        insert_version(&mut tx, tenant, &id, 1, &body, by, now).await?;
        save_request(&mut tx, tenant, "plan", request_id, &id, now).await?;
        let row = PlanRow {
            id: id.clone(),
            version: 1,
            state: i64::from(spec.state.code()),
            seed: seed_i64(seed),
            created_at: now,
            created_by: by.0.to_owned(),
            created_role: by.1.to_owned(),
            archived_at: None,
            revision: 1,
        };
        let out = message(
            &row,
            &VersionRow {
                body,
                created_at: now,
                created_by: by.0.to_owned(),
                created_role: by.1.to_owned(),
            },
        )?;
        append(
            &mut tx,
            tenant,
            &[event(
                "plan.changed",
                pb::event::Payload::PlanChanged(pb::PlanChanged {
                    plan: Some(out.clone()),
                }),
                now,
            )],
        )
        .await?;
        tx.commit().await?;
        Ok(out)
    }

    /// Replaces a plan's definition with a new version.
    pub async fn update_plan(
        &self,
        tenant: &Tenant,
        plan: &pb::SamplingPlan,
        by: (&str, &str),
        now: i64,
    ) -> Result<pb::SamplingPlan> {
        if plan.id.is_empty() {
            return Err(Error::invalid("plan.id", "is required"));
        }
        let spec = PlanSpec::parse(&convert::plan_input(plan))
            .map_err(|v| convert::invalid_under("plan", v))?;
        let mut tx = self.db.begin().await?;
        let row = lock_plan(&mut tx, tenant, &plan.id).await?;
        convert::check_etag(&plan.etag, row.revision, "the plan")?;
        let current = Plan {
            id: PlanId::parse(row.id.clone()).map_err(Error::internal)?,
            version: version_u32(row.version),
            seed: seed_u64(row.seed),
            archived: row.archived_at.is_some(),
            spec: spec.clone(),
        };
        let next = current
            .revise(spec.clone(), plan.seed)
            .map_err(|e| match e {
                PlanChangeError::Archived => {
                    Error::FailedPrecondition("the plan is archived and cannot change".into())
                }
                PlanChangeError::SeedChanged { .. } => Error::invalid("plan.seed", e.to_string()),
            })?;
        let mut definition = convert::plan_definition(plan);
        definition.state = spec.state.code();
        let body = definition.encode_to_vec();
        let version = i64::from(next.version);
        insert_version(&mut tx, tenant, &row.id, version, &body, by, now).await?;
        with_tx!(tx, |c| sqlx::query(
            "UPDATE plans SET version = $3, state = $4, display_name = $5, revision = revision + 1 \
             WHERE tenant_id = $1 AND id = $2"
        )
        .bind(tenant.id())
        .bind(row.id.as_str())
        .bind(version)
        .bind(i64::from(spec.state.code()))
        .bind(spec.display_name.as_str())
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
        let new_row = PlanRow {
            version,
            state: i64::from(spec.state.code()),
            revision: row.revision + 1,
            ..row
        };
        let out = message(
            &new_row,
            &VersionRow {
                body,
                created_at: now,
                created_by: by.0.to_owned(),
                created_role: by.1.to_owned(),
            },
        )?;
        append(
            &mut tx,
            tenant,
            &[event(
                "plan.changed",
                pb::event::Payload::PlanChanged(pb::PlanChanged {
                    plan: Some(out.clone()),
                }),
                now,
            )],
        )
        .await?;
        tx.commit().await?;
        Ok(out)
    }

    /// Archives a plan (idempotent).
    pub async fn archive_plan(
        &self,
        tenant: &Tenant,
        id: &str,
        etag: &str,
        now: i64,
    ) -> Result<pb::SamplingPlan> {
        let mut tx = self.db.begin().await?;
        let row = lock_plan(&mut tx, tenant, id).await?;
        if row.archived_at.is_some() {
            drop(tx);
            return self
                .plan_message(tenant, id, 0)
                .await?
                .ok_or_else(|| Error::not_found(format!("plan {id:?}")));
        }
        convert::check_etag(etag, row.revision, "the plan")?;
        with_tx!(tx, |c| sqlx::query(
            "UPDATE plans SET state = 3, archived_at = $3, revision = revision + 1 \
             WHERE tenant_id = $1 AND id = $2"
        )
        .bind(tenant.id())
        .bind(id)
        .bind(now)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
        let v: VersionRow = with_tx!(tx, |c| sqlx::query_as::<_, VersionRow>(
            "SELECT body, created_at, created_by, created_role FROM plan_versions \
             WHERE tenant_id = $1 AND plan_id = $2 AND version = $3"
        )
        .bind(tenant.id())
        .bind(id)
        .bind(row.version)
        .fetch_one(&mut *c)
        .await)?;
        let out = message(
            &PlanRow {
                state: 3,
                archived_at: Some(now),
                revision: row.revision + 1,
                ..row
            },
            &v,
        )?;
        append(
            &mut tx,
            tenant,
            &[event(
                "plan.changed",
                pb::event::Payload::PlanChanged(pb::PlanChanged {
                    plan: Some(out.clone()),
                }),
                now,
            )],
        )
        .await?;
        tx.commit().await?;
        Ok(out)
    }

    /// A page of plans' latest versions by display name, after the cursor
    /// `(display_name, id)`.
    pub async fn list_plans(
        &self,
        tenant: &Tenant,
        states: &[i64],
        after: Option<(String, String)>,
        limit: u32,
    ) -> Result<Vec<pb::SamplingPlan>> {
        let mut sql = format!(
            "SELECT p.id, p.version, p.state, p.seed, p.created_at, p.created_by, p.created_role, \
             p.archived_at, p.revision, p.display_name, v.body, v.created_at AS v_created_at, \
             v.created_by AS v_created_by, v.created_role AS v_created_role \
             FROM plans p JOIN plan_versions v ON v.tenant_id = p.tenant_id AND v.plan_id = p.id \
             AND v.version = p.version WHERE p.tenant_id = $1 AND p.state IN ({})",
            placeholders(2, states.len())
        );
        let mut n = 2 + states.len();
        if after.is_some() {
            sql.push_str(&format!(
                " AND (p.display_name > ${n} OR (p.display_name = ${n} AND p.id > ${}))",
                n + 1
            ));
            n += 2;
        }
        sql.push_str(&format!(" ORDER BY p.display_name, p.id LIMIT ${n}"));
        #[derive(sqlx::FromRow)]
        struct Joined {
            id: String,
            version: i64,
            state: i64,
            seed: i64,
            created_at: i64,
            created_by: String,
            created_role: String,
            archived_at: Option<i64>,
            revision: i64,
            #[allow(dead_code)]
            display_name: String,
            body: Vec<u8>,
            v_created_at: i64,
            v_created_by: String,
            v_created_role: String,
        }
        let rows: Vec<Joined> = with_pool!(self.db.read(), |p| {
            let mut q =
                sqlx::query_as::<_, Joined>(sqlx::AssertSqlSafe(sql.clone())).bind(tenant.id());
            for s in states {
                q = q.bind(*s);
            }
            if let Some((name, id)) = &after {
                q = q.bind(name.clone()).bind(id.clone());
            }
            q.bind(i64::from(limit) + 1).fetch_all(p).await
        })?;
        rows.into_iter()
            .map(|j| {
                message(
                    &PlanRow {
                        id: j.id,
                        version: j.version,
                        state: j.state,
                        seed: j.seed,
                        created_at: j.created_at,
                        created_by: j.created_by,
                        created_role: j.created_role,
                        archived_at: j.archived_at,
                        revision: j.revision,
                    },
                    &VersionRow {
                        body: j.body,
                        created_at: j.v_created_at,
                        created_by: j.v_created_by,
                        created_role: j.v_created_role,
                    },
                )
            })
            .collect()
    }
}

async fn lock_plan(tx: &mut Tx, tenant: &Tenant, id: &str) -> Result<PlanRow> {
    let sql = format!(
        "SELECT {PLAN_COLUMNS} FROM plans WHERE tenant_id = $1 AND id = $2{}",
        for_update(tx.backend())
    );
    let row: Option<PlanRow> = with_tx!(tx, |c| sqlx::query_as::<_, PlanRow>(
        sqlx::AssertSqlSafe(sql.clone())
    )
    .bind(tenant.id())
    .bind(id)
    .fetch_optional(&mut *c)
    .await)?;
    row.ok_or_else(|| Error::not_found(format!("plan {id:?}")))
}

async fn insert_version(
    tx: &mut Tx,
    tenant: &Tenant,
    id: &str,
    version: i64,
    body: &[u8],
    by: (&str, &str),
    now: i64,
) -> Result<()> {
    with_tx!(tx, |c| sqlx::query(
        "INSERT INTO plan_versions (tenant_id, plan_id, version, body, created_at, created_by, \
         created_role) VALUES ($1, $2, $3, $4, $5, $6, $7)"
    )
    .bind(tenant.id())
    .bind(id)
    .bind(version)
    .bind(body)
    .bind(now)
    .bind(by.0)
    .bind(by.1)
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    Ok(())
}

/// The state codes a `ListPlans` request means.
pub fn list_states(states: &[i32]) -> Vec<i64> {
    if states.is_empty() {
        vec![
            i64::from(PlanState::Active.code()),
            i64::from(PlanState::Paused.code()),
        ]
    } else {
        states.iter().map(|s| i64::from(*s)).collect()
    }
}
