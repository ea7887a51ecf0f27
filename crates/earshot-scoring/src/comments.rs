//! Coaching comments: on one question of the pinned version, or on the whole
//! evaluation; 1 to 4,000 characters. (Evaluator comments travel on each
//! answer; see [`crate::answers`].)

use crate::scorecard::ValidScorecard;
use crate::violation::{Collector, Violations};

/// The longest coaching comment, in characters.
pub const MAX_COMMENT_CHARS: usize = 4_000;

/// A coaching comment proven well formed by [`CoachingComment::parse`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoachingComment {
    /// The question it concerns; `None` for the whole evaluation.
    pub question_id: Option<String>,
    /// The text.
    pub text: String,
}

impl CoachingComment {
    /// Checks a comment against the evaluation's pinned scorecard version.
    /// An empty `question_id` means the whole evaluation.
    pub fn parse(
        question_id: String,
        text: String,
        scorecard: &ValidScorecard,
    ) -> Result<Self, Violations> {
        let mut c = Collector::default();
        if !question_id.is_empty() && scorecard.question_index(&question_id).is_none() {
            c.push(
                "question_id",
                format!("the scorecard has no question '{question_id}'"),
            );
        }
        if text.trim().is_empty() {
            c.push("text", "is required");
        } else if text.chars().count() > MAX_COMMENT_CHARS {
            c.push("text", format!("at most {MAX_COMMENT_CHARS} characters"));
        }
        c.into_result(Self {
            question_id: (!question_id.is_empty()).then_some(question_id),
            text,
        })
    }
}
