//! Rollups: the mergeable cells that make reports fast, how a fact record
//! contributes to them, and how a report period is read from them.
//!
//! - [`cells`]: the three cell families and their exact add/subtract.
//! - [`keys`]: their keys (date first, then the full dimension tuple) and
//!   the [`Grain`]s cells are kept at.
//! - [`contribution`]: record → cells, the only place facts become counters.
//! - [`cover`]: a period → the fewest stored cell dates that tile it.
//!
//! [`Rollups`] is the in-memory model of the stored rollups: it is what the
//! SQL store of phase B must behave like (and what the property tests
//! below prove correct), and it serves tests and small embedded tenants.

pub mod cells;
pub mod contribution;
pub mod cover;
pub mod keys;

use std::collections::BTreeMap;

use cells::{Cell, InteractionCell, QualityCell, QuestionCell};
use contribution::Contribution;
use keys::{CellKey, Grain, InteractionKey, QualityKey, QualitySummaryKey, QuestionKey};

use crate::calendar::DateRange;
use crate::dimension::{Dimension, Filter};

/// The grains kept by default: days and ten-days for partial months, months
/// and quarters for the rest. Each grain is one more cell written per
/// change; quarters earn theirs (a quarter-aligned 90-day report reads one
/// cell per key instead of three, a year four instead of twelve), years
/// would not (four quarter cells per key and year already).
pub const DEFAULT_GRAINS: [Grain; 4] = [Grain::Day, Grain::TenDay, Grain::Month, Grain::Quarter];

/// Cells of one family at all kept grains.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Family<K: CellKey, C: Cell> {
    cells: BTreeMap<Grain, BTreeMap<K, C>>,
}

impl<K: CellKey, C: Cell> Default for Family<K, C> {
    fn default() -> Self {
        Family {
            cells: BTreeMap::new(),
        }
    }
}

impl<K: CellKey, C: Cell> Family<K, C> {
    fn add(&mut self, grain: Grain, key: &K, cell: &C) {
        let key = key.with_date(grain.start_of(key.date()));
        self.cells
            .entry(grain)
            .or_default()
            .entry(key)
            .or_default()
            .add(cell);
    }

    fn subtract(&mut self, grain: Grain, key: &K, cell: &C) {
        let key = key.with_date(grain.start_of(key.date()));
        let map = self.cells.entry(grain).or_default();
        let entry = map.entry(key.clone()).or_default();
        entry.subtract(cell);
        if entry.is_zero() {
            map.remove(&key);
        }
        if map.is_empty() {
            self.cells.remove(&grain);
        }
    }

    /// The stored cells of a grain.
    pub fn at(&self, grain: Grain) -> impl Iterator<Item = (&K, &C)> {
        self.cells.get(&grain).into_iter().flat_map(|m| m.iter())
    }

    /// The cells that exactly cover `range`, read through [`cover::cover`]
    /// (what a store scans). Only grains present are used.
    pub fn scan(&self, range: DateRange) -> Vec<(&K, &C)> {
        let grains: Vec<Grain> = self.cells.keys().copied().collect();
        let mut out = Vec::new();
        for piece in cover::cover(range, &grains) {
            let Some(map) = self.cells.get(&piece.grain) else {
                continue;
            };
            let lo = K::floor(piece.start);
            for (k, c) in map.range(lo..) {
                if k.date() != piece.start {
                    break;
                }
                out.push((k, c));
            }
        }
        out
    }
}

/// All rollups of one tenant, at the chosen grains.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rollups {
    grains: Vec<Grain>,
    /// Interaction cells.
    pub interactions: Family<InteractionKey, InteractionCell>,
    /// Quality cells.
    pub quality: Family<QualityKey, QualityCell>,
    /// The same quality cells merged over evaluators.
    pub quality_summary: Family<QualitySummaryKey, QualityCell>,
    /// Question cells.
    pub questions: Family<QuestionKey, QuestionCell>,
}

impl Default for Rollups {
    fn default() -> Self {
        Rollups::new(&DEFAULT_GRAINS)
    }
}

impl Rollups {
    /// Empty rollups kept at `grains` (days are always kept).
    pub fn new(grains: &[Grain]) -> Self {
        let mut g: Vec<Grain> = grains.to_vec();
        g.push(Grain::Day);
        g.sort();
        g.dedup();
        Rollups {
            grains: g,
            interactions: Family::default(),
            quality: Family::default(),
            quality_summary: Family::default(),
            questions: Family::default(),
        }
    }

    /// Adds a contribution at every grain.
    pub fn add(&mut self, c: &Contribution) {
        for &g in &self.grains {
            if let Some((k, cell)) = &c.interaction {
                self.interactions.add(g, k, cell);
            }
            for (k, cell) in &c.quality {
                self.quality.add(g, k, cell);
                self.quality_summary.add(g, &QualitySummaryKey::of(k), cell);
            }
            for (k, cell) in &c.questions {
                self.questions.add(g, k, cell);
            }
        }
    }

    /// Subtracts a contribution previously added, at every grain; cells that
    /// become empty are removed.
    pub fn subtract(&mut self, c: &Contribution) {
        for &g in &self.grains {
            if let Some((k, cell)) = &c.interaction {
                self.interactions.subtract(g, k, cell);
            }
            for (k, cell) in &c.quality {
                self.quality.subtract(g, k, cell);
                self.quality_summary
                    .subtract(g, &QualitySummaryKey::of(k), cell);
            }
            for (k, cell) in &c.questions {
                self.questions.subtract(g, k, cell);
            }
        }
    }

    /// Replaces a record's old contribution by its new one.
    pub fn apply_change(&mut self, old: &Contribution, new: &Contribution) {
        if old != new {
            self.subtract(old);
            self.add(new);
        }
    }
}

/// A grouping the cell family does not know (e.g. operational figures by
/// evaluator).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("this report cannot be grouped by {0:?}")]
pub struct UnsupportedDimension(pub Dimension);

/// Merges the cells that pass `filter` into one cell per group of
/// `dimension`, ordered by group id.
pub fn group_by<'a, K, C>(
    cells: impl IntoIterator<Item = (&'a K, &'a C)>,
    dimension: Dimension,
    filter: &Filter,
) -> Result<BTreeMap<String, C>, UnsupportedDimension>
where
    K: CellKey + 'a,
    C: Cell + 'a,
{
    let mut out: BTreeMap<String, C> = BTreeMap::new();
    for (k, c) in cells {
        if !k.passes(filter) {
            continue;
        }
        let id = k
            .group_id(dimension)
            .ok_or(UnsupportedDimension(dimension))?;
        // Most cells fall into a group already seen: look up by &str and
        // allocate the id only for a new group.
        match out.get_mut(id) {
            Some(g) => g.add(c),
            None => {
                out.insert(id.to_owned(), c.clone());
            }
        }
    }
    Ok(out)
}

/// Merges every cell that passes `filter` into one.
pub fn total<'a, K, C>(cells: impl IntoIterator<Item = (&'a K, &'a C)>, filter: &Filter) -> C
where
    K: CellKey + 'a,
    C: Cell + 'a,
{
    let mut out = C::default();
    for (k, c) in cells {
        if k.passes(filter) {
            out.add(c);
        }
    }
    out
}

#[cfg(test)]
pub(crate) mod tests;
