//! ESO headers -> filtered exposures -> observations, targets, statistics.
//!
//! An import is one transaction: headers are parsed on a blocking thread and streamed with
//! COPY into a staging table, then `obsportal.apply_staged_headers` (migrations/0002) derives
//! everything set-based. A corrupt file aborts the COPY, and the database stays as it was.

mod baselines;
mod chara_log;
mod chara_raw;
pub mod demo;
mod derive;
mod fits;
mod instruments;
mod load;
mod sources;

use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

pub use fits::FitsError;
use instruments::Instruments;
#[cfg(fuzzing)]
pub use load::read_for_fuzzing;
pub use load::{import, Progress};

#[derive(Debug, thiserror::Error)]
pub enum IngestError {
    #[error("{source_name}: {error}")]
    Corrupt {
        source_name: String,
        error: FitsError,
    },
    #[error(
        "{source_name}: the header at cards {first_card}-{end_card} has no ARCFILE, so no DP.ID"
    )]
    NoDpId {
        source_name: String,
        first_card: u64,
        end_card: u64,
    },
    #[error("{path}: {error}")]
    Io { path: String, error: std::io::Error },
    /// A CSV table (a CHARA log, a positions table) with a row that cannot be read.
    #[error("{source_name}, line {line}: {problem}")]
    BadTable {
        source_name: String,
        line: usize,
        problem: String,
    },
    #[error("no path given to ingest")]
    NothingToRead,
    #[error("database: {0}")]
    Postgres(#[from] tokio_postgres::Error),
    #[error("the header reader stopped unexpectedly")]
    ReaderStopped,
}

/// What an import did, for the operator.
#[derive(Debug, Default, Clone)]
pub struct ImportSummary {
    pub headers_read: u64,
    pub headers_new: u64,
    pub headers_changed: u64,
    pub accepted: u64,
    pub dropped: BTreeMap<String, u64>,
    pub targets_created: u64,
    pub exposures_total: u64,
    pub observations_total: u64,
    pub targets_total: u64,
    /// Time the reader thread spent reading, parsing and deriving (not waiting on the database).
    pub parse_time: Duration,
    /// Time spent waiting on PostgreSQL: COPY beyond parsing, then the set-based derivation.
    pub database_time: Duration,
    pub total_time: Duration,
}

impl fmt::Display for ImportSummary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let seconds = self.total_time.as_secs_f64();
        writeln!(
            f,
            "import finished in {seconds:.1} s: {} headers read ({:.0} headers/s), {} new, {} changed, {} unchanged",
            self.headers_read,
            self.headers_read as f64 / seconds.max(1e-9),
            self.headers_new,
            self.headers_changed,
            self.headers_read - self.headers_new - self.headers_changed,
        )?;
        writeln!(f, "  accepted as exposures: {}", self.accepted)?;
        let dropped: u64 = self.dropped.values().sum();
        let reasons: Vec<String> = self
            .dropped
            .iter()
            .map(|(reason, n)| format!("{reason} {n}"))
            .collect();
        writeln!(f, "  dropped: {dropped} ({})", reasons.join(", "))?;
        writeln!(
            f,
            "  database now holds {} exposures in {} observations of {} targets ({} new targets)",
            self.exposures_total, self.observations_total, self.targets_total, self.targets_created
        )?;
        write!(
            f,
            "  time: parsing {:.1} s, PostgreSQL {:.1} s",
            self.parse_time.as_secs_f64(),
            self.database_time.as_secs_f64()
        )
    }
}
