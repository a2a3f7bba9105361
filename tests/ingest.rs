//! `obsportal ingest` against a real embedded PostgreSQL with pg_sphere: filtering, derivation,
//! atomicity, idempotence, target identification, input formats (imports over stored
//! exposures: `reimport.rs`).
//! Each test runs a server on its own data directory and imports beside it, as an operator would.

mod support;

use std::fs;
use std::io::Write;
use std::path::PathBuf;

use support::{count, header_file, Workspace};

/// Every published column of every exposure, as JSON text, in a stable order.
async fn snapshot(db: &tokio_postgres::Client) -> Vec<String> {
    db.query(
        "SELECT row_to_json(x)::text FROM obsportal.exposures x ORDER BY exp_id",
        &[],
    )
    .await
    .unwrap()
    .iter()
    .map(|row| row.get(0))
    .collect()
}

#[tokio::test]
async fn keeps_science_and_calibrator_exposures_and_derives_their_fields() {
    let workspace = Workspace::new();
    let _server = workspace.serve(&[]);
    let summary = workspace.ingest_ok(&[header_file("night.hdr")]);
    assert!(summary.contains("6 headers read"), "{summary}");
    assert!(summary.contains("accepted as exposures: 3"), "{summary}");
    assert!(
        summary.contains("dropped: 3 (acquisition 1, dark 1, sky 1)"),
        "{summary}"
    );

    let db = workspace.connect("obsportal", "obsportal").await;
    let rows = db
        .query(
            "SELECT exp_id, instrument_name, instrument_mode, instrument_submode, interferometer_name,
                    interferometer_stations, obs_type, obs_program, obs_program_pi_coi, exp_seeing,
                    exp_tau0, exp_temperature, exp_validation_level, exp_validation_log,
                    (exp_mjd_end - exp_mjd_start) * 86400, exp_projected_baselines, obs_id, target_name,
                    instrument_em_res_power, exp_date_release::text
               FROM obsportal.exposures ORDER BY exp_mjd_start",
            &[],
        )
        .await
        .unwrap();
    let ids: Vec<&str> = rows.iter().map(|r| r.get(0)).collect();
    assert_eq!(
        ids,
        [
            "GRAVI.2020-01-09T03:34:07.546_1",
            "GRAVI.2020-01-09T03:44:00.000_1",
            "GRAVI.2020-01-09T04:10:00.000_1"
        ]
    );
    let science = &rows[0];
    assert_eq!(science.get::<_, &str>(1), "GRAVITY");
    assert_eq!(science.get::<_, &str>(2), "MEDIUM-SPLIT");
    assert_eq!(science.get::<_, &str>(3), "SINGLE");
    assert_eq!(science.get::<_, &str>(4), "VLTI");
    assert_eq!(science.get::<_, &str>(5), "U1 U2 U3 U4");
    assert_eq!(science.get::<_, &str>(6), "science");
    assert_eq!(science.get::<_, &str>(7), "0104.C-0425(A)");
    assert_eq!(science.get::<_, &str>(8), "Berger");
    assert!(
        (science.get::<_, f64>(9) - 0.60).abs() < 1e-12,
        "seeing is the mean of start and end"
    );
    assert!((science.get::<_, f64>(10) - 0.0060).abs() < 1e-12);
    assert_eq!(science.get::<_, f64>(11), 14.25);
    assert_eq!(science.get::<_, i32>(12), 2);
    // This hand-written header's baselines were made up, not what U1-U4 saw of HD 45677 that
    // night: the log says so for each of its 24 ISS cards (the values are still published).
    let log: Vec<String> = serde_json::from_str(science.get::<_, &str>(13)).unwrap();
    assert_eq!(log.len(), 24, "{log:?}");
    assert!(log
        .iter()
        .all(|entry| entry.contains("seen from the target")));
    assert!(
        (science.get::<_, f64>(14) - 240.0).abs() < 1e-3,
        "end = start + EXPTIME"
    );
    // The string ASPRO2 parses, exactly as today's ObsPortal writes it for these values.
    let baselines: &str = science.get(15);
    assert!(
        baselines.starts_with(
            "{'U1-U2': {'length': {'start': '55.9040', 'end': '55.8970'}, 'angle': {'start': '3.3000', 'end': '4.0000'}}, \
             'U1-U3': {'length': {'start': '102.0940', 'end': '102.0770'}, 'angle': {'start': '8.2000', 'end': '8.9000'}}, \
             'U1-U4': {'length': {'start': '126.7160', 'end': '126.9170'}, 'angle': {'start': '29.9210', 'end': '30.8160'}}, \
             'U2-U3': {'length': {'start': '46.6400', 'end': '46.6410'}, 'angle': {'start': '14.1000', 'end': '14.9000'}}"
        ),
        "{baselines}"
    );
    assert_eq!(
        baselines.matches("'length'").count(),
        6,
        "six baselines for four stations"
    );
    // GRAVITY MEDIUM's resolving power in ASPRO2's tables (median lambda / delta-lambda).
    assert_eq!(science.get::<_, f64>(18), 506.0);
    assert_eq!(
        science.get::<_, &str>(19),
        "2021-01-09 03:34:07.546+00",
        "released a year later"
    );

    // Two science exposures of one OB a few minutes apart: one observation.
    assert_eq!(rows[0].get::<_, i32>(16), rows[1].get::<_, i32>(16));
    let calibrator = &rows[2];
    assert_ne!(calibrator.get::<_, i32>(16), rows[0].get::<_, i32>(16));
    assert_eq!(calibrator.get::<_, &str>(6), "calibrator");
    assert_eq!(calibrator.get::<_, &str>(17), "HD 46355");
    assert_eq!(
        calibrator.get::<_, Option<f64>>(9),
        None,
        "missing weather is NULL, not a sentinel"
    );
    assert_eq!(calibrator.get::<_, Option<f64>>(11), None);
    assert_eq!(calibrator.get::<_, i32>(12), 1);
    let log: &str = calibrator.get(13);
    for key in [
        "ISS AMBI FWHM START",
        "ISS AMBI FWHM END",
        "ISS AMBI TAU0 START",
        "ISS AMBI TAU0 END",
        "ISS AMBI TEMP",
    ] {
        assert!(
            log.contains(&format!("Missing 'HIERARCH ESO {key}'")),
            "{log}"
        );
    }

    // Every header is kept, with the reason it was dropped.
    let reasons = db
        .query(
            "SELECT drop_reason FROM obsportal.header WHERE NOT accepted ORDER BY drop_reason",
            &[],
        )
        .await
        .unwrap();
    let reasons: Vec<&str> = reasons.iter().map(|r| r.get(0)).collect();
    assert_eq!(reasons, ["acquisition", "dark", "sky"]);
    assert_eq!(
        count(&db, "SELECT count(*) FROM obsportal.header WHERE accepted").await,
        3
    );

    // Statistics are there without counting live.
    let gravity: i64 = db
        .query_one("SELECT exposures FROM obsportal.statistics WHERE dimension = 'instrument' AND value = 'GRAVITY'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(gravity, 3);
    assert_eq!(
        count(&db, "SELECT sum(exposures)::bigint FROM obsportal.statistics WHERE dimension = 'year' AND value = '2020'").await,
        3
    );
    // ObsCore sees the same exposures.
    assert_eq!(count(&db, "SELECT count(*) FROM ivoa.obscore WHERE dataproduct_type = 'visibility' AND calib_level = 0").await, 3);
}

#[tokio::test]
async fn a_corrupt_file_aborts_the_import_and_changes_nothing() {
    let workspace = Workspace::new();
    let _server = workspace.serve(&[]);
    workspace.ingest_ok(&[header_file("night.hdr")]);
    let db = workspace.connect("obsportal", "obsportal").await;
    let before = snapshot(&db).await;
    let headers_before = count(&db, "SELECT count(*) FROM obsportal.header").await;
    let imports_before = count(&db, "SELECT count(*) FROM obsportal.import").await;

    // fresh.hdr is valid and new, corrupt.hdr breaks in its second header.
    let output = workspace.ingest(&[header_file("fresh.hdr"), header_file("corrupt.hdr")]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    let good_header_cards = fs::read_to_string(header_file("corrupt.hdr"))
        .unwrap()
        .lines()
        .position(|l| l.starts_with("END"))
        .unwrap()
        + 1;
    let expected = format!(
        "corrupt.hdr: card {}: string value without its closing quote",
        good_header_cards + 5
    );
    assert!(
        stderr.contains(&expected),
        "expected {expected:?} in:\n{stderr}"
    );

    assert_eq!(snapshot(&db).await, before);
    assert_eq!(
        count(&db, "SELECT count(*) FROM obsportal.header").await,
        headers_before
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM obsportal.import").await,
        imports_before
    );

    // Without the corrupt file the same import goes through.
    workspace.ingest_ok(&[header_file("fresh.hdr")]);
    assert_eq!(
        count(&db, "SELECT count(*) FROM obsportal.exposures").await,
        before.len() as i64 + 1
    );
}

#[tokio::test]
async fn importing_the_same_headers_twice_changes_nothing() {
    let workspace = Workspace::new();
    let _server = workspace.serve(&[]);
    workspace.ingest_ok(&[header_file("night.hdr"), header_file("alias.hdr")]);
    let db = workspace.connect("obsportal", "obsportal").await;
    let before = snapshot(&db).await;
    let targets_before = count(&db, "SELECT count(*) FROM obsportal.target").await;

    let summary = workspace.ingest_ok(&[header_file("alias.hdr"), header_file("night.hdr")]);
    assert!(summary.contains("8 headers read"), "{summary}");
    assert!(
        summary.contains("0 new, 0 changed, 8 unchanged"),
        "{summary}"
    );
    assert_eq!(
        snapshot(&db).await,
        before,
        "same rows, same ids, same update dates"
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM obsportal.target").await,
        targets_before
    );
}

#[tokio::test]
async fn targets_are_identified_by_position_not_by_name() {
    let workspace = Workspace::new();
    let _server = workspace.serve(&[]);
    workspace.ingest_ok(&[header_file("night.hdr")]);
    workspace.ingest_ok(&[header_file("alias.hdr")]);
    let db = workspace.connect("obsportal", "obsportal").await;
    let target_of = |id: &'static str| {
        let db = &db;
        async move {
            let row = db
                .query_one(
                    "SELECT target_id, target_name FROM obsportal.exposures WHERE exp_id = $1",
                    &[&id],
                )
                .await
                .unwrap();
            (row.get::<_, i32>(0), row.get::<_, String>(1))
        }
    };
    let original = target_of("GRAVI.2020-01-09T03:34:07.546_1").await;
    // "FS CMa", 0.5 arcsec from HD 45677: the same star under another name.
    let alias = target_of("GRAVI.2021-03-01T01:00:00.000_1").await;
    assert_eq!(alias, original);
    assert_eq!(alias.1, "HD 45677");
    // 10 arcsec away is another star.
    let neighbour = target_of("GRAVI.2021-03-01T02:00:00.000_1").await;
    assert_ne!(neighbour.0, original.0);
    assert_eq!(neighbour.1, "Neighbour");
    assert_eq!(count(&db, "SELECT count(*) FROM obsportal.target").await, 3);
}

/// A FITS file: the header's cards as 80-byte records padded to 2880 bytes, then data.
fn fits_bytes(header_text: &str) -> Vec<u8> {
    let mut bytes: Vec<u8> = header_text
        .lines()
        .flat_map(|line| format!("{line:<80}").into_bytes())
        .collect();
    bytes.resize(bytes.len().div_ceil(2880) * 2880, b' ');
    bytes.extend(std::iter::repeat_n(0xA5u8, 2880)); // binary data that must not be read as cards
    bytes
}

#[tokio::test]
async fn reads_fits_gzip_tar_bundles_and_directories() {
    let workspace = Workspace::new();
    let _server = workspace.serve(&[]);
    let inputs = workspace.path().join("inputs");
    let nested = inputs.join("2020/01");
    fs::create_dir_all(&nested).unwrap();
    fs::copy(header_file("night.hdr"), nested.join("night.hdr")).unwrap();

    let fresh = fs::read_to_string(header_file("fresh.hdr")).unwrap();
    fs::write(
        inputs.join("GRAVI.2022-06-06T06:06:06.000.fits"),
        fits_bytes(&fresh),
    )
    .unwrap();
    let other = fresh.replace("2022-06-06T06:06:06.000", "2022-06-07T06:06:06.000");
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gzip.write_all(&fits_bytes(&other)).unwrap();
    fs::write(
        inputs.join("GRAVI.2022-06-07T06:06:06.000.fits.gz"),
        gzip.finish().unwrap(),
    )
    .unwrap();

    let bundle = fs::File::create(inputs.join("bundle.tar.gz")).unwrap();
    let mut tar = tar::Builder::new(flate2::write::GzEncoder::new(
        bundle,
        flate2::Compression::default(),
    ));
    tar.append_path_with_name(header_file("alias.hdr"), "headers/alias.hdr")
        .unwrap();
    tar.into_inner().unwrap().finish().unwrap();

    let summary = workspace.ingest_ok(std::slice::from_ref(&inputs));
    assert!(summary.contains("10 headers read"), "{summary}");
    let db = workspace.connect("obsportal", "obsportal").await;
    let sources: Vec<String> = db
        .query("SELECT source FROM obsportal.header WHERE dp_id LIKE 'GRAVI.2021-03-01%' OR dp_id LIKE 'GRAVI.2022-06%' ORDER BY dp_id", &[])
        .await
        .unwrap()
        .iter()
        .map(|row| row.get::<_, String>(0).replace(&inputs.display().to_string(), ""))
        .collect();
    assert_eq!(
        sources,
        [
            "/bundle.tar.gz:headers/alias.hdr",
            "/bundle.tar.gz:headers/alias.hdr",
            "/GRAVI.2022-06-06T06:06:06.000.fits",
            "/GRAVI.2022-06-07T06:06:06.000.fits.gz"
        ]
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM obsportal.exposures").await,
        3 + 2 + 2
    );
}

#[tokio::test]
async fn a_missing_path_is_a_clear_error() {
    let workspace = Workspace::new();
    let output = workspace.ingest(&[PathBuf::from("/nonexistent/headers.hdr")]);
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("/nonexistent/headers.hdr: No such file"),
        "{stderr}"
    );
    assert!(
        workspace.postmaster_pid().is_none(),
        "the cluster the import started is stopped again"
    );
}

#[tokio::test]
async fn cone_searches_on_the_published_tables_use_the_gist_index() {
    let workspace = Workspace::new();
    let _server = workspace.serve(&["--demo-rows", "3000"]);
    let db = workspace.connect("obsportal", "obsportal").await;
    assert_eq!(
        count(&db, "SELECT count(*) FROM obsportal.exposures").await,
        3000
    );
    for sql in [
        "SELECT exp_id FROM obsportal.exposures WHERE spoint(radians(target_ra), radians(target_dec)) \
         @ scircle(spoint(radians(83.8), radians(-5.4)), radians(30.0 / 3600))",
        "SELECT obs_id FROM ivoa.obscore WHERE spoint(radians(s_ra), radians(s_dec)) \
         @ scircle(spoint(radians(83.8), radians(-5.4)), radians(30.0 / 3600))",
    ] {
        let plan: Vec<String> =
            db.query(&format!("EXPLAIN {sql}"), &[]).await.unwrap().iter().map(|r| r.get(0)).collect();
        let plan = plan.join("\n");
        assert!(plan.contains("exposures_position"), "{sql}\n{plan}");
    }
}

/// The targets of one import follow the rule, checked exposure by exposure against a
/// brute-force reading of it: an exposure's target sits where the earliest exposure (by start,
/// then DP.ID) within 5" of it points, and is named after it. Demo pointings scatter by up to
/// 0.15" around their star and an OB's exposures share theirs, as real ones do.
#[tokio::test]
async fn each_exposure_joins_the_target_its_earliest_neighbour_seeded() {
    let workspace = Workspace::new();
    let _server = workspace.serve(&[]);
    let headers = workspace.demo_headers("demo.hdr", 3000, 5);
    workspace.ingest_ok(&[headers]);
    let db = workspace.connect("obsportal", "obsportal").await;
    let exposures = count(&db, "SELECT count(*) FROM obsportal.exposure").await;
    let targets = count(&db, "SELECT count(*) FROM obsportal.target").await;
    assert!(
        exposures > 2500 && targets > 20 && targets < exposures / 5,
        "{exposures} {targets}"
    );
    let astray = count(
        &db,
        "SELECT count(*) FROM obsportal.exposure e JOIN obsportal.target t ON t.id = e.target_id \
         CROSS JOIN LATERAL ( \
             SELECT s.ra, s.dec, s.target_name FROM obsportal.exposure s \
              WHERE spoint(radians(s.ra), radians(s.dec)) \
                    @ scircle(spoint(radians(e.ra), radians(e.dec)), radians(5.0 / 3600)) \
              ORDER BY s.mjd_start, s.header_id LIMIT 1) AS seed \
         WHERE (t.ra, t.dec, t.name) IS DISTINCT FROM (seed.ra, seed.dec, seed.target_name)",
    )
    .await;
    assert_eq!(
        astray, 0,
        "exposures whose target is not their earliest neighbour's"
    );
}
