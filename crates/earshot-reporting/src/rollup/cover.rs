//! Covering a report period with the fewest stored cells.
//!
//! Cells are kept per day and per month (and optionally per year). A period
//! is split greedily into the coarsest whole grains it contains: a 90-day
//! period from 15 January to 14 April reads 17 day cells, 2 month cells and
//! 14 day cells per key, 33 instead of 90; a year reads 12 month cells (or 1
//! year cell). Reading a year therefore costs about what a quarter costs,
//! which is what keeps report time flat as history grows.

use chrono::NaiveDate;

use super::keys::Grain;
use crate::calendar::{DateRange, next_bucket_start};

/// One stored cell date to read: the cells of `grain` dated `start`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Piece {
    /// The grain of the cells.
    pub grain: Grain,
    /// Their date (first day of the grain).
    pub start: NaiveDate,
}

/// The minimal list of pieces whose grains exactly tile `range`, using only
/// the `available` grains (`Grain::Day` is always used, available or not,
/// since any range can be tiled by days). Oldest first.
pub fn cover(range: DateRange, available: &[Grain]) -> Vec<Piece> {
    let mut coarse: Vec<Grain> = available
        .iter()
        .copied()
        .filter(|g| *g != Grain::Day)
        .collect();
    coarse.sort();
    coarse.dedup();
    coarse.reverse(); // coarsest first
    let mut out = Vec::new();
    let mut date = range.start();
    while date <= range.end() {
        let mut chosen = Grain::Day;
        for g in &coarse {
            let next = next_bucket_start(date, g.granularity());
            if g.start_of(date) == date && next > date && prev_day(next) <= range.end() {
                chosen = *g;
                break;
            }
        }
        out.push(Piece {
            grain: chosen,
            start: date,
        });
        let next = next_bucket_start(date, chosen.granularity());
        if next <= date {
            break;
        }
        date = next;
    }
    out
}

fn prev_day(d: NaiveDate) -> NaiveDate {
    d.pred_opt().unwrap_or(d)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calendar::bucket_end;
    use proptest::prelude::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap_or(NaiveDate::MIN)
    }

    fn range(a: NaiveDate, b: NaiveDate) -> DateRange {
        DateRange::new(a, b)
            .unwrap_or_else(|_| DateRange::new(a, a).unwrap_or_else(|_| unreachable!()))
    }

    #[test]
    fn ninety_days_read_33_cells_per_key() {
        let p = cover(
            range(d(2026, 1, 15), d(2026, 4, 14)),
            &[Grain::Day, Grain::Month],
        );
        assert_eq!(p.len(), 33);
        assert_eq!(p.iter().filter(|x| x.grain == Grain::Month).count(), 2);
    }

    #[test]
    fn a_year_is_twelve_months_or_one_year() {
        let r = range(d(2025, 1, 1), d(2025, 12, 31));
        assert_eq!(cover(r, &[Grain::Month]).len(), 12);
        assert_eq!(
            cover(r, &[Grain::Month, Grain::Year]),
            vec![Piece {
                grain: Grain::Year,
                start: d(2025, 1, 1)
            }]
        );
        assert_eq!(cover(r, &[]).len(), 365);
    }

    #[test]
    fn flat_cost_from_one_to_twelve_months() {
        // Any period reads at most 62 day cells (two partial months) plus its
        // whole months: a year-long report costs < 2x a month-long one.
        let month = cover(range(d(2025, 3, 10), d(2025, 4, 9)), &[Grain::Month]).len();
        let year = cover(range(d(2025, 3, 10), d(2026, 3, 9)), &[Grain::Month]).len();
        assert!(year <= 2 * month, "month {month}, year {year}");
    }

    proptest! {
        #[test]
        fn pieces_tile_the_range_exactly(start in 0u64..20_000, len in 1u64..1500, years in any::<bool>()) {
            let a = d(1970, 1, 1) + chrono::Days::new(start);
            let r = range(a, a + chrono::Days::new(len - 1));
            let grains: &[Grain] = if years { &[Grain::Month, Grain::Year] } else { &[Grain::Month] };
            let pieces = cover(r, grains);
            let mut expected = r.start();
            for p in &pieces {
                prop_assert_eq!(p.start, expected);
                prop_assert_eq!(p.grain.start_of(p.start), p.start);
                let end = bucket_end(p.start, p.grain.granularity());
                prop_assert!(end <= r.end());
                expected = end + chrono::Days::new(1);
            }
            prop_assert_eq!(expected, r.end() + chrono::Days::new(1));
            // Never more day pieces than two partial months.
            prop_assert!(pieces.iter().filter(|p| p.grain == Grain::Day).count() <= 62);
        }
    }
}
