//! Gwet's AC1 (unweighted) and AC2 (weighted) for any number of raters with
//! missing ratings (Gwet 2008; Gwet 2014, ch. 4), as irrCAC computes them:
//!
//! * weights w_kl over the q categories: identity (AC1), linear
//!   1 - |x_k - x_l| / (max - min), or quadratic 1 - (x_k - x_l)^2 / (max - min)^2
//!   (AC2), from the category *values*;
//! * p_a = mean over units with 2+ ratings of
//!   sum_k r_ik (sum_l w_kl r_il - 1) / (r_i (r_i - 1));
//! * pi_k as in Fleiss (units with 1+ ratings);
//!   p_e = T_w / (q (q - 1)) * sum_k pi_k (1 - pi_k), T_w = sum_kl w_kl;
//! * AC = (p_a - p_e) / (1 - p_e).
//!
//! Chance agreement depends on q, the number of *possible* categories, so the
//! caller may declare categories nobody used (a yes/no question has q = 2 even
//! when every answer is "yes": then AC1 = 1, where kappa is 0/0). With q < 2
//! the coefficient is `SingleCategory`. T_w is computed in closed form (O(q)
//! after sorting) so continuous values cost no q x q matrix.

use super::categories::{
    Categories, NominalPass, UnitCounts, nominal_pass, propensities, raters_in_units,
};
use super::{Agreement, RatingsMatrix, Undefined, chance_corrected};

/// The weighting of disagreements between categories.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Weights {
    /// Agreement is equality (AC1).
    Identity,
    /// 1 - |a - b| / (max - min).
    Linear,
    /// 1 - (a - b)^2 / (max - min)^2.
    Quadratic,
}

/// Gwet's AC1 from the nominal pass, the raters with any rating and the
/// number of possible categories q.
pub(crate) fn ac1_from(p: &NominalPass, raters: usize, q: usize) -> Agreement {
    if raters < 2 {
        return Agreement::undefined(Undefined::TooFewRaters, p.rated_units, raters);
    }
    let Some(pa) = p.observed_agreement() else {
        return Agreement::undefined(Undefined::NoPairableUnits, p.rated_units, raters);
    };
    if q < 2 {
        return Agreement::undefined(Undefined::SingleCategory, p.rated_units, raters);
    }
    let qf = q as f64;
    let pe = p.propensities().iter().map(|x| x * (1.0 - x)).sum::<f64>() / (qf - 1.0);
    Agreement {
        value: chance_corrected(pa, pe),
        units_used: p.rated_units,
        raters_used: raters,
        observed: Some(pa),
        chance: Some(pe),
    }
}

/// Gwet's AC1 (`Weights::Identity`) or AC2 of `m`, with the possible
/// categories being those seen plus `declared`.
pub fn gwet(m: &RatingsMatrix, weights: Weights, declared: &[f64]) -> Agreement {
    let cats = Categories::of(m, declared);
    let q = cats.len();
    let raters = raters_in_units(m, 1);
    if weights == Weights::Identity {
        // AC1 needs only the nominal pass (unused declared categories have
        // pi = 0 and change only q).
        return ac1_from(&nominal_pass(m), raters, q);
    }
    let counts = UnitCounts::new(m, &cats);
    let (pi, p) = propensities(&counts, q);
    if raters < 2 {
        return Agreement::undefined(Undefined::TooFewRaters, p.rated_units, raters);
    }
    if p.pairable_units == 0 {
        return Agreement::undefined(Undefined::NoPairableUnits, p.rated_units, raters);
    }
    if q < 2 {
        return Agreement::undefined(Undefined::SingleCategory, p.rated_units, raters);
    }
    let values = unit_scaled(cats.values());
    let w = |k: usize, l: usize| -> f64 {
        if k == l {
            return 1.0;
        }
        let d = (values[k] - values[l]).abs();
        match weights {
            Weights::Identity => 0.0,
            Weights::Linear => 1.0 - d,
            Weights::Quadratic => 1.0 - d * d,
        }
    };
    // Observed agreement, weighted within each unit.
    let mut sum = 0.0;
    for (total, entries) in counts.units() {
        if total < 2 {
            continue;
        }
        let r = f64::from(total);
        let mut s = 0.0;
        for &(k, c) in entries {
            let star: f64 = match weights {
                Weights::Identity => f64::from(c),
                _ => entries
                    .iter()
                    .map(|&(l, c_l)| w(k as usize, l as usize) * f64::from(c_l))
                    .sum(),
            };
            s += f64::from(c) * (star - 1.0);
        }
        sum += s / (r * (r - 1.0));
    }
    let pa = sum / p.pairable_units as f64;
    let qf = q as f64;
    let t_w = match weights {
        Weights::Identity => qf,
        Weights::Linear => qf * qf - sum_abs_differences(&values),
        Weights::Quadratic => qf * qf - sum_sq_differences(&values),
    };
    let pe = t_w / (qf * (qf - 1.0)) * pi.iter().map(|x| x * (1.0 - x)).sum::<f64>();
    Agreement {
        value: chance_corrected(pa, pe),
        units_used: p.rated_units,
        raters_used: raters,
        observed: Some(pa),
        chance: Some(pe),
    }
}

/// The ascending category values mapped onto [0, 1] by (x - min) / (max -
/// min). The weights only use differences over the range, and computing them
/// on the original scale overflows for extreme values (a range or a squared
/// range beyond f64::MAX gave NaN chance agreement); the halves keep a range
/// wider than f64::MAX finite. Distinct values stay distinct (IEEE 754
/// subtraction of distinct finite numbers is never zero).
fn unit_scaled(xs: &[f64]) -> Vec<f64> {
    let (Some(&lo), Some(&hi)) = (xs.first(), xs.last()) else {
        return Vec::new();
    };
    let range = hi - lo;
    if range.is_finite() {
        xs.iter()
            .map(|&x| ((x - lo) / range).clamp(0.0, 1.0))
            .collect()
    } else {
        let half_range = hi / 2.0 - lo / 2.0;
        xs.iter()
            .map(|&x| ((x / 2.0 - lo / 2.0) / half_range).clamp(0.0, 1.0))
            .collect()
    }
}

/// sum over ordered pairs (k, l) of |x_k - x_l|, for ascending `xs`.
fn sum_abs_differences(xs: &[f64]) -> f64 {
    let mut prefix = 0.0;
    let mut total = 0.0;
    for (i, &x) in xs.iter().enumerate() {
        total += i as f64 * x - prefix;
        prefix += x;
    }
    2.0 * total
}

/// sum over ordered pairs (k, l) of (x_k - x_l)^2 = 2 q sum (x - mean)^2.
fn sum_sq_differences(xs: &[f64]) -> f64 {
    let q = xs.len() as f64;
    let mean = xs.iter().sum::<f64>() / q;
    2.0 * q * xs.iter().map(|x| (x - mean) * (x - mean)).sum::<f64>()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn irr_4raters() -> RatingsMatrix {
        RatingsMatrix::from_rows(4, &irr_4raters_rows()).unwrap()
    }

    fn irr_4raters_rows() -> [[Option<f64>; 4]; 12] {
        // irrCAC's `raw_4raters` data set (Gwet 2014, table 2.16): 12 units x 4 raters.
        let n = None;
        [
            [Some(1.), Some(1.), n, Some(1.)],
            [Some(2.), Some(2.), Some(3.), Some(2.)],
            [Some(3.), Some(3.), Some(3.), Some(3.)],
            [Some(3.), Some(3.), Some(3.), Some(3.)],
            [Some(2.), Some(2.), Some(2.), Some(2.)],
            [Some(1.), Some(2.), Some(3.), Some(4.)],
            [Some(4.), Some(4.), Some(4.), Some(4.)],
            [Some(1.), Some(1.), Some(2.), Some(1.)],
            [Some(2.), Some(2.), Some(2.), Some(2.)],
            [n, Some(5.), Some(5.), Some(5.)],
            [n, n, Some(1.), Some(1.)],
            [n, n, Some(3.), n],
        ]
    }

    #[test]
    fn reproduces_gwet_2014_four_raters() {
        // irrCAC docs: AC1 = 0.77544, pa = 0.81818, pe = 0.19032 (5 digits);
        // Fleiss' kappa 0.76117 on the same data.
        let m = irr_4raters();
        let a = gwet(&m, Weights::Identity, &[]);
        assert!((a.value.unwrap() - 0.77544).abs() < 5e-6, "{:?}", a.value);
        assert!((a.observed.unwrap() - 0.81818).abs() < 5e-6);
        assert!((a.chance.unwrap() - 0.19032).abs() < 5e-6);
        assert_eq!((a.units_used, a.raters_used), (12, 4));
        let k = super::super::fleiss::fleiss_kappa(&m);
        assert!((k.value.unwrap() - 0.76117).abs() < 5e-6);
    }

    #[test]
    fn weighted_ac2_is_finite_and_scale_free_at_extreme_values() {
        // Weights use differences over the range only, so an affine change of
        // the values changes nothing; values near f64::MAX used to overflow
        // the squared range into a NaN chance agreement (a fuzz finding).
        let m = irr_4raters();
        for (scale, shift) in [(1e300, 0.0), (5e307, -3.0), (1e-300, 0.0)] {
            let scaled = irr_4raters_rows().map(|row| row.map(|v| v.map(|x| (x + shift) * scale)));
            let big = RatingsMatrix::from_rows(4, &scaled).unwrap();
            for weights in [Weights::Linear, Weights::Quadratic] {
                let a = gwet(&m, weights, &[]);
                let b = gwet(&big, weights, &[]);
                let (x, y) = (a.value.unwrap(), b.value.unwrap());
                assert!((x - y).abs() < 1e-9, "{weights:?} x{scale}: {x} vs {y}");
                assert!(b.chance.is_some_and(f64::is_finite), "{weights:?}: {b:?}");
            }
        }
    }

    #[test]
    fn ac1_stays_meaningful_when_nearly_everything_is_yes() {
        // 20 units x 3 raters, all "yes" (1) but one "no" (0).
        let mut cells = vec![Some(1.0); 60];
        cells[0] = Some(0.0);
        let m = RatingsMatrix::from_dense(20, 3, &cells).unwrap();
        let ac1 = gwet(&m, Weights::Identity, &[0.0, 1.0]).value.unwrap();
        assert!(ac1 > 0.9, "{ac1}");
        let kappa = super::super::fleiss::fleiss_kappa(&m).value.unwrap();
        assert!(kappa < 0.0, "the kappa paradox: {kappa}");
        // Every answer "yes": AC1 = 1 when the two categories are declared,
        // undefined without (kappa: no variation).
        let all_yes = RatingsMatrix::from_dense(5, 3, &[Some(1.0); 15]).unwrap();
        assert_eq!(
            gwet(&all_yes, Weights::Identity, &[0.0, 1.0]).value,
            Ok(1.0)
        );
        assert_eq!(
            gwet(&all_yes, Weights::Identity, &[]).value,
            Err(Undefined::SingleCategory)
        );
    }

    #[test]
    fn degenerate() {
        let one = RatingsMatrix::from_dense(2, 1, &[Some(1.0), Some(2.0)]).unwrap();
        assert_eq!(
            gwet(&one, Weights::Identity, &[]).value,
            Err(Undefined::TooFewRaters)
        );
        let apart = RatingsMatrix::from_dense(2, 2, &[Some(1.0), None, None, Some(2.0)]).unwrap();
        assert_eq!(
            gwet(&apart, Weights::Linear, &[]).value,
            Err(Undefined::NoPairableUnits)
        );
    }

    #[test]
    fn closed_form_weight_sums() {
        let xs = [1.0_f64, 2.0, 4.0, 7.0];
        let brute_abs: f64 = xs
            .iter()
            .flat_map(|a| xs.iter().map(move |b| (a - b).abs()))
            .sum();
        let brute_sq: f64 = xs
            .iter()
            .flat_map(|a| xs.iter().map(move |b| (a - b) * (a - b)))
            .sum();
        assert!((sum_abs_differences(&xs) - brute_abs).abs() < 1e-12);
        assert!((sum_sq_differences(&xs) - brute_sq).abs() < 1e-12);
    }

    proptest! {
        #[test]
        fn never_nan_and_at_most_one(cells in proptest::collection::vec(proptest::option::weighted(0.7, 0u8..4), 2..60), raters in 1usize..6) {
            let units = cells.len() / raters;
            prop_assume!(units > 0);
            let cells: Vec<Option<f64>> = cells[..units * raters].iter().map(|c| c.map(f64::from)).collect();
            let m = RatingsMatrix::from_dense(units, raters, &cells).unwrap();
            for w in [Weights::Identity, Weights::Linear, Weights::Quadratic] {
                if let Ok(v) = gwet(&m, w, &[0.0, 1.0, 2.0, 3.0]).value {
                    prop_assert!(v.is_finite() && v <= 1.0 + 1e-12);
                }
            }
        }
    }
}
