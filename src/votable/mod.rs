//! Streaming result writers: VOTable TABLEDATA and BINARY2, CSV, TSV and JSON, fed row by row
//! into any `io::Write`, in constant memory. They know nothing of HTTP or the database: tests
//! read the buffer back.

mod binary2;
mod csv;
pub(crate) mod fits;
mod json;
mod parquet;
mod tabledata;

use std::io;

use chrono::{DateTime, Utc};

use crate::schema::Column;

pub use binary2::Binary2Writer;
pub use csv::{CsvWriter, Separator};
pub use fits::FitsWriter;
pub use json::JsonWriter;
pub use parquet::ParquetWriter;
pub use tabledata::TableDataWriter;

/// VOTable primitive datatypes this service produces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Datatype {
    Char,
    UnicodeChar,
    Short,
    Int,
    Long,
    /// Single precision: only uploaded tables have it, and it is sent back as it came.
    Float,
    Double,
    Boolean,
}

impl Datatype {
    pub fn as_str(self) -> &'static str {
        match self {
            Datatype::Char => "char",
            Datatype::UnicodeChar => "unicodeChar",
            Datatype::Short => "short",
            Datatype::Int => "int",
            Datatype::Long => "long",
            Datatype::Float => "float",
            Datatype::Double => "double",
            Datatype::Boolean => "boolean",
        }
    }

    fn from_schema(name: &str) -> Datatype {
        match name {
            "char" => Datatype::Char,
            "short" => Datatype::Short,
            "int" => Datatype::Int,
            "long" => Datatype::Long,
            "double" => Datatype::Double,
            "boolean" => Datatype::Boolean,
            other => panic!("schema/ uses datatype {other}, which the schema test forbids"),
        }
    }
}

/// A column of a result, as its FIELD describes it.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub name: String,
    pub datatype: Datatype,
    pub arraysize: Option<String>,
    pub unit: Option<String>,
    pub ucd: Option<String>,
    pub utype: Option<String>,
    pub xtype: Option<String>,
    pub description: Option<String>,
}

impl Field {
    /// A FIELD with a name, a type and an arraysize, and nothing more said of it.
    pub fn new(name: &str, datatype: Datatype, arraysize: Option<&str>) -> Field {
        Field {
            name: name.into(),
            datatype,
            arraysize: arraysize.map(str::to_string),
            unit: None,
            ucd: None,
            utype: None,
            xtype: None,
            description: None,
        }
    }

    /// The FIELD of a published column, as `schema/` describes it.
    pub fn from_column(column: &Column) -> Field {
        Field {
            name: column.name.clone(),
            datatype: Datatype::from_schema(&column.datatype),
            arraysize: column.arraysize.clone(),
            unit: column.unit.clone(),
            ucd: column.ucd.clone(),
            utype: column.utype.clone(),
            xtype: column.xtype.clone(),
            description: Some(column.description.clone()),
        }
    }
}

/// One value of a row, borrowed from wherever the row lives.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cell<'a> {
    Null,
    Text(&'a str),
    Integer(i64),
    Double(f64),
    Boolean(bool),
    Timestamp(DateTime<Utc>),
}

/// How timestamps are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimestampStyle {
    /// DALI: `2022-01-14T10:40:32.000` (UTC).
    Dali,
    /// Today's ObsPortal: `2022-01-14 10:40:32+00:00`, which ASPRO2 and OiDB read.
    ObsPortal,
}

impl TimestampStyle {
    /// The timestamp as text, without allocating or the `fmt` machinery: writers call this
    /// for every row.
    fn format(self, timestamp: &DateTime<Utc>) -> TimestampText {
        use chrono::{Datelike, Timelike};
        let mut text = TimestampText {
            bytes: [0; 32],
            len: 0,
        };
        let year = timestamp.year();
        if !(0..=9999).contains(&year) {
            // Outside four digits (never in this database): the general path.
            let formatted = match self {
                TimestampStyle::Dali => timestamp.format("%Y-%m-%dT%H:%M:%S%.3f"),
                TimestampStyle::ObsPortal => timestamp.format("%Y-%m-%d %H:%M:%S+00:00"),
            }
            .to_string();
            let length = formatted.len().min(text.bytes.len());
            text.bytes[..length].copy_from_slice(&formatted.as_bytes()[..length]);
            text.len = length;
            return text;
        }
        // A leap second carries 1_000_000_000 and more nanoseconds: its milliseconds stop at 999.
        let millis = timestamp.timestamp_subsec_millis().min(999);
        let separator = match self {
            TimestampStyle::Dali => b'T',
            TimestampStyle::ObsPortal => b' ',
        };
        let digits = |value: u32, width: usize, out: &mut [u8]| {
            let mut value = value;
            for place in (0..width).rev() {
                out[place] = b'0' + (value % 10) as u8;
                value /= 10;
            }
        };
        let b = &mut text.bytes;
        digits(year as u32, 4, &mut b[0..4]);
        b[4] = b'-';
        digits(timestamp.month(), 2, &mut b[5..7]);
        b[7] = b'-';
        digits(timestamp.day(), 2, &mut b[8..10]);
        b[10] = separator;
        digits(timestamp.hour(), 2, &mut b[11..13]);
        b[13] = b':';
        digits(timestamp.minute(), 2, &mut b[14..16]);
        b[16] = b':';
        digits(timestamp.second(), 2, &mut b[17..19]);
        text.len = match self {
            TimestampStyle::Dali => {
                b[19] = b'.';
                digits(millis, 3, &mut b[20..23]);
                23
            }
            TimestampStyle::ObsPortal => {
                b[19..25].copy_from_slice(b"+00:00");
                25
            }
        };
        text
    }
}

/// A formatted timestamp on the stack.
struct TimestampText {
    bytes: [u8; 32],
    len: usize,
}

impl std::ops::Deref for TimestampText {
    type Target = str;
    fn deref(&self) -> &str {
        std::str::from_utf8(&self.bytes[..self.len]).expect("digits and punctuation are ASCII")
    }
}

/// How a result ended, reported after its rows.
#[derive(Debug, Clone, PartialEq)]
pub enum QueryStatus {
    Ok,
    /// More rows existed than the limit allowed.
    Overflow,
    Error(String),
}

/// What the document says before the table.
#[derive(Debug, Clone, Default)]
pub struct Preamble {
    /// `<PARAM>`s of the RESOURCE, as (name, value) text.
    pub params: Vec<(String, String)>,
    /// `<INFO>`s of the RESOURCE, as (name, value).
    pub infos: Vec<(String, String)>,
    /// The DataLink links endpoint (`.../datalink`): a table with an `exp_id` or
    /// `obs_publisher_did` column is followed by the service descriptor that calls it for a
    /// row (DataLink 1.1 section 4), what pyvo's `iter_datalinks` reads.
    pub datalink: Option<String>,
}

/// The standard identifier of DataLink's links endpoint.
pub const DATALINK_LINKS: &str = "ivo://ivoa.net/std/DataLink#links-1.1";

/// A service descriptor: call the links endpoint with a column's value as ID.
pub(crate) struct ServiceDescriptor {
    access_url: String,
    /// The FIELD (its ID) whose values are IDs.
    field: String,
}

impl ServiceDescriptor {
    /// The descriptor a table with these fields gets, if any: its exposure ids, else its
    /// publisher DIDs.
    pub(crate) fn for_table(preamble: &Preamble, fields: &[Field]) -> Option<ServiceDescriptor> {
        let access_url = preamble.datalink.as_ref()?;
        let field = ["exp_id", "obs_publisher_did"]
            .into_iter()
            .find(|name| fields.iter().any(|field| field.name == *name))?;
        Some(ServiceDescriptor {
            access_url: access_url.clone(),
            field: field.to_string(),
        })
    }
}

/// A writer for one result: the preamble and fields were given when it was made.
pub trait ResultWriter: Send {
    fn write_row(&mut self, cells: &[Cell<'_>]) -> io::Result<()>;
    /// Ends the document; `status` other than Ok is written where the format allows.
    fn finish(&mut self, status: &QueryStatus) -> io::Result<()>;
    /// Everything written so far, taken out of the writer (for streaming).
    fn take_output(&mut self) -> Vec<u8>;
    /// How many bytes `take_output` would return now.
    fn buffered_len(&self) -> usize;
    /// Whether the format can tell the reader about an error that happens mid-stream.
    fn reports_errors_inline(&self) -> bool;
}

/// What a writer has written, taken out. The writer goes on in a buffer as large, so that each
/// piece of a stream does not grow its buffer from nothing again.
fn take_keeping_capacity(buffer: &mut Vec<u8>) -> Vec<u8> {
    std::mem::replace(buffer, Vec::with_capacity(buffer.capacity()))
}

/// A DALI error document: the whole answer to a request that could not be run.
pub fn error_document(message: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <VOTABLE version=\"1.4\" xmlns=\"http://www.ivoa.net/xml/VOTable/v1.3\">\n \
         <RESOURCE type=\"results\">\n  <INFO name=\"QUERY_STATUS\" value=\"ERROR\">{}</INFO>\n \
         </RESOURCE>\n</VOTABLE>\n",
        xml_escaped(message)
    )
}

/// A Simple Cone Search error document: `INFO name="Error"` alone under VOTABLE, as SCS 1.03
/// prefers.
pub fn cone_search_error_document(message: &str) -> String {
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <VOTABLE version=\"1.4\" xmlns=\"http://www.ivoa.net/xml/VOTable/v1.3\">\n \
         <INFO ID=\"Error\" name=\"Error\" value=\"{}\"/>\n</VOTABLE>\n",
        xml_escaped(message)
    )
}

/// Text that came from a request (a query, a parameter, an error message quoting them) as
/// XML 1.0 can carry it: the characters it forbids (control characters other than tab and
/// line breaks, U+FFFE, U+FFFF) become U+FFFD, so the document stays well-formed whatever
/// was sent. Markup is escaped where the text is written.
pub fn xml_safe(text: &str) -> std::borrow::Cow<'_, str> {
    let forbidden = |c: char| {
        (c < ' ' && !matches!(c, '\t' | '\n' | '\r')) || matches!(c, '\u{fffe}' | '\u{ffff}')
    };
    if !text.contains(forbidden) {
        return text.into();
    }
    text.chars()
        .map(|c| if forbidden(c) { '\u{fffd}' } else { c })
        .collect::<String>()
        .into()
}

/// Text made safe and escaped for an attribute value or element content.
pub fn xml_escaped(text: &str) -> String {
    quick_xml::escape::escape(&*xml_safe(text)).into_owned()
}

/// A double as VOTable and CSV readers expect it: the shortest digits that read back exactly
/// (ryu; plain decimals or an exponent, as the magnitude suits), NaN, +Inf, -Inf.
fn format_double(value: f64, out: &mut Vec<u8>) {
    if value.is_nan() {
        out.extend_from_slice(b"NaN");
    } else if value.is_infinite() {
        out.extend_from_slice(if value > 0.0 { b"+Inf" } else { b"-Inf" });
    } else {
        out.extend_from_slice(ryu::Buffer::new().format_finite(value).as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::{format_double, TimestampStyle};
    use chrono::{DateTime, Datelike, Timelike, Utc};

    #[test]
    fn timestamps_print_as_formatting_would() {
        let mut state = 0x9e37_79b9_7f4a_7c15_u64;
        let mut stamps: Vec<DateTime<Utc>> = vec![
            DateTime::from_timestamp(0, 0).unwrap(),
            // A leap second: its milliseconds stop at 999.
            DateTime::from_timestamp(1_483_228_799, 1_500_000_000).unwrap(),
            "0005-03-04T05:06:07.089Z".parse().unwrap(),
            "9999-12-31T23:59:59.999999Z".parse().unwrap(),
        ];
        for _ in 0..100_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            // Any instant from year 0 to 9999.
            let seconds = (state % 315_537_897_600) as i64 - 62_167_219_200;
            stamps.push(
                DateTime::from_timestamp(seconds, (state >> 34) as u32 % 1_000_000_000).unwrap(),
            );
        }
        for stamp in stamps {
            let (date, millis) = (
                format!(
                    "{:04}-{:02}-{:02}",
                    stamp.year(),
                    stamp.month(),
                    stamp.day()
                ),
                stamp.timestamp_subsec_millis().min(999),
            );
            let time = format!(
                "{:02}:{:02}:{:02}",
                stamp.hour(),
                stamp.minute(),
                stamp.second()
            );
            assert_eq!(
                &*TimestampStyle::Dali.format(&stamp),
                format!("{date}T{time}.{millis:03}")
            );
            assert_eq!(
                &*TimestampStyle::ObsPortal.format(&stamp),
                format!("{date} {time}+00:00")
            );
        }
    }

    #[test]
    fn doubles_print_shortest_and_read_back_exactly() {
        // Random bit patterns over the whole range, plus the edges of the fast path.
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut values = vec![
            1e-4,
            f64::from_bits(1e16_f64.to_bits() - 1),
            1e16,
            0.0,
            -0.0,
            1.0,
            6e-7,
            500.0,
        ];
        for _ in 0..200_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            let value = f64::from_bits(state);
            values.push(value);
            // Values a row really holds: a few digits around 1.
            values.push((state % 10_000_000) as f64 / 1000.0);
        }
        // The significant digits of a number's text: no sign, point, exponent or padding zeros.
        let digits = |text: &str| {
            let mantissa = text
                .split(['e', 'E'])
                .next()
                .unwrap()
                .replace(['-', '.'], "");
            mantissa.trim_matches('0').len()
        };
        for value in values.into_iter().filter(|v| v.is_finite()) {
            let mut out = Vec::new();
            format_double(value, &mut out);
            let text = String::from_utf8(out).unwrap();
            assert_eq!(
                text.parse::<f64>().unwrap().to_bits(),
                value.to_bits(),
                "{text}"
            );
            // As few digits as Rust's own shortest form.
            let rust = format!("{value:?}");
            assert_eq!(digits(&text), digits(&rust), "{text} vs {rust}");
        }
    }
}
