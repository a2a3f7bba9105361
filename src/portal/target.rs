//! `/detail/target/{target_id}`: what was observed of one target. Its summary and (u, v)
//! coverage (`obsportal.targets`), the (u, v) tracks of all its baselines coloured by
//! instrument, and its observation blocks (`obsportal.blocks`, grouped as ASPRO2 groups
//! exposures) with the sidereal times and hour angles they span.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use maud::html;

use super::home::urlencode;
use super::layout::page;
use super::page_rows;
use super::svg::{instrument_colour, uv_plot, Baseline};
use crate::http::{AppState, ServiceError, Surface};
use crate::mjd;

/// The picture draws at most this many baselines (the most recent); the page says when more
/// exist.
const MAX_BASELINES: i64 = 5000;
/// The block list shows at most this many (the most recent).
const MAX_BLOCKS: i64 = 500;

pub(super) async fn target(
    State(state): State<AppState>,
    Path(target_id): Path<String>,
) -> Response {
    Surface::Page.answer(answer(&state, target_id).await)
}

async fn answer(state: &AppState, target_id: String) -> Result<Response, ServiceError> {
    let missing = || ServiceError::NotFound(format!("There is no target {target_id:?}."));
    let id: i32 = target_id.parse().map_err(|_| missing())?;
    let summary = page_rows(
        state,
        "SELECT target_name, target_ra, target_dec, exposures, observations, first_mjd, last_mjd,
                instruments, configurations, ha_min, ha_max, shortest_baseline,
                longest_baseline, uv_cells, uv_coverage
           FROM obsportal.targets WHERE target_id = $1",
        vec![Box::new(id)],
    )
    .await?;
    let Some(summary) = summary.first() else {
        return Err(missing());
    };
    let baselines = page_rows(
        state,
        "SELECT x.instrument_name, b.station1 || '-' || b.station2,
                b.length_start, b.angle_start, b.length_end, b.angle_end
           FROM obsportal.exposures x JOIN obsportal.baselines b ON b.exp_id = x.exp_id
          WHERE x.target_id = $1
          ORDER BY x.exp_mjd_start DESC LIMIT $2",
        vec![Box::new(id), Box::new(MAX_BASELINES + 1)],
    )
    .await?;
    let blocks = page_rows(
        state,
        "SELECT block_id, instrument_name, instrument_mode, interferometer_stations,
                mjd_start, exposures, lst_start, lst_end, ha_start, ha_end
           FROM obsportal.blocks WHERE target_id = $1
          ORDER BY mjd_start DESC LIMIT $2",
        vec![Box::new(id), Box::new(MAX_BLOCKS + 1)],
    )
    .await?;

    let name: String = summary.get(0);
    let (ra, dec): (f64, f64) = (summary.get(1), summary.get(2));
    let tracks: Vec<Baseline> = baselines
        .iter()
        .take(MAX_BASELINES as usize)
        .map(|row| Baseline {
            pair: row.get(1),
            colour: instrument_colour(row.get(0)),
            start: row.get::<_, Option<f64>>(2).zip(row.get(3)),
            end: row.get::<_, Option<f64>>(4).zip(row.get(5)),
        })
        .collect();
    let mut instruments: Vec<&str> = baselines.iter().map(|row| row.get(0)).collect();
    instruments.sort();
    instruments.dedup();
    let hours = |value: Option<f64>| value.map(|v| format!("{v:.2}")).unwrap_or_default();
    let date = |value: f64| {
        mjd::to_datetime(value)
            .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
            .unwrap_or_default()
    };
    let coverage: Option<f64> = summary.get(14);
    let body = html! {
        p {
            (format!("RA {ra:.5}, Dec {dec:.5} [deg]")) " · "
            a href=(format!("/search?ra={ra}&dec={dec}&radius=10")) { "Its exposures" } " · "
            a href=(format!("/search.votable?summary=targets&ra={ra}&dec={dec}")) { "This summary as VOTable" } " · "
            a href=(format!("/detail/target/{id}/feed.atom")) { "Atom feed" }
        }
        table #summary { tbody {
            tr { th { "Exposures" } td { (summary.get::<_, i64>(3)) } }
            tr { th { "Observations" } td { (summary.get::<_, i64>(4)) } }
            tr { th { "First and last" } td { (date(summary.get(5))) " to " (date(summary.get(6))) } }
            tr { th { "Instruments" } td { (summary.get::<_, Option<&str>>(7).unwrap_or("")) } }
            tr { th { "Configurations" } td { (summary.get::<_, i64>(8)) } }
            tr { th { "Hour angles [h]" } td { (hours(summary.get(9))) " to " (hours(summary.get(10))) } }
            tr { th { "Baselines [m]" } td { (hours(summary.get(11))) " to " (hours(summary.get(12))) } }
            tr { th { "(u, v) coverage" } td {
                (summary.get::<_, i64>(13)) " cells of 10 m sampled"
                @if let Some(coverage) = coverage { (format!(", {:.1} % of the plane out to the longest baseline", coverage * 100.0)) }
            } }
        } }
        h2 { "(u, v) coverage" }
        @if tracks.is_empty() { p { "No projected baselines are known for this target." } } @else {
            p.legend { @for instrument in &instruments {
                span style=(format!("color: {}", instrument_colour(instrument))) { "■ " } (instrument) " "
            } }
            (uv_plot(&tracks))
            @if baselines.len() as i64 > MAX_BASELINES { p { (format!("The {MAX_BASELINES} most recent baselines are drawn.")) } }
        }
        h2 { "Observation blocks" }
        table #blocks {
            thead { tr {
                th { "Start (UTC)" } th { "Instrument" } th { "Mode" } th { "Stations" }
                th.number { "Exposures" } th.number { "LST [h]" } th.number { "HA [h]" }
            } }
            tbody { @for row in blocks.iter().take(MAX_BLOCKS as usize) {
                tr {
                    td { a href=(format!("/detail/exposure/{}", urlencode(row.get(0)))) { (date(row.get(4))) } }
                    td { (row.get::<_, &str>(1)) }
                    td { (row.get::<_, Option<&str>>(2).unwrap_or("")) }
                    td { (row.get::<_, Option<&str>>(3).unwrap_or("")) }
                    td.number { (row.get::<_, i64>(5)) }
                    td.number { (hours(row.get(6))) " – " (hours(row.get(7))) }
                    td.number { (hours(row.get(8))) " – " (hours(row.get(9))) }
                }
            } }
        }
        @if blocks.len() as i64 > MAX_BLOCKS { p { (format!("The {MAX_BLOCKS} most recent blocks are listed.")) } }
    };
    Ok(page(&format!("Target {name}"), body).into_response())
}
