//! Proto <-> domain at the edge: the functional core never sees a generated
//! type, and the service never hand-builds a domain rule. Everything here is
//! a plain conversion; where a proto value cannot become a domain value the
//! function says so with a field violation.

use std::collections::BTreeMap;

use earshot_kit::{Error, Violations as KitViolations};
use earshot_proto::calibration::v1 as pb;
use earshot_proto::common::v1 as common;
use earshot_proto::scoring::v1 as scoring;

use crate::agreement::icc::{Icc, IccForm, IccInference};
use crate::agreement::request::{Cell, StatisticKind};
use crate::agreement::{Agreement, Level, Undefined};
use crate::session::reference::{Reference, ReferenceSource};
use crate::session::results::{Leniency, QuestionAgreement, ResponseStatus, SessionResults};
use crate::session::{
    AnswerValue, GroupReference, Mode, QuestionId, QuestionKind, QuestionSpec, State, Tolerance,
};
use crate::settings::Settings;
use crate::stats::estimate::Estimate;
use crate::validation::Violations;

/// The core's violations as `INVALID_ARGUMENT`, with `prefix` before each
/// field path (empty for none).
pub fn invalid(v: Violations, prefix: &str) -> Error {
    let mut out = KitViolations::new();
    for f in v {
        let field = if prefix.is_empty() {
            f.field
        } else {
            format!("{prefix}.{}", f.field)
        };
        out.add(field, f.description);
    }
    match out.into_result() {
        Ok(()) => Error::internal("empty violation list"),
        Err(e) => e,
    }
}

// ------------------------------------------------------------------ enums

/// A proto mode; `None` for unspecified or unknown.
pub fn mode_from(v: i32) -> Option<Mode> {
    match pb::SessionMode::try_from(v).ok()? {
        pb::SessionMode::Blind => Some(Mode::Blind),
        pb::SessionMode::Expert => Some(Mode::Expert),
        pb::SessionMode::Consensus => Some(Mode::Consensus),
        pb::SessionMode::Unspecified => None,
    }
}

/// A mode as its proto number.
pub fn mode_to(m: Mode) -> i32 {
    match m {
        Mode::Blind => pb::SessionMode::Blind as i32,
        Mode::Expert => pb::SessionMode::Expert as i32,
        Mode::Consensus => pb::SessionMode::Consensus as i32,
    }
}

/// A stored state number as a state (unknown numbers read as cancelled,
/// which reveals nothing and allows nothing).
pub fn state_from(v: i32) -> State {
    match pb::SessionState::try_from(v) {
        Ok(pb::SessionState::Open) => State::Open,
        Ok(pb::SessionState::AwaitingConsensus) => State::AwaitingConsensus,
        Ok(pb::SessionState::Closed) => State::Closed,
        _ => State::Cancelled,
    }
}

/// A state as its proto number.
pub fn state_to(s: State) -> i32 {
    match s {
        State::Open => pb::SessionState::Open as i32,
        State::AwaitingConsensus => pb::SessionState::AwaitingConsensus as i32,
        State::Closed => pb::SessionState::Closed as i32,
        State::Cancelled => pb::SessionState::Cancelled as i32,
    }
}

/// A proto group reference; `None` for unspecified or unknown.
pub fn group_reference_from(v: i32) -> Option<GroupReference> {
    match pb::GroupReference::try_from(v).ok()? {
        pb::GroupReference::Median => Some(GroupReference::Median),
        pb::GroupReference::Mean => Some(GroupReference::Mean),
        pb::GroupReference::Unspecified => None,
    }
}

/// A group reference as its proto number.
pub fn group_reference_to(g: GroupReference) -> i32 {
    match g {
        GroupReference::Median => pb::GroupReference::Median as i32,
        GroupReference::Mean => pb::GroupReference::Mean as i32,
    }
}

// ---------------------------------------------------------------- answers

/// An answer's value; `None` when no value is set (or N/A is false).
pub fn answer_value(a: &common::Answer) -> Option<AnswerValue> {
    use common::answer::Value;
    match a.value.as_ref()? {
        Value::Yes(y) => Some(AnswerValue::Yes(*y)),
        Value::ScaleValue(v) => Some(AnswerValue::Scale(*v)),
        Value::OptionId(o) => Some(AnswerValue::Choice(o.clone())),
        Value::NotApplicable(true) => Some(AnswerValue::NotApplicable),
        Value::NotApplicable(false) => None,
    }
}

/// A domain answer as the shared proto answer.
pub fn answer_proto(question: &str, v: &AnswerValue, comment: String) -> common::Answer {
    use common::answer::Value;
    common::Answer {
        question_id: question.to_owned(),
        value: Some(match v {
            AnswerValue::Yes(y) => Value::Yes(*y),
            AnswerValue::Scale(x) => Value::ScaleValue(*x),
            AnswerValue::Choice(o) => Value::OptionId(o.clone()),
            AnswerValue::NotApplicable => Value::NotApplicable(true),
        }),
        comment,
    }
}

/// The questions of a scorecard version, in scorecard order.
pub fn question_specs(v: &scoring::ScorecardVersion) -> Vec<QuestionSpec> {
    use scoring::question::Kind;
    let mut out = Vec::new();
    let Some(def) = &v.definition else {
        return out;
    };
    for section in &def.sections {
        for q in &section.questions {
            let Ok(id) = QuestionId::parse(&q.id) else {
                continue;
            };
            let kind = match &q.kind {
                Some(Kind::YesNo(_)) => QuestionKind::YesNo,
                Some(Kind::Scale(s)) => QuestionKind::Scale {
                    min: s.min,
                    max: s.max,
                },
                Some(Kind::Choice(c)) => QuestionKind::Choice {
                    options: c.options.iter().map(|o| o.id.clone()).collect(),
                },
                None => continue,
            };
            out.push(QuestionSpec {
                id,
                kind,
                // A wholly-N/A section accepts N/A on each of its questions;
                // scoring checks the "all of them" part.
                allows_not_applicable: q.not_applicable_allowed || section.not_applicable_allowed,
            });
        }
    }
    out
}

/// How scoring's per-question status reads as an outcome.
pub fn outcome(q: &scoring::QuestionResult) -> pb::AnswerOutcome {
    match scoring::QuestionStatus::try_from(q.status) {
        Ok(scoring::QuestionStatus::Answered) => {
            if q.failed && q.earned_points <= 0.0 {
                pb::AnswerOutcome::NotMet
            } else if q.possible_points > 0.0 && q.earned_points < q.possible_points {
                if q.earned_points <= 0.0 {
                    pb::AnswerOutcome::NotMet
                } else {
                    pb::AnswerOutcome::PartiallyMet
                }
            } else if q.failed {
                pb::AnswerOutcome::NotMet
            } else {
                pb::AnswerOutcome::Met
            }
        }
        Ok(scoring::QuestionStatus::NotApplicable) | Ok(scoring::QuestionStatus::Hidden) => {
            pb::AnswerOutcome::NotApplicable
        }
        _ => pb::AnswerOutcome::Unspecified,
    }
}

/// A response's score from scoring's result.
pub fn response_score(r: &scoring::ScoreResult) -> pb::ResponseScore {
    let auto_failed = r.total_scored && r.total_score <= 0.0 && r.raw_total_score > 0.0;
    pb::ResponseScore {
        total_score: r.total_score,
        auto_failed,
        question_scores: r
            .questions
            .iter()
            .map(|q| pb::QuestionScore {
                question_id: q.question_id.clone(),
                points_awarded: q.earned_points,
                points_possible: q.possible_points,
                outcome: outcome(q) as i32,
            })
            .collect(),
        total_scored: r.total_scored,
    }
}

/// A stored response as the core's scored response.
pub fn scored_response(
    participant: crate::session::ParticipantId,
    interaction: crate::session::InteractionId,
    late: bool,
    r: &pb::Response,
) -> crate::session::ScoredResponse {
    let score = r.score.clone().unwrap_or_default();
    let points: BTreeMap<&str, f64> = score
        .question_scores
        .iter()
        .map(|q| (q.question_id.as_str(), q.points_awarded))
        .collect();
    crate::session::ScoredResponse {
        participant,
        interaction,
        total: if score.total_scored {
            score.total_score
        } else {
            f64::NAN
        },
        answers: r
            .answers
            .iter()
            .filter_map(|a| {
                Some(crate::session::ScoredAnswer {
                    question: QuestionId::parse(&a.question_id).ok()?,
                    value: answer_value(a)?,
                    points: points.get(a.question_id.as_str()).copied().unwrap_or(0.0),
                })
            })
            .collect(),
        late,
    }
}

// --------------------------------------------------------------- settings

/// Domain settings from their stored proto.
pub fn settings_from(p: &pb::Settings) -> Settings {
    let d = Settings::default();
    Settings {
        tolerance: Tolerance::parse(p.tolerance_points).unwrap_or(d.tolerance),
        group_reference: group_reference_from(p.group_reference).unwrap_or(d.group_reference),
        reveal_identities_to_participants: p.reveal_identities_to_participants,
        ambiguity_threshold: if p.ambiguity_threshold.is_finite() {
            p.ambiguity_threshold
        } else {
            d.ambiguity_threshold
        },
        default_response_window_ms: p
            .default_response_window
            .as_ref()
            .map(|w| w.seconds.saturating_mul(1000) + i64::from(w.nanos / 1_000_000))
            .filter(|ms| *ms > 0)
            .unwrap_or(d.default_response_window_ms),
    }
}

/// Domain settings as the proto (metadata left to the caller).
pub fn settings_to(s: &Settings) -> pb::Settings {
    pb::Settings {
        tolerance_points: s.tolerance.points(),
        group_reference: group_reference_to(s.group_reference),
        reveal_identities_to_participants: s.reveal_identities_to_participants,
        ambiguity_threshold: s.ambiguity_threshold,
        default_response_window: Some(prost_types::Duration {
            seconds: s.default_response_window_ms.div_euclid(1000),
            nanos: i32::try_from(s.default_response_window_ms.rem_euclid(1000) * 1_000_000)
                .unwrap_or(0),
        }),
        update_time: None,
        updated_by: None,
        etag: String::new(),
    }
}

// ----------------------------------------------------------------- figures

/// A domain estimate as the shared proto estimate.
pub fn estimate(e: &Estimate) -> common::Estimate {
    common::Estimate {
        value: e.value,
        ci_low: e.ci_low,
        ci_high: e.ci_high,
        sample_size: i64::try_from(e.sample_size).unwrap_or(i64::MAX),
        insufficient_sample: e.insufficient_sample,
        no_data: e.no_data,
    }
}

/// A level as its proto number.
pub fn level_to(l: Level) -> i32 {
    match l {
        Level::Nominal => pb::LevelOfMeasurement::Nominal as i32,
        Level::Ordinal => pb::LevelOfMeasurement::Ordinal as i32,
        Level::Interval => pb::LevelOfMeasurement::Interval as i32,
        Level::Ratio => pb::LevelOfMeasurement::Ratio as i32,
    }
}

/// A proto level; `None` for unspecified or unknown.
pub fn level_from(v: i32) -> Option<Level> {
    match pb::LevelOfMeasurement::try_from(v).ok()? {
        pb::LevelOfMeasurement::Nominal => Some(Level::Nominal),
        pb::LevelOfMeasurement::Ordinal => Some(Level::Ordinal),
        pb::LevelOfMeasurement::Interval => Some(Level::Interval),
        pb::LevelOfMeasurement::Ratio => Some(Level::Ratio),
        pb::LevelOfMeasurement::Unspecified => None,
    }
}

fn undefined_to(u: Undefined) -> pb::UndefinedReason {
    match u {
        Undefined::TooFewRaters => pb::UndefinedReason::TooFewRaters,
        Undefined::TooFewUnits => pb::UndefinedReason::TooFewUnits,
        Undefined::NoPairableUnits => pb::UndefinedReason::NoPairableUnits,
        Undefined::NoVariation => pb::UndefinedReason::NoVariation,
        Undefined::SingleCategory => pb::UndefinedReason::SingleCategory,
        Undefined::NoCompleteCases => pb::UndefinedReason::NoCompleteCases,
        Undefined::TooManyValues => pb::UndefinedReason::TooManyValues,
        Undefined::ZeroDenominator => pb::UndefinedReason::ZeroDenominator,
        Undefined::NegativeVariance => pb::UndefinedReason::NegativeVariance,
    }
}

fn count(n: usize) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// A statistic's outcome as the proto.
pub fn statistic(kind: pb::StatisticKind, level: Level, a: &Agreement) -> pb::AgreementStatistic {
    use pb::agreement_statistic::Outcome;
    pb::AgreementStatistic {
        kind: kind as i32,
        level: level_to(level),
        outcome: Some(match a.value {
            Ok(v) => Outcome::Value(v),
            Err(u) => Outcome::UndefinedReason(undefined_to(u) as i32),
        }),
        units_used: count(a.units_used),
        raters_used: count(a.raters_used),
        observed_agreement: a.observed,
        chance_agreement: a.chance,
        rater_ids: Vec::new(),
        icc: None,
    }
}

fn icc_kind(f: IccForm) -> pb::StatisticKind {
    match f {
        IccForm::Icc11 => pb::StatisticKind::Icc11,
        IccForm::Icc21 => pb::StatisticKind::Icc21,
        IccForm::Icc31 => pb::StatisticKind::Icc31,
        IccForm::Icc1k => pb::StatisticKind::Icc1K,
        IccForm::Icc2k => pb::StatisticKind::Icc2K,
        IccForm::Icc3k => pb::StatisticKind::Icc3K,
    }
}

fn icc_inference(i: &IccInference) -> pb::IccInference {
    pb::IccInference {
        f_value: i.f_value,
        df1: i.df1,
        df2: i.df2,
        p_value: i.p_value,
        ci_low: i.ci_low,
        ci_high: i.ci_high,
    }
}

fn icc_statistic(i: &Icc) -> pb::AgreementStatistic {
    let mut s = statistic(icc_kind(i.form), Level::Interval, &i.agreement);
    if i.agreement.value.is_ok() {
        s.icc = Some(icc_inference(&i.inference));
    }
    s
}

// ----------------------------------------------------------------- results

fn leniency_to(l: Leniency) -> pb::Leniency {
    match l {
        Leniency::Lenient => pb::Leniency::Lenient,
        Leniency::Harsh => pb::Leniency::Harsh,
        Leniency::Aligned => pb::Leniency::Aligned,
        Leniency::InsufficientData => pb::Leniency::InsufficientData,
    }
}

/// A leniency verdict as its proto number.
pub fn leniency(l: Leniency) -> i32 {
    leniency_to(l) as i32
}

fn status_to(s: ResponseStatus) -> pb::ResponseStatus {
    match s {
        ResponseStatus::Submitted => pb::ResponseStatus::Submitted,
        ResponseStatus::Late => pb::ResponseStatus::Late,
        ResponseStatus::Missing => pb::ResponseStatus::Missing,
    }
}

fn agreement_to(a: QuestionAgreement) -> pb::QuestionAgreement {
    match a {
        QuestionAgreement::Agree => pb::QuestionAgreement::Agree,
        QuestionAgreement::Disagree => pb::QuestionAgreement::Disagree,
        QuestionAgreement::NoReference => pb::QuestionAgreement::NoReference,
        QuestionAgreement::NoAnswer => pb::QuestionAgreement::NoAnswer,
    }
}

fn reference_to(r: &Reference, questions: &[QuestionSpec]) -> pb::Reference {
    let source = match r.source {
        ReferenceSource::Expert => pb::ReferenceSource::Expert,
        ReferenceSource::Consensus => pb::ReferenceSource::Consensus,
        ReferenceSource::GroupMedian => pb::ReferenceSource::GroupMedian,
        ReferenceSource::GroupMean => pb::ReferenceSource::GroupMean,
        ReferenceSource::None => pb::ReferenceSource::None,
    };
    pb::Reference {
        source: source as i32,
        total_score: r.total,
        answers: questions
            .iter()
            .filter_map(|q| {
                r.answers
                    .get(&q.id)
                    .map(|v| answer_proto(q.id.as_str(), v, String::new()))
            })
            .collect(),
        expert_participant_id: r
            .expert
            .as_ref()
            .map(|e| e.as_str().to_owned())
            .unwrap_or_default(),
        fell_back_to_group: r.fell_back_to_group,
    }
}

/// What a results message is about.
#[derive(Debug, Clone, Copy)]
pub struct ResultsMeta<'a> {
    /// The session.
    pub session_id: &'a str,
    /// Its mode.
    pub mode: Mode,
    /// Its tolerance.
    pub tolerance: Tolerance,
    /// When the results were computed (epoch ms).
    pub compute_ms: i64,
    /// The scorecard's questions, in order.
    pub questions: &'a [QuestionSpec],
}

/// A session's results as the proto.
pub fn results_to(meta: &ResultsMeta<'_>, r: &SessionResults) -> pb::SessionResults {
    let questions = meta.questions;
    pb::SessionResults {
        session_id: meta.session_id.to_owned(),
        mode: mode_to(meta.mode),
        provisional: r.provisional,
        tolerance_points: meta.tolerance.points(),
        compute_time: Some(earshot_kit::time::from_millis(meta.compute_ms)),
        interactions: r
            .interactions
            .iter()
            .map(|ir| pb::InteractionResult {
                interaction_id: ir.interaction.as_str().to_owned(),
                reference: Some(reference_to(&ir.reference, questions)),
                scores: ir
                    .scores
                    .iter()
                    .map(|s| pb::ParticipantScore {
                        participant_id: s.participant.as_str().to_owned(),
                        status: status_to(s.status) as i32,
                        total_score: s.total,
                        deviation: s.deviation,
                        within_tolerance: s.within_tolerance,
                        questions: s
                            .questions
                            .iter()
                            .map(|qc| pb::QuestionComparison {
                                question_id: qc.question.as_str().to_owned(),
                                answer: qc
                                    .answer
                                    .as_ref()
                                    .map(|v| answer_proto(qc.question.as_str(), v, String::new())),
                                points_awarded: qc.points,
                                agreement: agreement_to(qc.agreement) as i32,
                            })
                            .collect(),
                    })
                    .collect(),
                total_score: Some(estimate(&ir.total)),
                total_score_stddev: ir.total_stddev,
                total_score_range: ir.total_range,
            })
            .collect(),
        participants: r
            .participants
            .iter()
            .map(|p| pb::ParticipantResult {
                participant_id: p.participant.as_str().to_owned(),
                expert: p.expert,
                responses_submitted: count(p.submitted as usize),
                responses_late: count(p.late as usize),
                responses_missing: count(p.missing as usize),
                mean_signed_deviation: Some(estimate(&p.mean_signed_deviation)),
                mean_absolute_deviation: Some(estimate(&p.mean_absolute_deviation)),
                within_tolerance_rate: Some(estimate(&p.within_tolerance_rate)),
                question_agreement_rate: Some(estimate(&p.question_agreement_rate)),
                leniency: leniency(p.leniency),
                mean_deviation_exceeds_tolerance: p.mean_deviation_exceeds_tolerance,
            })
            .collect(),
        questions: r
            .questions
            .iter()
            .map(|q| pb::QuestionResult {
                question_id: q.question.as_str().to_owned(),
                answer_count: count(q.answer_count as usize),
                percent_agreement: Some(statistic(
                    pb::StatisticKind::PercentAgreement,
                    Level::Nominal,
                    &q.percent_agreement,
                )),
                reference_agreement_rate: Some(estimate(&q.reference_agreement_rate)),
                answer_counts: q
                    .answer_counts
                    .iter()
                    .map(|(v, c)| pb::AnswerCount {
                        answer: Some(answer_proto("", v, String::new())),
                        count: count(*c as usize),
                    })
                    .collect(),
                points_stddev: q.points_stddev,
                alpha: Some(statistic(
                    pb::StatisticKind::KrippendorffAlpha,
                    q.alpha_level,
                    &q.alpha,
                )),
                fleiss_kappa: Some(statistic(
                    pb::StatisticKind::FleissKappa,
                    Level::Nominal,
                    &q.fleiss_kappa,
                )),
                gwet_ac1: Some(statistic(
                    pb::StatisticKind::GwetAc1,
                    Level::Nominal,
                    &q.gwet_ac1,
                )),
                ambiguous: q.ambiguous,
            })
            .collect(),
        reliability: Some(pb::GroupReliability {
            total_alpha: Some(statistic(
                pb::StatisticKind::KrippendorffAlpha,
                Level::Interval,
                &r.reliability.total_alpha,
            )),
            total_icc: r.reliability.total_icc.iter().map(icc_statistic).collect(),
            answers_alpha: Some(statistic(
                pb::StatisticKind::KrippendorffAlpha,
                Level::Nominal,
                &r.reliability.answers_alpha,
            )),
            answers_fleiss_kappa: Some(statistic(
                pb::StatisticKind::FleissKappa,
                Level::Nominal,
                &r.reliability.answers_fleiss_kappa,
            )),
            answers_gwet_ac1: Some(statistic(
                pb::StatisticKind::GwetAc1,
                Level::Nominal,
                &r.reliability.answers_gwet_ac1,
            )),
            answers_percent_agreement: Some(statistic(
                pb::StatisticKind::PercentAgreement,
                Level::Nominal,
                &r.reliability.answers_percent_agreement,
            )),
        }),
        pairs: r
            .pairs
            .iter()
            .map(|p| {
                let mut kappa = statistic(
                    pb::StatisticKind::CohenKappa,
                    Level::Nominal,
                    &p.cohen_kappa,
                );
                kappa.rater_ids = vec![p.a.as_str().to_owned(), p.b.as_str().to_owned()];
                pb::PairAgreement {
                    participant_a: p.a.as_str().to_owned(),
                    participant_b: p.b.as_str().to_owned(),
                    cohen_kappa: Some(kappa),
                    mean_total_difference: Some(estimate(&p.mean_total_difference)),
                }
            })
            .collect(),
        responses_expected: count(r.responses_expected as usize),
        responses_submitted: count(r.responses_submitted as usize),
        responses_late: count(r.responses_late as usize),
    }
}

// ------------------------------------------------------- ComputeAgreement

/// A proto statistic kind; `None` for unspecified or unknown.
pub fn statistic_kind_from(v: i32) -> Option<StatisticKind> {
    use pb::StatisticKind as K;
    Some(match K::try_from(v).ok()? {
        K::Unspecified => return None,
        K::PercentAgreement => StatisticKind::PercentAgreement,
        K::KrippendorffAlpha => StatisticKind::KrippendorffAlpha,
        K::FleissKappa => StatisticKind::FleissKappa,
        K::GwetAc1 => StatisticKind::GwetAc1,
        K::GwetAc2Linear => StatisticKind::GwetAc2Linear,
        K::GwetAc2Quadratic => StatisticKind::GwetAc2Quadratic,
        K::CohenKappa => StatisticKind::CohenKappa,
        K::CohenKappaLinear => StatisticKind::CohenKappaLinear,
        K::CohenKappaQuadratic => StatisticKind::CohenKappaQuadratic,
        K::Icc11 => StatisticKind::Icc(IccForm::Icc11),
        K::Icc21 => StatisticKind::Icc(IccForm::Icc21),
        K::Icc31 => StatisticKind::Icc(IccForm::Icc31),
        K::Icc1K => StatisticKind::Icc(IccForm::Icc1k),
        K::Icc2K => StatisticKind::Icc(IccForm::Icc2k),
        K::Icc3K => StatisticKind::Icc(IccForm::Icc3k),
    })
}

/// A statistic kind as the proto enum.
pub fn statistic_kind_to(k: StatisticKind) -> pb::StatisticKind {
    use pb::StatisticKind as K;
    match k {
        StatisticKind::PercentAgreement => K::PercentAgreement,
        StatisticKind::KrippendorffAlpha => K::KrippendorffAlpha,
        StatisticKind::FleissKappa => K::FleissKappa,
        StatisticKind::GwetAc1 => K::GwetAc1,
        StatisticKind::GwetAc2Linear => K::GwetAc2Linear,
        StatisticKind::GwetAc2Quadratic => K::GwetAc2Quadratic,
        StatisticKind::CohenKappa => K::CohenKappa,
        StatisticKind::CohenKappaLinear => K::CohenKappaLinear,
        StatisticKind::CohenKappaQuadratic => K::CohenKappaQuadratic,
        StatisticKind::Icc(f) => icc_kind(f),
    }
}

/// The level a statistic kind assumes when it has no level of its own.
pub fn assumed_level(k: StatisticKind) -> Level {
    match k {
        StatisticKind::PercentAgreement
        | StatisticKind::FleissKappa
        | StatisticKind::GwetAc1
        | StatisticKind::CohenKappa => Level::Nominal,
        StatisticKind::GwetAc2Linear
        | StatisticKind::GwetAc2Quadratic
        | StatisticKind::CohenKappaLinear
        | StatisticKind::CohenKappaQuadratic
        | StatisticKind::Icc(_) => Level::Interval,
        StatisticKind::KrippendorffAlpha => Level::Nominal,
    }
}

/// A proto rating as a request cell.
pub fn cell(r: &pb::Rating) -> Cell {
    match &r.value {
        None => Cell::Missing,
        Some(pb::rating::Value::Number(x)) => Cell::Number(*x),
        Some(pb::rating::Value::Label(l)) => Cell::Label(l.clone()),
    }
}

/// A computed statistic as the proto, with Cohen pairs named.
pub fn statistic_result(
    r: &crate::agreement::request::StatisticResult,
    rater_ids: &[String],
) -> pb::AgreementStatistic {
    let level = r.level.unwrap_or_else(|| assumed_level(r.kind));
    let mut s = statistic(statistic_kind_to(r.kind), level, &r.agreement);
    if let Some((a, b)) = r.rater_pair {
        s.rater_ids = [a, b]
            .iter()
            .filter_map(|i| rater_ids.get(*i).cloned())
            .collect();
    }
    if let (Some(i), true) = (&r.icc, r.agreement.value.is_ok()) {
        s.icc = Some(icc_inference(i));
    }
    s
}
