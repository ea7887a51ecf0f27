//! Command-line interface of the `earshot` binary.

use std::{net::IpAddr, path::PathBuf, process::ExitCode, time::Duration};

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::client::{
    Clients, ConnectArgs,
    commands::{
        self, AssignmentsCommand, IngestCommand, PlanCommand, ReportArgs, ScorecardCommand,
    },
};
use earshot_kit::{
    auth::{Role, TokenRequest, keys_from_config},
    config::{Config, LogFormat, Overrides, ServiceKind},
    error::Error,
    shutdown, telemetry,
};

/// The `earshot` program: parses the command line and runs it on a
/// multi-threaded runtime. (The end-to-end fault tests run this same
/// program as a child process to kill it.)
pub fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("earshot: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(cli.run())
}

/// Earshot: quality monitoring for contact centers.
#[derive(Debug, Parser)]
#[command(name = "earshot", version, about, long_about = None)]
pub struct Cli {
    #[command(flatten)]
    global: GlobalArgs,
    #[command(flatten)]
    connect: ConnectArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Args)]
struct GlobalArgs {
    /// Config file (TOML). Default: ./earshot.toml when it exists.
    #[arg(long, global = true, env = "EARSHOT_CONFIG")]
    config: Option<PathBuf>,
    /// Data directory for the embedded SQLite databases and token secret.
    #[arg(long, global = true)]
    data_dir: Option<PathBuf>,
    /// PostgreSQL URL (one schema per service) instead of embedded SQLite.
    #[arg(long, global = true)]
    database_url: Option<String>,
    /// Address to listen on.
    #[arg(long, global = true)]
    host: Option<IpAddr>,
    /// Log format.
    #[arg(long, global = true, value_enum)]
    log_format: Option<LogFormatArg>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LogFormatArg {
    Human,
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Start a throw-away suite, fill it with a generated contact center,
    /// run the whole quality program on it and write the reports as one
    /// HTML page.
    Demo(crate::demo::DemoArgs),
    /// Run sustained mixed load (ingest, reads, evaluations, reports) on a
    /// throw-away suite for a bounded time and print latency, errors and
    /// memory.
    Soak(crate::soak::SoakArgs),
    /// Import, validate, export, publish and list scorecards.
    #[command(subcommand)]
    Scorecard(ScorecardCommand),
    /// Create, preview and list sampling plans.
    #[command(subcommand)]
    Plan(PlanCommand),
    /// Send interactions or survey answers from CSV or JSON Lines files.
    #[command(subcommand)]
    Ingest(IngestCommand),
    /// List evaluation assignments.
    #[command(subcommand)]
    Assignments(AssignmentsCommand),
    /// Run a report: as a table, CSV or JSON.
    Report(ReportArgs),
    /// Run the services (all four by default), each on its own port.
    Serve {
        /// Which services to run, comma-separated
        /// (sampling,scoring,calibration,reporting).
        #[arg(
            long,
            value_delimiter = ',',
            default_value = "sampling,scoring,calibration,reporting"
        )]
        services: Vec<ServiceKind>,
    },
    /// Apply database migrations and exit.
    Migrate {
        /// Which services' databases, comma-separated.
        #[arg(
            long,
            value_delimiter = ',',
            default_value = "sampling,scoring,calibration,reporting"
        )]
        services: Vec<ServiceKind>,
    },
    /// Mint a bearer token signed with the embedded HS256 secret, for
    /// development and for the command-line client.
    Token {
        /// The tenant the token is for.
        #[arg(long, default_value = "demo")]
        tenant: String,
        /// The subject: user id (agent, evaluator ...) or integration id.
        #[arg(long, default_value = "admin")]
        subject: String,
        /// Roles to grant (repeat the flag): admin, qa_manager, evaluator,
        /// supervisor, agent, integration.
        #[arg(long = "role", default_value = "admin", value_parser = parse_role)]
        roles: Vec<Role>,
        /// For supervisors: teams they may see (repeat the flag).
        #[arg(long = "team")]
        teams: Vec<String>,
        /// How long the token is valid, e.g. 12h, 7d.
        #[arg(long, default_value = "24h", value_parser = humantime_duration)]
        ttl: Duration,
    },
    /// Print the configuration in effect (defaults, file, environment, flags).
    Config,
    /// Check the services answer `grpc.health.v1.Health` (for container
    /// health checks and probes where TLS rules out native gRPC probes).
    /// Exit code 0 when every checked service is SERVING.
    Health {
        /// Which services, comma-separated; their endpoints come from config.
        #[arg(
            long,
            value_delimiter = ',',
            default_value = "sampling,scoring,calibration,reporting"
        )]
        services: Vec<ServiceKind>,
        /// Seconds to wait for each answer.
        #[arg(long, default_value_t = 3)]
        timeout: u64,
    },
}

fn parse_role(s: &str) -> Result<Role, String> {
    match Role::parse(s) {
        Some(Role::Service) => Err("the service role is for Earshot's own services".into()),
        Some(r) => Ok(r),
        None => Err(format!(
            "unknown role {s:?}; expected admin, qa_manager, evaluator, supervisor, agent or integration"
        )),
    }
}

fn humantime_duration(s: &str) -> Result<Duration, String> {
    let d = parse_duration(s)?;
    if d.is_zero() {
        return Err("must be longer than zero".into());
    }
    Ok(d)
}

fn parse_duration(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| format!("{s:?} needs a unit: s, m, h or d"))?;
    let (n, unit) = s.split_at(split);
    let n: u64 = n.parse().map_err(|_| format!("{s:?} is not a duration"))?;
    let secs = match unit {
        "s" => n,
        "m" => n.saturating_mul(60),
        "h" => n.saturating_mul(3600),
        "d" => n.saturating_mul(86_400),
        _ => return Err(format!("{s:?}: unit must be s, m, h or d")),
    };
    Ok(Duration::from_secs(secs))
}

impl Cli {
    /// Runs the command; the exit code says how it went.
    pub async fn run(self) -> ExitCode {
        let overrides = Overrides {
            data_dir: self.global.data_dir.clone(),
            database_url: self.global.database_url.clone(),
            host: self.global.host,
            log_format: self.global.log_format.map(|f| match f {
                LogFormatArg::Human => LogFormat::Human,
                LogFormatArg::Json => LogFormat::Json,
            }),
        };
        let config = match Config::load(self.global.config.as_deref(), &overrides) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("earshot: {e}");
                return ExitCode::from(2);
            }
        };
        let mut config = config;
        if matches!(self.command, Command::Demo(_) | Command::Soak(_))
            && std::env::var_os("EARSHOT_LOG__FILTER").is_none()
        {
            // The demo and the soak narrate; the services' own logs would drown them.
            config.log.filter = "warn".into();
        }
        telemetry::init(&config.log);
        let client = |config: &Config| Clients::from_config(config, &self.connect);
        match self.command {
            Command::Demo(args) => match crate::demo::run(config, args).await {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => fail_client(&e),
            },
            Command::Soak(args) => match crate::soak::run(config, args).await {
                Ok(true) => ExitCode::SUCCESS,
                Ok(false) => ExitCode::FAILURE,
                Err(e) => fail_client(&e),
            },
            Command::Scorecard(cmd) => match client(&config) {
                Ok(c) => done(commands::scorecard(&c, cmd).await),
                Err(e) => fail_client(&e),
            },
            Command::Plan(cmd) => match client(&config) {
                Ok(c) => done(commands::plan(&c, cmd).await),
                Err(e) => fail_client(&e),
            },
            Command::Ingest(cmd) => match client(&config) {
                Ok(c) => done(commands::ingest(&c, cmd).await),
                Err(e) => fail_client(&e),
            },
            Command::Assignments(cmd) => match client(&config) {
                Ok(c) => done(commands::assignments(&c, cmd).await),
                Err(e) => fail_client(&e),
            },
            Command::Report(args) => match client(&config) {
                Ok(c) => done(commands::report(&c, args).await),
                Err(e) => fail_client(&e),
            },
            Command::Serve { services } => serve(config, &services).await,
            Command::Migrate { services } => match crate::migrate(&config, &services).await {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => fail(&e),
            },
            Command::Token {
                tenant,
                subject,
                roles,
                teams,
                ttl,
            } => token(&config, tenant, subject, roles, teams, ttl),
            Command::Health { services, timeout } => {
                health(&config, &services, Duration::from_secs(timeout)).await
            }
            Command::Config => match toml_string(&config) {
                Ok(s) => {
                    print!("{s}");
                    ExitCode::SUCCESS
                }
                Err(e) => fail(&e),
            },
        }
    }
}

fn toml_string(config: &Config) -> Result<String, Error> {
    // Render through JSON to keep the dependency list short; TOML readers
    // accept the same keys.
    let value = serde_json::to_value(config).map_err(Error::internal)?;
    let mut out = String::new();
    render_toml(&value, "", &mut out);
    Ok(out)
}

fn render_toml(value: &serde_json::Value, path: &str, out: &mut String) {
    use serde_json::Value;
    let Value::Object(map) = value else { return };
    for (k, v) in map {
        match v {
            Value::Object(_) => {}
            Value::Null => out.push_str(&format!("# {k} = (unset)\n")),
            other => out.push_str(&format!("{k} = {other}\n")),
        }
    }
    for (k, v) in map {
        if let Value::Object(_) = v {
            let p = if path.is_empty() {
                k.clone()
            } else {
                format!("{path}.{k}")
            };
            out.push_str(&format!("\n[{p}]\n"));
            render_toml(v, &p, out);
        }
    }
}

async fn serve(config: Config, services: &[ServiceKind]) -> ExitCode {
    let shutdown = shutdown::on_signal();
    let suite = match crate::start(config, services, shutdown).await {
        Ok(s) => s,
        Err(e) => return fail(&e),
    };
    for (kind, addr) in &suite.addrs {
        eprintln!("earshot: {kind:<11} listening on {addr}");
    }
    if suite.issuer.is_some() {
        eprintln!(
            "earshot: mint a token with `earshot token --tenant demo --role admin`; stop with Ctrl-C"
        );
    }
    match suite.wait().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail(&e),
    }
}

fn token(
    config: &Config,
    tenant: String,
    subject: String,
    roles: Vec<Role>,
    teams: Vec<String>,
    ttl: Duration,
) -> ExitCode {
    let issuer = match keys_from_config(config) {
        Ok((_, Some(issuer))) => issuer,
        Ok((_, None)) => {
            eprintln!(
                "earshot: tokens are verified with RS256 here; ask your identity provider for one"
            );
            return ExitCode::from(2);
        }
        Err(e) => return fail(&e),
    };
    if tenant.trim().is_empty() || tenant == earshot_kit::auth::SYSTEM_TENANT {
        eprintln!("earshot: --tenant must name a tenant");
        return ExitCode::from(2);
    }
    match issuer.mint(&TokenRequest {
        tenant,
        subject,
        roles,
        teams,
        ttl,
    }) {
        Ok(t) => {
            println!("{t}");
            ExitCode::SUCCESS
        }
        Err(e) => fail(&e),
    }
}

async fn health(config: &Config, services: &[ServiceKind], timeout: Duration) -> ExitCode {
    use tonic_health::pb::{
        HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
    };
    let client_tls = match earshot_kit::server::client_tls(&config.tls) {
        Ok(t) => t,
        Err(e) => return fail(&e),
    };
    let mut healthy = true;
    for kind in services {
        let url = config.endpoint(*kind);
        let status = async {
            let channel = earshot_kit::server::connect_lazy(&url, timeout, client_tls.clone())?;
            let answer = tokio::time::timeout(
                timeout,
                HealthClient::new(channel).check(HealthCheckRequest {
                    service: String::new(),
                }),
            )
            .await
            .map_err(|_| Error::DeadlineExceeded("no answer".into()))?
            .map_err(|s| Error::Unavailable(s.message().to_owned()))?;
            Ok::<_, Error>(answer.into_inner().status)
        }
        .await;
        match status {
            Ok(s) if s == ServingStatus::Serving as i32 => println!("{kind:<11} {url} SERVING"),
            Ok(s) => {
                healthy = false;
                let name = ServingStatus::try_from(s)
                    .map(|v| v.as_str_name())
                    .unwrap_or("UNKNOWN");
                println!("{kind:<11} {url} {name}");
            }
            Err(e) => {
                healthy = false;
                println!("{kind:<11} {url} DOWN ({e})");
            }
        }
    }
    if healthy {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn done(r: anyhow::Result<()>) -> ExitCode {
    match r {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => fail_client(&e),
    }
}

/// Prints a client error and returns a failing exit code.
fn fail_client(e: &anyhow::Error) -> ExitCode {
    eprintln!("earshot: {e}");
    ExitCode::FAILURE
}

/// Prints one line for `e` and returns a failing exit code.
pub fn fail(e: &Error) -> ExitCode {
    let msg = match e {
        Error::Unavailable(m) | Error::Internal(m) => m.clone(),
        other => other.to_string(),
    };
    eprintln!("earshot: {}", msg.replace('\n', " "));
    ExitCode::FAILURE
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90s").unwrap(), Duration::from_secs(90));
        assert_eq!(
            parse_duration("7d").unwrap(),
            Duration::from_secs(7 * 86_400)
        );
        assert!(parse_duration("7").is_err());
        assert!(parse_duration("7w").is_err());
        assert!(humantime_duration("0h").is_err());
    }

    #[test]
    fn roles() {
        assert_eq!(parse_role("qa_manager").unwrap(), Role::QaManager);
        assert!(parse_role("service").is_err());
        assert!(parse_role("root").is_err());
        // `earshot token` never mints the service role for a person, alone
        // or beside another role.
        for roles in [&["service"][..], &["admin", "service"]] {
            let mut args = vec!["earshot", "token", "--tenant", "acme"];
            for r in roles {
                args.extend(["--role", r]);
            }
            assert!(Cli::try_parse_from(&args).is_err(), "{args:?}");
        }
        assert!(Cli::try_parse_from(["earshot", "token", "--role", "admin"]).is_ok());
    }

    #[test]
    fn cli_parses() {
        use clap::CommandFactory as _;
        Cli::command().debug_assert();
        let cli =
            Cli::try_parse_from(["earshot", "serve", "--services", "sampling,scoring"]).unwrap();
        match cli.command {
            Command::Serve { services } => {
                assert_eq!(services, [ServiceKind::Sampling, ServiceKind::Scoring])
            }
            _ => panic!("wrong command"),
        }
        assert!(Cli::try_parse_from(["earshot", "serve", "--services", "billing"]).is_err());
    }
}
