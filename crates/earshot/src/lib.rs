//! The Earshot binary's library: running the suite in one process.
//!
//! [`start`] runs any subset of the four services, each on its own port and
//! its own database, reachable over real gRPC — also from each other: a
//! service calls its dependencies through their configured endpoints even
//! when they live in the same process, so one process behaves exactly like
//! four. The binary (`main.rs`) parses flags and calls [`start`]; the
//! end-to-end tests call it with port 0 and a throw-away data directory.

use std::{collections::BTreeMap, net::SocketAddr, sync::Arc};

use earshot_kit::{
    auth::{TokenIssuer, TokenVerifier, keys_from_config},
    config::{Config, ServiceKind},
    db::{Db, DbOptions},
    error::{Error, Result},
    server::{self, ServiceContext, ServiceSpec},
};
use tokio::{net::TcpListener, task::JoinSet};
use tokio_util::{sync::CancellationToken, task::TaskTracker};

pub mod cli;
pub mod client;
pub mod demo;
pub mod soak;

/// The spec of each service, from its crate.
pub fn spec(kind: ServiceKind) -> ServiceSpec {
    match kind {
        ServiceKind::Sampling => earshot_sampling::spec(),
        ServiceKind::Scoring => earshot_scoring::spec(),
        ServiceKind::Calibration => earshot_calibration::spec(),
        ServiceKind::Reporting => earshot_reporting::spec(),
    }
}

/// A running suite.
pub struct Suite {
    /// Where each started service listens.
    pub addrs: BTreeMap<ServiceKind, SocketAddr>,
    /// Where `GET /metrics` is served, when configured.
    pub metrics_addr: Option<SocketAddr>,
    /// The configuration in effect (ports resolved).
    pub config: Arc<Config>,
    /// Mints tokens the suite accepts (embedded HS256 only).
    pub issuer: Option<TokenIssuer>,
    shutdown: CancellationToken,
    servers: JoinSet<Result<()>>,
    tasks: TaskTracker,
    dbs: Vec<Db>,
}

impl std::fmt::Debug for Suite {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Suite")
            .field("addrs", &self.addrs)
            .finish_non_exhaustive()
    }
}

impl Suite {
    /// The `http://` URL of a started service.
    pub fn url(&self, kind: ServiceKind) -> Option<String> {
        self.addrs.get(&kind).map(|a| format!("http://{a}"))
    }

    /// A token that cancels the suite.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Waits until every server stops (after the shutdown token is
    /// cancelled, or when one fails — which stops the rest).
    pub async fn wait(mut self) -> Result<()> {
        let mut first_error = None;
        while let Some(joined) = self.servers.join_next().await {
            let result = joined.map_err(|e| Error::internal(format!("server task: {e}")))?;
            if let Err(e) = result {
                // One server failing takes the others down with it.
                self.shutdown.cancel();
                first_error.get_or_insert(e);
            }
        }
        self.tasks.close();
        self.tasks.wait().await;
        for db in &self.dbs {
            db.close().await;
        }
        match first_error {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Cancels and waits.
    pub async fn stop(self) -> Result<()> {
        self.shutdown.cancel();
        self.wait().await
    }
}

/// Binds each service's listener, opens and migrates its database, builds it
/// and starts serving. Returns once every service accepts calls.
///
/// A configured port of 0 picks a free port; other services are then
/// pointed at it (unless an endpoint is configured explicitly).
pub async fn start(
    mut config: Config,
    services: &[ServiceKind],
    shutdown: CancellationToken,
) -> Result<Suite> {
    let (keys, issuer) = keys_from_config(&config)?;
    let a = &config.auth;
    let verifier = TokenVerifier::new(&keys, a.issuer.clone(), a.audience.clone(), a.leeway)?;
    let system_token: Arc<str> = Arc::from(server::system_token(&config, issuer.as_ref())?);
    let server_tls = server::server_tls(&config.tls)?;
    let client_tls = server::client_tls(&config.tls)?;

    let mut wanted: Vec<ServiceKind> = services.to_vec();
    wanted.sort();
    wanted.dedup();
    if wanted.is_empty() {
        return Err(Error::invalid("services", "name at least one service"));
    }

    // Bind first: with port 0 the real ports are only known now, and the
    // services must learn each other's addresses before they are built.
    let mut listeners = BTreeMap::new();
    let mut addrs = BTreeMap::new();
    for kind in &wanted {
        let addr = SocketAddr::new(config.server.host, config.port(*kind));
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|e| Error::Unavailable(format!("{kind}: cannot listen on {addr}: {e}")))?;
        let local = listener
            .local_addr()
            .map_err(|e| Error::internal(format!("{kind}: {e}")))?;
        addrs.insert(*kind, local);
        listeners.insert(*kind, listener);
        let svc = config.service_mut(*kind);
        svc.port = Some(local.port());
    }
    let config = Arc::new(config);
    let metrics_addr = match config.metrics.address {
        Some(addr) => Some(earshot_kit::metrics::serve(addr, shutdown.clone()).await?),
        None => None,
    };

    let options = DbOptions {
        max_connections: config.database.max_connections,
        acquire_timeout: config.database.acquire_timeout,
    };
    let tasks = TaskTracker::new();
    // A rotated key set takes effect without a restart.
    if let Some(path) = &config.auth.jwks_file
        && !config.auth.jwks_reload_interval.is_zero()
    {
        tasks.spawn(verifier.watch_jwks_file(
            path.clone(),
            config.auth.jwks_reload_interval,
            shutdown.clone(),
        ));
    }
    let mut servers = JoinSet::new();
    let mut dbs = Vec::new();
    for kind in &wanted {
        let spec = spec(*kind);
        let target = config.db_target(*kind);
        let db = Db::open(&target, &options, spec.migrations)
            .await
            .map_err(|e| prefix(*kind, e))?;
        dbs.push(db.clone());
        let db_for_health = db.clone();
        let health = tonic_health::server::HealthReporter::new();
        let ctx = ServiceContext {
            kind: *kind,
            config: config.clone(),
            db,
            health: health.clone(),
            shutdown: shutdown.clone(),
            tasks: tasks.clone(),
            system_token: system_token.clone(),
            client_tls: client_tls.clone(),
        };
        let routes = (spec.build)(ctx).await.map_err(|e| prefix(*kind, e))?;
        tasks.spawn(server::watch_database(
            db_for_health,
            health.clone(),
            spec.service_names,
            shutdown.clone(),
        ));
        let Some(listener) = listeners.remove(kind) else {
            return Err(Error::internal(format!("{kind}: listener missing")));
        };
        let config = config.clone();
        let verifier = verifier.clone();
        let shutdown = shutdown.clone();
        let tls = server_tls.clone();
        servers.spawn(async move {
            server::serve(
                &config,
                tls,
                listener,
                routes,
                spec.service_names,
                health,
                verifier,
                shutdown,
            )
            .await
        });
        tracing::info!(service = %kind, address = %addrs[kind], database = %target, "started");
    }
    if let Some(addr) = metrics_addr {
        tracing::info!(address = %addr, "metrics at /metrics");
    }
    Ok(Suite {
        metrics_addr,
        addrs,
        config,
        issuer,
        shutdown,
        servers,
        tasks,
        dbs,
    })
}

/// Opens and migrates each service's database, then closes it.
pub async fn migrate(config: &Config, services: &[ServiceKind]) -> Result<()> {
    let options = DbOptions {
        max_connections: 1,
        acquire_timeout: config.database.acquire_timeout,
    };
    for kind in services {
        let target = config.db_target(*kind);
        let db = Db::open(&target, &options, spec(*kind).migrations)
            .await
            .map_err(|e| prefix(*kind, e))?;
        db.close().await;
        tracing::info!(service = %kind, database = %target, "migrated");
    }
    Ok(())
}

fn prefix(kind: ServiceKind, e: Error) -> Error {
    match e {
        Error::Unavailable(m) => Error::Unavailable(format!("{kind}: {m}")),
        Error::Internal(m) => Error::Internal(format!("{kind}: {m}")),
        other => other,
    }
}
