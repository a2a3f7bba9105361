//! Synthetic but realistic VLTI raw headers, deterministic for a seed: programs of both ESO id
//! formats observing clustered science targets with nearby calibrators, real station names and
//! configurations, projected baselines computed from station positions and hour angle (so
//! they never exceed the ground baseline and drift during an exposure), plausible weather, and
//! about two headers that the filter must drop (acquisitions, skies, darks...) per exposure.
//!
//! Projected baselines come from `geometry`, as ESO's ISS computes them.

use std::collections::HashSet;
use std::f64::consts::PI;
use std::io::{self, Write};

use chrono::Datelike;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::instruments::{Instrument, Instruments, Mode, Submode};

/// Station configurations by number of telescopes.
const CONFIGURATIONS_4: &[&str] = &[
    "U1 U2 U3 U4",
    "A0 B2 C1 D0",
    "K0 G2 D0 J3",
    "A0 G1 J2 J3",
    "A0 G1 J2 K0",
];
const CONFIGURATIONS_3: &[&str] = &["U1 U2 U3", "U2 U3 U4", "A0 K0 G1", "D0 H0 G1", "E0 G0 H0"];
const CONFIGURATIONS_2: &[&str] = &["U1 U2", "U2 U3", "U3 U4", "E0 G0", "G0 H0", "D0 G0"];

/// (instrument, first and last year it observed, relative share, telescopes, exposure time [s]).
const CAREERS: &[(&str, f64, f64, f64, usize, f64)] = &[
    ("GRAVITY", 2016.0, 2025.9, 0.35, 4, 180.0),
    ("MATISSE", 2018.5, 2025.9, 0.20, 4, 60.0),
    ("PIONIER", 2010.9, 2025.9, 0.25, 4, 60.0),
    ("AMBER", 2004.3, 2018.0, 0.12, 3, 120.0),
    ("MIDI", 2004.0, 2015.2, 0.08, 2, 90.0),
];

const SURNAMES: &[&str] = &[
    "Berger",
    "Le Bouquin",
    "Millour",
    "Lopez",
    "Kraus",
    "Monnier",
    "Kervella",
    "Paladini",
    "Absil",
    "Lachaume",
    "Meilland",
    "Chesneau",
    "Hofmann",
    "Weigelt",
    "Petrov",
    "Eisenhauer",
    "Perrin",
    "Bourges",
    "Mella",
    "Duvert",
    "Lagarde",
    "Pott",
    "Garcia",
    "Tatulli",
    "Woillez",
];

/// How many of each header kind were written.
#[derive(Debug, Default, Clone, Copy, PartialEq)]
pub struct DemoCounts {
    pub exposures: u64,
    pub dropped: u64,
}

struct Star {
    name: String,
    /// Another catalogue's name for the same star, used in some programs.
    alias: String,
    ra: f64,
    dec: f64,
    calibrator: usize,
}

struct Program {
    id: String,
    pi_coi: String,
    instrument: usize,
    mjd_start: f64,
    stars: Vec<usize>,
}

/// Writes headers (one card per line, `END` after each) for `exposures` exposures.
pub fn write_demo_headers(
    out: &mut impl Write,
    exposures: u64,
    seed: u64,
) -> io::Result<DemoCounts> {
    let instruments = Instruments::load();
    let mut generator = Generator::new(&instruments, exposures, seed);
    let mut counts = DemoCounts::default();
    while counts.exposures < exposures {
        generator.observe_one_block(out, &mut counts, exposures)?;
    }
    Ok(counts)
}

struct Generator<'a> {
    rng: ChaCha8Rng,
    instruments: Vec<&'a Instrument>,
    stars: Vec<Star>,
    programs: Vec<Program>,
    used_ids: HashSet<(usize, i64)>,
    ob_id: i64,
}

impl<'a> Generator<'a> {
    fn new(instruments: &'a Instruments, exposures: u64, seed: u64) -> Self {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let instruments: Vec<&Instrument> = CAREERS
            .iter()
            .map(|career| {
                instruments
                    .get(career.0)
                    .expect("every career names a known instrument")
            })
            .collect();
        let stars = make_stars(&mut rng, (exposures / 40).clamp(10, 20_000) as usize);
        let programs = make_programs(
            &mut rng,
            (exposures / 150).clamp(3, 5_000) as usize,
            stars.len(),
        );
        Generator {
            rng,
            instruments,
            stars,
            programs,
            used_ids: HashSet::new(),
            ob_id: 200_000_000,
        }
    }

    /// One visit of a program: an OB on a science star, then one on its calibrator,
    /// each an acquisition followed by exposures with skies and calibrations between them.
    fn observe_one_block(
        &mut self,
        out: &mut impl Write,
        counts: &mut DemoCounts,
        target: u64,
    ) -> io::Result<()> {
        let program = &self.programs[self.rng.gen_range(0..self.programs.len())];
        let instrument_index = program.instrument;
        let career = CAREERS[instrument_index];
        let instrument = self.instruments[instrument_index];
        let star_index = *program
            .stars
            .choose(&mut self.rng)
            .expect("programs have stars");
        let program_id = program.id.clone();
        let pi_coi = program.pi_coi.clone();
        // A night within the program's period; observations run 23h-09h UT at Paranal.
        let night = (program.mjd_start + self.rng.gen_range(0.0..180.0f64)).floor();
        let mut clock = night + self.rng.gen_range(23.0..31.0) / 24.0;
        // Modes of the instrument's setup that night (PIONIER changed its optics in 2015).
        let year = 2000.0 + (night - 51_544.5) / 365.25;
        let offered: Vec<&Mode> = instrument
            .modes
            .iter()
            .filter(|mode| {
                mode.years
                    .is_none_or(|[from, to]| (from..=to).contains(&year))
            })
            .collect();
        let mode = *offered
            .choose(&mut self.rng)
            .expect("every year of a career has modes");
        let submode = instrument.submodes.choose(&mut self.rng);
        let configuration = *match career.4 {
            4 => CONFIGURATIONS_4,
            3 => CONFIGURATIONS_3,
            _ => CONFIGURATIONS_2,
        }
        .choose(&mut self.rng)
        .expect("configurations");
        let seeing = (0.35 + self.rng.gen::<f64>().powi(2) * 1.6).min(2.5);
        let tau0 = 0.0015 + self.rng.gen::<f64>() * 0.008;
        let temperature = self.rng.gen_range(6.0..19.0);

        let calibrator = self.stars[star_index].calibrator;
        for (star, obs_type) in [(star_index, "SCIENCE"), (calibrator, "CALIB")] {
            if counts.exposures >= target {
                break;
            }
            self.ob_id += 1;
            let use_alias = self.rng.gen_bool(0.1);
            // Pointings scatter by well under an arcsecond around the catalogue position.
            let jitter: [f64; 2] = [0, 1].map(|_| self.rng.gen_range(-0.15..0.15) / 3600.0);
            let (name, ra, dec) = {
                let s = &self.stars[star];
                let name = if use_alias {
                    s.alias.clone()
                } else {
                    s.name.clone()
                };
                (
                    name,
                    s.ra + jitter[0] / s.dec.to_radians().cos().max(0.05),
                    s.dec + jitter[1],
                )
            };
            let setting = Setting {
                instrument,
                mode_keywords: &mode.keywords,
                submode,
                program_id: &program_id,
                pi_coi: &pi_coi,
                ob_id: self.ob_id,
                target: &name,
                ra,
                dec,
                stations: configuration,
                catg: obs_type,
            };
            self.write_frame(
                out,
                &setting,
                &mut clock,
                Frame::Dropped("ACQUISITION", "OBJECT", "IMAGE"),
                0.0,
            )?;
            counts.dropped += 1;
            let exposures = self.rng.gen_range(2..=5).min(target - counts.exposures);
            for index in 0..exposures {
                let weather = Weather {
                    seeing: seeing * self.rng.gen_range(0.9..1.1),
                    tau0: tau0 * self.rng.gen_range(0.9..1.1),
                    temperature,
                };
                self.write_frame(
                    out,
                    &setting,
                    &mut clock,
                    Frame::Exposure(weather),
                    career.5,
                )?;
                counts.exposures += 1;
                let extra = [
                    ("CALIB", "DARK", "IMAGE"),
                    ("CALIB", "FLAT", "IMAGE"),
                    ("CALIB", "WAVE", "INTERFEROMETRY"),
                    ("TEST", "OBJECT", "INTERFEROMETRY"),
                ][self.rng.gen_range(0..4)];
                let dropped_after: &[(&str, &str, &str)] = if index + 1 < exposures {
                    &[(obs_type, "SKY", "INTERFEROMETRY"), extra]
                } else {
                    &[(obs_type, "SKY", "INTERFEROMETRY")]
                };
                for &(catg, kind, tech) in dropped_after {
                    self.write_frame(
                        out,
                        &setting,
                        &mut clock,
                        Frame::Dropped(catg, kind, tech),
                        30.0,
                    )?;
                    counts.dropped += 1;
                }
            }
            clock += self.rng.gen_range(10.0..25.0) / 1440.0;
        }
        Ok(())
    }

    fn write_frame(
        &mut self,
        out: &mut impl Write,
        setting: &Setting,
        clock: &mut f64,
        frame: Frame,
        exptime: f64,
    ) -> io::Result<()> {
        // Unique ARCFILE per instrument: bump by a millisecond on a clash.
        let instrument_index = self
            .instruments
            .iter()
            .position(|i| i.name == setting.instrument.name)
            .unwrap();
        let mut millis = (*clock * 86_400_000.0).round() as i64;
        while !self.used_ids.insert((instrument_index, millis)) {
            millis += 1;
        }
        let mjd = millis as f64 / 86_400_000.0;
        let date = crate::mjd::to_datetime(mjd).expect("demo dates are in range");
        let date_text = date.format("%Y-%m-%dT%H:%M:%S%.3f").to_string();
        let mut cards = Cards {
            rewritten: self.rng.gen_bool(0.2),
            ..Cards::default()
        };
        cards.logical("SIMPLE", true);
        cards.integer("BITPIX", 16);
        cards.integer("NAXIS", 0);
        cards.string("ORIGIN", "ESO-PARANAL");
        let telescopes = if setting.stations.starts_with('U') {
            "ESO-VLTI-U1234"
        } else {
            "ESO-VLTI-A1234"
        };
        cards.string("TELESCOP", telescopes);
        cards.string("INSTRUME", &setting.instrument.name);
        cards.string("OBJECT", setting.target);
        cards.real("RA", setting.ra);
        cards.real("DEC", setting.dec);
        cards.real("EQUINOX", 2000.0);
        cards.string("DATE-OBS", &date_text);
        cards.real("MJD-OBS", mjd);
        let arcfile = format!("{}.{date_text}.fits", setting.instrument.arcfile_prefix);
        cards.string("ARCFILE", &arcfile);
        cards.integer("HIERARCH ESO OBS ID", setting.ob_id);
        cards.string("HIERARCH ESO OBS PROG ID", setting.program_id);
        cards.string("HIERARCH ESO OBS PI-COI NAME", setting.pi_coi);
        cards.string("HIERARCH ESO OBS TARG NAME", setting.target);

        let (catg, kind, tech) = match &frame {
            Frame::Exposure(_) => (setting.catg, "OBJECT", "INTERFEROMETRY"),
            Frame::Dropped(catg, kind, tech) => (*catg, *kind, *tech),
        };
        cards.string("HIERARCH ESO DPR CATG", catg);
        // As raw frames say them: GRAVITY's field in DPR TYPE (OBJECT,SINGLE); PIONIER's
        // science as IMAGE until 2013-05, then FRINGE,OBJECT (FRINGE,STD for calibrators).
        let pionier = setting.instrument.name == "PIONIER";
        let (kind, tech) = match (&frame, pionier) {
            (Frame::Exposure(_), true) if mjd < PIONIER_FRINGE_TYPES => (kind.into(), "IMAGE"),
            (Frame::Exposure(_), true) if catg == "CALIB" => ("FRINGE,STD".to_string(), tech),
            (Frame::Exposure(_), true) => ("FRINGE,OBJECT".to_string(), tech),
            _ => match setting.submode.filter(|_| kind == "OBJECT") {
                Some(submode) => (format!("{kind},{}", submode.name), tech),
                None => (kind.to_string(), tech),
            },
        };
        cards.string("HIERARCH ESO DPR TYPE", &kind);
        cards.string("HIERARCH ESO DPR TECH", tech);
        for (key, value) in setting.mode_keywords {
            cards.string(key, value);
        }
        for (key, value) in setting.submode.iter().flat_map(|s| &s.keywords) {
            cards.string(key, value);
        }

        if let Frame::Exposure(weather) = &frame {
            let exptime = (exptime * self.rng.gen_range(0.8..1.2f64)).round().max(1.0);
            // Where the instrument's integration time is read first: EXPTIME or NDIT x DIT.
            match setting.instrument.duration[0].split_once(" * ") {
                Some((count, each)) => {
                    let ndit = [4, 8, 12, 20, 50][self.rng.gen_range(0..5)];
                    cards.integer(count, ndit);
                    cards.real(each, exptime / ndit as f64);
                }
                None => cards.real(&setting.instrument.duration[0], exptime),
            }
            let mjd_end = mjd + exptime / 86_400.0;
            let stations: Vec<&str> = setting.stations.split(' ').collect();
            cards.integer("HIERARCH ESO ISS CONF NTEL", stations.len() as i64);
            for (i, station) in stations.iter().enumerate() {
                cards.string(&format!("HIERARCH ESO ISS CONF STATION{}", i + 1), station);
            }
            // A few headers lack their baselines or weather, as real ones sometimes do.
            if !self.rng.gen_bool(0.01) {
                let vlti = crate::geometry::site("VLTI").expect("the VLTI's stations");
                for i in 0..stations.len() {
                    for j in i + 1..stations.len() {
                        for (at, when) in [("START", mjd), ("END", mjd_end)] {
                            let seen = vlti
                                .baseline(stations[i], stations[j], setting.ra, setting.dec, when)
                                .expect("configurations use VLTI stations");
                            let (length, angle) = (seen.length, seen.angle);
                            cards.real(
                                &format!("HIERARCH ESO ISS PBL{}{} {at}", i + 1, j + 1),
                                round3(length),
                            );
                            cards.real(
                                &format!("HIERARCH ESO ISS PBLA{}{} {at}", i + 1, j + 1),
                                round3(angle),
                            );
                        }
                    }
                }
            }
            if !self.rng.gen_bool(0.03) {
                // When the seeing monitor gave nothing, ESO writes -1 and 0.
                let placeholders = self.rng.gen_bool(0.02);
                for at in ["START", "END"] {
                    cards.real(
                        &format!("HIERARCH ESO ISS AMBI FWHM {at}"),
                        if placeholders {
                            -1.0
                        } else {
                            round3(weather.seeing)
                        },
                    );
                    cards.real(
                        &format!("HIERARCH ESO ISS AMBI TAU0 {at}"),
                        if placeholders {
                            0.0
                        } else {
                            (weather.tau0 * 1e6).round() / 1e6
                        },
                    );
                }
            }
            if !self.rng.gen_bool(0.02) {
                cards.real("HIERARCH ESO ISS AMBI TEMP", round3(weather.temperature));
            }
            *clock = mjd_end + self.rng.gen_range(20.0..60.0) / 86_400.0;
        } else {
            cards.real("EXPTIME", exptime.max(1.0));
            *clock = mjd + (exptime.max(60.0) + 20.0) / 86_400.0;
        }
        cards.end(out)
    }
}

/// PIONIER's science frames say DPR TECH = 'IMAGE' until 2013-05 (MJD 56413).
const PIONIER_FRINGE_TYPES: f64 = 56_413.0;

struct Setting<'a> {
    instrument: &'a Instrument,
    mode_keywords: &'a std::collections::BTreeMap<String, String>,
    submode: Option<&'a Submode>,
    program_id: &'a str,
    pi_coi: &'a str,
    ob_id: i64,
    target: &'a str,
    ra: f64,
    dec: f64,
    stations: &'a str,
    catg: &'a str,
}

struct Weather {
    seeing: f64,
    tau0: f64,
    temperature: f64,
}

enum Frame {
    Exposure(Weather),
    /// DPR CATG, TYPE, TECH of a frame the filter must drop.
    Dropped(&'static str, &'static str, &'static str),
}

/// Header cards as lines of at most 80 characters, in one of the two layouts real headers
/// come in: ESO's (`KEY = 'value   '`, strings padded to 8) or a rewriting tool's
/// (`KEY= 'value'`, no blank before `=` on HIERARCH cards, strings unpadded).
#[derive(Default)]
struct Cards {
    text: String,
    rewritten: bool,
}

impl Cards {
    fn card(&mut self, key: &str, value: &str) {
        let line = match (key.starts_with("HIERARCH"), self.rewritten) {
            (true, false) => format!("{key} = {value}"),
            (true, true) => format!("{key}= {value}"),
            (false, _) => format!("{key:<8}= {value:>20}"),
        };
        debug_assert!(line.len() <= 80, "{line}");
        self.text.push_str(&line);
        self.text.push('\n');
    }

    fn string(&mut self, key: &str, value: &str) {
        let value = value.replace('\'', "''");
        let quoted = if self.rewritten {
            format!("'{value}'")
        } else {
            format!("'{value:<8}'")
        };
        self.card(key, &quoted);
    }

    fn real(&mut self, key: &str, value: f64) {
        let text = if value.fract() == 0.0 {
            format!("{value:.1}")
        } else {
            value.to_string()
        };
        self.card(key, &text);
    }

    fn integer(&mut self, key: &str, value: i64) {
        self.card(key, &value.to_string());
    }

    fn logical(&mut self, key: &str, value: bool) {
        self.card(key, if value { "T" } else { "F" });
    }

    fn end(mut self, out: &mut impl Write) -> io::Result<()> {
        self.text.push_str("END\n");
        out.write_all(self.text.as_bytes())
    }
}

fn round3(value: f64) -> f64 {
    (value * 1000.0).round() / 1000.0
}

/// CHARA's combiners as the demo data uses them: ASPRO2's name, modes, telescopes combined.
const CHARA_COMBINERS: &[(&str, &[&str], usize)] = &[
    ("CLIMB", &["H", "K-Prime"], 3),
    ("CLASSIC", &["H", "K-Prime"], 2),
    ("MIRCX-MYSTIC", &["Low_H", "Medium_H", "Low_K"], 6),
    ("SPICA", &["LR", "MR640"], 6),
    ("PAVO", &["R"], 3),
    ("VEGA", &["R2656"], 4),
];
const CHARA_STATIONS: [&str; 6] = ["S1", "S2", "E1", "E2", "W1", "W2"];

/// A CHARA observation log of `observations` rows in the layout JMMC's OiDB reads, and the
/// positions table that places its stars (northern ones of the same kind of sky as the VLTI
/// demo), the same for the same seed. Returns the rows written.
pub fn write_demo_chara(
    log: &mut impl Write,
    positions: &mut impl Write,
    observations: u64,
    seed: u64,
) -> io::Result<u64> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0xC4A2A);
    let stars: Vec<Star> = make_stars(&mut rng, 120)
        .into_iter()
        .filter(|star| star.dec > -25.0)
        .collect();
    writeln!(positions, "name,ra,dec")?;
    for star in &stars {
        writeln!(positions, "{},{:.6},{:.6}", star.name, star.ra, star.dec)?;
    }
    writeln!(
        log,
        "UT-DATE,STAR,PI,PROGRAM,COMBINER,TYPE,MJD,FILTER,SCOPES,B1,B2,B3,T0_OBS,T0_500nm"
    )?;
    for index in 0..observations {
        let star = &stars[rng.gen_range(0..stars.len())];
        let (combiner, modes, telescopes) =
            CHARA_COMBINERS[rng.gen_range(0..CHARA_COMBINERS.len())];
        let mut scopes = CHARA_STATIONS.to_vec();
        scopes.shuffle(&mut rng);
        scopes.truncate(telescopes);
        // Nights from 2012 to 2025, 03h to 12h UT at Mount Wilson.
        let night = 55_927.0 + rng.gen_range(0..5000) as f64;
        let mjd = night + rng.gen_range(3.0..12.0) / 24.0 + index as f64 * 1e-7;
        let date = crate::mjd::to_datetime(mjd).expect("demo dates are in range");
        let kind = if rng.gen_bool(0.25) { "CAL1" } else { "OBJ" };
        let pi = SURNAMES[rng.gen_range(0..SURNAMES.len())];
        writeln!(
            log,
            "{},{},{pi},{}{}-{}{:02},{combiner},{kind},{mjd:.7},{},{},,,,{:.1},{:.1}",
            date.format("%Y-%m-%d"),
            star.name,
            date.year(),
            // CHARA's semesters: A from January, B from July.
            if date.month() < 7 { "A" } else { "B" },
            &pi[..1],
            rng.gen_range(1..30),
            modes[rng.gen_range(0..modes.len())],
            scopes.concat(),
            rng.gen_range(2.0..6.0),
            rng.gen_range(3.0..9.0),
        )?;
    }
    Ok(observations)
}

/// Science stars clustered on the sky (star-forming regions, the Galactic Centre...), each
/// with a calibrator one to four degrees away. Calibrators follow the science stars in `stars`.
fn make_stars(rng: &mut ChaCha8Rng, count: usize) -> Vec<Star> {
    let clusters: Vec<(f64, f64)> = (0..24)
        .map(|_| {
            (
                rng.gen_range(0.0..360.0),
                (rng.gen_range(-1.0..0.6f64)).asin().to_degrees(),
            )
        })
        .collect();
    let mut stars = Vec::with_capacity(2 * count);
    for index in 0..count {
        let (ra0, dec0) = clusters[index % clusters.len()];
        let dec = (dec0 + rng.gen_range(-6.0..6.0)).clamp(-89.0, 89.0);
        let ra =
            (ra0 + rng.gen_range(-6.0..6.0) / dec.to_radians().cos().max(0.1)).rem_euclid(360.0);
        stars.push(Star {
            name: format!("HD {}", 1000 + index * 7),
            alias: format!("HIP {}", 500 + index * 3),
            ra,
            dec,
            calibrator: count + index,
        });
    }
    for index in 0..count {
        let (ra, dec) = (stars[index].ra, stars[index].dec);
        let offset = rng.gen_range(1.0..4.0);
        let direction = rng.gen_range(0.0..2.0 * PI);
        let cal_dec = (dec + offset * direction.sin()).clamp(-89.5, 89.5);
        let cal_ra =
            (ra + offset * direction.cos() / dec.to_radians().cos().max(0.1)).rem_euclid(360.0);
        stars.push(Star {
            name: format!("HD {}", 300_000 + index * 11),
            alias: format!("HIP {}", 200_000 + index * 5),
            ra: cal_ra,
            dec: cal_dec,
            calibrator: index,
        });
    }
    stars
}

/// Programs spread over each instrument's career, with ids in the format of their period:
/// `088.D-0124(B)` and `0104.C-0425(A)` before period 105, `105.20UA.001` from then on.
fn make_programs(rng: &mut ChaCha8Rng, count: usize, science_stars: usize) -> Vec<Program> {
    let weights: Vec<f64> = CAREERS.iter().map(|career| career.3).collect();
    let total: f64 = weights.iter().sum();
    (0..count)
        .map(|index| {
            let mut pick = rng.gen_range(0.0..total);
            let instrument = weights.iter().position(|w| {
                pick -= w;
                pick < 0.0
            });
            let instrument = instrument.unwrap_or(0);
            let (_, first_year, last_year, ..) = CAREERS[instrument];
            // A program observes for up to half a year after it starts: stay within the career.
            let year = rng.gen_range(first_year..last_year - 0.5);
            let mjd_start = 51_544.5 + (year - 2000.0) * 365.25;
            // ESO period 100 started on 2017-10-01 (MJD 58027); periods last six months.
            let period = 100 + ((mjd_start - 58_027.0) / 182.625).floor() as i64;
            let id = if period >= 105 {
                format!(
                    "{period}.{:02}{}{}.{:03}",
                    rng.gen_range(20..30),
                    letter(rng),
                    letter(rng),
                    rng.gen_range(1..4)
                )
            } else {
                // 088.D-0124(B) before period 100, 0104.C-0425(A) from then on.
                let category = ['A', 'B', 'C', 'D', 'E'][rng.gen_range(0..5)];
                let period = if period < 100 {
                    format!("{period:03}")
                } else {
                    format!("0{period}")
                };
                format!(
                    "{period}.{category}-{:04}({})",
                    rng.gen_range(1..1000) + index % 9000,
                    letter(rng)
                )
            };
            let stars = (0..rng.gen_range(1..6))
                .map(|_| rng.gen_range(0..science_stars))
                .collect();
            let pi_coi = format!(
                "{}/{}",
                SURNAMES[rng.gen_range(0..SURNAMES.len())],
                SURNAMES[rng.gen_range(0..SURNAMES.len())]
            );
            Program {
                id,
                pi_coi,
                instrument,
                mjd_start,
                stars,
            }
        })
        .collect()
}

fn letter(rng: &mut ChaCha8Rng) -> char {
    (b'A' + rng.gen_range(0..8u8)) as char
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_headers_and_two_dropped_per_exposure() {
        let mut first = Vec::new();
        let counts = write_demo_headers(&mut first, 300, 7).unwrap();
        let mut second = Vec::new();
        write_demo_headers(&mut second, 300, 7).unwrap();
        assert!(first == second, "deterministic for a seed");
        assert_eq!(counts.exposures, 300);
        let ratio = counts.dropped as f64 / counts.exposures as f64;
        assert!((1.5..2.5).contains(&ratio), "dropped per exposure {ratio}");
    }
}
