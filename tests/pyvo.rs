//! pyvo scenarios (conformance/pyvo, pytest) against a real server: search, table browsing,
//! overflow warning, error messages, BINARY2; async jobs: run_async, submit/wait/fetch/delete, a
//! bad query ending in ERROR, ABORT; uploads: a crossmatch sync and async, VOTable TABLEDATA,
//! BINARY, BINARY2, a malformed CSV.

mod support;

use std::process::Command;

use support::serve_test_headers;

#[tokio::test]
async fn pyvo_scenarios_pass() {
    let (_workspace, server) = serve_test_headers();
    let url = server.url("/tap");
    let directory = concat!(env!("CARGO_MANIFEST_DIR"), "/conformance/pyvo");
    let output = tokio::task::spawn_blocking(move || {
        Command::new("python3")
            .args(["-m", "pytest", "-q", "-p", "no:cacheprovider", directory])
            .env("OBSPORTAL_TAP_URL", url)
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
    assert!(report.contains("14 passed"), "{report}");
}
