//! What every Earshot service shares.
//!
//! # Layout
//!
//! - [`config`]: defaults, TOML file, `EARSHOT_*` environment, flags.
//! - [`telemetry`]: `tracing` setup, human or JSON logs.
//! - [`auth`]: bearer JWTs, roles, the verified [`auth::Caller`] and the
//!   [`auth::Tenant`] every store call needs.
//! - [`error`]: one error type and its mapping onto `tonic::Status`, with
//!   field-level `BadRequest` details.
//! - [`db`]: SQLite or PostgreSQL behind one type; one query text serves both.
//! - [`feed`]: the transactional outbox behind every `StreamEvents`.
//! - [`limit`]: the per-tenant request rate limit.
//! - [`metrics`]: Prometheus counters, latency histograms and gauges.
//! - [`paging`]: opaque page tokens and page sizes.
//! - [`server`]: health, reflection, tower layers, graceful shutdown.
//! - [`shutdown`]: SIGINT/SIGTERM into a cancellation token.
//! - `testing` (feature `testing`): fresh databases and test tokens.

pub mod audit;
pub mod auth;
pub mod config;
pub mod db;
pub mod error;
pub mod feed;
pub mod limit;
pub mod metrics;
pub mod paging;
pub mod privacy;
pub mod server;
pub mod shutdown;
pub mod telemetry;
pub mod time;

#[cfg(feature = "testing")]
pub mod testing;

pub use error::{Error, FieldViolation, Result, Violations};
