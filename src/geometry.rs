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
use std::f64::consts::{PI, TAU};
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

/// Where a star stands in a site's sky at an instant.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sky {
    /// Local (mean) sidereal time [h, 0..24).
    pub sidereal_time: f64,
    /// Hour angle of the star [h, -12..12): negative east of the meridian, before transit.
    pub hour_angle: f64,
    /// Plane-parallel airmass, sec(zenith distance); None below the horizon.
    pub airmass: Option<f64>,
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

    /// Geodetic latitude [rad] on the WGS84 ellipsoid, from the geocentric position
    /// (Bowring's closed form: well under a milliarcsecond at the ground).
    pub fn latitude(&self) -> f64 {
        const A: f64 = 6_378_137.0;
        const F: f64 = 1.0 / 298.257_223_563;
        let b = A * (1.0 - F);
        let e2 = F * (2.0 - F);
        let ep2 = e2 / (1.0 - e2);
        let [x, y, z] = self.position;
        let p = x.hypot(y);
        let theta = (z * A).atan2(p * b);
        let (sin_t, cos_t) = theta.sin_cos();
        (z + ep2 * b * sin_t.powi(3)).atan2(p - e2 * A * cos_t.powi(3))
    }

    /// The sidereal time, the star's hour angle and its airmass at `mjd` (UTC), for a star at
    /// (ra, dec) [deg, J2000], precessed to the date as the baselines are.
    pub fn sky(&self, ra: f64, dec: f64, mjd: f64) -> Sky {
        let (sidereal_time, hour_angle, dec) = self.hour_angle(ra, dec, mjd);
        let latitude = self.latitude();
        let sin_altitude =
            latitude.sin() * dec.sin() + latitude.cos() * dec.cos() * hour_angle.cos();
        let hours = |radians: f64| radians.to_degrees() / 15.0;
        Sky {
            sidereal_time: hours(sidereal_time),
            hour_angle: hours(hour_angle),
            airmass: (sin_altitude > 0.0).then(|| 1.0 / sin_altitude),
        }
    }

    /// The local sidereal time, the hour angle in [-pi, pi) and the declination of the date
    /// [rad] of a star at (ra, dec) [deg, J2000] at `mjd`.
    fn hour_angle(&self, ra: f64, dec: f64, mjd: f64) -> (f64, f64, f64) {
        let sidereal_time = local_sidereal_time(mjd, self.longitude());
        let (ra, dec) = precessed_from_j2000(ra.to_radians(), dec.to_radians(), mjd);
        let hour_angle = (sidereal_time - ra + PI).rem_euclid(TAU) - PI;
        (sidereal_time, hour_angle, dec)
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
        let (_, hour_angle, dec) = self.hour_angle(ra, dec, mjd);
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

    /// Values computed independently with astropy 8.0 (offline IERS tables), by:
    ///   t = Time(mjd, format="mjd", scale="utc", location=EarthLocation.from_geocentric(site))
    ///   lst = t.sidereal_time("mean").hour
    ///   ha = t.sidereal_time("apparent") - SkyCoord(ra, dec).transform_to(TETE(obstime=t)).ra
    ///   airmass = SkyCoord(ra, dec).transform_to(AltAz(obstime=t, location=site)).secz
    /// The first three are real headers' pointings and times (MATISSE 2019, PIONIER 2012,
    /// AMBER 2010), whose own LST and ISS AIRM cards say 17:14:20, 1.038; 08:35:43, 1.179;
    /// 16:03:54, 1.001. Ours leaves out nutation and aberration (a few seconds of hour angle)
    /// and takes UTC for UT1 (a second at most).
    #[test]
    fn sidereal_time_hour_angle_and_airmass_agree_with_astropy() {
        let cases = [
            (
                "VLTI",
                242.879958,
                -18.64079,
                58723.9780695,
                17.239578,
                1.028631,
                1.03778,
            ),
            (
                "VLTI",
                97.072661,
                -13.0531,
                55974.1466965797,
                8.595604,
                2.114548,
                1.18001,
            ),
            (
                "VLTI",
                240.08348,
                -22.6218,
                55301.3001303,
                16.065513,
                0.049435,
                1.00066,
            ),
            (
                "CHARA", 279.234735, 38.783689, 60100.25, 15.023724, -3.605511, 1.36905,
            ),
            (
                "CHARA", 88.792939, 7.407064, 59500.55, 6.817525, 0.87821, 1.14822,
            ),
        ];
        for (name, ra, dec, mjd, lst, hour_angle, airmass) in cases {
            let sky = site(name).unwrap().sky(ra, dec, mjd);
            let seconds = |hours: f64| hours * 3600.0;
            assert!(
                seconds((sky.sidereal_time - lst).abs()) < 1.5,
                "{name} {mjd}: {sky:?}"
            );
            assert!(
                seconds((sky.hour_angle - hour_angle).abs()) < 3.0,
                "{name} {mjd}: {sky:?}"
            );
            assert!(
                (sky.airmass.unwrap() - airmass).abs() < 2e-3,
                "{name} {mjd}: {sky:?}"
            );
        }
        // astropy's geodetic latitudes of the two sites.
        let degrees = |name| site(name).unwrap().latitude().to_degrees();
        assert!((degrees("VLTI") + 24.627_378).abs() < 1e-6);
        assert!((degrees("CHARA") - 34.224_335).abs() < 1e-6);
        // A star under the horizon has no airmass: Polaris from Paranal.
        let polaris = site("VLTI").unwrap().sky(37.95, 89.26, 60_000.0);
        assert_eq!(polaris.airmass, None);
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
