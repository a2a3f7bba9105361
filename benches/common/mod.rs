//! What the benchmarks share: a release server on a kept data directory of demo exposures,
//! the target positions to aim at, latency summaries, and pgbench as the reference.
#![allow(dead_code, unreachable_pub)] // each benchmark uses a part

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub const RADIUS_ARCSEC: f64 = 30.0;

pub fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn set_mode(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// A release server on a kept data directory of demo exposures; stopped when dropped.
pub struct BenchServer {
    child: Child,
    pub url: String,
    pub data_dir: std::path::PathBuf,
}

impl BenchServer {
    /// Starts the server on /tmp/obsportal-bench-{name}-{exposures}, importing the demo
    /// exposures on first use.
    pub fn start(name: &str, exposures: u64) -> BenchServer {
        let data_dir = std::path::PathBuf::from(format!("/tmp/obsportal-bench-{name}-{exposures}"));
        std::fs::create_dir_all(&data_dir).unwrap();
        set_mode(&data_dir);
        println!(
            "== starting the server on {} ({exposures} demo exposures; the first run imports them)",
            data_dir.display()
        );
        let started = std::time::Instant::now();
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
                let url = url.trim_end_matches('/').to_string();
                println!(
                    "   ready in {:.1} s at {url}",
                    started.elapsed().as_secs_f64()
                );
                return BenchServer {
                    child,
                    url,
                    data_dir,
                };
            }
        }
        let status = child.wait().unwrap();
        panic!("the server stopped before listening ({status})");
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for BenchServer {
    fn drop(&mut self) {
        // SIGTERM, so that the server stops its embedded cluster on the way out.
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }
}

/// Connection string of the embedded cluster, and every target position.
pub async fn read_targets(data_dir: &Path) -> (Vec<(f64, f64)>, String) {
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

pub struct Rate {
    pub rate: f64,
    pub p50: f64,
    pub p99: f64,
}

pub fn summarise(mut latencies_ms: Vec<f64>, elapsed: Duration) -> Rate {
    latencies_ms.sort_by(f64::total_cmp);
    let at = |q: f64| latencies_ms[((latencies_ms.len() as f64 - 1.0) * q).round() as usize];
    Rate {
        rate: latencies_ms.len() as f64 / elapsed.as_secs_f64(),
        p50: at(0.50),
        p99: at(0.99),
    }
}

/// The columns /search.votable returns by default, for the equivalent SQL.
pub const API_COLUMNS: &str =
    "exp_id, exp_header_id, exp_mjd_start, exp_mjd_end, exp_projected_baselines, exp_tau0, \
    exp_temperature, exp_seeing, obs_id, obs_type, obs_program, interferometer_name, \
    interferometer_stations, instrument_name, instrument_mode, instrument_submode, target_id, \
    target_name, target_ra, target_dec";

/// The reference SQL's cone: exposures within RADIUS_ARCSEC of the target whose id `id` names
/// (a pgbench variable or a parameter).
fn cone_around_target(id: &str) -> String {
    format!(
        "spoint(radians(target_ra), radians(target_dec)) @ scircle(\
         (SELECT spoint(radians(ra), radians(dec)) FROM obsportal.target WHERE id = {id}), \
         radians({RADIUS_ARCSEC:.1} / 3600.0))"
    )
}

/// pgbench with the API's query, prepared, on random targets; latencies from its log.
pub fn pgbench(
    data_dir: &Path,
    connection: &str,
    clients: usize,
    seconds: u64,
    targets: usize,
) -> Rate {
    let script = data_dir.join("cone.sql");
    let columns = API_COLUMNS;
    std::fs::write(
        &script,
        format!(
            "\\set id random(1, {targets})\n\
             SELECT {columns} FROM obsportal.exposures WHERE {} ORDER BY exp_mjd_start, exp_id;\n",
            cone_around_target(":id")
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

/// `clients` concurrent clients sending `request(client, random target)` until `duration` is
/// over; every answer must be a complete VOTable.
pub async fn http_load(
    targets: std::sync::Arc<Vec<(f64, f64)>>,
    clients: usize,
    duration: Duration,
    request: impl Fn(&reqwest::Client, (f64, f64)) -> reqwest::RequestBuilder
        + Send
        + Sync
        + Clone
        + 'static,
) -> Rate {
    use rand::{Rng, SeedableRng};
    let start = std::time::Instant::now();
    let deadline = start + duration;
    let mut tasks = Vec::new();
    for client_number in 0..clients {
        let targets = targets.clone();
        let request = request.clone();
        tasks.push(tokio::spawn(async move {
            let http = reqwest::Client::new();
            let mut rng = rand::rngs::StdRng::seed_from_u64(client_number as u64);
            let mut latencies = Vec::new();
            while std::time::Instant::now() < deadline {
                let target = targets[rng.gen_range(0..targets.len())];
                let sent = std::time::Instant::now();
                let response = request(&http, target).send().await.unwrap();
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

/// The HTTP answer and pgbench's query find the same rows around the first targets: the two
/// sides of the comparison do the same work.
async fn check_same_rows(
    connection: &str,
    targets: &[(f64, f64)],
    request: impl Fn(&reqwest::Client, (f64, f64)) -> reqwest::RequestBuilder,
) {
    let (client, driver) = tokio_postgres::connect(connection, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(driver);
    let http = reqwest::Client::new();
    for (id, &target) in targets.iter().enumerate().take(20) {
        let expected: i64 = client
            .query_one(
                &format!(
                    "SELECT count(*) FROM obsportal.exposures WHERE {}",
                    cone_around_target("$1")
                ),
                &[&(id as i32 + 1)],
            )
            .await
            .unwrap()
            .get(0);
        let answer = request(&http, target)
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert_eq!(
            answer.matches("<TR>").count() as i64,
            expected,
            "rows around target {}",
            id + 1
        );
    }
}

/// Cone searches sent by `request` from 1, 4 and 16 concurrent clients, each beside pgbench
/// with the same concurrency: one table row per client count.
pub fn compare_cones(
    runtime: &tokio::runtime::Runtime,
    server: &BenchServer,
    connection: &str,
    targets: std::sync::Arc<Vec<(f64, f64)>>,
    seconds: u64,
    request: impl Fn(&reqwest::Client, (f64, f64)) -> reqwest::RequestBuilder
        + Send
        + Sync
        + Clone
        + 'static,
) {
    runtime.block_on(check_same_rows(connection, &targets, request.clone()));
    println!(
        "{:>8} {:>12} {:>10} {:>10} {:>12} {:>10} {:>10} {:>8}",
        "clients", "http req/s", "p50 ms", "p99 ms", "pgbench tx/s", "p50 ms", "p99 ms", "ratio"
    );
    for clients in [1, 4, 16] {
        let http = runtime.block_on(http_load(
            targets.clone(),
            clients,
            Duration::from_secs(seconds),
            request.clone(),
        ));
        let reference = pgbench(
            &server.data_dir,
            connection,
            clients,
            seconds,
            targets.len(),
        );
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
}
