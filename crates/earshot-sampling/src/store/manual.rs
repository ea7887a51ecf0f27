//! Manual selections and the selection list.

use std::fmt::Write as _;

use earshot_kit::{
    auth::Tenant,
    error::{Error, Result},
    with_pool, with_tx,
};
use earshot_proto::sampling::v1 as pb;

use super::ingest::selection_events;
use super::interactions::{self, Arg};
use super::rows::{SELECTION_COLUMNS, SelectionRow};
use super::select::{self, Env, Pick, load_routing};
use super::{Store, append, find_request, save_request};
use crate::ids::EvaluatorId;
use crate::selection::Reason;

/// A manual selection to make.
#[derive(Debug, Clone)]
pub struct Manual<'a> {
    /// The interaction.
    pub interaction_id: &'a str,
    /// Why.
    pub note: &'a str,
    /// Route to this evaluator.
    pub evaluator: Option<EvaluatorId>,
    /// Due time.
    pub due_ms: Option<i64>,
    /// Idempotency key.
    pub request_id: &'a str,
    /// Who (subject, role).
    pub by: (&'a str, &'a str),
    /// Supervisor visibility: only these teams.
    pub visible_teams: Option<&'a [String]>,
}

/// Filters of `ListSelections`.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct SelectionFilter {
    /// Only this plan.
    pub plan_id: String,
    /// Only these agents.
    pub agent_ids: Vec<String>,
    /// Only these teams.
    pub team_ids: Vec<String>,
    /// Only this interaction.
    pub interaction_id: String,
    /// Only these reasons.
    pub reasons: Vec<i64>,
    /// Only selected in `[start, end)`.
    pub range: (Option<i64>, Option<i64>),
    /// Supervisor visibility.
    pub visible_teams: Option<Vec<String>>,
}

impl Store {
    /// Selects an interaction by hand (idempotent on `request_id`, and on
    /// the interaction: a second manual selection returns the first).
    pub async fn create_selection(
        &self,
        tenant: &Tenant,
        m: &Manual<'_>,
        now: i64,
    ) -> Result<(pb::Selection, Option<pb::Assignment>)> {
        let settings = self.settings(tenant).await?.settings;
        let mut tx = self.db.begin().await?;
        let existing_id = match find_request(&mut tx, tenant, "selection", m.request_id).await? {
            Some(id) => Some(id),
            None => {
                let sql = "SELECT id FROM selections WHERE tenant_id = $1 AND interaction_id = $2 \
                           AND plan_id = ''";
                with_tx!(tx, |c| sqlx::query_scalar::<_, String>(sql)
                    .bind(tenant.id())
                    .bind(m.interaction_id)
                    .fetch_optional(&mut *c)
                    .await)?
            }
        };
        if let Some(id) = existing_id {
            drop(tx);
            let sel = self
                .selection(tenant, &id)
                .await?
                .ok_or_else(|| Error::internal("selection of a request id is missing"))?;
            let asg = self.assignment(tenant, &sel.assignment_id).await?;
            return Ok((sel.message(), asg.map(|a| a.message(false))));
        }
        let found = interactions::lookup(&mut tx, tenant, &[m.interaction_id]).await?;
        let stored = found
            .into_values()
            .next()
            .ok_or_else(|| Error::not_found(format!("interaction {:?}", m.interaction_id)))?;
        let team = stored
            .interaction
            .team
            .as_ref()
            .map(|t| t.as_str().to_owned())
            .unwrap_or_default();
        if m.visible_teams.is_some_and(|t| !t.contains(&team)) {
            return Err(Error::not_found(format!(
                "interaction {:?}",
                m.interaction_id
            )));
        }
        let env = Env {
            tenant,
            settings: &settings,
            now,
        };
        if let Some(e) = &m.evaluator {
            let i = &stored.interaction;
            let Some(agent) = &i.agent else {
                return Err(Error::FailedPrecondition(
                    "the interaction has no agent to evaluate".into(),
                ));
            };
            let routing = load_routing(&mut tx, &env, &[agent.as_str()], &[]).await?;
            let item = crate::routing::WorkItem {
                key: i.id.as_str(),
                agent,
                team: i.team.as_ref(),
                channel: i.channel,
                language: i.language.as_ref(),
                pool: crate::plan::EvaluatorPool::Any,
            };
            routing
                .check(e, &item, &settings.conflict_policy)
                .map_err(|why| {
                    Error::FailedPrecondition(format!("evaluator {:?}: {why}", e.as_str()))
                })?;
        }
        let pick = Pick {
            interaction: &stored.interaction,
            plan: None,
            period: None,
            reason: Reason::Manual,
            rule_kind: 0,
            stratum: String::new(),
            u: 0.0,
            new_hire: false,
            matched: Vec::new(),
            by: Some((m.by.0.to_owned(), m.by.1.to_owned(), m.note.to_owned())),
            route_to: m.evaluator.clone(),
            due_ms: m.due_ms,
        };
        let made = select::write_picks(&mut tx, &env, std::slice::from_ref(&pick)).await?;
        let sel = made
            .selections
            .first()
            .cloned()
            .ok_or_else(|| Error::internal("no selection written"))?;
        save_request(&mut tx, tenant, "selection", m.request_id, &sel.id, now).await?;
        let asg = match made.assignments.first() {
            Some(a) => Some(a.clone()),
            None => self
                .assignment(tenant, &sel.assignment_id)
                .await?
                .map(|a| a.message(false)),
        };
        let mut events = Vec::new();
        selection_events(&mut events, made, now);
        append(&mut tx, tenant, &events).await?;
        tx.commit().await?;
        Ok((sel, asg))
    }

    /// One selection.
    pub async fn selection(&self, tenant: &Tenant, id: &str) -> Result<Option<SelectionRow>> {
        let sql =
            format!("SELECT {SELECTION_COLUMNS} FROM selections WHERE tenant_id = $1 AND id = $2");
        let row = with_pool!(self.db.read(), |p| sqlx::query_as::<_, SelectionRow>(
            sqlx::AssertSqlSafe(sql.clone())
        )
        .bind(tenant.id())
        .bind(id)
        .fetch_optional(p)
        .await)?;
        Ok(row)
    }

    /// A page of selections, newest first, after `(selected_at, id)`.
    pub async fn list_selections(
        &self,
        tenant: &Tenant,
        f: &SelectionFilter,
        after: Option<(i64, String)>,
        limit: u32,
    ) -> Result<Vec<SelectionRow>> {
        let mut sql = format!("SELECT {SELECTION_COLUMNS} FROM selections WHERE tenant_id = $1");
        let mut args: Vec<Arg> = Vec::new();
        let push = |args: &mut Vec<Arg>, a: Arg| {
            args.push(a);
            format!("${}", args.len() + 1)
        };
        if !f.plan_id.is_empty() {
            let p = push(&mut args, Arg::T(f.plan_id.clone()));
            let _ = write!(sql, " AND plan_id = {p}");
        }
        if !f.interaction_id.is_empty() {
            let p = push(&mut args, Arg::T(f.interaction_id.clone()));
            let _ = write!(sql, " AND interaction_id = {p}");
        }
        for (col, values) in [("agent_id", &f.agent_ids), ("team_id", &f.team_ids)] {
            if !values.is_empty() {
                let ps: Vec<String> = values
                    .iter()
                    .map(|v| push(&mut args, Arg::T(v.clone())))
                    .collect();
                let _ = write!(sql, " AND {col} IN ({})", ps.join(", "));
            }
        }
        if let Some(teams) = &f.visible_teams {
            if teams.is_empty() {
                sql.push_str(" AND 1 = 0");
            } else {
                let ps: Vec<String> = teams
                    .iter()
                    .map(|v| push(&mut args, Arg::T(v.clone())))
                    .collect();
                let _ = write!(sql, " AND team_id IN ({})", ps.join(", "));
            }
        }
        if !f.reasons.is_empty() {
            let ps: Vec<String> = f
                .reasons
                .iter()
                .map(|r| push(&mut args, Arg::I(*r)))
                .collect();
            let _ = write!(sql, " AND reason IN ({})", ps.join(", "));
        }
        if let Some(s) = f.range.0 {
            let p = push(&mut args, Arg::I(s));
            let _ = write!(sql, " AND selected_at >= {p}");
        }
        if let Some(e) = f.range.1 {
            let p = push(&mut args, Arg::I(e));
            let _ = write!(sql, " AND selected_at < {p}");
        }
        if let Some((at, id)) = after {
            let a = push(&mut args, Arg::I(at));
            let b = push(&mut args, Arg::T(id));
            let _ = write!(
                sql,
                " AND (selected_at < {a} OR (selected_at = {a} AND id < {b}))"
            );
        }
        let l = push(&mut args, Arg::I(i64::from(limit) + 1));
        let _ = write!(sql, " ORDER BY selected_at DESC, id DESC LIMIT {l}");
        let rows = with_pool!(self.db.read(), |p| {
            let q = sqlx::query_as::<_, SelectionRow>(sqlx::AssertSqlSafe(sql.clone()))
                .bind(tenant.id());
            crate::bind_args!(q, &args).fetch_all(p).await
        })?;
        Ok(rows)
    }
}
