//! Reporting end to end, over real gRPC, on SQLite and PostgreSQL:
//! interactions, surveys, complaints and a repeat contact ingested in
//! sampling; evaluations submitted, released, disputed and re-scored in
//! scoring; a calibration session; reporting follows the three feeds and
//! every figure of the quality, operational and customer reports equals a
//! recomputation from the facts this test sent (done here, independently of
//! the code under test). Reporting is stopped mid-feed and restarted and the
//! totals still match exactly; tenants are isolated; an agent cannot read
//! another agent's figures; the CSV export and the SVG charts parse.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeMap;
use std::time::Duration;

use earshot_kit::{auth::Role, config::ServiceKind, testing};
use earshot_proto::calibration::v1::{
    self as calibration, calibration_service_client::CalibrationServiceClient,
};
use earshot_proto::common::v1::{self as common, Answer, answer};
use earshot_proto::reporting::v1 as pb;
use earshot_proto::sampling::v1::{
    self as sampling, sampling_service_client::SamplingServiceClient,
};
use earshot_proto::scoring::v1::{self as scoring, scoring_service_client::ScoringServiceClient};
use earshot_tests::{ReportingClient, TestEngine, TestSuite};
use futures::StreamExt as _;
use tonic::Code;

const HOUR: i64 = 3_600_000;
const DAY: i64 = 24 * HOUR;
const CUSTOMER_CARE: &str =
    include_str!("../../crates/earshot-scoring/tests/fixtures/customer_care.yaml");

fn ts(ms: i64) -> prost_types::Timestamp {
    earshot_kit::time::from_millis(ms)
}

fn dur(ms: i64) -> prost_types::Duration {
    prost_types::Duration {
        seconds: ms / 1000,
        nanos: ((ms % 1000) * 1_000_000) as i32,
    }
}

/// One interaction as the test sends it, with what the test expects of it.
#[derive(Debug, Clone)]
struct Call {
    id: String,
    agent: String,
    team: String,
    inbound: bool,
    abandoned: bool,
    arrived: i64,
    wait: i64,
    talk: i64,
    hold: i64,
    acw: i64,
    transferred: bool,
    csat: Option<i32>,
    nps: Option<i32>,
    complaints: Vec<(String, String, bool)>,
    voided: bool,
}

impl Call {
    fn message(&self) -> sampling::Interaction {
        sampling::Interaction {
            id: self.id.clone(),
            channel: common::Channel::Voice as i32,
            direction: if self.inbound {
                common::Direction::Inbound
            } else {
                common::Direction::Outbound
            } as i32,
            agent_id: self.agent.clone(),
            team_id: self.team.clone(),
            queue_id: "billing".into(),
            arrived_time: Some(ts(self.arrived)),
            answered_time: (!self.abandoned).then(|| ts(self.arrived + self.wait)),
            ended_time: Some(ts(self.arrived + self.wait + self.talk + self.hold)),
            wait_duration: Some(dur(self.wait)),
            talk_duration: (!self.abandoned).then(|| dur(self.talk)),
            hold_duration: (!self.abandoned).then(|| dur(self.hold)),
            after_call_work_duration: (!self.abandoned).then(|| dur(self.acw)),
            transferred: self.transferred,
            abandoned: self.abandoned,
            customer_ref: format!("cust-{}", self.id),
            disposition: "done".into(),
            language: "en".into(),
            ..Default::default()
        }
    }

    fn handled(&self) -> bool {
        !self.abandoned && !self.agent.is_empty()
    }
}

/// The calls of one tenant: 3 agents in 2 teams, one abandoned call, over
/// three days ten days ago (past the 7-day repeat window, so FCR is known).
fn calls(base: i64) -> Vec<Call> {
    let agents = [
        ("agent-1", "blue"),
        ("agent-2", "blue"),
        ("agent-3", "green"),
    ];
    let mut out = Vec::new();
    for k in 0..18i64 {
        let (agent, team) = agents[(k % 3) as usize];
        out.push(Call {
            id: format!("call-{k}"),
            agent: agent.into(),
            team: team.into(),
            inbound: k % 5 != 4,
            abandoned: false,
            arrived: base + (k % 3) * DAY + k * 600_000,
            wait: 3_000 + 4_000 * (k % 7),
            talk: 120_000 + 13_000 * k,
            hold: 10_000 * (k % 4),
            acw: 30_000 + 1_000 * k,
            transferred: k % 6 == 1,
            csat: (k % 3 != 2).then_some(1 + (k % 5) as i32),
            nps: (k % 2 == 0).then_some((k % 11) as i32),
            complaints: if k % 7 == 3 {
                vec![
                    (format!("fb-{k}-a"), "Billing".into(), k % 2 == 0),
                    (format!("fb-{k}-b"), "Rude agent".into(), false),
                ]
            } else {
                Vec::new()
            },
            voided: k == 5,
        });
    }
    out.push(Call {
        id: "call-abandoned".into(),
        agent: String::new(),
        team: String::new(),
        inbound: true,
        abandoned: true,
        arrived: base + HOUR,
        wait: 45_000,
        talk: 0,
        hold: 0,
        acw: 0,
        transferred: false,
        csat: None,
        nps: None,
        complaints: Vec::new(),
        voided: false,
    });
    out
}

/// One submitted evaluation as the test observed it (its latest revision).
#[derive(Debug, Clone)]
struct Eval {
    call: String,
    score: f64,
    passed: bool,
    critical: bool,
}

fn yes(q: &str, v: bool) -> Answer {
    Answer {
        question_id: q.into(),
        value: Some(answer::Value::Yes(v)),
        comment: if v { String::new() } else { "missed".into() },
    }
}

fn answers(verified: bool, resolved: &str, empathy: i32) -> Vec<Answer> {
    vec![
        yes("greeted", true),
        yes("verified", verified),
        Answer {
            question_id: "resolved".into(),
            value: Some(answer::Value::OptionId(resolved.into())),
            ..Default::default()
        },
        Answer {
            question_id: "empathy".into(),
            value: Some(answer::Value::ScaleValue(empathy)),
            ..Default::default()
        },
        yes("disclosure", true),
        yes("interrupted", false),
    ]
    .into_iter()
    .chain((resolved != "fully").then(|| yes("follow_up", true)))
    .collect()
}

// --------------------------------------------------------------- expectations

fn mean(v: &[f64]) -> Option<f64> {
    (!v.is_empty()).then(|| v.iter().sum::<f64>() / v.len() as f64)
}

fn share(x: usize, n: usize) -> Option<f64> {
    (n > 0).then(|| x as f64 / n as f64)
}

#[derive(Debug, Default)]
struct Expected {
    interactions: i64,
    offered: i64,
    handled: i64,
    aht: Option<f64>,
    asa: Option<f64>,
    abandonment: Option<f64>,
    service_level: Option<f64>,
    transfer: Option<f64>,
    fcr: Option<f64>,
    coverage: Option<f64>,
    surveys: i64,
    csat: Option<f64>,
    nps: Option<f64>,
    complaints: i64,
    complaint_rate: Option<f64>,
    complaint_resolved: Option<f64>,
    evaluations: i64,
    score: Option<f64>,
    pass_rate: Option<f64>,
    critical_rate: Option<f64>,
}

fn expect(calls: &[&Call], evals: &[&Eval], evaluated: &[String]) -> Expected {
    let handled: Vec<&&Call> = calls.iter().filter(|c| c.handled()).collect();
    let offered: Vec<&&Call> = calls
        .iter()
        .filter(|c| c.inbound && (c.handled() || c.abandoned))
        .collect();
    let answered: Vec<&&&Call> = offered.iter().filter(|c| c.handled()).collect();
    // FCR: voided is not resolved; inbound past the window with a customer is
    // resolved; anything else is unknown.
    let fcr_known: Vec<bool> = calls
        .iter()
        .filter_map(|c| {
            if c.voided {
                Some(false)
            } else if c.inbound {
                Some(true)
            } else {
                None
            }
        })
        .collect();
    let csat: Vec<i32> = calls.iter().filter_map(|c| c.csat).collect();
    let nps: Vec<i32> = calls.iter().filter_map(|c| c.nps).collect();
    let complaints: Vec<&(String, String, bool)> =
        calls.iter().flat_map(|c| c.complaints.iter()).collect();
    Expected {
        interactions: calls.len() as i64,
        offered: offered.len() as i64,
        handled: handled.len() as i64,
        aht: mean(
            &handled
                .iter()
                .map(|c| (c.talk + c.hold + c.acw) as f64 / 1000.0)
                .collect::<Vec<_>>(),
        ),
        asa: mean(
            &answered
                .iter()
                .map(|c| c.wait as f64 / 1000.0)
                .collect::<Vec<_>>(),
        ),
        abandonment: share(
            offered.iter().filter(|c| c.abandoned).count(),
            offered.len(),
        ),
        service_level: share(
            answered.iter().filter(|c| c.wait <= 20_000).count(),
            offered.len(),
        ),
        transfer: share(
            handled.iter().filter(|c| c.transferred).count(),
            handled.len(),
        ),
        fcr: share(fcr_known.iter().filter(|r| **r).count(), fcr_known.len()),
        coverage: share(
            handled.iter().filter(|c| evaluated.contains(&c.id)).count(),
            handled.len(),
        ),
        surveys: calls
            .iter()
            .filter(|c| c.csat.is_some() || c.nps.is_some())
            .count() as i64,
        csat: share(csat.iter().filter(|c| **c >= 4).count(), csat.len()),
        nps: (!nps.is_empty()).then(|| {
            let p = nps.iter().filter(|n| **n >= 9).count() as f64;
            let d = nps.iter().filter(|n| **n <= 6).count() as f64;
            100.0 * (p - d) / nps.len() as f64
        }),
        complaints: complaints.len() as i64,
        complaint_rate: share(
            calls.iter().filter(|c| !c.complaints.is_empty()).count(),
            calls.len(),
        ),
        complaint_resolved: share(complaints.iter().filter(|c| c.2).count(), complaints.len()),
        evaluations: evals.len() as i64,
        score: mean(&evals.iter().map(|e| e.score).collect::<Vec<_>>()),
        pass_rate: share(evals.iter().filter(|e| e.passed).count(), evals.len()),
        critical_rate: share(evals.iter().filter(|e| e.critical).count(), evals.len()),
    }
}

#[track_caller]
fn same(what: &str, e: &Option<common::Estimate>, want: Option<f64>) {
    let e = e.as_ref().unwrap();
    match want {
        None => assert!(e.no_data, "{what}: expected no data, got {e:?}"),
        Some(v) => {
            assert!(!e.no_data, "{what}: no data, expected {v}");
            assert!(
                (e.value - v).abs() < 1e-9,
                "{what}: got {}, expected {v}",
                e.value
            );
            assert!(
                e.ci_low <= e.value + 1e-12 && e.value <= e.ci_high + 1e-12,
                "{what}: {e:?}"
            );
        }
    }
}

fn period(start: i64, days: i64) -> pb::Period {
    use chrono::Datelike as _;
    let d = |ms: i64| {
        let t = chrono::DateTime::from_timestamp_millis(ms)
            .unwrap()
            .date_naive();
        pb::LocalDate {
            year: t.year(),
            month: t.month() as i32,
            day: t.day() as i32,
        }
    };
    pb::Period {
        kind: Some(pb::period::Kind::DateRange(pb::DateRange {
            start_date: Some(d(start)),
            end_date: Some(d(start + days * DAY)),
        })),
    }
}

async fn reports(
    r: &mut ReportingClient,
    p: &pb::Period,
    dim: pb::Dimension,
    filter: Option<pb::ReportFilter>,
) -> Result<
    (
        pb::RunQualityReportResponse,
        pb::RunOperationalReportResponse,
        pb::RunCustomerReportResponse,
    ),
    tonic::Status,
> {
    let q = r
        .run_quality_report(pb::RunQualityReportRequest {
            period: Some(*p),
            group_by: dim as i32,
            filter: filter.clone(),
            ..Default::default()
        })
        .await?
        .into_inner();
    let o = r
        .run_operational_report(pb::RunOperationalReportRequest {
            period: Some(*p),
            group_by: dim as i32,
            filter: filter.clone(),
            ..Default::default()
        })
        .await?
        .into_inner();
    let c = r
        .run_customer_report(pb::RunCustomerReportRequest {
            period: Some(*p),
            group_by: dim as i32,
            filter,
            ..Default::default()
        })
        .await?
        .into_inner();
    Ok((q, o, c))
}

fn check(
    label: &str,
    want: &Expected,
    q: &pb::QualityRow,
    o: &pb::OperationalRow,
    c: &pb::CustomerRow,
) {
    assert_eq!(o.interaction_count, want.interactions, "{label} volume");
    assert_eq!(o.offered_count, want.offered, "{label} offered");
    assert_eq!(o.handled_count, want.handled, "{label} handled");
    same(&format!("{label} aht"), &o.average_handle_time, want.aht);
    same(
        &format!("{label} asa"),
        &o.average_speed_of_answer,
        want.asa,
    );
    same(
        &format!("{label} abandonment"),
        &o.abandonment_rate,
        want.abandonment,
    );
    same(
        &format!("{label} service level"),
        &o.service_level,
        want.service_level,
    );
    same(
        &format!("{label} transfer"),
        &o.transfer_rate,
        want.transfer,
    );
    same(
        &format!("{label} fcr"),
        &o.first_contact_resolution,
        want.fcr,
    );
    same(
        &format!("{label} coverage"),
        &o.monitoring_coverage,
        want.coverage,
    );
    assert_eq!(c.surveys_sent, want.surveys, "{label} surveys");
    same(&format!("{label} csat"), &c.csat, want.csat);
    same(
        &format!("{label} nps"),
        &c.nps.as_ref().unwrap().score,
        want.nps,
    );
    assert_eq!(c.complaint_count, want.complaints, "{label} complaints");
    same(
        &format!("{label} complaint rate"),
        &c.complaint_rate,
        want.complaint_rate,
    );
    same(
        &format!("{label} complaints resolved"),
        &c.complaint_resolved_share,
        want.complaint_resolved,
    );
    assert_eq!(q.evaluation_count, want.evaluations, "{label} evaluations");
    same(&format!("{label} score"), &q.mean_score, want.score);
    same(&format!("{label} pass rate"), &q.pass_rate, want.pass_rate);
    same(
        &format!("{label} critical"),
        &q.critical_failure_rate,
        want.critical_rate,
    );
    assert_eq!(
        q.distribution.as_ref().unwrap().counts.iter().sum::<i64>(),
        want.evaluations
    );
}

/// Waits until reporting has applied every feed up to its head.
async fn caught_up(r: &mut ReportingClient, min: &[(pb::FeedSource, i64)]) {
    for _ in 0..300 {
        let s = r
            .get_feed_status(pb::GetFeedStatusRequest {})
            .await
            .map(|r| r.into_inner());
        if let Ok(s) = s {
            let ok = s.feeds.iter().all(|f| {
                f.lag_events == 0
                    && f.state == pb::FeedState::Following as i32
                    && min
                        .iter()
                        .filter(|(src, _)| *src as i32 == f.source)
                        .all(|(_, n)| f.applied_sequence >= *n)
            });
            if ok {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let s = r.get_feed_status(pb::GetFeedStatusRequest {}).await;
    panic!("reporting did not catch up: {s:?}");
}

async fn scoring_head(c: &mut Scoring) -> i64 {
    let mut s = c
        .stream_events(scoring::StreamEventsRequest {
            after_sequence: 0,
            follow: false,
            max_batch_size: 1,
        })
        .await
        .unwrap()
        .into_inner();
    let mut h = 0;
    while let Some(b) = s.next().await {
        h = h.max(b.unwrap().head_sequence);
    }
    h
}

async fn head(c: &mut SamplingServiceClient<earshot_tests::AuthedChannel>) -> i64 {
    let mut s = c
        .stream_events(sampling::StreamEventsRequest {
            after_sequence: 0,
            follow: false,
            max_batch_size: 1,
        })
        .await
        .unwrap()
        .into_inner();
    let mut h = 0;
    while let Some(b) = s.next().await {
        h = h.max(b.unwrap().head_sequence);
    }
    h
}

/// Ingests `calls` for `tenant` in sampling, with their surveys, complaints
/// and repeat contacts.
async fn ingest(suite: &TestSuite, tenant: &str, calls: &[Call]) {
    let token = suite.token(tenant, "acd", &[Role::Integration]);
    let mut acd =
        SamplingServiceClient::new(suite.authed(ServiceKind::Sampling, &token).await.unwrap());
    // In two batches, so reporting sees several events.
    for chunk in calls.chunks(10) {
        let r = acd
            .batch_ingest_interactions(sampling::BatchIngestInteractionsRequest {
                interactions: chunk.iter().map(Call::message).collect(),
            })
            .await
            .unwrap()
            .into_inner();
        assert!(
            r.results
                .iter()
                .all(|x| x.outcome == sampling::IngestOutcome::Created as i32),
            "{r:?}"
        );
    }
    ingest_late_facts(suite, tenant, calls).await;
}

/// The surveys, complaints and repeat contacts of `calls`.
async fn ingest_late_facts(suite: &TestSuite, tenant: &str, calls: &[Call]) {
    let token = suite.token(tenant, "acd", &[Role::Integration]);
    let mut acd =
        SamplingServiceClient::new(suite.authed(ServiceKind::Sampling, &token).await.unwrap());
    let surveys: Vec<sampling::SurveyResponse> = calls
        .iter()
        .filter(|c| c.csat.is_some() || c.nps.is_some())
        .map(|c| sampling::SurveyResponse {
            survey_id: format!("sv-{}", c.id),
            interaction_id: c.id.clone(),
            csat: c.csat,
            nps: c.nps,
            respond_time: Some(ts(c.arrived + HOUR)),
            ..Default::default()
        })
        .collect();
    let r = acd
        .record_survey_responses(sampling::RecordSurveyResponsesRequest { responses: surveys })
        .await
        .unwrap()
        .into_inner();
    assert!(r.results.iter().all(|x| x.violations.is_empty()), "{r:?}");
    let feedback: Vec<sampling::Feedback> = calls
        .iter()
        .flat_map(|c| {
            c.complaints
                .iter()
                .map(|(id, cat, resolved)| sampling::Feedback {
                    feedback_id: id.clone(),
                    interaction_id: c.id.clone(),
                    kind: sampling::FeedbackKind::Complaint as i32,
                    category: cat.clone(),
                    text: "not happy".into(),
                    receive_time: Some(ts(c.arrived + HOUR)),
                    resolved: *resolved,
                    resolve_time: resolved.then(|| ts(c.arrived + 2 * HOUR)),
                })
        })
        .collect();
    let r = acd
        .record_feedback(sampling::RecordFeedbackRequest { feedback })
        .await
        .unwrap()
        .into_inner();
    assert!(r.results.iter().all(|x| x.violations.is_empty()), "{r:?}");
    for c in calls.iter().filter(|c| c.voided) {
        acd.record_repeat_contact(sampling::RecordRepeatContactRequest {
            interaction_id: c.id.clone(),
            repeat_contact: Some(sampling::RepeatContact {
                repeat_interaction_id: "later-call".into(),
                repeat_time: Some(ts(c.arrived + DAY)),
                source: sampling::RepeatContactSource::Reported as i32,
                reason: "called back".into(),
            }),
        })
        .await
        .unwrap();
    }
}

type Scoring = ScoringServiceClient<earshot_tests::AuthedChannel>;

async fn scoring_client(suite: &TestSuite, tenant: &str, subject: &str, roles: &[Role]) -> Scoring {
    let t = suite.token(tenant, subject, roles);
    ScoringServiceClient::new(suite.authed(ServiceKind::Scoring, &t).await.unwrap())
}

/// Publishes the customer-care card; returns its id.
async fn card(qa: &mut Scoring) -> String {
    let imported = qa
        .import_scorecard(scoring::ImportScorecardRequest {
            request_id: "cc".into(),
            format: scoring::ScorecardFormat::EarshotYaml as i32,
            content: CUSTOMER_CARE.as_bytes().to_vec(),
            validate_only: false,
            pass_mark: None,
        })
        .await
        .unwrap()
        .into_inner();
    let card = imported.scorecard.unwrap();
    qa.publish_scorecard(scoring::PublishScorecardRequest {
        scorecard_id: card.id.clone(),
        etag: card.etag,
        change_note: "first".into(),
        request_id: "cc-publish".into(),
    })
    .await
    .unwrap();
    card.id
}

fn eval_of(call: &str, e: &scoring::Evaluation) -> Eval {
    let r = e.result.as_ref().unwrap();
    Eval {
        call: call.into(),
        // Reporting keeps scores in hundredths of a point (exact sums).
        score: (r.total_score * 100.0).round() / 100.0,
        passed: r.passed,
        critical: !r.critical_failures.is_empty(),
    }
}

/// Evaluates `call` and submits; releases it when `release`.
async fn evaluate(
    eve: &mut Scoring,
    qa: &mut Scoring,
    card: &str,
    call: &str,
    a: Vec<Answer>,
    release: bool,
) -> scoring::Evaluation {
    let created = eve
        .create_evaluation(scoring::CreateEvaluationRequest {
            request_id: format!("ev-{call}"),
            origin: Some(scoring::create_evaluation_request::Origin::AdHoc(
                scoring::AdHoc {
                    interaction_id: call.into(),
                },
            )),
            scorecard: Some(scoring::ScorecardVersionRef {
                scorecard_id: card.into(),
                version: 1,
            }),
        })
        .await
        .unwrap()
        .into_inner()
        .evaluation
        .unwrap();
    let submitted = eve
        .submit_evaluation(scoring::SubmitEvaluationRequest {
            evaluation_id: created.id.clone(),
            etag: created.etag.clone(),
            content: Some(scoring::DraftContent {
                answers: a,
                overall_comment: "ok".into(),
            }),
        })
        .await
        .unwrap()
        .into_inner()
        .evaluation
        .unwrap();
    if !release {
        return submitted;
    }
    qa.release_evaluation(scoring::ReleaseEvaluationRequest {
        evaluation_id: submitted.id.clone(),
        etag: submitted.etag.clone(),
    })
    .await
    .unwrap()
    .into_inner()
    .evaluation
    .unwrap()
}

fn rows_by_id<T: Clone>(rows: &[T], id: impl Fn(&T) -> String) -> BTreeMap<String, T> {
    rows.iter().map(|r| (id(r), r.clone())).collect()
}

fn gid(g: &Option<pb::Group>) -> String {
    g.as_ref().unwrap().id.clone()
}

/// Checks every figure of the three reports, center and per agent.
async fn check_all(r: &mut ReportingClient, p: &pb::Period, calls: &[Call], evals: &[Eval]) {
    let evaluated: Vec<String> = evals.iter().map(|e| e.call.clone()).collect();
    let (q, o, c) = reports(r, p, pb::Dimension::Agent, None).await.unwrap();
    let all_calls: Vec<&Call> = calls.iter().collect();
    let all_evals: Vec<&Eval> = evals.iter().collect();
    check(
        "center",
        &expect(&all_calls, &all_evals, &evaluated),
        q.total.as_ref().unwrap(),
        o.total.as_ref().unwrap(),
        c.total.as_ref().unwrap(),
    );
    let qs = rows_by_id(&q.rows, |r| gid(&r.group));
    let os = rows_by_id(&o.rows, |r| gid(&r.group));
    let cs = rows_by_id(&c.rows, |r| gid(&r.group));
    let agents: std::collections::BTreeSet<String> =
        calls.iter().map(|c| c.agent.clone()).collect();
    assert_eq!(
        os.keys().cloned().collect::<Vec<_>>(),
        agents.iter().cloned().collect::<Vec<_>>()
    );
    for a in &agents {
        let mine: Vec<&Call> = calls.iter().filter(|c| &c.agent == a).collect();
        let ids: Vec<&String> = mine.iter().map(|c| &c.id).collect();
        let my_evals: Vec<&Eval> = evals.iter().filter(|e| ids.contains(&&e.call)).collect();
        let empty_q = pb::QualityRow {
            mean_score: Some(common::Estimate {
                no_data: true,
                ..Default::default()
            }),
            pass_rate: Some(common::Estimate {
                no_data: true,
                ..Default::default()
            }),
            critical_failure_rate: Some(common::Estimate {
                no_data: true,
                ..Default::default()
            }),
            distribution: Some(pb::ScoreDistribution::default()),
            ..Default::default()
        };
        check(
            &format!("agent {a:?}"),
            &expect(&mine, &my_evals, &evaluated),
            qs.get(a).unwrap_or(&empty_q),
            &os[a],
            &cs[a],
        );
    }
}

#[tokio::test]
async fn reporting_follows_the_feeds_and_its_figures_equal_the_raw_facts() {
    for engine in TestEngine::available() {
        let mut suite = TestSuite::start_split(engine).await.unwrap();
        let now = earshot_kit::time::now_millis();
        let base = (now - 10 * DAY) / DAY * DAY;
        let p = period(base - DAY, 5);
        let admin_token = suite.token("acme", "root", &[Role::Admin, Role::QaManager]);
        let mut admin = suite.reporting(&admin_token).await.unwrap();
        let mut admin_sampling = SamplingServiceClient::new(
            suite
                .authed(ServiceKind::Sampling, &admin_token)
                .await
                .unwrap(),
        );

        // Sampling: interactions and their late facts, for two tenants.
        let acme = calls(base);
        ingest(&suite, "acme", &acme).await;
        let globex: Vec<Call> = calls(base).into_iter().take(4).collect();
        ingest(&suite, "globex", &globex).await;

        // Scoring: evaluations, some released; one disputed and re-scored.
        let mut qa = scoring_client(&suite, "acme", "quinn", &[Role::QaManager]).await;
        let mut eve =
            scoring_client(&suite, "acme", "eve", &[Role::Evaluator, Role::QaManager]).await;
        let card_id = card(&mut qa).await;
        let mut evals: BTreeMap<String, Eval> = BTreeMap::new();
        let plan: [(&str, bool, &str, i32, bool); 6] = [
            ("call-0", true, "fully", 5, true),
            ("call-1", true, "partially", 3, true),
            ("call-2", false, "fully", 4, true),
            ("call-3", true, "not", 2, false),
            ("call-4", true, "fully", 4, true),
            ("call-7", true, "partially", 4, false),
        ];
        let mut released = BTreeMap::new();
        for (call, verified, resolved, empathy, release) in plan {
            let e = evaluate(
                &mut eve,
                &mut qa,
                &card_id,
                call,
                answers(verified, resolved, empathy),
                release,
            )
            .await;
            evals.insert(call.into(), eval_of(call, &e));
            if release {
                released.insert(call.to_owned(), e);
            }
        }

        // Reporting catches up; then it is stopped mid-feed.
        let mut root_scoring = scoring_client(&suite, "acme", "root", &[Role::Admin]).await;
        let sampling_head = head(&mut admin_sampling).await;
        let scoring_now = scoring_head(&mut root_scoring).await;
        caught_up(
            &mut admin,
            &[
                (pb::FeedSource::Sampling, sampling_head),
                (pb::FeedSource::Scoring, scoring_now),
            ],
        )
        .await;
        let list: Vec<Eval> = evals.values().cloned().collect();
        check_all(&mut admin, &p, &acme, &list).await;

        // A backlog of small events, and reporting stopped while it is
        // applying them (mid-feed).
        let mut acme = acme;
        let bulk: Vec<Call> = (0..120)
            .map(|k| {
                let mut c = acme[(k % 18) as usize].clone();
                c.id = format!("bulk-{k}");
                c.arrived += 7 * k;
                c.complaints = c
                    .complaints
                    .iter()
                    .map(|(id, cat, r)| (format!("{id}-bulk-{k}"), cat.clone(), *r))
                    .collect();
                c.voided = false;
                c
            })
            .collect();
        let feeding = {
            let token = suite.token("acme", "acd", &[Role::Integration]);
            let mut acd = SamplingServiceClient::new(
                suite.authed(ServiceKind::Sampling, &token).await.unwrap(),
            );
            let bulk = bulk.clone();
            tokio::spawn(async move {
                for chunk in bulk.chunks(2) {
                    acd.batch_ingest_interactions(sampling::BatchIngestInteractionsRequest {
                        interactions: chunk.iter().map(Call::message).collect(),
                    })
                    .await
                    .unwrap();
                }
            })
        };
        tokio::time::sleep(Duration::from_millis(150)).await;
        let at_stop = admin
            .get_feed_status(pb::GetFeedStatusRequest {})
            .await
            .unwrap()
            .into_inner()
            .feeds[0]
            .applied_sequence;
        suite.stop_reporting().await.unwrap();
        feeding.await.unwrap();
        eprintln!(
            "{engine:?}: reporting stopped at sampling sequence {at_stop} of {}",
            head(&mut admin_sampling).await
        );
        // The bulk calls' surveys and complaints, while reporting is down.
        ingest_late_facts(&suite, "acme", &bulk).await;
        acme.extend(bulk);

        // While reporting is down: the agent of call-1 disputes, QA
        // re-scores; a late survey and a complaint arrive.
        let agent_token = suite.token("acme", "agent-2", &[Role::Agent]);
        let mut agent_scoring = ScoringServiceClient::new(
            suite
                .authed(ServiceKind::Scoring, &agent_token)
                .await
                .unwrap(),
        );
        let e1 = &released["call-1"];
        let disputed = agent_scoring
            .dispute_evaluation(scoring::DisputeEvaluationRequest {
                evaluation_id: e1.id.clone(),
                etag: e1.etag.clone(),
                reason: "I resolved it".into(),
                questions: vec![scoring::DisputedQuestion {
                    question_id: "resolved".into(),
                    reason: "fully resolved".into(),
                }],
            })
            .await
            .unwrap()
            .into_inner()
            .evaluation
            .unwrap();
        let mut admin_scoring = scoring_client(&suite, "acme", "root", &[Role::Admin]).await;
        let rescored = admin_scoring
            .resolve_dispute(scoring::ResolveDisputeRequest {
                evaluation_id: disputed.id.clone(),
                etag: disputed.etag.clone(),
                outcome: Some(scoring::resolve_dispute_request::Outcome::Rescore(
                    scoring::Rescore {
                        answers: answers(true, "fully", 5),
                        overall_comment: "re-scored".into(),
                        comment: "agreed".into(),
                    },
                )),
            })
            .await
            .unwrap()
            .into_inner()
            .evaluation
            .unwrap();
        assert_eq!(rescored.revision, 2);
        assert_ne!(
            rescored.result.as_ref().unwrap().total_score,
            evals["call-1"].score
        );
        evals.insert("call-1".into(), eval_of("call-1", &rescored));
        acme[9].csat = Some(5);
        acme[9].nps = Some(10);
        acme[10]
            .complaints
            .push(("fb-late".into(), "Billing".into(), true));
        ingest_late(&suite, &acme[9], &acme[10]).await;

        // Calibration: a session over two of the calls.
        calibrate(&suite, &card_id).await;

        // Restarted, reporting resumes from its cursors: exact totals.
        suite.start_reporting().await.unwrap();
        let mut admin = suite.reporting(&admin_token).await.unwrap();
        let sampling_head = head(&mut admin_sampling).await;
        let scoring_now = scoring_head(&mut root_scoring).await;
        caught_up(
            &mut admin,
            &[
                (pb::FeedSource::Sampling, sampling_head),
                (pb::FeedSource::Scoring, scoring_now),
                (pb::FeedSource::Calibration, 1),
            ],
        )
        .await;
        let list: Vec<Eval> = evals.values().cloned().collect();
        check_all(&mut admin, &p, &acme, &list).await;

        // Tenants are isolated.
        let g_token = suite.token("globex", "root", &[Role::Admin]);
        let mut g = suite.reporting(&g_token).await.unwrap();
        let (gq, go, gc) = reports(&mut g, &p, pb::Dimension::Center, None)
            .await
            .unwrap();
        let refs: Vec<&Call> = globex.iter().collect();
        check(
            "globex",
            &expect(&refs, &[], &[]),
            gq.total.as_ref().unwrap(),
            go.total.as_ref().unwrap(),
            gc.total.as_ref().unwrap(),
        );

        // An agent sees only their own figures, and only released
        // evaluations; naming another agent is refused.
        let mut agent = suite.reporting(&agent_token).await.unwrap();
        let (aq, ao, _) = reports(&mut agent, &p, pb::Dimension::Agent, None)
            .await
            .unwrap();
        assert_eq!(
            ao.rows.iter().map(|r| gid(&r.group)).collect::<Vec<_>>(),
            ["agent-2"]
        );
        let mine_released: Vec<&Eval> = evals
            .values()
            .filter(|e| {
                acme.iter().any(|c| c.id == e.call && c.agent == "agent-2")
                    && released.contains_key(&e.call)
            })
            .collect();
        assert_eq!(
            aq.total.as_ref().unwrap().evaluation_count,
            mine_released.len() as i64
        );
        let denied = reports(
            &mut agent,
            &p,
            pb::Dimension::Agent,
            Some(pb::ReportFilter {
                agent_ids: vec!["agent-1".into()],
                ..Default::default()
            }),
        )
        .await
        .unwrap_err();
        assert_eq!(denied.code(), Code::PermissionDenied);
        let denied = agent
            .get_feed_status(pb::GetFeedStatusRequest {})
            .await
            .unwrap_err();
        assert_eq!(denied.code(), Code::PermissionDenied);

        // A supervisor sees their teams only.
        let sup_token = testing::token_with_teams("acme", "sue", &[Role::Supervisor], &["green"]);
        let mut sup = suite.reporting(&sup_token).await.unwrap();
        let (_, so, _) = reports(&mut sup, &p, pb::Dimension::Team, None)
            .await
            .unwrap();
        assert_eq!(
            so.rows.iter().map(|r| gid(&r.group)).collect::<Vec<_>>(),
            ["green"]
        );

        // Bad input names the field and changes nothing.
        let bad = admin
            .run_operational_report(pb::RunOperationalReportRequest {
                period: None,
                group_by: pb::Dimension::Evaluator as i32,
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert_eq!(bad.code(), Code::InvalidArgument);
        assert!(bad.message().contains("period"), "{}", bad.message());

        // Export: CSV whose rows are the report's; charts: SVG that parses.
        let mut stream = admin
            .export_report(pb::ExportReportRequest {
                report: Some(pb::export_report_request::Report::Operational(
                    pb::RunOperationalReportRequest {
                        period: Some(p),
                        group_by: pb::Dimension::Agent as i32,
                        ..Default::default()
                    },
                )),
                format: pb::ExportFormat::Csv as i32,
            })
            .await
            .unwrap()
            .into_inner();
        let mut csv = Vec::new();
        let mut rows = 0;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.unwrap();
            assert!(chunk.data.len() <= 64 * 1024);
            assert_eq!(chunk.content_type, "text/csv; charset=utf-8");
            rows += chunk.row_count;
            csv.extend(chunk.data);
        }
        let text = String::from_utf8(csv).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        let header: Vec<&str> = lines[0].split(',').collect();
        assert_eq!(header[0], "group_id");
        assert_eq!(rows as usize, lines.len() - 1);
        assert_eq!(lines.len() - 1, 4, "{text}");
        for l in &lines[1..] {
            assert_eq!(l.split(',').count(), header.len(), "{l}");
        }
        let trend = pb::RunTrendRequest {
            metric: pb::Metric::AverageHandleTime as i32,
            granularity: common::Granularity::Day as i32,
            period: Some(p),
            ..Default::default()
        };
        let t = admin.run_trend(trend.clone()).await.unwrap().into_inner();
        assert_eq!(t.series.len(), 1);
        assert_eq!(t.series[0].points.len(), 6);
        for chart in [
            pb::render_chart_request::Chart::Trend(pb::TrendChart {
                trend: Some(trend),
                show_target: true,
            }),
            pb::render_chart_request::Chart::Distribution(pb::DistributionChart {
                period: Some(p),
                filter: None,
            }),
        ] {
            let svg = admin
                .render_chart(pb::RenderChartRequest {
                    chart: Some(chart),
                    width: 640,
                    height: 320,
                    title: "Figures <&> checks".into(),
                })
                .await
                .unwrap()
                .into_inner();
            assert_eq!(svg.content_type, "image/svg+xml");
            let doc = roxmltree::Document::parse(&svg.svg).unwrap();
            assert_eq!(doc.root_element().tag_name().name(), "svg");
        }
        analyses(&mut admin, &p, &card_id, &evals).await;
        suite.stop().await.unwrap();
    }
}

/// Settings, comparisons, question insights, targets and benchmarks agree
/// with the grouped reports and with the evaluations sent.
async fn analyses(
    admin: &mut ReportingClient,
    p: &pb::Period,
    card: &str,
    evals: &BTreeMap<String, Eval>,
) {
    // Settings: defaults, an update under its etag, a stale etag, a bad field.
    let s = admin
        .get_settings(pb::GetSettingsRequest {})
        .await
        .unwrap()
        .into_inner()
        .settings
        .unwrap();
    assert_eq!(s.minimum_sample, 10);
    let target = pb::Target {
        metric: pb::Metric::QualityScore as i32,
        value: 80.0,
        comparison: pb::TargetComparison::AtLeast as i32,
        ..Default::default()
    };
    let updated = admin
        .update_settings(pb::UpdateSettingsRequest {
            settings: Some(pb::Settings {
                minimum_sample: 2,
                targets: vec![target.clone()],
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["minimum_sample".into(), "targets".into()],
            }),
            etag: s.etag.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .settings
        .unwrap();
    assert_eq!(updated.minimum_sample, 2);
    assert!(!updated.etag.is_empty());
    let stale = admin
        .update_settings(pb::UpdateSettingsRequest {
            settings: Some(pb::Settings {
                minimum_sample: 3,
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["minimum_sample".into()],
            }),
            etag: "stale".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(stale.code(), Code::Aborted);
    let bad = admin
        .update_settings(pb::UpdateSettingsRequest {
            settings: Some(pb::Settings {
                minimum_sample: -1,
                ..Default::default()
            }),
            update_mask: Some(prost_types::FieldMask {
                paths: vec!["minimum_sample".into()],
            }),
            etag: updated.etag.clone(),
        })
        .await
        .unwrap_err();
    assert_eq!(bad.code(), Code::InvalidArgument);
    assert!(
        bad.message().contains("minimum_sample"),
        "{}",
        bad.message()
    );

    let (q, o, _) = reports(admin, p, pb::Dimension::Agent, None).await.unwrap();
    let qrow = |id: &str| q.rows.iter().find(|r| gid(&r.group) == id).cloned();
    let orow = |id: &str| o.rows.iter().find(|r| gid(&r.group) == id).cloned();

    // Comparison against an empty baseline: current figures as reported,
    // nothing tested.
    let cmp = admin
        .compare_periods(pb::ComparePeriodsRequest {
            metrics: vec![
                pb::Metric::QualityScore as i32,
                pb::Metric::AverageHandleTime as i32,
            ],
            period: Some(*p),
            baseline: pb::BaselineKind::SamePeriodLastYear as i32,
            group_by: pb::Dimension::Agent as i32,
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    for row in &cmp.rows {
        let id = gid(&row.group);
        let c = |i: usize| row.comparisons[i].comparison.unwrap();
        assert_eq!(
            c(0).current,
            qrow(&id).and_then(|r| r.mean_score).or(c(0).current)
        );
        assert_eq!(c(1).current, orow(&id).unwrap().average_handle_time);
        assert!(c(1).baseline.unwrap().no_data);
        assert_eq!(c(1).test, 0);
    }
    let dup = admin
        .compare_periods(pb::ComparePeriodsRequest {
            metrics: vec![pb::Metric::Csat as i32, pb::Metric::Csat as i32],
            period: Some(*p),
            group_by: pb::Dimension::Agent as i32,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(dup.code(), Code::InvalidArgument);
    assert!(dup.message().contains("metrics[1]"), "{}", dup.message());

    // Question insights: "verified" failed exactly where the test said no.
    let ins = admin
        .run_question_insights(pb::RunQuestionInsightsRequest {
            scorecard_id: card.into(),
            period: Some(*p),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let verified = ins
        .questions
        .iter()
        .find(|q| q.question_id == "verified")
        .unwrap();
    assert_eq!(verified.failed_count, 1);
    assert_eq!(verified.passed_count, evals.len() as i64 - 1);
    assert_eq!(
        ins.questions.iter().map(|q| q.failed_count).sum::<i64>(),
        ins.total_failures
    );
    for (i, q) in ins.questions.iter().enumerate() {
        assert_eq!(q.pareto_rank, i as i32 + 1);
    }

    // Targets: each agent's overall quality figure is the report's.
    let t = admin
        .run_target_report(pb::RunTargetReportRequest {
            period: Some(*p),
            granularity: common::Granularity::Day as i32,
            group_by: pb::Dimension::Agent as i32,
            metrics: vec![pb::Metric::QualityScore as i32],
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(t.summaries.len(), 1);
    assert_eq!(t.summaries[0].target.as_ref().unwrap().value, 80.0);
    for g in &t.summaries[0].groups {
        let id = gid(&g.group);
        let want = qrow(&id).unwrap().mean_score.unwrap();
        assert_eq!(g.overall.as_ref().unwrap().value, want.value);
        assert_eq!(g.periods.len(), 6);
    }
    let untargeted = admin
        .run_target_report(pb::RunTargetReportRequest {
            period: Some(*p),
            granularity: common::Granularity::Day as i32,
            group_by: pb::Dimension::Agent as i32,
            metrics: vec![pb::Metric::Csat as i32],
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(untargeted.code(), Code::InvalidArgument);

    // Benchmark: the group's and the center's figures are the reports'.
    let b = admin
        .run_benchmark(pb::RunBenchmarkRequest {
            dimension: pb::Dimension::Agent as i32,
            group_id: "agent-1".into(),
            period: Some(*p),
            metrics: vec![
                pb::Metric::QualityScore as i32,
                pb::Metric::AverageHandleTime as i32,
            ],
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(b.lines.len(), 2);
    assert_eq!(
        b.lines[0].group_value.as_ref().unwrap().value,
        qrow("agent-1").unwrap().mean_score.unwrap().value
    );
    assert_eq!(
        b.lines[1].center_value.as_ref().unwrap().value,
        o.total
            .as_ref()
            .unwrap()
            .average_handle_time
            .as_ref()
            .unwrap()
            .value
    );
    let score = b.lines[0].group_value.as_ref().unwrap().value;
    assert_eq!(
        b.lines[0].target_status,
        if score >= 80.0 {
            pb::TargetStatus::Met
        } else {
            pb::TargetStatus::NotMet
        } as i32
    );
    // Every report exports.
    for report in [
        pb::export_report_request::Report::Benchmark(pb::RunBenchmarkRequest {
            dimension: pb::Dimension::Agent as i32,
            group_id: "agent-1".into(),
            period: Some(*p),
            metrics: vec![],
        }),
        pb::export_report_request::Report::QuestionInsights(pb::RunQuestionInsightsRequest {
            scorecard_id: card.into(),
            period: Some(*p),
            ..Default::default()
        }),
    ] {
        let mut stream = admin
            .export_report(pb::ExportReportRequest {
                report: Some(report),
                format: pb::ExportFormat::Csv as i32,
            })
            .await
            .unwrap()
            .into_inner();
        let mut rows = 0;
        while let Some(c) = stream.next().await {
            rows += c.unwrap().row_count;
        }
        assert!(rows > 0);
    }
}

/// A late survey answer for `survey` and a late complaint on `complaint`.
async fn ingest_late(suite: &TestSuite, survey: &Call, complaint: &Call) {
    let token = suite.token("acme", "acd", &[Role::Integration]);
    let mut acd =
        SamplingServiceClient::new(suite.authed(ServiceKind::Sampling, &token).await.unwrap());
    acd.record_survey_responses(sampling::RecordSurveyResponsesRequest {
        responses: vec![sampling::SurveyResponse {
            survey_id: format!("sv-late-{}", survey.id),
            interaction_id: survey.id.clone(),
            csat: survey.csat,
            nps: survey.nps,
            respond_time: Some(ts(survey.arrived + 2 * HOUR)),
            ..Default::default()
        }],
    })
    .await
    .unwrap();
    let (id, cat, resolved) = complaint.complaints.last().unwrap().clone();
    acd.record_feedback(sampling::RecordFeedbackRequest {
        feedback: vec![sampling::Feedback {
            feedback_id: id,
            interaction_id: complaint.id.clone(),
            kind: sampling::FeedbackKind::Complaint as i32,
            category: cat,
            text: "late".into(),
            receive_time: Some(ts(complaint.arrived + 2 * HOUR)),
            resolved,
            resolve_time: resolved.then(|| ts(complaint.arrived + 3 * HOUR)),
        }],
    })
    .await
    .unwrap();
}

/// A blind calibration session over two calls.
async fn calibrate(suite: &TestSuite, card: &str) {
    let token = suite.token("acme", "root", &[Role::Admin, Role::QaManager]);
    let mut s =
        SamplingServiceClient::new(suite.authed(ServiceKind::Sampling, &token).await.unwrap());
    for who in ["ann", "bob"] {
        s.create_evaluator(sampling::CreateEvaluatorRequest {
            evaluator: Some(sampling::Evaluator {
                id: who.into(),
                display_name: format!("Evaluator {who}"),
                capacity_per_day: 20,
                active: true,
                ..Default::default()
            }),
            request_id: format!("ev-{who}"),
        })
        .await
        .unwrap();
    }
    let mut c = CalibrationServiceClient::new(
        suite
            .authed(ServiceKind::Calibration, &token)
            .await
            .unwrap(),
    );
    c.create_session(calibration::CreateSessionRequest {
        request_id: "cal-1".into(),
        name: "Monthly".into(),
        scorecard_id: card.into(),
        scorecard_version: 1,
        mode: calibration::SessionMode::Blind as i32,
        participant_ids: vec!["ann".into(), "bob".into()],
        interactions: Some(calibration::create_session_request::Interactions::Chosen(
            calibration::InteractionList {
                interaction_ids: vec!["call-11".into(), "call-12".into()],
            },
        )),
        ..Default::default()
    })
    .await
    .unwrap();
}
