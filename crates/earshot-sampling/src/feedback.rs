//! Customer feedback: complaints (with their service recovery), compliments
//! and suggestions, recorded late against an interaction, idempotent on
//! (interaction id, feedback id).

use crate::ids::{FeedbackId, InteractionId, check_text};
use crate::violation::Violations;

/// The kind of feedback. Codes are those of `FeedbackKind` in the contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FeedbackKind {
    /// A complaint.
    Complaint,
    /// A compliment.
    Compliment,
    /// A suggestion or other remark.
    Suggestion,
}

impl FeedbackKind {
    /// The kind of a wire code; `None` for 0 and unknown codes.
    pub fn from_code(code: i32) -> Option<Self> {
        match code {
            1 => Some(FeedbackKind::Complaint),
            2 => Some(FeedbackKind::Compliment),
            3 => Some(FeedbackKind::Suggestion),
            _ => None,
        }
    }

    /// The wire code.
    pub fn code(self) -> i32 {
        match self {
            FeedbackKind::Complaint => 1,
            FeedbackKind::Compliment => 2,
            FeedbackKind::Suggestion => 3,
        }
    }
}

/// Feedback as received.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FeedbackInput {
    /// The source's id of the feedback.
    pub feedback_id: String,
    /// The interaction it is about.
    pub interaction_id: String,
    /// Wire code of the kind.
    pub kind: i32,
    /// The tenant's category.
    pub category: String,
    /// The text.
    pub text: String,
    /// When received (epoch ms); `None` means when recorded.
    pub receive_ms: Option<i64>,
    /// Resolved (service recovery) flag.
    pub resolved: bool,
    /// When resolved; `None` means when first recorded as resolved.
    pub resolve_ms: Option<i64>,
}

/// Valid feedback.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Feedback {
    /// The source's id of the feedback.
    pub feedback_id: FeedbackId,
    /// The interaction it is about.
    pub interaction_id: InteractionId,
    /// Complaint, compliment or suggestion.
    pub kind: FeedbackKind,
    /// The tenant's category; may be empty.
    pub category: String,
    /// The text; may be empty.
    pub text: String,
    /// When received.
    pub receive_ms: i64,
    /// When the complaint was resolved; `None` while open.
    pub resolved_ms: Option<i64>,
}

impl Feedback {
    /// Validates feedback. `now_ms` stands in for missing times; a resolved
    /// re-send without a resolve time keeps `previous_resolved_ms` (the time
    /// it was first recorded as resolved).
    pub fn parse(
        input: FeedbackInput,
        now_ms: i64,
        previous_resolved_ms: Option<i64>,
    ) -> Result<Self, Violations> {
        let mut v = Violations::new();
        let feedback_id = v.check("feedback_id", FeedbackId::parse(input.feedback_id));
        let interaction_id = v.check("interaction_id", InteractionId::parse(input.interaction_id));
        let kind = FeedbackKind::from_code(input.kind);
        if kind.is_none() {
            v.add("kind", "must be complaint, compliment or suggestion");
        }
        v.check("category", check_text(&input.category, 200));
        v.check("text", check_text(&input.text, 4000));
        let receive_ms = input.receive_ms.unwrap_or(now_ms);
        let resolved_ms = if input.resolved {
            let at = input.resolve_ms.or(previous_resolved_ms).unwrap_or(now_ms);
            if at < receive_ms {
                v.add("resolve_time", "must not be before receive_time");
            }
            Some(at)
        } else {
            if input.resolve_ms.is_some() {
                v.add("resolve_time", "must be unset unless resolved is true");
            }
            None
        };
        match (feedback_id, interaction_id, kind) {
            (Some(feedback_id), Some(interaction_id), Some(kind)) if v.is_empty() => Ok(Feedback {
                feedback_id,
                interaction_id,
                kind,
                category: input.category,
                text: input.text,
                receive_ms,
                resolved_ms,
            }),
            _ => Err(v),
        }
    }

    /// True for an open (unresolved) complaint.
    pub fn open_complaint(&self) -> bool {
        self.kind == FeedbackKind::Complaint && self.resolved_ms.is_none()
    }

    /// The proto names of the fields that differ from a stored version.
    pub fn changed_fields(&self, stored: &Feedback) -> Vec<&'static str> {
        let mut out = Vec::new();
        if self.kind != stored.kind {
            out.push("kind");
        }
        if self.category != stored.category {
            out.push("category");
        }
        if self.text != stored.text {
            out.push("text");
        }
        if self.receive_ms != stored.receive_ms {
            out.push("receive_time");
        }
        if self.resolved_ms.is_some() != stored.resolved_ms.is_some() {
            out.push("resolved");
        }
        if self.resolved_ms != stored.resolved_ms {
            out.push("resolve_time");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn complaint() -> FeedbackInput {
        FeedbackInput {
            feedback_id: "f-1".into(),
            interaction_id: "call-1".into(),
            kind: 1,
            category: "billing".into(),
            text: "charged twice".into(),
            receive_ms: Some(10_000),
            ..Default::default()
        }
    }

    #[test]
    fn a_complaint_opens_and_is_resolved_later() {
        let open = Feedback::parse(complaint(), 20_000, None).unwrap();
        assert!(open.open_complaint());
        let resolved = Feedback::parse(
            FeedbackInput {
                resolved: true,
                ..complaint()
            },
            30_000,
            None,
        )
        .unwrap();
        assert_eq!(resolved.resolved_ms, Some(30_000));
        assert_eq!(
            resolved.changed_fields(&open),
            vec!["resolved", "resolve_time"]
        );
        // A retry later keeps the first resolve time.
        let retry = Feedback::parse(
            FeedbackInput {
                resolved: true,
                ..complaint()
            },
            99_000,
            resolved.resolved_ms,
        )
        .unwrap();
        assert!(retry.changed_fields(&resolved).is_empty());
    }

    #[test]
    fn bad_feedback_is_rejected_field_by_field() {
        let bad = FeedbackInput {
            kind: 0,
            resolved: false,
            resolve_ms: Some(1),
            category: "c".repeat(201),
            ..complaint()
        };
        let err = Feedback::parse(bad, 20_000, None).unwrap_err();
        for f in ["kind", "resolve_time", "category"] {
            assert!(err.has_field(f), "{f}: {err}");
        }
        let early = FeedbackInput {
            resolved: true,
            resolve_ms: Some(5_000),
            ..complaint()
        };
        assert!(
            Feedback::parse(early, 20_000, None)
                .unwrap_err()
                .has_field("resolve_time")
        );
        assert_eq!(
            FeedbackKind::from_code(FeedbackKind::Suggestion.code()),
            Some(FeedbackKind::Suggestion)
        );
    }
}
