//! Reports as tables: the reporting service's answers turned into rows a
//! person can read (and CSV/JSON a program can), shared by `earshot report`
//! and the demo.

use earshot_proto::{
    common::v1::{Estimate, Granularity},
    reporting::v1::{self as pb, Dimension, Metric},
};
use serde_json::json;

use super::table::{Cell, Table};

/// Which report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ReportKind {
    /// Evaluation scores, pass and critical-failure rates.
    Quality,
    /// Volume, handle time, speed of answer, abandonment, FCR, coverage.
    Operational,
    /// CSAT, NPS, survey response rate, complaints.
    Customer,
    /// One metric over time.
    Trend,
    /// This period against the previous one.
    Compare,
    /// Fail rate per scorecard question, in Pareto order.
    Questions,
    /// Attainment of the tenant's targets.
    Targets,
}

/// An estimate as "value [low–high] n" (percent for proportions).
pub fn estimate(e: Option<&Estimate>, percent: bool) -> Cell {
    let Some(e) = e else { return Cell::empty() };
    if e.sample_size == 0 {
        return Cell {
            text: "–".into(),
            value: serde_json::Value::Null,
        };
    }
    let k = if percent { 100.0 } else { 1.0 };
    let flag = if e.insufficient_sample { "*" } else { "" };
    Cell {
        text: format!(
            "{:.1}{} [{:.1}–{:.1}]{flag}",
            e.value * k,
            if percent { "%" } else { "" },
            e.ci_low * k,
            e.ci_high * k
        ),
        value: json!({
            "value": e.value,
            "ci_low": e.ci_low,
            "ci_high": e.ci_high,
            "sample_size": e.sample_size,
            "insufficient_sample": e.insufficient_sample,
        }),
    }
}

fn group(g: Option<&pb::Group>) -> Cell {
    match g {
        Some(g) if !g.display_name.is_empty() => Cell::text(g.display_name.clone()),
        Some(g) if g.dimension == Dimension::Channel as i32 => {
            Cell::text(g.id.trim_start_matches("CHANNEL_").to_ascii_lowercase())
        }
        Some(g) if !g.id.is_empty() => Cell::text(g.id.clone()),
        Some(g) if g.dimension == Dimension::Center as i32 => Cell::text("center"),
        _ => Cell::text("(all)"),
    }
}

/// "2026-11-01".
pub fn date(d: Option<&pb::LocalDate>) -> String {
    d.map(|d| format!("{:04}-{:02}-{:02}", d.year, d.month, d.day))
        .unwrap_or_default()
}

fn range(r: Option<&pb::DateRange>) -> String {
    r.map(|r| {
        format!(
            "{} to {}",
            date(r.start_date.as_ref()),
            date(r.end_date.as_ref())
        )
    })
    .unwrap_or_default()
}

const SMALL: &str = "* below the minimum sample: shown, not ranked. Intervals are 95%.";

/// Seconds as m:ss.
fn mmss(e: Option<&Estimate>) -> Cell {
    let Some(e) = e else { return Cell::empty() };
    if e.sample_size == 0 {
        return estimate(Some(e), false);
    }
    let s = e.value.max(0.0).round() as i64;
    let flag = if e.insufficient_sample { "*" } else { "" };
    Cell {
        text: if s >= 3600 {
            format!("{}:{:02}:{:02}{flag}", s / 3600, s / 60 % 60, s % 60)
        } else {
            format!("{}:{:02}{flag}", s / 60, s % 60)
        },
        value: estimate(Some(e), false).value,
    }
}

/// The quality report.
pub fn quality(r: &pb::RunQualityReportResponse) -> Table {
    let mut t = Table::new(
        format!("Quality, {}", range(r.date_range.as_ref())),
        &[
            "group",
            "evaluations",
            "mean_score",
            "pass_rate",
            "critical_failures",
            "rank",
        ],
    );
    for row in r.rows.iter().chain(r.total.iter()) {
        t.push(vec![
            group(row.group.as_ref()),
            Cell::int(row.evaluation_count),
            estimate(row.mean_score.as_ref(), false),
            estimate(row.pass_rate.as_ref(), true),
            estimate(row.critical_failure_rate.as_ref(), true),
            if row.rank > 0 {
                Cell::int(i64::from(row.rank))
            } else {
                Cell::empty()
            },
        ]);
    }
    t.notes.push(SMALL.into());
    t
}

/// The operational report.
pub fn operational(r: &pb::RunOperationalReportResponse) -> Table {
    let mut t = Table::new(
        format!("Operations, {}", range(r.date_range.as_ref())),
        &[
            "group",
            "interactions",
            "aht",
            "asa",
            "abandoned",
            "service_level",
            "transfers",
            "fcr",
            "coverage",
        ],
    );
    for row in r.rows.iter().chain(r.total.iter()) {
        t.push(vec![
            group(row.group.as_ref()),
            Cell::int(row.interaction_count),
            mmss(row.average_handle_time.as_ref()),
            mmss(row.average_speed_of_answer.as_ref()),
            estimate(row.abandonment_rate.as_ref(), true),
            estimate(row.service_level.as_ref(), true),
            estimate(row.transfer_rate.as_ref(), true),
            estimate(row.first_contact_resolution.as_ref(), true),
            estimate(row.monitoring_coverage.as_ref(), true),
        ]);
    }
    t.notes.push(format!(
        "AHT and ASA in m:ss (h:mm:ss from an hour). {SMALL}"
    ));
    t
}

/// The customer report.
pub fn customer(r: &pb::RunCustomerReportResponse) -> Table {
    let mut t = Table::new(
        format!("Customers, {}", range(r.date_range.as_ref())),
        &[
            "group",
            "surveys_sent",
            "response_rate",
            "csat",
            "nps",
            "complaints",
            "complaints_resolved",
        ],
    );
    for row in r.rows.iter().chain(r.total.iter()) {
        let nps = row.nps.as_ref().and_then(|n| n.score.as_ref());
        t.push(vec![
            group(row.group.as_ref()),
            Cell::int(row.surveys_sent),
            estimate(row.response_rate.as_ref(), true),
            estimate(row.csat.as_ref(), true),
            estimate(nps, false),
            Cell::int(row.complaint_count),
            estimate(row.complaint_resolved_share.as_ref(), true),
        ]);
    }
    t.notes.push(SMALL.into());
    t
}

/// Whether a metric is a proportion (shown in percent).
pub fn is_rate(m: Metric) -> bool {
    matches!(
        m,
        Metric::PassRate
            | Metric::CriticalFailureRate
            | Metric::AbandonmentRate
            | Metric::ServiceLevel
            | Metric::TransferRate
            | Metric::FirstContactResolution
            | Metric::Csat
            | Metric::SurveyResponseRate
            | Metric::ComplaintRate
            | Metric::ComplaintResolvedShare
            | Metric::MonitoringCoverage
    )
}

/// A metric's short name ("quality_score").
pub fn metric_name(m: Metric) -> String {
    m.as_str_name()
        .trim_start_matches("METRIC_")
        .to_ascii_lowercase()
}

/// The trend report: one row per series and bucket.
pub fn trend(r: &pb::RunTrendResponse) -> Table {
    let metric = Metric::try_from(r.metric).unwrap_or(Metric::Unspecified);
    let mut t = Table::new(
        format!(
            "Trend of {}, {}",
            metric_name(metric),
            range(r.date_range.as_ref())
        ),
        &["group", "from", "to", "value", "partial"],
    );
    for s in &r.series {
        for p in &s.points {
            t.push(vec![
                group(s.group.as_ref()),
                Cell::text(date(p.start_date.as_ref())),
                Cell::text(date(p.end_date.as_ref())),
                estimate(p.value.as_ref(), is_rate(metric)),
                Cell::flag(p.partial),
            ]);
        }
        if let Some(c) = s
            .last_change
            .as_ref()
            .filter(|c| !assessment(c.assessment).is_empty())
        {
            t.notes.push(format!(
                "{}: last bucket {} by {:+.2} (p = {:.3})",
                group(s.group.as_ref()).text,
                assessment(c.assessment),
                c.difference * if is_rate(metric) { 100.0 } else { 1.0 },
                c.p_value
            ));
        }
    }
    t
}

fn assessment(a: i32) -> &'static str {
    match pb::ChangeAssessment::try_from(a) {
        Ok(pb::ChangeAssessment::Improved) => "improved",
        Ok(pb::ChangeAssessment::Worsened) => "worsened",
        Ok(pb::ChangeAssessment::NoSignificantChange) => "no significant change",
        _ => "",
    }
}

/// Period-over-period comparison.
pub fn compare(r: &pb::ComparePeriodsResponse) -> Table {
    let mut t = Table::new(
        format!(
            "{} against {}",
            range(r.date_range.as_ref()),
            range(r.baseline_date_range.as_ref())
        ),
        &[
            "group",
            "metric",
            "current",
            "baseline",
            "change",
            "p_value",
            "assessment",
        ],
    );
    for row in &r.rows {
        for mc in &row.comparisons {
            let metric = Metric::try_from(mc.metric).unwrap_or(Metric::Unspecified);
            let Some(c) = &mc.comparison else { continue };
            let k = if is_rate(metric) { 100.0 } else { 1.0 };
            t.push(vec![
                group(row.group.as_ref()),
                Cell::text(metric_name(metric)),
                estimate(c.current.as_ref(), is_rate(metric)),
                estimate(c.baseline.as_ref(), is_rate(metric)),
                Cell::num(c.difference * k, 2),
                Cell::num(c.p_value, 3),
                Cell::text(assessment(c.assessment)),
            ]);
        }
    }
    t
}

/// Question insights.
pub fn questions(r: &pb::RunQuestionInsightsResponse) -> Table {
    let mut t = Table::new(
        format!("Questions by failures, {}", range(r.date_range.as_ref())),
        &[
            "rank",
            "question",
            "failed",
            "passed",
            "fail_rate",
            "share_of_failures",
            "vital_few",
        ],
    );
    for q in &r.questions {
        t.push(vec![
            Cell::int(i64::from(q.pareto_rank)),
            Cell::text(if q.question_text.is_empty() {
                q.question_id.clone()
            } else {
                q.question_text.clone()
            }),
            Cell::int(q.failed_count),
            Cell::int(q.passed_count),
            estimate(q.fail_rate.as_ref(), true),
            Cell::num(q.share_of_failures * 100.0, 1),
            Cell::flag(q.vital_few),
        ]);
    }
    t
}

/// Target attainment.
pub fn targets(r: &pb::RunTargetReportResponse) -> Table {
    let mut t = Table::new(
        format!("Targets, {}", range(r.date_range.as_ref())),
        &[
            "metric",
            "target",
            "group",
            "overall",
            "status",
            "periods_met",
        ],
    );
    for s in &r.summaries {
        let metric = Metric::try_from(s.metric).unwrap_or(Metric::Unspecified);
        let k = if is_rate(metric) { 100.0 } else { 1.0 };
        for g in &s.groups {
            let target = g.target.as_ref().or(s.target.as_ref());
            t.push(vec![
                Cell::text(metric_name(metric)),
                target.map_or_else(Cell::empty, |x| Cell::num(x.value * k, 1)),
                group(g.group.as_ref()),
                estimate(g.overall.as_ref(), is_rate(metric)),
                Cell::text(
                    pb::TargetStatus::try_from(g.overall_status)
                        .map(|s| {
                            s.as_str_name()
                                .trim_start_matches("TARGET_STATUS_")
                                .to_ascii_lowercase()
                        })
                        .unwrap_or_default(),
                ),
                Cell::num(g.share_of_periods_met * 100.0, 0),
            ]);
        }
    }
    t
}

/// Parses a dimension name.
pub fn parse_dimension(s: &str) -> Result<Dimension, String> {
    Ok(match s {
        "center" => Dimension::Center,
        "agent" => Dimension::Agent,
        "team" => Dimension::Team,
        "queue" => Dimension::Queue,
        "channel" => Dimension::Channel,
        "scorecard" => Dimension::Scorecard,
        "evaluator" => Dimension::Evaluator,
        _ => {
            return Err(format!(
                "{s:?}: expected center, agent, team, queue, channel, scorecard or evaluator"
            ));
        }
    })
}

/// Parses a metric name ("quality_score", "csat" ...).
pub fn parse_metric(s: &str) -> Result<Metric, String> {
    let name = format!("METRIC_{}", s.trim().to_ascii_uppercase().replace('-', "_"));
    Metric::from_str_name(&name)
        .filter(|m| *m != Metric::Unspecified)
        .ok_or_else(|| format!("{s:?} is not a metric (e.g. quality_score, pass_rate, average_handle_time, csat, nps, first_contact_resolution)"))
}

/// Parses a granularity name.
pub fn parse_granularity(s: &str) -> Result<Granularity, String> {
    Granularity::from_str_name(&format!("GRANULARITY_{}", s.trim().to_ascii_uppercase()))
        .filter(|g| *g != Granularity::Unspecified)
        .ok_or_else(|| format!("{s:?}: expected day, week, month, quarter or year"))
}

/// Parses a period: a preset (`last-30-days`, `this-month` ...) or
/// `YYYY-MM-DD..YYYY-MM-DD`.
pub fn parse_period(s: &str) -> Result<pb::Period, String> {
    use pb::period::Kind;
    if let Some((a, b)) = s.split_once("..") {
        let d = |x: &str| -> Result<pb::LocalDate, String> {
            let p: Vec<&str> = x.trim().split('-').collect();
            let n = |i: usize| p.get(i).and_then(|v| v.parse::<i32>().ok());
            match (p.len(), n(0), n(1), n(2)) {
                (3, Some(year), Some(month), Some(day)) => Ok(pb::LocalDate { year, month, day }),
                _ => Err(format!("{x:?} is not a date (YYYY-MM-DD)")),
            }
        };
        return Ok(pb::Period {
            kind: Some(Kind::DateRange(pb::DateRange {
                start_date: Some(d(a)?),
                end_date: Some(d(b)?),
            })),
        });
    }
    let name = format!(
        "PRESET_PERIOD_{}",
        s.trim().to_ascii_uppercase().replace('-', "_")
    );
    pb::PresetPeriod::from_str_name(&name)
        .filter(|p| *p != pb::PresetPeriod::Unspecified)
        .map(|p| pb::Period {
            kind: Some(Kind::Preset(p as i32)),
        })
        .ok_or_else(|| format!("{s:?}: expected a preset such as last-30-days, this-month, last-12-months, or FROM..TO dates"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn names_parse() {
        assert_eq!(parse_metric("quality_score").unwrap(), Metric::QualityScore);
        assert!(parse_metric("speed").is_err());
        assert_eq!(parse_dimension("team").unwrap(), Dimension::Team);
        assert!(parse_period("last-30-days").is_ok());
        assert!(parse_period("2026-10-01..2026-10-31").is_ok());
        assert!(parse_period("2026-10..2026-11").is_err());
        assert!(parse_period("soon").is_err());
        assert_eq!(parse_granularity("week").unwrap(), Granularity::Week);
    }

    #[test]
    fn estimates_read_well() {
        let e = Estimate {
            value: 0.8126,
            ci_low: 0.75,
            ci_high: 0.875,
            sample_size: 40,
            insufficient_sample: true,
            ..Default::default()
        };
        assert_eq!(estimate(Some(&e), true).text, "81.3% [75.0–87.5]*");
    }
}
