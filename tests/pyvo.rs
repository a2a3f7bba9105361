//! pyvo scenarios (conformance/pyvo, pytest) against a real server: search, table browsing,
//! overflow warning, error messages, BINARY2; async jobs: run_async, submit/wait/fetch/delete, a
//! bad query ending in ERROR, ABORT; uploads: a crossmatch sync and async, VOTable TABLEDATA,
//! BINARY, BINARY2, a malformed CSV.

mod support;

use std::process::Command;

use support::{header_file, Workspace};

#[tokio::test]
async fn pyvo_scenarios_pass() {
    // Jobs belong to the user a proxy names: the scripts list their own jobs.
    let workspace = Workspace::new();
    let server = workspace.serve(&["--user-header", "X-Remote-User"]);
    for file in ["night.hdr", "alias.hdr", "fresh.hdr"] {
        workspace.ingest_ok(&[header_file(file)]);
    }
    let url = server.url("/tap");
    let directory = concat!(env!("CARGO_MANIFEST_DIR"), "/conformance/pyvo");
    let output = tokio::task::spawn_blocking(move || {
        Command::new("python3")
            .args(["-m", "pytest", "-q", "-p", "no:cacheprovider", directory])
            .env("OBSPORTAL_TAP_URL", url)
            .env("OBSPORTAL_USER_HEADER", "X-Remote-User")
            .output()
            .expect("python3 with pytest and pyvo (scripts/install-prerequisites test)")
    })
    .await
    .unwrap();
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{report}");
    assert!(report.contains("16 passed"), "{report}");
}
