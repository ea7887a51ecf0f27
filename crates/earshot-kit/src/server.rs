//! Server bootstrap shared by every service.
//!
//! [`serve`] takes a service's routes and adds what every Earshot server
//! has: `grpc.health.v1.Health`, server reflection (v1 and v1alpha, so every
//! grpcurl works), authentication ([`crate::auth::AuthLayer`]), a tracing
//! span per call with its latency and status code ([`RpcTraceLayer`]), a
//! per-tenant request rate limit ([`crate::limit`]), a per-service
//! concurrency limit that sheds excess load with
//! `RESOURCE_EXHAUSTED`, a per-connection limit, a request timeout, and a
//! request size limit (set by the service on its generated server with
//! [`ServiceContext::max_message_bytes`]; [`crate::limit::MessageSizeLayer`]
//! makes its refusal `RESOURCE_EXHAUSTED` naming the setting).
//!
//! Health follows the service's database ([`watch_database`]): NOT_SERVING
//! while it does not answer, SERVING again once it does.
//!
//! Shutdown (SIGINT/SIGTERM, or the token in tests): health turns
//! NOT_SERVING first so load balancers stop routing here, the listener
//! closes, in-flight calls get `server.shutdown_grace` to finish, and
//! long-lived streams see the cancelled token and end cleanly.

use std::{
    pin::Pin,
    sync::Arc,
    task::{Context, Poll},
    time::{Duration, Instant},
};

use http_body::{Body as HttpBody, Frame};
use pin_project_lite::pin_project;
use tokio::net::TcpListener;
use tokio_util::{sync::CancellationToken, task::TaskTracker};
use tonic::{
    body::Body,
    server::NamedService,
    service::Routes,
    transport::{
        Certificate, Channel, ClientTlsConfig, Endpoint, Identity, Server, ServerTlsConfig,
        server::TcpIncoming,
    },
};
use tonic_health::{
    ServingStatus,
    pb::health_server::HealthServer,
    server::{HealthReporter, HealthService},
};
use tower::{Layer, Service, ServiceBuilder};
use tracing::{Instrument as _, field::Empty};

use crate::{
    auth::{AuthLayer, Caller, TokenIssuer, TokenVerifier},
    config::{Config, ServiceKind, TlsConfig},
    db::{Db, Migrations},
    error::{Error, Result},
    limit::{MessageSizeLayer, TenantRateLimitLayer},
};

/// What the binary needs to know to run a service: its gRPC names, its
/// migrations and how to build its routes. Each service crate exports one.
#[derive(Clone, Copy)]
pub struct ServiceSpec {
    /// Which service.
    pub kind: ServiceKind,
    /// Fully-qualified gRPC service names it serves (health and reflection
    /// list them).
    pub service_names: &'static [&'static str],
    /// Its embedded migrations.
    pub migrations: Migrations,
    /// Builds its routes (and starts its background tasks on `ctx.tasks`).
    pub build: fn(ServiceContext) -> BuildFuture,
}

impl std::fmt::Debug for ServiceSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceSpec")
            .field("kind", &self.kind)
            .field("service_names", &self.service_names)
            .finish_non_exhaustive()
    }
}

/// What [`ServiceSpec::build`] returns.
pub type BuildFuture = Pin<Box<dyn Future<Output = Result<Routes>> + Send>>;

/// Everything a service needs from the process that runs it.
#[derive(Clone)]
pub struct ServiceContext {
    /// Which service this is.
    pub kind: ServiceKind,
    /// The whole configuration.
    pub config: Arc<Config>,
    /// The service's own database, migrated.
    pub db: Db,
    /// The service's health statuses (flip to NOT_SERVING when a dependency
    /// it cannot work without is down).
    pub health: HealthReporter,
    /// Cancelled when the process shuts down.
    pub shutdown: CancellationToken,
    /// Background tasks the service starts; awaited on shutdown.
    pub tasks: TaskTracker,
    /// The system identity's bearer token, for reading other services'
    /// change feeds.
    pub system_token: Arc<str>,
    /// TLS for calls to other services (`https://` endpoints).
    pub client_tls: Option<ClientTlsConfig>,
}

impl std::fmt::Debug for ServiceContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceContext")
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

impl ServiceContext {
    /// The largest request message a service accepts; pass it to the
    /// generated server's `max_decoding_message_size`.
    pub fn max_message_bytes(&self) -> usize {
        self.config.server.max_message_bytes
    }

    /// A lazily connected channel to another service, from its configured
    /// endpoint. Calls fail with `UNAVAILABLE` while it is down.
    pub fn channel(&self, to: ServiceKind) -> Result<Channel> {
        connect_lazy(
            &self.config.endpoint(to),
            self.config.server.request_timeout,
            self.client_tls.clone(),
        )
    }
}

/// A lazily connected channel to `url`: connect timeout 5s, TCP_NODELAY (a
/// small RPC otherwise waits ~40 ms for a delayed ACK), keep-alive, a
/// per-call timeout, and `tls` for `https://` URLs.
pub fn connect_lazy(url: &str, timeout: Duration, tls: Option<ClientTlsConfig>) -> Result<Channel> {
    let mut endpoint = Endpoint::from_shared(url.to_owned())
        .map_err(|e| Error::Unavailable(format!("bad endpoint {url}: {e}")))?
        .connect_timeout(Duration::from_secs(5))
        .timeout(timeout)
        .tcp_nodelay(true)
        .http2_keep_alive_interval(Duration::from_secs(30))
        .keep_alive_while_idle(true);
    if url.starts_with("https://") {
        let tls = tls.ok_or_else(|| {
            Error::Unavailable(format!("{url} is https but tls.ca_file is not set"))
        })?;
        endpoint = endpoint
            .tls_config(tls)
            .map_err(|e| Error::Unavailable(format!("TLS for {url}: {e}")))?;
    }
    Ok(endpoint.connect_lazy())
}

fn read_pem(path: &std::path::Path, key: &str) -> Result<Vec<u8>> {
    std::fs::read(path)
        .map_err(|e| Error::Unavailable(format!("{key}: cannot read {}: {e}", path.display())))
}

/// The server side of `tls`: `None` when the services serve plaintext.
pub fn server_tls(tls: &TlsConfig) -> Result<Option<ServerTlsConfig>> {
    let (Some(cert), Some(key)) = (&tls.cert_file, &tls.key_file) else {
        return Ok(None);
    };
    let identity = Identity::from_pem(
        read_pem(cert, "tls.cert_file")?,
        read_pem(key, "tls.key_file")?,
    );
    let mut config = ServerTlsConfig::new().identity(identity);
    if let Some(ca) = &tls.client_ca_file {
        config = config
            .client_ca_root(Certificate::from_pem(read_pem(ca, "tls.client_ca_file")?))
            .client_auth_optional(false);
    }
    Ok(Some(config))
}

/// The client side of `tls`, for calls to `https://` endpoints: `None`
/// when no CA is configured.
pub fn client_tls(tls: &TlsConfig) -> Result<Option<ClientTlsConfig>> {
    let Some(ca) = &tls.ca_file else {
        return Ok(None);
    };
    let mut config =
        ClientTlsConfig::new().ca_certificate(Certificate::from_pem(read_pem(ca, "tls.ca_file")?));
    if let (Some(cert), Some(key)) = (&tls.client_cert_file, &tls.client_key_file) {
        config = config.identity(Identity::from_pem(
            read_pem(cert, "tls.client_cert_file")?,
            read_pem(key, "tls.client_key_file")?,
        ));
    }
    Ok(Some(config))
}

/// A request to another service made on behalf of `caller` (their token is
/// forwarded, so the callee applies the same tenant and roles).
pub fn on_behalf_of<T>(caller: &Caller, message: T) -> Result<tonic::Request<T>> {
    with_bearer(caller.token(), message)
}

/// A request carrying `token` as its bearer credentials.
pub fn with_bearer<T>(token: &str, message: T) -> Result<tonic::Request<T>> {
    let mut req = tonic::Request::new(message);
    let value = format!("Bearer {token}")
        .parse()
        .map_err(|_| Error::internal("token is not a valid header value"))?;
    req.metadata_mut().insert("authorization", value);
    Ok(req)
}

/// The system identity's token: minted from the HS256 secret, or
/// `auth.service_token` for RS256 deployments.
pub fn system_token(config: &Config, issuer: Option<&TokenIssuer>) -> Result<String> {
    if let Some(t) = &config.auth.service_token {
        return Ok(t.clone());
    }
    match issuer {
        // Long-lived within this process; a restart mints a new one.
        Some(i) => i.system_token(Duration::from_secs(10 * 365 * 24 * 3600)),
        None => Err(Error::invalid(
            "auth.service_token",
            "is required when tokens are verified with RS256",
        )),
    }
}

/// How often [`watch_database`] asks the database whether it answers.
pub const DB_PROBE_INTERVAL: Duration = Duration::from_secs(1);
/// How long one probe may take before the database counts as down.
pub const DB_PROBE_TIMEOUT: Duration = Duration::from_secs(2);

/// Keeps a service's health in step with its database until `shutdown`:
/// every [`DB_PROBE_INTERVAL`] a `SELECT 1` (bounded by [`DB_PROBE_TIMEOUT`]);
/// the first failure turns `service_names` and the server (`""`) NOT_SERVING,
/// the first success after it SERVING again. A load balancer or Kubernetes
/// probe then stops routing to a replica that cannot reach its database,
/// and routes to it again once it can, with no restart.
///
/// Run it beside [`serve`], which marks the names SERVING when it starts.
pub async fn watch_database(
    db: Db,
    health: HealthReporter,
    service_names: &'static [&'static str],
    shutdown: CancellationToken,
) {
    let mut serving = true;
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(DB_PROBE_INTERVAL) => {}
        }
        let probe = tokio::time::timeout(DB_PROBE_TIMEOUT, db.ping()).await;
        let up = matches!(probe, Ok(Ok(())));
        // Shutdown owns the status once it has begun.
        if up == serving || shutdown.is_cancelled() {
            continue;
        }
        serving = up;
        let status = if up {
            tracing::info!(services = ?service_names, "database answers again; serving");
            ServingStatus::Serving
        } else {
            let cause = match probe {
                Ok(Err(e)) => e.to_string(),
                _ => format!("no answer within {DB_PROBE_TIMEOUT:?}"),
            };
            tracing::warn!(services = ?service_names, error = %cause, "database down; not serving");
            ServingStatus::NotServing
        };
        for name in service_names {
            health.set_service_status(*name, status).await;
        }
        health.set_service_status("", status).await;
    }
}

/// Serves `routes` on `listener` until `shutdown` is cancelled, over TLS
/// when `tls` is given (see [`server_tls`]).
///
/// `service_names` are the fully-qualified gRPC names in `routes`; they are
/// marked SERVING in health and listed by reflection.
#[allow(clippy::too_many_arguments)]
pub async fn serve(
    config: &Config,
    tls: Option<ServerTlsConfig>,
    listener: TcpListener,
    routes: Routes,
    service_names: &[&'static str],
    health: HealthReporter,
    verifier: TokenVerifier,
    shutdown: CancellationToken,
) -> Result<()> {
    let mut reflection_v1 = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(earshot_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .with_service_name(HealthServer::<HealthService>::NAME);
    let mut reflection_alpha = tonic_reflection::server::Builder::configure()
        .register_encoded_file_descriptor_set(earshot_proto::FILE_DESCRIPTOR_SET)
        .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        .with_service_name(HealthServer::<HealthService>::NAME);
    for name in service_names {
        reflection_v1 = reflection_v1.with_service_name(*name);
        reflection_alpha = reflection_alpha.with_service_name(*name);
    }
    let reflection_v1 = reflection_v1
        .build_v1()
        .map_err(|e| Error::internal(format!("reflection: {e}")))?;
    let reflection_alpha = reflection_alpha
        .build_v1alpha()
        .map_err(|e| Error::internal(format!("reflection: {e}")))?;

    for name in service_names {
        health
            .set_service_status(*name, ServingStatus::Serving)
            .await;
    }
    let health_server = HealthServer::new(HealthService::from_health_reporter(health.clone()));
    let routes = routes
        .add_service(health_server)
        .add_service(reflection_v1)
        .add_service(reflection_alpha);

    let s = &config.server;
    let layers = ServiceBuilder::new()
        .layer(RpcTraceLayer)
        .layer(MessageSizeLayer::new(s.max_message_bytes))
        .layer(DeadlineLayer::new(s.request_timeout))
        .layer(AuthLayer::new(verifier))
        .layer(TenantRateLimitLayer::new(
            s.tenant_rate_per_second,
            s.tenant_burst,
        ))
        .load_shed()
        .layer(tower::limit::GlobalConcurrencyLimitLayer::new(
            s.max_concurrent_requests,
        ));
    let local = listener
        .local_addr()
        .map_err(|e| Error::internal(format!("listener: {e}")))?;
    // serve_with_incoming ignores Server::tcp_nodelay; set it on the stream.
    let incoming = TcpIncoming::from(listener)
        .with_nodelay(Some(true))
        .with_keepalive(Some(Duration::from_secs(60)));

    let signal = {
        let shutdown = shutdown.clone();
        let health = health.clone();
        let names: Vec<&'static str> = service_names.to_vec();
        async move {
            shutdown.cancelled().await;
            for name in names {
                health
                    .set_service_status(name, ServingStatus::NotServing)
                    .await;
            }
            health
                .set_service_status("", ServingStatus::NotServing)
                .await;
        }
    };
    let mut builder = Server::builder();
    if let Some(tls) = tls {
        builder = builder
            .tls_config(tls)
            .map_err(|e| Error::Unavailable(format!("TLS on {local}: {e}")))?;
    }
    let server = builder
        .concurrency_limit_per_connection(s.concurrency_limit_per_connection)
        .http2_keepalive_interval(Some(Duration::from_secs(30)))
        .layer(layers)
        .serve_with_incoming_shutdown(routes.prepare(), incoming, signal);
    tracing::info!(address = %local, services = ?service_names, "serving");

    let grace = s.shutdown_grace;
    tokio::pin!(server);
    tokio::select! {
        r = &mut server => r.map_err(|e| Error::internal(format!("server on {local}: {e}")))?,
        _ = async {
            shutdown.cancelled().await;
            tokio::time::sleep(grace).await;
        } => {
            tracing::warn!(address = %local, "calls still running after the shutdown grace period; closing");
        }
    }
    tracing::info!(address = %local, "stopped");
    Ok(())
}

/// Ends a call that has not answered by its deadline with
/// `DEADLINE_EXCEEDED`: the caller's `grpc-timeout` or `server.request_timeout`,
/// whichever is sooner. (tonic's own server timeout answers `CANCELLED`,
/// which clients do not read as a deadline.) As with any gRPC deadline it
/// bounds the time to the response's start: a stream, once it has begun,
/// runs until it ends.
#[derive(Debug, Clone, Copy)]
pub struct DeadlineLayer {
    limit: Duration,
}

impl DeadlineLayer {
    /// Calls may take at most `limit`, or less when the caller asks.
    pub fn new(limit: Duration) -> Self {
        Self { limit }
    }
}

impl<S> Layer<S> for DeadlineLayer {
    type Service = Deadline<S>;
    fn layer(&self, inner: S) -> Self::Service {
        Deadline {
            inner,
            limit: self.limit,
        }
    }
}

/// The service [`DeadlineLayer`] produces.
#[derive(Debug, Clone)]
pub struct Deadline<S> {
    inner: S,
    limit: Duration,
}

/// The `grpc-timeout` header's duration: up to 8 digits and a unit
/// (H, M, S, m, u, n). `None` when absent or malformed (the server's limit
/// then applies, as in tonic).
pub fn grpc_timeout(headers: &http::HeaderMap) -> Option<Duration> {
    let v = headers.get("grpc-timeout")?.to_str().ok()?;
    let split = v.len().checked_sub(1)?;
    let (digits, unit) = (v.get(..split)?, v.get(split..)?);
    if digits.is_empty() || digits.len() > 8 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u64 = digits.parse().ok()?;
    Some(match unit {
        "H" => Duration::from_secs(n * 3600),
        "M" => Duration::from_secs(n * 60),
        "S" => Duration::from_secs(n),
        "m" => Duration::from_millis(n),
        "u" => Duration::from_micros(n),
        "n" => Duration::from_nanos(n),
        _ => return None,
    })
}

impl<S> Service<http::Request<Body>> for Deadline<S>
where
    S: Service<http::Request<Body>, Response = http::Response<Body>> + Send,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = S::Error;
    type Future =
        Pin<Box<dyn Future<Output = std::result::Result<Self::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<std::result::Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<Body>) -> Self::Future {
        let limit = grpc_timeout(req.headers()).map_or(self.limit, |d| d.min(self.limit));
        let fut = self.inner.call(req);
        Box::pin(async move {
            match tokio::time::timeout(limit, fut).await {
                Ok(r) => r,
                Err(_) => Ok(tonic::Status::deadline_exceeded(format!(
                    "no answer within the deadline of {limit:?}"
                ))
                .into_http()),
            }
        })
    }
}

/// Adds a span to every call with its service, method, tenant, subject,
/// latency and final gRPC status code, logged when the call ends (for
/// streams, when the trailers are sent).
#[derive(Debug, Clone, Copy)]
pub struct RpcTraceLayer;

impl<S> Layer<S> for RpcTraceLayer {
    type Service = RpcTrace<S>;
    fn layer(&self, inner: S) -> Self::Service {
        RpcTrace { inner }
    }
}

/// The service [`RpcTraceLayer`] produces.
#[derive(Debug, Clone)]
pub struct RpcTrace<S> {
    inner: S,
}

impl<S> Service<http::Request<Body>> for RpcTrace<S>
where
    S: Service<http::Request<Body>, Response = http::Response<Body>> + Send,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = S::Error;
    type Future =
        Pin<Box<dyn Future<Output = std::result::Result<Self::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<std::result::Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: http::Request<Body>) -> Self::Future {
        let path = req.uri().path();
        let (service, method) = path
            .trim_start_matches('/')
            .split_once('/')
            .unwrap_or((path, ""));
        let quiet = service.starts_with("grpc.");
        let names: Arc<(String, String)> = Arc::new((service.to_owned(), method.to_owned()));
        let span = tracing::info_span!(
            "rpc",
            service = %service,
            method = %method,
            tenant = Empty,
            subject = Empty,
            roles = Empty,
        );
        let start = Instant::now();
        let fut = span.in_scope(|| self.inner.call(req));
        Box::pin(
            async move {
                let resp = fut.await?;
                let span = tracing::Span::current();
                if let Some(code) = resp.headers().get("grpc-status") {
                    // Trailers-only response: the call is over.
                    log_end(&names, quiet, code.to_str().unwrap_or("?"), start);
                    return Ok(resp);
                }
                let (parts, body) = resp.into_parts();
                let body = Body::new(TracedBody {
                    inner: body,
                    span,
                    names,
                    start,
                    quiet,
                    done: false,
                });
                Ok(http::Response::from_parts(parts, body))
            }
            .instrument(span),
        )
    }
}

fn code_name(code: &str) -> &'static str {
    match code.parse::<i32>().map(tonic::Code::from) {
        Ok(c) => match c {
            tonic::Code::Ok => "OK",
            tonic::Code::Cancelled => "CANCELLED",
            tonic::Code::Unknown => "UNKNOWN",
            tonic::Code::InvalidArgument => "INVALID_ARGUMENT",
            tonic::Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
            tonic::Code::NotFound => "NOT_FOUND",
            tonic::Code::AlreadyExists => "ALREADY_EXISTS",
            tonic::Code::PermissionDenied => "PERMISSION_DENIED",
            tonic::Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
            tonic::Code::FailedPrecondition => "FAILED_PRECONDITION",
            tonic::Code::Aborted => "ABORTED",
            tonic::Code::OutOfRange => "OUT_OF_RANGE",
            tonic::Code::Unimplemented => "UNIMPLEMENTED",
            tonic::Code::Internal => "INTERNAL",
            tonic::Code::Unavailable => "UNAVAILABLE",
            tonic::Code::DataLoss => "DATA_LOSS",
            tonic::Code::Unauthenticated => "UNAUTHENTICATED",
        },
        Err(_) => "UNKNOWN",
    }
}

fn log_end(names: &(String, String), quiet: bool, code: &str, start: Instant) {
    let elapsed = start.elapsed();
    let latency_ms = elapsed.as_secs_f64() * 1000.0;
    let code = code_name(code);
    crate::metrics::record_call(&names.0, &names.1, code, elapsed);
    if quiet {
        tracing::debug!(code, latency_ms, "rpc finished");
    } else if code == "INTERNAL" || code == "UNKNOWN" || code == "DATA_LOSS" {
        tracing::error!(code, latency_ms, "rpc finished");
    } else {
        tracing::info!(code, latency_ms, "rpc finished");
    }
    if !quiet {
        crate::audit::record(&names.1, code);
    }
}

pin_project! {
    /// A response body that logs the call's end when the trailers pass.
    struct TracedBody {
        #[pin]
        inner: Body,
        span: tracing::Span,
        names: Arc<(String, String)>,
        start: Instant,
        quiet: bool,
        done: bool,
    }

    impl PinnedDrop for TracedBody {
        fn drop(this: Pin<&mut Self>) {
            let this = this.project();
            if !*this.done {
                let _g = this.span.enter();
                log_end(this.names, *this.quiet, "1", *this.start);
            }
        }
    }
}

impl HttpBody for TracedBody {
    type Data = bytes_alias::Bytes;
    type Error = tonic::Status;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<std::result::Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.project();
        let polled = this.inner.poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(trailers) = frame.trailers_ref() {
                    let code = trailers
                        .get("grpc-status")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("0");
                    let _g = this.span.enter();
                    log_end(this.names, *this.quiet, code, *this.start);
                    *this.done = true;
                }
            }
            Poll::Ready(None) if !*this.done => {
                let _g = this.span.enter();
                log_end(this.names, *this.quiet, "0", *this.start);
                *this.done = true;
            }
            _ => {}
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

mod bytes_alias {
    pub(super) type Bytes = <tonic::body::Body as http_body::Body>::Data;
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn timeout_of(v: &str) -> Option<Duration> {
        let mut h = http::HeaderMap::new();
        h.insert("grpc-timeout", v.parse().unwrap());
        grpc_timeout(&h)
    }

    #[test]
    fn grpc_timeout_header_parses_every_unit_and_rejects_the_rest() {
        assert_eq!(timeout_of("2S"), Some(Duration::from_secs(2)));
        assert_eq!(timeout_of("1500m"), Some(Duration::from_millis(1500)));
        assert_eq!(timeout_of("3M"), Some(Duration::from_secs(180)));
        assert_eq!(timeout_of("1H"), Some(Duration::from_secs(3600)));
        assert_eq!(timeout_of("7u"), Some(Duration::from_micros(7)));
        assert_eq!(timeout_of("9n"), Some(Duration::from_nanos(9)));
        for bad in ["", "S", "123456789S", "12x", "-1S", "1.5S", "+1S"] {
            assert_eq!(timeout_of(bad), None, "{bad:?}");
        }
        assert_eq!(grpc_timeout(&http::HeaderMap::new()), None);
    }
}
