//! Stratification: which stratum an interaction is in, and how a target is
//! split across strata.
//!
//! At period close the agent's random target is apportioned over the strata
//! by their *actual* volumes: in proportion (Hamilton's largest-remainder
//! method, so the counts add up exactly and each is within one of its exact
//! share) or equally (water-filling: a stratum with fewer interactions than
//! its share keeps them all and passes the rest on). While the period runs,
//! each stratum has its own threshold from the *expected* volumes: for
//! proportional allocation it is the agent's threshold (proportional is what
//! uniform sampling gives anyway); for equal allocation it is the stratum's
//! continuous share over its expected volume.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{Datelike, Timelike, Weekday};

use crate::calendar::TimeZone;
use crate::interaction::Interaction;
use crate::plan::{Allocation, Stratification, StratumDimension};

/// A stratum's key, e.g. `channel=voice` or `tod=06-12|dow=mon`. Empty when
/// the plan has no stratification.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct StratumKey(String);

impl StratumKey {
    /// The key of an unstratified plan.
    pub fn none() -> Self {
        Self::default()
    }

    /// A key as stored.
    pub fn from_stored(key: impl Into<String>) -> Self {
        Self(key.into())
    }

    /// The key as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for StratumKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn weekday_name(d: Weekday) -> &'static str {
    match d {
        Weekday::Mon => "mon",
        Weekday::Tue => "tue",
        Weekday::Wed => "wed",
        Weekday::Thu => "thu",
        Weekday::Fri => "fri",
        Weekday::Sat => "sat",
        Weekday::Sun => "sun",
    }
}

/// The stratum of an interaction (by its arrival, in local time).
pub fn stratum_of(s: &Stratification, i: &Interaction, tz: &TimeZone) -> StratumKey {
    let local = tz.local(i.arrived_ms);
    let parts: Vec<String> = s
        .dimensions
        .iter()
        .map(|d| match d {
            StratumDimension::Channel => format!("channel={}", i.channel.as_str()),
            StratumDimension::Queue => {
                format!("queue={}", i.queue.as_ref().map_or("", |q| q.as_str()))
            }
            StratumDimension::TimeOfDay => {
                let hour = local.map_or(0, |l| l.hour());
                let start = s
                    .band_starts
                    .iter()
                    .rev()
                    .find(|b| u32::from(**b) <= hour)
                    .copied()
                    .unwrap_or(0);
                let end = s
                    .band_starts
                    .iter()
                    .find(|b| **b > start)
                    .copied()
                    .unwrap_or(24);
                format!("tod={start:02}-{end:02}")
            }
            StratumDimension::DayOfWeek => {
                format!("dow={}", local.map_or("mon", |l| weekday_name(l.weekday())))
            }
        })
        .collect();
    StratumKey(parts.join("|"))
}

/// Splits `total` over keys in proportion to their volumes (Hamilton's
/// method). Each share is within one of `total · v / Σv` and never above its
/// volume when `total` is not above the sum. Ties of remainder go to the
/// larger volume, then the smaller key.
pub fn apportion_proportional<K: Ord + Clone>(
    total: u32,
    volumes: &BTreeMap<K, u64>,
) -> BTreeMap<K, u32> {
    let sum: u128 = volumes.values().map(|v| u128::from(*v)).sum();
    let mut out: BTreeMap<K, u32> = volumes.keys().map(|k| (k.clone(), 0)).collect();
    if sum == 0 || total == 0 {
        return out;
    }
    let total_u = u128::from(total);
    let mut given: u128 = 0;
    let mut remainders: Vec<(u128, u64, &K)> = Vec::with_capacity(volumes.len());
    for (k, v) in volumes {
        let exact = total_u * u128::from(*v);
        let q = exact / sum;
        given += q;
        if let Some(slot) = out.get_mut(k) {
            *slot = u32::try_from(q).unwrap_or(u32::MAX);
        }
        remainders.push((exact % sum, *v, k));
    }
    remainders.sort_by(|a, b| b.0.cmp(&a.0).then(b.1.cmp(&a.1)).then(a.2.cmp(b.2)));
    let left = usize::try_from(total_u.saturating_sub(given)).unwrap_or(usize::MAX);
    for (_, _, k) in remainders.into_iter().take(left) {
        if let Some(slot) = out.get_mut(k) {
            *slot = slot.saturating_add(1);
        }
    }
    out
}

/// Splits `total` equally over keys with volume, none getting more than its
/// volume (water-filling); what a small stratum cannot take goes to the
/// others. Leftover units after equal shares go to the larger volumes first.
pub fn apportion_equal<K: Ord + Clone>(total: u32, volumes: &BTreeMap<K, u64>) -> BTreeMap<K, u32> {
    let mut out: BTreeMap<K, u32> = volumes.keys().map(|k| (k.clone(), 0)).collect();
    let mut open: Vec<(&K, u64)> = volumes
        .iter()
        .filter(|(_, v)| **v > 0)
        .map(|(k, v)| (k, *v))
        .collect();
    let mut left = u64::from(total);
    // Smallest volumes first: they are the ones that may saturate.
    open.sort_by(|a, b| a.1.cmp(&b.1).then(a.0.cmp(b.0)));
    while left > 0 && !open.is_empty() {
        let n = open.len() as u64;
        let share = left / n;
        let smallest = open.first().map_or(0, |(_, v)| *v);
        if share >= smallest {
            // The smallest stratum saturates: give it all, redistribute.
            let (k, v) = open.remove(0);
            if let Some(slot) = out.get_mut(k) {
                *slot = u32::try_from(v).unwrap_or(u32::MAX);
            }
            left -= v;
            continue;
        }
        // Nobody saturates at `share`: give it to all, then the remainder one
        // each to the largest volumes.
        let remainder = left - share * n;
        for (idx, (k, _)) in open.iter().rev().enumerate() {
            let extra = u64::from((idx as u64) < remainder);
            if let Some(slot) = out.get_mut(*k) {
                *slot = u32::try_from(share + extra).unwrap_or(u32::MAX);
            }
        }
        left = 0;
    }
    out
}

/// Splits `total` by the plan's allocation.
pub fn apportion<K: Ord + Clone>(
    allocation: Allocation,
    total: u32,
    volumes: &BTreeMap<K, u64>,
) -> BTreeMap<K, u32> {
    match allocation {
        Allocation::Proportional => apportion_proportional(total, volumes),
        Allocation::Equal => apportion_equal(total, volumes),
    }
}

/// The continuous equal split of `total` over expected volumes
/// (water-filling on reals): each stratum gets `min(volume, level)` with the
/// level set so that the shares add up to `total` (or to the whole volume).
pub fn equal_shares<K: Ord + Clone>(total: f64, volumes: &BTreeMap<K, f64>) -> BTreeMap<K, f64> {
    let mut out: BTreeMap<K, f64> = volumes.keys().map(|k| (k.clone(), 0.0)).collect();
    let mut open: Vec<(&K, f64)> = volumes
        .iter()
        .filter(|(_, v)| v.is_finite() && **v > 0.0)
        .map(|(k, v)| (k, *v))
        .collect();
    open.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(b.0)));
    let mut left = if total.is_finite() {
        total.max(0.0)
    } else {
        0.0
    };
    let mut n = open.len();
    for (k, v) in open {
        let share = if n > 0 { left / n as f64 } else { 0.0 };
        let give = share.min(v);
        if let Some(slot) = out.get_mut(k) {
            *slot = give;
        }
        left -= give;
        n -= 1;
    }
    out
}

/// The selection threshold of one stratum while the period runs.
/// `agent_threshold` is the agent's threshold at its expected volume `v`;
/// `expected` holds the agent's expected volume per stratum (from history).
/// Proportional allocation, or a stratum with no history, uses the agent's
/// threshold.
pub fn stratum_threshold(
    allocation: Allocation,
    agent_threshold: f64,
    expected_volume: f64,
    expected: &BTreeMap<StratumKey, f64>,
    stratum: &StratumKey,
) -> f64 {
    if allocation == Allocation::Proportional {
        return agent_threshold;
    }
    let Some(v_h) = expected
        .get(stratum)
        .copied()
        .filter(|v| v.is_finite() && *v > 0.0)
    else {
        return agent_threshold;
    };
    let target = agent_threshold * expected_volume;
    let shares = equal_shares(target, expected);
    let tau = shares.get(stratum).map_or(agent_threshold, |s| s / v_h);
    if tau.is_finite() {
        tau.clamp(0.0, 1.0)
    } else {
        agent_threshold
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::interaction::tests::{T0, valid_input};
    use crate::plan::{Stratification, StratumDimension};
    use proptest::prelude::*;

    fn vols(v: &[u64]) -> BTreeMap<usize, u64> {
        v.iter().copied().enumerate().collect()
    }

    fn vals(m: BTreeMap<usize, u32>) -> Vec<u32> {
        m.into_values().collect()
    }

    #[test]
    fn keys_name_the_dimensions() {
        let s = Stratification {
            dimensions: vec![
                StratumDimension::Channel,
                StratumDimension::TimeOfDay,
                StratumDimension::DayOfWeek,
                StratumDimension::Queue,
            ],
            allocation: Allocation::Proportional,
            band_starts: vec![0, 8, 17],
        };
        let i = Interaction::parse(valid_input(), T0).unwrap();
        // T0 is Monday 09:00 UTC, 10:00 in Paris.
        let paris = TimeZone::parse("Europe/Paris").unwrap();
        assert_eq!(
            stratum_of(&s, &i, &paris).as_str(),
            "channel=voice|tod=08-17|dow=mon|queue=billing"
        );
        let tokyo = TimeZone::parse("Asia/Tokyo").unwrap();
        assert_eq!(
            stratum_of(&s, &i, &tokyo).as_str(),
            "channel=voice|tod=17-24|dow=mon|queue=billing"
        );
        assert_eq!(StratumKey::none().as_str(), "");
        assert_eq!(StratumKey::from_stored("x").to_string(), "x");
    }

    #[test]
    fn proportional_worked_examples() {
        // 4 over 50/30/20 → 2.0/1.2/0.8 → 2/1/1.
        assert_eq!(
            vals(apportion_proportional(4, &vols(&[50, 30, 20]))),
            [2, 1, 1]
        );
        // 10 over 1/1/1 → 3.33 each → the tie goes to the smaller key.
        assert_eq!(
            vals(apportion_proportional(10, &vols(&[1, 1, 1]))),
            [4, 3, 3]
        );
        assert_eq!(vals(apportion_proportional(0, &vols(&[5, 5]))), [0, 0]);
        assert_eq!(vals(apportion_proportional(3, &vols(&[0, 0]))), [0, 0]);
        assert_eq!(vals(apportion_proportional(7, &vols(&[7, 0]))), [7, 0]);
    }

    #[test]
    fn equal_worked_examples() {
        assert_eq!(vals(apportion_equal(6, &vols(&[100, 100, 100]))), [2, 2, 2]);
        // A small stratum gives its unused share to the others.
        assert_eq!(vals(apportion_equal(6, &vols(&[1, 100, 100]))), [1, 2, 3]);
        assert_eq!(vals(apportion_equal(7, &vols(&[0, 10, 20]))), [0, 3, 4]);
        assert_eq!(vals(apportion_equal(100, &vols(&[2, 3]))), [2, 3]);
        assert_eq!(vals(apportion_equal(5, &vols(&[]))), Vec::<u32>::new());
    }

    #[test]
    fn equal_shares_and_thresholds() {
        let e: BTreeMap<StratumKey, f64> = [
            (StratumKey::from_stored("a"), 10.0),
            (StratumKey::from_stored("b"), 90.0),
        ]
        .into();
        let shares = equal_shares(10.0, &e);
        assert_eq!(shares.values().copied().collect::<Vec<_>>(), [5.0, 5.0]);
        let tau_a = stratum_threshold(
            Allocation::Equal,
            0.1,
            100.0,
            &e,
            &StratumKey::from_stored("a"),
        );
        let tau_b = stratum_threshold(
            Allocation::Equal,
            0.1,
            100.0,
            &e,
            &StratumKey::from_stored("b"),
        );
        assert!((tau_a - 0.5).abs() < 1e-12 && (tau_b - 5.0 / 90.0).abs() < 1e-12);
        // Unknown stratum or proportional: the agent's threshold.
        assert_eq!(
            stratum_threshold(
                Allocation::Equal,
                0.1,
                100.0,
                &e,
                &StratumKey::from_stored("c")
            ),
            0.1
        );
        assert_eq!(
            stratum_threshold(
                Allocation::Proportional,
                0.1,
                100.0,
                &e,
                &StratumKey::from_stored("a")
            ),
            0.1
        );
        // A stratum smaller than its share keeps all of it.
        let shares = equal_shares(30.0, &e);
        assert_eq!(shares.values().copied().collect::<Vec<_>>(), [10.0, 20.0]);
    }

    proptest! {
        #[test]
        fn apportionments_add_up_and_respect_volumes(
            v in proptest::collection::vec(0u64..500, 1..12), frac in 0.0f64..1.0,
        ) {
            let sum: u64 = v.iter().sum();
            let total = (sum as f64 * frac) as u32;
            let volumes = vols(&v);
            for alloc in [Allocation::Proportional, Allocation::Equal] {
                let out = apportion(alloc, total, &volumes);
                prop_assert_eq!(out.values().map(|x| u64::from(*x)).sum::<u64>(), u64::from(total));
                for (k, n) in &out {
                    prop_assert!(u64::from(*n) <= volumes[k]);
                }
            }
            let prop = apportion_proportional(total, &volumes);
            for (k, n) in &prop {
                let exact = f64::from(total) * volumes[k] as f64 / sum.max(1) as f64;
                prop_assert!((f64::from(*n) - exact).abs() < 1.0 + 1e-9);
            }
            // Equal: strata below their volume differ by at most one.
            let eq = apportion_equal(total, &volumes);
            let unsaturated: Vec<u32> = eq.iter().filter(|(k, n)| u64::from(**n) < volumes[*k]).map(|(_, n)| *n).collect();
            if let (Some(lo), Some(hi)) = (unsaturated.iter().min(), unsaturated.iter().max()) {
                prop_assert!(hi - lo <= 1);
                // And no saturated stratum got fewer than an unsaturated one could.
                for (k, n) in &eq {
                    if u64::from(*n) == volumes[k] && volumes[k] > 0 {
                        prop_assert!(*n <= *hi);
                    }
                }
            }
        }
    }
}
