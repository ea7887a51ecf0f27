//! Idempotent ingest: what a re-sent interaction means.
//!
//! Ingest is idempotent on (tenant, interaction id). A re-send is compared
//! with what is stored: identical facts are a retry ([`IngestOutcome::Unchanged`]),
//! changed facts update the stored interaction and name the fields that
//! changed ([`IngestOutcome::Updated`]), and a re-send that the source itself
//! marks as older ([`IngestOutcome::Stale`], by `source_update_time`) is
//! ignored so that a retried old batch never overwrites newer facts.
//!
//! Every fact may change except the id: sources correct agents, teams and
//! times. A selection already made stays with the agent and period it was
//! made for.

use crate::interaction::Interaction;
use crate::violation::Violations;

/// The most items in one batch (ingest, surveys, feedback).
pub const MAX_BATCH_ITEMS: usize = 5000;

/// Checks a batch as a whole: 1 to [`MAX_BATCH_ITEMS`] items, a `batch_id`
/// of at most 200 characters. A bad batch is refused entirely; bad items in
/// a good batch are rejected one by one.
pub fn check_batch(items: usize, batch_id: &str) -> Result<(), Violations> {
    let mut v = Violations::new();
    if items == 0 || items > MAX_BATCH_ITEMS {
        v.add(
            "interactions",
            format!("must have 1 to {MAX_BATCH_ITEMS} items"),
        );
    }
    if batch_id.chars().count() > 200 {
        v.add("batch_id", "must be at most 200 characters");
    }
    v.into_result(())
}

/// What storing an incoming interaction means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IngestOutcome {
    /// Not stored before.
    Created,
    /// Stored before with other facts; the proto names of the changed fields.
    Updated(Vec<&'static str>),
    /// Stored before with the same facts: a retry.
    Unchanged,
    /// Older than what is stored, by the source's own update time: ignored.
    Stale,
}

impl IngestOutcome {
    /// True when the incoming facts must be written.
    pub fn writes(&self) -> bool {
        matches!(self, IngestOutcome::Created | IngestOutcome::Updated(_))
    }
}

/// Classifies an incoming interaction against the stored one (if any).
pub fn classify(stored: Option<&Interaction>, incoming: &Interaction) -> IngestOutcome {
    let Some(stored) = stored else {
        return IngestOutcome::Created;
    };
    if let (Some(old), Some(new)) = (stored.source_update_ms, incoming.source_update_ms)
        && new < old
    {
        return IngestOutcome::Stale;
    }
    let fields = changed_fields(stored, incoming);
    if fields.is_empty() {
        IngestOutcome::Unchanged
    } else {
        IngestOutcome::Updated(fields)
    }
}

/// The proto names of the fields that differ between two versions of an
/// interaction, in proto field order.
pub fn changed_fields(old: &Interaction, new: &Interaction) -> Vec<&'static str> {
    let mut out = Vec::new();
    let mut diff = |changed: bool, name: &'static str| {
        if changed {
            out.push(name);
        }
    };
    diff(old.id != new.id, "id");
    diff(old.channel != new.channel, "channel");
    diff(old.direction != new.direction, "direction");
    diff(old.agent != new.agent, "agent_id");
    diff(old.team != new.team, "team_id");
    diff(old.queue != new.queue, "queue_id");
    diff(old.arrived_ms != new.arrived_ms, "arrived_time");
    diff(old.answered_ms != new.answered_ms, "answered_time");
    diff(old.ended_ms != new.ended_ms, "ended_time");
    diff(old.wait_ms != new.wait_ms, "wait_duration");
    diff(old.talk_ms != new.talk_ms, "talk_duration");
    diff(old.hold_ms != new.hold_ms, "hold_duration");
    diff(
        old.after_call_work_ms != new.after_call_work_ms,
        "after_call_work_duration",
    );
    diff(old.disposition != new.disposition, "disposition");
    diff(old.customer_ref != new.customer_ref, "customer_ref");
    diff(old.transferred != new.transferred, "transferred");
    diff(old.abandoned != new.abandoned, "abandoned");
    diff(old.escalated != new.escalated, "escalated");
    diff(old.language != new.language, "language");
    diff(old.attributes != new.attributes, "attributes");
    diff(old.recording_uri != new.recording_uri, "recording_uri");
    diff(old.transcript_uri != new.transcript_uri, "transcript_uri");
    diff(
        old.source_update_ms != new.source_update_ms,
        "source_update_time",
    );
    out
}

/// True when this write is the one at which the interaction is considered for
/// random selection: the first time it is stored with an `ended_time`. Later
/// re-sends never draw again, so a retry cannot select twice and a changed
/// re-send cannot re-roll the dice.
pub fn draws_now(stored: Option<&Interaction>, incoming: &Interaction) -> bool {
    incoming.is_ended() && stored.is_none_or(|s| !s.is_ended())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::interaction::tests::{T0, valid_input};

    fn parse(edit: impl FnOnce(&mut crate::interaction::InteractionInput)) -> Interaction {
        let mut input = valid_input();
        edit(&mut input);
        Interaction::parse(input, T0).unwrap()
    }

    #[test]
    fn batches_are_bounded() {
        assert!(check_batch(1, "b-1").is_ok());
        assert!(check_batch(MAX_BATCH_ITEMS, "").is_ok());
        assert!(check_batch(0, "").unwrap_err().has_field("interactions"));
        assert!(check_batch(MAX_BATCH_ITEMS + 1, "").is_err());
        assert!(
            check_batch(1, &"b".repeat(201))
                .unwrap_err()
                .has_field("batch_id")
        );
    }

    #[test]
    fn first_send_creates_and_retry_is_unchanged() {
        let a = parse(|_| {});
        assert_eq!(classify(None, &a), IngestOutcome::Created);
        assert_eq!(classify(Some(&a), &a.clone()), IngestOutcome::Unchanged);
        assert!(IngestOutcome::Created.writes());
        assert!(!IngestOutcome::Unchanged.writes());
    }

    #[test]
    fn a_changed_resend_names_its_fields() {
        let a = parse(|_| {});
        let b = parse(|i| {
            i.ended_ms = Some(T0 + 400_000);
            i.talk_ms = Some(1);
            i.attributes.insert("vip".into(), "yes".into());
        });
        assert_eq!(
            classify(Some(&a), &b),
            IngestOutcome::Updated(vec!["ended_time", "talk_duration", "attributes"])
        );
    }

    #[test]
    fn an_older_resend_is_stale_and_a_newer_one_updates() {
        let new = parse(|i| {
            i.source_update_ms = Some(T0 + 2_000);
            i.disposition = "escalated".into();
        });
        let old = parse(|i| i.source_update_ms = Some(T0 + 1_000));
        assert_eq!(classify(Some(&new), &old), IngestOutcome::Stale);
        assert_eq!(
            classify(Some(&old), &new),
            IngestOutcome::Updated(vec!["disposition", "source_update_time"])
        );
        // Without the source's update time, last write wins.
        let plain = parse(|_| {});
        assert!(matches!(
            classify(Some(&new), &plain),
            IngestOutcome::Updated(_)
        ));
    }

    #[test]
    fn the_draw_happens_once_when_the_interaction_has_ended() {
        let open = parse(|i| {
            i.answered_ms = None;
            i.ended_ms = None;
        });
        let ended = parse(|_| {});
        assert!(!draws_now(None, &open));
        assert!(draws_now(None, &ended));
        assert!(draws_now(Some(&open), &ended));
        assert!(!draws_now(Some(&ended), &ended));
        assert!(!draws_now(Some(&ended), &open));
    }
}
