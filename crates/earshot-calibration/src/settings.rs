//! The tenant's calibration settings: defaults, ranges, and UpdateSettings
//! with an update mask. Values a session depends on are copied into the
//! session at creation (see [`crate::session::create`]), so an update never
//! changes existing results.

use crate::session::{GroupReference, Tolerance};
use crate::validation::Violations;

const DAY_MS: i64 = 86_400_000;

/// The tenant's settings, always valid.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Settings {
    /// Within-tolerance band (default +/- 5 points).
    pub tolerance: Tolerance,
    /// Group reference method (default median).
    pub group_reference: GroupReference,
    /// May participants see each other's identities after close (default true).
    pub reveal_identities_to_participants: bool,
    /// Percent agreement below which a question is ambiguous (default 0.8).
    pub ambiguity_threshold: f64,
    /// Due time of a session created without one (default 7 days).
    pub default_response_window_ms: i64,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            tolerance: Tolerance::DEFAULT,
            group_reference: GroupReference::Median,
            reveal_identities_to_participants: true,
            ambiguity_threshold: 0.8,
            default_response_window_ms: 7 * DAY_MS,
        }
    }
}

/// New values for UpdateSettings; only fields named in the mask are read.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct SettingsUpdate {
    /// Field paths from the update mask.
    pub mask: Vec<String>,
    /// New tolerance in points.
    pub tolerance_points: f64,
    /// New group reference (`None`: unspecified).
    pub group_reference: Option<GroupReference>,
    /// New identity visibility.
    pub reveal_identities_to_participants: bool,
    /// New ambiguity threshold.
    pub ambiguity_threshold: f64,
    /// New default response window (ms), if given.
    pub default_response_window_ms: Option<i64>,
}

impl Settings {
    /// Applies an update; every problem is reported and nothing changes on error.
    pub fn apply(&self, update: &SettingsUpdate) -> Result<Settings, Violations> {
        let mut v = Violations::new();
        let mut next = *self;
        if update.mask.is_empty() {
            v.push("update_mask", "name at least one field to change");
        }
        for path in &update.mask {
            let field = format!("settings.{path}");
            match path.as_str() {
                "tolerance_points" => match Tolerance::parse(update.tolerance_points) {
                    Ok(t) => next.tolerance = t,
                    Err(e) => v.push(field, e),
                },
                "group_reference" => match update.group_reference {
                    Some(g) => next.group_reference = g,
                    None => v.push(field, "choose median or mean"),
                },
                "reveal_identities_to_participants" => {
                    next.reveal_identities_to_participants =
                        update.reveal_identities_to_participants
                }
                "ambiguity_threshold" => {
                    let t = update.ambiguity_threshold;
                    if t.is_finite() && (0.0..=1.0).contains(&t) {
                        next.ambiguity_threshold = t;
                    } else {
                        v.push(field, "must be between 0 and 1");
                    }
                }
                "default_response_window" => match update.default_response_window_ms {
                    Some(ms) if (3_600_000..=90 * DAY_MS).contains(&ms) => {
                        next.default_response_window_ms = ms
                    }
                    _ => v.push(field, "must be 1 hour to 90 days"),
                },
                _ => v.push(
                    "update_mask",
                    format!("unknown or read-only field {path:?}"),
                ),
            }
        }
        v.into_result(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults() {
        let s = Settings::default();
        assert_eq!(s.tolerance.points(), 5.0);
        assert_eq!(s.group_reference, GroupReference::Median);
        assert!(s.reveal_identities_to_participants);
        assert_eq!(s.ambiguity_threshold, 0.8);
    }

    #[test]
    fn applies_only_masked_fields() {
        let u = SettingsUpdate {
            mask: vec!["tolerance_points".into()],
            tolerance_points: 3.0,
            ambiguity_threshold: 7.0, // not in the mask: ignored
            ..Default::default()
        };
        let s = Settings::default().apply(&u).unwrap();
        assert_eq!(s.tolerance.points(), 3.0);
        assert_eq!(s.ambiguity_threshold, 0.8);
    }

    #[test]
    fn rejects_bad_values_and_unknown_fields() {
        let u = SettingsUpdate {
            mask: vec![
                "tolerance_points".into(),
                "group_reference".into(),
                "ambiguity_threshold".into(),
                "default_response_window".into(),
                "etag".into(),
            ],
            tolerance_points: 101.0,
            group_reference: None,
            ambiguity_threshold: -0.1,
            default_response_window_ms: Some(1),
            ..Default::default()
        };
        let err = Settings::default().apply(&u).unwrap_err();
        for f in [
            "settings.tolerance_points",
            "settings.group_reference",
            "settings.ambiguity_threshold",
            "settings.default_response_window",
            "update_mask",
        ] {
            assert!(err.has_field(f), "{f}: {err}");
        }
        assert!(
            Settings::default()
                .apply(&SettingsUpdate::default())
                .is_err()
        );
    }
}
