//! The suite as a whole: every service answers health and reflection, and
//! nothing but health and reflection answers without a valid token.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use earshot_kit::{auth::Role, config::ServiceKind};
use earshot_tests::{TestEngine, TestSuite};
use futures::StreamExt as _;
use tonic::{Code, codegen::http::uri::PathAndQuery, transport::Channel};
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};
use tonic_reflection::pb::v1::{
    ServerReflectionRequest, server_reflection_client::ServerReflectionClient,
    server_reflection_request::MessageRequest, server_reflection_response::MessageResponse,
};

/// The gRPC service each Earshot service serves.
fn grpc_name(kind: ServiceKind) -> &'static str {
    earshot::spec(kind)
        .service_names
        .first()
        .copied()
        .unwrap_or("")
}

async fn list_services(channel: Channel) -> Vec<String> {
    let mut client = ServerReflectionClient::new(channel);
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut stream = client
        .server_reflection_info(futures::stream::iter([request]))
        .await
        .unwrap()
        .into_inner();
    let response = stream.next().await.unwrap().unwrap();
    match response.message_response.unwrap() {
        MessageResponse::ListServicesResponse(list) => {
            list.service.into_iter().map(|s| s.name).collect()
        }
        other => panic!("unexpected reflection answer {other:?}"),
    }
}

/// Calls `path` with an empty message, as any client would.
async fn raw_call(
    channel: Channel,
    path: &'static str,
    token: Option<&str>,
) -> Result<(), tonic::Status> {
    let mut grpc = tonic::client::Grpc::new(channel);
    grpc.ready().await.unwrap();
    let mut request = tonic::Request::new(());
    if let Some(t) = token {
        request
            .metadata_mut()
            .insert("authorization", format!("Bearer {t}").parse().unwrap());
    }
    let codec: tonic_prost::ProstCodec<(), ()> = tonic_prost::ProstCodec::default();
    grpc.unary(request, PathAndQuery::from_static(path), codec)
        .await
        .map(|_| ())
}

#[tokio::test]
async fn every_service_is_healthy_and_reflects() {
    for engine in TestEngine::available() {
        let suite = TestSuite::start(engine).await.unwrap();
        for kind in ServiceKind::ALL {
            let channel = suite.channel(kind).await.unwrap();
            let mut health = HealthClient::new(channel.clone());
            for service in ["", grpc_name(kind)] {
                let status = health
                    .check(HealthCheckRequest {
                        service: service.into(),
                    })
                    .await
                    .unwrap_or_else(|e| panic!("{engine:?} {kind} health({service}): {e}"))
                    .into_inner()
                    .status;
                assert_eq!(status, ServingStatus::Serving as i32, "{kind} {service}");
            }
            let listed = list_services(channel).await;
            assert!(
                listed.contains(&"grpc.health.v1.Health".to_string()),
                "{kind}: {listed:?}"
            );
            for name in earshot::spec(kind).service_names {
                assert!(listed.contains(&name.to_string()), "{kind}: {listed:?}");
            }
        }
        suite.stop().await.unwrap();
    }
}

#[tokio::test]
async fn calls_without_a_valid_token_are_unauthenticated() {
    let suite = TestSuite::start(TestEngine::Sqlite).await.unwrap();
    let paths = [
        (
            ServiceKind::Sampling,
            "/earshot.sampling.v1.SamplingService/GetSettings",
        ),
        (
            ServiceKind::Scoring,
            "/earshot.scoring.v1.ScoringService/GetSettings",
        ),
        (
            ServiceKind::Calibration,
            "/earshot.calibration.v1.CalibrationService/GetSettings",
        ),
        (
            ServiceKind::Reporting,
            "/earshot.reporting.v1.ReportingService/GetSettings",
        ),
    ];
    let forged = earshot_kit::auth::TokenIssuer::hs256(
        b"not-the-suite-secret-not-the-suite-secret",
        "earshot",
        "earshot",
    )
    .mint(&earshot_kit::auth::TokenRequest {
        tenant: "acme".into(),
        subject: "mallory".into(),
        roles: vec![Role::Admin],
        teams: vec![],
        ttl: std::time::Duration::from_secs(60),
    })
    .unwrap();
    for (kind, path) in paths {
        let channel = suite.channel(kind).await.unwrap();
        for token in [None, Some("garbage"), Some(forged.as_str())] {
            let err = raw_call(channel.clone(), path, token).await.unwrap_err();
            assert_eq!(err.code(), Code::Unauthenticated, "{kind} with {token:?}");
        }
        // A valid token passes authentication: whatever the service answers,
        // it is not UNAUTHENTICATED.
        let good = suite.token("acme", "alice", &[Role::Admin]);
        if let Err(status) = raw_call(channel.clone(), path, Some(&good)).await {
            assert_ne!(status.code(), Code::Unauthenticated, "{kind}");
        }
    }
    suite.stop().await.unwrap();
}

#[tokio::test]
async fn shutdown_turns_health_off_and_stops() {
    let suite = TestSuite::start(TestEngine::Sqlite).await.unwrap();
    let channel = suite.channel(ServiceKind::Sampling).await.unwrap();
    let mut health = HealthClient::new(channel);
    let mut watch = health
        .watch(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    let first = watch.next().await.unwrap().unwrap();
    assert_eq!(first.status, ServingStatus::Serving as i32);
    let token = suite.suite.shutdown_token();
    let stopping = tokio::spawn(suite.stop());
    token.cancel();
    let next = watch.next().await;
    if let Some(Ok(update)) = next {
        assert_eq!(update.status, ServingStatus::NotServing as i32);
    }
    tokio::time::timeout(std::time::Duration::from_secs(10), stopping)
        .await
        .expect("the suite stops within its grace period")
        .unwrap()
        .unwrap();
}
