//! VOTable BINARY2 (VOTable 1.3+): each row is a bitmap of NULL flags, then every value in
//! big-endian binary by its FIELD's datatype; the whole stream is base64. Rows gather in a
//! block that is encoded once it holds `BLOCK` bytes (the 0-2 bytes that do not fill a base64
//! group wait for the next block): one encoder call per block, not per row.
//! Text in `char` fields is written as its UTF-8 bytes.

use std::io::{self, Write};

use base64::Engine;
use quick_xml::events::{BytesEnd, BytesStart, Event};

use super::tabledata::{close_document, open_document};
use super::{
    take_keeping_capacity, Cell, Datatype, Field, Preamble, QueryStatus, ResultWriter,
    ServiceDescriptor, TimestampStyle,
};

/// How one column's values are laid out.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Layout {
    /// Variable-length text: a 4-byte length, then the bytes.
    Text,
    Short,
    Int,
    Long,
    Float,
    Double,
    Boolean,
    /// Doubles: a fixed count, or (None) a 4-byte count first.
    Doubles(Option<usize>),
}

impl Layout {
    fn of(field: &Field) -> Layout {
        match (field.datatype, field.arraysize.as_deref()) {
            (Datatype::Double, None) => Layout::Double,
            (Datatype::Double, Some(size)) => Layout::Doubles(size.parse().ok()),
            (Datatype::Short, _) => Layout::Short,
            (Datatype::Int, _) => Layout::Int,
            (Datatype::Long, _) => Layout::Long,
            (Datatype::Float, _) => Layout::Float,
            (Datatype::Boolean, _) => Layout::Boolean,
            (Datatype::Char | Datatype::UnicodeChar, _) => Layout::Text,
        }
    }
}

/// Row bytes encoded at once: a multiple of 3, so that a block is whole base64 groups.
const BLOCK: usize = 3 * 16 * 1024;

pub struct Binary2Writer<W: Write> {
    xml: quick_xml::Writer<W>,
    datalink: Option<ServiceDescriptor>,
    layouts: Vec<Layout>,
    timestamps: TimestampStyle,
    /// Row bytes not encoded yet.
    pending: Vec<u8>,
}

impl<W: Write> Binary2Writer<W> {
    pub fn start(
        out: W,
        preamble: &Preamble,
        fields: &[Field],
        timestamps: TimestampStyle,
    ) -> io::Result<Self> {
        let mut xml = open_document(out, preamble, fields)?;
        xml.write_event(Event::Start(BytesStart::new("BINARY2")))?;
        let mut stream = BytesStart::new("STREAM");
        stream.push_attribute(("encoding", "base64"));
        xml.write_event(Event::Start(stream))?;
        xml.get_mut().write_all(b"\n")?;
        // Fields whose `char` cannot hold every value would be wrong in binary: text is
        // written as UTF-8 bytes, which `char` readers take as bytes.
        let layouts = fields.iter().map(Layout::of).collect();
        Ok(Binary2Writer {
            xml,
            datalink: ServiceDescriptor::for_table(preamble, fields),
            layouts,
            timestamps,
            pending: Vec::with_capacity(BLOCK + 4096),
        })
    }

    /// Appends one row's bytes to `pending`.
    fn encode_row(&mut self, cells: &[Cell<'_>]) {
        let row = &mut self.pending;
        let flags_at = row.len();
        row.resize(flags_at + cells.len().div_ceil(8), 0);
        for (index, (cell, layout)) in cells.iter().zip(&self.layouts).enumerate() {
            if matches!(cell, Cell::Null) {
                row[flags_at + index / 8] |= 0x80 >> (index % 8);
            }
            match layout {
                Layout::Text => {
                    let (owned, stamp);
                    let text: &str = match cell {
                        Cell::Text(text) => text,
                        Cell::Timestamp(t) => {
                            stamp = self.timestamps.format(t);
                            &stamp
                        }
                        Cell::Integer(v) => {
                            owned = v.to_string();
                            &owned
                        }
                        Cell::Double(v) => {
                            owned = format!("{v:?}");
                            &owned
                        }
                        Cell::Boolean(v) => {
                            if *v {
                                "true"
                            } else {
                                "false"
                            }
                        }
                        Cell::Null => "",
                    };
                    row.extend_from_slice(&(text.len() as u32).to_be_bytes());
                    row.extend_from_slice(text.as_bytes());
                }
                Layout::Short => row.extend_from_slice(&(integer(cell) as i16).to_be_bytes()),
                Layout::Int => row.extend_from_slice(&(integer(cell) as i32).to_be_bytes()),
                Layout::Long => row.extend_from_slice(&integer(cell).to_be_bytes()),
                Layout::Float => row.extend_from_slice(&(double(cell) as f32).to_be_bytes()),
                Layout::Double => row.extend_from_slice(&double(cell).to_be_bytes()),
                Layout::Boolean => row.push(match cell {
                    Cell::Boolean(true) => b'T',
                    Cell::Boolean(false) => b'F',
                    _ => b'?',
                }),
                Layout::Doubles(count) => {
                    let values: Vec<f64> = match cell {
                        Cell::Text(text) => text
                            .split_whitespace()
                            .filter_map(|v| v.parse().ok())
                            .collect(),
                        _ => Vec::new(),
                    };
                    match count {
                        Some(n) => {
                            for i in 0..*n {
                                row.extend_from_slice(
                                    &values.get(i).copied().unwrap_or(f64::NAN).to_be_bytes(),
                                );
                            }
                        }
                        None => {
                            row.extend_from_slice(&(values.len() as u32).to_be_bytes());
                            for value in values {
                                row.extend_from_slice(&value.to_be_bytes());
                            }
                        }
                    }
                }
            }
        }
    }
}

fn integer(cell: &Cell<'_>) -> i64 {
    match cell {
        Cell::Integer(v) => *v,
        Cell::Double(v) => *v as i64,
        Cell::Boolean(v) => i64::from(*v),
        _ => 0,
    }
}

fn double(cell: &Cell<'_>) -> f64 {
    match cell {
        Cell::Double(v) => *v,
        Cell::Integer(v) => *v as f64,
        _ => f64::NAN,
    }
}

impl Binary2Writer<Vec<u8>> {
    /// Base64 of everything whole groups allow, straight into the output; the rest waits.
    fn flush_base64(&mut self, everything: bool) -> io::Result<()> {
        let whole = if everything {
            self.pending.len()
        } else {
            self.pending.len() / 3 * 3
        };
        if whole == 0 {
            return Ok(());
        }
        let out = self.xml.get_mut();
        let start = out.len();
        out.resize(
            start + base64::encoded_len(whole, true).expect("a block fits"),
            0,
        );
        let written = base64::engine::general_purpose::STANDARD
            .encode_slice(&self.pending[..whole], &mut out[start..])
            .expect("sized by encoded_len");
        out.truncate(start + written);
        out.push(b'\n');
        self.pending.drain(..whole);
        Ok(())
    }
}

impl ResultWriter for Binary2Writer<Vec<u8>> {
    fn write_row(&mut self, cells: &[Cell<'_>]) -> io::Result<()> {
        self.encode_row(cells);
        if self.pending.len() >= BLOCK {
            self.flush_base64(false)?;
        }
        Ok(())
    }

    fn finish(&mut self, status: &QueryStatus) -> io::Result<()> {
        self.flush_base64(true)?;
        self.xml.write_event(Event::End(BytesEnd::new("STREAM")))?;
        self.xml.write_event(Event::End(BytesEnd::new("BINARY2")))?;
        close_document(&mut self.xml, status, self.datalink.as_ref())
    }

    fn take_output(&mut self) -> Vec<u8> {
        take_keeping_capacity(self.xml.get_mut())
    }

    fn buffered_len(&self) -> usize {
        self.xml.get_ref().len()
    }

    fn reports_errors_inline(&self) -> bool {
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn writer(fields: &[Field]) -> Binary2Writer<Vec<u8>> {
        Binary2Writer::start(
            Vec::new(),
            &Preamble::default(),
            fields,
            TimestampStyle::Dali,
        )
        .unwrap()
    }

    /// The bytes of a document's base64 STREAM.
    fn stream_bytes(document: &str) -> Vec<u8> {
        let start = document.find("<STREAM encoding=\"base64\">").unwrap()
            + "<STREAM encoding=\"base64\">".len();
        let encoded: String = document[start..document.find("</STREAM>").unwrap()]
            .split_whitespace()
            .collect();
        base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .unwrap()
    }

    #[test]
    fn rows_are_null_flags_then_big_endian_values_in_one_base64_stream() {
        let fields = [
            Field::new("s", Datatype::Char, Some("*")),
            Field::new("i", Datatype::Int, None),
            Field::new("d", Datatype::Double, None),
            Field::new("p", Datatype::Double, Some("2")),
        ];
        let mut writer = writer(&fields);
        writer
            .write_row(&[
                Cell::Text("ab"),
                Cell::Integer(7),
                Cell::Double(1.5),
                Cell::Text("10 20"),
            ])
            .unwrap();
        writer
            .write_row(&[Cell::Null, Cell::Null, Cell::Null, Cell::Null])
            .unwrap();
        writer.finish(&QueryStatus::Ok).unwrap();
        let text = String::from_utf8(writer.take_output()).unwrap();
        let bytes = stream_bytes(&text);
        let mut expected = vec![0u8];
        expected.extend_from_slice(&2u32.to_be_bytes());
        expected.extend_from_slice(b"ab");
        expected.extend_from_slice(&7i32.to_be_bytes());
        expected.extend_from_slice(&1.5f64.to_be_bytes());
        expected.extend_from_slice(&10f64.to_be_bytes());
        expected.extend_from_slice(&20f64.to_be_bytes());
        expected.push(0b1111_0000); // all four NULL
        expected.extend_from_slice(&0u32.to_be_bytes());
        expected.extend_from_slice(&0i32.to_be_bytes());
        expected.extend_from_slice(&f64::NAN.to_be_bytes());
        expected.extend_from_slice(&f64::NAN.to_be_bytes());
        expected.extend_from_slice(&f64::NAN.to_be_bytes());
        assert_eq!(bytes, expected);
        assert!(text.contains("<BINARY2>") && text.trim_end().ends_with("</VOTABLE>"));
    }

    #[test]
    fn rows_read_back_in_order_across_many_blocks() {
        let fields = [
            Field::new("s", Datatype::Char, Some("*")),
            Field::new("l", Datatype::Long, None),
        ];
        let mut writer = writer(&fields);
        let rows = 20_000_i64;
        let mut text = Vec::new();
        for i in 0..rows {
            // Lengths vary, so rows straddle block and base64 group boundaries everywhere.
            let label = "x".repeat((i % 7) as usize) + &i.to_string();
            writer
                .write_row(&[Cell::Text(&label), Cell::Integer(i * 3)])
                .unwrap();
            text.extend(writer.take_output());
        }
        writer.finish(&QueryStatus::Ok).unwrap();
        text.extend(writer.take_output());
        let bytes = stream_bytes(&String::from_utf8(text).unwrap());
        assert!(bytes.len() > 4 * BLOCK, "the rows span several blocks");
        let mut at = 0;
        for i in 0..rows {
            assert_eq!(bytes[at], 0, "no NULL flags");
            let length = u32::from_be_bytes(bytes[at + 1..at + 5].try_into().unwrap()) as usize;
            let label = std::str::from_utf8(&bytes[at + 5..at + 5 + length]).unwrap();
            assert_eq!(label, "x".repeat((i % 7) as usize) + &i.to_string());
            at += 5 + length;
            assert_eq!(
                i64::from_be_bytes(bytes[at..at + 8].try_into().unwrap()),
                i * 3
            );
            at += 8;
        }
        assert_eq!(at, bytes.len(), "nothing after the last row");
    }
}
