//! Field-level validation errors.
//!
//! Every parser in this crate returns [`Violations`]: a list of (field path,
//! description) pairs, so the gRPC edge can answer `INVALID_ARGUMENT` with a
//! `google.rpc.BadRequest` that names each bad field at once, instead of one
//! error per round trip. Field paths use the proto field names with dots and
//! indices (`settings.targets[2].value`), matching what the caller sent.

use std::fmt;

/// One bad field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// Path of the field in the request, e.g. `period.date_range.end_date`.
    pub field: String,
    /// What is wrong, for a human: "must be on or after start_date".
    pub description: String,
}

/// All the bad fields of one request. Empty means valid.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Violations(Vec<Violation>);

impl Violations {
    /// No violations yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// A single violation.
    pub fn one(field: impl Into<String>, description: impl Into<String>) -> Self {
        let mut v = Self::new();
        v.push(field, description);
        v
    }

    /// Records a bad field.
    pub fn push(&mut self, field: impl Into<String>, description: impl Into<String>) {
        self.0.push(Violation {
            field: field.into(),
            description: description.into(),
        });
    }

    /// Adds another list's violations, each path prefixed with `prefix.`
    /// (no prefix when `prefix` is empty).
    pub fn extend_prefixed(&mut self, prefix: &str, other: Violations) {
        for v in other.0 {
            let field = if prefix.is_empty() {
                v.field
            } else if v.field.is_empty() {
                prefix.to_owned()
            } else {
                format!("{prefix}.{}", v.field)
            };
            self.0.push(Violation {
                field,
                description: v.description,
            });
        }
    }

    /// Collects the error of `result` under `prefix` and returns its value.
    pub fn take<T>(&mut self, prefix: &str, result: Result<T, Violations>) -> Option<T> {
        match result {
            Ok(v) => Some(v),
            Err(e) => {
                self.extend_prefixed(prefix, e);
                None
            }
        }
    }

    /// True when nothing is wrong.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The violations, in the order found.
    pub fn as_slice(&self) -> &[Violation] {
        &self.0
    }

    /// `Ok(value)` when empty, else `Err(self)`.
    pub fn into_result<T>(self, value: T) -> Result<T, Violations> {
        if self.is_empty() {
            Ok(value)
        } else {
            Err(self)
        }
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

/// Validates an id sent by a caller or a source system: 1 to 200 characters,
/// no control characters. Returns the id unchanged.
pub fn parse_id(value: &str) -> Result<String, Violations> {
    if value.is_empty() {
        return Err(Violations::one("", "must not be empty"));
    }
    if value.chars().count() > MAX_ID_CHARS {
        return Err(Violations::one(
            "",
            format!("must be at most {MAX_ID_CHARS} characters"),
        ));
    }
    if value.chars().any(char::is_control) {
        return Err(Violations::one("", "must not contain control characters"));
    }
    Ok(value.to_owned())
}

/// Longest id accepted, in characters.
pub const MAX_ID_CHARS: usize = 200;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_nest() {
        let mut inner = Violations::new();
        inner.push("value", "must be finite");
        inner.push("", "is wrong as a whole");
        let mut outer = Violations::new();
        outer.extend_prefixed("targets[2]", inner);
        let fields: Vec<_> = outer.as_slice().iter().map(|v| v.field.as_str()).collect();
        assert_eq!(fields, ["targets[2].value", "targets[2]"]);
        assert_eq!(
            outer.to_string(),
            "targets[2].value: must be finite; targets[2]: is wrong as a whole"
        );
    }

    #[test]
    fn take_collects_errors() {
        let mut v = Violations::new();
        assert_eq!(v.take("a", Ok::<_, Violations>(1)), Some(1));
        assert_eq!(v.take::<i32>("b", Err(Violations::one("c", "bad"))), None);
        assert_eq!(v.as_slice()[0].field, "b.c");
        assert!(v.clone().into_result(()).is_err());
        assert!(Violations::new().into_result(()).is_ok());
    }

    #[test]
    fn ids() {
        assert!(parse_id("agent-7").is_ok());
        assert!(parse_id("").is_err());
        assert!(parse_id("a\nb").is_err());
        assert!(parse_id(&"x".repeat(201)).is_err());
        assert!(parse_id(&"é".repeat(200)).is_ok());
    }
}
