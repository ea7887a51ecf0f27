//! What scoring asks of sampling, over gRPC: an interaction's details, an
//! assignment, and completing an assignment when its evaluation is
//! submitted.
//!
//! Calls are made on behalf of the caller: their token travels, so sampling
//! applies the same tenant and its own role rules (an evaluator reads the
//! assignments they hold and their interactions; an agent their own
//! interactions). Sampling's answers map onto scoring's errors: its
//! `NOT_FOUND` and `PERMISSION_DENIED` stay what they are, a sampling that
//! cannot be reached is `UNAVAILABLE`, and nothing is stored in scoring before
//! sampling has answered.

use earshot_kit::{
    Error, Result,
    auth::Caller,
    server::on_behalf_of,
    time::{from_millis, optional_millis},
};
use earshot_proto::sampling::v1::{
    self as sampling, sampling_service_client::SamplingServiceClient,
};
use earshot_proto::scoring::v1 as pb;
use tonic::{Code, Status, transport::Channel};

/// An assignment, as scoring needs to know it.
#[derive(Debug, Clone)]
pub struct AssignmentFacts {
    /// The evaluator it is routed to or claimed by; empty while queued.
    pub evaluator_id: String,
    /// Completed already (by `completed_by`).
    pub completed: bool,
    /// The evaluation that completed it.
    pub completed_by: String,
    /// Cancelled: nothing to evaluate.
    pub cancelled: bool,
    /// The interaction to evaluate, as the assignment describes it.
    pub interaction: pb::InteractionSummary,
    /// When the evaluation is due, epoch ms.
    pub due_ms: Option<i64>,
}

/// The sampling client.
#[derive(Debug, Clone)]
pub struct Sampling {
    client: SamplingServiceClient<Channel>,
}

/// Sampling's refusal as scoring's error; `what` names the thing asked for.
fn from_sampling(s: Status, what: &str) -> Error {
    match s.code() {
        Code::NotFound => Error::not_found(format!("{what} in sampling")),
        Code::PermissionDenied => Error::PermissionDenied(format!(
            "sampling does not let you read {what}: {}",
            s.message()
        )),
        Code::FailedPrecondition => {
            Error::FailedPrecondition(format!("sampling refused: {}", s.message()))
        }
        Code::Unimplemented => Error::Unavailable(format!(
            "sampling does not serve this call yet ({what}): {}",
            s.message()
        )),
        // Our request was malformed or sampling failed: not the caller's doing.
        Code::InvalidArgument | Code::Internal | Code::Unknown | Code::DataLoss => {
            Error::internal(format!(
                "sampling answered {:?} for {what}: {}",
                s.code(),
                s.message()
            ))
        }
        _ => Error::Unavailable(format!(
            "sampling unavailable for {what}: {:?} {}",
            s.code(),
            s.message()
        )),
    }
}

fn time(t: Option<&prost_types::Timestamp>, what: &str) -> Result<Option<i64>> {
    optional_millis(t, what).map_err(|_| Error::internal(format!("sampling sent a bad {what}")))
}

/// Sampling's interaction as scoring's summary.
pub fn summary_of(i: &sampling::Interaction) -> pb::InteractionSummary {
    pb::InteractionSummary {
        interaction_id: i.id.clone(),
        channel: i.channel,
        direction: i.direction,
        agent_id: i.agent_id.clone(),
        team_id: i.team_id.clone(),
        queue_id: i.queue_id.clone(),
        start_time: i.arrived_time,
        handle_duration: i.handle_duration,
        language: i.language.clone(),
    }
}

/// An assignment's interaction dimensions as scoring's summary.
pub fn summary_of_dimensions(d: &sampling::InteractionDimensions) -> pb::InteractionSummary {
    pb::InteractionSummary {
        interaction_id: d.interaction_id.clone(),
        channel: d.channel,
        direction: d.direction,
        agent_id: d.agent_id.clone(),
        team_id: d.team_id.clone(),
        queue_id: d.queue_id.clone(),
        start_time: d.arrived_time,
        handle_duration: d.handle_duration,
        language: d.language.clone(),
    }
}

impl Sampling {
    /// A client on a (lazily connected) channel to sampling.
    pub fn new(channel: Channel) -> Self {
        Self {
            client: SamplingServiceClient::new(channel),
        }
    }

    /// An interaction, as the caller may see it in sampling.
    pub async fn interaction(
        &self,
        caller: &Caller,
        interaction_id: &str,
    ) -> Result<pb::InteractionSummary> {
        let what = format!("interaction {interaction_id:?}");
        let req = on_behalf_of(
            caller,
            sampling::GetInteractionRequest {
                interaction_id: interaction_id.to_owned(),
            },
        )?;
        let i = self
            .client
            .clone()
            .get_interaction(req)
            .await
            .map_err(|s| from_sampling(s, &what))?
            .into_inner()
            .interaction
            .ok_or_else(|| Error::internal(format!("sampling sent no {what}")))?;
        Ok(summary_of(&i))
    }

    /// An assignment, as the caller may see it in sampling.
    pub async fn assignment(
        &self,
        caller: &Caller,
        assignment_id: &str,
    ) -> Result<AssignmentFacts> {
        let what = format!("assignment {assignment_id:?}");
        let req = on_behalf_of(
            caller,
            sampling::GetAssignmentRequest {
                assignment_id: assignment_id.to_owned(),
            },
        )?;
        let a = self
            .client
            .clone()
            .get_assignment(req)
            .await
            .map_err(|s| from_sampling(s, &what))?
            .into_inner()
            .assignment
            .ok_or_else(|| Error::internal(format!("sampling sent no {what}")))?;
        let state = sampling::AssignmentState::try_from(a.state)
            .unwrap_or(sampling::AssignmentState::Unspecified);
        let interaction = a
            .interaction
            .as_ref()
            .map(summary_of_dimensions)
            .ok_or_else(|| {
                Error::internal(format!("sampling sent {what} without its interaction"))
            })?;
        Ok(AssignmentFacts {
            evaluator_id: a.evaluator_id,
            completed: state == sampling::AssignmentState::Completed,
            completed_by: a.evaluation_id,
            cancelled: state == sampling::AssignmentState::Cancelled,
            interaction,
            due_ms: time(a.due_time.as_ref(), "due_time")?,
        })
    }

    /// Marks an assignment completed by an evaluation (idempotent in
    /// sampling for the same evaluation).
    pub async fn complete_assignment(
        &self,
        caller: &Caller,
        assignment_id: &str,
        evaluation_id: &str,
        evaluator_id: &str,
        submitted_at: i64,
    ) -> Result<()> {
        let what = format!("assignment {assignment_id:?}");
        let req = on_behalf_of(
            caller,
            sampling::CompleteAssignmentRequest {
                assignment_id: assignment_id.to_owned(),
                evaluation_id: evaluation_id.to_owned(),
                evaluator_id: evaluator_id.to_owned(),
                complete_time: Some(from_millis(submitted_at)),
            },
        )?;
        self.client
            .clone()
            .complete_assignment(req)
            .await
            .map_err(|s| from_sampling(s, &what))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sampling_refusals_map_to_scoring_errors() {
        let cases = [
            (Code::NotFound, tonic::Code::NotFound),
            (Code::PermissionDenied, tonic::Code::PermissionDenied),
            (Code::FailedPrecondition, tonic::Code::FailedPrecondition),
            (Code::Unavailable, tonic::Code::Unavailable),
            (Code::DeadlineExceeded, tonic::Code::Unavailable),
            (Code::Unimplemented, tonic::Code::Unavailable),
            (Code::InvalidArgument, tonic::Code::Internal),
        ];
        for (from, to) in cases {
            assert_eq!(
                from_sampling(Status::new(from, "x"), "it").code(),
                to,
                "{from:?}"
            );
        }
    }
}
