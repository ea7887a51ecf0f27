//! The sampling service end to end over real gRPC, on SQLite and (with
//! `EARSHOT_TEST_DATABASE_URL`) PostgreSQL: idempotent re-ingest, per-item
//! rejects, late surveys, selection and period close, concurrent claims,
//! and tenant isolation.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::{BTreeMap, HashSet};

use earshot_kit::{auth::Role, config::ServiceKind, time::from_millis};
use earshot_proto::common::v1 as common;
use earshot_proto::sampling::v1::{self as pb, sampling_service_client::SamplingServiceClient};
use earshot_tests::{Bearer, TestEngine, TestSuite};
use futures::StreamExt as _;
use prost_types::Duration;
use tonic::{Code, service::interceptor::InterceptedService, transport::Channel};

type Client = SamplingServiceClient<InterceptedService<Channel, Bearer>>;

const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;

async fn client(suite: &TestSuite, tenant: &str, subject: &str, roles: &[Role]) -> Client {
    let ch = suite
        .authed(ServiceKind::Sampling, &suite.token(tenant, subject, roles))
        .await
        .unwrap();
    SamplingServiceClient::new(ch)
}

fn now() -> i64 {
    earshot_kit::time::now_millis()
}

fn interaction(id: &str, agent: &str, arrived: i64) -> pb::Interaction {
    pb::Interaction {
        id: id.into(),
        channel: common::Channel::Voice as i32,
        direction: common::Direction::Inbound as i32,
        agent_id: agent.into(),
        team_id: "team-1".into(),
        queue_id: "billing".into(),
        arrived_time: Some(from_millis(arrived)),
        answered_time: Some(from_millis(arrived + 20_000)),
        ended_time: Some(from_millis(arrived + 320_000)),
        talk_duration: Some(Duration {
            seconds: 280,
            nanos: 0,
        }),
        disposition: "resolved".into(),
        customer_ref: format!("cust-{id}"),
        language: "en".into(),
        ..Default::default()
    }
}

fn outcomes(results: &[pb::ItemResult]) -> Vec<i32> {
    results.iter().map(|r| r.outcome).collect()
}

const CREATED: i32 = pb::IngestOutcome::Created as i32;
const UPDATED: i32 = pb::IngestOutcome::Updated as i32;
const UNCHANGED: i32 = pb::IngestOutcome::Unchanged as i32;
const STALE: i32 = pb::IngestOutcome::Stale as i32;
const REJECTED: i32 = pb::IngestOutcome::Rejected as i32;

async fn ingest(
    c: &mut Client,
    items: Vec<pb::Interaction>,
) -> pb::BatchIngestInteractionsResponse {
    c.batch_ingest_interactions(pb::BatchIngestInteractionsRequest {
        interactions: items,
    })
    .await
    .unwrap()
    .into_inner()
}

async fn events(c: &mut Client) -> Vec<pb::Event> {
    let mut stream = c
        .stream_events(pb::StreamEventsRequest {
            after_sequence: 0,
            follow: false,
            max_batch_size: 0,
        })
        .await
        .unwrap()
        .into_inner();
    let mut out = Vec::new();
    while let Some(batch) = stream.next().await {
        out.extend(batch.unwrap().events);
    }
    out
}

fn evaluator(id: &str) -> pb::Evaluator {
    pb::Evaluator {
        id: id.into(),
        display_name: format!("Evaluator {id}"),
        capacity_per_day: 1000,
        active: true,
        ..Default::default()
    }
}

#[tokio::test]
async fn ingest_is_idempotent_and_rejects_per_item() {
    for engine in TestEngine::available() {
        let suite = TestSuite::start(engine).await.unwrap();
        let mut c = client(&suite, "acme", "acd", &[Role::Integration]).await;
        let t = now() - 3 * HOUR;
        let mut bad_time = interaction("bad-1", "agent-1", t);
        bad_time.ended_time = Some(from_millis(t - 1));
        let mut no_channel = interaction("bad-2", "agent-1", t);
        no_channel.channel = 0;
        let batch = vec![
            interaction("c-1", "agent-1", t),
            bad_time,
            interaction("c-2", "agent-2", t + 1000),
            no_channel,
        ];
        let first = ingest(&mut c, batch.clone()).await;
        assert_eq!(
            outcomes(&first.results),
            [CREATED, REJECTED, CREATED, REJECTED],
            "{engine:?}"
        );
        assert_eq!(first.results[1].violations[0].field, "ended_time");
        assert_eq!(first.results[3].violations[0].field, "channel");
        let counts = first.counts.unwrap();
        assert_eq!((counts.created, counts.rejected), (2, 2));

        // A retry changes nothing.
        let again = ingest(&mut c, batch.clone()).await;
        assert_eq!(
            outcomes(&again.results),
            [UNCHANGED, REJECTED, UNCHANGED, REJECTED]
        );

        // A changed re-send updates and names its fields.
        let mut changed = interaction("c-1", "agent-1", t);
        changed.disposition = "escalated".into();
        changed.source_update_time = Some(from_millis(t + 10 * HOUR.min(1000)));
        let up = ingest(&mut c, vec![changed.clone()]).await;
        assert_eq!(outcomes(&up.results), [UPDATED]);
        assert_eq!(
            up.results[0].changed_fields,
            ["disposition", "source_update_time"]
        );

        // An older re-send (by the source's update time) is stale.
        let mut old = changed.clone();
        old.disposition = "resolved".into();
        old.source_update_time = Some(from_millis(t));
        let stale = ingest(&mut c, vec![old]).await;
        assert_eq!(outcomes(&stale.results), [STALE]);

        let got = c
            .get_interaction(pb::GetInteractionRequest {
                interaction_id: "c-1".into(),
            })
            .await
            .unwrap()
            .into_inner()
            .interaction
            .unwrap();
        assert_eq!(got.disposition, "escalated");
        assert_eq!(got.revision, 2);

        // The bidirectional stream acknowledges each batch in order.
        let (tx, rx) = tokio::sync::mpsc::channel(4);
        tx.send(pb::IngestInteractionsRequest {
            batch_id: "b1".into(),
            interactions: vec![
                interaction("s-1", "agent-1", t),
                interaction("s-2", "agent-3", t),
            ],
        })
        .await
        .unwrap();
        tx.send(pb::IngestInteractionsRequest {
            batch_id: "b2".into(),
            interactions: vec![interaction("s-1", "agent-1", t)],
        })
        .await
        .unwrap();
        drop(tx);
        let mut acks = c
            .ingest_interactions(tokio_stream::wrappers::ReceiverStream::new(rx))
            .await
            .unwrap()
            .into_inner();
        let a1 = acks.next().await.unwrap().unwrap();
        let a2 = acks.next().await.unwrap().unwrap();
        assert!(acks.next().await.is_none());
        assert_eq!((a1.batch_id.as_str(), a2.batch_id.as_str()), ("b1", "b2"));
        assert_eq!(outcomes(&a1.results), [CREATED, CREATED]);
        assert_eq!(outcomes(&a2.results), [UNCHANGED]);

        // A malformed batch as a whole is INVALID_ARGUMENT.
        let err = c
            .batch_ingest_interactions(pb::BatchIngestInteractionsRequest {
                interactions: vec![],
            })
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument);

        // Only created and updated interactions are on the feed.
        let mut admin = client(&suite, "acme", "root", &[Role::Admin]).await;
        let upserted: usize = events(&mut admin)
            .await
            .into_iter()
            .filter_map(|e| match e.payload {
                Some(pb::event::Payload::InteractionsUpserted(u)) => Some(u.upserts.len()),
                _ => None,
            })
            .sum();
        assert_eq!(upserted, 2 + 1 + 2, "{engine:?}");
        suite.stop().await.unwrap();
    }
}

fn low_csat_plan() -> pb::SamplingPlan {
    pb::SamplingPlan {
        display_name: "Complaints and low CSAT".into(),
        period: common::Granularity::Week as i32,
        target: Some(pb::PerAgentTarget {
            min_per_agent: 0,
            max_per_agent: 10,
            random_target: Some(pb::per_agent_target::RandomTarget::Count(0)),
        }),
        targeted_rules: vec![pb::TargetedRule {
            rule_id: "low-csat".into(),
            kind: pb::TargetedRuleKind::LowCsat as i32,
            csat_at_most: 2,
            cap_per_agent: 5,
            priority: 1,
            ..Default::default()
        }],
        ..Default::default()
    }
}

#[tokio::test]
async fn late_surveys_trigger_targeted_selection() {
    for engine in TestEngine::available() {
        let suite = TestSuite::start(engine).await.unwrap();
        let mut admin = client(&suite, "acme", "root", &[Role::Admin]).await;
        let mut acd = client(&suite, "acme", "acd", &[Role::Integration]).await;
        admin
            .create_evaluator(pb::CreateEvaluatorRequest {
                evaluator: Some(evaluator("eve")),
                request_id: "ev-1".into(),
            })
            .await
            .unwrap();
        let plan = admin
            .create_plan(pb::CreatePlanRequest {
                plan: Some(low_csat_plan()),
                request_id: "plan-1".into(),
            })
            .await
            .unwrap()
            .into_inner()
            .plan
            .unwrap();
        // The same request id returns the same plan.
        let again = admin
            .create_plan(pb::CreatePlanRequest {
                plan: Some(low_csat_plan()),
                request_id: "plan-1".into(),
            })
            .await
            .unwrap()
            .into_inner()
            .plan
            .unwrap();
        assert_eq!(plan.id, again.id);
        let t = now() - 2 * HOUR;
        let first = ingest(&mut acd, vec![interaction("i-1", "agent-1", t)]).await;
        assert_eq!(
            first.selected, 0,
            "{engine:?}: count 0 selects nothing at random"
        );

        let survey = |id: &str, interaction: &str, csat: i32| pb::SurveyResponse {
            survey_id: id.into(),
            interaction_id: interaction.into(),
            csat: Some(csat),
            ..Default::default()
        };
        let r = acd
            .record_survey_responses(pb::RecordSurveyResponsesRequest {
                responses: vec![
                    survey("sv-1", "i-1", 1),
                    survey("sv-2", "missing", 5),
                    survey("sv-3", "i-1", 9),
                ],
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(outcomes(&r.results), [CREATED, REJECTED, REJECTED]);
        assert_eq!(r.results[1].violations[0].field, "interaction_id");
        assert_eq!(r.results[2].violations[0].field, "csat");
        let retry = acd
            .record_survey_responses(pb::RecordSurveyResponsesRequest {
                responses: vec![survey("sv-1", "i-1", 1)],
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(outcomes(&retry.results), [UNCHANGED]);

        let got = admin
            .get_interaction(pb::GetInteractionRequest {
                interaction_id: "i-1".into(),
            })
            .await
            .unwrap()
            .into_inner()
            .interaction
            .unwrap();
        assert_eq!(got.surveys.len(), 1);
        assert_eq!(got.surveys[0].csat, Some(1));

        let selections = admin
            .list_selections(pb::ListSelectionsRequest {
                plan_id: plan.id.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .selections;
        assert_eq!(selections.len(), 1, "{engine:?}");
        assert_eq!(selections[0].reason, pb::SelectionReason::Targeted as i32);
        assert_eq!(selections[0].rule_id, "low-csat");
        let assignments = admin
            .list_assignments(pb::ListAssignmentsRequest::default())
            .await
            .unwrap()
            .into_inner()
            .assignments;
        assert_eq!(assignments.len(), 1);
        assert_eq!(assignments[0].evaluator_id, "eve");
        assert_eq!(assignments[0].state, pb::AssignmentState::Routed as i32);

        let kinds: Vec<&'static str> = events(&mut admin)
            .await
            .iter()
            .filter_map(|e| match e.payload.as_ref()? {
                pb::event::Payload::SurveysRecorded(_) => Some("surveys"),
                pb::event::Payload::SelectionsMade(_) => Some("selections"),
                pb::event::Payload::AssignmentsCreated(_) => Some("assignments"),
                _ => None,
            })
            .collect();
        assert_eq!(
            kinds,
            ["surveys", "selections", "assignments"],
            "{engine:?}"
        );
        suite.stop().await.unwrap();
    }
}

#[tokio::test]
async fn random_selection_and_period_close_keep_min_and_max() {
    for engine in TestEngine::available() {
        let suite = TestSuite::start(engine).await.unwrap();
        let mut admin = client(&suite, "acme", "root", &[Role::Admin]).await;
        let mut acd = client(&suite, "acme", "acd", &[Role::Integration]).await;
        let plan = admin
            .create_plan(pb::CreatePlanRequest {
                plan: Some(pb::SamplingPlan {
                    display_name: "Daily".into(),
                    period: common::Granularity::Day as i32,
                    target: Some(pb::PerAgentTarget {
                        min_per_agent: 3,
                        max_per_agent: 4,
                        random_target: None,
                    }),
                    expected_agent_volume: 1000,
                    ..Default::default()
                }),
                request_id: String::new(),
            })
            .await
            .unwrap()
            .into_inner()
            .plan
            .unwrap();
        // Yesterday, UTC.
        let today = now() - now().rem_euclid(DAY);
        let yesterday = today - DAY;
        let mut batch = Vec::new();
        for n in 0..30 {
            batch.push(interaction(
                &format!("y-{n}"),
                "agent-1",
                yesterday + n * 60_000,
            ));
        }
        for n in 0..2 {
            batch.push(interaction(
                &format!("z-{n}"),
                "agent-2",
                yesterday + n * 60_000,
            ));
        }
        ingest(&mut acd, batch).await;
        let close = admin
            .close_period(pb::ClosePeriodRequest {
                plan_id: plan.id.clone(),
                period_time: Some(from_millis(yesterday)),
                force: false,
                request_id: String::new(),
            })
            .await
            .unwrap()
            .into_inner();
        let result = close.result.unwrap();
        assert_eq!(result.agents_below_min, 1, "{engine:?}: agent-2 has only 2");
        let all = admin
            .list_selections(pb::ListSelectionsRequest {
                plan_id: plan.id.clone(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .selections;
        let mut per_agent: BTreeMap<String, usize> = BTreeMap::new();
        for s in &all {
            *per_agent
                .entry(s.interaction.as_ref().unwrap().agent_id.clone())
                .or_default() += 1;
        }
        let a1 = per_agent.get("agent-1").copied().unwrap_or(0);
        assert!((3..=4).contains(&a1), "{engine:?}: {per_agent:?}");
        assert_eq!(per_agent.get("agent-2").copied(), Some(2));
        // Closing again changes nothing.
        let again = admin
            .close_period(pb::ClosePeriodRequest {
                plan_id: plan.id.clone(),
                period_time: Some(from_millis(yesterday + HOUR)),
                force: false,
                request_id: String::new(),
            })
            .await
            .unwrap()
            .into_inner();
        assert!(again.selections.is_empty());
        assert_eq!(
            again.result.unwrap().top_up_selections,
            result.top_up_selections
        );
        // The current period cannot be closed without force.
        let err = admin
            .close_period(pb::ClosePeriodRequest {
                plan_id: plan.id.clone(),
                period_time: Some(from_millis(now())),
                force: false,
                request_id: String::new(),
            })
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::FailedPrecondition);
        // Coverage: agent-1 requires 3, agent-2 requires 2 (its volume).
        let rows = admin
            .get_coverage(pb::GetCoverageRequest {
                plan_id: plan.id.clone(),
                range: Some(common::TimeRange {
                    start_time: Some(from_millis(yesterday)),
                    end_time: Some(from_millis(today)),
                }),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner()
            .rows;
        let required: BTreeMap<String, i32> = rows
            .iter()
            .map(|r| (r.agent_id.clone(), r.required))
            .collect();
        assert_eq!(required.get("agent-1"), Some(&3), "{engine:?}: {rows:?}");
        assert_eq!(required.get("agent-2"), Some(&2));
        assert!(rows.iter().all(|r| r.period_closed));
        suite.stop().await.unwrap();
    }
}

#[tokio::test]
async fn concurrent_claims_hand_out_each_assignment_once() {
    for engine in TestEngine::available() {
        let suite = TestSuite::start(engine).await.unwrap();
        let mut admin = client(&suite, "acme", "root", &[Role::Admin]).await;
        let mut acd = client(&suite, "acme", "acd", &[Role::Integration]).await;
        let t = now() - 5 * HOUR;
        let n = 40;
        let batch: Vec<pb::Interaction> = (0..n)
            .map(|k| interaction(&format!("q-{k}"), &format!("agent-{}", k % 7), t + k * 1000))
            .collect();
        ingest(&mut acd, batch).await;
        // No evaluators yet: every manual selection is queued.
        for k in 0..n {
            let r = admin
                .create_selection(pb::CreateSelectionRequest {
                    interaction_id: format!("q-{k}"),
                    note: "by hand".into(),
                    request_id: format!("sel-{k}"),
                    ..Default::default()
                })
                .await
                .unwrap()
                .into_inner();
            assert_eq!(
                r.assignment.unwrap().state,
                pb::AssignmentState::Queued as i32
            );
        }
        let claimers = 8;
        for e in 0..claimers {
            admin
                .create_evaluator(pb::CreateEvaluatorRequest {
                    evaluator: Some(evaluator(&format!("ev-{e}"))),
                    request_id: String::new(),
                })
                .await
                .unwrap();
        }
        let mut tasks = Vec::new();
        for e in 0..claimers {
            let mut c = client(&suite, "acme", &format!("ev-{e}"), &[Role::Evaluator]).await;
            tasks.push(tokio::spawn(async move {
                let mut got = Vec::new();
                loop {
                    let claimed = c
                        .claim_next_assignment(pb::ClaimNextAssignmentRequest::default())
                        .await
                        .unwrap()
                        .into_inner()
                        .assignment;
                    let Some(a) = claimed else { break };
                    assert_eq!(a.state, pb::AssignmentState::Claimed as i32);
                    c.complete_assignment(pb::CompleteAssignmentRequest {
                        assignment_id: a.id.clone(),
                        evaluation_id: format!("eval-{}", a.id),
                        evaluator_id: String::new(),
                        complete_time: None,
                    })
                    .await
                    .unwrap();
                    got.push(a.id);
                }
                got
            }));
        }
        let mut all = Vec::new();
        for t in tasks {
            all.extend(t.await.unwrap());
        }
        let distinct: HashSet<&String> = all.iter().collect();
        assert_eq!(
            all.len(),
            n as usize,
            "{engine:?}: every assignment claimed"
        );
        assert_eq!(distinct.len(), n as usize, "{engine:?}: none twice");
        let open = admin
            .list_assignments(pb::ListAssignmentsRequest::default())
            .await
            .unwrap()
            .into_inner()
            .assignments;
        assert!(open.is_empty(), "{engine:?}: all completed");
        suite.stop().await.unwrap();
    }
}

#[tokio::test]
async fn one_tenant_cannot_read_or_change_another() {
    for engine in TestEngine::available() {
        let suite = TestSuite::start(engine).await.unwrap();
        let mut a_admin = client(&suite, "acme", "root", &[Role::Admin]).await;
        let mut a_acd = client(&suite, "acme", "acd", &[Role::Integration]).await;
        let mut b_admin = client(&suite, "globex", "root", &[Role::Admin]).await;
        let mut b_acd = client(&suite, "globex", "acd", &[Role::Integration]).await;
        let mut b_service = client(&suite, "globex", "svc", &[Role::Service]).await;
        let t = now() - HOUR;
        ingest(&mut a_acd, vec![interaction("x-1", "agent-1", t)]).await;
        let plan = a_admin
            .create_plan(pb::CreatePlanRequest {
                plan: Some(low_csat_plan()),
                request_id: "p".into(),
            })
            .await
            .unwrap()
            .into_inner()
            .plan
            .unwrap();
        let sel = a_admin
            .create_selection(pb::CreateSelectionRequest {
                interaction_id: "x-1".into(),
                request_id: "s".into(),
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        let assignment = sel.assignment.unwrap();

        fn code<T>(r: Result<T, tonic::Status>) -> Code {
            match r {
                Ok(_) => Code::Ok,
                Err(s) => s.code(),
            }
        }
        assert_eq!(
            code(
                b_admin
                    .get_interaction(pb::GetInteractionRequest {
                        interaction_id: "x-1".into()
                    })
                    .await
            ),
            Code::NotFound
        );
        assert_eq!(
            code(
                b_admin
                    .get_plan(pb::GetPlanRequest {
                        plan_id: plan.id.clone(),
                        version: 0
                    })
                    .await
            ),
            Code::NotFound
        );
        assert_eq!(
            code(
                b_service
                    .complete_assignment(pb::CompleteAssignmentRequest {
                        assignment_id: assignment.id.clone(),
                        evaluation_id: "e".into(),
                        ..Default::default()
                    })
                    .await
            ),
            Code::NotFound
        );
        assert_eq!(
            code(
                b_admin
                    .cancel_assignment(pb::CancelAssignmentRequest {
                        assignment_id: assignment.id.clone(),
                        reason: "mine now".into(),
                        ..Default::default()
                    })
                    .await
            ),
            Code::NotFound
        );
        let listed = b_admin
            .list_interactions(pb::ListInteractionsRequest::default())
            .await
            .unwrap()
            .into_inner()
            .interactions;
        assert!(listed.is_empty(), "{engine:?}");
        assert!(
            b_admin
                .list_plans(pb::ListPlansRequest::default())
                .await
                .unwrap()
                .into_inner()
                .plans
                .is_empty()
        );
        // The same id in another tenant is another interaction.
        let created = ingest(&mut b_acd, vec![interaction("x-1", "agent-9", t)]).await;
        assert_eq!(outcomes(&created.results), [CREATED]);
        // Each admin's feed holds only their tenant's events.
        for e in events(&mut b_admin).await {
            assert_eq!(e.tenant_id, "globex");
        }
        // A's assignment is untouched.
        let still = a_admin
            .get_assignment(pb::GetAssignmentRequest {
                assignment_id: assignment.id.clone(),
            })
            .await
            .unwrap()
            .into_inner()
            .assignment
            .unwrap();
        assert_eq!(still.state, pb::AssignmentState::Queued as i32);
        // Roles: an agent cannot ingest.
        let mut agent = client(&suite, "acme", "agent-1", &[Role::Agent]).await;
        assert_eq!(
            code(
                agent
                    .batch_ingest_interactions(pb::BatchIngestInteractionsRequest {
                        interactions: vec![interaction("x-2", "agent-1", t)]
                    })
                    .await
            ),
            Code::PermissionDenied
        );
        suite.stop().await.unwrap();
    }
}

#[tokio::test]
async fn repeat_contacts_void_fcr_and_plans_version_under_etags() {
    for engine in TestEngine::available() {
        let suite = TestSuite::start(engine).await.unwrap();
        let mut admin = client(&suite, "acme", "root", &[Role::Admin]).await;
        let mut acd = client(&suite, "acme", "acd", &[Role::Integration]).await;
        let t = now() - 2 * DAY;
        // The later contact arrives first: the void is found either way.
        let mut later = interaction("r-2", "agent-2", t + DAY);
        later.customer_ref = "cust-shared".into();
        let mut earlier = interaction("r-1", "agent-1", t);
        earlier.customer_ref = "cust-shared".into();
        let mut outbound = interaction("r-3", "agent-3", t + 2 * HOUR);
        outbound.customer_ref = "cust-shared".into();
        outbound.direction = common::Direction::Outbound as i32;
        ingest(&mut acd, vec![later]).await;
        ingest(&mut acd, vec![earlier, outbound]).await;
        let got = |id: &'static str| {
            let mut c = admin.clone();
            async move {
                c.get_interaction(pb::GetInteractionRequest {
                    interaction_id: id.into(),
                })
                .await
                .unwrap()
                .into_inner()
                .interaction
                .unwrap()
            }
        };
        let r1 = got("r-1").await;
        assert_eq!(
            r1.fcr_status,
            pb::FcrStatus::NotResolved as i32,
            "{engine:?}"
        );
        assert_eq!(r1.repeat_contact.unwrap().repeat_interaction_id, "r-2");
        // An outbound contact is neither voided nor a repeat.
        assert_eq!(
            got("r-3").await.fcr_status,
            pb::FcrStatus::Unspecified as i32
        );
        let voids: Vec<String> = events(&mut admin)
            .await
            .into_iter()
            .filter_map(|e| match e.payload {
                Some(pb::event::Payload::FcrVoided(v)) => Some(v.voids),
                _ => None,
            })
            .flatten()
            .map(|v| v.interaction.unwrap().interaction_id)
            .collect();
        assert_eq!(voids, ["r-1"], "{engine:?}");

        // Plans: a stale etag is ABORTED; an update makes version 2.
        let plan = admin
            .create_plan(pb::CreatePlanRequest {
                plan: Some(low_csat_plan()),
                request_id: String::new(),
            })
            .await
            .unwrap()
            .into_inner()
            .plan
            .unwrap();
        let mut edit = plan.clone();
        edit.display_name = "Renamed".into();
        let v2 = admin
            .update_plan(pb::UpdatePlanRequest {
                plan: Some(edit.clone()),
            })
            .await
            .unwrap()
            .into_inner()
            .plan
            .unwrap();
        assert_eq!(v2.version, 2);
        let stale = admin
            .update_plan(pb::UpdatePlanRequest { plan: Some(edit) })
            .await
            .unwrap_err();
        assert_eq!(stale.code(), Code::Aborted, "{engine:?}");
        let v1 = admin
            .get_plan(pb::GetPlanRequest {
                plan_id: plan.id.clone(),
                version: 1,
            })
            .await
            .unwrap()
            .into_inner()
            .plan
            .unwrap();
        assert_eq!(v1.display_name, plan.display_name);
        // A bad plan names its fields.
        let mut bad = low_csat_plan();
        bad.targeted_rules[0].cap_per_agent = 0;
        let err = admin
            .create_plan(pb::CreatePlanRequest {
                plan: Some(bad),
                request_id: String::new(),
            })
            .await
            .unwrap_err();
        assert_eq!(err.code(), Code::InvalidArgument);
        assert!(
            err.message()
                .contains("plan.targeted_rules[0].cap_per_agent"),
            "{}",
            err.message()
        );

        // Stateless sample size: the textbook 278 for N = 1000.
        let size = admin
            .calculate_sample_size(pb::CalculateSampleSizeRequest {
                population_size: 1000,
                ..Default::default()
            })
            .await
            .unwrap()
            .into_inner();
        assert_eq!(size.sample_size, 278);
        // A preview writes nothing and sees the stored interactions.
        let preview = admin
            .preview_plan(pb::PreviewPlanRequest {
                plan_source: Some(pb::preview_plan_request::PlanSource::PlanId(
                    plan.id.clone(),
                )),
                range: Some(common::TimeRange {
                    start_time: Some(from_millis(t - DAY)),
                    end_time: Some(from_millis(now())),
                }),
                max_selections: 10,
                minutes_per_evaluation: 0.0,
            })
            .await
            .unwrap()
            .into_inner()
            .preview
            .unwrap();
        assert_eq!(preview.interactions, 3, "{engine:?}");
        suite.stop().await.unwrap();
    }
}

/// Batches sent back to back are stored in groups (one transaction each):
/// acknowledgements stay in order and every batch sees the ones before it,
/// also when a later batch re-sends or changes an earlier one's interaction.
#[tokio::test]
async fn streamed_batches_ack_in_order_and_see_earlier_batches() {
    for engine in TestEngine::available() {
        let suite = TestSuite::start(engine).await.unwrap();
        let mut c = client(&suite, "acme", "acd", &[Role::Integration]).await;
        let t = now() - 3 * HOUR;
        let mut changed = interaction("g-1", "agent-1", t);
        changed.disposition = "escalated".into();
        let mut bad = interaction("g-bad", "agent-1", t);
        bad.channel = 0;
        let batches: Vec<Vec<pb::Interaction>> = vec![
            vec![
                interaction("g-1", "agent-1", t),
                interaction("g-2", "agent-2", t),
            ],
            vec![interaction("g-3", "agent-1", t + 1000), bad],
            vec![changed],
            vec![interaction("g-4", "agent-2", t + 2000)],
            vec![interaction("g-3", "agent-1", t + 1000)],
            vec![interaction("g-5", "agent-3", t + 3000)],
        ];
        // Everything is queued before the stream opens, so the service finds
        // several batches ready at once.
        let requests: Vec<pb::IngestInteractionsRequest> = batches
            .into_iter()
            .enumerate()
            .map(|(n, interactions)| pb::IngestInteractionsRequest {
                batch_id: format!("b{n}"),
                interactions,
            })
            .collect();
        let acks: Vec<pb::IngestInteractionsResponse> = c
            .ingest_interactions(futures::stream::iter(requests))
            .await
            .unwrap()
            .into_inner()
            .map(|a| a.unwrap())
            .collect()
            .await;
        let ids: Vec<&str> = acks.iter().map(|a| a.batch_id.as_str()).collect();
        assert_eq!(ids, ["b0", "b1", "b2", "b3", "b4", "b5"], "{engine:?}");
        let got: Vec<Vec<i32>> = acks.iter().map(|a| outcomes(&a.results)).collect();
        assert_eq!(
            got,
            [
                vec![CREATED, CREATED],
                vec![CREATED, REJECTED],
                vec![UPDATED],
                vec![CREATED],
                vec![UNCHANGED],
                vec![CREATED],
            ],
            "{engine:?}"
        );
        assert_eq!(acks[1].results[1].index, 1);
        assert_eq!(acks[2].results[0].changed_fields, ["disposition"]);
        let counts = acks[1].counts.unwrap();
        assert_eq!((counts.created, counts.rejected), (1, 1));
        let g1 = c
            .get_interaction(pb::GetInteractionRequest {
                interaction_id: "g-1".into(),
            })
            .await
            .unwrap()
            .into_inner()
            .interaction
            .unwrap();
        assert_eq!((g1.disposition.as_str(), g1.revision), ("escalated", 2));

        // One feed entry per change: g-1 twice (created, updated), the
        // other four once; compact entries leave out what GetInteraction
        // serves and what the event already says.
        let mut admin = client(&suite, "acme", "root", &[Role::Admin]).await;
        let upserts: Vec<pb::InteractionUpsert> = events(&mut admin)
            .await
            .into_iter()
            .filter_map(|e| match e.payload {
                Some(pb::event::Payload::InteractionsUpserted(u)) => Some(u.upserts),
                _ => None,
            })
            .flatten()
            .collect();
        assert_eq!(upserts.len(), 6, "{engine:?}");
        let first = upserts[0].interaction.as_ref().unwrap();
        assert_eq!(first.id, "g-1");
        assert!(first.create_time.is_none() && first.update_time.is_none());
        assert!(first.handle_duration.is_none() && first.recording_uri.is_empty());
        assert_eq!(first.talk_duration.unwrap().seconds, 280);
        let update = upserts
            .iter()
            .find(|u| u.outcome == UPDATED)
            .and_then(|u| u.interaction.as_ref())
            .unwrap();
        assert_eq!((update.id.as_str(), update.revision), ("g-1", 2));
        assert!(update.create_time.is_some());
        suite.stop().await.unwrap();
    }
}
