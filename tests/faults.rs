//! Faults an operator meets (issue 14), against the real binary and its embedded PostgreSQL:
//! the database restarted under a running stream, a SIGTERM while a stream is going out, and an
//! import SIGKILLed half way. (A SIGKILLed server with its cluster is `cluster.rs`'s; jobs
//! across a crash are `tap_async.rs`'s.)

mod support;

use std::os::unix::process::CommandExt;
use std::process::Command;
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use support::{count, get, wait_until, Server, VoTable, Workspace};

/// A result of millions of rows from a few hundred exposures: it streams for many seconds.
const LONG_STREAM: &str = "SELECT TOP 3000000 a.exp_id, b.target_name, c.exp_mjd_start \
     FROM obsportal.exposures AS a, obsportal.exposures AS b, obsportal.exposures AS c";

fn stream_url(server: &Server) -> String {
    server.url(&format!(
        "/tap/sync?LANG=ADQL&MAXREC=3000000&QUERY={}",
        form_urlencoded::byte_serialize(LONG_STREAM.as_bytes()).collect::<String>()
    ))
}

/// Starts the long stream and reads its first pieces; the rest is the caller's.
async fn started_stream(server: &Server) -> (reqwest::Response, Vec<u8>) {
    let mut response = reqwest::get(stream_url(server)).await.unwrap();
    assert_eq!(response.status().as_u16(), 200);
    let mut head = Vec::new();
    while head.len() < 256 * 1024 {
        let chunk = response.chunk().await.unwrap().expect("the stream goes on");
        head.extend_from_slice(&chunk);
    }
    (response, head)
}

/// The rest of a stream: what arrived, and whether it ended cleanly.
async fn rest_of(mut response: reqwest::Response) -> (Vec<u8>, bool) {
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(bytes)) => body.extend_from_slice(&bytes),
            Ok(None) => return (body, true),
            Err(_) => return (body, false),
        }
    }
}

/// A cut result never looks complete: the VOTable ends with QUERY_STATUS=ERROR saying the
/// database went away (DALI's way to report an error after the rows), or the chunked body
/// breaks off (when the process is gone before it could say so).
fn assert_ends_as_unavailable(rest: &[u8], clean: bool) {
    let text = String::from_utf8_lossy(rest);
    let tail = &text[text.len().saturating_sub(2000)..];
    if clean {
        assert!(
            tail.contains(r#"value="ERROR">the database is unavailable; try again later</INFO>"#),
            "the stream ended as if whole:\n{tail}"
        );
        assert!(tail.trim_end().ends_with("</VOTABLE>"), "{tail}");
    } else {
        assert!(!tail.contains("</VOTABLE>"), "{tail}");
    }
}

/// `pg_ctl restart -m fast` on the embedded cluster, as the user it runs as (PostgreSQL's own
/// binaries, found from the running postmaster).
fn restart_postgresql(workspace: &Workspace) {
    use std::os::unix::fs::MetadataExt;
    let postmaster = workspace.postmaster_pid().expect("cluster running");
    let binary = std::fs::read_link(format!("/proc/{postmaster}/exe")).unwrap();
    let pgdata = workspace.data_dir().join("pgdata");
    let owner = std::fs::metadata(&pgdata).unwrap();
    let status = Command::new(binary.with_file_name("pg_ctl"))
        .arg("-D")
        .arg(&pgdata)
        .args(["-m", "fast", "-w", "-s", "restart"])
        .arg("-l")
        .arg(workspace.data_dir().join("postgresql.log"))
        .gid(owner.gid())
        .uid(owner.uid())
        .status()
        .unwrap();
    assert!(status.success(), "pg_ctl restart failed");
}

#[tokio::test]
async fn a_database_restart_ends_the_stream_with_an_error_and_the_server_recovers() {
    let workspace = Workspace::new();
    let server = workspace.serve(&["--demo-rows", "300"]);
    let (response, head) = started_stream(&server).await;
    assert!(String::from_utf8_lossy(&head).contains("<TABLEDATA>"));
    restart_postgresql(&workspace);
    let (rest, clean) = rest_of(response).await;
    assert_ends_as_unavailable(&rest, clean);
    // No restart of the server: its pools drop the dead connections and open new ones.
    let query = server
        .url("/tap/sync?LANG=ADQL&QUERY=SELECT%20COUNT(*)%20AS%20n%20FROM%20obsportal.exposures");
    let mut answered = None;
    for _ in 0..40 {
        let (status, body) = get(&query).await;
        if status == 200 {
            answered = Some(body);
            break;
        }
        assert_eq!(status, 503, "while PostgreSQL comes back: {body}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let body = answered.expect("the server answers again within 10 s");
    assert_eq!(VoTable::parse(&body).column("n"), ["300"]);
    let (status, page) = get(&server.url("/search?instrument=GRAVITY")).await;
    assert_eq!(status, 200, "{page}");
}

#[tokio::test]
async fn sigterm_during_a_stream_stops_within_the_grace_and_cancels_the_query() {
    let workspace = Workspace::new();
    let server = workspace.serve(&["--demo-rows", "300", "--shutdown-grace", "2"]);
    let (response, _) = started_stream(&server).await;
    let pid = server.pid() as i32;
    let asked = Instant::now();
    kill(Pid::from_raw(pid), Signal::SIGTERM).unwrap();
    let (rest, clean) = rest_of(response).await;
    assert_ends_as_unavailable(&rest, clean);
    assert!(
        wait_until(Duration::from_secs(10), || !std::path::Path::new(&format!(
            "/proc/{pid}"
        ))
        .exists()
            || std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .is_ok_and(|stat| stat.contains(") Z "))),
        "the server was still running 10 s after SIGTERM"
    );
    let stopped = asked.elapsed();
    assert!(stopped < Duration::from_secs(10), "{stopped:?}");
    assert!(
        stopped >= Duration::from_millis(1500),
        "the stream was given its grace ({stopped:?})"
    );
    let log = server.log();
    assert!(log.contains("cut off"), "{log}");
    assert!(
        workspace.postmaster_pid().is_none(),
        "the embedded cluster stopped with the server"
    );
}

/// Backends applying an import's staged headers (not this test's own).
const IMPORT_AT_WORK: &str = "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' \
     AND query ILIKE '%apply_staged_headers%' AND pid <> pg_backend_pid()";

/// An import is one transaction: killed at any moment, the database holds the old data or
/// the new, never half; the same import run again completes.
#[tokio::test]
async fn an_import_killed_half_way_leaves_the_old_data_whole() {
    let workspace = Workspace::new();
    let server = workspace.serve(&["--demo-rows", "200"]);
    let headers = workspace.demo_headers("more.hdr", 6000, 7);
    let db = workspace.connect("obsportal", "obsportal").await;
    let counts = || async {
        (
            count(&db, "SELECT count(*) FROM obsportal.header").await,
            count(&db, "SELECT count(*) FROM obsportal.exposures").await,
            count(&db, "SELECT count(*) FROM obsportal.baselines").await,
        )
    };
    let before = counts().await;
    let mut import = workspace.spawn_ingest(std::slice::from_ref(&headers));
    // Killed once its rows are in PostgreSQL and the set-based steps run.
    let mut writing = false;
    for _ in 0..600 {
        writing = count(&db, IMPORT_AT_WORK).await > 0;
        if writing || import.try_wait().unwrap().is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(writing, "the import was never seen applying its rows");
    import.kill().unwrap();
    import.wait().unwrap();
    // Its backend notices the broken connection and rolls back.
    let mut rolled_back = false;
    for _ in 0..100 {
        rolled_back = count(&db, IMPORT_AT_WORK).await == 0;
        if rolled_back {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        rolled_back,
        "the killed import's backend was still working after 10 s"
    );
    assert_eq!(
        counts().await,
        before,
        "nothing of the killed import is kept"
    );

    let summary = workspace.ingest_ok(&[headers]);
    let after = counts().await;
    assert!(after.1 > before.1 && after.2 > before.2, "{summary}");
    drop(server);
}

/// A COPY the database breaks off is reported as the database's error (not as the header
/// reader stopping, which is only its consequence), and the import keeps nothing.
#[tokio::test]
async fn an_import_the_database_cuts_off_reports_the_database_and_keeps_nothing() {
    let workspace = Workspace::new();
    let _server = workspace.serve(&["--demo-rows", "200"]);
    let headers = workspace.demo_headers("more.hdr", 6000, 8);
    let db = workspace.connect("postgres", "obsportal").await;
    let stored = "SELECT count(*) FROM obsportal.header";
    let before = count(&db, stored).await;
    let import = workspace
        .ingest_command(&[headers])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut cut_off = false;
    for _ in 0..1500 {
        cut_off = count(
            &db,
            "SELECT count(*) FROM pg_stat_activity
              WHERE state = 'active' AND query LIKE 'COPY staged_header%'
                AND pg_terminate_backend(pid)",
        )
        .await
            > 0;
        if cut_off {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(cut_off, "the import was never seen copying its headers");
    let output = import.wait_with_output().unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("error: database: "), "{stderr}");
    assert!(!stderr.contains("reader stopped"), "{stderr}");
    assert_eq!(count(&db, stored).await, before);
}
