//! Keeping the database current from ESO's archive instead of hand-fed files.
//!
//! `obsportal harvest eso` asks ESO's TAP service for the raw frames of the interferometric
//! instruments changed since the last harvest, in pages ordered by modification date, fetches
//! each frame's primary header from ESO's header service (a few at a time, retrying with
//! backoff), and imports each page through the normal ingest path, one transaction per page.
//! After a page commits, the cursor (`obsportal.harvest_cursor`) moves past its last frame: an
//! interrupted harvest goes on from the last committed page, and importing a page twice changes
//! nothing. A frame whose header cannot be fetched is recorded with the reason
//! (`obsportal.harvest_failure`) and tried again first by the next harvest.

mod eso;

use std::io::Write;
use std::time::Duration;

use futures_util::StreamExt;

use crate::ingest::{self, ImportSummary, IngestError, Progress};
use eso::{Cursor, Frame};

const SOURCE: &str = "eso";

/// Where ESO's services are and how hard to ask them.
#[derive(Debug, Clone)]
pub struct EsoSettings {
    /// The TAP service's base URL; queries go to `{tap_url}/sync`.
    pub tap_url: String,
    /// The header service; a header is `{header_url}?DpId=...`.
    pub header_url: String,
    /// Start after this modification date instead of where the last harvest stopped.
    pub since: Option<String>,
    /// Frames per TAP page, and so per import transaction.
    pub batch: usize,
    /// Headers fetched at once.
    pub concurrency: usize,
    /// Tries per header before it is recorded as failed.
    pub attempts: u32,
    /// The wait before the second try, doubled before each later one.
    pub backoff: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum HarvestError {
    #[error("ESO's TAP service: {0}")]
    Tap(String),
    #[error("database: {0}")]
    Postgres(#[from] tokio_postgres::Error),
    #[error("database connection pool: {0}")]
    Pool(#[from] deadpool_postgres::PoolError),
    #[error("import: {0}")]
    Import(#[from] IngestError),
    #[error("{path}: {error}")]
    Io { path: String, error: std::io::Error },
}

/// What a harvest did.
#[derive(Debug, Default)]
pub struct HarvestSummary {
    pub frames_listed: u64,
    pub headers_fetched: u64,
    pub exposures_accepted: u64,
    pub headers_new: u64,
    pub headers_changed: u64,
    /// Frames whose header could not be had this time, with why.
    pub failed: Vec<(String, String)>,
    /// Frames that had failed before and were fetched now.
    pub recovered: u64,
}

impl std::fmt::Display for HarvestSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "harvest finished: {} frames listed, {} headers fetched ({} new, {} changed), {} exposures accepted, {} earlier failures recovered",
            self.frames_listed,
            self.headers_fetched,
            self.headers_new,
            self.headers_changed,
            self.exposures_accepted,
            self.recovered
        )?;
        write!(f, "  headers not fetched: {}", self.failed.len())?;
        for (dp_id, reason) in &self.failed {
            write!(f, "\n    {dp_id}: {reason}")?;
        }
        Ok(())
    }
}

/// Harvests ESO's interferometric raw frames into the database behind `pool`.
pub async fn harvest_eso(
    pool: &deadpool_postgres::Pool,
    settings: &EsoSettings,
) -> Result<HarvestSummary, HarvestError> {
    let http = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(10))
        .timeout(Duration::from_secs(120))
        .build()
        .map_err(|error| HarvestError::Tap(error.to_string()))?;
    let mut summary = HarvestSummary::default();
    let mut client = pool.get().await?;

    // Frames that failed last time come first.
    let earlier: Vec<String> = client
        .query(
            "SELECT dp_id FROM obsportal.harvest_failure WHERE source = $1 ORDER BY dp_id",
            &[&SOURCE],
        )
        .await?
        .iter()
        .map(|row| row.get(0))
        .collect();
    if !earlier.is_empty() {
        tracing::info!(
            frames = earlier.len(),
            "fetching the headers that failed last time"
        );
        let fetched = import_frames(&http, &mut client, settings, &earlier, &mut summary).await?;
        summary.recovered += fetched;
    }

    let stored = client
        .query_opt(
            "SELECT last_mod_date, dp_id FROM obsportal.harvest_cursor WHERE source = $1",
            &[&SOURCE],
        )
        .await?;
    let mut cursor = match (&settings.since, stored) {
        (Some(since), _) => Cursor {
            last_mod_date: since.clone(),
            dp_id: String::new(),
        },
        (None, Some(row)) => Cursor {
            last_mod_date: row.get(0),
            dp_id: row.get(1),
        },
        (None, None) => Cursor {
            last_mod_date: "1900-01-01".into(),
            dp_id: String::new(),
        },
    };
    loop {
        let frames = list_frames(&http, settings, &cursor).await?;
        summary.frames_listed += frames.len() as u64;
        let Some(last) = frames.last().cloned() else {
            break;
        };
        let ids: Vec<String> = frames.iter().map(|frame| frame.dp_id.clone()).collect();
        import_frames(&http, &mut client, settings, &ids, &mut summary).await?;
        cursor = Cursor {
            last_mod_date: last.last_mod_date,
            dp_id: last.dp_id,
        };
        client
            .execute(
                "INSERT INTO obsportal.harvest_cursor (source, last_mod_date, dp_id) VALUES ($1, $2, $3)
                 ON CONFLICT (source) DO UPDATE
                    SET last_mod_date = excluded.last_mod_date, dp_id = excluded.dp_id, updated_at = now()",
                &[&SOURCE, &cursor.last_mod_date, &cursor.dp_id],
            )
            .await?;
        tracing::info!(
            frames = summary.frames_listed,
            fetched = summary.headers_fetched,
            failed = summary.failed.len(),
            up_to = %cursor.last_mod_date,
            "harvested a page"
        );
        if frames.len() < settings.batch {
            break;
        }
    }
    Ok(summary)
}

/// The next page of frames after `cursor`.
async fn list_frames(
    http: &reqwest::Client,
    settings: &EsoSettings,
    cursor: &Cursor,
) -> Result<Vec<Frame>, HarvestError> {
    let query = eso::frames_after(cursor, settings.batch);
    let url = format!("{}/sync", settings.tap_url.trim_end_matches('/'));
    let form = [
        ("REQUEST", "doQuery"),
        ("LANG", "ADQL"),
        ("FORMAT", "votable"),
        ("QUERY", query.as_str()),
    ];
    let (url, form) = (&url, &form);
    let answer = with_retries(settings, || async move {
        let response = http
            .post(url)
            .form(form)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status();
        let text = response.text().await.map_err(|e| e.to_string())?;
        // A TAP error document comes with a 4xx: its message says more than the status.
        match eso::read_frames(&text) {
            Err(message) if status.is_success() || message.starts_with("the TAP") => {
                Err(Retry::Final(message))
            }
            Err(_) => Err(Retry::Again(format!("HTTP {status}"))),
            Ok(frames) => Ok(frames),
        }
    })
    .await;
    answer.map_err(HarvestError::Tap)
}

/// Fetches the headers of `dp_ids` and imports those fetched in one transaction; records the
/// ones that failed, and forgets earlier failures that succeeded. Returns how many were fetched.
async fn import_frames(
    http: &reqwest::Client,
    client: &mut deadpool_postgres::Client,
    settings: &EsoSettings,
    dp_ids: &[String],
    summary: &mut HarvestSummary,
) -> Result<u64, HarvestError> {
    let results: Vec<(String, Result<String, String>)> =
        futures_util::stream::iter(dp_ids.iter().cloned())
            .map(|dp_id| async move {
                let header = fetch_header(http, settings, &dp_id).await;
                (dp_id, header)
            })
            .buffer_unordered(settings.concurrency.max(1))
            .collect()
            .await;
    let (fetched, failed): (Vec<_>, Vec<_>) =
        results.into_iter().partition(|(_, header)| header.is_ok());
    let count = fetched.len() as u64;
    if !fetched.is_empty() {
        let path = std::env::temp_dir().join(format!(
            "obsportal-harvest-{}-{}.hdr",
            std::process::id(),
            fetched[0].0.replace(['/', ':'], "_")
        ));
        let written = (|| {
            let mut file = std::fs::File::create(&path)?;
            for (_, header) in &fetched {
                file.write_all(header.as_ref().expect("fetched").as_bytes())?;
            }
            file.sync_all()
        })();
        written.map_err(|error| HarvestError::Io {
            path: path.display().to_string(),
            error,
        })?;
        let imported = ingest::import(client, vec![path.clone()], Progress::Quiet).await;
        let _ = std::fs::remove_file(&path);
        let imported: ImportSummary = imported?;
        summary.headers_fetched += fetched.len() as u64;
        summary.exposures_accepted += imported.accepted;
        summary.headers_new += imported.headers_new;
        summary.headers_changed += imported.headers_changed;
        let done: Vec<&str> = fetched.iter().map(|(id, _)| id.as_str()).collect();
        client
            .execute(
                "DELETE FROM obsportal.harvest_failure WHERE source = $1 AND dp_id = ANY($2)",
                &[&SOURCE, &done],
            )
            .await?;
    }
    for (dp_id, header) in failed {
        let reason = header.expect_err("failed");
        client
            .execute(
                "INSERT INTO obsportal.harvest_failure (source, dp_id, reason) VALUES ($1, $2, $3)
                 ON CONFLICT (source, dp_id) DO UPDATE
                    SET reason = excluded.reason, attempts = harvest_failure.attempts + 1, last_attempt = now()",
                &[&SOURCE, &dp_id, &reason],
            )
            .await?;
        tracing::warn!(%dp_id, %reason, "header not fetched; the next harvest tries again");
        summary.failed.push((dp_id, reason));
    }
    Ok(count)
}

/// One frame's header text from the header service.
async fn fetch_header(
    http: &reqwest::Client,
    settings: &EsoSettings,
    dp_id: &str,
) -> Result<String, String> {
    let url = &settings.header_url;
    with_retries(settings, || async move {
        let response = http
            .get(url)
            .query(&[("DpId", dp_id)])
            .send()
            .await
            .map_err(|e| Retry::Again(e.to_string()))?;
        let status = response.status();
        if status.is_server_error() || status == reqwest::StatusCode::TOO_MANY_REQUESTS {
            return Err(Retry::Again(format!(
                "the header service answered HTTP {status}"
            )));
        }
        if !status.is_success() {
            return Err(Retry::Final(format!(
                "the header service answered HTTP {status}"
            )));
        }
        let page = response
            .text()
            .await
            .map_err(|e| Retry::Again(e.to_string()))?;
        eso::header_from_page(&page)
            .ok_or_else(|| Retry::Final("the header service's page holds no header".into()))
    })
    .await
}

/// Whether a failed request is worth trying again.
enum Retry {
    Again(String),
    Final(String),
}

impl From<String> for Retry {
    fn from(message: String) -> Self {
        Retry::Again(message)
    }
}

/// Runs `attempt` up to `settings.attempts` times, waiting `backoff`, then twice as long...
async fn with_retries<T, F, Fut>(settings: &EsoSettings, mut attempt: F) -> Result<T, String>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, Retry>>,
{
    let mut wait = settings.backoff;
    let mut tries = 0;
    loop {
        tries += 1;
        match attempt().await {
            Ok(value) => return Ok(value),
            Err(Retry::Final(message)) => return Err(message),
            Err(Retry::Again(message)) if tries >= settings.attempts => {
                return Err(format!("{message} ({tries} tries)"))
            }
            Err(Retry::Again(_)) => {
                tokio::time::sleep(wait).await;
                wait *= 2;
            }
        }
    }
}
