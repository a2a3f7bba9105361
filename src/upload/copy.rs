//! PostgreSQL's binary COPY format, written row by row: what the parsers turn an uploaded
//! table into, so that loading it is one COPY with nothing left to convert in the database.

use super::Kind;

/// A value as a parser read it, before it is checked against its column's type.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Cell<'a> {
    Null,
    Boolean(bool),
    Integer(i64),
    Real(f64),
    Text(&'a str),
}

#[derive(Debug)]
pub(super) struct CopyWriter {
    data: Vec<u8>,
    kinds: Vec<Kind>,
    rows: u64,
}

impl CopyWriter {
    pub(super) fn new(kinds: Vec<Kind>) -> CopyWriter {
        let mut data = Vec::with_capacity(1 << 16);
        data.extend_from_slice(b"PGCOPY\n\xff\r\n\0");
        data.extend_from_slice(&0i32.to_be_bytes()); // flags
        data.extend_from_slice(&0i32.to_be_bytes()); // header extension
        CopyWriter {
            data,
            kinds,
            rows: 0,
        }
    }

    pub(super) fn rows(&self) -> u64 {
        self.rows
    }

    /// One row, a cell per column; the error says which column could not take its cell.
    pub(super) fn row(&mut self, cells: &[Cell<'_>]) -> Result<(), String> {
        if cells.len() != self.kinds.len() {
            return Err(format!(
                "{} values where the table has {} columns",
                cells.len(),
                self.kinds.len()
            ));
        }
        self.data
            .extend_from_slice(&(self.kinds.len() as i16).to_be_bytes());
        for (index, cell) in cells.iter().enumerate() {
            let kind = self.kinds[index];
            self.cell(*cell, kind)
                .map_err(|problem| format!("column {}: {problem}", index + 1))?;
        }
        self.rows += 1;
        Ok(())
    }

    fn cell(&mut self, cell: Cell<'_>, kind: Kind) -> Result<(), String> {
        let data = &mut self.data;
        let mut field = |bytes: &[u8]| {
            data.extend_from_slice(&(bytes.len() as i32).to_be_bytes());
            data.extend_from_slice(bytes);
        };
        match (kind, cell) {
            (_, Cell::Null) => self.data.extend_from_slice(&(-1i32).to_be_bytes()),
            (Kind::Boolean, Cell::Boolean(value)) => field(&[value as u8]),
            (Kind::Short, Cell::Integer(value)) => field(
                &i16::try_from(value)
                    .map_err(|_| format!("{value} does not fit a short"))?
                    .to_be_bytes(),
            ),
            (Kind::Int, Cell::Integer(value)) => field(
                &i32::try_from(value)
                    .map_err(|_| format!("{value} does not fit an int"))?
                    .to_be_bytes(),
            ),
            (Kind::Long, Cell::Integer(value)) => field(&value.to_be_bytes()),
            (Kind::Float, Cell::Real(value)) => field(&(value as f32).to_be_bytes()),
            (Kind::Float, Cell::Integer(value)) => field(&(value as f32).to_be_bytes()),
            (Kind::Double, Cell::Real(value)) => field(&value.to_be_bytes()),
            (Kind::Double, Cell::Integer(value)) => field(&(value as f64).to_be_bytes()),
            (Kind::Timestamp, Cell::Text(text)) => {
                let micros = timestamp_micros(text)
                    .ok_or_else(|| format!("{text:?} is not a DALI timestamp"))?;
                field(&micros.to_be_bytes())
            }
            (Kind::Text, Cell::Text(text)) => {
                if text.contains('\0') {
                    return Err("text with a NUL character".into());
                }
                field(text.as_bytes())
            }
            (kind, cell) => return Err(format!("{cell:?} is not a {}", kind.votable_name())),
        }
        Ok(())
    }

    pub(super) fn finish(mut self) -> Vec<u8> {
        self.data.extend_from_slice(&(-1i16).to_be_bytes());
        self.data
    }
}

/// A DALI timestamp (`YYYY-MM-DD['T'hh:mm:ss[.SSS]]['Z']`, UTC) as PostgreSQL's binary form:
/// microseconds since 2000-01-01.
fn timestamp_micros(text: &str) -> Option<i64> {
    let text = text.trim().trim_end_matches('Z');
    let at = chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%dT%H:%M:%S%.f")
        .or_else(|_| chrono::NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f"))
        .or_else(|_| {
            chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .map(|day| day.and_hms_opt(0, 0, 0).expect("midnight"))
        })
        .ok()?;
    let epoch = chrono::NaiveDate::from_ymd_opt(2000, 1, 1)?.and_hms_opt(0, 0, 0)?;
    (at - epoch).num_microseconds()
}
