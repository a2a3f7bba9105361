//! An orchestrator's view of a starting server: the port answers from the first second, alive
//! but not ready, VOSI availability saying what the server is doing, every other request a 503
//! with Retry-After; once started, ready.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use support::{get, Workspace, BINARY};

#[tokio::test]
async fn the_port_answers_while_the_server_starts_and_is_ready_after() {
    let workspace = Workspace::new();
    // Enough demo data that loading it takes a few seconds.
    let mut child = Command::new(BINARY)
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--demo-rows",
            "5000",
            "--data-dir",
        ])
        .arg(workspace.data_dir())
        .env_remove("DATABASE_URL")
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    let base = first
        .strip_prefix("obsportal starting on ")
        .and_then(|rest| rest.split('/').take(3).collect::<Vec<_>>().join("/").into())
        .unwrap_or_else(|| panic!("{first}"));
    let url = |path: &str| format!("{base}{path}");

    let (status, body) = get(&url("/healthz")).await;
    assert_eq!((status, body.trim()), (200, "alive"));
    let (status, body) = get(&url("/readyz")).await;
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("starting"), "{body}");
    let (status, body) = get(&url("/tap/availability")).await;
    assert_eq!(status, 200);
    assert!(
        body.contains("<vosi:available>false</vosi:available>") && body.contains("starting: "),
        "{body}"
    );
    let response = reqwest::get(url("/search.votable?ra=10&dec=10"))
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 503);
    assert_eq!(response.headers()["retry-after"], "5");

    // Started: ready, and the service answers on the same port.
    let ready = tokio::task::spawn_blocking(move || {
        lines.find_map(|line| {
            line.ok()
                .filter(|line| line.starts_with("obsportal listening on "))
        })
    })
    .await
    .unwrap()
    .expect("the server started");
    assert!(
        ready.contains(base.trim_start_matches("http://")),
        "{ready} vs {base}"
    );
    let (status, body) = get(&url("/readyz")).await;
    assert_eq!((status, body.trim()), (200, "ready"));
    let (_, body) = get(&url("/tap/availability")).await;
    assert!(
        body.contains("<vosi:available>true</vosi:available>"),
        "{body}"
    );
    let (status, _) = get(&url("/search.votable?ra=10&dec=10")).await;
    assert_eq!(status, 200);
    let _ = nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    );
    assert!(child.wait().unwrap().success());
}
