//! What the benchmarks share: a release server on a kept data directory of demo exposures,
//! the target positions to aim at, latency summaries, and pgbench as the reference.
#![allow(dead_code, unreachable_pub)] // each benchmark uses a part

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub mod keep_alive;

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
        Self::start_with(name, exposures, &[])
    }

    /// As `start`, with more `serve` arguments.
    pub fn start_with(name: &str, exposures: u64, extra: &[&str]) -> BenchServer {
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
            // The load generators are many clients from one address.
            .args(["--client-queries", "0"])
            .args(extra)
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

/// `clients` concurrent clients, each on its keep-alive connection, POSTing `form(random
/// target)` to `base_url` + `path` until `duration` is over; every answer must be a complete
/// VOTable. Like pgbench beside it, on at most two threads (a single-threaded runtime each).
pub fn http_load(
    base_url: &str,
    path: &str,
    targets: &[(f64, f64)],
    clients: usize,
    duration: Duration,
    form: &(dyn Fn((f64, f64)) -> String + Sync),
) -> Rate {
    let threads = clients.min(2);
    let start = std::time::Instant::now();
    let deadline = start + duration;
    let latencies = std::thread::scope(|scope| {
        let threads: Vec<_> = (0..threads)
            .map(|thread| {
                scope.spawn(move || {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .unwrap();
                    let mine = (thread..clients).step_by(threads);
                    let clients = mine
                        .map(|client| one_client(client, base_url, path, targets, deadline, form));
                    runtime.block_on(futures_util::future::join_all(clients))
                })
            })
            .collect();
        threads
            .into_iter()
            .flat_map(|thread| thread.join().unwrap())
            .flatten()
            .collect()
    });
    summarise(latencies, start.elapsed())
}

/// One client's requests until `deadline`, and their latencies in ms.
async fn one_client(
    client: usize,
    base_url: &str,
    path: &str,
    targets: &[(f64, f64)],
    deadline: std::time::Instant,
    form: &(dyn Fn((f64, f64)) -> String + Sync),
) -> Vec<f64> {
    use rand::{Rng, SeedableRng};
    let mut connection = keep_alive::Connection::open(base_url).await;
    let mut rng = rand::rngs::StdRng::seed_from_u64(client as u64);
    let mut latencies = Vec::new();
    while std::time::Instant::now() < deadline {
        let body = form(targets[rng.gen_range(0..targets.len())]);
        let sent = std::time::Instant::now();
        let answer = connection.post_form(path, &body).await;
        latencies.push(sent.elapsed().as_secs_f64() * 1000.0);
        assert!(answer.is_complete_votable(), "{}", answer.text());
    }
    latencies
}

/// The HTTP answer and pgbench's query find the same rows around the first targets: the two
/// sides of the comparison do the same work.
async fn check_same_rows(
    connection: &str,
    (base_url, path): (&str, &str),
    targets: &[(f64, f64)],
    form: &(dyn Fn((f64, f64)) -> String + Sync),
) {
    let (client, driver) = tokio_postgres::connect(connection, tokio_postgres::NoTls)
        .await
        .unwrap();
    tokio::spawn(driver);
    let mut http = keep_alive::Connection::open(base_url).await;
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
        let answer = http.post_form(path, &form(target)).await;
        assert!(answer.is_complete_votable(), "{}", answer.text());
        assert_eq!(
            answer.text().matches("<TR>").count() as i64,
            expected,
            "rows around target {}",
            id + 1
        );
    }
}

/// Cone searches, the form `form(target)` POSTed to `path`, from 1, 4 and 16 concurrent
/// clients, each beside pgbench with the same concurrency: one table row per client count.
pub fn compare_cones(
    runtime: &tokio::runtime::Runtime,
    server: &BenchServer,
    connection: &str,
    targets: &[(f64, f64)],
    seconds: u64,
    path: &str,
    form: &(dyn Fn((f64, f64)) -> String + Sync),
) {
    runtime.block_on(check_same_rows(
        connection,
        (&server.url, path),
        targets,
        form,
    ));
    println!(
        "{:>8} {:>12} {:>10} {:>10} {:>12} {:>10} {:>10} {:>8}",
        "clients", "http req/s", "p50 ms", "p99 ms", "pgbench tx/s", "p50 ms", "p99 ms", "ratio"
    );
    for clients in [1, 4, 16] {
        let http = http_load(
            &server.url,
            path,
            targets,
            clients,
            Duration::from_secs(seconds),
            form,
        );
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
