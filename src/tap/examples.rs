//! `/tap/examples` (DALI 1.1 section 2.3): real queries for this database, as XHTML with RDFa
//! that TOPCAT shows in its examples menu. A test runs every one of them.

use axum::http::header;
use axum::response::IntoResponse;

/// (id, name, what it answers, ADQL).
pub(crate) const EXAMPLES: &[(&str, &str, &str, &str)] = &[
    (
        "my-targets-already-observed",
        "Which of my targets were already observed, with which instruments?",
        "Upload your target list as TAP_UPLOAD.targets (columns name, ra, dec in degrees; TOPCAT: \
         Upload, pyvo: uploads={'targets': table}): each target observed within 10 arcseconds, \
         with its instruments and exposure count.",
        "SELECT t.name, e.instrument_name, COUNT(*) AS exposures, MIN(e.exp_mjd_start) AS first_mjd\n\
         FROM TAP_UPLOAD.targets AS t, obsportal.exposures AS e\n\
         WHERE CONTAINS(POINT('ICRS', e.target_ra, e.target_dec), CIRCLE('ICRS', t.ra, t.dec, 10.0 / 3600.0)) = 1\n\
         GROUP BY t.name, e.instrument_name\n\
         ORDER BY name, instrument_name",
    ),
    (
        "my-targets-exposures",
        "My targets' exposures within 10 arcseconds",
        "Every exposure within 10 arcseconds of each target of an uploaded list (TAP_UPLOAD.targets: \
         name, ra, dec), with its distance, mode and stations.",
        "SELECT t.name, DISTANCE(POINT('ICRS', t.ra, t.dec), POINT('ICRS', e.target_ra, e.target_dec)) * 3600 AS separation_arcsec,\n\
                e.exp_id, e.exp_mjd_start, e.instrument_mode, e.interferometer_stations\n\
         FROM TAP_UPLOAD.targets AS t, obsportal.exposures AS e\n\
         WHERE CONTAINS(POINT('ICRS', e.target_ra, e.target_dec), CIRCLE('ICRS', t.ra, t.dec, 10.0 / 3600.0)) = 1\n\
         ORDER BY name, exp_mjd_start",
    ),
    (
        "my-plan-coverage",
        "What of my observing plan was already done, at which hour angles and baselines?",
        "For each target of an uploaded plan (TAP_UPLOAD.targets: name, ra, dec), the exposures \
         within 10 arcseconds, the hour angles they span, the station configurations and the \
         shortest and longest projected baselines they sampled.",
        "SELECT t.name, COUNT(DISTINCT e.exp_id) AS exposures, MIN(e.exp_ha_start) AS ha_min_h, MAX(e.exp_ha_end) AS ha_max_h,\n\
                COUNT(DISTINCT e.interferometer_stations) AS configurations,\n\
                MIN(b.length_start) AS shortest_baseline_m, MAX(b.length_start) AS longest_baseline_m\n\
         FROM TAP_UPLOAD.targets AS t\n\
         JOIN obsportal.exposures AS e\n\
           ON CONTAINS(POINT('ICRS', e.target_ra, e.target_dec), CIRCLE('ICRS', t.ra, t.dec, 10.0 / 3600.0)) = 1\n\
         JOIN obsportal.baselines AS b ON b.exp_id = e.exp_id\n\
         GROUP BY t.name\n\
         ORDER BY name",
    ),
    (
        "baselines-of-a-star",
        "Which exposures of this star sampled 100-130 m baselines at position angles near 45 degrees?",
        "Baselines of exposures within 30 arcseconds of a position whose projected length was 100 to \
         130 m and position angle 30 to 60 degrees (or 210 to 240: modulo 180) at the start or \
         the end of the exposure. OBSPORTAL_UV_SECTOR is served by the baselines' (u, v) index.",
        "SELECT x.exp_id, x.exp_mjd_start, x.instrument_mode, b.station1, b.station2, b.length_start, b.angle_start\n\
         FROM obsportal.exposures AS x JOIN obsportal.baselines AS b ON b.exp_id = x.exp_id\n\
         WHERE CONTAINS(POINT('ICRS', x.target_ra, x.target_dec), CIRCLE('ICRS', 104.8167, -13.0586, 30.0 / 3600.0)) = 1\n\
           AND OBSPORTAL_UV_SECTOR(b.u_start, b.v_start, b.u_end, b.v_end, 100, 130, 30, 60) = 1\n\
         ORDER BY exp_mjd_start",
    ),
    (
        "hour-angles-of-a-star",
        "Was this star observed at these hour angles, with which configuration?",
        "Exposures within 30 arcseconds of a position that started within two hours of transit, \
         with their stations, hour angles [h], sidereal time [h] and airmass.",
        "SELECT exp_id, exp_mjd_start, interferometer_stations, exp_ha_start, exp_ha_end, exp_lst_start, exp_airmass_start\n\
         FROM obsportal.exposures\n\
         WHERE CONTAINS(POINT('ICRS', target_ra, target_dec), CIRCLE('ICRS', 104.8167, -13.0586, 30.0 / 3600.0)) = 1\n\
           AND exp_ha_start BETWEEN -2 AND 2\n\
         ORDER BY exp_ha_start",
    ),
    (
        "uv-sector-all-sky",
        "Every GRAVITY baseline of 120-130 m at position angles 40-50 degrees",
        "All-sky: the GRAVITY exposures with a baseline 120 to 130 m long at 40 to 50 degrees \
         (modulo 180) at the start or end, found through the baselines' (u, v) index.",
        "SELECT x.exp_id, x.exp_mjd_start, x.target_name, x.instrument_mode, b.station1, b.station2, b.length_start, b.angle_start\n\
         FROM obsportal.baselines AS b JOIN obsportal.exposures AS x ON x.exp_id = b.exp_id\n\
         WHERE OBSPORTAL_UV_SECTOR(b.u_start, b.v_start, b.u_end, b.v_end, 120, 130, 40, 50) = 1\n\
           AND x.instrument_name = 'GRAVITY'\n\
         ORDER BY exp_mjd_start",
    ),
    (
        "uv-near-a-point",
        "Who sampled this point of the (u, v) plane?",
        "Exposures one of whose baselines passed within 5 m of (u, v) = (60, 80) m, or of its \
         mirror image (-60, -80): the same spatial frequency.",
        "SELECT x.exp_id, x.exp_mjd_start, x.target_name, x.instrument_mode, b.station1, b.station2, b.u_start, b.v_start, b.u_end, b.v_end\n\
         FROM obsportal.baselines AS b JOIN obsportal.exposures AS x ON x.exp_id = b.exp_id\n\
         WHERE OBSPORTAL_UV_NEAR(b.u_start, b.v_start, b.u_end, b.v_end, 60, 80, 5) = 1\n\
         ORDER BY exp_mjd_start",
    ),
    (
        "aspro2-cone",
        "Has this star been observed? (ASPRO2's question)",
        "Every exposure within 30 arcseconds of a position, oldest first.",
        "SELECT exp_id, exp_mjd_start, instrument_name, instrument_mode, interferometer_stations, target_name\n\
         FROM obsportal.exposures\n\
         WHERE CONTAINS(POINT('ICRS', target_ra, target_dec), CIRCLE('ICRS', 104.8167, -13.0586, 30.0 / 3600.0)) = 1\n\
         ORDER BY exp_mjd_start",
    ),
    (
        "program-follow-up",
        "Follow a program",
        "What a program has observed so far, night by night.",
        "SELECT exp_id, exp_mjd_start, obs_type, target_name, instrument_mode, interferometer_stations\n\
         FROM obsportal.exposures\n\
         WHERE obs_program = '0104.C-0425(A)'\n\
         ORDER BY exp_mjd_start",
    ),
    (
        "mode-in-date-range",
        "A mode in a date range",
        "GRAVITY in MEDIUM-SPLIT during 2019 and 2020 (MJD 58484 to 59215).",
        "SELECT exp_id, exp_mjd_start, target_name, interferometer_stations\n\
         FROM obsportal.exposures\n\
         WHERE instrument_name = 'GRAVITY' AND instrument_mode = 'MEDIUM-SPLIT'\n\
           AND exp_mjd_start BETWEEN 58484 AND 59215\n\
         ORDER BY exp_mjd_start",
    ),
    (
        "unit-telescopes-good-seeing",
        "Stations and conditions",
        "Exposures on the four unit telescopes with seeing better than 0.8 arcsec, and their baselines.",
        "SELECT exp_id, target_name, exp_seeing, exp_tau0, exp_projected_baselines\n\
         FROM obsportal.exposures\n\
         WHERE interferometer_stations = 'U1 U2 U3 U4' AND exp_seeing < 0.8\n\
         ORDER BY exp_seeing",
    ),
    (
        "counts-per-mode",
        "What has been observed in each mode",
        "Exposures, observations and targets per instrument and mode.",
        "SELECT instrument_name, instrument_mode, COUNT(*) AS exposures,\n\
                COUNT(DISTINCT obs_id) AS observations, COUNT(DISTINCT target_id) AS targets\n\
         FROM obsportal.exposures\n\
         GROUP BY instrument_name, instrument_mode\n\
         ORDER BY instrument_name, exposures DESC",
    ),
    (
        "targets-with-several-instruments",
        "Targets seen by several instruments",
        "Stars observed with more than one instrument, most instruments first.",
        "SELECT target_id, target_name, COUNT(DISTINCT instrument_name) AS instruments, COUNT(*) AS exposures\n\
         FROM obsportal.exposures\n\
         GROUP BY target_id, target_name\n\
         HAVING COUNT(DISTINCT instrument_name) > 1\n\
         ORDER BY instruments DESC, exposures DESC",
    ),
    (
        "calibrators-near-a-target",
        "Calibrators near a science target",
        "Calibrator exposures within 5 degrees of a position, nearest first.",
        "SELECT DISTINCT target_name, target_ra, target_dec,\n\
                DISTANCE(POINT('ICRS', target_ra, target_dec), POINT('ICRS', 104.8167, -13.0586)) AS separation\n\
         FROM obsportal.exposures\n\
         WHERE obs_type = 'calibrator'\n\
           AND DISTANCE(POINT('ICRS', target_ra, target_dec), POINT('ICRS', 104.8167, -13.0586)) < 5\n\
         ORDER BY separation",
    ),
    (
        "best-coherence-times",
        "The best atmospheric coherence times",
        "The 20 exposures with the longest coherence time, in milliseconds.",
        "SELECT TOP 20 exp_id, target_name, instrument_name, IN_UNIT(exp_tau0, 'ms') AS tau0_ms, exp_seeing\n\
         FROM obsportal.exposures\n\
         WHERE exp_tau0 IS NOT NULL\n\
         ORDER BY exp_tau0 DESC",
    ),
    (
        "observation-blocks",
        "Observations: blocks of exposures",
        "Each observation (same OB, target, mode and stations, contiguous in time) with its length in hours.",
        "SELECT obs_id, target_name, instrument_name, instrument_mode, COUNT(*) AS exposures,\n\
                IN_UNIT(MAX(exp_mjd_end) - MIN(exp_mjd_start), 'h') AS hours\n\
         FROM obsportal.exposures\n\
         GROUP BY obs_id, target_name, instrument_name, instrument_mode\n\
         ORDER BY hours DESC",
    ),
    (
        "obscore-cone",
        "ObsCore: visibilities around a position",
        "The same cone through the IVOA ObsCore view, as generic clients ask it.",
        "SELECT obs_id, target_name, t_min, t_max, em_min, em_max, instrument_name, access_url\n\
         FROM ivoa.obscore\n\
         WHERE CONTAINS(POINT('ICRS', s_ra, s_dec), CIRCLE('ICRS', 104.8167, -13.0586, 0.01)) = 1",
    ),
    (
        "obscore-wavelength",
        "ObsCore: by wavelength",
        "Exposures whose band covers 2.2 microns (the K band).",
        "SELECT obs_id, target_name, instrument_name, instrument_mode,\n\
                IN_UNIT(em_min, 'um') AS from_um, IN_UNIT(em_max, 'um') AS to_um\n\
         FROM ivoa.obscore\n\
         WHERE em_min <= 2.2e-6 AND em_max >= 2.2e-6",
    ),
    (
        "recent-updates",
        "What changed recently",
        "Exposures created or changed by imports since a date (what OiDB asks).",
        "SELECT exp_id, exp_date_updated, instrument_name, target_name\n\
         FROM obsportal.exposures\n\
         WHERE exp_date_updated >= '2021-01-01T00:00:00'\n\
         ORDER BY exp_date_updated DESC",
    ),
    (
        "tap-schema-columns",
        "What the exposures table holds",
        "Its columns, units and UCDs, from TAP_SCHEMA.",
        "SELECT column_name, datatype, unit, ucd, description\n\
         FROM TAP_SCHEMA.columns\n\
         WHERE table_name = 'obsportal.exposures'\n\
         ORDER BY column_index",
    ),
];

pub(super) async fn examples() -> impl IntoResponse {
    let mut page = String::from(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <html xmlns=\"http://www.w3.org/1999/xhtml\">\n<head><title>obsportal TAP examples</title></head>\n\
         <body vocab=\"ivo://ivoa.net/std/DALI#examples\">\n<h1>Queries for the interferometric exposures</h1>\n",
    );
    for (id, name, about, query) in EXAMPLES {
        page.push_str(&format!(
            "<div typeof=\"example\" id=\"{id}\" resource=\"#{id}\">\n <h2 property=\"name\">{}</h2>\n <p>{}</p>\n \
             <pre property=\"query\">{}</pre>\n</div>\n",
            html_escape::encode_text(name),
            html_escape::encode_text(about),
            html_escape::encode_text(query),
        ));
    }
    page.push_str("</body>\n</html>\n");
    (
        [(header::CONTENT_TYPE, "application/xhtml+xml; charset=utf-8")],
        page,
    )
}
