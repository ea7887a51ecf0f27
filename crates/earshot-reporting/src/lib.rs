//! Earshot's reporting service: quality, operational and customer KPIs with
//! honest statistics, computed from rollups of the other services' change
//! feeds.
//!
//! Reporting owns no source data. It follows sampling's, scoring's and
//! calibration's change feeds, folds every fact into *rollup cells* —
//! integer counters per tenant × local day (ten-day, month) × dimension tuple —
//! and answers every report by merging the few cells that cover the period.
//! Because cells only add and subtract integers, a re-scored evaluation, a
//! late survey or a duplicate event changes the totals exactly as a rebuild
//! from the raw facts would, and a year costs about what a quarter costs.
//!
//! # Layout
//!
//! Most of this crate is a *functional core*: plain Rust, no I/O, no
//! generated proto types. The gRPC edge ([`service`]) maps contract messages
//! to these types, scopes them to the caller, and calls in; the store ([`store`]) persists
//! cells and facts in SQL and behaves like [`rollup::Rollups`] (proved by
//! `tests/store.rs`); [`follow`] runs one follower per change feed and
//! [`feeds`] decodes their events into fact changes.
//!
//! Facts and how they become cells:
//! - [`facts`]: the domain facts (interaction, survey, complaint, FCR void,
//!   evaluation) and [`facts::InteractionRecord`], everything known about one
//!   interaction: the unit of change.
//! - [`rollup`]: cells ([`rollup::cells`]), their keys and grains
//!   ([`rollup::keys`]), what a record contributes ([`rollup::contribution`]),
//!   and how a period is covered by the fewest cells ([`rollup::cover`]).
//! - [`calendar`]: local days in the tenant's time zone, buckets (day to
//!   year), presets ("last 90 days"), comparison baselines.
//! - [`dimension`]: channels, grouping dimensions, filters.
//!
//! The statistics:
//! - [`stats`]: special functions (the t quantile is computed), estimates,
//!   moments (mean, SD, Student-t interval), proportions (Wilson), NPS
//!   (adjusted Wald), the score histogram.
//! - [`significance`]: two-proportion z (Newcombe interval), Welch's t,
//!   NPS difference; "significant at 95%" with the p-value.
//! - [`metrics`]: the metric catalogue — unit, good direction, which
//!   statistic and test — from merged cells.
//!
//! The reports:
//! - [`reports`]: quality, operational and customer figures per group,
//!   ranking that never ranks a group below the minimum sample.
//! - [`trend`]: a metric per bucket with the last change tested.
//! - [`comparison`]: period over period, several metrics per group.
//! - [`insights`]: Pareto of question failures, association of each
//!   question with CSAT, NPS and FCR.
//! - [`targets`] and [`benchmark`]: attainment of targets; a group against
//!   the rest of the center, industry references and its target.
//! - [`settings`]: the tenant's reporting settings and their validation.
//! - [`output`]: CSV (RFC 4180, bounded chunks, fixed columns) and SVG
//!   charts (trend with interval bands and target line, distribution).
//! - [`validation`]: field-level violations for `INVALID_ARGUMENT` replies.
//!
//! # Rules the core keeps
//!
//! - No panic is reachable from any input, and no NaN leaves a function:
//!   empty groups are a defined "no data" [`stats::Estimate`] (zeros, flagged).
//! - Every figure carries its sample size; groups below the tenant's minimum
//!   sample are flagged and never ranked or assessed.
//! - Cell arithmetic is exact (integers, wrapping), so incremental
//!   maintenance equals a rebuild and merged days equal months; the
//!   property tests in `rollup::tests` prove it on random histories.

#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod benchmark;
pub mod calendar;
pub mod comparison;
pub mod dimension;
pub mod facts;
pub mod feeds;
pub mod follow;
pub mod insights;
pub mod metrics;
pub mod output;
pub mod reports;
pub mod rollup;
pub mod service;
pub mod settings;
pub mod significance;
pub mod stats;
pub mod store;
pub mod targets;
pub mod trend;
pub mod validation;

use earshot_kit::{
    config::ServiceKind,
    db::Migrations,
    server::{BuildFuture, ServiceContext, ServiceSpec},
};
use earshot_proto::reporting::v1::reporting_service_server::{self, ReportingServiceServer};

static SQLITE: sqlx::migrate::Migrator = sqlx::migrate!("migrations/sqlite");
static POSTGRES: sqlx::migrate::Migrator = sqlx::migrate!("migrations/postgres");

/// How the binary runs this service.
pub fn spec() -> ServiceSpec {
    ServiceSpec {
        kind: ServiceKind::Reporting,
        service_names: &[reporting_service_server::SERVICE_NAME],
        migrations: Migrations {
            sqlite: &SQLITE,
            postgres: &POSTGRES,
        },
        build,
    }
}

fn build(ctx: ServiceContext) -> BuildFuture {
    Box::pin(async move {
        // Before anything reads or applies cells: a grain added by an
        // upgrade is built from the stored day cells.
        store::build_grains(&ctx.db).await?;
        let feeds = follow::Feeds::default();
        let channels = vec![
            (
                store::Source::Sampling,
                ctx.channel(ServiceKind::Sampling).ok(),
            ),
            (
                store::Source::Scoring,
                ctx.channel(ServiceKind::Scoring).ok(),
            ),
            (
                store::Source::Calibration,
                ctx.channel(ServiceKind::Calibration).ok(),
            ),
        ];
        follow::spawn(
            &ctx.db,
            channels,
            ctx.system_token.clone(),
            &feeds,
            ctx.max_message_bytes(),
            &ctx.tasks,
            &ctx.shutdown,
        );
        let service = service::Reporting::new(ctx.db.clone(), feeds);
        let server = ReportingServiceServer::new(service)
            .max_decoding_message_size(ctx.max_message_bytes())
            .max_encoding_message_size(ctx.max_message_bytes());
        Ok(tonic::service::Routes::new(server))
    })
}
