//! Earshot's own document format: a committed example imports, validates,
//! scores, and survives YAML → JSON → YAML unchanged.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{answers, assert_score};
use earshot_scoring::interchange::{self, DocumentFormat, MAX_DOCUMENT_BYTES};
use earshot_scoring::score::score_answers;
use earshot_scoring::scorecard::ValidScorecard;

const EXAMPLE: &[u8] = include_bytes!("fixtures/customer_care.yaml");

#[test]
fn the_example_imports_validates_and_scores() {
    let d = interchange::import(DocumentFormat::Yaml, EXAMPLE).unwrap();
    let sc = ValidScorecard::parse(d).unwrap();
    // opening: 2/2 = 1. resolution: resolved partially 2·½ = 1 of 2,
    // follow-up shown and yes 1 of 1, empathy 4 → (4-1)/4 = 0.75 of 1:
    // 2.75/4. compliance: disclosure yes, interrupted no (passes) → 1.
    // total = (1·1 + 2·0.6875 + 1·1)/4 = 3.375/4 = 84.375 → Meets.
    let r = score_answers(
        &sc,
        &answers(
            "greeted=yes verified=yes resolved=@partially follow_up=yes empathy=4 disclosure=yes interrupted=no",
        ),
    );
    assert!(r.problems.is_empty(), "{:?}", r.problems);
    assert_score("total", r.result.total, Some(84.375));
    assert!(r.result.passed);
    assert_eq!(r.result.band.as_deref(), Some("Meets expectations"));
    // critical: verified and disclosure, both passed.
    assert_score("critical", r.result.critical, Some(100.0));
}

#[test]
fn yaml_json_yaml_round_trip() {
    let d = interchange::import(DocumentFormat::Yaml, EXAMPLE).unwrap();
    let json = interchange::export(&d, DocumentFormat::Json).unwrap();
    let from_json = interchange::import(DocumentFormat::Json, json.as_bytes()).unwrap();
    assert_eq!(from_json, d);
    let yaml = interchange::export(&from_json, DocumentFormat::Yaml).unwrap();
    assert_eq!(
        interchange::import(DocumentFormat::Yaml, yaml.as_bytes()).unwrap(),
        d
    );
    assert_eq!(DocumentFormat::Yaml.media_type(), "application/yaml");
    assert_eq!(DocumentFormat::Json.extension(), "json");
}

#[test]
fn numbers_come_back_bit_exact() {
    // Doubles whose shortest decimal form the default JSON parser read one
    // ulp off (a fuzz finding): exports must import to the same definition.
    let text = std::str::from_utf8(EXAMPLE)
        .unwrap()
        .replace("points: 0 }", "points: 4.778309726736482e-299 }")
        .replace("points: 1 }", "points: 0.30000000000000004 }");
    let d = interchange::import(DocumentFormat::Yaml, text.as_bytes()).unwrap();
    ValidScorecard::parse(d.clone()).unwrap();
    for format in [DocumentFormat::Json, DocumentFormat::Yaml] {
        let out = interchange::export(&d, format).unwrap();
        assert!(out.contains("4.778309726736482e-299"), "{format:?}: {out}");
        assert_eq!(
            interchange::import(format, out.as_bytes()).unwrap(),
            d,
            "{format:?}"
        );
    }
}

#[test]
fn bad_documents_are_rejected_on_the_content_field() {
    for (format, doc) in [
        (DocumentFormat::Yaml, &b"name: [unclosed"[..]),
        (DocumentFormat::Json, &b"{\"name\": 1}"[..]),
        (DocumentFormat::Yaml, &b"\xff\xfe"[..]),
    ] {
        let err = interchange::import(format, doc).unwrap_err();
        assert!(err.has_field("content"), "{err}");
    }
    let huge = vec![b' '; MAX_DOCUMENT_BYTES + 1];
    assert!(interchange::import(DocumentFormat::Json, &huge).is_err());
}
