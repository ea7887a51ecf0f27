//! The statistics straight from a dense units x raters matrix of `f64`
//! (row-major, NaN = missing): the shape a NumPy caller, a CSV file or a
//! bulk ComputeAgreement request has, and what the reference implementations
//! take. Nothing is built cell by cell: one pass over the cells gives what the
//! statistic needs, then the same finishing code as the
//! [`RatingsMatrix`](super::RatingsMatrix) path runs.
//!
//! * **Small integer ratings** (every present value an integer in
//!   [`MIN_SMALL`]..=[`MAX_SMALL`], the usual yes/no, 1-5 or 0-10 answers):
//!   one pass counts each unit's ratings per value by direct indexing -- the
//!   top 16 bits of a small integer's double name it, so a table lookup gives
//!   its counter, with no conversion, hashing or sorting -- in four counter
//!   banks so repeated values do not form one dependency chain, keeping the
//!   per-unit counts of the values actually used. Nominal, ordinal and ratio
//!   alpha, Fleiss' kappa, Gwet's AC1 and percent agreement all finish from
//!   those counts; [`NominalSuite`] shares one pass between alpha, Fleiss,
//!   AC1 and percent agreement.
//! * **Interval level, any finite ratings** (evaluation totals, and small
//!   integers too, where it is cheaper than counting): per unit
//!   n, the sum and the sum of squares about the unit mean (two sweeps over a
//!   row in cache); no sort, no value coding.
//! * **ICC**: the complete rows are copied out once (centred) and the
//!   two-way ANOVA runs on them.
//! * Anything else (ratio or nominal over continuous values, infinite
//!   ratings) takes the general path through `RatingsMatrix` and answers the
//!   same as it.
//!
//! Every function agrees with its `RatingsMatrix` twin to rounding
//! (`dense_and_matrix_paths_agree`, and the reference fixtures in
//! `tests/reference_fixtures.rs`).

use super::categories::{NominalPass, SmallCounts};
use super::fleiss::fleiss_from;
use super::gwet::ac1_from;
use super::icc::{Icc, icc_all_of, mean_squares_of};
use super::krippendorff::{
    AlphaResult, alpha_from, finish_interval, interval_small, nominal_of, ordinal_small,
    ratio_small,
};
use super::percent::percent_from;
use super::{Agreement, Level, RatingsMatrix};
use crate::validation::Violations;

/// Smallest value the small-integer pass indexes directly.
pub const MIN_SMALL: i32 = -15;
/// Largest value the small-integer pass indexes directly.
pub const MAX_SMALL: i32 = 14;
/// Counter slots: 0 holds missing cells, v - MIN_SMALL + 1 holds value v,
/// and the last one anything else (which sends the matrix down the general
/// path).
const SLOTS: usize = (MAX_SMALL - MIN_SMALL + 3) as usize;
const UNUSABLE: u8 = (SLOTS - 1) as u8;
const BANKS: usize = 4;
const _: () = assert!(SLOTS.is_power_of_two());

/// A dense, row-major units x raters matrix; NaN is a missing rating.
#[derive(Debug, Clone, Copy)]
pub struct Dense<'a> {
    units: usize,
    raters: usize,
    cells: &'a [f64],
}

impl<'a> Dense<'a> {
    /// Wraps `cells` (`units * raters` of them, unit by unit).
    pub fn new(units: usize, raters: usize, cells: &'a [f64]) -> Result<Self, Violations> {
        let mut v = Violations::new();
        if raters == 0 {
            v.push("ratings.rater_ids", "at least one rater is required");
        }
        if units == 0 {
            v.push("ratings.units", "at least one unit is required");
        }
        if u32::try_from(raters).is_err() || cells.len() != units.saturating_mul(raters) {
            v.push(
                "ratings",
                format!("expected {units} x {raters} cells, got {}", cells.len()),
            );
        }
        v.into_result(Dense {
            units,
            raters,
            cells,
        })
    }

    /// The general form (validates every cell: NaN is missing, an infinite
    /// rating is a violation).
    pub fn to_matrix(&self) -> Result<RatingsMatrix, Violations> {
        let rows: Vec<Vec<Option<f64>>> = self
            .rows()
            .map(|r| r.iter().map(|&x| (!x.is_nan()).then_some(x)).collect())
            .collect();
        RatingsMatrix::from_rows(self.raters, &rows)
    }

    fn rows(&self) -> impl Iterator<Item = &'a [f64]> + 'a {
        self.cells.chunks_exact(self.raters.max(1))
    }
}

/// Which raters rated anything, and which rated in a unit with two or more
/// ratings; stops looking once every rater is seen both ways.
struct RaterMarks {
    any: Vec<bool>,
    pairable: Vec<bool>,
    any_count: usize,
    pairable_count: usize,
}

impl RaterMarks {
    fn new(raters: usize) -> Self {
        RaterMarks {
            any: vec![false; raters],
            pairable: vec![false; raters],
            any_count: 0,
            pairable_count: 0,
        }
    }

    fn done(&self) -> bool {
        self.pairable_count == self.pairable.len()
    }

    fn mark(&mut self, row: &[f64], present: u32) {
        if self.done() || present == 0 {
            return;
        }
        for (r, &x) in row.iter().enumerate() {
            if x.is_nan() {
                continue;
            }
            if let Some(a) = self.any.get_mut(r)
                && !*a
            {
                *a = true;
                self.any_count += 1;
            }
            if present >= 2
                && let Some(p) = self.pairable.get_mut(r)
                && !*p
            {
                *p = true;
                self.pairable_count += 1;
            }
        }
    }
}

/// Per-unit counts of small-integer ratings, from one pass.
pub struct CountsPass {
    counts: SmallCounts,
    /// The values used, ascending (code k is `values[k]`).
    values: Vec<f64>,
    raters_any: usize,
    raters_pairable: usize,
    pairable_units: usize,
}

impl CountsPass {
    /// Counts `d`, or `None` when some present rating is not an integer in
    /// [`MIN_SMALL`]..=[`MAX_SMALL`] (or is infinite).
    pub fn new(d: &Dense<'_>) -> Option<CountsPass> {
        let raters = d.raters;
        let cells_fit = u32::try_from(d.cells.len()).is_ok();
        if raters == 0 || raters > usize::from(u16::MAX) || !cells_fit {
            return None;
        }
        // One sweep per row: the top 16 bits of a small integer's double
        // name it (its low 48 bits are zero), so a table lookup gives the
        // counter slot; four counter banks keep repeated values from forming
        // one dependency chain.
        let table = slot_table();
        let mut banks = [[0u16; SLOTS]; BANKS];
        // Per-unit counts over every slot, then compacted to the used ones.
        let mut wide: Vec<u16> = Vec::with_capacity(d.units * (SLOTS - 2));
        let mut totals: Vec<u32> = Vec::with_capacity(d.units);
        let mut used = [0u32; SLOTS];
        let mut marks = RaterMarks::new(raters);
        let mut pairable_units = 0usize;
        let slot = |x: f64| usize::from(table[(x.to_bits() >> 48) as usize]) & (SLOTS - 1);
        for row in d.rows() {
            banks.fill([0u16; SLOTS]);
            let [b0, b1, b2, b3] = &mut banks;
            let mut low = 0u64;
            let mut chunks = row.chunks_exact(BANKS);
            for c in &mut chunks {
                b0[slot(c[0])] += 1;
                b1[slot(c[1])] += 1;
                b2[slot(c[2])] += 1;
                b3[slot(c[3])] += 1;
                low |= (c[0].to_bits() | c[1].to_bits() | c[2].to_bits() | c[3].to_bits()) << 16;
            }
            for &x in chunks.remainder() {
                b0[slot(x)] += 1;
                low |= x.to_bits() << 16;
            }
            let mut combined = [0u16; SLOTS];
            for (s, slot) in combined.iter_mut().enumerate() {
                *slot = b0[s] + b1[s] + b2[s] + b3[s];
            }
            if low != 0 || combined[SLOTS - 1] != 0 {
                return None;
            }
            for (u, &n) in used.iter_mut().zip(&combined) {
                *u += u32::from(n);
            }
            wide.extend_from_slice(&combined[1..SLOTS - 1]);
            // Slot 0 counts the missing cells.
            let present = u32::from(raters as u16 - combined[0]);
            if present >= 2 {
                pairable_units += 1;
            }
            marks.mark(row, present);
            totals.push(present);
        }
        let slots: Vec<usize> = (1..SLOTS - 1).filter(|&s| used[s] > 0).collect();
        let q = slots.len();
        let mut counts = Vec::with_capacity(d.units * q);
        for unit in wide.chunks_exact(SLOTS - 2) {
            counts.extend(slots.iter().map(|&s| u32::from(unit[s - 1])));
        }
        let values = slots
            .iter()
            .map(|&s| f64::from(s as i32 - 1 + MIN_SMALL))
            .collect();
        Some(CountsPass {
            counts: SmallCounts { q, totals, counts },
            values,
            raters_any: marks.any_count,
            raters_pairable: marks.pairable_count,
            pairable_units,
        })
    }

    /// Krippendorff's alpha at `level`.
    pub fn alpha(&self, level: Level) -> Agreement {
        let result: AlphaResult = match level {
            Level::Nominal => nominal_of(&NominalPass::from_counts(&self.counts)),
            Level::Ordinal => ordinal_small(&self.counts),
            Level::Interval => interval_small(&self.counts, &self.values),
            Level::Ratio => ratio_small(&self.counts, &self.values),
        };
        alpha_from(
            self.pairable_units,
            self.raters_any,
            self.raters_pairable,
            result,
        )
    }

    /// The nominal statistics, from one nominal pass over the counts.
    pub fn nominal_suite(&self) -> NominalSuite {
        let p = NominalPass::from_counts(&self.counts);
        NominalSuite {
            alpha: alpha_from(
                self.pairable_units,
                self.raters_any,
                self.raters_pairable,
                nominal_of(&p),
            ),
            fleiss_kappa: fleiss_from(&p, self.raters_any),
            gwet_ac1: ac1_from(&p, self.raters_any, self.values.len()),
            percent_agreement: percent_from(&p, self.raters_any, self.raters_pairable),
        }
    }
}

/// The nominal statistics of one matrix.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NominalSuite {
    /// Krippendorff's alpha, nominal.
    pub alpha: Agreement,
    /// Fleiss' kappa.
    pub fleiss_kappa: Agreement,
    /// Gwet's AC1 over the categories seen.
    pub gwet_ac1: Agreement,
    /// Pairwise percent agreement.
    pub percent_agreement: Agreement,
}

/// The counter slot of every possible top 16 bits of a double whose low
/// 48 bits are zero: 0 for NaN (missing), v - MIN_SMALL + 1 for a small
/// integer v (both zeros), [`UNUSABLE`] for the rest. Built once.
fn slot_table() -> &'static [u8] {
    static TABLE: std::sync::OnceLock<Vec<u8>> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        let mut t = vec![UNUSABLE; 1 << 16];
        for (top, slot) in t.iter_mut().enumerate() {
            let x = f64::from_bits((top as u64) << 48);
            if x.is_nan() {
                *slot = 0;
            }
        }
        for v in MIN_SMALL..=MAX_SMALL {
            for x in [f64::from(v), -f64::from(v)] {
                if x == f64::from(v)
                    && let Some(slot) = t.get_mut((x.to_bits() >> 48) as usize)
                {
                    *slot = (v - MIN_SMALL + 1) as u8;
                }
            }
        }
        t
    })
}

/// Krippendorff's alpha of `d` at `level`.
pub fn alpha(d: &Dense<'_>, level: Level) -> Result<Agreement, Violations> {
    // Interval needs no categories at all: moments are cheaper than counts.
    if level == Level::Interval
        && let Some(a) = interval_moments(d)
    {
        return Ok(a);
    }
    if let Some(c) = CountsPass::new(d) {
        return Ok(c.alpha(level));
    }
    Ok(super::krippendorff::alpha(&d.to_matrix()?, level))
}

/// Alpha (nominal), Fleiss' kappa, Gwet's AC1 and percent agreement of `d`,
/// sharing one pass.
pub fn nominal_suite(d: &Dense<'_>) -> Result<NominalSuite, Violations> {
    if let Some(c) = CountsPass::new(d) {
        return Ok(c.nominal_suite());
    }
    let m = d.to_matrix()?;
    Ok(NominalSuite {
        alpha: super::krippendorff::alpha(&m, Level::Nominal),
        fleiss_kappa: super::fleiss::fleiss_kappa(&m),
        gwet_ac1: super::gwet::gwet(&m, super::gwet::Weights::Identity, &[]),
        percent_agreement: super::percent::percent_agreement(&m),
    })
}

/// Fleiss' kappa of `d`.
pub fn fleiss_kappa(d: &Dense<'_>) -> Result<Agreement, Violations> {
    match CountsPass::new(d) {
        Some(c) => Ok(fleiss_from(
            &NominalPass::from_counts(&c.counts),
            c.raters_any,
        )),
        None => Ok(super::fleiss::fleiss_kappa(&d.to_matrix()?)),
    }
}

/// Gwet's AC1 of `d` over the categories seen.
pub fn gwet_ac1(d: &Dense<'_>) -> Result<Agreement, Violations> {
    match CountsPass::new(d) {
        Some(c) => Ok(ac1_from(
            &NominalPass::from_counts(&c.counts),
            c.raters_any,
            c.values.len(),
        )),
        None => Ok(super::gwet::gwet(
            &d.to_matrix()?,
            super::gwet::Weights::Identity,
            &[],
        )),
    }
}

/// Pairwise percent agreement of `d`.
pub fn percent_agreement(d: &Dense<'_>) -> Result<Agreement, Violations> {
    match CountsPass::new(d) {
        Some(c) => Ok(percent_from(
            &NominalPass::from_counts(&c.counts),
            c.raters_any,
            c.raters_pairable,
        )),
        None => Ok(super::percent::percent_agreement(&d.to_matrix()?)),
    }
}

/// Interval alpha from per-unit moments; `None` when a rating is infinite
/// (the general path then names it).
fn interval_moments(d: &Dense<'_>) -> Option<Agreement> {
    let centre = d.cells.iter().copied().find(|x| !x.is_nan())?;
    let mut marks = RaterMarks::new(d.raters);
    let (mut n, mut total, mut within, mut ss_within) = (0.0_f64, 0.0_f64, 0.0_f64, 0.0_f64);
    let mut unit_means = Vec::with_capacity(d.units);
    let mut pairable_units = 0usize;
    for row in d.rows() {
        // Four lanes, so the sums vectorise without reassociating.
        let mut count = [0u32; 4];
        let mut sum = [0.0_f64; 4];
        let mut chunks = row.chunks_exact(4);
        for c in &mut chunks {
            for l in 0..4 {
                let x = c[l];
                let present = !x.is_nan();
                count[l] += u32::from(present);
                sum[l] += if present { x - centre } else { 0.0 };
            }
        }
        for &x in chunks.remainder() {
            let present = !x.is_nan();
            count[0] += u32::from(present);
            sum[0] += if present { x - centre } else { 0.0 };
        }
        let m = count.iter().sum::<u32>();
        marks.mark(row, m);
        if m < 2 {
            continue;
        }
        let s = (sum[0] + sum[1]) + (sum[2] + sum[3]);
        let m_u = f64::from(m);
        let mean = s / m_u;
        let mut sq = [0.0_f64; 4];
        let mut chunks = row.chunks_exact(4);
        for c in &mut chunks {
            for l in 0..4 {
                let x = c[l];
                let e = x - centre - mean;
                sq[l] += if x.is_nan() { 0.0 } else { e * e };
            }
        }
        for &x in chunks.remainder() {
            let e = x - centre - mean;
            sq[0] += if x.is_nan() { 0.0 } else { e * e };
        }
        let ss = (sq[0] + sq[1]) + (sq[2] + sq[3]);
        within += m_u * ss / (m_u - 1.0);
        ss_within += ss;
        n += m_u;
        total += s;
        unit_means.push((m_u, mean));
        pairable_units += 1;
    }
    if !(within.is_finite() && ss_within.is_finite() && total.is_finite()) {
        return None;
    }
    let result = if pairable_units == 0 {
        Err(super::Undefined::NoPairableUnits)
    } else {
        finish_interval(n, total, within, ss_within, &unit_means)
    };
    Some(alpha_from(
        pairable_units,
        marks.any_count,
        marks.pairable_count,
        result,
    ))
}

/// Every ICC form of `d` over its complete rows, in
/// [`super::icc::IccForm::ALL`] order.
pub fn icc_all(d: &Dense<'_>) -> Result<Vec<Icc>, Violations> {
    let mut rows = Vec::new();
    let mut n = 0usize;
    let mut centre = None;
    for row in d.rows() {
        if row.iter().any(|x| x.is_nan()) {
            continue;
        }
        if row.iter().any(|x| !x.is_finite()) {
            return Ok(super::icc::icc_all(&d.to_matrix()?));
        }
        let c = *centre.get_or_insert(row.first().copied().unwrap_or(0.0));
        rows.extend(row.iter().map(|x| x - c));
        n += 1;
    }
    Ok(icc_all_of(mean_squares_of(&rows, n, d.raters), n, d.raters))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agreement::{fleiss, gwet, icc, krippendorff, percent};
    use proptest::prelude::*;

    fn close(a: &Agreement, b: &Agreement) -> bool {
        let same_value = match (a.value, b.value) {
            (Ok(x), Ok(y)) => (x - y).abs() <= 1e-10 * (1.0 + y.abs()),
            (Err(x), Err(y)) => x == y,
            _ => false,
        };
        let near = |x: Option<f64>, y: Option<f64>| match (x, y) {
            (Some(x), Some(y)) => (x - y).abs() <= 1e-10,
            (None, None) => true,
            _ => false,
        };
        same_value
            && a.units_used == b.units_used
            && a.raters_used == b.raters_used
            && near(a.observed, b.observed)
            && near(a.chance, b.chance)
    }

    fn check(units: usize, raters: usize, cells: &[f64]) {
        let d = Dense::new(units, raters, cells).unwrap();
        let m = d.to_matrix().unwrap();
        for level in [
            Level::Nominal,
            Level::Ordinal,
            Level::Interval,
            Level::Ratio,
        ] {
            if level == Level::Ratio && cells.iter().any(|x| *x < 0.0) {
                continue;
            }
            let fast = alpha(&d, level).unwrap();
            let slow = krippendorff::alpha(&m, level);
            assert!(close(&fast, &slow), "{level:?}: {fast:?} vs {slow:?}");
        }
        let s = nominal_suite(&d).unwrap();
        assert!(close(&s.fleiss_kappa, &fleiss::fleiss_kappa(&m)));
        assert!(close(&fleiss_kappa(&d).unwrap(), &fleiss::fleiss_kappa(&m)));
        let ac1 = gwet::gwet(&m, gwet::Weights::Identity, &[]);
        assert!(close(&s.gwet_ac1, &ac1), "{:?} vs {ac1:?}", s.gwet_ac1);
        assert!(close(&gwet_ac1(&d).unwrap(), &ac1));
        assert!(close(&s.percent_agreement, &percent::percent_agreement(&m)));
        assert!(close(
            &percent_agreement(&d).unwrap(),
            &percent::percent_agreement(&m)
        ));
        assert!(close(&s.alpha, &krippendorff::alpha(&m, Level::Nominal)));
        let fast = icc_all(&d).unwrap();
        let slow = icc::icc_all(&m);
        for (f, s) in fast.iter().zip(&slow) {
            assert!(close(&f.agreement, &s.agreement), "{f:?} vs {s:?}");
        }
    }

    #[test]
    fn worked_shapes_and_degenerate_inputs() {
        let nan = f64::NAN;
        check(3, 3, &[1.0, 1.0, 1.0, 1.0, 2.0, 2.0, 2.0, 2.0, nan]);
        check(1, 1, &[3.0]);
        check(2, 2, &[nan, nan, nan, nan]);
        check(2, 3, &[4.0, 4.0, 4.0, 4.0, 4.0, nan]);
        check(2, 2, &[-15.0, 15.0, 0.0, -3.0]);
        // Outside the small window, and continuous: the other paths.
        check(3, 2, &[16.0, 20.0, 21.0, 21.0, 99.0, 98.0]);
        check(3, 2, &[0.5, 0.25, 71.3, 70.0, nan, 12.0]);
        // Nine raters: the counter banks' remainder.
        check(
            2,
            9,
            &[
                1., 2., 3., 1., 2., 3., 1., 2., nan, 3., 3., 3., 3., 3., 3., 3., 3., 2.,
            ],
        );
    }

    #[test]
    fn infinite_ratings_are_named() {
        let d = Dense::new(1, 2, &[1.0, f64::INFINITY]).unwrap();
        let err = alpha(&d, Level::Interval).unwrap_err();
        assert!(err.has_field("ratings.units[0].ratings[1]"));
        assert!(nominal_suite(&d).is_err());
        assert!(Dense::new(2, 2, &[1.0]).is_err());
        assert!(Dense::new(0, 2, &[]).is_err());
    }

    proptest! {
        #[test]
        fn dense_and_matrix_paths_agree(
            units in 1usize..25,
            raters in 1usize..9,
            seed in proptest::collection::vec((0u8..8, 0u8..10), 225),
            wide in any::<bool>(),
        ) {
            let cells: Vec<f64> = (0..units * raters)
                .map(|i| {
                    let (v, miss) = seed[i % seed.len()];
                    if miss < 2 {
                        f64::NAN
                    } else if wide {
                        f64::from(v) * 7.5 - 3.0
                    } else {
                        f64::from(v) - 2.0
                    }
                })
                .collect();
            check(units, raters, &cells);
        }
    }
}
