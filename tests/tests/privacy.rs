//! Personal data, proven by looking inside every store: keyed hashing of
//! customer references at ingest, erasure of one customer across sampling,
//! scoring, calibration (and reporting, which keeps none), and the retention
//! purge — with reporting's figures unchanged. On SQLite and PostgreSQL.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::time::Duration;

use earshot_kit::{auth::Role, config::DbTarget, config::ServiceKind};
use earshot_proto::calibration::v1::{
    self as cal, calibration_service_client::CalibrationServiceClient,
};
use earshot_proto::common::v1::{self as common, Answer, answer};
use earshot_proto::reporting::v1::{self as rep, reporting_service_client::ReportingServiceClient};
use earshot_proto::sampling::v1::{
    self as sampling, sampling_service_client::SamplingServiceClient,
};
use earshot_proto::scoring::v1::{self as scoring, scoring_service_client::ScoringServiceClient};
use earshot_tests::{AuthedChannel, TestEngine, TestSuite};
use sqlx::Row as _;
use tonic::Code;

const DAY: i64 = 86_400_000;
const ALICE: &str = "alice-RAW-REF-7731";
const BOB: &str = "bob-RAW-REF-4410";
/// Every string of Alice's that must be gone after her erasure.
const ALICE_MARKS: [&str; 7] = [
    "alice@example.com",
    "rec-ALICE-MARK",
    "ALICE-VERBATIM",
    "ALICE-COMPLAINT",
    "ALICE-EVAL-COMMENT",
    "ALICE-ANSWER-COMMENT",
    "ALICE-CAL-COMMENT",
];
const SERVICES: [&str; 4] = ["sampling", "scoring", "calibration", "reporting"];

fn ts(ms: i64) -> prost_types::Timestamp {
    earshot_kit::time::from_millis(ms)
}

/// Where each needle occurs in any column of any table of any service's
/// store ("service.table.column").
async fn find_everywhere(suite: &TestSuite, needles: &[&str]) -> BTreeMap<String, Vec<String>> {
    let mut found: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for service in SERVICES {
        match suite.db_target(service) {
            DbTarget::Sqlite { path } => {
                let url = format!("sqlite://{}?mode=ro", path.display());
                let pool = sqlx::SqlitePool::connect(&url).await.unwrap();
                let tables: Vec<String> = sqlx::query_scalar(
                    "SELECT name FROM sqlite_master WHERE type = 'table' \
                     AND name NOT LIKE 'sqlite_%'",
                )
                .fetch_all(&pool)
                .await
                .unwrap();
                for table in tables {
                    let cols: Vec<String> =
                        sqlx::query_scalar("SELECT name FROM pragma_table_info($1)")
                            .bind(&table)
                            .fetch_all(&pool)
                            .await
                            .unwrap();
                    for col in cols {
                        for needle in needles {
                            let sql = format!(
                                "SELECT count(*) FROM \"{table}\" WHERE \
                                 instr(CAST(\"{col}\" AS BLOB), CAST($1 AS BLOB)) > 0"
                            );
                            let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                                .bind(*needle)
                                .fetch_one(&pool)
                                .await
                                .unwrap();
                            if n > 0 {
                                found
                                    .entry((*needle).to_owned())
                                    .or_default()
                                    .push(format!("{service}.{table}.{col}"));
                            }
                        }
                    }
                }
                pool.close().await;
            }
            DbTarget::Postgres { url, schema } => {
                let pool = sqlx::PgPool::connect(&url).await.unwrap();
                let cols = sqlx::query(
                    "SELECT table_name::text, column_name::text, data_type::text \
                     FROM information_schema.columns WHERE table_schema = $1 \
                     AND data_type IN ('text', 'bytea', 'character varying', 'jsonb', 'json')",
                )
                .bind(&schema)
                .fetch_all(&pool)
                .await
                .unwrap();
                for row in cols {
                    let table: String = row.get(0);
                    let col: String = row.get(1);
                    let ty: String = row.get(2);
                    for needle in needles {
                        let cond = if ty == "bytea" {
                            format!("position(convert_to($1, 'UTF8') in \"{col}\") > 0")
                        } else {
                            format!("strpos(\"{col}\"::text, $1) > 0")
                        };
                        let sql =
                            format!("SELECT count(*) FROM \"{schema}\".\"{table}\" WHERE {cond}");
                        let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
                            .bind(*needle)
                            .fetch_one(&pool)
                            .await
                            .unwrap();
                        if n > 0 {
                            found
                                .entry((*needle).to_owned())
                                .or_default()
                                .push(format!("{service}.{table}.{col}"));
                        }
                    }
                }
                pool.close().await;
            }
        }
    }
    found
}

fn card() -> scoring::ScorecardDefinition {
    use scoring::question::Kind;
    scoring::ScorecardDefinition {
        name: "Calls".into(),
        pass_mark: 50.0,
        sections: vec![scoring::Section {
            id: "basics".into(),
            title: "Basics".into(),
            questions: vec![scoring::Question {
                id: "greet".into(),
                text: "Greeted the customer".into(),
                kind: Some(Kind::YesNo(scoring::YesNoQuestion::default())),
                ..Default::default()
            }],
            ..Default::default()
        }],
        ..Default::default()
    }
}

fn greet(yes: bool, comment: &str) -> Vec<Answer> {
    vec![Answer {
        question_id: "greet".into(),
        value: Some(answer::Value::Yes(yes)),
        comment: comment.into(),
    }]
}

fn call(id: &str, customer: &str, arrived: i64, mark: &str) -> sampling::Interaction {
    sampling::Interaction {
        id: id.into(),
        channel: common::Channel::Voice as i32,
        direction: common::Direction::Inbound as i32,
        agent_id: "agent-1".into(),
        team_id: "blue".into(),
        queue_id: "billing".into(),
        arrived_time: Some(ts(arrived)),
        answered_time: Some(ts(arrived + 5_000)),
        ended_time: Some(ts(arrived + 300_000)),
        customer_ref: customer.into(),
        attributes: [("email".to_owned(), format!("{mark}@example.com"))].into(),
        recording_uri: format!(
            "https://recordings.example/rec-{}-MARK",
            mark.to_uppercase()
        ),
        ..Default::default()
    }
}

struct Clients {
    sampling: SamplingServiceClient<AuthedChannel>,
    scoring: ScoringServiceClient<AuthedChannel>,
    calibration: CalibrationServiceClient<AuthedChannel>,
    reporting: ReportingServiceClient<AuthedChannel>,
}

async fn clients(suite: &TestSuite, token: &str) -> Clients {
    Clients {
        sampling: SamplingServiceClient::new(
            suite.authed(ServiceKind::Sampling, token).await.unwrap(),
        ),
        scoring: ScoringServiceClient::new(
            suite.authed(ServiceKind::Scoring, token).await.unwrap(),
        ),
        calibration: CalibrationServiceClient::new(
            suite.authed(ServiceKind::Calibration, token).await.unwrap(),
        ),
        reporting: ReportingServiceClient::new(
            suite.authed(ServiceKind::Reporting, token).await.unwrap(),
        ),
    }
}

/// Ingests `calls` with a survey and a complaint on each (verbatims marked
/// with the customer's mark).
async fn ingest(c: &mut Clients, calls: Vec<(sampling::Interaction, &str)>) {
    let interactions: Vec<_> = calls.iter().map(|(i, _)| i.clone()).collect();
    let r = c
        .sampling
        .batch_ingest_interactions(sampling::BatchIngestInteractionsRequest { interactions })
        .await
        .unwrap()
        .into_inner();
    assert!(
        r.results
            .iter()
            .all(|r| r.outcome == sampling::IngestOutcome::Created as i32),
        "{r:?}"
    );
    for (i, mark) in &calls {
        let at = earshot_kit::time::now_millis();
        c.sampling
            .record_survey_responses(sampling::RecordSurveyResponsesRequest {
                responses: vec![sampling::SurveyResponse {
                    survey_id: format!("s-{}", i.id),
                    interaction_id: i.id.clone(),
                    csat: Some(2),
                    nps: Some(3),
                    comment: format!("{}-VERBATIM", mark.to_uppercase()),
                    respond_time: Some(ts(at)),
                    ..Default::default()
                }],
            })
            .await
            .unwrap();
        c.sampling
            .record_feedback(sampling::RecordFeedbackRequest {
                feedback: vec![sampling::Feedback {
                    feedback_id: format!("f-{}", i.id),
                    interaction_id: i.id.clone(),
                    kind: sampling::FeedbackKind::Complaint as i32,
                    category: "billing".into(),
                    text: format!("{}-COMPLAINT", mark.to_uppercase()),
                    receive_time: Some(ts(at)),
                    ..Default::default()
                }],
            })
            .await
            .unwrap();
    }
}

/// The highest sequence of a feed (its `head_sequence`).
async fn head<S>(s: tonic::Streaming<S>, head_of: impl Fn(&S) -> i64) -> i64 {
    use futures::StreamExt as _;
    let mut s = s;
    let mut h = 0;
    while let Some(b) = s.next().await {
        h = h.max(head_of(&b.unwrap()));
    }
    h
}

/// Waits until reporting applied sampling's and scoring's feeds up to their
/// heads now.
async fn caught_up(c: &mut Clients) {
    let sampling_head = head(
        c.sampling
            .stream_events(sampling::StreamEventsRequest {
                after_sequence: 0,
                follow: false,
                max_batch_size: 1,
            })
            .await
            .unwrap()
            .into_inner(),
        |b| b.head_sequence,
    )
    .await;
    let scoring_head = head(
        c.scoring
            .stream_events(scoring::StreamEventsRequest {
                after_sequence: 0,
                follow: false,
                max_batch_size: 1,
            })
            .await
            .unwrap()
            .into_inner(),
        |b| b.head_sequence,
    )
    .await;
    for _ in 0..300 {
        if let Ok(s) = c
            .reporting
            .get_feed_status(rep::GetFeedStatusRequest {})
            .await
        {
            let s = s.into_inner();
            let at = |src: rep::FeedSource| {
                s.feeds
                    .iter()
                    .find(|f| f.source == src as i32)
                    .map_or(0, |f| f.applied_sequence)
            };
            if at(rep::FeedSource::Sampling) >= sampling_head
                && at(rep::FeedSource::Scoring) >= scoring_head
            {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("reporting did not catch up");
}

type ReportingClient = ReportingServiceClient<AuthedChannel>;

/// The operational and customer figures over the last `days` days, by agent.
async fn figures(r: &mut ReportingClient, days: i64) -> (String, String) {
    use chrono::Datelike as _;
    let d = |ms: i64| {
        let t = chrono::DateTime::from_timestamp_millis(ms)
            .unwrap()
            .date_naive();
        rep::LocalDate {
            year: t.year(),
            month: t.month() as i32,
            day: t.day() as i32,
        }
    };
    let now = earshot_kit::time::now_millis();
    let period = rep::Period {
        kind: Some(rep::period::Kind::DateRange(rep::DateRange {
            start_date: Some(d(now - days * DAY)),
            end_date: Some(d(now + DAY)),
        })),
    };
    let o = r
        .run_operational_report(rep::RunOperationalReportRequest {
            period: Some(period),
            group_by: rep::Dimension::Agent as i32,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let c = r
        .run_customer_report(rep::RunCustomerReportRequest {
            period: Some(period),
            group_by: rep::Dimension::Agent as i32,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    (
        format!("{:?} {:?}", o.rows, o.total),
        format!("{:?} {:?}", c.rows, c.total),
    )
}

fn count(erased: &[common::ErasureCount], service: &str, kind: &str) -> i64 {
    erased
        .iter()
        .find(|c| c.service == service && c.kind == kind)
        .unwrap_or_else(|| panic!("no count for {service}/{kind} in {erased:?}"))
        .count
}

#[tokio::test]
async fn erasure_removes_one_customer_from_every_store_and_hashing_keeps_references_out() {
    for engine in TestEngine::available() {
        let suite = TestSuite::start_with(engine, |c| {
            c.privacy.hash_customer_refs = true;
            c.privacy.customer_ref_key = Some("k".repeat(32));
        })
        .await
        .unwrap();
        let admin = suite.token("acme", "maria", &[Role::Admin, Role::QaManager]);
        let mut c = clients(&suite, &admin).await;
        let now = earshot_kit::time::now_millis();
        let t0 = now - 2 * 3_600_000;
        ingest(
            &mut c,
            vec![
                (call("a-1", ALICE, t0, "alice"), "alice"),
                (call("a-2", ALICE, t0 + 600_000, "alice"), "alice"),
                (call("b-1", BOB, t0 + 60_000, "bob"), "bob"),
            ],
        )
        .await;

        // Hashing: the reference itself is in no store; the same customer's
        // second contact is still recognised as a repeat contact.
        let stored = c
            .sampling
            .get_interaction(sampling::GetInteractionRequest {
                interaction_id: "a-1".into(),
            })
            .await
            .unwrap()
            .into_inner()
            .interaction
            .unwrap();
        assert!(stored.customer_ref.starts_with("h1:"), "{stored:?}");
        assert_eq!(
            stored
                .repeat_contact
                .as_ref()
                .map(|r| r.repeat_interaction_id.as_str()),
            Some("a-2"),
            "{stored:?}"
        );
        let found = find_everywhere(&suite, &[ALICE, BOB]).await;
        assert!(
            found.is_empty(),
            "{engine:?}: raw references stored: {found:?}"
        );

        // Scoring: evaluations of Alice's and Bob's first calls, commented.
        let created = c
            .scoring
            .create_scorecard(scoring::CreateScorecardRequest {
                request_id: "card".into(),
                definition: Some(card()),
            })
            .await
            .unwrap()
            .into_inner()
            .scorecard
            .unwrap();
        let version = c
            .scoring
            .publish_scorecard(scoring::PublishScorecardRequest {
                scorecard_id: created.id.clone(),
                etag: created.etag.clone(),
                change_note: "first".into(),
                request_id: "pub".into(),
            })
            .await
            .unwrap()
            .into_inner()
            .version
            .unwrap()
            .version;
        for (call, mark) in [("a-1", "ALICE"), ("b-1", "BOB")] {
            let e = c
                .scoring
                .create_evaluation(scoring::CreateEvaluationRequest {
                    request_id: format!("ev-{call}"),
                    origin: Some(scoring::create_evaluation_request::Origin::AdHoc(
                        scoring::AdHoc {
                            interaction_id: call.into(),
                        },
                    )),
                    scorecard: Some(scoring::ScorecardVersionRef {
                        scorecard_id: created.id.clone(),
                        version,
                    }),
                })
                .await
                .unwrap()
                .into_inner()
                .evaluation
                .unwrap();
            c.scoring
                .submit_evaluation(scoring::SubmitEvaluationRequest {
                    evaluation_id: e.id.clone(),
                    etag: e.etag.clone(),
                    content: Some(scoring::DraftContent {
                        answers: greet(false, &format!("{mark}-ANSWER-COMMENT")),
                        overall_comment: format!("{mark}-EVAL-COMMENT"),
                    }),
                })
                .await
                .unwrap();
        }

        // Calibration: a response on each call, with a comment. Participants
        // must be evaluators in sampling's directory.
        for who in ["maria", "omar"] {
            c.sampling
                .create_evaluator(sampling::CreateEvaluatorRequest {
                    evaluator: Some(sampling::Evaluator {
                        id: who.into(),
                        display_name: who.into(),
                        capacity_per_day: 10,
                        active: true,
                        ..Default::default()
                    }),
                    request_id: format!("ev-{who}"),
                })
                .await
                .unwrap();
        }
        let session = c
            .calibration
            .create_session(cal::CreateSessionRequest {
                request_id: "cal".into(),
                name: "Calibration".into(),
                scorecard_id: created.id.clone(),
                scorecard_version: version,
                mode: cal::SessionMode::Blind as i32,
                participant_ids: vec!["maria".into(), "omar".into()],
                interactions: Some(cal::create_session_request::Interactions::Chosen(
                    cal::InteractionList {
                        interaction_ids: vec!["a-1".into(), "b-1".into()],
                    },
                )),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .session
            .unwrap();
        let evaluator = suite.token("acme", "maria", &[Role::Evaluator]);
        let mut ev = CalibrationServiceClient::new(
            suite
                .authed(ServiceKind::Calibration, &evaluator)
                .await
                .unwrap(),
        );
        for (call, mark) in [("a-1", "ALICE"), ("b-1", "BOB")] {
            ev.submit_response(cal::SubmitResponseRequest {
                request_id: format!("r-{call}"),
                session_id: session.session_id.clone(),
                interaction_id: call.into(),
                answers: greet(true, ""),
                comment: format!("{mark}-CAL-COMMENT"),
                ..Default::default()
            })
            .await
            .unwrap();
        }

        // Everything is stored somewhere before the erasure.
        let before = find_everywhere(&suite, &ALICE_MARKS).await;
        for mark in ALICE_MARKS {
            assert!(
                before.contains_key(mark),
                "{engine:?}: {mark} not stored: {before:?}"
            );
        }
        caught_up(&mut c).await;
        let figures_before = figures(&mut c.reporting, 3).await;

        // Another tenant's admin reaches nothing of this tenant's.
        let globex = clients(&suite, &suite.token("globex", "gus", &[Role::Admin])).await;
        let (mut gs, mut gc, mut gk) = (globex.sampling, globex.scoring, globex.calibration);
        let none = gs
            .erase_customer(sampling::EraseCustomerRequest {
                customer_ref: ALICE.into(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(none.interactions, 0, "{none:?}");
        let ids = vec!["a-1".to_owned(), "a-2".to_owned()];
        let s = gc
            .erase_interaction_text(scoring::EraseInteractionTextRequest {
                interaction_ids: ids.clone(),
            })
            .await
            .unwrap()
            .into_inner();
        assert!(s.erased.iter().all(|c| c.count == 0), "{s:?}");
        let k = gk
            .erase_interaction_text(cal::EraseInteractionTextRequest {
                interaction_ids: ids,
            })
            .await
            .unwrap()
            .into_inner();
        assert!(k.erased.iter().all(|c| c.count == 0), "{k:?}");
        assert_eq!(find_everywhere(&suite, &ALICE_MARKS).await, before);

        // Only an admin may erase; bad input changes nothing.
        let qa = suite.token("acme", "quinn", &[Role::QaManager]);
        let denied =
            SamplingServiceClient::new(suite.authed(ServiceKind::Sampling, &qa).await.unwrap())
                .erase_customer(sampling::EraseCustomerRequest {
                    customer_ref: ALICE.into(),
                })
                .await
                .unwrap_err();
        assert_eq!(denied.code(), Code::PermissionDenied);
        for bad in [String::new(), "x".repeat(257)] {
            let e = c
                .sampling
                .erase_customer(sampling::EraseCustomerRequest { customer_ref: bad })
                .await
                .unwrap_err();
            assert_eq!(e.code(), Code::InvalidArgument, "{e:?}");
            assert!(e.message().contains("customer_ref"), "{e:?}");
        }

        let erased = c
            .sampling
            .erase_customer(sampling::EraseCustomerRequest {
                customer_ref: ALICE.into(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(erased.interactions, 2, "{erased:?}");
        let e = &erased.erased;
        assert_eq!(count(e, "sampling", "interactions"), 2);
        assert_eq!(count(e, "sampling", "survey_verbatims"), 2);
        assert_eq!(count(e, "sampling", "feedback_texts"), 2);
        assert!(count(e, "sampling", "feed_events") >= 3, "{e:?}");
        assert_eq!(count(e, "scoring", "evaluations"), 1);
        assert_eq!(count(e, "scoring", "evaluation_revisions"), 1);
        assert_eq!(count(e, "calibration", "response_comments"), 1);

        // Nothing of Alice's is left in any table of any store; Bob's is.
        let after = find_everywhere(&suite, &ALICE_MARKS).await;
        assert!(
            after.is_empty(),
            "{engine:?}: left after erasure: {after:?}"
        );
        let bob = find_everywhere(
            &suite,
            &["BOB-VERBATIM", "BOB-EVAL-COMMENT", "BOB-CAL-COMMENT"],
        )
        .await;
        assert_eq!(bob.len(), 3, "{engine:?}: Bob's data must stay: {bob:?}");

        // Reporting's figures did not move, and it still follows the feeds.
        caught_up(&mut c).await;
        assert_eq!(figures(&mut c.reporting, 3).await, figures_before);

        // The facts stay: the interaction is still there, without detail.
        let a1 = c
            .sampling
            .get_interaction(sampling::GetInteractionRequest {
                interaction_id: "a-1".into(),
            })
            .await
            .unwrap()
            .into_inner()
            .interaction
            .unwrap();
        assert!(
            a1.customer_ref.is_empty() && a1.attributes.is_empty(),
            "{a1:?}"
        );
        assert_eq!(a1.agent_id, "agent-1");

        // Repeating the erasure finds nothing more to do.
        let again = c
            .sampling
            .erase_customer(sampling::EraseCustomerRequest {
                customer_ref: ALICE.into(),
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(again.interactions, 0, "{again:?}");
        suite.stop().await.unwrap();
    }
}

#[tokio::test]
async fn retention_purges_old_detail_and_keeps_the_figures() {
    for engine in TestEngine::available() {
        let suite = TestSuite::start(engine).await.unwrap();
        let admin = suite.token("acme", "maria", &[Role::Admin]);
        let mut c = clients(&suite, &admin).await;
        let now = earshot_kit::time::now_millis();
        ingest(
            &mut c,
            vec![
                (call("old-1", "carol", now - 40 * DAY, "carol"), "carol"),
                (call("new-1", "dave", now - 3_600_000, "dave"), "dave"),
            ],
        )
        .await;
        caught_up(&mut c).await;
        let figures_before = figures(&mut c.reporting, 60).await;

        // Without a retention policy, nothing is purged.
        let none = c
            .sampling
            .purge_expired_detail(sampling::PurgeExpiredDetailRequest {})
            .await
            .unwrap()
            .into_inner();
        assert!(
            none.cutoff_time.is_none() && none.purged.is_empty(),
            "{none:?}"
        );

        // A retention shorter than the repeat-contact window is refused.
        let current = c
            .sampling
            .get_settings(sampling::GetSettingsRequest {})
            .await
            .unwrap()
            .into_inner()
            .settings
            .unwrap();
        let mut short = current.clone();
        short.retention = Some(prost_types::Duration {
            seconds: 3_600,
            nanos: 0,
        });
        let e = c
            .sampling
            .update_settings(sampling::UpdateSettingsRequest {
                settings: Some(short),
            })
            .await
            .unwrap_err();
        assert_eq!(e.code(), Code::InvalidArgument);
        assert!(e.message().contains("retention"), "{e:?}");

        let mut month = current.clone();
        month.retention = Some(prost_types::Duration {
            seconds: 30 * 86_400,
            nanos: 0,
        });
        c.sampling
            .update_settings(sampling::UpdateSettingsRequest {
                settings: Some(month),
            })
            .await
            .unwrap();
        let purged = c
            .sampling
            .purge_expired_detail(sampling::PurgeExpiredDetailRequest {})
            .await
            .unwrap()
            .into_inner();
        assert!(purged.cutoff_time.is_some());
        assert_eq!(
            count(&purged.purged, "sampling", "interactions"),
            1,
            "{purged:?}"
        );
        assert_eq!(count(&purged.purged, "sampling", "survey_verbatims"), 1);
        assert_eq!(count(&purged.purged, "sampling", "feedback_texts"), 1);

        // The old interaction's detail is gone from the tables; the recent
        // one's stays. (Feed events are purged by age of the event: these
        // were all written just now, so they keep their detail until then.)
        let gone = find_everywhere(
            &suite,
            &["carol@example.com", "CAROL-VERBATIM", "CAROL-COMPLAINT"],
        )
        .await;
        for (needle, places) in &gone {
            assert!(
                places.iter().all(|p| p.ends_with("feed_events.payload")),
                "{engine:?}: {needle} left outside the feed: {places:?}"
            );
        }
        let kept = find_everywhere(&suite, &["dave@example.com", "DAVE-VERBATIM"]).await;
        assert!(
            kept.values().all(|p| p.iter().any(
                |x| x.starts_with("sampling.interactions") || x.starts_with("sampling.surveys")
            )),
            "{kept:?}"
        );
        assert_eq!(kept.len(), 2, "{kept:?}");

        // Purging again changes nothing; reporting's figures never moved.
        let again = c
            .sampling
            .purge_expired_detail(sampling::PurgeExpiredDetailRequest {})
            .await
            .unwrap()
            .into_inner();
        assert!(again.purged.iter().all(|c| c.count == 0), "{again:?}");
        caught_up(&mut c).await;
        assert_eq!(figures(&mut c.reporting, 60).await, figures_before);
        suite.stop().await.unwrap();
    }
}
