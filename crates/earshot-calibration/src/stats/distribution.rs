//! The F and Student t distributions, as far as calibration needs them: the F
//! survival function (ICC p-values), F quantiles with non-integer degrees of
//! freedom (ICC confidence intervals, McGraw & Wong's Satterthwaite df) and t
//! quantiles (confidence intervals of means and slopes).
//!
//! Every function returns `None` outside its domain (non-positive or
//! non-finite degrees of freedom, probabilities outside (0, 1)).

use super::special::{beta_inc, beta_inc_inv, beta_inc_inv_upper};

fn valid_df(df: f64) -> bool {
    df > 0.0 && df.is_finite()
}

/// P(F > f) for F ~ F(df1, df2).
pub fn f_sf(f: f64, df1: f64, df2: f64) -> Option<f64> {
    if !valid_df(df1) || !valid_df(df2) || f.is_nan() {
        return None;
    }
    if f <= 0.0 {
        return Some(1.0);
    }
    if f == f64::INFINITY {
        return Some(0.0);
    }
    // P(F > f) = I_{df2 / (df2 + df1 f)}(df2/2, df1/2).
    let x = df2 / (df2 + df1 * f);
    beta_inc(df2 / 2.0, df1 / 2.0, x).map(|(i, _)| i)
}

/// The p-quantile of F(df1, df2), 0 < p < 1.
pub fn f_ppf(p: f64, df1: f64, df2: f64) -> Option<f64> {
    if !(valid_df(df1) && valid_df(df2) && p > 0.0 && p < 1.0) {
        return None;
    }
    let (a, b) = (df1 / 2.0, df2 / 2.0);
    // X = df1 F / (df1 F + df2) ~ Beta(a, b); F = (df2 / df1) X / (1 - X).
    let f = if p > 0.5 {
        // Find 1 - X precisely: I_{1-X}(b, a) = 1 - p.
        let y = beta_inc_inv_upper(a, b, 1.0 - p)?;
        if y <= 0.0 {
            return None;
        }
        (df2 / df1) * (1.0 - y) / y
    } else {
        let x = beta_inc_inv(a, b, p)?;
        if x >= 1.0 {
            return None;
        }
        (df2 / df1) * x / (1.0 - x)
    };
    f.is_finite().then_some(f)
}

/// The p-quantile of Student's t with `df` degrees of freedom, 0 < p < 1.
pub fn t_ppf(p: f64, df: f64) -> Option<f64> {
    if !(valid_df(df) && p > 0.0 && p < 1.0) {
        return None;
    }
    if p == 0.5 {
        return Some(0.0);
    }
    // P(|T| > t) = I_{df / (df + t^2)}(df/2, 1/2).
    let tail = if p > 0.5 { 2.0 * (1.0 - p) } else { 2.0 * p };
    let z = beta_inc_inv(df / 2.0, 0.5, tail)?;
    if z <= 0.0 {
        return None;
    }
    let t = (df * (1.0 - z) / z).sqrt();
    let t = if p > 0.5 { t } else { -t };
    t.is_finite().then_some(t)
}

/// The two-sided 95% critical value of t with `df` degrees of freedom.
pub fn t_critical_95(df: f64) -> Option<f64> {
    t_ppf(0.975, df)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: Option<f64>, b: f64, rel: f64) -> bool {
        a.is_some_and(|a| (a - b).abs() <= rel * b.abs())
    }

    #[test]
    fn t_quantiles_match_tables() {
        // Closed forms: df 1 is Cauchy, tan(0.475 pi); df 2 is
        // (2p - 1) / sqrt(2 p (1 - p)).
        assert!(close(t_ppf(0.975, 1.0), 12.706_204_736_174_696, 1e-13));
        assert!(close(t_ppf(0.975, 2.0), 4.302_652_729_749_464, 1e-13));
        // SciPy 1.12 (stats.t.ppf), itself accurate to about 2e-11.
        assert!(close(t_ppf(0.975, 10.0), 2.228_138_851_964_938_5, 1e-10));
        assert!(close(t_ppf(0.975, 1000.0), 1.962_339_080_826_407_4, 1e-10));
        assert!(close(t_ppf(0.025, 10.0), -2.228_138_851_964_938_5, 1e-10));
        assert_eq!(t_ppf(0.5, 3.0), Some(0.0));
        assert_eq!(t_ppf(0.975, 0.0), None);
        assert_eq!(t_ppf(1.0, 3.0), None);
    }

    #[test]
    fn f_quantiles_and_tails_match_tables() {
        // SciPy: stats.f.ppf(0.975, 5, 18), stats.f.ppf(0.975, 18, 5),
        // stats.f.sf(11.027, 5, 15).
        assert!(close(f_ppf(0.975, 5.0, 18.0), 3.381_967_805_875_243, 1e-11));
        assert!(close(f_ppf(0.975, 18.0, 5.0), 6.361_883_204_654_353, 1e-11));
        let sf = f_sf(11.027, 5.0, 15.0).unwrap_or(f64::NAN);
        let ppf = f_ppf(1.0 - sf, 5.0, 15.0).unwrap_or(f64::NAN);
        assert!((ppf - 11.027).abs() < 1e-8, "{ppf}");
        assert_eq!(f_sf(0.0, 2.0, 3.0), Some(1.0));
        assert_eq!(f_sf(f64::INFINITY, 2.0, 3.0), Some(0.0));
        assert_eq!(f_sf(1.0, -2.0, 3.0), None);
        assert_eq!(f_ppf(0.0, 2.0, 3.0), None);
    }
}
