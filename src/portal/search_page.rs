//! `/search`: the original portal's form, and a page of results sorted and paged by the
//! database, with exports and the equivalent ADQL. `?program_id=...` links land here.

use adql::build::Query;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{html, Markup};
use tokio_postgres::Row;

use super::home::urlencode;
use super::layout::page;
use super::page_rows;
use super::search::{Search, DEFAULT_RADIUS_ARCSEC};
use crate::http::{AppState, ParameterError, Parameters, ServiceError, Surface};
use crate::query::prepare_built;
use crate::results::fetch_rows;

const PAGE_SIZES: [i64; 3] = [20, 50, 100];
const DEFAULT_PAGE_SIZE: i64 = 50;

/// Columns a visitor may sort by: (column, header).
pub const SORTABLE: &[(&str, &str)] = &[
    ("exp_mjd_start", "Start (UTC)"),
    ("target_name", "Target"),
    ("instrument_name", "Instrument"),
    ("instrument_mode", "Mode"),
    ("interferometer_stations", "Stations"),
    ("obs_program", "Program"),
    ("obs_type", "Type"),
    ("exp_seeing", "Seeing [\"]"),
    ("exp_tau0", "τ0 [ms]"),
];

/// Parameters of the page itself, beside the search's.
pub struct Display {
    sort: &'static str,
    descending: bool,
    page: i64,
    size: i64,
}

impl Display {
    pub fn read(parameters: &Parameters) -> Result<Display, String> {
        let sort = match parameters.get("sort") {
            None => "exp_mjd_start",
            Some(name) => SORTABLE
                .iter()
                .map(|(column, _)| *column)
                .find(|column| *column == name)
                .ok_or_else(|| format!("cannot sort by {name:?}"))?,
        };
        let descending = match parameters.get("order") {
            None | Some("asc") => false,
            Some("desc") => true,
            Some(other) => return Err(format!("order={other:?}: expected asc or desc")),
        };
        let number = |name: &str, default: i64| -> Result<i64, String> {
            parameters
                .get(name)
                .map(|text| {
                    text.parse::<i64>()
                        .map_err(|_| format!("{name}={text:?} is not a whole number"))
                })
                .unwrap_or(Ok(default))
        };
        let page = number("page", 1)?.max(1);
        let size = number("size", DEFAULT_PAGE_SIZE)?;
        if !PAGE_SIZES.contains(&size) {
            return Err(format!("size={size}: choose 20, 50 or 100 rows per page"));
        }
        Ok(Display {
            sort,
            descending,
            page,
            size,
        })
    }
}

pub(super) async fn search_page(
    State(state): State<AppState>,
    parameters: Result<Parameters, ParameterError>,
) -> Response {
    Surface::Page.answer(answer(&state, parameters).await)
}

async fn answer(
    state: &AppState,
    parameters: Result<Parameters, ParameterError>,
) -> Result<Response, ServiceError> {
    let parameters = parameters?;
    let counts = ModeCounts::read(state).await?;
    let choices = counts.choices();
    let search = Search::from_parameters(&parameters);
    let display = Display::read(&parameters);
    let form = search_form(&parameters, &choices);
    let (search, display) = match (search, display) {
        (Ok(search), Ok(display)) => (search, display),
        (Err(error), _) => return Ok(invalid(form, &error.to_string())),
        (_, Err(message)) => return Ok(invalid(form, &message)),
    };
    // A bare /search shows the form only; a submitted form, even empty, lists what matches.
    let searching = !parameters.pairs.is_empty();
    if !searching {
        return Ok(page("Search observations", form).into_response());
    }
    let results = results(state, &search, &display, &parameters, &counts).await?;
    Ok(page("Search observations", html! { (form) (results) }).into_response())
}

fn invalid(form: Markup, message: &str) -> Response {
    (
        StatusCode::BAD_REQUEST,
        page(
            "Search observations",
            html! { p.error { (message) } (form) },
        ),
    )
        .into_response()
}

/// How many exposures each instrument has in each mode (an empty mode for none), from the
/// statistics of the last import: the form's choices, and the count of searches by instrument
/// and mode alone.
struct ModeCounts(Vec<(String, String, i64)>);

impl ModeCounts {
    async fn read(state: &AppState) -> Result<ModeCounts, ServiceError> {
        let rows = page_rows(
            state,
            "SELECT instrument_name, value, exposures FROM obsportal.summary
              WHERE dimension = 'mode' ORDER BY instrument_name, value",
            vec![],
        )
        .await?;
        Ok(ModeCounts(
            rows.iter()
                .map(|row| (row.get(0), row.get(1), row.get(2)))
                .collect(),
        ))
    }

    /// Instruments and their named modes, for the form.
    fn choices(&self) -> Vec<(String, Vec<String>)> {
        let mut choices: Vec<(String, Vec<String>)> = Vec::new();
        for (instrument, mode, _) in self.0.iter().filter(|(_, mode, _)| !mode.is_empty()) {
            match choices.last_mut() {
                Some((name, modes)) if name == instrument => modes.push(mode.clone()),
                _ => choices.push((instrument.clone(), vec![mode.clone()])),
            }
        }
        choices
    }

    /// The exact count of a search by instrument and mode alone.
    fn count(&self, search: &Search) -> Option<i64> {
        if !search.only_by_instrument_and_mode() {
            return None;
        }
        let matches =
            |wanted: &Option<String>, value: &str| wanted.as_deref().is_none_or(|w| w == value);
        Some(
            self.0
                .iter()
                .filter(|(instrument, mode, _)| {
                    matches(&search.instrument, instrument)
                        && matches(&search.instrument_mode, mode)
                })
                .map(|(_, _, exposures)| exposures)
                .sum(),
        )
    }
}

/// The form's text fields: (label, parameter, example).
const SEARCH_FIELDS: &[(&str, &str, &str)] = &[
    ("From (MJD or date)", "mjd_from", "2019-01-01"),
    ("To (MJD or date)", "mjd_to", "59000"),
    ("Program id", "program_id", "0104.C-0425(A)"),
    ("Target name", "target", "HD 45677"),
    ("RA (deg or h:m:s)", "ra", "104.8167"),
    ("Dec (deg or d:m:s)", "dec", "-13.0586"),
];
const INTERFEROMETRY_FIELDS: &[(&str, &str, &str)] = &[
    ("Stations (all of)", "stations", "A0 G1 J2 J3"),
    ("Hour angle from [h]", "ha_from", "-2"),
    ("to [h]", "ha_to", "2"),
    ("LST from [h]", "lst_from", "22"),
    ("to [h]", "lst_to", "2"),
    ("Baseline from [m]", "baseline_min", "100"),
    ("to [m]", "baseline_max", "130"),
    ("Position angle from [deg]", "angle_min", "30"),
    ("to [deg]", "angle_max", "60"),
    ("Seeing at most [\"]", "seeing_max", "0.8"),
    ("τ0 at least [ms]", "tau0_min", "5"),
];

fn search_form(parameters: &Parameters, choices: &[(String, Vec<String>)]) -> Markup {
    let value = |name: &str| parameters.get(name).unwrap_or("").to_string();
    let instrument = value("instrument");
    let mode = value("instrument_mode");
    html! {
        form.search method="get" action="/search" {
            label { "Instrument"
                select name="instrument" {
                    option value="" { "any" }
                    @for (name, _) in choices { option value=(name) selected[*name == instrument] { (name) } }
                }
            }
            label { "Mode"
                select name="instrument_mode" {
                    option value="" { "any" }
                    @for (name, modes) in choices {
                        optgroup label=(name) {
                            @for m in modes { option value=(m) selected[*m == mode] { (m) } }
                        }
                    }
                }
            }
            @for (label, name, example) in SEARCH_FIELDS {
                label { (label) input type="text" name=(name) value=(value(name)) placeholder=(example); }
            }
            label { "Radius (arcsec)" input type="text" name="radius" value=(value("radius")) placeholder=(DEFAULT_RADIUS_ARCSEC); }
            fieldset.interferometry {
                legend { "Configuration, time and conditions" }
                @for (label, name, example) in INTERFEROMETRY_FIELDS {
                    label { (label) input type="text" name=(name) value=(value(name)) placeholder=(example); }
                }
            }
            div.actions { button type="submit" { "Search" } a href="/search" { "Clear" } }
        }
    }
}

/// Beyond this many matching exposures the page says "more than" instead of counting them
/// all, unless the visitor asks (`count=exact`): a count reads every matching row.
const COUNT_UP_TO: i64 = 1000;

/// How many exposures a search finds, as the page can say it.
enum Count {
    Exact(i64),
    MoreThan(i64),
}

async fn results(
    state: &AppState,
    search: &Search,
    display: &Display,
    parameters: &Parameters,
    counts: &ModeCounts,
) -> Result<Markup, ServiceError> {
    let count = match counts.count(search) {
        Some(exact) => Count::Exact(exact),
        None => {
            let exact = parameters.get("count") == Some("exact");
            let up_to = (!exact).then_some(COUNT_UP_TO as u64 + 1);
            let counting = search.query(["exp_id"]).count("found", up_to);
            let found: i64 = run(state, &counting).await?[0].get(0);
            if exact || found <= COUNT_UP_TO {
                Count::Exact(found)
            } else {
                Count::MoreThan(COUNT_UP_TO)
            }
        }
    };
    let mut rows = run(state, &page_query(search, display)).await?;
    let more = rows.len() as i64 > display.size;
    rows.truncate(display.size as usize);
    let pages = match count {
        Count::Exact(count) => Some(((count + display.size - 1) / display.size).max(1)),
        Count::MoreThan(_) => None,
    };
    // What to go on with on TAP: every column, in the page's order.
    let adql = search
        .query(Vec::<String>::new())
        .order_by(display.sort, display.descending)
        .to_string();
    let tap_link = format!(
        "/tap/sync?REQUEST=doQuery&LANG=ADQL&FORMAT=votable&QUERY={}",
        urlencode(&adql)
    );
    let kept = query_without(parameters, &["page", "format", "sort", "order"]);
    let sort_link = |column: &str| {
        let descending = column == display.sort && !display.descending;
        format!(
            "/search?{kept}&sort={column}&order={}",
            if descending { "desc" } else { "asc" }
        )
    };
    let page_link = |page: i64| {
        format!(
            "/search?{}&page={page}",
            query_without(parameters, &["page"])
        )
    };
    let export = query_without(parameters, &["page", "size", "sort", "order", "format"]);
    let exact_count_link = format!(
        "/search?{}&count=exact",
        query_without(parameters, &["count"])
    );
    let page_of = |page: i64| match pages {
        Some(pages) => format!("Page {page} of {pages}"),
        None => format!("Page {page}"),
    };
    Ok(html! {
        p #result-count {
            @match count {
                Count::Exact(count) => { strong { (count) } " exposures found" }
                Count::MoreThan(count) => {
                    "More than " strong { (count) } " exposures found ("
                    a href=(exact_count_link) { "count them all" } ")"
                }
            }
            @if !rows.is_empty() { ", " (page_of(display.page).to_lowercase()) } "."
        }
        p.exports {
            "Export all: "
            a href=(format!("/search.votable?{export}")) { "VOTable" } " · "
            a href=(format!("/search.votable?{export}&format=csv")) { "CSV" }
        }
        @if !rows.is_empty() {
            table #results {
                thead { tr {
                    th { "Exposure" }
                    @for (column, header) in SORTABLE {
                        th.number[matches!(*column, "exp_seeing" | "exp_tau0")] {
                            a href=(sort_link(column)) { (header) @if *column == display.sort { (if display.descending { " ▼" } else { " ▲" }) } }
                        }
                    }
                    th.number { "HA [h]" }
                    th { "RA, Dec [deg]" }
                } }
                tbody { @for row in &rows { (result_row(row)) } }
            }
            p.pager {
                @if display.page > 1 { a rel="prev" href=(page_link(display.page - 1)) { "← Previous" } }
                span { (page_of(display.page)) }
                @if more { a rel="next" href=(page_link(display.page + 1)) { "Next →" } }
            }
        }
        h2 { "The same search in ADQL" }
        pre.adql { (adql) }
        p { a href=(tap_link) { "Run it on the TAP service" } " (" code { "/tap/sync" } ")" }
    })
}

/// The columns a page of results shows, in the order `result_row` reads them.
const PAGE_COLUMNS: [&str; 15] = [
    "exp_id",
    "exp_mjd_start",
    "target_name",
    "target_ra",
    "target_dec",
    "instrument_name",
    "instrument_mode",
    "instrument_submode",
    "interferometer_stations",
    "obs_program",
    "obs_type",
    "exp_seeing",
    "exp_tau0",
    "target_id",
    "exp_ha_start",
];

/// A page of a search's results in the order asked, and one row more (to know whether a next
/// page exists): what the sort indexes of migrations/0006 serve, in either direction.
/// Exposures without a seeing or tau0 come last both ways (their own descending indexes): a
/// visitor asking for the worst conditions first wants conditions, not blanks.
pub fn page_query(search: &Search, display: &Display) -> Query {
    let query = search.query(PAGE_COLUMNS);
    let query = match display.sort {
        "exp_seeing" | "exp_tau0" => query.order_by_missing_last(display.sort, display.descending),
        _ => query.order_by(display.sort, display.descending),
    };
    query
        .order_by("exp_id", display.descending)
        .top(display.size as u64 + 1)
        .offset(((display.page - 1) * display.size) as u64)
}

/// Runs one of the page's queries on the pages' connections, through the one query path.
async fn run(state: &AppState, query: &Query) -> Result<Vec<Row>, ServiceError> {
    let prepared = prepare_built(query, None)?;
    Ok(fetch_rows(&state.pages, &prepared.query).await?)
}

fn result_row(row: &Row) -> Markup {
    let exp_id: &str = row.get(0);
    let mjd: f64 = row.get(1);
    let program: Option<&str> = row.get(9);
    let optional = |value: Option<f64>, scale: f64, decimals: usize| {
        value
            .map(|v| format!("{:.*}", decimals, v * scale))
            .unwrap_or_default()
    };
    html! {
        tr {
            td { a href=(format!("/detail/exposure/{}", urlencode(exp_id))) { (exp_id) } }
            td { (crate::mjd::to_datetime(mjd).map(|t| t.format("%Y-%m-%d %H:%M").to_string()).unwrap_or_default()) br; small { (format!("MJD {mjd:.5}")) } }
            td { a href=(format!("/detail/target/{}", row.get::<_, i32>(13))) { (row.get::<_, &str>(2)) } }
            td { (row.get::<_, &str>(5)) }
            td { (row.get::<_, Option<&str>>(6).unwrap_or("")) " " small { (row.get::<_, Option<&str>>(7).unwrap_or("")) } }
            td { (row.get::<_, Option<&str>>(8).unwrap_or("")) }
            td { @if let Some(program) = program { a href=(format!("/search?program_id={}", urlencode(program))) { (program) } } }
            td { (row.get::<_, &str>(10)) }
            td.number { (optional(row.get(11), 1.0, 2)) }
            td.number { (optional(row.get(12), 1000.0, 1)) }
            td.number { (optional(row.get(14), 1.0, 2)) }
            td { (format!("{:.5}, {:.5}", row.get::<_, f64>(3), row.get::<_, f64>(4))) }
        }
    }
}

/// The request's query string without some parameters, for links that change only those.
fn query_without(parameters: &Parameters, drop: &[&str]) -> String {
    parameters
        .pairs
        .iter()
        .filter(|(name, value)| !drop.contains(&name.as_str()) && !value.trim().is_empty())
        .map(|(name, value)| format!("{}={}", urlencode(name), urlencode(value)))
        .collect::<Vec<_>>()
        .join("&")
}
