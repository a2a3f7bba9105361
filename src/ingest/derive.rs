//! From one header to an exposure, or to the reason it is not one.
//! "Observation is not acquisition": only science and calibrator interferometric frames of an
//! object are exposures; acquisitions, skies, darks, flats, wavelength calibrations, tests and
//! MATISSE's remanence recordings are recorded with the reason they were left out.
//!
//! The rules follow real headers (`shared/reference/eso-headers/README.md`): raw frames carry
//! `DPR CATG/TYPE/TECH`; GRAVITY and MATISSE pipeline products strip them and are judged by
//! their template and `PRO CATG`; negative or zero seeing, tau0 and OB ids are placeholders.

use chrono::{DateTime, Months, Utc};
use serde_json::Value;

use super::baselines::{read_baselines, Pointing};
use super::chara_raw;
use super::fits::Header;
use super::instruments::{Instrument, Instruments, Naming};
use crate::geometry::Sky;

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
    /// Sidereal time, hour angle and airmass at start and end, where the site is known.
    pub(crate) sky: [Option<Sky>; 2],
}

const ARCFILE: &str = "ARCFILE";
const DPR_CATG: &str = "HIERARCH ESO DPR CATG";
const DPR_TYPE: &str = "HIERARCH ESO DPR TYPE";
const DPR_TECH: &str = "HIERARCH ESO DPR TECH";
const PRO_CATG: &str = "HIERARCH ESO PRO CATG";
const TPL_ID: &str = "HIERARCH ESO TPL ID";
/// Written by the CHARA log reader for each row (`sources::chara_log`).
const CHARA_TYPE: &str = "CHARA TYPE";
/// A log row's one instant: it never gives an integration time.
const CHARA_LOG_INSTANT: &str = "CHARA MJD";
const NTEL: &str = "HIERARCH ESO ISS CONF NTEL";
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

/// The DP.ID of a header: its ARCFILE without the `.fits` extension. Some pipeline products
/// lost their ARCFILE (PIONIER's, 2012); ESO names a raw file by the instrument's prefix and its
/// DATE-OBS to the millisecond, so that is rebuilt for a known instrument.
/// What one header becomes, read in its instrument's dialect (`chara_raw`): its DP.ID (none:
/// the header cannot be named) and its verdict.
pub(crate) fn read(header: &Header, instruments: &Instruments) -> Option<(String, Verdict)> {
    let dialect = chara_raw::dialect(header, instruments);
    let header = chara_raw::adapted(header, dialect);
    let dp_id = dp_id(&header, instruments)?;
    let mut verdict = derive(&dp_id, &header, instruments);
    if let Verdict::Accepted(exposure) = &mut verdict {
        let log = std::mem::take(&mut exposure.validation_log);
        exposure.validation_log = log
            .into_iter()
            .map(|message| chara_raw::as_written(message, dialect))
            .collect();
    }
    Some((dp_id, verdict))
}

fn dp_id(header: &Header, instruments: &Instruments) -> Option<String> {
    if let Some(arcfile) = header.text(ARCFILE) {
        let id = arcfile.strip_suffix(".fits").unwrap_or(arcfile);
        return Some(id.to_string());
    }
    let instrument = instruments.get(header.text("INSTRUME")?)?;
    let date = header.text("DATE-OBS")?;
    let (seconds, fraction) = date.split_once('.').unwrap_or((date, ""));
    if seconds.len() != "2012-02-17T03:31:15".len() || !fraction.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    let millis: String = fraction.chars().chain("000".chars()).take(3).collect();
    Some(format!("{}.{seconds}.{millis}", instrument.arcfile_prefix))
}

fn derive(dp_id: &str, header: &Header, instruments: &Instruments) -> Verdict {
    let Some(instrument) = instruments.get(header.text("INSTRUME").unwrap_or("")) else {
        return Verdict::Dropped("not an interferometric instrument".into());
    };
    let classified = match (header.text(DPR_CATG), header.text(CHARA_TYPE)) {
        (Some(category), _) => classify_raw(header, instrument, category),
        (None, Some(kind)) => classify_chara_log(kind),
        (None, None) => classify_product(header),
    };
    match classified {
        Err(reason) => Verdict::Dropped(reason),
        Ok(obs_type) => match build_exposure(dp_id, header, instrument, obs_type) {
            Ok(exposure) => Verdict::Accepted(Box::new(exposure)),
            Err(reason) => Verdict::Dropped(reason),
        },
    }
}

/// A raw frame, by its DPR keywords: `Ok(obs_type)` for an interferometric science or
/// calibrator frame of an object; otherwise the reason, a short word the summary counts by.
fn classify_raw(
    header: &Header,
    instrument: &Instrument,
    category: &str,
) -> Result<&'static str, String> {
    let obs_type = match category {
        "SCIENCE" => "science",
        "CALIB" => "calibrator",
        other => return Err(other.to_ascii_lowercase()),
    };
    let kind = header.text(DPR_TYPE).ok_or("no DPR TYPE")?;
    let parts: Vec<&str> = kind.split(',').map(str::trim).collect();
    // MATISSE records its detectors' remanence around an observation: OBJECT,RMNREC.
    if parts.contains(&"RMNREC") {
        return Err("remanence".into());
    }
    if parts.contains(&"SKY") {
        return Err("sky".into());
    }
    // OBJECT (AMBER, GRAVITY's OBJECT,SINGLE), FRINGE,OBJECT / FRINGE,STD (PIONIER from 2014),
    // TRACK,OBJECT,DISPERSED and FRINGE_TRACK,OBJECT,FOURIER (MIDI).
    let of_a_star = |part: &str| matches!(part, "OBJECT" | "STD" | "STAR");
    let fringes = match parts.as_slice() {
        [first, ..] if of_a_star(first) => true,
        ["FRINGE" | "TRACK" | "FRINGE_TRACK", second, ..] => of_a_star(second),
        _ => false,
    };
    if !fringes {
        return Err(parts[0].to_ascii_lowercase());
    }
    let tech = header.text(DPR_TECH).unwrap_or("");
    if !tech
        .split(',')
        .any(|t| instrument.techniques.iter().any(|known| known == t.trim()))
    {
        return Err("not interferometric".into());
    }
    Ok(obs_type)
}

/// A row of a CHARA observation log (see `sources::chara_log`): OBJ is a science target,
/// CAL1/CAL2 calibrators, CHK a check star observed to verify the calibration (a calibrator
/// too); UNKNO says nothing an astronomer could use.
fn classify_chara_log(kind: &str) -> Result<&'static str, String> {
    match kind {
        "OBJ" => Ok("science"),
        "CAL1" | "CAL2" | "CHK" => Ok("calibrator"),
        "UNKNO" => Err("unknown type".into()),
        other => Err(other.to_ascii_lowercase()),
    }
}

/// A pipeline product whose DPR cards were stripped (GRAVITY, MATISSE): an exposure when its
/// template is an observation's; calibrators show in `OBJECT = 'STD'` (MATISSE) or in the
/// product's category (GRAVITY's `..._CAL_VIS...`, `CALIB_...`).
fn classify_product(header: &Header) -> Result<&'static str, String> {
    let Some(product) = header.text(PRO_CATG) else {
        return Err("no DPR CATG".into());
    };
    let template = header.text(TPL_ID).unwrap_or("");
    if !template.to_ascii_lowercase().contains("_obs") {
        return Err("not an observation".into());
    }
    let calibrator = header.text("OBJECT") == Some("STD")
        || product.starts_with("CALIB")
        || product.contains("CAL_VIS");
    Ok(if calibrator { "calibrator" } else { "science" })
}

fn build_exposure(
    dp_id: &str,
    header: &Header,
    instrument: &Instrument,
    obs_type: &'static str,
) -> Result<Exposure, String> {
    let mjd_start = header.number("MJD-OBS").ok_or("no MJD-OBS")?;
    let (Some(ra), Some(dec)) = (header.number("RA"), header.number("DEC")) else {
        // CHARA logs name stars without positions: placed from a positions table, never guessed.
        if header.text(CHARA_TYPE).is_some() {
            return Err("no position for the star's name".into());
        }
        return Err("no position".into());
    };
    let mut log = ValidationLog::default();

    let instrument_mode = log.named(instrument.mode(header));
    let instrument_submode = log.named(instrument.submode(header));
    let mode_info = instrument_mode
        .as_deref()
        .and_then(|name| instrument.mode_info(name));

    // Sources that never give one (CHARA's logs: an instant per observation) are not faulted.
    let exptime = instrument.duration(header).or_else(|| {
        if !instrument.duration.is_empty() && header.text(CHARA_LOG_INSTANT).is_none() {
            log.messages.push(format!(
                "No integration time from {}",
                instrument.duration.join(" or ")
            ));
            log.configuration_missing = true;
        }
        None
    });
    let stations = read_stations(header, &mut log);
    let mjd_end = exptime.map(|seconds| mjd_start + seconds / 86_400.0);
    let seen_from = Pointing {
        site: crate::geometry::site(&instrument.interferometer),
        ra,
        dec,
        at: [mjd_start, mjd_end.unwrap_or(mjd_start)],
    };
    let sky = |mjd: Option<f64>| {
        seen_from
            .site
            .zip(mjd)
            .map(|(site, mjd)| site.sky(ra, dec, mjd))
    };
    let sky = [sky(Some(mjd_start)), sky(mjd_end)];
    let (baselines, baselines_text) = match &stations {
        Some(stations) => {
            let (json, text) = read_baselines(header, stations, &seen_from, &mut log);
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
    // MATISSE names its calibrators 'STD' in OBJECT; some early headers leave it blank.
    let target_name = header
        .text("HIERARCH ESO OBS TARG NAME")
        .or_else(|| header.text("OBJECT").filter(|name| *name != "STD"))
        .unwrap_or("unnamed");

    Ok(Exposure {
        id: format!("{dp_id}_1"),
        interferometer: instrument.interferometer.clone(),
        instrument_name: instrument.name.clone(),
        em_min: mode_info.map(|m| m.em_min),
        em_max: mode_info.map(|m| m.em_max),
        em_res_power: mode_info.map(|m| m.res_power),
        instrument_mode,
        instrument_submode,
        program_id: header
            .text("HIERARCH ESO OBS PROG ID")
            .or_else(|| header.text("CHARA PROGRAM"))
            .map(str::to_string),
        pi_coi: header
            .text("HIERARCH ESO OBS PI-COI NAME")
            .or_else(|| header.text("CHARA PI"))
            .map(str::to_string),
        // -1 and other negative ids are placeholders.
        ob_id: header
            .number("HIERARCH ESO OBS ID")
            .filter(|id| *id > 0.0)
            .map(|id| id as i64),
        obs_type,
        target_name: target_name.to_string(),
        ra,
        dec,
        mjd_start,
        mjd_end,
        exptime,
        stations: stations.map(|list| list.join(" ")),
        projected_baselines: baselines,
        projected_baselines_text: baselines_text,
        tau0,
        temperature,
        seeing,
        validation_level: log.level(),
        validation_log: log.messages,
        date_release: release_date(mjd_start, instrument.proprietary_months),
        sky,
    })
}

/// Messages about what a header lacks, and how bad that is.
#[derive(Default)]
pub(super) struct ValidationLog {
    pub(super) messages: Vec<String>,
    configuration_missing: bool,
    weather_missing: bool,
}

impl ValidationLog {
    /// `configuration`: stations, baselines, exposure time (level 0 when missing);
    /// otherwise weather (level 1).
    pub(super) fn missing(&mut self, key: &str, configuration: bool) {
        self.messages.push(format!("Missing '{key}'"));
        if configuration {
            self.configuration_missing = true;
        } else {
            self.weather_missing = true;
        }
    }

    /// A mode or submode's name; what kept it from being named goes to the log.
    fn named(&mut self, naming: Naming) -> Option<String> {
        match naming {
            Naming::Named(name) => return Some(name),
            Naming::NoRule => {}
            Naming::Missing(keys) => keys.iter().for_each(|key| self.missing(key, true)),
            Naming::Unknown(message) => {
                self.messages.push(message);
                self.configuration_missing = true;
            }
        }
        None
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
    // A CHARA log row names its telescopes (up to six) in one field.
    if let Some(stations) = header.text("CHARA STATIONS") {
        return Some(stations.split(' ').map(normalise_station).collect());
    }
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

fn mean<const N: usize>(values: [Option<f64>; N]) -> Option<f64> {
    let present: Vec<f64> = values.into_iter().flatten().collect();
    (!present.is_empty()).then(|| present.iter().sum::<f64>() / present.len() as f64)
}

/// When the data become public: the interferometer's proprietary period after the exposure.
fn release_date(mjd_start: f64, proprietary_months: u32) -> Option<DateTime<Utc>> {
    crate::mjd::to_datetime(mjd_start)?.checked_add_months(Months::new(proprietary_months))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What an astronomer expects of each real header in `tests/data/eso-headers` (see its
    /// README): dropped with a reason, or kept as (type, mode, submode, target, stations,
    /// integration time [s]), the mode in ASPRO2's words.
    #[test]
    fn real_headers_come_out_as_an_astronomer_expects() {
        type Kept = (
            &'static str,
            &'static str,
            Option<&'static str>,
            &'static str,
            &'static str,
            f64,
        );
        let expected: &[(&str, Result<Kept, &str>)] = &[
            // A raw MATISSE remanence recording: not an exposure of the star.
            (
                "MBSck_raw__MATIS.2019-08-28T23_28_25.205.hdr",
                Err("remanence"),
            ),
            // PIONIER 2012: DPR TECH = 'IMAGE', dispersion SMALL in OPTI3, no EXPTIME.
            (
                "PMOIRED_examples__PIONIER.2012-02-17T03p31p15.584_oidataCalibrated.hdr",
                Ok((
                    "science",
                    "SMALL-H",
                    None,
                    "HD45677",
                    "D0 A1 C1 B2",
                    100.0 * 1.2764,
                )),
            ),
            // A MATISSE product without DPR cards; OBJECT = 'STD' marks a calibrator; the L/M
            // detector; EXPTIME is one DIT, so NDIT x DIT.
            (
                "oimodeler__2019-05-23T025507_75Vir_A0G1J2J3_IR-LM_LOW_noChop_cal_oifits_0.hdr",
                Ok((
                    "calibrator",
                    "SI_PHOT_LM_LOW",
                    None,
                    "75Vir",
                    "A0 G1 J2 J3",
                    385.0 * 0.0751997,
                )),
            ),
            // AMBER: INS MODE '3Tstd_Medium_K_1_2.1' without its telescope-count prefix.
            (
                "oimodeler__DelSco_K_2010-04-15T07h12_MR.hdr",
                Ok((
                    "science",
                    "Medium_K_1_2.1",
                    None,
                    "DelSco",
                    "D0 H0 G1",
                    120.0 * 0.5,
                )),
            ),
            // MATISSE's N detector, a card layout without a blank before '='.
            (
                "oimodeler__OiXP_AS_209_MATISSE_U1-U2-U3-U4_2023-05-10_N_LOW.hdr",
                Ok((
                    "science",
                    "HIGH_SENS_N_LOW",
                    None,
                    "AS_209",
                    "U1 U2 U3 U4",
                    2308.0 * 0.02,
                )),
            ),
            // PIONIER 2014: FRINGE,OBJECT.
            (
                "oimodeler__PIONI.2014-01-12T00_56_41.191_oidataCalibrated.hdr",
                Ok((
                    "science",
                    "SMALL-H",
                    None,
                    "CANOPUS",
                    "D0 A1 C1 B2",
                    26.5728,
                )),
            ),
            // PIONIER 2017: the GRISM of ASPRO2's PIONIER_2; EXPTIME is trusted first.
            (
                "oimodeler__PIONI.2017-10-21T08_37_13.075_oidataCalibrated.hdr",
                Ok((
                    "science",
                    "GRISM-H",
                    None,
                    "HD45677",
                    "A0 B2 D0 J3",
                    256.000003814697,
                )),
            ),
            // A GRAVITY product: no DPR, no EXPTIME; single field from the template's name.
            (
                "oimodeler__gravity_real.hdr",
                Ok((
                    "science",
                    "HIGH-COMBINED",
                    Some("SINGLE"),
                    "V CI Tau",
                    "",
                    12.0 * 30.0,
                )),
            ),
        ];
        let instruments = Instruments::load();
        let folder = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/eso-headers");
        let mut ids = Vec::new();
        for (file, expected) in expected {
            let bytes = std::fs::read(format!("{folder}/{file}")).unwrap();
            let header = super::super::fits::HeaderReader::new(&bytes[..], true)
                .next_header()
                .unwrap()
                .unwrap();
            let id = dp_id(&header, &instruments).unwrap_or_else(|| panic!("{file}: no DP.ID"));
            ids.push(id.clone());
            match (derive(&id, &header, &instruments), expected) {
                (Verdict::Dropped(reason), Err(expected)) => {
                    assert_eq!(reason, *expected, "{file}")
                }
                (
                    Verdict::Accepted(exposure),
                    Ok((kind, mode, submode, target, stations, seconds)),
                ) => {
                    assert_eq!(exposure.obs_type, *kind, "{file}");
                    assert_eq!(exposure.instrument_mode.as_deref(), Some(*mode), "{file}");
                    assert_eq!(exposure.instrument_submode.as_deref(), *submode, "{file}");
                    assert_eq!(exposure.target_name, *target, "{file}");
                    if !stations.is_empty() {
                        assert_eq!(exposure.stations.as_deref(), Some(*stations), "{file}");
                    }
                    let exptime = exposure.exptime.unwrap();
                    assert!((exptime - seconds).abs() < 1e-6, "{file}: {exptime}");
                    assert!(
                        exposure.em_min.is_some() && exposure.em_res_power.is_some(),
                        "{file}"
                    );
                    // Neither an unknown mode nor baselines that disagree with the geometry.
                    assert!(
                        !exposure
                            .validation_log
                            .iter()
                            .any(|m| m.contains("ASPRO2") || m.contains("seen from the target")),
                        "{file}: {:?}",
                        exposure.validation_log
                    );
                }
                (verdict, expected) => panic!("{file}: {verdict:?}, expected {expected:?}"),
            }
        }
        // The 2012 PIONIER product lost its ARCFILE: rebuilt from DATE-OBS as ESO names files.
        assert_eq!(ids[1], "PIONI.2012-02-17T03:31:15.584");
    }

    fn real_header(file: &str) -> Header {
        let path = format!(
            "{}/tests/data/eso-headers/{file}",
            env!("CARGO_MANIFEST_DIR")
        );
        let bytes = std::fs::read(path).unwrap();
        super::super::fits::HeaderReader::new(&bytes[..], true)
            .next_header()
            .unwrap()
            .unwrap()
    }

    fn accepted(header: &Header) -> Exposure {
        match derive("X", header, &Instruments::load()) {
            Verdict::Accepted(exposure) => *exposure,
            Verdict::Dropped(reason) => panic!("dropped: {reason}"),
        }
    }

    /// Without its ISS cards, a real header's baselines are computed, and come out as ESO's own
    /// values (the cards taken away) within 5 cm and 0.25 degree (ESO's END is read when the
    /// exposure's frames end, some seconds after EXPTIME: at the end the angles differ most).
    #[test]
    fn baselines_missing_from_a_header_are_computed_as_eso_computes_them() {
        let original = real_header("oimodeler__PIONI.2014-01-12T00_56_41.191_oidataCalibrated.hdr");
        let mut stripped = original.clone();
        stripped
            .keywords
            .retain(|key, _| !key.starts_with("HIERARCH ESO ISS PBL"));
        let (given, computed) = (accepted(&original), accepted(&stripped));
        let pairs = given
            .projected_baselines
            .as_ref()
            .unwrap()
            .as_object()
            .unwrap();
        assert_eq!(pairs.len(), 6);
        for (pair, eso) in pairs {
            let ours = &computed.projected_baselines.as_ref().unwrap()[pair];
            for at in ["start", "end"] {
                let (a, b) = (&eso["length"][at], &ours["length"][at]);
                assert!(
                    (a.as_f64().unwrap() - b.as_f64().unwrap()).abs() < 0.05,
                    "{pair} {a} {b}"
                );
                let (a, b) = (&eso["angle"][at], &ours["angle"][at]);
                assert!(
                    (a.as_f64().unwrap() - b.as_f64().unwrap()).abs() < 0.25,
                    "{pair} {a} {b}"
                );
            }
        }
        assert_eq!(
            computed.validation_level, given.validation_level,
            "computed, not missing"
        );
        assert!(computed
            .validation_log
            .iter()
            .any(|m| m.contains("computed from the stations")));
    }

    /// Stations swapped in a header (U1 and U4 given as each other) no longer match ESO's
    /// baselines for that time: the validation log says so, card by card.
    #[test]
    fn wrong_stations_are_caught_by_the_baselines() {
        let mut header = real_header("oimodeler__gravity_real.hdr");
        let station = |n: u8| format!("HIERARCH ESO ISS CONF STATION{n}");
        let (first, fourth) = (
            header.keywords[&station(1)].clone(),
            header.keywords[&station(4)].clone(),
        );
        header.keywords.insert(station(1), fourth);
        header.keywords.insert(station(4), first);
        let exposure = accepted(&header);
        let complaints: Vec<&String> = exposure
            .validation_log
            .iter()
            .filter(|m| m.contains("seen from the target"))
            .collect();
        assert!(complaints.len() >= 6, "{complaints:?}");
        assert!(complaints
            .iter()
            .any(|m| m.contains("'HIERARCH ESO ISS PBL12 START' = 49.827 m")));
    }

    /// DPR combinations of real raw frames (README of the real headers), one instrument each.
    #[test]
    fn raw_frames_are_classified_by_their_dpr_cards() {
        let instruments = Instruments::load();
        let cases = [
            (
                "MIDI",
                "SCIENCE",
                "TRACK,OBJECT,DISPERSED",
                "INTERFEROMETRY",
                Ok("science"),
            ),
            (
                "MIDI",
                "CALIB",
                "FRINGE_TRACK,OBJECT,FOURIER",
                "INTERFEROMETRY",
                Ok("calibrator"),
            ),
            (
                "MIDI",
                "SCIENCE",
                "COARSE,OBJECT",
                "INTERFEROMETRY",
                Err("coarse"),
            ),
            (
                "MIDI",
                "SCIENCE",
                "PHOTOMETRY,OBJECT",
                "IMAGE",
                Err("photometry"),
            ),
            ("PIONIER", "SCIENCE", "OBJECT", "IMAGE", Ok("science")),
            (
                "PIONIER",
                "CALIB",
                "FRINGE,STD",
                "INTERFEROMETRY",
                Ok("calibrator"),
            ),
            (
                "GRAVITY",
                "SCIENCE",
                "OBJECT",
                "IMAGE",
                Err("not interferometric"),
            ),
            (
                "GRAVITY",
                "SCIENCE",
                "SKY,SINGLE",
                "INTERFEROMETRY",
                Err("sky"),
            ),
            (
                "GRAVITY",
                "ACQUISITION",
                "OBJECT",
                "IMAGE",
                Err("acquisition"),
            ),
            (
                "MATISSE",
                "SCIENCE",
                "OBJECT,RMNREC",
                "INTERFEROMETRY",
                Err("remanence"),
            ),
            ("AMBER", "CALIB", "DARK", "IMAGE", Err("dark")),
        ];
        for (name, category, kind, tech, expected) in cases {
            let header = Header {
                keywords: [(DPR_TYPE, kind), (DPR_TECH, tech)]
                    .iter()
                    .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
                    .collect(),
                first_card: 1,
                end_card: 2,
            };
            let instrument = instruments.get(name).unwrap();
            assert_eq!(
                classify_raw(&header, instrument, category),
                expected.map_err(str::to_string),
                "{name} {category} {kind} {tech}"
            );
        }
    }

    #[test]
    fn stations_are_written_as_aspro2_names_them() {
        assert_eq!(normalise_station("UT1"), "U1");
        assert_eq!(normalise_station(" a0 "), "A0");
        assert_eq!(normalise_station("U4"), "U4");
    }

    #[test]
    fn release_is_a_year_after_the_exposure() {
        assert_eq!(
            release_date(58857.5, 12).unwrap().to_rfc3339(),
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
