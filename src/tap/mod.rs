//! The TAP service under `/tap`. For now: VOSI availability; later issues add sync, async,
//! tables, capabilities and examples to the same router.

mod vosi;

use axum::routing::get;
use axum::Router;

use crate::server::AppState;

pub fn router() -> Router<AppState> {
    Router::new().route("/availability", get(vosi::availability))
}
