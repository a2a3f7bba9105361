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
pub(crate) fn error_page(status: StatusCode, message: &str) -> Response {
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
