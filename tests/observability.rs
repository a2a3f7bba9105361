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
