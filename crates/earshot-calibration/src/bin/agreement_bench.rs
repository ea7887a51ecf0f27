//! Benchmark of the agreement statistics against the reference Python
//! implementations (issue 5: alpha, Fleiss and ICC over 50 raters x 10,000
//! units, at least 20x faster).
//!
//! This binary generates the input (seeded, so every run and both sides see
//! the same matrix), writes it to `<dir>/matrix.csv`, times the Rust side and
//! writes `<dir>/rust_timings.json`. `fixtures/bench_reference.py <dir>` then
//! times the references on the same file and prints both with the ratio.
//!
//! ```sh
//! cargo run --release -p earshot-calibration --bin agreement_bench -- /tmp/earshot-bench
//! python crates/earshot-calibration/fixtures/bench_reference.py /tmp/earshot-bench
//! ```
//!
//! Where a release build of every dependency is too slow, optimising only
//! this crate gives the same code for the statistics (they use nothing but
//! `std`): `cargo run -p earshot-calibration --bin agreement_bench
//! --config 'profile.dev.package.earshot-calibration.opt-level=3'
//! --config 'profile.dev.package.earshot-calibration.debug-assertions=false'
//! --config 'profile.dev.package.earshot-calibration.overflow-checks=false' -- <dir>`.
//!
//! Arguments: `<dir> [units] [raters] [seed]` (defaults 10000, 50, 20261123).
//! Two inputs are written: `matrix.csv`, 1-5 ratings (answers to a scale or
//! choice question), and `totals.csv`, totals 0-100 with one decimal (about
//! 1,000 distinct values, as evaluation totals are). Each statistic is timed
//! two ways, 9 runs each, median:
//!
//! * **end to end** (the honest figure, and the one issue 5's 20x target is
//!   about): from the dense `f64` matrix with NaN for missing cells -- the
//!   array the references take -- to the statistic, everything included
//!   ([`dense`]; each call makes its own pass, nothing is reused between
//!   calls). `nominal_suite` is alpha (nominal), Fleiss, AC1 and percent
//!   agreement from one shared pass, against the four reference calls.
//! * **stat**: the statistic alone on an already built [`RatingsMatrix`]
//!   (what ComputeAgreement and session results reuse across statistics),
//!   with the build reported beside it.
//!
//! The binary checks that both paths give the same values (to 1e-9) before
//! it writes anything.

use std::fmt::Write as _;
use std::time::Instant;

use earshot_calibration::agreement::dense::{self, Dense};
use earshot_calibration::agreement::fleiss::fleiss_kappa;
use earshot_calibration::agreement::gwet::{Weights, gwet};
use earshot_calibration::agreement::icc::icc_all;
use earshot_calibration::agreement::krippendorff::alpha;
use earshot_calibration::agreement::percent::percent_agreement;
use earshot_calibration::agreement::{Agreement, Level, RatingsMatrix};

/// SplitMix64: a tiny deterministic generator, so the input needs no crate
/// and is the same on every machine.
struct SplitMix(u64);

impl SplitMix {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    fn unit(&mut self) -> f64 {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Uniform integer in 1..=n.
    fn scale(&mut self, n: u64) -> f64 {
        (self.next() % n + 1) as f64
    }
}

/// A 1-5 rating per cell: raters agree with the unit's latent rating with
/// probability 0.7, else rate at random; 2% of cells are missing (so about a
/// third of the units are complete cases for ICC).
fn generate(units: usize, raters: usize, seed: u64) -> Vec<Option<f64>> {
    let mut rng = SplitMix(seed);
    let mut cells = Vec::with_capacity(units * raters);
    for _ in 0..units {
        let truth = rng.scale(5);
        for _ in 0..raters {
            let v = if rng.unit() < 0.7 {
                truth
            } else {
                rng.scale(5)
            };
            cells.push(if rng.unit() < 0.02 { None } else { Some(v) });
        }
    }
    cells
}

fn time<T>(runs: usize, mut f: impl FnMut() -> T) -> (f64, T) {
    let mut times = Vec::with_capacity(runs);
    let mut last = None;
    for _ in 0..runs {
        let start = Instant::now();
        let out = f();
        times.push(start.elapsed().as_secs_f64() * 1e3);
        last = Some(out);
    }
    times.sort_by(f64::total_cmp);
    let median = times.get(times.len() / 2).copied().unwrap_or(0.0);
    match last {
        Some(out) => (median, out),
        None => (median, f()),
    }
}

fn value(a: &Agreement) -> String {
    a.value.map_or("null".to_owned(), |v| format!("{v:.17}"))
}

/// Totals on the 0-100 scale with one decimal (about 1,000 distinct values):
/// a latent quality per unit, a bias per rater, noise; 2% missing.
fn generate_totals(units: usize, raters: usize, seed: u64) -> Vec<Option<f64>> {
    let mut rng = SplitMix(seed ^ 0x5EED);
    let bias: Vec<f64> = (0..raters).map(|_| (rng.unit() - 0.5) * 8.0).collect();
    let mut cells = Vec::with_capacity(units * raters);
    for _ in 0..units {
        let truth = 40.0 + 60.0 * rng.unit();
        for b in &bias {
            let noise = (rng.unit() + rng.unit() + rng.unit() - 1.5) * 8.0;
            let v = ((truth + b + noise).clamp(0.0, 100.0) * 10.0).round() / 10.0;
            cells.push(if rng.unit() < 0.02 { None } else { Some(v) });
        }
    }
    cells
}

/// Do two printed values (a number, null, or a [list]) agree to 1e-9?
fn same_values(a: &str, b: &str) -> bool {
    let parse = |s: &str| -> Vec<Option<f64>> {
        s.trim_matches(|c| c == '[' || c == ']')
            .split(',')
            .map(|x| x.trim().parse::<f64>().ok())
            .collect()
    };
    let (a, b) = (parse(a), parse(b));
    a.len() == b.len()
        && a.iter().zip(&b).all(|(x, y)| match (x, y) {
            (Some(x), Some(y)) => (x - y).abs() <= 1e-9 * y.abs().max(1.0),
            (None, None) => true,
            _ => false,
        })
}

fn write_csv(path: &std::path::Path, cells: &[Option<f64>], raters: usize) -> std::io::Result<()> {
    let mut csv = String::with_capacity(cells.len() * 4);
    for row in cells.chunks(raters) {
        for (i, c) in row.iter().enumerate() {
            if i > 0 {
                csv.push(',');
            }
            if let Some(v) = c {
                let _ = write!(csv, "{v}");
            }
        }
        csv.push('\n');
    }
    std::fs::write(path, csv)
}

/// (name, median ms on the built matrix, median ms of building the matrix,
/// median ms end to end from the dense f64 cells, value).
type Row = (String, f64, f64, f64, String);

/// Times every statistic on one matrix two ways: on a built
/// [`RatingsMatrix`] (plus the build, once), and end to end from the dense
/// `f64` cells with NaN for missing, the same input the references get
/// ([`dense`]: one pass per call, nothing shared between calls).
fn run(
    prefix: &str,
    units: usize,
    raters: usize,
    cells: &[Option<f64>],
    runs: usize,
    stats: &[&str],
) -> Result<Vec<Row>, Box<dyn std::error::Error>> {
    let (build_ms, m) = time(runs, || RatingsMatrix::from_dense(units, raters, cells));
    let m = m?;
    let nan_cells: Vec<f64> = cells.iter().map(|c| c.unwrap_or(f64::NAN)).collect();
    let d = Dense::new(units, raters, &nan_cells)?;
    let mut rows = Vec::new();
    let e2e = |f: &dyn Fn() -> Result<Agreement, earshot_calibration::validation::Violations>| {
        time(runs, || {
            f().map(|a| value(&a)).unwrap_or_else(|e| e.to_string())
        })
    };
    for &stat in stats {
        let ((ms, v), (e2e_ms, e2e_v)) = match stat {
            "alpha_nominal" => (
                time(runs, || value(&alpha(&m, Level::Nominal))),
                e2e(&|| dense::alpha(&d, Level::Nominal)),
            ),
            "alpha_ordinal" => (
                time(runs, || value(&alpha(&m, Level::Ordinal))),
                e2e(&|| dense::alpha(&d, Level::Ordinal)),
            ),
            "alpha_interval" => (
                time(runs, || value(&alpha(&m, Level::Interval))),
                e2e(&|| dense::alpha(&d, Level::Interval)),
            ),
            "alpha_ratio" => (
                time(runs, || value(&alpha(&m, Level::Ratio))),
                e2e(&|| dense::alpha(&d, Level::Ratio)),
            ),
            "fleiss_kappa" => (
                time(runs, || value(&fleiss_kappa(&m))),
                e2e(&|| dense::fleiss_kappa(&d)),
            ),
            "gwet_ac1" => (
                time(runs, || value(&gwet(&m, Weights::Identity, &[]))),
                e2e(&|| dense::gwet_ac1(&d)),
            ),
            "percent_agreement" => (
                time(runs, || value(&percent_agreement(&m))),
                e2e(&|| dense::percent_agreement(&d)),
            ),
            "nominal_suite" => {
                let show = |a: [&Agreement; 4]| {
                    format!(
                        "[{}]",
                        a.iter().map(|x| value(x)).collect::<Vec<_>>().join(",")
                    )
                };
                (
                    time(runs, || {
                        show([
                            &alpha(&m, Level::Nominal),
                            &fleiss_kappa(&m),
                            &gwet(&m, Weights::Identity, &[]),
                            &percent_agreement(&m),
                        ])
                    }),
                    time(runs, || match dense::nominal_suite(&d) {
                        Ok(s) => {
                            show([&s.alpha, &s.fleiss_kappa, &s.gwet_ac1, &s.percent_agreement])
                        }
                        Err(e) => e.to_string(),
                    }),
                )
            }
            _ => {
                let show = |v: &[earshot_calibration::agreement::icc::Icc]| {
                    let v: Vec<String> = v.iter().map(|i| value(&i.agreement)).collect();
                    format!("[{}]", v.join(","))
                };
                (
                    time(runs, || show(&icc_all(&m))),
                    time(runs, || match dense::icc_all(&d) {
                        Ok(v) => show(&v),
                        Err(e) => e.to_string(),
                    }),
                )
            }
        };
        if !same_values(&v, &e2e_v) {
            return Err(format!("{stat}: matrix path {v} but dense path {e2e_v}").into());
        }
        rows.push((format!("{prefix}{stat}"), ms, build_ms, e2e_ms, v));
    }
    Ok(rows)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let dir =
        std::path::PathBuf::from(args.get(1).map_or("target/agreement-bench", String::as_str));
    let units: usize = args.get(2).map_or(Ok(10_000), |s| s.parse())?;
    let raters: usize = args.get(3).map_or(Ok(50), |s| s.parse())?;
    let seed: u64 = args.get(4).map_or(Ok(20_261_123), |s| s.parse())?;
    std::fs::create_dir_all(&dir)?;
    let runs = 9;

    let scale = generate(units, raters, seed);
    write_csv(&dir.join("matrix.csv"), &scale, raters)?;
    let totals = generate_totals(units, raters, seed);
    write_csv(&dir.join("totals.csv"), &totals, raters)?;

    let mut rows = run(
        "",
        units,
        raters,
        &scale,
        runs,
        &[
            "alpha_nominal",
            "alpha_ordinal",
            "alpha_interval",
            "alpha_ratio",
            "fleiss_kappa",
            "gwet_ac1",
            "percent_agreement",
            "nominal_suite",
            "icc_all_six",
        ],
    )?;
    rows.extend(run(
        "totals_",
        units,
        raters,
        &totals,
        runs,
        &["alpha_interval", "icc_all_six"],
    )?);

    let mut json = format!(
        "{{\"units\":{units},\"raters\":{raters},\"seed\":{seed},\"runs\":{runs},\"results\":{{"
    );
    for (i, (name, ms, build, e2e, v)) in rows.iter().enumerate() {
        if i > 0 {
            json.push(',');
        }
        write!(
            json,
            "\"{name}\":{{\"median_ms\":{ms:.4},\"build_ms\":{build:.4},\"e2e_ms\":{e2e:.4},\"value\":{v}}}"
        )?;
    }
    json.push_str("}}\n");
    std::fs::write(dir.join("rust_timings.json"), &json)?;

    println!("{units} units x {raters} raters, seed {seed}, median of {runs} runs");
    println!(
        "{:<24} {:>10} {:>10} {:>12}   value",
        "statistic", "stat ms", "build ms", "end-to-end"
    );
    for (name, ms, build, e2e, v) in &rows {
        println!("{name:<24} {ms:>10.3} {build:>10.3} {e2e:>12.3}   {v}");
    }
    println!("wrote {}", dir.display());
    Ok(())
}
