//! SVG charts, drawn by hand.
//!
//! - [`axis`]: "nice" tick values and their labels.
//! - [`trend`]: a line per series with its 95% band and the target line.
//! - [`histogram`]: the score distribution as bars.
//!
//! Every chart is a standalone SVG 1.1 document with `<title>` and `<desc>`
//! for screen readers, no scripts and no external references; all text goes
//! through [`escape`].

pub mod axis;
pub mod histogram;
pub mod trend;

use std::fmt::Write as _;

/// Escapes text for SVG content and attribute values (`&`, `<`, `>`, `"`,
/// `'`), and drops characters XML 1.0 forbids (most control characters).
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(' '),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {}
            c => out.push(c),
        }
    }
    out
}

/// Chart size, clamped to what the contract allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Size {
    /// Width in px, 200..=4000.
    pub width: u32,
    /// Height in px, 150..=3000.
    pub height: u32,
}

impl Size {
    /// A size from a request (0 = default 800 × 400), clamped.
    pub fn new(width: u32, height: u32) -> Size {
        let w = if width == 0 {
            800
        } else {
            width.clamp(200, 4000)
        };
        let h = if height == 0 {
            400
        } else {
            height.clamp(150, 3000)
        };
        Size {
            width: w,
            height: h,
        }
    }
}

/// The eight series colours (colour-blind-safe Okabe–Ito palette).
pub const PALETTE: [&str; 8] = [
    "#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000",
];

/// Formats a coordinate with two decimals (compact and stable).
pub(crate) fn px(v: f64) -> String {
    if v.is_finite() {
        format!("{v:.2}")
    } else {
        "0.00".to_owned()
    }
}

/// Starts a document: root element, title, description, background.
pub(crate) fn open_document(out: &mut String, size: Size, title: &str, desc: &str) {
    let _ = write!(
        out,
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" \
         width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" role=\"img\" aria-labelledby=\"chart-title chart-desc\" \
         font-family=\"sans-serif\" font-size=\"12\">\n<title id=\"chart-title\">{t}</title>\n<desc id=\"chart-desc\">{d}</desc>\n\
         <rect class=\"background\" x=\"0\" y=\"0\" width=\"{w}\" height=\"{h}\" fill=\"#ffffff\"/>\n\
         <text class=\"chart-title\" x=\"{cx}\" y=\"20\" text-anchor=\"middle\" font-size=\"15\">{t}</text>\n",
        w = size.width,
        h = size.height,
        t = escape(title),
        d = escape(desc),
        cx = size.width / 2,
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping() {
        assert_eq!(
            escape("R&D <Ops> \"x\" 'y'"),
            "R&amp;D &lt;Ops&gt; &quot;x&quot; &apos;y&apos;"
        );
        assert_eq!(escape("a\u{0}b\u{1b}c\nd"), "abc d");
        assert_eq!(escape("é漢"), "é漢");
    }

    #[test]
    fn sizes() {
        assert_eq!(
            Size::new(0, 0),
            Size {
                width: 800,
                height: 400
            }
        );
        assert_eq!(
            Size::new(10, 99_999),
            Size {
                width: 200,
                height: 3000
            }
        );
        assert_eq!(px(f64::NAN), "0.00");
    }
}
