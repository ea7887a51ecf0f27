//! The gRPC edge: `CalibrationService`. Each handler authorizes (roles from
//! the token; the tenant only from the token), validates every field through
//! the functional core, calls sampling or scoring where the rule needs them,
//! and stores through [`crate::store`]. Nothing here decides a calibration
//! rule: visibility, lifecycle, submission and results live in
//! [`crate::session`].
//!
//! Blindness is enforced at the edge in one place per RPC, always through
//! [`crate::session::visibility`]: responses and results are read only after
//! that check, and presentation (progress, identities) goes through
//! [`Calibration::present_session`], [`present_response`] and
//! [`mask_results`].

use std::collections::{BTreeMap, HashMap, HashSet};

use earshot_kit::{
    Error, Result,
    auth::{self, Caller, Role, Tenant},
    db::Db,
    feed::{self, NewEvent},
    paging,
    time::{from_millis, now_millis, optional_millis, required_millis},
};
use earshot_proto::calibration::v1::{self as pb, calibration_service_server::CalibrationService};
use earshot_proto::common::v1 as common;
use earshot_proto::sampling::v1 as sampling;
use earshot_proto::scoring::v1 as scoring;
use prost::Message as _;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};

use crate::mapping::{self, invalid};
use crate::peers::Peers;
use crate::session::create::{InteractionPlan, InteractionsInput, NewSession, NewSessionInput};
use crate::session::lifecycle::TransitionError;
use crate::session::results::{ResultsInput, compute_results};
use crate::session::submission::{
    RevisionConflict, SubmissionInput, check_revision, is_late, validate_submission,
};
use crate::session::visibility::{self, Denial, FeedScope, SessionView, SubmitDenial};
use crate::session::{
    Consensus, InteractionId, Mode, ParticipantId, QuestionSpec, ScoredResponse, State,
};
use crate::settings::{Settings, SettingsUpdate};
use crate::store::{self, ResponseRow, SessionRow};

type Rpc<T> = std::result::Result<Response<T>, Status>;

/// Most draws may leave out this many already-calibrated interactions
/// (sampling's limit on `exclude_interaction_ids`).
const MAX_EXCLUDED: u32 = 10_000;

/// The calibration service.
#[derive(Debug, Clone)]
pub struct Calibration {
    db: Db,
    peers: Peers,
    shutdown: CancellationToken,
}

/// A stored session, decoded.
struct Loaded {
    row: SessionRow,
    session: pb::Session,
    state: State,
    mode: Mode,
    participants: Vec<ParticipantId>,
    interactions: Vec<InteractionId>,
}

impl Loaded {
    fn view(&self) -> SessionView<'_> {
        SessionView {
            state: self.state,
            was_closed: self.session.close_time.is_some(),
            participants: &self.participants,
        }
    }

    fn scorecard(&self) -> Result<scoring::ScorecardVersion> {
        scoring::ScorecardVersion::decode(self.row.scorecard.as_slice())
            .map_err(|e| Error::internal(format!("stored scorecard does not decode: {e}")))
    }

    fn participant_pos(&self, p: &str) -> Option<usize> {
        self.participants.iter().position(|x| x.as_str() == p)
    }

    fn interaction_pos(&self, i: &str) -> Option<usize> {
        self.interactions.iter().position(|x| x.as_str() == i)
    }
}

fn decode_session(row: SessionRow) -> Result<Loaded> {
    let mut session = pb::Session::decode(row.body.as_slice())
        .map_err(|e| Error::internal(format!("stored session does not decode: {e}")))?;
    session.state = row.state;
    session.etag = row.etag.clone();
    let state = mapping::state_from(row.state);
    let mode = mapping::mode_from(session.mode)
        .ok_or_else(|| Error::internal("stored session has no mode"))?;
    let participants = session
        .participants
        .iter()
        .map(|p| ParticipantId::parse(&p.participant_id))
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| Error::internal(format!("stored participant id: {e}")))?;
    let interactions = session
        .interactions
        .iter()
        .map(|i| InteractionId::parse(&i.interaction_id))
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| Error::internal(format!("stored interaction id: {e}")))?;
    Ok(Loaded {
        row,
        session,
        state,
        mode,
        participants,
        interactions,
    })
}

/// The roles that can ever see a session: managers, the service role, and
/// the roles a participant holds (evaluators; supervisors and managers
/// calibrate too). Anyone else is refused before the request is read, so
/// validation and whether a session exists tell them nothing; which
/// sessions an allowed caller sees is [`visibility`]'s to decide.
const SESSION_READERS: &[Role] = &[
    Role::Admin,
    Role::QaManager,
    Role::Service,
    Role::Evaluator,
    Role::Supervisor,
];

/// The roles a participant who submits responses can hold.
const PARTICIPANT_ROLES: &[Role] = &[
    Role::Admin,
    Role::QaManager,
    Role::Evaluator,
    Role::Supervisor,
];

fn core_caller(c: &Caller) -> visibility::Caller {
    use visibility::Role as R;
    visibility::Caller {
        subject: c.subject().to_owned(),
        roles: c
            .roles()
            .iter()
            .map(|r| match r {
                Role::Admin => R::Admin,
                Role::QaManager => R::QaManager,
                Role::Evaluator => R::Evaluator,
                Role::Supervisor => R::Supervisor,
                Role::Agent => R::Agent,
                Role::Integration => R::Integration,
                Role::Service => R::Service,
            })
            .collect(),
    }
}

fn denied(d: Denial, session_id: &str, what: &str) -> Error {
    match d {
        Denial::Hidden => Error::not_found(format!("session {session_id:?}")),
        Denial::Forbidden => Error::PermissionDenied(what.to_owned()),
        Denial::NotYet => Error::FailedPrecondition(what.to_owned()),
    }
}

fn transition(e: TransitionError) -> Error {
    Error::FailedPrecondition(e.to_string())
}

/// The role an action was taken in, for the record.
fn actor(caller: &Caller, preferred: &[Role]) -> common::Actor {
    let role = preferred
        .iter()
        .find(|r| caller.has(**r))
        .or_else(|| caller.roles().first())
        .map(|r| r.as_str().to_owned())
        .unwrap_or_default();
    common::Actor {
        subject: caller.subject().to_owned(),
        role,
    }
}

fn new_etag() -> String {
    uuid::Uuid::new_v4().simple().to_string()
}

fn new_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

fn check_id(field: &str, v: &str) -> Result<()> {
    if v.is_empty() {
        return Err(Error::invalid(field, "is required"));
    }
    if v.chars().count() > crate::session::MAX_ID_LEN {
        return Err(Error::invalid(field, "must be at most 200 characters"));
    }
    Ok(())
}

fn event(kind: &'static str, payload: pb::event::Payload, at: i64) -> NewEvent {
    NewEvent {
        event_type: kind,
        payload: pb::Event {
            sequence: 0,
            tenant_id: String::new(),
            occurred_time: None,
            payload: Some(payload),
        }
        .encode_to_vec(),
        occurred_at: at,
    }
}

/// Progress from stored rows, by participant.
fn progress_of(rows: &[store::ProgressRow]) -> HashMap<&str, &store::ProgressRow> {
    rows.iter()
        .map(|r| (r.participant_id.as_str(), r))
        .collect()
}

fn progress_from_responses(rows: &[ResponseRow]) -> Vec<store::ProgressRow> {
    let mut by: BTreeMap<&str, store::ProgressRow> = BTreeMap::new();
    for r in rows {
        let e = by
            .entry(r.participant_id.as_str())
            .or_insert_with(|| store::ProgressRow {
                participant_id: r.participant_id.clone(),
                submitted: 0,
                late: 0,
                last_at: None,
            });
        e.submitted += 1;
        e.late += i64::from(r.late);
        e.last_at = Some(e.last_at.map_or(r.updated_at, |t| t.max(r.updated_at)));
    }
    by.into_values().collect()
}

/// Fills every participant's progress (all of it: for events and managers).
fn with_full_progress(mut s: pb::Session, progress: &[store::ProgressRow]) -> pb::Session {
    let by = progress_of(progress);
    let expected = i32::try_from(s.interactions.len()).unwrap_or(i32::MAX);
    for p in &mut s.participants {
        let row = by.get(p.participant_id.as_str());
        p.progress = Some(pb::ParticipantProgress {
            responses_submitted: row.map_or(0, |r| i32::try_from(r.submitted).unwrap_or(0)),
            responses_expected: expected,
            responses_late: row.map_or(0, |r| i32::try_from(r.late).unwrap_or(0)),
            last_submit_time: row.and_then(|r| r.last_at).map(from_millis),
        });
    }
    s
}

/// The ids a caller sees for each participant (pseudonyms for hidden ones).
fn shown_ids(caller: &Caller, loaded: &Loaded, reveal: bool) -> HashMap<String, String> {
    let c = core_caller(caller);
    loaded
        .participants
        .iter()
        .enumerate()
        .filter(|(_, p)| !visibility::shows_identity(&c, p, reveal))
        .map(|(i, p)| (p.as_str().to_owned(), visibility::pseudonym(i)))
        .collect()
}

fn rename(ids: &HashMap<String, String>, id: &mut String) {
    if let Some(n) = ids.get(id.as_str()) {
        id.clone_from(n);
    }
}

/// Results as `caller` may see them: hidden identities replaced.
fn mask_results(mut r: pb::SessionResults, ids: &HashMap<String, String>) -> pb::SessionResults {
    if ids.is_empty() {
        return r;
    }
    for i in &mut r.interactions {
        if let Some(reference) = &mut i.reference {
            rename(ids, &mut reference.expert_participant_id);
        }
        for s in &mut i.scores {
            rename(ids, &mut s.participant_id);
        }
    }
    for p in &mut r.participants {
        rename(ids, &mut p.participant_id);
    }
    for p in &mut r.pairs {
        rename(ids, &mut p.participant_a);
        rename(ids, &mut p.participant_b);
        if let Some(k) = &mut p.cohen_kappa {
            for id in &mut k.rater_ids {
                rename(ids, id);
            }
        }
    }
    r
}

/// A stored response as the proto.
fn response_of(session_id: &str, row: &ResponseRow) -> Result<pb::Response> {
    let mut r = pb::Response::decode(row.body.as_slice())
        .map_err(|e| Error::internal(format!("stored response does not decode: {e}")))?;
    r.response_id.clone_from(&row.response_id);
    r.session_id = session_id.to_owned();
    r.interaction_id.clone_from(&row.interaction_id);
    r.participant_id.clone_from(&row.participant_id);
    r.status = if row.late {
        pb::ResponseStatus::Late as i32
    } else {
        pb::ResponseStatus::Submitted as i32
    };
    r.submit_time = Some(from_millis(row.submitted_at));
    r.update_time = Some(from_millis(row.updated_at));
    r.revision = row.revision;
    r.etag.clone_from(&row.etag);
    Ok(r)
}

fn missing_response(session_id: &str, interaction: &str, participant: &str) -> pb::Response {
    pb::Response {
        session_id: session_id.to_owned(),
        interaction_id: interaction.to_owned(),
        participant_id: participant.to_owned(),
        status: pb::ResponseStatus::Missing as i32,
        ..Default::default()
    }
}

fn present_response(mut r: pb::Response, ids: &HashMap<String, String>) -> pb::Response {
    rename(ids, &mut r.participant_id);
    r
}

/// The core's scored responses from stored rows.
fn scored(rows: &[ResponseRow]) -> Result<Vec<ScoredResponse>> {
    rows.iter()
        .map(|row| {
            let r = pb::Response::decode(row.body.as_slice())
                .map_err(|e| Error::internal(format!("stored response does not decode: {e}")))?;
            let participant = ParticipantId::parse(&row.participant_id)
                .map_err(|e| Error::internal(format!("stored participant: {e}")))?;
            let interaction = InteractionId::parse(&row.interaction_id)
                .map_err(|e| Error::internal(format!("stored interaction: {e}")))?;
            Ok(mapping::scored_response(
                participant,
                interaction,
                row.late,
                &r,
            ))
        })
        .collect()
}

/// A submission's answers as the core sees them, or the violations.
fn submission_answers(
    answers: &[common::Answer],
    prefix: &str,
) -> (
    Vec<(String, crate::session::AnswerValue)>,
    crate::validation::Violations,
) {
    let mut v = crate::validation::Violations::new();
    let mut out = Vec::with_capacity(answers.len());
    for (i, a) in answers.iter().enumerate() {
        match mapping::answer_value(a) {
            Some(value) => out.push((a.question_id.clone(), value)),
            None => v.push(
                format!("{prefix}answers[{i}]"),
                "set yes, scale_value, option_id or not_applicable",
            ),
        }
        if a.comment.chars().count() > crate::session::submission::MAX_COMMENT_CHARS {
            v.push(
                format!("{prefix}answers[{i}].comment"),
                "must be at most 4,000 characters",
            );
        }
    }
    (out, v)
}

/// Scoring's answer problems as field violations (their paths are the
/// request's, under `prefix`).
fn problems(prefix: &str, p: &[scoring::AnswerProblem]) -> Error {
    let mut v = earshot_kit::Violations::new();
    for x in p {
        let field = if x.field.is_empty() {
            format!("{prefix}answers")
        } else {
            format!("{prefix}{}", x.field)
        };
        v.add(field, x.description.clone());
    }
    match v.into_result() {
        Ok(()) => Error::internal("no problems"),
        Err(e) => e,
    }
}

/// Trend points for every participant of a session whose results became final.
fn trend_rows(
    loaded: &Loaded,
    results: &crate::session::results::SessionResults,
    final_at: i64,
) -> Result<Vec<store::NewTrendRow>> {
    let mut out = Vec::with_capacity(results.participants.len());
    for (p, pr) in results.participants.iter().enumerate() {
        let deviations: Vec<f64> = results
            .interactions
            .iter()
            .filter_map(|ir| ir.scores.get(p).and_then(|s| s.deviation))
            .collect();
        let point = pb::TrendPoint {
            session_id: loaded.row.session_id.clone(),
            session_name: loaded.session.name.clone(),
            close_time: Some(from_millis(final_at)),
            mean_signed_deviation: Some(mapping::estimate(&pr.mean_signed_deviation)),
            mean_absolute_deviation: Some(mapping::estimate(&pr.mean_absolute_deviation)),
            question_agreement_rate: Some(mapping::estimate(&pr.question_agreement_rate)),
        };
        out.push(store::NewTrendRow {
            participant_id: pr.participant.as_str().to_owned(),
            final_at,
            session_id: loaded.row.session_id.clone(),
            scorecard_id: loaded.session.scorecard_id.clone(),
            deviations: serde_json::to_string(&deviations).map_err(Error::internal)?,
            body: point.encode_to_vec(),
        });
    }
    Ok(out)
}

impl Calibration {
    /// The service over `db`, calling sampling and scoring through `peers`.
    pub fn new(db: Db, peers: Peers, shutdown: CancellationToken) -> Self {
        Calibration {
            db,
            peers,
            shutdown,
        }
    }

    /// The tenant's settings and their stored proto (defaults when none).
    async fn settings(&self, tenant: &Tenant) -> Result<(Settings, pb::Settings)> {
        match store::settings(&self.db, tenant).await? {
            Some((etag, body)) => {
                let mut p = pb::Settings::decode(body.as_slice())
                    .map_err(|e| Error::internal(format!("stored settings: {e}")))?;
                p.etag = etag;
                Ok((mapping::settings_from(&p), p))
            }
            None => {
                let s = Settings::default();
                Ok((s, mapping::settings_to(&s)))
            }
        }
    }

    async fn load(&self, tenant: &Tenant, session_id: &str) -> Result<Loaded> {
        check_id("session_id", session_id)?;
        let row = store::session(&self.db, tenant, session_id)
            .await?
            .ok_or_else(|| Error::not_found(format!("session {session_id:?}")))?;
        decode_session(row)
    }

    /// The session as `caller` may see it: progress only where allowed,
    /// identities per the tenant's setting.
    async fn present_session(
        &self,
        caller: &Caller,
        loaded: &Loaded,
        reveal: bool,
    ) -> Result<pb::Session> {
        let c = core_caller(caller);
        let progress = store::progress(&self.db, caller.tenant(), &loaded.row.session_id).await?;
        let mut s = with_full_progress(loaded.session.clone(), &progress);
        let view = loaded.view();
        for (p, (pid, shown)) in loaded
            .participants
            .iter()
            .zip(&mut s.participants)
            .enumerate()
        {
            if !visibility::can_see_progress(&c, &view, pid) {
                shown.progress = None;
            }
            if !visibility::shows_identity(&c, pid, reveal) {
                if s.expert_participant_id == shown.participant_id {
                    s.expert_participant_id = visibility::pseudonym(p);
                }
                shown.participant_id = visibility::pseudonym(p);
                shown.display_name = format!("Participant {}", p + 1);
            }
        }
        Ok(s)
    }

    /// Resolves a participant named in a request: a real id, or (for a caller
    /// who sees pseudonyms) a pseudonym.
    fn resolve_participant(
        &self,
        caller: &Caller,
        loaded: &Loaded,
        reveal: bool,
        given: &str,
    ) -> Option<ParticipantId> {
        if given.is_empty() {
            return ParticipantId::parse(caller.subject()).ok();
        }
        if let Some(p) = loaded.participants.iter().find(|p| p.as_str() == given) {
            return Some(p.clone());
        }
        let ids = shown_ids(caller, loaded, reveal);
        loaded
            .participants
            .iter()
            .find(|p| ids.get(p.as_str()).map(String::as_str) == Some(given))
            .cloned()
    }

    /// Computes results for a locked session from its stored responses.
    fn compute(
        &self,
        loaded: &Loaded,
        rows: &[ResponseRow],
        consensus: Option<&BTreeMap<InteractionId, Consensus>>,
        questions: &[QuestionSpec],
        ambiguity_threshold: f64,
    ) -> Result<crate::session::results::SessionResults> {
        let responses = scored(rows)?;
        let tolerance =
            crate::session::Tolerance::parse(loaded.session.tolerance_points).unwrap_or_default();
        let group_reference =
            mapping::group_reference_from(loaded.session.group_reference).unwrap_or_default();
        let expert = if loaded.session.expert_participant_id.is_empty() {
            None
        } else {
            ParticipantId::parse(&loaded.session.expert_participant_id).ok()
        };
        Ok(compute_results(&ResultsInput {
            mode: loaded.mode,
            expert: expert.as_ref(),
            participants: &loaded.participants,
            interactions: &loaded.interactions,
            questions,
            responses: &responses,
            consensus,
            tolerance,
            group_reference,
            ambiguity_threshold,
        }))
    }
}

#[tonic::async_trait]
impl CalibrationService for Calibration {
    async fn create_session(
        &self,
        request: Request<pb::CreateSessionRequest>,
    ) -> Rpc<pb::CreateSessionResponse> {
        let caller = auth::caller(&request)?;
        visibility::can_manage_sessions(&core_caller(&caller)).map_err(|d| {
            denied(
                d,
                "",
                "creating sessions needs the admin or qa_manager role",
            )
        })?;
        let req = request.into_inner();
        let tenant = caller.tenant().clone();
        let (settings, settings_pb) = self.settings(&tenant).await?;
        let reveal = settings.reveal_identities_to_participants;
        let now = now_millis();

        let interactions = match &req.interactions {
            None => InteractionsInput::Missing,
            Some(pb::create_session_request::Interactions::Chosen(c)) => {
                InteractionsInput::Chosen(c.interaction_ids.clone())
            }
            Some(pb::create_session_request::Interactions::Draw(d)) => {
                let range = d.criteria.as_ref().and_then(|c| c.time_range.as_ref());
                InteractionsInput::Draw {
                    start_ms: optional_millis(
                        range.and_then(|r| r.start_time.as_ref()),
                        "draw.criteria.time_range.start_time",
                    )?,
                    end_ms: optional_millis(
                        range.and_then(|r| r.end_time.as_ref()),
                        "draw.criteria.time_range.end_time",
                    )?,
                    count: d.count,
                    seed: d.seed,
                }
            }
        };
        let input = NewSessionInput {
            request_id: req.request_id.clone(),
            name: req.name.clone(),
            description: req.description.clone(),
            scorecard_id: req.scorecard_id.clone(),
            scorecard_version: req.scorecard_version,
            mode: mapping::mode_from(req.mode),
            expert_participant_id: req.expert_participant_id.clone(),
            participant_ids: req.participant_ids.clone(),
            interactions,
            due_ms: optional_millis(req.due_time.as_ref(), "due_time")?,
        };
        let new = NewSession::parse(input, now, &settings).map_err(|v| invalid(v, ""))?;

        // A retry returns the first call's session, before anything else.
        if let Some(row) = store::session_by_request(&self.db, &tenant, &new.request_id).await? {
            let loaded = decode_session(row)?;
            let session = self.present_session(&caller, &loaded, reveal).await?;
            return Ok(Response::new(pb::CreateSessionResponse {
                session: Some(session),
            }));
        }

        let scorecard = self
            .peers
            .scorecard_version(&caller, new.scorecard_id.as_str(), new.scorecard_version)
            .await?;
        if mapping::question_specs(&scorecard).is_empty() {
            return Err(Error::FailedPrecondition(
                "the scorecard version has no questions calibration can compare".into(),
            )
            .into());
        }

        let (interactions, source) = match &new.interactions {
            InteractionPlan::Chosen(ids) => {
                let ids: Vec<String> = ids.iter().map(|i| i.as_str().to_owned()).collect();
                let found = self.peers.interactions(&caller, &ids).await?;
                let source = pb::InteractionSource {
                    source: Some(pb::interaction_source::Source::Chosen(
                        pb::InteractionList {
                            interaction_ids: ids,
                        },
                    )),
                };
                (
                    found
                        .iter()
                        .map(|i| session_interaction(i, "chosen"))
                        .collect::<Vec<_>>(),
                    source,
                )
            }
            InteractionPlan::Draw {
                start_ms,
                end_ms,
                count,
                seed,
            } => {
                let mut draw = match &req.interactions {
                    Some(pb::create_session_request::Interactions::Draw(d)) => d.clone(),
                    _ => return Err(Error::internal("draw plan without a draw").into()),
                };
                let criteria = draw.criteria.clone().unwrap_or_default();
                let exclude = if criteria.exclude_calibrated {
                    store::calibrated_interactions(&self.db, &tenant, MAX_EXCLUDED).await?
                } else {
                    Vec::new()
                };
                let filter = sampling::InteractionFilter {
                    arrived_range: Some(common::TimeRange {
                        start_time: Some(from_millis(*start_ms)),
                        end_time: Some(from_millis(*end_ms)),
                    }),
                    channels: criteria.channels.clone(),
                    agent_ids: criteria.agent_ids.clone(),
                    team_ids: criteria.team_ids.clone(),
                    queue_ids: criteria.queue_ids.clone(),
                    languages: criteria.languages.clone(),
                    min_handle_duration: criteria.min_handle_time,
                    max_handle_duration: criteria.max_handle_time,
                    exclude_evaluated: criteria.exclude_evaluated,
                    exclude_interaction_ids: exclude,
                    exclude_unhandled: true,
                    ..Default::default()
                };
                let (found, used_seed) = self.peers.draw(&caller, filter, *count, *seed).await?;
                if found.len() < *count as usize {
                    return Err(Error::FailedPrecondition(format!(
                        "only {} interactions match the draw; {count} were asked for",
                        found.len()
                    ))
                    .into());
                }
                draw.seed = used_seed;
                (
                    found
                        .iter()
                        .map(|i| session_interaction(i, "drawn"))
                        .collect::<Vec<_>>(),
                    pb::InteractionSource {
                        source: Some(pb::interaction_source::Source::Drawn(draw)),
                    },
                )
            }
        };
        let mut seen = HashSet::new();
        if interactions
            .iter()
            .any(|i| !seen.insert(i.interaction_id.clone()))
        {
            return Err(Error::internal("sampling returned an interaction twice").into());
        }

        let participant_ids: Vec<String> = new
            .participants
            .iter()
            .map(|p| p.as_str().to_owned())
            .collect();
        let evaluators = self.peers.evaluators(&caller, &participant_ids).await?;
        let participants: Vec<pb::Participant> = new
            .participants
            .iter()
            .zip(&evaluators)
            .map(|(p, e)| pb::Participant {
                participant_id: p.as_str().to_owned(),
                display_name: e.display_name.clone(),
                expert: new.expert.as_ref() == Some(p),
                progress: None,
            })
            .collect();

        let session_id = new_id();
        let etag = new_etag();
        let session = pb::Session {
            session_id: session_id.clone(),
            name: new.name.clone(),
            description: new.description.clone(),
            scorecard_id: new.scorecard_id.as_str().to_owned(),
            scorecard_version: new.scorecard_version,
            mode: mapping::mode_to(new.mode),
            expert_participant_id: new
                .expert
                .as_ref()
                .map(|e| e.as_str().to_owned())
                .unwrap_or_default(),
            participants,
            interactions,
            state: mapping::state_to(State::Open),
            due_time: Some(from_millis(new.due_ms)),
            create_time: Some(from_millis(now)),
            update_time: Some(from_millis(now)),
            close_time: None,
            cancel_time: None,
            created_by: Some(actor(&caller, &[Role::QaManager, Role::Admin])),
            closed_by: None,
            cancel_reason: String::new(),
            interaction_source: Some(source),
            group_reference: mapping::group_reference_to(new.group_reference),
            tolerance_points: new.tolerance.points(),
            etag: etag.clone(),
        };
        let _ = settings_pb;
        let interaction_ids: Vec<String> = session
            .interactions
            .iter()
            .map(|i| i.interaction_id.clone())
            .collect();
        let body = session.encode_to_vec();
        let scorecard_bytes = scorecard.encode_to_vec();
        let created = with_full_progress(session.clone(), &[]);
        let events = [event(
            "session.created",
            pb::event::Payload::SessionCreated(pb::SessionCreated {
                session: Some(created),
            }),
            now,
        )];
        let inserted = store::insert_session(
            &self.db,
            &tenant,
            &store::NewSessionRow {
                session_id: &session_id,
                request_id: &new.request_id,
                scorecard_id: new.scorecard_id.as_str(),
                created_at: now,
                due_at: new.due_ms,
                state: mapping::state_to(State::Open),
                etag: &etag,
                body: &body,
                scorecard: &scorecard_bytes,
                participants: &participant_ids,
                interactions: &interaction_ids,
            },
            &events,
        )
        .await?;
        let row = if inserted {
            store::session(&self.db, &tenant, &session_id).await?
        } else {
            store::session_by_request(&self.db, &tenant, &new.request_id).await?
        }
        .ok_or_else(|| Error::internal("the session just written is gone"))?;
        let loaded = decode_session(row)?;
        let session = self.present_session(&caller, &loaded, reveal).await?;
        Ok(Response::new(pb::CreateSessionResponse {
            session: Some(session),
        }))
    }

    async fn get_session(
        &self,
        request: Request<pb::GetSessionRequest>,
    ) -> Rpc<pb::GetSessionResponse> {
        let caller = auth::caller(&request)?;
        caller.require_any(SESSION_READERS)?;
        let req = request.into_inner();
        let loaded = self.load(caller.tenant(), &req.session_id).await?;
        visibility::can_see_session(&core_caller(&caller), &loaded.view())
            .map_err(|d| denied(d, &req.session_id, "session"))?;
        let (settings, _) = self.settings(caller.tenant()).await?;
        let session = self
            .present_session(&caller, &loaded, settings.reveal_identities_to_participants)
            .await?;
        Ok(Response::new(pb::GetSessionResponse {
            session: Some(session),
        }))
    }

    async fn list_sessions(
        &self,
        request: Request<pb::ListSessionsRequest>,
    ) -> Rpc<pb::ListSessionsResponse> {
        let caller = auth::caller(&request)?;
        caller.require_any(SESSION_READERS)?;
        let req = request.into_inner();
        let c = core_caller(&caller);
        let mut v = earshot_kit::Violations::new();
        let size = paging::page_size(req.page_size, 50, 200)?;
        let mut states = Vec::new();
        for (i, s) in req.states.iter().enumerate() {
            match pb::SessionState::try_from(*s) {
                Ok(pb::SessionState::Unspecified) | Err(_) => {
                    v.add(format!("states[{i}]"), "not a session state")
                }
                Ok(_) if states.contains(s) => {}
                Ok(_) => states.push(*s),
            }
        }
        if req.participant_id.chars().count() > crate::session::MAX_ID_LEN {
            v.add("participant_id", "must be at most 200 characters");
        }
        if req.scorecard_id.chars().count() > crate::session::MAX_ID_LEN {
            v.add("scorecard_id", "must be at most 200 characters");
        }
        let (from, to) = match &req.create_time_range {
            None => (i64::MIN, i64::MAX),
            Some(r) => {
                let from = optional_millis(r.start_time.as_ref(), "create_time_range.start_time")?
                    .unwrap_or(i64::MIN);
                let to = optional_millis(r.end_time.as_ref(), "create_time_range.end_time")?
                    .unwrap_or(i64::MAX);
                if to <= from {
                    v.add("create_time_range", "end_time must be after start_time");
                }
                (from, to)
            }
        };
        v.into_result()?;
        let sees_all = c.is_manager() || caller.is_system();
        let participant_id = if sees_all {
            req.participant_id.clone()
        } else if req.participant_id.is_empty() || req.participant_id == caller.subject() {
            caller.subject().to_owned()
        } else {
            return Err(Error::PermissionDenied(
                "only admin and qa_manager callers list other participants' sessions".into(),
            )
            .into());
        };
        let filter = store::SessionFilter {
            participant_id,
            scorecard_id: req.scorecard_id.clone(),
            states,
            created_from: from,
            created_to: to,
        };
        let fp = paging::fingerprint(&(
            &filter.participant_id,
            &filter.scorecard_id,
            &filter.states,
            from,
            to,
        ));
        let after: Option<(i64, String)> = paging::decode(&req.page_token, fp)?;
        let mut rows =
            store::list_sessions(&self.db, caller.tenant(), &filter, after, size + 1).await?;
        let next = paging::next_token(&mut rows, size, fp, |r| {
            (r.created_at, r.session_id.clone())
        });
        let (settings, _) = self.settings(caller.tenant()).await?;
        let mut sessions = Vec::with_capacity(rows.len());
        for r in rows {
            // The listing has what presentation needs; the scorecard and
            // results stay in the database.
            let loaded = decode_session(SessionRow {
                session_id: r.session_id,
                state: r.state,
                created_at: r.created_at,
                etag: r.etag,
                body: r.body,
                scorecard: Vec::new(),
                results: None,
            })?;
            sessions.push(
                self.present_session(&caller, &loaded, settings.reveal_identities_to_participants)
                    .await?,
            );
        }
        Ok(Response::new(pb::ListSessionsResponse {
            sessions,
            next_page_token: next,
        }))
    }

    async fn update_session(
        &self,
        request: Request<pb::UpdateSessionRequest>,
    ) -> Rpc<pb::UpdateSessionResponse> {
        let caller = auth::caller(&request)?;
        visibility::can_manage_sessions(&core_caller(&caller)).map_err(|d| {
            denied(
                d,
                "",
                "changing sessions needs the admin or qa_manager role",
            )
        })?;
        let req = request.into_inner();
        check_id("session_id", &req.session_id)?;
        let now = now_millis();
        let mut v = earshot_kit::Violations::new();
        let paths = req
            .update_mask
            .as_ref()
            .map(|m| m.paths.clone())
            .unwrap_or_default();
        if paths.is_empty() {
            v.add(
                "update_mask",
                "name at least one of name, description, due_time",
            );
        }
        if req.etag.is_empty() {
            v.add("etag", "is required");
        }
        let mut due = None;
        for p in &paths {
            match p.as_str() {
                "name" => {
                    let n = req.name.trim();
                    if n.is_empty() || n.chars().count() > 200 {
                        v.add("name", "must be 1 to 200 characters");
                    }
                }
                "description" => {
                    if req.description.chars().count() > 4_000 {
                        v.add("description", "must be at most 4,000 characters");
                    }
                }
                "due_time" => match required_millis(req.due_time.as_ref(), "due_time") {
                    Ok(d) if d <= now => v.add("due_time", "must be in the future"),
                    Ok(d) => due = Some(d),
                    Err(_) => v.add("due_time", "is required and must be a valid time"),
                },
                other => v.add("update_mask", format!("{other:?} cannot be changed")),
            }
        }
        v.into_result()?;
        let tenant = caller.tenant().clone();
        let mut tx = self.db.begin().await?;
        let row = store::lock_session(&mut tx, &tenant, &req.session_id)
            .await?
            .ok_or_else(|| Error::not_found(format!("session {:?}", req.session_id)))?;
        let mut loaded = decode_session(row)?;
        if loaded.row.etag != req.etag {
            return Err(Error::Aborted("the session changed; read it again".into()).into());
        }
        loaded.state.check_update(loaded.mode).map_err(transition)?;
        let s = &mut loaded.session;
        for p in &paths {
            match p.as_str() {
                "name" => s.name = req.name.trim().to_owned(),
                "description" => s.description.clone_from(&req.description),
                _ => {}
            }
        }
        let mut due_at =
            earshot_kit::time::optional_millis(s.due_time.as_ref(), "due_time")?.unwrap_or(now);
        if let Some(d) = due {
            due_at = d;
            s.due_time = Some(from_millis(d));
            store::rejudge_lateness(&mut tx, &tenant, &req.session_id, d).await?;
        }
        let etag = new_etag();
        s.etag.clone_from(&etag);
        s.update_time = Some(from_millis(now));
        let body = s.encode_to_vec();
        store::save_session(
            &mut tx,
            &tenant,
            &req.session_id,
            &store::SessionUpdate {
                state: loaded.row.state,
                etag: &etag,
                due_at,
                final_at: None,
                body: &body,
                results: None,
            },
        )
        .await?;
        tx.commit().await?;
        let loaded = self.load(&tenant, &req.session_id).await?;
        let (settings, _) = self.settings(&tenant).await?;
        let session = self
            .present_session(&caller, &loaded, settings.reveal_identities_to_participants)
            .await?;
        Ok(Response::new(pb::UpdateSessionResponse {
            session: Some(session),
        }))
    }

    async fn close_session(
        &self,
        request: Request<pb::CloseSessionRequest>,
    ) -> Rpc<pb::CloseSessionResponse> {
        let caller = auth::caller(&request)?;
        visibility::can_manage_sessions(&core_caller(&caller))
            .map_err(|d| denied(d, "", "closing sessions needs the admin or qa_manager role"))?;
        let req = request.into_inner();
        check_id("session_id", &req.session_id)?;
        if req.etag.is_empty() {
            return Err(Error::invalid("etag", "is required").into());
        }
        let tenant = caller.tenant().clone();
        let (settings, _) = self.settings(&tenant).await?;
        let now = now_millis();
        let mut tx = self.db.begin().await?;
        let row = store::lock_session(&mut tx, &tenant, &req.session_id)
            .await?
            .ok_or_else(|| Error::not_found(format!("session {:?}", req.session_id)))?;
        let mut loaded = decode_session(row)?;
        if loaded.row.etag != req.etag {
            return Err(Error::Aborted("the session changed; read it again".into()).into());
        }
        let next = loaded.state.close(loaded.mode).map_err(transition)?;
        let rows = store::responses_in_tx(&mut tx, &tenant, &req.session_id).await?;
        let questions = mapping::question_specs(&loaded.scorecard()?);
        let results = self.compute(
            &loaded,
            &rows,
            None,
            &questions,
            settings.ambiguity_threshold,
        )?;
        let etag = new_etag();
        {
            let s = &mut loaded.session;
            s.state = mapping::state_to(next);
            s.etag.clone_from(&etag);
            s.update_time = Some(from_millis(now));
            s.close_time = Some(from_millis(now));
            s.closed_by = Some(actor(&caller, &[Role::QaManager, Role::Admin]));
        }
        loaded.state = next;
        let final_at = next.results_final().then_some(now);
        let results_pb = mapping::results_to(
            &mapping::ResultsMeta {
                session_id: &req.session_id,
                mode: loaded.mode,
                tolerance: crate::session::Tolerance::parse(loaded.session.tolerance_points)
                    .unwrap_or_default(),
                compute_ms: now,
                questions: &questions,
            },
            &results,
        );
        let body = loaded.session.encode_to_vec();
        let results_bytes = results_pb.encode_to_vec();
        let due_at = optional_millis(loaded.session.due_time.as_ref(), "due_time")?.unwrap_or(now);
        store::save_session(
            &mut tx,
            &tenant,
            &req.session_id,
            &store::SessionUpdate {
                state: mapping::state_to(next),
                etag: &etag,
                due_at,
                final_at,
                body: &body,
                results: Some(&results_bytes),
            },
        )
        .await?;
        if let Some(at) = final_at {
            let trend = trend_rows(&loaded, &results, at)?;
            store::insert_trend_points(&mut tx, &tenant, &trend).await?;
        }
        let progress = progress_from_responses(&rows);
        let event_session = with_full_progress(loaded.session.clone(), &progress);
        feed::append(
            &mut tx,
            &tenant,
            &[event(
                "session.closed",
                pb::event::Payload::SessionClosed(pb::SessionClosed {
                    session: Some(event_session),
                    results: Some(results_pb.clone()),
                }),
                now,
            )],
        )
        .await?;
        tx.commit().await?;
        let loaded = self.load(&tenant, &req.session_id).await?;
        let reveal = settings.reveal_identities_to_participants;
        let session = self.present_session(&caller, &loaded, reveal).await?;
        let ids = shown_ids(&caller, &loaded, reveal);
        Ok(Response::new(pb::CloseSessionResponse {
            session: Some(session),
            results: Some(mask_results(results_pb, &ids)),
        }))
    }

    async fn cancel_session(
        &self,
        request: Request<pb::CancelSessionRequest>,
    ) -> Rpc<pb::CancelSessionResponse> {
        let caller = auth::caller(&request)?;
        visibility::can_manage_sessions(&core_caller(&caller)).map_err(|d| {
            denied(
                d,
                "",
                "cancelling sessions needs the admin or qa_manager role",
            )
        })?;
        let req = request.into_inner();
        check_id("session_id", &req.session_id)?;
        let mut v = earshot_kit::Violations::new();
        if req.etag.is_empty() {
            v.add("etag", "is required");
        }
        let reason = req.reason.trim();
        if reason.is_empty() || reason.chars().count() > 1_000 {
            v.add("reason", "must be 1 to 1,000 characters");
        }
        v.into_result()?;
        let tenant = caller.tenant().clone();
        let now = now_millis();
        let mut tx = self.db.begin().await?;
        let row = store::lock_session(&mut tx, &tenant, &req.session_id)
            .await?
            .ok_or_else(|| Error::not_found(format!("session {:?}", req.session_id)))?;
        let mut loaded = decode_session(row)?;
        if loaded.row.etag != req.etag {
            return Err(Error::Aborted("the session changed; read it again".into()).into());
        }
        let next = loaded.state.cancel(loaded.mode).map_err(transition)?;
        let etag = new_etag();
        {
            let s = &mut loaded.session;
            s.state = mapping::state_to(next);
            s.etag.clone_from(&etag);
            s.update_time = Some(from_millis(now));
            s.cancel_time = Some(from_millis(now));
            s.closed_by = Some(actor(&caller, &[Role::QaManager, Role::Admin]));
            s.cancel_reason = reason.to_owned();
        }
        let body = loaded.session.encode_to_vec();
        let due_at = optional_millis(loaded.session.due_time.as_ref(), "due_time")?.unwrap_or(now);
        store::save_session(
            &mut tx,
            &tenant,
            &req.session_id,
            &store::SessionUpdate {
                state: mapping::state_to(next),
                etag: &etag,
                due_at,
                final_at: None,
                body: &body,
                results: None,
            },
        )
        .await?;
        // The event carries the session without progress: a session
        // cancelled while open never reveals who responded how much beyond
        // what a manager could already see.
        feed::append(
            &mut tx,
            &tenant,
            &[event(
                "session.cancelled",
                pb::event::Payload::SessionCancelled(pb::SessionCancelled {
                    session: Some(loaded.session.clone()),
                }),
                now,
            )],
        )
        .await?;
        tx.commit().await?;
        let loaded = self.load(&tenant, &req.session_id).await?;
        let (settings, _) = self.settings(&tenant).await?;
        let session = self
            .present_session(&caller, &loaded, settings.reveal_identities_to_participants)
            .await?;
        Ok(Response::new(pb::CancelSessionResponse {
            session: Some(session),
        }))
    }

    async fn submit_response(
        &self,
        request: Request<pb::SubmitResponseRequest>,
    ) -> Rpc<pb::SubmitResponseResponse> {
        let caller = auth::caller(&request)?;
        caller.require_any(PARTICIPANT_ROLES)?;
        let req = request.into_inner();
        let tenant = caller.tenant().clone();
        let c = core_caller(&caller);
        check_id("session_id", &req.session_id)?;
        check_id("interaction_id", &req.interaction_id)?;
        if req.request_id.is_empty() || req.request_id.chars().count() > 100 {
            return Err(Error::invalid("request_id", "must be 1 to 100 characters").into());
        }
        let loaded = self.load(&tenant, &req.session_id).await?;
        visibility::can_see_session(&c, &loaded.view())
            .map_err(|d| denied(d, &req.session_id, "session"))?;
        let (settings, _) = self.settings(&tenant).await?;
        let ids = shown_ids(&caller, &loaded, settings.reveal_identities_to_participants);

        // A retry of an earlier submission returns the response as stored.
        if let Some((s, i)) =
            store::submit_request(&self.db, &tenant, caller.subject(), &req.request_id).await?
        {
            if s != req.session_id || i != req.interaction_id {
                return Err(Error::invalid(
                    "request_id",
                    "was already used for a response to another interaction",
                )
                .into());
            }
            let row = store::response(&self.db, &tenant, &s, &i, caller.subject())
                .await?
                .ok_or_else(|| Error::internal("a recorded submission has no response"))?;
            return Ok(Response::new(pb::SubmitResponseResponse {
                response: Some(present_response(response_of(&s, &row)?, &ids)),
            }));
        }

        let Some(ipos) = loaded.interaction_pos(&req.interaction_id) else {
            if !loaded.view().has_participant(&c) {
                return Err(Error::PermissionDenied(
                    "only the session's participants submit responses".into(),
                )
                .into());
            }
            return Err(Error::not_found(format!(
                "interaction {:?} in session {:?}",
                req.interaction_id, req.session_id
            ))
            .into());
        };
        visibility::can_submit(&c, &loaded.view(), true).map_err(|d| match d {
            SubmitDenial::NotParticipant => {
                Error::PermissionDenied("only the session's participants submit responses".into())
            }
            SubmitDenial::UnknownInteraction => Error::not_found(format!(
                "interaction {:?} in session {:?}",
                req.interaction_id, req.session_id
            )),
            SubmitDenial::NotOpen => {
                Error::FailedPrecondition("the session no longer accepts responses".into())
            }
        })?;
        let ppos = loaded
            .participant_pos(caller.subject())
            .ok_or_else(|| Error::internal("participant without a position"))?;

        let questions = mapping::question_specs(&loaded.scorecard()?);
        let (answers, mut v) = submission_answers(&req.answers, "");
        let valid = validate_submission(
            SubmissionInput {
                request_id: req.request_id.clone(),
                answers,
                comment: req.comment.clone(),
            },
            &questions,
        );
        match valid {
            Err(e) => {
                v.extend(e);
                return Err(invalid(v, "").into());
            }
            Ok(_) if !v.is_empty() => return Err(invalid(v, "").into()),
            Ok(_) => {}
        }
        let scored = self
            .peers
            .score(
                &caller,
                &loaded.session.scorecard_id,
                loaded.session.scorecard_version,
                req.answers.clone(),
            )
            .await?;
        if !scored.problems.is_empty() {
            return Err(problems("", &scored.problems).into());
        }
        let result = scored
            .result
            .ok_or_else(|| Error::internal("scoring returned no result"))?;
        let body = pb::Response {
            answers: req.answers.clone(),
            score: Some(mapping::response_score(&result)),
            comment: req.comment.clone(),
            ..Default::default()
        };

        let now = now_millis();
        let mut tx = self.db.begin().await?;
        let row = store::lock_session(&mut tx, &tenant, &req.session_id)
            .await?
            .ok_or_else(|| Error::not_found(format!("session {:?}", req.session_id)))?;
        let locked = decode_session(row)?;
        locked.state.check_submit(locked.mode).map_err(transition)?;
        let due = optional_millis(locked.session.due_time.as_ref(), "due_time")?.unwrap_or(now);
        let existing = store::response_in_tx(
            &mut tx,
            &tenant,
            &req.session_id,
            &req.interaction_id,
            caller.subject(),
        )
        .await?;
        let first = match check_revision(existing.as_ref().map(|r| r.etag.as_str()), &req.etag) {
            Ok(r) => r == crate::session::submission::Revision::First,
            Err(RevisionConflict::AlreadySubmitted) => {
                return Err(Error::Aborted(
                    "you already responded to this interaction; pass the response's etag to revise it"
                        .into(),
                )
                .into());
            }
            Err(RevisionConflict::StaleEtag) => {
                return Err(Error::Aborted("the response changed; read it again".into()).into());
            }
            Err(RevisionConflict::NothingToRevise) => {
                return Err(Error::Aborted(
                    "there is no response to revise; submit without an etag".into(),
                )
                .into());
            }
        };
        let new_row = match existing {
            Some(old) => ResponseRow {
                updated_at: now,
                revision: old.revision.saturating_add(1),
                etag: new_etag(),
                body: body.encode_to_vec(),
                ..old
            },
            None => ResponseRow {
                response_id: new_id(),
                interaction_id: req.interaction_id.clone(),
                participant_id: caller.subject().to_owned(),
                interaction_pos: i32::try_from(ipos).unwrap_or(i32::MAX),
                participant_pos: i32::try_from(ppos).unwrap_or(i32::MAX),
                submitted_at: now,
                updated_at: now,
                late: is_late(now, due),
                revision: 1,
                etag: new_etag(),
                body: body.encode_to_vec(),
            },
        };
        if !store::record_submit_request(
            &mut tx,
            &tenant,
            caller.subject(),
            &req.request_id,
            &req.session_id,
            &req.interaction_id,
            new_row.revision,
        )
        .await?
        {
            tx.rollback().await?;
            return Err(Error::Aborted(
                "a submission with this request_id is in progress; retry".into(),
            )
            .into());
        }
        store::put_response(&mut tx, &tenant, &req.session_id, &new_row, first).await?;
        tx.commit().await?;
        Ok(Response::new(pb::SubmitResponseResponse {
            response: Some(present_response(
                response_of(&req.session_id, &new_row)?,
                &ids,
            )),
        }))
    }

    async fn get_response(
        &self,
        request: Request<pb::GetResponseRequest>,
    ) -> Rpc<pb::GetResponseResponse> {
        let caller = auth::caller(&request)?;
        caller.require_any(SESSION_READERS)?;
        let req = request.into_inner();
        let tenant = caller.tenant().clone();
        let c = core_caller(&caller);
        check_id("interaction_id", &req.interaction_id)?;
        let loaded = self.load(&tenant, &req.session_id).await?;
        visibility::can_see_session(&c, &loaded.view())
            .map_err(|d| denied(d, &req.session_id, "session"))?;
        let (settings, _) = self.settings(&tenant).await?;
        let reveal = settings.reveal_identities_to_participants;
        let Some(author) = self.resolve_participant(&caller, &loaded, reveal, &req.participant_id)
        else {
            return Err(Error::PermissionDenied(
                "before close only your own response is readable".into(),
            )
            .into());
        };
        visibility::can_read_response(&c, &loaded.view(), &author).map_err(|d| {
            denied(
                d,
                &req.session_id,
                "before close only your own response is readable",
            )
        })?;
        if loaded.interaction_pos(&req.interaction_id).is_none() {
            return Err(Error::not_found(format!(
                "interaction {:?} in session {:?}",
                req.interaction_id, req.session_id
            ))
            .into());
        }
        let ids = shown_ids(&caller, &loaded, reveal);
        let row = store::response(
            &self.db,
            &tenant,
            &req.session_id,
            &req.interaction_id,
            author.as_str(),
        )
        .await?;
        let response = match row {
            Some(row) => response_of(&req.session_id, &row)?,
            None if loaded.state.responses_closed() && loaded.participants.contains(&author) => {
                missing_response(&req.session_id, &req.interaction_id, author.as_str())
            }
            None => {
                return Err(Error::not_found(format!(
                    "a response to interaction {:?}",
                    req.interaction_id
                ))
                .into());
            }
        };
        Ok(Response::new(pb::GetResponseResponse {
            response: Some(present_response(response, &ids)),
        }))
    }

    async fn list_responses(
        &self,
        request: Request<pb::ListResponsesRequest>,
    ) -> Rpc<pb::ListResponsesResponse> {
        let caller = auth::caller(&request)?;
        caller.require_any(SESSION_READERS)?;
        let req = request.into_inner();
        let tenant = caller.tenant().clone();
        let c = core_caller(&caller);
        let size = paging::page_size(req.page_size, 100, 500)?;
        let loaded = self.load(&tenant, &req.session_id).await?;
        visibility::can_see_session(&c, &loaded.view())
            .map_err(|d| denied(d, &req.session_id, "session"))?;
        let (settings, _) = self.settings(&tenant).await?;
        let reveal = settings.reveal_identities_to_participants;
        let ids = shown_ids(&caller, &loaded, reveal);
        let interaction_filter = if req.interaction_id.is_empty() {
            None
        } else {
            Some(loaded.interaction_pos(&req.interaction_id).ok_or_else(|| {
                Error::not_found(format!(
                    "interaction {:?} in session {:?}",
                    req.interaction_id, req.session_id
                ))
            })?)
        };
        let listable: Vec<ParticipantId> = visibility::listable_authors(&c, &loaded.view())
            .into_iter()
            .cloned()
            .collect();
        let participant_filter = if req.participant_id.is_empty() {
            None
        } else {
            let p = self
                .resolve_participant(&caller, &loaded, reveal, &req.participant_id)
                .filter(|p| listable.contains(p))
                .ok_or_else(|| {
                    Error::PermissionDenied(
                        "before close only your own responses are listed".into(),
                    )
                })?;
            Some(p)
        };
        let fp = paging::fingerprint(&(
            &req.session_id,
            &req.interaction_id,
            participant_filter.as_ref().map(|p| p.as_str().to_owned()),
        ));
        let after: Option<(i32, i32)> = paging::decode(&req.page_token, fp)?;
        let revealed = listable.len() == loaded.participants.len() && !listable.is_empty();
        let mut out: Vec<(i32, i32, pb::Response)> = Vec::new();
        if !revealed {
            // Before close: the caller's own responses only, whoever asks.
            let own: Vec<&ParticipantId> = listable
                .iter()
                .filter(|p| participant_filter.as_ref().is_none_or(|f| f == *p))
                .collect();
            if let Some(p) = own.first() {
                let rows = store::list_responses(
                    &self.db,
                    &tenant,
                    &req.session_id,
                    &req.interaction_id,
                    p.as_str(),
                    after,
                    size + 1,
                )
                .await?;
                for r in &rows {
                    out.push((
                        r.interaction_pos,
                        r.participant_pos,
                        response_of(&req.session_id, r)?,
                    ));
                }
            }
        } else {
            // After close: every cell of the grid, missing ones included.
            let rows = store::list_responses(
                &self.db,
                &tenant,
                &req.session_id,
                &req.interaction_id,
                participant_filter.as_ref().map_or("", |p| p.as_str()),
                after,
                size + 1,
            )
            .await?;
            let mut stored: HashMap<(i32, i32), &ResponseRow> = rows
                .iter()
                .map(|r| ((r.interaction_pos, r.participant_pos), r))
                .collect();
            let (ai, ap) = after.unwrap_or((-1, -1));
            'grid: for (i, interaction) in loaded.interactions.iter().enumerate() {
                let ii = i32::try_from(i).unwrap_or(i32::MAX);
                if interaction_filter.is_some_and(|f| f != i) || ii < ai {
                    continue;
                }
                for (p, participant) in loaded.participants.iter().enumerate() {
                    let pp = i32::try_from(p).unwrap_or(i32::MAX);
                    if (ii == ai && pp <= ap)
                        || participant_filter
                            .as_ref()
                            .is_some_and(|f| f != participant)
                    {
                        continue;
                    }
                    let r = match stored.remove(&(ii, pp)) {
                        Some(row) => response_of(&req.session_id, row)?,
                        None => missing_response(
                            &req.session_id,
                            interaction.as_str(),
                            participant.as_str(),
                        ),
                    };
                    out.push((ii, pp, r));
                    if out.len() > size as usize {
                        break 'grid;
                    }
                }
            }
        }
        let next = paging::next_token(&mut out, size, fp, |(i, p, _)| (*i, *p));
        Ok(Response::new(pb::ListResponsesResponse {
            responses: out
                .into_iter()
                .map(|(_, _, r)| present_response(r, &ids))
                .collect(),
            next_page_token: next,
        }))
    }

    async fn record_consensus(
        &self,
        request: Request<pb::RecordConsensusRequest>,
    ) -> Rpc<pb::RecordConsensusResponse> {
        let caller = auth::caller(&request)?;
        visibility::can_manage_sessions(&core_caller(&caller)).map_err(|d| {
            denied(
                d,
                "",
                "recording a consensus needs the admin or qa_manager role",
            )
        })?;
        let req = request.into_inner();
        let tenant = caller.tenant().clone();
        if req.etag.is_empty() {
            return Err(Error::invalid("etag", "is required").into());
        }
        let loaded = self.load(&tenant, &req.session_id).await?;
        if loaded.row.etag != req.etag {
            return Err(Error::Aborted("the session changed; read it again".into()).into());
        }
        loaded
            .state
            .record_consensus(loaded.mode)
            .map_err(transition)?;
        let questions = mapping::question_specs(&loaded.scorecard()?);

        let mut v = crate::validation::Violations::new();
        let mut seen = HashSet::new();
        let mut entries: Vec<(usize, InteractionId, Option<&pb::ConsensusAnswers>)> = Vec::new();
        for (i, entry) in req.consensus.iter().enumerate() {
            let field = format!("consensus[{i}]");
            let Some(pos) = loaded.interaction_pos(&entry.interaction_id) else {
                v.push(
                    format!("{field}.interaction_id"),
                    "not an interaction of this session",
                );
                continue;
            };
            if !seen.insert(pos) {
                v.push(format!("{field}.interaction_id"), "given twice");
                continue;
            }
            let id = loaded.interactions[pos].clone();
            match &entry.outcome {
                None => v.push(
                    field.clone(),
                    "set answers, or no_consensus when the group could not agree",
                ),
                Some(pb::interaction_consensus::Outcome::NoConsensus(true)) => {
                    entries.push((i, id, None))
                }
                Some(pb::interaction_consensus::Outcome::NoConsensus(false)) => {
                    v.push(format!("{field}.no_consensus"), "must be true when set")
                }
                Some(pb::interaction_consensus::Outcome::Answers(a)) => {
                    let prefix = format!("{field}.answers.");
                    let (answers, av) = submission_answers(&a.answers, &prefix);
                    v.extend(av);
                    if a.comment.chars().count() > crate::session::submission::MAX_COMMENT_CHARS {
                        v.push(
                            format!("{prefix}comment"),
                            "must be at most 4,000 characters",
                        );
                    }
                    if let Err(e) = validate_submission(
                        SubmissionInput {
                            request_id: "consensus".into(),
                            answers,
                            comment: String::new(),
                        },
                        &questions,
                    ) {
                        for f in e {
                            v.push(format!("{prefix}{}", f.field), f.description);
                        }
                    }
                    entries.push((i, id, Some(a)));
                }
            }
        }
        for (pos, id) in loaded.interactions.iter().enumerate() {
            if !seen.contains(&pos) {
                v.push(
                    "consensus",
                    format!("interaction {:?} has no entry", id.as_str()),
                );
            }
        }
        if !v.is_empty() {
            return Err(invalid(v, "").into());
        }
        let mut consensus: BTreeMap<InteractionId, Consensus> = BTreeMap::new();
        for (i, id, answers) in entries {
            let Some(a) = answers else {
                consensus.insert(id, Consensus::NoConsensus);
                continue;
            };
            let scored = self
                .peers
                .score(
                    &caller,
                    &loaded.session.scorecard_id,
                    loaded.session.scorecard_version,
                    a.answers.clone(),
                )
                .await?;
            let prefix = format!("consensus[{i}].answers.");
            if !scored.problems.is_empty() {
                return Err(problems(&prefix, &scored.problems).into());
            }
            let result = scored
                .result
                .ok_or_else(|| Error::internal("scoring returned no result"))?;
            let body = pb::Response {
                answers: a.answers.clone(),
                score: Some(mapping::response_score(&result)),
                ..Default::default()
            };
            let agreed = mapping::scored_response(
                ParticipantId::parse("consensus").map_err(|e| Error::internal(e.to_owned()))?,
                id.clone(),
                false,
                &body,
            );
            consensus.insert(
                id,
                Consensus::Agreed {
                    total: agreed.total,
                    answers: agreed.answers,
                },
            );
        }

        let (settings, _) = self.settings(&tenant).await?;
        let now = now_millis();
        let mut tx = self.db.begin().await?;
        let row = store::lock_session(&mut tx, &tenant, &req.session_id)
            .await?
            .ok_or_else(|| Error::not_found(format!("session {:?}", req.session_id)))?;
        let mut locked = decode_session(row)?;
        if locked.row.etag != req.etag {
            return Err(Error::Aborted("the session changed; read it again".into()).into());
        }
        let next = locked
            .state
            .record_consensus(locked.mode)
            .map_err(transition)?;
        let rows = store::responses_in_tx(&mut tx, &tenant, &req.session_id).await?;
        let results = self.compute(
            &locked,
            &rows,
            Some(&consensus),
            &questions,
            settings.ambiguity_threshold,
        )?;
        let etag = new_etag();
        {
            let s = &mut locked.session;
            s.state = mapping::state_to(next);
            s.etag.clone_from(&etag);
            s.update_time = Some(from_millis(now));
        }
        locked.state = next;
        let results_pb = mapping::results_to(
            &mapping::ResultsMeta {
                session_id: &req.session_id,
                mode: locked.mode,
                tolerance: crate::session::Tolerance::parse(locked.session.tolerance_points)
                    .unwrap_or_default(),
                compute_ms: now,
                questions: &questions,
            },
            &results,
        );
        let body = locked.session.encode_to_vec();
        let results_bytes = results_pb.encode_to_vec();
        let due_at = optional_millis(locked.session.due_time.as_ref(), "due_time")?.unwrap_or(now);
        store::save_session(
            &mut tx,
            &tenant,
            &req.session_id,
            &store::SessionUpdate {
                state: mapping::state_to(next),
                etag: &etag,
                due_at,
                final_at: Some(now),
                body: &body,
                results: Some(&results_bytes),
            },
        )
        .await?;
        let trend = trend_rows(&locked, &results, now)?;
        store::insert_trend_points(&mut tx, &tenant, &trend).await?;
        let progress = progress_from_responses(&rows);
        feed::append(
            &mut tx,
            &tenant,
            &[event(
                "session.consensus_recorded",
                pb::event::Payload::ConsensusRecorded(pb::ConsensusRecorded {
                    session: Some(with_full_progress(locked.session.clone(), &progress)),
                    results: Some(results_pb.clone()),
                }),
                now,
            )],
        )
        .await?;
        tx.commit().await?;
        let loaded = self.load(&tenant, &req.session_id).await?;
        let reveal = settings.reveal_identities_to_participants;
        let session = self.present_session(&caller, &loaded, reveal).await?;
        let ids = shown_ids(&caller, &loaded, reveal);
        Ok(Response::new(pb::RecordConsensusResponse {
            session: Some(session),
            results: Some(mask_results(results_pb, &ids)),
        }))
    }

    async fn get_session_results(
        &self,
        request: Request<pb::GetSessionResultsRequest>,
    ) -> Rpc<pb::GetSessionResultsResponse> {
        let caller = auth::caller(&request)?;
        caller.require_any(SESSION_READERS)?;
        let req = request.into_inner();
        let loaded = self.load(caller.tenant(), &req.session_id).await?;
        visibility::can_read_results(&core_caller(&caller), &loaded.view()).map_err(|d| {
            denied(
                d,
                &req.session_id,
                "the session has no results: it is open or was cancelled",
            )
        })?;
        let bytes = loaded
            .row
            .results
            .as_deref()
            .ok_or_else(|| Error::internal("a closed session has no stored results"))?;
        let results = pb::SessionResults::decode(bytes)
            .map_err(|e| Error::internal(format!("stored results: {e}")))?;
        let (settings, _) = self.settings(caller.tenant()).await?;
        let ids = shown_ids(&caller, &loaded, settings.reveal_identities_to_participants);
        Ok(Response::new(pb::GetSessionResultsResponse {
            results: Some(mask_results(results, &ids)),
        }))
    }

    async fn get_participant_trend(
        &self,
        request: Request<pb::GetParticipantTrendRequest>,
    ) -> Rpc<pb::GetParticipantTrendResponse> {
        let caller = auth::caller(&request)?;
        let req = request.into_inner();
        let mut v = earshot_kit::Violations::new();
        let participant = if req.participant_id.is_empty() {
            caller.subject().to_owned()
        } else {
            req.participant_id.clone()
        };
        let pid = match ParticipantId::parse(&participant) {
            Ok(p) => Some(p),
            Err(e) => {
                v.add("participant_id", e);
                None
            }
        };
        let max = match req.max_sessions {
            0 => 12,
            n if (2..=100).contains(&n) => n,
            _ => {
                v.add("max_sessions", "must be 2 to 100 (0 means 12)");
                12
            }
        };
        if req.scorecard_id.chars().count() > crate::session::MAX_ID_LEN {
            v.add("scorecard_id", "must be at most 200 characters");
        }
        let (from, to) = match &req.time_range {
            None => (i64::MIN, i64::MAX),
            Some(r) => {
                let from = optional_millis(r.start_time.as_ref(), "time_range.start_time")?
                    .unwrap_or(i64::MIN);
                let to = optional_millis(r.end_time.as_ref(), "time_range.end_time")?
                    .unwrap_or(i64::MAX);
                if to <= from {
                    v.add("time_range", "end_time must be after start_time");
                }
                (from, to)
            }
        };
        v.into_result()?;
        let pid = pid.ok_or_else(|| Error::invalid("participant_id", "is required"))?;
        visibility::can_read_trend(&core_caller(&caller), &pid).map_err(|d| {
            denied(
                d,
                "",
                "only admin and qa_manager callers read another participant's trend",
            )
        })?;
        let mut rows = store::trend_points(
            &self.db,
            caller.tenant(),
            pid.as_str(),
            &req.scorecard_id,
            from,
            to,
            u32::try_from(max).unwrap_or(12),
        )
        .await?;
        rows.reverse();
        let mut points = Vec::with_capacity(rows.len());
        let mut all_deviations = Vec::new();
        let (mut signed, mut absolute, mut agreement) = (Vec::new(), Vec::new(), Vec::new());
        for r in &rows {
            let p = pb::TrendPoint::decode(r.body.as_slice())
                .map_err(|e| Error::internal(format!("stored trend point: {e}")))?;
            let devs: Vec<f64> = serde_json::from_str(&r.deviations).map_err(Error::internal)?;
            all_deviations.extend(devs);
            let value =
                |e: &Option<common::Estimate>| e.as_ref().filter(|e| !e.no_data).map(|e| e.value);
            if let Some(x) = value(&p.mean_signed_deviation) {
                signed.push((r.final_at, x));
            }
            if let Some(x) = value(&p.mean_absolute_deviation) {
                absolute.push((r.final_at, x));
            }
            if let Some(x) = value(&p.question_agreement_rate) {
                agreement.push((r.final_at, x));
            }
            points.push(p);
        }
        let slope = |pts: &[(i64, f64)]| {
            let s = crate::session::drift::slope(pts);
            pb::Slope {
                per_30_days: s.per_30_days,
                ci_low: s.ci_low,
                ci_high: s.ci_high,
                point_count: i32::try_from(s.points).unwrap_or(i32::MAX),
            }
        };
        let pooled = crate::stats::estimate::Estimate::mean(&all_deviations);
        Ok(Response::new(pb::GetParticipantTrendResponse {
            participant_id: pid.as_str().to_owned(),
            points,
            signed_deviation_slope: Some(slope(&signed)),
            absolute_deviation_slope: Some(slope(&absolute)),
            question_agreement_slope: Some(slope(&agreement)),
            leniency: mapping::leniency(crate::session::results::Leniency::of(&pooled)),
        }))
    }

    async fn compute_agreement(
        &self,
        request: Request<pb::ComputeAgreementRequest>,
    ) -> Rpc<pb::ComputeAgreementResponse> {
        let _caller = auth::caller(&request)?;
        let req = request.into_inner();
        let result = tokio::task::spawn_blocking(move || compute_agreement(req))
            .await
            .map_err(|e| Error::internal(format!("agreement task: {e}")))?;
        Ok(Response::new(result?))
    }

    async fn get_settings(
        &self,
        request: Request<pb::GetSettingsRequest>,
    ) -> Rpc<pb::GetSettingsResponse> {
        let caller = auth::caller(&request)?;
        visibility::can_read_settings(&core_caller(&caller)).map_err(|d| {
            denied(
                d,
                "",
                "reading calibration settings needs admin, qa_manager, evaluator or supervisor",
            )
        })?;
        let (_, p) = self.settings(caller.tenant()).await?;
        Ok(Response::new(pb::GetSettingsResponse { settings: Some(p) }))
    }

    async fn update_settings(
        &self,
        request: Request<pb::UpdateSettingsRequest>,
    ) -> Rpc<pb::UpdateSettingsResponse> {
        let caller = auth::caller(&request)?;
        visibility::can_manage_sessions(&core_caller(&caller)).map_err(|d| {
            denied(
                d,
                "",
                "changing calibration settings needs the admin or qa_manager role",
            )
        })?;
        let req = request.into_inner();
        let tenant = caller.tenant().clone();
        let given = req.settings.clone().unwrap_or_default();
        let window = match &given.default_response_window {
            Some(d) if (0..1_000_000_000).contains(&d.nanos) => Some(
                d.seconds
                    .saturating_mul(1000)
                    .saturating_add(i64::from(d.nanos / 1_000_000)),
            ),
            _ => None,
        };
        let update = SettingsUpdate {
            mask: req
                .update_mask
                .as_ref()
                .map(|m| m.paths.clone())
                .unwrap_or_default(),
            tolerance_points: given.tolerance_points,
            group_reference: mapping::group_reference_from(given.group_reference),
            reveal_identities_to_participants: given.reveal_identities_to_participants,
            ambiguity_threshold: given.ambiguity_threshold,
            default_response_window_ms: window,
        };
        let (current, current_pb) = self.settings(&tenant).await?;
        let next = current.apply(&update).map_err(|v| invalid(v, ""))?;
        if req.etag != current_pb.etag {
            return Err(Error::Aborted("the settings changed; read them again".into()).into());
        }
        let etag = new_etag();
        let mut p = mapping::settings_to(&next);
        p.update_time = Some(from_millis(now_millis()));
        p.updated_by = Some(actor(&caller, &[Role::Admin, Role::QaManager]));
        p.etag.clone_from(&etag);
        if !store::put_settings(&self.db, &tenant, &req.etag, &etag, &p.encode_to_vec()).await? {
            return Err(Error::Aborted("the settings changed; read them again".into()).into());
        }
        Ok(Response::new(pb::UpdateSettingsResponse {
            settings: Some(p),
        }))
    }

    async fn erase_interaction_text(
        &self,
        request: Request<pb::EraseInteractionTextRequest>,
    ) -> Rpc<pb::EraseInteractionTextResponse> {
        let caller = auth::caller(&request)?;
        caller.require_any(&[Role::Admin, Role::Service])?;
        let req = request.into_inner();
        earshot_kit::privacy::check_erasure_ids("interaction_ids", &req.interaction_ids)?;
        let n = store::erase_response_text(&self.db, caller.tenant(), &req.interaction_ids).await?;
        Ok(Response::new(pb::EraseInteractionTextResponse {
            erased: vec![common::ErasureCount {
                service: "calibration".into(),
                kind: "response_comments".into(),
                count: n,
            }],
        }))
    }

    async fn stream_events(
        &self,
        request: Request<pb::StreamEventsRequest>,
    ) -> Rpc<feed::ResponseStream<pb::StreamEventsResponse>> {
        let caller = auth::caller(&request)?;
        let scope = visibility::feed_scope(&core_caller(&caller)).map_err(|d| {
            denied(
                d,
                "",
                "the calibration feed is for admin (own tenant) and service callers",
            )
        })?;
        let req = request.into_inner();
        debug_assert!(matches!(scope, FeedScope::AllTenants) == caller.is_system());
        let batch = match req.max_batch_size {
            0 => 100,
            n if n > 1_000 => 1_000,
            n => n,
        };
        let stream = feed::serve(
            self.db.clone(),
            &caller,
            req.after_sequence,
            req.follow,
            batch,
            self.shutdown.clone(),
            |b| {
                let mut events = Vec::with_capacity(b.events.len());
                for e in &b.events {
                    let mut ev = feed::decode::<pb::Event>(e)?;
                    ev.sequence = e.sequence;
                    ev.tenant_id.clone_from(&e.tenant_id);
                    ev.occurred_time = Some(from_millis(e.occurred_at));
                    events.push(ev);
                }
                Ok(pb::StreamEventsResponse {
                    events,
                    head_sequence: b.head_sequence,
                })
            },
        )?;
        Ok(Response::new(stream))
    }
}

fn session_interaction(i: &sampling::Interaction, reason: &str) -> pb::SessionInteraction {
    pb::SessionInteraction {
        interaction_id: i.id.clone(),
        agent_id: i.agent_id.clone(),
        team_id: i.team_id.clone(),
        queue_id: i.queue_id.clone(),
        channel: i.channel,
        start_time: i.arrived_time,
        selection_reason: reason.to_owned(),
    }
}

/// ComputeAgreement, stateless (public for the fuzz targets).
pub fn compute_agreement(req: pb::ComputeAgreementRequest) -> Result<pb::ComputeAgreementResponse> {
    use crate::agreement::request::{AgreementRequest, compute};
    let mut v = crate::validation::Violations::new();
    let Some(ratings) = req.ratings else {
        return Err(Error::invalid("ratings", "is required"));
    };
    let mut statistics = Vec::with_capacity(req.statistics.len());
    for (i, k) in req.statistics.iter().enumerate() {
        match mapping::statistic_kind_from(*k) {
            Some(k) => statistics.push(k),
            None => v.push(format!("statistics[{i}]"), "not a statistic"),
        }
    }
    let level = mapping::level_from(req.level);
    if req.level != 0 && level.is_none() {
        v.push("level", "not a level of measurement");
    }
    if !v.is_empty() {
        return Err(invalid(v, ""));
    }
    let unit_count = ratings.units.len();
    let rater_count = ratings.rater_ids.len();
    let parsed = AgreementRequest {
        units: ratings
            .units
            .iter()
            .map(|u| u.ratings.iter().map(mapping::cell).collect())
            .collect(),
        rater_ids: ratings.rater_ids,
        level,
        statistics,
        categories: req.categories,
        category_values: req.category_values,
    }
    .parse()
    .map_err(|v| invalid(v, ""))?;
    let results = compute(&parsed);
    Ok(pb::ComputeAgreementResponse {
        statistics: results
            .iter()
            .map(|r| mapping::statistic_result(r, &parsed.rater_ids))
            .collect(),
        unit_count: i32::try_from(unit_count).unwrap_or(i32::MAX),
        rater_count: i32::try_from(rater_count).unwrap_or(i32::MAX),
    })
}
