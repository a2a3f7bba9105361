//! "Already observed?" for a whole observing plan (issue 15): `/search.votable` given many
//! targets answers, in one document with the fields ASPRO2 reads, what the single-target
//! request answers for each, every row followed by the input target it belongs to.

mod support;

use support::{post, post_form, VoTable, Workspace};

/// Three observed positions of the demo database (distinct targets) and one nothing was
/// observed at.
async fn plan_targets(workspace: &Workspace) -> Vec<(String, f64, f64)> {
    let db = workspace.connect("obsportal", "obsportal").await;
    let rows = db
        .query(
            "SELECT target_name, target_ra, target_dec FROM obsportal.exposures
              GROUP BY target_id, target_name, target_ra, target_dec
              ORDER BY count(*) DESC, target_id LIMIT 3",
            &[],
        )
        .await
        .unwrap();
    let mut targets: Vec<(String, f64, f64)> = rows
        .iter()
        .map(|row| (row.get(0), row.get(1), row.get(2)))
        .collect();
    targets.insert(1, ("nowhere".into(), 10.0, 10.0));
    targets
}

/// The single-target request ASPRO2 sends, with `extra` parameters: its table.
async fn single(
    server: &support::Server,
    (ra, dec): (f64, f64),
    extra: &[(&str, &str)],
) -> VoTable {
    let (ra, dec) = (ra.to_string(), dec.to_string());
    let mut form = vec![("ra", ra.as_str()), ("dec", dec.as_str()), ("radius", "10")];
    form.extend_from_slice(extra);
    let (status, _, body) = post_form(&server.url("/search.votable"), &form).await;
    assert_eq!(status, 200, "{body}");
    VoTable::parse(&body)
}

/// The plan's answer must be the single-target answers one after the other, each row with
/// its target's number and name.
async fn assert_plan_answers_like_single_requests(
    server: &support::Server,
    plan: &VoTable,
    targets: &[(String, f64, f64)],
    extra: &[(&str, &str)],
) {
    let mut expected_rows = Vec::new();
    for (index, (name, ra, dec)) in targets.iter().enumerate() {
        let table = single(server, (*ra, *dec), extra).await;
        let mut names = table.field_names();
        names.extend(["input_index", "input_target"]);
        assert_eq!(plan.field_names(), names);
        for mut row in table.rows {
            row.push((index + 1).to_string());
            row.push(name.clone());
            expected_rows.push(row);
        }
    }
    assert!(!expected_rows.is_empty());
    assert_eq!(plan.rows, expected_rows);
}

#[tokio::test]
async fn a_plan_of_targets_answers_each_as_the_single_request_does() {
    let workspace = Workspace::new();
    let server = workspace.serve(&["--demo-rows", "2000"]);
    let targets = plan_targets(&workspace).await;

    // Repeated ra, dec and name, as a form.
    let (ras, decs): (Vec<String>, Vec<String>) = targets
        .iter()
        .map(|(_, ra, dec)| (ra.to_string(), dec.to_string()))
        .unzip();
    let mut form: Vec<(&str, &str)> = vec![("radius", "10")];
    for (index, (name, ..)) in targets.iter().enumerate() {
        form.extend([
            ("name", name.as_str()),
            ("ra", &ras[index]),
            ("dec", &decs[index]),
        ]);
    }
    let (status, _, body) = post_form(&server.url("/search.votable"), &form).await;
    assert_eq!(status, 200, "{body}");
    let plan = VoTable::parse(&body);
    assert!(body.contains("name=\"targets\""), "{body}");
    assert!(
        !plan.column("input_index").contains(&"2"),
        "nothing at the second"
    );
    assert_plan_answers_like_single_requests(&server, &plan, &targets, &[]).await;

    // The same plan as a CSV file, with a configuration and an hour-angle window: each
    // target's rows are the single request's with the same filters.
    let mut csv = String::from("Name,RA,Dec\n");
    for (name, ra, dec) in &targets {
        csv.push_str(&format!("\"{name}\",{ra},{dec}\n"));
    }
    let filters = [("instrument", "GRAVITY"), ("ha_from", "-3"), ("ha_to", "3")];
    let boundary = "plan-boundary";
    let mut body = String::new();
    for (name, value) in filters {
        body.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
        ));
    }
    body.push_str(&format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"targets\"; \
         filename=\"plan.csv\"\r\nContent-Type: text/csv\r\n\r\n{csv}\r\n--{boundary}--\r\n"
    ));
    let (status, _, body) = post(
        &server.url("/search.votable"),
        &format!("multipart/form-data; boundary={boundary}"),
        body,
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let filtered = VoTable::parse(&body);
    assert!(filtered.rows.len() < plan.rows.len());
    assert_plan_answers_like_single_requests(&server, &filtered, &targets, &filters).await;

    // A VOTable plan, positions found by UCD.
    let rows: String = targets
        .iter()
        .map(|(name, ra, dec)| format!("<TR><TD>{name}</TD><TD>{ra}</TD><TD>{dec}</TD></TR>"))
        .collect();
    let votable = format!(
        "<?xml version=\"1.0\"?><VOTABLE version=\"1.4\" xmlns=\"http://www.ivoa.net/xml/VOTable/v1.3\">\
         <RESOURCE><TABLE>\
         <FIELD name=\"star\" datatype=\"char\" arraysize=\"*\" ucd=\"meta.id;meta.main\"/>\
         <FIELD name=\"alpha\" datatype=\"double\" ucd=\"pos.eq.ra;meta.main\"/>\
         <FIELD name=\"delta\" datatype=\"double\" ucd=\"pos.eq.dec;meta.main\"/>\
         <DATA><TABLEDATA>{rows}</TABLEDATA></DATA></TABLE></RESOURCE></VOTABLE>"
    );
    let (status, _, body) = post_form(
        &server.url("/search.votable"),
        &[("targets", votable.as_str())],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(VoTable::parse(&body).rows, plan.rows);
}

#[tokio::test]
async fn a_plan_summary_gives_each_targets_coverage() {
    let workspace = Workspace::new();
    let server = workspace.serve(&["--demo-rows", "600"]);
    let targets = plan_targets(&workspace).await;
    let db = workspace.connect("obsportal", "obsportal").await;
    let mut form: Vec<(String, String)> = vec![("summary".into(), "targets".into())];
    for (name, ra, dec) in &targets {
        form.extend([
            ("name".into(), name.clone()),
            ("ra".into(), ra.to_string()),
            ("dec".into(), dec.to_string()),
        ]);
    }
    let form: Vec<(&str, &str)> = form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    let (status, _, body) = post_form(&server.url("/search.votable"), &form).await;
    assert_eq!(status, 200, "{body}");
    let table = VoTable::parse(&body);
    for field in [
        "target_id",
        "exposures",
        "ha_min",
        "ha_max",
        "uv_cells",
        "uv_coverage",
        "input_index",
    ] {
        assert!(table.field_names().contains(&field), "{field}: {body}");
    }
    // One row per observed input target (the second observed nothing), as the table says.
    assert_eq!(table.column("input_index"), ["1", "3", "4"]);
    for (index, id) in table.column("target_id").iter().enumerate() {
        let row = db
            .query_one(
                "SELECT exposures, uv_cells FROM obsportal.targets WHERE target_id = $1::text::int",
                &[id],
            )
            .await
            .unwrap();
        assert_eq!(
            table.column("exposures")[index],
            row.get::<_, i64>(0).to_string()
        );
        assert_eq!(
            table.column("uv_cells")[index],
            row.get::<_, i64>(1).to_string()
        );
    }
    // The plan's observation blocks: those of the targets found, in the plan's order.
    let mut blocks_form = form.clone();
    blocks_form[0] = ("summary", "blocks");
    let (status, _, body) = post_form(&server.url("/search.votable"), &blocks_form).await;
    assert_eq!(status, 200, "{body}");
    let blocks = VoTable::parse(&body);
    let ids: Vec<&str> = table.column("target_id");
    let mut expected = Vec::new();
    for id in &ids {
        let rows = db
            .query(
                "SELECT block_id FROM obsportal.blocks WHERE target_id = $1::text::int ORDER BY mjd_start",
                &[id],
            )
            .await
            .unwrap();
        expected.extend(rows.iter().map(|row| row.get::<_, String>(0)));
    }
    assert_eq!(blocks.column("block_id"), expected);
    assert!(blocks.field_names().contains(&"lst_start"));

    // The single-target form, and a summary that would ignore a filter is refused.
    let (ra, dec) = (targets[0].1.to_string(), targets[0].2.to_string());
    let (status, _, body) = post_form(
        &server.url("/search.votable"),
        &[("summary", "targets"), ("ra", &ra), ("dec", &dec)],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(VoTable::parse(&body).rows.len(), 1);
    let (status, _, body) = post_form(
        &server.url("/search.votable"),
        &[
            ("summary", "targets"),
            ("ra", &ra),
            ("dec", &dec),
            ("instrument", "GRAVITY"),
        ],
    )
    .await;
    assert_eq!(status, 400);
    assert!(body.contains("positions only"), "{body}");
}

#[tokio::test]
async fn a_bad_plan_is_refused_with_what_is_wrong() {
    let workspace = Workspace::new();
    let server = workspace.serve(&["--demo-rows", "20"]);
    for (form, expected) in [
        (
            vec![("ra", "10"), ("ra", "11"), ("dec", "5")],
            "as many ra as dec",
        ),
        (
            vec![("ra", "10"), ("dec", "5"), ("ra", "400"), ("dec", "5")],
            "target 2: ra 400",
        ),
        (
            vec![("targets", "name,x,y\nVega,279.2,38.8\n")],
            "needs a position",
        ),
        (
            vec![("targets", "name,ra,dec\nVega,279.2\n")],
            "upload plan: line 2",
        ),
        (
            vec![
                ("targets", "name,ra,dec\nVega,279.2,38.8\n"),
                ("ra", "1"),
                ("dec", "2"),
            ],
            "not both",
        ),
        (
            vec![
                ("ra", "1"),
                ("dec", "2"),
                ("ra", "3"),
                ("dec", "4"),
                ("radius", "7200"),
            ],
            "at most 3600 arcsec",
        ),
        (
            vec![
                ("ra", "1"),
                ("dec", "2"),
                ("ra", "3"),
                ("dec", "4"),
                ("ha_from", "13"),
            ],
            "ha_from",
        ),
    ] {
        let (status, _, body) = post_form(&server.url("/search.votable"), &form).await;
        assert_eq!(status, 400, "{form:?}: {body}");
        assert!(body.contains(expected), "{form:?}: {body}");
    }
}
