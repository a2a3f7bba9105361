//! The change feed `/changes` (issue 16) over real HTTP: a harvester that follows `next` from
//! the beginning gets every exposure once, in the order they changed; and one that keeps
//! polling while an import runs misses nothing and sees nothing twice.

mod support;

use std::collections::BTreeSet;

use serde_json::Value;
use support::{get, VoTable, Workspace};

/// Follows `next` from `url` until a page comes back empty: the exposure ids in the order
/// served, and the URL to poll next.
async fn follow(mut url: String, seen: &mut Vec<String>) -> String {
    loop {
        let (status, body) = get(&url).await;
        assert_eq!(status, 200, "{url}: {body}");
        let page: Value = serde_json::from_str(&body).unwrap();
        assert_eq!(page["query_status"], "OK", "{body}");
        let id_column = page["metadata"]
            .as_array()
            .unwrap()
            .iter()
            .position(|field| field["name"] == "exp_id")
            .unwrap();
        let rows = page["data"].as_array().unwrap();
        seen.extend(
            rows.iter()
                .map(|row| row[id_column].as_str().unwrap().to_string()),
        );
        let next = page["params"]["next"].as_str().unwrap().to_string();
        if rows.is_empty() {
            return next;
        }
        url = next;
    }
}

#[tokio::test]
async fn a_harvester_gets_every_change_once_also_while_an_import_runs() {
    let workspace = Workspace::new();
    let server = workspace.serve(&["--demo-rows", "300"]);
    let db = workspace.connect("obsportal", "obsportal").await;
    let all = |db: tokio_postgres::Client| async move {
        let rows = db
            .query(
                "SELECT exp_id FROM obsportal.exposures ORDER BY exp_date_updated, exp_id",
                &[],
            )
            .await
            .unwrap();
        let ids: Vec<String> = rows.iter().map(|row| row.get(0)).collect();
        (db, ids)
    };

    // From the beginning, 70 at a time: every exposure, once, in the order they changed.
    let mut seen = Vec::new();
    let start = server.url("/changes?since=2000-01-01T00:00:00Z&limit=70");
    let poll = follow(start, &mut seen).await;
    let (db, expected) = all(db).await;
    assert_eq!(seen, expected);
    assert!(
        poll.contains("limit=70") && poll.contains("after="),
        "{poll}"
    );

    // A second import, of other exposures, runs while the harvester keeps polling.
    let headers = workspace.demo_headers("more.hdr", 6000, 7);
    let mut import = workspace.spawn_ingest(&[headers]);
    let mut poll = poll;
    let mut polls = 0;
    loop {
        let finished = import.try_wait().unwrap().is_some();
        poll = follow(poll, &mut seen).await;
        polls += 1;
        if finished {
            break;
        }
    }
    assert!(import.wait().unwrap().success());
    let (_db, expected) = all(db).await;
    assert!(expected.len() > 6000, "{} exposures", expected.len());
    let unique: BTreeSet<&String> = seen.iter().collect();
    assert_eq!(unique.len(), seen.len(), "an exposure served twice");
    assert_eq!(seen, expected, "after {polls} polls");
    // The import takes seconds; the harvester polled all along.
    assert!(polls >= 3, "{polls} polls");

    // Filters, and VOTable with the next page as a PARAM.
    let (status, body) = get(&server
        .url("/changes?since=2000-01-01T00:00:00Z&instrument=GRAVITY&format=votable&limit=5"))
    .await;
    assert_eq!(status, 200, "{body}");
    let table = VoTable::parse(&body);
    assert_eq!(table.rows.len(), 5);
    assert!(table
        .column("instrument_name")
        .iter()
        .all(|name| *name == "GRAVITY"));
    assert!(body.contains("name=\"next\""), "{body}");

    // What is wrong is said.
    for (query, expected) in [
        ("", "since"),
        ("since=yesterday", "ISO 8601"),
        ("since=2020-01-01T00:00:00Z&limit=0", "limit"),
        (
            "since=2020-01-01T00:00:00Z&date_updated_from=2020-01-01T00:00:00Z",
            "since",
        ),
    ] {
        let (status, body) = get(&server.url(&format!("/changes?{query}"))).await;
        assert_eq!(status, 400, "{query}: {body}");
        assert!(body.contains(expected), "{query}: {body}");
    }
}
