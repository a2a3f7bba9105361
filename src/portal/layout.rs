//! The frame every page shares, and the friendly error pages.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{html, Markup, DOCTYPE};

const STYLE: &str = include_str!("style.css");

pub(super) fn page(title: &str, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " · obsportal" }
                style { (maud::PreEscaped(STYLE)) }
            }
            body {
                header {
                    a.brand href="/" { "obsportal" }
                    nav {
                        a href="/search" { "Search" }
                        a href="/lists" { "Lists" }
                        a href="/search.votable" title="ObsPortal API (VOTable)" { "API" }
                        a href="/scs?RA=0&DEC=0&SR=0" title="Simple Cone Search 1.03" { "Cone search" }
                        a href="/tap/availability" title="IVOA TAP service: /tap/sync for ADQL queries" { "TAP" }
                    }
                }
                main { h1 { (title) } (body) }
                footer { "Interferometric observations already made at the VLTI, from ESO raw headers." }
            }
        }
    }
}

/// An error a visitor can act on, as a page with the right status.
pub(super) fn error_page(status: StatusCode, message: &str) -> Response {
    let title = if status == StatusCode::NOT_FOUND {
        "Not found"
    } else {
        "That did not work"
    };
    let body = html! {
        p.error { (message) }
        p { a href="/search" { "Back to the search" } " · " a href="/" { "Home" } }
    };
    (status, page(title, body)).into_response()
}

/// For a query that failed: a value the visitor sent that PostgreSQL refused is theirs to
/// read (400); anything else is the service's (see `unavailable`).
pub(super) fn query_failed(error: crate::results::ResultError) -> Response {
    if error.status().is_client_error() {
        return error_page(
            StatusCode::BAD_REQUEST,
            &format!("This cannot be answered: {error}."),
        );
    }
    unavailable(error)
}

/// For a database that could not answer: the detail goes to the log, not to the visitor.
pub(super) fn unavailable(error: impl std::fmt::Display) -> Response {
    tracing::error!(%error, "page could not be built");
    error_page(
        StatusCode::SERVICE_UNAVAILABLE,
        "The database could not answer just now. Please try again in a moment.",
    )
}
