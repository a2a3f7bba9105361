//! From one raw header to an exposure, or to the reason it is not one.
//! "Observation is not acquisition": only science and calibrator interferometric frames of an
//! object are exposures; acquisitions, skies, darks, flats, wavelength calibrations and tests
//! are recorded with the reason they were left out.

use chrono::{DateTime, Months, Utc};
use serde_json::{json, Map, Value};

use super::fits::Header;
use super::instruments::{render_template, Instruments};

/// What one header becomes.
#[derive(Debug)]
pub(crate) enum Verdict {
    Accepted(Box<Exposure>),
    Dropped(String),
}

/// Everything the exposure table holds that comes from its header.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Exposure {
    pub(crate) id: String,
    pub(crate) interferometer: String,
    pub(crate) instrument_name: String,
    pub(crate) instrument_mode: Option<String>,
    pub(crate) instrument_submode: Option<String>,
    pub(crate) em_min: Option<f64>,
    pub(crate) em_max: Option<f64>,
    pub(crate) em_res_power: Option<f64>,
    pub(crate) program_id: Option<String>,
    pub(crate) pi_coi: Option<String>,
    pub(crate) ob_id: Option<i64>,
    pub(crate) obs_type: &'static str,
    pub(crate) target_name: String,
    pub(crate) ra: f64,
    pub(crate) dec: f64,
    pub(crate) mjd_start: f64,
    pub(crate) mjd_end: Option<f64>,
    pub(crate) exptime: Option<f64>,
    pub(crate) stations: Option<String>,
    /// `{"U1-U2": {"length": {"start": .., "end": ..}, "angle": {..}} | null, ..}`
    pub(crate) projected_baselines: Option<Value>,
    /// The same in the string form ASPRO2 parses.
    pub(crate) projected_baselines_text: Option<String>,
    pub tau0: Option<f64>,
    pub(crate) temperature: Option<f64>,
    pub(crate) seeing: Option<f64>,
    pub(crate) validation_level: i16,
    pub(crate) validation_log: Vec<String>,
    pub(crate) date_release: Option<DateTime<Utc>>,
}

const ARCFILE: &str = "ARCFILE";
const DPR_CATG: &str = "HIERARCH ESO DPR CATG";
const DPR_TYPE: &str = "HIERARCH ESO DPR TYPE";
const DPR_TECH: &str = "HIERARCH ESO DPR TECH";
const NTEL: &str = "HIERARCH ESO ISS CONF NTEL";
const EXPTIME: &str = "EXPTIME";
const SEEING: [&str; 2] = [
    "HIERARCH ESO ISS AMBI FWHM START",
    "HIERARCH ESO ISS AMBI FWHM END",
];
const TAU0: [&str; 2] = [
    "HIERARCH ESO ISS AMBI TAU0 START",
    "HIERARCH ESO ISS AMBI TAU0 END",
];
const TEMPERATURE: &str = "HIERARCH ESO ISS AMBI TEMP";
/// The most stations any VLTI instrument combines (MATISSE and GRAVITY: 4).
const MAX_STATIONS: usize = 4;

/// The DP.ID of a header: its ARCFILE without the `.fits` extension.
pub(crate) fn dp_id(header: &Header) -> Option<String> {
    let arcfile = header.text(ARCFILE)?;
    let id = arcfile.strip_suffix(".fits").unwrap_or(arcfile);
    Some(id.to_string())
}

pub(crate) fn derive(dp_id: &str, header: &Header, instruments: &Instruments) -> Verdict {
    match check_is_exposure(header, instruments) {
        Err(reason) => Verdict::Dropped(reason),
        Ok(obs_type) => match build_exposure(dp_id, header, instruments, obs_type) {
            Ok(exposure) => Verdict::Accepted(Box::new(exposure)),
            Err(reason) => Verdict::Dropped(reason),
        },
    }
}

/// `Ok(obs_type)` for an interferometric science or calibrator frame of an object;
/// otherwise the reason, as a short word the import summary counts by.
fn check_is_exposure(header: &Header, instruments: &Instruments) -> Result<&'static str, String> {
    let instrument = header.text("INSTRUME").unwrap_or("");
    if instruments.get(instrument).is_none() {
        return Err("not an interferometric instrument".into());
    }
    let obs_type = match header.text(DPR_CATG) {
        Some("SCIENCE") => "science",
        Some("CALIB") => "calibrator",
        Some(other) => return Err(other.to_ascii_lowercase()),
        None => return Err("no DPR CATG".into()),
    };
    let kind = header
        .text(DPR_TYPE)
        .map(|t| t.split(',').next().unwrap_or("").trim().to_string());
    match kind.as_deref() {
        Some("OBJECT" | "STD" | "STAR") => {}
        Some("") | None => return Err("no DPR TYPE".into()),
        Some(other) => return Err(other.to_ascii_lowercase()),
    }
    if !header
        .text(DPR_TECH)
        .is_some_and(|tech| tech.contains("INTERFEROMETRY"))
    {
        return Err("not interferometric".into());
    }
    Ok(obs_type)
}

fn build_exposure(
    dp_id: &str,
    header: &Header,
    instruments: &Instruments,
    obs_type: &'static str,
) -> Result<Exposure, String> {
    let instrument = instruments
        .get(header.text("INSTRUME").unwrap_or(""))
        .expect("checked before");
    let mjd_start = header.number("MJD-OBS").ok_or("no MJD-OBS")?;
    let (Some(ra), Some(dec)) = (header.number("RA"), header.number("DEC")) else {
        return Err("no position".into());
    };
    let mut log = ValidationLog::default();

    let instrument_mode = render_template(&instrument.mode, header)
        .map_err(|keys| log.missing_all(&keys))
        .ok();
    let instrument_submode = instrument.submode.as_deref().and_then(|template| {
        render_template(template, header)
            .map_err(|keys| log.missing_all(&keys))
            .ok()
    });
    let mode_info = instrument_mode
        .as_deref()
        .and_then(|name| instrument.mode_info(name));

    let exptime = log.positive(header, EXPTIME, true);
    let stations = read_stations(header, &mut log);
    let (baselines, baselines_text) = match &stations {
        Some(stations) => {
            let (json, text) = read_baselines(header, stations, &mut log);
            (Some(json), Some(text))
        }
        None => (None, None),
    };
    let seeing = mean(SEEING.map(|key| log.positive(header, key, false)));
    let tau0 = mean(TAU0.map(|key| log.positive(header, key, false)));
    let temperature = header.number(TEMPERATURE).or_else(|| {
        log.missing(TEMPERATURE, false);
        None
    });

    Ok(Exposure {
        id: format!("{dp_id}_1"),
        interferometer: instrument.interferometer.clone(),
        instrument_name: instrument.name.clone(),
        em_min: mode_info.map(|m| m.em_min),
        em_max: mode_info.map(|m| m.em_max),
        em_res_power: mode_info.map(|m| m.res_power),
        instrument_mode,
        instrument_submode,
        program_id: header.text("HIERARCH ESO OBS PROG ID").map(str::to_string),
        pi_coi: header
            .text("HIERARCH ESO OBS PI-COI NAME")
            .map(str::to_string),
        ob_id: header.number("HIERARCH ESO OBS ID").map(|id| id as i64),
        obs_type,
        target_name: header
            .text("HIERARCH ESO OBS TARG NAME")
            .or_else(|| header.text("OBJECT"))
            .unwrap_or("unnamed")
            .to_string(),
        ra,
        dec,
        mjd_start,
        mjd_end: exptime.map(|seconds| mjd_start + seconds / 86_400.0),
        exptime,
        stations: stations.map(|list| list.join(" ")),
        projected_baselines: baselines,
        projected_baselines_text: baselines_text,
        tau0,
        temperature,
        seeing,
        validation_level: log.level(),
        validation_log: log.messages,
        date_release: release_date(mjd_start),
    })
}

/// Messages about what a header lacks, and how bad that is.
#[derive(Default)]
struct ValidationLog {
    messages: Vec<String>,
    configuration_missing: bool,
    weather_missing: bool,
}

impl ValidationLog {
    /// `configuration`: stations, baselines, exposure time (level 0 when missing);
    /// otherwise weather (level 1).
    fn missing(&mut self, key: &str, configuration: bool) {
        self.messages.push(format!("Missing '{key}'"));
        if configuration {
            self.configuration_missing = true;
        } else {
            self.weather_missing = true;
        }
    }

    fn missing_all(&mut self, keys: &[String]) {
        for key in keys {
            self.missing(key, true);
        }
    }

    /// A strictly positive number; ESO writes -1 or 0 where a sensor gave nothing.
    fn positive(&mut self, header: &Header, key: &str, configuration: bool) -> Option<f64> {
        match header.number(key) {
            Some(value) if value > 0.0 => Some(value),
            Some(value) => {
                self.messages.push(format!("Invalid '{key}' = {value}"));
                if configuration {
                    self.configuration_missing = true;
                } else {
                    self.weather_missing = true;
                }
                None
            }
            None => {
                self.missing(key, configuration);
                None
            }
        }
    }

    fn level(&self) -> i16 {
        match (self.configuration_missing, self.weather_missing) {
            (true, _) => 0,
            (false, true) => 1,
            (false, false) => 2,
        }
    }
}

/// Stations in ISS CONF order; UT stations are written U1..U4 as ASPRO2 names them.
fn read_stations(header: &Header, log: &mut ValidationLog) -> Option<Vec<String>> {
    let count = match header.number(NTEL) {
        Some(n) if n >= 1.0 => (n as usize).min(MAX_STATIONS),
        _ => {
            log.missing(NTEL, true);
            (1..=MAX_STATIONS)
                .take_while(|i| {
                    header
                        .text(&format!("HIERARCH ESO ISS CONF STATION{i}"))
                        .is_some()
                })
                .count()
        }
    };
    let mut stations = Vec::with_capacity(count);
    for i in 1..=count {
        let key = format!("HIERARCH ESO ISS CONF STATION{i}");
        match header.text(&key) {
            Some(station) => stations.push(normalise_station(station)),
            None => {
                log.missing(&key, true);
                return None;
            }
        }
    }
    (!stations.is_empty()).then_some(stations)
}

fn normalise_station(station: &str) -> String {
    let station = station.trim().to_ascii_uppercase();
    match station.strip_prefix("UT") {
        Some(number) if number.len() == 1 => format!("U{number}"),
        _ => station,
    }
}

/// Projected baselines per station pair (i < j in station order): lengths [m] and angles [deg]
/// at start and end, as JSON and as the ObsPortal string.
fn read_baselines(
    header: &Header,
    stations: &[String],
    log: &mut ValidationLog,
) -> (Value, String) {
    let mut json = Map::new();
    let mut text = Vec::new();
    for i in 0..stations.len() {
        for j in i + 1..stations.len() {
            let pair = format!("{}-{}", stations[i], stations[j]);
            let mut read = |what: &str, at: &str| {
                let key = format!("HIERARCH ESO ISS {what}{}{} {at}", i + 1, j + 1);
                header.number(&key).or_else(|| {
                    log.missing(&key, true);
                    None
                })
            };
            let values = [
                read("PBL", "START"),
                read("PBL", "END"),
                read("PBLA", "START"),
                read("PBLA", "END"),
            ];
            if values.iter().all(Option::is_none) {
                json.insert(pair.clone(), Value::Null);
                text.push(format!("'{pair}': None"));
                continue;
            }
            let [length_start, length_end, angle_start, angle_end] = values;
            json.insert(
                pair.clone(),
                json!({"length": {"start": length_start, "end": length_end},
                       "angle": {"start": angle_start, "end": angle_end}}),
            );
            let show =
                |value: Option<f64>| value.map_or("None".to_string(), |v| format!("'{v:.4}'"));
            text.push(format!(
                "'{pair}': {{'length': {{'start': {}, 'end': {}}}, 'angle': {{'start': {}, 'end': {}}}}}",
                show(length_start),
                show(length_end),
                show(angle_start),
                show(angle_end)
            ));
        }
    }
    (Value::Object(json), format!("{{{}}}", text.join(", ")))
}

fn mean<const N: usize>(values: [Option<f64>; N]) -> Option<f64> {
    let present: Vec<f64> = values.into_iter().flatten().collect();
    (!present.is_empty()).then(|| present.iter().sum::<f64>() / present.len() as f64)
}

/// ESO's standard proprietary period: one year after the observation.
fn release_date(mjd_start: f64) -> Option<DateTime<Utc>> {
    crate::mjd::to_datetime(mjd_start)?.checked_add_months(Months::new(12))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stations_are_written_as_aspro2_names_them() {
        assert_eq!(normalise_station("UT1"), "U1");
        assert_eq!(normalise_station(" a0 "), "A0");
        assert_eq!(normalise_station("U4"), "U4");
    }

    #[test]
    fn release_is_a_year_after_the_exposure() {
        assert_eq!(
            release_date(58857.5).unwrap().to_rfc3339(),
            "2021-01-09T12:00:00+00:00"
        );
    }

    #[test]
    fn mean_ignores_missing_values() {
        assert_eq!(mean([Some(1.0), None]), Some(1.0));
        assert_eq!(mean([Some(1.0), Some(2.0)]), Some(1.5));
        assert_eq!(mean::<2>([None, None]), None);
    }
}
