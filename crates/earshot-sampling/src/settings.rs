//! The tenant's sampling settings: time zone, business hours, repeat-contact
//! window, monitoring SLA, conflict-of-interest policy, period-close delay.
//! Zero or unset inputs mean the documented defaults.

use crate::business_hours::{BusinessHours, WindowInput};
use crate::calendar::TimeZone;
use crate::repeat_contact;
use crate::time::{DAY_MS, HOUR_MS};
use crate::violation::Violations;

/// The default due time of an assignment: 3 days.
pub const DEFAULT_DUE_WITHIN_MS: i64 = 3 * DAY_MS;
/// The shortest due time.
pub const MIN_DUE_WITHIN_MS: i64 = HOUR_MS;
/// The longest due time.
pub const MAX_DUE_WITHIN_MS: i64 = 90 * DAY_MS;
/// The default share of evaluations to be done on time.
pub const DEFAULT_ON_TIME_TARGET: f64 = 0.95;
/// The default delay between a period's end and its close.
pub const DEFAULT_PERIOD_CLOSE_DELAY_MS: i64 = HOUR_MS;
/// The longest delay between a period's end and its close.
pub const MAX_PERIOD_CLOSE_DELAY_MS: i64 = 7 * DAY_MS;

/// The monitoring service level.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MonitoringSla {
    /// Due time of assignments whose plan sets none.
    pub default_due_within_ms: i64,
    /// Share of due evaluations to be done on time, in (0, 1].
    pub on_time_target: f64,
}

/// Conflict-of-interest rules applied by routing on top of each evaluator's
/// own exclusions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ConflictPolicy {
    /// Evaluators may evaluate their own team.
    pub allow_own_team: bool,
    /// The most assignments of one agent one evaluator gets per plan period;
    /// `None` for no limit.
    pub max_assignments_per_agent_per_period: Option<u32>,
}

/// Valid settings.
#[derive(Debug, Clone, PartialEq)]
pub struct Settings {
    /// The tenant's time zone.
    pub time_zone: TimeZone,
    /// Opening hours.
    pub business_hours: BusinessHours,
    /// The repeat-contact window.
    pub repeat_contact_window_ms: i64,
    /// The monitoring SLA.
    pub sla: MonitoringSla,
    /// Conflict-of-interest policy.
    pub conflict_policy: ConflictPolicy,
    /// Delay between a period's end and its automatic close.
    pub period_close_delay_ms: i64,
    /// How long personal detail is kept after an interaction arrived;
    /// `None` keeps it forever.
    pub retention_ms: Option<i64>,
}

/// The shortest retention: one day.
pub const MIN_RETENTION_MS: i64 = DAY_MS;
/// The longest retention: 100 years.
pub const MAX_RETENTION_MS: i64 = 36_525 * DAY_MS;

impl Default for Settings {
    fn default() -> Self {
        Self {
            time_zone: TimeZone::UTC,
            business_hours: BusinessHours::always_open(),
            repeat_contact_window_ms: repeat_contact::DEFAULT_WINDOW_MS,
            sla: MonitoringSla {
                default_due_within_ms: DEFAULT_DUE_WITHIN_MS,
                on_time_target: DEFAULT_ON_TIME_TARGET,
            },
            conflict_policy: ConflictPolicy::default(),
            period_close_delay_ms: DEFAULT_PERIOD_CLOSE_DELAY_MS,
            retention_ms: None,
        }
    }
}

/// Settings as received.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SettingsInput {
    /// IANA name; empty means UTC.
    pub time_zone: String,
    /// Opening windows.
    pub windows: Vec<WindowInput>,
    /// Holidays as `YYYY-MM-DD`.
    pub holidays: Vec<String>,
    /// Repeat-contact window; `None` means the default.
    pub repeat_contact_window_ms: Option<i64>,
    /// Default due time; `None` means the default.
    pub default_due_within_ms: Option<i64>,
    /// On-time target; 0 means the default.
    pub on_time_target: f64,
    /// Allow evaluating one's own team.
    pub allow_own_team: bool,
    /// Per evaluator, per agent, per period limit; 0 for none.
    pub max_assignments_per_agent_per_period: i32,
    /// Close delay; `None` means the default.
    pub period_close_delay_ms: Option<i64>,
    /// Retention; `None` or 0 keeps detail forever.
    pub retention_ms: Option<i64>,
}

fn bounded(v: &mut Violations, field: &str, value: i64, min: i64, max: i64, what: &str) -> i64 {
    if !(min..=max).contains(&value) {
        v.add(field, format!("must be {what}"));
    }
    value
}

impl Settings {
    /// Validates settings.
    pub fn parse(input: SettingsInput) -> Result<Self, Violations> {
        let mut v = Violations::new();
        let time_zone = if input.time_zone.is_empty() {
            Some(TimeZone::UTC)
        } else {
            v.check("time_zone", TimeZone::parse(&input.time_zone))
        };
        let business_hours = v.nest(
            "business_hours",
            BusinessHours::parse(&input.windows, &input.holidays),
        );
        let repeat_contact_window_ms = bounded(
            &mut v,
            "repeat_contact_window",
            input
                .repeat_contact_window_ms
                .unwrap_or(repeat_contact::DEFAULT_WINDOW_MS),
            repeat_contact::MIN_WINDOW_MS,
            repeat_contact::MAX_WINDOW_MS,
            "from 1 hour to 90 days",
        );
        let default_due_within_ms = bounded(
            &mut v,
            "monitoring_sla.default_due_within",
            input.default_due_within_ms.unwrap_or(DEFAULT_DUE_WITHIN_MS),
            MIN_DUE_WITHIN_MS,
            MAX_DUE_WITHIN_MS,
            "from 1 hour to 90 days",
        );
        let on_time_target = if input.on_time_target == 0.0 {
            DEFAULT_ON_TIME_TARGET
        } else {
            input.on_time_target
        };
        if !(on_time_target > 0.0 && on_time_target <= 1.0) {
            v.add("monitoring_sla.on_time_target", "must be in (0, 1]");
        }
        let max_per_agent = match input.max_assignments_per_agent_per_period {
            0 => None,
            n => match u32::try_from(n) {
                Ok(n) if n <= 10_000 => Some(n),
                _ => {
                    v.add(
                        "conflict_policy.max_assignments_per_agent_per_period",
                        "must be 0 to 10000",
                    );
                    None
                }
            },
        };
        let period_close_delay_ms = bounded(
            &mut v,
            "period_close_delay",
            input
                .period_close_delay_ms
                .unwrap_or(DEFAULT_PERIOD_CLOSE_DELAY_MS),
            0,
            MAX_PERIOD_CLOSE_DELAY_MS,
            "from 0 to 7 days",
        );
        let retention_ms = match input.retention_ms {
            None | Some(0) => None,
            Some(ms) => {
                if !(MIN_RETENTION_MS..=MAX_RETENTION_MS).contains(&ms) {
                    v.add(
                        "retention",
                        "must be 0 (keep forever) or from 1 day to 100 years",
                    );
                } else if ms < repeat_contact_window_ms {
                    // Purged references could no longer void the first
                    // contact resolution of interactions still in the window.
                    v.add("retention", "must be at least the repeat-contact window");
                }
                Some(ms)
            }
        };
        match (time_zone, business_hours) {
            (Some(time_zone), Some(business_hours)) if v.is_empty() => Ok(Settings {
                time_zone,
                business_hours,
                repeat_contact_window_ms,
                sla: MonitoringSla {
                    default_due_within_ms,
                    on_time_target,
                },
                conflict_policy: ConflictPolicy {
                    allow_own_team: input.allow_own_team,
                    max_assignments_per_agent_per_period: max_per_agent,
                },
                period_close_delay_ms,
                retention_ms,
            }),
            _ => Err(v),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_input_gives_the_defaults() {
        assert_eq!(
            Settings::parse(SettingsInput::default()).unwrap(),
            Settings::default()
        );
    }

    #[test]
    fn every_bad_field_is_named() {
        let input = SettingsInput {
            time_zone: "Europe/Pariss".into(),
            windows: vec![WindowInput {
                day: 9,
                open_minute: 0,
                close_minute: 60,
            }],
            holidays: vec!["tomorrow".into()],
            repeat_contact_window_ms: Some(0),
            default_due_within_ms: Some(91 * DAY_MS),
            on_time_target: 1.5,
            max_assignments_per_agent_per_period: -1,
            period_close_delay_ms: Some(-1),
            ..Default::default()
        };
        let err = Settings::parse(input).unwrap_err();
        for f in [
            "time_zone",
            "business_hours.windows[0].day",
            "business_hours.holidays[0]",
            "repeat_contact_window",
            "monitoring_sla.default_due_within",
            "monitoring_sla.on_time_target",
            "conflict_policy.max_assignments_per_agent_per_period",
            "period_close_delay",
        ] {
            assert!(err.has_field(f), "{f}: {err}");
        }
        let nan = SettingsInput {
            on_time_target: f64::NAN,
            ..Default::default()
        };
        assert!(Settings::parse(nan).is_err());
    }

    #[test]
    fn a_full_configuration() {
        let s = Settings::parse(SettingsInput {
            time_zone: "America/Chicago".into(),
            windows: vec![WindowInput {
                day: 1,
                open_minute: 480,
                close_minute: 1080,
            }],
            repeat_contact_window_ms: Some(2 * DAY_MS),
            on_time_target: 0.9,
            allow_own_team: true,
            max_assignments_per_agent_per_period: 2,
            period_close_delay_ms: Some(0),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(s.time_zone.name(), "America/Chicago");
        assert_eq!(
            s.conflict_policy.max_assignments_per_agent_per_period,
            Some(2)
        );
        assert!(!s.business_hours.around_the_clock());
        assert_eq!(s.sla.on_time_target, 0.9);
    }
}
