//! Drift: a participant's calibration across sessions, as the least-squares
//! slope of a per-session figure (mean signed deviation, mean absolute
//! deviation, question agreement rate) against the session's close time,
//! expressed per 30 days, with a 95% t interval (n - 2 degrees of freedom).
//!
//! Degenerate input: fewer than two points, or every point at the same time,
//! has no slope; two points have a slope but no interval; points exactly on
//! a line have a zero-width interval.

use crate::stats::distribution::t_critical_95;

const MS_PER_DAY: f64 = 86_400_000.0;

/// A fitted slope, per 30 days.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Slope {
    /// Change per 30 days.
    pub per_30_days: Option<f64>,
    /// Lower 95% bound.
    pub ci_low: Option<f64>,
    /// Upper 95% bound.
    pub ci_high: Option<f64>,
    /// Points fitted.
    pub points: usize,
}

/// The slope through `(time in epoch milliseconds, value)` points; non-finite
/// values are skipped.
pub fn slope(points: &[(i64, f64)]) -> Slope {
    let pts: Vec<(f64, f64)> = points
        .iter()
        .filter(|(_, y)| y.is_finite())
        .map(|&(t, y)| (t as f64 / MS_PER_DAY, y))
        .collect();
    let n = pts.len();
    let none = Slope {
        per_30_days: None,
        ci_low: None,
        ci_high: None,
        points: n,
    };
    if n < 2 {
        return none;
    }
    let nf = n as f64;
    let mx = pts.iter().map(|p| p.0).sum::<f64>() / nf;
    let my = pts.iter().map(|p| p.1).sum::<f64>() / nf;
    let sxx: f64 = pts.iter().map(|p| (p.0 - mx) * (p.0 - mx)).sum();
    let sxy: f64 = pts.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    if sxx <= 0.0 || !sxx.is_finite() {
        return none;
    }
    let b = sxy / sxx;
    if !b.is_finite() {
        return none;
    }
    let per_30 = 30.0 * b;
    if n < 3 {
        return Slope {
            per_30_days: Some(per_30),
            ..none
        };
    }
    let a = my - b * mx;
    let sse: f64 = pts.iter().map(|p| (p.1 - a - b * p.0).powi(2)).sum();
    let se = (sse / (nf - 2.0) / sxx).sqrt();
    let half = t_critical_95(nf - 2.0)
        .map(|t| 30.0 * t * se)
        .filter(|h| h.is_finite());
    Slope {
        per_30_days: Some(per_30),
        ci_low: half.map(|h| per_30 - h),
        ci_high: half.map(|h| per_30 + h),
        points: n,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const DAY: i64 = 86_400_000;

    #[test]
    fn worked_example() {
        // y = 2 + 0.1 x (per day) plus residuals +1, -1, -1, +1 at x = 0, 10,
        // 20, 30: slope 0.1/day = 3 per 30 days; sxx = 500, sse = 4.
        let pts = [(0, 3.0), (10 * DAY, 2.0), (20 * DAY, 3.0), (30 * DAY, 6.0)];
        let s = slope(&pts);
        assert!((s.per_30_days.unwrap() - 3.0).abs() < 1e-12, "{s:?}");
        let se = (4.0_f64 / 2.0 / 500.0).sqrt();
        let t = 4.302_652_729_749_464;
        assert!((s.ci_high.unwrap() - (3.0 + 30.0 * t * se)).abs() < 1e-9);
        assert!((s.ci_low.unwrap() - (3.0 - 30.0 * t * se)).abs() < 1e-9);
        assert_eq!(s.points, 4);
    }

    #[test]
    fn degenerate() {
        assert_eq!(slope(&[]).per_30_days, None);
        assert_eq!(slope(&[(0, 1.0)]).per_30_days, None);
        assert_eq!(slope(&[(5, 1.0), (5, 2.0)]).per_30_days, None);
        let two = slope(&[(0, 1.0), (30 * DAY, 2.0)]);
        assert_eq!((two.per_30_days, two.ci_low), (Some(1.0), None));
        let line = slope(&[(0, 1.0), (DAY, 2.0), (2 * DAY, 3.0)]);
        assert_eq!(
            (line.per_30_days, line.ci_low, line.ci_high),
            (Some(30.0), Some(30.0), Some(30.0))
        );
        assert_eq!(slope(&[(0, f64::NAN), (DAY, 1.0)]).points, 1);
    }

    proptest! {
        #[test]
        fn never_nan(pts in proptest::collection::vec((0i64..10_000_000_000_000, -100f64..100.0), 0..20)) {
            let s = slope(&pts);
            for x in [s.per_30_days, s.ci_low, s.ci_high].into_iter().flatten() {
                prop_assert!(x.is_finite());
            }
            if let (Some(lo), Some(b), Some(hi)) = (s.ci_low, s.per_30_days, s.ci_high) {
                prop_assert!(lo <= b + 1e-9 && b <= hi + 1e-9);
            }
        }
    }
}
