//! The embedded default: a private PostgreSQL cluster run from the system's binaries in the
//! data directory. Only this module knows how the cluster is initialised, started and stopped.
//!
//! Layout of the data directory `DIR`:
//! - `DIR/pgdata`           the cluster (initdb on first start, reused after)
//! - `DIR/run`              its unix socket (it also listens on 127.0.0.1, on a free port)
//! - `DIR/postgresql.log`   the server log
//! - `DIR/cluster.lock`     held while a process starts or stops the cluster
//! - `DIR/in-use.lock`      held shared by every obsportal process using the cluster; the last
//!   one to leave stops it, so `ingest` beside a running `serve` never pulls the rug.
//!
//! PostgreSQL refuses to run as root, so a root caller runs it as an unprivileged OS user
//! (`postgres`, or `OBSPORTAL_PG_USER`) that owns `pgdata` and `run`.

use std::fs::{self, File, OpenOptions};
use std::io::ErrorKind;
use std::net::TcpListener;
use std::os::unix::fs::{chown, DirBuilderExt, PermissionsExt};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use nix::unistd::{Uid, User};

/// The superuser initdb creates; used only to bootstrap roles, the database and extensions.
pub(crate) const SUPERUSER: &str = "postgres";
/// The role that owns the obsportal database: migrations and ingest run as it.
pub(crate) const OWNER_ROLE: &str = "obsportal";
pub(crate) const DATABASE: &str = "obsportal";

#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error(
        "PostgreSQL server binaries (initdb, pg_ctl) not found; install the Debian packages \
         postgresql-15 and postgresql-15-pgsphere, or set OBSPORTAL_PG_BINDIR"
    )]
    BinariesNotFound,
    #[error(
        "running as root, the cluster must run as an unprivileged OS user, but user {0:?} does not \
         exist (set OBSPORTAL_PG_USER to another one)"
    )]
    NoUnprivilegedUser(String),
    #[error(
        "PostgreSQL runs as the OS user {user:?}, which cannot reach {dir}: make its parent \
         directories traversable (chmod o+x) or choose a --data-dir elsewhere (e.g. /var/lib/obsportal)"
    )]
    NotReachable { user: String, dir: PathBuf },
    #[error("{action} failed: {detail}")]
    Command { action: String, detail: String },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> ClusterError + '_ {
    move |source| ClusterError::Io {
        path: path.to_owned(),
        source,
    }
}

pub struct EmbeddedCluster {
    pgdata: PathBuf,
    socket_dir: PathBuf,
    port: u16,
    bin_dir: PathBuf,
    run_as: Option<User>,
    lock_path: PathBuf,
    in_use: File,
    started_here: bool,
}

impl EmbeddedCluster {
    /// Starts the cluster in `root` (creating it on first use), or attaches to the one another
    /// obsportal process already runs there. Blocking: call from a blocking thread.
    pub fn start(root: &Path) -> Result<Self, ClusterError> {
        let bin_dir = find_bin_dir()?;
        let run_as = unprivileged_user_if_root()?;
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o755)
            .create(root)
            .map_err(io_error(root))?;
        let root = root.canonicalize().map_err(io_error(root))?;
        let lock_path = root.join("cluster.lock");
        let _guard = exclusive_lock(&lock_path)?;

        let pgdata = root.join("pgdata");
        let socket_dir = root.join("run");
        for dir in [&pgdata, &socket_dir] {
            make_private_dir(dir, run_as.as_ref())?;
        }
        if let Some(user) = &run_as {
            check_reachable(&pgdata, user)?;
        }
        if !pgdata.join("PG_VERSION").exists() {
            init_cluster(&bin_dir, &pgdata, run_as.as_ref())?;
        }

        let in_use_path = root.join("in-use.lock");
        let in_use = open_lock_file(&in_use_path)?;
        in_use.lock_shared().map_err(io_error(&in_use_path))?;

        let mut cluster = EmbeddedCluster {
            pgdata,
            socket_dir,
            port: 0,
            bin_dir,
            run_as,
            lock_path,
            in_use,
            started_here: false,
        };
        match cluster.running_postmaster()? {
            Some(port) => {
                tracing::info!(port, "attached to the embedded PostgreSQL already running");
                cluster.port = port;
            }
            None => {
                cluster.port = free_loopback_port()?;
                cluster.pg_ctl_start(&root.join("postgresql.log"))?;
                cluster.started_here = true;
            }
        }
        Ok(cluster)
    }

    /// Where clients connect: the socket directory and port.
    pub fn socket_dir(&self) -> &Path {
        &self.socket_dir
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// The postmaster's process id, from its lock file.
    pub fn postmaster_pid(&self) -> Option<i32> {
        read_postmaster_pid(&self.pgdata).map(|(pid, _)| pid)
    }

    pub fn data_directory(&self) -> &Path {
        &self.pgdata
    }

    /// A connection to `dbname` as `user` over the unix socket.
    pub fn config(&self, user: &str, dbname: &str) -> tokio_postgres::Config {
        let mut config = tokio_postgres::Config::new();
        config
            .host_path(&self.socket_dir)
            .port(self.port)
            .user(user)
            .dbname(dbname)
            .application_name("obsportal");
        config
    }

    /// Leaves the cluster; stops it when no other obsportal process still uses it.
    /// Blocking: call from a blocking thread.
    pub fn stop(self) -> Result<(), ClusterError> {
        let _guard = exclusive_lock(&self.lock_path)?;
        self.in_use.unlock().map_err(io_error(&self.lock_path))?;
        match self.in_use.try_lock() {
            Ok(()) => {
                self.run(
                    Command::new(self.bin_dir.join("pg_ctl"))
                        .args(["-D"])
                        .arg(&self.pgdata)
                        .args(["-m", "fast", "-w", "-s", "stop"]),
                )?;
                tracing::info!("embedded PostgreSQL stopped");
            }
            Err(_) => {
                tracing::info!("embedded PostgreSQL left running for the other obsportal process")
            }
        }
        Ok(())
    }

    /// The port of a live postmaster on this data directory, after removing a stale lock file
    /// (left by a crash, or naming a process id that now belongs to something else).
    fn running_postmaster(&self) -> Result<Option<u16>, ClusterError> {
        let Some((pid, port)) = read_postmaster_pid(&self.pgdata) else {
            return Ok(None);
        };
        let cmdline = fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        let ours =
            cmdline.contains("postgres") && cmdline.contains(&*self.pgdata.to_string_lossy());
        if ours {
            return Ok(Some(port));
        }
        tracing::warn!(pid, "removing stale postmaster.pid left by a crash");
        let pid_file = self.pgdata.join("postmaster.pid");
        fs::remove_file(&pid_file).map_err(io_error(&pid_file))?;
        Ok(None)
    }

    fn pg_ctl_start(&self, log: &Path) -> Result<(), ClusterError> {
        if let Some(user) = &self.run_as {
            // The log is written by the server process, so its user must own it.
            if !log.exists() {
                File::create(log).map_err(io_error(log))?;
            }
            chown(log, Some(user.uid.as_raw()), Some(user.gid.as_raw())).map_err(io_error(log))?;
        }
        let options = format!(
            "-c listen_addresses=127.0.0.1 -p {} -k '{}'",
            self.port,
            self.socket_dir.display()
        );
        let result = self.run(
            Command::new(self.bin_dir.join("pg_ctl"))
                .arg("-D")
                .arg(&self.pgdata)
                .arg("-l")
                .arg(log)
                .args(["-w", "-t", "120", "-s", "-o", &options, "start"]),
        );
        result.map_err(|error| ClusterError::Command {
            action: "starting the embedded PostgreSQL".into(),
            detail: format!(
                "{error}\nlast lines of {}:\n{}",
                log.display(),
                tail(log, 15)
            ),
        })?;
        tracing::info!(port = self.port, data = %self.pgdata.display(), "embedded PostgreSQL started");
        Ok(())
    }

    fn run(&self, command: &mut Command) -> Result<(), ClusterError> {
        run_as(command, self.run_as.as_ref())
    }
}

fn run_as(command: &mut Command, user: Option<&User>) -> Result<(), ClusterError> {
    if let Some(user) = user {
        command.uid(user.uid.as_raw()).gid(user.gid.as_raw());
    }
    // The server's user may not be allowed into the caller's working directory.
    command.current_dir("/");
    let action = format!("{:?}", command.get_program());
    let output = command.output().map_err(|error| ClusterError::Command {
        action: action.clone(),
        detail: error.to_string(),
    })?;
    if output.status.success() {
        return Ok(());
    }
    Err(ClusterError::Command {
        action,
        detail: format!(
            "{}{}",
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        ),
    })
}

fn init_cluster(bin_dir: &Path, pgdata: &Path, user: Option<&User>) -> Result<(), ClusterError> {
    tracing::info!(data = %pgdata.display(), "initialising the embedded PostgreSQL cluster");
    run_as(
        Command::new(bin_dir.join("initdb"))
            .arg("-D")
            .arg(pgdata)
            .args([
                "-U",
                SUPERUSER,
                "-E",
                "UTF8",
                "--locale=C",
                "--auth-local=trust",
                "--auth-host=scram-sha-256",
            ]),
        user,
    )?;
    // Sized for bulk imports on a small machine; everything else stays at PostgreSQL's defaults.
    let conf = pgdata.join("postgresql.conf");
    let mut text = fs::read_to_string(&conf).map_err(io_error(&conf))?;
    text.push_str(
        "\n# obsportal embedded defaults\nshared_buffers = 256MB\nmax_wal_size = 4GB\n\
         maintenance_work_mem = 256MB\nwork_mem = 32MB\n",
    );
    fs::write(&conf, text).map_err(io_error(&conf))
}

/// `(pid, port)` from `postmaster.pid`, if there is one that can be read.
fn read_postmaster_pid(pgdata: &Path) -> Option<(i32, u16)> {
    let text = fs::read_to_string(pgdata.join("postmaster.pid")).ok()?;
    let mut lines = text.lines();
    let pid = lines.next()?.trim().parse().ok()?;
    let port = lines.nth(2)?.trim().parse().ok()?;
    Some((pid, port))
}

fn find_bin_dir() -> Result<PathBuf, ClusterError> {
    let has_initdb = |dir: &Path| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file();
    if let Some(dir) = std::env::var_os("OBSPORTAL_PG_BINDIR") {
        let dir = PathBuf::from(dir);
        return if has_initdb(&dir) {
            Ok(dir)
        } else {
            Err(ClusterError::BinariesNotFound)
        };
    }
    // pg_sphere is packaged for 15, so prefer it over any newer server that may be installed.
    let preferred = PathBuf::from("/usr/lib/postgresql/15/bin");
    if has_initdb(&preferred) {
        return Ok(preferred);
    }
    let mut versions: Vec<PathBuf> = fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .map(|entry| entry.path().join("bin"))
        .filter(|dir| has_initdb(dir))
        .collect();
    versions.sort();
    versions.pop().ok_or(ClusterError::BinariesNotFound)
}

fn unprivileged_user_if_root() -> Result<Option<User>, ClusterError> {
    if !Uid::effective().is_root() {
        return Ok(None);
    }
    let name = std::env::var("OBSPORTAL_PG_USER").unwrap_or_else(|_| "postgres".into());
    match User::from_name(&name) {
        Ok(Some(user)) if !user.uid.is_root() => Ok(Some(user)),
        _ => Err(ClusterError::NoUnprivilegedUser(name)),
    }
}

fn make_private_dir(dir: &Path, owner: Option<&User>) -> Result<(), ClusterError> {
    match fs::DirBuilder::new().mode(0o700).create(dir) {
        Ok(()) => {}
        Err(error) if error.kind() == ErrorKind::AlreadyExists => {}
        Err(error) => return Err(io_error(dir)(error)),
    }
    if let Some(user) = owner {
        chown(dir, Some(user.uid.as_raw()), Some(user.gid.as_raw())).map_err(io_error(dir))?;
    }
    // initdb and the server insist on 0700 (or 0750) for the data directory.
    fs::set_permissions(dir, fs::Permissions::from_mode(0o700)).map_err(io_error(dir))
}

/// Whether `user` can write `dir`, asked of the system as that user (ACLs, parents and all).
fn check_reachable(dir: &Path, user: &User) -> Result<(), ClusterError> {
    let reachable = run_as(Command::new("test").arg("-w").arg(dir), Some(user)).is_ok();
    if reachable {
        Ok(())
    } else {
        Err(ClusterError::NotReachable {
            user: user.name.clone(),
            dir: dir.to_owned(),
        })
    }
}

fn open_lock_file(path: &Path) -> Result<File, ClusterError> {
    OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(path)
        .map_err(io_error(path))
}

/// An exclusive lock released when the returned file is dropped.
fn exclusive_lock(path: &Path) -> Result<File, ClusterError> {
    let file = open_lock_file(path)?;
    file.lock().map_err(io_error(path))?;
    Ok(file)
}

fn free_loopback_port() -> Result<u16, ClusterError> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(io_error(Path::new("127.0.0.1:0")))?;
    Ok(listener
        .local_addr()
        .map_err(io_error(Path::new("127.0.0.1:0")))?
        .port())
}

fn tail(path: &Path, lines: usize) -> String {
    let text = fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}
