//! What every handler shares: the caller as the core knows it, actors,
//! request-field checks, ids and etags, and the one mapping of the core's
//! refusals onto the kit's [`Error`].

use earshot_kit::{
    Error, Result,
    auth::{self, Caller, SYSTEM_SUBJECT},
    error::FieldViolation,
};
use earshot_proto::common::v1 as common;

use crate::access::{self, Role};
use crate::error::ScoringError;

/// The longest id or request id a caller may send, in characters.
pub const MAX_ID_CHARS: usize = 128;
/// The most answers one request may carry.
pub const MAX_ANSWERS: usize = 1_000;
/// The longest overall comment, in characters.
pub const MAX_OVERALL_COMMENT_CHARS: usize = 8_000;
/// The longest acknowledgement, resolution or dispute reason, in characters.
pub const MAX_NOTE_CHARS: usize = 4_000;

/// The verified caller of a request.
pub fn caller_of<T>(req: &tonic::Request<T>) -> Result<Caller> {
    auth::caller(req).map_err(|s| Error::Unauthenticated(s.message().to_owned()))
}

/// The caller as the functional core knows it.
pub fn core_caller(c: &Caller) -> access::Caller {
    access::Caller::new(
        c.subject(),
        c.roles().iter().filter_map(|r| Role::parse(r.as_str())),
    )
    .with_teams(c.teams().iter().cloned())
}

/// The actor to record: the first of `prefer` the caller holds, else their
/// most privileged role.
pub fn actor(c: &access::Caller, prefer: &[Role]) -> common::Actor {
    let role = prefer
        .iter()
        .copied()
        .find(|r| c.has(*r))
        .or_else(|| c.acting_role())
        .map(Role::as_str)
        .unwrap_or_default();
    common::Actor {
        subject: c.subject.clone(),
        role: role.to_owned(),
    }
}

/// The actor of changes the system makes by itself (auto-release).
pub fn system_actor() -> common::Actor {
    common::Actor {
        subject: SYSTEM_SUBJECT.to_owned(),
        role: auth::Role::Service.as_str().to_owned(),
    }
}

/// `PERMISSION_DENIED` unless `allowed`.
pub fn require(allowed: bool, what: &str) -> Result<()> {
    if allowed {
        Ok(())
    } else {
        Err(Error::PermissionDenied(format!(
            "your roles do not allow you to {what}"
        )))
    }
}

/// A required id field: 1 to 128 characters.
pub fn required_id(field: &str, value: &str) -> Result<()> {
    if value.is_empty() {
        Err(Error::invalid(field, "is required"))
    } else if value.chars().count() > MAX_ID_CHARS {
        Err(Error::invalid(
            field,
            format!("must be at most {MAX_ID_CHARS} characters"),
        ))
    } else {
        Ok(())
    }
}

/// An id that scoring passes on to sampling (an interaction's or an
/// assignment's): checked here with sampling's own rules (no control
/// characters, no surrounding white space) as well, so that a bad id is the caller's INVALID_ARGUMENT rather than a
/// refusal from sampling that scoring would have to report as its own fault.
pub fn required_sampling_id(field: &str, value: &str) -> Result<()> {
    required_id(field, value)?;
    if value.chars().any(char::is_control) {
        Err(Error::invalid(field, "must not contain control characters"))
    } else if value.trim() != value {
        Err(Error::invalid(
            field,
            "must not start or end with white space",
        ))
    } else {
        Ok(())
    }
}

/// An optional id field (a filter): empty, or at most 128 characters.
pub fn optional_id(field: &str, value: &str) -> Result<Option<String>> {
    if value.is_empty() {
        Ok(None)
    } else {
        required_id(field, value).map(|()| Some(value.to_owned()))
    }
}

/// A text field of at most `max` characters; `required` refuses blank.
pub fn text(v: &mut Vec<FieldViolation>, field: &str, value: &str, required: bool, max: usize) {
    if required && value.trim().is_empty() {
        v.push(FieldViolation::new(field, "is required"));
    } else if value.chars().count() > max {
        v.push(FieldViolation::new(
            field,
            format!("must be at most {max} characters"),
        ));
    }
}

/// `INVALID_ARGUMENT` with every violation, or nothing.
pub fn check(v: Vec<FieldViolation>) -> Result<()> {
    if v.is_empty() {
        Ok(())
    } else {
        Err(Error::InvalidArgument(v))
    }
}

/// A new time-ordered id (UUIDv7), so new rows land at the end of each
/// index.
pub fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

/// The etag of a row version.
pub fn etag(version: i64) -> String {
    version.to_string()
}

/// A `u32` count from a stored `i64` (versions, revisions).
pub fn small(n: i64) -> i32 {
    i32::try_from(n).unwrap_or(i32::MAX)
}

/// Decodes a stored protobuf message; a failure is a bug or corruption
/// (`INTERNAL`).
pub fn decode<M: prost::Message + Default>(bytes: &[u8], what: &str) -> Result<M> {
    M::decode(bytes).map_err(|e| Error::internal(format!("stored {what} does not decode: {e}")))
}

/// The one mapping of the core's refusals. `what` names the resource for
/// `NOT_FOUND` (e.g. `evaluation "e-1"`).
pub fn refused(e: ScoringError, what: &str) -> Error {
    match e {
        ScoringError::Invalid(v) => Error::InvalidArgument(super::convert::violations("", v.0)),
        ScoringError::NotFound => Error::not_found(what),
        ScoringError::Forbidden(m) => Error::PermissionDenied(m),
        ScoringError::EtagRequired => {
            Error::invalid("etag", "is required; read the resource first")
        }
        ScoringError::StaleEtag => Error::Aborted(format!(
            "{what} changed since it was read (stale etag); read it again and retry"
        )),
        ScoringError::Unpublishable(v) => {
            Error::InvalidArgument(super::convert::violations("draft", v.0))
        }
        ScoringError::IncompleteAnswers(p) => {
            Error::InvalidArgument(super::convert::answer_violations("", &p))
        }
        e @ (ScoringError::WrongState { .. }
        | ScoringError::WrongKind { .. }
        | ScoringError::NothingToPublish(_)
        | ScoringError::DisputeWindowClosed
        | ScoringError::DisabledBySettings(_)) => Error::FailedPrecondition(e.to_string()),
    }
}

/// `ABORTED` for a compare-and-set that lost to a concurrent write.
pub fn lost_race(what: &str) -> Error {
    Error::Aborted(format!(
        "{what} was changed by another call at the same time; read it again and retry"
    ))
}

/// A time range filter as `[from, to)` epoch milliseconds; `field` names it.
pub fn time_range(
    r: Option<&common::TimeRange>,
    field: &str,
) -> Result<(Option<i64>, Option<i64>)> {
    let Some(r) = r else {
        return Ok((None, None));
    };
    let from =
        earshot_kit::time::optional_millis(r.start_time.as_ref(), &format!("{field}.start_time"))?;
    let to = earshot_kit::time::optional_millis(r.end_time.as_ref(), &format!("{field}.end_time"))?;
    if let (Some(f), Some(t)) = (from, to)
        && t <= f
    {
        return Err(Error::invalid(
            format!("{field}.end_time"),
            "must be after start_time",
        ));
    }
    Ok((from, to))
}

/// A fingerprint of a request's content (FNV-1a over its parts, each
/// length-prefixed), stable across builds and replicas: an idempotency key
/// reused for different content is refused.
pub fn fingerprint(parts: &[&[u8]]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let mut eat = |bytes: &[u8]| {
        for b in bytes {
            h ^= u64::from(*b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
    };
    for p in parts {
        eat(&(p.len() as u64).to_le_bytes());
        eat(p);
    }
    h
}

/// The JSON of a serialisable value, for fingerprints.
pub fn json<T: serde::Serialize>(v: &T) -> Vec<u8> {
    serde_json::to_vec(v).unwrap_or_default()
}

/// A file-name-safe slug of a scorecard name.
pub fn slug(name: &str) -> String {
    let mut out = String::new();
    for ch in name.chars() {
        if ch.is_ascii_alphanumeric() {
            out.push(ch.to_ascii_lowercase());
        } else if !out.ends_with('-') && !out.is_empty() {
            out.push('-');
        }
        if out.len() >= 60 {
            break;
        }
    }
    let out = out.trim_end_matches('-').to_owned();
    if out.is_empty() {
        "scorecard".to_owned()
    } else {
        out
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn fingerprints_separate_parts() {
        assert_ne!(fingerprint(&[b"ab", b"c"]), fingerprint(&[b"a", b"bc"]));
        assert_eq!(fingerprint(&[b"x"]), fingerprint(&[b"x"]));
    }

    #[test]
    fn interaction_ids_follow_samplings_rules() {
        // Found by tests/tests/no_panic.rs: " x " reached sampling, whose
        // INVALID_ARGUMENT came back as scoring's INTERNAL.
        for bad in ["", " x", "x ", "a\u{0}b", "\n"] {
            let e = required_sampling_id("ad_hoc.interaction_id", bad).unwrap_err();
            assert!(matches!(e, Error::InvalidArgument(_)), "{bad:?}: {e}");
        }
        required_sampling_id("ad_hoc.interaction_id", "int-1 b").unwrap();
    }

    #[test]
    fn slugs() {
        assert_eq!(slug("Customer Care — Voice"), "customer-care-voice");
        assert_eq!(slug("!!!"), "scorecard");
        assert_eq!(slug(&"a".repeat(200)).len(), 60);
    }

    #[test]
    fn ids() {
        assert!(required_id("x", "").is_err());
        assert!(required_id("x", &"a".repeat(129)).is_err());
        assert!(required_id("x", "é").is_ok());
        assert_eq!(optional_id("x", "").unwrap(), None);
        assert!(new_id() < new_id() || new_id().len() == 36);
    }

    #[test]
    fn actors_prefer_the_role_of_the_action() {
        let c = access::Caller::new("u", [Role::Agent, Role::Evaluator]);
        assert_eq!(actor(&c, &[Role::Agent]).role, "agent");
        assert_eq!(actor(&c, &[Role::Admin]).role, "evaluator");
    }
}
