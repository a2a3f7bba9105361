//! `obsportal harvest eso` against a loopback stand-in for ESO's archive (no machine here
//! reaches ESO): a TAP service answering `dbo.raw` queries with a VOTable, and a header service
//! answering `hdr?DpId=` with an HTML page holding the header in a `<pre>`, both in the formats
//! ESO's services use, serving the real headers of `tests/data/eso-headers`.

mod support;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::Path;
use std::process::{Command, Output};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Query, State};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::{Form, Router};

use support::{count, Workspace, BINARY};

/// What the stand-in archive holds and how it misbehaves.
#[derive(Default)]
struct Archive {
    /// dp_id -> (last_mod_date, header text).
    frames: BTreeMap<String, (String, String)>,
    /// Header requests answered 503.
    unavailable: HashSet<String>,
    /// Header requests that wait a minute first.
    slow: HashSet<String>,
    /// Header requests received, by dp_id.
    asked: HashMap<String, u32>,
}

type Shared = Arc<Mutex<Archive>>;

/// The real headers, each under the DP.ID ESO files it by, modified a second apart.
fn real_frames() -> Vec<(String, String)> {
    let folder = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/eso-headers");
    let mut files: Vec<_> = std::fs::read_dir(folder)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|path| {
            let text = std::fs::read_to_string(&path).unwrap();
            let dp_id = text
                .lines()
                .find_map(|card| {
                    let value = card.strip_prefix("ARCFILE")?.split('\'').nth(1)?;
                    Some(value.trim().trim_end_matches(".fits").to_string())
                })
                // The 2012 PIONIER product lost its ARCFILE; ESO files it by prefix and date.
                .unwrap_or_else(|| "PIONI.2012-02-17T03:31:15.584".to_string());
            (dp_id, text)
        })
        .collect()
}

async fn tap_sync(
    State(archive): State<Shared>,
    Form(form): Form<HashMap<String, String>>,
) -> Response {
    let query = &form["QUERY"];
    // The harvester's query: TOP n ... (last_mod_date > 't' OR (last_mod_date = 't' AND dp_id > 'id'))
    let quoted = |after: &str| -> String {
        let start = query.find(after).unwrap() + after.len();
        query[start..].split('\'').next().unwrap().to_string()
    };
    let top: usize = query["SELECT TOP ".len()..]
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let cursor = (quoted("last_mod_date > '"), quoted("dp_id > '"));
    let archive = archive.lock().unwrap();
    let mut frames: Vec<(&String, &String)> = archive
        .frames
        .iter()
        .map(|(id, (date, _))| (date, id))
        .filter(|(date, id)| (*date, *id) > (&cursor.0, &cursor.1))
        .collect();
    frames.sort();
    let rows: String = frames
        .iter()
        .take(top)
        .map(|(date, id)| format!("<TR><TD>{id}</TD><TD>{date}</TD></TR>\n"))
        .collect();
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <VOTABLE version=\"1.3\" xmlns=\"http://www.ivoa.net/xml/VOTable/v1.3\">\n\
         <RESOURCE type=\"results\">\n<INFO name=\"QUERY_STATUS\" value=\"OK\"/>\n<TABLE>\n\
         <FIELD name=\"dp_id\" datatype=\"char\" arraysize=\"*\"/>\n\
         <FIELD name=\"last_mod_date\" datatype=\"char\" arraysize=\"*\" xtype=\"timestamp\"/>\n\
         <DATA><TABLEDATA>\n{rows}</TABLEDATA></DATA>\n</TABLE>\n</RESOURCE>\n</VOTABLE>\n"
    );
    ([("content-type", "application/x-votable+xml")], body).into_response()
}

async fn header_page(
    State(archive): State<Shared>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let dp_id = query["DpId"].clone();
    let (slow, unavailable, header) = {
        let mut archive = archive.lock().unwrap();
        *archive.asked.entry(dp_id.clone()).or_default() += 1;
        (
            archive.slow.contains(&dp_id),
            archive.unavailable.contains(&dp_id),
            archive.frames.get(&dp_id).map(|(_, text)| text.clone()),
        )
    };
    if slow {
        tokio::time::sleep(Duration::from_secs(60)).await;
    }
    if unavailable {
        return (axum::http::StatusCode::SERVICE_UNAVAILABLE, "busy").into_response();
    }
    match header {
        Some(text) => Html(format!(
            "<html><head><title>{dp_id}</title></head><body><pre>{}</pre></body></html>",
            html_escape::encode_text(&text)
        ))
        .into_response(),
        None => Html("<html><body>No such file</body></html>".to_string()).into_response(),
    }
}

/// Serves the stand-in on a free loopback port; returns its base URL.
async fn stand_in(archive: Shared) -> String {
    let app = Router::new()
        .route("/tap_obs/sync", axum::routing::post(tap_sync))
        .route("/hdr", get(header_page))
        .with_state(archive);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    format!("http://{address}")
}

fn harvest_command(workspace: &Workspace, base: &str) -> Command {
    let mut command = Command::new(BINARY);
    command
        .args(["harvest", "eso", "--batch", "3", "--data-dir"])
        .arg(workspace.data_dir())
        .arg("--tap-url")
        .arg(format!("{base}/tap_obs"))
        .arg("--header-url")
        .arg(format!("{base}/hdr"))
        .env_remove("DATABASE_URL");
    command
}

async fn harvest(workspace: &Workspace, base: &str) -> Output {
    let mut command = harvest_command(workspace, base);
    tokio::task::spawn_blocking(move || command.output().unwrap())
        .await
        .unwrap()
}

fn archive_with_real_frames() -> Shared {
    let mut archive = Archive::default();
    for (second, (dp_id, text)) in real_frames().into_iter().enumerate() {
        archive
            .frames
            .insert(dp_id, (format!("2024-03-01T10:00:{second:02}"), text));
    }
    Arc::new(Mutex::new(archive))
}

#[tokio::test]
async fn harvests_what_changed_retries_what_failed_and_never_twice() {
    let archive = archive_with_real_frames();
    let gravity = "GRAVI.2022-02-23T00:39:06.024".to_string();
    archive.lock().unwrap().unavailable.insert(gravity.clone());
    let base = stand_in(archive.clone()).await;
    let workspace = Workspace::new();
    let _server = workspace.serve(&[]);

    let first = harvest(&workspace, &base).await;
    let said = String::from_utf8_lossy(&first.stdout);
    assert!(
        first.status.success(),
        "{said}\n{}",
        String::from_utf8_lossy(&first.stderr)
    );
    assert!(
        said.contains("8 frames listed, 7 headers fetched"),
        "{said}"
    );
    assert!(
        said.contains(&format!("{gravity}: the header service answered HTTP 503")),
        "{said}"
    );
    assert_eq!(
        archive.lock().unwrap().asked[&gravity],
        3,
        "three tries, with backoff"
    );
    let db = workspace.connect("obsportal", "obsportal").await;
    // Seven fetched: the remanence recording dropped, six exposures.
    assert_eq!(
        count(&db, "SELECT count(*) FROM obsportal.exposures").await,
        6
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM obsportal.harvest_failure").await,
        1
    );

    // ESO answers again: the next harvest fetches the failed frame first, and nothing else.
    {
        let mut archive = archive.lock().unwrap();
        archive.unavailable.clear();
        archive.asked.clear();
    }
    let second = harvest(&workspace, &base).await;
    let said = String::from_utf8_lossy(&second.stdout);
    assert!(second.status.success(), "{said}");
    assert!(
        said.contains("0 frames listed, 1 headers fetched"),
        "{said}"
    );
    assert!(said.contains("1 earlier failures recovered"), "{said}");
    assert_eq!(
        archive.lock().unwrap().asked.keys().collect::<Vec<_>>(),
        [&gravity]
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM obsportal.exposures").await,
        7
    );
    assert_eq!(
        count(&db, "SELECT count(*) FROM obsportal.harvest_failure").await,
        0
    );

    // A frame modified at ESO later is harvested again, alone, and updates its exposure.
    {
        let mut archive = archive.lock().unwrap();
        archive.asked.clear();
        let (date, text) = archive.frames.get_mut(&gravity).unwrap();
        *date = "2024-04-01T00:00:00".into();
        *text = text.replacen("OBJECT  = 'V CI Tau'", "OBJECT  = 'CI Tau  '", 1);
    }
    let third = harvest(&workspace, &base).await;
    let said = String::from_utf8_lossy(&third.stdout);
    assert!(
        said.contains("1 frames listed, 1 headers fetched (0 new, 1 changed)"),
        "{said}"
    );
    assert_eq!(archive.lock().unwrap().asked.len(), 1);
}

#[tokio::test]
async fn an_interrupted_harvest_keeps_whole_pages_and_goes_on_where_it_stopped() {
    let archive = archive_with_real_frames();
    // In the order the archive lists them: by modification date.
    let ids: Vec<String> = {
        let archive = archive.lock().unwrap();
        let mut by_date: Vec<(&String, &String)> = archive
            .frames
            .iter()
            .map(|(id, (date, _))| (date, id))
            .collect();
        by_date.sort();
        by_date.into_iter().map(|(_, id)| id.clone()).collect()
    };
    // The fifth frame is on the second page of three.
    let stuck = ids[4].clone();
    archive.lock().unwrap().slow.insert(stuck.clone());
    let base = stand_in(archive.clone()).await;
    let workspace = Workspace::new();
    let _server = workspace.serve(&[]);

    let mut running = harvest_command(&workspace, &base).spawn().unwrap();
    // Polled without blocking: the stand-in answers on this test's runtime.
    let asked = async {
        while !archive.lock().unwrap().asked.contains_key(&stuck) {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(60), asked)
        .await
        .expect("the harvest reached the second page");
    // Killed without warning while the second page is being fetched.
    running.kill().unwrap();
    running.wait().unwrap();
    let db = workspace.connect("obsportal", "obsportal").await;
    let cursor: String = db
        .query_one("SELECT dp_id FROM obsportal.harvest_cursor", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(cursor, ids[2], "the first page of three was committed");
    let first_page = count(&db, "SELECT count(*) FROM obsportal.header").await;
    assert_eq!(
        first_page, 3,
        "the first page's headers, and nothing of the second"
    );

    archive.lock().unwrap().slow.clear();
    let again = harvest(&workspace, &base).await;
    let said = String::from_utf8_lossy(&again.stdout);
    assert!(again.status.success(), "{said}");
    assert!(
        said.contains("5 frames listed, 5 headers fetched"),
        "{said}"
    );
    assert_eq!(count(&db, "SELECT count(*) FROM obsportal.header").await, 8);
    assert_eq!(
        count(&db, "SELECT count(*) FROM obsportal.exposures").await,
        7
    );
}
