//! `/`: what the service holds, from the statistics the last import computed.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use maud::html;

use super::layout::page;
use super::page_rows;
use super::svg;
use crate::http::{AppState, ServiceError, Surface};

pub(super) async fn home(State(state): State<AppState>) -> Response {
    Surface::Page.answer(build(&state).await)
}

async fn build(state: &AppState) -> Result<Response, ServiceError> {
    let instruments = page_rows(
        state,
        "SELECT value, exposures, observations, targets, first_mjd, last_mjd
           FROM obsportal.summary WHERE dimension = 'instrument' ORDER BY exposures DESC",
        vec![],
    )
    .await?;
    let modes = page_rows(
        state,
        "SELECT instrument_name, value, exposures FROM obsportal.summary
          WHERE dimension = 'mode' ORDER BY instrument_name, exposures DESC",
        vec![],
    )
    .await?;
    let years: Vec<(i32, String, i64)> = page_rows(
        state,
        "SELECT value::integer, instrument_name, exposures FROM obsportal.summary WHERE dimension = 'year'",
        vec![],
    )
    .await?
    .iter()
    .map(|row| (row.get(0), row.get(1), row.get(2)))
    .collect();
    let targets: Vec<(f64, f64, i64)> = page_rows(
        state,
        "SELECT target_ra, target_dec, sum(exposures)::bigint FROM obsportal.summary
          WHERE dimension = 'target' GROUP BY value, target_ra, target_dec",
        vec![],
    )
    .await?
    .iter()
    .map(|row| (row.get(0), row.get(1), row.get(2)))
    .collect();
    // The service's coverage map (MOC) at order 5, shaded behind the targets: each cell's
    // centre and order (a degraded MOC merges four cells into their parent).
    let coverage_text: Option<String> = page_rows(
        state,
        "SELECT moc_order5 FROM obsportal.coverage WHERE scope = 'all'",
        vec![],
    )
    .await?
    .first()
    .map(|row| row.get(0));
    let cells = coverage_text
        .as_deref()
        .and_then(crate::moc::parse_ascii)
        .unwrap_or_default();
    let (orders, indexes): (Vec<i32>, Vec<i64>) = cells
        .iter()
        .map(|&(order, index)| (i32::from(order), index as i64))
        .unzip();
    let coverage: Vec<(f64, f64, i32)> = page_rows(
        state,
        "SELECT degrees(long(c)), degrees(lat(c)), o
           FROM unnest($1::int[], $2::bigint[]) AS cell (o, i),
                LATERAL (SELECT center_of_healpix_nest(o, i) AS c) AS centre",
        vec![Box::new(orders), Box::new(indexes)],
    )
    .await?
    .iter()
    .map(|row| (row.get(0), row.get(1), row.get(2)))
    .collect();
    let last_import = state.last_import.get(&state.pages.pool).await;

    let total_exposures: i64 = instruments.iter().map(|row| row.get::<_, i64>(1)).sum();
    let total_observations: i64 = instruments.iter().map(|row| row.get::<_, i64>(2)).sum();
    let body = html! {
        p { "Has this star already been observed, when, with which instrument mode, stations and baselines? "
            "Search the interferometric exposures already made at the VLTI before asking for time." }
        div.summary {
            div { strong #total-exposures { (total_exposures) } "exposures" }
            div { strong { (total_observations) } "observations" }
            div { strong { (targets.len()) } "targets" }
            div { strong { (last_import.unwrap_or_else(|| "never".into())) } "last import" }
        }
        h2 { "Exposures per year" }
        (svg::histogram(&years))
        h2 { "Instruments" }
        table #instruments {
            thead { tr { th { "Instrument" } th.number { "Exposures" } th.number { "Observations" } th.number { "Targets" } th { "From" } th { "To" } } }
            tbody {
                @for row in &instruments {
                    @let name: String = row.get(0);
                    tr {
                        td { a href=(format!("/search?instrument={}", urlencode(&name))) { (name) } }
                        td.number { (row.get::<_, i64>(1)) }
                        td.number { (row.get::<_, i64>(2)) }
                        td.number { (row.get::<_, i64>(3)) }
                        td { (row.get::<_, Option<f64>>(4).map(crate::mjd::date).unwrap_or_default()) }
                        td { (row.get::<_, Option<f64>>(5).map(crate::mjd::date).unwrap_or_default()) }
                    }
                }
            }
        }
        h2 { "Modes" }
        table #modes {
            thead { tr { th { "Instrument" } th { "Mode" } th.number { "Exposures" } } }
            tbody {
                @for row in &modes {
                    @let (instrument, mode): (String, String) = (row.get(0), row.get(1));
                    tr {
                        td { (instrument) }
                        td { a href=(format!("/search?instrument={}&instrument_mode={}", urlencode(&instrument), urlencode(&mode))) { (mode) } }
                        td.number { (row.get::<_, i64>(2)) }
                    }
                }
            }
        }
        h2 { "Observed targets" }
        (svg::sky_map(&targets, &coverage))
        p { "Shaded: the coverage map (" a href="/moc" { "MOC" } ", " a href="/moc/all.fits" { "FITS" } " for Aladin and TOPCAT)." }
        h2 { "For programs and tools" }
        ul {
            li { a href="/search.votable" { "ObsPortal API" } ": " code { "POST /search.votable" } " with ra, dec [deg], radius [arcsec] — what ASPRO2 calls." }
            li { a href="/scs?RA=0&DEC=0&SR=0" { "Simple Cone Search 1.03" } ": " code { "/scs?RA=&DEC=&SR=" } " (degrees)." }
            li { a href="/tap/sync?REQUEST=doQuery&LANG=ADQL&QUERY=SELECT%20TOP%2010%20*%20FROM%20ivoa.obscore" { "IVOA TAP" } " (ADQL 2.1): " code { "/tap/sync" } " with LANG=ADQL, QUERY, MAXREC, RESPONSEFORMAT." }
        }
    };
    Ok(page("Interferometric observations", body).into_response())
}

pub(super) fn urlencode(text: &str) -> String {
    form_urlencoded::byte_serialize(text.as_bytes()).collect()
}
