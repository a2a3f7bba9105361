//! A TAP query as its parameters ask for it (TAP 1.1, DALI 1.1), read once for both ways of
//! running it: `/tap/sync` answers it at once, an async job runs it later on a worker. Names
//! are matched without regard to case, values exactly; unknown parameters are ignored.

use axum::response::Response;

use crate::db::QueryPool;
use crate::formats::Format;
use crate::http::{Parameters, ServiceError};
use crate::query::{field_of, prepare};
use crate::results::read_maxrec;
use crate::votable::{Field, Preamble, TimestampStyle};

/// A checked request: what to run and how to write it.
pub struct TapRequest {
    query: String,
    max_records: u64,
    format: Format,
}

impl TapRequest {
    pub fn read(parameters: &Parameters) -> Result<TapRequest, ServiceError> {
        // Every TAP parameter read here is single-valued (UPLOAD, which is not, is not taken yet).
        if let Some(request) = parameters.single("REQUEST")? {
            if request != "doQuery" {
                return Err(ServiceError::bad_request(format!(
                    "REQUEST={request}: this service runs queries (REQUEST=doQuery)"
                )));
            }
        }
        match parameters.required("LANG", "LANG=ADQL")? {
            "ADQL" | "ADQL-2.0" | "ADQL-2.1" => {}
            other => {
                return Err(ServiceError::bad_request(format!(
                    "LANG={other} is not supported: use ADQL"
                )))
            }
        }
        let query = parameters.required("QUERY", "the ADQL query to run")?;
        if parameters.names("UPLOAD") {
            return Err(ServiceError::bad_request(
                "UPLOAD is not supported by this service yet",
            ));
        }
        let max_records =
            read_maxrec(parameters.single("MAXREC")?).map_err(ServiceError::BadRequest)?;
        let format = match parameters
            .single("RESPONSEFORMAT")?
            .or(parameters.single("FORMAT")?)
        {
            None => Format::TableData,
            Some(name) => Format::named(name).ok_or_else(|| {
                ServiceError::bad_request(format!(
                    "RESPONSEFORMAT={name} is not supported: use {}",
                    Format::choices()
                ))
            })?,
        };
        Ok(TapRequest {
            query: query.to_string(),
            max_records,
            format,
        })
    }

    /// Checks and translates the ADQL, runs it on `pool` and streams the result.
    pub async fn run(self, pool: &QueryPool) -> Result<Response, ServiceError> {
        let prepared = prepare(&self.query, Some(self.max_records))?;
        let fields: Vec<Field> = prepared.columns.iter().map(field_of).collect();
        let preamble = Preamble {
            params: vec![],
            infos: vec![
                ("QUERY_STATUS".into(), "OK".into()),
                ("QUERY".into(), self.query.clone()),
            ],
        };
        Ok(prepared
            .stream(pool, self.format, &fields, &preamble, TimestampStyle::Dali)
            .await?)
    }
}
