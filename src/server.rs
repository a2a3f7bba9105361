//! The HTTP server: the router that assembles every surface (the only module that knows them
//! all; handlers know only `http`), the probes an orchestrator asks (`/healthz`, `/readyz`),
//! the port answering from the first second while the service starts (`Startup`), listening,
//! and graceful shutdown.

use std::net::SocketAddr;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use tokio::sync::{oneshot, watch};

use crate::http::connections::{self, ConnectionLimits};
use crate::http::{AppState, ServiceError, Surface};
use tokio::net::TcpListener;
use tokio::signal::unix::{signal, Signal, SignalKind};

pub fn router(state: AppState) -> Router {
    // TAP requests may carry uploaded tables: their body may hold that much more.
    let tap_body = crate::http::MAX_BODY_BYTES + state.uploads.max_bytes;
    let fairness =
        axum::middleware::from_fn_with_state(state.clone(), crate::http::fairness::limit);
    Router::new()
        .route("/healthz", get(alive))
        .route("/readyz", get(ready))
        .route("/metrics", get(crate::http::metrics::scrape))
        .nest("/tap", crate::tap::router(tap_body))
        .merge(crate::portal::router())
        .merge(crate::scs::router())
        .merge(crate::datalink::router())
        .merge(crate::moc::router())
        .with_state(state)
        .layer(axum::extract::DefaultBodyLimit::max(
            crate::http::MAX_BODY_BYTES,
        ))
        // A bug met by one request answers that request with a 500 and leaves every other
        // request and connection as it was.
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(
            internal_error,
        ))
        // Answers in gzip to a client that says it reads it (Accept-Encoding), and only then;
        // streams stay streams, compressed as they go.
        .layer(tower_http::compression::CompressionLayer::new())
        // One client's queries wait their turn past a number (429), everyone else's go on.
        .layer(fairness)
        .layer(axum::middleware::map_response(name_the_server))
        .layer(axum::middleware::from_fn(crate::http::request_id::tag))
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

/// Liveness: the process answers. An orchestrator restarts a server that stops answering this,
/// so it asks nothing of the database.
async fn alive() -> &'static str {
    "alive\n"
}

/// Readiness: the server is started and its database answers; 503 otherwise, so that an
/// orchestrator sends requests elsewhere meanwhile.
async fn ready(axum::extract::State(state): axum::extract::State<AppState>) -> Response {
    match crate::tap::vosi::database_answers(&state.pool).await {
        Ok(()) => "ready\n".into_response(),
        Err(why) => (
            StatusCode::SERVICE_UNAVAILABLE,
            format!("not ready: {why}\n"),
        )
            .into_response(),
    }
}

/// The port answering while the service starts (the database opening, demo data loading):
/// alive, not ready, and VOSI availability saying what it is doing; every other request gets
/// a 503 with `Retry-After`. `finish` hands the port to the service.
pub struct Startup {
    phase: watch::Sender<String>,
    stop: oneshot::Sender<()>,
    task: tokio::task::JoinHandle<()>,
}

impl Startup {
    /// Answers on a clone of `listener` from now on.
    pub fn answer(
        listener: &std::net::TcpListener,
        limits: &ConnectionLimits,
    ) -> std::io::Result<Startup> {
        let listener = TcpListener::from_std(listener.try_clone()?)?;
        let (phase, phases) = watch::channel("starting".to_string());
        let (stop, stopped) = oneshot::channel::<()>();
        let not_yet = move |phases: watch::Receiver<String>| async move {
            let phase = phases.borrow().clone();
            (
                StatusCode::SERVICE_UNAVAILABLE,
                [(axum::http::header::RETRY_AFTER, "5")],
                format!("obsportal is starting ({phase}); try again in a moment\n"),
            )
                .into_response()
        };
        let router = Router::new()
            .route("/healthz", get(alive))
            .route(
                "/readyz",
                get({
                    let phases = phases.clone();
                    move || not_yet(phases.clone())
                }),
            )
            .route(
                "/tap/availability",
                get({
                    let phases = phases.clone();
                    move || {
                        let phase = phases.borrow().clone();
                        async move {
                            crate::tap::vosi::availability_document(
                                false,
                                &format!("starting: {phase}"),
                            )
                        }
                    }
                }),
            )
            .fallback(move || not_yet(phases.clone()))
            .layer(axum::middleware::map_response(name_the_server));
        let limits = ConnectionLimits {
            // Nothing the starting server answers is worth waiting for.
            shutdown_grace: std::time::Duration::ZERO,
            ..limits.clone()
        };
        let task = tokio::spawn(async move {
            let served = connections::serve(listener, router, &limits, async move {
                let _ = stopped.await;
            })
            .await;
            if let Err(error) = served {
                tracing::warn!(%error, "the starting server stopped");
            }
        });
        Ok(Startup { phase, stop, task })
    }

    /// What the service is doing now, as availability says it.
    pub fn phase(&self, phase: impl Into<String>) {
        let phase = phase.into();
        tracing::info!(%phase, "starting");
        let _ = self.phase.send(phase);
    }

    /// Stops answering for the starting service; the listener's next connections are the
    /// service's.
    pub async fn finish(self) {
        let _ = self.stop.send(());
        let _ = self.task.await;
    }
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
    listener: std::net::TcpListener,
    state: AppState,
    limits: &ConnectionLimits,
    mut shutdown: ShutdownSignal,
) -> std::io::Result<()> {
    let listener = TcpListener::from_std(listener)?;
    let jobs = state.jobs.clone();
    connections::serve(listener, router(state), limits, async move {
        shutdown.received().await;
        // Blocking WAITs return now rather than hold the shutdown.
        jobs.begin_stop();
    })
    .await
}

/// The service's socket, bound at once; non-blocking, as tokio wants it.
pub fn bind(address: SocketAddr) -> std::io::Result<std::net::TcpListener> {
    let listener = std::net::TcpListener::bind(address)?;
    listener.set_nonblocking(true)?;
    Ok(listener)
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
