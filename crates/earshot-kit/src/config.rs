//! Configuration: defaults, then a TOML file, then `EARSHOT_*` environment
//! variables, then command-line flags — each layer overriding the one before.
//!
//! Every setting has a documented default (see [`Config::default`] and
//! `docs/configuration.md`), so `earshot serve` with no file runs the whole
//! suite on embedded SQLite under `./earshot-data`. Nested keys map to
//! environment variables with a double underscore:
//! `database.url` is `EARSHOT_DATABASE__URL`, `scoring.port` is
//! `EARSHOT_SCORING__PORT`.
//!
//! [`Config::load`] validates everything it can without touching the network
//! and reports the first problem as one clear line.

use std::{
    fmt,
    net::{IpAddr, Ipv4Addr},
    path::{Path, PathBuf},
    str::FromStr,
    time::Duration,
};

use figment::{
    Figment,
    providers::{Env, Format, Serialized, Toml},
};
use serde::{Deserialize, Serialize};

/// One of the four services.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ServiceKind {
    /// Ingest, sampling plans, selection, assignment, coverage.
    Sampling,
    /// Scorecards, evaluations, disputes, audit.
    Scoring,
    /// Calibration sessions and agreement statistics.
    Calibration,
    /// KPIs, trends, insights, exports.
    Reporting,
}

impl ServiceKind {
    /// All four, in dependency order (a service's dependencies come first).
    pub const ALL: [ServiceKind; 4] = [
        ServiceKind::Sampling,
        ServiceKind::Scoring,
        ServiceKind::Calibration,
        ServiceKind::Reporting,
    ];

    /// The service's name: in config keys, database files and schemas.
    pub fn name(self) -> &'static str {
        match self {
            ServiceKind::Sampling => "sampling",
            ServiceKind::Scoring => "scoring",
            ServiceKind::Calibration => "calibration",
            ServiceKind::Reporting => "reporting",
        }
    }

    /// The port it listens on unless configured otherwise.
    pub fn default_port(self) -> u16 {
        match self {
            ServiceKind::Sampling => 50051,
            ServiceKind::Scoring => 50052,
            ServiceKind::Calibration => 50053,
            ServiceKind::Reporting => 50054,
        }
    }
}

impl fmt::Display for ServiceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.pad(self.name())
    }
}

impl FromStr for ServiceKind {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ServiceKind::ALL
            .into_iter()
            .find(|k| k.name() == s.trim())
            .ok_or_else(|| {
                format!(
                    "unknown service {s:?} (expected sampling, scoring, calibration or reporting)"
                )
            })
    }
}

/// The whole configuration.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Where embedded data lives: one SQLite file per service and the
    /// generated token secret. Default `./earshot-data`.
    pub data_dir: PathBuf,
    /// Logging.
    pub log: LogConfig,
    /// Server limits shared by every service.
    pub server: ServerConfig,
    /// Storage shared by every service unless a service overrides it.
    pub database: DatabaseConfig,
    /// Token verification.
    pub auth: AuthConfig,
    /// Prometheus metrics.
    pub metrics: MetricsConfig,
    /// TLS and mutual TLS, for clients and between services.
    pub tls: TlsConfig,
    /// Protection of customers' personal data.
    pub privacy: PrivacyConfig,
    /// The sampling service.
    pub sampling: ServiceConfig,
    /// The scoring service.
    pub scoring: ServiceConfig,
    /// The calibration service.
    pub calibration: ServiceConfig,
    /// The reporting service.
    pub reporting: ServiceConfig,
    /// How the `earshot` command-line client reaches a suite.
    pub client: ClientConfig,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            data_dir: PathBuf::from("./earshot-data"),
            log: LogConfig::default(),
            server: ServerConfig::default(),
            database: DatabaseConfig::default(),
            auth: AuthConfig::default(),
            metrics: MetricsConfig::default(),
            tls: TlsConfig::default(),
            privacy: PrivacyConfig::default(),
            sampling: ServiceConfig::default(),
            scoring: ServiceConfig::default(),
            calibration: ServiceConfig::default(),
            reporting: ServiceConfig::default(),
            client: ClientConfig::default(),
        }
    }
}

/// Log output.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct LogConfig {
    /// `human` (default) or `json` (one object per line, for log shippers).
    pub format: LogFormat,
    /// A `tracing` filter such as `info` or `earshot_sampling=debug,info`.
    /// `RUST_LOG`, when set, wins. Default `info`.
    pub filter: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            format: LogFormat::Human,
            filter: "info".into(),
        }
    }
}

/// How logs are written.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum LogFormat {
    /// Readable lines for a terminal.
    Human,
    /// JSON lines.
    Json,
}

/// Protection of customers' personal data.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(default, deny_unknown_fields)]
pub struct PrivacyConfig {
    /// Store customer references as keyed hashes (HMAC-SHA-256 per tenant)
    /// instead of as sent: repeat contacts and erasure still match them, but
    /// the stores never hold the reference itself. Turn it on before the
    /// first ingest: references stored earlier stay as they were. Default
    /// false.
    pub hash_customer_refs: bool,
    /// The hashing key (at least 32 bytes). Prefer `customer_ref_key_file`.
    /// With neither, a key is generated into `data_dir/customer-ref-key` on
    /// first start; replicas sharing a database must share the key.
    pub customer_ref_key: Option<String>,
    /// File holding the hashing key.
    pub customer_ref_key_file: Option<PathBuf>,
}

/// Limits and timeouts every server applies.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct ServerConfig {
    /// Address to listen on. Default `127.0.0.1`; use `0.0.0.0` in containers.
    pub host: IpAddr,
    /// Longest time a unary call may take before `DEADLINE_EXCEEDED`
    /// (a shorter client deadline wins). Default 30s.
    #[serde(with = "humantime_serde")]
    pub request_timeout: Duration,
    /// Calls served at once per service before new ones are shed with
    /// `RESOURCE_EXHAUSTED`. Default 256.
    pub max_concurrent_requests: usize,
    /// Concurrent calls per client connection. Default 64.
    pub concurrency_limit_per_connection: usize,
    /// Largest request message accepted, in bytes. Default 8 MiB.
    pub max_message_bytes: usize,
    /// How long shutdown waits for in-flight calls before closing. Default 10s.
    #[serde(with = "humantime_serde")]
    pub shutdown_grace: Duration,
    /// Calls per second each tenant may make to one service of one replica
    /// (a token bucket, keyed by the tenant of the verified token; the
    /// `service` role and health checks are exempt). Beyond it calls get
    /// `RESOURCE_EXHAUSTED` with a retry delay. Default 0: no limit.
    pub tenant_rate_per_second: f64,
    /// How many calls a tenant may make at once above the rate (the
    /// bucket's size). Default 200.
    pub tenant_burst: u32,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            request_timeout: Duration::from_secs(30),
            max_concurrent_requests: 256,
            concurrency_limit_per_connection: 64,
            max_message_bytes: 8 * 1024 * 1024,
            shutdown_grace: Duration::from_secs(10),
            tenant_rate_per_second: 0.0,
            tenant_burst: 200,
        }
    }
}

/// Storage.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct DatabaseConfig {
    /// Unset (default): embedded SQLite, one file per service in `data_dir`.
    /// A `postgres://` URL: that database, one schema per service.
    pub url: Option<String>,
    /// Connections per service pool. Default 8.
    pub max_connections: u32,
    /// How long a call waits for a connection before `UNAVAILABLE`. Default 5s.
    #[serde(with = "humantime_serde")]
    pub acquire_timeout: Duration,
}

impl Default for DatabaseConfig {
    fn default() -> Self {
        DatabaseConfig {
            url: None,
            max_connections: 8,
            acquire_timeout: Duration::from_secs(5),
        }
    }
}

/// Token verification. With nothing set, HS256 with a secret generated into
/// `data_dir/jwt-secret` on first start (what `earshot token` signs with).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(default, deny_unknown_fields)]
pub struct AuthConfig {
    /// Expected `iss` claim. Default `earshot`.
    pub issuer: String,
    /// Expected `aud` claim. Default `earshot`.
    pub audience: String,
    /// HS256 secret (at least 32 bytes). Prefer `hs256_secret_file`.
    pub hs256_secret: Option<String>,
    /// File holding the HS256 secret.
    pub hs256_secret_file: Option<PathBuf>,
    /// RS256: the identity provider's public key in PEM.
    pub rs256_public_key_file: Option<PathBuf>,
    /// RS256: a JWKS document; the token's `kid` selects the key.
    pub jwks_file: Option<PathBuf>,
    /// With RS256, the token services present to each other (role
    /// `service`); with HS256 the services mint their own.
    pub service_token: Option<String>,
    /// Clock skew allowed on `exp`. Default 30s.
    #[serde(with = "humantime_serde")]
    pub leeway: Duration,
    /// How often `jwks_file` is re-read; a changed, valid key set replaces
    /// the old one without a restart (an invalid one is logged and the old
    /// set kept). `0s` reads it only at start. Default 5s.
    #[serde(with = "humantime_serde")]
    pub jwks_reload_interval: Duration,
}

impl Default for AuthConfig {
    fn default() -> Self {
        AuthConfig {
            issuer: "earshot".into(),
            audience: "earshot".into(),
            hs256_secret: None,
            hs256_secret_file: None,
            rs256_public_key_file: None,
            jwks_file: None,
            service_token: None,
            leeway: Duration::from_secs(30),
            jwks_reload_interval: Duration::from_secs(5),
        }
    }
}

/// Prometheus metrics.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(default, deny_unknown_fields)]
pub struct MetricsConfig {
    /// Where to serve `GET /metrics` (e.g. `0.0.0.0:9464`). Unset (default):
    /// no metrics endpoint.
    pub address: Option<std::net::SocketAddr>,
}

/// TLS. With `cert_file` and `key_file` every service serves TLS; adding
/// `client_ca_file` makes it mutual (callers must present a certificate that
/// CA signed). `ca_file`, `client_cert_file` and `client_key_file` are what a
/// service uses when it calls another over `https://`.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(default, deny_unknown_fields)]
pub struct TlsConfig {
    /// The server's certificate chain, PEM.
    pub cert_file: Option<PathBuf>,
    /// The server's private key, PEM.
    pub key_file: Option<PathBuf>,
    /// Require client certificates signed by this CA (PEM): mutual TLS.
    pub client_ca_file: Option<PathBuf>,
    /// The CA (PEM) that signed the other services' certificates.
    pub ca_file: Option<PathBuf>,
    /// This process's client certificate (PEM), for mutual TLS to others.
    pub client_cert_file: Option<PathBuf>,
    /// This process's client key (PEM).
    pub client_key_file: Option<PathBuf>,
}

impl TlsConfig {
    /// True when the services serve TLS.
    pub fn serves_tls(&self) -> bool {
        self.cert_file.is_some()
    }
}

/// One service's own settings.
/// The command-line client's defaults (flags and `EARSHOT_ADDRESS`,
/// `EARSHOT_TOKEN` take precedence).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(default, deny_unknown_fields)]
pub struct ClientConfig {
    /// Scheme and host of the suite, e.g. `https://earshot.example.com`;
    /// each service's port comes from its section. Default: each service's
    /// `endpoint`.
    pub address: Option<String>,
    /// Bearer token to present. Default: one minted from the embedded
    /// secret, when the suite runs on this machine.
    pub token: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
#[serde(default, deny_unknown_fields)]
pub struct ServiceConfig {
    /// Port to listen on. Default: sampling 50051, scoring 50052,
    /// calibration 50053, reporting 50054.
    pub port: Option<u16>,
    /// This service's own database, overriding `database.url`
    /// (`sqlite://path/file.db` or `postgres://...`).
    pub database_url: Option<String>,
    /// How the other services reach this one, e.g.
    /// `http://earshot-sampling:50051`. Default `http://127.0.0.1:<port>`.
    pub endpoint: Option<String>,
}

/// Where one service keeps its data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DbTarget {
    /// An SQLite file (created when missing).
    Sqlite {
        /// The database file.
        path: PathBuf,
    },
    /// A PostgreSQL database and the schema that holds this service's tables.
    Postgres {
        /// The connection URL.
        url: String,
        /// The service's schema.
        schema: String,
    },
}

impl fmt::Display for DbTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DbTarget::Sqlite { path } => write!(f, "sqlite {}", path.display()),
            DbTarget::Postgres { url, schema } => {
                write!(f, "postgres {} schema {schema}", redact_url(url))
            }
        }
    }
}

/// A URL with its password replaced, for logs and errors.
pub fn redact_url(url: &str) -> String {
    // scheme://user:password@host/...
    if let Some((scheme, rest)) = url.split_once("://")
        && let Some((userinfo, host)) = rest.split_once('@')
        && let Some((user, _)) = userinfo.split_once(':')
    {
        return format!("{scheme}://{user}:***@{host}");
    }
    url.to_owned()
}

/// A configuration problem, in one line.
#[derive(Debug, thiserror::Error)]
#[error("configuration: {0}")]
pub struct ConfigError(pub String);

/// Command-line overrides (the last layer).
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// `--data-dir`
    pub data_dir: Option<PathBuf>,
    /// `--database-url`
    pub database_url: Option<String>,
    /// `--host`
    pub host: Option<IpAddr>,
    /// `--log-format`
    pub log_format: Option<LogFormat>,
}

impl Config {
    /// Loads defaults, then `file` (or `./earshot.toml` when it exists and no
    /// file is named), then `EARSHOT_*` variables, then `overrides`, and
    /// validates the result.
    pub fn load(file: Option<&Path>, overrides: &Overrides) -> Result<Config, ConfigError> {
        Self::load_from(file, overrides, Env::prefixed("EARSHOT_").split("__"))
    }

    /// As [`Config::load`], reading variables from `env` (tests pass their own).
    pub fn load_from(
        file: Option<&Path>,
        overrides: &Overrides,
        env: Env,
    ) -> Result<Config, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        match file {
            Some(path) => {
                if !path.exists() {
                    return Err(ConfigError(format!(
                        "config file {} does not exist",
                        path.display()
                    )));
                }
                figment = figment.merge(Toml::file_exact(path));
            }
            None => {
                let default = Path::new("earshot.toml");
                if default.exists() {
                    figment = figment.merge(Toml::file_exact(default));
                }
            }
        }
        // Only variables naming a configuration section are settings; others
        // sharing the prefix (EARSHOT_CONFIG names the file, the test
        // harness has its own) are not, and must not fail start-up.
        figment = figment.merge(env.filter(|key| {
            let top = key.as_str().split('.').next().unwrap_or_default();
            TOP_LEVEL_KEYS.iter().any(|k| top.eq_ignore_ascii_case(k))
        }));
        let mut config: Config = figment
            .extract()
            .map_err(|e| ConfigError(one_line(&e.to_string())))?;
        if let Some(d) = &overrides.data_dir {
            config.data_dir = d.clone();
        }
        if let Some(u) = &overrides.database_url {
            config.database.url = Some(u.clone());
        }
        if let Some(h) = overrides.host {
            config.server.host = h;
        }
        if let Some(f) = overrides.log_format {
            config.log.format = f;
        }
        config.validate()?;
        Ok(config)
    }

    /// Checks what can be checked without the network.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let s = &self.server;
        if s.request_timeout.is_zero() {
            return Err(ConfigError(
                "server.request_timeout must be above zero".into(),
            ));
        }
        if s.max_concurrent_requests == 0 || s.concurrency_limit_per_connection == 0 {
            return Err(ConfigError(
                "server.max_concurrent_requests and server.concurrency_limit_per_connection must be at least 1".into(),
            ));
        }
        if s.max_message_bytes < 1024 {
            return Err(ConfigError(
                "server.max_message_bytes must be at least 1024".into(),
            ));
        }
        if let Some(key) = &self.privacy.customer_ref_key
            && key.len() < 32
        {
            return Err(ConfigError(
                "privacy.customer_ref_key must be at least 32 bytes".into(),
            ));
        }
        if !s.tenant_rate_per_second.is_finite()
            || !(0.0..=1_000_000.0).contains(&s.tenant_rate_per_second)
        {
            return Err(ConfigError(
                "server.tenant_rate_per_second must be 0 (no limit) to 1000000".into(),
            ));
        }
        if s.tenant_rate_per_second > 0.0 && s.tenant_burst == 0 {
            return Err(ConfigError(
                "server.tenant_burst must be at least 1 when server.tenant_rate_per_second is set"
                    .into(),
            ));
        }
        if self.database.max_connections == 0 {
            return Err(ConfigError(
                "database.max_connections must be at least 1".into(),
            ));
        }
        if let Some(url) = &self.database.url
            && !is_postgres_url(url)
        {
            return Err(ConfigError(format!(
                "database.url must be a postgres:// URL (leave it unset for embedded SQLite), got {}",
                redact_url(url)
            )));
        }
        let mut ports = std::collections::HashMap::new();
        for kind in ServiceKind::ALL {
            let svc = self.service(kind);
            if let Some(url) = &svc.database_url
                && !is_postgres_url(url)
                && !url.starts_with("sqlite:")
            {
                return Err(ConfigError(format!(
                    "{kind}.database_url must start with sqlite: or postgres://, got {}",
                    redact_url(url)
                )));
            }
            if let Some(ep) = &svc.endpoint
                && !(ep.starts_with("http://") || ep.starts_with("https://"))
            {
                return Err(ConfigError(format!(
                    "{kind}.endpoint must be an http:// or https:// URL, got {ep}"
                )));
            }
            let port = self.port(kind);
            if port != 0
                && let Some(other) = ports.insert(port, kind)
            {
                return Err(ConfigError(format!(
                    "{other} and {kind} are both configured on port {port}"
                )));
            }
        }
        let t = &self.tls;
        if t.cert_file.is_some() != t.key_file.is_some() {
            return Err(ConfigError(
                "tls.cert_file and tls.key_file go together".into(),
            ));
        }
        if t.client_ca_file.is_some() && t.cert_file.is_none() {
            return Err(ConfigError(
                "tls.client_ca_file (mutual TLS) needs tls.cert_file and tls.key_file".into(),
            ));
        }
        if t.client_cert_file.is_some() != t.client_key_file.is_some() {
            return Err(ConfigError(
                "tls.client_cert_file and tls.client_key_file go together".into(),
            ));
        }
        let key_sources = [
            self.auth.hs256_secret.is_some(),
            self.auth.hs256_secret_file.is_some(),
            self.auth.rs256_public_key_file.is_some(),
            self.auth.jwks_file.is_some(),
        ]
        .iter()
        .filter(|b| **b)
        .count();
        if key_sources > 1 {
            return Err(ConfigError(
                "set only one of auth.hs256_secret, auth.hs256_secret_file, auth.rs256_public_key_file, auth.jwks_file".into(),
            ));
        }
        if let Some(secret) = &self.auth.hs256_secret
            && secret.len() < 32
        {
            return Err(ConfigError(
                "auth.hs256_secret must be at least 32 bytes".into(),
            ));
        }
        Ok(())
    }

    /// A service's own section.
    pub fn service(&self, kind: ServiceKind) -> &ServiceConfig {
        match kind {
            ServiceKind::Sampling => &self.sampling,
            ServiceKind::Scoring => &self.scoring,
            ServiceKind::Calibration => &self.calibration,
            ServiceKind::Reporting => &self.reporting,
        }
    }

    /// A service's own section, mutable (the test harness sets ports).
    pub fn service_mut(&mut self, kind: ServiceKind) -> &mut ServiceConfig {
        match kind {
            ServiceKind::Sampling => &mut self.sampling,
            ServiceKind::Scoring => &mut self.scoring,
            ServiceKind::Calibration => &mut self.calibration,
            ServiceKind::Reporting => &mut self.reporting,
        }
    }

    /// The port a service listens on.
    pub fn port(&self, kind: ServiceKind) -> u16 {
        self.service(kind).port.unwrap_or(kind.default_port())
    }

    /// The URL other services use to reach `kind`.
    pub fn endpoint(&self, kind: ServiceKind) -> String {
        if let Some(ep) = &self.service(kind).endpoint {
            return ep.clone();
        }
        let scheme = if self.tls.serves_tls() {
            "https"
        } else {
            "http"
        };
        let host = match self.server.host {
            IpAddr::V4(a) if a.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(a) if a.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
            other => other,
        };
        match host {
            IpAddr::V6(a) => format!("{scheme}://[{a}]:{}", self.port(kind)),
            IpAddr::V4(a) => format!("{scheme}://{a}:{}", self.port(kind)),
        }
    }

    /// Where a service keeps its data.
    pub fn db_target(&self, kind: ServiceKind) -> DbTarget {
        let url = self
            .service(kind)
            .database_url
            .as_ref()
            .or(self.database.url.as_ref());
        match url {
            Some(url) if is_postgres_url(url) => DbTarget::Postgres {
                url: url.clone(),
                schema: kind.name().to_owned(),
            },
            Some(url) => {
                let path = url
                    .trim_start_matches("sqlite://")
                    .trim_start_matches("sqlite:");
                DbTarget::Sqlite {
                    path: PathBuf::from(path),
                }
            }
            None => DbTarget::Sqlite {
                path: self.data_dir.join(format!("{}.db", kind.name())),
            },
        }
    }
}

/// The top-level keys of [`Config`]; environment variables map onto these.
const TOP_LEVEL_KEYS: &[&str] = &[
    "data_dir",
    "log",
    "server",
    "database",
    "auth",
    "metrics",
    "tls",
    "sampling",
    "scoring",
    "calibration",
    "reporting",
    "client",
];

fn is_postgres_url(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn no_env() -> Env {
        Env::prefixed("EARSHOT_TEST_NOTHING_").split("__")
    }

    #[test]
    fn defaults_run_everything_on_sqlite() {
        let c = Config::load_from(None, &Overrides::default(), no_env()).unwrap();
        assert_eq!(c.port(ServiceKind::Scoring), 50052);
        assert_eq!(
            c.db_target(ServiceKind::Sampling),
            DbTarget::Sqlite {
                path: PathBuf::from("./earshot-data/sampling.db")
            }
        );
        assert_eq!(c.endpoint(ServiceKind::Sampling), "http://127.0.0.1:50051");
    }

    #[test]
    #[allow(clippy::result_large_err)]
    fn file_then_env_then_flags() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("earshot.toml");
        std::fs::write(
            &path,
            r#"
            data_dir = "/srv/earshot"
            [server]
            request_timeout = "5s"
            [database]
            url = "postgres://u:pw@db/earshot"
            [scoring]
            port = 6000
            "#,
        )
        .unwrap();
        let c = Config::load_from(Some(&path), &Overrides::default(), no_env()).unwrap();
        assert_eq!(c.server.request_timeout, Duration::from_secs(5));
        assert_eq!(c.port(ServiceKind::Scoring), 6000);
        assert_eq!(
            c.db_target(ServiceKind::Reporting),
            DbTarget::Postgres {
                url: "postgres://u:pw@db/earshot".into(),
                schema: "reporting".into()
            }
        );
        assert!(
            !c.db_target(ServiceKind::Reporting)
                .to_string()
                .contains("pw")
        );

        figment::Jail::expect_with(|jail| {
            jail.set_env("EARSHOT_J_SCORING__PORT", "7000");
            jail.set_env("EARSHOT_J_LOG__FORMAT", "json");
            // Not a setting: ignored rather than refused.
            jail.set_env("EARSHOT_J_REQUIRE_POSTGRES", "1");
            jail.set_env("EARSHOT_J_CONFIG", "elsewhere.toml");
            let overrides = Overrides {
                data_dir: Some("/flag".into()),
                ..Default::default()
            };
            let c = Config::load_from(
                Some(&path),
                &overrides,
                Env::prefixed("EARSHOT_J_").split("__"),
            )
            .unwrap();
            assert_eq!(c.port(ServiceKind::Scoring), 7000);
            assert_eq!(c.log.format, LogFormat::Json);
            assert_eq!(c.data_dir, PathBuf::from("/flag"));
            Ok(())
        });
    }

    #[test]
    fn bad_config_is_one_clear_line() {
        let dir = tempfile::tempdir().unwrap();
        let cases = [
            ("[server]\nrequest_timeout = \"soon\"", "request_timeout"),
            ("[database]\nurl = \"mysql://x\"", "database.url"),
            ("[sampling]\nport = 1\n[scoring]\nport = 1", "port 1"),
            ("colour = \"blue\"", "colour"),
            ("[auth]\nhs256_secret = \"short\"", "32 bytes"),
            ("[tls]\ncert_file = \"a.pem\"", "go together"),
            ("[tls]\nclient_ca_file = \"ca.pem\"", "mutual TLS"),
            (
                "[server]\ntenant_rate_per_second = -1.0",
                "server.tenant_rate_per_second",
            ),
            (
                "[server]\ntenant_rate_per_second = 5.0\ntenant_burst = 0",
                "server.tenant_burst",
            ),
        ];
        for (i, (text, needle)) in cases.iter().enumerate() {
            let path = dir.path().join(format!("c{i}.toml"));
            std::fs::write(&path, text).unwrap();
            let err = Config::load_from(Some(&path), &Overrides::default(), no_env())
                .unwrap_err()
                .to_string();
            assert!(err.contains(needle), "{err:?} should mention {needle:?}");
            assert!(!err.contains('\n'), "{err:?} is not one line");
        }
        let missing = Config::load_from(
            Some(Path::new("/no/such/earshot.toml")),
            &Overrides::default(),
            no_env(),
        )
        .unwrap_err();
        assert!(missing.to_string().contains("does not exist"));
    }

    #[test]
    fn service_names_parse() {
        for k in ServiceKind::ALL {
            assert_eq!(k.name().parse::<ServiceKind>().unwrap(), k);
        }
        assert!("billing".parse::<ServiceKind>().is_err());
    }
}
