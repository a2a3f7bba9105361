//! Interferometry search benchmark (not a test): `cargo bench --bench interferometry`.
//!
//! On the release server over EXPOSURES demo exposures (default 1,000,000, about 4 baselines
//! each; the data directory is kept in /tmp between runs), in the same run:
//! - a baseline-range query for one target (its exposures within 30" with a baseline of
//!   100-130 m at 30-60 degrees) through `/tap/sync`, one client, random targets, beside the
//!   SQL it becomes run by PostgreSQL alone (a prepared statement on a direct connection, as
//!   psql would send it, without psql's start-up);
//! - the all-sky "length 120-130 m, PA 40-50 deg, GRAVITY" query, the same way;
//! - a plan of 100 targets through `/search.votable` (one request), and its `summary=targets`,
//!   beside the 100 single-target requests ASPRO2 sends today, one after the other.
//!
//! Goals (issue 15): single-target answers under 20 ms, the 100-target plan under 500 ms.
//! Environment: OBSPORTAL_BENCH_EXPOSURES, OBSPORTAL_BENCH_SECONDS (per measurement, default 10).

mod common;

use std::time::{Duration, Instant};

use common::keep_alive::{form, Connection};
use common::{env_number, read_targets, summarise, BenchServer, Rate};

const SINGLE_TARGET: &str =
    "SELECT x.exp_id, x.exp_mjd_start, x.instrument_mode, b.station1, b.station2, \
     b.length_start, b.angle_start FROM obsportal.exposures AS x \
     JOIN obsportal.baselines AS b ON b.exp_id = x.exp_id \
     WHERE CONTAINS(POINT(x.target_ra, x.target_dec), CIRCLE({ra}, {dec}, 30.0 / 3600.0)) = 1 \
       AND OBSPORTAL_UV_SECTOR(b.u_start, b.v_start, b.u_end, b.v_end, 100, 130, 30, 60) = 1";
const ALL_SKY: &str =
    "SELECT x.exp_id, x.target_name, b.station1, b.station2, b.length_start, b.angle_start \
     FROM obsportal.baselines AS b JOIN obsportal.exposures AS x ON x.exp_id = b.exp_id \
     WHERE OBSPORTAL_UV_SECTOR(b.u_start, b.v_start, b.u_end, b.v_end, 120, 130, 40, 50) = 1 \
       AND x.instrument_name = 'GRAVITY'";

fn main() {
    let exposures = env_number("OBSPORTAL_BENCH_EXPOSURES", 1_000_000);
    let seconds = env_number("OBSPORTAL_BENCH_SECONDS", 10);
    let server = BenchServer::start("interferometry", exposures);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let (targets, connection) = runtime.block_on(read_targets(&server.data_dir));
    runtime.block_on(async {
        let (db, driver) = tokio_postgres::connect(&connection, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(driver);
        db.batch_execute("SET ROLE obsportal_query").await.unwrap();
        let baselines: i64 = db
            .query_one("SELECT count(*) FROM obsportal.baselines", &[])
            .await
            .unwrap()
            .get(0);
        println!("   {baselines} baseline rows");
        let mut http = Connection::open(&server.url).await;
        let duration = Duration::from_secs(seconds);

        println!("\n== one client, random targets: /tap/sync end to end beside PostgreSQL alone");
        println!(
            "{:>34} {:>8} {:>10} {:>10} {:>8} {:>10} {:>10} {:>8}",
            "query", "rows", "http p50", "http p99", "req/s", "sql p50", "sql p99", "ratio"
        );
        let single = |(ra, dec): (f64, f64)| {
            SINGLE_TARGET
                .replace("{ra}", &ra.to_string())
                .replace("{dec}", &dec.to_string())
        };
        let mut pick = rand_targets(&targets);
        let (http_rate, rows) = tap_rate(&mut http, duration, || single(pick())).await;
        let mut pick = rand_targets(&targets);
        let reference = sql_rate(&db, duration, || single(pick())).await;
        report(
            "one target's 100-130 m at 30-60 deg",
            rows,
            &http_rate,
            &reference,
        );

        let (http_rate, rows) = tap_rate(&mut http, duration, || ALL_SKY.to_string()).await;
        let reference = sql_rate(&db, duration, || ALL_SKY.to_string()).await;
        report(
            "all-sky GRAVITY 120-130 m, 40-50",
            rows,
            &http_rate,
            &reference,
        );

        println!("\n== a plan of 100 targets: one request beside 100 single-target requests [ms]");
        println!(
            "{:>34} {:>8} {:>10} {:>10} {:>14} {:>8}",
            "request", "rows", "p50", "p99", "100 singles", "ratio"
        );
        let mut pick = rand_targets(&targets);
        for summary in [false, true] {
            let (mut plan, mut singles, mut rows) = (Vec::new(), Vec::new(), 0);
            let started = Instant::now();
            while started.elapsed() < duration || plan.len() < 3 {
                let plan_targets: Vec<(f64, f64)> = (0..100).map(|_| pick()).collect();
                let (ras, decs): (Vec<String>, Vec<String>) = plan_targets
                    .iter()
                    .map(|(ra, dec)| (ra.to_string(), dec.to_string()))
                    .unzip();
                let mut pairs: Vec<(&str, &str)> = Vec::new();
                if summary {
                    pairs.push(("summary", "targets"));
                }
                for index in 0..ras.len() {
                    pairs.extend([("ra", ras[index].as_str()), ("dec", decs[index].as_str())]);
                }
                let sent = Instant::now();
                let answer = http.post_form("/search.votable", &form(&pairs)).await;
                plan.push(sent.elapsed().as_secs_f64() * 1000.0);
                assert!(answer.is_complete_votable(), "{}", answer.text());
                rows = answer.text().matches("<TR>").count();
                let sent = Instant::now();
                for index in 0..ras.len() {
                    let mut one = vec![("ra", ras[index].as_str()), ("dec", decs[index].as_str())];
                    if summary {
                        one.push(("summary", "targets"));
                    }
                    let answer = http.post_form("/search.votable", &form(&one)).await;
                    assert!(answer.is_complete_votable(), "{}", answer.text());
                }
                singles.push(sent.elapsed().as_secs_f64() * 1000.0);
            }
            let (plan, singles) = (
                summarise(plan, started.elapsed()),
                summarise(singles, started.elapsed()),
            );
            println!(
                "{:>34} {rows:>8} {:>10.1} {:>10.1} {:>14.1} {:>8.2}",
                if summary {
                    "plan, summary=targets"
                } else {
                    "plan, exposures"
                },
                plan.p50,
                plan.p99,
                singles.p50,
                singles.p50 / plan.p50
            );
        }
    });
}

/// A picker of random targets, the same sequence on every run.
fn rand_targets(targets: &[(f64, f64)]) -> impl FnMut() -> (f64, f64) + '_ {
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(15);
    move || targets[rng.gen_range(0..targets.len())]
}

/// ADQL through /tap/sync, one request after another, for `duration`; the last answer's rows.
async fn tap_rate(
    http: &mut Connection,
    duration: Duration,
    mut next: impl FnMut() -> String,
) -> (Rate, usize) {
    let (started, mut latencies, mut rows) = (Instant::now(), Vec::new(), 0);
    while started.elapsed() < duration || latencies.len() < 3 {
        let query = next();
        let body = form(&[("LANG", "ADQL"), ("QUERY", &query)]);
        let sent = Instant::now();
        let answer = http.post_form("/tap/sync", &body).await;
        latencies.push(sent.elapsed().as_secs_f64() * 1000.0);
        assert!(answer.is_complete_votable(), "{}", answer.text());
        rows = answer.text().matches("<TR>").count();
    }
    (summarise(latencies, started.elapsed()), rows)
}

/// The SQL the same ADQL becomes, prepared once and run by PostgreSQL alone with each query's
/// numbers, one after another, for `duration`.
async fn sql_rate(
    db: &tokio_postgres::Client,
    duration: Duration,
    mut next: impl FnMut() -> String,
) -> Rate {
    let catalog = obsportal::schema::adql_catalog();
    let first = adql::translate_with_parameters(&next(), catalog).unwrap();
    let (_, types): (Vec<_>, Vec<_>) = first
        .parameters
        .iter()
        .map(|literal| obsportal::query::sql_parameter(*literal))
        .unzip();
    let statement = db.prepare_typed(&first.sql, &types).await.unwrap();
    let (started, mut latencies) = (Instant::now(), Vec::new());
    while started.elapsed() < duration || latencies.len() < 3 {
        let translation = adql::translate_with_parameters(&next(), catalog).unwrap();
        let (values, _): (Vec<_>, Vec<_>) = translation
            .parameters
            .iter()
            .map(|literal| obsportal::query::sql_parameter(*literal))
            .unzip();
        let sent = Instant::now();
        db.query(&statement, &obsportal::results::as_sql_parameters(&values))
            .await
            .unwrap();
        latencies.push(sent.elapsed().as_secs_f64() * 1000.0);
    }
    summarise(latencies, started.elapsed())
}

fn report(label: &str, rows: usize, http: &Rate, sql: &Rate) {
    println!(
        "{label:>34} {rows:>8} {:>10.2} {:>10.2} {:>8.0} {:>10.2} {:>10.2} {:>8.2}",
        http.p50,
        http.p99,
        http.rate,
        sql.p50,
        sql.p99,
        http.p50 / sql.p50
    );
}
