//! Monitoring coverage per agent or team and plan period, from the agent
//! periods' counters and the assignments ([`crate::coverage`]).

use std::collections::BTreeMap;

use earshot_kit::{auth::Tenant, error::Result, with_pool};
use earshot_proto::sampling::v1 as pb;

use super::select::{AGENT_PERIOD_COLUMNS, AgentPeriodRow};
use super::{Store, placeholders};
use crate::calendar::Period;
use crate::convert;
use crate::coverage::{AssignmentFacts, Coverage, agent_coverage, team_rollup};
use crate::plan::Plan;

/// What to compute coverage for.
#[derive(Debug, Clone)]
pub struct Query<'a> {
    /// The plans (with their periods to report).
    pub plans: Vec<(std::sync::Arc<Plan>, Vec<Period>)>,
    /// Team rows instead of agent rows.
    pub by_team: bool,
    /// Only these agents.
    pub agents: &'a [String],
    /// Only these teams.
    pub teams: &'a [String],
    /// Only these teams (supervisor visibility).
    pub visible_teams: Option<&'a [String]>,
    /// Only this agent (agent visibility).
    pub only_agent: Option<&'a str>,
}

fn row_message(
    agent: &str,
    team: &str,
    plan_id: &str,
    period: &Period,
    closed: bool,
    c: &Coverage,
) -> pb::CoverageRow {
    let clamp = |x: u32| i32::try_from(x).unwrap_or(i32::MAX);
    pb::CoverageRow {
        agent_id: agent.to_owned(),
        team_id: team.to_owned(),
        plan_id: plan_id.to_owned(),
        period: Some(convert::time_range(period.start_ms, period.end_ms)),
        period_closed: closed,
        volume: i64::try_from(c.volume).unwrap_or(i64::MAX),
        quota_min: clamp(c.quota_min),
        quota_max: c.quota_max.map_or(0, clamp),
        required: clamp(c.required),
        selected: clamp(c.selected),
        due: clamp(c.due),
        done: clamp(c.done),
        done_on_time: clamp(c.done_on_time),
        overdue_open: clamp(c.overdue_open),
        pending: clamp(c.pending),
        quota_met: c.quota_met,
        on_time_ratio: c.on_time_ratio,
        sla_met: c.sla_met,
        agents: 0,
        agents_quota_met: 0,
    }
}

impl Store {
    /// Coverage rows, by plan, period, then agent or team id.
    pub async fn coverage(
        &self,
        tenant: &Tenant,
        q: &Query<'_>,
        now: i64,
    ) -> Result<Vec<pb::CoverageRow>> {
        let target = self.settings(tenant).await?.settings.sla.on_time_target;
        let mut out = Vec::new();
        for (plan, periods) in &q.plans {
            if periods.is_empty() {
                continue;
            }
            let plan_id = plan.id.as_str();
            let starts: Vec<i64> = periods.iter().map(|p| p.start_ms).collect();
            let ps = placeholders(3, starts.len());
            let sql = format!(
                "SELECT {AGENT_PERIOD_COLUMNS} FROM agent_periods WHERE tenant_id = $1 AND plan_id = $2 \
                 AND period_start IN ({ps}) ORDER BY period_start, agent_id"
            );
            let aps: Vec<AgentPeriodRow> = with_pool!(self.db.read(), |p| {
                let mut qq = sqlx::query_as::<_, AgentPeriodRow>(sqlx::AssertSqlSafe(sql.clone()))
                    .bind(tenant.id())
                    .bind(plan_id);
                for s in &starts {
                    qq = qq.bind(*s);
                }
                qq.fetch_all(p).await
            })?;
            let asql = format!(
                "SELECT agent_id, period_start, due_at, complete_at, state FROM assignments \
                 WHERE tenant_id = $1 AND plan_id = $2 AND period_start IN ({ps})"
            );
            let facts: Vec<(String, i64, i64, Option<i64>, i64)> =
                with_pool!(self.db.read(), |p| {
                    let mut qq = sqlx::query_as::<_, (String, i64, i64, Option<i64>, i64)>(
                        sqlx::AssertSqlSafe(asql.clone()),
                    )
                    .bind(tenant.id())
                    .bind(plan_id);
                    for s in &starts {
                        qq = qq.bind(*s);
                    }
                    qq.fetch_all(p).await
                })?;
            let csql = format!(
                "SELECT period_start FROM plan_periods WHERE tenant_id = $1 AND plan_id = $2 \
                 AND closed_at IS NOT NULL AND period_start IN ({ps})"
            );
            let closed: Vec<i64> = with_pool!(self.db.read(), |p| {
                let mut qq = sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(csql.clone()))
                    .bind(tenant.id())
                    .bind(plan_id);
                for s in &starts {
                    qq = qq.bind(*s);
                }
                qq.fetch_all(p).await
            })?;
            let mut by_agent: BTreeMap<(i64, String), Vec<AssignmentFacts>> = BTreeMap::new();
            for (agent, start, due, complete, state) in facts {
                by_agent
                    .entry((start, agent))
                    .or_default()
                    .push(AssignmentFacts {
                        due_ms: due,
                        complete_ms: if state == 4 { complete } else { None },
                        cancelled: state == 5,
                    });
            }
            for period in periods {
                let is_closed = closed.contains(&period.start_ms);
                let mut teams: BTreeMap<String, Vec<Coverage>> = BTreeMap::new();
                for ap in aps.iter().filter(|a| a.period_start == period.start_ms) {
                    if !q.agents.is_empty() && !q.agents.contains(&ap.agent_id) {
                        continue;
                    }
                    if !q.teams.is_empty() && !q.teams.contains(&ap.team_id) {
                        continue;
                    }
                    if q.visible_teams.is_some_and(|t| !t.contains(&ap.team_id)) {
                        continue;
                    }
                    if q.only_agent.is_some_and(|a| a != ap.agent_id) {
                        continue;
                    }
                    let quota = ap.quota(plan);
                    let selected = u32::try_from(ap.random + ap.top_up + ap.targeted).unwrap_or(0);
                    let list = by_agent
                        .get(&(period.start_ms, ap.agent_id.clone()))
                        .map(Vec::as_slice)
                        .unwrap_or_default();
                    let c = agent_coverage(
                        u64::try_from(ap.eligible).unwrap_or(0),
                        &quota,
                        selected,
                        list,
                        now,
                        target,
                    );
                    if q.by_team {
                        teams.entry(ap.team_id.clone()).or_default().push(c);
                    } else {
                        out.push(row_message(
                            &ap.agent_id,
                            &ap.team_id,
                            plan_id,
                            period,
                            is_closed,
                            &c,
                        ));
                    }
                }
                for (team, rows) in teams {
                    let t = team_rollup(&rows, target);
                    let mut m = row_message("", &team, plan_id, period, is_closed, &t.coverage);
                    m.agents = i32::try_from(t.agents).unwrap_or(i32::MAX);
                    m.agents_quota_met = i32::try_from(t.agents_quota_met).unwrap_or(i32::MAX);
                    out.push(m);
                }
            }
        }
        Ok(out)
    }

    /// Each agent's eligible volumes in the plan's periods before `before`,
    /// most recent first (history for previews).
    pub async fn agent_history(
        &self,
        tenant: &Tenant,
        plan_id: &str,
        before: i64,
    ) -> Result<BTreeMap<String, Vec<u64>>> {
        let rows: Vec<(String, i64)> = with_pool!(self.db.read(), |p| sqlx::query_as::<
            _,
            (String, i64),
        >(
            "SELECT agent_id, eligible FROM agent_periods WHERE tenant_id = $1 AND plan_id = $2 \
             AND period_start < $3 ORDER BY agent_id, period_start DESC"
        )
        .bind(tenant.id())
        .bind(plan_id)
        .bind(before)
        .fetch_all(p)
        .await)?;
        let mut out: BTreeMap<String, Vec<u64>> = BTreeMap::new();
        for (a, e) in rows {
            let v = out.entry(a).or_default();
            if v.len() < 4 {
                v.push(u64::try_from(e).unwrap_or(0));
            }
        }
        Ok(out)
    }
}
