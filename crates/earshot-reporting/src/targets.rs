//! Targets: met or not per period and group, the share of periods and of
//! groups meeting each target.
//!
//! A figure is judged on its point estimate, but only when it is usable: a
//! group below the minimum sample is neither met nor missed
//! (`InsufficientSample`), and an empty one is `NoData`. Shares are taken
//! over judged cells only, with a Wilson interval, so "82% of teams met the
//! quality target" carries how many teams that was.

use crate::calendar::Bucket;
use crate::dimension::Dimension;
use crate::metrics::{GroupStats, Metric};
use crate::settings::{Comparator, Target, TargetScope};
use crate::stats::{Estimate, Proportion};

/// A figure against its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TargetStatus {
    /// Meets it.
    Met,
    /// Misses it.
    NotMet,
    /// Below the minimum sample: not judged.
    InsufficientSample,
    /// Nothing to judge.
    NoData,
}

impl TargetStatus {
    /// True for `Met` and `NotMet`.
    pub fn judged(self) -> bool {
        matches!(self, TargetStatus::Met | TargetStatus::NotMet)
    }
}

/// Judges an estimate against a target.
pub fn status(e: &Estimate, target: &Target) -> TargetStatus {
    if e.no_data {
        return TargetStatus::NoData;
    }
    if e.insufficient_sample {
        return TargetStatus::InsufficientSample;
    }
    let met = match target.comparator {
        Comparator::AtLeast => e.value >= target.value,
        Comparator::AtMost => e.value <= target.value,
    };
    if met {
        TargetStatus::Met
    } else {
        TargetStatus::NotMet
    }
}

/// The target of `metric` for a group: a target for that very group wins
/// over a target for all. For the center, `dimension` is `Center` and
/// `group_id` empty.
pub fn target_for<'a>(
    targets: &'a [Target],
    metric: Metric,
    dimension: Dimension,
    group_id: &str,
) -> Option<&'a Target> {
    let own = targets.iter().find(|t| {
        t.metric == metric
            && matches!(&t.scope, TargetScope::Group(d, id) if *d == dimension && id == group_id)
    });
    own.or_else(|| {
        targets
            .iter()
            .find(|t| t.metric == metric && t.scope == TargetScope::All)
    })
}

/// One bucket's attainment.
#[derive(Debug, Clone, PartialEq)]
pub struct PeriodAttainment {
    /// The bucket.
    pub bucket: Bucket,
    /// The figure.
    pub value: Estimate,
    /// Met or not.
    pub status: TargetStatus,
}

/// One group's attainment of one target.
#[derive(Debug, Clone, PartialEq)]
pub struct Attainment {
    /// The group.
    pub group_id: String,
    /// The target applied.
    pub target: Target,
    /// The figure over the whole period.
    pub overall: Estimate,
    /// Its status.
    pub overall_status: TargetStatus,
    /// Per bucket.
    pub periods: Vec<PeriodAttainment>,
    /// Buckets met / buckets judged (0 when none judged).
    pub share_of_periods_met: f64,
}

/// Judges one group over the whole period and bucket by bucket.
pub fn attainment(
    target: &Target,
    group_id: &str,
    overall: &GroupStats,
    buckets: &[(Bucket, GroupStats)],
    minimum_sample: i64,
) -> Attainment {
    let overall_e = target.metric.estimate(overall, minimum_sample);
    let periods: Vec<PeriodAttainment> = buckets
        .iter()
        .map(|(bucket, stats)| {
            let value = target.metric.estimate(stats, minimum_sample);
            PeriodAttainment {
                bucket: *bucket,
                value,
                status: status(&value, target),
            }
        })
        .collect();
    let judged = periods.iter().filter(|p| p.status.judged()).count();
    let met = periods
        .iter()
        .filter(|p| p.status == TargetStatus::Met)
        .count();
    Attainment {
        group_id: group_id.to_owned(),
        target: target.clone(),
        overall: overall_e,
        overall_status: status(&overall_e, target),
        periods,
        share_of_periods_met: if judged > 0 {
            met as f64 / judged as f64
        } else {
            0.0
        },
    }
}

/// Shares over many groups' attainments of one metric.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AttainmentSummary {
    /// Met (group, bucket) cells / judged cells, Wilson interval.
    pub share_of_periods_met: Estimate,
    /// Groups met over the whole period / groups judged, Wilson interval.
    pub share_of_groups_met: Estimate,
}

/// Summarises attainments (all groups, not only one page).
pub fn summarise(attainments: &[Attainment]) -> AttainmentSummary {
    let mut periods = Proportion::default();
    let mut groups = Proportion::default();
    for a in attainments {
        for p in &a.periods {
            if p.status.judged() {
                periods.trials += 1;
                periods.successes += i64::from(p.status == TargetStatus::Met);
            }
        }
        if a.overall_status.judged() {
            groups.trials += 1;
            groups.successes += i64::from(a.overall_status == TargetStatus::Met);
        }
    }
    AttainmentSummary {
        share_of_periods_met: periods.wilson(),
        share_of_groups_met: groups.wilson(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::{DateRange, Granularity, buckets};
    use crate::stats::Moments;
    use chrono::NaiveDate;

    fn target(metric: Metric, value: f64, comparator: Comparator, scope: TargetScope) -> Target {
        Target {
            metric,
            value,
            comparator,
            scope,
        }
    }

    fn quality(scores: &[i64]) -> GroupStats {
        let mut s = GroupStats::default();
        s.quality.scores = Moments::from_values(scores);
        s
    }

    #[test]
    fn status_table() {
        let at_least = target(
            Metric::QualityScore,
            85.0,
            Comparator::AtLeast,
            TargetScope::All,
        );
        let at_most = target(
            Metric::AverageHandleTime,
            360.0,
            Comparator::AtMost,
            TargetScope::All,
        );
        let e = |v: f64| Estimate::new(v, v - 1.0, v + 1.0, 20);
        let table = [
            (e(85.0), &at_least, TargetStatus::Met),
            (e(84.99), &at_least, TargetStatus::NotMet),
            (e(360.0), &at_most, TargetStatus::Met),
            (e(361.0), &at_most, TargetStatus::NotMet),
            (
                e(99.0).with_minimum(30),
                &at_least,
                TargetStatus::InsufficientSample,
            ),
            (Estimate::NO_DATA, &at_least, TargetStatus::NoData),
        ];
        for (est, t, want) in table {
            assert_eq!(status(&est, t), want, "{est:?}");
        }
    }

    #[test]
    fn group_targets_override_general_ones() {
        let targets = vec![
            target(
                Metric::QualityScore,
                85.0,
                Comparator::AtLeast,
                TargetScope::All,
            ),
            target(
                Metric::QualityScore,
                90.0,
                Comparator::AtLeast,
                TargetScope::Group(Dimension::Team, "t1".into()),
            ),
            target(
                Metric::Csat,
                0.8,
                Comparator::AtLeast,
                TargetScope::Group(Dimension::Center, String::new()),
            ),
        ];
        assert_eq!(
            target_for(&targets, Metric::QualityScore, Dimension::Team, "t1").map(|t| t.value),
            Some(90.0)
        );
        assert_eq!(
            target_for(&targets, Metric::QualityScore, Dimension::Team, "t2").map(|t| t.value),
            Some(85.0)
        );
        assert_eq!(
            target_for(&targets, Metric::QualityScore, Dimension::Agent, "t1").map(|t| t.value),
            Some(85.0)
        );
        assert!(target_for(&targets, Metric::Csat, Dimension::Team, "t1").is_none());
        assert!(target_for(&targets, Metric::Csat, Dimension::Center, "").is_some());
    }

    #[test]
    fn shares_of_periods_and_groups() {
        let d = |m, day| NaiveDate::from_ymd_opt(2026, m, day).unwrap();
        let b = buckets(
            DateRange::new(d(1, 1), d(3, 31)).unwrap(),
            Granularity::Month,
            12,
        )
        .unwrap();
        let t = target(
            Metric::QualityScore,
            85.0,
            Comparator::AtLeast,
            TargetScope::All,
        );
        // Team A: 90, 80, (1 evaluation: insufficient) → 1 of 2 judged months met.
        let a_months = vec![
            (b[0], quality(&[9_000, 9_000, 9_000])),
            (b[1], quality(&[8_000, 8_000, 8_000])),
            (b[2], quality(&[9_900])),
        ];
        let a = attainment(
            &t,
            "A",
            &quality(&[9_000, 9_000, 9_000, 8_000, 8_000, 8_000, 9_900]),
            &a_months,
            3,
        );
        assert_eq!(
            a.periods.iter().map(|p| p.status).collect::<Vec<_>>(),
            [
                TargetStatus::Met,
                TargetStatus::NotMet,
                TargetStatus::InsufficientSample
            ]
        );
        assert!((a.share_of_periods_met - 0.5).abs() < 1e-12);
        // Overall mean 87 ≥ 85.
        assert_eq!(a.overall_status, TargetStatus::Met);
        // Team B: no data at all.
        let b_months: Vec<_> = b.iter().map(|x| (*x, GroupStats::default())).collect();
        let bb = attainment(&t, "B", &GroupStats::default(), &b_months, 3);
        assert_eq!(bb.overall_status, TargetStatus::NoData);
        assert_eq!(bb.share_of_periods_met, 0.0);
        let s = summarise(&[a, bb]);
        assert_eq!(
            (
                s.share_of_periods_met.value,
                s.share_of_periods_met.sample_size
            ),
            (0.5, 2)
        );
        assert_eq!(
            (
                s.share_of_groups_met.value,
                s.share_of_groups_met.sample_size
            ),
            (1.0, 1)
        );
        assert!(summarise(&[]).share_of_groups_met.no_data);
    }
}
