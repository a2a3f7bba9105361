//! The ADQL translator against real PostgreSQL + pg_sphere: every expected translation of
//! `adql/tests/cases` runs on the real schema as the reader role; cone and DISTANCE queries use
//! the GiST index; and cone searches agree with an independent spherical computation, near
//! the poles and across RA = 0/360 too.

mod support;

use std::fs;
use std::path::Path;

use support::{Server, Workspace};

/// Every `adql/tests/cases` file with this extension: (path, text).
fn case_files(extension: &str) -> Vec<(String, String)> {
    fn walk(directory: &Path, extension: &str, found: &mut Vec<(String, String)>) {
        for entry in fs::read_dir(directory).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                walk(&path, extension, found);
            } else if path.extension().is_some_and(|e| e == extension) {
                found.push((
                    path.display().to_string(),
                    fs::read_to_string(&path).unwrap(),
                ));
            }
        }
    }
    let mut found = Vec::new();
    walk(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("adql/tests/cases"),
        extension,
        &mut found,
    );
    found
}

/// A server on `rows` demo exposures, and a connection to its database as the reader role.
async fn reader_on_demo(rows: u32) -> (Workspace, Server, tokio_postgres::Client) {
    let workspace = Workspace::new();
    let server = workspace.serve(&["--demo-rows", &rows.to_string()]);
    let client = workspace.connect("obsportal", "obsportal").await;
    // The cases' uploaded table, as the server loads an upload: a temporary table of the
    // session, created by the query role in a read-write transaction.
    client
        .batch_execute(
            "SET ROLE obsportal_query; \
             BEGIN READ WRITE; \
             CREATE TEMPORARY TABLE targets (name text, ra double precision, dec double precision, \
                                             \"Mixed Case\" text, size double precision); \
             INSERT INTO targets VALUES ('HD 45677', 104.8167, -13.0586, 'x', 1); \
             COMMIT; \
             SET default_transaction_read_only = on",
        )
        .await
        .unwrap();
    (workspace, server, client)
}

#[tokio::test]
async fn every_expected_translation_is_valid_postgresql_for_the_reader() {
    let (_workspace, _server, db) = reader_on_demo(300).await;
    let mut checked = 0;
    for (path, sql) in case_files("sql") {
        // Run, not just plan: errors of types and functions only show at execution.
        let limited = format!("SELECT count(*) FROM ({}) AS q", sql.trim_end());
        if let Err(error) = db.query_one(&limited, &[]).await {
            panic!("{path}: {error:?}\n{sql}");
        }
        checked += 1;
    }
    assert!(checked >= 250, "only {checked} translations checked");
}

#[tokio::test]
async fn numbers_as_parameters_give_the_same_rows_as_numbers_in_the_text() {
    let (_workspace, _server, db) = reader_on_demo(300).await;
    let catalog = obsportal::schema::adql_catalog();
    // The rows of a query as one text, in a stable order.
    let rows_of = |sql: &str| {
        format!(
            "SELECT count(*), md5(coalesce(string_agg(q::text, '|' ORDER BY q::text), '')) \
             FROM ({sql}) AS q"
        )
    };
    let (mut compared, mut with_parameters) = (0, 0);
    for (path, adql) in case_files("adql") {
        let (Ok(inline), Ok(parameterised)) = (
            adql::translate(&adql, catalog),
            adql::translate_with_parameters(&adql, catalog),
        ) else {
            continue; // refused either way (the errors/ cases)
        };
        if inline.sql.contains("random()") {
            continue; // random rows differ by nature
        }
        let (values, types): (Vec<_>, Vec<_>) = parameterised
            .parameters
            .iter()
            .map(|literal| obsportal::query::sql_parameter(*literal))
            .unzip();
        let values = obsportal::results::as_sql_parameters(&values);
        let expected = db.query_one(&rows_of(&inline.sql), &[]).await;
        let got = match db.prepare_typed(&rows_of(&parameterised.sql), &types).await {
            Ok(statement) => db.query_one(&statement, &values).await,
            Err(error) => Err(error),
        };
        match (expected, got) {
            (Ok(expected), Ok(got)) => {
                let summary =
                    |row: &tokio_postgres::Row| (row.get::<_, i64>(0), row.get::<_, String>(1));
                assert_eq!(
                    summary(&got),
                    summary(&expected),
                    "{path}\n{}",
                    parameterised.sql
                );
            }
            // A query PostgreSQL refuses (a division by zero...) must be refused both ways.
            (Err(_), Err(_)) => {}
            (expected, got) => panic!(
                "{path}: {:?} inline, {:?} with parameters\n{}",
                expected.err(),
                got.err(),
                parameterised.sql
            ),
        }
        compared += 1;
        with_parameters += usize::from(!values.is_empty());
    }
    assert!(compared >= 250, "only {compared} cases compared");
    assert!(
        with_parameters >= 80,
        "only {with_parameters} cases had numbers to take out"
    );
}

#[tokio::test]
async fn cone_and_distance_queries_use_the_gist_index() {
    let (_workspace, _server, db) = reader_on_demo(3000).await;
    let catalog = obsportal::schema::adql_catalog();
    for adql in [
        "SELECT * FROM obsportal.exposures WHERE CONTAINS(POINT('ICRS', target_ra, target_dec), CIRCLE('ICRS', 83.8, -5.4, 30.0 / 3600.0)) = 1",
        "SELECT exp_id FROM obsportal.exposures WHERE DISTANCE(POINT(target_ra, target_dec), POINT(83.8, -5.4)) < 0.01",
        "SELECT obs_id FROM ivoa.obscore WHERE 1 = CONTAINS(POINT(s_ra, s_dec), CIRCLE(83.8, -5.4, 0.01))",
    ] {
        let sql = adql::translate(adql, catalog).unwrap().sql;
        let plan = explain(&db, &sql).await;
        assert!(plan.contains("exposures_position"), "{adql}\n{plan}");

        // With its numbers as parameters, the statement's generic plan (the one PostgreSQL
        // reuses after five runs) must use the index too.
        let translation = adql::translate_with_parameters(adql, catalog).unwrap();
        let (types, values) = support::sql_parameters(&translation);
        db.batch_execute(&format!(
            "SET plan_cache_mode = force_generic_plan; PREPARE cone ({types}) AS {}",
            translation.sql
        ))
        .await
        .unwrap();
        let plan = explain(&db, &format!("EXECUTE cone ({values})")).await;
        db.batch_execute("DEALLOCATE cone; RESET plan_cache_mode").await.unwrap();
        assert!(plan.contains("exposures_position"), "generic plan of {adql}\n{plan}");
    }

    // pg_sphere 1.2.0 estimates any containment at 0.1 % of the rows; the latitude band the
    // translator adds makes the planner see a cone as small. (With 1M exposures that keeps
    // TOP 10 ... ORDER BY exp_mjd_start on the GiST index: 0.8 s to 0.1 ms for an empty cone.)
    let rows: i64 = db
        .query_one("SELECT count(*) FROM obsportal.exposures", &[])
        .await
        .unwrap()
        .get(0);
    let position = db
        .query_one(
            "SELECT target_ra, target_dec FROM obsportal.exposures LIMIT 1",
            &[],
        )
        .await
        .unwrap();
    let (ra, dec): (f64, f64) = (position.get(0), position.get(1));
    let sql = adql::translate(
        &format!(
            "SELECT exp_id FROM obsportal.exposures WHERE \
             CONTAINS(POINT(target_ra, target_dec), CIRCLE({ra}, {dec}, 30 / 3600.0)) = 1"
        ),
        catalog,
    )
    .unwrap()
    .sql;
    let plan: String = db
        .query_one(&format!("EXPLAIN (FORMAT JSON) {sql}"), &[])
        .await
        .unwrap()
        .get::<_, serde_json::Value>(0)
        .to_string();
    let estimate: f64 = plan
        .split("\"Plan Rows\":")
        .nth(1)
        .and_then(|rest| rest.split([',', '}']).next())
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no row estimate in {plan}"));
    assert!(
        estimate < rows as f64 * 0.001,
        "a 30\" cone estimated at {estimate} of {rows} rows\n{plan}"
    );
}

/// The same cone search around one position after another, as the TAP service runs it (one
/// prepared statement, numbers as parameters). PostgreSQL tries five custom plans, then keeps
/// the generic one unless it looks dearer: it must not compute the circle or the band's
/// bounds row by row (on 1M exposures that made PostgreSQL plan every search anew, a third
/// of its time per search), and it must find the same rows as the query with its numbers.
#[tokio::test]
async fn repeated_cone_searches_settle_on_one_generic_plan() {
    let (_workspace, _server, db) = reader_on_demo(3000).await;
    let catalog = obsportal::schema::adql_catalog();
    let positions = support::positions(
        &db,
        "SELECT DISTINCT target_ra, target_dec FROM obsportal.exposures \
         ORDER BY target_ra LIMIT 12",
    )
    .await;
    let adql = |(ra, dec): (f64, f64)| {
        format!(
            "SELECT exp_id FROM obsportal.exposures WHERE 1 = CONTAINS(\
             POINT('ICRS', target_ra, target_dec), CIRCLE('ICRS', {ra}, {dec}, 30.0 / 3600.0)) \
             AND DISTANCE(POINT(target_ra, target_dec), POINT({ra}, {dec})) < 40.0 / 3600.0"
        )
    };
    let exposure_ids = |rows: Vec<tokio_postgres::Row>| {
        let mut ids: Vec<String> = rows.iter().map(|row| row.get(0)).collect();
        ids.sort();
        ids
    };
    let mut last_values = String::new();
    for (run, &position) in positions.iter().enumerate() {
        let translation = adql::translate_with_parameters(&adql(position), catalog).unwrap();
        let (types, values) = support::sql_parameters(&translation);
        if run == 0 {
            let prepare = format!("PREPARE cone ({types}) AS {}", translation.sql);
            db.batch_execute(&prepare).await.unwrap();
        }
        let found = db
            .query(&format!("EXECUTE cone ({values})"), &[])
            .await
            .unwrap();
        let inline = adql::translate(&adql(position), catalog).unwrap().sql;
        let expected = exposure_ids(db.query(&inline, &[]).await.unwrap());
        assert!(!expected.is_empty(), "no exposure around {position:?}");
        assert_eq!(exposure_ids(found), expected, "around {position:?}");
        last_values = values;
    }
    let counts = db
        .query_one(
            "SELECT generic_plans, custom_plans FROM pg_prepared_statements WHERE name = 'cone'",
            &[],
        )
        .await
        .unwrap();
    let (generic, custom): (i64, i64) = (counts.get(0), counts.get(1));
    assert_eq!((generic, custom), (positions.len() as i64 - 5, 5));

    // What the rows cost in the generic plan: comparisons with values computed once (InitPlan
    // outputs, `$n` alone), no function of the parameters.
    let plan = explain(&db, &format!("EXECUTE cone ({last_values})")).await;
    let per_row: Vec<&str> = plan
        .lines()
        .filter(|line| line.contains("Filter:") || line.contains("Recheck Cond:"))
        .collect();
    assert!(!per_row.is_empty(), "{plan}");
    for line in per_row {
        assert!(!line.contains("($"), "computed row by row: {line}\n{plan}");
    }
}

async fn explain(db: &tokio_postgres::Client, sql: &str) -> String {
    let rows = db.query(&format!("EXPLAIN {sql}"), &[]).await.unwrap();
    let lines: Vec<String> = rows.iter().map(|row| row.get(0)).collect();
    lines.join("\n")
}

/// Angular distance in degrees, by the haversine formula: independent of pg_sphere.
fn separation(ra1: f64, dec1: f64, ra2: f64, dec2: f64) -> f64 {
    let (phi1, phi2) = (dec1.to_radians(), dec2.to_radians());
    let half_dphi = (phi2 - phi1) / 2.0;
    let half_dlambda = (ra2 - ra1).to_radians() / 2.0;
    let a = half_dphi.sin().powi(2) + phi1.cos() * phi2.cos() * half_dlambda.sin().powi(2);
    (2.0 * a.sqrt().min(1.0).asin()).to_degrees()
}

#[tokio::test]
async fn cone_searches_agree_with_an_independent_spherical_computation() {
    let (_workspace, _server, db) = reader_on_demo(3000).await;
    let catalog = obsportal::schema::adql_catalog();
    let all: Vec<(String, f64, f64)> = db
        .query(
            "SELECT exp_id, target_ra, target_dec FROM obsportal.exposures",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1), r.get(2)))
        .collect();
    // Centres on the data, and where spherical geometry is easy to get wrong.
    let mut centres: Vec<(f64, f64, f64)> = all
        .iter()
        .step_by(97)
        .map(|(_, ra, dec)| (*ra, *dec, 2.0))
        .collect();
    centres.extend([
        (0.0, 0.0, 40.0),
        (359.9, -30.0, 25.0),
        (0.1, 30.0, 25.0),
        (180.0, 89.5, 30.0),
        (10.0, -89.9, 35.0),
    ]);
    let mut compared = 0;
    for (ra, dec, radius) in centres {
        let adql = format!(
            "SELECT exp_id FROM obsportal.exposures WHERE CONTAINS(POINT('ICRS', target_ra, target_dec), CIRCLE('ICRS', {ra}, {dec}, {radius})) = 1"
        );
        let sql = adql::translate(&adql, catalog).unwrap().sql;
        let mut found: Vec<String> = db
            .query(&sql, &[])
            .await
            .unwrap()
            .iter()
            .map(|r| r.get(0))
            .collect();
        found.sort();
        // Rows right on the edge may fall either way in floating point: leave them out.
        let margin = 1e-9;
        let mut expected: Vec<String> = Vec::new();
        for (id, r, d) in &all {
            let distance = separation(ra, dec, *r, *d);
            if distance < radius - margin {
                expected.push(id.clone());
            } else if distance <= radius + margin {
                found.retain(|f| f != id);
            }
        }
        expected.sort();
        assert_eq!(found, expected, "cone ({ra}, {dec}, {radius})");
        compared += expected.len();
    }
    assert!(
        compared > 100,
        "the cones found too little to compare ({compared})"
    );
}

#[tokio::test]
async fn geometries_come_back_as_dali_arrays_in_degrees() {
    let (_workspace, _server, db) = reader_on_demo(20).await;
    let catalog = obsportal::schema::adql_catalog();
    let sql = adql::translate(
        "SELECT TOP 1 POINT('ICRS', 10, -20) AS p, CIRCLE(10, -20, 1.5) AS c, POLYGON(0, 0, 10, 0, 10, 10) AS t, \
         CENTROID(CIRCLE(350, 80, 2)) AS m, CAST('12.5 -45.25' AS POINT) AS k, \
         ivo_healpix_index(0, 90, 0) AS h, ivo_healpix_center(0, 0) AS hc FROM obsportal.exposures",
        catalog,
    )
    .unwrap()
    .sql;
    let row = db.query_one(&sql, &[]).await.unwrap();
    let close = |actual: Vec<f64>, expected: &[f64]| {
        assert_eq!(actual.len(), expected.len(), "{actual:?}");
        for (a, e) in actual.iter().zip(expected) {
            assert!((a - e).abs() < 1e-9, "{actual:?} vs {expected:?}");
        }
    };
    close(row.get::<_, Vec<f64>>(0), &[10.0, -20.0]);
    close(row.get::<_, Vec<f64>>(1), &[10.0, -20.0, 1.5]);
    close(
        row.get::<_, Vec<f64>>(2),
        &[0.0, 0.0, 10.0, 0.0, 10.0, 10.0],
    );
    close(row.get::<_, Vec<f64>>(3), &[350.0, 80.0]);
    close(row.get::<_, Vec<f64>>(4), &[12.5, -45.25]);
    // HEALPix at order 0, worked out from its definition: twelve base pixels, nested numbers
    // 0-3 centred on the northern cap at RA 45, 135, 225, 315 and z = 2/3, 4-7 on the equator
    // at RA 0, 90, 180, 270.
    assert_eq!(row.get::<_, i64>(5), 5);
    close(
        row.get::<_, Vec<f64>>(6),
        &[45.0, (2.0f64 / 3.0).asin().to_degrees()],
    );
    // A NULL region stays NULL rather than becoming an empty array.
    let sql = adql::translate("SELECT TOP 1 s_region FROM ivoa.obscore", catalog)
        .unwrap()
        .sql;
    let rows = db.query(&sql, &[]).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].get::<_, Option<Vec<f64>>>(0), None);
}
