//! The observation portal: the ObsPortal API that ASPRO2 and OiDB call, and (next) the web pages.

mod api;
pub mod search;

use axum::routing::get;
use axum::Router;

use crate::server::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route(
        "/search.votable",
        get(api::search_votable).post(api::search_votable),
    )
}
