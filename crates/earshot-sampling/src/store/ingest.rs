//! Ingest batches, each group of them in one transaction.
//!
//! A stream validates batches ([`prepare`]) ahead of storing them, and
//! stores the batches that are ready together ([`Store::store_prepared`],
//! a group commit: fewer commits and per-transaction work, acknowledged
//! only once durable). A group is stored as one batch of its items:
//!
//! 1. Validate every item (outside the transaction); rejects are listed.
//! 2. Look the batch's ids up (one `IN` query per 1,000 ids) and classify
//!    each item with [`crate::ingest::classify`]: created, updated (which
//!    fields), unchanged or stale. Repeated ids within a batch apply in order.
//! 3. Write: new rows through the engine's bulk path
//!    ([`super::interactions::insert_new`]), changed rows one `UPDATE` each.
//! 4. Repeat contacts: one query finds the other contacts of the batch's
//!    customers within the window; the links void earlier interactions'
//!    first-contact resolution (one `UPDATE … FROM (VALUES …)`).
//! 5. Selection: interactions stored ended for the first time are offered to
//!    the active plans ([`super::select::apply_plans`]); interactions whose
//!    FCR was just voided are offered to repeat-contact rules.
//! 6. Events: `InteractionsUpserted` (one per 500 interactions),
//!    `FcrVoided`, `SelectionsMade`, `AssignmentsCreated`, then commit.
//!    Upsert entries are compact (see `events.proto`): what subscribers
//!    compute with, no field that another one or the event already gives.
//!
//! On PostgreSQL the bulk path is `COPY`, which fails if another replica
//! inserted one of the ids after the lookup; the batch is then retried
//! from the start (the lookup now sees the row), up to five times.

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Instant;

use earshot_kit::{
    auth::Tenant,
    db::Tx,
    error::{Error, Result},
    privacy::CustomerRefHasher,
    time::from_millis,
    with_tx,
};
use earshot_proto::sampling::v1 as pb;

use super::interactions::{self, NewRow};
use super::phases::{self, Phase};
use super::rows::{Stored, fcr, fcr_code, repeat_message};
use super::select::{self, Env, Offer};
use super::{Store, append, event, placeholders};
use crate::convert;
use crate::ids::InteractionId;
use crate::ingest::{self as rules, IngestOutcome};
use crate::interaction::{Direction, Interaction};
use crate::plan::{Plan, RuleCondition};
use crate::repeat_contact::{self, Contact, RepeatContact, RepeatSource};
use crate::targeted::LateFacts;

/// The place of a group of batches among the groups of one stream that are
/// stored at once: a group takes the tenant's ingest lock (after writing
/// its new rows, before everything that reads what earlier groups stored)
/// only once the group before it has, so groups apply in stream order.
#[derive(Debug, Default)]
pub struct Turn {
    /// Resolves once the group before has the lock (or has ended).
    pub previous: Option<tokio::sync::oneshot::Receiver<()>>,
    /// Told once this group has the lock (dropped: it ended).
    pub next: Option<tokio::sync::oneshot::Sender<()>>,
}

/// The most items stored in one group commit (see [`Store::store_prepared`]).
pub const MAX_GROUP_ITEMS: usize = 4 * crate::ingest::MAX_BATCH_ITEMS;

/// Interactions per `InteractionsUpserted` event.
const UPSERTS_PER_EVENT: usize = 500;

/// The results of one batch.
#[derive(Debug, Default)]
pub struct BatchResult {
    /// One per item, in order.
    pub results: Vec<pb::ItemResult>,
    /// Outcome counts.
    pub counts: pb::OutcomeCounts,
    /// Selections made for the batch's interactions.
    pub selected: i32,
}

fn count(counts: &mut pb::OutcomeCounts, outcome: pb::IngestOutcome) {
    match outcome {
        pb::IngestOutcome::Created => counts.created += 1,
        pb::IngestOutcome::Updated => counts.updated += 1,
        pb::IngestOutcome::Unchanged => counts.unchanged += 1,
        pb::IngestOutcome::Stale => counts.stale += 1,
        pb::IngestOutcome::Rejected | pb::IngestOutcome::Unspecified => counts.rejected += 1,
    }
}

/// One valid item of the batch.
struct Valid {
    index: usize,
    interaction: Interaction,
}

#[derive(sqlx::FromRow)]
struct ContactRow {
    id: String,
    customer_ref: String,
    arrived_at: i64,
    direction: i64,
}

/// The dimensions of an interaction whose FCR a void changed.
#[derive(sqlx::FromRow)]
struct VoidedRow {
    id: String,
    channel: i64,
    direction: i64,
    agent_id: String,
    team_id: String,
    queue_id: String,
    language: String,
    arrived_at: i64,
    handle_ms: Option<i64>,
}

impl VoidedRow {
    fn dims(&self) -> pb::InteractionDimensions {
        pb::InteractionDimensions {
            interaction_id: self.id.clone(),
            channel: i32::try_from(self.channel).unwrap_or(0),
            direction: i32::try_from(self.direction).unwrap_or(0),
            agent_id: self.agent_id.clone(),
            team_id: self.team_id.clone(),
            queue_id: self.queue_id.clone(),
            language: self.language.clone(),
            arrived_time: Some(from_millis(self.arrived_at)),
            handle_duration: self.handle_ms.map(convert::duration),
        }
    }
}

/// A void: the earlier interaction, its new repeat contact, and (once
/// written) its dimensions for the event.
struct Void {
    earlier: String,
    repeat: RepeatContact,
    dims: pb::InteractionDimensions,
}

/// A batch validated and ready to store: what can be done before its
/// transaction (so a stream can validate the next batch while this one
/// commits).
#[derive(Default)]
pub struct Prepared {
    out: BatchResult,
    valid: Vec<Valid>,
}

impl Prepared {
    /// The number of items in the batch.
    pub fn len(&self) -> usize {
        self.out.results.len()
    }

    /// True for a batch without items.
    pub fn is_empty(&self) -> bool {
        self.out.results.is_empty()
    }

    /// The ids of its valid items.
    pub fn ids(&self) -> impl Iterator<Item = &str> {
        self.valid.iter().map(|v| v.interaction.id.as_str())
    }
}

impl std::fmt::Debug for Prepared {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Prepared")
            .field("items", &self.out.results.len())
            .field("valid", &self.valid.len())
            .finish()
    }
}

/// Validates every item of a batch (no I/O): rejects are listed with their
/// reasons; the rest are stored by [`Store::store_prepared`].
///
/// With `hash` (the tenant and the deployment's hasher), customer references
/// are replaced by their keyed hashes here, before anything is stored or
/// compared.
pub fn prepare(
    items: Vec<pb::Interaction>,
    now: i64,
    hash: Option<(&Tenant, &CustomerRefHasher)>,
) -> Prepared {
    let started = Instant::now();
    let mut out = BatchResult {
        results: Vec::with_capacity(items.len()),
        ..Default::default()
    };
    let mut valid = Vec::with_capacity(items.len());
    for (index, item) in items.into_iter().enumerate() {
        let id = item.id.clone();
        match Interaction::parse(convert::interaction_input(item), now) {
            Ok(mut interaction) => {
                if let Some((tenant, h)) = hash {
                    interaction.customer_ref = h.hash(tenant, &interaction.customer_ref);
                }
                out.results.push(pb::ItemResult {
                    index: i32::try_from(index).unwrap_or(i32::MAX),
                    id,
                    ..Default::default()
                });
                valid.push(Valid { index, interaction });
            }
            Err(v) => {
                out.results.push(pb::ItemResult {
                    index: i32::try_from(index).unwrap_or(i32::MAX),
                    id,
                    outcome: pb::IngestOutcome::Rejected as i32,
                    changed_fields: Vec::new(),
                    violations: convert::item_violations(v),
                });
            }
        }
    }
    phases::add(Phase::Prepare, started);
    Prepared { out, valid }
}

impl Store {
    /// Stores one batch of interactions: per-item results, selections and
    /// events, in one transaction.
    pub async fn ingest(
        &self,
        tenant: &Tenant,
        items: Vec<pb::Interaction>,
        now: i64,
    ) -> Result<BatchResult> {
        let mut results = self
            .store_prepared(
                tenant,
                vec![prepare(items, now, self.hasher().map(|h| (tenant, h)))],
                now,
                Turn::default(),
            )
            .await?;
        Ok(results.pop().unwrap_or_default())
    }

    /// Stores batches validated by [`prepare`], in order, in one
    /// transaction (a group commit), as one batch of all their items would
    /// be stored; nothing is acknowledged before the whole group is
    /// durable. Callers group only batches without an id in common, so each
    /// item's outcome is what storing the batches one after another gives.
    /// Returns one result per batch.
    pub async fn store_prepared(
        &self,
        tenant: &Tenant,
        batches: Vec<Prepared>,
        now: i64,
        mut turn: Turn,
    ) -> Result<Vec<BatchResult>> {
        // One run over the batches' items, in order; `Valid::index` points
        // into the concatenated results.
        let mut lens = Vec::with_capacity(batches.len());
        let mut merged = BatchResult::default();
        let mut valid = Vec::new();
        for b in batches {
            let offset = merged.results.len();
            lens.push(b.out.results.len());
            merged.results.extend(b.out.results);
            valid.extend(b.valid.into_iter().map(|v| Valid {
                index: v.index + offset,
                interaction: v.interaction,
            }));
        }
        let mut selected: Vec<String> = Vec::new();
        if !valid.is_empty() {
            let started = Instant::now();
            let settings = self.settings(tenant).await?.settings;
            let plans = self.active_plans(tenant).await?;
            phases::add(Phase::Context, started);
            let env = Env {
                tenant,
                settings: &settings,
                now,
            };
            let mut attempt = 0;
            loop {
                attempt += 1;
                match self
                    .ingest_once(&env, &plans, &valid, &mut merged, &mut turn)
                    .await
                {
                    Err(Error::Aborted(msg)) if attempt < 5 => {
                        tracing::debug!(attempt, %msg, "ingest raced another writer; retrying");
                    }
                    other => {
                        selected = other?;
                        break;
                    }
                }
            }
        }
        // A selection counts for the first batch that carried its
        // interaction (where, stored alone, the draw would have happened).
        let mut first_batch: HashMap<&str, usize> = HashMap::new();
        let mut batch_of_index = Vec::with_capacity(merged.results.len());
        for (b, len) in lens.iter().enumerate() {
            batch_of_index.extend(std::iter::repeat_n(b, *len));
        }
        for v in &valid {
            if let Some(b) = batch_of_index.get(v.index) {
                first_batch.entry(v.interaction.id.as_str()).or_insert(*b);
            }
        }
        let mut selected_per_batch = vec![0_i32; lens.len()];
        for id in &selected {
            if let Some(n) = first_batch
                .get(id.as_str())
                .and_then(|b| selected_per_batch.get_mut(*b))
            {
                *n = n.saturating_add(1);
            }
        }
        let mut results = merged.results.into_iter();
        let mut out = Vec::with_capacity(lens.len());
        for (len, selected) in lens.into_iter().zip(selected_per_batch) {
            let mut r = BatchResult {
                results: results.by_ref().take(len).collect(),
                selected,
                ..Default::default()
            };
            for item in &r.results {
                count(
                    &mut r.counts,
                    pb::IngestOutcome::try_from(item.outcome)
                        .unwrap_or(pb::IngestOutcome::Unspecified),
                );
            }
            out.push(r);
        }
        Ok(out)
    }

    async fn ingest_once(
        &self,
        env: &Env<'_>,
        plans: &[Arc<Plan>],
        valid: &[Valid],
        out: &mut BatchResult,
        turn: &mut Turn,
    ) -> Result<Vec<String>> {
        let (tenant, settings, now) = (env.tenant, env.settings, env.now);
        let window = settings.repeat_contact_window_ms;
        let t = Instant::now();
        let mut tx = self.db.begin().await?;
        let t = phases::add(Phase::Begin, t);
        let ids: Vec<&str> = valid.iter().map(|v| v.interaction.id.as_str()).collect();
        let stored = interactions::lookup(&mut tx, tenant, &ids).await?;
        let t = phases::add(Phase::Lookup, t);

        let (mut current, mut order) = classify_all(valid, &stored, out);

        // New rows first: they are invisible to other transactions until
        // commit, so writing them before the tenant's lock below lets
        // another group (of this stream or another) finish meanwhile.
        let new_rows: Vec<NewRow<'_>> = order
            .iter()
            .filter(|id| !stored.contains_key(**id))
            .filter_map(|id| current.get(id))
            .map(|i| NewRow {
                interaction: i,
                now,
            })
            .collect();
        interactions::insert_new(&mut tx, tenant, &new_rows).await?;
        let t = phases::add(Phase::Write, t);

        // From here to commit, this tenant's ingest transactions run one at
        // a time, so each sees the interactions that the one before stored:
        // a repeat contact between two of them is found by the later.
        if let Some(turn) = turn.previous.take() {
            let _ = turn.await;
        }
        lock_tenant(&mut tx, tenant).await?;
        if let Some(next) = turn.next.take() {
            let _ = next.send(());
        }
        let t = phases::add(Phase::Lock, t);

        // What was stored may have changed meanwhile (a void, a re-send):
        // read it again and classify against it. New ids cannot have been
        // stored by anyone else (the `COPY` holds them).
        let stored = if stored.is_empty() {
            stored
        } else {
            let keys: Vec<&str> = stored.keys().map(String::as_str).collect();
            let again = interactions::lookup(&mut tx, tenant, &keys).await?;
            if again.len() != stored.len() {
                return Err(Error::Aborted(
                    "an interaction was removed while storing a batch".into(),
                ));
            }
            (current, order) = classify_all(valid, &again, out);
            again
        };
        for id in &order {
            if let (Some(i), true) = (current.get(id), stored.contains_key(*id)) {
                interactions::update_facts(&mut tx, tenant, i, now).await?;
            }
        }
        phases::add(Phase::Write, t);

        // Repeat contacts.
        let written: Vec<&Interaction> = order
            .iter()
            .filter_map(|id| current.get(id).copied())
            .collect();
        let voids = repeat_contacts(&mut tx, tenant, &written, window, now).await?;
        let t = Instant::now();
        let voided: HashMap<&str, &RepeatContact> = voids
            .iter()
            .map(|v| (v.earlier.as_str(), &v.repeat))
            .collect();

        // Selection.
        let mut offers: Vec<Offer<'_>> = Vec::new();
        for id in &order {
            let Some(i) = current.get(id) else { continue };
            let before = stored.get(*id);
            if !rules::draws_now(before.map(|s| &s.interaction), i) {
                continue;
            }
            let mut facts = before.map(|s| s.facts).unwrap_or_default();
            facts.repeat_contact |= voided.contains_key(*id);
            offers.push(Offer {
                interaction: i,
                facts,
                draw_now: true,
                new: before.is_none(),
            });
        }
        // Earlier interactions just voided: offered to repeat-contact rules.
        let wants_repeat = plans.iter().any(|p| {
            p.spec
                .rules
                .iter()
                .any(|r| r.condition == RuleCondition::RepeatContact)
        });
        let late_ids: Vec<&str> = if wants_repeat {
            voids
                .iter()
                .map(|v| v.earlier.as_str())
                .filter(|id| !current.contains_key(id))
                .collect()
        } else {
            Vec::new()
        };
        let late = interactions::lookup(&mut tx, tenant, &late_ids).await?;
        for s in late.values() {
            if s.interaction.is_ended() {
                offers.push(Offer {
                    interaction: &s.interaction,
                    facts: LateFacts {
                        repeat_contact: true,
                        ..s.facts
                    },
                    draw_now: false,
                    new: false,
                });
            }
        }
        let made = select::apply_plans(&mut tx, env, plans, &offers).await?;
        let selected: Vec<String> = made
            .selections
            .iter()
            .filter_map(|s| s.interaction.as_ref())
            .filter(|d| current.contains_key(d.interaction_id.as_str()))
            .map(|d| d.interaction_id.clone())
            .collect();
        let t = phases::add(Phase::Plans, t);

        // Events.
        let mut upserts = Vec::with_capacity(order.len());
        for id in &order {
            let Some(i) = current.get(id) else { continue };
            let before = stored.get(*id);
            let repeat = voided
                .get(*id)
                .copied()
                .or_else(|| before.and_then(|s| s.repeat.as_ref()));
            let mut m = convert::interaction_event_facts(i);
            m.repeat_contact = repeat.map(repeat_message);
            m.fcr_status = fcr_code(fcr(i, repeat, window, now));
            // The event's occurred_time is the update time (and, for a new
            // interaction, the create time): not repeated per interaction.
            m.create_time = before.map(|s| from_millis(s.created_at));
            m.revision = before.map_or(1, |s| s.revision + 1);
            let (outcome, changed_fields) = match before {
                None => (pb::IngestOutcome::Created, Vec::new()),
                Some(s) => (
                    pb::IngestOutcome::Updated,
                    rules::changed_fields(&s.interaction, i)
                        .into_iter()
                        .map(str::to_owned)
                        .collect(),
                ),
            };
            upserts.push(pb::InteractionUpsert {
                interaction: Some(m),
                outcome: outcome as i32,
                changed_fields,
            });
        }
        let mut events = Vec::new();
        let mut upserts = upserts.into_iter().peekable();
        while upserts.peek().is_some() {
            let chunk: Vec<pb::InteractionUpsert> =
                upserts.by_ref().take(UPSERTS_PER_EVENT).collect();
            events.push(event(
                "interactions.upserted",
                pb::event::Payload::InteractionsUpserted(pb::InteractionsUpserted {
                    upserts: chunk,
                }),
                now,
            ));
        }
        if !voids.is_empty() {
            events.push(fcr_event(&voids, now));
        }
        selection_events(&mut events, made, now);
        append(&mut tx, tenant, &events).await?;
        let t = phases::add(Phase::Events, t);
        tx.commit().await?;
        phases::add(Phase::Commit, t);
        Ok(selected)
    }
}

/// Classifies every valid item in order against `stored` (a repeated id
/// applies on top of the earlier one) and records the outcomes in `out`.
/// Returns the interactions to write by id and the order of their first
/// appearance.
fn classify_all<'a>(
    valid: &'a [Valid],
    stored: &HashMap<String, Stored>,
    out: &mut BatchResult,
) -> (HashMap<&'a str, &'a Interaction>, Vec<&'a str>) {
    let mut current: HashMap<&str, &Interaction> = HashMap::new();
    let mut order: Vec<&str> = Vec::new();
    for v in valid {
        let id = v.interaction.id.as_str();
        let before = current
            .get(id)
            .copied()
            .or_else(|| stored.get(id).map(|s| &s.interaction));
        let outcome = rules::classify(before, &v.interaction);
        let (code, fields) = match &outcome {
            IngestOutcome::Created => (pb::IngestOutcome::Created, Vec::new()),
            IngestOutcome::Updated(f) => (
                pb::IngestOutcome::Updated,
                f.iter().map(|s| (*s).to_owned()).collect(),
            ),
            IngestOutcome::Unchanged => (pb::IngestOutcome::Unchanged, Vec::new()),
            IngestOutcome::Stale => (pb::IngestOutcome::Stale, Vec::new()),
        };
        if let Some(r) = out.results.get_mut(v.index) {
            r.outcome = code as i32;
            r.changed_fields = fields;
            r.violations.clear();
        }
        if outcome.writes() {
            if !current.contains_key(id) {
                order.push(id);
            }
            current.insert(id, &v.interaction);
        }
    }
    (current, order)
}

/// Takes the tenant's ingest lock (PostgreSQL; held to the end of the
/// transaction). SQLite has one writer, so its transactions are serial
/// already.
async fn lock_tenant(tx: &mut Tx, tenant: &Tenant) -> Result<()> {
    if let earshot_kit::db::TxInner::Postgres(t) = &mut tx.inner {
        let conn: &mut sqlx::PgConnection = t;
        // The two-key form: its keys never collide with the change feed's
        // one-key lock.
        sqlx::query("SELECT pg_advisory_xact_lock($1, $2)")
            .bind(INGEST_LOCK_CLASS)
            .bind(tenant_lock_key(tenant))
            .execute(conn)
            .await?;
    }
    Ok(())
}

/// The first key of the tenant ingest lock ("ESI0").
const INGEST_LOCK_CLASS: i32 = 0x4553_4930;

/// The second key: a stable hash of the tenant id (FNV-1a, the same on
/// every replica and build). Two tenants that share a key only wait for
/// each other.
fn tenant_lock_key(tenant: &Tenant) -> i32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in tenant.id().bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    i32::from_ne_bytes(h.to_ne_bytes())
}

/// The `FcrVoided` event of some voids.
fn fcr_event(voids: &[Void], now: i64) -> earshot_kit::feed::NewEvent {
    event(
        "fcr.voided",
        pb::event::Payload::FcrVoided(pb::FcrVoided {
            voids: voids
                .iter()
                .map(|v| pb::FcrVoid {
                    interaction: Some(v.dims.clone()),
                    repeat_contact: Some(repeat_message(&v.repeat)),
                })
                .collect(),
        }),
        now,
    )
}

/// Appends `SelectionsMade` and `AssignmentsCreated` for what was made.
pub fn selection_events(
    events: &mut Vec<earshot_kit::feed::NewEvent>,
    made: select::Made,
    now: i64,
) {
    if !made.selections.is_empty() {
        events.push(event(
            "selections.made",
            pb::event::Payload::SelectionsMade(pb::SelectionsMade {
                selections: made.selections,
            }),
            now,
        ));
    }
    if !made.assignments.is_empty() {
        events.push(event(
            "assignments.created",
            pb::event::Payload::AssignmentsCreated(pb::AssignmentsCreated {
                assignments: made.assignments,
            }),
            now,
        ));
    }
}

/// Finds the repeat contacts that storing `written` creates and writes the
/// voids (earliest repeat kept; derived links never replace an earlier one).
async fn repeat_contacts(
    tx: &mut Tx,
    tenant: &Tenant,
    written: &[&Interaction],
    window: i64,
    now: i64,
) -> Result<Vec<Void>> {
    let started = Instant::now();
    let with_ref: Vec<&&Interaction> = written
        .iter()
        .filter(|i| !i.customer_ref.is_empty())
        .collect();
    if with_ref.is_empty() {
        return Ok(Vec::new());
    }
    let mut refs: Vec<&str> = with_ref.iter().map(|i| i.customer_ref.as_str()).collect();
    refs.sort_unstable();
    refs.dedup();
    let lo = with_ref
        .iter()
        .map(|i| i.arrived_ms)
        .min()
        .unwrap_or(0)
        .saturating_sub(window);
    let hi = with_ref
        .iter()
        .map(|i| i.arrived_ms)
        .max()
        .unwrap_or(0)
        .saturating_add(window);
    let mut contacts: BTreeMap<String, Vec<ContactRow>> = BTreeMap::new();
    // PostgreSQL: the customers as one array, each one probe of the
    // customer index (`arrived_at + 0` keeps the planner, which has no
    // statistics on a young table, from range-scanning the arrival index for
    // every customer instead).
    if let earshot_kit::db::TxInner::Postgres(t) = &mut tx.inner {
        let conn: &mut sqlx::PgConnection = t;
        let rows: Vec<ContactRow> = sqlx::query_as::<_, ContactRow>(
            "SELECT i.id, i.customer_ref, i.arrived_at, i.direction \
             FROM unnest($2::text[]) AS r(ref) CROSS JOIN LATERAL ( \
             SELECT id, customer_ref, arrived_at, direction FROM interactions \
             WHERE tenant_id = $1 AND customer_ref = r.ref AND customer_ref <> '' \
             AND arrived_at + 0 >= $3 AND arrived_at + 0 <= $4) AS i",
        )
        .bind(tenant.id())
        .bind(&refs)
        .bind(lo)
        .bind(hi)
        .fetch_all(conn)
        .await?;
        for r in rows {
            contacts.entry(r.customer_ref.clone()).or_default().push(r);
        }
    }
    let sqlite_refs: &[&str] = if tx.backend() == earshot_kit::db::Backend::Sqlite {
        &refs
    } else {
        &[]
    };
    for chunk in sqlite_refs.chunks(1000) {
        let sql = super::dialect(
            tx.backend(),
            format!(
                "SELECT id, customer_ref, arrived_at, direction FROM interactions \
                 WHERE tenant_id = $1 AND customer_ref <> '' AND customer_ref IN ({}) \
                 AND arrived_at >= ${} AND arrived_at <= ${}",
                placeholders(2, chunk.len()),
                chunk.len() + 2,
                chunk.len() + 3
            ),
        );
        let rows: Vec<ContactRow> = with_tx!(tx, |c| {
            let mut q =
                sqlx::query_as::<_, ContactRow>(sqlx::AssertSqlSafe(sql.clone())).bind(tenant.id());
            for r in chunk {
                q = q.bind(*r);
            }
            q.bind(lo).bind(hi).fetch_all(&mut *c).await
        })?;
        for r in rows {
            contacts.entry(r.customer_ref.clone()).or_default().push(r);
        }
    }
    // Earliest repeat per earlier interaction.
    let mut best: BTreeMap<String, (String, i64)> = BTreeMap::new();
    for w in &with_ref {
        let Some(others) = contacts.get(&w.customer_ref) else {
            continue;
        };
        let parsed: Vec<(InteractionId, i64, Direction)> = others
            .iter()
            .filter_map(|o| {
                Some((
                    InteractionId::parse(o.id.clone()).ok()?,
                    o.arrived_at,
                    Direction::from_code(i32::try_from(o.direction).ok()?)?,
                ))
            })
            .collect();
        let list: Vec<Contact<'_>> = parsed
            .iter()
            .map(|(id, at, d)| Contact {
                id,
                arrived_ms: *at,
                direction: *d,
            })
            .collect();
        let me = Contact {
            id: &w.id,
            arrived_ms: w.arrived_ms,
            direction: w.direction,
        };
        for link in repeat_contact::links_for(me, &list, window) {
            let e = best
                .entry(link.earlier.as_str().to_owned())
                .or_insert_with(|| (link.later.as_str().to_owned(), link.later_arrived_ms));
            if link.later_arrived_ms < e.1 {
                *e = (link.later.as_str().to_owned(), link.later_arrived_ms);
            }
        }
    }
    // First-contact resolution is measured on inbound contacts only: a
    // later contact voids an earlier inbound one.
    let inbound: std::collections::HashSet<&str> = contacts
        .values()
        .flatten()
        .filter(|c| c.direction == i64::from(Direction::Inbound.code()))
        .map(|c| c.id.as_str())
        .collect();
    let voids: Vec<Void> = best
        .into_iter()
        .filter(|(earlier, _)| inbound.contains(earlier.as_str()))
        .map(|(earlier, (later, at))| Void {
            earlier,
            repeat: RepeatContact {
                repeat_interaction: InteractionId::parse(later).ok(),
                repeat_ms: at,
                source: RepeatSource::Derived,
                reason: String::new(),
            },
            dims: pb::InteractionDimensions::default(),
        })
        .collect();
    // Only voids that supersede what is stored (the earliest repeat is
    // kept) are written and returned.
    let t = phases::add(Phase::Probe, started);
    let written = write_voids(tx, tenant, voids, now, true).await;
    phases::add(Phase::Voids, t);
    written
}

/// Records repeat contacts on interactions, in one statement per 300, and
/// returns the voids written with their interactions' dimensions. With
/// `earliest`, a void is written only where no earlier repeat contact is
/// stored; otherwise it replaces what is stored (a CRM's report).
async fn write_voids(
    tx: &mut Tx,
    tenant: &Tenant,
    voids: Vec<Void>,
    now: i64,
    earliest: bool,
) -> Result<Vec<Void>> {
    let mut by_id: HashMap<String, Void> =
        voids.into_iter().map(|v| (v.earlier.clone(), v)).collect();
    let ids: Vec<String> = {
        let mut k: Vec<String> = by_id.keys().cloned().collect();
        k.sort();
        k
    };
    let mut out = Vec::new();
    let guard = if earliest {
        " AND (interactions.repeat_at IS NULL OR interactions.repeat_at > v.column3)"
    } else {
        ""
    };
    // PostgreSQL: the voids as arrays, unnested, so the join is planned as
    // one primary-key probe per void (a VALUES list without statistics can
    // be planned as a scan of the whole table).
    if let earshot_kit::db::TxInner::Postgres(t) = &mut tx.inner {
        let mut later = Vec::with_capacity(ids.len());
        let mut at = Vec::with_capacity(ids.len());
        let mut source = Vec::with_capacity(ids.len());
        let mut reason = Vec::with_capacity(ids.len());
        for id in &ids {
            let Some(v) = by_id.get(id) else { continue };
            later.push(
                v.repeat
                    .repeat_interaction
                    .as_ref()
                    .map(|i| i.as_str().to_owned())
                    .unwrap_or_default(),
            );
            at.push(v.repeat.repeat_ms);
            source.push(match v.repeat.source {
                RepeatSource::Derived => 1_i64,
                RepeatSource::Reported => 2_i64,
            });
            reason.push(v.repeat.reason.clone());
        }
        let sql = format!(
            "UPDATE interactions SET repeat_interaction_id = v.column2, repeat_at = v.column3, \
             repeat_source = v.column4, repeat_reason = v.column5, updated_at = $6, \
             revision = interactions.revision + 1 \
             FROM unnest($1::text[], $2::text[], $3::bigint[], $4::bigint[], $5::text[]) \
             AS v(column1, column2, column3, column4, column5) \
             WHERE interactions.tenant_id = $7 AND interactions.id = v.column1{guard} \
             RETURNING interactions.id, interactions.channel, interactions.direction, \
             interactions.agent_id, interactions.team_id, interactions.queue_id, \
             interactions.language, interactions.arrived_at, interactions.handle_ms"
        );
        let conn: &mut sqlx::PgConnection = t;
        let rows: Vec<VoidedRow> = sqlx::query_as::<_, VoidedRow>(sqlx::AssertSqlSafe(sql))
            .bind(&ids)
            .bind(&later)
            .bind(&at)
            .bind(&source)
            .bind(&reason)
            .bind(now)
            .bind(tenant.id())
            .fetch_all(conn)
            .await?;
        for r in rows {
            if let Some(mut v) = by_id.remove(&r.id) {
                v.dims = r.dims();
                out.push(v);
            }
        }
        out.sort_by(|a, b| a.earlier.cmp(&b.earlier));
        return Ok(out);
    }
    for chunk in ids.chunks(300) {
        let mut values = String::new();
        for n in 0..chunk.len() {
            if n > 0 {
                values.push(',');
            }
            values.push('(');
            values.push_str(&placeholders(1 + n * 7, 7));
            values.push(')');
        }
        let sql = super::dialect(
            tx.backend(),
            format!(
                "UPDATE interactions SET repeat_interaction_id = v.column2, repeat_at = v.column3, \
                 repeat_source = v.column4, repeat_reason = v.column5, updated_at = v.column6, \
                 revision = interactions.revision + 1 \
                 FROM (VALUES {values}) AS v \
                 WHERE interactions.tenant_id = v.column7 AND interactions.id = v.column1{guard} \
                 RETURNING interactions.id, interactions.channel, interactions.direction, \
                 interactions.agent_id, interactions.team_id, interactions.queue_id, \
                 interactions.language, interactions.arrived_at, interactions.handle_ms"
            ),
        );
        let rows: Vec<VoidedRow> = with_tx!(tx, |c| {
            let mut q = sqlx::query_as::<_, VoidedRow>(sqlx::AssertSqlSafe(sql.clone()));
            for id in chunk {
                let Some(v) = by_id.get(id) else { continue };
                q = q
                    .bind(v.earlier.as_str())
                    .bind(
                        v.repeat
                            .repeat_interaction
                            .as_ref()
                            .map(|i| i.as_str().to_owned())
                            .unwrap_or_default(),
                    )
                    .bind(v.repeat.repeat_ms)
                    .bind(match v.repeat.source {
                        RepeatSource::Derived => 1_i64,
                        RepeatSource::Reported => 2_i64,
                    })
                    .bind(v.repeat.reason.as_str())
                    .bind(now)
                    .bind(tenant.id());
            }
            q.fetch_all(&mut *c).await
        })?;
        for r in rows {
            if let Some(mut v) = by_id.remove(&r.id) {
                v.dims = r.dims();
                out.push(v);
            }
        }
    }
    out.sort_by(|a, b| a.earlier.cmp(&b.earlier));
    Ok(out)
}

/// Records one repeat contact (reported by a CRM) inside `tx`; returns its
/// `FcrVoided` event.
pub async fn record_void(
    tx: &mut Tx,
    tenant: &Tenant,
    stored: &Stored,
    repeat: RepeatContact,
    now: i64,
) -> Result<earshot_kit::feed::NewEvent> {
    let v = Void {
        earlier: stored.interaction.id.as_str().to_owned(),
        dims: convert::dimensions(&stored.interaction),
        repeat,
    };
    let written = write_voids(tx, tenant, vec![v], now, false).await?;
    Ok(fcr_event(&written, now))
}
