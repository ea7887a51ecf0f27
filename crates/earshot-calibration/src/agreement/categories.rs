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
        let mut values: Vec<f64> = m
            .values()
            .iter()
            .chain(declared.iter().filter(|x| x.is_finite()))
            .map(|x| x + 0.0)
            .collect();
        values.sort_by(f64::total_cmp);
        values.dedup();
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
    /// of `m`; values outside it are skipped).
    pub fn new(m: &RatingsMatrix, cats: &Categories) -> Self {
        let mut offsets = Vec::with_capacity(m.unit_count() + 1);
        let mut entries = Vec::with_capacity(m.rating_count());
        let mut totals = Vec::with_capacity(m.unit_count());
        offsets.push(0);
        let mut buf: Vec<u32> = Vec::new();
        for unit in m.units() {
            buf.clear();
            buf.extend(
                unit.iter()
                    .filter_map(|&x| cats.index_of(x))
                    .map(|i| i as u32),
            );
            buf.sort_unstable();
            let mut total = 0u32;
            let mut i = 0;
            while i < buf.len() {
                let c = buf[i];
                let mut j = i;
                while j < buf.len() && buf[j] == c {
                    j += 1;
                }
                let count = (j - i) as u32;
                entries.push((c, count));
                total += count;
                i = j;
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
        assert_eq!(raters_in_units(&m, 1), 3);
    }
}
