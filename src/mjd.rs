//! Modified Julian Dates, as the headers and the published tables give times.

use chrono::{DateTime, Utc};

/// MJD 40587 is 1970-01-01T00:00:00 UTC.
const UNIX_EPOCH_MJD: f64 = 40_587.0;
const MILLISECONDS_PER_DAY: f64 = 86_400_000.0;

pub fn to_datetime(mjd: f64) -> Option<DateTime<Utc>> {
    DateTime::from_timestamp_millis(((mjd - UNIX_EPOCH_MJD) * MILLISECONDS_PER_DAY).round() as i64)
}

pub fn from_datetime(instant: DateTime<Utc>) -> f64 {
    instant.timestamp_millis() as f64 / MILLISECONDS_PER_DAY + UNIX_EPOCH_MJD
}

/// The calendar date of an MJD, e.g. `2020-01-09`.
pub fn date(mjd: f64) -> String {
    to_datetime(mjd)
        .map(|instant| instant.format("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_both_ways() {
        let instant = to_datetime(58857.5).unwrap();
        assert_eq!(instant.to_rfc3339(), "2020-01-09T12:00:00+00:00");
        assert_eq!(from_datetime(instant), 58857.5);
        assert_eq!(date(58857.99), "2020-01-09");
    }
}
