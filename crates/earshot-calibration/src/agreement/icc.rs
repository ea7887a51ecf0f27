//! Intraclass correlations ICC(1,1), (2,1), (3,1) and their k-rater forms
//! (Shrout & Fleiss 1979; McGraw & Wong 1996 call (2,*) ICC(A,*) and (3,*)
//! ICC(C,*)), with their F tests and exact 95% confidence intervals, from the
//! two-way ANOVA of the complete cases (units every rater rated), as pingouin's
//! `intraclass_corr` computes them.
//!
//! With n targets and k raters: MSR (between targets, n - 1 df), MSC (between
//! raters, k - 1), MSE (residual, (n - 1)(k - 1)) and MSW = (SSC + SSE) /
//! (n (k - 1)) (within targets, the one-way model).
//!
//! | form | value | F, df |
//! | --- | --- | --- |
//! | (1,1) | (MSR - MSW) / (MSR + (k - 1) MSW) | MSR / MSW; n - 1, n(k - 1) |
//! | (2,1) | (MSR - MSE) / (MSR + (k - 1) MSE + k (MSC - MSE) / n) | MSR / MSE; n - 1, (n - 1)(k - 1) |
//! | (3,1) | (MSR - MSE) / (MSR + (k - 1) MSE) | as (2,1) |
//! | (1,k) | (MSR - MSW) / MSR | as (1,1) |
//! | (2,k) | (MSR - MSE) / (MSR + (MSC - MSE) / n) | as (2,1) |
//! | (3,k) | (MSR - MSE) / MSR | as (2,1) |
//!
//! The (2,*) interval uses McGraw & Wong's Satterthwaite degrees of freedom,
//! which are not integers, hence our own F quantile ([`crate::stats`]).
//! Degenerate input: fewer than 2 raters, no complete case
//! (`NoCompleteCases`), fewer than 2 complete cases (`TooFewUnits`), every
//! rating equal (`NoVariation`), any other zero denominator
//! (`ZeroDenominator`), and for (2,k) a negative denominator
//! (`NegativeVariance`, where pingouin prints a meaningless ratio). A (2,*)
//! interval whose bounds cross (too few units for the Satterthwaite df) is
//! left unset. An infinite F (a zero error mean square with
//! variation between targets) leaves F unset, gives p = 0 and, for the
//! (1,*) and (3,*) forms, the limiting interval [1, 1].

use super::{Agreement, RatingsMatrix, Undefined};
use crate::stats::distribution::{f_ppf, f_sf};

/// Which intraclass correlation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum IccForm {
    /// One-way random, single rater.
    Icc11,
    /// Two-way random, absolute agreement, single rater.
    Icc21,
    /// Two-way mixed, consistency, single rater.
    Icc31,
    /// One-way random, mean of k raters.
    Icc1k,
    /// Two-way random, absolute agreement, mean of k raters.
    Icc2k,
    /// Two-way mixed, consistency, mean of k raters.
    Icc3k,
}

impl IccForm {
    /// All six, in the order above.
    pub const ALL: [IccForm; 6] = [
        IccForm::Icc11,
        IccForm::Icc21,
        IccForm::Icc31,
        IccForm::Icc1k,
        IccForm::Icc2k,
        IccForm::Icc3k,
    ];
}

/// The F test and 95% interval of one ICC. Fields are `None` where the
/// quantity is infinite or undefined.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct IccInference {
    /// F statistic.
    pub f_value: Option<f64>,
    /// Numerator degrees of freedom.
    pub df1: f64,
    /// Denominator degrees of freedom.
    pub df2: f64,
    /// P(F > f_value) under ICC = 0.
    pub p_value: Option<f64>,
    /// Lower 95% bound.
    pub ci_low: Option<f64>,
    /// Upper 95% bound.
    pub ci_high: Option<f64>,
}

/// One ICC with its inference.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Icc {
    /// Which form.
    pub form: IccForm,
    /// The value and counts (units = complete cases, raters = k).
    pub agreement: Agreement,
    /// F test and interval (default when the ICC is undefined).
    pub inference: IccInference,
}

/// The mean squares of the two-way ANOVA of the complete cases.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MeanSquares {
    /// Complete cases (targets).
    pub n: usize,
    /// Raters.
    pub k: usize,
    /// Between targets.
    pub msr: f64,
    /// Between raters.
    pub msc: f64,
    /// Residual.
    pub mse: f64,
    /// Within targets (one-way).
    pub msw: f64,
}

/// The complete cases of `m` as rows of k ratings, centred on the first
/// rating (ICC is shift-invariant; centring makes equal ratings exactly 0).
fn complete_cases(m: &RatingsMatrix) -> (Vec<f64>, usize) {
    let k = m.rater_count();
    let mut rows = Vec::new();
    let mut n = 0;
    for (vals, _) in m.units_with_raters().filter(|(v, _)| v.len() == k) {
        rows.extend_from_slice(vals);
        n += 1;
    }
    if let Some(&c) = rows.first() {
        for x in &mut rows {
            *x -= c;
        }
    }
    (rows, n)
}

/// The ANOVA mean squares, or why there are none.
pub fn mean_squares(m: &RatingsMatrix) -> Result<MeanSquares, Undefined> {
    let k = m.rater_count();
    if k < 2 {
        return Err(Undefined::TooFewRaters);
    }
    let (rows, n) = complete_cases(m);
    mean_squares_of(&rows, n, k)
}

/// The ANOVA mean squares of `n` complete rows of `k` ratings (row-major,
/// centred on a data value), or why there are none.
pub(crate) fn mean_squares_of(rows: &[f64], n: usize, k: usize) -> Result<MeanSquares, Undefined> {
    if k < 2 {
        return Err(Undefined::TooFewRaters);
    }
    if n == 0 {
        return Err(Undefined::NoCompleteCases);
    }
    if n < 2 {
        return Err(Undefined::TooFewUnits);
    }
    let (nf, kf) = (n as f64, k as f64);
    let grand = rows.iter().sum::<f64>() / (nf * kf);
    let row_means: Vec<f64> = rows.chunks(k).map(|r| r.iter().sum::<f64>() / kf).collect();
    let mut col_means = vec![0.0; k];
    for r in rows.chunks(k) {
        for (c, x) in col_means.iter_mut().zip(r) {
            *c += x;
        }
    }
    for c in &mut col_means {
        *c /= nf;
    }
    let ssr = kf
        * row_means
            .iter()
            .map(|r| (r - grand) * (r - grand))
            .sum::<f64>();
    let ssc = nf
        * col_means
            .iter()
            .map(|c| (c - grand) * (c - grand))
            .sum::<f64>();
    let mut sse = 0.0;
    let mut sst = 0.0;
    for (r, rm) in rows.chunks(k).zip(&row_means) {
        for (x, cm) in r.iter().zip(&col_means) {
            let e = x - rm - cm + grand;
            sse += e * e;
            sst += (x - grand) * (x - grand);
        }
    }
    if sst == 0.0 {
        return Err(Undefined::NoVariation);
    }
    Ok(MeanSquares {
        n,
        k,
        msr: ssr / (nf - 1.0),
        msc: ssc / (kf - 1.0),
        mse: sse / ((nf - 1.0) * (kf - 1.0)),
        msw: (ssc + sse) / (nf * (kf - 1.0)),
    })
}

/// Every ICC form of `m`, in [`IccForm::ALL`] order.
pub fn icc_all(m: &RatingsMatrix) -> Vec<Icc> {
    let ms = mean_squares(m);
    let n = if ms.is_err() { complete_cases(m).1 } else { 0 };
    icc_all_of(ms, n, m.rater_count())
}

/// Every ICC form from the mean squares (or why there are none, with the
/// `n` complete cases of `k` raters found).
pub(crate) fn icc_all_of(ms: Result<MeanSquares, Undefined>, n: usize, k: usize) -> Vec<Icc> {
    match ms {
        Err(reason) => IccForm::ALL
            .iter()
            .map(|&form| Icc {
                form,
                agreement: Agreement::undefined(reason, n, if n > 0 { k } else { 0 }),
                inference: IccInference::default(),
            })
            .collect(),
        Ok(ms) => IccForm::ALL
            .iter()
            .map(|&form| icc_from(&ms, form))
            .collect(),
    }
}

/// One ICC form of `m`.
pub fn icc(m: &RatingsMatrix, form: IccForm) -> Icc {
    match mean_squares(m) {
        Err(reason) => {
            let n = complete_cases(m).1;
            Icc {
                form,
                agreement: Agreement::undefined(reason, n, if n > 0 { m.rater_count() } else { 0 }),
                inference: IccInference::default(),
            }
        }
        Ok(ms) => icc_from(&ms, form),
    }
}

fn ratio(num: f64, den: f64) -> Result<f64, Undefined> {
    // A denominator that is zero up to rounding of the mean squares.
    if den.abs() <= 1e-300 {
        return Err(Undefined::ZeroDenominator);
    }
    let v = num / den;
    if v.is_finite() {
        Ok(v)
    } else {
        Err(Undefined::ZeroDenominator)
    }
}

fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

/// One ICC form from the mean squares.
pub fn icc_from(ms: &MeanSquares, form: IccForm) -> Icc {
    let MeanSquares {
        n,
        k,
        msr,
        msc,
        mse,
        msw,
    } = *ms;
    let (nf, kf) = (n as f64, k as f64);
    let value = match form {
        IccForm::Icc11 => ratio(msr - msw, msr + (kf - 1.0) * msw),
        IccForm::Icc21 => ratio(msr - mse, msr + (kf - 1.0) * mse + kf * (msc - mse) / nf),
        IccForm::Icc31 => ratio(msr - mse, msr + (kf - 1.0) * mse),
        IccForm::Icc1k => ratio(msr - msw, msr),
        // The only form whose denominator can be negative (MSE > n MSR +
        // MSC); pingouin and psych then print the ratio, a value above 1
        // or an arbitrary positive one, which would read as agreement.
        IccForm::Icc2k => {
            let den = msr + (msc - mse) / nf;
            if den < -1e-300 {
                Err(Undefined::NegativeVariance)
            } else {
                ratio(msr - mse, den)
            }
        }
        IccForm::Icc3k => ratio(msr - mse, msr),
    };
    let agreement = Agreement {
        value,
        units_used: n,
        raters_used: k,
        observed: None,
        chance: None,
    };
    let df1 = nf - 1.0;
    let one_way = matches!(form, IccForm::Icc11 | IccForm::Icc1k);
    let (denom_ms, df2) = if one_way {
        (msw, nf * (kf - 1.0))
    } else {
        (mse, df1 * (kf - 1.0))
    };
    let f_value = if denom_ms > 0.0 {
        finite(msr / denom_ms)
    } else {
        None
    };
    let infinite_f = denom_ms == 0.0 && msr > 0.0;
    let p_value = if infinite_f {
        Some(0.0)
    } else {
        f_value.and_then(|f| f_sf(f, df1, df2))
    };
    let (ci_low, ci_high) = match (f_value, value) {
        (Some(f), Ok(icc)) => interval(form, ms, f, icc, df1, df2),
        // F is infinite (no error variance): the interval's limit is [1, 1]
        // where it is a function of F alone; the (2,*) interval also needs
        // MSC / MSE and stays unset.
        (None, Ok(_)) if infinite_f && !matches!(form, IccForm::Icc21 | IccForm::Icc2k) => {
            (Some(1.0), Some(1.0))
        }
        _ => (None, None),
    };
    Icc {
        form,
        agreement,
        inference: IccInference {
            f_value,
            df1,
            df2,
            p_value,
            ci_low,
            ci_high,
        },
    }
}

/// McGraw & Wong (1996) 95% intervals, exactly as pingouin computes them.
fn interval(
    form: IccForm,
    ms: &MeanSquares,
    f: f64,
    icc: f64,
    df1: f64,
    df2: f64,
) -> (Option<f64>, Option<f64>) {
    let MeanSquares {
        n,
        k,
        msr,
        msc,
        mse,
        ..
    } = *ms;
    let (nf, kf) = (n as f64, k as f64);
    let upper = |a: f64, b: f64| f_ppf(0.975, a, b);
    match form {
        IccForm::Icc11 | IccForm::Icc31 | IccForm::Icc1k | IccForm::Icc3k => {
            let (Some(q1), Some(q2)) = (upper(df1, df2), upper(df2, df1)) else {
                return (None, None);
            };
            let fl = f / q1;
            let fu = f * q2;
            if matches!(form, IccForm::Icc11 | IccForm::Icc31) {
                (
                    finite((fl - 1.0) / (fl + (kf - 1.0))),
                    finite((fu - 1.0) / (fu + (kf - 1.0))),
                )
            } else {
                (finite(1.0 - 1.0 / fl), finite(1.0 - 1.0 / fu))
            }
        }
        IccForm::Icc21 | IccForm::Icc2k => {
            // The interval of ICC(2,1); ICC(2,k) is its Spearman-Brown step-up.
            let icc21 = if form == IccForm::Icc21 {
                icc
            } else {
                match ratio(msr - mse, msr + (kf - 1.0) * mse + kf * (msc - mse) / nf) {
                    Ok(v) => v,
                    Err(_) => return (None, None),
                }
            };
            let fj = msc / mse;
            let a = kf * icc21 * fj + nf * (1.0 + (kf - 1.0) * icc21) - kf * icc21;
            let vn = df2 * a * a;
            let b = nf * (1.0 + (kf - 1.0) * icc21) - kf * icc21;
            let vd = df1 * kf * kf * icc21 * icc21 * fj * fj + b * b;
            let v = vn / vd;
            if !(v > 0.0 && v.is_finite()) {
                return (None, None);
            }
            let (Some(f2u), Some(f2l)) = (upper(nf - 1.0, v), upper(v, nf - 1.0)) else {
                return (None, None);
            };
            let c = kf * msc + (kf * nf - kf - nf) * mse;
            let l2 = nf * (msr - f2u * mse) / (f2u * c + nf * msr);
            let u2 = nf * (f2l * msr - mse) / (c + nf * f2l * msr);
            // With very few complete units the Satterthwaite df can be so
            // small that the approximation breaks and the bounds cross
            // (pingouin prints them crossed); no interval is better than a
            // wrong one.
            if l2 > u2 {
                return (None, None);
            }
            if form == IccForm::Icc21 {
                (finite(l2), finite(u2))
            } else {
                // Spearman-Brown step-up x k / (1 + x (k - 1)) has a pole at
                // x = -1/(k - 1); a bound at or below it is unbounded below,
                // so it is left unset (pingouin would return it flipped above
                // the upper bound).
                let step = |x: f64| {
                    let d = 1.0 + x * (kf - 1.0);
                    if d > 0.0 { finite(x * kf / d) } else { None }
                };
                let hi = step(u2);
                (if hi.is_some() { step(l2) } else { None }, hi)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Shrout & Fleiss (1979), table 2: 6 targets x 4 judges.
    fn shrout_fleiss() -> RatingsMatrix {
        let rows: [[f64; 4]; 6] = [
            [9., 2., 5., 8.],
            [6., 1., 3., 2.],
            [8., 4., 6., 8.],
            [7., 1., 2., 6.],
            [10., 5., 6., 9.],
            [6., 2., 4., 7.],
        ];
        let rows: Vec<Vec<Option<f64>>> = rows
            .iter()
            .map(|r| r.iter().map(|&x| Some(x)).collect())
            .collect();
        RatingsMatrix::from_rows(4, &rows).unwrap()
    }

    #[test]
    fn reproduces_shrout_fleiss_table_4() {
        let m = shrout_fleiss();
        let published = [0.17, 0.29, 0.71, 0.44, 0.62, 0.91];
        for (icc, want) in icc_all(&m).iter().zip(published) {
            let v = icc.agreement.value.unwrap();
            assert!((v - want).abs() < 0.005, "{:?}: {v} vs {want}", icc.form);
            assert_eq!(
                (icc.agreement.units_used, icc.agreement.raters_used),
                (6, 4)
            );
        }
        // Shrout & Fleiss's ANOVA: BMS 11.24, WMS 6.26, JMS 32.49, EMS 1.02.
        let ms = mean_squares(&m).unwrap();
        assert!((ms.msr - 11.24).abs() < 0.005);
        assert!((ms.msw - 6.26).abs() < 0.005);
        assert!((ms.msc - 32.49).abs() < 0.005);
        assert!((ms.mse - 1.02).abs() < 0.005);
        let i11 = icc(&m, IccForm::Icc11).inference;
        assert_eq!((i11.df1, i11.df2), (5.0, 18.0));
        let i31 = icc(&m, IccForm::Icc31).inference;
        assert_eq!((i31.df1, i31.df2), (5.0, 15.0));
    }

    #[test]
    fn degenerate() {
        let one = RatingsMatrix::from_dense(3, 1, &[Some(1.0), Some(2.0), Some(3.0)]).unwrap();
        assert_eq!(
            icc(&one, IccForm::Icc21).agreement.value,
            Err(Undefined::TooFewRaters)
        );
        let gaps = RatingsMatrix::from_dense(2, 2, &[Some(1.0), None, None, Some(2.0)]).unwrap();
        assert_eq!(
            icc(&gaps, IccForm::Icc11).agreement.value,
            Err(Undefined::NoCompleteCases)
        );
        let one_unit = RatingsMatrix::from_dense(1, 2, &[Some(1.0), Some(2.0)]).unwrap();
        assert_eq!(
            icc(&one_unit, IccForm::Icc11).agreement.value,
            Err(Undefined::TooFewUnits)
        );
        let same = RatingsMatrix::from_dense(3, 2, &[Some(0.1); 6]).unwrap();
        for i in icc_all(&same) {
            assert_eq!(i.agreement.value, Err(Undefined::NoVariation));
        }
        // Raters identical within each target: ICC = 1, F infinite (unset).
        let perfect = RatingsMatrix::from_dense(
            3,
            2,
            &[
                Some(1.0),
                Some(1.0),
                Some(2.0),
                Some(2.0),
                Some(4.0),
                Some(4.0),
            ],
        )
        .unwrap();
        for i in icc_all(&perfect) {
            assert_eq!(i.agreement.value, Ok(1.0), "{:?}", i.form);
            assert_eq!(i.inference.f_value, None);
            assert_eq!(i.inference.p_value, Some(0.0));
        }
        // Equal target means: ICC(1,1) = -1/(k-1); ICC(1,k) has a zero denominator.
        let flat =
            RatingsMatrix::from_dense(2, 2, &[Some(1.0), Some(2.0), Some(2.0), Some(1.0)]).unwrap();
        assert_eq!(icc(&flat, IccForm::Icc11).agreement.value, Ok(-1.0));
        assert_eq!(
            icc(&flat, IccForm::Icc1k).agreement.value,
            Err(Undefined::ZeroDenominator)
        );
        // One wild rating per target (a fuzz finding): MSE = 1,306.8 > n MSR
        // + MSC = 4 x 153.5 + 356.9, so ICC(2,k)'s denominator is negative and
        // its formula gives 13.73 (pingouin prints that); the other forms
        // keep their values (ICC(2,1) -0.275, ICC(3,k) -7.51).
        // Two complete units (a fuzz finding): the (2,1) bounds crossed,
        // [-0.0, -0.20]; they are now left unset.
        let two = RatingsMatrix::from_dense(
            2,
            5,
            &[
                64.03125,
                69.028125,
                61.2,
                67.59999994970858,
                64.50250244140625,
                73.9,
                85.4,
                70.3,
                76.5,
                6.771653547883034,
            ]
            .map(Some),
        )
        .unwrap();
        for form in [IccForm::Icc21, IccForm::Icc2k] {
            let i = icc(&two, form).inference;
            assert!(
                matches!((i.ci_low, i.ci_high), (Some(l), Some(h)) if l <= h)
                    || (i.ci_low, i.ci_high) == (None, None),
                "{form:?}: {i:?}"
            );
        }
        let wild = RatingsMatrix::from_dense(
            4,
            5,
            &[
                64.0,
                69.028125,
                61.2,
                67.6,
                64.5,
                88.2,
                0.0,
                87.9,
                93.1,
                90.0,
                73.9,
                85.4,
                70.3,
                76.5,
                6.771653547883034,
                94.1,
                96.4,
                90.4,
                2.0419938564300537,
                89.3,
            ]
            .map(Some),
        )
        .unwrap();
        let all = icc_all(&wild);
        let value = |form| all.iter().find(|i| i.form == form).unwrap().agreement.value;
        assert_eq!(value(IccForm::Icc2k), Err(Undefined::NegativeVariance));
        assert!((value(IccForm::Icc21).unwrap() + 0.27503).abs() < 5e-5);
        assert!((value(IccForm::Icc3k).unwrap() + 7.51255).abs() < 5e-5);
    }

    proptest! {
        #[test]
        fn never_nan(cells in proptest::collection::vec(proptest::option::weighted(0.9, -5i8..6), 4..48), k in 2usize..5) {
            let n = cells.len() / k;
            let cells: Vec<Option<f64>> = cells[..n * k].iter().map(|c| c.map(f64::from)).collect();
            let m = RatingsMatrix::from_dense(n, k, &cells).unwrap();
            for i in icc_all(&m) {
                if let Ok(v) = i.agreement.value {
                    prop_assert!(v.is_finite());
                }
                for x in [i.inference.f_value, i.inference.p_value, i.inference.ci_low, i.inference.ci_high].into_iter().flatten() {
                    prop_assert!(x.is_finite());
                }
                if let (Some(lo), Some(hi)) = (i.inference.ci_low, i.inference.ci_high) {
                    prop_assert!(lo <= hi + 1e-12);
                }
            }
        }
    }
}
