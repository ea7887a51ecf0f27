//! Calls to the services calibration depends on, made on behalf of the
//! caller (their token travels, so sampling and scoring apply the same tenant
//! and roles):
//!
//! | call | service | used by |
//! | --- | --- | --- |
//! | `GetScorecardVersion` | scoring | CreateSession: the questions the session pins |
//! | `ScoreAnswers` | scoring | SubmitResponse, RecordConsensus: totals and per-question points |
//! | `GetInteraction` | sampling | CreateSession with chosen interactions: the facts copied into the session |
//! | `DrawInteractions` | sampling | CreateSession with a draw |
//! | `GetEvaluator` | sampling | CreateSession: participants must be evaluators; their display names |
//!
//! A peer's answer is mapped onto this service's errors: its NOT_FOUND names
//! what was missing; UNAVAILABLE, UNIMPLEMENTED and deadline problems become
//! UNAVAILABLE (retry later); its INVALID_ARGUMENT and FAILED_PRECONDITION
//! keep their message.

use earshot_kit::{Error, Result, auth::Caller, server::on_behalf_of};
use earshot_proto::common::v1::Answer;
use earshot_proto::sampling::v1::{
    DrawInteractionsRequest, Evaluator, GetEvaluatorRequest, GetInteractionRequest, Interaction,
    InteractionFilter, sampling_service_client::SamplingServiceClient,
};
use earshot_proto::scoring::v1::{
    GetScorecardVersionRequest, ScoreAnswersRequest, ScoreAnswersResponse, ScorecardVersion,
    ScorecardVersionRef, score_answers_request, scoring_service_client::ScoringServiceClient,
};
use futures::{StreamExt as _, TryStreamExt as _};
use tonic::transport::Channel;

/// How many calls to one peer run at once when fetching many things.
const FAN_OUT: usize = 8;

/// Clients of sampling and scoring.
#[derive(Debug, Clone)]
pub struct Peers {
    sampling: Channel,
    scoring: Channel,
    max_message_bytes: usize,
}

fn map_status(service: &str, what: &str, s: tonic::Status) -> Error {
    use tonic::Code;
    match s.code() {
        Code::NotFound => Error::not_found(what.to_owned()),
        Code::InvalidArgument => Error::invalid(what.to_owned(), s.message().to_owned()),
        Code::FailedPrecondition => Error::FailedPrecondition(format!("{what}: {}", s.message())),
        Code::PermissionDenied => {
            Error::PermissionDenied(format!("{service} refused {what}: {}", s.message()))
        }
        Code::Unauthenticated => Error::Unauthenticated(s.message().to_owned()),
        Code::Unavailable
        | Code::Unimplemented
        | Code::DeadlineExceeded
        | Code::Cancelled
        | Code::ResourceExhausted
        | Code::Aborted => Error::Unavailable(format!(
            "{service} answered {:?} for {what}: {}",
            s.code(),
            s.message()
        )),
        _ => Error::internal(format!(
            "{service} answered {:?} for {what}: {}",
            s.code(),
            s.message()
        )),
    }
}

impl Peers {
    /// Clients over the given channels.
    pub fn new(sampling: Channel, scoring: Channel, max_message_bytes: usize) -> Self {
        Peers {
            sampling,
            scoring,
            max_message_bytes,
        }
    }

    fn sampling(&self) -> SamplingServiceClient<Channel> {
        SamplingServiceClient::new(self.sampling.clone())
            .max_decoding_message_size(self.max_message_bytes)
    }

    fn scoring(&self) -> ScoringServiceClient<Channel> {
        ScoringServiceClient::new(self.scoring.clone())
            .max_decoding_message_size(self.max_message_bytes)
    }

    /// A published scorecard version.
    pub async fn scorecard_version(
        &self,
        caller: &Caller,
        scorecard_id: &str,
        version: i32,
    ) -> Result<ScorecardVersion> {
        let what = format!("scorecard {scorecard_id:?} version {version}");
        let req = on_behalf_of(
            caller,
            GetScorecardVersionRequest {
                scorecard_id: scorecard_id.to_owned(),
                version,
            },
        )?;
        let resp = self
            .scoring()
            .get_scorecard_version(req)
            .await
            .map_err(|s| map_status("scoring", &what, s))?
            .into_inner();
        resp.version
            .ok_or_else(|| Error::internal("scoring returned no scorecard version"))
    }

    /// Scores `answers` against a published version.
    pub async fn score(
        &self,
        caller: &Caller,
        scorecard_id: &str,
        version: i32,
        answers: Vec<Answer>,
    ) -> Result<ScoreAnswersResponse> {
        let what = format!("scoring answers against {scorecard_id:?} version {version}");
        let req = on_behalf_of(
            caller,
            ScoreAnswersRequest {
                scorecard: Some(score_answers_request::Scorecard::Version(
                    ScorecardVersionRef {
                        scorecard_id: scorecard_id.to_owned(),
                        version,
                    },
                )),
                answers,
            },
        )?;
        Ok(self
            .scoring()
            .score_answers(req)
            .await
            .map_err(|s| map_status("scoring", &what, s))?
            .into_inner())
    }

    /// The interactions with these ids, in the same order.
    pub async fn interactions(&self, caller: &Caller, ids: &[String]) -> Result<Vec<Interaction>> {
        let client = self.sampling();
        futures::stream::iter(ids.iter().cloned())
            .map(|id| {
                let mut client = client.clone();
                async move {
                    let what = format!("interaction {id:?}");
                    let req = on_behalf_of(
                        caller,
                        GetInteractionRequest {
                            interaction_id: id.clone(),
                        },
                    )?;
                    client
                        .get_interaction(req)
                        .await
                        .map_err(|s| map_status("sampling", &what, s))?
                        .into_inner()
                        .interaction
                        .ok_or_else(|| Error::internal("sampling returned no interaction"))
                }
            })
            .buffered(FAN_OUT)
            .try_collect()
            .await
    }

    /// A random draw: (interactions, seed used).
    pub async fn draw(
        &self,
        caller: &Caller,
        filter: InteractionFilter,
        count: u32,
        seed: u64,
    ) -> Result<(Vec<Interaction>, u64)> {
        let req = on_behalf_of(
            caller,
            DrawInteractionsRequest {
                filter: Some(filter),
                count: i32::try_from(count).unwrap_or(i32::MAX),
                seed,
                allow_fewer: false,
            },
        )?;
        let resp = self
            .sampling()
            .draw_interactions(req)
            .await
            .map_err(|s| map_status("sampling", "draw", s))?
            .into_inner();
        Ok((resp.interactions, resp.seed))
    }

    /// The evaluators with these ids, in the same order.
    pub async fn evaluators(&self, caller: &Caller, ids: &[String]) -> Result<Vec<Evaluator>> {
        let client = self.sampling();
        futures::stream::iter(ids.iter().cloned())
            .map(|id| {
                let mut client = client.clone();
                async move {
                    let what = format!("evaluator {id:?}");
                    let req = on_behalf_of(
                        caller,
                        GetEvaluatorRequest {
                            evaluator_id: id.clone(),
                        },
                    )?;
                    client
                        .get_evaluator(req)
                        .await
                        .map_err(|s| map_status("sampling", &what, s))?
                        .into_inner()
                        .evaluator
                        .ok_or_else(|| Error::internal("sampling returned no evaluator"))
                }
            })
            .buffered(FAN_OUT)
            .try_collect()
            .await
    }
}
