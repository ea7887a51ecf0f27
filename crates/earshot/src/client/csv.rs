//! Just enough CSV (RFC 4180) for ACD and CRM exports: comma-separated,
//! fields optionally in double quotes (with `""` for a quote, and line
//! breaks inside quotes), CRLF or LF line ends, a UTF-8 byte-order mark
//! ignored. The first record is the header.

/// One record and the file line it starts on (from 1).
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// The line the record starts on.
    pub line: usize,
    /// The fields.
    pub fields: Vec<String>,
}

/// A malformed file.
#[derive(Debug, thiserror::Error, PartialEq)]
#[error("line {line}: {reason}")]
pub struct CsvError {
    /// Where.
    pub line: usize,
    /// What.
    pub reason: String,
}

/// Splits `text` into records; blank lines are skipped.
pub fn parse(text: &str) -> Result<Vec<Record>, CsvError> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let mut records = Vec::new();
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut line = 1;
    let mut start_line = 1;
    let mut in_quotes = false;
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    let mut any = false;
    while let Some(c) = chars.next() {
        if in_quotes {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => in_quotes = false,
                '\n' => {
                    line += 1;
                    field.push(c);
                }
                _ => field.push(c),
            }
            continue;
        }
        match c {
            '"' if field.is_empty() && !quoted => {
                in_quotes = true;
                quoted = true;
                any = true;
            }
            '"' => {
                return Err(CsvError {
                    line,
                    reason: "a quote inside an unquoted field".into(),
                });
            }
            ',' => {
                fields.push(std::mem::take(&mut field));
                quoted = false;
                any = true;
            }
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' => {
                if any || !field.is_empty() {
                    fields.push(std::mem::take(&mut field));
                    records.push(Record {
                        line: start_line,
                        fields: std::mem::take(&mut fields),
                    });
                }
                quoted = false;
                any = false;
                line += 1;
                start_line = line;
            }
            _ => {
                if quoted {
                    return Err(CsvError {
                        line,
                        reason: "text after a closing quote".into(),
                    });
                }
                field.push(c);
                any = true;
            }
        }
    }
    if in_quotes {
        return Err(CsvError {
            line: start_line,
            reason: "a quoted field is never closed".into(),
        });
    }
    if any || !field.is_empty() {
        fields.push(field);
        records.push(Record {
            line: start_line,
            fields,
        });
    }
    Ok(records)
}

/// One field, quoted when it needs to be.
pub fn escape(field: &str) -> String {
    if field.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_owned()
    }
}

/// One CSV line (with its line end).
pub fn line<S: AsRef<str>>(fields: &[S]) -> String {
    let mut out = fields
        .iter()
        .map(|f| escape(f.as_ref()))
        .collect::<Vec<_>>()
        .join(",");
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn quotes_line_breaks_and_blank_lines() {
        let r = parse("\u{feff}a,b,c\r\n1,\"x, \"\"y\"\"\",\n\n2,\"multi\nline\",z").unwrap();
        assert_eq!(r.len(), 3);
        assert_eq!(r[1].fields, ["1", "x, \"y\"", ""]);
        assert_eq!(r[1].line, 2);
        assert_eq!(r[2].line, 4);
        assert_eq!(r[2].fields, ["2", "multi\nline", "z"]);
        assert!(parse("a,\"b").is_err());
        assert!(parse("a,b\"c").is_err());
        assert_eq!(line(&["a,b", "c"]), "\"a,b\",c\n");
    }
}
