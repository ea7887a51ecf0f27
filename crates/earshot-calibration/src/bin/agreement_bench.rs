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
//! Arguments: `<dir> [units] [raters] [seed]` (defaults 10000, 50, 20261123).
//! Each statistic is timed from the dense cells (building the matrix is
//! included), 7 runs, median reported.

use std::fmt::Write as _;
use std::time::Instant;

use earshot_calibration::agreement::fleiss::fleiss_kappa;
use earshot_calibration::agreement::icc::icc_all;
use earshot_calibration::agreement::krippendorff::alpha;
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

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let dir =
        std::path::PathBuf::from(args.get(1).map_or("target/agreement-bench", String::as_str));
    let units: usize = args.get(2).map_or(Ok(10_000), |s| s.parse())?;
    let raters: usize = args.get(3).map_or(Ok(50), |s| s.parse())?;
    let seed: u64 = args.get(4).map_or(Ok(20_261_123), |s| s.parse())?;
    std::fs::create_dir_all(&dir)?;

    let cells = generate(units, raters, seed);
    let mut csv = String::with_capacity(cells.len() * 2);
    for row in cells.chunks(raters) {
        for (i, c) in row.iter().enumerate() {
            if i > 0 {
                csv.push(',');
            }
            if let Some(v) = c {
                write!(csv, "{v}")?;
            }
        }
        csv.push('\n');
    }
    std::fs::write(dir.join("matrix.csv"), csv)?;

    let build = || RatingsMatrix::from_dense(units, raters, &cells);
    let runs = 7;
    let mut rows: Vec<(&str, f64, String)> = Vec::new();
    for (name, level) in [
        ("alpha_nominal", Level::Nominal),
        ("alpha_ordinal", Level::Ordinal),
        ("alpha_interval", Level::Interval),
        ("alpha_ratio", Level::Ratio),
    ] {
        let (ms, a) = time(runs, || build().map(|m| alpha(&m, level)));
        rows.push((name, ms, value(&a?)));
    }
    let (ms, k) = time(runs, || build().map(|m| fleiss_kappa(&m)));
    rows.push(("fleiss_kappa", ms, value(&k?)));
    let (ms, iccs) = time(runs, || build().map(|m| icc_all(&m)));
    let iccs = iccs?;
    let icc_values: Vec<String> = iccs.iter().map(|i| value(&i.agreement)).collect();
    rows.push(("icc_all_six", ms, format!("[{}]", icc_values.join(","))));
    let complete = iccs.first().map_or(0, |i| i.agreement.units_used);

    let mut json = format!(
        "{{\"units\":{units},\"raters\":{raters},\"seed\":{seed},\"runs\":{runs},\"icc_complete_cases\":{complete},\"results\":{{"
    );
    for (i, (name, ms, v)) in rows.iter().enumerate() {
        if i > 0 {
            json.push(',');
        }
        write!(json, "\"{name}\":{{\"median_ms\":{ms:.4},\"value\":{v}}}")?;
    }
    json.push_str("}}\n");
    std::fs::write(dir.join("rust_timings.json"), &json)?;

    println!("{units} units x {raters} raters, seed {seed}; ICC complete cases: {complete}");
    for (name, ms, v) in &rows {
        println!("{name:<16} {ms:>10.3} ms   {v}");
    }
    println!("wrote {}", dir.display());
    Ok(())
}
