//! Which interactions a plan may select: its scope, minus its exclusions.
//!
//! The check returns the first reason an interaction is out, as a stable
//! code ([`Exclusion::code`]) that `PreviewPlan` counts. Only an ended
//! interaction with an agent is ever eligible.

use crate::business_hours::BusinessHours;
use crate::calendar::TimeZone;
use crate::interaction::Interaction;
use crate::plan::PlanSpec;

/// Why an interaction is not eligible for a plan.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Exclusion {
    /// Not ended yet.
    NotEnded,
    /// No agent handled it.
    NoAgent,
    /// Channel not in scope.
    Channel,
    /// Direction not in scope.
    Direction,
    /// Queue not in scope.
    Queue,
    /// Team not in scope.
    Team,
    /// Agent not in scope.
    Agent,
    /// Disposition not in scope.
    Disposition,
    /// Language not in scope.
    Language,
    /// Handle time unknown while the scope bounds it.
    UnknownHandleTime,
    /// Shorter than the scope's minimum.
    TooShort,
    /// Longer than the scope's maximum.
    TooLong,
    /// Arrived outside business hours.
    OutsideBusinessHours,
    /// Abandoned, and the plan excludes abandoned interactions.
    Abandoned,
    /// Transferred, and the plan excludes transferred interactions.
    Transferred,
    /// A disposition the plan excludes.
    ExcludedDisposition,
    /// Already selected elsewhere, and the plan excludes those.
    AlreadySelected,
}

impl Exclusion {
    /// The stable code reported by `PreviewPlan` (`ExclusionCount.reason`).
    pub fn code(self) -> &'static str {
        match self {
            Exclusion::NotEnded => "not_ended",
            Exclusion::NoAgent => "no_agent",
            Exclusion::Channel => "channel",
            Exclusion::Direction => "direction",
            Exclusion::Queue => "queue",
            Exclusion::Team => "team",
            Exclusion::Agent => "agent",
            Exclusion::Disposition => "disposition",
            Exclusion::Language => "language",
            Exclusion::UnknownHandleTime => "unknown_handle_time",
            Exclusion::TooShort => "too_short",
            Exclusion::TooLong => "too_long",
            Exclusion::OutsideBusinessHours => "outside_business_hours",
            Exclusion::Abandoned => "abandoned",
            Exclusion::Transferred => "transferred",
            Exclusion::ExcludedDisposition => "excluded_disposition",
            Exclusion::AlreadySelected => "already_selected",
        }
    }
}

/// What eligibility needs besides the plan and the interaction.
#[derive(Debug, Clone, Copy)]
pub struct EligibilityContext<'a> {
    /// The tenant's time zone.
    pub time_zone: &'a TimeZone,
    /// The tenant's business hours.
    pub business_hours: &'a BusinessHours,
    /// True when another plan or a person already selected the interaction.
    pub already_selected: bool,
}

fn in_set<T: Ord>(set: &std::collections::BTreeSet<T>, value: Option<&T>) -> bool {
    set.is_empty() || value.is_some_and(|v| set.contains(v))
}

/// `Ok(())` when the plan may select the interaction, else the first reason
/// it may not.
pub fn check(
    plan: &PlanSpec,
    i: &Interaction,
    ctx: &EligibilityContext<'_>,
) -> Result<(), Exclusion> {
    let scope = &plan.scope;
    if !i.is_ended() {
        return Err(Exclusion::NotEnded);
    }
    if i.agent.is_none() {
        return Err(Exclusion::NoAgent);
    }
    if !in_set(&scope.channels, Some(&i.channel)) {
        return Err(Exclusion::Channel);
    }
    if !in_set(&scope.directions, Some(&i.direction)) {
        return Err(Exclusion::Direction);
    }
    if !in_set(&scope.queues, i.queue.as_ref()) {
        return Err(Exclusion::Queue);
    }
    if !in_set(&scope.teams, i.team.as_ref()) {
        return Err(Exclusion::Team);
    }
    if !in_set(&scope.agents, i.agent.as_ref()) {
        return Err(Exclusion::Agent);
    }
    if !in_set(&scope.dispositions, Some(&i.disposition)) {
        return Err(Exclusion::Disposition);
    }
    if !scope.languages.is_empty()
        && !i
            .language
            .as_ref()
            .is_some_and(|l| scope.languages.iter().any(|s| s.covers(l)))
    {
        return Err(Exclusion::Language);
    }
    if scope.min_handle_ms.is_some() || scope.max_handle_ms.is_some() {
        let Some(handle) = i.handle_ms() else {
            return Err(Exclusion::UnknownHandleTime);
        };
        if scope.min_handle_ms.is_some_and(|m| handle < m) {
            return Err(Exclusion::TooShort);
        }
        if scope.max_handle_ms.is_some_and(|m| handle > m) {
            return Err(Exclusion::TooLong);
        }
    }
    if scope.business_hours_only && !ctx.business_hours.is_open(ctx.time_zone, i.arrived_ms) {
        return Err(Exclusion::OutsideBusinessHours);
    }
    let ex = &plan.exclusions;
    if ex.abandoned && i.abandoned {
        return Err(Exclusion::Abandoned);
    }
    if ex.transferred && i.transferred {
        return Err(Exclusion::Transferred);
    }
    if ex.dispositions.contains(&i.disposition) {
        return Err(Exclusion::ExcludedDisposition);
    }
    if ex.already_selected && ctx.already_selected {
        return Err(Exclusion::AlreadySelected);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::business_hours::WindowInput;
    use crate::interaction::InteractionInput;
    use crate::interaction::tests::{T0, valid_input};
    use crate::plan::tests::weekly_input;
    use crate::plan::{ExclusionsInput, PlanInput, ScopeInput};

    fn plan(edit: impl FnOnce(&mut PlanInput)) -> PlanSpec {
        let mut p = weekly_input();
        edit(&mut p);
        PlanSpec::parse(&p).unwrap()
    }

    fn interaction(edit: impl FnOnce(&mut InteractionInput)) -> Interaction {
        let mut i = valid_input();
        edit(&mut i);
        Interaction::parse(i, T0).unwrap()
    }

    #[test]
    fn each_rule_excludes_with_its_code() {
        let tz = TimeZone::UTC;
        // Monday to Friday 08:00-18:00 UTC; T0 is Monday 09:00 UTC.
        let windows: Vec<WindowInput> = (1..=5)
            .map(|day| WindowInput {
                day,
                open_minute: 480,
                close_minute: 1080,
            })
            .collect();
        let bh = BusinessHours::parse(&windows, &[]).unwrap();
        let ctx = EligibilityContext {
            time_zone: &tz,
            business_hours: &bh,
            already_selected: false,
        };
        let selected = EligibilityContext {
            already_selected: true,
            ..ctx
        };
        type PEdit = fn(&mut PlanInput);
        type IEdit = fn(&mut InteractionInput);
        let table: &[(PEdit, IEdit, Exclusion)] = &[
            (|_| {}, |i| i.ended_ms = None, Exclusion::NotEnded),
            (|_| {}, |i| i.agent_id.clear(), Exclusion::NoAgent),
            (|p| p.scope.channels = vec![2], |_| {}, Exclusion::Channel),
            (
                |p| p.scope.directions = vec![2],
                |_| {},
                Exclusion::Direction,
            ),
            (
                |p| p.scope.queue_ids = vec!["sales".into()],
                |_| {},
                Exclusion::Queue,
            ),
            (
                |p| p.scope.queue_ids = vec!["sales".into()],
                |i| i.queue_id.clear(),
                Exclusion::Queue,
            ),
            (
                |p| p.scope.team_ids = vec!["team-b".into()],
                |_| {},
                Exclusion::Team,
            ),
            (
                |p| p.scope.agent_ids = vec!["agent-2".into()],
                |_| {},
                Exclusion::Agent,
            ),
            (
                |p| p.scope.dispositions = vec!["sale".into()],
                |_| {},
                Exclusion::Disposition,
            ),
            (
                |p| p.scope.languages = vec!["fr".into()],
                |_| {},
                Exclusion::Language,
            ),
            (
                |p| p.scope.languages = vec!["en".into()],
                |i| i.language.clear(),
                Exclusion::Language,
            ),
            (
                |p| p.scope.min_handle_ms = Some(60_000),
                |i| {
                    i.talk_ms = None;
                    i.hold_ms = None;
                    i.after_call_work_ms = None;
                    i.answered_ms = None;
                },
                Exclusion::UnknownHandleTime,
            ),
            (
                |p| p.scope.min_handle_ms = Some(600_000),
                |_| {},
                Exclusion::TooShort,
            ),
            (
                |p| p.scope.max_handle_ms = Some(60_000),
                |_| {},
                Exclusion::TooLong,
            ),
            (
                |p| p.scope.business_hours_only = true,
                |i| {
                    i.arrived_ms = Some(T0 - 2 * 3_600_000);
                },
                Exclusion::OutsideBusinessHours,
            ),
            (
                |p| p.exclusions.abandoned = true,
                |i| i.abandoned = true,
                Exclusion::Abandoned,
            ),
            (
                |p| p.exclusions.transferred = true,
                |i| i.transferred = true,
                Exclusion::Transferred,
            ),
            (
                |p| {
                    p.exclusions = ExclusionsInput {
                        dispositions: vec!["resolved".into()],
                        ..Default::default()
                    }
                },
                |_| {},
                Exclusion::ExcludedDisposition,
            ),
        ];
        for (p_edit, i_edit, want) in table {
            let got = check(&plan(*p_edit), &interaction(*i_edit), &ctx);
            assert_eq!(got, Err(*want), "{}", want.code());
        }
        // The defaults keep everything.
        assert_eq!(check(&plan(|_| {}), &interaction(|_| {}), &ctx), Ok(()));
        // "pt" covers "pt-BR"; business hours met.
        let p = plan(|p| {
            p.scope = ScopeInput {
                languages: vec!["en".into()],
                business_hours_only: true,
                min_handle_ms: Some(1_000),
                max_handle_ms: Some(3_600_000),
                ..Default::default()
            };
        });
        assert_eq!(check(&p, &interaction(|_| {}), &ctx), Ok(()));
        // Already selected elsewhere: only excluded when the plan says so.
        assert_eq!(
            check(&plan(|_| {}), &interaction(|_| {}), &selected),
            Ok(())
        );
        let ex = plan(|p| p.exclusions.already_selected = true);
        assert_eq!(
            check(&ex, &interaction(|_| {}), &selected),
            Err(Exclusion::AlreadySelected)
        );
    }
}
