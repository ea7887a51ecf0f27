//! The audit log, the tenant's settings, and the change feed.

use std::collections::BTreeMap;

use earshot_kit::{Error, Result, feed, paging, time::from_millis};
use earshot_proto::common::v1 as common;
use earshot_proto::scoring::v1 as pb;
use tonic::Request;

use super::common::{caller_of, core_caller, etag, optional_id, require, time_range};
use super::{Audit, ScoringApi, action_name, audit, convert, now};
use crate::access::{self, Role};
use crate::settings::Settings;
use crate::store::Store;

/// The largest `max_batch_size` of a `StreamEvents` call.
const MAX_FEED_BATCH: i32 = 1_000;

impl ScoringApi {
    pub(crate) async fn list_audit_entries_rpc(
        &self,
        req: Request<pb::ListAuditEntriesRequest>,
    ) -> Result<pb::ListAuditEntriesResponse> {
        let caller = caller_of(&req)?;
        require(
            access::may_read_audit(&core_caller(&caller)),
            "read the audit log",
        )?;
        let req = req.into_inner();
        let size = paging::page_size(req.page_size, 100, 500)?;
        let action = match pb::AuditAction::try_from(req.action) {
            Ok(pb::AuditAction::Unspecified) => None,
            Ok(a) => Some(action_name(a)),
            Err(_) => return Err(Error::invalid("action", "is not a known audit action")),
        };
        let resource_type = match req.resource_type.as_str() {
            "" => None,
            t @ ("scorecard" | "evaluation" | "settings") => Some(t.to_owned()),
            _ => {
                return Err(Error::invalid(
                    "resource_type",
                    "must be scorecard, evaluation or settings",
                ));
            }
        };
        let resource_id = optional_id("resource_id", &req.resource_id)?;
        let actor_subject = optional_id("actor_subject", &req.actor_subject)?;
        let (from, to) = time_range(req.occurred_time.as_ref(), "occurred_time")?;
        let fp = paging::fingerprint(&(
            "audit",
            &resource_type,
            &resource_id,
            &actor_subject,
            &action,
            from,
            to,
        ));
        let before: Option<(i64, String)> = paging::decode(&req.page_token, fp)?;
        let mut rows = self
            .store
            .audit_entries(
                caller.tenant(),
                &crate::store::audit::AuditQuery {
                    resource_type,
                    resource_id,
                    actor_subject,
                    action,
                    from,
                    to,
                    before,
                    limit: i64::from(size) + 1,
                },
            )
            .await?;
        let next_page_token =
            paging::next_token(&mut rows, size, fp, |r| (r.occurred_at, r.id.clone()));
        let entries = rows
            .into_iter()
            .map(|r| {
                let details: BTreeMap<String, String> =
                    serde_json::from_str(&r.details).unwrap_or_default();
                pb::AuditEntry {
                    id: r.id,
                    occurred_time: Some(from_millis(r.occurred_at)),
                    actor: Some(common::Actor {
                        subject: r.actor_subject,
                        role: r.actor_role,
                    }),
                    action: pb::AuditAction::from_str_name(&format!(
                        "AUDIT_ACTION_{}",
                        r.action.to_ascii_uppercase()
                    ))
                    .unwrap_or(pb::AuditAction::Unspecified) as i32,
                    resource_type: r.resource_type,
                    resource_id: r.resource_id,
                    revision: super::common::small(r.revision),
                    from_state: r.from_state,
                    to_state: r.to_state,
                    details: details.into_iter().collect(),
                }
            })
            .collect();
        Ok(pb::ListAuditEntriesResponse {
            entries,
            next_page_token,
        })
    }

    pub(crate) async fn get_settings_rpc(
        &self,
        req: Request<pb::GetSettingsRequest>,
    ) -> Result<pb::GetSettingsResponse> {
        let caller = caller_of(&req)?;
        require(
            access::may_read_settings(&core_caller(&caller)),
            "read scoring settings",
        )?;
        let row = self.store.settings_row(caller.tenant()).await?;
        let settings = match row {
            Some(r) => convert::settings_out(&r.settings(), etag(r.version), Some(r.updated_at)),
            None => convert::settings_out(&Settings::default(), String::new(), None),
        };
        Ok(pb::GetSettingsResponse {
            settings: Some(settings),
        })
    }

    pub(crate) async fn update_settings_rpc(
        &self,
        req: Request<pb::UpdateSettingsRequest>,
    ) -> Result<pb::UpdateSettingsResponse> {
        let caller = caller_of(&req)?;
        let core = core_caller(&caller);
        require(
            access::may_update_settings(&core),
            "change scoring settings",
        )?;
        let req = req.into_inner();
        let given = req
            .settings
            .ok_or_else(|| Error::invalid("settings", "is required"))?;
        let t = caller.tenant();
        let row = self.store.settings_row(t).await?;
        let current = row.as_ref().map(|r| etag(r.version)).unwrap_or_default();
        if given.etag != current {
            return Err(Error::Aborted(
                "the settings changed since they were read (stale etag); read them again and retry"
                    .into(),
            ));
        }
        let settings = Settings::parse(convert::settings_in(&given)?)
            .map_err(|v| Error::InvalidArgument(convert::violations("", v.0)))?;
        let before = row.as_ref().map(|r| r.settings()).unwrap_or_default();
        let at = now();
        let who = super::common::actor(&core, &[Role::Admin]);
        let mut details = Vec::new();
        let mut note = |name: &'static str, old: String, new: String| {
            if old != new {
                details.push((name, format!("{old} -> {new}")));
            }
        };
        note(
            "anonymous_evaluation",
            before.anonymous_evaluation.to_string(),
            settings.anonymous_evaluation.to_string(),
        );
        note(
            "auto_release_on_submit",
            before.auto_release_on_submit.to_string(),
            settings.auto_release_on_submit.to_string(),
        );
        note(
            "evaluators_may_release",
            before.evaluators_may_release.to_string(),
            settings.evaluators_may_release.to_string(),
        );
        note(
            "dispute_window_ms",
            before.dispute_window_ms.to_string(),
            settings.dispute_window_ms.to_string(),
        );
        note(
            "self_evaluation_enabled",
            before.self_evaluation_enabled.to_string(),
            settings.self_evaluation_enabled.to_string(),
        );
        let mut tx = self.store.db().begin().await?;
        if !Store::write_settings(&mut tx, t, &settings, row.as_ref().map(|r| r.version), at)
            .await?
        {
            return Err(super::common::lost_race("the settings"));
        }
        audit(
            &mut tx,
            t,
            &who,
            at,
            Audit {
                action: pb::AuditAction::SettingsUpdated,
                resource_type: "settings",
                resource_id: "",
                revision: 0,
                from_state: "",
                to_state: "",
                details,
            },
        )
        .await?;
        tx.commit().await?;
        let version = row.map_or(1, |r| r.version + 1);
        Ok(pb::UpdateSettingsResponse {
            settings: Some(convert::settings_out(&settings, etag(version), Some(at))),
        })
    }

    pub(crate) async fn stream_events_rpc(
        &self,
        req: Request<pb::StreamEventsRequest>,
    ) -> Result<feed::ResponseStream<pb::StreamEventsResponse>> {
        let caller = caller_of(&req)?;
        require(
            access::may_read_feed(&core_caller(&caller)),
            "read the scoring change feed",
        )?;
        let req = req.into_inner();
        if req.max_batch_size > MAX_FEED_BATCH {
            return Err(Error::invalid(
                "max_batch_size",
                format!("must be at most {MAX_FEED_BATCH}"),
            ));
        }
        feed::serve(
            self.store.db().clone(),
            &caller,
            req.after_sequence,
            req.follow,
            req.max_batch_size,
            self.shutdown.clone(),
            |batch| {
                let events = batch
                    .events
                    .iter()
                    .map(|stored| {
                        let mut e: pb::Event = feed::decode(stored)?;
                        e.sequence = stored.sequence;
                        e.tenant_id = stored.tenant_id.clone();
                        e.occurred_time = Some(from_millis(stored.occurred_at));
                        Ok(e)
                    })
                    .collect::<Result<Vec<_>>>()?;
                Ok(pb::StreamEventsResponse {
                    events,
                    head_sequence: batch.head_sequence,
                })
            },
        )
    }
}
