//! The reporting store on SQLite and PostgreSQL: stored cells equal the
//! in-memory reference `rollup::Rollups` on random histories, a duplicate
//! batch is a no-op, a cursor compare-and-set conflict is detected, a grain
//! and the quality summary added by upgrades are built from the stored
//! cells, and reports read from the store equal the reference's.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;

use chrono_tz::Tz;
use earshot_kit::{
    auth::Tenant,
    db::Db,
    testing::{Engine, TestStorage},
    with_tx,
};
use earshot_reporting::calendar::DateRange;
use earshot_reporting::dimension::Channel;
use earshot_reporting::dimension::Dimension;
use earshot_reporting::dimension::Filter;
use earshot_reporting::facts::*;
use earshot_reporting::rollup::cells::{InteractionCell, QualityCell, QuestionCell};
use earshot_reporting::rollup::contribution::{RollupContext, contribution};
use earshot_reporting::rollup::cover::signed_cover;
use earshot_reporting::rollup::keys::CellKey;
use earshot_reporting::rollup::keys::{
    Grain, InteractionKey, QualityKey, QualitySummaryKey, QuestionKey,
};
use earshot_reporting::rollup::{DEFAULT_GRAINS, Rollups};
use earshot_reporting::rollup::{Family, group_by, total};
use earshot_reporting::store::{self, Applied, Batch, Change, FactChange, Source};

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn pick<'a>(&mut self, v: &'a [&'a str]) -> &'a str {
        v[self.below(v.len() as u64) as usize]
    }
}

const T0: i64 = 1_767_225_600_000; // 2026-01-01T00:00Z

fn context(r: &mut Rng, id: u64) -> InteractionContext {
    InteractionContext {
        // Spread over ~70 days so months and days both get cells.
        start_ms: T0 + (id as i64 % 70) * 86_400_000 + (id as i64 % 24) * 3_600_000,
        channel: Channel::ALL[(id % 3) as usize],
        agent_id: format!("a{}", id % 5),
        team_id: r.pick(&["t1", "t2"]).to_owned(),
        queue_id: format!("q{}", id % 2),
    }
}

fn random_change(r: &mut Rng, contexts: &BTreeMap<u64, InteractionContext>) -> (String, Change) {
    let id = r.below(contexts.len() as u64);
    let ctx = contexts[&id].clone();
    let change = match r.below(7) {
        0 | 1 => Change::Interaction(InteractionFact {
            context: ctx,
            direction: [Direction::Inbound, Direction::Outbound][r.below(2) as usize],
            disposition: [
                Disposition::Handled,
                Disposition::Abandoned,
                Disposition::Other,
            ][r.below(3) as usize],
            wait_ms: r.below(60_000) as i64,
            talk_ms: r.below(600_000) as i64,
            hold_ms: r.below(60_000) as i64,
            after_call_work_ms: r.below(120_000) as i64,
            transferred: r.below(4) == 0,
            resolution: [
                Resolution::Unknown,
                Resolution::Resolved,
                Resolution::NotResolved,
            ][r.below(3) as usize],
        }),
        2 => Change::Survey(SurveyFact {
            sent: true,
            csat: Some(1 + r.below(5) as u8).filter(|_| r.below(4) != 0),
            nps: Some(r.below(11) as u8).filter(|_| r.below(3) != 0),
        }),
        3 => Change::Complaint(Complaint {
            complaint_id: format!("c{}", r.below(2)),
            category: r.pick(&["Billing", "Rude", ""]).to_owned(),
            resolved: r.below(2) == 0,
        }),
        4 => Change::FcrVoided,
        5 => Change::EvaluationRemoved(format!("e{id}-{}", r.below(2))),
        _ => Change::Evaluation(EvaluationFact {
            evaluation_id: format!("e{id}-{}", r.below(2)),
            context: ctx,
            scorecard_id: r.pick(&["sc1", "sc2"]).to_owned(),
            evaluator_id: r.pick(&["ev1", "ev2"]).to_owned(),
            score: Score::from_hundredths(r.below(10_001) as i64),
            passed: r.below(2) == 0,
            critical_failure: r.below(5) == 0,
            released: r.below(2) == 0,
            questions: (0..r.below(4))
                .map(|q| QuestionResult {
                    question_id: format!("q{q}"),
                    outcome: [
                        QuestionOutcome::Passed,
                        QuestionOutcome::Failed,
                        QuestionOutcome::NotApplicable,
                    ][r.below(3) as usize],
                })
                .collect(),
        }),
    };
    (format!("i{id}"), change)
}

async fn assert_same(db: &Db, tenant: &Tenant, reference: &Rollups) {
    for grain in DEFAULT_GRAINS {
        let got: BTreeMap<InteractionKey, InteractionCell> = store::cells_at(db, tenant, grain)
            .await
            .unwrap()
            .into_iter()
            .collect();
        let want: BTreeMap<InteractionKey, InteractionCell> = reference
            .interactions
            .at(grain)
            .map(|(k, c)| (k.clone(), c.clone()))
            .collect();
        for (k, v) in &want {
            assert_eq!(got.get(k), Some(v), "{k:?}");
        }
        assert_eq!(got, want, "interaction cells at {grain:?}");
        let got: BTreeMap<QualityKey, QualityCell> = store::cells_at(db, tenant, grain)
            .await
            .unwrap()
            .into_iter()
            .collect();
        let want: BTreeMap<QualityKey, QualityCell> = reference
            .quality
            .at(grain)
            .map(|(k, c)| (k.clone(), c.clone()))
            .collect();
        assert_eq!(got, want, "quality cells at {grain:?}");
        let got: BTreeMap<QualitySummaryKey, QualityCell> = store::cells_at(db, tenant, grain)
            .await
            .unwrap()
            .into_iter()
            .collect();
        let want: BTreeMap<QualitySummaryKey, QualityCell> = reference
            .quality_summary
            .at(grain)
            .map(|(k, c)| (k.clone(), c.clone()))
            .collect();
        assert_eq!(got, want, "quality summary cells at {grain:?}");
        let got: BTreeMap<QuestionKey, QuestionCell> = store::cells_at(db, tenant, grain)
            .await
            .unwrap()
            .into_iter()
            .collect();
        let want: BTreeMap<QuestionKey, QuestionCell> = reference
            .questions
            .at(grain)
            .map(|(k, c)| (k.clone(), c.clone()))
            .collect();
        assert_eq!(got, want, "question cells at {grain:?}");
    }
}

/// Reports read from the store (filtered and grouped from the stored rows)
/// equal the reference's over random periods, groupings and filters.
async fn assert_reads_same(db: &Db, tenant: &Tenant, reference: &Rollups, r: &mut Rng) {
    let first = chrono::NaiveDate::from_ymd_opt(2025, 12, 25).unwrap();
    for _ in 0..12 {
        let start = first + chrono::Days::new(r.below(80));
        let range = DateRange::new(start, start + chrono::Days::new(r.below(80))).unwrap();
        let mut f = Filter::default();
        match r.below(5) {
            0 => {
                f.teams.insert("t1".into());
            }
            1 => {
                f.agents.insert("a1".into());
                f.agents.insert("a3".into());
            }
            2 => {
                f.channels.insert(Channel::Chat);
                f.released_only = true;
            }
            3 => {
                f.queues.insert("q0".into());
            }
            _ => {}
        }
        for dim in [
            Dimension::Center,
            Dimension::Agent,
            Dimension::Team,
            Dimension::Queue,
            Dimension::Channel,
            Dimension::Scorecard,
            Dimension::Evaluator,
        ] {
            let want = group_by(reference.interactions.scan(range), dim, &f);
            let got =
                store::scan_grouped::<InteractionKey, InteractionCell>(db, tenant, range, dim, &f)
                    .await;
            match want {
                Ok(want) => {
                    let got = got.unwrap();
                    assert_eq!(got.groups, want, "{range:?} {dim:?} {f:?}");
                    assert_eq!(got.total, total(reference.interactions.scan(range), &f));
                    assert_eq!(got.cells, signed_read(&reference.interactions, range));
                }
                Err(_) => assert!(got.is_err(), "{dim:?}"),
            }
            // Quality reads pick the summary unless the evaluator matters;
            // either way the figures are the full quality cells'.
            let mut fe = f.clone();
            if r.below(3) == 0 {
                fe.evaluators.insert("ev1".into());
            }
            let want = group_by(reference.quality.scan(range), dim, &fe).unwrap();
            let got = store::scan_quality_grouped(db, tenant, range, dim, &fe)
                .await
                .unwrap();
            assert_eq!(got.groups, want, "{range:?} {dim:?} {fe:?}");
            assert_eq!(got.total, total(reference.quality.scan(range), &fe));
        }
        // The plain read returns exactly the reference's cells.
        let mut got: Vec<(QualityKey, QualityCell)> = store::scan(db, tenant, range).await.unwrap();
        got.sort_by(|a, b| a.0.cmp(&b.0));
        let want: Vec<(QualityKey, QualityCell)> = reference
            .quality
            .scan(range)
            .into_iter()
            .map(|(k, c)| (k.clone(), c.clone()))
            .collect();
        assert_eq!(got, want);
    }
}

fn batch(source: Source, after: i64, changes: Vec<FactChange>) -> Batch {
    Batch {
        source,
        after,
        last: after + changes.len().max(1) as i64,
        head: after + changes.len().max(1) as i64,
        last_occurred_at: T0,
        time_zones: Vec::new(),
        changes,
    }
}

#[tokio::test]
async fn stored_cells_equal_the_reference_on_random_histories() {
    for engine in Engine::available() {
        let storage = TestStorage::new(engine).await.unwrap();
        let db = storage
            .open("reporting", earshot_reporting::spec().migrations)
            .await
            .unwrap();
        let acme = Tenant::trusted("acme");
        let globex = Tenant::trusted("globex");
        for seed in [7u64, 99, 12_345] {
            let mut r = Rng(seed);
            // A fresh tenant per seed, so each history starts empty.
            let tenant = Tenant::trusted(format!("acme-{seed}"));
            let contexts: BTreeMap<u64, InteractionContext> =
                (0..12).map(|i| (i, context(&mut r, i))).collect();
            let mut records: BTreeMap<String, InteractionRecord> = BTreeMap::new();
            let mut reference = Rollups::default();
            let ctx = RollupContext::default();
            let mut cursor = store::cursor(&db, Source::Scoring).await.unwrap().seq;
            for _ in 0..25 {
                let n = 1 + r.below(8);
                let mut changes = Vec::new();
                for _ in 0..n {
                    let (id, change) = random_change(&mut r, &contexts);
                    let rec = records.entry(id.clone()).or_default();
                    let old = contribution(rec, &ctx);
                    store::apply_change(rec, &change);
                    reference.apply_change(&old, &contribution(rec, &ctx));
                    changes.push(FactChange {
                        tenant: tenant.clone(),
                        interaction_id: id,
                        change,
                    });
                }
                let b = batch(Source::Scoring, cursor, changes);
                assert_eq!(store::apply(&db, &b, 1).await.unwrap(), Applied::Applied);
                cursor = b.last;
                // Redelivered under a moved cursor (a source replaying
                // facts): records do not change, so cells do not either.
                let again = batch(Source::Scoring, cursor, b.changes.clone());
                assert_eq!(
                    store::apply(&db, &again, 1).await.unwrap(),
                    Applied::Applied
                );
                cursor = again.last;
            }
            assert_same(&db, &tenant, &reference).await;
            assert_reads_same(&db, &tenant, &reference, &mut r).await;
            for (id, rec) in &records {
                assert_eq!(
                    store::record(&db, &tenant, id).await.unwrap().as_ref(),
                    Some(rec)
                );
            }
        }
        // Other tenants saw nothing.
        assert_same(&db, &acme, &Rollups::default()).await;
        assert_same(&db, &globex, &Rollups::default()).await;
    }
}

#[tokio::test]
async fn a_month_minus_its_days_outside_the_period_drops_their_groups() {
    for engine in Engine::available() {
        let storage = TestStorage::new(engine).await.unwrap();
        let db = storage
            .open("reporting", earshot_reporting::spec().migrations)
            .await
            .unwrap();
        let tenant = Tenant::trusted("acme");
        // a1 on 1 January only; a2 on 2, 3 and 5 January.
        let fact = |agent: &str, day: i64| {
            Change::Interaction(InteractionFact {
                context: InteractionContext {
                    start_ms: T0 + day * 86_400_000 + 3_600_000,
                    channel: Channel::Voice,
                    agent_id: agent.into(),
                    team_id: "t1".into(),
                    queue_id: "q1".into(),
                },
                direction: Direction::Inbound,
                disposition: Disposition::Handled,
                wait_ms: 1_000,
                talk_ms: 60_000,
                hold_ms: 0,
                after_call_work_ms: 5_000,
                transferred: false,
                resolution: Resolution::Resolved,
            })
        };
        let changes = [
            ("i1", "a1", 0),
            ("i2", "a2", 1),
            ("i3", "a2", 2),
            ("i4", "a2", 4),
        ]
        .into_iter()
        .map(|(id, agent, day)| FactChange {
            tenant: tenant.clone(),
            interaction_id: id.into(),
            change: fact(agent, day),
        })
        .collect();
        let cursor = store::cursor(&db, Source::Sampling).await.unwrap().seq;
        let b = batch(Source::Sampling, cursor, changes);
        assert_eq!(store::apply(&db, &b, 1).await.unwrap(), Applied::Applied);

        // 2 January to 31 March reads January's month cell minus 1 January
        // (two pieces with data against four days): a1's cells cancel out.
        let jan = |d| chrono::NaiveDate::from_ymd_opt(2026, 1, d).unwrap();
        let range = DateRange::new(
            jan(2),
            chrono::NaiveDate::from_ymd_opt(2026, 3, 31).unwrap(),
        )
        .unwrap();
        let span = DateRange::new(jan(1), jan(5)).unwrap();
        assert!(
            signed_cover(range, &DEFAULT_GRAINS, Some(span))
                .iter()
                .any(|s| s.negative && s.piece.start == jan(1)),
            "the read subtracts 1 January"
        );
        let got = store::scan_grouped::<InteractionKey, InteractionCell>(
            &db,
            &tenant,
            range,
            Dimension::Agent,
            &Filter::default(),
        )
        .await
        .unwrap();
        assert_eq!(got.groups.keys().collect::<Vec<_>>(), vec!["a2"]);
        assert_eq!(got.groups["a2"].interactions, 3);
        assert_eq!(got.total.interactions, 3);
        // The same figures as the cells inside the period, added.
        let inside: Vec<(InteractionKey, InteractionCell)> =
            store::scan(&db, &tenant, range).await.unwrap();
        assert_eq!(inside.iter().map(|(_, c)| c.interactions).sum::<i64>(), 3);
    }
}

#[tokio::test]
async fn duplicate_batches_and_cursor_conflicts_change_nothing() {
    for engine in Engine::available() {
        let storage = TestStorage::new(engine).await.unwrap();
        let db = storage
            .open("reporting", earshot_reporting::spec().migrations)
            .await
            .unwrap();
        let acme = Tenant::trusted("acme");
        let mut r = Rng(5);
        let contexts: BTreeMap<u64, InteractionContext> =
            (0..6).map(|i| (i, context(&mut r, i))).collect();
        let changes: Vec<FactChange> = (0..20)
            .map(|_| {
                let (id, change) = random_change(&mut r, &contexts);
                FactChange {
                    tenant: acme.clone(),
                    interaction_id: id,
                    change,
                }
            })
            .collect();
        let mut b = batch(Source::Sampling, 0, changes);
        b.time_zones = vec![(acme.clone(), Tz::Europe__Paris)];
        assert_eq!(store::apply(&db, &b, 10).await.unwrap(), Applied::Applied);
        let snapshot = |db: Db| async move {
            let mut v = Vec::new();
            for g in DEFAULT_GRAINS {
                let i: Vec<(InteractionKey, InteractionCell)> =
                    store::cells_at(&db, &Tenant::trusted("acme"), g)
                        .await
                        .unwrap();
                let q: Vec<(QualityKey, QualityCell)> =
                    store::cells_at(&db, &Tenant::trusted("acme"), g)
                        .await
                        .unwrap();
                v.push(format!("{i:?}{q:?}"));
            }
            v
        };
        let before = snapshot(db.clone()).await;
        assert!(!before.iter().all(String::is_empty));
        // The same batch again (a second replica, or a retry after a lost
        // commit acknowledgement): the cursor is past it, nothing applies.
        assert_eq!(store::apply(&db, &b, 11).await.unwrap(), Applied::Conflict);
        assert_eq!(snapshot(db.clone()).await, before);
        // A batch read after a stale cursor conflicts too.
        let stale = batch(Source::Sampling, 3, b.changes.clone());
        assert_eq!(
            store::apply(&db, &stale, 12).await.unwrap(),
            Applied::Conflict
        );
        let c = store::cursor(&db, Source::Sampling).await.unwrap();
        assert_eq!((c.seq, c.last_applied_at), (b.last, 10));
        // Two replicas racing on the same cursor: exactly one applies.
        let next = batch(Source::Sampling, b.last, b.changes[..3].to_vec());
        let (x, y) = tokio::join!(store::apply(&db, &next, 13), store::apply(&db, &next, 14));
        let mut outcomes = [x.unwrap(), y.unwrap()];
        outcomes.sort_by_key(|a| *a == Applied::Applied);
        assert_eq!(outcomes, [Applied::Conflict, Applied::Applied]);
        assert_eq!(
            store::time_zone(&db, &acme).await.unwrap(),
            Tz::Europe__Paris
        );
        // Other sources' cursors did not move.
        assert_eq!(store::cursor(&db, Source::Scoring).await.unwrap().seq, 0);
    }
}

async fn sql(db: &Db, statement: &str) {
    let mut tx = db.begin().await.unwrap();
    with_tx!(tx, |c| sqlx::query(sqlx::AssertSqlSafe(
        statement.to_owned()
    ))
    .execute(&mut *c)
    .await
    .map(|_| ()))
    .unwrap();
    tx.commit().await.unwrap();
}

#[tokio::test]
async fn an_upgrade_builds_the_ten_day_grain_and_the_quality_summary() {
    for engine in Engine::available() {
        let storage = TestStorage::new(engine).await.unwrap();
        let db = storage
            .open("reporting", earshot_reporting::spec().migrations)
            .await
            .unwrap();
        let mut r = Rng(2_024);
        let mut reference = Rollups::default();
        let ctx = RollupContext::default();
        let mut records: BTreeMap<String, InteractionRecord> = BTreeMap::new();
        let mut cursor = 0;
        for tenant in ["acme", "globex"] {
            let tenant = Tenant::trusted(tenant);
            // Spread over 70 days: all three ten-days of January and February.
            let contexts: BTreeMap<u64, InteractionContext> =
                (0..12).map(|i| (i, context(&mut r, i * 6))).collect();
            let mut changes = Vec::new();
            for _ in 0..120 {
                let (id, change) = random_change(&mut r, &contexts);
                if tenant.id() == "acme" {
                    let rec = records.entry(id.clone()).or_default();
                    let old = contribution(rec, &ctx);
                    store::apply_change(rec, &change);
                    reference.apply_change(&old, &contribution(rec, &ctx));
                }
                changes.push(FactChange {
                    tenant: tenant.clone(),
                    interaction_id: id,
                    change,
                });
            }
            let b = batch(Source::Sampling, cursor, changes);
            assert_eq!(store::apply(&db, &b, 1).await.unwrap(), Applied::Applied);
            cursor = b.last;
        }
        let acme = Tenant::trusted("acme");
        assert_same(&db, &acme, &reference).await;
        // The state an upgrade starts from: day and month cells, no ten-day
        // grain listed, and a stray ten-day cell (as a replica of the new
        // version could have written) that the build must not count twice.
        sql(&db, "DELETE FROM rollup_grains WHERE grain IN (3, 4)").await;
        // ... and before 0003: no quality summary, but a stray summary cell.
        sql(&db, "DELETE FROM rollup_families WHERE family = 3").await;
        sql(
            &db,
            "DELETE FROM cells WHERE family = 3 AND NOT (tenant_id = 'acme' AND grain = 1)",
        )
        .await;
        sql(
            &db,
            "INSERT INTO cells (tenant_id, family, grain, day, cell_key, body)
             SELECT tenant_id, family, grain, day, 'stray' || cell_key, body FROM cells
             WHERE grain IN (3, 4) AND tenant_id = 'acme'",
        )
        .await;
        sql(
            &db,
            "DELETE FROM cells WHERE grain IN (3, 4) AND tenant_id = 'globex'",
        )
        .await;
        store::build_grains(&db).await.unwrap();
        assert_same(&db, &acme, &reference).await;
        // A second start changes nothing.
        store::build_grains(&db).await.unwrap();
        assert_same(&db, &acme, &reference).await;
        // Reads over random periods (which now use ten-day cells) equal the
        // reference's.
        let first = chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap();
        for _ in 0..40 {
            let start = first + chrono::Days::new(r.below(60));
            let range = DateRange::new(start, start + chrono::Days::new(r.below(70))).unwrap();
            let got: Vec<(InteractionKey, InteractionCell)> =
                store::scan(&db, &acme, range).await.unwrap();
            let got: InteractionCell = total(got.iter().map(|(k, c)| (k, c)), &Filter::default());
            let want: InteractionCell =
                total(reference.interactions.scan(range), &Filter::default());
            assert_eq!(got, want, "{range:?}");
            let got: Vec<(QualityKey, QualityCell)> = store::scan(&db, &acme, range).await.unwrap();
            let got: QualityCell = total(got.iter().map(|(k, c)| (k, c)), &Filter::default());
            let want: QualityCell = total(reference.quality.scan(range), &Filter::default());
            assert_eq!(got, want, "{range:?}");
        }
        // Globex's ten-day cells were rebuilt too: their sum equals its days'.
        let globex = Tenant::trusted("globex");
        let days: Vec<(InteractionKey, InteractionCell)> =
            store::cells_at(&db, &globex, Grain::Day).await.unwrap();
        let tens: Vec<(InteractionKey, InteractionCell)> =
            store::cells_at(&db, &globex, Grain::TenDay).await.unwrap();
        assert!(!tens.is_empty());
        assert_eq!(
            total(days.iter().map(|(k, c)| (k, c)), &Filter::default()),
            total(tens.iter().map(|(k, c)| (k, c)), &Filter::default())
        );
        // And its quality summary: the quality cells merged over evaluators.
        for grain in DEFAULT_GRAINS {
            let q: Vec<(QualityKey, QualityCell)> =
                store::cells_at(&db, &globex, grain).await.unwrap();
            let summary: Vec<(QualitySummaryKey, QualityCell)> =
                store::cells_at(&db, &globex, grain).await.unwrap();
            assert!(!summary.is_empty());
            assert!(summary.len() <= q.len());
            assert_eq!(
                total(q.iter().map(|(k, c)| (k, c)), &Filter::default()),
                total(summary.iter().map(|(k, c)| (k, c)), &Filter::default())
            );
        }
    }
}

/// How many stored cells a grouped read of `range` takes: its signed cover,
/// priced by the span of the family's day cells, as the store reads it.
fn signed_read<K: CellKey, C: earshot_reporting::rollup::cells::Cell>(
    family: &Family<K, C>,
    range: DateRange,
) -> usize {
    let days: Vec<_> = family.at(Grain::Day).map(|(k, _)| k.date()).collect();
    let span = days
        .iter()
        .min()
        .zip(days.iter().max())
        .and_then(|(lo, hi)| DateRange::new(*lo, *hi).ok());
    signed_cover(range, &DEFAULT_GRAINS, span)
        .iter()
        .map(|s| {
            family
                .at(s.piece.grain)
                .filter(|(k, _)| k.date() == s.piece.start)
                .count()
        })
        .sum()
}
