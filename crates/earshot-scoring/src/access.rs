//! Who may see and do what (DESIGN.md "Roles"), as pure functions of the
//! caller and the facts of a resource.
//!
//! - admins and QA managers see every evaluation; only admins read the audit
//!   log and change settings;
//! - evaluators see the evaluations they wrote;
//! - supervisors see submitted (not draft) evaluations of agents in the
//!   teams their token names (the agent's team as of the interaction);
//! - agents see only their own evaluations, and only once released; when the
//!   tenant runs anonymous evaluation they never see the evaluator's identity;
//! - the internal `service` role (other Earshot services) reads scorecards,
//!   scores answers and reads the change feed;
//! - `integration` callers (ACD/CRM machines) have no business here.
//!
//! A caller holding several roles gets the widest view any of them gives.
//! Denials of *reading* an evaluation surface as `NOT_FOUND`, so an agent
//! cannot probe for other agents' evaluation ids.

use std::collections::BTreeSet;

use crate::lifecycle::evaluation::{EvaluationFacts, EvaluationState};
use crate::settings::Settings;

/// A role from the caller's token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Role {
    /// Tenant administrator.
    Admin,
    /// Runs the quality programme: scorecards, releases, disputes.
    QaManager,
    /// Scores interactions.
    Evaluator,
    /// Leads teams of agents.
    Supervisor,
    /// Handles interactions; is evaluated.
    Agent,
    /// A machine caller such as an ACD or CRM.
    Integration,
    /// Another Earshot service.
    Service,
}

impl Role {
    /// Parses a role name as tokens carry it (`qa_manager` ...).
    pub fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "admin" => Self::Admin,
            "qa_manager" => Self::QaManager,
            "evaluator" => Self::Evaluator,
            "supervisor" => Self::Supervisor,
            "agent" => Self::Agent,
            "integration" => Self::Integration,
            "service" => Self::Service,
            _ => return None,
        })
    }

    /// The role's name as tokens carry it.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::QaManager => "qa_manager",
            Self::Evaluator => "evaluator",
            Self::Supervisor => "supervisor",
            Self::Agent => "agent",
            Self::Integration => "integration",
            Self::Service => "service",
        }
    }
}

/// The caller, as the core needs to know it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Caller {
    /// The token subject: a user id (an agent's or evaluator's id) or a
    /// machine id.
    pub subject: String,
    /// The roles the token grants.
    pub roles: BTreeSet<Role>,
    /// For supervisors, the teams they may see.
    pub teams: BTreeSet<String>,
}

impl Caller {
    /// A caller with these roles and no teams.
    pub fn new(subject: impl Into<String>, roles: impl IntoIterator<Item = Role>) -> Self {
        Self {
            subject: subject.into(),
            roles: roles.into_iter().collect(),
            teams: BTreeSet::new(),
        }
    }

    /// The same caller with supervisor teams.
    #[must_use]
    pub fn with_teams(mut self, teams: impl IntoIterator<Item = impl Into<String>>) -> Self {
        self.teams = teams.into_iter().map(Into::into).collect();
        self
    }

    /// Whether the caller holds `role`.
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// Whether the caller holds any of `roles`.
    pub fn has_any(&self, roles: &[Role]) -> bool {
        roles.iter().any(|r| self.has(*r))
    }

    /// Admin or QA manager: the programme owners.
    pub fn is_manager(&self) -> bool {
        self.has_any(&[Role::Admin, Role::QaManager])
    }

    /// The role to record in audit entries: the most privileged one held.
    pub fn acting_role(&self) -> Option<Role> {
        self.roles.iter().next().copied()
    }
}

/// Create, update, publish, archive and import scorecards.
pub fn may_manage_scorecards(c: &Caller) -> bool {
    c.is_manager()
}

/// Read scorecards and their drafts, list versions, validate, export.
pub fn may_read_scorecards(c: &Caller) -> bool {
    c.has_any(&[
        Role::Admin,
        Role::QaManager,
        Role::Evaluator,
        Role::Supervisor,
        Role::Service,
    ])
}

/// Read one published version (agents too, to display their evaluations).
pub fn may_read_scorecard_versions(c: &Caller) -> bool {
    may_read_scorecards(c) || c.has(Role::Agent)
}

/// Call `ScoreAnswers`.
pub fn may_score_answers(c: &Caller) -> bool {
    may_read_scorecards(c)
}

/// Read the audit log.
pub fn may_read_audit(c: &Caller) -> bool {
    c.has(Role::Admin)
}

/// Change the tenant's settings.
pub fn may_update_settings(c: &Caller) -> bool {
    c.has(Role::Admin)
}

/// Read the tenant's settings.
pub fn may_read_settings(c: &Caller) -> bool {
    c.roles.iter().any(|r| *r != Role::Integration)
}

/// Read the change feed (tenant-wide; cross-tenant reading is decided by the
/// kit for system callers).
pub fn may_read_feed(c: &Caller) -> bool {
    c.has_any(&[Role::Service, Role::Admin])
}

/// How a caller sees an evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EvaluationView {
    /// Everything, evaluator included.
    Full,
    /// As the evaluated agent: the evaluator's identity is withheld when
    /// `evaluator_hidden`.
    AsAgent {
        /// Withhold the evaluator's identity.
        evaluator_hidden: bool,
    },
}

impl EvaluationView {
    /// Whether the evaluator's identity must be withheld.
    pub fn hides_evaluator(self) -> bool {
        matches!(
            self,
            Self::AsAgent {
                evaluator_hidden: true
            }
        )
    }
}

/// Whether an evaluation in this state has been released to its agent.
pub fn is_released(state: EvaluationState) -> bool {
    matches!(
        state,
        EvaluationState::Released
            | EvaluationState::Acknowledged
            | EvaluationState::Disputed
            | EvaluationState::Resolved
    )
}

/// How `c` may see the evaluation, or `None` (answer `NOT_FOUND`).
pub fn view_evaluation(
    c: &Caller,
    e: &EvaluationFacts<'_>,
    settings: &Settings,
) -> Option<EvaluationView> {
    if c.is_manager()
        || (c.has(Role::Evaluator) && e.evaluator_id == c.subject)
        || (c.has(Role::Supervisor)
            && c.teams.contains(e.team_id)
            && e.state != EvaluationState::Draft)
    {
        return Some(EvaluationView::Full);
    }
    if c.has(Role::Agent) && e.agent_id == c.subject {
        // A self-evaluation is the agent's own work: always visible to them.
        if e.evaluator_id == c.subject {
            return Some(EvaluationView::Full);
        }
        if is_released(e.state) {
            return Some(EvaluationView::AsAgent {
                evaluator_hidden: settings.anonymous_evaluation,
            });
        }
    }
    None
}

/// The evaluations a caller may list: the union of the parts set. The store
/// turns it into a WHERE clause; request filters can only narrow it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ListScope {
    /// Every evaluation of the tenant.
    pub all: bool,
    /// Evaluations written by this evaluator.
    pub evaluator_id: Option<String>,
    /// Evaluations past DRAFT of agents in these teams.
    pub teams: BTreeSet<String>,
    /// Released evaluations (and self-evaluations) of this agent.
    pub agent_id: Option<String>,
    /// With `agent_id` and anonymous evaluation: withhold evaluator ids on
    /// rows seen only through the agent part.
    pub hide_evaluator_from_agent: bool,
}

impl ListScope {
    /// Whether the scope admits nothing at all.
    pub fn is_empty(&self) -> bool {
        !self.all && self.evaluator_id.is_none() && self.teams.is_empty() && self.agent_id.is_none()
    }
}

/// The listing scope of a caller.
pub fn list_scope(c: &Caller, settings: &Settings) -> ListScope {
    if c.is_manager() {
        return ListScope {
            all: true,
            ..ListScope::default()
        };
    }
    ListScope {
        all: false,
        evaluator_id: c.has(Role::Evaluator).then(|| c.subject.clone()),
        teams: if c.has(Role::Supervisor) {
            c.teams.clone()
        } else {
            BTreeSet::new()
        },
        agent_id: c.has(Role::Agent).then(|| c.subject.clone()),
        hide_evaluator_from_agent: c.has(Role::Agent) && settings.anonymous_evaluation,
    }
}
