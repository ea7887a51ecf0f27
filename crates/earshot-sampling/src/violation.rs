//! Field-level validation errors.
//!
//! Every `parse` in the core returns all the problems it finds, not only the
//! first, as a [`Violations`] list of (field path, description). The edge turns
//! it into `INVALID_ARGUMENT` with `google.rpc.BadRequest` field violations, or
//! into the per-item `ItemViolation`s of a batch. Field paths use the proto
//! field names (`ended_time`, `scope.queue_ids[3]`), so a caller can find the
//! field in the API reference.

use std::fmt;

/// One problem with one field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// Path of the offending field, in proto field names, e.g.
    /// `targeted_rules[2].cap_per_agent`. Empty for the item as a whole.
    pub field: String,
    /// What is wrong, in English.
    pub description: String,
}

impl Violation {
    /// A violation of `field`.
    pub fn new(field: impl Into<String>, description: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            description: description.into(),
        }
    }
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.field.is_empty() {
            f.write_str(&self.description)
        } else {
            write!(f, "{}: {}", self.field, self.description)
        }
    }
}

/// Joins a parent path and a child path: `("scope", "queue_ids[1]")` gives
/// `scope.queue_ids[1]`; an index child (`[3].id`) is appended without a dot.
pub fn join_path(parent: &str, child: &str) -> String {
    match (parent.is_empty(), child.is_empty()) {
        (true, _) => child.to_owned(),
        (false, true) => parent.to_owned(),
        (false, false) if child.starts_with('[') => format!("{parent}{child}"),
        (false, false) => format!("{parent}.{child}"),
    }
}

/// The problems found while validating one value. Empty means valid.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Violations(Vec<Violation>);

impl Violations {
    /// No problems yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records a problem with `field`.
    pub fn add(&mut self, field: impl Into<String>, description: impl Into<String>) {
        self.0.push(Violation::new(field, description));
    }

    /// Records the error of `result` against `field` and returns its value.
    pub fn check<T>(&mut self, field: &str, result: Result<T, String>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(description) => {
                self.add(field, description);
                None
            }
        }
    }

    /// Records the violations of a nested value under `parent`, returning its
    /// value when it had none.
    pub fn nest<T>(&mut self, parent: &str, result: Result<T, Violations>) -> Option<T> {
        match result {
            Ok(value) => Some(value),
            Err(inner) => {
                for v in inner.0 {
                    self.0
                        .push(Violation::new(join_path(parent, &v.field), v.description));
                }
                None
            }
        }
    }

    /// True when no problem was recorded.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// How many problems were recorded.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// The problems, in the order found.
    pub fn as_slice(&self) -> &[Violation] {
        &self.0
    }

    /// The problems, in the order found.
    pub fn into_vec(self) -> Vec<Violation> {
        self.0
    }

    /// True when some problem concerns exactly `field`.
    pub fn has_field(&self, field: &str) -> bool {
        self.0.iter().any(|v| v.field == field)
    }

    /// `Ok(value)` when there is no problem, else the problems.
    pub fn into_result<T>(self, value: T) -> Result<T, Violations> {
        if self.0.is_empty() {
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
            write!(f, "{v}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Violations {}

impl From<Violation> for Violations {
    fn from(v: Violation) -> Self {
        Self(vec![v])
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_join_with_dots_and_indexes() {
        assert_eq!(join_path("", "id"), "id");
        assert_eq!(join_path("scope", ""), "scope");
        assert_eq!(join_path("scope", "queue_ids[1]"), "scope.queue_ids[1]");
        assert_eq!(
            join_path("targeted_rules", "[2].priority"),
            "targeted_rules[2].priority"
        );
    }

    #[test]
    fn nested_violations_carry_the_parent_path() {
        let mut inner = Violations::new();
        inner.add("cap_per_agent", "must be at least 1");
        let mut outer = Violations::new();
        let got: Option<()> = outer.nest("targeted_rules[0]", Err(inner));
        assert!(got.is_none());
        assert!(outer.has_field("targeted_rules[0].cap_per_agent"));
        assert_eq!(
            outer.to_string(),
            "targeted_rules[0].cap_per_agent: must be at least 1"
        );
        assert!(outer.into_result(()).is_err());
        assert_eq!(Violations::new().into_result(7), Ok(7));
    }
}
