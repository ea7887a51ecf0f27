//! Evaluations as a caller may see them.
//!
//! Stored bodies are whole; what an agent must not see is taken out here,
//! on the way out, in one place: under anonymous evaluation the evaluator's
//! id, and the author of anything the evaluator wrote (coaching comments, a
//! dispute resolution), and every revision's author.

use earshot_proto::common::v1 as common;
use earshot_proto::scoring::v1 as pb;

use super::common::etag;
use crate::access::EvaluationView;

fn hide(actor: &mut Option<common::Actor>) {
    if let Some(a) = actor {
        a.subject.clear();
    }
}

fn by(actor: &Option<common::Actor>, subject: &str) -> bool {
    actor.as_ref().is_some_and(|a| a.subject == subject)
}

/// The evaluation `body` (stored at row version `version`) as `view` sees
/// it.
pub fn evaluation(mut body: pb::Evaluation, version: i64, view: EvaluationView) -> pb::Evaluation {
    body.etag = etag(version);
    body.evaluator_hidden = false;
    if view.hides_evaluator() {
        let evaluator = std::mem::take(&mut body.evaluator_id);
        body.evaluator_hidden = true;
        for c in &mut body.coaching_comments {
            if by(&c.author, &evaluator) {
                hide(&mut c.author);
            }
        }
        if let Some(d) = &mut body.dispute
            && by(&d.resolved_by, &evaluator)
        {
            hide(&mut d.resolved_by);
        }
    }
    body
}

/// A revision as `view` sees it: under anonymous evaluation an agent sees no
/// revision author (the first is the evaluator, later ones re-scorers).
pub fn revision(mut r: pb::EvaluationRevision, view: EvaluationView) -> pb::EvaluationRevision {
    if view.hides_evaluator() {
        hide(&mut r.author);
    }
    r
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn actor(s: &str) -> Option<common::Actor> {
        Some(common::Actor {
            subject: s.into(),
            role: "evaluator".into(),
        })
    }

    fn body() -> pb::Evaluation {
        pb::Evaluation {
            evaluator_id: "eve".into(),
            coaching_comments: vec![
                pb::CoachingComment {
                    author: actor("eve"),
                    ..Default::default()
                },
                pb::CoachingComment {
                    author: actor("sue"),
                    ..Default::default()
                },
            ],
            dispute: Some(pb::Dispute {
                resolved_by: actor("eve"),
                raised_by: actor("agent"),
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn anonymous_view_hides_the_evaluator_everywhere() {
        let e = evaluation(
            body(),
            7,
            EvaluationView::AsAgent {
                evaluator_hidden: true,
            },
        );
        assert_eq!(e.etag, "7");
        assert!(e.evaluator_id.is_empty() && e.evaluator_hidden);
        assert_eq!(e.coaching_comments[0].author.as_ref().unwrap().subject, "");
        assert_eq!(
            e.coaching_comments[1].author.as_ref().unwrap().subject,
            "sue"
        );
        let d = e.dispute.unwrap();
        assert_eq!(d.resolved_by.unwrap().subject, "");
        assert_eq!(d.raised_by.unwrap().subject, "agent");
        let r = revision(
            pb::EvaluationRevision {
                author: actor("eve"),
                ..Default::default()
            },
            EvaluationView::AsAgent {
                evaluator_hidden: true,
            },
        );
        assert_eq!(r.author.unwrap().subject, "");
    }

    #[test]
    fn other_views_see_everything() {
        for v in [
            EvaluationView::Full,
            EvaluationView::AsAgent {
                evaluator_hidden: false,
            },
        ] {
            let e = evaluation(body(), 1, v);
            assert_eq!(e.evaluator_id, "eve");
            assert!(!e.evaluator_hidden);
        }
    }
}
