//! `/search.votable`: the ObsPortal API. ASPRO2 reads its FIELD names, their order and the
//! `exp_projected_baselines` string exactly, so they follow today's ObsPortal answers
//! (`shared/reference/obsportal`), with `schema/exposures.toml` as their one description.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use deadpool_postgres::Pool;

use super::search::Search;
use crate::params::Parameters;
use crate::results::{output_buffer, read_maxrec, row_limit, stream_results, ResultQuery};
use crate::schema::{published_table, ApiPresence};
use crate::server::AppState;
use crate::votable::{
    CsvWriter, Datatype, Field, Preamble, ResultWriter, TableDataWriter, TimestampStyle,
};

enum Format {
    Votable,
    Csv,
}

pub(super) async fn search_votable(
    State(state): State<AppState>,
    parameters: Parameters,
) -> Response {
    match answer(state, parameters).await {
        Ok(response) => response,
        Err(response) => response,
    }
}

async fn answer(state: AppState, parameters: Parameters) -> Result<Response, Response> {
    let bad_request = |message: String| {
        (
            StatusCode::BAD_REQUEST,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            message,
        )
            .into_response()
    };
    let search =
        Search::from_parameters(&parameters).map_err(|error| bad_request(error.to_string()))?;
    let all_fields = match parameters
        .get("all_fields")
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None | Some("false") | Some("0") => false,
        Some("true") | Some("1") => true,
        Some(other) => {
            return Err(bad_request(format!(
                "all_fields={other:?}: expected true or false"
            )))
        }
    };
    let format = match parameters
        .get("format")
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None | Some("votable") => Format::Votable,
        Some("csv") => Format::Csv,
        Some(other) => {
            return Err(bad_request(format!(
                "format={other:?}: expected votable or csv"
            )))
        }
    };

    // Answers stream, but not without end: `instrument=GRAVITY` alone is 100 MB. The same
    // limits as TAP, the limit said before the table and OVERFLOW after it (DALI).
    let max_records = parameters
        .single("maxrec")
        .map_err(|error| bad_request(error.message))?;
    let max_records = read_maxrec(max_records).map_err(bad_request)?;
    let fields = api_fields(all_fields);
    let columns: Vec<&str> = fields.iter().map(|field| field.name.as_str()).collect();
    let (condition, sql_parameters) = search.condition();
    let query = ResultQuery {
        // The limit in the text, as TAP writes it: a generic plan given `LIMIT $n` guesses a
        // small limit and may walk the exp_mjd_start index instead of sorting a cone's rows.
        sql: format!(
            "SELECT {} FROM obsportal.exposures WHERE {condition} \
             ORDER BY exp_mjd_start, exp_id LIMIT {}",
            columns.join(", "),
            row_limit(max_records)
        ),
        parameters: sql_parameters,
        parameter_types: Vec::new(),
        max_rows: Some(max_records),
    };
    let (writer, content_type): (Box<dyn ResultWriter>, _) = match format {
        Format::Votable => {
            let preamble = Preamble {
                params: vec![
                    ("status".into(), "OK".into()),
                    (
                        "last_mod_date".into(),
                        state.last_import.get(&state.pool).await.unwrap_or_default(),
                    ),
                    ("maxrec".into(), max_records.to_string()),
                ],
                infos: vec![],
            };
            let writer = TableDataWriter::start(
                output_buffer(),
                &preamble,
                &fields,
                TimestampStyle::ObsPortal,
            )
            .expect("writing to memory cannot fail");
            (Box::new(writer), "application/x-votable+xml; charset=utf-8")
        }
        Format::Csv => {
            let writer = CsvWriter::start(output_buffer(), &fields, TimestampStyle::ObsPortal)
                .expect("writing to memory cannot fail");
            (Box::new(writer), "text/csv; charset=utf-8; header=present")
        }
    };
    stream_results(state.reader.clone(), query, writer, content_type)
        .await
        .map_err(IntoResponse::into_response)
}

/// The FIELDs the API sends, in order: text as unicodeChar as ObsPortal always did, and no
/// DESCRIPTION elements (the API's answers never had them).
pub(crate) fn api_fields(all_fields: bool) -> Vec<Field> {
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

/// When the last import that changed anything finished, as ObsPortal wrote it. Read at most
/// every few seconds: every API answer carries it, and it changes once per import.
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
            .query_one(
                "SELECT max(finished_at) FROM obsportal.import WHERE headers_new + headers_changed > 0",
                &[],
            )
            .await
            .ok()?;
        let finished: Option<chrono::DateTime<chrono::Utc>> = row.get(0);
        finished.map(|instant| instant.format("%Y-%m-%d %H:%M:%S%:z").to_string())
    }
}
