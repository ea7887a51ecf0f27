//! Evaluation lifecycle:
//! DRAFT → SUBMITTED → RELEASED → ACKNOWLEDGED | DISPUTED → RESOLVED.
//!
//! | action          | from               | to                          | who                                                   |
//! |-----------------|--------------------|-----------------------------|-------------------------------------------------------|
//! | save draft      | DRAFT              | DRAFT                       | its evaluator; admin, qa_manager                      |
//! | submit          | DRAFT              | SUBMITTED (RELEASED if auto)| its evaluator; admin, qa_manager                      |
//! | delete          | DRAFT              | (gone)                      | its evaluator; admin, qa_manager                      |
//! | release         | SUBMITTED          | RELEASED                    | admin, qa_manager; its evaluator if settings allow    |
//! | acknowledge     | RELEASED           | ACKNOWLEDGED                | its agent                                             |
//! | dispute         | RELEASED           | DISPUTED                    | its agent, within the dispute window                  |
//! | resolve         | DISPUTED           | RESOLVED (upheld/re-scored) | admin, qa_manager; never the disputed revision's author |
//! | coaching comment| any but DRAFT      | unchanged                   | its evaluator, its team's supervisors, admin, qa_manager |
//!
//! Self-evaluations stop at SUBMITTED: release, acknowledge and dispute are
//! refused for them. Checks run in the order: visibility (`NOT_FOUND` for a
//! caller who may not see the evaluation, except the evaluated agent acting
//! on their own evaluation before release, who gets the state error),
//! permission, etag, state, then kind and window.

use crate::access::{self, Caller, Role};
use crate::error::{ScoringError, check_etag};
use crate::settings::Settings;

/// Why an evaluation exists.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EvaluationKind {
    /// From a sampling assignment.
    Assigned,
    /// Chosen by the evaluator.
    AdHoc,
    /// A mystery-shop contact.
    MysteryShop,
    /// An agent's self-evaluation.
    SelfEvaluation,
}

impl EvaluationKind {
    /// The kind's name, in lower case (also the stored form).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Assigned => "assigned",
            Self::AdHoc => "ad_hoc",
            Self::MysteryShop => "mystery_shop",
            Self::SelfEvaluation => "self",
        }
    }

    /// Parses the stored form.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "assigned" => Self::Assigned,
            "ad_hoc" => Self::AdHoc,
            "mystery_shop" => Self::MysteryShop,
            "self" => Self::SelfEvaluation,
            _ => return None,
        })
    }
}

/// Where an evaluation is in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EvaluationState {
    /// Being scored.
    Draft,
    /// Scored (revision 1), not yet visible to the agent.
    Submitted,
    /// Visible to the agent.
    Released,
    /// Accepted by the agent. Final.
    Acknowledged,
    /// Disputed by the agent.
    Disputed,
    /// Dispute resolved. Final.
    Resolved,
}

impl EvaluationState {
    /// The state's name, in lower case (also the stored form).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Submitted => "submitted",
            Self::Released => "released",
            Self::Acknowledged => "acknowledged",
            Self::Disputed => "disputed",
            Self::Resolved => "resolved",
        }
    }

    /// Parses the stored form.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "draft" => Self::Draft,
            "submitted" => Self::Submitted,
            "released" => Self::Released,
            "acknowledged" => Self::Acknowledged,
            "disputed" => Self::Disputed,
            "resolved" => Self::Resolved,
            _ => return None,
        })
    }
}

/// How a dispute ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Resolution {
    /// The score stands.
    Upheld,
    /// A new revision replaces the score.
    Rescored,
}

/// A state change asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EvaluationAction {
    /// Save a draft's answers.
    SaveDraft,
    /// Submit a draft.
    Submit,
    /// Delete a draft.
    Delete,
    /// Release to the agent.
    Release,
    /// The agent accepts.
    Acknowledge,
    /// The agent disputes.
    Dispute,
    /// Resolve a dispute.
    Resolve(Resolution),
    /// Add a coaching comment.
    AddCoachingComment,
}

impl EvaluationAction {
    fn verb(self) -> &'static str {
        match self {
            Self::SaveDraft => "save",
            Self::Submit => "submit",
            Self::Delete => "delete",
            Self::Release => "release",
            Self::Acknowledge => "acknowledge",
            Self::Dispute => "dispute",
            Self::Resolve(_) => "resolve",
            Self::AddCoachingComment => "comment on",
        }
    }
}

/// What the lifecycle and access rules need to know about a stored
/// evaluation.
#[derive(Debug, Clone, Copy)]
pub struct EvaluationFacts<'a> {
    /// Why it exists.
    pub kind: EvaluationKind,
    /// Its state.
    pub state: EvaluationState,
    /// Who wrote it (revision 1's author).
    pub evaluator_id: &'a str,
    /// The agent evaluated.
    pub agent_id: &'a str,
    /// The agent's team as of the interaction.
    pub team_id: &'a str,
    /// Its current etag.
    pub etag: &'a str,
    /// When it was released (epoch ms, UTC).
    pub released_ms: Option<i64>,
    /// The author of the latest revision (the one a dispute is about).
    pub latest_revision_author: &'a str,
}

/// The roles that can ever take `action`, whatever the evaluation: a
/// caller holding none of them is refused before the request is read (the
/// service checks this first, so a role that may never act learns nothing
/// from validation or from whether the evaluation exists). [`transition`]
/// then decides for the one evaluation.
pub fn roles_that_may(action: EvaluationAction) -> &'static [Role] {
    use EvaluationAction as A;
    match action {
        // The author (an evaluator, or the agent of a self-evaluation) or a
        // manager.
        A::SaveDraft | A::Submit | A::Delete => {
            &[Role::Admin, Role::QaManager, Role::Evaluator, Role::Agent]
        }
        // Evaluators only when the tenant lets them.
        A::Release => &[Role::Admin, Role::QaManager, Role::Evaluator],
        A::Acknowledge | A::Dispute => &[Role::Agent],
        A::Resolve(_) => &[Role::Admin, Role::QaManager],
        A::AddCoachingComment => &[
            Role::Admin,
            Role::QaManager,
            Role::Evaluator,
            Role::Supervisor,
            Role::Agent,
        ],
    }
}

/// The roles that can ever create an evaluation (see [`authorize_create`]):
/// managers and evaluators, and agents for self-evaluations.
pub const CREATORS: &[Role] = &[Role::Admin, Role::QaManager, Role::Evaluator, Role::Agent];

/// Decides a state change: the new state, or why not. `delete` returns the
/// (unchanged) DRAFT state when allowed.
pub fn transition(
    caller: &Caller,
    facts: &EvaluationFacts<'_>,
    settings: &Settings,
    action: EvaluationAction,
    etag: &str,
    now_ms: i64,
) -> Result<EvaluationState, ScoringError> {
    use EvaluationAction as A;
    use EvaluationState as S;

    let is_agent_owner = caller.has(Role::Agent) && facts.agent_id == caller.subject;
    let visible = access::view_evaluation(caller, facts, settings).is_some();
    let own_agent_action = is_agent_owner && matches!(action, A::Acknowledge | A::Dispute);
    if !visible && !own_agent_action {
        return Err(ScoringError::NotFound);
    }

    let is_author = facts.evaluator_id == caller.subject
        && (caller.has(Role::Evaluator)
            || (facts.kind == EvaluationKind::SelfEvaluation && caller.has(Role::Agent)));
    let manager = caller.is_manager();
    let allowed = match action {
        A::SaveDraft | A::Submit | A::Delete => is_author || manager,
        A::Release => manager || (is_author && settings.evaluators_may_release),
        A::Acknowledge | A::Dispute => is_agent_owner,
        A::Resolve(_) => manager,
        A::AddCoachingComment => {
            is_author
                || manager
                || (caller.has(Role::Supervisor) && caller.teams.contains(facts.team_id))
        }
    };
    if !allowed {
        return Err(ScoringError::forbidden(format!(
            "your roles do not allow you to {} this evaluation",
            action.verb()
        )));
    }
    if let A::Resolve(_) = action
        && facts.latest_revision_author == caller.subject
    {
        return Err(ScoringError::forbidden(
            "the author of the disputed revision cannot resolve the dispute",
        ));
    }

    if action != A::AddCoachingComment {
        check_etag(facts.etag, etag)?;
    }

    let wrong_state = || ScoringError::WrongState {
        resource: "evaluation",
        state: facts.state.as_str(),
        action: action.verb(),
    };
    let next = match (action, facts.state) {
        (A::SaveDraft | A::Delete, S::Draft) => S::Draft,
        (A::Submit, S::Draft) => {
            if settings.auto_release_on_submit && facts.kind != EvaluationKind::SelfEvaluation {
                S::Released
            } else {
                S::Submitted
            }
        }
        (A::Release, S::Submitted) => S::Released,
        (A::Acknowledge, S::Released) => S::Acknowledged,
        (A::Dispute, S::Released) => S::Disputed,
        (A::Resolve(_), S::Disputed) => S::Resolved,
        (A::AddCoachingComment, s) if s != S::Draft => s,
        _ => return Err(wrong_state()),
    };

    if facts.kind == EvaluationKind::SelfEvaluation
        && matches!(
            action,
            A::Release | A::Acknowledge | A::Dispute | A::Resolve(_)
        )
    {
        return Err(ScoringError::WrongKind {
            kind: "self",
            action: action.verb(),
        });
    }
    if action == A::Dispute
        && let Some(released) = facts.released_ms
        && !settings.dispute_open(released, now_ms)
    {
        return Err(ScoringError::DisputeWindowClosed);
    }
    Ok(next)
}

/// Facts about the origin of a new evaluation, read from sampling (or given,
/// for a mystery shop).
#[derive(Debug, Clone, Copy)]
pub struct CreationFacts<'a> {
    /// The kind asked for.
    pub kind: EvaluationKind,
    /// For an assignment: the evaluator it is assigned to.
    pub assigned_evaluator: Option<&'a str>,
    /// For an assignment: whether sampling already completed it.
    pub assignment_completed: bool,
    /// The agent who handled the interaction.
    pub agent_id: &'a str,
}

/// Whether `caller` may create this evaluation. The new evaluation's
/// evaluator is always the caller.
pub fn authorize_create(
    caller: &Caller,
    facts: &CreationFacts<'_>,
    settings: &Settings,
) -> Result<(), ScoringError> {
    let manager = caller.is_manager();
    let evaluator = caller.has(Role::Evaluator);
    match facts.kind {
        EvaluationKind::Assigned => {
            let mine = facts.assigned_evaluator == Some(caller.subject.as_str());
            if !(manager || (evaluator && mine)) {
                return Err(ScoringError::forbidden(
                    "the assignment belongs to another evaluator",
                ));
            }
            if facts.assignment_completed {
                return Err(ScoringError::WrongState {
                    resource: "assignment",
                    state: "completed",
                    action: "evaluate",
                });
            }
        }
        EvaluationKind::AdHoc | EvaluationKind::MysteryShop => {
            if !(manager || evaluator) {
                return Err(ScoringError::forbidden(
                    "only evaluators, QA managers and admins evaluate interactions",
                ));
            }
        }
        EvaluationKind::SelfEvaluation => {
            if !(caller.has(Role::Agent) && facts.agent_id == caller.subject) {
                return Err(ScoringError::forbidden(
                    "a self-evaluation is of the caller's own interaction, by an agent",
                ));
            }
            if !settings.self_evaluation_enabled {
                return Err(ScoringError::DisabledBySettings("self_evaluation_enabled"));
            }
        }
    }
    if facts.kind != EvaluationKind::SelfEvaluation && facts.agent_id == caller.subject {
        return Err(ScoringError::forbidden(
            "an evaluator cannot evaluate their own interaction (use a self-evaluation)",
        ));
    }
    Ok(())
}
