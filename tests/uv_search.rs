//! Interferometry-native search (issue 15) against a real database: the (u, v) functions of
//! ADQL find what an independent computation over every baseline finds, and the GiST index on
//! the baselines' (u, v) tracks serves them, with their numbers inline or as parameters.

mod support;

use support::Workspace;

/// A baseline's track, as the table gives it.
struct Track {
    exp_id: String,
    start: (f64, f64),
    end: (f64, f64),
}

/// Distance from `p` to the segment a-b, in the plane.
fn segment_distance(a: (f64, f64), b: (f64, f64), p: (f64, f64)) -> f64 {
    let (dx, dy) = (b.0 - a.0, b.1 - a.1);
    let length2 = dx * dx + dy * dy;
    let t = if length2 == 0.0 {
        0.0
    } else {
        (((p.0 - a.0) * dx + (p.1 - a.1) * dy) / length2).clamp(0.0, 1.0)
    };
    (a.0 + t * dx - p.0).hypot(a.1 + t * dy - p.1)
}

/// Whether a position angle lies, modulo 180, from `from` east to `to`.
fn angle_within(angle: f64, from: f64, to: f64) -> bool {
    to - from >= 180.0 || (angle - from).rem_euclid(180.0) <= (to - from).rem_euclid(180.0)
}

fn in_sector(uv: (f64, f64), lengths: (f64, f64), angles: (f64, f64)) -> bool {
    let length = uv.0.hypot(uv.1);
    let angle = uv.0.atan2(uv.1).to_degrees();
    (lengths.0..=lengths.1).contains(&length) && angle_within(angle, angles.0, angles.1)
}

async fn ids(db: &tokio_postgres::Client, adql: &str) -> Vec<String> {
    let sql = adql::translate(adql, obsportal::schema::adql_catalog())
        .unwrap_or_else(|error| panic!("{adql}: {error}"))
        .sql;
    let mut ids: Vec<String> = db
        .query(&sql, &[])
        .await
        .unwrap_or_else(|error| panic!("{sql}: {error}"))
        .iter()
        .map(|row| row.get(0))
        .collect();
    ids.sort();
    ids
}

async fn plan(db: &tokio_postgres::Client, adql: &str) -> String {
    let catalog = obsportal::schema::adql_catalog();
    let inline = adql::translate(adql, catalog).unwrap().sql;
    let rows = db.query(&format!("EXPLAIN {inline}"), &[]).await.unwrap();
    let mut text: Vec<String> = rows.iter().map(|row| row.get(0)).collect();
    // The generic plan of the same query with its numbers as parameters, as TAP runs it.
    let translation = adql::translate_with_parameters(adql, catalog).unwrap();
    let (types, values) = support::sql_parameters(&translation);
    db.batch_execute(&format!(
        "SET plan_cache_mode = force_generic_plan; PREPARE uv ({types}) AS {}",
        translation.sql
    ))
    .await
    .unwrap();
    let rows = db
        .query(&format!("EXPLAIN EXECUTE uv ({values})"), &[])
        .await
        .unwrap();
    text.push("-- generic:".into());
    text.extend(rows.iter().map(|row| row.get::<_, String>(0)));
    db.batch_execute("DEALLOCATE uv; RESET plan_cache_mode")
        .await
        .unwrap();
    text.join("\n")
}

#[tokio::test]
async fn uv_functions_agree_with_an_independent_computation_and_use_the_index() {
    let workspace = Workspace::new();
    let _server = workspace.serve(&["--demo-rows", "3000"]);
    let db = workspace.connect("obsportal", "obsportal").await;
    db.batch_execute("SET ROLE obsportal_query").await.unwrap();
    let tracks: Vec<Track> = db
        .query(
            "SELECT exp_id, u_start, v_start, u_end, v_end FROM obsportal.baselines \
             WHERE u_start IS NOT NULL AND u_end IS NOT NULL",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| Track {
            exp_id: row.get(0),
            start: (row.get(1), row.get(2)),
            end: (row.get(3), row.get(4)),
        })
        .collect();
    assert!(tracks.len() > 5000, "{} baselines", tracks.len());
    let expected = |keep: &dyn Fn(&Track) -> bool| {
        let mut ids: Vec<String> = tracks
            .iter()
            .filter(|track| keep(track))
            .map(|track| track.exp_id.clone())
            .collect();
        ids.sort();
        ids
    };

    // Near a point of the (u, v) plane that some baseline passed, and its mirror image.
    let seen = &tracks[tracks.len() / 2];
    let (u, v) = (
        (seen.start.0 + seen.end.0) / 2.0,
        (seen.start.1 + seen.end.1) / 2.0,
    );
    for (u, v) in [(u, v), (-u, -v)] {
        let radius = 4.0;
        let adql = format!(
            "SELECT exp_id FROM obsportal.baselines \
             WHERE OBSPORTAL_UV_NEAR(u_start, v_start, u_end, v_end, {u}, {v}, {radius}) = 1"
        );
        let want = expected(&|t| {
            segment_distance(t.start, t.end, (u, v)) <= radius
                || segment_distance(t.start, t.end, (-u, -v)) <= radius
        });
        assert!(want.contains(&seen.exp_id));
        assert_eq!(ids(&db, &adql).await, want, "{adql}");
        let plan = plan(&db, &adql).await;
        assert_eq!(plan.matches("baselines_uv").count(), 4, "{plan}");
    }

    // Lengths 100-130 m at position angles 40-50 (and so 220-230) degrees; then a range
    // across north, 170 to 10 degrees.
    for (lengths, angles) in [
        ((100.0, 130.0), (40.0, 50.0)),
        ((60.0, 90.0), (170.0, 10.0)),
    ] {
        let adql = format!(
            "SELECT exp_id FROM obsportal.baselines \
             WHERE OBSPORTAL_UV_SECTOR(u_start, v_start, u_end, v_end, {}, {}, {}, {}) = 1",
            lengths.0, lengths.1, angles.0, angles.1
        );
        let want =
            expected(&|t| in_sector(t.start, lengths, angles) || in_sector(t.end, lengths, angles));
        assert!(want.len() >= 5, "{adql}: {} expected", want.len());
        assert_eq!(ids(&db, &adql).await, want, "{adql}");
        let plan = plan(&db, &adql).await;
        assert_eq!(plan.matches("baselines_uv").count(), 4, "{plan}");
    }

    // A position angle range as a value, modulo 180.
    let adql = "SELECT exp_id FROM obsportal.baselines \
                WHERE OBSPORTAL_ANGLE_WITHIN(DEGREES(ATAN2(u_start, v_start)), 170, 10) = 1";
    let want = expected(&|t| angle_within(t.start.0.atan2(t.start.1).to_degrees(), 170.0, 10.0));
    assert!(want.len() >= 5);
    assert_eq!(ids(&db, adql).await, want);
}

/// The (u, v) cell of a point, its mirror image folded onto the upper half plane.
fn uv_cell(u: f64, v: f64) -> (i64, i64) {
    let (u, v) = if v < 0.0 || (v == 0.0 && u < 0.0) {
        (-u, -v)
    } else {
        (u, v)
    };
    ((u / 10.0).floor() as i64, (v / 10.0).floor() as i64)
}

#[tokio::test]
async fn each_targets_coverage_is_what_its_baselines_sampled() {
    let workspace = Workspace::new();
    let _server = workspace.serve(&["--demo-rows", "1500"]);
    let db = workspace.connect("obsportal", "obsportal").await;
    db.batch_execute("SET ROLE obsportal_query").await.unwrap();
    // Every baseline's ends, with its target and length, read plainly.
    let mut by_target: std::collections::BTreeMap<
        i32,
        (std::collections::BTreeSet<(i64, i64)>, f64),
    > = Default::default();
    for row in db
        .query(
            "SELECT x.target_id, b.u_start, b.v_start, b.u_end, b.v_end, b.length_start, b.length_end
               FROM obsportal.baselines b JOIN obsportal.exposures x ON x.exp_id = b.exp_id",
            &[],
        )
        .await
        .unwrap()
    {
        let entry = by_target.entry(row.get(0)).or_default();
        for (u, v) in [(1, 2), (3, 4)] {
            if let (Some(u), Some(v)) = (row.get::<_, Option<f64>>(u), row.get::<_, Option<f64>>(v)) {
                entry.0.insert(uv_cell(u, v));
            }
        }
        for length in [5, 6] {
            if let Some(length) = row.get::<_, Option<f64>>(length) {
                entry.1 = entry.1.max(length);
            }
        }
    }
    let targets = db
        .query(
            "SELECT target_id, uv_cells, uv_coverage, longest_baseline, exposures FROM obsportal.targets",
            &[],
        )
        .await
        .unwrap();
    assert!(targets.len() >= 10);
    let mut covered = 0;
    for row in &targets {
        let id: i32 = row.get(0);
        let (cells, longest) = by_target.remove(&id).unwrap_or_default();
        assert_eq!(row.get::<_, i64>(1), cells.len() as i64, "target {id}");
        if cells.is_empty() {
            continue;
        }
        let half_disc = std::f64::consts::PI * (longest / 10.0).powi(2) / 2.0;
        let coverage: f64 = row.get(2);
        assert!((coverage - (cells.len() as f64 / half_disc).min(1.0)).abs() < 1e-9);
        assert!((row.get::<_, f64>(3) - longest).abs() < 1e-9);
        covered += 1;
    }
    assert!(
        by_target.is_empty(),
        "targets missing from obsportal.targets"
    );
    assert!(covered >= 10);
}

/// One observation as the exposures give it.
struct Observation {
    id: i32,
    science: bool,
    setup: String,
    start: f64,
    end: f64,
}

#[tokio::test]
async fn science_observations_are_linked_to_the_calibrators_around_them() {
    let workspace = Workspace::new();
    let server = workspace.serve(&["--demo-rows", "1500"]);
    let db = workspace.connect("obsportal", "obsportal").await;
    let observations: Vec<Observation> = db
        .query(
            "SELECT obs_id, obs_type = 'science',
                    concat_ws('|', obs_program, instrument_name, instrument_mode, interferometer_stations),
                    min(exp_mjd_start), max(coalesce(exp_mjd_end, exp_mjd_start))
               FROM obsportal.exposures GROUP BY 1, 2, 3",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| Observation {
            id: row.get(0),
            science: row.get(1),
            setup: row.get(2),
            start: row.get(3),
            end: row.get(4),
        })
        .collect();
    // The nearest calibrator of the same setup on each side, within 3 hours, by brute force.
    let mut expected = Vec::new();
    for science in observations.iter().filter(|o| o.science) {
        let calibrators = observations
            .iter()
            .filter(|o| !o.science && o.setup == science.setup);
        let before = calibrators
            .clone()
            .filter(|c| c.start < science.start)
            .max_by(|a, b| a.start.total_cmp(&b.start).then(a.id.cmp(&b.id)))
            .filter(|c| c.end <= science.start && science.start - c.end < 3.0 / 24.0);
        let after = calibrators
            .filter(|c| c.start > science.start)
            .min_by(|a, b| a.start.total_cmp(&b.start).then(a.id.cmp(&b.id)))
            .filter(|c| c.start >= science.end && c.start - science.end < 3.0 / 24.0);
        for (sequence, calibrator) in [("before", before), ("after", after)] {
            if let Some(calibrator) = calibrator {
                expected.push((science.id, sequence.to_string(), calibrator.id));
            }
        }
    }
    expected.sort();
    let mut published: Vec<(i32, String, i32)> = db
        .query(
            "SELECT obs_id, sequence, cal_obs_id FROM obsportal.calibrations",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| (row.get(0), row.get(1), row.get(2)))
        .collect();
    published.sort();
    assert!(published.len() >= 20, "{} links", published.len());
    assert_eq!(published, expected);

    // A science exposure's page names its calibrators and links to them.
    let link = db
        .query_one(
            "SELECT x.exp_id, c.cal_exp_id, c.cal_target_name FROM obsportal.calibrations c
               JOIN obsportal.exposures x ON x.obs_id = c.obs_id LIMIT 1",
            &[],
        )
        .await
        .unwrap();
    let (exp_id, cal_exp_id, cal_name): (String, String, String) =
        (link.get(0), link.get(1), link.get(2));
    let encoded: String = form_urlencoded::byte_serialize(exp_id.as_bytes()).collect();
    let (status, page) = support::get(&server.url(&format!("/detail/exposure/{encoded}"))).await;
    assert_eq!(status, 200);
    let calibrators = &page[page.find("id=\"calibrators\"").expect("a calibrators list")..];
    let cal_link: String = form_urlencoded::byte_serialize(cal_exp_id.as_bytes()).collect();
    assert!(
        calibrators.contains(&format!("/detail/exposure/{cal_link}\">{cal_name}</a>")),
        "{calibrators}"
    );
}

#[tokio::test]
async fn blocks_group_exposures_as_aspro2_does() {
    let workspace = Workspace::new();
    let _server = workspace.serve(&["--demo-rows", "1500"]);
    let db = workspace.connect("obsportal", "obsportal").await;
    // Exposures by setup in time order; a new block after a pause of more than 30 minutes.
    let rows = db
        .query(
            "SELECT exp_id, concat_ws('|', target_id, instrument_name, instrument_mode, interferometer_stations),
                    exp_mjd_start, coalesce(exp_mjd_end, exp_mjd_start), exp_lst_start, exp_ha_end
               FROM obsportal.exposures ORDER BY 2, exp_mjd_start, exp_id",
            &[],
        )
        .await
        .unwrap();
    // (first exposure, exposures, LST at its start, HA at the last one's end)
    let mut expected: Vec<(String, i64, Option<f64>, Option<f64>)> = Vec::new();
    let mut previous: Option<(String, f64)> = None;
    for row in &rows {
        let (setup, start, end): (String, f64, f64) = (row.get(1), row.get(2), row.get(3));
        let continues = previous.as_ref().is_some_and(|(last_setup, last_end)| {
            *last_setup == setup && start - last_end <= 30.0 / 1440.0
        });
        if continues {
            let block = expected.last_mut().unwrap();
            block.1 += 1;
            block.3 = row.get(5);
        } else {
            expected.push((row.get(0), 1, row.get(4), row.get(5)));
        }
        previous = Some((setup, end));
    }
    expected.sort_by(|a, b| a.0.cmp(&b.0));
    let published: Vec<(String, i64, Option<f64>, Option<f64>)> = db
        .query(
            "SELECT block_id, exposures, lst_start, ha_end FROM obsportal.blocks ORDER BY block_id",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|row| (row.get(0), row.get(1), row.get(2), row.get(3)))
        .collect();
    assert!(
        published.iter().any(|block| block.1 > 1),
        "some blocks hold several exposures"
    );
    assert_eq!(published, expected);
}
