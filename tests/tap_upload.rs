//! Table uploads over real HTTP: by URL (the service's own network refused unless the operator
//! allows it), over the limits (413 naming the upload and the limit), malformed (the row), with
//! nothing left in the database after; and the crossmatch's plan, EXPLAINed on what the TAP
//! request sends, uses a spatial index whichever side is larger. (pyvo's uploads, every
//! VOTable serialization and async uploads are in pyvo.rs; taplint's UPL stage in
//! conformance.rs.)

mod support;

use std::sync::Arc;

use obsportal::http::Parameters;
use support::{count, explain, positions, Server, VoTable, Workspace};

const CROSSMATCH: &str = "SELECT t.name, e.exp_id FROM TAP_UPLOAD.targets AS t \
    JOIN obsportal.exposures AS e \
    ON CONTAINS(POINT(e.target_ra, e.target_dec), CIRCLE(t.ra, t.dec, 10.0/3600)) = 1";

async fn upload_query(server: &Server, upload: &str, csv: Option<&str>) -> (u16, String) {
    upload_query_as(server, CROSSMATCH, upload, csv).await
}

/// `query` with `csv` uploaded as `targets`.
async fn upload_query_with(server: &Server, query: &str, csv: &str) -> (u16, String) {
    upload_query_as(server, query, "targets,param:table", Some(csv)).await
}

async fn upload_query_as(
    server: &Server,
    query: &str,
    upload: &str,
    csv: Option<&str>,
) -> (u16, String) {
    let (content_type, body) = multipart(query, upload, csv);
    let (status, _, body) = support::post(&server.url("/tap/sync"), &content_type, body).await;
    (status, body)
}

/// A TAP request with `csv` as the part `table`: its content type and body, multipart/form-data
/// written out as a client's library would.
fn multipart(query: &str, upload: &str, csv: Option<&str>) -> (String, String) {
    let boundary = "obsportal-upload-test-boundary";
    let mut body = String::new();
    for (name, value) in [("LANG", "ADQL"), ("QUERY", query), ("UPLOAD", upload)] {
        body.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
        ));
    }
    if let Some(csv) = csv {
        body.push_str(&format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"table\"; filename=\"targets.csv\"\r\n\
             Content-Type: text/csv\r\n\r\n{csv}\r\n"
        ));
    }
    body.push_str(&format!("--{boundary}--\r\n"));
    (format!("multipart/form-data; boundary={boundary}"), body)
}

fn error_of(body: &str) -> String {
    VoTable::parse(body).query_status().1.to_string()
}

/// Temporary tables anywhere in the cluster's database: an upload leaves none behind.
const TEMPORARY_TABLES: &str = "SELECT count(*) FROM pg_class WHERE relpersistence = 't'";

#[tokio::test]
async fn uploads_by_url_stay_out_of_the_services_network_unless_allowed() {
    let workspace = Workspace::new();
    let guarded = workspace.serve(&["--demo-rows", "200"]);
    let open = workspace.serve(&["--upload-allow-private-urls"]);
    // A table the service itself serves on loopback: its own TAP answer.
    let list = "SELECT TOP 5 target_name AS name, target_ra AS ra, target_dec AS dec FROM obsportal.exposures";
    let url = guarded.url(&format!(
        "/tap/sync?LANG=ADQL&QUERY={}",
        form_urlencoded::byte_serialize(list.as_bytes()).collect::<String>()
    ));
    let (status, body) = upload_query(&guarded, &format!("targets,{url}"), None).await;
    assert_eq!(status, 400, "{body}");
    let message = error_of(&body);
    assert!(
        message.contains("upload targets")
            && message.contains("127.0.0.1")
            && message.contains("own network"),
        "{message}"
    );
    let (status, body) = upload_query(&open, &format!("targets,{url}"), None).await;
    assert_eq!(status, 200, "{body}");
    let matched = VoTable::parse(&body);
    assert!(
        matched.rows.len() >= 5,
        "each target finds at least its own exposure"
    );
    // Not a URL of the web: refused as such.
    let (status, body) = upload_query(&open, "targets,ftp://example.org/t.csv", None).await;
    assert_eq!(status, 400);
    assert!(error_of(&body).contains("http or https"), "{body}");
}

#[tokio::test]
async fn uploads_over_the_limits_or_malformed_are_refused_and_leave_nothing() {
    let workspace = Workspace::new();
    let server = workspace.serve(&["--upload-max-rows", "2", "--upload-max-mib", "1"]);
    let db = workspace.connect("obsportal", "obsportal").await;
    let (status, body) = upload_query(
        &server,
        "targets,param:table",
        Some("name,ra,dec\na,1,1\nb,2,2\nc,3,3\n"),
    )
    .await;
    assert_eq!(status, 413, "{body}");
    assert!(
        error_of(&body).contains("upload targets: more than the 2 rows"),
        "{body}"
    );
    // Over the byte limit: refused before the body is read whole.
    let big = format!("name,ra,dec\n{}", "a,1,1\n".repeat(400_000));
    let (status, _) = upload_query(&server, "targets,param:table", Some(&big)).await;
    assert_eq!(status, 413);
    // Malformed: the upload and the line named.
    let (status, body) = upload_query(
        &server,
        "targets,param:table",
        Some("name,ra,dec\na,1,1\nb,oops\n"),
    )
    .await;
    assert_eq!(status, 400);
    let message = error_of(&body);
    assert!(message.contains("upload targets: line 3"), "{message}");
    // A part that is not there, a bad table name.
    let (status, body) = upload_query(&server, "targets,param:missing", None).await;
    assert_eq!(status, 400);
    assert!(
        error_of(&body).contains("no part named \"missing\""),
        "{body}"
    );
    let (status, body) = upload_query(&server, "select,param:table", Some("a\n1\n")).await;
    assert_eq!(status, 400);
    assert!(error_of(&body).contains("reserved word"), "{body}");
    // XML entities: an external one (a file of the server) and an expanding one (a billion
    // laughs) are not resolved; the upload is refused with the byte it broke at.
    let table = |cell: &str, doctype: &str| {
        format!(
            "<?xml version=\"1.0\"?>{doctype}<VOTABLE><RESOURCE><TABLE>\
             <FIELD name=\"name\" datatype=\"char\" arraysize=\"*\"/>\
             <FIELD name=\"ra\" datatype=\"double\"/><FIELD name=\"dec\" datatype=\"double\"/>\
             <DATA><TABLEDATA><TR><TD>{cell}</TD><TD>1</TD><TD>1</TD></TR></TABLEDATA></DATA>\
             </TABLE></RESOURCE></VOTABLE>"
        )
    };
    let laughs = (1..10)
        .map(|i| format!("<!ENTITY l{i} \"{}\">", format!("&l{};", i - 1).repeat(10)))
        .collect::<String>();
    for hostile in [
        table(
            "&xxe;",
            "<!DOCTYPE v [<!ENTITY xxe SYSTEM \"file:///etc/passwd\">]>",
        ),
        table(
            "&l9;",
            &format!("<!DOCTYPE v [<!ENTITY l0 \"lol\">{laughs}]>"),
        ),
    ] {
        let (status, body) = upload_query(&server, "targets,param:table", Some(&hostile)).await;
        assert_eq!(status, 400, "{body}");
        let message = error_of(&body);
        assert!(
            message.contains("upload targets: byte") && message.contains("unrecognized entity"),
            "{message}"
        );
        assert!(
            !body.contains("root:") && !body.contains("lollol"),
            "{body}"
        );
    }
    // A good one runs, and nothing of any of them stays in the database.
    let (status, body) =
        upload_query(&server, "targets,param:table", Some("name,ra,dec\na,1,1\n")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(count(&db, TEMPORARY_TABLES).await, 0);
}

/// The crossmatch as `/tap/sync` sends it, EXPLAINed with the upload loaded as the server loads
/// it: a few targets against the exposures use the exposures' position index; many targets
/// against few exposures are hash-joined on zones of declination (one pass over each side: no
/// upload index is built for them), or, with a radius too large for zones, use the
/// upload's position index.
#[tokio::test]
async fn a_crossmatch_uses_a_spatial_index_whichever_side_is_larger() {
    let workspace = Workspace::new();
    let _server = workspace.serve(&["--demo-rows", "3000"]);
    let db = workspace.connect("obsportal", "obsportal").await;
    let positions = positions(
        &db,
        "SELECT target_ra, target_dec FROM obsportal.exposures LIMIT 5",
    )
    .await;
    let few: String = positions
        .iter()
        .enumerate()
        .map(|(i, (ra, dec))| format!("t{i},{ra},{dec}\n"))
        .collect();
    // Many: a grid over the sky, against only the exposures of one program.
    let many: String = (0..40_000)
        .map(|i| {
            format!(
                "g{i},{},{}\n",
                (i % 400) as f64 * 0.9,
                (i / 400) as f64 * 1.8 - 89.0
            )
        })
        .collect();
    let narrow = |radius: &str| {
        format!(
            "SELECT t.name, e.exp_id FROM TAP_UPLOAD.targets AS t \
             JOIN obsportal.exposures AS e \
             ON CONTAINS(POINT(t.ra, t.dec), CIRCLE(e.target_ra, e.target_dec, {radius})) = 1 \
             WHERE e.exp_id = 'none such'"
        )
    };
    for (rows, query, wanted) in [
        (&few, CROSSMATCH.to_string(), "exposures_position"),
        (&many, narrow("10.0/3600"), "Hash Cond: ((floor("),
        (&many, narrow("0.2"), "targets_spoint_idx"),
    ] {
        let mut parameters = Parameters::new(vec![("UPLOAD".into(), "targets,param:table".into())]);
        parameters
            .files
            .push(("table".into(), format!("name,ra,dec\n{rows}").into()));
        let spec = obsportal::upload::specs(&parameters).unwrap().remove(0);
        let upload = Arc::new(spec.read(&parameters, &Default::default()).await.unwrap());
        let prepared =
            obsportal::query::prepare_with_uploads(&query, Some(10_000_000), vec![upload.clone()])
                .unwrap();
        db.batch_execute("BEGIN").await.unwrap();
        upload
            .load(&db, prepared.query.index_uploads)
            .await
            .unwrap();
        let plan = explain(&db, "", &prepared.query).await.join("\n");
        db.batch_execute("ROLLBACK").await.unwrap();
        assert!(plan.contains(wanted), "{wanted}:\n{plan}");
        assert!(
            !plan.contains("Seq Scan on exposures") || wanted.contains("floor"),
            "{plan}"
        );
    }
}

/// Crossmatches joined by zones of declination (adql's translate/zones.rs) find exactly the
/// pairs pg_sphere's containment finds on its own: positions just inside and just outside
/// the radius, across RA 0/360, at the poles, with CONTAINS and with DISTANCE.
#[tokio::test]
async fn a_crossmatch_by_zones_finds_exactly_the_pairs_the_sphere_has() {
    let workspace = Workspace::new();
    let server = workspace.serve(&["--demo-rows", "1500"]);
    let db = workspace.connect("obsportal", "obsportal").await;
    let exposures = positions(
        &db,
        "SELECT DISTINCT target_ra, target_dec FROM obsportal.exposures",
    )
    .await;
    // Around each observed position, offsets of 0.3" to 1.5" in declination and in RA: about
    // half within 1".
    let mut table = String::from("name,ra,dec\n");
    for (i, (ra, dec)) in exposures.iter().enumerate() {
        let step = (0.3 + (i % 5) as f64 * 0.3) / 3600.0;
        let (ra_step, sign) = (
            step / dec.to_radians().cos().max(0.01),
            if i % 2 == 0 { 1.0 } else { -1.0 },
        );
        table.push_str(&format!("d{i},{ra},{}\n", dec + sign * step));
        table.push_str(&format!(
            "r{i},{},{dec}\n",
            (ra + sign * ra_step).rem_euclid(360.0)
        ));
    }
    for (name, ra, dec) in [
        ("w0", 359.99999, 0.0),
        ("w1", 0.0, 0.0),
        ("n0", 10.0, 90.0),
        ("n1", 190.0, 89.99990),
    ] {
        table.push_str(&format!("{name},{ra},{dec}\n"));
    }
    let conditions = [
        "CONTAINS(POINT(e.target_ra, e.target_dec), CIRCLE(t.ra, t.dec, 1.0/3600)) = 1",
        "DISTANCE(t.ra, t.dec, e.target_ra, e.target_dec) < 1.0/3600",
    ];
    for condition in conditions {
        let query = format!(
            "SELECT t.name, e.exp_id FROM TAP_UPLOAD.targets AS t \
             JOIN obsportal.exposures AS e ON {condition}"
        );
        let mut parameters = Parameters::new(vec![("UPLOAD".into(), "targets,param:table".into())]);
        parameters
            .files
            .push(("table".into(), table.clone().into()));
        let spec = obsportal::upload::specs(&parameters).unwrap().remove(0);
        let upload = Arc::new(spec.read(&parameters, &Default::default()).await.unwrap());
        let prepared =
            obsportal::query::prepare_with_uploads(&query, Some(1_000_000), vec![upload.clone()])
                .unwrap();
        assert!(
            prepared.query.sql.contains(" zones\""),
            "{}",
            prepared.query.sql
        );
        // The same pairs by pg_sphere alone, over every pair of the two tables.
        let brute = "SELECT t.name, e.exp_id FROM pg_temp.targets AS t, obsportal.exposures AS e \
             WHERE degrees(spoint(radians(t.ra), radians(t.dec)) <-> \
                           spoint(radians(e.target_ra), radians(e.target_dec))) < 1.0/3600 \
             ORDER BY 1, 2";
        db.batch_execute("BEGIN").await.unwrap();
        upload
            .load(&db, prepared.query.index_uploads)
            .await
            .unwrap();
        // Both sides carry statistics on the zones, so the planner can tell when they win
        // (measured by `cargo bench --bench uploads`: 300,000 x 300,000 at 1", 12.3 s -> 3.8 s).
        let zone_statistics = count(
            &db,
            "SELECT count(*) FROM pg_stats_ext_exprs \
             WHERE expr LIKE 'floor(%3600%' AND (tablename, schemaname LIKE 'pg_temp%') \
                   IN (('exposures', false), ('targets', true))",
        )
        .await;
        assert_eq!(zone_statistics, 2);
        let expected: Vec<(String, String)> = db
            .query(brute, &[])
            .await
            .unwrap()
            .iter()
            .map(|row| (row.get(0), row.get(1)))
            .collect();
        db.batch_execute("ROLLBACK").await.unwrap();
        let (status, body) = upload_query_with(&server, &query, &table).await;
        assert_eq!(status, 200, "{body}");
        let answer = VoTable::parse(&body);
        let mut found: Vec<(String, String)> = answer
            .column("name")
            .into_iter()
            .zip(answer.column("exp_id"))
            .map(|(name, id)| (name.to_string(), id.to_string()))
            .collect();
        found.sort();
        assert!(
            expected.len() > exposures.len() / 2,
            "{} pairs",
            expected.len()
        );
        assert!(expected.iter().any(|(name, _)| name.starts_with('r')));
        assert_eq!(found, expected, "{condition}");
    }
}

/// The uploads an async job keeps until it runs count against a quota per user (per client
/// address for anonymous jobs): past it a new job is refused with a 413 naming the quota; a job
/// that ends gives its room back, and another user has room of their own.
#[tokio::test]
async fn the_uploads_kept_for_unfinished_jobs_are_capped_per_client() {
    let workspace = Workspace::new();
    let server = workspace.serve(&[
        "--demo-rows",
        "100",
        "--job-upload-quota-mb",
        "1",
        "--job-lease",
        "1",
        "--user-header",
        "X-User",
    ]);
    let db = workspace.connect("obsportal", "obsportal").await;
    // About 610,000 bytes each: one fits in 1 MiB, two do not.
    let rows: String = (0..25_000)
        .map(|i| format!("t{i:05},{:.7},-45.0\n", i as f64 / 100.0))
        .collect();
    let csv = format!("name,ra,dec\n{rows}");
    assert!((524_288..1_048_576).contains(&csv.len()), "{}", csv.len());
    let create = |user: Option<&'static str>| {
        let (content_type, body) = multipart(
            "SELECT COUNT(*) FROM TAP_UPLOAD.targets",
            "targets,param:table",
            Some(&csv),
        );
        let mut request = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .unwrap()
            .post(server.url("/tap/async"))
            .header("content-type", content_type)
            .body(body);
        if let Some(user) = user {
            request = request.header("X-User", user);
        }
        async move {
            let response = request.send().await.unwrap();
            let location = response
                .headers()
                .get("location")
                .map(|l| l.to_str().unwrap().to_string());
            let (status, _, body) = support::read_answer(response).await;
            (status, location, body)
        }
    };
    let kept = "SELECT count(*) FROM obsportal.job_upload";

    let (status, first, body) = create(None).await;
    assert_eq!(status, 303, "{body}");
    let (status, _, body) = create(None).await;
    assert_eq!(status, 413, "{body}");
    let message = error_of(&body);
    assert!(message.contains("1048576 bytes"), "{message}");
    assert_eq!(count(&db, kept).await, 1);
    // A user's jobs have their own room.
    let (status, _, body) = create(Some("ada")).await;
    assert_eq!(status, 303, "{body}");
    let (status, _, body) = create(Some("ada")).await;
    assert_eq!(status, 413, "{body}");
    // Creations at once cannot both fit the same room: of four, exactly one is kept.
    let racing = futures_util::future::join_all((0..4).map(|_| create(Some("grace")))).await;
    let mut statuses: Vec<u16> = racing.iter().map(|(status, _, _)| *status).collect();
    statuses.sort();
    assert_eq!(statuses, [303, 413, 413, 413]);

    // The anonymous job runs and ends: its upload is dropped by the sweeper, and the room
    // is free again.
    let first = first.unwrap();
    let (status, _, body) = support::post_form(&first, &[("PHASE", "RUN")]).await;
    assert!(status < 400, "{status} {body}");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        let (_, phase) = support::get(&format!("{first}/phase")).await;
        match phase.trim() {
            "COMPLETED" => break,
            "QUEUED" | "EXECUTING" => {}
            other => panic!("the job ended {other}"),
        }
        assert!(std::time::Instant::now() < deadline, "the job did not end");
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    // Ada's and Grace's stay.
    while count(&db, kept).await != 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "the ended job's upload is still kept"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    let (status, _, body) = create(None).await;
    assert_eq!(status, 303, "{body}");
}
