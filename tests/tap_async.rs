//! `/tap/async` over real HTTP: jobs that wake their waiters at once, ABORT that stops the
//! query in PostgreSQL, jobs that survive a restart, a SIGKILL and a second server on the same
//! database, the sweeper, ownership through the operator's header, and the job list's
//! filters. (pyvo's and taplint's runs are in pyvo.rs and conformance.rs.)

mod support;

use std::time::{Duration, Instant};

use support::{count, Server, Workspace};

/// Five copies of TAP_SCHEMA.columns crossed: runs for minutes.
const SLOW_QUERY: &str = "SELECT COUNT(*) FROM TAP_SCHEMA.columns AS a, TAP_SCHEMA.columns AS b, \
    TAP_SCHEMA.columns AS c, TAP_SCHEMA.columns AS d, TAP_SCHEMA.columns AS e";

const RUNNING_SLOW_QUERY: &str = "SELECT count(*) FROM pg_stat_activity \
    WHERE state = 'active' AND query LIKE '%TAP_SCHEMA%columns%' AND pid <> pg_backend_pid()";

fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Creates a job; returns its URL (the 303's Location).
async fn create(server: &Server, form: &[(&str, &str)], user: Option<&str>) -> String {
    let mut request = client().post(server.url("/tap/async")).form(form);
    if let Some(user) = user {
        request = request.header("X-User", user);
    }
    let response = request.send().await.unwrap();
    assert_eq!(response.status().as_u16(), 303);
    let location = response.headers()["location"].to_str().unwrap().to_string();
    assert!(
        location.starts_with(&server.url("/tap/async/")),
        "{location}"
    );
    location
}

/// GET with an optional user, returning status and body.
async fn read(url: &str, user: Option<&str>) -> (u16, String) {
    let mut request = client().get(url);
    if let Some(user) = user {
        request = request.header("X-User", user);
    }
    let response = request.send().await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

async fn phase(job: &str) -> String {
    read(&format!("{job}/phase"), None).await.1
}

async fn wait_for_phase(job: &str, wanted: &str, limit: Duration) {
    let started = Instant::now();
    loop {
        let now = phase(job).await;
        if now == wanted {
            return;
        }
        assert!(
            started.elapsed() < limit,
            "{job} stayed {now}, not {wanted}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn post(url: &str, form: &[(&str, &str)]) -> u16 {
    client()
        .post(url)
        .form(form)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test]
async fn a_waiting_client_hears_of_a_change_at_once_and_abort_stops_the_query() {
    let workspace = Workspace::new();
    let server = workspace.serve(&[]);
    let owner = workspace.connect("obsportal", "obsportal").await;
    let job = create(&server, &[("LANG", "ADQL"), ("QUERY", SLOW_QUERY)], None).await;
    let activity = "SELECT string_agg(pid || ' ' || state || ' ' || left(query, 60), E'\n') FROM pg_stat_activity WHERE pid <> pg_backend_pid()";
    assert_eq!(phase(&job).await, "PENDING");

    // A blocking WAIT returns when the job leaves PENDING, not when its 30 s are up.
    let waiting = tokio::spawn({
        let url = format!("{job}?WAIT=30");
        async move {
            let started = Instant::now();
            let (_, body) = read(&url, None).await;
            (started.elapsed(), body)
        }
    });
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(
        post(&format!("{job}/phase"), &[("PHASE", "RUN")]).await,
        303
    );
    let (waited, body) = waiting.await.unwrap();
    assert!(waited < Duration::from_secs(5), "woke after {waited:?}");
    assert!(!body.contains("<uws:phase>PENDING</uws:phase>"), "{body}");
    // With PHASE, a WAIT in another phase than the one given returns at once.
    let started = Instant::now();
    read(&format!("{job}?WAIT=30&PHASE=PENDING"), None).await;
    assert!(started.elapsed() < Duration::from_secs(2));

    wait_for_phase(&job, "EXECUTING", Duration::from_secs(10)).await;
    let seen = tokio::time::timeout(Duration::from_secs(10), async {
        while count(&owner, RUNNING_SLOW_QUERY).await == 0 {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await;
    assert!(seen.is_ok(), "the job's query never ran");
    assert_eq!(post(&job, &[("PHASE", "ABORT")]).await, 303);
    assert_eq!(phase(&job).await, "ABORTED");
    let aborted = Instant::now();
    while count(&owner, RUNNING_SLOW_QUERY).await > 0 {
        // Seconds, not the minutes the query would run: the other tests load the CPUs.
        if aborted.elapsed() > Duration::from_secs(5) {
            let seen: Option<String> = owner.query_one(activity, &[]).await.unwrap().get(0);
            panic!(
                "PostgreSQL still runs the aborted job's query\n{seen:?}\n{}",
                server.log()
            );
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Deleted: gone, with a redirect to the job list.
    assert_eq!(post(&job, &[("ACTION", "DELETE")]).await, 303);
    assert_eq!(read(&job, None).await.0, 404);
}

#[tokio::test]
async fn jobs_survive_a_restart_a_crash_and_are_shared_by_two_servers() {
    let workspace = Workspace::new();
    let lease = ["--job-lease", "2"];
    let first = workspace.serve(&lease);
    let second = workspace.serve(&lease);
    let owner = workspace.connect("obsportal", "obsportal").await;
    let worker_of = |job: &str| {
        let id = job.rsplit('/').next().unwrap().to_string();
        let owner = &owner;
        async move {
            owner
                .query_one(
                    "SELECT worker, attempts FROM obsportal.job WHERE id = $1",
                    &[&id],
                )
                .await
                .map(|row| (row.get::<_, Option<String>>(0), row.get::<_, i32>(1)))
                .unwrap()
        }
    };

    // Created on one, run by either, read on both.
    let quick = create(
        &first,
        &[
            ("LANG", "ADQL"),
            ("QUERY", "SELECT TOP 1 table_name FROM TAP_SCHEMA.tables"),
            ("PHASE", "RUN"),
        ],
        None,
    )
    .await;
    wait_for_phase(&quick, "COMPLETED", Duration::from_secs(10)).await;
    let on_second = quick.replace(&first.base_url, &second.base_url);
    let (status, result) = read(&format!("{on_second}/results/result"), None).await;
    assert_eq!(status, 200);
    assert!(
        result.contains("<TABLEDATA>") && result.contains("QUERY_STATUS"),
        "{result}"
    );

    // A slow job; its server is stopped: the job goes back to the queue at once, and the other
    // server runs it.
    let slow = create(
        &first,
        &[("LANG", "ADQL"), ("QUERY", SLOW_QUERY), ("PHASE", "RUN")],
        None,
    )
    .await;
    let slow = slow.replace(&first.base_url, &second.base_url);
    wait_for_phase(&slow, "EXECUTING", Duration::from_secs(10)).await;
    let (running_on, _) = worker_of(&slow).await;
    let (stopped, survivor) = if running_on
        .as_deref()
        .unwrap()
        .starts_with(&format!("{}-", pid_of(&first)))
    {
        (first, second)
    } else {
        (second, first)
    };
    let slow = slow.replace(&stopped.base_url, &survivor.base_url);
    stopped.stop();
    let started = Instant::now();
    loop {
        let (worker, _) = worker_of(&slow).await;
        if worker.is_some_and(|w| w.starts_with(&format!("{}-", pid_of(&survivor)))) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the job was not run again"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(phase(&slow).await, "EXECUTING");

    // The survivor is killed: nobody renews the lease; a server started afterwards takes the
    // job back when it runs out and runs it again. Killed too, the job's second server death
    // ends it in ERROR, saying why, rather than letting it kill every server in turn.
    let survivor_url = survivor.base_url.clone();
    survivor.kill();
    let restarted = workspace.serve(&lease);
    let slow = slow.replace(&survivor_url, &restarted.base_url);
    let started = Instant::now();
    loop {
        let (worker, attempts) = worker_of(&slow).await;
        if worker.is_some_and(|w| w.starts_with(&format!("{}-", pid_of(&restarted)))) {
            assert_eq!(
                attempts, 2,
                "the attempt cut short by a clean stop is not counted"
            );
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "the job was not taken back"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let restarted_url = restarted.base_url.clone();
    restarted.kill();
    let last = workspace.serve(&lease);
    let slow = slow.replace(&restarted_url, &last.base_url);
    let started = Instant::now();
    loop {
        let now = phase(&slow).await;
        if now == "ERROR" {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(15), "still {now}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let (_, document) = read(&slow, None).await;
    assert!(
        document.contains("stopped 2 times before it ended"),
        "{document}"
    );
}

/// The pid a server runs as: workers are named after it.
fn pid_of(server: &Server) -> u32 {
    server.pid()
}

#[tokio::test]
async fn the_sweeper_removes_jobs_past_their_destruction() {
    let workspace = Workspace::new();
    let server = workspace.serve(&["--job-lease", "1"]);
    let soon = (chrono::Utc::now() + chrono::Duration::seconds(1))
        .format("%Y-%m-%dT%H:%M:%S%.3fZ")
        .to_string();
    let job = create(
        &server,
        &[
            ("LANG", "ADQL"),
            ("QUERY", "SELECT TOP 1 table_name FROM TAP_SCHEMA.tables"),
            ("PHASE", "RUN"),
            ("DESTRUCTION", &soon),
        ],
        None,
    )
    .await;
    let (_, document) = read(&job, None).await;
    assert!(
        document.contains(&format!("<uws:destruction>{soon}</uws:destruction>")),
        "{document}"
    );
    let started = Instant::now();
    while read(&job, None).await.0 != 404 {
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "the job outlived its destruction"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let owner = workspace.connect("obsportal", "obsportal").await;
    assert_eq!(
        count(&owner, "SELECT count(*) FROM obsportal.job_result").await,
        0
    );
}

#[tokio::test]
async fn jobs_belong_to_the_user_the_proxy_names_and_the_list_filters() {
    let workspace = Workspace::new();
    let server = workspace.serve(&["--user-header", "X-User"]);
    let quick = [
        ("LANG", "ADQL"),
        ("QUERY", "SELECT TOP 1 table_name FROM TAP_SCHEMA.tables"),
    ];
    let mut alices = Vec::new();
    for _ in 0..3 {
        alices.push(create(&server, &quick, Some("alice")).await);
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let mut running = quick.to_vec();
    running.push(("PHASE", "RUN"));
    let bobs = create(&server, &running, Some("bob")).await;
    let anonymous = create(&server, &quick, None).await;

    // An owned job is its owner's alone; an anonymous one anyone's who holds its id.
    assert_eq!(read(&alices[0], Some("alice")).await.0, 200);
    assert_eq!(read(&alices[0], Some("bob")).await.0, 404);
    assert_eq!(read(&alices[0], None).await.0, 404);
    assert_eq!(read(&anonymous, None).await.0, 200);
    let (_, document) = read(&bobs, Some("bob")).await;
    assert!(
        document.contains("<uws:ownerId>bob</uws:ownerId>"),
        "{document}"
    );

    let ids = |body: &str| -> Vec<String> {
        body.split("<uws:jobref id=\"")
            .skip(1)
            .map(|rest| rest.split('"').next().unwrap().to_string())
            .collect()
    };
    let id = |url: &String| url.rsplit('/').next().unwrap().to_string();
    let list = server.url("/tap/async");
    let (_, mine) = read(&list, Some("alice")).await;
    assert_eq!(
        ids(&mine),
        alices.iter().rev().map(id).collect::<Vec<_>>(),
        "newest first"
    );
    let (_, last) = read(&format!("{list}?LAST=2"), Some("alice")).await;
    assert_eq!(ids(&last).len(), 2);
    let (_, pending) = read(&format!("{list}?PHASE=PENDING&PHASE=QUEUED"), Some("alice")).await;
    assert_eq!(ids(&pending).len(), 3);
    let (_, completed) = read(&format!("{list}?PHASE=COMPLETED"), Some("alice")).await;
    assert!(ids(&completed).is_empty());
    let (_, document) = read(&alices[1], Some("alice")).await;
    let created = document
        .split("<uws:creationTime>")
        .nth(1)
        .and_then(|rest| rest.split('<').next())
        .unwrap()
        .to_string();
    let (_, after) = read(&format!("{list}?AFTER={created}"), Some("alice")).await;
    assert_eq!(ids(&after), vec![id(&alices[2])]);
    // An anonymous client's list is empty: anonymous jobs are protected by their ids alone.
    let (status, nobodys) = read(&list, None).await;
    assert_eq!(status, 200);
    assert!(ids(&nobodys).is_empty(), "{nobodys}");
    let (status, _) = read(&format!("{list}?PHASE=SLEEPING"), Some("alice")).await;
    assert_eq!(status, 400);
}
