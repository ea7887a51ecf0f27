//! Property tests of the rollups: incremental maintenance equals a rebuild,
//! coarser grains equal merged finer ones, and a covered scan equals the raw
//! facts of the period. Generators are shared with other modules' tests.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use chrono_tz::Tz;
use proptest::prelude::*;

use super::cells::{Cell, InteractionCell, QualityCell};
use super::contribution::{RollupContext, ServiceLevelThresholds, contribution};
use super::keys::{CellKey, Grain, QualitySummaryKey};
use super::*;
use crate::calendar::{DateRange, local_date};
use crate::dimension::{Channel, Dimension, Filter};
use crate::facts::*;

/// 2025-01-01T00:00:00Z.
pub(crate) const T0: i64 = 1_735_689_600_000;
/// Two years in ms.
pub(crate) const SPAN: i64 = 730 * 86_400_000;

pub(crate) fn arb_context() -> impl Strategy<Value = InteractionContext> {
    (0..SPAN, 0usize..3, 0u8..5, 0u8..3, 0u8..3).prop_map(|(t, c, a, tm, q)| InteractionContext {
        start_ms: T0 + t,
        channel: [Channel::Voice, Channel::Chat, Channel::Email][c],
        agent_id: format!("a{a}"),
        team_id: format!("t{tm}"),
        queue_id: format!("q{q}"),
    })
}

fn arb_interaction(ctx: InteractionContext) -> impl Strategy<Value = InteractionFact> {
    (
        0usize..4,
        0usize..3,
        0i64..200_000,
        0i64..1_200_000,
        0i64..300_000,
        0i64..300_000,
        any::<bool>(),
        0usize..3,
    )
        .prop_map(
            move |(dir, disp, wait, talk, hold, acw, transferred, res)| {
                let disposition = [
                    Disposition::Handled,
                    Disposition::Abandoned,
                    Disposition::Other,
                ][disp];
                InteractionFact {
                    context: ctx.clone(),
                    direction: [
                        Direction::Inbound,
                        Direction::Outbound,
                        Direction::Internal,
                        Direction::Unknown,
                    ][dir],
                    disposition,
                    wait_ms: wait,
                    talk_ms: talk,
                    hold_ms: hold,
                    after_call_work_ms: acw,
                    transferred,
                    resolution: [
                        Resolution::Unknown,
                        Resolution::Resolved,
                        Resolution::NotResolved,
                    ][res],
                }
            },
        )
}

fn arb_evaluation(ctx: InteractionContext, id: usize) -> impl Strategy<Value = EvaluationFact> {
    (
        0u8..2,
        0u8..3,
        0i64..=10_000,
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        proptest::collection::btree_map(0u8..5, 0usize..3, 0..5),
    )
        .prop_map(
            move |(sc, ev, score, passed, critical, released, qs)| EvaluationFact {
                evaluation_id: format!("ev{id}"),
                context: ctx.clone(),
                scorecard_id: format!("s{sc}"),
                evaluator_id: format!("e{ev}"),
                score: Score::from_hundredths(score),
                passed,
                critical_failure: critical,
                released,
                questions: qs
                    .into_iter()
                    .map(|(q, o)| QuestionResult {
                        question_id: format!("q{q}"),
                        outcome: [
                            QuestionOutcome::Passed,
                            QuestionOutcome::Failed,
                            QuestionOutcome::NotApplicable,
                        ][o],
                    })
                    .collect(),
            },
        )
}

/// A random record: any subset of its parts present.
pub(crate) fn arb_record() -> impl Strategy<Value = InteractionRecord> {
    arb_context().prop_flat_map(|ctx| {
        (
            proptest::option::of(arb_interaction(ctx.clone())),
            proptest::option::of((
                any::<bool>(),
                proptest::option::of(1u8..=5),
                proptest::option::of(0u8..=10),
            )),
            proptest::collection::vec((0usize..3, any::<bool>()), 0..3),
            any::<bool>(),
            (0usize..3).prop_flat_map(move |n| {
                let c = ctx.clone();
                (0..n)
                    .map(move |i| arb_evaluation(c.clone(), i))
                    .collect::<Vec<_>>()
            }),
        )
            .prop_map(
                |(interaction, survey, complaints, fcr_voided, evaluations)| InteractionRecord {
                    interaction,
                    survey: survey.map(|(sent, csat, nps)| SurveyFact { sent, csat, nps }),
                    complaints: complaints
                        .into_iter()
                        .enumerate()
                        .map(|(i, (c, resolved))| Complaint {
                            complaint_id: format!("c{i}"),
                            category: ["Billing", " Rude agent ", ""][c].to_owned(),
                            resolved,
                        })
                        .collect(),
                    fcr_voided,
                    evaluations,
                },
            )
    })
}

pub(crate) fn ctx() -> RollupContext {
    RollupContext {
        time_zone: Tz::Europe__Paris,
        service_level: ServiceLevelThresholds {
            default_ms: 20_000,
            by_channel: BTreeMap::from([(Channel::Chat, 60_000)]),
        },
    }
}

fn rebuild(records: &BTreeMap<usize, InteractionRecord>, grains: &[Grain]) -> Rollups {
    let mut r = Rollups::new(grains);
    for rec in records.values() {
        r.add(&contribution(rec, &ctx()));
    }
    r
}

fn d(y: i32, m: u32, day: u32) -> NaiveDate {
    NaiveDate::from_ymd_opt(y, m, day).unwrap_or(NaiveDate::MIN)
}

fn handled_call() -> InteractionRecord {
    InteractionRecord {
        interaction: Some(InteractionFact {
            context: InteractionContext {
                // 2026-01-15T09:30:00Z
                start_ms: 1_768_469_400_000,
                channel: Channel::Voice,
                agent_id: "a1".into(),
                team_id: "t1".into(),
                queue_id: "q1".into(),
            },
            direction: Direction::Inbound,
            disposition: Disposition::Handled,
            wait_ms: 15_000,
            talk_ms: 240_000,
            hold_ms: 30_000,
            after_call_work_ms: 60_000,
            transferred: true,
            resolution: Resolution::Resolved,
        }),
        survey: Some(SurveyFact {
            sent: true,
            csat: Some(4),
            nps: Some(6),
        }),
        complaints: vec![Complaint {
            complaint_id: "c1".into(),
            category: "Billing".into(),
            resolved: false,
        }],
        fcr_voided: false,
        evaluations: vec![],
    }
}

#[test]
fn worked_contribution_of_a_call() {
    let c = contribution(&handled_call(), &ctx());
    let (key, cell) = c.interaction.clone().expect("an interaction cell");
    assert_eq!(key.date, d(2026, 1, 15));
    assert_eq!((cell.interactions, cell.offered, cell.abandoned), (1, 1, 0));
    assert_eq!(cell.answered_within_threshold, 1);
    assert_eq!(cell.handle.sum, 330_000);
    assert_eq!(
        (cell.talk.sum, cell.hold.sum, cell.after_call_work.sum),
        (240_000, 30_000, 60_000)
    );
    assert_eq!(cell.speed_of_answer.sum, 15_000);
    assert_eq!(
        (cell.transferred, cell.fcr_known, cell.fcr_resolved),
        (1, 1, 1)
    );
    assert_eq!((cell.surveys_sent, cell.surveys_answered), (1, 1));
    assert_eq!(cell.csat, [0, 0, 0, 1, 0]);
    assert_eq!(cell.nps[6], 1);
    assert_eq!(cell.complaints["Billing"].count, 1);
    assert_eq!(cell.evaluated, 0);
    assert!(c.quality.is_empty());
}

#[test]
fn rescoring_and_late_facts_update_cells() {
    let mut rollups = Rollups::default();
    let mut rec = handled_call();
    let mut old = contribution(&rec, &ctx());
    rollups.add(&old);

    let context = rec.context().cloned().unwrap_or_else(|| unreachable!());
    let eval = |score: i64, passed: bool| EvaluationFact {
        evaluation_id: "ev1".into(),
        context: context.clone(),
        scorecard_id: "s1".into(),
        evaluator_id: "e1".into(),
        score: Score::from_hundredths(score),
        passed,
        critical_failure: false,
        released: true,
        questions: vec![QuestionResult {
            question_id: "greet".into(),
            outcome: if passed {
                QuestionOutcome::Passed
            } else {
                QuestionOutcome::Failed
            },
        }],
    };
    let mut step = |rec: &InteractionRecord, rollups: &mut Rollups| {
        let new = contribution(rec, &ctx());
        rollups.apply_change(&old, &new);
        old = new;
    };
    rec.upsert_evaluation(eval(6_000, false));
    step(&rec, &mut rollups);
    // Disputed and re-scored: 60 → 85, now passing.
    rec.upsert_evaluation(eval(8_500, true));
    step(&rec, &mut rollups);
    // A repeat contact voids FCR.
    rec.fcr_voided = true;
    step(&rec, &mut rollups);
    // The same event delivered again changes nothing.
    step(&rec, &mut rollups);

    // The re-score replaced the first score at every grain.
    for grain in [Grain::Day, Grain::TenDay, Grain::Month] {
        let q: Vec<_> = rollups.quality.at(grain).collect();
        assert_eq!(q.len(), 1, "{grain:?}");
        assert_eq!(q[0].0.date, grain.start_of(d(2026, 1, 15)));
        assert_eq!(q[0].1.scores, crate::stats::Moments::of(8_500));
        assert_eq!(q[0].1.passed, 1);
    }
    let cells: Vec<_> = rollups.interactions.at(Grain::Month).collect();
    assert_eq!(cells.len(), 1);
    assert_eq!(
        (
            cells[0].1.fcr_known,
            cells[0].1.fcr_resolved,
            cells[0].1.evaluated
        ),
        (1, 0, 1)
    );
    let questions: Vec<_> = rollups.questions.at(Grain::Day).collect();
    assert_eq!(questions.len(), 1);
    assert_eq!((questions[0].1.passed, questions[0].1.failed), (1, 0));
    // Passed, CSAT 4 (satisfied), NPS 6 (detractor), FCR voided.
    assert_eq!(questions[0].1.csat, [[1, 0], [0, 0]]);
    assert_eq!(questions[0].1.nps, [[0, 0, 1], [0, 0, 0]]);
    assert_eq!(questions[0].1.fcr, [[0, 1], [0, 0]]);

    let mut fresh = Rollups::default();
    fresh.add(&contribution(&rec, &ctx()));
    assert_eq!(rollups, fresh);
}

#[test]
fn evaluation_before_interaction_moves_nothing_twice() {
    let call = handled_call();
    let context = call.context().cloned().unwrap_or_else(|| unreachable!());
    let mut rec = InteractionRecord::default();
    rec.upsert_evaluation(EvaluationFact {
        evaluation_id: "ev1".into(),
        context,
        scorecard_id: "s".into(),
        evaluator_id: "e".into(),
        score: Score::from_hundredths(9_000),
        passed: true,
        critical_failure: false,
        released: false,
        questions: vec![],
    });
    let mut rollups = Rollups::default();
    let first = contribution(&rec, &ctx());
    assert!(first.interaction.is_none());
    assert_eq!(first.quality.len(), 1);
    rollups.add(&first);
    rec.interaction = call.interaction.clone();
    let second = contribution(&rec, &ctx());
    rollups.apply_change(&first, &second);
    assert_eq!(rollups.quality.at(Grain::Day).count(), 1);
    assert_eq!(
        rollups
            .interactions
            .at(Grain::Day)
            .next()
            .map(|(_, c)| c.evaluated),
        Some(1)
    );
}

#[test]
fn abandoned_and_service_level_by_channel() {
    let mut rec = handled_call();
    let mut rollups = Rollups::default();
    if let Some(i) = rec.interaction.as_mut() {
        i.context.channel = Channel::Chat;
        i.wait_ms = 45_000; // within chat's 60 s, not voice's 20 s
    }
    rollups.add(&contribution(&rec, &ctx()));
    if let Some(i) = rec.interaction.as_mut() {
        i.disposition = Disposition::Abandoned;
    }
    rollups.add(&contribution(&rec, &ctx()));
    let cell: InteractionCell = total(rollups.interactions.at(Grain::Day), &Filter::default());
    assert_eq!(
        (cell.offered, cell.abandoned, cell.answered_within_threshold),
        (2, 1, 1)
    );
    assert_eq!(cell.handle.count, 1);
}

#[test]
fn empty_record_contributes_nothing() {
    let rec = InteractionRecord {
        survey: Some(SurveyFact {
            sent: true,
            csat: Some(5),
            nps: None,
        }),
        ..InteractionRecord::default()
    };
    assert_eq!(contribution(&rec, &ctx()), Contribution::default());
}

#[test]
fn local_day_follows_the_tenant_zone() {
    let mut rec = handled_call();
    if let Some(i) = rec.interaction.as_mut() {
        // 2026-01-15T23:30:00Z is 16 January in Paris.
        i.context.start_ms = 1_768_519_800_000;
    }
    let c = contribution(&rec, &ctx());
    assert_eq!(c.interaction.map(|(k, _)| k.date), Some(d(2026, 1, 16)));
}

#[test]
fn grouping_rejects_unknown_dimensions() {
    let mut rollups = Rollups::default();
    rollups.add(&contribution(&handled_call(), &ctx()));
    let r = group_by(
        rollups.interactions.at(Grain::Day),
        Dimension::Evaluator,
        &Filter::default(),
    );
    assert_eq!(r, Err(UnsupportedDimension(Dimension::Evaluator)));
    let by_team = group_by(
        rollups.interactions.at(Grain::Day),
        Dimension::Team,
        &Filter::default(),
    );
    assert_eq!(
        by_team.map(|m| m.keys().cloned().collect::<Vec<_>>()),
        Ok(vec!["t1".to_owned()])
    );
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn incremental_equals_rebuild(
        updates in proptest::collection::vec((0usize..8, arb_record()), 1..40)
    ) {
        let grains = [Grain::Day, Grain::TenDay, Grain::Month, Grain::Year];
        let mut current: BTreeMap<usize, InteractionRecord> = BTreeMap::new();
        let mut rollups = Rollups::new(&grains);
        for (slot, record) in updates {
            let old = current.get(&slot).map(|r| contribution(r, &ctx())).unwrap_or_default();
            let new = contribution(&record, &ctx());
            rollups.apply_change(&old, &new);
            current.insert(slot, record);
        }
        prop_assert_eq!(&rollups, &rebuild(&current, &grains));
        // Removing everything leaves nothing behind.
        for r in current.values() {
            rollups.subtract(&contribution(r, &ctx()));
        }
        prop_assert_eq!(rollups, Rollups::new(&grains));
    }

    #[test]
    fn coarser_grains_equal_merged_days(records in proptest::collection::vec(arb_record(), 0..30)) {
        let mut rollups = Rollups::new(&[Grain::Day, Grain::TenDay, Grain::Month, Grain::Year]);
        for r in &records {
            rollups.add(&contribution(r, &ctx()));
        }
        for grain in [Grain::TenDay, Grain::Month, Grain::Year] {
            let mut merged: BTreeMap<_, InteractionCell> = BTreeMap::new();
            for (k, c) in rollups.interactions.at(Grain::Day) {
                merged.entry(k.with_date(grain.start_of(k.date))).or_default().add(c);
            }
            let stored: BTreeMap<_, _> = rollups.interactions.at(grain).map(|(k, c)| (k.clone(), c.clone())).collect();
            prop_assert_eq!(merged, stored);
            let mut merged: BTreeMap<_, QualityCell> = BTreeMap::new();
            for (k, c) in rollups.quality.at(Grain::Day) {
                merged.entry(k.with_date(grain.start_of(k.date))).or_default().add(c);
            }
            let stored: BTreeMap<_, _> = rollups.quality.at(grain).map(|(k, c)| (k.clone(), c.clone())).collect();
            prop_assert_eq!(merged, stored);
        }
    }

    #[test]
    fn covered_scan_equals_raw_facts(
        records in proptest::collection::vec(arb_record(), 0..40),
        start in 0i64..700,
        len in 1i64..400,
    ) {
        let mut rollups = Rollups::default();
        for r in &records {
            rollups.add(&contribution(r, &ctx()));
        }
        let first = d(2025, 1, 1) + chrono::Days::new(start as u64);
        let range = DateRange::new(first, first + chrono::Days::new(len as u64 - 1))
            .unwrap_or_else(|_| unreachable!());
        let mut raw_i = InteractionCell::default();
        let mut raw_q = QualityCell::default();
        for r in &records {
            let Some(c) = r.context() else { continue };
            if !range.contains(local_date(c.start_ms, Tz::Europe__Paris)) {
                continue;
            }
            let contrib = contribution(r, &ctx());
            if let Some((_, cell)) = &contrib.interaction {
                raw_i.add(cell);
            }
            for (_, cell) in &contrib.quality {
                raw_q.add(cell);
            }
        }
        let scanned_i: InteractionCell = total(rollups.interactions.scan(range), &Filter::default());
        let scanned_q: QualityCell = total(rollups.quality.scan(range), &Filter::default());
        prop_assert_eq!(scanned_i, raw_i);
        prop_assert_eq!(scanned_q, raw_q);
    }
}

fn arb_filter() -> impl Strategy<Value = Filter> {
    (0u8..6, 0u8..6, 0u8..4, 0usize..4, 0u8..3, any::<bool>()).prop_map(
        |(a, t, q, c, s, released_only)| {
            let mut f = Filter::default();
            // Values past the generators' range leave the field open.
            if a < 5 {
                f.agents.insert(format!("a{a}"));
            }
            if t < 3 {
                f.teams.insert(format!("t{t}"));
            }
            if q < 3 {
                f.queues.insert(format!("q{q}"));
            }
            if c < 3 {
                f.channels
                    .insert([Channel::Voice, Channel::Chat, Channel::Email][c]);
            }
            if s < 2 {
                f.scorecards.insert(format!("s{s}"));
            }
            f.released_only = released_only;
            f
        },
    )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    /// The quality summary holds exactly the quality cells merged over
    /// evaluators at every grain (after any re-scores and retractions), so
    /// every report that neither groups nor filters by evaluator reads the
    /// same figures from either.
    #[test]
    fn quality_summary_equals_quality_merged_over_evaluators(
        updates in proptest::collection::vec((0usize..8, proptest::option::of(arb_record())), 1..40),
        start in 0i64..700,
        len in 1i64..400,
        filter in arb_filter(),
    ) {
        let grains = [Grain::Day, Grain::TenDay, Grain::Month];
        let mut current: BTreeMap<usize, InteractionRecord> = BTreeMap::new();
        let mut rollups = Rollups::new(&grains);
        for (slot, record) in updates {
            let old = current.get(&slot).map(|r| contribution(r, &ctx())).unwrap_or_default();
            // `None` retracts the record's evaluations.
            let record = record.unwrap_or_else(|| {
                let mut r = current.get(&slot).cloned().unwrap_or_default();
                r.evaluations.clear();
                r
            });
            rollups.apply_change(&old, &contribution(&record, &ctx()));
            current.insert(slot, record);
        }
        for grain in grains {
            let mut merged: BTreeMap<QualitySummaryKey, QualityCell> = BTreeMap::new();
            for (k, c) in rollups.quality.at(grain) {
                merged.entry(QualitySummaryKey::of(k)).or_default().add(c);
            }
            merged.retain(|_, c| !c.is_zero());
            let stored: BTreeMap<_, _> =
                rollups.quality_summary.at(grain).map(|(k, c)| (k.clone(), c.clone())).collect();
            prop_assert_eq!(merged, stored);
        }
        let first = d(2025, 1, 1) + chrono::Days::new(start as u64);
        let range = DateRange::new(first, first + chrono::Days::new(len as u64 - 1))
            .unwrap_or_else(|_| unreachable!());
        for dim in [Dimension::Center, Dimension::Agent, Dimension::Team, Dimension::Queue,
                    Dimension::Channel, Dimension::Scorecard] {
            prop_assert!(QualitySummaryKey::serves(dim, &filter));
            let full = group_by(rollups.quality.scan(range), dim, &filter);
            let summary = group_by(rollups.quality_summary.scan(range), dim, &filter);
            prop_assert_eq!(full, summary);
        }
        prop_assert_eq!(
            total(rollups.quality.scan(range), &filter),
            total(rollups.quality_summary.scan(range), &filter)
        );
        let mut by_evaluator = filter.clone();
        by_evaluator.evaluators.insert("e1".into());
        prop_assert!(!QualitySummaryKey::serves(Dimension::Agent, &by_evaluator));
        prop_assert!(!QualitySummaryKey::serves(Dimension::Evaluator, &filter));
    }
}

#[test]
fn ninety_day_agent_report_reads_14_rows_per_agent() {
    // 200 agents, one handled call each per day for 120 days (UTC tenant):
    // a 90-day report reads 6 + 4 day cells, 1 + 1 ten-day cells and 2 month
    // cells per agent, however long the history is.
    let ctx = RollupContext::default();
    let mut rollups = Rollups::default();
    let agents = 200;
    let day0 = 1_767_225_600_000i64; // 2026-01-01T00:00:00Z
    for day in 0..120i64 {
        for a in 0..agents {
            let rec = InteractionRecord {
                interaction: Some(InteractionFact {
                    context: InteractionContext {
                        start_ms: day0 + day * 86_400_000 + 36_000_000,
                        channel: Channel::Voice,
                        agent_id: format!("agent-{a:04}"),
                        team_id: format!("team-{}", a % 20),
                        queue_id: "q".into(),
                    },
                    direction: Direction::Inbound,
                    disposition: Disposition::Handled,
                    wait_ms: 5_000,
                    talk_ms: 200_000,
                    hold_ms: 0,
                    after_call_work_ms: 30_000,
                    transferred: false,
                    resolution: Resolution::Unknown,
                }),
                ..InteractionRecord::default()
            };
            rollups.add(&contribution(&rec, &ctx));
        }
    }
    let range = DateRange::new(d(2026, 1, 15), d(2026, 4, 14)).expect("range");
    let rows = rollups.interactions.scan(range);
    assert_eq!(rows.len(), agents * 14);
    let by_agent = group_by(rows, Dimension::Agent, &Filter::default()).expect("agents");
    assert_eq!(by_agent.len(), agents);
    assert!(by_agent.values().all(|c| c.interactions == 90));
}

fn arb_wild_record() -> impl Strategy<Value = InteractionRecord> {
    (
        arb_record(),
        any::<i64>(),
        any::<i64>(),
        any::<i64>(),
        any::<u8>(),
        any::<u8>(),
    )
        .prop_map(|(mut r, start, wait, talk, csat, nps)| {
            if let Some(i) = r.interaction.as_mut() {
                i.context.start_ms = start;
                i.wait_ms = wait;
                i.talk_ms = talk;
                i.hold_ms = i64::MAX;
            }
            if let Some(s) = r.survey.as_mut() {
                s.csat = Some(csat);
                s.nps = Some(nps);
            }
            r
        })
}

proptest! {
    /// Facts that skipped validation still never panic and never produce
    /// NaN figures.
    #[test]
    fn unvalidated_facts_never_panic(records in proptest::collection::vec(arb_wild_record(), 0..10)) {
        use crate::metrics::{GroupStats, Metric};
        let mut rollups = Rollups::new(&[Grain::Day, Grain::Month, Grain::Year]);
        for r in &records {
            rollups.add(&contribution(r, &ctx()));
        }
        let stats = GroupStats {
            quality: total(rollups.quality.at(Grain::Day), &Filter::default()),
            interactions: total(rollups.interactions.at(Grain::Day), &Filter::default()),
        };
        for m in Metric::ALL {
            let e = m.estimate(&stats, 5);
            prop_assert!(e.value.is_finite() && e.ci_low.is_finite() && e.ci_high.is_finite());
            let c = m.compare(&stats, &GroupStats::default(), 5);
            prop_assert!(c.p_value.is_finite());
        }
        for r in &records {
            rollups.subtract(&contribution(r, &ctx()));
        }
        prop_assert_eq!(rollups, Rollups::new(&[Grain::Day, Grain::Month, Grain::Year]));
    }
}
