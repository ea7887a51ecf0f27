//! What scoring asks of sampling, over gRPC: an interaction's details, an
//! assignment, and completing an assignment when its evaluation is
//! submitted.
//!
//! Calls are made on behalf of the caller (their token travels, so sampling
//! applies the same tenant and roles). A sampling that cannot be reached is
//! `UNAVAILABLE`; nothing is stored in scoring before its answer.

use earshot_kit::{Error, Result, auth::Caller};
use earshot_proto::scoring::v1 as pb;
use tonic::transport::Channel;

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
    /// The interaction to evaluate.
    pub interaction_id: String,
    /// When the evaluation is due, epoch ms.
    pub due_ms: Option<i64>,
}

/// The sampling client.
#[derive(Debug, Clone)]
pub struct Sampling {
    #[allow(dead_code)]
    channel: Channel,
}

impl Sampling {
    /// A client on a (lazily connected) channel to sampling.
    pub fn new(channel: Channel) -> Self {
        Self { channel }
    }

    /// An interaction, as the caller may see it in sampling.
    pub async fn interaction(
        &self,
        _caller: &Caller,
        _interaction_id: &str,
    ) -> Result<pb::InteractionSummary> {
        Err(not_yet())
    }

    /// An assignment, as the caller may see it in sampling.
    pub async fn assignment(
        &self,
        _caller: &Caller,
        _assignment_id: &str,
    ) -> Result<AssignmentFacts> {
        Err(not_yet())
    }

    /// Marks an assignment completed by an evaluation (idempotent for the
    /// same evaluation).
    pub async fn complete_assignment(
        &self,
        _caller: &Caller,
        _assignment_id: &str,
        _evaluation_id: &str,
        _evaluator_id: &str,
        _submitted_at: i64,
    ) -> Result<()> {
        Err(not_yet())
    }
}

fn not_yet() -> Error {
    Error::Unimplemented(
        "evaluations of sampled interactions need sampling's contract, which this build \
         does not have yet; mystery-shop evaluations work"
            .into(),
    )
}
