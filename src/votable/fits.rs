//! FITS binary table: an empty primary HDU, then a BINTABLE of the result, what IDL and
//! Python pipelines read. FITS needs the row count and each text column's width in the header,
//! before the rows: rows are spilled to an anonymous temporary file as they come (memory stays
//! bounded whatever the row count), and the document is written from it once the query has
//! ended, in pieces. The header says how the query ended (`QUERYSTA`: OK or OVERFLOW); a query
//! that fails has sent nothing yet, and its answer is an error document.
//!
//! Types: double and float as D and E (NULL is NaN), long, int, short as K, J, I with a TNULL,
//! boolean as L, text and timestamps as fixed-width ASCII (characters outside ASCII become
//! `?`, as FITS strings are ASCII).

use std::fs::File;
use std::io::{self, BufReader, BufWriter, Read, Seek, Write};

use super::{Cell, Datatype, Field, QueryStatus, ResultWriter, TimestampStyle};

/// FITS files are made of blocks of this size.
const BLOCK: usize = 2880;
/// Pieces handed out after the query ended.
const PIECE: usize = 1 << 20;

pub struct FitsWriter {
    fields: Vec<Field>,
    timestamps: TimestampStyle,
    spill: BufWriter<File>,
    /// The widest value of each text column [bytes].
    widths: Vec<usize>,
    rows: u64,
    /// Once the query ended: the rows read back from the spill, and what is left to hand out.
    reading: Option<Reading>,
}

struct Reading {
    spill: BufReader<File>,
    rows_left: u64,
    pending: Vec<u8>,
    padding: usize,
}

/// What the spill holds of a cell: a tag, then its bytes.
const NULL: u8 = 0;
const INTEGER: u8 = 1;
const DOUBLE: u8 = 2;
const BOOLEAN: u8 = 3;
const TEXT: u8 = 4;

impl FitsWriter {
    pub fn start(fields: &[Field], timestamps: TimestampStyle) -> io::Result<Self> {
        Ok(FitsWriter {
            fields: fields.to_vec(),
            timestamps,
            spill: BufWriter::with_capacity(1 << 16, tempfile::tempfile()?),
            widths: vec![1; fields.len()],
            rows: 0,
            reading: None,
        })
    }

    fn form(&self, column: usize) -> String {
        match self.fields[column].datatype {
            Datatype::Double => "1D".into(),
            Datatype::Float => "1E".into(),
            Datatype::Long => "1K".into(),
            Datatype::Int => "1J".into(),
            Datatype::Short => "1I".into(),
            Datatype::Boolean => "1L".into(),
            Datatype::Char | Datatype::UnicodeChar => format!("{}A", self.widths[column]),
        }
    }

    fn row_bytes(&self) -> usize {
        (0..self.fields.len())
            .map(|column| match self.fields[column].datatype {
                Datatype::Double | Datatype::Long => 8,
                Datatype::Float | Datatype::Int => 4,
                Datatype::Short => 2,
                Datatype::Boolean => 1,
                Datatype::Char | Datatype::UnicodeChar => self.widths[column],
            })
            .sum()
    }

    fn header(&self, status: &QueryStatus) -> Vec<u8> {
        let mut out = Vec::new();
        write_header(
            &mut out,
            &[
                card_logical("SIMPLE", true),
                card_integer("BITPIX", 8),
                card_integer("NAXIS", 0),
                card_logical("EXTEND", true),
            ],
        );
        let mut cards = vec![
            card_string("XTENSION", "BINTABLE"),
            card_integer("BITPIX", 8),
            card_integer("NAXIS", 2),
            card_integer("NAXIS1", self.row_bytes() as i64),
            card_integer("NAXIS2", self.rows as i64),
            card_integer("PCOUNT", 0),
            card_integer("GCOUNT", 1),
            card_integer("TFIELDS", self.fields.len() as i64),
        ];
        for (index, field) in self.fields.iter().enumerate() {
            let n = index + 1;
            cards.push(card_string(&format!("TTYPE{n}"), &field.name));
            cards.push(card_string(&format!("TFORM{n}"), &self.form(index)));
            if let Some(unit) = &field.unit {
                cards.push(card_string(&format!("TUNIT{n}"), unit));
            }
            if let Some(ucd) = &field.ucd {
                cards.push(card_string(&format!("TUCD{n}"), ucd));
            }
            let null = match field.datatype {
                Datatype::Long => Some(i64::MIN),
                Datatype::Int => Some(i32::MIN.into()),
                Datatype::Short => Some(i16::MIN.into()),
                _ => None,
            };
            if let Some(null) = null {
                cards.push(card_integer(&format!("TNULL{n}"), null));
            }
        }
        cards.push(card_string("EXTNAME", "RESULTS"));
        cards.push(card_string(
            "QUERYSTA",
            match status {
                QueryStatus::Ok => "OK",
                QueryStatus::Overflow => "OVERFLOW",
                QueryStatus::Error(_) => "ERROR",
            },
        ));
        write_header(&mut out, &cards);
        out
    }

    /// One row read back from the spill and encoded, appended to `out`.
    fn encode_row(&self, spill: &mut BufReader<File>, out: &mut Vec<u8>) -> io::Result<()> {
        for (column, field) in self.fields.iter().enumerate() {
            let mut tag = [0u8];
            spill.read_exact(&mut tag)?;
            let mut word = [0u8; 8];
            let value = match tag[0] {
                NULL => Value::Null,
                INTEGER => {
                    spill.read_exact(&mut word)?;
                    Value::Integer(i64::from_le_bytes(word))
                }
                DOUBLE => {
                    spill.read_exact(&mut word)?;
                    Value::Double(f64::from_le_bytes(word))
                }
                BOOLEAN => {
                    spill.read_exact(&mut word[..1])?;
                    Value::Boolean(word[0] != 0)
                }
                _ => {
                    let mut length = [0u8; 4];
                    spill.read_exact(&mut length)?;
                    let mut text = vec![0u8; u32::from_le_bytes(length) as usize];
                    spill.read_exact(&mut text)?;
                    Value::Text(text)
                }
            };
            let number = |value: &Value| match value {
                Value::Integer(v) => Some(*v as f64),
                Value::Double(v) => Some(*v),
                _ => None,
            };
            let integer = |value: &Value| match value {
                Value::Integer(v) => Some(*v),
                Value::Double(v) => Some(*v as i64),
                Value::Boolean(v) => Some(i64::from(*v)),
                _ => None,
            };
            match field.datatype {
                Datatype::Double => {
                    out.extend_from_slice(&number(&value).unwrap_or(f64::NAN).to_be_bytes())
                }
                Datatype::Float => out
                    .extend_from_slice(&(number(&value).unwrap_or(f64::NAN) as f32).to_be_bytes()),
                Datatype::Long => {
                    out.extend_from_slice(&integer(&value).unwrap_or(i64::MIN).to_be_bytes())
                }
                Datatype::Int => out.extend_from_slice(
                    &integer(&value).map_or(i32::MIN, |v| v as i32).to_be_bytes(),
                ),
                Datatype::Short => out.extend_from_slice(
                    &integer(&value).map_or(i16::MIN, |v| v as i16).to_be_bytes(),
                ),
                Datatype::Boolean => out.push(match value {
                    Value::Boolean(true) => b'T',
                    Value::Boolean(false) => b'F',
                    _ => 0,
                }),
                Datatype::Char | Datatype::UnicodeChar => {
                    let text = match &value {
                        Value::Text(text) => text.as_slice(),
                        _ => &[],
                    };
                    out.extend_from_slice(text);
                    out.resize(out.len() + self.widths[column] - text.len(), 0);
                }
            }
        }
        Ok(())
    }
}

enum Value {
    Null,
    Integer(i64),
    Double(f64),
    Boolean(bool),
    Text(Vec<u8>),
}

impl ResultWriter for FitsWriter {
    fn write_row(&mut self, cells: &[Cell<'_>]) -> io::Result<()> {
        for (column, cell) in cells.iter().enumerate() {
            let mut text = |bytes: &[u8], spill: &mut BufWriter<File>| -> io::Result<()> {
                self.widths[column] = self.widths[column].max(bytes.len());
                spill.write_all(&[TEXT])?;
                spill.write_all(&(bytes.len() as u32).to_le_bytes())?;
                spill.write_all(bytes)
            };
            match cell {
                Cell::Null => self.spill.write_all(&[NULL])?,
                Cell::Integer(value) => {
                    self.spill.write_all(&[INTEGER])?;
                    self.spill.write_all(&value.to_le_bytes())?;
                }
                Cell::Double(value) => {
                    self.spill.write_all(&[DOUBLE])?;
                    self.spill.write_all(&value.to_le_bytes())?;
                }
                Cell::Boolean(value) => self.spill.write_all(&[BOOLEAN, u8::from(*value)])?,
                Cell::Text(value) => text(&ascii(value), &mut self.spill)?,
                Cell::Timestamp(value) => {
                    let formatted = self.timestamps.format(value);
                    text(formatted.as_bytes(), &mut self.spill)?
                }
            }
        }
        self.rows += 1;
        Ok(())
    }

    fn finish(&mut self, status: &QueryStatus) -> io::Result<()> {
        self.spill.flush()?;
        let mut file = self.spill.get_ref().try_clone()?;
        file.rewind()?;
        let data = self.rows as usize * self.row_bytes();
        self.reading = Some(Reading {
            spill: BufReader::with_capacity(1 << 16, file),
            rows_left: self.rows,
            pending: self.header(status),
            padding: data.div_ceil(BLOCK) * BLOCK - data,
        });
        Ok(())
    }

    /// Nothing before the query ended; then the document, a piece at a time.
    fn take_output(&mut self) -> Vec<u8> {
        let Some(mut reading) = self.reading.take() else {
            return Vec::new();
        };
        let mut out = std::mem::take(&mut reading.pending);
        while out.len() < PIECE && reading.rows_left > 0 {
            if let Err(error) = self.encode_row(&mut reading.spill, &mut out) {
                tracing::error!(%error, "a FITS result's spill could not be read back");
                reading.rows_left = 0;
                break;
            }
            reading.rows_left -= 1;
        }
        if reading.rows_left == 0 {
            out.resize(out.len() + reading.padding, 0);
            reading.padding = 0;
        }
        if reading.rows_left > 0 {
            self.reading = Some(reading);
        }
        out
    }

    /// Before the end, nothing is handed out (the header needs every row); after, whether a
    /// piece is left.
    fn buffered_len(&self) -> usize {
        usize::from(self.reading.is_some())
    }

    fn reports_errors_inline(&self) -> bool {
        false
    }
}

/// Text as FITS holds it: ASCII, other characters as `?`.
fn ascii(text: &str) -> std::borrow::Cow<'_, [u8]> {
    if text.is_ascii() {
        std::borrow::Cow::Borrowed(text.as_bytes())
    } else {
        std::borrow::Cow::Owned(
            text.chars()
                .map(|c| if c.is_ascii() { c as u8 } else { b'?' })
                .collect(),
        )
    }
}

/// A FITS header: its cards, END, padded with spaces to a whole block.
pub(crate) fn write_header(out: &mut Vec<u8>, cards: &[String]) {
    for card in cards.iter().map(String::as_str).chain(["END"]) {
        out.extend_from_slice(format!("{card:<80.80}").as_bytes());
    }
    out.resize(out.len().div_ceil(BLOCK) * BLOCK, b' ');
}

pub(crate) fn card_integer(key: &str, value: i64) -> String {
    format!("{key:<8}= {value:>20}")
}

pub(crate) fn card_logical(key: &str, value: bool) -> String {
    format!("{key:<8}= {:>20}", if value { "T" } else { "F" })
}

/// A string value: ASCII, quotes doubled, at most 68 characters as one card holds.
pub(crate) fn card_string(key: &str, value: &str) -> String {
    let value: String = value
        .chars()
        .map(|c| {
            if c.is_ascii() && !c.is_ascii_control() {
                c
            } else {
                '?'
            }
        })
        .collect::<String>()
        .replace('\'', "''");
    let value: String = value.chars().take(68).collect();
    format!("{key:<8}= '{value:<8}'")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_spill_then_come_back_as_a_fits_table() {
        let fields = [
            Field::new("name", Datatype::Char, Some("*")),
            Field::new("x", Datatype::Double, None),
            Field::new("n", Datatype::Long, None),
            Field::new("ok", Datatype::Boolean, None),
        ];
        let mut writer = FitsWriter::start(&fields, TimestampStyle::Dali).unwrap();
        assert!(writer.take_output().is_empty());
        writer
            .write_row(&[
                Cell::Text("Vega"),
                Cell::Double(1.5),
                Cell::Integer(7),
                Cell::Boolean(true),
            ])
            .unwrap();
        writer
            .write_row(&[Cell::Text("é"), Cell::Null, Cell::Null, Cell::Null])
            .unwrap();
        assert_eq!(writer.buffered_len(), 0, "nothing before the end");
        writer.finish(&QueryStatus::Overflow).unwrap();
        let mut document = Vec::new();
        while writer.buffered_len() > 0 {
            document.extend(writer.take_output());
        }
        assert_eq!(document.len() % BLOCK, 0);
        let header = String::from_utf8_lossy(&document[BLOCK..2 * BLOCK]).to_string();
        for card in [
            "NAXIS1  =                   21",
            "NAXIS2  =                    2",
            "TFORM1  = '4A      '",
            "QUERYSTA= 'OVERFLOW'",
        ] {
            assert!(header.contains(card), "{card}\n{header}");
        }
        let data = &document[2 * BLOCK..];
        assert_eq!(&data[..4], b"Vega");
        assert_eq!(&data[4..12], &1.5f64.to_be_bytes());
        assert_eq!(&data[12..20], &7i64.to_be_bytes());
        assert_eq!(data[20], b'T');
        assert_eq!(&data[21..25], b"?\0\0\0");
        assert!(f64::from_be_bytes(data[25..33].try_into().unwrap()).is_nan());
        assert_eq!(&data[33..41], &i64::MIN.to_be_bytes());
        assert_eq!(data[41], 0, "a NULL boolean");
    }

    #[test]
    fn a_large_result_comes_back_in_pieces() {
        let fields = [Field::new("x", Datatype::Double, None)];
        let mut writer = FitsWriter::start(&fields, TimestampStyle::Dali).unwrap();
        let rows: usize = 300_000;
        for row in 0..rows {
            writer.write_row(&[Cell::Double(row as f64)]).unwrap();
        }
        writer.finish(&QueryStatus::Ok).unwrap();
        let mut pieces = Vec::new();
        while writer.buffered_len() > 0 {
            pieces.push(writer.take_output());
        }
        assert!(pieces.len() >= 3, "{} pieces", pieces.len());
        let document = pieces.concat();
        let data = rows * 8;
        assert_eq!(document.len(), 2 * BLOCK + data.div_ceil(BLOCK) * BLOCK);
        let last = 2 * BLOCK + (rows - 1) * 8;
        assert_eq!(
            &document[last..last + 8],
            &((rows - 1) as f64).to_be_bytes()
        );
    }
}
