//! The facts reporting keeps, as plain domain types, independent of the
//! other services' contracts: the gRPC edge maps each change-feed event
//! (sampling's interactions, surveys, complaints and FCR voids; scoring's
//! evaluations) onto these, so this crate never depends on another service's
//! generated types.
//!
//! Everything about one interaction is gathered in an [`InteractionRecord`]:
//! the interaction itself, its survey, complaints, FCR void and the latest
//! revision of each counting evaluation. Facts arrive late and in any order
//! across feeds (an evaluation can arrive before its interaction), so a
//! record is the unit of change: when any part changes, its old contribution
//! to the rollups is subtracted and the new one added (see
//! [`crate::rollup::contribution`]).
//!
//! Units: instants are epoch milliseconds UTC, durations milliseconds,
//! scores hundredths of a point (0..=10,000).

use crate::dimension::Channel;
use crate::validation::{Violations, parse_id};

/// Longest duration accepted for any part of an interaction: 7 days.
pub const MAX_DURATION_MS: i64 = 7 * 24 * 3_600_000;
/// Longest complaint category, in characters.
pub const MAX_CATEGORY_CHARS: usize = 100;
/// Category of a complaint sent without one.
pub const UNCATEGORISED: &str = "uncategorised";

/// An evaluation score, 0 to 100 points, kept in hundredths so sums are exact.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
pub struct Score(i64);

impl Score {
    /// Parses points (0 to 100, finite), rounded to the nearest hundredth.
    pub fn parse(points: f64) -> Result<Score, Violations> {
        if !points.is_finite() {
            return Err(Violations::one("", "must be a finite number"));
        }
        if !(0.0..=100.0).contains(&points) {
            return Err(Violations::one("", "must be between 0 and 100"));
        }
        Ok(Score((points * 100.0).round() as i64))
    }

    /// From hundredths, clamped into 0..=10,000.
    pub fn from_hundredths(h: i64) -> Score {
        Score(h.clamp(0, 10_000))
    }

    /// The score in hundredths of a point.
    pub fn hundredths(self) -> i64 {
        self.0
    }

    /// The score in points.
    pub fn points(self) -> f64 {
        self.0 as f64 / 100.0
    }
}

/// Who started an interaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Direction {
    /// The customer contacted the center (offered to a queue).
    Inbound,
    /// The center contacted the customer.
    Outbound,
    /// Between two people of the center.
    Internal,
    /// Not known: counted in volume and handling, never as offered.
    Unknown,
}

/// How an interaction ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Disposition {
    /// An agent handled it (answered it, or made it when outbound).
    Handled,
    /// The customer left before an agent answered.
    Abandoned,
    /// Neither: deflected, voicemail, callback scheduled, outbound not
    /// reached. Counted in volume only.
    Other,
}

/// First contact resolution as known for an interaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum Resolution {
    /// Not known: excluded from the FCR rate.
    Unknown,
    /// Resolved at first contact.
    Resolved,
    /// Not resolved at first contact (a repeat contact voids FCR).
    NotResolved,
}

/// Where and when an interaction happened, and who handled it: everything a
/// rollup key needs. Evaluation events carry a copy (they are "fat"), so an
/// evaluation can be rolled up before its interaction arrives.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct InteractionContext {
    /// When the interaction started (epoch ms UTC).
    pub start_ms: i64,
    /// Its channel.
    pub channel: Channel,
    /// The agent who handled it; empty when none did (abandoned).
    pub agent_id: String,
    /// The agent's team as of the interaction; empty when none.
    pub team_id: String,
    /// The queue it came through; empty for direct or outbound contacts.
    pub queue_id: String,
}

/// An interaction as the ACD/CRM reported it, through sampling's feed.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct InteractionFact {
    /// Where, when, who.
    pub context: InteractionContext,
    /// Who started it.
    pub direction: Direction,
    /// How it ended.
    pub disposition: Disposition,
    /// Time waiting in queue before answer or abandonment, ms.
    pub wait_ms: i64,
    /// Talk time, ms.
    pub talk_ms: i64,
    /// Hold time, ms.
    pub hold_ms: i64,
    /// After-call work, ms.
    pub after_call_work_ms: i64,
    /// True when the agent transferred it.
    pub transferred: bool,
    /// FCR as the source reported it (a void in the record overrides it).
    pub resolution: Resolution,
}

/// The post-contact survey of an interaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct SurveyFact {
    /// True when a survey was sent (implied when an answer exists).
    pub sent: bool,
    /// CSAT answer, 1 to 5.
    pub csat: Option<u8>,
    /// Likelihood to recommend, 0 to 10.
    pub nps: Option<u8>,
}

/// A complaint about an interaction.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct Complaint {
    /// The complaint's id (unique within the interaction).
    pub complaint_id: String,
    /// The category, trimmed; [`UNCATEGORISED`] when none.
    pub category: String,
    /// True once resolved (service recovery).
    pub resolved: bool,
}

/// The outcome of one scorecard question in one evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub enum QuestionOutcome {
    /// The answer met the question's standard.
    Passed,
    /// It did not.
    Failed,
    /// The question did not apply.
    NotApplicable,
}

/// One question's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
pub struct QuestionResult {
    /// The question id within the scorecard.
    pub question_id: String,
    /// Its outcome.
    pub outcome: QuestionOutcome,
}

/// The latest revision of a submitted evaluation.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct EvaluationFact {
    /// The evaluation's id.
    pub evaluation_id: String,
    /// The evaluated interaction, as the evaluation event carries it.
    pub context: InteractionContext,
    /// The scorecard (any version).
    pub scorecard_id: String,
    /// Who evaluated.
    pub evaluator_id: String,
    /// The total score.
    pub score: Score,
    /// True when the score reached the scorecard's pass mark (and no
    /// critical question failed).
    pub passed: bool,
    /// True when at least one critical question failed.
    pub critical_failure: bool,
    /// True once released to the agent.
    pub released: bool,
    /// Per-question outcomes.
    pub questions: Vec<QuestionResult>,
}

/// Everything reporting knows about one interaction. The unit of change.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
pub struct InteractionRecord {
    /// The interaction; `None` until sampling's event arrives.
    pub interaction: Option<InteractionFact>,
    /// Its survey, if any.
    pub survey: Option<SurveyFact>,
    /// Its complaints.
    pub complaints: Vec<Complaint>,
    /// True when a repeat contact voided FCR.
    pub fcr_voided: bool,
    /// The latest revision of each counting evaluation (submitted, not
    /// withdrawn), at most one per evaluation id.
    pub evaluations: Vec<EvaluationFact>,
}

fn check_duration(field: &str, ms: i64, v: &mut Violations) {
    if !(0..=MAX_DURATION_MS).contains(&ms) {
        v.push(field, "must be between 0 and 7 days");
    }
}

fn check_optional_id(field: &str, id: &str, v: &mut Violations) {
    if !id.is_empty()
        && let Err(e) = parse_id(id)
    {
        v.extend_prefixed(field, e);
    }
}

impl InteractionContext {
    /// Validates ids (agent, team, queue may be empty).
    pub fn validate(&self) -> Result<(), Violations> {
        let mut v = Violations::new();
        check_optional_id("agent_id", &self.agent_id, &mut v);
        check_optional_id("team_id", &self.team_id, &mut v);
        check_optional_id("queue_id", &self.queue_id, &mut v);
        v.into_result(())
    }
}

impl InteractionFact {
    /// Validates durations and ids; a handled interaction needs an agent.
    pub fn validate(&self) -> Result<(), Violations> {
        let mut v = Violations::new();
        if let Err(e) = self.context.validate() {
            v.extend_prefixed("", e);
        }
        check_duration("wait_time", self.wait_ms, &mut v);
        check_duration("talk_time", self.talk_ms, &mut v);
        check_duration("hold_time", self.hold_ms, &mut v);
        check_duration("after_call_work_time", self.after_call_work_ms, &mut v);
        if self.disposition == Disposition::Handled && self.context.agent_id.is_empty() {
            v.push("agent_id", "a handled interaction needs its agent");
        }
        v.into_result(())
    }

    /// Handle time: talk + hold + after-call work, ms.
    pub fn handle_ms(&self) -> i64 {
        self.talk_ms
            .saturating_add(self.hold_ms)
            .saturating_add(self.after_call_work_ms)
    }
}

impl SurveyFact {
    /// Validates answer ranges.
    pub fn validate(&self) -> Result<(), Violations> {
        let mut v = Violations::new();
        if self.csat.is_some_and(|c| !(1..=5).contains(&c)) {
            v.push("csat", "must be between 1 and 5");
        }
        if self.nps.is_some_and(|n| n > 10) {
            v.push("nps", "must be between 0 and 10");
        }
        v.into_result(())
    }

    /// True when at least one question was answered.
    pub fn answered(&self) -> bool {
        self.csat.is_some() || self.nps.is_some()
    }
}

/// Normalises a complaint category: trimmed, [`UNCATEGORISED`] when empty,
/// cut to [`MAX_CATEGORY_CHARS`] characters, control characters dropped.
pub fn normalise_category(raw: &str) -> String {
    let cleaned: String = raw
        .trim()
        .chars()
        .filter(|c| !c.is_control())
        .take(MAX_CATEGORY_CHARS)
        .collect();
    let cleaned = cleaned.trim().to_owned();
    if cleaned.is_empty() {
        UNCATEGORISED.to_owned()
    } else {
        cleaned
    }
}

impl EvaluationFact {
    /// Validates ids and the evaluated context.
    pub fn validate(&self) -> Result<(), Violations> {
        let mut v = Violations::new();
        v.take("evaluation_id", parse_id(&self.evaluation_id));
        v.take("scorecard_id", parse_id(&self.scorecard_id));
        v.take("evaluator_id", parse_id(&self.evaluator_id));
        if let Err(e) = self.context.validate() {
            v.extend_prefixed("interaction", e);
        }
        let mut seen = std::collections::BTreeSet::new();
        for (i, q) in self.questions.iter().enumerate() {
            let field = format!("questions[{i}].question_id");
            v.take(&field, parse_id(&q.question_id));
            if !seen.insert(q.question_id.as_str()) {
                v.push(field, "appears twice in one evaluation");
            }
        }
        v.into_result(())
    }
}

impl InteractionRecord {
    /// The context rollup keys use: the interaction's own, else the first
    /// evaluation's copy; `None` when neither has arrived.
    pub fn context(&self) -> Option<&InteractionContext> {
        self.interaction
            .as_ref()
            .map(|i| &i.context)
            .or_else(|| self.evaluations.first().map(|e| &e.context))
    }

    /// FCR after voids.
    pub fn resolution(&self) -> Resolution {
        match self.interaction.as_ref().map(|i| i.resolution) {
            _ if self.fcr_voided => Resolution::NotResolved,
            Some(r) => r,
            None => Resolution::Unknown,
        }
    }

    /// Replaces (or inserts) an evaluation by id: a revision replaces the
    /// previous one, nothing is counted twice.
    pub fn upsert_evaluation(&mut self, evaluation: EvaluationFact) {
        match self
            .evaluations
            .iter_mut()
            .find(|e| e.evaluation_id == evaluation.evaluation_id)
        {
            Some(slot) => *slot = evaluation,
            None => self.evaluations.push(evaluation),
        }
    }

    /// Removes an evaluation (withdrawn or moved to calibration).
    pub fn remove_evaluation(&mut self, evaluation_id: &str) {
        self.evaluations
            .retain(|e| e.evaluation_id != evaluation_id);
    }

    /// Replaces (or inserts) a complaint by id.
    pub fn upsert_complaint(&mut self, complaint: Complaint) {
        match self
            .complaints
            .iter_mut()
            .find(|c| c.complaint_id == complaint.complaint_id)
        {
            Some(slot) => *slot = complaint,
            None => self.complaints.push(complaint),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn context() -> InteractionContext {
        InteractionContext {
            start_ms: 1_767_261_600_000,
            channel: Channel::Voice,
            agent_id: "a1".into(),
            team_id: "t1".into(),
            queue_id: "q1".into(),
        }
    }

    #[test]
    fn scores() {
        assert_eq!(Score::parse(87.456).map(Score::hundredths), Ok(8746));
        assert_eq!(Score::parse(100.0).map(Score::hundredths), Ok(10_000));
        assert!(Score::parse(100.01).is_err());
        assert!(Score::parse(-0.5).is_err());
        assert!(Score::parse(f64::NAN).is_err());
        assert_eq!(Score::from_hundredths(20_000).points(), 100.0);
    }

    #[test]
    fn interaction_validation() {
        let mut f = InteractionFact {
            context: context(),
            direction: Direction::Inbound,
            disposition: Disposition::Handled,
            wait_ms: 12_000,
            talk_ms: 200_000,
            hold_ms: 30_000,
            after_call_work_ms: 40_000,
            transferred: false,
            resolution: Resolution::Resolved,
        };
        assert!(f.validate().is_ok());
        assert_eq!(f.handle_ms(), 270_000);
        f.talk_ms = -1;
        f.context.agent_id = String::new();
        let e = f.validate().unwrap_err();
        let fields: Vec<_> = e.as_slice().iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, ["talk_time", "agent_id"]);
    }

    #[test]
    fn surveys_and_categories() {
        let s = SurveyFact {
            sent: true,
            csat: Some(0),
            nps: Some(11),
        };
        assert_eq!(s.validate().unwrap_err().as_slice().len(), 2);
        assert!(
            SurveyFact {
                sent: false,
                csat: None,
                nps: None
            }
            .validate()
            .is_ok()
        );
        assert_eq!(normalise_category("  Billing \n"), "Billing");
        assert_eq!(normalise_category(" \t "), UNCATEGORISED);
        assert_eq!(
            normalise_category(&"x".repeat(300)).len(),
            MAX_CATEGORY_CHARS
        );
    }

    #[test]
    fn record_upserts_and_voids() {
        let eval = |id: &str, score: i64| EvaluationFact {
            evaluation_id: id.into(),
            context: context(),
            scorecard_id: "sc".into(),
            evaluator_id: "e1".into(),
            score: Score::from_hundredths(score),
            passed: true,
            critical_failure: false,
            released: false,
            questions: vec![],
        };
        let mut r = InteractionRecord::default();
        assert!(r.context().is_none());
        r.upsert_evaluation(eval("ev1", 8000));
        assert_eq!(r.context().map(|c| c.agent_id.as_str()), Some("a1"));
        r.upsert_evaluation(eval("ev1", 9000));
        assert_eq!(r.evaluations.len(), 1);
        assert_eq!(r.evaluations[0].score.hundredths(), 9000);
        r.remove_evaluation("ev1");
        assert!(r.evaluations.is_empty());
        assert_eq!(r.resolution(), Resolution::Unknown);
        r.fcr_voided = true;
        assert_eq!(r.resolution(), Resolution::NotResolved);
        let bad = EvaluationFact {
            evaluation_id: String::new(),
            ..eval("x", 1)
        };
        assert!(bad.validate().is_err());
        let q = |id: &str| QuestionResult {
            question_id: id.into(),
            outcome: QuestionOutcome::Passed,
        };
        let twice = EvaluationFact {
            questions: vec![q("a"), q("b"), q("a")],
            ..eval("x", 1)
        };
        let e = twice.validate().unwrap_err();
        assert_eq!(e.as_slice()[0].field, "questions[2].question_id");
        assert!(eval("x", 1).validate().is_ok());
    }
}
