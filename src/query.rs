//! The one road from ADQL to PostgreSQL. Every surface's query (TAP's text from a user, the
//! API's, the portal's and cone search's built with `adql::build`) is checked and translated
//! here by the `adql` crate, its numbers passed as parameters, and bounded by the overflow
//! rule of `results`. Nothing else writes SQL over the published tables for a request.

use axum::response::Response;
use tokio_postgres::types::Type;

use crate::db::QueryPool;
use crate::formats::Format;
use crate::results::{row_limit, stream_results, ResultError, ResultQuery, SqlParameter};
use crate::schema::{adql_catalog, published_tables};
use crate::votable::{Datatype, Field, Preamble, TimestampStyle};

/// A checked query, ready to run, and the columns it returns.
pub struct Prepared {
    pub query: ResultQuery,
    pub columns: Vec<adql::OutputColumn>,
}

impl Prepared {
    /// Runs the query on `pool` and streams its rows in `format`, described by `fields`, with
    /// the preamble and timestamps the surface writes.
    pub async fn stream(
        self,
        pool: &QueryPool,
        format: Format,
        fields: &[Field],
        preamble: &Preamble,
        timestamps: TimestampStyle,
    ) -> Result<Response, ResultError> {
        let writer = format.writer(fields, preamble, timestamps);
        stream_results(pool.clone(), self.query, writer, format.content_type()).await
    }
}

/// Checks and translates `adql`. With `max_records`, the query returns at most that many rows
/// and reports OVERFLOW when there were more (DALI's MAXREC); without, it returns what its
/// own TOP allows.
pub fn prepare(adql: &str, max_records: Option<u64>) -> Result<Prepared, adql::AdqlError> {
    let translation = translations().translate_with_parameters(adql, adql_catalog())?;
    Ok(bounded(translation, max_records))
}

/// As `prepare`, for a query over uploaded tables too (`TAP_UPLOAD.name`): checked against
/// the published tables and these, and loaded before it runs, on its connection. Not through
/// the translation cache: the same text may name other columns in another request.
pub fn prepare_with_uploads(
    adql: &str,
    max_records: Option<u64>,
    uploads: Vec<std::sync::Arc<crate::upload::Upload>>,
) -> Result<Prepared, adql::AdqlError> {
    if uploads.is_empty() {
        return prepare(adql, max_records);
    }
    let mut catalog = adql_catalog().clone();
    catalog.extend(uploads.iter().map(|upload| upload.table_info()));
    let translation = adql::translate_with_parameters(adql, &catalog)?;
    let index_uploads = !translation.joins_by_zones;
    let mut prepared = bounded(translation, max_records);
    prepared.query.uploads = uploads;
    prepared.query.index_uploads = index_uploads;
    Ok(prepared)
}

/// As `prepare`, for a query a surface built. Its text takes the cache's road unless it asks
/// for an order ADQL text cannot carry (missing values last when descending), which is added
/// to the checked query (`adql::translate_built`).
pub fn prepare_built(
    query: &adql::build::Query,
    max_records: Option<u64>,
) -> Result<Prepared, adql::AdqlError> {
    if !query.orders_missing_last() {
        return prepare(&query.to_string(), max_records);
    }
    let translation = adql::translate_built(query, adql_catalog())?;
    Ok(bounded(translation, max_records))
}

fn bounded(translation: adql::Translation, max_records: Option<u64>) -> Prepared {
    let (parameters, parameter_types) = translation
        .parameters
        .iter()
        .map(|literal| sql_parameter(*literal))
        .unzip();
    let sql = match max_records {
        // The limit in the text: a generic plan given `LIMIT $n` guesses a small limit and
        // may walk an index in ORDER BY order instead of sorting a cone's few rows.
        Some(max) => format!(
            "SELECT * FROM ({}) AS q LIMIT {}",
            translation.sql,
            row_limit(max)
        ),
        None => translation.sql,
    };
    Prepared {
        query: ResultQuery {
            sql,
            parameters,
            parameter_types,
            max_rows: max_records,
            uploads: Vec::new(),
            index_uploads: false,
        },
        columns: translation.columns,
    }
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
pub fn field_of(column: &adql::OutputColumn) -> Field {
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
