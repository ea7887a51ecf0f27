//! EraseInteractionText: sampling's EraseCustomer calls it for the
//! interactions of a customer being erased.

use earshot_kit::{Result, auth, privacy::check_erasure_ids};
use earshot_proto::common::v1::ErasureCount;
use earshot_proto::scoring::v1 as pb;
use tonic::Request;

use super::common::{caller_of, require};
use super::{ScoringApi, now};

impl ScoringApi {
    pub(crate) async fn erase_interaction_text_rpc(
        &self,
        req: Request<pb::EraseInteractionTextRequest>,
    ) -> Result<pb::EraseInteractionTextResponse> {
        let caller = caller_of(&req)?;
        require(
            caller.has_any(&[auth::Role::Admin, auth::Role::Service]),
            "erase personal data",
        )?;
        let req = req.into_inner();
        check_erasure_ids("interaction_ids", &req.interaction_ids)?;
        let role = if caller.has(auth::Role::Admin) {
            "admin"
        } else {
            "service"
        };
        let counts = self
            .store
            .erase_interaction_text(
                caller.tenant(),
                &req.interaction_ids,
                (caller.subject(), role),
                now(),
            )
            .await?;
        Ok(pb::EraseInteractionTextResponse {
            erased: counts
                .into_iter()
                .map(|(kind, count)| ErasureCount {
                    service: "scoring".into(),
                    kind: kind.into(),
                    count,
                })
                .collect(),
        })
    }
}
