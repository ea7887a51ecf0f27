//! Late facts: survey responses, feedback and reported repeat contacts,
//! recorded against stored interactions. Each may trigger targeted
//! selection while the interaction's period is open.

use std::collections::{BTreeSet, HashMap};

use earshot_kit::{
    auth::Tenant,
    db::Tx,
    error::{Error, Result},
    with_tx,
};
use earshot_proto::sampling::v1 as pb;

use super::ingest::{BatchResult, record_void, selection_events};
use super::interactions;
use super::rows::{FeedbackRow, Stored, SurveyRow};
use super::select::{self, Env, Offer};
use super::{Store, append, event, placeholders};
use crate::convert;
use crate::feedback::{Feedback, FeedbackKind};
use crate::ids::{InteractionId, check_text};
use crate::plan::Plan;
use crate::repeat_contact::{RepeatContact, RepeatSource};
use crate::survey::SurveyResponse;
use crate::violation::Violations;

fn outcome_result(index: usize, id: &str, outcome: pb::IngestOutcome) -> pb::ItemResult {
    pb::ItemResult {
        index: i32::try_from(index).unwrap_or(i32::MAX),
        id: id.to_owned(),
        outcome: outcome as i32,
        ..Default::default()
    }
}

fn not_stored(index: usize, id: &str) -> pb::ItemResult {
    pb::ItemResult {
        index: i32::try_from(index).unwrap_or(i32::MAX),
        id: id.to_owned(),
        outcome: pb::IngestOutcome::Rejected as i32,
        changed_fields: Vec::new(),
        violations: vec![pb::ItemViolation {
            field: "interaction_id".into(),
            description: "no interaction with this id is stored yet; ingest it, then re-send"
                .into(),
        }],
    }
}

fn tally(out: &mut BatchResult) {
    for r in &out.results {
        match pb::IngestOutcome::try_from(r.outcome) {
            Ok(pb::IngestOutcome::Created) => out.counts.created += 1,
            Ok(pb::IngestOutcome::Updated) => out.counts.updated += 1,
            Ok(pb::IngestOutcome::Unchanged) => out.counts.unchanged += 1,
            Ok(pb::IngestOutcome::Stale) => out.counts.stale += 1,
            _ => out.counts.rejected += 1,
        }
    }
}

/// True when some plan has a rule that late facts can trigger.
fn late_rules(plans: &[std::sync::Arc<Plan>]) -> bool {
    plans.iter().any(|p| {
        p.spec
            .rules
            .iter()
            .any(|r| r.condition.depends_on_late_facts())
    })
}

/// Recomputes the late-fact summary columns of interactions from their
/// surveys and feedback.
async fn refresh_summary(tx: &mut Tx, tenant: &Tenant, ids: &[&str], now: i64) -> Result<()> {
    for id in ids {
        with_tx!(tx, |c| {
            sqlx::query(
            "UPDATE interactions SET \
             min_csat = (SELECT MIN(s.csat) FROM surveys s WHERE s.tenant_id = $1 AND s.interaction_id = $2), \
             nps_detractor = EXISTS (SELECT 1 FROM surveys s WHERE s.tenant_id = $1 AND s.interaction_id = $2 AND s.nps <= 6), \
             has_survey = EXISTS (SELECT 1 FROM surveys s WHERE s.tenant_id = $1 AND s.interaction_id = $2), \
             has_complaint = EXISTS (SELECT 1 FROM feedback f WHERE f.tenant_id = $1 AND f.interaction_id = $2 AND f.kind = 1), \
             updated_at = $3, revision = revision + 1 \
             WHERE tenant_id = $1 AND id = $2"
        )
        .bind(tenant.id())
        .bind(*id)
        .bind(now)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected())
        })?;
    }
    Ok(())
}

/// Offers interactions whose late facts changed to the plans' rules.
async fn offer_late(
    tx: &mut Tx,
    env: &Env<'_>,
    plans: &[std::sync::Arc<Plan>],
    ids: &[&str],
) -> Result<select::Made> {
    if !late_rules(plans) || ids.is_empty() {
        return Ok(select::Made::default());
    }
    let fresh = interactions::lookup(tx, env.tenant, ids).await?;
    let offers: Vec<Offer<'_>> = fresh
        .values()
        .filter(|s| s.interaction.is_ended())
        .map(|s| Offer {
            interaction: &s.interaction,
            facts: s.facts,
            draw_now: false,
            new: false,
        })
        .collect();
    select::apply_plans(tx, env, plans, &offers).await
}

impl Store {
    /// Records survey responses (idempotent per interaction and survey id).
    pub async fn record_surveys(
        &self,
        tenant: &Tenant,
        items: Vec<pb::SurveyResponse>,
        now: i64,
    ) -> Result<BatchResult> {
        let settings = self.settings(tenant).await?.settings;
        let plans = self.active_plans(tenant).await?;
        let mut out = BatchResult::default();
        let mut valid: Vec<(usize, SurveyResponse, bool)> = Vec::new();
        for (n, item) in items.into_iter().enumerate() {
            let id = item.survey_id.clone();
            let timed = item.respond_time.is_some();
            match SurveyResponse::parse(convert::survey_input(item), now) {
                Ok(s) => {
                    out.results
                        .push(outcome_result(n, &id, pb::IngestOutcome::Unspecified));
                    valid.push((n, s, timed));
                }
                Err(v) => out.results.push(pb::ItemResult {
                    index: i32::try_from(n).unwrap_or(i32::MAX),
                    id,
                    outcome: pb::IngestOutcome::Rejected as i32,
                    changed_fields: Vec::new(),
                    violations: convert::item_violations(v),
                }),
            }
        }
        let mut tx = self.db.begin().await?;
        let ids: Vec<&str> = valid
            .iter()
            .map(|(_, s, _)| s.interaction_id.as_str())
            .collect();
        let stored = interactions::lookup(&mut tx, tenant, &ids).await?;
        let existing = surveys_of(&mut tx, tenant, &ids).await?;
        let mut current: HashMap<(String, String), SurveyResponse> = existing
            .into_iter()
            .filter_map(|r| {
                let s = survey_from_row(&r)?;
                Some(((r.interaction_id, r.survey_id), s))
            })
            .collect();
        let mut records = Vec::new();
        let mut touched: BTreeSet<String> = BTreeSet::new();
        for (n, s, timed) in &mut valid {
            let n = &*n;
            let Some(interaction) = stored.get(s.interaction_id.as_str()) else {
                if let Some(r) = out.results.get_mut(*n) {
                    *r = not_stored(*n, s.survey_id.as_str());
                }
                continue;
            };
            let key = (
                s.interaction_id.as_str().to_owned(),
                s.survey_id.as_str().to_owned(),
            );
            // Without its own answer time, a re-send keeps the recorded one.
            if !*timed && let Some(old) = current.get(&key) {
                s.respond_ms = old.respond_ms;
            }
            let s = &*s;
            let (outcome, fields) = match current.get(&key) {
                None => (pb::IngestOutcome::Created, Vec::new()),
                Some(old) => {
                    let f = s.changed_fields(old);
                    if f.is_empty() {
                        (pb::IngestOutcome::Unchanged, Vec::new())
                    } else {
                        (pb::IngestOutcome::Updated, f)
                    }
                }
            };
            if let Some(r) = out.results.get_mut(*n) {
                r.outcome = outcome as i32;
                r.changed_fields = fields.iter().map(|f| (*f).to_owned()).collect();
            }
            if outcome == pb::IngestOutcome::Unchanged {
                continue;
            }
            with_tx!(tx, |c| sqlx::query(
                "INSERT INTO surveys (tenant_id, interaction_id, survey_id, csat, nps, comment, \
                 respond_at, survey_type, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) \
                 ON CONFLICT (tenant_id, interaction_id, survey_id) DO UPDATE SET \
                 csat = excluded.csat, nps = excluded.nps, comment = excluded.comment, \
                 respond_at = excluded.respond_at, survey_type = excluded.survey_type, \
                 updated_at = excluded.updated_at"
            )
            .bind(tenant.id())
            .bind(s.interaction_id.as_str())
            .bind(s.survey_id.as_str())
            .bind(s.csat.map(|c| i64::from(c.get())))
            .bind(s.nps.map(|c| i64::from(c.get())))
            .bind(s.comment.as_str())
            .bind(s.respond_ms)
            .bind(s.survey_type.as_str())
            .bind(now)
            .execute(&mut *c)
            .await
            .map(|r| r.rows_affected()))?;
            touched.insert(s.interaction_id.as_str().to_owned());
            records.push(pb::SurveyRecord {
                survey: Some(convert::survey(s)),
                interaction: Some(convert::dimensions(&interaction.interaction)),
                outcome: outcome as i32,
            });
            current.insert(key, s.clone());
        }
        let touched: Vec<&str> = touched.iter().map(String::as_str).collect();
        refresh_summary(&mut tx, tenant, &touched, now).await?;
        let env = Env {
            tenant,
            settings: &settings,
            now,
        };
        let made = offer_late(&mut tx, &env, &plans, &touched).await?;
        let mut events = Vec::new();
        if !records.is_empty() {
            events.push(event(
                "surveys.recorded",
                pb::event::Payload::SurveysRecorded(pb::SurveysRecorded { records }),
                now,
            ));
        }
        selection_events(&mut events, made, now);
        append(&mut tx, tenant, &events).await?;
        tx.commit().await?;
        tally(&mut out);
        Ok(out)
    }

    /// Records feedback (idempotent per interaction and feedback id).
    pub async fn record_feedback(
        &self,
        tenant: &Tenant,
        items: Vec<pb::Feedback>,
        now: i64,
    ) -> Result<BatchResult> {
        let settings = self.settings(tenant).await?.settings;
        let plans = self.active_plans(tenant).await?;
        let mut out = BatchResult::default();
        let mut tx = self.db.begin().await?;
        // Only ids that can be valid are looked up: the others are rejected
        // item by item below, and PostgreSQL refuses some as parameters (NUL).
        let ids: Vec<String> = items
            .iter()
            .map(|f| f.interaction_id.clone())
            .filter(|id| InteractionId::parse(id.as_str()).is_ok())
            .collect();
        let id_refs: Vec<&str> = ids.iter().map(String::as_str).collect();
        let stored = interactions::lookup(&mut tx, tenant, &id_refs).await?;
        let existing = feedback_of(&mut tx, tenant, &id_refs).await?;
        let mut current: HashMap<(String, String), Feedback> = existing
            .into_iter()
            .filter_map(|r| {
                let f = feedback_from_row(&r)?;
                Some(((r.interaction_id, r.feedback_id), f))
            })
            .collect();
        let mut records = Vec::new();
        let mut touched: BTreeSet<String> = BTreeSet::new();
        for (n, item) in items.into_iter().enumerate() {
            let key = (item.interaction_id.clone(), item.feedback_id.clone());
            let previous_resolved = current.get(&key).and_then(|f| f.resolved_ms);
            let id = item.feedback_id.clone();
            // Without its own receive time, a re-send keeps the recorded one.
            let previous_received = current.get(&key).map(|f| f.receive_ms);
            let mut input = convert::feedback_input(item);
            if input.receive_ms.is_none() {
                input.receive_ms = previous_received;
            }
            let f = match Feedback::parse(input, now, previous_resolved) {
                Ok(f) => f,
                Err(v) => {
                    out.results.push(pb::ItemResult {
                        index: i32::try_from(n).unwrap_or(i32::MAX),
                        id,
                        outcome: pb::IngestOutcome::Rejected as i32,
                        changed_fields: Vec::new(),
                        violations: convert::item_violations(v),
                    });
                    continue;
                }
            };
            let Some(interaction) = stored.get(f.interaction_id.as_str()) else {
                out.results.push(not_stored(n, &id));
                continue;
            };
            let (outcome, fields) = match current.get(&key) {
                None => (pb::IngestOutcome::Created, Vec::new()),
                Some(old) => {
                    let fl = f.changed_fields(old);
                    if fl.is_empty() {
                        (pb::IngestOutcome::Unchanged, Vec::new())
                    } else {
                        (pb::IngestOutcome::Updated, fl)
                    }
                }
            };
            let mut r = outcome_result(n, &id, outcome);
            r.changed_fields = fields.iter().map(|x| (*x).to_owned()).collect();
            out.results.push(r);
            if outcome == pb::IngestOutcome::Unchanged {
                continue;
            }
            with_tx!(tx, |c| {
                sqlx::query(
                "INSERT INTO feedback (tenant_id, interaction_id, feedback_id, kind, category, body, \
                 receive_at, resolved_at, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9) \
                 ON CONFLICT (tenant_id, interaction_id, feedback_id) DO UPDATE SET \
                 kind = excluded.kind, category = excluded.category, body = excluded.body, \
                 receive_at = excluded.receive_at, resolved_at = excluded.resolved_at, \
                 updated_at = excluded.updated_at"
            )
            .bind(tenant.id())
            .bind(f.interaction_id.as_str())
            .bind(f.feedback_id.as_str())
            .bind(i64::from(f.kind.code()))
            .bind(f.category.as_str())
            .bind(f.text.as_str())
            .bind(f.receive_ms)
            .bind(f.resolved_ms)
            .bind(now)
            .execute(&mut *c)
            .await
            .map(|r| r.rows_affected())
            })?;
            touched.insert(f.interaction_id.as_str().to_owned());
            records.push(pb::FeedbackRecord {
                feedback: Some(convert::feedback(&f)),
                interaction: Some(convert::dimensions(&interaction.interaction)),
                outcome: outcome as i32,
            });
            current.insert(key, f);
        }
        let touched: Vec<&str> = touched.iter().map(String::as_str).collect();
        refresh_summary(&mut tx, tenant, &touched, now).await?;
        let env = Env {
            tenant,
            settings: &settings,
            now,
        };
        let made = offer_late(&mut tx, &env, &plans, &touched).await?;
        let mut events = Vec::new();
        if !records.is_empty() {
            events.push(event(
                "feedback.recorded",
                pb::event::Payload::FeedbackRecorded(pb::FeedbackRecorded { records }),
                now,
            ));
        }
        selection_events(&mut events, made, now);
        append(&mut tx, tenant, &events).await?;
        tx.commit().await?;
        tally(&mut out);
        Ok(out)
    }

    /// Records a repeat contact reported by a CRM.
    pub async fn record_repeat_contact(
        &self,
        tenant: &Tenant,
        interaction_id: &str,
        repeat: Option<&pb::RepeatContact>,
        now: i64,
    ) -> Result<(Stored, pb::IngestOutcome)> {
        let mut v = Violations::new();
        let id = v.check("interaction_id", InteractionId::parse(interaction_id));
        let r = repeat.cloned().unwrap_or_default();
        let later = v
            .check(
                "repeat_contact.repeat_interaction_id",
                crate::ids::optional(&r.repeat_interaction_id, InteractionId::parse),
            )
            .flatten();
        v.check("repeat_contact.reason", check_text(&r.reason, 500));
        let at = r.repeat_time.as_ref().map(convert::ts_ms);
        if at.is_none() {
            v.add("repeat_contact.repeat_time", "is required");
        }
        if !v.is_empty() {
            return Err(v.into());
        }
        let (Some(id), Some(at)) = (id, at) else {
            return Err(Error::invalid("interaction_id", "is required"));
        };
        let settings = self.settings(tenant).await?.settings;
        let plans = self.active_plans(tenant).await?;
        let mut tx = self.db.begin().await?;
        let found = interactions::lookup(&mut tx, tenant, &[id.as_str()]).await?;
        let stored = found
            .into_values()
            .next()
            .ok_or_else(|| Error::not_found(format!("interaction {:?}", id.as_str())))?;
        if at <= stored.interaction.arrived_ms {
            return Err(Error::invalid(
                "repeat_contact.repeat_time",
                "must be after the interaction arrived",
            ));
        }
        let new = RepeatContact {
            repeat_interaction: later,
            repeat_ms: at,
            source: RepeatSource::Reported,
            reason: r.reason.clone(),
        };
        let outcome = match &stored.repeat {
            Some(old) if *old == new => pb::IngestOutcome::Unchanged,
            Some(_) => pb::IngestOutcome::Updated,
            None => pb::IngestOutcome::Created,
        };
        if outcome == pb::IngestOutcome::Unchanged {
            drop(tx);
            return Ok((stored, outcome));
        }
        let void_event = record_void(&mut tx, tenant, &stored, new.clone(), now).await?;
        let env = Env {
            tenant,
            settings: &settings,
            now,
        };
        let made = offer_late(&mut tx, &env, &plans, &[id.as_str()]).await?;
        let mut events = vec![void_event];
        selection_events(&mut events, made, now);
        append(&mut tx, tenant, &events).await?;
        tx.commit().await?;
        let mut after = stored;
        after.repeat = Some(new);
        after.facts.repeat_contact = true;
        after.updated_at = now;
        after.revision += 1;
        Ok((after, outcome))
    }
}

async fn surveys_of(tx: &mut Tx, tenant: &Tenant, ids: &[&str]) -> Result<Vec<SurveyRow>> {
    let mut out = Vec::new();
    for chunk in ids.chunks(1000) {
        let sql = format!(
            "SELECT interaction_id, survey_id, csat, nps, comment, respond_at, survey_type \
             FROM surveys WHERE tenant_id = $1 AND interaction_id IN ({})",
            placeholders(2, chunk.len())
        );
        let rows: Vec<SurveyRow> = with_tx!(tx, |c| {
            let mut q =
                sqlx::query_as::<_, SurveyRow>(sqlx::AssertSqlSafe(sql.clone())).bind(tenant.id());
            for id in chunk {
                q = q.bind(*id);
            }
            q.fetch_all(&mut *c).await
        })?;
        out.extend(rows);
    }
    Ok(out)
}

async fn feedback_of(tx: &mut Tx, tenant: &Tenant, ids: &[&str]) -> Result<Vec<FeedbackRow>> {
    let mut out = Vec::new();
    for chunk in ids.chunks(1000) {
        let sql = format!(
            "SELECT interaction_id, feedback_id, kind, category, body, receive_at, resolved_at \
             FROM feedback WHERE tenant_id = $1 AND interaction_id IN ({})",
            placeholders(2, chunk.len())
        );
        let rows: Vec<FeedbackRow> = with_tx!(tx, |c| {
            let mut q = sqlx::query_as::<_, FeedbackRow>(sqlx::AssertSqlSafe(sql.clone()))
                .bind(tenant.id());
            for id in chunk {
                q = q.bind(*id);
            }
            q.fetch_all(&mut *c).await
        })?;
        out.extend(rows);
    }
    Ok(out)
}

fn survey_from_row(r: &SurveyRow) -> Option<SurveyResponse> {
    SurveyResponse::parse(
        crate::survey::SurveyInput {
            survey_id: r.survey_id.clone(),
            interaction_id: r.interaction_id.clone(),
            csat: r.csat.and_then(|c| i32::try_from(c).ok()),
            nps: r.nps.and_then(|c| i32::try_from(c).ok()),
            comment: r.comment.clone(),
            respond_ms: Some(r.respond_at),
            survey_type: r.survey_type.clone(),
        },
        i64::MAX / 4,
    )
    .ok()
}

fn feedback_from_row(r: &FeedbackRow) -> Option<Feedback> {
    Some(Feedback {
        feedback_id: crate::ids::FeedbackId::parse(r.feedback_id.clone()).ok()?,
        interaction_id: InteractionId::parse(r.interaction_id.clone()).ok()?,
        kind: FeedbackKind::from_code(i32::try_from(r.kind).ok()?)?,
        category: r.category.clone(),
        text: r.body.clone(),
        receive_ms: r.receive_at,
        resolved_ms: r.resolved_at,
    })
}
