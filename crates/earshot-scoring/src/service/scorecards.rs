//! Scorecards: drafts, published versions, validation, import and export,
//! and stateless scoring.

use std::sync::Arc;

use earshot_kit::{
    Error, Result,
    auth::{Caller, Tenant},
    feed, paging,
};
use earshot_proto::prost::Message as _;
use earshot_proto::scoring::v1 as pb;
use tonic::Request;

use super::common::{
    actor, caller_of, check, core_caller, decode, etag, fingerprint, json, lost_race, refused,
    require, required_id, slug, small, text,
};
use super::versions::Version;
use super::{Audit, ScoringApi, audit, convert, events, now};
use crate::access::{self, Role};
use crate::genesys;
use crate::interchange::{self, DocumentFormat, MAX_DOCUMENT_BYTES};
use crate::lifecycle::scorecard::{self as lifecycle, ScorecardFacts, ScorecardState};
use crate::score::score_answers;
use crate::scorecard::{ScorecardDefinition, ValidScorecard, limits};
use crate::store::Store;
use crate::store::requests::{Operation, stored_fingerprint};
use crate::store::scorecards::{ScorecardQuery, ScorecardRow, VersionRow};

const MANAGERS: &[Role] = &[Role::Admin, Role::QaManager];

fn state_out(s: &str) -> pb::ScorecardState {
    match ScorecardState::parse(s) {
        Some(ScorecardState::Draft) => pb::ScorecardState::Draft,
        Some(ScorecardState::Published) => pb::ScorecardState::Published,
        Some(ScorecardState::Archived) => pb::ScorecardState::Archived,
        None => pb::ScorecardState::Unspecified,
    }
}

fn stored_state(r: &ScorecardRow) -> Result<ScorecardState> {
    ScorecardState::parse(&r.state)
        .ok_or_else(|| Error::internal(format!("scorecard {} has state {:?}", r.id, r.state)))
}

/// A stored scorecard for the wire.
pub(crate) fn scorecard_out(r: &ScorecardRow) -> Result<pb::Scorecard> {
    Ok(pb::Scorecard {
        id: r.id.clone(),
        state: state_out(&r.state) as i32,
        draft: Some(decode(&r.draft, "scorecard draft")?),
        latest_version: small(r.latest_version),
        has_unpublished_changes: r.has_unpublished_changes,
        etag: etag(r.version),
        create_time: Some(earshot_kit::time::from_millis(r.created_at)),
        update_time: Some(earshot_kit::time::from_millis(r.updated_at)),
        archive_time: r.archived_at.map(earshot_kit::time::from_millis),
        created_by: Some(earshot_proto::common::v1::Actor {
            subject: r.created_by.clone(),
            role: r.created_by_role.clone(),
        }),
        updated_by: Some(earshot_proto::common::v1::Actor {
            subject: r.updated_by.clone(),
            role: r.updated_by_role.clone(),
        }),
    })
}

/// A stored draft in the domain's terms.
fn draft_of(r: &ScorecardRow) -> Result<ScorecardDefinition> {
    let d: pb::ScorecardDefinition = decode(&r.draft, "scorecard draft")?;
    convert::definition_in(&d)
        .map_err(|v| Error::internal(format!("stored draft of {} does not map: {v:?}", r.id)))
}

/// A definition from a request field: mapped, and within the size limits.
fn definition_from(
    field: &str,
    d: Option<&pb::ScorecardDefinition>,
) -> Result<ScorecardDefinition> {
    let d = d.ok_or_else(|| Error::invalid(field, "is required"))?;
    let domain = convert::definition_in(d)
        .map_err(|v| Error::InvalidArgument(v.into_iter().map(|f| f.nested(field)).collect()))?;
    limits::check_sizes(&domain)
        .map_err(|v| Error::InvalidArgument(convert::violations(field, v.0)))?;
    Ok(domain)
}

fn validation_problems(d: &ScorecardDefinition) -> Vec<pb::ValidationProblem> {
    match ValidScorecard::parse(d.clone()) {
        Ok(_) => Vec::new(),
        Err(v) => convert::problems(v.0),
    }
}

fn request_id(value: &str) -> Result<()> {
    required_id("request_id", value)
}

fn reused(field: &str) -> Error {
    Error::invalid(
        field,
        "was already used for a different request; use a new request_id",
    )
}

impl ScoringApi {
    async fn load_scorecard(&self, t: &Tenant, id: &str) -> Result<ScorecardRow> {
        self.store
            .scorecard(t, id)
            .await?
            .ok_or_else(|| Error::not_found(format!("scorecard {id:?}")))
    }

    /// A published version; `NOT_FOUND` when there is none.
    pub(crate) async fn load_version(
        &self,
        t: &Tenant,
        scorecard_id: &str,
        number: i64,
    ) -> Result<Arc<Version>> {
        self.versions
            .get(&self.store, t, scorecard_id, number)
            .await?
            .ok_or_else(|| {
                if number == 0 {
                    Error::not_found(format!("a published version of scorecard {scorecard_id:?}"))
                } else {
                    Error::not_found(format!("version {number} of scorecard {scorecard_id:?}"))
                }
            })
    }

    /// Creates a draft scorecard for `create` and `import`, idempotently.
    async fn create_draft(
        &self,
        caller: &Caller,
        request_id: &str,
        fp: u64,
        definition: &ScorecardDefinition,
        details: Vec<(&'static str, String)>,
    ) -> Result<pb::Scorecard> {
        let t = caller.tenant();
        let who = actor(&core_caller(caller), MANAGERS);
        let at = now();
        let row = ScorecardRow {
            id: super::common::new_id(),
            state: ScorecardState::Draft.as_str().to_owned(),
            draft: convert::definition_out(definition).encode_to_vec(),
            latest_version: 0,
            has_unpublished_changes: true,
            version: 1,
            created_at: at,
            updated_at: at,
            archived_at: None,
            created_by: who.subject.clone(),
            created_by_role: who.role.clone(),
            updated_by: who.subject.clone(),
            updated_by_role: who.role.clone(),
        };
        let mut tx = self.store.db().begin().await?;
        if !Store::claim_request(
            &mut tx,
            t,
            Operation::CreateScorecard,
            request_id,
            fp,
            &row.id,
            "",
            at,
        )
        .await?
        {
            tx.rollback().await?;
            return self.replay_create(t, request_id, fp).await;
        }
        Store::insert_scorecard(&mut tx, t, &row).await?;
        let mut details = details;
        details.push(("request_id", request_id.to_owned()));
        audit(
            &mut tx,
            t,
            &who,
            at,
            Audit {
                action: pb::AuditAction::ScorecardCreated,
                resource_type: "scorecard",
                resource_id: &row.id,
                revision: 0,
                from_state: "",
                to_state: &row.state,
                details,
            },
        )
        .await?;
        tx.commit().await?;
        scorecard_out(&row)
    }

    /// The scorecard an earlier call with this request id created.
    async fn replay_create(&self, t: &Tenant, request_id: &str, fp: u64) -> Result<pb::Scorecard> {
        let Some(r) = self
            .store
            .request(t, Operation::CreateScorecard, request_id)
            .await?
        else {
            return Err(Error::Aborted(
                "a call with the same request_id is in progress; retry".into(),
            ));
        };
        if r.fingerprint != stored_fingerprint(fp) {
            return Err(reused("request_id"));
        }
        scorecard_out(&self.load_scorecard(t, &r.resource_id).await?)
    }

    pub(crate) async fn create_scorecard_rpc(
        &self,
        req: Request<pb::CreateScorecardRequest>,
    ) -> Result<pb::CreateScorecardResponse> {
        let caller = caller_of(&req)?;
        require(
            access::may_manage_scorecards(&core_caller(&caller)),
            "create scorecards",
        )?;
        let req = req.into_inner();
        request_id(&req.request_id)?;
        let definition = definition_from("definition", req.definition.as_ref())?;
        let fp = fingerprint(&[b"create", &json(&definition)]);
        let t = caller.tenant();
        if self
            .store
            .request(t, Operation::CreateScorecard, &req.request_id)
            .await?
            .is_some()
        {
            let scorecard = self.replay_create(t, &req.request_id, fp).await?;
            return Ok(pb::CreateScorecardResponse {
                scorecard: Some(scorecard),
            });
        }
        let scorecard = self
            .create_draft(&caller, &req.request_id, fp, &definition, Vec::new())
            .await?;
        Ok(pb::CreateScorecardResponse {
            scorecard: Some(scorecard),
        })
    }

    pub(crate) async fn get_scorecard_rpc(
        &self,
        req: Request<pb::GetScorecardRequest>,
    ) -> Result<pb::GetScorecardResponse> {
        let caller = caller_of(&req)?;
        require(
            access::may_read_scorecards(&core_caller(&caller)),
            "read scorecards",
        )?;
        let req = req.into_inner();
        required_id("scorecard_id", &req.scorecard_id)?;
        let row = self
            .load_scorecard(caller.tenant(), &req.scorecard_id)
            .await?;
        Ok(pb::GetScorecardResponse {
            scorecard: Some(scorecard_out(&row)?),
        })
    }

    pub(crate) async fn list_scorecards_rpc(
        &self,
        req: Request<pb::ListScorecardsRequest>,
    ) -> Result<pb::ListScorecardsResponse> {
        let caller = caller_of(&req)?;
        require(
            access::may_read_scorecards(&core_caller(&caller)),
            "read scorecards",
        )?;
        let req = req.into_inner();
        let size = paging::page_size(req.page_size, 50, 200)?;
        let states: Vec<&'static str> = match pb::ScorecardState::try_from(req.state) {
            Ok(pb::ScorecardState::Unspecified) if req.include_archived => Vec::new(),
            Ok(pb::ScorecardState::Unspecified) => vec![
                ScorecardState::Draft.as_str(),
                ScorecardState::Published.as_str(),
            ],
            Ok(pb::ScorecardState::Draft) => vec![ScorecardState::Draft.as_str()],
            Ok(pb::ScorecardState::Published) => vec![ScorecardState::Published.as_str()],
            Ok(pb::ScorecardState::Archived) => vec![ScorecardState::Archived.as_str()],
            Err(_) => return Err(Error::invalid("state", "is not a known scorecard state")),
        };
        let fp = paging::fingerprint(&("scorecards", &states));
        let before: Option<(i64, String)> = paging::decode(&req.page_token, fp)?;
        let mut rows = self
            .store
            .scorecards(
                caller.tenant(),
                &ScorecardQuery {
                    states,
                    before,
                    limit: i64::from(size) + 1,
                },
            )
            .await?;
        let next_page_token =
            paging::next_token(&mut rows, size, fp, |r| (r.created_at, r.id.clone()));
        Ok(pb::ListScorecardsResponse {
            scorecards: rows.iter().map(scorecard_out).collect::<Result<_>>()?,
            next_page_token,
        })
    }

    pub(crate) async fn update_scorecard_rpc(
        &self,
        req: Request<pb::UpdateScorecardRequest>,
    ) -> Result<pb::UpdateScorecardResponse> {
        let caller = caller_of(&req)?;
        let core = core_caller(&caller);
        require(access::may_manage_scorecards(&core), "change scorecards")?;
        let req = req.into_inner();
        required_id("scorecard_id", &req.scorecard_id)?;
        let t = caller.tenant();
        let row = self.load_scorecard(t, &req.scorecard_id).await?;
        let what = format!("scorecard {:?}", req.scorecard_id);
        let state = stored_state(&row)?;
        let current = etag(row.version);
        let facts = ScorecardFacts {
            state,
            etag: &current,
            latest_version: u32::try_from(row.latest_version).unwrap_or(u32::MAX),
            latest_definition: None,
        };
        lifecycle::update_draft(&core, &facts, &req.etag).map_err(|e| refused(e, &what))?;
        let definition = definition_from("definition", req.definition.as_ref())?;
        let changed = if row.latest_version > 0 {
            let latest = self.load_version(t, &row.id, row.latest_version).await?;
            latest.scorecard.definition() != &definition
        } else {
            true
        };
        let who = actor(&core, MANAGERS);
        let at = now();
        let new = ScorecardRow {
            draft: convert::definition_out(&definition).encode_to_vec(),
            has_unpublished_changes: changed,
            version: row.version + 1,
            updated_at: at,
            updated_by: who.subject.clone(),
            updated_by_role: who.role.clone(),
            ..row.clone()
        };
        let mut tx = self.store.db().begin().await?;
        if !Store::update_scorecard(&mut tx, t, &new, row.version).await? {
            return Err(lost_race(&what));
        }
        audit(
            &mut tx,
            t,
            &who,
            at,
            Audit {
                action: pb::AuditAction::ScorecardUpdated,
                resource_type: "scorecard",
                resource_id: &row.id,
                revision: 0,
                from_state: "",
                to_state: "",
                details: Vec::new(),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(pb::UpdateScorecardResponse {
            scorecard: Some(scorecard_out(&new)?),
            problems: validation_problems(&definition),
        })
    }

    pub(crate) async fn publish_scorecard_rpc(
        &self,
        req: Request<pb::PublishScorecardRequest>,
    ) -> Result<pb::PublishScorecardResponse> {
        let caller = caller_of(&req)?;
        let core = core_caller(&caller);
        require(access::may_manage_scorecards(&core), "publish scorecards")?;
        let req = req.into_inner();
        required_id("scorecard_id", &req.scorecard_id)?;
        request_id(&req.request_id)?;
        let mut v = Vec::new();
        text(&mut v, "change_note", &req.change_note, false, 2_000);
        check(v)?;
        let t = caller.tenant();
        let fp = fingerprint(&[
            b"publish",
            req.scorecard_id.as_bytes(),
            req.change_note.as_bytes(),
        ]);
        if let Some(done) = self
            .store
            .request(t, Operation::PublishScorecard, &req.request_id)
            .await?
        {
            return self.replay_publish(t, &done, fp).await;
        }
        let row = self.load_scorecard(t, &req.scorecard_id).await?;
        let what = format!("scorecard {:?}", req.scorecard_id);
        let latest = if row.latest_version > 0 {
            Some(self.load_version(t, &row.id, row.latest_version).await?)
        } else {
            None
        };
        let draft = draft_of(&row)?;
        let current = etag(row.version);
        let facts = ScorecardFacts {
            state: stored_state(&row)?,
            etag: &current,
            latest_version: u32::try_from(row.latest_version).unwrap_or(u32::MAX),
            latest_definition: latest.as_ref().map(|v| v.scorecard.definition()),
        };
        let publication =
            lifecycle::publish(&core, &facts, &req.etag, &draft).map_err(|e| refused(e, &what))?;
        let number = i64::from(publication.version);
        let who = actor(&core, MANAGERS);
        let at = now();
        let definition = convert::definition_out(publication.scorecard.definition());
        let version_row = VersionRow {
            scorecard_id: row.id.clone(),
            version: number,
            definition: definition.encode_to_vec(),
            published_at: at,
            published_by: who.subject.clone(),
            published_by_role: who.role.clone(),
            change_note: req.change_note.clone(),
        };
        let new = ScorecardRow {
            state: publication.state.as_str().to_owned(),
            latest_version: number,
            has_unpublished_changes: false,
            version: row.version + 1,
            updated_at: at,
            updated_by: who.subject.clone(),
            updated_by_role: who.role.clone(),
            ..row.clone()
        };
        let event = events::new_event(
            events::published(
                &row.id,
                small(number),
                publication.scorecard.definition(),
                who.clone(),
            ),
            at,
        );
        let mut tx = self.store.db().begin().await?;
        if !Store::claim_request(
            &mut tx,
            t,
            Operation::PublishScorecard,
            &req.request_id,
            fp,
            &row.id,
            &number.to_string(),
            at,
        )
        .await?
        {
            tx.rollback().await?;
            let done = self
                .store
                .request(t, Operation::PublishScorecard, &req.request_id)
                .await?
                .ok_or_else(|| lost_race(&what))?;
            return self.replay_publish(t, &done, fp).await;
        }
        if !Store::update_scorecard(&mut tx, t, &new, row.version).await? {
            return Err(lost_race(&what));
        }
        Store::insert_version(&mut tx, t, &version_row).await?;
        audit(
            &mut tx,
            t,
            &who,
            at,
            Audit {
                action: pb::AuditAction::ScorecardPublished,
                resource_type: "scorecard",
                resource_id: &row.id,
                revision: number,
                from_state: &row.state,
                to_state: &new.state,
                details: vec![("request_id", req.request_id.clone())],
            },
        )
        .await?;
        feed::append(&mut tx, t, &[event]).await?;
        tx.commit().await?;
        let version = Arc::new(Version {
            number,
            proto: pb::ScorecardVersion {
                scorecard_id: row.id.clone(),
                version: small(number),
                definition: Some(definition),
                publish_time: Some(earshot_kit::time::from_millis(at)),
                published_by: Some(who),
                change_note: req.change_note,
            },
            scorecard: publication.scorecard,
        });
        self.versions.insert(t, &row.id, version.clone());
        Ok(pb::PublishScorecardResponse {
            scorecard: Some(scorecard_out(&new)?),
            version: Some(version.proto.clone()),
        })
    }

    async fn replay_publish(
        &self,
        t: &Tenant,
        done: &crate::store::requests::RequestRow,
        fp: u64,
    ) -> Result<pb::PublishScorecardResponse> {
        if done.fingerprint != stored_fingerprint(fp) {
            return Err(reused("request_id"));
        }
        let number: i64 = done
            .detail
            .parse()
            .map_err(|_| Error::internal("publish request without a version"))?;
        let row = self.load_scorecard(t, &done.resource_id).await?;
        let version = self.load_version(t, &done.resource_id, number).await?;
        Ok(pb::PublishScorecardResponse {
            scorecard: Some(scorecard_out(&row)?),
            version: Some(version.proto.clone()),
        })
    }

    pub(crate) async fn archive_scorecard_rpc(
        &self,
        req: Request<pb::ArchiveScorecardRequest>,
    ) -> Result<pb::ArchiveScorecardResponse> {
        let caller = caller_of(&req)?;
        let core = core_caller(&caller);
        require(access::may_manage_scorecards(&core), "archive scorecards")?;
        let req = req.into_inner();
        required_id("scorecard_id", &req.scorecard_id)?;
        let t = caller.tenant();
        let row = self.load_scorecard(t, &req.scorecard_id).await?;
        let what = format!("scorecard {:?}", req.scorecard_id);
        let current = etag(row.version);
        let facts = ScorecardFacts {
            state: stored_state(&row)?,
            etag: &current,
            latest_version: u32::try_from(row.latest_version).unwrap_or(u32::MAX),
            latest_definition: None,
        };
        let next = lifecycle::archive(&core, &facts, &req.etag).map_err(|e| refused(e, &what))?;
        let who = actor(&core, MANAGERS);
        let at = now();
        let new = ScorecardRow {
            state: next.as_str().to_owned(),
            version: row.version + 1,
            updated_at: at,
            archived_at: Some(at),
            updated_by: who.subject.clone(),
            updated_by_role: who.role.clone(),
            ..row.clone()
        };
        let event = events::new_event(
            pb::event::Payload::ScorecardArchived(pb::ScorecardArchived {
                scorecard_id: row.id.clone(),
                actor: Some(who.clone()),
            }),
            at,
        );
        let mut tx = self.store.db().begin().await?;
        if !Store::update_scorecard(&mut tx, t, &new, row.version).await? {
            return Err(lost_race(&what));
        }
        audit(
            &mut tx,
            t,
            &who,
            at,
            Audit {
                action: pb::AuditAction::ScorecardArchived,
                resource_type: "scorecard",
                resource_id: &row.id,
                revision: 0,
                from_state: &row.state,
                to_state: &new.state,
                details: Vec::new(),
            },
        )
        .await?;
        feed::append(&mut tx, t, &[event]).await?;
        tx.commit().await?;
        Ok(pb::ArchiveScorecardResponse {
            scorecard: Some(scorecard_out(&new)?),
        })
    }

    pub(crate) async fn get_scorecard_version_rpc(
        &self,
        req: Request<pb::GetScorecardVersionRequest>,
    ) -> Result<pb::GetScorecardVersionResponse> {
        let caller = caller_of(&req)?;
        require(
            access::may_read_scorecard_versions(&core_caller(&caller)),
            "read scorecard versions",
        )?;
        let req = req.into_inner();
        required_id("scorecard_id", &req.scorecard_id)?;
        if req.version < 0 {
            return Err(Error::invalid("version", "must not be negative"));
        }
        let v = self
            .load_version(caller.tenant(), &req.scorecard_id, i64::from(req.version))
            .await?;
        Ok(pb::GetScorecardVersionResponse {
            version: Some(v.proto.clone()),
        })
    }

    pub(crate) async fn list_scorecard_versions_rpc(
        &self,
        req: Request<pb::ListScorecardVersionsRequest>,
    ) -> Result<pb::ListScorecardVersionsResponse> {
        let caller = caller_of(&req)?;
        require(
            access::may_read_scorecards(&core_caller(&caller)),
            "read scorecards",
        )?;
        let req = req.into_inner();
        required_id("scorecard_id", &req.scorecard_id)?;
        let size = paging::page_size(req.page_size, 50, 200)?;
        let fp = paging::fingerprint(&("versions", &req.scorecard_id));
        let before: Option<i64> = paging::decode(&req.page_token, fp)?;
        let t = caller.tenant();
        self.load_scorecard(t, &req.scorecard_id).await?;
        let mut rows = self
            .store
            .scorecard_versions(t, &req.scorecard_id, before, i64::from(size) + 1)
            .await?;
        let next_page_token = paging::next_token(&mut rows, size, fp, |r| r.version);
        let mut versions = Vec::with_capacity(rows.len());
        for row in rows {
            let definition: pb::ScorecardDefinition = decode(&row.definition, "scorecard version")?;
            versions.push(pb::ScorecardVersion {
                scorecard_id: row.scorecard_id,
                version: small(row.version),
                definition: Some(definition),
                publish_time: Some(earshot_kit::time::from_millis(row.published_at)),
                published_by: Some(earshot_proto::common::v1::Actor {
                    subject: row.published_by,
                    role: row.published_by_role,
                }),
                change_note: row.change_note,
            });
        }
        Ok(pb::ListScorecardVersionsResponse {
            versions,
            next_page_token,
        })
    }

    pub(crate) async fn validate_scorecard_rpc(
        &self,
        req: Request<pb::ValidateScorecardRequest>,
    ) -> Result<pb::ValidateScorecardResponse> {
        let caller = caller_of(&req)?;
        require(
            access::may_read_scorecards(&core_caller(&caller)),
            "validate scorecards",
        )?;
        let req = req.into_inner();
        use pb::validate_scorecard_request::Source;
        let problems = match req.source {
            None => {
                return Err(Error::invalid(
                    "source",
                    "set either definition or scorecard_id",
                ));
            }
            Some(Source::Definition(d)) => match convert::definition_in(&d) {
                Err(v) => v
                    .into_iter()
                    .map(|f| pb::ValidationProblem {
                        field: f.field,
                        description: f.description,
                    })
                    .collect(),
                Ok(domain) => {
                    let mut p = match limits::check_sizes(&domain) {
                        Ok(()) => Vec::new(),
                        Err(v) => convert::problems(v.0),
                    };
                    if p.is_empty() {
                        p = validation_problems(&domain);
                    }
                    p
                }
            },
            Some(Source::ScorecardId(id)) => {
                required_id("scorecard_id", &id)?;
                let row = self.load_scorecard(caller.tenant(), &id).await?;
                validation_problems(&draft_of(&row)?)
            }
        };
        Ok(pb::ValidateScorecardResponse {
            valid: problems.is_empty(),
            problems,
        })
    }

    pub(crate) async fn import_scorecard_rpc(
        &self,
        req: Request<pb::ImportScorecardRequest>,
    ) -> Result<pb::ImportScorecardResponse> {
        let caller = caller_of(&req)?;
        require(
            access::may_manage_scorecards(&core_caller(&caller)),
            "import scorecards",
        )?;
        let req = req.into_inner();
        if !req.validate_only {
            request_id(&req.request_id)?;
        }
        if let Some(p) = req.pass_mark
            && !(p.is_finite() && (0.0..=100.0).contains(&p))
        {
            return Err(Error::invalid(
                "pass_mark",
                "must be a number from 0 to 100",
            ));
        }
        if req.content.len() > MAX_DOCUMENT_BYTES {
            return Err(Error::invalid(
                "content",
                format!("the document is larger than {MAX_DOCUMENT_BYTES} bytes"),
            ));
        }
        let format =
            pb::ScorecardFormat::try_from(req.format).unwrap_or(pb::ScorecardFormat::Unspecified);
        let (mut definition, notes) = match format {
            pb::ScorecardFormat::EarshotYaml | pb::ScorecardFormat::EarshotJson => {
                let f = if format == pb::ScorecardFormat::EarshotYaml {
                    DocumentFormat::Yaml
                } else {
                    DocumentFormat::Json
                };
                let d = interchange::import(f, &req.content)
                    .map_err(|v| Error::InvalidArgument(convert::violations("", v.0)))?;
                (d, Vec::new())
            }
            pb::ScorecardFormat::GenesysJson => {
                let mut imported = genesys::import(&req.content)
                    .map_err(|v| Error::InvalidArgument(convert::violations("", v.0)))?;
                if let Some(p) = req.pass_mark {
                    imported = imported.with_pass_mark(p);
                }
                (imported.definition, imported.notes)
            }
            pb::ScorecardFormat::Unspecified => {
                return Err(Error::invalid(
                    "format",
                    "name the document's format (EARSHOT_YAML, EARSHOT_JSON or GENESYS_JSON)",
                ));
            }
        };
        if let Some(p) = req.pass_mark {
            definition.pass_mark = p;
        }
        limits::check_sizes(&definition)
            .map_err(|v| Error::InvalidArgument(convert::violations("", v.0)))?;
        let problems = validation_problems(&definition);
        let notes = convert::problems(notes);
        let definition_pb = convert::definition_out(&definition);
        if req.validate_only {
            return Ok(pb::ImportScorecardResponse {
                scorecard: None,
                definition: Some(definition_pb),
                problems,
                notes,
            });
        }
        let pass = req.pass_mark.map(f64::to_bits).unwrap_or(u64::MAX);
        let fp = fingerprint(&[
            b"import",
            &req.format.to_le_bytes(),
            &pass.to_le_bytes(),
            &req.content,
        ]);
        let t = caller.tenant();
        let scorecard = if self
            .store
            .request(t, Operation::CreateScorecard, &req.request_id)
            .await?
            .is_some()
        {
            self.replay_create(t, &req.request_id, fp).await?
        } else {
            let source = format.as_str_name().trim_start_matches("SCORECARD_FORMAT_");
            self.create_draft(
                &caller,
                &req.request_id,
                fp,
                &definition,
                vec![("imported_from", source.to_ascii_lowercase())],
            )
            .await?
        };
        Ok(pb::ImportScorecardResponse {
            scorecard: Some(scorecard),
            definition: Some(definition_pb),
            problems,
            notes,
        })
    }

    pub(crate) async fn export_scorecard_rpc(
        &self,
        req: Request<pb::ExportScorecardRequest>,
    ) -> Result<pb::ExportScorecardResponse> {
        let caller = caller_of(&req)?;
        let core = core_caller(&caller);
        require(
            core.has_any(&[
                Role::Admin,
                Role::QaManager,
                Role::Evaluator,
                Role::Supervisor,
            ]),
            "export scorecards",
        )?;
        let req = req.into_inner();
        required_id("scorecard_id", &req.scorecard_id)?;
        if req.version < 0 {
            return Err(Error::invalid("version", "must not be negative"));
        }
        let format = match pb::ScorecardFormat::try_from(req.format) {
            Ok(pb::ScorecardFormat::EarshotYaml) => DocumentFormat::Yaml,
            Ok(pb::ScorecardFormat::EarshotJson) => DocumentFormat::Json,
            Ok(pb::ScorecardFormat::GenesysJson) => {
                return Err(Error::invalid(
                    "format",
                    "Genesys forms can be imported, not exported",
                ));
            }
            _ => {
                return Err(Error::invalid(
                    "format",
                    "name the format: EARSHOT_YAML or EARSHOT_JSON",
                ));
            }
        };
        let t = caller.tenant();
        let (definition, suffix) = if req.version == 0 {
            let row = self.load_scorecard(t, &req.scorecard_id).await?;
            (draft_of(&row)?, "draft".to_owned())
        } else {
            let v = self
                .load_version(t, &req.scorecard_id, i64::from(req.version))
                .await?;
            (v.scorecard.definition().clone(), format!("v{}", v.number))
        };
        let content = interchange::export(&definition, format).map_err(|e| {
            Error::FailedPrecondition(format!(
                "{e}; fix the draft's non-finite numbers before exporting"
            ))
        })?;
        Ok(pb::ExportScorecardResponse {
            content: content.into_bytes(),
            media_type: format.media_type().to_owned(),
            file_name: format!("{}-{suffix}.{}", slug(&definition.name), format.extension()),
        })
    }

    pub(crate) async fn score_answers_rpc(
        &self,
        req: Request<pb::ScoreAnswersRequest>,
    ) -> Result<pb::ScoreAnswersResponse> {
        let caller = caller_of(&req)?;
        require(
            access::may_score_answers(&core_caller(&caller)),
            "score answers",
        )?;
        let req = req.into_inner();
        if req.answers.len() > super::common::MAX_ANSWERS {
            return Err(Error::invalid(
                "answers",
                format!("at most {} answers", super::common::MAX_ANSWERS),
            ));
        }
        let t = caller.tenant();
        use pb::score_answers_request::Scorecard as Source;
        let answers = convert::answers_in(&req.answers);
        let (scored, version) = match req.scorecard {
            None => {
                return Err(Error::invalid(
                    "scorecard",
                    "set one of version, draft_scorecard_id or definition",
                ));
            }
            Some(Source::Version(r)) => {
                required_id("version.scorecard_id", &r.scorecard_id)?;
                if r.version < 0 {
                    return Err(Error::invalid("version.version", "must not be negative"));
                }
                let v = self
                    .load_version(t, &r.scorecard_id, i64::from(r.version))
                    .await?;
                (score_answers(&v.scorecard, &answers), small(v.number))
            }
            Some(Source::DraftScorecardId(id)) => {
                required_id("draft_scorecard_id", &id)?;
                let row = self.load_scorecard(t, &id).await?;
                let sc = ValidScorecard::parse(draft_of(&row)?).map_err(|v| {
                    Error::FailedPrecondition(format!(
                        "the draft of scorecard {id:?} is not valid: {v}"
                    ))
                })?;
                (score_answers(&sc, &answers), 0)
            }
            Some(Source::Definition(d)) => {
                let domain = definition_from("definition", Some(&d))?;
                let sc = ValidScorecard::parse(domain)
                    .map_err(|v| Error::InvalidArgument(convert::violations("definition", v.0)))?;
                (score_answers(&sc, &answers), 0)
            }
        };
        Ok(pb::ScoreAnswersResponse {
            result: Some(convert::result_out(&scored.result)),
            problems: convert::answer_problems_out(&scored.problems),
            scorecard_version: version,
        })
    }
}
