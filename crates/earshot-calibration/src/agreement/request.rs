//! The ComputeAgreement rules: what a valid request is (shape, limits,
//! labels versus numbers, declared categories) and which results it yields.
//!
//! [`AgreementRequest::parse`] validates everything at once and returns
//! field violations named by proto field path; [`compute`] then runs the
//! requested statistics, each of which is defined for every valid request
//! (degenerate data gives an [`super::Undefined`] reason, not an error).

use std::collections::{HashMap, HashSet};

use super::cohen::{CohenWeights, cohen_kappa};
use super::fleiss::fleiss_kappa;
use super::gwet::{Weights, gwet};
use super::icc::{IccForm, IccInference, icc_from, mean_squares};
use super::krippendorff::alpha;
use super::percent::percent_agreement;
use super::{Agreement, Level, RatingsMatrix};
use crate::validation::Violations;

/// Most raters in one request.
pub const MAX_RATERS: usize = 1_000;
/// Most units in one request.
pub const MAX_UNITS: usize = 1_000_000;
/// Most cells (units x raters) in one request.
pub const MAX_CELLS: usize = 5_000_000;

/// One cell of the request's matrix.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// The rater did not rate the unit.
    Missing,
    /// A numeric rating.
    Number(f64),
    /// A category label.
    Label(String),
}

/// A statistic a caller can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum StatisticKind {
    /// Pairwise percent agreement.
    PercentAgreement,
    /// Krippendorff's alpha at the request's level.
    KrippendorffAlpha,
    /// Fleiss' kappa.
    FleissKappa,
    /// Gwet's AC1.
    GwetAc1,
    /// Gwet's AC2, linear weights.
    GwetAc2Linear,
    /// Gwet's AC2, quadratic weights.
    GwetAc2Quadratic,
    /// Cohen's kappa, per pair.
    CohenKappa,
    /// Cohen's kappa, linear weights, per pair.
    CohenKappaLinear,
    /// Cohen's kappa, quadratic weights, per pair.
    CohenKappaQuadratic,
    /// An ICC form.
    Icc(IccForm),
}

impl StatisticKind {
    /// True when the statistic compares ratings only for equality, so
    /// unordered labels suffice.
    fn nominal_only(self, level: Option<Level>) -> bool {
        match self {
            StatisticKind::PercentAgreement
            | StatisticKind::FleissKappa
            | StatisticKind::GwetAc1
            | StatisticKind::CohenKappa => true,
            StatisticKind::KrippendorffAlpha => level == Some(Level::Nominal),
            _ => false,
        }
    }
}

/// A ComputeAgreement request as received (after proto decoding).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AgreementRequest {
    /// Rater ids, one per column.
    pub rater_ids: Vec<String>,
    /// Units, each one cell per rater.
    pub units: Vec<Vec<Cell>>,
    /// Level of measurement; required for alpha.
    pub level: Option<Level>,
    /// The statistics, at least one, no repeats.
    pub statistics: Vec<StatisticKind>,
    /// Ordered possible labels (label ratings only).
    pub categories: Vec<String>,
    /// Possible values (numeric ratings only).
    pub category_values: Vec<f64>,
}

/// A validated request, ready to compute.
#[derive(Debug, Clone, PartialEq)]
pub struct ParsedRequest {
    /// The ratings (labels replaced by their position).
    pub matrix: RatingsMatrix,
    /// Rater ids, one per column.
    pub rater_ids: Vec<String>,
    /// Level of measurement.
    pub level: Option<Level>,
    /// The statistics, in request order.
    pub statistics: Vec<StatisticKind>,
    /// Possible category values (declared, as numbers).
    pub declared: Vec<f64>,
}

/// One result of a request.
#[derive(Debug, Clone, PartialEq)]
pub struct StatisticResult {
    /// Which statistic.
    pub kind: StatisticKind,
    /// The level it was computed at, for alpha.
    pub level: Option<Level>,
    /// The outcome.
    pub agreement: Agreement,
    /// For Cohen kinds: the two raters (column indices).
    pub rater_pair: Option<(usize, usize)>,
    /// For ICC kinds: F test and interval.
    pub icc: Option<IccInference>,
}

impl AgreementRequest {
    /// Validates the request; every problem is reported.
    pub fn parse(self) -> Result<ParsedRequest, Violations> {
        let mut v = Violations::new();
        let raters = self.rater_ids.len();
        if raters == 0 {
            v.push("ratings.rater_ids", "at least one rater is required");
        } else if raters > MAX_RATERS {
            v.push("ratings.rater_ids", format!("at most {MAX_RATERS} raters"));
        }
        let mut seen = HashSet::new();
        for (i, id) in self.rater_ids.iter().enumerate() {
            if !seen.insert(id.as_str()) {
                v.push(format!("ratings.rater_ids[{i}]"), "duplicate rater id");
            }
        }
        if self.units.is_empty() {
            v.push("ratings.units", "at least one unit is required");
        } else if self.units.len() > MAX_UNITS {
            v.push("ratings.units", format!("at most {MAX_UNITS} units"));
        }
        if self.units.len().saturating_mul(raters) > MAX_CELLS {
            v.push(
                "ratings",
                format!("at most {MAX_CELLS} cells (units x raters)"),
            );
        }
        if self.statistics.is_empty() {
            v.push("statistics", "ask for at least one statistic");
        }
        let mut kinds = HashSet::new();
        for (i, k) in self.statistics.iter().enumerate() {
            if !kinds.insert(*k) {
                v.push(format!("statistics[{i}]"), "repeated statistic");
            }
        }
        if self.statistics.contains(&StatisticKind::KrippendorffAlpha) && self.level.is_none() {
            v.push("level", "required for Krippendorff's alpha");
        }
        if !v.is_empty() {
            return Err(v);
        }

        let has_labels = self
            .units
            .iter()
            .flatten()
            .any(|c| matches!(c, Cell::Label(_)));
        let has_numbers = self
            .units
            .iter()
            .flatten()
            .any(|c| matches!(c, Cell::Number(_)));
        if has_labels && has_numbers {
            v.push("ratings", "a matrix holds numbers or labels, not both");
            return Err(v);
        }
        let needs_order = self.statistics.iter().any(|k| !k.nominal_only(self.level));

        // Labels become numbers: their 1-based position in `categories`, or
        // (nominal statistics without categories) their order of appearance.
        let mut positions: HashMap<String, f64> = HashMap::new();
        let declared: Vec<f64> = if has_labels || (!self.categories.is_empty() && !has_numbers) {
            if !self.category_values.is_empty() {
                v.push(
                    "category_values",
                    "only with numeric ratings; use categories for labels",
                );
            }
            for (i, c) in self.categories.iter().enumerate() {
                if c.is_empty() {
                    v.push(format!("categories[{i}]"), "must not be empty");
                } else if positions.insert(c.clone(), (i + 1) as f64).is_some() {
                    v.push(format!("categories[{i}]"), "duplicate category");
                }
            }
            if self.categories.is_empty() && needs_order {
                v.push(
                    "categories",
                    "label ratings need the ordered list of categories for ordinal, interval, ratio, weighted and ICC statistics",
                );
            }
            (1..=self.categories.len())
                .map(|i| i as f64)
                .collect::<Vec<f64>>()
        } else {
            if !self.categories.is_empty() {
                v.push(
                    "categories",
                    "only with label ratings; use category_values for numbers",
                );
            }
            let mut seen = HashSet::new();
            for (i, x) in self.category_values.iter().enumerate() {
                if !x.is_finite() {
                    v.push(format!("category_values[{i}]"), "must be a finite number");
                } else if !seen.insert((x + 0.0).to_bits()) {
                    v.push(format!("category_values[{i}]"), "duplicate value");
                }
            }
            self.category_values
                .iter()
                .copied()
                .filter(|x| x.is_finite())
                .collect()
        };
        let check_declared_numbers = has_numbers && !declared.is_empty();
        let declared_bits: HashSet<u64> = declared.iter().map(|x| (x + 0.0).to_bits()).collect();
        let ratio = self.level == Some(Level::Ratio)
            && self.statistics.contains(&StatisticKind::KrippendorffAlpha);

        let mut next_code = 1.0;
        let mut rows: Vec<Vec<Option<f64>>> = Vec::with_capacity(self.units.len());
        for (u, unit) in self.units.iter().enumerate() {
            if unit.len() != raters {
                v.push(
                    format!("ratings.units[{u}].ratings"),
                    format!("has {} ratings; every unit needs one per rater ({raters}), unset when missing", unit.len()),
                );
                continue;
            }
            let mut row = Vec::with_capacity(raters);
            for (r, cell) in unit.iter().enumerate() {
                let field = || format!("ratings.units[{u}].ratings[{r}]");
                row.push(match cell {
                    Cell::Missing => None,
                    Cell::Number(x) => {
                        if !x.is_finite() {
                            v.push(field(), "must be a finite number");
                            None
                        } else if ratio && *x < 0.0 {
                            v.push(field(), "ratio-level ratings must not be negative");
                            None
                        } else if check_declared_numbers
                            && !declared_bits.contains(&(x + 0.0).to_bits())
                        {
                            v.push(field(), "not among category_values");
                            None
                        } else {
                            Some(*x)
                        }
                    }
                    Cell::Label(label) => match positions.get(label) {
                        Some(&p) => Some(p),
                        None if self.categories.is_empty() => {
                            let p = next_code;
                            positions.insert(label.clone(), p);
                            next_code += 1.0;
                            Some(p)
                        }
                        None => {
                            v.push(field(), format!("label {label:?} is not among categories"));
                            None
                        }
                    },
                });
            }
            rows.push(row);
        }
        if !v.is_empty() {
            return Err(v);
        }
        let matrix = RatingsMatrix::from_rows(raters, &rows)?;
        Ok(ParsedRequest {
            matrix,
            rater_ids: self.rater_ids,
            level: self.level,
            statistics: self.statistics,
            declared,
        })
    }
}

/// Runs every requested statistic, in request order; Cohen kinds give one
/// result per rater pair (i < j, in matrix order).
pub fn compute(req: &ParsedRequest) -> Vec<StatisticResult> {
    let m = &req.matrix;
    let mut out = Vec::new();
    let ms = if req
        .statistics
        .iter()
        .any(|k| matches!(k, StatisticKind::Icc(_)))
    {
        Some(mean_squares(m))
    } else {
        None
    };
    for &kind in &req.statistics {
        let simple = |agreement: Agreement| StatisticResult {
            kind,
            level: None,
            agreement,
            rater_pair: None,
            icc: None,
        };
        match kind {
            StatisticKind::PercentAgreement => out.push(simple(percent_agreement(m))),
            StatisticKind::KrippendorffAlpha => {
                let level = req.level.unwrap_or(Level::Nominal);
                let mut r = simple(alpha(m, level));
                r.level = Some(level);
                out.push(r);
            }
            StatisticKind::FleissKappa => out.push(simple(fleiss_kappa(m))),
            StatisticKind::GwetAc1 => out.push(simple(gwet(m, Weights::Identity, &req.declared))),
            StatisticKind::GwetAc2Linear => {
                out.push(simple(gwet(m, Weights::Linear, &req.declared)))
            }
            StatisticKind::GwetAc2Quadratic => {
                out.push(simple(gwet(m, Weights::Quadratic, &req.declared)))
            }
            StatisticKind::CohenKappa
            | StatisticKind::CohenKappaLinear
            | StatisticKind::CohenKappaQuadratic => {
                let w = match kind {
                    StatisticKind::CohenKappaLinear => CohenWeights::Linear,
                    StatisticKind::CohenKappaQuadratic => CohenWeights::Quadratic,
                    _ => CohenWeights::Unweighted,
                };
                let k = m.rater_count();
                if k < 2 {
                    out.push(simple(cohen_kappa(m, 0, 0, w)));
                }
                for a in 0..k {
                    for b in a + 1..k {
                        let mut r = simple(cohen_kappa(m, a, b, w));
                        r.rater_pair = Some((a, b));
                        out.push(r);
                    }
                }
            }
            StatisticKind::Icc(form) => {
                let icc = match ms {
                    Some(Ok(ms)) => icc_from(&ms, form),
                    _ => super::icc::icc(m, form),
                };
                let mut r = simple(icc.agreement);
                r.icc = Some(icc.inference);
                out.push(r);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agreement::Undefined;

    fn numbers(rows: &[&[Option<f64>]]) -> Vec<Vec<Cell>> {
        rows.iter()
            .map(|r| {
                r.iter()
                    .map(|c| c.map_or(Cell::Missing, Cell::Number))
                    .collect()
            })
            .collect()
    }

    fn labels(rows: &[&[&str]]) -> Vec<Vec<Cell>> {
        rows.iter()
            .map(|r| {
                r.iter()
                    .map(|c| {
                        if c.is_empty() {
                            Cell::Missing
                        } else {
                            Cell::Label((*c).to_owned())
                        }
                    })
                    .collect()
            })
            .collect()
    }

    fn ids(n: usize) -> Vec<String> {
        (0..n).map(|i| format!("r{i}")).collect()
    }

    #[test]
    fn valid_numeric_request_computes_every_statistic() {
        let req = AgreementRequest {
            rater_ids: ids(3),
            units: numbers(&[
                &[Some(1.0), Some(2.0), Some(1.0)],
                &[Some(3.0), Some(3.0), None],
                &[Some(2.0), Some(2.0), Some(2.0)],
                &[Some(1.0), Some(1.0), Some(3.0)],
            ]),
            level: Some(Level::Ordinal),
            statistics: vec![
                StatisticKind::KrippendorffAlpha,
                StatisticKind::CohenKappa,
                StatisticKind::Icc(IccForm::Icc21),
                StatisticKind::GwetAc2Linear,
            ],
            categories: vec![],
            category_values: vec![1.0, 2.0, 3.0, 4.0],
        };
        let parsed = req.parse().unwrap();
        let results = compute(&parsed);
        // alpha, 3 Cohen pairs, ICC, AC2.
        assert_eq!(results.len(), 6);
        assert_eq!(results[0].level, Some(Level::Ordinal));
        assert_eq!(results[1].rater_pair, Some((0, 1)));
        assert_eq!(results[3].rater_pair, Some((1, 2)));
        assert!(results[4].icc.is_some());
        assert_eq!(results[4].agreement.units_used, 3);
        for r in &results {
            if let Ok(v) = r.agreement.value {
                assert!(v.is_finite());
            }
        }
    }

    #[test]
    fn labels_map_to_positions_or_appearance() {
        let ordered = AgreementRequest {
            rater_ids: ids(2),
            units: labels(&[&["low", "mid"], &["high", "high"], &["low", ""]]),
            level: Some(Level::Interval),
            statistics: vec![StatisticKind::KrippendorffAlpha],
            categories: vec!["low".into(), "mid".into(), "high".into()],
            category_values: vec![],
        }
        .parse()
        .unwrap();
        assert_eq!(ordered.matrix.unit(0).0, &[1.0, 2.0]);
        assert_eq!(ordered.matrix.unit(1).0, &[3.0, 3.0]);
        assert_eq!(ordered.declared, vec![1.0, 2.0, 3.0]);

        let nominal = AgreementRequest {
            rater_ids: ids(2),
            units: labels(&[&["b", "a"], &["a", "a"]]),
            level: None,
            statistics: vec![StatisticKind::FleissKappa, StatisticKind::PercentAgreement],
            ..Default::default()
        }
        .parse()
        .unwrap();
        assert_eq!(nominal.matrix.unit(0).0, &[1.0, 2.0]);
        let results = compute(&nominal);
        assert_eq!(results[1].agreement.value, Ok(0.5));
    }

    #[test]
    fn reports_every_violation_with_its_field() {
        let err = AgreementRequest {
            rater_ids: vec!["a".into(), "a".into()],
            units: vec![],
            level: None,
            statistics: vec![
                StatisticKind::KrippendorffAlpha,
                StatisticKind::KrippendorffAlpha,
            ],
            ..Default::default()
        }
        .parse()
        .unwrap_err();
        for f in [
            "ratings.rater_ids[1]",
            "ratings.units",
            "statistics[1]",
            "level",
        ] {
            assert!(err.has_field(f), "{f}: {err}");
        }

        let err = AgreementRequest {
            rater_ids: ids(2),
            units: vec![
                vec![Cell::Number(f64::NAN), Cell::Number(-1.0)],
                vec![Cell::Number(9.0)],
                vec![Cell::Number(1.0), Cell::Number(7.0)],
            ],
            level: Some(Level::Ratio),
            statistics: vec![StatisticKind::KrippendorffAlpha],
            categories: vec![],
            category_values: vec![1.0, 2.0, 2.0, -1.0],
        }
        .parse()
        .unwrap_err();
        for f in [
            "ratings.units[0].ratings[0]",
            "ratings.units[0].ratings[1]",
            "ratings.units[1].ratings",
            "ratings.units[2].ratings[1]",
            "category_values[2]",
        ] {
            assert!(err.has_field(f), "{f}: {err}");
        }

        let mixed = AgreementRequest {
            rater_ids: ids(2),
            units: vec![vec![Cell::Number(1.0), Cell::Label("x".into())]],
            statistics: vec![StatisticKind::PercentAgreement],
            ..Default::default()
        };
        assert!(mixed.parse().unwrap_err().has_field("ratings"));

        let unordered = AgreementRequest {
            rater_ids: ids(2),
            units: labels(&[&["x", "y"]]),
            statistics: vec![StatisticKind::Icc(IccForm::Icc11)],
            ..Default::default()
        };
        assert!(unordered.parse().unwrap_err().has_field("categories"));

        let unknown = AgreementRequest {
            rater_ids: ids(2),
            units: labels(&[&["x", "z"]]),
            statistics: vec![StatisticKind::PercentAgreement],
            categories: vec!["x".into(), "y".into(), "x".into()],
            ..Default::default()
        };
        let err = unknown.parse().unwrap_err();
        assert!(err.has_field("categories[2]"));
        assert!(err.has_field("ratings.units[0].ratings[1]"));
    }

    #[test]
    fn one_rater_gets_defined_answers() {
        let parsed = AgreementRequest {
            rater_ids: ids(1),
            units: numbers(&[&[Some(1.0)], &[Some(2.0)]]),
            level: Some(Level::Interval),
            statistics: vec![
                StatisticKind::KrippendorffAlpha,
                StatisticKind::CohenKappa,
                StatisticKind::Icc(IccForm::Icc11),
            ],
            ..Default::default()
        }
        .parse()
        .unwrap();
        let results = compute(&parsed);
        assert_eq!(results.len(), 3);
        for r in results {
            assert_eq!(r.agreement.value, Err(Undefined::TooFewRaters));
        }
    }
}
