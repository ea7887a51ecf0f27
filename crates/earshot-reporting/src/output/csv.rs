//! RFC 4180 CSV: comma-separated, CRLF line ends, fields quoted when they
//! contain a comma, a double quote, CR or LF, quotes doubled inside.
//!
//! Two deliberate choices beyond the RFC:
//! - Text fields that a spreadsheet would run as a formula (starting with
//!   `=`, `+`, `-`, `@`, tab or CR) are prefixed with `'` (OWASP's advice
//!   against CSV injection): names come from outside systems. Numbers are
//!   written as numbers and never prefixed.
//! - Floats use Rust's shortest round-trip form, so the same figure always
//!   prints the same text (stable exports, diffable files).

use std::borrow::Cow;

/// One CSV field.
#[derive(Debug, Clone, PartialEq)]
pub enum Field {
    /// Text from anywhere (quoted and neutralised as needed).
    Text(String),
    /// An integer.
    Int(i64),
    /// A float; non-finite values are written empty.
    Float(f64),
    /// `true` / `false`.
    Bool(bool),
    /// An empty field.
    Empty,
}

impl From<&str> for Field {
    fn from(s: &str) -> Self {
        Field::Text(s.to_owned())
    }
}

impl From<String> for Field {
    fn from(s: String) -> Self {
        Field::Text(s)
    }
}

impl From<i64> for Field {
    fn from(v: i64) -> Self {
        Field::Int(v)
    }
}

impl From<f64> for Field {
    fn from(v: f64) -> Self {
        Field::Float(v)
    }
}

impl From<bool> for Field {
    fn from(v: bool) -> Self {
        Field::Bool(v)
    }
}

/// Quotes a text field per RFC 4180 and neutralises formula starts.
pub fn escape_text(s: &str) -> Cow<'_, str> {
    let risky = s.starts_with(['=', '+', '-', '@', '\t', '\r']);
    let text: Cow<'_, str> = if risky {
        Cow::Owned(format!("'{s}"))
    } else {
        Cow::Borrowed(s)
    };
    if text.contains([',', '"', '\r', '\n']) {
        Cow::Owned(format!("\"{}\"", text.replace('"', "\"\"")))
    } else {
        text
    }
}

fn write_field(out: &mut String, f: &Field) {
    match f {
        Field::Text(s) => out.push_str(&escape_text(s)),
        Field::Int(v) => out.push_str(&v.to_string()),
        Field::Float(v) if v.is_finite() => out.push_str(&v.to_string()),
        Field::Float(_) | Field::Empty => {}
        Field::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
    }
}

/// Appends one record (with its CRLF) to `out`.
pub fn write_record(out: &mut String, fields: &[Field]) {
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        write_field(out, f);
    }
    out.push_str("\r\n");
}

/// Default chunk size of an export: 64 KiB.
pub const CHUNK_BYTES: usize = 64 * 1024;

/// Builds a CSV file in chunks of at most `limit` bytes, cut between
/// records (a single record longer than `limit` is a chunk of its own). The
/// first chunk starts with the header.
#[derive(Debug)]
pub struct ChunkedCsv {
    limit: usize,
    buf: String,
    rows_in_buf: usize,
}

/// A finished chunk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chunk {
    /// The bytes.
    pub data: Vec<u8>,
    /// Data records (header excluded) in it.
    pub row_count: usize,
}

impl ChunkedCsv {
    /// Starts a file with its header row.
    pub fn new(header: &[&str], limit: usize) -> Self {
        let mut buf = String::new();
        let fields: Vec<Field> = header
            .iter()
            .map(|h| Field::Text((*h).to_owned()))
            .collect();
        write_record(&mut buf, &fields);
        ChunkedCsv {
            limit: limit.max(1),
            buf,
            rows_in_buf: 0,
        }
    }

    /// Adds a record; returns a full chunk when the record would not fit.
    pub fn push(&mut self, fields: &[Field]) -> Option<Chunk> {
        let mut record = String::new();
        write_record(&mut record, fields);
        let flushed = if !self.buf.is_empty() && self.buf.len() + record.len() > self.limit {
            Some(self.take())
        } else {
            None
        };
        self.buf.push_str(&record);
        self.rows_in_buf += 1;
        flushed
    }

    fn take(&mut self) -> Chunk {
        let chunk = Chunk {
            data: std::mem::take(&mut self.buf).into_bytes(),
            row_count: self.rows_in_buf,
        };
        self.rows_in_buf = 0;
        chunk
    }

    /// The last chunk (always returned, so an empty report still yields its
    /// header).
    pub fn finish(mut self) -> Option<Chunk> {
        if self.buf.is_empty() {
            None
        } else {
            Some(self.take())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_table() {
        let table = [
            ("plain", "plain"),
            ("a,b", "\"a,b\""),
            ("say \"hi\"", "\"say \"\"hi\"\"\""),
            ("two\nlines", "\"two\nlines\""),
            ("=SUM(A1)", "'=SUM(A1)"),
            ("-1+1", "'-1+1"),
            ("@cmd,x", "\"'@cmd,x\""),
            ("", ""),
            ("émile", "émile"),
        ];
        for (input, want) in table {
            assert_eq!(escape_text(input), want, "{input:?}");
        }
    }

    #[test]
    fn records() {
        let mut out = String::new();
        write_record(
            &mut out,
            &[
                "Team, North".into(),
                Field::Int(-3),
                Field::Float(0.1 + 0.2),
                Field::Float(f64::NAN),
                Field::Bool(true),
                Field::Empty,
            ],
        );
        assert_eq!(out, "\"Team, North\",-3,0.30000000000000004,,true,\r\n");
    }

    #[test]
    fn chunks_cut_between_records() {
        let mut csv = ChunkedCsv::new(&["id", "value"], 40);
        let mut chunks = Vec::new();
        for i in 0..10 {
            if let Some(c) = csv.push(&[Field::Text(format!("group-{i}")), Field::Int(i)]) {
                chunks.push(c);
            }
        }
        chunks.extend(csv.finish());
        let all: Vec<u8> = chunks.iter().flat_map(|c| c.data.clone()).collect();
        let text = String::from_utf8(all).unwrap();
        assert!(text.starts_with("id,value\r\n"));
        assert_eq!(text.matches("\r\n").count(), 11);
        assert_eq!(chunks.iter().map(|c| c.row_count).sum::<usize>(), 10);
        for c in &chunks {
            assert!(c.data.len() <= 40);
            assert!(c.data.ends_with(b"\r\n"));
        }
        let empty = ChunkedCsv::new(&["a"], 10).finish().unwrap();
        assert_eq!((empty.data, empty.row_count), (b"a\r\n".to_vec(), 0));
    }
}
