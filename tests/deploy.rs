//! The container image and the Kubernetes manifests, checked as CI can without Docker or a
//! cluster: hadolint on the Dockerfile, kubernetes-validate (strict, against the Kubernetes
//! schemas) on every manifest, and what an operator relies on: replicas, probes on the real
//! endpoints, the database secrets, a non-root user, a replica for user queries.

use std::path::Path;
use std::process::Command;

fn project(path: &str) -> String {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(path)
        .to_string_lossy()
        .into_owned()
}

fn read(path: &str) -> String {
    std::fs::read_to_string(project(path)).unwrap()
}

#[test]
fn the_dockerfile_passes_hadolint_and_runs_the_readme_install_as_non_root() {
    let output = Command::new("hadolint")
        .arg(project("Dockerfile"))
        .output()
        .expect("hadolint (scripts/install-prerequisites test)");
    assert!(
        output.status.success(),
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let dockerfile = read("Dockerfile");
    assert!(dockerfile.contains("bash scripts/install-prerequisites"));
    assert!(dockerfile.contains("USER 10001"));
    assert!(dockerfile.contains("\"serve\", \"--listen\", \"0.0.0.0:8080\""));
}

#[test]
fn the_manifests_validate_and_say_what_an_operator_relies_on() {
    let manifests: Vec<String> = std::fs::read_dir(project("deploy"))
        .unwrap()
        .map(|entry| entry.unwrap().path().to_string_lossy().into_owned())
        .filter(|path| path.ends_with(".yaml"))
        .collect();
    assert!(manifests.len() >= 7, "{manifests:?}");
    let output = Command::new("kubernetes-validate")
        .arg("--strict")
        .args(&manifests)
        .output()
        .expect("kubernetes-validate (scripts/install-prerequisites test)");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(output.status.success(), "{report}");
    // Every resource validated against its schema, but the two kinds Kubernetes has none for:
    // Kustomize's own file and CloudNativePG's Cluster.
    let unchecked: Vec<&str> = report
        .lines()
        .filter(|line| line.contains("Couldn't find schema"))
        .collect();
    assert_eq!(unchecked.len(), 2, "{report}");
    assert!(unchecked.iter().any(|l| l.contains("kind Kustomization")));
    assert!(unchecked
        .iter()
        .any(|l| l.contains("kind Cluster with api version postgresql.cnpg.io/v1")));
    assert_eq!(
        report.matches(" passed for resource ").count(),
        manifests.len() - 2,
        "{report}"
    );

    let deployment = read("deploy/deployment.yaml");
    assert!(deployment.contains("replicas: 2"));
    assert!(deployment.contains("path: /readyz") && deployment.contains("path: /healthz"));
    assert!(deployment.contains("runAsNonRoot: true"));
    let secret = read("deploy/secret.yaml");
    assert!(secret.contains("DATABASE_URL:") && secret.contains("OBSPORTAL_READER_DATABASE_URL:"));
    assert!(
        secret.contains("obsportal-db-ro"),
        "user queries on the replica's service"
    );
    let postgres = read("deploy/postgres.yaml");
    assert!(
        postgres.contains("instances: 2")
            && postgres.contains("CREATE EXTENSION IF NOT EXISTS pg_sphere")
    );
    let cronjob = read("deploy/harvest-cronjob.yaml");
    assert!(
        cronjob.contains("args: [\"harvest\", \"eso\"]")
            && cronjob.contains("concurrencyPolicy: Forbid")
    );
    let kustomization = read("deploy/kustomization.yaml");
    for manifest in &manifests {
        let name = Path::new(manifest).file_name().unwrap().to_string_lossy();
        if name != "kustomization.yaml" {
            assert!(
                kustomization.contains(&format!("- {name}")),
                "{name} not in the kustomization"
            );
        }
    }
}
