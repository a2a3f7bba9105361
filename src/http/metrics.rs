//! `/metrics`: what an operator's Prometheus scrapes, in its text format. Requests counted per
//! surface and status class, with a histogram of the time to the answer's head (a stream goes
//! on after it); the rows and bytes of query results sent (streams counted as they go); at
//! each scrape, the connection pools (size, idle, waiting), the async jobs by phase, and what
//! the imports and harvests (separate processes, a CronJob's) recorded in the database.

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::LazyLock;
use std::time::Duration;

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};

use super::AppState;

/// The surfaces requests are counted by, and how a path is told to be one.
const SURFACES: &[(&str, &str)] = &[
    ("tap_sync", "/tap/sync"),
    ("tap_async", "/tap/async"),
    ("tap_metadata", "/tap"),
    ("api", "/search.votable"),
    ("scs", "/scs"),
    ("datalink", "/datalink"),
    ("changes", "/changes"),
    ("moc", "/moc"),
    ("probes", "/healthz"),
    ("probes", "/readyz"),
    ("metrics", "/metrics"),
];
/// Everything else: the web pages.
const PAGES: &str = "pages";
/// Upper bounds of the duration buckets [s].
const BUCKETS: &[f64] = &[
    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0, 60.0,
];
const CLASSES: [&str; 5] = ["1xx", "2xx", "3xx", "4xx", "5xx"];

#[derive(Default)]
struct Surface {
    by_class: [AtomicU64; 5],
    /// Counts per bucket (not cumulative; summed when written), the last one +Inf.
    buckets: [AtomicU64; 13],
    micros: AtomicU64,
}

struct Metrics {
    names: Vec<&'static str>,
    surfaces: Vec<Surface>,
}

/// Query results sent (TAP, the API, cone search): rows, and bytes before compression.
static RESULT_ROWS: AtomicU64 = AtomicU64::new(0);
static RESULT_BYTES: AtomicU64 = AtomicU64::new(0);

/// Counts rows of a query result as written (`results`).
pub fn result_rows(rows: u64) {
    RESULT_ROWS.fetch_add(rows, Ordering::Relaxed);
}

/// Counts bytes of a query result as sent (`results`).
pub fn result_bytes(bytes: usize) {
    RESULT_BYTES.fetch_add(bytes as u64, Ordering::Relaxed);
}

static METRICS: LazyLock<Metrics> = LazyLock::new(|| {
    let mut names: Vec<&'static str> = SURFACES.iter().map(|(name, _)| *name).collect();
    names.push(PAGES);
    names.dedup();
    let surfaces = names.iter().map(|_| Surface::default()).collect();
    Metrics { names, surfaces }
});

/// The surface a request's path belongs to, as `record` counts it.
pub fn surface_of(path: &str) -> &'static str {
    SURFACES
        .iter()
        .find(|(_, prefix)| {
            path == *prefix
                || path
                    .strip_prefix(prefix)
                    .is_some_and(|rest| rest.starts_with('/'))
        })
        .map_or(PAGES, |(name, _)| name)
}

/// Counts one answered request of a surface (`surface_of`).
pub fn record(name: &str, status: u16, elapsed: Duration) {
    let metrics = &*METRICS;
    let Some(index) = metrics.names.iter().position(|n| *n == name) else {
        return;
    };
    let surface = &metrics.surfaces[index];
    let class = usize::from(status / 100).clamp(1, 5) - 1;
    surface.by_class[class].fetch_add(1, Ordering::Relaxed);
    let seconds = elapsed.as_secs_f64();
    let bucket = BUCKETS
        .iter()
        .position(|bound| seconds <= *bound)
        .unwrap_or(BUCKETS.len());
    surface.buckets[bucket].fetch_add(1, Ordering::Relaxed);
    surface
        .micros
        .fetch_add(elapsed.as_micros() as u64, Ordering::Relaxed);
}

pub async fn scrape(State(state): State<AppState>) -> Response {
    let mut out = String::new();
    let metrics = &*METRICS;
    family(
        &mut out,
        "requests_total",
        "counter",
        "Requests answered, by surface and status class",
    );
    for (name, surface) in metrics.names.iter().zip(&metrics.surfaces) {
        for (class, count) in CLASSES.iter().zip(&surface.by_class) {
            let _ = writeln!(
                out,
                "obsportal_requests_total{{surface=\"{name}\",status=\"{class}\"}} {}",
                count.load(Ordering::Relaxed)
            );
        }
    }
    family(
        &mut out,
        "request_seconds",
        "histogram",
        "Time to the answer's head, by surface",
    );
    for (name, surface) in metrics.names.iter().zip(&metrics.surfaces) {
        let mut cumulative = 0;
        for (index, bound) in BUCKETS
            .iter()
            .map(|b| b.to_string())
            .chain(["+Inf".to_string()])
            .enumerate()
        {
            cumulative += surface.buckets[index].load(Ordering::Relaxed);
            let _ = writeln!(
                out,
                "obsportal_request_seconds_bucket{{surface=\"{name}\",le=\"{bound}\"}} {cumulative}"
            );
        }
        let _ = writeln!(
            out,
            "obsportal_request_seconds_sum{{surface=\"{name}\"}} {}",
            surface.micros.load(Ordering::Relaxed) as f64 / 1e6
        );
        let _ = writeln!(
            out,
            "obsportal_request_seconds_count{{surface=\"{name}\"}} {cumulative}"
        );
    }
    for (name, help, total) in [
        ("rows", "Rows of query results written", &RESULT_ROWS),
        (
            "bytes",
            "Bytes of query results sent, before compression",
            &RESULT_BYTES,
        ),
    ] {
        family(&mut out, &format!("result_{name}_total"), "counter", help);
        let _ = writeln!(
            out,
            "obsportal_result_{name}_total {}",
            total.load(Ordering::Relaxed)
        );
    }
    family(
        &mut out,
        "pool_connections",
        "gauge",
        "Database connections per pool: open, idle, and requests waiting for one",
    );
    for (name, pool) in [
        ("owner", &state.pool),
        ("queries", &state.reader.pool),
        ("pages", &state.pages.pool),
    ] {
        let status = pool.status();
        for (kind, value) in [
            ("open", status.size),
            ("idle", status.available),
            ("waiting", status.waiting),
        ] {
            let _ = writeln!(
                out,
                "obsportal_pool_connections{{pool=\"{name}\",state=\"{kind}\"}} {value}"
            );
        }
    }
    if let Ok(client) = state.pool.get().await {
        if let Ok(rows) = client
            .query(
                "SELECT phase, count(*) FROM obsportal.job GROUP BY phase ORDER BY phase",
                &[],
            )
            .await
        {
            family(
                &mut out,
                "jobs",
                "gauge",
                "Async jobs in the store, by phase",
            );
            for row in rows {
                let (phase, count): (String, i64) = (row.get(0), row.get(1));
                let _ = writeln!(out, "obsportal_jobs{{phase=\"{phase}\"}} {count}");
            }
        }
        write_imports(&client, &mut out).await;
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        out,
    )
        .into_response()
}

/// Imports and harvests run as processes of their own (`obsportal ingest`, `harvest`): their
/// counts are read from what they committed, so every replica reports the same.
async fn write_imports(client: &tokio_postgres::Client, out: &mut String) {
    let Ok(row) = client
        .query_one(
            "SELECT count(*)::float8, coalesce(sum(headers_read), 0)::float8, \
                    coalesce(sum(accepted), 0)::float8, \
                    coalesce(extract(epoch FROM max(finished_at)), 0)::float8, \
                    (SELECT count(*) FROM obsportal.harvest_failure)::float8, \
                    (SELECT coalesce(extract(epoch FROM max(updated_at)), 0) \
                       FROM obsportal.harvest_cursor)::float8 \
             FROM obsportal.import WHERE finished_at IS NOT NULL",
            &[],
        )
        .await
    else {
        return;
    };
    let series = [
        ("imports_total", "counter", "Imports committed"),
        (
            "import_headers_read_total",
            "counter",
            "Headers read by committed imports",
        ),
        (
            "import_headers_accepted_total",
            "counter",
            "Headers committed imports published",
        ),
        (
            "import_last_timestamp_seconds",
            "gauge",
            "When the last import committed (0: never)",
        ),
        (
            "harvest_failed_frames",
            "gauge",
            "Frames whose header a harvest could not fetch yet",
        ),
        (
            "harvest_last_timestamp_seconds",
            "gauge",
            "When a harvest last moved its cursor (0: never)",
        ),
    ];
    for (index, (name, kind, help)) in series.iter().enumerate() {
        let value: f64 = row.get(index);
        family(out, name, kind, help);
        let _ = writeln!(out, "obsportal_{name} {value}");
    }
}

/// The HELP and TYPE lines of the family `obsportal_<name>`.
fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP obsportal_{name} {help}.");
    let _ = writeln!(out, "# TYPE obsportal_{name} {kind}");
}
