//! The score math: answers in, [`ScoreResult`] out. Exact rules in
//! `docs/score-math.md`; in short:
//!
//! 1. answers are checked ([`crate::answers`]) and visibility decided
//!    ([`crate::visibility`]); hidden and N/A questions count 0 of 0;
//! 2. each answered question earns points ([`points`]) and may fail;
//! 3. sections and the total aggregate by the scorecard's method
//!    ([`earshot`] or [`genesys`]);
//! 4. failures of critical questions (or questions with a consequence) are
//!    listed; ZERO_SECTION zeroes a section, ZERO_EVALUATION the total,
//!    FAIL_EVALUATION only the pass;
//! 5. the critical and non-critical scores are the same ratio over those
//!    questions alone, before consequences; then pass and band.
//!
//! Every percentage is clamped to [0, 100] and rounded to 9 decimals, and a
//! ratio with nothing in its denominator is `None`, never NaN. Questions are
//! always visited in scorecard order, so the order of the answers given can
//! not change a single bit of the result.

pub mod earshot;
pub mod genesys;
pub mod points;

use crate::answers::{self, Answer, AnswerProblem, Resolved};
use crate::scorecard::{FailureConsequence, ScoreBand, ScoringMethod, ValidScorecard};
use crate::visibility;

/// How a question entered the score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QuestionStatus {
    /// Answered; its points count.
    Answered,
    /// Answered N/A: 0 of 0.
    NotApplicable,
    /// Hidden by a condition: 0 of 0.
    Hidden,
    /// Shown but without a usable answer: 0 of 0 (a problem is reported).
    Unanswered,
}

/// One question's outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct QuestionResult {
    /// The question id.
    pub question_id: String,
    /// Its section's id.
    pub section_id: String,
    /// How it entered the score.
    pub status: QuestionStatus,
    /// Points earned (0 unless answered).
    pub earned: f64,
    /// Points possible (0 unless answered).
    pub possible: f64,
    /// Answered and failed.
    pub failed: bool,
    /// The question is critical.
    pub critical: bool,
}

/// One section's outcome.
#[derive(Debug, Clone, PartialEq)]
pub struct SectionResult {
    /// The section id.
    pub section_id: String,
    /// Shown (its condition held, or it has none).
    pub visible: bool,
    /// Entered the total.
    pub counted: bool,
    /// Points earned by its answered questions, before consequences.
    pub earned: f64,
    /// Points possible over the same questions.
    pub possible: f64,
    /// Its score in [0, 100] after a ZERO_SECTION consequence; 0 when not
    /// counted.
    pub score: f64,
    /// Its weight in the total (0 when not counted).
    pub effective_weight: f64,
    /// The question whose failure zeroed it.
    pub zeroed_by: Option<String>,
}

/// A failed question that is critical or has a consequence.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CriticalFailure {
    /// The question id.
    pub question_id: String,
    /// Its section's id.
    pub section_id: String,
    /// The consequence applied (`None`: flagged only).
    pub consequence: FailureConsequence,
    /// The question is marked critical.
    pub critical: bool,
}

/// The outcome of scoring (mirrors `earshot.scoring.v1.ScoreResult`; a `None`
/// score is sent as 0 with its `*_scored` flag false).
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreResult {
    /// The method used.
    pub scoring_method: ScoringMethod,
    /// Total after consequences, in [0, 100]; `None` when nothing applied.
    pub total: Option<f64>,
    /// Total before consequences.
    pub raw_total: Option<f64>,
    /// The same ratio over critical questions only, before consequences.
    pub critical: Option<f64>,
    /// The same ratio over non-critical questions only, before consequences.
    pub non_critical: Option<f64>,
    /// Scored, at or above the pass mark, and no ZERO_EVALUATION or
    /// FAIL_EVALUATION failure.
    pub passed: bool,
    /// The band of the total.
    pub band: Option<String>,
    /// The pass mark applied.
    pub pass_mark: f64,
    /// Per section, in scorecard order.
    pub sections: Vec<SectionResult>,
    /// Per question, in scorecard order.
    pub questions: Vec<QuestionResult>,
    /// Failures that are critical or have a consequence, in scorecard order.
    pub critical_failures: Vec<CriticalFailure>,
}

/// A score together with the problems found in the answers.
#[derive(Debug, Clone, PartialEq)]
pub struct Scored {
    /// The score (problems left their answers out).
    pub result: ScoreResult,
    /// Every problem; empty when the answers could be submitted.
    pub problems: Vec<AnswerProblem>,
}

impl Scored {
    /// Whether the answers could be submitted as they are.
    pub fn is_complete(&self) -> bool {
        self.problems.is_empty()
    }
}

/// One answered-or-not question line, the aggregators' input.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Line {
    pub(crate) section: usize,
    pub(crate) answered: bool,
    pub(crate) earned: f64,
    pub(crate) possible: f64,
    pub(crate) critical: bool,
}

/// A section's aggregate, the aggregators' output.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct SectionAggregate {
    pub(crate) earned: f64,
    pub(crate) possible: f64,
    pub(crate) counted: bool,
    /// Share in [0, 1] (0 when not counted or zeroed).
    pub(crate) share: f64,
    pub(crate) effective_weight: f64,
}

/// Scores `answers` against a valid scorecard. Never fails: problems are
/// returned beside the score.
pub fn score_answers(sc: &ValidScorecard, answers: &[Answer]) -> Scored {
    let mut problems = Vec::new();
    let mut slots = answers::accept(sc, answers, &mut problems);
    let vis = visibility::resolve(sc, &slots);
    answers::check_applicability(sc, &vis, &mut slots, &mut problems);

    let method = sc.scoring_method();
    let def = sc.definition();
    let mut lines = Vec::with_capacity(sc.question_count());
    let mut questions = Vec::with_capacity(sc.question_count());
    let mut failures = Vec::new();
    let mut zeroed_by: Vec<Option<String>> = vec![None; def.sections.len()];
    let mut zero_evaluation = false;
    let mut fail_evaluation = false;

    for (flat, (q, cq)) in sc.questions().enumerate() {
        let section_id = def
            .sections
            .get(cq.section)
            .map(|s| s.id.clone())
            .unwrap_or_default();
        let slot = slots.get(flat).copied().flatten();
        let (status, pts, failed) = if !vis.question_visible(flat) {
            (QuestionStatus::Hidden, None, false)
        } else {
            match slot {
                None => (QuestionStatus::Unanswered, None, false),
                Some(a) if a.value == Resolved::NotApplicable => {
                    (QuestionStatus::NotApplicable, None, false)
                }
                Some(a) => match points::points(method, &cq.kind, q.weight, a.value) {
                    Some(p) => (
                        QuestionStatus::Answered,
                        Some(p),
                        points::fails(&cq.kind, a.value),
                    ),
                    None => (QuestionStatus::Unanswered, None, false),
                },
            }
        };
        let (earned, possible) = pts.map_or((0.0, 0.0), |p| (p.earned, p.possible));
        if failed && (q.critical || q.on_failure != FailureConsequence::None) {
            match q.on_failure {
                FailureConsequence::ZeroSection => {
                    if let Some(z) = zeroed_by.get_mut(cq.section)
                        && z.is_none()
                    {
                        *z = Some(q.id.clone());
                    }
                }
                FailureConsequence::ZeroEvaluation => zero_evaluation = true,
                FailureConsequence::FailEvaluation => fail_evaluation = true,
                FailureConsequence::None => {}
            }
            failures.push(CriticalFailure {
                question_id: q.id.clone(),
                section_id: section_id.clone(),
                consequence: q.on_failure,
                critical: q.critical,
            });
        }
        lines.push(Line {
            section: cq.section,
            answered: status == QuestionStatus::Answered,
            earned,
            possible,
            critical: q.critical,
        });
        questions.push(QuestionResult {
            question_id: q.id.clone(),
            section_id,
            status,
            earned,
            possible,
            failed,
            critical: q.critical,
        });
    }

    let zeroed: Vec<bool> = zeroed_by.iter().map(Option::is_some).collect();
    let none_zeroed = vec![false; zeroed.len()];
    let aggregate = |filter: &dyn Fn(&Line) -> bool, zeroed: &[bool]| match method {
        ScoringMethod::Earshot => earshot::aggregate(sc, &lines, filter, zeroed),
        ScoringMethod::Genesys => genesys::aggregate(sc, &lines, filter, zeroed),
    };
    let (total_share, section_aggs) = aggregate(&|_| true, &zeroed);
    let (raw_share, _) = aggregate(&|_| true, &none_zeroed);
    let (critical_share, _) = aggregate(&|l| l.critical, &none_zeroed);
    let (non_critical_share, _) = aggregate(&|l| !l.critical, &none_zeroed);

    let total = if zero_evaluation {
        Some(0.0)
    } else {
        total_share.map(percent)
    };
    let passed = match total {
        Some(t) => !zero_evaluation && !fail_evaluation && t >= def.pass_mark,
        None => false,
    };
    let band = total
        .and_then(|t| band_of(&def.bands, t))
        .map(str::to_owned);

    let sections = def
        .sections
        .iter()
        .enumerate()
        .map(|(si, s)| {
            let agg = section_aggs.get(si).copied().unwrap_or(SectionAggregate {
                earned: 0.0,
                possible: 0.0,
                counted: false,
                share: 0.0,
                effective_weight: 0.0,
            });
            SectionResult {
                section_id: s.id.clone(),
                visible: vis.section_visible(si),
                counted: agg.counted,
                earned: agg.earned,
                possible: agg.possible,
                score: percent(agg.share),
                effective_weight: agg.effective_weight,
                zeroed_by: zeroed_by.get(si).cloned().flatten(),
            }
        })
        .collect();

    Scored {
        result: ScoreResult {
            scoring_method: method,
            total,
            raw_total: raw_share.map(percent),
            critical: critical_share.map(percent),
            non_critical: non_critical_share.map(percent),
            passed,
            band,
            pass_mark: def.pass_mark,
            sections,
            questions,
            critical_failures: failures,
        },
        problems,
    }
}

/// A share in [0, 1] as a percentage in [0, 100], rounded to 9 decimals
/// (removing floating-point noise such as 69.99999999999999 for 70). A NaN
/// share (impossible by construction) becomes 0.
pub(crate) fn percent(share: f64) -> f64 {
    let p = (share * 100.0).clamp(0.0, 100.0);
    if p.is_nan() {
        return 0.0;
    }
    (p * 1e9).round() / 1e9
}

/// The band a score falls in: `min <= s < max`, or `s == max == 100`.
pub fn band_of(bands: &[ScoreBand], score: f64) -> Option<&str> {
    bands
        .iter()
        .find(|b| {
            (b.min_score <= score && score < b.max_score)
                || (b.max_score >= 100.0 && score >= 100.0 && b.min_score <= score)
        })
        .map(|b| b.name.as_str())
}

/// Scores answers that are to be stored (submit, re-score): refuses with
/// every problem unless the set is complete and clean.
pub fn score_for_submit(
    sc: &ValidScorecard,
    answers: &[Answer],
) -> Result<ScoreResult, crate::error::ScoringError> {
    let scored = score_answers(sc, answers);
    if scored.problems.is_empty() {
        Ok(scored.result)
    } else {
        Err(crate::error::ScoringError::IncompleteAnswers(
            scored.problems,
        ))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn percent_clamps_rounds_and_never_returns_nan() {
        assert_eq!(percent(0.7), 70.0);
        assert_eq!(percent(2.0 / 3.0), 66.666666667);
        assert_eq!(percent(-0.5), 0.0);
        assert_eq!(percent(1.5), 100.0);
        assert_eq!(percent(f64::NAN), 0.0);
        assert_eq!(percent(f64::INFINITY), 100.0);
    }

    fn band(name: &str, min: f64, max: f64) -> ScoreBand {
        ScoreBand {
            name: name.into(),
            min_score: min,
            max_score: max,
        }
    }

    #[test]
    fn bands_are_half_open_except_at_100() {
        let bands = [band("low", 0.0, 50.0), band("high", 50.0, 100.0)];
        assert_eq!(band_of(&bands, 0.0), Some("low"));
        assert_eq!(band_of(&bands, 49.999999999), Some("low"));
        assert_eq!(band_of(&bands, 50.0), Some("high"));
        assert_eq!(band_of(&bands, 100.0), Some("high"));
        assert_eq!(band_of(&[], 10.0), None);
    }
}
