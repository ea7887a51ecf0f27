//! The agreement statistics against the reference implementations, through
//! the fixtures `fixtures/generate.py` wrote once (see `fixtures/README.md`).
//! No Python is needed here: the JSON holds the inputs and the expected values.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use earshot_calibration::agreement::cohen::{CohenWeights, cohen_kappa};
use earshot_calibration::agreement::fleiss::fleiss_kappa;
use earshot_calibration::agreement::gwet::{Weights, gwet};
use earshot_calibration::agreement::icc::{Icc, IccForm, icc_all, mean_squares};
use earshot_calibration::agreement::krippendorff::alpha;
use earshot_calibration::agreement::percent::percent_agreement;
use earshot_calibration::agreement::{Agreement, Level, RatingsMatrix, Undefined};
use earshot_calibration::stats::distribution::{f_ppf, f_sf, t_ppf};
use earshot_calibration::stats::special::{beta_inc, ln_gamma};
use serde_json::Value;

/// Where ICC(2,k)'s denominator is negative pingouin prints the raw ratio and
/// Earshot reports `NegativeVariance`. `None` when `got` is not that outcome;
/// otherwise whether the reference confirms it (it equals (MSR - MSE) / den
/// with den < 0), a failure being recorded like [`check`] records one.
fn negative_variance(
    failures: &mut Vec<String>,
    id: &str,
    m: &RatingsMatrix,
    got: &Icc,
    want: &Value,
) -> Option<bool> {
    if got.form != IccForm::Icc2k || got.agreement.value != Err(Undefined::NegativeVariance) {
        return None;
    }
    let confirmed = mean_squares(m).is_ok_and(|ms| {
        let den = ms.msr + (ms.msc - ms.mse) / ms.n as f64;
        den < 0.0
            && want["icc"]
                .as_f64()
                .is_some_and(|w| near((ms.msr - ms.mse) / den, w))
    });
    if !confirmed {
        failures.push(format!(
            "{id} {}: negative variance, reference {want}",
            want["form"]
        ));
    }
    Some(confirmed)
}

/// Agreement required with the references: 1e-9, relative above magnitude 1.
const TOL: f64 = 1e-9;

fn load(name: &str) -> Value {
    let path = format!("{}/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).expect("fixture file");
    serde_json::from_str(&text).expect("fixture JSON")
}

fn near(got: f64, want: f64) -> bool {
    (got - want).abs() <= TOL * want.abs().max(1.0)
}

fn matrix(case: &Value) -> RatingsMatrix {
    let raters = case["raters"].as_u64().unwrap() as usize;
    let rows: Vec<Vec<Option<f64>>> = case["cells"]
        .as_array()
        .unwrap()
        .iter()
        .map(|row| row.as_array().unwrap().iter().map(Value::as_f64).collect())
        .collect();
    RatingsMatrix::from_rows(raters, &rows).unwrap()
}

/// Compares one statistic: both defined and within tolerance, or the
/// reference undefined (null) and ours undefined too. Returns whether a
/// value was compared.
fn check(failures: &mut Vec<String>, id: &str, what: &str, got: &Agreement, want: &Value) -> bool {
    match (got.value, want.as_f64()) {
        (Ok(g), Some(w)) if near(g, w) => true,
        (Err(_), None) => false,
        (g, w) => {
            failures.push(format!("{id} {what}: ours {g:?}, reference {w:?}"));
            false
        }
    }
}

#[test]
fn agreement_statistics_match_the_reference_implementations() {
    let fixture = load("agreement_random.json");
    let mut failures = Vec::new();
    let mut compared = std::collections::BTreeMap::<&str, usize>::new();
    for case in fixture["cases"].as_array().unwrap() {
        let id = case["id"].as_str().unwrap();
        if case["kind"] == "degenerate" {
            continue; // see degenerate_cases_are_defined below
        }
        let m = matrix(case);
        for (level, key) in [
            (Level::Nominal, "nominal"),
            (Level::Ordinal, "ordinal"),
            (Level::Interval, "interval"),
            (Level::Ratio, "ratio"),
        ] {
            if check(
                &mut failures,
                id,
                key,
                &alpha(&m, level),
                &case["alpha"][key],
            ) {
                *compared.entry("alpha").or_default() += 1;
            }
        }
        if case.get("skip_categorical").is_none() {
            let declared: Vec<f64> = case["categories"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(Value::as_f64)
                .collect();
            let pairs: [(&str, Agreement); 5] = [
                ("fleiss", fleiss_kappa(&m)),
                ("percent_agreement", percent_agreement(&m)),
                ("gwet_ac1", gwet(&m, Weights::Identity, &declared)),
                ("gwet_ac2_linear", gwet(&m, Weights::Linear, &declared)),
                (
                    "gwet_ac2_quadratic",
                    gwet(&m, Weights::Quadratic, &declared),
                ),
            ];
            for (key, got) in pairs {
                if check(&mut failures, id, key, &got, &case[key]) {
                    *compared.entry(key).or_default() += 1;
                }
            }
            // statsmodels' Fleiss on the complete rows only.
            let want = &case["fleiss_statsmodels_complete_rows"];
            if !want.is_null() {
                let rows: Vec<Vec<Option<f64>>> = (0..m.unit_count())
                    .map(|u| m.unit(u))
                    .filter(|(v, _)| v.len() == m.rater_count())
                    .map(|(v, _)| v.iter().map(|&x| Some(x)).collect())
                    .collect();
                let complete = RatingsMatrix::from_rows(m.rater_count(), &rows).unwrap();
                if check(
                    &mut failures,
                    id,
                    "fleiss (statsmodels)",
                    &fleiss_kappa(&complete),
                    want,
                ) {
                    *compared.entry("fleiss_statsmodels").or_default() += 1;
                }
            }
            for pair in case["cohen"].as_array().unwrap() {
                let (a, b) = (
                    pair["a"].as_u64().unwrap() as usize,
                    pair["b"].as_u64().unwrap() as usize,
                );
                for (key, w) in [
                    ("unweighted", CohenWeights::Unweighted),
                    ("linear", CohenWeights::Linear),
                    ("quadratic", CohenWeights::Quadratic),
                ] {
                    let got = cohen_kappa(&m, a, b, w);
                    if got.units_used as u64 != pair["units"].as_u64().unwrap() {
                        failures.push(format!("{id} cohen {a}-{b}: units {}", got.units_used));
                    }
                    if check(
                        &mut failures,
                        id,
                        &format!("cohen {key} {a}-{b}"),
                        &got,
                        &pair[key],
                    ) {
                        *compared.entry("cohen").or_default() += 1;
                    }
                }
            }
        }
        if let Some(expected) = case["icc"].as_array() {
            for (got, want) in icc_all(&m).iter().zip(expected) {
                let form = want["form"].as_str().unwrap();
                if let Some(ok) = negative_variance(&mut failures, id, &m, got, want) {
                    *compared.entry("icc").or_default() += usize::from(ok);
                    continue;
                }
                if !check(&mut failures, id, form, &got.agreement, &want["icc"]) {
                    continue;
                }
                *compared.entry("icc").or_default() += 1;
                let inf = got.inference;
                let opt = |x: Option<f64>, w: &Value| match (x, w.as_f64()) {
                    (Some(g), Some(w)) => near(g, w),
                    (None, None) => true,
                    _ => false,
                };
                let p_ok = match (inf.p_value, want["pval"].as_f64()) {
                    (Some(g), Some(w)) => {
                        (g - w).abs() <= TOL * w.abs().max(1e-300) || (g - w).abs() < 1e-15
                    }
                    (None, None) => true,
                    _ => false,
                };
                // With an infinite F pingouin's single-rater bounds are
                // inf/inf = NaN; Earshot reports their limit, 1.
                let limit_ok = |x: Option<f64>, w: &Value| {
                    opt(x, w) || (want["f"].is_null() && w.is_null() && x == Some(1.0))
                };
                if !(opt(inf.f_value, &want["f"])
                    && inf.df1 == want["df1"].as_f64().unwrap()
                    && inf.df2 == want["df2"].as_f64().unwrap()
                    && p_ok
                    && limit_ok(inf.ci_low, &want["ci_low"])
                    && limit_ok(inf.ci_high, &want["ci_high"]))
                {
                    failures.push(format!(
                        "{id} {form} inference: ours {inf:?}, reference {want}"
                    ));
                }
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
    // The fixtures must actually exercise every statistic.
    for (key, min) in [
        ("alpha", 600),
        ("fleiss", 100),
        ("fleiss_statsmodels", 90),
        ("percent_agreement", 100),
        ("gwet_ac1", 100),
        ("gwet_ac2_linear", 100),
        ("gwet_ac2_quadratic", 100),
        ("cohen", 3000),
        ("icc", 800),
    ] {
        let n = compared.get(key).copied().unwrap_or(0);
        assert!(n >= min, "only {n} {key} values compared");
    }
}

/// The dense one-pass path (`agreement::dense`, what the benchmark times end
/// to end) against the same references: alpha at every level, Fleiss,
/// percent agreement, AC1 where every declared category was used (the dense
/// path knows only the categories it sees), and the six ICCs.
#[test]
fn dense_path_matches_the_reference_implementations() {
    use earshot_calibration::agreement::dense::{self, Dense};
    let fixture = load("agreement_random.json");
    let mut failures = Vec::new();
    let mut compared = 0usize;
    for case in fixture["cases"].as_array().unwrap() {
        let id = case["id"].as_str().unwrap();
        if case["kind"] == "degenerate" {
            continue;
        }
        let raters = case["raters"].as_u64().unwrap() as usize;
        let cells: Vec<f64> = case["cells"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|row| {
                row.as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_f64().unwrap_or(f64::NAN))
            })
            .collect();
        let d = Dense::new(cells.len() / raters, raters, &cells).unwrap();
        for (level, key) in [
            (Level::Nominal, "nominal"),
            (Level::Ordinal, "ordinal"),
            (Level::Interval, "interval"),
            (Level::Ratio, "ratio"),
        ] {
            let got = dense::alpha(&d, level).unwrap();
            compared += usize::from(check(&mut failures, id, key, &got, &case["alpha"][key]));
        }
        if case.get("skip_categorical").is_none() {
            let suite = dense::nominal_suite(&d).unwrap();
            compared += usize::from(check(
                &mut failures,
                id,
                "fleiss",
                &suite.fleiss_kappa,
                &case["fleiss"],
            ));
            compared += usize::from(check(
                &mut failures,
                id,
                "percent_agreement",
                &suite.percent_agreement,
                &case["percent_agreement"],
            ));
            let m = matrix(case);
            if m.distinct_values().len() == case["categories"].as_array().unwrap().len() {
                compared += usize::from(check(
                    &mut failures,
                    id,
                    "gwet_ac1",
                    &suite.gwet_ac1,
                    &case["gwet_ac1"],
                ));
            }
        }
        if let Some(expected) = case["icc"].as_array() {
            let m = matrix(case);
            for (got, want) in dense::icc_all(&d).unwrap().iter().zip(expected) {
                let form = want["form"].as_str().unwrap();
                if let Some(ok) = negative_variance(&mut failures, id, &m, got, want) {
                    compared += usize::from(ok);
                    continue;
                }
                compared +=
                    usize::from(check(&mut failures, id, form, &got.agreement, &want["icc"]));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(compared >= 1_500, "only {compared} values compared");
}

#[test]
fn degenerate_cases_are_defined() {
    let fixture = load("agreement_random.json");
    let case = |id: &str| {
        let c = fixture["cases"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id)
            .unwrap();
        (
            matrix(c),
            c["categories"]
                .as_array()
                .unwrap()
                .iter()
                .filter_map(Value::as_f64)
                .collect::<Vec<f64>>(),
        )
    };
    use Undefined::*;
    // (case, alpha nominal, Fleiss, AC1 with declared categories, ICC(1,1)).
    type Want = Result<f64, Undefined>;
    let table: [(&str, Want, Want, Want, Want); 6] = [
        (
            "all-same",
            Err(NoVariation),
            Err(NoVariation),
            Ok(1.0),
            Err(NoVariation),
        ),
        (
            "one-rater",
            Err(TooFewRaters),
            Err(TooFewRaters),
            Err(TooFewRaters),
            Err(TooFewRaters),
        ),
        (
            "no-pairable-unit",
            Err(NoPairableUnits),
            Err(NoPairableUnits),
            Err(NoPairableUnits),
            Err(NoCompleteCases),
        ),
        (
            "one-unit",
            Ok(0.0),
            Ok(-0.5),
            Ok(1.0 / 7.0),
            Err(TooFewUnits),
        ),
        ("raters-identical", Ok(1.0), Ok(1.0), Ok(1.0), Ok(1.0)),
        (
            "all-yes",
            Err(NoVariation),
            Err(NoVariation),
            Ok(1.0),
            Err(NoVariation),
        ),
    ];
    for (id, a, k, ac1, icc) in table {
        let (m, declared) = case(id);
        assert_eq!(alpha(&m, Level::Nominal).value, a, "{id} alpha");
        match (fleiss_kappa(&m).value, k) {
            (Ok(g), Ok(w)) => assert!((g - w).abs() < 1e-12, "{id} fleiss {g}"),
            (g, w) => assert_eq!(g, w, "{id} fleiss"),
        }
        let g = gwet(&m, Weights::Identity, &declared).value;
        match (g, ac1) {
            (Ok(g), Ok(w)) => assert!((g - w).abs() < 1e-12, "{id} ac1 {g}"),
            (g, w) => assert_eq!(g, w, "{id} ac1"),
        }
        assert_eq!(icc_all(&m)[0].agreement.value, icc, "{id} icc");
    }
    // Nearly all "yes": kappa near 0 (the paradox), AC1 high, both as irrCAC.
    let (m, declared) = case("nearly-all-yes");
    assert!(fleiss_kappa(&m).value.unwrap() < 0.0);
    assert!(gwet(&m, Weights::Identity, &declared).value.unwrap() > 0.9);
}

#[test]
fn special_functions_match_scipy() {
    let s = load("special.json");
    for c in s["lgamma"].as_array().unwrap() {
        let got = ln_gamma(c["x"].as_f64().unwrap()).unwrap();
        let want = c["value"].as_f64().unwrap();
        assert!(
            (got - want).abs() <= 1e-13 * want.abs().max(1.0),
            "lgamma {c}: {got}"
        );
    }
    for c in s["betainc"].as_array().unwrap() {
        let (a, b, x) = (
            c["a"].as_f64().unwrap(),
            c["b"].as_f64().unwrap(),
            c["x"].as_f64().unwrap(),
        );
        let got = beta_inc(a, b, x).unwrap().0;
        let want = c["value"].as_f64().unwrap();
        assert!(
            (got - want).abs() <= 1e-12 * want.abs().max(1e-300) || (got - want).abs() < 1e-15,
            "betainc {c}: {got}"
        );
    }
    for c in s["f_ppf"].as_array().unwrap() {
        let got = f_ppf(
            c["p"].as_f64().unwrap(),
            c["df1"].as_f64().unwrap(),
            c["df2"].as_f64().unwrap(),
        )
        .unwrap();
        let want = c["value"].as_f64().unwrap();
        assert!((got - want).abs() <= 1e-10 * want.abs(), "f_ppf {c}: {got}");
    }
    for c in s["f_sf"].as_array().unwrap() {
        let got = f_sf(
            c["f"].as_f64().unwrap(),
            c["df1"].as_f64().unwrap(),
            c["df2"].as_f64().unwrap(),
        )
        .unwrap();
        let want = c["value"].as_f64().unwrap();
        assert!(
            (got - want).abs() <= 1e-10 * want.abs() || (got - want).abs() < 1e-16,
            "f_sf {c}: {got}"
        );
    }
    for c in s["t_ppf"].as_array().unwrap() {
        let got = t_ppf(c["p"].as_f64().unwrap(), c["df"].as_f64().unwrap()).unwrap();
        let want = c["value"].as_f64().unwrap();
        // SciPy 1.12's t quantile is itself accurate to about 2e-11.
        assert!((got - want).abs() <= 1e-10 * want.abs(), "t_ppf {c}: {got}");
    }
}

#[test]
fn icc_forms_are_in_fixture_order() {
    assert_eq!(IccForm::ALL.len(), 6);
}
