//! The demo's report page: one self-contained HTML file (inline CSS, the
//! reporting service's SVG charts inlined), readable offline and printable.

use std::fmt::Write as _;

use super::{Section, generate::Size};
use crate::client::table::Table;

/// Escapes text for HTML.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// An SVG document made fit to inline as the `n`th chart of the page: no
/// XML declaration or doctype, nothing that runs, and its element ids
/// prefixed so that several charts' ids do not collide.
fn inline_svg(svg: &str, n: usize) -> Option<String> {
    let start = svg.find("<svg")?;
    let body = &svg[start..];
    let lower = body.to_ascii_lowercase();
    if lower.contains("<script")
        || lower.contains("javascript:")
        || lower.contains("<foreignobject")
    {
        return None;
    }
    let mut ids = Vec::new();
    let mut rest = body;
    while let Some(at) = rest.find(" id=\"") {
        rest = &rest[at + 5..];
        if let Some(end) = rest.find('"') {
            ids.push(rest[..end].to_owned());
        }
    }
    let mut out = body.to_owned();
    for id in ids.iter().filter(|i| !i.is_empty()) {
        out = rename(&out, id, &format!("chart{n}-{id}"));
    }
    Some(out)
}

/// Replaces `id` where it stands as a whole token in an attribute value:
/// `id="x"`, `href="#x"`, `url(#x)`, `aria-labelledby="x y"`.
fn rename(s: &str, id: &str, to: &str) -> String {
    let mut out = String::with_capacity(s.len() + 16);
    let mut i = 0;
    while let Some(at) = s[i..].find(id) {
        let at = i + at;
        let before = s[..at].chars().next_back();
        let after = s[at + id.len()..].chars().next();
        let whole =
            matches!(before, Some('"' | '#' | ' ')) && matches!(after, Some('"' | ' ' | ')'));
        out.push_str(&s[i..at]);
        out.push_str(if whole { to } else { id });
        i = at + id.len();
    }
    out.push_str(&s[i..]);
    out
}

const CSS: &str = r#"
:root { --ink: #1d2733; --muted: #5b6b7c; --line: #d9e0e7; --accent: #2563eb; --bg: #f6f8fa; }
* { box-sizing: border-box; }
body { margin: 0; font: 15px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--ink); background: var(--bg); }
header { background: #0f172a; color: #fff; padding: 28px 40px; }
header h1 { margin: 0 0 4px; font-size: 26px; }
header p { margin: 0; color: #cbd5e1; }
nav { padding: 10px 40px; background: #fff; border-bottom: 1px solid var(--line); position: sticky; top: 0; }
nav a { margin-right: 16px; color: var(--accent); text-decoration: none; font-size: 14px; }
main { max-width: 1180px; margin: 0 auto; padding: 24px 40px 60px; }
section { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 20px 24px; margin: 0 0 24px; }
section h2 { margin: 0 0 6px; font-size: 20px; }
section > p { margin: 0 0 14px; color: var(--muted); }
h3 { font-size: 15px; margin: 18px 0 6px; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; width: 100%; font-size: 13.5px; }
th, td { padding: 6px 10px; border-bottom: 1px solid var(--line); text-align: left; white-space: nowrap; }
th { background: #f1f5f9; font-weight: 600; }
td.num { text-align: right; font-variant-numeric: tabular-nums; }
.note { color: var(--muted); font-size: 12.5px; margin: 6px 0 0; }
.missing { color: #b45309; background: #fffbeb; border: 1px solid #fde68a; padding: 8px 12px; border-radius: 6px; }
.charts { display: flex; flex-wrap: wrap; gap: 16px; margin-top: 14px; }
.chart { border: 1px solid var(--line); border-radius: 6px; padding: 8px; background: #fff; max-width: 100%; }
.chart svg { max-width: 100%; height: auto; }
footer { color: var(--muted); font-size: 12.5px; text-align: center; padding: 20px; }
@media print { nav { display: none; } section { break-inside: avoid; } }
"#;

fn table_html(t: &Table, out: &mut String) {
    if !t.title.is_empty() {
        let _ = writeln!(out, "<h3>{}</h3>", escape(&t.title));
    }
    out.push_str("<div class=\"scroll\"><table>\n<thead><tr>");
    for c in &t.columns {
        let _ = write!(out, "<th>{}</th>", escape(&c.replace('_', " ")));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for r in &t.rows {
        out.push_str("<tr>");
        for c in r {
            let class = if c.value.is_number() {
                " class=\"num\""
            } else {
                ""
            };
            let _ = write!(out, "<td{class}>{}</td>", escape(&c.text));
        }
        out.push_str("</tr>\n");
    }
    if t.rows.is_empty() {
        let _ = writeln!(
            out,
            "<tr><td colspan=\"{}\">No rows.</td></tr>",
            t.columns.len().max(1)
        );
    }
    out.push_str("</tbody></table></div>\n");
    for n in &t.notes {
        let _ = writeln!(out, "<p class=\"note\">{}</p>", escape(n));
    }
}

/// The page.
pub fn page(sections: &[Section], seed: u64, size: Size) -> String {
    let mut out = String::new();
    out.push_str("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n");
    out.push_str("<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n");
    out.push_str("<title>Earshot demo: a month of quality monitoring</title>\n<style>");
    out.push_str(CSS);
    out.push_str(
        "</style>\n</head>\n<body>\n<header>\n<h1>Earshot: a month of quality monitoring</h1>\n",
    );
    let _ = writeln!(
        out,
        "<p>A generated contact center (seed {seed}, {} size) run through sampling, evaluation, dispute, calibration and reporting by <code>earshot demo</code>.</p>\n</header>",
        format!("{size:?}").to_ascii_lowercase()
    );
    out.push_str("<nav>");
    for s in sections {
        let _ = write!(out, "<a href=\"#{}\">{}</a>", s.id, escape(&s.title));
    }
    out.push_str("</nav>\n<main>\n");
    let mut charts = 0;
    for s in sections {
        let _ = writeln!(
            out,
            "<section id=\"{}\">\n<h2>{}</h2>",
            s.id,
            escape(&s.title)
        );
        if !s.intro.is_empty() {
            let _ = writeln!(out, "<p>{}</p>", escape(&s.intro));
        }
        if let Some(m) = &s.missing {
            let _ = writeln!(out, "<p class=\"missing\">{}</p>", escape(m));
        }
        for t in &s.tables {
            table_html(t, &mut out);
        }
        if !s.charts.is_empty() {
            out.push_str("<div class=\"charts\">\n");
            for svg in &s.charts {
                charts += 1;
                if let Some(svg) = inline_svg(svg, charts) {
                    let _ = writeln!(out, "<figure class=\"chart\">{svg}</figure>");
                }
            }
            out.push_str("</div>\n");
        }
        out.push_str("</section>\n");
    }
    out.push_str("</main>\n<footer>Intervals are 95% confidence intervals; * marks a group below the minimum sample. Earshot is open source (Apache-2.0).</footer>\n</body>\n</html>\n");
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::client::table::Cell;

    #[test]
    fn sections_tables_and_charts_are_inlined_safely() {
        let mut t = Table::new("A <b>", &["team", "n"]);
        t.push(vec![Cell::text("x & y"), Cell::int(3)]);
        let s = Section {
            id: "quality",
            title: "Quality".into(),
            intro: "Scores".into(),
            tables: vec![t],
            charts: vec![
                "<?xml version=\"1.0\"?><svg xmlns=\"http://www.w3.org/2000/svg\"></svg>".into(),
                "<svg><script>alert(1)</script></svg>".into(),
            ],
            missing: None,
        };
        let html = page(&[s], 7, Size::Small);
        assert!(html.contains("<section id=\"quality\">"));
        assert!(html.contains("A &lt;b&gt;"));
        assert!(html.contains("x &amp; y"));
        assert_eq!(html.matches("<svg").count(), 1);
        assert!(!html.contains("<?xml"));
        assert!(!html.contains("<script"));
        let svg = "<svg aria-labelledby=\"t d\"><title id=\"t\">T</title><desc id=\"d\">at</desc><path fill=\"url(#t)\"/></svg>";
        assert_eq!(
            inline_svg(svg, 2).unwrap(),
            "<svg aria-labelledby=\"chart2-t chart2-d\"><title id=\"chart2-t\">T</title><desc id=\"chart2-d\">at</desc><path fill=\"url(#chart2-t)\"/></svg>"
        );
    }
}
