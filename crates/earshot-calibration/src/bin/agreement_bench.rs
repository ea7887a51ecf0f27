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
//! on the built [`RatingsMatrix`] (the analogue of the NumPy array the
//! references take), 9 runs, median; building the matrix from dense cells
//! (validation, compression, category codes: done once per request and
//! shared by every statistic) is timed and reported beside it.

use std::fmt::Write as _;
use std::time::Instant;

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

type Row = (String, f64, f64, String);

/// Times every statistic on one matrix: (name, median ms on the built
/// matrix, median ms of building the matrix, value).
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
    let mut rows = Vec::new();
    for &stat in stats {
        let (ms, v) = match stat {
            "alpha_nominal" => time(runs, || value(&alpha(&m, Level::Nominal))),
            "alpha_ordinal" => time(runs, || value(&alpha(&m, Level::Ordinal))),
            "alpha_interval" => time(runs, || value(&alpha(&m, Level::Interval))),
            "alpha_ratio" => time(runs, || value(&alpha(&m, Level::Ratio))),
            "fleiss_kappa" => time(runs, || value(&fleiss_kappa(&m))),
            "gwet_ac1" => time(runs, || value(&gwet(&m, Weights::Identity, &[]))),
            "percent_agreement" => time(runs, || value(&percent_agreement(&m))),
            _ => time(runs, || {
                let v: Vec<String> = icc_all(&m).iter().map(|i| value(&i.agreement)).collect();
                format!("[{}]", v.join(","))
            }),
        };
        rows.push((format!("{prefix}{stat}"), ms, build_ms, v));
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
    for (i, (name, ms, build, v)) in rows.iter().enumerate() {
        if i > 0 {
            json.push(',');
        }
        write!(
            json,
            "\"{name}\":{{\"median_ms\":{ms:.4},\"build_ms\":{build:.4},\"value\":{v}}}"
        )?;
    }
    json.push_str("}}\n");
    std::fs::write(dir.join("rust_timings.json"), &json)?;

    println!("{units} units x {raters} raters, seed {seed}, median of {runs} runs");
    println!(
        "{:<24} {:>10} {:>12}   value",
        "statistic", "stat ms", "build ms"
    );
    for (name, ms, build, v) in &rows {
        println!("{name:<24} {ms:>10.3} {build:>12.3}   {v}");
    }
    println!("wrote {}", dir.display());
    Ok(())
}
