//! After submit: release to the agent, acknowledge, dispute, resolve
//! (uphold or re-score as a new revision), coaching comments.

use earshot_kit::{Error, Result, time::from_millis};
use earshot_proto::common::v1 as common;
use earshot_proto::scoring::v1 as pb;
use pb::event::Payload;
use tonic::Request;

use super::common::{
    MAX_ANSWERS, MAX_NOTE_CHARS, MAX_OVERALL_COMMENT_CHARS, actor, caller_of, check, core_caller,
    etag, fingerprint, refused, require, required_id, text,
};
use super::evaluations::{Loaded, Write, state_out};
use super::{Audit, ScoringApi, convert, events, now};
use crate::access::Role;
use crate::comments::CoachingComment;
use crate::disputes::{Dispute, DisputedQuestion};
use crate::lifecycle::evaluation::{
    EvaluationAction, EvaluationState, Resolution, roles_that_may, transition,
};
use crate::score::score_answers;
use crate::store::requests::{Operation, stored_fingerprint};

const MANAGERS: &[Role] = &[Role::QaManager, Role::Admin];

/// An audit entry of a state change.
fn change<'a>(
    action: pb::AuditAction,
    e: &'a Loaded,
    to: EvaluationState,
    revision: i32,
    details: Vec<(&'static str, String)>,
) -> Audit<'a> {
    Audit {
        action,
        resource_type: "evaluation",
        resource_id: &e.row.id,
        revision: i64::from(revision),
        from_state: e.state.as_str(),
        to_state: to.as_str(),
        details,
    }
}

impl ScoringApi {
    pub(crate) async fn release_evaluation_rpc(
        &self,
        req: Request<pb::ReleaseEvaluationRequest>,
    ) -> Result<pb::ReleaseEvaluationResponse> {
        let caller = caller_of(&req)?;
        let core = core_caller(&caller);
        require(
            core.has_any(roles_that_may(EvaluationAction::Release)),
            "release evaluations",
        )?;
        let req = req.into_inner();
        required_id("evaluation_id", &req.evaluation_id)?;
        let t = caller.tenant();
        let e = self.load_evaluation(t, &req.evaluation_id).await?;
        let settings = self.store.settings(t).await?;
        let at = now();
        let next = transition(
            &core,
            &e.facts(),
            &settings,
            EvaluationAction::Release,
            &req.etag,
            at,
        )
        .map_err(|err| refused(err, &e.what()))?;
        let who = actor(&core, &[Role::QaManager, Role::Admin, Role::Evaluator]);
        let mut body = e.body.clone();
        body.state = state_out(next) as i32;
        body.release_time = Some(from_millis(at));
        let event = events::new_event(
            Payload::EvaluationReleased(pb::EvaluationReleased {
                evaluation: Some(events::snapshot(&body)),
                actor: Some(who.clone()),
            }),
            at,
        );
        let audit = change(
            pb::AuditAction::EvaluationReleased,
            &e,
            next,
            body.revision,
            Vec::new(),
        );
        let written = self
            .write(
                t,
                Write {
                    before: &e,
                    body,
                    latest_revision_author: e.row.latest_revision_author.clone(),
                    revision: None,
                    audits: vec![(who, audit)],
                    events: vec![event],
                    at,
                },
            )
            .await?;
        Ok(pb::ReleaseEvaluationResponse {
            evaluation: Some(self.present(&core, written, &settings)),
        })
    }

    pub(crate) async fn acknowledge_evaluation_rpc(
        &self,
        req: Request<pb::AcknowledgeEvaluationRequest>,
    ) -> Result<pb::AcknowledgeEvaluationResponse> {
        let caller = caller_of(&req)?;
        let core = core_caller(&caller);
        require(
            core.has_any(roles_that_may(EvaluationAction::Acknowledge)),
            "acknowledge evaluations",
        )?;
        let req = req.into_inner();
        required_id("evaluation_id", &req.evaluation_id)?;
        let t = caller.tenant();
        let e = self.load_evaluation(t, &req.evaluation_id).await?;
        let settings = self.store.settings(t).await?;
        let at = now();
        let next = transition(
            &core,
            &e.facts(),
            &settings,
            EvaluationAction::Acknowledge,
            &req.etag,
            at,
        )
        .map_err(|err| refused(err, &e.what()))?;
        let mut v = Vec::new();
        text(&mut v, "comment", &req.comment, false, MAX_NOTE_CHARS);
        check(v)?;
        let who = actor(&core, &[Role::Agent]);
        let mut body = e.body.clone();
        body.state = state_out(next) as i32;
        body.acknowledgement_comment = req.comment;
        body.acknowledge_time = Some(from_millis(at));
        let event = events::new_event(
            Payload::EvaluationAcknowledged(pb::EvaluationAcknowledged {
                evaluation: Some(events::snapshot(&body)),
                actor: Some(who.clone()),
            }),
            at,
        );
        let audit = change(
            pb::AuditAction::EvaluationAcknowledged,
            &e,
            next,
            body.revision,
            Vec::new(),
        );
        let written = self
            .write(
                t,
                Write {
                    before: &e,
                    body,
                    latest_revision_author: e.row.latest_revision_author.clone(),
                    revision: None,
                    audits: vec![(who, audit)],
                    events: vec![event],
                    at,
                },
            )
            .await?;
        Ok(pb::AcknowledgeEvaluationResponse {
            evaluation: Some(self.present(&core, written, &settings)),
        })
    }

    pub(crate) async fn dispute_evaluation_rpc(
        &self,
        req: Request<pb::DisputeEvaluationRequest>,
    ) -> Result<pb::DisputeEvaluationResponse> {
        let caller = caller_of(&req)?;
        let core = core_caller(&caller);
        require(
            core.has_any(roles_that_may(EvaluationAction::Dispute)),
            "dispute evaluations",
        )?;
        let req = req.into_inner();
        required_id("evaluation_id", &req.evaluation_id)?;
        let t = caller.tenant();
        let e = self.load_evaluation(t, &req.evaluation_id).await?;
        let settings = self.store.settings(t).await?;
        let at = now();
        let next = transition(
            &core,
            &e.facts(),
            &settings,
            EvaluationAction::Dispute,
            &req.etag,
            at,
        )
        .map_err(|err| refused(err, &e.what()))?;
        if req.questions.len() > MAX_ANSWERS {
            return Err(Error::invalid(
                "questions",
                format!("at most {MAX_ANSWERS} questions"),
            ));
        }
        let version = self
            .load_version(t, &e.row.scorecard_id, e.row.scorecard_version)
            .await?;
        let dispute = Dispute::parse(
            req.reason,
            req.questions
                .into_iter()
                .map(|q| DisputedQuestion {
                    question_id: q.question_id,
                    reason: q.reason,
                })
                .collect(),
            &version.scorecard,
        )
        .map_err(|v| Error::InvalidArgument(convert::violations("", v.0)))?;
        let who = actor(&core, &[Role::Agent]);
        let mut body = e.body.clone();
        body.state = state_out(next) as i32;
        body.dispute = Some(pb::Dispute {
            reason: dispute.reason,
            questions: dispute
                .questions
                .iter()
                .map(|q| pb::DisputedQuestion {
                    question_id: q.question_id.clone(),
                    reason: q.reason.clone(),
                })
                .collect(),
            raised_by: Some(who.clone()),
            raise_time: Some(from_millis(at)),
            resolution: pb::DisputeResolution::Unspecified as i32,
            resolution_comment: String::new(),
            resolved_by: None,
            resolve_time: None,
            disputed_revision: body.revision,
        });
        let event = events::new_event(
            Payload::EvaluationDisputed(pb::EvaluationDisputed {
                evaluation: Some(events::snapshot(&body)),
                question_ids: dispute
                    .questions
                    .iter()
                    .map(|q| q.question_id.clone())
                    .collect(),
                actor: Some(who.clone()),
            }),
            at,
        );
        let audit = change(
            pb::AuditAction::EvaluationDisputed,
            &e,
            next,
            body.revision,
            vec![("questions", dispute.questions.len().to_string())],
        );
        let written = self
            .write(
                t,
                Write {
                    before: &e,
                    body,
                    latest_revision_author: e.row.latest_revision_author.clone(),
                    revision: None,
                    audits: vec![(who, audit)],
                    events: vec![event],
                    at,
                },
            )
            .await?;
        Ok(pb::DisputeEvaluationResponse {
            evaluation: Some(self.present(&core, written, &settings)),
        })
    }

    pub(crate) async fn resolve_dispute_rpc(
        &self,
        req: Request<pb::ResolveDisputeRequest>,
    ) -> Result<pb::ResolveDisputeResponse> {
        let caller = caller_of(&req)?;
        let core = core_caller(&caller);
        require(
            core.has_any(roles_that_may(EvaluationAction::Resolve(
                Resolution::Upheld,
            ))),
            "resolve disputes",
        )?;
        let req = req.into_inner();
        required_id("evaluation_id", &req.evaluation_id)?;
        use pb::resolve_dispute_request::Outcome;
        let outcome = req
            .outcome
            .ok_or_else(|| Error::invalid("outcome", "set either uphold or rescore"))?;
        let resolution = match outcome {
            Outcome::Uphold(_) => Resolution::Upheld,
            Outcome::Rescore(_) => Resolution::Rescored,
        };
        let t = caller.tenant();
        let e = self.load_evaluation(t, &req.evaluation_id).await?;
        let settings = self.store.settings(t).await?;
        let at = now();
        let next = transition(
            &core,
            &e.facts(),
            &settings,
            EvaluationAction::Resolve(resolution),
            &req.etag,
            at,
        )
        .map_err(|err| refused(err, &e.what()))?;
        let who = actor(&core, MANAGERS);
        let mut body = e.body.clone();
        let mut latest_author = e.row.latest_revision_author.clone();
        let mut revision = None;
        // (previous revision, its total) when re-scored.
        let mut revised = None;
        let (comment, resolution_pb) = match outcome {
            Outcome::Uphold(u) => {
                let mut v = Vec::new();
                text(&mut v, "uphold.comment", &u.comment, true, MAX_NOTE_CHARS);
                check(v)?;
                (u.comment, pb::DisputeResolution::Upheld)
            }
            Outcome::Rescore(r) => {
                let mut v = Vec::new();
                if r.answers.len() > MAX_ANSWERS {
                    v.push(earshot_kit::FieldViolation::new(
                        "rescore.answers",
                        format!("at most {MAX_ANSWERS} answers"),
                    ));
                }
                text(
                    &mut v,
                    "rescore.overall_comment",
                    &r.overall_comment,
                    false,
                    MAX_OVERALL_COMMENT_CHARS,
                );
                text(&mut v, "rescore.comment", &r.comment, true, MAX_NOTE_CHARS);
                check(v)?;
                let version = self
                    .load_version(t, &e.row.scorecard_id, e.row.scorecard_version)
                    .await?;
                let scored = score_answers(&version.scorecard, &convert::answers_in(&r.answers));
                if !scored.problems.is_empty() {
                    return Err(Error::InvalidArgument(convert::answer_violations(
                        "rescore",
                        &scored.problems,
                    )));
                }
                let result = convert::result_out(&scored.result);
                let previous_total = body.result.as_ref().map_or(0.0, |r| r.total_score);
                let previous = body.revision;
                let number = previous.saturating_add(1);
                body.revision = number;
                body.answers = r.answers.clone();
                body.overall_comment = r.overall_comment.clone();
                body.result = Some(result.clone());
                latest_author = who.subject.clone();
                revision = Some(pb::EvaluationRevision {
                    evaluation_id: e.row.id.clone(),
                    revision: number,
                    answers: r.answers,
                    overall_comment: r.overall_comment,
                    result: Some(result),
                    author: Some(who.clone()),
                    create_time: Some(from_millis(at)),
                    reason: r.comment.clone(),
                });
                revised = Some((previous, previous_total));
                (r.comment, pb::DisputeResolution::Rescored)
            }
        };
        body.state = state_out(next) as i32;
        if let Some(d) = &mut body.dispute {
            d.resolution = resolution_pb as i32;
            d.resolution_comment = comment;
            d.resolved_by = Some(who.clone());
            d.resolve_time = Some(from_millis(at));
        }
        let snapshot = events::snapshot(&body);
        let mut out = Vec::new();
        // A re-score emits EvaluationRevised first, with the same snapshot
        // (new revision, new score, resolved state), then EvaluationResolved.
        if let Some((previous, previous_total)) = revised {
            out.push(events::new_event(
                Payload::EvaluationRevised(pb::EvaluationRevised {
                    evaluation: Some(snapshot.clone()),
                    previous_revision: previous,
                    previous_total_score: previous_total,
                    actor: Some(who.clone()),
                }),
                at,
            ));
        }
        out.push(events::new_event(
            Payload::EvaluationResolved(pb::EvaluationResolved {
                evaluation: Some(snapshot),
                resolution: resolution_pb as i32,
                actor: Some(who.clone()),
            }),
            at,
        ));
        let resolution_name = match resolution {
            Resolution::Upheld => "upheld",
            Resolution::Rescored => "rescored",
        };
        let mut details = vec![("resolution", resolution_name.to_owned())];
        if let Some(r) = &body.result {
            details.push(("total_score", r.total_score.to_string()));
        }
        let audit = change(
            pb::AuditAction::EvaluationResolved,
            &e,
            next,
            body.revision,
            details,
        );
        let written = self
            .write(
                t,
                Write {
                    before: &e,
                    body,
                    latest_revision_author: latest_author,
                    revision,
                    audits: vec![(who, audit)],
                    events: out,
                    at,
                },
            )
            .await?;
        Ok(pb::ResolveDisputeResponse {
            evaluation: Some(self.present(&core, written, &settings)),
        })
    }

    pub(crate) async fn add_coaching_comment_rpc(
        &self,
        req: Request<pb::AddCoachingCommentRequest>,
    ) -> Result<pb::AddCoachingCommentResponse> {
        let caller = caller_of(&req)?;
        let core = core_caller(&caller);
        require(
            core.has_any(roles_that_may(EvaluationAction::AddCoachingComment)),
            "add coaching comments",
        )?;
        let req = req.into_inner();
        required_id("request_id", &req.request_id)?;
        required_id("evaluation_id", &req.evaluation_id)?;
        let t = caller.tenant();
        let fp = fingerprint(&[
            b"coaching",
            req.evaluation_id.as_bytes(),
            req.question_id.as_bytes(),
            req.text.as_bytes(),
        ]);
        // A comment takes no etag, so a write that loses a race to another
        // change of the same evaluation tries again on the new state.
        for _ in 0..5 {
            let e = self.load_evaluation(t, &req.evaluation_id).await?;
            // Authorize before replaying: a request id does not stand in
            // for the right to comment.
            let settings = self.store.settings(t).await?;
            let at = now();
            transition(
                &core,
                &e.facts(),
                &settings,
                EvaluationAction::AddCoachingComment,
                "",
                at,
            )
            .map_err(|err| refused(err, &e.what()))?;
            if let Some(done) = self
                .store
                .request(t, Operation::AddCoachingComment, &req.request_id)
                .await?
            {
                if done.fingerprint != stored_fingerprint(fp) {
                    return Err(Error::invalid(
                        "request_id",
                        "was already used for a different request; use a new request_id",
                    ));
                }
                let v = self.view_of(&core, &e, &settings)?;
                let shown = super::view::evaluation(e.body, e.row.version, v);
                let comment = shown
                    .coaching_comments
                    .into_iter()
                    .find(|c| c.id == done.detail)
                    .ok_or_else(|| Error::internal("a recorded coaching comment is missing"))?;
                return Ok(pb::AddCoachingCommentResponse {
                    comment: Some(comment),
                    etag: shown.etag,
                });
            }
            let version = self
                .load_version(t, &e.row.scorecard_id, e.row.scorecard_version)
                .await?;
            let parsed = CoachingComment::parse(
                req.question_id.clone(),
                req.text.clone(),
                &version.scorecard,
            )
            .map_err(|v| Error::InvalidArgument(convert::violations("", v.0)))?;
            let who = actor(
                &core,
                &[
                    Role::Evaluator,
                    Role::Supervisor,
                    Role::QaManager,
                    Role::Admin,
                ],
            );
            let comment = pb::CoachingComment {
                id: super::common::new_id(),
                question_id: parsed.question_id.unwrap_or_default(),
                text: parsed.text,
                author: Some(who.clone()),
                create_time: Some(from_millis(at)),
            };
            let mut body = e.body.clone();
            body.coaching_comments.push(comment.clone());
            match self
                .comment_write(t, &e, body, &who, &req.request_id, fp, &comment, at)
                .await
            {
                Ok(new_version) => {
                    return Ok(pb::AddCoachingCommentResponse {
                        comment: Some(comment),
                        etag: etag(new_version),
                    });
                }
                Err(Error::Aborted(_)) => continue,
                Err(other) => return Err(other),
            }
        }
        Err(Error::Aborted(
            "the evaluation kept changing; retry the comment".into(),
        ))
    }

    #[allow(clippy::too_many_arguments)]
    async fn comment_write(
        &self,
        t: &earshot_kit::auth::Tenant,
        e: &Loaded,
        mut body: pb::Evaluation,
        who: &common::Actor,
        request_id: &str,
        fp: u64,
        comment: &pb::CoachingComment,
        at: i64,
    ) -> Result<i64> {
        use crate::store::Store;
        let version = e.row.version + 1;
        body.update_time = Some(from_millis(at));
        let row = super::evaluations::row_of(&body, version, &e.row.latest_revision_author)?;
        let mut tx = self.store.db().begin().await?;
        if !Store::claim_request(
            &mut tx,
            t,
            Operation::AddCoachingComment,
            request_id,
            fp,
            &e.row.id,
            &comment.id,
            at,
        )
        .await?
        {
            // A twin call won; the loop replays its result.
            return Err(Error::Aborted("replay".into()));
        }
        if !Store::update_evaluation(&mut tx, t, &row, e.row.version).await? {
            return Err(Error::Aborted("lost a race".into()));
        }
        super::audit(
            &mut tx,
            t,
            who,
            at,
            Audit {
                action: pb::AuditAction::CoachingCommentAdded,
                resource_type: "evaluation",
                resource_id: &e.row.id,
                revision: i64::from(body.revision),
                from_state: "",
                to_state: "",
                details: vec![
                    ("comment_id", comment.id.clone()),
                    ("question_id", comment.question_id.clone()),
                    ("request_id", request_id.to_owned()),
                ],
            },
        )
        .await?;
        tx.commit().await?;
        Ok(version)
    }
}
