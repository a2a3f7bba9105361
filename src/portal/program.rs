//! Following a program or a target: `/program/{id}`, what was observed for an ESO program as a
//! timeline of nights (configurations, modes, targets, conditions, release dates), and Atom
//! feeds of the same nights for a program (`/program/{id}/feed.atom`) or a target
//! (`/detail/target/{id}/feed.atom`), which a PI's feed reader polls.
//!
//! A night is the observing night at the site: the date of its evening in local mean solar
//! time (the site's longitude from `geometry`), so that a VLTI night from 23:00 to 10:00 UT is
//! one night.

use std::collections::BTreeSet;

use axum::extract::{Path, State};
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use maud::html;
use tokio_postgres::Row;

use super::home::urlencode;
use super::layout::page;
use super::page_rows;
use crate::http::{service_url, AppState, ServiceError, Surface};
use crate::votable::xml_escaped;

/// A page or feed reads at most this many exposures (the most recent).
const MAX_EXPOSURES: i64 = 20_000;
/// A feed holds the most recent nights.
const FEED_NIGHTS: usize = 50;

const COLUMNS: &str =
    "exp_id, exp_mjd_start, interferometer_name, instrument_name, instrument_mode, \
     interferometer_stations, target_name, target_id, obs_type, exp_seeing, exp_tau0, \
     exp_date_release, exp_date_updated, obs_program";

/// One observing night's exposures, summed up.
struct Night {
    date: NaiveDate,
    exposures: usize,
    first_exp_id: String,
    setups: BTreeSet<String>,
    targets: BTreeSet<(String, i32, String)>,
    seeing: Vec<f64>,
    tau0: Vec<f64>,
    released: Option<DateTime<Utc>>,
    updated: DateTime<Utc>,
}

/// The observing night of an exposure: its evening's date, local mean solar time at the site.
fn night_of(mjd: f64, interferometer: &str) -> Option<NaiveDate> {
    let longitude = crate::geometry::site(interferometer)
        .map(|site| site.longitude().to_degrees())
        .unwrap_or(0.0);
    // Local noon to local noon: shift by the longitude, then half a day back.
    crate::mjd::to_datetime(mjd + longitude / 360.0 - 0.5).map(|at| at.date_naive())
}

/// Exposures (in time order, `COLUMNS`) grouped into nights, most recent first.
fn nights(rows: &[Row]) -> Vec<Night> {
    let mut nights: Vec<Night> = Vec::new();
    for row in rows {
        let Some(date) = night_of(row.get(1), row.get(2)) else {
            continue;
        };
        if nights.last().is_none_or(|night| night.date != date) {
            nights.push(Night {
                date,
                exposures: 0,
                first_exp_id: row.get(0),
                setups: BTreeSet::new(),
                targets: BTreeSet::new(),
                seeing: Vec::new(),
                tau0: Vec::new(),
                released: None,
                updated: row.get(12),
            });
        }
        let night = nights.last_mut().expect("pushed");
        night.exposures += 1;
        night.setups.insert(format!(
            "{} {} {}",
            row.get::<_, &str>(3),
            row.get::<_, Option<&str>>(4).unwrap_or(""),
            row.get::<_, Option<&str>>(5).unwrap_or("")
        ));
        night.targets.insert((row.get(6), row.get(7), row.get(8)));
        night.seeing.extend(row.get::<_, Option<f64>>(9));
        night.tau0.extend(row.get::<_, Option<f64>>(10));
        let released: Option<DateTime<Utc>> = row.get(11);
        night.released = night.released.max(released);
        night.updated = night.updated.max(row.get(12));
    }
    nights.reverse();
    nights
}

fn mean(values: &[f64]) -> Option<f64> {
    (!values.is_empty()).then(|| values.iter().sum::<f64>() / values.len() as f64)
}

/// A program's exposures as stored, or under the other spelling of an old-style id (ESO writes
/// `0104.C-0425(A)`; people also type `104.C-0425(A)`).
async fn program_rows(state: &AppState, id: &str) -> Result<(String, Vec<Row>), ServiceError> {
    let mut spellings = vec![id.to_string()];
    if id.len() > 3 && id.as_bytes()[3] == b'.' && id[..3].bytes().all(|b| b.is_ascii_digit()) {
        spellings.push(format!("0{id}"));
    }
    for spelling in spellings {
        let rows = page_rows(
            state,
            &format!(
                "SELECT {COLUMNS} FROM (SELECT {COLUMNS} FROM obsportal.exposures \
                 WHERE obs_program = $1 ORDER BY exp_mjd_start DESC LIMIT $2) AS recent \
                 ORDER BY exp_mjd_start"
            ),
            vec![Box::new(spelling.clone()), Box::new(MAX_EXPOSURES)],
        )
        .await?;
        if !rows.is_empty() {
            return Ok((spelling, rows));
        }
    }
    Err(ServiceError::NotFound(format!(
        "No exposure of program {id:?} is here."
    )))
}

pub(super) async fn program(State(state): State<AppState>, Path(id): Path<String>) -> Response {
    Surface::Page.answer(program_page(&state, &id).await)
}

async fn program_page(state: &AppState, id: &str) -> Result<Response, ServiceError> {
    let (id, rows) = program_rows(state, id).await?;
    let pi: Option<String> = page_rows(
        state,
        "SELECT pi_coi FROM obsportal.summary WHERE dimension = 'program' AND value = $1 LIMIT 1",
        vec![Box::new(id.clone())],
    )
    .await?
    .first()
    .and_then(|row| row.get(0));
    let nights = nights(&rows);
    let hundredths = |value: Option<f64>, scale: f64| {
        value
            .map(|v| format!("{:.2}", v * scale))
            .unwrap_or_default()
    };
    let body = html! {
        p {
            @if let Some(pi) = &pi { "PI: " (pi) " · " }
            (rows.len()) " exposures in " (nights.len()) " nights · "
            a href=(format!("/search?program_id={}", urlencode(&id))) { "Search its exposures" } " · "
            a href=(format!("https://archive.eso.org/wdb/wdb/eso/sched_rep_arc/query?progid={}", urlencode(&id))) { "Program at ESO" } " · "
            a href=(format!("/program/{}/feed.atom", urlencode(&id))) { "Atom feed" } " · "
            a href=(format!("/changes?since=2000-01-01T00:00:00Z&program_id={}", urlencode(&id))) { "Change feed" }
        }
        @if rows.len() as i64 >= MAX_EXPOSURES { p { (format!("The {MAX_EXPOSURES} most recent exposures are shown.")) } }
        table #nights {
            thead { tr {
                th { "Night" } th.number { "Exposures" } th { "Instrument, mode, stations" } th { "Targets" }
                th.number { "Seeing [\"]" } th.number { "τ0 [ms]" } th { "Released" }
            } }
            tbody { @for night in &nights {
                tr {
                    td { a href=(format!("/detail/exposure/{}", urlencode(&night.first_exp_id))) { (night.date) } }
                    td.number { (night.exposures) }
                    td { @for setup in &night.setups { (setup) br; } }
                    td { @for (name, target_id, kind) in &night.targets {
                        a href=(format!("/detail/target/{target_id}")) { (name) } @if kind == "calibrator" { small { " (cal)" } } br;
                    } }
                    td.number { (hundredths(mean(&night.seeing), 1.0)) }
                    td.number { (hundredths(mean(&night.tau0), 1000.0)) }
                    td { (night.released.map(|at| at.format("%Y-%m-%d").to_string()).unwrap_or_default()) }
                }
            } }
        }
    };
    Ok(page(&format!("Program {id}"), body).into_response())
}

pub(super) async fn program_feed(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let base = service_url(&headers);
    Surface::Text.answer(
        async {
            let (id, rows) = program_rows(&state, &id).await?;
            let page = format!("{base}/program/{}", urlencode(&id));
            Ok(atom(&format!("Program {id}"), &page, &nights(&rows), &base))
        }
        .await,
    )
}

pub(super) async fn target_feed(
    State(state): State<AppState>,
    headers: HeaderMap,
    Path(target_id): Path<String>,
) -> Response {
    let base = service_url(&headers);
    Surface::Text.answer(
        async {
            let missing = || ServiceError::NotFound(format!("There is no target {target_id:?}."));
            let id: i32 = target_id.parse().map_err(|_| missing())?;
            let rows = page_rows(
                &state,
                &format!(
                    "SELECT {COLUMNS} FROM (SELECT {COLUMNS} FROM obsportal.exposures \
                 WHERE target_id = $1 ORDER BY exp_mjd_start DESC LIMIT $2) AS recent \
                 ORDER BY exp_mjd_start"
                ),
                vec![Box::new(id), Box::new(MAX_EXPOSURES)],
            )
            .await?;
            let name: String = rows.first().ok_or_else(missing)?.get(6);
            let page = format!("{base}/detail/target/{id}");
            Ok(atom(
                &format!("Target {name}"),
                &page,
                &nights(&rows),
                &base,
            ))
        }
        .await,
    )
}

/// An Atom 1.0 feed of the most recent nights, one entry each, updated when its exposures
/// last changed.
fn atom(title: &str, page: &str, nights: &[Night], base: &str) -> Response {
    let stamp = |at: &DateTime<Utc>| at.to_rfc3339_opts(SecondsFormat::Secs, true);
    let updated = nights
        .iter()
        .map(|night| night.updated)
        .max()
        .unwrap_or_default();
    let mut xml = format!(
        "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<feed xmlns=\"http://www.w3.org/2005/Atom\">\n \
         <title>{}</title>\n <id>{}</id>\n <link rel=\"alternate\" href=\"{}\"/>\n <updated>{}</updated>\n \
         <author><name>obsportal</name></author>\n",
        xml_escaped(&format!("{title}: observations")),
        xml_escaped(page),
        xml_escaped(page),
        stamp(&updated)
    );
    for night in nights.iter().take(FEED_NIGHTS) {
        let targets: Vec<&str> = night.targets.iter().map(|t| t.0.as_str()).collect();
        let setups: Vec<&str> = night.setups.iter().map(String::as_str).collect();
        let link = format!("{base}/detail/exposure/{}", urlencode(&night.first_exp_id));
        xml.push_str(&format!(
            " <entry>\n  <title>{}</title>\n  <id>{}#{}</id>\n  <link rel=\"alternate\" href=\"{}\"/>\n  \
             <updated>{}</updated>\n  <summary>{}</summary>\n </entry>\n",
            xml_escaped(&format!(
                "{}: {} exposures of {}",
                night.date,
                night.exposures,
                targets.join(", ")
            )),
            xml_escaped(page),
            night.date,
            xml_escaped(&link),
            stamp(&night.updated),
            xml_escaped(&setups.join("; "))
        ));
    }
    xml.push_str("</feed>\n");
    ([(header::CONTENT_TYPE, "application/atom+xml")], xml).into_response()
}
