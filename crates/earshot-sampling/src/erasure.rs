//! Erasing one customer across the suite: scoring and calibration first
//! (over gRPC, acting for the caller), sampling last, so a call that fails
//! part-way finds the same interactions when repeated and finishes.

use earshot_kit::{
    auth::Caller,
    error::{Error, Result},
    server::on_behalf_of,
};
use earshot_proto::{
    calibration::v1 as cal, calibration::v1::calibration_service_client::CalibrationServiceClient,
    common::v1::ErasureCount, scoring::v1 as sc,
    scoring::v1::scoring_service_client::ScoringServiceClient,
};
use tonic::transport::Channel;

/// The most interaction ids one downstream call carries.
const IDS_PER_CALL: usize = 10_000;

/// Clients of the services that hold free text about interactions.
#[derive(Debug, Clone)]
pub struct Peers {
    scoring: ScoringServiceClient<Channel>,
    calibration: CalibrationServiceClient<Channel>,
}

impl Peers {
    /// Clients on (lazily connected) channels.
    pub fn new(scoring: Channel, calibration: Channel) -> Self {
        Peers {
            scoring: ScoringServiceClient::new(scoring),
            calibration: CalibrationServiceClient::new(calibration),
        }
    }

    /// Erases the free text on `ids` in scoring and calibration; the counts
    /// of both, summed per kind over the calls.
    pub async fn erase(&self, caller: &Caller, ids: &[String]) -> Result<Vec<ErasureCount>> {
        let mut out: Vec<ErasureCount> = Vec::new();
        for chunk in ids.chunks(IDS_PER_CALL) {
            let req = on_behalf_of(
                caller,
                sc::EraseInteractionTextRequest {
                    interaction_ids: chunk.to_vec(),
                },
            )?;
            let got = self
                .scoring
                .clone()
                .erase_interaction_text(req)
                .await
                .map_err(|s| unavailable("scoring", &s))?
                .into_inner()
                .erased;
            merge(&mut out, got);
            let req = on_behalf_of(
                caller,
                cal::EraseInteractionTextRequest {
                    interaction_ids: chunk.to_vec(),
                },
            )?;
            let got = self
                .calibration
                .clone()
                .erase_interaction_text(req)
                .await
                .map_err(|s| unavailable("calibration", &s))?
                .into_inner()
                .erased;
            merge(&mut out, got);
        }
        Ok(out)
    }
}

fn unavailable(service: &str, s: &tonic::Status) -> Error {
    Error::Unavailable(format!(
        "{service} could not erase ({:?}: {}); nothing was erased in sampling, repeat the call",
        s.code(),
        s.message()
    ))
}

/// Adds `more` into `into`, summing counts of the same service and kind.
pub fn merge(into: &mut Vec<ErasureCount>, more: Vec<ErasureCount>) {
    for c in more {
        match into
            .iter_mut()
            .find(|x| x.service == c.service && x.kind == c.kind)
        {
            Some(x) => x.count += c.count,
            None => into.push(c),
        }
    }
}

/// Sampling's counts as the contract's message.
pub fn sampling_counts(counts: &[(&'static str, i64)]) -> Vec<ErasureCount> {
    counts
        .iter()
        .map(|(kind, count)| ErasureCount {
            service: "sampling".into(),
            kind: (*kind).into(),
            count: *count,
        })
        .collect()
}
