//! The checks behind Earshot's fuzz targets, one function per target.
//!
//! Each takes the raw bytes a caller could send (usually a protobuf message,
//! decoded the way tonic decodes it), runs the product's own parsing and
//! validation, and panics when an invariant breaks: a panic is what
//! libFuzzer reports as a crash. The same functions replay the committed
//! corpus as plain tests (`tests/corpus.rs`), so a fixed crash stays fixed.

use earshot_calibration::service::compute_agreement;
use earshot_proto::calibration::v1 as cal;
use earshot_proto::sampling::v1 as smp;
use earshot_proto::scoring::v1 as sco;
use earshot_sampling::{
    convert::{interaction_facts, interaction_input, plan_input},
    interaction::Interaction,
    plan::PlanSpec,
};
use earshot_scoring::{
    genesys,
    interchange::{self, DocumentFormat},
    score::{ScoreResult, score_answers},
    scorecard::{ScorecardDefinition, ValidScorecard, limits::check_sizes},
    service::convert::{answers_in, definition_in, result_out},
};
use prost::Message;

/// "Now" for validations that bound times in the future: fixed, so a crash
/// replays the same way on any day (2027-01-15).
const NOW_MS: i64 = 1_800_000_000_000;

/// The fuzz targets by name, with their check; the corpus replay and the
/// documentation follow this list.
pub const TARGETS: &[(&str, fn(&[u8]))] = &[
    ("ingest_interaction", ingest_interaction),
    ("sampling_plan", sampling_plan),
    ("scorecard_definition", scorecard_definition),
    ("scorecard_import", scorecard_import),
    ("score_answers", score_answers_request),
    ("agreement", agreement),
    ("page_token", page_token),
];

/// An ingested interaction (`earshot.sampling.v1.Interaction`, as each
/// `IngestInteractions` item carries it): validation never panics, and a
/// valid interaction sent back as its stored facts validates to itself.
pub fn ingest_interaction(data: &[u8]) {
    let Ok(msg) = smp::Interaction::decode(data) else {
        return;
    };
    let Ok(parsed) = Interaction::parse(interaction_input(msg), NOW_MS) else {
        return;
    };
    let again = Interaction::parse(interaction_input(interaction_facts(&parsed)), NOW_MS);
    match again {
        Ok(again) => assert_eq!(again, parsed, "stored facts re-ingest differently"),
        Err(v) => panic!("stored facts of a valid interaction are invalid: {v}"),
    }
}

/// A sampling plan definition (`earshot.sampling.v1.SamplingPlan`, as
/// CreatePlan and UpdatePlan take it): validation never panics.
pub fn sampling_plan(data: &[u8]) {
    let Ok(msg) = smp::SamplingPlan::decode(data) else {
        return;
    };
    let _ = PlanSpec::parse(&plan_input(&msg));
}

/// A scorecard definition from the wire (`earshot.scoring.v1.ScorecardDefinition`):
/// mapping and validation never panic, and a valid definition survives
/// export and import in both interchange formats unchanged.
pub fn scorecard_definition(data: &[u8]) {
    let Ok(msg) = sco::ScorecardDefinition::decode(data) else {
        return;
    };
    let Ok(def) = definition_in(&msg) else {
        return;
    };
    if check_sizes(&def).is_err() {
        return;
    }
    valid_round_trip(def);
}

/// A scorecard document: the first byte picks the importer (YAML, JSON or a
/// Genesys Cloud form), the rest is the document. Imports never panic, and
/// what validates survives export and import unchanged.
pub fn scorecard_import(data: &[u8]) {
    let Some((&which, content)) = data.split_first() else {
        return;
    };
    let def = match which % 3 {
        0 => interchange::import(DocumentFormat::Yaml, content),
        1 => interchange::import(DocumentFormat::Json, content),
        _ => genesys::import(content).map(|g| g.definition),
    };
    let Ok(def) = def else {
        return;
    };
    if check_sizes(&def).is_err() {
        return;
    }
    valid_round_trip(def);
}

/// Validates `def`; when valid, exports it in both formats and imports it
/// again, which must give the same definition.
fn valid_round_trip(def: ScorecardDefinition) {
    let Ok(valid) = ValidScorecard::parse(def) else {
        return;
    };
    let def = valid.definition();
    for format in [DocumentFormat::Yaml, DocumentFormat::Json] {
        let text = match interchange::export(def, format) {
            Ok(t) => t,
            Err(e) => panic!("a valid scorecard does not export as {format:?}: {e}"),
        };
        match interchange::import(format, text.as_bytes()) {
            Ok(back) => assert_eq!(&back, def, "{format:?} export does not import back"),
            Err(v) => panic!("a {format:?} export does not import: {v}\n{text}"),
        }
    }
}

/// A ScoreAnswers request with an inline definition
/// (`earshot.scoring.v1.ScoreAnswersRequest`): scoring never panics and
/// every score is in [0, 100] or "not scored".
pub fn score_answers_request(data: &[u8]) {
    let Ok(req) = sco::ScoreAnswersRequest::decode(data) else {
        return;
    };
    let Some(sco::score_answers_request::Scorecard::Definition(d)) = req.scorecard else {
        return;
    };
    let Ok(def) = definition_in(&d) else {
        return;
    };
    if check_sizes(&def).is_err() {
        return;
    }
    let Ok(valid) = ValidScorecard::parse(def) else {
        return;
    };
    let scored = score_answers(&valid, &answers_in(&req.answers));
    check_score(&scored.result);
    let _ = result_out(&scored.result);
}

fn percent(what: &str, x: Option<f64>) {
    if let Some(x) = x {
        assert!(
            x.is_finite() && (0.0..=100.0).contains(&x),
            "{what} = {x} is outside [0, 100]"
        );
    }
}

fn check_score(r: &ScoreResult) {
    percent("total", r.total);
    percent("raw_total", r.raw_total);
    percent("critical", r.critical);
    percent("non_critical", r.non_critical);
    assert!(!r.passed || r.total.is_some(), "passed without a score");
    if let Some(t) = r.total {
        assert!(!r.passed || t >= r.pass_mark, "passed below the pass mark");
    }
    for s in &r.sections {
        percent("section score", Some(s.score));
        assert!(
            s.earned.is_finite() && s.possible.is_finite() && s.effective_weight.is_finite(),
            "section {} has a non-finite figure: {s:?}",
            s.section_id
        );
    }
    for q in &r.questions {
        assert!(
            q.earned.is_finite() && q.possible.is_finite(),
            "question {} has a non-finite figure: {q:?}",
            q.question_id
        );
    }
}

/// A ComputeAgreement request (`earshot.calibration.v1.ComputeAgreementRequest`)
/// through the service's own stateless function: never panics, and every
/// statistic is a finite value at most 1 (percent agreement in [0, 1]) or
/// a defined "undefined" reason, with finite side figures.
pub fn agreement(data: &[u8]) {
    let Ok(req) = cal::ComputeAgreementRequest::decode(data) else {
        return;
    };
    let Ok(resp) = compute_agreement(req) else {
        return;
    };
    const SLACK: f64 = 1e-9;
    for s in &resp.statistics {
        match s.outcome {
            Some(cal::agreement_statistic::Outcome::Value(v)) => {
                assert!(v.is_finite(), "{:?} = {v}", s.kind);
                assert!(v <= 1.0 + SLACK, "{:?} = {v} above 1", s.kind);
                if s.kind == cal::StatisticKind::PercentAgreement as i32 {
                    assert!(v >= -SLACK, "percent agreement {v} below 0");
                }
            }
            Some(cal::agreement_statistic::Outcome::UndefinedReason(r)) => {
                assert!(
                    cal::UndefinedReason::try_from(r)
                        .is_ok_and(|r| r != cal::UndefinedReason::Unspecified),
                    "{:?}: undefined without a reason ({r})",
                    s.kind
                );
            }
            None => panic!("{:?} has neither a value nor a reason", s.kind),
        }
        for (what, x) in [
            ("observed_agreement", s.observed_agreement),
            ("chance_agreement", s.chance_agreement),
        ] {
            if let Some(x) = x {
                assert!(x.is_finite(), "{:?} {what} = {x}", s.kind);
            }
        }
        assert!(s.units_used >= 0 && s.raters_used >= 0);
        if let Some(icc) = &s.icc {
            for (what, x) in [
                ("f_value", icc.f_value),
                ("p_value", icc.p_value),
                ("ci_low", icc.ci_low),
                ("ci_high", icc.ci_high),
                ("df1", Some(icc.df1)),
                ("df2", Some(icc.df2)),
            ] {
                if let Some(x) = x {
                    assert!(!x.is_nan(), "{:?} {what} is NaN", s.kind);
                }
            }
            if let Some(p) = icc.p_value {
                assert!((0.0..=1.0).contains(&p), "{:?} p = {p}", s.kind);
            }
            if let (Some(lo), Some(hi)) = (icc.ci_low, icc.ci_high) {
                assert!(lo <= hi + SLACK, "{:?} interval [{lo}, {hi}]", s.kind);
            }
        }
    }
}

/// A page token (any string a caller sends as `page_token`): decoding never
/// panics; a token that decodes was issued for these filters (a different
/// fingerprint is refused) and encodes back to a token that decodes to the
/// same cursor.
pub fn page_token(data: &[u8]) {
    use earshot_kit::paging::{decode, encode};
    if data.len() < 8 {
        return;
    }
    let (f, token) = data.split_at(8);
    let mut fp = [0u8; 8];
    fp.copy_from_slice(f);
    let fingerprint = u64::from_le_bytes(fp);
    let token = String::from_utf8_lossy(token);
    // The cursor shapes the services use: a key tuple, or free JSON.
    if let Ok(Some(c)) = decode::<(i64, String)>(&token, fingerprint) {
        assert!(
            decode::<(i64, String)>(&token, fingerprint.wrapping_add(1)).is_err(),
            "a token decodes under another fingerprint"
        );
        let again = decode::<(i64, String)>(&encode(&c, fingerprint), fingerprint);
        assert!(
            matches!(&again, Ok(Some(a)) if *a == c),
            "{c:?} does not survive encode and decode: {again:?}"
        );
    }
    // Reporting's offsets.
    if let Ok(Some(offset)) = decode::<usize>(&token, fingerprint) {
        let again = decode::<usize>(&encode(&offset, fingerprint), fingerprint);
        assert!(
            matches!(again, Ok(Some(o)) if o == offset),
            "offset {offset}: {again:?}"
        );
    }
    let _ = decode::<serde_json::Value>(&token, fingerprint);
}
