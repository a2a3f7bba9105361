//! VOSI 1.1 endpoints.

use std::time::Duration;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;

use crate::server::AppState;

/// How long the availability probe waits for the database before saying it is unreachable.
const PROBE_TIMEOUT: Duration = Duration::from_secs(3);

/// VOSI availability: whether the service can answer queries, i.e. whether the database is
/// reachable. Always 200: the document, not the status code, carries the answer.
pub(super) async fn availability(State(state): State<AppState>) -> impl IntoResponse {
    let probe = async {
        let client = state.pool.get().await.map_err(|e| e.to_string())?;
        client
            .query_one("SELECT 1", &[])
            .await
            .map_err(|e| e.to_string())
    };
    let (available, note) = match tokio::time::timeout(PROBE_TIMEOUT, probe).await {
        Ok(Ok(_)) => (true, "obsportal is accepting queries".to_string()),
        Ok(Err(error)) => {
            tracing::warn!(%error, "availability probe failed");
            (false, "the database is unreachable".to_string())
        }
        Err(_) => (false, "the database did not answer in time".to_string()),
    };
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <vosi:availability xmlns:vosi=\"http://www.ivoa.net/xml/VOSIAvailability/v1.0\">\n  \
         <vosi:available>{available}</vosi:available>\n  <vosi:note>{note}</vosi:note>\n\
         </vosi:availability>\n"
    );
    ([(header::CONTENT_TYPE, "text/xml; charset=utf-8")], body)
}
