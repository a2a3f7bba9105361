//! The embedded cluster's life: first start, restart, running as root, recovering from a
//! crash, and several servers on one database (DATABASE_URL).

mod support;

use std::fs;
use std::path::Path;
use std::time::Duration;

use nix::sys::signal::{kill, Signal};
use nix::unistd::{Pid, Uid};
use support::{count, get, wait_until, Server, Workspace, BINARY};

fn process_uid(pid: i32) -> u32 {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let line = status.lines().find(|l| l.starts_with("Uid:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

async fn available(server: &Server) -> bool {
    let (status, body) = get(&server.url("/tap/availability")).await;
    assert_eq!(status, 200);
    assert!(body.contains("VOSIAvailability"), "{body}");
    body.contains("<vosi:available>true</vosi:available>")
}

#[tokio::test]
async fn starts_restarts_and_keeps_its_data() {
    let workspace = Workspace::new();
    let server = workspace.serve(&["--demo-rows", "200"]);
    assert!(available(&server).await);
    let pid = workspace.postmaster_pid().expect("cluster running");
    if Uid::effective().is_root() {
        assert_ne!(process_uid(pid), 0, "PostgreSQL must not run as root");
    } else {
        assert_eq!(process_uid(pid), Uid::effective().as_raw());
    }
    let first_log = server.log();
    assert!(
        first_log.contains("initialising the embedded PostgreSQL cluster"),
        "{first_log}"
    );
    assert!(server.stop().success());
    assert!(
        workspace.postmaster_pid().is_none(),
        "SIGTERM stops the cluster too"
    );

    let server = workspace.serve(&["--demo-rows", "200"]);
    assert!(available(&server).await);
    let log = server.log();
    assert!(
        !log.contains("initialising"),
        "reused, not initialised again:\n{log}"
    );
    assert!(
        !log.contains("migration applied"),
        "nothing left to migrate:\n{log}"
    );
    assert!(
        !log.contains("generating demo headers"),
        "the demo data is still there:\n{log}"
    );
    let db = workspace.connect("obsportal", "obsportal").await;
    let exposures = count(&db, "SELECT count(*) FROM obsportal.exposures").await;
    assert_eq!(exposures, 200);
}

/// A start whose migration fails says which and why, and leaves no PostgreSQL running behind
/// it (it used to leave the cluster it had started). The failure is made as an operator could
/// meet it: a migration recorded as pending whose objects are already there (0016 creates an
/// index, and fails when it exists).
#[tokio::test]
async fn a_failed_migration_stops_the_cluster_it_started() {
    const MIGRATION: &str = "0016_crossmatch_zone_index";
    let workspace = Workspace::new();
    let server = workspace.serve(&[]);
    let db = workspace.connect("obsportal", "obsportal").await;
    let forgotten = db
        .execute(
            "DELETE FROM obsportal.schema_migration WHERE version = $1",
            &[&MIGRATION],
        )
        .await
        .unwrap();
    assert_eq!(forgotten, 1);
    drop(db);
    assert!(server.stop().success());

    let log = workspace.path().join("failed-start.log");
    let mut start = std::process::Command::new(BINARY)
        .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
        .arg(workspace.data_dir())
        .env_remove("DATABASE_URL")
        .stdout(std::process::Stdio::null())
        .stderr(fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let mut status = None;
    let ended = wait_until(Duration::from_secs(60), || {
        status = start.try_wait().unwrap();
        status.is_some()
    });
    if !ended {
        let _ = start.kill();
    }
    let stderr = fs::read_to_string(&log).unwrap();
    assert!(ended, "the start did not fail:\n{stderr}");
    assert!(!status.unwrap().success());
    assert!(
        stderr.contains(&format!("migration {MIGRATION} failed")),
        "{stderr}"
    );
    assert!(
        workspace.postmaster_pid().is_none(),
        "the cluster is stopped:\n{stderr}"
    );
}

#[tokio::test]
async fn recovers_from_a_stale_postmaster_pid_naming_another_process() {
    let workspace = Workspace::new();
    let server = workspace.serve(&[]);
    let pid_file = workspace.data_dir().join("pgdata/postmaster.pid");
    let real = fs::read_to_string(&pid_file).unwrap();
    let log = server.log();
    assert!(server.stop().success(), "{log}");
    // After a crash and a reboot, the recorded pid may belong to any process: here, this test.
    let mut lines: Vec<String> = real.lines().map(str::to_string).collect();
    lines[0] = std::process::id().to_string();
    fs::write(&pid_file, lines.join("\n") + "\n").unwrap();

    let server = workspace.serve(&[]);
    assert!(available(&server).await);
    assert!(
        server.log().contains("removing stale postmaster.pid"),
        "{}",
        server.log()
    );
}

#[tokio::test]
async fn recovers_after_the_server_and_postgres_are_killed() {
    let workspace = Workspace::new();
    let server = workspace.serve(&["--demo-rows", "100"]);
    let postmaster = workspace.postmaster_pid().unwrap();
    // A crash: the postmaster dies without cleaning up; its backends notice and exit.
    kill(Pid::from_raw(postmaster), Signal::SIGKILL).unwrap();
    assert!(wait_until(Duration::from_secs(10), || !Path::new(
        &format!("/proc/{postmaster}")
    )
    .exists()));
    drop(server);
    std::thread::sleep(Duration::from_millis(500));

    let server = workspace.serve(&["--demo-rows", "100"]);
    assert!(available(&server).await);
    let db = workspace.connect("obsportal", "obsportal").await;
    let exposures = count(&db, "SELECT count(*) FROM obsportal.exposures").await;
    assert_eq!(exposures, 100, "committed data survives the crash");
}

/// Creates a database with pg_sphere in the workspace's running cluster, owned by obsportal.
async fn create_database(workspace: &Workspace, name: &str) -> String {
    let admin = workspace.connect("postgres", "postgres").await;
    admin
        .batch_execute(&format!("CREATE DATABASE {name} OWNER obsportal"))
        .await
        .unwrap();
    let admin = workspace.connect("postgres", name).await;
    admin
        .batch_execute("CREATE EXTENSION pg_sphere")
        .await
        .unwrap();
    workspace.connection_string("obsportal", name)
}

fn serve_database(url: &str) -> Server {
    let mut command = std::process::Command::new(BINARY);
    command.arg("serve").env("DATABASE_URL", url);
    Server::start(command, &[])
}

#[tokio::test]
async fn two_servers_starting_on_one_database_migrate_it_once() {
    let workspace = Workspace::new();
    let _holder = workspace.serve(&[]);
    let url = create_database(&workspace, "shared_by_two").await;

    let (first, second) = std::thread::scope(|scope| {
        let first = scope.spawn(|| serve_database(&url));
        let second = scope.spawn(|| serve_database(&url));
        (first.join().unwrap(), second.join().unwrap())
    });
    assert!(available(&first).await && available(&second).await);
    let applied_by =
        [&first, &second].map(|server| server.log().matches("migration applied").count());
    let migrations = fs::read_dir(Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations"))
        .unwrap()
        .count();
    assert!(
        applied_by == [migrations, 0] || applied_by == [0, migrations],
        "one server applies every migration, the other none: {applied_by:?}"
    );
    let db = workspace.connect("obsportal", "shared_by_two").await;
    let recorded = count(&db, "SELECT count(*) FROM obsportal.schema_migration").await;
    assert_eq!(recorded as usize, migrations);
}

#[tokio::test]
async fn availability_says_no_when_the_database_is_gone() {
    let workspace = Workspace::new();
    let holder = workspace.serve(&[]);
    let url = create_database(&workspace, "soon_gone").await;
    let server = serve_database(&url);
    assert!(available(&server).await);
    // The holder is the last user of the embedded cluster: stopping it stops PostgreSQL.
    assert!(holder.stop().success());
    assert!(workspace.postmaster_pid().is_none());
    assert!(!available(&server).await);
}

#[tokio::test]
async fn an_import_beside_a_running_server_leaves_its_cluster_running() {
    let workspace = Workspace::new();
    let server = workspace.serve(&[]);
    let postmaster = workspace.postmaster_pid().unwrap();
    workspace.ingest_ok(&[support::header_file("fresh.hdr")]);
    assert_eq!(
        workspace.postmaster_pid(),
        Some(postmaster),
        "the import attached, and left it running"
    );
    assert!(available(&server).await);
}

#[test]
fn demo_data_is_deterministic_for_a_seed() {
    let workspace = Workspace::new();
    let write = |name: &str, seed: &str| {
        let path = workspace.path().join(name);
        let output = std::process::Command::new(BINARY)
            .args(["demo-data", "--exposures", "500", "--seed", seed, "--out"])
            .arg(&path)
            .output()
            .unwrap();
        assert!(output.status.success());
        let stdout = String::from_utf8(output.stdout).unwrap();
        assert!(stdout.contains("(500 exposures,"), "{stdout}");
        fs::read(path).unwrap()
    };
    let first = write("a.hdr", "3");
    assert_eq!(first, write("b.hdr", "3"));
    assert_ne!(first, write("c.hdr", "4"));
}

#[test]
fn a_data_directory_only_its_owner_can_reach() {
    let workspace = Workspace::new();
    fs::set_permissions(
        workspace.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o700),
    )
    .unwrap();
    let output = workspace.ingest(&[support::header_file("fresh.hdr")]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    if Uid::effective().is_root() {
        // PostgreSQL runs as `postgres`, which cannot enter root's private directory.
        assert!(!output.status.success());
        assert!(stderr.contains("which cannot reach"), "{stderr}");
    } else {
        // PostgreSQL runs as the caller, who can.
        assert!(output.status.success(), "{stderr}");
    }
}

/// `obsportal serve` on the workspace with `demo_rows`, its output thrown away: for tests that
/// stop it before it is ready.
fn start_quietly(workspace: &Workspace, demo_rows: u64) -> std::process::Child {
    std::process::Command::new(BINARY)
        .args(["serve", "--listen", "127.0.0.1:0", "--demo-rows"])
        .arg(demo_rows.to_string())
        .arg("--data-dir")
        .arg(workspace.data_dir())
        .env_remove("DATABASE_URL")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap()
}

/// SIGTERM while a large demo load is under way stops the server within seconds (it used to
/// wait for the whole load: minutes, and Kubernetes would SIGKILL it), and nothing of the load
/// is kept: the next start finds an empty database.
#[tokio::test]
async fn a_stop_during_the_demo_load_is_prompt_and_keeps_nothing() {
    let workspace = Workspace::new();
    let mut loading = start_quietly(&workspace, 400_000);
    // Well into the load: the headers are being copied into the import's transaction.
    assert!(wait_until(Duration::from_secs(60), || workspace
        .postmaster_pid()
        .is_some()));
    // The pid file comes before the socket and the owner role: try until they are there.
    let watcher = loop {
        let connection = workspace.connection_string("obsportal", "obsportal");
        match tokio_postgres::connect(&connection, tokio_postgres::NoTls).await {
            Ok((client, driver)) => {
                tokio::spawn(driver);
                break client;
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
        }
    };
    let copying = "SELECT count(*) FROM pg_stat_activity \
                   WHERE query LIKE 'COPY staged_header%' AND pid <> pg_backend_pid()";
    let started = std::time::Instant::now();
    while count(&watcher, copying).await == 0 {
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the import never started"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    drop(watcher);
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(loading.try_wait().unwrap().is_none(), "still loading");
    let asked = std::time::Instant::now();
    kill(Pid::from_raw(loading.id() as i32), Signal::SIGTERM).unwrap();
    let stopped = wait_until(Duration::from_secs(10), || {
        loading.try_wait().unwrap().is_some()
    });
    assert!(stopped, "still running 10 s after SIGTERM");
    assert!(loading.wait().unwrap().success());
    assert!(asked.elapsed() < Duration::from_secs(10));
    assert!(
        wait_until(Duration::from_secs(10), || workspace
            .postmaster_pid()
            .is_none()),
        "the cluster stopped with it"
    );
    let server = workspace.serve(&[]);
    let db = workspace.connect("obsportal", "obsportal").await;
    assert_eq!(
        count(&db, "SELECT count(*) FROM obsportal.exposure").await,
        0
    );
    assert_eq!(count(&db, "SELECT count(*) FROM obsportal.header").await, 0);
    drop(server);
}

/// SIGTERM at any moment of a first start (creating the cluster, starting it, migrating):
/// the server stops within 10 s, and the next start on the same data directory comes up.
#[tokio::test]
async fn a_stop_at_any_moment_of_the_first_start_is_prompt_and_leaves_a_usable_directory() {
    for after_ms in [150, 700, 1500, 3000] {
        let workspace = Workspace::new();
        let mut starting = start_quietly(&workspace, 300);
        std::thread::sleep(Duration::from_millis(after_ms));
        let asked = std::time::Instant::now();
        kill(Pid::from_raw(starting.id() as i32), Signal::SIGTERM).unwrap();
        let stopped = wait_until(Duration::from_secs(10), || {
            starting.try_wait().unwrap().is_some()
        });
        assert!(
            stopped,
            "still running 10 s after a SIGTERM {after_ms} ms into the start"
        );
        eprintln!(
            "SIGTERM {after_ms} ms into the first start: stopped in {:?}",
            asked.elapsed()
        );
        assert!(
            wait_until(Duration::from_secs(10), || workspace
                .postmaster_pid()
                .is_none()),
            "the cluster stopped with it"
        );
        let server = workspace.serve(&["--demo-rows", "300"]);
        assert!(available(&server).await, "after a stop {after_ms} ms in");
        let db = workspace.connect("obsportal", "obsportal").await;
        assert_eq!(
            count(&db, "SELECT count(*) FROM obsportal.exposures").await,
            300
        );
    }
}
