//! Tables the client prints: aligned text for people, CSV and JSON for
//! other programs. Each cell keeps its value for JSON and a display form
//! for text and CSV.

use serde_json::{Value, json};

/// How a command prints its result.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum, Default)]
pub enum Format {
    /// Aligned columns.
    #[default]
    Table,
    /// Comma-separated, with a header line.
    Csv,
    /// A JSON array of objects (one per row).
    Json,
}

/// One cell.
#[derive(Debug, Clone)]
pub struct Cell {
    /// What people read.
    pub text: String,
    /// What JSON carries.
    pub value: Value,
}

impl Cell {
    /// Text.
    pub fn text(s: impl Into<String>) -> Cell {
        let s = s.into();
        Cell {
            value: Value::String(s.clone()),
            text: s,
        }
    }

    /// A whole number.
    pub fn int(n: i64) -> Cell {
        Cell {
            text: n.to_string(),
            value: json!(n),
        }
    }

    /// A number shown with `decimals` places.
    pub fn num(x: f64, decimals: usize) -> Cell {
        Cell {
            text: format!("{x:.decimals$}"),
            value: json!(x),
        }
    }

    /// A yes/no.
    pub fn flag(b: bool) -> Cell {
        Cell {
            text: if b { "yes" } else { "" }.into(),
            value: json!(b),
        }
    }

    /// Nothing.
    pub fn empty() -> Cell {
        Cell {
            text: String::new(),
            value: Value::Null,
        }
    }
}

/// A titled table.
#[derive(Debug, Clone, Default)]
pub struct Table {
    /// What it shows.
    pub title: String,
    /// Column names (JSON keys).
    pub columns: Vec<String>,
    /// The rows, each as long as `columns`.
    pub rows: Vec<Vec<Cell>>,
    /// Lines printed under a text table (footnotes).
    pub notes: Vec<String>,
}

impl Table {
    /// An empty table with these columns.
    pub fn new(title: impl Into<String>, columns: &[&str]) -> Table {
        Table {
            title: title.into(),
            columns: columns.iter().map(|c| (*c).to_owned()).collect(),
            rows: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// Adds a row.
    pub fn push(&mut self, row: Vec<Cell>) {
        self.rows.push(row);
    }

    /// Renders in `format`.
    pub fn render(&self, format: Format) -> String {
        match format {
            Format::Table => self.text(),
            Format::Csv => self.csv(),
            Format::Json => {
                let rows: Vec<Value> = self.rows.iter().map(|r| self.object(r)).collect();
                let mut s = serde_json::to_string_pretty(&rows).unwrap_or_default();
                s.push('\n');
                s
            }
        }
    }

    /// CSV for spreadsheets: an estimate column becomes four (value, the
    /// interval's bounds, the sample size), other cells stay as shown.
    fn csv(&self) -> String {
        let is_estimate = |v: &Value| v.get("sample_size").is_some() && v.get("ci_low").is_some();
        let expanded: Vec<bool> = (0..self.columns.len())
            .map(|i| {
                self.rows
                    .iter()
                    .any(|r| r.get(i).is_some_and(|c| is_estimate(&c.value)))
            })
            .collect();
        let mut header = Vec::new();
        for (c, e) in self.columns.iter().zip(&expanded) {
            header.push(c.clone());
            if *e {
                header.extend([
                    format!("{c}_ci_low"),
                    format!("{c}_ci_high"),
                    format!("{c}_n"),
                ]);
            }
        }
        let mut out = super::csv::line(&header);
        for r in &self.rows {
            let mut fields = Vec::new();
            for (c, e) in r.iter().zip(&expanded) {
                if !*e {
                    fields.push(c.text.clone());
                    continue;
                }
                let num = |k: &str| {
                    c.value
                        .get(k)
                        .and_then(Value::as_f64)
                        .map(|x| format!("{x}"))
                        .unwrap_or_default()
                };
                if is_estimate(&c.value) {
                    fields.extend([
                        num("value"),
                        num("ci_low"),
                        num("ci_high"),
                        num("sample_size"),
                    ]);
                } else {
                    fields.extend([String::new(), String::new(), String::new(), String::new()]);
                }
            }
            out.push_str(&super::csv::line(&fields));
        }
        out
    }

    /// One row as a JSON object.
    pub fn object(&self, row: &[Cell]) -> Value {
        let map: serde_json::Map<String, Value> = self
            .columns
            .iter()
            .zip(row)
            .map(|(k, c)| (k.clone(), c.value.clone()))
            .collect();
        Value::Object(map)
    }

    /// Aligned text, numbers right-aligned.
    pub fn text(&self) -> String {
        let mut widths: Vec<usize> = self.columns.iter().map(|c| c.chars().count()).collect();
        for r in &self.rows {
            for (i, c) in r.iter().enumerate() {
                if let Some(w) = widths.get_mut(i) {
                    *w = (*w).max(c.text.chars().count());
                }
            }
        }
        let mut out = String::new();
        if !self.title.is_empty() {
            out.push_str(&self.title);
            out.push('\n');
        }
        let header: Vec<String> = self
            .columns
            .iter()
            .zip(&widths)
            .map(|(c, w)| format!("{c:<w$}"))
            .collect();
        out.push_str(header.join("  ").trim_end());
        out.push('\n');
        let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
        out.push_str(&rule.join("  "));
        out.push('\n');
        if self.rows.is_empty() {
            out.push_str("(no rows)\n");
        }
        for r in &self.rows {
            let cells: Vec<String> = r
                .iter()
                .zip(&widths)
                .map(|(c, w)| {
                    if c.value.is_number() {
                        format!("{:>w$}", c.text)
                    } else {
                        format!("{:<w$}", c.text)
                    }
                })
                .collect();
            out.push_str(cells.join("  ").trim_end());
            out.push('\n');
        }
        for n in &self.notes {
            out.push_str(n);
            out.push('\n');
        }
        out
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn renders_three_ways() {
        let mut t = Table::new("Quality", &["team", "n", "score"]);
        t.push(vec![
            Cell::text("blue, east"),
            Cell::int(12),
            Cell::num(81.26, 1),
        ]);
        assert_eq!(
            t.render(Format::Csv),
            "team,n,score\n\"blue, east\",12,81.3\n"
        );
        let mut e = Table::new("", &["team", "csat"]);
        e.push(vec![
            Cell::text("blue"),
            Cell {
                text: "80.0%".into(),
                value: json!({"value": 0.8, "ci_low": 0.7, "ci_high": 0.9, "sample_size": 40}),
            },
        ]);
        e.push(vec![Cell::text("red"), Cell::empty()]);
        assert_eq!(
            e.render(Format::Csv),
            "team,csat,csat_ci_low,csat_ci_high,csat_n\nblue,0.8,0.7,0.9,40\nred,,,,\n"
        );
        let json: Value = serde_json::from_str(&t.render(Format::Json)).unwrap();
        assert_eq!(json[0]["score"], json!(81.26));
        let text = t.render(Format::Table);
        assert!(text.contains("blue, east  12   81.3"), "{text}");
    }
}
