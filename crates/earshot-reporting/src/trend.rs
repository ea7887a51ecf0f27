//! Trends: one metric per calendar bucket (day … year) over a long period,
//! each point with its interval, and the last bucket tested against the one
//! before it.
//!
//! The store reads each bucket's cells through [`crate::rollup::cover`]
//! (months for whole months, days for partial ones), so a five-year monthly
//! trend reads 60 month cells per key, not 1,826 day cells.

use crate::calendar::Bucket;
use crate::metrics::{Assessment, GroupStats, Metric, assess};
use crate::significance::Comparison;
use crate::stats::Estimate;

/// One bucket of a trend.
#[derive(Debug, Clone, PartialEq)]
pub struct TrendPoint {
    /// The bucket (with `partial` when the period cuts it).
    pub bucket: Bucket,
    /// The metric over the bucket's covered days.
    pub value: Estimate,
}

/// The last bucket against the one before.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    /// The comparison.
    pub comparison: Comparison,
    /// Better, worse or noise.
    pub assessment: Assessment,
}

/// One group's trend.
#[derive(Debug, Clone, PartialEq)]
pub struct TrendSeries {
    /// The group ("" for the center).
    pub group_id: String,
    /// One point per bucket, oldest first; empty buckets are no data.
    pub points: Vec<TrendPoint>,
    /// The last change; `None` with fewer than two buckets.
    pub last_change: Option<Change>,
}

/// Builds a series from each bucket's merged stats.
pub fn trend_series(
    metric: Metric,
    group_id: &str,
    buckets: &[(Bucket, GroupStats)],
    minimum_sample: i64,
) -> TrendSeries {
    let points = buckets
        .iter()
        .map(|(bucket, stats)| TrendPoint {
            bucket: *bucket,
            value: metric.estimate(stats, minimum_sample),
        })
        .collect();
    let last_change = match buckets {
        [.., (_, previous), (_, last)] => {
            let comparison = metric.compare(last, previous, minimum_sample);
            Some(Change {
                assessment: assess(metric, &comparison),
                comparison,
            })
        }
        _ => None,
    };
    TrendSeries {
        group_id: group_id.to_owned(),
        points,
        last_change,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::{DateRange, Granularity, buckets};
    use chrono::NaiveDate;

    fn stats(offered: i64, within: i64) -> GroupStats {
        let mut s = GroupStats::default();
        s.interactions.offered = offered;
        s.interactions.answered_within_threshold = within;
        s
    }

    #[test]
    fn monthly_service_level_trend() {
        let d = |m, day| NaiveDate::from_ymd_opt(2026, m, day).unwrap();
        let range = DateRange::new(d(1, 15), d(4, 30)).unwrap();
        let b = buckets(range, Granularity::Month, 100).unwrap();
        assert_eq!(b.len(), 4);
        let data: Vec<_> = b
            .iter()
            .zip([
                stats(500, 400),
                stats(1000, 800),
                GroupStats::default(),
                stats(1000, 700),
            ])
            .map(|(b, s)| (*b, s))
            .collect();
        let s = trend_series(Metric::ServiceLevel, "", &data, 30);
        assert_eq!(s.points.len(), 4);
        assert!(s.points[0].bucket.partial);
        assert!((s.points[1].value.value - 0.8).abs() < 1e-12);
        assert!(s.points[2].value.no_data);
        // Last (70%) against an empty March: not testable.
        let change = s.last_change.unwrap();
        assert_eq!(change.assessment, Assessment::NotAssessed);

        let data2 = vec![data[1].clone(), data[3].clone()];
        let s = trend_series(Metric::ServiceLevel, "", &data2, 30);
        let change = s.last_change.unwrap();
        assert_eq!(change.assessment, Assessment::Worsened);
        assert!((change.comparison.difference + 0.1).abs() < 1e-12);
    }

    #[test]
    fn a_single_bucket_has_no_change() {
        let d = NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        let b = buckets(DateRange::new(d, d).unwrap(), Granularity::Day, 10).unwrap();
        let s = trend_series(Metric::Csat, "t1", &[(b[0], GroupStats::default())], 10);
        assert!(s.last_change.is_none());
        assert!(s.points[0].value.no_data);
    }
}
