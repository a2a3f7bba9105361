//! The HTTP server: one router for TAP, the portal and cone search, and graceful shutdown.

use std::net::SocketAddr;

use axum::Router;
use deadpool_postgres::Pool;
use tokio::net::TcpListener;

/// What every handler may use. Cheap to clone; holds nothing another replica would need.
#[derive(Clone)]
pub struct AppState {
    pub pool: Pool,
}

pub fn router(state: AppState) -> Router {
    Router::new()
        .nest("/tap", crate::tap::router())
        .with_state(state)
}

/// Serves until SIGINT or SIGTERM, then lets requests in flight finish.
pub async fn serve(listener: TcpListener, state: AppState) -> std::io::Result<()> {
    axum::serve(listener, router(state))
        .with_graceful_shutdown(shutdown_signal())
        .await
}

pub async fn bind(address: SocketAddr) -> std::io::Result<TcpListener> {
    TcpListener::bind(address).await
}

async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let mut terminate = signal(SignalKind::terminate()).expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = terminate.recv() => {}
    }
    tracing::info!("shutting down");
}
