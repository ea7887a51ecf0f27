//! The authorization table, checked over real gRPC on SQLite and PostgreSQL.
//!
//! [`table`] says, for every RPC of the four services, which roles may call
//! it. Its rows are checked against the descriptor set the servers are built
//! from, so a new RPC without a row fails here. For every RPC and every role
//! ([`Role::ALL`]) the test then calls the real suite:
//!
//! - with an empty request and with a request naming tenant A's real
//!   objects: a denied role gets `PERMISSION_DENIED` both times — a service
//!   checks the role before it validates or reads anything —, an allowed
//!   role gets anything but `PERMISSION_DENIED`/`UNAUTHENTICATED` (save the
//!   row rules a row names for its real request);
//! - as a caller of tenant B naming tenant A's ids, in every allowed role:
//!   `NOT_FOUND`, or an answer that carries none of A's objects.
//!
//! Row-level rules inside an allowed role are tested where they live and
//! only spot-checked here ([`row_level_rules`]): agents see only their own
//! released evaluations and evaluators only their own drafts
//! (`scoring.rs`: `the_whole_evaluation_lifecycle`, anonymous evaluation);
//! supervisors only their teams (`scoring.rs`, `sampling.rs`, `reporting.rs`);
//! blind calibration reveals nothing before close (`calibration.rs`).
//! Tokens that must be refused on every service are [`bad_credentials`];
//! JWKS rotation is `jwks_keys_rotate_without_a_restart`.
//!
//! `docs/security.md` prints the same table ([`docs_print_the_same_table`]
//! checks it; `EARSHOT_WRITE_DOCS=1` rewrites it). `AUTHZ_DUMP=1` prints the
//! code every call got, to review a change to the table.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};

use earshot_kit::{auth::Role, config::ServiceKind, testing};
use earshot_proto::calibration::v1 as calibration;
use earshot_proto::common::v1 as common;
use earshot_proto::sampling::v1 as sampling;
use earshot_proto::scoring::v1 as scoring;
use earshot_tests::{AuthedChannel, Bearer, TestEngine, TestSuite};
use prost::Message as _;
use tonic::{
    Code,
    codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder},
    service::interceptor::InterceptedService,
    transport::Channel,
};

use Role::{Admin, Agent, Evaluator, Integration, QaManager, Service, Supervisor};

const CUSTOMER_CARE: &str =
    include_str!("../../crates/earshot-scoring/tests/fixtures/customer_care.yaml");

/// Text put into tenant A's objects; no answer to tenant B may contain it.
const SECRET: &str = "acme-secret";

// ---------------------------------------------------------------------------
// The table.

/// Who may call one RPC.
struct Row {
    /// `package.Service/Method`, as in the descriptor set.
    method: &'static str,
    /// The roles that may call it; every other role is denied.
    allow: &'static [Role],
    /// Allowed roles that a row-level rule may still refuse
    /// (`PERMISSION_DENIED`) for the objects `real` names — e.g. a manager
    /// reading a response in a blind session before close. The empty
    /// request is never refused to them.
    row_rule: &'static [Role],
    /// A request naming tenant A's objects; `None` when the RPC takes no id
    /// (the empty request is used for both passes).
    real: Option<fn(&Seed) -> Vec<u8>>,
}

const EVERYONE: &[Role] = &[
    Admin,
    QaManager,
    Evaluator,
    Supervisor,
    Agent,
    Integration,
    Service,
];
const PEOPLE: &[Role] = &[Admin, QaManager, Evaluator, Supervisor, Agent];
const MANAGERS: &[Role] = &[Admin, QaManager];
const FEED: &[Role] = &[Service, Admin];

fn enc(m: impl prost::Message) -> Vec<u8> {
    m.encode_to_vec()
}

/// A stale etag: a request that names a real object but would change it
/// is refused by the etag check (when the role passes), so the passes do
/// not change the seeded objects under each other.
const STALE: &str = "stale-etag";

macro_rules! row {
    ($method:literal, $allow:expr) => {
        Row {
            method: $method,
            allow: $allow,
            row_rule: &[],
            real: None,
        }
    };
    ($method:literal, $allow:expr, |$s:ident| $real:expr) => {
        Row {
            method: $method,
            allow: $allow,
            row_rule: &[],
            real: Some(|$s: &Seed| enc($real)),
        }
    };
    ($method:literal, $allow:expr, row_rule $rule:expr, |$s:ident| $real:expr) => {
        Row {
            method: $method,
            allow: $allow,
            row_rule: $rule,
            real: Some(|$s: &Seed| enc($real)),
        }
    };
}

/// Scorecard readers in scoring.
const CARD_READERS: &[Role] = &[Admin, QaManager, Evaluator, Supervisor, Service];
/// Who can ever see a calibration session (managers, the service role, and
/// the roles participants hold).
const SESSION_READERS: &[Role] = &[Admin, QaManager, Evaluator, Supervisor, Service];
/// Who may run reports whose kind the request picks (quality for
/// evaluators, scoped to their own evaluations).
const REPORTERS: &[Role] = &[Admin, QaManager, Evaluator, Supervisor, Agent, Integration];
/// Who may run operational and customer reports.
const INTERACTION_REPORTERS: &[Role] = &[Admin, QaManager, Supervisor, Agent, Integration];

fn ts_now() -> Option<prost_types::Timestamp> {
    Some(ts(earshot_kit::time::now_millis()))
}

/// Every RPC and the roles that may call it.
#[rustfmt::skip]
fn table() -> Vec<Row> {
    use sampling as sa;
    use scoring as sc;
    use calibration as ca;
    use earshot_proto::reporting::v1 as rp;
    vec![
        // Sampling.
        row!("earshot.sampling.v1.SamplingService/IngestInteractions", &[Admin, Integration]),
        row!("earshot.sampling.v1.SamplingService/BatchIngestInteractions", &[Admin, Integration]),
        row!("earshot.sampling.v1.SamplingService/RecordSurveyResponses", &[Admin, Integration]),
        row!("earshot.sampling.v1.SamplingService/RecordFeedback", &[Admin, Integration]),
        row!("earshot.sampling.v1.SamplingService/RecordRepeatContact", &[Admin, Integration], |s| sa::RecordRepeatContactRequest {
            interaction_id: s.call.clone(),
            repeat_contact: Some(sa::RepeatContact {
                repeat_interaction_id: "later".into(),
                repeat_time: ts_now(),
                source: sa::RepeatContactSource::Reported as i32,
                reason: "called back".into(),
            }),
        }),
        // Row rules: supervisors their teams', agents their own, evaluators
        // their assigned interactions (sampling.rs).
        row!("earshot.sampling.v1.SamplingService/GetInteraction", EVERYONE, |s| sa::GetInteractionRequest { interaction_id: s.call.clone() }),
        row!("earshot.sampling.v1.SamplingService/ListInteractions", &[Admin, QaManager, Supervisor, Agent, Integration, Service]),
        row!("earshot.sampling.v1.SamplingService/DrawInteractions", &[Admin, QaManager, Service]),
        row!("earshot.sampling.v1.SamplingService/CreatePlan", MANAGERS),
        row!("earshot.sampling.v1.SamplingService/GetPlan", &[Admin, QaManager, Evaluator, Supervisor, Service], |s| sa::GetPlanRequest { plan_id: s.plan.clone(), version: 0 }),
        row!("earshot.sampling.v1.SamplingService/ListPlans", &[Admin, QaManager, Evaluator, Supervisor, Service]),
        row!("earshot.sampling.v1.SamplingService/UpdatePlan", MANAGERS, |s| sa::UpdatePlanRequest {
            plan: Some(sa::SamplingPlan { id: s.plan.clone(), etag: STALE.into(), ..plan() }),
        }),
        row!("earshot.sampling.v1.SamplingService/ArchivePlan", MANAGERS, |s| sa::ArchivePlanRequest { plan_id: s.plan.clone(), etag: STALE.into() }),
        row!("earshot.sampling.v1.SamplingService/PreviewPlan", MANAGERS, |s| sa::PreviewPlanRequest {
            plan_source: Some(sa::preview_plan_request::PlanSource::PlanId(s.plan.clone())),
            ..Default::default()
        }),
        row!("earshot.sampling.v1.SamplingService/CalculateSampleSize", EVERYONE),
        row!("earshot.sampling.v1.SamplingService/ClosePeriod", &[Admin, QaManager, Service], |s| sa::ClosePeriodRequest {
            plan_id: s.plan.clone(),
            period_time: Some(ts(earshot_kit::time::now_millis() - 30 * 86_400_000)),
            force: false,
            request_id: "authz-close".into(),
        }),
        row!("earshot.sampling.v1.SamplingService/CreateSelection", &[Admin, QaManager, Supervisor], |s| sa::CreateSelectionRequest {
            interaction_id: s.call.clone(),
            request_id: "authz-selection".into(),
            ..Default::default()
        }),
        row!("earshot.sampling.v1.SamplingService/ListSelections", &[Admin, QaManager, Supervisor, Service], |s| sa::ListSelectionsRequest { plan_id: s.plan.clone(), ..Default::default() }),
        row!("earshot.sampling.v1.SamplingService/CreateEvaluator", MANAGERS),
        // An evaluator reads only themselves.
        row!("earshot.sampling.v1.SamplingService/GetEvaluator", &[Admin, QaManager, Evaluator, Supervisor, Service], |s| sa::GetEvaluatorRequest { evaluator_id: s.evaluator.clone() }),
        row!("earshot.sampling.v1.SamplingService/ListEvaluators", &[Admin, QaManager, Supervisor, Service]),
        row!("earshot.sampling.v1.SamplingService/UpdateEvaluator", MANAGERS, |s| sa::UpdateEvaluatorRequest {
            evaluator: Some(sa::Evaluator {
                id: s.evaluator.clone(),
                etag: STALE.into(),
                display_name: "renamed".into(),
                capacity_per_day: 10,
                active: true,
                ..Default::default()
            }),
        }),
        // Evaluators their own, supervisors their teams' (sampling.rs).
        row!("earshot.sampling.v1.SamplingService/ListAssignments", &[Admin, QaManager, Evaluator, Supervisor, Service]),
        row!("earshot.sampling.v1.SamplingService/GetAssignment", &[Admin, QaManager, Evaluator, Supervisor, Service], |s| sa::GetAssignmentRequest { assignment_id: s.assignment.clone() }),
        row!("earshot.sampling.v1.SamplingService/ClaimNextAssignment", &[Evaluator]),
        row!("earshot.sampling.v1.SamplingService/ReleaseAssignment", &[Admin, QaManager, Evaluator], |s| sa::ReleaseAssignmentRequest {
            assignment_id: s.assignment.clone(),
            etag: STALE.into(),
            reason: "authz".into(),
        }),
        row!("earshot.sampling.v1.SamplingService/CompleteAssignment", &[Admin, Evaluator, Service], |s| sa::CompleteAssignmentRequest {
            assignment_id: s.assignment.clone(),
            evaluation_id: s.evaluation.clone(),
            evaluator_id: s.evaluator.clone(),
            complete_time: ts_now(),
        }),
        row!("earshot.sampling.v1.SamplingService/ReassignAssignment", MANAGERS, |s| sa::ReassignAssignmentRequest {
            assignment_id: s.assignment.clone(),
            evaluator_id: "ann".into(),
            etag: STALE.into(),
            reason: "authz".into(),
        }),
        row!("earshot.sampling.v1.SamplingService/CancelAssignment", MANAGERS, |s| sa::CancelAssignmentRequest {
            assignment_id: s.assignment.clone(),
            etag: STALE.into(),
            reason: "authz".into(),
        }),
        row!("earshot.sampling.v1.SamplingService/GetCoverage", &[Admin, QaManager, Supervisor, Agent], |s| sa::GetCoverageRequest { plan_id: s.plan.clone(), ..Default::default() }),
        row!("earshot.sampling.v1.SamplingService/GetSettings", EVERYONE),
        row!("earshot.sampling.v1.SamplingService/UpdateSettings", &[Admin]),
        row!("earshot.sampling.v1.SamplingService/StreamEvents", FEED),
        // Erasure and purge change stored data, so the table sends only the
        // empty request; tests/tests/privacy.rs proves what they do,
        // including that another tenant's admin reaches nothing.
        row!("earshot.sampling.v1.SamplingService/EraseCustomer", &[Admin]),
        row!("earshot.sampling.v1.SamplingService/PurgeExpiredDetail", &[Admin]),
        // Scoring.
        row!("earshot.scoring.v1.ScoringService/CreateScorecard", MANAGERS),
        row!("earshot.scoring.v1.ScoringService/GetScorecard", CARD_READERS, |s| sc::GetScorecardRequest { scorecard_id: s.card.clone() }),
        row!("earshot.scoring.v1.ScoringService/ListScorecards", CARD_READERS),
        row!("earshot.scoring.v1.ScoringService/UpdateScorecard", MANAGERS, |s| sc::UpdateScorecardRequest {
            scorecard_id: s.card.clone(),
            etag: STALE.into(),
            definition: None,
        }),
        row!("earshot.scoring.v1.ScoringService/PublishScorecard", MANAGERS, |s| sc::PublishScorecardRequest {
            scorecard_id: s.card.clone(),
            etag: STALE.into(),
            change_note: "authz".into(),
            request_id: "authz-publish".into(),
        }),
        row!("earshot.scoring.v1.ScoringService/ArchiveScorecard", MANAGERS, |s| sc::ArchiveScorecardRequest { scorecard_id: s.card.clone(), etag: STALE.into() }),
        // Agents read the versions their evaluations pin.
        row!("earshot.scoring.v1.ScoringService/GetScorecardVersion", &[Admin, QaManager, Evaluator, Supervisor, Agent, Service], |s| sc::GetScorecardVersionRequest { scorecard_id: s.card.clone(), version: 1 }),
        row!("earshot.scoring.v1.ScoringService/ListScorecardVersions", CARD_READERS, |s| sc::ListScorecardVersionsRequest { scorecard_id: s.card.clone(), ..Default::default() }),
        row!("earshot.scoring.v1.ScoringService/ValidateScorecard", CARD_READERS, |s| sc::ValidateScorecardRequest {
            source: Some(sc::validate_scorecard_request::Source::ScorecardId(s.card.clone())),
        }),
        row!("earshot.scoring.v1.ScoringService/ImportScorecard", MANAGERS),
        row!("earshot.scoring.v1.ScoringService/ExportScorecard", &[Admin, QaManager, Evaluator, Supervisor], |s| sc::ExportScorecardRequest {
            scorecard_id: s.card.clone(),
            format: sc::ScorecardFormat::EarshotYaml as i32,
            ..Default::default()
        }),
        row!("earshot.scoring.v1.ScoringService/ScoreAnswers", CARD_READERS, |s| sc::ScoreAnswersRequest {
            scorecard: Some(sc::score_answers_request::Scorecard::Version(sc::ScorecardVersionRef { scorecard_id: s.card.clone(), version: 1 })),
            answers: good_answers(),
        }),
        // Agents create self-evaluations only; this request names an
        // assignment, which is not theirs.
        row!("earshot.scoring.v1.ScoringService/CreateEvaluation", &[Admin, QaManager, Evaluator, Agent], row_rule &[Agent], |s| sc::CreateEvaluationRequest {
            request_id: "authz-create".into(),
            origin: Some(sc::create_evaluation_request::Origin::Assignment(sc::FromAssignment { assignment_id: s.assignment.clone() })),
            scorecard: Some(sc::ScorecardVersionRef { scorecard_id: s.card.clone(), version: 1 }),
        }),
        // Who sees which evaluation: scoring.rs (agents their released
        // ones, supervisors their teams', evaluators their own).
        row!("earshot.scoring.v1.ScoringService/GetEvaluation", PEOPLE, |s| sc::GetEvaluationRequest { evaluation_id: s.evaluation.clone() }),
        row!("earshot.scoring.v1.ScoringService/ListEvaluations", PEOPLE),
        // The author (an agent for a self-evaluation) or a manager.
        row!("earshot.scoring.v1.ScoringService/SaveEvaluationDraft", &[Admin, QaManager, Evaluator, Agent], |s| sc::SaveEvaluationDraftRequest {
            evaluation_id: s.draft.clone(),
            etag: STALE.into(),
            content: None,
        }),
        row!("earshot.scoring.v1.ScoringService/SubmitEvaluation", &[Admin, QaManager, Evaluator, Agent], |s| sc::SubmitEvaluationRequest {
            evaluation_id: s.draft.clone(),
            etag: STALE.into(),
            content: None,
        }),
        // Evaluators only when the tenant's settings let them.
        row!("earshot.scoring.v1.ScoringService/ReleaseEvaluation", &[Admin, QaManager, Evaluator], row_rule &[Evaluator], |s| sc::ReleaseEvaluationRequest {
            evaluation_id: s.evaluation.clone(),
            etag: STALE.into(),
        }),
        row!("earshot.scoring.v1.ScoringService/AcknowledgeEvaluation", &[Agent], |s| sc::AcknowledgeEvaluationRequest {
            evaluation_id: s.evaluation.clone(),
            etag: STALE.into(),
            comment: String::new(),
        }),
        row!("earshot.scoring.v1.ScoringService/DisputeEvaluation", &[Agent], |s| sc::DisputeEvaluationRequest {
            evaluation_id: s.evaluation.clone(),
            etag: STALE.into(),
            reason: "authz".into(),
            questions: vec![],
        }),
        row!("earshot.scoring.v1.ScoringService/ResolveDispute", MANAGERS, |s| sc::ResolveDisputeRequest {
            evaluation_id: s.evaluation.clone(),
            etag: STALE.into(),
            outcome: Some(sc::resolve_dispute_request::Outcome::Uphold(sc::Uphold { comment: "authz".into() })),
        }),
        row!("earshot.scoring.v1.ScoringService/ListEvaluationRevisions", PEOPLE, |s| sc::ListEvaluationRevisionsRequest { evaluation_id: s.evaluation.clone(), ..Default::default() }),
        // The author (an agent only of a self-evaluation), a supervisor of
        // the team, a manager.
        row!("earshot.scoring.v1.ScoringService/AddCoachingComment", &[Admin, QaManager, Evaluator, Supervisor, Agent], row_rule &[Agent], |s| sc::AddCoachingCommentRequest {
            request_id: "authz-comment".into(),
            evaluation_id: s.evaluation.clone(),
            question_id: String::new(),
            text: "authz".into(),
        }),
        row!("earshot.scoring.v1.ScoringService/DeleteEvaluation", &[Admin, QaManager, Evaluator, Agent], |s| sc::DeleteEvaluationRequest { evaluation_id: s.draft.clone(), etag: STALE.into() }),
        row!("earshot.scoring.v1.ScoringService/ListAuditEntries", &[Admin], |s| sc::ListAuditEntriesRequest { resource_id: s.evaluation.clone(), ..Default::default() }),
        row!("earshot.scoring.v1.ScoringService/GetSettings", &[Admin, QaManager, Evaluator, Supervisor, Agent, Service]),
        row!("earshot.scoring.v1.ScoringService/UpdateSettings", &[Admin]),
        row!("earshot.scoring.v1.ScoringService/StreamEvents", FEED),
        row!("earshot.scoring.v1.ScoringService/EraseInteractionText", FEED),
        // Calibration: which sessions and responses an allowed role sees is
        // calibration.rs's (participants only; blind until close).
        row!("earshot.calibration.v1.CalibrationService/CreateSession", MANAGERS),
        row!("earshot.calibration.v1.CalibrationService/GetSession", SESSION_READERS, |s| ca::GetSessionRequest { session_id: s.session.clone() }),
        row!("earshot.calibration.v1.CalibrationService/ListSessions", SESSION_READERS),
        row!("earshot.calibration.v1.CalibrationService/UpdateSession", MANAGERS, |s| ca::UpdateSessionRequest {
            session_id: s.session.clone(),
            etag: STALE.into(),
            update_mask: Some(prost_types::FieldMask { paths: vec!["name".into()] }),
            name: "renamed".into(),
            ..Default::default()
        }),
        row!("earshot.calibration.v1.CalibrationService/CloseSession", MANAGERS, |s| ca::CloseSessionRequest { session_id: s.session.clone(), etag: STALE.into() }),
        row!("earshot.calibration.v1.CalibrationService/CancelSession", MANAGERS, |s| ca::CancelSessionRequest {
            session_id: s.session.clone(),
            etag: STALE.into(),
            reason: "authz".into(),
        }),
        // Participants only: the managers here are not.
        row!("earshot.calibration.v1.CalibrationService/SubmitResponse", &[Admin, QaManager, Evaluator, Supervisor], row_rule &[Admin, QaManager], |s| ca::SubmitResponseRequest {
            request_id: "authz-response".into(),
            session_id: s.session.clone(),
            interaction_id: s.call2.clone(),
            answers: good_answers(),
            ..Default::default()
        }),
        // Before close only the author reads a response, managers included
        // (this one is ann's; eve is the evaluator).
        row!("earshot.calibration.v1.CalibrationService/GetResponse", SESSION_READERS, row_rule &[Admin, QaManager, Evaluator, Service], |s| ca::GetResponseRequest {
            session_id: s.session.clone(),
            interaction_id: s.call2.clone(),
            participant_id: "ann".into(),
        }),
        row!("earshot.calibration.v1.CalibrationService/ListResponses", SESSION_READERS, |s| ca::ListResponsesRequest { session_id: s.session.clone(), ..Default::default() }),
        row!("earshot.calibration.v1.CalibrationService/RecordConsensus", MANAGERS, |s| ca::RecordConsensusRequest {
            session_id: s.session.clone(),
            etag: STALE.into(),
            ..Default::default()
        }),
        row!("earshot.calibration.v1.CalibrationService/GetSessionResults", SESSION_READERS, |s| ca::GetSessionResultsRequest { session_id: s.session.clone() }),
        // A supervisor or evaluator reads their own trend only.
        row!("earshot.calibration.v1.CalibrationService/GetParticipantTrend", SESSION_READERS, row_rule &[Supervisor], |s| ca::GetParticipantTrendRequest {
            participant_id: s.evaluator.clone(),
            scorecard_id: s.card.clone(),
            ..Default::default()
        }),
        row!("earshot.calibration.v1.CalibrationService/ComputeAgreement", EVERYONE),
        row!("earshot.calibration.v1.CalibrationService/GetSettings", SESSION_READERS),
        row!("earshot.calibration.v1.CalibrationService/UpdateSettings", MANAGERS),
        row!("earshot.calibration.v1.CalibrationService/StreamEvents", FEED),
        row!("earshot.calibration.v1.CalibrationService/EraseInteractionText", FEED),
        // Reporting: reports take periods and filters, not ids; what an
        // allowed role sees is narrowed inside (reporting.rs).
        row!("earshot.reporting.v1.ReportingService/RunQualityReport", REPORTERS),
        row!("earshot.reporting.v1.ReportingService/RunOperationalReport", INTERACTION_REPORTERS),
        row!("earshot.reporting.v1.ReportingService/RunCustomerReport", INTERACTION_REPORTERS),
        row!("earshot.reporting.v1.ReportingService/RunTrend", REPORTERS),
        row!("earshot.reporting.v1.ReportingService/ComparePeriods", REPORTERS),
        // Names a scorecard: tenant B must not get A's questions.
        row!("earshot.reporting.v1.ReportingService/RunQuestionInsights", &[Admin, QaManager, Supervisor, Integration], |s| rp::RunQuestionInsightsRequest {
            scorecard_id: s.card.clone(),
            period: Some(rp::Period { kind: Some(rp::period::Kind::Preset(rp::PresetPeriod::Last7Days as i32)) }),
            ..Default::default()
        }),
        row!("earshot.reporting.v1.ReportingService/RunTargetReport", REPORTERS),
        row!("earshot.reporting.v1.ReportingService/RunBenchmark", REPORTERS),
        row!("earshot.reporting.v1.ReportingService/ExportReport", REPORTERS),
        row!("earshot.reporting.v1.ReportingService/RenderChart", REPORTERS),
        row!("earshot.reporting.v1.ReportingService/GetFeedStatus", &[Admin, QaManager, Integration, Service]),
        row!("earshot.reporting.v1.ReportingService/GetSettings", &[Admin, QaManager, Supervisor, Integration, Service]),
        row!("earshot.reporting.v1.ReportingService/UpdateSettings", MANAGERS),
    ]
}

/// A valid plan body (for requests that must pass validation to reach the
/// lookup).
fn plan() -> sampling::SamplingPlan {
    sampling::SamplingPlan {
        display_name: format!("{SECRET} plan"),
        period: common::Granularity::Week as i32,
        target: Some(sampling::PerAgentTarget {
            min_per_agent: 0,
            max_per_agent: 10,
            random_target: Some(sampling::per_agent_target::RandomTarget::Count(0)),
        }),
        ..Default::default()
    }
}

// ---------------------------------------------------------------------------
// Calling any RPC with raw bytes.

/// Sends and receives undecoded protobuf bytes, so one loop can call every
/// RPC the descriptor set names.
#[derive(Clone, Copy, Default)]
struct RawCodec;

struct RawEncoder;
struct RawDecoder;

impl Encoder for RawEncoder {
    type Item = Vec<u8>;
    type Error = tonic::Status;
    fn encode(&mut self, item: Vec<u8>, dst: &mut EncodeBuf<'_>) -> Result<(), tonic::Status> {
        use bytes_put::BufMut as _;
        dst.put_slice(&item);
        Ok(())
    }
}

impl Decoder for RawDecoder {
    type Item = Vec<u8>;
    type Error = tonic::Status;
    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Vec<u8>>, tonic::Status> {
        use bytes_put::Buf as _;
        let mut out = vec![0; src.remaining()];
        src.copy_to_slice(&mut out);
        Ok(Some(out))
    }
}

mod bytes_put {
    pub use prost::bytes::{Buf, BufMut};
}

impl Codec for RawCodec {
    type Encode = Vec<u8>;
    type Decode = Vec<u8>;
    type Encoder = RawEncoder;
    type Decoder = RawDecoder;
    fn encoder(&mut self) -> RawEncoder {
        RawEncoder
    }
    fn decoder(&mut self) -> RawDecoder {
        RawDecoder
    }
}

/// One RPC as the descriptor set describes it.
#[derive(Debug, Clone)]
struct Method {
    /// `package.Service/Method`.
    name: String,
    service: ServiceKind,
    client_streaming: bool,
    server_streaming: bool,
}

/// Every RPC of the four services, from the descriptor set.
fn methods() -> Vec<Method> {
    let set = prost_types::FileDescriptorSet::decode(earshot_proto::FILE_DESCRIPTOR_SET).unwrap();
    let mut out = Vec::new();
    for file in set.file {
        let package = file.package().to_owned();
        for svc in &file.service {
            let kind = match svc.name() {
                "SamplingService" => ServiceKind::Sampling,
                "ScoringService" => ServiceKind::Scoring,
                "CalibrationService" => ServiceKind::Calibration,
                "ReportingService" => ServiceKind::Reporting,
                other => panic!("unknown service {package}.{other} in the descriptor set"),
            };
            for m in &svc.method {
                out.push(Method {
                    name: format!("{package}.{}/{}", svc.name(), m.name()),
                    service: kind,
                    client_streaming: m.client_streaming(),
                    server_streaming: m.server_streaming(),
                });
            }
        }
    }
    out
}

/// Calls `method` with `body`; the answer's bytes (the first message of a
/// stream) or its status.
async fn call<T>(channel: T, method: &Method, body: Vec<u8>) -> Result<Vec<u8>, tonic::Status>
where
    T: tonic::client::GrpcService<tonic::body::Body>,
    T::Error: Into<tonic::codegen::StdError>,
    T::ResponseBody: tonic::codegen::Body<Data = tonic::codegen::Bytes> + Send + 'static,
    <T::ResponseBody as tonic::codegen::Body>::Error: Into<tonic::codegen::StdError> + Send,
{
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready()
        .await
        .map_err(|e| tonic::Status::unavailable(e.into().to_string()))?;
    let path: tonic::codegen::http::uri::PathAndQuery =
        format!("/{}", method.name).parse().unwrap();
    match (method.client_streaming, method.server_streaming) {
        (false, false) => grpc
            .unary(tonic::Request::new(body), path, RawCodec)
            .await
            .map(|r| r.into_inner()),
        (true, false) => {
            let stream = tokio_stream::iter(vec![body]);
            grpc.client_streaming(tonic::Request::new(stream), path, RawCodec)
                .await
                .map(|r| r.into_inner())
        }
        (client, true) => {
            let mut stream = if client {
                let messages = tokio_stream::iter(vec![body]);
                grpc.streaming(tonic::Request::new(messages), path, RawCodec)
                    .await?
                    .into_inner()
            } else {
                grpc.server_streaming(tonic::Request::new(body), path, RawCodec)
                    .await?
                    .into_inner()
            };
            // A feed follows for ever; its first message (or its end) is
            // enough to know the call was let in.
            match tokio::time::timeout(std::time::Duration::from_secs(5), stream.message()).await {
                Ok(Ok(m)) => Ok(m.unwrap_or_default()),
                Ok(Err(s)) => Err(s),
                Err(_) => Ok(Vec::new()),
            }
        }
    }
}

fn code_of(r: &Result<Vec<u8>, tonic::Status>) -> Code {
    match r {
        Ok(_) => Code::Ok,
        Err(s) => s.code(),
    }
}

// ---------------------------------------------------------------------------
// Tenant A's objects.

/// Ids of tenant A's objects (tenant `acme`).
#[derive(Debug, Clone, Default)]
struct Seed {
    /// An interaction, agent-1 of team blue.
    call: String,
    /// A second interaction, in the calibration session.
    call2: String,
    plan: String,
    evaluator: String,
    assignment: String,
    card: String,
    /// A released evaluation of agent-1, by the evaluator.
    evaluation: String,
    /// A draft of the evaluator's.
    draft: String,
    session: String,
}

impl Seed {
    /// Server-made ids: none may appear in an answer to another tenant.
    fn server_ids(&self) -> Vec<&str> {
        vec![
            &self.plan,
            &self.assignment,
            &self.card,
            &self.evaluation,
            &self.draft,
            &self.session,
        ]
    }
}

/// The subject each role acts as in tenant A: the evaluator is the
/// assignee and author, the agent is the released evaluation's, the
/// supervisor leads its team — so row-level rules let them in.
fn subject(role: Role) -> &'static str {
    match role {
        Admin => "root",
        QaManager => "quinn",
        Evaluator => "eve",
        Supervisor => "sue",
        Agent => "agent-1",
        Integration => "acd",
        Service => "earshot-system",
    }
}

fn token(tenant: &str, role: Role) -> String {
    testing::token_with_teams(tenant, subject(role), &[role], &["blue"])
}

fn ts(ms: i64) -> prost_types::Timestamp {
    earshot_kit::time::from_millis(ms)
}

fn answer(q: &str, v: common::answer::Value) -> common::Answer {
    common::Answer {
        question_id: q.into(),
        value: Some(v),
        comment: String::new(),
    }
}

fn good_answers() -> Vec<common::Answer> {
    use common::answer::Value as V;
    vec![
        answer("greeted", V::Yes(true)),
        answer("verified", V::Yes(true)),
        answer("resolved", V::OptionId("fully".into())),
        answer("empathy", V::ScaleValue(4)),
        answer("disclosure", V::Yes(true)),
        answer("interrupted", V::Yes(false)),
    ]
}

struct Clients {
    channels: BTreeMap<ServiceKind, Channel>,
}

impl Clients {
    async fn new(suite: &TestSuite) -> Clients {
        let mut channels = BTreeMap::new();
        for kind in ServiceKind::ALL {
            channels.insert(kind, suite.channel(kind).await.unwrap());
        }
        Clients { channels }
    }

    fn with(&self, kind: ServiceKind, token: &str) -> AuthedChannel {
        InterceptedService::new(self.channels[&kind].clone(), Bearer::new(token).unwrap())
    }

    fn sampling(
        &self,
        tenant: &str,
        role: Role,
    ) -> sampling::sampling_service_client::SamplingServiceClient<AuthedChannel> {
        sampling::sampling_service_client::SamplingServiceClient::new(
            self.with(ServiceKind::Sampling, &token(tenant, role)),
        )
    }

    fn scoring(
        &self,
        tenant: &str,
        role: Role,
    ) -> scoring::scoring_service_client::ScoringServiceClient<AuthedChannel> {
        scoring::scoring_service_client::ScoringServiceClient::new(
            self.with(ServiceKind::Scoring, &token(tenant, role)),
        )
    }

    fn calibration(
        &self,
        tenant: &str,
        role: Role,
    ) -> calibration::calibration_service_client::CalibrationServiceClient<AuthedChannel> {
        calibration::calibration_service_client::CalibrationServiceClient::new(
            self.with(ServiceKind::Calibration, &token(tenant, role)),
        )
    }
}

const A: &str = "acme";
const B: &str = "globex";

/// Seeds tenant A: evaluators, interactions, a plan, an assignment, a
/// published scorecard, a released evaluation and a draft, a blind
/// calibration session.
async fn seed(c: &Clients) -> Seed {
    let mut admin = c.sampling(A, Admin);
    let mut acd = c.sampling(A, Integration);
    for who in ["eve", "ann"] {
        admin
            .create_evaluator(sampling::CreateEvaluatorRequest {
                evaluator: Some(sampling::Evaluator {
                    id: who.into(),
                    display_name: format!("{SECRET} evaluator {who}"),
                    capacity_per_day: 100,
                    active: true,
                    ..Default::default()
                }),
                request_id: format!("ev-{who}"),
            })
            .await
            .unwrap();
    }
    let now = earshot_kit::time::now_millis();
    let start = now - 3 * 3_600_000;
    let interactions: Vec<sampling::Interaction> = (1..=2)
        .map(|k| sampling::Interaction {
            id: format!("a-call-{k}"),
            channel: common::Channel::Voice as i32,
            agent_id: "agent-1".into(),
            team_id: "blue".into(),
            queue_id: "billing".into(),
            customer_ref: format!("{SECRET}-customer-{k}"),
            arrived_time: Some(ts(start + k * 60_000)),
            answered_time: Some(ts(start + k * 60_000 + 5_000)),
            ended_time: Some(ts(start + k * 60_000 + 300_000)),
            ..Default::default()
        })
        .collect();
    let r = acd
        .batch_ingest_interactions(sampling::BatchIngestInteractionsRequest { interactions })
        .await
        .unwrap()
        .into_inner();
    assert!(
        r.results
            .iter()
            .all(|x| x.outcome == sampling::IngestOutcome::Created as i32),
        "{r:?}"
    );
    let plan = admin
        .create_plan(sampling::CreatePlanRequest {
            plan: Some(plan()),
            request_id: "plan-1".into(),
        })
        .await
        .unwrap()
        .into_inner()
        .plan
        .unwrap();
    let selected = admin
        .create_selection(sampling::CreateSelectionRequest {
            interaction_id: "a-call-1".into(),
            note: format!("{SECRET} selection"),
            evaluator_id: "eve".into(),
            request_id: "sel-1".into(),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner();
    let assignment = selected.assignment.unwrap().id;

    let mut qa = c.scoring(A, QaManager);
    let mut eve = c.scoring(A, Evaluator);
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
        etag: card.etag.clone(),
        change_note: SECRET.into(),
        request_id: "cc-publish".into(),
    })
    .await
    .unwrap();
    let create = |origin| scoring::CreateEvaluationRequest {
        request_id: format!("{origin:?}")
            .chars()
            .filter(|c| c.is_alphanumeric())
            .take(100)
            .collect(),
        origin: Some(origin),
        scorecard: Some(scoring::ScorecardVersionRef {
            scorecard_id: card.id.clone(),
            version: 1,
        }),
    };
    let created = eve
        .create_evaluation(create(
            scoring::create_evaluation_request::Origin::Assignment(scoring::FromAssignment {
                assignment_id: assignment.clone(),
            }),
        ))
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
                answers: good_answers(),
                overall_comment: format!("{SECRET} comment"),
            }),
        })
        .await
        .unwrap()
        .into_inner()
        .evaluation
        .unwrap();
    let released = qa
        .release_evaluation(scoring::ReleaseEvaluationRequest {
            evaluation_id: submitted.id.clone(),
            etag: submitted.etag.clone(),
        })
        .await
        .unwrap()
        .into_inner()
        .evaluation
        .unwrap();
    let draft = eve
        .create_evaluation(create(
            scoring::create_evaluation_request::Origin::MysteryShop(scoring::MysteryShopOrigin {
                agent_id: "agent-1".into(),
                team_id: "blue".into(),
                channel: common::Channel::Voice as i32,
                start_time: Some(ts(now - 3_600_000)),
                details: Some(scoring::MysteryShop {
                    scenario: format!("{SECRET} scenario"),
                    shopper: "vendor".into(),
                }),
                ..Default::default()
            }),
        ))
        .await
        .unwrap()
        .into_inner()
        .evaluation
        .unwrap();

    let mut mgr = c.calibration(A, Admin);
    let session = mgr
        .create_session(calibration::CreateSessionRequest {
            request_id: "cal-1".into(),
            name: format!("{SECRET} session"),
            scorecard_id: card.id.clone(),
            scorecard_version: 1,
            mode: calibration::SessionMode::Blind as i32,
            participant_ids: vec!["eve".into(), "ann".into()],
            interactions: Some(calibration::create_session_request::Interactions::Chosen(
                calibration::InteractionList {
                    interaction_ids: vec!["a-call-2".into()],
                },
            )),
            ..Default::default()
        })
        .await
        .unwrap()
        .into_inner()
        .session
        .unwrap();
    Seed {
        call: "a-call-1".into(),
        call2: "a-call-2".into(),
        plan: plan.id,
        evaluator: "eve".into(),
        assignment,
        card: card.id,
        evaluation: released.id,
        draft: draft.id,
        session: session.session_id,
    }
}

// ---------------------------------------------------------------------------
// The tests.

#[test]
fn every_rpc_has_exactly_one_row() {
    let rows = table();
    let mut named = BTreeSet::new();
    for r in &rows {
        assert!(
            named.insert(r.method),
            "{} has two rows in the authorization table",
            r.method
        );
    }
    let methods: BTreeSet<String> = methods().into_iter().map(|m| m.name).collect();
    for m in &methods {
        assert!(
            named.contains(m.as_str()),
            "new RPC {m} has no row in the authorization table (tests/tests/authz.rs)"
        );
    }
    for r in &rows {
        assert!(
            methods.contains(r.method),
            "the authorization table names {}, which the descriptor set does not have",
            r.method
        );
    }
}

/// Calls every RPC in every role, on tenant A and as tenant B; returns the
/// failures (all of them, so one run shows the whole picture).
async fn check_table(c: &Clients, seed: &Seed, engine: TestEngine) -> Vec<String> {
    let rows: BTreeMap<&str, Row> = table().into_iter().map(|r| (r.method, r)).collect();
    let mut failures = Vec::new();
    let dump = std::env::var_os("AUTHZ_DUMP").is_some();

    // Tenant B first, while tenant A's objects are untouched: every allowed
    // role but `service` (the system identity reads feeds across tenants
    // by design). Naming A's ids, B may hear NOT_FOUND, or INVALID_ARGUMENT
    // (which does not depend on what exists), or an answer without A's
    // objects — never an answer that shows A's object exists (ABORTED for
    // the stale etag, FAILED_PRECONDITION for its state, ...).
    let mut reached = 0;
    for m in methods() {
        let row = &rows[m.name.as_str()];
        let body = row.real.map_or_else(Vec::new, |f| f(seed));
        for role in row.allow.iter().filter(|r| **r != Service) {
            let r = call(c.with(m.service, &token(B, *role)), &m, body.clone()).await;
            if dump {
                eprintln!("DUMPB {} {role} {:?}", m.name, code_of(&r));
            }
            match &r {
                Ok(bytes) => {
                    let text = String::from_utf8_lossy(bytes);
                    let leaked: Vec<&str> = seed
                        .server_ids()
                        .into_iter()
                        .chain([SECRET])
                        .filter(|id| text.contains(id))
                        .collect();
                    if !leaked.is_empty() {
                        failures.push(format!(
                            "{engine:?} {} as {role} of tenant B: the answer carries tenant A's {leaked:?}",
                            m.name
                        ));
                    }
                }
                Err(s) if s.code() == Code::NotFound => reached += 1,
                Err(s) if s.code() == Code::InvalidArgument => {}
                // No id of A's in the request: the error is about B alone.
                Err(_) if row.real.is_none() => {}
                // A row rule that refuses whatever the object (another
                // participant's trend, another's response).
                Err(s) if s.code() == Code::PermissionDenied && row.row_rule.contains(role) => {}
                Err(s) => failures.push(format!(
                    "{engine:?} {} as {role} of tenant B: {:?} {}, want NOT_FOUND or an answer without tenant A's objects",
                    m.name,
                    s.code(),
                    s.message()
                )),
            }
        }
    }
    // Most id-taking calls must get as far as the lookup, or the pass above
    // proves little.
    if reached < 60 {
        failures.push(format!(
            "{engine:?}: only {reached} calls of tenant B reached the lookup (NOT_FOUND)"
        ));
    }

    // Tenant A, every role, an empty request and a real one.
    for m in methods() {
        let row = &rows[m.name.as_str()];
        for role in Role::ALL {
            let allowed = row.allow.contains(&role);
            let mut bodies = vec![("empty", Vec::new())];
            if let Some(f) = row.real {
                bodies.push(("real", f(seed)));
            }
            for (what, body) in bodies {
                let r = call(c.with(m.service, &token(A, role)), &m, body).await;
                let code = code_of(&r);
                if dump {
                    eprintln!("DUMP {} {role} {what} {code:?}", m.name);
                }
                let ok = if !allowed {
                    code == Code::PermissionDenied
                } else if what == "real" && row.row_rule.contains(&role) {
                    code != Code::Unauthenticated
                } else {
                    !matches!(code, Code::PermissionDenied | Code::Unauthenticated)
                };
                if !ok {
                    let msg = r.err().map(|s| s.message().to_owned()).unwrap_or_default();
                    failures.push(format!(
                        "{engine:?} {} as {role} ({what} request): {code:?} {msg}; the table says {}",
                        m.name,
                        if allowed { "allow" } else { "deny" }
                    ));
                }
            }
        }
    }
    failures
}

/// Spot checks of the row-level rules inside an allowed role, on the
/// seeded objects (the full tests are in the files the module docs name).
async fn row_level_rules(c: &Clients, seed: &Seed) -> Vec<String> {
    let mut failures = Vec::new();
    let person = |tenant: &str, subject: &str, role: Role, teams: &[&str]| {
        testing::token_with_teams(tenant, subject, &[role], teams)
    };
    let get_eval = |id: &str| scoring::GetEvaluationRequest {
        evaluation_id: id.into(),
    };
    fn hidden<T>(r: Result<T, tonic::Status>) -> bool {
        matches!(
            r.map_err(|s| s.code()),
            Err(Code::NotFound | Code::PermissionDenied)
        )
    }
    let scoring_as = |t: &str| {
        scoring::scoring_service_client::ScoringServiceClient::new(c.with(ServiceKind::Scoring, t))
    };
    let sampling_as = |t: &str| {
        sampling::sampling_service_client::SamplingServiceClient::new(
            c.with(ServiceKind::Sampling, t),
        )
    };

    // Agents: their own released evaluation, nothing else.
    let mut own = scoring_as(&person(A, "agent-1", Agent, &[]));
    if own
        .get_evaluation(get_eval(&seed.evaluation))
        .await
        .is_err()
    {
        failures.push("agent-1 cannot read their own released evaluation".into());
    }
    if !hidden(own.get_evaluation(get_eval(&seed.draft)).await) {
        failures.push("agent-1 reads an unreleased draft about them".into());
    }
    let mut other = scoring_as(&person(A, "agent-2", Agent, &[]));
    if !hidden(other.get_evaluation(get_eval(&seed.evaluation)).await) {
        failures.push("agent-2 reads agent-1's evaluation".into());
    }
    let listed = other
        .list_evaluations(scoring::ListEvaluationsRequest::default())
        .await
        .map(|r| r.into_inner().evaluations.len());
    if !matches!(listed, Ok(0)) {
        failures.push(format!("agent-2 lists others' evaluations: {listed:?}"));
    }

    // Evaluators: their own drafts and assignments only.
    let mut ann = scoring_as(&person(A, "ann", Evaluator, &[]));
    if !hidden(ann.get_evaluation(get_eval(&seed.draft)).await) {
        failures.push("ann reads eve's draft".into());
    }
    let mut ann_s = sampling_as(&person(A, "ann", Evaluator, &[]));
    let r = ann_s
        .get_assignment(sampling::GetAssignmentRequest {
            assignment_id: seed.assignment.clone(),
        })
        .await;
    if !hidden(r) {
        failures.push("ann reads eve's assignment".into());
    }
    let listed = ann_s
        .list_assignments(sampling::ListAssignmentsRequest::default())
        .await
        .map(|r| r.into_inner().assignments.len());
    if !matches!(listed, Ok(0)) {
        failures.push(format!("ann lists eve's assignments: {listed:?}"));
    }

    // Supervisors: their teams only.
    let get_call = |id: &str| sampling::GetInteractionRequest {
        interaction_id: id.into(),
    };
    let mut sue = sampling_as(&person(A, "sue", Supervisor, &["blue"]));
    if sue.get_interaction(get_call(&seed.call)).await.is_err() {
        failures.push("sue cannot read her team's interaction".into());
    }
    let mut sam = sampling_as(&person(A, "sam", Supervisor, &["green"]));
    if !hidden(sam.get_interaction(get_call(&seed.call)).await) {
        failures.push("sam (team green) reads team blue's interaction".into());
    }
    let mut sam_scoring = scoring_as(&person(A, "sam", Supervisor, &["green"]));
    if !hidden(sam_scoring.get_evaluation(get_eval(&seed.evaluation)).await) {
        failures.push("sam (team green) reads team blue's evaluation".into());
    }

    // Blind calibration: before close a participant sees no one else's
    // response (calibration.rs has the whole flow).
    let mut ann_cal = calibration::calibration_service_client::CalibrationServiceClient::new(
        c.with(ServiceKind::Calibration, &person(A, "ann", Evaluator, &[])),
    );
    let r = ann_cal
        .get_response(calibration::GetResponseRequest {
            session_id: seed.session.clone(),
            interaction_id: seed.call2.clone(),
            participant_id: "eve".into(),
        })
        .await;
    if !hidden(r) {
        failures.push("ann reads eve's response in an open blind session".into());
    }
    failures
}

#[tokio::test]
async fn the_authorization_table_holds_on_every_rpc() {
    for engine in TestEngine::available() {
        let suite = TestSuite::start(engine).await.unwrap();
        let c = Clients::new(&suite).await;
        let seed = seed(&c).await;
        let mut failures = row_level_rules(&c, &seed).await;
        failures.extend(check_table(&c, &seed, engine).await);
        suite.stop().await.unwrap();
        assert!(
            failures.is_empty(),
            "{engine:?}: {} authorization failures:\n{}",
            failures.len(),
            failures.join("\n")
        );
    }
}

// ---------------------------------------------------------------------------
// Tokens.

fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn claims() -> earshot_kit::auth::Claims {
    earshot_kit::auth::Claims {
        iss: "earshot".into(),
        aud: "earshot".into(),
        sub: "root".into(),
        tenant: A.into(),
        roles: vec!["admin".into()],
        teams: vec![],
        exp: now_secs() + 3600,
        iat: now_secs(),
    }
}

fn hs256(claims: &earshot_kit::auth::Claims, secret: &[u8]) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        claims,
        &jsonwebtoken::EncodingKey::from_secret(secret),
    )
    .unwrap()
}

fn rs256(claims: &earshot_kit::auth::Claims, key: u8) -> String {
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::RS256);
    header.kid = Some(format!("k{key}"));
    jsonwebtoken::encode(&header, claims, &rsa_key(key)).unwrap()
}

fn rsa_key(key: u8) -> jsonwebtoken::EncodingKey {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/jwks");
    let pem = std::fs::read(dir.join(format!("key{key}.pem"))).unwrap();
    jsonwebtoken::EncodingKey::from_rsa_pem(&pem).unwrap()
}

/// Authorization header values that must be refused (`None`: no header).
fn bad_credentials() -> Vec<(&'static str, Option<String>)> {
    let secret = testing::TEST_SECRET.as_bytes();
    let good = hs256(&claims(), secret);
    let mut expired = claims();
    expired.iat = now_secs() - 7200;
    expired.exp = now_secs() - 3600;
    let mut audience = claims();
    audience.aud = "someone-else".into();
    let mut issuer = claims();
    issuer.iss = "mallory".into();
    let mut no_tenant = claims();
    no_tenant.tenant = String::new();
    let mut unknown_role = claims();
    unknown_role.roles = vec!["root".into()];
    let mut no_role = claims();
    no_role.roles = vec![];
    // The right payload with its signature's last characters changed.
    let mut tampered = good.clone();
    tampered.truncate(tampered.len() - 4);
    tampered.push_str("AAAA");
    // "alg": "none" with no signature.
    let b64 = |s: &str| {
        use base64::Engine as _;
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
    };
    let payload = serde_json::to_string(&claims()).unwrap();
    let unsigned = format!(
        "{}.{}.",
        b64(r#"{"alg":"none","typ":"JWT"}"#),
        b64(&payload)
    );
    vec![
        ("no authorization header", None),
        (
            "expired",
            Some(format!("Bearer {}", hs256(&expired, secret))),
        ),
        (
            "signed with another secret",
            Some(format!(
                "Bearer {}",
                hs256(&claims(), b"another-secret-another-secret-another")
            )),
        ),
        ("tampered signature", Some(format!("Bearer {tampered}"))),
        (
            "RS256 where HS256 is expected",
            Some(format!("Bearer {}", rs256(&claims(), 1))),
        ),
        ("alg none", Some(format!("Bearer {unsigned}"))),
        (
            "wrong audience",
            Some(format!("Bearer {}", hs256(&audience, secret))),
        ),
        (
            "wrong issuer",
            Some(format!("Bearer {}", hs256(&issuer, secret))),
        ),
        (
            "no tenant",
            Some(format!("Bearer {}", hs256(&no_tenant, secret))),
        ),
        (
            "unknown role",
            Some(format!("Bearer {}", hs256(&unknown_role, secret))),
        ),
        (
            "no role",
            Some(format!("Bearer {}", hs256(&no_role, secret))),
        ),
        ("not a bearer token", Some(format!("Basic {good}"))),
        ("empty bearer", Some("Bearer ".into())),
        ("not a JWT", Some("Bearer not.a.jwt".into())),
        ("garbage", Some("Bearer %%".into())),
    ]
}

#[tokio::test]
async fn bad_tokens_are_unauthenticated_on_every_service() {
    for engine in TestEngine::available() {
        let suite = TestSuite::start(engine).await.unwrap();
        let methods: Vec<Method> = methods()
            .into_iter()
            .filter(|m| m.name.ends_with("/GetSettings") || m.name.ends_with("/StreamEvents"))
            .collect();
        assert_eq!(
            methods.len(),
            7,
            "GetSettings on four services, three feeds"
        );
        let mut failures = Vec::new();
        for m in &methods {
            let channel = suite.channel(m.service).await.unwrap();
            for (what, header) in bad_credentials() {
                let intercepted =
                    InterceptedService::new(channel.clone(), move |mut req: tonic::Request<()>| {
                        if let Some(h) = &header {
                            req.metadata_mut()
                                .insert("authorization", h.parse().unwrap());
                        }
                        Ok(req)
                    });
                let code = code_of(&call(intercepted, m, Vec::new()).await);
                if code != Code::Unauthenticated {
                    failures.push(format!("{engine:?} {} with {what}: {code:?}", m.name));
                }
            }
            // The well-formed token works, so the refusals above are about
            // the token alone.
            let good = format!(
                "Bearer {}",
                hs256(&claims(), testing::TEST_SECRET.as_bytes())
            );
            let intercepted =
                InterceptedService::new(channel.clone(), move |mut req: tonic::Request<()>| {
                    req.metadata_mut()
                        .insert("authorization", good.parse().unwrap());
                    Ok(req)
                });
            let code = code_of(&call(intercepted, m, Vec::new()).await);
            if matches!(code, Code::Unauthenticated | Code::PermissionDenied) {
                failures.push(format!(
                    "{engine:?} {} with a good admin token: {code:?}",
                    m.name
                ));
            }
            // Health stays open without any token (probes carry none).
            let mut health = tonic_health::pb::health_client::HealthClient::new(channel);
            let r = health
                .check(tonic_health::pb::HealthCheckRequest::default())
                .await;
            if r.is_err() {
                failures.push(format!("{engine:?} health without a token: {r:?}"));
            }
        }
        suite.stop().await.unwrap();
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }
}

/// A JWKS document with the public halves of the fixture keys `keys`.
fn jwks(keys: &[u8]) -> String {
    let keys: Vec<jsonwebtoken::jwk::Jwk> = keys
        .iter()
        .map(|k| {
            let mut jwk = jsonwebtoken::jwk::Jwk::from_encoding_key(
                &rsa_key(*k),
                jsonwebtoken::Algorithm::RS256,
            )
            .unwrap();
            jwk.common.key_id = Some(format!("k{k}"));
            jwk
        })
        .collect();
    serde_json::to_string(&jsonwebtoken::jwk::JwkSet { keys }).unwrap()
}

/// Replaces `path` atomically, as a mounted Secret or `mv` does.
fn rotate(path: &std::path::Path, content: &str) {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, content).unwrap();
    std::fs::rename(&tmp, path).unwrap();
}

/// Calls sampling's GetSettings as `token`; its status code.
async fn settings_code(suite: &TestSuite, token: &str) -> Code {
    let mut c = suite.sampling(token).await.unwrap();
    c.get_settings(sampling::GetSettingsRequest::default())
        .await
        .map_or_else(|s| s.code(), |_| Code::Ok)
}

/// Polls until `token` gets `want` (the file is re-read every 100 ms).
async fn until(suite: &TestSuite, token: &str, want: Code, what: &str) {
    for _ in 0..100 {
        if settings_code(suite, token).await == want {
            return;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    panic!("{what}: never got {want:?}");
}

#[tokio::test]
async fn jwks_keys_rotate_without_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("jwks.json");
    // Key 3 signs the services' own token throughout; keys 1 and 2 are the
    // identity provider's, rotated from 1 to 2.
    rotate(&path, &jwks(&[1, 3]));
    let mut system = claims();
    system.tenant = earshot_kit::auth::SYSTEM_TENANT.into();
    system.sub = earshot_kit::auth::SYSTEM_SUBJECT.into();
    system.roles = vec!["service".into()];
    let system = rs256(&system, 3);
    let suite = TestSuite::start_with(TestEngine::Sqlite, |c| {
        c.auth.hs256_secret = None;
        c.auth.jwks_file = Some(path.clone());
        c.auth.service_token = Some(system.clone());
        c.auth.jwks_reload_interval = std::time::Duration::from_millis(100);
    })
    .await
    .unwrap();
    let one = rs256(&claims(), 1);
    let two = rs256(&claims(), 2);
    assert_eq!(settings_code(&suite, &one).await, Code::Ok);
    assert_eq!(settings_code(&suite, &two).await, Code::Unauthenticated);

    rotate(&path, &jwks(&[1, 2, 3]));
    until(&suite, &two, Code::Ok, "key 2 after it was added").await;
    assert_eq!(
        settings_code(&suite, &one).await,
        Code::Ok,
        "both keys verify"
    );

    rotate(&path, &jwks(&[2, 3]));
    until(
        &suite,
        &one,
        Code::Unauthenticated,
        "key 1 after it was removed",
    )
    .await;
    assert_eq!(settings_code(&suite, &two).await, Code::Ok);

    // A broken file (not JSON, a key without kid) is refused and the keys
    // in use stay.
    rotate(&path, "{ not json");
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    assert_eq!(
        settings_code(&suite, &two).await,
        Code::Ok,
        "kept after bad JSON"
    );
    let mut no_kid: serde_json::Value = serde_json::from_str(&jwks(&[1])).unwrap();
    no_kid["keys"][0].as_object_mut().unwrap().remove("kid");
    rotate(&path, &no_kid.to_string());
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    assert_eq!(
        settings_code(&suite, &two).await,
        Code::Ok,
        "kept after a key without kid"
    );
    assert_eq!(settings_code(&suite, &one).await, Code::Unauthenticated);
    suite.stop().await.unwrap();
}

/// The table as `docs/security.md` prints it: one Markdown table per
/// service, a row per RPC, a column per role.
fn render_docs_table() -> String {
    let mut out = String::new();
    let mut current = "";
    for row in table() {
        let (service, method) = row.method.split_once('/').unwrap();
        if service != current {
            current = service;
            let short = service.rsplit('.').next().unwrap();
            out.push_str(&format!("\n### {short}\n\n| RPC |"));
            for r in Role::ALL {
                out.push_str(&format!(" {r} |"));
            }
            out.push_str("\n| --- |");
            for _ in Role::ALL {
                out.push_str(" :-: |");
            }
            out.push('\n');
        }
        out.push_str(&format!("| `{method}` |"));
        for r in Role::ALL {
            out.push_str(if row.allow.contains(&r) {
                " ✓ |"
            } else {
                " |"
            });
        }
        out.push('\n');
    }
    out
}

const DOCS_BEGIN: &str = "<!-- authorization table: generated by tests/tests/authz.rs -->\n";
const DOCS_END: &str = "<!-- end of the authorization table -->";

/// `docs/security.md` prints [`table`]. With `EARSHOT_WRITE_DOCS=1` the
/// test writes the table into the page instead of comparing.
#[test]
fn docs_print_the_same_table() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../docs/security.md");
    let page = std::fs::read_to_string(&path).unwrap();
    let start = page
        .find(DOCS_BEGIN)
        .expect("docs/security.md marks the table's start")
        + DOCS_BEGIN.len();
    let end = page
        .find(DOCS_END)
        .expect("docs/security.md marks the table's end");
    let want = render_docs_table();
    if std::env::var_os("EARSHOT_WRITE_DOCS").is_some() {
        let page = format!("{}{want}\n{}", &page[..start], &page[end..]);
        std::fs::write(&path, page).unwrap();
        return;
    }
    assert_eq!(
        page[start..end].trim(),
        want.trim(),
        "docs/security.md's authorization table differs from tests/tests/authz.rs; \
         regenerate it with EARSHOT_WRITE_DOCS=1 cargo nextest run -p earshot-tests --test authz docs_print"
    );
}
