//! Earshot's aggregation: section shares, then a section-weighted mean.
//!
//! ```text
//! section share  s_k = Σ earned_q / Σ possible_q     over answered questions of k
//! total          T   = Σ w_k · s_k / Σ w_k           over counted sections
//! ```
//!
//! A section counts when some answered question gives it possible points, or
//! when a ZERO_SECTION failure zeroed it (share 0, still counted). A section
//! that is hidden or wholly N/A drops out of both sums, so the remaining
//! sections keep their relative weights. No counted section with positive
//! weight: `None`.

use super::{Line, SectionAggregate};
use crate::scorecard::ValidScorecard;

/// The total share in [0, 1] (or `None`) and each section's aggregate, over
/// the lines the filter keeps.
pub(crate) fn aggregate(
    sc: &ValidScorecard,
    lines: &[Line],
    filter: &dyn Fn(&Line) -> bool,
    zeroed: &[bool],
) -> (Option<f64>, Vec<SectionAggregate>) {
    let sections = &sc.definition().sections;
    let mut earned = vec![0.0_f64; sections.len()];
    let mut possible = vec![0.0_f64; sections.len()];
    for l in lines.iter().filter(|l| l.answered && filter(l)) {
        if let (Some(e), Some(p)) = (earned.get_mut(l.section), possible.get_mut(l.section)) {
            *e += l.earned;
            *p += l.possible;
        }
    }
    let mut num = 0.0;
    let mut den = 0.0;
    let aggs = sections
        .iter()
        .enumerate()
        .map(|(k, s)| {
            let e = earned.get(k).copied().unwrap_or(0.0);
            let p = possible.get(k).copied().unwrap_or(0.0);
            let zero = zeroed.get(k).copied().unwrap_or(false);
            let counted = p > 0.0 || zero;
            let share = if zero || p <= 0.0 {
                0.0
            } else {
                (e / p).clamp(0.0, 1.0)
            };
            let w = if counted { s.weight } else { 0.0 };
            num += w * share;
            den += w;
            SectionAggregate {
                earned: e,
                possible: p,
                counted,
                share,
                effective_weight: w,
            }
        })
        .collect();
    let total = (den > 0.0).then(|| (num / den).clamp(0.0, 1.0));
    (total, aggs)
}
