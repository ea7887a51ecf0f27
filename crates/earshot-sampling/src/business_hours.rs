//! Business hours: weekly opening windows in the tenant's time zone, and
//! holidays. Used by plan scopes ("business hours only") and by due times
//! counted in business time.
//!
//! No windows at all means always open (holidays still close the whole day).

use std::collections::BTreeSet;

use chrono::{Datelike, Days, NaiveDate, NaiveTime, Timelike, Weekday};

use crate::calendar::TimeZone;
use crate::time::MINUTE_MS;
use crate::violation::Violations;

/// The most windows on one day.
pub const MAX_WINDOWS_PER_DAY: usize = 4;
/// The most holidays.
pub const MAX_HOLIDAYS: usize = 1000;
/// How far business-time arithmetic looks ahead before giving up.
const MAX_DAYS_AHEAD: u32 = 3660;

/// One opening window, in minutes after local midnight: `[open, close)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Window {
    /// Opening minute, 0 to 1439.
    pub open_minute: u16,
    /// Closing minute, after `open_minute`, at most 1440.
    pub close_minute: u16,
}

/// A window as received: the day as a `DayOfWeek` code (1 = Monday ... 7 =
/// Sunday) and minutes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WindowInput {
    /// `DayOfWeek` code.
    pub day: i32,
    /// Opening minute.
    pub open_minute: i32,
    /// Closing minute.
    pub close_minute: i32,
}

/// The weekly schedule and holidays.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct BusinessHours {
    /// Windows per day, Monday first, sorted and not overlapping.
    days: [Vec<Window>; 7],
    /// Local dates on which the center is closed.
    holidays: BTreeSet<NaiveDate>,
}

impl BusinessHours {
    /// Always open.
    pub fn always_open() -> Self {
        Self::default()
    }

    /// Validates a schedule. Field paths are relative to `business_hours`.
    pub fn parse(windows: &[WindowInput], holidays: &[String]) -> Result<Self, Violations> {
        let mut v = Violations::new();
        let mut days: [Vec<Window>; 7] = Default::default();
        for (n, w) in windows.iter().enumerate() {
            let field = format!("windows[{n}]");
            let day = match usize::try_from(w.day) {
                Ok(d @ 1..=7) => Some(d - 1),
                _ => {
                    v.add(format!("{field}.day"), "must be a day of the week");
                    None
                }
            };
            let open = u16::try_from(w.open_minute).ok().filter(|m| *m < 1440);
            if open.is_none() {
                v.add(format!("{field}.open_minute"), "must be 0 to 1439");
            }
            let close = u16::try_from(w.close_minute).ok().filter(|m| *m <= 1440);
            if close.is_none() {
                v.add(format!("{field}.close_minute"), "must be 1 to 1440");
            }
            if let (Some(day), Some(open_minute), Some(close_minute)) = (day, open, close) {
                if close_minute <= open_minute {
                    v.add(format!("{field}.close_minute"), "must be after open_minute");
                } else if let Some(list) = days.get_mut(day) {
                    list.push(Window {
                        open_minute,
                        close_minute,
                    });
                }
            }
        }
        for (d, list) in days.iter_mut().enumerate() {
            list.sort();
            if list.len() > MAX_WINDOWS_PER_DAY {
                v.add(
                    "windows",
                    format!("day {} has more than {MAX_WINDOWS_PER_DAY} windows", d + 1),
                );
            }
            if list
                .windows(2)
                .any(|p| matches!(p, [a, b] if b.open_minute < a.close_minute))
            {
                v.add("windows", format!("day {} has overlapping windows", d + 1));
            }
        }
        if holidays.len() > MAX_HOLIDAYS {
            v.add(
                "holidays",
                format!("must have at most {MAX_HOLIDAYS} dates"),
            );
        }
        let mut dates = BTreeSet::new();
        for (n, h) in holidays.iter().enumerate() {
            match NaiveDate::parse_from_str(h, "%Y-%m-%d") {
                Ok(d) => {
                    dates.insert(d);
                }
                Err(_) => v.add(format!("holidays[{n}]"), "must be a date as YYYY-MM-DD"),
            }
        }
        v.into_result(BusinessHours {
            days,
            holidays: dates,
        })
    }

    /// True when no window is configured (open around the clock, except
    /// holidays).
    pub fn around_the_clock(&self) -> bool {
        self.days.iter().all(Vec::is_empty)
    }

    /// The windows of a weekday.
    pub fn windows(&self, day: Weekday) -> &[Window] {
        self.days
            .get(day.num_days_from_monday() as usize)
            .map(Vec::as_slice)
            .unwrap_or_default()
    }

    /// The holidays.
    pub fn holidays(&self) -> impl Iterator<Item = &NaiveDate> {
        self.holidays.iter()
    }

    /// The open windows of a local date, in minutes.
    fn open_on(&self, date: NaiveDate) -> Vec<Window> {
        if self.holidays.contains(&date) {
            Vec::new()
        } else if self.around_the_clock() {
            vec![Window {
                open_minute: 0,
                close_minute: 1440,
            }]
        } else {
            self.windows(date.weekday()).to_vec()
        }
    }

    /// True when the center is open at the instant.
    pub fn is_open(&self, tz: &TimeZone, at_ms: i64) -> bool {
        let Some(local) = tz.local(at_ms) else {
            return false;
        };
        let minute = local.hour() * 60 + local.minute();
        self.open_on(local.date())
            .iter()
            .any(|w| u32::from(w.open_minute) <= minute && minute < u32::from(w.close_minute))
    }

    /// The instant `duration_ms` of business time after `start_ms`: the clock
    /// runs only while open. `None` when no opening is found within ten years.
    pub fn add(&self, tz: &TimeZone, start_ms: i64, duration_ms: i64) -> Option<i64> {
        let mut left = duration_ms.max(0);
        let mut date = tz.local(start_ms)?.date();
        for _ in 0..MAX_DAYS_AHEAD {
            for w in self.open_on(date) {
                let open = window_instant(tz, date, w.open_minute)?;
                let close = window_instant(tz, date, w.close_minute)?;
                let from = open.max(start_ms);
                if from >= close {
                    continue;
                }
                if close - from >= left {
                    return Some(from + left);
                }
                left -= close - from;
            }
            date = date.checked_add_days(Days::new(1))?;
        }
        None
    }
}

/// The instant of `minute` minutes after midnight of a local date (1440 is
/// the next midnight).
fn window_instant(tz: &TimeZone, date: NaiveDate, minute: u16) -> Option<i64> {
    if minute >= 1440 {
        return tz.midnight(date.checked_add_days(Days::new(1))?);
    }
    let time = NaiveTime::from_hms_opt(u32::from(minute) / 60, u32::from(minute) % 60, 0)?;
    tz.instant(date.and_time(time))
}

/// Minutes between two instants, rounded down (for display and tests).
pub fn minutes_between(a_ms: i64, b_ms: i64) -> i64 {
    (b_ms - a_ms) / MINUTE_MS
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::HOUR_MS;
    use chrono::DateTime;

    fn ms(rfc3339: &str) -> i64 {
        DateTime::parse_from_rfc3339(rfc3339)
            .unwrap()
            .timestamp_millis()
    }

    /// Monday to Friday 09:00–12:00 and 13:00–17:00.
    fn office() -> BusinessHours {
        let mut w = Vec::new();
        for day in 1..=5 {
            w.push(WindowInput {
                day,
                open_minute: 540,
                close_minute: 720,
            });
            w.push(WindowInput {
                day,
                open_minute: 780,
                close_minute: 1020,
            });
        }
        BusinessHours::parse(&w, &["2025-12-25".to_owned()]).unwrap()
    }

    #[test]
    fn bad_schedules_are_rejected() {
        let bad = [
            WindowInput {
                day: 0,
                open_minute: 0,
                close_minute: 10,
            },
            WindowInput {
                day: 1,
                open_minute: 600,
                close_minute: 600,
            },
            WindowInput {
                day: 2,
                open_minute: -1,
                close_minute: 1441,
            },
            WindowInput {
                day: 3,
                open_minute: 0,
                close_minute: 600,
            },
            WindowInput {
                day: 3,
                open_minute: 500,
                close_minute: 700,
            },
        ];
        let err = BusinessHours::parse(&bad, &["2025-02-30".to_owned()]).unwrap_err();
        for f in [
            "windows[0].day",
            "windows[1].close_minute",
            "windows[2].open_minute",
            "windows[2].close_minute",
            "windows",
            "holidays[0]",
        ] {
            assert!(err.has_field(f), "{f}: {err}");
        }
    }

    #[test]
    fn open_and_closed_times() {
        let paris = TimeZone::parse("Europe/Paris").unwrap();
        let bh = office();
        assert!(bh.is_open(&paris, ms("2025-03-10T09:00:00+01:00")));
        assert!(!bh.is_open(&paris, ms("2025-03-10T12:30:00+01:00")));
        assert!(!bh.is_open(&paris, ms("2025-03-10T17:00:00+01:00")));
        assert!(
            !bh.is_open(&paris, ms("2025-03-15T10:00:00+01:00")),
            "Saturday"
        );
        assert!(
            !bh.is_open(&paris, ms("2025-12-25T10:00:00+01:00")),
            "holiday"
        );
        assert!(BusinessHours::always_open().is_open(&paris, ms("2025-03-15T03:00:00+01:00")));
        assert_eq!(bh.windows(Weekday::Mon).len(), 2);
        assert_eq!(bh.holidays().count(), 1);
    }

    #[test]
    fn business_time_skips_nights_weekends_and_holidays() {
        let paris = TimeZone::parse("Europe/Paris").unwrap();
        let bh = office();
        // Friday 16:00 + 2 h of business time = Monday 10:00.
        let due = bh
            .add(&paris, ms("2025-03-14T16:00:00+01:00"), 2 * HOUR_MS)
            .unwrap();
        assert_eq!(due, ms("2025-03-17T10:00:00+01:00"));
        // Started at night, the clock runs from opening: Tuesday 08:00 + 4 h.
        let due = bh
            .add(&paris, ms("2025-03-11T08:00:00+01:00"), 4 * HOUR_MS)
            .unwrap();
        assert_eq!(due, ms("2025-03-11T14:00:00+01:00"));
        // Christmas is skipped.
        let due = bh
            .add(&paris, ms("2025-12-24T16:30:00+01:00"), HOUR_MS)
            .unwrap();
        assert_eq!(due, ms("2025-12-26T09:30:00+01:00"));
        // Always open: plain arithmetic, also across the DST change.
        let always = BusinessHours::always_open();
        let start = ms("2025-03-29T12:00:00+01:00");
        assert_eq!(
            always.add(&paris, start, 24 * HOUR_MS),
            Some(start + 24 * HOUR_MS)
        );
        assert_eq!(minutes_between(0, HOUR_MS), 60);
    }

    #[test]
    fn a_schedule_that_never_opens_gives_up() {
        let mut holidays = Vec::new();
        let mut d = NaiveDate::from_ymd_opt(2025, 1, 6).unwrap();
        for _ in 0..MAX_HOLIDAYS {
            holidays.push(d.format("%Y-%m-%d").to_string());
            d = d.checked_add_days(Days::new(7)).unwrap();
        }
        let mondays_only = [WindowInput {
            day: 1,
            open_minute: 0,
            close_minute: 60,
        }];
        let bh = BusinessHours::parse(&mondays_only, &holidays).unwrap();
        let utc = TimeZone::UTC;
        assert_eq!(bh.add(&utc, ms("2025-01-01T00:00:00Z"), HOUR_MS), None);
    }
}
