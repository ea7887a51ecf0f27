//! Conditional visibility rules: what a condition may refer to.
//!
//! A question's condition may refer only to questions that come EARLIER in
//! the scorecard; a section's condition only to questions of earlier
//! sections. That single rule makes visibility computable in one pass in
//! scorecard order and rules out cycles; the checks below still name a cycle
//! as such (a condition on itself, or a chain of forward references that
//! closes) because "points forward" alone would hide the real mistake.
//!
//! Reported per predicate: unknown question, a reference to itself or
//! forward, an expected answer missing or of the wrong kind (an option the
//! question does not have, an empty or inverted scale range). Per condition:
//! 1..=20 predicates.

use std::collections::{HashMap, HashSet};

use super::model::{
    AnswerPredicate, CombiningOperation, ExpectedAnswer, QuestionKind, ScorecardDefinition,
    VisibilityCondition,
};
use crate::violation::Collector;

/// The most predicates in one condition.
pub const MAX_PREDICATES: usize = 20;

/// A condition with references resolved to flat question indexes.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CompiledCondition {
    pub(crate) operation: CombiningOperation,
    pub(crate) predicates: Vec<CompiledPredicate>,
}

/// One predicate, resolved.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CompiledPredicate {
    /// Flat index of the question tested.
    pub(crate) question: usize,
    pub(crate) expected: CompiledExpected,
}

/// The expected answer, resolved.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum CompiledExpected {
    Yes(bool),
    /// Index of the option within the choice question.
    Option(usize),
    Scale(i32, i32),
}

type Conditions = (
    Vec<Option<CompiledCondition>>,
    Vec<Option<CompiledCondition>>,
);

/// Checks every condition; returns the compiled conditions per section and
/// per flat question (meaningful only when no violation was pushed).
pub(crate) fn check(
    d: &ScorecardDefinition,
    index: &HashMap<String, usize>,
    c: &mut Collector,
) -> Conditions {
    // Flat index -> (section, position), and each section's first flat index.
    let mut place = Vec::new();
    let mut section_start = Vec::with_capacity(d.sections.len());
    for (si, s) in d.sections.iter().enumerate() {
        section_start.push(place.len());
        for qi in 0..s.questions.len() {
            place.push((si, qi));
        }
    }

    // Edges for cycle detection: flat question -> questions it depends on.
    let mut edges: Vec<Vec<usize>> = vec![Vec::new(); place.len()];
    let mut section_conds = Vec::with_capacity(d.sections.len());
    let mut question_conds = Vec::with_capacity(place.len());

    for (si, s) in d.sections.iter().enumerate() {
        let f = format!("sections[{si}].visible_when");
        let start = section_start.get(si).copied().unwrap_or(0);
        let compiled = s.visible_when.as_ref().map(|cond| {
            check_condition(d, index, &place, c, &f, cond, Owner::Section { si, start })
        });
        let refs = references(index, s.visible_when.as_ref());
        for flat in start..start + s.questions.len() {
            if let Some(e) = edges.get_mut(flat) {
                e.extend(refs.iter().copied());
            }
        }
        section_conds.push(compiled.flatten());
    }
    for (flat, &(si, qi)) in place.iter().enumerate() {
        let q = &d.sections[si].questions[qi];
        let f = format!("sections[{si}].questions[{qi}].visible_when");
        let compiled = q
            .visible_when
            .as_ref()
            .map(|cond| check_condition(d, index, &place, c, &f, cond, Owner::Question { flat }));
        if let Some(e) = edges.get_mut(flat) {
            e.extend(references(index, q.visible_when.as_ref()));
        }
        question_conds.push(compiled.flatten());
    }
    report_cycles(d, &place, &edges, c);
    (section_conds, question_conds)
}

/// The flat indexes a condition refers to, valid or not (for cycle search).
fn references(index: &HashMap<String, usize>, cond: Option<&VisibilityCondition>) -> Vec<usize> {
    cond.map(|c| {
        c.predicates
            .iter()
            .filter_map(|p| index.get(&p.question_id).copied())
            .collect()
    })
    .unwrap_or_default()
}

#[derive(Clone, Copy)]
enum Owner {
    Section { si: usize, start: usize },
    Question { flat: usize },
}

fn check_condition(
    d: &ScorecardDefinition,
    index: &HashMap<String, usize>,
    place: &[(usize, usize)],
    c: &mut Collector,
    f: &str,
    cond: &VisibilityCondition,
    owner: Owner,
) -> Option<CompiledCondition> {
    let mut ok = true;
    if cond.predicates.is_empty() {
        c.push(
            format!("{f}.predicates"),
            "a condition needs at least one predicate",
        );
        ok = false;
    }
    if cond.predicates.len() > MAX_PREDICATES {
        c.push(
            format!("{f}.predicates"),
            format!("at most {MAX_PREDICATES} predicates"),
        );
        ok = false;
    }
    let mut predicates = Vec::with_capacity(cond.predicates.len());
    for (pi, p) in cond.predicates.iter().enumerate() {
        let pf = format!("{f}.predicates[{pi}]");
        match check_predicate(d, index, place, c, &pf, p, owner) {
            Some(cp) => predicates.push(cp),
            None => ok = false,
        }
    }
    ok.then_some(CompiledCondition {
        operation: cond.operation,
        predicates,
    })
}

fn check_predicate(
    d: &ScorecardDefinition,
    index: &HashMap<String, usize>,
    place: &[(usize, usize)],
    c: &mut Collector,
    pf: &str,
    p: &AnswerPredicate,
    owner: Owner,
) -> Option<CompiledPredicate> {
    let qf = format!("{pf}.question_id");
    let Some(&target) = index.get(&p.question_id) else {
        c.push(
            qf,
            format!("refers to unknown question '{}'", p.question_id),
        );
        return None;
    };
    let &(tsi, tqi) = place.get(target)?;
    let mut ok = true;
    match owner {
        Owner::Question { flat } if target == flat => {
            c.push(
                &qf,
                "a question's condition cannot refer to the question itself (a cycle)",
            );
            ok = false;
        }
        Owner::Question { flat } if target > flat => {
            c.push(
                &qf,
                format!(
                    "points forward to '{}': a condition may only refer to earlier questions",
                    p.question_id
                ),
            );
            ok = false;
        }
        Owner::Section { si, start } if target >= start => {
            let why = if tsi == si {
                "a section's condition cannot refer to its own questions"
            } else {
                "a section's condition may only refer to questions of earlier sections"
            };
            c.push(&qf, format!("points forward to '{}': {why}", p.question_id));
            ok = false;
        }
        _ => {}
    }
    let kind = d
        .sections
        .get(tsi)
        .and_then(|s| s.questions.get(tqi))
        .and_then(|q| q.kind.as_ref());
    let ef = format!("{pf}.expected");
    let expected = match (&p.expected, kind) {
        (None, _) => {
            c.push(ef, "the expected answer is required");
            None
        }
        // The target's own kind is reported where it is defined.
        (Some(_), None) => None,
        (Some(ExpectedAnswer::Yes(b)), Some(QuestionKind::YesNo { .. })) => {
            Some(CompiledExpected::Yes(*b))
        }
        (Some(ExpectedAnswer::OptionId(id)), Some(QuestionKind::Choice { options })) => {
            match options.iter().position(|o| &o.id == id) {
                Some(oi) => Some(CompiledExpected::Option(oi)),
                None => {
                    c.push(
                        format!("{pf}.option_id"),
                        format!("question '{}' has no option '{id}'", p.question_id),
                    );
                    None
                }
            }
        }
        (Some(ExpectedAnswer::ScaleRange { min, max }), Some(QuestionKind::Scale { .. })) => {
            if min > max {
                c.push(format!("{pf}.scale_range"), "min must not exceed max");
                None
            } else {
                Some(CompiledExpected::Scale(*min, *max))
            }
        }
        (Some(_), Some(k)) => {
            let kind_name = match k {
                QuestionKind::YesNo { .. } => "yes_no (expect `yes`)",
                QuestionKind::Scale { .. } => "scale (expect `scale_range`)",
                QuestionKind::Choice { .. } => "choice (expect `option_id`)",
            };
            c.push(
                ef,
                format!(
                    "wrong kind of expected answer: '{}' is {kind_name}",
                    p.question_id
                ),
            );
            None
        }
    };
    if !ok {
        return None;
    }
    expected.map(|expected| CompiledPredicate {
        question: target,
        expected,
    })
}

/// Reports every cycle of the dependency graph once, at the condition of its
/// first question in scorecard order.
fn report_cycles(
    d: &ScorecardDefinition,
    place: &[(usize, usize)],
    edges: &[Vec<usize>],
    c: &mut Collector,
) {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        OnStack,
        Done,
    }
    let n = edges.len();
    let mut mark = vec![Mark::New; n];
    let mut seen_cycles: HashSet<Vec<usize>> = HashSet::new();
    let name = |flat: usize| -> String {
        place
            .get(flat)
            .and_then(|&(si, qi)| d.sections.get(si)?.questions.get(qi))
            .map(|q| q.id.clone())
            .unwrap_or_default()
    };
    for root in 0..n {
        if mark[root] != Mark::New {
            continue;
        }
        // Iterative DFS: (node, next edge to follow).
        let mut stack: Vec<(usize, usize)> = vec![(root, 0)];
        mark[root] = Mark::OnStack;
        while let Some(&mut (node, ref mut next)) = stack.last_mut() {
            let out = edges.get(node).map(Vec::as_slice).unwrap_or(&[]);
            if let Some(&to) = out.get(*next) {
                *next += 1;
                match mark.get(to).copied() {
                    Some(Mark::New) => {
                        mark[to] = Mark::OnStack;
                        stack.push((to, 0));
                    }
                    Some(Mark::OnStack) => {
                        // Self-references are reported by check_predicate.
                        if to == node {
                            continue;
                        }
                        let from = stack.iter().position(|&(x, _)| x == to).unwrap_or(0);
                        let mut cycle: Vec<usize> = stack[from..].iter().map(|&(x, _)| x).collect();
                        let mut key = cycle.clone();
                        key.sort_unstable();
                        if seen_cycles.insert(key) {
                            let first = cycle.iter().copied().min().unwrap_or(to);
                            // Rotate so the path starts at the first question.
                            if let Some(pos) = cycle.iter().position(|&x| x == first) {
                                cycle.rotate_left(pos);
                            }
                            let mut path: Vec<String> = cycle.iter().map(|&x| name(x)).collect();
                            path.push(name(first));
                            let (si, qi) = place.get(first).copied().unwrap_or((0, 0));
                            c.push(
                                format!("sections[{si}].questions[{qi}].visible_when"),
                                format!("conditions form a cycle: {}", path.join(" -> ")),
                            );
                        }
                    }
                    _ => {}
                }
            } else {
                mark[node] = Mark::Done;
                stack.pop();
            }
        }
    }
}
