//! CHARA's raw FITS headers, seen as the derivation reads ESO's headers and CHARA's logs. The
//! header as written is what an import stores; this view is only what `derive` reads.
//!
//! MIRC-X and MYSTIC (the keywords of the `mircx_mystic` pipeline): `FILETYPE` says what a file
//! holds (`DATA` are fringes; backgrounds, foregrounds and the like are not exposures),
//! `HIERARCH OBJECT_TYPE = 'REFERENCE'` marks a calibrator, `BEAMORDi` is the CHARA telescope of beam i
//! (0..5 for S1, S2, E1, E2, W1, W2), `RA` is in hours and `DEC` in degrees (either may be
//! sexagesimal), the time is `DATE-OBS` + `UTC-OBS`, and `PROGRAM` / `PI_NAME` name the program.
//! They are given the log reader's keywords (`CHARA TYPE`, `CHARA STATIONS`, ...), RA and DEC in
//! degrees, and an ARCFILE made of INSTRUME and the instant: MIRC-X and MYSTIC record the same
//! observation at once, each an exposure of its own.
//!
//! SPICA writes ESO's hierarchical keywords without `ESO` (`HIERARCH ISS CONF NTEL`, as today's
//! ObsPortal's SPICA validation logs show): each is also read under ESO's name, and validation
//! messages name the keyword as the header writes it (`as_written`).

use std::borrow::Cow;

use chrono::{NaiveDate, NaiveDateTime};
use serde_json::Value;

use super::fits::Header;
use super::instruments::{Dialect, Instruments};

/// CHARA's telescopes in the order MIRC-X's `BEAMORDi` count them (`setup.beam_tel`).
const TELESCOPES: [&str; 6] = ["S1", "S2", "E1", "E2", "W1", "W2"];

/// The dialect of the instrument `header` comes from (ESO's when it is none known). A CHARA
/// log row (`chara_log`) is already in the derivation's words, whatever its combiner.
pub(super) fn dialect(header: &Header, instruments: &Instruments) -> Dialect {
    if header.get("CHARA TYPE").is_some() {
        return Dialect::Eso;
    }
    header
        .text("INSTRUME")
        .and_then(|name| instruments.get(name))
        .map_or(Dialect::Eso, |instrument| instrument.dialect)
}

/// `header`, of an instrument of `dialect`, as the derivation reads it.
pub(super) fn adapted(header: &Header, dialect: Dialect) -> Cow<'_, Header> {
    match dialect {
        Dialect::Eso => Cow::Borrowed(header),
        Dialect::Hierarch => Cow::Owned(with_eso_names(header)),
        Dialect::Mircx => Cow::Owned(from_mircx(header)),
    }
}

/// A validation message about a keyword, naming it as an instrument of `dialect` writes it.
pub(super) fn as_written(message: String, dialect: Dialect) -> String {
    match dialect {
        Dialect::Hierarch => message.replace("HIERARCH ESO ", "HIERARCH "),
        Dialect::Eso | Dialect::Mircx => message,
    }
}

fn with_eso_names(header: &Header) -> Header {
    let mut adapted = header.clone();
    for (key, value) in &header.keywords {
        let Some(rest) = key.strip_prefix("HIERARCH ") else {
            continue;
        };
        if !rest.starts_with("ESO ") {
            adapted
                .keywords
                .entry(format!("HIERARCH ESO {rest}"))
                .or_insert_with(|| value.clone());
        }
    }
    adapted
}

fn from_mircx(header: &Header) -> Header {
    let mut adapted = header.clone();
    let keywords = &mut adapted.keywords;
    let text = |value: &str| Value::String(value.to_string());
    let kind = match header.text("FILETYPE") {
        Some(data) if data.eq_ignore_ascii_case("DATA") => {
            // Longer than FITS's 8 characters, so written by astropy as a HIERARCH card.
            let reference = header
                .text("HIERARCH OBJECT_TYPE")
                .or_else(|| header.text("OBJECT_TYPE"))
                .is_some_and(|kind| kind.eq_ignore_ascii_case("REFERENCE"));
            if reference {
                "CAL1"
            } else {
                "OBJ"
            }
        }
        Some(other) => other,
        None => "UNKNO",
    };
    keywords.insert("CHARA TYPE".into(), text(&kind.to_ascii_uppercase()));
    let stations: Vec<&str> = (0..TELESCOPES.len())
        .filter_map(|beam| header.number(&format!("BEAMORD{beam}")))
        .filter(|index| *index >= 0.0 && index.fract() == 0.0)
        .filter_map(|index| TELESCOPES.get(index as usize).copied())
        .collect();
    if !stations.is_empty() {
        keywords.insert("CHARA STATIONS".into(), text(&stations.join(" ")));
    }
    for (from, to) in [("PROGRAM", "CHARA PROGRAM"), ("PI_NAME", "CHARA PI")] {
        if let Some(value) = header.text(from) {
            keywords.insert(to.into(), text(value));
        }
    }
    // Hours and degrees, decimal or sexagesimal; a value that is neither places nothing
    // rather than being read as degrees.
    let ra = header
        .get("RA")
        .and_then(sexagesimal)
        .filter(|hours| (0.0..24.0).contains(hours));
    let dec = header
        .get("DEC")
        .and_then(sexagesimal)
        .filter(|degrees| (-90.0..=90.0).contains(degrees));
    keywords.remove("RA");
    keywords.remove("DEC");
    if let (Some(ra), Some(dec)) = (ra, dec) {
        keywords.insert("RA".into(), Value::from(ra * 15.0));
        keywords.insert("DEC".into(), Value::from(dec));
    }
    let instant = instant(header).or_else(|| {
        let mjd = header.number("MJD-OBS")?;
        Some(crate::mjd::to_datetime(mjd)?.naive_utc())
    });
    if let Some(instant) = instant {
        if header.number("MJD-OBS").is_none() {
            let mjd = crate::mjd::from_datetime(instant.and_utc());
            keywords.insert("MJD-OBS".into(), Value::from(mjd));
        }
        if let Some(instrument) = header.text("INSTRUME") {
            let id = format!("{instrument}.{}", instant.format("%Y-%m-%dT%H:%M:%S%.3f"));
            keywords.insert("ARCFILE".into(), text(&id));
        }
    }
    adapted
}

/// `DATE-OBS` (`YYYY-MM-DD`, or `MM/DD/YYYY` in older files) + `UTC-OBS`, or `DATE-OBS` alone
/// when it holds the time.
fn instant(header: &Header) -> Option<NaiveDateTime> {
    let date = header.text("DATE-OBS")?;
    if date.contains('T') {
        return NaiveDateTime::parse_from_str(date, "%Y-%m-%dT%H:%M:%S%.f").ok();
    }
    let day = NaiveDate::parse_from_str(date, "%Y-%m-%d")
        .or_else(|_| NaiveDate::parse_from_str(date, "%m/%d/%Y"))
        .ok()?;
    let time = chrono::NaiveTime::parse_from_str(header.text("UTC-OBS")?, "%H:%M:%S%.f").ok()?;
    Some(day.and_time(time))
}

/// A number, or `[+-]a:b:c` / `[+-]a b c` read as a + b/60 + c/3600 with the sign of the whole.
fn sexagesimal(value: &Value) -> Option<f64> {
    let text = match value {
        Value::Number(number) => return number.as_f64(),
        Value::String(text) => text.trim(),
        _ => return None,
    };
    if let Ok(number) = text.parse() {
        return Some(number);
    }
    let negative = text.starts_with('-');
    let parts: Vec<f64> = text
        .trim_start_matches(['+', '-'])
        .split([':', ' '])
        .filter(|part| !part.is_empty())
        .map(|part| part.parse().ok())
        .collect::<Option<_>>()?;
    if parts.is_empty() || parts.len() > 3 || parts[1..].iter().any(|p| !(0.0..60.0).contains(p)) {
        return None;
    }
    let magnitude = parts
        .iter()
        .rev()
        .fold(0.0, |lower, part| part + lower / 60.0);
    Some(if negative { -magnitude } else { magnitude })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sexagesimal_values_keep_the_sign_of_the_whole() {
        let read = |text: &str| sexagesimal(&Value::String(text.into()));
        assert_eq!(read("12:30:00"), Some(12.5));
        assert_eq!(read("-00:30:00"), Some(-0.5));
        assert_eq!(read("+45 15 36"), Some(45.26));
        assert_eq!(read("7.25"), Some(7.25));
        assert_eq!(read("12:61:00"), None);
        assert_eq!(read("north"), None);
    }
}
