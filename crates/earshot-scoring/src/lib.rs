//! Earshot's scoring service: versioned scorecards, exact score math, and
//! evaluations with release, acknowledgement, disputes and re-scoring.
//!
//! # Layout
//!
//! A *functional core* — plain Rust, no I/O, no generated proto types — and
//! an *imperative shell* around it: [`service`], the gRPC edge, maps proto
//! messages to the core's types, authorizes through [`access`] and
//! [`lifecycle`], and writes through [`store`], the only code with SQL. Find a
//! rule by its name:
//!
//! | module | what lives there |
//! |---|---|
//! | [`scorecard::model`] | the scorecard as written (sections, questions, kinds, conditions, bands); also Earshot's YAML/JSON document shape |
//! | [`scorecard::validate`] | every scorecard rule with field paths; [`scorecard::ValidScorecard`], the only input the score math accepts |
//! | [`scorecard::limits`] | the size limits a draft must keep to be stored at all |
//! | [`scorecard::conditions`] | what a visibility condition may refer to: earlier questions only, no cycles, right answer kinds |
//! | [`answers`] | the answer model and the answer-set checks (wrong kind, out of range, unknown option, N/A not allowed, missing, comment required) |
//! | [`visibility`] | which sections and questions a set of answers shows |
//! | [`score`] | the score math: [`score::score_answers`] and its result types |
//! | [`score::points`] | what one answer earns and whether it fails |
//! | [`score::earshot`] / [`score::genesys`] | the two aggregation methods |
//! | [`interchange`] | Earshot's own format, YAML and JSON, import and export |
//! | [`genesys`] | Genesys Cloud evaluation form import |
//! | [`lifecycle::scorecard`] | draft → published → archived, who may do it |
//! | [`lifecycle::evaluation`] | draft → submitted → released → acknowledged / disputed → resolved, who may do it |
//! | [`access`] | who sees which evaluation, listing scopes, anonymous evaluators |
//! | [`disputes`] / [`comments`] | what a dispute and a coaching comment must contain |
//! | [`settings`] | the tenant's scoring settings and their defaults |
//! | [`error`] | [`error::ScoringError`] and the status code of each refusal |
//! | [`violation`] | field-level validation errors |
//! | [`service`] | the gRPC edge: one file per group of RPCs, proto ⇄ domain mapping, what agents may not see, feed events, calls to sampling |
//! | [`store`] | the SQL, one query text for SQLite and PostgreSQL |
//!
//! The exact score formulas, and where Earshot's model goes further than
//! Genesys Cloud's, are in `docs/score-math.md` beside this crate; the
//! service as its users see it is in the workspace's `docs/scoring.md`.
//!
//! # Guarantees
//!
//! No function of the core panics on any input, and none returns NaN:
//! degenerate ratios (nothing applicable) are `None`. Parsing returns *every*
//! violation at once, each with its field path, so the edge can answer
//! `INVALID_ARGUMENT` with `google.rpc.BadRequest` details. Results do not
//! depend on the order answers are given in.
//!
//! The shell writes a state change, its audit entry and its change-feed
//! event in one transaction; a stale etag or a lost race is `ABORTED` and
//! changes nothing; creating calls are idempotent on their `request_id`.
//!
//! # Storage
//!
//! States and kinds have `as_str`/`parse` stored forms; times are epoch
//! milliseconds (UTC) as `i64`; ids are UUIDv7 strings. Definitions,
//! evaluations and revisions are stored as their encoded protobuf messages
//! beside the columns that lists filter on (see [`store`]).

pub mod access;
pub mod answers;
pub mod comments;
pub mod disputes;
pub mod error;
pub mod genesys;
pub mod interchange;
pub mod lifecycle;
pub mod score;
pub mod scorecard;
pub mod service;
pub mod settings;
pub mod store;
pub mod violation;
pub mod visibility;

use earshot_kit::{
    config::ServiceKind,
    db::Migrations,
    server::{BuildFuture, ServiceContext, ServiceSpec},
};
use earshot_proto::scoring::v1::scoring_service_server::{self, ScoringServiceServer};

static SQLITE: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

/// How the binary runs this service.
pub fn spec() -> ServiceSpec {
    ServiceSpec {
        kind: ServiceKind::Scoring,
        service_names: &[scoring_service_server::SERVICE_NAME],
        migrations: Migrations {
            sqlite: &SQLITE,
            postgres: &POSTGRES,
        },
        build,
    }
}

fn build(ctx: ServiceContext) -> BuildFuture {
    Box::pin(async move {
        let sampling = service::sampling::Sampling::new(ctx.channel(ServiceKind::Sampling)?);
        let api = service::ScoringApi::new(
            store::Store::new(ctx.db.clone()),
            sampling,
            ctx.shutdown.clone(),
        );
        let server =
            ScoringServiceServer::new(api).max_decoding_message_size(ctx.max_message_bytes());
        Ok(tonic::service::Routes::new(server))
    })
}
