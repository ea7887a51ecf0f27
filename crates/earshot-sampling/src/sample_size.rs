//! Sample size for estimating a proportion, and what it costs.
//!
//! For a proportion `p` estimated within a margin of error `e` at confidence
//! level `c`, with `z` the standard normal quantile of `1 - (1 - c) / 2`:
//!
//! ```text
//! n0 = z² · p · (1 − p) / e²          (infinite population)
//! n  = n0 / (1 + (n0 − 1) / N)        (finite-population correction)
//! ```
//!
//! rounded up at the end (not in between: rounding `n0` first would give 279
//! instead of the textbook 278 for N = 1000). The "statistically significant
//! per agent" target of a plan is this `n` with the agent's period volume as
//! `N`.

use crate::violation::Violations;

/// The confidence level used when none is given.
pub const DEFAULT_CONFIDENCE: f64 = 0.95;
/// The margin of error used when none is given.
pub const DEFAULT_MARGIN: f64 = 0.05;
/// The expected proportion used when none is given (the most conservative).
pub const DEFAULT_PROPORTION: f64 = 0.5;
/// Minutes per evaluation used for costs when none is given.
pub const DEFAULT_MINUTES_PER_EVALUATION: f64 = 15.0;

/// What a sample must estimate: a proportion within a margin at a confidence.
/// Only [`ProportionTarget::parse`] (or the default) makes one, so the
/// formulas below never divide by zero.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProportionTarget {
    confidence: f64,
    margin: f64,
    proportion: f64,
}

impl Default for ProportionTarget {
    fn default() -> Self {
        Self {
            confidence: DEFAULT_CONFIDENCE,
            margin: DEFAULT_MARGIN,
            proportion: DEFAULT_PROPORTION,
        }
    }
}

impl ProportionTarget {
    /// Validates a target; 0 means the default for each input. Field names
    /// are those of `SignificanceTarget` / `CalculateSampleSizeRequest`.
    pub fn parse(confidence: f64, margin: f64, proportion: f64) -> Result<Self, Violations> {
        let pick = |x: f64, default: f64| if x == 0.0 { default } else { x };
        let t = ProportionTarget {
            confidence: pick(confidence, DEFAULT_CONFIDENCE),
            margin: pick(margin, DEFAULT_MARGIN),
            proportion: pick(proportion, DEFAULT_PROPORTION),
        };
        let mut v = Violations::new();
        if !(0.5..=0.9999).contains(&t.confidence) {
            v.add("confidence_level", "must be in [0.5, 0.9999]");
        }
        if !(t.margin > 0.0 && t.margin <= 0.5) {
            v.add("margin_of_error", "must be in (0, 0.5]");
        }
        if !(t.proportion > 0.0 && t.proportion < 1.0) {
            v.add("expected_proportion", "must be in (0, 1)");
        }
        v.into_result(t)
    }

    /// Confidence level in [0.5, 0.9999].
    pub fn confidence(&self) -> f64 {
        self.confidence
    }

    /// Margin of error in (0, 0.5].
    pub fn margin(&self) -> f64 {
        self.margin
    }

    /// Expected proportion in (0, 1).
    pub fn proportion(&self) -> f64 {
        self.proportion
    }

    /// The two-sided standard normal quantile for the confidence level.
    pub fn z(&self) -> f64 {
        inverse_normal_cdf(1.0 - (1.0 - self.confidence) / 2.0)
    }

    /// `n0 = z² p (1 − p) / e²`, unrounded.
    pub fn infinite_population_size(&self) -> f64 {
        let z = self.z();
        z * z * self.proportion * (1.0 - self.proportion) / (self.margin * self.margin)
    }

    /// The corrected size for a population of `volume` (fractional volumes
    /// allowed, for expected volumes), unrounded, never above the volume; 0
    /// for an empty population.
    pub fn size_for_volume(&self, volume: f64) -> f64 {
        if volume.is_nan() || volume <= 0.0 {
            return 0.0;
        }
        let n0 = self.infinite_population_size();
        (n0 / (1.0 + (n0 - 1.0) / volume)).min(volume)
    }

    /// The sample size, rounded up: for an infinite population with `None`,
    /// else with the finite-population correction and never above `N`.
    pub fn size(&self, population: Option<u64>) -> u64 {
        let raw = match population {
            None => self.infinite_population_size(),
            Some(0) => 0.0,
            Some(n) => self.size_for_volume(n as f64),
        };
        let rounded = ceil_count(raw);
        population.map_or(rounded, |n| rounded.min(n))
    }
}

/// Rounds a count up, ignoring floating-point noise below 1e-9.
pub fn ceil_count(x: f64) -> u64 {
    if x.is_nan() || x <= 0.0 {
        return 0;
    }
    let c = (x - 1e-9).ceil();
    if c >= u64::MAX as f64 {
        u64::MAX
    } else {
        c as u64
    }
}

/// The margin of error that a sample of `n` gives for a proportion `p` at
/// `confidence`, with the finite-population correction when `population` is
/// known: `z · sqrt(p (1 − p) / n · (N − n) / (N − 1))`. `None` for `n = 0`.
pub fn margin_of_error(n: u64, population: Option<u64>, target: &ProportionTarget) -> Option<f64> {
    if n == 0 {
        return None;
    }
    let base = target.proportion * (1.0 - target.proportion) / n as f64;
    let fpc = match population {
        None => 1.0,
        Some(big_n) if n >= big_n || big_n <= 1 => 0.0,
        Some(big_n) => (big_n - n) as f64 / (big_n - 1) as f64,
    };
    Some(target.z() * (base * fpc).sqrt())
}

/// What a sample costs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cost {
    /// Evaluations in total.
    pub total_evaluations: u64,
    /// Evaluator hours in total.
    pub evaluator_hours: f64,
}

/// The cost of `per_agent` evaluations for `agents` agents at
/// `minutes_per_evaluation` each (non-finite or negative minutes count as 0).
pub fn cost(per_agent: u64, agents: u64, minutes_per_evaluation: f64) -> Cost {
    let total = per_agent.saturating_mul(agents);
    let minutes = if minutes_per_evaluation.is_finite() && minutes_per_evaluation > 0.0 {
        minutes_per_evaluation
    } else {
        0.0
    };
    Cost {
        total_evaluations: total,
        evaluator_hours: total as f64 * minutes / 60.0,
    }
}

/// The standard normal quantile function (Wichura's algorithm AS 241,
/// PPND16, accurate to about 1e-16). Returns ±infinity at 0 and 1 and 0 for
/// inputs outside [0, 1] or NaN, so no NaN ever leaves it. The coefficients
/// are Wichura's, as published (Applied Statistics 37, 1988), digit for digit.
#[allow(clippy::excessive_precision, clippy::unreadable_literal)]
pub fn inverse_normal_cdf(p: f64) -> f64 {
    if !(0.0..=1.0).contains(&p) {
        return 0.0;
    }
    if p == 0.0 {
        return f64::NEG_INFINITY;
    }
    if p == 1.0 {
        return f64::INFINITY;
    }
    let q = p - 0.5;
    if q.abs() <= 0.425 {
        let r = 0.180625 - q * q;
        return q
            * (((((((r * 2509.0809287301226727 + 33430.575583588128105) * r
                + 67265.770927008700853)
                * r
                + 45921.953931549871457)
                * r
                + 13731.693765509461125)
                * r
                + 1971.5909503065514427)
                * r
                + 133.14166789178437745)
                * r
                + 3.387132872796366608)
            / (((((((r * 5226.495278852545925 + 28729.085735721942674) * r
                + 39307.89580009271061)
                * r
                + 21213.794301586595867)
                * r
                + 5394.1960214247511077)
                * r
                + 687.1870074920579083)
                * r
                + 42.313330701600911252)
                * r
                + 1.0);
    }
    let tail = if q < 0.0 { p } else { 1.0 - p };
    let mut r = (-tail.ln()).sqrt();
    let value = if r <= 5.0 {
        r -= 1.6;
        (((((((r * 7.7454501427834140764e-4 + 0.0227238449892691845833) * r
            + 0.24178072517745061177)
            * r
            + 1.27045825245236838258)
            * r
            + 3.64784832476320460504)
            * r
            + 5.7694972214606914055)
            * r
            + 4.6303378461565452959)
            * r
            + 1.42343711074968357734)
            / (((((((r * 1.05075007164441684324e-9 + 5.475938084995344946e-4) * r
                + 0.0151986665636164571966)
                * r
                + 0.14810397642748007459)
                * r
                + 0.68976733498510000455)
                * r
                + 1.6763848301838038494)
                * r
                + 2.05319162663775882187)
                * r
                + 1.0)
    } else {
        r -= 5.0;
        (((((((r * 2.01033439929228813265e-7 + 2.71155556874348757815e-5) * r
            + 0.0012426609473880784386)
            * r
            + 0.026532189526576123093)
            * r
            + 0.29656057182850489123)
            * r
            + 1.7848265399172913358)
            * r
            + 5.4637849111641143699)
            * r
            + 6.6579046435011037772)
            / (((((((r * 2.04426310338993978564e-15 + 1.4215117583164458887e-7) * r
                + 1.8463183175100546818e-5)
                * r
                + 7.868691311456132591e-4)
                * r
                + 0.0148753612908506148525)
                * r
                + 0.13692988092273580531)
                * r
                + 0.59983220655588793769)
                * r
                + 1.0)
    };
    if q < 0.0 { -value } else { value }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn target(c: f64, e: f64, p: f64) -> ProportionTarget {
        ProportionTarget::parse(c, e, p).unwrap()
    }

    #[test]
    fn quantiles_match_reference_values() {
        // Reference values from R's qnorm, checked against 0.5 * erfc(-z / sqrt 2).
        let table = [
            (0.975, 1.959_963_984_540_054),
            (0.95, 1.644_853_626_951_472_2),
            (0.995, 2.575_829_303_548_900_4),
            (0.9, 1.281_551_565_544_600_4),
            (0.5, 0.0),
            (0.025, -1.959_963_984_540_054),
            (1e-10, -6.361_340_902_404_056),
            (1e-12, -7.034_483_825_301_132),
            (1e-15, -7.941_345_326_170_995),
            (1e-20, -9.262_340_089_798_405),
        ];
        for (p, z) in table {
            let got = inverse_normal_cdf(p);
            assert!((got - z).abs() < 1e-12, "qnorm({p}) = {got}, want {z}");
        }
        assert_eq!(inverse_normal_cdf(0.0), f64::NEG_INFINITY);
        assert_eq!(inverse_normal_cdf(1.0), f64::INFINITY);
        assert_eq!(inverse_normal_cdf(f64::NAN), 0.0);
        assert_eq!(inverse_normal_cdf(2.0), 0.0);
    }

    #[test]
    fn textbook_sample_sizes() {
        // (confidence, margin, p, population, n)
        let table: &[(f64, f64, f64, Option<u64>, u64)] = &[
            (0.95, 0.05, 0.5, None, 385),
            (0.95, 0.05, 0.5, Some(1000), 278),
            (0.95, 0.05, 0.5, Some(100), 80),
            (0.95, 0.05, 0.5, Some(10_000), 370),
            (0.99, 0.05, 0.5, None, 664),
            (0.90, 0.05, 0.5, None, 271),
            (0.95, 0.03, 0.5, None, 1068),
            (0.95, 0.10, 0.5, None, 97),
            (0.95, 0.05, 0.2, None, 246),
            (0.95, 0.05, 0.5, Some(1), 1),
            (0.95, 0.05, 0.5, Some(0), 0),
        ];
        for &(c, e, p, n_pop, want) in table {
            assert_eq!(target(c, e, p).size(n_pop), want, "{c} {e} {p} {n_pop:?}");
        }
        let t = target(0.0, 0.0, 0.0);
        assert_eq!(t, ProportionTarget::default());
        assert!((t.z() - 1.959_963_984_540_054).abs() < 1e-12);
        assert!((t.infinite_population_size() - 384.145_882_069_412_6).abs() < 1e-9);
    }

    #[test]
    fn bad_targets_name_their_fields() {
        let err = ProportionTarget::parse(0.3, 0.6, 1.0).unwrap_err();
        for f in ["confidence_level", "margin_of_error", "expected_proportion"] {
            assert!(err.has_field(f), "{f}");
        }
        assert!(ProportionTarget::parse(f64::NAN, f64::NAN, f64::NAN).is_err());
        assert!(ProportionTarget::parse(1.0, -0.1, -0.5).is_err());
    }

    #[test]
    fn margin_of_error_inverts_the_sample_size() {
        let t = ProportionTarget::default();
        let e = margin_of_error(385, None, &t).unwrap();
        assert!(e <= 0.05 && e > 0.0499, "{e}");
        let e = margin_of_error(278, Some(1000), &t).unwrap();
        assert!(e <= 0.05 && e > 0.0499, "{e}");
        assert_eq!(margin_of_error(0, None, &t), None);
        assert_eq!(margin_of_error(10, Some(10), &t), Some(0.0));
    }

    #[test]
    fn costs() {
        let c = cost(8, 50, 20.0);
        assert_eq!(c.total_evaluations, 400);
        assert!((c.evaluator_hours - 400.0 * 20.0 / 60.0).abs() < 1e-9);
        assert_eq!(cost(8, 50, f64::NAN).evaluator_hours, 0.0);
        assert_eq!(ceil_count(f64::NAN), 0);
        assert_eq!(ceil_count(2.000_000_000_01), 2);
        assert_eq!(ceil_count(2.1), 3);
    }

    proptest! {
        #[test]
        fn corrected_size_is_monotone_and_bounded(
            c in 0.5f64..0.9999, e in 0.001f64..0.5, p in 0.001f64..0.999, n in 1u64..100_000,
        ) {
            let t = target(c, e, p);
            let small = t.size(Some(n));
            let big = t.size(Some(n + 1));
            prop_assert!(small <= n);
            prop_assert!(small <= big);
            prop_assert!(big <= t.size(None));
            let v = t.size_for_volume(n as f64);
            prop_assert!(v.is_finite() && v >= 0.0 && v <= n as f64);
        }
    }
}
