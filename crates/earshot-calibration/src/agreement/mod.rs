//! Agreement statistics over a units x raters matrix with missing ratings.
//!
//! Each statistic is a pure function of a [`RatingsMatrix`] and returns an
//! [`Agreement`]: the value, or an [`Undefined`] reason for degenerate input
//! (one rater, no pairable unit, no variation ...), plus the units and raters
//! it actually used. No statistic panics or returns NaN for any matrix.
//!
//! | module | statistic | reference implementation in the fixtures |
//! | --- | --- | --- |
//! | [`krippendorff`] | Krippendorff's alpha, nominal / ordinal / interval / ratio | `krippendorff` (PyPI) |
//! | [`fleiss`] | Fleiss' kappa (Gwet's generalisation for missing data) | `irrCAC`, `statsmodels` |
//! | [`gwet`] | Gwet's AC1 and AC2 (linear, quadratic weights) | `irrCAC` |
//! | [`cohen`] | Cohen's kappa, unweighted / linear / quadratic, per pair | `scikit-learn` |
//! | [`icc`] | ICC(1,1) (2,1) (3,1) (1,k) (2,k) (3,k) with F test and 95% CI | `pingouin` |
//! | [`percent`] | pairwise percent agreement | `irrCAC` (its `pa`) |
//!
//! [`dense`] runs the same statistics straight from a dense `f64` matrix (NaN
//! missing) in one pass, for bulk callers and the benchmark.
//! [`request`] parses and runs a ComputeAgreement request (labels,
//! declared categories, size limits) on top of these.

pub mod categories;
pub mod cohen;
pub mod dense;
pub mod fleiss;
pub mod gwet;
pub mod icc;
pub mod krippendorff;
pub mod matrix;
pub mod percent;
pub mod request;

pub use matrix::RatingsMatrix;

use std::fmt;

/// Stevens' level of measurement: how far apart two different ratings are.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Level {
    /// Unordered categories: equal or not.
    Nominal,
    /// Ordered categories with unknown spacing.
    Ordinal,
    /// Differences are meaningful.
    Interval,
    /// Non-negative, with a true zero.
    Ratio,
}

/// Why a statistic has no value for a given input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Undefined {
    /// Fewer than two raters contributed.
    TooFewRaters,
    /// Fewer units than the statistic needs.
    TooFewUnits,
    /// No unit has two or more ratings.
    NoPairableUnits,
    /// Every rating is the same value: chance agreement is total (0/0).
    NoVariation,
    /// Only one category exists, so chance agreement cannot be formed.
    SingleCategory,
    /// ICC: no unit was rated by every rater.
    NoCompleteCases,
    /// Ratio-level alpha over more distinct values than [`krippendorff::MAX_RATIO_VALUES`].
    TooManyValues,
    /// A zero denominator although the ratings vary.
    ZeroDenominator,
    /// ICC(2,k): the variance estimate in the denominator is negative.
    NegativeVariance,
}

impl fmt::Display for Undefined {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Undefined::TooFewRaters => "fewer than two raters contributed ratings",
            Undefined::TooFewUnits => "too few units for this statistic",
            Undefined::NoPairableUnits => "no unit was rated by two or more raters",
            Undefined::NoVariation => {
                "every rating is the same value, so chance agreement is total and the coefficient is 0/0"
            }
            Undefined::SingleCategory => {
                "only one category exists; declare the possible categories to get a value"
            }
            Undefined::NoCompleteCases => "no unit was rated by every rater (ICC uses complete cases)",
            Undefined::TooManyValues => "too many distinct values for ratio-level alpha",
            Undefined::ZeroDenominator => "the statistic's denominator is zero for this input",
            Undefined::NegativeVariance => {
                "the estimated variance in the denominator is negative: the raters disagree far more than the targets differ"
            }
        })
    }
}

impl std::error::Error for Undefined {}

/// A statistic's outcome and what it was computed from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Agreement {
    /// The coefficient, or why there is none. Always finite when `Ok`.
    pub value: Result<f64, Undefined>,
    /// Units that entered the computation.
    pub units_used: usize,
    /// Raters with at least one rating in those units.
    pub raters_used: usize,
    /// Observed agreement, where the statistic defines one in [0, 1].
    pub observed: Option<f64>,
    /// Chance agreement, where the statistic defines one.
    pub chance: Option<f64>,
}

impl Agreement {
    /// An undefined outcome with the counts that were found.
    pub fn undefined(reason: Undefined, units_used: usize, raters_used: usize) -> Self {
        Agreement {
            value: Err(reason),
            units_used,
            raters_used,
            observed: None,
            chance: None,
        }
    }

    /// A defined outcome; a non-finite value (which the formulas here never
    /// produce for valid input) becomes `ZeroDenominator` rather than NaN.
    pub fn defined(value: f64, units_used: usize, raters_used: usize) -> Self {
        Agreement {
            value: if value.is_finite() {
                Ok(value)
            } else {
                Err(Undefined::ZeroDenominator)
            },
            units_used,
            raters_used,
            observed: None,
            chance: None,
        }
    }

    /// Attaches observed and chance agreement (dropped if not finite).
    pub fn with_agreements(mut self, observed: f64, chance: f64) -> Self {
        self.observed = observed.is_finite().then_some(observed);
        self.chance = chance.is_finite().then_some(chance);
        self
    }

    /// The value, if defined.
    pub fn ok(&self) -> Option<f64> {
        self.value.ok()
    }
}

/// Chance-corrected coefficient (observed - chance) / (1 - chance), undefined
/// when chance agreement is total.
pub(crate) fn chance_corrected(observed: f64, chance: f64) -> Result<f64, Undefined> {
    let denom = 1.0 - chance;
    if denom.is_nan() || denom.abs() <= 1e-15 {
        return Err(Undefined::NoVariation);
    }
    let v = (observed - chance) / denom;
    if v.is_finite() {
        Ok(v)
    } else {
        Err(Undefined::ZeroDenominator)
    }
}
