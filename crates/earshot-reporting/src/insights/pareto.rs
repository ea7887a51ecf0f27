//! The Pareto of question failures.

use std::collections::BTreeMap;

use crate::rollup::cells::QuestionCell;
use crate::stats::{Estimate, Proportion};

/// The "vital few" reach this share of all failures.
pub const VITAL_FEW_SHARE: f64 = 0.8;

/// One question in Pareto order.
#[derive(Debug, Clone, PartialEq)]
pub struct ParetoEntry {
    /// The question id.
    pub question_id: String,
    /// Passed answers.
    pub passed: i64,
    /// Failed answers.
    pub failed: i64,
    /// Not-applicable answers.
    pub not_applicable: i64,
    /// failed / (passed + failed), Wilson interval, flagged below the
    /// minimum sample.
    pub fail_rate: Estimate,
    /// This question's failures / all failures (0 when there are none).
    pub share_of_failures: f64,
    /// Running share down the order; exactly 1 at the last failing question.
    pub cumulative_share: f64,
    /// 1-based position.
    pub rank: u32,
    /// Among the questions up to and including the first reaching 80%.
    pub vital_few: bool,
}

/// Orders questions by failures (most first, ties by id) and returns them
/// with the total number of failures.
pub fn pareto(
    questions: &BTreeMap<String, QuestionCell>,
    minimum_sample: i64,
) -> (Vec<ParetoEntry>, i64) {
    let total: i64 = questions
        .values()
        .fold(0i64, |a, q| a.wrapping_add(q.failed.max(0)));
    let mut order: Vec<(&String, &QuestionCell)> = questions.iter().collect();
    order.sort_by(|(ia, a), (ib, b)| b.failed.cmp(&a.failed).then_with(|| ia.cmp(ib)));
    let mut running = 0i64;
    let mut vital_open = total > 0;
    let mut out = Vec::with_capacity(order.len());
    for (i, (id, q)) in order.into_iter().enumerate() {
        running = running.wrapping_add(q.failed.max(0));
        let share = |x: i64| {
            if total > 0 {
                x as f64 / total as f64
            } else {
                0.0
            }
        };
        let cumulative = share(running);
        let vital = vital_open && q.failed > 0;
        if cumulative >= VITAL_FEW_SHARE {
            vital_open = false;
        }
        out.push(ParetoEntry {
            question_id: id.clone(),
            passed: q.passed,
            failed: q.failed,
            not_applicable: q.not_applicable,
            fail_rate: Proportion::new(q.failed, q.passed.wrapping_add(q.failed))
                .wilson()
                .with_minimum(minimum_sample),
            share_of_failures: share(q.failed.max(0)),
            cumulative_share: cumulative,
            rank: u32::try_from(i + 1).unwrap_or(u32::MAX),
            vital_few: vital,
        });
    }
    (out, total)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn q(passed: i64, failed: i64) -> QuestionCell {
        QuestionCell {
            passed,
            failed,
            ..QuestionCell::default()
        }
    }

    #[test]
    fn worked_pareto() {
        let questions = BTreeMap::from([
            ("empathy".to_owned(), q(40, 10)),
            ("greeting".to_owned(), q(90, 5)),
            ("hold_etiquette".to_owned(), q(20, 30)),
            ("verification".to_owned(), q(45, 5)),
            ("closing".to_owned(), q(100, 0)),
        ]);
        let (entries, total) = pareto(&questions, 20);
        assert_eq!(total, 50);
        let order: Vec<_> = entries
            .iter()
            .map(|e| (e.question_id.as_str(), e.vital_few))
            .collect();
        assert_eq!(
            order,
            [
                ("hold_etiquette", true), // 60%
                ("empathy", true),        // 80% reached here
                ("greeting", false),
                ("verification", false),
                ("closing", false),
            ]
        );
        assert!((entries[0].share_of_failures - 0.6).abs() < 1e-12);
        assert!((entries[1].cumulative_share - 0.8).abs() < 1e-12);
        assert_eq!(entries[3].cumulative_share, 1.0);
        assert!((entries[0].fail_rate.value - 0.6).abs() < 1e-12);
        assert_eq!(entries[4].rank, 5);
    }

    #[test]
    fn no_failures_no_vital_few() {
        let questions = BTreeMap::from([
            ("a".to_owned(), q(3, 0)),
            ("b".to_owned(), QuestionCell::default()),
        ]);
        let (entries, total) = pareto(&questions, 5);
        assert_eq!(total, 0);
        assert!(
            entries
                .iter()
                .all(|e| !e.vital_few && e.cumulative_share == 0.0)
        );
        assert!(entries[0].fail_rate.insufficient_sample);
        assert!(entries[1].fail_rate.no_data);
        assert!(pareto(&BTreeMap::new(), 5).0.is_empty());
    }

    proptest! {
        #[test]
        fn pareto_invariants(cells in proptest::collection::btree_map("[a-z]{1,3}", (0i64..100, 0i64..100), 0..20)) {
            let questions: BTreeMap<String, QuestionCell> = cells.into_iter().map(|(k, (p, f))| (k, q(p, f))).collect();
            let (entries, total) = pareto(&questions, 5);
            prop_assert_eq!(entries.len(), questions.len());
            for w in entries.windows(2) {
                prop_assert!(w[0].failed >= w[1].failed);
                prop_assert!(w[0].cumulative_share <= w[1].cumulative_share);
            }
            if total > 0 {
                prop_assert_eq!(entries.iter().map(|e| e.failed).sum::<i64>(), total);
                let last_failing = entries.iter().rev().find(|e| e.failed > 0).map(|e| e.cumulative_share);
                prop_assert_eq!(last_failing, Some(1.0));
                let vital: Vec<_> = entries.iter().filter(|e| e.vital_few).collect();
                prop_assert!(!vital.is_empty());
                prop_assert!(vital.last().map(|e| e.cumulative_share >= VITAL_FEW_SHARE).unwrap_or(false));
            }
        }
    }
}
