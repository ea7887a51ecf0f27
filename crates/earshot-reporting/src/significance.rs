//! Is a change real? Significance tests for period-over-period comparison,
//! benchmarks and question insights.
//!
//! - Proportions: two-proportion z-test (pooled variance under "no
//!   difference"); the interval of the difference is Newcombe's hybrid score
//!   interval (method 10), built from the two Wilson intervals, so it behaves
//!   at 0% and 100% where the Wald interval does not.
//! - Means: Welch's unequal-variance t-test with Welch–Satterthwaite degrees
//!   of freedom (groups rarely share a variance: a new agent's AHT varies more).
//! - NPS: z-test of the difference of two independent NPS fractions, with
//!   variance var₁ + var₂ where var = (p + d − (p − d)²)/n; the interval uses
//!   the adjusted-Wald variances (see [`crate::stats::nps`]).
//!
//! "Significant" means significant at 95%: two-sided p < 0.05.
//!
//! Degenerate cases are defined, never NaN: a side with no data (or, for
//! Welch, fewer than two observations) is *not testable* (`test = None`,
//! p = 1, difference 0). A zero standard error with equal values gives p = 1;
//! with different values (two groups of identical scores, different from
//! each other) it gives p = 0.

use crate::stats::special::{Z_975, normal_two_sided_p, t_critical_95, t_two_sided_p};
use crate::stats::{Estimate, Moments, NpsCounts, Proportion};

/// The significance level: p below this is "significant at 95%".
pub const ALPHA: f64 = 0.05;

/// Which test produced a comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Test {
    /// Two-proportion z-test with a Newcombe interval.
    TwoProportionZ,
    /// Welch's t-test.
    WelchT,
    /// z-test of an NPS difference.
    NpsDifferenceZ,
}

/// A current figure set against a baseline.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Comparison {
    /// The current figure.
    pub current: Estimate,
    /// The baseline figure.
    pub baseline: Estimate,
    /// current − baseline in the metric's unit (0 when not testable).
    pub difference: f64,
    /// Lower 95% bound of the difference.
    pub difference_ci_low: f64,
    /// Upper 95% bound of the difference.
    pub difference_ci_high: f64,
    /// Two-sided p-value of "no difference" (1 when not testable).
    pub p_value: f64,
    /// The test used; `None` when not testable.
    pub test: Option<Test>,
    /// Welch degrees of freedom; 0 for the other tests.
    pub degrees_of_freedom: f64,
}

impl Comparison {
    /// A comparison that could not be tested: the two figures side by side.
    pub fn untested(current: Estimate, baseline: Estimate) -> Self {
        Comparison {
            current,
            baseline,
            difference: 0.0,
            difference_ci_low: 0.0,
            difference_ci_high: 0.0,
            p_value: 1.0,
            test: None,
            degrees_of_freedom: 0.0,
        }
    }

    /// True when tested and p < 0.05.
    pub fn significant(&self) -> bool {
        self.test.is_some() && self.p_value < ALPHA
    }

    fn sanitised(mut self) -> Self {
        let fix = |x: f64| if x.is_finite() { x } else { 0.0 };
        self.difference = fix(self.difference);
        self.difference_ci_low = fix(self.difference_ci_low).min(self.difference);
        self.difference_ci_high = fix(self.difference_ci_high).max(self.difference);
        self.p_value = if self.p_value.is_finite() {
            self.p_value.clamp(0.0, 1.0)
        } else {
            1.0
        };
        self.degrees_of_freedom = fix(self.degrees_of_freedom);
        self
    }
}

/// Two-proportion z-test of `current` against `baseline`, difference in
/// share units (0 to 1).
pub fn two_proportions(current: Proportion, baseline: Proportion) -> Comparison {
    let (ce, be) = (current.wilson(), baseline.wilson());
    if current.trials <= 0 || baseline.trials <= 0 {
        return Comparison::untested(ce, be);
    }
    let (p1, p2) = (current.share(), baseline.share());
    let (n1, n2) = (current.trials as f64, baseline.trials as f64);
    let diff = p1 - p2;
    let x1 = current.successes.clamp(0, current.trials) as f64;
    let x2 = baseline.successes.clamp(0, baseline.trials) as f64;
    let pooled = (x1 + x2) / (n1 + n2);
    let se = (pooled * (1.0 - pooled) * (1.0 / n1 + 1.0 / n2)).sqrt();
    let p_value = if se > 0.0 {
        normal_two_sided_p(diff / se)
    } else if diff == 0.0 {
        1.0
    } else {
        0.0
    };
    // Newcombe's hybrid score interval (method 10).
    let (l1, u1) = current.wilson_bounds();
    let (l2, u2) = baseline.wilson_bounds();
    let low = diff - ((p1 - l1).powi(2) + (u2 - p2).powi(2)).sqrt();
    let high = diff + ((u1 - p1).powi(2) + (p2 - l2).powi(2)).sqrt();
    Comparison {
        current: ce,
        baseline: be,
        difference: diff,
        difference_ci_low: low,
        difference_ci_high: high,
        p_value,
        test: Some(Test::TwoProportionZ),
        degrees_of_freedom: 0.0,
    }
    .sanitised()
}

/// Welch's t-test of two means of integer observations in `unit`s (see
/// [`Moments::mean_estimate`]); `bounds` clips the two estimates only.
pub fn welch(
    current: &Moments,
    baseline: &Moments,
    unit: f64,
    bounds: Option<(f64, f64)>,
) -> Comparison {
    let ce = current.mean_estimate(unit, bounds);
    let be = baseline.mean_estimate(unit, bounds);
    if current.count < 2 || baseline.count < 2 || unit.is_nan() || unit <= 0.0 {
        return Comparison::untested(ce, be);
    }
    let (n1, n2) = (current.count as f64, baseline.count as f64);
    let diff = current.mean(unit) - baseline.mean(unit);
    let v1 = current.variance(unit) / n1;
    let v2 = baseline.variance(unit) / n2;
    let se = (v1 + v2).sqrt();
    if se <= 0.0 || !se.is_finite() {
        let df = n1 + n2 - 2.0;
        let p_value = if diff == 0.0 { 1.0 } else { 0.0 };
        return Comparison {
            current: ce,
            baseline: be,
            difference: diff,
            difference_ci_low: diff,
            difference_ci_high: diff,
            p_value,
            test: Some(Test::WelchT),
            degrees_of_freedom: df,
        }
        .sanitised();
    }
    let df_denominator = v1 * v1 / (n1 - 1.0) + v2 * v2 / (n2 - 1.0);
    let df = if df_denominator > 0.0 {
        (v1 + v2).powi(2) / df_denominator
    } else {
        n1 + n2 - 2.0
    };
    let t = diff / se;
    let half = t_critical_95(df) * se;
    Comparison {
        current: ce,
        baseline: be,
        difference: diff,
        difference_ci_low: diff - half,
        difference_ci_high: diff + half,
        p_value: t_two_sided_p(t, df),
        test: Some(Test::WelchT),
        degrees_of_freedom: df,
    }
    .sanitised()
}

/// z-test of the difference of two NPS, in points (−200 to 200).
pub fn nps_difference(current: NpsCounts, baseline: NpsCounts) -> Comparison {
    let ce = current.estimate().score;
    let be = baseline.estimate().score;
    if current.total() <= 0 || baseline.total() <= 0 {
        return Comparison::untested(ce, be);
    }
    let diff = current.fraction() - baseline.fraction();
    let se = (current.variance() + baseline.variance()).sqrt();
    let p_value = if se > 0.0 {
        normal_two_sided_p(diff / se)
    } else if diff == 0.0 {
        1.0
    } else {
        0.0
    };
    let half = Z_975 * (current.adjusted_variance() + baseline.adjusted_variance()).sqrt();
    Comparison {
        current: ce,
        baseline: be,
        difference: 100.0 * diff,
        difference_ci_low: 100.0 * (diff - half),
        difference_ci_high: 100.0 * (diff + half),
        p_value,
        test: Some(Test::NpsDifferenceZ),
        degrees_of_freedom: 0.0,
    }
    .sanitised()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol
    }

    #[test]
    fn newcombe_worked_example() {
        // Newcombe (1998), example (a): 56/70 vs 48/80: difference 0.2,
        // method 10 interval [0.0524, 0.3339].
        let c = two_proportions(Proportion::new(56, 70), Proportion::new(48, 80));
        assert!(close(c.difference, 0.2, 1e-12));
        assert!(
            close(c.difference_ci_low, 0.0524, 5e-5),
            "{}",
            c.difference_ci_low
        );
        assert!(
            close(c.difference_ci_high, 0.3339, 5e-5),
            "{}",
            c.difference_ci_high
        );
        // Pooled z = 0.2 / sqrt(104/150 · 46/150 · (1/70 + 1/80)) = 2.650172
        let pooled: f64 = 104.0 / 150.0;
        let z = 0.2 / (pooled * (1.0 - pooled) * (1.0 / 70.0 + 1.0 / 80.0)).sqrt();
        assert!(close(c.p_value, normal_two_sided_p(z), 1e-15));
        assert!(close(c.p_value, 0.008_045_081_368, 1e-9), "{}", c.p_value);
        assert!(c.significant());
        assert_eq!(c.test, Some(Test::TwoProportionZ));
    }

    #[test]
    fn proportion_degenerate_cases() {
        let c = two_proportions(Proportion::new(0, 0), Proportion::new(3, 10));
        assert_eq!(c.test, None);
        assert_eq!(c.p_value, 1.0);
        assert!(!c.significant());
        assert!(c.current.no_data);
        let all = two_proportions(Proportion::new(10, 10), Proportion::new(20, 20));
        assert_eq!(all.p_value, 1.0);
        assert_eq!(all.difference, 0.0);
        assert!(all.difference_ci_low < 0.0 && all.difference_ci_high > 0.0);
    }

    #[test]
    fn welch_worked_example() {
        // Wikipedia's Welch example 1, values × 10 as integers.
        let a = [
            275, 210, 190, 236, 170, 179, 169, 201, 219, 226, 231, 196, 190, 217, 214,
        ];
        let b = [
            271, 220, 208, 234, 234, 235, 258, 220, 248, 202, 219, 221, 229, 205, 244,
        ];
        let c = welch(
            &Moments::from_values(&a),
            &Moments::from_values(&b),
            10.0,
            None,
        );
        // Reference (mpmath): t = -2.455356, df = 24.98853, p = 0.021378
        let se = (c.difference_ci_high - c.difference_ci_low)
            / 2.0
            / t_critical_95(c.degrees_of_freedom);
        let t = c.difference / se;
        assert!(
            close(c.difference, -2.166_666_666_666_666_7, 1e-9),
            "{}",
            c.difference
        );
        assert!(close(t, -2.455_356_398, 1e-6), "t = {t}");
        assert!(
            close(c.degrees_of_freedom, 24.988_529_29, 1e-6),
            "df = {}",
            c.degrees_of_freedom
        );
        assert!(
            close(c.p_value, 0.021_378_001_46, 1e-9),
            "p = {}",
            c.p_value
        );
        assert!(c.significant());
    }

    #[test]
    fn welch_degenerate_cases() {
        let one = welch(
            &Moments::of(5),
            &Moments::from_values(&[1, 2, 3]),
            1.0,
            None,
        );
        assert_eq!(one.test, None);
        let flat_equal = welch(
            &Moments::from_values(&[4, 4]),
            &Moments::from_values(&[4, 4, 4]),
            1.0,
            None,
        );
        assert_eq!(flat_equal.p_value, 1.0);
        assert_eq!(flat_equal.degrees_of_freedom, 3.0);
        let flat_diff = welch(
            &Moments::from_values(&[4, 4]),
            &Moments::from_values(&[5, 5]),
            1.0,
            None,
        );
        assert_eq!(flat_diff.p_value, 0.0);
        assert_eq!(flat_diff.difference, -1.0);
        assert!(flat_diff.significant());
    }

    #[test]
    fn nps_worked_example() {
        // Current: 60 P, 20 A, 20 D (NPS 40); baseline: 40 P, 30 A, 30 D (NPS 10).
        let cur = NpsCounts {
            promoters: 60,
            passives: 20,
            detractors: 20,
        };
        let base = NpsCounts {
            promoters: 40,
            passives: 30,
            detractors: 30,
        };
        let c = nps_difference(cur, base);
        assert!(close(c.difference, 30.0, 1e-12));
        // var1 = (0.8 − 0.16)/100 = 0.0064, var2 = (0.7 − 0.01)/100 = 0.0069
        let z = 0.3 / (0.0064f64 + 0.0069).sqrt();
        assert!(close(c.p_value, normal_two_sided_p(z), 1e-15));
        assert!(close(z, 2.601_329_908_6, 1e-9), "{z}");
        assert!(c.significant());
        assert!(c.difference_ci_low > 0.0);
        let none = nps_difference(NpsCounts::default(), base);
        assert_eq!(none.test, None);
        let same = nps_difference(
            NpsCounts {
                promoters: 5,
                passives: 0,
                detractors: 0,
            },
            NpsCounts {
                promoters: 9,
                passives: 0,
                detractors: 0,
            },
        );
        assert_eq!(same.p_value, 1.0);
    }

    proptest! {
        #[test]
        fn proportions_never_nan(x1 in 0i64..1000, n1 in 0i64..1000, x2 in 0i64..1000, n2 in 0i64..1000) {
            let c = two_proportions(Proportion::new(x1.min(n1), n1), Proportion::new(x2.min(n2), n2));
            for v in [c.difference, c.difference_ci_low, c.difference_ci_high, c.p_value] {
                prop_assert!(v.is_finite());
            }
            prop_assert!(c.difference_ci_low <= c.difference && c.difference <= c.difference_ci_high);
            prop_assert!((0.0..=1.0).contains(&c.p_value));
        }

        #[test]
        fn welch_never_nan(a in proptest::collection::vec(0i64..=10_000, 0..40), b in proptest::collection::vec(0i64..=10_000, 0..40)) {
            let c = welch(&Moments::from_values(&a), &Moments::from_values(&b), 100.0, Some((0.0, 100.0)));
            for v in [c.difference, c.difference_ci_low, c.difference_ci_high, c.p_value, c.degrees_of_freedom] {
                prop_assert!(v.is_finite());
            }
            prop_assert!((0.0..=1.0).contains(&c.p_value));
            // Symmetry: swapping sides flips the difference, keeps p.
            let r = welch(&Moments::from_values(&b), &Moments::from_values(&a), 100.0, Some((0.0, 100.0)));
            prop_assert!((r.difference + c.difference).abs() < 1e-9);
            prop_assert!((r.p_value - c.p_value).abs() < 1e-9);
        }

        #[test]
        fn nps_never_nan(p in 0i64..300, a in 0i64..300, d in 0i64..300, p2 in 0i64..300, a2 in 0i64..300, d2 in 0i64..300) {
            let c = nps_difference(
                NpsCounts { promoters: p, passives: a, detractors: d },
                NpsCounts { promoters: p2, passives: a2, detractors: d2 },
            );
            for v in [c.difference, c.difference_ci_low, c.difference_ci_high, c.p_value] {
                prop_assert!(v.is_finite());
            }
            prop_assert!(c.difference.abs() <= 200.0);
        }
    }
}
