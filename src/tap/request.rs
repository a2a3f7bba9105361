//! A TAP query as its parameters ask for it (TAP 1.1, DALI 1.1), read once for both ways of
//! running it: `/tap/sync` answers it at once, an async job runs it later on a worker. Names
//! are matched without regard to case, values exactly; unknown parameters are ignored.

use axum::response::Response;

use std::sync::Arc;

use crate::db::QueryPool;
use crate::formats::Format;
use crate::http::{Parameters, ServiceError};
use crate::query::{field_of, prepare_with_uploads};
use crate::results::read_maxrec;
use crate::upload::{UploadLimits, UploadSpec};
use crate::votable::{Field, Preamble, TimestampStyle};

/// A checked request: what to run and how to write it.
pub struct TapRequest {
    query: String,
    max_records: u64,
    format: Format,
    uploads: Vec<UploadSpec>,
    /// The request's parts, where inline uploads are.
    files: Vec<(String, bytes::Bytes)>,
    /// Its fields, where an upload sent as a plain field is.
    pairs: Vec<(String, String)>,
}

impl TapRequest {
    pub fn read(parameters: &Parameters) -> Result<TapRequest, ServiceError> {
        // Every TAP parameter read here is single-valued but UPLOAD.
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
        let uploads = crate::upload::specs(parameters)?;
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
            uploads,
            files: parameters.files.clone(),
            pairs: parameters.pairs.clone(),
        })
    }

    /// The parts of the request its uploads read (an async job keeps them to run later).
    pub fn upload_parts(&self) -> Vec<(String, bytes::Bytes)> {
        self.files
            .iter()
            .filter(|(part, _)| {
                self.uploads
                    .iter()
                    .any(|spec| spec.source == crate::upload::Source::Part(part.clone()))
            })
            .cloned()
            .collect()
    }

    /// Reads the uploads, checks and translates the ADQL, runs it on `pool` and streams the
    /// result; with the DataLink endpoint, a VOTable of exposures says how to call it.
    pub async fn run(
        self,
        pool: &QueryPool,
        limits: &UploadLimits,
        datalink: Option<String>,
    ) -> Result<Response, ServiceError> {
        let parameters = Parameters {
            pairs: self.pairs,
            files: self.files,
        };
        let mut uploads = Vec::with_capacity(self.uploads.len());
        for spec in &self.uploads {
            uploads.push(Arc::new(spec.read(&parameters, limits).await?));
        }
        let prepared = prepare_with_uploads(&self.query, Some(self.max_records), uploads)?;
        let fields: Vec<Field> = prepared
            .columns
            .iter()
            .map(|column| {
                crate::upload::field_of(column, &prepared.query.uploads)
                    .unwrap_or_else(|| field_of(column))
            })
            .collect();
        let preamble = Preamble {
            params: vec![],
            infos: vec![
                ("QUERY_STATUS".into(), "OK".into()),
                ("QUERY".into(), self.query.clone()),
            ],
            datalink,
        };
        Ok(prepared
            .stream(pool, self.format, &fields, &preamble, TimestampStyle::Dali)
            .await?)
    }
}
