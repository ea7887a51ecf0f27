//! Conditional visibility: which sections and questions are shown for a given
//! set of answers.
//!
//! Conditions refer only to earlier questions (see
//! [`crate::scorecard::conditions`]), so one pass in scorecard order decides
//! everything. A predicate holds when the question it tests is visible and
//! has an accepted answer matching the expectation; a hidden, unanswered or
//! N/A question matches nothing. A question is visible when its section is and
//! its own condition (if any) holds. Hidden questions count as N/A in the
//! score.

use crate::answers::{Accepted, Resolved};
use crate::scorecard::CombiningOperation;
use crate::scorecard::ValidScorecard;
use crate::scorecard::conditions::{CompiledCondition, CompiledExpected};

/// Which sections and questions are shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Visibility {
    sections: Vec<bool>,
    questions: Vec<bool>,
}

impl Visibility {
    /// Whether the section at `index` is shown.
    pub fn section_visible(&self, index: usize) -> bool {
        self.sections.get(index).copied().unwrap_or(false)
    }

    /// Whether the question at flat `index` (scorecard order) is shown.
    pub fn question_visible(&self, index: usize) -> bool {
        self.questions.get(index).copied().unwrap_or(false)
    }
}

/// Decides visibility for accepted answers (one slot per question).
pub(crate) fn resolve(sc: &ValidScorecard, slots: &[Option<Accepted>]) -> Visibility {
    let mut v = Visibility {
        sections: vec![false; sc.compiled_sections().len()],
        questions: vec![false; sc.question_count()],
    };
    for (si, cs) in sc.compiled_sections().iter().enumerate() {
        let shown = cs.visible_when.as_ref().is_none_or(|c| holds(c, &v, slots));
        if let Some(s) = v.sections.get_mut(si) {
            *s = shown;
        }
        for flat in cs.questions.clone() {
            let q_shown = shown
                && sc
                    .question(flat)
                    .and_then(|(_, cq)| cq.visible_when.as_ref())
                    .is_none_or(|c| holds(c, &v, slots));
            if let Some(q) = v.questions.get_mut(flat) {
                *q = q_shown;
            }
        }
    }
    v
}

fn holds(c: &CompiledCondition, v: &Visibility, slots: &[Option<Accepted>]) -> bool {
    let one = |p: &crate::scorecard::conditions::CompiledPredicate| {
        if !v.question_visible(p.question) {
            return false;
        }
        let Some(Some(a)) = slots.get(p.question) else {
            return false;
        };
        match (p.expected.clone(), a.value) {
            (CompiledExpected::Yes(want), Resolved::Yes(got)) => want == got,
            (CompiledExpected::Option(want), Resolved::Option(got)) => want == got,
            (CompiledExpected::Scale(lo, hi), Resolved::Scale(got)) => (lo..=hi).contains(&got),
            _ => false,
        }
    };
    match c.operation {
        CombiningOperation::All => c.predicates.iter().all(one),
        CombiningOperation::Any => c.predicates.iter().any(one),
    }
}
