//! The committed corpus as plain tests: every input of every target runs
//! through its check (`cargo test --manifest-path fuzz/Cargo.toml`), so a
//! crash that was fixed stays fixed without libFuzzer.
//!
//! `write_seeds` (ignored) regenerates the seed inputs from the product's
//! test fixtures: `cargo test --manifest-path fuzz/Cargo.toml -- --ignored write_seeds`.

use std::{fs, path::PathBuf};

use earshot_proto::calibration::v1 as cal;
use earshot_proto::common::v1 as common;
use earshot_proto::sampling::v1 as smp;
use earshot_proto::scoring::v1 as sco;
use earshot_scoring::{
    interchange::{self, DocumentFormat},
    scorecard::QuestionKind,
    service::convert::definition_out,
};
use prost::Message;
use prost_types::{Duration, Timestamp};

fn corpus_dir(target: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("corpus")
        .join(target)
}

#[test]
fn replay_corpus() {
    for (name, check) in earshot_fuzz::TARGETS {
        let dir = corpus_dir(name);
        let mut count = 0;
        for entry in fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            let path = entry.unwrap().path();
            let data = fs::read(&path).unwrap();
            let outcome = std::panic::catch_unwind(|| check(&data));
            assert!(outcome.is_ok(), "{name}: {} fails", path.display());
            count += 1;
        }
        assert!(count > 0, "{name} has no corpus");
    }
}

fn fixture(path: &str) -> Vec<u8> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
    fs::read(root.join(path)).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn write(target: &str, name: &str, data: &[u8]) {
    let dir = corpus_dir(target);
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join(format!("seed-{name}")), data).unwrap();
}

fn ts(ms: i64) -> Option<Timestamp> {
    Some(Timestamp {
        seconds: ms / 1000,
        nanos: 0,
    })
}

fn interaction(id: &str, channel: common::Channel) -> smp::Interaction {
    let arrived = 1_790_000_000_000;
    smp::Interaction {
        id: id.into(),
        channel: channel as i32,
        direction: common::Direction::Inbound as i32,
        agent_id: "agent-1".into(),
        team_id: "team-1".into(),
        queue_id: "billing".into(),
        arrived_time: ts(arrived),
        answered_time: ts(arrived + 20_000),
        ended_time: ts(arrived + 320_000),
        talk_duration: Some(Duration {
            seconds: 280,
            nanos: 0,
        }),
        disposition: "resolved".into(),
        customer_ref: "cust-1".into(),
        language: "en".into(),
        attributes: [("crm_case".to_owned(), "c-9".to_owned())].into(),
        ..Default::default()
    }
}

fn plans() -> Vec<(&'static str, smp::SamplingPlan)> {
    vec![
        (
            "daily",
            smp::SamplingPlan {
                display_name: "Daily".into(),
                period: common::Granularity::Day as i32,
                target: Some(smp::PerAgentTarget {
                    min_per_agent: 3,
                    max_per_agent: 4,
                    random_target: None,
                }),
                expected_agent_volume: 1000,
                ..Default::default()
            },
        ),
        (
            "low-csat",
            smp::SamplingPlan {
                display_name: "Complaints and low CSAT".into(),
                period: common::Granularity::Week as i32,
                scope: Some(smp::PlanScope {
                    channels: vec![common::Channel::Voice as i32],
                    queue_ids: vec!["billing".into()],
                    ..Default::default()
                }),
                target: Some(smp::PerAgentTarget {
                    min_per_agent: 0,
                    max_per_agent: 10,
                    random_target: Some(smp::per_agent_target::RandomTarget::Rate(0.05)),
                }),
                stratification: Some(smp::Stratification {
                    dimensions: vec![1, 2],
                    allocation: 1,
                    time_of_day_band_start_hours: vec![0, 9, 17],
                }),
                targeted_rules: vec![smp::TargetedRule {
                    rule_id: "low-csat".into(),
                    kind: smp::TargetedRuleKind::LowCsat as i32,
                    csat_at_most: 2,
                    cap_per_agent: 5,
                    priority: 1,
                    ..Default::default()
                }],
                ..Default::default()
            },
        ),
    ]
}

/// One answer per question: the first option, yes, or the scale's low end.
fn answers(
    def: &earshot_scoring::scorecard::ScorecardDefinition,
    variant: usize,
) -> Vec<common::Answer> {
    use common::answer::Value as V;
    let mut out = Vec::new();
    for s in &def.sections {
        for q in &s.questions {
            let value = match &q.kind {
                Some(QuestionKind::Choice { options }) if !options.is_empty() => {
                    V::OptionId(options[variant % options.len()].id.clone())
                }
                Some(QuestionKind::Scale { min, max, .. }) => {
                    V::ScaleValue((*min + variant as i32).min(*max))
                }
                _ if q.not_applicable_allowed && variant == 2 => V::NotApplicable(true),
                _ => V::Yes(variant % 2 == 0),
            };
            out.push(common::Answer {
                question_id: q.id.clone(),
                value: Some(value),
                comment: "ok".into(),
            });
        }
    }
    out
}

fn agreement_requests() -> Vec<(String, cal::ComputeAgreementRequest)> {
    let doc: serde_json::Value = serde_json::from_slice(&fixture(
        "crates/earshot-calibration/fixtures/agreement_random.json",
    ))
    .unwrap();
    let cases = doc["cases"].as_array().unwrap();
    let every: Vec<i32> = (1..=20)
        .filter(|k| cal::StatisticKind::try_from(*k).is_ok())
        .collect();
    let mut out = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        // A few of each kind, degenerate ones included.
        let kind = case["kind"].as_str().unwrap_or("");
        if !(i % 40 == 0 || kind == "degenerate") {
            continue;
        }
        let cells = case["cells"].as_array().unwrap();
        let raters = cells.first().and_then(|r| r.as_array()).map_or(0, Vec::len);
        let units = cells
            .iter()
            .enumerate()
            .map(|(u, row)| cal::RatedUnit {
                unit_id: format!("u{u}"),
                ratings: row
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|c| cal::Rating {
                        value: c.as_f64().map(cal::rating::Value::Number),
                    })
                    .collect(),
            })
            .collect();
        let category_values = case["categories"]
            .as_array()
            .map(|c| c.iter().filter_map(serde_json::Value::as_f64).collect())
            .unwrap_or_default();
        out.push((
            case["id"].as_str().unwrap_or("case").to_owned(),
            cal::ComputeAgreementRequest {
                ratings: Some(cal::RatingsMatrix {
                    rater_ids: (0..raters).map(|r| format!("r{r}")).collect(),
                    units,
                }),
                level: if kind == "continuous" {
                    cal::LevelOfMeasurement::Interval as i32
                } else {
                    cal::LevelOfMeasurement::Ordinal as i32
                },
                statistics: every.clone(),
                categories: Vec::new(),
                category_values,
            },
        ));
    }
    // Labels rather than numbers.
    let label = |s: &str| cal::Rating {
        value: Some(cal::rating::Value::Label(s.into())),
    };
    out.push((
        "labels".into(),
        cal::ComputeAgreementRequest {
            ratings: Some(cal::RatingsMatrix {
                rater_ids: vec!["ann".into(), "bob".into(), "cy".into()],
                units: vec![
                    cal::RatedUnit {
                        unit_id: "a".into(),
                        ratings: vec![label("pass"), label("pass"), label("fail")],
                    },
                    cal::RatedUnit {
                        unit_id: "b".into(),
                        ratings: vec![label("fail"), label("fail"), cal::Rating { value: None }],
                    },
                ],
            }),
            level: cal::LevelOfMeasurement::Nominal as i32,
            statistics: vec![1, 2, 3, 4],
            categories: vec!["fail".into(), "pass".into()],
            category_values: Vec::new(),
        },
    ));
    out
}

#[test]
#[ignore = "writes the seed corpus; run by hand when fixtures change"]
fn write_seeds() {
    for (name, channel) in [
        ("voice", common::Channel::Voice),
        ("chat", common::Channel::Chat),
        ("email", common::Channel::Email),
    ] {
        write(
            "ingest_interaction",
            name,
            &interaction(&format!("int-{name}"), channel).encode_to_vec(),
        );
    }
    for (name, plan) in plans() {
        write("sampling_plan", name, &plan.encode_to_vec());
    }

    let yaml = fixture("crates/earshot-scoring/tests/fixtures/customer_care.yaml");
    let demo = fixture("crates/earshot/src/demo/scorecard.yaml");
    let genesys = [
        (
            "genesys-form",
            fixture("crates/earshot-scoring/tests/fixtures/genesys_form.json"),
        ),
        (
            "genesys-doc-example",
            fixture("crates/earshot-scoring/tests/fixtures/genesys_doc_example.json"),
        ),
    ];
    for (name, doc) in [("customer-care", &yaml), ("demo", &demo)] {
        let def = interchange::import(DocumentFormat::Yaml, doc).unwrap();
        let json = interchange::export(&def, DocumentFormat::Json).unwrap();
        let wire = definition_out(&def);
        write("scorecard_definition", name, &wire.encode_to_vec());
        write(
            "scorecard_import",
            &format!("{name}-yaml"),
            &[&[0u8][..], doc].concat(),
        );
        write(
            "scorecard_import",
            &format!("{name}-json"),
            &[&[1u8][..], json.as_bytes()].concat(),
        );
        for variant in 0..3 {
            let req = sco::ScoreAnswersRequest {
                scorecard: Some(sco::score_answers_request::Scorecard::Definition(
                    wire.clone(),
                )),
                answers: answers(&def, variant),
            };
            write(
                "score_answers",
                &format!("{name}-{variant}"),
                &req.encode_to_vec(),
            );
        }
    }
    for (name, doc) in &genesys {
        write("scorecard_import", name, &[&[2u8][..], doc].concat());
        let def = earshot_scoring::genesys::import(doc).unwrap().definition;
        write(
            "scorecard_definition",
            name,
            &definition_out(&def).encode_to_vec(),
        );
    }

    for (name, req) in agreement_requests() {
        write("agreement", &name, &req.encode_to_vec());
    }

    let fp: u64 = 0x1234_5678_9abc_def0;
    let mut token = fp.to_le_bytes().to_vec();
    token.extend(earshot_kit::paging::encode(&(42i64, "sess-1"), fp).as_bytes());
    write("page_token", "tuple", &token);
    let mut token = fp.to_le_bytes().to_vec();
    token.extend(earshot_kit::paging::encode(&200usize, fp).as_bytes());
    write("page_token", "offset", &token);
}
