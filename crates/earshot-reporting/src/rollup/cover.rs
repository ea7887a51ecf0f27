//! Covering a report period with the fewest stored cells.
//!
//! Cells are kept per day, per month-aligned ten-day (1–10, 11–20, 21–end)
//! and per month (and optionally per year). A period is split greedily into
//! the coarsest whole grains it contains: a 90-day period from 15 January to
//! 14 April reads 6 day cells (15–20 January), 1 ten-day cell (21–31
//! January), 2 month cells, 1 ten-day cell (1–10 April) and 4 day cells per
//! key, 14 instead of 90; a year reads 12 month cells (or 1 year cell).
//! Any period reads at most 20 day and 4 ten-day cells per key besides its
//! whole months, so reading a year costs about what a quarter costs, which is
//! what keeps report time flat as history grows.

use chrono::NaiveDate;

use super::keys::Grain;
use crate::calendar::DateRange;

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
            if g.start_of(date) == date && g.end_of(date) <= range.end() {
                chosen = *g;
                break;
            }
        }
        out.push(Piece {
            grain: chosen,
            start: date,
        });
        let next = chosen.next_start(date);
        if next <= date || next == NaiveDate::MAX {
            break;
        }
        date = next;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap_or(NaiveDate::MIN)
    }

    fn range(a: NaiveDate, b: NaiveDate) -> DateRange {
        DateRange::new(a, b)
            .unwrap_or_else(|_| DateRange::new(a, a).unwrap_or_else(|_| unreachable!()))
    }

    const STORED: [Grain; 3] = [Grain::Day, Grain::TenDay, Grain::Month];

    #[test]
    fn ninety_days_read_14_cells_per_key() {
        let r = range(d(2026, 1, 15), d(2026, 4, 14));
        let p = cover(r, &STORED);
        let count = |g: Grain| p.iter().filter(|x| x.grain == g).count();
        assert_eq!((count(Grain::Day), count(Grain::TenDay)), (10, 2));
        assert_eq!(count(Grain::Month), 2);
        assert_eq!(
            p[6],
            Piece {
                grain: Grain::TenDay,
                start: d(2026, 1, 21)
            }
        );
        // Without the ten-day grain: 17 + 2 + 14.
        assert_eq!(cover(r, &[Grain::Day, Grain::Month]).len(), 33);
    }

    #[test]
    fn ten_days_are_month_aligned() {
        let t = Grain::TenDay;
        assert_eq!(t.start_of(d(2025, 2, 28)), d(2025, 2, 21));
        assert_eq!(t.end_of(d(2025, 2, 21)), d(2025, 2, 28));
        assert_eq!(t.end_of(d(2024, 2, 21)), d(2024, 2, 29));
        assert_eq!(t.end_of(d(2025, 1, 31)), d(2025, 1, 31));
        assert_eq!(t.start_of(d(2025, 1, 31)), d(2025, 1, 21));
        assert_eq!(t.start_of(d(2025, 1, 20)), d(2025, 1, 11));
        assert_eq!(t.next_start(d(2025, 1, 10)), d(2025, 1, 11));
        assert_eq!(t.next_start(d(2025, 12, 25)), d(2026, 1, 1));
        assert_eq!(Grain::Month.end_of(d(2025, 12, 3)), d(2025, 12, 31));
        assert_eq!(Grain::Year.start_of(d(2025, 12, 3)), d(2025, 1, 1));
        assert_eq!(Grain::Day.end_of(d(2025, 12, 3)), d(2025, 12, 3));
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
        assert_eq!(cover(r, &[Grain::TenDay]).len(), 36);
    }

    #[test]
    fn flat_cost_from_one_to_twelve_months() {
        // Any period reads at most 24 pieces besides its whole months: a
        // year-long report costs < 2x a month-long one.
        let month = cover(range(d(2025, 3, 10), d(2025, 4, 9)), &STORED).len();
        let year = cover(range(d(2025, 3, 10), d(2026, 3, 9)), &STORED).len();
        assert!(year <= 2 * month, "month {month}, year {year}");
    }

    #[test]
    fn ranges_at_the_calendar_edges_end() {
        let end = NaiveDate::MAX;
        let r = range(end - chrono::Days::new(40), end);
        let p = cover(r, &STORED);
        assert!(!p.is_empty());
        assert!(p.len() <= 41);
    }

    proptest! {
        /// Every day of a random period is covered by exactly one piece,
        /// each piece is a whole stored grain inside the period, and a
        /// piece is only a day or ten-day where no coarser grain fits.
        #[test]
        fn pieces_tile_the_range_exactly(
            start in 0u64..20_000,
            len in 1u64..1500,
            set in 0usize..4,
        ) {
            let a = d(1970, 1, 1) + chrono::Days::new(start);
            let r = range(a, a + chrono::Days::new(len - 1));
            let grains: &[Grain] = match set {
                0 => &[Grain::Month],
                1 => &[Grain::Month, Grain::Year],
                2 => &[Grain::TenDay, Grain::Month],
                _ => &[Grain::TenDay, Grain::Month, Grain::Year],
            };
            let pieces = cover(r, grains);
            let mut covered = std::collections::BTreeMap::new();
            for p in &pieces {
                prop_assert!(p.grain == Grain::Day || grains.contains(&p.grain));
                prop_assert_eq!(p.grain.start_of(p.start), p.start);
                let end = p.grain.end_of(p.start);
                prop_assert!(r.start() <= p.start && end <= r.end());
                let mut day = p.start;
                while day <= end {
                    *covered.entry(day).or_insert(0) += 1;
                    day = day + chrono::Days::new(1);
                }
            }
            prop_assert_eq!(covered.len() as i64, r.days());
            prop_assert!(covered.values().all(|n| *n == 1));
            // Oldest first, no gaps.
            for w in pieces.windows(2) {
                prop_assert_eq!(w[0].grain.next_start(w[0].start), w[1].start);
            }
            let days = pieces.iter().filter(|p| p.grain == Grain::Day).count();
            let tens = pieces.iter().filter(|p| p.grain == Grain::TenDay).count();
            if grains.contains(&Grain::TenDay) {
                prop_assert!(days <= 20 && tens <= 4, "{} days, {} ten-days", days, tens);
            } else {
                prop_assert!(days <= 62);
            }
        }
    }
}
