//! Categories and per-unit category counts, shared by the category-based
//! statistics (Fleiss, Gwet, percent agreement).
//!
//! A category is a distinct rating value. The set is the union of the values
//! seen and any the caller declared (a declared but unused category changes
//! Gwet's chance agreement and the AC2 weights' range). Counts are kept sparse
//! per unit, so 50 raters x 10,000 units costs one sort per unit, whatever
//! the number of categories.

use super::RatingsMatrix;

/// The ordered set of categories (distinct values, ascending).
#[derive(Debug, Clone, PartialEq)]
pub struct Categories {
    values: Vec<f64>,
}

impl Categories {
    /// The categories seen in `m` plus those `declared` (duplicates and
    /// non-finite declared values are ignored).
    pub fn of(m: &RatingsMatrix, declared: &[f64]) -> Self {
        let mut values: Vec<f64> = m.distinct_values().to_vec();
        if !declared.is_empty() {
            values.extend(declared.iter().filter(|x| x.is_finite()).map(|x| x + 0.0));
            values.sort_by(f64::total_cmp);
            values.dedup();
        }
        Categories { values }
    }

    /// The categories of exactly these values (duplicates and non-finite
    /// values dropped).
    pub fn from_values(mut values: Vec<f64>) -> Self {
        values.retain(|x| x.is_finite());
        for x in &mut values {
            *x += 0.0;
        }
        values.sort_by(f64::total_cmp);
        values.dedup();
        Categories { values }
    }

    /// Number of categories (q).
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// True when there is no category (an empty matrix).
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }

    /// The category values, ascending.
    pub fn values(&self) -> &[f64] {
        &self.values
    }

    /// Index of a value's category.
    pub fn index_of(&self, x: f64) -> Option<usize> {
        self.values
            .binary_search_by(|c| c.total_cmp(&(x + 0.0)))
            .ok()
    }
}

/// Per-unit category counts r_ik in sparse form.
#[derive(Debug, Clone)]
pub struct UnitCounts {
    /// `offsets[i]..offsets[i + 1]` index unit i's entries.
    offsets: Vec<usize>,
    /// (category index, count), ascending by category within a unit.
    entries: Vec<(u32, u32)>,
    /// r_i: ratings in unit i.
    totals: Vec<u32>,
}

impl UnitCounts {
    /// Counts every unit of `m` against `cats` (which must cover every value
    /// of `m`, as [`Categories::of`] does; values outside it are skipped).
    /// Counting uses the matrix's codes: a dense counter per unit when there
    /// are few categories, a sort of the unit's codes otherwise.
    pub fn new(m: &RatingsMatrix, cats: &Categories) -> Self {
        // The category index of each of the matrix's codes.
        let to_cat: Vec<u32> = m
            .distinct_values()
            .iter()
            .map(|&x| cats.index_of(x).map_or(u32::MAX, |i| i as u32))
            .collect();
        let mut offsets = Vec::with_capacity(m.unit_count() + 1);
        let mut entries = Vec::with_capacity(m.rating_count());
        let mut totals = Vec::with_capacity(m.unit_count());
        offsets.push(0);
        const DENSE: usize = 1 << 16;
        let dense = cats.len() <= DENSE;
        let mut counter = if dense {
            vec![0u32; cats.len()]
        } else {
            Vec::new()
        };
        let mut touched: Vec<u32> = Vec::new();
        for codes in m.units_codes() {
            touched.clear();
            let mut total = 0u32;
            if dense {
                for &code in codes {
                    let Some(&k) = to_cat.get(code as usize) else {
                        continue;
                    };
                    let Some(slot) = counter.get_mut(k as usize) else {
                        continue;
                    };
                    if *slot == 0 {
                        touched.push(k);
                    }
                    *slot += 1;
                    total += 1;
                }
                touched.sort_unstable();
                for &k in &touched {
                    if let Some(slot) = counter.get_mut(k as usize) {
                        entries.push((k, *slot));
                        *slot = 0;
                    }
                }
            } else {
                touched.extend(
                    codes
                        .iter()
                        .filter_map(|&c| to_cat.get(c as usize).copied())
                        .filter(|&k| k != u32::MAX),
                );
                touched.sort_unstable();
                let mut i = 0;
                while i < touched.len() {
                    let mut j = i;
                    while j < touched.len() && touched[j] == touched[i] {
                        j += 1;
                    }
                    entries.push((touched[i], (j - i) as u32));
                    total += (j - i) as u32;
                    i = j;
                }
            }
            totals.push(total);
            offsets.push(entries.len());
        }
        UnitCounts {
            offsets,
            entries,
            totals,
        }
    }

    /// Number of units.
    pub fn unit_count(&self) -> usize {
        self.totals.len()
    }

    /// Iterates units as (r_i, [(category, r_ik)]).
    pub fn units(&self) -> impl Iterator<Item = (u32, &[(u32, u32)])> + '_ {
        self.totals
            .iter()
            .zip(self.offsets.windows(2))
            .map(|(&t, w)| (t, &self.entries[w[0]..w[1]]))
    }
}

/// One pass over a matrix's codes giving everything the unweighted nominal
/// statistics need (Krippendorff's nominal alpha, Fleiss, AC1, percent
/// agreement): per-unit sums of squared category counts are accumulated
/// incrementally ((k + 1)^2 - k^2 = 2k + 1) in a dense counter, so each rating
/// costs a few operations and nothing is sorted.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct NominalPass {
    /// Units with at least one rating (n).
    pub rated_units: usize,
    /// Units with at least two ratings.
    pub pairable_units: usize,
    /// Sum over pairable units of sum_k r_ik (r_ik - 1) / (r_i (r_i - 1)).
    pub pa_sum: f64,
    /// Sum over pairable units of (m_u^2 - sum_k n_uk^2) / (m_u - 1).
    pub alpha_disagreement: f64,
    /// Pairable values (n for alpha).
    pub pairable_values: f64,
    /// Per code: sum over rated units of r_ik / r_i (divide by n for pi_k).
    pub propensity_sums: Vec<f64>,
    /// Per code: count over pairable units (alpha's n_c).
    pub pairable_counts: Vec<f64>,
}

/// Runs the [`NominalPass`] over `m`.
///
/// Counting interleaves four counter banks so that repeated codes within a
/// unit do not form one long store-to-load dependency chain; each unit's
/// distinct codes are then combined once.
pub(crate) fn nominal_pass(m: &RatingsMatrix) -> NominalPass {
    const BANKS: usize = 4;
    let q = m.distinct_values().len();
    let mut p = NominalPass {
        rated_units: 0,
        pairable_units: 0,
        pa_sum: 0.0,
        alpha_disagreement: 0.0,
        pairable_values: 0.0,
        propensity_sums: vec![0.0; q],
        pairable_counts: vec![0.0; q],
    };
    if q <= SMALL_Q {
        return nominal_pass_small(m, p);
    }
    let mut banks = vec![0u32; q * BANKS];
    let mut touched_mark = vec![false; q];
    let mut touched: Vec<usize> = Vec::new();
    for codes in m.units_codes() {
        let r = codes.len();
        if r == 0 {
            continue;
        }
        p.rated_units += 1;
        touched.clear();
        for (i, &c) in codes.iter().enumerate() {
            let c = c as usize;
            if let Some(slot) = banks.get_mut(c * BANKS + (i & (BANKS - 1))) {
                *slot += 1;
            }
            if let Some(mark) = touched_mark.get_mut(c)
                && !*mark
            {
                *mark = true;
                touched.push(c);
            }
        }
        let rf = r as f64;
        let inv_r = 1.0 / rf;
        let mut sum_sq = 0.0;
        for &c in &touched {
            let Some(bank) = banks.get_mut(c * BANKS..(c + 1) * BANKS) else {
                continue;
            };
            let n: u32 = bank.iter().sum();
            bank.fill(0);
            if let Some(mark) = touched_mark.get_mut(c) {
                *mark = false;
            }
            let n = f64::from(n);
            sum_sq += n * n;
            if let Some(s) = p.propensity_sums.get_mut(c) {
                *s += n * inv_r;
            }
            if r >= 2
                && let Some(s) = p.pairable_counts.get_mut(c)
            {
                *s += n;
            }
        }
        if r < 2 {
            continue;
        }
        p.pairable_units += 1;
        p.pa_sum += (sum_sq - rf) / (rf * (rf - 1.0));
        p.alpha_disagreement += (rf * rf - sum_sq) / (rf - 1.0);
        p.pairable_values += rf;
    }
    p
}

/// Up to this many distinct values, [`nominal_pass`] counts each category
/// with a branch-free comparison over the unit's codes (which the compiler
/// vectorises) instead of scattered increments.
const SMALL_Q: usize = 16;

fn nominal_pass_small(m: &RatingsMatrix, mut p: NominalPass) -> NominalPass {
    let q = p.propensity_sums.len().min(SMALL_Q);
    let mut counts = [0u32; SMALL_Q];
    for codes in m.units_codes() {
        let r = codes.len();
        if r == 0 {
            continue;
        }
        p.rated_units += 1;
        for (k, slot) in counts.iter_mut().enumerate().take(q) {
            let k = k as u32;
            *slot = codes.iter().map(|&c| u32::from(c == k)).sum();
        }
        let rf = r as f64;
        let inv_r = 1.0 / rf;
        let mut sum_sq = 0.0;
        for (k, &n) in counts.iter().enumerate().take(q) {
            if n == 0 {
                continue;
            }
            let n = f64::from(n);
            sum_sq += n * n;
            if let Some(s) = p.propensity_sums.get_mut(k) {
                *s += n * inv_r;
            }
            if r >= 2
                && let Some(s) = p.pairable_counts.get_mut(k)
            {
                *s += n;
            }
        }
        if r < 2 {
            continue;
        }
        p.pairable_units += 1;
        p.pa_sum += (sum_sq - rf) / (rf * (rf - 1.0));
        p.alpha_disagreement += (rf * rf - sum_sq) / (rf - 1.0);
        p.pairable_values += rf;
    }
    p
}

/// Per-unit category counts for a matrix with at most [`SMALL_Q`] distinct
/// values, stored densely: `counts[u * q + k]` is unit u's count of code k.
pub(crate) struct SmallCounts {
    /// Number of codes (q).
    pub q: usize,
    /// Ratings per unit.
    pub totals: Vec<u32>,
    /// Dense counts, unit-major.
    pub counts: Vec<u32>,
}

impl SmallCounts {
    /// Counts every unit, or `None` when the matrix has too many distinct values.
    pub fn new(m: &RatingsMatrix) -> Option<SmallCounts> {
        let q = m.distinct_values().len();
        if q > SMALL_Q {
            return None;
        }
        let mut totals = Vec::with_capacity(m.unit_count());
        let mut counts = Vec::with_capacity(m.unit_count() * q);
        for codes in m.units_codes() {
            totals.push(codes.len() as u32);
            for k in 0..q as u32 {
                counts.push(codes.iter().map(|&c| u32::from(c == k)).sum());
            }
        }
        Some(SmallCounts { q, totals, counts })
    }

    /// Iterates units as (ratings, counts by code).
    pub fn units(&self) -> impl Iterator<Item = (u32, &[u32])> + '_ {
        self.totals
            .iter()
            .copied()
            .zip(self.counts.chunks(self.q.max(1)))
    }
}

impl NominalPass {
    /// The pass from per-unit counts (the same sums, in the same order, as
    /// [`nominal_pass`] over the matrix the counts were made from).
    pub fn from_counts(sc: &SmallCounts) -> NominalPass {
        let q = sc.q;
        let mut p = NominalPass {
            rated_units: 0,
            pairable_units: 0,
            pa_sum: 0.0,
            alpha_disagreement: 0.0,
            pairable_values: 0.0,
            propensity_sums: vec![0.0; q],
            pairable_counts: vec![0.0; q],
        };
        for (r, counts) in sc.units() {
            if r == 0 {
                continue;
            }
            p.rated_units += 1;
            let rf = f64::from(r);
            let inv_r = 1.0 / rf;
            let mut sum_sq = 0.0;
            for (k, &n) in counts.iter().enumerate() {
                if n == 0 {
                    continue;
                }
                let n = f64::from(n);
                sum_sq += n * n;
                if let Some(s) = p.propensity_sums.get_mut(k) {
                    *s += n * inv_r;
                }
                if r >= 2
                    && let Some(s) = p.pairable_counts.get_mut(k)
                {
                    *s += n;
                }
            }
            if r < 2 {
                continue;
            }
            p.pairable_units += 1;
            p.pa_sum += (sum_sq - rf) / (rf * (rf - 1.0));
            p.alpha_disagreement += (rf * rf - sum_sq) / (rf - 1.0);
            p.pairable_values += rf;
        }
        p
    }

    /// pi_k by code: the propensity sums over the rated units.
    pub fn propensities(&self) -> Vec<f64> {
        let n = self.rated_units.max(1) as f64;
        self.propensity_sums.iter().map(|s| s / n).collect()
    }

    /// Observed pairwise agreement (P-bar), if any unit is pairable.
    pub fn observed_agreement(&self) -> Option<f64> {
        (self.pairable_units > 0).then(|| self.pa_sum / self.pairable_units as f64)
    }

    /// Categories actually used.
    pub fn used_categories(&self) -> usize {
        self.propensity_sums.iter().filter(|&&s| s > 0.0).count()
    }
}

/// The per-unit pieces every Fleiss/Gwet-style coefficient shares.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Propensities {
    /// Units with at least one rating (n).
    pub rated_units: usize,
    /// Units with at least two ratings (n'').
    pub pairable_units: usize,
    /// Distinct categories actually used.
    pub used_categories: usize,
}

/// Category propensities pi_k = (1/n) sum_i r_ik / r_i over units with a
/// rating, as Gwet (2014) and irrCAC define them, and the unit counts.
pub(crate) fn propensities(counts: &UnitCounts, q: usize) -> (Vec<f64>, Propensities) {
    let mut pi = vec![0.0; q];
    let mut rated = 0usize;
    let mut pairable = 0usize;
    for (total, _) in counts.units() {
        if total == 0 {
            continue;
        }
        rated += 1;
        if total >= 2 {
            pairable += 1;
        }
    }
    if rated > 0 {
        let inv_n = 1.0 / rated as f64;
        for (total, entries) in counts.units() {
            if total == 0 {
                continue;
            }
            let r = f64::from(total);
            for &(k, c) in entries {
                if let Some(p) = pi.get_mut(k as usize) {
                    *p += inv_n * (f64::from(c) / r);
                }
            }
        }
    }
    let used = pi.iter().filter(|&&p| p > 0.0).count();
    (
        pi,
        Propensities {
            rated_units: rated,
            pairable_units: pairable,
            used_categories: used,
        },
    )
}

/// Raters with any rating, and raters with a rating in a unit that has two
/// or more, in one pass.
pub(crate) fn rater_counts(m: &RatingsMatrix) -> (usize, usize) {
    let mut seen = vec![0u8; m.rater_count()];
    let (mut any, mut pairable) = (0, 0);
    for (vals, raters) in m.units_with_raters() {
        let level = if vals.len() >= 2 { 2 } else { 1 };
        for &r in raters {
            if let Some(s) = seen.get_mut(r as usize)
                && *s < level
            {
                if *s == 0 {
                    any += 1;
                }
                if level == 2 {
                    pairable += 1;
                }
                *s = level;
            }
        }
    }
    (any, pairable)
}

/// Raters with a rating in units that have at least `min_ratings` ratings.
pub(crate) fn raters_in_units(m: &RatingsMatrix, min_ratings: usize) -> usize {
    super::matrix::count_raters(
        m.rater_count(),
        m.units_with_raters()
            .filter(|(v, _)| v.len() >= min_ratings)
            .map(|(_, r)| r),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn categories_are_the_union_of_seen_and_declared() {
        let m = RatingsMatrix::from_dense(2, 2, &[Some(3.0), Some(1.0), None, Some(3.0)]).unwrap();
        let c = Categories::of(&m, &[5.0, 1.0, f64::NAN]);
        assert_eq!(c.values(), &[1.0, 3.0, 5.0]);
        assert_eq!(c.index_of(3.0), Some(1));
        assert_eq!(c.index_of(-0.0), None);
        assert_eq!(c.len(), 3);
    }

    #[test]
    fn small_and_general_nominal_passes_agree() {
        // 3 categories (small path) vs the same data spread over 40 values
        // (general path): identical counts up to relabelling.
        let cells: Vec<Option<f64>> = (0..120)
            .map(|i| {
                if i % 7 == 0 {
                    None
                } else {
                    Some(f64::from((i * 13 % 3) as u8))
                }
            })
            .collect();
        let small = nominal_pass(&RatingsMatrix::from_dense(30, 4, &cells).unwrap());
        let wide_cells: Vec<Option<f64>> =
            cells.iter().map(|c| c.map(|x| x * 1000.0 + 0.5)).collect();
        let mut wide_m = RatingsMatrix::from_dense(30, 4, &wide_cells).unwrap();
        // Add 20 more distinct values in an extra unit so the general path runs.
        let mut rows: Vec<Vec<Option<f64>>> = (0..30)
            .map(|u| wide_cells[u * 4..u * 4 + 4].to_vec())
            .collect();
        for extra in 0..5 {
            rows.push(
                (0..4)
                    .map(|r| Some(1e6 + f64::from(extra * 4 + r)))
                    .collect(),
            );
        }
        wide_m = RatingsMatrix::from_rows(4, &rows).unwrap_or(wide_m);
        let wide = nominal_pass(&wide_m);
        assert!(wide.propensity_sums.len() > SMALL_Q);
        assert_eq!(small.rated_units + 5, wide.rated_units);
        // The 5 extra units are all-disagreeing: they add 0 to pa_sum and
        // (16 - 4) / 3 = 4 each to alpha_disagreement.
        assert!((small.pa_sum - wide.pa_sum).abs() < 1e-12);
        assert!((small.alpha_disagreement + 5.0 * 4.0 - wide.alpha_disagreement).abs() < 1e-9);
    }

    #[test]
    fn counts_units_sparsely() {
        let m = RatingsMatrix::from_dense(
            3,
            3,
            &[
                Some(1.0),
                Some(1.0),
                Some(2.0),
                None,
                None,
                None,
                Some(2.0),
                None,
                None,
            ],
        )
        .unwrap();
        let c = Categories::of(&m, &[]);
        let counts = UnitCounts::new(&m, &c);
        let units: Vec<_> = counts.units().map(|(t, e)| (t, e.to_vec())).collect();
        assert_eq!(
            units,
            vec![(3, vec![(0, 2), (1, 1)]), (0, vec![]), (1, vec![(1, 1)])]
        );
        let (pi, p) = propensities(&counts, c.len());
        assert_eq!(p.rated_units, 2);
        assert_eq!(p.pairable_units, 1);
        assert!((pi[0] - (2.0 / 3.0) / 2.0).abs() < 1e-15);
        assert!((pi[1] - (1.0 / 3.0 + 1.0) / 2.0).abs() < 1e-15);
        assert_eq!(raters_in_units(&m, 2), 3);
        assert_eq!(rater_counts(&m), (3, 3));
        let lone =
            RatingsMatrix::from_dense(2, 2, &[Some(1.0), None, Some(2.0), Some(2.0)]).unwrap();
        assert_eq!(rater_counts(&lone), (2, 2));
        let apart = RatingsMatrix::from_dense(2, 2, &[Some(1.0), None, None, Some(2.0)]).unwrap();
        assert_eq!(rater_counts(&apart), (2, 0));
        assert_eq!(raters_in_units(&m, 1), 3);
    }
}
