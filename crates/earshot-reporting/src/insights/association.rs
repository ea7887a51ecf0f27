//! How a question's pass/fail relates to customer outcomes on the same
//! interactions.
//!
//! From a question cell's 2×2 (CSAT satisfied, FCR resolved) and 2×3 (NPS
//! category) tables:
//! - the outcome when the question passed and when it failed, each with its
//!   interval;
//! - their difference, tested: two-proportion z for CSAT and FCR, the NPS
//!   difference z-test for NPS (passed is "current", failed "baseline");
//! - the phi coefficient of the 2×2 table (for NPS: promoter or not), the
//!   point-biserial correlation of two binary variables.

use crate::rollup::cells::{FAILED, PASSED, QuestionCell};
use crate::significance::{self, Comparison};
use crate::stats::{Estimate, NpsCounts, Proportion};

/// A customer outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CustomerOutcome {
    /// CSAT 4–5.
    Csat,
    /// NPS.
    Nps,
    /// First contact resolution.
    Fcr,
}

/// One question against one outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct Association {
    /// The outcome.
    pub outcome: CustomerOutcome,
    /// The outcome where the question passed (share, or NPS points).
    pub when_passed: Estimate,
    /// The outcome where it failed.
    pub when_failed: Estimate,
    /// Passed against failed.
    pub difference: Comparison,
    /// Phi correlation, −1..1 (0 when a margin is empty).
    pub correlation: f64,
    /// Interactions with both the answer and the outcome.
    pub paired_sample_size: i64,
    /// Either side below the minimum sample.
    pub insufficient_sample: bool,
}

/// The phi coefficient of a 2×2 table [[a, b], [c, d]]:
/// (ad − bc) / √((a+b)(c+d)(a+c)(b+d)); 0 when any margin is zero.
pub fn phi(table: [[i64; 2]; 2]) -> f64 {
    let [[a, b], [c, d]] = table.map(|r| r.map(|x| x.max(0) as f64));
    let denominator = ((a + b) * (c + d) * (a + c) * (b + d)).sqrt();
    if denominator > 0.0 && denominator.is_finite() {
        ((a * d - b * c) / denominator).clamp(-1.0, 1.0)
    } else {
        0.0
    }
}

fn binary(outcome: CustomerOutcome, t: [[i64; 2]; 2], minimum_sample: i64) -> Option<Association> {
    let passed = Proportion::new(t[PASSED][0], t[PASSED][0].wrapping_add(t[PASSED][1]));
    let failed = Proportion::new(t[FAILED][0], t[FAILED][0].wrapping_add(t[FAILED][1]));
    let paired = passed.trials.wrapping_add(failed.trials);
    if paired <= 0 {
        return None;
    }
    let insufficient =
        passed.trials < minimum_sample.max(1) || failed.trials < minimum_sample.max(1);
    Some(Association {
        outcome,
        when_passed: passed.wilson().with_minimum(minimum_sample),
        when_failed: failed.wilson().with_minimum(minimum_sample),
        difference: significance::two_proportions(passed, failed),
        correlation: phi(t),
        paired_sample_size: paired,
        insufficient_sample: insufficient,
    })
}

/// The associations of one question with every outcome that has paired data,
/// in the order CSAT, NPS, FCR.
pub fn associations(cell: &QuestionCell, minimum_sample: i64) -> Vec<Association> {
    let mut out = Vec::new();
    if let Some(a) = binary(CustomerOutcome::Csat, cell.csat, minimum_sample) {
        out.push(a);
    }
    let counts = |row: [i64; 3]| NpsCounts {
        promoters: row[0],
        passives: row[1],
        detractors: row[2],
    };
    let passed = counts(cell.nps[PASSED]);
    let failed = counts(cell.nps[FAILED]);
    let paired = passed.total().wrapping_add(failed.total());
    if paired > 0 {
        let promoter_table = [
            [
                passed.promoters,
                passed.passives.wrapping_add(passed.detractors),
            ],
            [
                failed.promoters,
                failed.passives.wrapping_add(failed.detractors),
            ],
        ];
        out.push(Association {
            outcome: CustomerOutcome::Nps,
            when_passed: passed.estimate().score.with_minimum(minimum_sample),
            when_failed: failed.estimate().score.with_minimum(minimum_sample),
            difference: significance::nps_difference(passed, failed),
            correlation: phi(promoter_table),
            paired_sample_size: paired,
            insufficient_sample: passed.total() < minimum_sample.max(1)
                || failed.total() < minimum_sample.max(1),
        });
    }
    if let Some(a) = binary(CustomerOutcome::Fcr, cell.fcr, minimum_sample) {
        out.push(a);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn phi_worked_examples() {
        assert!((phi([[30, 10], [10, 30]]) - 0.5).abs() < 1e-12);
        assert!((phi([[10, 0], [0, 10]]) - 1.0).abs() < 1e-12);
        assert!((phi([[0, 10], [10, 0]]) + 1.0).abs() < 1e-12);
        assert_eq!(phi([[5, 5], [0, 0]]), 0.0);
        assert_eq!(phi([[0, 0], [0, 0]]), 0.0);
    }

    #[test]
    fn empathy_matters_to_csat() {
        // Passed: 80 satisfied of 100; failed: 20 of 50.
        let cell = QuestionCell {
            passed: 100,
            failed: 50,
            csat: [[80, 20], [20, 30]],
            nps: [[50, 30, 20], [10, 10, 30]],
            ..QuestionCell::default()
        };
        let a = associations(&cell, 30);
        assert_eq!(a.len(), 2, "no FCR data");
        let csat = &a[0];
        assert_eq!(csat.outcome, CustomerOutcome::Csat);
        assert!((csat.when_passed.value - 0.8).abs() < 1e-12);
        assert!((csat.when_failed.value - 0.4).abs() < 1e-12);
        assert!((csat.difference.difference - 0.4).abs() < 1e-12);
        assert!(csat.difference.significant());
        assert_eq!(csat.paired_sample_size, 150);
        assert!(!csat.insufficient_sample);
        // phi = (80·30 − 20·20) / √(100·50·100·50) = 2000/5000 = 0.4
        assert!((csat.correlation - 0.4).abs() < 1e-12);
        let nps = &a[1];
        assert!((nps.when_passed.value - 30.0).abs() < 1e-9);
        assert!((nps.when_failed.value + 40.0).abs() < 1e-9);
        assert!((nps.difference.difference - 70.0).abs() < 1e-9);
    }

    #[test]
    fn small_sides_are_flagged() {
        let cell = QuestionCell {
            fcr: [[40, 10], [1, 1]],
            ..QuestionCell::default()
        };
        let a = associations(&cell, 10);
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].outcome, CustomerOutcome::Fcr);
        assert!(a[0].insufficient_sample);
        assert!(a[0].when_failed.insufficient_sample);
        assert!(associations(&QuestionCell::default(), 10).is_empty());
    }

    proptest! {
        #[test]
        fn phi_is_bounded(a in 0i64..1000, b in 0i64..1000, c in 0i64..1000, d in 0i64..1000) {
            let p = phi([[a, b], [c, d]]);
            prop_assert!((-1.0..=1.0).contains(&p));
            // Swapping rows flips the sign.
            prop_assert!((phi([[c, d], [a, b]]) + p).abs() < 1e-9);
        }
    }
}
