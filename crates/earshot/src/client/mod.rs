//! The command-line client: typed gRPC clients to a running suite, and the
//! admin and QA-manager subcommands built on them.
//!
//! Where a service is: `--<service>-address` / `EARSHOT_<SERVICE>_ADDRESS`
//! (a full URL), else `--address` / `EARSHOT_ADDRESS` / `client.address`
//! (scheme and host; the service's configured port is added), else the
//! service's configured endpoint — `http://127.0.0.1:5005x` for the local
//! suite. The token: `--token` / `EARSHOT_TOKEN` / `client.token`, else one
//! minted from the embedded secret (the suite runs on this machine).

use std::{collections::BTreeMap, future::Future, time::Duration};

use clap::Args;
use earshot_kit::{
    auth::{Role, TokenRequest, keys_from_config},
    config::{Config, ServiceKind},
};
use earshot_proto::{
    calibration::v1::calibration_service_client::CalibrationServiceClient,
    reporting::v1::reporting_service_client::ReportingServiceClient,
    sampling::v1::sampling_service_client::SamplingServiceClient,
    scoring::v1::scoring_service_client::ScoringServiceClient,
};
use tonic::{
    Code, Status,
    metadata::{Ascii, MetadataValue},
    service::{Interceptor, interceptor::InterceptedService},
    transport::{Channel, ClientTlsConfig},
};
use tonic_types::StatusExt as _;

pub mod commands;
pub mod csv;
pub mod ingest;
pub mod report;
pub mod table;

/// A channel whose calls carry a bearer token.
pub type AuthedChannel = InterceptedService<Channel, Bearer>;

/// Flags naming the suite and the credentials (all global).
#[derive(Debug, Clone, Default, Args)]
pub struct ConnectArgs {
    /// Scheme and host of the suite (each service's port from config),
    /// e.g. http://10.0.0.5.
    #[arg(long, global = true, env = "EARSHOT_ADDRESS")]
    pub address: Option<String>,
    /// Full URL of the sampling service.
    #[arg(long, global = true, env = "EARSHOT_SAMPLING_ADDRESS")]
    pub sampling_address: Option<String>,
    /// Full URL of the scoring service.
    #[arg(long, global = true, env = "EARSHOT_SCORING_ADDRESS")]
    pub scoring_address: Option<String>,
    /// Full URL of the calibration service.
    #[arg(long, global = true, env = "EARSHOT_CALIBRATION_ADDRESS")]
    pub calibration_address: Option<String>,
    /// Full URL of the reporting service.
    #[arg(long, global = true, env = "EARSHOT_REPORTING_ADDRESS")]
    pub reporting_address: Option<String>,
    /// Bearer token. Default: minted from the embedded secret for tenant
    /// "demo" as an admin and QA manager.
    #[arg(long, global = true, env = "EARSHOT_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
}

/// Adds `authorization: Bearer <token>` to every call.
#[derive(Clone)]
pub struct Bearer(MetadataValue<Ascii>);

impl Bearer {
    /// An interceptor presenting `token`.
    pub fn new(token: &str) -> anyhow::Result<Bearer> {
        let value = format!("Bearer {}", token.trim())
            .parse()
            .map_err(|_| anyhow::anyhow!("the token contains characters a header cannot carry"))?;
        Ok(Bearer(value))
    }
}

impl Interceptor for Bearer {
    fn call(&mut self, mut req: tonic::Request<()>) -> Result<tonic::Request<()>, Status> {
        req.metadata_mut().insert("authorization", self.0.clone());
        Ok(req)
    }
}

/// Where the services are and how to call them.
#[derive(Clone)]
pub struct Clients {
    urls: BTreeMap<ServiceKind, String>,
    bearer: Bearer,
    tls: Option<ClientTlsConfig>,
    timeout: Duration,
}

impl std::fmt::Debug for Clients {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Clients")
            .field("urls", &self.urls)
            .finish_non_exhaustive()
    }
}

/// The tenant and subject of the token minted when none is given.
pub const DEFAULT_TENANT: &str = "demo";

impl Clients {
    /// Resolves addresses and the token from flags, environment and config.
    pub fn from_config(config: &Config, args: &ConnectArgs) -> anyhow::Result<Clients> {
        let base = args
            .address
            .clone()
            .or_else(|| config.client.address.clone());
        let mut urls = BTreeMap::new();
        for kind in ServiceKind::ALL {
            let own = match kind {
                ServiceKind::Sampling => &args.sampling_address,
                ServiceKind::Scoring => &args.scoring_address,
                ServiceKind::Calibration => &args.calibration_address,
                ServiceKind::Reporting => &args.reporting_address,
            };
            let url = match (own, &base) {
                (Some(u), _) => u.clone(),
                (None, Some(b)) => with_port(b, config.port(kind))?,
                (None, None) => config.endpoint(kind),
            };
            urls.insert(kind, url);
        }
        let token = match args.token.clone().or_else(|| config.client.token.clone()) {
            Some(t) => t,
            None => mint_local(config, DEFAULT_TENANT)?,
        };
        let tls = earshot_kit::server::client_tls(&config.tls)
            .map_err(|e| anyhow::anyhow!("{}", one_line(&e.to_string())))?;
        Ok(Clients {
            urls,
            bearer: Bearer::new(&token)?,
            tls,
            timeout: Duration::from_secs(120),
        })
    }

    /// Clients of the services at `urls`, presenting `token`.
    pub fn new(urls: BTreeMap<ServiceKind, String>, token: &str) -> anyhow::Result<Clients> {
        Ok(Clients {
            urls,
            bearer: Bearer::new(token)?,
            tls: None,
            timeout: Duration::from_secs(120),
        })
    }

    /// The same services, presenting another token.
    pub fn with_token(&self, token: &str) -> anyhow::Result<Clients> {
        Ok(Clients {
            bearer: Bearer::new(token)?,
            ..self.clone()
        })
    }

    /// The URL of a service.
    pub fn url(&self, kind: ServiceKind) -> &str {
        self.urls.get(&kind).map(String::as_str).unwrap_or_default()
    }

    fn channel(&self, kind: ServiceKind) -> anyhow::Result<AuthedChannel> {
        let url = self.url(kind);
        let channel = earshot_kit::server::connect_lazy(url, self.timeout, self.tls.clone())
            .map_err(|e| anyhow::anyhow!("{kind}: {}", one_line(&e.to_string())))?;
        Ok(InterceptedService::new(channel, self.bearer.clone()))
    }

    /// A sampling client.
    pub fn sampling(&self) -> anyhow::Result<SamplingServiceClient<AuthedChannel>> {
        Ok(
            SamplingServiceClient::new(self.channel(ServiceKind::Sampling)?)
                .max_decoding_message_size(64 << 20),
        )
    }

    /// A scoring client.
    pub fn scoring(&self) -> anyhow::Result<ScoringServiceClient<AuthedChannel>> {
        Ok(
            ScoringServiceClient::new(self.channel(ServiceKind::Scoring)?)
                .max_decoding_message_size(64 << 20),
        )
    }

    /// A calibration client.
    pub fn calibration(&self) -> anyhow::Result<CalibrationServiceClient<AuthedChannel>> {
        Ok(
            CalibrationServiceClient::new(self.channel(ServiceKind::Calibration)?)
                .max_decoding_message_size(64 << 20),
        )
    }

    /// A reporting client.
    pub fn reporting(&self) -> anyhow::Result<ReportingServiceClient<AuthedChannel>> {
        Ok(
            ReportingServiceClient::new(self.channel(ServiceKind::Reporting)?)
                .max_decoding_message_size(64 << 20),
        )
    }

    /// Awaits one call and turns a failure into a one-line error naming the
    /// service, the problem and, for bad input, every field.
    pub async fn call<T>(
        &self,
        kind: ServiceKind,
        fut: impl Future<Output = Result<tonic::Response<T>, Status>>,
    ) -> anyhow::Result<T> {
        match fut.await {
            Ok(r) => Ok(r.into_inner()),
            Err(s) => Err(RpcError {
                message: describe(kind, self.url(kind), &s),
                code: s.code(),
            }
            .into()),
        }
    }
}

/// A failed call, described in one line.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct RpcError {
    /// The line.
    pub message: String,
    /// The gRPC code.
    pub code: Code,
}

/// Whether `e` is a call the service answered UNIMPLEMENTED.
pub fn is_unimplemented(e: &anyhow::Error) -> bool {
    e.downcast_ref::<RpcError>()
        .is_some_and(|r| r.code == Code::Unimplemented)
}

/// One line for a failed call.
pub fn describe(kind: ServiceKind, url: &str, s: &Status) -> String {
    let msg = one_line(s.message());
    match s.code() {
        Code::Unavailable => format!(
            "cannot reach {kind} at {url} ({msg}); is the suite running? (`earshot serve`, or set EARSHOT_ADDRESS)"
        ),
        Code::Unauthenticated => format!(
            "{kind} refused the token: {msg} (mint one with `earshot token`, pass it with --token or EARSHOT_TOKEN)"
        ),
        Code::PermissionDenied => format!("{kind}: permission denied: {msg}"),
        Code::InvalidArgument => {
            let fields: Vec<String> = s
                .get_details_bad_request()
                .map(|b| {
                    b.field_violations
                        .iter()
                        .map(|v| format!("{}: {}", v.field, v.description))
                        .collect()
                })
                .unwrap_or_default();
            if fields.is_empty() {
                format!("{kind}: invalid request: {msg}")
            } else {
                format!("{kind}: invalid request: {}", fields.join("; "))
            }
        }
        Code::Unimplemented => format!("{kind} does not offer this yet ({msg})"),
        code => format!("{kind}: {}: {msg}", code.description()),
    }
}

/// A token for `tenant` minted from the embedded secret: an admin and QA
/// manager, for a day.
pub fn mint_local(config: &Config, tenant: &str) -> anyhow::Result<String> {
    mint(
        config,
        tenant,
        "earshot-cli",
        &[Role::Admin, Role::QaManager],
    )
}

/// A token minted from the configured HS256 secret.
pub fn mint(
    config: &Config,
    tenant: &str,
    subject: &str,
    roles: &[Role],
) -> anyhow::Result<String> {
    let issuer = match keys_from_config(config) {
        Ok((_, Some(issuer))) => issuer,
        Ok((_, None)) => anyhow::bail!(
            "no token: the suite verifies RS256 tokens; pass one with --token or EARSHOT_TOKEN"
        ),
        Err(e) => anyhow::bail!("no token: {}", one_line(&e.to_string())),
    };
    issuer
        .mint(&TokenRequest {
            tenant: tenant.into(),
            subject: subject.into(),
            roles: roles.to_vec(),
            teams: Vec::new(),
            ttl: Duration::from_secs(24 * 3600),
        })
        .map_err(|e| anyhow::anyhow!("cannot mint a token: {e}"))
}

fn with_port(base: &str, port: u16) -> anyhow::Result<String> {
    let base = base.trim();
    let (scheme, rest) = match base.split_once("://") {
        Some((s, r)) => (s, r.trim_end_matches('/')),
        None => ("http", base.trim_end_matches('/')),
    };
    if scheme != "http" && scheme != "https" {
        anyhow::bail!("--address {base:?}: the scheme must be http or https");
    }
    // A port already given is replaced: each service has its own.
    let host = match rest.rsplit_once(':') {
        Some((h, p))
            if !h.is_empty()
                && !p.is_empty()
                && p.chars().all(|c| c.is_ascii_digit())
                && (!h.contains(':') || h.ends_with(']')) =>
        {
            h
        }
        _ => rest,
    };
    if host.is_empty() || host.contains('/') || (host.contains(':') && !host.ends_with(']')) {
        anyhow::bail!("--address {base:?}: expected scheme and host, e.g. http://10.0.0.5");
    }
    Ok(format!("{scheme}://{host}:{port}"))
}

/// Collapses whitespace so an error fits one line.
pub fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn addresses_take_each_service_port() {
        assert_eq!(
            with_port("http://10.0.0.5", 50051).unwrap(),
            "http://10.0.0.5:50051"
        );
        assert_eq!(
            with_port("10.0.0.5:9", 50052).unwrap(),
            "http://10.0.0.5:50052"
        );
        assert_eq!(
            with_port("https://qm.example.com/", 50054).unwrap(),
            "https://qm.example.com:50054"
        );
        assert_eq!(with_port("http://[::1]", 1).unwrap(), "http://[::1]:1");
        assert!(with_port("ftp://x", 1).is_err());
        assert!(with_port("http://", 1).is_err());
    }
}
