//! An uploaded CSV table (RFC 4180, a header line of column names): each column's type is the
//! narrowest every value fits (long, double, or text); empty values are NULL.

use super::copy::{Cell, CopyWriter};
use super::{Kind, ReadError, UploadColumn};

pub(super) fn read(
    text: &str,
    max_rows: u64,
) -> Result<(Vec<UploadColumn>, CopyWriter), ReadError> {
    let mut records = Records {
        text,
        at: 0,
        line: 1,
    };
    let Some((_, header)) = records.next().transpose()? else {
        return Err(ReadError::at(
            "line 1",
            "the CSV is empty: it needs a header line of column names",
        ));
    };
    let mut rows: Vec<(u64, Vec<String>)> = Vec::new();
    while let Some((line, fields)) = records.next().transpose()? {
        if fields.len() == 1 && fields[0].is_empty() {
            continue; // a blank line
        }
        if fields.len() != header.len() {
            return Err(ReadError::at(
                &format!("line {line}"),
                format!(
                    "{} values where the header names {} columns",
                    fields.len(),
                    header.len()
                ),
            ));
        }
        if rows.len() as u64 >= max_rows {
            return Err(ReadError::TooManyRows(max_rows));
        }
        rows.push((line, fields));
    }
    let kinds: Vec<Kind> = (0..header.len())
        .map(|column| {
            let values = || {
                rows.iter()
                    .map(|(_, fields)| fields[column].trim())
                    .filter(|v| !v.is_empty())
            };
            if values().all(|v| v.parse::<i64>().is_ok()) {
                Kind::Long
            } else if values().all(|v| v.parse::<f64>().is_ok()) {
                Kind::Double
            } else {
                Kind::Text
            }
        })
        .collect();
    let columns = header
        .iter()
        .zip(&kinds)
        .map(|(name, kind)| UploadColumn {
            name: name.trim().to_string(),
            kind: *kind,
            unit: None,
            ucd: None,
        })
        .collect();
    let mut writer = CopyWriter::new(kinds.clone());
    for (line, fields) in &rows {
        let cells: Vec<Cell<'_>> = fields
            .iter()
            .zip(&kinds)
            .map(|(value, kind)| match (value.trim(), kind) {
                ("", _) => Cell::Null,
                (value, Kind::Long) => Cell::Integer(value.parse().expect("checked above")),
                (value, Kind::Double) => Cell::Real(value.parse().expect("checked above")),
                (_, _) => Cell::Text(value),
            })
            .collect();
        writer
            .row(&cells)
            .map_err(|problem| ReadError::at(&format!("line {line}"), problem))?;
    }
    Ok((columns, writer))
}

/// RFC 4180 records: fields separated by commas, quoted with double quotes (doubled inside),
/// records by CRLF or LF; a quoted field may hold line breaks.
struct Records<'t> {
    text: &'t str,
    at: usize,
    line: u64,
}

impl Iterator for Records<'_> {
    type Item = Result<(u64, Vec<String>), ReadError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.at >= self.text.len() {
            return None;
        }
        let first_line = self.line;
        let bytes = self.text.as_bytes();
        let (mut fields, mut field, mut quoted, mut was_quoted) =
            (Vec::new(), String::new(), false, false);
        let mut start = self.at;
        while self.at < bytes.len() {
            let byte = bytes[self.at];
            if quoted {
                if byte == b'"' {
                    if bytes.get(self.at + 1) == Some(&b'"') {
                        field.push_str(&self.text[start..=self.at]);
                        self.at += 2;
                        start = self.at;
                        continue;
                    }
                    field.push_str(&self.text[start..self.at]);
                    quoted = false;
                    self.at += 1;
                    start = self.at;
                    continue;
                }
                if byte == b'\n' {
                    self.line += 1;
                }
                self.at += 1;
                continue;
            }
            match byte {
                b'"' if self.text[start..self.at].trim().is_empty() && !was_quoted => {
                    quoted = true;
                    was_quoted = true;
                    self.at += 1;
                    start = self.at;
                }
                b',' => {
                    field.push_str(&self.text[start..self.at]);
                    fields.push(std::mem::take(&mut field));
                    was_quoted = false;
                    self.at += 1;
                    start = self.at;
                }
                b'\n' => {
                    field.push_str(self.text[start..self.at].trim_end_matches('\r'));
                    fields.push(field);
                    self.at += 1;
                    self.line += 1;
                    return Some(Ok((first_line, fields)));
                }
                _ => self.at += 1,
            }
        }
        if quoted {
            return Some(Err(ReadError::at(
                &format!("line {first_line}"),
                "a quoted value is never closed",
            )));
        }
        field.push_str(self.text[start..].trim_end_matches('\r'));
        fields.push(field);
        Some(Ok((first_line, fields)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_quotes_types_and_nulls() {
        let (columns, writer) = read(
            "name,ra,dec,n\n\"HD 1, A\",10.5,-20,3\n\"say \"\"hi\"\"\",,1e1,\n",
            10,
        )
        .unwrap();
        let kinds: Vec<Kind> = columns.iter().map(|c| c.kind).collect();
        assert_eq!(kinds, [Kind::Text, Kind::Double, Kind::Double, Kind::Long]);
        assert_eq!(writer.rows(), 2);
        let error = read("a,b\n1\n", 10).unwrap_err().to_string();
        assert!(
            error.contains("line 2") && error.contains("1 values"),
            "{error}"
        );
        assert!(matches!(
            read("a\n1\n2\n3\n", 2),
            Err(ReadError::TooManyRows(2))
        ));
    }
}
