//! The grouped reports — quality, operational, customer — as figures built
//! from merged cells, and how their rows are ranked.
//!
//! "Numbers are honest": every figure is an [`Estimate`] with its sample
//! size; a group below the tenant's minimum sample is flagged and never
//! ranked (it follows the ranked rows, by id).

use std::cmp::Ordering;
use std::collections::BTreeMap;

use crate::metrics::{GroupStats, Metric};
use crate::rollup::cells::{InteractionCell, QualityCell};
use crate::stats::{Estimate, NpsCounts, NpsEstimate, Proportion, ScoreHistogram};

/// Quality figures of one group.
#[derive(Debug, Clone, PartialEq)]
pub struct QualityFigures {
    /// Evaluations counted.
    pub evaluation_count: i64,
    /// Mean score with its Student-t interval.
    pub mean_score: Estimate,
    /// Sample standard deviation, points.
    pub score_standard_deviation: f64,
    /// Pass rate, Wilson interval.
    pub pass_rate: Estimate,
    /// Critical-failure rate, Wilson interval.
    pub critical_failure_rate: Estimate,
    /// Score histogram.
    pub distribution: ScoreHistogram,
    /// Fewer evaluations than the minimum sample.
    pub insufficient_sample: bool,
}

impl QualityFigures {
    /// Figures from a merged quality cell.
    pub fn from_cell(cell: &QualityCell, minimum_sample: i64) -> Self {
        let stats = GroupStats {
            quality: cell.clone(),
            ..GroupStats::default()
        };
        let est = |m: Metric| m.estimate(&stats, minimum_sample);
        QualityFigures {
            evaluation_count: cell.scores.count,
            mean_score: est(Metric::QualityScore),
            score_standard_deviation: cell.scores.standard_deviation(100.0),
            pass_rate: est(Metric::PassRate),
            critical_failure_rate: est(Metric::CriticalFailureRate),
            distribution: cell.histogram,
            insufficient_sample: cell.scores.count < minimum_sample.max(1),
        }
    }
}

/// Operational figures of one group. Durations in seconds.
#[derive(Debug, Clone, PartialEq)]
pub struct OperationalFigures {
    /// All interactions.
    pub interaction_count: i64,
    /// Offered inbound.
    pub offered_count: i64,
    /// Handled.
    pub handled_count: i64,
    /// AHT.
    pub average_handle_time: Estimate,
    /// Talk part.
    pub average_talk_time: Estimate,
    /// Hold part.
    pub average_hold_time: Estimate,
    /// After-call-work part.
    pub average_after_call_work: Estimate,
    /// ASA.
    pub average_speed_of_answer: Estimate,
    /// Abandonment rate.
    pub abandonment_rate: Estimate,
    /// Service level.
    pub service_level: Estimate,
    /// Transfer rate.
    pub transfer_rate: Estimate,
    /// FCR.
    pub first_contact_resolution: Estimate,
    /// Monitoring coverage.
    pub monitoring_coverage: Estimate,
    /// Fewer handled interactions than the minimum sample.
    pub insufficient_sample: bool,
}

impl OperationalFigures {
    /// Figures from a merged interaction cell.
    pub fn from_cell(cell: &InteractionCell, minimum_sample: i64) -> Self {
        let stats = GroupStats {
            interactions: cell.clone(),
            ..GroupStats::default()
        };
        let est = |m: Metric| m.estimate(&stats, minimum_sample);
        OperationalFigures {
            interaction_count: cell.interactions,
            offered_count: cell.offered,
            handled_count: cell.handle.count,
            average_handle_time: est(Metric::AverageHandleTime),
            average_talk_time: est(Metric::AverageTalkTime),
            average_hold_time: est(Metric::AverageHoldTime),
            average_after_call_work: est(Metric::AverageAfterCallWork),
            average_speed_of_answer: est(Metric::AverageSpeedOfAnswer),
            abandonment_rate: est(Metric::AbandonmentRate),
            service_level: est(Metric::ServiceLevel),
            transfer_rate: est(Metric::TransferRate),
            first_contact_resolution: est(Metric::FirstContactResolution),
            monitoring_coverage: est(Metric::MonitoringCoverage),
            insufficient_sample: cell.handle.count < minimum_sample.max(1),
        }
    }
}

/// Complaints of one category.
#[derive(Debug, Clone, PartialEq)]
pub struct CategoryFigures {
    /// The category.
    pub category: String,
    /// Complaints.
    pub count: i64,
    /// Resolved.
    pub resolved_count: i64,
    /// Resolved share, Wilson interval.
    pub resolved_share: Estimate,
}

/// Customer figures of one group.
#[derive(Debug, Clone, PartialEq)]
pub struct CustomerFigures {
    /// Surveys sent.
    pub surveys_sent: i64,
    /// Response rate.
    pub response_rate: Estimate,
    /// CSAT (share 4–5).
    pub csat: Estimate,
    /// Mean CSAT rating.
    pub csat_mean_rating: Estimate,
    /// NPS and its shares.
    pub nps: NpsEstimate,
    /// Complaints.
    pub complaint_count: i64,
    /// Interactions with a complaint / interactions.
    pub complaint_rate: Estimate,
    /// Resolved / complaints.
    pub complaint_resolved_share: Estimate,
    /// Per category, most frequent first (ties by name).
    pub complaints_by_category: Vec<CategoryFigures>,
    /// Fewer CSAT and NPS answers (the larger of the two) than the minimum.
    pub insufficient_sample: bool,
}

impl CustomerFigures {
    /// Figures from a merged interaction cell.
    pub fn from_cell(cell: &InteractionCell, minimum_sample: i64) -> Self {
        let stats = GroupStats {
            interactions: cell.clone(),
            ..GroupStats::default()
        };
        let est = |m: Metric| m.estimate(&stats, minimum_sample);
        let mut nps = NpsCounts::from_ratings(&cell.nps).estimate();
        nps.score = est(Metric::Nps);
        for share in [
            &mut nps.promoter_share,
            &mut nps.passive_share,
            &mut nps.detractor_share,
        ] {
            *share = share.with_minimum(minimum_sample);
        }
        let mut by_category: Vec<CategoryFigures> = cell
            .complaints
            .iter()
            .map(|(category, t)| CategoryFigures {
                category: category.clone(),
                count: t.count,
                resolved_count: t.resolved,
                resolved_share: Proportion::new(t.resolved, t.count).wilson(),
            })
            .collect();
        by_category.sort_by(|a, b| {
            b.count
                .cmp(&a.count)
                .then_with(|| a.category.cmp(&b.category))
        });
        let complaint_count = cell
            .complaints
            .values()
            .fold(0i64, |a, t| a.wrapping_add(t.count));
        let csat_n = cell.csat.iter().fold(0i64, |a, &b| a.wrapping_add(b));
        let nps_n = cell.nps.iter().fold(0i64, |a, &b| a.wrapping_add(b));
        CustomerFigures {
            surveys_sent: cell.surveys_sent,
            response_rate: est(Metric::SurveyResponseRate),
            csat: est(Metric::Csat),
            csat_mean_rating: est(Metric::CsatMeanRating),
            nps,
            complaint_count,
            complaint_rate: est(Metric::ComplaintRate),
            complaint_resolved_share: est(Metric::ComplaintResolvedShare),
            complaints_by_category: by_category,
            insufficient_sample: csat_n.max(nps_n) < minimum_sample.max(1),
        }
    }
}

/// One row of a grouped report.
#[derive(Debug, Clone, PartialEq)]
pub struct Row<T> {
    /// The group id ("" for the center).
    pub group_id: String,
    /// Its figures.
    pub figures: T,
    /// 1-based rank; `None` when unranked.
    pub rank: Option<u32>,
}

/// Picks the ranking estimate of a row and says whether the row as a whole
/// is below the minimum sample.
pub type RankKey<'a, T> = &'a dyn Fn(&T) -> (Estimate, bool);

/// How to order rows: by the estimate `value_of` picks from the figures
/// (highest first when `descending`), or by id when no metric is chosen.
///
/// Rows ranked: those whose row is sufficient and whose estimate is usable
/// (data, at or above the minimum sample). They come first, ordered by
/// value then id, ranked 1, 2, 3 … (ties get distinct ranks in id order).
/// All other rows follow, ordered by id, unranked.
pub fn rank_rows<T>(
    groups: BTreeMap<String, T>,
    value_of: Option<RankKey<'_, T>>,
    descending: bool,
) -> Vec<Row<T>> {
    let Some(value_of) = value_of else {
        return groups
            .into_iter()
            .map(|(group_id, figures)| Row {
                group_id,
                figures,
                rank: None,
            })
            .collect();
    };
    let mut ranked = Vec::new();
    let mut unranked = Vec::new();
    for (group_id, figures) in groups {
        let (e, row_insufficient) = value_of(&figures);
        if e.is_usable() && !row_insufficient {
            ranked.push((
                e.value,
                Row {
                    group_id,
                    figures,
                    rank: None,
                },
            ));
        } else {
            unranked.push(Row {
                group_id,
                figures,
                rank: None,
            });
        }
    }
    ranked.sort_by(|(a, ra), (b, rb)| {
        let by_value = if descending {
            b.total_cmp(a)
        } else {
            a.total_cmp(b)
        };
        match by_value {
            Ordering::Equal => ra.group_id.cmp(&rb.group_id),
            other => other,
        }
    });
    let mut out: Vec<Row<T>> = Vec::with_capacity(ranked.len() + unranked.len());
    for (i, (_, mut row)) in ranked.into_iter().enumerate() {
        row.rank = Some(u32::try_from(i + 1).unwrap_or(u32::MAX));
        out.push(row);
    }
    out.extend(unranked);
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rollup::cells::ComplaintTally;
    use crate::stats::Moments;

    fn quality(scores: &[i64], passed: i64) -> QualityCell {
        let mut c = QualityCell::default();
        for &s in scores {
            c.scores.add(&Moments::of(s));
            c.histogram.add(&ScoreHistogram::of(s));
        }
        c.passed = passed;
        c
    }

    #[test]
    fn quality_figures_worked_example() {
        let f = QualityFigures::from_cell(&quality(&[7_000, 8_000, 9_000], 2), 3);
        assert_eq!(f.evaluation_count, 3);
        assert!((f.mean_score.value - 80.0).abs() < 1e-12);
        assert!((f.score_standard_deviation - 10.0).abs() < 1e-12);
        assert!((f.pass_rate.value - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(f.distribution.total(), 3);
        assert!(!f.insufficient_sample);
        assert!(QualityFigures::from_cell(&quality(&[7_000], 1), 3).insufficient_sample);
    }

    #[test]
    fn empty_groups_are_no_data() {
        let q = QualityFigures::from_cell(&QualityCell::default(), 5);
        assert!(q.mean_score.no_data && q.insufficient_sample);
        let o = OperationalFigures::from_cell(&InteractionCell::default(), 5);
        assert!(o.average_handle_time.no_data && o.service_level.no_data && o.insufficient_sample);
        let c = CustomerFigures::from_cell(&InteractionCell::default(), 5);
        assert!(c.nps.score.no_data && c.csat.no_data && c.insufficient_sample);
    }

    #[test]
    fn customer_categories_are_ordered() {
        let mut cell = InteractionCell {
            interactions: 10,
            with_complaint: 3,
            nps: [1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2],
            ..InteractionCell::default()
        };
        cell.complaints.insert(
            "Billing".into(),
            ComplaintTally {
                count: 1,
                resolved: 1,
            },
        );
        cell.complaints.insert(
            "Attitude".into(),
            ComplaintTally {
                count: 2,
                resolved: 0,
            },
        );
        cell.complaints.insert(
            "Delay".into(),
            ComplaintTally {
                count: 1,
                resolved: 0,
            },
        );
        let f = CustomerFigures::from_cell(&cell, 1);
        let names: Vec<_> = f
            .complaints_by_category
            .iter()
            .map(|c| c.category.as_str())
            .collect();
        assert_eq!(names, ["Attitude", "Billing", "Delay"]);
        assert_eq!(f.complaint_count, 4);
        assert!((f.complaint_resolved_share.value - 0.25).abs() < 1e-12);
        assert!((f.nps.score.value - 100.0 / 3.0).abs() < 1e-9);
        assert!(!f.insufficient_sample);
    }

    #[test]
    fn ranking_skips_insufficient_groups() {
        let mut groups = BTreeMap::new();
        groups.insert(
            "a".to_owned(),
            QualityFigures::from_cell(&quality(&[9_000, 9_000, 8_000], 3), 3),
        );
        groups.insert(
            "b".to_owned(),
            QualityFigures::from_cell(&quality(&[9_900], 1), 3),
        );
        groups.insert(
            "c".to_owned(),
            QualityFigures::from_cell(&quality(&[6_000, 7_000, 8_000], 1), 3),
        );
        groups.insert(
            "d".to_owned(),
            QualityFigures::from_cell(&quality(&[9_000, 9_000, 8_000], 3), 3),
        );
        let by_score: &dyn Fn(&QualityFigures) -> (Estimate, bool) =
            &|f| (f.mean_score, f.insufficient_sample);
        let rows = rank_rows(groups.clone(), Some(by_score), true);
        let order: Vec<_> = rows.iter().map(|r| (r.group_id.as_str(), r.rank)).collect();
        assert_eq!(
            order,
            [("a", Some(1)), ("d", Some(2)), ("c", Some(3)), ("b", None)]
        );
        let rows = rank_rows(groups.clone(), Some(by_score), false);
        assert_eq!(rows[0].group_id, "c");
        let rows = rank_rows(groups, None, true);
        assert!(rows.iter().all(|r| r.rank.is_none()));
        assert_eq!(rows[1].group_id, "b");
    }
}

/// Requested row order: a metric and direction, or `None` for id order.
pub type Order = Option<(Metric, bool)>;

/// A grouped report: rows in order, and the total over every group.
#[derive(Debug, Clone, PartialEq)]
pub struct Report<T> {
    /// The rows (all groups; the edge pages them).
    pub rows: Vec<Row<T>>,
    /// The filtered center.
    pub total: T,
}

/// An order metric the report does not compute.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("{0:?} is not a figure of this report")]
pub struct NotInReport(pub Metric);

impl QualityFigures {
    /// The estimate of `metric` in these figures, if the report has it.
    pub fn metric(&self, metric: Metric) -> Option<Estimate> {
        match metric {
            Metric::EvaluationCount => Some(Estimate::count(self.evaluation_count)),
            Metric::QualityScore => Some(self.mean_score),
            Metric::PassRate => Some(self.pass_rate),
            Metric::CriticalFailureRate => Some(self.critical_failure_rate),
            _ => None,
        }
    }
}

impl OperationalFigures {
    /// The estimate of `metric` in these figures, if the report has it.
    pub fn metric(&self, metric: Metric) -> Option<Estimate> {
        Some(match metric {
            Metric::InteractionVolume => Estimate::count(self.interaction_count),
            Metric::AverageHandleTime => self.average_handle_time,
            Metric::AverageTalkTime => self.average_talk_time,
            Metric::AverageHoldTime => self.average_hold_time,
            Metric::AverageAfterCallWork => self.average_after_call_work,
            Metric::AverageSpeedOfAnswer => self.average_speed_of_answer,
            Metric::AbandonmentRate => self.abandonment_rate,
            Metric::ServiceLevel => self.service_level,
            Metric::TransferRate => self.transfer_rate,
            Metric::FirstContactResolution => self.first_contact_resolution,
            Metric::MonitoringCoverage => self.monitoring_coverage,
            _ => return None,
        })
    }
}

impl CustomerFigures {
    /// The estimate of `metric` in these figures, if the report has it.
    pub fn metric(&self, metric: Metric) -> Option<Estimate> {
        Some(match metric {
            Metric::SurveyResponseRate => self.response_rate,
            Metric::Csat => self.csat,
            Metric::CsatMeanRating => self.csat_mean_rating,
            Metric::Nps => self.nps.score,
            Metric::ComplaintRate => self.complaint_rate,
            Metric::ComplaintResolvedShare => self.complaint_resolved_share,
            _ => return None,
        })
    }
}

fn assemble<C, T>(
    groups: BTreeMap<String, C>,
    total: &C,
    order: Order,
    figures: impl Fn(&C) -> T,
    metric_of: impl Fn(&T, Metric) -> Option<Estimate>,
    insufficient: impl Fn(&T) -> bool,
) -> Result<Report<T>, NotInReport> {
    let total = figures(total);
    let figures: BTreeMap<String, T> = groups
        .iter()
        .map(|(k, c)| (k.clone(), figures(c)))
        .collect();
    let rows = match order {
        None => rank_rows(figures, None, false),
        Some((metric, descending)) => {
            if metric_of(&total, metric).is_none() {
                return Err(NotInReport(metric));
            }
            let key = |f: &T| {
                (
                    metric_of(f, metric).unwrap_or(Estimate::NO_DATA),
                    insufficient(f),
                )
            };
            rank_rows(figures, Some(&key), descending)
        }
    };
    Ok(Report { rows, total })
}

/// The quality report from grouped cells and their total.
pub fn quality_report(
    groups: BTreeMap<String, QualityCell>,
    total: &QualityCell,
    order: Order,
    minimum_sample: i64,
) -> Result<Report<QualityFigures>, NotInReport> {
    assemble(
        groups,
        total,
        order,
        |c| QualityFigures::from_cell(c, minimum_sample),
        QualityFigures::metric,
        |f| f.insufficient_sample,
    )
}

/// The operational report from grouped cells and their total.
pub fn operational_report(
    groups: BTreeMap<String, InteractionCell>,
    total: &InteractionCell,
    order: Order,
    minimum_sample: i64,
) -> Result<Report<OperationalFigures>, NotInReport> {
    assemble(
        groups,
        total,
        order,
        |c| OperationalFigures::from_cell(c, minimum_sample),
        OperationalFigures::metric,
        |f| f.insufficient_sample,
    )
}

/// The customer report from grouped cells and their total.
pub fn customer_report(
    groups: BTreeMap<String, InteractionCell>,
    total: &InteractionCell,
    order: Order,
    minimum_sample: i64,
) -> Result<Report<CustomerFigures>, NotInReport> {
    assemble(
        groups,
        total,
        order,
        |c| CustomerFigures::from_cell(c, minimum_sample),
        CustomerFigures::metric,
        |f| f.insufficient_sample,
    )
}

/// Joins grouped quality and interaction cells into per-group stats (for
/// trends, comparisons, targets and benchmarks); a group missing from one
/// family has empty cells there.
pub fn join_groups(
    quality: BTreeMap<String, QualityCell>,
    interactions: BTreeMap<String, InteractionCell>,
) -> BTreeMap<String, GroupStats> {
    let mut out: BTreeMap<String, GroupStats> = BTreeMap::new();
    for (k, q) in quality {
        out.entry(k).or_default().quality = q;
    }
    for (k, i) in interactions {
        out.entry(k).or_default().interactions = i;
    }
    out
}

#[cfg(test)]
mod assembly_tests {
    use super::*;
    use crate::dimension::{Dimension, Filter};
    use crate::rollup::contribution::contribution;
    use crate::rollup::tests::{arb_record, ctx};
    use crate::rollup::{Rollups, group_by, total};
    use proptest::prelude::*;

    #[test]
    fn order_metric_must_belong_to_the_report() {
        let r = quality_report(
            BTreeMap::new(),
            &QualityCell::default(),
            Some((Metric::Csat, true)),
            5,
        );
        assert_eq!(r.err(), Some(NotInReport(Metric::Csat)));
        let r = operational_report(
            BTreeMap::new(),
            &InteractionCell::default(),
            Some((Metric::ServiceLevel, true)),
            5,
        );
        assert!(r.is_ok_and(|r| r.rows.is_empty() && r.total.service_level.no_data));
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

        /// The groups of a report add up to its total, for every dimension,
        /// and the reported figures equal those computed from raw facts.
        #[test]
        fn groups_add_up_to_the_total(records in proptest::collection::vec(arb_record(), 0..40)) {
            let mut rollups = Rollups::default();
            let mut raw_q = QualityCell::default();
            for r in &records {
                let c = contribution(r, &ctx());
                for (_, cell) in &c.quality {
                    crate::rollup::cells::Cell::add(&mut raw_q, cell);
                }
                rollups.add(&c);
            }
            let f = Filter::default();
            let cells: Vec<_> = rollups.quality.at(crate::rollup::keys::Grain::Day).collect();
            let t: QualityCell = total(cells.iter().copied(), &f);
            prop_assert_eq!(&t, &raw_q);
            for dim in [Dimension::Agent, Dimension::Team, Dimension::Queue, Dimension::Channel, Dimension::Scorecard, Dimension::Evaluator] {
                let groups = group_by(cells.iter().copied(), dim, &f).expect("quality knows every dimension");
                let mut sum = QualityCell::default();
                for g in groups.values() {
                    crate::rollup::cells::Cell::add(&mut sum, g);
                }
                prop_assert_eq!(&sum, &t);
                let report = quality_report(groups, &t, Some((Metric::QualityScore, true)), 3).expect("report");
                let ranks: Vec<u32> = report.rows.iter().filter_map(|r| r.rank).collect();
                prop_assert_eq!(ranks.clone(), (1..=ranks.len() as u32).collect::<Vec<_>>());
                for r in &report.rows {
                    prop_assert!(r.rank.is_none() || (r.figures.mean_score.is_usable() && !r.figures.insufficient_sample));
                }
            }
        }
    }
}
