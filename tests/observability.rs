//! What an operator reads: every answer carries a request id (the client's or proxy's, or a new
//! one), and with `--log-format json` every log line is a JSON object carrying the id of the
//! request it was written for.

mod support;

use std::process::Command;

use support::{Server, Workspace, BINARY};

#[tokio::test]
async fn requests_are_tagged_and_logs_are_json_objects_that_name_them() {
    let workspace = Workspace::new();
    let mut command = Command::new(BINARY);
    command
        .args(["serve", "--log-format", "json", "--data-dir"])
        .arg(workspace.data_dir())
        .env_remove("DATABASE_URL")
        .env("RUST_LOG", "info,obsportal=debug");
    let server = Server::start(command, &[]);
    let client = reqwest::Client::new();
    let tagged = client
        .get(server.url("/tap/sync?LANG=ADQL&QUERY=SELECT%20nothing%20FROM%20nowhere"))
        .header("X-Request-Id", "probe-42")
        .send()
        .await
        .unwrap();
    assert_eq!(tagged.status().as_u16(), 400);
    assert_eq!(tagged.headers()["x-request-id"], "probe-42");
    let untagged = client.get(server.url("/healthz")).send().await.unwrap();
    let first = untagged.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_string();
    let again = client.get(server.url("/healthz")).send().await.unwrap();
    let second = again.headers()["x-request-id"]
        .to_str()
        .unwrap()
        .to_string();
    assert!(!first.is_empty() && first != second, "{first} {second}");
    // Not a header line: a new id instead.
    let odd = client
        .get(server.url("/healthz"))
        .header("X-Request-Id", "x".repeat(200))
        .send()
        .await
        .unwrap();
    assert_ne!(
        odd.headers()["x-request-id"].to_str().unwrap(),
        "x".repeat(200)
    );

    let log = server.log();
    let objects: Vec<serde_json::Value> = log
        .lines()
        .filter(|line| !line.trim().is_empty())
        .map(|line| serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}")))
        .collect();
    let answered = objects
        .iter()
        .find(|object| {
            object["span"]["id"] == "probe-42" && object["fields"]["message"] == "answered"
        })
        .unwrap_or_else(|| panic!("no log line of request probe-42:\n{log}"));
    assert_eq!(answered["fields"]["status"], 400);
    assert_eq!(answered["span"]["path"], "/tap/sync");
}

/// `/metrics` in Prometheus' text format: requests counted per surface and status class, a
/// histogram of their times that adds up to the count, the pools and the jobs by phase.
#[tokio::test]
async fn metrics_count_what_was_answered() {
    let workspace = Workspace::new();
    let server = workspace.serve(&["--demo-rows", "20"]);
    let value = |text: &str, series: &str| -> f64 {
        text.lines()
            .find(|line| line.starts_with(series) && line[series.len()..].starts_with(' '))
            .and_then(|line| line.rsplit(' ').next())
            .and_then(|number| number.parse().ok())
            .unwrap_or(0.0)
    };
    let (_, before) = support::get(&server.url("/metrics")).await;
    let mut sent = 0;
    for _ in 0..3 {
        let (_, body) = support::get(&server.url(
            "/tap/sync?LANG=ADQL&QUERY=SELECT%20TOP%201%20exp_id%20FROM%20obsportal.exposures",
        ))
        .await;
        sent += body.len();
    }
    support::get(&server.url("/tap/sync?LANG=ADQL&QUERY=SELECT%20nothing")).await;
    support::get(&server.url("/search.votable?instrument=GRAVITY")).await;
    support::completed_job(&server, "SELECT TOP 1 exp_id FROM obsportal.exposures").await;
    let (status, after) = support::get(&server.url("/metrics")).await;
    assert_eq!(status, 200);
    let ok = r#"obsportal_requests_total{surface="tap_sync",status="2xx"}"#;
    let bad = r#"obsportal_requests_total{surface="tap_sync",status="4xx"}"#;
    assert_eq!(value(&after, ok) - value(&before, ok), 3.0, "{after}");
    assert_eq!(value(&after, bad) - value(&before, bad), 1.0);
    // Result rows and bytes: at least the three one-row answers (and the API's).
    let grew = |series: &str| value(&after, series) - value(&before, series);
    assert!(grew("obsportal_result_rows_total") >= 3.0, "{after}");
    assert!(
        grew("obsportal_result_bytes_total") >= sent as f64,
        "{after}"
    );
    // The demo data's import, as the database recorded it.
    assert_eq!(value(&after, "obsportal_imports_total"), 1.0, "{after}");
    assert!(value(&after, "obsportal_import_headers_accepted_total") >= 20.0);
    assert!(value(&after, "obsportal_import_last_timestamp_seconds") > 1.7e9);
    assert!(
        value(
            &after,
            r#"obsportal_requests_total{surface="api",status="2xx"}"#
        ) >= 1.0
    );
    // The histogram's buckets grow to its count, which is the surface's requests.
    let count = value(
        &after,
        r#"obsportal_request_seconds_count{surface="tap_sync"}"#,
    );
    let all = value(
        &after,
        r#"obsportal_request_seconds_bucket{surface="tap_sync",le="+Inf"}"#,
    );
    let answered: f64 = ["1xx", "2xx", "3xx", "4xx", "5xx"]
        .iter()
        .map(|class| {
            value(
                &after,
                &format!(r#"obsportal_requests_total{{surface="tap_sync",status="{class}"}}"#),
            )
        })
        .sum();
    assert_eq!(count, all);
    assert_eq!(count, answered);
    assert!(
        value(
            &after,
            r#"obsportal_pool_connections{pool="queries",state="open"}"#
        ) >= 1.0
    );
    assert!(
        value(&after, r#"obsportal_jobs{phase="COMPLETED"}"#) >= 1.0,
        "{after}"
    );
}

/// The Grafana dashboard in `deploy/` charts only series `/metrics` has.
#[tokio::test]
async fn the_dashboard_charts_what_the_server_exposes() {
    let workspace = Workspace::new();
    let server = workspace.serve(&[]);
    support::completed_job(&server, "SELECT TOP 1 table_name FROM TAP_SCHEMA.tables").await;
    let (_, exposed) = support::get(&server.url("/metrics")).await;
    let dashboard = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/deploy/grafana-dashboard.json"
    ))
    .unwrap();
    let dashboard: serde_json::Value = serde_json::from_str(&dashboard).unwrap();
    let mut charted = Vec::new();
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().unwrap() {
            let expression = target["expr"].as_str().unwrap();
            charted.extend(
                expression
                    .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .filter(|word| word.starts_with("obsportal_"))
                    .map(str::to_string),
            );
        }
    }
    assert!(charted.len() >= 6, "{charted:?}");
    for series in charted {
        let family = ["_bucket", "_sum", "_count"]
            .iter()
            .find_map(|suffix| series.strip_suffix(suffix))
            .unwrap_or(&series);
        assert!(
            exposed.contains(&format!("# TYPE {family} ")),
            "{series} is charted but not exposed:\n{exposed}"
        );
    }
}

/// The request id reaches PostgreSQL: while a request's query runs, `pg_stat_activity` names
/// it in `application_name` (its pool, then the id), so an operator goes from a slow query to
/// the request's log lines and back.
#[tokio::test]
async fn a_running_query_names_its_request_in_pg_stat_activity() {
    let workspace = Workspace::new();
    let server = workspace.serve(&["--query-timeout", "3"]);
    let slow = "SELECT COUNT(*) FROM TAP_SCHEMA.columns AS a, TAP_SCHEMA.columns AS b, \
                TAP_SCHEMA.columns AS c, TAP_SCHEMA.columns AS d";
    let url = server.url(&format!(
        "/tap/sync?LANG=ADQL&QUERY={}",
        form_urlencoded::byte_serialize(slow.as_bytes()).collect::<String>()
    ));
    let running = tokio::spawn(async move {
        reqwest::Client::new()
            .get(url)
            .header("X-Request-Id", "trace-me-'42'")
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    });
    let db = workspace.connect("obsportal", "obsportal").await;
    let mut seen = 0;
    for _ in 0..50 {
        seen = support::count(
            &db,
            "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' \
             AND application_name = 'obsportal-queries/trace-me-''42''' \
             AND query ILIKE '%tap_schema%'",
        )
        .await;
        if seen > 0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(seen, 1, "the running query did not carry its request id");
    assert_eq!(
        running.await.unwrap(),
        400,
        "it ends at the statement timeout"
    );
}
