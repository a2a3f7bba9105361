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
}
