//! What every handler may use.

use deadpool_postgres::Pool;

use crate::db::QueryPool;

/// Cheap to clone; holds nothing another replica would need.
#[derive(Clone)]
pub struct AppState {
    /// As the owner: TAP_SCHEMA's upkeep and the availability probe, never a user's values.
    pub pool: Pool,
    /// As the read-only query role: everything that carries a user's values or query.
    pub reader: QueryPool,
    /// The same, for the web pages alone (see `db::DbSettings::page_connections`).
    pub pages: QueryPool,
    /// When the last import that changed anything finished, cached briefly.
    pub last_import: crate::portal::LastImport,
    /// Async jobs: this server's side of the queue shared through the database.
    pub jobs: crate::jobs::Jobs,
    /// How many queries each client address runs at once.
    pub client_queries: super::fairness::ClientQueries,
    /// What table uploads may be.
    pub uploads: crate::upload::UploadLimits,
    /// The request header in which the operator's reverse proxy names the authenticated user;
    /// None: no user is ever trusted, every job is anonymous.
    pub user_header: Option<axum::http::HeaderName>,
}

impl AppState {
    /// The authenticated user a request comes from, when the operator trusts a header for it.
    pub fn user(&self, headers: &axum::http::HeaderMap) -> Option<String> {
        let name = self.user_header.as_ref()?;
        let user = headers.get(name)?.to_str().ok()?.trim();
        (!user.is_empty()).then(|| user.to_string())
    }
}
