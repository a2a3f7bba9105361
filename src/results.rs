//! Where a checked query's row stream meets a result writer and an HTTP body.
//!
//! Queries run on the reader pool (read-only transactions, as the role that can only read
//! published tables, with a statement timeout: see `db::Database::reader`), as cached prepared
//! statements. Rows leave as soon as they are written: tokio-postgres stops reading the socket
//! while a connection's rows wait to be consumed, and the HTTP body waits for the client, so
//! memory stays constant whatever the row count. A client that hangs up ends the query. An
//! error before the first row is an error response; after it, the document ends with
//! QUERY_STATUS=ERROR (VOTable), or the stream is cut so the result never looks complete (CSV).

use std::io;

use axum::body::Body;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use deadpool_postgres::Pool;
use futures_util::{pin_mut, StreamExt};
use tokio::sync::{mpsc, oneshot};
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::Row;

use crate::db::query_timeout;
use crate::votable::{Cell, QueryStatus, ResultWriter};

/// Output is handed to the HTTP body in pieces of about this size.
const FLUSH_BYTES: usize = 64 * 1024;

pub type SqlParameter = Box<dyn ToSql + Send + Sync>;

/// A query built by this service (never from pasted user text) and how to run it.
pub struct ResultQuery {
    /// One of a bounded set of statement shapes, its values passed as parameters: prepared
    /// once per connection and reused (see `prepare`).
    pub sql: String,
    pub parameters: Vec<SqlParameter>,
    /// The parameters' PostgreSQL types, or none to let PostgreSQL infer them from the SQL.
    /// Given, they also allow parameters the SQL does not use (ADQL's `RAND(seed)` drops its
    /// seed).
    pub parameter_types: Vec<Type>,
    /// Stop after this many rows and report OVERFLOW if there were more.
    pub max_rows: Option<u64>,
}

#[derive(Debug, thiserror::Error)]
pub enum ResultError {
    #[error("the query took longer than {0} s and was cancelled")]
    Timeout(u64),
    #[error("the database is unavailable; try again later")]
    Unavailable,
    #[error("the query failed in the database")]
    Database(#[source] tokio_postgres::Error),
}

impl IntoResponse for ResultError {
    fn into_response(self) -> Response {
        let status = match self {
            ResultError::Timeout(_) => StatusCode::SERVICE_UNAVAILABLE,
            ResultError::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
            ResultError::Database(_) => StatusCode::INTERNAL_SERVER_ERROR,
        };
        (
            status,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            self.to_string(),
        )
            .into_response()
    }
}

/// Starts the query; answers once the first batch is in (or the query failed), then streams.
pub async fn stream_results(
    pool: Pool,
    query: ResultQuery,
    writer: Box<dyn ResultWriter>,
    content_type: &'static str,
) -> Result<Response, ResultError> {
    let (started, first_batch) = oneshot::channel();
    let (chunks, body) = mpsc::channel::<Result<Bytes, io::Error>>(4);
    tokio::spawn(run_query(pool, query, writer, started, chunks));
    first_batch.await.map_err(|_| ResultError::Unavailable)??;
    let stream = futures_util::stream::unfold(body, |mut body| async move {
        body.recv().await.map(|chunk| (chunk, body))
    });
    Ok((
        [(header::CONTENT_TYPE, content_type)],
        Body::from_stream(stream),
    )
        .into_response())
}

async fn run_query(
    pool: Pool,
    query: ResultQuery,
    mut writer: Box<dyn ResultWriter>,
    started: oneshot::Sender<Result<(), ResultError>>,
    chunks: mpsc::Sender<Result<Bytes, io::Error>>,
) {
    let client = match pool.get().await {
        Ok(client) => client,
        Err(error) => {
            tracing::error!(%error, "no database connection for a result query");
            let _ = started.send(Err(ResultError::Unavailable));
            return;
        }
    };
    let rows = async {
        let statement = prepare(&client, &query.sql, &query.parameter_types).await?;
        client
            .query_raw(&statement, as_sql_parameters(&query.parameters))
            .await
    };
    let rows = match rows.await {
        Ok(rows) => rows,
        Err(error) => {
            let _ = started.send(Err(classify(error)));
            return;
        }
    };
    pin_mut!(rows);
    // The first row (or the first error) decides between a document and an error response.
    let mut next = rows.next().await;
    if let Some(Err(error)) = next {
        let _ = started.send(Err(classify(error)));
        return;
    }
    if started.send(Ok(())).is_err() {
        return;
    }

    let mut written: u64 = 0;
    let status = loop {
        let row = match next {
            // MAXREC=0 asks for metadata only, and DALI wants the overflow indicator with it
            // whether rows exist or not (the query runs with LIMIT 0).
            None if query.max_rows == Some(0) => break QueryStatus::Overflow,
            None => break QueryStatus::Ok,
            Some(Err(error)) => break QueryStatus::Error(classify(error).to_string()),
            Some(Ok(row)) => row,
        };
        if query.max_rows.is_some_and(|max| written >= max) {
            break QueryStatus::Overflow;
        }
        if let Err(error) = write_row(writer.as_mut(), &row) {
            tracing::error!(%error, "could not write a result row");
            break QueryStatus::Error("a value could not be written".into());
        }
        written += 1;
        if !send(&chunks, writer.as_mut(), FLUSH_BYTES).await {
            return; // the client hung up: dropping the stream ends the query
        }
        next = rows.next().await;
    };
    if let QueryStatus::Error(message) = &status {
        if !writer.reports_errors_inline() {
            send(&chunks, writer.as_mut(), 0).await;
            let _ = chunks.send(Err(io::Error::other(message.clone()))).await;
            return;
        }
    }
    if let Err(error) = writer.finish(&status) {
        tracing::error!(%error, "could not end a result document");
    }
    send(&chunks, writer.as_mut(), 0).await;
}

/// A bounded query (a page of a result) on the reader pool, all rows at once.
pub async fn fetch_rows(
    pool: &Pool,
    sql: &str,
    parameters: &[SqlParameter],
) -> Result<Vec<Row>, ResultError> {
    let client = pool.get().await.map_err(|error| {
        tracing::error!(%error, "no database connection for a page query");
        ResultError::Unavailable
    })?;
    let statement = prepare(&client, sql, &[]).await.map_err(classify)?;
    client
        .query(&statement, &as_sql_parameters(parameters))
        .await
        .map_err(classify)
}

/// Prepared statements a connection keeps: the portal's few shapes and the recent TAP ones.
const CACHED_STATEMENTS: usize = 256;

/// The statement for `sql`, prepared on this connection once. TAP queries print their numbers
/// as parameters, so that the same query around another position reuses its statement; but
/// users write queries of endless shapes, so the cache starts afresh when it is full (dropped
/// statements are closed in PostgreSQL too).
async fn prepare(
    client: &deadpool_postgres::Client,
    sql: &str,
    types: &[Type],
) -> Result<tokio_postgres::Statement, tokio_postgres::Error> {
    if client.statement_cache.size() >= CACHED_STATEMENTS {
        client.statement_cache.clear();
    }
    client.prepare_typed_cached(sql, types).await
}

fn as_sql_parameters(parameters: &[SqlParameter]) -> Vec<&(dyn ToSql + Sync)> {
    parameters
        .iter()
        .map(|p| p.as_ref() as &(dyn ToSql + Sync))
        .collect()
}

/// A timeout is the user's to know about; anything else goes to the log.
fn classify(error: tokio_postgres::Error) -> ResultError {
    if error.code() == Some(&tokio_postgres::error::SqlState::QUERY_CANCELED) {
        ResultError::Timeout(query_timeout().as_secs())
    } else {
        tracing::error!(%error, "result query failed");
        ResultError::Database(error)
    }
}

/// Hands what the writer holds to the body once it holds at least `at_least` bytes;
/// false if the client is gone.
async fn send(
    chunks: &mpsc::Sender<Result<Bytes, io::Error>>,
    writer: &mut dyn ResultWriter,
    at_least: usize,
) -> bool {
    let held = writer.buffered_len();
    if held == 0 || held < at_least {
        return true;
    }
    chunks
        .send(Ok(Bytes::from(writer.take_output())))
        .await
        .is_ok()
}

/// One database row to cells, by the column's PostgreSQL type.
fn write_row(writer: &mut dyn ResultWriter, row: &Row) -> io::Result<()> {
    // Arrays (DALI geometries) are written as their numbers separated by spaces; they are
    // formatted first so that the cells can borrow them. Most results have none.
    let has_arrays = row
        .columns()
        .iter()
        .any(|column| *column.type_() == Type::FLOAT8_ARRAY);
    let arrays: Vec<Option<String>> = if !has_arrays {
        Vec::new()
    } else {
        row.columns()
            .iter()
            .enumerate()
            .map(|(index, column)| match *column.type_() {
                Type::FLOAT8_ARRAY => row
                    .try_get::<_, Option<Vec<f64>>>(index)
                    .ok()
                    .flatten()
                    .map(|values| {
                        values
                            .iter()
                            .map(|v| format!("{v:?}"))
                            .collect::<Vec<_>>()
                            .join(" ")
                    }),
                _ => None,
            })
            .collect()
    };
    let mut cells = Vec::with_capacity(row.len());
    for (index, column) in row.columns().iter().enumerate() {
        let cell = match *column.type_() {
            Type::FLOAT8 => row
                .try_get::<_, Option<f64>>(index)
                .map(|v| v.map_or(Cell::Null, Cell::Double)),
            Type::FLOAT4 => row
                .try_get::<_, Option<f32>>(index)
                .map(|v| v.map_or(Cell::Null, |v| Cell::Double(v.into()))),
            Type::INT2 => row
                .try_get::<_, Option<i16>>(index)
                .map(|v| v.map_or(Cell::Null, |v| Cell::Integer(v.into()))),
            Type::INT4 => row
                .try_get::<_, Option<i32>>(index)
                .map(|v| v.map_or(Cell::Null, |v| Cell::Integer(v.into()))),
            Type::INT8 => row
                .try_get::<_, Option<i64>>(index)
                .map(|v| v.map_or(Cell::Null, Cell::Integer)),
            Type::BOOL => row
                .try_get::<_, Option<bool>>(index)
                .map(|v| v.map_or(Cell::Null, Cell::Boolean)),
            Type::TIMESTAMPTZ => row
                .try_get::<_, Option<chrono::DateTime<chrono::Utc>>>(index)
                .map(|v| v.map_or(Cell::Null, Cell::Timestamp)),
            Type::TIMESTAMP => row
                .try_get::<_, Option<chrono::NaiveDateTime>>(index)
                .map(|v| v.map_or(Cell::Null, |t| Cell::Timestamp(t.and_utc()))),
            Type::FLOAT8_ARRAY => Ok(arrays[index].as_deref().map_or(Cell::Null, Cell::Text)),
            _ => row
                .try_get::<_, Option<&str>>(index)
                .map(|v| v.map_or(Cell::Null, Cell::Text)),
        };
        cells.push(cell.map_err(io::Error::other)?);
    }
    writer.write_row(&cells)
}
