//! `/tap/sync` (TAP 1.1, DALI 1.1): an ADQL query, checked and translated by the `adql`
//! crate, run on the reader pool and streamed back. Parameter names are matched without
//! regard to case, values exactly; unknown parameters are ignored.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

use tokio_postgres::types::Type;

use crate::params::Parameters;
use crate::results::{
    output_buffer, read_maxrec, row_limit, stream_results, ResultError, ResultQuery, SqlParameter,
};
use crate::schema::{adql_catalog, published_tables};
use crate::server::AppState;
use crate::votable::{
    error_document, Binary2Writer, CsvWriter, Datatype, Field, JsonWriter, Preamble, ResultWriter,
    Separator, TableDataWriter, TimestampStyle,
};

const VOTABLE: &str = "application/x-votable+xml; charset=utf-8";
const CSV: &str = "text/csv; charset=utf-8; header=present";

/// The result formats, by the names RESPONSEFORMAT accepts (also listed in capabilities).
#[derive(Clone, Copy)]
pub(crate) enum Format {
    TableData,
    Binary2,
    Csv,
    Tsv,
    Json,
}

/// (format, MIME type, aliases): the first alias of TABLEDATA is the default.
pub(crate) const FORMATS: &[(Format, &str, &[&str])] = &[
    (
        Format::TableData,
        "application/x-votable+xml",
        &[
            "votable",
            "votable/td",
            "text/xml",
            "application/x-votable+xml;serialization=TABLEDATA",
        ],
    ),
    (
        Format::Binary2,
        "application/x-votable+xml;serialization=BINARY2",
        &["votable/b2", "binary2"],
    ),
    (Format::Csv, "text/csv", &["csv"]),
    (Format::Tsv, "text/tab-separated-values", &["tsv"]),
    (Format::Json, "application/json", &["json"]),
];

fn format_named(name: &str) -> Option<Format> {
    let name = name.trim();
    FORMATS
        .iter()
        .find(|(_, mime, aliases)| *mime == name || aliases.contains(&name))
        .map(|(format, ..)| *format)
}

/// A request that cannot be run, with the status DALI asks for.
struct Refusal {
    status: StatusCode,
    message: String,
}

impl Refusal {
    fn usage(message: impl Into<String>) -> Self {
        Refusal {
            status: StatusCode::BAD_REQUEST,
            message: message.into(),
        }
    }
}

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        (
            self.status,
            [(header::CONTENT_TYPE, VOTABLE)],
            error_document(&self.message),
        )
            .into_response()
    }
}

impl From<crate::params::ParameterError> for Refusal {
    fn from(error: crate::params::ParameterError) -> Self {
        Refusal {
            status: error.status,
            message: error.message,
        }
    }
}

impl From<ResultError> for Refusal {
    fn from(error: ResultError) -> Self {
        Refusal {
            status: error.status(),
            message: error.to_string(),
        }
    }
}

pub(super) async fn sync(State(state): State<AppState>, parameters: Parameters) -> Response {
    match run(state, parameters).await {
        Ok(response) => response,
        Err(refusal) => refusal.into_response(),
    }
}

async fn run(state: AppState, parameters: Parameters) -> Result<Response, Refusal> {
    // Every TAP parameter read here is single-valued (UPLOAD, which is not, is not taken yet).
    let value = |name: &str| parameters.single(name).map_err(Refusal::from);
    if let Some(request) = value("REQUEST")? {
        if request != "doQuery" {
            return Err(Refusal::usage(format!(
                "REQUEST={request}: this service runs queries (REQUEST=doQuery)"
            )));
        }
    }
    match value("LANG")? {
        Some("ADQL" | "ADQL-2.0" | "ADQL-2.1") => {}
        Some(other) => {
            return Err(Refusal::usage(format!(
                "LANG={other} is not supported: use ADQL"
            )))
        }
        None => return Err(Refusal::usage("LANG is required: LANG=ADQL")),
    }
    let Some(adql_text) = value("QUERY")?.filter(|q| !q.trim().is_empty()) else {
        return Err(Refusal::usage("QUERY is required: the ADQL query to run"));
    };
    if parameters
        .0
        .iter()
        .any(|(key, _)| key.eq_ignore_ascii_case("UPLOAD"))
    {
        return Err(Refusal::usage(
            "UPLOAD is not supported by this service yet",
        ));
    }
    let max_records = read_maxrec(value("MAXREC")?).map_err(Refusal::usage)?;
    let format = match value("RESPONSEFORMAT")?.or(value("FORMAT")?) {
        None => Format::TableData,
        Some(name) => format_named(name).ok_or_else(|| {
            Refusal::usage(format!(
                "RESPONSEFORMAT={name} is not supported: use votable, votable/b2, csv, tsv or json"
            ))
        })?,
    };

    let translation = translations()
        .translate_with_parameters(adql_text, adql_catalog())
        .map_err(|error| Refusal::usage(error.to_string()))?;
    let fields: Vec<Field> = translation.columns.iter().map(field_of).collect();
    let (parameters, parameter_types) = translation
        .parameters
        .iter()
        .map(|literal| sql_parameter(*literal))
        .unzip();
    let query = ResultQuery {
        sql: format!(
            "SELECT * FROM ({}) AS q LIMIT {}",
            translation.sql,
            row_limit(max_records)
        ),
        parameters,
        parameter_types,
        max_rows: Some(max_records),
    };
    let preamble = Preamble {
        params: vec![],
        infos: vec![
            ("QUERY_STATUS".into(), "OK".into()),
            ("QUERY".into(), adql_text.to_string()),
        ],
    };
    let style = TimestampStyle::Dali;
    let memory = "writing to memory cannot fail";
    let (writer, content_type): (Box<dyn ResultWriter>, _) = match format {
        Format::TableData => (
            Box::new(
                TableDataWriter::start(output_buffer(), &preamble, &fields, style).expect(memory),
            ),
            VOTABLE,
        ),
        Format::Binary2 => (
            Box::new(
                Binary2Writer::start(output_buffer(), &preamble, &fields, style).expect(memory),
            ),
            VOTABLE,
        ),
        Format::Csv => (
            Box::new(CsvWriter::start(output_buffer(), &fields, style).expect(memory)),
            CSV,
        ),
        Format::Tsv => (
            Box::new(
                CsvWriter::with_separator(output_buffer(), &fields, style, Separator::Tab)
                    .expect(memory),
            ),
            "text/tab-separated-values; charset=utf-8",
        ),
        Format::Json => (
            Box::new(JsonWriter::start(output_buffer(), &fields, style).expect(memory)),
            "application/json",
        ),
    };
    Ok(stream_results(state.reader.clone(), query, writer, content_type).await?)
}

/// Translations by query shape, so that the same query around another position is not parsed
/// and checked again (a sixth of the server's time per cone search). One for the process, as
/// the catalog is.
fn translations() -> &'static adql::TranslationCache {
    static TRANSLATIONS: std::sync::LazyLock<adql::TranslationCache> =
        std::sync::LazyLock::new(|| adql::TranslationCache::new(256));
    &TRANSLATIONS
}

/// A number the translator took out of the SQL, as tokio-postgres passes it.
pub fn sql_parameter(literal: adql::Literal) -> (SqlParameter, Type) {
    match literal {
        adql::Literal::Int4(value) => (Box::new(value), Type::INT4),
        adql::Literal::Int8(value) => (Box::new(value), Type::INT8),
        adql::Literal::Float8(value) => (Box::new(value), Type::FLOAT8),
    }
}

/// A result column's FIELD: as `schema/` describes it when it is a published column,
/// otherwise from what the translator knows (type, unit, DALI xtype).
fn field_of(column: &adql::OutputColumn) -> Field {
    let described = column.source.as_ref().and_then(|(table, name)| {
        published_tables()
            .iter()
            .find(|t| &t.qualified_name() == table)
            .and_then(|t| t.columns.iter().find(|c| &c.name == name))
    });
    let mut field = match described {
        Some(described) => Field::from_column(described),
        None => {
            let (datatype, arraysize) = match (column.kind, column.xtype) {
                (_, Some("point")) => (Datatype::Double, Some("2")),
                (_, Some("circle")) => (Datatype::Double, Some("3")),
                (_, Some(_)) => (Datatype::Double, Some("*")),
                (adql::ColumnType::Integer, _) => (Datatype::Long, None),
                (adql::ColumnType::Double, _) => (Datatype::Double, None),
                (adql::ColumnType::Boolean, _) => (Datatype::Boolean, None),
                // Text, timestamps and values of unknown type travel as text.
                _ => (Datatype::Char, Some("*")),
            };
            Field {
                unit: column.unit.clone(),
                xtype: column.xtype.map(str::to_string).or_else(|| {
                    (column.kind == adql::ColumnType::Timestamp).then(|| "timestamp".to_string())
                }),
                ..Field::new("", datatype, arraysize)
            }
        }
    };
    // The query's own name (an alias) wins; IN_UNIT changes the unit.
    field.name = column.name.clone();
    if column.unit.is_some() {
        field.unit = column.unit.clone();
    }
    field
}
