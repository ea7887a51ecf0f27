//! Evaluations: create (from an assignment, ad hoc, mystery shop, self),
//! read, list, save drafts, submit, delete; revisions.

use earshot_kit::{
    Error, Result,
    auth::{Caller, Tenant},
    feed::{self, NewEvent},
    paging,
    time::{from_millis, to_millis},
};
use earshot_proto::common::v1 as common;
use earshot_proto::prost::Message as _;
use earshot_proto::scoring::v1 as pb;
use tonic::Request;

use super::common::{
    MAX_ANSWERS, MAX_OVERALL_COMMENT_CHARS, actor, caller_of, check, core_caller, decode, etag,
    fingerprint, lost_race, optional_id, refused, require, required_id, required_sampling_id,
    small, system_actor, text, time_range,
};
use super::{Audit, ScoringApi, audit, convert, events, now, view};
use crate::access::{self, EvaluationView, Role};
use crate::lifecycle::evaluation::{
    self as lifecycle, CreationFacts, EvaluationAction, EvaluationFacts, EvaluationKind,
    EvaluationState,
};
use crate::lifecycle::scorecard::{ScorecardFacts, ScorecardState, version_for_new_evaluation};
use crate::score::score_answers;
use crate::settings::Settings;
use crate::store::Store;
use crate::store::evaluations::{EvaluationRow, Filter, RevisionRow, Scope};
use crate::store::requests::{Operation, stored_fingerprint};

/// Roles that read evaluations at all.
const READERS: &[Role] = &[
    Role::Admin,
    Role::QaManager,
    Role::Evaluator,
    Role::Supervisor,
    Role::Agent,
];

pub(crate) fn state_out(s: EvaluationState) -> pb::EvaluationState {
    match s {
        EvaluationState::Draft => pb::EvaluationState::Draft,
        EvaluationState::Submitted => pb::EvaluationState::Submitted,
        EvaluationState::Released => pb::EvaluationState::Released,
        EvaluationState::Acknowledged => pb::EvaluationState::Acknowledged,
        EvaluationState::Disputed => pb::EvaluationState::Disputed,
        EvaluationState::Resolved => pb::EvaluationState::Resolved,
    }
}

fn state_in(s: pb::EvaluationState) -> Option<EvaluationState> {
    Some(match s {
        pb::EvaluationState::Unspecified => return None,
        pb::EvaluationState::Draft => EvaluationState::Draft,
        pb::EvaluationState::Submitted => EvaluationState::Submitted,
        pb::EvaluationState::Released => EvaluationState::Released,
        pb::EvaluationState::Acknowledged => EvaluationState::Acknowledged,
        pb::EvaluationState::Disputed => EvaluationState::Disputed,
        pb::EvaluationState::Resolved => EvaluationState::Resolved,
    })
}

fn kind_out(k: EvaluationKind) -> pb::EvaluationKind {
    match k {
        EvaluationKind::Assigned => pb::EvaluationKind::Assigned,
        EvaluationKind::AdHoc => pb::EvaluationKind::AdHoc,
        EvaluationKind::MysteryShop => pb::EvaluationKind::MysteryShop,
        EvaluationKind::SelfEvaluation => pb::EvaluationKind::Self_,
    }
}

fn kind_in(k: pb::EvaluationKind) -> Option<EvaluationKind> {
    Some(match k {
        pb::EvaluationKind::Unspecified => return None,
        pb::EvaluationKind::Assigned => EvaluationKind::Assigned,
        pb::EvaluationKind::AdHoc => EvaluationKind::AdHoc,
        pb::EvaluationKind::MysteryShop => EvaluationKind::MysteryShop,
        pb::EvaluationKind::Self_ => EvaluationKind::SelfEvaluation,
    })
}

/// A stored evaluation, decoded, with its lifecycle facts at hand.
#[derive(Debug, Clone)]
pub(crate) struct Loaded {
    pub(crate) row: EvaluationRow,
    pub(crate) body: pb::Evaluation,
    pub(crate) kind: EvaluationKind,
    pub(crate) state: EvaluationState,
    pub(crate) etag: String,
}

impl Loaded {
    fn new(row: EvaluationRow) -> Result<Self> {
        let body: pb::Evaluation = decode(&row.body, "evaluation")?;
        let kind = EvaluationKind::parse(&row.kind).ok_or_else(|| {
            Error::internal(format!("evaluation {} has kind {:?}", row.id, row.kind))
        })?;
        let state = EvaluationState::parse(&row.state).ok_or_else(|| {
            Error::internal(format!("evaluation {} has state {:?}", row.id, row.state))
        })?;
        Ok(Self {
            etag: etag(row.version),
            row,
            body,
            kind,
            state,
        })
    }

    pub(crate) fn facts(&self) -> EvaluationFacts<'_> {
        EvaluationFacts {
            kind: self.kind,
            state: self.state,
            evaluator_id: &self.row.evaluator_id,
            agent_id: &self.row.agent_id,
            team_id: &self.row.team_id,
            etag: &self.etag,
            released_ms: self.row.released_at,
            latest_revision_author: &self.row.latest_revision_author,
        }
    }

    pub(crate) fn what(&self) -> String {
        format!("evaluation {:?}", self.row.id)
    }
}

/// The stored row for an evaluation body: every column is derived from the
/// body, so the two never disagree.
pub(crate) fn row_of(
    body: &pb::Evaluation,
    version: i64,
    latest_revision_author: &str,
) -> Result<EvaluationRow> {
    let kind = pb::EvaluationKind::try_from(body.kind)
        .ok()
        .and_then(kind_in)
        .ok_or_else(|| Error::internal("an evaluation without a kind"))?;
    let state = pb::EvaluationState::try_from(body.state)
        .ok()
        .and_then(state_in)
        .ok_or_else(|| Error::internal("an evaluation without a state"))?;
    let ms = |t: &Option<prost_types::Timestamp>| -> Result<Option<i64>> {
        t.as_ref()
            .map(|t| {
                to_millis(t, "time").map_err(|_| Error::internal("a stored time is out of range"))
            })
            .transpose()
    };
    let interaction = body.interaction.clone().unwrap_or_default();
    let mut stored = body.clone();
    stored.etag.clear();
    stored.evaluator_hidden = false;
    Ok(EvaluationRow {
        id: body.id.clone(),
        kind: kind.as_str().to_owned(),
        state: state.as_str().to_owned(),
        scorecard_id: body.scorecard_id.clone(),
        scorecard_version: i64::from(body.scorecard_version),
        interaction_id: interaction.interaction_id,
        agent_id: interaction.agent_id,
        team_id: interaction.team_id,
        evaluator_id: body.evaluator_id.clone(),
        assignment_id: body.assignment_id.clone(),
        revision: i64::from(body.revision),
        latest_revision_author: latest_revision_author.to_owned(),
        released_at: ms(&body.release_time)?,
        created_at: ms(&body.create_time)?.unwrap_or(0),
        updated_at: ms(&body.update_time)?.unwrap_or(0),
        version,
        body: stored.encode_to_vec(),
    })
}

/// Everything one evaluation write commits together.
pub(crate) struct Write<'a> {
    pub(crate) before: &'a Loaded,
    pub(crate) body: pb::Evaluation,
    pub(crate) latest_revision_author: String,
    pub(crate) revision: Option<pb::EvaluationRevision>,
    pub(crate) audits: Vec<(common::Actor, Audit<'a>)>,
    pub(crate) events: Vec<NewEvent>,
    pub(crate) at: i64,
}

/// Checks draft content given in a request (`field` names it).
fn check_content(field: &str, answers: usize, overall_comment: &str) -> Result<()> {
    let mut v = Vec::new();
    if answers > MAX_ANSWERS {
        v.push(earshot_kit::FieldViolation::new(
            format!("{field}.answers"),
            format!("at most {MAX_ANSWERS} answers"),
        ));
    }
    text(
        &mut v,
        &format!("{field}.overall_comment"),
        overall_comment,
        false,
        MAX_OVERALL_COMMENT_CHARS,
    );
    check(v)
}

impl ScoringApi {
    pub(crate) async fn load_evaluation(&self, t: &Tenant, id: &str) -> Result<Loaded> {
        let row = self
            .store
            .evaluation(t, id)
            .await?
            .ok_or_else(|| Error::not_found(format!("evaluation {id:?}")))?;
        Loaded::new(row)
    }

    /// Commits an evaluation write: the row (compare-and-set on its
    /// version), a new revision, audit entries and feed events. Returns the
    /// evaluation as stored now.
    pub(crate) async fn write(&self, t: &Tenant, w: Write<'_>) -> Result<Loaded> {
        let version = w.before.row.version + 1;
        let mut body = w.body;
        body.update_time = Some(from_millis(w.at));
        let row = row_of(&body, version, &w.latest_revision_author)?;
        let mut tx = self.store.db().begin().await?;
        if !Store::update_evaluation(&mut tx, t, &row, w.before.row.version).await? {
            return Err(lost_race(&w.before.what()));
        }
        if let Some(r) = &w.revision {
            Store::insert_revision(
                &mut tx,
                t,
                &RevisionRow {
                    evaluation_id: r.evaluation_id.clone(),
                    revision: i64::from(r.revision),
                    created_at: w.at,
                    body: r.encode_to_vec(),
                },
            )
            .await?;
        }
        for (who, a) in w.audits {
            audit(&mut tx, t, &who, w.at, a).await?;
        }
        feed::append(&mut tx, t, &w.events).await?;
        tx.commit().await?;
        Ok(Loaded {
            etag: etag(row.version),
            kind: w.before.kind,
            state: EvaluationState::parse(&row.state).unwrap_or(w.before.state),
            row,
            body,
        })
    }

    /// An evaluation just written, as its writer sees it now.
    pub(crate) fn present(
        &self,
        caller: &crate::access::Caller,
        e: Loaded,
        settings: &Settings,
    ) -> pb::Evaluation {
        // The writer could see it before; should the new state hide it from
        // them, show the most restricted view rather than fail a committed
        // write.
        let v = access::view_evaluation(caller, &e.facts(), settings).unwrap_or(
            EvaluationView::AsAgent {
                evaluator_hidden: true,
            },
        );
        view::evaluation(e.body, e.row.version, v)
    }

    /// How the caller may see an evaluation; `NOT_FOUND` when not at all.
    pub(crate) fn view_of(
        &self,
        caller: &crate::access::Caller,
        e: &Loaded,
        settings: &Settings,
    ) -> Result<EvaluationView> {
        access::view_evaluation(caller, &e.facts(), settings)
            .ok_or_else(|| Error::not_found(e.what()))
    }

    pub(crate) async fn create_evaluation_rpc(
        &self,
        req: Request<pb::CreateEvaluationRequest>,
    ) -> Result<pb::CreateEvaluationResponse> {
        let caller = caller_of(&req)?;
        let core = core_caller(&caller);
        require(core.has_any(lifecycle::CREATORS), "create evaluations")?;
        let req = req.into_inner();
        required_id("request_id", &req.request_id)?;
        let t = caller.tenant();
        let mut keyed = req.clone();
        keyed.request_id.clear();
        let fp = fingerprint(&[b"evaluation", &keyed.encode_to_vec()]);
        if let Some(done) = self
            .store
            .request(t, Operation::CreateEvaluation, &req.request_id)
            .await?
        {
            return self.replay_create_evaluation(&caller, &done, fp).await;
        }
        let settings = self.store.settings(t).await?;
        use pb::create_evaluation_request::Origin;
        let origin = req.origin.as_ref().ok_or_else(|| {
            Error::invalid(
                "origin",
                "set one of assignment, ad_hoc, mystery_shop or self_evaluation",
            )
        })?;
        let mut assignment_id = String::new();
        let mut due_ms = None;
        let mut mystery_shop = None;
        let (kind, interaction, assigned_evaluator, completed) = match origin {
            Origin::Assignment(a) => {
                required_sampling_id("assignment.assignment_id", &a.assignment_id)?;
                let facts = self.sampling.assignment(&caller, &a.assignment_id).await?;
                if facts.cancelled {
                    return Err(Error::FailedPrecondition(format!(
                        "assignment {:?} was cancelled",
                        a.assignment_id
                    )));
                }
                assignment_id = a.assignment_id.clone();
                due_ms = facts.due_ms;
                (
                    EvaluationKind::Assigned,
                    facts.interaction,
                    Some(facts.evaluator_id),
                    facts.completed,
                )
            }
            Origin::AdHoc(a) => {
                required_sampling_id("ad_hoc.interaction_id", &a.interaction_id)?;
                let interaction = self
                    .sampling
                    .interaction(&caller, &a.interaction_id)
                    .await?;
                (EvaluationKind::AdHoc, interaction, None, false)
            }
            Origin::SelfEvaluation(s) => {
                required_sampling_id("self_evaluation.interaction_id", &s.interaction_id)?;
                let interaction = self
                    .sampling
                    .interaction(&caller, &s.interaction_id)
                    .await?;
                (EvaluationKind::SelfEvaluation, interaction, None, false)
            }
            Origin::MysteryShop(m) => {
                let (interaction, details) = mystery_shop_in(m)?;
                mystery_shop = Some(details);
                (EvaluationKind::MysteryShop, interaction, None, false)
            }
        };
        lifecycle::authorize_create(
            &core,
            &CreationFacts {
                kind,
                assigned_evaluator: assigned_evaluator.as_deref(),
                assignment_completed: completed,
                agent_id: &interaction.agent_id,
            },
            &settings,
        )
        .map_err(|e| refused(e, "the assignment"))?;

        let sref = req
            .scorecard
            .as_ref()
            .ok_or_else(|| Error::invalid("scorecard", "name the scorecard to evaluate with"))?;
        required_id("scorecard.scorecard_id", &sref.scorecard_id)?;
        if sref.version < 0 {
            return Err(Error::invalid("scorecard.version", "must not be negative"));
        }
        let what = format!("scorecard {:?}", sref.scorecard_id);
        let card = self
            .store
            .scorecard(t, &sref.scorecard_id)
            .await?
            .ok_or_else(|| Error::not_found(what.clone()))?;
        let card_etag = etag(card.version);
        let number = version_for_new_evaluation(
            &ScorecardFacts {
                state: ScorecardState::parse(&card.state)
                    .ok_or_else(|| Error::internal("a scorecard without a state"))?,
                etag: &card_etag,
                latest_version: u32::try_from(card.latest_version).unwrap_or(u32::MAX),
                latest_definition: None,
            },
            u32::try_from(sref.version).unwrap_or(0),
        )
        .map_err(|e| {
            refused(
                e,
                &format!(
                    "version {} of scorecard {:?}",
                    sref.version, sref.scorecard_id
                ),
            )
        })?;
        let version = self
            .load_version(t, &sref.scorecard_id, i64::from(number))
            .await?;

        let at = now();
        let id = super::common::new_id();
        let preview = score_answers(&version.scorecard, &[]);
        let body = pb::Evaluation {
            id: id.clone(),
            kind: kind_out(kind) as i32,
            state: pb::EvaluationState::Draft as i32,
            scorecard_id: sref.scorecard_id.clone(),
            scorecard_version: small(version.number),
            interaction: Some(interaction),
            assignment_id,
            evaluator_id: caller.subject().to_owned(),
            evaluator_hidden: false,
            answers: Vec::new(),
            overall_comment: String::new(),
            result: Some(convert::result_out(&preview.result)),
            problems: convert::answer_problems_out(&preview.problems),
            revision: 0,
            dispute: None,
            coaching_comments: Vec::new(),
            acknowledgement_comment: String::new(),
            etag: String::new(),
            due_time: due_ms.map(from_millis),
            create_time: Some(from_millis(at)),
            update_time: Some(from_millis(at)),
            submit_time: None,
            release_time: None,
            acknowledge_time: None,
            mystery_shop,
        };
        let row = row_of(&body, 1, "")?;
        let who = actor(
            &core,
            if kind == EvaluationKind::SelfEvaluation {
                &[Role::Agent]
            } else {
                &[Role::Evaluator, Role::QaManager, Role::Admin]
            },
        );
        let mut tx = self.store.db().begin().await?;
        if !Store::claim_request(
            &mut tx,
            t,
            Operation::CreateEvaluation,
            &req.request_id,
            fp,
            &id,
            "",
            at,
        )
        .await?
        {
            tx.rollback().await?;
            let done = self
                .store
                .request(t, Operation::CreateEvaluation, &req.request_id)
                .await?
                .ok_or_else(|| {
                    Error::Aborted("a call with the same request_id is in progress; retry".into())
                })?;
            return self.replay_create_evaluation(&caller, &done, fp).await;
        }
        if let Err(e) = Store::insert_evaluation(&mut tx, t, &row).await {
            if earshot_kit::db::is_unique_violation(&e) {
                return Err(Error::FailedPrecondition(format!(
                    "assignment {:?} already has an evaluation",
                    row.assignment_id
                )));
            }
            return Err(e.into());
        }
        audit(
            &mut tx,
            t,
            &who,
            at,
            Audit {
                action: pb::AuditAction::EvaluationCreated,
                resource_type: "evaluation",
                resource_id: &id,
                revision: 0,
                from_state: "",
                to_state: EvaluationState::Draft.as_str(),
                details: vec![
                    ("request_id", req.request_id.clone()),
                    ("kind", kind.as_str().to_owned()),
                    ("scorecard_id", sref.scorecard_id.clone()),
                    ("scorecard_version", version.number.to_string()),
                ],
            },
        )
        .await?;
        tx.commit().await?;
        Ok(pb::CreateEvaluationResponse {
            evaluation: Some(view::evaluation(body, 1, EvaluationView::Full)),
        })
    }

    async fn replay_create_evaluation(
        &self,
        caller: &Caller,
        done: &crate::store::requests::RequestRow,
        fp: u64,
    ) -> Result<pb::CreateEvaluationResponse> {
        if done.fingerprint != stored_fingerprint(fp) {
            return Err(Error::invalid(
                "request_id",
                "was already used for a different request; use a new request_id",
            ));
        }
        let t = caller.tenant();
        let e = self.load_evaluation(t, &done.resource_id).await?;
        let settings = self.store.settings(t).await?;
        let v = self.view_of(&core_caller(caller), &e, &settings)?;
        Ok(pb::CreateEvaluationResponse {
            evaluation: Some(view::evaluation(e.body, e.row.version, v)),
        })
    }

    pub(crate) async fn get_evaluation_rpc(
        &self,
        req: Request<pb::GetEvaluationRequest>,
    ) -> Result<pb::GetEvaluationResponse> {
        let caller = caller_of(&req)?;
        let core = core_caller(&caller);
        require(core.has_any(READERS), "read evaluations")?;
        let req = req.into_inner();
        required_id("evaluation_id", &req.evaluation_id)?;
        let t = caller.tenant();
        let e = self.load_evaluation(t, &req.evaluation_id).await?;
        let settings = self.store.settings(t).await?;
        let v = self.view_of(&core, &e, &settings)?;
        Ok(pb::GetEvaluationResponse {
            evaluation: Some(view::evaluation(e.body, e.row.version, v)),
        })
    }

    pub(crate) async fn list_evaluations_rpc(
        &self,
        req: Request<pb::ListEvaluationsRequest>,
    ) -> Result<pb::ListEvaluationsResponse> {
        let caller = caller_of(&req)?;
        let core = core_caller(&caller);
        require(core.has_any(READERS), "read evaluations")?;
        let req = req.into_inner();
        let size = paging::page_size(req.page_size, 50, 200)?;
        let state = match pb::EvaluationState::try_from(req.state) {
            Ok(s) => state_in(s).map(EvaluationState::as_str),
            Err(_) => return Err(Error::invalid("state", "is not a known evaluation state")),
        };
        let kind = match pb::EvaluationKind::try_from(req.kind) {
            Ok(k) => kind_in(k).map(EvaluationKind::as_str),
            Err(_) => return Err(Error::invalid("kind", "is not a known evaluation kind")),
        };
        let (created_from, created_before) = time_range(req.create_time.as_ref(), "create_time")?;
        let filter = Filter {
            state,
            kind,
            agent_id: optional_id("agent_id", &req.agent_id)?,
            evaluator_id: optional_id("evaluator_id", &req.evaluator_id)?,
            team_id: optional_id("team_id", &req.team_id)?,
            scorecard_id: optional_id("scorecard_id", &req.scorecard_id)?,
            interaction_id: optional_id("interaction_id", &req.interaction_id)?,
            created_from,
            created_before,
        };
        let fp = paging::fingerprint(&(
            "evaluations",
            state,
            kind,
            &filter.agent_id,
            &filter.evaluator_id,
            &filter.team_id,
            &filter.scorecard_id,
            &filter.interaction_id,
            created_from,
            created_before,
        ));
        let before: Option<(i64, String)> = paging::decode(&req.page_token, fp)?;
        let t = caller.tenant();
        let settings = self.store.settings(t).await?;
        let ls = access::list_scope(&core, &settings);
        if ls.is_empty() {
            return Ok(pb::ListEvaluationsResponse::default());
        }
        let scope = Scope {
            all: ls.all,
            evaluator_id: ls.evaluator_id.clone(),
            teams: ls.teams.iter().cloned().collect(),
            agent_id: ls.agent_id.clone(),
        };
        let mut rows = self
            .store
            .evaluations(t, &scope, &filter, before.as_ref(), i64::from(size) + 1)
            .await?;
        let next_page_token =
            paging::next_token(&mut rows, size, fp, |r| (r.created_at, r.id.clone()));
        let mut evaluations = Vec::with_capacity(rows.len());
        for row in rows {
            let e = Loaded::new(row)?;
            let Some(v) = access::view_evaluation(&core, &e.facts(), &settings) else {
                continue;
            };
            // Filtering by an evaluator the caller may not see would reveal
            // who wrote it: such rows match nothing.
            if filter.evaluator_id.is_some() && v.hides_evaluator() {
                continue;
            }
            evaluations.push(view::evaluation(e.body, e.row.version, v));
        }
        Ok(pb::ListEvaluationsResponse {
            evaluations,
            next_page_token,
        })
    }

    pub(crate) async fn save_evaluation_draft_rpc(
        &self,
        req: Request<pb::SaveEvaluationDraftRequest>,
    ) -> Result<pb::SaveEvaluationDraftResponse> {
        let caller = caller_of(&req)?;
        let core = core_caller(&caller);
        require(
            core.has_any(lifecycle::roles_that_may(EvaluationAction::SaveDraft)),
            "save evaluations",
        )?;
        let req = req.into_inner();
        required_id("evaluation_id", &req.evaluation_id)?;
        let t = caller.tenant();
        let e = self.load_evaluation(t, &req.evaluation_id).await?;
        let settings = self.store.settings(t).await?;
        lifecycle::transition(
            &core,
            &e.facts(),
            &settings,
            EvaluationAction::SaveDraft,
            &req.etag,
            now(),
        )
        .map_err(|err| refused(err, &e.what()))?;
        let content = req.content.unwrap_or_default();
        check_content("content", content.answers.len(), &content.overall_comment)?;
        let version = self
            .load_version(t, &e.row.scorecard_id, e.row.scorecard_version)
            .await?;
        let preview = score_answers(&version.scorecard, &convert::answers_in(&content.answers));
        let mut body = e.body.clone();
        body.answers = content.answers;
        body.overall_comment = content.overall_comment;
        body.result = Some(convert::result_out(&preview.result));
        body.problems = convert::answer_problems_out(&preview.problems);
        let who = actor(
            &core,
            &[Role::Evaluator, Role::Agent, Role::QaManager, Role::Admin],
        );
        let problems = preview.problems.len().to_string();
        let written = self
            .write(
                t,
                Write {
                    before: &e,
                    body,
                    latest_revision_author: e.row.latest_revision_author.clone(),
                    revision: None,
                    audits: vec![(
                        who,
                        Audit {
                            action: pb::AuditAction::EvaluationDraftSaved,
                            resource_type: "evaluation",
                            resource_id: &e.row.id,
                            revision: 0,
                            from_state: "",
                            to_state: "",
                            details: vec![("problems", problems)],
                        },
                    )],
                    events: Vec::new(),
                    at: now(),
                },
            )
            .await?;
        Ok(pb::SaveEvaluationDraftResponse {
            evaluation: Some(self.present(&core, written, &settings)),
        })
    }

    pub(crate) async fn submit_evaluation_rpc(
        &self,
        req: Request<pb::SubmitEvaluationRequest>,
    ) -> Result<pb::SubmitEvaluationResponse> {
        let caller = caller_of(&req)?;
        let core = core_caller(&caller);
        require(
            core.has_any(lifecycle::roles_that_may(EvaluationAction::Submit)),
            "submit evaluations",
        )?;
        let req = req.into_inner();
        required_id("evaluation_id", &req.evaluation_id)?;
        let t = caller.tenant();
        let e = self.load_evaluation(t, &req.evaluation_id).await?;
        let settings = self.store.settings(t).await?;
        let next = lifecycle::transition(
            &core,
            &e.facts(),
            &settings,
            EvaluationAction::Submit,
            &req.etag,
            now(),
        )
        .map_err(|err| refused(err, &e.what()))?;
        let (answers, overall_comment, prefix) = match req.content {
            Some(c) => {
                check_content("content", c.answers.len(), &c.overall_comment)?;
                (c.answers, c.overall_comment, "content")
            }
            None => (e.body.answers.clone(), e.body.overall_comment.clone(), ""),
        };
        let version = self
            .load_version(t, &e.row.scorecard_id, e.row.scorecard_version)
            .await?;
        let scored = score_answers(&version.scorecard, &convert::answers_in(&answers));
        if !scored.problems.is_empty() {
            return Err(Error::InvalidArgument(convert::answer_violations(
                prefix,
                &scored.problems,
            )));
        }
        let at = now();
        if e.kind == EvaluationKind::Assigned {
            self.sampling
                .complete_assignment(
                    &caller,
                    &e.row.assignment_id,
                    &e.row.id,
                    &e.row.evaluator_id,
                    at,
                )
                .await?;
        }
        let who = actor(
            &core,
            if e.kind == EvaluationKind::SelfEvaluation {
                &[Role::Agent]
            } else {
                &[Role::Evaluator, Role::QaManager, Role::Admin]
            },
        );
        let result = convert::result_out(&scored.result);
        let mut body = e.body.clone();
        body.answers = answers.clone();
        body.overall_comment = overall_comment.clone();
        body.result = Some(result.clone());
        body.problems.clear();
        body.revision = 1;
        body.state = pb::EvaluationState::Submitted as i32;
        body.submit_time = Some(from_millis(at));
        body.update_time = Some(from_millis(at));
        let submitted = events::new_event(
            pb::event::Payload::EvaluationSubmitted(pb::EvaluationSubmitted {
                evaluation: Some(events::snapshot(&body)),
                actor: Some(who.clone()),
            }),
            at,
        );
        let total = result.total_score.to_string();
        let passed = result.passed.to_string();
        let mut audits = vec![(
            who.clone(),
            Audit {
                action: pb::AuditAction::EvaluationSubmitted,
                resource_type: "evaluation",
                resource_id: &e.row.id,
                revision: 1,
                from_state: EvaluationState::Draft.as_str(),
                to_state: EvaluationState::Submitted.as_str(),
                details: vec![("total_score", total), ("passed", passed)],
            },
        )];
        let mut feed_events = vec![submitted];
        if next == EvaluationState::Released {
            body.state = pb::EvaluationState::Released as i32;
            body.release_time = Some(from_millis(at));
            feed_events.push(events::new_event(
                pb::event::Payload::EvaluationReleased(pb::EvaluationReleased {
                    evaluation: Some(events::snapshot(&body)),
                    actor: Some(system_actor()),
                }),
                at,
            ));
            audits.push((
                system_actor(),
                Audit {
                    action: pb::AuditAction::EvaluationReleased,
                    resource_type: "evaluation",
                    resource_id: &e.row.id,
                    revision: 1,
                    from_state: EvaluationState::Submitted.as_str(),
                    to_state: EvaluationState::Released.as_str(),
                    details: vec![("auto_release", "true".to_owned())],
                },
            ));
        }
        let revision = pb::EvaluationRevision {
            evaluation_id: e.row.id.clone(),
            revision: 1,
            answers,
            overall_comment,
            result: Some(result),
            author: Some(who.clone()),
            create_time: Some(from_millis(at)),
            reason: String::new(),
        };
        let written = self
            .write(
                t,
                Write {
                    before: &e,
                    body,
                    latest_revision_author: who.subject.clone(),
                    revision: Some(revision),
                    audits,
                    events: feed_events,
                    at,
                },
            )
            .await?;
        Ok(pb::SubmitEvaluationResponse {
            evaluation: Some(self.present(&core, written, &settings)),
        })
    }

    pub(crate) async fn delete_evaluation_rpc(
        &self,
        req: Request<pb::DeleteEvaluationRequest>,
    ) -> Result<pb::DeleteEvaluationResponse> {
        let caller = caller_of(&req)?;
        let core = core_caller(&caller);
        require(
            core.has_any(lifecycle::roles_that_may(EvaluationAction::Delete)),
            "delete evaluations",
        )?;
        let req = req.into_inner();
        required_id("evaluation_id", &req.evaluation_id)?;
        let t = caller.tenant();
        let e = self.load_evaluation(t, &req.evaluation_id).await?;
        let settings = self.store.settings(t).await?;
        lifecycle::transition(
            &core,
            &e.facts(),
            &settings,
            EvaluationAction::Delete,
            &req.etag,
            now(),
        )
        .map_err(|err| refused(err, &e.what()))?;
        let who = actor(
            &core,
            &[Role::Evaluator, Role::Agent, Role::QaManager, Role::Admin],
        );
        let at = now();
        let mut tx = self.store.db().begin().await?;
        if !Store::delete_draft_evaluation(&mut tx, t, &e.row.id, e.row.version).await? {
            return Err(lost_race(&e.what()));
        }
        Store::forget_requests(&mut tx, t, Operation::CreateEvaluation, &e.row.id).await?;
        audit(
            &mut tx,
            t,
            &who,
            at,
            Audit {
                action: pb::AuditAction::EvaluationDeleted,
                resource_type: "evaluation",
                resource_id: &e.row.id,
                revision: 0,
                from_state: EvaluationState::Draft.as_str(),
                to_state: "",
                details: Vec::new(),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(pb::DeleteEvaluationResponse {})
    }

    pub(crate) async fn list_evaluation_revisions_rpc(
        &self,
        req: Request<pb::ListEvaluationRevisionsRequest>,
    ) -> Result<pb::ListEvaluationRevisionsResponse> {
        let caller = caller_of(&req)?;
        let core = core_caller(&caller);
        require(core.has_any(READERS), "read evaluations")?;
        let req = req.into_inner();
        required_id("evaluation_id", &req.evaluation_id)?;
        let size = paging::page_size(req.page_size, 20, 100)?;
        let fp = paging::fingerprint(&("revisions", &req.evaluation_id));
        let before: Option<i64> = paging::decode(&req.page_token, fp)?;
        let t = caller.tenant();
        let e = self.load_evaluation(t, &req.evaluation_id).await?;
        let settings = self.store.settings(t).await?;
        let v = self.view_of(&core, &e, &settings)?;
        let mut rows = self
            .store
            .revisions(t, &e.row.id, before, i64::from(size) + 1)
            .await?;
        let next_page_token = paging::next_token(&mut rows, size, fp, |r| r.revision);
        let revisions = rows
            .iter()
            .map(|r| {
                decode::<pb::EvaluationRevision>(&r.body, "evaluation revision")
                    .map(|rev| view::revision(rev, v))
            })
            .collect::<Result<_>>()?;
        Ok(pb::ListEvaluationRevisionsResponse {
            revisions,
            next_page_token,
        })
    }
}

/// The interaction and details of a mystery-shop request, checked.
fn mystery_shop_in(m: &pb::MysteryShopOrigin) -> Result<(pb::InteractionSummary, pb::MysteryShop)> {
    let mut v = Vec::new();
    let mut id = |field: &str, value: &str, required: bool| {
        let r = if required {
            required_id(field, value)
        } else {
            optional_id(field, value).map(|_| ())
        };
        if let Err(Error::InvalidArgument(mut list)) = r {
            v.append(&mut list);
        }
    };
    id("mystery_shop.agent_id", &m.agent_id, true);
    id("mystery_shop.team_id", &m.team_id, true);
    id("mystery_shop.queue_id", &m.queue_id, false);
    id("mystery_shop.interaction_id", &m.interaction_id, false);
    let channel = match common::Channel::try_from(m.channel) {
        Ok(common::Channel::Unspecified) | Err(_) => {
            v.push(earshot_kit::FieldViolation::new(
                "mystery_shop.channel",
                "is required (a known channel)",
            ));
            common::Channel::Unspecified
        }
        Ok(c) => c,
    };
    let start = match earshot_kit::time::required_millis(
        m.start_time.as_ref(),
        "mystery_shop.start_time",
    ) {
        Ok(ms) => {
            // A little clock skew between the caller and us is fine.
            if ms > now() + 5 * 60 * 1000 {
                v.push(earshot_kit::FieldViolation::new(
                    "mystery_shop.start_time",
                    "must not be in the future",
                ));
            }
            ms
        }
        Err(Error::InvalidArgument(mut list)) => {
            v.append(&mut list);
            0
        }
        Err(e) => return Err(e),
    };
    let handle = match &m.handle_duration {
        None => None,
        Some(d) => match convert::duration_in(d, "mystery_shop.handle_duration") {
            Ok(ms) => Some(ms),
            Err(Error::InvalidArgument(mut list)) => {
                v.append(&mut list);
                None
            }
            Err(e) => return Err(e),
        },
    };
    let details = m.details.clone().unwrap_or_default();
    text(
        &mut v,
        "mystery_shop.details.scenario",
        &details.scenario,
        false,
        2_000,
    );
    text(
        &mut v,
        "mystery_shop.details.shopper",
        &details.shopper,
        false,
        200,
    );
    check(v)?;
    Ok((
        pb::InteractionSummary {
            interaction_id: m.interaction_id.clone(),
            channel: channel as i32,
            direction: common::Direction::Unspecified as i32,
            agent_id: m.agent_id.clone(),
            team_id: m.team_id.clone(),
            queue_id: m.queue_id.clone(),
            start_time: Some(from_millis(start)),
            handle_duration: handle.map(convert::duration_out),
            language: String::new(),
        },
        details,
    ))
}
