//! Period close: rescan the period's interactions, top every agent up to
//! the random target and minimum ([`crate::top_up`]), once.
//!
//! The close claims the plan period's row (`closed_at` from NULL to now) in
//! the same transaction as the top-up, so with several replicas closing at
//! once exactly one does the work and the others see it closed.
//!
//! The rescan itself runs on a read snapshot before that transaction, so
//! it never holds SQLite's one writer (ingest goes on meanwhile); the
//! transaction keeps its decision only if the period's counters and the
//! picks' selections are unchanged, and otherwise decides again inside.

use std::collections::{BTreeMap, HashMap};

use earshot_kit::{
    auth::Tenant,
    db::Tx,
    error::{Error, Result},
    with_pool, with_tx,
};
use earshot_proto::sampling::v1 as pb;

use super::ingest::selection_events;
use super::interactions::in_range_tx;
use super::select::{self, AGENT_PERIOD_COLUMNS, AgentPeriodRow, Env, Pick, save_agent_periods};
use super::{Store, append, event, for_update, placeholders};
use crate::calendar::Period;
use crate::convert;
use crate::draw::draw;
use crate::eligibility::{self, EligibilityContext};
use crate::interaction::Interaction;
use crate::plan::Plan;
use crate::quota::EffectiveQuota;
use crate::selection::Reason;
use crate::settings::Settings;
use crate::stratification::{self, StratumKey};
use crate::top_up::{self, PoolItem, PoolState};

/// What a close did.
#[derive(Debug, Clone)]
pub struct Closed {
    /// The result (also for a period closed before).
    pub result: pb::PeriodClosed,
    /// The top-up selections made now.
    pub selections: Vec<pb::Selection>,
}

impl Store {
    /// Closes the plan period containing `period_time`.
    pub async fn close_period(
        &self,
        tenant: &Tenant,
        plan_id: &str,
        period_time: i64,
        force: bool,
        now: i64,
    ) -> Result<Closed> {
        self.close_period_racing(tenant, plan_id, period_time, force, now, async {})
            .await
    }

    /// [`Store::close_period`], running `meanwhile` between deciding on the
    /// read snapshot and the write transaction: how tests put a concurrent
    /// change exactly there.
    #[doc(hidden)]
    pub async fn close_period_racing(
        &self,
        tenant: &Tenant,
        plan_id: &str,
        period_time: i64,
        force: bool,
        now: i64,
        meanwhile: impl std::future::Future<Output = ()>,
    ) -> Result<Closed> {
        let plan = self
            .plan(tenant, plan_id)
            .await?
            .ok_or_else(|| Error::not_found(format!("plan {plan_id:?}")))?;
        if plan.archived {
            return Err(Error::FailedPrecondition(
                "the plan is archived; its periods are not closed".into(),
            ));
        }
        let settings = self.settings(tenant).await?.settings;
        let tz = settings.time_zone;
        let period = tz
            .period(plan.spec.period, period_time)
            .ok_or_else(|| Error::invalid("period_time", "is out of range"))?;
        if period.end_ms > now && !force {
            return Err(Error::FailedPrecondition(
                "the period has not ended yet; set force to close it now".into(),
            ));
        }
        let range = convert::time_range(period.start_ms, period.end_ms);
        // The close is decided on a read snapshot first, without the
        // writer: rescanning a week of a busy tenant takes seconds, and on
        // SQLite a write transaction would hold up every ingest meanwhile.
        // The write transaction then claims the period and keeps the
        // decision only if nothing it rests on changed since (see
        // `Decision::holds`); otherwise it decides again inside.
        let early = if self
            .period_is_open(tenant, plan_id, period.start_ms)
            .await?
        {
            let mut read = self.db.begin_read().await?;
            let d = decide(&mut read, tenant, &plan, &settings, period, false).await;
            let _ = read.rollback().await;
            Some(d?)
        } else {
            None
        };
        meanwhile.await;
        let mut tx = self.db.begin().await?;
        select::plan_periods(&mut tx, tenant, plan_id, &[period]).await?;
        let claimed = with_tx!(tx, |c| sqlx::query(
            "UPDATE plan_periods SET closed_at = $4, close_version = $5 \
             WHERE tenant_id = $1 AND plan_id = $2 AND period_start = $3 AND closed_at IS NULL"
        )
        .bind(tenant.id())
        .bind(plan_id)
        .bind(period.start_ms)
        .bind(now)
        .bind(i64::from(plan.version))
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
        if claimed == 0 {
            let (version, top_ups, below): (Option<i64>, i64, i64) = with_tx!(tx, |c| {
                sqlx::query_as::<_, (Option<i64>, i64, i64)>(
                    "SELECT close_version, top_up_selections, agents_below_min FROM plan_periods \
                     WHERE tenant_id = $1 AND plan_id = $2 AND period_start = $3",
                )
                .bind(tenant.id())
                .bind(plan_id)
                .bind(period.start_ms)
                .fetch_one(&mut *c)
                .await
            })?;
            return Ok(Closed {
                result: pb::PeriodClosed {
                    plan_id: plan_id.to_owned(),
                    plan_version: i32::try_from(version.unwrap_or(0)).unwrap_or(0),
                    period: Some(range),
                    top_up_selections: i32::try_from(top_ups).unwrap_or(i32::MAX),
                    agents_below_min: i32::try_from(below).unwrap_or(i32::MAX),
                },
                selections: Vec::new(),
            });
        }
        let decision = match early {
            Some(d) if d.holds(&mut tx, tenant, plan_id).await? => d,
            _ => decide(&mut tx, tenant, &plan, &settings, period, true).await?,
        };
        let picks: Vec<Pick<'_>> = decision
            .picks
            .iter()
            .map(|p| Pick {
                interaction: &p.interaction,
                plan: Some(&plan),
                period: Some(period),
                reason: Reason::TopUp,
                rule_kind: 0,
                stratum: p.stratum.clone(),
                u: draw(plan.seed, p.interaction.id.as_str()),
                new_hire: p.new_hire,
                matched: Vec::new(),
                by: None,
                route_to: None,
                due_ms: None,
            })
            .collect();
        let rows: Vec<&AgentPeriodRow> = decision.changed.iter().collect();
        save_agent_periods(&mut tx, tenant, plan_id, &rows).await?;
        let env = Env {
            tenant,
            settings: &settings,
            now,
        };
        let made = select::write_picks(&mut tx, &env, &picks).await?;
        let top_ups = i64::try_from(made.selections.len()).unwrap_or(i64::MAX);
        with_tx!(tx, |c| sqlx::query(
            "UPDATE plan_periods SET top_up_selections = $4, agents_below_min = $5 \
             WHERE tenant_id = $1 AND plan_id = $2 AND period_start = $3"
        )
        .bind(tenant.id())
        .bind(plan_id)
        .bind(period.start_ms)
        .bind(top_ups)
        .bind(decision.below)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
        let result = pb::PeriodClosed {
            plan_id: plan_id.to_owned(),
            plan_version: i32::try_from(plan.version).unwrap_or(0),
            period: Some(range),
            top_up_selections: i32::try_from(top_ups).unwrap_or(i32::MAX),
            agents_below_min: i32::try_from(decision.below).unwrap_or(i32::MAX),
        };
        let selections = made.selections.clone();
        let mut events = Vec::new();
        selection_events(&mut events, made, now);
        events.push(event(
            "period.closed",
            pb::event::Payload::PeriodClosed(result.clone()),
            now,
        ));
        append(&mut tx, tenant, &events).await?;
        tx.commit().await?;
        Ok(Closed { result, selections })
    }

    /// True while the plan period is not closed (also when it has no row
    /// yet), as the read pool sees it.
    async fn period_is_open(&self, tenant: &Tenant, plan_id: &str, start: i64) -> Result<bool> {
        let closed: Option<Option<i64>> =
            with_pool!(self.db.read(), |p| sqlx::query_scalar::<_, Option<i64>>(
                "SELECT closed_at FROM plan_periods \
                 WHERE tenant_id = $1 AND plan_id = $2 AND period_start = $3"
            )
            .bind(tenant.id())
            .bind(plan_id)
            .bind(start)
            .fetch_optional(p)
            .await)?;
        Ok(closed.flatten().is_none())
    }

    /// Closes every ended period of the tenant's active plans whose close
    /// delay has passed. Returns how many it closed.
    pub async fn close_due_periods(&self, tenant: &Tenant, now: i64) -> Result<usize> {
        let settings = self.settings(tenant).await?.settings;
        let cutoff = now.saturating_sub(settings.period_close_delay_ms);
        let due: Vec<(String, i64)> =
            with_pool!(self.db.read(), |p| sqlx::query_as::<_, (String, i64)>(
                "SELECT pp.plan_id, pp.period_start FROM plan_periods pp JOIN plans p \
             ON p.tenant_id = pp.tenant_id AND p.id = pp.plan_id \
             WHERE pp.tenant_id = $1 AND pp.closed_at IS NULL AND pp.period_end <= $2 \
             AND p.state = 1 ORDER BY pp.period_start, pp.plan_id"
            )
            .bind(tenant.id())
            .bind(cutoff)
            .fetch_all(p)
            .await)?;
        let mut closed = 0;
        for (plan_id, start) in due {
            let started = std::time::Instant::now();
            let outcome = self.close_period(tenant, &plan_id, start, false, now).await;
            super::phases::add(super::phases::Phase::Close, started);
            match outcome {
                Ok(c) if !c.selections.is_empty() || c.result.top_up_selections == 0 => closed += 1,
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(tenant = %tenant, plan = %plan_id, error = %e, "period close failed");
                }
            }
        }
        Ok(closed)
    }
}

/// One interaction the close selects.
struct Picked {
    interaction: Interaction,
    stratum: String,
    new_hire: bool,
}

/// What a close does, and what it was decided on.
struct Decision {
    /// The period's `agent_periods` rows as read (by agent).
    rows_read: Vec<AgentPeriodRow>,
    /// The selections of the picked interactions as read (any plan).
    picked_selections: Vec<(String, String, i64)>,
    picks: Vec<Picked>,
    /// The rows whose top-up count changed, as they are to be saved.
    changed: Vec<AgentPeriodRow>,
    /// Agents below the minimum after the close.
    below: i64,
}

impl Decision {
    /// True if a decision made on an earlier snapshot is the one `tx`
    /// would make. Whatever ingest does to an agent's pool in the period
    /// (a new eligible interaction, a selection) changes its
    /// `agent_periods` row; a selection by another plan or by hand that
    /// changes a pick shows in the picks' selections. Both are compared
    /// (on PostgreSQL the rows are locked until commit). Other changes,
    /// such as an update to an interaction's facts, commute with the
    /// close: the outcome is the one of the update arriving just after it.
    async fn holds(&self, tx: &mut Tx, tenant: &Tenant, plan_id: &str) -> Result<bool> {
        let Some(start) = self.rows_read.first().map(|r| r.period_start) else {
            // Nothing was recorded for the period when it was read: decide
            // again (cheap, and it sees any row written since).
            return Ok(false);
        };
        if period_rows(tx, tenant, plan_id, start, true).await? != self.rows_read {
            return Ok(false);
        }
        let ids: Vec<&str> = self
            .picks
            .iter()
            .map(|p| p.interaction.id.as_str())
            .collect();
        Ok(selections_of(tx, tenant, &ids).await? == self.picked_selections)
    }
}

/// Every `agent_periods` row of a plan period, by agent; with `lock`, locked
/// (PostgreSQL) until the transaction ends.
async fn period_rows(
    tx: &mut Tx,
    tenant: &Tenant,
    plan_id: &str,
    start: i64,
    lock: bool,
) -> Result<Vec<AgentPeriodRow>> {
    let sql = format!(
        "SELECT {AGENT_PERIOD_COLUMNS} FROM agent_periods WHERE tenant_id = $1 AND plan_id = $2 \
         AND period_start = $3 ORDER BY agent_id{}",
        if lock { for_update(tx.backend()) } else { "" }
    );
    let rows = with_tx!(tx, |c| sqlx::query_as::<_, AgentPeriodRow>(
        sqlx::AssertSqlSafe(sql.clone())
    )
    .bind(tenant.id())
    .bind(plan_id)
    .bind(start)
    .fetch_all(&mut *c)
    .await)?;
    Ok(rows)
}

/// The selections (interaction, plan, reason) of `ids`, in order.
async fn selections_of(
    tx: &mut Tx,
    tenant: &Tenant,
    ids: &[&str],
) -> Result<Vec<(String, String, i64)>> {
    let mut out = Vec::new();
    for chunk in ids.chunks(1000) {
        let sql = format!(
            "SELECT interaction_id, plan_id, reason FROM selections WHERE tenant_id = $1 \
             AND interaction_id IN ({})",
            placeholders(2, chunk.len())
        );
        let rows: Vec<(String, String, i64)> = with_tx!(tx, |c| {
            let mut q =
                sqlx::query_as::<_, (String, String, i64)>(sqlx::AssertSqlSafe(sql.clone()))
                    .bind(tenant.id());
            for id in chunk {
                q = q.bind(*id);
            }
            q.fetch_all(&mut *c).await
        })?;
        out.extend(rows);
    }
    out.sort();
    Ok(out)
}

/// Rescans the plan period in `tx` and decides its close: every agent
/// topped up to the random target and minimum ([`crate::top_up`]). With
/// `lock`, the period's counters are locked (a write transaction).
async fn decide(
    tx: &mut Tx,
    tenant: &Tenant,
    plan: &Plan,
    settings: &Settings,
    period: Period,
    lock: bool,
) -> Result<Decision> {
    let plan_id = plan.id.as_str();
    let tz = &settings.time_zone;
    let stored = in_range_tx(tx, tenant, period.start_ms, period.end_ms).await?;
    let ids: Vec<&str> = stored.iter().map(|s| s.interaction.id.as_str()).collect();
    let mut selected: HashMap<String, Vec<(String, i64)>> = HashMap::new();
    for (i, p, r) in selections_of(tx, tenant, &ids).await? {
        selected.entry(i).or_default().push((p, r));
    }
    let mut pools: BTreeMap<String, Vec<PoolItem<usize>>> = BTreeMap::new();
    for (n, s) in stored.iter().enumerate() {
        let i = &s.interaction;
        let mine = selected
            .get(i.id.as_str())
            .and_then(|v| v.iter().find(|(p, _)| p == plan_id));
        let others = selected
            .get(i.id.as_str())
            .is_some_and(|v| v.iter().any(|(p, _)| p != plan_id));
        let ctx = EligibilityContext {
            time_zone: tz,
            business_hours: &settings.business_hours,
            already_selected: others,
        };
        if mine.is_none() && eligibility::check(&plan.spec, i, &ctx).is_err() {
            continue;
        }
        let Some(agent) = &i.agent else { continue };
        let state = match mine {
            None => PoolState::Unselected,
            Some((_, 4)) => PoolState::Targeted,
            Some(_) => PoolState::Random,
        };
        let stratum = plan
            .spec
            .stratification
            .as_ref()
            .map_or_else(StratumKey::none, |st| stratification::stratum_of(st, i, tz));
        pools
            .entry(agent.as_str().to_owned())
            .or_default()
            .push(PoolItem {
                key: n,
                u: draw(plan.seed, i.id.as_str()),
                stratum,
                state,
            });
    }
    let rows_read = period_rows(tx, tenant, plan_id, period.start_ms, lock).await?;
    let mut aps: HashMap<&str, &AgentPeriodRow> =
        rows_read.iter().map(|r| (r.agent_id.as_str(), r)).collect();
    let allocation = plan.spec.stratification.as_ref().map(|s| s.allocation);
    let mut picks = Vec::new();
    let mut changed = Vec::new();
    let mut below = 0i64;
    // Pools are by agent, so `changed` is in agent order.
    for (agent, pool) in &pools {
        let mut ap = aps
            .remove(agent.as_str())
            .cloned()
            .unwrap_or_else(|| AgentPeriodRow {
                agent_id: agent.clone(),
                period_start: period.start_ms,
                period_end: period.end_ms,
                expected_volume: pool.len() as f64,
                threshold: 0.0,
                expected_random: 0,
                multiplier: 1.0,
                agent_p95_ms: None,
                strata_expected: String::new(),
                strata_counts: String::new(),
                eligible: i64::try_from(pool.len()).unwrap_or(i64::MAX),
                random: 0,
                top_up: 0,
                targeted: 0,
                team_id: String::new(),
                latest_arrival: i64::MIN,
            });
        let quota: EffectiveQuota = ap.quota(plan);
        let close = top_up::top_up(pool, &quota, allocation);
        // Below the minimum itself (not only below min(min, volume)): the
        // agent had too little volume to meet it.
        if close.total_after < quota.min {
            below += 1;
        }
        if close.picks.is_empty() {
            continue;
        }
        ap.top_up += i64::try_from(close.picks.len()).unwrap_or(0);
        changed.push(ap);
        for (n, stratum) in close.picks {
            let Some(s) = stored.get(n) else { continue };
            picks.push(Picked {
                interaction: s.interaction.clone(),
                stratum: stratum.as_str().to_owned(),
                new_hire: quota.new_hire(),
            });
        }
    }
    let mut picked_selections: Vec<(String, String, i64)> = picks
        .iter()
        .flat_map(|p| {
            let id = p.interaction.id.as_str();
            selected
                .get(id)
                .into_iter()
                .flatten()
                .map(move |(plan, reason)| (id.to_owned(), plan.clone(), *reason))
        })
        .collect();
    picked_selections.sort();
    Ok(Decision {
        rows_read,
        picked_selections,
        picks,
        changed,
        below,
    })
}
