//! Scorecard lifecycle: DRAFT → PUBLISHED → ARCHIVED.
//!
//! | action  | from               | to        | who                  | also                              |
//! |---------|--------------------|-----------|----------------------|-----------------------------------|
//! | update  | DRAFT, PUBLISHED   | unchanged | admin, qa_manager    | edits the draft only              |
//! | publish | DRAFT, PUBLISHED   | PUBLISHED | admin, qa_manager    | draft valid and changed; version+1 |
//! | archive | DRAFT, PUBLISHED   | ARCHIVED  | admin, qa_manager    | final                             |
//!
//! Published versions are immutable in every state: nothing here can change
//! one, and new evaluations pin the latest.

use crate::access::{self, Caller};
use crate::error::{ScoringError, check_etag};
use crate::scorecard::{ScorecardDefinition, ValidScorecard};

/// Where a scorecard is in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ScorecardState {
    /// Never published.
    Draft,
    /// At least one version published.
    Published,
    /// Retired. Final.
    Archived,
}

impl ScorecardState {
    /// The state's name, in lower case (also the stored form).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Draft => "draft",
            Self::Published => "published",
            Self::Archived => "archived",
        }
    }

    /// Parses the stored form.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "draft" => Self::Draft,
            "published" => Self::Published,
            "archived" => Self::Archived,
            _ => return None,
        })
    }
}

/// What the lifecycle needs to know about a stored scorecard.
#[derive(Debug, Clone, Copy)]
pub struct ScorecardFacts<'a> {
    /// Its state.
    pub state: ScorecardState,
    /// Its current etag.
    pub etag: &'a str,
    /// The latest published version number, 0 if none.
    pub latest_version: u32,
    /// The latest published definition, if any.
    pub latest_definition: Option<&'a ScorecardDefinition>,
}

fn authorize(caller: &Caller) -> Result<(), ScoringError> {
    if access::may_manage_scorecards(caller) {
        Ok(())
    } else {
        Err(ScoringError::forbidden(
            "only admins and QA managers may change scorecards",
        ))
    }
}

fn not_archived(facts: &ScorecardFacts<'_>, action: &'static str) -> Result<(), ScoringError> {
    if facts.state == ScorecardState::Archived {
        Err(ScoringError::WrongState {
            resource: "scorecard",
            state: facts.state.as_str(),
            action,
        })
    } else {
        Ok(())
    }
}

/// Replacing the draft: allowed until archived; the state is unchanged.
pub fn update_draft(
    caller: &Caller,
    facts: &ScorecardFacts<'_>,
    etag: &str,
) -> Result<ScorecardState, ScoringError> {
    authorize(caller)?;
    check_etag(facts.etag, etag)?;
    not_archived(facts, "update")?;
    Ok(facts.state)
}

/// A successful publication.
#[derive(Debug, Clone, PartialEq)]
pub struct Publication {
    /// The new version number (latest + 1).
    pub version: u32,
    /// The frozen, valid content.
    pub scorecard: ValidScorecard,
    /// The scorecard's state afterwards (always PUBLISHED).
    pub state: ScorecardState,
}

/// Publishing the draft as the next version: the draft must be valid and
/// differ from the latest version.
pub fn publish(
    caller: &Caller,
    facts: &ScorecardFacts<'_>,
    etag: &str,
    draft: &ScorecardDefinition,
) -> Result<Publication, ScoringError> {
    authorize(caller)?;
    check_etag(facts.etag, etag)?;
    not_archived(facts, "publish")?;
    if facts.latest_version > 0 && facts.latest_definition == Some(draft) {
        return Err(ScoringError::NothingToPublish(facts.latest_version));
    }
    let scorecard = ValidScorecard::parse(draft.clone()).map_err(ScoringError::Unpublishable)?;
    let version = facts.latest_version.checked_add(1).ok_or_else(|| {
        ScoringError::Invalid(crate::violation::Violations(vec![
            crate::violation::Violation::new("scorecard_id", "too many versions"),
        ]))
    })?;
    Ok(Publication {
        version,
        scorecard,
        state: ScorecardState::Published,
    })
}

/// Archiving: from DRAFT or PUBLISHED; final.
pub fn archive(
    caller: &Caller,
    facts: &ScorecardFacts<'_>,
    etag: &str,
) -> Result<ScorecardState, ScoringError> {
    authorize(caller)?;
    check_etag(facts.etag, etag)?;
    not_archived(facts, "archive")?;
    Ok(ScorecardState::Archived)
}

/// The version a new evaluation pins: `requested` (0 = latest) of a
/// published, non-archived scorecard.
pub fn version_for_new_evaluation(
    facts: &ScorecardFacts<'_>,
    requested: u32,
) -> Result<u32, ScoringError> {
    match facts.state {
        ScorecardState::Published if facts.latest_version > 0 => {}
        state => {
            return Err(ScoringError::WrongState {
                resource: "scorecard",
                state: state.as_str(),
                action: "evaluate with",
            });
        }
    }
    if requested == 0 {
        Ok(facts.latest_version)
    } else if requested <= facts.latest_version {
        Ok(requested)
    } else {
        Err(ScoringError::NotFound)
    }
}
