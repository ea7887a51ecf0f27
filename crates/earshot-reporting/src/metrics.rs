//! The metric catalogue: every figure Earshot reports, its unit, its good
//! direction, and how it is computed from rollup cells.
//!
//! Each metric is one of four kinds, and the kind decides both its interval
//! and its significance test:
//!
//! | kind       | estimate                      | test of a change        |
//! |------------|-------------------------------|-------------------------|
//! | count      | the count, exact              | none                    |
//! | mean       | Student-t interval            | Welch's t-test          |
//! | proportion | Wilson interval               | two-proportion z-test   |
//! | NPS        | adjusted-Wald interval        | NPS difference z-test   |

use crate::rollup::cells::{InteractionCell, QualityCell};
use crate::significance::{self, Comparison};
use crate::stats::{Estimate, Moments, NpsCounts, Proportion};

/// Every reportable metric (the domain twin of `Metric` in the contract).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Metric {
    /// Submitted evaluations (count).
    EvaluationCount,
    /// Mean evaluation score, 0–100 points.
    QualityScore,
    /// Share of evaluations passed.
    PassRate,
    /// Share of evaluations with a failed critical question.
    CriticalFailureRate,
    /// Interactions (count).
    InteractionVolume,
    /// Talk + hold + after-call work, seconds.
    AverageHandleTime,
    /// Talk, seconds.
    AverageTalkTime,
    /// Hold, seconds.
    AverageHoldTime,
    /// After-call work, seconds.
    AverageAfterCallWork,
    /// Wait before answer, seconds.
    AverageSpeedOfAnswer,
    /// Abandoned / offered.
    AbandonmentRate,
    /// Answered within threshold / offered.
    ServiceLevel,
    /// Transferred / handled.
    TransferRate,
    /// Resolved at first contact / known.
    FirstContactResolution,
    /// Share of CSAT answers 4–5.
    Csat,
    /// Mean CSAT rating 1–5.
    CsatMeanRating,
    /// Net Promoter Score, −100..100.
    Nps,
    /// Answered / sent surveys.
    SurveyResponseRate,
    /// Interactions with a complaint / interactions.
    ComplaintRate,
    /// Resolved / complaints.
    ComplaintResolvedShare,
    /// Evaluated / handled interactions.
    MonitoringCoverage,
}

/// Which way is good.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Better {
    /// Higher is better (quality, CSAT ...).
    Higher,
    /// Lower is better (AHT, abandonment ...).
    Lower,
    /// Neither (volume, counts).
    Neither,
}

/// Which cell family a metric reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Source {
    /// Quality cells (evaluations).
    Quality,
    /// Interaction cells (operational and customer facts).
    Interactions,
}

/// The sufficient statistic behind one metric value.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Statistic {
    /// An exact count.
    Count(i64),
    /// A mean of integer observations divided by `unit`, on an optional
    /// bounded scale.
    Mean {
        /// The observations' moments.
        moments: Moments,
        /// Divisor from stored units to the reported unit.
        unit: f64,
        /// The scale's bounds, if bounded.
        bounds: Option<(f64, f64)>,
    },
    /// A share.
    Proportion(Proportion),
    /// NPS categories.
    Nps(NpsCounts),
}

/// A group's merged cells: everything any metric needs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupStats {
    /// Merged quality cells.
    pub quality: QualityCell,
    /// Merged interaction cells.
    pub interactions: InteractionCell,
}

impl GroupStats {
    /// The group's cells minus `part` (e.g. the center without one team).
    #[must_use]
    pub fn without(&self, part: &GroupStats) -> GroupStats {
        use crate::rollup::cells::Cell;
        let mut out = self.clone();
        out.quality.subtract(&part.quality);
        out.interactions.subtract(&part.interactions);
        out
    }
}

fn csat_moments(csat: &[i64; 5]) -> Moments {
    let mut m = Moments::default();
    for (i, &n) in csat.iter().enumerate() {
        let rating = i as i64 + 1;
        m.add(&Moments {
            count: n,
            sum: n.wrapping_mul(rating),
            sum_sq: i128::from(n).wrapping_mul(i128::from(rating * rating)),
        });
    }
    m
}

impl Metric {
    /// Every metric, in contract order.
    pub const ALL: [Metric; 21] = [
        Metric::EvaluationCount,
        Metric::QualityScore,
        Metric::PassRate,
        Metric::CriticalFailureRate,
        Metric::InteractionVolume,
        Metric::AverageHandleTime,
        Metric::AverageTalkTime,
        Metric::AverageHoldTime,
        Metric::AverageAfterCallWork,
        Metric::AverageSpeedOfAnswer,
        Metric::AbandonmentRate,
        Metric::ServiceLevel,
        Metric::TransferRate,
        Metric::FirstContactResolution,
        Metric::Csat,
        Metric::CsatMeanRating,
        Metric::Nps,
        Metric::SurveyResponseRate,
        Metric::ComplaintRate,
        Metric::ComplaintResolvedShare,
        Metric::MonitoringCoverage,
    ];

    /// Stable snake-case name, used in CSV headers and chart labels.
    pub fn name(self) -> &'static str {
        match self {
            Metric::EvaluationCount => "evaluation_count",
            Metric::QualityScore => "quality_score",
            Metric::PassRate => "pass_rate",
            Metric::CriticalFailureRate => "critical_failure_rate",
            Metric::InteractionVolume => "interaction_volume",
            Metric::AverageHandleTime => "average_handle_time",
            Metric::AverageTalkTime => "average_talk_time",
            Metric::AverageHoldTime => "average_hold_time",
            Metric::AverageAfterCallWork => "average_after_call_work",
            Metric::AverageSpeedOfAnswer => "average_speed_of_answer",
            Metric::AbandonmentRate => "abandonment_rate",
            Metric::ServiceLevel => "service_level",
            Metric::TransferRate => "transfer_rate",
            Metric::FirstContactResolution => "first_contact_resolution",
            Metric::Csat => "csat",
            Metric::CsatMeanRating => "csat_mean_rating",
            Metric::Nps => "nps",
            Metric::SurveyResponseRate => "survey_response_rate",
            Metric::ComplaintRate => "complaint_rate",
            Metric::ComplaintResolvedShare => "complaint_resolved_share",
            Metric::MonitoringCoverage => "monitoring_coverage",
        }
    }

    /// A human label for charts.
    pub fn label(self) -> &'static str {
        match self {
            Metric::EvaluationCount => "Evaluations",
            Metric::QualityScore => "Quality score",
            Metric::PassRate => "Pass rate",
            Metric::CriticalFailureRate => "Critical failure rate",
            Metric::InteractionVolume => "Interactions",
            Metric::AverageHandleTime => "Average handle time (s)",
            Metric::AverageTalkTime => "Average talk time (s)",
            Metric::AverageHoldTime => "Average hold time (s)",
            Metric::AverageAfterCallWork => "Average after-call work (s)",
            Metric::AverageSpeedOfAnswer => "Average speed of answer (s)",
            Metric::AbandonmentRate => "Abandonment rate",
            Metric::ServiceLevel => "Service level",
            Metric::TransferRate => "Transfer rate",
            Metric::FirstContactResolution => "First contact resolution",
            Metric::Csat => "CSAT",
            Metric::CsatMeanRating => "CSAT mean rating",
            Metric::Nps => "NPS",
            Metric::SurveyResponseRate => "Survey response rate",
            Metric::ComplaintRate => "Complaint rate",
            Metric::ComplaintResolvedShare => "Complaints resolved",
            Metric::MonitoringCoverage => "Monitoring coverage",
        }
    }

    /// Which way is good.
    pub fn better(self) -> Better {
        match self {
            Metric::EvaluationCount | Metric::InteractionVolume => Better::Neither,
            Metric::CriticalFailureRate
            | Metric::AverageHandleTime
            | Metric::AverageTalkTime
            | Metric::AverageHoldTime
            | Metric::AverageAfterCallWork
            | Metric::AverageSpeedOfAnswer
            | Metric::AbandonmentRate
            | Metric::TransferRate
            | Metric::ComplaintRate => Better::Lower,
            _ => Better::Higher,
        }
    }

    /// Which cells the metric reads.
    pub fn source(self) -> Source {
        match self {
            Metric::EvaluationCount
            | Metric::QualityScore
            | Metric::PassRate
            | Metric::CriticalFailureRate => Source::Quality,
            _ => Source::Interactions,
        }
    }

    /// The values a target for this metric may take.
    pub fn range(self) -> (f64, f64) {
        match self {
            Metric::EvaluationCount | Metric::InteractionVolume => (0.0, 1e12),
            Metric::QualityScore => (0.0, 100.0),
            Metric::AverageHandleTime
            | Metric::AverageTalkTime
            | Metric::AverageHoldTime
            | Metric::AverageAfterCallWork
            | Metric::AverageSpeedOfAnswer => (0.0, 604_800.0),
            Metric::CsatMeanRating => (1.0, 5.0),
            Metric::Nps => (-100.0, 100.0),
            _ => (0.0, 1.0),
        }
    }

    /// The sufficient statistic of this metric in a group.
    pub fn statistic(self, s: &GroupStats) -> Statistic {
        let q = &s.quality;
        let i = &s.interactions;
        let mean = |moments: Moments, unit: f64, bounds: Option<(f64, f64)>| Statistic::Mean {
            moments,
            unit,
            bounds,
        };
        let share = |x: i64, n: i64| Statistic::Proportion(Proportion::new(x, n));
        let seconds = 1000.0;
        match self {
            Metric::EvaluationCount => Statistic::Count(q.scores.count),
            Metric::QualityScore => mean(q.scores, 100.0, Some((0.0, 100.0))),
            Metric::PassRate => share(q.passed, q.scores.count),
            Metric::CriticalFailureRate => share(q.critical_failures, q.scores.count),
            Metric::InteractionVolume => Statistic::Count(i.interactions),
            Metric::AverageHandleTime => mean(i.handle, seconds, Some((0.0, f64::MAX))),
            Metric::AverageTalkTime => mean(i.talk, seconds, Some((0.0, f64::MAX))),
            Metric::AverageHoldTime => mean(i.hold, seconds, Some((0.0, f64::MAX))),
            Metric::AverageAfterCallWork => mean(i.after_call_work, seconds, Some((0.0, f64::MAX))),
            Metric::AverageSpeedOfAnswer => mean(i.speed_of_answer, seconds, Some((0.0, f64::MAX))),
            Metric::AbandonmentRate => share(i.abandoned, i.offered),
            Metric::ServiceLevel => share(i.answered_within_threshold, i.offered),
            Metric::TransferRate => share(i.transferred, i.handle.count),
            Metric::FirstContactResolution => share(i.fcr_resolved, i.fcr_known),
            Metric::Csat => {
                let n = i.csat.iter().fold(0i64, |a, &b| a.wrapping_add(b));
                share(i.csat[3].wrapping_add(i.csat[4]), n)
            }
            Metric::CsatMeanRating => mean(csat_moments(&i.csat), 1.0, Some((1.0, 5.0))),
            Metric::Nps => Statistic::Nps(NpsCounts::from_ratings(&i.nps)),
            Metric::SurveyResponseRate => share(i.surveys_answered, i.surveys_sent),
            Metric::ComplaintRate => share(i.with_complaint, i.interactions),
            Metric::ComplaintResolvedShare => {
                let (n, r) = i.complaints.values().fold((0i64, 0i64), |(n, r), t| {
                    (n.wrapping_add(t.count), r.wrapping_add(t.resolved))
                });
                share(r, n)
            }
            Metric::MonitoringCoverage => share(i.evaluated, i.handle.count),
        }
    }

    /// The metric's estimate in a group, flagged against `minimum_sample`.
    pub fn estimate(self, s: &GroupStats, minimum_sample: i64) -> Estimate {
        let e = match self.statistic(s) {
            Statistic::Count(n) => Estimate::count(n),
            Statistic::Mean {
                moments,
                unit,
                bounds,
            } => moments.mean_estimate(unit, bounds),
            Statistic::Proportion(p) => p.wilson(),
            Statistic::Nps(c) => c.estimate().score,
        };
        match self.statistic(s) {
            // A count is exact: it is never "insufficient".
            Statistic::Count(_) => e,
            // A single observation stays flagged whatever the minimum.
            _ => {
                let single = e.insufficient_sample && !e.no_data;
                let mut e = e.with_minimum(minimum_sample);
                e.insufficient_sample |= single;
                e
            }
        }
    }

    /// `current` against `baseline` with the metric's test; counts are not
    /// tested. Estimates are flagged against `minimum_sample`.
    pub fn compare(
        self,
        current: &GroupStats,
        baseline: &GroupStats,
        minimum_sample: i64,
    ) -> Comparison {
        let mut c = match (self.statistic(current), self.statistic(baseline)) {
            (
                Statistic::Mean {
                    moments: a,
                    unit,
                    bounds,
                },
                Statistic::Mean { moments: b, .. },
            ) => significance::welch(&a, &b, unit, bounds),
            (Statistic::Proportion(a), Statistic::Proportion(b)) => {
                significance::two_proportions(a, b)
            }
            (Statistic::Nps(a), Statistic::Nps(b)) => significance::nps_difference(a, b),
            _ => {
                let (a, b) = (self.estimate(current, 0), self.estimate(baseline, 0));
                let mut c = Comparison::untested(a, b);
                c.difference = a.value - b.value;
                c.difference_ci_low = c.difference;
                c.difference_ci_high = c.difference;
                c
            }
        };
        c.current = self.estimate(current, minimum_sample);
        c.baseline = self.estimate(baseline, minimum_sample);
        c
    }
}

/// Better, worse or noise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Assessment {
    /// Not assessed: untested, a side below the minimum sample, or a metric
    /// with no good direction.
    NotAssessed,
    /// Significant at 95% in the good direction.
    Improved,
    /// Significant at 95% in the bad direction.
    Worsened,
    /// Not significant at 95%.
    NoSignificantChange,
}

/// Judges a comparison for a metric: only tested comparisons with both sides
/// at or above the minimum sample are assessed.
pub fn assess(metric: Metric, c: &Comparison) -> Assessment {
    if c.test.is_none() || !c.current.is_usable() || !c.baseline.is_usable() {
        return Assessment::NotAssessed;
    }
    if !c.significant() {
        return Assessment::NoSignificantChange;
    }
    match (metric.better(), c.difference > 0.0) {
        (Better::Neither, _) => Assessment::NotAssessed,
        (Better::Higher, true) | (Better::Lower, false) => Assessment::Improved,
        (Better::Higher, false) | (Better::Lower, true) => Assessment::Worsened,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rollup::cells::ComplaintTally;
    use crate::stats::ScoreHistogram;

    fn stats() -> GroupStats {
        let mut q = QualityCell::default();
        for s in [7_000, 8_000, 9_000] {
            q.scores.add(&Moments::of(s));
            q.histogram.add(&ScoreHistogram::of(s));
        }
        q.passed = 2;
        q.critical_failures = 1;
        let mut i = InteractionCell {
            interactions: 10,
            offered: 8,
            abandoned: 2,
            answered_within_threshold: 5,
            speed_of_answer: Moments::from_values(&[
                10_000, 20_000, 30_000, 40_000, 50_000, 60_000,
            ]),
            handle: Moments::from_values(&[300_000, 360_000, 420_000, 480_000]),
            talk: Moments::from_values(&[200_000, 250_000, 300_000, 350_000]),
            hold: Moments::from_values(&[40_000, 50_000, 60_000, 70_000]),
            after_call_work: Moments::from_values(&[60_000, 60_000, 60_000, 60_000]),
            transferred: 1,
            fcr_known: 4,
            fcr_resolved: 3,
            evaluated: 3,
            surveys_sent: 8,
            surveys_answered: 4,
            csat: [0, 1, 0, 2, 1],
            nps: [0, 0, 0, 0, 0, 0, 1, 1, 0, 1, 1],
            with_complaint: 1,
            ..InteractionCell::default()
        };
        i.complaints.insert(
            "Billing".into(),
            ComplaintTally {
                count: 2,
                resolved: 1,
            },
        );
        GroupStats {
            quality: q,
            interactions: i,
        }
    }

    #[test]
    fn worked_values_of_every_metric() {
        let s = stats();
        let table: [(Metric, f64, i64); 21] = [
            (Metric::EvaluationCount, 3.0, 3),
            (Metric::QualityScore, 80.0, 3),
            (Metric::PassRate, 2.0 / 3.0, 3),
            (Metric::CriticalFailureRate, 1.0 / 3.0, 3),
            (Metric::InteractionVolume, 10.0, 10),
            (Metric::AverageHandleTime, 390.0, 4),
            (Metric::AverageTalkTime, 275.0, 4),
            (Metric::AverageHoldTime, 55.0, 4),
            (Metric::AverageAfterCallWork, 60.0, 4),
            (Metric::AverageSpeedOfAnswer, 35.0, 6),
            (Metric::AbandonmentRate, 0.25, 8),
            (Metric::ServiceLevel, 0.625, 8),
            (Metric::TransferRate, 0.25, 4),
            (Metric::FirstContactResolution, 0.75, 4),
            (Metric::Csat, 0.75, 4),
            (Metric::CsatMeanRating, 3.75, 4),
            (Metric::Nps, 25.0, 4),
            (Metric::SurveyResponseRate, 0.5, 8),
            (Metric::ComplaintRate, 0.1, 10),
            (Metric::ComplaintResolvedShare, 0.5, 2),
            (Metric::MonitoringCoverage, 0.75, 4),
        ];
        for (m, value, n) in table {
            let e = m.estimate(&s, 1);
            assert!(
                (e.value - value).abs() < 1e-12,
                "{m:?}: {} != {value}",
                e.value
            );
            assert_eq!(e.sample_size, n, "{m:?}");
            assert!(e.ci_low <= e.value && e.value <= e.ci_high, "{m:?}");
        }
        // AHT = talk + hold + after-call work, in the parts too.
        let parts: f64 = [
            Metric::AverageTalkTime,
            Metric::AverageHoldTime,
            Metric::AverageAfterCallWork,
        ]
        .iter()
        .map(|m| m.estimate(&s, 1).value)
        .sum();
        assert!((parts - Metric::AverageHandleTime.estimate(&s, 1).value).abs() < 1e-9);
    }

    #[test]
    fn empty_group_is_no_data_everywhere() {
        let s = GroupStats::default();
        for m in Metric::ALL {
            let e = m.estimate(&s, 10);
            assert!(e.no_data, "{m:?}");
            assert_eq!((e.value, e.ci_low, e.ci_high), (0.0, 0.0, 0.0), "{m:?}");
        }
    }

    #[test]
    fn minimum_sample_flags_but_counts_are_exact() {
        let s = stats();
        assert!(Metric::QualityScore.estimate(&s, 5).insufficient_sample);
        assert!(!Metric::QualityScore.estimate(&s, 3).insufficient_sample);
        assert!(!Metric::EvaluationCount.estimate(&s, 50).insufficient_sample);
    }

    #[test]
    fn comparisons_pick_the_right_test() {
        use crate::significance::Test;
        let s = stats();
        let e = GroupStats::default();
        assert_eq!(
            Metric::QualityScore.compare(&s, &s, 1).test,
            Some(Test::WelchT)
        );
        assert_eq!(
            Metric::Csat.compare(&s, &s, 1).test,
            Some(Test::TwoProportionZ)
        );
        assert_eq!(
            Metric::Nps.compare(&s, &s, 1).test,
            Some(Test::NpsDifferenceZ)
        );
        let c = Metric::InteractionVolume.compare(&s, &e, 1);
        assert_eq!(c.test, None);
        assert_eq!(c.difference, 10.0);
        assert_eq!(
            assess(Metric::InteractionVolume, &c),
            Assessment::NotAssessed
        );
        assert_eq!(
            assess(
                Metric::QualityScore,
                &Metric::QualityScore.compare(&s, &e, 1)
            ),
            Assessment::NotAssessed
        );
    }

    #[test]
    fn assessment_follows_direction() {
        let mut better = GroupStats::default();
        let mut worse = GroupStats::default();
        better.interactions.offered = 1000;
        better.interactions.abandoned = 20;
        worse.interactions.offered = 1000;
        worse.interactions.abandoned = 80;
        better.interactions.answered_within_threshold = 900;
        worse.interactions.answered_within_threshold = 700;
        let c = Metric::AbandonmentRate.compare(&better, &worse, 10);
        assert_eq!(assess(Metric::AbandonmentRate, &c), Assessment::Improved);
        let c = Metric::ServiceLevel.compare(&worse, &better, 10);
        assert_eq!(assess(Metric::ServiceLevel, &c), Assessment::Worsened);
        let c = Metric::ServiceLevel.compare(&better, &better, 10);
        assert_eq!(
            assess(Metric::ServiceLevel, &c),
            Assessment::NoSignificantChange
        );
        let c = Metric::ServiceLevel.compare(&better, &worse, 5000);
        assert_eq!(assess(Metric::ServiceLevel, &c), Assessment::NotAssessed);
    }

    #[test]
    fn rest_of_center_is_a_subtraction() {
        let s = stats();
        let mut center = s.clone();
        use crate::rollup::cells::Cell;
        center.quality.add(&s.quality);
        center.interactions.add(&s.interactions);
        assert_eq!(center.without(&s), s);
    }
}
