//! [`RatingsMatrix`]: a units x raters matrix with missing cells, stored per
//! unit in compressed form (the present ratings of each unit, with the index
//! of the rater who gave each). Every statistic walks units, so this layout
//! keeps them linear in the number of ratings, and a mostly-missing matrix
//! costs only what is present.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use crate::validation::Violations;

/// A validated ratings matrix: every present rating is finite; `-0.0` is
/// stored as `0.0` so that equal ratings compare equal. Each rating also
/// carries its *code*, the index of its value among the matrix's distinct
/// values in ascending order, computed once here so that every
/// category-based statistic counts codes instead of sorting values.
#[derive(Debug, Clone, PartialEq)]
pub struct RatingsMatrix {
    raters: usize,
    /// `offsets[u]..offsets[u + 1]` are unit u's ratings; `units + 1` entries.
    offsets: Vec<usize>,
    /// Present ratings, unit by unit.
    values: Vec<f64>,
    /// The rater of each rating; ascending within a unit.
    rater_of: Vec<u32>,
    /// The code of each rating: its value's index in `distinct`.
    codes: Vec<u32>,
    /// The distinct values, ascending.
    distinct: Vec<f64>,
}

/// Assigns codes to values: small integers (the usual ratings) through a
/// table, anything else through a hash map; then renumbers codes in
/// ascending value order.
struct Coder {
    small: Vec<u32>,
    other: HashMap<u64, u32, BuildHasherDefault<BitsHasher>>,
    distinct: Vec<f64>,
}

const SMALL: i64 = 4096;

impl Coder {
    fn new() -> Self {
        Coder {
            small: Vec::new(),
            other: HashMap::default(),
            distinct: Vec::new(),
        }
    }

    fn code(&mut self, x: f64) -> u32 {
        let next = self.distinct.len() as u32;
        // `as` saturates and truncates (plain SSE2, where `trunc` would be
        // a libm call on baseline x86-64).
        let i = x as i64;
        if i as f64 == x && (-SMALL..SMALL).contains(&i) {
            if self.small.is_empty() {
                self.small = vec![u32::MAX; 2 * SMALL as usize];
            }
            let slot = (i + SMALL) as usize;
            if let Some(c) = self.small.get_mut(slot) {
                if *c == u32::MAX {
                    *c = next;
                    self.distinct.push(x);
                }
                return *c;
            }
        }
        let c = *self.other.entry(x.to_bits()).or_insert(next);
        if c == next {
            self.distinct.push(x);
        }
        c
    }

    /// Renumbers `codes` so that code order is value order; returns the
    /// distinct values ascending.
    fn finish(self, codes: &mut [u32]) -> Vec<f64> {
        let mut order: Vec<u32> = (0..self.distinct.len() as u32).collect();
        order.sort_by(|&a, &b| self.distinct[a as usize].total_cmp(&self.distinct[b as usize]));
        let mut rank = vec![0u32; order.len()];
        for (r, &c) in order.iter().enumerate() {
            rank[c as usize] = r as u32;
        }
        for c in codes.iter_mut() {
            *c = rank[*c as usize];
        }
        order.iter().map(|&c| self.distinct[c as usize]).collect()
    }
}

/// A fast hasher for f64 bit patterns (not DoS-resistant; the keys are
/// ratings inside one request).
#[derive(Default)]
struct BitsHasher(u64);

impl Hasher for BitsHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (n ^ (n >> 29)).wrapping_mul(0x9E37_79B9_7F4A_7C15);
        self.0 ^= self.0 >> 32;
    }
}

impl RatingsMatrix {
    /// Builds a matrix from rows (one per unit, one cell per rater; `None` is
    /// missing). Every row must have `raters` cells and every present cell a
    /// finite value; field paths in violations are
    /// `ratings.units[u].ratings[r]`.
    pub fn from_rows<R: AsRef<[Option<f64>]>>(
        raters: usize,
        rows: &[R],
    ) -> Result<Self, Violations> {
        let mut v = Violations::new();
        if raters == 0 {
            v.push("ratings.rater_ids", "at least one rater is required");
        }
        if u32::try_from(raters).is_err() {
            v.push("ratings.rater_ids", "too many raters");
        }
        if rows.is_empty() {
            v.push("ratings.units", "at least one unit is required");
        }
        if !v.is_empty() {
            return Err(v);
        }
        let cells: usize = rows.iter().map(|r| r.as_ref().len()).sum();
        let mut m = RatingsMatrix {
            raters,
            offsets: Vec::with_capacity(rows.len() + 1),
            values: Vec::with_capacity(cells),
            rater_of: Vec::with_capacity(cells),
            codes: Vec::with_capacity(cells),
            distinct: Vec::new(),
        };
        let mut coder = Coder::new();
        m.offsets.push(0);
        for (u, row) in rows.iter().enumerate() {
            let row = row.as_ref();
            if row.len() != raters {
                v.push(
                    format!("ratings.units[{u}].ratings"),
                    format!("has {} ratings; every unit needs one per rater ({raters}), unset when missing", row.len()),
                );
            }
            for (r, cell) in row.iter().enumerate().take(raters) {
                if let Some(x) = *cell {
                    if !x.is_finite() {
                        v.push(
                            format!("ratings.units[{u}].ratings[{r}]"),
                            "must be a finite number",
                        );
                        continue;
                    }
                    let x = x + 0.0;
                    m.values.push(x);
                    m.codes.push(coder.code(x));
                    // `r < raters`, which fits in u32 (checked above).
                    m.rater_of.push(r as u32);
                }
            }
            m.offsets.push(m.values.len());
        }
        m.distinct = coder.finish(&mut m.codes);
        v.into_result(m)
    }

    /// Builds a matrix from a dense row-major slice of `units * raters` cells.
    pub fn from_dense(
        units: usize,
        raters: usize,
        cells: &[Option<f64>],
    ) -> Result<Self, Violations> {
        if raters == 0 || cells.len() != units.saturating_mul(raters) {
            let mut v = Violations::new();
            v.push(
                "ratings",
                format!("expected {units} x {raters} cells, got {}", cells.len()),
            );
            return Err(v);
        }
        let rows: Vec<&[Option<f64>]> = cells.chunks(raters).collect();
        Self::from_rows(raters, &rows)
    }

    /// Number of raters (columns), whether or not they rated anything.
    pub fn rater_count(&self) -> usize {
        self.raters
    }

    /// Number of units (rows), whether or not they were rated.
    pub fn unit_count(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }

    /// Number of present ratings.
    pub fn rating_count(&self) -> usize {
        self.values.len()
    }

    /// Unit `u`'s present ratings and the rater index of each (ascending).
    /// Out of range: two empty slices.
    pub fn unit(&self, u: usize) -> (&[f64], &[u32]) {
        match (self.offsets.get(u), self.offsets.get(u + 1)) {
            (Some(&a), Some(&b)) => (&self.values[a..b], &self.rater_of[a..b]),
            _ => (&[], &[]),
        }
    }

    /// Iterates units' present ratings.
    pub fn units(&self) -> impl Iterator<Item = &[f64]> + '_ {
        self.offsets.windows(2).map(|w| &self.values[w[0]..w[1]])
    }

    /// Iterates units as (ratings, raters).
    pub fn units_with_raters(&self) -> impl Iterator<Item = (&[f64], &[u32])> + '_ {
        self.offsets
            .windows(2)
            .map(|w| (&self.values[w[0]..w[1]], &self.rater_of[w[0]..w[1]]))
    }

    /// One rater's column, dense: `None` where they did not rate.
    pub fn column(&self, rater: usize) -> Vec<Option<f64>> {
        self.units_with_raters()
            .map(|(vals, raters)| {
                raters
                    .binary_search(&(rater as u32))
                    .ok()
                    .and_then(|i| vals.get(i).copied())
            })
            .collect()
    }

    /// Every present rating, unit by unit.
    pub fn values(&self) -> &[f64] {
        &self.values
    }

    /// The distinct rating values, ascending (their index is a rating's code).
    pub fn distinct_values(&self) -> &[f64] {
        &self.distinct
    }

    /// Unit `u`'s rating codes (indices into [`Self::distinct_values`]).
    pub fn unit_codes(&self, u: usize) -> &[u32] {
        match (self.offsets.get(u), self.offsets.get(u + 1)) {
            (Some(&a), Some(&b)) => &self.codes[a..b],
            _ => &[],
        }
    }

    /// Iterates units' rating codes.
    pub fn units_codes(&self) -> impl Iterator<Item = &[u32]> + '_ {
        self.offsets.windows(2).map(|w| &self.codes[w[0]..w[1]])
    }

    /// The same matrix with every rating replaced by `f(rating)` (e.g. labels'
    /// positions); a non-finite result makes the rating missing.
    pub fn map_values(&self, f: impl Fn(f64) -> f64) -> RatingsMatrix {
        let mut m = RatingsMatrix {
            raters: self.raters,
            offsets: vec![0],
            values: Vec::with_capacity(self.values.len()),
            rater_of: Vec::with_capacity(self.values.len()),
            codes: Vec::with_capacity(self.values.len()),
            distinct: Vec::new(),
        };
        let mut coder = Coder::new();
        for (vals, raters) in self.units_with_raters() {
            for (&x, &r) in vals.iter().zip(raters) {
                let y = f(x) + 0.0;
                if y.is_finite() {
                    m.values.push(y);
                    m.codes.push(coder.code(y));
                    m.rater_of.push(r);
                }
            }
            m.offsets.push(m.values.len());
        }
        m.distinct = coder.finish(&mut m.codes);
        m
    }
}

/// Counts the raters (by index) present in the given units.
pub(crate) fn count_raters<'a>(raters: usize, units: impl Iterator<Item = &'a [u32]>) -> usize {
    let mut seen = vec![false; raters];
    let mut n = 0;
    for unit in units {
        for &r in unit {
            if let Some(s) = seen.get_mut(r as usize)
                && !*s
            {
                *s = true;
                n += 1;
            }
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builds_compressed_units() {
        let m = RatingsMatrix::from_rows(
            3,
            &[vec![Some(1.0), None, Some(-0.0)], vec![None, None, None]],
        )
        .unwrap();
        assert_eq!(m.unit_count(), 2);
        assert_eq!(m.rater_count(), 3);
        assert_eq!(m.rating_count(), 2);
        let (vals, raters) = m.unit(0);
        assert_eq!(vals, &[1.0, 0.0]);
        assert!(vals[1].is_sign_positive());
        assert_eq!(raters, &[0, 2]);
        assert_eq!(m.unit(1).0.len(), 0);
        assert_eq!(m.unit(9).0.len(), 0);
        assert_eq!(m.column(2), vec![Some(0.0), None]);
    }

    #[test]
    fn rejects_bad_shapes_and_values_with_field_paths() {
        let err = RatingsMatrix::from_rows(
            2,
            &[vec![Some(1.0)], vec![Some(f64::NAN), Some(f64::INFINITY)]],
        )
        .unwrap_err();
        assert!(err.has_field("ratings.units[0].ratings"));
        assert!(err.has_field("ratings.units[1].ratings[0]"));
        assert!(err.has_field("ratings.units[1].ratings[1]"));
        let empty: [Vec<Option<f64>>; 0] = [];
        assert!(
            RatingsMatrix::from_rows(2, &empty)
                .unwrap_err()
                .has_field("ratings.units")
        );
        assert!(RatingsMatrix::from_rows(0, &[Vec::<Option<f64>>::new()]).is_err());
        assert!(RatingsMatrix::from_dense(2, 2, &[Some(1.0)]).is_err());
    }

    #[test]
    fn codes_follow_value_order() {
        let m = RatingsMatrix::from_dense(
            2,
            3,
            &[Some(5.0), Some(-2.0), Some(0.5), Some(1e9), None, Some(5.0)],
        )
        .unwrap();
        assert_eq!(m.distinct_values(), &[-2.0, 0.5, 5.0, 1e9]);
        assert_eq!(m.unit_codes(0), &[2, 0, 1]);
        assert_eq!(m.unit_codes(1), &[3, 2]);
        assert_eq!(m.units_codes().count(), 2);
        assert_eq!(m.unit_codes(7).len(), 0);
        let shifted = m.map_values(|x| -x);
        assert_eq!(shifted.distinct_values(), &[-1e9, -5.0, -0.5, 2.0]);
        assert_eq!(shifted.unit_codes(0), &[1, 3, 2]);
    }

    #[test]
    fn maps_values() {
        let m = RatingsMatrix::from_dense(1, 2, &[Some(1.0), Some(2.0)]).unwrap();
        let doubled = m.map_values(|x| if x > 1.5 { f64::NAN } else { 2.0 * x });
        assert_eq!(doubled.unit(0).0, &[2.0]);
        assert_eq!(
            count_raters(2, doubled.units_with_raters().map(|(_, r)| r)),
            1
        );
    }
}
