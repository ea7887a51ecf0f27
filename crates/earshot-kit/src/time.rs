//! Time at the edge: protobuf timestamps to and from epoch milliseconds,
//! the one representation stores use on both engines.

use prost_types::Timestamp;

use crate::error::{Error, Result};

/// Now, in epoch milliseconds UTC.
pub fn now_millis() -> i64 {
    chrono::Utc::now().timestamp_millis()
}

/// A protobuf timestamp as epoch milliseconds; `field` names it in errors.
/// Years 1 to 9999 only, as the protobuf spec requires.
pub fn to_millis(ts: &Timestamp, field: &str) -> Result<i64> {
    const MIN_SECONDS: i64 = -62_135_596_800; // 0001-01-01T00:00:00Z
    const MAX_SECONDS: i64 = 253_402_300_799; // 9999-12-31T23:59:59Z
    if !(MIN_SECONDS..=MAX_SECONDS).contains(&ts.seconds) {
        return Err(Error::invalid(field, "is outside years 1 to 9999"));
    }
    if !(0..1_000_000_000).contains(&ts.nanos) {
        return Err(Error::invalid(field, "has nanos outside 0..1e9"));
    }
    Ok(ts.seconds * 1000 + i64::from(ts.nanos / 1_000_000))
}

/// A required timestamp field as epoch milliseconds.
pub fn required_millis(ts: Option<&Timestamp>, field: &str) -> Result<i64> {
    match ts {
        Some(t) => to_millis(t, field),
        None => Err(Error::invalid(field, "is required")),
    }
}

/// An optional timestamp field as epoch milliseconds.
pub fn optional_millis(ts: Option<&Timestamp>, field: &str) -> Result<Option<i64>> {
    ts.map(|t| to_millis(t, field)).transpose()
}

/// Epoch milliseconds as a protobuf timestamp.
pub fn from_millis(ms: i64) -> Timestamp {
    Timestamp {
        seconds: ms.div_euclid(1000),
        nanos: i32::try_from(ms.rem_euclid(1000) * 1_000_000).unwrap_or(0),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn bounds() {
        assert!(
            to_millis(
                &Timestamp {
                    seconds: i64::MAX,
                    nanos: 0
                },
                "t"
            )
            .is_err()
        );
        assert!(
            to_millis(
                &Timestamp {
                    seconds: 0,
                    nanos: -1
                },
                "t"
            )
            .is_err()
        );
        assert_eq!(
            required_millis(None, "t").unwrap_err().to_string(),
            "invalid request: t: is required"
        );
    }

    proptest! {
        #[test]
        fn round_trip(ms in -62_135_596_800_000i64..253_402_300_799_000i64) {
            prop_assert_eq!(to_millis(&from_millis(ms), "t").unwrap(), ms);
        }
    }
}
