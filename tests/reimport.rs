//! Imports over a database that already holds exposures, as harvests make them: changed
//! headers, headers that turn into drops or move, a night in two parts, a bulk import beside a
//! small one. What each import writes again, regroups and publishes again, and that nothing is
//! left behind.
//! Each test runs a server on its own data directory and imports beside it, as an operator would.

mod support;

use std::fs;

use support::{count, header_file, night_edited, published_unlike_a_full_recomputation, Workspace};

#[tokio::test]
async fn a_changed_header_updates_its_exposure_and_only_it() {
    let workspace = Workspace::new();
    let _server = workspace.serve(&[]);
    workspace.ingest_ok(&[header_file("night.hdr")]);
    let db = workspace.connect("obsportal", "obsportal").await;
    let query = "SELECT exp_id, exp_seeing, exp_date_updated, obs_id FROM obsportal.exposures ORDER BY exp_id";
    let before = db.query(query, &[]).await.unwrap();
    let baselines =
        "SELECT exp_id, station1, station2, length_start FROM obsportal.baselines ORDER BY 1, 2, 3";
    let baselines_before = db.query(baselines, &[]).await.unwrap();
    assert!(!baselines_before.is_empty());

    // The second science exposure gets a new seeing value at its start.
    let changed = night_edited(
        &workspace,
        "night-reprocessed.hdr",
        &[(
            "GRAVI.2020-01-09T03:44:00.000",
            "HIERARCH ESO ISS AMBI FWHM START = 0.62",
            "HIERARCH ESO ISS AMBI FWHM START = 0.9",
        )],
    );

    let summary = workspace.ingest_ok(&[changed]);
    assert!(
        summary.contains("0 new, 1 changed, 5 unchanged"),
        "{summary}"
    );
    let after = db.query(query, &[]).await.unwrap();
    // The changed exposure's baselines were written again, once: the same rows.
    let baselines_after = db.query(baselines, &[]).await.unwrap();
    let rows = |rows: &[tokio_postgres::Row]| -> Vec<(String, String, String, Option<f64>)> {
        rows.iter()
            .map(|r| (r.get(0), r.get(1), r.get(2), r.get(3)))
            .collect()
    };
    assert_eq!(rows(&baselines_after), rows(&baselines_before));
    for (old, new) in before.iter().zip(&after) {
        let id: &str = old.get(0);
        assert_eq!(
            old.get::<_, i32>(3),
            new.get::<_, i32>(3),
            "{id} keeps its observation"
        );
        if id == "GRAVI.2020-01-09T03:44:00.000_1" {
            assert!((new.get::<_, f64>(1) - 0.74).abs() < 1e-12);
            assert!(
                new.get::<_, chrono::DateTime<chrono::Utc>>(2)
                    > old.get::<_, chrono::DateTime<chrono::Utc>>(2)
            );
        } else {
            assert_eq!(
                old.get::<_, Option<f64>>(1),
                new.get::<_, Option<f64>>(1),
                "{id}"
            );
            assert_eq!(
                old.get::<_, chrono::DateTime<chrono::Utc>>(2),
                new.get::<_, chrono::DateTime<chrono::Utc>>(2),
                "{id} was not touched"
            );
        }
    }
}

/// What the store's foreign keys guarded until apply_staged_headers took it over (migration
/// 0020): every reference between the tables an import writes, and nothing left behind.
const ORPHANS: &str = "
    SELECT (SELECT count(*) FROM obsportal.exposure e
             WHERE NOT EXISTS (SELECT FROM obsportal.header h WHERE h.dp_id = e.header_id AND h.accepted)
                OR NOT EXISTS (SELECT FROM obsportal.target t WHERE t.id = e.target_id)
                OR (e.program_id IS NOT NULL
                    AND NOT EXISTS (SELECT FROM obsportal.program p WHERE p.id = e.program_id)))
         + (SELECT count(*) FROM obsportal.header h
             WHERE NOT EXISTS (SELECT FROM obsportal.import i WHERE i.id = h.import_id))
         + (SELECT count(*) FROM obsportal.observation_member m
             WHERE NOT EXISTS (SELECT FROM obsportal.exposure e WHERE e.id = m.exposure_id)
                OR NOT EXISTS (SELECT FROM obsportal.observation o WHERE o.id = m.observation_id))
         + (SELECT count(*) FROM obsportal.exposure e
             WHERE NOT EXISTS (SELECT FROM obsportal.observation_member m WHERE m.exposure_id = e.id))
         + (SELECT count(*) FROM obsportal.baselines b
             WHERE NOT EXISTS (SELECT FROM obsportal.exposure e WHERE e.id = b.exp_id))
         + (SELECT count(*) FROM obsportal.target t
             WHERE NOT EXISTS (SELECT FROM obsportal.exposure e WHERE e.target_id = t.id))
         + (SELECT count(*) FROM obsportal.observation o
             WHERE o.exposure_count <> (SELECT count(*) FROM obsportal.observation_member m
                                         WHERE m.observation_id = o.id))";

/// Exposures whose observation is not the one a grouping of every exposure from scratch gives
/// them (migration 0018's rule: same setup, gaps under an hour); imports group again only the
/// targets they touched (0020).
const REGROUPED: &str = "
    WITH gaps AS (
        SELECT id, mjd_start, ob_id, target_id, instrument_name, instrument_mode,
               instrument_submode, stations, program_id, obs_type,
               mjd_start - lag(coalesce(mjd_end, mjd_start)) OVER setup AS gap
          FROM obsportal.exposure
        WINDOW setup AS (PARTITION BY ob_id, target_id, instrument_name, instrument_mode,
                                      instrument_submode, stations, program_id, obs_type
                         ORDER BY mjd_start, id)
    ), numbered AS (
        SELECT *, count(*) FILTER (WHERE gap IS NULL OR gap > 1.0 / 24) OVER setup AS block
          FROM gaps
        WINDOW setup AS (PARTITION BY ob_id, target_id, instrument_name, instrument_mode,
                                      instrument_submode, stations, program_id, obs_type
                         ORDER BY mjd_start, id)
    ), scratch AS (
        SELECT id, first_value(id) OVER (PARTITION BY ob_id, target_id, instrument_name,
                                                      instrument_mode, instrument_submode,
                                                      stations, program_id, obs_type, block
                                         ORDER BY mjd_start, id) AS first_exposure_id
          FROM numbered
    )
    SELECT count(*) FROM scratch s
      JOIN obsportal.observation_member m ON m.exposure_id = s.id
      JOIN obsportal.observation o ON o.id = m.observation_id
     WHERE o.first_exposure_id <> s.first_exposure_id";

#[tokio::test]
async fn a_header_changed_into_a_drop_or_a_new_place_leaves_nothing_behind() {
    let workspace = Workspace::new();
    let _server = workspace.serve(&[]);
    workspace.ingest_ok(&[header_file("night.hdr")]);
    let db = workspace.connect("obsportal", "obsportal").await;
    let orphans = || async { db.query_one(ORPHANS, &[]).await.unwrap().get::<_, i64>(0) };
    assert_eq!(orphans().await, 0);
    let exposures_of = |name: &'static str| {
        let db = &db;
        async move {
            db.query_one(
                "SELECT count(*) FROM obsportal.exposure e JOIN obsportal.target t ON t.id = e.target_id
                  WHERE t.name = $1",
                &[&name],
            )
            .await
            .unwrap()
            .get::<_, i64>(0)
        }
    };
    assert_eq!(exposures_of("HD 46355").await, 1);

    // A science exposure turns out to be a test, and the calibrator (its target's only
    // exposure) was pointed elsewhere.
    let corrections = [
        (
            "GRAVI.2020-01-09T03:44:00.000",
            "HIERARCH ESO DPR CATG = 'SCIENCE '",
            "HIERARCH ESO DPR CATG = 'TEST    '",
        ),
        (
            "GRAVI.2020-01-09T04:10:00.000",
            "RA      =             105.8046",
            "RA      =             200.0",
        ),
    ];
    let changed = night_edited(&workspace, "night-corrected.hdr", &corrections);

    let summary = workspace.ingest_ok(&[changed]);
    assert!(
        summary.contains("0 new, 2 changed, 4 unchanged"),
        "{summary}"
    );
    assert_eq!(orphans().await, 0);
    assert_eq!(count(&db, REGROUPED).await, 0);
    let mut fresh = workspace.connect("obsportal", "obsportal").await;
    assert_eq!(published_unlike_a_full_recomputation(&mut fresh).await, 0);
    let dropped = db
        .query_one(
            "SELECT accepted, drop_reason FROM obsportal.header WHERE dp_id = 'GRAVI.2020-01-09T03:44:00.000'",
            &[],
        )
        .await
        .unwrap();
    assert!(!dropped.get::<_, bool>(0));
    assert_eq!(dropped.get::<_, Option<String>>(1).as_deref(), Some("test"));
    assert_eq!(
        count(&db, "SELECT count(*) FROM obsportal.exposures WHERE exp_id = 'GRAVI.2020-01-09T03:44:00.000_1'").await,
        0
    );
    // The calibrator's old target went with its only exposure; a new one stands at RA 200.
    let moved = db
        .query_one(
            "SELECT t.ra FROM obsportal.exposure e JOIN obsportal.target t ON t.id = e.target_id
              WHERE e.id = 'GRAVI.2020-01-09T04:10:00.000_1'",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(moved.get::<_, f64>(0), 200.0);
    assert_eq!(exposures_of("HD 46355").await, 1);
    assert_eq!(
        count(
            &db,
            "SELECT count(*) FROM obsportal.target WHERE ra = 105.8046"
        )
        .await,
        0
    );
    // The import's own record counts what it read as the summary does.
    let import = db
        .query_one(
            "SELECT headers_read, headers_new, headers_changed, accepted, dropped::text
               FROM obsportal.import ORDER BY id DESC LIMIT 1",
            &[],
        )
        .await
        .unwrap();
    assert_eq!(import.get::<_, i32>(0), 6);
    assert_eq!((import.get::<_, i32>(1), import.get::<_, i32>(2)), (0, 2));
    assert!(summary.contains("accepted as exposures: 2\n"), "{summary}");
    assert_eq!(import.get::<_, i32>(3), 2);
    assert!(
        summary.contains("(acquisition 1, dark 1, sky 1, test 1)"),
        "{summary}"
    );
    assert_eq!(
        import.get::<_, String>(4),
        r#"{"sky": 1, "dark": 1, "test": 1, "acquisition": 1}"#
    );
    // The moved calibrator's PI changes: the program's other exposures, of a target this
    // import does not touch, are published with the new PI too.
    let new_pi = (
        "GRAVI.2020-01-09T04:10:00.000",
        "HIERARCH ESO OBS PI-COI NAME = 'Berger  '",
        "HIERARCH ESO OBS PI-COI NAME = 'Kervella'",
    );
    let renamed = night_edited(
        &workspace,
        "night-renamed.hdr",
        &[corrections[0], corrections[1], new_pi],
    );
    let summary = workspace.ingest_ok(&[renamed]);
    assert!(
        summary.contains("0 new, 1 changed, 5 unchanged"),
        "{summary}"
    );
    let by_pi = db
        .query_one(
            "SELECT count(*) FILTER (WHERE obs_program_pi_coi = 'Kervella'), count(*),
                    count(DISTINCT target_id)
               FROM obsportal.exposures",
            &[],
        )
        .await
        .unwrap();
    let (with_new_pi, published, targets): (i64, i64, i64) =
        (by_pi.get(0), by_pi.get(1), by_pi.get(2));
    assert_eq!((with_new_pi, targets), (published, 2));
    assert_eq!(published_unlike_a_full_recomputation(&mut fresh).await, 0);
}

#[tokio::test]
async fn a_night_imported_in_two_parts_is_grouped_as_if_imported_at_once() {
    let workspace = Workspace::new();
    let _server = workspace.serve(&[]);
    // Demo headers cut in the middle: the second part continues observations, targets and
    // blocks the first began, as a harvest running during the night finds them.
    let whole = fs::read_to_string(workspace.demo_headers("night.hdr", 400, 3)).unwrap();
    let headers: Vec<&str> = whole.split_inclusive("END\n").collect();
    assert!(headers.len() >= 1000, "{} headers", headers.len());
    let ob = |header: &str| {
        header
            .lines()
            .find(|line| line.starts_with("HIERARCH ESO OBS ID"))
            .map(str::to_string)
    };
    let middle = (headers.len() / 2..headers.len())
        .find(|&i| ob(headers[i - 1]).is_some() && ob(headers[i - 1]) == ob(headers[i]))
        .unwrap();
    let (first, second) = headers.split_at(middle);
    let parts = [("first.hdr", first), ("second.hdr", second)].map(|(name, part)| {
        let path = workspace.path().join(name);
        fs::write(&path, part.concat()).unwrap();
        path
    });
    let mut db = workspace.connect("obsportal", "obsportal").await;
    for (index, part) in parts.iter().enumerate() {
        workspace.ingest_ok(std::slice::from_ref(part));
        assert_eq!(count(&db, ORPHANS).await, 0);
        assert_eq!(count(&db, REGROUPED).await, 0);
        assert_eq!(published_unlike_a_full_recomputation(&mut db).await, 0);
        if index == 0 {
            db.batch_execute(
                "CREATE TEMP TABLE first_published AS SELECT exp_id, target_id,
                        row_to_json(x)::text AS published, xmin::text AS version
                   FROM obsportal.exposures x",
            )
            .await
            .unwrap();
        }
    }
    // The second part's targets kept the rows it left as they were (not written again).
    let (unchanged, kept) = {
        let row = db
            .query_one(
                "SELECT count(*), count(*) FILTER (WHERE x.xmin::text = f.version)
                   FROM first_published f JOIN obsportal.exposures x USING (exp_id)
                  WHERE row_to_json(x)::text = f.published
                    AND f.target_id IN (SELECT e.target_id FROM obsportal.exposure e
                                          JOIN obsportal.header h ON h.dp_id = e.header_id
                                         WHERE h.import_id = (SELECT max(id) FROM obsportal.import))",
                &[],
            )
            .await
            .unwrap();
        (row.get::<_, i64>(0), row.get::<_, i64>(1))
    };
    assert!(unchanged > 0);
    assert_eq!(kept, unchanged);
    // The parts shared blocks: some observation holds exposures of both.
    let shared = count(
        &db,
        "SELECT count(*) FROM (
            SELECT m.observation_id FROM obsportal.observation_member m
              JOIN obsportal.exposure e ON e.id = m.exposure_id
              JOIN obsportal.header h ON h.dp_id = e.header_id
             GROUP BY m.observation_id HAVING count(DISTINCT h.import_id) > 1) shared",
    )
    .await;
    assert!(shared > 0);
}

/// The indexes of the tables an import fills, as (name, definition, constraint kind, oid).
async fn import_indexes(db: &tokio_postgres::Client) -> Vec<(String, String, String, i64)> {
    db.query(
        "SELECT i.indexrelid::regclass::text, pg_get_indexdef(i.indexrelid),
                coalesce(c.contype::text, ''), i.indexrelid::bigint
           FROM pg_index i
           LEFT JOIN pg_constraint c ON c.conindid = i.indexrelid
          WHERE i.indrelid IN ('obsportal.header'::regclass, 'obsportal.exposure'::regclass,
                               'obsportal.baselines'::regclass)
            AND i.indisvalid AND i.indisready
          ORDER BY 1",
        &[],
    )
    .await
    .unwrap()
    .iter()
    .map(|row| (row.get(0), row.get(1), row.get(2), row.get(3)))
    .collect()
}

#[tokio::test]
async fn a_bulk_import_builds_its_tables_indexes_after_the_rows_and_a_small_one_keeps_them() {
    let workspace = Workspace::new();
    let _server = workspace.serve(&[]);
    let db = workspace.connect("obsportal", "obsportal").await;
    let without_oid = |indexes: &[(String, String, String, i64)]| {
        indexes
            .iter()
            .map(|(name, definition, kind, _)| (name.clone(), definition.clone(), kind.clone()))
            .collect::<Vec<_>>()
    };
    let oids = |indexes: &[(String, String, String, i64)]| {
        indexes.iter().map(|index| index.3).collect::<Vec<_>>()
    };
    let migrated = import_indexes(&db).await;
    assert!(
        migrated
            .iter()
            .any(|(name, _, kind, _)| name.ends_with("baselines_pkey") && kind == "p"),
        "{migrated:?}"
    );

    // More headers than the (empty) database holds: the indexes are built again, as they were.
    workspace.ingest_ok(&[workspace.demo_headers("bulk.hdr", 100, 5)]);
    let bulk = import_indexes(&db).await;
    assert_eq!(without_oid(&bulk), without_oid(&migrated));
    // The exposures' and baselines' indexes are new; the headers' primary key, which finds the
    // stored version of each staged header, stays.
    for (name, _, _, oid) in &bulk {
        let rebuilt = !oids(&migrated).contains(oid);
        assert_eq!(rebuilt, !name.ends_with("header_pkey"), "{name}");
    }
    assert_eq!(count(&db, ORPHANS).await, 0);
    assert!(count(&db, "SELECT count(*) FROM obsportal.baselines").await > 0);

    // Fewer headers than it holds: the indexes stay and grow row by row.
    workspace.ingest_ok(&[workspace.demo_headers("more.hdr", 20, 6)]);
    assert_eq!(import_indexes(&db).await, bulk);
    assert_eq!(count(&db, ORPHANS).await, 0);
    assert_eq!(count(&db, REGROUPED).await, 0);
}

#[tokio::test]
async fn a_calibrator_imported_later_is_paired_with_the_science_before_it() {
    let workspace = Workspace::new();
    let _server = workspace.serve(&[]);
    // night.hdr without its calibrator (HD 46355, 25 minutes after the science of HD 45677),
    // then the calibrator alone: the second import touches the calibrator's target only.
    let whole = fs::read_to_string(header_file("night.hdr")).unwrap();
    let end = format!("{:<80}\n", "END");
    let (calibrator, science): (Vec<&str>, Vec<&str>) = whole
        .split_inclusive(&end)
        .partition(|header| header.contains("GRAVI.2020-01-09T04:10:00.000"));
    assert_eq!(calibrator.len(), 1);
    let mut db = workspace.connect("obsportal", "obsportal").await;
    let paired = "SELECT count(*) FROM obsportal.calibrations c
                    JOIN obsportal.exposures x ON x.obs_id = c.obs_id
                   WHERE x.target_name = 'HD 45677' AND c.cal_target_name = 'HD 46355'";
    for (name, headers) in [("science.hdr", science), ("calibrator.hdr", calibrator)] {
        let path = workspace.path().join(name);
        fs::write(&path, headers.concat()).unwrap();
        workspace.ingest_ok(&[path]);
        assert_eq!(published_unlike_a_full_recomputation(&mut db).await, 0);
    }
    assert!(count(&db, paired).await > 0);
}
