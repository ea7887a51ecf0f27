//! What a dispute must contain: an overall reason and/or reasons per
//! question, each question in the pinned scorecard version and disputed at
//! most once.

use std::collections::HashMap;

use crate::scorecard::ValidScorecard;
use crate::violation::{Collector, Violations};

/// The longest reason, in characters.
pub const MAX_REASON_CHARS: usize = 4_000;

/// One disputed question and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisputedQuestion {
    /// The question id.
    pub question_id: String,
    /// The agent's reason.
    pub reason: String,
}

/// A dispute as raised by an agent, proven well formed by [`Dispute::parse`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dispute {
    /// The overall reason (may be empty when questions carry reasons).
    pub reason: String,
    /// Reasons per question, in the order given.
    pub questions: Vec<DisputedQuestion>,
}

impl Dispute {
    /// Checks a dispute against the evaluation's pinned scorecard version.
    pub fn parse(
        reason: String,
        questions: Vec<DisputedQuestion>,
        scorecard: &ValidScorecard,
    ) -> Result<Self, Violations> {
        let mut c = Collector::default();
        if reason.chars().count() > MAX_REASON_CHARS {
            c.push("reason", format!("at most {MAX_REASON_CHARS} characters"));
        }
        if reason.trim().is_empty() && questions.is_empty() {
            c.push(
                "reason",
                "give an overall reason or at least one question with a reason",
            );
        }
        let mut seen: HashMap<&str, usize> = HashMap::new();
        for (i, q) in questions.iter().enumerate() {
            if scorecard.question_index(&q.question_id).is_none() {
                c.push(
                    format!("questions[{i}].question_id"),
                    format!("the scorecard has no question '{}'", q.question_id),
                );
            } else if let Some(first) = seen.insert(q.question_id.as_str(), i) {
                c.push(
                    format!("questions[{i}].question_id"),
                    format!("question already disputed at questions[{first}]"),
                );
            }
            if q.reason.trim().is_empty() {
                c.push(format!("questions[{i}].reason"), "is required");
            } else if q.reason.chars().count() > MAX_REASON_CHARS {
                c.push(
                    format!("questions[{i}].reason"),
                    format!("at most {MAX_REASON_CHARS} characters"),
                );
            }
        }
        c.into_result(Self { reason, questions })
    }
}
