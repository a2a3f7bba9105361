//! The `obsportal` command: serve, ingest, demo-data.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Parser, Subcommand};

use obsportal::db::{Database, DbSettings};
use obsportal::http::AppState;
use obsportal::ingest::{self, demo, Progress};
use obsportal::server::{self, ShutdownSignal};

/// Faster than the system allocator for the many small allocations of parsing and writing rows.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    version,
    about = "IVOA TAP/ADQL server and portal for optical-interferometry observations"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// How logs are written to standard error: lines for people, or JSON objects (one per
    /// line) for a log collector. RUST_LOG chooses what is logged.
    #[arg(long, global = true, env = "OBSPORTAL_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(clap::Args, Clone)]
struct DatabaseArgs {
    /// Data directory of the embedded PostgreSQL cluster (used when DATABASE_URL is not set).
    #[arg(long, env = "OBSPORTAL_DATA_DIR", default_value = "obsportal-data")]
    data_dir: PathBuf,
    /// Use this PostgreSQL database (with pg_sphere) instead of the embedded cluster.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    database_url: Option<String>,
    /// A read replica of that database for user queries (TAP, the API, cone search, pages,
    /// async jobs); the migrations, imports and job store stay on DATABASE_URL.
    #[arg(
        long,
        env = "OBSPORTAL_READER_DATABASE_URL",
        hide_env_values = true,
        requires = "database_url"
    )]
    reader_database_url: Option<String>,
}

impl DatabaseArgs {
    fn settings(&self) -> DbSettings {
        DbSettings {
            data_dir: self.data_dir.clone(),
            database_url: self.database_url.clone(),
            reader_database_url: self.reader_database_url.clone(),
            query_connections: obsportal::db::default_query_connections(),
            page_connections: obsportal::db::default_page_connections(),
            query_timeout: obsportal::db::DEFAULT_QUERY_TIMEOUT,
            job_connections: 2,
            job_timeout: std::time::Duration::from_secs(3600),
            public_url: None,
        }
    }
}

/// Table uploads (TAP's UPLOAD).
#[derive(clap::Args, Clone)]
struct UploadArgs {
    /// The most rows an uploaded table may have.
    #[arg(long, env = "OBSPORTAL_UPLOAD_MAX_ROWS", default_value_t = 1_000_000,
          value_parser = clap::value_parser!(u64).range(1..))]
    upload_max_rows: u64,
    /// The most bytes an uploaded table may have [MiB] (the request body may hold that much).
    #[arg(long, env = "OBSPORTAL_UPLOAD_MAX_MIB", default_value_t = 64,
          value_parser = clap::value_parser!(u32).range(1..=4096))]
    upload_max_mib: u32,
    /// Let uploads by URL reach the service's own network (loopback, private, link-local
    /// addresses). Off by default: a URL must not become a way into the operator's network.
    #[arg(long, env = "OBSPORTAL_UPLOAD_ALLOW_PRIVATE_URLS")]
    upload_allow_private_urls: bool,
}

impl UploadArgs {
    fn limits(&self) -> obsportal::upload::UploadLimits {
        obsportal::upload::UploadLimits {
            max_rows: self.upload_max_rows,
            max_bytes: self.upload_max_mib as usize * 1024 * 1024,
            allow_private_urls: self.upload_allow_private_urls,
            ..Default::default()
        }
    }
}

/// Connections: how many, and how long a client may take to say what it wants.
#[derive(clap::Args, Clone)]
struct ConnectionArgs {
    /// Connections served at once; later ones wait to be accepted.
    #[arg(long, env = "OBSPORTAL_MAX_CONNECTIONS", default_value_t = 1024,
          value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    max_connections: u32,
    /// How long a request's head may take to arrive, and an idle keep-alive connection may
    /// stay open [s].
    #[arg(long, env = "OBSPORTAL_HEADER_TIMEOUT", default_value_t = 20,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    header_timeout: u64,
    /// How long a request body may stop arriving before the request fails [s].
    #[arg(long, env = "OBSPORTAL_BODY_TIMEOUT", default_value_t = 30,
          value_parser = clap::value_parser!(u64).range(1..=3600))]
    body_timeout: u64,
    /// On SIGTERM, how long requests in flight (streams) may go on before they are cut [s].
    #[arg(long, env = "OBSPORTAL_SHUTDOWN_GRACE", default_value_t = 5,
          value_parser = clap::value_parser!(u64).range(0..=3600))]
    shutdown_grace: u64,
}

impl ConnectionArgs {
    fn limits(&self) -> obsportal::http::connections::ConnectionLimits {
        let seconds = std::time::Duration::from_secs;
        obsportal::http::connections::ConnectionLimits {
            max_connections: self.max_connections as usize,
            header_timeout: seconds(self.header_timeout),
            body_timeout: seconds(self.body_timeout),
            shutdown_grace: seconds(self.shutdown_grace),
        }
    }
}

/// Async jobs (`/tap/async`).
#[derive(clap::Args, Clone)]
struct JobArgs {
    /// Async jobs this server runs at once (each on a connection of its own).
    #[arg(long, env = "OBSPORTAL_JOB_WORKERS", default_value_t = 2,
          value_parser = clap::value_parser!(u16).range(1..=256))]
    job_workers: u16,
    /// A job's execution duration unless the client asks [s].
    #[arg(long, env = "OBSPORTAL_JOB_DURATION", default_value_t = 600,
          value_parser = clap::value_parser!(u32).range(1..=604_800))]
    job_duration: u32,
    /// The longest execution duration a client may ask [s].
    #[arg(long, env = "OBSPORTAL_JOB_DURATION_MAX", default_value_t = 3600,
          value_parser = clap::value_parser!(u32).range(1..=604_800))]
    job_duration_max: u32,
    /// How long a job and its result are kept unless the client asks [days], and the most.
    #[arg(long, env = "OBSPORTAL_JOB_RETENTION_DAYS", default_value_t = 3,
          value_parser = clap::value_parser!(u32).range(1..=3650))]
    job_retention_days: u32,
    #[arg(long, env = "OBSPORTAL_JOB_RETENTION_MAX_DAYS", default_value_t = 30,
          value_parser = clap::value_parser!(u32).range(1..=3650))]
    job_retention_max_days: u32,
    /// The longest a blocking WAIT blocks [s].
    #[arg(long, env = "OBSPORTAL_JOB_WAIT_MAX", default_value_t = 60,
          value_parser = clap::value_parser!(u32).range(1..=3600))]
    job_wait_max: u32,
    /// How long a running job's server may go silent before another takes the job back [s].
    #[arg(long, env = "OBSPORTAL_JOB_LEASE", default_value_t = 30,
          value_parser = clap::value_parser!(u32).range(1..=3600))]
    job_lease: u32,
    /// The most bytes of uploaded tables one user's (or anonymous client address's) jobs not
    /// yet ended keep in the database [MiB].
    #[arg(long, env = "OBSPORTAL_JOB_UPLOAD_QUOTA_MB", default_value_t = 256,
          value_parser = clap::value_parser!(u32).range(1..=1_048_576))]
    job_upload_quota_mb: u32,
}

impl JobArgs {
    fn settings(&self) -> obsportal::jobs::JobSettings {
        let day = std::time::Duration::from_secs(24 * 3600);
        obsportal::jobs::JobSettings {
            workers: self.job_workers.into(),
            wait_max: std::time::Duration::from_secs(self.job_wait_max.into()),
            default_duration: self.job_duration.min(self.job_duration_max),
            max_duration: self.job_duration_max,
            retention: day * self.job_retention_days.min(self.job_retention_max_days),
            max_retention: day * self.job_retention_max_days,
            lease: std::time::Duration::from_secs(self.job_lease.into()),
            datalink: None,
            upload_quota: u64::from(self.job_upload_quota_mb) * 1024 * 1024,
        }
    }
}

#[derive(Subcommand)]
enum Archive {
    /// ESO's archive: raw frames of GRAVITY, MATISSE, PIONIER, AMBER and MIDI from its TAP
    /// service (dbo.raw), each frame's header from its header service.
    Eso {
        #[command(flatten)]
        database: DatabaseArgs,
        /// Frames modified after this date (ISO 8601) instead of where the last harvest stopped.
        #[arg(long)]
        since: Option<String>,
        /// ESO's TAP service (queries go to URL/sync).
        #[arg(
            long,
            env = "OBSPORTAL_ESO_TAP_URL",
            default_value = "https://archive.eso.org/tap_obs"
        )]
        tap_url: String,
        /// ESO's header service (a header is URL?DpId=...).
        #[arg(
            long,
            env = "OBSPORTAL_ESO_HEADER_URL",
            default_value = "https://archive.eso.org/hdr"
        )]
        header_url: String,
        /// Frames per page, and per import transaction.
        #[arg(long, default_value_t = 500, value_parser = clap::value_parser!(u32).range(1..=10_000))]
        batch: u32,
        /// Headers fetched at once.
        #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u32).range(1..=64))]
        concurrency: u32,
    },
}

#[derive(Subcommand)]
enum Command {
    /// Run the HTTP server (TAP, portal, cone search).
    Serve {
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
        #[command(flatten)]
        database: DatabaseArgs,
        /// If the database holds no exposures, generate and ingest this many demo exposures.
        #[arg(long, default_value_t = 0)]
        demo_rows: u64,
        /// Seconds a user's query (TAP, portal, cone search) may run before it is cancelled.
        #[arg(long, env = "OBSPORTAL_QUERY_TIMEOUT", default_value_t = 60,
              value_parser = clap::value_parser!(u64).range(1..=86_400))]
        query_timeout: u64,
        /// Threads answering requests. By default half the CPUs (at least one): the other
        /// half is left to PostgreSQL, which runs the queries beside the server, and a result
        /// stream's stages hand rows between threads less often (measured: a 1M-row TABLEDATA
        /// stream on 2 CPUs takes 40% less time on one thread than on two).
        #[arg(long, env = "OBSPORTAL_THREADS",
              value_parser = clap::value_parser!(u16).range(1..=1024))]
        threads: Option<u16>,
        /// User queries PostgreSQL runs at once; later ones wait their turn. By default twice
        /// the CPUs and two: more only make queries compete for the CPUs.
        #[arg(long, env = "OBSPORTAL_QUERY_CONNECTIONS",
              value_parser = clap::value_parser!(u16).range(1..=1024))]
        query_connections: Option<u16>,
        /// Queries of the web pages (/search) PostgreSQL runs at once, on connections of
        /// their own so that busy pages never take the APIs' connections. By default as many
        /// as the CPUs.
        #[arg(long, env = "OBSPORTAL_PAGE_CONNECTIONS",
              value_parser = clap::value_parser!(u16).range(1..=1024))]
        page_connections: Option<u16>,
        #[command(flatten)]
        jobs: JobArgs,
        #[command(flatten)]
        uploads: UploadArgs,
        #[command(flatten)]
        connections: ConnectionArgs,
        /// Queries (TAP sync, the ObsPortal API, cone search) one client address may run at
        /// once; more get 429 with Retry-After. 0: no limit.
        #[arg(long, env = "OBSPORTAL_CLIENT_QUERIES", default_value_t = 32)]
        client_queries: usize,
        /// The request header in which the operator's reverse proxy gives the client's address
        /// (e.g. X-Forwarded-For: its first address). Unset: the connection's own address.
        #[arg(long, env = "OBSPORTAL_CLIENT_ADDRESS_HEADER")]
        client_address_header: Option<axum::http::HeaderName>,
        /// The request header in which the operator's reverse proxy names the authenticated
        /// user (e.g. X-Remote-User). Jobs then belong to that user. Unset: no header is
        /// trusted and every job is anonymous.
        #[arg(long, env = "OBSPORTAL_USER_HEADER")]
        user_header: Option<axum::http::HeaderName>,
        /// The URL clients reach the service at (behind a reverse proxy, its public one), for
        /// the links the database writes (ObsCore's access_url). Unset: the address listened on.
        #[arg(long, env = "OBSPORTAL_PUBLIC_URL")]
        public_url: Option<String>,
    },
    /// Ingest ESO headers: header text files, FITS files, directories, .tar(.gz) bundles.
    Ingest {
        #[command(flatten)]
        database: DatabaseArgs,
        #[arg(required = true)]
        paths: Vec<PathBuf>,
    },
    /// Import what changed in an archive since the last harvest (run it on a schedule).
    Harvest {
        #[command(subcommand)]
        archive: Archive,
    },
    /// Translate an ADQL query to the SQL that would run, or show why it is refused.
    Adql {
        /// Check the grammar only: any table or column name is accepted.
        #[arg(long)]
        syntax_only: bool,
        /// The query, or - (the default) to read it from standard input.
        #[arg(default_value = "-")]
        query: String,
    },
    /// Write synthetic VLTI headers (about three headers per exposure).
    DemoData {
        #[arg(long)]
        exposures: u64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        #[arg(long)]
        out: PathBuf,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let logs = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| "info".into()),
        )
        .with_writer(std::io::stderr);
    match cli.log_format {
        LogFormat::Text => logs.init(),
        // Each line one object, with the request's span (its id) on what a request logs.
        LogFormat::Json => logs.json().with_current_span(true).init(),
    }
    let mut runtime = tokio::runtime::Builder::new_multi_thread();
    if let Command::Serve { threads, .. } = &cli.command {
        runtime.worker_threads(threads.map_or_else(default_threads, usize::from));
    }
    // Requests are parsed and translated on these threads; ADQL's passes recurse as deep as a
    // query's tree, which the adql crate bounds and sizes (tokio's default is 2 MiB).
    runtime.thread_stack_size(adql::STACK_NEEDED);
    let runtime = runtime.enable_all().build().expect("tokio runtime");
    let result = runtime.block_on(run(cli.command));
    // Work abandoned on the way out (demo headers still being generated after a stop) is not
    // waited for: dropping the runtime would wait for every blocking task to finish.
    runtime.shutdown_timeout(std::time::Duration::from_secs(1));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

/// Half the CPUs this process may use, at least one.
fn default_threads() -> usize {
    std::thread::available_parallelism().map_or(1, |cpus| (cpus.get() / 2).max(1))
}

async fn run(command: Command) -> anyhow::Result<()> {
    match command {
        Command::Serve {
            listen,
            database,
            demo_rows,
            query_timeout,
            threads: _,
            query_connections,
            page_connections,
            jobs,
            uploads,
            connections,
            client_queries,
            client_address_header,
            user_header,
            public_url,
        } => {
            let mut settings = database.settings();
            settings.query_timeout = std::time::Duration::from_secs(query_timeout);
            if let Some(connections) = query_connections {
                settings.query_connections = connections.into();
            }
            if let Some(connections) = page_connections {
                settings.page_connections = connections.into();
            }
            let jobs = jobs.settings();
            settings.public_url = public_url.map(|url| url.trim_end_matches('/').to_string());
            settings.job_connections = jobs.workers;
            settings.job_timeout = std::time::Duration::from_secs(jobs.max_duration.into());
            let service = Service {
                jobs,
                uploads: uploads.limits(),
                connections: connections.limits(),
                client_queries: obsportal::http::fairness::ClientQueries::new(
                    client_queries,
                    client_address_header,
                ),
                user_header,
            };
            serve(listen, &settings, demo_rows, service).await
        }
        Command::Ingest { database, paths } => {
            let db = Database::open(&database.settings()).await?;
            let result = ingest_paths(&db, paths, Progress::for_terminal()).await;
            db.close().await?;
            println!("{}", result?);
            Ok(())
        }
        Command::Harvest {
            archive:
                Archive::Eso {
                    database,
                    since,
                    tap_url,
                    header_url,
                    batch,
                    concurrency,
                },
        } => {
            let settings = obsportal::harvest::EsoSettings {
                tap_url,
                header_url,
                since,
                batch: batch as usize,
                concurrency: concurrency as usize,
                attempts: 3,
                backoff: std::time::Duration::from_millis(500),
            };
            let db = Database::open(&database.settings()).await?;
            let result = obsportal::harvest::harvest_eso(db.pool(), &settings).await;
            db.close().await?;
            println!("{}", result?);
            Ok(())
        }
        Command::Adql { syntax_only, query } => translate_adql(syntax_only, query),
        Command::DemoData {
            exposures,
            seed,
            out,
        } => {
            let file = File::create(&out).with_context(|| format!("creating {}", out.display()))?;
            let mut writer = BufWriter::with_capacity(1 << 20, file);
            let counts = demo::write_demo_headers(&mut writer, exposures, seed)?;
            writer.flush()?;
            println!(
                "wrote {} headers ({} exposures, {} to be dropped) to {}",
                counts.exposures + counts.dropped,
                counts.exposures,
                counts.dropped,
                out.display()
            );
            Ok(())
        }
    }
}

/// `obsportal adql`: the SQL a query becomes, or the error a TAP client would get (exit 1).
fn translate_adql(syntax_only: bool, query: String) -> anyhow::Result<()> {
    let text = if query == "-" {
        std::io::read_to_string(std::io::stdin())?
    } else {
        query
    };
    let output = if syntax_only {
        adql::check_syntax(&text).map(|()| "syntax OK".to_string())
    } else {
        adql::translate(&text, obsportal::schema::adql_catalog()).map(|translation| translation.sql)
    };
    match output {
        Ok(output) => {
            println!("{output}");
            Ok(())
        }
        Err(error) => anyhow::bail!("{error}"),
    }
}

async fn ingest_paths(
    db: &Database,
    paths: Vec<PathBuf>,
    progress: Progress,
) -> anyhow::Result<ingest::ImportSummary> {
    let mut client = db.pool().get().await?;
    Ok(ingest::import(&mut client, paths, progress).await?)
}

/// What `serve` needs beside the database.
struct Service {
    jobs: obsportal::jobs::JobSettings,
    uploads: obsportal::upload::UploadLimits,
    connections: obsportal::http::connections::ConnectionLimits,
    client_queries: obsportal::http::fairness::ClientQueries,
    user_header: Option<axum::http::HeaderName>,
}

async fn serve(
    listen: SocketAddr,
    settings: &DbSettings,
    demo_rows: u64,
    service: Service,
) -> anyhow::Result<()> {
    let shutdown = ShutdownSignal::install()?;
    // The port answers from the first second: alive, not ready, saying what it is doing.
    let listener = server::bind(listen).with_context(|| format!("listening on {listen}"))?;
    let startup = server::Startup::answer(&listener, &service.connections)?;
    println!(
        "obsportal starting on http://{}/ (not ready yet: /readyz)",
        listener.local_addr()?
    );
    startup.phase("opening the database");
    // Where clients reach the service, for what the database writes of it (ObsCore's
    // access_url): as the operator says, else the address listened on.
    let mut settings = settings.clone();
    if settings.public_url.is_none() {
        let mut address = listener.local_addr()?;
        if address.ip().is_unspecified() {
            address.set_ip(std::net::Ipv4Addr::LOCALHOST.into());
        }
        settings.public_url = Some(format!("http://{address}"));
    }
    let settings = &settings;
    let db = Database::open(settings).await?;
    let result = serve_with(
        &db, listener, startup, settings, demo_rows, service, shutdown,
    )
    .await;
    db.close().await?;
    result
}

async fn serve_with(
    db: &Database,
    listener: std::net::TcpListener,
    startup: server::Startup,
    settings: &DbSettings,
    demo_rows: u64,
    service: Service,
    mut shutdown: ShutdownSignal,
) -> anyhow::Result<()> {
    if demo_rows > 0 {
        startup.phase(format!(
            "loading {demo_rows} demo exposures if the database is empty"
        ));
        // A stop asked for during the demo load (minutes for a large one) is acted on at once:
        // the import's transaction is abandoned, so nothing of it is kept.
        tokio::select! {
            loaded = load_demo_data_if_empty(db, settings, demo_rows) => loaded?,
            () = shutdown.received() => {
                tracing::info!("stopped during the demo load: nothing of it was kept");
                return Ok(());
            }
        }
    }
    startup.phase("publishing TAP_SCHEMA");
    let mut client = db.pool().get().await?;
    obsportal::tap::tap_schema::publish(&mut client)
        .await
        .context("publishing TAP_SCHEMA")?;
    drop(client);
    startup.finish().await;
    let address = listener.local_addr()?;
    // Tests and scripts read this line: the service is ready.
    println!("obsportal listening on http://{address}/");
    std::io::stdout().flush()?;
    let jobs = obsportal::jobs::Jobs::start(
        db.pool().clone(),
        db.jobs().clone(),
        db.owner_config(),
        obsportal::jobs::JobSettings {
            datalink: settings
                .public_url
                .as_ref()
                .map(|url| format!("{url}/datalink")),
            ..service.jobs
        },
        service.uploads.clone(),
    );
    let served = server::serve(
        listener,
        AppState {
            pool: db.pool().clone(),
            reader: db.reader().clone(),
            pages: db.pages().clone(),
            last_import: Default::default(),
            jobs: jobs.clone(),
            uploads: service.uploads,
            client_queries: service.client_queries,
            user_header: service.user_header,
        },
        &service.connections,
        shutdown,
    )
    .await;
    // The jobs this server was running go back to the queue for the next server.
    jobs.stop().await;
    served?;
    Ok(())
}

/// Demo data goes through the real ingest path: written as header text, then imported.
async fn load_demo_data_if_empty(
    db: &Database,
    settings: &DbSettings,
    exposures: u64,
) -> anyhow::Result<()> {
    let client = db.pool().get().await?;
    let existing: i64 = client
        .query_one("SELECT count(*) FROM obsportal.exposure", &[])
        .await?
        .get(0);
    drop(client);
    if existing > 0 {
        return Ok(());
    }
    let directory = if settings.database_url.is_some() {
        std::env::temp_dir()
    } else {
        settings.data_dir.clone()
    };
    // A tenth of them at CHARA: a log and the table placing its stars, imported after it.
    let chara = exposures / 10;
    let paths = [
        "demo-headers.hdr",
        "demo-chara-positions.csv",
        "demo-chara-log.csv",
    ]
    .map(|name| directory.join(format!("{exposures}-{name}")));
    tracing::info!(exposures, path = %paths[0].display(), "generating demo headers");
    let create = |path: &std::path::Path| {
        File::create(path)
            .map(BufWriter::new)
            .with_context(|| format!("creating {}", path.display()))
    };
    let files = paths.clone();
    // Generating takes seconds: off the runtime, so that a stop is heard meanwhile.
    tokio::task::spawn_blocking(move || -> anyhow::Result<()> {
        let mut headers = create(&files[0])?;
        demo::write_demo_headers(&mut headers, exposures - chara, 1)?;
        headers.flush()?;
        let (mut positions, mut log) = (create(&files[1])?, create(&files[2])?);
        demo::write_demo_chara(&mut log, &mut positions, chara, 1)?;
        positions.flush()?;
        log.flush()?;
        Ok(())
    })
    .await??;
    let summary = ingest_paths(db, paths.to_vec(), Progress::Log).await?;
    for path in &paths {
        std::fs::remove_file(path).ok();
    }
    eprintln!("{summary}");
    Ok(())
}
