//! [`Moments`]: count, sum and sum of squares of integer observations: the
//! mergeable sufficient statistic of a mean, its standard deviation and its
//! Student-t interval.
//!
//! Observations are integers in a fixed unit (score hundredths, milliseconds)
//! so that adding and subtracting contributions is exact and associative:
//! merging day cells into a year gives bit-for-bit the figure computed from
//! the raw facts. Arithmetic wraps instead of panicking; with the input
//! bounds the facts enforce (a score is at most 10,000 hundredths, a
//! duration at most 7 days), real totals stay many orders of magnitude away
//! from the limits, and wrapping keeps add-then-subtract exact regardless.

use super::estimate::Estimate;
use super::special::t_critical_95;

/// Count, sum and sum of squares of integer observations.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Moments {
    /// Number of observations.
    pub count: i64,
    /// Sum of the observations.
    pub sum: i64,
    /// Sum of their squares (i128: a square of an i64 needs it).
    pub sum_sq: i128,
}

impl Moments {
    /// The moments of a single observation.
    pub fn of(x: i64) -> Self {
        Moments {
            count: 1,
            sum: x,
            sum_sq: i128::from(x).wrapping_mul(i128::from(x)),
        }
    }

    /// The moments of a list of observations.
    pub fn from_values(values: &[i64]) -> Self {
        let mut m = Moments::default();
        for &x in values {
            m.add(&Moments::of(x));
        }
        m
    }

    /// Adds another set of observations.
    pub fn add(&mut self, other: &Moments) {
        self.count = self.count.wrapping_add(other.count);
        self.sum = self.sum.wrapping_add(other.sum);
        self.sum_sq = self.sum_sq.wrapping_add(other.sum_sq);
    }

    /// Removes observations previously added (exact inverse of [`add`]).
    ///
    /// [`add`]: Moments::add
    pub fn subtract(&mut self, other: &Moments) {
        self.count = self.count.wrapping_sub(other.count);
        self.sum = self.sum.wrapping_sub(other.sum);
        self.sum_sq = self.sum_sq.wrapping_sub(other.sum_sq);
    }

    /// True when nothing is counted.
    pub fn is_zero(&self) -> bool {
        *self == Moments::default()
    }

    /// The mean in `unit`s (each observation divided by `unit`, e.g. 1000
    /// for milliseconds to seconds); 0 when empty.
    pub fn mean(&self, unit: f64) -> f64 {
        if self.count <= 0 || unit.is_nan() || unit <= 0.0 {
            return 0.0;
        }
        self.sum as f64 / self.count as f64 / unit
    }

    /// Sample variance in `unit`² (n - 1 denominator); 0 with fewer than two
    /// observations. Computed as (n·Σx² − (Σx)²) / (n(n−1)) in exact integer
    /// arithmetic when it fits (no cancellation), else in floating point.
    pub fn variance(&self, unit: f64) -> f64 {
        if self.count < 2 || unit.is_nan() || unit <= 0.0 {
            return 0.0;
        }
        let n = i128::from(self.count);
        let sum = i128::from(self.sum);
        let exact = n
            .checked_mul(self.sum_sq)
            .and_then(|a| sum.checked_mul(sum).and_then(|b| a.checked_sub(b)));
        let numerator = match exact {
            Some(v) => v.max(0) as f64,
            None => {
                let nf = self.count as f64;
                let mean = self.sum as f64 / nf;
                ((self.sum_sq as f64) - nf * mean * mean).max(0.0) * nf
            }
        };
        let nf = self.count as f64;
        let v = numerator / (nf * (nf - 1.0)) / (unit * unit);
        if v.is_finite() { v.max(0.0) } else { 0.0 }
    }

    /// Sample standard deviation in `unit`s; 0 with fewer than two
    /// observations.
    pub fn standard_deviation(&self, unit: f64) -> f64 {
        self.variance(unit).sqrt()
    }

    /// The mean with its 95% Student-t interval (n − 1 degrees of freedom),
    /// in `unit`s, clipped to `bounds` when the scale is bounded.
    ///
    /// Degenerate cases: no observations → [`Estimate::NO_DATA`]; one
    /// observation → the interval is the point and the estimate is flagged
    /// insufficient (no interval can be computed from one value); zero
    /// variance → a zero-width interval.
    pub fn mean_estimate(&self, unit: f64, bounds: Option<(f64, f64)>) -> Estimate {
        if self.count <= 0 {
            return Estimate::NO_DATA;
        }
        let mean = self.mean(unit);
        let mut e = if self.count == 1 {
            let mut e = Estimate::new(mean, mean, mean, 1);
            e.insufficient_sample = true;
            e
        } else {
            let se = (self.variance(unit) / self.count as f64).sqrt();
            let half = t_critical_95((self.count - 1) as f64) * se;
            Estimate::new(mean, mean - half, mean + half, self.count)
        };
        if let Some((lo, hi)) = bounds {
            let flagged = e.insufficient_sample;
            e = e.clipped(lo, hi);
            e.insufficient_sample = flagged;
        }
        e
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn worked_example_scores() {
        // Scores 70, 80, 90 (in hundredths): mean 80, s = 10,
        // se = 10/√3, t(0.975, 2) = 4.302652729749464
        // half = 24.84137...
        let m = Moments::from_values(&[7000, 8000, 9000]);
        assert_eq!(m.count, 3);
        assert!((m.mean(100.0) - 80.0).abs() < 1e-12);
        assert!((m.standard_deviation(100.0) - 10.0).abs() < 1e-12);
        let e = m.mean_estimate(100.0, Some((0.0, 100.0)));
        let half = 4.302_652_729_749_464 * 10.0 / 3f64.sqrt();
        assert!((e.ci_low - (80.0 - half)).abs() < 1e-9);
        assert!((e.ci_high - 100.0).abs() < 1e-12, "clipped to the scale");
        assert_eq!(e.sample_size, 3);
    }

    #[test]
    fn worked_example_handle_times() {
        // 240 s, 300 s, 360 s, 420 s in ms: mean 330 s, s = 77.4597 s,
        // t(0.975, 3) = 3.182446305284263, half = 123.2554...
        let m = Moments::from_values(&[240_000, 300_000, 360_000, 420_000]);
        let e = m.mean_estimate(1000.0, None);
        assert!((e.value - 330.0).abs() < 1e-12);
        let s = (6000.0_f64).sqrt();
        assert!((m.standard_deviation(1000.0) - s).abs() < 1e-9);
        let half = 3.182_446_305_283_709_6 * s / 2.0;
        assert!((e.ci_high - (330.0 + half)).abs() < 1e-9);
    }

    #[test]
    fn degenerate_cases() {
        assert_eq!(
            Moments::default().mean_estimate(1.0, None),
            Estimate::NO_DATA
        );
        let one = Moments::of(5).mean_estimate(1.0, None);
        assert_eq!((one.value, one.ci_low, one.ci_high), (5.0, 5.0, 5.0));
        assert!(one.insufficient_sample && !one.no_data);
        let same = Moments::from_values(&[3, 3, 3]).mean_estimate(1.0, None);
        assert_eq!((same.ci_low, same.ci_high), (3.0, 3.0));
        assert_eq!(Moments::of(3).variance(1.0), 0.0);
        assert_eq!(Moments::of(3).mean(0.0), 0.0);
    }

    #[test]
    fn huge_values_fall_back_to_float() {
        let m = Moments::from_values(&[i64::MAX / 4, i64::MAX / 4, 0]);
        let v = m.variance(1.0);
        assert!(v.is_finite() && v >= 0.0);
    }

    proptest! {
        #[test]
        fn add_subtract_is_exact(a in proptest::collection::vec(0i64..=604_800_000, 0..50),
                                 b in proptest::collection::vec(0i64..=604_800_000, 0..50)) {
            let ma = Moments::from_values(&a);
            let mb = Moments::from_values(&b);
            let mut m = ma;
            m.add(&mb);
            let mut all = a.clone();
            all.extend(&b);
            prop_assert_eq!(m, Moments::from_values(&all));
            m.subtract(&mb);
            prop_assert_eq!(m, ma);
        }

        #[test]
        fn interval_contains_mean_and_is_finite(v in proptest::collection::vec(0i64..=10_000, 1..200)) {
            let e = Moments::from_values(&v).mean_estimate(100.0, Some((0.0, 100.0)));
            prop_assert!(e.value.is_finite() && e.ci_low.is_finite() && e.ci_high.is_finite());
            prop_assert!(e.ci_low <= e.value && e.value <= e.ci_high);
            prop_assert!(e.ci_low >= 0.0 && e.ci_high <= 100.0);
        }

        #[test]
        fn variance_matches_two_pass(v in proptest::collection::vec(-1_000_000i64..1_000_000, 2..100)) {
            let n = v.len() as f64;
            let mean = v.iter().map(|&x| x as f64).sum::<f64>() / n;
            let two_pass = v.iter().map(|&x| (x as f64 - mean).powi(2)).sum::<f64>() / (n - 1.0);
            let got = Moments::from_values(&v).variance(1.0);
            prop_assert!((got - two_pass).abs() <= 1e-9 * two_pass.max(1.0));
        }
    }
}
