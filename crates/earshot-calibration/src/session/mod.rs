//! Calibration sessions as pure rules: the domain types, and one module per
//! rule.
//!
//! | module | rule |
//! | --- | --- |
//! | [`create`] | what a valid new session is (CreateSession validation) |
//! | [`lifecycle`] | which state changes are allowed (close, cancel, consensus) |
//! | [`submission`] | submitting and revising a response: answers, lateness, etags |
//! | [`reference`] | what each response is compared with (expert, consensus, group) |
//! | [`results`] | per interaction x participant, per question, per participant, per pair, group reliability |
//! | [`drift`] | a participant's trend across sessions (least-squares slope with CI) |
//! | [`visibility`] | who may see what, before and after close (blindness) |
//!
//! Responses arrive here already scored: the edge calls scoring's
//! `ScoreAnswers` and hands the totals and per-question points in as
//! [`ScoredResponse`].

pub mod create;
pub mod drift;
pub mod lifecycle;
pub mod reference;
pub mod results;
pub mod submission;
pub mod visibility;

use std::fmt;

/// Longest id accepted from a caller.
pub const MAX_ID_LEN: usize = 200;

/// Checks an id from a caller: 1 to [`MAX_ID_LEN`] characters, no control
/// characters, no surrounding whitespace.
fn check_id(s: &str) -> Result<(), &'static str> {
    if s.is_empty() {
        return Err("must not be empty");
    }
    if s.chars().count() > MAX_ID_LEN {
        return Err("must be at most 200 characters");
    }
    if s.trim() != s {
        return Err("must not start or end with whitespace");
    }
    if s.chars().any(char::is_control) {
        return Err("must not contain control characters");
    }
    Ok(())
}

macro_rules! id_type {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// Parses an id: 1 to 200 characters, no control characters or
            /// surrounding whitespace. The error says what is wrong.
            pub fn parse(s: &str) -> Result<Self, &'static str> {
                check_id(s).map(|()| Self(s.to_owned()))
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

id_type!(
    /// A participant: an evaluator's id, which is their token subject.
    ParticipantId
);
id_type!(
    /// An interaction's id in sampling.
    InteractionId
);
id_type!(
    /// A question's id within a scorecard version.
    QuestionId
);
id_type!(
    /// A scorecard's id in scoring.
    ScorecardId
);

/// How a session decides the reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    /// The group is the reference.
    Blind,
    /// The expert participant's response is the reference.
    Expert,
    /// The consensus recorded after close is the reference.
    Consensus,
}

/// Where a session is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// Accepting responses.
    Open,
    /// Consensus mode: closed to responses, waiting for the consensus.
    AwaitingConsensus,
    /// Final results exist.
    Closed,
    /// Abandoned.
    Cancelled,
}

/// How the group reference total is formed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum GroupReference {
    /// Median of the totals (the default: robust to one outlier).
    #[default]
    Median,
    /// Mean of the totals.
    Mean,
}

/// One answer's value (the domain twin of `earshot.common.v1.Answer.value`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum AnswerValue {
    /// A yes/no answer.
    Yes(bool),
    /// A scale point.
    Scale(i32),
    /// A chosen option's id.
    Choice(String),
    /// The question did not apply.
    NotApplicable,
}

/// What kind of question, as the scorecard version defines it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QuestionKind {
    /// Yes or no.
    YesNo,
    /// A point on an inclusive integer scale.
    Scale {
        /// Lowest point.
        min: i32,
        /// Highest point.
        max: i32,
    },
    /// One of the listed options.
    Choice {
        /// Option ids, in scorecard order.
        options: Vec<String>,
    },
}

/// A scorecard question, as far as calibration needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuestionSpec {
    /// The question's id.
    pub id: QuestionId,
    /// Its kind.
    pub kind: QuestionKind,
    /// Whether N/A is an allowed answer.
    pub allows_not_applicable: bool,
}

/// One answer with the points scoring awarded it.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoredAnswer {
    /// The question.
    pub question: QuestionId,
    /// The answer.
    pub value: AnswerValue,
    /// Points awarded (0 for N/A).
    pub points: f64,
}

/// A participant's submitted response to one interaction, already scored.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoredResponse {
    /// Who responded.
    pub participant: ParticipantId,
    /// The interaction.
    pub interaction: InteractionId,
    /// The total on the 0 to 100 scale; not finite (NaN) when scoring found
    /// no applicable question, which leaves the response out of every
    /// total-based figure.
    pub total: f64,
    /// The answers, at most one per question.
    pub answers: Vec<ScoredAnswer>,
    /// First submitted after the due time.
    pub late: bool,
}

/// The group's agreed outcome for one interaction (consensus mode).
#[derive(Debug, Clone, PartialEq)]
pub enum Consensus {
    /// The agreed answers and their score.
    Agreed {
        /// The agreed total.
        total: f64,
        /// The agreed answers.
        answers: Vec<ScoredAnswer>,
    },
    /// The group could not agree; the group reference stands.
    NoConsensus,
}

/// The within-tolerance band in score points, 0 to 100 (default 5).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Tolerance(f64);

impl Tolerance {
    /// The default, +/- 5 points.
    pub const DEFAULT: Tolerance = Tolerance(5.0);

    /// Parses a tolerance: finite, 0 to 100.
    pub fn parse(points: f64) -> Result<Self, &'static str> {
        if points.is_finite() && (0.0..=100.0).contains(&points) {
            Ok(Tolerance(points + 0.0))
        } else {
            Err("must be between 0 and 100 points")
        }
    }

    /// The band in points.
    pub fn points(self) -> f64 {
        self.0
    }

    /// Is `deviation` within the band (inclusive)?
    pub fn contains(self, deviation: f64) -> bool {
        deviation.abs() <= self.0
    }
}

impl Default for Tolerance {
    fn default() -> Self {
        Tolerance::DEFAULT
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_validate_at_the_boundary() {
        assert_eq!(ParticipantId::parse("eva").unwrap().as_str(), "eva");
        assert!(ParticipantId::parse("").is_err());
        assert!(ParticipantId::parse(" eva").is_err());
        assert!(ParticipantId::parse("e\u{0}va").is_err());
        assert!(InteractionId::parse(&"x".repeat(201)).is_err());
        assert!(InteractionId::parse(&"é".repeat(200)).is_ok());
        assert_eq!(QuestionId::parse("q1").unwrap().to_string(), "q1");
    }

    #[test]
    fn tolerance_is_a_closed_band() {
        let t = Tolerance::parse(5.0).unwrap();
        assert!(t.contains(5.0) && t.contains(-5.0) && !t.contains(5.01));
        assert!(Tolerance::parse(-1.0).is_err());
        assert!(Tolerance::parse(f64::NAN).is_err());
        assert!(Tolerance::parse(100.5).is_err());
        assert_eq!(Tolerance::default(), Tolerance::DEFAULT);
    }
}
