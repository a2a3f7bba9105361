//! Running jobs: each worker claims the oldest queued job, runs it as `/tap/sync` would, and
//! writes its result piece by piece; the sweeper takes back jobs whose server died and removes
//! jobs past their destruction time.

use std::time::Duration;

use futures_util::StreamExt;

use super::store::{self, End};
use super::{Job, Jobs};
use crate::http::Parameters;
use crate::tap::request::TapRequest;

/// How often an idle worker looks at the queue without being told of a change.
const POLL: Duration = Duration::from_secs(2);

pub(super) async fn work(jobs: Jobs) {
    let inner = &jobs.0;
    let mut events = inner.events.subscribe();
    let mut stopping = inner.stopping.subscribe();
    let lease = inner.settings.lease.as_secs_f64();
    while !*stopping.borrow() {
        match store::claim(&inner.pool, &inner.worker, lease).await {
            Ok(Some(job)) => {
                run(&jobs, job).await;
                continue;
            }
            Ok(None) => {}
            Err(error) => tracing::warn!(%error, "could not look at the job queue"),
        }
        tokio::select! {
            _ = events.recv() => {}
            () = tokio::time::sleep(POLL) => {}
            _ = stopping.changed() => {}
        }
    }
}

/// How a run stopped.
enum Outcome {
    /// It ran to an end, to be recorded.
    Ended(End),
    /// It is not this server's any more: aborted, deleted, or taken back.
    Gone,
    /// This server is stopping: the job goes back to the queue.
    Stopping,
}

async fn run(jobs: &Jobs, job: Job) {
    let inner = &jobs.0;
    inner
        .running
        .lock()
        .expect("not poisoned")
        .insert(job.id.clone());
    let mut events = inner.events.subscribe();
    let mut stopping = inner.stopping.subscribe();
    let lease = inner.settings.lease.as_secs_f64();
    let still_mine = || store::renew(&inner.pool, &job.id, &inner.worker, lease);
    // Boxed, so that dropping it ends it (and its query) before the end is recorded.
    let mut execution = Box::pin(execute(jobs, &job));
    let deadline = tokio::time::sleep(Duration::from_secs(job.execution_duration.into()));
    tokio::pin!(deadline);
    let mut renewal = tokio::time::interval(inner.settings.lease / 3);
    renewal.tick().await;
    let outcome = loop {
        tokio::select! {
            end = &mut execution => break Outcome::Ended(end),
            () = &mut deadline => break Outcome::Ended(End::Failed(format!(
                "the query ran longer than the job's execution duration of {} s and was \
                 cancelled: ask for a longer EXECUTIONDURATION (at most {} s), or fewer rows",
                job.execution_duration, inner.settings.max_duration
            ))),
            _ = stopping.changed() => break Outcome::Stopping,
            _ = renewal.tick() => {
                if !still_mine().await.unwrap_or(true) {
                    break Outcome::Gone;
                }
            }
            event = events.recv() => {
                let concerns_it = event.as_ref().map_or(true, |id| id == &job.id || id.is_empty());
                if concerns_it && !still_mine().await.unwrap_or(true) {
                    tracing::debug!(job = %job.id, "the job is not this server's any more");
                    break Outcome::Gone;
                }
            }
        }
    };
    // Dropping the execution cancels its query in PostgreSQL if it still runs.
    drop(execution);
    let recorded = match outcome {
        Outcome::Ended(end) => store::finish(&inner.pool, &job.id, &inner.worker, end)
            .await
            .map(|_| ()),
        // Only the partial result goes: the job's phase is someone else's now.
        Outcome::Gone => store::finish(
            &inner.pool,
            &job.id,
            &inner.worker,
            End::Failed(String::new()),
        )
        .await
        .map(|_| ()),
        Outcome::Stopping => {
            store::requeue(&inner.pool, std::slice::from_ref(&job.id), &inner.worker).await
        }
    };
    if let Err(error) = recorded {
        // The lease runs out and the sweeper takes the job back.
        tracing::error!(%error, job = %job.id, "could not record the end of a job");
    }
    inner.running.lock().expect("not poisoned").remove(&job.id);
}

/// Runs the job's TAP request and stores its result as it streams.
async fn execute(jobs: &Jobs, job: &Job) -> End {
    let inner = &jobs.0;
    let files = match store::files(&inner.pool, &job.id).await {
        Ok(files) => files,
        Err(error) => {
            tracing::error!(%error, job = %job.id, "could not read a job's uploads");
            return End::Failed("the job's uploaded tables could not be read".into());
        }
    };
    let parameters = Parameters {
        pairs: job.parameters.clone(),
        files,
    };
    let response = match TapRequest::read(&parameters) {
        Ok(request) => {
            let datalink = jobs.settings().datalink.clone();
            request.run(&inner.runner, &inner.uploads, datalink).await
        }
        Err(error) => Err(error),
    };
    let response = match response {
        Ok(response) => response,
        Err(error) => return End::Failed(error.message()),
    };
    let content_type = response
        .headers()
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("application/octet-stream")
        .to_string();
    let mut body = response.into_body().into_data_stream();
    let (mut piece, mut size) = (0i32, 0i64);
    while let Some(chunk) = body.next().await {
        let chunk = match chunk {
            Ok(chunk) => chunk,
            Err(error) => {
                return End::Failed(format!(
                    "the query failed while its result was written: {error}"
                ))
            }
        };
        if let Err(error) = store::write_piece(&inner.pool, &job.id, piece, &chunk).await {
            tracing::error!(%error, job = %job.id, "could not store a piece of a result");
            return End::Failed("the result could not be stored".into());
        }
        piece += 1;
        size += chunk.len() as i64;
    }
    End::Completed { content_type, size }
}

/// Every few seconds, on every server: jobs whose server stopped renewing their lease are
/// taken back, jobs past their destruction time removed. Both statements are safe to run on
/// several servers at once.
pub(super) async fn sweep(jobs: Jobs) {
    let inner = &jobs.0;
    let mut stopping = inner.stopping.subscribe();
    let period =
        (inner.settings.lease / 3).clamp(Duration::from_millis(200), Duration::from_secs(10));
    loop {
        tokio::select! {
            () = tokio::time::sleep(period) => {}
            _ = stopping.changed() => return,
        }
        match store::reclaim_expired(&inner.pool).await {
            Ok(0) => {}
            Ok(count) => tracing::warn!(count, "jobs whose server stopped were taken back"),
            Err(error) => tracing::warn!(%error, "could not look for abandoned jobs"),
        }
        match store::destroy_expired(&inner.pool).await {
            Ok(0) => {}
            Ok(count) => tracing::info!(count, "jobs past their destruction time removed"),
            Err(error) => tracing::warn!(%error, "could not remove old jobs"),
        }
    }
}
