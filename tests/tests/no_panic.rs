//! Random requests never break a service: every RPC of all four services,
//! over real gRPC, gets random messages built from the descriptor set (and
//! random raw bytes), as an admin of one tenant so that they pass
//! authorization. Every call must be answered with a status that fits a
//! malformed request (never UNKNOWN, INTERNAL or UNAVAILABLE, which would be
//! a panic, a bug or a dead peer), and health must still be SERVING at the end.
//!
//! Bytes that are not a valid encoding of the request type are the one
//! exception: tonic answers an undecodable message with INTERNAL (tonic-prost
//! maps a `prost::DecodeError` to `Code::Internal`), before any Earshot code
//! runs, so exactly INTERNAL is accepted there, and only there.
//!
//! `EARSHOT_NO_PANIC_CASES` sets the random messages per RPC (default 12).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::{collections::HashMap, sync::Arc, time::Duration};

use earshot_kit::{auth::Role, config::ServiceKind};
use earshot_tests::{AuthedChannel, TestEngine, TestSuite};
use futures::StreamExt as _;
use proptest::{
    prelude::*,
    strategy::BoxedStrategy,
    test_runner::{Config, TestCaseError, TestRunner},
};
use prost::Message as _;
use prost::bytes::{Buf as _, BufMut as _, Bytes};
use prost_reflect::ReflectMessage as _;
use prost_reflect::{
    DescriptorPool, DynamicMessage, FieldDescriptor, Kind, MapKey, MessageDescriptor,
    MethodDescriptor, Value,
};
use tokio::runtime::Runtime;
use tonic::{
    Code, Status,
    codec::{Codec, DecodeBuf, Decoder, EncodeBuf, Encoder},
    codegen::http::uri::PathAndQuery,
};
use tonic_health::pb::{
    HealthCheckRequest, health_check_response::ServingStatus, health_client::HealthClient,
};

/// How deep random messages nest; deeper fields stay empty.
const DEPTH: u32 = 5;
/// The longest any one call may take before it counts as unanswered.
const CALL_TIMEOUT: Duration = Duration::from_secs(20);
/// How long a server stream may stay silent: live event streams wait for
/// events, which is an answer.
const STREAM_IDLE: Duration = Duration::from_millis(300);

// ---------------------------------------------------------------------------
// A codec that passes encoded messages through as bytes.

#[derive(Default, Clone, Copy)]
struct RawCodec;

struct RawEncoder;
struct RawDecoder;

impl Codec for RawCodec {
    type Encode = Bytes;
    type Decode = Bytes;
    type Encoder = RawEncoder;
    type Decoder = RawDecoder;

    fn encoder(&mut self) -> RawEncoder {
        RawEncoder
    }

    fn decoder(&mut self) -> RawDecoder {
        RawDecoder
    }
}

impl Encoder for RawEncoder {
    type Item = Bytes;
    type Error = Status;

    fn encode(&mut self, item: Bytes, dst: &mut EncodeBuf<'_>) -> Result<(), Status> {
        dst.put_slice(&item);
        Ok(())
    }
}

impl Decoder for RawDecoder {
    type Item = Bytes;
    type Error = Status;

    fn decode(&mut self, src: &mut DecodeBuf<'_>) -> Result<Option<Bytes>, Status> {
        Ok(Some(src.copy_to_bytes(src.remaining())))
    }
}

// ---------------------------------------------------------------------------
// Random messages from descriptors.

/// Strategies per (message, depth left), shared so that the graph stays
/// small for messages used in many places.
#[derive(Default)]
struct Strategies {
    messages: HashMap<(String, u32), BoxedStrategy<DynamicMessage>>,
}

fn text() -> BoxedStrategy<String> {
    prop_oneof![
        Just(String::new()),
        "[a-z0-9_-]{1,12}",
        "[A-Za-z0-9 ./:@+-]{0,24}",
        any::<String>(),
        Just("x".repeat(5000)),
        Just("../../etc/passwd".to_owned()),
        Just("0".to_owned()),
        Just("-1".to_owned()),
        Just("\u{0}".to_owned()),
    ]
    .boxed()
}

fn int64() -> BoxedStrategy<i64> {
    prop_oneof![
        Just(0),
        Just(1),
        Just(-1),
        Just(i64::MIN),
        Just(i64::MAX),
        0i64..2_000_000_000_000,
        -100i64..1000,
        any::<i64>(),
    ]
    .boxed()
}

fn int32() -> BoxedStrategy<i32> {
    prop_oneof![
        Just(0),
        Just(1),
        Just(-1),
        Just(i32::MIN),
        Just(i32::MAX),
        -5i32..1000,
        any::<i32>(),
    ]
    .boxed()
}

fn double() -> BoxedStrategy<f64> {
    prop_oneof![
        Just(0.0),
        Just(-0.0),
        Just(1.0),
        Just(f64::NAN),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        Just(f64::MAX),
        Just(f64::MIN_POSITIVE),
        -10.0f64..110.0,
        any::<f64>(),
    ]
    .boxed()
}

fn map_key(kind: &Kind) -> BoxedStrategy<MapKey> {
    match kind {
        Kind::Bool => any::<bool>().prop_map(MapKey::Bool).boxed(),
        Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => int32().prop_map(MapKey::I32).boxed(),
        Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => int64().prop_map(MapKey::I64).boxed(),
        Kind::Uint32 | Kind::Fixed32 => any::<u32>().prop_map(MapKey::U32).boxed(),
        Kind::Uint64 | Kind::Fixed64 => any::<u64>().prop_map(MapKey::U64).boxed(),
        _ => text().prop_map(MapKey::String).boxed(),
    }
}

impl Strategies {
    fn single(&mut self, kind: &Kind, depth: u32) -> BoxedStrategy<Value> {
        match kind {
            Kind::Double => double().prop_map(Value::F64).boxed(),
            Kind::Float => double().prop_map(|x| Value::F32(x as f32)).boxed(),
            Kind::Int32 | Kind::Sint32 | Kind::Sfixed32 => int32().prop_map(Value::I32).boxed(),
            Kind::Int64 | Kind::Sint64 | Kind::Sfixed64 => int64().prop_map(Value::I64).boxed(),
            Kind::Uint32 | Kind::Fixed32 => any::<u32>().prop_map(Value::U32).boxed(),
            Kind::Uint64 | Kind::Fixed64 => any::<u64>().prop_map(Value::U64).boxed(),
            Kind::Bool => any::<bool>().prop_map(Value::Bool).boxed(),
            Kind::String => text().prop_map(Value::String).boxed(),
            Kind::Bytes => prop::collection::vec(any::<u8>(), 0..32)
                .prop_map(|b| Value::Bytes(b.into()))
                .boxed(),
            Kind::Enum(e) => {
                let numbers: Vec<i32> = e.values().map(|v| v.number()).collect();
                prop_oneof![4 => prop::sample::select(numbers), 1 => int32()]
                    .prop_map(Value::EnumNumber)
                    .boxed()
            }
            Kind::Message(m) => self.message(m, depth).prop_map(Value::Message).boxed(),
        }
    }

    fn field(&mut self, f: &FieldDescriptor, depth: u32) -> BoxedStrategy<Value> {
        let kind = f.kind();
        if f.is_map() {
            let Kind::Message(entry) = &kind else {
                unreachable!("a map field's kind is its entry message")
            };
            let key = map_key(&entry.map_entry_key_field().kind());
            let value = self.single(&entry.map_entry_value_field().kind(), depth);
            prop::collection::vec((key, value), 0..4)
                .prop_map(|kv| Value::Map(kv.into_iter().collect()))
                .boxed()
        } else if f.is_list() {
            let one = self.single(&kind, depth);
            prop::collection::vec(one, 0..4)
                .prop_map(Value::List)
                .boxed()
        } else {
            self.single(&kind, depth)
        }
    }

    /// Random messages of type `desc`: each field set or not; message
    /// fields below the depth limit are left empty.
    fn message(&mut self, desc: &MessageDescriptor, depth: u32) -> BoxedStrategy<DynamicMessage> {
        let key = (desc.full_name().to_owned(), depth);
        if let Some(s) = self.messages.get(&key) {
            return s.clone();
        }
        let strategy = if depth == 0 {
            Just(DynamicMessage::new(desc.clone())).boxed()
        } else {
            let fields: Vec<FieldDescriptor> = desc.fields().collect();
            let values: Vec<BoxedStrategy<Option<Value>>> = fields
                .iter()
                .map(|f| prop::option::weighted(0.6, self.field(f, depth - 1)).boxed())
                .collect();
            let desc = desc.clone();
            values
                .prop_map(move |values| {
                    let mut m = DynamicMessage::new(desc.clone());
                    for (f, v) in fields.iter().zip(values) {
                        if let Some(v) = v {
                            m.set_field(f, v);
                        }
                    }
                    m
                })
                .boxed()
        };
        self.messages.insert(key, strategy.clone());
        strategy
    }
}

// ---------------------------------------------------------------------------
// Calls.

/// The outcome of one call: the status codes the server answered with (OK
/// for each message received, the final status when not OK), or `None` when
/// it did not answer in time.
async fn call(
    channel: AuthedChannel,
    method: &MethodDescriptor,
    messages: Vec<Bytes>,
) -> Option<Vec<Code>> {
    let path: PathAndQuery = format!("/{}/{}", method.parent_service().full_name(), method.name())
        .parse()
        .unwrap();
    let mut grpc = tonic::client::Grpc::new(channel);
    let work = async move {
        grpc.ready().await.unwrap();
        let mut codes = Vec::new();
        if !method.is_client_streaming() && !method.is_server_streaming() {
            let request = tonic::Request::new(messages.into_iter().next().unwrap_or_default());
            match grpc.unary(request, path, RawCodec).await {
                Ok(_) => codes.push(Code::Ok),
                Err(s) => codes.push(s.code()),
            }
            return codes;
        }
        let answer = if method.is_client_streaming() {
            grpc.streaming(
                tonic::Request::new(futures::stream::iter(messages)),
                path,
                RawCodec,
            )
            .await
        } else {
            let request = tonic::Request::new(messages.into_iter().next().unwrap_or_default());
            grpc.server_streaming(request, path, RawCodec).await
        };
        let mut stream = match answer {
            Ok(r) => r.into_inner(),
            Err(s) => {
                codes.push(s.code());
                return codes;
            }
        };
        for _ in 0..100 {
            match tokio::time::timeout(STREAM_IDLE, stream.next()).await {
                // Silent: a live stream waiting for events.
                Err(_) => break,
                Ok(None) => break,
                Ok(Some(Ok(_))) => codes.push(Code::Ok),
                Ok(Some(Err(s))) => {
                    codes.push(s.code());
                    break;
                }
            }
        }
        codes
    };
    tokio::time::timeout(CALL_TIMEOUT, work).await.ok()
}

/// What a malformed or meaningless request may be answered with.
fn fits(code: Code) -> bool {
    matches!(
        code,
        Code::Ok
            | Code::InvalidArgument
            | Code::NotFound
            | Code::PermissionDenied
            | Code::FailedPrecondition
            | Code::AlreadyExists
            | Code::Aborted
            | Code::OutOfRange
            | Code::ResourceExhausted
    )
}

/// The messages of one call, shown in protobuf text format when a case fails.
#[derive(Clone)]
struct Messages(Vec<DynamicMessage>);

impl std::fmt::Debug for Messages {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        for m in &self.0 {
            writeln!(
                f,
                "{} {{ {} }}",
                m.descriptor().full_name(),
                m.to_text_format()
            )?;
        }
        Ok(())
    }
}

struct Target {
    kind: ServiceKind,
    method: MethodDescriptor,
}

fn targets(pool: &DescriptorPool) -> Vec<Target> {
    let mut out = Vec::new();
    for kind in ServiceKind::ALL {
        let name = earshot::spec(kind).service_names.first().copied().unwrap();
        let service = pool
            .get_service_by_name(name)
            .unwrap_or_else(|| panic!("{name} is not in the descriptor set"));
        for method in service.methods() {
            out.push(Target { kind, method });
        }
    }
    out
}

fn cases() -> u32 {
    std::env::var("EARSHOT_NO_PANIC_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(12)
}

fn check(
    rt: &Runtime,
    channel: &AuthedChannel,
    method: &MethodDescriptor,
    messages: Vec<Bytes>,
    expect_internal: bool,
) -> Result<(), TestCaseError> {
    let codes = rt.block_on(call(channel.clone(), method, messages));
    let Some(codes) = codes else {
        return Err(TestCaseError::fail(format!(
            "{} did not answer within {CALL_TIMEOUT:?}",
            method.full_name()
        )));
    };
    if expect_internal {
        prop_assert!(
            !codes.is_empty(),
            "{} accepted an undecodable request",
            method.full_name()
        );
    }
    for code in codes {
        let ok = if expect_internal {
            code == Code::Internal
        } else {
            fits(code)
        };
        prop_assert!(
            ok,
            "{} answered {code:?} (undecodable request: {expect_internal})",
            method.full_name()
        );
    }
    Ok(())
}

#[test]
fn random_requests_never_break_a_service() {
    let rt = Runtime::new().unwrap();
    for engine in TestEngine::available() {
        random_requests_on(&rt, engine);
    }
}

fn random_requests_on(rt: &Runtime, engine: TestEngine) {
    let suite = rt.block_on(TestSuite::start(engine)).unwrap();
    let token = suite.token("t-fuzz", "admin-1", &[Role::Admin]);
    let mut channels = HashMap::new();
    for kind in ServiceKind::ALL {
        let channel = rt.block_on(suite.authed(kind, &token)).unwrap();
        channels.insert(kind, channel);
    }
    let pool = DescriptorPool::decode(earshot_proto::FILE_DESCRIPTOR_SET).unwrap();
    let mut strategies = Strategies::default();
    let config = Config {
        cases: cases(),
        failure_persistence: None,
        // Each case is a round trip; shrinking a failure a little is enough.
        max_shrink_iters: 64,
        ..Config::default()
    };
    let targets = targets(&pool);
    assert!(targets.len() > 80, "only {} RPCs found", targets.len());

    for t in &targets {
        let channel = &channels[&t.kind];
        let input = strategies.message(&t.method.input(), DEPTH);
        // Streams from the client get 1 to 3 messages.
        let count = if t.method.is_client_streaming() {
            1..4usize
        } else {
            1..2
        };
        let strategy = prop::collection::vec(input, count).prop_map(Messages);
        let mut runner = TestRunner::new(config.clone());
        let method = t.method.clone();
        let result = runner.run(&strategy, |messages| {
            let bytes = messages
                .0
                .iter()
                .map(|m| Bytes::from(m.encode_to_vec()))
                .collect();
            check(rt, channel, &method, bytes, false)
        });
        if let Err(e) = result {
            panic!("{engine:?}: {e}");
        }

        // Raw bytes: what does not decode as the request type must be
        // tonic's INTERNAL; what happens to decode must fit like any request.
        let input_desc = Arc::new(t.method.input());
        let raw = prop::collection::vec(any::<u8>(), 0..48);
        let mut runner = TestRunner::new(Config {
            cases: cases().div_ceil(2),
            ..config.clone()
        });
        let result = runner.run(&raw, |bytes| {
            let undecodable =
                DynamicMessage::decode((*input_desc).clone(), bytes.as_slice()).is_err();
            check(rt, channel, &method, vec![Bytes::from(bytes)], undecodable)
        });
        if let Err(e) = result {
            panic!("{engine:?}: {e}");
        }
    }

    // Every service is still serving.
    for kind in ServiceKind::ALL {
        let channel = rt.block_on(suite.channel(kind)).unwrap();
        let status = rt
            .block_on(HealthClient::new(channel).check(HealthCheckRequest {
                service: String::new(),
            }))
            .unwrap()
            .into_inner()
            .status();
        assert_eq!(
            status,
            ServingStatus::Serving,
            "{kind} after random requests"
        );
    }
    rt.block_on(suite.stop()).unwrap();
}

/// A batch that does not decode ends an ingest stream with tonic's decode
/// status after the batches before it are acknowledged; it used to end the
/// stream cleanly, as if everything sent had been stored.
#[tokio::test]
async fn an_undecodable_ingest_batch_ends_the_stream_with_an_error() {
    use earshot_proto::{common::v1 as common, sampling::v1 as pb};
    for engine in TestEngine::available() {
        let suite = TestSuite::start(engine).await.unwrap();
        let token = suite.token("t-fuzz", "acd", &[Role::Integration]);
        let channel = suite.authed(ServiceKind::Sampling, &token).await.unwrap();
        let pool = DescriptorPool::decode(earshot_proto::FILE_DESCRIPTOR_SET).unwrap();
        let method = pool
            .get_service_by_name("earshot.sampling.v1.SamplingService")
            .and_then(|s| s.methods().find(|m| m.name() == "IngestInteractions"))
            .unwrap();
        let good = pb::IngestInteractionsRequest {
            batch_id: "b1".into(),
            interactions: vec![pb::Interaction {
                id: "int-1".into(),
                channel: common::Channel::Chat as i32,
                ..Default::default()
            }],
        };
        let codes = call(
            channel,
            &method,
            vec![Bytes::from(good.encode_to_vec()), Bytes::from_static(&[0])],
        )
        .await
        .unwrap();
        assert_eq!(codes, vec![Code::Ok, Code::Internal], "{engine:?}");
        suite.stop().await.unwrap();
    }
}

/// An error that quotes a long caller-sent key stays a clear
/// INVALID_ARGUMENT: unbounded, its message and details outgrew the
/// client's HTTP/2 header limit and the call failed as a protocol error.
#[tokio::test]
async fn a_long_echoed_key_stays_invalid_argument() {
    use earshot_proto::scoring::v1 as pb;
    let suite = TestSuite::start(TestEngine::Sqlite).await.unwrap();
    let token = suite.token("t-fuzz", "admin-1", &[Role::Admin]);
    let mut scoring = suite.scoring(&token).await.unwrap();
    let status = scoring
        .create_scorecard(pb::CreateScorecardRequest {
            request_id: "r-1".into(),
            definition: Some(pb::ScorecardDefinition {
                pass_mark: f64::NAN,
                labels: [("x".repeat(5000), "v".into())].into(),
                ..Default::default()
            }),
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert!(
        status.message().contains("labels[xxx"),
        "{}",
        status.message()
    );
    suite.stop().await.unwrap();
}

/// A NUL in an id is the caller's mistake on both engines: PostgreSQL
/// refuses NUL in text, which reached the caller as INTERNAL.
#[tokio::test]
async fn a_nul_in_an_id_is_not_internal() {
    use earshot_proto::sampling::v1 as pb;
    use earshot_proto::scoring::v1 as sc;
    for engine in TestEngine::available() {
        let suite = TestSuite::start(engine).await.unwrap();
        let token = suite.token("t-fuzz", "admin-1", &[Role::Admin]);
        let mut sampling = suite.sampling(&token).await.unwrap();
        let status = sampling
            .get_plan(pb::GetPlanRequest {
                plan_id: "\0".into(),
                ..Default::default()
            })
            .await
            .unwrap_err();
        assert!(
            matches!(status.code(), Code::InvalidArgument | Code::NotFound),
            "{engine:?}: {status:?}"
        );
        // Scoring passes an assignment id on to sampling: a NUL there is the
        // caller's INVALID_ARGUMENT, not sampling's refusal reported as
        // scoring's INTERNAL (found by random_requests_never_break_a_service).
        let mut scoring = suite.scoring(&token).await.unwrap();
        let status = scoring
            .create_evaluation(sc::CreateEvaluationRequest {
                request_id: "-f4sx36r".into(),
                origin: Some(sc::create_evaluation_request::Origin::Assignment(
                    sc::FromAssignment {
                        assignment_id: "\0".into(),
                    },
                )),
                scorecard: None,
            })
            .await
            .unwrap_err();
        assert_eq!(
            status.code(),
            Code::InvalidArgument,
            "{engine:?}: {status:?}"
        );
        assert!(
            status.message().contains("assignment.assignment_id"),
            "{engine:?}: {status:?}"
        );
        suite.stop().await.unwrap();
    }
}
