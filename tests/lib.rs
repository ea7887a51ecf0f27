//! The end-to-end harness: the whole suite on ephemeral ports, on a fresh
//! SQLite directory or a fresh PostgreSQL database, with typed clients.
//!
//! It lives here rather than in `earshot-kit` because starting the suite
//! needs the service crates, which depend on the kit; the kit's `testing`
//! feature supplies the parts (fresh storage, tokens) and this crate puts
//! them together, as zero-to-production's `spawn_app()` does.
//!
//! Logs stay silent unless `TEST_LOG` is set.

use std::time::Duration;

use earshot::Suite;
use earshot_kit::{
    auth::Role,
    config::{Config, ServiceKind},
    testing::{self, Engine, TestStorage},
};
use tokio_util::sync::CancellationToken;
use tonic::{
    metadata::MetadataValue,
    service::{Interceptor, interceptor::InterceptedService},
    transport::Channel,
};

pub use earshot_kit::testing::Engine as TestEngine;
use earshot_proto::{
    calibration::v1::calibration_service_client::CalibrationServiceClient,
    reporting::v1::reporting_service_client::ReportingServiceClient,
    sampling::v1::sampling_service_client::SamplingServiceClient,
    scoring::v1::scoring_service_client::ScoringServiceClient,
};

/// A channel whose calls carry a bearer token.
pub type AuthedChannel = InterceptedService<Channel, Bearer>;
/// A typed sampling client.
pub type SamplingClient = SamplingServiceClient<AuthedChannel>;
/// A typed scoring client.
pub type ScoringClient = ScoringServiceClient<AuthedChannel>;
/// A typed calibration client.
pub type CalibrationClient = CalibrationServiceClient<AuthedChannel>;
/// A typed reporting client.
pub type ReportingClient = ReportingServiceClient<AuthedChannel>;

/// A running suite and the storage behind it (removed on drop).
pub struct TestSuite {
    /// The suite.
    pub suite: Suite,
    /// Which engine it runs on.
    pub engine: Engine,
    /// Reporting, when started apart from the others ([`TestSuite::start_split`]).
    reporting: Option<Suite>,
    /// The configuration reporting is (re)started with when split.
    reporting_config: Option<Config>,
    // Dropped last: the suite must stop before its database goes.
    _storage: TestStorage,
}

impl TestSuite {
    /// Starts all four services on `engine`.
    pub async fn start(engine: Engine) -> anyhow::Result<TestSuite> {
        Self::start_with(engine, |_| {}).await
    }

    /// Starts all four services on `engine`, after `adjust` edits the
    /// configuration.
    pub async fn start_with(
        engine: Engine,
        adjust: impl FnOnce(&mut Config),
    ) -> anyhow::Result<TestSuite> {
        earshot_kit::telemetry::init_for_tests();
        let storage = TestStorage::new(engine)
            .await
            .map_err(|e| anyhow::anyhow!("test storage: {e}"))?;
        let mut config = Config {
            data_dir: storage.dir.path().to_path_buf(),
            ..Config::default()
        };
        config.database.url = storage.postgres_url.clone();
        config.database.max_connections = 4;
        config.auth.hs256_secret = Some(testing::TEST_SECRET.into());
        config.server.shutdown_grace = Duration::from_secs(2);
        for kind in ServiceKind::ALL {
            config.service_mut(kind).port = Some(0);
        }
        adjust(&mut config);
        let suite = earshot::start(config, &ServiceKind::ALL, CancellationToken::new()).await?;
        Ok(TestSuite {
            suite,
            engine,
            reporting: None,
            reporting_config: None,
            _storage: storage,
        })
    }

    /// Starts sampling, scoring and calibration together and reporting as a
    /// process of its own, so a test can stop and restart reporting while
    /// the others keep running ([`TestSuite::stop_reporting`],
    /// [`TestSuite::start_reporting`]).
    pub async fn start_split(engine: Engine) -> anyhow::Result<TestSuite> {
        earshot_kit::telemetry::init_for_tests();
        let storage = TestStorage::new(engine)
            .await
            .map_err(|e| anyhow::anyhow!("test storage: {e}"))?;
        let mut config = Config {
            data_dir: storage.dir.path().to_path_buf(),
            ..Config::default()
        };
        config.database.url = storage.postgres_url.clone();
        config.database.max_connections = 4;
        config.auth.hs256_secret = Some(testing::TEST_SECRET.into());
        config.server.shutdown_grace = Duration::from_secs(2);
        for kind in ServiceKind::ALL {
            config.service_mut(kind).port = Some(0);
        }
        let others = [
            ServiceKind::Sampling,
            ServiceKind::Scoring,
            ServiceKind::Calibration,
        ];
        let suite = earshot::start(config.clone(), &others, CancellationToken::new()).await?;
        for kind in others {
            config.service_mut(kind).endpoint = suite.url(kind);
        }
        let mut t = TestSuite {
            suite,
            engine,
            reporting: None,
            reporting_config: Some(config),
            _storage: storage,
        };
        t.start_reporting().await?;
        Ok(t)
    }

    /// Starts reporting again after [`TestSuite::stop_reporting`] (split
    /// suites only); it resumes from its stored cursors.
    pub async fn start_reporting(&mut self) -> anyhow::Result<()> {
        let config = self
            .reporting_config
            .clone()
            .ok_or_else(|| anyhow::anyhow!("reporting is not started apart"))?;
        if self.reporting.is_none() {
            self.reporting = Some(
                earshot::start(config, &[ServiceKind::Reporting], CancellationToken::new()).await?,
            );
        }
        Ok(())
    }

    /// Stops reporting alone (split suites only).
    pub async fn stop_reporting(&mut self) -> anyhow::Result<()> {
        if let Some(r) = self.reporting.take() {
            r.stop().await?;
        }
        Ok(())
    }

    /// A channel to a service.
    pub async fn channel(&self, kind: ServiceKind) -> anyhow::Result<Channel> {
        let url = self
            .suite
            .url(kind)
            .or_else(|| self.reporting.as_ref().and_then(|r| r.url(kind)))
            .ok_or_else(|| anyhow::anyhow!("{kind} is not running"))?;
        Ok(Channel::from_shared(url)?.connect().await?)
    }

    /// A channel to a service whose calls carry `token`.
    pub async fn authed(
        &self,
        kind: ServiceKind,
        token: &str,
    ) -> anyhow::Result<InterceptedService<Channel, Bearer>> {
        let channel = self.channel(kind).await?;
        Ok(InterceptedService::new(channel, Bearer::new(token)?))
    }

    /// A sampling client acting with `token`.
    pub async fn sampling(&self, token: &str) -> anyhow::Result<SamplingClient> {
        Ok(SamplingServiceClient::new(
            self.authed(ServiceKind::Sampling, token).await?,
        ))
    }

    /// A scoring client acting with `token`.
    pub async fn scoring(&self, token: &str) -> anyhow::Result<ScoringClient> {
        Ok(ScoringServiceClient::new(
            self.authed(ServiceKind::Scoring, token).await?,
        ))
    }

    /// A calibration client acting with `token`.
    pub async fn calibration(&self, token: &str) -> anyhow::Result<CalibrationClient> {
        Ok(CalibrationServiceClient::new(
            self.authed(ServiceKind::Calibration, token).await?,
        ))
    }

    /// A reporting client acting with `token`.
    pub async fn reporting(&self, token: &str) -> anyhow::Result<ReportingClient> {
        Ok(ReportingServiceClient::new(
            self.authed(ServiceKind::Reporting, token).await?,
        ))
    }

    /// A token for `subject` of `tenant` with `roles`.
    pub fn token(&self, tenant: &str, subject: &str, roles: &[Role]) -> String {
        testing::token(tenant, subject, roles)
    }

    /// Where the service named `service` keeps its data (its SQLite file
    /// or its PostgreSQL schema), for tests that look inside the stores.
    pub fn db_target(&self, service: &str) -> earshot_kit::config::DbTarget {
        self._storage.target(service)
    }

    /// Stops the suite and waits for it.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        self.stop_reporting().await?;
        self.suite.stop().await?;
        Ok(())
    }
}

/// Adds `authorization: Bearer <token>` to every call.
#[derive(Clone)]
pub struct Bearer(MetadataValue<tonic::metadata::Ascii>);

impl Bearer {
    /// An interceptor presenting `token`.
    pub fn new(token: &str) -> anyhow::Result<Bearer> {
        Ok(Bearer(format!("Bearer {token}").parse()?))
    }
}

impl Interceptor for Bearer {
    fn call(&mut self, mut req: tonic::Request<()>) -> Result<tonic::Request<()>, tonic::Status> {
        req.metadata_mut().insert("authorization", self.0.clone());
        Ok(req)
    }
}
