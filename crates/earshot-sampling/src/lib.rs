//! Earshot's sampling service: which customer interactions get evaluated,
//! by whom, and by when.
//!
//! An ACD or CRM streams interactions in; late facts (surveys, complaints,
//! repeat contacts) follow. The tenant's sampling plans decide, as each
//! interaction is stored, whether to select it — at random, within its
//! stratum, or because a targeted rule matched — and top every agent up at
//! period close. Each selection becomes an assignment routed to an eligible
//! evaluator with a due time; coverage reports evaluations due vs done vs
//! quota. The contract is `proto/earshot/sampling/v1/`.
//!
//! # Layout
//!
//! This crate is a *functional core*: plain Rust, no I/O, no generated proto
//! types. The gRPC edge (`service.rs`) and the SQL (`store.rs`) come on top
//! and only translate, authorize, store and call into these modules. Times
//! are epoch milliseconds UTC (`i64`), the form storage keeps; ids are text.
//! Each rule lives in the module named after it:
//!
//! **Input and validation** — every `parse` returns all field-level problems
//! at once as [`violation::Violations`] (field paths in proto names), which
//! the edge maps to `INVALID_ARGUMENT` with `BadRequest` details or to the
//! per-item rejects of a batch.
//! * [`violation`] — field paths and problem lists.
//! * [`ids`] — id newtypes (1–200 characters), rule ids, BCP 47 language
//!   tags, text limits.
//! * [`interaction`] — an interaction's facts and their limits; handle time.
//! * [`ingest`] — idempotent ingest: created / updated (which fields) /
//!   unchanged / stale re-sends; when an interaction is drawn; batch limits.
//! * [`survey`], [`feedback`] — late facts: CSAT 1–5, NPS 0–10 (detractors),
//!   complaints and their service recovery.
//! * [`repeat_contact`] — repeat contacts void first-contact resolution,
//!   independent of ingest order; FCR status.
//! * [`filter`] — `ListInteractions` / `DrawInteractions` criteria.
//!
//! **Tenant calendar and settings**
//! * [`time`] — units.
//! * [`calendar`] — days, weeks, months … in the tenant's IANA time zone,
//!   across daylight-saving changes.
//! * [`business_hours`] — opening windows, holidays, business-time arithmetic.
//! * [`settings`] — time zone, business hours, repeat-contact window,
//!   monitoring SLA, conflict-of-interest policy, close delay.
//!
//! **Plans and selection** — the heart; [`selection`] explains the design
//! and why it yields a simple random sample spread like the population.
//! * [`plan`] — the plan model, its validation and versions.
//! * [`eligibility`] — scope and exclusions, with stable reason codes.
//! * [`draw`] — `u = SipHash-2-4(seed, id)` in [0, 1); bottom-k draws.
//! * [`quota`] — effective per-agent min / max / random target (new hires
//!   over-sampled), expected volume, the period's threshold.
//! * [`stratification`] — stratum keys; proportional (largest remainder) and
//!   equal (water-filling) allocation; per-stratum thresholds.
//! * [`targeted`] — targeted-rule conditions; handle-time percentiles.
//! * [`selection`] — the decision as an interaction arrives; counters.
//! * [`top_up`] — period close: random target per stratum, then the minimum,
//!   never past the maximum.
//! * [`sample_size`] — sample size for a proportion with the
//!   finite-population correction; its cost; the normal quantile.
//! * [`preview`] — a whole plan run in memory (`PreviewPlan`, and the
//!   statistical tests in `tests/`).
//!
//! **Evaluators, assignments, coverage**
//! * [`evaluator`] — the directory.
//! * [`routing`] — eligibility (skills, conflicts of interest, capacity) and
//!   load balancing in proportion to capacity.
//! * [`due`] — due times, in wall-clock or business time.
//! * [`assignment`] — the lifecycle: queued, routed, claimed, completed,
//!   cancelled; release, reassign, overdue.
//! * [`coverage`] — due vs done vs quota, monitoring SLA, team rollups.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod assignment;
pub mod business_hours;
pub mod calendar;
pub mod convert;
pub mod coverage;
pub mod draw;
pub mod due;
pub mod eligibility;
pub mod erasure;
pub mod evaluator;
pub mod feedback;
pub mod filter;
pub mod ids;
pub mod ingest;
pub mod interaction;
pub mod plan;
pub mod preview;
pub mod quota;
pub mod repeat_contact;
pub mod routing;
pub mod sample_size;
pub mod selection;
pub mod service;
pub mod settings;
pub mod store;
pub mod stratification;
pub mod survey;
pub mod targeted;
pub mod tasks;
pub mod time;
pub mod top_up;
pub mod violation;

use earshot_kit::{
    config::ServiceKind,
    db::Migrations,
    server::{BuildFuture, ServiceContext, ServiceSpec},
};
use earshot_proto::sampling::v1::sampling_service_server::{self, SamplingServiceServer};

static SQLITE: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

/// How the binary runs this service.
pub fn spec() -> ServiceSpec {
    ServiceSpec {
        kind: ServiceKind::Sampling,
        service_names: &[sampling_service_server::SERVICE_NAME],
        migrations: Migrations {
            sqlite: &SQLITE,
            postgres: &POSTGRES,
        },
        build,
    }
}

fn build(ctx: ServiceContext) -> BuildFuture {
    Box::pin(async move {
        let store = store::Store::new(ctx.db.clone())
            .with_hasher(earshot_kit::privacy::customer_ref_hasher(&ctx.config)?);
        let peers = erasure::Peers::new(
            ctx.channel(ServiceKind::Scoring)?,
            ctx.channel(ServiceKind::Calibration)?,
        );
        ctx.tasks.spawn(tasks::run(
            store.clone(),
            tasks::SWEEP_INTERVAL,
            ctx.shutdown.clone(),
        ));
        let server =
            SamplingServiceServer::new(service::Sampling::new(store, ctx.shutdown.clone(), peers))
                .max_decoding_message_size(ctx.max_message_bytes());
        Ok(tonic::service::Routes::new(server))
    })
}
