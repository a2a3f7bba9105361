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

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{compare_cones, env_number, read_targets, summarise, BenchServer, RADIUS_ARCSEC};

fn main() {
    let exposures: u64 = env_number("OBSPORTAL_BENCH_EXPOSURES", 300_000);
    let seconds: u64 = env_number("OBSPORTAL_BENCH_SECONDS", 10);
    let server = BenchServer::start("portal", exposures);
    let (base_url, data_dir) = (server.url.clone(), server.data_dir.clone());
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (targets, connection) = runtime.block_on(read_targets(&data_dir));
    println!("   {} targets to aim at", targets.len());

    println!("\n== cone searches: /search.votable vs pgbench (same query, same database), {seconds} s each");
    compare_cones(
        &runtime,
        &server,
        &connection,
        &targets,
        seconds,
        "/search.votable",
        &|(ra, dec)| format!("ra={ra}&dec={dec}&radius={RADIUS_ARCSEC:.1}&all_fields=false"),
    );

    println!("\n== /search page with 100 rows");
    let (page_ms, sql_ms) = runtime.block_on(page_render(&base_url, &data_dir));
    println!("   page median {page_ms:.2} ms; its two SQL queries run directly: median {sql_ms:.2} ms (ratio {:.2})", page_ms / sql_ms);
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
                  ORDER BY exp_seeing DESC NULLS LAST, exp_id DESC LIMIT 100 OFFSET 0",
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
