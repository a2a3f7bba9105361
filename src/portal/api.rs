//! `/search.votable`: the ObsPortal API. ASPRO2 reads its FIELD names, their order and the
//! `exp_projected_baselines` string exactly, so they follow today's ObsPortal answers
//! (`shared/reference/obsportal`), with `schema/exposures.toml` as their one description.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use adql::build::Query;
use axum::extract::State;
use axum::response::Response;
use deadpool_postgres::Pool;

use super::plan::Plan;
use super::search::Search;
use crate::formats::Format;
use crate::http::{AppState, ParameterError, Parameters, ServiceError, Surface};
use crate::query::{prepare_built, prepare_with_uploads};
use crate::results::read_maxrec;
use crate::schema::{published_table, ApiPresence};
use crate::votable::{Datatype, Field, Preamble, TimestampStyle};

pub(super) async fn search_votable(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
    parameters: Result<Parameters, ParameterError>,
) -> Response {
    let datalink = crate::datalink::endpoint(&headers);
    Surface::Text.answer(answer(state, datalink, parameters).await)
}

async fn answer(
    state: AppState,
    datalink: String,
    parameters: Result<Parameters, ParameterError>,
) -> Result<Response, ServiceError> {
    let parameters = parameters?;
    // Many targets make a plan (`plan.rs`); one or none, the search ASPRO2 has always sent.
    let (plan, search) = match Plan::from_parameters(&parameters, &state.uploads).await? {
        Some((plan, search)) => (Some(plan), search),
        None => (None, Search::from_parameters(&parameters)?),
    };
    let all_fields = match parameters
        .get("all_fields")
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None | Some("false") | Some("0") => false,
        Some("true") | Some("1") => true,
        Some(other) => {
            return Err(ParameterError::invalid("all_fields", other, "true or false").into())
        }
    };
    let format = match parameters.get("format") {
        None => Format::TableData,
        Some(name) => Format::named(name)
            .ok_or_else(|| ParameterError::invalid("format", name, Format::choices()))?,
    };

    // Answers stream, but not without end: `instrument=GRAVITY` alone is 100 MB. The same
    // limits as TAP, the limit said before the table and OVERFLOW after it (DALI).
    let max_records =
        read_maxrec(parameters.single("maxrec")?).map_err(ServiceError::BadRequest)?;
    // `summary=targets` or `blocks`: what was observed of each target found, or its
    // observation blocks, rather than its exposures.
    let summary = match parameters.get("summary").map(str::to_ascii_lowercase) {
        None => None,
        Some(value) => Some(
            SUMMARIES
                .iter()
                .find(|(name, ..)| *name == value)
                .ok_or_else(|| ParameterError::invalid("summary", &value, "targets or blocks"))?,
        ),
    };
    let (mut fields, built) = if let Some(&(name, table, order)) = summary {
        let fields = published_table(table)
            .columns
            .iter()
            .map(Field::from_column)
            .collect::<Vec<_>>();
        let built = summary_query(name, table, order, &search, &fields)?;
        (fields, built)
    } else {
        let fields = api_fields(all_fields);
        let built = query(&search, &fields);
        (fields, built)
    };
    let mut params = Vec::new();
    let prepared = match plan {
        None => prepare_built(&built, Some(max_records))?,
        Some(plan) => {
            let text = plan.query(built).to_string();
            fields.extend(plan.fields());
            params.push(("targets".to_string(), plan.targets.rows.to_string()));
            prepare_with_uploads(&text, Some(max_records), vec![Arc::new(plan.targets)])?
        }
    };
    let preamble = Preamble {
        params: vec![
            ("status".into(), "OK".into()),
            (
                "last_mod_date".into(),
                state
                    .last_import
                    .get(&state.reader.pool)
                    .await
                    .unwrap_or_default(),
            ),
            ("maxrec".into(), max_records.to_string()),
        ]
        .into_iter()
        .chain(params)
        .collect(),
        infos: vec![],
        datalink: Some(datalink),
    };
    Ok(prepared
        .stream(
            &state.reader,
            format,
            &fields,
            &preamble,
            TimestampStyle::ObsPortal,
        )
        .await?)
}

/// What the API asks the database: the search's exposures in time order, with `fields`.
pub fn query(search: &Search, fields: &[Field]) -> Query {
    search
        .query(fields.iter().map(|field| field.name.as_str()))
        .order_by("exp_mjd_start", false)
        .order_by("exp_id", false)
}

/// The summaries the API answers: `summary` value, published table, order.
const SUMMARIES: &[(&str, &str, &str)] = &[
    ("targets", "targets", "target_id"),
    ("blocks", "blocks", "mjd_start"),
];

/// What a summary asks the database: the rows of its published table found, which count every
/// exposure: a search filtering them otherwise is refused, not half-answered.
fn summary_query(
    name: &str,
    table: &str,
    order: &str,
    search: &Search,
    fields: &[Field],
) -> Result<Query, ServiceError> {
    let positions_only = Search {
        cone: search.cone,
        ..Search::default()
    };
    if *search != positions_only {
        return Err(ServiceError::bad_request(format!(
            "summary={name} counts every exposure of each target: give positions only (ra, \
             dec, radius, or a plan's targets), without other filters"
        )));
    }
    let mut query = Query::select(
        &format!("obsportal.{table}"),
        fields.iter().map(|field| field.name.as_str()),
    );
    if let Some(condition) = search.cone_condition() {
        query = query.filter(condition);
    }
    Ok(query.order_by(order, false))
}

/// The FIELDs the API sends, in order: text as unicodeChar as ObsPortal always did, and no
/// DESCRIPTION elements (the API's answers never had them).
pub fn api_fields(all_fields: bool) -> Vec<Field> {
    let exposures = published_table("exposures");
    exposures
        .columns
        .iter()
        .filter(|column| match column.api {
            Some(ApiPresence::Default) => true,
            Some(ApiPresence::AllFields) => all_fields,
            None => false,
        })
        .map(|column| {
            let mut field = Field::from_column(column);
            if field.datatype == Datatype::Char {
                field.datatype = Datatype::UnicodeChar;
            }
            field.xtype = None;
            field.description = None;
            field
        })
        .collect()
}

/// When the published exposures last changed (the start of the import that changed them), as
/// ObsPortal wrote it; read from the published table on the reader pool (its index holds the
/// answer). Read at most every few seconds: every API answer carries it, and it changes once
/// per import.
#[derive(Clone, Default)]
pub struct LastImport(Arc<Mutex<Option<CachedValue>>>);

struct CachedValue {
    read_at: Instant,
    value: Option<String>,
}

impl LastImport {
    const FRESH_FOR: Duration = Duration::from_secs(5);

    pub async fn get(&self, pool: &Pool) -> Option<String> {
        if let Some(cached) = self.0.lock().expect("not poisoned").as_ref() {
            if cached.read_at.elapsed() < Self::FRESH_FOR {
                return cached.value.clone();
            }
        }
        let value = Self::read(pool).await;
        *self.0.lock().expect("not poisoned") = Some(CachedValue {
            read_at: Instant::now(),
            value: value.clone(),
        });
        value
    }

    async fn read(pool: &Pool) -> Option<String> {
        let client = pool.get().await.ok()?;
        let row = client
            .query_one("SELECT max(exp_date_updated) FROM obsportal.exposures", &[])
            .await
            .ok()?;
        let finished: Option<chrono::DateTime<chrono::Utc>> = row.get(0);
        finished.map(|instant| instant.format("%Y-%m-%d %H:%M:%S%:z").to_string())
    }
}
