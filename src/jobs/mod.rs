//! Async TAP jobs (UWS 1.1), kept in PostgreSQL and shared by every server on the database.
//!
//! `store.rs` is the job table: each change is one statement, announced with NOTIFY.
//! `events.rs` listens for those announcements, so that a blocking WAIT returns and an idle
//! worker starts the moment a job changes on any server. `worker.rs` runs queued jobs, a
//! bounded number at once per server: claimed with `FOR UPDATE SKIP LOCKED`, run through the
//! same TAP request as `/tap/sync` (on connections of their own, as the query role), their
//! result written piece by piece as it streams, a lease renewed while they run. A job whose
//! server dies is queued again when its lease runs out (or ends in ERROR after two tries);
//! a server that stops puts its jobs back in the queue at once. The sweeper also removes
//! jobs past their destruction time.

mod events;
mod store;
mod worker;

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Body;
use chrono::{DateTime, Utc};
use deadpool_postgres::Pool;
use futures_util::StreamExt;
use tokio::sync::watch;

use crate::db::QueryPool;
pub use store::{Change, CreateError, Job, JobRef, NewJob, Phase, StoreError};

/// How jobs are run and kept.
#[derive(Debug, Clone)]
pub struct JobSettings {
    /// Jobs this server runs at once.
    pub workers: usize,
    /// The longest a blocking WAIT blocks.
    pub wait_max: Duration,
    /// A job's execution duration unless the client asks [s], and the most it may ask.
    pub default_duration: u32,
    pub max_duration: u32,
    /// How long a job and its result are kept unless the client asks, and the most.
    pub retention: Duration,
    pub max_retention: Duration,
    /// How long a running job's server may go without renewing its claim before the job is
    /// taken back.
    pub lease: Duration,
    /// The DataLink endpoint on the service's public URL, which results of exposures name (a
    /// kept result cannot take it from the request that fetches it).
    pub datalink: Option<String>,
    /// The most bytes of uploaded tables one holder's unfinished jobs keep (see
    /// `NewJob::holder`).
    pub upload_quota: u64,
}

impl Default for JobSettings {
    fn default() -> Self {
        JobSettings {
            workers: 2,
            wait_max: Duration::from_secs(60),
            default_duration: 600,
            max_duration: 3600,
            retention: Duration::from_secs(3 * 24 * 3600),
            max_retention: Duration::from_secs(30 * 24 * 3600),
            lease: Duration::from_secs(30),
            datalink: None,
            upload_quota: 256 * 1024 * 1024,
        }
    }
}

/// This server's side of the job queue. Cheap to clone.
#[derive(Clone)]
pub struct Jobs(Arc<Inner>);

struct Inner {
    /// The owner's connections: the job table.
    pool: Pool,
    /// The connections jobs' queries run on (the query role; their statement timeout is the
    /// longest execution duration).
    runner: QueryPool,
    settings: JobSettings,
    /// What the jobs' uploaded tables may be.
    uploads: crate::upload::UploadLimits,
    /// Names this server's claims; new for every process.
    worker: String,
    events: events::Events,
    /// The jobs this server runs now.
    running: Mutex<HashSet<String>>,
    /// True once the server is stopping.
    stopping: watch::Sender<bool>,
    workers: Mutex<Vec<tokio::task::JoinHandle<()>>>,
}

impl Jobs {
    /// Starts listening for job changes, the workers and the sweeper.
    pub fn start(
        pool: Pool,
        runner: QueryPool,
        listen: tokio_postgres::Config,
        settings: JobSettings,
        uploads: crate::upload::UploadLimits,
    ) -> Jobs {
        let stopping = watch::channel(false).0;
        let jobs = Jobs(Arc::new(Inner {
            pool,
            runner,
            uploads,
            worker: format!("{}-{}", std::process::id(), new_id()),
            events: events::Events::listen(listen, stopping.subscribe()),
            running: Mutex::new(HashSet::new()),
            stopping,
            workers: Mutex::new(Vec::new()),
            settings,
        }));
        let mut handles = Vec::new();
        for _ in 0..jobs.0.settings.workers.max(1) {
            handles.push(tokio::spawn(worker::work(jobs.clone())));
        }
        handles.push(tokio::spawn(worker::sweep(jobs.clone())));
        *jobs.0.workers.lock().expect("not poisoned") = handles;
        jobs
    }

    pub fn settings(&self) -> &JobSettings {
        &self.0.settings
    }

    /// A new job, queued at once when `run` (UWS's PHASE=RUN at creation); refused when its
    /// uploads would take its holder past the upload quota.
    pub async fn create(&self, job: NewJob) -> Result<Job, CreateError> {
        store::insert(&self.0.pool, job, self.0.settings.upload_quota).await
    }

    pub async fn get(&self, id: &str) -> Result<Option<Job>, StoreError> {
        if !could_be_id(id) {
            return Ok(None);
        }
        store::get(&self.0.pool, id).await
    }

    pub async fn list(
        &self,
        owner: &str,
        phases: &[Phase],
        after: Option<DateTime<Utc>>,
        last: Option<i64>,
    ) -> Result<Vec<JobRef>, StoreError> {
        store::list(&self.0.pool, owner, phases, after, last).await
    }

    /// Applies a change; false when the job's phase does not allow it.
    pub async fn change(&self, id: &str, change: Change) -> Result<bool, StoreError> {
        if !could_be_id(id) {
            return Ok(false);
        }
        store::change(&self.0.pool, id, change).await
    }

    pub async fn delete(&self, id: &str) -> Result<bool, StoreError> {
        if !could_be_id(id) {
            return Ok(false);
        }
        store::delete(&self.0.pool, id).await
    }

    /// The job once it leaves `phase` (its phase now when None), changes in any other way, or
    /// `limit` passes, whichever comes first; at once when it is not in an active phase.
    /// UWS 1.1, 2.2.1.2. None when there is no such job.
    pub async fn wait(
        &self,
        id: &str,
        phase: Option<Phase>,
        limit: Duration,
    ) -> Result<Option<Job>, StoreError> {
        // Listening before reading: a change between the two is not missed.
        let mut events = self.0.events.subscribe();
        let mut stopping = self.0.stopping.subscribe();
        let Some(job) = self.get(id).await? else {
            return Ok(None);
        };
        let waited_in = phase.unwrap_or(job.phase);
        if !job.phase.is_active() || job.phase != waited_in || limit.is_zero() {
            return Ok(Some(job));
        }
        let deadline = tokio::time::Instant::now() + limit;
        loop {
            tokio::select! {
                () = tokio::time::sleep_until(deadline) => break,
                _ = stopping.changed() => break,
                event = events.recv() => match event {
                    Ok(changed) if changed != id && !changed.is_empty() => continue,
                    // This job, everyone (after a reconnection), or events were missed.
                    _ => break,
                },
            }
        }
        self.get(id).await
    }

    /// A completed job's result, streamed from its pieces in order (never held whole).
    pub async fn result(&self, id: &str) -> Result<Body, StoreError> {
        let client = self.0.pool.get().await?;
        let rows = client
            .query_raw(
                "SELECT data FROM obsportal.job_result WHERE job_id = $1 ORDER BY piece",
                [id],
            )
            .await?;
        // The connection goes with the stream, back to the pool when it ends.
        let pieces = rows.map(move |row| {
            let _holding = &client;
            row.map(|row| bytes::Bytes::from(row.get::<_, Vec<u8>>(0)))
                .map_err(std::io::Error::other)
        });
        // Fused: a body wrapper (gzip) may ask again after the end.
        Ok(Body::from_stream(futures_util::StreamExt::fuse(pieces)))
    }

    /// Tells the workers and waiters to stop, without waiting for them: blocking WAITs return
    /// at once, so that a server stopping does not wait for them.
    pub fn begin_stop(&self) {
        let _ = self.0.stopping.send(true);
    }

    /// Stops the workers; the jobs this server was running go back to the queue at once (the
    /// next server, or this one restarted, runs them). Blocking WAITs return.
    pub async fn stop(&self) {
        self.begin_stop();
        let handles = std::mem::take(&mut *self.0.workers.lock().expect("not poisoned"));
        for handle in handles {
            let _ = tokio::time::timeout(Duration::from_secs(5), handle).await;
        }
    }
}

/// Whether `id` has the shape `new_id` gives: anything else names no job, and is not sent to
/// the database (where a NUL byte, say, is an error rather than "no such job").
fn could_be_id(id: &str) -> bool {
    id.len() == 32 && id.bytes().all(|byte| byte.is_ascii_hexdigit())
}

/// 128 random bits from the operating system, in hex: a job id no one can guess.
pub fn new_id() -> String {
    use rand::RngCore;
    let mut bytes = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    bytes.iter().map(|byte| format!("{byte:02x}")).collect()
}
