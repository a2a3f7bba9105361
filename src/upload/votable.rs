//! An uploaded VOTable (what TOPCAT, astropy and pyvo write): the first TABLE's FIELDs, and its
//! rows in TABLEDATA, BINARY or BINARY2 (a base64 STREAM inside the document).

use base64::Engine;
use quick_xml::events::{BytesStart, Event};

use super::copy::{Cell, CopyWriter};
use super::{Kind, ReadError, UploadColumn};

/// How a FIELD's values are written in a binary stream.
#[derive(Debug, Clone, Copy)]
enum Width {
    /// One value.
    Scalar,
    /// Exactly this many characters.
    Fixed(usize),
    /// A count, then that many characters.
    Variable,
}

struct FieldSpec {
    kind: Kind,
    datatype: String,
    width: Width,
    /// The value that stands for NULL (`<VALUES null="...">`), for integers.
    null: Option<String>,
}

pub(super) fn read(
    document: &[u8],
    max_rows: u64,
) -> Result<(Vec<UploadColumn>, CopyWriter), ReadError> {
    let mut reader = quick_xml::Reader::from_reader(document);
    let mut columns: Vec<UploadColumn> = Vec::new();
    let mut specs: Vec<FieldSpec> = Vec::new();
    let mut writer: Option<CopyWriter> = None;
    let mut buffer = Vec::new();
    // TABLEDATA: the row being read, and the text of the cell being read.
    let mut row: Vec<Option<String>> = Vec::new();
    let mut cell: Option<String> = None;
    let mut in_row = false;
    let mut serialization: Option<&'static str> = None;
    let mut stream = String::new();
    let mut in_stream = false;
    let mut rows_read: u64 = 0;
    let mut tables = 0;
    loop {
        let at = reader.buffer_position();
        let event = reader.read_event_into(&mut buffer).map_err(|error| {
            ReadError::at(
                &format!("byte {at}"),
                format!("not well-formed XML: {error}"),
            )
        })?;
        match event {
            Event::Start(element) | Event::Empty(element) if local(&element) == b"TABLE" => {
                tables += 1;
                if tables > 1 {
                    break; // the first table only
                }
            }
            Event::Start(element) | Event::Empty(element)
                if local(&element) == b"FIELD" && tables == 1 =>
            {
                let (column, spec) = field(&element, columns.len() + 1)?;
                columns.push(column);
                specs.push(spec);
            }
            Event::Start(element) | Event::Empty(element)
                if local(&element) == b"VALUES" && tables == 1 && serialization.is_none() =>
            {
                if let Some(spec) = specs.last_mut() {
                    spec.null = attribute(&element, "null");
                }
            }
            Event::Start(element)
                if tables == 1
                    && matches!(local(&element), b"TABLEDATA" | b"BINARY" | b"BINARY2") =>
            {
                serialization = Some(match local(&element) {
                    b"TABLEDATA" => "TABLEDATA",
                    b"BINARY" => "BINARY",
                    _ => "BINARY2",
                });
                writer = Some(CopyWriter::new(specs.iter().map(|s| s.kind).collect()));
            }
            Event::Start(element) if local(&element) == b"STREAM" && serialization.is_some() => {
                if element.try_get_attribute("href").ok().flatten().is_some() {
                    return Err(ReadError::at(
                        "STREAM",
                        "a STREAM by reference (href) is not read: put the data inline",
                    ));
                }
                in_stream = true;
            }
            Event::End(element) if element.local_name().as_ref() == b"STREAM" => in_stream = false,
            Event::Start(element)
                if local(&element) == b"TR" && serialization == Some("TABLEDATA") =>
            {
                in_row = true;
                row.clear();
            }
            Event::Start(element) if local(&element) == b"TD" && in_row => {
                cell = Some(String::new())
            }
            Event::Empty(element) if local(&element) == b"TD" && in_row => row.push(None),
            Event::Text(text) if cell.is_some() || in_stream => {
                let text = text.unescape().map_err(|error| {
                    ReadError::at(
                        &format!("byte {at}"),
                        format!("bad character reference: {error}"),
                    )
                })?;
                if in_stream {
                    stream.push_str(&text);
                } else if let Some(cell) = cell.as_mut() {
                    cell.push_str(&text);
                }
            }
            Event::CData(text) if cell.is_some() => {
                if let Some(cell) = cell.as_mut() {
                    cell.push_str(&String::from_utf8_lossy(&text));
                }
            }
            Event::End(element) if element.local_name().as_ref() == b"TD" && in_row => {
                row.push(cell.take());
            }
            Event::End(element) if element.local_name().as_ref() == b"TR" && in_row => {
                in_row = false;
                rows_read += 1;
                if rows_read > max_rows {
                    return Err(ReadError::TooManyRows(max_rows));
                }
                let writer = writer.as_mut().expect("TABLEDATA started a writer");
                tabledata_row(writer, &specs, &row)
                    .map_err(|problem| ReadError::at(&format!("row {rows_read}"), problem))?;
            }
            Event::Eof => break,
            _ => {}
        }
        buffer.clear();
    }
    if columns.is_empty() {
        return Err(ReadError::at(
            "the document",
            "no TABLE with FIELDs: this is not a VOTable table",
        ));
    }
    let mut writer =
        writer.unwrap_or_else(|| CopyWriter::new(specs.iter().map(|s| s.kind).collect()));
    if let Some(binary) = serialization.filter(|s| s.starts_with("BINARY")) {
        let cleaned: String = stream.chars().filter(|c| !c.is_whitespace()).collect();
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(cleaned)
            .map_err(|error| ReadError::at("STREAM", format!("not base64: {error}")))?;
        binary_rows(&mut writer, &specs, &bytes, binary == "BINARY2", max_rows)?;
    }
    Ok((columns, writer))
}

fn local<'a>(element: &'a BytesStart<'a>) -> &'a [u8] {
    let name = element.name().into_inner();
    name.rsplit(|b| *b == b':').next().unwrap_or(name)
}

fn attribute(element: &BytesStart<'_>, name: &str) -> Option<String> {
    element
        .try_get_attribute(name)
        .ok()
        .flatten()
        .and_then(|value| value.unescape_value().ok().map(|v| v.into_owned()))
}

fn field(element: &BytesStart<'_>, number: usize) -> Result<(UploadColumn, FieldSpec), ReadError> {
    let name = attribute(element, "name").unwrap_or_else(|| format!("col{number}"));
    let datatype = attribute(element, "datatype").unwrap_or_default();
    let arraysize = attribute(element, "arraysize");
    let place = format!("FIELD {name:?}");
    let text = matches!(datatype.as_str(), "char" | "unicodeChar");
    let width = match arraysize.as_deref().map(str::trim) {
        None | Some("1") => Width::Scalar,
        Some(size) if text && size.ends_with('*') => Width::Variable,
        Some(size) if text => Width::Fixed(size.parse().map_err(|_| {
            ReadError::at(&place, format!("arraysize {size:?} is not one this service reads"))
        })?),
        Some(size) => {
            return Err(ReadError::at(
                &place,
                format!("arrays of {datatype} (arraysize {size:?}) are not taken in uploads: upload one value per column"),
            ))
        }
    };
    let timestamp =
        attribute(element, "xtype").is_some_and(|x| x.eq_ignore_ascii_case("timestamp"));
    let kind = match datatype.as_str() {
        "char" | "unicodeChar" if timestamp => Kind::Timestamp,
        "boolean" => Kind::Boolean,
        "unsignedByte" | "short" => Kind::Short,
        "int" => Kind::Int,
        "long" => Kind::Long,
        "float" => Kind::Float,
        "double" => Kind::Double,
        "char" | "unicodeChar" => Kind::Text,
        other => {
            return Err(ReadError::at(
                &place,
                format!("datatype {other:?} is not taken in uploads (boolean, short, int, long, float, double, char, unicodeChar are)"),
            ))
        }
    };
    let column = UploadColumn {
        name,
        kind,
        unit: attribute(element, "unit"),
        ucd: attribute(element, "ucd"),
    };
    Ok((
        column,
        FieldSpec {
            kind,
            datatype,
            width,
            null: None,
        },
    ))
}

fn tabledata_row(
    writer: &mut CopyWriter,
    specs: &[FieldSpec],
    row: &[Option<String>],
) -> Result<(), String> {
    if row.len() != specs.len() {
        return Err(format!(
            "{} TD where the table has {} FIELDs",
            row.len(),
            specs.len()
        ));
    }
    let cells = row
        .iter()
        .zip(specs)
        .enumerate()
        .map(|(index, (value, spec))| {
            let value = value.as_deref().map(str::trim).unwrap_or("");
            if spec.null.as_deref() == Some(value) {
                return Ok(Cell::Null);
            }
            text_cell(value, spec.kind)
                .map_err(|problem| format!("column {}: {problem}", index + 1))
        })
        .collect::<Result<Vec<_>, _>>()?;
    writer.row(&cells)
}

/// A TABLEDATA value: empty is NULL (and so is `?` for a boolean).
fn text_cell(value: &str, kind: Kind) -> Result<Cell<'_>, String> {
    if value.is_empty() {
        return Ok(Cell::Null);
    }
    Ok(match kind {
        Kind::Boolean => match value {
            "T" | "t" | "1" | "true" | "TRUE" | "True" => Cell::Boolean(true),
            "F" | "f" | "0" | "false" | "FALSE" | "False" => Cell::Boolean(false),
            "?" => Cell::Null,
            other => return Err(format!("{other:?} is not a boolean")),
        },
        Kind::Short | Kind::Int | Kind::Long => Cell::Integer(
            value
                .parse()
                .map_err(|_| format!("{value:?} is not a whole number"))?,
        ),
        Kind::Float | Kind::Double => match value.parse::<f64>() {
            Ok(number) if number.is_nan() => Cell::Null,
            Ok(number) => Cell::Real(number),
            Err(_) => return Err(format!("{value:?} is not a number")),
        },
        Kind::Text | Kind::Timestamp => Cell::Text(value),
    })
}

/// BINARY and BINARY2 rows: each value in the FIELD's binary form, big-endian; BINARY2 starts
/// each row with a bit per column telling NULLs.
fn binary_rows(
    writer: &mut CopyWriter,
    specs: &[FieldSpec],
    bytes: &[u8],
    with_nulls: bool,
    max_rows: u64,
) -> Result<(), ReadError> {
    let mut at = 0usize;
    let mut texts: Vec<String> = vec![String::new(); specs.len()];
    let mut row = 0u64;
    while at < bytes.len() {
        row += 1;
        if row > max_rows {
            return Err(ReadError::TooManyRows(max_rows));
        }
        let place = format!("row {row} (byte {at} of the decoded stream)");
        let take = |at: &mut usize, count: usize| -> Result<&[u8], ReadError> {
            let piece = bytes.get(*at..*at + count).ok_or_else(|| {
                ReadError::at(&format!("row {row}"), "the stream ends inside the row")
            })?;
            *at += count;
            Ok(piece)
        };
        let mask = if with_nulls {
            take(&mut at, specs.len().div_ceil(8))?.to_vec()
        } else {
            Vec::new()
        };
        let mut values: Vec<Option<Cell<'static>>> = Vec::with_capacity(specs.len());
        for (index, spec) in specs.iter().enumerate() {
            let null = with_nulls && mask[index / 8] & (0x80 >> (index % 8)) != 0;
            let value = match (spec.kind, spec.width) {
                (Kind::Text | Kind::Timestamp, width) => {
                    let unit = if spec.datatype == "unicodeChar" { 2 } else { 1 };
                    let count = match width {
                        Width::Scalar => 1,
                        Width::Fixed(count) => count,
                        Width::Variable => {
                            let count =
                                i32::from_be_bytes(take(&mut at, 4)?.try_into().expect("4 bytes"));
                            usize::try_from(count)
                                .map_err(|_| ReadError::at(&place, "a negative length"))?
                        }
                    };
                    let raw = take(&mut at, count * unit)?;
                    texts[index] = if unit == 2 {
                        let units: Vec<u16> = raw
                            .chunks(2)
                            .map(|pair| u16::from_be_bytes([pair[0], pair[1]]))
                            .collect();
                        String::from_utf16_lossy(&units)
                    } else {
                        String::from_utf8_lossy(raw).into_owned()
                    };
                    let trimmed = texts[index].trim_end_matches(['\0', ' ']).len();
                    texts[index].truncate(trimmed);
                    None // filled from `texts` below
                }
                (Kind::Boolean, _) => Some(match take(&mut at, 1)?[0] {
                    b'T' | b't' | b'1' => Cell::Boolean(true),
                    b'F' | b'f' | b'0' => Cell::Boolean(false),
                    _ => Cell::Null,
                }),
                (Kind::Short, _) if spec.datatype == "unsignedByte" => {
                    Some(Cell::Integer(take(&mut at, 1)?[0].into()))
                }
                (Kind::Short, _) => Some(Cell::Integer(
                    i16::from_be_bytes(take(&mut at, 2)?.try_into().expect("2")).into(),
                )),
                (Kind::Int, _) => Some(Cell::Integer(
                    i32::from_be_bytes(take(&mut at, 4)?.try_into().expect("4")).into(),
                )),
                (Kind::Long, _) => Some(Cell::Integer(i64::from_be_bytes(
                    take(&mut at, 8)?.try_into().expect("8"),
                ))),
                (Kind::Float, _) => Some(real(
                    f32::from_be_bytes(take(&mut at, 4)?.try_into().expect("4")).into(),
                )),
                (Kind::Double, _) => Some(real(f64::from_be_bytes(
                    take(&mut at, 8)?.try_into().expect("8"),
                ))),
            };
            let null = null
                || matches!((value, &spec.null), (Some(Cell::Integer(n)), Some(marker)) if marker.trim().parse() == Ok(n));
            values.push(if null { Some(Cell::Null) } else { value });
        }
        let cells: Vec<Cell<'_>> = values
            .iter()
            .zip(&texts)
            .map(|(value, text)| value.unwrap_or(Cell::Text(text)))
            .collect();
        writer
            .row(&cells)
            .map_err(|problem| ReadError::at(&place, problem))?;
    }
    Ok(())
}

/// A NaN is how VOTable writes a missing floating-point value.
fn real(value: f64) -> Cell<'static> {
    if value.is_nan() {
        Cell::Null
    } else {
        Cell::Real(value)
    }
}
