//! `settings`: one row per tenant once first updated; no row means the
//! defaults.

use earshot_kit::{Result, auth::Tenant, db::Tx, with_pool, with_tx};

use super::Store;
use crate::settings::Settings;

/// A tenant's settings as stored.
#[derive(Debug, Clone, PartialEq, sqlx::FromRow)]
pub struct SettingsRow {
    /// Hide evaluators from agents.
    pub anonymous_evaluation: bool,
    /// Release on submit.
    pub auto_release_on_submit: bool,
    /// Evaluators may release.
    pub evaluators_may_release: bool,
    /// Dispute window, ms (0: no limit).
    pub dispute_window_ms: i64,
    /// Agents may self-evaluate.
    pub self_evaluation_enabled: bool,
    /// Concurrency counter (the etag).
    pub version: i64,
    /// Last change, epoch ms.
    pub updated_at: i64,
}

impl SettingsRow {
    /// The domain settings.
    pub fn settings(&self) -> Settings {
        Settings {
            anonymous_evaluation: self.anonymous_evaluation,
            auto_release_on_submit: self.auto_release_on_submit,
            evaluators_may_release: self.evaluators_may_release,
            dispute_window_ms: self.dispute_window_ms,
            self_evaluation_enabled: self.self_evaluation_enabled,
        }
    }
}

impl Store {
    /// The tenant's stored settings; `None` while on defaults.
    pub async fn settings_row(&self, t: &Tenant) -> Result<Option<SettingsRow>> {
        let row = with_pool!(self.db().read(), |p| sqlx::query_as::<_, SettingsRow>(
            "SELECT anonymous_evaluation, auto_release_on_submit, evaluators_may_release, \
             dispute_window_ms, self_evaluation_enabled, version, updated_at \
             FROM settings WHERE tenant_id = $1"
        )
        .bind(t.id())
        .fetch_optional(p)
        .await)?;
        Ok(row)
    }

    /// The tenant's settings, defaults when never updated.
    pub async fn settings(&self, t: &Tenant) -> Result<Settings> {
        Ok(self
            .settings_row(t)
            .await?
            .map(|r| r.settings())
            .unwrap_or_default())
    }

    /// Writes the settings if the stored version is still `expected` (`None`:
    /// no row yet); false when another write won.
    pub async fn write_settings(
        tx: &mut Tx,
        t: &Tenant,
        s: &Settings,
        expected: Option<i64>,
        now: i64,
    ) -> Result<bool> {
        let n = match expected {
            None => with_tx!(tx, |c| {
                sqlx::query(
                "INSERT INTO settings (tenant_id, anonymous_evaluation, auto_release_on_submit, \
                 evaluators_may_release, dispute_window_ms, self_evaluation_enabled, version, \
                 updated_at) VALUES ($1, $2, $3, $4, $5, $6, 1, $7) \
                 ON CONFLICT (tenant_id) DO NOTHING"
            )
            .bind(t.id())
            .bind(s.anonymous_evaluation)
            .bind(s.auto_release_on_submit)
            .bind(s.evaluators_may_release)
            .bind(s.dispute_window_ms)
            .bind(s.self_evaluation_enabled)
            .bind(now)
            .execute(&mut *c)
            .await
            .map(|r| r.rows_affected())
            })?,
            Some(v) => with_tx!(tx, |c| sqlx::query(
                "UPDATE settings SET anonymous_evaluation = $2, auto_release_on_submit = $3, \
                 evaluators_may_release = $4, dispute_window_ms = $5, \
                 self_evaluation_enabled = $6, version = version + 1, updated_at = $7 \
                 WHERE tenant_id = $1 AND version = $8"
            )
            .bind(t.id())
            .bind(s.anonymous_evaluation)
            .bind(s.auto_release_on_submit)
            .bind(s.evaluators_may_release)
            .bind(s.dispute_window_ms)
            .bind(s.self_evaluation_enabled)
            .bind(now)
            .bind(v)
            .execute(&mut *c)
            .await
            .map(|r| r.rows_affected()))?,
        };
        Ok(n == 1)
    }
}
