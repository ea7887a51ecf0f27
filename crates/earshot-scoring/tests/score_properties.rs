//! Property tests of the score math (issue 4 "Done when"): scores stay in
//! [0, 100] and are never NaN; a score is monotone in any single answer's
//! points; it is invariant under reordering of the answers (bit for bit) and
//! of the sections; documents round-trip through YAML and JSON.
//!
//! Scorecards are generated with every question kind, weights including 0,
//! N/A, criticals with every consequence, both scoring methods and (where the
//! property allows) conditional visibility. Monotonicity is stated for
//! scorecards without conditions: with conditions, raising one answer can
//! reveal other questions, which is a different scorecard's worth of points
//! (see docs/score-math.md).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use earshot_scoring::answers::{Answer, AnswerValue};
use earshot_scoring::interchange::{self, DocumentFormat};
use earshot_scoring::score::{ScoreResult, score_answers};
use earshot_scoring::scorecard::{
    AnswerPredicate, ChoiceOption, CombiningOperation, CommentRequirement, ExpectedAnswer,
    FailureConsequence, Question, QuestionKind, ScorecardDefinition, ScoringMethod, Section,
    ValidScorecard, VisibilityCondition,
};
use proptest::prelude::*;
use proptest::sample::Index;

fn arb_kind() -> impl Strategy<Value = QuestionKind> {
    prop_oneof![
        any::<bool>().prop_map(|pass_answer| QuestionKind::YesNo { pass_answer }),
        (-5i32..5, 1i32..8, any::<Index>()).prop_map(|(min, span, at)| {
            let pass_from = min + i32::try_from(at.index(span as usize + 1)).unwrap();
            QuestionKind::Scale {
                min,
                max: min + span,
                pass_from: Some(pass_from),
            }
        }),
        prop::collection::vec(0u32..6, 2..5).prop_map(|mut pts| {
            if pts.iter().all(|p| *p == 0) {
                pts[0] = 3;
            }
            QuestionKind::Choice {
                options: pts
                    .into_iter()
                    .enumerate()
                    .map(|(i, p)| ChoiceOption {
                        id: format!("o{i}"),
                        label: format!("Option {i}"),
                        points: Some(f64::from(p)),
                    })
                    .collect(),
            }
        }),
    ]
}

fn arb_consequence() -> impl Strategy<Value = FailureConsequence> {
    prop_oneof![
        3 => Just(FailureConsequence::None),
        1 => Just(FailureConsequence::ZeroSection),
        1 => Just(FailureConsequence::ZeroEvaluation),
        1 => Just(FailureConsequence::FailEvaluation),
    ]
}

type QSpec = (QuestionKind, u32, bool, bool, FailureConsequence);

fn arb_question() -> impl Strategy<Value = QSpec> {
    (
        arb_kind(),
        0u32..4,
        any::<bool>(),
        any::<bool>(),
        arb_consequence(),
    )
}

type SSpec = (u32, bool, Vec<QSpec>);

fn arb_section() -> impl Strategy<Value = SSpec> {
    (
        0u32..4,
        any::<bool>(),
        prop::collection::vec(arb_question(), 1..5),
    )
}

/// Values a question can take, with their raw points (for monotonicity).
fn values(kind: &QuestionKind) -> Vec<(AnswerValue, f64)> {
    match kind {
        QuestionKind::YesNo { pass_answer } => vec![
            (AnswerValue::Yes(*pass_answer), 1.0),
            (AnswerValue::Yes(!*pass_answer), 0.0),
        ],
        QuestionKind::Scale { min, max, .. } => (*min..=*max)
            .map(|v| (AnswerValue::Scale(v), f64::from(v - min)))
            .collect(),
        QuestionKind::Choice { options } => options
            .iter()
            .map(|o| (AnswerValue::OptionId(o.id.clone()), o.points.unwrap()))
            .collect(),
    }
}

/// Builds a valid definition from specs; `conds` (one per question, cycled)
/// adds conditions on earlier questions when `with_conditions`.
fn build(
    genesys: bool,
    pass_mark: u8,
    sections: Vec<SSpec>,
    conds: &[(bool, Index, Index)],
    with_conditions: bool,
) -> ScorecardDefinition {
    let mut flat_kinds: Vec<(String, QuestionKind)> = Vec::new();
    let mut out = Vec::new();
    let mut n = 0usize;
    for (si, (w, na, qs)) in sections.into_iter().enumerate() {
        let mut questions = Vec::new();
        for (qi, (kind, qw, qna, critical, on_failure)) in qs.into_iter().enumerate() {
            let id = format!("q{si}_{qi}");
            let mut visible_when = None;
            if with_conditions && !flat_kinds.is_empty() {
                let (on, pick, val) = conds[n % conds.len()];
                if on {
                    let (tid, tkind) = &flat_kinds[pick.index(flat_kinds.len())];
                    let vs = values(tkind);
                    let expected = match &vs[val.index(vs.len())].0 {
                        AnswerValue::Yes(b) => ExpectedAnswer::Yes(*b),
                        AnswerValue::Scale(v) => ExpectedAnswer::ScaleRange {
                            min: *v,
                            max: *v + 1,
                        },
                        AnswerValue::OptionId(o) => ExpectedAnswer::OptionId(o.clone()),
                        AnswerValue::NotApplicable => unreachable!(),
                    };
                    visible_when = Some(VisibilityCondition {
                        operation: CombiningOperation::All,
                        predicates: vec![AnswerPredicate {
                            question_id: tid.clone(),
                            expected: Some(expected),
                        }],
                    });
                }
            }
            n += 1;
            flat_kinds.push((id.clone(), kind.clone()));
            questions.push(Question {
                id,
                text: "Q".into(),
                help_text: String::new(),
                kind: Some(kind),
                weight: f64::from(qw),
                not_applicable_allowed: qna,
                comment_required: CommentRequirement::Never,
                visible_when,
                critical,
                on_failure,
            });
        }
        if questions.iter().all(|q| q.weight == 0.0) {
            questions[0].weight = 1.0;
        }
        out.push(Section {
            id: format!("s{si}"),
            title: "S".into(),
            description: String::new(),
            weight: f64::from(w),
            not_applicable_allowed: na,
            visible_when: None,
            questions,
        });
    }
    if out.iter().all(|s| s.weight == 0.0) {
        out[0].weight = 2.0;
    }
    ScorecardDefinition {
        name: "Generated".into(),
        description: String::new(),
        scoring_method: if genesys {
            ScoringMethod::Genesys
        } else {
            ScoringMethod::Earshot
        },
        pass_mark: f64::from(pass_mark.min(100)),
        bands: Vec::new(),
        sections: out,
        labels: Default::default(),
    }
}

fn arb_definition(with_conditions: bool) -> impl Strategy<Value = ScorecardDefinition> {
    (
        any::<bool>(),
        0u8..=100,
        prop::collection::vec(arb_section(), 1..4),
        prop::collection::vec((any::<bool>(), any::<Index>(), any::<Index>()), 1..8),
    )
        .prop_map(move |(g, pm, s, c)| build(g, pm, s, &c, with_conditions))
}

/// How each question is answered: 0 = missing, 1 = N/A, 2 = garbage (wrong
/// kind or unknown), else a valid value picked by the index.
type AnswerPlan = Vec<(u8, Index)>;

fn arb_plan(valid_only: bool) -> impl Strategy<Value = AnswerPlan> {
    let lo = if valid_only { 1 } else { 0 };
    prop::collection::vec((lo..8u8, any::<Index>()), 16).prop_map(move |mut plan| {
        if valid_only {
            for (how, _) in &mut plan {
                if *how == 2 {
                    *how = 3;
                }
            }
        }
        plan
    })
}

fn answers_for(d: &ScorecardDefinition, plan: &AnswerPlan) -> Vec<Answer> {
    let mut out = Vec::new();
    let qs = d.sections.iter().flat_map(|s| &s.questions);
    for (i, q) in qs.enumerate() {
        let (how, pick) = plan[i % plan.len()];
        let kind = q.kind.as_ref().unwrap();
        match how {
            0 => {}
            1 => out.push(Answer::new(q.id.clone(), AnswerValue::NotApplicable)),
            2 => {
                out.push(Answer::new(q.id.clone(), AnswerValue::Scale(9_999)));
                out.push(Answer::new("ghost", AnswerValue::Yes(true)));
            }
            _ => {
                let vs = values(kind);
                out.push(Answer::new(
                    q.id.clone(),
                    vs[pick.index(vs.len())].0.clone(),
                ));
            }
        }
    }
    out
}

fn in_range(x: f64) -> bool {
    x.is_finite() && (0.0..=100.0).contains(&x)
}

fn check_ranges(r: &ScoreResult) -> Result<(), TestCaseError> {
    for s in [r.total, r.raw_total, r.critical, r.non_critical]
        .into_iter()
        .flatten()
    {
        prop_assert!(in_range(s), "score {s} out of range");
    }
    for s in &r.sections {
        prop_assert!(
            in_range(s.score),
            "section {} score {}",
            s.section_id,
            s.score
        );
        prop_assert!(s.earned.is_finite() && s.possible.is_finite());
        prop_assert!(s.earned <= s.possible + 1e-9);
    }
    for q in &r.questions {
        prop_assert!(q.earned.is_finite() && q.possible.is_finite());
        prop_assert!(0.0 <= q.earned && q.earned <= q.possible + 1e-9);
    }
    if r.passed {
        prop_assert!(r.total.is_some_and(|t| t >= r.pass_mark));
    }
    Ok(())
}

/// A deterministic shuffle (xorshift), so the permutation is part of the
/// shrinkable input.
fn shuffle<T>(v: &mut [T], mut seed: u64) {
    seed |= 1;
    for i in (1..v.len()).rev() {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let j = usize::try_from(seed % (i as u64 + 1)).unwrap();
        v.swap(i, j);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, ..ProptestConfig::default() })]

    #[test]
    fn scores_stay_in_0_100_and_are_never_nan(
        d in arb_definition(true),
        plan in arb_plan(false),
    ) {
        let sc = ValidScorecard::parse(d.clone()).unwrap();
        let scored = score_answers(&sc, &answers_for(&d, &plan));
        check_ranges(&scored.result)?;
        prop_assert_eq!(scored.result.questions.len(), sc.question_count());
    }

    #[test]
    fn answer_order_does_not_change_a_bit(
        d in arb_definition(true),
        plan in arb_plan(false),
        seed in any::<u64>(),
    ) {
        let sc = ValidScorecard::parse(d.clone()).unwrap();
        let given = answers_for(&d, &plan);
        let mut shuffled = given.clone();
        shuffle(&mut shuffled, seed);
        let a = score_answers(&sc, &given);
        let b = score_answers(&sc, &shuffled);
        prop_assert_eq!(&a.result, &b.result);
        let key = |s: &earshot_scoring::score::Scored| {
            let mut k: Vec<_> = s.problems.iter().map(|p| (p.question_id.clone(), p.kind as u8)).collect();
            k.sort();
            k
        };
        prop_assert_eq!(key(&a), key(&b));
    }

    #[test]
    fn monotone_in_any_single_answers_points(
        d in arb_definition(false),
        plan in arb_plan(true),
        which in any::<Index>(),
        better in any::<Index>(),
    ) {
        let sc = ValidScorecard::parse(d.clone()).unwrap();
        let given = answers_for(&d, &plan);
        let k = which.index(given.len().max(1));
        prop_assume!(k < given.len());
        let q = d.sections.iter().flat_map(|s| &s.questions)
            .find(|q| q.id == given[k].question_id).unwrap();
        let vs = values(q.kind.as_ref().unwrap());
        let Some(current) = vs.iter().find(|(v, _)| Some(v) == given[k].value.as_ref()).map(|(_, p)| *p) else {
            // N/A: not a points change.
            return Ok(());
        };
        let higher: Vec<&(AnswerValue, f64)> = vs.iter().filter(|(_, p)| *p >= current).collect();
        let pick = higher[better.index(higher.len())].0.clone();
        let mut raised = given.clone();
        raised[k].value = Some(pick);

        let a = score_answers(&sc, &given).result;
        let b = score_answers(&sc, &raised).result;
        // Raising an answer may lift a consequence that zeroed the section or
        // the evaluation (or, for a zero-weight question, was all it did).
        // When nothing else counts — every other question unanswered, N/A or
        // weighted 0 — nothing is left to score: total 0 becomes "not scored"
        // (and a 0 pass mark stops passing). That is documented
        // (docs/score-math.md, "flag questions") and is the one exception.
        let zeroing = q.weight == 0.0
            || matches!(
                q.on_failure,
                FailureConsequence::ZeroSection | FailureConsequence::ZeroEvaluation
            );
        let lifted_flag = zeroing && a.total == Some(0.0) && b.total.is_none();
        for (name, x, y) in [
            ("total", a.total, b.total),
            ("raw", a.raw_total, b.raw_total),
            ("critical", a.critical, b.critical),
            ("non-critical", a.non_critical, b.non_critical),
        ] {
            match (x, y) {
                (Some(x), Some(y)) => prop_assert!(y >= x, "{name} fell from {x} to {y}"),
                _ if name == "total" && lifted_flag => {}
                (x, y) => prop_assert_eq!(x.is_some(), y.is_some(), "{} scored-ness changed", name),
            }
        }
        prop_assert!(b.passed || !a.passed || lifted_flag, "raising an answer made it fail");
        prop_assert!(b.critical_failures.len() <= a.critical_failures.len());
    }

    #[test]
    fn section_order_does_not_matter(
        d in arb_definition(false),
        plan in arb_plan(true),
        seed in any::<u64>(),
    ) {
        let given = answers_for(&d, &plan);
        let sc = ValidScorecard::parse(d.clone()).unwrap();
        let mut reordered = d.clone();
        shuffle(&mut reordered.sections, seed);
        let sc2 = ValidScorecard::parse(reordered).unwrap();
        let a = score_answers(&sc, &given).result;
        let b = score_answers(&sc2, &given).result;
        for (x, y) in [(a.total, b.total), (a.critical, b.critical), (a.non_critical, b.non_critical)] {
            match (x, y) {
                (Some(x), Some(y)) => prop_assert!((x - y).abs() < 1e-6, "{x} vs {y}"),
                (x, y) => prop_assert_eq!(x, y),
            }
        }
        if a.total.is_some_and(|t| (t - a.pass_mark).abs() > 1e-6) {
            prop_assert_eq!(a.passed, b.passed);
        }
    }

    #[test]
    fn documents_round_trip(d in arb_definition(true)) {
        for format in [DocumentFormat::Yaml, DocumentFormat::Json] {
            let text = interchange::export(&d, format).unwrap();
            let back = interchange::import(format, text.as_bytes()).unwrap();
            prop_assert_eq!(&back, &d);
        }
    }
}
