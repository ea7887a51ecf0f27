//! The gRPC edge: authorize, validate, call the store, translate.
//!
//! Every handler takes the caller from the request (the tenant only ever
//! comes from the token), checks the roles the contract names, validates
//! every caller-controlled field (`INVALID_ARGUMENT` naming the field,
//! nothing changed), and then calls the store. Things a caller may not see
//! answer `NOT_FOUND`, as if they did not exist.

use std::collections::{BTreeMap, HashSet, VecDeque};

use earshot_kit::{
    auth::{self, Caller, Role},
    error::{Error, Result},
    feed, paging,
    time::{from_millis, now_millis},
};
use earshot_proto::sampling::v1::{self as pb, sampling_service_server::SamplingService};
use futures::StreamExt as _;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status, Streaming};

use crate::convert;
use crate::erasure::{self, Peers};
use crate::filter::{self, InteractionFilter, Purpose};
use crate::ids::{EvaluationId, EvaluatorId, InteractionId, PlanId, check_text};
use crate::ingest::check_batch;
use crate::plan::{Plan, PlanSpec};
use crate::preview::{History, SimItem, simulate};
use crate::sample_size::{self, ProportionTarget};
use crate::selection::Reason;
use crate::store::Store;
use crate::store::ingest::{Prepared, prepare};
use crate::store::interactions::Visibility;
use crate::time::DAY_MS;

/// Default page size of every List.
const PAGE_DEFAULT: u32 = 100;
/// Largest page size of every List.
const PAGE_MAX: u32 = 1000;
/// The longest range of a preview or coverage query.
const MAX_RANGE_MS: i64 = 366 * DAY_MS;
/// The most interactions a preview simulates.
const MAX_PREVIEW_INTERACTIONS: usize = 2_000_000;

/// The sampling service.
#[derive(Debug, Clone)]
pub struct Sampling {
    store: Store,
    shutdown: CancellationToken,
    peers: Peers,
}

impl Sampling {
    /// The service over a store; `peers` reach scoring and calibration for
    /// erasure.
    pub fn new(store: Store, shutdown: CancellationToken, peers: Peers) -> Self {
        Sampling {
            store,
            shutdown,
            peers,
        }
    }
}

type R<T> = std::result::Result<Response<T>, Status>;

fn by(c: &Caller) -> (&str, &'static str) {
    let role = [
        Role::Admin,
        Role::QaManager,
        Role::Supervisor,
        Role::Evaluator,
        Role::Integration,
        Role::Service,
        Role::Agent,
    ]
    .into_iter()
    .find(|r| c.has(*r))
    .map_or("", Role::as_str);
    (c.subject(), role)
}

/// What of interactions, selections and coverage a caller may see.
fn visibility(c: &Caller) -> Result<Visibility> {
    if c.has_any(&[
        Role::Admin,
        Role::QaManager,
        Role::Integration,
        Role::Service,
    ]) {
        Ok(Visibility::default())
    } else if c.has(Role::Supervisor) {
        Ok(Visibility {
            teams: Some(c.teams().to_vec()),
            agent: None,
        })
    } else if c.has(Role::Agent) {
        Ok(Visibility {
            teams: None,
            agent: Some(c.subject().to_owned()),
        })
    } else {
        Err(Error::PermissionDenied(
            "this call needs one of the roles: admin, qa_manager, integration, service, \
             supervisor, agent"
                .into(),
        ))
    }
}

fn id_field<T>(
    field: &str,
    value: &str,
    parse: impl Fn(String) -> std::result::Result<T, String>,
) -> Result<T> {
    parse(value.to_owned()).map_err(|e| Error::invalid(field, e))
}

fn page<C: serde::de::DeserializeOwned>(
    size: i32,
    token: &str,
    fingerprint: u64,
) -> Result<(u32, Option<C>)> {
    let size = paging::page_size(size, PAGE_DEFAULT, PAGE_MAX)?;
    let cursor = paging::decode::<C>(token, fingerprint)?;
    Ok((size, cursor))
}

fn range_checked(
    r: Option<&earshot_proto::common::v1::TimeRange>,
    field: &str,
) -> Result<Option<(i64, i64)>> {
    let Some(r) = r else { return Ok(None) };
    let (s, e) = convert::range_ms(Some(r));
    match (s, e) {
        (Some(s), Some(e)) if e > s => {
            // Saturating: times far apart must not overflow past the check.
            if e.saturating_sub(s) > MAX_RANGE_MS {
                Err(Error::invalid(field, "must be at most 366 days long"))
            } else {
                Ok(Some((s, e)))
            }
        }
        (Some(_), Some(_)) => Err(Error::invalid(
            format!("{field}.end_time"),
            "must be after start_time",
        )),
        _ => Err(Error::invalid(field, "needs start_time and end_time")),
    }
}

/// A group of ingest batches being stored.
struct Running {
    /// The batches' ids, in order, for their acknowledgements.
    batch_ids: Vec<String>,
    /// The interaction ids of the group.
    ids: HashSet<String>,
    /// The transaction.
    task: tokio::task::JoinHandle<Result<Vec<crate::store::ingest::BatchResult>>>,
}

impl Sampling {
    async fn ingest_batch(
        &self,
        caller: &Caller,
        items: Vec<pb::Interaction>,
        batch_id: &str,
    ) -> Result<crate::store::ingest::BatchResult> {
        check_batch(items.len(), batch_id)?;
        self.store
            .ingest(caller.tenant(), items, now_millis())
            .await
    }

    fn interaction_message(
        &self,
        stored: &crate::store::rows::Stored,
        surveys: &[crate::store::rows::SurveyRow],
        feedback: &[crate::store::rows::FeedbackRow],
        window: i64,
    ) -> pb::Interaction {
        let mut m = stored.message(window, now_millis());
        m.surveys = surveys.iter().map(|s| s.message()).collect();
        m.feedback = feedback.iter().map(|f| f.message()).collect();
        m
    }

    /// May the caller see this assignment? Supervisors see their teams'
    /// (with evaluator ids hidden: sampling cannot tell whether the tenant
    /// runs anonymous evaluation, so it errs on the side of hiding).
    fn assignment_view(
        caller: &Caller,
        row: &crate::store::rows::AssignmentRow,
    ) -> Option<pb::Assignment> {
        if caller.has_any(&[Role::Admin, Role::QaManager, Role::Service]) {
            return Some(row.message(false));
        }
        if caller.has(Role::Evaluator) && row.evaluator_id == caller.subject() {
            return Some(row.message(false));
        }
        if caller.has(Role::Supervisor) && caller.teams().contains(&row.team_id) {
            return Some(row.message(true));
        }
        None
    }

    async fn preview(
        &self,
        caller: &Caller,
        req: pb::PreviewPlanRequest,
    ) -> Result<pb::PlanPreview> {
        let tenant = caller.tenant();
        let now = now_millis();
        let minutes = match req.minutes_per_evaluation {
            0.0 => sample_size::DEFAULT_MINUTES_PER_EVALUATION,
            m if (0.0..=600.0).contains(&m) => m,
            _ => return Err(Error::invalid("minutes_per_evaluation", "must be 0 to 600")),
        };
        let max_sel = usize::try_from(req.max_selections)
            .ok()
            .filter(|n| *n <= 1000)
            .ok_or_else(|| Error::invalid("max_selections", "must be 0 to 1000"))?;
        let plan: Plan = match &req.plan_source {
            Some(pb::preview_plan_request::PlanSource::PlanId(id)) => (*self
                .store
                .plan(tenant, id)
                .await?
                .ok_or_else(|| Error::not_found(format!("plan {id:?}")))?)
            .clone(),
            Some(pb::preview_plan_request::PlanSource::Plan(p)) => {
                let spec = PlanSpec::parse(&convert::plan_input(p))
                    .map_err(|v| convert::invalid_under("plan", v))?;
                let id = PlanId::parse("preview").map_err(Error::internal)?;
                Plan::create(id, spec, p.seed, uuid::Uuid::new_v4().as_u64_pair().0)
            }
            None => return Err(Error::invalid("plan_source", "give plan_id or plan")),
        };
        let settings = self.store.settings(tenant).await?.settings;
        let tz = settings.time_zone;
        let (start, end) = match range_checked(req.range.as_ref(), "range")? {
            Some(r) => r,
            None => {
                let p = tz
                    .period(plan.spec.period, now)
                    .ok_or_else(|| Error::internal("no current period"))?;
                (p.start_ms, p.end_ms)
            }
        };
        let stored = self.store.interactions_in(tenant, start, end, None).await?;
        if stored.len() > MAX_PREVIEW_INTERACTIONS {
            return Err(Error::ResourceExhausted(format!(
                "the range holds {} interactions; preview at most {MAX_PREVIEW_INTERACTIONS}",
                stored.len()
            )));
        }
        let items: Vec<SimItem<'_>> = stored
            .iter()
            .map(|s| SimItem {
                interaction: &s.interaction,
                facts: s.facts,
                already_selected: false,
            })
            .collect();
        let mut history = History::default();
        if matches!(
            req.plan_source,
            Some(pb::preview_plan_request::PlanSource::PlanId(_))
        ) {
            for (agent, vols) in self
                .store
                .agent_history(tenant, plan.id.as_str(), start)
                .await?
            {
                if let Ok(a) = crate::ids::AgentId::parse(agent) {
                    history.agent_volumes.insert(a, vols);
                }
            }
        }
        let sim = simulate(&plan, &settings, &items, &history);
        let mut by_reason: BTreeMap<(i32, String), i64> = BTreeMap::new();
        for s in &sim.selections {
            let rule = match &s.reason {
                Reason::Targeted(r) => r.as_str().to_owned(),
                _ => String::new(),
            };
            *by_reason.entry((s.reason.code(), rule)).or_insert(0) += 1;
        }
        let total_eligible: u64 = sim.strata.values().map(|s| s.eligible).sum();
        let total_selected: u64 = sim.strata.values().map(|s| s.selected).sum();
        let share = |x: u64, of: u64| if of == 0 { 0.0 } else { x as f64 / of as f64 };
        let mut sample: Vec<&crate::preview::SimSelection> = sim.selections.iter().collect();
        sample.sort_by_key(|s| {
            (
                stored.get(s.item).map_or(0, |x| x.interaction.arrived_ms),
                s.item,
            )
        });
        let selected = i64::try_from(sim.selections.len()).unwrap_or(i64::MAX);
        Ok(pb::PlanPreview {
            range: Some(convert::time_range(start, end)),
            periods: sim
                .periods
                .iter()
                .map(|p| convert::time_range(p.start_ms, p.end_ms))
                .collect(),
            interactions: i64::try_from(sim.interactions).unwrap_or(i64::MAX),
            eligible: i64::try_from(sim.eligible).unwrap_or(i64::MAX),
            exclusions: sim
                .exclusions
                .iter()
                .map(|(e, n)| pb::ExclusionCount {
                    reason: e.code().to_owned(),
                    count: i64::try_from(*n).unwrap_or(i64::MAX),
                })
                .collect(),
            selections_by_reason: by_reason
                .into_iter()
                .map(|((reason, rule_id), count)| pb::ReasonCount {
                    reason,
                    rule_id,
                    count,
                })
                .collect(),
            selected,
            agents: sim
                .agents
                .iter()
                .map(|a| pb::AgentPreview {
                    agent_id: a.agent.as_str().to_owned(),
                    team_id: a
                        .team
                        .as_ref()
                        .map(|t| t.as_str().to_owned())
                        .unwrap_or_default(),
                    period: Some(convert::time_range(a.period.start_ms, a.period.end_ms)),
                    eligible: i64::try_from(a.counts.eligible).unwrap_or(i64::MAX),
                    expected_volume: a.expected_volume,
                    threshold: a.threshold,
                    random_target: i32::try_from(a.random_target).unwrap_or(i32::MAX),
                    min: i32::try_from(a.quota.min).unwrap_or(i32::MAX),
                    max: a
                        .quota
                        .max
                        .map_or(0, |m| i32::try_from(m).unwrap_or(i32::MAX)),
                    selected_random: i32::try_from(a.counts.random).unwrap_or(i32::MAX),
                    selected_top_up: i32::try_from(a.counts.top_up).unwrap_or(i32::MAX),
                    selected_targeted: i32::try_from(a.counts.targeted).unwrap_or(i32::MAX),
                    new_hire: a.quota.new_hire(),
                    min_met: a.min_met,
                })
                .collect(),
            strata: sim
                .strata
                .iter()
                .map(|(k, s)| pb::StratumPreview {
                    stratum: k.as_str().to_owned(),
                    eligible: i64::try_from(s.eligible).unwrap_or(i64::MAX),
                    selected: i64::try_from(s.selected).unwrap_or(i64::MAX),
                    eligible_share: share(s.eligible, total_eligible),
                    selected_share: share(s.selected, total_selected),
                })
                .collect(),
            sample: sample
                .into_iter()
                .take(max_sel)
                .filter_map(|s| {
                    let i = stored.get(s.item)?;
                    Some(pb::PreviewSelection {
                        interaction: Some(convert::dimensions(&i.interaction)),
                        reason: s.reason.code(),
                        rule_id: match &s.reason {
                            Reason::Targeted(r) => r.as_str().to_owned(),
                            _ => String::new(),
                        },
                        stratum: s.stratum.as_str().to_owned(),
                        draw: s.u,
                    })
                })
                .collect(),
            evaluator_hours: sim.selections.len() as f64 * minutes / 60.0,
        })
    }
}

#[tonic::async_trait]
impl SamplingService for Sampling {
    async fn ingest_interactions(
        &self,
        request: Request<Streaming<pb::IngestInteractionsRequest>>,
    ) -> R<feed::ResponseStream<pb::IngestInteractionsResponse>> {
        let caller = auth::caller(&request)?;
        caller.require_any(&[Role::Integration, Role::Admin])?;
        let mut inbound = request.into_inner();
        // Two stages: one task decodes and validates batches while the
        // other stores them. The store stage takes every batch that is
        // ready (up to MAX_GROUP_ITEMS items) into one transaction — a group
        // commit — and acknowledges each, in order, once it is durable;
        // every batch sees the ones before it. The client's window of
        // unacknowledged batches bounds memory.
        // A refused batch travels as the status that ends the stream.
        type Ready = (String, std::result::Result<Prepared, Status>);
        let (ready_tx, mut ready_rx) = mpsc::channel::<Ready>(3);
        let shutdown = self.shutdown.clone();
        let hasher = self.store.hasher().cloned();
        let tenant = caller.tenant().clone();
        tokio::spawn(async move {
            loop {
                let next = tokio::select! {
                    _ = shutdown.cancelled() => break,
                    n = inbound.next() => n,
                };
                let batch = match next {
                    None => break,
                    // A message over server.max_message_bytes is a refusal
                    // to report, not the client going away.
                    Some(Err(status)) if status.code() == tonic::Code::OutOfRange => {
                        let refusal = Error::ResourceExhausted(status.message().to_owned());
                        let _ = ready_tx
                            .send((String::new(), Err(refusal.into_status())))
                            .await;
                        break;
                    }
                    Some(Err(status)) => {
                        // A message that does not decode (INTERNAL, as tonic
                        // reports it), one too large, or a reset: the stream
                        // ends with that status after the batches before it,
                        // never as a clean end that would look like success.
                        tracing::debug!(%status, "ingest stream failed");
                        let _ = ready_tx.send((String::new(), Err(status))).await;
                        break;
                    }
                    Some(Ok(b)) => b,
                };
                let prepared = check_batch(batch.interactions.len(), &batch.batch_id)
                    .map_err(|v| Error::from(v).into_status())
                    .map(|()| {
                        prepare(
                            batch.interactions,
                            now_millis(),
                            hasher.as_ref().map(|h| (&tenant, h)),
                        )
                    });
                let failed = prepared.is_err();
                if ready_tx.send((batch.batch_id, prepared)).await.is_err() || failed {
                    break;
                }
            }
        });
        let (tx, rx) =
            mpsc::channel::<std::result::Result<pb::IngestInteractionsResponse, Status>>(4);
        let this = self.clone();
        tokio::spawn(async move {
            // On PostgreSQL two groups are stored at once: the next one
            // looks its ids up and writes its new rows while the one before
            // finishes (see `store::ingest::Turn`). SQLite has one writer.
            let depth = match this.store.db().backend() {
                earshot_kit::db::Backend::Postgres => 2,
                earshot_kit::db::Backend::Sqlite => 1,
            };
            let mut running: VecDeque<Running> = VecDeque::new();
            // A refused batch that ends the stream after the groups before it.
            let mut refused: Option<Status> = None;
            // A ready batch not yet stored: it shares an id with a group
            // being stored (so waits for it, and a re-sent id sees the
            // earlier send committed: outcomes and revisions as if stored
            // one by one), or arrived while the pipeline was full.
            let mut carry: Option<Ready> = None;
            let mut input_open = true;
            let mut previous_turn: Option<tokio::sync::oneshot::Receiver<()>> = None;
            loop {
                let can_start = refused.is_none() && running.len() < depth;
                if can_start && carry.is_none() && input_open {
                    if running.is_empty() {
                        tokio::select! {
                            _ = this.shutdown.cancelled() => input_open = false,
                            n = ready_rx.recv() => match n {
                                Some(n) => carry = Some(n),
                                None => input_open = false,
                            },
                        }
                    } else {
                        carry = ready_rx.try_recv().ok();
                    }
                }
                let blocked = carry.as_ref().is_some_and(|(_, p)| {
                    p.as_ref()
                        .is_ok_and(|p| p.ids().any(|id| running.iter().any(|r| r.ids.contains(id))))
                });
                if can_start
                    && !blocked
                    && let Some(first) = carry.take()
                {
                    let mut ids = Vec::new();
                    let mut group = Vec::new();
                    let mut seen: HashSet<String> = HashSet::new();
                    let mut items = 0;
                    let mut next = Some(first);
                    while let Some((batch_id, prepared)) = next.take() {
                        match prepared {
                            Ok(p) => {
                                let shared = |id: &str| {
                                    seen.contains(id) || running.iter().any(|r| r.ids.contains(id))
                                };
                                if !group.is_empty() && p.ids().any(shared) {
                                    carry = Some((batch_id, Ok(p)));
                                    break;
                                }
                                seen.extend(p.ids().map(str::to_owned));
                                items += p.len();
                                ids.push(batch_id);
                                group.push(p);
                            }
                            Err(e) => {
                                refused = Some(e);
                                break;
                            }
                        }
                        if items < crate::store::ingest::MAX_GROUP_ITEMS {
                            next = ready_rx.try_recv().ok();
                        }
                    }
                    if !group.is_empty() {
                        let (told, turn) = tokio::sync::oneshot::channel();
                        let turn = crate::store::ingest::Turn {
                            previous: previous_turn.replace(turn),
                            next: Some(told),
                        };
                        let store = this.store.clone();
                        let tenant = caller.tenant().clone();
                        running.push_back(Running {
                            batch_ids: ids,
                            ids: seen,
                            task: tokio::spawn(async move {
                                store
                                    .store_prepared(&tenant, group, now_millis(), turn)
                                    .await
                            }),
                        });
                    }
                    continue;
                }
                // Wait for the oldest group; meanwhile a batch that arrives
                // can start the next group when there is room for it.
                let room =
                    refused.is_none() && carry.is_none() && input_open && running.len() < depth;
                let Some(front) = running.front_mut() else {
                    if carry.is_none() && (!input_open || refused.is_some()) {
                        break;
                    }
                    continue;
                };
                let stored = tokio::select! {
                    biased;
                    done = &mut front.task => done,
                    n = ready_rx.recv(), if room => {
                        match n {
                            Some(n) => carry = Some(n),
                            None => input_open = false,
                        }
                        continue;
                    }
                };
                let Some(done) = running.pop_front() else {
                    break;
                };
                let stored = stored
                    .unwrap_or_else(|e| Err(Error::Internal(format!("ingest task failed: {e}"))));
                let replies: Vec<std::result::Result<_, Status>> = match stored {
                    Ok(results) => done
                        .batch_ids
                        .into_iter()
                        .zip(results)
                        .map(|(batch_id, r)| {
                            Ok(pb::IngestInteractionsResponse {
                                batch_id,
                                results: r.results,
                                counts: Some(r.counts),
                                selected: r.selected,
                            })
                        })
                        .collect(),
                    Err(e) => vec![Err(e.into_status())],
                };
                for reply in replies {
                    let failed = reply.is_err();
                    if tx.send(reply).await.is_err() || failed {
                        // Groups after a failed one are not acknowledged;
                        // stop them (whatever they committed is what a
                        // retry finds unchanged).
                        for r in &running {
                            r.task.abort();
                        }
                        return;
                    }
                }
            }
            if let Some(status) = refused {
                let _ = tx.send(Err(status)).await;
            }
        });
        Ok(Response::new(Box::pin(
            tokio_stream::wrappers::ReceiverStream::new(rx),
        )))
    }

    async fn batch_ingest_interactions(
        &self,
        request: Request<pb::BatchIngestInteractionsRequest>,
    ) -> R<pb::BatchIngestInteractionsResponse> {
        let caller = auth::caller(&request)?;
        caller.require_any(&[Role::Integration, Role::Admin])?;
        let r = self
            .ingest_batch(&caller, request.into_inner().interactions, "")
            .await?;
        Ok(Response::new(pb::BatchIngestInteractionsResponse {
            results: r.results,
            counts: Some(r.counts),
            selected: r.selected,
        }))
    }

    async fn record_survey_responses(
        &self,
        request: Request<pb::RecordSurveyResponsesRequest>,
    ) -> R<pb::RecordSurveyResponsesResponse> {
        let caller = auth::caller(&request)?;
        caller.require_any(&[Role::Integration, Role::Admin])?;
        let items = request.into_inner().responses;
        if items.is_empty() || items.len() > crate::ingest::MAX_BATCH_ITEMS {
            return Err(Error::invalid("responses", "must have 1 to 5000 items").into());
        }
        let r = self
            .store
            .record_surveys(caller.tenant(), items, now_millis())
            .await?;
        Ok(Response::new(pb::RecordSurveyResponsesResponse {
            results: r.results,
            counts: Some(r.counts),
        }))
    }

    async fn record_feedback(
        &self,
        request: Request<pb::RecordFeedbackRequest>,
    ) -> R<pb::RecordFeedbackResponse> {
        let caller = auth::caller(&request)?;
        caller.require_any(&[Role::Integration, Role::Admin])?;
        let items = request.into_inner().feedback;
        if items.is_empty() || items.len() > crate::ingest::MAX_BATCH_ITEMS {
            return Err(Error::invalid("feedback", "must have 1 to 5000 items").into());
        }
        let r = self
            .store
            .record_feedback(caller.tenant(), items, now_millis())
            .await?;
        Ok(Response::new(pb::RecordFeedbackResponse {
            results: r.results,
            counts: Some(r.counts),
        }))
    }

    async fn record_repeat_contact(
        &self,
        request: Request<pb::RecordRepeatContactRequest>,
    ) -> R<pb::RecordRepeatContactResponse> {
        let caller = auth::caller(&request)?;
        caller.require_any(&[Role::Integration, Role::Admin])?;
        let req = request.into_inner();
        let (stored, outcome) = self
            .store
            .record_repeat_contact(
                caller.tenant(),
                &req.interaction_id,
                req.repeat_contact.as_ref(),
                now_millis(),
            )
            .await?;
        let window = self
            .store
            .settings(caller.tenant())
            .await?
            .settings
            .repeat_contact_window_ms;
        let id = stored.interaction.id.as_str().to_owned();
        let (s, f) = self
            .store
            .late_facts_of(caller.tenant(), &[id.as_str()])
            .await?;
        Ok(Response::new(pb::RecordRepeatContactResponse {
            interaction: Some(self.interaction_message(&stored, &s, &f, window)),
            outcome: outcome as i32,
        }))
    }

    async fn get_interaction(
        &self,
        request: Request<pb::GetInteractionRequest>,
    ) -> R<pb::GetInteractionResponse> {
        let caller = auth::caller(&request)?;
        let id = request.into_inner().interaction_id;
        id_field("interaction_id", &id, InteractionId::parse)?;
        let tenant = caller.tenant();
        let missing = || Error::not_found(format!("interaction {id:?}"));
        let Some((stored, surveys, feedback)) = self.store.interaction(tenant, &id).await? else {
            return Err(missing().into());
        };
        let i = &stored.interaction;
        let allowed = caller.has_any(&[
            Role::Admin,
            Role::QaManager,
            Role::Integration,
            Role::Service,
        ]) || (caller.has(Role::Supervisor)
            && i.team
                .as_ref()
                .is_some_and(|t| caller.teams().iter().any(|x| x == t.as_str())))
            || (caller.has(Role::Agent)
                && i.agent
                    .as_ref()
                    .is_some_and(|a| a.as_str() == caller.subject()))
            || (caller.has(Role::Evaluator)
                && self
                    .store
                    .evaluator_has_interaction(tenant, caller.subject(), &id)
                    .await?);
        if !allowed {
            return Err(missing().into());
        }
        let window = self
            .store
            .settings(tenant)
            .await?
            .settings
            .repeat_contact_window_ms;
        let mut m = self.interaction_message(&stored, &surveys, &feedback, window);
        if !caller.has_any(&[
            Role::Admin,
            Role::QaManager,
            Role::Integration,
            Role::Service,
        ]) {
            // Never shown to agents or evaluators.
            m.customer_ref.clear();
        }
        Ok(Response::new(pb::GetInteractionResponse {
            interaction: Some(m),
        }))
    }

    async fn list_interactions(
        &self,
        request: Request<pb::ListInteractionsRequest>,
    ) -> R<pb::ListInteractionsResponse> {
        let caller = auth::caller(&request)?;
        let vis = visibility(&caller)?;
        let req = request.into_inner();
        let filter =
            InteractionFilter::parse(&convert::filter_input(req.filter.as_ref()), Purpose::List)
                .map_err(|v| convert::invalid_under("filter", v))?;
        let fp = paging::fingerprint(&(
            prost::Message::encode_to_vec(&req.filter.clone().unwrap_or_default()),
            vis.teams.clone(),
            vis.agent.clone(),
        ));
        let (size, cursor) = page::<(i64, String)>(req.page_size, &req.page_token, fp)?;
        let mut rows = self
            .store
            .list_interactions(caller.tenant(), &filter, &vis, cursor, size)
            .await?;
        let next = paging::next_token(&mut rows, size, fp, |s| {
            (
                s.interaction.arrived_ms,
                s.interaction.id.as_str().to_owned(),
            )
        });
        let window = self
            .store
            .settings(caller.tenant())
            .await?
            .settings
            .repeat_contact_window_ms;
        let now = now_millis();
        let hide_ref = !caller.has_any(&[
            Role::Admin,
            Role::QaManager,
            Role::Integration,
            Role::Service,
        ]);
        Ok(Response::new(pb::ListInteractionsResponse {
            interactions: rows
                .iter()
                .map(|s| {
                    let mut m = s.message(window, now);
                    if hide_ref {
                        m.customer_ref.clear();
                    }
                    m
                })
                .collect(),
            next_page_token: next,
        }))
    }

    async fn draw_interactions(
        &self,
        request: Request<pb::DrawInteractionsRequest>,
    ) -> R<pb::DrawInteractionsResponse> {
        let caller = auth::caller(&request)?;
        caller.require_any(&[Role::Admin, Role::QaManager, Role::Service])?;
        let req = request.into_inner();
        let mut v = crate::violation::Violations::new();
        let filter = v.nest(
            "filter",
            InteractionFilter::parse(&convert::filter_input(req.filter.as_ref()), Purpose::Draw),
        );
        let count = v.check("count", filter::draw_count(req.count));
        let (Some(filter), Some(count)) = (filter, count) else {
            return Err(Error::from(v).into());
        };
        let seed = if req.seed == 0 {
            uuid::Uuid::new_v4().as_u64_pair().0.max(1)
        } else {
            req.seed
        };
        let mut ids: Vec<String> = Vec::new();
        self.store
            .matching_ids(caller.tenant(), &filter, |id| ids.push(id))
            .await?;
        let matched = ids.len();
        let drawn = crate::draw::bottom_k(seed, ids, count as usize, |s: &String| s.as_str());
        if drawn.len() < count as usize && !req.allow_fewer {
            return Err(Error::FailedPrecondition(format!(
                "only {matched} interactions match the filter; {count} requested (set allow_fewer)"
            ))
            .into());
        }
        let wanted: Vec<String> = drawn.iter().map(|d| d.item.clone()).collect();
        let found = self
            .store
            .interactions_by_id(caller.tenant(), &wanted)
            .await?;
        let window = self
            .store
            .settings(caller.tenant())
            .await?
            .settings
            .repeat_contact_window_ms;
        let now = now_millis();
        Ok(Response::new(pb::DrawInteractionsResponse {
            interactions: wanted
                .iter()
                .filter_map(|id| found.get(id).map(|s| s.message(window, now)))
                .collect(),
            seed,
            matched: i64::try_from(matched).unwrap_or(i64::MAX),
        }))
    }

    async fn create_plan(
        &self,
        request: Request<pb::CreatePlanRequest>,
    ) -> R<pb::CreatePlanResponse> {
        let caller = auth::caller(&request)?;
        caller.require_any(&[Role::Admin, Role::QaManager])?;
        let req = request.into_inner();
        crate::store::check_request_id(&req.request_id)?;
        let plan = req
            .plan
            .ok_or_else(|| Error::invalid("plan", "is required"))?;
        let out = self
            .store
            .create_plan(
                caller.tenant(),
                &plan,
                &req.request_id,
                by(&caller),
                now_millis(),
            )
            .await?;
        Ok(Response::new(pb::CreatePlanResponse { plan: Some(out) }))
    }

    async fn get_plan(&self, request: Request<pb::GetPlanRequest>) -> R<pb::GetPlanResponse> {
        let caller = auth::caller(&request)?;
        caller.require_any(&[
            Role::Admin,
            Role::QaManager,
            Role::Supervisor,
            Role::Evaluator,
            Role::Service,
        ])?;
        let req = request.into_inner();
        id_field("plan_id", &req.plan_id, PlanId::parse)?;
        if req.version < 0 {
            return Err(Error::invalid("version", "must not be negative").into());
        }
        let plan = self
            .store
            .plan_message(caller.tenant(), &req.plan_id, i64::from(req.version))
            .await?
            .ok_or_else(|| Error::not_found(format!("plan {:?}", req.plan_id)))?;
        Ok(Response::new(pb::GetPlanResponse { plan: Some(plan) }))
    }

    async fn list_plans(&self, request: Request<pb::ListPlansRequest>) -> R<pb::ListPlansResponse> {
        let caller = auth::caller(&request)?;
        caller.require_any(&[
            Role::Admin,
            Role::QaManager,
            Role::Supervisor,
            Role::Evaluator,
            Role::Service,
        ])?;
        let req = request.into_inner();
        for (n, s) in req.states.iter().enumerate() {
            if !(1..=3).contains(s) {
                return Err(Error::invalid(format!("states[{n}]"), "unknown state").into());
            }
        }
        let states = crate::store::plans::list_states(&req.states);
        let fp = paging::fingerprint(&states);
        let (size, cursor) = page::<(String, String)>(req.page_size, &req.page_token, fp)?;
        let mut plans = self
            .store
            .list_plans(caller.tenant(), &states, cursor, size)
            .await?;
        let next = paging::next_token(&mut plans, size, fp, |p| {
            (p.display_name.clone(), p.id.clone())
        });
        Ok(Response::new(pb::ListPlansResponse {
            plans,
            next_page_token: next,
        }))
    }

    async fn update_plan(
        &self,
        request: Request<pb::UpdatePlanRequest>,
    ) -> R<pb::UpdatePlanResponse> {
        let caller = auth::caller(&request)?;
        caller.require_any(&[Role::Admin, Role::QaManager])?;
        let plan = request
            .into_inner()
            .plan
            .ok_or_else(|| Error::invalid("plan", "is required"))?;
        let out = self
            .store
            .update_plan(caller.tenant(), &plan, by(&caller), now_millis())
            .await?;
        Ok(Response::new(pb::UpdatePlanResponse { plan: Some(out) }))
    }

    async fn archive_plan(
        &self,
        request: Request<pb::ArchivePlanRequest>,
    ) -> R<pb::ArchivePlanResponse> {
        let caller = auth::caller(&request)?;
        caller.require_any(&[Role::Admin, Role::QaManager])?;
        let req = request.into_inner();
        id_field("plan_id", &req.plan_id, PlanId::parse)?;
        let out = self
            .store
            .archive_plan(caller.tenant(), &req.plan_id, &req.etag, now_millis())
            .await?;
        Ok(Response::new(pb::ArchivePlanResponse { plan: Some(out) }))
    }

    async fn preview_plan(
        &self,
        request: Request<pb::PreviewPlanRequest>,
    ) -> R<pb::PreviewPlanResponse> {
        let caller = auth::caller(&request)?;
        caller.require_any(&[Role::Admin, Role::QaManager])?;
        let preview = self.preview(&caller, request.into_inner()).await?;
        Ok(Response::new(pb::PreviewPlanResponse {
            preview: Some(preview),
        }))
    }

    async fn calculate_sample_size(
        &self,
        request: Request<pb::CalculateSampleSizeRequest>,
    ) -> R<pb::CalculateSampleSizeResponse> {
        let _caller = auth::caller(&request)?;
        let req = request.into_inner();
        let mut v = crate::violation::Violations::new();
        let target = v.nest(
            "",
            ProportionTarget::parse(
                req.confidence_level,
                req.margin_of_error,
                req.expected_proportion,
            ),
        );
        if req.population_size < 0 {
            v.add("population_size", "must not be negative");
        }
        if req.agents < 0 {
            v.add("agents", "must not be negative");
        }
        if !(0.0..=600.0).contains(&req.minutes_per_evaluation) {
            v.add("minutes_per_evaluation", "must be 0 to 600");
        }
        let Some(target) = target.filter(|_| v.is_empty()) else {
            return Err(Error::from(v).into());
        };
        let population = u64::try_from(req.population_size).ok().filter(|n| *n > 0);
        let size = target.size(population);
        let agents = u64::try_from(req.agents.max(1)).unwrap_or(1);
        let minutes = if req.minutes_per_evaluation == 0.0 {
            sample_size::DEFAULT_MINUTES_PER_EVALUATION
        } else {
            req.minutes_per_evaluation
        };
        let cost = sample_size::cost(size, agents, minutes);
        Ok(Response::new(pb::CalculateSampleSizeResponse {
            sample_size: i64::try_from(size).unwrap_or(i64::MAX),
            infinite_population_size: target.infinite_population_size(),
            z: target.z(),
            total_evaluations: i64::try_from(cost.total_evaluations).unwrap_or(i64::MAX),
            evaluator_hours: cost.evaluator_hours,
            evaluator_time: Some(convert::duration(
                (cost.evaluator_hours * 3_600_000.0) as i64,
            )),
        }))
    }

    async fn close_period(
        &self,
        request: Request<pb::ClosePeriodRequest>,
    ) -> R<pb::ClosePeriodResponse> {
        let caller = auth::caller(&request)?;
        caller.require_any(&[Role::Admin, Role::QaManager, Role::Service])?;
        let req = request.into_inner();
        crate::store::check_request_id(&req.request_id)?;
        id_field("plan_id", &req.plan_id, PlanId::parse)?;
        let at = req
            .period_time
            .as_ref()
            .map(convert::ts_ms)
            .ok_or_else(|| Error::invalid("period_time", "is required"))?;
        let closed = self
            .store
            .close_period(caller.tenant(), &req.plan_id, at, req.force, now_millis())
            .await?;
        Ok(Response::new(pb::ClosePeriodResponse {
            result: Some(closed.result),
            selections: closed.selections,
        }))
    }

    async fn create_selection(
        &self,
        request: Request<pb::CreateSelectionRequest>,
    ) -> R<pb::CreateSelectionResponse> {
        let caller = auth::caller(&request)?;
        caller.require_any(&[Role::Admin, Role::QaManager, Role::Supervisor])?;
        let req = request.into_inner();
        let mut v = crate::violation::Violations::new();
        v.check(
            "interaction_id",
            InteractionId::parse(req.interaction_id.clone()),
        );
        v.check("note", check_text(&req.note, 2000));
        let evaluator = v
            .check(
                "evaluator_id",
                crate::ids::optional(&req.evaluator_id, EvaluatorId::parse),
            )
            .flatten();
        if req.request_id.chars().count() > 200 {
            v.add("request_id", "must be at most 200 characters");
        }
        if !v.is_empty() {
            return Err(Error::from(v).into());
        }
        let teams;
        let visible = if caller.has_any(&[Role::Admin, Role::QaManager]) {
            None
        } else {
            teams = caller.teams().to_vec();
            Some(teams.as_slice())
        };
        let (selection, assignment) = self
            .store
            .create_selection(
                caller.tenant(),
                &crate::store::manual::Manual {
                    interaction_id: &req.interaction_id,
                    note: &req.note,
                    evaluator,
                    due_ms: req.due_time.as_ref().map(convert::ts_ms),
                    request_id: &req.request_id,
                    by: by(&caller),
                    visible_teams: visible,
                },
                now_millis(),
            )
            .await?;
        Ok(Response::new(pb::CreateSelectionResponse {
            selection: Some(selection),
            assignment,
        }))
    }

    async fn list_selections(
        &self,
        request: Request<pb::ListSelectionsRequest>,
    ) -> R<pb::ListSelectionsResponse> {
        let caller = auth::caller(&request)?;
        caller.require_any(&[
            Role::Admin,
            Role::QaManager,
            Role::Service,
            Role::Supervisor,
        ])?;
        let req = request.into_inner();
        let (s, e) = convert::range_ms(req.select_range.as_ref());
        let f = crate::store::manual::SelectionFilter {
            plan_id: req.plan_id.clone(),
            agent_ids: req.agent_ids.clone(),
            team_ids: req.team_ids.clone(),
            interaction_id: req.interaction_id.clone(),
            reasons: req.reasons.iter().map(|r| i64::from(*r)).collect(),
            range: (s, e),
            visible_teams: if caller.has_any(&[Role::Admin, Role::QaManager, Role::Service]) {
                None
            } else {
                Some(caller.teams().to_vec())
            },
        };
        if f.agent_ids.len() > 1000 || f.team_ids.len() > 1000 || f.reasons.len() > 10 {
            return Err(Error::invalid("", "too many filter values (at most 1000 ids)").into());
        }
        let fp = paging::fingerprint(&f);
        let (size, cursor) = page::<(i64, String)>(req.page_size, &req.page_token, fp)?;
        let mut rows = self
            .store
            .list_selections(caller.tenant(), &f, cursor, size)
            .await?;
        let next = paging::next_token(&mut rows, size, fp, |r| (r.selected_at, r.id.clone()));
        Ok(Response::new(pb::ListSelectionsResponse {
            selections: rows.iter().map(|r| r.message()).collect(),
            next_page_token: next,
        }))
    }

    async fn create_evaluator(
        &self,
        request: Request<pb::CreateEvaluatorRequest>,
    ) -> R<pb::CreateEvaluatorResponse> {
        let caller = auth::caller(&request)?;
        caller.require_any(&[Role::Admin, Role::QaManager])?;
        let req = request.into_inner();
        crate::store::check_request_id(&req.request_id)?;
        let e = req
            .evaluator
            .ok_or_else(|| Error::invalid("evaluator", "is required"))?;
        let out = self
            .store
            .create_evaluator(caller.tenant(), &e, &req.request_id, now_millis())
            .await?;
        Ok(Response::new(pb::CreateEvaluatorResponse {
            evaluator: Some(out),
        }))
    }

    async fn get_evaluator(
        &self,
        request: Request<pb::GetEvaluatorRequest>,
    ) -> R<pb::GetEvaluatorResponse> {
        let caller = auth::caller(&request)?;
        // The role first: a caller who may never read evaluators learns
        // nothing from validation. An evaluator reads only themselves.
        caller.require_any(&[
            Role::Admin,
            Role::QaManager,
            Role::Supervisor,
            Role::Service,
            Role::Evaluator,
        ])?;
        let id = request.into_inner().evaluator_id;
        id_field("evaluator_id", &id, EvaluatorId::parse)?;
        let allowed = caller.has_any(&[
            Role::Admin,
            Role::QaManager,
            Role::Supervisor,
            Role::Service,
        ]) || (caller.has(Role::Evaluator) && caller.subject() == id);
        if !allowed {
            return Err(Error::not_found(format!("evaluator {id:?}")).into());
        }
        let e = self
            .store
            .evaluator(caller.tenant(), &id, now_millis())
            .await?
            .ok_or_else(|| Error::not_found(format!("evaluator {id:?}")))?;
        Ok(Response::new(pb::GetEvaluatorResponse {
            evaluator: Some(e),
        }))
    }

    async fn list_evaluators(
        &self,
        request: Request<pb::ListEvaluatorsRequest>,
    ) -> R<pb::ListEvaluatorsResponse> {
        let caller = auth::caller(&request)?;
        caller.require_any(&[
            Role::Admin,
            Role::QaManager,
            Role::Supervisor,
            Role::Service,
        ])?;
        let req = request.into_inner();
        if req.channel != 0 && crate::interaction::Channel::from_code(req.channel).is_none() {
            return Err(Error::invalid("channel", "unknown channel").into());
        }
        let fp = paging::fingerprint(&(req.active_only, req.channel));
        let (size, cursor) = page::<(String, String)>(req.page_size, &req.page_token, fp)?;
        let mut list = self
            .store
            .list_evaluators(
                caller.tenant(),
                req.active_only,
                req.channel,
                cursor,
                size,
                now_millis(),
            )
            .await?;
        let next = paging::next_token(&mut list, size, fp, |e| {
            (e.display_name.clone(), e.id.clone())
        });
        Ok(Response::new(pb::ListEvaluatorsResponse {
            evaluators: list,
            next_page_token: next,
        }))
    }

    async fn update_evaluator(
        &self,
        request: Request<pb::UpdateEvaluatorRequest>,
    ) -> R<pb::UpdateEvaluatorResponse> {
        let caller = auth::caller(&request)?;
        caller.require_any(&[Role::Admin, Role::QaManager])?;
        let e = request
            .into_inner()
            .evaluator
            .ok_or_else(|| Error::invalid("evaluator", "is required"))?;
        let out = self
            .store
            .update_evaluator(caller.tenant(), &e, now_millis())
            .await?;
        Ok(Response::new(pb::UpdateEvaluatorResponse {
            evaluator: Some(out),
        }))
    }

    async fn list_assignments(
        &self,
        request: Request<pb::ListAssignmentsRequest>,
    ) -> R<pb::ListAssignmentsResponse> {
        let caller = auth::caller(&request)?;
        let req = request.into_inner();
        let manager = caller.has_any(&[Role::Admin, Role::QaManager, Role::Service]);
        let mut f = crate::store::assignments::ListFilter {
            evaluator_id: req.evaluator_id.clone(),
            states: if req.states.is_empty() {
                vec![1, 2, 3]
            } else {
                req.states.iter().map(|s| i64::from(*s)).collect()
            },
            agent_ids: req.agent_ids.clone(),
            team_ids: req.team_ids.clone(),
            plan_id: req.plan_id.clone(),
            due_before: req.due_before.as_ref().map(convert::ts_ms),
            overdue_only: req.overdue_only,
            visible_teams: None,
        };
        if f.states.iter().any(|s| !(1..=5).contains(s)) {
            return Err(Error::invalid("states", "unknown state").into());
        }
        if f.agent_ids.len() > 1000 || f.team_ids.len() > 1000 {
            return Err(Error::invalid("agent_ids", "at most 1000 ids").into());
        }
        let hide = if manager {
            false
        } else if caller.has(Role::Evaluator) {
            f.evaluator_id = caller.subject().to_owned();
            false
        } else if caller.has(Role::Supervisor) {
            f.visible_teams = Some(caller.teams().to_vec());
            true
        } else {
            return Err(Error::PermissionDenied(
                "this call needs one of the roles: admin, qa_manager, service, evaluator, supervisor"
                    .into(),
            )
            .into());
        };
        let fp = paging::fingerprint(&f);
        let (size, cursor) = page::<(i64, String)>(req.page_size, &req.page_token, fp)?;
        let mut rows = self
            .store
            .list_assignments(caller.tenant(), &f, cursor, size, now_millis())
            .await?;
        let next = paging::next_token(&mut rows, size, fp, |r| (r.due_at, r.id.clone()));
        Ok(Response::new(pb::ListAssignmentsResponse {
            assignments: rows.iter().map(|r| r.message(hide)).collect(),
            next_page_token: next,
        }))
    }

    async fn get_assignment(
        &self,
        request: Request<pb::GetAssignmentRequest>,
    ) -> R<pb::GetAssignmentResponse> {
        let caller = auth::caller(&request)?;
        // The roles `assignment_view` can ever admit, before the request
        // is read.
        caller.require_any(&[
            Role::Admin,
            Role::QaManager,
            Role::Service,
            Role::Evaluator,
            Role::Supervisor,
        ])?;
        let id = request.into_inner().assignment_id;
        if id.is_empty() {
            return Err(Error::invalid("assignment_id", "is required").into());
        }
        let missing = || Error::not_found(format!("assignment {id:?}"));
        let row = self
            .store
            .assignment(caller.tenant(), &id)
            .await?
            .ok_or_else(missing)?;
        let view = Self::assignment_view(&caller, &row).ok_or_else(missing)?;
        Ok(Response::new(pb::GetAssignmentResponse {
            assignment: Some(view),
        }))
    }

    async fn claim_next_assignment(
        &self,
        request: Request<pb::ClaimNextAssignmentRequest>,
    ) -> R<pb::ClaimNextAssignmentResponse> {
        let caller = auth::caller(&request)?;
        caller.require_any(&[Role::Evaluator])?;
        let req = request.into_inner();
        for (n, c) in req.channels.iter().enumerate() {
            if crate::interaction::Channel::from_code(*c).is_none() {
                return Err(Error::invalid(format!("channels[{n}]"), "unknown channel").into());
            }
        }
        let me = id_field("subject", caller.subject(), EvaluatorId::parse)?;
        let channels: Vec<i64> = req.channels.iter().map(|c| i64::from(*c)).collect();
        let row = self
            .store
            .claim_next(caller.tenant(), &me, &channels, now_millis())
            .await?;
        Ok(Response::new(pb::ClaimNextAssignmentResponse {
            assignment: row.map(|r| r.message(false)),
        }))
    }

    async fn release_assignment(
        &self,
        request: Request<pb::ReleaseAssignmentRequest>,
    ) -> R<pb::ReleaseAssignmentResponse> {
        let caller = auth::caller(&request)?;
        caller.require_any(&[Role::Admin, Role::QaManager, Role::Evaluator])?;
        let req = request.into_inner();
        check_text(&req.reason, 2000).map_err(|e| Error::invalid("reason", e))?;
        let manager = caller.has_any(&[Role::Admin, Role::QaManager]);
        let missing = || Error::not_found(format!("assignment {:?}", req.assignment_id));
        let row = self
            .store
            .assignment(caller.tenant(), &req.assignment_id)
            .await?
            .ok_or_else(missing)?;
        let by_evaluator = if manager {
            None
        } else {
            if row.evaluator_id != caller.subject() {
                return Err(missing().into());
            }
            Some(id_field("subject", caller.subject(), EvaluatorId::parse)?)
        };
        let after = self
            .store
            .release_assignment(
                caller.tenant(),
                &req.assignment_id,
                &req.etag,
                by_evaluator.as_ref(),
                &req.reason,
                now_millis(),
            )
            .await?;
        Ok(Response::new(pb::ReleaseAssignmentResponse {
            assignment: Some(after.message(false)),
        }))
    }

    async fn complete_assignment(
        &self,
        request: Request<pb::CompleteAssignmentRequest>,
    ) -> R<pb::CompleteAssignmentResponse> {
        let caller = auth::caller(&request)?;
        caller.require_any(&[Role::Service, Role::Admin, Role::Evaluator])?;
        let req = request.into_inner();
        let evaluation = id_field("evaluation_id", &req.evaluation_id, EvaluationId::parse)?;
        let privileged = caller.has_any(&[Role::Service, Role::Admin]);
        let named = crate::ids::optional(&req.evaluator_id, EvaluatorId::parse)
            .map_err(|e| Error::invalid("evaluator_id", e))?;
        // An evaluator (scoring acting on their behalf) completes only their own.
        let by = if privileged {
            named
        } else {
            let me = id_field("subject", caller.subject(), EvaluatorId::parse)?;
            if named.as_ref().is_some_and(|n| n != &me) {
                return Err(Error::PermissionDenied(
                    "an evaluator completes only their own assignments".into(),
                )
                .into());
            }
            let row = self
                .store
                .assignment(caller.tenant(), &req.assignment_id)
                .await?
                .ok_or_else(|| Error::not_found(format!("assignment {:?}", req.assignment_id)))?;
            if row.evaluator_id != me.as_str() {
                return Err(Error::not_found(format!("assignment {:?}", req.assignment_id)).into());
            }
            Some(me)
        };
        let now = now_millis();
        let at = req
            .complete_time
            .as_ref()
            .map(convert::ts_ms)
            .unwrap_or(now);
        let after = self
            .store
            .complete_assignment(
                caller.tenant(),
                &req.assignment_id,
                evaluation,
                by.as_ref(),
                at,
                now,
            )
            .await?;
        Ok(Response::new(pb::CompleteAssignmentResponse {
            assignment: Some(after.message(false)),
        }))
    }

    async fn reassign_assignment(
        &self,
        request: Request<pb::ReassignAssignmentRequest>,
    ) -> R<pb::ReassignAssignmentResponse> {
        let caller = auth::caller(&request)?;
        caller.require_any(&[Role::Admin, Role::QaManager])?;
        let req = request.into_inner();
        check_text(&req.reason, 2000).map_err(|e| Error::invalid("reason", e))?;
        let to = crate::ids::optional(&req.evaluator_id, EvaluatorId::parse)
            .map_err(|e| Error::invalid("evaluator_id", e))?;
        let after = self
            .store
            .reassign_assignment(
                caller.tenant(),
                &req.assignment_id,
                to,
                &req.etag,
                now_millis(),
            )
            .await?;
        Ok(Response::new(pb::ReassignAssignmentResponse {
            assignment: Some(after.message(false)),
        }))
    }

    async fn cancel_assignment(
        &self,
        request: Request<pb::CancelAssignmentRequest>,
    ) -> R<pb::CancelAssignmentResponse> {
        let caller = auth::caller(&request)?;
        caller.require_any(&[Role::Admin, Role::QaManager])?;
        let req = request.into_inner();
        crate::ids::check_name(&req.reason, 2000).map_err(|e| Error::invalid("reason", e))?;
        let after = self
            .store
            .cancel_assignment(
                caller.tenant(),
                &req.assignment_id,
                &req.etag,
                &req.reason,
                now_millis(),
            )
            .await?;
        Ok(Response::new(pb::CancelAssignmentResponse {
            assignment: Some(after.message(false)),
        }))
    }

    async fn get_coverage(
        &self,
        request: Request<pb::GetCoverageRequest>,
    ) -> R<pb::GetCoverageResponse> {
        let caller = auth::caller(&request)?;
        let req = request.into_inner();
        let (visible_teams, only_agent) = if caller.has_any(&[Role::Admin, Role::QaManager]) {
            (None, None)
        } else if caller.has(Role::Supervisor) {
            (Some(caller.teams().to_vec()), None)
        } else if caller.has(Role::Agent) {
            (None, Some(caller.subject().to_owned()))
        } else {
            return Err(Error::PermissionDenied(
                "this call needs one of the roles: admin, qa_manager, supervisor, agent".into(),
            )
            .into());
        };
        if req.agent_ids.len() > 1000 || req.team_ids.len() > 1000 {
            return Err(Error::invalid("agent_ids", "at most 1000 ids").into());
        }
        let range = range_checked(req.range.as_ref(), "range")?;
        let tenant = caller.tenant();
        let plans = if req.plan_id.is_empty() {
            self.store.all_plans(tenant).await?
        } else {
            vec![
                self.store
                    .plan(tenant, &req.plan_id)
                    .await?
                    .ok_or_else(|| Error::not_found(format!("plan {:?}", req.plan_id)))?,
            ]
        };
        let tz = self.store.settings(tenant).await?.settings.time_zone;
        let now = now_millis();
        let plans = plans
            .into_iter()
            .map(|p| {
                let periods = match range {
                    Some((s, e)) => tz.periods_overlapping(p.spec.period, s, e, 400),
                    None => tz.period(p.spec.period, now).into_iter().collect(),
                };
                (p, periods)
            })
            .collect();
        let by_team = req.group_by == pb::CoverageGroup::Team as i32;
        let q = crate::store::coverage::Query {
            plans,
            by_team,
            agents: &req.agent_ids,
            teams: &req.team_ids,
            visible_teams: visible_teams.as_deref(),
            only_agent: only_agent.as_deref(),
        };
        let rows = self.store.coverage(tenant, &q, now).await?;
        let fp = paging::fingerprint(&(
            &req.plan_id,
            range,
            req.group_by,
            &req.agent_ids,
            &req.team_ids,
        ));
        let (size, cursor) = page::<(String, i64, String)>(req.page_size, &req.page_token, fp)?;
        let key = |r: &pb::CoverageRow| {
            (
                r.plan_id.clone(),
                r.period
                    .as_ref()
                    .and_then(|p| p.start_time.as_ref())
                    .map_or(0, convert::ts_ms),
                if by_team {
                    r.team_id.clone()
                } else {
                    r.agent_id.clone()
                },
            )
        };
        let start = match &cursor {
            Some(c) => rows
                .iter()
                .position(|r| &key(r) == c)
                .map_or(rows.len(), |p| p + 1),
            None => 0,
        };
        let mut rest: Vec<pb::CoverageRow> = rows
            .into_iter()
            .skip(start)
            .take(size as usize + 1)
            .collect();
        let next = paging::next_token(&mut rest, size, fp, key);
        Ok(Response::new(pb::GetCoverageResponse {
            rows: rest,
            next_page_token: next,
        }))
    }

    async fn get_settings(
        &self,
        request: Request<pb::GetSettingsRequest>,
    ) -> R<pb::GetSettingsResponse> {
        let caller = auth::caller(&request)?;
        let loaded = self.store.settings(caller.tenant()).await?;
        Ok(Response::new(pb::GetSettingsResponse {
            settings: Some(loaded.message),
        }))
    }

    async fn update_settings(
        &self,
        request: Request<pb::UpdateSettingsRequest>,
    ) -> R<pb::UpdateSettingsResponse> {
        let caller = auth::caller(&request)?;
        caller.require_any(&[Role::Admin])?;
        let s = request
            .into_inner()
            .settings
            .ok_or_else(|| Error::invalid("settings", "is required"))?;
        let loaded = self
            .store
            .update_settings(caller.tenant(), &s, by(&caller), now_millis())
            .await?;
        Ok(Response::new(pb::UpdateSettingsResponse {
            settings: Some(loaded.message),
        }))
    }

    async fn erase_customer(
        &self,
        request: Request<pb::EraseCustomerRequest>,
    ) -> R<pb::EraseCustomerResponse> {
        let caller = auth::caller(&request)?;
        caller.require_any(&[Role::Admin])?;
        let req = request.into_inner();
        if req.customer_ref.is_empty() {
            return Err(Error::invalid("customer_ref", "is required").into());
        }
        if req.customer_ref.chars().count() > 256 {
            return Err(Error::invalid("customer_ref", "must be at most 256 characters").into());
        }
        let tenant = caller.tenant();
        // Both forms: references stored before hashing was turned on are
        // stored as sent.
        let mut refs = vec![req.customer_ref.clone()];
        if let Some(h) = self.store.hasher() {
            refs.push(h.hash(tenant, &req.customer_ref));
        }
        let (ids, first) = self.store.customer_interactions(tenant, &refs).await?;
        let mut erased = if ids.is_empty() {
            Vec::new()
        } else {
            self.peers.erase(&caller, &ids).await?
        };
        let counts = self
            .store
            .erase_interactions(tenant, &ids, first.unwrap_or(0), by(&caller), now_millis())
            .await?;
        erasure::merge(&mut erased, erasure::sampling_counts(&counts));
        tracing::info!(
            tenant = %tenant,
            by = caller.subject(),
            interactions = ids.len(),
            "customer erased"
        );
        Ok(Response::new(pb::EraseCustomerResponse {
            interactions: i64::try_from(ids.len()).unwrap_or(i64::MAX),
            erased,
        }))
    }

    async fn purge_expired_detail(
        &self,
        request: Request<pb::PurgeExpiredDetailRequest>,
    ) -> R<pb::PurgeExpiredDetailResponse> {
        let caller = auth::caller(&request)?;
        caller.require_any(&[Role::Admin])?;
        let tenant = caller.tenant();
        let Some(retention) = self.store.settings(tenant).await?.settings.retention_ms else {
            return Ok(Response::new(pb::PurgeExpiredDetailResponse::default()));
        };
        let (cutoff, counts) = self
            .store
            .purge_expired(tenant, retention, by(&caller), now_millis())
            .await?;
        Ok(Response::new(pb::PurgeExpiredDetailResponse {
            cutoff_time: Some(from_millis(cutoff)),
            purged: erasure::sampling_counts(&counts),
        }))
    }

    async fn stream_events(
        &self,
        request: Request<pb::StreamEventsRequest>,
    ) -> R<feed::ResponseStream<pb::StreamEventsResponse>> {
        let caller = auth::caller(&request)?;
        caller.require_any(&[Role::Service, Role::Admin])?;
        let req = request.into_inner();
        if req.max_batch_size > 10_000 {
            return Err(Error::invalid("max_batch_size", "must be 0 to 10000").into());
        }
        let stream = feed::serve(
            self.store.db().clone(),
            &caller,
            req.after_sequence,
            req.follow,
            req.max_batch_size,
            self.shutdown.clone(),
            |batch| {
                let mut events = Vec::with_capacity(batch.events.len());
                for e in &batch.events {
                    let mut ev: pb::Event = feed::decode(e)?;
                    ev.sequence = e.sequence;
                    ev.tenant_id = e.tenant_id.clone();
                    ev.occurred_time = Some(from_millis(e.occurred_at));
                    events.push(ev);
                }
                Ok(pb::StreamEventsResponse {
                    events,
                    head_sequence: batch.head_sequence,
                })
            },
        )?;
        Ok(Response::new(stream))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use earshot_proto::common::v1::TimeRange;
    use prost_types::Timestamp;

    fn range(start_s: i64, end_s: i64) -> TimeRange {
        TimeRange {
            start_time: Some(Timestamp {
                seconds: start_s,
                nanos: 0,
            }),
            end_time: Some(Timestamp {
                seconds: end_s,
                nanos: 0,
            }),
        }
    }

    #[test]
    fn a_range_from_before_1970_to_the_end_of_time_is_too_long_not_an_overflow() {
        // Found by tests/tests/no_panic.rs: `end - start` overflowed.
        let err = range_checked(Some(&range(-1, i64::MAX)), "range").unwrap_err();
        assert!(err.to_string().contains("at most 366 days"), "{err}");
        let err = range_checked(Some(&range(i64::MIN, i64::MAX)), "range").unwrap_err();
        assert!(err.to_string().contains("at most 366 days"), "{err}");
        assert_eq!(
            range_checked(Some(&range(0, 86_400)), "range").unwrap(),
            Some((0, 86_400_000))
        );
    }
}
