//! Genesys Cloud evaluation forms import and score as Genesys documents it
//! (issue 4 "Done when"):
//!
//! total = Σ(earned × group weight) / Σ(possible × group weight); earned = the
//! chosen option's value, possible = the highest option's value; N/A and
//! hidden questions count 0 of 0; the critical score is the same ratio over
//! critical questions only, the non-critical score over the rest; a kill
//! (fatal) question fails the evaluation when the answer is not the
//! highest-valued option. Every expected value below is worked by hand.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::assert_score;
use earshot_scoring::answers::{Answer, AnswerProblemKind, AnswerValue};
use earshot_scoring::genesys;
use earshot_scoring::score::{QuestionStatus, score_answers};
use earshot_scoring::scorecard::{
    CombiningOperation, ExpectedAnswer, FailureConsequence, QuestionKind, ScoringMethod,
    ValidScorecard,
};

const DOC_EXAMPLE: &[u8] = include_bytes!("fixtures/genesys_doc_example.json");
const FORM: &[u8] = include_bytes!("fixtures/genesys_form.json");

fn option(q: &str, o: &str) -> Answer {
    Answer::new(q, AnswerValue::OptionId(o.to_owned()))
}

fn na(q: &str) -> Answer {
    Answer::new(q, AnswerValue::NotApplicable)
}

fn form() -> ValidScorecard {
    let imported = genesys::import(FORM).unwrap();
    ValidScorecard::parse(imported.definition).unwrap()
}

/// Genesys' own published weighting example: group 1 (weight 40) has two
/// 1-point questions answered Yes and No, group 2 (weight 20) one answered
/// Yes: ((1·40) + (1·20)) / ((2·40) + (1·20)) = 60 / 100 = 60 %.
#[test]
fn documented_weighting_example_scores_60() {
    let imported = genesys::import(DOC_EXAMPLE).unwrap();
    let sc = ValidScorecard::parse(imported.definition).unwrap();
    assert_eq!(sc.scoring_method(), ScoringMethod::Genesys);
    let r = score_answers(
        &sc,
        &[
            option("q-1-1", "yes"),
            option("q-1-2", "no"),
            option("q-2-1", "yes"),
        ],
    );
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    assert_score("total", r.result.total, Some(60.0));
    // Earshot's method would weigh the groups, not their points:
    // (40·0.5 + 20·1) / 60 = 66.67. The method is what makes the difference.
    let mut earshot = sc.definition().clone();
    earshot.scoring_method = ScoringMethod::Earshot;
    let sc = ValidScorecard::parse(earshot).unwrap();
    let r = score_answers(
        &sc,
        &[
            option("q-1-1", "yes"),
            option("q-1-2", "no"),
            option("q-2-1", "yes"),
        ],
    );
    assert_score("earshot total", r.result.total, Some(66.666666667));
}

#[test]
fn the_form_maps_as_documented() {
    let imported = genesys::import(FORM).unwrap();
    let d = &imported.definition;
    assert_eq!(d.name, "Customer care QA");
    assert_eq!(d.scoring_method, ScoringMethod::Genesys);
    assert_eq!(d.pass_mark, 0.0);
    let ids: Vec<&str> = d.sections.iter().map(|s| s.id.as_str()).collect();
    assert_eq!(ids, ["grp-opening", "grp-resolution", "grp-compliance"]);
    let weights: Vec<f64> = d.sections.iter().map(|s| s.weight).collect();
    assert_eq!(weights, [40.0, 20.0, 40.0]);
    assert!(d.sections[2].not_applicable_allowed);

    // The free-text question is skipped (with a note); the others remain.
    let resolution: Vec<&str> = d.sections[1]
        .questions
        .iter()
        .map(|q| q.id.as_str())
        .collect();
    assert_eq!(resolution, ["resolved", "follow-up"]);
    assert!(
        imported
            .notes
            .iter()
            .any(|n| n.field == "questionGroups[1].questions[2].type")
    );

    // Kill → fail_evaluation; critical kept; options carry the values.
    let disclosure = &d.sections[2].questions[0];
    assert_eq!(disclosure.on_failure, FailureConsequence::FailEvaluation);
    assert!(disclosure.critical);
    let Some(QuestionKind::Choice { options }) = &d.sections[1].questions[0].kind else {
        panic!("choice expected");
    };
    let points: Vec<Option<f64>> = options.iter().map(|o| o.points).collect();
    assert_eq!(points, [Some(2.0), Some(1.0), Some(0.0)]);

    // "../question/0/answer/1" → resolved = partially;
    // "/form/questionGroup/0/question/1/answer/0" → verify = verify-yes.
    let cond = d.sections[1].questions[1].visible_when.as_ref().unwrap();
    assert_eq!(cond.operation, CombiningOperation::All);
    assert_eq!(cond.predicates[0].question_id, "resolved");
    assert_eq!(
        cond.predicates[0].expected,
        Some(ExpectedAnswer::OptionId("partially".into()))
    );
    let cond = d.sections[2].visible_when.as_ref().unwrap();
    assert_eq!(cond.predicates[0].question_id, "verify");
    assert_eq!(
        cond.predicates[0].expected,
        Some(ExpectedAnswer::OptionId("verify-yes".into()))
    );
}

/// Everything shown. Opening 2/2, Resolution partially (1 of 2) + follow-up
/// 1/1 = 2/3, Compliance disclosure 1/1 + consent 0/1 = 1/2.
/// total = (2·40 + 2·20 + 1·40) / (2·40 + 3·20 + 2·40) = 160/220 = 72.7272…
/// critical (verify, disclosure, consent) = (1·40 + 1·40 + 0·40)/(3·40) = 66.67
/// non-critical (greet, resolved, follow-up) = (1·40 + 1·20 + 1·20)/(1·40 + 2·20 + 1·20) = 80
#[test]
fn everything_shown() {
    let sc = form();
    let r = score_answers(
        &sc,
        &[
            option("greet", "greet-yes"),
            option("verify", "verify-yes"),
            option("resolved", "partially"),
            option("follow-up", "follow-yes").with_comment("offered a call back"),
            option("disclosure", "disclosure-yes"),
            option("consent", "consent-no"),
        ],
    );
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    let r = r.result;
    assert_score("total", r.total, Some(72.727272727));
    assert_score("critical", r.critical, Some(66.666666667));
    assert_score("non-critical", r.non_critical, Some(80.0));
    assert!(r.passed, "no kill failed and the imported pass mark is 0");
    // consent is critical and failed: flagged, nothing more.
    assert_eq!(r.critical_failures.len(), 1);
    assert_eq!(r.critical_failures[0].question_id, "consent");
    assert_eq!(r.critical_failures[0].consequence, FailureConsequence::None);
    // Group details: earned/possible in raw points.
    let g1 = &r.sections[1];
    assert_eq!((g1.earned, g1.possible), (2.0, 3.0));
}

/// verify = No hides the Compliance group; resolved = Fully hides the
/// follow-up (its answer is ignored).
/// total = (1·40 + 2·20)/(2·40 + 2·20) = 80/120 = 66.67
/// critical = verify only = 0/40 = 0; non-critical = (40 + 40)/(40 + 40) = 100
#[test]
fn hidden_questions_and_groups_count_zero_of_zero() {
    let sc = form();
    let r = score_answers(
        &sc,
        &[
            option("greet", "greet-yes"),
            option("verify", "verify-no"),
            option("resolved", "fully"),
            option("follow-up", "follow-no"),
        ],
    );
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    let r = r.result;
    assert_score("total", r.total, Some(66.666666667));
    assert_score("critical", r.critical, Some(0.0));
    assert_score("non-critical", r.non_critical, Some(100.0));
    assert_eq!(r.questions[3].status, QuestionStatus::Hidden);
    assert!(!r.sections[2].visible);
    assert!(r.passed);
}

/// disclosure = No fails the kill question: the score stands, the
/// evaluation fails. resolved N/A (so the follow-up stays hidden) and
/// consent N/A.
/// total = (2·40 + 0·40)/(2·40 + 1·40) = 80/120 = 66.67
/// critical = (verify 1·40 + disclosure 0·40)/(2·40) = 50; non-critical =
/// greet 40/40 = 100 (Resolution is 0 of 0).
#[test]
fn failed_kill_question_fails_the_evaluation_and_keeps_the_score() {
    let sc = form();
    let r = score_answers(
        &sc,
        &[
            option("greet", "greet-yes"),
            option("verify", "verify-yes"),
            na("resolved"),
            option("disclosure", "disclosure-no"),
            na("consent"),
        ],
    );
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    let r = r.result;
    assert_score("total", r.total, Some(66.666666667));
    assert_score("critical", r.critical, Some(50.0));
    assert_score("non-critical", r.non_critical, Some(100.0));
    assert!(!r.passed);
    assert_eq!(
        r.critical_failures[0].consequence,
        FailureConsequence::FailEvaluation
    );
}

/// Compliance allows N/A for the whole group, though disclosure alone does
/// not: both N/A is accepted; disclosure N/A alone is a problem.
/// total (both N/A) = (1·40 + 2·20)/(2·40 + 2·20) = 80/120 = 66.67.
#[test]
fn group_na() {
    let sc = form();
    let base = [
        option("greet", "greet-no"),
        option("verify", "verify-yes"),
        option("resolved", "fully"),
    ];
    let mut all_na = base.to_vec();
    all_na.extend([na("disclosure"), na("consent")]);
    let r = score_answers(&sc, &all_na);
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    assert_score("total", r.result.total, Some(66.666666667));

    let mut one_na = base.to_vec();
    one_na.extend([na("disclosure"), option("consent", "consent-yes")]);
    let r = score_answers(&sc, &one_na);
    assert_eq!(r.problems.len(), 1);
    assert_eq!(
        r.problems[0].kind,
        AnswerProblemKind::NotApplicableNotAllowed
    );
    assert_eq!(r.problems[0].field, "answers[3].not_applicable");
}

#[test]
fn comments_required_maps_to_a_comment_on_every_answer() {
    let sc = form();
    // Genesys' commentsRequired asks for a comment whatever the answer: the
    // passing "follow-yes" needs one as much as the failing "follow-no".
    for answer in ["follow-yes", "follow-no"] {
        let r = score_answers(
            &sc,
            &[
                option("greet", "greet-yes"),
                option("verify", "verify-no"),
                option("resolved", "partially"),
                option("follow-up", answer),
            ],
        );
        assert_eq!(r.problems.len(), 1, "{answer}");
        assert_eq!(r.problems[0].kind, AnswerProblemKind::CommentRequired);
        assert_eq!(r.problems[0].field, "answers[3].comment");
        let commented = score_answers(
            &sc,
            &[
                option("greet", "greet-yes"),
                option("verify", "verify-no"),
                option("resolved", "partially"),
                option("follow-up", answer).with_comment("offered a call back"),
            ],
        );
        assert!(commented.problems.is_empty(), "{answer}");
    }
}

#[test]
fn bad_forms_are_rejected_with_paths() {
    let bad = br#"{"name":"x","questionGroups":[{"name":"g","questions":[
        {"type":"multipleChoiceQuestion","text":"a","answerOptions":[{"text":"Y","value":1},{"text":"N","value":0}]},
        {"type":"sliderQuestion","text":"b"},
        {"type":"multipleChoiceQuestion","text":"c","answerOptions":[{"text":"Y","value":1},{"text":"N","value":0}],
         "visibilityCondition":{"combiningOperation":"XOR","predicates":["/form/questionGroup/0/question/9/answer/0", 7, "nonsense"]}}
    ]}]}"#;
    let err = genesys::import(bad).unwrap_err();
    for field in [
        "questionGroups[0].questions[1].type",
        "questionGroups[0].questions[2].visibilityCondition.combiningOperation",
        "questionGroups[0].questions[2].visibilityCondition.predicates[0]",
        "questionGroups[0].questions[2].visibilityCondition.predicates[1]",
        "questionGroups[0].questions[2].visibilityCondition.predicates[2]",
    ] {
        assert!(err.has_field(field), "missing {field} in {err}");
    }
    assert!(
        genesys::import(b"not json")
            .unwrap_err()
            .has_field("content")
    );
}

#[test]
fn missing_ids_are_made_from_positions() {
    let doc = br#"{"questionGroups":[{"questions":[
        {"type":"multipleChoiceQuestion","text":"a","answerOptions":[{"text":"Y","value":1},{"text":"N","value":0}]},
        {"type":"multipleChoiceQuestion","text":"b","visibilityCondition":{"predicates":["../question/0/answer/0"]},
         "answerOptions":[{"text":"Y","value":1},{"text":"N","value":0}]}
    ]}]}"#;
    let imported = genesys::import(doc).unwrap();
    let d = &imported.definition;
    assert_eq!(d.name, "Imported Genesys form");
    assert_eq!(d.sections[0].id, "g0");
    assert_eq!(d.sections[0].questions[1].id, "g0q1");
    let sc = ValidScorecard::parse(d.clone()).unwrap();
    let r = score_answers(&sc, &[option("g0q0", "g0q0a0"), option("g0q1", "g0q1a1")]);
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    assert_score("total", r.result.total, Some(50.0));
}
