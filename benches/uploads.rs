//! Uploads and async jobs benchmark (not a test): `cargo bench --bench uploads`.
//!
//! On the release server over EXPOSURES demo exposures (default 300,000; the data directory is
//! shared with the TAP benchmark's), in the same run:
//! - crossmatches through `/tap/sync` (and the same as an async job, end to end): TARGETS
//!   (default 10,000) uploaded targets within 10",
//!   and a 300,000-row upload within 1", each a BINARY2 VOTable as TOPCAT writes it. End to
//!   end, beside the upload alone (`COUNT(*)` of it), and the same steps run in process one by
//!   one: parsing, COPY, the position index, ANALYZE, and the join alone on the loaded table
//!   (the reference); and the same join as pg_sphere runs it alone, without the translator's
//!   zones of declination (a GiST probe per row);
//! - 200 async jobs submitted at once by 20 clients: all complete, none lost, jobs/s;
//! - the job list of a user among 100,000 stored jobs: p50 and p99 latency.
//!
//! Environment: OBSPORTAL_BENCH_EXPOSURES, OBSPORTAL_BENCH_TARGETS.

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{env_number, read_targets, BenchServer};
use obsportal::votable::{
    Binary2Writer, Cell, Datatype, Field, Preamble, ResultWriter, TimestampStyle,
};

fn main() {
    let exposures = env_number("OBSPORTAL_BENCH_EXPOSURES", 300_000);
    let targets = env_number("OBSPORTAL_BENCH_TARGETS", 10_000) as usize;
    let server = BenchServer::start_with(
        "tap",
        exposures,
        &["--user-header", "X-User", "--job-workers", "2"],
    );
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (positions, connection) = runtime.block_on(read_targets(&server.data_dir));
    let (db, driver) = runtime
        .block_on(tokio_postgres::connect(&connection, tokio_postgres::NoTls))
        .unwrap();
    runtime.spawn(driver);

    println!("\n== crossmatches through /tap/sync: end to end, as an async job, the upload alone; then each step in process [s]");
    println!(
        "{:>20} {:>9} {:>10} {:>7} {:>7} {:>7} {:>7} {:>7} {:>7} {:>7} {:>12} {:>8} {:>9}",
        "case",
        "matches",
        "end to end",
        "async",
        "upload",
        "parse",
        "copy",
        "index",
        "analyze",
        "join",
        "parse+copy/s",
        "vs join",
        "pg_sphere"
    );
    for (label, count, radius) in [
        ("10\" x targets", targets, 10.0),
        ("1\" x 300,000", 300_000, 1.0),
    ] {
        // Half on observed positions (slightly off), half anywhere.
        let table: Vec<(f64, f64)> = (0..count)
            .map(|i| {
                if i % 2 == 0 {
                    let (ra, dec) = positions[(i / 2 * 7919) % positions.len()];
                    (ra, (dec + 0.5 / 3600.0).min(90.0))
                } else {
                    let x = i as f64 * 0.618_033_988_75;
                    ((x * 360.0) % 360.0, ((x * 97.0) % 180.0) - 90.0)
                }
            })
            .collect();
        let votable = binary2_targets(&table);
        let join = format!(
            "SELECT COUNT(*) AS n FROM TAP_UPLOAD.t AS t JOIN obsportal.exposures AS e \
             ON CONTAINS(POINT(e.target_ra, e.target_dec), CIRCLE(t.ra, t.dec, {radius} / 3600.0)) = 1"
        );
        // The first run after a start pays for cold caches; the second is reported beside it.
        let (cold, _) = runtime.block_on(timed_upload(&server.url, &join, &votable));
        let (end_to_end, matches) = runtime.block_on(timed_upload(&server.url, &join, &votable));
        let (as_job, job_matches) =
            runtime.block_on(timed_async_upload(&server.url, &join, &votable));
        assert_eq!(job_matches, matches);
        println!(
            "{label:>20} first run after the start: {:.2} s",
            cold.as_secs_f64()
        );
        let (upload_only, uploaded) = runtime.block_on(timed_upload(
            &server.url,
            "SELECT COUNT(*) AS n FROM TAP_UPLOAD.t",
            &votable,
        ));
        assert_eq!(uploaded, count as i64);
        let steps = runtime.block_on(join_on_loaded_table(&db, &join, radius, &votable));
        println!(
            "{label:>20} {matches:>9} {:>10.2} {:>7.2} {:>7.2} {:>7.3} {:>7.3} {:>7.3} {:>7.3} {:>7.2} {:>12.0} {:>8.2} {:>9.2}",
            end_to_end.as_secs_f64(),
            as_job.as_secs_f64(),
            upload_only.as_secs_f64(),
            steps.parse.as_secs_f64(),
            steps.load.copy.as_secs_f64(),
            steps.load.index.as_secs_f64(),
            steps.load.analyze.as_secs_f64(),
            steps.join.as_secs_f64(),
            count as f64 / (steps.parse + steps.load.copy).as_secs_f64(),
            end_to_end.as_secs_f64() / steps.join.as_secs_f64(),
            steps.plain.as_secs_f64(),
        );
    }

    println!("\n== 200 async jobs from 20 clients at once");
    let (elapsed, completed) = runtime.block_on(async_jobs(&server.url, 200, 20));
    println!(
        "   {completed}/200 completed in {:.2} s: {:.1} jobs/s (none lost: {})",
        elapsed.as_secs_f64(),
        completed as f64 / elapsed.as_secs_f64(),
        completed == 200
    );

    println!("\n== the job list with 100,000 jobs stored");
    runtime.block_on(job_list(&db, &server.url));
}

/// Targets as TOPCAT writes a table: VOTable BINARY2.
fn binary2_targets(targets: &[(f64, f64)]) -> String {
    let fields = [
        Field::new("name", Datatype::Char, Some("*")),
        Field::new("ra", Datatype::Double, None),
        Field::new("dec", Datatype::Double, None),
    ];
    let mut writer = Binary2Writer::start(
        Vec::new(),
        &Preamble::default(),
        &fields,
        TimestampStyle::Dali,
    )
    .unwrap();
    for (index, (ra, dec)) in targets.iter().enumerate() {
        let name = format!("target {index}");
        writer
            .write_row(&[Cell::Text(&name), Cell::Double(*ra), Cell::Double(*dec)])
            .unwrap();
    }
    writer.finish(&obsportal::votable::QueryStatus::Ok).unwrap();
    String::from_utf8(writer.take_output()).unwrap()
}

/// POSTs the query with the table as a multipart part to `/tap/sync`; the time and the count
/// it returns.
async fn timed_upload(url: &str, query: &str, votable: &str) -> (Duration, i64) {
    let client = reqwest::Client::new();
    let started = Instant::now();
    let response = client
        .post(format!("{url}/tap/sync"))
        .header("content-type", MULTIPART)
        .body(multipart(query, votable, &[]))
        .send()
        .await
        .unwrap();
    let status = response.status();
    let text = response.text().await.unwrap();
    let elapsed = started.elapsed();
    assert!(status.is_success(), "{status}: {text}");
    (elapsed, csv_count(&text))
}

/// The same as an async job, as a TAP client runs one: created with PHASE=RUN, waited for
/// (UWS's blocking WAIT), its result read.
async fn timed_async_upload(url: &str, query: &str, votable: &str) -> (Duration, i64) {
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let started = Instant::now();
    let created = client
        .post(format!("{url}/tap/async"))
        .header("content-type", MULTIPART)
        .body(multipart(query, votable, &[("PHASE", "RUN")]))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), 303);
    let job = created.headers()["location"].to_str().unwrap().to_string();
    let phase = job_end(&client, &job).await;
    assert_eq!(phase, "COMPLETED");
    let text = text_of(&client, &format!("{job}/results/result")).await;
    let elapsed = started.elapsed();
    client.delete(&job).send().await.unwrap();
    (elapsed, csv_count(&text))
}

const MULTIPART: &str = "multipart/form-data; boundary=bench-boundary";

/// A TAP request with `votable` as the upload `t`, answered in CSV, and `extra` parameters.
fn multipart(query: &str, votable: &str, extra: &[(&str, &str)]) -> String {
    let boundary = "bench-boundary";
    let mut body = String::with_capacity(votable.len() + 1024);
    for (name, value) in [
        ("LANG", "ADQL"),
        ("QUERY", query),
        ("UPLOAD", "t,param:table"),
        ("RESPONSEFORMAT", "csv"),
    ]
    .iter()
    .chain(extra)
    {
        body.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
        ));
    }
    body.push_str(&format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"table\"; filename=\"t.xml\"\r\n\r\n{votable}\r\n--{boundary}--\r\n"
    ));
    body
}

/// The one value of a `COUNT(*)` answered in CSV.
fn csv_count(text: &str) -> i64 {
    text.lines().nth(1).unwrap().trim().parse().unwrap()
}

/// The server's steps, each timed in process.
struct Steps {
    parse: Duration,
    load: obsportal::upload::LoadTimes,
    join: Duration,
    /// The same join as pg_sphere alone runs it (a GiST probe per row), for comparison.
    plain: Duration,
}

/// The upload read and loaded as the server does it, then the translated join alone, prepared
/// as /tap/sync prepares it (MAXREC's default bound included): the reference, what PostgreSQL
/// needs for the join itself.
async fn join_on_loaded_table(
    db: &tokio_postgres::Client,
    query: &str,
    radius: f64,
    votable: &str,
) -> Steps {
    let mut parameters =
        obsportal::http::Parameters::new(vec![("UPLOAD".into(), "t,param:table".into())]);
    parameters
        .files
        .push(("table".into(), votable.to_string().into()));
    let spec = obsportal::upload::specs(&parameters).unwrap().remove(0);
    let started = Instant::now();
    let upload = Arc::new(spec.read(&parameters, &Default::default()).await.unwrap());
    let parse = started.elapsed();
    let prepared = obsportal::query::prepare_with_uploads(
        query,
        Some(obsportal::results::DEFAULT_MAXREC),
        vec![upload.clone()],
    )
    .unwrap();
    db.batch_execute("BEGIN").await.unwrap();
    let load = upload.load(db, prepared.query.index_uploads).await.unwrap();
    let values = obsportal::results::as_sql_parameters(&prepared.query.parameters);
    let statement = db
        .prepare_typed(&prepared.query.sql, &prepared.query.parameter_types)
        .await
        .unwrap();
    let started = Instant::now();
    db.query(&statement, &values).await.unwrap();
    let elapsed = started.elapsed();
    if std::env::var_os("OBSPORTAL_BENCH_EXPLAIN").is_some() {
        let plan = db
            .prepare_typed(
                &format!("EXPLAIN ANALYZE {}", prepared.query.sql),
                &prepared.query.parameter_types,
            )
            .await
            .unwrap();
        for row in db.query(&plan, &values).await.unwrap() {
            println!("      {}", row.get::<_, String>(0));
        }
    }
    let plain = format!(
        "SELECT count(*) FROM pg_temp.t AS t JOIN obsportal.exposures AS e \
         ON spoint(radians(e.target_ra), radians(e.target_dec)) \
            <@ scircle(spoint(radians(t.ra), radians(t.dec)), radians({radius} / 3600.0))"
    );
    // pg_sphere alone needs the upload's position index, which the zones spared: built
    // (untimed) for it.
    if !prepared.query.index_uploads {
        db.batch_execute("CREATE INDEX ON pg_temp.t USING gist (spoint(radians(ra), radians(dec))); ANALYZE pg_temp.t")
            .await
            .unwrap();
    }
    let started = Instant::now();
    db.query(&plain, &[]).await.unwrap();
    let plain = started.elapsed();
    db.batch_execute("ROLLBACK").await.unwrap();
    Steps {
        parse,
        load,
        join: elapsed,
        plain,
    }
}

async fn text_of(http: &reqwest::Client, url: &str) -> String {
    http.get(url).send().await.unwrap().text().await.unwrap()
}

/// The phase a job ends in, waited for as a UWS client waits (blocking WAIT, woken by any
/// change of phase).
async fn job_end(http: &reqwest::Client, job: &str) -> String {
    loop {
        let document = text_of(http, &format!("{job}?WAIT=30")).await;
        let phase = document
            .split("<uws:phase>")
            .nth(1)
            .and_then(|rest| rest.split('<').next())
            .unwrap_or_default();
        if matches!(phase, "COMPLETED" | "ERROR" | "ABORTED") {
            return phase.to_string();
        }
    }
}

/// `jobs` cone searches submitted as async jobs by `clients` clients at once, each waiting for
/// its jobs; returns the time and how many completed.
async fn async_jobs(url: &str, jobs: usize, clients: usize) -> (Duration, usize) {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let started = Instant::now();
    let mut tasks = Vec::new();
    for client in 0..clients {
        let (http, url) = (http.clone(), url.to_string());
        tasks.push(tokio::spawn(async move {
            let mut completed = 0;
            for job in 0..jobs / clients {
                let dec = -80.0 + ((client * 97 + job * 13) % 160) as f64;
                let query = format!(
                    "SELECT exp_id, target_name FROM obsportal.exposures \
                     WHERE CONTAINS(POINT(target_ra, target_dec), CIRCLE(120, {dec}, 1)) = 1"
                );
                let created = http
                    .post(format!("{url}/tap/async"))
                    .form(&[
                        ("LANG", "ADQL"),
                        ("QUERY", query.as_str()),
                        ("PHASE", "RUN"),
                    ])
                    .send()
                    .await
                    .unwrap();
                let location = created.headers()["location"].to_str().unwrap().to_string();
                if job_end(&http, &location).await == "COMPLETED" {
                    completed += 1;
                }
                let _ = http.delete(&location).send().await;
            }
            completed
        }));
    }
    let mut completed = 0;
    for task in tasks {
        completed += task.await.unwrap();
    }
    (started.elapsed(), completed)
}

/// 100,000 jobs of 1,000 users stored, then a user's list read 200 times, with and without
/// LAST; the stored jobs are removed after.
async fn job_list(db: &tokio_postgres::Client, url: &str) {
    db.batch_execute(
        "INSERT INTO obsportal.job (id, owner, phase, parameters, execution_duration, destruction, created_at)
         SELECT 'bench' || i, 'user' || (i % 1000), 'COMPLETED', '[]', 600, now() + interval '1 day',
                now() - i * interval '1 second'
           FROM generate_series(1, 100000) AS i",
    )
    .await
    .unwrap();
    db.batch_execute("ANALYZE obsportal.job").await.unwrap();
    let http = reqwest::Client::new();
    for (label, path) in [
        ("a user's 100 jobs", "/tap/async"),
        ("LAST=10", "/tap/async?LAST=10"),
        ("PHASE=EXECUTING", "/tap/async?PHASE=EXECUTING"),
    ] {
        let mut latencies = Vec::new();
        for _ in 0..200 {
            let started = Instant::now();
            let body = http
                .get(format!("{url}{path}"))
                .header("X-User", "user7")
                .send()
                .await
                .unwrap()
                .text()
                .await
                .unwrap();
            latencies.push(started.elapsed().as_secs_f64() * 1000.0);
            assert!(body.contains("uws:jobs"));
        }
        latencies.sort_by(f64::total_cmp);
        println!(
            "   {label:>18}: p50 {:.2} ms, p99 {:.2} ms",
            latencies[latencies.len() / 2],
            latencies[latencies.len() * 99 / 100]
        );
    }
    db.batch_execute("DELETE FROM obsportal.job WHERE id LIKE 'bench%'")
        .await
        .unwrap();
}
