//! The gRPC edge: maps contract messages onto the core, scopes every report
//! to what the caller may see, reads cells through the store.
//!
//! Scope (see the service comment in the contract):
//! - admin, qa_manager, integration: the whole tenant.
//! - supervisor: the filter's teams are intersected with the token's teams.
//! - evaluator: quality figures of their own evaluations only.
//! - agent: their own figures (the agent filter is forced to them; naming
//!   another agent is PERMISSION_DENIED), released evaluations only, no
//!   evaluator grouping.
//! - service: feed status and settings only.

use std::collections::{BTreeMap, BTreeSet};

use earshot_kit::{
    Error, Result,
    auth::{self, Caller, Role, Tenant},
    db::Db,
    paging,
    time::{from_millis, now_millis},
};
use earshot_proto::common::v1 as common;
use earshot_proto::reporting::v1::{self as pb, reporting_service_server::ReportingService};
use prost::Message as _;
use tonic::{Request, Response, Status};

use crate::calendar::{self, Baseline, DateRange, Granularity, PeriodDraft, Preset};
use crate::dimension::{Channel, Dimension, Filter, FilterDraft};
use crate::follow::{FeedState, Feeds};
use crate::metrics::{GroupStats, Metric};
use crate::output::csv::{CHUNK_BYTES, ChunkedCsv};
use crate::output::svg::Size;
use crate::output::tables::{self, Names, Table};
use crate::reports::{self, CustomerFigures, OperationalFigures, QualityFigures, Report, Row};
use crate::rollup::cells::{Cell as _, InteractionCell, QuestionCell};
use crate::rollup::keys::{CellKey as _, InteractionKey, QuestionKey};
use crate::settings::{
    Comparator, ObjectiveDraft, ReferenceDraft, Settings, SettingsDraft, TargetDraft, TargetScope,
};
use crate::stats::Estimate;
use crate::stats::histogram::ScoreHistogram;
use crate::store::{self, Source};
use crate::validation::Violations;

type Rpc<T> = std::result::Result<Response<T>, Status>;

/// Rows per page: default and most.
const PAGE_DEFAULT: u32 = 100;
const PAGE_MAX: u32 = 1_000;
/// Most rows an export writes.
const MAX_EXPORT_ROWS: usize = 1_000_000;
/// Most series in a trend.
const MAX_SERIES: usize = 20;
/// Most day buckets in a trend.
const MAX_DAY_BUCKETS: usize = 400;
/// Most buckets of coarser trends (ten years of weeks).
const MAX_BUCKETS: usize = 530;

/// The reporting service.
#[derive(Debug, Clone)]
pub struct Reporting {
    db: Db,
    feeds: Feeds,
}

impl Reporting {
    /// A service over `db`, showing the followers' state from `feeds`.
    pub fn new(db: Db, feeds: Feeds) -> Self {
        Reporting { db, feeds }
    }
}

/// The core's violations as INVALID_ARGUMENT, each field under `prefix`.
fn invalid(v: Violations, prefix: &str) -> Error {
    let mut out = earshot_kit::Violations::new();
    for f in v.as_slice() {
        let field = match (prefix.is_empty(), f.field.is_empty()) {
            (true, _) => f.field.clone(),
            (false, true) => prefix.to_owned(),
            (false, false) => format!("{prefix}.{}", f.field),
        };
        out.add(field, f.description.clone());
    }
    match out.into_result() {
        Ok(()) => Error::internal("empty violation list"),
        Err(e) => e,
    }
}

// ------------------------------------------------------------- enums

// Metric codes are the contract's enum values: `Metric::ALL` in order, from 1.
fn metric_of(code: i32) -> Option<Metric> {
    usize::try_from(code)
        .ok()
        .and_then(|c| c.checked_sub(1))
        .and_then(|i| Metric::ALL.get(i).copied())
}

fn metric_code(m: Metric) -> i32 {
    Metric::ALL
        .iter()
        .position(|x| *x == m)
        .and_then(|i| i32::try_from(i + 1).ok())
        .unwrap_or(0)
}

fn dimension_of(code: i32) -> Option<Dimension> {
    Some(match pb::Dimension::try_from(code).ok()? {
        pb::Dimension::Center => Dimension::Center,
        pb::Dimension::Agent => Dimension::Agent,
        pb::Dimension::Team => Dimension::Team,
        pb::Dimension::Queue => Dimension::Queue,
        pb::Dimension::Channel => Dimension::Channel,
        pb::Dimension::Scorecard => Dimension::Scorecard,
        pb::Dimension::Evaluator => Dimension::Evaluator,
        pb::Dimension::Unspecified => return None,
    })
}

fn dimension_code(d: Dimension) -> i32 {
    (match d {
        Dimension::Center => pb::Dimension::Center,
        Dimension::Agent => pb::Dimension::Agent,
        Dimension::Team => pb::Dimension::Team,
        Dimension::Queue => pb::Dimension::Queue,
        Dimension::Channel => pb::Dimension::Channel,
        Dimension::Scorecard => pb::Dimension::Scorecard,
        Dimension::Evaluator => pb::Dimension::Evaluator,
    }) as i32
}

fn channel_code(c: Channel) -> i32 {
    (match c {
        Channel::Voice => common::Channel::Voice,
        Channel::Chat => common::Channel::Chat,
        Channel::Email => common::Channel::Email,
        Channel::Social => common::Channel::Social,
        Channel::Messaging => common::Channel::Messaging,
        Channel::Video => common::Channel::Video,
    }) as i32
}

fn preset_of(code: i32) -> Option<Preset> {
    use Preset::*;
    const ALL: [Preset; 14] = [
        Today,
        Yesterday,
        Last7Days,
        Last30Days,
        Last90Days,
        ThisWeek,
        LastWeek,
        ThisMonth,
        LastMonth,
        ThisQuarter,
        LastQuarter,
        ThisYear,
        LastYear,
        Last12Months,
    ];
    usize::try_from(code)
        .ok()
        .and_then(|c| c.checked_sub(1))
        .and_then(|i| ALL.get(i).copied())
}

fn granularity_of(code: i32) -> Option<Granularity> {
    Some(match code {
        1 => Granularity::Day,
        2 => Granularity::Week,
        3 => Granularity::Month,
        4 => Granularity::Quarter,
        5 => Granularity::Year,
        _ => return None,
    })
}

fn local_date(d: chrono::NaiveDate) -> pb::LocalDate {
    use chrono::Datelike as _;
    pb::LocalDate {
        year: d.year(),
        month: i32::try_from(d.month()).unwrap_or(0),
        day: i32::try_from(d.day()).unwrap_or(0),
    }
}

fn date_range(r: DateRange) -> pb::DateRange {
    pb::DateRange {
        start_date: Some(local_date(r.start())),
        end_date: Some(local_date(r.end())),
    }
}

fn estimate(e: &Estimate) -> common::Estimate {
    common::Estimate {
        value: e.value,
        ci_low: e.ci_low,
        ci_high: e.ci_high,
        sample_size: e.sample_size,
        insufficient_sample: e.insufficient_sample,
        no_data: e.no_data,
    }
}

// ------------------------------------------------------------- requests

fn period(p: Option<&pb::Period>, today: chrono::NaiveDate, field: &str) -> Result<DateRange> {
    let draft = match p.and_then(|p| p.kind.as_ref()) {
        None => PeriodDraft::Missing,
        Some(pb::period::Kind::Preset(code)) => PeriodDraft::Preset(preset_of(*code)),
        Some(pb::period::Kind::DateRange(r)) => {
            let t = |d: Option<&pb::LocalDate>| d.map_or((0, 0, 0), |d| (d.year, d.month, d.day));
            PeriodDraft::Dates(t(r.start_date.as_ref()), t(r.end_date.as_ref()))
        }
    };
    calendar::resolve_period(draft, today).map_err(|v| invalid(v, field))
}

fn filter(f: Option<&pb::ReportFilter>, field: &str) -> Result<Filter> {
    let Some(f) = f else {
        return Ok(Filter::default());
    };
    let draft = FilterDraft {
        agent_ids: f.agent_ids.clone(),
        team_ids: f.team_ids.clone(),
        queue_ids: f.queue_ids.clone(),
        channels: f
            .channels
            .iter()
            .map(|c| crate::feeds::channel(*c))
            .collect(),
        scorecard_ids: f.scorecard_ids.clone(),
        evaluator_ids: f.evaluator_ids.clone(),
    };
    Filter::parse(&draft).map_err(|v| invalid(v, field))
}

fn dimension(code: i32, field: &str) -> Result<Dimension> {
    dimension_of(code).ok_or_else(|| Error::invalid(field, "a dimension is required"))
}

fn order(o: Option<&pb::ReportOrder>) -> Result<reports::Order> {
    let Some(o) = o else { return Ok(None) };
    if o.metric == 0 {
        return Ok(None);
    }
    let m = metric_of(o.metric).ok_or_else(|| Error::invalid("order.metric", "unknown metric"))?;
    Ok(Some((m, o.descending)))
}

/// Which family a request reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    Quality,
    Interactions,
}

/// The roles that may run reports of `family` (`None`: a call whose family
/// the request picks, such as a trend of any metric). Checked before the
/// request is read, so a role that may never run it learns nothing from
/// validation; [`scope`] then narrows what an allowed role sees.
fn require_report_role(caller: &Caller, family: Option<Family>) -> Result<()> {
    let roles: &[Role] = match family {
        Some(Family::Interactions) => &[
            Role::Admin,
            Role::QaManager,
            Role::Integration,
            Role::Supervisor,
            Role::Agent,
        ],
        Some(Family::Quality) | None => &[
            Role::Admin,
            Role::QaManager,
            Role::Integration,
            Role::Supervisor,
            Role::Agent,
            Role::Evaluator,
        ],
    };
    caller.require_any(roles)
}

/// The filter the caller may use, or PERMISSION_DENIED.
fn scope(caller: &Caller, family: Family, dim: Dimension, mut f: Filter) -> Result<Filter> {
    if caller.has_any(&[Role::Admin, Role::QaManager, Role::Integration]) {
        return Ok(f);
    }
    if caller.has(Role::Supervisor) {
        let teams: BTreeSet<String> = caller.teams().iter().cloned().collect();
        return Ok(f.restricted_to_teams(&teams));
    }
    if caller.has(Role::Agent) {
        let me = caller.subject().to_owned();
        if f.agents.iter().any(|a| *a != me) {
            return Err(Error::PermissionDenied(
                "an agent sees only their own figures".into(),
            ));
        }
        if dim == Dimension::Evaluator || !f.evaluators.is_empty() {
            return Err(Error::PermissionDenied(
                "agents cannot see figures by evaluator".into(),
            ));
        }
        f.agents = BTreeSet::from([me]);
        f.released_only = true;
        return Ok(f);
    }
    if caller.has(Role::Evaluator) && family == Family::Quality {
        let me = caller.subject().to_owned();
        if f.evaluators.iter().any(|e| *e != me) {
            return Err(Error::PermissionDenied(
                "an evaluator sees only their own evaluations".into(),
            ));
        }
        f.evaluators = BTreeSet::from([me]);
        return Ok(f);
    }
    Err(Error::PermissionDenied(match family {
        Family::Quality => "reports need admin, qa_manager, integration, supervisor, evaluator or agent".into(),
        Family::Interactions => {
            "operational and customer reports need admin, qa_manager, integration, supervisor or agent".into()
        }
    }))
}

fn reject_evaluation_fields(dim: Dimension, f: &Filter) -> Result<()> {
    let mut v = earshot_kit::Violations::new();
    if matches!(dim, Dimension::Scorecard | Dimension::Evaluator) {
        v.add(
            "group_by",
            "this report cannot be grouped by scorecard or evaluator",
        );
    }
    if !f.scorecards.is_empty() {
        v.add("filter.scorecard_ids", "applies to quality figures only");
    }
    if !f.evaluators.is_empty() {
        v.add("filter.evaluator_ids", "applies to quality figures only");
    }
    v.into_result()
}

fn group(dim: Dimension, id: &str) -> pb::Group {
    pb::Group {
        dimension: dimension_code(dim),
        id: id.to_owned(),
        display_name: String::new(),
    }
}

fn rank(r: Option<u32>) -> i32 {
    r.map_or(0, |r| i32::try_from(r).unwrap_or(i32::MAX))
}

fn quality_row(g: pb::Group, f: &QualityFigures, r: Option<u32>) -> pb::QualityRow {
    pb::QualityRow {
        group: Some(g),
        evaluation_count: f.evaluation_count,
        mean_score: Some(estimate(&f.mean_score)),
        score_standard_deviation: f.score_standard_deviation,
        pass_rate: Some(estimate(&f.pass_rate)),
        critical_failure_rate: Some(estimate(&f.critical_failure_rate)),
        distribution: Some(pb::ScoreDistribution {
            bin_lower_bounds: ScoreHistogram::lower_bounds().to_vec(),
            counts: f.distribution.0.to_vec(),
        }),
        insufficient_sample: f.insufficient_sample,
        rank: rank(r),
    }
}

fn operational_row(g: pb::Group, f: &OperationalFigures, r: Option<u32>) -> pb::OperationalRow {
    pb::OperationalRow {
        group: Some(g),
        interaction_count: f.interaction_count,
        offered_count: f.offered_count,
        handled_count: f.handled_count,
        average_handle_time: Some(estimate(&f.average_handle_time)),
        average_talk_time: Some(estimate(&f.average_talk_time)),
        average_hold_time: Some(estimate(&f.average_hold_time)),
        average_after_call_work: Some(estimate(&f.average_after_call_work)),
        average_speed_of_answer: Some(estimate(&f.average_speed_of_answer)),
        abandonment_rate: Some(estimate(&f.abandonment_rate)),
        service_level: Some(estimate(&f.service_level)),
        transfer_rate: Some(estimate(&f.transfer_rate)),
        first_contact_resolution: Some(estimate(&f.first_contact_resolution)),
        monitoring_coverage: Some(estimate(&f.monitoring_coverage)),
        insufficient_sample: f.insufficient_sample,
        rank: rank(r),
    }
}

fn customer_row(g: pb::Group, f: &CustomerFigures, r: Option<u32>) -> pb::CustomerRow {
    pb::CustomerRow {
        group: Some(g),
        surveys_sent: f.surveys_sent,
        response_rate: Some(estimate(&f.response_rate)),
        csat: Some(estimate(&f.csat)),
        csat_mean_rating: Some(estimate(&f.csat_mean_rating)),
        nps: Some(pb::NpsEstimate {
            score: Some(estimate(&f.nps.score)),
            promoter_share: Some(estimate(&f.nps.promoter_share)),
            passive_share: Some(estimate(&f.nps.passive_share)),
            detractor_share: Some(estimate(&f.nps.detractor_share)),
        }),
        complaint_count: f.complaint_count,
        complaint_rate: Some(estimate(&f.complaint_rate)),
        complaint_resolved_share: Some(estimate(&f.complaint_resolved_share)),
        complaints_by_category: f
            .complaints_by_category
            .iter()
            .map(|c| pb::ComplaintCategoryCount {
                category: c.category.clone(),
                count: c.count,
                resolved_count: c.resolved_count,
                resolved_share: Some(estimate(&c.resolved_share)),
            })
            .collect(),
        insufficient_sample: f.insufficient_sample,
        rank: rank(r),
    }
}

/// One page of rows: (rows, next token, total group count).
fn page<T: Clone>(
    rows: &[Row<T>],
    page_size: i32,
    token: &str,
    fingerprint: u64,
) -> Result<(Vec<Row<T>>, String, i32)> {
    let size = paging::page_size(page_size, PAGE_DEFAULT, PAGE_MAX)?;
    let offset: usize = paging::decode(token, fingerprint)?.unwrap_or(0);
    let mut out: Vec<Row<T>> = rows
        .iter()
        .skip(offset)
        .take(size as usize + 1)
        .cloned()
        .collect();
    let next = if out.len() > size as usize {
        out.truncate(size as usize);
        paging::encode(&(offset + size as usize), fingerprint)
    } else {
        String::new()
    };
    Ok((out, next, i32::try_from(rows.len()).unwrap_or(i32::MAX)))
}

fn fingerprint<M: std::fmt::Debug>(m: &M) -> u64 {
    paging::fingerprint(&format!("{m:?}"))
}

/// A prepared grouped report request.
struct Query {
    range: DateRange,
    dim: Dimension,
    filter: Filter,
    order: reports::Order,
    settings: Settings,
}

impl Reporting {
    /// The tenant's settings (defaults when never set) and their etag.
    async fn settings(&self, tenant: &Tenant) -> Result<(String, Settings, pb::Settings)> {
        let tz = store::time_zone(&self.db, tenant).await?;
        let Some((etag, body)) = store::settings(&self.db, tenant).await? else {
            let s = Settings {
                time_zone: tz,
                ..Settings::default()
            };
            let p = settings_message(&s, "");
            return Ok((String::new(), s, p));
        };
        let mut p = pb::Settings::decode(body.as_slice())
            .map_err(|e| Error::internal(format!("corrupt settings: {e}")))?;
        let s = Settings::parse(&settings_draft(&p), tz)
            .map_err(|_| Error::internal("stored settings no longer valid"))?;
        p.time_zone = tz.name().to_owned();
        p.etag = etag.clone();
        Ok((etag, s, p))
    }

    async fn query(
        &self,
        caller: &Caller,
        family: Family,
        p: Option<&pb::Period>,
        group_by: i32,
        f: Option<&pb::ReportFilter>,
        o: Option<&pb::ReportOrder>,
    ) -> Result<Query> {
        let (_, settings, _) = self.settings(caller.tenant()).await?;
        let today = calendar::today(now_millis(), settings.time_zone);
        let range = period(p, today, "period");
        let dim = dimension(group_by, "group_by");
        let filt = filter(f, "filter");
        let ord = order(o);
        // Every field's problems at once.
        let mut v = earshot_kit::Violations::new();
        for e in [
            range.as_ref().err(),
            dim.as_ref().err(),
            filt.as_ref().err(),
            ord.as_ref().err(),
        ]
        .into_iter()
        .flatten()
        {
            if let Error::InvalidArgument(list) = e {
                for x in list {
                    v.add(x.field.clone(), x.description.clone());
                }
            }
        }
        v.into_result()?;
        let (range, dim, filt, ord) = (range?, dim?, filt?, ord?);
        if family == Family::Interactions {
            reject_evaluation_fields(dim, &filt)?;
        }
        let filter = scope(caller, family, dim, filt)?;
        Ok(Query {
            range,
            dim,
            filter,
            order: ord,
            settings,
        })
    }

    async fn quality(&self, tenant: &Tenant, q: &Query) -> Result<Report<QualityFigures>> {
        let g = store::scan_quality_grouped(&self.db, tenant, q.range, q.dim, &q.filter).await?;
        reports::quality_report(g.groups, &g.total, q.order, q.settings.minimum_sample)
            .map_err(|e| Error::invalid("order.metric", e.to_string()))
    }

    async fn interactions(
        &self,
        tenant: &Tenant,
        q: &Query,
    ) -> Result<(BTreeMap<String, InteractionCell>, InteractionCell)> {
        let g = store::scan_grouped::<InteractionKey, InteractionCell>(
            &self.db, tenant, q.range, q.dim, &q.filter,
        )
        .await?;
        Ok((g.groups, g.total))
    }

    async fn operational(&self, tenant: &Tenant, q: &Query) -> Result<Report<OperationalFigures>> {
        let (groups, t) = self.interactions(tenant, q).await?;
        reports::operational_report(groups, &t, q.order, q.settings.minimum_sample)
            .map_err(|e| Error::invalid("order.metric", e.to_string()))
    }

    async fn customer(&self, tenant: &Tenant, q: &Query) -> Result<Report<CustomerFigures>> {
        let (groups, t) = self.interactions(tenant, q).await?;
        reports::customer_report(groups, &t, q.order, q.settings.minimum_sample)
            .map_err(|e| Error::invalid("order.metric", e.to_string()))
    }

    /// Merged stats per bucket for each requested group.
    async fn trend(&self, caller: &Caller, req: &pb::RunTrendRequest) -> Result<TrendResult> {
        let (_, settings, _) = self.settings(caller.tenant()).await?;
        let today = calendar::today(now_millis(), settings.time_zone);
        let mut v = earshot_kit::Violations::new();
        let metric = metric_of(req.metric);
        if metric.is_none() {
            v.add("metric", "a metric is required");
        }
        let g = granularity_of(req.granularity);
        if g.is_none() {
            v.add("granularity", "a granularity is required");
        }
        let range = period(req.period.as_ref(), today, "period");
        let dim = if req.group_by == 0 {
            Ok(Dimension::Center)
        } else {
            dimension(req.group_by, "group_by")
        };
        let filt = filter(req.filter.as_ref(), "filter");
        for e in [
            range.as_ref().err(),
            dim.as_ref().err(),
            filt.as_ref().err(),
        ]
        .into_iter()
        .flatten()
        {
            if let Error::InvalidArgument(list) = e {
                for x in list {
                    v.add(x.field.clone(), x.description.clone());
                }
            }
        }
        if dim.as_ref().is_ok_and(|d| *d != Dimension::Center) && req.group_ids.is_empty() {
            v.add("group_ids", "name the groups to plot");
        }
        if req.group_ids.len() > MAX_SERIES {
            v.add("group_ids", format!("at most {MAX_SERIES} series"));
        }
        for (i, id) in req.group_ids.iter().enumerate() {
            if let Err(e) = crate::validation::parse_id(id) {
                for x in e.as_slice() {
                    v.add(format!("group_ids[{i}]"), x.description.clone());
                }
            }
        }
        v.into_result()?;
        let (metric, g, range, dim, filt) = match (metric, g, range, dim, filt) {
            (Some(m), Some(g), Ok(r), Ok(d), Ok(f)) => (m, g, r, d, f),
            _ => return Err(Error::internal("validated request")),
        };
        let family = match metric.source() {
            crate::metrics::Source::Quality => Family::Quality,
            _ => Family::Interactions,
        };
        if family == Family::Interactions {
            reject_evaluation_fields(dim, &filt)?;
        }
        let filt = scope(caller, family, dim, filt)?;
        let max = if g == Granularity::Day {
            MAX_DAY_BUCKETS
        } else {
            MAX_BUCKETS
        };
        let buckets = calendar::buckets(range, g, max).map_err(|e| invalid(e, ""))?;
        let ids: Vec<String> = if dim == Dimension::Center {
            vec![String::new()]
        } else {
            req.group_ids.clone()
        };
        let mut per_group: Vec<Vec<(calendar::Bucket, GroupStats)>> = vec![Vec::new(); ids.len()];
        let tenant = caller.tenant();
        for b in &buckets {
            let mut stats: BTreeMap<String, GroupStats> = BTreeMap::new();
            match family {
                Family::Quality => {
                    let grouped =
                        store::scan_quality_grouped(&self.db, tenant, b.covered, dim, &filt)
                            .await?;
                    for (k, c) in grouped.groups {
                        stats.entry(k).or_default().quality = c;
                    }
                }
                Family::Interactions => {
                    let grouped = store::scan_grouped::<InteractionKey, InteractionCell>(
                        &self.db, tenant, b.covered, dim, &filt,
                    )
                    .await?;
                    for (k, c) in grouped.groups {
                        stats.entry(k).or_default().interactions = c;
                    }
                }
            }
            for (i, id) in ids.iter().enumerate() {
                per_group[i].push((*b, stats.get(id).cloned().unwrap_or_default()));
            }
        }
        let series = ids
            .iter()
            .zip(per_group)
            .map(|(id, b)| crate::trend::trend_series(metric, id, &b, settings.minimum_sample))
            .collect();
        let target = crate::targets::target_for(&settings.targets, metric, Dimension::Center, "")
            .cloned()
            .or_else(|| {
                (metric == Metric::ServiceLevel).then(|| settings.implied_service_level_target())
            });
        Ok(TrendResult {
            range,
            metric,
            dim,
            granularity: g,
            series,
            target,
        })
    }
}

/// Every metric, in contract order.
fn all_metrics() -> Vec<Metric> {
    (1..=21).filter_map(metric_of).collect()
}

/// The metrics of a request: 1 to 21, known, no repeats (`default` when empty
/// and allowed).
fn metrics(codes: &[i32], field: &str, default: Option<Vec<Metric>>) -> Result<Vec<Metric>> {
    if codes.is_empty() {
        return default.ok_or_else(|| Error::invalid(field, "name at least one metric"));
    }
    let mut v = earshot_kit::Violations::new();
    let mut out = Vec::new();
    if codes.len() > 21 {
        v.add(field, "at most 21 metrics");
    }
    for (i, c) in codes.iter().enumerate() {
        match metric_of(*c) {
            None => v.add(format!("{field}[{i}]"), "unknown or unspecified metric"),
            Some(m) if out.contains(&m) => v.add(format!("{field}[{i}]"), "appears twice"),
            Some(m) => out.push(m),
        }
    }
    v.into_result()?;
    Ok(out)
}

fn needs(metrics: &[Metric]) -> (bool, bool) {
    let q = metrics
        .iter()
        .any(|m| m.source() == crate::metrics::Source::Quality);
    let i = metrics
        .iter()
        .any(|m| m.source() == crate::metrics::Source::Interactions);
    (q, i)
}

/// Collects field violations of several results into one error.
fn gather(errors: &[Option<&Error>]) -> Result<()> {
    let mut v = earshot_kit::Violations::new();
    for e in errors.iter().flatten() {
        if let Error::InvalidArgument(list) = e {
            for x in list {
                v.add(x.field.clone(), x.description.clone());
            }
        }
    }
    v.into_result()
}

fn target_status(s: crate::targets::TargetStatus) -> i32 {
    use crate::targets::TargetStatus as T;
    (match s {
        T::Met => pb::TargetStatus::Met,
        T::NotMet => pb::TargetStatus::NotMet,
        T::InsufficientSample => pb::TargetStatus::InsufficientSample,
        T::NoData => pb::TargetStatus::NoData,
    }) as i32
}

fn metric_comparison(m: &crate::comparison::MetricComparison) -> pb::MetricComparison {
    pb::MetricComparison {
        metric: metric_code(m.metric),
        comparison: Some(comparison(&crate::trend::Change {
            comparison: m.comparison,
            assessment: m.assessment,
        })),
    }
}

impl Reporting {
    /// Merged stats per group of `dim` and for the filtered center, reading
    /// only the families `metrics` need, each scoped for the caller.
    async fn group_stats(
        &self,
        caller: &Caller,
        range: DateRange,
        dim: Dimension,
        filt: &Filter,
        metrics: &[Metric],
    ) -> Result<(BTreeMap<String, GroupStats>, GroupStats)> {
        let (need_q, need_i) = needs(metrics);
        let tenant = caller.tenant();
        let mut groups: BTreeMap<String, GroupStats> = BTreeMap::new();
        let mut center = GroupStats::default();
        if need_i {
            reject_evaluation_fields(dim, filt).map_err(|_| {
                Error::invalid(
                    "metrics",
                    "operational and customer metrics cannot be grouped or filtered by scorecard or evaluator",
                )
            })?;
        }
        if need_q {
            let f = scope(caller, Family::Quality, dim, filt.clone())?;
            let grouped = store::scan_quality_grouped(&self.db, tenant, range, dim, &f).await?;
            for (k, c) in grouped.groups {
                groups.entry(k).or_default().quality = c;
            }
            center.quality = grouped.total;
        }
        if need_i {
            let f = scope(caller, Family::Interactions, dim, filt.clone())?;
            let grouped = store::scan_grouped::<InteractionKey, InteractionCell>(
                &self.db, tenant, range, dim, &f,
            )
            .await?;
            for (k, c) in grouped.groups {
                groups.entry(k).or_default().interactions = c;
            }
            center.interactions = grouped.total;
        }
        Ok((groups, center))
    }
}

struct TrendResult {
    range: DateRange,
    metric: Metric,
    dim: Dimension,
    granularity: Granularity,
    series: Vec<crate::trend::TrendSeries>,
    target: Option<crate::settings::Target>,
}

fn comparison(c: &crate::trend::Change) -> pb::Comparison {
    use crate::metrics::Assessment;
    use crate::significance::Test;
    let x = &c.comparison;
    pb::Comparison {
        current: Some(estimate(&x.current)),
        baseline: Some(estimate(&x.baseline)),
        difference: x.difference,
        difference_ci_low: x.difference_ci_low,
        difference_ci_high: x.difference_ci_high,
        p_value: x.p_value,
        test: match x.test {
            None => 0,
            Some(Test::TwoProportionZ) => 1,
            Some(Test::WelchT) => 2,
            Some(Test::NpsDifferenceZ) => 3,
        },
        significant: x.significant(),
        degrees_of_freedom: x.degrees_of_freedom,
        assessment: match c.assessment {
            Assessment::NotAssessed => 0,
            Assessment::Improved => 1,
            Assessment::Worsened => 2,
            Assessment::NoSignificantChange => 3,
        },
    }
}

fn target_message(t: &crate::settings::Target) -> pb::Target {
    let (dimension, group_id) = match &t.scope {
        TargetScope::All => (0, String::new()),
        TargetScope::Group(d, id) => (dimension_code(*d), id.clone()),
    };
    pb::Target {
        metric: metric_code(t.metric),
        value: t.value,
        comparison: match t.comparator {
            Comparator::AtLeast => pb::TargetComparison::AtLeast as i32,
            Comparator::AtMost => pb::TargetComparison::AtMost as i32,
        },
        dimension,
        group_id,
    }
}

fn trend_response(t: &TrendResult) -> pb::RunTrendResponse {
    pb::RunTrendResponse {
        date_range: Some(date_range(t.range)),
        metric: metric_code(t.metric),
        series: t
            .series
            .iter()
            .map(|s| pb::TrendSeries {
                group: Some(group(t.dim, &s.group_id)),
                points: s
                    .points
                    .iter()
                    .map(|p| pb::TrendPoint {
                        start_date: Some(local_date(p.bucket.start)),
                        end_date: Some(local_date(p.bucket.end)),
                        partial: p.bucket.partial,
                        value: Some(estimate(&p.value)),
                    })
                    .collect(),
                last_change: s.last_change.as_ref().map(comparison),
            })
            .collect(),
        target: t.target.as_ref().map(target_message),
    }
}

// ------------------------------------------------------------- settings

fn duration_ms(d: Option<&prost_types::Duration>) -> Option<i64> {
    d.map(|d| {
        d.seconds
            .saturating_mul(1000)
            .saturating_add(i64::from(d.nanos) / 1_000_000)
    })
}

fn duration(ms: i64) -> prost_types::Duration {
    prost_types::Duration {
        seconds: ms / 1000,
        nanos: i32::try_from((ms % 1000) * 1_000_000).unwrap_or(0),
    }
}

fn objective_draft(o: &pb::ServiceLevelObjective) -> ObjectiveDraft {
    ObjectiveDraft {
        threshold_ms: duration_ms(o.threshold.as_ref()),
        target_share: o.target_share,
    }
}

fn settings_draft(p: &pb::Settings) -> SettingsDraft {
    SettingsDraft {
        minimum_sample: i64::from(p.minimum_sample),
        default_service_level: p.default_service_level.as_ref().map(objective_draft),
        channel_service_levels: p
            .channel_service_levels
            .iter()
            .map(|c| {
                (
                    crate::feeds::channel(c.channel),
                    c.objective.as_ref().map(objective_draft),
                )
            })
            .collect(),
        targets: p
            .targets
            .iter()
            .map(|t| TargetDraft {
                metric: metric_of(t.metric),
                value: t.value,
                comparator: match pb::TargetComparison::try_from(t.comparison) {
                    Ok(pb::TargetComparison::AtLeast) => Some(Comparator::AtLeast),
                    Ok(pb::TargetComparison::AtMost) => Some(Comparator::AtMost),
                    _ => None,
                },
                dimension: dimension_of(t.dimension),
                group_id: t.group_id.clone(),
            })
            .collect(),
        industry_references: p
            .industry_references
            .iter()
            .map(|r| ReferenceDraft {
                metric: metric_of(r.metric),
                value: r.value,
                source: r.source.clone(),
            })
            .collect(),
    }
}

fn objective_message(o: &crate::settings::ServiceLevelObjective) -> pb::ServiceLevelObjective {
    pb::ServiceLevelObjective {
        threshold: Some(duration(o.threshold_ms)),
        target_share: o.target_share,
    }
}

fn settings_message(s: &Settings, etag: &str) -> pb::Settings {
    pb::Settings {
        minimum_sample: i32::try_from(s.minimum_sample).unwrap_or(i32::MAX),
        default_service_level: Some(objective_message(&s.default_service_level)),
        channel_service_levels: s
            .channel_service_levels
            .iter()
            .map(|(c, o)| pb::ChannelServiceLevel {
                channel: channel_code(*c),
                objective: Some(objective_message(o)),
            })
            .collect(),
        targets: s.targets.iter().map(target_message).collect(),
        industry_references: s
            .industry_references
            .values()
            .map(|r| pb::IndustryReference {
                metric: metric_code(r.metric),
                value: r.value,
                source: r.source.clone(),
            })
            .collect(),
        time_zone: s.time_zone.name().to_owned(),
        etag: etag.to_owned(),
        update_time: None,
        updated_by: None,
    }
}

// ------------------------------------------------------------- exports

fn csv_chunks(table: &Table, base: &str) -> Result<Vec<pb::ExportReportResponse>> {
    if table.rows.len() > MAX_EXPORT_ROWS {
        return Err(Error::ResourceExhausted(format!(
            "the export has more than {MAX_EXPORT_ROWS} rows; narrow the period or filter"
        )));
    }
    let header: Vec<&str> = table.columns.iter().map(String::as_str).collect();
    let mut csv = ChunkedCsv::new(&header, CHUNK_BYTES);
    let mut out = Vec::new();
    let file_name = format!("{base}.csv");
    let push = |c: crate::output::csv::Chunk, out: &mut Vec<pb::ExportReportResponse>| {
        out.push(pb::ExportReportResponse {
            content_type: "text/csv; charset=utf-8".into(),
            file_name: file_name.clone(),
            data: c.data,
            row_count: i32::try_from(c.row_count).unwrap_or(i32::MAX),
        });
    };
    for r in &table.rows {
        if let Some(c) = csv.push(r) {
            push(c, &mut out);
        }
    }
    if let Some(c) = csv.finish() {
        push(c, &mut out);
    }
    Ok(out)
}

/// One metric's attainment over the groups.
struct TargetResult {
    metric: Metric,
    target: Option<crate::settings::Target>,
    summary: crate::targets::AttainmentSummary,
    attainments: Vec<crate::targets::Attainment>,
}

impl Reporting {
    async fn run_target_report_core(
        &self,
        caller: &Caller,
        req: &pb::RunTargetReportRequest,
    ) -> Result<(DateRange, Dimension, Vec<TargetResult>)> {
        let (_, settings, _) = self.settings(caller.tenant()).await?;
        let today = calendar::today(now_millis(), settings.time_zone);
        let configured: Vec<Metric> = {
            let mut v: Vec<Metric> = settings.targets.iter().map(|t| t.metric).collect();
            v.push(Metric::ServiceLevel);
            v.sort();
            v.dedup();
            v
        };
        let ms = metrics(&req.metrics, "metrics", Some(configured.clone()));
        let range = period(req.period.as_ref(), today, "period");
        let dim = dimension(req.group_by, "group_by");
        let filt = filter(req.filter.as_ref(), "filter");
        let g = granularity_of(req.granularity)
            .ok_or_else(|| Error::invalid("granularity", "a granularity is required"));
        let untargeted = ms.as_ref().ok().and_then(|ms| {
            let mut v = earshot_kit::Violations::new();
            for (i, m) in ms.iter().enumerate() {
                if !configured.contains(m) {
                    v.add(format!("metrics[{i}]"), "has no configured target");
                }
            }
            v.into_result().err()
        });
        gather(&[
            ms.as_ref().err(),
            range.as_ref().err(),
            dim.as_ref().err(),
            filt.as_ref().err(),
            g.as_ref().err(),
            untargeted.as_ref(),
        ])?;
        let (ms, range, dim, filt, g) = (ms?, range?, dim?, filt?, g?);
        let max = if g == Granularity::Day {
            MAX_DAY_BUCKETS
        } else {
            MAX_BUCKETS
        };
        let buckets = calendar::buckets(range, g, max).map_err(|e| invalid(e, ""))?;
        let (overall, _) = self.group_stats(caller, range, dim, &filt, &ms).await?;
        let mut per_bucket = Vec::with_capacity(buckets.len());
        for b in &buckets {
            per_bucket.push(
                self.group_stats(caller, b.covered, dim, &filt, &ms)
                    .await?
                    .0,
            );
        }
        let min = settings.minimum_sample;
        let ids: Vec<&String> = overall.keys().collect();
        let fallback = settings.implied_service_level_target();
        let mut out = Vec::new();
        for m in &ms {
            let target_of = |id: &str| {
                crate::targets::target_for(&settings.targets, *m, dim, id)
                    .or((*m == Metric::ServiceLevel).then_some(&fallback))
            };
            let attainments: Vec<crate::targets::Attainment> = ids
                .iter()
                .filter_map(|id| {
                    let t = target_of(id)?;
                    let bs: Vec<(calendar::Bucket, GroupStats)> = buckets
                        .iter()
                        .zip(&per_bucket)
                        .map(|(b, groups)| (*b, groups.get(*id).cloned().unwrap_or_default()))
                        .collect();
                    Some(crate::targets::attainment(
                        t,
                        id,
                        overall.get(*id).unwrap_or(&GroupStats::default()),
                        &bs,
                        min,
                    ))
                })
                .collect();
            out.push(TargetResult {
                metric: *m,
                target: target_of("").cloned(),
                summary: crate::targets::summarise(&attainments),
                attainments,
            });
        }
        Ok((range, dim, out))
    }

    async fn compare_periods_core(
        &self,
        caller: &Caller,
        req: &pb::ComparePeriodsRequest,
    ) -> Result<(
        DateRange,
        DateRange,
        Dimension,
        Vec<crate::comparison::ComparisonRow>,
    )> {
        let (_, settings, _) = self.settings(caller.tenant()).await?;
        let today = calendar::today(now_millis(), settings.time_zone);
        let ms = metrics(&req.metrics, "metrics", None);
        let range = period(req.period.as_ref(), today, "period");
        let dim = dimension(req.group_by, "group_by");
        let filt = filter(req.filter.as_ref(), "filter");
        let kind = pb::BaselineKind::try_from(req.baseline)
            .map_err(|_| Error::invalid("baseline", "unknown baseline kind"));
        let custom = matches!(kind, Ok(pb::BaselineKind::Custom));
        let base = match (&kind, &range) {
            (Ok(_), _) if custom => period(req.baseline_period.as_ref(), today, "baseline_period"),
            (Ok(_), _) if req.baseline_period.is_some() => Err(Error::invalid(
                "baseline_period",
                "is only given with BASELINE_KIND_CUSTOM",
            )),
            (Ok(pb::BaselineKind::SamePeriodLastYear), Ok(r)) => {
                Ok(calendar::baseline(*r, Baseline::SamePeriodLastYear))
            }
            (Ok(_), Ok(r)) => Ok(calendar::baseline(*r, Baseline::PreviousPeriod)),
            (Err(e), _) => Err(Error::invalid("baseline", e.to_string())),
            (_, Err(_)) => Err(Error::internal("unreachable")),
        };
        gather(&[
            ms.as_ref().err(),
            range.as_ref().err(),
            dim.as_ref().err(),
            filt.as_ref().err(),
            base.as_ref().err().filter(|_| range.is_ok()),
        ])?;
        let (ms, range, dim, filt, base) = (ms?, range?, dim?, filt?, base?);
        let (current, _) = self.group_stats(caller, range, dim, &filt, &ms).await?;
        let (baseline, _) = self.group_stats(caller, base, dim, &filt, &ms).await?;
        let rows =
            crate::comparison::compare_periods(&ms, &current, &baseline, settings.minimum_sample);
        Ok((range, base, dim, rows))
    }

    async fn run_question_insights_core(
        &self,
        caller: &Caller,
        req: &pb::RunQuestionInsightsRequest,
    ) -> Result<(
        DateRange,
        Vec<crate::insights::pareto::ParetoEntry>,
        i64,
        BTreeMap<String, crate::rollup::cells::QuestionCell>,
        i64,
    )> {
        let (_, settings, _) = self.settings(caller.tenant()).await?;
        let today = calendar::today(now_millis(), settings.time_zone);
        let card =
            crate::validation::parse_id(&req.scorecard_id).map_err(|v| invalid(v, "scorecard_id"));
        let range = period(req.period.as_ref(), today, "period");
        let filt = filter(req.filter.as_ref(), "filter");
        let mut extra = earshot_kit::Violations::new();
        if let Some(f) = &req.filter {
            for (name, empty) in [
                ("filter.queue_ids", f.queue_ids.is_empty()),
                ("filter.channels", f.channels.is_empty()),
                ("filter.scorecard_ids", f.scorecard_ids.is_empty()),
                ("filter.evaluator_ids", f.evaluator_ids.is_empty()),
            ] {
                if !empty {
                    extra.add(name, "question insights filter by agent and team only");
                }
            }
        }
        let extra = extra.into_result().err();
        gather(&[
            card.as_ref().err(),
            range.as_ref().err(),
            filt.as_ref().err(),
            extra.as_ref(),
        ])?;
        let (card, range, filt) = (card?, range?, filt?);
        let mut f = scope(caller, Family::Quality, Dimension::Team, filt)?;
        f.scorecards = BTreeSet::from([card]);
        let cells: Vec<(QuestionKey, QuestionCell)> =
            store::scan(&self.db, caller.tenant(), range).await?;
        let mut by_question: BTreeMap<String, QuestionCell> = BTreeMap::new();
        for (k, c) in &cells {
            if k.passes(&f) {
                by_question.entry(k.question_id.clone()).or_default().add(c);
            }
        }
        let min = settings.minimum_sample;
        let (entries, total_failures) = crate::insights::pareto::pareto(&by_question, min);
        Ok((range, entries, total_failures, by_question, min))
    }

    async fn run_benchmark_core(
        &self,
        caller: &Caller,
        req: &pb::RunBenchmarkRequest,
    ) -> Result<(
        DateRange,
        Dimension,
        String,
        Vec<crate::benchmark::BenchmarkLine>,
    )> {
        let (_, settings, _) = self.settings(caller.tenant()).await?;
        let today = calendar::today(now_millis(), settings.time_zone);
        let dim = dimension(req.dimension, "dimension").and_then(|d| {
            if d == Dimension::Center {
                Err(Error::invalid("dimension", "must not be DIMENSION_CENTER"))
            } else {
                Ok(d)
            }
        });
        let id = crate::validation::parse_id(&req.group_id).map_err(|v| invalid(v, "group_id"));
        let range = period(req.period.as_ref(), today, "period");
        let applicable: Vec<Metric> = all_metrics()
            .into_iter()
            .filter(|m| {
                m.source() == crate::metrics::Source::Quality
                    || !matches!(dim, Ok(Dimension::Scorecard | Dimension::Evaluator))
            })
            .collect();
        let ms = metrics(&req.metrics, "metrics", Some(applicable));
        gather(&[
            dim.as_ref().err(),
            id.as_ref().err(),
            range.as_ref().err(),
            ms.as_ref().err(),
        ])?;
        let (dim, id, range, ms) = (dim?, id?, range?, ms?);
        // The group must be one the caller may see; the center is shown
        // whole (benchmarks compare against the center).
        let own = match dim {
            Dimension::Agent => Filter {
                agents: BTreeSet::from([id.clone()]),
                ..Filter::default()
            },
            Dimension::Team => Filter {
                teams: BTreeSet::from([id.clone()]),
                ..Filter::default()
            },
            _ => Filter::default(),
        };
        let (groups, _) = self.group_stats(caller, range, dim, &own, &ms).await?;
        let mut center = GroupStats::default();
        let (need_q, need_i) = needs(&ms);
        let tenant = caller.tenant();
        if need_i {
            reject_evaluation_fields(dim, &Filter::default())
                .map_err(|_| Error::invalid("metrics", "operational and customer metrics cannot be benchmarked by scorecard or evaluator"))?;
            center.interactions = store::scan_grouped::<InteractionKey, InteractionCell>(
                &self.db,
                tenant,
                range,
                Dimension::Center,
                &Filter::default(),
            )
            .await?
            .total;
        }
        if need_q {
            center.quality = store::scan_quality_grouped(
                &self.db,
                tenant,
                range,
                Dimension::Center,
                &Filter::default(),
            )
            .await?
            .total;
        }
        let mine = groups.get(&id).cloned().unwrap_or_default();
        let lines = ms
            .iter()
            .map(|m| crate::benchmark::benchmark(*m, dim, &id, &mine, &center, &settings))
            .collect();
        Ok((range, dim, id, lines))
    }
}

// The quality, operational and customer reports take the same request
// shape and answer the same page of groups; only the family, the runner and
// the row mapping differ.
macro_rules! grouped_report {
    ($svc:ident, $request:ident, $Req:ident, $Resp:ident, $family:expr, $run:ident, $row:ident) => {{
        let caller = auth::caller(&$request)?;
        require_report_role(&caller, Some($family))?;
        let req = $request.into_inner();
        let q = $svc
            .query(
                &caller,
                $family,
                req.period.as_ref(),
                req.group_by,
                req.filter.as_ref(),
                req.order.as_ref(),
            )
            .await?;
        let report = $svc.$run(caller.tenant(), &q).await?;
        let fp = fingerprint(&pb::$Req {
            page_token: String::new(),
            page_size: 0,
            ..req.clone()
        });
        let (rows, next, count) = page(&report.rows, req.page_size, &req.page_token, fp)?;
        Ok(Response::new(pb::$Resp {
            date_range: Some(date_range(q.range)),
            rows: rows
                .iter()
                .map(|r| $row(group(q.dim, &r.group_id), &r.figures, r.rank))
                .collect(),
            total: Some($row(group(Dimension::Center, ""), &report.total, None)),
            next_page_token: next,
            total_group_count: count,
            minimum_sample: i32::try_from(q.settings.minimum_sample).unwrap_or(i32::MAX),
        }))
    }};
}

#[tonic::async_trait]
impl ReportingService for Reporting {
    async fn run_quality_report(
        &self,
        request: Request<pb::RunQualityReportRequest>,
    ) -> Rpc<pb::RunQualityReportResponse> {
        grouped_report!(
            self,
            request,
            RunQualityReportRequest,
            RunQualityReportResponse,
            Family::Quality,
            quality,
            quality_row
        )
    }

    async fn run_operational_report(
        &self,
        request: Request<pb::RunOperationalReportRequest>,
    ) -> Rpc<pb::RunOperationalReportResponse> {
        grouped_report!(
            self,
            request,
            RunOperationalReportRequest,
            RunOperationalReportResponse,
            Family::Interactions,
            operational,
            operational_row
        )
    }

    async fn run_customer_report(
        &self,
        request: Request<pb::RunCustomerReportRequest>,
    ) -> Rpc<pb::RunCustomerReportResponse> {
        grouped_report!(
            self,
            request,
            RunCustomerReportRequest,
            RunCustomerReportResponse,
            Family::Interactions,
            customer,
            customer_row
        )
    }

    async fn run_trend(&self, request: Request<pb::RunTrendRequest>) -> Rpc<pb::RunTrendResponse> {
        let caller = auth::caller(&request)?;
        require_report_role(&caller, None)?;
        let req = request.into_inner();
        let t = self.trend(&caller, &req).await?;
        Ok(Response::new(trend_response(&t)))
    }

    async fn compare_periods(
        &self,
        request: Request<pb::ComparePeriodsRequest>,
    ) -> Rpc<pb::ComparePeriodsResponse> {
        let caller = auth::caller(&request)?;
        require_report_role(&caller, None)?;
        let req = request.into_inner();
        let (range, base, dim, rows) = self.compare_periods_core(&caller, &req).await?;
        let size = paging::page_size(req.page_size, PAGE_DEFAULT, PAGE_MAX)?;
        let fp = fingerprint(&pb::ComparePeriodsRequest {
            page_token: String::new(),
            page_size: 0,
            ..req.clone()
        });
        let offset: usize = paging::decode(&req.page_token, fp)?.unwrap_or(0);
        let end = (offset + size as usize).min(rows.len());
        let next = if end < rows.len() {
            paging::encode(&end, fp)
        } else {
            String::new()
        };
        Ok(Response::new(pb::ComparePeriodsResponse {
            date_range: Some(date_range(range)),
            baseline_date_range: Some(date_range(base)),
            rows: rows
                .get(offset.min(end)..end)
                .unwrap_or_default()
                .iter()
                .map(|r| pb::PeriodComparisonRow {
                    group: Some(group(dim, &r.group_id)),
                    comparisons: r.comparisons.iter().map(metric_comparison).collect(),
                })
                .collect(),
            next_page_token: next,
        }))
    }

    async fn run_question_insights(
        &self,
        request: Request<pb::RunQuestionInsightsRequest>,
    ) -> Rpc<pb::RunQuestionInsightsResponse> {
        use crate::insights::association::{CustomerOutcome, associations};
        let caller = auth::caller(&request)?;
        if !caller.has_any(&[
            Role::Admin,
            Role::QaManager,
            Role::Integration,
            Role::Supervisor,
        ]) {
            return Err(Error::PermissionDenied(
                "question insights need admin, qa_manager, integration or supervisor".into(),
            )
            .into());
        }
        let req = request.into_inner();
        let (range, entries, total_failures, by_question, min) =
            self.run_question_insights_core(&caller, &req).await?;
        let size = paging::page_size(req.page_size, PAGE_DEFAULT, PAGE_MAX)?;
        let fp = fingerprint(&pb::RunQuestionInsightsRequest {
            page_token: String::new(),
            page_size: 0,
            ..req.clone()
        });
        let offset: usize = paging::decode(&req.page_token, fp)?.unwrap_or(0);
        let end = (offset + size as usize).min(entries.len());
        let next = if end < entries.len() {
            paging::encode(&end, fp)
        } else {
            String::new()
        };
        let questions = entries
            .get(offset.min(end)..end)
            .unwrap_or_default()
            .iter()
            .map(|e| {
                let cell = by_question.get(&e.question_id).cloned().unwrap_or_default();
                pb::QuestionInsight {
                    question_id: e.question_id.clone(),
                    question_text: String::new(),
                    passed_count: e.passed,
                    failed_count: e.failed,
                    not_applicable_count: e.not_applicable,
                    fail_rate: Some(estimate(&e.fail_rate)),
                    share_of_failures: e.share_of_failures,
                    cumulative_share: e.cumulative_share,
                    pareto_rank: i32::try_from(e.rank).unwrap_or(i32::MAX),
                    vital_few: e.vital_few,
                    associations: associations(&cell, min)
                        .iter()
                        .map(|a| pb::OutcomeAssociation {
                            outcome: (match a.outcome {
                                CustomerOutcome::Csat => pb::CustomerOutcome::Csat,
                                CustomerOutcome::Nps => pb::CustomerOutcome::Nps,
                                CustomerOutcome::Fcr => pb::CustomerOutcome::Fcr,
                            }) as i32,
                            when_passed: Some(estimate(&a.when_passed)),
                            when_failed: Some(estimate(&a.when_failed)),
                            difference: Some(comparison(&crate::trend::Change {
                                comparison: a.difference,
                                assessment: crate::metrics::Assessment::NotAssessed,
                            })),
                            correlation: a.correlation,
                            paired_sample_size: a.paired_sample_size,
                            insufficient_sample: a.insufficient_sample,
                        })
                        .collect(),
                }
            })
            .collect();
        Ok(Response::new(pb::RunQuestionInsightsResponse {
            date_range: Some(date_range(range)),
            questions,
            total_failures,
            next_page_token: next,
        }))
    }

    async fn run_target_report(
        &self,
        request: Request<pb::RunTargetReportRequest>,
    ) -> Rpc<pb::RunTargetReportResponse> {
        let caller = auth::caller(&request)?;
        require_report_role(&caller, None)?;
        let req = request.into_inner();
        let (range, dim, results) = self.run_target_report_core(&caller, &req).await?;
        let total = results
            .iter()
            .map(|r| r.attainments.len())
            .max()
            .unwrap_or(0);
        let size = paging::page_size(req.page_size, PAGE_DEFAULT, PAGE_MAX)?;
        let fp = fingerprint(&pb::RunTargetReportRequest {
            page_token: String::new(),
            page_size: 0,
            ..req.clone()
        });
        let offset: usize = paging::decode(&req.page_token, fp)?.unwrap_or(0);
        let end = (offset + size as usize).min(total);
        let next = if end < total {
            paging::encode(&end, fp)
        } else {
            String::new()
        };
        let summaries = results
            .iter()
            .map(|r| pb::TargetSummary {
                metric: metric_code(r.metric),
                target: r.target.as_ref().map(target_message),
                share_of_periods_met: Some(estimate(&r.summary.share_of_periods_met)),
                share_of_groups_met: Some(estimate(&r.summary.share_of_groups_met)),
                groups: r
                    .attainments
                    .iter()
                    .skip(offset)
                    .take(end.saturating_sub(offset))
                    .map(|a| pb::GroupAttainment {
                        group: Some(group(dim, &a.group_id)),
                        target: Some(target_message(&a.target)),
                        overall: Some(estimate(&a.overall)),
                        overall_status: target_status(a.overall_status),
                        periods: a
                            .periods
                            .iter()
                            .map(|p| pb::PeriodAttainment {
                                start_date: Some(local_date(p.bucket.start)),
                                end_date: Some(local_date(p.bucket.end)),
                                value: Some(estimate(&p.value)),
                                status: target_status(p.status),
                            })
                            .collect(),
                        share_of_periods_met: a.share_of_periods_met,
                    })
                    .collect(),
            })
            .collect();
        Ok(Response::new(pb::RunTargetReportResponse {
            date_range: Some(date_range(range)),
            summaries,
            next_page_token: next,
        }))
    }

    async fn run_benchmark(
        &self,
        request: Request<pb::RunBenchmarkRequest>,
    ) -> Rpc<pb::RunBenchmarkResponse> {
        let caller = auth::caller(&request)?;
        require_report_role(&caller, None)?;
        let req = request.into_inner();
        let (range, dim, id, lines) = self.run_benchmark_core(&caller, &req).await?;
        let lines = lines
            .iter()
            .map(|l| pb::BenchmarkLine {
                metric: metric_code(l.metric),
                group_value: Some(estimate(&l.group_value)),
                center_value: Some(estimate(&l.center_value)),
                versus_rest_of_center: Some(comparison(&crate::trend::Change {
                    comparison: l.versus_rest_of_center,
                    assessment: l.assessment,
                })),
                industry_reference: l
                    .industry_reference
                    .as_ref()
                    .map(|r| pb::IndustryReference {
                        metric: metric_code(r.metric),
                        value: r.value,
                        source: r.source.clone(),
                    }),
                difference_from_industry: l.difference_from_industry,
                target: l.target.as_ref().map(target_message),
                target_status: l.target_status.map_or(0, target_status),
            })
            .collect();
        Ok(Response::new(pb::RunBenchmarkResponse {
            date_range: Some(date_range(range)),
            group: Some(group(dim, &id)),
            lines,
        }))
    }

    async fn export_report(
        &self,
        request: Request<pb::ExportReportRequest>,
    ) -> Rpc<tonic::codegen::BoxStream<pb::ExportReportResponse>> {
        use pb::export_report_request::Report as R;
        let caller = auth::caller(&request)?;
        require_report_role(&caller, None)?;
        let req = request.into_inner();
        if req.format != pb::ExportFormat::Csv as i32 {
            return Err(Error::invalid("format", "must be EXPORT_FORMAT_CSV").into());
        }
        let names = Names::new();
        let chunks = match &req.report {
            None => return Err(Error::invalid("report", "a report is required").into()),
            Some(R::Quality(r)) => {
                let q = self
                    .query(
                        &caller,
                        Family::Quality,
                        r.period.as_ref(),
                        r.group_by,
                        r.filter.as_ref(),
                        r.order.as_ref(),
                    )
                    .await?;
                let rep = self.quality(caller.tenant(), &q).await?;
                csv_chunks(&tables::quality_table(&rep.rows, &names), "quality")?
            }
            Some(R::Operational(r)) => {
                let q = self
                    .query(
                        &caller,
                        Family::Interactions,
                        r.period.as_ref(),
                        r.group_by,
                        r.filter.as_ref(),
                        r.order.as_ref(),
                    )
                    .await?;
                let rep = self.operational(caller.tenant(), &q).await?;
                csv_chunks(&tables::operational_table(&rep.rows, &names), "operational")?
            }
            Some(R::Customer(r)) => {
                let q = self
                    .query(
                        &caller,
                        Family::Interactions,
                        r.period.as_ref(),
                        r.group_by,
                        r.filter.as_ref(),
                        r.order.as_ref(),
                    )
                    .await?;
                let rep = self.customer(caller.tenant(), &q).await?;
                csv_chunks(&tables::customer_table(&rep.rows, &names), "customer")?
            }
            Some(R::Trend(r)) => {
                let t = self.trend(&caller, r).await?;
                csv_chunks(
                    &tables::trend_table(t.metric.name(), &t.series, &names),
                    "trend",
                )?
            }
            Some(R::Comparison(r)) => {
                let (_, _, _, rows) = self.compare_periods_core(&caller, r).await?;
                csv_chunks(&tables::comparison_table(&rows, &names), "comparison")?
            }
            Some(R::QuestionInsights(r)) => {
                let (_, entries, _, cells, min) =
                    self.run_question_insights_core(&caller, r).await?;
                let with: Vec<_> = entries
                    .into_iter()
                    .map(|e| {
                        let a = cells
                            .get(&e.question_id)
                            .map(|c| crate::insights::association::associations(c, min))
                            .unwrap_or_default();
                        (e, a)
                    })
                    .collect();
                csv_chunks(&tables::insights_table(&with, &names), "question-insights")?
            }
            Some(R::Targets(r)) => {
                let (_, _, results) = self.run_target_report_core(&caller, r).await?;
                let all: Vec<crate::targets::Attainment> =
                    results.into_iter().flat_map(|r| r.attainments).collect();
                csv_chunks(&tables::targets_table(&all, &names), "targets")?
            }
            Some(R::Benchmark(r)) => {
                let (_, _, _, lines) = self.run_benchmark_core(&caller, r).await?;
                csv_chunks(&tables::benchmark_table(&lines), "benchmark")?
            }
        };
        let stream = futures::stream::iter(chunks.into_iter().map(Ok));
        Ok(Response::new(Box::pin(stream)))
    }

    async fn render_chart(
        &self,
        request: Request<pb::RenderChartRequest>,
    ) -> Rpc<pb::RenderChartResponse> {
        use crate::output::svg::{histogram, trend};
        use pb::render_chart_request::Chart;
        let caller = auth::caller(&request)?;
        require_report_role(&caller, None)?;
        let req = request.into_inner();
        let mut v = earshot_kit::Violations::new();
        for (field, x) in [("width", req.width), ("height", req.height)] {
            if x != 0 && !(100..=4000).contains(&x) {
                v.add(field, "must be 0 (default) or between 100 and 4000 pixels");
            }
        }
        if req.title.chars().count() > 200 {
            v.add("title", "at most 200 characters");
        }
        v.into_result()?;
        let size = Size::new(
            u32::try_from(if req.width == 0 { 800 } else { req.width }).unwrap_or(800),
            u32::try_from(if req.height == 0 { 400 } else { req.height }).unwrap_or(400),
        );
        let svg = match &req.chart {
            None => return Err(Error::invalid("chart", "a chart is required").into()),
            Some(Chart::Distribution(d)) => {
                let q = self
                    .query(
                        &caller,
                        Family::Quality,
                        d.period.as_ref(),
                        pb::Dimension::Center as i32,
                        d.filter.as_ref(),
                        None,
                    )
                    .await?;
                let rep = self.quality(caller.tenant(), &q).await?;
                histogram::render_histogram(&histogram::DistributionChartInput {
                    title: if req.title.is_empty() {
                        "Score distribution".into()
                    } else {
                        req.title.clone()
                    },
                    counts: rep.total.distribution.0,
                    size,
                })
            }
            Some(Chart::Trend(tc)) => {
                let Some(tr) = &tc.trend else {
                    return Err(Error::invalid("trend.trend", "a trend request is required").into());
                };
                let t = self.trend(&caller, tr).await?;
                let (lo, hi) = t.metric.range();
                trend::render_trend(&trend::TrendChartInput {
                    title: if req.title.is_empty() {
                        t.metric.label().to_owned()
                    } else {
                        req.title.clone()
                    },
                    y_label: t.metric.label().to_owned(),
                    x_labels: t
                        .series
                        .first()
                        .map(|s| {
                            s.points
                                .iter()
                                .map(|p| calendar::bucket_label(p.bucket.start, t.granularity))
                                .collect()
                        })
                        .unwrap_or_default(),
                    series: t
                        .series
                        .iter()
                        .map(|s| trend::SeriesInput {
                            name: if s.group_id.is_empty() {
                                "Center".into()
                            } else {
                                s.group_id.clone()
                            },
                            points: s.points.iter().map(|p| p.value).collect(),
                        })
                        .collect(),
                    target: if tc.show_target {
                        t.target.as_ref().map(|x| x.value)
                    } else {
                        None
                    },
                    percent: lo == 0.0 && hi == 1.0,
                    size,
                })
            }
        };
        Ok(Response::new(pb::RenderChartResponse {
            svg,
            content_type: "image/svg+xml".into(),
        }))
    }

    async fn get_feed_status(
        &self,
        request: Request<pb::GetFeedStatusRequest>,
    ) -> Rpc<pb::GetFeedStatusResponse> {
        let caller = auth::caller(&request)?;
        caller.require_any(&[
            Role::Admin,
            Role::QaManager,
            Role::Integration,
            Role::Service,
        ])?;
        let cursors = store::cursors(&self.db).await?;
        let now = now_millis();
        let feeds = Source::ALL
            .iter()
            .map(|s| {
                let live = self.feeds.live(*s);
                let c = cursors
                    .iter()
                    .find(|c| c.source == s.name())
                    .cloned()
                    .unwrap_or(store::CursorRow {
                        source: s.name().to_owned(),
                        seq: 0,
                        head: 0,
                        last_occurred_at: 0,
                        last_applied_at: 0,
                    });
                let head = live.head.max(c.head);
                let lag = crate::follow::lag(&c, head, now);
                pb::FeedStatus {
                    source: match s {
                        Source::Sampling => pb::FeedSource::Sampling,
                        Source::Scoring => pb::FeedSource::Scoring,
                        Source::Calibration => pb::FeedSource::Calibration,
                    } as i32,
                    state: match live.state {
                        FeedState::Unknown => pb::FeedState::Unspecified,
                        FeedState::CatchingUp => pb::FeedState::CatchingUp,
                        FeedState::Following => pb::FeedState::Following,
                        FeedState::Disconnected => pb::FeedState::Disconnected,
                        FeedState::Disabled => pb::FeedState::Disabled,
                    } as i32,
                    applied_sequence: c.seq,
                    head_sequence: head,
                    lag_events: lag.events,
                    lag: Some(duration(lag.age_ms)),
                    last_applied_time: (c.last_applied_at > 0)
                        .then(|| from_millis(c.last_applied_at)),
                    last_error: live.last_error,
                }
            })
            .collect();
        Ok(Response::new(pb::GetFeedStatusResponse { feeds }))
    }

    async fn get_settings(
        &self,
        request: Request<pb::GetSettingsRequest>,
    ) -> Rpc<pb::GetSettingsResponse> {
        let caller = auth::caller(&request)?;
        caller.require_any(&[
            Role::Admin,
            Role::QaManager,
            Role::Supervisor,
            Role::Integration,
            Role::Service,
        ])?;
        let (_, _, p) = self.settings(caller.tenant()).await?;
        Ok(Response::new(pb::GetSettingsResponse { settings: Some(p) }))
    }

    async fn update_settings(
        &self,
        request: Request<pb::UpdateSettingsRequest>,
    ) -> Rpc<pb::UpdateSettingsResponse> {
        let caller = auth::caller(&request)?;
        caller.require_any(&[Role::Admin, Role::QaManager])?;
        let req = request.into_inner();
        let tenant = caller.tenant().clone();
        let Some(given) = req.settings.as_ref() else {
            return Err(Error::invalid("settings", "is required").into());
        };
        let (etag, current, _) = self.settings(&tenant).await?;
        if !req.etag.is_empty() && req.etag != etag {
            return Err(Error::Aborted(
                "the settings changed since they were read; read them again".into(),
            )
            .into());
        }
        let paths = req
            .update_mask
            .as_ref()
            .map(|m| m.paths.clone())
            .unwrap_or_default();
        let merged = current
            .to_draft()
            .merge_masked(settings_draft(given), &paths)
            .map_err(|v| invalid(v, ""))?;
        let parsed =
            Settings::parse(&merged, current.time_zone).map_err(|v| invalid(v, "settings"))?;
        let new_etag = format!(
            "{:016x}",
            paging::fingerprint(&(now_millis(), &req.etag, &paths))
        );
        let mut msg = settings_message(&parsed, "");
        msg.update_time = Some(from_millis(now_millis()));
        msg.updated_by = Some(common::Actor {
            subject: caller.subject().to_owned(),
            ..Default::default()
        });
        let stored = store::put_settings(
            &self.db,
            &tenant,
            (!etag.is_empty()).then_some(etag.as_str()),
            &new_etag,
            &msg.encode_to_vec(),
            &parsed.service_level_thresholds(),
        )
        .await?;
        if !stored {
            return Err(Error::Aborted(
                "the settings changed while being updated; read them again".into(),
            )
            .into());
        }
        msg.etag = new_etag;
        msg.time_zone = parsed.time_zone.name().to_owned();
        Ok(Response::new(pb::UpdateSettingsResponse {
            settings: Some(msg),
        }))
    }
}
