//! The gRPC edge: `earshot.scoring.v1.ScoringService`.
//!
//! Each handler authorizes (roles, then what the caller may see), checks
//! every caller-controlled field, asks the functional core, then writes
//! through [`crate::store`] — the state change, its audit entry and its
//! change-feed event in one transaction. Nothing here decides a score or a
//! transition; the core does.
//!
//! | file | RPCs |
//! |---|---|
//! | [`scorecards`] | Create/Get/List/Update/Publish/Archive scorecards, versions, Validate, Import, Export, ScoreAnswers |
//! | [`evaluations`] | Create/Get/List/SaveDraft/Submit/Delete evaluations, revisions |
//! | [`lifecycle`] | Release, Acknowledge, Dispute, ResolveDispute, AddCoachingComment |
//! | [`admin`] | ListAuditEntries, Get/UpdateSettings, StreamEvents |
//! | [`convert`] | proto ⇄ domain |
//! | [`view`] | what an agent may not see, taken out |
//! | [`events`] | change-feed events |
//! | [`versions`] | parsed published versions, cached |
//! | [`sampling`] | the calls scoring makes to sampling |
//! | [`common`] | caller, actors, field checks, error mapping |

pub mod admin;
pub mod common;
pub mod convert;
pub mod erasure;
pub mod evaluations;
pub mod events;
pub mod lifecycle;
pub mod sampling;
pub mod scorecards;
pub mod versions;
pub mod view;

use std::collections::BTreeMap;

use earshot_kit::{Result, auth::Tenant, db::Tx, time::now_millis};
use earshot_proto::common::v1 as common_pb;
use earshot_proto::scoring::v1::{self as pb, scoring_service_server::ScoringService};
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};

use crate::store::{Store, audit::AuditRow};

/// The scoring service.
#[derive(Debug, Clone)]
pub struct ScoringApi {
    store: Store,
    sampling: sampling::Sampling,
    versions: versions::Versions,
    shutdown: CancellationToken,
}

impl ScoringApi {
    /// The service on `store`, calling sampling through `sampling`; change
    /// feeds end when `shutdown` is cancelled.
    pub fn new(store: Store, sampling: sampling::Sampling, shutdown: CancellationToken) -> Self {
        Self {
            store,
            sampling,
            versions: versions::Versions::default(),
            shutdown,
        }
    }
}

/// One audit entry to write.
#[derive(Debug)]
pub(crate) struct Audit<'a> {
    pub(crate) action: pb::AuditAction,
    pub(crate) resource_type: &'static str,
    pub(crate) resource_id: &'a str,
    pub(crate) revision: i64,
    pub(crate) from_state: &'a str,
    pub(crate) to_state: &'a str,
    pub(crate) details: Vec<(&'static str, String)>,
}

/// The stored form of an audit action: its value name without the prefix,
/// in lower case (`scorecard_created`).
pub(crate) fn action_name(a: pb::AuditAction) -> String {
    a.as_str_name()
        .trim_start_matches("AUDIT_ACTION_")
        .to_ascii_lowercase()
}

/// Writes an audit entry in `tx`.
pub(crate) async fn audit(
    tx: &mut Tx,
    t: &Tenant,
    actor: &common_pb::Actor,
    at: i64,
    a: Audit<'_>,
) -> Result<()> {
    let details: BTreeMap<&str, String> = a.details.into_iter().collect();
    let row = AuditRow {
        id: common::new_id(),
        occurred_at: at,
        actor_subject: actor.subject.clone(),
        actor_role: actor.role.clone(),
        action: action_name(a.action),
        resource_type: a.resource_type.to_owned(),
        resource_id: a.resource_id.to_owned(),
        revision: a.revision,
        from_state: a.from_state.to_owned(),
        to_state: a.to_state.to_owned(),
        details: serde_json::to_string(&details).unwrap_or_else(|_| "{}".to_owned()),
    };
    Store::insert_audit(tx, t, &row).await
}

/// The current time for a request, epoch ms.
pub(crate) fn now() -> i64 {
    now_millis()
}

macro_rules! unary {
    ($self:ident, $method:ident, $req:ident) => {
        $self
            .$method($req)
            .await
            .map(Response::new)
            .map_err(Status::from)
    };
}

#[tonic::async_trait]
impl ScoringService for ScoringApi {
    async fn create_scorecard(
        &self,
        req: Request<pb::CreateScorecardRequest>,
    ) -> Result<Response<pb::CreateScorecardResponse>, Status> {
        unary!(self, create_scorecard_rpc, req)
    }

    async fn get_scorecard(
        &self,
        req: Request<pb::GetScorecardRequest>,
    ) -> Result<Response<pb::GetScorecardResponse>, Status> {
        unary!(self, get_scorecard_rpc, req)
    }

    async fn list_scorecards(
        &self,
        req: Request<pb::ListScorecardsRequest>,
    ) -> Result<Response<pb::ListScorecardsResponse>, Status> {
        unary!(self, list_scorecards_rpc, req)
    }

    async fn update_scorecard(
        &self,
        req: Request<pb::UpdateScorecardRequest>,
    ) -> Result<Response<pb::UpdateScorecardResponse>, Status> {
        unary!(self, update_scorecard_rpc, req)
    }

    async fn publish_scorecard(
        &self,
        req: Request<pb::PublishScorecardRequest>,
    ) -> Result<Response<pb::PublishScorecardResponse>, Status> {
        unary!(self, publish_scorecard_rpc, req)
    }

    async fn archive_scorecard(
        &self,
        req: Request<pb::ArchiveScorecardRequest>,
    ) -> Result<Response<pb::ArchiveScorecardResponse>, Status> {
        unary!(self, archive_scorecard_rpc, req)
    }

    async fn get_scorecard_version(
        &self,
        req: Request<pb::GetScorecardVersionRequest>,
    ) -> Result<Response<pb::GetScorecardVersionResponse>, Status> {
        unary!(self, get_scorecard_version_rpc, req)
    }

    async fn list_scorecard_versions(
        &self,
        req: Request<pb::ListScorecardVersionsRequest>,
    ) -> Result<Response<pb::ListScorecardVersionsResponse>, Status> {
        unary!(self, list_scorecard_versions_rpc, req)
    }

    async fn validate_scorecard(
        &self,
        req: Request<pb::ValidateScorecardRequest>,
    ) -> Result<Response<pb::ValidateScorecardResponse>, Status> {
        unary!(self, validate_scorecard_rpc, req)
    }

    async fn import_scorecard(
        &self,
        req: Request<pb::ImportScorecardRequest>,
    ) -> Result<Response<pb::ImportScorecardResponse>, Status> {
        unary!(self, import_scorecard_rpc, req)
    }

    async fn export_scorecard(
        &self,
        req: Request<pb::ExportScorecardRequest>,
    ) -> Result<Response<pb::ExportScorecardResponse>, Status> {
        unary!(self, export_scorecard_rpc, req)
    }

    async fn score_answers(
        &self,
        req: Request<pb::ScoreAnswersRequest>,
    ) -> Result<Response<pb::ScoreAnswersResponse>, Status> {
        unary!(self, score_answers_rpc, req)
    }

    async fn create_evaluation(
        &self,
        req: Request<pb::CreateEvaluationRequest>,
    ) -> Result<Response<pb::CreateEvaluationResponse>, Status> {
        unary!(self, create_evaluation_rpc, req)
    }

    async fn get_evaluation(
        &self,
        req: Request<pb::GetEvaluationRequest>,
    ) -> Result<Response<pb::GetEvaluationResponse>, Status> {
        unary!(self, get_evaluation_rpc, req)
    }

    async fn list_evaluations(
        &self,
        req: Request<pb::ListEvaluationsRequest>,
    ) -> Result<Response<pb::ListEvaluationsResponse>, Status> {
        unary!(self, list_evaluations_rpc, req)
    }

    async fn save_evaluation_draft(
        &self,
        req: Request<pb::SaveEvaluationDraftRequest>,
    ) -> Result<Response<pb::SaveEvaluationDraftResponse>, Status> {
        unary!(self, save_evaluation_draft_rpc, req)
    }

    async fn submit_evaluation(
        &self,
        req: Request<pb::SubmitEvaluationRequest>,
    ) -> Result<Response<pb::SubmitEvaluationResponse>, Status> {
        unary!(self, submit_evaluation_rpc, req)
    }

    async fn release_evaluation(
        &self,
        req: Request<pb::ReleaseEvaluationRequest>,
    ) -> Result<Response<pb::ReleaseEvaluationResponse>, Status> {
        unary!(self, release_evaluation_rpc, req)
    }

    async fn acknowledge_evaluation(
        &self,
        req: Request<pb::AcknowledgeEvaluationRequest>,
    ) -> Result<Response<pb::AcknowledgeEvaluationResponse>, Status> {
        unary!(self, acknowledge_evaluation_rpc, req)
    }

    async fn dispute_evaluation(
        &self,
        req: Request<pb::DisputeEvaluationRequest>,
    ) -> Result<Response<pb::DisputeEvaluationResponse>, Status> {
        unary!(self, dispute_evaluation_rpc, req)
    }

    async fn resolve_dispute(
        &self,
        req: Request<pb::ResolveDisputeRequest>,
    ) -> Result<Response<pb::ResolveDisputeResponse>, Status> {
        unary!(self, resolve_dispute_rpc, req)
    }

    async fn list_evaluation_revisions(
        &self,
        req: Request<pb::ListEvaluationRevisionsRequest>,
    ) -> Result<Response<pb::ListEvaluationRevisionsResponse>, Status> {
        unary!(self, list_evaluation_revisions_rpc, req)
    }

    async fn add_coaching_comment(
        &self,
        req: Request<pb::AddCoachingCommentRequest>,
    ) -> Result<Response<pb::AddCoachingCommentResponse>, Status> {
        unary!(self, add_coaching_comment_rpc, req)
    }

    async fn delete_evaluation(
        &self,
        req: Request<pb::DeleteEvaluationRequest>,
    ) -> Result<Response<pb::DeleteEvaluationResponse>, Status> {
        unary!(self, delete_evaluation_rpc, req)
    }

    async fn list_audit_entries(
        &self,
        req: Request<pb::ListAuditEntriesRequest>,
    ) -> Result<Response<pb::ListAuditEntriesResponse>, Status> {
        unary!(self, list_audit_entries_rpc, req)
    }

    async fn get_settings(
        &self,
        req: Request<pb::GetSettingsRequest>,
    ) -> Result<Response<pb::GetSettingsResponse>, Status> {
        unary!(self, get_settings_rpc, req)
    }

    async fn update_settings(
        &self,
        req: Request<pb::UpdateSettingsRequest>,
    ) -> Result<Response<pb::UpdateSettingsResponse>, Status> {
        unary!(self, update_settings_rpc, req)
    }

    async fn erase_interaction_text(
        &self,
        req: Request<pb::EraseInteractionTextRequest>,
    ) -> Result<Response<pb::EraseInteractionTextResponse>, Status> {
        unary!(self, erase_interaction_text_rpc, req)
    }

    async fn stream_events(
        &self,
        req: Request<pb::StreamEventsRequest>,
    ) -> Result<Response<tonic::codegen::BoxStream<pb::StreamEventsResponse>>, Status> {
        unary!(self, stream_events_rpc, req)
    }
}
