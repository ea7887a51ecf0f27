//! The tenant's settings: stored as the encoded `Settings` definition.

use earshot_kit::{
    auth::Tenant,
    error::{Error, Result},
    time::from_millis,
    with_pool, with_tx,
};
use earshot_proto::sampling::v1 as pb;
use prost::Message as _;

use super::{Store, append, event};
use crate::convert;
use crate::settings::Settings;

/// The tenant's settings: valid, the stored message, and its revision (0
/// while defaults).
#[derive(Debug, Clone)]
pub struct Loaded {
    /// Valid settings.
    pub settings: Settings,
    /// The contract's message, with etag and output fields.
    pub message: pb::Settings,
    /// The revision (0 for defaults).
    pub revision: i64,
}

#[derive(sqlx::FromRow)]
struct Row {
    body: Vec<u8>,
    revision: i64,
    updated_at: i64,
    updated_by: String,
    updated_role: String,
}

fn loaded(row: Option<Row>) -> Result<Loaded> {
    let Some(row) = row else {
        let settings = Settings::default();
        let mut message = convert::settings_message(&settings, &pb::Settings::default());
        message.etag = convert::etag(0);
        return Ok(Loaded {
            settings,
            message,
            revision: 0,
        });
    };
    let stored = pb::Settings::decode(row.body.as_slice())
        .map_err(|e| Error::internal(format!("stored settings do not decode: {e}")))?;
    let settings = Settings::parse(convert::settings_input(&stored))
        .map_err(|v| Error::internal(format!("stored settings are invalid: {v}")))?;
    let mut message = convert::settings_message(&settings, &stored);
    message.etag = convert::etag(row.revision);
    message.update_time = Some(from_millis(row.updated_at));
    message.updated_by = convert::actor(&row.updated_by, &row.updated_role);
    Ok(Loaded {
        settings,
        message,
        revision: row.revision,
    })
}

impl Store {
    /// The tenant's settings (defaults until first updated).
    pub async fn settings(&self, tenant: &Tenant) -> Result<Loaded> {
        let row: Option<Row> = with_pool!(self.db.read(), |p| sqlx::query_as::<_, Row>(
            "SELECT body, revision, updated_at, updated_by, updated_role FROM settings \
             WHERE tenant_id = $1"
        )
        .bind(tenant.id())
        .fetch_optional(p)
        .await)?;
        loaded(row)
    }

    /// Replaces the settings (optimistic concurrency on `etag`) and
    /// publishes `SettingsChanged`.
    pub async fn update_settings(
        &self,
        tenant: &Tenant,
        message: &pb::Settings,
        by: (&str, &str),
        now: i64,
    ) -> Result<Loaded> {
        let settings = Settings::parse(convert::settings_input(message))
            .map_err(|v| convert::invalid_under("settings", v))?;
        let mut definition = convert::settings_message(&settings, message);
        definition.etag.clear();
        let body = definition.encode_to_vec();
        let mut tx = self.db.begin().await?;
        let current: Option<i64> = with_tx!(tx, |c| sqlx::query_scalar(
            "SELECT revision FROM settings WHERE tenant_id = $1"
        )
        .bind(tenant.id())
        .fetch_optional(&mut *c)
        .await)?;
        let revision = current.unwrap_or(0);
        convert::check_etag(&message.etag, revision, "the settings")?;
        with_tx!(tx, |c| {
            sqlx::query(
            "INSERT INTO settings (tenant_id, body, revision, updated_at, updated_by, updated_role) \
             VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (tenant_id) DO UPDATE SET body = excluded.body, \
             revision = excluded.revision, updated_at = excluded.updated_at, \
             updated_by = excluded.updated_by, updated_role = excluded.updated_role"
        )
        .bind(tenant.id())
        .bind(body.as_slice())
        .bind(revision + 1)
        .bind(now)
        .bind(by.0)
        .bind(by.1)
        .execute(&mut *c)
        .await
        .map(|r| r.rows_affected())
        })?;
        let out = loaded(Some(Row {
            body,
            revision: revision + 1,
            updated_at: now,
            updated_by: by.0.to_owned(),
            updated_role: by.1.to_owned(),
        }))?;
        append(
            &mut tx,
            tenant,
            &[event(
                "settings.changed",
                pb::event::Payload::SettingsChanged(pb::SettingsChanged {
                    settings: Some(out.message.clone()),
                }),
                now,
            )],
        )
        .await?;
        tx.commit().await?;
        Ok(out)
    }
}
