//! Reads FITS primary headers as ESO serves them: 80-character cards ending with `END`,
//! either in fixed 80-byte records (FITS files, raw `.hdr`) or one card per line (header text
//! files). A stream may hold several headers one after the other.

use std::io::{self, BufRead};

use serde_json::{Map, Value};

#[derive(Debug, thiserror::Error)]
pub enum FitsError {
    #[error("card {card}: {problem}")]
    BadCard { card: u64, problem: String },
    #[error("card {card}: the header that starts at card {first_card} ends without an END card")]
    MissingEnd { card: u64, first_card: u64 },
    #[error("read error after card {card}: {source}")]
    Io { card: u64, source: io::Error },
}

/// One header: its keywords by name (HIERARCH keywords keep their full name,
/// e.g. `HIERARCH ESO DPR CATG`), and where it stands in its file.
#[derive(Debug, Clone)]
pub(crate) struct Header {
    pub(crate) keywords: Map<String, Value>,
    pub(crate) first_card: u64,
    pub(crate) end_card: u64,
}

impl Header {
    pub(crate) fn get(&self, key: &str) -> Option<&Value> {
        self.keywords.get(key).filter(|value| !value.is_null())
    }

    pub(crate) fn text(&self, key: &str) -> Option<&str> {
        self.get(key)?
            .as_str()
            .map(str::trim)
            .filter(|text| !text.is_empty())
    }

    /// A number, also from a string that holds one (some writers quote numbers).
    pub(crate) fn number(&self, key: &str) -> Option<f64> {
        match self.get(key)? {
            Value::Number(number) => number.as_f64(),
            Value::String(text) => text.trim().parse().ok(),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Layout {
    /// Fixed 80-byte records with no line breaks.
    Records,
    /// One card per line, possibly shorter than 80 characters.
    Lines,
}

/// Yields the headers of a stream one by one.
pub(crate) struct HeaderReader<R> {
    input: R,
    layout: Option<Layout>,
    card: u64,
    /// FITS files hold one primary header followed by data: stop after it.
    primary_only: bool,
    finished: bool,
    buffer: Vec<u8>,
}

impl<R: BufRead> HeaderReader<R> {
    pub(crate) fn new(input: R, primary_only: bool) -> Self {
        HeaderReader {
            input,
            layout: None,
            card: 0,
            primary_only,
            finished: false,
            buffer: Vec::with_capacity(96),
        }
    }

    /// The next header, or `None` at the end of the stream.
    pub(crate) fn next_header(&mut self) -> Result<Option<Header>, FitsError> {
        if self.finished {
            return Ok(None);
        }
        let mut keywords = Map::new();
        let mut first_card = 0;
        loop {
            if !self.read_card()? {
                self.finished = true;
                if first_card == 0 {
                    return Ok(None);
                }
                return Err(FitsError::MissingEnd {
                    card: self.card,
                    first_card,
                });
            }
            let card = self.buffer.as_slice();
            if first_card == 0 {
                // Padding between concatenated headers (blank records or lines) is skipped.
                if card.iter().all(|&byte| byte == b' ') {
                    continue;
                }
                first_card = self.card;
            }
            match parse_card(card).map_err(|problem| FitsError::BadCard {
                card: self.card,
                problem,
            })? {
                Card::End => {
                    self.finished = self.primary_only;
                    return Ok(Some(Header {
                        keywords,
                        first_card,
                        end_card: self.card,
                    }));
                }
                Card::Commentary(key, text) => {
                    if let Value::Array(items) = keywords
                        .entry(key)
                        .or_insert_with(|| Value::Array(Vec::new()))
                    {
                        items.push(Value::String(text));
                    }
                }
                Card::Keyword(key, value) => {
                    keywords.insert(key, value);
                }
                Card::Blank => {}
            }
        }
    }

    /// Reads the next card into `self.buffer`; false at a clean end of stream.
    fn read_card(&mut self) -> Result<bool, FitsError> {
        let card = self.card;
        let io_error = |source| FitsError::Io { card, source };
        let layout = match self.layout {
            Some(layout) => layout,
            None => {
                let start = self.input.fill_buf().map_err(io_error)?;
                let window = &start[..start.len().min(81)];
                let layout = if window.contains(&b'\n') {
                    Layout::Lines
                } else {
                    Layout::Records
                };
                self.layout = Some(layout);
                layout
            }
        };
        self.buffer.clear();
        match layout {
            Layout::Lines => {
                if self
                    .input
                    .read_until(b'\n', &mut self.buffer)
                    .map_err(io_error)?
                    == 0
                {
                    return Ok(false);
                }
                while matches!(self.buffer.last(), Some(b'\n' | b'\r')) {
                    self.buffer.pop();
                }
            }
            Layout::Records => {
                self.buffer.resize(80, 0);
                let mut filled = 0;
                while filled < 80 {
                    let read = self
                        .input
                        .read(&mut self.buffer[filled..])
                        .map_err(io_error)?;
                    if read == 0 {
                        break;
                    }
                    filled += read;
                }
                if filled == 0 {
                    return Ok(false);
                }
                if filled < 80 {
                    self.card += 1;
                    return Err(FitsError::BadCard {
                        card: self.card,
                        problem: format!(
                            "truncated card: the file ends {filled} bytes into an 80-byte card"
                        ),
                    });
                }
            }
        }
        self.card += 1;
        if self.buffer.len() > 80 {
            return Err(FitsError::BadCard {
                card: self.card,
                problem: format!(
                    "{} characters long; a FITS card has at most 80",
                    self.buffer.len()
                ),
            });
        }
        if let Some(position) = self
            .buffer
            .iter()
            .position(|&byte| !(b' '..=b'~').contains(&byte))
        {
            return Err(FitsError::BadCard {
                card: self.card,
                problem: format!(
                    "byte 0x{:02x} at column {} is not printable ASCII; this is not a FITS header",
                    self.buffer[position],
                    position + 1
                ),
            });
        }
        self.buffer.resize(80, b' ');
        Ok(true)
    }
}

enum Card {
    End,
    Blank,
    Commentary(String, String),
    Keyword(String, Value),
}

/// Parses one 80-byte printable-ASCII card.
fn parse_card(card: &[u8]) -> Result<Card, String> {
    let text = std::str::from_utf8(card).expect("checked printable ASCII");
    let name = text[..8].trim_end();
    if name == "END" && text[8..].trim().is_empty() {
        return Ok(Card::End);
    }
    if name == "HIERARCH" {
        let Some(equals) = text.find('=') else {
            return Err("HIERARCH card without '='".into());
        };
        let key = text[..equals]
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        return Ok(Card::Keyword(key, parse_value(&text[equals + 1..])?));
    }
    if name.is_empty() {
        return Ok(Card::Blank);
    }
    if !name.bytes().all(|byte| {
        byte.is_ascii_uppercase() || byte.is_ascii_digit() || byte == b'-' || byte == b'_'
    }) {
        return Err(format!(
            "keyword {name:?} has characters FITS does not allow"
        ));
    }
    if &text[8..10] == "= " || (&text[8..9] == "=" && name != "COMMENT" && name != "HISTORY") {
        return Ok(Card::Keyword(name.to_string(), parse_value(&text[9..])?));
    }
    Ok(Card::Commentary(
        name.to_string(),
        text[8..].trim_end().to_string(),
    ))
}

/// A value field: a quoted string, T/F, an integer, a real, or nothing (undefined), then an
/// optional `/ comment`.
fn parse_value(field: &str) -> Result<Value, String> {
    let field = field.trim_start();
    if let Some(rest) = field.strip_prefix('\'') {
        let mut value = String::new();
        let mut chars = rest.char_indices();
        loop {
            match chars.next() {
                None => return Err("string value without its closing quote".into()),
                Some((_, '\'')) => {
                    if rest[chars.offset()..].starts_with('\'') {
                        chars.next();
                        value.push('\'');
                    } else {
                        break;
                    }
                }
                Some((_, c)) => value.push(c),
            }
        }
        let after = rest[chars.offset()..].trim_start();
        if !(after.is_empty() || after.starts_with('/')) {
            return Err(format!("unexpected {after:?} after a string value"));
        }
        // FITS: trailing spaces in a string are not significant.
        return Ok(Value::String(value.trim_end().to_string()));
    }
    let token = field.split('/').next().unwrap_or("").trim();
    if token.is_empty() {
        return Ok(Value::Null);
    }
    match token {
        "T" => return Ok(Value::Bool(true)),
        "F" => return Ok(Value::Bool(false)),
        _ => {}
    }
    if let Ok(integer) = token.parse::<i64>() {
        return Ok(Value::from(integer));
    }
    let real = token.replace(['D', 'd'], "E");
    match real.parse::<f64>() {
        Ok(number) if number.is_finite() => Ok(Value::from(number)),
        _ if token.starts_with('(') && token.ends_with(')') => Ok(Value::String(token.to_string())),
        _ => Err(format!("cannot read the value {token:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn card(text: &str) -> String {
        format!("{text:<80}")
    }

    fn read_all(text: &str) -> Result<Vec<Header>, FitsError> {
        let mut reader = HeaderReader::new(text.as_bytes(), false);
        let mut headers = Vec::new();
        while let Some(header) = reader.next_header()? {
            headers.push(header);
        }
        Ok(headers)
    }

    #[test]
    fn reads_values_of_every_kind_in_fixed_records() {
        let text = [
            card("SIMPLE  =                    T / conforms"),
            card("ARCFILE = 'GRAVI.2020-01-09T03:34:07.546.fits' / archive file"),
            card("OBJECT  = 'O''Hara  '"),
            card("MJD-OBS =       58857.14869845 / start"),
            card("NAXIS   =                    0"),
            card("HIERARCH ESO ISS PBL12 START = 55.904 / projected baseline"),
            card("HIERARCH ESO DPR CATG = 'SCIENCE '"),
            card("EXPTIME =              1.2D+02"),
            card("UNDEF   =                      / no value"),
            card("COMMENT first"),
            card("COMMENT second"),
            card("END"),
        ]
        .concat();
        let headers = read_all(&text).unwrap();
        assert_eq!(headers.len(), 1);
        let header = &headers[0];
        assert_eq!(header.keywords["SIMPLE"], Value::Bool(true));
        assert_eq!(
            header.text("ARCFILE"),
            Some("GRAVI.2020-01-09T03:34:07.546.fits")
        );
        assert_eq!(header.text("OBJECT"), Some("O'Hara"));
        assert_eq!(header.number("MJD-OBS"), Some(58857.14869845));
        assert_eq!(header.keywords["NAXIS"], Value::from(0));
        assert_eq!(header.number("HIERARCH ESO ISS PBL12 START"), Some(55.904));
        assert_eq!(header.text("HIERARCH ESO DPR CATG"), Some("SCIENCE"));
        assert_eq!(header.number("EXPTIME"), Some(120.0));
        assert_eq!(header.get("UNDEF"), None);
        assert_eq!(
            header.keywords["COMMENT"],
            serde_json::json!(["first", "second"])
        );
        assert_eq!((header.first_card, header.end_card), (1, 12));
    }

    #[test]
    fn reads_concatenated_headers_one_card_per_line() {
        let text =
            "SIMPLE  = T\nARCFILE = 'A.fits'\nEND\n\nSIMPLE  = T\r\nARCFILE = 'B.fits'\r\nEND\r\n";
        let headers = read_all(text).unwrap();
        let names: Vec<_> = headers.iter().map(|h| h.text("ARCFILE").unwrap()).collect();
        assert_eq!(names, ["A.fits", "B.fits"]);
        assert_eq!(headers[1].first_card, 5);
    }

    #[test]
    fn primary_only_stops_after_the_first_end() {
        let mut text = [card("SIMPLE  = T"), card("END")].concat();
        text.push_str(&"\u{1}".repeat(2880)); // binary data would follow
        let mut reader = HeaderReader::new(text.as_bytes(), true);
        assert!(reader.next_header().unwrap().is_some());
        assert!(reader.next_header().unwrap().is_none());
    }

    #[test]
    fn errors_name_the_card() {
        let cases = [
            (
                "SIMPLE  = T\nOBJECT  = 'unterminated\nEND\n",
                2,
                "closing quote",
            ),
            ("SIMPLE  = T\nNAXIS   = 12abc\nEND\n", 2, "cannot read"),
            (
                "SIMPLE  = T\nOBJECT  = 'caf\u{e9}'\nEND\n",
                2,
                "not printable ASCII",
            ),
            ("SIMPLE  = T\nNAXIS   = 0\n", 2, "without an END card"),
        ];
        for (text, expected_card, expected_text) in cases {
            let error = read_all(text).unwrap_err();
            let message = error.to_string();
            assert!(
                message.starts_with(&format!("card {expected_card}:")),
                "{message}"
            );
            assert!(message.contains(expected_text), "{message}");
        }
    }

    #[test]
    fn a_truncated_record_is_an_error() {
        let text = [card("SIMPLE  = T"), "NAXIS   = 0".to_string()].concat();
        let message = read_all(&text).unwrap_err().to_string();
        assert!(message.starts_with("card 2: truncated card"), "{message}");
    }
}
