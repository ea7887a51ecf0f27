//! Scorecard validation and answer-set checks: each rule reports its field
//! path, and every problem is reported at once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{answers, card, definition};
use earshot_scoring::answers::{Answer, AnswerProblemKind, AnswerValue};
use earshot_scoring::score::score_answers;
use earshot_scoring::scorecard::ValidScorecard;

fn violations(yaml: &str) -> Vec<(String, String)> {
    match ValidScorecard::parse(definition(yaml)) {
        Ok(_) => Vec::new(),
        Err(v) => v
            .as_slice()
            .iter()
            .map(|v| (v.field.clone(), v.description.clone()))
            .collect(),
    }
}

#[track_caller]
fn assert_violation(yaml: &str, field: &str, words: &str) {
    let v = violations(yaml);
    assert!(
        v.iter().any(|(f, d)| f == field && d.contains(words)),
        "expected {field}: …{words}… in {v:#?}"
    );
}

const OK: &str = r#"
name: Fine
pass_mark: 80
sections:
  - id: s
    title: S
    questions:
      - { id: a, text: A, kind: { type: yes_no } }
"#;

#[test]
fn a_minimal_card_is_valid() {
    assert!(violations(OK).is_empty());
}

#[test]
fn header_rules() {
    let y = r#"
name: ""
pass_mark: 101
sections: []
"#;
    assert_violation(y, "name", "required");
    assert_violation(y, "pass_mark", "0 to 100");
    assert_violation(y, "sections", "at least one section");
}

#[test]
fn empty_sections_and_weights() {
    let y = r#"
name: W
pass_mark: 50
sections:
  - { id: s0, title: Empty, weight: 0, questions: [] }
  - id: s1
    title: Zero
    weight: -1
    questions:
      - { id: a, text: A, weight: 0, kind: { type: yes_no } }
      - { id: b, text: B, weight: 0, kind: { type: yes_no } }
  - id: s2
    title: Bad weight
    weight: 0
    questions:
      - { id: c, text: C, weight: -2, kind: { type: yes_no } }
"#;
    assert_violation(y, "sections[0].questions", "at least one question");
    assert_violation(y, "sections[1].weight", "negative");
    assert_violation(y, "sections[1].questions", "all question weights are zero");
    assert_violation(y, "sections[2].questions[0].weight", "negative");
    assert_violation(y, "sections", "all section weights are zero");
}

#[test]
fn duplicate_and_malformed_ids() {
    let y = r#"
name: D
pass_mark: 50
sections:
  - id: s
    title: S
    questions:
      - { id: s, text: Same as section, kind: { type: yes_no } }
      - { id: "bad id", text: Space, kind: { type: yes_no } }
      - { id: q, text: Q, kind: { type: yes_no } }
      - { id: q, text: Q again, kind: { type: yes_no } }
"#;
    assert_violation(y, "sections[0].questions[0].id", "duplicate id 's'");
    assert_violation(y, "sections[0].questions[1].id", "letters, digits");
    assert_violation(
        y,
        "sections[0].questions[3].id",
        "first used at sections[0].questions[2].id",
    );
}

#[test]
fn kinds() {
    let y = r#"
name: K
pass_mark: 50
sections:
  - id: s
    title: S
    questions:
      - { id: nokind, text: No kind }
      - { id: sc1, text: Inverted, kind: { type: scale, min: 5, max: 1 } }
      - { id: sc2, text: Pass outside, kind: { type: scale, min: 1, max: 5, pass_from: 9 } }
      - { id: sc3, text: Huge, kind: { type: scale, min: 0, max: 100000 } }
      - id: ch1
        text: Options without points
        kind:
          type: choice
          options:
            - { id: a, label: A }
            - { id: a, label: A again, points: 1 }
      - id: ch2
        text: All zero
        kind:
          type: choice
          options:
            - { id: a, label: A, points: 0 }
            - { id: b, label: B, points: 0 }
      - id: ch3
        text: One option
        kind: { type: choice, options: [ { id: a, label: A, points: 1 } ] }
"#;
    assert_violation(y, "sections[0].questions[0].kind", "needs a kind");
    assert_violation(y, "sections[0].questions[1].scale.max", "greater than min");
    assert_violation(y, "sections[0].questions[2].scale.pass_from", "within");
    assert_violation(y, "sections[0].questions[3].scale.max", "-1000 to 1000");
    assert_violation(
        y,
        "sections[0].questions[4].choice.options[0].points",
        "needs points",
    );
    assert_violation(
        y,
        "sections[0].questions[4].choice.options[1].id",
        "duplicate option id",
    );
    assert_violation(
        y,
        "sections[0].questions[5].choice.options",
        "positive points",
    );
    assert_violation(y, "sections[0].questions[6].choice.options", "at least 2");
}

#[test]
fn bands_must_cover_0_to_100_without_gaps_or_overlaps() {
    let with_bands = |bands: &str| {
        format!(
            "name: B\npass_mark: 50\nbands:\n{bands}\nsections:\n  - id: s\n    title: S\n    questions:\n      - {{ id: a, text: A, kind: {{ type: yes_no }} }}\n"
        )
    };
    let ok = with_bands(
        "  - { name: Low, min_score: 0, max_score: 60 }\n  - { name: High, min_score: 60, max_score: 100 }",
    );
    assert!(violations(&ok).is_empty(), "{:?}", violations(&ok));

    let gap = with_bands(
        "  - { name: Low, min_score: 0, max_score: 50 }\n  - { name: High, min_score: 60, max_score: 100 }",
    );
    assert_violation(&gap, "bands[1].min_score", "gap");

    let overlap = with_bands(
        "  - { name: High, min_score: 50, max_score: 100 }\n  - { name: Low, min_score: 0, max_score: 60 }",
    );
    assert_violation(&overlap, "bands[0].min_score", "overlaps bands[1]");

    let short = with_bands(
        "  - { name: Low, min_score: 10, max_score: 50 }\n  - { name: Low, min_score: 50, max_score: 90 }",
    );
    assert_violation(&short, "bands[0].min_score", "nothing covers [0, 10)");
    assert_violation(&short, "bands[1].max_score", "nothing covers [90, 100]");
    assert_violation(&short, "bands[1].name", "duplicate band name");

    let inverted = with_bands("  - { name: X, min_score: 80, max_score: 20 }");
    assert_violation(&inverted, "bands[0].max_score", "greater than min_score");
}

#[test]
fn conditions_point_backwards_only() {
    let y = r#"
name: C
pass_mark: 50
sections:
  - id: s1
    title: S1
    visible_when: { predicates: [ { question_id: a, expected: { yes: true } } ] }
    questions:
      - id: a
        text: A
        kind: { type: yes_no }
        visible_when: { predicates: [ { question_id: b, expected: { yes: true } } ] }
      - id: b
        text: B
        kind: { type: yes_no }
        visible_when: { predicates: [ { question_id: a, expected: { yes: true } } ] }
      - id: c
        text: C
        kind: { type: yes_no }
        visible_when: { predicates: [ { question_id: c, expected: { yes: true } } ] }
      - id: d
        text: D
        kind: { type: yes_no }
        visible_when:
          operation: any
          predicates:
            - { question_id: ghost, expected: { yes: true } }
            - { question_id: a, expected: { option_id: x } }
            - { question_id: a }
      - id: e
        text: E
        kind: { type: yes_no }
        visible_when: { predicates: [] }
"#;
    assert_violation(
        y,
        "sections[0].visible_when.predicates[0].question_id",
        "its own questions",
    );
    assert_violation(
        y,
        "sections[0].questions[0].visible_when.predicates[0].question_id",
        "points forward to 'b'",
    );
    assert_violation(
        y,
        "sections[0].questions[0].visible_when",
        "cycle: a -> b -> a",
    );
    assert_violation(
        y,
        "sections[0].questions[2].visible_when.predicates[0].question_id",
        "itself",
    );
    assert_violation(
        y,
        "sections[0].questions[3].visible_when.predicates[0].question_id",
        "unknown question 'ghost'",
    );
    assert_violation(
        y,
        "sections[0].questions[3].visible_when.predicates[1].expected",
        "wrong kind",
    );
    assert_violation(
        y,
        "sections[0].questions[3].visible_when.predicates[2].expected",
        "required",
    );
    assert_violation(
        y,
        "sections[0].questions[4].visible_when.predicates",
        "at least one predicate",
    );
}

#[test]
fn condition_option_and_scale_checks() {
    let y = r#"
name: C
pass_mark: 50
sections:
  - id: s1
    title: S1
    questions:
      - { id: ch, text: Choice, kind: { type: choice, options: [ { id: x, label: X, points: 1 }, { id: y, label: Y, points: 0 } ] } }
      - { id: sc, text: Scale, kind: { type: scale, min: 1, max: 5 } }
      - id: q
        text: Q
        kind: { type: yes_no }
        visible_when:
          predicates:
            - { question_id: ch, expected: { option_id: z } }
            - { question_id: sc, expected: { scale_range: { min: 4, max: 2 } } }
"#;
    assert_violation(
        y,
        "sections[0].questions[2].visible_when.predicates[0].option_id",
        "no option 'z'",
    );
    assert_violation(
        y,
        "sections[0].questions[2].visible_when.predicates[1].scale_range",
        "min must not exceed max",
    );
}

#[test]
fn documents_reject_unknown_fields_and_double_expectations() {
    use earshot_scoring::interchange::{DocumentFormat, import};
    let typo = "name: T\npass_mark: 1\nsections: []\nwieght: 3\n";
    let err = import(DocumentFormat::Yaml, typo.as_bytes()).unwrap_err();
    assert!(err.to_string().contains("wieght"), "{err}");
    let two = r#"
name: T
pass_mark: 1
sections:
  - id: s
    title: S
    questions:
      - { id: a, text: A, kind: { type: yes_no } }
      - id: b
        text: B
        kind: { type: yes_no }
        visible_when: { predicates: [ { question_id: a, expected: { yes: true, option_id: x } } ] }
"#;
    let err = import(DocumentFormat::Yaml, two.as_bytes()).unwrap_err();
    assert!(err.to_string().contains("exactly one"), "{err}");
}

const ANSWERED: &str = r#"
name: Answers
pass_mark: 50
sections:
  - id: s
    title: S
    questions:
      - { id: yn, text: Y/N, kind: { type: yes_no }, comment_required: when_failed }
      - { id: sc, text: Scale, kind: { type: scale, min: 1, max: 5 }, not_applicable_allowed: true }
      - { id: ch, text: Choice, kind: { type: choice, options: [ { id: x, label: X, points: 1 }, { id: y, label: Y, points: 0 } ] } }
      - { id: req, text: Required, kind: { type: yes_no } }
"#;

#[test]
fn every_answer_problem_is_reported_with_its_path() {
    let sc = card(ANSWERED);
    let given = vec![
        Answer::new("ghost", AnswerValue::Yes(true)),
        Answer::new("yn", AnswerValue::Yes(false)),
        Answer::new("yn", AnswerValue::Yes(true)),
        Answer::new("sc", AnswerValue::Scale(9)),
        Answer::new("ch", AnswerValue::OptionId("z".into())),
        Answer {
            question_id: "req".into(),
            value: None,
            comment: "x".repeat(4_001),
        },
    ];
    let scored = score_answers(&sc, &given);
    let got: Vec<(AnswerProblemKind, &str)> = scored
        .problems
        .iter()
        .map(|p| (p.kind, p.field.as_str()))
        .collect();
    use AnswerProblemKind as K;
    for want in [
        (K::UnknownQuestion, "answers[0].question_id"),
        (K::DuplicateAnswer, "answers[2].question_id"),
        (K::OutOfRange, "answers[3].scale_value"),
        (K::UnknownOption, "answers[4].option_id"),
        (K::CommentTooLong, "answers[5].comment"),
        (K::MissingValue, "answers[5].value"),
        (K::CommentRequired, "answers[1].comment"),
        (K::MissingAnswer, "answers"),
    ] {
        assert!(got.contains(&want), "missing {want:?} in {got:#?}");
    }
    // The first yn answer (no) is used: it fails and earns 0.
    assert!(scored.result.questions[0].failed);
}

#[test]
fn wrong_kind_and_na_not_allowed() {
    let sc = card(ANSWERED);
    let scored = score_answers(
        &sc,
        &[
            Answer::new("yn", AnswerValue::Scale(3)),
            Answer::new("sc", AnswerValue::NotApplicable),
            Answer::new("ch", AnswerValue::NotApplicable),
            Answer::new("req", AnswerValue::OptionId("x".into())),
        ],
    );
    let got: Vec<(AnswerProblemKind, &str)> = scored
        .problems
        .iter()
        .map(|p| (p.kind, p.field.as_str()))
        .collect();
    use AnswerProblemKind as K;
    assert!(
        got.contains(&(K::WrongKind, "answers[0].scale_value")),
        "{got:?}"
    );
    assert!(
        got.contains(&(K::WrongKind, "answers[3].option_id")),
        "{got:?}"
    );
    assert!(
        got.contains(&(K::NotApplicableNotAllowed, "answers[2].not_applicable")),
        "{got:?}"
    );
    // sc allows N/A: no problem for it.
    assert!(!scored.problems.iter().any(|p| p.question_id == "sc"));
}

#[test]
fn a_commented_failure_is_complete() {
    let sc = card(ANSWERED);
    let scored = score_answers(&sc, &answers("yn=no! sc=na ch=@y req=yes"));
    assert!(scored.is_complete(), "{:?}", scored.problems);
    // yn 0, sc N/A, ch 0, req 1 → 1/3.
    common::assert_score("total", scored.result.total, Some(33.333333333));
}
