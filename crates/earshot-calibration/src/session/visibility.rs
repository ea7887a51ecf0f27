//! Who may see and do what: the blindness rules as pure functions.
//!
//! The core rule: **until a session's responses are closed, nobody but the
//! author sees a response, its score, or any count per answer** — not the
//! session's manager, not an admin, not the internal service role. Before
//! close a manager sees only *progress* (how many responses each participant
//! has submitted), never content. After close, managers and participants see
//! everything (identities of other participants per the tenant's setting).
//! A session cancelled while still open never reveals its responses.
//!
//! The edge asks these functions and answers PERMISSION_DENIED (or NOT_FOUND
//! for a session the caller may not know about).

use super::{ParticipantId, State};

/// A role from the caller's token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Tenant administrator.
    Admin,
    /// Runs the quality programme; creates and closes sessions.
    QaManager,
    /// Scores interactions.
    Evaluator,
    /// Leads a team; may evaluate.
    Supervisor,
    /// A contact-center agent.
    Agent,
    /// A machine caller of the tenant (ACD, CRM).
    Integration,
    /// Earshot's own services (internal).
    Service,
}

/// The caller, as the kit's auth layer establishes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    /// The token subject (a user id; a participant's id is their subject).
    pub subject: String,
    /// The token's roles.
    pub roles: Vec<Role>,
}

impl Caller {
    /// Does the caller hold `role`?
    pub fn has(&self, role: Role) -> bool {
        self.roles.contains(&role)
    }

    /// admin or qa_manager: runs sessions for the tenant.
    pub fn is_manager(&self) -> bool {
        self.has(Role::Admin) || self.has(Role::QaManager)
    }

    /// Is the caller this participant?
    pub fn is(&self, participant: &ParticipantId) -> bool {
        self.subject == participant.as_str()
    }
}

/// What the rules need to know about a session.
#[derive(Debug, Clone, Copy)]
pub struct SessionView<'a> {
    /// Its state.
    pub state: State,
    /// True once it was closed to responses (a close time exists), even if
    /// cancelled afterwards.
    pub was_closed: bool,
    /// Its participants.
    pub participants: &'a [ParticipantId],
}

impl SessionView<'_> {
    /// Is the caller one of the participants?
    pub fn has_participant(&self, caller: &Caller) -> bool {
        self.participants.iter().any(|p| caller.is(p))
    }

    fn responses_revealed(&self) -> bool {
        self.was_closed || self.state.responses_closed()
    }
}

/// Why something is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Denial {
    /// The caller may not know the session exists (NOT_FOUND).
    Hidden,
    /// The caller's role or the blindness rule forbids it (PERMISSION_DENIED).
    Forbidden,
    /// Not in this state (FAILED_PRECONDITION), e.g. results before close.
    NotYet,
}

/// May the caller see the session at all (GetSession, ListSessions)?
pub fn can_see_session(caller: &Caller, s: &SessionView<'_>) -> Result<(), Denial> {
    if caller.is_manager() || caller.has(Role::Service) || s.has_participant(caller) {
        Ok(())
    } else {
        Err(Denial::Hidden)
    }
}

/// May the caller create, update, close, cancel sessions or record consensus?
pub fn can_manage_sessions(caller: &Caller) -> Result<(), Denial> {
    if caller.is_manager() {
        Ok(())
    } else {
        Err(Denial::Forbidden)
    }
}

/// May the caller read `author`'s response (its answers, score, comment)?
/// Before close only the author may, whoever else asks; a refusal does not
/// say whether the response exists.
pub fn can_read_response(
    caller: &Caller,
    s: &SessionView<'_>,
    author: &ParticipantId,
) -> Result<(), Denial> {
    can_see_session(caller, s)?;
    if caller.is(author) && s.participants.contains(author) {
        return Ok(());
    }
    if !s.responses_revealed() {
        return Err(Denial::Forbidden);
    }
    if caller.is_manager() || caller.has(Role::Service) || s.has_participant(caller) {
        Ok(())
    } else {
        Err(Denial::Forbidden)
    }
}

/// Whose responses a listing may include: every participant's after close,
/// only the caller's own before (for everyone, managers included).
pub fn listable_authors<'a>(caller: &Caller, s: &SessionView<'a>) -> Vec<&'a ParticipantId> {
    s.participants
        .iter()
        .filter(|p| can_read_response(caller, s, p).is_ok())
        .collect()
}

/// May the caller see `participant`'s submission progress (counts of
/// responses submitted, never their content)?
pub fn can_see_progress(caller: &Caller, s: &SessionView<'_>, participant: &ParticipantId) -> bool {
    can_see_session(caller, s).is_ok()
        && (caller.is(participant)
            || caller.is_manager()
            || caller.has(Role::Service)
            || s.responses_revealed())
}

/// May the caller read the session's results?
pub fn can_read_results(caller: &Caller, s: &SessionView<'_>) -> Result<(), Denial> {
    can_see_session(caller, s)?;
    if s.state.responses_closed() {
        Ok(())
    } else {
        Err(Denial::NotYet)
    }
}

/// Does the caller see `participant`'s identity in responses and results?
/// Managers, the service role and the participant themselves always do;
/// other participants when the tenant reveals identities.
pub fn shows_identity(
    caller: &Caller,
    participant: &ParticipantId,
    reveal_to_participants: bool,
) -> bool {
    caller.is_manager()
        || caller.has(Role::Service)
        || caller.is(participant)
        || reveal_to_participants
}

/// The stand-in shown for the participant at `index` (0-based, session order)
/// when their identity is hidden.
pub fn pseudonym(index: usize) -> String {
    format!("participant-{}", index + 1)
}

/// Why a submission is refused (the edge's status in brackets).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubmitDenial {
    /// The caller is not a participant (PERMISSION_DENIED).
    NotParticipant,
    /// The interaction is not in the session (NOT_FOUND).
    UnknownInteraction,
    /// The session does not accept responses (FAILED_PRECONDITION).
    NotOpen,
}

/// May the caller submit a response for an interaction of this session?
pub fn can_submit(
    caller: &Caller,
    s: &SessionView<'_>,
    interaction_in_session: bool,
) -> Result<(), SubmitDenial> {
    if !s.has_participant(caller) {
        return Err(SubmitDenial::NotParticipant);
    }
    if !interaction_in_session {
        return Err(SubmitDenial::UnknownInteraction);
    }
    if s.state != State::Open {
        return Err(SubmitDenial::NotOpen);
    }
    Ok(())
}

/// May the caller read `participant`'s trend across sessions?
pub fn can_read_trend(caller: &Caller, participant: &ParticipantId) -> Result<(), Denial> {
    let self_service =
        caller.is(participant) && (caller.has(Role::Evaluator) || caller.has(Role::Supervisor));
    if caller.is_manager() || caller.has(Role::Service) || self_service {
        Ok(())
    } else {
        Err(Denial::Forbidden)
    }
}

/// May the caller read the tenant's calibration settings?
pub fn can_read_settings(caller: &Caller) -> Result<(), Denial> {
    let ok = caller.is_manager()
        || caller.has(Role::Evaluator)
        || caller.has(Role::Supervisor)
        || caller.has(Role::Service);
    if ok { Ok(()) } else { Err(Denial::Forbidden) }
}

/// How much of the change feed a caller may read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedScope {
    /// Only the caller's own tenant.
    OwnTenant,
    /// Every tenant (the internal service role only).
    AllTenants,
}

/// May the caller follow the change feed, and how much of it?
pub fn feed_scope(caller: &Caller) -> Result<FeedScope, Denial> {
    if caller.has(Role::Service) {
        Ok(FeedScope::AllTenants)
    } else if caller.has(Role::Admin) {
        Ok(FeedScope::OwnTenant)
    } else {
        Err(Denial::Forbidden)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn caller(subject: &str, roles: &[Role]) -> Caller {
        Caller {
            subject: subject.into(),
            roles: roles.to_vec(),
        }
    }

    fn people() -> Vec<ParticipantId> {
        ["ann", "bob", "cy"]
            .iter()
            .map(|p| ParticipantId::parse(p).unwrap())
            .collect()
    }

    const ALL_ROLES: [Role; 7] = [
        Role::Admin,
        Role::QaManager,
        Role::Evaluator,
        Role::Supervisor,
        Role::Agent,
        Role::Integration,
        Role::Service,
    ];

    #[test]
    fn before_close_nobody_reads_anyone_elses_response() {
        let p = people();
        let s = SessionView {
            state: State::Open,
            was_closed: false,
            participants: &p,
        };
        for role in ALL_ROLES {
            for subject in ["ann", "bob", "mgr", "zed"] {
                let c = caller(subject, &[role]);
                for author in &p {
                    let allowed = can_read_response(&c, &s, author).is_ok();
                    assert_eq!(allowed, c.is(author), "{subject} {role:?} reading {author}");
                }
            }
        }
        let manager = caller("mgr", &[Role::QaManager, Role::Admin, Role::Service]);
        assert!(listable_authors(&manager, &s).is_empty());
        assert_eq!(
            listable_authors(&caller("bob", &[Role::Evaluator]), &s).len(),
            1
        );
        assert_eq!(can_read_results(&manager, &s), Err(Denial::NotYet));
        // Progress (counts of submissions, no content) is for the manager and the author.
        assert!(can_see_progress(&manager, &s, &p[0]));
        assert!(can_see_progress(
            &caller("ann", &[Role::Evaluator]),
            &s,
            &p[0]
        ));
        assert!(!can_see_progress(
            &caller("bob", &[Role::Evaluator]),
            &s,
            &p[0]
        ));
    }

    #[test]
    fn after_close_managers_and_participants_read_everything() {
        let p = people();
        for state in [State::AwaitingConsensus, State::Closed] {
            let s = SessionView {
                state,
                was_closed: true,
                participants: &p,
            };
            assert!(can_read_response(&caller("mgr", &[Role::QaManager]), &s, &p[1]).is_ok());
            assert!(can_read_response(&caller("ann", &[Role::Evaluator]), &s, &p[1]).is_ok());
            assert_eq!(
                can_read_response(&caller("zed", &[Role::Evaluator]), &s, &p[1]),
                Err(Denial::Hidden)
            );
            assert_eq!(
                can_read_response(&caller("zed", &[Role::Agent]), &s, &p[1]),
                Err(Denial::Hidden)
            );
            assert!(can_read_results(&caller("ann", &[Role::Evaluator]), &s).is_ok());
            assert_eq!(
                listable_authors(&caller("ann", &[Role::Evaluator]), &s).len(),
                3
            );
        }
    }

    #[test]
    fn cancelled_while_open_stays_blind() {
        let p = people();
        let s = SessionView {
            state: State::Cancelled,
            was_closed: false,
            participants: &p,
        };
        assert_eq!(
            can_read_response(&caller("mgr", &[Role::Admin]), &s, &p[0]),
            Err(Denial::Forbidden)
        );
        assert_eq!(
            can_read_results(&caller("mgr", &[Role::Admin]), &s),
            Err(Denial::NotYet)
        );
        let after = SessionView {
            state: State::Cancelled,
            was_closed: true,
            participants: &p,
        };
        assert!(can_read_response(&caller("mgr", &[Role::Admin]), &after, &p[0]).is_ok());
    }

    #[test]
    fn roles_for_management_trend_settings_and_feed() {
        assert!(can_manage_sessions(&caller("m", &[Role::QaManager])).is_ok());
        assert!(can_manage_sessions(&caller("e", &[Role::Evaluator])).is_err());
        let ann = ParticipantId::parse("ann").unwrap();
        assert!(can_read_trend(&caller("ann", &[Role::Evaluator]), &ann).is_ok());
        assert!(can_read_trend(&caller("bob", &[Role::Evaluator]), &ann).is_err());
        assert!(can_read_trend(&caller("ann", &[Role::Agent]), &ann).is_err());
        assert!(can_read_trend(&caller("m", &[Role::Admin]), &ann).is_ok());
        assert!(can_read_settings(&caller("a", &[Role::Agent])).is_err());
        assert!(can_read_settings(&caller("e", &[Role::Evaluator])).is_ok());
        assert_eq!(
            feed_scope(&caller("s", &[Role::Service])),
            Ok(FeedScope::AllTenants)
        );
        assert_eq!(
            feed_scope(&caller("a", &[Role::Admin])),
            Ok(FeedScope::OwnTenant)
        );
        assert!(feed_scope(&caller("q", &[Role::QaManager])).is_err());
        assert!(feed_scope(&caller("i", &[Role::Integration])).is_err());
    }

    #[test]
    fn submission_and_identity_rules() {
        let p = people();
        let open = SessionView {
            state: State::Open,
            was_closed: false,
            participants: &p,
        };
        let ann = caller("ann", &[Role::Evaluator]);
        assert_eq!(can_submit(&ann, &open, true), Ok(()));
        assert_eq!(
            can_submit(&ann, &open, false),
            Err(SubmitDenial::UnknownInteraction)
        );
        assert_eq!(
            can_submit(&caller("mgr", &[Role::Admin]), &open, true),
            Err(SubmitDenial::NotParticipant)
        );
        let closed = SessionView {
            state: State::Closed,
            was_closed: true,
            participants: &p,
        };
        assert_eq!(can_submit(&ann, &closed, true), Err(SubmitDenial::NotOpen));
        assert!(shows_identity(&ann, &p[0], false));
        assert!(!shows_identity(&ann, &p[1], false));
        assert!(shows_identity(&ann, &p[1], true));
        assert!(shows_identity(
            &caller("m", &[Role::QaManager]),
            &p[1],
            false
        ));
        assert_eq!(pseudonym(0), "participant-1");
    }

    proptest! {
        #[test]
        fn blindness_holds_for_any_caller(subject in "[a-z]{1,4}", roles in proptest::sample::subsequence(ALL_ROLES.to_vec(), 0..7), author in 0usize..3) {
            let p = people();
            let s = SessionView { state: State::Open, was_closed: false, participants: &p };
            let c = Caller { subject, roles };
            if can_read_response(&c, &s, &p[author]).is_ok() {
                prop_assert!(c.is(&p[author]));
            }
            prop_assert!(can_read_results(&c, &s).is_err());
        }
    }
}
