//! Benchmarks: one group against the whole center, against the configured
//! industry reference, and against its target.
//!
//! The statistical comparison is with the *rest* of the center (center cells
//! minus the group's cells, exact because cells subtract), so the two sides
//! are independent samples as the tests assume; the center's own figure is
//! shown beside it.

use crate::dimension::Dimension;
use crate::metrics::{Assessment, GroupStats, Metric, assess};
use crate::settings::{IndustryReference, Settings, Target};
use crate::significance::Comparison;
use crate::stats::Estimate;
use crate::targets::{TargetStatus, status, target_for};

/// One metric of a benchmark.
#[derive(Debug, Clone, PartialEq)]
pub struct BenchmarkLine {
    /// The metric.
    pub metric: Metric,
    /// The group's figure.
    pub group_value: Estimate,
    /// The center's figure (group included).
    pub center_value: Estimate,
    /// The group against the rest of the center.
    pub versus_rest_of_center: Comparison,
    /// Better, worse or noise, against the rest.
    pub assessment: Assessment,
    /// The industry reference, if configured.
    pub industry_reference: Option<IndustryReference>,
    /// group − industry (0 without a reference or data).
    pub difference_from_industry: f64,
    /// The group's target, if any.
    pub target: Option<Target>,
    /// Its status against the target.
    pub target_status: Option<TargetStatus>,
}

/// Benchmarks `group` (a member of `dimension`, id `group_id`) against
/// `center` on one metric.
pub fn benchmark(
    metric: Metric,
    dimension: Dimension,
    group_id: &str,
    group: &GroupStats,
    center: &GroupStats,
    settings: &Settings,
) -> BenchmarkLine {
    let min = settings.minimum_sample;
    let group_value = metric.estimate(group, min);
    let rest = center.without(group);
    let versus = metric.compare(group, &rest, min);
    let industry = settings.industry_references.get(&metric).cloned();
    let difference_from_industry = match &industry {
        Some(r) if !group_value.no_data => group_value.value - r.value,
        _ => 0.0,
    };
    let target = target_for(&settings.targets, metric, dimension, group_id).cloned();
    let target_status = target.as_ref().map(|t| status(&group_value, t));
    BenchmarkLine {
        metric,
        group_value,
        center_value: metric.estimate(center, min),
        assessment: assess(metric, &versus),
        versus_rest_of_center: versus,
        industry_reference: industry,
        difference_from_industry,
        target,
        target_status,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rollup::cells::Cell;
    use crate::settings::{Comparator, TargetScope};

    fn fcr(resolved: i64, known: i64) -> GroupStats {
        let mut s = GroupStats::default();
        s.interactions.fcr_known = known;
        s.interactions.fcr_resolved = resolved;
        s
    }

    #[test]
    fn team_against_center_and_industry() {
        let team = fcr(180, 200); // 90%
        let others = fcr(1400, 2000); // 70%
        let mut center = team.clone();
        center.interactions.add(&others.interactions);
        let mut settings = Settings::default();
        settings.industry_references.insert(
            Metric::FirstContactResolution,
            IndustryReference {
                metric: Metric::FirstContactResolution,
                value: 0.71,
                source: "study".into(),
            },
        );
        settings.targets.push(Target {
            metric: Metric::FirstContactResolution,
            value: 0.75,
            comparator: Comparator::AtLeast,
            scope: TargetScope::All,
        });
        let line = benchmark(
            Metric::FirstContactResolution,
            Dimension::Team,
            "t1",
            &team,
            &center,
            &settings,
        );
        assert!((line.group_value.value - 0.9).abs() < 1e-12);
        assert!((line.center_value.value - 1580.0 / 2200.0).abs() < 1e-12);
        // Against the rest (70%), not the center that contains the team.
        assert!((line.versus_rest_of_center.baseline.value - 0.7).abs() < 1e-12);
        assert!((line.versus_rest_of_center.difference - 0.2).abs() < 1e-12);
        assert_eq!(line.assessment, Assessment::Improved);
        assert!((line.difference_from_industry - 0.19).abs() < 1e-12);
        assert_eq!(line.target_status, Some(TargetStatus::Met));
    }

    #[test]
    fn empty_group_benchmarks_to_no_data() {
        let center = fcr(10, 20);
        let line = benchmark(
            Metric::FirstContactResolution,
            Dimension::Agent,
            "a",
            &GroupStats::default(),
            &center,
            &Settings::default(),
        );
        assert!(line.group_value.no_data);
        assert_eq!(line.assessment, Assessment::NotAssessed);
        assert_eq!(line.difference_from_industry, 0.0);
        assert!(line.target.is_none() && line.target_status.is_none());
    }
}
