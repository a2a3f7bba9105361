//! The import itself: read and derive on a blocking thread, COPY into a staging table,
//! apply in SQL, all in one transaction.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use futures_util::SinkExt;
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::Value;
use tokio::sync::mpsc;

use super::derive::{self, Exposure, Verdict};
use super::fits::Header;
use super::sources::{self, Positions};
use super::{ImportSummary, IngestError, Instruments};
use crate::geometry::Sky;

/// Two pointings closer than this are the same target.
const TARGET_RADIUS_ARCSEC: f64 = 5.0;
/// A pause longer than this between two exposures of one OB starts a new observation.
const OBSERVATION_GAP_HOURS: f64 = 1.0;
/// Arbitrary but fixed: serialises imports on one database.
const IMPORT_LOCK_KEY: i64 = 0x0b5_0002;
/// COPY data is sent in chunks of about this size.
const CHUNK_BYTES: usize = 1 << 20;

const STAGING_TABLE: &str = "CREATE TEMP TABLE staged_header (
    ordinal bigint NOT NULL, dp_id text NOT NULL, source text NOT NULL, keywords jsonb NOT NULL,
    drop_reason text,
    exposure_id text, interferometer text, instrument_name text, instrument_mode text,
    instrument_submode text, em_min float8, em_max float8, em_res_power float8,
    program_id text, pi_coi text, ob_id bigint, obs_type text, target_name text,
    ra float8, dec float8, mjd_start float8, mjd_end float8, exptime float8, stations text,
    projected_baselines jsonb, projected_baselines_text text,
    tau0 float8, temperature float8, seeing float8,
    validation_level smallint, validation_log jsonb, date_release timestamptz,
    lst_start float8, lst_end float8, ha_start float8, ha_end float8,
    airmass_start float8, airmass_end float8
) ON COMMIT DROP";

/// How the import shows that it is alive: a bar on a terminal, log lines otherwise.
pub enum Progress {
    Bar(ProgressBar),
    Log,
    Quiet,
}

impl Progress {
    /// A bar when standard error is a terminal, else periodic log lines.
    pub fn for_terminal() -> Self {
        if std::io::stderr().is_terminal() {
            let bar = ProgressBar::new_spinner();
            bar.set_style(
                ProgressStyle::with_template("{spinner} {elapsed} {pos} headers ({per_sec}) {msg}")
                    .expect("valid template"),
            );
            bar.enable_steady_tick(Duration::from_millis(200));
            Progress::Bar(bar)
        } else {
            Progress::Log
        }
    }

    fn headers_read(&self, count: u64, source: &str) {
        match self {
            Progress::Bar(bar) => {
                bar.set_position(count);
                if count.is_multiple_of(1000) {
                    bar.set_message(source.to_string());
                }
            }
            Progress::Log if count.is_multiple_of(100_000) => {
                tracing::info!(headers = count, source, "reading")
            }
            _ => {}
        }
    }

    fn stage(&self, message: &str) {
        match self {
            Progress::Bar(bar) => bar.set_message(message.to_string()),
            Progress::Log => tracing::info!("{message}"),
            Progress::Quiet => {}
        }
    }

    fn finish(&self) {
        if let Progress::Bar(bar) = self {
            bar.finish_and_clear();
        }
    }
}

/// What the reader thread counted.
#[derive(Default)]
struct ReadCounts {
    headers: u64,
    accepted: u64,
    dropped: BTreeMap<String, u64>,
    busy: Duration,
}

/// Imports every header under `paths` in one transaction: all of it, or (on any error) none.
pub async fn import(
    client: &mut tokio_postgres::Client,
    paths: Vec<PathBuf>,
    progress: Progress,
) -> Result<ImportSummary, IngestError> {
    if paths.is_empty() {
        return Err(IngestError::NothingToRead);
    }
    let started = Instant::now();
    let transaction = client.transaction().await?;
    transaction
        .execute("SELECT pg_advisory_xact_lock($1)", &[&IMPORT_LOCK_KEY])
        .await?;
    let sources: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
    let import_id: i64 = transaction
        .query_one(
            "INSERT INTO obsportal.import (sources) VALUES ($1) RETURNING id",
            &[&sources],
        )
        .await?
        .get(0);
    transaction.batch_execute(STAGING_TABLE).await?;

    let (chunks, mut received) = mpsc::channel::<Bytes>(8);
    let progress = std::sync::Arc::new(progress);
    let reader_progress = progress.clone();
    // Star names of targets already known place CHARA log rows too (an operator's positions
    // table, read with the logs, still has the last word). Read only when a log may come: at
    // 1,000,000 exposures it takes 3 s, and harvests import header files alone.
    let known_names = if sources::may_hold_logs(&paths) {
        transaction
            .query(
                "SELECT e.target_name, t.ra, t.dec FROM obsportal.exposure e
                   JOIN obsportal.target t ON t.id = e.target_id
                  GROUP BY e.target_name, t.id, t.ra, t.dec
                  ORDER BY count(*)",
                &[],
            )
            .await?
    } else {
        Vec::new()
    };
    let known = Positions::known(
        known_names
            .iter()
            .map(|row| (row.get(0), row.get(1), row.get(2))),
    );
    let reader =
        tokio::task::spawn_blocking(move || read_all(&paths, known, &chunks, &reader_progress));

    let sink = transaction.copy_in("COPY staged_header FROM STDIN").await?;
    futures_util::pin_mut!(sink);
    let mut copy_result = Ok(());
    while let Some(chunk) = received.recv().await {
        if let Err(error) = sink.send(chunk).await {
            copy_result = Err(error);
            break;
        }
    }
    drop(received); // a reader still sending learns that the database side has stopped
    let counts = reader.await.map_err(|_| IngestError::ReaderStopped)??;
    copy_result?;
    sink.finish().await?;
    let copied = started.elapsed();

    progress.stage("deriving exposures, targets and observations");
    let applied: Value = transaction
        .query_one(
            "SELECT obsportal.apply_staged_headers($1, $2, $3)",
            &[
                &import_id,
                &(TARGET_RADIUS_ARCSEC / 3600.0),
                &(OBSERVATION_GAP_HOURS / 24.0),
            ],
        )
        .await?
        .get(0);
    // Fresh statistics for the planner, in the same transaction: a refreshed materialised view
    // has none until autovacuum gets to it, and a plan for 0.5 % of GRAVITY's rows sorted
    // 100,000 of them per /search page (84 ms; 0.3 ms with an index once analysed).
    progress.stage("analysing the published tables");
    transaction
        .batch_execute("ANALYZE obsportal.exposures, obsportal.baselines")
        .await?;
    transaction.commit().await?;
    // After the commit (VACUUM runs in no transaction): marks the refreshed view's pages all
    // visible, so that crossmatches read positions from its zone index alone (migration 0016)
    // without waiting for autovacuum. The import has landed by then: a failure here is only
    // worth a warning (autovacuum will do it).
    progress.stage("vacuuming the exposures");
    if let Err(error) = client.batch_execute("VACUUM obsportal.exposures").await {
        tracing::warn!(%error, "could not vacuum the exposures after the import");
    }
    progress.finish();

    let count = |key: &str| applied[key].as_u64().unwrap_or(0);
    let total_time = started.elapsed();
    Ok(ImportSummary {
        headers_read: counts.headers,
        headers_new: count("headers_new"),
        headers_changed: count("headers_changed"),
        accepted: counts.accepted,
        dropped: counts.dropped,
        targets_created: count("targets_created"),
        exposures_total: count("exposures_total"),
        observations_total: count("observations_total"),
        targets_total: count("targets_total"),
        parse_time: counts.busy,
        database_time: copied.saturating_sub(counts.busy) + (total_time - copied),
        total_time,
    })
}

/// The reader thread: every header to one COPY row, sent in chunks.
fn read_all(
    paths: &[PathBuf],
    positions: Positions,
    chunks: &mpsc::Sender<Bytes>,
    progress: &Progress,
) -> Result<ReadCounts, IngestError> {
    let instruments = Instruments::load();
    let mut counts = ReadCounts::default();
    let mut buffer = BytesMut::with_capacity(CHUNK_BYTES + (1 << 16));
    let mut busy_since = Instant::now();
    let mut row = CopyRow::default();
    sources::for_each_header(paths, positions, &mut |source: &str, header: Header| {
        counts.headers += 1;
        let Some((dp_id, verdict)) = derive::read(&header, &instruments) else {
            return Err(IngestError::NoDpId {
                source_name: source.to_string(),
                first_card: header.first_card,
                end_card: header.end_card,
            });
        };
        match &verdict {
            Verdict::Accepted(_) => counts.accepted += 1,
            Verdict::Dropped(reason) => *counts.dropped.entry(reason.clone()).or_default() += 1,
        }
        row.write_header(counts.headers, &dp_id, source, &header, &verdict);
        buffer.extend_from_slice(&row.line);
        progress.headers_read(counts.headers, source);
        if buffer.len() >= CHUNK_BYTES {
            counts.busy += busy_since.elapsed();
            chunks
                .blocking_send(buffer.split().freeze())
                .map_err(|_| IngestError::ReaderStopped)?;
            busy_since = Instant::now();
        }
        Ok(())
    })?;
    counts.busy += busy_since.elapsed();
    if !buffer.is_empty() {
        chunks
            .blocking_send(buffer.freeze())
            .map_err(|_| IngestError::ReaderStopped)?;
    }
    Ok(counts)
}

/// For the fuzz target `headers` (`fuzz/`): `bytes` read as a file called `name` would be,
/// every header derived and written to its COPY row as an import does. Errors are the input's.
#[cfg(fuzzing)]
pub fn read_for_fuzzing(name: &str, bytes: &[u8]) {
    static INSTRUMENTS: std::sync::OnceLock<Instruments> = std::sync::OnceLock::new();
    let instruments = INSTRUMENTS.get_or_init(Instruments::load);
    let mut row = CopyRow::default();
    let mut positions = Positions::default();
    let _ = sources::read_stream(
        name,
        Box::new(bytes),
        &mut positions,
        &mut |source, header| {
            if let Some((dp_id, verdict)) = derive::read(&header, instruments) {
                row.write_header(1, &dp_id, source, &header, &verdict);
            }
            Ok(())
        },
    );
}

/// One line of COPY text format, in the column order of the staging table.
#[derive(Default)]
struct CopyRow {
    line: Vec<u8>,
    json: Vec<u8>,
}

impl CopyRow {
    fn write_header(
        &mut self,
        ordinal: u64,
        dp_id: &str,
        source: &str,
        header: &Header,
        verdict: &Verdict,
    ) {
        self.line.clear();
        self.line.extend_from_slice(ordinal.to_string().as_bytes());
        self.text(Some(dp_id));
        self.text(Some(source));
        self.json(&header.keywords);
        match verdict {
            Verdict::Dropped(reason) => {
                self.text(Some(reason));
                // The 33 exposure columns stay empty.
                for _ in 0..33 {
                    self.line.extend_from_slice(b"\t\\N");
                }
            }
            Verdict::Accepted(exposure) => {
                self.text(None);
                self.exposure(exposure);
            }
        }
        self.line.push(b'\n');
    }

    fn exposure(&mut self, e: &Exposure) {
        self.text(Some(&e.id));
        self.text(Some(&e.interferometer));
        self.text(Some(&e.instrument_name));
        self.text(e.instrument_mode.as_deref());
        self.text(e.instrument_submode.as_deref());
        self.number(e.em_min);
        self.number(e.em_max);
        self.number(e.em_res_power);
        self.text(e.program_id.as_deref());
        self.text(e.pi_coi.as_deref());
        self.text(e.ob_id.map(|id| id.to_string()).as_deref());
        self.text(Some(e.obs_type));
        self.text(Some(&e.target_name));
        self.number(Some(e.ra));
        self.number(Some(e.dec));
        self.number(Some(e.mjd_start));
        self.number(e.mjd_end);
        self.number(e.exptime);
        self.text(e.stations.as_deref());
        match &e.projected_baselines {
            Some(value) => self.json(value),
            None => self.text(None),
        }
        self.text(e.projected_baselines_text.as_deref());
        self.number(e.tau0);
        self.number(e.temperature);
        self.number(e.seeing);
        self.text(Some(&e.validation_level.to_string()));
        self.json(&e.validation_log);
        self.text(e.date_release.map(|date| date.to_rfc3339()).as_deref());
        let sky = |pick: fn(&Sky) -> Option<f64>| e.sky.map(|at| at.as_ref().and_then(pick));
        let [lst, hour_angle, airmass] = [
            sky(|at| Some(at.sidereal_time)),
            sky(|at| Some(at.hour_angle)),
            sky(|at| at.airmass),
        ];
        for value in lst.into_iter().chain(hour_angle).chain(airmass) {
            self.number(value);
        }
    }

    /// A tab, then the value escaped for COPY text format (`\N` for NULL).
    fn text(&mut self, value: Option<&str>) {
        self.line.push(b'\t');
        match value {
            None => self.line.extend_from_slice(b"\\N"),
            Some(text) => escape_into(&mut self.line, text.as_bytes()),
        }
    }

    fn number(&mut self, value: Option<f64>) {
        self.text(value.map(|v| v.to_string()).as_deref());
    }

    fn json(&mut self, value: &impl serde::Serialize) {
        self.json.clear();
        serde_json::to_writer(&mut self.json, value).expect("JSON values serialise");
        self.line.push(b'\t');
        escape_into(&mut self.line, &self.json);
    }
}

fn escape_into(out: &mut Vec<u8>, bytes: &[u8]) {
    for &byte in bytes {
        match byte {
            b'\\' => out.extend_from_slice(b"\\\\"),
            b'\t' => out.extend_from_slice(b"\\t"),
            b'\n' => out.extend_from_slice(b"\\n"),
            b'\r' => out.extend_from_slice(b"\\r"),
            _ => out.push(byte),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copy_text_escapes_what_copy_would_misread() {
        let mut out = Vec::new();
        escape_into(&mut out, b"a\\b\tc\nd\re");
        assert_eq!(out, b"a\\\\b\\tc\\nd\\re");
    }
}
