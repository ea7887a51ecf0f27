//! Due times of assignments: selection time plus the plan's allowance (or
//! the tenant's default), in wall-clock time or in business hours.

use crate::plan::DueRule;
use crate::settings::Settings;

/// When an assignment selected at `selected_ms` is due. Business-hours
/// allowances fall back to wall-clock time when the schedule never opens.
pub fn due_time(selected_ms: i64, rule: &DueRule, settings: &Settings) -> i64 {
    let within = rule
        .within_ms
        .unwrap_or(settings.sla.default_due_within_ms)
        .max(0);
    let plain = selected_ms.saturating_add(within);
    if rule.business_hours_only {
        settings
            .business_hours
            .add(&settings.time_zone, selected_ms, within)
            .unwrap_or(plain)
    } else {
        plain
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::business_hours::{BusinessHours, WindowInput};
    use crate::calendar::TimeZone;
    use crate::time::{DAY_MS, HOUR_MS};

    #[test]
    fn wall_clock_and_business_hours() {
        let mut settings = Settings::default();
        // Friday 2025-03-14 16:00 UTC.
        let friday_4pm = 1_741_968_000_000;
        assert_eq!(
            due_time(friday_4pm, &DueRule::default(), &settings),
            friday_4pm + 3 * DAY_MS
        );
        let rule = DueRule {
            within_ms: Some(4 * HOUR_MS),
            business_hours_only: true,
        };
        // Always open: same as wall clock.
        assert_eq!(
            due_time(friday_4pm, &rule, &settings),
            friday_4pm + 4 * HOUR_MS
        );
        // Weekdays 09:00-17:00 UTC: 1 h on Friday, 3 h on Monday → Monday 12:00.
        let windows: Vec<WindowInput> = (1..=5)
            .map(|day| WindowInput {
                day,
                open_minute: 540,
                close_minute: 1020,
            })
            .collect();
        settings.business_hours = BusinessHours::parse(&windows, &[]).unwrap();
        settings.time_zone = TimeZone::UTC;
        let monday_noon = friday_4pm + 3 * DAY_MS - 4 * HOUR_MS;
        assert_eq!(due_time(friday_4pm, &rule, &settings), monday_noon);
    }
}
