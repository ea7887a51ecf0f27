//! The calibration store on SQLite and PostgreSQL: tenant scoping, keyset
//! paging, idempotency keys, and the session-row lock that serialises a
//! response write with a close.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;

use earshot_calibration::store::{self, NewSessionRow, ResponseRow, SessionFilter, SessionUpdate};
use earshot_kit::{
    auth::Tenant,
    testing::{Engine, TestStorage},
};

async fn insert(
    db: &earshot_kit::db::Db,
    tenant: &Tenant,
    id: &str,
    request: &str,
    at: i64,
) -> bool {
    store::insert_session(
        db,
        tenant,
        &NewSessionRow {
            session_id: id,
            request_id: request,
            scorecard_id: "sc-1",
            created_at: at,
            due_at: at + 1_000,
            state: 1,
            etag: "e1",
            body: b"session",
            scorecard: b"scorecard",
            participants: &["ann".to_owned(), "bob".to_owned()],
            interactions: &["i1".to_owned(), "i2".to_owned()],
        },
        &[],
    )
    .await
    .unwrap()
}

fn response(interaction: &str, participant: &str, ipos: i32, ppos: i32) -> ResponseRow {
    ResponseRow {
        response_id: format!("{interaction}-{participant}"),
        interaction_id: interaction.into(),
        participant_id: participant.into(),
        interaction_pos: ipos,
        participant_pos: ppos,
        submitted_at: 10,
        updated_at: 10,
        late: false,
        revision: 1,
        etag: "r1".into(),
        body: vec![1, 2, 3],
    }
}

#[tokio::test]
async fn sessions_are_scoped_paged_and_idempotent() {
    for engine in Engine::available() {
        let storage = TestStorage::new(engine).await.unwrap();
        let db = storage
            .open("calibration", earshot_calibration::spec().migrations)
            .await
            .unwrap();
        let acme = Tenant::trusted("acme");
        let globex = Tenant::trusted("globex");
        assert!(insert(&db, &acme, "s1", "r1", 100).await);
        assert!(insert(&db, &acme, "s2", "r2", 200).await);
        assert!(insert(&db, &acme, "s3", "r3", 200).await);
        // The same request id: nothing written.
        assert!(!insert(&db, &acme, "s4", "r1", 300).await);
        assert!(insert(&db, &globex, "s1", "r1", 100).await);

        assert!(store::session(&db, &acme, "s4").await.unwrap().is_none());
        assert_eq!(
            store::session_by_request(&db, &acme, "r1")
                .await
                .unwrap()
                .unwrap()
                .session_id,
            "s1"
        );
        let all = SessionFilter {
            created_from: i64::MIN,
            created_to: i64::MAX,
            ..Default::default()
        };
        let mut seen = Vec::new();
        let mut after = None;
        loop {
            let page = store::list_sessions(&db, &acme, &all, after.clone(), 2)
                .await
                .unwrap();
            if page.is_empty() {
                break;
            }
            let last = page.last().unwrap();
            after = Some((last.created_at, last.session_id.clone()));
            seen.extend(page.into_iter().map(|r| r.session_id));
        }
        assert_eq!(seen, ["s3", "s2", "s1"], "{engine:?}");
        let bob_closed = SessionFilter {
            participant_id: "bob".into(),
            states: vec![3],
            ..all.clone()
        };
        assert!(
            store::list_sessions(&db, &acme, &bob_closed, None, 10)
                .await
                .unwrap()
                .is_empty()
        );
        let zed = SessionFilter {
            participant_id: "zed".into(),
            ..all.clone()
        };
        assert!(
            store::list_sessions(&db, &acme, &zed, None, 10)
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            store::list_sessions(&db, &globex, &all, None, 10)
                .await
                .unwrap()
                .len(),
            1
        );

        // Responses: session order, paging, tenant scope, idempotency keys.
        let mut tx = db.begin().await.unwrap();
        for r in [
            response("i2", "bob", 1, 1),
            response("i1", "bob", 0, 1),
            response("i1", "ann", 0, 0),
        ] {
            store::put_response(&mut tx, &acme, "s1", &r, true)
                .await
                .unwrap();
        }
        assert!(
            store::record_submit_request(&mut tx, &acme, "ann", "k1", "s1", "i1", 1)
                .await
                .unwrap()
        );
        assert!(
            !store::record_submit_request(&mut tx, &acme, "ann", "k1", "s1", "i2", 1)
                .await
                .unwrap()
        );
        assert!(
            store::record_submit_request(&mut tx, &acme, "bob", "k1", "s1", "i1", 1)
                .await
                .unwrap()
        );
        tx.commit().await.unwrap();
        let page = store::list_responses(&db, &acme, "s1", "", "", None, 2)
            .await
            .unwrap();
        let order: Vec<(&str, &str)> = page
            .iter()
            .map(|r| (r.interaction_id.as_str(), r.participant_id.as_str()))
            .collect();
        assert_eq!(order, [("i1", "ann"), ("i1", "bob")]);
        let next = store::list_responses(&db, &acme, "s1", "", "", Some((0, 1)), 2)
            .await
            .unwrap();
        assert_eq!(next.len(), 1);
        assert_eq!(next[0].interaction_id, "i2");
        assert_eq!(
            store::list_responses(&db, &acme, "s1", "", "bob", None, 9)
                .await
                .unwrap()
                .len(),
            2
        );
        assert!(
            store::list_responses(&db, &globex, "s1", "", "", None, 9)
                .await
                .unwrap()
                .is_empty()
        );
        let progress = store::progress(&db, &acme, "s1").await.unwrap();
        assert_eq!(progress.iter().map(|p| p.submitted).sum::<i64>(), 3);
        assert!(
            store::progress(&db, &globex, "s1")
                .await
                .unwrap()
                .is_empty()
        );
        assert_eq!(
            store::submit_request(&db, &acme, "ann", "k1")
                .await
                .unwrap(),
            Some(("s1".into(), "i1".into()))
        );
        assert_eq!(
            store::submit_request(&db, &globex, "ann", "k1")
                .await
                .unwrap(),
            None
        );
        let calibrated = store::calibrated_interactions(&db, &acme, 10)
            .await
            .unwrap();
        assert_eq!(calibrated, ["i1", "i2"]);
    }
}

/// A response write and a close both take the session row first, so one
/// waits for the other: the writer that comes second sees the first's
/// commit (here: a close), never the state before it.
#[tokio::test]
async fn session_lock_serialises_writers() {
    for engine in Engine::available() {
        let storage = TestStorage::new(engine).await.unwrap();
        let db = storage
            .open("calibration", earshot_calibration::spec().migrations)
            .await
            .unwrap();
        let acme = Tenant::trusted("acme");
        assert!(insert(&db, &acme, "s1", "r1", 100).await);

        let mut closing = db.begin().await.unwrap();
        let row = store::lock_session(&mut closing, &acme, "s1")
            .await
            .unwrap()
            .unwrap();
        assert_eq!(row.state, 1);
        assert!(
            store::lock_session(&mut closing, &Tenant::trusted("globex"), "s1")
                .await
                .unwrap()
                .is_none()
        );

        let (db2, acme2) = (db.clone(), acme.clone());
        let submitter = tokio::spawn(async move {
            let mut tx = db2.begin().await.unwrap();
            let row = store::lock_session(&mut tx, &acme2, "s1")
                .await
                .unwrap()
                .unwrap();
            tx.rollback().await.unwrap();
            row.state
        });
        // The submitter is blocked while the close is in flight.
        tokio::time::sleep(Duration::from_millis(200)).await;
        assert!(
            !submitter.is_finished(),
            "{engine:?}: the second writer did not wait"
        );
        store::save_session(
            &mut closing,
            &acme,
            "s1",
            &SessionUpdate {
                state: 3,
                etag: "e2",
                due_at: 1_100,
                final_at: Some(150),
                body: b"closed",
                results: Some(b"results"),
            },
        )
        .await
        .unwrap();
        closing.commit().await.unwrap();
        assert_eq!(submitter.await.unwrap(), 3, "{engine:?}");
        let stored = store::session(&db, &acme, "s1").await.unwrap().unwrap();
        assert_eq!((stored.state, stored.etag.as_str()), (3, "e2"));
        assert_eq!(stored.results.as_deref(), Some(&b"results"[..]));
    }
}
