//! Reference selection: what each interaction's responses are compared with.
//!
//! | mode | reference | when it is missing |
//! | --- | --- | --- |
//! | expert | the expert's response | the group, flagged `fell_back_to_group` |
//! | consensus, after RecordConsensus | the agreed response | ("no consensus") the group, flagged |
//! | consensus, before (provisional) | the group | - |
//! | blind | the group | - |
//!
//! The **group** reference is the median (or mean, per the session) of the
//! submitted totals and, per question, the modal answer; a tie for the most
//! frequent answer leaves that question without a reference (agreement with
//! it is then "no reference", never guessed). With no response at all the
//! source is `None`.

use std::collections::BTreeMap;

use super::{
    AnswerValue, Consensus, GroupReference, Mode, ParticipantId, QuestionId, ScoredAnswer,
    ScoredResponse,
};
use crate::stats::estimate::{mean_of, median_of};

/// Where a reference came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReferenceSource {
    /// The expert's response.
    Expert,
    /// The recorded consensus.
    Consensus,
    /// The group's median total and modal answers.
    GroupMedian,
    /// The group's mean total and modal answers.
    GroupMean,
    /// Nothing to compare with.
    None,
}

/// The reference for one interaction.
#[derive(Debug, Clone, PartialEq)]
pub struct Reference {
    /// Where it came from.
    pub source: ReferenceSource,
    /// The reference total, when there is one.
    pub total: Option<f64>,
    /// The reference answer per question (questions without one are absent).
    pub answers: BTreeMap<QuestionId, AnswerValue>,
    /// The expert, for `Expert`.
    pub expert: Option<ParticipantId>,
    /// The mode asked for an expert or consensus reference that did not exist.
    pub fell_back_to_group: bool,
}

impl Reference {
    /// No reference at all.
    pub fn none() -> Self {
        Reference {
            source: ReferenceSource::None,
            total: None,
            answers: BTreeMap::new(),
            expert: None,
            fell_back_to_group: false,
        }
    }

    /// Does this reference come from `participant`'s own response?
    pub fn is_authored_by(&self, participant: &ParticipantId) -> bool {
        self.source == ReferenceSource::Expert && self.expert.as_ref() == Some(participant)
    }
}

fn answers_map(answers: &[ScoredAnswer]) -> BTreeMap<QuestionId, AnswerValue> {
    answers
        .iter()
        .map(|a| (a.question.clone(), a.value.clone()))
        .collect()
}

/// The group reference over one interaction's responses.
pub fn group_reference(method: GroupReference, responses: &[&ScoredResponse]) -> Reference {
    if responses.is_empty() {
        return Reference::none();
    }
    let totals: Vec<f64> = responses
        .iter()
        .map(|r| r.total)
        .filter(|t| t.is_finite())
        .collect();
    let total = match (totals.is_empty(), method) {
        (true, _) => None,
        (false, GroupReference::Median) => Some(median_of(&totals)),
        (false, GroupReference::Mean) => Some(mean_of(&totals)),
    };
    let mut counts: BTreeMap<&QuestionId, BTreeMap<&AnswerValue, usize>> = BTreeMap::new();
    for r in responses {
        for a in &r.answers {
            *counts
                .entry(&a.question)
                .or_default()
                .entry(&a.value)
                .or_default() += 1;
        }
    }
    let mut answers = BTreeMap::new();
    for (q, by_value) in counts {
        let best = by_value.values().copied().max().unwrap_or(0);
        let mut modes = by_value.iter().filter(|(_, c)| **c == best);
        if let (Some((value, _)), None) = (modes.next(), modes.next()) {
            answers.insert(q.clone(), (*value).clone());
        }
    }
    Reference {
        source: match method {
            GroupReference::Median => ReferenceSource::GroupMedian,
            GroupReference::Mean => ReferenceSource::GroupMean,
        },
        total,
        answers,
        expert: None,
        fell_back_to_group: false,
    }
}

/// The reference for one interaction.
///
/// `responses` are that interaction's submitted responses; `consensus` is
/// `None` before RecordConsensus (or outside consensus mode).
pub fn select_reference(
    mode: Mode,
    expert: Option<&ParticipantId>,
    method: GroupReference,
    responses: &[&ScoredResponse],
    consensus: Option<&Consensus>,
) -> Reference {
    let fallback = || {
        let mut r = group_reference(method, responses);
        r.fell_back_to_group = r.source != ReferenceSource::None;
        r
    };
    match mode {
        Mode::Blind => group_reference(method, responses),
        Mode::Expert => match expert.and_then(|e| responses.iter().find(|r| &r.participant == e)) {
            Some(r) => Reference {
                source: ReferenceSource::Expert,
                total: Some(r.total).filter(|t| t.is_finite()),
                answers: answers_map(&r.answers),
                expert: Some(r.participant.clone()),
                fell_back_to_group: false,
            },
            None => fallback(),
        },
        Mode::Consensus => match consensus {
            None => group_reference(method, responses),
            Some(Consensus::Agreed { total, answers }) => Reference {
                source: ReferenceSource::Consensus,
                total: Some(*total).filter(|t| t.is_finite()),
                answers: answers_map(answers),
                expert: None,
                fell_back_to_group: false,
            },
            Some(Consensus::NoConsensus) => fallback(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::InteractionId;

    fn resp(p: &str, total: f64, answers: &[(&str, AnswerValue)]) -> ScoredResponse {
        ScoredResponse {
            participant: ParticipantId::parse(p).unwrap(),
            interaction: InteractionId::parse("i1").unwrap(),
            total,
            answers: answers
                .iter()
                .map(|(q, v)| ScoredAnswer {
                    question: QuestionId::parse(q).unwrap(),
                    value: v.clone(),
                    points: 0.0,
                })
                .collect(),
            late: false,
        }
    }

    fn q(s: &str) -> QuestionId {
        QuestionId::parse(s).unwrap()
    }

    #[test]
    fn group_reference_is_median_or_mean_and_modal_answers() {
        let a = resp(
            "a",
            70.0,
            &[
                ("q1", AnswerValue::Yes(true)),
                ("q2", AnswerValue::Scale(3)),
            ],
        );
        let b = resp(
            "b",
            80.0,
            &[
                ("q1", AnswerValue::Yes(true)),
                ("q2", AnswerValue::Scale(4)),
            ],
        );
        let c = resp("c", 100.0, &[("q1", AnswerValue::Yes(false))]);
        let all = [&a, &b, &c];
        let med = group_reference(GroupReference::Median, &all);
        assert_eq!(med.source, ReferenceSource::GroupMedian);
        assert_eq!(med.total, Some(80.0));
        assert_eq!(med.answers.get(&q("q1")), Some(&AnswerValue::Yes(true)));
        // q2: 3 and 4 once each, a tie: no reference answer.
        assert_eq!(med.answers.get(&q("q2")), None);
        let mean = group_reference(GroupReference::Mean, &all);
        assert!((mean.total.unwrap() - 250.0 / 3.0).abs() < 1e-12);
        assert_eq!(
            group_reference(GroupReference::Mean, &[]).source,
            ReferenceSource::None
        );
    }

    #[test]
    fn expert_and_consensus_with_fallbacks() {
        let a = resp("a", 70.0, &[("q1", AnswerValue::Yes(true))]);
        let x = resp("x", 90.0, &[("q1", AnswerValue::Yes(false))]);
        let expert = ParticipantId::parse("x").unwrap();
        let r = select_reference(
            Mode::Expert,
            Some(&expert),
            GroupReference::Median,
            &[&a, &x],
            None,
        );
        assert_eq!((r.source, r.total), (ReferenceSource::Expert, Some(90.0)));
        assert!(r.is_authored_by(&expert));
        let r = select_reference(
            Mode::Expert,
            Some(&expert),
            GroupReference::Median,
            &[&a],
            None,
        );
        assert_eq!(
            (r.source, r.fell_back_to_group, r.total),
            (ReferenceSource::GroupMedian, true, Some(70.0))
        );

        let agreed = Consensus::Agreed {
            total: 85.0,
            answers: vec![],
        };
        let r = select_reference(
            Mode::Consensus,
            None,
            GroupReference::Mean,
            &[&a, &x],
            Some(&agreed),
        );
        assert_eq!(
            (r.source, r.total),
            (ReferenceSource::Consensus, Some(85.0))
        );
        let r = select_reference(Mode::Consensus, None, GroupReference::Mean, &[&a, &x], None);
        assert_eq!(
            (r.source, r.fell_back_to_group),
            (ReferenceSource::GroupMean, false)
        );
        let r = select_reference(
            Mode::Consensus,
            None,
            GroupReference::Mean,
            &[&a, &x],
            Some(&Consensus::NoConsensus),
        );
        assert_eq!(
            (r.source, r.fell_back_to_group),
            (ReferenceSource::GroupMean, true)
        );
        let r = select_reference(Mode::Expert, Some(&expert), GroupReference::Mean, &[], None);
        assert_eq!(
            (r.source, r.fell_back_to_group),
            (ReferenceSource::None, false)
        );
        let r = select_reference(Mode::Blind, None, GroupReference::Mean, &[&a], None);
        assert_eq!(r.source, ReferenceSource::GroupMean);
    }
}
