//! CHARA observation logs, as JMMC's OiDB reads them: CSV with a header line and 14 columns
//! `UT-DATE, STAR, PI, PROGRAM, COMBINER, TYPE, MJD, FILTER, SCOPES, B1, B2, B3, T0_OBS,
//! T0_500nm`, one row per observation. COMBINER and FILTER are ASPRO2's instrument and mode
//! names; SCOPES the telescopes run together (`S2E1E2W2`).
//!
//! Each row becomes a header of its own (its fields as keywords) and goes through the same
//! derivation as ESO's. Logs name stars without positions: the names of targets already in the
//! database place them, and a positions table the operator gives (CSV `name,ra,dec` in degrees,
//! named before the logs on the command line) adds to or overrides those; a row whose star
//! neither names is dropped with that reason, never guessed.

use std::collections::HashMap;
use std::io::BufRead;

use serde_json::{Map, Value};

use super::fits::Header;
use super::IngestError;

/// The header line of a log, as written.
const LOG_COLUMNS: [&str; 14] = [
    "UT-DATE", "STAR", "PI", "PROGRAM", "COMBINER", "TYPE", "MJD", "FILTER", "SCOPES", "B1", "B2",
    "B3", "T0_OBS", "T0_500nm",
];

/// Star names to positions [deg], from the operator's tables.
#[derive(Default)]
pub(crate) struct Positions(HashMap<String, (f64, f64)>);

impl Positions {
    /// Names compare without regard to case, blanks and underscores: `HD 1234` is `hd_1234`.
    fn key(name: &str) -> String {
        name.chars()
            .filter(|c| !c.is_whitespace() && *c != '_')
            .flat_map(char::to_uppercase)
            .collect()
    }

    /// Names of targets already in the database, with their positions. Where one name is used
    /// by several targets, the last given wins: callers list the most observed last.
    pub(crate) fn known(names: impl Iterator<Item = (String, f64, f64)>) -> Positions {
        Positions(
            names
                .map(|(name, ra, dec)| (Self::key(&name), (ra, dec)))
                .collect(),
        )
    }

    fn get(&self, name: &str) -> Option<(f64, f64)> {
        self.0.get(&Self::key(name)).copied()
    }
}

/// What a CSV file is, from its header line.
pub(crate) enum CsvKind {
    Log,
    Positions,
}

pub(crate) fn csv_kind(header_line: &str) -> Option<CsvKind> {
    let names: Vec<String> = header_line
        .split(',')
        .map(|name| name.trim().to_ascii_uppercase())
        .collect();
    if names == LOG_COLUMNS.map(str::to_ascii_uppercase) {
        Some(CsvKind::Log)
    } else if names == ["NAME", "RA", "DEC"] {
        Some(CsvKind::Positions)
    } else {
        None
    }
}

fn bad(source: &str, line: usize, problem: String) -> IngestError {
    IngestError::BadTable {
        source_name: source.to_string(),
        line,
        problem,
    }
}

/// The rows after a CSV file's header line: line number (from 1, the header line's) and
/// fields, blank lines skipped.
fn rows<'a>(
    source: &'a str,
    lines: impl BufRead + 'a,
) -> impl Iterator<Item = Result<(usize, Vec<String>), IngestError>> + 'a {
    lines
        .lines()
        .enumerate()
        .map(move |(index, line)| {
            let line = line.map_err(|error| IngestError::Io {
                path: source.to_string(),
                error,
            })?;
            let fields = line.split(',').map(|f| f.trim().to_string()).collect();
            Ok((index + 2, fields, line))
        })
        .filter(|row| !matches!(row, Ok((_, _, line)) if line.trim().is_empty()))
        .map(|row| row.map(|(number, fields, _)| (number, fields)))
}

/// Adds a positions table's rows (after its header line) to `positions`.
pub(crate) fn read_positions(
    source: &str,
    lines: impl BufRead,
    positions: &mut Positions,
) -> Result<(), IngestError> {
    for row in rows(source, lines) {
        let (line_number, fields) = row?;
        let line = fields.join(",");
        let [name, ra, dec] = &fields[..] else {
            return Err(bad(
                source,
                line_number,
                format!("expected name,ra,dec, found {line:?}"),
            ));
        };
        let degrees = |text: &str, range: std::ops::RangeInclusive<f64>| {
            text.parse::<f64>()
                .ok()
                .filter(|value| range.contains(value))
        };
        let (Some(ra), Some(dec)) = (degrees(ra, 0.0..=360.0), degrees(dec, -90.0..=90.0)) else {
            return Err(bad(
                source,
                line_number,
                format!("ra and dec are decimal degrees: {line:?}"),
            ));
        };
        positions.0.insert(Positions::key(name), (ra, dec));
    }
    Ok(())
}

/// Calls `each` with one header per log row (after its header line).
pub(crate) fn read_log(
    source: &str,
    lines: impl BufRead,
    positions: &Positions,
    each: &mut dyn FnMut(&str, Header) -> Result<(), IngestError>,
) -> Result<(), IngestError> {
    for row in rows(source, lines) {
        let (line_number, fields) = row?;
        if fields.len() != LOG_COLUMNS.len() {
            return Err(bad(
                source,
                line_number,
                format!("{} columns, expected {}", fields.len(), LOG_COLUMNS.len()),
            ));
        }
        let field =
            |name: &str| fields[LOG_COLUMNS.iter().position(|c| *c == name).unwrap()].as_str();
        let mjd: f64 = field("MJD").parse().map_err(|_| {
            bad(
                source,
                line_number,
                format!("MJD {:?} is not a number", field("MJD")),
            )
        })?;
        let instant = crate::mjd::to_datetime(mjd)
            .ok_or_else(|| bad(source, line_number, format!("MJD {mjd} is out of range")))?;
        let mut keywords = Map::new();
        for (column, value) in LOG_COLUMNS.iter().zip(&fields) {
            keywords.insert(format!("CHARA {column}"), Value::String(value.to_string()));
        }
        let text = |value: &str| Value::String(value.to_string());
        keywords.insert("INSTRUME".into(), text(field("COMBINER")));
        keywords.insert("OBJECT".into(), text(field("STAR")));
        keywords.insert("MJD-OBS".into(), Value::from(mjd));
        // A combiner observes one star at a time: combiner and instant name the observation,
        // as an ESO ARCFILE does.
        let id = format!(
            "{}.{}",
            field("COMBINER"),
            instant.format("%Y-%m-%dT%H:%M:%S%.3f")
        );
        keywords.insert("ARCFILE".into(), Value::String(id));
        // SCOPES runs the two-character station names together.
        let scopes = field("SCOPES");
        let stations: Vec<&str> = (0..scopes.len() / 2)
            .filter_map(|i| scopes.get(2 * i..2 * i + 2))
            .collect();
        keywords.insert("CHARA STATIONS".into(), text(&stations.join(" ")));
        if let Some((ra, dec)) = positions.get(field("STAR")) {
            keywords.insert("RA".into(), Value::from(ra));
            keywords.insert("DEC".into(), Value::from(dec));
        }
        let header = Header {
            keywords,
            first_card: line_number as u64,
            end_card: line_number as u64,
        };
        each(source, header)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_become_headers_placed_by_the_positions_table() {
        let mut positions = Positions::default();
        read_positions(
            "p.csv",
            "HD 1234, 10.5, -20.25\n".as_bytes(),
            &mut positions,
        )
        .unwrap();
        let log =
            "2019-05-01,hd_1234,Monnier,2019A-M01,CLIMB,OBJ,58604.25,H,S2E1E2W2,100,200,300,5,6\n\
                   2019-05-01,Nowhere,Monnier,2019A-M01,CLIMB,CAL1,58604.26,H,S2E1,100,,,5,6\n";
        let mut headers = Vec::new();
        read_log("log.csv", log.as_bytes(), &positions, &mut |_, header| {
            headers.push(header);
            Ok(())
        })
        .unwrap();
        assert_eq!(headers.len(), 2);
        let first = &headers[0];
        assert_eq!(first.text("INSTRUME"), Some("CLIMB"));
        assert_eq!(first.text("CHARA STATIONS"), Some("S2 E1 E2 W2"));
        assert_eq!(
            (first.number("RA"), first.number("DEC")),
            (Some(10.5), Some(-20.25))
        );
        assert_eq!(first.text("ARCFILE"), Some("CLIMB.2019-05-01T06:00:00.000"));
        assert_eq!(
            headers[1].number("RA"),
            None,
            "an unknown star is not placed"
        );
        assert_eq!(first.first_card, 2, "lines counted from the header line");
    }

    #[test]
    fn malformed_rows_name_the_file_and_line() {
        let error = read_log(
            "log.csv",
            "a,b,c\n".as_bytes(),
            &Positions::default(),
            &mut |_, _| Ok(()),
        )
        .unwrap_err();
        assert_eq!(error.to_string(), "log.csv, line 2: 3 columns, expected 14");
        let mut positions = Positions::default();
        let error =
            read_positions("p.csv", "Vega,279.2,95\n".as_bytes(), &mut positions).unwrap_err();
        assert!(
            error.to_string().starts_with("p.csv, line 2: ra and dec"),
            "{error}"
        );
    }
}
