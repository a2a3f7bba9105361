//! `cargo bench -p adql`: median parse + check + translate time of typical queries, beside
//! sqlparser parsing the same text alone (the reference, measured in the same run).
//! Goal: under 20 microseconds for the typical ones.

use std::hint::black_box;
use std::time::Instant;

use adql::{ColumnInfo, ColumnType, TableInfo};

/// The allocator the obsportal server uses (src/main.rs).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn catalog() -> Vec<TableInfo> {
    let table = |schema: &str, name: &str, columns: &[&str]| TableInfo {
        schema: schema.into(),
        name: name.into(),
        columns: columns
            .iter()
            .map(|n| ColumnInfo {
                name: n.to_string(),
                kind: ColumnType::Unknown,
                unit: None,
            })
            .collect(),
    };
    vec![
        table(
            "obsportal",
            "exposures",
            &[
                "exp_id",
                "exp_header_id",
                "exp_mjd_start",
                "exp_mjd_end",
                "exp_projected_baselines",
                "exp_tau0",
                "exp_temperature",
                "exp_seeing",
                "obs_id",
                "obs_type",
                "obs_program",
                "interferometer_name",
                "interferometer_stations",
                "instrument_name",
                "instrument_mode",
                "instrument_submode",
                "target_id",
                "target_name",
                "target_ra",
                "target_dec",
            ],
        ),
        table(
            "TAP_SCHEMA",
            "columns",
            &[
                "table_name",
                "column_name",
                "datatype",
                "arraysize",
                "xtype",
                "size",
                "description",
                "utype",
                "unit",
                "ucd",
                "indexed",
                "principal",
                "std",
                "column_index",
            ],
        ),
        table(
            "TAP_SCHEMA",
            "tables",
            &[
                "schema_name",
                "table_name",
                "table_type",
                "description",
                "utype",
                "table_index",
            ],
        ),
        table("TAP_UPLOAD", "targets", &["name", "ra", "dec"]),
    ]
}

const QUERIES: &[(&str, &str)] = &[
    ("ASPRO2 cone", "SELECT * FROM obsportal.exposures WHERE CONTAINS(POINT('ICRS', target_ra, target_dec), CIRCLE('ICRS', 104.8167, -13.0586, 30.0 / 3600.0)) = 1 ORDER BY exp_mjd_start"),
    ("cone, 20 columns named", "SELECT exp_id, exp_header_id, exp_mjd_start, exp_mjd_end, exp_projected_baselines, exp_tau0, exp_temperature, exp_seeing, obs_id, obs_type, obs_program, interferometer_name, interferometer_stations, instrument_name, instrument_mode, instrument_submode, target_id, target_name, target_ra, target_dec FROM obsportal.exposures WHERE 1 = CONTAINS(POINT('ICRS', target_ra, target_dec), CIRCLE('ICRS', 104.8167, -13.0586, 30.0 / 3600.0)) ORDER BY exp_mjd_start, exp_id"),
    ("TOPCAT TAP_SCHEMA columns", "SELECT table_name, column_name, datatype, arraysize, xtype, unit, ucd, utype, description, principal, indexed, std FROM TAP_SCHEMA.columns WHERE table_name = 'obsportal.exposures' ORDER BY column_index"),
    ("TOPCAT TAP_SCHEMA tables", "SELECT schema_name, table_name, table_type, description, utype FROM TAP_SCHEMA.tables ORDER BY table_index"),
    ("upload crossmatch", "SELECT t.name, e.exp_id, e.instrument_name, DISTANCE(POINT(t.ra, t.dec), POINT(e.target_ra, e.target_dec)) AS sep FROM TAP_UPLOAD.targets AS t JOIN obsportal.exposures AS e ON 1 = CONTAINS(POINT(e.target_ra, e.target_dec), CIRCLE(t.ra, t.dec, 10.0 / 3600.0))"),
    ("3-level nested", "SELECT target_name, n FROM (SELECT target_name, COUNT(*) AS n FROM (SELECT target_name, target_id FROM obsportal.exposures WHERE exp_seeing < 1) AS a GROUP BY target_name) AS b WHERE n > (SELECT AVG(exp_seeing) FROM obsportal.exposures WHERE target_id IN (SELECT target_id FROM obsportal.exposures WHERE instrument_name = 'GRAVITY')) ORDER BY n DESC"),
];

fn median_micros(runs: usize, mut f: impl FnMut()) -> f64 {
    let mut samples = Vec::with_capacity(runs);
    for _ in 0..runs {
        let start = Instant::now();
        f();
        samples.push(start.elapsed().as_secs_f64() * 1e6);
    }
    samples.sort_by(f64::total_cmp);
    samples[runs / 2]
}

fn main() {
    let catalog = catalog();
    let runs = std::env::var("ADQL_BENCH_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    println!(
        "{:<28} {:>14} {:>16} {:>12} {:>18} {:>8}",
        "query", "adql µs", "as TAP runs it", "from cache", "sqlparser only µs", "ratio"
    );
    let cache = adql::TranslationCache::new(64);
    for (name, text) in QUERIES {
        adql::translate(text, &catalog).unwrap_or_else(|e| panic!("{name}: {e}"));
        let ours = median_micros(runs, || {
            black_box(adql::translate(black_box(text), &catalog).unwrap());
        });
        // TAP translates with the numbers taken out as parameters.
        let parameterised = median_micros(runs, || {
            black_box(adql::translate_with_parameters(black_box(text), &catalog).unwrap());
        });
        // TAP goes through a cache of translations by shape: the same query with other numbers
        // (here the same numbers) reuses the first one's.
        let cached = median_micros(runs, || {
            black_box(
                cache
                    .translate_with_parameters(black_box(text), &catalog)
                    .unwrap(),
            );
        });
        let dialect = sqlparser::dialect::GenericDialect {};
        let parse_only = median_micros(runs, || {
            black_box(sqlparser::parser::Parser::parse_sql(&dialect, black_box(text)).unwrap());
        });
        println!(
            "{name:<28} {ours:>14.2} {parameterised:>16.2} {cached:>12.2} {parse_only:>18.2} {:>8.2}",
            ours / parse_only
        );
    }
}
