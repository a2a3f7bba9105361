//! The database: the embedded cluster or `DATABASE_URL`, a connection pool, and migrations.
//! Nothing outside this module knows where the database came from.

mod cluster;
mod migrate;

use std::path::PathBuf;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use tokio_postgres::NoTls;

pub use cluster::{ClusterError, EmbeddedCluster};

#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error(transparent)]
    Cluster(#[from] ClusterError),
    #[error("DATABASE_URL is not a valid PostgreSQL connection string: {0}")]
    InvalidUrl(tokio_postgres::Error),
    #[error("database: {0}")]
    Postgres(#[from] tokio_postgres::Error),
    #[error("database connection pool: {0}")]
    Pool(#[from] deadpool_postgres::PoolError),
    #[error("migration {version} failed: {source}")]
    Migration {
        version: &'static str,
        source: tokio_postgres::Error,
    },
}

/// Where the database is: `DATABASE_URL` when given, else the embedded cluster in `data_dir`.
#[derive(Debug, Clone)]
pub struct DbSettings {
    pub data_dir: PathBuf,
    pub database_url: Option<String>,
    /// A read replica of that database for user queries (the reader, pages and jobs pools);
    /// None: the same database.
    pub reader_database_url: Option<String>,
    /// Connections for user queries: at most this many run in PostgreSQL at once, later ones
    /// wait for a free connection.
    pub query_connections: usize,
    /// Connections for the web pages' queries, apart from those of the APIs, so that busy
    /// pages wait among themselves instead of taking ASPRO2's connections.
    pub page_connections: usize,
    /// The statement timeout of user queries.
    pub query_timeout: Duration,
    /// Connections for async jobs' queries (as many as jobs run at once), and their statement
    /// timeout: the longest execution duration a job may ask for (each job is cancelled at
    /// its own).
    pub job_connections: usize,
    pub job_timeout: Duration,
    /// The service's public URL, which published views that link to it read (ObsCore's
    /// access_url) as the setting `obsportal.public_url` of the query connections.
    pub public_url: Option<String>,
}

/// Twice the CPUs and two: enough to keep them busy while some queries wait on the network.
/// More only make queries compete for the CPUs with each other and with the server. Measured
/// on 2 CPUs, 16 clients sending cone searches: 16 connections gave 4100 searches/s with a
/// p99 of 9-12.5 ms, 6 gave 4350/s with a p99 of 7.1-7.6 ms.
pub fn default_query_connections() -> usize {
    cpus() * 2 + 2
}

/// As many as the CPUs: a page's queries are short once served by indexes, and more
/// connections would only let pages compete harder with the APIs for the CPUs.
pub fn default_page_connections() -> usize {
    cpus()
}

fn cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |cpus| cpus.get())
}

/// How long a user's query may run before the database cancels it, unless the operator says.
pub const DEFAULT_QUERY_TIMEOUT: Duration = Duration::from_secs(60);

/// Connections for user queries, and the statement timeout they were opened with: the error
/// messages and the TAP capabilities state the figure the connections enforce.
#[derive(Clone)]
pub struct QueryPool {
    pub pool: Pool,
    pub timeout: Duration,
    /// Its connections' `application_name`, followed by the request's id while one runs.
    pub name: &'static str,
}

/// The role user queries run as: it can only read the published tables (migrations/0004).
pub const READER_ROLE: &str = "obsportal_query";

pub struct Database {
    pool: Pool,
    reader: QueryPool,
    pages: QueryPool,
    jobs: QueryPool,
    owner_config: tokio_postgres::Config,
    cluster: Option<EmbeddedCluster>,
}

impl Database {
    /// Connects (starting the embedded cluster if needed) and applies pending migrations.
    pub async fn open(settings: &DbSettings) -> Result<Self, DbError> {
        let (config, cluster) = match &settings.database_url {
            Some(url) => (url.parse().map_err(DbError::InvalidUrl)?, None),
            None => {
                let data_dir = settings.data_dir.clone();
                let cluster =
                    tokio::task::spawn_blocking(move || EmbeddedCluster::start(&data_dir))
                        .await
                        .expect("cluster start does not panic")?;
                // A start that fails leaves no PostgreSQL running behind it.
                if let Err(error) = bootstrap(&cluster).await {
                    if let Err(stop) = leave(cluster).await {
                        tracing::warn!(%stop, "could not stop the embedded PostgreSQL");
                    }
                    return Err(error);
                }
                (
                    cluster.config(cluster::OWNER_ROLE, cluster::DATABASE),
                    Some(cluster),
                )
            }
        };
        let replica = match &settings.reader_database_url {
            Some(url) => url.parse().map_err(DbError::InvalidUrl)?,
            None => config.clone(),
        };
        let query_pool = |name, connections, timeout| QueryPool {
            pool: build_pool(
                name,
                reader_config(&replica, timeout, settings.public_url.as_deref()),
                connections,
            ),
            timeout,
            name,
        };
        let reader = query_pool(
            "obsportal-queries",
            settings.query_connections,
            settings.query_timeout,
        );
        let pages = query_pool(
            "obsportal-pages",
            settings.page_connections,
            settings.query_timeout,
        );
        let jobs = query_pool(
            "obsportal-jobs",
            settings.job_connections,
            settings.job_timeout,
        );
        let pool = build_pool("obsportal", config.clone(), OWNER_CONNECTIONS);
        let database = Database {
            pool,
            reader,
            pages,
            jobs,
            owner_config: config,
            cluster,
        };
        let migrated = match database.pool.get().await {
            Ok(mut client) => migrate::migrate(&mut client).await,
            Err(error) => Err(error.into()),
        };
        if let Err(error) = migrated {
            if let Err(stop) = database.close().await {
                tracing::warn!(%stop, "could not stop the embedded PostgreSQL");
            }
            return Err(error);
        }
        Ok(database)
    }

    /// Connections as the owner: imports, statistics, anything this service wrote itself.
    pub fn pool(&self) -> &Pool {
        &self.pool
    }

    /// Connections for user queries: every transaction read-only, as the role that can only
    /// read the published tables, with a statement timeout. Set when the connection starts, so
    /// a query costs no extra round trip.
    pub fn reader(&self) -> &QueryPool {
        &self.reader
    }

    /// Connections like `reader`'s, for the web pages' queries alone.
    pub fn pages(&self) -> &QueryPool {
        &self.pages
    }

    /// Connections like `reader`'s for async jobs' queries, with the jobs' longest timeout.
    pub fn jobs(&self) -> &QueryPool {
        &self.jobs
    }

    /// How to open a connection of the owner's outside the pools (to LISTEN).
    pub fn owner_config(&self) -> tokio_postgres::Config {
        self.owner_config.clone()
    }

    /// The embedded cluster, when this process uses one.
    pub fn cluster(&self) -> Option<&EmbeddedCluster> {
        self.cluster.as_ref()
    }

    /// Closes the pool and leaves the embedded cluster (stopping it if no one else uses it).
    pub async fn close(self) -> Result<(), DbError> {
        self.pool.close();
        self.reader.pool.close();
        self.pages.pool.close();
        self.jobs.pool.close();
        if let Some(cluster) = self.cluster {
            leave(cluster).await?;
        }
        Ok(())
    }
}

/// Leaves the embedded cluster, stopping it when no other obsportal process uses it.
async fn leave(cluster: EmbeddedCluster) -> Result<(), ClusterError> {
    tokio::task::spawn_blocking(move || cluster.stop())
        .await
        .expect("cluster stop does not panic")
}

fn reader_config(
    owner: &tokio_postgres::Config,
    timeout: Duration,
    public_url: Option<&str>,
) -> tokio_postgres::Config {
    let mut config = owner.clone();
    let mut options = owner.get_options().map(str::to_string).unwrap_or_default();
    options.push_str(&format!(
        " -c default_transaction_read_only=on -c statement_timeout={} -c role={READER_ROLE}",
        timeout.as_millis()
    ));
    // A URL has no spaces (which separate options) nor backslashes (which escape them).
    if let Some(url) = public_url.filter(|url| !url.contains([' ', '\\'])) {
        options.push_str(&format!(" -c obsportal.public_url={url}"));
    }
    config.options(options.trim());
    config
}

/// Connections as the owner: imports, statistics pages, TAP_SCHEMA.
const OWNER_CONNECTIONS: usize = 16;

/// A pool whose connections say what they are for (`application_name`: what an operator reads
/// in `pg_stat_activity`).
fn build_pool(name: &str, mut config: tokio_postgres::Config, connections: usize) -> Pool {
    config.connect_timeout(Duration::from_secs(10));
    config.application_name(name);
    let manager = Manager::from_config(
        config,
        NoTls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(manager)
        .max_size(connections.max(1))
        .build()
        .expect("a pool without runtime-specific hooks always builds")
}

/// First start of a cluster: the owner role, its database and pg_sphere (which needs a
/// superuser to install). Cheap and idempotent, so it runs at every start.
async fn bootstrap(cluster: &EmbeddedCluster) -> Result<(), DbError> {
    let admin = connect(cluster.config(cluster::SUPERUSER, "postgres")).await?;
    let owner = cluster::OWNER_ROLE;
    let database = cluster::DATABASE;
    create_unless_found(
        &admin,
        "SELECT 1 FROM pg_roles WHERE rolname = $1",
        owner,
        &format!("CREATE ROLE {owner} LOGIN CREATEROLE"),
    )
    .await?;
    create_unless_found(
        &admin,
        "SELECT 1 FROM pg_database WHERE datname = $1",
        database,
        &format!("CREATE DATABASE {database} OWNER {owner}"),
    )
    .await?;
    install_extensions(cluster, database).await
}

/// Runs `create` unless `lookup` (with `name` as its parameter) finds a row.
async fn create_unless_found(
    admin: &tokio_postgres::Client,
    lookup: &str,
    name: &str,
    create: &str,
) -> Result<(), DbError> {
    if admin.query_opt(lookup, &[&name]).await?.is_none() {
        admin.batch_execute(create).await?;
    }
    Ok(())
}

/// Installs pg_sphere in one database of the embedded cluster, as its superuser.
pub async fn install_extensions(cluster: &EmbeddedCluster, dbname: &str) -> Result<(), DbError> {
    let client = connect(cluster.config(cluster::SUPERUSER, dbname)).await?;
    client
        .batch_execute("CREATE EXTENSION IF NOT EXISTS pg_sphere")
        .await?;
    Ok(())
}

/// One connection outside the pool, driven on its own task.
pub async fn connect(config: tokio_postgres::Config) -> Result<tokio_postgres::Client, DbError> {
    let (client, connection) = config.connect(NoTls).await?;
    tokio::spawn(async move {
        if let Err(error) = connection.await {
            tracing::debug!(%error, "database connection closed");
        }
    });
    Ok(client)
}
