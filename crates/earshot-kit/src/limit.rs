//! Request limits applied in front of every service: the per-tenant
//! request rate ([`TenantRateLimitLayer`]) and the message size
//! ([`MessageSizeLayer`]).
//!
//! # Rate
//!
//! A token bucket per tenant, keyed by the tenant of the verified token (so
//! it runs after [`crate::auth::AuthLayer`]): `server.tenant_rate_per_second`
//! tokens flow in per second up to `server.tenant_burst`; each call takes
//! one. A call that finds the bucket empty is answered `RESOURCE_EXHAUSTED`
//! with a `google.rpc.RetryInfo` saying when a token will be there, and never
//! reaches the service. The `service` role (Earshot's own services reading
//! each other's feeds) and the open paths (health, reflection: they carry no
//! caller) are exempt, so one busy tenant can neither starve the others nor
//! stall reporting.
//!
//! The buckets live in the replica's memory: with N replicas behind a load
//! balancer a tenant gets up to N times the rate. That is deliberate — the
//! limit protects a replica from one tenant's burst, it is not a billing
//! quota — and keeps the hot path free of a database round trip.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
    task::{Context, Poll},
    time::{Duration, Instant},
};

use tonic::{Code, Status, body::Body};
use tonic_types::{ErrorDetails, StatusExt as _};
use tower::{Layer, Service};

use crate::auth::{Caller, Role};

/// How many tenants' buckets are kept before idle full ones are dropped.
const PRUNE_ABOVE: usize = 10_000;

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Token buckets per tenant. Cheap to clone (shared state).
#[derive(Debug, Clone)]
pub struct TenantRateLimiter {
    rate: f64,
    burst: f64,
    buckets: Arc<Mutex<HashMap<String, Bucket>>>,
}

impl TenantRateLimiter {
    /// A limiter refilling `rate` tokens a second up to `burst`.
    pub fn new(rate: f64, burst: u32) -> Self {
        TenantRateLimiter {
            rate,
            burst: f64::from(burst.max(1)),
            buckets: Arc::new(Mutex::new(HashMap::new())),
        }
    }

    /// Takes a token for `tenant` at `now`: `Ok` when there was one,
    /// otherwise how long until there will be.
    pub fn acquire(&self, tenant: &str, now: Instant) -> Result<(), Duration> {
        // A poisoned lock only means another call panicked mid-update; the
        // map is still a valid map of buckets.
        let mut buckets = self
            .buckets
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if buckets.len() > PRUNE_ABOVE {
            let (rate, burst) = (self.rate, self.burst);
            buckets.retain(|_, b| {
                b.tokens + now.saturating_duration_since(b.at).as_secs_f64() * rate < burst
            });
        }
        let b = buckets.entry(tenant.to_owned()).or_insert(Bucket {
            tokens: self.burst,
            at: now,
        });
        let elapsed = now.saturating_duration_since(b.at).as_secs_f64();
        b.tokens = (b.tokens + elapsed * self.rate).min(self.burst);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            Ok(())
        } else {
            let wait = (1.0 - b.tokens) / self.rate;
            Err(Duration::from_secs_f64(wait.clamp(0.001, 3600.0)))
        }
    }

    fn refusal(&self, retry: Duration) -> Status {
        let ms = retry.as_millis().max(1);
        let message = format!(
            "tenant request rate limit exceeded (server.tenant_rate_per_second = {}, \
             server.tenant_burst = {}); retry in {ms} ms",
            self.rate, self.burst
        );
        let details = ErrorDetails::with_retry_info(Some(retry));
        Status::with_error_details(Code::ResourceExhausted, message, details)
    }
}

/// A tower layer applying a [`TenantRateLimiter`]; `None` turns it off.
#[derive(Debug, Clone)]
pub struct TenantRateLimitLayer {
    limiter: Option<TenantRateLimiter>,
}

impl TenantRateLimitLayer {
    /// From `server.tenant_rate_per_second` (0 = off) and `server.tenant_burst`.
    pub fn new(rate_per_second: f64, burst: u32) -> Self {
        TenantRateLimitLayer {
            limiter: (rate_per_second > 0.0)
                .then(|| TenantRateLimiter::new(rate_per_second, burst)),
        }
    }
}

impl<S> Layer<S> for TenantRateLimitLayer {
    type Service = TenantRateLimit<S>;

    fn layer(&self, inner: S) -> Self::Service {
        TenantRateLimit {
            inner,
            limiter: self.limiter.clone(),
        }
    }
}

/// The service [`TenantRateLimitLayer`] produces.
#[derive(Debug, Clone)]
pub struct TenantRateLimit<S> {
    inner: S,
    limiter: Option<TenantRateLimiter>,
}

impl<S> Service<http::Request<Body>> for TenantRateLimit<S>
where
    S: Service<http::Request<Body>, Response = http::Response<Body>> + Send,
    S::Future: Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = S::Error;
    type Future = futures::future::Either<
        S::Future,
        futures::future::Ready<std::result::Result<http::Response<Body>, S::Error>>,
    >;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<std::result::Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<Body>) -> Self::Future {
        if let Some(limiter) = &self.limiter
            // No caller: an open path (health, reflection).
            && let Some(caller) = req.extensions().get::<Caller>()
            && !caller.has(Role::Service)
            && let Err(retry) = limiter.acquire(caller.tenant().id(), Instant::now())
        {
            tracing::debug!(tenant = caller.tenant().id(), "tenant rate limit");
            return futures::future::Either::Right(futures::future::ready(Ok(limiter
                .refusal(retry)
                .into_http())));
        }
        futures::future::Either::Left(self.inner.call(req))
    }
}

/// Names `server.max_message_bytes` when a request message is too large.
///
/// The generated servers enforce the limit
/// ([`crate::server::ServiceContext::max_message_bytes`]), but tonic answers
/// `OUT_OF_RANGE` with a message about "decoded message length". gRPC's
/// own convention for a message over the receiver's limit is
/// `RESOURCE_EXHAUSTED`, and a caller needs to know which setting to
/// raise, so this layer rewrites that one answer.
#[derive(Debug, Clone, Copy)]
pub struct MessageSizeLayer {
    max: usize,
}

impl MessageSizeLayer {
    /// For `server.max_message_bytes` = `max`.
    pub fn new(max: usize) -> Self {
        MessageSizeLayer { max }
    }
}

impl<S> Layer<S> for MessageSizeLayer {
    type Service = MessageSize<S>;

    fn layer(&self, inner: S) -> Self::Service {
        MessageSize {
            inner,
            max: self.max,
        }
    }
}

/// The service [`MessageSizeLayer`] produces.
#[derive(Debug, Clone)]
pub struct MessageSize<S> {
    inner: S,
    max: usize,
}

/// The refusal for a request message of more than `max` bytes; `found` is
/// tonic's own description of the size.
fn too_large(max: usize, found: &str) -> Status {
    let size = found
        .split("found ")
        .nth(1)
        .and_then(|r| r.split(' ').next())
        .map(|n| format!(" ({n} bytes)"))
        .unwrap_or_default();
    Status::resource_exhausted(format!(
        "request message is too large{size}: server.max_message_bytes is {max}"
    ))
}

impl<S> Service<http::Request<Body>> for MessageSize<S>
where
    S: Service<http::Request<Body>, Response = http::Response<Body>> + Send,
    S::Future: Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = S::Error;
    type Future = std::pin::Pin<
        Box<dyn Future<Output = std::result::Result<http::Response<Body>, S::Error>> + Send>,
    >;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<std::result::Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<Body>) -> Self::Future {
        let max = self.max;
        let fut = self.inner.call(req);
        Box::pin(async move {
            let resp = fut.await?;
            // A unary call refused while decoding its request answers
            // trailers-only: the status is in the headers.
            if resp.headers().contains_key("grpc-status") {
                return Ok(match too_large_in(resp.headers(), max) {
                    Some(status) => status.into_http(),
                    None => resp,
                });
            }
            // A stream sends its headers first; a refused message ends it
            // with the status in the trailers.
            let (parts, body) = resp.into_parts();
            let body = Body::new(SizeCheckedBody { inner: body, max });
            Ok(http::Response::from_parts(parts, body))
        })
    }
}

/// The refusal to send instead of `headers` (a status, in headers or
/// trailers) when they carry tonic's "message too large".
fn too_large_in(headers: &http::HeaderMap, max: usize) -> Option<Status> {
    // OUT_OF_RANGE as tonic answers; RESOURCE_EXHAUSTED when a streaming
    // handler passed the refusal on.
    let refused = headers
        .get("grpc-status")
        .is_some_and(|v| v.as_bytes() == b"11" || v.as_bytes() == b"8");
    if !refused {
        return None;
    }
    let message = headers
        .get("grpc-message")
        .and_then(|v| v.to_str().ok())
        .map(percent_decode)
        .unwrap_or_default();
    message
        .contains("message length too large")
        .then(|| too_large(max, &message))
}

pin_project_lite::pin_project! {
    /// A streaming response body whose trailers get [`too_large_in`].
    struct SizeCheckedBody {
        #[pin]
        inner: Body,
        max: usize,
    }
}

impl http_body::Body for SizeCheckedBody {
    type Data = <Body as http_body::Body>::Data;
    type Error = Status;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<std::result::Result<http_body::Frame<Self::Data>, Self::Error>>> {
        let this = self.project();
        match this.inner.poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                let replaced = frame
                    .trailers_ref()
                    .and_then(|t| too_large_in(t, *this.max))
                    .and_then(|status| {
                        let mut trailers = http::HeaderMap::new();
                        status.add_header(&mut trailers).ok()?;
                        Some(http_body::Frame::trailers(trailers))
                    });
                Poll::Ready(Some(Ok(replaced.unwrap_or(frame))))
            }
            other => other,
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

/// Decodes the percent-encoding of a `grpc-message` header.
fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && let Some(hex) = s.get(i + 1..i + 3)
            && let Ok(v) = u8::from_str_radix(hex, 16)
        {
            out.push(v);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn bucket_allows_a_burst_then_the_rate() {
        let l = TenantRateLimiter::new(2.0, 3);
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(l.acquire("acme", t0).is_ok());
        }
        let wait = l.acquire("acme", t0).unwrap_err();
        assert!(
            (wait.as_secs_f64() - 0.5).abs() < 1e-6,
            "one token at 2/s is 0.5s away, got {wait:?}"
        );
        // Another tenant has its own bucket.
        assert!(l.acquire("globex", t0).is_ok());
        // Half a second later one token has flowed in, and only one.
        let t1 = t0 + Duration::from_millis(500);
        assert!(l.acquire("acme", t1).is_ok());
        assert!(l.acquire("acme", t1).is_err());
        // A long pause refills to the burst, never beyond.
        let t2 = t1 + Duration::from_secs(60);
        for _ in 0..3 {
            assert!(l.acquire("acme", t2).is_ok());
        }
        assert!(l.acquire("acme", t2).is_err());
    }

    #[test]
    fn refusal_names_the_limit_and_carries_retry_info() {
        let l = TenantRateLimiter::new(1.0, 1);
        let s = l.refusal(Duration::from_millis(250));
        assert_eq!(s.code(), Code::ResourceExhausted);
        assert!(s.message().contains("server.tenant_rate_per_second"));
        assert!(s.message().contains("250 ms"));
        let retry = s.get_error_details().retry_info().cloned().unwrap();
        assert_eq!(retry.retry_delay, Some(Duration::from_millis(250)));
    }

    #[test]
    fn too_large_names_the_setting_and_the_size() {
        let tonic_message = percent_decode(
            "Error, decoded message length too large: found 70000 bytes, the limit is: 65536 bytes",
        );
        let s = too_large(65_536, &tonic_message);
        assert_eq!(s.code(), Code::ResourceExhausted);
        assert_eq!(
            s.message(),
            "request message is too large (70000 bytes): server.max_message_bytes is 65536"
        );
        assert_eq!(percent_decode("a%20b%3Ac"), "a b:c");
        assert_eq!(percent_decode("100%"), "100%");
    }
}
