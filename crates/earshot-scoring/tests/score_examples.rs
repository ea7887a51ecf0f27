//! The score math as a table of hand-worked examples (issue 4 "Done when"):
//! weights, N/A, an all-N/A section, hidden questions and sections, critical
//! failures at question (flag), section and evaluation level, scale and choice
//! questions, bands and the pass mark. Each row's arithmetic is in its
//! comment; docs/score-math.md explains the formulas.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{answers, assert_score, card};
use earshot_scoring::answers::AnswerProblemKind;
use earshot_scoring::score::{QuestionStatus, score_answers};
use earshot_scoring::scorecard::FailureConsequence;

/// Weights, N/A and bands. s1 (weight 1): q1 yes/no w1, q2 yes/no w3 (N/A ok);
/// s2 (weight 3): q3 yes/no w1 (N/A ok), q4 scale 1..5 w1 (N/A ok).
const WEIGHTS: &str = r#"
name: Weights
pass_mark: 70
bands:
  - { name: Low, min_score: 0, max_score: 70 }
  - { name: Good, min_score: 70, max_score: 90 }
  - { name: Great, min_score: 90, max_score: 100 }
sections:
  - id: s1
    title: Opening
    weight: 1
    questions:
      - { id: q1, text: Greeted, kind: { type: yes_no } }
      - { id: q2, text: Verified, weight: 3, not_applicable_allowed: true, kind: { type: yes_no } }
  - id: s2
    title: Resolution
    weight: 3
    questions:
      - { id: q3, text: Resolved, not_applicable_allowed: true, kind: { type: yes_no } }
      - { id: q4, text: Empathy, not_applicable_allowed: true, kind: { type: scale, min: 1, max: 5 } }
"#;

/// Hidden questions and sections. s1: t (trigger, weight 0), w (shown when t
/// = yes, weight 2), r (weight 1). s2 (weight 1) is shown only when t = yes.
const HIDDEN: &str = r#"
name: Hidden
pass_mark: 50
sections:
  - id: s1
    title: Call
    questions:
      - { id: t, text: Transfer needed?, weight: 0, kind: { type: yes_no } }
      - id: w
        text: Warm transfer?
        weight: 2
        kind: { type: yes_no }
        visible_when: { predicates: [ { question_id: t, expected: { yes: true } } ] }
      - { id: r, text: Resolved?, kind: { type: yes_no } }
  - id: s2
    title: Transfer details
    visible_when: { predicates: [ { question_id: t, expected: { yes: true } } ] }
    questions:
      - { id: d, text: Documented?, kind: { type: yes_no } }
"#;

/// Criticals, scale and choice. compliance (w1): c1 critical zero_evaluation,
/// c2 critical zero_section, c3 critical flag-only, n1 plain; soft (w1): n2
/// scale 0..10 w1, n3 choice exceeds 2 / meets 1 / below 0, w2.
const CRITICAL: &str = r#"
name: Criticals
pass_mark: 60
sections:
  - id: compliance
    title: Compliance
    questions:
      - { id: c1, text: Identity verified, critical: true, on_failure: zero_evaluation, kind: { type: yes_no } }
      - { id: c2, text: Disclosure read, critical: true, on_failure: zero_section, kind: { type: yes_no } }
      - { id: c3, text: Consent recorded, critical: true, kind: { type: yes_no } }
      - { id: n1, text: Polite, kind: { type: yes_no } }
  - id: soft
    title: Soft skills
    questions:
      - { id: n2, text: Rapport, kind: { type: scale, min: 0, max: 10 } }
      - id: n3
        text: Ownership
        weight: 2
        kind:
          type: choice
          options:
            - { id: exceeds, label: Exceeds, points: 2 }
            - { id: meets, label: Meets, points: 1 }
            - { id: below, label: Below, points: 0 }
"#;

struct Row {
    name: &'static str,
    card: &'static str,
    answers: &'static str,
    total: Option<f64>,
    raw_total: Option<f64>,
    critical: Option<f64>,
    non_critical: Option<f64>,
    passed: bool,
    band: Option<&'static str>,
}

const PERFECT_CRIT: &str = "c1=yes c2=yes c3=yes n1=yes n2=10 n3=@exceeds";

#[rustfmt::skip]
const ROWS: &[Row] = &[
    // All best answers: every share 1.
    Row { name: "weights: perfect", card: WEIGHTS, answers: "q1=yes q2=yes q3=yes q4=5",
          total: Some(100.0), raw_total: Some(100.0), critical: None, non_critical: Some(100.0),
          passed: true, band: Some("Great") },
    // s1 = 1/(1+3) = 0.25; s2 = (1 + (3-1)/(5-1))/2 = 0.75;
    // total = (1·0.25 + 3·0.75)/(1+3) = 2.5/4 = 62.5.
    Row { name: "weights: question and section weights", card: WEIGHTS, answers: "q1=yes q2=no q3=yes q4=3",
          total: Some(62.5), raw_total: Some(62.5), critical: None, non_critical: Some(62.5),
          passed: false, band: Some("Low") },
    // q2 N/A leaves s1 = 1/1; s2 = (0 + 1)/2 = 0.5; total = (1 + 1.5)/4 = 62.5.
    Row { name: "N/A drops out of the denominator", card: WEIGHTS, answers: "q1=yes q2=na q3=no q4=5",
          total: Some(62.5), raw_total: Some(62.5), critical: None, non_critical: Some(62.5),
          passed: false, band: Some("Low") },
    // s2 all N/A drops out: total = s1 = 1/4 = 25 (not (0.25 + 3·0)/4).
    Row { name: "all-N/A section drops out of the total", card: WEIGHTS, answers: "q1=yes q2=no q3=na q4=na",
          total: Some(25.0), raw_total: Some(25.0), critical: None, non_critical: Some(25.0),
          passed: false, band: Some("Low") },
    // s1: q2 N/A, q1 yes → 1; s2: q3 yes, q4 = 4 → (1 + 0.75)/2 = 0.875;
    // total = (1 + 3·0.875)/4 = 3.625/4 = 90.625 → Great (90 ≤ s < 100).
    Row { name: "band boundary", card: WEIGHTS, answers: "q1=yes q2=na q3=yes q4=4",
          total: Some(90.625), raw_total: Some(90.625), critical: None, non_critical: Some(90.625),
          passed: true, band: Some("Great") },
    // t = no hides w (its answer is ignored) and all of s2:
    // s1 = (0 + 1)/(0 + 1) = 1 (t has weight 0); total = 100.
    Row { name: "hidden question and section count as N/A", card: HIDDEN, answers: "t=no w=no r=yes",
          total: Some(100.0), raw_total: Some(100.0), critical: None, non_critical: Some(100.0),
          passed: true, band: None },
    // t = yes shows w and s2: s1 = (0 + 0 + 1)/(0 + 2 + 1) = 1/3; s2 = 1;
    // total = (1/3 + 1)/2 = 2/3.
    Row { name: "shown question counts", card: HIDDEN, answers: "t=yes w=no r=yes d=yes",
          total: Some(66.666666667), raw_total: Some(66.666666667), critical: None,
          non_critical: Some(66.666666667), passed: true, band: None },
    Row { name: "critical: perfect", card: CRITICAL, answers: PERFECT_CRIT,
          total: Some(100.0), raw_total: Some(100.0), critical: Some(100.0), non_critical: Some(100.0),
          passed: true, band: None },
    // c3 (flag only) fails: compliance = 3/4; soft = 1; total = 87.5.
    // critical = c1,c2,c3 = 2/3 (soft has none and drops out);
    // non-critical = (n1 1/1 + soft 1)/2 = 100. Still passes.
    Row { name: "critical, flag only", card: CRITICAL, answers: "c1=yes c2=yes c3=no n1=yes n2=10 n3=@exceeds",
          total: Some(87.5), raw_total: Some(87.5), critical: Some(66.666666667), non_critical: Some(100.0),
          passed: true, band: None },
    // c2 fails, zero_section: compliance = 0; soft = 1 → total 50 < 60;
    // raw = (3/4 + 1)/2 = 87.5.
    Row { name: "critical, zero the section", card: CRITICAL, answers: "c1=yes c2=no c3=yes n1=yes n2=10 n3=@exceeds",
          total: Some(50.0), raw_total: Some(87.5), critical: Some(66.666666667), non_critical: Some(100.0),
          passed: false, band: None },
    // c1 fails, zero_evaluation: total 0, raw 87.5, fails.
    Row { name: "critical, zero the evaluation", card: CRITICAL, answers: "c1=no c2=yes c3=yes n1=yes n2=10 n3=@exceeds",
          total: Some(0.0), raw_total: Some(87.5), critical: Some(66.666666667), non_critical: Some(100.0),
          passed: false, band: None },
    // soft = (1·0.7 + 2·(1/2))/3 = 1.7/3; compliance = 1;
    // total = (1 + 1.7/3)/2 = 0.78333…; non-critical = (n1 1 + soft 1.7/3)/2.
    Row { name: "scale and choice shares", card: CRITICAL, answers: "c1=yes c2=yes c3=yes n1=yes n2=7 n3=@meets",
          total: Some(78.333333333), raw_total: Some(78.333333333), critical: Some(100.0),
          non_critical: Some(78.333333333), passed: true, band: None },
];

#[test]
fn worked_examples() {
    for row in ROWS {
        let sc = card(row.card);
        let scored = score_answers(&sc, &answers(row.answers));
        assert!(
            scored.problems.is_empty(),
            "{}: unexpected problems {:?}",
            row.name,
            scored.problems
        );
        let r = &scored.result;
        assert_score(&format!("{}: total", row.name), r.total, row.total);
        assert_score(
            &format!("{}: raw total", row.name),
            r.raw_total,
            row.raw_total,
        );
        assert_score(&format!("{}: critical", row.name), r.critical, row.critical);
        assert_score(
            &format!("{}: non-critical", row.name),
            r.non_critical,
            row.non_critical,
        );
        assert_eq!(r.passed, row.passed, "{}: passed", row.name);
        assert_eq!(r.band.as_deref(), row.band, "{}: band", row.name);
    }
}

#[test]
fn section_and_question_details() {
    let sc = card(WEIGHTS);
    let r = score_answers(&sc, &answers("q1=yes q2=no q3=na q4=na")).result;
    let s2 = &r.sections[1];
    assert!(!s2.counted);
    assert!(s2.visible);
    assert_eq!(s2.effective_weight, 0.0);
    assert_eq!(r.sections[0].score, 25.0);
    let q2 = &r.questions[1];
    assert_eq!((q2.earned, q2.possible, q2.failed), (0.0, 3.0, true));
    assert_eq!(r.questions[2].status, QuestionStatus::NotApplicable);

    let sc = card(HIDDEN);
    let r = score_answers(&sc, &answers("t=no w=no r=yes")).result;
    assert_eq!(r.questions[1].status, QuestionStatus::Hidden);
    assert_eq!(r.questions[3].status, QuestionStatus::Hidden);
    assert!(!r.sections[1].visible);
    assert!(!r.sections[1].counted);
}

#[test]
fn critical_failures_are_listed_with_consequences() {
    let sc = card(CRITICAL);
    let r = score_answers(&sc, &answers("c1=no c2=no c3=no n1=no n2=0 n3=@below")).result;
    let listed: Vec<(&str, FailureConsequence)> = r
        .critical_failures
        .iter()
        .map(|f| (f.question_id.as_str(), f.consequence))
        .collect();
    assert_eq!(
        listed,
        vec![
            ("c1", FailureConsequence::ZeroEvaluation),
            ("c2", FailureConsequence::ZeroSection),
            ("c3", FailureConsequence::None),
        ]
    );
    assert_eq!(r.sections[0].zeroed_by.as_deref(), Some("c2"));
    assert_eq!(r.total, Some(0.0));
    assert_eq!(r.critical, Some(0.0));
}

#[test]
fn zeroed_section_counts_even_when_the_rest_is_na() {
    // compliance zeroed by c2; soft all N/A is impossible (no N/A allowed), so
    // use a dedicated card: a zero_section question alone with weight 0 fails.
    let sc = card(
        r#"
name: Z
pass_mark: 0
sections:
  - id: a
    title: A
    questions:
      - { id: gate, text: Gate, weight: 0, critical: true, on_failure: zero_section, kind: { type: yes_no } }
      - { id: x, text: X, not_applicable_allowed: true, kind: { type: yes_no } }
  - id: b
    title: B
    questions:
      - { id: y, text: Y, kind: { type: yes_no } }
"#,
    );
    // a: gate fails (0 of 0), x N/A → nothing possible, but zeroed → counts as 0.
    // total = (0 + 1)/2 = 50.
    let r = score_answers(&sc, &answers("gate=no x=na y=yes")).result;
    assert_score("total", r.total, Some(50.0));
    assert_score("raw", r.raw_total, Some(100.0));
    assert!(r.sections[0].counted);
}

#[test]
fn nothing_applicable_is_not_scored_and_does_not_pass() {
    let sc = card(WEIGHTS);
    // q1 is required, so leave it unanswered: a preview still scores.
    let scored = score_answers(&sc, &answers("q2=na q3=na q4=na"));
    assert_eq!(scored.result.total, None);
    assert_eq!(scored.result.raw_total, None);
    assert!(!scored.result.passed);
    assert_eq!(scored.result.band, None);
    assert_eq!(scored.problems.len(), 1);
    assert_eq!(scored.problems[0].kind, AnswerProblemKind::MissingAnswer);
    assert_eq!(
        scored.result.questions[0].status,
        QuestionStatus::Unanswered
    );
}

#[test]
fn floating_point_noise_is_rounded_away() {
    // 7 of 10 equal questions: 0.7 · 100 is 70.00000000000001 in f64.
    let mut yaml = String::from(
        "name: N\npass_mark: 70\nsections:\n  - id: s\n    title: S\n    questions:\n",
    );
    for i in 0..10 {
        yaml.push_str(&format!(
            "      - {{ id: q{i}, text: Q, kind: {{ type: yes_no }} }}\n"
        ));
    }
    let sc = card(&yaml);
    let spec: String = (0..10)
        .map(|i| format!("q{i}={} ", if i < 7 { "yes" } else { "no" }))
        .collect();
    let r = score_answers(&sc, &answers(&spec)).result;
    assert_eq!(r.total, Some(70.0));
    assert!(r.passed);
}

#[test]
fn no_pass_answer_and_pass_from() {
    let sc = card(
        r#"
name: P
pass_mark: 50
sections:
  - id: s
    title: S
    questions:
      - { id: interrupt, text: Interrupted?, kind: { type: yes_no, pass_answer: false }, critical: true }
      - { id: tone, text: Tone, kind: { type: scale, min: 1, max: 5, pass_from: 3 }, critical: true }
"#,
    );
    let r = score_answers(&sc, &answers("interrupt=no tone=3")).result;
    // interrupt "no" passes (1); tone 3 → (3-1)/4 = 0.5 and passes (≥ 3).
    assert_score("total", r.total, Some(75.0));
    assert!(r.critical_failures.is_empty());
    let r = score_answers(&sc, &answers("interrupt=yes tone=2")).result;
    assert_score("total", r.total, Some(12.5));
    assert_eq!(r.critical_failures.len(), 2);
}

#[test]
fn any_and_all_conditions_and_scale_ranges() {
    let sc = card(
        r#"
name: Any
pass_mark: 0
sections:
  - id: s
    title: S
    questions:
      - { id: mood, text: Mood, weight: 0, kind: { type: scale, min: 1, max: 5 } }
      - { id: angry, text: Angry?, weight: 0, kind: { type: yes_no } }
      - id: calm
        text: De-escalated?
        kind: { type: yes_no }
        visible_when:
          operation: any
          predicates:
            - { question_id: mood, expected: { scale_range: { min: 1, max: 2 } } }
            - { question_id: angry, expected: { yes: true } }
      - id: both
        text: Escalated to a supervisor?
        kind: { type: yes_no }
        visible_when:
          predicates:
            - { question_id: mood, expected: { scale_range: { min: 1, max: 2 } } }
            - { question_id: angry, expected: { yes: true } }
      - { id: r, text: Resolved?, kind: { type: yes_no } }
"#,
    );
    let status = |spec: &str| {
        score_answers(&sc, &answers(spec))
            .result
            .questions
            .iter()
            .map(|q| q.status)
            .collect::<Vec<_>>()
    };
    use QuestionStatus::{Answered as A, Hidden as H};
    assert_eq!(
        status("mood=4 angry=no calm=no both=no r=yes"),
        [A, A, H, H, A]
    );
    assert_eq!(
        status("mood=2 angry=no calm=no both=no r=yes"),
        [A, A, A, H, A]
    );
    assert_eq!(
        status("mood=5 angry=yes calm=no both=no r=yes"),
        [A, A, A, H, A]
    );
    assert_eq!(
        status("mood=1 angry=yes calm=no both=no r=yes"),
        [A, A, A, A, A]
    );
    // An N/A or missing trigger matches nothing; the missing one is reported.
    let scored = score_answers(&sc, &answers("angry=no calm=no r=yes"));
    assert_eq!(scored.result.questions[2].status, H);
    assert_eq!(scored.problems.len(), 1);
}
