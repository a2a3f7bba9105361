//! What the integration tests share: a data directory of their own (so an embedded cluster of
//! their own), the real `obsportal` binary, and guards that stop every process a test started,
//! even when the test fails.
#![allow(dead_code, unreachable_pub)] // each test binary uses a different part

use std::fs;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use tempfile::TempDir;

pub const BINARY: &str = env!("CARGO_BIN_EXE_obsportal");

/// A server on a fresh workspace holding the hand-written headers, imported in three separate
/// imports (night, alias, fresh) as an operator would, in that order.
pub fn serve_test_headers() -> (Workspace, Server) {
    let workspace = Workspace::new();
    let server = workspace.serve(&[]);
    for file in ["night.hdr", "alias.hdr", "fresh.hdr"] {
        workspace.ingest_ok(&[header_file(file)]);
    }
    (workspace, server)
}

/// The hand-written headers under `tests/data/headers`.
pub fn header_file(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/headers")
        .join(name)
}

/// A data directory for one test. Dropping it stops any cluster still running in it.
pub struct Workspace {
    dir: TempDir,
}

impl Workspace {
    pub fn new() -> Self {
        let dir = tempfile::Builder::new()
            .prefix("obsportal-test-")
            .tempdir_in("/tmp")
            .unwrap();
        // The cluster may run as another OS user (tests run as root in CI): let it in.
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
        Workspace { dir }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// `obsportal ingest --data-dir <this> paths...`, to completion.
    pub fn ingest(&self, paths: &[PathBuf]) -> Output {
        self.ingest_command(paths).output().unwrap()
    }

    pub fn ingest_command(&self, paths: &[PathBuf]) -> Command {
        let mut command = Command::new(BINARY);
        command
            .arg("ingest")
            .arg("--data-dir")
            .arg(self.data_dir())
            .args(paths)
            .env_remove("DATABASE_URL");
        command
    }

    /// Like `ingest`, but the import must succeed; returns its summary (standard output).
    pub fn ingest_ok(&self, paths: &[PathBuf]) -> String {
        let output = self.ingest(paths);
        assert!(
            output.status.success(),
            "ingest failed:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        String::from_utf8(output.stdout).unwrap()
    }

    /// `obsportal demo-data`: `exposures` demo exposures written as headers to `name` here.
    pub fn demo_headers(&self, name: &str, exposures: u64, seed: u64) -> PathBuf {
        let path = self.path().join(name);
        let written = Command::new(BINARY)
            .args(["demo-data", "--exposures", &exposures.to_string()])
            .args(["--seed", &seed.to_string(), "--out"])
            .arg(&path)
            .output()
            .unwrap();
        assert!(written.status.success(), "{written:?}");
        path
    }

    /// `obsportal ingest --data-dir <this> paths...` started in the background, quietly.
    pub fn spawn_ingest(&self, paths: &[PathBuf]) -> Child {
        self.ingest_command(paths)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    }

    /// `obsportal serve` on a free port of this data directory.
    pub fn serve(&self, extra: &[&str]) -> Server {
        let mut command = Command::new(BINARY);
        command
            .arg("serve")
            .arg("--data-dir")
            .arg(self.data_dir())
            .env_remove("DATABASE_URL");
        Server::start(command, extra)
    }

    /// The postmaster's pid, when the embedded cluster is running.
    pub fn postmaster_pid(&self) -> Option<i32> {
        let text = fs::read_to_string(self.data_dir().join("pgdata/postmaster.pid")).ok()?;
        let pid: i32 = text.lines().next()?.trim().parse().ok()?;
        Path::new(&format!("/proc/{pid}")).exists().then_some(pid)
    }

    /// A connection string for a database of this workspace's running cluster.
    pub fn connection_string(&self, user: &str, dbname: &str) -> String {
        let text = fs::read_to_string(self.data_dir().join("pgdata/postmaster.pid")).unwrap();
        let port = text.lines().nth(3).unwrap().trim();
        format!(
            "host={} port={port} user={user} dbname={dbname}",
            self.data_dir().join("run").display()
        )
    }

    pub async fn connect(&self, user: &str, dbname: &str) -> tokio_postgres::Client {
        let (client, connection) =
            tokio_postgres::connect(&self.connection_string(user, dbname), tokio_postgres::NoTls)
                .await
                .unwrap();
        tokio::spawn(connection);
        client
    }
}

impl Drop for Workspace {
    fn drop(&mut self) {
        if let Some(pid) = self.postmaster_pid() {
            // Immediate shutdown: the test is over, nothing needs to be kept.
            let _ = kill(Pid::from_raw(pid), Signal::SIGQUIT);
            wait_until(Duration::from_secs(10), || {
                !Path::new(&format!("/proc/{pid}")).exists()
            });
        }
    }
}

/// A running `obsportal serve`; stopped with SIGTERM (or killed) when dropped.
pub struct Server {
    child: Option<Child>,
    pub base_url: String,
    stderr_log: PathBuf,
}

impl Server {
    pub fn start(mut command: Command, extra: &[&str]) -> Server {
        let stderr_log =
            std::env::temp_dir().join(format!("obsportal-serve-{}.log", rand_suffix()));
        let mut child = command
            .args(["--listen", "127.0.0.1:0"])
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(fs::File::create(&stderr_log).unwrap())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let mut lines = BufReader::new(stdout).lines();
        let base_url = loop {
            match lines.next() {
                Some(Ok(line)) => {
                    if let Some(url) = line.strip_prefix("obsportal listening on ") {
                        break url.trim_end_matches('/').to_string();
                    }
                }
                _ => {
                    let _ = child.wait();
                    panic!(
                        "server exited before listening:\n{}",
                        fs::read_to_string(&stderr_log).unwrap_or_default()
                    );
                }
            }
        };
        Server {
            child: Some(child),
            base_url,
            stderr_log,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base_url)
    }

    /// The server's process id.
    pub fn pid(&self) -> u32 {
        self.child.as_ref().expect("running").id()
    }

    pub fn log(&self) -> String {
        fs::read_to_string(&self.stderr_log).unwrap_or_default()
    }

    /// SIGTERM and wait: the server shuts down and stops its cluster.
    pub fn stop(mut self) -> std::process::ExitStatus {
        self.terminate().expect("server was running")
    }

    /// SIGKILL, as a crash or the OOM killer would: nothing is cleaned up.
    pub fn kill(mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn terminate(&mut self) -> Option<std::process::ExitStatus> {
        let mut child = self.child.take()?;
        let _ = kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                return Some(status);
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                return child.wait().ok();
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.terminate();
        let _ = fs::remove_file(&self.stderr_log);
    }
}

pub fn wait_until(limit: Duration, mut done: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if done() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    done()
}

fn rand_suffix() -> String {
    format!("{}-{:?}", std::process::id(), Instant::now())
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect()
}

/// The single bigint a query returns, e.g. a `count(*)`.
/// The (ra, dec) pairs a query returns.
pub async fn positions(db: &tokio_postgres::Client, sql: &str) -> Vec<(f64, f64)> {
    db.query(sql, &[])
        .await
        .unwrap()
        .iter()
        .map(|row| (row.get(0), row.get(1)))
        .collect()
}

pub async fn count(db: &tokio_postgres::Client, sql: &str) -> i64 {
    db.query_one(sql, &[]).await.unwrap().get(0)
}

/// The plan PostgreSQL makes for a query as a surface sends it (its SQL and its parameters,
/// typed as the surface types them), one line per node; `options` as EXPLAIN takes them
/// (`(ANALYZE)` runs the query).
pub async fn explain(
    db: &tokio_postgres::Client,
    options: &str,
    query: &obsportal::results::ResultQuery,
) -> Vec<String> {
    let statement = db
        .prepare_typed(
            &format!("EXPLAIN {options} {}", query.sql),
            &query.parameter_types,
        )
        .await
        .unwrap_or_else(|error| panic!("{error}: {}", query.sql));
    let parameters = obsportal::results::as_sql_parameters(&query.parameters);
    db.query(&statement, &parameters)
        .await
        .unwrap()
        .iter()
        .map(|row| row.get(0))
        .collect()
}

/// Whether a plan sorts every row it finds (a Sort node; an Incremental Sort on a presorted
/// key only orders rows of equal keys).
pub fn sorts_everything(plan: &[String]) -> bool {
    plan.iter().any(|line| {
        line.trim_start()
            .trim_start_matches("->  ")
            .starts_with("Sort  (")
    })
}

/// GET, returning status and body.
pub async fn get(url: &str) -> (u16, String) {
    let response = reqwest::get(url).await.unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

/// A VOTable answer, read back element by element.
#[derive(Debug, Default)]
pub struct VoTable {
    /// Attributes of each FIELD, in order.
    pub fields: Vec<std::collections::BTreeMap<String, String>>,
    /// PARAM name -> value.
    pub params: std::collections::BTreeMap<String, String>,
    /// INFO (name, value, content), in document order, with where they stood.
    pub infos: Vec<(String, String, String)>,
    /// Cell text by row; an empty TD is "".
    pub rows: Vec<Vec<String>>,
    /// Whether an INFO came after the TABLE.
    pub info_after_table: bool,
}

impl VoTable {
    /// Reads a document that must be well-formed XML 1.0 (characters included: roxmltree is
    /// strict where quick-xml is lenient).
    pub fn parse(text: &str) -> VoTable {
        if let Err(error) = roxmltree::Document::parse(text) {
            panic!("not well-formed XML ({error}):\n{text}");
        }
        use quick_xml::events::Event;
        let mut reader = quick_xml::Reader::from_str(text);
        let mut table = VoTable::default();
        let mut cell: Option<String> = None;
        let mut info: Option<(String, String, String)> = None;
        let mut table_closed = false;
        let attributes = |element: &quick_xml::events::BytesStart| -> std::collections::BTreeMap<String, String> {
            element
                .attributes()
                .map(|a| {
                    let a = a.unwrap();
                    (
                        String::from_utf8(a.key.as_ref().to_vec()).unwrap(),
                        a.unescape_value().unwrap().into_owned(),
                    )
                })
                .collect()
        };
        loop {
            match reader.read_event().unwrap() {
                Event::Eof => break,
                Event::Start(e) | Event::Empty(e)
                    if e.name().as_ref() == b"FIELD" && table.rows.is_empty() && cell.is_none() =>
                {
                    table.fields.push(attributes(&e));
                }
                Event::Empty(e) if e.name().as_ref() == b"PARAM" => {
                    let a = attributes(&e);
                    table.params.insert(a["name"].clone(), a["value"].clone());
                }
                Event::Empty(e) if e.name().as_ref() == b"INFO" => {
                    let a = attributes(&e);
                    table.info_after_table |= table_closed;
                    table
                        .infos
                        .push((a["name"].clone(), a["value"].clone(), String::new()));
                }
                Event::Start(e) if e.name().as_ref() == b"INFO" => {
                    let a = attributes(&e);
                    info = Some((a["name"].clone(), a["value"].clone(), String::new()));
                }
                Event::End(e) if e.name().as_ref() == b"INFO" => {
                    table.info_after_table |= table_closed;
                    table.infos.push(info.take().unwrap());
                }
                Event::Start(e) if e.name().as_ref() == b"TR" => table.rows.push(Vec::new()),
                Event::Start(e) if e.name().as_ref() == b"TD" => cell = Some(String::new()),
                Event::Empty(e) if e.name().as_ref() == b"TD" => {
                    table.rows.last_mut().unwrap().push(String::new())
                }
                Event::Text(t) => {
                    let text = t.unescape().unwrap().into_owned();
                    if let Some(cell) = cell.as_mut() {
                        cell.push_str(&text);
                    } else if let Some(info) = info.as_mut() {
                        info.2.push_str(&text);
                    }
                }
                Event::End(e) if e.name().as_ref() == b"TD" => {
                    table.rows.last_mut().unwrap().push(cell.take().unwrap())
                }
                Event::End(e) if e.name().as_ref() == b"TABLE" => table_closed = true,
                _ => {}
            }
        }
        table
    }

    pub fn field_names(&self) -> Vec<&str> {
        self.fields.iter().map(|f| f["name"].as_str()).collect()
    }

    /// The last QUERY_STATUS INFO as (value, text): the one after the table when there is one.
    pub fn query_status(&self) -> (&str, &str) {
        self.infos
            .iter()
            .rev()
            .find(|info| info.0 == "QUERY_STATUS")
            .map(|info| (info.1.as_str(), info.2.as_str()))
            .expect("a QUERY_STATUS INFO")
    }

    /// The cells of one column, by FIELD name.
    pub fn column(&self, name: &str) -> Vec<&str> {
        let index = self
            .field_names()
            .iter()
            .position(|n| *n == name)
            .unwrap_or_else(|| panic!("no FIELD {name}"));
        self.rows.iter().map(|row| row[index].as_str()).collect()
    }
}

/// POST a form, returning status, content type and body.
pub async fn post_form(url: &str, form: &[(&str, &str)]) -> (u16, String, String) {
    let body: String = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(form)
        .finish();
    post(url, "application/x-www-form-urlencoded", body).await
}

/// POSTs `body` as `content_type`: status, response content type and text.
pub async fn post(url: &str, content_type: &str, body: String) -> (u16, String, String) {
    let response = reqwest::Client::new()
        .post(url)
        .header("content-type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    read_answer(response).await
}

/// An answer's status, content type and text.
pub async fn read_answer(response: reqwest::Response) -> (u16, String, String) {
    let status = response.status().as_u16();
    let content_type = response
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (
        status,
        content_type,
        response.text().await.unwrap_or_default(),
    )
}

/// A translation's parameters as SQL text for PREPARE and EXECUTE: their types and values,
/// each comma-separated.
pub fn sql_parameters(translation: &adql::Translation) -> (String, String) {
    let (types, values): (Vec<&str>, Vec<String>) = translation
        .parameters
        .iter()
        .map(|literal| {
            let value = match literal {
                adql::Literal::Int4(v) => v.to_string(),
                adql::Literal::Int8(v) => v.to_string(),
                adql::Literal::Float8(v) => format!("{v:?}"),
            };
            (literal.sql_type(), value)
        })
        .unzip();
    (types.join(", "), values.join(", "))
}

/// Panics unless `text` is well-formed XML (every element closed, nothing left open).
pub fn assert_well_formed_xml(text: &str) {
    use quick_xml::events::Event;
    let mut reader = quick_xml::Reader::from_str(text);
    reader.config_mut().check_end_names = true;
    let mut depth = 0i64;
    loop {
        match reader.read_event() {
            Ok(Event::Start(_)) => depth += 1,
            Ok(Event::End(_)) => depth -= 1,
            Ok(Event::Eof) => break,
            Ok(_) => {}
            Err(error) => panic!(
                "not well-formed XML at {}: {error}\n{text}",
                reader.buffer_position()
            ),
        }
    }
    assert_eq!(depth, 0, "unclosed elements\n{text}");
}

/// Submits `query` as an async TAP job run at once and waits (up to 30 s) until it has
/// completed: the job's URL.
pub async fn completed_job(server: &Server, query: &str) -> String {
    let client = reqwest::Client::new();
    let job = client
        .post(server.url("/tap/async"))
        .form(&[("LANG", "ADQL"), ("QUERY", query), ("PHASE", "RUN")])
        .send()
        .await
        .unwrap();
    let job = job.url().to_string();
    for _ in 0..300 {
        let (_, phase) = get(&format!("{job}/phase")).await;
        if phase.trim() == "COMPLETED" {
            return job;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{job} did not complete in 30 s")
}

/// One line of a hostile file: `\n`, `\t`, `\0`, `\\` and `\uXXXX` written as escapes.
pub fn unescape(line: &str) -> String {
    let mut text = String::new();
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            text.push(c);
            continue;
        }
        match chars.peek().copied() {
            Some('n') => text.push('\n'),
            Some('t') => text.push('\t'),
            Some('0') => text.push('\0'),
            Some('\\') => text.push('\\'),
            Some('u') => {
                chars.next();
                let code: String = chars.by_ref().take(4).collect();
                let code = u32::from_str_radix(&code, 16).expect("four hex digits after \\u");
                text.push(char::from_u32(code).expect("a character"));
                continue;
            }
            _ => {
                text.push('\\');
                continue;
            }
        }
        chars.next();
    }
    text
}

/// What must not change: the catalog (relations, functions, roles, databases, role settings,
/// grants, large objects) and the rows of every table, read as the cluster's superuser.
pub async fn database_state(workspace: &Workspace) -> Vec<String> {
    let db = workspace.connect("postgres", "obsportal").await;
    let catalog = "SELECT \
        (SELECT md5(string_agg(n.nspname || '.' || c.relname || ':' || c.relkind::text, ',' \
             ORDER BY n.nspname, c.relname)) FROM pg_class AS c \
             JOIN pg_namespace AS n ON n.oid = c.relnamespace \
             WHERE n.nspname NOT LIKE 'pg_temp%' AND n.nspname NOT LIKE 'pg_toast%'), \
        (SELECT md5(string_agg(p.oid::text || p.proname, ',' ORDER BY p.oid)) FROM pg_proc AS p), \
        (SELECT md5(string_agg(rolname || rolsuper::text || rolcanlogin::text \
             || coalesce(array_to_string(rolconfig, ' '), ''), ',' ORDER BY rolname)) FROM pg_roles), \
        (SELECT md5(string_agg(datname, ',' ORDER BY datname)) FROM pg_database), \
        (SELECT count(*)::text FROM pg_db_role_setting), \
        (SELECT md5(string_agg(relname || coalesce(relacl::text, ''), ',' ORDER BY relname)) \
             FROM pg_class WHERE relacl IS NOT NULL), \
        (SELECT count(*)::text FROM pg_largeobject_metadata)";
    let row = db.query_one(catalog, &[]).await.unwrap();
    let mut state: Vec<String> = (0..row.len()).map(|i| row.get::<_, String>(i)).collect();
    let tables = db
        .query(
            "SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class AS c \
             JOIN pg_namespace AS n ON n.oid = c.relnamespace \
             WHERE c.relkind IN ('r', 'm') AND n.nspname IN ('obsportal', 'tap_schema', 'ivoa') \
             ORDER BY 1",
            &[],
        )
        .await
        .unwrap();
    for table in tables {
        let name: String = table.get(0);
        let rows: i64 = db
            .query_one(&format!("SELECT count(*) FROM {name}"), &[])
            .await
            .unwrap()
            .get(0);
        state.push(format!("{name}: {rows}"));
    }
    state
}

/// `night.hdr` written to `name` in the workspace with cards replaced: each edit names the
/// ARCFILE of the header it changes, the card there (checked to be there) and its new text.
pub fn night_edited(workspace: &Workspace, name: &str, edits: &[(&str, &str, &str)]) -> PathBuf {
    let card = |text: &str| format!("{text:<80}");
    let text = fs::read_to_string(header_file("night.hdr")).unwrap();
    let mut headers: Vec<String> = text
        .split_inclusive(&format!("{}\n", card("END")))
        .map(str::to_string)
        .collect();
    for (arcfile, old, new) in edits {
        let header = headers.iter_mut().find(|h| h.contains(arcfile)).unwrap();
        assert!(header.contains(&card(old)), "{arcfile} has no {old}");
        *header = header.replace(&card(old), &card(new));
    }
    let path = workspace.path().join(name);
    fs::write(&path, headers.concat()).unwrap();
    path
}

/// The statistics as migration 0020 computed them, from every published exposure: what 0022's
/// sums of counts per target must give.
const STATISTICS_FROM_SCRATCH: &str = "
    SELECT CASE WHEN grouping(mode) = 0 THEN 'mode' WHEN grouping(year) = 0 THEN 'year'
                WHEN grouping(program) = 0 THEN 'program' WHEN grouping(target) = 0 THEN 'target'
                ELSE 'instrument' END,
           instrument_name, coalesce(mode, year, program, target, instrument_name),
           count(*), count(DISTINCT obs_id), count(DISTINCT target_id),
           min(exp_mjd_start), max(exp_mjd_start)
      FROM (SELECT instrument_name, obs_id, target_id, exp_mjd_start,
                   coalesce(instrument_mode, '') AS mode, coalesce(obs_program, '') AS program,
                   extract(year FROM timestamp '1858-11-17' + exp_mjd_start * interval '1 day')::text AS year,
                   target_id::text AS target
              FROM obsportal.exposures) x
     GROUP BY GROUPING SETS ((instrument_name), (instrument_name, mode), (instrument_name, year),
                             (instrument_name, program), (instrument_name, target))";

/// How many rows of the published exposures, target summaries, blocks and calibrator pairs that
/// imports kept differ from those tables published again for every target (migration 0022;
/// rolled back), and of the statistics from those computed from scratch.
pub async fn published_unlike_a_full_recomputation(db: &mut tokio_postgres::Client) -> i64 {
    const ROWS: &str = "SELECT r FROM (
        SELECT 'exposure ' || row_to_json(x)::text AS r FROM obsportal.exposures x
        UNION ALL SELECT 'target ' || row_to_json(t)::text FROM obsportal.targets t
        UNION ALL SELECT 'block ' || row_to_json(b)::text FROM obsportal.blocks b
        UNION ALL SELECT 'calibration ' || row_to_json(c)::text FROM obsportal.calibrations c
        ) published";
    let transaction = db.transaction().await.unwrap();
    transaction
        .batch_execute(&format!(
            "CREATE TEMP TABLE kept AS {ROWS};
             CREATE TEMP TABLE touched_target AS SELECT id AS target_id FROM obsportal.target;
             SELECT obsportal.publish_touched_targets();"
        ))
        .await
        .unwrap();
    let differing: i64 = transaction
        .query_one(
            &format!(
                "SELECT count(*) FROM (({ROWS} EXCEPT ALL SELECT r FROM kept)
                      UNION ALL (SELECT r FROM kept EXCEPT ALL {ROWS})) d"
            ),
            &[],
        )
        .await
        .unwrap()
        .get(0);
    transaction.rollback().await.unwrap();
    let statistics: i64 = db
        .query_one(
            &format!(
                "SELECT count(*) FROM ((TABLE obsportal.statistics EXCEPT ALL {STATISTICS_FROM_SCRATCH})
                      UNION ALL ({STATISTICS_FROM_SCRATCH} EXCEPT ALL TABLE obsportal.statistics)) d"
            ),
            &[],
        )
        .await
        .unwrap()
        .get(0);
    differing + statistics
}
