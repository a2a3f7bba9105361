//! Mixed-load benchmark (not a test): `cargo bench --bench load`.
//!
//! Web visitors must not slow ASPRO2 down (issue 18). On the release server with EXPOSURES demo
//! exposures (default 300,000, the portal benchmark's kept data directory), CLIENTS concurrent
//! keep-alive clients (default 200) for SECONDS (default 30), in equal parts:
//! - ASPRO2: `POST /search.votable` 30" cones around random real targets;
//! - TAP: `POST /tap/sync` ADQL cones of the same size;
//! - SCS: `GET /scs` cones of the same size;
//! - pages: `GET /search` with a random instrument, sort order, direction and page (1-10);
//! - async: a TAP job of the same cone, its whole life: created with PHASE=RUN, waited for
//!   (blocking WAIT), its result read, deleted (one latency for all four requests).
//!
//! Then the reference, measured in the same run: the same clients without the pages and jobs
//! (the three sync API kinds in equal parts). Reported per kind: requests/s, p50 and p99 latency, errors (a
//! status other than 200 or a broken answer), and the server's peak RSS. Goals on this machine:
//! the mixed run at least half the reference's requests/s, ASPRO2's p99 at most twice its
//! reference p99, no error.
//!
//! Environment: OBSPORTAL_BENCH_EXPOSURES, OBSPORTAL_BENCH_SECONDS, OBSPORTAL_BENCH_CLIENTS.

mod common;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use common::keep_alive::{form, Connection};
use common::{env_number, read_targets, summarise, BenchServer, RADIUS_ARCSEC};

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Aspro2,
    Tap,
    Scs,
    Page,
    Async,
}

const KINDS: [Kind; 5] = [Kind::Aspro2, Kind::Tap, Kind::Scs, Kind::Page, Kind::Async];

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Aspro2 => "ASPRO2 /search.votable",
            Kind::Tap => "TAP /tap/sync",
            Kind::Scs => "SCS /scs",
            Kind::Page => "page /search",
            Kind::Async => "async job /tap/async",
        }
    }
}

const INSTRUMENTS: [&str; 5] = ["GRAVITY", "MATISSE", "PIONIER", "AMBER", "MIDI"];
/// One request of a kind, and whether its answer is whole.
async fn request(
    connection: &mut Connection,
    kind: Kind,
    (ra, dec): (f64, f64),
    pick: u64,
) -> bool {
    let radius_deg = RADIUS_ARCSEC / 3600.0;
    match kind {
        Kind::Aspro2 => {
            let body = form(&[
                ("ra", &ra.to_string()),
                ("dec", &dec.to_string()),
                ("radius", &RADIUS_ARCSEC.to_string()),
            ]);
            connection
                .post_form("/search.votable", &body)
                .await
                .is_complete_votable()
        }
        Kind::Tap | Kind::Async => {
            let query = format!(
                "SELECT * FROM obsportal.exposures WHERE CONTAINS(POINT('ICRS', target_ra, \
                 target_dec), CIRCLE('ICRS', {ra}, {dec}, {radius_deg})) = 1"
            );
            if kind == Kind::Async {
                return async_job(connection, &query).await;
            }
            let body = form(&[("REQUEST", "doQuery"), ("LANG", "ADQL"), ("QUERY", &query)]);
            connection
                .post_form("/tap/sync", &body)
                .await
                .is_complete_votable()
        }
        Kind::Scs => connection
            .get(&format!("/scs?RA={ra}&DEC={dec}&SR={radius_deg}"))
            .await
            .is_complete_votable(),
        Kind::Page => {
            let instrument = INSTRUMENTS[(pick % 5) as usize];
            let sorts = obsportal::portal::search_page::SORTABLE;
            let sort = sorts[(pick / 5 % sorts.len() as u64) as usize].0;
            let order = if (pick / 45).is_multiple_of(2) {
                "asc"
            } else {
                "desc"
            };
            let page = pick / 90 % 10 + 1;
            let answer = connection
                .get(&format!(
                    "/search?instrument={instrument}&sort={sort}&order={order}&page={page}"
                ))
                .await;
            answer.status == 200 && answer.text().contains("id=\"result-count\"")
        }
    }
}

/// A job's life as pyvo's `run_async` lives it: create and run, wait, read, delete.
async fn async_job(connection: &mut Connection, query: &str) -> bool {
    let body = form(&[("LANG", "ADQL"), ("QUERY", query), ("PHASE", "RUN")]);
    let created = connection.post_form("/tap/async", &body).await;
    let Some(job) = created.location.filter(|_| created.status == 303) else {
        return false;
    };
    let path = job
        .split_once("://")
        .and_then(|(_, rest)| rest.find('/').map(|slash| rest[slash..].to_string()))
        .unwrap_or(job);
    let mut completed = false;
    for _ in 0..10 {
        let phase = connection.get(&format!("{path}/phase")).await;
        match phase.text().trim() {
            "COMPLETED" => {
                completed = true;
                break;
            }
            "QUEUED" | "EXECUTING" | "PENDING" => {
                let waited = connection.get(&format!("{path}?WAIT=30")).await;
                if waited.status != 200 {
                    return false;
                }
            }
            _ => return false,
        }
    }
    if !completed
        || !connection
            .get(&format!("{path}/results/result"))
            .await
            .is_complete_votable()
    {
        return false;
    }
    let deleted = connection
        .post_form(&path, &form(&[("ACTION", "DELETE")]))
        .await;
    deleted.status == 303
}

struct Outcome {
    latencies: Vec<Vec<f64>>,
    errors: Vec<u64>,
    elapsed: Duration,
    peak_rss_mb: f64,
}

/// `clients` clients for `duration`, client i sending requests of `kinds[i % kinds.len()]`.
fn run(
    base_url: &str,
    pid: u32,
    targets: &[(f64, f64)],
    kinds: &[Kind],
    clients: usize,
    duration: Duration,
) -> Outcome {
    let start = Instant::now();
    let deadline = start + duration;
    let errors: Vec<AtomicU64> = KINDS.iter().map(|_| AtomicU64::new(0)).collect();
    let running = AtomicBool::new(true);
    let peak_rss = AtomicU64::new(0);
    let latencies = std::thread::scope(|scope| {
        scope.spawn(|| {
            while running.load(Ordering::Relaxed) {
                peak_rss.fetch_max(rss_kb(pid), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(200));
            }
        });
        let threads: Vec<_> = (0..2)
            .map(|thread| {
                let errors = &errors;
                scope.spawn(move || {
                    let runtime = tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .unwrap();
                    let mine = (thread..clients).step_by(2).map(|client| async move {
                        use rand::{Rng, SeedableRng};
                        let kind = kinds[client % kinds.len()];
                        let mut rng = rand::rngs::StdRng::seed_from_u64(client as u64);
                        let mut connection = Connection::open(base_url).await;
                        let mut latencies = Vec::new();
                        while Instant::now() < deadline {
                            let target = targets[rng.gen_range(0..targets.len())];
                            let sent = Instant::now();
                            if request(&mut connection, kind, target, rng.gen()).await {
                                latencies.push(sent.elapsed().as_secs_f64() * 1000.0);
                            } else {
                                errors[kind as usize].fetch_add(1, Ordering::Relaxed);
                            }
                        }
                        (kind, latencies)
                    });
                    runtime.block_on(futures_util::future::join_all(mine))
                })
            })
            .collect();
        let mut by_kind: Vec<Vec<f64>> = KINDS.iter().map(|_| Vec::new()).collect();
        for thread in threads {
            for (kind, latencies) in thread.join().unwrap() {
                by_kind[kind as usize].extend(latencies);
            }
        }
        running.store(false, Ordering::Relaxed);
        by_kind
    });
    Outcome {
        latencies,
        errors: errors.iter().map(|e| e.load(Ordering::Relaxed)).collect(),
        elapsed: start.elapsed(),
        peak_rss_mb: peak_rss.load(Ordering::Relaxed) as f64 / 1024.0,
    }
}

fn rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find(|line| line.starts_with("VmRSS:"))
                .and_then(|line| line.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// Prints one run; returns (total requests/s, ASPRO2's p99).
fn report(title: &str, outcome: &Outcome, kinds: &[Kind]) -> (f64, f64) {
    println!(
        "\n== {title}: {:.1} s, server peak RSS {:.1} MB",
        outcome.elapsed.as_secs_f64(),
        outcome.peak_rss_mb
    );
    println!(
        "   {:<24} {:>10} {:>10} {:>10} {:>8}",
        "kind", "req/s", "p50 ms", "p99 ms", "errors"
    );
    let (mut total, mut aspro2_p99) = (0.0, f64::NAN);
    for &kind in kinds {
        let latencies = outcome.latencies[kind as usize].clone();
        let errors = outcome.errors[kind as usize];
        if latencies.is_empty() {
            println!(
                "   {:<24} {:>10} {:>10} {:>10} {errors:>8}",
                kind.name(),
                0,
                "-",
                "-"
            );
            continue;
        }
        let rate = summarise(latencies, outcome.elapsed);
        total += rate.rate;
        if kind == Kind::Aspro2 {
            aspro2_p99 = rate.p99;
        }
        println!(
            "   {:<24} {:>10.0} {:>10.2} {:>10.2} {errors:>8}",
            kind.name(),
            rate.rate,
            rate.p50,
            rate.p99
        );
    }
    println!("   {:<24} {total:>10.0}", "all");
    (total, aspro2_p99)
}

fn main() {
    let exposures = env_number("OBSPORTAL_BENCH_EXPOSURES", 300_000);
    let seconds = env_number("OBSPORTAL_BENCH_SECONDS", 30);
    let clients = env_number("OBSPORTAL_BENCH_CLIENTS", 200) as usize;
    let server = BenchServer::start("portal", exposures);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (targets, _) = runtime.block_on(read_targets(&server.data_dir));
    let duration = Duration::from_secs(seconds);
    println!(
        "   {clients} clients, {} targets, {seconds} s per run",
        targets.len()
    );

    let mixed = run(
        &server.url,
        server.pid(),
        &targets,
        &KINDS,
        clients,
        duration,
    );
    let (mixed_rate, mixed_p99) = report(
        "mixed: ASPRO2, TAP, SCS, pages and async jobs",
        &mixed,
        &KINDS,
    );
    let reference_kinds = [Kind::Aspro2, Kind::Tap, Kind::Scs];
    let reference = run(
        &server.url,
        server.pid(),
        &targets,
        &reference_kinds,
        clients,
        duration,
    );
    let (reference_rate, reference_p99) = report(
        "reference: the same without pages and jobs",
        &reference,
        &reference_kinds,
    );

    let errors: u64 = mixed.errors.iter().chain(&reference.errors).sum();
    println!("\n== goals");
    println!(
        "   mixed / reference requests/s: {:.2} (goal >= 0.5)",
        mixed_rate / reference_rate
    );
    println!(
        "   ASPRO2 p99 mixed / reference: {:.2} ({mixed_p99:.2} / {reference_p99:.2} ms; goal <= 2)",
        mixed_p99 / reference_p99
    );
    println!("   errors: {errors} (goal 0)");
}
