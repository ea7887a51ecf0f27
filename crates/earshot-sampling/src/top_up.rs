//! Period close: top agents up to their random target and minimum.
//!
//! For one agent's period, given every eligible interaction with its draw,
//! stratum and whether it is already selected:
//!
//! 1. The random target `T` is computed from the *actual* volume
//!    ([`EffectiveQuota::random_target`]). With stratification, `T` is
//!    apportioned over the strata by their actual volumes, and each stratum
//!    short of its share takes its smallest unselected draws; what a stratum
//!    cannot supply is taken from the smallest draws elsewhere. Without,
//!    the agent takes its smallest unselected draws up to `T`.
//! 2. If all selections together are still below `min(min, volume)`, the
//!    smallest remaining draws are added.
//! 3. Nothing goes past the maximum: if room is short, the smallest draws of
//!    the picks are kept.
//!
//! Because random selections on arrival are the draws below a fixed
//! threshold, adding the next-smallest draws makes the period's random
//! selections its smallest draws overall: a simple random sample.

use std::cmp::Ordering;
use std::collections::{BTreeMap, BTreeSet};

use crate::plan::Allocation;
use crate::quota::EffectiveQuota;
use crate::stratification::{StratumKey, apportion};

/// How an eligible interaction stands before the close.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolState {
    /// Not selected by this plan.
    Unselected,
    /// Selected at random (on arrival, or by an earlier top-up).
    Random,
    /// Selected by a targeted rule.
    Targeted,
}

/// One eligible interaction of the agent's period.
#[derive(Debug, Clone, PartialEq)]
pub struct PoolItem<K> {
    /// The caller's key for it (an id or an index).
    pub key: K,
    /// Its draw for the plan.
    pub u: f64,
    /// Its stratum (empty without stratification).
    pub stratum: StratumKey,
    /// Whether it is already selected.
    pub state: PoolState,
}

/// What the close does for one agent's period.
#[derive(Debug, Clone, PartialEq)]
pub struct TopUp<K> {
    /// The interactions to select now (reason quota top-up), by increasing draw.
    pub picks: Vec<(K, StratumKey)>,
    /// The random target at the actual volume.
    pub random_target: u32,
    /// The per-stratum shares of the random target (empty without
    /// stratification).
    pub stratum_targets: BTreeMap<StratumKey, u32>,
    /// `min(min, volume)`.
    pub required: u32,
    /// All selections after the close.
    pub total_after: u32,
}

impl<K> TopUp<K> {
    /// True when the minimum is met after the close (as far as volume allows).
    pub fn min_met(&self) -> bool {
        self.total_after >= self.required
    }
}

fn by_draw<K>(items: &[PoolItem<K>], a: usize, b: usize) -> Ordering {
    match (items.get(a), items.get(b)) {
        (Some(x), Some(y)) => x.u.total_cmp(&y.u).then(a.cmp(&b)),
        _ => a.cmp(&b),
    }
}

/// Computes the close of one agent's period. `allocation` is `Some` for a
/// stratified plan.
pub fn top_up<K: Clone>(
    items: &[PoolItem<K>],
    quota: &EffectiveQuota,
    allocation: Option<Allocation>,
) -> TopUp<K> {
    let volume = items.len() as u64;
    let target = quota.random_target(volume);
    let required = quota.required(volume);
    let random_now = items
        .iter()
        .filter(|i| i.state == PoolState::Random)
        .count();
    let total_now = items
        .iter()
        .filter(|i| i.state != PoolState::Unselected)
        .count();

    // Unselected interactions by increasing draw.
    let mut free: Vec<usize> = (0..items.len())
        .filter(|n| {
            items
                .get(*n)
                .is_some_and(|i| i.state == PoolState::Unselected)
        })
        .collect();
    free.sort_by(|a, b| by_draw(items, *a, *b));

    let mut chosen: BTreeSet<usize> = BTreeSet::new();
    let mut stratum_targets = BTreeMap::new();
    let random_need = (target as usize).saturating_sub(random_now);
    match allocation {
        Some(alloc) => {
            let mut volumes: BTreeMap<StratumKey, u64> = BTreeMap::new();
            let mut random_by: BTreeMap<StratumKey, usize> = BTreeMap::new();
            for i in items {
                *volumes.entry(i.stratum.clone()).or_insert(0) += 1;
                if i.state == PoolState::Random {
                    *random_by.entry(i.stratum.clone()).or_insert(0) += 1;
                }
            }
            stratum_targets = apportion(alloc, target, &volumes);
            let mut carry = 0usize;
            for (stratum, share) in &stratum_targets {
                let have = random_by.get(stratum).copied().unwrap_or(0);
                let need = (*share as usize).saturating_sub(have);
                let taken: Vec<usize> = free
                    .iter()
                    .copied()
                    .filter(|n| items.get(*n).is_some_and(|i| &i.stratum == stratum))
                    .take(need)
                    .collect();
                carry += need - taken.len();
                chosen.extend(taken);
            }
            // Strata over their share do not reduce others' need, but the
            // agent's random sample as a whole stops at the target.
            let stratified_need = random_need.saturating_sub(chosen.len()).min(carry);
            let extra: Vec<usize> = free
                .iter()
                .copied()
                .filter(|n| !chosen.contains(n))
                .take(stratified_need)
                .collect();
            chosen.extend(extra);
        }
        None => chosen.extend(free.iter().copied().take(random_need)),
    }

    let short_of_min = (required as usize).saturating_sub(total_now + chosen.len());
    let extra: Vec<usize> = free
        .iter()
        .copied()
        .filter(|n| !chosen.contains(n))
        .take(short_of_min)
        .collect();
    chosen.extend(extra);

    let mut picks: Vec<usize> = chosen.into_iter().collect();
    picks.sort_by(|a, b| by_draw(items, *a, *b));
    if let Some(max) = quota.max {
        picks.truncate((max as usize).saturating_sub(total_now));
    }
    let total_after = u32::try_from(total_now + picks.len()).unwrap_or(u32::MAX);
    TopUp {
        picks: picks
            .into_iter()
            .filter_map(|n| items.get(n).map(|i| (i.key.clone(), i.stratum.clone())))
            .collect(),
        random_target: target,
        stratum_targets,
        required,
        total_after,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{PerAgentTarget, RandomTarget};
    use proptest::prelude::*;

    fn item(key: usize, u: f64, stratum: &str, state: PoolState) -> PoolItem<usize> {
        PoolItem {
            key,
            u,
            stratum: StratumKey::from_stored(stratum),
            state,
        }
    }

    fn quota(min: u32, max: Option<u32>, count: u32) -> EffectiveQuota {
        EffectiveQuota::new(
            &PerAgentTarget {
                min,
                max,
                random: RandomTarget::Count(count),
            },
            None,
        )
    }

    fn keys(t: &TopUp<usize>) -> Vec<usize> {
        t.picks.iter().map(|(k, _)| *k).collect()
    }

    #[test]
    fn tops_up_with_the_smallest_unselected_draws() {
        use PoolState::*;
        let items = vec![
            item(0, 0.01, "", Random),
            item(1, 0.50, "", Unselected),
            item(2, 0.20, "", Unselected),
            item(3, 0.90, "", Targeted),
            item(4, 0.30, "", Unselected),
        ];
        let t = top_up(&items, &quota(3, Some(8), 3), None);
        assert_eq!(keys(&t), [2, 4]);
        assert_eq!((t.random_target, t.required, t.total_after), (3, 3, 4));
        assert!(t.min_met());
    }

    #[test]
    fn the_minimum_counts_targeted_selections_and_the_maximum_holds() {
        use PoolState::*;
        let items: Vec<PoolItem<usize>> = (0..10)
            .map(|n| {
                item(
                    n,
                    n as f64 / 10.0,
                    "",
                    if n >= 7 { Targeted } else { Unselected },
                )
            })
            .collect();
        // Random target 2, minimum 6: 3 targeted + 2 random + 1 more.
        let t = top_up(&items, &quota(6, Some(9), 2), None);
        assert_eq!(keys(&t), [0, 1, 2]);
        assert_eq!(t.total_after, 6);
        // Maximum 4 leaves room for one pick only.
        let t = top_up(&items, &quota(6, Some(4), 2), None);
        assert_eq!(keys(&t), [0]);
        assert!(!t.min_met());
        // Too little volume: everything is taken and that is enough.
        let small = vec![item(0, 0.9, "", Unselected)];
        let t = top_up(&small, &quota(4, Some(8), 4), None);
        assert_eq!((keys(&t), t.required, t.min_met()), (vec![0], 1, true));
        // Nothing to do.
        let t = top_up::<usize>(&[], &quota(4, Some(8), 4), None);
        assert!(t.picks.is_empty() && t.min_met());
    }

    #[test]
    fn stratified_close_fills_each_stratum_then_borrows() {
        use PoolState::*;
        let items = vec![
            item(0, 0.10, "a", Unselected),
            item(1, 0.20, "a", Unselected),
            item(2, 0.30, "a", Unselected),
            item(3, 0.40, "a", Unselected),
            item(4, 0.05, "b", Random),
            item(5, 0.50, "b", Unselected),
            item(6, 0.60, "b", Unselected),
            item(7, 0.70, "b", Unselected),
        ];
        // Target 4 over 4/4 → 2 and 2; b has one already.
        let t = top_up(
            &items,
            &quota(4, Some(8), 4),
            Some(Allocation::Proportional),
        );
        assert_eq!(keys(&t), [0, 1, 5]);
        assert_eq!(
            t.stratum_targets.values().copied().collect::<Vec<_>>(),
            [2, 2]
        );
        // Equal allocation over a tiny stratum: c has 1, so its unused share
        // goes to the others.
        let mut with_c = items.clone();
        with_c.push(item(8, 0.99, "c", Targeted));
        let t = top_up(&with_c, &quota(6, Some(20), 6), Some(Allocation::Equal));
        assert_eq!(
            t.stratum_targets.values().copied().collect::<Vec<_>>(),
            [2, 3, 1]
        );
        // c's one interaction is already taken by a rule: borrowed from the smallest elsewhere.
        assert_eq!(keys(&t), [0, 1, 2, 5, 6]);
    }

    proptest! {
        /// Picks are unselected, distinct, within the maximum; the minimum is
        /// met when room and volume allow; unstratified random selections
        /// that were a prefix of the draws stay a prefix.
        #[test]
        fn close_invariants(
            draws in proptest::collection::vec((0.0f64..1.0, 0u8..3, 0u8..4), 0..60),
            min in 0u32..10, extra in 0u32..10, capped in any::<bool>(), count in 0u32..12,
            tau in 0.0f64..0.5, stratified in any::<bool>(),
        ) {
            let max = capped.then_some(min + extra);
            let count = max.map_or(count, |m| count.min(m));
            let q = EffectiveQuota::new(&PerAgentTarget { min, max, random: RandomTarget::Count(count) }, None);
            let items: Vec<PoolItem<usize>> = draws
                .iter()
                .enumerate()
                .map(|(n, (u, s, t))| {
                    let state = if *u < tau { PoolState::Random } else if *t == 0 { PoolState::Targeted } else { PoolState::Unselected };
                    item(n, *u, ["a", "b", "c"][usize::from(*s)], state)
                })
                .collect();
            let alloc = stratified.then_some(Allocation::Proportional);
            let t = top_up(&items, &q, alloc);
            let picked: BTreeSet<usize> = keys(&t).into_iter().collect();
            prop_assert_eq!(picked.len(), t.picks.len());
            for k in &picked {
                prop_assert_eq!(items[*k].state, PoolState::Unselected);
            }
            let before = items.iter().filter(|i| i.state != PoolState::Unselected).count() as u32;
            prop_assert_eq!(t.total_after, before + picked.len() as u32);
            if let Some(m) = max {
                prop_assert!(t.total_after <= m.max(before));
            }
            let free = items.len() as u32 - before;
            let room = max.map_or(u32::MAX, |m| m.saturating_sub(before));
            prop_assert!(t.total_after >= t.required.min(before + free.min(room)));
            if !stratified && max.is_none() {
                // Random selections (u < tau) plus picks are the smallest draws
                // among the items not taken by rules.
                let mut open: Vec<(f64, usize)> = items
                    .iter()
                    .filter(|i| i.state != PoolState::Targeted)
                    .map(|i| (i.u, i.key))
                    .collect();
                open.sort_by(|a, b| a.0.total_cmp(&b.0));
                let random: BTreeSet<usize> = items
                    .iter()
                    .filter(|i| i.state == PoolState::Random)
                    .map(|i| i.key)
                    .chain(picked.iter().copied())
                    .collect();
                let prefix: BTreeSet<usize> = open.iter().take(random.len()).map(|x| x.1).collect();
                prop_assert_eq!(random, prefix);
            }
        }
    }
}
