//! What one answered question earns, and whether it fails.
//!
//! | kind    | share (Earshot)               | raw points (Genesys)       | fails when           |
//! |---------|-------------------------------|----------------------------|----------------------|
//! | yes/no  | 1 if pass_answer, else 0      | 1 or 0, best 1             | answer ≠ pass_answer |
//! | scale   | (v − min) / (max − min)       | v − min, best max − min    | v < pass_from        |
//! | choice  | points / best option's points | points, best = max points  | points < best        |
//!
//! Earshot: earned = weight × share, possible = weight. Genesys: earned =
//! weight × raw points, possible = weight × best raw points (imported Genesys
//! forms have weight 1, so this is exactly "the chosen option's value out of
//! the highest option's value").

use crate::answers::Resolved;
use crate::scorecard::ScoringMethod;
use crate::scorecard::validate::CompiledKind;

/// Earned and possible points of one answered question; both finite, with
/// `0 <= earned <= possible`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Points {
    pub(crate) earned: f64,
    pub(crate) possible: f64,
}

/// The raw points of an answer and the best raw points of its question.
fn raw(kind: &CompiledKind, value: Resolved) -> Option<(f64, f64)> {
    match (kind, value) {
        (CompiledKind::YesNo { pass_answer }, Resolved::Yes(b)) => {
            Some((if b == *pass_answer { 1.0 } else { 0.0 }, 1.0))
        }
        (CompiledKind::Scale { min, max, .. }, Resolved::Scale(v)) => Some((
            f64::from(v) - f64::from(*min),
            f64::from(*max) - f64::from(*min),
        )),
        (CompiledKind::Choice { points, best }, Resolved::Option(i)) => {
            points.get(i).map(|p| (*p, *best))
        }
        _ => None,
    }
}

/// Points for an answer under a method; `None` for N/A (or a value that does
/// not fit the kind, which [`crate::answers`] never lets through).
pub(crate) fn points(
    method: ScoringMethod,
    kind: &CompiledKind,
    weight: f64,
    value: Resolved,
) -> Option<Points> {
    let (got, best) = raw(kind, value)?;
    // Validation guarantees best > 0 (scale max > min; some option positive)
    // and 0 <= got <= best; clamp anyway so no input can leave the range.
    if best.is_nan() || best <= 0.0 {
        return None;
    }
    let got = got.clamp(0.0, best);
    Some(match method {
        ScoringMethod::Earshot => Points {
            earned: weight * (got / best),
            possible: weight,
        },
        ScoringMethod::Genesys => Points {
            earned: weight * got,
            possible: weight * best,
        },
    })
}

/// Whether an answer fails its question (N/A never fails).
pub(crate) fn fails(kind: &CompiledKind, value: Resolved) -> bool {
    match (kind, value) {
        (CompiledKind::YesNo { pass_answer }, Resolved::Yes(b)) => b != *pass_answer,
        (CompiledKind::Scale { pass_from, .. }, Resolved::Scale(v)) => v < *pass_from,
        (CompiledKind::Choice { points, best }, Resolved::Option(i)) => {
            points.get(i).is_some_and(|p| p < best)
        }
        _ => false,
    }
}
