//! Earshot's calibration service: calibration sessions (blind, expert and
//! consensus) and the agreement statistics that say how well evaluators agree.
//!
//! # Layout
//!
//! The crate is a *functional core* today; the gRPC edge (`service.rs`) and
//! storage (`store.rs`) come in phase B and only translate, authorize, store
//! and call into it. Nothing here does I/O or sees a generated proto type.
//!
//! * [`agreement`] -- the statistics, each a pure function of a units x raters
//!   [`agreement::RatingsMatrix`] with missing cells, returning a value or a
//!   defined [`agreement::Undefined`] reason plus the units and raters used:
//!   [`agreement::krippendorff`] (alpha, four levels, closed forms),
//!   [`agreement::fleiss`], [`agreement::gwet`] (AC1/AC2), [`agreement::cohen`],
//!   [`agreement::icc`] (six forms with exact F-based intervals),
//!   [`agreement::percent`]; [`agreement::request`] is the ComputeAgreement
//!   rule set (validation, labels, limits) on top of them.
//! * [`session`] -- the session rules: [`session::create`] (what a valid
//!   session is), [`session::lifecycle`] (state machine),
//!   [`session::submission`] (answers, lateness, etags), [`session::reference`]
//!   (expert / consensus / group), [`session::results`] (everything GetSessionResults
//!   shows), [`session::drift`] (trend across sessions), [`session::visibility`]
//!   (who sees what before and after close: blindness lives here).
//! * [`settings`] -- the tenant's calibration settings and their update rules.
//! * [`stats`] -- special functions, F and t distributions, and the
//!   [`stats::estimate::Estimate`] (value + 95% CI + sample size) behind
//!   every mean and rate.
//! * [`validation`] -- field-level violations, so the edge can answer
//!   INVALID_ARGUMENT with `google.rpc.BadRequest` details.
//!
//! # Rules kept everywhere
//!
//! * No panic is reachable from any input, and no NaN leaves a function:
//!   degenerate inputs (one rater, one unit, identical raters, a single
//!   category) get a defined value or an `Undefined` reason.
//! * Every statistic is checked against a published worked example (unit
//!   tests) and against the widely used implementation to 1e-9 on randomized
//!   inputs with missing data (`tests/reference_fixtures.rs`, fixtures made
//!   once by `fixtures/generate.py`; see `fixtures/README.md`).
//! * `src/bin/agreement_bench.rs` with `fixtures/bench_reference.py` measures
//!   the statistics against those implementations on the same input.
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod agreement;
pub mod mapping;
pub mod peers;
pub mod service;
pub mod session;
pub mod settings;
pub mod stats;
pub mod store;
pub mod validation;

use earshot_kit::{
    config::ServiceKind,
    db::Migrations,
    server::{BuildFuture, ServiceContext, ServiceSpec},
};
use earshot_proto::calibration::v1::calibration_service_server::{self, CalibrationServiceServer};

static SQLITE: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

/// How the binary runs this service.
pub fn spec() -> ServiceSpec {
    ServiceSpec {
        kind: ServiceKind::Calibration,
        service_names: &[calibration_service_server::SERVICE_NAME],
        migrations: Migrations {
            sqlite: &SQLITE,
            postgres: &POSTGRES,
        },
        build,
    }
}

fn build(ctx: ServiceContext) -> BuildFuture {
    Box::pin(async move {
        let peers = peers::Peers::new(
            ctx.channel(ServiceKind::Sampling)?,
            ctx.channel(ServiceKind::Scoring)?,
            ctx.max_message_bytes(),
        );
        let service = service::Calibration::new(ctx.db.clone(), peers, ctx.shutdown.clone());
        let server = CalibrationServiceServer::new(service)
            .max_decoding_message_size(ctx.max_message_bytes())
            .max_encoding_message_size(ctx.max_message_bytes());
        Ok(tonic::service::Routes::new(server))
    })
}
