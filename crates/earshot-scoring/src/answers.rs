//! Answers, and the checks an answer set must pass against a scorecard
//! version before it can be submitted.
//!
//! Checking never stops at the first problem and never refuses to score: a
//! problem leaves its answer out (the question then counts as unanswered) and
//! is reported with the answer's field path, so a live preview always shows a
//! score and every problem at once. Submit requires an empty problem list.
//!
//! Two passes, because some rules depend on which questions are visible:
//! 1. `accept` (structure): unknown question, duplicate answer, missing
//!    value, wrong kind, scale out of range, unknown option, comment too long;
//! 2. `check_applicability` (after [`crate::visibility`]): answers to hidden
//!    questions are ignored; N/A where not allowed; a visible question with no
//!    answer; an answer without a required comment (always, or when it
//!    fails, as the question says).

use crate::scorecard::validate::CompiledKind;
use crate::scorecard::{CommentRequirement, ValidScorecard};
use crate::visibility::Visibility;

/// The longest answer comment, in characters.
pub const MAX_COMMENT_CHARS: usize = 4_000;

/// One answer as given by a caller (mirrors `earshot.common.v1.Answer`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Answer {
    /// The question's id.
    pub question_id: String,
    /// The value; `None` when the caller set none (a problem).
    pub value: Option<AnswerValue>,
    /// The evaluator's comment.
    pub comment: String,
}

impl Answer {
    /// An answer without a comment.
    pub fn new(question_id: impl Into<String>, value: AnswerValue) -> Self {
        Self {
            question_id: question_id.into(),
            value: Some(value),
            comment: String::new(),
        }
    }

    /// The same answer with a comment.
    #[must_use]
    pub fn with_comment(mut self, comment: impl Into<String>) -> Self {
        self.comment = comment.into();
        self
    }
}

/// An answer's value.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum AnswerValue {
    /// Yes (`true`) or no.
    Yes(bool),
    /// A point on a scale.
    Scale(i32),
    /// A choice option id.
    OptionId(String),
    /// Not applicable.
    NotApplicable,
}

/// What is wrong with an answer (mirrors `AnswerProblemKind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AnswerProblemKind {
    /// The question is not in the scorecard version.
    UnknownQuestion,
    /// A second answer to the same question (the first is used).
    DuplicateAnswer,
    /// No value set.
    MissingValue,
    /// A value of the wrong kind for the question.
    WrongKind,
    /// A scale value outside `[min, max]`.
    OutOfRange,
    /// An option the question does not have.
    UnknownOption,
    /// N/A where not allowed.
    NotApplicableNotAllowed,
    /// A visible question without an answer.
    MissingAnswer,
    /// An answer without the comment its question requires (always, or
    /// when the answer fails).
    CommentRequired,
    /// A comment over [`MAX_COMMENT_CHARS`].
    CommentTooLong,
}

/// One problem in an answer set.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AnswerProblem {
    /// The question concerned (may be empty or unknown for some kinds).
    pub question_id: String,
    /// What is wrong.
    pub kind: AnswerProblemKind,
    /// The field path in the caller's request, e.g. `answers[3].scale_value`.
    pub field: String,
    /// For a person.
    pub description: String,
}

impl AnswerProblem {
    fn new(
        question_id: &str,
        kind: AnswerProblemKind,
        field: String,
        description: impl Into<String>,
    ) -> Self {
        Self {
            question_id: question_id.to_owned(),
            kind,
            field,
            description: description.into(),
        }
    }
}

impl From<AnswerProblem> for crate::violation::Violation {
    fn from(p: AnswerProblem) -> Self {
        Self::new(p.field, p.description)
    }
}

/// An answer that passed the structural checks, resolved against its question.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Resolved {
    Yes(bool),
    Scale(i32),
    /// Index of the option within the question.
    Option(usize),
    NotApplicable,
}

/// An accepted answer: its value and where it came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Accepted {
    pub(crate) value: Resolved,
    /// Index in the caller's answer list (for field paths).
    pub(crate) position: usize,
    /// Whether a non-blank comment was given.
    pub(crate) commented: bool,
}

/// Pass 1: resolves each answer against its question. Returns one slot per
/// question in scorecard order.
pub(crate) fn accept(
    sc: &ValidScorecard,
    answers: &[Answer],
    problems: &mut Vec<AnswerProblem>,
) -> Vec<Option<Accepted>> {
    use AnswerProblemKind as K;
    let mut slots: Vec<Option<Accepted>> = vec![None; sc.question_count()];
    for (i, a) in answers.iter().enumerate() {
        let f = format!("answers[{i}]");
        let qid = a.question_id.as_str();
        if a.comment.chars().count() > MAX_COMMENT_CHARS {
            problems.push(AnswerProblem::new(
                qid,
                K::CommentTooLong,
                format!("{f}.comment"),
                format!("a comment is at most {MAX_COMMENT_CHARS} characters"),
            ));
        }
        let Some(flat) = sc.question_index(qid) else {
            problems.push(AnswerProblem::new(
                qid,
                K::UnknownQuestion,
                format!("{f}.question_id"),
                format!("the scorecard has no question '{qid}'"),
            ));
            continue;
        };
        if let Some(Some(first)) = slots.get(flat) {
            problems.push(AnswerProblem::new(
                qid,
                K::DuplicateAnswer,
                format!("{f}.question_id"),
                format!(
                    "question '{qid}' is already answered at answers[{}]",
                    first.position
                ),
            ));
            continue;
        }
        let Some((_, cq)) = sc.question(flat) else {
            continue;
        };
        let resolved = match (&a.value, &cq.kind) {
            (None, _) => Err(AnswerProblem::new(
                qid,
                K::MissingValue,
                format!("{f}.value"),
                "the answer has no value",
            )),
            (Some(AnswerValue::NotApplicable), _) => Ok(Resolved::NotApplicable),
            (Some(AnswerValue::Yes(b)), CompiledKind::YesNo { .. }) => Ok(Resolved::Yes(*b)),
            (Some(AnswerValue::Scale(v)), CompiledKind::Scale { min, max, .. }) => {
                if (*min..=*max).contains(v) {
                    Ok(Resolved::Scale(*v))
                } else {
                    Err(AnswerProblem::new(
                        qid,
                        K::OutOfRange,
                        format!("{f}.scale_value"),
                        format!("{v} is outside the scale {min} to {max}"),
                    ))
                }
            }
            (Some(AnswerValue::OptionId(o)), CompiledKind::Choice { .. }) => {
                match sc.option_index(flat, o) {
                    Some(oi) => Ok(Resolved::Option(oi)),
                    None => Err(AnswerProblem::new(
                        qid,
                        K::UnknownOption,
                        format!("{f}.option_id"),
                        format!("question '{qid}' has no option '{o}'"),
                    )),
                }
            }
            (Some(v), k) => {
                let (field, given) = match v {
                    AnswerValue::Yes(_) => ("yes", "yes/no"),
                    AnswerValue::Scale(_) => ("scale_value", "scale"),
                    AnswerValue::OptionId(_) => ("option_id", "choice"),
                    AnswerValue::NotApplicable => ("not_applicable", "N/A"),
                };
                let wanted = match k {
                    CompiledKind::YesNo { .. } => "yes",
                    CompiledKind::Scale { .. } => "scale_value",
                    CompiledKind::Choice { .. } => "option_id",
                };
                Err(AnswerProblem::new(
                    qid,
                    K::WrongKind,
                    format!("{f}.{field}"),
                    format!("a {given} answer to question '{qid}', which takes `{wanted}`"),
                ))
            }
        };
        match resolved {
            Ok(value) => {
                if let Some(slot) = slots.get_mut(flat) {
                    *slot = Some(Accepted {
                        value,
                        position: i,
                        commented: !a.comment.trim().is_empty(),
                    });
                }
            }
            Err(p) => problems.push(p),
        }
    }
    slots
}

/// Pass 2: applies visibility and the rules that depend on it. Hidden
/// questions lose their answers (silently: hiding is the scorecard's doing,
/// not a mistake); N/A answers that are not allowed are dropped and reported;
/// visible questions without an answer are reported; failed answers without a
/// required comment are reported (the answer still counts).
pub(crate) fn check_applicability(
    sc: &ValidScorecard,
    visibility: &Visibility,
    slots: &mut [Option<Accepted>],
    problems: &mut Vec<AnswerProblem>,
) {
    use AnswerProblemKind as K;
    for (flat, slot) in slots.iter_mut().enumerate() {
        if !visibility.question_visible(flat) {
            *slot = None;
        }
    }
    let definition = sc.definition();
    for (si, cs) in sc.compiled_sections().iter().enumerate() {
        let Some(section) = definition.sections.get(si) else {
            continue;
        };
        // A wholly N/A section is allowed when the section allows it.
        let all_na = cs.questions.clone().all(|flat| {
            !visibility.question_visible(flat)
                || matches!(
                    slots.get(flat),
                    Some(Some(Accepted {
                        value: Resolved::NotApplicable,
                        ..
                    }))
                )
        }) && cs
            .questions
            .clone()
            .any(|flat| visibility.question_visible(flat));
        let section_na_ok = section.not_applicable_allowed && all_na;
        for flat in cs.questions.clone() {
            if !visibility.question_visible(flat) {
                continue;
            }
            let Some((q, cq)) = sc.question(flat) else {
                continue;
            };
            let Some(slot) = slots.get_mut(flat) else {
                continue;
            };
            match *slot {
                None => problems.push(AnswerProblem::new(
                    &q.id,
                    K::MissingAnswer,
                    "answers".to_owned(),
                    format!("question '{}' is shown and has no answer", q.id),
                )),
                Some(a) if a.value == Resolved::NotApplicable => {
                    if !q.not_applicable_allowed && !section_na_ok {
                        problems.push(AnswerProblem::new(
                            &q.id,
                            K::NotApplicableNotAllowed,
                            format!("answers[{}].not_applicable", a.position),
                            format!("question '{}' does not allow N/A", q.id),
                        ));
                        *slot = None;
                    }
                }
                Some(a) => {
                    let needed = match q.comment_required {
                        CommentRequirement::Never => None,
                        CommentRequirement::WhenFailed => {
                            crate::score::points::fails(&cq.kind, a.value)
                                .then_some("needs a comment when it fails")
                        }
                        CommentRequirement::Always => Some("needs a comment on every answer"),
                    };
                    if let Some(why) = needed
                        && !a.commented
                    {
                        problems.push(AnswerProblem::new(
                            &q.id,
                            K::CommentRequired,
                            format!("answers[{}].comment", a.position),
                            format!("question '{}' {why}", q.id),
                        ));
                    }
                }
            }
        }
    }
}
