//! Survey responses: CSAT 1–5, NPS 0–10 and free text, recorded late against
//! an interaction, idempotent on (interaction id, survey id).

use crate::ids::{InteractionId, SurveyId, check_text};
use crate::violation::Violations;

/// A customer satisfaction answer, 1 (very dissatisfied) to 5 (very
/// satisfied).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Csat(u8);

impl Csat {
    /// Validates a CSAT answer.
    pub fn parse(value: i32) -> Result<Self, String> {
        match u8::try_from(value) {
            Ok(v @ 1..=5) => Ok(Self(v)),
            _ => Err("must be 1 to 5".into()),
        }
    }

    /// The answer.
    pub fn get(self) -> u8 {
        self.0
    }

    /// True for 4 or 5, the "top two boxes" that count as satisfied.
    pub fn satisfied(self) -> bool {
        self.0 >= 4
    }
}

/// The three groups of Net Promoter Score answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NpsCategory {
    /// 0 to 6.
    Detractor,
    /// 7 or 8.
    Passive,
    /// 9 or 10.
    Promoter,
}

/// A Net Promoter Score answer, 0 to 10.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Nps(u8);

impl Nps {
    /// Validates an NPS answer.
    pub fn parse(value: i32) -> Result<Self, String> {
        match u8::try_from(value) {
            Ok(v @ 0..=10) => Ok(Self(v)),
            _ => Err("must be 0 to 10".into()),
        }
    }

    /// The answer.
    pub fn get(self) -> u8 {
        self.0
    }

    /// Detractor, passive or promoter.
    pub fn category(self) -> NpsCategory {
        match self.0 {
            0..=6 => NpsCategory::Detractor,
            7 | 8 => NpsCategory::Passive,
            _ => NpsCategory::Promoter,
        }
    }
}

/// A survey response as received.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SurveyInput {
    /// The survey system's id of the response.
    pub survey_id: String,
    /// The interaction it is about.
    pub interaction_id: String,
    /// CSAT, if asked.
    pub csat: Option<i32>,
    /// NPS, if asked.
    pub nps: Option<i32>,
    /// Free text.
    pub comment: String,
    /// When the customer answered (epoch ms); `None` means when recorded.
    pub respond_ms: Option<i64>,
    /// Kind of survey, free-form.
    pub survey_type: String,
}

/// A valid survey response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SurveyResponse {
    /// The survey system's id of the response.
    pub survey_id: SurveyId,
    /// The interaction it is about.
    pub interaction_id: InteractionId,
    /// CSAT, if asked.
    pub csat: Option<Csat>,
    /// NPS, if asked.
    pub nps: Option<Nps>,
    /// Free text; may be empty.
    pub comment: String,
    /// When the customer answered.
    pub respond_ms: i64,
    /// Kind of survey; may be empty.
    pub survey_type: String,
}

impl SurveyResponse {
    /// Validates a response; `now_ms` stands in for a missing answer time.
    pub fn parse(input: SurveyInput, now_ms: i64) -> Result<Self, Violations> {
        let mut v = Violations::new();
        let survey_id = v.check("survey_id", SurveyId::parse(input.survey_id));
        let interaction_id = v.check("interaction_id", InteractionId::parse(input.interaction_id));
        let csat = input.csat.and_then(|c| v.check("csat", Csat::parse(c)));
        let nps = input.nps.and_then(|n| v.check("nps", Nps::parse(n)));
        v.check("comment", check_text(&input.comment, 4000));
        v.check("survey_type", check_text(&input.survey_type, 64));
        if input.csat.is_none() && input.nps.is_none() && input.comment.trim().is_empty() {
            v.add("", "at least one of csat, nps and comment is required");
        }
        let respond_ms = input.respond_ms.unwrap_or(now_ms);
        if respond_ms > now_ms.saturating_add(crate::time::DAY_MS) {
            v.add(
                "respond_time",
                "must not be more than one day in the future",
            );
        }
        match (survey_id, interaction_id) {
            (Some(survey_id), Some(interaction_id)) if v.is_empty() => Ok(SurveyResponse {
                survey_id,
                interaction_id,
                csat,
                nps,
                comment: input.comment,
                respond_ms,
                survey_type: input.survey_type,
            }),
            _ => Err(v),
        }
    }

    /// The proto names of the fields that differ from a stored version.
    pub fn changed_fields(&self, stored: &SurveyResponse) -> Vec<&'static str> {
        let mut out = Vec::new();
        if self.csat != stored.csat {
            out.push("csat");
        }
        if self.nps != stored.nps {
            out.push("nps");
        }
        if self.comment != stored.comment {
            out.push("comment");
        }
        if self.respond_ms != stored.respond_ms {
            out.push("respond_time");
        }
        if self.survey_type != stored.survey_type {
            out.push("survey_type");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input() -> SurveyInput {
        SurveyInput {
            survey_id: "s-1".into(),
            interaction_id: "call-1".into(),
            csat: Some(2),
            nps: Some(6),
            comment: "slow".into(),
            respond_ms: Some(1_000),
            survey_type: "post_call_ivr".into(),
        }
    }

    #[test]
    fn ranges_are_enforced() {
        for (value, ok) in [(0, false), (1, true), (5, true), (6, false), (-1, false)] {
            assert_eq!(Csat::parse(value).is_ok(), ok, "csat {value}");
        }
        for (value, ok) in [
            (-1, false),
            (0, true),
            (10, true),
            (11, false),
            (256, false),
        ] {
            assert_eq!(Nps::parse(value).is_ok(), ok, "nps {value}");
        }
    }

    #[test]
    fn nps_categories() {
        let cat = |n| Nps::parse(n).unwrap().category();
        assert_eq!(cat(0), NpsCategory::Detractor);
        assert_eq!(cat(6), NpsCategory::Detractor);
        assert_eq!(cat(7), NpsCategory::Passive);
        assert_eq!(cat(8), NpsCategory::Passive);
        assert_eq!(cat(9), NpsCategory::Promoter);
        assert_eq!(cat(10), NpsCategory::Promoter);
        assert!(Csat::parse(4).unwrap().satisfied());
        assert!(!Csat::parse(3).unwrap().satisfied());
    }

    #[test]
    fn a_response_needs_an_answer_and_ids() {
        let ok = SurveyResponse::parse(input(), 5_000).unwrap();
        assert_eq!(ok.csat.map(Csat::get), Some(2));
        let empty = SurveyInput {
            csat: None,
            nps: None,
            comment: "  ".into(),
            ..input()
        };
        let err = SurveyResponse::parse(empty, 5_000).unwrap_err();
        assert!(err.has_field(""));
        let bad = SurveyInput {
            survey_id: String::new(),
            csat: Some(9),
            nps: Some(11),
            ..input()
        };
        let err = SurveyResponse::parse(bad, 5_000).unwrap_err();
        assert!(err.has_field("survey_id") && err.has_field("csat") && err.has_field("nps"));
    }

    #[test]
    fn missing_answer_time_is_the_record_time_and_changes_are_named() {
        let a = SurveyResponse::parse(
            SurveyInput {
                respond_ms: None,
                ..input()
            },
            7_000,
        )
        .unwrap();
        assert_eq!(a.respond_ms, 7_000);
        let b = SurveyResponse::parse(
            SurveyInput {
                csat: Some(1),
                ..input()
            },
            7_000,
        )
        .unwrap();
        assert_eq!(b.changed_fields(&a), vec!["csat", "respond_time"]);
        assert!(b.changed_fields(&b).is_empty());
    }
}
