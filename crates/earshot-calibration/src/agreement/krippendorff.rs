//! Krippendorff's alpha at the nominal, ordinal, interval and ratio levels,
//! with missing data, in closed form.
//!
//! alpha = 1 - D_o / D_e, from the coincidences of *pairable* values (values
//! in units with two or more ratings; n of them):
//!
//! * D_o sums, unit by unit, the squared differences of every ordered pair of
//!   its m_u values, weighted 1 / (m_u - 1);
//! * D_e sums the squared differences of every ordered pair of all n pairable
//!   values, weighted 1 / (n - 1).
//!
//! Computing those sums by pairs (or through a V x V coincidence matrix, as
//! the `krippendorff` Python package does) costs O(V^2) in the number of
//! distinct values V and fails on continuous totals. Here:
//!
//! * **nominal** needs only per-unit value counts: the disagreeing pairs of a
//!   unit are m_u^2 - sum_c n_uc^2, and of the whole n^2 - sum_c n_c^2;
//! * **interval** needs only per-unit sums of squares: the ordered pairs of a
//!   unit differ by sum (x_i - x_j)^2 = 2 m_u SS_u, and of the whole by 2 n SS;
//! * **ordinal**'s difference between c < k is sum_{g=c..k} n_g - (n_c +
//!   n_k)/2 = |r_k - r_c| with r_c = sum_{g<c} n_g + n_c / 2, so it is the
//!   interval computation on the values' mid-rank positions r;
//! * **ratio** ((c - k)/(c + k))^2 has no such decomposition: it runs over
//!   distinct values, O(V^2), and declines above [`MAX_RATIO_VALUES`].
//!
//! Values are centred on a data value before sums of squares, so identical
//! values give exactly zero (no rounding noise reaches the ratio).
//!
//! Degenerate input: fewer than two raters (`TooFewRaters`), no unit with two
//! ratings (`NoPairableUnits`), a single pairable value (`NoVariation`).
//! Reference: Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability".

use super::categories::rater_counts;
use super::categories::{Categories, NominalPass, SmallCounts, UnitCounts, nominal_pass};
use super::{Agreement, Level, RatingsMatrix, Undefined};

/// Most distinct values ratio-level alpha will pair up (O(V^2) work).
pub const MAX_RATIO_VALUES: usize = 20_000;

/// Krippendorff's alpha of `m` at `level`.
pub fn alpha(m: &RatingsMatrix, level: Level) -> Agreement {
    let units_used = m.units().filter(|v| v.len() >= 2).count();
    let (any_raters, raters_used) = rater_counts(m);
    if any_raters < 2 {
        return Agreement::undefined(Undefined::TooFewRaters, units_used, raters_used);
    }
    if units_used == 0 {
        return Agreement::undefined(Undefined::NoPairableUnits, 0, raters_used);
    }
    // A single pairable value makes every level's expected disagreement
    // exactly zero (integer counts, or sums of exact zeros after centring on
    // a data value): each level reports it as `NoVariation`.
    let result = match level {
        Level::Nominal => nominal(m),
        Level::Interval => interval_values(m),
        Level::Ordinal => match SmallCounts::new(m) {
            Some(counts) => ordinal_small(&counts),
            None => {
                let ranks = mid_ranks(m);
                interval(m, |_, c| ranks.get(c as usize).copied().unwrap_or(0.0))
            }
        },
        Level::Ratio => match SmallCounts::new(m) {
            Some(counts) => ratio_small(&counts, m.distinct_values()),
            None => ratio(m),
        },
    };
    alpha_from(units_used, any_raters, raters_used, result)
}

/// Alpha's outcome from what the level computed, with the counts: units
/// with two or more ratings, raters with any rating, and raters with a
/// rating in such a unit.
pub(crate) fn alpha_from(
    units_used: usize,
    any_raters: usize,
    raters_used: usize,
    result: AlphaResult,
) -> Agreement {
    if any_raters < 2 {
        return Agreement::undefined(Undefined::TooFewRaters, units_used, raters_used);
    }
    if units_used == 0 {
        return Agreement::undefined(Undefined::NoPairableUnits, 0, raters_used);
    }
    match result {
        Ok((a, agreements)) => {
            let out = Agreement::defined(a, units_used, raters_used);
            match agreements {
                Some((observed, chance)) => out.with_agreements(observed, chance),
                None => out,
            }
        }
        Err(reason) => Agreement::undefined(reason, units_used, raters_used),
    }
}

/// A level's value with (observed, chance) agreement where defined, or why
/// there is none.
pub(crate) type AlphaResult = Result<(f64, Option<(f64, f64)>), Undefined>;

/// Nominal: per-unit value counts, from the shared nominal pass.
fn nominal(m: &RatingsMatrix) -> AlphaResult {
    nominal_of(&nominal_pass(m))
}

/// Nominal alpha from the nominal pass.
pub(crate) fn nominal_of(p: &NominalPass) -> AlphaResult {
    let n = p.pairable_values;
    let d_o = p.alpha_disagreement;
    let d_e = n * n - p.pairable_counts.iter().map(|c| c * c).sum::<f64>();
    if d_e.is_nan() || d_e <= 0.0 {
        return Err(Undefined::NoVariation);
    }
    let a = 1.0 - (n - 1.0) * d_o / d_e;
    let observed = 1.0 - d_o / n;
    let chance = 1.0 - d_e / (n * (n - 1.0));
    Ok((a, Some((observed, chance))))
}

/// Interval on `f(value, code)`, in one sweep: per unit, the mean and the
/// sum of squares around it (two passes over the unit's values, which sit in
/// cache); the total sum of squares then follows from the decomposition
/// SS = sum_u SS_u + sum_u m_u (mean_u - grand)^2, with no second sweep.
fn interval(m: &RatingsMatrix, f: impl Fn(f64, u32) -> f64) -> AlphaResult {
    let pairable = || m.units().zip(m.units_codes()).filter(|(v, _)| v.len() >= 2);
    let centre = pairable()
        .next()
        .and_then(|(v, c)| Some(f(*v.first()?, *c.first()?)))
        .unwrap_or(0.0);
    let g = |x: f64, c: u32| f(x, c) - centre;
    let mut n = 0.0_f64;
    let mut total = 0.0_f64;
    let mut within = 0.0_f64;
    let mut ss_within = 0.0_f64;
    let mut unit_means: Vec<(f64, f64)> = Vec::with_capacity(m.unit_count());
    for (vals, codes) in pairable() {
        let m_u = vals.len() as f64;
        let sum: f64 = vals.iter().zip(codes).map(|(&x, &c)| g(x, c)).sum();
        let mean = sum / m_u;
        let ss: f64 = vals
            .iter()
            .zip(codes)
            .map(|(&x, &c)| {
                let d = g(x, c) - mean;
                d * d
            })
            .sum();
        within += m_u * ss / (m_u - 1.0);
        ss_within += ss;
        n += m_u;
        total += sum;
        unit_means.push((m_u, mean));
    }
    let grand = total / n;
    let between: f64 = unit_means
        .iter()
        .map(|&(m_u, mean)| m_u * (mean - grand) * (mean - grand))
        .sum();
    let ss_total = ss_within + between;
    if ss_total.is_nan() || ss_total <= 0.0 {
        return Err(Undefined::NoVariation);
    }
    Ok((1.0 - (n - 1.0) / n * within / ss_total, None))
}

/// Interval on the values themselves: [`interval`] without the codes.
fn interval_values(m: &RatingsMatrix) -> AlphaResult {
    let centre = m
        .units()
        .find(|v| v.len() >= 2)
        .and_then(|v| v.first().copied())
        .unwrap_or(0.0);
    let (mut n, mut total, mut within, mut ss_within) = (0.0_f64, 0.0_f64, 0.0_f64, 0.0_f64);
    let mut unit_means: Vec<(f64, f64)> = Vec::with_capacity(m.unit_count());
    for vals in m.units().filter(|v| v.len() >= 2) {
        let m_u = vals.len() as f64;
        let sum: f64 = vals.iter().map(|&x| x - centre).sum();
        let mean = sum / m_u;
        let ss: f64 = vals
            .iter()
            .map(|&x| (x - centre - mean) * (x - centre - mean))
            .sum();
        within += m_u * ss / (m_u - 1.0);
        ss_within += ss;
        n += m_u;
        total += sum;
        unit_means.push((m_u, mean));
    }
    let grand = total / n;
    let between: f64 = unit_means
        .iter()
        .map(|&(m_u, mean)| m_u * (mean - grand) * (mean - grand))
        .sum();
    let ss_total = ss_within + between;
    if ss_total.is_nan() || ss_total <= 0.0 {
        return Err(Undefined::NoVariation);
    }
    Ok((1.0 - (n - 1.0) / n * within / ss_total, None))
}

/// Mid-rank position r_c = sum_{g<c} n_g + n_c / 2 of each code, over the
/// pairable values.
fn mid_ranks(m: &RatingsMatrix) -> Vec<f64> {
    let mut n_c = vec![0.0_f64; m.distinct_values().len()];
    for codes in m.units_codes().filter(|c| c.len() >= 2) {
        for &c in codes {
            if let Some(slot) = n_c.get_mut(c as usize) {
                *slot += 1.0;
            }
        }
    }
    let mut below = 0.0;
    n_c.iter()
        .map(|&n| {
            let r = below + n / 2.0;
            below += n;
            r
        })
        .collect()
}

/// Ordinal from per-unit counts of few categories: each unit's mean and sum
/// of squares of mid-ranks follow from (rank, count) pairs.
pub(crate) fn ordinal_small(sc: &SmallCounts) -> AlphaResult {
    let q = sc.q;
    let mut n_c = vec![0.0_f64; q];
    for (total, counts) in sc.units() {
        if total >= 2 {
            for (slot, &c) in n_c.iter_mut().zip(counts) {
                *slot += f64::from(c);
            }
        }
    }
    if n_c.iter().filter(|&&c| c > 0.0).count() < 2 {
        return Err(Undefined::NoVariation);
    }
    let mut below = 0.0;
    let ranks: Vec<f64> = n_c
        .iter()
        .map(|&n| {
            let r = below + n / 2.0;
            below += n;
            r
        })
        .collect();
    positions_small(sc, &ranks)
}

/// Interval from per-unit counts of few categories whose values are
/// `values` (code order), centred on the smallest.
pub(crate) fn interval_small(sc: &SmallCounts, values: &[f64]) -> AlphaResult {
    let c = values.first().copied().unwrap_or(0.0);
    let positions: Vec<f64> = values.iter().map(|v| v - c).collect();
    positions_small(sc, &positions)
}

/// The interval computation over codes placed at `positions`.
fn positions_small(sc: &SmallCounts, positions: &[f64]) -> AlphaResult {
    let (mut n, mut total, mut within, mut ss_within) = (0.0_f64, 0.0_f64, 0.0_f64, 0.0_f64);
    let mut unit_means = Vec::with_capacity(sc.totals.len());
    for (m_u, counts) in sc.units() {
        if m_u < 2 {
            continue;
        }
        let m_u = f64::from(m_u);
        let sum: f64 = counts
            .iter()
            .zip(positions)
            .map(|(&c, r)| f64::from(c) * r)
            .sum();
        let mean = sum / m_u;
        let ss: f64 = counts
            .iter()
            .zip(positions)
            .map(|(&c, r)| f64::from(c) * (r - mean) * (r - mean))
            .sum();
        within += m_u * ss / (m_u - 1.0);
        ss_within += ss;
        n += m_u;
        total += sum;
        unit_means.push((m_u, mean));
    }
    finish_interval(n, total, within, ss_within, &unit_means)
}

/// alpha = 1 - (n - 1)/n x within / SS_total, with SS_total = SS_within +
/// sum_u m_u (mean_u - grand)^2.
pub(crate) fn finish_interval(
    n: f64,
    total: f64,
    within: f64,
    ss_within: f64,
    unit_means: &[(f64, f64)],
) -> AlphaResult {
    let grand = total / n;
    let between: f64 = unit_means
        .iter()
        .map(|&(m_u, mean)| m_u * (mean - grand) * (mean - grand))
        .sum();
    let ss_total = ss_within + between;
    if ss_total.is_nan() || ss_total <= 0.0 {
        return Err(Undefined::NoVariation);
    }
    Ok((1.0 - (n - 1.0) / n * within / ss_total, None))
}

/// Ratio from per-unit counts of few categories.
pub(crate) fn ratio_small(sc: &SmallCounts, values: &[f64]) -> AlphaResult {
    let q = sc.q;
    let mut delta = vec![0.0_f64; q * q];
    for (k, &x) in values.iter().enumerate().take(q) {
        for (l, &y) in values.iter().enumerate().take(q) {
            if let Some(d) = delta.get_mut(k * q + l) {
                *d = ratio_delta(x, y);
            }
        }
    }
    let d = |k: usize, l: usize| delta.get(k * q + l).copied().unwrap_or(0.0);
    let mut n_c = vec![0.0_f64; q];
    let (mut d_o, mut n) = (0.0, 0.0);
    for (total, counts) in sc.units() {
        if total < 2 {
            continue;
        }
        let mut s = 0.0;
        for (k, (&c_k, slot)) in counts.iter().zip(n_c.iter_mut()).enumerate() {
            if c_k == 0 {
                continue;
            }
            let c_k = f64::from(c_k);
            *slot += c_k;
            for (l, &c_l) in counts.iter().enumerate().skip(k + 1) {
                s += 2.0 * c_k * f64::from(c_l) * d(k, l);
            }
        }
        d_o += s / (f64::from(total) - 1.0);
        n += f64::from(total);
    }
    let mut d_e = 0.0;
    for (k, &n_k) in n_c.iter().enumerate() {
        for (l, &n_l) in n_c.iter().enumerate().skip(k + 1) {
            d_e += 2.0 * n_k * n_l * d(k, l);
        }
    }
    if d_e.is_nan() || d_e <= 0.0 {
        return Err(Undefined::NoVariation);
    }
    Ok((1.0 - (n - 1.0) * d_o / d_e, None))
}

fn ratio_delta(c: f64, k: f64) -> f64 {
    let s = c + k;
    if s == 0.0 {
        0.0
    } else {
        let d = (c - k) / s;
        d * d
    }
}

/// Ratio: pairs of distinct values, within units and over the whole.
fn ratio(m: &RatingsMatrix) -> AlphaResult {
    let cats = Categories::of(m, &[]);
    let values = cats.values();
    let counts = UnitCounts::new(m, &cats);
    let mut n_c = vec![0.0_f64; cats.len()];
    let mut d_o = 0.0;
    let mut n = 0.0;
    for (total, entries) in counts.units() {
        if total < 2 {
            continue;
        }
        let mut s = 0.0;
        for (i, &(c, n_uc)) in entries.iter().enumerate() {
            if let Some(slot) = n_c.get_mut(c as usize) {
                *slot += f64::from(n_uc);
            }
            for &(k, n_uk) in &entries[i + 1..] {
                if let (Some(&x), Some(&y)) = (values.get(c as usize), values.get(k as usize)) {
                    s += 2.0 * f64::from(n_uc) * f64::from(n_uk) * ratio_delta(x, y);
                }
            }
        }
        d_o += s / (f64::from(total) - 1.0);
        n += f64::from(total);
    }
    let distinct: Vec<(f64, f64)> = values
        .iter()
        .zip(&n_c)
        .filter(|(_, c)| **c > 0.0)
        .map(|(&v, &c)| (v, c))
        .collect();
    if distinct.len() > MAX_RATIO_VALUES {
        return Err(Undefined::TooManyValues);
    }
    let mut d_e = 0.0;
    for (i, &(c, n_c)) in distinct.iter().enumerate() {
        for &(k, n_k) in &distinct[i + 1..] {
            d_e += 2.0 * n_c * n_k * ratio_delta(c, k);
        }
    }
    if d_e.is_nan() || d_e <= 0.0 {
        return Err(Undefined::NoVariation);
    }
    Ok((1.0 - (n - 1.0) * d_o / d_e, None))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability",
    /// section C: 4 coders (rows) x 12 units, missing cells as None.
    pub(crate) fn krippendorff_2011() -> RatingsMatrix {
        let n = None;
        let coders: [[Option<f64>; 12]; 4] = [
            [
                Some(1.),
                Some(2.),
                Some(3.),
                Some(3.),
                Some(2.),
                Some(1.),
                Some(4.),
                Some(1.),
                Some(2.),
                n,
                n,
                n,
            ],
            [
                Some(1.),
                Some(2.),
                Some(3.),
                Some(3.),
                Some(2.),
                Some(2.),
                Some(4.),
                Some(1.),
                Some(2.),
                Some(5.),
                n,
                Some(3.),
            ],
            [
                n,
                Some(3.),
                Some(3.),
                Some(3.),
                Some(2.),
                Some(3.),
                Some(4.),
                Some(2.),
                Some(2.),
                Some(5.),
                Some(1.),
                n,
            ],
            [
                Some(1.),
                Some(2.),
                Some(3.),
                Some(3.),
                Some(2.),
                Some(4.),
                Some(4.),
                Some(1.),
                Some(2.),
                Some(5.),
                Some(1.),
                n,
            ],
        ];
        let rows: Vec<Vec<Option<f64>>> = (0..12)
            .map(|u| coders.iter().map(|c| c[u]).collect())
            .collect();
        RatingsMatrix::from_rows(4, &rows).unwrap()
    }

    #[test]
    fn reproduces_krippendorff_2011_at_every_level() {
        let m = krippendorff_2011();
        // Published to 3 decimals; the full-precision values are those of the
        // `krippendorff` package on the same data.
        for (level, published, exact) in [
            (Level::Nominal, 0.743, 0.743_421_052_631_579),
            (Level::Ordinal, 0.815, 0.815_387_503_754_881_4),
            (Level::Interval, 0.849, 0.849_107_142_857_142_8),
            (Level::Ratio, 0.797, 0.797_402_774_711_612_1),
        ] {
            let a = alpha(&m, level);
            let v = a.value.unwrap();
            assert!((v - published).abs() < 5e-4, "{level:?}: {v}");
            assert!((v - exact).abs() < 1e-12, "{level:?}: {v} vs {exact}");
            // Unit 12 has one value: 11 pairable units, 4 coders.
            assert_eq!((a.units_used, a.raters_used), (11, 4));
        }
    }

    #[test]
    fn degenerate_inputs_are_defined() {
        let one_rater =
            RatingsMatrix::from_dense(3, 1, &[Some(1.0), Some(2.0), Some(3.0)]).unwrap();
        assert_eq!(
            alpha(&one_rater, Level::Nominal).value,
            Err(Undefined::TooFewRaters)
        );
        let no_pairs =
            RatingsMatrix::from_dense(2, 2, &[Some(1.0), None, None, Some(2.0)]).unwrap();
        assert_eq!(
            alpha(&no_pairs, Level::Interval).value,
            Err(Undefined::NoPairableUnits)
        );
        let same = RatingsMatrix::from_dense(2, 2, &[Some(0.1); 4]).unwrap();
        for level in [
            Level::Nominal,
            Level::Ordinal,
            Level::Interval,
            Level::Ratio,
        ] {
            assert_eq!(alpha(&same, level).value, Err(Undefined::NoVariation));
        }
        // One unit, two raters who disagree: alpha is defined (and = 0 - 1 ...).
        let one_unit = RatingsMatrix::from_dense(1, 2, &[Some(1.0), Some(2.0)]).unwrap();
        assert!(alpha(&one_unit, Level::Interval).value.is_ok());
        // All raters identical within units, variation across: perfect.
        let perfect = RatingsMatrix::from_dense(
            3,
            2,
            &[
                Some(1.0),
                Some(1.0),
                Some(2.0),
                Some(2.0),
                Some(7.0),
                Some(7.0),
            ],
        )
        .unwrap();
        for level in [
            Level::Nominal,
            Level::Ordinal,
            Level::Interval,
            Level::Ratio,
        ] {
            assert_eq!(alpha(&perfect, level).value, Ok(1.0));
        }
        let wide = RatingsMatrix::from_dense(
            MAX_RATIO_VALUES + 1,
            2,
            &(0..2 * (MAX_RATIO_VALUES + 1))
                .map(|i| Some(i as f64))
                .collect::<Vec<_>>(),
        )
        .unwrap();
        assert_eq!(
            alpha(&wide, Level::Ratio).value,
            Err(Undefined::TooManyValues)
        );
    }

    /// Brute force over ordered pairs, straight from the definition, for any
    /// difference function.
    fn brute(m: &RatingsMatrix, delta: &dyn Fn(f64, f64) -> f64) -> Option<f64> {
        let units: Vec<&[f64]> = m.units().filter(|u| u.len() >= 2).collect();
        let all: Vec<f64> = units.iter().flat_map(|u| u.iter().copied()).collect();
        let n = all.len() as f64;
        let mut d_o = 0.0;
        for u in &units {
            let mut s = 0.0;
            for (i, &a) in u.iter().enumerate() {
                for (j, &b) in u.iter().enumerate() {
                    if i != j {
                        s += delta(a, b);
                    }
                }
            }
            d_o += s / (u.len() as f64 - 1.0);
        }
        let mut d_e = 0.0;
        for (i, &a) in all.iter().enumerate() {
            for (j, &b) in all.iter().enumerate() {
                if i != j {
                    d_e += delta(a, b);
                }
            }
        }
        (d_e > 0.0).then(|| 1.0 - (n - 1.0) * d_o / d_e)
    }

    fn matrix_strategy() -> impl Strategy<Value = RatingsMatrix> {
        (1usize..6, 1usize..9).prop_flat_map(|(raters, units)| {
            proptest::collection::vec(proptest::option::weighted(0.75, 0u8..6), raters * units)
                .prop_map(move |cells| {
                    let cells: Vec<Option<f64>> =
                        cells.into_iter().map(|c| c.map(f64::from)).collect();
                    RatingsMatrix::from_dense(units, raters, &cells).unwrap()
                })
        })
    }

    proptest! {
        #[test]
        fn closed_forms_equal_the_pairwise_definition(m in matrix_strategy()) {
            let nominal = brute(&m, &|a, b| if a == b { 0.0 } else { 1.0 });
            let interval = brute(&m, &|a, b| (a - b) * (a - b));
            let ratio = brute(&m, &|a, b| ratio_delta(a, b));
            for (level, want) in [(Level::Nominal, nominal), (Level::Interval, interval), (Level::Ratio, ratio)] {
                let got = alpha(&m, level);
                match (got.value, want) {
                    (Ok(g), Some(w)) => prop_assert!((g - w).abs() < 1e-9, "{level:?} {g} {w}"),
                    (Err(_), None) => {}
                    (Err(Undefined::TooFewRaters), Some(_)) => {}
                    (g, w) => prop_assert!(false, "{level:?}: got {g:?} want {w:?}"),
                }
            }
        }

        #[test]
        fn never_nan_and_at_most_one(m in matrix_strategy()) {
            for level in [Level::Nominal, Level::Ordinal, Level::Interval, Level::Ratio] {
                let a = alpha(&m, level);
                if let Ok(v) = a.value {
                    prop_assert!(v.is_finite());
                    prop_assert!(v <= 1.0 + 1e-12);
                }
                prop_assert!(a.raters_used <= m.rater_count());
                prop_assert!(a.units_used <= m.unit_count());
            }
        }

        #[test]
        fn invariant_under_shift(m in matrix_strategy(), shift in -50i32..50) {
            let shifted = m.map_values(|x| x + f64::from(shift));
            for level in [Level::Nominal, Level::Ordinal, Level::Interval] {
                let a = alpha(&m, level).value;
                let b = alpha(&shifted, level).value;
                match (a, b) {
                    (Ok(a), Ok(b)) => prop_assert!((a - b).abs() < 1e-9),
                    (a, b) => prop_assert_eq!(a, b),
                }
            }
        }
    }
}
