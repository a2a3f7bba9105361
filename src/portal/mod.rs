//! The observation portal: the ObsPortal API that ASPRO2 and OiDB call, and the web pages
//! (server-rendered HTML that works without JavaScript).

pub mod api;
mod changes;
mod detail;
mod home;
mod layout;
mod lists;
mod plan;
mod program;
pub mod search;
pub mod search_page;
mod svg;
mod target;

pub use api::LastImport;
pub(crate) use layout::error_page;

use axum::routing::get;
use axum::Router;
use tokio_postgres::Row;

use crate::http::{AppState, ServiceError};
use crate::results::{fetch_rows, ResultQuery, SqlParameter};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/", get(home::home))
        .route("/search", get(search_page::search_page))
        .route("/lists", get(lists::lists))
        .route("/changes", get(changes::changes))
        .route("/detail/exposure/{exp_id}", get(detail::exposure))
        .route("/detail/exposure/{exp_id}/uv.svg", get(detail::uv_picture))
        .route("/detail/target/{target_id}", get(target::target))
        .route(
            "/detail/target/{target_id}/feed.atom",
            get(program::target_feed),
        )
        .route("/program/{id}", get(program::program))
        .route("/program/{id}/feed.atom", get(program::program_feed))
        .route(
            "/search.votable",
            get(api::search_votable).post(api::search_votable),
        )
        .fallback(|| async {
            let missing = ServiceError::NotFound("There is no such page here.".into());
            crate::http::Surface::Page.render(&missing)
        })
}

/// The rows of one of the pages' own queries over the published tables, on the pages'
/// connections (as the query role, like every user query).
async fn page_rows(
    state: &AppState,
    sql: &str,
    parameters: Vec<SqlParameter>,
) -> Result<Vec<Row>, ServiceError> {
    let query = ResultQuery::new(sql, parameters);
    Ok(fetch_rows(&state.pages, &query).await?)
}
