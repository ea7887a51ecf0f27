//! Background work every replica runs: closing ended plan periods (with
//! their top-ups), expiring / re-routing overdue assignments, and applying
//! each tenant's retention policy.
//!
//! Both are idempotent and safe with several replicas at once: a period is
//! closed by whoever claims its row first (the claim and the top-up commit
//! together), and overdue assignments are read with `SKIP LOCKED` on
//! PostgreSQL and updated under their revision. The tasks stop when the
//! process's shutdown token is cancelled.

use std::time::Duration;

use earshot_kit::time::now_millis;
use tokio_util::sync::CancellationToken;

use crate::store::{self, Store};

/// How often the sweeps run.
pub const SWEEP_INTERVAL: Duration = Duration::from_secs(60);

/// One pass over every tenant: close due periods, expire overdue
/// assignments. Errors are logged; the next pass tries again.
pub async fn sweep_once(store: &Store) {
    let tenants = match store::tenants(store.db()).await {
        Ok(t) => t,
        Err(e) => {
            tracing::warn!(error = %e, "sampling sweep: cannot list tenants");
            return;
        }
    };
    for tenant in tenants {
        let now = now_millis();
        if let Err(e) = store.close_due_periods(&tenant, now).await {
            tracing::warn!(tenant = %tenant, error = %e, "sampling sweep: period close failed");
        }
        match store.settings(&tenant).await {
            Ok(loaded) => {
                if let Some(retention) = loaded.settings.retention_ms
                    && let Err(e) = store
                        .purge_expired(&tenant, retention, ("retention", "service"), now_millis())
                        .await
                {
                    tracing::warn!(tenant = %tenant, error = %e, "sampling sweep: retention purge failed");
                }
            }
            Err(e) => {
                tracing::warn!(tenant = %tenant, error = %e, "sampling sweep: cannot read settings");
            }
        }
        loop {
            match store.sweep_overdue(&tenant, now_millis()).await {
                Ok(n) if n >= 500 => continue,
                Ok(_) => break,
                Err(e) => {
                    tracing::warn!(tenant = %tenant, error = %e, "sampling sweep: overdue failed");
                    break;
                }
            }
        }
    }
}

/// Runs [`sweep_once`] every `interval` until `shutdown`.
pub async fn run(store: Store, interval: Duration, shutdown: CancellationToken) {
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = tokio::time::sleep(interval) => {}
        }
        sweep_once(&store).await;
    }
}
