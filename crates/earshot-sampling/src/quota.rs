//! Per-agent quotas: the effective minimum, maximum and random target of an
//! agent in a period, the agent's expected volume, and the selection
//! threshold derived from them.
//!
//! The threshold `τ = random target at the expected volume / expected volume`
//! is fixed when the agent's period opens and never moves during the period:
//! that is what makes the random selections of a period exactly its smallest
//! draws (see [`crate::selection`]). Overestimating the volume is the safe
//! error: fewer interactions are selected as they arrive, and the top-up at
//! close takes the rest, still at random. Underestimating it selects more
//! than the target as they arrive (never more than the maximum).

use crate::calendar::PeriodKind;
use crate::plan::{PerAgentTarget, RandomTarget};
use crate::sample_size::{ProportionTarget, ceil_count};
use crate::time::WEEK_MS;

/// The quota of one agent in one period, after new-hire over-sampling.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EffectiveQuota {
    /// The fewest selections (all reasons).
    pub min: u32,
    /// The most selections (all reasons); `None` for no cap.
    pub max: Option<u32>,
    /// The random sample's size rule.
    pub random: RandomTarget,
    /// The over-sampling multiplier (1 for agents who are not new hires).
    pub multiplier: f64,
}

fn scale(n: u32, m: f64) -> u32 {
    u32::try_from(ceil_count(f64::from(n) * m)).unwrap_or(u32::MAX)
}

impl EffectiveQuota {
    /// The quota of an agent; `new_hire_multiplier` is `Some` for an agent
    /// over-sampled as a new hire in this period.
    pub fn new(target: &PerAgentTarget, new_hire_multiplier: Option<f64>) -> Self {
        let m = new_hire_multiplier
            .filter(|m| m.is_finite() && *m >= 1.0)
            .unwrap_or(1.0);
        EffectiveQuota {
            min: scale(target.min, m),
            max: target.max.map(|x| scale(x, m)),
            random: target.random,
            multiplier: m,
        }
    }

    /// True when the agent is over-sampled.
    pub fn new_hire(&self) -> bool {
        self.multiplier > 1.0
    }

    fn cap(&self, n: u64, volume: u64) -> u32 {
        let n = n.min(volume);
        let n = self.max.map_or(n, |m| n.min(u64::from(m)));
        u32::try_from(n).unwrap_or(u32::MAX)
    }

    /// The random sample's size for an agent with `volume` eligible
    /// interactions in the period (used at close, with the actual volume):
    /// never above the volume or the maximum.
    pub fn random_target(&self, volume: u64) -> u32 {
        let raw = match self.random {
            RandomTarget::Count(c) => f64::from(c) * self.multiplier,
            RandomTarget::Rate(r) => (r * self.multiplier).min(1.0) * volume as f64,
            RandomTarget::Significance(t) => t.size_for_volume(volume as f64) * self.multiplier,
        };
        self.cap(ceil_count(raw), volume)
    }

    /// The selections required by the minimum: `min(min, volume)`.
    pub fn required(&self, volume: u64) -> u32 {
        u32::try_from(u64::from(self.min).min(volume)).unwrap_or(u32::MAX)
    }

    /// The selection threshold for an agent expected to have
    /// `expected_volume` eligible interactions: in [0, 1], never NaN.
    pub fn threshold(&self, expected_volume: f64) -> f64 {
        let v = if expected_volume.is_finite() && expected_volume >= 1.0 {
            expected_volume
        } else {
            1.0
        };
        let tau = match self.random {
            RandomTarget::Count(c) => f64::from(c) * self.multiplier / v,
            RandomTarget::Rate(r) => r * self.multiplier,
            RandomTarget::Significance(t) => significance_rate(&t, v) * self.multiplier,
        };
        if tau.is_finite() {
            tau.clamp(0.0, 1.0)
        } else {
            1.0
        }
    }

    /// The random selections expected over the period at the threshold: the
    /// room kept free for them when targeted rules compete for the maximum.
    pub fn expected_random(&self, expected_volume: f64) -> u32 {
        let v = if expected_volume.is_finite() {
            expected_volume.max(0.0)
        } else {
            0.0
        };
        let n = ceil_count(self.threshold(v) * v);
        let n = self.max.map_or(n, |m| n.min(u64::from(m)));
        u32::try_from(n).unwrap_or(u32::MAX)
    }
}

fn significance_rate(t: &ProportionTarget, volume: f64) -> f64 {
    t.size_for_volume(volume) / volume
}

/// The volume assumed for an agent with no usable history, per period kind:
/// 40 a day, 200 a week, 800 a month (deliberately high: overestimating is
/// the safe error).
pub fn default_prior(kind: PeriodKind) -> f64 {
    match kind {
        PeriodKind::Day => 40.0,
        PeriodKind::Week => 200.0,
        PeriodKind::Month => 800.0,
        PeriodKind::Quarter => 2400.0,
        PeriodKind::Year => 9600.0,
    }
}

/// The median of other agents' previous-period volumes, as a prior for new
/// agents; `None` when there is none.
pub fn median(volumes: &[u64]) -> Option<f64> {
    let mut v: Vec<u64> = volumes.iter().copied().filter(|x| *x > 0).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_unstable();
    let mid = v.len() / 2;
    if v.len() % 2 == 1 {
        v.get(mid).map(|x| *x as f64)
    } else {
        v.get(mid - 1)
            .zip(v.get(mid))
            .map(|(a, b)| (*a as f64 + *b as f64) / 2.0)
    }
}

/// The agent's expected eligible volume this period from its previous
/// complete periods (most recent first): a weighted mean (weights 4, 3, 2, 1)
/// of the last four periods in which the agent worked at all; `prior` when it
/// has none. Leave out a partial first period. Always at least 1.
pub fn expected_volume(history: &[u64], prior: f64) -> f64 {
    const WEIGHTS: [f64; 4] = [4.0, 3.0, 2.0, 1.0];
    let (mut sum, mut weight) = (0.0, 0.0);
    for (v, w) in history.iter().filter(|v| **v > 0).zip(WEIGHTS) {
        sum += *v as f64 * w;
        weight += w;
    }
    let v = if weight > 0.0 { sum / weight } else { prior };
    if v.is_finite() { v.max(1.0) } else { 1.0 }
}

/// True when an agent who started at `start_ms` is still a new hire in a
/// period starting at `period_start_ms`, over-sampled for `weeks` weeks.
pub fn is_new_hire(start_ms: i64, period_start_ms: i64, weeks: u32) -> bool {
    period_start_ms < start_ms.saturating_add(i64::from(weeks).saturating_mul(WEEK_MS))
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn quota(min: u32, max: Option<u32>, random: RandomTarget) -> EffectiveQuota {
        EffectiveQuota::new(&PerAgentTarget { min, max, random }, None)
    }

    #[test]
    fn random_targets_per_kind() {
        let count = quota(4, Some(8), RandomTarget::Count(4));
        assert_eq!(count.random_target(100), 4);
        assert_eq!(count.random_target(3), 3, "not above the volume");
        assert_eq!(count.required(2), 2);
        assert_eq!(count.required(50), 4);
        let rate = quota(0, Some(10), RandomTarget::Rate(0.05));
        assert_eq!(rate.random_target(100), 5);
        assert_eq!(rate.random_target(101), 6, "rounded up");
        assert_eq!(rate.random_target(1000), 10, "not above the maximum");
        let sig = quota(
            0,
            None,
            RandomTarget::Significance(ProportionTarget::default()),
        );
        assert_eq!(sig.random_target(1000), 278);
        assert_eq!(sig.random_target(0), 0);
    }

    #[test]
    fn new_hires_get_more() {
        let target = PerAgentTarget {
            min: 4,
            max: Some(8),
            random: RandomTarget::Count(4),
        };
        let q = EffectiveQuota::new(&target, Some(1.5));
        assert_eq!((q.min, q.max), (6, Some(12)));
        assert_eq!(q.random_target(100), 6);
        assert!(q.new_hire());
        let bogus = EffectiveQuota::new(&target, Some(f64::NAN));
        assert!(!bogus.new_hire());
        assert!(is_new_hire(0, 0, 1));
        assert!(is_new_hire(0, WEEK_MS - 1, 1));
        assert!(!is_new_hire(0, WEEK_MS, 1));
    }

    #[test]
    fn thresholds() {
        let q = quota(4, Some(8), RandomTarget::Count(4));
        assert_eq!(q.threshold(200.0), 0.02);
        assert_eq!(q.threshold(2.0), 1.0);
        assert_eq!(q.threshold(f64::NAN), 1.0);
        assert_eq!(q.threshold(0.0), 1.0);
        assert_eq!(q.expected_random(200.0), 4);
        assert_eq!(q.expected_random(f64::INFINITY), 0);
        let rate = quota(0, None, RandomTarget::Rate(0.1));
        assert_eq!(rate.threshold(5.0), 0.1);
        let sig = quota(
            0,
            None,
            RandomTarget::Significance(ProportionTarget::default()),
        );
        assert!((sig.threshold(1000.0) - 0.27774).abs() < 1e-4);
    }

    #[test]
    fn expected_volumes() {
        assert_eq!(expected_volume(&[], 200.0), 200.0);
        assert_eq!(expected_volume(&[100], 200.0), 100.0);
        // Weights 4, 3, 2, 1; a fifth period is ignored.
        assert_eq!(expected_volume(&[100, 200, 300, 400, 9999], 1.0), 200.0);
        // Periods without work (leave) are skipped.
        assert_eq!(expected_volume(&[0, 0, 120], 200.0), 120.0);
        assert_eq!(expected_volume(&[0], 0.0), 1.0);
        assert_eq!(expected_volume(&[], f64::NAN), 1.0);
        assert_eq!(median(&[]), None);
        assert_eq!(median(&[0, 5, 1, 9]), Some(5.0));
        assert_eq!(median(&[4, 2]), Some(3.0));
        assert_eq!(default_prior(PeriodKind::Week), 200.0);
    }

    proptest! {
        #[test]
        fn quotas_are_bounded_and_never_nan(
            min in 0u32..50, extra in 0u32..50, no_max in any::<bool>(),
            kind in 0u8..3, c in 0u32..60, r in 0.001f64..1.0,
            volume in 0u64..5000, expected in -10.0f64..1e6, m in 1.0f64..10.0,
        ) {
            let max = if no_max { None } else { Some(min + extra) };
            let random = match kind {
                0 => RandomTarget::Count(max.map_or(c, |mx| c.min(mx))),
                1 => RandomTarget::Rate(r),
                _ => RandomTarget::Significance(ProportionTarget::default()),
            };
            let q = EffectiveQuota::new(&PerAgentTarget { min, max, random }, Some(m));
            let t = q.random_target(volume);
            prop_assert!(u64::from(t) <= volume);
            prop_assert!(q.max.is_none_or(|mx| t <= mx));
            let tau = q.threshold(expected);
            prop_assert!((0.0..=1.0).contains(&tau));
            prop_assert!(q.required(volume) <= q.min);
            prop_assert!(q.max.is_none_or(|mx| q.expected_random(expected) <= mx));
        }
    }
}
