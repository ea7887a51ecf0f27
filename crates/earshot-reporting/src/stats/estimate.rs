//! [`Estimate`]: a figure with its evidence, the domain twin of
//! `earshot.common.v1.Estimate`.

/// A point estimate with its 95% interval and sample size. Every constructor
/// keeps the invariants: all three numbers finite, `ci_low <= value <=
/// ci_high`, and when `sample_size == 0` the figure is "no data" with
/// value and bounds 0.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    /// The point estimate, in the metric's unit.
    pub value: f64,
    /// Lower bound of the 95% interval.
    pub ci_low: f64,
    /// Upper bound of the 95% interval.
    pub ci_high: f64,
    /// Observations behind the figure.
    pub sample_size: i64,
    /// Below the tenant's minimum sample: show, never rank or compare.
    pub insufficient_sample: bool,
    /// Nothing to compute from.
    pub no_data: bool,
}

impl Estimate {
    /// The defined "no data" figure: zeros, sample size 0, flagged both
    /// no_data and insufficient.
    pub const NO_DATA: Estimate = Estimate {
        value: 0.0,
        ci_low: 0.0,
        ci_high: 0.0,
        sample_size: 0,
        insufficient_sample: true,
        no_data: true,
    };

    /// A figure with an interval. Non-finite inputs are replaced (value by 0,
    /// bounds by the value) and the bounds are ordered around the value, so
    /// no NaN or inverted interval can ever leave. A sample size of 0 or
    /// less gives [`Estimate::NO_DATA`].
    pub fn new(value: f64, ci_low: f64, ci_high: f64, sample_size: i64) -> Self {
        if sample_size <= 0 {
            return Self::NO_DATA;
        }
        let value = if value.is_finite() { value } else { 0.0 };
        let low = if ci_low.is_finite() {
            ci_low.min(value)
        } else {
            value
        };
        let high = if ci_high.is_finite() {
            ci_high.max(value)
        } else {
            value
        };
        Estimate {
            value,
            ci_low: low,
            ci_high: high,
            sample_size,
            insufficient_sample: false,
            no_data: false,
        }
    }

    /// A count: the value is the count itself, exact (interval = point), and
    /// the sample size is the count. A zero count is no data.
    pub fn count(n: i64) -> Self {
        Self::new(n as f64, n as f64, n as f64, n)
    }

    /// Sets `insufficient_sample` when the sample size is below `minimum`
    /// (no-data figures stay flagged).
    #[must_use]
    pub fn with_minimum(mut self, minimum: i64) -> Self {
        self.insufficient_sample = self.no_data || self.sample_size < minimum;
        self
    }

    /// Clips value and bounds into `[low, high]` (for bounded scales).
    #[must_use]
    pub fn clipped(mut self, low: f64, high: f64) -> Self {
        if self.no_data {
            return self;
        }
        self.value = self.value.clamp(low, high);
        self.ci_low = self.ci_low.clamp(low, high);
        self.ci_high = self.ci_high.clamp(low, high);
        self
    }

    /// Multiplies value and bounds by `factor` (e.g. a share into percent).
    #[must_use]
    pub fn scaled(self, factor: f64) -> Self {
        if self.no_data {
            return self;
        }
        let (a, b) = (self.ci_low * factor, self.ci_high * factor);
        Estimate {
            value: self.value * factor,
            ci_low: a.min(b),
            ci_high: a.max(b),
            ..self
        }
    }

    /// True when the figure may be ranked or compared.
    pub fn is_usable(&self) -> bool {
        !self.no_data && !self.insufficient_sample
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_data_is_zeros() {
        let e = Estimate::new(f64::NAN, 1.0, 2.0, 0);
        assert_eq!(e, Estimate::NO_DATA);
        assert!(e.no_data && e.insufficient_sample);
        assert_eq!(Estimate::count(0), Estimate::NO_DATA);
    }

    #[test]
    fn repairs_bad_numbers() {
        let e = Estimate::new(f64::NAN, f64::NEG_INFINITY, f64::NAN, 3);
        assert_eq!((e.value, e.ci_low, e.ci_high), (0.0, 0.0, 0.0));
        let e = Estimate::new(5.0, 6.0, 4.0, 3);
        assert_eq!((e.ci_low, e.ci_high), (5.0, 5.0));
    }

    #[test]
    fn minimum_flag_and_scaling() {
        let e = Estimate::new(0.5, 0.4, 0.6, 9).with_minimum(10);
        assert!(e.insufficient_sample && !e.is_usable());
        let e = e.with_minimum(9);
        assert!(e.is_usable());
        let s = e.scaled(-100.0);
        assert_eq!((s.value, s.ci_low, s.ci_high), (-50.0, -60.0, -40.0));
        let c = Estimate::new(1.2, 0.9, 1.5, 3).clipped(0.0, 1.0);
        assert_eq!((c.value, c.ci_low, c.ci_high), (1.0, 0.9, 1.0));
        assert_eq!(Estimate::count(7).value, 7.0);
    }
}
