//! Every request gets an id: the one the client or the operator's proxy sent in `X-Request-Id`
//! (when it is short, printable ASCII), or a new one. It goes back in the answer's
//! `X-Request-Id`, and everything logged while the request is served carries it (a `request`
//! span), so an operator finds a user's complaint in the logs, and the query it runs names it
//! in PostgreSQL's `application_name` (`current`), so `pg_stat_activity` does too. Each answer
//! is counted for `/metrics` here too.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;

pub static HEADER: HeaderName = HeaderName::from_static("x-request-id");

tokio::task_local! {
    static CURRENT: String;
}

/// The id of the request being served on this task, if any.
pub fn current() -> Option<String> {
    CURRENT.try_with(String::clone).ok()
}

pub async fn tag(mut request: Request, next: Next) -> Response {
    let id = request
        .headers()
        .get(&HEADER)
        .and_then(|value| value.to_str().ok())
        .filter(|id| !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_string)
        .unwrap_or_else(new_id);
    let value = HeaderValue::from_str(&id).expect("printable ASCII");
    request.headers_mut().insert(&HEADER, value.clone());
    let span = tracing::info_span!(
        "request",
        id = %id,
        method = %request.method(),
        path = %request.uri().path()
    );
    // Classified before the request moves on: nothing is copied per request.
    let surface = super::metrics::surface_of(request.uri().path());
    let started = Instant::now();
    let mut response = CURRENT
        .scope(id, next.run(request).instrument(span.clone()))
        .await;
    super::metrics::record(surface, response.status().as_u16(), started.elapsed());
    span.in_scope(|| {
        tracing::debug!(
            status = response.status().as_u16(),
            ms = started.elapsed().as_secs_f64() * 1000.0,
            "answered"
        )
    });
    response.headers_mut().insert(&HEADER, value);
    response
}

/// This process's requests, numbered, after a random prefix (processes differ).
fn new_id() -> String {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    static PREFIX: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        use rand::RngCore;
        format!("{:08x}", rand::rngs::OsRng.next_u32())
    });
    format!("{}-{}", *PREFIX, NEXT.fetch_add(1, Ordering::Relaxed))
}
