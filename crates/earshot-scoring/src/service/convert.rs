//! Proto ⇄ domain mapping, at the edge only: the functional core never sees
//! a generated type.
//!
//! Mapping *in* checks what the proto types allow but the domain cannot
//! represent (an enum value this build does not know) and reports it with the
//! field path; everything else about a definition is the core's business
//! (sizes in [`crate::scorecard::limits`], rules in
//! [`crate::scorecard::validate`]). Mapping *out* is total.

use earshot_kit::error::{FieldViolation, Violations};
use earshot_proto::common::v1 as common;
use earshot_proto::scoring::v1 as pb;

use crate::answers::{Answer, AnswerProblem, AnswerProblemKind, AnswerValue};
use crate::score::{CriticalFailure, QuestionResult, QuestionStatus, ScoreResult, SectionResult};
use crate::scorecard::{
    AnswerPredicate, ChoiceOption, CombiningOperation, CommentRequirement, ExpectedAnswer,
    FailureConsequence, Question, QuestionKind, ScoreBand, ScorecardDefinition, ScoringMethod,
    Section, VisibilityCondition,
};
use crate::settings::Settings;
use crate::violation::Violation;

/// Core violations as kit field violations, each nested under `prefix`
/// (empty: as they are).
pub fn violations(prefix: &str, v: impl IntoIterator<Item = Violation>) -> Vec<FieldViolation> {
    v.into_iter()
        .map(|v| {
            let f = FieldViolation::new(v.field, v.description);
            if prefix.is_empty() {
                f
            } else {
                f.nested(prefix)
            }
        })
        .collect()
}

/// Core violations as `ValidationProblem`s.
pub fn problems(v: impl IntoIterator<Item = Violation>) -> Vec<pb::ValidationProblem> {
    v.into_iter()
        .map(|v| pb::ValidationProblem {
            field: v.field,
            description: v.description,
        })
        .collect()
}

// ---------------------------------------------------------------------------
// Scorecard definitions

/// A definition from the wire. Unknown enum values are violations (paths
/// relative to the definition); everything else maps as is, valid or not.
pub fn definition_in(
    d: &pb::ScorecardDefinition,
) -> Result<ScorecardDefinition, Vec<FieldViolation>> {
    let mut v = Violations::new();
    let scoring_method = match pb::ScoringMethod::try_from(d.scoring_method) {
        Ok(pb::ScoringMethod::Unspecified | pb::ScoringMethod::Earshot) => ScoringMethod::Earshot,
        Ok(pb::ScoringMethod::Genesys) => ScoringMethod::Genesys,
        Err(_) => {
            v.add("scoring_method", "is not a known scoring method");
            ScoringMethod::Earshot
        }
    };
    let sections = d
        .sections
        .iter()
        .enumerate()
        .map(|(si, s)| section_in(s, &format!("sections[{si}]"), &mut v))
        .collect();
    let def = ScorecardDefinition {
        name: d.name.clone(),
        description: d.description.clone(),
        scoring_method,
        pass_mark: d.pass_mark,
        bands: d
            .bands
            .iter()
            .map(|b| ScoreBand {
                name: b.name.clone(),
                min_score: b.min_score,
                max_score: b.max_score,
            })
            .collect(),
        sections,
        labels: d
            .labels
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    };
    if v.is_empty() {
        Ok(def)
    } else {
        Err(v.into_vec())
    }
}

fn section_in(s: &pb::Section, f: &str, v: &mut Violations) -> Section {
    Section {
        id: s.id.clone(),
        title: s.title.clone(),
        description: s.description.clone(),
        weight: s.weight.unwrap_or(1.0),
        not_applicable_allowed: s.not_applicable_allowed,
        visible_when: s
            .visible_when
            .as_ref()
            .map(|c| condition_in(c, &format!("{f}.visible_when"), v)),
        questions: s
            .questions
            .iter()
            .enumerate()
            .map(|(qi, q)| question_in(q, &format!("{f}.questions[{qi}]"), v))
            .collect(),
    }
}

fn question_in(q: &pb::Question, f: &str, v: &mut Violations) -> Question {
    let comment_required = match pb::CommentRequirement::try_from(q.comment_required) {
        Ok(pb::CommentRequirement::Unspecified | pb::CommentRequirement::Never) => {
            CommentRequirement::Never
        }
        Ok(pb::CommentRequirement::WhenFailed) => CommentRequirement::WhenFailed,
        Ok(pb::CommentRequirement::Always) => CommentRequirement::Always,
        Err(_) => {
            v.add(
                format!("{f}.comment_required"),
                "is not a known comment requirement",
            );
            CommentRequirement::Never
        }
    };
    let on_failure = match pb::FailureConsequence::try_from(q.on_failure) {
        Ok(pb::FailureConsequence::Unspecified) => FailureConsequence::None,
        Ok(pb::FailureConsequence::ZeroSection) => FailureConsequence::ZeroSection,
        Ok(pb::FailureConsequence::ZeroEvaluation) => FailureConsequence::ZeroEvaluation,
        Ok(pb::FailureConsequence::FailEvaluation) => FailureConsequence::FailEvaluation,
        Err(_) => {
            v.add(
                format!("{f}.on_failure"),
                "is not a known failure consequence",
            );
            FailureConsequence::None
        }
    };
    let kind = q.kind.as_ref().map(|k| match k {
        pb::question::Kind::YesNo(y) => QuestionKind::YesNo {
            pass_answer: !y.pass_on_no,
        },
        pb::question::Kind::Scale(s) => QuestionKind::Scale {
            min: s.min,
            max: s.max,
            pass_from: s.pass_from,
        },
        pb::question::Kind::Choice(c) => QuestionKind::Choice {
            options: c
                .options
                .iter()
                .map(|o| ChoiceOption {
                    id: o.id.clone(),
                    label: o.label.clone(),
                    points: o.points,
                })
                .collect(),
        },
    });
    Question {
        id: q.id.clone(),
        text: q.text.clone(),
        help_text: q.help_text.clone(),
        kind,
        weight: q.weight.unwrap_or(1.0),
        not_applicable_allowed: q.not_applicable_allowed,
        comment_required,
        visible_when: q
            .visible_when
            .as_ref()
            .map(|c| condition_in(c, &format!("{f}.visible_when"), v)),
        critical: q.critical,
        on_failure,
    }
}

fn condition_in(c: &pb::VisibilityCondition, f: &str, v: &mut Violations) -> VisibilityCondition {
    let operation = match pb::CombiningOperation::try_from(c.operation) {
        Ok(pb::CombiningOperation::Unspecified | pb::CombiningOperation::All) => {
            CombiningOperation::All
        }
        Ok(pb::CombiningOperation::Any) => CombiningOperation::Any,
        Err(_) => {
            v.add(
                format!("{f}.operation"),
                "is not a known combining operation",
            );
            CombiningOperation::All
        }
    };
    VisibilityCondition {
        operation,
        predicates: c
            .predicates
            .iter()
            .map(|p| AnswerPredicate {
                question_id: p.question_id.clone(),
                expected: p.expected.as_ref().map(|e| match e {
                    pb::answer_predicate::Expected::Yes(b) => ExpectedAnswer::Yes(*b),
                    pb::answer_predicate::Expected::OptionId(o) => {
                        ExpectedAnswer::OptionId(o.clone())
                    }
                    pb::answer_predicate::Expected::ScaleRange(r) => ExpectedAnswer::ScaleRange {
                        min: r.min,
                        max: r.max,
                    },
                }),
            })
            .collect(),
    }
}

/// A definition for the wire (and for storage).
pub fn definition_out(d: &ScorecardDefinition) -> pb::ScorecardDefinition {
    pb::ScorecardDefinition {
        name: d.name.clone(),
        description: d.description.clone(),
        scoring_method: scoring_method_out(d.scoring_method) as i32,
        pass_mark: d.pass_mark,
        bands: d
            .bands
            .iter()
            .map(|b| pb::ScoreBand {
                name: b.name.clone(),
                min_score: b.min_score,
                max_score: b.max_score,
            })
            .collect(),
        sections: d.sections.iter().map(section_out).collect(),
        labels: d
            .labels
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect(),
    }
}

/// The wire form of a scoring method.
pub fn scoring_method_out(m: ScoringMethod) -> pb::ScoringMethod {
    match m {
        ScoringMethod::Earshot => pb::ScoringMethod::Earshot,
        ScoringMethod::Genesys => pb::ScoringMethod::Genesys,
    }
}

/// The wire form of a failure consequence.
pub fn consequence_out(c: FailureConsequence) -> pb::FailureConsequence {
    match c {
        FailureConsequence::None => pb::FailureConsequence::Unspecified,
        FailureConsequence::ZeroSection => pb::FailureConsequence::ZeroSection,
        FailureConsequence::ZeroEvaluation => pb::FailureConsequence::ZeroEvaluation,
        FailureConsequence::FailEvaluation => pb::FailureConsequence::FailEvaluation,
    }
}

fn section_out(s: &Section) -> pb::Section {
    pb::Section {
        id: s.id.clone(),
        title: s.title.clone(),
        description: s.description.clone(),
        weight: Some(s.weight),
        not_applicable_allowed: s.not_applicable_allowed,
        visible_when: s.visible_when.as_ref().map(condition_out),
        questions: s.questions.iter().map(question_out).collect(),
    }
}

fn question_out(q: &Question) -> pb::Question {
    pb::Question {
        id: q.id.clone(),
        text: q.text.clone(),
        help_text: q.help_text.clone(),
        kind: q.kind.as_ref().map(|k| match k {
            QuestionKind::YesNo { pass_answer } => pb::question::Kind::YesNo(pb::YesNoQuestion {
                pass_on_no: !pass_answer,
            }),
            QuestionKind::Scale {
                min,
                max,
                pass_from,
            } => pb::question::Kind::Scale(pb::ScaleQuestion {
                min: *min,
                max: *max,
                pass_from: *pass_from,
            }),
            QuestionKind::Choice { options } => pb::question::Kind::Choice(pb::ChoiceQuestion {
                options: options
                    .iter()
                    .map(|o| pb::ChoiceOption {
                        id: o.id.clone(),
                        label: o.label.clone(),
                        points: o.points,
                    })
                    .collect(),
            }),
        }),
        weight: Some(q.weight),
        not_applicable_allowed: q.not_applicable_allowed,
        comment_required: match q.comment_required {
            CommentRequirement::Never => pb::CommentRequirement::Never,
            CommentRequirement::WhenFailed => pb::CommentRequirement::WhenFailed,
            CommentRequirement::Always => pb::CommentRequirement::Always,
        } as i32,
        visible_when: q.visible_when.as_ref().map(condition_out),
        critical: q.critical,
        on_failure: consequence_out(q.on_failure) as i32,
    }
}

fn condition_out(c: &VisibilityCondition) -> pb::VisibilityCondition {
    pb::VisibilityCondition {
        operation: match c.operation {
            CombiningOperation::All => pb::CombiningOperation::All,
            CombiningOperation::Any => pb::CombiningOperation::Any,
        } as i32,
        predicates: c
            .predicates
            .iter()
            .map(|p| pb::AnswerPredicate {
                question_id: p.question_id.clone(),
                expected: p.expected.as_ref().map(|e| match e {
                    ExpectedAnswer::Yes(b) => pb::answer_predicate::Expected::Yes(*b),
                    ExpectedAnswer::OptionId(o) => {
                        pb::answer_predicate::Expected::OptionId(o.clone())
                    }
                    ExpectedAnswer::ScaleRange { min, max } => {
                        pb::answer_predicate::Expected::ScaleRange(pb::ScaleRange {
                            min: *min,
                            max: *max,
                        })
                    }
                }),
            })
            .collect(),
    }
}

// ---------------------------------------------------------------------------
// Answers and results

/// Answers from the wire. Never fails: a missing value (or
/// `not_applicable: false`) is a value-less answer, which the core reports.
pub fn answers_in(answers: &[common::Answer]) -> Vec<Answer> {
    answers
        .iter()
        .map(|a| Answer {
            question_id: a.question_id.clone(),
            value: a.value.as_ref().and_then(|v| match v {
                common::answer::Value::Yes(b) => Some(AnswerValue::Yes(*b)),
                common::answer::Value::ScaleValue(s) => Some(AnswerValue::Scale(*s)),
                common::answer::Value::OptionId(o) => Some(AnswerValue::OptionId(o.clone())),
                common::answer::Value::NotApplicable(true) => Some(AnswerValue::NotApplicable),
                common::answer::Value::NotApplicable(false) => None,
            }),
            comment: a.comment.clone(),
        })
        .collect()
}

/// Answer problems for the wire.
pub fn answer_problems_out(p: &[AnswerProblem]) -> Vec<pb::AnswerProblem> {
    p.iter()
        .map(|p| pb::AnswerProblem {
            question_id: p.question_id.clone(),
            kind: answer_problem_kind_out(p.kind) as i32,
            field: p.field.clone(),
            description: p.description.clone(),
        })
        .collect()
}

fn answer_problem_kind_out(k: AnswerProblemKind) -> pb::AnswerProblemKind {
    use AnswerProblemKind as K;
    use pb::AnswerProblemKind as P;
    match k {
        K::UnknownQuestion => P::UnknownQuestion,
        K::DuplicateAnswer => P::DuplicateAnswer,
        K::MissingValue => P::MissingValue,
        K::WrongKind => P::WrongKind,
        K::OutOfRange => P::OutOfRange,
        K::UnknownOption => P::UnknownOption,
        K::NotApplicableNotAllowed => P::NotApplicableNotAllowed,
        K::MissingAnswer => P::MissingAnswer,
        K::CommentRequired => P::CommentRequired,
        K::CommentTooLong => P::CommentTooLong,
    }
}

/// Answer problems as field violations under `prefix` (the request field
/// holding the answers, e.g. `content`; empty for none).
pub fn answer_violations(prefix: &str, p: &[AnswerProblem]) -> Vec<FieldViolation> {
    p.iter()
        .map(|p| {
            let f = FieldViolation::new(p.field.clone(), p.description.clone());
            if prefix.is_empty() {
                f
            } else {
                f.nested(prefix)
            }
        })
        .collect()
}

/// A score for the wire: a `None` score is 0 with its flag false.
pub fn result_out(r: &ScoreResult) -> pb::ScoreResult {
    pb::ScoreResult {
        scoring_method: scoring_method_out(r.scoring_method) as i32,
        total_score: r.total.unwrap_or(0.0),
        total_scored: r.total.is_some(),
        critical_score: r.critical.unwrap_or(0.0),
        critical_scored: r.critical.is_some(),
        non_critical_score: r.non_critical.unwrap_or(0.0),
        non_critical_scored: r.non_critical.is_some(),
        raw_total_score: r.raw_total.unwrap_or(0.0),
        passed: r.passed,
        band: r.band.clone().unwrap_or_default(),
        pass_mark: r.pass_mark,
        sections: r.sections.iter().map(section_result_out).collect(),
        questions: r.questions.iter().map(question_result_out).collect(),
        critical_failures: r.critical_failures.iter().map(failure_out).collect(),
    }
}

fn section_result_out(s: &SectionResult) -> pb::SectionResult {
    pb::SectionResult {
        section_id: s.section_id.clone(),
        visible: s.visible,
        counted: s.counted,
        earned_points: s.earned,
        possible_points: s.possible,
        score: s.score,
        effective_weight: s.effective_weight,
        zeroed_by_question_id: s.zeroed_by.clone().unwrap_or_default(),
    }
}

fn question_result_out(q: &QuestionResult) -> pb::QuestionResult {
    pb::QuestionResult {
        question_id: q.question_id.clone(),
        section_id: q.section_id.clone(),
        status: match q.status {
            QuestionStatus::Answered => pb::QuestionStatus::Answered,
            QuestionStatus::NotApplicable => pb::QuestionStatus::NotApplicable,
            QuestionStatus::Hidden => pb::QuestionStatus::Hidden,
            QuestionStatus::Unanswered => pb::QuestionStatus::Unanswered,
        } as i32,
        earned_points: q.earned,
        possible_points: q.possible,
        failed: q.failed,
        critical: q.critical,
    }
}

fn failure_out(f: &CriticalFailure) -> pb::CriticalFailure {
    pb::CriticalFailure {
        question_id: f.question_id.clone(),
        section_id: f.section_id.clone(),
        consequence: consequence_out(f.consequence) as i32,
        critical: f.critical,
    }
}

// ---------------------------------------------------------------------------
// Settings

/// Settings from the wire: the dispute window unset means the default, zero
/// means no limit.
pub fn settings_in(s: &pb::Settings) -> Result<Settings, earshot_kit::Error> {
    let dispute_window_ms = match &s.dispute_window {
        None => Settings::default().dispute_window_ms,
        Some(d) => duration_in(d, "settings.dispute_window")?,
    };
    Ok(Settings {
        anonymous_evaluation: s.anonymous_evaluation,
        auto_release_on_submit: s.auto_release_on_submit,
        evaluators_may_release: s.evaluators_may_release,
        dispute_window_ms,
        self_evaluation_enabled: s.self_evaluation_enabled,
    })
}

/// Settings for the wire.
pub fn settings_out(s: &Settings, etag: String, updated_at: Option<i64>) -> pb::Settings {
    pb::Settings {
        anonymous_evaluation: s.anonymous_evaluation,
        auto_release_on_submit: s.auto_release_on_submit,
        evaluators_may_release: s.evaluators_may_release,
        dispute_window: Some(duration_out(s.dispute_window_ms)),
        self_evaluation_enabled: s.self_evaluation_enabled,
        etag,
        update_time: updated_at.map(earshot_kit::time::from_millis),
    }
}

/// Milliseconds as a protobuf duration.
pub fn duration_out(ms: i64) -> prost_types::Duration {
    prost_types::Duration {
        seconds: ms.div_euclid(1000),
        nanos: i32::try_from(ms.rem_euclid(1000) * 1_000_000).unwrap_or(0),
    }
}

/// A protobuf duration as milliseconds (negative or malformed: a violation
/// of `field`).
pub fn duration_in(d: &prost_types::Duration, field: &str) -> Result<i64, earshot_kit::Error> {
    if d.seconds < 0 || d.nanos < 0 || d.nanos >= 1_000_000_000 {
        return Err(earshot_kit::Error::invalid(
            field,
            "must be a non-negative duration",
        ));
    }
    d.seconds
        .checked_mul(1000)
        .and_then(|ms| ms.checked_add(i64::from(d.nanos / 1_000_000)))
        .ok_or_else(|| earshot_kit::Error::invalid(field, "is too long"))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::interchange::{DocumentFormat, import};

    const DOC: &str = include_str!("../../tests/fixtures/customer_care.yaml");

    #[test]
    fn definitions_round_trip_through_the_wire_form() {
        let d = import(DocumentFormat::Yaml, DOC.as_bytes()).unwrap();
        let back = definition_in(&definition_out(&d)).unwrap();
        assert_eq!(back, d);
    }

    #[test]
    fn unknown_enum_values_are_field_violations() {
        let mut d = definition_out(&import(DocumentFormat::Yaml, DOC.as_bytes()).unwrap());
        d.scoring_method = 42;
        d.sections[0].questions[0].on_failure = 9;
        d.sections[0].questions[0].comment_required = 9;
        let v = definition_in(&d).unwrap_err();
        let fields: Vec<_> = v.iter().map(|f| f.field.as_str()).collect();
        assert_eq!(
            fields,
            [
                "scoring_method",
                "sections[0].questions[0].comment_required",
                "sections[0].questions[0].on_failure"
            ]
        );
    }

    #[test]
    fn unset_weights_mean_one_and_false_na_is_no_value() {
        let d = pb::ScorecardDefinition {
            sections: vec![pb::Section {
                questions: vec![pb::Question::default()],
                ..Default::default()
            }],
            ..Default::default()
        };
        let m = definition_in(&d).unwrap();
        assert_eq!(m.sections[0].weight, 1.0);
        assert_eq!(m.sections[0].questions[0].weight, 1.0);
        assert_eq!(m.sections[0].questions[0].kind, None);
        let a = answers_in(&[common::Answer {
            question_id: "q".into(),
            value: Some(common::answer::Value::NotApplicable(false)),
            comment: String::new(),
        }]);
        assert_eq!(a[0].value, None);
    }

    #[test]
    fn durations() {
        assert_eq!(duration_in(&duration_out(1_234), "d").unwrap(), 1_234);
        assert!(
            duration_in(
                &prost_types::Duration {
                    seconds: -1,
                    nanos: 0
                },
                "d"
            )
            .is_err()
        );
        assert!(
            duration_in(
                &prost_types::Duration {
                    seconds: i64::MAX,
                    nanos: 0
                },
                "d"
            )
            .is_err()
        );
    }
}
