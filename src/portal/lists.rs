//! `/lists`: instruments and modes, programs, targets, with counts and links to searches.
//! Everything comes from the statistics the last import computed.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use maud::{html, Markup};

use super::home::urlencode;
use super::layout::{error_page, page, unavailable};
use crate::params::Parameters;
use crate::server::AppState;

const TARGETS_PER_PAGE: i64 = 200;

pub(super) async fn lists(State(state): State<AppState>, parameters: Parameters) -> Response {
    let target_page = match parameters.get("targets_page").map(str::parse::<i64>) {
        None => 1,
        Some(Ok(page)) if page >= 1 => page,
        Some(_) => {
            return error_page(
                axum::http::StatusCode::BAD_REQUEST,
                "targets_page must be a whole number from 1",
            )
        }
    };
    match build(&state, target_page).await {
        Ok(body) => page("Lists", body).into_response(),
        Err(error) => unavailable(error),
    }
}

async fn build(state: &AppState, target_page: i64) -> Result<Markup, Box<dyn std::error::Error>> {
    let client = state.pool.get().await?;
    let modes = client
        .query(
            "SELECT instrument_name, value, exposures, observations, targets FROM obsportal.statistics
              WHERE dimension = 'mode' ORDER BY instrument_name, value",
            &[],
        )
        .await?;
    let programs = client
        .query(
            "SELECT s.value, string_agg(s.instrument_name, ', ' ORDER BY s.instrument_name), sum(s.exposures)::bigint,
                    min(s.first_mjd), max(s.last_mjd), p.pi_coi
               FROM obsportal.statistics s LEFT JOIN obsportal.program p ON p.id = s.value
              WHERE s.dimension = 'program' AND s.value <> ''
              GROUP BY s.value, p.pi_coi ORDER BY s.value",
            &[],
        )
        .await?;
    let target_count: i64 = client
        .query_one(
            "SELECT count(DISTINCT value) FROM obsportal.statistics WHERE dimension = 'target'",
            &[],
        )
        .await?
        .get(0);
    let targets = client
        .query(
            "SELECT t.name, t.ra, t.dec, sum(s.exposures)::bigint AS exposures,
                    string_agg(s.instrument_name, ', ' ORDER BY s.instrument_name)
               FROM obsportal.statistics s JOIN obsportal.target t ON t.id = s.value::integer
              WHERE s.dimension = 'target'
              GROUP BY t.id ORDER BY exposures DESC, t.name LIMIT $1 OFFSET $2",
            &[&TARGETS_PER_PAGE, &((target_page - 1) * TARGETS_PER_PAGE)],
        )
        .await?;
    let target_pages = ((target_count + TARGETS_PER_PAGE - 1) / TARGETS_PER_PAGE).max(1);
    Ok(html! {
        p { a href="#modes" { "Instruments and modes" } " · " a href="#programs" { "Programs" } " · " a href="#targets" { "Targets" } }
        h2 #modes { "Instruments and modes" }
        table {
            thead { tr { th { "Instrument" } th { "Mode" } th.number { "Exposures" } th.number { "Observations" } th.number { "Targets" } } }
            tbody { @for row in &modes {
                @let (instrument, mode): (String, String) = (row.get(0), row.get(1));
                tr {
                    td { a href=(format!("/search?instrument={}", urlencode(&instrument))) { (instrument) } }
                    td { a href=(format!("/search?instrument={}&instrument_mode={}", urlencode(&instrument), urlencode(&mode))) { (mode) } }
                    td.number { (row.get::<_, i64>(2)) } td.number { (row.get::<_, i64>(3)) } td.number { (row.get::<_, i64>(4)) }
                }
            } }
        }
        h2 #programs { "Programs (" (programs.len()) ")" }
        table {
            thead { tr { th { "Program" } th { "PI / CoI" } th { "Instruments" } th.number { "Exposures" } th { "From" } th { "To" } } }
            tbody { @for row in &programs {
                @let id: String = row.get(0);
                tr {
                    td { a href=(format!("/search?program_id={}", urlencode(&id))) { (id) } }
                    td { (row.get::<_, Option<String>>(5).unwrap_or_default()) }
                    td { (row.get::<_, String>(1)) }
                    td.number { (row.get::<_, i64>(2)) }
                    td { (row.get::<_, Option<f64>>(3).map(crate::mjd::date).unwrap_or_default()) }
                    td { (row.get::<_, Option<f64>>(4).map(crate::mjd::date).unwrap_or_default()) }
                }
            } }
        }
        h2 #targets { "Targets (" (target_count) "), most observed first" }
        table {
            thead { tr { th { "Target" } th { "RA, Dec [deg]" } th { "Instruments" } th.number { "Exposures" } } }
            tbody { @for row in &targets {
                @let (name, ra, dec): (String, f64, f64) = (row.get(0), row.get(1), row.get(2));
                tr {
                    // A cone rather than the name: exposures under other names belong here too.
                    td { a href=(format!("/search?ra={ra}&dec={dec}&radius=5")) { (name) } }
                    td { (format!("{ra:.5}, {dec:.5}")) }
                    td { (row.get::<_, String>(4)) }
                    td.number { (row.get::<_, i64>(3)) }
                }
            } }
        }
        p.pager {
            @if target_page > 1 { a href=(format!("/lists?targets_page={}#targets", target_page - 1)) { "← Previous targets" } }
            span { "Page " (target_page) " of " (target_pages) }
            @if target_page < target_pages { a href=(format!("/lists?targets_page={}#targets", target_page + 1)) { "Next targets →" } }
        }
    })
}
