//! Projected baselines of an exposure: ESO's ISS cards as published, each checked against the
//! baseline `geometry` computes from the stations, the target and the time; computed ones
//! where a header has none.

use serde_json::{json, Map, Value};

use super::derive::ValidationLog;
use super::fits::Header;

/// Where a star was seen from, and when an exposure started and ended.
pub(super) struct Pointing {
    pub(super) site: Option<&'static crate::geometry::Site>,
    pub(super) ra: f64,
    pub(super) dec: f64,
    pub(super) at: [f64; 2],
}

/// How far ESO's ISS values may be from ours before the header is suspect (wrong stations or
/// times): real headers agree within 0.4 m and 0.5 degrees.
const LENGTH_TOLERANCE: f64 = 1.0;
const ANGLE_TOLERANCE: f64 = 1.0;

/// Projected baselines per station pair (i < j in station order): lengths [m] and angles [deg]
/// at start and end, and u, v [m], as JSON and as the ObsPortal string. The header's ISS values
/// are published; each is checked against the baseline computed from the stations, the star
/// and the time (a disagreement goes to the validation log), and a header without them gets
/// the computed ones.
pub(super) fn read_baselines(
    header: &Header,
    stations: &[String],
    pointing: &Pointing,
    log: &mut ValidationLog,
) -> (Value, String) {
    let mut json = Map::new();
    let mut text = Vec::new();
    for i in 0..stations.len() {
        for j in i + 1..stations.len() {
            let pair = format!("{}-{}", stations[i], stations[j]);
            let computed = pointing.at.map(|mjd| {
                pointing.site.and_then(|site| {
                    site.baseline(&stations[i], &stations[j], pointing.ra, pointing.dec, mjd)
                })
            });
            let card =
                |what: &str, at: &str| format!("HIERARCH ESO ISS {what}{}{} {at}", i + 1, j + 1);
            let mut lengths = [None; 2];
            let mut angles = [None; 2];
            for (index, at) in ["START", "END"].into_iter().enumerate() {
                let (length_key, angle_key) = (card("PBL", at), card("PBLA", at));
                let seen = computed[index];
                lengths[index] = checked(
                    header.number(&length_key),
                    seen.map(|seen| seen.length),
                    |given, ours| (given - ours).abs() <= LENGTH_TOLERANCE,
                    |given, ours| {
                        format!("'{length_key}' = {given} m, but {pair} seen from the target then is {ours:.3} m")
                    },
                    log,
                );
                angles[index] = checked(
                    header.number(&angle_key),
                    seen.map(|seen| seen.angle),
                    same_angle,
                    |given, ours| {
                        format!("'{angle_key}' = {given} deg, but {pair} seen from the target then is at {ours:.2} deg")
                    },
                    log,
                );
            }
            let from_header = ["PBL", "PBLA"].iter().any(|what| {
                ["START", "END"]
                    .iter()
                    .any(|at| header.number(&card(what, at)).is_some())
            });
            if !from_header {
                if computed.iter().any(Option::is_some) {
                    log.messages.push(format!(
                        "No ISS PBL/PBLA cards for {pair}: computed from the stations, the target and the time"
                    ));
                } else {
                    ["START", "END"]
                        .iter()
                        .for_each(|at| log.missing(&card("PBL", at), true));
                }
            }
            if lengths.iter().chain(&angles).all(Option::is_none) {
                json.insert(pair.clone(), Value::Null);
                text.push(format!("'{pair}': None"));
                continue;
            }
            let uv = |pick: fn(&crate::geometry::Projected) -> f64| {
                computed.map(|seen| seen.as_ref().map(pick).map(round3))
            };
            let ([u_start, u_end], [v_start, v_end]) = (uv(|p| p.u), uv(|p| p.v));
            json.insert(
                pair.clone(),
                json!({"length": {"start": lengths[0], "end": lengths[1]},
                       "angle": {"start": angles[0], "end": angles[1]},
                       "u": {"start": u_start, "end": u_end},
                       "v": {"start": v_start, "end": v_end}}),
            );
            let show =
                |value: Option<f64>| value.map_or("None".to_string(), |v| format!("'{v:.4}'"));
            text.push(format!(
                "'{pair}': {{'length': {{'start': {}, 'end': {}}}, 'angle': {{'start': {}, 'end': {}}}}}",
                show(lengths[0]),
                show(lengths[1]),
                show(angles[0]),
                show(angles[1])
            ));
        }
    }
    (Value::Object(json), format!("{{{}}}", text.join(", ")))
}

/// A value as published: the header's, checked against ours (a disagreement goes to the log),
/// or ours, rounded, when the header has none.
fn checked(
    given: Option<f64>,
    ours: Option<f64>,
    agree: impl Fn(f64, f64) -> bool,
    complaint: impl Fn(f64, f64) -> String,
    log: &mut ValidationLog,
) -> Option<f64> {
    match (given, ours) {
        (Some(given), Some(ours)) => {
            if !agree(given, ours) {
                log.messages.push(complaint(given, ours));
            }
            Some(given)
        }
        (Some(given), None) => Some(given),
        (None, ours) => ours.map(round3),
    }
}

/// Whether an ISS angle is the computed position angle (east of north). Headers of 2010 (AMBER,
/// seen in a real one) give 90 degrees minus it, counted from east: either is accepted.
fn same_angle(given: f64, east_of_north: f64) -> bool {
    let close = |a: f64, b: f64| {
        ((a - b).rem_euclid(360.0) + ANGLE_TOLERANCE).rem_euclid(360.0) <= 2.0 * ANGLE_TOLERANCE
    };
    close(given, east_of_north) || close(90.0 - given, east_of_north)
}

fn round3(value: f64) -> f64 {
    (value * 1000.0).round() / 1000.0
}
