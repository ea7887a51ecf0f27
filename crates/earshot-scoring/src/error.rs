//! The one error type of the functional core, and the gRPC code each variant
//! maps to at the edge.
//!
//! Lifecycle functions check in a fixed order, so a caller gets the most
//! useful answer first: permission (`PERMISSION_DENIED`, or `NOT_FOUND` where
//! saying "forbidden" would reveal that something exists), then the etag
//! (`ABORTED`), then the state (`FAILED_PRECONDITION`), then the content
//! (`INVALID_ARGUMENT`).

use crate::answers::AnswerProblem;
use crate::violation::Violations;

/// The status code an error maps to (a subset of gRPC's).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Code {
    /// `INVALID_ARGUMENT`: the request itself is wrong (with field details).
    InvalidArgument,
    /// `NOT_FOUND`: no such thing, or not one the caller may see.
    NotFound,
    /// `PERMISSION_DENIED`: the caller's roles do not allow it.
    PermissionDenied,
    /// `FAILED_PRECONDITION`: the resource's state does not allow it.
    FailedPrecondition,
    /// `ABORTED`: the etag is stale; re-read and retry.
    Aborted,
}

/// Why a core operation refused.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ScoringError {
    /// The request breaks field rules.
    #[error("invalid request: {0}")]
    Invalid(Violations),
    /// The resource does not exist, or the caller may not know it does.
    #[error("not found")]
    NotFound,
    /// The caller's roles do not allow the action.
    #[error("permission denied: {0}")]
    Forbidden(String),
    /// No etag was given where one is required.
    #[error("an etag is required; read the resource first")]
    EtagRequired,
    /// The etag given is not the current one.
    #[error("the resource changed since it was read (stale etag)")]
    StaleEtag,
    /// The action is not allowed in the resource's current state.
    #[error("cannot {action} a {resource} that is {state}")]
    WrongState {
        /// "scorecard" or "evaluation".
        resource: &'static str,
        /// The current state, in lower case.
        state: &'static str,
        /// The action attempted, as a verb.
        action: &'static str,
    },
    /// The action does not apply to this kind of evaluation.
    #[error("cannot {action} a {kind} evaluation")]
    WrongKind {
        /// The evaluation kind.
        kind: &'static str,
        /// The action attempted.
        action: &'static str,
    },
    /// Publishing a draft identical to the latest version.
    #[error("nothing to publish: the draft equals version {0}")]
    NothingToPublish(u32),
    /// The draft to publish breaks scorecard rules.
    #[error("the draft is not valid: {0}")]
    Unpublishable(Violations),
    /// Answers to submit (or re-score with) still have problems.
    #[error("the answers have {} problem(s)", .0.len())]
    IncompleteAnswers(Vec<AnswerProblem>),
    /// The dispute window closed.
    #[error("the dispute window closed")]
    DisputeWindowClosed,
    /// A tenant setting forbids the action.
    #[error("disabled by the tenant's settings: {0}")]
    DisabledBySettings(&'static str),
}

impl ScoringError {
    /// The status code for the edge.
    pub fn code(&self) -> Code {
        match self {
            Self::Invalid(_) | Self::EtagRequired | Self::Unpublishable(_) => Code::InvalidArgument,
            Self::NotFound => Code::NotFound,
            Self::Forbidden(_) => Code::PermissionDenied,
            Self::StaleEtag => Code::Aborted,
            Self::WrongState { .. }
            | Self::WrongKind { .. }
            | Self::NothingToPublish(_)
            | Self::IncompleteAnswers(_)
            | Self::DisputeWindowClosed
            | Self::DisabledBySettings(_) => Code::FailedPrecondition,
        }
    }

    pub(crate) fn forbidden(why: impl Into<String>) -> Self {
        Self::Forbidden(why.into())
    }
}

/// Checks an etag given by a caller against the current one.
pub fn check_etag(current: &str, given: &str) -> Result<(), ScoringError> {
    if given.is_empty() {
        Err(ScoringError::EtagRequired)
    } else if given != current {
        Err(ScoringError::StaleEtag)
    } else {
        Ok(())
    }
}
