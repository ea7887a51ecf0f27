//! Writes a sample trend chart and a sample distribution chart, to look at
//! what the reporting service draws:
//!
//! ```sh
//! cargo run -p earshot-reporting --example charts -- /tmp/earshot-charts
//! ```

use earshot_reporting::output::svg::Size;
use earshot_reporting::output::svg::histogram::{DistributionChartInput, render_histogram};
use earshot_reporting::output::svg::trend::{SeriesInput, TrendChartInput, render_trend};
use earshot_reporting::stats::{Estimate, Moments};

fn main() -> std::io::Result<()> {
    let dir = std::env::args().nth(1).unwrap_or_else(|| ".".to_owned());
    std::fs::create_dir_all(&dir)?;
    let months = [
        "2025-10", "2025-11", "2025-12", "2026-01", "2026-02", "2026-03",
    ];
    let series = |name: &str, base: i64, n: usize| SeriesInput {
        name: name.to_owned(),
        points: (0..months.len())
            .map(|i| {
                if name.starts_with("Team") && i == 2 {
                    return Estimate::NO_DATA;
                }
                let values: Vec<i64> = (0..n)
                    .map(|k| base + (i as i64) * 150 + ((k * 37) % 11) as i64 * 120)
                    .collect();
                Moments::from_values(&values)
                    .mean_estimate(100.0, Some((0.0, 100.0)))
                    .with_minimum(10)
            })
            .collect(),
    };
    let trend = render_trend(&TrendChartInput {
        title: "Quality score by month — Team North & center".to_owned(),
        y_label: "Quality score (points)".to_owned(),
        x_labels: months.iter().map(|m| (*m).to_owned()).collect(),
        series: vec![
            series("Team North", 7_600, 12),
            series("Center", 7_900, 400),
        ],
        target: Some(85.0),
        percent: false,
        size: Size::new(0, 0),
    });
    std::fs::write(format!("{dir}/trend.svg"), trend)?;
    let mut counts = [0i64; 20];
    for (i, c) in [
        (10, 2),
        (11, 3),
        (12, 6),
        (13, 11),
        (14, 19),
        (15, 31),
        (16, 44),
        (17, 38),
        (18, 21),
        (19, 9),
    ] {
        counts[i] = c;
    }
    let histogram = render_histogram(&DistributionChartInput {
        title: "Score distribution, Q1 2026".to_owned(),
        counts,
        size: Size::new(0, 0),
    });
    std::fs::write(format!("{dir}/distribution.svg"), histogram)?;
    println!("wrote {dir}/trend.svg and {dir}/distribution.svg");
    Ok(())
}
