//! Period-over-period comparison: several metrics per group, the current
//! period against a baseline (previous period, same period last year or a
//! chosen one; see [`crate::calendar::baseline`]), each change tested and
//! judged.

use std::collections::{BTreeMap, BTreeSet};

use crate::metrics::{Assessment, GroupStats, Metric, assess};
use crate::significance::Comparison;

/// One metric's comparison.
#[derive(Debug, Clone, PartialEq)]
pub struct MetricComparison {
    /// The metric.
    pub metric: Metric,
    /// Current against baseline.
    pub comparison: Comparison,
    /// Better, worse or noise.
    pub assessment: Assessment,
}

/// All compared metrics of one group.
#[derive(Debug, Clone, PartialEq)]
pub struct ComparisonRow {
    /// The group.
    pub group_id: String,
    /// One entry per metric, in the requested order.
    pub comparisons: Vec<MetricComparison>,
}

/// Compares every group present in either period, ordered by group id; a
/// group missing from one side is compared against no data (untested).
pub fn compare_periods(
    metrics: &[Metric],
    current: &BTreeMap<String, GroupStats>,
    baseline: &BTreeMap<String, GroupStats>,
    minimum_sample: i64,
) -> Vec<ComparisonRow> {
    let empty = GroupStats::default();
    let ids: BTreeSet<&String> = current.keys().chain(baseline.keys()).collect();
    ids.into_iter()
        .map(|id| {
            let c = current.get(id).unwrap_or(&empty);
            let b = baseline.get(id).unwrap_or(&empty);
            ComparisonRow {
                group_id: id.clone(),
                comparisons: metrics
                    .iter()
                    .map(|&metric| {
                        let comparison = metric.compare(c, b, minimum_sample);
                        MetricComparison {
                            metric,
                            assessment: assess(metric, &comparison),
                            comparison,
                        }
                    })
                    .collect(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::stats::Moments;

    fn scores(values: &[i64]) -> GroupStats {
        let mut s = GroupStats::default();
        s.quality.scores = Moments::from_values(values);
        s
    }

    #[test]
    fn union_of_groups_and_tests() {
        let current = BTreeMap::from([
            ("a".to_owned(), scores(&[9_000, 9_200, 9_400, 9_100, 9_300])),
            ("new".to_owned(), scores(&[8_000, 8_100])),
        ]);
        let baseline = BTreeMap::from([
            ("a".to_owned(), scores(&[7_000, 7_200, 7_400, 7_100, 7_300])),
            ("gone".to_owned(), scores(&[5_000, 5_500])),
        ]);
        let rows = compare_periods(
            &[Metric::QualityScore, Metric::EvaluationCount],
            &current,
            &baseline,
            5,
        );
        let ids: Vec<_> = rows.iter().map(|r| r.group_id.as_str()).collect();
        assert_eq!(ids, ["a", "gone", "new"]);
        let a = &rows[0].comparisons[0];
        assert!((a.comparison.difference - 20.0).abs() < 1e-9);
        assert!(a.comparison.significant());
        assert_eq!(a.assessment, Assessment::Improved);
        assert_eq!(rows[0].comparisons[1].assessment, Assessment::NotAssessed);
        assert_eq!(rows[1].comparisons[0].assessment, Assessment::NotAssessed);
        assert!(rows[1].comparisons[0].comparison.current.no_data);
        // "new" has 2 evaluations < minimum 5: flagged and not assessed.
        assert!(
            rows[2].comparisons[0]
                .comparison
                .current
                .insufficient_sample
        );
    }
}
