//! Pairwise percent agreement: within each unit with two or more ratings, the
//! share of ordered rater pairs that gave the same rating,
//! sum_k r_ik (r_ik - 1) / (r_i (r_i - 1)); averaged over those units. This is
//! Fleiss' P-bar and the `pa` of Gwet's coefficients, so all three agree on
//! what "observed agreement" means.

use super::categories::{Categories, UnitCounts, raters_in_units};
use super::{Agreement, RatingsMatrix, Undefined};

/// Pairwise percent agreement of `m`, in [0, 1].
pub fn percent_agreement(m: &RatingsMatrix) -> Agreement {
    let cats = Categories::of(m, &[]);
    let counts = UnitCounts::new(m, &cats);
    let raters = raters_in_units(m, 2);
    if raters_in_units(m, 1) < 2 {
        return Agreement::undefined(Undefined::TooFewRaters, 0, raters);
    }
    match observed_agreement(&counts) {
        Some((pa, units)) => {
            let mut a = Agreement::defined(pa, units, raters);
            a.observed = Some(pa);
            a
        }
        None => Agreement::undefined(Undefined::NoPairableUnits, 0, raters),
    }
}

/// (P-bar, units with 2+ ratings), or `None` when no unit has two ratings.
pub(crate) fn observed_agreement(counts: &UnitCounts) -> Option<(f64, usize)> {
    let mut sum = 0.0;
    let mut units = 0usize;
    for (total, entries) in counts.units() {
        if total < 2 {
            continue;
        }
        let r = f64::from(total);
        let agree: f64 = entries
            .iter()
            .map(|&(_, c)| f64::from(c) * (f64::from(c) - 1.0))
            .sum();
        sum += agree / (r * (r - 1.0));
        units += 1;
    }
    (units > 0).then(|| (sum / units as f64, units))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn worked_example() {
        // Unit 1: 3 of 3 agree (1.0); unit 2: 2 of 3 agree (2 of 6 pairs);
        // unit 3: one rating, not pairable.
        let m = RatingsMatrix::from_dense(
            3,
            3,
            &[
                Some(1.0),
                Some(1.0),
                Some(1.0),
                Some(1.0),
                Some(2.0),
                Some(1.0),
                None,
                Some(3.0),
                None,
            ],
        )
        .unwrap();
        let a = percent_agreement(&m);
        assert!((a.value.unwrap() - (1.0 + 1.0 / 3.0) / 2.0).abs() < 1e-15);
        assert_eq!((a.units_used, a.raters_used), (2, 3));
    }

    #[test]
    fn degenerate() {
        let one = RatingsMatrix::from_dense(2, 1, &[Some(1.0), Some(2.0)]).unwrap();
        assert_eq!(percent_agreement(&one).value, Err(Undefined::TooFewRaters));
        let apart = RatingsMatrix::from_dense(2, 2, &[Some(1.0), None, None, Some(2.0)]).unwrap();
        assert_eq!(
            percent_agreement(&apart).value,
            Err(Undefined::NoPairableUnits)
        );
        let same = RatingsMatrix::from_dense(1, 3, &[Some(4.0); 3]).unwrap();
        assert_eq!(percent_agreement(&same).value, Ok(1.0));
    }
}
