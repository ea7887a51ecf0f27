//! Pairwise percent agreement: within each unit with two or more ratings, the
//! share of ordered rater pairs that gave the same rating,
//! sum_k r_ik (r_ik - 1) / (r_i (r_i - 1)); averaged over those units. This is
//! Fleiss' P-bar and the `pa` of Gwet's coefficients, so all three agree on
//! what "observed agreement" means.

use super::categories::{NominalPass, nominal_pass, rater_counts};
use super::{Agreement, RatingsMatrix, Undefined};

/// Pairwise percent agreement of `m`, in [0, 1].
pub fn percent_agreement(m: &RatingsMatrix) -> Agreement {
    let (any, raters) = rater_counts(m);
    if any < 2 {
        return Agreement::undefined(Undefined::TooFewRaters, 0, raters);
    }
    percent_from(&nominal_pass(m), any, raters)
}

/// Percent agreement from the nominal pass, the raters with any rating and
/// the raters with a rating in a pairable unit.
pub(crate) fn percent_from(p: &NominalPass, any: usize, raters: usize) -> Agreement {
    if any < 2 {
        return Agreement::undefined(Undefined::TooFewRaters, 0, raters);
    }
    match p.observed_agreement() {
        Some(pa) => {
            let mut a = Agreement::defined(pa, p.pairable_units, raters);
            a.observed = Some(pa);
            a
        }
        None => Agreement::undefined(Undefined::NoPairableUnits, 0, raters),
    }
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
