//! Scorecards: the model as written ([`model`]), the rules a publishable one
//! keeps ([`validate`], [`conditions`]) and the compiled, proven-valid form the
//! score math takes ([`ValidScorecard`]).

pub mod conditions;
pub mod limits;
pub mod model;
pub mod validate;

pub use model::{
    AnswerPredicate, ChoiceOption, CombiningOperation, CommentRequirement, ExpectedAnswer,
    FailureConsequence, Question, QuestionKind, ScoreBand, ScorecardDefinition, ScoringMethod,
    Section, VisibilityCondition,
};
pub use validate::ValidScorecard;
