//! Followers: one task per source reads `StreamEvents{follow: true}` from the
//! durable cursor, decodes each batch ([`crate::feeds`]) and applies it with
//! the cursor in one transaction ([`store::apply`]).
//!
//! - A cursor conflict (another replica applied the batch) re-reads the
//!   cursor and re-opens the stream from there; nothing is applied twice.
//! - Errors (source down, stream cut, database busy) set the feed
//!   DISCONNECTED with the error, then retry with capped exponential backoff
//!   (0.2 s doubling to 10 s); a delivered batch resets the backoff.
//! - Shutdown stops every follower between batches.
//!
//! Lag per source (head − cursor, and the age of the last applied event
//! while behind) is kept in [`Feeds`] for GetFeedStatus, exported as the
//! Prometheus gauges `earshot_reporting_feed_lag_events`,
//! `earshot_reporting_feed_lag_seconds` and
//! `earshot_reporting_feed_applied_sequence`, and logged when the state
//! changes.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use earshot_kit::{Result, db::Db, server::with_bearer, time::now_millis};
use futures::{Stream, StreamExt as _};
use tokio_util::sync::CancellationToken;
use tonic::transport::Channel;

use crate::feeds::{self, Decoded};
use crate::store::{self, Applied, Batch, Source};

/// Events asked for per response.
const BATCH_SIZE: i32 = 500;
const BACKOFF_MIN: Duration = Duration::from_millis(200);
const BACKOFF_MAX: Duration = Duration::from_secs(10);

/// A follower's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum FeedState {
    /// Not started.
    #[default]
    Unknown,
    /// Applying a backlog.
    CatchingUp,
    /// Caught up, following live.
    Following,
    /// The source cannot be reached; retrying.
    Disconnected,
    /// Not followed in this deployment.
    Disabled,
}

/// What the process knows about one feed beyond its stored cursor.
#[derive(Debug, Clone, Default)]
pub struct Live {
    /// The follower's state.
    pub state: FeedState,
    /// The last head the source reported.
    pub head: i64,
    /// The last error; empty when following normally.
    pub last_error: String,
}

/// The live state of every feed, shared by the followers and the service.
#[derive(Debug, Clone, Default)]
pub struct Feeds(Arc<Mutex<BTreeMap<Source, Live>>>);

impl Feeds {
    /// The live state of a source.
    pub fn live(&self, source: Source) -> Live {
        self.0
            .lock()
            .map(|m| m.get(&source).cloned().unwrap_or_default())
            .unwrap_or_default()
    }

    fn update(&self, source: Source, f: impl FnOnce(&mut Live)) {
        if let Ok(mut m) = self.0.lock() {
            let live = m.entry(source).or_default();
            let before = live.state;
            f(live);
            if live.state != before {
                tracing::info!(
                    feed = source.name(),
                    state = ?live.state,
                    head = live.head,
                    error = %live.last_error,
                    "reporting feed state changed"
                );
            }
        }
    }

    /// Marks a source as not followed.
    pub fn disable(&self, source: Source) {
        self.update(source, |l| l.state = FeedState::Disabled);
    }
}

/// Lag figures of one feed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lag {
    /// head − applied, never negative.
    pub events: i64,
    /// Age of the last applied event while behind; 0 when caught up (ms).
    pub age_ms: i64,
}

/// The lag of a cursor against a head.
pub fn lag(cursor: &store::CursorRow, head: i64, now_ms: i64) -> Lag {
    let head = head.max(cursor.head);
    let events = (head - cursor.seq).max(0);
    let age_ms = if events == 0 || cursor.last_occurred_at == 0 {
        0
    } else {
        (now_ms - cursor.last_occurred_at).max(0)
    };
    Lag { events, age_ms }
}

fn export(source: Source, cursor: &store::CursorRow, head: i64) {
    let l = lag(cursor, head, now_millis());
    let labels = [("feed", source.name())];
    earshot_kit::metrics::set_gauge(
        "earshot_reporting_feed_lag_events",
        "Events a reporting feed is behind its source's head.",
        &labels,
        l.events as f64,
    );
    earshot_kit::metrics::set_gauge(
        "earshot_reporting_feed_lag_seconds",
        "Age of the last applied event while a reporting feed is behind; 0 when caught up.",
        &labels,
        l.age_ms as f64 / 1000.0,
    );
    earshot_kit::metrics::set_gauge(
        "earshot_reporting_feed_applied_sequence",
        "Last sequence reporting applied from a feed.",
        &labels,
        cursor.seq as f64,
    );
}

/// One response of a feed, decoded.
struct Response {
    events: Vec<Decoded>,
    head: i64,
}

type ResponseStream = std::pin::Pin<Box<dyn Stream<Item = Result<Response, tonic::Status>> + Send>>;

async fn open(
    source: Source,
    channel: Channel,
    token: &str,
    after: i64,
    max_message_bytes: usize,
) -> Result<ResponseStream, tonic::Status> {
    // The three feeds have the same shape in different packages.
    macro_rules! open_feed {
        ($package:ident, $module:ident, $client:ident, $decode:path) => {{
            use earshot_proto::$package::v1::{StreamEventsRequest, $module::$client};
            let req = with_bearer(
                token,
                StreamEventsRequest {
                    after_sequence: after,
                    follow: true,
                    max_batch_size: BATCH_SIZE,
                },
            )
            .map_err(|e: earshot_kit::Error| e.into_status())?;
            let s = $client::new(channel)
                .max_decoding_message_size(max_message_bytes.max(16 << 20))
                .stream_events(req)
                .await?
                .into_inner();
            let s: ResponseStream = Box::pin(s.map(|r| {
                r.map(|r| Response {
                    events: r.events.iter().map($decode).collect(),
                    head: r.head_sequence,
                })
            }));
            s
        }};
    }
    Ok(match source {
        Source::Sampling => open_feed!(
            sampling,
            sampling_service_client,
            SamplingServiceClient,
            feeds::sampling_event
        ),
        Source::Scoring => open_feed!(
            scoring,
            scoring_service_client,
            ScoringServiceClient,
            feeds::scoring_event
        ),
        Source::Calibration => open_feed!(
            calibration,
            calibration_service_client,
            CalibrationServiceClient,
            feeds::calibration_event
        ),
    })
}

/// A follower of one source.
#[derive(Debug, Clone)]
pub struct Follower {
    /// The source.
    pub source: Source,
    /// Reporting's database.
    pub db: Db,
    /// The source's channel.
    pub channel: Channel,
    /// The system token.
    pub token: Arc<str>,
    /// Shared live state.
    pub feeds: Feeds,
    /// Largest message to accept.
    pub max_message_bytes: usize,
}

impl Follower {
    /// Follows until `shutdown`.
    pub async fn run(self, shutdown: CancellationToken) {
        let mut backoff = BACKOFF_MIN;
        loop {
            let outcome = tokio::select! {
                () = shutdown.cancelled() => return,
                r = self.session(&shutdown) => r,
            };
            match outcome {
                Ok(progressed) => {
                    if progressed {
                        backoff = BACKOFF_MIN;
                    } else {
                        // The stream ended with nothing applied: do not spin.
                        tokio::select! {
                            () = shutdown.cancelled() => return,
                            () = tokio::time::sleep(BACKOFF_MIN) => {}
                        }
                    }
                }
                Err(e) => {
                    tracing::warn!(feed = self.source.name(), error = %e, "reporting feed error; retrying");
                    self.feeds.update(self.source, |l| {
                        l.state = FeedState::Disconnected;
                        l.last_error = e;
                    });
                    tokio::select! {
                        () = shutdown.cancelled() => return,
                        () = tokio::time::sleep(backoff) => {}
                    }
                    backoff = (backoff * 2).min(BACKOFF_MAX);
                }
            }
        }
    }

    /// One stream from the stored cursor until it ends, conflicts or fails.
    /// Ok(true) when something was applied.
    async fn session(&self, shutdown: &CancellationToken) -> Result<bool, String> {
        let cursor = store::cursor(&self.db, self.source)
            .await
            .map_err(|e| e.to_string())?;
        let mut after = cursor.seq;
        let mut stream = open(
            self.source,
            self.channel.clone(),
            &self.token,
            after,
            self.max_message_bytes,
        )
        .await
        .map_err(|s| format!("{:?}: {}", s.code(), s.message()))?;
        // Sources send nothing while there is nothing to send: connected
        // with the cursor at the last head seen means caught up until a
        // batch says otherwise (any backlog arrives at once).
        export(self.source, &cursor, cursor.head);
        self.feeds.update(self.source, |l| {
            l.head = l.head.max(cursor.head);
            l.last_error.clear();
            l.state = if cursor.seq >= l.head {
                FeedState::Following
            } else {
                FeedState::CatchingUp
            };
        });
        let mut progressed = false;
        loop {
            let next = tokio::select! {
                () = shutdown.cancelled() => return Ok(progressed),
                n = stream.next() => n,
            };
            let resp = match next {
                None => return Ok(progressed),
                Some(Err(s)) => return Err(format!("{:?}: {}", s.code(), s.message())),
                Some(Ok(r)) => r,
            };
            let head = resp.head;
            let Some(last) = resp.events.last() else {
                store::note_head(&self.db, self.source, head)
                    .await
                    .map_err(|e| e.to_string())?;
                let c = store::cursor(&self.db, self.source)
                    .await
                    .map_err(|e| e.to_string())?;
                export(self.source, &c, head);
                self.feeds.update(self.source, |l| {
                    l.head = head;
                    l.last_error.clear();
                    l.state = if c.seq >= head {
                        FeedState::Following
                    } else {
                        FeedState::CatchingUp
                    };
                });
                continue;
            };
            let mut batch = Batch {
                source: self.source,
                after,
                last: last.sequence,
                head,
                last_occurred_at: last.occurred_ms,
                time_zones: Vec::new(),
                changes: Vec::new(),
            };
            for d in resp.events {
                if let Some(tz) = d.time_zone {
                    batch.time_zones.push(tz);
                }
                batch.changes.extend(d.changes);
            }
            match store::apply(&self.db, &batch, now_millis())
                .await
                .map_err(|e| e.to_string())?
            {
                Applied::Applied => {
                    after = batch.last;
                    progressed = true;
                    let c = store::CursorRow {
                        source: self.source.name().to_owned(),
                        seq: batch.last,
                        head,
                        last_occurred_at: batch.last_occurred_at,
                        last_applied_at: now_millis(),
                    };
                    export(self.source, &c, head);
                    self.feeds.update(self.source, |l| {
                        l.head = head;
                        l.last_error.clear();
                        l.state = if after >= head {
                            FeedState::Following
                        } else {
                            FeedState::CatchingUp
                        };
                    });
                }
                // Another replica moved the cursor: start again from it.
                Applied::Conflict => return Ok(progressed),
            }
        }
    }
}

/// Starts one follower per source whose channel is given; the others are
/// marked disabled.
pub fn spawn(
    db: &Db,
    channels: Vec<(Source, Option<Channel>)>,
    token: Arc<str>,
    feeds: &Feeds,
    max_message_bytes: usize,
    tasks: &tokio_util::task::TaskTracker,
    shutdown: &CancellationToken,
) {
    for (source, channel) in channels {
        let Some(channel) = channel else {
            feeds.disable(source);
            continue;
        };
        let f = Follower {
            source,
            db: db.clone(),
            channel,
            token: token.clone(),
            feeds: feeds.clone(),
            max_message_bytes,
        };
        tasks.spawn(f.run(shutdown.clone()));
    }
}
