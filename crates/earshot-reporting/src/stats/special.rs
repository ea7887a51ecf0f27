//! Special functions behind every interval and p-value: log-gamma, the
//! regularized incomplete gamma and beta functions, and from them the normal
//! and Student-t distributions (CDF and quantile).
//!
//! Nothing here is tabled: the t quantile for any (even fractional) degrees of
//! freedom is computed by Newton's method on the exact CDF, started from the
//! Cornish-Fisher expansion (the 95% critical value is remembered per whole
//! df once computed). Every function is total: out-of-domain input
//! gives a defined value (documented per function), never NaN.

// Published coefficients are kept digit for digit as printed.
#![allow(clippy::excessive_precision)]

use std::f64::consts::PI;
use std::sync::atomic::{AtomicU64, Ordering};

/// The two-sided 95% normal critical value, z(0.975), as computed by
/// [`normal_quantile`] (kept as a constant so hot paths need not recompute it;
/// a test proves the two agree).
pub const Z_975: f64 = 1.959_963_984_540_054;

/// Natural log of the gamma function for `x > 0` (Lanczos, g = 7, n = 9;
/// relative error about 1e-15). For `x <= 0` or non-finite input it returns
/// 0.0, a defined value no caller relies on (all pass positive arguments).
pub fn ln_gamma(x: f64) -> f64 {
    if !(x.is_finite() && x > 0.0) {
        return 0.0;
    }
    const G: f64 = 7.0;
    const COEF: [f64; 9] = [
        0.999_999_999_999_809_93,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_13,
        -176.615_029_162_140_59,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_571_6e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        // Reflection: Γ(x)Γ(1-x) = π / sin(πx).
        let s = (PI * x).sin();
        if s <= 0.0 {
            return 0.0;
        }
        return (PI / s).ln() - ln_gamma(1.0 - x);
    }
    let x = x - 1.0;
    let mut acc = COEF[0];
    for (i, c) in COEF.iter().enumerate().skip(1) {
        acc += c / (x + i as f64);
    }
    let t = x + G + 0.5;
    0.5 * (2.0 * PI).ln() + (x + 0.5) * t.ln() - t + acc.ln()
}

const EPS: f64 = 1e-16;
const TINY: f64 = 1e-300;
const MAX_ITER: usize = 100_000;

/// Regularized lower incomplete gamma P(a, x) for a > 0, x >= 0.
/// Returns 0 for x <= 0 and clamps the result to [0, 1].
pub fn gamma_p(a: f64, x: f64) -> f64 {
    if !(a > 0.0 && a.is_finite()) || x.is_nan() || x <= 0.0 {
        return 0.0;
    }
    if x.is_infinite() {
        return 1.0;
    }
    let r = if x < a + 1.0 {
        gamma_series(a, x)
    } else {
        1.0 - gamma_cont_fraction(a, x)
    };
    if r.is_nan() {
        return if x < a { 0.0 } else { 1.0 };
    }
    r.clamp(0.0, 1.0)
}

/// Regularized upper incomplete gamma Q(a, x) = 1 - P(a, x), computed
/// directly in the tail so that small values keep their precision.
pub fn gamma_q(a: f64, x: f64) -> f64 {
    if !(a > 0.0 && a.is_finite()) || x.is_nan() || x <= 0.0 {
        return 1.0;
    }
    if x.is_infinite() {
        return 0.0;
    }
    let r = if x < a + 1.0 {
        1.0 - gamma_series(a, x)
    } else {
        gamma_cont_fraction(a, x)
    };
    if r.is_nan() {
        return if x < a { 1.0 } else { 0.0 };
    }
    r.clamp(0.0, 1.0)
}

fn gamma_series(a: f64, x: f64) -> f64 {
    let mut ap = a;
    let mut sum = 1.0 / a;
    let mut del = sum;
    for _ in 0..MAX_ITER {
        ap += 1.0;
        del *= x / ap;
        sum += del;
        if del.abs() < sum.abs() * EPS {
            break;
        }
    }
    sum * (-x + a * x.ln() - ln_gamma(a)).exp()
}

fn gamma_cont_fraction(a: f64, x: f64) -> f64 {
    // Modified Lentz.
    let mut b = x + 1.0 - a;
    let mut c = 1.0 / TINY;
    let mut d = 1.0 / b;
    let mut h = d;
    for i in 1..MAX_ITER {
        let an = -(i as f64) * (i as f64 - a);
        b += 2.0;
        d = an * d + b;
        if d.abs() < TINY {
            d = TINY;
        }
        c = b + an / c;
        if c.abs() < TINY {
            c = TINY;
        }
        d = 1.0 / d;
        let del = d * c;
        h *= del;
        if (del - 1.0).abs() < EPS {
            break;
        }
    }
    (-x + a * x.ln() - ln_gamma(a)).exp() * h
}

/// Regularized incomplete beta I_x(a, b) for a, b > 0. Clamps x to [0, 1];
/// returns 0 for invalid a or b.
pub fn beta_inc(a: f64, b: f64, x: f64) -> f64 {
    if !(a > 0.0 && b > 0.0 && a.is_finite() && b.is_finite()) || x.is_nan() {
        return 0.0;
    }
    if x <= 0.0 {
        return 0.0;
    }
    if x >= 1.0 {
        return 1.0;
    }
    let ln_front = ln_gamma(a + b) - ln_gamma(a) - ln_gamma(b) + a * x.ln() + b * (1.0 - x).ln();
    let front = ln_front.exp();
    let r = if x < (a + 1.0) / (a + b + 2.0) {
        front * beta_cont_fraction(a, b, x) / a
    } else {
        1.0 - front * beta_cont_fraction(b, a, 1.0 - x) / b
    };
    if r.is_nan() {
        // Only reachable with parameters far beyond any sample size (the log
        // gammas overflow): the distribution is then a step at its mean.
        return if x < a / (a + b) { 0.0 } else { 1.0 };
    }
    r.clamp(0.0, 1.0)
}

fn beta_cont_fraction(a: f64, b: f64, x: f64) -> f64 {
    let qab = a + b;
    let qap = a + 1.0;
    let qam = a - 1.0;
    let mut c = 1.0;
    let mut d = 1.0 - qab * x / qap;
    if d.abs() < TINY {
        d = TINY;
    }
    d = 1.0 / d;
    let mut h = d;
    for m in 1..MAX_ITER {
        let m = m as f64;
        let m2 = 2.0 * m;
        let aa = m * (b - m) * x / ((qam + m2) * (a + m2));
        d = 1.0 + aa * d;
        if d.abs() < TINY {
            d = TINY;
        }
        c = 1.0 + aa / c;
        if c.abs() < TINY {
            c = TINY;
        }
        d = 1.0 / d;
        h *= d * c;
        let aa = -(a + m) * (qab + m) * x / ((a + m2) * (qap + m2));
        d = 1.0 + aa * d;
        if d.abs() < TINY {
            d = TINY;
        }
        c = 1.0 + aa / c;
        if c.abs() < TINY {
            c = TINY;
        }
        d = 1.0 / d;
        let del = d * c;
        h *= del;
        if (del - 1.0).abs() < EPS {
            break;
        }
    }
    h
}

/// Standard normal CDF Φ(x). Φ(-∞) = 0, Φ(∞) = 1; NaN input gives 0.5.
pub fn normal_cdf(x: f64) -> f64 {
    if x.is_nan() {
        return 0.5;
    }
    let h = 0.5 * x * x;
    if x >= 0.0 {
        1.0 - 0.5 * gamma_q(0.5, h)
    } else {
        0.5 * gamma_q(0.5, h)
    }
}

/// Two-sided p-value of a standard normal statistic: P(|Z| >= |z|).
pub fn normal_two_sided_p(z: f64) -> f64 {
    if z.is_nan() {
        return 1.0;
    }
    gamma_q(0.5, 0.5 * z * z).clamp(0.0, 1.0)
}

/// Standard normal quantile Φ⁻¹(p): Acklam's rational approximation refined
/// by one Halley step on the exact CDF (about 1e-15 relative). p outside
/// (0, 1) is clamped to the nearest representable probability, so the result
/// is always finite.
pub fn normal_quantile(p: f64) -> f64 {
    let p = if p.is_nan() {
        0.5
    } else {
        p.clamp(1e-300, 1.0 - 1e-16)
    };
    const A: [f64; 6] = [
        -3.969_683_028_665_376e1,
        2.209_460_984_245_205e2,
        -2.759_285_104_469_687e2,
        1.383_577_518_672_690e2,
        -3.066_479_806_614_716e1,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -5.447_609_879_822_406e1,
        1.615_858_368_580_409e2,
        -1.556_989_798_598_866e2,
        6.680_131_188_771_972e1,
        -1.328_068_155_288_572e1,
    ];
    const C: [f64; 6] = [
        -7.784_894_002_430_293e-3,
        -3.223_964_580_411_365e-1,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] = [
        7.784_695_709_041_462e-3,
        3.224_671_290_700_398e-1,
        2.445_134_137_142_996,
        3.754_408_661_907_416,
    ];
    const P_LOW: f64 = 0.024_25;
    let x = if p < P_LOW {
        let q = (-2.0 * p.ln()).sqrt();
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    } else if p <= 1.0 - P_LOW {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    } else {
        let q = (-2.0 * (1.0 - p).ln()).sqrt();
        -(((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    // One Halley step on the exact CDF.
    let e = normal_cdf(x) - p;
    let u = e * (2.0 * PI).sqrt() * (0.5 * x * x).exp();
    let refined = x - u / (1.0 + 0.5 * x * u);
    if refined.is_finite() { refined } else { x }
}

/// Degrees of freedom above which the t distribution is replaced by the
/// normal (the difference is below 1e-9 in the quantiles we use).
const T_NORMAL_DF: f64 = 1e9;

/// Degrees of freedom above which the Cornish-Fisher expansion alone is the
/// t quantile to f64 precision.
const CORNISH_FISHER_DF: f64 = 1e4;

/// Student-t CDF with `df` degrees of freedom (df > 0, fractional allowed).
/// For df <= 0 or NaN the CDF is 0.5 (no information), never NaN.
pub fn t_cdf(t: f64, df: f64) -> f64 {
    if t.is_nan() || df.is_nan() || df <= 0.0 {
        return 0.5;
    }
    if t.is_infinite() {
        return if t > 0.0 { 1.0 } else { 0.0 };
    }
    if df > T_NORMAL_DF {
        return normal_cdf(t);
    }
    let t2 = t * t;
    if t2 < df {
        // Near the centre 1 - df/(df+t²) would lose its digits; use the
        // complementary form P(|T| < |t|) = I_{t²/(df+t²)}(1/2, df/2).
        let inner = 0.5 * beta_inc(0.5, 0.5 * df, t2 / (df + t2));
        return if t > 0.0 { 0.5 + inner } else { 0.5 - inner };
    }
    let tail = 0.5 * beta_inc(0.5 * df, 0.5, df / (df + t2));
    if t > 0.0 { 1.0 - tail } else { tail }
}

/// Two-sided p-value of a t statistic: P(|T| >= |t|) with `df` degrees of
/// freedom. 1.0 for NaN input or df <= 0.
pub fn t_two_sided_p(t: f64, df: f64) -> f64 {
    if t.is_nan() || df.is_nan() || df <= 0.0 {
        return 1.0;
    }
    if t.is_infinite() {
        return 0.0;
    }
    if df > T_NORMAL_DF {
        return normal_two_sided_p(t);
    }
    let t2 = t * t;
    if t2 < df {
        return (1.0 - beta_inc(0.5, 0.5 * df, t2 / (df + t2))).clamp(0.0, 1.0);
    }
    beta_inc(0.5 * df, 0.5, df / (df + t2)).clamp(0.0, 1.0)
}

/// Student-t density.
fn t_pdf(t: f64, df: f64) -> f64 {
    let ln = ln_gamma(0.5 * (df + 1.0))
        - ln_gamma(0.5 * df)
        - 0.5 * (df * PI).ln()
        - 0.5 * (df + 1.0) * (1.0 + t * t / df).ln();
    ln.exp()
}

/// Student-t quantile: the t with `P(T <= t) = p` for `df` degrees of freedom
/// (df > 0, fractional allowed). Closed forms for df = 1 and 2; otherwise
/// Newton's method on [`t_cdf`] from the Cornish-Fisher expansion, guarded by
/// bisection. p is clamped into (0, 1); df <= 0 or NaN is treated as df = 1
/// (the widest interval), so the result is always finite.
pub fn t_quantile(p: f64, df: f64) -> f64 {
    let p = if p.is_nan() {
        0.5
    } else {
        p.clamp(1e-12, 1.0 - 1e-12)
    };
    let df = if df > 0.0 && !df.is_nan() { df } else { 1.0 };
    if p == 0.5 {
        return 0.0;
    }
    if df > T_NORMAL_DF {
        return normal_quantile(p);
    }
    if df == 1.0 {
        return (PI * (p - 0.5)).tan();
    }
    if df == 2.0 {
        return (2.0 * p - 1.0) / (2.0 * p * (1.0 - p)).sqrt();
    }
    // Solve in the upper half and mirror.
    let upper = p > 0.5;
    let q = if upper { p } else { 1.0 - p };
    let z = normal_quantile(q);
    let (z2, z3) = (z * z, z * z * z);
    let z5 = z3 * z2;
    let z7 = z5 * z2;
    let z9 = z7 * z2;
    let g1 = (z3 + z) / 4.0;
    let g2 = (5.0 * z5 + 16.0 * z3 + 3.0 * z) / 96.0;
    let g3 = (3.0 * z7 + 19.0 * z5 + 17.0 * z3 - 15.0 * z) / 384.0;
    let g4 = (79.0 * z9 + 776.0 * z7 + 1482.0 * z5 - 1920.0 * z3 - 945.0 * z) / 92160.0;
    let mut t = z + g1 / df + g2 / (df * df) + g3 / df.powi(3) + g4 / df.powi(4);
    if df > CORNISH_FISHER_DF {
        // The next term is O(z^11 / df^5): far below f64 precision here.
        return if upper { t } else { -t };
    }
    // Bracket: the root lies in [0, hi] where cdf(hi) >= q.
    let mut lo = 0.0_f64;
    let mut hi = t.max(1.0) * 2.0;
    let mut guard = 0;
    while t_cdf(hi, df) < q && guard < 200 {
        lo = hi;
        hi *= 2.0;
        guard += 1;
    }
    if t <= lo || t >= hi || !t.is_finite() {
        t = 0.5 * (lo + hi);
    }
    for _ in 0..100 {
        let f = t_cdf(t, df) - q;
        if f.abs() <= 1e-15 {
            break;
        }
        if f > 0.0 {
            hi = t;
        } else {
            lo = t;
        }
        let dens = t_pdf(t, df);
        let step = if dens > 0.0 { f / dens } else { f64::INFINITY };
        let next = t - step;
        t = if next > lo && next < hi && next.is_finite() {
            next
        } else {
            0.5 * (lo + hi)
        };
        if (hi - lo) <= 1e-15 * t.abs().max(1.0) {
            break;
        }
    }
    if upper { t } else { -t }
}

/// Whole degrees of freedom whose 95% critical value is remembered.
const T_MEMO: usize = 4096;

/// `t_critical_95(df)` for df = 1..=T_MEMO once computed (f64 bits; 0 = not
/// yet). Reports ask for it for every group and metric with df = n - 1, and
/// each value costs a root search of tens of incomplete-beta evaluations:
/// 2,000 agents × 8 intervals made the root search most of a report's time.
static T_CRITICAL: [AtomicU64; T_MEMO] = [const { AtomicU64::new(0) }; T_MEMO];

/// The two-sided 95% critical value of Student's t: `t_quantile(0.975, df)`
/// (remembered for whole df up to 4,096; the value is the same either way).
pub fn t_critical_95(df: f64) -> f64 {
    if df >= 1.0 && df <= T_MEMO as f64 && df.fract() == 0.0 {
        let slot = &T_CRITICAL[df as usize - 1];
        let bits = slot.load(Ordering::Relaxed);
        if bits != 0 {
            return f64::from_bits(bits);
        }
        let t = t_quantile(0.975, df);
        slot.store(t.to_bits(), Ordering::Relaxed);
        return t;
    }
    t_quantile(0.975, df)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol * b.abs().max(1.0)
    }

    #[test]
    fn remembered_critical_values_equal_computed_ones() {
        for df in [
            1.0, 2.0, 3.0, 29.0, 30.0, 4_095.0, 4_096.0, 4_097.0, 2.5, 0.5, 1e5,
        ] {
            let first = t_critical_95(df);
            let again = t_critical_95(df);
            assert_eq!(first.to_bits(), t_quantile(0.975, df).to_bits(), "{df}");
            assert_eq!(first.to_bits(), again.to_bits(), "{df}");
        }
        assert!((t_critical_95(9.0) - 2.262_157_162_8).abs() < 1e-9);
    }

    #[test]
    fn ln_gamma_matches_factorials() {
        // Γ(n) = (n-1)!
        let mut fact = 1.0_f64;
        for n in 1..30 {
            if n > 1 {
                fact *= (n - 1) as f64;
            }
            assert!(close(ln_gamma(n as f64), fact.ln(), 1e-13), "n = {n}");
        }
        // Γ(1/2) = √π
        assert!(close(ln_gamma(0.5), PI.sqrt().ln(), 1e-14));
        assert_eq!(ln_gamma(0.0), 0.0);
        assert_eq!(ln_gamma(f64::NAN), 0.0);
    }

    #[test]
    fn normal_cdf_reference_values() {
        let table = [
            (0.0, 0.5),
            (1.0, 0.841_344_746_068_542_9),
            (-1.0, 0.158_655_253_931_457_05),
            (1.959_963_984_540_054, 0.975),
            (3.0, 0.998_650_101_968_369_9),
            (-5.0, 2.866_515_718_791_939e-7),
        ];
        for (x, want) in table {
            assert!(
                close(normal_cdf(x), want, 1e-12),
                "x = {x}: {}",
                normal_cdf(x)
            );
        }
        // Tail keeps relative precision.
        let tail = normal_cdf(-10.0);
        assert!((tail / 7.619_853_024_160_526e-24 - 1.0).abs() < 1e-9);
    }

    #[test]
    fn normal_quantile_reference_values() {
        let table = [
            (0.975, 1.959_963_984_540_054),
            (0.5, 0.0),
            (0.95, 1.644_853_626_951_472_2),
            (0.995, 2.575_829_303_548_900_4),
            (0.01, -2.326_347_874_040_841),
            (1e-10, -6.361_340_902_404_056),
        ];
        for (p, want) in table {
            assert!(
                close(normal_quantile(p), want, 1e-12),
                "p = {p}: {}",
                normal_quantile(p)
            );
        }
        assert!(close(normal_quantile(0.975), Z_975, 1e-15));
        assert!(normal_quantile(0.0).is_finite());
        assert!(normal_quantile(1.0).is_finite());
        assert_eq!(normal_quantile(f64::NAN), 0.0);
    }

    #[test]
    fn t_quantile_reference_values() {
        // Two-sided 95% critical values (R: qt(0.975, df)).
        let table = [
            (1.0, 12.706_204_736_174_705),
            (2.0, 4.302_652_729_749_464),
            (3.0, 3.182_446_305_283_709_6),
            (4.0, 2.776_445_105_197_794_4),
            (5.0, 2.570_581_835_636_315_5),
            (9.0, 2.262_157_162_798_205_5),
            (10.0, 2.228_138_851_986_274_7),
            (29.0, 2.045_229_642_132_704_3),
            (30.0, 2.042_272_456_301_238_3),
            (100.0, 1.983_971_518_523_552_3),
            (1000.0, 1.962_339_080_826_408_5),
            (1e6, 1.959_966_356_814_107),
        ];
        for (df, want) in table {
            let got = t_critical_95(df);
            assert!(close(got, want, 1e-10), "df = {df}: got {got}, want {want}");
        }
        // Fractional df (Welch).
        assert!(close(t_critical_95(7.5), 2.333_039_626_864_974_6, 1e-10));
        // Lower tail mirrors.
        assert!(close(
            t_quantile(0.025, 10.0),
            -2.228_138_851_986_274,
            1e-10
        ));
        assert_eq!(t_quantile(0.5, 3.0), 0.0);
    }

    #[test]
    fn t_cdf_and_p_values() {
        // pt(2, 5) = 0.9490302605850709
        assert!(close(t_cdf(2.0, 5.0), 0.949_030_260_585_070_9, 1e-12));
        // 2 * pt(-2.5, 12) = 0.02789...
        assert!(close(
            t_two_sided_p(2.5, 12.0),
            0.027_915_399_571_325_253,
            1e-10
        ));
        assert_eq!(t_two_sided_p(0.0, 12.0), 1.0);
        assert_eq!(t_two_sided_p(f64::INFINITY, 3.0), 0.0);
        assert_eq!(t_two_sided_p(f64::NAN, 3.0), 1.0);
        assert_eq!(t_cdf(1.0, -1.0), 0.5);
    }

    #[test]
    fn incomplete_functions_edges() {
        assert_eq!(beta_inc(2.0, 3.0, 0.0), 0.0);
        assert_eq!(beta_inc(2.0, 3.0, 1.0), 1.0);
        // I_x(1,1) = x
        assert!(close(beta_inc(1.0, 1.0, 0.3), 0.3, 1e-14));
        // I_0.5(a, a) = 0.5
        assert!(close(beta_inc(7.5, 7.5, 0.5), 0.5, 1e-13));
        assert_eq!(beta_inc(-1.0, 1.0, 0.5), 0.0);
        // P(1, x) = 1 - e^-x
        assert!(close(gamma_p(1.0, 2.0), 1.0 - (-2.0_f64).exp(), 1e-14));
        assert!(close(gamma_q(1.0, 2.0), (-2.0_f64).exp(), 1e-13));
        assert_eq!(gamma_p(1.0, -1.0), 0.0);
        assert_eq!(gamma_q(1.0, f64::INFINITY), 0.0);
    }

    proptest! {
        #[test]
        fn t_quantile_inverts_cdf(p in 0.001f64..0.999, df in 0.5f64..5000.0) {
            let t = t_quantile(p, df);
            prop_assert!(t.is_finite());
            prop_assert!((t_cdf(t, df) - p).abs() < 1e-10);
        }

        #[test]
        fn normal_quantile_inverts_cdf(p in 1e-12f64..(1.0 - 1e-12)) {
            let x = normal_quantile(p);
            prop_assert!(x.is_finite());
            prop_assert!((normal_cdf(x) - p).abs() <= 1e-13 + 1e-10 * p.min(1.0 - p));
        }

        #[test]
        fn t_critical_decreases_towards_z(df in 1.0f64..1e5) {
            let t = t_critical_95(df);
            prop_assert!(t >= Z_975 - 1e-12);
            prop_assert!(t_critical_95(df + 1.0) <= t + 1e-12);
        }

        #[test]
        fn special_functions_never_nan(a in proptest::num::f64::ANY, b in proptest::num::f64::ANY, x in proptest::num::f64::ANY) {
            prop_assert!(!beta_inc(a, b, x).is_nan());
            prop_assert!(!gamma_p(a, x).is_nan());
            prop_assert!(!gamma_q(a, x).is_nan());
            prop_assert!(!normal_cdf(x).is_nan());
            prop_assert!(!normal_quantile(x).is_nan());
            prop_assert!(!t_cdf(x, a).is_nan());
            prop_assert!(!t_quantile(x, a).is_nan());
            prop_assert!(!t_two_sided_p(x, a).is_nan());
            prop_assert!(!ln_gamma(a).is_nan());
        }
    }
}
