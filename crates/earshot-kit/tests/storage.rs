//! The kit's storage on both engines: one query text, tenant scoping, and the
//! change feed's ordering guarantee.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use earshot_kit::{
    auth::Tenant,
    db::{Backend, Migrations},
    feed::{self, FollowOptions, NewEvent, Scope},
    testing::{Engine, TestStorage},
    with_pool, with_tx,
};
use futures::StreamExt as _;
use tokio_util::sync::CancellationToken;

static SQLITE: sqlx::migrate::Migrator = sqlx::migrate!("tests/migrations/sqlite");
static POSTGRES: sqlx::migrate::Migrator = sqlx::migrate!("tests/migrations/postgres");
const MIGRATIONS: Migrations = Migrations {
    sqlite: &SQLITE,
    postgres: &POSTGRES,
};

#[derive(Debug, PartialEq, sqlx::FromRow)]
struct Thing {
    id: String,
    flag: bool,
    score: Option<f64>,
    at_ms: i64,
    blob: Option<Vec<u8>>,
}

#[tokio::test]
async fn one_query_text_serves_both_engines() {
    for engine in Engine::available() {
        let storage = TestStorage::new(engine).await.unwrap();
        let db = storage.open("kit", MIGRATIONS).await.unwrap();
        assert_eq!(
            db.backend(),
            if engine == Engine::Sqlite {
                Backend::Sqlite
            } else {
                Backend::Postgres
            }
        );
        let acme = Tenant::trusted("acme");
        let other = Tenant::trusted("other");
        let mut tx = db.begin().await.unwrap();
        for (t, id, flag) in [(&acme, "a", true), (&acme, "b", false), (&other, "a", true)] {
            with_tx!(tx, |c| sqlx::query(
                "INSERT INTO things (tenant_id, id, flag, score, at_ms, blob) VALUES ($1, $2, $3, $4, $5, $6)"
            )
            .bind(t.id())
            .bind(id)
            .bind(flag)
            .bind(if flag { Some(87.5) } else { None })
            .bind(1_700_000_000_123_i64)
            .bind(vec![0u8, 1, 255])
            .execute(&mut *c)
            .await
            .map(|r| r.rows_affected()))
            .unwrap();
        }
        tx.commit().await.unwrap();

        let rows: Vec<Thing> = with_pool!(db.read(), |p| sqlx::query_as::<_, Thing>(
            "SELECT id, flag, score, at_ms, blob FROM things WHERE tenant_id = $1 ORDER BY id"
        )
        .bind(acme.id())
        .fetch_all(p)
        .await)
        .unwrap();
        assert_eq!(rows.len(), 2, "{engine:?}: only acme's rows");
        assert_eq!(
            rows[0],
            Thing {
                id: "a".into(),
                flag: true,
                score: Some(87.5),
                at_ms: 1_700_000_000_123,
                blob: Some(vec![0, 1, 255])
            }
        );
        assert_eq!(rows[1].score, None);

        // Aggregates decode the same way on both engines when cast.
        let (n, total): (i64, Option<f64>) = with_pool!(db.read(), |p| {
            sqlx::query_as(
            "SELECT COUNT(*), CAST(SUM(score) AS DOUBLE PRECISION) FROM things WHERE tenant_id = $1"
        )
        .bind(acme.id())
        .fetch_one(p)
        .await
        })
        .unwrap();
        assert_eq!((n, total), (2, Some(87.5)));

        // A transaction dropped without commit changes nothing.
        let mut tx = db.begin().await.unwrap();
        with_tx!(tx, |c| sqlx::query(
            "DELETE FROM things WHERE tenant_id = $1"
        )
        .bind(acme.id())
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected()))
        .unwrap();
        drop(tx);
        let n: i64 = with_pool!(db.read(), |p| sqlx::query_scalar(
            "SELECT COUNT(*) FROM things"
        )
        .fetch_one(p)
        .await)
        .unwrap();
        assert_eq!(n, 3);
        db.close().await;
    }
}

fn event(i: i64) -> NewEvent {
    NewEvent {
        event_type: "thing.changed",
        payload: i.to_le_bytes().to_vec(),
        occurred_at: 1_700_000_000_000 + i,
    }
}

#[tokio::test]
async fn feed_is_tenant_scoped_and_ordered() {
    for engine in Engine::available() {
        let storage = TestStorage::new(engine).await.unwrap();
        let db = storage.open("kit", MIGRATIONS).await.unwrap();
        let acme = Tenant::trusted("acme");
        let other = Tenant::trusted("other");
        for i in 0..450 {
            let mut tx = db.begin().await.unwrap();
            let t = if i % 3 == 0 { &other } else { &acme };
            feed::append(&mut tx, t, &[event(i)]).await.unwrap();
            tx.commit().await.unwrap();
        }
        let all = feed::read_after(&db, &Scope::AllTenants, 0, 10_000)
            .await
            .unwrap();
        assert_eq!(all.len(), 450);
        assert!(all.windows(2).all(|w| w[0].sequence < w[1].sequence));
        let mine = feed::read_after(&db, &Scope::Tenant(acme.clone()), 0, 10_000)
            .await
            .unwrap();
        assert_eq!(mine.len(), 300);
        assert!(mine.iter().all(|e| e.tenant_id == "acme"));
        assert_eq!(
            feed::head(&db, &Scope::AllTenants).await.unwrap(),
            all.last().unwrap().sequence
        );

        // Catch-up then follow: a commit made while following arrives.
        let shutdown = CancellationToken::new();
        let mut stream = feed::follow(
            db.clone(),
            Scope::Tenant(acme.clone()),
            FollowOptions {
                after: 0,
                follow: true,
                batch_size: 128,
                poll_interval: Duration::from_secs(60),
            },
            shutdown.clone(),
        );
        let mut seen = 0;
        while seen < 300 {
            let batch = stream.next().await.unwrap().unwrap();
            assert!(batch.events.len() <= 128);
            seen += batch.events.len();
        }
        let mut tx = db.begin().await.unwrap();
        feed::append(&mut tx, &acme, &[event(1000), event(1001)])
            .await
            .unwrap();
        tx.commit().await.unwrap();
        // The poll interval is a minute: only the in-process wake-up can
        // deliver this within the timeout.
        let batch = tokio::time::timeout(Duration::from_secs(5), stream.next())
            .await
            .expect("commit wakes the follower")
            .unwrap()
            .unwrap();
        assert_eq!(batch.events.len(), 2);
        shutdown.cancel();
        assert!(stream.next().await.is_none(), "shutdown ends the stream");
    }
}

/// On PostgreSQL an identity value can commit after a higher one has been
/// read. The feed must never let a reader pass an event that commits later.
#[tokio::test]
async fn feed_never_skips_a_late_commit() {
    for engine in Engine::available() {
        let storage = TestStorage::new(engine).await.unwrap();
        let db = storage.open("kit", MIGRATIONS).await.unwrap();
        let acme = Tenant::trusted("acme");

        let mut slow = db.begin().await.unwrap();
        feed::append(&mut slow, &acme, &[event(1)]).await.unwrap();

        // A second writer runs while the first is still open.
        let db2 = db.clone();
        let acme2 = acme.clone();
        let fast = tokio::spawn(async move {
            let mut tx = db2.begin().await.unwrap();
            feed::append(&mut tx, &acme2, &[event(2)]).await.unwrap();
            tx.commit().await.unwrap();
        });
        tokio::time::sleep(Duration::from_millis(300)).await;

        // A reader now sees nothing it could later be wrong about.
        let mut cursor = 0;
        let mut delivered = Vec::new();
        for e in feed::read_after(&db, &Scope::AllTenants, cursor, 100)
            .await
            .unwrap()
        {
            cursor = e.sequence;
            delivered.push(e.payload);
        }

        slow.commit().await.unwrap();
        fast.await.unwrap();
        for e in feed::read_after(&db, &Scope::AllTenants, cursor, 100)
            .await
            .unwrap()
        {
            cursor = e.sequence;
            delivered.push(e.payload);
        }
        assert_eq!(
            delivered.len(),
            2,
            "{engine:?}: both events delivered exactly once, none skipped"
        );
        let _ = cursor;
    }
}
