//! Where the telescopes stand and what their baselines look like from a star at a given time:
//! pure functions over `schema/stations.toml`, no I/O.
//!
//! A baseline between two stations, given in a local equatorial frame (X in the equator towards
//! the meridian, Y east, Z to the pole, as ASPRO2 gives them), projects on the sky plane of a
//! star at hour angle H and declination d as (u towards east, v towards north):
//!   u = sin H * X + cos H * Y
//!   v = -sin d cos H * X + sin d sin H * Y + cos d * Z
//! The projected length is |(u, v)| and the position angle atan2(u, v), east of north. The
//! star's J2000 position is precessed to the date first (IAU 1976): without it the baselines of
//! a 2022 header disagree with ESO's by 0.3 m and 0.4 degrees.

use std::collections::BTreeMap;
use std::f64::consts::TAU;
use std::sync::LazyLock;

use serde::Deserialize;

const STATIONS_TOML: &str = include_str!("../schema/stations.toml");

/// An interferometer: where it is and its stations.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Site {
    pub name: String,
    /// Geocentric position [m].
    position: [f64; 3],
    /// Station offsets [m] in the local equatorial frame.
    stations: BTreeMap<String, [f64; 3]>,
}

/// A baseline as seen from the star.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Projected {
    /// [m]
    pub length: f64,
    /// Position angle [deg, east of north, 0..360).
    pub angle: f64,
    /// [m], towards east and north.
    pub u: f64,
    pub v: f64,
}

#[derive(Deserialize)]
struct Sites {
    site: Vec<Site>,
}

static SITES: LazyLock<Vec<Site>> = LazyLock::new(|| {
    toml::from_str::<Sites>(STATIONS_TOML)
        .unwrap_or_else(|error| panic!("schema/stations.toml: {error}"))
        .site
});

/// The interferometer of that name (`VLTI`).
pub fn site(name: &str) -> Option<&'static Site> {
    SITES.iter().find(|site| site.name == name)
}

impl Site {
    /// East longitude [rad], from the geocentric position.
    pub fn longitude(&self) -> f64 {
        self.position[1].atan2(self.position[0])
    }

    pub fn has_station(&self, name: &str) -> bool {
        self.stations.contains_key(name)
    }

    /// The baseline from `first` to `second` seen from (ra, dec) [deg, J2000] at `mjd` (UTC),
    /// or None for a station the site does not have.
    pub fn baseline(
        &self,
        first: &str,
        second: &str,
        ra: f64,
        dec: f64,
        mjd: f64,
    ) -> Option<Projected> {
        let (a, b) = (self.stations.get(first)?, self.stations.get(second)?);
        let [x, y, z] = [b[0] - a[0], b[1] - a[1], b[2] - a[2]];
        let (ra, dec) = precessed_from_j2000(ra.to_radians(), dec.to_radians(), mjd);
        let hour_angle = local_sidereal_time(mjd, self.longitude()) - ra;
        let (sin_h, cos_h) = hour_angle.sin_cos();
        let (sin_d, cos_d) = dec.sin_cos();
        let u = sin_h * x + cos_h * y;
        let v = -sin_d * cos_h * x + sin_d * sin_h * y + cos_d * z;
        Some(Projected {
            length: u.hypot(v),
            angle: u.atan2(v).to_degrees().rem_euclid(360.0),
            u,
            v,
        })
    }
}

/// Local mean sidereal time [rad] at `mjd` (UTC, taken as UT1: a second at most) and east
/// `longitude` [rad], from the IAU 1982 expression of GMST.
pub fn local_sidereal_time(mjd: f64, longitude: f64) -> f64 {
    let days = mjd - 51_544.5;
    let centuries = days / 36_525.0;
    let gmst_degrees =
        280.460_618_37 + 360.985_647_366_29 * days + 0.000_387_933 * centuries * centuries;
    (gmst_degrees.to_radians() + longitude).rem_euclid(TAU)
}

/// A J2000 position [rad] precessed to the mean equator and equinox of `mjd` (IAU 1976).
pub fn precessed_from_j2000(ra: f64, dec: f64, mjd: f64) -> (f64, f64) {
    let t = (mjd - 51_544.5) / 36_525.0;
    let arcsec = |value: f64| (value / 3600.0).to_radians();
    let zeta = arcsec(2306.2181 * t + 0.30188 * t * t + 0.017998 * t * t * t);
    let z = arcsec(2306.2181 * t + 1.09468 * t * t + 0.018203 * t * t * t);
    let theta = arcsec(2004.3109 * t - 0.42665 * t * t - 0.041833 * t * t * t);
    let (sin_d, cos_d) = dec.sin_cos();
    let (sin_t, cos_t) = theta.sin_cos();
    let a = cos_d * (ra + zeta).sin();
    let b = cos_t * cos_d * (ra + zeta).cos() - sin_t * sin_d;
    let c = sin_t * cos_d * (ra + zeta).cos() + cos_t * sin_d;
    ((a.atan2(b) + z).rem_euclid(TAU), c.clamp(-1.0, 1.0).asin())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sidereal_time_and_precession_match_worked_examples() {
        // Meeus, Astronomical Algorithms, example 12.a: 1987-04-10 0h UT (MJD 46895),
        // GMST 13h10m46.3668s.
        let gmst = local_sidereal_time(46_895.0, 0.0).to_degrees() / 15.0;
        let expected = 13.0 + 10.0 / 60.0 + 46.3668 / 3600.0;
        assert!((gmst - expected).abs() * 3600.0 < 0.01, "{gmst}");
        // Meeus example 21.b: theta Persei, J2000 (2h44m11.986s, +49d13m42.48s) at
        // 2028-11-13.19 TD (MJD 62088.19): (2h46m11.331s, +49d20m54.54s). (Proper motion,
        // which the example also applies, is left out of both.)
        let (ra, dec) = precessed_from_j2000(
            ((2.0 + 44.0 / 60.0 + 11.986 / 3600.0) * 15.0f64).to_radians(),
            (49.0 + 13.0 / 60.0 + 42.48 / 3600.0f64).to_radians(),
            62_088.19,
        );
        let ra_hours = ra.to_degrees() / 15.0;
        let dec_degrees = dec.to_degrees();
        // Without proper motion (+0.03425 s/yr, -0.0895"/yr over 28.87 years): 2h46m10.342s,
        // +49d20m57.12s.
        assert!((ra_hours - (2.0 + 46.0 / 60.0 + 10.342 / 3600.0)).abs() * 3600.0 < 0.05);
        assert!((dec_degrees - (49.0 + 20.0 / 60.0 + 57.12 / 3600.0)).abs() * 3600.0 < 0.5);
    }

    /// ASPRO2's CHARA stations against CHARA's own (east, north, up) offsets from S1
    /// (telescopes.chara, 2021, in shared/reference/instrument-modes.md), turned into the
    /// equatorial frame at S1's latitude +34d13m27.78s: X = -sin(lat) N + cos(lat) U, Y = E,
    /// Z = cos(lat) N + sin(lat) U.
    #[test]
    fn charas_stations_agree_with_charas_own_survey() {
        let chara = site("CHARA").unwrap();
        let latitude = (34.0 + 13.0 / 60.0 + 27.78 / 3600.0f64).to_radians();
        let survey = [
            ("S2", [-5.75, 33.58, 0.65]),
            ("E1", [125.34, 305.93, -5.91]),
            ("E2", [70.39, 269.71, -2.79]),
            ("W1", [-175.07, 216.32, -10.79]),
            ("W2", [-69.09, 199.33, 0.47]),
        ];
        for (name, [east, north, up]) in survey {
            let expected = [
                -latitude.sin() * north + latitude.cos() * up,
                east,
                latitude.cos() * north + latitude.sin() * up,
            ];
            let aspro2 = chara.stations[name];
            for axis in 0..3 {
                assert!(
                    (aspro2[axis] - expected[axis]).abs() < 0.02,
                    "{name} axis {axis}: {aspro2:?} vs {expected:?}"
                );
            }
        }
        let west = chara.longitude().to_degrees();
        assert!((west + 118.0570).abs() < 0.001, "Mount Wilson: {west}");
    }

    #[test]
    fn a_baseline_seen_from_the_pole_keeps_its_ground_length() {
        // From the celestial pole every baseline's equatorial part is seen whole: length
        // sqrt(X^2 + Y^2), whatever the time.
        let vlti = site("VLTI").unwrap();
        let (a, b) = (vlti.stations["A0"], vlti.stations["J3"]);
        let ground = (b[0] - a[0]).hypot(b[1] - a[1]);
        // At J2000, when precession has not moved the pole yet.
        for mjd in [51_544.5, 51_544.6, 51_544.87] {
            let seen = vlti.baseline("A0", "J3", 0.0, -90.0, mjd).unwrap();
            assert!((seen.length - ground).abs() < 1e-4, "{seen:?} vs {ground}");
        }
        // Reversed, the same length and the opposite angle.
        let there = vlti.baseline("A0", "J3", 100.0, -30.0, 58_000.2).unwrap();
        let back = vlti.baseline("J3", "A0", 100.0, -30.0, 58_000.2).unwrap();
        assert!((there.length - back.length).abs() < 1e-9);
        assert!(((there.angle - back.angle).rem_euclid(360.0) - 180.0).abs() < 1e-9);
        assert!(vlti.baseline("A0", "Z9", 0.0, 0.0, 58_000.0).is_none());
        let degrees = vlti.longitude().to_degrees();
        assert!((degrees + 70.405).abs() < 0.01, "Paranal: {degrees}");
    }
}
