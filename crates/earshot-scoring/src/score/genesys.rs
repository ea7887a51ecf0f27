//! Genesys Cloud's aggregation, exactly as Genesys documents it:
//!
//! ```text
//! total = Σ_g (earned_g · w_g) / Σ_g (possible_g · w_g)
//! ```
//!
//! where earned_g and possible_g sum the group's answered questions (earned =
//! the chosen option's value, possible = the highest option's value, see
//! [`super::points`]); N/A and hidden questions count 0 of 0. Unlike Earshot's
//! method a group with more points weighs more. A ZERO_SECTION failure (not a
//! Genesys feature, available when a scorecard opts in) counts the group's
//! earned points as 0. Nothing possible anywhere: `None`.

use super::{Line, SectionAggregate};
use crate::scorecard::ValidScorecard;

/// The total share in [0, 1] (or `None`) and each group's aggregate, over the
/// lines the filter keeps.
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
        .map(|(g, s)| {
            let e = earned.get(g).copied().unwrap_or(0.0);
            let p = possible.get(g).copied().unwrap_or(0.0);
            let zero = zeroed.get(g).copied().unwrap_or(false);
            let counted = p > 0.0;
            let e_used = if zero { 0.0 } else { e };
            let share = if counted {
                (e_used / p).clamp(0.0, 1.0)
            } else {
                0.0
            };
            num += e_used * s.weight;
            den += p * s.weight;
            SectionAggregate {
                earned: e,
                possible: p,
                counted,
                share,
                effective_weight: if counted { s.weight } else { 0.0 },
            }
        })
        .collect();
    let total = (den > 0.0).then(|| (num / den).clamp(0.0, 1.0));
    (total, aggs)
}
