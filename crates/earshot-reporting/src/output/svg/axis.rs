//! "Nice" axes: round tick values (1, 2 or 5 × 10ⁿ steps) covering a data
//! range, after Heckbert's "Nice numbers for graph labels" (Graphics Gems,
//! 1990).

/// A value axis.
#[derive(Debug, Clone, PartialEq)]
pub struct Axis {
    /// Lowest value shown (the first tick).
    pub min: f64,
    /// Highest value shown (the last tick).
    pub max: f64,
    /// Distance between ticks.
    pub step: f64,
    /// Tick values, ascending, from `min` to `max`.
    pub ticks: Vec<f64>,
}

/// The nice number near `x` (> 0): 1, 2, 5 or 10 × 10ⁿ, rounded to the
/// nearest when `round`, else the smallest not below `x`.
pub fn nice_number(x: f64, round: bool) -> f64 {
    if !(x.is_finite() && x > 0.0) {
        return 1.0;
    }
    let exp = x.log10().floor();
    let base = 10f64.powf(exp);
    let f = x / base;
    let nice = if round {
        if f < 1.5 {
            1.0
        } else if f < 3.0 {
            2.0
        } else if f < 7.0 {
            5.0
        } else {
            10.0
        }
    } else if f <= 1.0 {
        1.0
    } else if f <= 2.0 {
        2.0
    } else if f <= 5.0 {
        5.0
    } else {
        10.0
    };
    nice * base
}

/// An axis with about `max_ticks` (at least 2) nice ticks covering
/// `[lo, hi]`. Non-finite bounds give 0..1; an empty range is widened
/// around its value.
pub fn nice_axis(lo: f64, hi: f64, max_ticks: usize) -> Axis {
    let (mut lo, mut hi) = if lo.is_finite() && hi.is_finite() {
        (lo.min(hi), lo.max(hi))
    } else {
        (0.0, 1.0)
    };
    if hi - lo < 1e-12 {
        let pad = if lo.abs() > 1e-12 {
            lo.abs() * 0.1
        } else {
            1.0
        };
        lo -= pad;
        hi += pad;
    }
    let ticks_wanted = max_ticks.max(2) as f64;
    let range = nice_number(hi - lo, false);
    let step = nice_number(range / (ticks_wanted - 1.0), true);
    let min = (lo / step).floor() * step;
    let max = (hi / step).ceil() * step;
    let n = ((max - min) / step).round() as usize;
    let ticks = (0..=n.min(1000))
        .map(|i| clean(min + i as f64 * step))
        .collect();
    Axis {
        min,
        max,
        step,
        ticks,
    }
}

/// Removes floating-point noise such as 0.30000000000000004 and -0.
fn clean(v: f64) -> f64 {
    let r = (v * 1e9).round() / 1e9;
    if r == 0.0 { 0.0 } else { r }
}

/// How tick values print.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TickFormat {
    /// Plain numbers with as many decimals as the step needs.
    Number,
    /// Shares (0..1) printed as percentages.
    Percent,
}

/// A tick label: enough decimals for the step, no more.
pub fn tick_label(v: f64, step: f64, format: TickFormat) -> String {
    let (v, step, suffix) = match format {
        TickFormat::Number => (v, step, ""),
        TickFormat::Percent => (v * 100.0, step * 100.0, "%"),
    };
    let decimals = if step > 0.0 && step.is_finite() {
        (0..=6usize)
            .find(|&d| {
                let scaled = step * 10f64.powi(d as i32);
                (scaled - scaled.round()).abs() < 1e-6 * scaled.abs().max(1.0)
            })
            .unwrap_or(6)
    } else {
        0
    };
    let v = if v.is_finite() { clean(v) } else { 0.0 };
    format!("{v:.decimals$}{suffix}")
}

/// A single value's label: up to `max_decimals` decimals, trailing zeros
/// trimmed ("85", "82.5%", "0.333").
pub fn value_label(v: f64, max_decimals: usize, format: TickFormat) -> String {
    let (v, suffix) = match format {
        TickFormat::Number => (v, ""),
        TickFormat::Percent => (v * 100.0, "%"),
    };
    let v = if v.is_finite() { clean(v) } else { 0.0 };
    let mut s = format!("{v:.max_decimals$}");
    if s.contains('.') {
        while s.ends_with('0') {
            s.pop();
        }
        if s.ends_with('.') {
            s.pop();
        }
    }
    if s == "-0" {
        s = "0".to_owned();
    }
    format!("{s}{suffix}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn worked_axes() {
        let a = nice_axis(63.2, 91.7, 6);
        assert_eq!(a.ticks, vec![60.0, 70.0, 80.0, 90.0, 100.0]);
        let a = nice_axis(0.0, 1.0, 6);
        assert_eq!(a.ticks, vec![0.0, 0.2, 0.4, 0.6, 0.8, 1.0]);
        let a = nice_axis(5.0, 5.0, 5);
        assert!(a.min < 5.0 && a.max > 5.0);
        let a = nice_axis(f64::NAN, 3.0, 5);
        assert_eq!((a.min, a.max), (0.0, 1.0));
        let a = nice_axis(-100.0, 100.0, 5);
        assert_eq!(a.ticks, vec![-100.0, -50.0, 0.0, 50.0, 100.0]);
    }

    #[test]
    fn labels() {
        assert_eq!(tick_label(0.3, 0.1, TickFormat::Number), "0.3");
        assert_eq!(tick_label(0.1 + 0.2, 0.1, TickFormat::Number), "0.3");
        assert_eq!(tick_label(85.0, 5.0, TickFormat::Number), "85");
        assert_eq!(tick_label(0.8, 0.2, TickFormat::Percent), "80%");
        assert_eq!(tick_label(0.825, 0.025, TickFormat::Percent), "82.5%");
        assert_eq!(tick_label(-0.0, 1.0, TickFormat::Number), "0");
        assert_eq!(value_label(85.0, 2, TickFormat::Number), "85");
        assert_eq!(value_label(1.0 / 3.0, 3, TickFormat::Number), "0.333");
        assert_eq!(value_label(0.825, 1, TickFormat::Percent), "82.5%");
        assert_eq!(value_label(-0.0001, 2, TickFormat::Number), "0");
    }

    proptest! {
        #[test]
        fn ticks_cover_the_data(lo in -1e6f64..1e6, span in 0.0f64..1e6, max in 2usize..12) {
            let a = nice_axis(lo, lo + span, max);
            prop_assert!(a.min <= lo + 1e-6 && a.max >= lo + span - 1e-6);
            prop_assert!(a.ticks.len() >= 2 && a.ticks.len() <= 2 * max + 2);
            for w in a.ticks.windows(2) {
                prop_assert!(w[1] > w[0]);
            }
        }
    }
}
