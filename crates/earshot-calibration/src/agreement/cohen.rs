//! Cohen's kappa for a pair of raters over the units both rated: unweighted
//! (Cohen 1960) and weighted with linear or quadratic disagreement weights
//! (Cohen 1968).
//!
//! kappa_w = 1 - D_o / D_e, where D_o is the mean disagreement v(a_u, b_u)
//! over the N units both rated and D_e the mean over all N^2 cross pairs
//! (a_i, b_j), i.e. under independent marginals. v is 0/1 (unweighted),
//! |a - b| (linear) or (a - b)^2 (quadratic), on the rating *values*. For an
//! evenly spaced scale whose categories are all listed this equals the
//! category-index weights scikit-learn uses (the fixtures pass it the full
//! label list); unweighted kappa equals (p_o - p_e) / (1 - p_e).
//!
//! D_e is computed in closed form: sorted merges for unweighted and linear,
//! variances for quadratic, so continuous ratings cost O(N log N), not a
//! V x V confusion matrix.
//! Degenerate input: no unit rated by both (`TooFewUnits`); both raters used
//! one and the same value (`NoVariation`).

use super::{Agreement, RatingsMatrix, Undefined};

/// The disagreement weighting of Cohen's kappa.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CohenWeights {
    /// 0 when equal, 1 otherwise.
    Unweighted,
    /// |a - b|.
    Linear,
    /// (a - b)^2.
    Quadratic,
}

/// Cohen's kappa between raters `a` and `b` of `m`.
pub fn cohen_kappa(m: &RatingsMatrix, a: usize, b: usize, weights: CohenWeights) -> Agreement {
    let col_a = m.column(a);
    let col_b = m.column(b);
    let pairs: Vec<(f64, f64)> = col_a
        .iter()
        .zip(&col_b)
        .filter_map(|(x, y)| Some(((*x)?, (*y)?)))
        .collect();
    cohen_pairs(
        &pairs,
        weights,
        a != b && a < m.rater_count() && b < m.rater_count(),
    )
}

/// Cohen's kappa from the paired ratings of the units both raters rated.
/// `distinct_raters` false (the same rater twice, or an unknown rater) gives
/// `TooFewRaters`.
pub fn cohen_pairs(
    pairs: &[(f64, f64)],
    weights: CohenWeights,
    distinct_raters: bool,
) -> Agreement {
    let units = pairs.len();
    if !distinct_raters {
        return Agreement::undefined(Undefined::TooFewRaters, units, 1);
    }
    if units == 0 {
        return Agreement::undefined(Undefined::TooFewUnits, 0, 2);
    }
    let n = units as f64;
    let mut xs: Vec<f64> = pairs.iter().map(|p| p.0).collect();
    let mut ys: Vec<f64> = pairs.iter().map(|p| p.1).collect();
    xs.sort_by(f64::total_cmp);
    ys.sort_by(f64::total_cmp);
    if xs.first() == xs.last() && ys.first() == ys.last() && xs.first() == ys.first() {
        return Agreement::undefined(Undefined::NoVariation, units, 2).with_agreements(1.0, 1.0);
    }
    let (d_o, d_e) = match weights {
        CohenWeights::Unweighted => {
            let agree = pairs.iter().filter(|(x, y)| x == y).count() as f64;
            let chance = matching_pairs(&xs, &ys) / (n * n);
            (1.0 - agree / n, 1.0 - chance)
        }
        CohenWeights::Linear => {
            let d_o = pairs.iter().map(|(x, y)| (x - y).abs()).sum::<f64>() / n;
            (d_o, cross_abs_differences(&xs, &ys) / (n * n))
        }
        CohenWeights::Quadratic => {
            let d_o = pairs.iter().map(|(x, y)| (x - y) * (x - y)).sum::<f64>() / n;
            // mean (x_i - y_j)^2 = var(x) + var(y) + (mean x - mean y)^2
            // (population variances).
            let mx = xs.iter().sum::<f64>() / n;
            let my = ys.iter().sum::<f64>() / n;
            let vx = xs.iter().map(|x| (x - mx) * (x - mx)).sum::<f64>() / n;
            let vy = ys.iter().map(|y| (y - my) * (y - my)).sum::<f64>() / n;
            (d_o, vx + vy + (mx - my) * (mx - my))
        }
    };
    if d_e.is_nan() || d_e <= 0.0 {
        return Agreement::undefined(Undefined::ZeroDenominator, units, 2);
    }
    let out = Agreement::defined(1.0 - d_o / d_e, units, 2);
    match weights {
        CohenWeights::Unweighted => out.with_agreements(1.0 - d_o, 1.0 - d_e),
        _ => out,
    }
}

/// sum over (i, j) of [x_i == y_j], both ascending.
fn matching_pairs(xs: &[f64], ys: &[f64]) -> f64 {
    let (mut i, mut j) = (0, 0);
    let mut total = 0.0;
    while i < xs.len() && j < ys.len() {
        match xs[i].total_cmp(&ys[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                let v = xs[i];
                let (i0, j0) = (i, j);
                while i < xs.len() && xs[i] == v {
                    i += 1;
                }
                while j < ys.len() && ys[j] == v {
                    j += 1;
                }
                total += ((i - i0) * (j - j0)) as f64;
            }
        }
    }
    total
}

/// sum over (i, j) of |x_i - y_j|, both ascending, by a merge with prefix sums.
fn cross_abs_differences(xs: &[f64], ys: &[f64]) -> f64 {
    let total_y: f64 = ys.iter().sum();
    let mut below_sum = 0.0;
    let mut below = 0usize;
    let mut total = 0.0;
    for &x in xs {
        while below < ys.len() && ys[below] <= x {
            below_sum += ys[below];
            below += 1;
        }
        let above = (ys.len() - below) as f64;
        total += below as f64 * x - below_sum + (total_y - below_sum) - above * x;
    }
    total
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Straight from the definition with a V x V confusion matrix.
    fn brute(pairs: &[(f64, f64)], v: &dyn Fn(f64, f64) -> f64) -> Option<f64> {
        let n = pairs.len() as f64;
        let d_o: f64 = pairs.iter().map(|&(a, b)| v(a, b)).sum::<f64>() / n;
        let d_e: f64 = pairs
            .iter()
            .flat_map(|&(a, _)| pairs.iter().map(move |&(_, b)| v(a, b)))
            .sum::<f64>()
            / (n * n);
        (d_e > 0.0).then(|| 1.0 - d_o / d_e)
    }

    #[test]
    fn textbook_example() {
        // 50 units: yes/yes 20, yes/no 5, no/yes 10, no/no 15 (Wikipedia,
        // "Cohen's kappa"): p_o = 0.7, p_e = 0.5, kappa = 0.4.
        let mut pairs = Vec::new();
        pairs.extend(std::iter::repeat_n((1.0, 1.0), 20));
        pairs.extend(std::iter::repeat_n((1.0, 0.0), 5));
        pairs.extend(std::iter::repeat_n((0.0, 1.0), 10));
        pairs.extend(std::iter::repeat_n((0.0, 0.0), 15));
        let a = cohen_pairs(&pairs, CohenWeights::Unweighted, true);
        assert!((a.value.unwrap() - 0.4).abs() < 1e-12);
        assert!((a.observed.unwrap() - 0.7).abs() < 1e-12);
        assert!((a.chance.unwrap() - 0.5).abs() < 1e-12);
        assert_eq!((a.units_used, a.raters_used), (50, 2));
    }

    #[test]
    fn from_matrix_uses_units_both_rated() {
        let m = RatingsMatrix::from_dense(
            3,
            2,
            &[Some(1.0), Some(1.0), Some(2.0), None, Some(2.0), Some(1.0)],
        )
        .unwrap();
        let a = cohen_kappa(&m, 0, 1, CohenWeights::Unweighted);
        assert_eq!(a.units_used, 2);
        assert_eq!(
            cohen_kappa(&m, 0, 0, CohenWeights::Linear).value,
            Err(Undefined::TooFewRaters)
        );
        assert_eq!(
            cohen_kappa(&m, 0, 7, CohenWeights::Linear).value,
            Err(Undefined::TooFewRaters)
        );
    }

    #[test]
    fn degenerate() {
        assert_eq!(
            cohen_pairs(&[], CohenWeights::Unweighted, true).value,
            Err(Undefined::TooFewUnits)
        );
        let same = [(3.0, 3.0), (3.0, 3.0)];
        for w in [
            CohenWeights::Unweighted,
            CohenWeights::Linear,
            CohenWeights::Quadratic,
        ] {
            assert_eq!(
                cohen_pairs(&same, w, true).value,
                Err(Undefined::NoVariation)
            );
        }
        // One rater constant, the other not: kappa = 0 (no better than chance).
        let a = cohen_pairs(&[(1.0, 1.0), (1.0, 2.0)], CohenWeights::Unweighted, true);
        assert_eq!(a.value, Ok(0.0));
        // Perfect agreement with variation.
        assert_eq!(
            cohen_pairs(&[(1.0, 1.0), (2.0, 2.0)], CohenWeights::Quadratic, true).value,
            Ok(1.0)
        );
    }

    proptest! {
        #[test]
        fn closed_forms_equal_the_confusion_matrix(pairs in proptest::collection::vec((0u8..5, 0u8..5), 1..40)) {
            let pairs: Vec<(f64, f64)> = pairs.into_iter().map(|(a, b)| (f64::from(a), f64::from(b))).collect();
            for (w, v) in [
                (CohenWeights::Unweighted, &(|a: f64, b: f64| if a == b { 0.0 } else { 1.0 }) as &dyn Fn(f64, f64) -> f64),
                (CohenWeights::Linear, &|a: f64, b: f64| (a - b).abs()),
                (CohenWeights::Quadratic, &|a: f64, b: f64| (a - b) * (a - b)),
            ] {
                let got = cohen_pairs(&pairs, w, true).value;
                match (got, brute(&pairs, v)) {
                    (Ok(g), Some(b)) => prop_assert!((g - b).abs() < 1e-9, "{w:?} {g} {b}"),
                    (Err(_), None) => {}
                    (g, b) => prop_assert!(false, "{w:?}: {g:?} vs {b:?}"),
                }
            }
        }

        #[test]
        fn symmetric_in_the_raters(pairs in proptest::collection::vec((0u8..4, 0u8..4), 1..30)) {
            let ab: Vec<(f64, f64)> = pairs.iter().map(|&(a, b)| (f64::from(a), f64::from(b))).collect();
            let ba: Vec<(f64, f64)> = ab.iter().map(|&(a, b)| (b, a)).collect();
            for w in [CohenWeights::Unweighted, CohenWeights::Linear, CohenWeights::Quadratic] {
                match (cohen_pairs(&ab, w, true).value, cohen_pairs(&ba, w, true).value) {
                    (Ok(x), Ok(y)) => prop_assert!((x - y).abs() < 1e-12),
                    (x, y) => prop_assert_eq!(x, y),
                }
            }
        }
    }
}
