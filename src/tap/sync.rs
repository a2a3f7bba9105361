//! `/tap/sync` (TAP 1.1, DALI 1.1): an ADQL query, checked and translated on the one query
//! path (`query`), run on the reader pool and streamed back. Parameter names are matched
//! without regard to case, values exactly; unknown parameters are ignored.

use axum::extract::State;
use axum::response::Response;

use crate::formats::Format;
use crate::http::{AppState, ParameterError, Parameters, ServiceError, Surface};
use crate::query::{field_of, prepare};
use crate::results::read_maxrec;
use crate::votable::{Field, Preamble, TimestampStyle};

pub(super) async fn sync(
    State(state): State<AppState>,
    parameters: Result<Parameters, ParameterError>,
) -> Response {
    Surface::Dali.answer(run(state, parameters).await)
}

async fn run(
    state: AppState,
    parameters: Result<Parameters, ParameterError>,
) -> Result<Response, ServiceError> {
    let parameters = parameters?;
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
    let adql_text = parameters.required("QUERY", "the ADQL query to run")?;
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

    let prepared = prepare(adql_text, Some(max_records))?;
    let fields: Vec<Field> = prepared.columns.iter().map(field_of).collect();
    let preamble = Preamble {
        params: vec![],
        infos: vec![
            ("QUERY_STATUS".into(), "OK".into()),
            ("QUERY".into(), adql_text.to_string()),
        ],
    };
    Ok(prepared
        .stream(
            &state.reader,
            format,
            &fields,
            &preamble,
            TimestampStyle::Dali,
        )
        .await?)
}
