//! Per-client fairness: at most so many queries of one client address run at once (a query
//! lasts until its answer has been sent). One client's burst then waits its turn, answered 429
//! with `Retry-After` and an error document, instead of taking every connection to the
//! database from everyone else.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt;

use super::AppState;

/// The paths whose requests run a user's query at once.
const QUERY_PATHS: [&str; 3] = ["/tap/sync", "/search.votable", "/scs"];

/// How many queries each client address runs now.
#[derive(Clone, Default)]
pub struct ClientQueries {
    /// The most one address may run at once; 0: no limit.
    pub max: usize,
    /// The header in which the operator's reverse proxy gives the client's address (the first
    /// of `X-Forwarded-For`'s list, say); None: the address the connection comes from.
    pub address_header: Option<axum::http::HeaderName>,
    running: Arc<Mutex<HashMap<IpAddr, usize>>>,
}

impl ClientQueries {
    pub fn new(max: usize, address_header: Option<axum::http::HeaderName>) -> ClientQueries {
        ClientQueries {
            max,
            address_header,
            running: Arc::default(),
        }
    }

    /// Who sent a request: the proxy's word when the operator trusts it, else the peer.
    pub fn client(
        &self,
        headers: &axum::http::HeaderMap,
        extensions: &axum::http::Extensions,
    ) -> Option<IpAddr> {
        if let Some(name) = &self.address_header {
            let given = headers.get(name)?.to_str().ok()?;
            return given.split(',').next()?.trim().parse().ok();
        }
        extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|info| info.0.ip())
    }

    /// A place for one more query of `client`, or None when it runs its most already.
    fn enter(&self, client: IpAddr) -> Option<Running> {
        let mut running = self.running.lock().expect("not poisoned");
        let count = running.entry(client).or_insert(0);
        if *count >= self.max {
            return None;
        }
        *count += 1;
        Some(Running {
            queries: self.clone(),
            client,
        })
    }
}

/// One running query; its place is freed when this is dropped.
struct Running {
    queries: ClientQueries,
    client: IpAddr,
}

impl Drop for Running {
    fn drop(&mut self) {
        let mut running = self.queries.running.lock().expect("not poisoned");
        if let Some(count) = running.get_mut(&self.client) {
            *count -= 1;
            if *count == 0 {
                running.remove(&self.client);
            }
        }
    }
}

/// The middleware: counts a query from its request until its answer's body is sent or
/// dropped (a streamed result holds its place while it streams).
pub async fn limit(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let queries = &state.client_queries;
    // Most requests are not limited: nothing is read or allocated for them.
    if queries.max == 0 || !QUERY_PATHS.contains(&request.uri().path()) {
        return next.run(request).await;
    }
    let Some(client) = queries.client(request.headers(), request.extensions()) else {
        return next.run(request).await;
    };
    let path = request.uri().path().to_string();
    let Some(place) = queries.enter(client) else {
        let message = format!(
            "this client already runs {} queries at once, the most this service runs for one \
             client; send the next when one has ended",
            queries.max
        );
        let (content_type, body) = if path == "/search.votable" {
            ("text/plain; charset=utf-8", message)
        } else {
            (
                "application/x-votable+xml; charset=utf-8",
                crate::votable::error_document(&message),
            )
        };
        return (
            StatusCode::TOO_MANY_REQUESTS,
            [
                (header::RETRY_AFTER, "1"),
                (header::CONTENT_TYPE, content_type),
            ],
            body,
        )
            .into_response();
    };
    let (parts, body) = next.run(request).await.into_parts();
    let body = body.into_data_stream().map(move |piece| {
        let _held_until_sent = &place;
        piece
    });
    Response::from_parts(parts, Body::from_stream(body))
}
