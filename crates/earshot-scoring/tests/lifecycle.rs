//! Lifecycle state machines and role rules: every transition, who may make
//! it, and the typed refusal (with its status code) otherwise.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use earshot_scoring::access::{self, Caller, EvaluationView, Role, list_scope, view_evaluation};
use earshot_scoring::error::{Code, ScoringError};
use earshot_scoring::lifecycle::evaluation::{
    CreationFacts, EvaluationAction as A, EvaluationFacts, EvaluationKind, EvaluationState as S,
    Resolution, authorize_create, transition,
};
use earshot_scoring::lifecycle::scorecard::{
    self, ScorecardFacts, ScorecardState, version_for_new_evaluation,
};
use earshot_scoring::settings::{DAY_MS, Settings};

const CARD: &str = r#"
name: L
pass_mark: 50
sections:
  - id: s
    title: S
    questions:
      - { id: a, text: A, kind: { type: yes_no } }
"#;

fn manager() -> Caller {
    Caller::new("qa-1", [Role::QaManager])
}
fn evaluator() -> Caller {
    Caller::new("eva", [Role::Evaluator])
}
fn other_evaluator() -> Caller {
    Caller::new("evb", [Role::Evaluator])
}
fn agent() -> Caller {
    Caller::new("agent-7", [Role::Agent])
}
fn other_agent() -> Caller {
    Caller::new("agent-8", [Role::Agent])
}
fn supervisor() -> Caller {
    Caller::new("sup", [Role::Supervisor]).with_teams(["team-a"])
}
fn other_supervisor() -> Caller {
    Caller::new("sup2", [Role::Supervisor]).with_teams(["team-b"])
}

fn facts(state: S) -> EvaluationFacts<'static> {
    EvaluationFacts {
        kind: EvaluationKind::Assigned,
        state,
        evaluator_id: "eva",
        agent_id: "agent-7",
        team_id: "team-a",
        etag: "e1",
        released_ms: matches!(
            state,
            S::Released | S::Disputed | S::Acknowledged | S::Resolved
        )
        .then_some(1_000),
        latest_revision_author: "eva",
    }
}

fn go(c: &Caller, state: S, action: A) -> Result<S, ScoringError> {
    transition(c, &facts(state), &Settings::default(), action, "e1", 2_000)
}

#[test]
fn happy_path() {
    assert_eq!(go(&evaluator(), S::Draft, A::SaveDraft), Ok(S::Draft));
    assert_eq!(go(&evaluator(), S::Draft, A::Submit), Ok(S::Submitted));
    assert_eq!(go(&manager(), S::Submitted, A::Release), Ok(S::Released));
    assert_eq!(
        go(&agent(), S::Released, A::Acknowledge),
        Ok(S::Acknowledged)
    );
    assert_eq!(go(&agent(), S::Released, A::Dispute), Ok(S::Disputed));
    assert_eq!(
        go(&manager(), S::Disputed, A::Resolve(Resolution::Upheld)),
        Ok(S::Resolved)
    );
    assert_eq!(
        go(&manager(), S::Disputed, A::Resolve(Resolution::Rescored)),
        Ok(S::Resolved)
    );
    assert_eq!(go(&evaluator(), S::Draft, A::Delete), Ok(S::Draft));
    assert_eq!(
        go(&supervisor(), S::Released, A::AddCoachingComment),
        Ok(S::Released)
    );
}

#[test]
fn wrong_states_are_failed_preconditions() {
    let table = [
        (evaluator(), S::Submitted, A::SaveDraft),
        (evaluator(), S::Released, A::Submit),
        (manager(), S::Draft, A::Release),
        (manager(), S::Released, A::Release),
        (agent(), S::Acknowledged, A::Dispute),
        (agent(), S::Disputed, A::Acknowledge),
        (manager(), S::Released, A::Resolve(Resolution::Upheld)),
        (manager(), S::Resolved, A::Resolve(Resolution::Upheld)),
        (evaluator(), S::Submitted, A::Delete),
        (evaluator(), S::Draft, A::AddCoachingComment),
    ];
    for (c, state, action) in table {
        let err = go(&c, state, action).unwrap_err();
        assert_eq!(
            err.code(),
            Code::FailedPrecondition,
            "{action:?} from {state:?}: {err}"
        );
    }
}

#[test]
fn dispute_on_a_non_released_evaluation_is_a_failed_precondition_for_its_agent() {
    for state in [S::Draft, S::Submitted] {
        let err = go(&agent(), state, A::Dispute).unwrap_err();
        assert_eq!(err.code(), Code::FailedPrecondition, "{state:?}");
    }
}

#[test]
fn other_peoples_evaluations_are_not_found() {
    // Another agent, another evaluator, a supervisor of another team.
    for c in [other_agent(), other_evaluator(), other_supervisor()] {
        for action in [A::Acknowledge, A::Dispute, A::SaveDraft, A::Release] {
            let state = if action == A::SaveDraft {
                S::Draft
            } else {
                S::Released
            };
            assert_eq!(
                go(&c, state, action),
                Err(ScoringError::NotFound),
                "{c:?} {action:?}"
            );
        }
    }
}

#[test]
fn visible_but_not_allowed_is_permission_denied() {
    let cases = [
        (supervisor(), S::Released, A::Acknowledge),
        (supervisor(), S::Submitted, A::Release),
        (evaluator(), S::Submitted, A::Release),
        (evaluator(), S::Disputed, A::Resolve(Resolution::Upheld)),
    ];
    for (c, state, action) in cases {
        let err = go(&c, state, action).unwrap_err();
        assert_eq!(err.code(), Code::PermissionDenied, "{action:?}: {err}");
    }
}

#[test]
fn the_disputed_revisions_author_cannot_resolve() {
    let c = Caller::new("eva", [Role::QaManager, Role::Evaluator]);
    let err = go(&c, S::Disputed, A::Resolve(Resolution::Rescored)).unwrap_err();
    assert_eq!(err.code(), Code::PermissionDenied);
}

#[test]
fn etags() {
    let f = facts(S::Draft);
    let s = Settings::default();
    let stale = transition(&evaluator(), &f, &s, A::SaveDraft, "old", 0).unwrap_err();
    assert_eq!(stale, ScoringError::StaleEtag);
    assert_eq!(stale.code(), Code::Aborted);
    let missing = transition(&evaluator(), &f, &s, A::Submit, "", 0).unwrap_err();
    assert_eq!(missing.code(), Code::InvalidArgument);
    // Permission is decided before the etag; the etag before the state.
    let f = facts(S::Submitted);
    let e = transition(&evaluator(), &f, &s, A::SaveDraft, "old", 0).unwrap_err();
    assert_eq!(e, ScoringError::StaleEtag);
    let e = transition(&other_agent(), &f, &s, A::SaveDraft, "old", 0).unwrap_err();
    assert_eq!(e, ScoringError::NotFound);
    // Coaching comments are appended without an etag.
    assert!(
        transition(
            &evaluator(),
            &facts(S::Released),
            &s,
            A::AddCoachingComment,
            "",
            0
        )
        .is_ok()
    );
}

#[test]
fn settings_change_the_rules() {
    let auto = Settings {
        auto_release_on_submit: true,
        evaluators_may_release: true,
        ..Settings::default()
    };
    let f = facts(S::Draft);
    assert_eq!(
        transition(&evaluator(), &f, &auto, A::Submit, "e1", 0),
        Ok(S::Released)
    );
    let f = facts(S::Submitted);
    assert_eq!(
        transition(&evaluator(), &f, &auto, A::Release, "e1", 0),
        Ok(S::Released)
    );

    // Dispute window: released at 1,000 ms; 7 days by default.
    let f = facts(S::Released);
    let s = Settings::default();
    assert!(transition(&agent(), &f, &s, A::Dispute, "e1", 1_000 + 7 * DAY_MS).is_ok());
    let late = transition(&agent(), &f, &s, A::Dispute, "e1", 1_001 + 7 * DAY_MS).unwrap_err();
    assert_eq!(late, ScoringError::DisputeWindowClosed);
    let unlimited = Settings {
        dispute_window_ms: 0,
        ..Settings::default()
    };
    assert!(transition(&agent(), &f, &unlimited, A::Dispute, "e1", i64::MAX).is_ok());
    assert!(
        Settings::parse(Settings {
            dispute_window_ms: -1,
            ..Settings::default()
        })
        .is_err()
    );
    assert!(
        Settings::parse(Settings {
            dispute_window_ms: 400 * DAY_MS,
            ..Settings::default()
        })
        .unwrap_err()
        .has_field("settings.dispute_window")
    );
}

#[test]
fn self_evaluations_stop_at_submitted() {
    let mut f = facts(S::Draft);
    f.kind = EvaluationKind::SelfEvaluation;
    f.evaluator_id = "agent-7";
    let s = Settings {
        auto_release_on_submit: true,
        ..Settings::default()
    };
    assert_eq!(
        transition(&agent(), &f, &s, A::Submit, "e1", 0),
        Ok(S::Submitted)
    );
    f.state = S::Submitted;
    let err = transition(&manager(), &f, &s, A::Release, "e1", 0).unwrap_err();
    assert!(matches!(err, ScoringError::WrongKind { .. }), "{err}");
}

#[test]
fn who_may_create() {
    let s = Settings::default();
    let assigned = |to: &'static str| CreationFacts {
        kind: EvaluationKind::Assigned,
        assigned_evaluator: Some(to),
        assignment_completed: false,
        agent_id: "agent-7",
    };
    assert!(authorize_create(&evaluator(), &assigned("eva"), &s).is_ok());
    assert!(authorize_create(&manager(), &assigned("eva"), &s).is_ok());
    assert_eq!(
        authorize_create(&other_evaluator(), &assigned("eva"), &s)
            .unwrap_err()
            .code(),
        Code::PermissionDenied
    );
    let done = CreationFacts {
        assignment_completed: true,
        ..assigned("eva")
    };
    assert_eq!(
        authorize_create(&evaluator(), &done, &s)
            .unwrap_err()
            .code(),
        Code::FailedPrecondition
    );
    let ad_hoc = CreationFacts {
        kind: EvaluationKind::AdHoc,
        assigned_evaluator: None,
        assignment_completed: false,
        agent_id: "agent-7",
    };
    assert!(authorize_create(&evaluator(), &ad_hoc, &s).is_ok());
    assert!(authorize_create(&agent(), &ad_hoc, &s).is_err());
    assert!(authorize_create(&supervisor(), &ad_hoc, &s).is_err());
    // Nobody evaluates their own interaction except as a self-evaluation.
    let own = Caller::new("agent-7", [Role::Evaluator, Role::Agent]);
    assert!(authorize_create(&own, &ad_hoc, &s).is_err());

    let selfe = CreationFacts {
        kind: EvaluationKind::SelfEvaluation,
        ..ad_hoc
    };
    assert_eq!(
        authorize_create(&agent(), &selfe, &s).unwrap_err(),
        ScoringError::DisabledBySettings("self_evaluation_enabled")
    );
    let on = Settings {
        self_evaluation_enabled: true,
        ..Settings::default()
    };
    assert!(authorize_create(&agent(), &selfe, &on).is_ok());
    assert!(authorize_create(&other_agent(), &selfe, &on).is_err());
}

#[test]
fn agents_see_only_their_own_released_evaluations() {
    let s = Settings::default();
    for state in [S::Draft, S::Submitted] {
        assert_eq!(view_evaluation(&agent(), &facts(state), &s), None);
    }
    for state in [S::Released, S::Acknowledged, S::Disputed, S::Resolved] {
        assert_eq!(
            view_evaluation(&agent(), &facts(state), &s),
            Some(EvaluationView::AsAgent {
                evaluator_hidden: false
            })
        );
        assert_eq!(view_evaluation(&other_agent(), &facts(state), &s), None);
    }
    let anon = Settings {
        anonymous_evaluation: true,
        ..Settings::default()
    };
    let v = view_evaluation(&agent(), &facts(S::Released), &anon).unwrap();
    assert!(v.hides_evaluator());
    // The others see it whole.
    // Supervisors see their teams' evaluations once submitted, never drafts.
    assert_eq!(
        view_evaluation(&supervisor(), &facts(S::Draft), &anon),
        None
    );
    assert_eq!(
        view_evaluation(&supervisor(), &facts(S::Submitted), &anon),
        Some(EvaluationView::Full)
    );
    assert_eq!(
        view_evaluation(&other_supervisor(), &facts(S::Released), &anon),
        None
    );
    assert_eq!(
        view_evaluation(&evaluator(), &facts(S::Draft), &anon),
        Some(EvaluationView::Full)
    );
    assert_eq!(
        view_evaluation(&other_evaluator(), &facts(S::Released), &anon),
        None
    );
    assert_eq!(
        view_evaluation(&manager(), &facts(S::Draft), &anon),
        Some(EvaluationView::Full)
    );
}

#[test]
fn list_scopes() {
    let anon = Settings {
        anonymous_evaluation: true,
        ..Settings::default()
    };
    assert!(list_scope(&manager(), &anon).all);
    let a = list_scope(&agent(), &anon);
    assert_eq!(a.agent_id.as_deref(), Some("agent-7"));
    assert!(a.hide_evaluator_from_agent && !a.all && a.evaluator_id.is_none());
    let s = list_scope(&supervisor(), &anon);
    assert!(s.teams.contains("team-a") && s.agent_id.is_none());
    let both = list_scope(
        &Caller::new("x", [Role::Evaluator, Role::Supervisor]).with_teams(["t"]),
        &anon,
    );
    assert_eq!(both.evaluator_id.as_deref(), Some("x"));
    assert!(both.teams.contains("t"));
    assert!(list_scope(&Caller::new("acd", [Role::Integration]), &anon).is_empty());
}

#[test]
fn coarse_role_rules() {
    let acd = Caller::new("acd", [Role::Integration]);
    let svc = Caller::new("calibration", [Role::Service]);
    let admin = Caller::new("root", [Role::Admin]);
    assert!(access::may_manage_scorecards(&manager()));
    assert!(!access::may_manage_scorecards(&evaluator()));
    assert!(access::may_score_answers(&svc));
    assert!(!access::may_score_answers(&agent()));
    assert!(access::may_read_scorecard_versions(&agent()));
    assert!(!access::may_read_scorecards(&agent()));
    assert!(access::may_read_audit(&admin) && !access::may_read_audit(&manager()));
    assert!(access::may_update_settings(&admin) && !access::may_update_settings(&manager()));
    assert!(!access::may_read_settings(&acd) && access::may_read_settings(&agent()));
    assert!(access::may_read_feed(&svc) && !access::may_read_feed(&manager()));
    assert_eq!(Role::parse("qa_manager"), Some(Role::QaManager));
    assert_eq!(Role::parse(Role::Service.as_str()), Some(Role::Service));
    assert_eq!(Role::parse("root"), None);
    assert_eq!(admin.acting_role(), Some(Role::Admin));
}

#[test]
fn scorecard_lifecycle() {
    let draft = common::definition(CARD);
    let f = ScorecardFacts {
        state: ScorecardState::Draft,
        etag: "t1",
        latest_version: 0,
        latest_definition: None,
    };
    // Nobody evaluates with a never-published scorecard.
    assert_eq!(
        version_for_new_evaluation(&f, 0).unwrap_err().code(),
        Code::FailedPrecondition
    );
    assert_eq!(
        scorecard::update_draft(&manager(), &f, "t1"),
        Ok(ScorecardState::Draft)
    );
    assert_eq!(
        scorecard::update_draft(&evaluator(), &f, "t1")
            .unwrap_err()
            .code(),
        Code::PermissionDenied
    );
    assert_eq!(
        scorecard::update_draft(&manager(), &f, "t0"),
        Err(ScoringError::StaleEtag)
    );

    let p = scorecard::publish(&manager(), &f, "t1", &draft).unwrap();
    assert_eq!((p.version, p.state), (1, ScorecardState::Published));

    let published = ScorecardFacts {
        state: ScorecardState::Published,
        etag: "t2",
        latest_version: 1,
        latest_definition: Some(&draft),
    };
    assert_eq!(
        scorecard::publish(&manager(), &published, "t2", &draft),
        Err(ScoringError::NothingToPublish(1))
    );
    let mut changed = draft.clone();
    changed.pass_mark = 60.0;
    assert_eq!(
        scorecard::publish(&manager(), &published, "t2", &changed)
            .unwrap()
            .version,
        2
    );
    let mut broken = draft.clone();
    broken.sections.clear();
    let err = scorecard::publish(&manager(), &published, "t2", &broken).unwrap_err();
    assert_eq!(err.code(), Code::InvalidArgument);
    assert!(matches!(err, ScoringError::Unpublishable(v) if v.has_field("sections")));

    assert_eq!(version_for_new_evaluation(&published, 0), Ok(1));
    assert_eq!(version_for_new_evaluation(&published, 1), Ok(1));
    assert_eq!(
        version_for_new_evaluation(&published, 2),
        Err(ScoringError::NotFound)
    );

    let archived = ScorecardFacts {
        state: scorecard::archive(&manager(), &published, "t2").unwrap(),
        ..published
    };
    assert_eq!(archived.state, ScorecardState::Archived);
    for err in [
        scorecard::update_draft(&manager(), &archived, "t2").unwrap_err(),
        scorecard::publish(&manager(), &archived, "t2", &changed).unwrap_err(),
        scorecard::archive(&manager(), &archived, "t2").unwrap_err(),
        version_for_new_evaluation(&archived, 0).unwrap_err(),
    ] {
        assert_eq!(err.code(), Code::FailedPrecondition, "{err}");
    }
}

#[test]
fn stored_forms_round_trip() {
    for s in [
        S::Draft,
        S::Submitted,
        S::Released,
        S::Acknowledged,
        S::Disputed,
        S::Resolved,
    ] {
        assert_eq!(S::parse(s.as_str()), Some(s));
    }
    for k in [
        EvaluationKind::Assigned,
        EvaluationKind::AdHoc,
        EvaluationKind::MysteryShop,
        EvaluationKind::SelfEvaluation,
    ] {
        assert_eq!(EvaluationKind::parse(k.as_str()), Some(k));
    }
    for s in [
        ScorecardState::Draft,
        ScorecardState::Published,
        ScorecardState::Archived,
    ] {
        assert_eq!(ScorecardState::parse(s.as_str()), Some(s));
    }
}

#[test]
fn disputes_and_coaching_comments() {
    use earshot_scoring::comments::CoachingComment;
    use earshot_scoring::disputes::{Dispute, DisputedQuestion};
    let sc = common::card(CARD);
    let q = |id: &str, reason: &str| DisputedQuestion {
        question_id: id.into(),
        reason: reason.into(),
    };
    assert!(Dispute::parse("unfair".into(), vec![], &sc).is_ok());
    assert!(Dispute::parse(String::new(), vec![q("a", "I did greet")], &sc).is_ok());
    assert!(
        Dispute::parse(" ".into(), vec![], &sc)
            .unwrap_err()
            .has_field("reason")
    );
    let err = Dispute::parse(
        String::new(),
        vec![q("a", "x"), q("a", "y"), q("zz", "")],
        &sc,
    )
    .unwrap_err();
    assert!(err.has_field("questions[1].question_id"));
    assert!(err.has_field("questions[2].question_id"));
    assert!(err.has_field("questions[2].reason"));

    assert!(CoachingComment::parse(String::new(), "Well done".into(), &sc).is_ok());
    let c = CoachingComment::parse("a".into(), "Greet by name".into(), &sc).unwrap();
    assert_eq!(c.question_id.as_deref(), Some("a"));
    let err = CoachingComment::parse("zz".into(), "  ".into(), &sc).unwrap_err();
    assert!(err.has_field("question_id") && err.has_field("text"));
}
