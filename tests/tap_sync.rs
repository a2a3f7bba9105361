//! `/tap/sync` over real HTTP: ADQL in, streamed VOTable or CSV out, DALI errors, MAXREC and
//! OVERFLOW, and the "run it on TAP" link of the search page.

mod support;

use support::{count, get, post, post_form, serve_test_headers, Server, VoTable, Workspace};

fn encode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

async fn sync(server: &Server, query: &str, extra: &str) -> (u16, String) {
    get(&server.url(&format!(
        "/tap/sync?REQUEST=doQuery&LANG=ADQL&QUERY={}{extra}",
        encode(query)
    )))
    .await
}

#[tokio::test]
async fn a_cone_query_returns_described_fields_and_its_rows() {
    let (_workspace, server) = serve_test_headers();
    let adql = "SELECT exp_id, target_name, IN_UNIT(exp_seeing, 'mas') AS seeing_mas, POINT(target_ra, target_dec) AS p \
                FROM obsportal.exposures \
                WHERE CONTAINS(POINT('ICRS', target_ra, target_dec), CIRCLE('ICRS', 104.8167, -13.0586, 5.0 / 3600)) = 1 \
                ORDER BY exp_mjd_start";
    let (status, body) = sync(&server, adql, "").await;
    assert_eq!(status, 200, "{body}");
    let table = VoTable::parse(&body);
    assert!(
        table.infos.iter().any(|i| i.0 == "QUERY" && i.1 == adql),
        "the ADQL is echoed"
    );
    assert_eq!(
        table.field_names(),
        ["exp_id", "target_name", "seeing_mas", "p"]
    );
    assert_eq!(
        table.fields[0]["ucd"], "meta.id",
        "a published column keeps its schema/ description"
    );
    assert_eq!(
        (
            table.fields[2]["datatype"].as_str(),
            table.fields[2]["unit"].as_str()
        ),
        ("double", "mas")
    );
    assert_eq!(
        (
            table.fields[3]["xtype"].as_str(),
            table.fields[3]["arraysize"].as_str()
        ),
        ("point", "2")
    );
    assert_eq!(table.column("target_name"), ["HD 45677"; 3]);
    assert_eq!(
        table.column("seeing_mas")[0]
            .parse::<f64>()
            .unwrap()
            .round(),
        600.0
    );
    let point: Vec<f64> = table.column("p")[0]
        .split(' ')
        .map(|v| v.parse().unwrap())
        .collect();
    assert!(
        (point[0] - 104.8167).abs() < 1e-9 && (point[1] + 13.0586).abs() < 1e-9,
        "{point:?}"
    );
    assert!(!table.info_after_table, "no OVERFLOW, no ERROR");
}

#[tokio::test]
async fn maxrec_limits_and_overflow_is_reported_after_the_table() {
    let (_workspace, server) = serve_test_headers();
    let (_, body) = sync(
        &server,
        "SELECT exp_id FROM obsportal.exposures ORDER BY exp_id",
        "&MAXREC=2",
    )
    .await;
    let table = VoTable::parse(&body);
    assert_eq!(table.rows.len(), 2);
    assert!(table.info_after_table && table.query_status().0 == "OVERFLOW");

    let (_, body) = sync(
        &server,
        "SELECT exp_id FROM obsportal.exposures",
        "&MAXREC=0",
    )
    .await;
    let metadata = VoTable::parse(&body);
    assert!(metadata.rows.is_empty() && metadata.field_names() == ["exp_id"]);
    // DALI: MAXREC=0 answers metadata with the overflow indicator, rows or not.
    let overflow = |table: &VoTable| table.info_after_table && table.query_status().0 == "OVERFLOW";
    assert!(overflow(&metadata), "{body}");
    let (_, body) = sync(
        &server,
        "SELECT exp_id FROM obsportal.exposures WHERE exp_id = 'no such exposure'",
        "&MAXREC=0",
    )
    .await;
    assert!(overflow(&VoTable::parse(&body)), "{body}");

    let (_, body) = sync(
        &server,
        "SELECT exp_id FROM obsportal.exposures",
        "&MAXREC=6",
    )
    .await;
    let exact = VoTable::parse(&body);
    assert_eq!(exact.rows.len(), 6);
    assert!(
        !exact.info_after_table,
        "exactly MAXREC rows existed: no overflow"
    );
}

#[tokio::test]
async fn errors_are_dali_documents_with_line_and_column() {
    let (_workspace, server) = serve_test_headers();
    for (query, extra, says) in [
        (
            "SELECT exp_id\nFROM obsportal.exposures\nWHERE tau0 > 1",
            "",
            "line 3, column 7: there is no column tau0",
        ),
        (
            "SELECT pg_sleep(10)",
            "",
            "pg_sleep is not an ADQL function",
        ),
        (
            "SELECT 1; DROP TABLE obsportal.exposures",
            "",
            "only one query can be sent at a time",
        ),
        (
            "SELECT exp_id FROM obsportal.exposures",
            "&MAXREC=lots",
            "MAXREC=lots",
        ),
        (
            "SELECT exp_id FROM obsportal.exposures",
            "&RESPONSEFORMAT=hdf5",
            "RESPONSEFORMAT=hdf5 is not supported",
        ),
    ] {
        let (status, body) = sync(&server, query, extra).await;
        assert_eq!(status, 400, "{query}");
        let table = VoTable::parse(&body);
        let (status, message) = table.query_status();
        assert_eq!(status, "ERROR");
        assert!(message.contains(says), "{query}: {message}");
    }
    let (status, body) = get(&server.url("/tap/sync?REQUEST=doQuery&QUERY=SELECT%201")).await;
    assert_eq!(status, 400);
    assert!(body.contains("LANG is required"), "{body}");
}

#[tokio::test]
async fn post_lower_case_names_and_csv() {
    let (_workspace, server) = serve_test_headers();
    let (status, content_type, body) = post_form(
        &server.url("/tap/sync"),
        &[
            ("lang", "ADQL"),
            (
                "query",
                "SELECT TOP 3 exp_id, exp_seeing FROM obsportal.exposures ORDER BY exp_id",
            ),
            ("responseformat", "csv"),
        ],
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert!(content_type.starts_with("text/csv"));
    let lines: Vec<&str> = body.lines().collect();
    assert_eq!(lines[0], "exp_id,exp_seeing");
    assert_eq!(lines.len(), 4);
    assert!(
        lines[1].starts_with("GRAVI.2020-01-09T03:34:07.546_1,0.6"),
        "{}",
        lines[1]
    );
}

#[tokio::test]
async fn multipart_posts_are_read_like_forms() {
    let (_workspace, server) = serve_test_headers();
    let query = "SELECT TOP 3 exp_id, exp_seeing FROM obsportal.exposures ORDER BY exp_id";
    let (_, _, from_form) = post_form(
        &server.url("/tap/sync"),
        &[
            ("LANG", "ADQL"),
            ("QUERY", query),
            ("RESPONSEFORMAT", "csv"),
        ],
    )
    .await;
    // As TAP clients send it: text parts, and a file part (an upload, not taken yet) that
    // must not be mistaken for a parameter.
    let boundary = "obsportal-test-boundary";
    let part = |name: &str, value: &str| {
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
        )
    };
    let body = [
        part("lang", "ADQL"),
        part("QUERY", query),
        part("responseformat", "csv"),
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"RESPONSEFORMAT\"; \
             filename=\"t.xml\"\r\nContent-Type: text/xml\r\n\r\njson\r\n"
        ),
        format!("--{boundary}--\r\n"),
    ]
    .concat();
    let (status, content_type, from_multipart) = post(
        &server.url("/tap/sync"),
        &format!("multipart/form-data; boundary={boundary}"),
        body,
    )
    .await;
    assert_eq!(status, 200, "{from_multipart}");
    assert!(content_type.starts_with("text/csv"), "{content_type}");
    assert_eq!(from_multipart.lines().count(), 4, "{from_multipart}");
    assert_eq!(from_multipart, from_form);

    let (status, _, body) = post(
        &server.url("/tap/sync"),
        &format!("multipart/form-data; boundary={boundary}"),
        format!("--{boundary}\r\nContent-Disposition: form-data; name=\"QUERY\"\r\n\r\nSELECT"),
    )
    .await;
    assert_eq!(status, 400, "a truncated multipart body is refused: {body}");
}

/// Five copies of TAP_SCHEMA.columns crossed: far more than a few seconds of counting.
const SLOW_QUERY: &str = "SELECT COUNT(*) FROM TAP_SCHEMA.columns AS a, TAP_SCHEMA.columns AS b, \
    TAP_SCHEMA.columns AS c, TAP_SCHEMA.columns AS d, TAP_SCHEMA.columns AS e";

#[tokio::test]
async fn the_operator_sets_the_query_timeout_and_clients_are_told() {
    let workspace = Workspace::new();
    // Two threads: the default here is one (half of two CPUs), so this keeps the other path run.
    let server = workspace.serve(&[
        "--query-timeout",
        "1",
        "--threads",
        "2",
        "--job-duration",
        "7",
        "--job-retention-days",
        "2",
    ]);
    let started = std::time::Instant::now();
    let (status, body) = sync(&server, SLOW_QUERY, "").await;
    assert!(
        started.elapsed().as_secs() < 30,
        "cancelled long after the timeout"
    );
    // The client's query was too long, not the service unwell: a 400 (a 503 invites the
    // same query again), saying the limit.
    assert_eq!(status, 400, "{body}");
    let table = VoTable::parse(&body);
    let (status, message) = table.query_status();
    assert_eq!(status, "ERROR");
    assert!(message.contains("limit of 1 s"), "{message}");
    let (_, capabilities) = get(&server.url("/tap/capabilities")).await;
    let capabilities: String = capabilities.split_whitespace().collect();
    assert!(
        capabilities.contains(
            "<retentionPeriod><default>172800</default><hard>2592000</hard></retentionPeriod>\
             <executionDuration><default>7</default><hard>3600</hard></executionDuration>"
        ),
        "{capabilities}"
    );
}

/// A client that gives up on an expensive query takes it with it: within a second of the
/// hang-up PostgreSQL no longer runs it (it used to run on until the statement timeout, holding
/// one of the few reader connections).
#[tokio::test]
async fn a_client_that_hangs_up_cancels_its_query() {
    let workspace = Workspace::new();
    let server = workspace.serve(&["--query-timeout", "60"]);
    let owner = workspace.connect("obsportal", "obsportal").await;
    let running = "SELECT count(*) FROM pg_stat_activity \
                   WHERE state = 'active' AND query LIKE '%TAP_SCHEMA%columns%' \
                   AND pid <> pg_backend_pid()";
    let url = server.url(&format!("/tap/sync?LANG=ADQL&QUERY={}", encode(SLOW_QUERY)));
    let impatient = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(2))
        .build()
        .unwrap();
    let gave_up = tokio::spawn(async move { impatient.get(url).send().await.is_err() });
    let seen = tokio::time::timeout(std::time::Duration::from_secs(10), async {
        while count(&owner, running).await == 0 {
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    })
    .await;
    assert!(seen.is_ok(), "the slow query was never seen running");
    assert!(gave_up.await.unwrap(), "the client gave up after 2 s");
    let hung_up = std::time::Instant::now();
    while count(&owner, running).await > 0 {
        assert!(
            hung_up.elapsed() < std::time::Duration::from_secs(1),
            "the query still runs a second after its client left"
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// With one connection for user queries, a second query waits for the first to end (here by
/// its timeout) instead of failing or running beside it.
#[tokio::test]
async fn user_queries_wait_for_a_free_connection() {
    let workspace = Workspace::new();
    let server = workspace.serve(&["--query-timeout", "2", "--query-connections", "1"]);
    let sent = |query: &str| {
        let url = server.url(&format!("/tap/sync?LANG=ADQL&QUERY={}", encode(query)));
        tokio::spawn(async move { get(&url).await })
    };
    let slow_answer = sent(SLOW_QUERY);
    let owner = workspace.connect("obsportal", "obsportal").await;
    let running = "SELECT count(*) FROM pg_stat_activity \
                   WHERE state = 'active' AND query LIKE '%TAP_SCHEMA%columns%' \
                   AND pid <> pg_backend_pid()";
    while owner
        .query_one(running, &[])
        .await
        .unwrap()
        .get::<_, i64>(0)
        == 0
    {
        assert!(
            !slow_answer.is_finished(),
            "the slow query ended before it was seen"
        );
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    let fast_answer = sent("SELECT COUNT(*) AS n FROM TAP_SCHEMA.schemas");
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    assert!(
        !fast_answer.is_finished(),
        "the second query ran while the only connection was busy"
    );
    let (status, body) = fast_answer.await.unwrap();
    assert_eq!(status, 200, "{body}");
    assert_eq!(VoTable::parse(&body).query_status().0, "OK");
    let (status, _) = slow_answer.await.unwrap();
    assert_eq!(status, 400, "the slow query ran into its timeout");
}

#[tokio::test]
async fn the_search_page_adql_link_runs_on_tap() {
    let (_workspace, server) = serve_test_headers();
    let (_, page) = get(&server.url("/search?instrument=GRAVITY&instrument_submode=DUAL")).await;
    let start = page.find("/tap/sync?").expect("a TAP link");
    let link = page[start..page[start..].find('"').unwrap() + start].replace("&amp;", "&");
    let (status, body) = get(&server.url(&link)).await;
    assert_eq!(status, 200, "{link}\n{body}");
    let table = VoTable::parse(&body);
    assert_eq!(table.rows.len(), 2, "the same two exposures as the page");
    assert!(table
        .column("instrument_submode")
        .iter()
        .all(|s| *s == "DUAL"));
}

/// Every format gives the same rows: BINARY2 as a real client (stilts) reads it, the text
/// formats and JSON as parsed here, all against TABLEDATA.
#[tokio::test]
async fn every_output_format_carries_the_same_rows() {
    let (_workspace, server) = serve_test_headers();
    let adql = "SELECT TOP 5 exp_id, exp_seeing, obs_id, POINT(target_ra, target_dec) AS p \
                FROM obsportal.exposures ORDER BY exp_id";
    let (_, body) = sync(&server, adql, "").await;
    let reference = VoTable::parse(&body);
    assert_eq!(reference.rows.len(), 5);
    // NULL is NaN in TABLEDATA and empty in CSV: compare the numbers that are there.
    let numbers = |text: &str| -> Vec<f64> {
        text.split([' ', ','])
            .filter_map(|v| v.parse::<f64>().ok())
            .filter(|v| !v.is_nan())
            .collect()
    };

    // BINARY2, decoded by stilts.
    let url = server.url(&format!(
        "/tap/sync?REQUEST=doQuery&LANG=ADQL&RESPONSEFORMAT=votable/b2&QUERY={}",
        encode(adql)
    ));
    let output = tokio::task::spawn_blocking(move || {
        std::process::Command::new("stilts")
            .args([
                "tpipe",
                &format!("in={url}"),
                "ifmt=votable",
                "ofmt=csv",
                "out=-",
            ])
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let csv = String::from_utf8(output.stdout).unwrap();
    let lines: Vec<&str> = csv.lines().collect();
    assert_eq!(lines[0], "exp_id,exp_seeing,obs_id,p");
    for (line, row) in lines[1..].iter().zip(&reference.rows) {
        let id = line.split(',').next().unwrap();
        assert_eq!(id, row[0]);
        let values = numbers(&line[id.len()..].replace(['(', ')', '"'], " "));
        let expected: Vec<f64> = row[1..].iter().flat_map(|c| numbers(c)).collect();
        assert_eq!(values.len(), expected.len(), "{line} vs {row:?}");
        for (a, b) in values.iter().zip(&expected) {
            assert!(
                (a - b).abs() <= 1e-9 * b.abs().max(1.0),
                "{line} vs {row:?}"
            );
        }
    }

    for (format, separator) in [("csv", ','), ("tsv", '\t')] {
        let (status, body) = sync(&server, adql, &format!("&RESPONSEFORMAT={format}")).await;
        assert_eq!(status, 200);
        let lines: Vec<&str> = body.lines().collect();
        assert_eq!(lines.len(), 6, "{format}");
        for (line, row) in lines[1..].iter().zip(&reference.rows) {
            let first_cells: Vec<&str> = line.splitn(3, separator).take(2).collect();
            // NULL: empty in the text formats, NaN in TABLEDATA.
            let expected: Vec<&str> = row[..2]
                .iter()
                .map(|c| if c == "NaN" { "" } else { c.as_str() })
                .collect();
            assert_eq!(first_cells, expected, "{format}");
        }
    }

    let (_, body) = sync(&server, adql, "&RESPONSEFORMAT=json").await;
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["query_status"], "OK");
    assert_eq!(json["metadata"][3]["xtype"], "point");
    let data = json["data"].as_array().unwrap();
    assert_eq!(data.len(), 5);
    for (row, expected) in data.iter().zip(&reference.rows) {
        assert_eq!(row[0], expected[0].as_str());
        assert_eq!(row[2].as_i64().unwrap().to_string(), expected[2]);
    }
}

/// An error after rows have gone out ends the same document with QUERY_STATUS=ERROR,
/// never a second document and never a file that looks complete.
/// ADQL that fails late in the rows PostgreSQL sends (dividing by zero on the observation
/// whose first exposure comes last in scan order, after at least `rows_before` rows), with the
/// rows before it fine.
async fn failing_late(workspace: &Workspace, rows_before: usize) -> String {
    let db = workspace.connect("obsportal", "obsportal").await;
    let order: Vec<i32> = db
        .query("SELECT obs_id FROM obsportal.exposures", &[])
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let first_seen = |obs_id: i32| order.iter().position(|o| *o == obs_id).unwrap();
    let last = *order.iter().max_by_key(|o| first_seen(**o)).unwrap();
    assert!(
        first_seen(last) >= rows_before,
        "the test needs the failing rows not to come first"
    );
    format!("SELECT *, 1 / (obs_id - {last}) AS boom FROM obsportal.exposures")
}

#[tokio::test]
async fn an_error_after_rows_were_sent_ends_the_votable_or_breaks_the_csv() {
    // Enough rows that the answer is streaming when the last one fails.
    let workspace = Workspace::new();
    let server = workspace.serve(&["--demo-rows", "3000"]);
    let adql = failing_late(&workspace, 1000).await;
    let (status, body) = sync(&server, &adql, "").await;
    assert_eq!(status, 200, "the answer had started");
    let table = VoTable::parse(&body);
    assert!(table.rows.len() > 100, "rows before the error were sent");
    assert!(table.info_after_table);
    assert_eq!(
        table.query_status(),
        ("ERROR", "the query failed: division by zero"),
        "{body}"
    );
    assert_eq!(body.matches("<VOTABLE").count(), 1);
    assert!(body.trim_end().ends_with("</VOTABLE>"));

    // CSV has no place for a status: the transfer breaks off instead of ending cleanly.
    let url = server.url(&format!(
        "/tap/sync?REQUEST=doQuery&LANG=ADQL&FORMAT=csv&QUERY={}",
        encode(&adql)
    ));
    let response = reqwest::get(url).await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(
        response.text().await.is_err(),
        "the CSV must not look complete"
    );
}

#[tokio::test]
async fn an_error_before_anything_was_sent_is_an_error_document() {
    // A handful of rows: the whole answer would fit in one piece, so nothing is out yet.
    let (workspace, server) = serve_test_headers();
    let adql = failing_late(&workspace, 1).await;
    for format in ["votable", "csv"] {
        let (status, body) = sync(&server, &adql, &format!("&FORMAT={format}")).await;
        assert_eq!(status, 400, "{format}: {body}");
        let table = VoTable::parse(&body);
        assert!(table.rows.is_empty());
        assert_eq!(
            table.query_status(),
            ("ERROR", "the query failed: division by zero"),
            "{format}: {body}"
        );
    }
}

#[tokio::test]
async fn every_example_query_runs() {
    let workspace = Workspace::new();
    let server = workspace.serve(&["--demo-rows", "500"]);
    workspace.ingest_ok(&[support::header_file("night.hdr")]);
    let (status, page) = get(&server.url("/tap/examples")).await;
    assert_eq!(status, 200);
    let queries: Vec<String> = page
        .split("<pre property=\"query\">")
        .skip(1)
        .map(|rest| html_unescape(&rest[..rest.find("</pre>").unwrap()]))
        .collect();
    assert!(queries.len() >= 12, "{} examples", queries.len());
    assert_eq!(page.matches("typeof=\"example\"").count(), queries.len());
    for query in &queries {
        // The crossmatch examples read a target list the client uploads: HD 45677 (observed in
        // night.hdr) and a position nothing was observed at.
        let (status, body) = if query.contains("TAP_UPLOAD.targets") {
            let boundary = "examples-boundary";
            let mut body = String::new();
            for (name, value) in [
                ("LANG", "ADQL"),
                ("QUERY", query.as_str()),
                ("UPLOAD", "targets,param:t"),
            ] {
                body.push_str(&format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
                ));
            }
            body.push_str(&format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"t\"; filename=\"t.csv\"\r\n\r\n\
                 name,ra,dec\nHD 45677,104.8167,-13.0586\nnowhere,10,10\r\n--{boundary}--\r\n"
            ));
            let (status, _, body) = post(
                &server.url("/tap/sync"),
                &format!("multipart/form-data; boundary={boundary}"),
                body,
            )
            .await;
            assert!(body.contains("HD 45677"), "{query}\n{body}");
            (status, body)
        } else {
            sync(&server, query, "").await
        };
        assert_eq!(status, 200, "{query}\n{body}");
        let table = VoTable::parse(&body);
        assert!(!table.info_after_table, "{query}: {:?}", table.infos);
        assert!(!table.fields.is_empty());
    }
}

fn html_unescape(text: &str) -> String {
    text.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#x27;", "'")
        .replace("&amp;", "&")
}

#[tokio::test]
async fn computed_columns_of_every_kind_are_written() {
    let (_workspace, server) = serve_test_headers();
    // Decimal literals are doubles in ADQL; PostgreSQL alone would make them `numeric`.
    let adql = "SELECT TOP 1 1.5 AS x, -2.5e1 AS y, 30 / 3600.0 AS r, ABS(-1.5) AS a, \
                CEILING(1.5) AS c, FLOOR(-1.5) AS f, ROUND(2.345, 2) AS rd, TRUNCATE(1.57, 1) AS t, \
                MOD(7, 3) AS m, POWER(2, 3) AS p, SQRT(2.25) AS s, 99999999999999999999 AS big, \
                7 / 2 AS whole FROM obsportal.exposures";
    let (status, body) = sync(&server, adql, "").await;
    assert_eq!(status, 200, "{body}");
    let table = VoTable::parse(&body);
    assert_eq!(table.query_status().0, "OK", "{body}");
    let value = |name: &str| table.column(name)[0].parse::<f64>().unwrap();
    for (name, expected) in [
        ("x", 1.5),
        ("y", -25.0),
        ("r", 30.0 / 3600.0),
        ("a", 1.5),
        ("c", 2.0),
        ("f", -2.0),
        ("rd", 2.35),
        ("t", 1.5),
        ("m", 1.0),
        ("p", 8.0),
        ("s", 1.5),
        ("big", 1e20),
        ("whole", 3.0),
    ] {
        assert!(
            (value(name) - expected).abs() <= 1e-12 * expected.abs(),
            "{name} = {}, expected {expected}",
            value(name)
        );
    }
    let datatype = |name: &str| {
        table.fields[table.field_names().iter().position(|n| *n == name).unwrap()]["datatype"]
            .clone()
    };
    assert_eq!(datatype("x"), "double");
    assert_eq!(datatype("big"), "double");
    assert_eq!(datatype("whole"), "long");
}

#[tokio::test]
async fn the_same_query_around_other_positions_finds_other_targets() {
    let (_workspace, server) = serve_test_headers();
    // One statement shape, prepared once per connection: PostgreSQL switches to a generic plan
    // after five runs, so each position is asked for more often than that.
    let cone = |ra: f64, dec: f64| {
        format!(
            "SELECT DISTINCT target_name FROM obsportal.exposures WHERE \
             CONTAINS(POINT('ICRS', target_ra, target_dec), CIRCLE('ICRS', {ra}, {dec}, 5.0 / 3600)) = 1"
        )
    };
    for _ in 0..8 {
        for (ra, dec, name) in [
            (104.8167, -13.0586, "HD 45677"),
            (105.8046, -12.9321, "HD 46355"),
        ] {
            let (status, body) = sync(&server, &cone(ra, dec), "").await;
            assert_eq!(status, 200, "{body}");
            assert_eq!(VoTable::parse(&body).column("target_name"), [name]);
        }
    }
}

#[tokio::test]
async fn queries_of_many_shapes_keep_working_as_statement_caches_fill_and_start_afresh() {
    let (_workspace, server) = serve_test_headers();
    // More shapes than a connection keeps prepared (each alias makes another statement).
    for i in 0..150 {
        let (status, body) = sync(
            &server,
            &format!("SELECT TOP 1 {i} AS shape_{i} FROM obsportal.exposures"),
            "",
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(
            VoTable::parse(&body).column(&format!("shape_{i}")),
            [i.to_string()]
        );
    }
}

/// Every user-defined function capabilities declare runs, as a client reading them would call
/// it, and gives what HEALPix's definition says at order 0 (pixel 4 is centred at RA 0 on the
/// equator).
#[tokio::test]
async fn every_declared_udf_runs() {
    let workspace = Workspace::new();
    let server = workspace.serve(&["--demo-rows", "20"]);
    let (_, capabilities) = get(&server.url("/tap/capabilities")).await;
    let udfs = capabilities
        .split("#features-udf\">")
        .nth(1)
        .and_then(|rest| rest.split("</languageFeatures>").next())
        .expect("a features-udf element");
    let names: Vec<&str> = udfs
        .split("<form>")
        .skip(1)
        .map(|form| form.split('(').next().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "in_unit",
            "ivo_healpix_index",
            "ivo_healpix_center",
            "obsportal_uv_near",
            "obsportal_uv_sector",
            "obsportal_angle_within"
        ]
    );
    // The (u, v) functions on values worked out by hand: (1.5, 0) lies on the track from
    // (1, 0) to (2, 0); (0, 100) is 100 m long at position angle 0; 175 degrees is within
    // 170 to 10 modulo 180, 90 is not.
    let (status, body) = sync(
        &server,
        "SELECT TOP 1 OBSPORTAL_UV_NEAR(1, 0, 2, 0, 1.5, 0.05, 0.1) AS near, \
         OBSPORTAL_UV_NEAR(1, 0, 2, 0, -1.5, 0, 0.1) AS mirrored, \
         OBSPORTAL_UV_NEAR(1, 0, 2, 0, 1.5, 1, 0.1) AS far, \
         OBSPORTAL_UV_SECTOR(0, 100, 0, 100, 90, 110, -5, 5) AS sector, \
         OBSPORTAL_ANGLE_WITHIN(175, 170, 10) AS within, \
         OBSPORTAL_ANGLE_WITHIN(90, 170, 10) AS outside FROM obsportal.exposures",
        "",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let table = VoTable::parse(&body);
    assert_eq!(table.rows, [["1", "1", "0", "1", "1", "0"]]);
    let (status, body) = sync(
        &server,
        "SELECT TOP 1 ivo_healpix_index(0, 0, 0) AS pixel, \
         ivo_healpix_center(0, ivo_healpix_index(0, 0, 0)) AS centre FROM obsportal.exposures",
        "",
    )
    .await;
    assert_eq!(status, 200, "{body}");
    let table = VoTable::parse(&body);
    assert_eq!(table.column("pixel"), ["4"]);
    let centre: Vec<f64> = table.column("centre")[0]
        .split_whitespace()
        .map(|n| n.parse().unwrap())
        .collect();
    assert!(
        centre[0].abs() < 1e-9 && centre[1].abs() < 1e-9,
        "{centre:?}"
    );
}

/// gzip when the client asks for it (Accept-Encoding), the same document once inflated; never
/// otherwise.
#[tokio::test]
async fn answers_are_gzipped_only_for_clients_that_ask() {
    use std::io::Read;
    let workspace = Workspace::new();
    let server = workspace.serve(&["--demo-rows", "300"]);
    let client = reqwest::Client::new();
    // An async job's kept result too.
    let job = support::completed_job(&server, "SELECT * FROM obsportal.exposures").await;
    let result = format!(
        "{}/results/result",
        reqwest::Url::parse(&job).unwrap().path()
    );
    for path in [
        result.as_str(),
        "/tap/sync?LANG=ADQL&QUERY=SELECT%20*%20FROM%20obsportal.exposures",
        "/tap/sync?LANG=ADQL&RESPONSEFORMAT=csv&QUERY=SELECT%20*%20FROM%20obsportal.baselines",
        "/search.votable?instrument=GRAVITY",
        "/tap/capabilities",
    ] {
        let plain = client.get(server.url(path)).send().await.unwrap();
        assert!(plain.headers().get("content-encoding").is_none(), "{path}");
        let plain = plain.bytes().await.unwrap();
        let gzipped = client
            .get(server.url(path))
            .header("accept-encoding", "gzip")
            .send()
            .await
            .unwrap();
        assert_eq!(gzipped.status(), 200, "{path}");
        assert_eq!(
            gzipped.headers()["content-encoding"].to_str().unwrap(),
            "gzip",
            "{path}"
        );
        let compressed = gzipped.bytes().await.unwrap();
        assert!(
            compressed.len() * 2 < plain.len(),
            "{path}: {} of {}",
            compressed.len(),
            plain.len()
        );
        let mut inflated = Vec::new();
        flate2::read::GzDecoder::new(&compressed[..])
            .read_to_end(&mut inflated)
            .unwrap();
        assert_eq!(inflated, plain, "{path}");
    }
}
