//! What one interaction record adds to the rollups.
//!
//! [`contribution`] is a pure function of a record (everything known about
//! one interaction) and the tenant's context (time zone, service-level
//! thresholds). Applying a change is always "subtract the old record's
//! contribution, add the new one's", which makes every kind of late or
//! repeated fact correct by construction: a re-scored evaluation, a survey
//! arriving a week later, an FCR void, a complaint resolved, an evaluation
//! arriving before its interaction, or the same event delivered twice (the
//! record does not change, so the difference is zero).

use std::collections::BTreeMap;

use chrono_tz::Tz;

use super::cells::{FAILED, InteractionCell, PASSED, QualityCell, QuestionCell};
use super::keys::{InteractionKey, QualityKey, QuestionKey};
use crate::calendar::local_date;
use crate::dimension::Channel;
use crate::facts::{
    Direction, Disposition, InteractionRecord, QuestionOutcome, Resolution, normalise_category,
};
use crate::stats::{Moments, ScoreHistogram};

/// Service-level thresholds in milliseconds: a default and per-channel
/// overrides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceLevelThresholds {
    /// Threshold of channels without an override.
    pub default_ms: i64,
    /// Per-channel thresholds.
    pub by_channel: BTreeMap<Channel, i64>,
}

impl Default for ServiceLevelThresholds {
    /// 20 seconds for every channel (the classic 80/20).
    fn default() -> Self {
        ServiceLevelThresholds {
            default_ms: 20_000,
            by_channel: BTreeMap::new(),
        }
    }
}

impl ServiceLevelThresholds {
    /// The threshold of a channel.
    pub fn threshold_ms(&self, channel: Channel) -> i64 {
        self.by_channel
            .get(&channel)
            .copied()
            .unwrap_or(self.default_ms)
    }
}

/// The tenant context a contribution depends on.
#[derive(Debug, Clone, PartialEq)]
pub struct RollupContext {
    /// The tenant's time zone: defines local days.
    pub time_zone: Tz,
    /// Service-level thresholds in force.
    pub service_level: ServiceLevelThresholds,
}

impl Default for RollupContext {
    fn default() -> Self {
        RollupContext {
            time_zone: Tz::UTC,
            service_level: ServiceLevelThresholds::default(),
        }
    }
}

/// One record's cells, keyed at day grain.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Contribution {
    /// The interaction cell (absent until the interaction fact arrives).
    pub interaction: Option<(InteractionKey, InteractionCell)>,
    /// One quality cell per evaluation.
    pub quality: Vec<(QualityKey, QualityCell)>,
    /// One question cell per answered question per evaluation.
    pub questions: Vec<(QuestionKey, QuestionCell)>,
}

/// The cells one record contributes, at day grain. A record with neither an
/// interaction nor an evaluation contributes nothing (a survey or complaint
/// waits for its interaction).
pub fn contribution(record: &InteractionRecord, ctx: &RollupContext) -> Contribution {
    let Some(context) = record.context() else {
        return Contribution::default();
    };
    let date = local_date(context.start_ms, ctx.time_zone);
    let mut out = Contribution::default();

    if let Some(i) = &record.interaction {
        let mut cell = InteractionCell {
            interactions: 1,
            ..InteractionCell::default()
        };
        let inbound = i.direction == Direction::Inbound;
        match i.disposition {
            Disposition::Handled => {
                cell.handle = Moments::of(i.handle_ms());
                cell.talk = Moments::of(i.talk_ms);
                cell.hold = Moments::of(i.hold_ms);
                cell.after_call_work = Moments::of(i.after_call_work_ms);
                cell.transferred = i64::from(i.transferred);
                cell.evaluated = i64::from(!record.evaluations.is_empty());
                if inbound {
                    cell.offered = 1;
                    cell.speed_of_answer = Moments::of(i.wait_ms);
                    let threshold = ctx.service_level.threshold_ms(context.channel);
                    cell.answered_within_threshold = i64::from(i.wait_ms <= threshold);
                }
            }
            Disposition::Abandoned => {
                if inbound {
                    cell.offered = 1;
                    cell.abandoned = 1;
                }
            }
            Disposition::Other => {}
        }
        match record.resolution() {
            Resolution::Resolved => {
                cell.fcr_known = 1;
                cell.fcr_resolved = 1;
            }
            Resolution::NotResolved => cell.fcr_known = 1,
            Resolution::Unknown => {}
        }
        if let Some(s) = &record.survey {
            cell.surveys_sent = i64::from(s.sent || s.answered());
            cell.surveys_answered = i64::from(s.answered());
            if let Some(c) = s.csat.filter(|c| (1..=5).contains(c)) {
                cell.csat[usize::from(c - 1)] = 1;
            }
            if let Some(n) = s.nps.filter(|n| *n <= 10) {
                cell.nps[usize::from(n)] = 1;
            }
        }
        cell.with_complaint = i64::from(!record.complaints.is_empty());
        for c in &record.complaints {
            let t = cell
                .complaints
                .entry(normalise_category(&c.category))
                .or_default();
            t.count += 1;
            t.resolved += i64::from(c.resolved);
        }
        let key = InteractionKey {
            date,
            agent_id: context.agent_id.clone(),
            team_id: context.team_id.clone(),
            queue_id: context.queue_id.clone(),
            channel: context.channel,
        };
        out.interaction = Some((key, cell));
    }

    let satisfied = record
        .survey
        .and_then(|s| s.csat)
        .filter(|c| (1..=5).contains(c))
        .map(|c| c >= 4);
    let nps_category = record
        .survey
        .and_then(|s| s.nps)
        .filter(|n| *n <= 10)
        .map(|n| match n {
            9..=10 => 0,
            7..=8 => 1,
            _ => 2,
        });
    let resolved = match record.resolution() {
        Resolution::Resolved => Some(true),
        Resolution::NotResolved => Some(false),
        Resolution::Unknown => None,
    };

    for e in &record.evaluations {
        let cell = QualityCell {
            scores: Moments::of(e.score.hundredths()),
            passed: i64::from(e.passed),
            critical_failures: i64::from(e.critical_failure),
            histogram: ScoreHistogram::of(e.score.hundredths()),
        };
        out.quality.push((
            QualityKey {
                date,
                agent_id: context.agent_id.clone(),
                team_id: context.team_id.clone(),
                queue_id: context.queue_id.clone(),
                channel: context.channel,
                scorecard_id: e.scorecard_id.clone(),
                evaluator_id: e.evaluator_id.clone(),
                released: e.released,
            },
            cell,
        ));
        for q in &e.questions {
            let mut cell = QuestionCell::default();
            let row = match q.outcome {
                QuestionOutcome::Passed => {
                    cell.passed = 1;
                    PASSED
                }
                QuestionOutcome::Failed => {
                    cell.failed = 1;
                    FAILED
                }
                QuestionOutcome::NotApplicable => {
                    cell.not_applicable = 1;
                    out.questions.push((
                        question_key(date, context, &e.scorecard_id, &q.question_id),
                        cell,
                    ));
                    continue;
                }
            };
            if let Some(s) = satisfied {
                cell.csat[row][usize::from(!s)] = 1;
            }
            if let Some(c) = nps_category {
                cell.nps[row][c] = 1;
            }
            if let Some(r) = resolved {
                cell.fcr[row][usize::from(!r)] = 1;
            }
            out.questions.push((
                question_key(date, context, &e.scorecard_id, &q.question_id),
                cell,
            ));
        }
    }
    out
}

fn question_key(
    date: chrono::NaiveDate,
    context: &crate::facts::InteractionContext,
    scorecard_id: &str,
    question_id: &str,
) -> QuestionKey {
    QuestionKey {
        date,
        agent_id: context.agent_id.clone(),
        team_id: context.team_id.clone(),
        scorecard_id: scorecard_id.to_owned(),
        question_id: question_id.to_owned(),
    }
}
