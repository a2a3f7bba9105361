//! The TAP service under `/tap`: ADQL queries run at once (`sync.rs`) or as UWS jobs
//! (`uws.rs`, documents in `uws_document.rs`), both read by `request.rs`; VOSI
//! (availability, capabilities, tables) and DALI examples. Table uploads are not served yet.

mod examples;
pub mod request;
mod sync;
pub mod tap_schema;
mod uws;
mod uws_document;
pub(crate) mod vosi;

use axum::routing::get;
use axum::Router;

use crate::http::AppState;

/// The TAP routes; queries (sync, and async job creation) may carry uploaded tables, up to
/// `query_body` bytes in all.
pub fn router(query_body: usize) -> Router<AppState> {
    let uploads_fit = axum::extract::DefaultBodyLimit::max(query_body);
    Router::new()
        .route("/availability", get(vosi::availability))
        .route("/sync", get(sync::sync).post(sync::sync).layer(uploads_fit))
        .route("/capabilities", get(vosi::capabilities))
        .route("/examples", get(examples::examples))
        .route("/tables", get(vosi::tables))
        .route("/tables/{name}", get(vosi::table))
        .merge(uws::router(uploads_fit))
}
