//! Earshot's own scorecard document format, as YAML or JSON.
//!
//! The document is a [`ScorecardDefinition`] in snake_case, exactly the
//! fields of `earshot.scoring.v1.ScorecardDefinition`; unknown fields are
//! rejected (a typo must not silently drop a rule). Optional fields have the
//! defaults of the proto (weights default to 1, `pass_answer` to yes).
//! Importing parses only; validity is checked separately
//! ([`ValidScorecard::parse`](crate::scorecard::ValidScorecard::parse)) so a
//! half-finished draft can be imported and fixed.
//!
//! ```yaml
//! name: Customer care
//! pass_mark: 80
//! sections:
//!   - id: greeting
//!     title: Greeting
//!     weight: 1
//!     questions:
//!       - id: greeted
//!         text: Did the agent greet the customer by name?
//!         kind: { type: yes_no }
//!       - id: empathy
//!         text: Empathy
//!         kind: { type: scale, min: 1, max: 5, pass_from: 3 }
//!         visible_when:
//!           predicates: [{ question_id: greeted, expected: { yes: true } }]
//! ```

use crate::scorecard::ScorecardDefinition;
use crate::violation::{Violation, Violations};

/// The largest document accepted: 1 MiB.
pub const MAX_DOCUMENT_BYTES: usize = 1 << 20;

/// A serialisation of Earshot's format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DocumentFormat {
    /// YAML 1.2.
    Yaml,
    /// JSON.
    Json,
}

impl DocumentFormat {
    /// The media type of a document in this format.
    pub fn media_type(self) -> &'static str {
        match self {
            Self::Yaml => "application/yaml",
            Self::Json => "application/json",
        }
    }

    /// The usual file extension, without the dot.
    pub fn extension(self) -> &'static str {
        match self {
            Self::Yaml => "yaml",
            Self::Json => "json",
        }
    }
}

fn content_error(description: String) -> Violations {
    Violations(vec![Violation::new("content", description)])
}

/// Parses a document. Errors carry the field `content` and say where (line
/// and column) and what went wrong.
pub fn import(format: DocumentFormat, content: &[u8]) -> Result<ScorecardDefinition, Violations> {
    if content.len() > MAX_DOCUMENT_BYTES {
        return Err(content_error(format!(
            "the document is larger than {MAX_DOCUMENT_BYTES} bytes"
        )));
    }
    let text = std::str::from_utf8(content)
        .map_err(|e| content_error(format!("the document is not UTF-8: {e}")))?;
    match format {
        DocumentFormat::Yaml => serde_yaml_ng::from_str(text)
            .map_err(|e| content_error(format!("not a valid Earshot scorecard (YAML): {e}"))),
        DocumentFormat::Json => serde_json::from_str(text)
            .map_err(|e| content_error(format!("not a valid Earshot scorecard (JSON): {e}"))),
    }
}

/// Why an export failed (never for a definition that came from [`import`] or
/// the proto mapping; a non-finite number is the only way).
#[derive(Debug, thiserror::Error)]
#[error("cannot serialise the scorecard: {0}")]
pub struct ExportError(String);

/// Serialises a definition; [`import`] gives it back unchanged.
pub fn export(
    definition: &ScorecardDefinition,
    format: DocumentFormat,
) -> Result<String, ExportError> {
    match format {
        DocumentFormat::Yaml => {
            serde_yaml_ng::to_string(definition).map_err(|e| ExportError(e.to_string()))
        }
        DocumentFormat::Json => {
            serde_json::to_string_pretty(definition).map_err(|e| ExportError(e.to_string()))
        }
    }
}
