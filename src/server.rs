//! The HTTP server: the router that assembles every surface (the only module that knows them
//! all; handlers know only `http`), listening, and graceful shutdown.

use std::net::SocketAddr;

use axum::Router;

use crate::http::{AppState, ServiceError, Surface};
use tokio::net::TcpListener;
use tokio::signal::unix::{signal, Signal, SignalKind};

pub fn router(state: AppState) -> Router {
    // TAP requests may carry uploaded tables: their body may hold that much more.
    let tap_body = crate::http::MAX_BODY_BYTES + state.uploads.max_bytes;
    Router::new()
        .nest("/tap", crate::tap::router(tap_body))
        .merge(crate::portal::router())
        .merge(crate::scs::router())
        .with_state(state)
        .layer(axum::extract::DefaultBodyLimit::max(
            crate::http::MAX_BODY_BYTES,
        ))
        // A bug met by one request answers that request with a 500 and leaves every other
        // request and connection as it was.
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            internal_error,
        ))
        .layer(axum::middleware::map_response(name_the_server))
}

fn internal_error(panic: Box<dyn std::any::Any + Send>) -> axum::response::Response {
    let detail = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("a panic");
    tracing::error!(detail, "a request met a bug");
    Surface::Dali.render(&ServiceError::Internal)
}

/// Clients and validators like to know what answered.
async fn name_the_server(mut response: axum::response::Response) -> axum::response::Response {
    response.headers_mut().insert(
        axum::http::header::SERVER,
        axum::http::HeaderValue::from_static(concat!("obsportal/", env!("CARGO_PKG_VERSION"))),
    );
    response
}

/// Serves until `shutdown` resolves, then lets requests in flight finish.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: ShutdownSignal,
) -> std::io::Result<()> {
    use axum::serve::ListenerExt;
    // Without TCP_NODELAY, small answers wait for the client's delayed ACK (~40 ms).
    let listener = listener.tap_io(|tcp| {
        if let Err(error) = tcp.set_nodelay(true) {
            tracing::debug!(%error, "could not set TCP_NODELAY");
        }
    });
    let mut shutdown = shutdown;
    let jobs = state.jobs.clone();
    axum::serve(listener, router(state))
        .with_graceful_shutdown(async move {
            shutdown.received().await;
            // Blocking WAITs return now rather than hold the shutdown.
            jobs.begin_stop();
        })
        .await
}

pub async fn bind(address: SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(address).await
}

/// SIGINT and SIGTERM, caught from the moment this is created: install it before anything
/// slow (starting the cluster, loading demo data) so a signal then still shuts down cleanly.
pub struct ShutdownSignal {
    interrupt: Signal,
    terminate: Signal,
}

impl ShutdownSignal {
    pub fn install() -> std::io::Result<Self> {
        Ok(ShutdownSignal {
            interrupt: signal(SignalKind::interrupt())?,
            terminate: signal(SignalKind::terminate())?,
        })
    }

    pub async fn received(&mut self) {
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
        }
        tracing::info!("shutting down");
    }
}
