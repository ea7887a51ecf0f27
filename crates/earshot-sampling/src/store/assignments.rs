//! Assignments: reads, the claim queue, and every lifecycle transition.
//!
//! Transitions load the row (locked with `FOR UPDATE` on PostgreSQL; SQLite
//! has one writer), apply the core's pure transition
//! ([`crate::assignment`]), and write it back guarded by the row's revision,
//! with its change-feed event in the same transaction. `ClaimNextAssignment`
//! reads candidates with `FOR UPDATE SKIP LOCKED` on PostgreSQL, so
//! concurrent claimers never wait on, or get, the same row.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use earshot_kit::{
    auth::Tenant,
    db::{Backend, Tx},
    error::{Error, Result},
    feed::NewEvent,
    with_pool, with_tx,
};
use earshot_proto::sampling::v1 as pb;

use super::interactions::Arg;
use super::rows::{ASSIGNMENT_COLUMNS, AssignmentRow};
use super::select::{Env, Routing, bump_evaluator_days, load_routing};
use super::{Store, append, event, for_update, placeholders};
use crate::assignment::{Assignment, AssignmentError, Change, State};
use crate::evaluator::Evaluator;
use crate::ids::{AgentId, EvaluationId, EvaluatorId, LanguageTag, TeamId};
use crate::interaction::Channel;
use crate::plan::EvaluatorPool;
use crate::routing::WorkItem;
use crate::settings::Settings;

fn skip_locked(backend: Backend) -> &'static str {
    match backend {
        Backend::Postgres => " FOR UPDATE SKIP LOCKED",
        Backend::Sqlite => "",
    }
}

/// Maps a refused transition to the contract's errors.
pub fn transition_error(e: AssignmentError) -> Error {
    match e {
        AssignmentError::NotYours => {
            Error::FailedPrecondition("the assignment is held by another evaluator".into())
        }
        other => Error::FailedPrecondition(other.to_string()),
    }
}

/// The owned parts of a routing item.
struct ItemParts {
    agent: Option<AgentId>,
    team: Option<TeamId>,
    channel: Channel,
    language: Option<LanguageTag>,
    pool: EvaluatorPool,
}

impl ItemParts {
    fn of(row: &AssignmentRow) -> ItemParts {
        ItemParts {
            agent: AgentId::parse(row.agent_id.clone()).ok(),
            team: TeamId::parse(row.team_id.clone()).ok(),
            channel: i32::try_from(row.channel)
                .ok()
                .and_then(Channel::from_code)
                .unwrap_or(Channel::Voice),
            language: LanguageTag::parse(row.language.clone()).ok(),
            pool: match row.pool {
                2 => EvaluatorPool::Internal,
                3 => EvaluatorPool::External,
                _ => EvaluatorPool::Any,
            },
        }
    }

    fn item<'a>(&'a self, key: &'a str) -> Option<WorkItem<'a>> {
        Some(WorkItem {
            key,
            agent: self.agent.as_ref()?,
            team: self.team.as_ref(),
            channel: self.channel,
            language: self.language.as_ref(),
            pool: self.pool,
        })
    }
}

async fn lock(tx: &mut Tx, tenant: &Tenant, id: &str) -> Result<AssignmentRow> {
    let sql = format!(
        "SELECT {ASSIGNMENT_COLUMNS} FROM assignments WHERE tenant_id = $1 AND id = $2{}",
        for_update(tx.backend())
    );
    let row: Option<AssignmentRow> = with_tx!(tx, |c| sqlx::query_as::<_, AssignmentRow>(
        sqlx::AssertSqlSafe(sql.clone())
    )
    .bind(tenant.id())
    .bind(id)
    .fetch_optional(&mut *c)
    .await)?;
    row.ok_or_else(|| Error::not_found(format!("assignment {id:?}")))
}

/// Writes a transition back, guarded by the row's revision.
async fn write(
    tx: &mut Tx,
    tenant: &Tenant,
    row: &AssignmentRow,
    a: &Assignment,
) -> Result<AssignmentRow> {
    let (state, evaluator, evaluation) = match &a.state {
        State::Queued => (1, String::new(), String::new()),
        State::Routed(e) => (2, e.as_str().to_owned(), String::new()),
        State::Claimed(e) => (3, e.as_str().to_owned(), String::new()),
        State::Completed {
            evaluator,
            evaluation,
        } => (
            4,
            evaluator
                .as_ref()
                .map(|e| e.as_str().to_owned())
                .unwrap_or_default(),
            evaluation.as_str().to_owned(),
        ),
        State::Cancelled => (5, row.evaluator_id.clone(), String::new()),
    };
    let n = with_tx!(tx, |c| sqlx::query(
        "UPDATE assignments SET state = $3, evaluator_id = $4, route_at = $5, claim_at = $6, \
         complete_at = $7, evaluation_id = $8, overdue = $9, reroute_count = $10, \
         cancel_reason = $11, revision = revision + 1 \
         WHERE tenant_id = $1 AND id = $2 AND revision = $12"
    )
    .bind(tenant.id())
    .bind(row.id.as_str())
    .bind(state)
    .bind(evaluator.as_str())
    .bind(a.route_ms)
    .bind(a.claim_ms)
    .bind(a.complete_ms)
    .bind(evaluation.as_str())
    .bind(a.overdue)
    .bind(i64::from(a.reroute_count))
    .bind(a.cancel_reason.as_str())
    .bind(row.revision)
    .execute(&mut *c)
    .await
    .map(|r| r.rows_affected()))?;
    if n == 0 {
        return Err(Error::Aborted(
            "the assignment changed concurrently; retry".into(),
        ));
    }
    Ok(AssignmentRow {
        state,
        evaluator_id: evaluator,
        route_at: a.route_ms,
        claim_at: a.claim_ms,
        complete_at: a.complete_ms,
        evaluation_id: evaluation,
        overdue: a.overdue,
        reroute_count: i64::from(a.reroute_count),
        cancel_reason: a.cancel_reason.clone(),
        revision: row.revision + 1,
        ..row.clone()
    })
}

fn rerouted(row: &AssignmentRow, previous: &str, reason: pb::RerouteReason, now: i64) -> NewEvent {
    event(
        "assignment.rerouted",
        pb::event::Payload::AssignmentRerouted(pb::AssignmentRerouted {
            assignment: Some(row.message(false)),
            previous_evaluator_id: previous.to_owned(),
            reason: reason as i32,
        }),
        now,
    )
}

/// Filters of `ListAssignments`.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct ListFilter {
    /// Only this evaluator's.
    pub evaluator_id: String,
    /// Only these states (never empty).
    pub states: Vec<i64>,
    /// Only these agents.
    pub agent_ids: Vec<String>,
    /// Only these teams.
    pub team_ids: Vec<String>,
    /// Only this plan.
    pub plan_id: String,
    /// Only due before.
    pub due_before: Option<i64>,
    /// Only overdue.
    pub overdue_only: bool,
    /// Visibility: only these teams (supervisors).
    pub visible_teams: Option<Vec<String>>,
}

impl Store {
    /// One assignment.
    pub async fn assignment(&self, tenant: &Tenant, id: &str) -> Result<Option<AssignmentRow>> {
        let sql = format!(
            "SELECT {ASSIGNMENT_COLUMNS} FROM assignments WHERE tenant_id = $1 AND id = $2"
        );
        let row = with_pool!(self.db.read(), |p| sqlx::query_as::<_, AssignmentRow>(
            sqlx::AssertSqlSafe(sql.clone())
        )
        .bind(tenant.id())
        .bind(id)
        .fetch_optional(p)
        .await)?;
        Ok(row)
    }

    /// True when `evaluator` holds (or held) an assignment of the interaction.
    pub async fn evaluator_has_interaction(
        &self,
        tenant: &Tenant,
        evaluator: &str,
        interaction_id: &str,
    ) -> Result<bool> {
        let n: i64 = with_pool!(self.db.read(), |p| sqlx::query_scalar(
            "SELECT COUNT(*) FROM assignments WHERE tenant_id = $1 AND interaction_id = $2 \
             AND evaluator_id = $3"
        )
        .bind(tenant.id())
        .bind(interaction_id)
        .bind(evaluator)
        .fetch_one(p)
        .await)?;
        Ok(n > 0)
    }

    /// A page of assignments, earliest due first, after `(due_at, id)`.
    pub async fn list_assignments(
        &self,
        tenant: &Tenant,
        f: &ListFilter,
        after: Option<(i64, String)>,
        limit: u32,
        now: i64,
    ) -> Result<Vec<AssignmentRow>> {
        let mut sql = format!("SELECT {ASSIGNMENT_COLUMNS} FROM assignments WHERE tenant_id = $1");
        let mut args: Vec<Arg> = Vec::new();
        let push = |args: &mut Vec<Arg>, a: Arg| {
            args.push(a);
            format!("${}", args.len() + 1)
        };
        if !f.evaluator_id.is_empty() {
            let p = push(&mut args, Arg::T(f.evaluator_id.clone()));
            let _ = write!(sql, " AND evaluator_id = {p}");
        }
        let ps: Vec<String> = f
            .states
            .iter()
            .map(|s| push(&mut args, Arg::I(*s)))
            .collect();
        let _ = write!(sql, " AND state IN ({})", ps.join(", "));
        if !f.agent_ids.is_empty() {
            let ps: Vec<String> = f
                .agent_ids
                .iter()
                .map(|s| push(&mut args, Arg::T(s.clone())))
                .collect();
            let _ = write!(sql, " AND agent_id IN ({})", ps.join(", "));
        }
        if !f.team_ids.is_empty() {
            let ps: Vec<String> = f
                .team_ids
                .iter()
                .map(|s| push(&mut args, Arg::T(s.clone())))
                .collect();
            let _ = write!(sql, " AND team_id IN ({})", ps.join(", "));
        }
        if let Some(teams) = &f.visible_teams {
            if teams.is_empty() {
                sql.push_str(" AND 1 = 0");
            } else {
                let ps: Vec<String> = teams
                    .iter()
                    .map(|s| push(&mut args, Arg::T(s.clone())))
                    .collect();
                let _ = write!(sql, " AND team_id IN ({})", ps.join(", "));
            }
        }
        if !f.plan_id.is_empty() {
            let p = push(&mut args, Arg::T(f.plan_id.clone()));
            let _ = write!(sql, " AND plan_id = {p}");
        }
        if let Some(d) = f.due_before {
            let p = push(&mut args, Arg::I(d));
            let _ = write!(sql, " AND due_at < {p}");
        }
        if f.overdue_only {
            let p = push(&mut args, Arg::I(now));
            let _ = write!(
                sql,
                " AND (overdue OR (due_at < {p} AND state IN (1, 2, 3)))"
            );
        }
        if let Some((due, id)) = after {
            let a = push(&mut args, Arg::I(due));
            let b = push(&mut args, Arg::T(id));
            let _ = write!(sql, " AND (due_at > {a} OR (due_at = {a} AND id > {b}))");
        }
        let l = push(&mut args, Arg::I(i64::from(limit) + 1));
        let _ = write!(sql, " ORDER BY due_at, id LIMIT {l}");
        let rows = with_pool!(self.db.read(), |p| {
            let q = sqlx::query_as::<_, AssignmentRow>(sqlx::AssertSqlSafe(sql.clone()))
                .bind(tenant.id());
            crate::bind_args!(q, &args).fetch_all(p).await
        })?;
        Ok(rows)
    }

    /// Hands `evaluator` their next assignment: their claimed one, else the
    /// earliest due routed to them, else the earliest due queued one they
    /// may evaluate.
    pub async fn claim_next(
        &self,
        tenant: &Tenant,
        evaluator: &EvaluatorId,
        channels: &[i64],
        now: i64,
    ) -> Result<Option<AssignmentRow>> {
        let settings = self.settings(tenant).await?.settings;
        let mut tx = self.db.begin().await?;
        let body: Option<(bool, Vec<u8>)> =
            with_tx!(tx, |c| sqlx::query_as::<_, (bool, Vec<u8>)>(
                "SELECT active, body FROM evaluators WHERE tenant_id = $1 AND id = $2"
            )
            .bind(tenant.id())
            .bind(evaluator.as_str())
            .fetch_optional(&mut *c)
            .await)?;
        let me: Evaluator = match body {
            Some((true, b)) => super::evaluators::parse_stored(&b)?,
            _ => {
                return Err(Error::FailedPrecondition(
                    "the caller is not an active evaluator of this tenant".into(),
                ));
            }
        };
        let chan = if channels.is_empty() {
            String::new()
        } else {
            format!(" AND channel IN ({})", placeholders(3, channels.len()))
        };
        let bind_len = 3 + channels.len();
        // 1. Resume a claimed one.
        let sql = format!(
            "SELECT {ASSIGNMENT_COLUMNS} FROM assignments WHERE tenant_id = $1 AND evaluator_id = $2 \
             AND state = 3{chan} ORDER BY due_at, id LIMIT 1"
        );
        let mine: Option<AssignmentRow> = with_tx!(tx, |c| {
            let mut q = sqlx::query_as::<_, AssignmentRow>(sqlx::AssertSqlSafe(sql.clone()))
                .bind(tenant.id())
                .bind(evaluator.as_str());
            for ch in channels {
                q = q.bind(*ch);
            }
            q.fetch_optional(&mut *c).await
        })?;
        if mine.is_some() {
            return Ok(mine);
        }
        // 2. The earliest due routed to them.
        let sql = format!(
            "SELECT {ASSIGNMENT_COLUMNS} FROM assignments WHERE tenant_id = $1 AND evaluator_id = $2 \
             AND state = 2{chan} ORDER BY due_at, id LIMIT 1{}",
            skip_locked(tx.backend())
        );
        let routed: Option<AssignmentRow> = with_tx!(tx, |c| {
            let mut q = sqlx::query_as::<_, AssignmentRow>(sqlx::AssertSqlSafe(sql.clone()))
                .bind(tenant.id())
                .bind(evaluator.as_str());
            for ch in channels {
                q = q.bind(*ch);
            }
            q.fetch_optional(&mut *c).await
        })?;
        let mut claimed_from_queue = false;
        let chosen = match routed {
            Some(r) => Some(r),
            None => {
                // 3. The queue.
                let sql = format!(
                    "SELECT {ASSIGNMENT_COLUMNS} FROM assignments WHERE tenant_id = $1 \
                     AND state = 1 AND $2 <> ''{chan} ORDER BY due_at, id LIMIT ${bind_len}{}",
                    skip_locked(tx.backend())
                );
                let queued: Vec<AssignmentRow> = with_tx!(tx, |c| {
                    let mut q =
                        sqlx::query_as::<_, AssignmentRow>(sqlx::AssertSqlSafe(sql.clone()))
                            .bind(tenant.id())
                            .bind(evaluator.as_str());
                    for ch in channels {
                        q = q.bind(*ch);
                    }
                    q.bind(200_i64).fetch_all(&mut *c).await
                })?;
                claimed_from_queue = true;
                queued.into_iter().find(|row| {
                    let parts = ItemParts::of(row);
                    parts.item(&row.id).is_some_and(|item| {
                        crate::routing::eligibility(
                            &me,
                            crate::routing::Load::default(),
                            &item,
                            &settings.conflict_policy,
                        )
                        .is_ok()
                    })
                })
            }
        };
        let Some(row) = chosen else {
            return Ok(None);
        };
        let next = match row
            .lifecycle()?
            .claim(evaluator, now)
            .map_err(transition_error)?
        {
            Change::Changed(a) | Change::Unchanged(a) => a,
        };
        let after = write(&mut tx, tenant, &row, &next).await?;
        if claimed_from_queue {
            let day = super::day_start(&settings.time_zone, now);
            let mut counts = BTreeMap::new();
            counts.insert(evaluator.as_str().to_owned(), 1_i64);
            bump_evaluator_days(&mut tx, tenant, day, &counts).await?;
        }
        append(
            &mut tx,
            tenant,
            &[event(
                "assignment.claimed",
                pb::event::Payload::AssignmentClaimed(pb::AssignmentClaimed {
                    assignment: Some(after.message(false)),
                }),
                now,
            )],
        )
        .await?;
        tx.commit().await?;
        Ok(Some(after))
    }

    /// Completes an assignment with an evaluation (idempotent for the same
    /// evaluation).
    pub async fn complete_assignment(
        &self,
        tenant: &Tenant,
        id: &str,
        evaluation: EvaluationId,
        by: Option<&EvaluatorId>,
        at: i64,
        now: i64,
    ) -> Result<AssignmentRow> {
        let mut tx = self.db.begin().await?;
        let row = lock(&mut tx, tenant, id).await?;
        let change = row
            .lifecycle()?
            .complete(evaluation, by, at)
            .map_err(transition_error)?;
        let Change::Changed(next) = change else {
            return Ok(row);
        };
        let after = write(&mut tx, tenant, &row, &next).await?;
        append(
            &mut tx,
            tenant,
            &[event(
                "assignment.completed",
                pb::event::Payload::AssignmentCompleted(pb::AssignmentCompleted {
                    assignment: Some(after.message(false)),
                }),
                now,
            )],
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    /// Gives an assignment back (`by` is the evaluator releasing it, or
    /// `None` for a manager): routed to another eligible evaluator or queued.
    pub async fn release_assignment(
        &self,
        tenant: &Tenant,
        id: &str,
        etag: &str,
        by: Option<&EvaluatorId>,
        reason: &str,
        now: i64,
    ) -> Result<AssignmentRow> {
        let settings = self.settings(tenant).await?.settings;
        let mut tx = self.db.begin().await?;
        let row = lock(&mut tx, tenant, id).await?;
        crate::convert::check_etag(etag, row.revision, "the assignment")?;
        let current = row.lifecycle()?;
        let holder = current.evaluator().cloned();
        let next_evaluator =
            route_other(&mut tx, tenant, &settings, &row, holder.as_ref(), now).await?;
        let change = current
            .release(by, next_evaluator.clone(), now)
            .map_err(transition_error)?;
        let next = change.into_inner();
        let after = write(&mut tx, tenant, &row, &next).await?;
        if let Some(e) = &next_evaluator {
            note_routed(&mut tx, tenant, &settings, e, now).await?;
        }
        append(
            &mut tx,
            tenant,
            &[event(
                "assignment.released",
                pb::event::Payload::AssignmentReleased(pb::AssignmentReleased {
                    assignment: Some(after.message(false)),
                    previous_evaluator_id: row.evaluator_id.clone(),
                    reason: reason.to_owned(),
                }),
                now,
            )],
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    /// Moves an assignment to `to` (who must be eligible) or to the best
    /// other eligible evaluator.
    pub async fn reassign_assignment(
        &self,
        tenant: &Tenant,
        id: &str,
        to: Option<EvaluatorId>,
        etag: &str,
        now: i64,
    ) -> Result<AssignmentRow> {
        let settings = self.settings(tenant).await?.settings;
        let mut tx = self.db.begin().await?;
        let row = lock(&mut tx, tenant, id).await?;
        crate::convert::check_etag(etag, row.revision, "the assignment")?;
        let current = row.lifecycle()?;
        if !current.is_open() {
            return Err(Error::FailedPrecondition(format!(
                "cannot reassign an assignment that is {}",
                if row.state == 4 {
                    "completed"
                } else {
                    "cancelled"
                }
            )));
        }
        let holder = current.evaluator().cloned();
        let target = match to {
            Some(e) => {
                let env = Env {
                    tenant,
                    settings: &settings,
                    now,
                };
                let routing = load_routing(
                    &mut tx,
                    &env,
                    &[row.agent_id.as_str()],
                    &row.period_start.into_iter().collect::<Vec<_>>(),
                )
                .await?;
                let parts = ItemParts::of(&row);
                let Some(item) = parts.item(&row.id) else {
                    return Err(Error::FailedPrecondition(
                        "the interaction has no agent to evaluate".into(),
                    ));
                };
                routing
                    .check(&e, &item, &settings.conflict_policy)
                    .map_err(|why| {
                        Error::FailedPrecondition(format!("evaluator {:?}: {why}", e.as_str()))
                    })?;
                Some(e)
            }
            None => route_other(&mut tx, tenant, &settings, &row, holder.as_ref(), now).await?,
        };
        let change = current
            .reassign(target.clone(), now)
            .map_err(transition_error)?;
        let Change::Changed(next) = change else {
            return Ok(row);
        };
        let after = write(&mut tx, tenant, &row, &next).await?;
        if let Some(e) = &target {
            note_routed(&mut tx, tenant, &settings, e, now).await?;
        }
        append(
            &mut tx,
            tenant,
            &[rerouted(
                &after,
                &row.evaluator_id,
                pb::RerouteReason::Reassigned,
                now,
            )],
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    /// Cancels an assignment (idempotent).
    pub async fn cancel_assignment(
        &self,
        tenant: &Tenant,
        id: &str,
        etag: &str,
        reason: &str,
        now: i64,
    ) -> Result<AssignmentRow> {
        let mut tx = self.db.begin().await?;
        let row = lock(&mut tx, tenant, id).await?;
        if row.state == 5 {
            return Ok(row);
        }
        crate::convert::check_etag(etag, row.revision, "the assignment")?;
        let change = row.lifecycle()?.cancel(reason).map_err(transition_error)?;
        let Change::Changed(next) = change else {
            return Ok(row);
        };
        let after = write(&mut tx, tenant, &row, &next).await?;
        append(
            &mut tx,
            tenant,
            &[event(
                "assignment.cancelled",
                pb::event::Payload::AssignmentCancelled(pb::AssignmentCancelled {
                    assignment: Some(after.message(false)),
                }),
                now,
            )],
        )
        .await?;
        tx.commit().await?;
        Ok(after)
    }

    /// Marks open assignments past due as overdue (`AssignmentExpired`) and
    /// re-routes those nobody started. Returns how many expired.
    pub async fn sweep_overdue(&self, tenant: &Tenant, now: i64) -> Result<usize> {
        let settings = self.settings(tenant).await?.settings;
        let mut tx = self.db.begin().await?;
        let sql = format!(
            "SELECT {ASSIGNMENT_COLUMNS} FROM assignments WHERE tenant_id = $1 AND state IN (1, 2, 3) \
             AND NOT overdue AND due_at < $2 ORDER BY due_at, id LIMIT 500{}",
            skip_locked(tx.backend())
        );
        let rows: Vec<AssignmentRow> = with_tx!(tx, |c| sqlx::query_as::<_, AssignmentRow>(
            sqlx::AssertSqlSafe(sql.clone())
        )
        .bind(tenant.id())
        .bind(now)
        .fetch_all(&mut *c)
        .await)?;
        if rows.is_empty() {
            return Ok(0);
        }
        let mut events = Vec::new();
        let mut routing: Option<Routing> = None;
        let mut routed: BTreeMap<String, i64> = BTreeMap::new();
        for row in &rows {
            let current = row.lifecycle()?;
            let expired = current.expire(now).into_inner();
            let mut after = write(&mut tx, tenant, row, &expired).await?;
            events.push(event(
                "assignment.expired",
                pb::event::Payload::AssignmentExpired(pb::AssignmentExpired {
                    assignment: Some(after.message(false)),
                }),
                now,
            ));
            if expired.needs_reroute() {
                if routing.is_none() {
                    let env = Env {
                        tenant,
                        settings: &settings,
                        now,
                    };
                    routing = Some(load_routing(&mut tx, &env, &[], &[]).await?);
                }
                let parts = ItemParts::of(row);
                let holder = expired.evaluator().cloned();
                let next = match (routing.as_mut(), parts.item(&row.id)) {
                    (Some(r), Some(item)) => {
                        r.route(&item, holder.as_ref(), settings.conflict_policy)
                    }
                    _ => None,
                };
                if let Change::Changed(moved) = expired
                    .reassign(next.clone(), now)
                    .map_err(transition_error)?
                {
                    let previous = after.evaluator_id.clone();
                    after = write(&mut tx, tenant, &after, &moved).await?;
                    if let Some(e) = &next {
                        *routed.entry(e.as_str().to_owned()).or_insert(0) += 1;
                    }
                    events.push(rerouted(&after, &previous, pb::RerouteReason::Overdue, now));
                }
            }
        }
        if !routed.is_empty() {
            let day = routing.as_ref().map_or(now, |r| r.day_start);
            bump_evaluator_days(&mut tx, tenant, day, &routed).await?;
        }
        append(&mut tx, tenant, &events).await?;
        tx.commit().await?;
        Ok(rows.len())
    }
}

/// The best eligible evaluator other than `holder` for a row, or `None`.
async fn route_other(
    tx: &mut Tx,
    tenant: &Tenant,
    settings: &Settings,
    row: &AssignmentRow,
    holder: Option<&EvaluatorId>,
    now: i64,
) -> Result<Option<EvaluatorId>> {
    let env = Env {
        tenant,
        settings,
        now,
    };
    let starts: Vec<i64> = row.period_start.into_iter().collect();
    let mut routing = load_routing(tx, &env, &[row.agent_id.as_str()], &starts).await?;
    let parts = ItemParts::of(row);
    Ok(parts
        .item(&row.id)
        .and_then(|item| routing.route(&item, holder, settings.conflict_policy)))
}

async fn note_routed(
    tx: &mut Tx,
    tenant: &Tenant,
    settings: &Settings,
    e: &EvaluatorId,
    now: i64,
) -> Result<()> {
    let mut counts = BTreeMap::new();
    counts.insert(e.as_str().to_owned(), 1_i64);
    bump_evaluator_days(
        tx,
        tenant,
        super::day_start(&settings.time_zone, now),
        &counts,
    )
    .await
}

/// Re-routes the routed (not claimed) assignments of `evaluator` that they
/// may no longer take after a change to their definition.
pub async fn reroute_unfit(
    tx: &mut Tx,
    tenant: &Tenant,
    settings: &Settings,
    evaluator: &Evaluator,
    now: i64,
) -> Result<Vec<NewEvent>> {
    let sql = format!(
        "SELECT {ASSIGNMENT_COLUMNS} FROM assignments WHERE tenant_id = $1 AND evaluator_id = $2 \
         AND state = 2 ORDER BY due_at, id{}",
        for_update(tx.backend())
    );
    let rows: Vec<AssignmentRow> = with_tx!(tx, |c| sqlx::query_as::<_, AssignmentRow>(
        sqlx::AssertSqlSafe(sql.clone())
    )
    .bind(tenant.id())
    .bind(evaluator.id.as_str())
    .fetch_all(&mut *c)
    .await)?;
    let mut events = Vec::new();
    let mut routing: Option<Routing> = None;
    let mut routed: BTreeMap<String, i64> = BTreeMap::new();
    for row in rows {
        let parts = ItemParts::of(&row);
        let Some(item) = parts.item(&row.id) else {
            continue;
        };
        let fits = crate::routing::eligibility(
            evaluator,
            crate::routing::Load::default(),
            &item,
            &settings.conflict_policy,
        )
        .is_ok();
        if fits {
            continue;
        }
        if routing.is_none() {
            let env = Env {
                tenant,
                settings,
                now,
            };
            routing = Some(load_routing(tx, &env, &[], &[]).await?);
        }
        let next = routing
            .as_mut()
            .and_then(|r| r.route(&item, Some(&evaluator.id), settings.conflict_policy));
        let current = row.lifecycle()?;
        if let Change::Changed(moved) = current
            .reassign(next.clone(), now)
            .map_err(transition_error)?
        {
            let after = write(tx, tenant, &row, &moved).await?;
            if let Some(e) = &next {
                *routed.entry(e.as_str().to_owned()).or_insert(0) += 1;
            }
            events.push(rerouted(
                &after,
                &row.evaluator_id,
                pb::RerouteReason::EvaluatorUnavailable,
                now,
            ));
        }
    }
    if !routed.is_empty() {
        let day = routing.as_ref().map_or(now, |r| r.day_start);
        bump_evaluator_days(tx, tenant, day, &routed).await?;
    }
    Ok(events)
}
