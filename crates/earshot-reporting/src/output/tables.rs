//! Every report as a table with a fixed column order: the layout of the CSV
//! export. Column names are stable API (integrators' spreadsheets depend on
//! them): add columns at the end, never rename or reorder.
//!
//! An estimate spreads over five columns: `<name>`, `<name>_ci_low`,
//! `<name>_ci_high`, `<name>_sample_size`, `<name>_insufficient_sample`; a
//! no-data estimate leaves the first three empty (never "NaN" or 0 that
//! could be mistaken for a real zero).

use std::collections::BTreeMap;

use super::csv::Field;
use crate::benchmark::BenchmarkLine;
use crate::comparison::ComparisonRow;
use crate::insights::association::{Association, CustomerOutcome};
use crate::insights::pareto::ParetoEntry;
use crate::metrics::Assessment;
use crate::reports::{CustomerFigures, OperationalFigures, QualityFigures, Row};
use crate::settings::Comparator;
use crate::significance::{Comparison, Test};
use crate::stats::Estimate;
use crate::stats::histogram::BINS;
use crate::targets::{Attainment, TargetStatus};
use crate::trend::TrendSeries;

/// A report as rows under named columns.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    /// Column names, in order.
    pub columns: Vec<String>,
    /// Rows, each exactly `columns.len()` fields.
    pub rows: Vec<Vec<Field>>,
}

/// Display names of groups by id (from the feeds); missing ids print empty.
pub type Names = BTreeMap<String, String>;

fn est_cols(cols: &mut Vec<String>, name: &str) {
    cols.push(name.to_owned());
    for suffix in ["ci_low", "ci_high", "sample_size", "insufficient_sample"] {
        cols.push(format!("{name}_{suffix}"));
    }
}

fn est_fields(row: &mut Vec<Field>, e: &Estimate) {
    if e.no_data {
        row.extend([Field::Empty, Field::Empty, Field::Empty]);
    } else {
        row.extend([
            Field::Float(e.value),
            Field::Float(e.ci_low),
            Field::Float(e.ci_high),
        ]);
    }
    row.push(Field::Int(e.sample_size));
    row.push(Field::Bool(e.insufficient_sample));
}

fn group_cols(cols: &mut Vec<String>) {
    cols.extend(["group_id", "group_name", "rank"].map(String::from));
}

fn group_fields<T>(row: &mut Vec<Field>, r: &Row<T>, names: &Names) {
    row.push(Field::Text(r.group_id.clone()));
    row.push(Field::Text(
        names.get(&r.group_id).cloned().unwrap_or_default(),
    ));
    row.push(r.rank.map_or(Field::Empty, |k| Field::Int(i64::from(k))));
}

/// Quality report: group, rank, count, mean score, SD, pass rate, critical
/// failure rate, then the 20 histogram bins `bin_00_05` … `bin_95_100`.
pub fn quality_table(rows: &[Row<QualityFigures>], names: &Names) -> Table {
    let mut columns = Vec::new();
    group_cols(&mut columns);
    columns.push("evaluation_count".into());
    est_cols(&mut columns, "mean_score");
    columns.push("score_standard_deviation".into());
    est_cols(&mut columns, "pass_rate");
    est_cols(&mut columns, "critical_failure_rate");
    for i in 0..BINS {
        columns.push(format!("bin_{:02}_{:02}", i * 5, (i + 1) * 5));
    }
    let rows = rows
        .iter()
        .map(|r| {
            let f = &r.figures;
            let mut row = Vec::new();
            group_fields(&mut row, r, names);
            row.push(Field::Int(f.evaluation_count));
            est_fields(&mut row, &f.mean_score);
            row.push(Field::Float(f.score_standard_deviation));
            est_fields(&mut row, &f.pass_rate);
            est_fields(&mut row, &f.critical_failure_rate);
            row.extend(f.distribution.0.iter().map(|&c| Field::Int(c)));
            row
        })
        .collect();
    Table { columns, rows }
}

/// Operational report (durations in seconds).
pub fn operational_table(rows: &[Row<OperationalFigures>], names: &Names) -> Table {
    let mut columns = Vec::new();
    group_cols(&mut columns);
    columns.extend(["interaction_count", "offered_count", "handled_count"].map(String::from));
    let estimates = [
        "average_handle_time",
        "average_talk_time",
        "average_hold_time",
        "average_after_call_work",
        "average_speed_of_answer",
        "abandonment_rate",
        "service_level",
        "transfer_rate",
        "first_contact_resolution",
        "monitoring_coverage",
    ];
    for e in estimates {
        est_cols(&mut columns, e);
    }
    let rows = rows
        .iter()
        .map(|r| {
            let f = &r.figures;
            let mut row = Vec::new();
            group_fields(&mut row, r, names);
            row.extend([f.interaction_count, f.offered_count, f.handled_count].map(Field::Int));
            for e in [
                &f.average_handle_time,
                &f.average_talk_time,
                &f.average_hold_time,
                &f.average_after_call_work,
                &f.average_speed_of_answer,
                &f.abandonment_rate,
                &f.service_level,
                &f.transfer_rate,
                &f.first_contact_resolution,
                &f.monitoring_coverage,
            ] {
                est_fields(&mut row, e);
            }
            row
        })
        .collect();
    Table { columns, rows }
}

/// Customer report; complaint categories in one text column as
/// `category=count/resolved` pairs joined by `; `.
pub fn customer_table(rows: &[Row<CustomerFigures>], names: &Names) -> Table {
    let mut columns = Vec::new();
    group_cols(&mut columns);
    columns.push("surveys_sent".into());
    for e in [
        "response_rate",
        "csat",
        "csat_mean_rating",
        "nps",
        "promoter_share",
        "passive_share",
        "detractor_share",
    ] {
        est_cols(&mut columns, e);
    }
    columns.push("complaint_count".into());
    est_cols(&mut columns, "complaint_rate");
    est_cols(&mut columns, "complaint_resolved_share");
    columns.push("complaints_by_category".into());
    let rows = rows
        .iter()
        .map(|r| {
            let f = &r.figures;
            let mut row = Vec::new();
            group_fields(&mut row, r, names);
            row.push(Field::Int(f.surveys_sent));
            for e in [
                &f.response_rate,
                &f.csat,
                &f.csat_mean_rating,
                &f.nps.score,
                &f.nps.promoter_share,
                &f.nps.passive_share,
                &f.nps.detractor_share,
            ] {
                est_fields(&mut row, e);
            }
            row.push(Field::Int(f.complaint_count));
            est_fields(&mut row, &f.complaint_rate);
            est_fields(&mut row, &f.complaint_resolved_share);
            let categories: Vec<String> = f
                .complaints_by_category
                .iter()
                .map(|c| format!("{}={}/{}", c.category, c.count, c.resolved_count))
                .collect();
            row.push(Field::Text(categories.join("; ")));
            row
        })
        .collect();
    Table { columns, rows }
}

/// Trend: one row per (series, bucket).
pub fn trend_table(metric: &str, series: &[TrendSeries], names: &Names) -> Table {
    let mut columns: Vec<String> = [
        "group_id",
        "group_name",
        "metric",
        "bucket_start",
        "bucket_end",
        "partial",
    ]
    .map(String::from)
    .to_vec();
    est_cols(&mut columns, "value");
    let mut rows = Vec::new();
    for s in series {
        for p in &s.points {
            let mut row = vec![
                Field::Text(s.group_id.clone()),
                Field::Text(names.get(&s.group_id).cloned().unwrap_or_default()),
                Field::Text(metric.to_owned()),
                Field::Text(p.bucket.start.to_string()),
                Field::Text(p.bucket.end.to_string()),
                Field::Bool(p.bucket.partial),
            ];
            est_fields(&mut row, &p.value);
            rows.push(row);
        }
    }
    Table { columns, rows }
}

fn test_name(t: Option<Test>) -> &'static str {
    match t {
        None => "",
        Some(Test::TwoProportionZ) => "two_proportion_z",
        Some(Test::WelchT) => "welch_t",
        Some(Test::NpsDifferenceZ) => "nps_difference_z",
    }
}

fn assessment_name(a: Assessment) -> &'static str {
    match a {
        Assessment::NotAssessed => "",
        Assessment::Improved => "improved",
        Assessment::Worsened => "worsened",
        Assessment::NoSignificantChange => "no_significant_change",
    }
}

fn comparison_cols(columns: &mut Vec<String>, a: &str, b: &str) {
    est_cols(columns, a);
    est_cols(columns, b);
    columns.extend(
        [
            "difference",
            "difference_ci_low",
            "difference_ci_high",
            "p_value",
            "significant",
            "test",
            "degrees_of_freedom",
        ]
        .map(String::from),
    );
}

fn comparison_fields(row: &mut Vec<Field>, c: &Comparison) {
    est_fields(row, &c.current);
    est_fields(row, &c.baseline);
    row.extend([
        Field::Float(c.difference),
        Field::Float(c.difference_ci_low),
        Field::Float(c.difference_ci_high),
        Field::Float(c.p_value),
        Field::Bool(c.significant()),
        Field::Text(test_name(c.test).to_owned()),
        Field::Float(c.degrees_of_freedom),
    ]);
}

/// Period comparison: one row per (group, metric).
pub fn comparison_table(rows: &[ComparisonRow], names: &Names) -> Table {
    let mut columns: Vec<String> = ["group_id", "group_name", "metric"]
        .map(String::from)
        .to_vec();
    comparison_cols(&mut columns, "current", "baseline");
    columns.push("assessment".into());
    let mut out = Vec::new();
    for r in rows {
        for m in &r.comparisons {
            let mut row = vec![
                Field::Text(r.group_id.clone()),
                Field::Text(names.get(&r.group_id).cloned().unwrap_or_default()),
                Field::Text(m.metric.name().to_owned()),
            ];
            comparison_fields(&mut row, &m.comparison);
            row.push(Field::Text(assessment_name(m.assessment).to_owned()));
            out.push(row);
        }
    }
    Table { columns, rows: out }
}

fn outcome_name(o: CustomerOutcome) -> &'static str {
    match o {
        CustomerOutcome::Csat => "csat",
        CustomerOutcome::Nps => "nps",
        CustomerOutcome::Fcr => "fcr",
    }
}

/// Question insights: one row per (question, outcome); a question with no
/// paired outcome data has one row with the outcome columns empty.
pub fn insights_table(entries: &[(ParetoEntry, Vec<Association>)], texts: &Names) -> Table {
    let mut columns: Vec<String> = [
        "question_id",
        "question_text",
        "pareto_rank",
        "passed_count",
        "failed_count",
        "not_applicable_count",
    ]
    .map(String::from)
    .to_vec();
    est_cols(&mut columns, "fail_rate");
    columns.extend(
        [
            "share_of_failures",
            "cumulative_share",
            "vital_few",
            "outcome",
        ]
        .map(String::from),
    );
    comparison_cols(&mut columns, "when_passed", "when_failed");
    columns.extend(
        [
            "correlation",
            "paired_sample_size",
            "association_insufficient_sample",
        ]
        .map(String::from),
    );
    let width = columns.len();
    let mut rows = Vec::new();
    for (e, associations) in entries {
        let mut head = vec![
            Field::Text(e.question_id.clone()),
            Field::Text(texts.get(&e.question_id).cloned().unwrap_or_default()),
            Field::Int(i64::from(e.rank)),
            Field::Int(e.passed),
            Field::Int(e.failed),
            Field::Int(e.not_applicable),
        ];
        est_fields(&mut head, &e.fail_rate);
        head.extend([
            Field::Float(e.share_of_failures),
            Field::Float(e.cumulative_share),
            Field::Bool(e.vital_few),
        ]);
        if associations.is_empty() {
            let mut row = head.clone();
            row.resize(width, Field::Empty);
            rows.push(row);
        }
        for a in associations {
            let mut row = head.clone();
            row.push(Field::Text(outcome_name(a.outcome).to_owned()));
            comparison_fields(&mut row, &a.difference);
            row.extend([
                Field::Float(a.correlation),
                Field::Int(a.paired_sample_size),
                Field::Bool(a.insufficient_sample),
            ]);
            rows.push(row);
        }
    }
    Table { columns, rows }
}

fn status_name(s: TargetStatus) -> &'static str {
    match s {
        TargetStatus::Met => "met",
        TargetStatus::NotMet => "not_met",
        TargetStatus::InsufficientSample => "insufficient_sample",
        TargetStatus::NoData => "no_data",
    }
}

fn comparator_name(c: Comparator) -> &'static str {
    match c {
        Comparator::AtLeast => "at_least",
        Comparator::AtMost => "at_most",
    }
}

/// Target attainment: per (metric, group) an `overall` row, then one
/// `bucket` row per bucket.
pub fn targets_table(attainments: &[Attainment], names: &Names) -> Table {
    let mut columns: Vec<String> = [
        "metric",
        "group_id",
        "group_name",
        "target_value",
        "target_comparison",
        "row_kind",
        "bucket_start",
        "bucket_end",
    ]
    .map(String::from)
    .to_vec();
    est_cols(&mut columns, "value");
    columns.push("status".into());
    let mut rows = Vec::new();
    for a in attainments {
        let head = vec![
            Field::Text(a.target.metric.name().to_owned()),
            Field::Text(a.group_id.clone()),
            Field::Text(names.get(&a.group_id).cloned().unwrap_or_default()),
            Field::Float(a.target.value),
            Field::Text(comparator_name(a.target.comparator).to_owned()),
        ];
        let mut row = head.clone();
        row.extend([Field::Text("overall".into()), Field::Empty, Field::Empty]);
        est_fields(&mut row, &a.overall);
        row.push(Field::Text(status_name(a.overall_status).to_owned()));
        rows.push(row);
        for p in &a.periods {
            let mut row = head.clone();
            row.extend([
                Field::Text("bucket".into()),
                Field::Text(p.bucket.start.to_string()),
                Field::Text(p.bucket.end.to_string()),
            ]);
            est_fields(&mut row, &p.value);
            row.push(Field::Text(status_name(p.status).to_owned()));
            rows.push(row);
        }
    }
    Table { columns, rows }
}

/// Benchmark: one row per metric.
pub fn benchmark_table(lines: &[BenchmarkLine]) -> Table {
    let mut columns: Vec<String> = vec!["metric".into()];
    est_cols(&mut columns, "center");
    comparison_cols(&mut columns, "group", "rest_of_center");
    columns.extend(
        [
            "assessment",
            "industry_value",
            "industry_source",
            "difference_from_industry",
            "target_value",
            "target_status",
        ]
        .map(String::from),
    );
    let rows = lines
        .iter()
        .map(|l| {
            let mut row = vec![Field::Text(l.metric.name().to_owned())];
            est_fields(&mut row, &l.center_value);
            comparison_fields(&mut row, &l.versus_rest_of_center);
            row.push(Field::Text(assessment_name(l.assessment).to_owned()));
            match &l.industry_reference {
                Some(r) => row.extend([Field::Float(r.value), Field::Text(r.source.clone())]),
                None => row.extend([Field::Empty, Field::Empty]),
            }
            row.push(Field::Float(l.difference_from_industry));
            row.push(
                l.target
                    .as_ref()
                    .map_or(Field::Empty, |t| Field::Float(t.value)),
            );
            row.push(Field::Text(
                l.target_status
                    .map(status_name)
                    .unwrap_or_default()
                    .to_owned(),
            ));
            row
        })
        .collect();
    Table { columns, rows }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::{DateRange, Granularity, buckets};
    use crate::comparison::compare_periods;
    use crate::insights::{association::associations, pareto::pareto};
    use crate::metrics::{GroupStats, Metric};
    use crate::output::csv::{ChunkedCsv, write_record};
    use crate::rollup::cells::{InteractionCell, QualityCell, QuestionCell};
    use crate::settings::{Settings, Target, TargetScope};
    use crate::stats::{Moments, ScoreHistogram};
    use crate::targets::attainment;
    use crate::trend::trend_series;
    use chrono::NaiveDate;

    fn assert_rectangular(t: &Table) {
        for r in &t.rows {
            assert_eq!(r.len(), t.columns.len(), "columns: {:?}", t.columns);
        }
        let mut unique = t.columns.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), t.columns.len(), "duplicate column names");
    }

    fn stats() -> GroupStats {
        let mut q = QualityCell::default();
        for s in [7_000, 8_500, 9_000] {
            q.scores.add(&Moments::of(s));
            q.histogram.add(&ScoreHistogram::of(s));
        }
        q.passed = 2;
        let i = InteractionCell {
            interactions: 4,
            offered: 4,
            handle: Moments::from_values(&[100_000, 200_000]),
            csat: [0, 0, 1, 1, 1],
            nps: [1, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0],
            fcr_known: 3,
            fcr_resolved: 2,
            ..InteractionCell::default()
        };
        GroupStats {
            quality: q,
            interactions: i,
        }
    }

    #[test]
    fn every_table_is_rectangular() {
        let s = stats();
        let names = Names::from([("a1".to_owned(), "Ann, \"the boss\"".to_owned())]);
        let row = |f| Row {
            group_id: "a1".to_owned(),
            figures: f,
            rank: Some(1),
        };
        let q = quality_table(&[row(QualityFigures::from_cell(&s.quality, 2))], &names);
        assert_rectangular(&q);
        assert_eq!(q.columns.len(), 3 + 1 + 5 + 1 + 5 + 5 + 20);
        assert_eq!(q.columns.last().map(String::as_str), Some("bin_95_100"));
        let o = operational_table(
            &[Row {
                group_id: "a1".into(),
                figures: OperationalFigures::from_cell(&s.interactions, 2),
                rank: None,
            }],
            &names,
        );
        assert_rectangular(&o);
        let c = customer_table(
            &[Row {
                group_id: "a1".into(),
                figures: crate::reports::CustomerFigures::from_cell(&s.interactions, 2),
                rank: None,
            }],
            &names,
        );
        assert_rectangular(&c);

        let d = |m, day| NaiveDate::from_ymd_opt(2026, m, day).unwrap();
        let b = buckets(
            DateRange::new(d(1, 1), d(2, 28)).unwrap(),
            Granularity::Month,
            10,
        )
        .unwrap();
        let data: Vec<_> = b.iter().map(|x| (*x, s.clone())).collect();
        let series = trend_series(Metric::QualityScore, "a1", &data, 2);
        let t = trend_table("quality_score", &[series], &names);
        assert_rectangular(&t);
        assert_eq!(t.rows.len(), 2);

        let cur = BTreeMap::from([("a1".to_owned(), s.clone())]);
        let cmp = comparison_table(
            &compare_periods(
                &[Metric::Csat, Metric::QualityScore],
                &cur,
                &BTreeMap::new(),
                2,
            ),
            &names,
        );
        assert_rectangular(&cmp);
        assert_eq!(cmp.rows.len(), 2);

        let qc = QuestionCell {
            passed: 5,
            failed: 3,
            csat: [[3, 1], [1, 2]],
            ..QuestionCell::default()
        };
        let (entries, _) = pareto(
            &BTreeMap::from([
                ("q1".to_owned(), qc.clone()),
                ("q2".to_owned(), QuestionCell::default()),
            ]),
            2,
        );
        let with_assoc: Vec<_> = entries
            .into_iter()
            .map(|e| {
                let a = if e.question_id == "q1" {
                    associations(&qc, 2)
                } else {
                    vec![]
                };
                (e, a)
            })
            .collect();
        let it = insights_table(&with_assoc, &Names::new());
        assert_rectangular(&it);
        assert_eq!(it.rows.len(), 2);

        let target = Target {
            metric: Metric::QualityScore,
            value: 80.0,
            comparator: Comparator::AtLeast,
            scope: TargetScope::All,
        };
        let att = attainment(&target, "a1", &s, &data, 2);
        let tt = targets_table(&[att], &names);
        assert_rectangular(&tt);
        assert_eq!(tt.rows.len(), 3);

        let mut center = s.clone();
        use crate::rollup::cells::Cell;
        center.quality.add(&s.quality);
        let line = crate::benchmark::benchmark(
            Metric::QualityScore,
            crate::dimension::Dimension::Agent,
            "a1",
            &s,
            &center,
            &Settings::default(),
        );
        let bt = benchmark_table(&[line]);
        assert_rectangular(&bt);
    }

    #[test]
    fn csv_of_a_quality_report() {
        let s = stats();
        let names = Names::from([("a1".to_owned(), "Ann, \"the boss\"".to_owned())]);
        let rows = vec![
            Row {
                group_id: "a1".to_owned(),
                figures: QualityFigures::from_cell(&s.quality, 2),
                rank: Some(1),
            },
            Row {
                group_id: "a2".to_owned(),
                figures: QualityFigures::from_cell(&QualityCell::default(), 2),
                rank: None,
            },
        ];
        let t = quality_table(&rows, &names);
        let header: Vec<&str> = t.columns.iter().map(String::as_str).collect();
        let mut csv = ChunkedCsv::new(&header, 1 << 16);
        for r in &t.rows {
            assert!(csv.push(r).is_none());
        }
        let text = String::from_utf8(csv.finish().unwrap().data).unwrap();
        let lines: Vec<&str> = text.split("\r\n").collect();
        assert!(lines[0].starts_with(
            "group_id,group_name,rank,evaluation_count,mean_score,mean_score_ci_low,"
        ));
        assert!(
            lines[1].starts_with("a1,\"Ann, \"\"the boss\"\"\",1,3,81.66666666666667,"),
            "{}",
            lines[1]
        );
        // The empty group: no rank, no value, sample 0, flagged.
        assert!(lines[2].starts_with("a2,,,0,,,,0,true,0,"), "{}", lines[2]);
        let mut again = String::new();
        for r in &t.rows {
            write_record(&mut again, r);
        }
        assert!(text.ends_with(&again), "stable output");
    }
}
