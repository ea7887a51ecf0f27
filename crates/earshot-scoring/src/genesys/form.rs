//! The Genesys Cloud evaluation form, as its API returns it (the fields
//! Earshot reads; everything else is ignored).

use serde::Deserialize;

/// An evaluation form (`EvaluationForm`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GenesysForm {
    /// The form's name.
    #[serde(default)]
    pub name: Option<String>,
    /// The question groups, in order.
    #[serde(default)]
    pub question_groups: Vec<GenesysGroup>,
}

/// A question group (`EvaluationQuestionGroup`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GenesysGroup {
    /// The group's id.
    #[serde(default)]
    pub id: Option<String>,
    /// The group's name.
    #[serde(default)]
    pub name: Option<String>,
    /// The group's weight (absent: 1).
    #[serde(default)]
    pub weight: Option<f64>,
    /// The evaluator may mark the whole group N/A.
    #[serde(default)]
    pub na_enabled: bool,
    /// Shown only when this holds.
    #[serde(default)]
    pub visibility_condition: Option<GenesysCondition>,
    /// The questions, in order.
    #[serde(default)]
    pub questions: Vec<GenesysQuestion>,
}

/// A question (`EvaluationQuestion`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GenesysQuestion {
    /// The question's id.
    #[serde(default)]
    pub id: Option<String>,
    /// The question text.
    #[serde(default)]
    pub text: Option<String>,
    /// Guidance for the evaluator.
    #[serde(default)]
    pub help_text: Option<String>,
    /// `multipleChoiceQuestion`, `freeTextQuestion`, `npsQuestion`,
    /// `readOnlyTextBlockQuestion`.
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    /// N/A may be answered.
    #[serde(default)]
    pub na_enabled: bool,
    /// A comment is required.
    #[serde(default)]
    pub comments_required: bool,
    /// A fatal question: any answer short of the highest-valued option fails
    /// the evaluation.
    #[serde(default)]
    pub is_kill: bool,
    /// Counts in the critical score.
    #[serde(default)]
    pub is_critical: bool,
    /// Shown only when this holds.
    #[serde(default)]
    pub visibility_condition: Option<GenesysCondition>,
    /// The answer options with their values.
    #[serde(default)]
    pub answer_options: Vec<GenesysAnswerOption>,
}

/// An answer option (`AnswerOption`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GenesysAnswerOption {
    /// The option's id.
    #[serde(default)]
    pub id: Option<String>,
    /// The option's label.
    #[serde(default)]
    pub text: Option<String>,
    /// The points the option earns.
    #[serde(default)]
    pub value: Option<f64>,
}

/// A visibility condition (`VisibilityCondition`).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GenesysCondition {
    /// `AND` or `OR`.
    #[serde(default)]
    pub combining_operation: Option<String>,
    /// Answer-option paths:
    /// `/form/questionGroup/{g}/question/{q}/answer/{a}` or, within the
    /// current group, `../question/{q}/answer/{a}` (zero-based indexes).
    #[serde(default)]
    pub predicates: Vec<serde_json::Value>,
}
