//! The job table (migrations/0010): every read and change of a job is one statement here, and
//! every change of phase is announced (NOTIFY obsportal_jobs, the job's id) in the same
//! transaction, so that waiters and workers on every server hear of it when it is committed.

use chrono::{DateTime, Utc};
use deadpool_postgres::Pool;
use tokio_postgres::Row;

/// The channel phase changes are announced on.
pub(super) const CHANNEL: &str = "obsportal_jobs";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Pending,
    Queued,
    Executing,
    Completed,
    Error,
    Aborted,
}

impl Phase {
    pub const ALL: [Phase; 6] = [
        Phase::Pending,
        Phase::Queued,
        Phase::Executing,
        Phase::Completed,
        Phase::Error,
        Phase::Aborted,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Phase::Pending => "PENDING",
            Phase::Queued => "QUEUED",
            Phase::Executing => "EXECUTING",
            Phase::Completed => "COMPLETED",
            Phase::Error => "ERROR",
            Phase::Aborted => "ABORTED",
        }
    }

    pub fn named(name: &str) -> Option<Phase> {
        Phase::ALL
            .into_iter()
            .find(|phase| phase.name().eq_ignore_ascii_case(name.trim()))
    }

    /// PENDING, QUEUED, EXECUTING: the phases a blocking WAIT may wait in (UWS 1.1, 2.2.1.2).
    pub fn is_active(self) -> bool {
        matches!(self, Phase::Pending | Phase::Queued | Phase::Executing)
    }
}

/// A job as its document shows it.
#[derive(Debug, Clone)]
pub struct Job {
    pub id: String,
    pub owner: Option<String>,
    pub run_id: Option<String>,
    pub phase: Phase,
    pub parameters: Vec<(String, String)>,
    pub execution_duration: u32,
    pub destruction: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    pub error: Option<String>,
    pub result_type: Option<String>,
    pub result_size: Option<i64>,
}

const JOB_COLUMNS: &str = "id, owner, run_id, phase, parameters, execution_duration, destruction, \
     created_at, started_at, ended_at, error, result_type, result_size";

impl Job {
    fn from_row(row: &Row) -> Job {
        let parameters: serde_json::Value = row.get("parameters");
        let phase: &str = row.get("phase");
        Job {
            id: row.get("id"),
            owner: row.get("owner"),
            run_id: row.get("run_id"),
            phase: Phase::named(phase).expect("the table's CHECK admits known phases only"),
            parameters: serde_json::from_value(parameters).unwrap_or_default(),
            execution_duration: row.get::<_, i32>("execution_duration").max(0) as u32,
            destruction: row.get("destruction"),
            created_at: row.get("created_at"),
            started_at: row.get("started_at"),
            ended_at: row.get("ended_at"),
            error: row.get("error"),
            result_type: row.get("result_type"),
            result_size: row.get("result_size"),
        }
    }
}

/// A line of the job list.
#[derive(Debug, Clone)]
pub struct JobRef {
    pub id: String,
    pub phase: Phase,
    pub run_id: Option<String>,
    pub owner: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// What a new job is made of.
pub struct NewJob {
    pub id: String,
    pub owner: Option<String>,
    pub run_id: Option<String>,
    pub parameters: Vec<(String, String)>,
    pub execution_duration: u32,
    pub destruction: DateTime<Utc>,
    pub queued: bool,
    /// The request's uploaded parts, kept for the run.
    pub files: Vec<(String, bytes::Bytes)>,
    /// Whom the kept parts count against: the owner, or for an anonymous job the client's
    /// address (an anonymous job's id is secret, so no one else could run or delete it).
    pub holder: String,
}

pub type StoreError = Box<dyn std::error::Error + Send + Sync>;

/// Why a job was not created.
#[derive(Debug)]
pub enum CreateError {
    /// The holder's unfinished jobs already keep `held` bytes of uploads; with this job's they
    /// would pass `quota`.
    OverQuota {
        held: u64,
        adding: u64,
        quota: u64,
    },
    Store(StoreError),
}

impl<E: Into<StoreError>> From<E> for CreateError {
    fn from(error: E) -> Self {
        CreateError::Store(error.into())
    }
}

pub(super) async fn insert(pool: &Pool, job: NewJob, quota: u64) -> Result<Job, CreateError> {
    let mut client = pool.get().await?;
    let transaction = client.transaction().await?;
    let adding: u64 = job.files.iter().map(|(_, data)| data.len() as u64).sum();
    if adding > 0 {
        // One holder's creations one at a time, so that two cannot both fit the same room;
        // the sum in a statement of its own, whose snapshot sees what the lock waited for.
        transaction
            .execute(
                "SELECT pg_advisory_xact_lock(hashtextextended('job_upload ' || $1, 0))",
                &[&job.holder],
            )
            .await?;
        let held: i64 = transaction
            .query_one(
                "SELECT coalesce(sum(octet_length(u.data)), 0)::bigint
                   FROM obsportal.job_upload AS u JOIN obsportal.job AS j ON j.id = u.job_id
                  WHERE u.holder = $1 AND j.phase IN ('PENDING', 'QUEUED', 'EXECUTING')",
                &[&job.holder],
            )
            .await?
            .get(0);
        let held = held as u64;
        if held + adding > quota {
            return Err(CreateError::OverQuota {
                held,
                adding,
                quota,
            });
        }
    }
    let parameters = serde_json::to_value(&job.parameters)?;
    let phase = if job.queued { "QUEUED" } else { "PENDING" };
    let row = transaction
        .query_one(
            &format!(
                "INSERT INTO obsportal.job (id, owner, run_id, phase, parameters, execution_duration,
                                            destruction, queued_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, CASE WHEN $4 = 'QUEUED' THEN clock_timestamp() END)
                 RETURNING {JOB_COLUMNS}"
            ),
            &[
                &job.id,
                &job.owner,
                &job.run_id,
                &phase,
                &parameters,
                &(job.execution_duration as i32),
                &job.destruction,
            ],
        )
        .await?;
    for (part, data) in &job.files {
        transaction
            .execute(
                "INSERT INTO obsportal.job_upload (job_id, part, data, holder)
                 VALUES ($1, $2, $3, $4)",
                &[&job.id, part, &data.as_ref(), &job.holder],
            )
            .await?;
    }
    if job.queued {
        transaction
            .execute("SELECT pg_notify($1, $2)", &[&CHANNEL, &job.id])
            .await?;
    }
    transaction.commit().await?;
    Ok(Job::from_row(&row))
}

/// The uploaded parts a job's request carried.
pub(super) async fn files(
    pool: &Pool,
    id: &str,
) -> Result<Vec<(String, bytes::Bytes)>, StoreError> {
    let client = pool.get().await?;
    let rows = client
        .query(
            "SELECT part, data FROM obsportal.job_upload WHERE job_id = $1",
            &[&id],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|row| (row.get(0), bytes::Bytes::from(row.get::<_, Vec<u8>>(1))))
        .collect())
}

pub(super) async fn get(pool: &Pool, id: &str) -> Result<Option<Job>, StoreError> {
    let client = pool.get().await?;
    let row = client
        .query_opt(
            &format!("SELECT {JOB_COLUMNS} FROM obsportal.job WHERE id = $1"),
            &[&id],
        )
        .await?;
    Ok(row.as_ref().map(Job::from_row))
}

/// The jobs of `owner`, newest first, in `phases` (all when empty), created after `after`,
/// at most `last`.
pub(super) async fn list(
    pool: &Pool,
    owner: &str,
    phases: &[Phase],
    after: Option<DateTime<Utc>>,
    last: Option<i64>,
) -> Result<Vec<JobRef>, StoreError> {
    let client = pool.get().await?;
    let phases: Vec<&str> = phases.iter().map(|phase| phase.name()).collect();
    let rows = client
        .query(
            "SELECT id, phase, run_id, owner, created_at FROM obsportal.job
              WHERE owner = $1 AND (cardinality($2::text[]) = 0 OR phase = ANY($2))
                AND ($3::timestamptz IS NULL OR created_at > $3)
              ORDER BY created_at DESC, id DESC
              LIMIT $4",
            &[&owner, &phases, &after, &last],
        )
        .await?;
    Ok(rows
        .iter()
        .map(|row| JobRef {
            id: row.get(0),
            phase: Phase::named(row.get(1)).expect("known phase"),
            run_id: row.get(2),
            owner: row.get(3),
            created_at: row.get(4),
        })
        .collect())
}

/// Changes what may change of a job and announces it; `None` leaves a value as it is. Returns
/// false when no job had that id in one of the phases `only_in` (all when empty).
pub(super) async fn change(pool: &Pool, id: &str, change: Change) -> Result<bool, StoreError> {
    let client = pool.get().await?;
    let (sql, only_in): (&str, &[Phase]) = match &change {
        Change::Queue => (
            "UPDATE obsportal.job SET phase = 'QUEUED', queued_at = clock_timestamp()
              WHERE id = $1 AND phase = ANY($2)",
            &[Phase::Pending],
        ),
        Change::Abort => (
            "UPDATE obsportal.job SET phase = 'ABORTED', ended_at = clock_timestamp(),
                    worker = NULL, lease_until = NULL
              WHERE id = $1 AND phase = ANY($2)",
            &[Phase::Pending, Phase::Queued, Phase::Executing],
        ),
        Change::Destruction(_) => (
            "UPDATE obsportal.job SET destruction = $3 WHERE id = $1 AND phase = ANY($2)",
            &Phase::ALL,
        ),
        Change::ExecutionDuration(_) => (
            "UPDATE obsportal.job SET execution_duration = $3 WHERE id = $1 AND phase = ANY($2)",
            &[Phase::Pending, Phase::Queued],
        ),
        Change::Parameters(_) => (
            "UPDATE obsportal.job SET parameters = $3 WHERE id = $1 AND phase = ANY($2)",
            &[Phase::Pending],
        ),
    };
    let phases: Vec<&str> = only_in.iter().map(|phase| phase.name()).collect();
    let changed = match change {
        Change::Queue | Change::Abort => client.execute(sql, &[&id, &phases]).await?,
        Change::Destruction(at) => client.execute(sql, &[&id, &phases, &at]).await?,
        Change::ExecutionDuration(seconds) => {
            client
                .execute(sql, &[&id, &phases, &(seconds as i32)])
                .await?
        }
        Change::Parameters(parameters) => {
            let parameters = serde_json::to_value(parameters)?;
            client.execute(sql, &[&id, &phases, &parameters]).await?
        }
    };
    if changed > 0 {
        client
            .execute("SELECT pg_notify($1, $2)", &[&CHANNEL, &id])
            .await?;
    }
    Ok(changed > 0)
}

/// What a client may change of a job.
pub enum Change {
    Queue,
    Abort,
    Destruction(DateTime<Utc>),
    ExecutionDuration(u32),
    Parameters(Vec<(String, String)>),
}

/// Removes a job and its result; announces it to whoever runs or waits on it.
pub(super) async fn delete(pool: &Pool, id: &str) -> Result<bool, StoreError> {
    let client = pool.get().await?;
    let deleted = client
        .execute("DELETE FROM obsportal.job WHERE id = $1", &[&id])
        .await?;
    client
        .execute("SELECT pg_notify($1, $2)", &[&CHANNEL, &id])
        .await?;
    Ok(deleted > 0)
}

/// Claims the oldest queued job for `worker`, with a lease; None when the queue is empty. Two
/// servers never claim the same job: a row another transaction holds is skipped.
pub(super) async fn claim(
    pool: &Pool,
    worker: &str,
    lease_seconds: f64,
) -> Result<Option<Job>, StoreError> {
    let client = pool.get().await?;
    let row = client
        .query_opt(
            &format!(
                "UPDATE obsportal.job SET phase = 'EXECUTING', started_at = clock_timestamp(),
                        worker = $1, attempts = attempts + 1,
                        lease_until = clock_timestamp() + make_interval(secs => $2)
                  WHERE id = (SELECT id FROM obsportal.job WHERE phase = 'QUEUED'
                               ORDER BY queued_at, id LIMIT 1 FOR UPDATE SKIP LOCKED)
                  RETURNING {JOB_COLUMNS}"
            ),
            &[&worker, &lease_seconds],
        )
        .await?;
    let Some(row) = row else { return Ok(None) };
    let job = Job::from_row(&row);
    client
        .execute("SELECT pg_notify($1, $2)", &[&CHANNEL, &job.id])
        .await?;
    Ok(Some(job))
}

/// Extends the lease of a job `worker` runs; false when it no longer runs it (aborted,
/// deleted, or taken back after the lease ran out).
pub(super) async fn renew(
    pool: &Pool,
    id: &str,
    worker: &str,
    lease_seconds: f64,
) -> Result<bool, StoreError> {
    let client = pool.get().await?;
    let renewed = client
        .execute(
            "UPDATE obsportal.job SET lease_until = clock_timestamp() + make_interval(secs => $3)
              WHERE id = $1 AND worker = $2 AND phase = 'EXECUTING'",
            &[&id, &worker, &lease_seconds],
        )
        .await?;
    Ok(renewed > 0)
}

/// One piece of a running job's result, in order.
pub(super) async fn write_piece(
    pool: &Pool,
    id: &str,
    piece: i32,
    data: &[u8],
) -> Result<(), StoreError> {
    let client = pool.get().await?;
    client
        .execute(
            "INSERT INTO obsportal.job_result (job_id, piece, data) VALUES ($1, $2, $3)",
            &[&id, &piece, &data],
        )
        .await?;
    Ok(())
}

/// How a run ended.
pub(super) enum End {
    Completed { content_type: String, size: i64 },
    Failed(String),
}

/// Ends a job `worker` ran, unless it was aborted or taken back meanwhile (then nothing
/// changes, and its partial result goes). Returns whether the end was recorded.
pub(super) async fn finish(
    pool: &Pool,
    id: &str,
    worker: &str,
    end: End,
) -> Result<bool, StoreError> {
    let mut client = pool.get().await?;
    let transaction = client.transaction().await?;
    let (phase, error, content_type, size) = match &end {
        End::Completed { content_type, size } => {
            ("COMPLETED", None, Some(content_type.as_str()), Some(*size))
        }
        End::Failed(message) => ("ERROR", Some(message.as_str()), None, None),
    };
    let ended = transaction
        .execute(
            "UPDATE obsportal.job SET phase = $3, error = $4, result_type = $5, result_size = $6,
                    ended_at = clock_timestamp(), worker = NULL, lease_until = NULL
              WHERE id = $1 AND worker = $2 AND phase = 'EXECUTING'",
            &[&id, &worker, &phase, &error, &content_type, &size],
        )
        .await?;
    if ended == 0 || matches!(end, End::Failed(_)) {
        transaction
            .execute("DELETE FROM obsportal.job_result WHERE job_id = $1", &[&id])
            .await?;
    }
    transaction
        .execute("SELECT pg_notify($1, $2)", &[&CHANNEL, &id])
        .await?;
    transaction.commit().await?;
    Ok(ended > 0)
}

/// Jobs a worker stopped running without ending them (this server is stopping): back to the
/// queue at once, their partial results gone, the attempt not counted.
pub(super) async fn requeue(pool: &Pool, ids: &[String], worker: &str) -> Result<(), StoreError> {
    let mut client = pool.get().await?;
    let transaction = client.transaction().await?;
    let requeued = transaction
        .query(
            "UPDATE obsportal.job SET phase = 'QUEUED', queued_at = clock_timestamp(), worker = NULL,
                    lease_until = NULL, started_at = NULL, attempts = attempts - 1
              WHERE id = ANY($1) AND worker = $2 AND phase = 'EXECUTING' RETURNING id",
            &[&ids, &worker],
        )
        .await?;
    forget_results_and_announce(&transaction, &requeued).await?;
    transaction.commit().await?;
    Ok(())
}

/// Jobs whose server stopped renewing their lease (it died): queued again, or in ERROR once
/// they have been tried `MAX_ATTEMPTS` times, saying why. Returns how many.
pub(super) async fn reclaim_expired(pool: &Pool) -> Result<u64, StoreError> {
    let mut client = pool.get().await?;
    let transaction = client.transaction().await?;
    let expired = transaction
        .query(
            "UPDATE obsportal.job
                SET phase = CASE WHEN attempts < $1 THEN 'QUEUED' ELSE 'ERROR' END,
                    queued_at = clock_timestamp(),
                    ended_at = CASE WHEN attempts < $1 THEN NULL ELSE clock_timestamp() END,
                    error = CASE WHEN attempts < $1 THEN NULL ELSE
                        'the server running this job stopped ' || attempts ||
                        ' times before it ended; it is not tried again' END,
                    worker = NULL, lease_until = NULL
              WHERE phase = 'EXECUTING' AND lease_until < clock_timestamp()
              RETURNING id",
            &[&MAX_ATTEMPTS],
        )
        .await?;
    forget_results_and_announce(&transaction, &expired).await?;
    transaction.commit().await?;
    Ok(expired.len() as u64)
}

/// How many times a job is started before a server's death ends it in ERROR: a query that
/// kills its server must not kill every server in turn.
const MAX_ATTEMPTS: i32 = 2;

async fn forget_results_and_announce(
    transaction: &deadpool_postgres::Transaction<'_>,
    rows: &[Row],
) -> Result<(), StoreError> {
    let ids: Vec<String> = rows.iter().map(|row| row.get(0)).collect();
    transaction
        .execute(
            "DELETE FROM obsportal.job_result WHERE job_id = ANY($1)",
            &[&ids],
        )
        .await?;
    transaction
        .execute(
            "SELECT pg_notify($1, id) FROM unnest($2::text[]) AS id",
            &[&CHANNEL, &ids],
        )
        .await?;
    Ok(())
}

/// Removes the jobs past their destruction time, with their results, and the uploads of jobs
/// that ended (a job runs once). Returns how many jobs.
pub(super) async fn destroy_expired(pool: &Pool) -> Result<u64, StoreError> {
    let client = pool.get().await?;
    client
        .execute(
            "DELETE FROM obsportal.job_upload AS u USING obsportal.job AS j
              WHERE j.id = u.job_id AND j.phase IN ('COMPLETED', 'ERROR', 'ABORTED')",
            &[],
        )
        .await?;
    let destroyed = client
        .query(
            "DELETE FROM obsportal.job WHERE destruction < clock_timestamp() RETURNING id",
            &[],
        )
        .await?;
    let ids: Vec<String> = destroyed.iter().map(|row| row.get(0)).collect();
    client
        .execute(
            "SELECT pg_notify($1, id) FROM unnest($2::text[]) AS id",
            &[&CHANNEL, &ids],
        )
        .await?;
    Ok(ids.len() as u64)
}
