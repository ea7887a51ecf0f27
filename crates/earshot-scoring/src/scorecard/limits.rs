//! Size limits a draft must keep to be stored at all.
//!
//! A draft may be invalid while it is being written (an empty title, a
//! condition that points forward, bands with a gap): [`super::validate`]
//! reports those and only publishing requires their absence. Sizes are
//! different: they bound what one scorecard may cost to store, send and
//! score, so a draft that breaks one is refused on create, update and import
//! (`INVALID_ARGUMENT`), with every violation and its field path. The numbers
//! are the ones the contract documents on each field.

use super::conditions::MAX_PREDICATES;
use super::model::{QuestionKind, ScorecardDefinition, VisibilityCondition};
use super::validate::{MAX_OPTIONS, MAX_QUESTIONS, MAX_SECTIONS};
use crate::violation::{Collector, Violations};

/// The most score bands a scorecard may have.
pub const MAX_BANDS: usize = 100;
/// The most labels a scorecard may have.
pub const MAX_LABELS: usize = 32;
/// The longest id (sections, questions, options, predicates), in characters.
pub const MAX_ID_CHARS: usize = 64;

fn text(c: &mut Collector, field: impl FnOnce() -> String, value: &str, max: usize) {
    if value.chars().count() > max {
        c.push(field(), format!("must be at most {max} characters"));
    }
}

fn condition(c: &mut Collector, field: &str, cond: Option<&VisibilityCondition>) {
    let Some(cond) = cond else { return };
    if cond.predicates.len() > MAX_PREDICATES {
        c.push(
            format!("{field}.predicates"),
            format!("at most {MAX_PREDICATES} predicates"),
        );
        return;
    }
    for (i, p) in cond.predicates.iter().enumerate() {
        text(
            c,
            || format!("{field}.predicates[{i}].question_id"),
            &p.question_id,
            MAX_ID_CHARS,
        );
        if let Some(super::model::ExpectedAnswer::OptionId(o)) = &p.expected {
            text(
                c,
                || format!("{field}.predicates[{i}].option_id"),
                o,
                MAX_ID_CHARS,
            );
        }
    }
}

/// Checks every size limit of a draft; all violations at once.
pub fn check_sizes(d: &ScorecardDefinition) -> Result<(), Violations> {
    let mut c = Collector::default();
    text(&mut c, || "name".into(), &d.name, 200);
    text(&mut c, || "description".into(), &d.description, 4_000);
    if d.bands.len() > MAX_BANDS {
        c.push("bands", format!("at most {MAX_BANDS} bands"));
    } else {
        for (i, b) in d.bands.iter().enumerate() {
            text(&mut c, || format!("bands[{i}].name"), &b.name, 100);
        }
    }
    if d.labels.len() > MAX_LABELS {
        c.push("labels", format!("at most {MAX_LABELS} labels"));
    } else {
        for (k, v) in &d.labels {
            text(&mut c, || format!("labels[{k}]"), k, 63);
            text(&mut c, || format!("labels[{k}]"), v, 255);
        }
    }
    if d.sections.len() > MAX_SECTIONS {
        c.push("sections", format!("at most {MAX_SECTIONS} sections"));
        return c.into_result(());
    }
    let total: usize = d.sections.iter().map(|s| s.questions.len()).sum();
    if total > MAX_QUESTIONS {
        c.push(
            "sections",
            format!("at most {MAX_QUESTIONS} questions in all"),
        );
        return c.into_result(());
    }
    for (si, s) in d.sections.iter().enumerate() {
        let f = format!("sections[{si}]");
        text(&mut c, || format!("{f}.id"), &s.id, MAX_ID_CHARS);
        text(&mut c, || format!("{f}.title"), &s.title, 200);
        text(&mut c, || format!("{f}.description"), &s.description, 4_000);
        condition(
            &mut c,
            &format!("{f}.visible_when"),
            s.visible_when.as_ref(),
        );
        for (qi, q) in s.questions.iter().enumerate() {
            let qf = format!("{f}.questions[{qi}]");
            text(&mut c, || format!("{qf}.id"), &q.id, MAX_ID_CHARS);
            text(&mut c, || format!("{qf}.text"), &q.text, 1_000);
            text(&mut c, || format!("{qf}.help_text"), &q.help_text, 4_000);
            condition(
                &mut c,
                &format!("{qf}.visible_when"),
                q.visible_when.as_ref(),
            );
            if let Some(QuestionKind::Choice { options }) = &q.kind {
                if options.len() > MAX_OPTIONS {
                    c.push(
                        format!("{qf}.choice.options"),
                        format!("at most {MAX_OPTIONS} options"),
                    );
                    continue;
                }
                for (oi, o) in options.iter().enumerate() {
                    let of = format!("{qf}.choice.options[{oi}]");
                    text(&mut c, || format!("{of}.id"), &o.id, MAX_ID_CHARS);
                    text(&mut c, || format!("{of}.label"), &o.label, 200);
                }
            }
        }
    }
    c.into_result(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;
    use crate::scorecard::model::{ChoiceOption, Question, ScoringMethod, Section};

    fn question(id: &str) -> Question {
        Question {
            id: id.into(),
            text: "Q".into(),
            help_text: String::new(),
            kind: None,
            weight: 1.0,
            not_applicable_allowed: false,
            comment_required: Default::default(),
            visible_when: None,
            critical: false,
            on_failure: Default::default(),
        }
    }

    fn draft(sections: Vec<Section>) -> ScorecardDefinition {
        ScorecardDefinition {
            name: String::new(),
            description: String::new(),
            scoring_method: ScoringMethod::Earshot,
            pass_mark: f64::NAN,
            bands: Vec::new(),
            sections,
            labels: Default::default(),
        }
    }

    fn section(id: &str, questions: Vec<Question>) -> Section {
        Section {
            id: id.into(),
            title: String::new(),
            description: String::new(),
            weight: -1.0,
            not_applicable_allowed: false,
            visible_when: None,
            questions,
        }
    }

    #[test]
    fn an_invalid_but_small_draft_is_storable() {
        // Empty names, a NaN pass mark, a negative weight, a missing kind:
        // validation problems, not size problems.
        let d = draft(vec![section("", vec![question("")])]);
        assert!(check_sizes(&d).is_ok());
    }

    #[test]
    fn every_size_limit_is_reported_with_its_path() {
        let long = "x".repeat(5_000);
        let mut q = question(&"q".repeat(65));
        q.text = long.clone();
        q.kind = Some(QuestionKind::Choice {
            options: vec![ChoiceOption {
                id: "o".into(),
                label: long.clone(),
                points: Some(1.0),
            }],
        });
        let mut d = draft(vec![section("s", vec![q])]);
        d.name = long.clone();
        d.labels.insert("k".into(), long);
        let err = check_sizes(&d).unwrap_err();
        for f in [
            "name",
            "labels[k]",
            "sections[0].questions[0].id",
            "sections[0].questions[0].text",
            "sections[0].questions[0].choice.options[0].label",
        ] {
            assert!(err.has_field(f), "{f}: {err}");
        }
    }

    #[test]
    fn counts_are_capped() {
        let many: Vec<Section> = (0..=MAX_SECTIONS)
            .map(|i| section(&format!("s{i}"), vec![question(&format!("q{i}"))]))
            .collect();
        assert!(check_sizes(&draft(many)).unwrap_err().has_field("sections"));
        let big = section(
            "s",
            (0..=MAX_QUESTIONS)
                .map(|i| question(&format!("q{i}")))
                .collect(),
        );
        assert!(
            check_sizes(&draft(vec![big]))
                .unwrap_err()
                .has_field("sections")
        );
    }
}
