//! Helpers shared by the integration tests: scorecards written as YAML and
//! answers written as short strings.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use earshot_scoring::answers::{Answer, AnswerValue};
use earshot_scoring::interchange::{self, DocumentFormat};
use earshot_scoring::scorecard::{ScorecardDefinition, ValidScorecard};

/// Parses an Earshot YAML document (panics on a parse error: test input).
pub fn definition(yaml: &str) -> ScorecardDefinition {
    interchange::import(DocumentFormat::Yaml, yaml.as_bytes())
        .unwrap_or_else(|e| panic!("test YAML does not parse: {e}"))
}

/// Parses and validates an Earshot YAML document.
pub fn card(yaml: &str) -> ValidScorecard {
    ValidScorecard::parse(definition(yaml)).unwrap_or_else(|e| panic!("invalid test card: {e}"))
}

/// Answers from `"q1=yes q2=no q3=4 q4=@opt q5=na"`; a `!` suffix adds a
/// comment ("q1=no!").
pub fn answers(spec: &str) -> Vec<Answer> {
    spec.split_whitespace()
        .map(|item| {
            let (q, v) = item.split_once('=').expect("q=value");
            let (v, comment) = match v.strip_suffix('!') {
                Some(v) => (v, "see notes"),
                None => (v, ""),
            };
            let value = match v {
                "yes" => AnswerValue::Yes(true),
                "no" => AnswerValue::Yes(false),
                "na" => AnswerValue::NotApplicable,
                o if o.starts_with('@') => AnswerValue::OptionId(o[1..].to_owned()),
                n => AnswerValue::Scale(n.parse().expect("a scale value")),
            };
            Answer::new(q, value).with_comment(comment)
        })
        .collect()
}

/// Asserts two optional scores agree to 1e-9.
#[track_caller]
pub fn assert_score(what: &str, got: Option<f64>, want: Option<f64>) {
    match (got, want) {
        (Some(g), Some(w)) => assert!((g - w).abs() < 1e-9, "{what}: got {g}, want {w}"),
        (g, w) => assert_eq!(g, w, "{what}"),
    }
}
