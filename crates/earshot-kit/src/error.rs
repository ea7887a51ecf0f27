//! One error type for every service, and its single mapping onto gRPC status.
//!
//! Handlers and stores return [`Error`]; the edge turns it into a
//! [`tonic::Status`] with [`Error::into_status`] (or `?` through the `From`
//! impl). Validation problems carry field-level details as a
//! `google.rpc.BadRequest`, so a client can point at the offending field.
//! Unexpected failures become `INTERNAL` with a generic message: the cause
//! chain is logged here, never sent to the caller.

use std::fmt;

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, FieldViolation as PbFieldViolation, StatusExt as _};

/// A problem with one field of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldViolation {
    /// Path of the field, as in the request: `interactions[3].ended_time`.
    pub field: String,
    /// What is wrong with it, in words a caller can act on.
    pub description: String,
}

impl FieldViolation {
    /// A violation of `field`.
    pub fn new(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            description: description.into(),
        }
    }

    /// The same violation, its field nested under `prefix`
    /// (`prefix.field`, or `prefix[i].field` when the prefix ends in `]`).
    pub fn nested(self, prefix: &str) -> Self {
        let field = if self.field.is_empty() {
            prefix.to_owned()
        } else if self.field.starts_with('[') {
            format!("{prefix}{}", self.field)
        } else {
            format!("{prefix}.{}", self.field)
        };
        Self { field, ..self }
    }
}

impl fmt::Display for FieldViolation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.description)
    }
}

/// Collects field violations while a request is checked, so a caller learns
/// about every bad field at once rather than one per attempt.
#[derive(Debug, Default, Clone)]
pub struct Violations(Vec<FieldViolation>);

impl Violations {
    /// No violations yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a violation of `field`.
    pub fn add(&mut self, field: impl Into<String>, description: impl Into<String>) {
        self.0.push(FieldViolation::new(field, description));
    }

    /// Records every violation of a nested message under `prefix`.
    pub fn extend_nested(
        &mut self,
        prefix: &str,
        nested: impl IntoIterator<Item = FieldViolation>,
    ) {
        self.0.extend(nested.into_iter().map(|v| v.nested(prefix)));
    }

    /// True when nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The recorded violations.
    pub fn as_slice(&self) -> &[FieldViolation] {
        &self.0
    }

    /// `Ok(())` when nothing was recorded, else [`Error::InvalidArgument`].
    pub fn into_result(self) -> Result<(), Error> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(Error::InvalidArgument(self.0))
        }
    }

    /// The recorded violations, consumed.
    pub fn into_vec(self) -> Vec<FieldViolation> {
        self.0
    }
}

impl From<Vec<FieldViolation>> for Violations {
    fn from(v: Vec<FieldViolation>) -> Self {
        Self(v)
    }
}

/// Everything a service can answer other than success.
///
/// Each variant names the gRPC code it maps to; see [`Error::code`].
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The request is malformed; nothing was changed. → `INVALID_ARGUMENT`
    #[error("invalid request: {}", join(.0))]
    InvalidArgument(Vec<FieldViolation>),
    /// The caller presented no valid credentials. → `UNAUTHENTICATED`
    #[error("unauthenticated: {0}")]
    Unauthenticated(String),
    /// The caller is known but may not do this. → `PERMISSION_DENIED`
    #[error("permission denied: {0}")]
    PermissionDenied(String),
    /// The named thing does not exist for this tenant. → `NOT_FOUND`
    #[error("{what} not found")]
    NotFound {
        /// What was looked for, e.g. `scorecard "sc-1"`.
        what: String,
    },
    /// It exists already (a create with a taken id). → `ALREADY_EXISTS`
    #[error("{0} already exists")]
    AlreadyExists(String),
    /// The thing is not in a state that allows this (release a draft,
    /// dispute an unreleased evaluation). → `FAILED_PRECONDITION`
    #[error("failed precondition: {0}")]
    FailedPrecondition(String),
    /// A concurrent change won (stale etag); re-read and retry. → `ABORTED`
    #[error("aborted: {0}")]
    Aborted(String),
    /// A limit was hit (rate, size, quota). → `RESOURCE_EXHAUSTED`
    #[error("resource exhausted: {0}")]
    ResourceExhausted(String),
    /// A dependency (database, another service) is down; retry later. →
    /// `UNAVAILABLE`
    #[error("unavailable: {0}")]
    Unavailable(String),
    /// The caller's deadline passed before the work finished. →
    /// `DEADLINE_EXCEEDED`
    #[error("deadline exceeded: {0}")]
    DeadlineExceeded(String),
    /// Not built (yet). → `UNIMPLEMENTED`
    #[error("unimplemented: {0}")]
    Unimplemented(String),
    /// A bug or an unexpected failure. The message is logged, never sent. →
    /// `INTERNAL`
    #[error("internal error: {0}")]
    Internal(String),
}

fn join(v: &[FieldViolation]) -> String {
    v.iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// The result type of every kit and service function.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// One violation of one field.
    pub fn invalid(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self::InvalidArgument(vec![FieldViolation::new(field, description)])
    }

    /// `NOT_FOUND` for `what`.
    pub fn not_found(what: impl Into<String>) -> Self {
        Self::NotFound { what: what.into() }
    }

    /// `INTERNAL`, from anything displayable (a cause that must not reach
    /// the caller).
    pub fn internal(cause: impl fmt::Display) -> Self {
        Self::Internal(cause.to_string())
    }

    /// The gRPC code this error answers with.
    pub fn code(&self) -> Code {
        match self {
            Error::InvalidArgument(_) => Code::InvalidArgument,
            Error::Unauthenticated(_) => Code::Unauthenticated,
            Error::PermissionDenied(_) => Code::PermissionDenied,
            Error::NotFound { .. } => Code::NotFound,
            Error::AlreadyExists(_) => Code::AlreadyExists,
            Error::FailedPrecondition(_) => Code::FailedPrecondition,
            Error::Aborted(_) => Code::Aborted,
            Error::ResourceExhausted(_) => Code::ResourceExhausted,
            Error::Unavailable(_) => Code::Unavailable,
            Error::DeadlineExceeded(_) => Code::DeadlineExceeded,
            Error::Unimplemented(_) => Code::Unimplemented,
            Error::Internal(_) => Code::Internal,
        }
    }

    /// The status sent to the caller. Internal causes are logged here and
    /// replaced by a generic message.
    pub fn into_status(self) -> Status {
        match self {
            Error::InvalidArgument(violations) => {
                let message = bounded(
                    &format!("invalid request: {}", join(&violations)),
                    MAX_MESSAGE_BYTES,
                );
                let mut budget = MAX_DETAILS_BYTES;
                let mut details = Vec::new();
                for v in violations {
                    let field = bounded(&v.field, MAX_VIOLATION_BYTES);
                    let description = bounded(&v.description, MAX_VIOLATION_BYTES);
                    let size = field.len() + description.len();
                    if size > budget {
                        break;
                    }
                    budget -= size;
                    details.push(PbFieldViolation::new(field, description));
                }
                let details = ErrorDetails::with_bad_request(details);
                Status::with_error_details(Code::InvalidArgument, message, details)
            }
            Error::Internal(cause) => {
                tracing::error!(error = %cause, "internal error");
                Status::internal("internal error; the cause is in the server log")
            }
            Error::Unavailable(cause) => {
                tracing::warn!(error = %cause, "dependency unavailable");
                Status::unavailable("a dependency is unavailable; retry with backoff")
            }
            other => Status::new(other.code(), bounded(&other.to_string(), MAX_MESSAGE_BYTES)),
        }
    }
}

// Status messages and field violations travel in response headers and often
// quote what the caller sent (a field path with a map key, an id). HTTP/2
// clients refuse a header list over their limit (16 KiB by default in
// hyper), which would turn a clear INVALID_ARGUMENT into a protocol error,
// so what is sent back is bounded: the message (percent-encoded, up to 3x),
// each violation's field and description, and the violations in all
// (base64-encoded, 4/3x). Violations past the budget are left out of the
// details; the message still names the first of them.

/// The most bytes of a status message.
const MAX_MESSAGE_BYTES: usize = 2048;
/// The most bytes of one violation's field or description.
const MAX_VIOLATION_BYTES: usize = 512;
/// The most bytes of all violations' fields and descriptions together.
const MAX_DETAILS_BYTES: usize = 6144;

/// `s` cut to at most `max` bytes at a character boundary, with an ellipsis
/// when cut.
fn bounded(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_owned();
    }
    let mut end = max.saturating_sub('…'.len_utf8());
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

impl From<Error> for Status {
    fn from(e: Error) -> Self {
        e.into_status()
    }
}

impl From<sqlx::Error> for Error {
    fn from(e: sqlx::Error) -> Self {
        use sqlx::Error as E;
        match &e {
            // The database is unreachable or saturated: the caller may retry.
            E::PoolTimedOut | E::PoolClosed | E::Io(_) | E::Tls(_) | E::WorkerCrashed => {
                Error::Unavailable(e.to_string())
            }
            E::Database(db) => {
                // SQLITE_BUSY/LOCKED and PostgreSQL's serialization failure,
                // deadlock, and admin shutdown / cannot-connect classes are
                // transient too.
                let code = db.code();
                let transient = match code.as_deref() {
                    Some("5") | Some("6") | Some("517") | Some("40001") | Some("40P01") => true,
                    Some(c) if c.starts_with("57P") || c.starts_with("08") => true,
                    _ => false,
                };
                if transient {
                    Error::Unavailable(e.to_string())
                } else if code.as_deref() == Some("22021") {
                    // PostgreSQL takes no NUL in text (SQLite does): a
                    // caller's string that reached a query unvalidated.
                    Error::invalid(
                        "request",
                        "a text field contains a NUL character, which is not allowed",
                    )
                } else {
                    Error::Internal(e.to_string())
                }
            }
            _ => Error::Internal(e.to_string()),
        }
    }
}

impl From<sqlx::migrate::MigrateError> for Error {
    fn from(e: sqlx::migrate::MigrateError) -> Self {
        Error::Internal(format!("migration failed: {e}"))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn invalid_argument_carries_field_details() {
        let mut v = Violations::new();
        v.add("name", "must not be empty");
        v.extend_nested(
            "sections[0]",
            [FieldViolation::new("weight", "must not be negative")],
        );
        let status = v.into_result().unwrap_err().into_status();
        assert_eq!(status.code(), Code::InvalidArgument);
        let details = status.get_error_details();
        let bad = details.bad_request().unwrap();
        let fields: Vec<_> = bad
            .field_violations
            .iter()
            .map(|f| f.field.as_str())
            .collect();
        assert_eq!(fields, ["name", "sections[0].weight"]);
        assert!(status.message().contains("name: must not be empty"));
    }

    #[test]
    fn what_a_status_echoes_is_bounded() {
        // A 5,000-character map key in a field path, repeated, in multibyte
        // characters: unbounded, the headers outgrow an HTTP/2 client's limit.
        let key = "é".repeat(5000);
        let mut v = Violations::new();
        for i in 0..100 {
            v.add(format!("labels[{key}{i}]"), format!("{key} is too long"));
        }
        let status = v.into_result().unwrap_err().into_status();
        assert_eq!(status.code(), Code::InvalidArgument);
        assert!(status.message().len() <= MAX_MESSAGE_BYTES);
        assert!(status.message().starts_with("invalid request: labels[éé"));
        let details = status.get_error_details();
        let bad = details.bad_request().unwrap();
        assert!(!bad.field_violations.is_empty());
        let total: usize = bad
            .field_violations
            .iter()
            .map(|f| f.field.len() + f.description.len())
            .sum();
        assert!(total <= MAX_DETAILS_BYTES, "{total}");
        assert!(bad.field_violations.iter().all(|f| f.field.ends_with('…')));

        let status = Error::not_found(format!("scorecard {key}")).into_status();
        assert_eq!(status.code(), Code::NotFound);
        assert!(status.message().len() <= MAX_MESSAGE_BYTES);

        // Short ones are untouched.
        assert_eq!(bounded("abc", 3), "abc");
        assert_eq!(bounded("abcdef", 4), "a…");
    }

    #[test]
    fn nested_paths() {
        assert_eq!(FieldViolation::new("x", "d").nested("a[1]").field, "a[1].x");
        assert_eq!(FieldViolation::new("[2]", "d").nested("a").field, "a[2]");
        assert_eq!(FieldViolation::new("", "d").nested("a").field, "a");
    }

    #[test]
    fn internal_hides_the_cause() {
        let status = Error::internal("disk on fire at /secret/path").into_status();
        assert_eq!(status.code(), Code::Internal);
        assert!(!status.message().contains("secret"));
    }

    #[test]
    fn every_variant_maps_to_its_code() {
        let cases = [
            (Error::invalid("f", "d"), Code::InvalidArgument),
            (Error::Unauthenticated("x".into()), Code::Unauthenticated),
            (Error::PermissionDenied("x".into()), Code::PermissionDenied),
            (Error::not_found("x"), Code::NotFound),
            (Error::AlreadyExists("x".into()), Code::AlreadyExists),
            (
                Error::FailedPrecondition("x".into()),
                Code::FailedPrecondition,
            ),
            (Error::Aborted("x".into()), Code::Aborted),
            (
                Error::ResourceExhausted("x".into()),
                Code::ResourceExhausted,
            ),
            (Error::Unavailable("x".into()), Code::Unavailable),
            (Error::DeadlineExceeded("x".into()), Code::DeadlineExceeded),
            (Error::Unimplemented("x".into()), Code::Unimplemented),
            (Error::internal("x"), Code::Internal),
        ];
        for (err, code) in cases {
            assert_eq!(err.code(), code);
            assert_eq!(err.into_status().code(), code);
        }
    }
}
