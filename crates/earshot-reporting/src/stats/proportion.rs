//! [`Proportion`]: successes out of trials, with the Wilson score interval.
//!
//! Used for every share Earshot reports: pass rate, critical-failure rate,
//! CSAT, FCR, abandonment, transfer, service level, response rate, coverage.
//! Wilson rather than Wald because Wald collapses to a zero-width interval at
//! 0% and 100% and undercovers for small samples, exactly where contact
//! center groups live (an agent with 8 evaluations, all passed).

use super::estimate::Estimate;
use super::special::Z_975;

/// Successes out of trials. Mergeable by adding both counts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Proportion {
    /// Trials that succeeded (0 ≤ successes ≤ trials).
    pub successes: i64,
    /// All trials.
    pub trials: i64,
}

impl Proportion {
    /// `successes` out of `trials`.
    pub fn new(successes: i64, trials: i64) -> Self {
        Proportion { successes, trials }
    }

    /// The observed share, 0 when there are no trials. Successes outside
    /// [0, trials] are clamped.
    pub fn share(&self) -> f64 {
        if self.trials <= 0 {
            return 0.0;
        }
        self.successes.clamp(0, self.trials) as f64 / self.trials as f64
    }

    /// The share with its 95% Wilson score interval:
    /// centre = (p̂ + z²/2n) / (1 + z²/n),
    /// half = z / (1 + z²/n) · √(p̂(1−p̂)/n + z²/4n²).
    /// No trials → [`Estimate::NO_DATA`].
    pub fn wilson(&self) -> Estimate {
        let (lo, hi) = self.wilson_bounds();
        if self.trials <= 0 {
            return Estimate::NO_DATA;
        }
        Estimate::new(self.share(), lo, hi, self.trials)
    }

    /// The Wilson bounds alone; (0, 0) with no trials.
    pub fn wilson_bounds(&self) -> (f64, f64) {
        if self.trials <= 0 {
            return (0.0, 0.0);
        }
        let n = self.trials as f64;
        let p = self.share();
        let z2 = Z_975 * Z_975;
        let denom = 1.0 + z2 / n;
        let centre = (p + z2 / (2.0 * n)) / denom;
        let half = Z_975 / denom * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt();
        (
            (centre - half).clamp(0.0, 1.0),
            (centre + half).clamp(0.0, 1.0),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn worked_examples() {
        // 8 of 10: Wilson 95% = [0.4902, 0.9433] (the published textbook
        // value, here to full precision).
        let e = Proportion::new(8, 10).wilson();
        assert!((e.value - 0.8).abs() < 1e-15);
        assert!(
            (e.ci_low - 0.490_162_471_536_641_8).abs() < 1e-9,
            "{}",
            e.ci_low
        );
        assert!(
            (e.ci_high - 0.943_317_848_545_624_8).abs() < 1e-9,
            "{}",
            e.ci_high
        );
        // 0 of 20: lower bound 0, upper 0.16112.
        let e = Proportion::new(0, 20).wilson();
        assert_eq!(e.ci_low, 0.0);
        assert!(
            (e.ci_high - 0.161_125_158_052_819_4).abs() < 1e-9,
            "{}",
            e.ci_high
        );
        // 20 of 20 mirrors it.
        let e = Proportion::new(20, 20).wilson();
        assert!((e.ci_low - (1.0 - 0.161_125_158_052_819_4)).abs() < 1e-9);
        assert_eq!(e.ci_high, 1.0);
    }

    #[test]
    fn empty_is_no_data() {
        assert_eq!(Proportion::default().wilson(), Estimate::NO_DATA);
        assert_eq!(Proportion::new(3, -1).wilson(), Estimate::NO_DATA);
        assert_eq!(Proportion::new(5, 3).share(), 1.0);
    }

    proptest! {
        #[test]
        fn interval_is_proper(trials in 1i64..1_000_000, frac in 0.0f64..=1.0) {
            let s = ((trials as f64) * frac).round() as i64;
            let e = Proportion::new(s, trials).wilson();
            prop_assert!(0.0 <= e.ci_low && e.ci_low <= e.value);
            prop_assert!(e.value <= e.ci_high && e.ci_high <= 1.0);
            prop_assert_eq!(e.sample_size, trials);
        }
    }
}
