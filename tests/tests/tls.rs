//! TLS and mutual TLS: with certificates configured every service serves
//! TLS, and with a client CA only callers presenting a certificate it signed
//! get through the handshake.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;

use earshot_kit::config::ServiceKind;
use earshot_tests::{TestEngine, TestSuite};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Identity};
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

fn fixture(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/tls")
        .join(name)
}

fn read(name: &str) -> Vec<u8> {
    std::fs::read(fixture(name)).unwrap()
}

async fn health(channel: Channel) -> Result<i32, tonic::Status> {
    HealthClient::new(channel)
        .check(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .map(|r| r.into_inner().status)
}

#[tokio::test]
async fn mutual_tls_admits_only_certified_callers() {
    let suite = TestSuite::start_with(TestEngine::Sqlite, |c| {
        c.tls.cert_file = Some(fixture("server.crt"));
        c.tls.key_file = Some(fixture("server.key"));
        c.tls.client_ca_file = Some(fixture("ca.crt"));
        c.tls.ca_file = Some(fixture("ca.crt"));
        c.tls.client_cert_file = Some(fixture("client.crt"));
        c.tls.client_key_file = Some(fixture("client.key"));
    })
    .await
    .unwrap();
    for kind in ServiceKind::ALL {
        let port = suite.suite.addrs[&kind].port();
        let url = format!("https://localhost:{port}");
        let ca = Certificate::from_pem(read("ca.crt"));

        // A client with a certificate the CA signed gets in.
        let tls = ClientTlsConfig::new()
            .ca_certificate(ca.clone())
            .identity(Identity::from_pem(read("client.crt"), read("client.key")));
        let channel = Channel::from_shared(url.clone())
            .unwrap()
            .tls_config(tls)
            .unwrap()
            .connect()
            .await
            .unwrap();
        assert_eq!(
            health(channel).await.unwrap(),
            ServingStatus::Serving as i32
        );

        // Without a client certificate the handshake is refused.
        let tls = ClientTlsConfig::new().ca_certificate(ca);
        let refused = match Channel::from_shared(url)
            .unwrap()
            .tls_config(tls)
            .unwrap()
            .connect()
            .await
        {
            Err(_) => true,
            Ok(channel) => health(channel).await.is_err(),
        };
        assert!(refused, "{kind}: a caller without a certificate got in");

        // Plaintext does not get a gRPC answer either.
        let plain = format!("http://127.0.0.1:{port}");
        let refused = match Channel::from_shared(plain).unwrap().connect().await {
            Err(_) => true,
            Ok(channel) => health(channel).await.is_err(),
        };
        assert!(refused, "{kind}: plaintext got in");
    }
    suite.stop().await.unwrap();
}
