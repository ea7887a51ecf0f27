//! The score distribution chart: 20 bars of 5 points each.

use std::fmt::Write as _;

use super::axis::{TickFormat, nice_axis, tick_label};
use super::{PALETTE, Size, escape, open_document, px};
use crate::stats::histogram::BINS;

/// What a distribution chart shows.
#[derive(Debug, Clone, PartialEq)]
pub struct DistributionChartInput {
    /// Title above the plot.
    pub title: String,
    /// Evaluations per 5-point bin.
    pub counts: [i64; BINS],
    /// Pixel size.
    pub size: Size,
}

const LEFT: f64 = 60.0;
const RIGHT: f64 = 20.0;
const TOP: f64 = 40.0;
const BOTTOM: f64 = 50.0;

/// Renders the histogram as a standalone SVG document.
pub fn render_histogram(input: &DistributionChartInput) -> String {
    let size = input.size;
    let (w, h) = (f64::from(size.width), f64::from(size.height));
    let plot_w = (w - LEFT - RIGHT).max(10.0);
    let plot_h = (h - TOP - BOTTOM).max(10.0);
    let counts = input.counts.map(|c| c.max(0));
    let total: i64 = counts.iter().sum();
    let peak = counts.iter().copied().max().unwrap_or(0);
    let axis = nice_axis(0.0, (peak as f64).max(1.0), 6);
    let y = |v: f64| TOP + (axis.max - v) / (axis.max - axis.min) * plot_h;
    let bar_w = plot_w / BINS as f64;

    let mut out = String::new();
    open_document(
        &mut out,
        size,
        &input.title,
        &format!("Distribution of {total} evaluation scores in 5-point bins from 0 to 100."),
    );
    out.push_str("<g class=\"axes\" stroke=\"#999999\">\n");
    for t in &axis.ticks {
        let _ = writeln!(
            out,
            "<line class=\"grid\" x1=\"{}\" y1=\"{yy}\" x2=\"{}\" y2=\"{yy}\" stroke=\"#e5e5e5\"/>",
            px(LEFT),
            px(LEFT + plot_w),
            yy = px(y(*t))
        );
    }
    let _ = writeln!(
        out,
        "<line class=\"x-axis\" x1=\"{}\" y1=\"{b}\" x2=\"{}\" y2=\"{b}\"/>\n</g>",
        px(LEFT),
        px(LEFT + plot_w),
        b = px(TOP + plot_h)
    );
    out.push_str("<g class=\"y-ticks\" text-anchor=\"end\" fill=\"#333333\">\n");
    for t in &axis.ticks {
        let _ = writeln!(
            out,
            "<text x=\"{}\" y=\"{}\">{}</text>",
            px(LEFT - 6.0),
            px(y(*t) + 4.0),
            tick_label(*t, axis.step.max(1.0), TickFormat::Number)
        );
    }
    out.push_str("</g>\n<g class=\"x-ticks\" text-anchor=\"middle\" fill=\"#333333\">\n");
    for k in 0..=10 {
        let _ = writeln!(
            out,
            "<text x=\"{}\" y=\"{}\">{}</text>",
            px(LEFT + (2 * k) as f64 * bar_w),
            px(TOP + plot_h + 16.0),
            k * 10
        );
    }
    let _ = writeln!(
        out,
        "</g>\n<text class=\"x-label\" x=\"{}\" y=\"{}\" text-anchor=\"middle\">Score</text>\n\
         <text class=\"y-label\" transform=\"translate(16 {}) rotate(-90)\" text-anchor=\"middle\">Evaluations</text>",
        px(LEFT + plot_w / 2.0),
        px(h - 10.0),
        px(TOP + plot_h / 2.0)
    );
    out.push_str("<g class=\"bars\">\n");
    for (i, &c) in counts.iter().enumerate() {
        let top = y(c as f64);
        let upper = if i + 1 == BINS {
            "100]".to_owned()
        } else {
            format!("{})", (i + 1) * 5)
        };
        let _ = writeln!(
            out,
            "<rect class=\"bar\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\"><title>{}</title></rect>",
            px(LEFT + i as f64 * bar_w + 1.0),
            px(top),
            px((bar_w - 2.0).max(0.5)),
            px(TOP + plot_h - top),
            PALETTE[0],
            escape(&format!("[{}, {upper}: {c}", i * 5))
        );
    }
    out.push_str("</g>\n");
    if total == 0 {
        let _ = writeln!(
            out,
            "<text class=\"no-data\" x=\"{}\" y=\"{}\" text-anchor=\"middle\" fill=\"#666666\">No evaluations in this period</text>",
            px(LEFT + plot_w / 2.0),
            px(TOP + plot_h / 2.0)
        );
    }
    out.push_str("</svg>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twenty_bars_with_their_counts() {
        let mut counts = [0i64; BINS];
        counts[16] = 12;
        counts[17] = 30;
        counts[19] = 4;
        let svg = render_histogram(&DistributionChartInput {
            title: "Scores <Q1>".into(),
            counts,
            size: Size::new(600, 300),
        });
        let doc = roxmltree::Document::parse(&svg).expect("valid XML");
        let bars: Vec<_> = doc
            .descendants()
            .filter(|n| n.attribute("class") == Some("bar"))
            .collect();
        assert_eq!(bars.len(), BINS);
        let tip = |i: usize| {
            bars[i]
                .children()
                .find(|n| n.has_tag_name("title"))
                .and_then(|n| n.text())
        };
        assert_eq!(tip(17), Some("[85, 90): 30"));
        assert_eq!(tip(19), Some("[95, 100]: 4"));
        let height = |i: usize| {
            bars[i]
                .attribute("height")
                .unwrap_or("0")
                .parse::<f64>()
                .unwrap_or(0.0)
        };
        assert!(height(17) > height(16) && height(16) > height(19) && height(0) == 0.0);
        assert!(
            !doc.descendants()
                .any(|n| n.attribute("class") == Some("no-data"))
        );
        let desc = doc
            .descendants()
            .find(|n| n.has_tag_name("desc"))
            .and_then(|n| n.text());
        assert_eq!(
            desc,
            Some("Distribution of 46 evaluation scores in 5-point bins from 0 to 100.")
        );
    }

    #[test]
    fn empty_histogram() {
        let svg = render_histogram(&DistributionChartInput {
            title: String::new(),
            counts: [0; BINS],
            size: Size::new(0, 0),
        });
        let doc = roxmltree::Document::parse(&svg).expect("valid XML");
        assert!(
            doc.descendants()
                .any(|n| n.attribute("class") == Some("no-data"))
        );
    }
}
