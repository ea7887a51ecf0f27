//! The assignment lifecycle: queued → routed → claimed → completed, with
//! release, reassignment, cancellation and the overdue mark.
//!
//! Transitions are pure functions from one state to the next; the store
//! applies them under optimistic concurrency (etag) or a conditional update,
//! which is what keeps `ClaimNextAssignment` from handing one assignment to
//! two evaluators. Every transition that changes nothing says so
//! ([`Change::Unchanged`]), so retries are idempotent and emit no event.

use crate::ids::{EvaluationId, EvaluatorId};

/// Where an assignment is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    /// Waiting for an eligible evaluator.
    Queued,
    /// Routed to an evaluator who has not started.
    Routed(EvaluatorId),
    /// Claimed by an evaluator.
    Claimed(EvaluatorId),
    /// Completed by an evaluation.
    Completed {
        /// Who completed it, when known.
        evaluator: Option<EvaluatorId>,
        /// The evaluation in scoring.
        evaluation: EvaluationId,
    },
    /// Withdrawn.
    Cancelled,
}

impl State {
    /// The `AssignmentState` code.
    pub fn code(&self) -> i32 {
        match self {
            State::Queued => 1,
            State::Routed(_) => 2,
            State::Claimed(_) => 3,
            State::Completed { .. } => 4,
            State::Cancelled => 5,
        }
    }

    fn name(&self) -> &'static str {
        match self {
            State::Queued => "queued",
            State::Routed(_) => "routed",
            State::Claimed(_) => "claimed",
            State::Completed { .. } => "completed",
            State::Cancelled => "cancelled",
        }
    }
}

/// An assignment's lifecycle facts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    /// The state.
    pub state: State,
    /// When the evaluation is due.
    pub due_ms: i64,
    /// Passed its due time before completion.
    pub overdue: bool,
    /// Times it moved to another evaluator or back to the queue.
    pub reroute_count: u32,
    /// When it was last routed.
    pub route_ms: Option<i64>,
    /// When the current evaluator claimed it.
    pub claim_ms: Option<i64>,
    /// When it was completed.
    pub complete_ms: Option<i64>,
    /// Why it was cancelled.
    pub cancel_reason: String,
}

/// The result of a transition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change<T> {
    /// The assignment changed (write it, emit an event).
    Changed(T),
    /// Nothing to do: a retry or a no-op.
    Unchanged(T),
}

impl<T> Change<T> {
    /// The resulting value.
    pub fn into_inner(self) -> T {
        match self {
            Change::Changed(t) | Change::Unchanged(t) => t,
        }
    }

    /// True when something changed.
    pub fn changed(&self) -> bool {
        matches!(self, Change::Changed(_))
    }
}

/// Why a transition is refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AssignmentError {
    /// Not possible in the current state (FAILED_PRECONDITION).
    #[error("cannot {action} an assignment that is {state}")]
    WrongState {
        /// What was attempted.
        action: &'static str,
        /// The current state.
        state: &'static str,
    },
    /// Another evaluator holds it (PERMISSION_DENIED, or NOT_FOUND to hide it).
    #[error("the assignment is held by another evaluator")]
    NotYours,
    /// Already completed by another evaluation (FAILED_PRECONDITION).
    #[error("the assignment was completed by another evaluation")]
    CompletedByAnother,
    /// Moving it to the evaluator who holds it or gives it back.
    #[error("the assignment cannot go back to the same evaluator")]
    SameEvaluator,
}

impl Assignment {
    /// A new assignment, routed to `evaluator` or queued.
    pub fn new(due_ms: i64, evaluator: Option<EvaluatorId>, now_ms: i64) -> Self {
        let routed = evaluator.is_some();
        Assignment {
            state: evaluator.map_or(State::Queued, State::Routed),
            due_ms,
            overdue: false,
            reroute_count: 0,
            route_ms: routed.then_some(now_ms),
            claim_ms: None,
            complete_ms: None,
            cancel_reason: String::new(),
        }
    }

    /// The evaluator it is routed to or claimed by.
    pub fn evaluator(&self) -> Option<&EvaluatorId> {
        match &self.state {
            State::Routed(e) | State::Claimed(e) => Some(e),
            State::Completed { evaluator, .. } => evaluator.as_ref(),
            State::Queued | State::Cancelled => None,
        }
    }

    /// True while it still needs an evaluation.
    pub fn is_open(&self) -> bool {
        matches!(
            self.state,
            State::Queued | State::Routed(_) | State::Claimed(_)
        )
    }

    fn wrong(&self, action: &'static str) -> AssignmentError {
        AssignmentError::WrongState {
            action,
            state: self.state.name(),
        }
    }

    /// `by` claims it: theirs if routed to them, or queued (the caller has
    /// checked that they are eligible). Claiming one's own claim again is a
    /// no-op (resuming).
    pub fn claim(&self, by: &EvaluatorId, now_ms: i64) -> Result<Change<Self>, AssignmentError> {
        match &self.state {
            State::Claimed(e) if e == by => Ok(Change::Unchanged(self.clone())),
            State::Claimed(_) => Err(AssignmentError::NotYours),
            State::Routed(e) if e != by => Err(AssignmentError::NotYours),
            State::Routed(_) | State::Queued => Ok(Change::Changed(Assignment {
                state: State::Claimed(by.clone()),
                claim_ms: Some(now_ms),
                route_ms: self.route_ms.or(Some(now_ms)),
                ..self.clone()
            })),
            State::Completed { .. } | State::Cancelled => Err(self.wrong("claim")),
        }
    }

    /// Gives it back: by its evaluator (`by`), or by a manager (`None`). It
    /// goes to `next` (another evaluator) or to the queue.
    pub fn release(
        &self,
        by: Option<&EvaluatorId>,
        next: Option<EvaluatorId>,
        now_ms: i64,
    ) -> Result<Change<Self>, AssignmentError> {
        let holder = match &self.state {
            State::Routed(e) | State::Claimed(e) => e,
            _ => return Err(self.wrong("release")),
        };
        if by.is_some_and(|b| b != holder) {
            return Err(AssignmentError::NotYours);
        }
        if next.as_ref() == Some(holder) {
            return Err(AssignmentError::SameEvaluator);
        }
        Ok(Change::Changed(self.moved(next, now_ms)))
    }

    /// Moves it to `next` (or to the queue) on a manager's order or because
    /// it is overdue or its evaluator became unavailable. Moving it to its
    /// current holder is a no-op.
    pub fn reassign(
        &self,
        next: Option<EvaluatorId>,
        now_ms: i64,
    ) -> Result<Change<Self>, AssignmentError> {
        if !self.is_open() {
            return Err(self.wrong("reassign"));
        }
        let unchanged = match (&self.state, &next) {
            (State::Queued, None) => true,
            (State::Routed(e) | State::Claimed(e), Some(n)) => e == n,
            _ => false,
        };
        if unchanged {
            return Ok(Change::Unchanged(self.clone()));
        }
        Ok(Change::Changed(self.moved(next, now_ms)))
    }

    fn moved(&self, next: Option<EvaluatorId>, now_ms: i64) -> Assignment {
        let routed = next.is_some();
        Assignment {
            state: next.map_or(State::Queued, State::Routed),
            reroute_count: self.reroute_count.saturating_add(1),
            route_ms: if routed { Some(now_ms) } else { self.route_ms },
            claim_ms: None,
            ..self.clone()
        }
    }

    /// Completes it with an evaluation submitted at `at_ms` by `by` (when
    /// known). Idempotent for the same evaluation.
    pub fn complete(
        &self,
        evaluation: EvaluationId,
        by: Option<&EvaluatorId>,
        at_ms: i64,
    ) -> Result<Change<Self>, AssignmentError> {
        match &self.state {
            State::Completed { evaluation: e, .. } if *e == evaluation => {
                Ok(Change::Unchanged(self.clone()))
            }
            State::Completed { .. } => Err(AssignmentError::CompletedByAnother),
            State::Cancelled => Err(self.wrong("complete")),
            State::Routed(holder) | State::Claimed(holder) if by.is_some_and(|b| b != holder) => {
                Err(AssignmentError::NotYours)
            }
            State::Queued | State::Routed(_) | State::Claimed(_) => {
                let evaluator = by.cloned().or_else(|| self.evaluator().cloned());
                Ok(Change::Changed(Assignment {
                    state: State::Completed {
                        evaluator,
                        evaluation,
                    },
                    complete_ms: Some(at_ms),
                    overdue: self.overdue || at_ms > self.due_ms,
                    ..self.clone()
                }))
            }
        }
    }

    /// Cancels it. Cancelling a cancelled assignment is a no-op.
    pub fn cancel(&self, reason: &str) -> Result<Change<Self>, AssignmentError> {
        match &self.state {
            State::Cancelled => Ok(Change::Unchanged(self.clone())),
            State::Completed { .. } => Err(self.wrong("cancel")),
            _ => Ok(Change::Changed(Assignment {
                state: State::Cancelled,
                cancel_reason: reason.to_owned(),
                ..self.clone()
            })),
        }
    }

    /// Marks it overdue once `now_ms` is past its due time while open (the
    /// "assignment expired" event). Idempotent.
    pub fn expire(&self, now_ms: i64) -> Change<Self> {
        if self.is_open() && !self.overdue && now_ms > self.due_ms {
            Change::Changed(Assignment {
                overdue: true,
                ..self.clone()
            })
        } else {
            Change::Unchanged(self.clone())
        }
    }

    /// True when it should be re-routed because it is overdue and nobody
    /// started it (claimed work stays with its evaluator).
    pub fn needs_reroute(&self) -> bool {
        self.overdue && matches!(self.state, State::Routed(_) | State::Queued)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(s: &str) -> EvaluatorId {
        EvaluatorId::parse(s).unwrap()
    }

    fn ev(s: &str) -> EvaluationId {
        EvaluationId::parse(s).unwrap()
    }

    #[test]
    fn the_happy_path() {
        let a = Assignment::new(1_000, Some(e("ann")), 10);
        assert_eq!(a.state.code(), 2);
        assert_eq!(a.route_ms, Some(10));
        let claimed = a.claim(&e("ann"), 20).unwrap().into_inner();
        assert_eq!(claimed.state, State::Claimed(e("ann")));
        assert_eq!(claimed.claim_ms, Some(20));
        // Resuming is a no-op; another evaluator cannot take it.
        assert!(!claimed.claim(&e("ann"), 30).unwrap().changed());
        assert_eq!(claimed.claim(&e("bob"), 30), Err(AssignmentError::NotYours));
        let done = claimed
            .complete(ev("x"), Some(&e("ann")), 900)
            .unwrap()
            .into_inner();
        assert!(!done.overdue && !done.is_open());
        assert_eq!(done.evaluator(), Some(&e("ann")));
        // Completion is idempotent per evaluation.
        assert!(!done.complete(ev("x"), None, 950).unwrap().changed());
        assert_eq!(
            done.complete(ev("y"), None, 950),
            Err(AssignmentError::CompletedByAnother)
        );
        assert!(matches!(
            done.cancel("x"),
            Err(AssignmentError::WrongState { .. })
        ));
        assert!(matches!(
            done.claim(&e("ann"), 1),
            Err(AssignmentError::WrongState { .. })
        ));
    }

    #[test]
    fn queued_work_is_claimed_by_anyone_eligible() {
        let q = Assignment::new(1_000, None, 10);
        assert_eq!((q.state.code(), q.route_ms), (1, None));
        assert_eq!(q.evaluator(), None);
        let c = q.claim(&e("bob"), 50).unwrap().into_inner();
        assert_eq!(
            (c.state.clone(), c.route_ms),
            (State::Claimed(e("bob")), Some(50))
        );
        assert!(matches!(
            q.release(None, None, 60),
            Err(AssignmentError::WrongState { .. })
        ));
    }

    #[test]
    fn release_and_reassign() {
        let a = Assignment::new(1_000, Some(e("ann")), 10)
            .claim(&e("ann"), 20)
            .unwrap()
            .into_inner();
        assert_eq!(
            a.release(Some(&e("bob")), None, 30),
            Err(AssignmentError::NotYours)
        );
        assert_eq!(
            a.release(Some(&e("ann")), Some(e("ann")), 30),
            Err(AssignmentError::SameEvaluator)
        );
        let r = a
            .release(Some(&e("ann")), Some(e("bob")), 30)
            .unwrap()
            .into_inner();
        assert_eq!(
            (r.state.clone(), r.reroute_count, r.claim_ms, r.route_ms),
            (State::Routed(e("bob")), 1, None, Some(30))
        );
        let q = r.release(None, None, 40).unwrap().into_inner();
        assert_eq!((q.state.clone(), q.reroute_count), (State::Queued, 2));
        assert!(!q.reassign(None, 50).unwrap().changed());
        let m = q.reassign(Some(e("cy")), 50).unwrap().into_inner();
        assert!(!m.reassign(Some(e("cy")), 60).unwrap().changed());
        assert_eq!(m.reroute_count, 3);
        let cancelled = m.cancel("no recording").unwrap().into_inner();
        assert_eq!(cancelled.cancel_reason, "no recording");
        assert!(!cancelled.cancel("again").unwrap().changed());
        assert!(matches!(
            cancelled.reassign(None, 70),
            Err(AssignmentError::WrongState { .. })
        ));
        assert!(matches!(
            cancelled.complete(ev("z"), None, 70),
            Err(AssignmentError::WrongState { .. })
        ));
    }

    #[test]
    fn overdue_marks_once_and_late_completion_counts_as_missed() {
        let a = Assignment::new(1_000, Some(e("ann")), 10);
        assert!(!a.expire(1_000).changed(), "due means due by, inclusive");
        let late = a.expire(1_001).into_inner();
        assert!(late.overdue && late.needs_reroute());
        assert!(!late.expire(2_000).changed());
        let claimed = late.claim(&e("ann"), 1_100).unwrap().into_inner();
        assert!(!claimed.needs_reroute(), "started work stays");
        let done = Assignment::new(1_000, None, 10)
            .complete(ev("x"), Some(&e("ann")), 1_500)
            .unwrap()
            .into_inner();
        assert!(done.overdue);
        assert!(!done.expire(5_000).changed());
        let err = a.claim(&e("bob"), 1).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the assignment is held by another evaluator"
        );
    }
}
