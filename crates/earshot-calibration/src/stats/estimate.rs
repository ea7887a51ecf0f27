//! [`Estimate`]: a figure with the evidence behind it (the domain twin of
//! `earshot.common.v1.Estimate`). Means carry a 95% Student t interval,
//! proportions a 95% Wilson score interval; nothing here ever yields NaN.

use super::distribution::t_critical_95;

/// z for a two-sided 95% normal interval.
const Z_95: f64 = 1.959_963_984_540_054;

/// A point estimate with its 95% confidence interval and sample size.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    /// The mean or proportion; 0 when there is no data.
    pub value: f64,
    /// Lower bound of the 95% interval (equals `value` when it cannot be formed).
    pub ci_low: f64,
    /// Upper bound of the 95% interval (equals `value` when it cannot be formed).
    pub ci_high: f64,
    /// Observations the figure comes from.
    pub sample_size: u64,
    /// True when the sample is too small for an interval (a mean of one
    /// value): the figure is shown, not ranked.
    pub insufficient_sample: bool,
    /// True when there were no observations: every number is 0.
    pub no_data: bool,
}

impl Estimate {
    /// The estimate of nothing: all zeros, `no_data` set.
    pub const NO_DATA: Estimate = Estimate {
        value: 0.0,
        ci_low: 0.0,
        ci_high: 0.0,
        sample_size: 0,
        insufficient_sample: true,
        no_data: true,
    };

    /// Mean of `values` with a 95% t interval (n - 1 degrees of freedom).
    /// One value: the value, no interval, `insufficient_sample`. None: `NO_DATA`.
    /// Non-finite values are ignored.
    pub fn mean(values: &[f64]) -> Estimate {
        let xs: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
        let n = xs.len();
        if n == 0 {
            return Estimate::NO_DATA;
        }
        let mean = mean_of(&xs);
        if n == 1 {
            return Estimate {
                value: mean,
                ci_low: mean,
                ci_high: mean,
                sample_size: 1,
                insufficient_sample: true,
                no_data: false,
            };
        }
        let sd = sample_sd(&xs);
        let nf = n as f64;
        let half = t_critical_95(nf - 1.0).map_or(0.0, |t| t * sd / nf.sqrt());
        Estimate {
            value: mean,
            ci_low: mean - half,
            ci_high: mean + half,
            sample_size: n as u64,
            insufficient_sample: false,
            no_data: false,
        }
    }

    /// Proportion `successes / trials` with a 95% Wilson score interval.
    /// Zero trials: `NO_DATA`. `successes` above `trials` is clamped.
    pub fn proportion(successes: u64, trials: u64) -> Estimate {
        if trials == 0 {
            return Estimate::NO_DATA;
        }
        let k = successes.min(trials) as f64;
        let n = trials as f64;
        let p = k / n;
        let z2 = Z_95 * Z_95;
        let denom = 1.0 + z2 / n;
        let centre = (p + z2 / (2.0 * n)) / denom;
        let half = Z_95 * (p * (1.0 - p) / n + z2 / (4.0 * n * n)).sqrt() / denom;
        Estimate {
            value: p,
            ci_low: (centre - half).max(0.0),
            ci_high: (centre + half).min(1.0),
            sample_size: trials,
            insufficient_sample: false,
            no_data: false,
        }
    }

    /// Is zero outside the interval, below it (`Some(Greater)`: the whole
    /// interval is above zero) or above it (`Some(Less)`)? `None` when the
    /// interval contains zero or cannot be formed.
    pub fn sign_beyond_ci(&self) -> Option<std::cmp::Ordering> {
        if self.no_data || self.insufficient_sample {
            return None;
        }
        if self.ci_low > 0.0 {
            Some(std::cmp::Ordering::Greater)
        } else if self.ci_high < 0.0 {
            Some(std::cmp::Ordering::Less)
        } else {
            None
        }
    }
}

/// Arithmetic mean; 0 for an empty slice.
pub fn mean_of(xs: &[f64]) -> f64 {
    if xs.is_empty() {
        return 0.0;
    }
    xs.iter().sum::<f64>() / xs.len() as f64
}

/// Sample standard deviation (n - 1); 0 with fewer than two values.
pub fn sample_sd(xs: &[f64]) -> f64 {
    if xs.len() < 2 {
        return 0.0;
    }
    let m = mean_of(xs);
    let ss: f64 = xs.iter().map(|x| (x - m) * (x - m)).sum();
    (ss / (xs.len() as f64 - 1.0)).sqrt()
}

/// Median; 0 for an empty slice. With an even count, the mean of the two
/// middle values. Non-finite values must not be passed (they sort last).
pub fn median_of(xs: &[f64]) -> f64 {
    if xs.is_empty() {
        return 0.0;
    }
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn mean_of_known_sample() {
        // mean 3, sd sqrt(2.5), t(0.975, 4) = 2.7764451051977987.
        let e = Estimate::mean(&[1.0, 2.0, 3.0, 4.0, 5.0]);
        assert_eq!(e.value, 3.0);
        let half = 2.776_445_105_197_798_7 * 2.5_f64.sqrt() / 5.0_f64.sqrt();
        assert!((e.ci_high - 3.0 - half).abs() < 1e-12);
        assert!((3.0 - e.ci_low - half).abs() < 1e-12);
        assert_eq!(e.sample_size, 5);
        assert!(!e.insufficient_sample && !e.no_data);
    }

    #[test]
    fn degenerate_means() {
        assert_eq!(Estimate::mean(&[]), Estimate::NO_DATA);
        let one = Estimate::mean(&[4.5]);
        assert_eq!((one.value, one.ci_low, one.ci_high), (4.5, 4.5, 4.5));
        assert!(one.insufficient_sample);
        let same = Estimate::mean(&[2.0, 2.0, 2.0]);
        assert_eq!((same.ci_low, same.ci_high), (2.0, 2.0));
        assert_eq!(Estimate::mean(&[f64::NAN, 1.0]).sample_size, 1);
    }

    #[test]
    fn wilson_known_values() {
        // 8 of 10: Wilson interval (0.4902, 0.9433).
        let e = Estimate::proportion(8, 10);
        assert!((e.value - 0.8).abs() < 1e-15);
        assert!(
            (e.ci_low - 0.490_162_471_536_641_83).abs() < 1e-9,
            "{}",
            e.ci_low
        );
        assert!(
            (e.ci_high - 0.943_317_848_545_624_7).abs() < 1e-9,
            "{}",
            e.ci_high
        );
        assert_eq!(Estimate::proportion(0, 0), Estimate::NO_DATA);
        let all = Estimate::proportion(5, 5);
        assert_eq!(all.ci_high, 1.0);
        assert_eq!(Estimate::proportion(9, 5).value, 1.0);
    }

    #[test]
    fn medians() {
        assert_eq!(median_of(&[]), 0.0);
        assert_eq!(median_of(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median_of(&[4.0, 1.0, 2.0, 3.0]), 2.5);
    }

    proptest! {
        #[test]
        fn mean_interval_contains_the_mean(xs in proptest::collection::vec(-1e6f64..1e6, 0..40)) {
            let e = Estimate::mean(&xs);
            prop_assert!(e.value.is_finite() && e.ci_low.is_finite() && e.ci_high.is_finite());
            prop_assert!(e.ci_low <= e.value + 1e-9 && e.value <= e.ci_high + 1e-9);
        }

        #[test]
        fn proportion_interval_is_inside_unit_range(k in 0u64..200, n in 0u64..200) {
            let e = Estimate::proportion(k, n);
            prop_assert!(e.ci_low >= 0.0 && e.ci_high <= 1.0);
            prop_assert!(e.ci_low <= e.value + 1e-12 && e.value <= e.ci_high + 1e-12);
        }
    }
}
