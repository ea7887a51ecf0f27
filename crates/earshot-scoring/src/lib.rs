//! Earshot's scoring service: versioned scorecards, exact score math, and
//! evaluations with release, acknowledgement, disputes and re-scoring.
//!
//! # Layout
//!
//! The crate is a *functional core*: plain Rust, no I/O, no generated proto
//! types. The gRPC edge (`service.rs`, later) maps proto messages to these
//! types, authorizes through [`access`] and [`lifecycle`], and stores results
//! (`store.rs`, later). Find a rule by its name:
//!
//! | module | what lives there |
//! |---|---|
//! | [`scorecard::model`] | the scorecard as written (sections, questions, kinds, conditions, bands); also Earshot's YAML/JSON document shape |
//! | [`scorecard::validate`] | every scorecard rule with field paths; [`scorecard::ValidScorecard`], the only input the score math accepts |
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
//!
//! The exact score formulas, and where Earshot's model goes further than
//! Genesys Cloud's, are in `docs/score-math.md` beside this crate.
//!
//! # Guarantees
//!
//! No function here panics on any input, and none returns NaN: degenerate
//! ratios (nothing applicable) are `None`. Parsing returns *every* violation
//! at once, each with its field path, so the edge can answer
//! `INVALID_ARGUMENT` with `google.rpc.BadRequest` details. Results do not
//! depend on the order answers are given in.
//!
//! # Storage-ready
//!
//! States and kinds have `as_str`/`parse` stored forms; times are epoch
//! milliseconds (UTC) as `i64`; ids are strings. Definitions serialise with
//! serde (see [`interchange`]) for storage as text or bytes.

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
