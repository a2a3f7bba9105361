//! What a search asks for (the ObsPortal API's parameters, also the web form's), checked,
//! and the SQL condition it becomes. User values only ever travel as bind parameters.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

use crate::params::Parameters;
use crate::results::SqlParameter;

/// Default cone radius when a position is given without one [arcsec] (the original portal's).
pub const DEFAULT_RADIUS_ARCSEC: f64 = 10.0;

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum SearchError {
    #[error("{name}={value:?}: {problem}")]
    BadValue {
        name: String,
        value: String,
        problem: String,
    },
    #[error("{0}")]
    Inconsistent(String),
}

fn bad(name: &str, value: &str, problem: impl Into<String>) -> SearchError {
    SearchError::BadValue {
        name: name.into(),
        value: value.into(),
        problem: problem.into(),
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cone {
    pub ra: f64,
    pub dec: f64,
    pub radius_arcsec: f64,
}

/// A checked search. Text filters are exact except `target` (case-insensitive name).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Search {
    pub cone: Option<Cone>,
    pub interferometer: Option<String>,
    pub instrument: Option<String>,
    pub instrument_mode: Option<String>,
    pub instrument_submode: Option<String>,
    pub program_id: Option<String>,
    pub target: Option<String>,
    pub mjd_from: Option<f64>,
    pub mjd_to: Option<f64>,
    pub date_updated_from: Option<DateTime<Utc>>,
    pub date_updated_to: Option<DateTime<Utc>>,
}

impl Search {
    /// Reads the search parameters; others are left to the caller. Empty values (what an
    /// untouched form field sends) count as absent.
    pub fn from_parameters(parameters: &Parameters) -> Result<Search, SearchError> {
        let value = |name: &str| parameters.get(name).map(str::to_string);
        let ra = value("ra")
            .map(|v| parse_angle("ra", &v, true))
            .transpose()?;
        let dec = value("dec")
            .map(|v| parse_angle("dec", &v, false))
            .transpose()?;
        let radius = value("radius")
            .map(|v| parse_number("radius", &v))
            .transpose()?;
        let cone =
            match (ra, dec, radius) {
                (None, None, None) => None,
                (Some(ra), Some(dec), radius) => {
                    let radius_arcsec = radius.unwrap_or(DEFAULT_RADIUS_ARCSEC);
                    if !(0.0..=360.0).contains(&ra) {
                        return Err(bad(
                            "ra",
                            &value("ra").unwrap(),
                            "right ascension must be within [0, 360] degrees",
                        ));
                    }
                    if !(-90.0..=90.0).contains(&dec) {
                        return Err(bad(
                            "dec",
                            &value("dec").unwrap(),
                            "declination must be within [-90, 90] degrees",
                        ));
                    }
                    if radius_arcsec <= 0.0 || radius_arcsec > 180.0 * 3600.0 {
                        return Err(bad(
                            "radius",
                            &value("radius").unwrap(),
                            "the radius [arcsec] must be positive and at most 648000",
                        ));
                    }
                    Some(Cone {
                        ra,
                        dec,
                        radius_arcsec,
                    })
                }
                _ => return Err(SearchError::Inconsistent(
                    "a cone search needs both ra and dec (degrees), and optionally radius (arcsec)"
                        .into(),
                )),
            };
        let mjd_from = value("mjd_from")
            .map(|v| parse_mjd("mjd_from", &v))
            .transpose()?;
        let mjd_to = value("mjd_to")
            .map(|v| parse_mjd("mjd_to", &v))
            .transpose()?;
        if let (Some(from), Some(to)) = (mjd_from, mjd_to) {
            if from > to {
                return Err(SearchError::Inconsistent(format!(
                    "mjd_from ({from}) is after mjd_to ({to})"
                )));
            }
        }
        let date_updated_from = value("date_updated_from")
            .map(|v| parse_instant("date_updated_from", &v))
            .transpose()?;
        let date_updated_to = value("date_updated_to")
            .map(|v| parse_instant("date_updated_to", &v))
            .transpose()?;
        Ok(Search {
            cone,
            interferometer: value("interferometer"),
            instrument: value("instrument"),
            instrument_mode: value("instrument_mode"),
            instrument_submode: value("instrument_submode"),
            program_id: value("program_id"),
            target: value("target"),
            mjd_from,
            mjd_to,
            date_updated_from,
            date_updated_to,
        })
    }

    /// Whether the search filters by nothing but instrument and mode, which the statistics
    /// count without reading the exposures.
    pub fn only_by_instrument_and_mode(&self) -> bool {
        let Search {
            cone,
            interferometer,
            instrument: _,
            instrument_mode: _,
            instrument_submode,
            program_id,
            target,
            mjd_from,
            mjd_to,
            date_updated_from,
            date_updated_to,
        } = self;
        cone.is_none()
            && interferometer.is_none()
            && instrument_submode.is_none()
            && program_id.is_none()
            && target.is_none()
            && mjd_from.is_none()
            && mjd_to.is_none()
            && date_updated_from.is_none()
            && date_updated_to.is_none()
    }

    /// The WHERE condition over `obsportal.exposures` and its parameters (numbered from $1).
    pub fn condition(&self) -> (String, Vec<SqlParameter>) {
        let mut condition = Condition::default();
        if let Some(cone) = self.cone {
            // The form the GiST index on exposures serves; the circle is computed once per
            // query (an InitPlan), so the prepared statement's generic plan does not build it
            // row by row, and PostgreSQL keeps that plan instead of planning every search.
            condition.push(
                "spoint(radians(target_ra), radians(target_dec)) @ (SELECT scircle(spoint(radians($?::float8), radians($?::float8)), radians($?::float8 / 3600)))",
                vec![Box::new(cone.ra), Box::new(cone.dec), Box::new(cone.radius_arcsec)],
            );
        }
        for (column, value) in [
            ("interferometer_name", &self.interferometer),
            ("instrument_name", &self.instrument),
            ("instrument_mode", &self.instrument_mode),
            ("instrument_submode", &self.instrument_submode),
            ("obs_program", &self.program_id),
        ] {
            if let Some(value) = value {
                condition.push(
                    &format!("{column} = $?::text"),
                    vec![Box::new(value.clone())],
                );
            }
        }
        if let Some(target) = &self.target {
            condition.push(
                "lower(target_name) = lower($?::text)",
                vec![Box::new(target.clone())],
            );
        }
        if let Some(from) = self.mjd_from {
            condition.push("exp_mjd_start >= $?::float8", vec![Box::new(from)]);
        }
        if let Some(to) = self.mjd_to {
            condition.push("exp_mjd_start <= $?::float8", vec![Box::new(to)]);
        }
        if let Some(from) = self.date_updated_from {
            condition.push("exp_date_updated >= $?::timestamptz", vec![Box::new(from)]);
        }
        if let Some(to) = self.date_updated_to {
            condition.push("exp_date_updated <= $?::timestamptz", vec![Box::new(to)]);
        }
        condition.finish()
    }
}

impl Search {
    /// The same search in ADQL, for visitors who want to go on with TAP.
    pub fn to_adql(&self) -> String {
        let quote = |text: &str| format!("'{}'", text.replace('\'', "''"));
        let mut conditions = Vec::new();
        if let Some(cone) = self.cone {
            conditions.push(format!(
                "CONTAINS(POINT('ICRS', target_ra, target_dec), CIRCLE('ICRS', {}, {}, {} / 3600.0)) = 1",
                cone.ra, cone.dec, cone.radius_arcsec
            ));
        }
        for (column, value) in [
            ("interferometer_name", &self.interferometer),
            ("instrument_name", &self.instrument),
            ("instrument_mode", &self.instrument_mode),
            ("instrument_submode", &self.instrument_submode),
            ("obs_program", &self.program_id),
        ] {
            if let Some(value) = value {
                conditions.push(format!("{column} = {}", quote(value)));
            }
        }
        if let Some(target) = &self.target {
            conditions.push(format!("LOWER(target_name) = LOWER({})", quote(target)));
        }
        if let Some(from) = self.mjd_from {
            conditions.push(format!("exp_mjd_start >= {from}"));
        }
        if let Some(to) = self.mjd_to {
            conditions.push(format!("exp_mjd_start <= {to}"));
        }
        if let Some(from) = self.date_updated_from {
            conditions.push(format!(
                "exp_date_updated >= '{}'",
                from.format("%Y-%m-%dT%H:%M:%S%.3f")
            ));
        }
        if let Some(to) = self.date_updated_to {
            conditions.push(format!(
                "exp_date_updated <= '{}'",
                to.format("%Y-%m-%dT%H:%M:%S%.3f")
            ));
        }
        let mut adql = String::from("SELECT *\nFROM obsportal.exposures");
        if !conditions.is_empty() {
            adql.push_str("\nWHERE ");
            adql.push_str(&conditions.join("\n  AND "));
        }
        adql.push_str("\nORDER BY exp_mjd_start");
        adql
    }
}

/// Conjunction of SQL templates whose `$?` become numbered parameters.
#[derive(Default)]
struct Condition {
    clauses: Vec<String>,
    parameters: Vec<SqlParameter>,
}

impl Condition {
    fn push(&mut self, template: &str, values: Vec<SqlParameter>) {
        let mut clause = String::new();
        let mut pieces = template.split("$?");
        clause.push_str(pieces.next().unwrap_or(""));
        for (piece, value) in pieces.zip(values) {
            self.parameters.push(value);
            clause.push_str(&format!("${}", self.parameters.len()));
            clause.push_str(piece);
        }
        self.clauses.push(clause);
    }

    fn finish(self) -> (String, Vec<SqlParameter>) {
        let sql = if self.clauses.is_empty() {
            "TRUE".to_string()
        } else {
            self.clauses.join(" AND ")
        };
        (sql, self.parameters)
    }
}

/// A finite number; Java's `Double.toString` forms (`1.0E-4`) included.
fn parse_number(name: &str, value: &str) -> Result<f64, SearchError> {
    match value.parse::<f64>() {
        Ok(number) if number.is_finite() => Ok(number),
        _ => Err(bad(name, value, "not a number")),
    }
}

/// Degrees as a decimal number, or sexagesimal `h:m:s` (right ascension, hours) /
/// `d:m:s` (declination, degrees), with colons or spaces.
fn parse_angle(name: &str, value: &str, hours: bool) -> Result<f64, SearchError> {
    if let Ok(number) = parse_number(name, value) {
        return Ok(number);
    }
    let parts: Vec<&str> = value.split([':', ' ']).filter(|p| !p.is_empty()).collect();
    let numbers: Option<Vec<f64>> = parts.iter().map(|p| p.parse::<f64>().ok()).collect();
    match numbers.as_deref() {
        Some([whole, minutes, seconds @ ..]) if seconds.len() <= 1 && parts.len() <= 3 => {
            let seconds = seconds.first().copied().unwrap_or(0.0);
            if !(0.0..60.0).contains(minutes) || !(0.0..60.0).contains(&seconds) {
                return Err(bad(
                    name,
                    value,
                    "minutes and seconds must be within [0, 60)",
                ));
            }
            let negative = parts[0].starts_with('-');
            let magnitude = whole.abs() + minutes / 60.0 + seconds / 3600.0;
            let degrees = if negative { -magnitude } else { magnitude };
            Ok(if hours { degrees * 15.0 } else { degrees })
        }
        _ => Err(bad(
            name,
            value,
            if hours {
                "expected degrees (e.g. 83.82) or hours:minutes:seconds (e.g. 05:35:17.3)"
            } else {
                "expected degrees (e.g. -5.39) or degrees:minutes:seconds (e.g. -05:23:28)"
            },
        )),
    }
}

/// An MJD, or a calendar date / date-time (UTC) turned into one.
fn parse_mjd(name: &str, value: &str) -> Result<f64, SearchError> {
    if let Ok(number) = value.parse::<f64>() {
        return if number.is_finite() {
            Ok(number)
        } else {
            Err(bad(name, value, "not a number"))
        };
    }
    let instant = NaiveDate::parse_from_str(value, "%Y-%m-%d")
        .map(|date| date.and_hms_opt(0, 0, 0).expect("midnight exists"))
        .or_else(|_| NaiveDateTime::parse_from_str(value, "%Y-%m-%dT%H:%M:%S%.f"))
        .or_else(|_| NaiveDateTime::parse_from_str(value, "%Y-%m-%d %H:%M:%S%.f"))
        .map_err(|_| {
            bad(
                name,
                value,
                "expected an MJD (e.g. 58857.5) or a date (e.g. 2020-01-09)",
            )
        })?;
    Ok(crate::mjd::from_datetime(instant.and_utc()))
}

/// ISO 8601 with a timezone (`2021-01-01T00:00:00+00:00`, `...Z`, or a space for the `T`).
fn parse_instant(name: &str, value: &str) -> Result<DateTime<Utc>, SearchError> {
    // A '+' in a query string that was not percent-encoded arrives as a space.
    let normalised = match value.rsplit_once(' ') {
        Some((date, zone))
            if zone.len() == 5 && zone.contains(':') && date.contains(['T', ' ']) =>
        {
            format!("{date}+{zone}")
        }
        _ => value.to_string(),
    };
    DateTime::parse_from_rfc3339(&normalised.replacen(' ', "T", 1))
        .map(|instant| instant.with_timezone(&Utc))
        .map_err(|_| {
            bad(
                name,
                value,
                "expected ISO 8601 with a timezone, e.g. 2021-01-01T00:00:00+00:00",
            )
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(list: &[(&str, &str)]) -> Parameters {
        Parameters(
            list.iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        )
    }

    #[test]
    fn reads_aspro2_requests_with_java_number_forms() {
        let search = Search::from_parameters(&pairs(&[
            ("ra", "1.0E-4"),
            ("dec", "-45.5"),
            ("radius", "30.0"),
            ("all_fields", "false"),
        ]))
        .unwrap();
        assert_eq!(
            search.cone,
            Some(Cone {
                ra: 1.0e-4,
                dec: -45.5,
                radius_arcsec: 30.0
            })
        );
        let (sql, parameters) = search.condition();
        assert_eq!(
            sql,
            "spoint(radians(target_ra), radians(target_dec)) @ (SELECT scircle(spoint(radians($1::float8), radians($2::float8)), radians($3::float8 / 3600)))"
        );
        assert_eq!(parameters.len(), 3);
    }

    #[test]
    fn reads_sexagesimal_dates_and_instants() {
        let search = Search::from_parameters(&pairs(&[
            ("ra", "05:35:17.3"),
            ("dec", "-05 23 28"),
            ("mjd_from", "2020-01-09"),
            ("mjd_to", "58900"),
            ("date_updated_from", "2021-01-01T00:00:00+00:00"),
            ("date_updated_to", "2021-01-02 00:00:00 01:00"),
            ("target", "HD 45677"),
        ]))
        .unwrap();
        let cone = search.cone.unwrap();
        assert!((cone.ra - 83.822083).abs() < 1e-5 && (cone.dec + 5.391111).abs() < 1e-5);
        assert_eq!(cone.radius_arcsec, DEFAULT_RADIUS_ARCSEC);
        assert_eq!(search.mjd_from, Some(58857.0));
        assert_eq!(
            search.date_updated_to.unwrap().to_rfc3339(),
            "2021-01-01T23:00:00+00:00"
        );
        let (sql, parameters) = search.condition();
        assert!(
            sql.ends_with(
                "lower(target_name) = lower($4::text) AND exp_mjd_start >= $5::float8 AND exp_mjd_start <= $6::float8 \
                 AND exp_date_updated >= $7::timestamptz AND exp_date_updated <= $8::timestamptz"
            ),
            "{sql}"
        );
        assert_eq!(parameters.len(), 8);
    }

    #[test]
    fn the_adql_equivalent_quotes_what_the_visitor_typed() {
        let search = Search::from_parameters(&pairs(&[
            ("ra", "10"),
            ("dec", "-20"),
            ("radius", "30"),
            ("target", "O'Hara"),
            ("mjd_from", "58000"),
        ]))
        .unwrap();
        assert_eq!(
            search.to_adql(),
            "SELECT *\nFROM obsportal.exposures\nWHERE CONTAINS(POINT('ICRS', target_ra, target_dec), CIRCLE('ICRS', 10, -20, 30 / 3600.0)) = 1\n  \
             AND LOWER(target_name) = LOWER('O''Hara')\n  AND exp_mjd_start >= 58000\nORDER BY exp_mjd_start"
        );
        assert_eq!(
            Search::default().to_adql(),
            "SELECT *\nFROM obsportal.exposures\nORDER BY exp_mjd_start"
        );
    }

    #[test]
    fn empty_form_fields_are_absent_and_bad_values_are_named() {
        assert_eq!(
            Search::from_parameters(&pairs(&[("ra", ""), ("instrument", " ")])).unwrap(),
            Search::default()
        );
        for (list, expected) in [
            (vec![("ra", "abc"), ("dec", "1")], "ra=\"abc\""),
            (vec![("ra", "400"), ("dec", "1")], "within [0, 360]"),
            (vec![("ra", "10")], "needs both ra and dec"),
            (
                vec![("ra", "10"), ("dec", "1"), ("radius", "-3")],
                "must be positive",
            ),
            (vec![("mjd_from", "yesterday")], "expected an MJD"),
            (vec![("mjd_from", "59000"), ("mjd_to", "58000")], "is after"),
            (vec![("date_updated_from", "2021-01-01")], "with a timezone"),
        ] {
            let message = Search::from_parameters(&pairs(&list))
                .unwrap_err()
                .to_string();
            assert!(message.contains(expected), "{list:?}: {message}");
        }
    }
}
