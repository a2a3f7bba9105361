//! The hostile ADQL suite (issue 14): `tests/hostile/adql.txt` (about 200 queries that try to
//! escape: system catalogs, server functions, second statements, comments and quotes in every
//! place, dollar quoting, Unicode look-alikes, casts to catalog types, cross joins of every
//! table) and a few generated ones too large to keep in a file (a 1 MB query, a huge IN list,
//! very deep nesting, a polygon of 10,000 vertices). Each is refused with a clear error or runs
//! harmlessly within its limits; afterwards the database is what it was (catalog and row
//! counts) and the server still answers.

mod support;

use support::{database_state, post_form, unescape, Server, VoTable, Workspace};

/// What must happen to a query.
#[derive(Debug, PartialEq)]
enum Expected {
    Refused,
    Harmless,
}

fn cases() -> Vec<(Expected, String)> {
    let text = include_str!("hostile/adql.txt");
    let mut cases: Vec<(Expected, String)> = text
        .lines()
        .filter(|line| !line.trim().is_empty() && !line.starts_with('#'))
        .map(|line| {
            let (verb, query) = line
                .split_once(' ')
                .expect("`refuse` or `run`, then a query");
            let expected = match verb {
                "refuse" => Expected::Refused,
                "run" => Expected::Harmless,
                other => panic!("unknown expectation {other}"),
            };
            (expected, unescape(query))
        })
        .collect();
    let from = " FROM obsportal.exposures";
    let names = (0..60_000).map(|i| format!("'t{i}'")).collect::<Vec<_>>();
    let vertices = (0..10_000)
        .map(|i| {
            let angle = i as f64 * std::f64::consts::TAU / 10_000.0;
            format!("{:.6}, {:.6}", 10.0 + angle.cos(), 10.0 + angle.sin())
        })
        .collect::<Vec<_>>();
    cases.extend([
        // A megabyte of query: refused (a body of at most 2 MiB is read; the tree's bound).
        (
            Expected::Refused,
            format!("SELECT TOP 1 exp_id{from} WHERE exp_id = 1{}", " OR exp_id = 1".repeat(75_000)),
        ),
        // A long IN list is one node, not a deep tree: it runs.
        (
            Expected::Harmless,
            format!("SELECT TOP 5 exp_id{from} WHERE target_name IN ({})", names.join(", ")),
        ),
        (
            Expected::Refused,
            format!("SELECT TOP 1 exp_id{from} WHERE {}1 = 1{}", "(".repeat(10_000), ")".repeat(10_000)),
        ),
        (
            Expected::Refused,
            format!("SELECT TOP 1 {}exp_id{}{from}", "ABS(".repeat(5_000), ")".repeat(5_000)),
        ),
        // PostgreSQL cuts names at 63 bytes: a long alias is harmless.
        (
            Expected::Harmless,
            format!("SELECT TOP 1 exp_id AS \"{}\"{from}", "x".repeat(100_000)),
        ),
        (
            Expected::Harmless,
            format!(
                "SELECT TOP 5 exp_id{from} WHERE 1 = CONTAINS(POINT(target_ra, target_dec), POLYGON({}))",
                vertices.join(", ")
            ),
        ),
    ]);
    cases
}

async fn ask(server: &Server, query: &str) -> (u16, String) {
    let (status, _, body) = post_form(
        &server.url("/tap/sync"),
        &[("LANG", "ADQL"), ("QUERY", query)],
    )
    .await;
    (status, body)
}

#[tokio::test]
async fn hostile_queries_are_refused_or_harmless_and_change_nothing() {
    let workspace = Workspace::new();
    let server = workspace.serve(&["--demo-rows", "300", "--query-timeout", "2"]);
    let before = database_state(&workspace).await;
    let cases = cases();
    assert!(cases.len() >= 150, "{} cases", cases.len());
    let mut wrong = Vec::new();
    for (expected, query) in &cases {
        let (status, body) = ask(&server, query).await;
        let shown: String = query.chars().take(120).collect();
        if status >= 500 {
            wrong.push(format!("{status} for {shown:?}: {body}"));
            continue;
        }
        let votable = VoTable::parse(&body);
        let (query_status, message) = votable.query_status();
        let clear = status == 400 && query_status == "ERROR" && message.len() > 10;
        let ran = status == 200 && query_status != "ERROR";
        let fine = match expected {
            Expected::Refused => clear,
            Expected::Harmless => ran || clear,
        };
        if !fine {
            wrong.push(format!(
                "{expected:?} expected, {status} {query_status} for {shown:?}: {message}"
            ));
        }
    }
    assert!(
        wrong.is_empty(),
        "{} of {}:\n{}",
        wrong.len(),
        cases.len(),
        wrong.join("\n")
    );
    assert!(!std::path::Path::new("/tmp/pwned").exists());
    assert_eq!(
        database_state(&workspace).await,
        before,
        "the database changed"
    );
    let (status, body) = ask(&server, "SELECT COUNT(*) AS n FROM obsportal.exposures").await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(VoTable::parse(&body).column("n"), ["300"]);
}
