//! Applying the tenant's active plans to interactions, inside the
//! transaction that stored them (or their late facts): the imperative shell
//! around [`crate::selection`], [`crate::quota`], [`crate::stratification`]
//! and [`crate::routing`].
//!
//! For each plan, in creation order: check eligibility, find each
//! interaction's period and agent period (opening it — expected volume,
//! threshold, new-hire multiplier, percentiles — the first time), decide,
//! and write the counters back. Counters are read with `FOR UPDATE` on
//! PostgreSQL so that replicas ingesting the same agent at once serialise on
//! its row; SQLite has one writer. Each selection gets an assignment (or
//! points at the interaction's open one), routed to an eligible evaluator.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use earshot_kit::{
    auth::Tenant,
    db::Tx,
    error::{Error, Result},
    with_tx,
};
use earshot_proto::sampling::v1 as pb;
use prost::Message as _;

use super::{for_update, new_id, placeholders};
use crate::calendar::{Period, PeriodKind};
use crate::convert;
use crate::draw::draw;
use crate::eligibility::{self, EligibilityContext};
use crate::evaluator::Evaluator;
use crate::ids::{AgentId, EvaluatorId, RuleId};
use crate::interaction::Interaction;
use crate::plan::{HandleTimeBasis, Plan, RuleCondition};
use crate::quota::{self, EffectiveQuota};
use crate::routing::WorkItem;
use crate::selection::{self, AgentPeriodCounts, Candidate, Decision, PlanPeriodCounts, Reason};
use crate::settings::Settings;
use crate::stratification::{self, StratumKey};
use crate::targeted::{self, HandleTimeThresholds, LateFacts};

/// An interaction offered to the plans.
#[derive(Debug, Clone, Copy)]
pub struct Offer<'a> {
    /// The interaction.
    pub interaction: &'a Interaction,
    /// Its late facts.
    pub facts: LateFacts,
    /// True at its first eligible store (drawn now); false for a late fact.
    pub draw_now: bool,
    /// True when it was first stored in this transaction (so it cannot have
    /// selections or assignments yet).
    pub new: bool,
}

/// What applying the plans made.
#[derive(Debug, Default)]
pub struct Made {
    /// New selections.
    pub selections: Vec<pb::Selection>,
    /// New assignments.
    pub assignments: Vec<pb::Assignment>,
}

/// The tenant context of a selection run.
#[derive(Debug, Clone, Copy)]
pub struct Env<'a> {
    /// The tenant.
    pub tenant: &'a Tenant,
    /// The tenant's settings.
    pub settings: &'a Settings,
    /// Now, epoch ms.
    pub now: i64,
}

/// One `agent_periods` row.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct AgentPeriodRow {
    pub agent_id: String,
    pub period_start: i64,
    pub period_end: i64,
    pub expected_volume: f64,
    pub threshold: f64,
    pub expected_random: i64,
    pub multiplier: f64,
    pub agent_p95_ms: Option<i64>,
    pub strata_expected: String,
    pub strata_counts: String,
    pub eligible: i64,
    pub random: i64,
    pub top_up: i64,
    pub targeted: i64,
    pub team_id: String,
    pub latest_arrival: i64,
}

pub const AGENT_PERIOD_COLUMNS: &str = "agent_id, period_start, period_end, expected_volume, \
     threshold, expected_random, multiplier, agent_p95_ms, strata_expected, strata_counts, \
     eligible, random, top_up, targeted, team_id, latest_arrival";

fn u32_of(x: i64) -> u32 {
    u32::try_from(x.max(0)).unwrap_or(u32::MAX)
}

impl AgentPeriodRow {
    /// The effective quota of the agent in this period.
    pub fn quota(&self, plan: &Plan) -> EffectiveQuota {
        let m = (self.multiplier > 1.0).then_some(self.multiplier);
        EffectiveQuota::new(&plan.spec.target, m)
    }

    fn counts(&self, by_rule: BTreeMap<RuleId, u32>) -> AgentPeriodCounts {
        AgentPeriodCounts {
            eligible: u64::try_from(self.eligible.max(0)).unwrap_or(0),
            random: u32_of(self.random),
            top_up: u32_of(self.top_up),
            targeted: u32_of(self.targeted),
            by_rule,
        }
    }
}

/// Parses a JSON map stored in a TEXT column (empty map when blank).
pub fn json_map<V: serde::de::DeserializeOwned>(s: &str) -> BTreeMap<String, V> {
    if s.is_empty() {
        BTreeMap::new()
    } else {
        serde_json::from_str(s).unwrap_or_default()
    }
}

/// The agent periods of `plan` for `keys` (agent, period start), locked on
/// PostgreSQL.
pub async fn load_agent_periods(
    tx: &mut Tx,
    tenant: &Tenant,
    plan_id: &str,
    keys: &[(String, i64)],
) -> Result<HashMap<(String, i64), AgentPeriodRow>> {
    let mut out = HashMap::new();
    if keys.is_empty() {
        return Ok(out);
    }
    let starts: Vec<i64> = {
        let mut s: Vec<i64> = keys.iter().map(|k| k.1).collect();
        s.sort_unstable();
        s.dedup();
        s
    };
    let agents: Vec<&str> = {
        let mut a: Vec<&str> = keys.iter().map(|k| k.0.as_str()).collect();
        a.sort_unstable();
        a.dedup();
        a
    };
    let backend = tx.backend();
    for chunk in agents.chunks(500) {
        let sql = format!(
            "SELECT {AGENT_PERIOD_COLUMNS} FROM agent_periods WHERE tenant_id = $1 AND plan_id = $2 \
             AND period_start IN ({}) AND agent_id IN ({}) ORDER BY period_start, agent_id{}",
            placeholders(3, starts.len()),
            placeholders(3 + starts.len(), chunk.len()),
            for_update(backend)
        );
        let rows: Vec<AgentPeriodRow> = with_tx!(tx, |c| {
            let mut q = sqlx::query_as::<_, AgentPeriodRow>(sqlx::AssertSqlSafe(sql.clone()))
                .bind(tenant.id())
                .bind(plan_id);
            for s in &starts {
                q = q.bind(*s);
            }
            for a in chunk {
                q = q.bind(*a);
            }
            q.fetch_all(&mut *c).await
        })?;
        for r in rows {
            out.insert((r.agent_id.clone(), r.period_start), r);
        }
    }
    Ok(out)
}

/// Writes agent periods back (absolute values; the rows were read under
/// lock in this transaction).
pub async fn save_agent_periods(
    tx: &mut Tx,
    tenant: &Tenant,
    plan_id: &str,
    rows: &[&AgentPeriodRow],
) -> Result<()> {
    for chunk in rows.chunks(200) {
        let mut sql = String::from(
            "INSERT INTO agent_periods (tenant_id, plan_id, agent_id, period_start, period_end, \
             expected_volume, threshold, expected_random, multiplier, agent_p95_ms, \
             strata_expected, strata_counts, eligible, random, top_up, targeted, team_id, \
             latest_arrival) VALUES ",
        );
        for n in 0..chunk.len() {
            if n > 0 {
                sql.push(',');
            }
            sql.push('(');
            sql.push_str(&placeholders(1 + n * 18, 18));
            sql.push(')');
        }
        sql.push_str(
            " ON CONFLICT (tenant_id, plan_id, period_start, agent_id) DO UPDATE SET \
             eligible = excluded.eligible, random = excluded.random, top_up = excluded.top_up, \
             targeted = excluded.targeted, strata_counts = excluded.strata_counts, \
             team_id = excluded.team_id, latest_arrival = excluded.latest_arrival",
        );
        let sql = super::dialect(tx.backend(), sql);
        with_tx!(tx, |c| {
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.clone()));
            for r in chunk {
                q = q
                    .bind(tenant.id())
                    .bind(plan_id)
                    .bind(r.agent_id.as_str())
                    .bind(r.period_start)
                    .bind(r.period_end)
                    .bind(r.expected_volume)
                    .bind(r.threshold)
                    .bind(r.expected_random)
                    .bind(r.multiplier)
                    .bind(r.agent_p95_ms)
                    .bind(r.strata_expected.as_str())
                    .bind(r.strata_counts.as_str())
                    .bind(r.eligible)
                    .bind(r.random)
                    .bind(r.top_up)
                    .bind(r.targeted)
                    .bind(r.team_id.as_str())
                    .bind(r.latest_arrival);
            }
            q.execute(&mut *c).await.map(|r| r.rows_affected())
        })?;
    }
    Ok(())
}

/// Makes sure the plan periods exist; returns which of them are closed.
pub async fn plan_periods(
    tx: &mut Tx,
    tenant: &Tenant,
    plan_id: &str,
    periods: &[Period],
) -> Result<HashSet<i64>> {
    let mut closed = HashSet::new();
    if periods.is_empty() {
        return Ok(closed);
    }
    let mut sql = String::from(
        "INSERT INTO plan_periods (tenant_id, plan_id, period_start, period_end, \
         top_up_selections, agents_below_min) VALUES ",
    );
    for n in 0..periods.len() {
        if n > 0 {
            sql.push(',');
        }
        sql.push('(');
        sql.push_str(&placeholders(1 + 4 * n, 4));
        sql.push_str(", 0, 0)");
    }
    sql.push_str(" ON CONFLICT (tenant_id, plan_id, period_start) DO NOTHING");
    let sql = super::dialect(tx.backend(), sql);
    with_tx!(tx, |c| {
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.clone()));
        for p in periods {
            q = q
                .bind(tenant.id())
                .bind(plan_id)
                .bind(p.start_ms)
                .bind(p.end_ms);
        }
        q.execute(&mut *c).await.map(|r| r.rows_affected())
    })?;
    let sel = format!(
        "SELECT period_start FROM plan_periods WHERE tenant_id = $1 AND plan_id = $2 \
         AND closed_at IS NOT NULL AND period_start IN ({})",
        placeholders(3, periods.len())
    );
    let rows: Vec<i64> = with_tx!(tx, |c| {
        let mut q = sqlx::query_scalar::<_, i64>(sqlx::AssertSqlSafe(sel.clone()))
            .bind(tenant.id())
            .bind(plan_id);
        for p in periods {
            q = q.bind(p.start_ms);
        }
        q.fetch_all(&mut *c).await
    })?;
    closed.extend(rows);
    Ok(closed)
}

#[derive(sqlx::FromRow)]
struct RuleCountRow {
    period_start: i64,
    agent_id: String,
    rule_id: String,
    n: i64,
}

/// Rule counts of a plan for some periods: per (period, agent) and per
/// period ('' agent).
async fn load_rule_counts(
    tx: &mut Tx,
    tenant: &Tenant,
    plan_id: &str,
    starts: &[i64],
) -> Result<HashMap<(i64, String), BTreeMap<RuleId, u32>>> {
    let mut out: HashMap<(i64, String), BTreeMap<RuleId, u32>> = HashMap::new();
    if starts.is_empty() {
        return Ok(out);
    }
    let sql = format!(
        "SELECT period_start, agent_id, rule_id, n FROM rule_counts WHERE tenant_id = $1 \
         AND plan_id = $2 AND period_start IN ({}) ORDER BY period_start, agent_id, rule_id{}",
        placeholders(3, starts.len()),
        for_update(tx.backend())
    );
    let rows: Vec<RuleCountRow> = with_tx!(tx, |c| {
        let mut q = sqlx::query_as::<_, RuleCountRow>(sqlx::AssertSqlSafe(sql.clone()))
            .bind(tenant.id())
            .bind(plan_id);
        for s in starts {
            q = q.bind(*s);
        }
        q.fetch_all(&mut *c).await
    })?;
    for r in rows {
        if let Ok(rule) = RuleId::parse(r.rule_id) {
            out.entry((r.period_start, r.agent_id))
                .or_default()
                .insert(rule, u32_of(r.n));
        }
    }
    Ok(out)
}

async fn save_rule_counts(
    tx: &mut Tx,
    tenant: &Tenant,
    plan_id: &str,
    counts: &[(i64, String, String, i64)],
) -> Result<()> {
    for chunk in counts.chunks(200) {
        let mut sql = String::from(
            "INSERT INTO rule_counts (tenant_id, plan_id, period_start, agent_id, rule_id, n) VALUES ",
        );
        for n in 0..chunk.len() {
            if n > 0 {
                sql.push(',');
            }
            sql.push('(');
            sql.push_str(&placeholders(1 + n * 6, 6));
            sql.push(')');
        }
        sql.push_str(
            " ON CONFLICT (tenant_id, plan_id, period_start, agent_id, rule_id) \
             DO UPDATE SET n = excluded.n",
        );
        let sql = super::dialect(tx.backend(), sql);
        with_tx!(tx, |c| {
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.clone()));
            for (s, a, r, n) in chunk {
                q = q
                    .bind(tenant.id())
                    .bind(plan_id)
                    .bind(*s)
                    .bind(a.as_str())
                    .bind(r.as_str())
                    .bind(*n);
            }
            q.execute(&mut *c).await.map(|r| r.rows_affected())
        })?;
    }
    Ok(())
}

/// The 95th percentile of handle time of an agent or queue over a range.
async fn p95_of(
    tx: &mut Tx,
    tenant: &Tenant,
    column: &'static str,
    value: &str,
    start: i64,
    end: i64,
) -> Result<Option<i64>> {
    let sql = format!(
        "SELECT handle_ms FROM interactions WHERE tenant_id = $1 AND {column} = $2 \
         AND arrived_at >= $3 AND arrived_at < $4 AND handle_ms IS NOT NULL"
    );
    let mut values: Vec<i64> = with_tx!(tx, |c| sqlx::query_scalar::<_, i64>(
        sqlx::AssertSqlSafe(sql.clone())
    )
    .bind(tenant.id())
    .bind(value)
    .bind(start)
    .bind(end)
    .fetch_all(&mut *c)
    .await)?;
    Ok(targeted::p95(&mut values))
}

/// Opens the missing agent periods of one plan period: expected volume
/// from history, threshold, new-hire multiplier, percentiles.
async fn open_agent_periods(
    tx: &mut Tx,
    env: &Env<'_>,
    plan: &Plan,
    period: &Period,
    agents: &[&str],
) -> Result<()> {
    if agents.is_empty() {
        return Ok(());
    }
    let tenant = env.tenant;
    let tz = &env.settings.time_zone;
    let spec = &plan.spec;
    let previous = tz.previous(period);
    // History: the agents' last four periods' eligible volumes.
    let lookback = period
        .start_ms
        .saturating_sub(5 * period_len_ms(spec.period));
    #[derive(sqlx::FromRow)]
    struct Hist {
        agent_id: String,
        #[allow(dead_code)]
        period_start: i64,
        eligible: i64,
        strata_counts: String,
    }
    let mut history: HashMap<String, Vec<Hist>> = HashMap::new();
    for chunk in agents.chunks(500) {
        let sql = format!(
            "SELECT agent_id, period_start, eligible, strata_counts FROM agent_periods \
             WHERE tenant_id = $1 AND plan_id = $2 AND period_start < $3 AND period_start >= $4 \
             AND agent_id IN ({}) ORDER BY agent_id, period_start DESC",
            placeholders(5, chunk.len())
        );
        let rows: Vec<Hist> = with_tx!(tx, |c| {
            let mut q = sqlx::query_as::<_, Hist>(sqlx::AssertSqlSafe(sql.clone()))
                .bind(tenant.id())
                .bind(plan.id.as_str())
                .bind(period.start_ms)
                .bind(lookback);
            for a in chunk {
                q = q.bind(*a);
            }
            q.fetch_all(&mut *c).await
        })?;
        for r in rows {
            history.entry(r.agent_id.clone()).or_default().push(r);
        }
    }
    let prior = match spec.expected_agent_volume {
        Some(v) => f64::from(v),
        None => {
            let mut median = None;
            if let Some(prev) = previous
                && agents.iter().any(|a| !history.contains_key(*a))
            {
                let vols: Vec<i64> = with_tx!(tx, |c| sqlx::query_scalar::<_, i64>(
                    "SELECT eligible FROM agent_periods WHERE tenant_id = $1 AND plan_id = $2 \
                     AND period_start = $3"
                )
                .bind(tenant.id())
                .bind(plan.id.as_str())
                .bind(prev.start_ms)
                .fetch_all(&mut *c)
                .await)?;
                let vols: Vec<u64> = vols
                    .into_iter()
                    .map(|v| u64::try_from(v).unwrap_or(0))
                    .collect();
                median = quota::median(&vols);
            }
            median.unwrap_or_else(|| quota::default_prior(spec.period))
        }
    };
    // First sight of each agent, for new-hire over-sampling.
    let mut first_seen: HashMap<String, i64> = HashMap::new();
    if let Some(nh) = &spec.new_hire {
        let unknown: Vec<&str> = agents
            .iter()
            .copied()
            .filter(|a| {
                AgentId::parse(*a)
                    .ok()
                    .is_none_or(|id| !nh.agent_starts.contains_key(&id))
            })
            .collect();
        for chunk in unknown.chunks(500) {
            let sql = format!(
                "SELECT agent_id, MIN(arrived_at) FROM interactions WHERE tenant_id = $1 \
                 AND agent_id IN ({}) GROUP BY agent_id",
                placeholders(2, chunk.len())
            );
            let rows: Vec<(String, Option<i64>)> = with_tx!(tx, |c| {
                let mut q =
                    sqlx::query_as::<_, (String, Option<i64>)>(sqlx::AssertSqlSafe(sql.clone()))
                        .bind(tenant.id());
                for a in chunk {
                    q = q.bind(*a);
                }
                q.fetch_all(&mut *c).await
            })?;
            for (a, at) in rows {
                if let Some(at) = at {
                    first_seen.insert(a, at);
                }
            }
        }
    }
    let wants_agent_p95 = spec
        .rules
        .iter()
        .any(|r| r.condition == RuleCondition::LongHandleTime(HandleTimeBasis::Agent));
    let mut rows = Vec::with_capacity(agents.len());
    for agent in agents {
        let hist = history.get(*agent);
        let volumes: Vec<u64> = hist
            .map(|h| {
                h.iter()
                    .map(|r| u64::try_from(r.eligible).unwrap_or(0))
                    .collect()
            })
            .unwrap_or_default();
        let expected_volume = quota::expected_volume(&volumes, prior);
        let multiplier = spec.new_hire.as_ref().and_then(|nh| {
            let start = AgentId::parse(*agent)
                .ok()
                .and_then(|id| nh.agent_starts.get(&id).copied())
                .or_else(|| first_seen.get(*agent).copied())?;
            quota::is_new_hire(start, period.start_ms, nh.weeks).then_some(nh.multiplier)
        });
        let q = EffectiveQuota::new(&spec.target, multiplier);
        let strata_expected: BTreeMap<String, f64> = hist
            .and_then(|h| h.first())
            .map(|r| {
                json_map::<u64>(&r.strata_counts)
                    .into_iter()
                    .map(|(k, v)| (k, v as f64))
                    .collect()
            })
            .unwrap_or_default();
        let agent_p95_ms = match (wants_agent_p95, previous) {
            (true, Some(prev)) => {
                p95_of(tx, tenant, "agent_id", agent, prev.start_ms, prev.end_ms).await?
            }
            _ => None,
        };
        rows.push(AgentPeriodRow {
            agent_id: (*agent).to_owned(),
            period_start: period.start_ms,
            period_end: period.end_ms,
            expected_volume,
            threshold: q.threshold(expected_volume),
            expected_random: i64::from(q.expected_random(expected_volume)),
            multiplier: q.multiplier,
            agent_p95_ms,
            strata_expected: serde_json::to_string(&strata_expected).unwrap_or_default(),
            strata_counts: String::new(),
            eligible: 0,
            random: 0,
            top_up: 0,
            targeted: 0,
            team_id: String::new(),
            latest_arrival: i64::MIN,
        });
    }
    // Insert, leaving rows another replica opened first as they are.
    for chunk in rows.chunks(200) {
        let mut sql = String::from(
            "INSERT INTO agent_periods (tenant_id, plan_id, agent_id, period_start, period_end, \
             expected_volume, threshold, expected_random, multiplier, agent_p95_ms, \
             strata_expected, strata_counts, eligible, random, top_up, targeted, team_id, \
             latest_arrival) VALUES ",
        );
        for n in 0..chunk.len() {
            if n > 0 {
                sql.push(',');
            }
            sql.push('(');
            sql.push_str(&placeholders(1 + n * 11, 11));
            sql.push_str(", '', 0, 0, 0, 0, '', 0)");
        }
        sql.push_str(" ON CONFLICT (tenant_id, plan_id, period_start, agent_id) DO NOTHING");
        let sql = super::dialect(tx.backend(), sql);
        with_tx!(tx, |c| {
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.clone()));
            for r in chunk {
                q = q
                    .bind(tenant.id())
                    .bind(plan.id.as_str())
                    .bind(r.agent_id.as_str())
                    .bind(r.period_start)
                    .bind(r.period_end)
                    .bind(r.expected_volume)
                    .bind(r.threshold)
                    .bind(r.expected_random)
                    .bind(r.multiplier)
                    .bind(r.agent_p95_ms)
                    .bind(r.strata_expected.as_str());
            }
            q.execute(&mut *c).await.map(|r| r.rows_affected())
        })?;
    }
    Ok(())
}

/// A period's rough length, for history look-backs.
fn period_len_ms(kind: PeriodKind) -> i64 {
    use crate::time::DAY_MS;
    match kind {
        PeriodKind::Day => DAY_MS,
        PeriodKind::Week => 7 * DAY_MS,
        PeriodKind::Month => 31 * DAY_MS,
        PeriodKind::Quarter => 92 * DAY_MS,
        PeriodKind::Year => 366 * DAY_MS,
    }
}

/// A selection decided but not yet written.
#[derive(Debug, Clone)]
pub struct Pick<'a> {
    /// The interaction.
    pub interaction: &'a Interaction,
    /// The plan (None for manual).
    pub plan: Option<&'a Plan>,
    /// The period.
    pub period: Option<Period>,
    /// Why.
    pub reason: Reason,
    /// For targeted: the rule's kind code.
    pub rule_kind: i32,
    /// Stratum key.
    pub stratum: String,
    /// The draw.
    pub u: f64,
    /// New-hire over-sampled.
    pub new_hire: bool,
    /// Rules matched.
    pub matched: Vec<String>,
    /// For manual: who and why.
    pub by: Option<(String, String, String)>,
    /// For manual: the evaluator to route to and the due time.
    pub route_to: Option<EvaluatorId>,
    /// For manual: the due time.
    pub due_ms: Option<i64>,
}

/// The evaluators and their loads, loaded on first need.
pub struct Routing {
    /// Active evaluators.
    pub evaluators: Vec<Evaluator>,
    today: HashMap<String, u32>,
    same_agent: BTreeMap<(EvaluatorId, AgentId), u32>,
    /// The local day the loads count.
    pub day_start: i64,
}

impl Routing {
    /// Routes one item (recording the load), or `None` to queue it.
    pub fn route(
        &mut self,
        item: &WorkItem<'_>,
        exclude: Option<&EvaluatorId>,
        policy: crate::settings::ConflictPolicy,
    ) -> Option<EvaluatorId> {
        let chosen = crate::routing::choose(
            self.evaluators.iter().map(|e| {
                let load = crate::routing::Load {
                    assigned_today: self.today.get(e.id.as_str()).copied().unwrap_or(0),
                    same_agent_this_period: self
                        .same_agent
                        .get(&(e.id.clone(), item.agent.clone()))
                        .copied()
                        .unwrap_or(0),
                };
                (e.id.clone(), e, load)
            }),
            item,
            exclude,
            &policy,
        );
        if let Some(e) = &chosen {
            *self.today.entry(e.as_str().to_owned()).or_insert(0) += 1;
            *self
                .same_agent
                .entry((e.clone(), item.agent.clone()))
                .or_insert(0) += 1;
        }
        chosen
    }

    /// Whether `evaluator` may take the item now.
    pub fn check(
        &self,
        evaluator: &EvaluatorId,
        item: &WorkItem<'_>,
        policy: &crate::settings::ConflictPolicy,
    ) -> std::result::Result<(), &'static str> {
        let Some(e) = self.evaluators.iter().find(|e| &e.id == evaluator) else {
            return Err("the evaluator is not an active evaluator of this tenant");
        };
        let load = crate::routing::Load {
            assigned_today: self.today.get(e.id.as_str()).copied().unwrap_or(0),
            same_agent_this_period: self
                .same_agent
                .get(&(e.id.clone(), item.agent.clone()))
                .copied()
                .unwrap_or(0),
        };
        crate::routing::eligibility(e, load, item, policy).map_err(|i| i.describe())
    }

    /// Records one more routed item for `evaluator` today.
    pub fn note(&mut self, evaluator: &EvaluatorId, agent: &AgentId) {
        *self.today.entry(evaluator.as_str().to_owned()).or_insert(0) += 1;
        *self
            .same_agent
            .entry((evaluator.clone(), agent.clone()))
            .or_insert(0) += 1;
    }
}

/// Loads the active evaluators and their loads today (and per agent over
/// `period_starts` when the conflict policy limits it).
pub async fn load_routing(
    tx: &mut Tx,
    env: &Env<'_>,
    agents: &[&str],
    period_starts: &[i64],
) -> Result<Routing> {
    let tenant = env.tenant;
    let bodies: Vec<Vec<u8>> = with_tx!(tx, |c| sqlx::query_scalar::<_, Vec<u8>>(
        "SELECT body FROM evaluators WHERE tenant_id = $1 AND active ORDER BY id"
    )
    .bind(tenant.id())
    .fetch_all(&mut *c)
    .await)?;
    let mut evaluators = Vec::with_capacity(bodies.len());
    for b in bodies {
        let m = pb::Evaluator::decode(b.as_slice())
            .map_err(|e| Error::internal(format!("stored evaluator does not decode: {e}")))?;
        let e = Evaluator::parse(convert::evaluator_input(&m))
            .map_err(|v| Error::internal(format!("stored evaluator {} is invalid: {v}", m.id)))?;
        evaluators.push(e);
    }
    let day_start = super::day_start(&env.settings.time_zone, env.now);
    let loads: Vec<(String, i64)> = with_tx!(tx, |c| {
        sqlx::query_as::<_, (String, i64)>(
        "SELECT evaluator_id, routed FROM evaluator_days WHERE tenant_id = $1 AND day_start = $2"
    )
    .bind(tenant.id())
    .bind(day_start)
    .fetch_all(&mut *c)
    .await
    })?;
    let today = loads.into_iter().map(|(e, n)| (e, u32_of(n))).collect();
    let mut same_agent = BTreeMap::new();
    if env
        .settings
        .conflict_policy
        .max_assignments_per_agent_per_period
        .is_some()
        && !agents.is_empty()
        && !period_starts.is_empty()
    {
        let sql = format!(
            "SELECT evaluator_id, agent_id, COUNT(*) FROM assignments WHERE tenant_id = $1 \
             AND state <> 5 AND evaluator_id <> '' AND period_start IN ({}) AND agent_id IN ({}) \
             GROUP BY evaluator_id, agent_id",
            placeholders(2, period_starts.len()),
            placeholders(2 + period_starts.len(), agents.len())
        );
        let rows: Vec<(String, String, i64)> = with_tx!(tx, |c| {
            let mut q =
                sqlx::query_as::<_, (String, String, i64)>(sqlx::AssertSqlSafe(sql.clone()))
                    .bind(tenant.id());
            for p in period_starts {
                q = q.bind(*p);
            }
            for a in agents {
                q = q.bind(*a);
            }
            q.fetch_all(&mut *c).await
        })?;
        for (e, a, n) in rows {
            if let (Ok(e), Ok(a)) = (EvaluatorId::parse(e), AgentId::parse(a)) {
                same_agent.insert((e, a), u32_of(n));
            }
        }
    }
    Ok(Routing {
        evaluators,
        today,
        same_agent,
        day_start,
    })
}

/// Writes selections for `picks`, creating (and routing) an assignment for
/// each interaction that has no open one. Returns the selections and the
/// new assignments as the contract's messages.
pub async fn write_picks(tx: &mut Tx, env: &Env<'_>, picks: &[Pick<'_>]) -> Result<Made> {
    let mut made = Made::default();
    if picks.is_empty() {
        return Ok(made);
    }
    let tenant = env.tenant;
    // Open assignments of the picked interactions.
    let ids: Vec<&str> = {
        let mut v: Vec<&str> = picks.iter().map(|p| p.interaction.id.as_str()).collect();
        v.sort_unstable();
        v.dedup();
        v
    };
    let mut open: HashMap<String, String> = HashMap::new();
    for chunk in ids.chunks(500) {
        let sql = format!(
            "SELECT interaction_id, id FROM assignments WHERE tenant_id = $1 AND state <> 5 \
             AND interaction_id IN ({})",
            placeholders(2, chunk.len())
        );
        let rows: Vec<(String, String)> = with_tx!(tx, |c| {
            let mut q = sqlx::query_as::<_, (String, String)>(sqlx::AssertSqlSafe(sql.clone()))
                .bind(tenant.id());
            for id in chunk {
                q = q.bind(*id);
            }
            q.fetch_all(&mut *c).await
        })?;
        open.extend(rows);
    }
    let agents: Vec<&str> = {
        let mut v: Vec<&str> = picks
            .iter()
            .filter_map(|p| p.interaction.agent.as_ref().map(|a| a.as_str()))
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    };
    let period_starts: Vec<i64> = {
        let mut v: Vec<i64> = picks
            .iter()
            .filter_map(|p| p.period.map(|x| x.start_ms))
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    };
    let mut routing: Option<Routing> = None;
    let mut routed_count: BTreeMap<String, i64> = BTreeMap::new();
    let mut sel_rows: Vec<(pb::Selection, Vec<u8>, String)> = Vec::new();
    let mut asg_rows: Vec<(pb::Assignment, i64, Vec<u8>)> = Vec::new();
    for p in picks {
        let i = p.interaction;
        let dims = convert::dimensions(i);
        let dims_bytes = dims.encode_to_vec();
        let selection_id = new_id();
        let assignment_id = match open.get(i.id.as_str()) {
            Some(a) => a.clone(),
            None => {
                let id = new_id();
                let due = match (p.due_ms, p.plan) {
                    (Some(d), _) => d,
                    (None, Some(plan)) => {
                        crate::due::due_time(env.now, &plan.spec.due, env.settings)
                    }
                    (None, None) => crate::due::due_time(
                        env.now,
                        &crate::plan::DueRule::default(),
                        env.settings,
                    ),
                };
                let pool = p
                    .plan
                    .map_or(crate::plan::EvaluatorPool::Any, |pl| pl.spec.evaluator_pool);
                let evaluator = match (&p.route_to, i.agent.as_ref()) {
                    (Some(e), _) => Some(e.clone()),
                    (None, Some(agent)) => {
                        if routing.is_none() {
                            routing = Some(load_routing(tx, env, &agents, &period_starts).await?);
                        }
                        match routing.as_mut() {
                            Some(r) => r.route(
                                &WorkItem {
                                    key: &id,
                                    agent,
                                    team: i.team.as_ref(),
                                    channel: i.channel,
                                    language: i.language.as_ref(),
                                    pool,
                                },
                                None,
                                env.settings.conflict_policy,
                            ),
                            None => None,
                        }
                    }
                    (None, None) => None,
                };
                if let Some(e) = &evaluator {
                    *routed_count.entry(e.as_str().to_owned()).or_insert(0) += 1;
                }
                let state = if evaluator.is_some() { 2 } else { 1 };
                let a = pb::Assignment {
                    id: id.clone(),
                    interaction: Some(dims.clone()),
                    selection_id: selection_id.clone(),
                    plan_id: p.plan.map(|x| x.id.as_str().to_owned()).unwrap_or_default(),
                    plan_version: p.plan.map_or(0, |x| i32::try_from(x.version).unwrap_or(0)),
                    period: p.period.map(|x| convert::time_range(x.start_ms, x.end_ms)),
                    reason: p.reason.code(),
                    rule_id: match &p.reason {
                        Reason::Targeted(r) => r.as_str().to_owned(),
                        _ => String::new(),
                    },
                    state,
                    evaluator_id: evaluator.map(|e| e.as_str().to_owned()).unwrap_or_default(),
                    due_time: Some(earshot_kit::time::from_millis(due)),
                    create_time: Some(earshot_kit::time::from_millis(env.now)),
                    route_time: (state == 2).then(|| earshot_kit::time::from_millis(env.now)),
                    etag: convert::etag(1),
                    ..Default::default()
                };
                let pool_code = match pool {
                    crate::plan::EvaluatorPool::Any => 1,
                    crate::plan::EvaluatorPool::Internal => 2,
                    crate::plan::EvaluatorPool::External => 3,
                };
                asg_rows.push((a, pool_code, dims_bytes.clone()));
                open.insert(i.id.as_str().to_owned(), id.clone());
                id
            }
        };
        let (by, role, note) = p.by.clone().unwrap_or_default();
        let s = pb::Selection {
            id: selection_id,
            interaction: Some(dims),
            plan_id: p.plan.map(|x| x.id.as_str().to_owned()).unwrap_or_default(),
            plan_version: p.plan.map_or(0, |x| i32::try_from(x.version).unwrap_or(0)),
            period: p.period.map(|x| convert::time_range(x.start_ms, x.end_ms)),
            reason: p.reason.code(),
            rule_id: match &p.reason {
                Reason::Targeted(r) => r.as_str().to_owned(),
                _ => String::new(),
            },
            rule_kind: p.rule_kind,
            stratum: p.stratum.clone(),
            draw: p.u,
            new_hire: p.new_hire,
            matched_rule_ids: p.matched.clone(),
            select_time: Some(earshot_kit::time::from_millis(env.now)),
            assignment_id,
            selected_by: convert::actor(&by, &role),
            note,
        };
        sel_rows.push((s, dims_bytes, role));
    }
    // Selections.
    for chunk in sel_rows.chunks(100) {
        let mut sql = String::from(
            "INSERT INTO selections (tenant_id, id, interaction_id, plan_id, plan_version, \
             period_start, period_end, reason, rule_id, rule_kind, stratum, draw, new_hire, \
             matched_rule_ids, selected_at, assignment_id, selected_by, selected_role, note, \
             agent_id, team_id, dims) VALUES ",
        );
        for n in 0..chunk.len() {
            if n > 0 {
                sql.push(',');
            }
            sql.push('(');
            sql.push_str(&placeholders(1 + n * 22, 22));
            sql.push(')');
        }
        let sql = super::dialect(tx.backend(), sql);
        with_tx!(tx, |c| {
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.clone()));
            for (s, dims, role) in chunk {
                let d = s.interaction.clone().unwrap_or_default();
                let period = s.period.unwrap_or_default();
                q = q
                    .bind(tenant.id())
                    .bind(s.id.as_str())
                    .bind(d.interaction_id.clone())
                    .bind(s.plan_id.as_str())
                    .bind(i64::from(s.plan_version))
                    .bind(period.start_time.as_ref().map(convert::ts_ms))
                    .bind(period.end_time.as_ref().map(convert::ts_ms))
                    .bind(i64::from(s.reason))
                    .bind(s.rule_id.as_str())
                    .bind(i64::from(s.rule_kind))
                    .bind(s.stratum.as_str())
                    .bind(s.draw)
                    .bind(s.new_hire)
                    .bind(s.matched_rule_ids.join(","))
                    .bind(env.now)
                    .bind(s.assignment_id.as_str())
                    .bind(
                        s.selected_by
                            .as_ref()
                            .map(|a| a.subject.clone())
                            .unwrap_or_default(),
                    )
                    .bind(role.as_str())
                    .bind(s.note.as_str())
                    .bind(d.agent_id.clone())
                    .bind(d.team_id.clone())
                    .bind(dims.as_slice());
            }
            q.execute(&mut *c).await.map(|r| r.rows_affected())
        })?;
    }
    // Assignments.
    for chunk in asg_rows.chunks(100) {
        let mut sql = String::from(
            "INSERT INTO assignments (tenant_id, id, selection_id, interaction_id, plan_id, \
             plan_version, period_start, period_end, reason, rule_id, state, evaluator_id, \
             due_at, created_at, route_at, claim_at, complete_at, evaluation_id, overdue, \
             reroute_count, cancel_reason, revision, agent_id, team_id, channel, language, pool, \
             dims) VALUES ",
        );
        for n in 0..chunk.len() {
            if n > 0 {
                sql.push(',');
            }
            sql.push('(');
            sql.push_str(&placeholders(1 + n * 21, 15));
            sql.push_str(", NULL, NULL, '', FALSE, 0, '', 1, ");
            sql.push_str(&placeholders(1 + n * 21 + 15, 6));
            sql.push(')');
        }
        let sql = super::dialect(tx.backend(), sql);
        with_tx!(tx, |c| {
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql.clone()));
            for (a, pool, dims) in chunk {
                let d = a.interaction.clone().unwrap_or_default();
                let period = a.period.unwrap_or_default();
                q = q
                    .bind(tenant.id())
                    .bind(a.id.as_str())
                    .bind(a.selection_id.as_str())
                    .bind(d.interaction_id.clone())
                    .bind(a.plan_id.as_str())
                    .bind(i64::from(a.plan_version))
                    .bind(period.start_time.as_ref().map(convert::ts_ms))
                    .bind(period.end_time.as_ref().map(convert::ts_ms))
                    .bind(i64::from(a.reason))
                    .bind(a.rule_id.as_str())
                    .bind(i64::from(a.state))
                    .bind(a.evaluator_id.as_str())
                    .bind(a.due_time.as_ref().map_or(0, convert::ts_ms))
                    .bind(env.now)
                    .bind(a.route_time.as_ref().map(convert::ts_ms))
                    .bind(d.agent_id.clone())
                    .bind(d.team_id.clone())
                    .bind(i64::from(d.channel))
                    .bind(d.language.clone())
                    .bind(*pool)
                    .bind(dims.as_slice());
            }
            q.execute(&mut *c).await.map(|r| r.rows_affected())
        })?;
    }
    if !routed_count.is_empty() {
        let day_start = routing.as_ref().map_or(env.now, |r| r.day_start);
        bump_evaluator_days(tx, tenant, day_start, &routed_count).await?;
    }
    made.selections = sel_rows.into_iter().map(|(s, _, _)| s).collect();
    made.assignments = asg_rows.into_iter().map(|(a, _, _)| a).collect();
    Ok(made)
}

/// Adds routed assignments to the evaluators' day counters.
pub async fn bump_evaluator_days(
    tx: &mut Tx,
    tenant: &Tenant,
    day_start: i64,
    counts: &BTreeMap<String, i64>,
) -> Result<()> {
    for (e, n) in counts {
        with_tx!(tx, |c| sqlx::query(
            "INSERT INTO evaluator_days (tenant_id, evaluator_id, day_start, routed) \
             VALUES ($1, $2, $3, $4) ON CONFLICT (tenant_id, evaluator_id, day_start) \
             DO UPDATE SET routed = evaluator_days.routed + excluded.routed"
        )
        .bind(tenant.id())
        .bind(e.as_str())
        .bind(day_start)
        .bind(*n)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))?;
    }
    Ok(())
}

/// Applies the active plans to `offers`, writing counters, selections and
/// assignments. Plans are applied in the order given (creation order).
pub async fn apply_plans(
    tx: &mut Tx,
    env: &Env<'_>,
    plans: &[Arc<Plan>],
    offers: &[Offer<'_>],
) -> Result<Made> {
    let mut made = Made::default();
    if plans.is_empty() || offers.is_empty() {
        return Ok(made);
    }
    let tenant = env.tenant;
    let tz = &env.settings.time_zone;
    // Selections that exist already for interactions stored before.
    let old_ids: Vec<&str> = {
        let mut v: Vec<&str> = offers
            .iter()
            .filter(|o| !o.new)
            .map(|o| o.interaction.id.as_str())
            .collect();
        v.sort_unstable();
        v.dedup();
        v
    };
    let mut selected_by: HashMap<String, HashSet<String>> = HashMap::new();
    for chunk in old_ids.chunks(500) {
        let sql = format!(
            "SELECT interaction_id, plan_id FROM selections WHERE tenant_id = $1 \
             AND interaction_id IN ({})",
            placeholders(2, chunk.len())
        );
        let rows: Vec<(String, String)> = with_tx!(tx, |c| {
            let mut q = sqlx::query_as::<_, (String, String)>(sqlx::AssertSqlSafe(sql.clone()))
                .bind(tenant.id());
            for id in chunk {
                q = q.bind(*id);
            }
            q.fetch_all(&mut *c).await
        })?;
        for (i, p) in rows {
            selected_by.entry(i).or_default().insert(p);
        }
    }
    for plan in plans {
        let spec = &plan.spec;
        let plan_id = plan.id.as_str();
        // Eligible offers with their periods.
        let mut candidates: Vec<(&Offer<'_>, Period)> = Vec::new();
        for o in offers {
            let i = o.interaction;
            let sel = selected_by.get(i.id.as_str());
            if sel.is_some_and(|s| s.contains(plan_id)) {
                continue;
            }
            let already = sel.is_some_and(|s| !s.is_empty());
            let ctx = EligibilityContext {
                time_zone: tz,
                business_hours: &env.settings.business_hours,
                already_selected: already,
            };
            if eligibility::check(spec, i, &ctx).is_err() {
                continue;
            }
            if let Some(p) = tz.period(spec.period, i.arrived_ms) {
                candidates.push((o, p));
            }
        }
        if candidates.is_empty() {
            continue;
        }
        let mut periods: Vec<Period> = candidates.iter().map(|c| c.1).collect();
        periods.sort_by_key(|p| p.start_ms);
        periods.dedup_by_key(|p| p.start_ms);
        let closed = plan_periods(tx, tenant, plan_id, &periods).await?;
        // Late facts only count while the period is open.
        candidates.retain(|(o, p)| o.draw_now || !closed.contains(&p.start_ms));
        if candidates.is_empty() {
            continue;
        }
        let mut keys: Vec<(String, i64)> = candidates
            .iter()
            .filter_map(|(o, p)| {
                o.interaction
                    .agent
                    .as_ref()
                    .map(|a| (a.as_str().to_owned(), p.start_ms))
            })
            .collect();
        keys.sort();
        keys.dedup();
        let mut aps = load_agent_periods(tx, tenant, plan_id, &keys).await?;
        let missing: Vec<&(String, i64)> = keys.iter().filter(|k| !aps.contains_key(*k)).collect();
        if !missing.is_empty() {
            for period in &periods {
                let agents: Vec<&str> = missing
                    .iter()
                    .filter(|k| k.1 == period.start_ms)
                    .map(|k| k.0.as_str())
                    .collect();
                open_agent_periods(tx, env, plan, period, &agents).await?;
            }
            let again: Vec<(String, i64)> = missing.into_iter().cloned().collect();
            aps.extend(load_agent_periods(tx, tenant, plan_id, &again).await?);
        }
        let starts: Vec<i64> = periods.iter().map(|p| p.start_ms).collect();
        let mut rule_counts = if spec.rules.is_empty() {
            HashMap::new()
        } else {
            load_rule_counts(tx, tenant, plan_id, &starts).await?
        };
        // Queue percentiles, when a rule needs them.
        let mut queue_p95: HashMap<(i64, String), Option<i64>> = HashMap::new();
        if spec
            .rules
            .iter()
            .any(|r| r.condition == RuleCondition::LongHandleTime(HandleTimeBasis::Queue))
        {
            for (o, p) in &candidates {
                if let Some(q) = &o.interaction.queue {
                    let key = (p.start_ms, q.as_str().to_owned());
                    if queue_p95.contains_key(&key) {
                        continue;
                    }
                    let v = match tz.previous(p) {
                        Some(prev) => {
                            p95_of(
                                tx,
                                tenant,
                                "queue_id",
                                q.as_str(),
                                prev.start_ms,
                                prev.end_ms,
                            )
                            .await?
                        }
                        None => None,
                    };
                    queue_p95.insert(key, v);
                }
            }
        }
        let mut counts: HashMap<(String, i64), AgentPeriodCounts> = HashMap::new();
        let mut strata_counts: HashMap<(String, i64), BTreeMap<String, u64>> = HashMap::new();
        let mut plan_counts: HashMap<i64, PlanPeriodCounts> = HashMap::new();
        let mut touched_rules: HashSet<(i64, String, RuleId)> = HashSet::new();
        let mut picks: Vec<Pick<'_>> = Vec::new();
        let random_reason = if spec.stratification.is_some() {
            Reason::Stratified
        } else {
            Reason::Random
        };
        for (o, period) in &candidates {
            let i = o.interaction;
            let Some(agent) = &i.agent else {
                continue;
            };
            let key = (agent.as_str().to_owned(), period.start_ms);
            let Some(ap) = aps.get_mut(&key) else {
                continue;
            };
            let quota = ap.quota(plan);
            let c = counts.entry(key.clone()).or_insert_with(|| {
                let by_rule = rule_counts
                    .get(&(period.start_ms, agent.as_str().to_owned()))
                    .cloned()
                    .unwrap_or_default();
                ap.counts(by_rule)
            });
            let pc = plan_counts
                .entry(period.start_ms)
                .or_insert_with(|| PlanPeriodCounts {
                    by_rule: rule_counts
                        .remove(&(period.start_ms, String::new()))
                        .unwrap_or_default(),
                });
            let stratum = spec
                .stratification
                .as_ref()
                .map_or_else(StratumKey::none, |s| stratification::stratum_of(s, i, tz));
            let threshold = match &spec.stratification {
                Some(s) => {
                    let expected: BTreeMap<StratumKey, f64> = json_map::<f64>(&ap.strata_expected)
                        .into_iter()
                        .map(|(k, v)| (StratumKey::from_stored(k), v))
                        .collect();
                    stratification::stratum_threshold(
                        s.allocation,
                        ap.threshold,
                        ap.expected_volume,
                        &expected,
                        &stratum,
                    )
                }
                None => ap.threshold,
            };
            let p95 = HandleTimeThresholds {
                agent_p95_ms: ap.agent_p95_ms,
                queue_p95_ms: i
                    .queue
                    .as_ref()
                    .and_then(|q| queue_p95.get(&(period.start_ms, q.as_str().to_owned())))
                    .copied()
                    .flatten(),
            };
            let matched = targeted::matching(&spec.rules, i, &o.facts, &p95);
            let u = draw(plan.seed, i.id.as_str());
            let decision = selection::decide(
                &Candidate {
                    u,
                    threshold,
                    matched: &matched,
                    draw_now: o.draw_now,
                },
                &quota,
                u32_of(ap.expected_random),
                c,
                pc,
            );
            if o.draw_now {
                c.eligible += 1;
                let sc = strata_counts
                    .entry(key.clone())
                    .or_insert_with(|| json_map::<u64>(&ap.strata_counts));
                *sc.entry(stratum.as_str().to_owned()).or_insert(0) += 1;
                if i.arrived_ms >= ap.latest_arrival {
                    ap.latest_arrival = i.arrived_ms;
                    ap.team_id = i
                        .team
                        .as_ref()
                        .map(|t| t.as_str().to_owned())
                        .unwrap_or_default();
                }
            }
            selection::record(&decision, c, pc);
            let (reason, rule_kind) = match &decision {
                Decision::Random => (random_reason.clone(), 0),
                Decision::Targeted(rule) => {
                    touched_rules.insert((
                        period.start_ms,
                        agent.as_str().to_owned(),
                        rule.clone(),
                    ));
                    let kind = spec
                        .rules
                        .iter()
                        .find(|r| &r.id == rule)
                        .map_or(0, |r| r.condition.kind_code());
                    (Reason::Targeted(rule.clone()), kind)
                }
                Decision::Skip(_) => continue,
            };
            selected_by
                .entry(i.id.as_str().to_owned())
                .or_default()
                .insert(plan_id.to_owned());
            picks.push(Pick {
                interaction: i,
                plan: Some(plan),
                period: Some(*period),
                reason,
                rule_kind,
                stratum: stratum.as_str().to_owned(),
                u,
                new_hire: quota.new_hire(),
                matched: matched.iter().map(|r| r.id.as_str().to_owned()).collect(),
                by: None,
                route_to: None,
                due_ms: None,
            });
        }
        // Counters back.
        let mut changed: Vec<&AgentPeriodRow> = Vec::new();
        for (key, c) in &counts {
            if let Some(ap) = aps.get_mut(key) {
                ap.eligible = i64::try_from(c.eligible).unwrap_or(i64::MAX);
                ap.random = i64::from(c.random);
                ap.top_up = i64::from(c.top_up);
                ap.targeted = i64::from(c.targeted);
                if let Some(sc) = strata_counts.get(key) {
                    ap.strata_counts = serde_json::to_string(sc).unwrap_or_default();
                }
            }
        }
        for key in counts.keys() {
            if let Some(ap) = aps.get(key) {
                changed.push(ap);
            }
        }
        changed.sort_by(|a, b| (&a.agent_id, a.period_start).cmp(&(&b.agent_id, b.period_start)));
        save_agent_periods(tx, tenant, plan_id, &changed).await?;
        if !touched_rules.is_empty() {
            let mut rows: Vec<(i64, String, String, i64)> = Vec::new();
            let mut plan_level: HashSet<(i64, RuleId)> = HashSet::new();
            for (start, agent, rule) in &touched_rules {
                let n = counts
                    .get(&(agent.clone(), *start))
                    .and_then(|c| c.by_rule.get(rule))
                    .copied()
                    .unwrap_or(0);
                rows.push((
                    *start,
                    agent.clone(),
                    rule.as_str().to_owned(),
                    i64::from(n),
                ));
                plan_level.insert((*start, rule.clone()));
            }
            for (start, rule) in plan_level {
                let n = plan_counts
                    .get(&start)
                    .and_then(|c| c.by_rule.get(&rule))
                    .copied()
                    .unwrap_or(0);
                rows.push((start, String::new(), rule.as_str().to_owned(), i64::from(n)));
            }
            rows.sort();
            save_rule_counts(tx, tenant, plan_id, &rows).await?;
        }
        let m = write_picks(tx, env, &picks).await?;
        made.selections.extend(m.selections);
        made.assignments.extend(m.assignments);
    }
    Ok(made)
}
