//! CSV (RFC 4180) and TSV (IANA text/tab-separated-values): a header line of column names,
//! then one line per row; NULL is empty. CSV quotes what needs it; TSV has no quoting, so a
//! tab or line break inside a value becomes a space.

use std::io::{self, Write};

use super::{
    format_double, take_keeping_capacity, Cell, Field, QueryStatus, ResultWriter, TimestampStyle,
};

/// The two delimited-text formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Separator {
    Comma,
    Tab,
}

pub struct CsvWriter<W: Write> {
    out: W,
    timestamps: TimestampStyle,
    separator: Separator,
}

impl<W: Write> CsvWriter<W> {
    pub fn start(out: W, fields: &[Field], timestamps: TimestampStyle) -> io::Result<Self> {
        Self::with_separator(out, fields, timestamps, Separator::Comma)
    }

    pub fn with_separator(
        out: W,
        fields: &[Field],
        timestamps: TimestampStyle,
        separator: Separator,
    ) -> io::Result<Self> {
        let mut header = Vec::new();
        for (index, field) in fields.iter().enumerate() {
            if index > 0 {
                header.push(separator.delimiter());
            }
            separator.push_text(&field.name, &mut header);
        }
        header.extend_from_slice(b"\r\n");
        let mut out = out;
        out.write_all(&header)?;
        Ok(CsvWriter {
            out,
            timestamps,
            separator,
        })
    }
}

impl Separator {
    fn delimiter(self) -> u8 {
        match self {
            Separator::Comma => b',',
            Separator::Tab => b'\t',
        }
    }

    fn push_text(self, text: &str, out: &mut Vec<u8>) {
        match self {
            Separator::Comma => quote(text, out),
            // Tabs and line breaks are ASCII, so replacing bytes keeps UTF-8 intact.
            Separator::Tab => out.extend(text.bytes().map(|b| {
                if matches!(b, b'\t' | b'\n' | b'\r') {
                    b' '
                } else {
                    b
                }
            })),
        }
    }
}

impl ResultWriter for CsvWriter<Vec<u8>> {
    fn write_row(&mut self, cells: &[Cell<'_>]) -> io::Result<()> {
        // Straight into the output: rows are most of it.
        let (line, separator) = (&mut self.out, self.separator);
        for (index, cell) in cells.iter().enumerate() {
            if index > 0 {
                line.push(separator.delimiter());
            }
            match cell {
                Cell::Null => {}
                Cell::Double(value) if value.is_nan() => {}
                Cell::Text(text) => separator.push_text(text, line),
                Cell::Integer(value) => {
                    line.extend_from_slice(itoa::Buffer::new().format(*value).as_bytes())
                }
                Cell::Double(value) => format_double(*value, line),
                Cell::Boolean(value) => {
                    line.extend_from_slice(if *value { b"true" } else { b"false" })
                }
                Cell::Timestamp(timestamp) => {
                    line.extend_from_slice(self.timestamps.format(timestamp).as_bytes());
                }
            }
        }
        line.extend_from_slice(b"\r\n");
        Ok(())
    }

    /// These formats have no place for a status: an error ends the stream abnormally instead.
    fn finish(&mut self, _status: &QueryStatus) -> io::Result<()> {
        Ok(())
    }

    fn take_output(&mut self) -> Vec<u8> {
        take_keeping_capacity(&mut self.out)
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
    if text
        .bytes()
        .any(|b| matches!(b, b',' | b'"' | b'\r' | b'\n'))
    {
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

    fn field(name: &str) -> Field {
        Field::new(name, Datatype::Char, Some("*"))
    }

    #[test]
    fn quotes_only_what_needs_it_and_leaves_nulls_empty() {
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

    #[test]
    fn tsv_separates_with_tabs_and_never_lets_a_value_break_a_line() {
        let mut writer = CsvWriter::with_separator(
            Vec::new(),
            &[field("a"), field("b")],
            TimestampStyle::Dali,
            Separator::Tab,
        )
        .unwrap();
        writer
            .write_row(&[Cell::Text("x\ty\nz, \"q\""), Cell::Integer(3)])
            .unwrap();
        assert_eq!(
            String::from_utf8(writer.take_output()).unwrap(),
            "a\tb\r\nx y z, \"q\"\t3\r\n"
        );
    }
}
