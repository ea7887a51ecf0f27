//! Fleiss' kappa for any number of raters, with missing ratings handled as in
//! Gwet (2014, ch. 2) and the irrCAC package:
//!
//! * observed agreement p_a: pairwise agreement averaged over the units with
//!   two or more ratings ([`super::percent`]);
//! * category propensities pi_k = (1/n) sum_i r_ik / r_i over the n units with
//!   at least one rating, and chance agreement p_e = sum_k pi_k^2;
//! * kappa = (p_a - p_e) / (1 - p_e).
//!
//! With complete data (every unit rated by the same number of raters) this is
//! exactly Fleiss (1971): the statsmodels `fleiss_kappa` fixtures check it.
//! Degenerate input: fewer than two raters, no pairable unit, or a single
//! category used everywhere (p_e = 1: `NoVariation`).

use super::categories::{NominalPass, nominal_pass, raters_in_units};
use super::{Agreement, RatingsMatrix, Undefined, chance_corrected};

/// Fleiss' kappa of `m` (nominal).
pub fn fleiss_kappa(m: &RatingsMatrix) -> Agreement {
    fleiss_from(&nominal_pass(m), raters_in_units(m, 1))
}

/// Fleiss' kappa from the nominal pass and the raters with any rating.
pub(crate) fn fleiss_from(p: &NominalPass, raters: usize) -> Agreement {
    if raters < 2 {
        return Agreement::undefined(Undefined::TooFewRaters, p.rated_units, raters);
    }
    let Some(pa) = p.observed_agreement() else {
        return Agreement::undefined(Undefined::NoPairableUnits, p.rated_units, raters);
    };
    if p.used_categories() < 2 {
        return Agreement::undefined(Undefined::NoVariation, p.rated_units, raters)
            .with_agreements(pa, 1.0);
    }
    let pe: f64 = p.propensities().iter().map(|x| x * x).sum();
    Agreement {
        value: chance_corrected(pa, pe),
        units_used: p.rated_units,
        raters_used: raters,
        observed: Some(pa),
        chance: Some(pe),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Expands a subjects x categories count table into a ratings matrix
    /// (raters are interchangeable for Fleiss).
    pub(crate) fn from_count_table(table: &[&[u32]]) -> RatingsMatrix {
        let raters = table
            .iter()
            .map(|r| r.iter().sum::<u32>())
            .max()
            .unwrap_or(0) as usize;
        let rows: Vec<Vec<Option<f64>>> = table
            .iter()
            .map(|counts| {
                let mut row: Vec<Option<f64>> = counts
                    .iter()
                    .enumerate()
                    .flat_map(|(k, &c)| std::iter::repeat_n(Some(k as f64 + 1.0), c as usize))
                    .collect();
                row.resize(raters, None);
                row
            })
            .collect();
        RatingsMatrix::from_rows(raters, &rows).unwrap()
    }

    #[test]
    fn reproduces_the_wikipedia_fleiss_example() {
        // Wikipedia, "Fleiss' kappa", worked example: 10 subjects, 14 raters,
        // 5 categories; P-bar = 0.378, P-bar_e = 0.213, kappa = 0.210.
        let table: [&[u32]; 10] = [
            &[0, 0, 0, 0, 14],
            &[0, 2, 6, 4, 2],
            &[0, 0, 3, 5, 6],
            &[0, 3, 9, 2, 0],
            &[2, 2, 8, 1, 1],
            &[7, 7, 0, 0, 0],
            &[3, 2, 6, 3, 0],
            &[2, 5, 3, 2, 2],
            &[6, 5, 2, 1, 0],
            &[0, 2, 2, 3, 7],
        ];
        let a = fleiss_kappa(&from_count_table(&table));
        assert!((a.value.unwrap() - 0.210).abs() < 5e-4, "{:?}", a.value);
        assert!((a.observed.unwrap() - 0.378).abs() < 5e-4);
        assert!((a.chance.unwrap() - 0.213).abs() < 5e-4);
        assert_eq!((a.units_used, a.raters_used), (10, 14));
    }

    #[test]
    fn reproduces_fleiss_1971_diagnoses() {
        // Fleiss (1971): 30 patients, 6 psychiatrists, 5 diagnoses; kappa =
        // 0.430 (R irr::kappam.fleiss: 0.4302445). Rows give each patient's 6
        // diagnoses (the data as shipped with R's irr and statsmodels' tests).
        let diagnoses: [[u8; 6]; 30] = [
            [4, 4, 4, 4, 4, 4],
            [2, 2, 2, 5, 5, 5],
            [2, 3, 3, 3, 3, 5],
            [5, 5, 5, 5, 5, 5],
            [2, 2, 2, 4, 4, 4],
            [1, 1, 3, 3, 3, 3],
            [3, 3, 3, 3, 5, 5],
            [1, 1, 3, 3, 3, 4],
            [1, 1, 4, 4, 4, 4],
            [5, 5, 5, 5, 5, 5],
            [1, 4, 4, 4, 4, 4],
            [1, 2, 4, 4, 4, 4],
            [2, 2, 2, 3, 3, 3],
            [1, 4, 4, 4, 4, 4],
            [2, 2, 4, 4, 4, 5],
            [3, 3, 3, 3, 3, 5],
            [1, 1, 1, 4, 5, 5],
            [1, 1, 1, 1, 1, 2],
            [2, 2, 4, 4, 4, 4],
            [1, 3, 3, 5, 5, 5],
            [5, 5, 5, 5, 5, 5],
            [2, 4, 4, 4, 4, 4],
            [2, 2, 4, 5, 5, 5],
            [1, 1, 4, 4, 4, 4],
            [1, 4, 4, 4, 4, 5],
            [2, 2, 2, 2, 2, 4],
            [1, 1, 1, 1, 5, 5],
            [2, 2, 4, 4, 4, 4],
            [1, 3, 3, 3, 3, 3],
            [5, 5, 5, 5, 5, 5],
        ];
        let rows: Vec<Vec<Option<f64>>> = diagnoses
            .iter()
            .map(|r| r.iter().map(|&d| Some(f64::from(d))).collect())
            .collect();
        let m = RatingsMatrix::from_rows(6, &rows).unwrap();
        let a = fleiss_kappa(&m);
        assert!(
            (a.value.unwrap() - 0.430_244_5).abs() < 1e-7,
            "{:?}",
            a.value
        );
    }

    #[test]
    fn degenerate() {
        let one = RatingsMatrix::from_dense(2, 1, &[Some(1.0), Some(2.0)]).unwrap();
        assert_eq!(fleiss_kappa(&one).value, Err(Undefined::TooFewRaters));
        let apart = RatingsMatrix::from_dense(2, 2, &[Some(1.0), None, None, Some(2.0)]).unwrap();
        assert_eq!(fleiss_kappa(&apart).value, Err(Undefined::NoPairableUnits));
        let same = RatingsMatrix::from_dense(3, 2, &[Some(1.0); 6]).unwrap();
        let a = fleiss_kappa(&same);
        assert_eq!(a.value, Err(Undefined::NoVariation));
        assert_eq!(a.observed, Some(1.0));
        // Perfect agreement with variation: 1.
        let perfect = RatingsMatrix::from_dense(
            2,
            3,
            &[
                Some(1.0),
                Some(1.0),
                Some(1.0),
                Some(2.0),
                Some(2.0),
                Some(2.0),
            ],
        )
        .unwrap();
        assert_eq!(fleiss_kappa(&perfect).value, Ok(1.0));
    }
}
