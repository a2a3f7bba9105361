//! TAP benchmark (not a test): `cargo bench --bench tap`.
//!
//! First, the result writers alone on one core: rows/s writing a synthetic `obsportal.exposures`
//! row (31 columns, text, doubles, integers, timestamps) into memory, beside a plain
//! `Vec::extend_from_slice` of the same row's TABLEDATA bytes as the reference.
//!
//! Then it starts the release server on an embedded cluster holding EXPOSURES demo exposures
//! (default 1,000,000; the data directory is kept in /tmp between runs), and, in the same run:
//! - streams `SELECT * FROM obsportal.exposures` through `/tap/sync` as BINARY2, TABLEDATA,
//!   CSV, JSON, FITS and VOParquet: time to first byte, rows/s, MB/s and the server's peak
//!   resident memory while it streams, beside the reference `psql COPY (same SELECT) TO STDOUT` timed in the same run;
//! - the same for MULTIPLY times as many rows (default 10: every exposure crossed with ten
//!   exposures), to show that memory does not grow with the result;
//! - ADQL cone searches through `/tap/sync` from 1, 4 and 16 concurrent clients beside
//!   `pgbench` running the equivalent prepared pg_sphere query.
//!
//! Environment: OBSPORTAL_BENCH_EXPOSURES, OBSPORTAL_BENCH_MULTIPLY,
//! OBSPORTAL_BENCH_SECONDS (per cone measurement, default 10). Arguments after `--` choose
//! parts (`writers`, `streams`, `cones`; all by default): `cargo bench --bench tap -- cones`.

mod common;

use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use obsportal::votable::{
    Binary2Writer, Cell, CsvWriter, Datatype, Field, Preamble, ResultWriter, TableDataWriter,
    TimestampStyle,
};

use common::keep_alive::form;
use common::{compare_cones, env_number, read_targets, BenchServer, API_COLUMNS, RADIUS_ARCSEC};

fn main() {
    let exposures: u64 = env_number("OBSPORTAL_BENCH_EXPOSURES", 1_000_000);
    let multiply: u64 = env_number("OBSPORTAL_BENCH_MULTIPLY", 10);
    let seconds: u64 = env_number("OBSPORTAL_BENCH_SECONDS", 10);
    let parts: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    let run = |part: &str| parts.is_empty() || parts.iter().any(|p| p == part);
    if run("writers") {
        writer_rates(env_number("OBSPORTAL_BENCH_WRITER_ROWS", 2_000_000));
    }
    if !run("streams") && !run("cones") {
        return;
    }

    let server = BenchServer::start("tap", exposures);
    let (base_url, data_dir) = (server.url.clone(), server.data_dir.clone());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (targets, connection) = runtime.block_on(read_targets(&data_dir));

    let all = "SELECT * FROM obsportal.exposures";
    let crossed = format!(
        "SELECT e.* FROM obsportal.exposures AS e \
         CROSS JOIN (SELECT TOP {multiply} exp_id FROM obsportal.exposures) AS t"
    );
    let crossed_sql = format!(
        "SELECT e.* FROM obsportal.exposures AS e \
         CROSS JOIN (SELECT exp_id FROM obsportal.exposures LIMIT {multiply}) AS t"
    );
    let streams = [
        ("every exposure", all.to_string(), all.to_string()),
        ("every exposure x MULTIPLY", crossed, crossed_sql),
    ];
    for (label, adql, sql) in streams.into_iter().filter(|_| run("streams")) {
        println!("\n== streaming {label}: /tap/sync vs psql COPY of the same rows");

        let copy_seconds = psql_copy(&connection, &sql);
        let rows = count_rows(&connection, &sql);
        println!(
            "{:>10} {:>10} {:>12} {:>10} {:>10} {:>12} {:>10}",
            "format", "ttfb ms", "rows/s", "MB/s", "seconds", "peak RSS MB", "vs COPY"
        );
        println!(
            "{:>10} {:>10} {:>12} {:>10} {:>10.1} {:>12} {:>10.2}",
            "COPY", "", "", "", copy_seconds, "", 1.0
        );
        for format in ["votable/b2", "votable", "csv", "json", "fits", "parquet"] {
            let stream = runtime.block_on(stream_query(&base_url, &adql, format, server.pid()));
            if let Some(failure) = stream.failure {
                println!(
                    "{format:>10} stopped after {:.1} s (peak RSS {:.1} MB): {failure}",
                    stream.seconds, stream.peak_rss_mb
                );
                continue;
            }
            match format {
                "csv" => assert_eq!(stream.row_marks, rows + 1, "CSV lines: header + rows"),
                "votable" => assert_eq!(stream.row_marks, rows, "TABLEDATA rows"),
                _ => {}
            }
            println!(
                "{format:>10} {:>10.1} {:>12.0} {:>10.1} {:>10.1} {:>12.1} {:>10.2}",
                stream.first_byte_ms,
                rows as f64 / stream.seconds,
                stream.bytes as f64 / 1e6 / stream.seconds,
                stream.seconds,
                stream.peak_rss_mb,
                copy_seconds / stream.seconds
            );
        }
    }

    if !run("cones") {
        return;
    }
    println!(
        "\n== ADQL cone searches: /tap/sync vs pgbench (same rows, same database), {seconds} s each"
    );
    compare_cones(
        &runtime,
        &server,
        &connection,
        &targets,
        seconds,
        "/tap/sync",
        &|(ra, dec)| {
            let query = format!(
                "SELECT {API_COLUMNS} FROM obsportal.exposures WHERE \
                 1 = CONTAINS(POINT('ICRS', target_ra, target_dec), \
                 CIRCLE('ICRS', {ra}, {dec}, {RADIUS_ARCSEC:.1} / 3600.0)) \
                 ORDER BY exp_mjd_start, exp_id"
            );
            form(&[
                ("REQUEST", "doQuery"),
                ("LANG", "ADQL"),
                ("QUERY", query.as_str()),
            ])
        },
    );
}

/// Rows/s of each writer over the same synthetic row, draining its output as the server does.
fn writer_rates(rows: u64) {
    let table = obsportal::schema::published_table("exposures");
    let fields: Vec<Field> = table.columns.iter().map(Field::from_column).collect();
    let now = chrono::Utc::now();
    let cells: Vec<Cell<'_>> = fields
        .iter()
        .map(|field| match field.datatype {
            _ if field.xtype.as_deref() == Some("timestamp") => Cell::Timestamp(now),
            Datatype::Float | Datatype::Double => Cell::Double(58_849.146_388_963),
            Datatype::Short | Datatype::Int | Datatype::Long => Cell::Integer(1_234_567),
            Datatype::Boolean => Cell::Boolean(true),
            Datatype::Char | Datatype::UnicodeChar => Cell::Text("GRAVI.2020-01-09T03:34:07.546_1"),
        })
        .collect();
    let preamble = Preamble::default();
    let style = TimestampStyle::Dali;
    let writers: Vec<(&str, Box<dyn ResultWriter>)> = vec![
        (
            "TABLEDATA",
            Box::new(TableDataWriter::start(Vec::new(), &preamble, &fields, style).unwrap()),
        ),
        (
            "BINARY2",
            Box::new(Binary2Writer::start(Vec::new(), &preamble, &fields, style).unwrap()),
        ),
        (
            "CSV",
            Box::new(CsvWriter::start(Vec::new(), &fields, style).unwrap()),
        ),
    ];
    println!(
        "== writers alone, one core, {rows} rows of {} columns",
        fields.len()
    );
    println!(
        "{:>10} {:>14} {:>10} {:>14}",
        "writer", "rows/s", "MB/s", "x memcpy"
    );
    let mut row_bytes = Vec::new();
    let reference = {
        let mut writer = TableDataWriter::start(Vec::new(), &preamble, &fields, style).unwrap();
        writer.take_output();
        writer.write_row(&cells).unwrap();
        row_bytes.extend(writer.take_output());
        let mut out = Vec::with_capacity(1 << 17);
        let started = Instant::now();
        for _ in 0..rows {
            out.extend_from_slice(std::hint::black_box(&row_bytes));
            if out.len() > 1 << 16 {
                std::hint::black_box(&out);
                out.clear();
            }
        }
        rows as f64 / started.elapsed().as_secs_f64()
    };
    println!(
        "{:>10} {reference:>14.0} {:>10.0} {:>14.2}",
        "memcpy",
        reference * row_bytes.len() as f64 / 1e6,
        1.0
    );
    for (label, mut writer) in writers {
        writer.take_output();
        let (started, mut bytes) = (Instant::now(), 0);
        for _ in 0..rows {
            writer.write_row(std::hint::black_box(&cells)).unwrap();
            if writer.buffered_len() > 1 << 16 {
                bytes += std::hint::black_box(writer.take_output()).len();
            }
        }
        let rate = rows as f64 / started.elapsed().as_secs_f64();
        println!(
            "{label:>10} {rate:>14.0} {:>10.0} {:>14.2}",
            rate * bytes as f64 / rows as f64 / 1e6,
            rate / reference
        );
    }
}

/// Seconds `psql` takes to COPY the rows of `sql` to a discarded stdout.
fn psql_copy(connection: &str, sql: &str) -> f64 {
    let started = Instant::now();
    let status = Command::new("/usr/lib/postgresql/15/bin/psql")
        .arg(connection)
        .args(["-X", "-q", "-c"])
        .arg(format!("COPY ({sql}) TO STDOUT"))
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    started.elapsed().as_secs_f64()
}

struct Streamed {
    first_byte_ms: f64,
    seconds: f64,
    bytes: u64,
    /// CSV lines or TABLEDATA rows seen; 0 for BINARY2, whose rows are not delimited.
    row_marks: u64,
    peak_rss_mb: f64,
    /// Why the stream did not complete (the statement timeout, mostly).
    failure: Option<String>,
}

/// Runs `adql` through /tap/sync in `format`, reading the answer chunk by chunk (as a client
/// writing to disk would) while a thread samples the server's resident memory.
async fn stream_query(base_url: &str, adql: &str, format: &str, server_pid: u32) -> Streamed {
    let peak_kb = Arc::new(AtomicU64::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (peak_kb, done) = (peak_kb.clone(), done.clone());
        std::thread::spawn(move || {
            while !done.load(Ordering::Relaxed) {
                peak_kb.fetch_max(resident_kb(server_pid), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(10));
            }
        })
    };

    let started = Instant::now();
    let mut response = reqwest::Client::new()
        .post(format!("{base_url}/tap/sync"))
        .form(&[
            ("REQUEST", "doQuery"),
            ("LANG", "ADQL"),
            ("MAXREC", "10000000"),
            ("FORMAT", format),
            ("QUERY", adql),
        ])
        .send()
        .await
        .unwrap();
    assert!(response.status().is_success());
    let mut first_byte = None;
    let (mut bytes, mut row_marks) = (0u64, 0u64);
    let (mut tail, mut carry) = (Vec::new(), Vec::new());
    let mut failure = None;
    loop {
        let chunk = match response.chunk().await {
            Ok(Some(chunk)) => chunk,
            Ok(None) => break,
            Err(error) => {
                failure = Some(format!("the stream broke off ({error})"));
                break;
            }
        };
        first_byte.get_or_insert_with(|| started.elapsed());
        bytes += chunk.len() as u64;
        row_marks += count_row_marks(format, &mut carry, &chunk);
        tail = chunk[chunk.len().saturating_sub(4096)..].to_vec();
    }
    let seconds = started.elapsed().as_secs_f64();
    done.store(true, Ordering::Relaxed);
    sampler.join().unwrap();

    let tail = String::from_utf8_lossy(&tail);
    assert!(!tail.contains("OVERFLOW"), "MAXREC cut the result");
    // A VOTable reports an error after its rows; CSV can only break the connection.
    let failure = failure.or_else(|| {
        let (_, message) = tail.split_once(r#"<INFO name="QUERY_STATUS" value="ERROR">"#)?;
        Some(
            message
                .split("</INFO>")
                .next()
                .unwrap_or_default()
                .to_string(),
        )
    });
    Streamed {
        first_byte_ms: first_byte.unwrap().as_secs_f64() * 1000.0,
        seconds,
        bytes,
        row_marks,
        peak_rss_mb: peak_kb.load(Ordering::Relaxed) as f64 / 1024.0,
        failure,
    }
}

/// Row delimiters in a chunk: CSV lines, or TABLEDATA `<TR>` elements (`carry` holds the last
/// bytes of the previous chunk, so a tag split between two chunks counts once). memchr's
/// vectorised search keeps this client's share of the two cores small.
fn count_row_marks(format: &str, carry: &mut Vec<u8>, chunk: &[u8]) -> u64 {
    match format {
        "csv" => memchr::memchr_iter(b'\n', chunk).count() as u64,
        "votable" => {
            // Only the carried bytes and the chunk's first three can hold a split tag.
            carry.extend_from_slice(&chunk[..chunk.len().min(3)]);
            let split = memchr::memmem::find_iter(carry, b"<TR>").count();
            let whole = memchr::memmem::find_iter(chunk, b"<TR>").count();
            carry.clear();
            carry.extend_from_slice(&chunk[chunk.len().saturating_sub(3)..]);
            (split + whole) as u64
        }
        _ => 0,
    }
}

/// Rows `sql` returns, counted by PostgreSQL.
fn count_rows(connection: &str, sql: &str) -> u64 {
    let output = Command::new("/usr/lib/postgresql/15/bin/psql")
        .arg(connection)
        .args(["-X", "-A", "-t", "-c"])
        .arg(format!("SELECT count(*) FROM ({sql}) AS q"))
        .output()
        .unwrap();
    assert!(output.status.success());
    String::from_utf8(output.stdout)
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

/// Resident memory of a process in KiB, from /proc.
fn resident_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches(" kB").trim().parse().ok())
        })
        .unwrap_or(0)
}
