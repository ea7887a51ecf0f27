//! Interactions: the facts an ACD or CRM reports, validated per item.
//!
//! [`InteractionInput`] is what arrived (plain data, unvalidated, times as
//! epoch milliseconds UTC, enums as their wire codes); [`Interaction::parse`]
//! turns it into an [`Interaction`] or lists every field-level problem. The
//! limits here are the ones the contract documents on `Interaction`.

use std::collections::BTreeMap;

use crate::ids::{AgentId, InteractionId, LanguageTag, QueueId, TeamId, check_text, optional};
use crate::time::{DAY_MS, MIN_TIME_MS};
use crate::violation::Violations;

/// The most attributes on one interaction.
pub const MAX_ATTRIBUTES: usize = 64;
/// The longest attribute key, in characters.
pub const MAX_ATTRIBUTE_KEY_CHARS: usize = 64;
/// The longest attribute value, in characters.
pub const MAX_ATTRIBUTE_VALUE_CHARS: usize = 1024;
/// The most bytes of attribute keys and values together.
pub const MAX_ATTRIBUTES_BYTES: usize = 16 * 1024;
/// The longest duration of any one phase (wait, talk, hold, wrap-up).
pub const MAX_PHASE_MS: i64 = 31 * DAY_MS;
/// How far in the future a time may be (clock skew between systems).
pub const MAX_FUTURE_MS: i64 = DAY_MS;

/// The medium of an interaction. Codes are those of `earshot.common.v1.Channel`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Channel {
    /// A phone call.
    Voice,
    /// A web or in-app chat.
    Chat,
    /// An email thread.
    Email,
    /// A social-media conversation.
    Social,
    /// SMS, WhatsApp, RCS ...
    Messaging,
    /// A video call.
    Video,
}

impl Channel {
    /// Every channel, in code order.
    pub const ALL: [Channel; 6] = [
        Channel::Voice,
        Channel::Chat,
        Channel::Email,
        Channel::Social,
        Channel::Messaging,
        Channel::Video,
    ];

    /// The channel of a wire code; `None` for 0 (unspecified) and unknown codes.
    pub fn from_code(code: i32) -> Option<Self> {
        match code {
            1 => Some(Channel::Voice),
            2 => Some(Channel::Chat),
            3 => Some(Channel::Email),
            4 => Some(Channel::Social),
            5 => Some(Channel::Messaging),
            6 => Some(Channel::Video),
            _ => None,
        }
    }

    /// The wire code.
    pub fn code(self) -> i32 {
        match self {
            Channel::Voice => 1,
            Channel::Chat => 2,
            Channel::Email => 3,
            Channel::Social => 4,
            Channel::Messaging => 5,
            Channel::Video => 6,
        }
    }

    /// A short stable name, used in stratum keys.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Voice => "voice",
            Channel::Chat => "chat",
            Channel::Email => "email",
            Channel::Social => "social",
            Channel::Messaging => "messaging",
            Channel::Video => "video",
        }
    }
}

/// Who started an interaction. Codes are those of
/// `earshot.common.v1.Direction`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Direction {
    /// The source did not say.
    Unspecified,
    /// The customer contacted the center.
    Inbound,
    /// The center contacted the customer.
    Outbound,
    /// Between two people of the center.
    Internal,
}

impl Direction {
    /// The direction of a wire code; `None` for unknown codes.
    pub fn from_code(code: i32) -> Option<Self> {
        match code {
            0 => Some(Direction::Unspecified),
            1 => Some(Direction::Inbound),
            2 => Some(Direction::Outbound),
            3 => Some(Direction::Internal),
            _ => None,
        }
    }

    /// The wire code.
    pub fn code(self) -> i32 {
        match self {
            Direction::Unspecified => 0,
            Direction::Inbound => 1,
            Direction::Outbound => 2,
            Direction::Internal => 3,
        }
    }

    /// True for a contact the customer may have started (inbound, or not
    /// known): only those count as repeat contacts.
    pub fn customer_initiated(self) -> bool {
        matches!(self, Direction::Inbound | Direction::Unspecified)
    }
}

/// An interaction as received, before validation. Times are epoch
/// milliseconds UTC; durations milliseconds; `None` means not sent.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct InteractionInput {
    /// The source system's id.
    pub id: String,
    /// Wire code of the channel.
    pub channel: i32,
    /// Wire code of the direction.
    pub direction: i32,
    /// The agent; empty for none.
    pub agent_id: String,
    /// The team as of the interaction; empty when unknown.
    pub team_id: String,
    /// The queue; empty when unknown.
    pub queue_id: String,
    /// When the contact arrived.
    pub arrived_ms: Option<i64>,
    /// When an agent answered.
    pub answered_ms: Option<i64>,
    /// When the conversation ended.
    pub ended_ms: Option<i64>,
    /// Waiting time.
    pub wait_ms: Option<i64>,
    /// Talk time.
    pub talk_ms: Option<i64>,
    /// Hold time.
    pub hold_ms: Option<i64>,
    /// After-call work.
    pub after_call_work_ms: Option<i64>,
    /// Disposition code.
    pub disposition: String,
    /// Opaque customer reference.
    pub customer_ref: String,
    /// Transferred flag.
    pub transferred: bool,
    /// Abandoned flag.
    pub abandoned: bool,
    /// Escalated flag.
    pub escalated: bool,
    /// BCP 47 language; empty when unknown.
    pub language: String,
    /// Free-form attributes.
    pub attributes: BTreeMap<String, String>,
    /// Recording reference.
    pub recording_uri: String,
    /// Transcript reference.
    pub transcript_uri: String,
    /// When the source last changed the record.
    pub source_update_ms: Option<i64>,
}

/// A valid interaction. Construct it with [`Interaction::parse`]; the fields
/// are public for reading, and every field type validates on its own, while
/// the cross-field rules (ended after arrived ...) are `parse`'s.
#[derive(Debug, Clone, PartialEq)]
pub struct Interaction {
    /// The source system's id.
    pub id: InteractionId,
    /// The medium.
    pub channel: Channel,
    /// Who started it.
    pub direction: Direction,
    /// The agent; `None` when no agent handled it.
    pub agent: Option<AgentId>,
    /// The team as of the interaction.
    pub team: Option<TeamId>,
    /// The queue.
    pub queue: Option<QueueId>,
    /// When the contact arrived.
    pub arrived_ms: i64,
    /// When an agent answered.
    pub answered_ms: Option<i64>,
    /// When the conversation ended; `None` while it goes on.
    pub ended_ms: Option<i64>,
    /// Waiting time.
    pub wait_ms: Option<i64>,
    /// Talk time.
    pub talk_ms: Option<i64>,
    /// Hold time.
    pub hold_ms: Option<i64>,
    /// After-call work.
    pub after_call_work_ms: Option<i64>,
    /// Disposition code; empty when none.
    pub disposition: String,
    /// Opaque customer reference; empty when none.
    pub customer_ref: String,
    /// Transferred flag.
    pub transferred: bool,
    /// Abandoned flag.
    pub abandoned: bool,
    /// Escalated flag.
    pub escalated: bool,
    /// The language.
    pub language: Option<LanguageTag>,
    /// Free-form attributes.
    pub attributes: BTreeMap<String, String>,
    /// Recording reference; empty when none.
    pub recording_uri: String,
    /// Transcript reference; empty when none.
    pub transcript_uri: String,
    /// When the source last changed the record.
    pub source_update_ms: Option<i64>,
}

fn check_time(v: &mut Violations, field: &str, value: Option<i64>, now_ms: i64) -> Option<i64> {
    let t = value?;
    if t < MIN_TIME_MS {
        v.add(field, "must not be before 2000-01-01");
        return None;
    }
    if t > now_ms.saturating_add(MAX_FUTURE_MS) {
        v.add(field, "must not be more than one day in the future");
        return None;
    }
    Some(t)
}

fn check_phase(v: &mut Violations, field: &str, value: Option<i64>) -> Option<i64> {
    let d = value?;
    if d < 0 {
        v.add(field, "must not be negative");
        return None;
    }
    if d > MAX_PHASE_MS {
        v.add(field, "must be at most 31 days");
        return None;
    }
    Some(d)
}

fn check_attributes(v: &mut Violations, attributes: &BTreeMap<String, String>) {
    if attributes.len() > MAX_ATTRIBUTES {
        v.add(
            "attributes",
            format!("must have at most {MAX_ATTRIBUTES} entries"),
        );
    }
    let mut bytes = 0usize;
    for (key, value) in attributes {
        let field = format!("attributes[{key:?}]");
        bytes = bytes.saturating_add(key.len()).saturating_add(value.len());
        let key_ok = !key.is_empty()
            && key.chars().count() <= MAX_ATTRIBUTE_KEY_CHARS
            && key
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
        if !key_ok {
            v.add(
                field.clone(),
                "key must be 1 to 64 characters of letters, digits, '_', '.' and '-'",
            );
        }
        if let Err(e) = check_text(value, MAX_ATTRIBUTE_VALUE_CHARS) {
            v.add(field, format!("value {e}"));
        }
    }
    if bytes > MAX_ATTRIBUTES_BYTES {
        v.add(
            "attributes",
            "keys and values together must be at most 16 KiB",
        );
    }
}

impl Interaction {
    /// Validates one interaction against the documented limits, reporting
    /// every problem. `now_ms` bounds times in the future.
    pub fn parse(input: InteractionInput, now_ms: i64) -> Result<Self, Violations> {
        let mut v = Violations::new();
        let id = v.check("id", InteractionId::parse(input.id));
        let channel = match Channel::from_code(input.channel) {
            Some(c) => Some(c),
            None if input.channel == 0 => {
                v.add("channel", "is required");
                None
            }
            None => {
                v.add("channel", format!("unknown channel {}", input.channel));
                None
            }
        };
        let direction = Direction::from_code(input.direction);
        if direction.is_none() {
            v.add(
                "direction",
                format!("unknown direction {}", input.direction),
            );
        }
        let agent = v
            .check("agent_id", optional(&input.agent_id, AgentId::parse))
            .flatten();
        let team = v
            .check("team_id", optional(&input.team_id, TeamId::parse))
            .flatten();
        let queue = v
            .check("queue_id", optional(&input.queue_id, QueueId::parse))
            .flatten();

        if input.arrived_ms.is_none() {
            v.add("arrived_time", "is required");
        }
        let arrived = check_time(&mut v, "arrived_time", input.arrived_ms, now_ms);
        let answered = check_time(&mut v, "answered_time", input.answered_ms, now_ms);
        let ended = check_time(&mut v, "ended_time", input.ended_ms, now_ms);
        if let (Some(a), Some(b)) = (arrived, answered)
            && b < a
        {
            v.add("answered_time", "must not be before arrived_time");
        }
        if let (Some(a), Some(e)) = (arrived, ended)
            && e < a
        {
            v.add("ended_time", "must not be before arrived_time");
        }
        if let (Some(b), Some(e)) = (answered, ended)
            && e < b
        {
            v.add("ended_time", "must not be before answered_time");
        }
        let wait = check_phase(&mut v, "wait_duration", input.wait_ms);
        let talk = check_phase(&mut v, "talk_duration", input.talk_ms);
        let hold = check_phase(&mut v, "hold_duration", input.hold_ms);
        let acw = check_phase(&mut v, "after_call_work_duration", input.after_call_work_ms);
        if input.source_update_ms.is_some() {
            check_time(&mut v, "source_update_time", input.source_update_ms, now_ms);
        }

        v.check("disposition", check_text(&input.disposition, 200));
        v.check("customer_ref", check_text(&input.customer_ref, 256));
        let language = v
            .check("language", optional(&input.language, LanguageTag::parse))
            .flatten();
        check_attributes(&mut v, &input.attributes);
        v.check("recording_uri", check_text(&input.recording_uri, 2048));
        v.check("transcript_uri", check_text(&input.transcript_uri, 2048));

        match (id, channel, direction, arrived) {
            (Some(id), Some(channel), Some(direction), Some(arrived_ms)) if v.is_empty() => {
                Ok(Interaction {
                    id,
                    channel,
                    direction,
                    agent,
                    team,
                    queue,
                    arrived_ms,
                    answered_ms: answered,
                    ended_ms: ended,
                    wait_ms: wait,
                    talk_ms: talk,
                    hold_ms: hold,
                    after_call_work_ms: acw,
                    disposition: input.disposition,
                    customer_ref: input.customer_ref,
                    transferred: input.transferred,
                    abandoned: input.abandoned,
                    escalated: input.escalated,
                    language,
                    attributes: input.attributes,
                    recording_uri: input.recording_uri,
                    transcript_uri: input.transcript_uri,
                    source_update_ms: input.source_update_ms,
                })
            }
            _ => Err(v),
        }
    }

    /// The handle time: talk + hold + after-call work when any of them is
    /// known, else ended minus answered plus after-call work; `None` when
    /// neither can be computed.
    pub fn handle_ms(&self) -> Option<i64> {
        if self.talk_ms.is_some() || self.hold_ms.is_some() {
            return Some(
                self.talk_ms
                    .unwrap_or(0)
                    .saturating_add(self.hold_ms.unwrap_or(0))
                    .saturating_add(self.after_call_work_ms.unwrap_or(0)),
            );
        }
        match (self.answered_ms, self.ended_ms) {
            (Some(a), Some(e)) => Some(
                e.saturating_sub(a)
                    .saturating_add(self.after_call_work_ms.unwrap_or(0)),
            ),
            _ => self.after_call_work_ms,
        }
    }

    /// True once the conversation has ended: only then is it considered for
    /// random selection.
    pub fn is_ended(&self) -> bool {
        self.ended_ms.is_some()
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use proptest::prelude::*;

    /// 2025-03-10T09:00:00Z, a Monday.
    pub const T0: i64 = 1_741_597_200_000;

    pub fn valid_input() -> InteractionInput {
        InteractionInput {
            id: "call-1".into(),
            channel: 1,
            direction: 1,
            agent_id: "agent-1".into(),
            team_id: "team-a".into(),
            queue_id: "billing".into(),
            arrived_ms: Some(T0),
            answered_ms: Some(T0 + 30_000),
            ended_ms: Some(T0 + 330_000),
            wait_ms: Some(30_000),
            talk_ms: Some(240_000),
            hold_ms: Some(60_000),
            after_call_work_ms: Some(45_000),
            disposition: "resolved".into(),
            customer_ref: "cust-9".into(),
            language: "en-GB".into(),
            attributes: [("segment".to_owned(), "gold".to_owned())].into(),
            ..Default::default()
        }
    }

    fn fields_of(input: InteractionInput) -> Vec<String> {
        match Interaction::parse(input, T0) {
            Ok(_) => vec![],
            Err(v) => v.into_vec().into_iter().map(|v| v.field).collect(),
        }
    }

    #[test]
    fn a_valid_interaction_parses_and_has_a_handle_time() {
        let i = Interaction::parse(valid_input(), T0).unwrap();
        assert_eq!(i.channel, Channel::Voice);
        assert_eq!(i.handle_ms(), Some(240_000 + 60_000 + 45_000));
        assert!(i.is_ended());
    }

    #[test]
    fn each_rule_names_its_field() {
        type Edit = fn(&mut InteractionInput);
        let table: &[(&str, Edit, &str)] = &[
            ("empty id", |i| i.id.clear(), "id"),
            ("no channel", |i| i.channel = 0, "channel"),
            ("unknown channel", |i| i.channel = 99, "channel"),
            ("unknown direction", |i| i.direction = 7, "direction"),
            (
                "agent with spaces",
                |i| i.agent_id = " a".into(),
                "agent_id",
            ),
            ("no arrival", |i| i.arrived_ms = None, "arrived_time"),
            (
                "ancient arrival",
                |i| i.arrived_ms = Some(0),
                "arrived_time",
            ),
            (
                "future arrival",
                |i| {
                    i.arrived_ms = Some(T0 + 2 * DAY_MS);
                    i.answered_ms = None;
                    i.ended_ms = None;
                },
                "arrived_time",
            ),
            (
                "ended before arrived",
                |i| {
                    i.answered_ms = None;
                    i.ended_ms = Some(T0 - 1);
                },
                "ended_time",
            ),
            (
                "answered before arrived",
                |i| i.answered_ms = Some(T0 - 1),
                "answered_time",
            ),
            (
                "ended before answered",
                |i| i.ended_ms = Some(T0 + 10_000),
                "ended_time",
            ),
            ("negative talk", |i| i.talk_ms = Some(-1), "talk_duration"),
            ("negative wait", |i| i.wait_ms = Some(-5), "wait_duration"),
            (
                "huge hold",
                |i| i.hold_ms = Some(MAX_PHASE_MS + 1),
                "hold_duration",
            ),
            (
                "negative wrap-up",
                |i| i.after_call_work_ms = Some(-1),
                "after_call_work_duration",
            ),
            (
                "long disposition",
                |i| i.disposition = "d".repeat(201),
                "disposition",
            ),
            (
                "long customer ref",
                |i| i.customer_ref = "c".repeat(257),
                "customer_ref",
            ),
            (
                "bad language",
                |i| i.language = "english please".into(),
                "language",
            ),
            (
                "long uri",
                |i| i.recording_uri = "u".repeat(2049),
                "recording_uri",
            ),
            (
                "future source update",
                |i| i.source_update_ms = Some(T0 + 2 * DAY_MS),
                "source_update_time",
            ),
            (
                "bad attribute key",
                |i| {
                    i.attributes.insert("no spaces".into(), "x".into());
                },
                "attributes[\"no spaces\"]",
            ),
            (
                "long attribute value",
                |i| {
                    i.attributes.insert("k".into(), "v".repeat(1025));
                },
                "attributes[\"k\"]",
            ),
            (
                "too many attributes",
                |i| {
                    for n in 0..65 {
                        i.attributes.insert(format!("k{n}"), String::new());
                    }
                },
                "attributes",
            ),
            (
                "attributes too big",
                |i| {
                    for n in 0..20 {
                        i.attributes.insert(format!("k{n}"), "v".repeat(1000));
                    }
                },
                "attributes",
            ),
        ];
        for (name, edit, field) in table {
            let mut input = valid_input();
            edit(&mut input);
            let fields = fields_of(input);
            assert!(fields.iter().any(|f| f == field), "{name}: {fields:?}");
        }
    }

    #[test]
    fn every_problem_is_reported_at_once() {
        let mut input = valid_input();
        input.id.clear();
        input.channel = 0;
        input.talk_ms = Some(-1);
        let fields = fields_of(input);
        assert_eq!(fields, ["id", "channel", "talk_duration"]);
    }

    #[test]
    fn optional_facts_may_be_missing() {
        let input = InteractionInput {
            id: "chat-7".into(),
            channel: 2,
            arrived_ms: Some(T0),
            ..Default::default()
        };
        let i = Interaction::parse(input, T0).unwrap();
        assert_eq!(i.agent, None);
        assert_eq!(i.handle_ms(), None);
        assert!(!i.is_ended());
    }

    #[test]
    fn handle_time_falls_back_to_timestamps() {
        let mut input = valid_input();
        input.talk_ms = None;
        input.hold_ms = None;
        let i = Interaction::parse(input, T0).unwrap();
        assert_eq!(i.handle_ms(), Some(300_000 + 45_000));
    }

    #[test]
    fn codes_round_trip() {
        for c in Channel::ALL {
            assert_eq!(Channel::from_code(c.code()), Some(c));
        }
        for code in 0..4 {
            assert_eq!(Direction::from_code(code).map(Direction::code), Some(code));
        }
    }

    proptest! {
        #[test]
        fn parse_never_panics_and_valid_means_consistent(
            id in ".{0,4}",
            channel in -2i32..9,
            direction in -1i32..5,
            arrived in proptest::option::of(-1_000i64..T0 + 3 * DAY_MS),
            answered_off in proptest::option::of(-100_000i64..1_000_000),
            ended_off in proptest::option::of(-100_000i64..1_000_000),
            talk in proptest::option::of(-10i64..1_000_000),
        ) {
            let input = InteractionInput {
                id,
                channel,
                direction,
                arrived_ms: arrived,
                answered_ms: arrived.zip(answered_off).map(|(a, o)| a + o),
                ended_ms: arrived.zip(ended_off).map(|(a, o)| a + o),
                talk_ms: talk,
                ..Default::default()
            };
            if let Ok(i) = Interaction::parse(input, T0) {
                prop_assert!(i.ended_ms.is_none_or(|e| e >= i.arrived_ms));
                prop_assert!(i.answered_ms.is_none_or(|a| a >= i.arrived_ms));
                prop_assert!(i.handle_ms().is_none_or(|h| h >= 0));
            }
        }
    }
}
