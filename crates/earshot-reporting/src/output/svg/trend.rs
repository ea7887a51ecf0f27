//! The trend chart: one line per series over the buckets, its 95% interval
//! as a shaded band, hollow markers for points below the minimum sample,
//! gaps where a bucket has no data, and the target as a dashed line.

use std::fmt::Write as _;

use super::axis::{TickFormat, nice_axis, tick_label, value_label};
use super::{PALETTE, Size, escape, open_document, px};
use crate::stats::Estimate;

/// One series to draw.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesInput {
    /// Legend name (a group's display name or id).
    pub name: String,
    /// One estimate per x label; no-data points leave a gap.
    pub points: Vec<Estimate>,
}

/// Everything a trend chart shows.
#[derive(Debug, Clone, PartialEq)]
pub struct TrendChartInput {
    /// Title above the plot.
    pub title: String,
    /// The value axis label (metric and unit).
    pub y_label: String,
    /// One label per bucket (e.g. "2026-03").
    pub x_labels: Vec<String>,
    /// Series, at most [`PALETTE`]`.len()` drawn (more are ignored).
    pub series: Vec<SeriesInput>,
    /// The target value, drawn as a dashed line.
    pub target: Option<f64>,
    /// Print values as percentages (shares).
    pub percent: bool,
    /// Pixel size.
    pub size: Size,
}

const LEFT: f64 = 70.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 80.0;

/// Renders the chart as a standalone SVG document.
pub fn render_trend(input: &TrendChartInput) -> String {
    let size = input.size;
    let (w, h) = (f64::from(size.width), f64::from(size.height));
    let plot_w = (w - LEFT - RIGHT).max(10.0);
    let plot_h = (h - TOP - BOTTOM).max(10.0);
    let series: Vec<&SeriesInput> = input.series.iter().take(PALETTE.len()).collect();
    let n = input
        .x_labels
        .len()
        .max(series.iter().map(|s| s.points.len()).max().unwrap_or(0))
        .max(1);

    let mut lo = f64::INFINITY;
    let mut hi = f64::NEG_INFINITY;
    for s in &series {
        for p in s.points.iter().filter(|p| !p.no_data) {
            lo = lo.min(p.ci_low).min(p.value);
            hi = hi.max(p.ci_high).max(p.value);
        }
    }
    if let Some(t) = input.target.filter(|t| t.is_finite()) {
        lo = lo.min(t);
        hi = hi.max(t);
    }
    let has_data = lo.is_finite() && hi.is_finite();
    let axis = if has_data {
        nice_axis(lo, hi, 6)
    } else {
        nice_axis(0.0, 1.0, 6)
    };
    let format = if input.percent {
        TickFormat::Percent
    } else {
        TickFormat::Number
    };
    let x = |i: usize| LEFT + (i as f64 + 0.5) * plot_w / n as f64;
    let y = |v: f64| TOP + (axis.max - v) / (axis.max - axis.min) * plot_h;

    let count = series.len();
    let desc = format!(
        "Trend of {} over {} buckets for {} series{}.",
        input.y_label,
        n,
        count,
        input
            .target
            .map(|t| format!(", target {}", value_label(t, 2, format)))
            .unwrap_or_default()
    );
    let mut out = String::new();
    open_document(&mut out, size, &input.title, &desc);

    // Axes and grid.
    out.push_str("<g class=\"axes\" stroke=\"#999999\" stroke-width=\"1\">\n");
    for t in &axis.ticks {
        let _ = writeln!(
            out,
            "<line class=\"grid\" x1=\"{}\" y1=\"{yy}\" x2=\"{}\" y2=\"{yy}\" stroke=\"#e5e5e5\"/>",
            px(LEFT),
            px(LEFT + plot_w),
            yy = px(y(*t)),
        );
    }
    let _ = writeln!(
        out,
        "<line class=\"y-axis\" x1=\"{l}\" y1=\"{t}\" x2=\"{l}\" y2=\"{b}\"/>\n<line class=\"x-axis\" x1=\"{l}\" y1=\"{b}\" x2=\"{r}\" y2=\"{b}\"/>",
        l = px(LEFT),
        t = px(TOP),
        b = px(TOP + plot_h),
        r = px(LEFT + plot_w),
    );
    out.push_str("</g>\n<g class=\"y-ticks\" text-anchor=\"end\" fill=\"#333333\">\n");
    for t in &axis.ticks {
        let _ = writeln!(
            out,
            "<text x=\"{}\" y=\"{}\">{}</text>",
            px(LEFT - 6.0),
            px(y(*t) + 4.0),
            escape(&tick_label(*t, axis.step, format))
        );
    }
    let every = (n as f64 / (plot_w / 70.0).max(1.0)).ceil().max(1.0) as usize;
    out.push_str("</g>\n<g class=\"x-ticks\" text-anchor=\"middle\" fill=\"#333333\">\n");
    for (i, label) in input.x_labels.iter().enumerate() {
        if i % every == 0 {
            let _ = writeln!(
                out,
                "<text x=\"{}\" y=\"{}\">{}</text>",
                px(x(i)),
                px(TOP + plot_h + 16.0),
                escape(label)
            );
        }
    }
    let _ = writeln!(
        out,
        "</g>\n<text class=\"y-label\" transform=\"translate(16 {}) rotate(-90)\" text-anchor=\"middle\">{}</text>",
        px(TOP + plot_h / 2.0),
        escape(&input.y_label)
    );

    if !has_data {
        let _ = writeln!(
            out,
            "<text class=\"no-data\" x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"#666666\">No data in this period</text>",
            px(LEFT + plot_w / 2.0),
            px(TOP + plot_h / 2.0)
        );
    }

    // Series: per contiguous run of points with data, a band and a line.
    for (si, s) in series.iter().enumerate() {
        let colour = PALETTE[si];
        let _ = writeln!(
            out,
            "<g class=\"series\" data-series=\"{}\">",
            escape(&s.name)
        );
        let mut runs: Vec<Vec<(usize, &Estimate)>> = Vec::new();
        let mut run = Vec::new();
        for (i, p) in s.points.iter().enumerate() {
            if p.no_data {
                if !run.is_empty() {
                    runs.push(std::mem::take(&mut run));
                }
            } else {
                run.push((i, p));
            }
        }
        if !run.is_empty() {
            runs.push(run);
        }
        for run in &runs {
            let upper = run
                .iter()
                .map(|(i, p)| format!("{},{}", px(x(*i)), px(y(p.ci_high))));
            let lower = run
                .iter()
                .rev()
                .map(|(i, p)| format!("{},{}", px(x(*i)), px(y(p.ci_low))));
            let band: Vec<String> = upper.chain(lower).collect();
            let _ = writeln!(
                out,
                "<polygon class=\"ci-band\" points=\"{}\" fill=\"{colour}\" fill-opacity=\"0.15\" stroke=\"none\"/>",
                band.join(" ")
            );
            let line: Vec<String> = run
                .iter()
                .map(|(i, p)| format!("{},{}", px(x(*i)), px(y(p.value))))
                .collect();
            let _ = writeln!(
                out,
                "<polyline class=\"line\" points=\"{}\" fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\"/>",
                line.join(" ")
            );
        }
        for (i, p) in s.points.iter().enumerate().filter(|(_, p)| !p.no_data) {
            let (class, fill) = if p.insufficient_sample {
                ("point insufficient", "#ffffff")
            } else {
                ("point", colour)
            };
            let label = input.x_labels.get(i).map(String::as_str).unwrap_or("");
            let _ = writeln!(
                out,
                "<circle class=\"{class}\" cx=\"{}\" cy=\"{}\" r=\"3.5\" fill=\"{fill}\" stroke=\"{colour}\" stroke-width=\"1.5\"><title>{}</title></circle>",
                px(x(i)),
                px(y(p.value)),
                escape(&format!(
                    "{} {label}: {} (95% CI {} to {}, n = {}{})",
                    s.name,
                    value_label(p.value, 2, format),
                    value_label(p.ci_low, 2, format),
                    value_label(p.ci_high, 2, format),
                    p.sample_size,
                    if p.insufficient_sample {
                        ", below minimum sample"
                    } else {
                        ""
                    }
                ))
            );
        }
        out.push_str("</g>\n");
    }

    if let Some(t) = input.target.filter(|t| t.is_finite()) {
        let _ = writeln!(
            out,
            "<g class=\"target\"><line x1=\"{l}\" y1=\"{yy}\" x2=\"{r}\" y2=\"{yy}\" stroke=\"#C00000\" stroke-width=\"1.5\" stroke-dasharray=\"6 4\"/>\
             <text x=\"{r}\" y=\"{ty}\" text-anchor=\"end\" fill=\"#C00000\">Target {}</text></g>",
            escape(&value_label(t, 2, format)),
            l = px(LEFT),
            r = px(LEFT + plot_w),
            yy = px(y(t)),
            ty = px(y(t) - 4.0),
        );
    }

    // Legend.
    out.push_str("<g class=\"legend\">\n");
    let mut lx = LEFT;
    let ly = h - 24.0;
    for (si, s) in series.iter().enumerate() {
        let _ = writeln!(
            out,
            "<rect x=\"{}\" y=\"{}\" width=\"12\" height=\"12\" fill=\"{}\"/><text x=\"{}\" y=\"{}\">{}</text>",
            px(lx),
            px(ly - 10.0),
            PALETTE[si],
            px(lx + 16.0),
            px(ly),
            escape(&s.name)
        );
        lx += 28.0 + 7.0 * s.name.chars().count().min(40) as f64;
    }
    out.push_str("</g>\n</svg>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn est(v: f64, n: i64) -> Estimate {
        Estimate::new(v, v - 2.0, v + 2.0, n)
    }

    fn input() -> TrendChartInput {
        TrendChartInput {
            title: "Quality — R&D <Ops>".into(),
            y_label: "Quality score".into(),
            x_labels: vec![
                "2026-01".into(),
                "2026-02".into(),
                "2026-03".into(),
                "2026-04".into(),
            ],
            series: vec![
                SeriesInput {
                    name: "Team \"North\"".into(),
                    points: vec![
                        est(80.0, 40),
                        est(82.0, 40),
                        Estimate::NO_DATA,
                        est(85.0, 3).with_minimum(10),
                    ],
                },
                SeriesInput {
                    name: "Center".into(),
                    points: vec![est(78.0, 400); 4],
                },
            ],
            target: Some(85.0),
            percent: false,
            size: Size::new(0, 0),
        }
    }

    #[test]
    fn parses_as_xml_with_the_expected_series() {
        let svg = render_trend(&input());
        let doc = roxmltree::Document::parse(&svg).expect("valid XML");
        let root = doc.root_element();
        assert_eq!(root.tag_name().name(), "svg");
        assert_eq!(
            root.tag_name().namespace(),
            Some("http://www.w3.org/2000/svg")
        );
        let title = root
            .children()
            .find(|n| n.has_tag_name("title"))
            .and_then(|n| n.text());
        assert_eq!(title, Some("Quality — R&D <Ops>"));
        let series: Vec<_> = root
            .descendants()
            .filter(|n| n.attribute("class") == Some("series"))
            .collect();
        assert_eq!(series.len(), 2);
        assert_eq!(series[0].attribute("data-series"), Some("Team \"North\""));
        // The gap splits the first series into two runs.
        let lines = |g: &roxmltree::Node| {
            g.children()
                .filter(|n| n.attribute("class") == Some("line"))
                .count()
        };
        assert_eq!(lines(&series[0]), 2);
        assert_eq!(lines(&series[1]), 1);
        let bands = series[1]
            .children()
            .filter(|n| n.attribute("class") == Some("ci-band"))
            .count();
        assert_eq!(bands, 1);
        let points =
            |g: &roxmltree::Node| g.children().filter(|n| n.has_tag_name("circle")).count();
        assert_eq!(points(&series[0]), 3);
        assert_eq!(points(&series[1]), 4);
        let hollow = series[0]
            .children()
            .filter(|n| n.attribute("class") == Some("point insufficient"))
            .count();
        assert_eq!(hollow, 1);
        let target = root
            .descendants()
            .find(|n| n.attribute("class") == Some("target"));
        let label = target
            .and_then(|t| t.children().find(|n| n.has_tag_name("text")))
            .and_then(|n| n.text());
        assert_eq!(label, Some("Target 85"));
        // Every coordinate is a number inside the canvas.
        for c in root.descendants().filter(|n| n.has_tag_name("circle")) {
            let cy: f64 = c.attribute("cy").unwrap_or("x").parse().expect("number");
            assert!((0.0..=400.0).contains(&cy));
        }
        let ticks: Vec<_> = root
            .descendants()
            .filter(|n| n.attribute("class") == Some("y-ticks"))
            .flat_map(|g| g.children().filter_map(|t| t.text()).collect::<Vec<_>>())
            .collect();
        assert!(ticks.contains(&"80") && ticks.contains(&"85"), "{ticks:?}");
    }

    #[test]
    fn empty_chart_says_no_data() {
        let svg = render_trend(&TrendChartInput {
            series: vec![SeriesInput {
                name: "x".into(),
                points: vec![Estimate::NO_DATA; 3],
            }],
            target: None,
            percent: true,
            ..input()
        });
        let doc = roxmltree::Document::parse(&svg).expect("valid XML");
        assert!(
            doc.descendants()
                .any(|n| n.attribute("class") == Some("no-data"))
        );
        assert!(!doc.descendants().any(|n| n.has_tag_name("polyline")));
        let no_series = render_trend(&TrendChartInput {
            series: vec![],
            x_labels: vec![],
            ..input()
        });
        assert!(roxmltree::Document::parse(&no_series).is_ok());
    }

    #[test]
    fn percent_ticks() {
        let svg = render_trend(&TrendChartInput {
            series: vec![SeriesInput {
                name: "SL".into(),
                points: vec![Estimate::new(0.8, 0.75, 0.85, 100); 2],
            }],
            target: Some(0.8),
            percent: true,
            ..input()
        });
        assert!(svg.contains(">80%</text>"), "{svg}");
        assert!(svg.contains("Target 80%"));
    }
}
