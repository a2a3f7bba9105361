//! The observation portal: the ObsPortal API that ASPRO2 and OiDB call, and the web pages
//! (server-rendered HTML that works without JavaScript).

mod api;
mod detail;
mod home;
mod layout;
mod lists;
pub mod search;
pub mod search_page;
mod svg;

pub use api::LastImport;

use axum::http::StatusCode;
use axum::routing::get;
use axum::Router;

use crate::server::AppState;

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(home::home))
        .route("/search", get(search_page::search_page))
        .route("/lists", get(lists::lists))
        .route("/detail/exposure/{exp_id}", get(detail::exposure))
        .route(
            "/search.votable",
            get(api::search_votable).post(api::search_votable),
        )
        .fallback(|| async {
            layout::error_page(StatusCode::NOT_FOUND, "There is no such page here.")
        })
}
