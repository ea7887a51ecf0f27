//! The tenant's calendar: local days, weeks (ISO, Monday first), months,
//! quarters and years in the tenant's IANA time zone, report periods
//! (explicit dates or presets), trend buckets and comparison baselines.
//!
//! Rollups are kept per *local* day, so every report period is a range of
//! whole local days. Instants (epoch milliseconds, UTC) become local dates
//! once, when a fact is applied ([`local_date`]); the reverse
//! ([`day_start_utc_ms`]) is for scanning raw facts, and copes with days
//! whose midnight does not exist (a DST jump at 00:00).

use chrono::{Datelike, Days, Months, NaiveDate, NaiveTime, TimeZone};
use chrono_tz::Tz;

use crate::validation::Violations;

/// Longest report period, in days (ten years).
pub const MAX_RANGE_DAYS: i64 = 3_660;
/// Earliest year accepted in a date.
pub const MIN_YEAR: i32 = 1970;
/// Latest year accepted in a date.
pub const MAX_YEAR: i32 = 9999;

/// A calendar granularity (the domain twin of `earshot.common.v1.Granularity`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Granularity {
    /// One local day.
    Day,
    /// One ISO week, Monday to Sunday.
    Week,
    /// One calendar month.
    Month,
    /// One calendar quarter (January, April, July, October).
    Quarter,
    /// One calendar year.
    Year,
}

/// Parses an IANA time zone name ("Europe/Paris"); empty means UTC.
pub fn parse_time_zone(name: &str) -> Result<Tz, Violations> {
    if name.is_empty() {
        return Ok(Tz::UTC);
    }
    name.parse::<Tz>()
        .map_err(|_| Violations::one("", format!("unknown IANA time zone {name:?}")))
}

/// Validates a (year, month, day) triple as a calendar date between 1970 and
/// 9999.
pub fn parse_date(year: i32, month: i32, day: i32) -> Result<NaiveDate, Violations> {
    let mut v = Violations::new();
    if !(MIN_YEAR..=MAX_YEAR).contains(&year) {
        v.push("year", format!("must be between {MIN_YEAR} and {MAX_YEAR}"));
    }
    if !(1..=12).contains(&month) {
        v.push("month", "must be between 1 and 12");
    }
    if !(1..=31).contains(&day) {
        v.push("day", "must be between 1 and 31");
    }
    if !v.is_empty() {
        return Err(v);
    }
    // Ranges checked above, so the casts are lossless.
    NaiveDate::from_ymd_opt(year, month as u32, day as u32)
        .ok_or_else(|| Violations::one("day", format!("{year:04}-{month:02} has no day {day}")))
}

/// An inclusive range of local dates, `start <= end`, at most
/// [`MAX_RANGE_DAYS`] long.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DateRange {
    start: NaiveDate,
    end: NaiveDate,
}

impl DateRange {
    /// Validates a range (field names as in `DateRange` of the contract).
    pub fn new(start: NaiveDate, end: NaiveDate) -> Result<Self, Violations> {
        if end < start {
            return Err(Violations::one(
                "end_date",
                "must be on or after start_date",
            ));
        }
        let days = (end - start).num_days() + 1;
        if days > MAX_RANGE_DAYS {
            return Err(Violations::one(
                "end_date",
                format!("the range is {days} days; at most {MAX_RANGE_DAYS} are allowed"),
            ));
        }
        Ok(DateRange { start, end })
    }

    /// A range built by this module from valid parts (start <= end assured by
    /// the caller); still never panics.
    fn raw(start: NaiveDate, end: NaiveDate) -> Self {
        if end < start {
            DateRange {
                start: end,
                end: start,
            }
        } else {
            DateRange { start, end }
        }
    }

    /// First day.
    pub fn start(&self) -> NaiveDate {
        self.start
    }

    /// Last day (inclusive).
    pub fn end(&self) -> NaiveDate {
        self.end
    }

    /// Number of days, at least 1.
    pub fn days(&self) -> i64 {
        (self.end - self.start).num_days() + 1
    }

    /// True when `date` lies in the range.
    pub fn contains(&self, date: NaiveDate) -> bool {
        self.start <= date && date <= self.end
    }

    /// The overlap of two ranges, if any.
    pub fn intersect(&self, other: &DateRange) -> Option<DateRange> {
        let start = self.start.max(other.start);
        let end = self.end.min(other.end);
        (start <= end).then_some(DateRange { start, end })
    }
}

/// A period named relative to today (see `PresetPeriod` in the contract).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Preset {
    /// Today so far.
    Today,
    /// Yesterday.
    Yesterday,
    /// The 7 days ending yesterday.
    Last7Days,
    /// The 30 days ending yesterday.
    Last30Days,
    /// The 90 days ending yesterday.
    Last90Days,
    /// Monday of this week to today.
    ThisWeek,
    /// The previous Monday-to-Sunday week.
    LastWeek,
    /// The 1st of this month to today.
    ThisMonth,
    /// The previous calendar month.
    LastMonth,
    /// This quarter to today.
    ThisQuarter,
    /// The previous calendar quarter.
    LastQuarter,
    /// This year to today.
    ThisYear,
    /// The previous calendar year.
    LastYear,
    /// The 12 full months before this month.
    Last12Months,
}

fn days_before(date: NaiveDate, n: u64) -> NaiveDate {
    date.checked_sub_days(Days::new(n))
        .unwrap_or(NaiveDate::MIN)
}

fn days_after(date: NaiveDate, n: u64) -> NaiveDate {
    date.checked_add_days(Days::new(n))
        .unwrap_or(NaiveDate::MAX)
}

/// Resolves a preset against `today` (the tenant's local date).
pub fn resolve_preset(preset: Preset, today: NaiveDate) -> DateRange {
    let yesterday = days_before(today, 1);
    let this_month = bucket_start(today, Granularity::Month);
    let this_quarter = bucket_start(today, Granularity::Quarter);
    let this_year = bucket_start(today, Granularity::Year);
    let this_week = bucket_start(today, Granularity::Week);
    match preset {
        Preset::Today => DateRange::raw(today, today),
        Preset::Yesterday => DateRange::raw(yesterday, yesterday),
        Preset::Last7Days => DateRange::raw(days_before(today, 7), yesterday),
        Preset::Last30Days => DateRange::raw(days_before(today, 30), yesterday),
        Preset::Last90Days => DateRange::raw(days_before(today, 90), yesterday),
        Preset::ThisWeek => DateRange::raw(this_week, today),
        Preset::LastWeek => DateRange::raw(days_before(this_week, 7), days_before(this_week, 1)),
        Preset::ThisMonth => DateRange::raw(this_month, today),
        Preset::LastMonth => {
            let end = days_before(this_month, 1);
            DateRange::raw(bucket_start(end, Granularity::Month), end)
        }
        Preset::ThisQuarter => DateRange::raw(this_quarter, today),
        Preset::LastQuarter => {
            let end = days_before(this_quarter, 1);
            DateRange::raw(bucket_start(end, Granularity::Quarter), end)
        }
        Preset::ThisYear => DateRange::raw(this_year, today),
        Preset::LastYear => {
            let end = days_before(this_year, 1);
            DateRange::raw(bucket_start(end, Granularity::Year), end)
        }
        Preset::Last12Months => {
            let start = this_month
                .checked_sub_months(Months::new(12))
                .unwrap_or(NaiveDate::MIN);
            DateRange::raw(start, days_before(this_month, 1))
        }
    }
}

/// The local date of an instant (epoch milliseconds, UTC) in `tz`.
/// Instants beyond chrono's range clamp to its first or last day.
pub fn local_date(epoch_ms: i64, tz: Tz) -> NaiveDate {
    match chrono::DateTime::from_timestamp_millis(epoch_ms) {
        Some(utc) => tz.from_utc_datetime(&utc.naive_utc()).date_naive(),
        None if epoch_ms < 0 => NaiveDate::MIN,
        None => NaiveDate::MAX,
    }
}

/// The first instant (epoch ms, UTC) of a local day in `tz`. When midnight
/// falls in a DST gap, the day starts at the first valid local time after
/// it; when it is ambiguous, at the earlier of the two instants.
pub fn day_start_utc_ms(date: NaiveDate, tz: Tz) -> i64 {
    let mut time = NaiveTime::MIN;
    // Gaps are at most a few hours; try each minute of the first day half.
    for _ in 0..(12 * 60) {
        let local = date.and_time(time);
        if let Some(dt) = tz.from_local_datetime(&local).earliest() {
            return dt.timestamp_millis();
        }
        time += chrono::TimeDelta::minutes(1);
    }
    // Unreachable with real zone data; fall back to UTC midnight.
    date.and_time(NaiveTime::MIN).and_utc().timestamp_millis()
}

/// The first day of the bucket of `g` holding `date`.
pub fn bucket_start(date: NaiveDate, g: Granularity) -> NaiveDate {
    let first_of = |month: u32| NaiveDate::from_ymd_opt(date.year(), month, 1).unwrap_or(date);
    match g {
        Granularity::Day => date,
        Granularity::Week => days_before(date, u64::from(date.weekday().num_days_from_monday())),
        Granularity::Month => first_of(date.month()),
        Granularity::Quarter => first_of((date.month() - 1) / 3 * 3 + 1),
        Granularity::Year => first_of(1),
    }
}

/// The first day of the bucket after the one starting at `start`.
pub fn next_bucket_start(start: NaiveDate, g: Granularity) -> NaiveDate {
    let plus_months = |m: u32| {
        start
            .checked_add_months(Months::new(m))
            .unwrap_or(NaiveDate::MAX)
    };
    match g {
        Granularity::Day => days_after(start, 1),
        Granularity::Week => days_after(start, 7),
        Granularity::Month => plus_months(1),
        Granularity::Quarter => plus_months(3),
        Granularity::Year => plus_months(12),
    }
}

/// The last day of the bucket of `g` holding `date`.
pub fn bucket_end(date: NaiveDate, g: Granularity) -> NaiveDate {
    days_before(next_bucket_start(bucket_start(date, g), g), 1)
}

/// One bucket of a trend, clipped to the report period.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Bucket {
    /// The calendar bucket's first day.
    pub start: NaiveDate,
    /// The calendar bucket's last day.
    pub end: NaiveDate,
    /// The days of the bucket inside the period.
    pub covered: DateRange,
    /// True when the period cuts the bucket.
    pub partial: bool,
}

/// The calendar buckets of `g` overlapping `range`, oldest first, or an
/// error naming how many there would be when more than `max_buckets`.
pub fn buckets(
    range: DateRange,
    g: Granularity,
    max_buckets: usize,
) -> Result<Vec<Bucket>, Violations> {
    let mut out = Vec::new();
    let mut start = bucket_start(range.start, g);
    while start <= range.end {
        if out.len() >= max_buckets {
            return Err(Violations::one(
                "granularity",
                format!(
                    "the period has more than {max_buckets} buckets; choose a coarser granularity"
                ),
            ));
        }
        let next = next_bucket_start(start, g);
        let end = days_before(next, 1);
        let covered = DateRange::raw(start.max(range.start), end.min(range.end));
        out.push(Bucket {
            start,
            end,
            covered,
            partial: covered.start != start || covered.end != end,
        });
        if next <= start {
            break;
        }
        start = next;
    }
    Ok(out)
}

/// A short label for the bucket starting at `start`: "2026-03-02" (day),
/// "2026-W10" (ISO week), "2026-03" (month), "2026-Q1" (quarter), "2026"
/// (year).
pub fn bucket_label(start: NaiveDate, g: Granularity) -> String {
    match g {
        Granularity::Day => start.format("%Y-%m-%d").to_string(),
        Granularity::Week => {
            let w = start.iso_week();
            format!("{}-W{:02}", w.year(), w.week())
        }
        Granularity::Month => start.format("%Y-%m").to_string(),
        Granularity::Quarter => format!("{}-Q{}", start.year(), (start.month() - 1) / 3 + 1),
        Granularity::Year => start.year().to_string(),
    }
}

/// A report period as sent: explicit dates as (year, month, day) triples, or
/// a preset (`None` inside means an unspecified preset).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeriodDraft {
    /// Neither was set.
    Missing,
    /// `date_range`: start and end triples.
    Dates((i32, i32, i32), (i32, i32, i32)),
    /// `preset`; `None` for PRESET_PERIOD_UNSPECIFIED.
    Preset(Option<Preset>),
}

/// Resolves a period against the tenant's `today`, with violations named by
/// the contract's field paths (relative to the period field).
pub fn resolve_period(draft: PeriodDraft, today: NaiveDate) -> Result<DateRange, Violations> {
    match draft {
        PeriodDraft::Missing => Err(Violations::one("", "a date_range or a preset is required")),
        PeriodDraft::Preset(None) => Err(Violations::one(
            "preset",
            "must not be PRESET_PERIOD_UNSPECIFIED",
        )),
        PeriodDraft::Preset(Some(p)) => Ok(resolve_preset(p, today)),
        PeriodDraft::Dates((y1, m1, d1), (y2, m2, d2)) => {
            let mut v = Violations::new();
            let start = v.take("date_range.start_date", parse_date(y1, m1, d1));
            let end = v.take("date_range.end_date", parse_date(y2, m2, d2));
            match (start, end) {
                (Some(s), Some(e)) => DateRange::new(s, e).map_err(|err| {
                    let mut out = Violations::new();
                    out.extend_prefixed("date_range", err);
                    out
                }),
                _ => Err(v),
            }
        }
    }
}

/// What a period is compared against (see `BaselineKind` in the contract).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Baseline {
    /// The period of the same length just before; a whole calendar month,
    /// quarter or year is compared with the previous whole one.
    PreviousPeriod,
    /// The same dates one year earlier (29 February becomes the 28th).
    SamePeriodLastYear,
}

/// The baseline range of `range`.
pub fn baseline(range: DateRange, kind: Baseline) -> DateRange {
    match kind {
        Baseline::SamePeriodLastYear => {
            let back = |d: NaiveDate| {
                d.checked_sub_months(Months::new(12))
                    .unwrap_or(NaiveDate::MIN)
            };
            DateRange::raw(back(range.start), back(range.end))
        }
        Baseline::PreviousPeriod => {
            for g in [Granularity::Year, Granularity::Quarter, Granularity::Month] {
                if is_whole(range, g) {
                    let end = days_before(range.start, 1);
                    let start = bucket_start(end, g);
                    // Several whole months: step back by as many.
                    let months = match g {
                        Granularity::Year => 12,
                        Granularity::Quarter => 3,
                        _ => 1,
                    };
                    let span = months_between(
                        range.start,
                        next_bucket_start(bucket_start(range.end, g), g),
                    );
                    if span > months {
                        let start = range
                            .start
                            .checked_sub_months(Months::new(span))
                            .unwrap_or(NaiveDate::MIN);
                        return DateRange::raw(start, end);
                    }
                    return DateRange::raw(start, end);
                }
            }
            let n = range.days() as u64;
            DateRange::raw(days_before(range.start, n), days_before(range.start, 1))
        }
    }
}

fn is_whole(range: DateRange, g: Granularity) -> bool {
    bucket_start(range.start, g) == range.start && bucket_end(range.end, g) == range.end
}

fn months_between(a: NaiveDate, b: NaiveDate) -> u32 {
    let m = (b.year() - a.year()) * 12 + b.month() as i32 - a.month() as i32;
    m.max(0) as u32
}

/// Today's date in `tz` for an instant `now_ms` (epoch ms).
pub fn today(now_ms: i64, tz: Tz) -> NaiveDate {
    local_date(now_ms, tz)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap_or(NaiveDate::MIN)
    }

    fn r(a: NaiveDate, b: NaiveDate) -> DateRange {
        DateRange::raw(a, b)
    }

    #[test]
    fn parse_dates_and_ranges() {
        assert_eq!(parse_date(2026, 2, 28), Ok(d(2026, 2, 28)));
        let e = parse_date(2026, 2, 29).unwrap_err();
        assert_eq!(e.as_slice()[0].field, "day");
        let e = parse_date(1969, 13, 0).unwrap_err();
        assert_eq!(e.as_slice().len(), 3);
        assert!(DateRange::new(d(2026, 1, 2), d(2026, 1, 1)).is_err());
        assert!(DateRange::new(d(2016, 1, 1), d(2025, 12, 31)).is_ok());
        assert!(DateRange::new(d(2010, 1, 1), d(2025, 12, 31)).is_err());
        assert_eq!(
            DateRange::new(d(2026, 1, 1), d(2026, 1, 1)).map(|x| x.days()),
            Ok(1)
        );
    }

    #[test]
    fn time_zones() {
        assert_eq!(parse_time_zone(""), Ok(Tz::UTC));
        assert_eq!(parse_time_zone("Europe/Paris"), Ok(Tz::Europe__Paris));
        assert!(parse_time_zone("Mars/Olympus").is_err());
    }

    #[test]
    fn local_dates_follow_the_zone() {
        // 2026-03-01T23:30:00Z is already 2 March in Paris, still 1 March in UTC
        // and in New York.
        let ms = 1_772_407_800_000;
        assert_eq!(local_date(ms, Tz::UTC), d(2026, 3, 1));
        assert_eq!(local_date(ms, Tz::Europe__Paris), d(2026, 3, 2));
        assert_eq!(local_date(ms, Tz::America__New_York), d(2026, 3, 1));
        assert_eq!(local_date(i64::MIN, Tz::UTC), NaiveDate::MIN);
        assert_eq!(local_date(i64::MAX, Tz::UTC), NaiveDate::MAX);
    }

    #[test]
    fn day_starts_in_dst_zones() {
        // Paris, 29 March 2026 (spring forward at 02:00): midnight exists, UTC+1.
        assert_eq!(
            day_start_utc_ms(d(2026, 3, 29), Tz::Europe__Paris),
            1_774_738_800_000
        );
        // A day is 23 hours long that day.
        let next = day_start_utc_ms(d(2026, 3, 30), Tz::Europe__Paris);
        assert_eq!(next - 1_774_738_800_000, 23 * 3_600_000);
        // Santiago skipped midnight on 2022-09-11 (00:00 → 01:00).
        let ms = day_start_utc_ms(d(2022, 9, 11), Tz::America__Santiago);
        assert_eq!(local_date(ms, Tz::America__Santiago), d(2022, 9, 11));
        assert_eq!(local_date(ms - 1, Tz::America__Santiago), d(2022, 9, 10));
    }

    #[test]
    fn bucket_table() {
        let date = d(2026, 8, 19); // a Wednesday
        let table = [
            (Granularity::Day, d(2026, 8, 19), d(2026, 8, 19)),
            (Granularity::Week, d(2026, 8, 17), d(2026, 8, 23)),
            (Granularity::Month, d(2026, 8, 1), d(2026, 8, 31)),
            (Granularity::Quarter, d(2026, 7, 1), d(2026, 9, 30)),
            (Granularity::Year, d(2026, 1, 1), d(2026, 12, 31)),
        ];
        for (g, start, end) in table {
            assert_eq!(bucket_start(date, g), start, "{g:?}");
            assert_eq!(bucket_end(date, g), end, "{g:?}");
        }
        assert_eq!(
            bucket_end(d(2024, 2, 10), Granularity::Month),
            d(2024, 2, 29)
        );
    }

    #[test]
    fn periods_resolve_with_field_paths() {
        let today = d(2026, 5, 13);
        assert_eq!(
            resolve_period(PeriodDraft::Preset(Some(Preset::Yesterday)), today),
            Ok(r(d(2026, 5, 12), d(2026, 5, 12)))
        );
        assert_eq!(
            resolve_period(PeriodDraft::Dates((2026, 1, 1), (2026, 3, 31)), today),
            Ok(r(d(2026, 1, 1), d(2026, 3, 31)))
        );
        let field = |p| {
            resolve_period(p, today).unwrap_err().as_slice()[0]
                .field
                .clone()
        };
        assert_eq!(field(PeriodDraft::Missing), "");
        assert_eq!(field(PeriodDraft::Preset(None)), "preset");
        assert_eq!(
            field(PeriodDraft::Dates((2026, 2, 30), (2026, 3, 1))),
            "date_range.start_date.day"
        );
        assert_eq!(
            field(PeriodDraft::Dates((2026, 3, 2), (2026, 3, 1))),
            "date_range.end_date"
        );
    }

    #[test]
    fn labels() {
        let table = [
            (Granularity::Day, d(2026, 3, 2), "2026-03-02"),
            (Granularity::Week, d(2025, 12, 29), "2026-W01"),
            (Granularity::Month, d(2026, 3, 1), "2026-03"),
            (Granularity::Quarter, d(2026, 7, 1), "2026-Q3"),
            (Granularity::Year, d(2026, 1, 1), "2026"),
        ];
        for (g, start, want) in table {
            assert_eq!(bucket_label(start, g), want);
        }
    }

    #[test]
    fn presets() {
        let today = d(2026, 5, 13); // Wednesday
        let table = [
            (Preset::Today, d(2026, 5, 13), d(2026, 5, 13)),
            (Preset::Yesterday, d(2026, 5, 12), d(2026, 5, 12)),
            (Preset::Last7Days, d(2026, 5, 6), d(2026, 5, 12)),
            (Preset::Last30Days, d(2026, 4, 13), d(2026, 5, 12)),
            (Preset::Last90Days, d(2026, 2, 12), d(2026, 5, 12)),
            (Preset::ThisWeek, d(2026, 5, 11), d(2026, 5, 13)),
            (Preset::LastWeek, d(2026, 5, 4), d(2026, 5, 10)),
            (Preset::ThisMonth, d(2026, 5, 1), d(2026, 5, 13)),
            (Preset::LastMonth, d(2026, 4, 1), d(2026, 4, 30)),
            (Preset::ThisQuarter, d(2026, 4, 1), d(2026, 5, 13)),
            (Preset::LastQuarter, d(2026, 1, 1), d(2026, 3, 31)),
            (Preset::ThisYear, d(2026, 1, 1), d(2026, 5, 13)),
            (Preset::LastYear, d(2025, 1, 1), d(2025, 12, 31)),
            (Preset::Last12Months, d(2025, 5, 1), d(2026, 4, 30)),
        ];
        for (p, start, end) in table {
            assert_eq!(resolve_preset(p, today), r(start, end), "{p:?}");
        }
        assert_eq!(resolve_preset(Preset::Last7Days, today).days(), 7);
        assert_eq!(resolve_preset(Preset::Last90Days, today).days(), 90);
    }

    #[test]
    fn weekly_buckets_of_a_month() {
        let b =
            buckets(r(d(2026, 6, 1), d(2026, 6, 30)), Granularity::Week, 100).unwrap_or_default();
        assert_eq!(b.len(), 5);
        assert_eq!(b[0].start, d(2026, 6, 1));
        assert!(!b[0].partial);
        assert_eq!(b[4].start, d(2026, 6, 29));
        assert_eq!(b[4].covered, r(d(2026, 6, 29), d(2026, 6, 30)));
        assert!(b[4].partial);
        assert!(buckets(r(d(2020, 1, 1), d(2026, 1, 1)), Granularity::Day, 400).is_err());
        let years =
            buckets(r(d(2017, 3, 1), d(2026, 2, 1)), Granularity::Year, 400).unwrap_or_default();
        assert_eq!(years.len(), 10);
    }

    #[test]
    fn baselines() {
        let table = [
            // A calendar month against the previous month (lengths differ).
            (
                r(d(2026, 3, 1), d(2026, 3, 31)),
                Baseline::PreviousPeriod,
                r(d(2026, 2, 1), d(2026, 2, 28)),
            ),
            // A quarter against the previous quarter.
            (
                r(d(2026, 4, 1), d(2026, 6, 30)),
                Baseline::PreviousPeriod,
                r(d(2026, 1, 1), d(2026, 3, 31)),
            ),
            // A year against the previous year.
            (
                r(d(2026, 1, 1), d(2026, 12, 31)),
                Baseline::PreviousPeriod,
                r(d(2025, 1, 1), d(2025, 12, 31)),
            ),
            // Two whole months against the two before.
            (
                r(d(2026, 3, 1), d(2026, 4, 30)),
                Baseline::PreviousPeriod,
                r(d(2026, 1, 1), d(2026, 2, 28)),
            ),
            // Any other range: the same number of days before.
            (
                r(d(2026, 3, 10), d(2026, 3, 16)),
                Baseline::PreviousPeriod,
                r(d(2026, 3, 3), d(2026, 3, 9)),
            ),
            // Same dates last year; 29 February becomes the 28th.
            (
                r(d(2024, 2, 1), d(2024, 2, 29)),
                Baseline::SamePeriodLastYear,
                r(d(2023, 2, 1), d(2023, 2, 28)),
            ),
        ];
        for (range, kind, want) in table {
            assert_eq!(baseline(range, kind), want, "{range:?} {kind:?}");
        }
    }

    proptest! {
        #[test]
        fn buckets_tile_the_range(start in 0i64..20_000, len in 1i64..800, g in 0usize..5) {
            let g = [Granularity::Day, Granularity::Week, Granularity::Month, Granularity::Quarter, Granularity::Year][g];
            let a = days_after(d(1970, 1, 1), start as u64);
            let range = r(a, days_after(a, (len - 1) as u64));
            let b = buckets(range, g, 10_000).unwrap_or_default();
            prop_assert!(!b.is_empty());
            prop_assert_eq!(b[0].covered.start(), range.start());
            prop_assert_eq!(b[b.len() - 1].covered.end(), range.end());
            let total: i64 = b.iter().map(|x| x.covered.days()).sum();
            prop_assert_eq!(total, range.days());
            for w in b.windows(2) {
                prop_assert_eq!(days_after(w[0].end, 1), w[1].start);
            }
        }

        #[test]
        fn local_date_is_within_a_day_of_utc(ms in 0i64..4_102_444_800_000, zone in 0usize..4) {
            let tz = [Tz::UTC, Tz::Europe__Paris, Tz::Pacific__Kiritimati, Tz::Pacific__Pago_Pago][zone];
            let utc = local_date(ms, Tz::UTC);
            let local = local_date(ms, tz);
            prop_assert!((local - utc).num_days().abs() <= 1);
            // The day containing the instant starts at or before it.
            prop_assert!(day_start_utc_ms(local, tz) <= ms);
            prop_assert!(day_start_utc_ms(days_after(local, 1), tz) > ms);
        }
    }
}
