//! The session state machine.
//!
//! ```text
//! OPEN --close--> CLOSED                       (blind, expert)
//! OPEN --close--> AWAITING_CONSENSUS --record consensus--> CLOSED  (consensus)
//! OPEN | AWAITING_CONSENSUS --cancel--> CANCELLED
//! ```
//!
//! A refused transition is a `FAILED_PRECONDITION` at the edge.

use std::fmt;

use super::{Mode, State};

/// Something a caller tried to do to a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    /// Close to responses.
    Close,
    /// Cancel.
    Cancel,
    /// Record the consensus.
    RecordConsensus,
    /// Submit or revise a response.
    Submit,
    /// Change name, description or due time.
    Update,
}

/// A transition the state machine refuses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TransitionError {
    /// The state the session was in.
    pub from: State,
    /// What was attempted.
    pub action: Action,
    /// The session's mode.
    pub mode: Mode,
}

impl fmt::Display for TransitionError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.action {
            Action::Close => "close",
            Action::Cancel => "cancel",
            Action::RecordConsensus => "record a consensus for",
            Action::Submit => "submit a response to",
            Action::Update => "change",
        };
        let state = match self.from {
            State::Open => "open",
            State::AwaitingConsensus => "awaiting consensus",
            State::Closed => "closed",
            State::Cancelled => "cancelled",
        };
        if self.action == Action::RecordConsensus && self.mode != Mode::Consensus {
            return write!(f, "only a consensus-mode session takes a consensus");
        }
        write!(f, "cannot {what} a session that is {state}")
    }
}

impl std::error::Error for TransitionError {}

impl State {
    fn refuse(self, action: Action, mode: Mode) -> TransitionError {
        TransitionError {
            from: self,
            action,
            mode,
        }
    }

    /// Closing: final in blind and expert mode, awaiting consensus otherwise.
    pub fn close(self, mode: Mode) -> Result<State, TransitionError> {
        match (self, mode) {
            (State::Open, Mode::Consensus) => Ok(State::AwaitingConsensus),
            (State::Open, _) => Ok(State::Closed),
            _ => Err(self.refuse(Action::Close, mode)),
        }
    }

    /// Cancelling: allowed until results are final.
    pub fn cancel(self, mode: Mode) -> Result<State, TransitionError> {
        match self {
            State::Open | State::AwaitingConsensus => Ok(State::Cancelled),
            _ => Err(self.refuse(Action::Cancel, mode)),
        }
    }

    /// Recording the consensus of a consensus-mode session awaiting it.
    pub fn record_consensus(self, mode: Mode) -> Result<State, TransitionError> {
        match (self, mode) {
            (State::AwaitingConsensus, Mode::Consensus) => Ok(State::Closed),
            _ => Err(self.refuse(Action::RecordConsensus, mode)),
        }
    }

    /// Submitting or revising a response: only while open.
    pub fn check_submit(self, mode: Mode) -> Result<(), TransitionError> {
        match self {
            State::Open => Ok(()),
            _ => Err(self.refuse(Action::Submit, mode)),
        }
    }

    /// Changing name, description or due time: only while open.
    pub fn check_update(self, mode: Mode) -> Result<(), TransitionError> {
        match self {
            State::Open => Ok(()),
            _ => Err(self.refuse(Action::Update, mode)),
        }
    }

    /// Responses are closed (results exist or existed).
    pub fn responses_closed(self) -> bool {
        matches!(self, State::AwaitingConsensus | State::Closed)
    }

    /// Results are final and immutable.
    pub fn results_final(self) -> bool {
        self == State::Closed
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const STATES: [State; 4] = [
        State::Open,
        State::AwaitingConsensus,
        State::Closed,
        State::Cancelled,
    ];
    const MODES: [Mode; 3] = [Mode::Blind, Mode::Expert, Mode::Consensus];

    #[test]
    fn transition_table() {
        use State::*;
        // (from, mode, close, cancel, record consensus, submit)
        let table = [
            (Open, Mode::Blind, Ok(Closed), Ok(Cancelled), false, true),
            (Open, Mode::Expert, Ok(Closed), Ok(Cancelled), false, true),
            (
                Open,
                Mode::Consensus,
                Ok(AwaitingConsensus),
                Ok(Cancelled),
                false,
                true,
            ),
            (
                AwaitingConsensus,
                Mode::Consensus,
                Err(()),
                Ok(Cancelled),
                true,
                false,
            ),
            (Closed, Mode::Blind, Err(()), Err(()), false, false),
            (Closed, Mode::Consensus, Err(()), Err(()), false, false),
            (Cancelled, Mode::Expert, Err(()), Err(()), false, false),
        ];
        for (from, mode, close, cancel, consensus, submit) in table {
            assert_eq!(
                from.close(mode).map_err(|_| ()),
                close,
                "{from:?} {mode:?} close"
            );
            assert_eq!(from.cancel(mode).map_err(|_| ()), cancel, "{from:?} cancel");
            assert_eq!(
                from.record_consensus(mode).is_ok(),
                consensus,
                "{from:?} {mode:?} consensus"
            );
            assert_eq!(from.check_submit(mode).is_ok(), submit);
            assert_eq!(from.check_update(mode).is_ok(), submit);
        }
    }

    #[test]
    fn every_refusal_explains_itself() {
        for s in STATES {
            for m in MODES {
                for r in [
                    s.close(m).err(),
                    s.cancel(m).err(),
                    s.record_consensus(m).err(),
                    s.check_submit(m).err(),
                ]
                .into_iter()
                .flatten()
                {
                    assert!(!r.to_string().is_empty());
                }
            }
        }
        let e = State::Open.record_consensus(Mode::Blind).unwrap_err();
        assert_eq!(
            e.to_string(),
            "only a consensus-mode session takes a consensus"
        );
        assert_eq!(
            State::Closed.close(Mode::Blind).unwrap_err().to_string(),
            "cannot close a session that is closed"
        );
    }

    #[test]
    fn closed_means_final() {
        assert!(State::Closed.results_final());
        assert!(!State::AwaitingConsensus.results_final());
        assert!(State::AwaitingConsensus.responses_closed());
        assert!(!State::Open.responses_closed());
        assert!(!State::Cancelled.responses_closed());
    }
}
