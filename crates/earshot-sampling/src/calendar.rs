//! The tenant calendar: days, weeks (Monday to Sunday), months, quarters and
//! years in the tenant's IANA time zone, as half-open intervals of UTC epoch
//! milliseconds.
//!
//! Periods are built from local midnights, so a day is 23 or 25 hours long
//! across a daylight-saving change. A local time that does not exist (the
//! clocks jumped over it) resolves to the first minute after the gap; one
//! that exists twice (the clocks went back) resolves to the earlier instant.
//! Consecutive periods tile time with no gap and no overlap.

use std::str::FromStr;

use chrono::TimeZone as _;
use chrono::{DateTime, Datelike, Days, LocalResult, Months, NaiveDate, NaiveDateTime, TimeDelta};
use chrono_tz::Tz;

/// An IANA time zone such as `Europe/Paris`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TimeZone(Tz);

impl Default for TimeZone {
    fn default() -> Self {
        Self::UTC
    }
}

impl TimeZone {
    /// Coordinated Universal Time, the default.
    pub const UTC: TimeZone = TimeZone(Tz::UTC);

    /// Parses an IANA time-zone name (case matters, as in the database:
    /// `America/New_York`).
    pub fn parse(name: &str) -> Result<Self, String> {
        Tz::from_str(name)
            .map(TimeZone)
            .map_err(|_| format!("unknown IANA time zone {name:?}"))
    }

    /// The zone's IANA name.
    pub fn name(&self) -> &'static str {
        self.0.name()
    }

    /// The local date and time at an instant; `None` only for instants outside
    /// the years chrono supports.
    pub fn local(&self, at_ms: i64) -> Option<NaiveDateTime> {
        DateTime::from_timestamp_millis(at_ms).map(|t| t.with_timezone(&self.0).naive_local())
    }

    /// The instant of a local date and time: the earlier one when it exists
    /// twice, the first minute after the gap when it does not exist.
    pub fn instant(&self, local: NaiveDateTime) -> Option<i64> {
        let mut probe = local;
        // The longest gap on record is a whole day (Samoa, 2011-12-30).
        for _ in 0..=(49 * 60) {
            match self.0.from_local_datetime(&probe) {
                LocalResult::Single(t) => return Some(t.timestamp_millis()),
                LocalResult::Ambiguous(early, _) => return Some(early.timestamp_millis()),
                LocalResult::None => probe = probe.checked_add_signed(TimeDelta::minutes(1))?,
            }
        }
        None
    }

    /// The instant the local date starts.
    pub fn midnight(&self, date: NaiveDate) -> Option<i64> {
        self.instant(date.and_hms_opt(0, 0, 0)?)
    }

    /// The period of `kind` that contains the instant.
    pub fn period(&self, kind: PeriodKind, at_ms: i64) -> Option<Period> {
        let date = self.local(at_ms)?.date();
        self.period_from(kind, kind.first_day(date)?)
    }

    /// The period of `kind` that starts on the local date `first_day`
    /// (which must be a first day of such a period).
    pub fn period_from(&self, kind: PeriodKind, first_day: NaiveDate) -> Option<Period> {
        let next = kind.next_first_day(first_day)?;
        Some(Period {
            kind,
            first_day,
            start_ms: self.midnight(first_day)?,
            end_ms: self.midnight(next)?,
        })
    }

    /// The period after `p`.
    pub fn next(&self, p: &Period) -> Option<Period> {
        self.period_from(p.kind, p.kind.next_first_day(p.first_day)?)
    }

    /// The period before `p`.
    pub fn previous(&self, p: &Period) -> Option<Period> {
        let before = p.first_day.checked_sub_days(Days::new(1))?;
        self.period_from(p.kind, p.kind.first_day(before)?)
    }

    /// The periods of `kind` that overlap `[start_ms, end_ms)`, in order; at
    /// most `limit` of them.
    pub fn periods_overlapping(
        &self,
        kind: PeriodKind,
        start_ms: i64,
        end_ms: i64,
        limit: usize,
    ) -> Vec<Period> {
        let mut out = Vec::new();
        let mut current = self.period(kind, start_ms);
        while let Some(p) = current {
            if p.start_ms >= end_ms || out.len() >= limit {
                break;
            }
            current = self.next(&p);
            out.push(p);
        }
        out
    }
}

/// A calendar granularity.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PeriodKind {
    /// A local day.
    Day,
    /// A week, Monday to Sunday.
    Week,
    /// A calendar month.
    Month,
    /// A calendar quarter.
    Quarter,
    /// A calendar year.
    Year,
}

impl PeriodKind {
    /// The kind of a `earshot.common.v1.Granularity` code.
    pub fn from_code(code: i32) -> Option<Self> {
        match code {
            1 => Some(PeriodKind::Day),
            2 => Some(PeriodKind::Week),
            3 => Some(PeriodKind::Month),
            4 => Some(PeriodKind::Quarter),
            5 => Some(PeriodKind::Year),
            _ => None,
        }
    }

    /// The `Granularity` code.
    pub fn code(self) -> i32 {
        match self {
            PeriodKind::Day => 1,
            PeriodKind::Week => 2,
            PeriodKind::Month => 3,
            PeriodKind::Quarter => 4,
            PeriodKind::Year => 5,
        }
    }

    /// The first local date of the period containing `date`.
    pub fn first_day(self, date: NaiveDate) -> Option<NaiveDate> {
        match self {
            PeriodKind::Day => Some(date),
            PeriodKind::Week => {
                date.checked_sub_days(Days::new(u64::from(date.weekday().num_days_from_monday())))
            }
            PeriodKind::Month => date.with_day(1),
            PeriodKind::Quarter => {
                NaiveDate::from_ymd_opt(date.year(), (date.month0() / 3) * 3 + 1, 1)
            }
            PeriodKind::Year => NaiveDate::from_ymd_opt(date.year(), 1, 1),
        }
    }

    /// The first local date of the next period, given a first date.
    pub fn next_first_day(self, first: NaiveDate) -> Option<NaiveDate> {
        match self {
            PeriodKind::Day => first.checked_add_days(Days::new(1)),
            PeriodKind::Week => first.checked_add_days(Days::new(7)),
            PeriodKind::Month => first.checked_add_months(Months::new(1)),
            PeriodKind::Quarter => first.checked_add_months(Months::new(3)),
            PeriodKind::Year => first.checked_add_months(Months::new(12)),
        }
    }
}

/// One period: `[start_ms, end_ms)` in UTC epoch milliseconds, and the local
/// date it starts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Period {
    /// The granularity.
    pub kind: PeriodKind,
    /// The local date the period starts on.
    pub first_day: NaiveDate,
    /// Inclusive start.
    pub start_ms: i64,
    /// Exclusive end.
    pub end_ms: i64,
}

impl Period {
    /// True when the instant falls in the period.
    pub fn contains(&self, at_ms: i64) -> bool {
        self.start_ms <= at_ms && at_ms < self.end_ms
    }

    /// The length in milliseconds.
    pub fn len_ms(&self) -> i64 {
        self.end_ms.saturating_sub(self.start_ms)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::{DAY_MS, HOUR_MS};
    use proptest::prelude::*;

    fn ms(rfc3339: &str) -> i64 {
        DateTime::parse_from_rfc3339(rfc3339)
            .unwrap()
            .timestamp_millis()
    }

    fn date(y: i32, m: u32, d: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, d).unwrap()
    }

    #[test]
    fn unknown_zones_are_rejected() {
        assert!(TimeZone::parse("Europe/Paris").is_ok());
        assert_eq!(TimeZone::parse("UTC").unwrap(), TimeZone::UTC);
        assert!(TimeZone::parse("Mars/Olympus_Mons").is_err());
        assert!(TimeZone::parse("").is_err());
        assert_eq!(TimeZone::default().name(), "UTC");
    }

    #[test]
    fn days_across_daylight_saving_are_23_and_25_hours() {
        let paris = TimeZone::parse("Europe/Paris").unwrap();
        let spring = paris
            .period(PeriodKind::Day, ms("2025-03-30T12:00:00+02:00"))
            .unwrap();
        assert_eq!(spring.start_ms, ms("2025-03-30T00:00:00+01:00"));
        assert_eq!(spring.len_ms(), 23 * HOUR_MS);
        let autumn = paris
            .period(PeriodKind::Day, ms("2025-10-26T12:00:00+01:00"))
            .unwrap();
        assert_eq!(autumn.len_ms(), 25 * HOUR_MS);
    }

    #[test]
    fn weeks_start_on_monday_in_local_time() {
        let ny = TimeZone::parse("America/New_York").unwrap();
        // Monday 2025-03-10 01:00 UTC is still Sunday evening in New York.
        let w = ny
            .period(PeriodKind::Week, ms("2025-03-10T01:00:00Z"))
            .unwrap();
        assert_eq!(w.first_day, date(2025, 3, 3));
        assert_eq!(w.start_ms, ms("2025-03-03T00:00:00-05:00"));
        // The week holds the spring-forward Sunday: 7 days less one hour.
        assert_eq!(w.end_ms, ms("2025-03-10T00:00:00-04:00"));
        assert_eq!(w.len_ms(), 7 * DAY_MS - HOUR_MS);
    }

    #[test]
    fn months_quarters_and_years() {
        let tokyo = TimeZone::parse("Asia/Tokyo").unwrap();
        let at = ms("2024-02-29T23:30:00+09:00");
        let m = tokyo.period(PeriodKind::Month, at).unwrap();
        assert_eq!((m.first_day, m.len_ms()), (date(2024, 2, 1), 29 * DAY_MS));
        let q = tokyo.period(PeriodKind::Quarter, at).unwrap();
        assert_eq!(q.first_day, date(2024, 1, 1));
        assert_eq!(tokyo.next(&q).unwrap().first_day, date(2024, 4, 1));
        let y = tokyo.period(PeriodKind::Year, at).unwrap();
        assert_eq!(y.len_ms(), 366 * DAY_MS);
        assert_eq!(tokyo.previous(&y).unwrap().first_day, date(2023, 1, 1));
    }

    #[test]
    fn a_midnight_that_does_not_exist_starts_after_the_gap() {
        // Chile moved clocks from 24:00 to 01:00 on 2022-09-11.
        let santiago = TimeZone::parse("America/Santiago").unwrap();
        let d = santiago
            .period(PeriodKind::Day, ms("2022-09-11T12:00:00-03:00"))
            .unwrap();
        assert_eq!(d.start_ms, ms("2022-09-11T01:00:00-03:00"));
        assert_eq!(santiago.previous(&d).unwrap().end_ms, d.start_ms);
        // Samoa skipped 2011-12-30 entirely: the week still tiles.
        let apia = TimeZone::parse("Pacific/Apia").unwrap();
        let w = apia
            .period(PeriodKind::Week, ms("2011-12-29T12:00:00-10:00"))
            .unwrap();
        let next = apia.next(&w).unwrap();
        assert_eq!(w.end_ms, next.start_ms);
        assert_eq!(w.len_ms(), 6 * DAY_MS);
    }

    #[test]
    fn periods_overlapping_a_range() {
        let utc = TimeZone::UTC;
        let days = utc.periods_overlapping(
            PeriodKind::Day,
            ms("2025-01-01T12:00:00Z"),
            ms("2025-01-04T00:00:00Z"),
            100,
        );
        assert_eq!(days.len(), 3);
        assert_eq!(days[0].first_day, date(2025, 1, 1));
        assert_eq!(
            utc.periods_overlapping(PeriodKind::Day, 0, DAY_MS * 400, 5)
                .len(),
            5
        );
        assert!(PeriodKind::from_code(0).is_none());
        assert_eq!(
            PeriodKind::from_code(PeriodKind::Week.code()),
            Some(PeriodKind::Week)
        );
    }

    proptest! {
        #[test]
        fn periods_contain_their_instant_and_tile(
            at in 946_684_800_000i64..4_102_444_800_000,
            zone in prop::sample::select(vec![
                "UTC", "Europe/Paris", "America/New_York", "America/Santiago",
                "Australia/Lord_Howe", "Asia/Kathmandu", "Pacific/Apia", "America/St_Johns",
            ]),
            kind in prop::sample::select(vec![
                PeriodKind::Day, PeriodKind::Week, PeriodKind::Month, PeriodKind::Quarter, PeriodKind::Year,
            ]),
        ) {
            let tz = TimeZone::parse(zone).unwrap();
            let p = tz.period(kind, at).unwrap();
            prop_assert!(p.contains(at));
            let next = tz.next(&p).unwrap();
            prop_assert_eq!(p.end_ms, next.start_ms);
            let prev = tz.previous(&p).unwrap();
            prop_assert_eq!(prev.end_ms, p.start_ms);
            prop_assert_eq!(tz.period(kind, p.start_ms).unwrap(), p);
            prop_assert_eq!(tz.period(kind, p.end_ms - 1).unwrap(), p);
        }
    }
}
