//! Submitting and revising a response: the answers' shape against the
//! scorecard version, lateness, and optimistic concurrency on revision.
//!
//! Scoring's `ScoreAnswers` remains the authority on scoring rules (required
//! questions, comments on failed answers, weights); this module rejects what
//! is wrong before that call, with one field violation per bad answer.

use std::collections::HashSet;

use super::{AnswerValue, QuestionId, QuestionKind, QuestionSpec};
use crate::validation::Violations;

/// Longest overall comment.
pub const MAX_COMMENT_CHARS: usize = 4_000;

/// A submission as received.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SubmissionInput {
    /// Idempotency key.
    pub request_id: String,
    /// (question id, answer) in request order.
    pub answers: Vec<(String, AnswerValue)>,
    /// Overall comment.
    pub comment: String,
}

/// A submission whose answers fit the scorecard.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidSubmission {
    /// Idempotency key.
    pub request_id: String,
    /// The answers, request order.
    pub answers: Vec<(QuestionId, AnswerValue)>,
    /// Overall comment.
    pub comment: String,
}

/// Validates a submission against the scorecard version's questions.
pub fn validate_submission(
    input: SubmissionInput,
    questions: &[QuestionSpec],
) -> Result<ValidSubmission, Violations> {
    let mut v = Violations::new();
    if input.request_id.is_empty() || input.request_id.chars().count() > 100 {
        v.push("request_id", "must be 1 to 100 characters");
    }
    if input.comment.chars().count() > MAX_COMMENT_CHARS {
        v.push("comment", "must be at most 4,000 characters");
    }
    if input.answers.is_empty() {
        v.push("answers", "at least one answer is required");
    }
    let mut seen = HashSet::new();
    let mut answers = Vec::with_capacity(input.answers.len());
    for (i, (q, value)) in input.answers.into_iter().enumerate() {
        let field = format!("answers[{i}]");
        let Some(spec) = questions.iter().find(|s| s.id.as_str() == q) else {
            v.push(
                format!("{field}.question_id"),
                format!("no question {q:?} in this scorecard version"),
            );
            continue;
        };
        if !seen.insert(spec.id.clone()) {
            v.push(format!("{field}.question_id"), "question answered twice");
            continue;
        }
        if let Err(why) = fits(spec, &value) {
            v.push(field, why);
            continue;
        }
        answers.push((spec.id.clone(), value));
    }
    v.into_result(ValidSubmission {
        request_id: input.request_id,
        answers,
        comment: input.comment,
    })
}

/// Does the answer fit its question?
fn fits(spec: &QuestionSpec, value: &AnswerValue) -> Result<(), String> {
    match (&spec.kind, value) {
        (_, AnswerValue::NotApplicable) if spec.allows_not_applicable => Ok(()),
        (_, AnswerValue::NotApplicable) => Err("this question does not allow N/A".into()),
        (QuestionKind::YesNo, AnswerValue::Yes(_)) => Ok(()),
        (QuestionKind::Scale { min, max }, AnswerValue::Scale(x)) if (*min..=*max).contains(x) => {
            Ok(())
        }
        (QuestionKind::Scale { min, max }, AnswerValue::Scale(_)) => {
            Err(format!("scale_value must be {min} to {max}"))
        }
        (QuestionKind::Choice { options }, AnswerValue::Choice(o)) if options.contains(o) => Ok(()),
        (QuestionKind::Choice { .. }, AnswerValue::Choice(o)) => {
            Err(format!("no option {o:?} for this question"))
        }
        (QuestionKind::YesNo, _) => Err("a yes/no question takes `yes`".into()),
        (QuestionKind::Scale { .. }, _) => Err("a scale question takes `scale_value`".into()),
        (QuestionKind::Choice { .. }, _) => Err("a choice question takes `option_id`".into()),
    }
}

/// Was a response first submitted after the due time? (Submitting exactly at
/// the due time is on time.)
pub fn is_late(first_submit_ms: i64, due_ms: i64) -> bool {
    first_submit_ms > due_ms
}

/// What a submission does to the stored response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revision {
    /// A first submission.
    First,
    /// A revision of the current response.
    Revise,
}

/// Why a submission conflicts with the stored response (ABORTED at the edge).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RevisionConflict {
    /// A response exists and no etag was given.
    AlreadySubmitted,
    /// The etag is not the current one.
    StaleEtag,
    /// An etag was given but there is no response to revise.
    NothingToRevise,
}

/// Decides between first submission and revision from the stored etag (if a
/// response exists) and the etag the caller sent.
pub fn check_revision(
    stored_etag: Option<&str>,
    given_etag: &str,
) -> Result<Revision, RevisionConflict> {
    match (stored_etag, given_etag.is_empty()) {
        (None, true) => Ok(Revision::First),
        (None, false) => Err(RevisionConflict::NothingToRevise),
        (Some(_), true) => Err(RevisionConflict::AlreadySubmitted),
        (Some(stored), false) if stored == given_etag => Ok(Revision::Revise),
        (Some(_), false) => Err(RevisionConflict::StaleEtag),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn questions() -> Vec<QuestionSpec> {
        vec![
            QuestionSpec {
                id: QuestionId::parse("greet").unwrap(),
                kind: QuestionKind::YesNo,
                allows_not_applicable: false,
            },
            QuestionSpec {
                id: QuestionId::parse("tone").unwrap(),
                kind: QuestionKind::Scale { min: 1, max: 5 },
                allows_not_applicable: true,
            },
            QuestionSpec {
                id: QuestionId::parse("outcome").unwrap(),
                kind: QuestionKind::Choice {
                    options: vec!["solved".into(), "escalated".into()],
                },
                allows_not_applicable: false,
            },
        ]
    }

    #[test]
    fn accepts_fitting_answers() {
        let ok = validate_submission(
            SubmissionInput {
                request_id: "r1".into(),
                answers: vec![
                    ("greet".into(), AnswerValue::Yes(true)),
                    ("tone".into(), AnswerValue::NotApplicable),
                    ("outcome".into(), AnswerValue::Choice("solved".into())),
                ],
                comment: String::new(),
            },
            &questions(),
        )
        .unwrap();
        assert_eq!(ok.answers.len(), 3);
    }

    #[test]
    fn reports_one_violation_per_bad_answer() {
        let err = validate_submission(
            SubmissionInput {
                request_id: String::new(),
                answers: vec![
                    ("greet".into(), AnswerValue::Scale(3)),
                    ("tone".into(), AnswerValue::Scale(9)),
                    ("outcome".into(), AnswerValue::Choice("lost".into())),
                    ("greet".into(), AnswerValue::Yes(true)),
                    ("nope".into(), AnswerValue::Yes(true)),
                    ("outcome".into(), AnswerValue::NotApplicable),
                ],
                comment: "x".repeat(4_001),
            },
            &questions(),
        )
        .unwrap_err();
        for f in [
            "request_id",
            "comment",
            "answers[0]",
            "answers[1]",
            "answers[2]",
            "answers[4].question_id",
        ] {
            assert!(err.has_field(f), "{f}: {err}");
        }
        // answers[3] repeats `greet` only after answers[0] failed: still one per question.
        assert!(err.has_field("answers[5].question_id"), "{err}");
        assert!(
            validate_submission(
                SubmissionInput {
                    request_id: "r".into(),
                    ..Default::default()
                },
                &questions()
            )
            .unwrap_err()
            .has_field("answers")
        );
    }

    #[test]
    fn lateness_and_revision() {
        assert!(!is_late(100, 100));
        assert!(is_late(101, 100));
        assert_eq!(check_revision(None, ""), Ok(Revision::First));
        assert_eq!(
            check_revision(None, "e1"),
            Err(RevisionConflict::NothingToRevise)
        );
        assert_eq!(
            check_revision(Some("e1"), ""),
            Err(RevisionConflict::AlreadySubmitted)
        );
        assert_eq!(
            check_revision(Some("e1"), "e0"),
            Err(RevisionConflict::StaleEtag)
        );
        assert_eq!(check_revision(Some("e1"), "e1"), Ok(Revision::Revise));
    }
}
