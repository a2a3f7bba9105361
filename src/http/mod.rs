//! The HTTP edge every surface shares: what a handler is given (`AppState`), how it reads its
//! parameters (`Parameters`), and how it fails (`ServiceError`, rendered for its `Surface`).
//! Nothing here knows a handler: `server.rs` assembles the router, so handlers import this
//! module and never the router.

pub mod connections;
mod error;
pub mod fairness;
pub mod metrics;
mod params;
pub mod request_id;
mod state;

pub use error::{ServiceError, Surface};
pub use params::{ParameterError, Parameters, MAX_BODY_BYTES};
pub use state::AppState;

/// The service's address as the client reached it (`Host`), for the absolute URLs that
/// capabilities and UWS documents must give.
pub fn service_url(headers: &axum::http::HeaderMap) -> String {
    let host = headers
        .get(axum::http::header::HOST)
        .and_then(|host| host.to_str().ok())
        .unwrap_or("127.0.0.1");
    format!("http://{host}")
}
