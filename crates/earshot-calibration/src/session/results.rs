//! A session's results, computed at close (and again at RecordConsensus):
//!
//! * per interaction x participant: status (submitted / late / missing),
//!   total, deviation from the reference, within-tolerance flag, and per
//!   question agree / disagree / no reference / no answer;
//! * per question: pairwise percent agreement, agreement with the reference,
//!   the distribution and spread of answers, Krippendorff's alpha (nominal
//!   for yes/no and choice, interval for scale), Fleiss' kappa and Gwet's AC1,
//!   and an `ambiguous` flag when agreement is below the tenant's threshold;
//! * per participant: mean signed deviation (harsh / lenient) and mean
//!   absolute deviation with 95% intervals, within-tolerance and
//!   question-agreement rates;
//! * per pair: Cohen's kappa over all answers both gave, mean total difference;
//! * group reliability: alpha (interval) and the six ICCs over totals, and
//!   alpha, Fleiss, AC1 and percent agreement over all answers pooled.
//!
//! Missing responses are shown as missing and left out of every figure; they
//! are never filled in. An expert is not compared with themselves.

use std::collections::{BTreeMap, HashMap};

use super::reference::{Reference, select_reference};
use super::{
    AnswerValue, Consensus, GroupReference, InteractionId, Mode, ParticipantId, QuestionId,
    QuestionKind, QuestionSpec, ScoredResponse, Tolerance,
};
use crate::agreement::cohen::{CohenWeights, cohen_pairs};
use crate::agreement::fleiss::fleiss_kappa;
use crate::agreement::gwet::{Weights, gwet};
use crate::agreement::icc::{Icc, icc_all};
use crate::agreement::krippendorff::alpha;
use crate::agreement::percent::percent_agreement;
use crate::agreement::{Agreement, Level, RatingsMatrix, Undefined};
use crate::stats::estimate::{Estimate, sample_sd};

/// Everything results are computed from.
#[derive(Debug, Clone, Copy)]
pub struct ResultsInput<'a> {
    /// The session's mode.
    pub mode: Mode,
    /// The expert, in expert mode.
    pub expert: Option<&'a ParticipantId>,
    /// Participants, in session order.
    pub participants: &'a [ParticipantId],
    /// Interactions, in session order.
    pub interactions: &'a [InteractionId],
    /// The scorecard version's questions, in scorecard order.
    pub questions: &'a [QuestionSpec],
    /// The submitted responses (at most one per interaction x participant;
    /// responses of strangers or for other interactions are ignored).
    pub responses: &'a [ScoredResponse],
    /// The consensus per interaction, once recorded (consensus mode).
    pub consensus: Option<&'a BTreeMap<InteractionId, Consensus>>,
    /// The session's tolerance.
    pub tolerance: Tolerance,
    /// The session's group reference method.
    pub group_reference: GroupReference,
    /// Percent agreement below which a question is flagged ambiguous.
    pub ambiguity_threshold: f64,
}

/// Whether a participant answered an interaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResponseStatus {
    /// On time.
    Submitted,
    /// After the due time.
    Late,
    /// Never.
    Missing,
}

/// One answer against the reference answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QuestionAgreement {
    /// Same answer.
    Agree,
    /// Different answer.
    Disagree,
    /// No reference answer (tie, or the participant is the reference).
    NoReference,
    /// The participant gave no answer.
    NoAnswer,
}

/// A participant's lean against the reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Leniency {
    /// Scores above the reference (interval above zero).
    Lenient,
    /// Scores below the reference (interval below zero).
    Harsh,
    /// The interval contains zero.
    Aligned,
    /// Fewer than two deviations.
    InsufficientData,
}

impl Leniency {
    /// The verdict of a mean signed deviation.
    pub fn of(signed: &Estimate) -> Leniency {
        if signed.no_data || signed.insufficient_sample {
            return Leniency::InsufficientData;
        }
        match signed.sign_beyond_ci() {
            Some(std::cmp::Ordering::Greater) => Leniency::Lenient,
            Some(std::cmp::Ordering::Less) => Leniency::Harsh,
            _ => Leniency::Aligned,
        }
    }
}

/// One answer compared.
#[derive(Debug, Clone, PartialEq)]
pub struct QuestionComparison {
    /// The question.
    pub question: QuestionId,
    /// The participant's answer.
    pub answer: Option<AnswerValue>,
    /// Its points.
    pub points: Option<f64>,
    /// Against the reference.
    pub agreement: QuestionAgreement,
}

/// One participant on one interaction.
#[derive(Debug, Clone, PartialEq)]
pub struct ParticipantScore {
    /// The participant.
    pub participant: ParticipantId,
    /// Submitted, late or missing.
    pub status: ResponseStatus,
    /// Their total.
    pub total: Option<f64>,
    /// Total minus reference total.
    pub deviation: Option<f64>,
    /// |deviation| within tolerance.
    pub within_tolerance: bool,
    /// Per question, scorecard order.
    pub questions: Vec<QuestionComparison>,
}

/// One interaction's results.
#[derive(Debug, Clone, PartialEq)]
pub struct InteractionResult {
    /// The interaction.
    pub interaction: InteractionId,
    /// Its reference.
    pub reference: Reference,
    /// One per participant, session order.
    pub scores: Vec<ParticipantScore>,
    /// Mean of submitted totals with 95% interval.
    pub total: Estimate,
    /// Sample standard deviation of submitted totals.
    pub total_stddev: f64,
    /// Highest minus lowest submitted total.
    pub total_range: f64,
}

/// One participant's results.
#[derive(Debug, Clone, PartialEq)]
pub struct ParticipantResult {
    /// The participant.
    pub participant: ParticipantId,
    /// The session's expert.
    pub expert: bool,
    /// On-time responses.
    pub submitted: u32,
    /// Late responses.
    pub late: u32,
    /// Missing responses.
    pub missing: u32,
    /// Mean of deviations.
    pub mean_signed_deviation: Estimate,
    /// Mean of |deviation|.
    pub mean_absolute_deviation: Estimate,
    /// Share within tolerance.
    pub within_tolerance_rate: Estimate,
    /// Share of answers agreeing with the reference.
    pub question_agreement_rate: Estimate,
    /// Harsh, lenient or aligned.
    pub leniency: Leniency,
    /// |mean signed deviation| is greater than the session's tolerance
    /// (false without deviations).
    pub mean_deviation_exceeds_tolerance: bool,
}

/// One question's results.
#[derive(Debug, Clone, PartialEq)]
pub struct QuestionResult {
    /// The question.
    pub question: QuestionId,
    /// Answers given.
    pub answer_count: u32,
    /// Pairwise agreement among participants.
    pub percent_agreement: Agreement,
    /// Share of answers equal to the reference answer.
    pub reference_agreement_rate: Estimate,
    /// Distribution of answers, most frequent first.
    pub answer_counts: Vec<(AnswerValue, u32)>,
    /// Sample standard deviation of points awarded.
    pub points_stddev: f64,
    /// Krippendorff's alpha, nominal or interval by question kind.
    pub alpha: Agreement,
    /// The level alpha was computed at.
    pub alpha_level: Level,
    /// Fleiss' kappa.
    pub fleiss_kappa: Agreement,
    /// Gwet's AC1 over the question's declared categories.
    pub gwet_ac1: Agreement,
    /// Percent agreement below the ambiguity threshold.
    pub ambiguous: bool,
}

/// The group's reliability.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupReliability {
    /// Alpha (interval) over totals.
    pub total_alpha: Agreement,
    /// The six ICCs over totals.
    pub total_icc: Vec<Icc>,
    /// Alpha (nominal) over all answers pooled.
    pub answers_alpha: Agreement,
    /// Fleiss' kappa over all answers pooled.
    pub answers_fleiss_kappa: Agreement,
    /// Gwet's AC1 over all answers pooled.
    pub answers_gwet_ac1: Agreement,
    /// Pairwise percent agreement over all answers pooled.
    pub answers_percent_agreement: Agreement,
}

/// Two participants' agreement.
#[derive(Debug, Clone, PartialEq)]
pub struct PairAgreement {
    /// Earlier in session order.
    pub a: ParticipantId,
    /// Later in session order.
    pub b: ParticipantId,
    /// Cohen's kappa over pooled answers both gave.
    pub cohen_kappa: Agreement,
    /// Mean of total(a) - total(b).
    pub mean_total_difference: Estimate,
}

/// A session's results.
#[derive(Debug, Clone, PartialEq)]
pub struct SessionResults {
    /// Consensus mode before the consensus: the reference is the group.
    pub provisional: bool,
    /// Per interaction.
    pub interactions: Vec<InteractionResult>,
    /// Per participant.
    pub participants: Vec<ParticipantResult>,
    /// Per question.
    pub questions: Vec<QuestionResult>,
    /// Group reliability.
    pub reliability: GroupReliability,
    /// Per pair.
    pub pairs: Vec<PairAgreement>,
    /// Participants x interactions.
    pub responses_expected: u32,
    /// Submitted (on time or late).
    pub responses_submitted: u32,
    /// Of which late.
    pub responses_late: u32,
}

/// Codes answers as numbers for the agreement statistics: declared
/// categories first (so Gwet's q counts the possible answers), anything
/// unexpected appended.
struct Coder {
    codes: HashMap<AnswerValue, f64>,
    declared: Vec<f64>,
}

impl Coder {
    fn for_question(spec: &QuestionSpec) -> Coder {
        let mut values: Vec<AnswerValue> = match &spec.kind {
            QuestionKind::YesNo => vec![AnswerValue::Yes(false), AnswerValue::Yes(true)],
            QuestionKind::Scale { min, max }
                if max >= min && i64::from(*max) - i64::from(*min) <= 1_000 =>
            {
                (*min..=*max).map(AnswerValue::Scale).collect()
            }
            QuestionKind::Scale { .. } => vec![],
            QuestionKind::Choice { options } => {
                options.iter().cloned().map(AnswerValue::Choice).collect()
            }
        };
        if spec.allows_not_applicable {
            values.push(AnswerValue::NotApplicable);
        }
        let mut coder = Coder {
            codes: HashMap::new(),
            declared: Vec::new(),
        };
        for v in values {
            let c = coder.code(&v);
            coder.declared.push(c);
        }
        coder
    }

    fn code(&mut self, v: &AnswerValue) -> f64 {
        let next = self.codes.len() as f64;
        *self.codes.entry(v.clone()).or_insert(next)
    }
}

fn answer_of<'r>(r: &'r ScoredResponse, q: &QuestionId) -> Option<&'r super::ScoredAnswer> {
    r.answers.iter().find(|a| &a.question == q)
}

fn matrix(rows: &[Vec<Option<f64>>], raters: usize) -> Option<RatingsMatrix> {
    RatingsMatrix::from_rows(raters, rows).ok()
}

fn on(m: &Option<RatingsMatrix>, f: impl Fn(&RatingsMatrix) -> Agreement) -> Agreement {
    m.as_ref()
        .map_or(Agreement::undefined(Undefined::TooFewUnits, 0, 0), f)
}

/// Computes a session's results.
pub fn compute_results(input: &ResultsInput<'_>) -> SessionResults {
    let np = input.participants.len();
    let p_index: HashMap<&ParticipantId, usize> = input
        .participants
        .iter()
        .enumerate()
        .map(|(i, p)| (p, i))
        .collect();
    let i_index: HashMap<&InteractionId, usize> = input
        .interactions
        .iter()
        .enumerate()
        .map(|(i, x)| (x, i))
        .collect();
    // grid[interaction][participant]
    let mut grid: Vec<Vec<Option<&ScoredResponse>>> =
        vec![vec![None; np]; input.interactions.len()];
    for r in input.responses {
        if let (Some(&i), Some(&p)) = (i_index.get(&r.interaction), p_index.get(&r.participant))
            && grid[i][p].is_none()
        {
            grid[i][p] = Some(r);
        }
    }

    // Per interaction x participant.
    let mut interactions = Vec::with_capacity(input.interactions.len());
    for (i, interaction) in input.interactions.iter().enumerate() {
        let submitted: Vec<&ScoredResponse> = grid[i].iter().flatten().copied().collect();
        let reference = select_reference(
            input.mode,
            input.expert,
            input.group_reference,
            &submitted,
            input.consensus.and_then(|c| c.get(interaction)),
        );
        let scores = input
            .participants
            .iter()
            .enumerate()
            .map(|(p, participant)| score(input, &reference, participant, grid[i][p]))
            .collect();
        let totals: Vec<f64> = submitted
            .iter()
            .map(|r| r.total)
            .filter(|t| t.is_finite())
            .collect();
        let range = match (
            totals.iter().copied().reduce(f64::min),
            totals.iter().copied().reduce(f64::max),
        ) {
            (Some(lo), Some(hi)) if totals.len() >= 2 => hi - lo,
            _ => 0.0,
        };
        interactions.push(InteractionResult {
            interaction: interaction.clone(),
            reference,
            scores,
            total: Estimate::mean(&totals),
            total_stddev: sample_sd(&totals),
            total_range: range,
        });
    }

    let participants = input
        .participants
        .iter()
        .enumerate()
        .map(|(p, participant)| participant_result(input, &interactions, p, participant))
        .collect();

    // Per question, and the pooled answers.
    let mut questions = Vec::with_capacity(input.questions.len());
    let mut pooled_rows: Vec<Vec<Option<f64>>> = Vec::new();
    let mut pooled_codes: HashMap<(usize, u64), f64> = HashMap::new();
    let mut pooled_declared: Vec<f64> = Vec::new();
    for (qi, spec) in input.questions.iter().enumerate() {
        let mut coder = Coder::for_question(spec);
        let mut nominal_rows = Vec::with_capacity(input.interactions.len());
        let mut scale_rows = Vec::with_capacity(input.interactions.len());
        let mut counts: BTreeMap<AnswerValue, u32> = BTreeMap::new();
        let mut points = Vec::new();
        for row in &grid {
            let mut nominal = Vec::with_capacity(np);
            let mut scale = Vec::with_capacity(np);
            for cell in row {
                let answer = cell.and_then(|r| answer_of(r, &spec.id));
                nominal.push(answer.map(|a| coder.code(&a.value)));
                scale.push(match answer.map(|a| &a.value) {
                    Some(AnswerValue::Scale(v)) => Some(f64::from(*v)),
                    _ => None,
                });
                if let Some(a) = answer {
                    *counts.entry(a.value.clone()).or_default() += 1;
                    if a.points.is_finite() {
                        points.push(a.points);
                    }
                }
            }
            nominal_rows.push(nominal);
            scale_rows.push(scale);
        }
        // Pool: one unit per (interaction, question), codes made unique per question.
        let mut pool = |code: f64| {
            let next = pooled_codes.len() as f64;
            *pooled_codes.entry((qi, code.to_bits())).or_insert(next)
        };
        for &d in &coder.declared {
            pooled_declared.push(pool(d));
        }
        for row in &nominal_rows {
            pooled_rows.push(row.iter().map(|c| c.map(&mut pool)).collect());
        }

        let nominal = matrix(&nominal_rows, np);
        let is_scale = matches!(spec.kind, QuestionKind::Scale { .. });
        let (alpha_value, alpha_level) = if is_scale {
            (
                on(&matrix(&scale_rows, np), |m| alpha(m, Level::Interval)),
                Level::Interval,
            )
        } else {
            (on(&nominal, |m| alpha(m, Level::Nominal)), Level::Nominal)
        };
        let percent = on(&nominal, percent_agreement);
        let (mut agree, mut compared) = (0u64, 0u64);
        for ir in &interactions {
            for s in &ir.scores {
                for qc in s.questions.iter().filter(|c| c.question == spec.id) {
                    match qc.agreement {
                        QuestionAgreement::Agree => {
                            agree += 1;
                            compared += 1;
                        }
                        QuestionAgreement::Disagree => compared += 1,
                        _ => {}
                    }
                }
            }
        }
        let mut answer_counts: Vec<(AnswerValue, u32)> = counts.into_iter().collect();
        answer_counts.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let declared = coder.declared.clone();
        questions.push(QuestionResult {
            question: spec.id.clone(),
            answer_count: answer_counts.iter().map(|(_, c)| c).sum(),
            ambiguous: percent.ok().is_some_and(|v| v < input.ambiguity_threshold),
            percent_agreement: percent,
            reference_agreement_rate: Estimate::proportion(agree, compared),
            answer_counts,
            points_stddev: sample_sd(&points),
            alpha: alpha_value,
            alpha_level,
            fleiss_kappa: on(&nominal, fleiss_kappa),
            gwet_ac1: on(&nominal, |m| gwet(m, Weights::Identity, &declared)),
        });
    }

    let totals_rows: Vec<Vec<Option<f64>>> = grid
        .iter()
        .map(|row| {
            row.iter()
                .map(|c| c.map(|r| r.total).filter(|t| t.is_finite()))
                .collect()
        })
        .collect();
    let totals = matrix(&totals_rows, np);
    let pooled = matrix(&pooled_rows, np);
    let reliability = GroupReliability {
        total_alpha: on(&totals, |m| alpha(m, Level::Interval)),
        total_icc: totals.as_ref().map(icc_all).unwrap_or_default(),
        answers_alpha: on(&pooled, |m| alpha(m, Level::Nominal)),
        answers_fleiss_kappa: on(&pooled, fleiss_kappa),
        answers_gwet_ac1: on(&pooled, |m| gwet(m, Weights::Identity, &pooled_declared)),
        answers_percent_agreement: on(&pooled, percent_agreement),
    };

    let mut pairs = Vec::new();
    for a in 0..np {
        for b in a + 1..np {
            let both: Vec<(f64, f64)> = pooled_rows
                .iter()
                .filter_map(|row| Some(((*row.get(a)?)?, (*row.get(b)?)?)))
                .collect();
            let diffs: Vec<f64> = totals_rows
                .iter()
                .filter_map(|row| Some((*row.get(a)?)? - (*row.get(b)?)?))
                .collect();
            pairs.push(PairAgreement {
                a: input.participants[a].clone(),
                b: input.participants[b].clone(),
                cohen_kappa: cohen_pairs(&both, CohenWeights::Unweighted, true),
                mean_total_difference: Estimate::mean(&diffs),
            });
        }
    }

    let submitted_all: Vec<&ScoredResponse> = grid.iter().flatten().flatten().copied().collect();
    SessionResults {
        provisional: input.mode == Mode::Consensus && input.consensus.is_none(),
        interactions,
        participants,
        questions,
        reliability,
        pairs,
        responses_expected: (np * input.interactions.len()) as u32,
        responses_submitted: submitted_all.len() as u32,
        responses_late: submitted_all.iter().filter(|r| r.late).count() as u32,
    }
}

fn score(
    input: &ResultsInput<'_>,
    reference: &Reference,
    participant: &ParticipantId,
    response: Option<&ScoredResponse>,
) -> ParticipantScore {
    let is_reference = reference.is_authored_by(participant);
    let status = match response {
        None => ResponseStatus::Missing,
        Some(r) if r.late => ResponseStatus::Late,
        Some(_) => ResponseStatus::Submitted,
    };
    let total = response.map(|r| r.total).filter(|t| t.is_finite());
    let deviation = match (total, reference.total) {
        (Some(t), Some(reference)) if !is_reference => Some(t - reference),
        _ => None,
    };
    let questions = input
        .questions
        .iter()
        .map(|spec| {
            let answer = response.and_then(|r| answer_of(r, &spec.id));
            let agreement = match (answer, reference.answers.get(&spec.id)) {
                (None, _) => QuestionAgreement::NoAnswer,
                (Some(_), _) if is_reference => QuestionAgreement::NoReference,
                (Some(_), None) => QuestionAgreement::NoReference,
                (Some(a), Some(r)) if &a.value == r => QuestionAgreement::Agree,
                (Some(_), Some(_)) => QuestionAgreement::Disagree,
            };
            QuestionComparison {
                question: spec.id.clone(),
                answer: answer.map(|a| a.value.clone()),
                points: answer.map(|a| a.points).filter(|p| p.is_finite()),
                agreement,
            }
        })
        .collect();
    ParticipantScore {
        participant: participant.clone(),
        status,
        total,
        deviation,
        within_tolerance: deviation.is_some_and(|d| input.tolerance.contains(d)),
        questions,
    }
}

fn participant_result(
    input: &ResultsInput<'_>,
    interactions: &[InteractionResult],
    p: usize,
    participant: &ParticipantId,
) -> ParticipantResult {
    let mut deviations = Vec::new();
    let (mut submitted, mut late, mut missing) = (0u32, 0u32, 0u32);
    let (mut agree, mut compared) = (0u64, 0u64);
    for ir in interactions {
        let Some(s) = ir.scores.get(p) else { continue };
        match s.status {
            ResponseStatus::Submitted => submitted += 1,
            ResponseStatus::Late => late += 1,
            ResponseStatus::Missing => missing += 1,
        }
        if let Some(d) = s.deviation {
            deviations.push(d);
        }
        for qc in &s.questions {
            match qc.agreement {
                QuestionAgreement::Agree => {
                    agree += 1;
                    compared += 1;
                }
                QuestionAgreement::Disagree => compared += 1,
                _ => {}
            }
        }
    }
    let abs: Vec<f64> = deviations.iter().map(|d| d.abs()).collect();
    let within = deviations
        .iter()
        .filter(|d| input.tolerance.contains(**d))
        .count() as u64;
    let signed = Estimate::mean(&deviations);
    ParticipantResult {
        participant: participant.clone(),
        expert: input.mode == Mode::Expert && input.expert == Some(participant),
        submitted,
        late,
        missing,
        mean_absolute_deviation: Estimate::mean(&abs),
        within_tolerance_rate: Estimate::proportion(within, deviations.len() as u64),
        question_agreement_rate: Estimate::proportion(agree, compared),
        leniency: Leniency::of(&signed),
        mean_deviation_exceeds_tolerance: !signed.no_data
            && !input.tolerance.contains(signed.value),
        mean_signed_deviation: signed,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::ScoredAnswer;
    use crate::session::reference::ReferenceSource;
    use proptest::prelude::*;

    fn pid(s: &str) -> ParticipantId {
        ParticipantId::parse(s).unwrap()
    }
    fn iid(s: &str) -> InteractionId {
        InteractionId::parse(s).unwrap()
    }
    fn qid(s: &str) -> QuestionId {
        QuestionId::parse(s).unwrap()
    }

    fn questions() -> Vec<QuestionSpec> {
        vec![
            QuestionSpec {
                id: qid("q1"),
                kind: QuestionKind::YesNo,
                allows_not_applicable: false,
            },
            QuestionSpec {
                id: qid("q2"),
                kind: QuestionKind::Scale { min: 1, max: 5 },
                allows_not_applicable: true,
            },
        ]
    }

    fn resp(p: &str, i: &str, total: f64, q1: bool, q2: i32, late: bool) -> ScoredResponse {
        ScoredResponse {
            participant: pid(p),
            interaction: iid(i),
            total,
            answers: vec![
                ScoredAnswer {
                    question: qid("q1"),
                    value: AnswerValue::Yes(q1),
                    points: if q1 { 10.0 } else { 0.0 },
                },
                ScoredAnswer {
                    question: qid("q2"),
                    value: AnswerValue::Scale(q2),
                    points: f64::from(q2) * 2.0,
                },
            ],
            late,
        }
    }

    struct Fixture {
        participants: Vec<ParticipantId>,
        interactions: Vec<InteractionId>,
        questions: Vec<QuestionSpec>,
        responses: Vec<ScoredResponse>,
    }

    /// 3 participants x 2 interactions; cy is late on i1 and missing on i2.
    fn worked() -> Fixture {
        Fixture {
            participants: vec![pid("ann"), pid("bob"), pid("cy")],
            interactions: vec![iid("i1"), iid("i2")],
            questions: questions(),
            responses: vec![
                resp("ann", "i1", 80.0, true, 4, false),
                resp("bob", "i1", 70.0, true, 3, false),
                resp("cy", "i1", 90.0, false, 4, true),
                resp("ann", "i2", 60.0, false, 2, false),
                resp("bob", "i2", 66.0, false, 2, false),
            ],
        }
    }

    fn input<'a>(
        f: &'a Fixture,
        mode: Mode,
        expert: Option<&'a ParticipantId>,
    ) -> ResultsInput<'a> {
        ResultsInput {
            mode,
            expert,
            participants: &f.participants,
            interactions: &f.interactions,
            questions: &f.questions,
            responses: &f.responses,
            consensus: None,
            tolerance: Tolerance::DEFAULT,
            group_reference: GroupReference::Median,
            ambiguity_threshold: 0.8,
        }
    }

    #[test]
    fn blind_session_worked_example() {
        let f = worked();
        let r = compute_results(&input(&f, Mode::Blind, None));
        assert!(!r.provisional);
        assert_eq!(
            (
                r.responses_expected,
                r.responses_submitted,
                r.responses_late
            ),
            (6, 5, 1)
        );

        let i1 = &r.interactions[0];
        assert_eq!(
            (i1.reference.source, i1.reference.total),
            (ReferenceSource::GroupMedian, Some(80.0))
        );
        let dev: Vec<Option<f64>> = i1.scores.iter().map(|s| s.deviation).collect();
        assert_eq!(dev, vec![Some(0.0), Some(-10.0), Some(10.0)]);
        let within: Vec<bool> = i1.scores.iter().map(|s| s.within_tolerance).collect();
        assert_eq!(within, vec![true, false, false]);
        assert_eq!(i1.scores[2].status, ResponseStatus::Late);
        use QuestionAgreement::*;
        let q_agree: Vec<(QuestionAgreement, QuestionAgreement)> = i1
            .scores
            .iter()
            .map(|s| (s.questions[0].agreement, s.questions[1].agreement))
            .collect();
        assert_eq!(
            q_agree,
            vec![(Agree, Agree), (Agree, Disagree), (Disagree, Agree)]
        );
        assert_eq!(i1.total_range, 20.0);
        assert_eq!(i1.total_stddev, 10.0);

        let i2 = &r.interactions[1];
        assert_eq!(i2.reference.total, Some(63.0));
        assert_eq!(i2.scores[2].status, ResponseStatus::Missing);
        assert_eq!(i2.scores[2].deviation, None);
        assert_eq!(i2.scores[2].questions[0].agreement, NoAnswer);

        let ann = &r.participants[0];
        assert_eq!(ann.mean_signed_deviation.value, -1.5);
        assert_eq!(ann.mean_absolute_deviation.value, 1.5);
        assert_eq!(ann.within_tolerance_rate.value, 1.0);
        assert_eq!(ann.question_agreement_rate.value, 1.0);
        let bob = &r.participants[1];
        assert_eq!(bob.mean_signed_deviation.value, -3.5);
        assert_eq!(bob.mean_absolute_deviation.value, 6.5);
        assert_eq!(bob.within_tolerance_rate.value, 0.5);
        assert_eq!(bob.question_agreement_rate.value, 0.75);
        assert_eq!(bob.leniency, Leniency::Aligned);
        let cy = &r.participants[2];
        assert_eq!((cy.submitted, cy.late, cy.missing), (0, 1, 1));
        assert_eq!(cy.leniency, Leniency::InsufficientData);
        // One deviation of +10 against a 5-point tolerance: outside the band
        // on average even though no interval can be formed.
        assert!(cy.mean_deviation_exceeds_tolerance);
        assert!(!ann.mean_deviation_exceeds_tolerance && !bob.mean_deviation_exceeds_tolerance);

        let q1 = &r.questions[0];
        assert_eq!(q1.answer_count, 5);
        assert_eq!(
            q1.answer_counts,
            vec![(AnswerValue::Yes(false), 3), (AnswerValue::Yes(true), 2)]
        );
        assert!((q1.percent_agreement.value.unwrap() - 2.0 / 3.0).abs() < 1e-12);
        assert!(q1.ambiguous);
        assert_eq!(q1.reference_agreement_rate.value, 0.8);
        assert_eq!(q1.alpha_level, Level::Nominal);
        assert_eq!(r.questions[1].alpha_level, Level::Interval);
        // Points of q1: 10, 10, 0, 0, 0.
        assert!((q1.points_stddev - sample_sd(&[10.0, 10.0, 0.0, 0.0, 0.0])).abs() < 1e-12);

        assert_eq!(r.pairs.len(), 3);
        assert_eq!(
            (r.pairs[0].a.as_str(), r.pairs[0].b.as_str()),
            ("ann", "bob")
        );
        assert_eq!(r.pairs[0].mean_total_difference.value, 2.0);
        assert_eq!(r.pairs[0].cohen_kappa.units_used, 4);
        assert_eq!(r.reliability.total_icc.len(), 6);
        // ICC over complete cases: only i1 is complete, so too few units.
        assert_eq!(
            r.reliability.total_icc[0].agreement.value,
            Err(Undefined::TooFewUnits)
        );
        assert!(r.reliability.total_alpha.value.is_ok());
    }

    #[test]
    fn expert_is_the_reference_and_not_compared_with_themselves() {
        let f = worked();
        let cy = pid("cy");
        let r = compute_results(&input(&f, Mode::Expert, Some(&cy)));
        let i1 = &r.interactions[0];
        assert_eq!(
            (i1.reference.source, i1.reference.total),
            (ReferenceSource::Expert, Some(90.0))
        );
        assert_eq!(i1.scores[0].deviation, Some(-10.0));
        assert_eq!(i1.scores[2].deviation, None);
        assert_eq!(
            i1.scores[2].questions[0].agreement,
            QuestionAgreement::NoReference
        );
        // cy missed i2: the group stands in, flagged.
        let i2 = &r.interactions[1];
        assert_eq!(i2.reference.source, ReferenceSource::GroupMedian);
        assert!(i2.reference.fell_back_to_group);
        assert!(r.participants[2].expert);
        assert!(!r.participants[0].expert);
        assert!(r.participants[2].mean_signed_deviation.no_data);
    }

    #[test]
    fn consensus_is_provisional_until_recorded() {
        let f = worked();
        let provisional = compute_results(&input(&f, Mode::Consensus, None));
        assert!(provisional.provisional);
        assert_eq!(
            provisional.interactions[0].reference.source,
            ReferenceSource::GroupMedian
        );
        let mut consensus = BTreeMap::new();
        consensus.insert(
            iid("i1"),
            Consensus::Agreed {
                total: 75.0,
                answers: vec![ScoredAnswer {
                    question: qid("q1"),
                    value: AnswerValue::Yes(true),
                    points: 10.0,
                }],
            },
        );
        consensus.insert(iid("i2"), Consensus::NoConsensus);
        let mut inp = input(&f, Mode::Consensus, None);
        inp.consensus = Some(&consensus);
        let r = compute_results(&inp);
        assert!(!r.provisional);
        assert_eq!(
            r.interactions[0].reference.source,
            ReferenceSource::Consensus
        );
        assert_eq!(r.interactions[0].scores[0].deviation, Some(5.0));
        assert!(r.interactions[0].scores[0].within_tolerance);
        // No consensus answer for q2: no reference for it.
        assert_eq!(
            r.interactions[0].scores[0].questions[1].agreement,
            QuestionAgreement::NoReference
        );
        assert!(r.interactions[1].reference.fell_back_to_group);
        // Reliability does not depend on the reference.
        assert_eq!(r.reliability, provisional.reliability);
    }

    #[test]
    fn empty_session_is_all_defined() {
        let f = Fixture {
            participants: vec![pid("a")],
            interactions: vec![iid("i")],
            questions: questions(),
            responses: vec![],
        };
        let r = compute_results(&input(&f, Mode::Blind, None));
        assert_eq!(r.interactions[0].reference.source, ReferenceSource::None);
        assert!(r.participants[0].mean_signed_deviation.no_data);
        assert_eq!(
            r.reliability.total_alpha.value,
            Err(Undefined::TooFewRaters)
        );
        assert!(r.pairs.is_empty());
    }

    fn all_finite(r: &SessionResults) -> bool {
        let est =
            |e: &Estimate| e.value.is_finite() && e.ci_low.is_finite() && e.ci_high.is_finite();
        let agr = |a: &Agreement| a.value.ok().is_none_or(f64::is_finite);
        r.interactions.iter().all(|i| {
            est(&i.total)
                && i.total_stddev.is_finite()
                && i.scores
                    .iter()
                    .all(|s| s.deviation.is_none_or(f64::is_finite))
        }) && r.participants.iter().all(|p| {
            est(&p.mean_signed_deviation)
                && est(&p.mean_absolute_deviation)
                && est(&p.within_tolerance_rate)
                && est(&p.question_agreement_rate)
        }) && r.questions.iter().all(|q| {
            agr(&q.percent_agreement)
                && agr(&q.alpha)
                && agr(&q.fleiss_kappa)
                && agr(&q.gwet_ac1)
                && q.points_stddev.is_finite()
        }) && agr(&r.reliability.total_alpha)
            && agr(&r.reliability.answers_alpha)
            && r.reliability.total_icc.iter().all(|i| agr(&i.agreement))
            && r.pairs
                .iter()
                .all(|p| agr(&p.cohen_kappa) && est(&p.mean_total_difference))
    }

    proptest! {
        #[test]
        fn results_never_contain_nan(
            cells in proptest::collection::vec(proptest::option::weighted(0.7, (0u8..=100, any::<bool>(), 1i32..=5, any::<bool>())), 1..24),
            np in 1usize..5,
            mode in 0u8..3,
        ) {
            let ni = cells.len().div_ceil(np);
            let participants: Vec<ParticipantId> = (0..np).map(|p| pid(&format!("p{p}"))).collect();
            let interactions: Vec<InteractionId> = (0..ni).map(|i| iid(&format!("i{i}"))).collect();
            let mut responses = Vec::new();
            for (k, cell) in cells.iter().enumerate() {
                if let Some((total, q1, q2, late)) = cell {
                    responses.push(resp(&format!("p{}", k % np), &format!("i{}", k / np), f64::from(*total), *q1, *q2, *late));
                }
            }
            let f = Fixture { participants, interactions, questions: questions(), responses };
            let p0 = pid("p0");
            let (mode, expert) = match mode {
                0 => (Mode::Blind, None),
                1 => (Mode::Expert, Some(&p0)),
                _ => (Mode::Consensus, None),
            };
            let r = compute_results(&input(&f, mode, expert));
            prop_assert!(all_finite(&r));
            prop_assert_eq!(r.responses_submitted as usize, f.responses.len());
            for i in &r.interactions {
                prop_assert_eq!(i.scores.len(), np);
            }
        }
    }
}
