//! The scorecard rules, and [`ValidScorecard`]: a definition proven to keep
//! them, compiled for scoring.
//!
//! Rules (each reported with its field path; all are reported at once):
//! - name 1..=200 characters, description up to 4,000, at most 32 labels;
//! - pass mark finite in [0, 100];
//! - bands: names non-empty and unique, bounds finite in [0, 100] with
//!   min < max, and together either absent or covering [0, 100] with no gap
//!   and no overlap;
//! - 1..=100 sections and at most 500 questions; every section has at least
//!   one question;
//! - ids (sections and questions share one namespace; options are per
//!   question) are 1..=64 characters of `[A-Za-z0-9_.-]`, never repeated;
//! - weights finite in [0, 1,000,000]; not all section weights zero; not all
//!   question weights of a section zero;
//! - every question has a kind; scales have min < max within [-1000, 1000]
//!   and pass_from within [min, max]; choices have 2..=50 options with unique
//!   ids, every option has points (finite, in [0, 1,000,000]) and at least one
//!   has positive points;
//! - visibility conditions: see [`super::conditions`].

use std::collections::HashMap;

use super::conditions::{self, CompiledCondition};
use super::model::{
    ChoiceOption, FailureConsequence, Question, QuestionKind, ScoreBand, ScorecardDefinition,
    ScoringMethod,
};
use crate::violation::{Collector, Violations};

/// The most sections a scorecard may have.
pub const MAX_SECTIONS: usize = 100;
/// The most questions a scorecard may have, over all sections.
pub const MAX_QUESTIONS: usize = 500;
/// The most options a choice question may have.
pub const MAX_OPTIONS: usize = 50;
/// The largest weight or option points value.
pub const MAX_WEIGHT: f64 = 1_000_000.0;
/// Scale bounds must lie within ±this.
pub const MAX_SCALE_ABS: i32 = 1_000;

/// A scorecard definition that keeps every rule, compiled for scoring.
///
/// The only way to get one is [`ValidScorecard::parse`]; the score math takes
/// nothing else, so it never meets a zero denominator it did not expect, a
/// dangling reference or a non-finite weight.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidScorecard {
    definition: ScorecardDefinition,
    questions: Vec<CompiledQuestion>,
    sections: Vec<CompiledSection>,
    index: HashMap<String, usize>,
}

/// A section, compiled.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CompiledSection {
    /// Flat indexes of its questions, in order.
    pub(crate) questions: std::ops::Range<usize>,
    /// Its visibility condition.
    pub(crate) visible_when: Option<CompiledCondition>,
}

/// A question, compiled: kind resolved, options' points known.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CompiledQuestion {
    /// Index of its section.
    pub(crate) section: usize,
    /// Index within the section.
    pub(crate) position: usize,
    /// The resolved kind.
    pub(crate) kind: CompiledKind,
    /// Its visibility condition.
    pub(crate) visible_when: Option<CompiledCondition>,
}

/// A question kind with every optional part resolved.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum CompiledKind {
    YesNo { pass_answer: bool },
    Scale { min: i32, max: i32, pass_from: i32 },
    Choice { points: Vec<f64>, best: f64 },
}

impl ValidScorecard {
    /// Checks every rule and compiles the definition, or returns every
    /// violation found.
    pub fn parse(definition: ScorecardDefinition) -> Result<Self, Violations> {
        let mut c = Collector::default();
        check_header(&definition, &mut c);
        check_bands(&definition.bands, &mut c);
        let (questions, sections, index) = check_structure(&definition, &mut c);
        // Conditions need the id index; run them even when other rules failed
        // so a caller sees everything at once.
        let (section_conds, question_conds) = conditions::check(&definition, &index, &mut c);
        if !c.is_empty() {
            return Err(Violations(c.into_vec()));
        }
        let sections = sections
            .into_iter()
            .zip(section_conds)
            .map(|(questions, visible_when)| CompiledSection {
                questions,
                visible_when,
            })
            .collect();
        let questions = questions
            .into_iter()
            .zip(question_conds)
            .filter_map(|(q, visible_when)| {
                q.map(|(section, position, kind)| CompiledQuestion {
                    section,
                    position,
                    kind,
                    visible_when,
                })
            })
            .collect();
        Ok(Self {
            definition,
            questions,
            sections,
            index,
        })
    }

    /// The definition as written.
    pub fn definition(&self) -> &ScorecardDefinition {
        &self.definition
    }

    /// Gives the definition back.
    pub fn into_definition(self) -> ScorecardDefinition {
        self.definition
    }

    /// The scoring method.
    pub fn scoring_method(&self) -> ScoringMethod {
        self.definition.scoring_method
    }

    /// The number of questions over all sections.
    pub fn question_count(&self) -> usize {
        self.questions.len()
    }

    /// The flat index (scorecard order) of a question id.
    pub fn question_index(&self, id: &str) -> Option<usize> {
        self.index.get(id).copied()
    }

    /// The question at a flat index.
    pub(crate) fn question(&self, flat: usize) -> Option<(&Question, &CompiledQuestion)> {
        let cq = self.questions.get(flat)?;
        let q = self
            .definition
            .sections
            .get(cq.section)?
            .questions
            .get(cq.position)?;
        Some((q, cq))
    }

    /// Every question with its compiled form, in scorecard order.
    pub(crate) fn questions(&self) -> impl Iterator<Item = (&Question, &CompiledQuestion)> {
        self.questions.iter().filter_map(|cq| {
            let q = self
                .definition
                .sections
                .get(cq.section)?
                .questions
                .get(cq.position)?;
            Some((q, cq))
        })
    }

    /// The compiled sections, in order.
    pub(crate) fn compiled_sections(&self) -> &[CompiledSection] {
        &self.sections
    }

    /// The flat index of a choice option id for the question at `flat`.
    pub(crate) fn option_index(&self, flat: usize, option_id: &str) -> Option<usize> {
        let (q, _) = self.question(flat)?;
        match &q.kind {
            Some(QuestionKind::Choice { options }) => {
                options.iter().position(|o| o.id == option_id)
            }
            _ => None,
        }
    }
}

/// Whether `id` is 1..=64 characters of `[A-Za-z0-9_.-]`.
pub(crate) fn is_valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

fn check_text(c: &mut Collector, field: &str, value: &str, required: bool, max: usize) {
    if required && value.trim().is_empty() {
        c.push(field, "is required");
    } else if value.chars().count() > max {
        c.push(field, format!("must be at most {max} characters"));
    }
}

/// Checks a weight or points value; true when it is usable.
fn check_weight(c: &mut Collector, field: &str, w: f64) -> bool {
    if !w.is_finite() {
        c.push(field, "must be a finite number");
    } else if w < 0.0 {
        c.push(field, "must not be negative");
    } else if w > MAX_WEIGHT {
        c.push(field, "must be at most 1000000");
    } else {
        return true;
    }
    false
}

fn check_header(d: &ScorecardDefinition, c: &mut Collector) {
    check_text(c, "name", &d.name, true, 200);
    check_text(c, "description", &d.description, false, 4_000);
    if !d.pass_mark.is_finite() || !(0.0..=100.0).contains(&d.pass_mark) {
        c.push("pass_mark", "must be a number from 0 to 100");
    }
    if d.labels.len() > 32 {
        c.push("labels", "at most 32 labels");
    }
    for (k, v) in &d.labels {
        if k.is_empty() || k.chars().count() > 63 {
            c.push(format!("labels[{k}]"), "keys are 1 to 63 characters");
        }
        if v.chars().count() > 255 {
            c.push(format!("labels[{k}]"), "values are at most 255 characters");
        }
    }
}

fn check_bands(bands: &[ScoreBand], c: &mut Collector) {
    let mut seen: HashMap<&str, usize> = HashMap::new();
    let mut well_formed = true;
    for (i, b) in bands.iter().enumerate() {
        let f = format!("bands[{i}]");
        check_text(c, &format!("{f}.name"), &b.name, true, 100);
        if let Some(first) = seen.insert(b.name.as_str(), i) {
            c.push(
                format!("{f}.name"),
                format!("duplicate band name (also bands[{first}])"),
            );
        }
        let min_ok = b.min_score.is_finite() && (0.0..=100.0).contains(&b.min_score);
        let max_ok = b.max_score.is_finite() && (0.0..=100.0).contains(&b.max_score);
        if !min_ok {
            c.push(format!("{f}.min_score"), "must be a number from 0 to 100");
        }
        if !max_ok {
            c.push(format!("{f}.max_score"), "must be a number from 0 to 100");
        }
        if min_ok && max_ok && b.min_score >= b.max_score {
            c.push(format!("{f}.max_score"), "must be greater than min_score");
        }
        well_formed &= min_ok && max_ok && b.min_score < b.max_score;
    }
    if bands.is_empty() || !well_formed {
        return;
    }
    // Coverage: sort by lower bound and walk the edges.
    let mut order: Vec<usize> = (0..bands.len()).collect();
    order.sort_by(|&a, &b| bands[a].min_score.total_cmp(&bands[b].min_score));
    let mut prev: Option<usize> = None;
    for &i in &order {
        let b = &bands[i];
        match prev {
            None => {
                if b.min_score > 0.0 {
                    c.push(
                        format!("bands[{i}].min_score"),
                        format!("bands leave a gap: nothing covers [0, {})", b.min_score),
                    );
                }
            }
            Some(p) => {
                let pb = &bands[p];
                if b.min_score < pb.max_score {
                    c.push(
                        format!("bands[{i}].min_score"),
                        format!("overlaps bands[{p}] (which ends at {})", pb.max_score),
                    );
                } else if b.min_score > pb.max_score {
                    c.push(
                        format!("bands[{i}].min_score"),
                        format!(
                            "bands leave a gap: nothing covers [{}, {})",
                            pb.max_score, b.min_score
                        ),
                    );
                }
            }
        }
        // Keep the band reaching furthest as the edge to compare with.
        prev = match prev {
            Some(p) if bands[p].max_score >= b.max_score => Some(p),
            _ => Some(i),
        };
    }
    if let Some(p) = prev
        && bands[p].max_score < 100.0
    {
        c.push(
            format!("bands[{p}].max_score"),
            format!(
                "bands leave a gap: nothing covers [{}, 100]",
                bands[p].max_score
            ),
        );
    }
}

type FlatQuestion = Option<(usize, usize, CompiledKind)>;

fn check_structure(
    d: &ScorecardDefinition,
    c: &mut Collector,
) -> (
    Vec<FlatQuestion>,
    Vec<std::ops::Range<usize>>,
    HashMap<String, usize>,
) {
    if d.sections.is_empty() {
        c.push("sections", "a scorecard needs at least one section");
    }
    if d.sections.len() > MAX_SECTIONS {
        c.push("sections", format!("at most {MAX_SECTIONS} sections"));
    }
    let total: usize = d.sections.iter().map(|s| s.questions.len()).sum();
    if total > MAX_QUESTIONS {
        c.push(
            "sections",
            format!("at most {MAX_QUESTIONS} questions in all"),
        );
    }

    // One namespace for section and question ids: the first use wins.
    let mut ids: HashMap<&str, String> = HashMap::new();
    let mut index = HashMap::new();
    let mut flat = Vec::with_capacity(total);
    let mut ranges = Vec::with_capacity(d.sections.len());
    let mut any_section_weight = false;

    for (si, s) in d.sections.iter().enumerate() {
        let f = format!("sections[{si}]");
        check_id(c, &format!("{f}.id"), &s.id, &mut ids);
        check_text(c, &format!("{f}.title"), &s.title, true, 200);
        check_text(c, &format!("{f}.description"), &s.description, false, 4_000);
        let _ = check_weight(c, &format!("{f}.weight"), s.weight);
        any_section_weight |= s.weight.is_finite() && s.weight > 0.0;
        if s.questions.is_empty() {
            c.push(
                format!("{f}.questions"),
                "a section needs at least one question",
            );
        }
        let start = flat.len();
        let mut any_question_weight = false;
        for (qi, q) in s.questions.iter().enumerate() {
            let qf = format!("{f}.questions[{qi}]");
            if check_id(c, &format!("{qf}.id"), &q.id, &mut ids) {
                index.insert(q.id.clone(), flat.len());
            }
            any_question_weight |= q.weight.is_finite() && q.weight > 0.0;
            let kind = check_question(c, &qf, q);
            flat.push(kind.map(|k| (si, qi, k)));
        }
        if !s.questions.is_empty() && !any_question_weight {
            c.push(
                format!("{f}.questions"),
                "all question weights are zero: the section could never score",
            );
        }
        ranges.push(start..flat.len());
    }
    if !d.sections.is_empty() && !any_section_weight {
        c.push(
            "sections",
            "all section weights are zero: the scorecard could never score",
        );
    }
    (flat, ranges, index)
}

/// Checks an id's shape and uniqueness; true when it may be indexed.
fn check_id<'a>(
    c: &mut Collector,
    field: &str,
    id: &'a str,
    seen: &mut HashMap<&'a str, String>,
) -> bool {
    if !is_valid_id(id) {
        c.push(
            field,
            "must be 1 to 64 characters of letters, digits, '_', '-' and '.'",
        );
        return false;
    }
    if let Some(first) = seen.get(id) {
        c.push(
            field,
            format!("duplicate id '{id}' (first used at {first})"),
        );
        return false;
    }
    seen.insert(id, field.to_owned());
    true
}

fn check_question(c: &mut Collector, f: &str, q: &Question) -> Option<CompiledKind> {
    check_text(c, &format!("{f}.text"), &q.text, true, 1_000);
    check_text(c, &format!("{f}.help_text"), &q.help_text, false, 4_000);
    let _ = check_weight(c, &format!("{f}.weight"), q.weight);
    // A consequence is only meaningful when the question can fail, which every
    // kind can; nothing more to check for it.
    let _: FailureConsequence = q.on_failure;
    match &q.kind {
        None => {
            c.push(
                format!("{f}.kind"),
                "a question needs a kind (yes_no, scale or choice)",
            );
            None
        }
        Some(QuestionKind::YesNo { pass_answer }) => Some(CompiledKind::YesNo {
            pass_answer: *pass_answer,
        }),
        Some(QuestionKind::Scale {
            min,
            max,
            pass_from,
        }) => check_scale(c, f, *min, *max, *pass_from),
        Some(QuestionKind::Choice { options }) => check_choice(c, f, options),
    }
}

fn check_scale(
    c: &mut Collector,
    f: &str,
    min: i32,
    max: i32,
    pass_from: Option<i32>,
) -> Option<CompiledKind> {
    let mut ok = true;
    let range = -MAX_SCALE_ABS..=MAX_SCALE_ABS;
    if !range.contains(&min) {
        c.push(format!("{f}.scale.min"), "must be from -1000 to 1000");
        ok = false;
    }
    if !range.contains(&max) {
        c.push(format!("{f}.scale.max"), "must be from -1000 to 1000");
        ok = false;
    }
    if ok && min >= max {
        c.push(format!("{f}.scale.max"), "must be greater than min");
        ok = false;
    }
    let pass_from = pass_from.unwrap_or(max);
    if ok && !(min..=max).contains(&pass_from) {
        c.push(format!("{f}.scale.pass_from"), "must lie within [min, max]");
        ok = false;
    }
    ok.then_some(CompiledKind::Scale {
        min,
        max,
        pass_from,
    })
}

fn check_choice(c: &mut Collector, f: &str, options: &[ChoiceOption]) -> Option<CompiledKind> {
    let mut ok = true;
    if options.len() < 2 {
        c.push(
            format!("{f}.choice.options"),
            "a choice needs at least 2 options",
        );
        ok = false;
    }
    if options.len() > MAX_OPTIONS {
        c.push(
            format!("{f}.choice.options"),
            format!("at most {MAX_OPTIONS} options"),
        );
        ok = false;
    }
    let mut seen: HashMap<&str, usize> = HashMap::new();
    let mut points = Vec::with_capacity(options.len());
    for (oi, o) in options.iter().enumerate() {
        let of = format!("{f}.choice.options[{oi}]");
        if !is_valid_id(&o.id) {
            c.push(
                format!("{of}.id"),
                "must be 1 to 64 characters of letters, digits, '_', '-' and '.'",
            );
            ok = false;
        } else if let Some(first) = seen.insert(o.id.as_str(), oi) {
            c.push(
                format!("{of}.id"),
                format!(
                    "duplicate option id '{}' (first used at options[{first}])",
                    o.id
                ),
            );
            ok = false;
        }
        check_text(c, &format!("{of}.label"), &o.label, true, 200);
        match o.points {
            None => {
                c.push(format!("{of}.points"), "every option needs points");
                ok = false;
            }
            Some(p) => {
                ok &= check_weight(c, &format!("{of}.points"), p);
                points.push(p);
            }
        }
    }
    let best = points.iter().copied().fold(0.0_f64, f64::max);
    if ok && best <= 0.0 {
        c.push(
            format!("{f}.choice.options"),
            "at least one option needs positive points",
        );
        ok = false;
    }
    ok.then_some(CompiledKind::Choice { points, best })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids() {
        for ok in ["a", "Q1", "greet-yes", "g0.q1_a2", &"x".repeat(64)] {
            assert!(is_valid_id(ok), "{ok}");
        }
        for bad in ["", "a b", "é", "a/b", &"x".repeat(65)] {
            assert!(!is_valid_id(bad), "{bad}");
        }
    }
}
