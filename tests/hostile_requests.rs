//! Regression tests for issue 17, over real HTTP against the real binary: requests a hostile or
//! careless client sends. None may take the server down, a client's mistake is a 4xx with a
//! well-formed error document (`VoTable::parse` checks XML 1.0 strictly), and the server answers
//! normally afterwards.

mod support;

use support::{get, post, post_form, serve_test_headers, Server, VoTable, Workspace};

/// The ADQL chains that overflowed the stack at about 2,500 terms (2,100 UNIONs), at ten times
/// that: the process aborted, taking every other request with it.
fn crashing_queries() -> Vec<(&'static str, String)> {
    let repeat = |unit: &str, count: usize| unit.repeat(count);
    let from = " FROM obsportal.exposures";
    vec![
        (
            "+",
            format!("SELECT TOP 1 1{} AS x{from}", repeat("+1", 25_000)),
        ),
        (
            "||",
            format!("SELECT TOP 1 exp_id{} AS x{from}", repeat("||'a'", 25_000)),
        ),
        (
            "-",
            format!("SELECT TOP 1 1{} AS x{from}", repeat(" - 1", 25_000)),
        ),
        (
            "*",
            format!("SELECT TOP 1 exp_seeing{} AS x{from}", repeat("*1", 25_000)),
        ),
        (
            "/",
            format!("SELECT TOP 1 exp_seeing{} AS x{from}", repeat("/1", 25_000)),
        ),
        (
            "comparisons",
            format!(
                "SELECT exp_id{from} WHERE 1 < 2{}",
                repeat(" = 1 < 2", 25_000)
            ),
        ),
        (
            "INTERSECT",
            format!(
                "SELECT exp_id{from}{}",
                repeat(&format!(" INTERSECT SELECT exp_id{from}"), 21_000)
            ),
        ),
        (
            "EXCEPT",
            format!(
                "SELECT exp_id{from}{}",
                repeat(&format!(" EXCEPT SELECT exp_id{from}"), 21_000)
            ),
        ),
        (
            "OR",
            format!(
                "SELECT exp_id{from} WHERE target_name = 'a'{}",
                repeat(" OR target_name = 'b'", 25_000)
            ),
        ),
        (
            "AND",
            format!(
                "SELECT exp_id{from} WHERE exp_seeing > 0{}",
                repeat(" AND exp_seeing > 1", 25_000)
            ),
        ),
        (
            "UNION",
            format!(
                "SELECT exp_id{from}{}",
                repeat(&format!(" UNION SELECT exp_id{from}"), 21_000)
            ),
        ),
        (
            "CASE",
            format!(
                "SELECT TOP 1 {}1{} AS x{from}",
                repeat("CASE WHEN 1 = 1 THEN ", 25_000),
                repeat(" END", 25_000)
            ),
        ),
        (
            "calls",
            format!(
                "SELECT TOP 1 {}1{} AS x{from}",
                repeat("ABS(", 25_000),
                repeat(")", 25_000)
            ),
        ),
    ]
}

async fn sync_post(server: &Server, query: &str, extra: &[(&str, &str)]) -> (u16, String) {
    let mut form = vec![("REQUEST", "doQuery"), ("LANG", "ADQL"), ("QUERY", query)];
    form.extend_from_slice(extra);
    let (status, _, body) = post_form(&server.url("/tap/sync"), &form).await;
    (status, body)
}

/// The DALI error of a refused request: its status and the message.
fn error_of(status: u16, body: &str) -> (u16, String) {
    let table = VoTable::parse(body);
    let (value, message) = table.query_status();
    assert_eq!(value, "ERROR", "{body}");
    (status, message.to_string())
}

async fn still_answers(server: &Server) {
    let (status, body) = get(&server
        .url("/tap/sync?LANG=ADQL&QUERY=SELECT%20COUNT(*)%20AS%20n%20FROM%20obsportal.exposures"))
    .await;
    assert_eq!(status, 200, "{body}");
    assert_ne!(VoTable::parse(&body).column("n"), ["0"]);
}

#[tokio::test]
async fn chains_that_crashed_the_server_are_refused_with_a_position() {
    let (_workspace, server) = serve_test_headers();
    // A single link was enough: GET, as a browser follows it.
    let plus = &crashing_queries()[0].1[..5_100];
    let plus = format!(
        "{}+1 AS x FROM obsportal.exposures",
        plus.trim_end_matches('+')
    );
    let encoded: String = form_urlencoded::byte_serialize(plus.as_bytes()).collect();
    let (status, body) = get(&server.url(&format!("/tap/sync?LANG=ADQL&QUERY={encoded}"))).await;
    let (status, message) = error_of(status, &body);
    assert_eq!(status, 400);
    assert!(message.starts_with("line 1, column "), "{message}");
    for (name, query) in crashing_queries() {
        let (status, body) = sync_post(&server, &query, &[]).await;
        let (status, message) = error_of(status, &body);
        assert_eq!(status, 400, "{name}: {message}");
        assert!(
            message.contains("nested") && message.starts_with("line 1, column "),
            "{name}: {message}"
        );
    }
    still_answers(&server).await;
}

#[tokio::test]
async fn what_postgresql_would_refuse_is_a_clear_400() {
    let (_workspace, server) = serve_test_headers();
    let many_columns = vec!["exp_id"; 1700].join(", ");
    let cases = [
        ("NUL in a string", "SELECT TOP 1 exp_id FROM obsportal.exposures WHERE target_name = 'a\0b'".to_string(), "NUL"),
        ("NUL in a name", "SELECT TOP 1 \"exp\0id\" FROM obsportal.exposures".to_string(), "NUL"),
        ("empty alias", "SELECT TOP 1 exp_id AS \"\" FROM obsportal.exposures".to_string(), "empty"),
        (
            "negative radius",
            "SELECT exp_id FROM obsportal.exposures WHERE CONTAINS(POINT(target_ra, target_dec), CIRCLE(10, 20, -1)) = 1".to_string(),
            "radius",
        ),
        (
            "a radius computed past 90 degrees",
            "SELECT exp_id FROM obsportal.exposures WHERE CONTAINS(POINT(target_ra, target_dec), CIRCLE(10, 20, target_ra + 91)) = 1".to_string(),
            "radius must be",
        ),
        ("1,700 columns", format!("SELECT TOP 1 {many_columns} FROM obsportal.exposures"), "1664"),
    ];
    for (name, query, said) in cases {
        let (status, body) = sync_post(&server, &query, &[]).await;
        let (status, message) = error_of(status, &body);
        assert_eq!(status, 400, "{name}: {message}");
        assert!(message.contains(said), "{name}: {message}");
    }
    // The exposure page with a NUL in its id: the visitor's mistake, not the database's.
    let (status, page) = get(&server.url("/detail/exposure/a%00b")).await;
    assert_eq!(status, 400, "{page}");
    still_answers(&server).await;
}

#[tokio::test]
async fn control_characters_from_the_request_leave_documents_well_formed() {
    let (_workspace, server) = serve_test_headers();
    // A vertical tab and other C0 characters in the query, echoed in the QUERY INFO, in a cell
    // and in an alias; and in an error message.
    let query =
        "SELECT TOP 1 '\u{b}x\u{1}' AS \"a\u{2}b\" FROM obsportal.exposures WHERE 1 =\u{b}1";
    let (status, body) = sync_post(&server, query, &[]).await;
    assert_eq!(status, 200, "{body}");
    let table = VoTable::parse(&body);
    assert_eq!(table.rows.len(), 1);
    assert!(table.infos.iter().any(|info| info.0 == "QUERY"));
    let (status, body) = sync_post(&server, "SELECT \u{1}\u{1f} nonsense", &[]).await;
    assert_eq!(error_of(status, &body).0, 400);
    // Simple Cone Search echoes its parameters in its errors.
    let (status, body) = get(&server.url("/scs?RA=1%01&DEC=2&SR=1")).await;
    assert_eq!(status, 200, "SCS errors are VOTables with INFO Error");
    let table = VoTable::parse(&body);
    assert!(table.infos.iter().any(|info| info.0 == "Error"), "{body}");
}

#[tokio::test]
async fn a_body_too_large_is_a_413_with_a_dali_error() {
    let (_workspace, server) = serve_test_headers();
    let query = format!(
        "SELECT 1 FROM obsportal.exposures WHERE '{}' = ''",
        "a".repeat(3_000_000)
    );
    let body: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs([("LANG", "ADQL"), ("QUERY", query.as_str())])
        .finish();
    let (status, content_type, body) = post(
        &server.url("/tap/sync"),
        "application/x-www-form-urlencoded",
        body,
    )
    .await;
    assert!(
        content_type.starts_with("application/x-votable+xml"),
        "{content_type}"
    );
    let (status, message) = error_of(status, &body);
    assert_eq!(status, 413);
    assert!(message.contains("MiB"), "{message}");
    still_answers(&server).await;
}

#[tokio::test]
async fn single_valued_parameters_given_twice_are_refused() {
    let (_workspace, server) = serve_test_headers();
    for repeated in ["LANG", "QUERY", "MAXREC", "responseformat"] {
        let (status, body) = sync_post(
            &server,
            "SELECT TOP 1 exp_id FROM obsportal.exposures",
            &[
                (repeated, if repeated == "MAXREC" { "5" } else { "csv" }),
                ("MAXREC", "1"),
                ("RESPONSEFORMAT", "votable"),
            ],
        )
        .await;
        // QUERY and LANG are given twice by the extra pair; MAXREC and RESPONSEFORMAT by the
        // two extra pairs.
        let (status, message) = error_of(status, &body);
        assert_eq!(status, 400, "{repeated}");
        assert!(message.contains("more than once"), "{repeated}: {message}");
    }
    let (status, body) = get(&server.url("/scs?RA=1&DEC=2&SR=1&ra=3")).await;
    assert_eq!(status, 200);
    let table = VoTable::parse(&body);
    assert!(
        table
            .infos
            .iter()
            .any(|info| info.0 == "Error" && info.1.contains("more than once")),
        "{body}"
    );
}

#[tokio::test]
async fn cone_searches_reach_the_whole_sky() {
    let (_workspace, server) = serve_test_headers();
    let rows = |sr: &'static str| {
        let url = server.url(&format!("/scs?RA=104.8&DEC=-13&SR={sr}&VERB=1"));
        async move {
            let (status, body) = get(&url).await;
            assert_eq!(status, 200, "{body}");
            let table = VoTable::parse(&body);
            assert_eq!(table.query_status().0, "OK", "SR={sr}: {body}");
            table.rows.len()
        }
    };
    let (hemisphere, wider, all) = (rows("90").await, rows("120").await, rows("180").await);
    let (_, body) = get(&server
        .url("/tap/sync?LANG=ADQL&QUERY=SELECT%20COUNT(*)%20AS%20n%20FROM%20obsportal.exposures"))
    .await;
    let total: usize = VoTable::parse(&body).column("n")[0].parse().unwrap();
    assert!(
        hemisphere > 0 && hemisphere <= wider && wider <= all,
        "{hemisphere} {wider} {all}"
    );
    assert_eq!(all, total, "SR=180 is the whole sky");
}

#[tokio::test]
async fn the_api_has_the_same_row_limits_as_tap_and_says_so() {
    let (_workspace, server) = serve_test_headers();
    let (status, body) = get(&server.url("/search.votable?interferometer=VLTI")).await;
    assert_eq!(status, 200);
    let everything = VoTable::parse(&body);
    assert_eq!(
        everything.params["maxrec"], "100000",
        "the default limit is said"
    );
    assert!(
        everything.infos.iter().all(|info| info.0 != "QUERY_STATUS"),
        "ObsPortal's document, with no status after the table when all rows are there"
    );
    assert!(everything.rows.len() > 2);
    let (status, _, body) = post_form(
        &server.url("/search.votable"),
        &[("interferometer", "VLTI"), ("maxrec", "2")],
    )
    .await;
    assert_eq!(status, 200);
    let limited = VoTable::parse(&body);
    assert_eq!(limited.params["maxrec"], "2");
    assert_eq!(
        limited.rows,
        everything.rows[..2],
        "the first two, in the same order"
    );
    assert_eq!(limited.query_status().0, "OVERFLOW");
    assert!(limited.info_after_table);
    let (status, _) = get(&server.url("/search.votable?maxrec=-1")).await;
    assert_eq!(status, 400);
    let (status, body) = get(&server.url("/search.votable?maxrec=99999999999")).await;
    assert_eq!(status, 200);
    assert_eq!(
        VoTable::parse(&body).params["maxrec"],
        "10000000",
        "capped at the hard limit"
    );
}

/// Per-client fairness: past its number of queries at once, a client waits its turn (429 with
/// Retry-After and an error document), while another client's queries go on; once its query
/// has ended, it may send the next. Clients are told apart by the address the proxy names.
#[tokio::test]
async fn one_client_cannot_take_every_query_slot() {
    let workspace = Workspace::new();
    let server = workspace.serve(&[
        "--client-queries",
        "1",
        "--client-address-header",
        "X-Forwarded-For",
        "--query-timeout",
        "2",
    ]);
    let slow = "SELECT COUNT(*) FROM TAP_SCHEMA.columns AS a, TAP_SCHEMA.columns AS b, \
                TAP_SCHEMA.columns AS c, TAP_SCHEMA.columns AS d";
    let tap = |query: &str| {
        server.url(&format!(
            "/tap/sync?LANG=ADQL&QUERY={}",
            form_urlencoded::byte_serialize(query.as_bytes()).collect::<String>()
        ))
    };
    let from = |client: &'static str, url: String| async move {
        let response = reqwest::Client::new()
            .get(url)
            .header("X-Forwarded-For", format!("{client}, 10.9.9.9"))
            .send()
            .await
            .unwrap();
        let retry = response
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().unwrap().to_string());
        (
            response.status().as_u16(),
            retry,
            response.text().await.unwrap(),
        )
    };
    let busy = tokio::spawn(from("192.0.2.1", tap(slow)));
    tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    let quick = "SELECT TOP 1 table_name FROM TAP_SCHEMA.tables";
    let (status, retry, body) = from("192.0.2.1", tap(quick)).await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(retry.as_deref(), Some("1"));
    let message = VoTable::parse(&body).query_status().1.to_string();
    assert!(message.contains("already runs 1 queries"), "{message}");
    let (status, _, body) = from("192.0.2.1", server.url("/search.votable?ra=10&dec=10")).await;
    assert_eq!(status, 429, "{body}");
    // Another client is not held up.
    let (status, _, body) = from("192.0.2.2", tap(quick)).await;
    assert_eq!(status, 200, "{body}");
    // The busy client's query ends (its timeout); its place is free again.
    let (status, _, _) = busy.await.unwrap();
    assert_eq!(status, 400, "the slow query stopped at the timeout");
    let (status, _, body) = from("192.0.2.1", tap(quick)).await;
    assert_eq!(status, 200, "{body}");
}

/// Slowloris and a full house (issue 14): a client that sends its request head a byte at a
/// time, or stops sending its body, is cut off after the timeouts; past the connection cap,
/// a new client waits to be accepted rather than being refused, and is served once a place
/// is free.
#[tokio::test]
async fn slow_clients_are_cut_off_and_connections_are_capped() {
    use std::time::{Duration, Instant};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let workspace = Workspace::new();
    let server = workspace.serve(&[
        "--max-connections",
        "2",
        "--header-timeout",
        "2",
        "--body-timeout",
        "2",
    ]);
    let address = server
        .url("")
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string();
    let stalled = |start: &'static str| {
        let address = address.clone();
        async move {
            let mut tcp = tokio::net::TcpStream::connect(&address).await.unwrap();
            tcp.write_all(start.as_bytes()).await.unwrap();
            tcp
        }
    };
    // Until what the server does with them is over, the test must not wait forever.
    let ends_within = |limit: Duration, mut tcp: tokio::net::TcpStream| async move {
        let began = Instant::now();
        let mut answer = Vec::new();
        let read = tokio::time::timeout(limit, tcp.read_to_end(&mut answer)).await;
        assert!(
            read.is_ok(),
            "the connection was still open after {limit:?}"
        );
        (
            began.elapsed(),
            String::from_utf8_lossy(&answer).to_string(),
        )
    };

    // Two slowloris connections take both places.
    let heads = [
        stalled("GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ").await,
        stalled("GET /healthz HTTP/1.1\r\n").await,
    ];
    tokio::time::sleep(Duration::from_millis(300)).await;
    let began = Instant::now();
    let kind = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
        .get(server.url("/healthz"))
        .send()
        .await
        .expect("a waiting client is served once a place is free");
    let waited = began.elapsed();
    assert_eq!(kind.status().as_u16(), 200);
    assert!(
        waited >= Duration::from_millis(1200),
        "served after {waited:?}: the cap of 2 connections did not hold"
    );
    for head in heads {
        let (after, _) = ends_within(Duration::from_secs(4), head).await;
        assert!(after < Duration::from_secs(4));
    }

    // A body that stops arriving fails its request.
    let body = stalled(
        "POST /tap/sync HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Content-Length: 1000\r\n\r\nLANG=ADQL&QUERY=SELECT",
    )
    .await;
    let (_, answer) = ends_within(Duration::from_secs(6), body).await;
    assert!(answer.starts_with("HTTP/1.1 400"), "{answer}");
    assert!(answer.contains("stopped arriving"), "{answer}");
    let (status, body) =
        get(&server
            .url("/tap/sync?LANG=ADQL&QUERY=SELECT%20TOP%201%20*%20FROM%20TAP_SCHEMA.tables"))
        .await;
    assert_eq!(status, 200, "{body}");
}
