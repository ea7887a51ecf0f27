//! Field-level validation errors.
//!
//! Every parser at the boundary (`NewSession::parse`, `AgreementRequest::parse`
//! ...) collects *all* problems it finds rather than stopping at the first, so
//! a caller fixes a request in one round trip. The edge turns [`Violations`]
//! into `INVALID_ARGUMENT` with `google.rpc.BadRequest` field violations; the
//! field paths here are the proto field paths (`participant_ids[2]`,
//! `ratings.units[4].ratings[1]`).

use std::fmt;

/// One problem with one field of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldViolation {
    /// Path of the offending field, in proto field names: `due_time`,
    /// `participant_ids[3]`, `ratings.units[0].ratings[2]`.
    pub field: String,
    /// What is wrong, for a person to read.
    pub description: String,
}

/// Every violation found in a request; empty means valid.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Violations(Vec<FieldViolation>);

impl Violations {
    /// No violations yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a violation.
    pub fn push(&mut self, field: impl Into<String>, description: impl Into<String>) {
        self.0.push(FieldViolation {
            field: field.into(),
            description: description.into(),
        });
    }

    /// True when nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// How many violations were recorded.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// The violations, in the order found.
    pub fn iter(&self) -> impl Iterator<Item = &FieldViolation> {
        self.0.iter()
    }

    /// True when some violation names exactly this field.
    pub fn has_field(&self, field: &str) -> bool {
        self.0.iter().any(|v| v.field == field)
    }

    /// `Ok(value)` when there are no violations, else `Err(self)`.
    pub fn into_result<T>(self, value: T) -> Result<T, Violations> {
        if self.is_empty() {
            Ok(value)
        } else {
            Err(self)
        }
    }

    /// Appends another set of violations.
    pub fn extend(&mut self, other: Violations) {
        self.0.extend(other.0);
    }
}

impl IntoIterator for Violations {
    type Item = FieldViolation;
    type IntoIter = std::vec::IntoIter<FieldViolation>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl fmt::Display for Violations {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, v) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "{}: {}", v.field, v.description)?;
        }
        Ok(())
    }
}

impl std::error::Error for Violations {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn collects_and_reports_every_violation() {
        let mut v = Violations::new();
        assert!(v.is_empty());
        v.push("name", "must not be empty");
        v.push("participant_ids[1]", "duplicate");
        assert_eq!(v.len(), 2);
        assert!(v.has_field("name"));
        assert!(!v.has_field("due_time"));
        assert_eq!(
            v.to_string(),
            "name: must not be empty; participant_ids[1]: duplicate"
        );
        assert!(v.clone().into_result(()).is_err());
        assert_eq!(Violations::new().into_result(7), Ok(7));
    }
}
