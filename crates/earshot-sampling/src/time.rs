//! Time units. The core counts time in epoch milliseconds UTC (`i64`), the
//! form storage keeps, and converts to local time only in [`crate::calendar`].

/// One second in milliseconds.
pub const SECOND_MS: i64 = 1_000;
/// One minute in milliseconds.
pub const MINUTE_MS: i64 = 60 * SECOND_MS;
/// One hour in milliseconds.
pub const HOUR_MS: i64 = 60 * MINUTE_MS;
/// One day (24 hours) in milliseconds.
pub const DAY_MS: i64 = 24 * HOUR_MS;
/// One week (7 × 24 hours) in milliseconds.
pub const WEEK_MS: i64 = 7 * DAY_MS;
/// 2000-01-01T00:00:00Z: no interaction time is earlier.
pub const MIN_TIME_MS: i64 = 946_684_800_000;
