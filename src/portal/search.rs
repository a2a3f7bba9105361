//! What a search asks for (the ObsPortal API's parameters, also the web form's), checked,
//! and the query it becomes (`adql::build`, run on the one query path like any ADQL).

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};

use adql::build::{Argument, Condition, Cone as BuiltCone, Query, Value};

use crate::http::Parameters;

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

impl From<SearchError> for crate::http::ServiceError {
    fn from(error: SearchError) -> Self {
        crate::http::ServiceError::BadRequest(error.to_string())
    }
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
    /// Stations the configuration includes (all of them), e.g. A0 G1 J2 J3.
    pub stations: Vec<String>,
    /// Hour angle at the start [h]: from, to (through 12 when from > to).
    pub hour_angle: Option<(f64, f64)>,
    /// Local sidereal time at the start [h]: from, to (through 0 when from > to).
    pub sidereal_time: Option<(f64, f64)>,
    /// A baseline of this length [m] at this position angle [deg, modulo 180], at the start or
    /// end of the exposure.
    pub baseline: Option<BaselineRange>,
    /// Seeing at most [arcsec].
    pub seeing_max: Option<f64>,
    /// Coherence time at least [s] (the parameter is in ms, as astronomers quote it).
    pub tau0_min: Option<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BaselineRange {
    pub length: (f64, f64),
    pub angle: (f64, f64),
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
        let number = |name: &str| value(name).map(|v| parse_number(name, &v)).transpose();
        let range = |from: &str, to: &str, limits: (f64, f64)| -> Result<_, SearchError> {
            let (low, high) = (number(from)?, number(to)?);
            for (name, given) in [(from, low), (to, high)] {
                if given.is_some_and(|v| !(limits.0..=limits.1).contains(&v)) {
                    return Err(bad(
                        name,
                        &value(name).unwrap_or_default(),
                        format!("must be within [{}, {}] hours", limits.0, limits.1),
                    ));
                }
            }
            Ok(match (low, high) {
                (None, None) => None,
                (low, high) => Some((low.unwrap_or(limits.0), high.unwrap_or(limits.1))),
            })
        };
        let hour_angle = range("ha_from", "ha_to", (-12.0, 12.0))?;
        let sidereal_time = range("lst_from", "lst_to", (0.0, 24.0))?;
        let stations = match value("stations") {
            None => Vec::new(),
            Some(text) => {
                let names: Vec<String> = text
                    .split([' ', ',', '-'])
                    .filter(|name| !name.is_empty())
                    .map(str::to_ascii_uppercase)
                    .collect();
                if names.is_empty()
                    || names
                        .iter()
                        .any(|name| !name.chars().all(|c| c.is_ascii_alphanumeric()))
                {
                    return Err(bad(
                        "stations",
                        &text,
                        "expected station names separated by spaces, e.g. A0 G1 J2 J3",
                    ));
                }
                names
            }
        };
        let lengths = (number("baseline_min")?, number("baseline_max")?);
        let angles = (number("angle_min")?, number("angle_max")?);
        let baseline = match (lengths, angles) {
            ((None, None), (None, None)) => None,
            ((low, high), (from, to)) => {
                let length = (low.unwrap_or(0.0), high.unwrap_or(1.0e6));
                if length.0 < 0.0 || length.0 > length.1 {
                    return Err(SearchError::Inconsistent(format!(
                        "baseline_min ({}) must be at least 0 and at most baseline_max ({}) [m]",
                        length.0, length.1
                    )));
                }
                let angle = (
                    from.unwrap_or(0.0),
                    to.unwrap_or(from.unwrap_or(0.0) + 180.0),
                );
                Some(BaselineRange { length, angle })
            }
        };
        let seeing_max = number("seeing_max")?;
        let tau0_min = number("tau0_min")?.map(|ms| ms / 1000.0);
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
            stations,
            hour_angle,
            sidereal_time,
            baseline,
            seeing_max,
            tau0_min,
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
            stations,
            hour_angle,
            sidereal_time,
            baseline,
            seeing_max,
            tau0_min,
        } = self;
        stations.is_empty()
            && hour_angle.is_none()
            && sidereal_time.is_none()
            && baseline.is_none()
            && seeing_max.is_none()
            && tau0_min.is_none()
            && cone.is_none()
            && interferometer.is_none()
            && instrument_submode.is_none()
            && program_id.is_none()
            && target.is_none()
            && mjd_from.is_none()
            && mjd_to.is_none()
            && date_updated_from.is_none()
            && date_updated_to.is_none()
    }

    /// The cone, over the published tables' `target_ra` and `target_dec`.
    pub fn cone_condition(&self) -> Option<Condition> {
        self.cone.map(|cone| {
            Condition::InCone(BuiltCone {
                ra_column: "target_ra".into(),
                dec_column: "target_dec".into(),
                ra: cone.ra,
                dec: cone.dec,
                radius: cone.radius_arcsec / 3600.0,
            })
        })
    }

    /// The search as a query over `obsportal.exposures` returning `columns` (all for none),
    /// to be ordered, bounded and run on the one query path.
    pub fn query<S: Into<String>>(&self, columns: impl IntoIterator<Item = S>) -> Query {
        let mut query = Query::select("obsportal.exposures", columns);
        if let Some(condition) = self.cone_condition() {
            query = query.filter(condition);
        }
        for (column, value) in [
            ("interferometer_name", &self.interferometer),
            ("instrument_name", &self.instrument),
            ("instrument_mode", &self.instrument_mode),
            ("instrument_submode", &self.instrument_submode),
            ("obs_program", &self.program_id),
        ] {
            if let Some(value) = value {
                query = query.filter(Condition::Equal(column.into(), Value::Text(value.clone())));
            }
        }
        if let Some(target) = &self.target {
            query = query.filter(Condition::EqualIgnoringCase(
                "target_name".into(),
                target.clone(),
            ));
        }
        // Numeric bounds: (column, at least, at most).
        for (column, low, high) in [
            ("exp_mjd_start", self.mjd_from, self.mjd_to),
            ("exp_seeing", None, self.seeing_max),
            ("exp_tau0", self.tau0_min, None),
        ] {
            if let Some(low) = low {
                query = query.filter(Condition::AtLeast(column.into(), Value::Number(low)));
            }
            if let Some(high) = high {
                query = query.filter(Condition::AtMost(column.into(), Value::Number(high)));
            }
        }
        let instant =
            |at: DateTime<Utc>| Value::Timestamp(at.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string());
        if let Some(from) = self.date_updated_from {
            query = query.filter(Condition::AtLeast("exp_date_updated".into(), instant(from)));
        }
        if let Some(to) = self.date_updated_to {
            query = query.filter(Condition::AtMost("exp_date_updated".into(), instant(to)));
        }
        for station in &self.stations {
            query = query.filter(Condition::HasWord(
                "interferometer_stations".into(),
                station.clone(),
            ));
        }
        for (column, window) in [
            ("exp_ha_start", self.hour_angle),
            ("exp_lst_start", self.sidereal_time),
        ] {
            for condition in window.map_or_else(Vec::new, |window| in_window(column, window)) {
                query = query.filter(condition);
            }
        }
        if let Some(BaselineRange { length, angle }) = self.baseline {
            let uv = ["u_start", "v_start", "u_end", "v_end"].map(|c| Argument::Column(c.into()));
            let ranges = [length.0, length.1, angle.0, angle.1].map(Argument::Number);
            let baselines =
                Query::select("obsportal.baselines", ["exp_id"]).filter(Condition::Holds(
                    "OBSPORTAL_UV_SECTOR".into(),
                    uv.into_iter().chain(ranges).collect(),
                ));
            query = query.filter(Condition::In("exp_id".into(), Box::new(baselines)));
        }
        query
    }
}

/// A column's value within a window of a circular quantity (hours of sidereal time or hour
/// angle): from..to, or through the wrap when from > to (22 to 2 is 22..24 and 0..2).
fn in_window(column: &str, (from, to): (f64, f64)) -> Vec<Condition> {
    let at_least = Condition::AtLeast(column.into(), Value::Number(from));
    let at_most = Condition::AtMost(column.into(), Value::Number(to));
    if from <= to {
        vec![at_least, at_most]
    } else {
        vec![Condition::AnyOf(vec![at_least, at_most])]
    }
}

/// A finite number; Java's `Double.toString` forms (`1.0E-4`) included.
pub(super) fn parse_number(name: &str, value: &str) -> Result<f64, SearchError> {
    match value.parse::<f64>() {
        Ok(number) if number.is_finite() => Ok(number),
        _ => Err(bad(name, value, "not a number")),
    }
}

/// Degrees as a decimal number, or sexagesimal `h:m:s` (right ascension, hours) /
/// `d:m:s` (declination, degrees), with colons or spaces.
pub(super) fn parse_angle(name: &str, value: &str, hours: bool) -> Result<f64, SearchError> {
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
        Parameters::new(
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
        assert!(search
            .query(["exp_id"])
            .to_string()
            .contains("CIRCLE(0.0001, -45.5, 0.008333333333333333)) = 1"));
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
        assert!(
            search.query(["exp_id"]).to_string().ends_with(
                "AND LOWER(target_name) = LOWER('HD 45677')\n  AND exp_mjd_start >= 58857\n  \
                 AND exp_mjd_start <= 58900\n  AND exp_date_updated >= '2021-01-01T00:00:00.000000Z'\n  \
                 AND exp_date_updated <= '2021-01-01T23:00:00.000000Z'"
            ),
            "{}",
            search.query(["exp_id"])
        );
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
            search.query(Vec::<String>::new()).to_string(),
            "SELECT *\nFROM obsportal.exposures\nWHERE CONTAINS(POINT(target_ra, target_dec), CIRCLE(10, -20, 0.008333333333333333)) = 1\n  \
             AND LOWER(target_name) = LOWER('O''Hara')\n  AND exp_mjd_start >= 58000"
        );
        assert_eq!(
            Search::default().query(["exp_id"]).to_string(),
            "SELECT exp_id\nFROM obsportal.exposures"
        );
    }

    #[test]
    fn reads_configuration_time_baseline_and_condition_filters() {
        let search = Search::from_parameters(&pairs(&[
            ("stations", "a0-G1 j2,J3"),
            ("ha_from", "-1.5"),
            ("ha_to", "2"),
            ("lst_from", "22"),
            ("lst_to", "2"),
            ("baseline_min", "100"),
            ("baseline_max", "130"),
            ("angle_min", "30"),
            ("angle_max", "60"),
            ("seeing_max", "0.8"),
            ("tau0_min", "5"),
        ]))
        .unwrap();
        assert_eq!(search.stations, ["A0", "G1", "J2", "J3"]);
        assert!(!search.only_by_instrument_and_mode());
        let text = search.query(["exp_id"]).to_string();
        for expected in [
            "' ' || interferometer_stations || ' ' LIKE '% G1 %'",
            "exp_ha_start >= -1.5\n  AND exp_ha_start <= 2",
            "(exp_lst_start >= 22 OR exp_lst_start <= 2)",
            "exp_id IN (\n  SELECT exp_id\n  FROM obsportal.baselines\n  \
             WHERE OBSPORTAL_UV_SECTOR(u_start, v_start, u_end, v_end, 100, 130, 30, 60) = 1\n)",
            "exp_seeing <= 0.8",
            "exp_tau0 >= 0.005",
        ] {
            assert!(text.contains(expected), "{expected}\n{text}");
        }
        // A length alone is at any angle; an angle alone at any length.
        let only_length = Search::from_parameters(&pairs(&[("baseline_min", "120")])).unwrap();
        assert_eq!(
            only_length.baseline,
            Some(BaselineRange {
                length: (120.0, 1.0e6),
                angle: (0.0, 180.0)
            })
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
            (vec![("ha_from", "13")], "within [-12, 12] hours"),
            (vec![("lst_to", "25")], "within [0, 24] hours"),
            (vec![("stations", "A0;J3")], "station names"),
            (
                vec![("baseline_min", "130"), ("baseline_max", "100")],
                "at most baseline_max",
            ),
        ] {
            let message = Search::from_parameters(&pairs(&list))
                .unwrap_err()
                .to_string();
            assert!(message.contains(expected), "{list:?}: {message}");
        }
    }
}
