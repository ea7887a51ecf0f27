//! Published scorecard versions, parsed once and kept in memory.
//!
//! A published version never changes, so a parsed copy can be kept without
//! any invalidation, and every replica may keep its own: there is no state
//! here that another replica needs. Calibration scores answers against the
//! same few versions over and over; the cache saves a read, a decode and a
//! validation per call. It is bounded: when full it starts again empty
//! (simple, and a refill costs one read per version in use).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use earshot_kit::{Error, Result, auth::Tenant};
use earshot_proto::scoring::v1 as pb;

use super::common::{decode, small};
use super::convert;
use crate::scorecard::ValidScorecard;
use crate::store::Store;
use crate::store::scorecards::VersionRow;

/// How many versions to keep.
const CAPACITY: usize = 1_024;

/// One published version, parsed.
#[derive(Debug)]
pub struct Version {
    /// The version number.
    pub number: i64,
    /// The valid, compiled scorecard.
    pub scorecard: ValidScorecard,
    /// The version as the API returns it.
    pub proto: pb::ScorecardVersion,
}

type Key = (String, String, i64);

/// The cache (cheap to clone).
#[derive(Debug, Clone, Default)]
pub struct Versions {
    inner: Arc<Mutex<HashMap<Key, Arc<Version>>>>,
}

impl Versions {
    /// Version `number` (0: the latest) of a scorecard, or `None`.
    pub async fn get(
        &self,
        store: &Store,
        t: &Tenant,
        scorecard_id: &str,
        number: i64,
    ) -> Result<Option<Arc<Version>>> {
        if number > 0
            && let Some(v) = self.lookup(t, scorecard_id, number)
        {
            return Ok(Some(v));
        }
        let Some(row) = store.scorecard_version(t, scorecard_id, number).await? else {
            return Ok(None);
        };
        if let Some(v) = self.lookup(t, scorecard_id, row.version) {
            return Ok(Some(v));
        }
        let v = Arc::new(parse(row)?);
        self.insert(t, scorecard_id, v.clone());
        Ok(Some(v))
    }

    /// Remembers a version just published.
    pub fn insert(&self, t: &Tenant, scorecard_id: &str, v: Arc<Version>) {
        if let Ok(mut map) = self.inner.lock() {
            if map.len() >= CAPACITY {
                map.clear();
            }
            map.insert((t.id().to_owned(), scorecard_id.to_owned(), v.number), v);
        }
    }

    fn lookup(&self, t: &Tenant, scorecard_id: &str, number: i64) -> Option<Arc<Version>> {
        let map = self.inner.lock().ok()?;
        map.get(&(t.id().to_owned(), scorecard_id.to_owned(), number))
            .cloned()
    }
}

/// Parses a stored version. A stored version was valid when published; if
/// it no longer parses, that is a bug (`INTERNAL`), never the caller's.
pub fn parse(row: VersionRow) -> Result<Version> {
    let definition: pb::ScorecardDefinition = decode(&row.definition, "scorecard version")?;
    let domain = convert::definition_in(&definition).map_err(|v| {
        Error::internal(format!(
            "stored version {} of {} does not map: {v:?}",
            row.version, row.scorecard_id
        ))
    })?;
    let scorecard = ValidScorecard::parse(domain).map_err(|v| {
        Error::internal(format!(
            "stored version {} of {} is not valid: {v}",
            row.version, row.scorecard_id
        ))
    })?;
    Ok(Version {
        number: row.version,
        scorecard,
        proto: pb::ScorecardVersion {
            scorecard_id: row.scorecard_id,
            version: small(row.version),
            definition: Some(definition),
            publish_time: Some(earshot_kit::time::from_millis(row.published_at)),
            published_by: Some(earshot_proto::common::v1::Actor {
                subject: row.published_by,
                role: row.published_by_role,
            }),
            change_note: row.change_note,
        },
    })
}
