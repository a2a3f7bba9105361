//! The one error a handler returns, and how each surface words it: a DALI error document
//! (TAP), a Simple Cone Search error document, a page, or plain text (the ObsPortal API, as
//! ObsPortal answered). What went wrong is decided once; only its rendering is per surface.

use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::results::ResultError;

/// Why a request was not answered. Client mistakes carry a message for the client; the
/// service's own failures carry none (their detail is logged where they happen).
#[derive(Debug, Clone, PartialEq)]
pub enum ServiceError {
    /// A request the client can correct (400).
    BadRequest(String),
    /// Nothing by that name (404).
    NotFound(String),
    /// A request body over the limit (413).
    TooLarge(String),
    /// The query ran past the statement timeout of this many seconds: the client's to narrow
    /// (400, not a 503 that invites the same query again).
    Timeout(u64),
    /// The database could not answer (503).
    Unavailable,
    /// A bug or an unexpected failure (500).
    Internal,
}

impl ServiceError {
    pub fn bad_request(message: impl Into<String>) -> Self {
        ServiceError::BadRequest(message.into())
    }

    pub fn status(&self) -> StatusCode {
        match self {
            ServiceError::BadRequest(_) | ServiceError::Timeout(_) => StatusCode::BAD_REQUEST,
            ServiceError::NotFound(_) => StatusCode::NOT_FOUND,
            ServiceError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ServiceError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ServiceError::Internal => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The message for a program (TAP, SCS, the API).
    pub fn message(&self) -> String {
        match self {
            ServiceError::BadRequest(message)
            | ServiceError::NotFound(message)
            | ServiceError::TooLarge(message) => message.clone(),
            ServiceError::Timeout(seconds) => ResultError::Timeout(*seconds).to_string(),
            ServiceError::Unavailable => ResultError::Unavailable.to_string(),
            ServiceError::Internal => "the service met an internal error; it is logged".into(),
        }
    }

    /// The message for a visitor of the web pages.
    fn visitor_message(&self) -> String {
        match self {
            ServiceError::Timeout(seconds) => format!(
                "The search took longer than {seconds} s. Narrow it down (a position, an \
                 instrument, a date range)."
            ),
            ServiceError::Unavailable | ServiceError::Internal => {
                "The database could not answer just now. Please try again in a moment.".into()
            }
            ServiceError::BadRequest(message) => format!("This cannot be answered: {message}."),
            ServiceError::NotFound(message) | ServiceError::TooLarge(message) => message.clone(),
        }
    }
}

impl std::fmt::Display for ServiceError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message())
    }
}

impl From<ResultError> for ServiceError {
    fn from(error: ResultError) -> Self {
        match error {
            ResultError::Timeout(seconds) => ServiceError::Timeout(seconds),
            ResultError::Unavailable => ServiceError::Unavailable,
            ResultError::Data(_) => ServiceError::BadRequest(error.to_string()),
            ResultError::Unwritable | ResultError::Database(_) => ServiceError::Internal,
        }
    }
}

impl From<adql::AdqlError> for ServiceError {
    fn from(error: adql::AdqlError) -> Self {
        ServiceError::BadRequest(error.to_string())
    }
}

/// Who is answered, and so how an error is written.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Surface {
    /// TAP and other DALI services: a VOTable with QUERY_STATUS=ERROR.
    Dali,
    /// Simple Cone Search 1.03: a VOTable with `INFO name="Error"`, status 200 as SCS asks.
    ConeSearch,
    /// The web pages: a page in the site's frame.
    Page,
    /// The ObsPortal API: plain text, as ObsPortal answered.
    Text,
}

impl Surface {
    /// The answer, or the error written for this surface.
    pub fn answer(self, result: Result<Response, ServiceError>) -> Response {
        result.unwrap_or_else(|error| self.render(&error))
    }

    pub fn render(self, error: &ServiceError) -> Response {
        let status = error.status();
        let votable = "application/x-votable+xml; charset=utf-8";
        match self {
            Surface::Dali => (
                status,
                [(header::CONTENT_TYPE, votable)],
                crate::votable::error_document(&error.message()),
            )
                .into_response(),
            Surface::ConeSearch => (
                [(header::CONTENT_TYPE, votable)],
                crate::votable::cone_search_error_document(&error.message()),
            )
                .into_response(),
            Surface::Page => crate::portal::error_page(status, &error.visitor_message()),
            Surface::Text => (
                status,
                [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                error.message(),
            )
                .into_response(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_surface_keeps_the_status_and_words_the_error_its_way() {
        let timeout = ServiceError::Timeout(7);
        assert_eq!(
            Surface::Dali.render(&timeout).status(),
            StatusCode::BAD_REQUEST
        );
        assert_eq!(
            Surface::Page.render(&timeout).status(),
            StatusCode::BAD_REQUEST
        );
        assert!(timeout.message().contains("7 s"));
        assert!(timeout.visitor_message().contains("7 s"));
        // SCS 1.03 reports errors in the document of a successful answer.
        assert_eq!(
            Surface::ConeSearch
                .render(&ServiceError::Unavailable)
                .status(),
            StatusCode::OK
        );
        assert_eq!(
            Surface::Text.render(&ServiceError::Unavailable).status(),
            StatusCode::SERVICE_UNAVAILABLE
        );
        // The service's own failures never show their detail.
        assert!(!ServiceError::Internal
            .visitor_message()
            .contains("internal"));
    }
}
