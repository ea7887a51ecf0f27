//! Identifiers and bounded text: newtypes that can only hold valid values.
//!
//! Ids come from outside systems in any shape (UUIDs, numbers, e-mail
//! addresses), so the rule is deliberately loose: 1 to [`MAX_ID_CHARS`]
//! characters, no control characters, no leading or trailing white space.
//! Parsing returns a description of the problem; the caller knows the field.

use std::fmt;

/// The longest id, in characters (not bytes).
pub const MAX_ID_CHARS: usize = 200;

/// Checks the common id rule.
fn check_id(value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Err("must not be empty".into());
    }
    if value.chars().count() > MAX_ID_CHARS {
        return Err(format!("must be at most {MAX_ID_CHARS} characters"));
    }
    if value.chars().any(char::is_control) {
        return Err("must not contain control characters".into());
    }
    if value.trim() != value {
        return Err("must not start or end with white space".into());
    }
    Ok(())
}

macro_rules! string_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(String);

        impl $name {
            /// Validates an id: 1 to 200 characters, no control characters, no
            /// leading or trailing white space.
            pub fn parse(value: impl Into<String>) -> Result<Self, String> {
                let value = value.into();
                check_id(&value)?;
                Ok(Self(value))
            }

            /// The id as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl AsRef<str> for $name {
            fn as_ref(&self) -> &str {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
    };
}

string_id!(
    /// An interaction's id in the source system (ACD/CRM).
    InteractionId
);
string_id!(
    /// An agent's id: their token subject.
    AgentId
);
string_id!(
    /// A team's id.
    TeamId
);
string_id!(
    /// A queue's (skill, campaign, mailbox) id.
    QueueId
);
string_id!(
    /// An evaluator's id: their token subject.
    EvaluatorId
);
string_id!(
    /// A sampling plan's id (server-assigned).
    PlanId
);
string_id!(
    /// A survey response's id in the survey system.
    SurveyId
);
string_id!(
    /// A feedback item's id in the source system.
    FeedbackId
);
string_id!(
    /// An assignment's id (server-assigned).
    AssignmentId
);
string_id!(
    /// An evaluation's id in scoring.
    EvaluationId
);

impl AgentId {
    /// True when this agent is the evaluator `e` (same token subject).
    pub fn is_evaluator(&self, e: &EvaluatorId) -> bool {
        self.0 == e.0
    }
}

/// A targeted rule's id within its plan: 1 to 64 characters of
/// `[A-Za-z0-9_-]`, so it reads well in reports and logs.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RuleId(String);

impl RuleId {
    /// Validates a rule id.
    pub fn parse(value: impl Into<String>) -> Result<Self, String> {
        let value = value.into();
        if value.is_empty() || value.len() > 64 {
            return Err("must be 1 to 64 characters".into());
        }
        if !value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err("must contain only letters, digits, '_' and '-'".into());
        }
        Ok(Self(value))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RuleId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A BCP 47 language tag such as `en`, `pt-BR` or `zh-Hant-TW`, checked for
/// shape (not against the registry): a 2 to 8 letter primary subtag, then
/// subtags of 1 to 8 letters or digits, 35 characters at most. Kept as sent;
/// compared without regard to case.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct LanguageTag(String);

impl LanguageTag {
    /// Validates a language tag.
    pub fn parse(value: impl Into<String>) -> Result<Self, String> {
        let value = value.into();
        let err = || "must be a BCP 47 language tag such as \"en\" or \"pt-BR\"".to_owned();
        if value.is_empty() || value.len() > 35 {
            return Err(err());
        }
        let mut subtags = value.split('-');
        let primary = subtags.next().unwrap_or_default();
        if !(2..=8).contains(&primary.len()) || !primary.bytes().all(|b| b.is_ascii_alphabetic()) {
            return Err(err());
        }
        for sub in subtags {
            if !(1..=8).contains(&sub.len()) || !sub.bytes().all(|b| b.is_ascii_alphanumeric()) {
                return Err(err());
            }
        }
        Ok(Self(value))
    }

    /// The tag as sent.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True when this tag covers `other`: equal, or a prefix of it on a subtag
    /// boundary (`pt` covers `pt-BR`; `pt-BR` does not cover `pt`), ignoring
    /// case.
    pub fn covers(&self, other: &LanguageTag) -> bool {
        let (a, b) = (self.0.as_bytes(), other.0.as_bytes());
        if a.len() > b.len() {
            return false;
        }
        let prefix_equal = a
            .iter()
            .zip(b.iter())
            .all(|(x, y)| x.eq_ignore_ascii_case(y));
        prefix_equal && (a.len() == b.len() || b.get(a.len()) == Some(&b'-'))
    }
}

impl fmt::Display for LanguageTag {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Checks free text: at most `max_chars` characters, no control characters
/// other than tab, line feed and carriage return.
pub fn check_text(value: &str, max_chars: usize) -> Result<(), String> {
    if value.chars().count() > max_chars {
        return Err(format!("must be at most {max_chars} characters"));
    }
    if value
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\t' | '\n' | '\r'))
    {
        return Err("must not contain control characters".into());
    }
    Ok(())
}

/// Checks a required name: 1 to `max_chars` characters of text, not only
/// white space.
pub fn check_name(value: &str, max_chars: usize) -> Result<(), String> {
    if value.trim().is_empty() {
        return Err("must not be empty".into());
    }
    check_text(value, max_chars)
}

/// Parses an optional id: empty means none.
pub fn optional<T>(
    value: &str,
    parse: impl FnOnce(String) -> Result<T, String>,
) -> Result<Option<T>, String> {
    if value.is_empty() {
        Ok(None)
    } else {
        parse(value.to_owned()).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_follow_the_common_rule() {
        let table: &[(&str, bool)] = &[
            ("a", true),
            ("0b5c1a44-8d3e-4a4e-bf33-7d6d2d1b9c10", true),
            ("agent@example.com", true),
            ("日本語のID", true),
            ("", false),
            (" padded", false),
            ("padded ", false),
            ("tab\tinside", false),
            ("nul\0", false),
        ];
        for (value, ok) in table {
            assert_eq!(InteractionId::parse(*value).is_ok(), *ok, "{value:?}");
        }
        assert!(AgentId::parse("x".repeat(200)).is_ok());
        assert!(AgentId::parse("x".repeat(201)).is_err());
        // Characters, not bytes: 200 three-byte characters are fine.
        assert!(TeamId::parse("é".repeat(200)).is_ok());
    }

    #[test]
    fn rule_ids_are_short_and_plain() {
        assert!(RuleId::parse("low-csat_1").is_ok());
        assert!(RuleId::parse("").is_err());
        assert!(RuleId::parse("has space").is_err());
        assert!(RuleId::parse("x".repeat(65)).is_err());
    }

    #[test]
    fn language_tags_have_bcp47_shape_and_cover_by_prefix() {
        for ok in ["en", "pt-BR", "zh-Hant-TW", "es-419", "EN-us"] {
            assert!(LanguageTag::parse(ok).is_ok(), "{ok}");
        }
        for bad in [
            "",
            "e",
            "en_US",
            "en-",
            "-en",
            "toolongprimary",
            "en-toolongsub",
            "1a",
        ] {
            assert!(LanguageTag::parse(bad).is_err(), "{bad}");
        }
        let tag = |s: &str| LanguageTag::parse(s).unwrap();
        assert!(tag("pt").covers(&tag("pt-BR")));
        assert!(tag("PT").covers(&tag("pt-br")));
        assert!(tag("pt-BR").covers(&tag("pt-BR")));
        assert!(!tag("pt-BR").covers(&tag("pt")));
        assert!(!tag("pt").covers(&tag("ptx")));
        assert!(!tag("en").covers(&tag("pt")));
    }

    #[test]
    fn text_checks() {
        assert!(check_text("line\nbreak\ttab", 20).is_ok());
        assert!(check_text("bell\u{7}", 20).is_err());
        assert!(check_text("abc", 2).is_err());
        assert!(check_name("  ", 10).is_err());
        assert!(check_name("Plan", 10).is_ok());
        assert_eq!(optional("", TeamId::parse), Ok(None));
        assert!(optional(" x", TeamId::parse).is_err());
    }
}
