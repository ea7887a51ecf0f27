//! Sampling plans: the model, its validation, and versions.
//!
//! A [`PlanInput`] is the definition as received (plain data, wire codes,
//! milliseconds); [`PlanSpec::parse`] validates all of it at once, with field
//! paths relative to the `SamplingPlan` message. A [`Plan`] is a stored
//! version: id, version number, seed and state around a spec. How a plan
//! selects lives in [`crate::selection`], [`crate::top_up`] and friends.

use std::collections::{BTreeMap, BTreeSet};

use crate::calendar::PeriodKind;
use crate::ids::{AgentId, LanguageTag, PlanId, QueueId, RuleId, TeamId, check_name, check_text};
use crate::interaction::{Channel, Direction};
use crate::sample_size::ProportionTarget;
use crate::time::{DAY_MS, HOUR_MS};
use crate::violation::Violations;

/// The most targeted rules in a plan.
pub const MAX_RULES: usize = 32;
/// The most ids (or dispositions) in one scope list.
pub const MAX_SCOPE_LIST: usize = 1000;
/// The most strata per agent.
pub const MAX_STRATA: usize = 64;
/// The largest per-agent minimum or count.
pub const MAX_MIN_PER_AGENT: u32 = 1000;
/// The largest per-agent maximum.
pub const MAX_MAX_PER_AGENT: u32 = 10_000;

/// The lifecycle state of a plan. Codes are those of `PlanState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PlanState {
    /// Selecting.
    Active,
    /// Kept, not selecting.
    Paused,
    /// Retired for good.
    Archived,
}

impl PlanState {
    /// The state of a wire code; 0 means active.
    pub fn from_code(code: i32) -> Option<Self> {
        match code {
            0 | 1 => Some(PlanState::Active),
            2 => Some(PlanState::Paused),
            3 => Some(PlanState::Archived),
            _ => None,
        }
    }

    /// The wire code.
    pub fn code(self) -> i32 {
        match self {
            PlanState::Active => 1,
            PlanState::Paused => 2,
            PlanState::Archived => 3,
        }
    }
}

/// Which interactions a plan covers; empty sets mean "all".
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Scope {
    /// Channels.
    pub channels: BTreeSet<Channel>,
    /// Directions.
    pub directions: BTreeSet<Direction>,
    /// Queues.
    pub queues: BTreeSet<QueueId>,
    /// Teams (as of the interaction).
    pub teams: BTreeSet<TeamId>,
    /// Agents.
    pub agents: BTreeSet<AgentId>,
    /// Dispositions.
    pub dispositions: BTreeSet<String>,
    /// Languages (a tag covers its sub-tags: `pt` covers `pt-BR`).
    pub languages: Vec<LanguageTag>,
    /// Shortest handle time ("too short" below it).
    pub min_handle_ms: Option<i64>,
    /// Longest handle time.
    pub max_handle_ms: Option<i64>,
    /// Only interactions that arrived within business hours.
    pub business_hours_only: bool,
}

/// The random sample's size per agent per period.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum RandomTarget {
    /// A fixed number.
    Count(u32),
    /// A share of the agent's volume, in (0, 1].
    Rate(f64),
    /// Enough to estimate a proportion per agent.
    Significance(ProportionTarget),
}

/// The per-agent quota per period.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PerAgentTarget {
    /// The fewest selections (all reasons), met at close as far as volume allows.
    pub min: u32,
    /// The most selections (all reasons), never exceeded; `None` for no cap.
    pub max: Option<u32>,
    /// The random sample's size.
    pub random: RandomTarget,
}

/// A dimension to stratify by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StratumDimension {
    /// Channel.
    Channel,
    /// Queue.
    Queue,
    /// Band of local time of day.
    TimeOfDay,
    /// Local day of the week.
    DayOfWeek,
}

/// How a target is split across strata.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Allocation {
    /// In proportion to volume.
    Proportional,
    /// Equally across strata with volume.
    Equal,
}

/// Stratification of the random sample.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stratification {
    /// One or two dimensions.
    pub dimensions: Vec<StratumDimension>,
    /// How the target is split.
    pub allocation: Allocation,
    /// Local hours at which time-of-day bands start; starts with 0, ascending.
    pub band_starts: Vec<u8>,
}

/// Interactions left out although in scope.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Exclusions {
    /// Abandoned interactions.
    pub abandoned: bool,
    /// Interactions selected by another plan or by hand.
    pub already_selected: bool,
    /// These dispositions.
    pub dispositions: BTreeSet<String>,
    /// Transferred interactions.
    pub transferred: bool,
}

/// Whose handle-time percentile a long-handle-time rule compares with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HandleTimeBasis {
    /// The agent's previous period.
    Agent,
    /// The queue's previous period.
    Queue,
}

/// What a targeted rule looks for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuleCondition {
    /// A survey with CSAT at or below this (1 to 4).
    LowCsat(u8),
    /// A survey with NPS 0 to 6.
    NpsDetractor,
    /// A complaint.
    Complaint,
    /// A repeat contact voided FCR.
    RepeatContact,
    /// Handle time above the 95th percentile.
    LongHandleTime(HandleTimeBasis),
    /// Transferred.
    Transferred,
    /// Escalated.
    Escalated,
    /// One of these dispositions.
    Disposition(BTreeSet<String>),
    /// The attribute has one of these values.
    Attribute {
        /// The attribute key.
        key: String,
        /// The matching values.
        values: BTreeSet<String>,
    },
}

impl RuleCondition {
    /// The `TargetedRuleKind` code.
    pub fn kind_code(&self) -> i32 {
        match self {
            RuleCondition::LowCsat(_) => 1,
            RuleCondition::NpsDetractor => 2,
            RuleCondition::Complaint => 3,
            RuleCondition::RepeatContact => 4,
            RuleCondition::LongHandleTime(_) => 5,
            RuleCondition::Transferred => 6,
            RuleCondition::Escalated => 7,
            RuleCondition::Disposition(_) => 8,
            RuleCondition::Attribute { .. } => 9,
        }
    }

    /// True when the condition can only become true through a late fact
    /// (survey, feedback, repeat contact), so it is re-checked when one arrives.
    pub fn depends_on_late_facts(&self) -> bool {
        matches!(
            self,
            RuleCondition::LowCsat(_)
                | RuleCondition::NpsDetractor
                | RuleCondition::Complaint
                | RuleCondition::RepeatContact
        )
    }
}

/// A targeted rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TargetedRule {
    /// Id within the plan.
    pub id: RuleId,
    /// Name shown to people.
    pub display_name: String,
    /// 1 (first) to 1000.
    pub priority: u16,
    /// Most selections per agent per period.
    pub cap_per_agent: u32,
    /// Most selections per period over all agents; `None` for no cap.
    pub cap_per_period: Option<u32>,
    /// The condition.
    pub condition: RuleCondition,
}

/// New-hire over-sampling.
#[derive(Debug, Clone, PartialEq)]
pub struct NewHire {
    /// Weeks from the agent's start.
    pub weeks: u32,
    /// The multiplier, in (1, 10].
    pub multiplier: f64,
    /// Known start times by agent; others start at their first interaction.
    pub agent_starts: BTreeMap<AgentId, i64>,
}

/// When evaluations are due.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DueRule {
    /// Time allowed; `None` uses the tenant's default.
    pub within_ms: Option<i64>,
    /// Count it in business hours only.
    pub business_hours_only: bool,
}

/// Which evaluators may receive a plan's assignments.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum EvaluatorPool {
    /// Any.
    #[default]
    Any,
    /// Internal only.
    Internal,
    /// External only.
    External,
}

/// A valid plan definition (what a version holds).
#[derive(Debug, Clone, PartialEq)]
pub struct PlanSpec {
    /// Name.
    pub display_name: String,
    /// Description.
    pub description: String,
    /// Active or paused (archiving is [`Plan::archive`]'s).
    pub state: PlanState,
    /// Scope.
    pub scope: Scope,
    /// The quota period: day, week or month.
    pub period: PeriodKind,
    /// The per-agent quota.
    pub target: PerAgentTarget,
    /// Stratification; `None` for none.
    pub stratification: Option<Stratification>,
    /// Exclusions.
    pub exclusions: Exclusions,
    /// Targeted rules, in the order they are tried (priority, then list order).
    pub rules: Vec<TargetedRule>,
    /// New-hire over-sampling; `None` for none.
    pub new_hire: Option<NewHire>,
    /// Due rule.
    pub due: DueRule,
    /// Evaluator pool.
    pub evaluator_pool: EvaluatorPool,
    /// Assumed volume for agents with no history; `None` derives it.
    pub expected_agent_volume: Option<u32>,
}

/// Scope as received.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ScopeInput {
    /// Channel codes.
    pub channels: Vec<i32>,
    /// Direction codes.
    pub directions: Vec<i32>,
    /// Queue ids.
    pub queue_ids: Vec<String>,
    /// Team ids.
    pub team_ids: Vec<String>,
    /// Agent ids.
    pub agent_ids: Vec<String>,
    /// Dispositions.
    pub dispositions: Vec<String>,
    /// Language tags.
    pub languages: Vec<String>,
    /// Shortest handle time.
    pub min_handle_ms: Option<i64>,
    /// Longest handle time.
    pub max_handle_ms: Option<i64>,
    /// Business hours only.
    pub business_hours_only: bool,
}

/// The random target as received (the `oneof`).
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum RandomTargetInput {
    /// Not set: the count is the minimum.
    #[default]
    Unset,
    /// `count`.
    Count(i32),
    /// `rate`.
    Rate(f64),
    /// `significance` (confidence, margin, proportion; 0 = default).
    Significance(f64, f64, f64),
}

/// Per-agent target as received.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct TargetInput {
    /// `min_per_agent`.
    pub min_per_agent: i32,
    /// `max_per_agent` (0 = none).
    pub max_per_agent: i32,
    /// The random target.
    pub random: RandomTargetInput,
}

/// Stratification as received.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StratificationInput {
    /// `StratumDimension` codes.
    pub dimensions: Vec<i32>,
    /// `Allocation` code.
    pub allocation: i32,
    /// Band start hours.
    pub band_start_hours: Vec<i32>,
}

/// Exclusions as received.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ExclusionsInput {
    /// `exclude_abandoned`.
    pub abandoned: bool,
    /// `exclude_already_selected`.
    pub already_selected: bool,
    /// `exclude_dispositions`.
    pub dispositions: Vec<String>,
    /// `exclude_transferred`.
    pub transferred: bool,
}

/// A targeted rule as received.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RuleInput {
    /// `rule_id`.
    pub rule_id: String,
    /// `display_name`.
    pub display_name: String,
    /// `TargetedRuleKind` code.
    pub kind: i32,
    /// `priority` (0 means 1000: tried last).
    pub priority: i32,
    /// `cap_per_agent`.
    pub cap_per_agent: i32,
    /// `cap_per_period` (0 = none).
    pub cap_per_period: i32,
    /// `csat_at_most`.
    pub csat_at_most: i32,
    /// `HandleTimeBasis` code.
    pub handle_time_basis: i32,
    /// `dispositions`.
    pub dispositions: Vec<String>,
    /// `attribute_key`.
    pub attribute_key: String,
    /// `attribute_values`.
    pub attribute_values: Vec<String>,
}

/// New-hire over-sampling as received.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct NewHireInput {
    /// `weeks`.
    pub weeks: i32,
    /// `multiplier`.
    pub multiplier: f64,
    /// `agent_start_times` in epoch ms.
    pub agent_starts: BTreeMap<String, i64>,
}

/// A plan definition as received.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PlanInput {
    /// `display_name`.
    pub display_name: String,
    /// `description`.
    pub description: String,
    /// `PlanState` code.
    pub state: i32,
    /// `scope`.
    pub scope: ScopeInput,
    /// `Granularity` code.
    pub period: i32,
    /// `target`; `None` when the message is unset.
    pub target: Option<TargetInput>,
    /// `stratification`; `None` when unset.
    pub stratification: Option<StratificationInput>,
    /// `exclusions`.
    pub exclusions: ExclusionsInput,
    /// `targeted_rules`.
    pub rules: Vec<RuleInput>,
    /// `new_hire`; `None` when unset.
    pub new_hire: Option<NewHireInput>,
    /// `due.due_within`.
    pub due_within_ms: Option<i64>,
    /// `due.business_hours_only`.
    pub due_business_hours_only: bool,
    /// `EvaluatorPool` code.
    pub evaluator_pool: i32,
    /// `expected_agent_volume` (0 = derive).
    pub expected_agent_volume: i32,
}

fn id_set<T: Ord>(
    v: &mut Violations,
    field: &str,
    values: &[String],
    parse: impl Fn(String) -> Result<T, String>,
) -> BTreeSet<T> {
    if values.len() > MAX_SCOPE_LIST {
        v.add(field, format!("must have at most {MAX_SCOPE_LIST} entries"));
    }
    let mut out = BTreeSet::new();
    for (n, value) in values.iter().enumerate() {
        if let Some(x) = v.check(&format!("{field}[{n}]"), parse(value.clone())) {
            out.insert(x);
        }
    }
    out
}

fn text_set(
    v: &mut Violations,
    field: &str,
    values: &[String],
    max_len: usize,
) -> BTreeSet<String> {
    id_set(v, field, values, |s| {
        if s.is_empty() {
            Err("must not be empty".into())
        } else {
            check_text(&s, max_len).map(|()| s)
        }
    })
}

fn count(v: &mut Violations, field: &str, value: i32, max: u32) -> u32 {
    match u32::try_from(value) {
        Ok(n) if n <= max => n,
        _ => {
            v.add(field, format!("must be 0 to {max}"));
            0
        }
    }
}

fn parse_scope(input: &ScopeInput) -> Result<Scope, Violations> {
    let mut v = Violations::new();
    let mut channels = BTreeSet::new();
    for (n, code) in input.channels.iter().enumerate() {
        match Channel::from_code(*code) {
            Some(c) => {
                channels.insert(c);
            }
            None => v.add(format!("channels[{n}]"), "unknown channel"),
        }
    }
    let mut directions = BTreeSet::new();
    for (n, code) in input.directions.iter().enumerate() {
        match Direction::from_code(*code) {
            Some(d) => {
                directions.insert(d);
            }
            None => v.add(format!("directions[{n}]"), "unknown direction"),
        }
    }
    let queues = id_set(&mut v, "queue_ids", &input.queue_ids, QueueId::parse);
    let teams = id_set(&mut v, "team_ids", &input.team_ids, TeamId::parse);
    let agents = id_set(&mut v, "agent_ids", &input.agent_ids, AgentId::parse);
    let dispositions = text_set(&mut v, "dispositions", &input.dispositions, 200);
    if input.languages.len() > 100 {
        v.add("languages", "must have at most 100 entries");
    }
    let languages: Vec<LanguageTag> = input
        .languages
        .iter()
        .enumerate()
        .filter_map(|(n, l)| v.check(&format!("languages[{n}]"), LanguageTag::parse(l.clone())))
        .collect();
    for (field, value) in [
        ("min_handle_duration", input.min_handle_ms),
        ("max_handle_duration", input.max_handle_ms),
    ] {
        if value.is_some_and(|d| !(0..=31 * DAY_MS).contains(&d)) {
            v.add(field, "must be 0 to 31 days");
        }
    }
    if let (Some(lo), Some(hi)) = (input.min_handle_ms, input.max_handle_ms)
        && hi < lo
    {
        v.add(
            "max_handle_duration",
            "must not be below min_handle_duration",
        );
    }
    v.into_result(Scope {
        channels,
        directions,
        queues,
        teams,
        agents,
        dispositions,
        languages,
        min_handle_ms: input.min_handle_ms,
        max_handle_ms: input.max_handle_ms,
        business_hours_only: input.business_hours_only,
    })
}

fn parse_target(input: &TargetInput) -> Result<PerAgentTarget, Violations> {
    let mut v = Violations::new();
    let min = count(
        &mut v,
        "min_per_agent",
        input.min_per_agent,
        MAX_MIN_PER_AGENT,
    );
    let max = match count(
        &mut v,
        "max_per_agent",
        input.max_per_agent,
        MAX_MAX_PER_AGENT,
    ) {
        0 => None,
        m => Some(m),
    };
    if let Some(m) = max
        && m < min
    {
        v.add("max_per_agent", "must not be below min_per_agent");
    }
    let random = match input.random {
        RandomTargetInput::Unset => RandomTarget::Count(min),
        RandomTargetInput::Count(c) => {
            let c = count(&mut v, "count", c, MAX_MIN_PER_AGENT);
            if max.is_some_and(|m| c > m) {
                v.add("count", "must not be above max_per_agent");
            }
            RandomTarget::Count(c)
        }
        RandomTargetInput::Rate(r) => {
            if !(r > 0.0 && r <= 1.0) {
                v.add("rate", "must be in (0, 1]");
            }
            RandomTarget::Rate(r)
        }
        RandomTargetInput::Significance(c, e, p) => {
            match v.nest("significance", ProportionTarget::parse(c, e, p)) {
                Some(t) => RandomTarget::Significance(t),
                None => RandomTarget::Count(0),
            }
        }
    };
    if min == 0 && max.is_none() && random == RandomTarget::Count(0) {
        v.add(
            "",
            "selects nothing: set min_per_agent, a count, a rate or significance",
        );
    }
    v.into_result(PerAgentTarget { min, max, random })
}

fn parse_stratification(input: &StratificationInput) -> Result<Stratification, Violations> {
    let mut v = Violations::new();
    let mut dimensions = Vec::new();
    if input.dimensions.is_empty() || input.dimensions.len() > 2 {
        v.add("dimensions", "must have 1 or 2 dimensions");
    }
    for (n, code) in input.dimensions.iter().enumerate() {
        let d = match code {
            1 => Some(StratumDimension::Channel),
            2 => Some(StratumDimension::Queue),
            3 => Some(StratumDimension::TimeOfDay),
            4 => Some(StratumDimension::DayOfWeek),
            _ => None,
        };
        match d {
            Some(d) if dimensions.contains(&d) => v.add(format!("dimensions[{n}]"), "is repeated"),
            Some(d) => dimensions.push(d),
            None => v.add(format!("dimensions[{n}]"), "unknown dimension"),
        }
    }
    let allocation = match input.allocation {
        0 | 1 => Allocation::Proportional,
        2 => Allocation::Equal,
        _ => {
            v.add("allocation", "unknown allocation");
            Allocation::Proportional
        }
    };
    let default_bands = || vec![0u8, 6, 12, 18];
    let band_starts: Vec<u8> = if input.band_start_hours.is_empty() {
        default_bands()
    } else {
        let parsed: Option<Vec<u8>> = input
            .band_start_hours
            .iter()
            .map(|h| u8::try_from(*h).ok().filter(|h| *h < 24))
            .collect();
        match parsed {
            Some(b)
                if b.first() == Some(&0) && b.windows(2).all(|w| matches!(w, [x, y] if x < y)) =>
            {
                b
            }
            _ => {
                v.add(
                    "time_of_day_band_start_hours",
                    "must be ascending hours 0 to 23 starting with 0",
                );
                default_bands()
            }
        }
    };
    // Worst case strata per agent: 6 channels, 24 bands, 7 days; queues are open-ended.
    let size = |d: &StratumDimension| match d {
        StratumDimension::Channel => Channel::ALL.len(),
        StratumDimension::Queue => 1,
        StratumDimension::TimeOfDay => band_starts.len(),
        StratumDimension::DayOfWeek => 7,
    };
    if dimensions.iter().map(size).product::<usize>() > MAX_STRATA {
        v.add("dimensions", format!("give more than {MAX_STRATA} strata"));
    }
    v.into_result(Stratification {
        dimensions,
        allocation,
        band_starts,
    })
}

fn parse_rule(input: &RuleInput) -> Result<TargetedRule, Violations> {
    let mut v = Violations::new();
    let id = v.check("rule_id", RuleId::parse(input.rule_id.clone()));
    v.check("display_name", check_text(&input.display_name, 200));
    let priority = match input.priority {
        0 => 1000,
        p => match u16::try_from(p) {
            Ok(p @ 1..=1000) => p,
            _ => {
                v.add("priority", "must be 1 to 1000");
                1000
            }
        },
    };
    let cap_per_agent = match u32::try_from(input.cap_per_agent) {
        Ok(c @ 1..=1000) => c,
        _ => {
            v.add("cap_per_agent", "must be 1 to 1000");
            1
        }
    };
    let cap_per_period = match input.cap_per_period {
        0 => None,
        c => match u32::try_from(c) {
            Ok(c) => Some(c),
            Err(_) => {
                v.add("cap_per_period", "must not be negative");
                None
            }
        },
    };
    let values = |v: &mut Violations, field: &str, list: &[String]| {
        if list.is_empty() || list.len() > 100 {
            v.add(field, "must have 1 to 100 values");
        }
        text_set(v, field, list, 1024)
    };
    let condition = match input.kind {
        1 => match u8::try_from(input.csat_at_most) {
            Ok(c @ 1..=4) => Some(RuleCondition::LowCsat(c)),
            _ => {
                v.add("csat_at_most", "must be 1 to 4");
                None
            }
        },
        2 => Some(RuleCondition::NpsDetractor),
        3 => Some(RuleCondition::Complaint),
        4 => Some(RuleCondition::RepeatContact),
        5 => match input.handle_time_basis {
            0 | 1 => Some(RuleCondition::LongHandleTime(HandleTimeBasis::Agent)),
            2 => Some(RuleCondition::LongHandleTime(HandleTimeBasis::Queue)),
            _ => {
                v.add("handle_time_basis", "unknown basis");
                None
            }
        },
        6 => Some(RuleCondition::Transferred),
        7 => Some(RuleCondition::Escalated),
        8 => Some(RuleCondition::Disposition(values(
            &mut v,
            "dispositions",
            &input.dispositions,
        ))),
        9 => {
            let key_ok = !input.attribute_key.is_empty()
                && input.attribute_key.len() <= 64
                && input
                    .attribute_key
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
            if !key_ok {
                v.add("attribute_key", "must be an attribute key");
            }
            Some(RuleCondition::Attribute {
                key: input.attribute_key.clone(),
                values: values(&mut v, "attribute_values", &input.attribute_values),
            })
        }
        0 => {
            v.add("kind", "is required");
            None
        }
        _ => {
            v.add("kind", "unknown rule kind");
            None
        }
    };
    match (id, condition) {
        (Some(id), Some(condition)) if v.is_empty() => Ok(TargetedRule {
            id,
            display_name: input.display_name.clone(),
            priority,
            cap_per_agent,
            cap_per_period,
            condition,
        }),
        _ => Err(v),
    }
}

fn parse_new_hire(input: &NewHireInput) -> Result<NewHire, Violations> {
    let mut v = Violations::new();
    let weeks = match u32::try_from(input.weeks) {
        Ok(w @ 1..=52) => w,
        _ => {
            v.add("weeks", "must be 1 to 52");
            1
        }
    };
    if !(input.multiplier > 1.0 && input.multiplier <= 10.0) {
        v.add("multiplier", "must be above 1 and at most 10");
    }
    if input.agent_starts.len() > 10_000 {
        v.add("agent_start_times", "must have at most 10000 entries");
    }
    let mut agent_starts = BTreeMap::new();
    for (agent, start) in &input.agent_starts {
        if let Some(a) = v.check(
            &format!("agent_start_times[{agent:?}]"),
            AgentId::parse(agent.clone()),
        ) {
            agent_starts.insert(a, *start);
        }
    }
    v.into_result(NewHire {
        weeks,
        multiplier: input.multiplier,
        agent_starts,
    })
}

impl PlanSpec {
    /// Validates a plan definition, reporting every problem with its path.
    pub fn parse(input: &PlanInput) -> Result<Self, Violations> {
        let mut v = Violations::new();
        v.check("display_name", check_name(&input.display_name, 200));
        v.check("description", check_text(&input.description, 2000));
        let state = match PlanState::from_code(input.state) {
            Some(PlanState::Archived) => {
                v.add("state", "use ArchivePlan to archive a plan");
                PlanState::Active
            }
            Some(s) => s,
            None => {
                v.add("state", "unknown state");
                PlanState::Active
            }
        };
        let scope = v.nest("scope", parse_scope(&input.scope));
        let period = match PeriodKind::from_code(input.period) {
            Some(p @ (PeriodKind::Day | PeriodKind::Week | PeriodKind::Month)) => Some(p),
            _ => {
                v.add("period", "must be day, week or month");
                None
            }
        };
        let target = match &input.target {
            Some(t) => v.nest("target", parse_target(t)),
            None => {
                v.add("target", "is required");
                None
            }
        };
        let stratification = input
            .stratification
            .as_ref()
            .and_then(|s| v.nest("stratification", parse_stratification(s)));
        let exclusions = Exclusions {
            abandoned: input.exclusions.abandoned,
            already_selected: input.exclusions.already_selected,
            dispositions: text_set(
                &mut v,
                "exclusions.exclude_dispositions",
                &input.exclusions.dispositions,
                200,
            ),
            transferred: input.exclusions.transferred,
        };
        if input.rules.len() > MAX_RULES {
            v.add(
                "targeted_rules",
                format!("must have at most {MAX_RULES} rules"),
            );
        }
        let mut rules = Vec::new();
        let mut seen = BTreeSet::new();
        for (n, r) in input.rules.iter().enumerate() {
            let field = format!("targeted_rules[{n}]");
            if !r.rule_id.is_empty() && !seen.insert(r.rule_id.as_str()) {
                v.add(format!("{field}.rule_id"), "is repeated");
            }
            if let Some(rule) = v.nest(&field, parse_rule(r)) {
                rules.push(rule);
            }
        }
        // Stable: ties keep list order.
        rules.sort_by_key(|r| r.priority);
        let new_hire = input
            .new_hire
            .as_ref()
            .and_then(|n| v.nest("new_hire", parse_new_hire(n)));
        if input
            .due_within_ms
            .is_some_and(|d| !(HOUR_MS..=90 * DAY_MS).contains(&d))
        {
            v.add("due.due_within", "must be from 1 hour to 90 days");
        }
        let evaluator_pool = match input.evaluator_pool {
            0 | 1 => EvaluatorPool::Any,
            2 => EvaluatorPool::Internal,
            3 => EvaluatorPool::External,
            _ => {
                v.add("evaluator_pool", "unknown pool");
                EvaluatorPool::Any
            }
        };
        let expected_agent_volume = match input.expected_agent_volume {
            0 => None,
            n => match u32::try_from(n) {
                Ok(n) if n <= 1_000_000 => Some(n),
                _ => {
                    v.add("expected_agent_volume", "must be 0 to 1000000");
                    None
                }
            },
        };
        match (scope, period, target) {
            (Some(scope), Some(period), Some(target)) if v.is_empty() => Ok(PlanSpec {
                display_name: input.display_name.clone(),
                description: input.description.clone(),
                state,
                scope,
                period,
                target,
                stratification,
                exclusions,
                rules,
                new_hire,
                due: DueRule {
                    within_ms: input.due_within_ms,
                    business_hours_only: input.due_business_hours_only,
                },
                evaluator_pool,
                expected_agent_volume,
            }),
            _ => Err(v),
        }
    }
}

/// A stored plan version.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// Server-assigned id.
    pub id: PlanId,
    /// Version, from 1.
    pub version: u32,
    /// The seed of the draws, fixed for the plan's life.
    pub seed: u64,
    /// Archived plans cannot change.
    pub archived: bool,
    /// The definition.
    pub spec: PlanSpec,
}

/// Why a plan cannot change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanChangeError {
    /// The plan is archived.
    #[error("the plan is archived")]
    Archived,
    /// The update sent a different seed.
    #[error("seed: cannot change a plan's seed (it is {current})")]
    SeedChanged {
        /// The plan's seed.
        current: u64,
    },
}

impl Plan {
    /// Version 1 of a new plan. `requested_seed` 0 means "pick": the caller
    /// passes a random `fresh_seed` (never 0) for that case.
    pub fn create(id: PlanId, spec: PlanSpec, requested_seed: u64, fresh_seed: u64) -> Plan {
        let seed = if requested_seed != 0 {
            requested_seed
        } else {
            fresh_seed.max(1)
        };
        Plan {
            id,
            version: 1,
            seed,
            archived: false,
            spec,
        }
    }

    /// The next version with a new definition. `sent_seed` is the seed the
    /// update carried (0 when not sent).
    pub fn revise(&self, spec: PlanSpec, sent_seed: u64) -> Result<Plan, PlanChangeError> {
        if self.archived {
            return Err(PlanChangeError::Archived);
        }
        if sent_seed != 0 && sent_seed != self.seed {
            return Err(PlanChangeError::SeedChanged { current: self.seed });
        }
        Ok(Plan {
            id: self.id.clone(),
            version: self.version.saturating_add(1),
            seed: self.seed,
            archived: false,
            spec,
        })
    }

    /// The archived form of the plan (same version). Idempotent.
    pub fn archive(&self) -> Plan {
        Plan {
            archived: true,
            ..self.clone()
        }
    }

    /// True when the plan selects now.
    pub fn selecting(&self) -> bool {
        !self.archived && self.spec.state == PlanState::Active
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A weekly plan: 4–8 per agent, random count 4, with a low-CSAT rule.
    pub fn weekly_input() -> PlanInput {
        PlanInput {
            display_name: "Weekly voice QA".into(),
            period: 2,
            target: Some(TargetInput {
                min_per_agent: 4,
                max_per_agent: 8,
                random: RandomTargetInput::Unset,
            }),
            rules: vec![RuleInput {
                rule_id: "low-csat".into(),
                kind: 1,
                csat_at_most: 2,
                priority: 1,
                cap_per_agent: 2,
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    pub fn weekly() -> PlanSpec {
        PlanSpec::parse(&weekly_input()).unwrap()
    }

    #[test]
    fn a_valid_plan_parses_with_defaults() {
        let p = weekly();
        assert_eq!(p.period, PeriodKind::Week);
        assert_eq!(p.target.random, RandomTarget::Count(4));
        assert_eq!(p.target.max, Some(8));
        assert_eq!(p.state, PlanState::Active);
        assert_eq!(p.rules[0].condition, RuleCondition::LowCsat(2));
        assert!(p.rules[0].condition.depends_on_late_facts());
        assert_eq!(p.rules[0].condition.kind_code(), 1);
    }

    #[test]
    fn every_bad_field_is_named_with_its_path() {
        let input = PlanInput {
            display_name: " ".into(),
            state: 3,
            period: 4,
            scope: ScopeInput {
                channels: vec![0],
                queue_ids: vec![String::new()],
                languages: vec!["??".into()],
                min_handle_ms: Some(60_000),
                max_handle_ms: Some(30_000),
                ..Default::default()
            },
            target: Some(TargetInput {
                min_per_agent: 9,
                max_per_agent: 8,
                random: RandomTargetInput::Rate(1.5),
            }),
            stratification: Some(StratificationInput {
                dimensions: vec![1, 1, 3],
                allocation: 7,
                band_start_hours: vec![6, 12],
            }),
            rules: vec![
                RuleInput {
                    rule_id: "a".into(),
                    kind: 1,
                    csat_at_most: 5,
                    cap_per_agent: 0,
                    ..Default::default()
                },
                RuleInput {
                    rule_id: "a".into(),
                    kind: 3,
                    cap_per_agent: 1,
                    ..Default::default()
                },
                RuleInput {
                    rule_id: "b".into(),
                    kind: 8,
                    cap_per_agent: 1,
                    ..Default::default()
                },
                RuleInput {
                    rule_id: "c d".into(),
                    kind: 0,
                    cap_per_agent: 1,
                    priority: 2000,
                    ..Default::default()
                },
            ],
            new_hire: Some(NewHireInput {
                weeks: 0,
                multiplier: 1.0,
                ..Default::default()
            }),
            due_within_ms: Some(1),
            evaluator_pool: 9,
            expected_agent_volume: -1,
            ..Default::default()
        };
        let err = PlanSpec::parse(&input).unwrap_err();
        for f in [
            "display_name",
            "state",
            "period",
            "scope.channels[0]",
            "scope.queue_ids[0]",
            "scope.languages[0]",
            "scope.max_handle_duration",
            "target.max_per_agent",
            "target.rate",
            "stratification.dimensions",
            "stratification.dimensions[1]",
            "stratification.allocation",
            "stratification.time_of_day_band_start_hours",
            "targeted_rules[0].csat_at_most",
            "targeted_rules[0].cap_per_agent",
            "targeted_rules[1].rule_id",
            "targeted_rules[2].dispositions",
            "targeted_rules[3].rule_id",
            "targeted_rules[3].kind",
            "targeted_rules[3].priority",
            "new_hire.weeks",
            "new_hire.multiplier",
            "due.due_within",
            "evaluator_pool",
            "expected_agent_volume",
        ] {
            assert!(err.has_field(f), "{f} missing in: {err}");
        }
    }

    #[test]
    fn targets_need_something_to_select() {
        let none = PlanInput {
            target: Some(TargetInput {
                min_per_agent: 0,
                max_per_agent: 0,
                random: RandomTargetInput::Unset,
            }),
            ..weekly_input()
        };
        assert!(PlanSpec::parse(&none).unwrap_err().has_field("target"));
        let missing = PlanInput {
            target: None,
            ..weekly_input()
        };
        assert!(PlanSpec::parse(&missing).unwrap_err().has_field("target"));
        let too_many = PlanInput {
            target: Some(TargetInput {
                min_per_agent: 2,
                max_per_agent: 5,
                random: RandomTargetInput::Count(6),
            }),
            ..weekly_input()
        };
        assert!(
            PlanSpec::parse(&too_many)
                .unwrap_err()
                .has_field("target.count")
        );
        let significance = PlanInput {
            target: Some(TargetInput {
                min_per_agent: 0,
                max_per_agent: 0,
                random: RandomTargetInput::Significance(0.9, 0.7, 0.0),
            }),
            ..weekly_input()
        };
        assert!(
            PlanSpec::parse(&significance)
                .unwrap_err()
                .has_field("target.significance.margin_of_error")
        );
    }

    #[test]
    fn rules_are_ordered_by_priority_then_list_order() {
        let mut input = weekly_input();
        input.rules = vec![
            RuleInput {
                rule_id: "late".into(),
                kind: 6,
                priority: 5,
                cap_per_agent: 1,
                ..Default::default()
            },
            RuleInput {
                rule_id: "first".into(),
                kind: 3,
                priority: 1,
                cap_per_agent: 1,
                ..Default::default()
            },
            RuleInput {
                rule_id: "tie".into(),
                kind: 7,
                priority: 5,
                cap_per_agent: 1,
                ..Default::default()
            },
            RuleInput {
                rule_id: "default".into(),
                kind: 4,
                cap_per_agent: 1,
                ..Default::default()
            },
        ];
        let ids: Vec<String> = PlanSpec::parse(&input)
            .unwrap()
            .rules
            .iter()
            .map(|r| r.id.to_string())
            .collect();
        assert_eq!(ids, ["first", "late", "tie", "default"]);
    }

    #[test]
    fn stratification_defaults_and_bands() {
        let mut input = weekly_input();
        input.stratification = Some(StratificationInput {
            dimensions: vec![3, 1],
            allocation: 2,
            band_start_hours: vec![],
        });
        let s = PlanSpec::parse(&input).unwrap().stratification.unwrap();
        assert_eq!(s.band_starts, vec![0, 6, 12, 18]);
        assert_eq!(s.allocation, Allocation::Equal);
        input.stratification = Some(StratificationInput {
            dimensions: vec![3, 4],
            allocation: 0,
            band_start_hours: (0..24).collect(),
        });
        // 24 bands x 7 days = 168 strata: too many.
        assert!(
            PlanSpec::parse(&input)
                .unwrap_err()
                .has_field("stratification.dimensions")
        );
        input.stratification = Some(StratificationInput {
            dimensions: vec![3],
            allocation: 0,
            band_start_hours: vec![0, 8, 8],
        });
        assert!(
            PlanSpec::parse(&input)
                .unwrap_err()
                .has_field("stratification.time_of_day_band_start_hours")
        );
        input.stratification = Some(StratificationInput {
            dimensions: vec![3],
            allocation: 0,
            band_start_hours: vec![0, 8, 17],
        });
        assert_eq!(
            PlanSpec::parse(&input)
                .unwrap()
                .stratification
                .unwrap()
                .band_starts,
            vec![0, 8, 17]
        );
    }

    #[test]
    fn versions_keep_the_seed_and_archived_plans_are_frozen() {
        let id = PlanId::parse("p1").unwrap();
        let v1 = Plan::create(id, weekly(), 0, 77);
        assert_eq!((v1.version, v1.seed), (1, 77));
        assert!(v1.selecting());
        let v2 = v1.revise(weekly(), 0).unwrap();
        assert_eq!((v2.version, v2.seed), (2, 77));
        assert_eq!(
            v2.revise(weekly(), 78),
            Err(PlanChangeError::SeedChanged { current: 77 })
        );
        assert!(v2.revise(weekly(), 77).is_ok());
        let archived = v2.archive();
        assert!(!archived.selecting());
        assert_eq!(archived.revise(weekly(), 0), Err(PlanChangeError::Archived));
        assert_eq!(archived.archive(), archived);
        let chosen = Plan::create(PlanId::parse("p2").unwrap(), weekly(), 5, 77);
        assert_eq!(chosen.seed, 5);
        let mut paused = weekly();
        paused.state = PlanState::Paused;
        assert!(!Plan::create(PlanId::parse("p3").unwrap(), paused, 0, 0).selecting());
    }
}
