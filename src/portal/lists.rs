//! `/lists`: instruments and modes, programs, targets, with counts and links to searches.
//! Everything comes from the statistics the last import computed.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use maud::{html, Markup};

use super::home::urlencode;
use super::layout::page;
use super::page_rows;
use crate::http::{AppState, ParameterError, Parameters, ServiceError, Surface};

const TARGETS_PER_PAGE: i64 = 200;

pub(super) async fn lists(
    State(state): State<AppState>,
    parameters: Result<Parameters, ParameterError>,
) -> Response {
    Surface::Page.answer(answer(&state, parameters).await)
}

async fn answer(
    state: &AppState,
    parameters: Result<Parameters, ParameterError>,
) -> Result<Response, ServiceError> {
    let expected = "a whole number from 1";
    let target_page = match parameters?.parsed::<i64>("targets_page", expected)? {
        None => 1,
        Some(page) if page >= 1 => page,
        Some(page) => {
            return Err(ParameterError::invalid("targets_page", &page.to_string(), expected).into())
        }
    };
    Ok(page("Lists", build(state, target_page).await?).into_response())
}

async fn build(state: &AppState, target_page: i64) -> Result<Markup, ServiceError> {
    let modes = page_rows(
        state,
        "SELECT instrument_name, value, exposures, observations, targets FROM obsportal.summary
          WHERE dimension = 'mode' ORDER BY instrument_name, value",
        vec![],
    )
    .await?;
    let programs = page_rows(
        state,
        "SELECT value, string_agg(instrument_name, ', ' ORDER BY instrument_name), sum(exposures)::bigint,
                min(first_mjd), max(last_mjd), pi_coi
           FROM obsportal.summary
          WHERE dimension = 'program' AND value <> ''
          GROUP BY value, pi_coi ORDER BY value",
        vec![],
    )
    .await?;
    let target_count: i64 = page_rows(
        state,
        "SELECT count(DISTINCT value) FROM obsportal.summary WHERE dimension = 'target'",
        vec![],
    )
    .await?[0]
        .get(0);
    let targets = page_rows(
        state,
        "SELECT target_name, target_ra, target_dec, sum(exposures)::bigint AS exposures,
                string_agg(instrument_name, ', ' ORDER BY instrument_name)
           FROM obsportal.summary
          WHERE dimension = 'target'
          GROUP BY value, target_name, target_ra, target_dec
          ORDER BY exposures DESC, target_name LIMIT $1 OFFSET $2",
        vec![
            Box::new(TARGETS_PER_PAGE),
            Box::new((target_page - 1) * TARGETS_PER_PAGE),
        ],
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
