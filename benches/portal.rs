//! Portal benchmark (not a test): `cargo bench --bench portal`.
//!
//! Starts the release server on an embedded cluster holding EXPOSURES demo exposures (default
//! 300,000; the data directory is kept in /tmp between runs), then, in the same run:
//! - `POST /search.votable` cone searches (30" on real target positions, as ASPRO2 sends them)
//!   from 1, 4 and 16 concurrent clients: requests/s, p50 and p99 latency;
//! - the reference: `pgbench` running the equivalent prepared pg_sphere query with the same
//!   concurrency on the same database;
//! - the `/search` page with 100 result rows: median render time, beside the median of its
//!   two SQL queries run directly.
//!
//! Environment: OBSPORTAL_BENCH_EXPOSURES, OBSPORTAL_BENCH_SECONDS (per measurement, default 10).

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rand::{Rng, SeedableRng};

const RADIUS_ARCSEC: f64 = 30.0;

fn main() {
    let exposures: u64 = env_number("OBSPORTAL_BENCH_EXPOSURES", 300_000);
    let seconds: u64 = env_number("OBSPORTAL_BENCH_SECONDS", 10);
    let data_dir = PathBuf::from(format!("/tmp/obsportal-bench-portal-{exposures}"));
    std::fs::create_dir_all(&data_dir).unwrap();
    set_mode(&data_dir);

    println!(
        "== starting the server on {} ({exposures} demo exposures; the first run imports them)",
        data_dir.display()
    );
    let started = Instant::now();
    let (mut server, base_url) = start_server(&data_dir, exposures);
    println!(
        "   ready in {:.1} s at {base_url}",
        started.elapsed().as_secs_f64()
    );

    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (targets, connection) = runtime.block_on(read_targets(&data_dir));
    println!("   {} targets to aim at", targets.len());
    let targets = Arc::new(targets);

    println!("\n== cone searches: /search.votable vs pgbench (same query, same database), {seconds} s each");
    println!(
        "{:>8} {:>12} {:>10} {:>10} {:>12} {:>10} {:>10} {:>8}",
        "clients", "http req/s", "p50 ms", "p99 ms", "pgbench tx/s", "p50 ms", "p99 ms", "ratio"
    );
    for clients in [1, 4, 16] {
        let http = runtime.block_on(http_load(
            &base_url,
            targets.clone(),
            clients,
            Duration::from_secs(seconds),
        ));
        let reference = pgbench(&data_dir, &connection, clients, seconds, targets.len());
        println!(
            "{clients:>8} {:>12.0} {:>10.2} {:>10.2} {:>12.0} {:>10.2} {:>10.2} {:>8.2}",
            http.rate,
            http.p50,
            http.p99,
            reference.rate,
            reference.p50,
            reference.p99,
            http.rate / reference.rate
        );
    }

    println!("\n== /search page with 100 rows");
    let (page_ms, sql_ms) = runtime.block_on(page_render(&base_url, &data_dir));
    println!("   page median {page_ms:.2} ms; its two SQL queries run directly: median {sql_ms:.2} ms (ratio {:.2})", page_ms / sql_ms);

    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(server.id().to_string())
        .status();
    let _ = server.wait();
}

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn set_mode(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn start_server(data_dir: &Path, exposures: u64) -> (Child, String) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_obsportal"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--demo-rows",
            &exposures.to_string(),
            "--data-dir",
        ])
        .arg(data_dir.join("data"))
        .env_remove("DATABASE_URL")
        .env("RUST_LOG", "warn")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    while let Some(Ok(line)) = lines.next() {
        if let Some(url) = line.strip_prefix("obsportal listening on ") {
            return (child, url.trim_end_matches('/').to_string());
        }
    }
    let status = child.wait().unwrap();
    panic!("the server stopped before listening ({status})");
}

/// Connection string of the embedded cluster, and every target position.
async fn read_targets(data_dir: &Path) -> (Vec<(f64, f64)>, String) {
    let pid = std::fs::read_to_string(data_dir.join("data/pgdata/postmaster.pid")).unwrap();
    let port = pid.lines().nth(3).unwrap().trim().to_string();
    let connection = format!(
        "host={} port={port} user=obsportal dbname=obsportal",
        data_dir.join("data/run").display()
    );
    let (client, driver) = tokio_postgres::connect(&connection, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(driver);
    let rows = client
        .query("SELECT ra, dec FROM obsportal.target ORDER BY id", &[])
        .await
        .unwrap();
    (
        rows.iter().map(|r| (r.get(0), r.get(1))).collect(),
        connection,
    )
}

struct Rate {
    rate: f64,
    p50: f64,
    p99: f64,
}

fn summarise(mut latencies_ms: Vec<f64>, elapsed: Duration) -> Rate {
    latencies_ms.sort_by(f64::total_cmp);
    let at = |q: f64| latencies_ms[((latencies_ms.len() as f64 - 1.0) * q).round() as usize];
    Rate {
        rate: latencies_ms.len() as f64 / elapsed.as_secs_f64(),
        p50: at(0.50),
        p99: at(0.99),
    }
}

async fn http_load(
    base_url: &str,
    targets: Arc<Vec<(f64, f64)>>,
    clients: usize,
    duration: Duration,
) -> Rate {
    let start = Instant::now();
    let deadline = start + duration;
    let mut tasks = Vec::new();
    for client_number in 0..clients {
        let url = format!("{base_url}/search.votable");
        let targets = targets.clone();
        tasks.push(tokio::spawn(async move {
            let http = reqwest::Client::new();
            let mut rng = rand::rngs::StdRng::seed_from_u64(client_number as u64);
            let mut latencies = Vec::new();
            while Instant::now() < deadline {
                let (ra, dec) = targets[rng.gen_range(0..targets.len())];
                let body = format!("ra={ra}&dec={dec}&radius={RADIUS_ARCSEC:.1}&all_fields=false");
                let sent = Instant::now();
                let response = http
                    .post(&url)
                    .header("content-type", "application/x-www-form-urlencoded")
                    .body(body)
                    .send()
                    .await
                    .unwrap();
                assert!(response.status().is_success());
                let text = response.text().await.unwrap();
                assert!(text.ends_with("</VOTABLE>\n"));
                latencies.push(sent.elapsed().as_secs_f64() * 1000.0);
            }
            latencies
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap());
    }
    summarise(all, start.elapsed())
}

/// pgbench with the API's query, prepared, on random targets; latencies from its log.
fn pgbench(
    data_dir: &Path,
    connection: &str,
    clients: usize,
    seconds: u64,
    targets: usize,
) -> Rate {
    let script = data_dir.join("cone.sql");
    let columns = "exp_id, exp_header_id, exp_mjd_start, exp_mjd_end, exp_projected_baselines, exp_tau0, \
                   exp_temperature, exp_seeing, obs_id, obs_type, obs_program, interferometer_name, \
                   interferometer_stations, instrument_name, instrument_mode, instrument_submode, target_id, \
                   target_name, target_ra, target_dec";
    std::fs::write(
        &script,
        format!(
            "\\set id random(1, {targets})\n\
             SELECT {columns} FROM obsportal.exposures WHERE spoint(radians(target_ra), radians(target_dec)) \
             @ scircle((SELECT spoint(radians(ra), radians(dec)) FROM obsportal.target WHERE id = :id), \
             radians({RADIUS_ARCSEC} / 3600)) ORDER BY exp_mjd_start, exp_id;\n"
        ),
    )
    .unwrap();
    let logs = data_dir.join("pgbench-logs");
    let _ = std::fs::remove_dir_all(&logs);
    std::fs::create_dir_all(&logs).unwrap();
    let parts: std::collections::HashMap<&str, &str> = connection
        .split(' ')
        .filter_map(|p| p.split_once('='))
        .collect();
    let status = Command::new("/usr/lib/postgresql/15/bin/pgbench")
        .args([
            "-n",
            "-M",
            "prepared",
            "-l",
            "-c",
            &clients.to_string(),
            "-j",
            &clients.min(2).to_string(),
        ])
        .args([
            "-T",
            &seconds.to_string(),
            "-h",
            parts["host"],
            "-p",
            parts["port"],
            "-U",
            "obsportal",
        ])
        .arg(format!("--log-prefix={}", logs.join("cone").display()))
        .arg("-f")
        .arg(&script)
        .arg("obsportal")
        .stdout(Stdio::null())
        .status()
        .unwrap();
    assert!(status.success());
    let mut latencies = Vec::new();
    for entry in std::fs::read_dir(&logs).unwrap() {
        let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
        // client transaction latency_us script epoch_s epoch_us
        latencies.extend(
            text.lines()
                .filter_map(|l| l.split(' ').nth(2)?.parse::<f64>().ok())
                .map(|us| us / 1000.0),
        );
    }
    summarise(latencies, Duration::from_secs(seconds))
}

/// Median over repeated loads of /search with 100 rows, and of its count and page queries.
async fn page_render(base_url: &str, data_dir: &Path) -> (f64, f64) {
    let http = reqwest::Client::new();
    let url = format!("{base_url}/search?instrument=GRAVITY&size=100&sort=exp_seeing&order=desc");
    let mut page = Vec::new();
    for _ in 0..50 {
        let sent = Instant::now();
        let body = http.get(&url).send().await.unwrap().text().await.unwrap();
        page.push(sent.elapsed().as_secs_f64() * 1000.0);
        assert_eq!(body.matches("/detail/exposure/").count(), 100);
    }
    let (_, connection) = read_targets(data_dir).await;
    let (client, driver) = tokio_postgres::connect(&connection, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(driver);
    let mut sql = Vec::new();
    for _ in 0..50 {
        let sent = Instant::now();
        client
            .query(
                "SELECT count(*) FROM obsportal.exposures WHERE instrument_name = 'GRAVITY'",
                &[],
            )
            .await
            .unwrap();
        client
            .query(
                "SELECT exp_id, exp_mjd_start, target_name, target_ra, target_dec, instrument_name, instrument_mode,
                        instrument_submode, interferometer_stations, obs_program, obs_type, exp_seeing, exp_tau0
                   FROM obsportal.exposures WHERE instrument_name = 'GRAVITY'
                  ORDER BY exp_seeing DESC NULLS LAST, exp_id LIMIT 100 OFFSET 0",
                &[],
            )
            .await
            .unwrap();
        sql.push(sent.elapsed().as_secs_f64() * 1000.0);
    }
    (
        summarise(page, Duration::from_secs(1)).p50,
        summarise(sql, Duration::from_secs(1)).p50,
    )
}
