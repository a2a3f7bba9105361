//! The TAP service under `/tap`: synchronous ADQL queries, VOSI (availability, capabilities,
//! tables) and DALI examples. Async (UWS) jobs and table uploads are not served yet.

mod examples;
mod sync;
pub mod tap_schema;
mod vosi;

use axum::routing::get;
use axum::Router;

use crate::http::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/availability", get(vosi::availability))
        .route("/sync", get(sync::sync).post(sync::sync))
        .route("/capabilities", get(vosi::capabilities))
        .route("/examples", get(examples::examples))
        .route("/tables", get(vosi::tables))
        .route("/tables/{name}", get(vosi::table))
}
