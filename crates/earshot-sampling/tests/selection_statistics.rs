//! Statistical and property tests of selection as a whole (issue 3, "Done
//! when"): determinism, per-agent minimum and maximum, strata proportions,
//! selected timestamps distributed like the population (Kolmogorov–Smirnov
//! and chi-square), and the textbook sample sizes.
//!
//! Every test is deterministic (fixed seeds), so a pass is a pass forever;
//! the statistical thresholds are set at α = 0.001 and each test carries a
//! negative control showing the test has the power to fail.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, BTreeSet};

use earshot_sampling::draw::draw;
use earshot_sampling::ids::{AgentId, PlanId};
use earshot_sampling::interaction::{Interaction, InteractionInput};
use earshot_sampling::plan::{
    Plan, PlanInput, PlanSpec, RandomTargetInput, RuleInput, StratificationInput, TargetInput,
};
use earshot_sampling::preview::{History, SimItem, Simulation, simulate};
use earshot_sampling::sample_size::ProportionTarget;
use earshot_sampling::selection::Reason;
use earshot_sampling::settings::Settings;
use earshot_sampling::stratification::StratumKey;
use earshot_sampling::targeted::LateFacts;
use earshot_sampling::time::{DAY_MS, HOUR_MS, MINUTE_MS};
use proptest::prelude::*;

/// Monday 2025-03-10T00:00:00Z.
const WEEK: i64 = 1_741_564_800_000;

/// splitmix64: a small deterministic generator for test data.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    fn f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }
    fn pick<T: Copy>(&mut self, weighted: &[(T, f64)]) -> T {
        let total: f64 = weighted.iter().map(|w| w.1).sum();
        let mut x = self.f64() * total;
        for (v, w) in weighted {
            if x < *w {
                return *v;
            }
            x -= w;
        }
        weighted.last().unwrap().0
    }
}

/// An arrival time in the week, shaped like a contact center's: Monday the
/// busiest, weekends quiet, a morning and an afternoon peak.
fn arrival(rng: &mut Rng) -> i64 {
    let day = rng.pick(&[
        (0, 0.24),
        (1, 0.20),
        (2, 0.18),
        (3, 0.16),
        (4, 0.12),
        (5, 0.07),
        (6, 0.03),
    ]);
    let centre = if rng.f64() < 0.6 { 10.5 } else { 15.0 };
    let bell = (0..4).map(|_| rng.f64()).sum::<f64>() - 2.0; // roughly N(0, 0.58)
    let hour = (centre + 2.5 * bell).clamp(8.0, 19.99);
    WEEK + day * DAY_MS + (hour * HOUR_MS as f64) as i64 + rng.below(60) as i64 * MINUTE_MS / 60
}

/// A week of interactions for `agents` agents with volumes in `volumes`.
fn week(seed: u64, agents: usize, volumes: std::ops::Range<u64>) -> Vec<Interaction> {
    let mut rng = Rng(seed);
    let mut out = Vec::new();
    for a in 0..agents {
        let n = volumes.start + rng.below(volumes.end - volumes.start);
        for k in 0..n {
            let at = arrival(&mut rng);
            let channel = rng.pick(&[(1, 0.6), (2, 0.3), (3, 0.1)]);
            let input = InteractionInput {
                id: format!("s{seed}-a{a}-{k}"),
                channel,
                direction: 1,
                agent_id: format!("agent-{a}"),
                team_id: format!("team-{}", a % 7),
                queue_id: "main".into(),
                arrived_ms: Some(at),
                answered_ms: Some(at + 20_000),
                ended_ms: Some(at + 20_000 + 240_000),
                talk_ms: Some(240_000),
                ..Default::default()
            };
            out.push(Interaction::parse(input, WEEK + 30 * DAY_MS).unwrap());
        }
    }
    out
}

fn items(all: &[Interaction]) -> Vec<SimItem<'_>> {
    all.iter()
        .map(|i| SimItem {
            interaction: i,
            facts: LateFacts::default(),
            already_selected: false,
        })
        .collect()
}

fn plan(seed: u64, edit: impl FnOnce(&mut PlanInput)) -> Plan {
    let mut input = PlanInput {
        display_name: "Test plan".into(),
        period: 2,
        target: Some(TargetInput {
            min_per_agent: 4,
            max_per_agent: 8,
            random: RandomTargetInput::Unset,
        }),
        ..Default::default()
    };
    edit(&mut input);
    Plan::create(
        PlanId::parse("plan").unwrap(),
        PlanSpec::parse(&input).unwrap(),
        seed,
        0,
    )
}

/// History that misjudges each agent's volume by a factor in `[lo, hi)`.
fn misjudged_history(all: &[Interaction], seed: u64, lo: f64, hi: f64) -> History {
    let mut actual: BTreeMap<AgentId, u64> = BTreeMap::new();
    for i in all {
        *actual.entry(i.agent.clone().unwrap()).or_insert(0) += 1;
    }
    let mut rng = Rng(seed);
    let agent_volumes = actual
        .into_iter()
        .map(|(a, v)| {
            let f = lo + (hi - lo) * rng.f64();
            (a, vec![((v as f64) * f).round().max(1.0) as u64])
        })
        .collect();
    History {
        agent_volumes,
        ..Default::default()
    }
}

fn random_ids(sim: &Simulation) -> BTreeSet<usize> {
    sim.selections
        .iter()
        .filter(|s| s.reason.is_random())
        .map(|s| s.item)
        .collect()
}

/// One-sample Kolmogorov–Smirnov distance between the selected times and
/// the population's empirical distribution.
fn ks_distance(population: &[i64], selected: &[i64]) -> f64 {
    let mut pop = population.to_vec();
    let mut sel = selected.to_vec();
    pop.sort_unstable();
    sel.sort_unstable();
    let mut points: Vec<i64> = pop.iter().chain(sel.iter()).copied().collect();
    points.sort_unstable();
    points.dedup();
    let cdf = |v: &[i64], x: i64| v.partition_point(|t| *t <= x) as f64 / v.len() as f64;
    points
        .iter()
        .map(|x| (cdf(&pop, *x) - cdf(&sel, *x)).abs())
        .fold(0.0, f64::max)
}

/// The Kolmogorov distribution's upper tail: P(D > d) for n observations.
fn ks_p_value(d: f64, n: usize) -> f64 {
    let sn = (n as f64).sqrt();
    let lambda = (sn + 0.12 + 0.11 / sn) * d;
    let mut sum = 0.0;
    for k in 1..=100 {
        let k = k as f64;
        let term = 2.0 * (-1f64).powf(k - 1.0) * (-2.0 * k * k * lambda * lambda).exp();
        sum += term;
        if term.abs() < 1e-12 {
            break;
        }
    }
    sum.clamp(0.0, 1.0)
}

/// Chi-square statistic of selected counts per local weekday against the
/// population's shares.
fn day_of_week_chi2(population: &[i64], selected: &[i64]) -> f64 {
    let day = |t: &i64| ((t - WEEK) / DAY_MS).clamp(0, 6) as usize;
    let mut pop = [0f64; 7];
    let mut sel = [0f64; 7];
    population.iter().for_each(|t| pop[day(t)] += 1.0);
    selected.iter().for_each(|t| sel[day(t)] += 1.0);
    let (np, ns) = (population.len() as f64, selected.len() as f64);
    (0..7)
        .map(|d| {
            let expected = ns * pop[d] / np;
            (sel[d] - expected).powi(2) / expected
        })
        .sum()
}

#[test]
fn selection_is_deterministic() {
    let all = week(1, 40, 20..120);
    let history = misjudged_history(&all, 2, 0.6, 1.6);
    let p = plan(99, |_| {});
    let a = simulate(&p, &Settings::default(), &items(&all), &history);
    let b = simulate(&p, &Settings::default(), &items(&all), &history);
    assert_eq!(a.selections, b.selections);
    // Another seed, another sample.
    let c = simulate(
        &plan(100, |_| {}),
        &Settings::default(),
        &items(&all),
        &history,
    );
    assert_ne!(random_ids(&a), random_ids(&c));
}

#[test]
fn the_sample_does_not_depend_on_ingest_order() {
    let all = week(3, 40, 20..120);
    let history = misjudged_history(&all, 4, 0.8, 2.0);
    // A generous maximum, so that it never binds.
    let p = plan(7, |i| {
        i.target = Some(TargetInput {
            min_per_agent: 4,
            max_per_agent: 1000,
            random: RandomTargetInput::Unset,
        })
    });
    let forward = simulate(&p, &Settings::default(), &items(&all), &history);
    let mut reversed = all.clone();
    reversed.reverse();
    let mut shuffled = all.clone();
    let mut rng = Rng(5);
    for i in (1..shuffled.len()).rev() {
        shuffled.swap(i, rng.below(i as u64 + 1) as usize);
    }
    let ids = |sim: &Simulation, src: &[Interaction]| -> BTreeSet<String> {
        sim.selections
            .iter()
            .filter(|s| s.reason.is_random())
            .map(|s| src[s.item].id.to_string())
            .collect()
    };
    let base = ids(&forward, &all);
    assert_eq!(
        base,
        ids(
            &simulate(&p, &Settings::default(), &items(&reversed), &history),
            &reversed
        )
    );
    assert_eq!(
        base,
        ids(
            &simulate(&p, &Settings::default(), &items(&shuffled), &history),
            &shuffled
        )
    );
}

#[test]
fn random_selections_are_the_smallest_draws_of_each_agent() {
    let all = week(6, 60, 5..150);
    let history = misjudged_history(&all, 7, 0.7, 2.5);
    let p = plan(8, |i| {
        i.target = Some(TargetInput {
            min_per_agent: 5,
            max_per_agent: 1000,
            random: RandomTargetInput::Unset,
        })
    });
    let sim = simulate(&p, &Settings::default(), &items(&all), &history);
    let mut by_agent: BTreeMap<&AgentId, Vec<(f64, usize)>> = BTreeMap::new();
    for (n, i) in all.iter().enumerate() {
        by_agent
            .entry(i.agent.as_ref().unwrap())
            .or_default()
            .push((draw(p.seed, i.id.as_str()), n));
    }
    let selected = random_ids(&sim);
    let mut topped_up = 0;
    for (agent, mut draws) in by_agent {
        draws.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mine: BTreeSet<usize> = draws
            .iter()
            .map(|d| d.1)
            .filter(|n| selected.contains(n))
            .collect();
        let smallest: BTreeSet<usize> = draws.iter().take(mine.len()).map(|d| d.1).collect();
        assert_eq!(mine, smallest, "{agent}");
        assert!(mine.len() >= 5.min(draws.len()), "{agent}");
        topped_up += sim
            .agents
            .iter()
            .filter(|a| &a.agent == agent)
            .map(|a| a.counts.top_up)
            .sum::<u32>();
    }
    assert!(topped_up > 0, "the scenario exercises the top-up");
}

#[test]
fn selected_times_follow_the_population() {
    // 200 agents, a week shaped like a contact center's, volumes misjudged
    // by a factor of 0.6 to 1.6, plan 4 to 8 per agent.
    let all = week(11, 200, 20..200);
    let history = misjudged_history(&all, 12, 0.6, 1.6);
    let sim = simulate(
        &plan(13, |_| {}),
        &Settings::default(),
        &items(&all),
        &history,
    );
    let population: Vec<i64> = all.iter().map(|i| i.arrived_ms).collect();
    let selected: Vec<i64> = sim
        .selections
        .iter()
        .filter(|s| s.reason.is_random())
        .map(|s| all[s.item].arrived_ms)
        .collect();
    assert!(selected.len() >= 800, "{}", selected.len());
    let d = ks_distance(&population, &selected);
    let p = ks_p_value(d, selected.len());
    assert!(
        p > 0.001,
        "KS D = {d:.4}, p = {p:.5}, n = {}",
        selected.len()
    );
    // Chi-square over the days of the week: 6 degrees of freedom, 0.999 quantile 22.46.
    let chi2 = day_of_week_chi2(&population, &selected);
    assert!(chi2 < 22.46, "chi2 = {chi2:.2}");

    // Negative control: the first four interactions of each agent's week.
    let mut by_agent: BTreeMap<&AgentId, Vec<i64>> = BTreeMap::new();
    for i in &all {
        by_agent
            .entry(i.agent.as_ref().unwrap())
            .or_default()
            .push(i.arrived_ms);
    }
    let first_four: Vec<i64> = by_agent
        .into_values()
        .flat_map(|mut v| {
            v.sort_unstable();
            v.into_iter().take(4)
        })
        .collect();
    let d_bad = ks_distance(&population, &first_four);
    assert!(
        ks_p_value(d_bad, first_four.len()) < 1e-6,
        "KS must reject first-N: D = {d_bad}"
    );
    assert!(day_of_week_chi2(&population, &first_four) > 22.46);
}

#[test]
fn strata_follow_the_allocation() {
    let all = week(21, 300, 60..140);
    let mut history = misjudged_history(&all, 22, 0.7, 1.5);
    // Equal allocation sets each stratum's threshold from the agent's volume
    // per stratum in the previous period (here: this week's, misjudged alike).
    let mut actual: BTreeMap<AgentId, f64> = BTreeMap::new();
    for i in &all {
        *actual.entry(i.agent.clone().unwrap()).or_insert(0.0) += 1.0;
    }
    for i in &all {
        let key = StratumKey::from_stored(format!("channel={}", i.channel.as_str()));
        let agent = i.agent.clone().unwrap();
        let factor = history.agent_volumes[&agent][0] as f64 / actual[&agent];
        *history
            .agent_strata
            .entry(agent)
            .or_default()
            .entry(key)
            .or_insert(0.0) += factor;
    }
    let stratified = |allocation| {
        plan(23, move |i| {
            i.target = Some(TargetInput {
                min_per_agent: 6,
                max_per_agent: 12,
                random: RandomTargetInput::Count(9),
            });
            i.stratification = Some(StratificationInput {
                dimensions: vec![1],
                allocation,
                band_start_hours: vec![],
            });
        })
    };
    // Proportional: each channel's share of the sample within 2 points of its
    // share of the volume (60 / 30 / 10).
    let sim = simulate(&stratified(1), &Settings::default(), &items(&all), &history);
    let eligible: u64 = sim.strata.values().map(|s| s.eligible).sum();
    let selected: u64 = sim.strata.values().map(|s| s.selected).sum();
    assert_eq!(sim.strata.len(), 3);
    for (key, s) in &sim.strata {
        let (pe, ps) = (
            s.eligible as f64 / eligible as f64,
            s.selected as f64 / selected as f64,
        );
        assert!(
            (pe - ps).abs() < 0.02,
            "{key}: {pe:.3} of volume, {ps:.3} of sample"
        );
    }
    // Every agent reached at least its apportioned share in every stratum.
    for a in &sim.agents {
        assert!(
            a.counts.random + a.counts.top_up >= a.random_target,
            "{}",
            a.agent
        );
    }
    // Equal: each channel about a third of the sample (email has enough volume).
    let sim = simulate(&stratified(2), &Settings::default(), &items(&all), &history);
    let selected: u64 = sim.strata.values().map(|s| s.selected).sum();
    for (key, s) in &sim.strata {
        let share = s.selected as f64 / selected as f64;
        assert!((share - 1.0 / 3.0).abs() < 0.05, "{key}: {share:.3}");
    }
}

#[test]
fn late_facts_select_by_rule_within_caps() {
    let all = week(31, 30, 40..60);
    let mut sims: Vec<SimItem<'_>> = items(&all);
    // Every tenth interaction got a CSAT of 1.
    for (n, s) in sims.iter_mut().enumerate() {
        if n % 10 == 0 {
            s.facts.min_csat = Some(1);
        }
    }
    let p = plan(32, |i| {
        i.rules = vec![RuleInput {
            rule_id: "low-csat".into(),
            kind: 1,
            csat_at_most: 2,
            priority: 1,
            cap_per_agent: 2,
            ..Default::default()
        }];
    });
    let sim = simulate(&p, &Settings::default(), &sims, &History::default());
    for a in &sim.agents {
        assert!(a.counts.targeted <= 2);
        assert!(a.counts.total() <= 8);
    }
    let targeted = sim
        .selections
        .iter()
        .filter(|s| matches!(s.reason, Reason::Targeted(_)))
        .count();
    assert!(targeted >= 30, "{targeted}");
}

#[test]
fn textbook_sample_sizes() {
    let t = ProportionTarget::parse(0.95, 0.05, 0.5).unwrap();
    assert_eq!(t.size(None), 385);
    assert_eq!(t.size(Some(1000)), 278);
}

fn arb_target() -> impl Strategy<Value = TargetInput> {
    (
        0i32..7,
        0i32..7,
        prop::bool::ANY,
        0u8..4,
        0i32..10,
        0.01f64..0.5,
    )
        .prop_map(|(min, extra, capped, kind, count, rate)| {
            let max = if capped { min + extra.max(1) } else { 0 };
            let random = match kind {
                0 => RandomTargetInput::Unset,
                1 => RandomTargetInput::Count(if capped { count.min(max) } else { count }),
                2 => RandomTargetInput::Rate(rate),
                _ => RandomTargetInput::Significance(0.8, 0.2, 0.5),
            };
            TargetInput {
                min_per_agent: min,
                max_per_agent: max,
                random,
            }
        })
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Whatever the plan, volumes and history: no agent ever exceeds the
    /// maximum, every agent reaches min(minimum, volume), every rule keeps its
    /// caps, and the random sample reaches its target as far as the maximum
    /// allows.
    #[test]
    fn min_and_max_always_hold(
        target in arb_target(),
        seed in any::<u64>(),
        data_seed in 0u64..1000,
        agents in 1usize..8,
        hi in 1u64..80,
        factor in 0.1f64..4.0,
        with_rules in any::<bool>(),
    ) {
        let all = week(data_seed, agents, 0..hi);
        let history = misjudged_history(&all, data_seed + 1, factor, factor * 1.5);
        let mut input = PlanInput {
            display_name: "p".into(),
            period: 2,
            target: Some(target),
            ..Default::default()
        };
        if with_rules {
            input.rules = vec![
                RuleInput { rule_id: "xfer".into(), kind: 6, priority: 1, cap_per_agent: 1, cap_per_period: 3, ..Default::default() },
                RuleInput { rule_id: "csat".into(), kind: 1, csat_at_most: 3, priority: 2, cap_per_agent: 2, ..Default::default() },
            ];
        }
        let Ok(spec) = PlanSpec::parse(&input) else { return Ok(()); };
        let p = Plan::create(PlanId::parse("p").unwrap(), spec, seed, 0);
        let mut rng = Rng(data_seed);
        let facts: Vec<LateFacts> = all.iter().map(|_| LateFacts { min_csat: (rng.f64() < 0.2).then_some(1), ..Default::default() }).collect();
        let sims: Vec<SimItem<'_>> = all.iter().zip(&facts).map(|(i, f)| SimItem { interaction: i, facts: *f, already_selected: false }).collect();
        let sim = simulate(&p, &Settings::default(), &sims, &history);
        let mut per_period_rule: BTreeMap<String, u32> = BTreeMap::new();
        for a in &sim.agents {
            let total = a.counts.total();
            prop_assert!(a.quota.max.is_none_or(|m| total <= m), "max: {total} > {:?}", a.quota.max);
            let required = a.quota.required(a.counts.eligible);
            prop_assert!(total >= required, "min: {total} < {required}");
            for (rule, n) in &a.counts.by_rule {
                let cap = if rule.as_str() == "xfer" { 1 } else { 2 };
                prop_assert!(*n <= cap);
                *per_period_rule.entry(rule.to_string()).or_insert(0) += n;
            }
            // The random sample reaches its target, unless the maximum or the
            // interactions left after targeted selections stop it.
            let random = a.counts.random + a.counts.top_up;
            let room = a.quota.max.map_or(u32::MAX, |m| m - a.counts.targeted);
            let left = u32::try_from(a.counts.eligible).unwrap() - a.counts.targeted;
            prop_assert!(random >= a.random_target.min(room).min(left), "random {random} < target {}", a.random_target);
        }
        prop_assert!(per_period_rule.get("xfer").copied().unwrap_or(0) <= 3);
        prop_assert_eq!(sim.selections.len() as u32, sim.agents.iter().map(|a| a.counts.total()).sum::<u32>());
    }
}
