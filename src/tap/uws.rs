//! `/tap/async`: TAP's asynchronous queries as UWS 1.1 jobs (`jobs` runs and keeps them).
//!
//! Jobs belong to the user the operator's proxy names (`serve --user-header`); such a job is
//! seen by that user alone. Jobs created without one are anonymous: anyone holding the id
//! (128 random bits) may read or change it, and the job list of an anonymous client is
//! empty, since listing anonymous jobs would hand everyone's ids to anyone.

use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use chrono::{DateTime, NaiveDateTime, Utc};

use super::uws_document as document;
use crate::http::{service_url, AppState, ParameterError, Parameters, ServiceError, Surface};
use crate::jobs::{Change, CreateError, Job, NewJob, Phase};

pub(super) fn router(uploads_fit: axum::extract::DefaultBodyLimit) -> Router<AppState> {
    Router::new()
        .route("/async", get(list).post(create).layer(uploads_fit))
        .route("/async/{id}", get(job).post(job_post).delete(job_delete))
        .route("/async/{id}/results/result", get(result))
        .route("/async/{id}/{part}", get(part).post(part_post))
}

/// The parameters UWS reads itself at creation; all others are the TAP query's.
const CONTROL: [&str; 4] = ["PHASE", "RUNID", "EXECUTIONDURATION", "DESTRUCTION"];

fn jobs_url(headers: &HeaderMap) -> String {
    format!("{}/tap/async", service_url(headers))
}

fn see_other(location: &str) -> Response {
    (StatusCode::SEE_OTHER, [(header::LOCATION, location)]).into_response()
}

fn xml(body: String) -> Response {
    ([(header::CONTENT_TYPE, "text/xml; charset=utf-8")], body).into_response()
}

fn text(body: String) -> Response {
    ([(header::CONTENT_TYPE, "text/plain; charset=utf-8")], body).into_response()
}

fn unavailable(error: impl std::fmt::Display) -> ServiceError {
    tracing::error!(%error, "the job store could not answer");
    ServiceError::Unavailable
}

/// The job, when this client may see it: its owner's, or anonymous.
async fn visible(state: &AppState, headers: &HeaderMap, id: &str) -> Result<Job, ServiceError> {
    let job = state.jobs.get(id).await.map_err(unavailable)?;
    match job {
        Some(job) if job.owner.is_none() || job.owner == state.user(headers) => Ok(job),
        _ => Err(ServiceError::NotFound(format!("there is no job {id}"))),
    }
}

async fn list(
    State(state): State<AppState>,
    headers: HeaderMap,
    parameters: Result<Parameters, ParameterError>,
) -> Response {
    let answer = async {
        let parameters = parameters?;
        let phases = parameters
            .pairs
            .iter()
            .filter(|(name, _)| name.eq_ignore_ascii_case("PHASE"))
            .map(|(_, value)| {
                Phase::named(value).ok_or_else(|| {
                    ParameterError::invalid("PHASE", value, "a UWS phase such as EXECUTING")
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let after = parameters
            .single("AFTER")?
            .map(|text| {
                instant(text)
                    .ok_or_else(|| ParameterError::invalid("AFTER", text, "an ISO 8601 time"))
            })
            .transpose()?;
        let last = parameters.parsed::<i64>("LAST", "a whole number above 0")?;
        if last.is_some_and(|last| last < 1) {
            return Err(ParameterError::invalid(
                "LAST",
                &last.unwrap_or(0).to_string(),
                "a whole number above 0",
            )
            .into());
        }
        let jobs = match state.user(&headers) {
            Some(owner) => state
                .jobs
                .list(&owner, &phases, after, last)
                .await
                .map_err(unavailable)?,
            None => Vec::new(),
        };
        Ok(xml(document::job_list(&jobs, &jobs_url(&headers))))
    };
    Surface::Text.answer(answer.await)
}

async fn create(
    State(state): State<AppState>,
    headers: HeaderMap,
    extensions: axum::http::Extensions,
    parameters: Result<Parameters, ParameterError>,
) -> Response {
    let answer = async {
        let parameters = parameters?;
        let run = match parameters.single("PHASE")? {
            None => false,
            Some(phase) if phase.eq_ignore_ascii_case("RUN") => true,
            Some(other) => {
                return Err(ParameterError::invalid("PHASE", other, "RUN, or nothing").into())
            }
        };
        let settings = state.jobs.settings();
        let execution_duration = match parameters.single("EXECUTIONDURATION")? {
            None => settings.default_duration,
            Some(text) => duration(text, settings.max_duration)?,
        };
        let destruction = match parameters.single("DESTRUCTION")? {
            None => Utc::now() + settings.retention,
            Some(text) => destruction(text, settings.max_retention)?,
        };
        let query_parameters = parameters
            .pairs
            .iter()
            .filter(|(name, _)| !CONTROL.iter().any(|c| name.eq_ignore_ascii_case(c)))
            .cloned()
            .collect();
        let owner = state.user(&headers);
        // Anonymous uploads count against the client's address: its jobs' ids are its secret.
        // Users and addresses are named apart, so that no user name stands for an address.
        let holder = match &owner {
            Some(user) => format!("user {user}"),
            None => match state.client_queries.client(&headers, &extensions) {
                Some(address) => format!("address {address}"),
                None => "address unknown".to_string(),
            },
        };
        let job = state
            .jobs
            .create(NewJob {
                id: crate::jobs::new_id(),
                owner,
                run_id: parameters.single("RUNID")?.map(str::to_string),
                parameters: query_parameters,
                execution_duration,
                destruction,
                queued: run,
                files: parameters.files.clone(),
                holder,
            })
            .await
            .map_err(|error| match error {
                CreateError::OverQuota {
                    held,
                    adding,
                    quota,
                } => ServiceError::TooLarge(format!(
                    "this job's uploads ({adding} bytes) and those of your jobs not yet ended \
                     ({held} bytes) would pass the {quota} bytes this service keeps for one \
                     client: run, abort or delete some first"
                )),
                CreateError::Store(error) => unavailable(error),
            })?;
        Ok(see_other(&format!("{}/{}", jobs_url(&headers), job.id)))
    };
    Surface::Dali.answer(answer.await)
}

/// The job document; with WAIT, once the job changes (UWS 1.1 blocking).
async fn job(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    parameters: Result<Parameters, ParameterError>,
) -> Response {
    let answer = async {
        let parameters = parameters?;
        let mut job = visible(&state, &headers, &id).await?;
        if let Some(wait) = parameters.parsed::<i64>("WAIT", "seconds, or -1")? {
            let cap = state.jobs.settings().wait_max;
            let limit = if wait < 0 {
                cap
            } else {
                Duration::from_secs(wait as u64).min(cap)
            };
            let phase = parameters
                .single("PHASE")?
                .map(|text| {
                    Phase::named(text)
                        .ok_or_else(|| ParameterError::invalid("PHASE", text, "a UWS phase"))
                })
                .transpose()?;
            job = state
                .jobs
                .wait(&id, phase, limit)
                .await
                .map_err(unavailable)?
                .ok_or_else(|| ServiceError::NotFound(format!("there is no job {id}")))?;
        }
        Ok(xml(document::job(&job, &jobs_url(&headers))))
    };
    Surface::Text.answer(answer.await)
}

/// POST to a job: ACTION=DELETE, or PHASE, DESTRUCTION, EXECUTIONDURATION.
async fn job_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
    parameters: Result<Parameters, ParameterError>,
) -> Response {
    let answer = async {
        let parameters = parameters?;
        visible(&state, &headers, &id).await?;
        if let Some(action) = parameters.single("ACTION")? {
            if !action.eq_ignore_ascii_case("DELETE") {
                return Err(ParameterError::invalid("ACTION", action, "DELETE").into());
            }
            state.jobs.delete(&id).await.map_err(unavailable)?;
            return Ok(see_other(&jobs_url(&headers)));
        }
        for part in ["phase", "destruction", "executionduration"] {
            if let Some(value) = parameters.single(part)? {
                set(&state, &id, part, value).await?;
            }
        }
        Ok(see_other(&format!("{}/{id}", jobs_url(&headers))))
    };
    Surface::Text.answer(answer.await)
}

async fn job_delete(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let answer = async {
        visible(&state, &headers, &id).await?;
        state.jobs.delete(&id).await.map_err(unavailable)?;
        Ok(see_other(&jobs_url(&headers)))
    };
    Surface::Text.answer(answer.await)
}

/// One part of a job: phase, executionduration, destruction, quote, owner, runId (text),
/// error (the DALI error document), parameters and results (UWS documents).
async fn part(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((id, part)): Path<(String, String)>,
) -> Response {
    let answer = async {
        let job = visible(&state, &headers, &id).await?;
        Ok(match part.as_str() {
            "phase" => text(job.phase.name().to_string()),
            "executionduration" => text(job.execution_duration.to_string()),
            "destruction" => text(document::time(job.destruction)),
            "quote" => text(String::new()),
            "owner" => text(job.owner.clone().unwrap_or_default()),
            "runId" => text(job.run_id.clone().unwrap_or_default()),
            "parameters" => xml(document::parameters(&job)),
            "results" => xml(document::results(&job, &jobs_url(&headers))),
            "error" => match (&job.phase, &job.error) {
                (Phase::Error, Some(message)) => (
                    [(
                        header::CONTENT_TYPE,
                        "application/x-votable+xml; charset=utf-8",
                    )],
                    crate::votable::error_document(message),
                )
                    .into_response(),
                _ => return Err(ServiceError::NotFound(format!("job {id} has no error"))),
            },
            _ => return Err(ServiceError::NotFound(format!("a job has no {part}"))),
        })
    };
    Surface::Text.answer(answer.await)
}

/// POST to a part: phase (RUN, ABORT), destruction, executionduration, parameters.
async fn part_post(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path((id, part)): Path<(String, String)>,
    parameters: Result<Parameters, ParameterError>,
) -> Response {
    let answer = async {
        let parameters = parameters?;
        visible(&state, &headers, &id).await?;
        if part == "parameters" {
            let mut job = state
                .jobs
                .get(&id)
                .await
                .map_err(unavailable)?
                .ok_or_else(|| ServiceError::NotFound(format!("there is no job {id}")))?;
            for (name, value) in parameters.pairs {
                job.parameters
                    .retain(|(known, _)| !known.eq_ignore_ascii_case(&name));
                job.parameters.push((name, value));
            }
            if !state
                .jobs
                .change(&id, Change::Parameters(job.parameters))
                .await
                .map_err(unavailable)?
            {
                return Err(ServiceError::bad_request(
                    "parameters can only change while the job is PENDING",
                ));
            }
        } else {
            let value = parameters
                .required(&part.to_ascii_uppercase(), "the new value")?
                .to_string();
            set(&state, &id, &part, &value).await?;
        }
        Ok(see_other(&format!("{}/{id}", jobs_url(&headers))))
    };
    Surface::Text.answer(answer.await)
}

/// Sets the phase (RUN, ABORT), the destruction time or the execution duration.
async fn set(state: &AppState, id: &str, part: &str, value: &str) -> Result<(), ServiceError> {
    let settings = state.jobs.settings();
    let change = match part.to_ascii_lowercase().as_str() {
        "phase" if value.eq_ignore_ascii_case("RUN") => Change::Queue,
        "phase" if value.eq_ignore_ascii_case("ABORT") => Change::Abort,
        "phase" => return Err(ParameterError::invalid("PHASE", value, "RUN or ABORT").into()),
        "destruction" => Change::Destruction(destruction(value, settings.max_retention)?),
        "executionduration" => Change::ExecutionDuration(duration(value, settings.max_duration)?),
        other => {
            return Err(ServiceError::NotFound(format!(
                "a job's {other} cannot be set"
            )))
        }
    };
    // A change the phase does not allow (RUN on a running job, ABORT on an ended one) leaves
    // the job as it is, as UWS lets a service do; the client reads the job to see.
    state.jobs.change(id, change).await.map_err(unavailable)?;
    Ok(())
}

/// The result of a completed job, streamed from where it was stored.
async fn result(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let answer = async {
        let job = visible(&state, &headers, &id).await?;
        if job.phase != Phase::Completed {
            return Err(ServiceError::NotFound(format!(
                "job {id} has no result: it is {}",
                job.phase.name()
            )));
        }
        let body = state.jobs.result(&id).await.map_err(unavailable)?;
        let content_type = job
            .result_type
            .unwrap_or_else(|| "application/octet-stream".into());
        Ok(([(header::CONTENT_TYPE, content_type)], body).into_response())
    };
    Surface::Text.answer(answer.await)
}

/// EXECUTIONDURATION in seconds; 0 (no limit, in UWS) and anything longer are the most.
fn duration(text: &str, max: u32) -> Result<u32, ServiceError> {
    let seconds: i64 = text.trim().parse().map_err(|_| {
        ParameterError::invalid("EXECUTIONDURATION", text, "a whole number of seconds")
    })?;
    if seconds < 0 {
        return Err(ParameterError::invalid(
            "EXECUTIONDURATION",
            text,
            "a whole number of seconds",
        )
        .into());
    }
    Ok(if seconds == 0 {
        max
    } else {
        (seconds as u64).min(max.into()) as u32
    })
}

/// DESTRUCTION as ISO 8601 (UTC when no zone is given), no later than the longest retention.
fn destruction(text: &str, max_retention: Duration) -> Result<DateTime<Utc>, ServiceError> {
    let at = instant(text).ok_or_else(|| {
        ParameterError::invalid(
            "DESTRUCTION",
            text,
            "an ISO 8601 time, e.g. 2030-01-01T00:00:00Z",
        )
    })?;
    Ok(at.min(Utc::now() + max_retention))
}

fn instant(text: &str) -> Option<DateTime<Utc>> {
    let text = text.trim();
    DateTime::parse_from_rfc3339(text)
        .map(|at| at.with_timezone(&Utc))
        .ok()
        .or_else(|| {
            NaiveDateTime::parse_from_str(text.trim_end_matches('Z'), "%Y-%m-%dT%H:%M:%S%.f")
                .ok()
                .map(|at| at.and_utc())
        })
        .or_else(|| {
            chrono::NaiveDate::parse_from_str(text, "%Y-%m-%d")
                .ok()
                .map(|day| day.and_hms_opt(0, 0, 0).expect("midnight").and_utc())
        })
}
