//! Covering a report period with the fewest stored cells.
//!
//! Cells are kept per day, per month-aligned ten-day (1–10, 11–20, 21–end),
//! per month and per quarter (and optionally per year). [`cover`] splits a
//! period greedily into the coarsest whole grains it contains: with days,
//! ten-days and months, a 90-day period from 15 January to 14 April reads 6
//! day cells (15–20 January), 1 ten-day cell (21–31 January), 2 month
//! cells, 1 ten-day cell (1–10 April) and 4 day cells per key, 14 instead of
//! 90. Any period reads at most 20 day and 4 ten-day cells per key besides
//! its whole months, so reading a year costs about what a quarter costs,
//! which is what keeps report time flat as history grows. Trends read this
//! cover (each cell dated inside its bucket).
//!
//! [`signed_cover`] also subtracts: a partial grain is the whole cell minus
//! its parts outside the period when that reads fewer cells with data.
//! Grouped reports read it.

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
    let coarse = coarsest_first(available);
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

/// The available grains other than days, coarsest first.
fn coarsest_first(available: &[Grain]) -> Vec<Grain> {
    let mut coarse: Vec<Grain> = available
        .iter()
        .copied()
        .filter(|g| *g != Grain::Day)
        .collect();
    coarse.sort();
    coarse.dedup();
    coarse.reverse();
    coarse
}

/// A piece read with a sign: its cells are added, or subtracted when
/// `negative`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Signed {
    /// The cells to read.
    pub piece: Piece,
    /// Subtract them instead of adding them.
    pub negative: bool,
}

/// Pieces whose signed sum is exactly `range`, reading as few pieces with
/// data as the `available` grains allow: a partial coarse grain is read
/// either as its parts inside the range or as the whole grain minus its
/// parts outside it, whichever reads fewer. Cells are integer counters, so
/// the difference is exact; the caller must read every piece in one
/// snapshot, or a concurrent write could land between a whole and a part.
///
/// `data` (the first and last day with any cell, when known) only prices
/// the choice: a piece outside it holds no cells and costs nothing, so a
/// report ending today reads the month or quarter so far as one cell (minus
/// its days still to come). Every piece is returned whatever its price, so
/// a stale `data` can cost rows but never change a figure.
///
/// From 3 October to 31 December, with days, ten-days and months, this
/// reads October minus 1 and 2 October, November and December: 5 pieces
/// per key instead of 12; with quarters too, the fourth quarter minus the
/// two days: 3.
pub fn signed_cover(range: DateRange, available: &[Grain], data: Option<DateRange>) -> Vec<Signed> {
    let mut grains = coarsest_first(available);
    grains.push(Grain::Day);
    let price = |p: &Piece| match data {
        Some(d) => usize::from(p.start <= d.end() && p.grain.end_of(p.start) >= d.start()),
        None => 1,
    };
    let mut out = Vec::new();
    tile(range.start(), range.end(), &grains, &price, false, &mut out);
    out
}

/// Covers `lo..=hi` with `grains[0]` and finer, appending to `out` with
/// `negative` applied; returns the price of what it appended.
fn tile(
    lo: NaiveDate,
    hi: NaiveDate,
    grains: &[Grain],
    price: &dyn Fn(&Piece) -> usize,
    negative: bool,
    out: &mut Vec<Signed>,
) -> usize {
    let Some((&grain, finer)) = grains.split_first() else {
        return 0;
    };
    let mut cost = 0;
    let mut date = lo;
    loop {
        let start = grain.start_of(date);
        let end = grain.end_of(date);
        let part_end = end.min(hi);
        let whole = Piece { grain, start };
        if (start == date && end <= hi) || finer.is_empty() {
            cost += price(&whole);
            out.push(Signed {
                piece: whole,
                negative,
            });
        } else {
            // The part inside, or the whole minus the parts outside it.
            let mut inside = Vec::new();
            let inside_cost = tile(date, part_end, finer, price, negative, &mut inside);
            let mut outside = vec![Signed {
                piece: whole,
                negative,
            }];
            let mut outside_cost = price(&whole);
            if let Some(before) = date.pred_opt().filter(|_| start < date) {
                outside_cost += tile(start, before, finer, price, !negative, &mut outside);
            }
            if let Some(after) = part_end.succ_opt().filter(|_| part_end < end) {
                outside_cost += tile(after, end, finer, price, !negative, &mut outside);
            }
            if outside_cost < inside_cost {
                cost += outside_cost;
                out.append(&mut outside);
            } else {
                cost += inside_cost;
                out.append(&mut inside);
            }
        }
        match part_end.succ_opt() {
            Some(next) if part_end < hi => date = next,
            _ => break,
        }
    }
    cost
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
    fn quarters_are_calendar_quarters() {
        let q = Grain::Quarter;
        assert_eq!(q.start_of(d(2025, 12, 31)), d(2025, 10, 1));
        assert_eq!(q.end_of(d(2025, 2, 3)), d(2025, 3, 31));
        assert_eq!(q.next_start(d(2025, 11, 5)), d(2026, 1, 1));
        // A quarter-aligned 90 days: one cell; the third of October on:
        // the quarter minus two days.
        let all = [Grain::TenDay, Grain::Month, Grain::Quarter];
        assert_eq!(cover(range(d(2025, 10, 1), d(2025, 12, 31)), &all).len(), 1);
        assert_eq!(
            signed_cover(range(d(2025, 10, 3), d(2025, 12, 31)), &all, None).len(),
            3
        );
        assert_eq!(cover(range(d(2025, 1, 1), d(2025, 12, 31)), &all).len(), 4);
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
        let s = signed_cover(r, &STORED, None);
        assert!(!s.is_empty() && s.len() <= 41);
        let first = range(NaiveDate::MIN, NaiveDate::MIN + chrono::Days::new(40));
        assert!(!signed_cover(first, &STORED, None).is_empty());
    }

    fn summary(cover: &[Signed]) -> Vec<(Grain, NaiveDate, bool)> {
        let mut v: Vec<_> = cover
            .iter()
            .map(|s| (s.piece.grain, s.piece.start, s.negative))
            .collect();
        v.sort();
        v
    }

    #[test]
    fn a_quarter_from_the_3rd_is_a_month_minus_two_days() {
        let r = range(d(2025, 10, 3), d(2025, 12, 31));
        assert_eq!(
            summary(&signed_cover(r, &STORED, None)),
            vec![
                (Grain::Day, d(2025, 10, 1), true),
                (Grain::Day, d(2025, 10, 2), true),
                (Grain::Month, d(2025, 10, 1), false),
                (Grain::Month, d(2025, 11, 1), false),
                (Grain::Month, d(2025, 12, 1), false),
            ]
        );
        // The positive cover reads 8 days and 2 ten-days for October.
        assert_eq!(cover(r, &STORED).len(), 12);
    }

    #[test]
    fn a_period_ending_on_the_last_day_with_data_reads_its_month_whole() {
        // Data up to 14 April: the days after it are priced at nothing, so
        // April is its month cell minus days that hold no cells yet.
        let r = range(d(2026, 1, 15), d(2026, 4, 14));
        let data = range(d(2024, 1, 1), d(2026, 4, 14));
        let c = signed_cover(r, &STORED, Some(data));
        let positive: Vec<_> = c.iter().filter(|s| !s.negative).map(|s| s.piece).collect();
        assert!(positive.contains(&Piece {
            grain: Grain::Month,
            start: d(2026, 4, 1)
        }));
        let priced = c.iter().filter(|s| s.piece.start <= data.end()).count();
        // January: ten-day 11-20 minus 11-14, ten-day 21-31; February;
        // March; April.
        assert_eq!(priced, 9, "{:?}", summary(&c));
        // Without knowing where the data ends: 10 days' worth less.
        assert!(signed_cover(r, &STORED, None).len() < cover(r, &STORED).len());
    }

    proptest! {
        /// The signed pieces of a random period add up to exactly that
        /// period: every day inside counted once, every day outside netted
        /// to zero; no piece appears twice; and no more pieces with data
        /// are read than the positive cover reads.
        #[test]
        fn signed_pieces_sum_to_the_range(
            start in 0u64..20_000,
            len in 1u64..1500,
            data_from in 0u64..20_000,
            data_len in 0u64..2000,
            known in any::<bool>(),
            set in 0usize..5,
        ) {
            let a = d(1970, 1, 1) + chrono::Days::new(start);
            let r = range(a, a + chrono::Days::new(len - 1));
            let b = d(1970, 1, 1) + chrono::Days::new(data_from);
            let data = known.then(|| range(b, b + chrono::Days::new(data_len)));
            let grains: &[Grain] = match set {
                0 => &[Grain::Month],
                1 => &[Grain::Month, Grain::Year],
                2 => &[Grain::TenDay, Grain::Month],
                3 => &[Grain::TenDay, Grain::Month, Grain::Quarter],
                _ => &[Grain::TenDay, Grain::Month, Grain::Quarter, Grain::Year],
            };
            let signed = signed_cover(r, grains, data);
            let mut net = std::collections::BTreeMap::new();
            let mut seen = std::collections::HashSet::new();
            for s in &signed {
                let p = s.piece;
                prop_assert!(seen.insert((p.grain, p.start)), "{:?} twice", p);
                prop_assert!(p.grain == Grain::Day || grains.contains(&p.grain));
                prop_assert_eq!(p.grain.start_of(p.start), p.start);
                let end = p.grain.end_of(p.start);
                let mut day = p.start;
                while day <= end {
                    *net.entry(day).or_insert(0i32) += if s.negative { -1 } else { 1 };
                    day = day + chrono::Days::new(1);
                }
            }
            for (day, n) in &net {
                let inside = r.start() <= *day && *day <= r.end();
                prop_assert_eq!(*n, i32::from(inside), "{}", day);
            }
            prop_assert_eq!(net.values().filter(|n| **n == 1).count() as i64, r.days());
            let priced = |p: &Piece| match data {
                Some(d) => p.start <= d.end() && p.grain.end_of(p.start) >= d.start(),
                None => true,
            };
            let signed_priced = signed.iter().filter(|s| priced(&s.piece)).count();
            let plain_priced = cover(r, grains).iter().filter(|p| priced(p)).count();
            prop_assert!(signed_priced <= plain_priced, "{} > {}", signed_priced, plain_priced);
        }

        /// Every day of a random period is covered by exactly one piece,
        /// each piece is a whole stored grain inside the period, and a
        /// piece is only a day or ten-day where no coarser grain fits.
        #[test]
        fn pieces_tile_the_range_exactly(
            start in 0u64..20_000,
            len in 1u64..1500,
            set in 0usize..5,
        ) {
            let a = d(1970, 1, 1) + chrono::Days::new(start);
            let r = range(a, a + chrono::Days::new(len - 1));
            let grains: &[Grain] = match set {
                0 => &[Grain::Month],
                1 => &[Grain::Month, Grain::Year],
                2 => &[Grain::TenDay, Grain::Month],
                3 => &[Grain::TenDay, Grain::Month, Grain::Quarter],
                _ => &[Grain::TenDay, Grain::Month, Grain::Quarter, Grain::Year],
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
