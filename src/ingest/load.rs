//! The import itself: read and derive on a blocking thread, COPY into a staging table,
//! apply in SQL, all in one transaction.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
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
/// Memory for each sort and hash of an import's set-based steps.
const IMPORT_WORK_MEM: &str = "256MB";
/// COPY data is sent in chunks of about this size.
const CHUNK_BYTES: usize = 1 << 20;

/// The staged keywords are compressed as the header rows they go to compress theirs (lz4 where
/// the server has it, migration 0020): a value compressed once is stored as it is in both.
const STAGING_TABLE: &str = "
DO $$
BEGIN
    IF (SELECT attcompression FROM pg_attribute
         WHERE attrelid = 'obsportal.header'::regclass AND attname = 'keywords') = 'l' THEN
        SET LOCAL default_toast_compression = lz4;
    END IF;
END $$;
CREATE TEMP TABLE staged_header (
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
    airmass_start float8, airmass_end float8,
    baseline_station1 text[], baseline_station2 text[],
    baseline_length_start float8[], baseline_length_end float8[],
    baseline_angle_start float8[], baseline_angle_end float8[],
    baseline_u_start float8[], baseline_v_start float8[],
    baseline_u_end float8[], baseline_v_end float8[]
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
    // The set-based steps sort and hash hundreds of thousands of rows (50-60 MB for the last
    // occurrence of each of 600,000 DP.IDs): with the default 4 MB each spilled to temporary
    // files. One import runs at a time.
    transaction
        .batch_execute(&format!("SET LOCAL work_mem = '{IMPORT_WORK_MEM}'"))
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
    let progress = Arc::new(progress);
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
    let read = reader.await.map_err(|_| IngestError::ReaderStopped)?;
    // The database's error first: when it stopped the COPY, the reader's error only says that
    // nobody was receiving any more.
    copy_result?;
    let counts = read?;
    sink.finish().await?;
    let copied = started.elapsed();

    // A bulk import (more headers than the database holds) builds the indexes of the tables
    // it fills after writing their rows: cheaper than growing them row by row (migration 0021).
    let deferred: i32 = transaction
        .query_one("SELECT obsportal.defer_import_indexes()", &[])
        .await?
        .get(0);
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
    if deferred > 0 {
        progress.stage("building the indexes");
        transaction
            .execute("SELECT obsportal.rebuild_deferred_indexes()", &[])
            .await?;
    }
    let dropped = serde_json::to_value(&counts.dropped).expect("counts serialise");
    transaction
        .execute(
            "UPDATE obsportal.import SET headers_read = $2, accepted = $3, dropped = $4
              WHERE id = $1",
            &[
                &import_id,
                &i32::try_from(counts.headers).unwrap_or(i32::MAX),
                &i32::try_from(counts.accepted).unwrap_or(i32::MAX),
                &dropped,
            ],
        )
        .await?;
    // After a bulk import, fresh statistics for the planner, in the same transaction: the
    // tables it filled have none that fit until autovacuum gets to them, and a plan for 0.5 %
    // of GRAVITY's rows sorted 100,000 of them per /search page (84 ms; 0.3 ms with an index
    // once analysed). apply_staged_headers analysed the exposures and baselines before using
    // them (migration 0022), but their indexes on expressions were not built yet. A smaller
    // import leaves the statistics true enough for autovacuum to renew.
    if deferred > 0 {
        progress.stage("analysing the published tables");
        transaction
            .batch_execute(
                "ANALYZE obsportal.exposures, obsportal.baselines, obsportal.targets,
                         obsportal.blocks, obsportal.calibrations",
            )
            .await?;
    }
    transaction.commit().await?;
    // After the commit (VACUUM runs in no transaction): marks the published exposures' pages
    // all visible, so that crossmatches read positions from its zone index alone (migration 0016)
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

/// Headers pass from the reading thread to the deriving one in batches of this many.
const HEADER_BATCH: usize = 256;

/// The reader: every header to one COPY row, sent in chunks. Reading and parsing the files is
/// one thread, deriving and writing the rows another, so that the COPY uses both cores: with
/// one reader thread (14 s of work for 600,000 headers) a sixth of them idled.
fn read_all(
    paths: &[PathBuf],
    positions: Positions,
    chunks: &mpsc::Sender<Bytes>,
    progress: &Progress,
) -> Result<ReadCounts, IngestError> {
    std::thread::scope(|scope| {
        let (batches, received) = std::sync::mpsc::sync_channel::<Vec<(Arc<str>, Header)>>(16);
        let writer = scope.spawn(move || write_rows(received, chunks, progress));
        let mut batch = Vec::with_capacity(HEADER_BATCH);
        let mut file: Option<Arc<str>> = None;
        let read = sources::for_each_header(paths, positions, &mut |source: &str, header| {
            let source = match &file {
                Some(name) if **name == *source => name.clone(),
                _ => file.insert(Arc::from(source)).clone(),
            };
            batch.push((source, header));
            if batch.len() == HEADER_BATCH {
                let full = std::mem::replace(&mut batch, Vec::with_capacity(HEADER_BATCH));
                batches.send(full).map_err(|_| IngestError::ReaderStopped)?;
            }
            Ok(())
        });
        if read.is_ok() && !batch.is_empty() {
            // A writer that has stopped says why below.
            let _ = batches.send(batch);
        }
        drop(batches);
        // The writer's error first: a reader that could not hand on a batch stopped for it.
        let counts = writer.join().expect("the row writer does not panic")?;
        read?;
        Ok(counts)
    })
}

/// The deriving thread: each header to its COPY row, the rows to chunks for the database.
fn write_rows(
    batches: std::sync::mpsc::Receiver<Vec<(Arc<str>, Header)>>,
    chunks: &mpsc::Sender<Bytes>,
    progress: &Progress,
) -> Result<ReadCounts, IngestError> {
    let instruments = Instruments::load();
    let mut counts = ReadCounts::default();
    let mut buffer = BytesMut::with_capacity(CHUNK_BYTES + (1 << 16));
    let mut busy_since = Instant::now();
    let mut row = CopyRow::default();
    for (source, header) in batches.into_iter().flatten() {
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
        row.write_header(counts.headers, &dp_id, &source, &header, &verdict);
        buffer.extend_from_slice(&row.line);
        progress.headers_read(counts.headers, &source);
        if buffer.len() >= CHUNK_BYTES {
            counts.busy += busy_since.elapsed();
            chunks
                .blocking_send(buffer.split().freeze())
                .map_err(|_| IngestError::ReaderStopped)?;
            busy_since = Instant::now();
        }
    }
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
    literal: String,
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
        self.json(&JsonbOrder(&header.keywords));
        match verdict {
            Verdict::Dropped(reason) => {
                self.text(Some(reason));
                // The 43 exposure columns stay empty.
                for _ in 0..43 {
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
        self.baselines(e.projected_baselines.as_ref());
    }

    /// The projected baselines once more, as ten arrays with an element per station pair that
    /// has values (stations, then lengths, angles, u and v at start and end), which
    /// apply_staged_headers unnests into rows of `obsportal.baselines`: reading them back out
    /// of the JSON took PostgreSQL 4 s per million baselines. Pairs and values as the JSON has
    /// them, as migration 0012's `baseline_rows` read them before 0020 dropped it.
    fn baselines(&mut self, baselines: Option<&Value>) {
        let pairs: Vec<(&str, &Value)> = baselines
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .filter(|(_, values)| values.is_object())
            .map(|(pair, values)| (pair.as_str(), values))
            .collect();
        for station in 0..2 {
            self.array(&pairs, |literal, (pair, _)| {
                let name = pair.split('-').nth(station).unwrap_or("");
                literal.push('"');
                for character in name.chars() {
                    if matches!(character, '"' | '\\') {
                        literal.push('\\');
                    }
                    literal.push(character);
                }
                literal.push('"');
            });
        }
        for (what, at) in [
            ("length", "start"),
            ("length", "end"),
            ("angle", "start"),
            ("angle", "end"),
            ("u", "start"),
            ("v", "start"),
            ("u", "end"),
            ("v", "end"),
        ] {
            self.array(&pairs, |literal, (_, values)| {
                match values[what][at].as_f64().filter(|value| value.is_finite()) {
                    // + 0.0 makes -0 a 0, as a JSON number read back by PostgreSQL was.
                    Some(value) => write!(literal, "{}", value + 0.0).expect("a String takes it"),
                    None => literal.push_str("NULL"),
                }
            });
        }
    }

    /// An array in PostgreSQL's text form, an element written by `element` for each item.
    fn array<T>(&mut self, items: &[T], element: impl Fn(&mut String, &T)) {
        let mut literal = std::mem::take(&mut self.literal);
        literal.clear();
        literal.push('{');
        for (index, item) in items.iter().enumerate() {
            if index > 0 {
                literal.push(',');
            }
            element(&mut literal, item);
        }
        literal.push('}');
        self.text(Some(&literal));
        self.literal = literal;
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

/// An object's keys in the order jsonb keeps them (shorter first, then bytewise): PostgreSQL
/// sorts the keys of every object it reads, and its sort finds sorted input sorted in one
/// pass (sorting the keywords was a tenth of its COPY).
struct JsonbOrder<'a>(&'a serde_json::Map<String, Value>);

impl serde::Serialize for JsonbOrder<'_> {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut entries: Vec<(&String, &Value)> = self.0.iter().collect();
        entries.sort_unstable_by(|(a, _), (b, _)| a.len().cmp(&b.len()).then_with(|| a.cmp(b)));
        serializer.collect_map(entries)
    }
}

/// Most values need no escape: runs between the bytes that do are copied whole (byte by byte
/// this was a tenth of the reader's time).
fn escape_into(out: &mut Vec<u8>, mut bytes: &[u8]) {
    while let Some(at) = bytes
        .iter()
        .position(|byte| matches!(byte, b'\\' | b'\t' | b'\n' | b'\r'))
    {
        out.extend_from_slice(&bytes[..at]);
        out.extend_from_slice(match bytes[at] {
            b'\\' => b"\\\\",
            b'\t' => b"\\t",
            b'\n' => b"\\n",
            _ => b"\\r",
        });
        bytes = &bytes[at + 1..];
    }
    out.extend_from_slice(bytes);
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
