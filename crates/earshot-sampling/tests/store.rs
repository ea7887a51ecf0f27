//! The store on both engines: the background sweeps (period close with
//! top-up, overdue assignments) and their safety when several replicas run
//! them at once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use earshot_kit::{
    auth::Tenant,
    testing::{Engine, TestStorage},
    time::{from_millis, now_millis},
};
use earshot_proto::common::v1 as common;
use earshot_proto::sampling::v1 as pb;
use earshot_sampling::store::Store;

const DAY: i64 = 24 * 3_600_000;

fn interaction(id: &str, agent: &str, arrived: i64) -> pb::Interaction {
    pb::Interaction {
        id: id.into(),
        channel: common::Channel::Chat as i32,
        direction: common::Direction::Inbound as i32,
        agent_id: agent.into(),
        team_id: "t".into(),
        arrived_time: Some(from_millis(arrived)),
        ended_time: Some(from_millis(arrived + 60_000)),
        ..Default::default()
    }
}

async fn open(storage: &TestStorage) -> Store {
    Store::new(
        storage
            .open("sampling", earshot_sampling::spec().migrations)
            .await
            .unwrap(),
    )
}

fn plan() -> pb::SamplingPlan {
    pb::SamplingPlan {
        display_name: "Daily".into(),
        period: common::Granularity::Day as i32,
        target: Some(pb::PerAgentTarget {
            min_per_agent: 5,
            max_per_agent: 5,
            random_target: None,
        }),
        expected_agent_volume: 100_000,
        due: Some(pb::DueRule {
            due_within: Some(prost_types::Duration {
                seconds: 3600,
                nanos: 0,
            }),
            business_hours_only: false,
        }),
        ..Default::default()
    }
}

#[tokio::test]
async fn sweeps_close_periods_once_even_with_two_replicas() {
    for engine in Engine::available() {
        let storage = TestStorage::new(engine).await.unwrap();
        // Two replicas: two stores over the same database.
        let a = open(&storage).await;
        let b = open(&storage).await;
        let tenant = Tenant::trusted("acme");
        let now = now_millis();
        let p = a
            .create_plan(&tenant, &plan(), "", ("alice", "admin"), now)
            .await
            .unwrap();
        let two_days_ago = now - now.rem_euclid(DAY) - 2 * DAY;
        let batch: Vec<pb::Interaction> = (0..40)
            .map(|n| interaction(&format!("i-{n}"), "agent-1", two_days_ago + n * 60_000))
            .collect();
        let r = a.ingest(&tenant, batch, now).await.unwrap();
        assert_eq!(r.counts.created, 40);
        assert_eq!(
            r.selected, 0,
            "{engine:?}: a huge expected volume selects nothing on arrival"
        );

        // Both replicas sweep at once: the period is closed exactly once.
        let (x, y) = tokio::join!(
            earshot_sampling::tasks::sweep_once(&a),
            earshot_sampling::tasks::sweep_once(&b)
        );
        let _ = (x, y);
        let closed = a
            .close_period(&tenant, &p.id, two_days_ago, false, now)
            .await
            .unwrap();
        assert!(closed.selections.is_empty(), "{engine:?}: already closed");
        assert_eq!(closed.result.top_up_selections, 5, "{engine:?}");
        let sel = a
            .list_selections(&tenant, &Default::default(), None, 100)
            .await
            .unwrap();
        assert_eq!(sel.len(), 5, "{engine:?}: the minimum, once");
        assert!(
            sel.iter()
                .all(|s| s.reason == pb::SelectionReason::QuotaTopUp as i64)
        );
    }
}

/// The daily plan of [`plan`] with a fixed seed, so a test can compute
/// its draws.
async fn seeded_plan(store: &Store, tenant: &Tenant, seed: u64, now: i64) -> pb::SamplingPlan {
    let p = store
        .create_plan(
            tenant,
            &pb::SamplingPlan { seed, ..plan() },
            "",
            ("alice", "admin"),
            now,
        )
        .await
        .unwrap();
    assert_eq!(p.seed, seed);
    p
}

/// One interaction per id for agent-1, a minute apart from `from`.
fn arrivals(ids: &[String], from: i64) -> Vec<pb::Interaction> {
    ids.iter()
        .zip(0..)
        .map(|(id, n)| interaction(id, "agent-1", from + n * 60_000))
        .collect()
}

/// The interactions a close selected, sorted.
fn picked(closed: &earshot_sampling::store::close::Closed) -> Vec<&str> {
    let mut got: Vec<&str> = closed
        .selections
        .iter()
        .filter_map(|s| s.interaction.as_ref())
        .map(|d| d.interaction_id.as_str())
        .collect();
    got.sort_unstable();
    got
}

/// A close is decided on a read snapshot, then claimed in a write
/// transaction. When ingest changes the period in between, the close
/// decides again inside the transaction: the top-up takes the smallest
/// draws of the period as it is at the claim.
#[tokio::test]
async fn a_close_decides_again_when_the_period_changed_after_its_snapshot() {
    use earshot_sampling::draw::draw;
    for engine in Engine::available() {
        let storage = TestStorage::new(engine).await.unwrap();
        let store = open(&storage).await;
        let tenant = Tenant::trusted("acme");
        let now = now_millis();
        let p = seeded_plan(&store, &tenant, 42, now).await;
        let day = now - now.rem_euclid(DAY) - 2 * DAY;
        let first: Vec<String> = (0..40).map(|n| format!("i-{n}")).collect();
        let mut draws: Vec<f64> = first.iter().map(|id| draw(42, id)).collect();
        draws.sort_by(f64::total_cmp);
        // Interactions that arrive after the snapshot, each with a draw
        // below the fifth smallest of the first 40: a close that kept its
        // snapshot's decision would miss them.
        let late: Vec<String> = (0..)
            .map(|n| format!("late-{n}"))
            .filter(|id| draw(42, id) < draws[4])
            .take(3)
            .collect();
        store
            .ingest(&tenant, arrivals(&first, day), now)
            .await
            .unwrap();
        let closed = store
            .close_period_racing(&tenant, &p.id, day, false, now, async {
                let batch = arrivals(&late, day + 3_600_000);
                let r = store.ingest(&tenant, batch, now).await.unwrap();
                assert_eq!(r.counts.created, 3);
            })
            .await
            .unwrap();
        let mut all: Vec<(f64, &String)> = first
            .iter()
            .chain(&late)
            .map(|id| (draw(42, id), id))
            .collect();
        all.sort_by(|a, b| a.0.total_cmp(&b.0));
        let mut want: Vec<&str> = all.iter().take(5).map(|(_, id)| id.as_str()).collect();
        want.sort_unstable();
        assert_eq!(picked(&closed), want, "{engine:?}");
        assert_eq!(closed.result.top_up_selections, 5, "{engine:?}");
    }
}

/// Without a change in between, the close takes the period's smallest
/// draws, and a second close finds the period closed.
#[tokio::test]
async fn a_close_without_changes_between_takes_the_smallest_draws_once() {
    use earshot_sampling::draw::draw;
    for engine in Engine::available() {
        let storage = TestStorage::new(engine).await.unwrap();
        let store = open(&storage).await;
        let tenant = Tenant::trusted("acme");
        let now = now_millis();
        let p = seeded_plan(&store, &tenant, 7, now).await;
        let day = now - now.rem_euclid(DAY) - 2 * DAY;
        let ids: Vec<String> = (0..30).map(|n| format!("i-{n}")).collect();
        store
            .ingest(&tenant, arrivals(&ids, day), now)
            .await
            .unwrap();
        let closed = store
            .close_period(&tenant, &p.id, day, false, now)
            .await
            .unwrap();
        let mut by_draw: Vec<&String> = ids.iter().collect();
        by_draw.sort_by(|a, b| draw(7, a).total_cmp(&draw(7, b)));
        let mut want: Vec<&str> = by_draw.iter().take(5).map(|s| s.as_str()).collect();
        want.sort_unstable();
        assert_eq!(picked(&closed), want, "{engine:?}");
        let again = store
            .close_period(&tenant, &p.id, day, false, now)
            .await
            .unwrap();
        assert!(again.selections.is_empty(), "{engine:?}");
        assert_eq!(again.result.top_up_selections, 5, "{engine:?}");
    }
}

#[tokio::test]
async fn overdue_assignments_expire_once() {
    for engine in Engine::available() {
        let storage = TestStorage::new(engine).await.unwrap();
        let a = open(&storage).await;
        let b = open(&storage).await;
        let tenant = Tenant::trusted("acme");
        let now = now_millis();
        a.ingest(
            &tenant,
            vec![interaction("late-1", "agent-1", now - 10 * DAY)],
            now - 9 * DAY,
        )
        .await
        .unwrap();
        let (_, asg) = a
            .create_selection(
                &tenant,
                &earshot_sampling::store::manual::Manual {
                    interaction_id: "late-1",
                    note: "",
                    evaluator: None,
                    due_ms: Some(now - DAY),
                    request_id: "",
                    by: ("alice", "admin"),
                    visible_teams: None,
                },
                now - 2 * DAY,
            )
            .await
            .unwrap();
        let id = asg.unwrap().id;
        let (x, y) = tokio::join!(a.sweep_overdue(&tenant, now), b.sweep_overdue(&tenant, now));
        let total = x.unwrap_or(0) + y.unwrap_or(0);
        assert_eq!(total, 1, "{engine:?}: expired by exactly one replica");
        let row = a.assignment(&tenant, &id).await.unwrap().unwrap();
        assert!(row.overdue);
        assert_eq!(a.sweep_overdue(&tenant, now).await.unwrap(), 0);
    }
}

/// The retention purge strips personal detail from feed events written
/// before the cutoff, once (it resumes where the previous purge stopped),
/// and leaves newer events and every fact alone.
#[tokio::test]
async fn retention_purge_strips_old_feed_events_once() {
    use earshot_kit::feed::{self, Scope};
    use prost::Message as _;
    for engine in Engine::available() {
        let storage = TestStorage::new(engine).await.unwrap();
        let store = open(&storage).await;
        let tenant = Tenant::trusted("acme");
        let t0 = now_millis() - 100 * DAY;
        let with_detail = |id: &str, at: i64| pb::Interaction {
            customer_ref: format!("cust-{id}"),
            recording_uri: format!("https://rec.example/{id}"),
            attributes: [("email".to_owned(), format!("{id}@example.com"))].into(),
            ..interaction(id, "a1", at)
        };
        // Written 100 and 10 days ago (the store takes "now" from the caller).
        store
            .ingest(&tenant, vec![with_detail("old", t0)], t0 + 1_000)
            .await
            .unwrap();
        store
            .ingest(
                &tenant,
                vec![with_detail("new", t0 + 90 * DAY)],
                t0 + 90 * DAY,
            )
            .await
            .unwrap();
        let refs = |events: &[feed::StoredEvent]| -> Vec<String> {
            events
                .iter()
                .filter_map(|e| pb::Event::decode(e.payload.as_slice()).ok())
                .filter_map(|e| match e.payload {
                    Some(pb::event::Payload::InteractionsUpserted(u)) => Some(u.upserts),
                    _ => None,
                })
                .flatten()
                .filter_map(|u| u.interaction)
                .map(|i| format!("{}:{}", i.id, i.customer_ref))
                .collect()
        };
        let scope = Scope::Tenant(tenant.clone());
        let before = feed::read_after(store.db(), &scope, 0, 100).await.unwrap();
        assert_eq!(refs(&before), ["old:cust-old", "new:cust-new"]);

        let now = t0 + 100 * DAY;
        let (cutoff, counts) = store
            .purge_expired(&tenant, 30 * DAY, ("test", "admin"), now)
            .await
            .unwrap();
        assert_eq!(cutoff, now - 30 * DAY);
        assert!(counts.contains(&("interactions", 1)), "{counts:?}");
        assert!(counts.contains(&("feed_events", 1)), "{counts:?}");
        let after = feed::read_after(store.db(), &scope, 0, 100).await.unwrap();
        assert_eq!(refs(&after), ["old:", "new:cust-new"]);
        // Sequences, types and times are untouched: followers stay valid.
        let key = |e: &feed::StoredEvent| (e.sequence, e.event_type.clone(), e.occurred_at);
        assert_eq!(
            before.iter().map(key).collect::<Vec<_>>(),
            after.iter().map(key).collect::<Vec<_>>()
        );
        // A second purge at the same time has nothing left to do.
        let (_, again) = store
            .purge_expired(&tenant, 30 * DAY, ("test", "admin"), now)
            .await
            .unwrap();
        assert!(again.iter().all(|(_, n)| *n == 0), "{again:?}");
        // Another tenant's events are never touched.
        let other = Tenant::trusted("globex");
        store
            .ingest(&other, vec![with_detail("g", t0)], t0 + 1_000)
            .await
            .unwrap();
        store
            .purge_expired(&tenant, 30 * DAY, ("test", "admin"), now + DAY)
            .await
            .unwrap();
        let theirs = feed::read_after(store.db(), &Scope::Tenant(other), 0, 100)
            .await
            .unwrap();
        assert_eq!(refs(&theirs), ["g:cust-g"]);
    }
}

/// Feedback naming an interaction id PostgreSQL cannot take as a parameter
/// (a NUL) is rejected item by item, like any invalid id, and the rest of
/// the batch is answered; found by tests/tests/no_panic.rs, where it was an
/// INTERNAL on PostgreSQL.
#[tokio::test]
async fn feedback_with_a_nul_in_its_interaction_id_is_rejected_not_an_error() {
    for engine in Engine::available() {
        let storage = TestStorage::new(engine).await.unwrap();
        let store = open(&storage).await;
        let tenant = Tenant::trusted("acme");
        let now = now_millis();
        let feedback = |id: &str, interaction: &str| pb::Feedback {
            feedback_id: id.into(),
            interaction_id: interaction.into(),
            kind: pb::FeedbackKind::Complaint as i32,
            text: "late".into(),
            ..Default::default()
        };
        let r = store
            .record_feedback(
                &tenant,
                vec![feedback("f-1", "a\0b"), feedback("f-2", "missing")],
                now,
            )
            .await
            .unwrap();
        let outcomes: Vec<i32> = r.results.iter().map(|r| r.outcome).collect();
        assert_eq!(outcomes.len(), 2, "{engine:?}");
        assert_eq!(
            outcomes[0],
            pb::IngestOutcome::Rejected as i32,
            "{engine:?}"
        );
        assert_eq!(
            r.results[0].violations[0].field, "interaction_id",
            "{engine:?}"
        );
    }
}

/// Two streams (here two replicas) storing contacts of the same customers
/// at the same moment: each contact of one repeats a contact of the other,
/// and every repeat is found, whichever transaction commits first (on
/// PostgreSQL the tenant's ingest transactions take turns from the repeat
/// probe to commit).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_streams_find_the_repeat_contacts_between_them() {
    for engine in Engine::available() {
        let storage = TestStorage::new(engine).await.unwrap();
        let a = open(&storage).await;
        let b = open(&storage).await;
        let tenant = Tenant::trusted("acme");
        let now = now_millis();
        let base = now - DAY;
        let contact = |id: String, customer: String, arrived: i64| pb::Interaction {
            customer_ref: customer,
            ..interaction(&id, "agent-1", arrived)
        };
        let rounds = 8;
        let per_batch = 25;
        for r in 0..rounds {
            let batch = |side: &str, offset: i64| -> Vec<pb::Interaction> {
                (0..per_batch)
                    .map(|k| {
                        contact(
                            format!("{side}-{r}-{k}"),
                            format!("customer-{r}-{k}"),
                            base + (r * per_batch + k) * 1_000 + offset,
                        )
                    })
                    .collect()
            };
            let (first, second) = (batch("first", 0), batch("second", 60_000));
            let (x, y) = tokio::join!(
                a.ingest(&tenant, first, now),
                b.ingest(&tenant, second, now)
            );
            assert_eq!(x.unwrap().counts.created, per_batch as i32, "{engine:?}");
            assert_eq!(y.unwrap().counts.created, per_batch as i32, "{engine:?}");
        }
        for r in 0..rounds {
            for k in 0..per_batch {
                let (stored, _, _) = a
                    .interaction(&tenant, &format!("first-{r}-{k}"))
                    .await
                    .unwrap()
                    .unwrap();
                let repeat = stored
                    .repeat
                    .unwrap_or_else(|| panic!("{engine:?}: first-{r}-{k} has no repeat contact"));
                assert_eq!(
                    repeat.repeat_interaction.map(|i| i.as_str().to_owned()),
                    Some(format!("second-{r}-{k}")),
                    "{engine:?}"
                );
            }
        }
    }
}
