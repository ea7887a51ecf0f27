//! Field-level validation errors.
//!
//! Every parse in this crate reports *all* problems it finds, each with the
//! path of the offending field in the caller's terms
//! (`sections[1].questions[0].weight`), so the gRPC edge can answer
//! `INVALID_ARGUMENT` with one `google.rpc.BadRequest` field violation per
//! entry.

use std::fmt;

/// One violated rule: where, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Violation {
    /// Path of the offending field, e.g. `sections[1].questions[0].weight`.
    pub field: String,
    /// What is wrong, in English, for a person.
    pub description: String,
}

impl Violation {
    /// A violation at `field`.
    pub fn new(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            description: description.into(),
        }
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.field, self.description)
    }
}

/// A non-empty list of violations, returned by every `parse`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct Violations(pub Vec<Violation>);

impl Violations {
    /// The violations, in the order they were found (field order).
    pub fn as_slice(&self) -> &[Violation] {
        &self.0
    }

    /// Whether a violation at exactly `field` is present (handy in tests).
    pub fn has_field(&self, field: &str) -> bool {
        self.0.iter().any(|v| v.field == field)
    }
}

impl fmt::Display for Violations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for v in &self.0 {
            if !first {
                f.write_str("; ")?;
            }
            first = false;
            write!(f, "{v}")?;
        }
        Ok(())
    }
}

/// Collects violations while a parse walks a structure.
#[derive(Debug, Default)]
pub(crate) struct Collector(Vec<Violation>);

impl Collector {
    pub(crate) fn push(&mut self, field: impl Into<String>, description: impl Into<String>) {
        self.0.push(Violation::new(field, description));
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub(crate) fn into_result<T>(self, ok: T) -> Result<T, Violations> {
        if self.0.is_empty() {
            Ok(ok)
        } else {
            Err(Violations(self.0))
        }
    }

    pub(crate) fn into_vec(self) -> Vec<Violation> {
        self.0
    }
}
