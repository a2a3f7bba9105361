//! `/changes`: what changed since a client last looked, for harvesters (JMMC's OiDB) that
//! today walk ObsPortal year by year. Exposures in the order they changed
//! (`exp_date_updated`, then `exp_id`), a page at a time, with the URL of the next page in
//! the answer (`next`: a PARAM in VOTable, a `params` member in JSON, and a `Link` header).
//!
//! Why a client misses nothing and sees nothing twice: an import stamps its exposures after it
//! takes the import lock (migrations/0012), so stamps follow the order imports commit in, and
//! what a running import writes is stamped later than anything already visible. Each page is
//! bounded before it is read: the page ends at the key of its last row, found first, and the
//! next page starts after that key, whatever committed in between (a page found empty is
//! sent empty). An import that commits between the bound and the page can make a last page
//! longer than `limit`, never one that overlaps another.

use adql::build::{Condition, Value};
use axum::extract::State;
use axum::http::{header, HeaderValue};
use axum::response::Response;
use chrono::{DateTime, SecondsFormat, Utc};

use super::api::api_fields;
use super::search::Search;
use crate::formats::Format;
use crate::http::{service_url, AppState, ParameterError, Parameters, ServiceError, Surface};
use crate::query::prepare_built;
use crate::results::fetch_rows;
use crate::votable::{Preamble, TimestampStyle};

const DEFAULT_LIMIT: u64 = 1000;
const MAX_LIMIT: u64 = 10_000;
/// The key columns: when an exposure changed, and which it is.
const CHANGED: &str = "exp_date_updated";
const ID: &str = "exp_id";

pub(super) async fn changes(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
    parameters: Result<Parameters, ParameterError>,
) -> Response {
    Surface::Text.answer(answer(state, &headers, parameters).await)
}

/// Where a page starts: after this change, or after this exposure of it.
struct Cursor {
    since: DateTime<Utc>,
    after: Option<String>,
}

async fn answer(
    state: AppState,
    headers: &axum::http::HeaderMap,
    parameters: Result<Parameters, ParameterError>,
) -> Result<Response, ServiceError> {
    let base = &service_url(headers);
    let parameters = parameters?;
    if parameters.get("date_updated_from").is_some() || parameters.get("date_updated_to").is_some()
    {
        return Err(ServiceError::bad_request(
            "the change feed starts where `since` (and `after`) say: date_updated_from and \
             date_updated_to are the search's",
        ));
    }
    let search = Search::from_parameters(&parameters)?;
    let since = parameters.required("since", "an ISO 8601 instant with a timezone")?;
    let cursor = Cursor {
        since: DateTime::parse_from_rfc3339(&since.replacen(' ', "T", 1))
            .map_err(|_| {
                ParameterError::invalid(
                    "since",
                    since,
                    "an ISO 8601 instant with a timezone, e.g. 2024-01-01T00:00:00Z",
                )
            })?
            .with_timezone(&Utc),
        after: parameters.get("after").map(str::to_string),
    };
    let limit = match parameters.single("limit")? {
        None => DEFAULT_LIMIT,
        Some(text) => text
            .parse::<u64>()
            .ok()
            .filter(|limit| (1..=MAX_LIMIT).contains(limit))
            .ok_or_else(|| ParameterError::invalid("limit", text, "1 to 10000"))?,
    };
    let format = match parameters.get("format") {
        None => Format::Json,
        Some(name) => Format::named(name)
            .ok_or_else(|| ParameterError::invalid("format", name, Format::choices()))?,
    };
    let all_fields = parameters
        .get("all_fields")
        .is_some_and(|value| value.eq_ignore_ascii_case("true") || value == "1");

    // The page's last key: the limit-th change after the cursor, or the last one of all.
    let after_cursor = search
        .query([CHANGED, ID])
        .filter(after(&cursor.since, cursor.after.as_deref()));
    let nth = after_cursor
        .clone()
        .order_by(CHANGED, false)
        .order_by(ID, false)
        .offset(limit - 1)
        .top(1);
    let last = after_cursor
        .clone()
        .order_by(CHANGED, true)
        .order_by(ID, true)
        .top(1);
    let mut end = None;
    for bound in [nth, last] {
        let rows = fetch_rows(&state.reader, &prepare_built(&bound, None)?.query).await?;
        if let Some(row) = rows.first() {
            end = Some((row.get::<_, DateTime<Utc>>(0), row.get::<_, String>(1)));
            break;
        }
    }

    let fields = api_fields(all_fields);
    let mut rows = search
        .query(fields.iter().map(|field| field.name.as_str()))
        .filter(after(&cursor.since, cursor.after.as_deref()));
    let next = match &end {
        Some((changed, id)) => {
            rows = rows.filter(Condition::AnyOf(vec![
                Condition::Less(CHANGED.into(), instant(changed)),
                Condition::AllOf(vec![
                    Condition::Equal(CHANGED.into(), instant(changed)),
                    Condition::AtMost(ID.into(), Value::Text(id.clone())),
                ]),
            ]));
            next_url(base, &parameters, changed, Some(id))
        }
        // Nothing changed since: an empty page (an import that commits meanwhile is for the
        // next poll, which asks the same).
        None => {
            rows = rows.top(0);
            next_url(base, &parameters, &cursor.since, cursor.after.as_deref())
        }
    };
    let rows = rows.order_by(CHANGED, false).order_by(ID, false);
    let preamble = Preamble {
        params: vec![("next".into(), next.clone())],
        infos: vec![],
        datalink: Some(crate::datalink::endpoint(headers)),
    };
    let mut response = prepare_built(&rows, None)?
        .stream(
            &state.reader,
            format,
            &fields,
            &preamble,
            TimestampStyle::ObsPortal,
        )
        .await?;
    if let Ok(link) = HeaderValue::from_str(&format!("<{next}>; rel=\"next\"")) {
        response.headers_mut().insert(header::LINK, link);
    }
    Ok(response)
}

/// The changes after the cursor: later, or as late and after its exposure.
fn after(since: &DateTime<Utc>, exposure: Option<&str>) -> Condition {
    let later = Condition::Greater(CHANGED.into(), instant(since));
    match exposure {
        None => later,
        Some(id) => Condition::AnyOf(vec![
            later,
            Condition::AllOf(vec![
                Condition::Equal(CHANGED.into(), instant(since)),
                Condition::Greater(ID.into(), Value::Text(id.to_string())),
            ]),
        ]),
    }
}

/// To the microsecond, as PostgreSQL keeps it: a cursor must not round.
fn instant(at: &DateTime<Utc>) -> Value {
    Value::Timestamp(at.to_rfc3339_opts(SecondsFormat::Micros, true))
}

/// This request's URL with the cursor moved on.
fn next_url(
    base: &str,
    parameters: &Parameters,
    since: &DateTime<Utc>,
    after: Option<&str>,
) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (name, value) in &parameters.pairs {
        if !["since", "after"].contains(&name.to_ascii_lowercase().as_str()) {
            query.append_pair(name, value);
        }
    }
    query.append_pair("since", &since.to_rfc3339_opts(SecondsFormat::Micros, true));
    if let Some(after) = after {
        query.append_pair("after", after);
    }
    format!("{base}/changes?{}", query.finish())
}
