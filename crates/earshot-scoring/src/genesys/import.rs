//! Maps a Genesys Cloud evaluation form onto an Earshot scorecard that scores
//! the same way (`scoring_method: genesys`).
//!
//! | Genesys                           | Earshot                                                  |
//! |-----------------------------------|----------------------------------------------------------|
//! | form `name`                       | `name` (empty: "Imported Genesys form")                  |
//! | question group                    | section; `weight` (absent: 1), `naEnabled` → section N/A |
//! | `multipleChoiceQuestion`          | choice question, weight 1, option points = `value`       |
//! | `freeTextQuestion`, `npsQuestion`, `readOnlyTextBlockQuestion` | skipped, with a note (not scored) |
//! | `isCritical`                      | `critical`                                               |
//! | `isKill`                          | `on_failure: fail_evaluation` (fails unless the top option) |
//! | `naEnabled`                       | `not_applicable_allowed`                                 |
//! | `commentsRequired`                | `comment_required: always` (a comment on every answer but N/A) |
//! | `visibilityCondition`             | `visible_when`: `AND` → all, `OR` → any; each answer path → `option_id` predicate |
//! | —                                 | `pass_mark: 0` (Genesys has none; a note says to set it) |
//!
//! Ids are kept when they are valid Earshot ids and unique; otherwise they are
//! made from the position (`g0`, `g0q1`, `g0q1a0`). Errors (unparseable JSON,
//! an unknown question type, a predicate that is not an answer path or points
//! at nothing) carry the JSON path of the offending field, e.g.
//! `questionGroups[1].questions[0].visibilityCondition.predicates[0]`.

use std::collections::HashSet;

use super::form::{GenesysCondition, GenesysForm, GenesysQuestion};
use crate::interchange::MAX_DOCUMENT_BYTES;
use crate::scorecard::validate::is_valid_id;
use crate::scorecard::{
    AnswerPredicate, ChoiceOption, CombiningOperation, CommentRequirement, ExpectedAnswer,
    FailureConsequence, Question, QuestionKind, ScorecardDefinition, ScoringMethod, Section,
    VisibilityCondition,
};
use crate::violation::{Collector, Violation, Violations};

/// A mapped form and what the mapping left out or changed.
#[derive(Debug, Clone, PartialEq)]
pub struct GenesysImport {
    /// The Earshot definition (not yet validated).
    pub definition: ScorecardDefinition,
    /// Notes: skipped questions, changed semantics; paths into the document.
    pub notes: Vec<Violation>,
}

impl GenesysImport {
    /// The same import with the pass mark a caller chose (Genesys forms have
    /// none); the note about the missing pass mark goes away.
    #[must_use]
    pub fn with_pass_mark(mut self, pass_mark: f64) -> Self {
        self.definition.pass_mark = pass_mark;
        self.notes.retain(|n| n.field != PASS_MARK_NOTE_FIELD);
        self
    }
}

/// The field of the note saying the form had no pass mark.
const PASS_MARK_NOTE_FIELD: &str = "passMark";

/// Where each Genesys question went: its Earshot id and option ids.
type Placed = Vec<Vec<Option<(String, Vec<String>)>>>;

/// Parses and maps a Genesys form document.
pub fn import(content: &[u8]) -> Result<GenesysImport, Violations> {
    if content.len() > MAX_DOCUMENT_BYTES {
        return Err(Violations(vec![Violation::new(
            "content",
            format!("the document is larger than {MAX_DOCUMENT_BYTES} bytes"),
        )]));
    }
    let form: GenesysForm = serde_json::from_slice(content).map_err(|e| {
        Violations(vec![Violation::new(
            "content",
            format!("not a Genesys Cloud evaluation form (JSON): {e}"),
        )])
    })?;
    map_form(&form)
}

/// Maps an already parsed form.
pub fn map_form(form: &GenesysForm) -> Result<GenesysImport, Violations> {
    let mut errors = Collector::default();
    let mut notes = Vec::new();
    let mut ids: HashSet<String> = HashSet::new();

    // Pass 1: ids for every scored question and its options, by position, so
    // that predicates (which use positions) can be resolved in pass 2.
    let mut group_ids = Vec::with_capacity(form.question_groups.len());
    let mut placed: Placed = Vec::with_capacity(form.question_groups.len());
    for (g, group) in form.question_groups.iter().enumerate() {
        group_ids.push(pick_id(group.id.as_deref(), format!("g{g}"), &mut ids));
        let mut row = Vec::with_capacity(group.questions.len());
        for (q, question) in group.questions.iter().enumerate() {
            let f = format!("questionGroups[{g}].questions[{q}]");
            match question.kind.as_deref() {
                Some("multipleChoiceQuestion") => {
                    let qid = pick_id(question.id.as_deref(), format!("g{g}q{q}"), &mut ids);
                    let mut seen = HashSet::new();
                    let options = question
                        .answer_options
                        .iter()
                        .enumerate()
                        .map(|(a, o)| pick_id(o.id.as_deref(), format!("g{g}q{q}a{a}"), &mut seen))
                        .collect();
                    row.push(Some((qid, options)));
                }
                Some(t @ ("freeTextQuestion" | "npsQuestion" | "readOnlyTextBlockQuestion")) => {
                    notes.push(Violation::new(
                        format!("{f}.type"),
                        format!("{t} is not scored; skipped"),
                    ));
                    row.push(None);
                }
                Some(other) => {
                    errors.push(
                        format!("{f}.type"),
                        format!("unknown question type '{other}'"),
                    );
                    row.push(None);
                }
                None => {
                    errors.push(format!("{f}.type"), "the question has no type");
                    row.push(None);
                }
            }
        }
        placed.push(row);
    }

    // Pass 2: build sections and questions.
    let mut sections = Vec::with_capacity(form.question_groups.len());
    for (g, group) in form.question_groups.iter().enumerate() {
        let gf = format!("questionGroups[{g}]");
        let visible_when = group.visibility_condition.as_ref().map(|c| {
            map_condition(
                c,
                g,
                &placed,
                &format!("{gf}.visibilityCondition"),
                &mut errors,
            )
        });
        let mut questions = Vec::new();
        for (q, question) in group.questions.iter().enumerate() {
            let Some(Some((qid, option_ids))) = placed.get(g).and_then(|r| r.get(q)) else {
                continue;
            };
            let qf = format!("{gf}.questions[{q}]");
            questions.push(map_question(
                question,
                qid,
                option_ids,
                g,
                &placed,
                &qf,
                &mut errors,
            ));
        }
        if questions.is_empty() {
            notes.push(Violation::new(
                format!("{gf}.questions"),
                "the group has no scored question; skipped",
            ));
            continue;
        }
        sections.push(Section {
            id: group_ids.get(g).cloned().unwrap_or_else(|| format!("g{g}")),
            title: non_empty(group.name.as_deref(), &format!("Group {}", g + 1)),
            description: String::new(),
            weight: group.weight.unwrap_or(1.0),
            not_applicable_allowed: group.na_enabled,
            visible_when,
            questions,
        });
    }
    notes.push(Violation::new(
        PASS_MARK_NOTE_FIELD,
        "Genesys forms have no pass mark; imported with pass_mark 0 (set it before publishing)",
    ));
    if !errors.is_empty() {
        return Err(Violations(errors.into_vec()));
    }
    Ok(GenesysImport {
        definition: ScorecardDefinition {
            name: non_empty(form.name.as_deref(), "Imported Genesys form"),
            description: String::new(),
            scoring_method: ScoringMethod::Genesys,
            pass_mark: 0.0,
            bands: Vec::new(),
            sections,
            labels: [("source".to_owned(), "genesys".to_owned())].into(),
        },
        notes,
    })
}

#[allow(clippy::too_many_arguments)]
fn map_question(
    question: &GenesysQuestion,
    qid: &str,
    option_ids: &[String],
    g: usize,
    placed: &Placed,
    qf: &str,
    errors: &mut Collector,
) -> Question {
    let options = question
        .answer_options
        .iter()
        .enumerate()
        .map(|(a, o)| ChoiceOption {
            id: option_ids
                .get(a)
                .cloned()
                .unwrap_or_else(|| format!("a{a}")),
            label: non_empty(o.text.as_deref(), &format!("Option {}", a + 1)),
            points: o.value,
        })
        .collect();
    Question {
        id: qid.to_owned(),
        text: non_empty(question.text.as_deref(), qid),
        help_text: question.help_text.clone().unwrap_or_default(),
        kind: Some(QuestionKind::Choice { options }),
        weight: 1.0,
        not_applicable_allowed: question.na_enabled,
        comment_required: if question.comments_required {
            CommentRequirement::Always
        } else {
            CommentRequirement::Never
        },
        visible_when: question
            .visibility_condition
            .as_ref()
            .map(|c| map_condition(c, g, placed, &format!("{qf}.visibilityCondition"), errors)),
        critical: question.is_critical,
        on_failure: if question.is_kill {
            FailureConsequence::FailEvaluation
        } else {
            FailureConsequence::None
        },
    }
}

fn map_condition(
    c: &GenesysCondition,
    current_group: usize,
    placed: &Placed,
    f: &str,
    errors: &mut Collector,
) -> VisibilityCondition {
    let operation = match c.combining_operation.as_deref() {
        None | Some("AND") => CombiningOperation::All,
        Some("OR") => CombiningOperation::Any,
        Some(other) => {
            errors.push(
                format!("{f}.combiningOperation"),
                format!("'{other}' is neither AND nor OR"),
            );
            CombiningOperation::All
        }
    };
    let mut predicates = Vec::with_capacity(c.predicates.len());
    for (i, p) in c.predicates.iter().enumerate() {
        let pf = format!("{f}.predicates[{i}]");
        let Some(path) = p.as_str() else {
            errors.push(pf, "a predicate must be an answer path string");
            continue;
        };
        let Some((g, q, a)) = parse_path(path, current_group) else {
            errors.push(
                pf,
                format!(
                    "'{path}' is not /form/questionGroup/{{g}}/question/{{q}}/answer/{{a}} \
                     or ../question/{{q}}/answer/{{a}}"
                ),
            );
            continue;
        };
        match placed.get(g).and_then(|r| r.get(q)) {
            Some(Some((qid, options))) => match options.get(a) {
                Some(oid) => predicates.push(AnswerPredicate {
                    question_id: qid.clone(),
                    expected: Some(ExpectedAnswer::OptionId(oid.clone())),
                }),
                None => errors.push(pf, format!("'{path}': the question has no answer {a}")),
            },
            Some(None) => errors.push(
                pf,
                format!("'{path}' refers to a question that is not scored"),
            ),
            None => errors.push(pf, format!("'{path}' refers to no question of the form")),
        }
    }
    VisibilityCondition {
        operation,
        predicates,
    }
}

/// Parses an answer path into (group, question, answer) indexes.
fn parse_path(path: &str, current_group: usize) -> Option<(usize, usize, usize)> {
    let parts: Vec<&str> = path.split('/').collect();
    let idx = |s: &str| s.parse::<usize>().ok();
    match parts.as_slice() {
        ["", "form", "questionGroup", g, "question", q, "answer", a] => {
            Some((idx(g)?, idx(q)?, idx(a)?))
        }
        ["..", "question", q, "answer", a] => Some((current_group, idx(q)?, idx(a)?)),
        _ => None,
    }
}

/// The Genesys id when it is a valid, unused Earshot id; else the fallback
/// (made unique with a suffix if need be).
fn pick_id(given: Option<&str>, fallback: String, used: &mut HashSet<String>) -> String {
    if let Some(id) = given
        && is_valid_id(id)
        && !used.contains(id)
    {
        used.insert(id.to_owned());
        return id.to_owned();
    }
    let mut candidate = fallback.clone();
    let mut n = 1;
    while used.contains(&candidate) {
        n += 1;
        candidate = format!("{fallback}_{n}");
    }
    used.insert(candidate.clone());
    candidate
}

fn non_empty(s: Option<&str>, fallback: &str) -> String {
    match s {
        Some(s) if !s.trim().is_empty() => s.to_owned(),
        _ => fallback.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answer_paths() {
        assert_eq!(
            parse_path("/form/questionGroup/2/question/0/answer/1", 0),
            Some((2, 0, 1))
        );
        assert_eq!(parse_path("../question/3/answer/0", 5), Some((5, 3, 0)));
        for bad in [
            "",
            "/form/questionGroup/x/question/0/answer/1",
            "/form/questionGroup/1/question/0",
            "form/questionGroup/1/question/0/answer/1",
            "../question/-1/answer/0",
            "/form/questionGroup/1/question/0/answer/1/extra",
        ] {
            assert_eq!(parse_path(bad, 0), None, "{bad}");
        }
    }

    #[test]
    fn ids_are_kept_when_valid_and_unique() {
        let mut used = HashSet::new();
        assert_eq!(pick_id(Some("abc-1"), "g0".into(), &mut used), "abc-1");
        assert_eq!(pick_id(Some("abc-1"), "g1".into(), &mut used), "g1");
        assert_eq!(pick_id(Some("has space"), "g2".into(), &mut used), "g2");
        assert_eq!(pick_id(None, "g2".into(), &mut used), "g2_2");
    }
}
