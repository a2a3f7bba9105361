//! The TAP service under `/tap`: synchronous ADQL queries and VOSI availability; async jobs,
//! uploads, tables, capabilities and examples come with the TAP issue.

mod examples;
mod sync;
pub mod tap_schema;
mod vosi;

use axum::routing::get;
use axum::Router;

use crate::server::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/availability", get(vosi::availability))
        .route("/sync", get(sync::sync).post(sync::sync))
        .route("/capabilities", get(vosi::capabilities))
        .route("/examples", get(examples::examples))
        .route("/tables", get(vosi::tables))
        .route("/tables/{name}", get(vosi::table))
}
