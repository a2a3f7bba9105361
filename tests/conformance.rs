//! The validator TAP clients trust: `stilts taplint` against a real server with demo data.
//! The stages run, and those not run yet, are listed in conformance/README.md.

mod support;

use std::process::Command;

use support::Workspace;

const STAGES: &str = "TMV TME TMS TMC CPV CAP AVV QGE QPO MDQ OBS EXA QAS UWS UPL";

#[tokio::test]
async fn taplint_reports_no_error_warning_or_failure() {
    let workspace = Workspace::new();
    let server = workspace.serve(&["--demo-rows", "300"]);
    let url = server.url("/tap");
    let output = tokio::task::spawn_blocking(move || {
        Command::new("stilts")
            .args([
                "taplint",
                &format!("tapurl={url}"),
                &format!("stages={STAGES}"),
                "maxrepeat=3",
            ])
            .output()
            .expect("stilts is installed (scripts/install-prerequisites test)")
    })
    .await
    .unwrap();
    let report = String::from_utf8_lossy(&output.stdout);
    let totals = report
        .lines()
        .find(|l| l.starts_with("Totals:"))
        .unwrap_or_else(|| panic!("no totals:\n{report}"));
    let problems: Vec<&str> = report
        .lines()
        .filter(|l| l.starts_with("E-") || l.starts_with("W-") || l.starts_with("F-"))
        .collect();
    assert!(
        totals.contains("Errors: 0; Warnings: 0;") && totals.contains("Failures: 0"),
        "{totals}\n{}",
        problems.join("\n")
    );
    // It really ran queries through the service.
    let queries = report
        .lines()
        .filter(|l| l.contains("Successful/submitted TAP queries"))
        .count();
    assert!(queries >= 3, "{report}");
}
