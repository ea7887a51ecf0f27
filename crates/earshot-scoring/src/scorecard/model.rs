//! The scorecard as written: plain data, mirroring
//! `earshot.scoring.v1.ScorecardDefinition` field for field, and Earshot's own
//! YAML/JSON import format (serde, snake_case).
//!
//! Nothing here is validated: a draft may be half written. A
//! [`ValidScorecard`](super::ValidScorecard) is the proof that a definition
//! keeps every rule, and the only thing the score math accepts.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// The content of a scorecard: what a draft edits and a version freezes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScorecardDefinition {
    /// Display name, 1 to 200 characters.
    pub name: String,
    /// Free text shown to evaluators.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// How answers become a score.
    #[serde(default)]
    pub scoring_method: ScoringMethod,
    /// The lowest total (0 to 100) that passes.
    pub pass_mark: f64,
    /// Named score bands covering [0, 100] without gap or overlap, or none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub bands: Vec<ScoreBand>,
    /// The sections in display order.
    pub sections: Vec<Section>,
    /// Free-form labels for integrators.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub labels: BTreeMap<String, String>,
}

/// How answers become a score (see `docs/score-math.md`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ScoringMethod {
    /// Question-weighted shares, section-weighted mean of sections.
    #[default]
    Earshot,
    /// Genesys Cloud's Σ(earned × group weight) / Σ(possible × group weight).
    Genesys,
}

/// What a failed question does beyond losing its points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureConsequence {
    /// Nothing more; on a critical question this is "flag only".
    #[default]
    None,
    /// The question's section scores 0 (and still counts).
    ZeroSection,
    /// The total is 0 and the evaluation does not pass.
    ZeroEvaluation,
    /// The evaluation does not pass; its score is kept (Genesys "kill").
    FailEvaluation,
}

/// When a question's answer needs a comment from the evaluator.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CommentRequirement {
    /// Comments are optional.
    #[default]
    Never,
    /// A comment is required when the answer fails (see `Question::critical`
    /// in the contract for what "fails" means per kind).
    WhenFailed,
    /// A comment is required on every answer except N/A (Genesys Cloud's
    /// `commentsRequired`).
    Always,
}

/// A named range of totals: `min_score <= s < max_score`, or `s = 100` when
/// `max_score` is 100.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScoreBand {
    /// Display name, unique within the scorecard.
    pub name: String,
    /// Inclusive lower bound.
    pub min_score: f64,
    /// Exclusive upper bound (inclusive at 100).
    pub max_score: f64,
}

/// A weighted group of questions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Section {
    /// Identifier, unique among all section and question ids.
    pub id: String,
    /// Display title.
    pub title: String,
    /// Help text.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub description: String,
    /// Relative weight of the section in the total.
    #[serde(default = "one")]
    pub weight: f64,
    /// The whole section may be answered N/A.
    #[serde(default, skip_serializing_if = "is_false")]
    pub not_applicable_allowed: bool,
    /// Shown only when this holds (refers to earlier sections only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visible_when: Option<VisibilityCondition>,
    /// The questions in display order.
    pub questions: Vec<Question>,
}

/// One question.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Question {
    /// Identifier, unique among all section and question ids.
    pub id: String,
    /// The question text.
    pub text: String,
    /// Guidance for the evaluator.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub help_text: String,
    /// The answer kind; `None` only in an unfinished draft.
    #[serde(default)]
    pub kind: Option<QuestionKind>,
    /// Relative weight within the section.
    #[serde(default = "one")]
    pub weight: f64,
    /// N/A may be answered.
    #[serde(default, skip_serializing_if = "is_false")]
    pub not_applicable_allowed: bool,
    /// When an answer needs a comment.
    #[serde(default, skip_serializing_if = "is_never")]
    pub comment_required: CommentRequirement,
    /// Shown only when this holds (refers to earlier questions only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub visible_when: Option<VisibilityCondition>,
    /// Counts in the critical score; failures are listed.
    #[serde(default, skip_serializing_if = "is_false")]
    pub critical: bool,
    /// What a failure does beyond the lost points.
    #[serde(default, skip_serializing_if = "is_none_consequence")]
    pub on_failure: FailureConsequence,
}

/// The answer kind of a question.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
pub enum QuestionKind {
    /// Yes or no; `pass_answer` earns the points.
    YesNo {
        /// The passing answer (usually yes = `true`).
        #[serde(default = "yes")]
        pass_answer: bool,
    },
    /// An integer scale `min..=max`.
    Scale {
        /// Lowest point.
        min: i32,
        /// Highest point.
        max: i32,
        /// Values below fail; `None` means `max`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        pass_from: Option<i32>,
    },
    /// One option among several, each with points.
    Choice {
        /// The options in display order.
        options: Vec<ChoiceOption>,
    },
}

/// One option of a choice question.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChoiceOption {
    /// Identifier, unique within the question.
    pub id: String,
    /// Display label.
    pub label: String,
    /// Points earned; `None` is a validation error ("option without points").
    #[serde(default)]
    pub points: Option<f64>,
}

/// Shows a section or question only when earlier answers match.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VisibilityCondition {
    /// How predicates combine.
    #[serde(default)]
    pub operation: CombiningOperation,
    /// The predicates (1 to 20).
    pub predicates: Vec<AnswerPredicate>,
}

/// AND or OR.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum CombiningOperation {
    /// Every predicate holds.
    #[default]
    All,
    /// At least one predicate holds.
    Any,
}

/// Holds when an earlier, visible question has a matching answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnswerPredicate {
    /// The question tested.
    pub question_id: String,
    /// The expected answer; `None` only in an unfinished draft.
    #[serde(default)]
    pub expected: Option<ExpectedAnswer>,
}

/// The answer a predicate expects. In documents it is written like the proto
/// oneof: exactly one of `yes`, `option_id` or `scale_range`
/// (`expected: { option_id: partial }`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "ExpectedDoc", into = "ExpectedDoc")]
pub enum ExpectedAnswer {
    /// A yes/no answer.
    Yes(bool),
    /// A choice answer with this option id.
    OptionId(String),
    /// A scale answer within `min..=max`.
    ScaleRange {
        /// Lowest matching value.
        min: i32,
        /// Highest matching value.
        max: i32,
    },
}

/// The document form of [`ExpectedAnswer`] (YAML has no friendly enum form).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ExpectedDoc {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    yes: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    option_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    scale_range: Option<ScaleRangeDoc>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ScaleRangeDoc {
    min: i32,
    max: i32,
}

impl TryFrom<ExpectedDoc> for ExpectedAnswer {
    type Error = &'static str;

    fn try_from(d: ExpectedDoc) -> Result<Self, Self::Error> {
        match (d.yes, d.option_id, d.scale_range) {
            (Some(b), None, None) => Ok(Self::Yes(b)),
            (None, Some(o), None) => Ok(Self::OptionId(o)),
            (None, None, Some(r)) => Ok(Self::ScaleRange {
                min: r.min,
                max: r.max,
            }),
            _ => Err("set exactly one of `yes`, `option_id` or `scale_range`"),
        }
    }
}

impl From<ExpectedAnswer> for ExpectedDoc {
    fn from(e: ExpectedAnswer) -> Self {
        match e {
            ExpectedAnswer::Yes(b) => Self {
                yes: Some(b),
                ..Self::default()
            },
            ExpectedAnswer::OptionId(o) => Self {
                option_id: Some(o),
                ..Self::default()
            },
            ExpectedAnswer::ScaleRange { min, max } => Self {
                scale_range: Some(ScaleRangeDoc { min, max }),
                ..Self::default()
            },
        }
    }
}

fn one() -> f64 {
    1.0
}

fn yes() -> bool {
    true
}

fn is_false(b: &bool) -> bool {
    !*b
}

fn is_never(c: &CommentRequirement) -> bool {
    *c == CommentRequirement::Never
}

fn is_none_consequence(c: &FailureConsequence) -> bool {
    *c == FailureConsequence::None
}
