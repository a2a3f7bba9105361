//! CSV (RFC 4180): a header line of column names, then one line per row; NULL is empty.

use std::io::{self, Write};

use super::{format_double, Cell, Field, QueryStatus, ResultWriter, TimestampStyle};

pub struct CsvWriter<W: Write> {
    out: W,
    timestamps: TimestampStyle,
    line: Vec<u8>,
}

impl<W: Write> CsvWriter<W> {
    pub fn start(mut out: W, fields: &[Field], timestamps: TimestampStyle) -> io::Result<Self> {
        let mut line = Vec::new();
        for (index, field) in fields.iter().enumerate() {
            if index > 0 {
                line.push(b',');
            }
            quote(&field.name, &mut line);
        }
        line.extend_from_slice(b"\r\n");
        out.write_all(&line)?;
        Ok(CsvWriter {
            out,
            timestamps,
            line,
        })
    }
}

impl ResultWriter for CsvWriter<Vec<u8>> {
    fn write_row(&mut self, cells: &[Cell<'_>]) -> io::Result<()> {
        let line = &mut self.line;
        line.clear();
        for (index, cell) in cells.iter().enumerate() {
            if index > 0 {
                line.push(b',');
            }
            match cell {
                Cell::Null => {}
                Cell::Double(value) if value.is_nan() => {}
                Cell::Text(text) => quote(text, line),
                Cell::Integer(value) => write!(line, "{value}")?,
                Cell::Double(value) => format_double(*value, line),
                Cell::Boolean(value) => {
                    line.extend_from_slice(if *value { b"true" } else { b"false" })
                }
                Cell::Timestamp(timestamp) => {
                    line.extend_from_slice(self.timestamps.format(timestamp).as_bytes())
                }
            }
        }
        line.extend_from_slice(b"\r\n");
        self.out.write_all(line)
    }

    /// CSV has no place for a status: an error ends the stream abnormally instead.
    fn finish(&mut self, _status: &QueryStatus) -> io::Result<()> {
        Ok(())
    }

    fn take_output(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.out)
    }

    fn buffered_len(&self) -> usize {
        self.out.len()
    }

    fn reports_errors_inline(&self) -> bool {
        false
    }
}

/// Quotes a value when it holds a separator, a quote or a line break.
fn quote(text: &str, out: &mut Vec<u8>) {
    if text.contains([',', '"', '\r', '\n']) {
        out.push(b'"');
        out.extend_from_slice(text.replace('"', "\"\"").as_bytes());
        out.push(b'"');
    } else {
        out.extend_from_slice(text.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::votable::Datatype;

    #[test]
    fn quotes_only_what_needs_it_and_leaves_nulls_empty() {
        let field = |name: &str| Field {
            name: name.into(),
            datatype: Datatype::Char,
            arraysize: Some("*".into()),
            unit: None,
            ucd: None,
            utype: None,
            xtype: None,
            description: None,
        };
        let mut writer = CsvWriter::start(
            Vec::new(),
            &[field("a"), field("b,c")],
            TimestampStyle::Dali,
        )
        .unwrap();
        writer
            .write_row(&[Cell::Text("{'U1-U2': None}"), Cell::Double(f64::NAN)])
            .unwrap();
        writer
            .write_row(&[Cell::Text("say \"hi\""), Cell::Double(1.5)])
            .unwrap();
        let text = String::from_utf8(writer.take_output()).unwrap();
        assert_eq!(
            text,
            "a,\"b,c\"\r\n{'U1-U2': None},\r\n\"say \"\"hi\"\"\",1.5\r\n"
        );
    }
}
