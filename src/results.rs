//! Where a checked query's row stream meets a result writer and an HTTP body.
//!
//! Queries run on the reader pool (read-only transactions, as the role that can only read
//! published tables, with a statement timeout: see `db::Database::reader`), as cached prepared
//! statements. Rows leave in pieces of `FLUSH_BYTES` as they are written: tokio-postgres stops
//! reading the socket while a connection's rows wait to be consumed, and the HTTP body waits
//! for the client, so memory stays constant whatever the row count. A document complete before
//! its first piece leaves whole. A client that hangs up has its query cancelled at once. An error before
//! anything is sent is an error response; after, the document ends with QUERY_STATUS=ERROR
//! (VOTable), or the stream is cut so the result never looks complete (CSV, TSV, JSON).

use std::io;

use axum::body::Body;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures_util::{pin_mut, StreamExt};
use tokio::sync::{mpsc, oneshot};
use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::Row;

use crate::db::QueryPool;
use crate::http::metrics;
use crate::votable::{Cell, QueryStatus, ResultWriter};

/// Rows a result holds when the client does not say (MAXREC), and the most it may ask for:
/// the same for TAP and the ObsPortal API.
pub const DEFAULT_MAXREC: u64 = 100_000;
pub const HARD_MAXREC: u64 = 10_000_000;

/// MAXREC as a client wrote it: a whole number, capped at `HARD_MAXREC`.
pub fn read_maxrec(written: Option<&str>) -> Result<u64, String> {
    match written.map(str::trim) {
        None => Ok(DEFAULT_MAXREC),
        Some(text) => text
            .parse::<u64>()
            .map(|asked| asked.min(HARD_MAXREC))
            .map_err(|_| format!("MAXREC={text}: expected a whole number from 0")),
    }
}

/// The LIMIT to run a query with so that it returns at most `max_records` rows and OVERFLOW is
/// known without counting: one row more. None for MAXREC=0, whose answer has no rows (LIMIT 1
/// would lead the planner to scan in ORDER BY order for a row that may come late: 90 ms for a
/// 30" cone, not 0.3 ms).
pub fn row_limit(max_records: u64) -> u64 {
    if max_records == 0 {
        0
    } else {
        max_records.saturating_add(1)
    }
}

/// Output is handed to the HTTP body in pieces of about this size.
const FLUSH_BYTES: usize = 64 * 1024;

/// A buffer for a result writer, large enough for a piece and the row that completes it: a
/// small answer is written without growing it.
pub fn output_buffer() -> Vec<u8> {
    Vec::with_capacity(FLUSH_BYTES + FLUSH_BYTES / 4)
}

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
    /// Tables the query reads that are loaded first, on its connection and in its
    /// transaction (TAP uploads).
    pub uploads: Vec<std::sync::Arc<crate::upload::Upload>>,
    /// Index the uploads on their positions. Not when the query crossmatches by zones of
    /// declination, which need no index: building it would cost more than the join (1.4 s of
    /// 5.3 s for 300,000 uploaded rows against 1,000,000 exposures).
    pub index_uploads: bool,
}

impl ResultQuery {
    /// A query of this service's own (a page's), its parameters' types inferred by
    /// PostgreSQL, all its rows wanted.
    pub fn new(sql: impl Into<String>, parameters: Vec<SqlParameter>) -> Self {
        ResultQuery {
            sql: sql.into(),
            parameters,
            parameter_types: Vec::new(),
            max_rows: None,
            uploads: Vec::new(),
            index_uploads: false,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ResultError {
    /// The client's query ran past the statement timeout: the client's to change, so a 400,
    /// not a 503 that invites the same query again.
    #[error(
        "the query ran longer than this service's limit of {0} s and was cancelled: ask for \
         fewer rows (TOP, MAXREC), or narrow it with conditions on indexed columns (a position \
         with CONTAINS, exp_mjd_start, target_name)"
    )]
    Timeout(u64),
    #[error("the database is unavailable; try again later")]
    Unavailable,
    /// PostgreSQL refused a value while running the query (division by zero, a number out of
    /// range, text that is not a date): the user's to know, in PostgreSQL's words.
    #[error("the query failed: {0}")]
    Data(String),
    #[error("a value of the result could not be written")]
    Unwritable,
    #[error("the query failed in the database")]
    Database(#[source] tokio_postgres::Error),
}

/// Starts the query. A result that fits in one piece leaves as a whole body (one write, with
/// its length); a larger one streams, answered as soon as its first piece is written. A query
/// that fails before anything is sent gets an error response.
pub async fn stream_results(
    pool: QueryPool,
    query: ResultQuery,
    writer: Box<dyn ResultWriter>,
    content_type: &'static str,
) -> Result<Response, ResultError> {
    let (started, start) = oneshot::channel();
    let (chunks, body) = mpsc::channel::<Result<Bytes, io::Error>>(4);
    let output = Output {
        started: Some(started),
        chunks,
    };
    let request = crate::http::request_id::current();
    tokio::spawn(run_query(pool, query, request, writer, output));
    let body = match start.await.map_err(|_| ResultError::Unavailable)?? {
        Start::Whole(document) => {
            metrics::result_bytes(document.len());
            Body::from(document)
        }
        Start::Streaming => {
            // Fused: a body wrapper (gzip) may ask again after the end.
            Body::from_stream(futures_util::StreamExt::fuse(futures_util::stream::unfold(
                body,
                |mut body| async move {
                    let chunk = body.recv().await?;
                    if let Ok(bytes) = &chunk {
                        metrics::result_bytes(bytes.len());
                    }
                    Some((chunk, body))
                },
            )))
        }
    };
    Ok(([(header::CONTENT_TYPE, content_type)], body).into_response())
}

/// How an answer begins.
enum Start {
    /// The whole document: it was complete before a piece was due.
    Whole(Bytes),
    /// Pieces follow on the channel.
    Streaming,
}

/// Where a query's output goes: held back until the first piece is due, so that a small
/// answer leaves whole and a failure before then is an error response.
struct Output {
    started: Option<oneshot::Sender<Result<Start, ResultError>>>,
    chunks: mpsc::Sender<Result<Bytes, io::Error>>,
}

impl Output {
    /// Hands what the writer holds on once it holds `FLUSH_BYTES`; false if the client is gone.
    async fn send(&mut self, writer: &mut dyn ResultWriter) -> bool {
        if writer.buffered_len() < FLUSH_BYTES {
            return true;
        }
        if let Some(started) = self.started.take() {
            if started.send(Ok(Start::Streaming)).is_err() {
                return false;
            }
        }
        self.chunks
            .send(Ok(Bytes::from(writer.take_output())))
            .await
            .is_ok()
    }

    /// The rest of a finished document: what the writer holds, and the pieces a writer that
    /// writes its document at the end (FITS) still has (`buffered_len` after `take_output`).
    async fn finish(mut self, writer: &mut dyn ResultWriter) {
        let mut rest = Bytes::from(writer.take_output());
        if let Some(started) = self.started.take() {
            if writer.buffered_len() == 0 {
                let _ = started.send(Ok(Start::Whole(rest)));
                return;
            }
            if started.send(Ok(Start::Streaming)).is_err() {
                return;
            }
        }
        loop {
            if !rest.is_empty() && self.chunks.send(Ok(rest)).await.is_err() {
                return;
            }
            if writer.buffered_len() == 0 {
                return;
            }
            rest = Bytes::from(writer.take_output());
        }
    }

    /// Resolves when nobody waits for this answer any more: the client hung up (before the
    /// first piece the handler's future is dropped with the connection; after, the body).
    async fn abandoned(&mut self) {
        match self.started.as_mut() {
            Some(started) => started.closed().await,
            None => self.chunks.closed().await,
        }
    }

    /// A failure: the error response if nothing was sent yet; otherwise what was written, then
    /// a broken stream, so that the cut result never looks complete.
    async fn fail(mut self, writer: &mut dyn ResultWriter, error: ResultError) {
        match self.started.take() {
            Some(started) => {
                let _ = started.send(Err(error));
            }
            None => {
                let _ = self
                    .chunks
                    .send(Ok(Bytes::from(writer.take_output())))
                    .await;
                let _ = self
                    .chunks
                    .send(Err(io::Error::other(error.to_string())))
                    .await;
            }
        }
    }
}

async fn run_query(
    pool: QueryPool,
    query: ResultQuery,
    request: Option<String>,
    mut writer: Box<dyn ResultWriter>,
    mut output: Output,
) {
    let client = match pool.pool.get().await {
        Ok(client) => client,
        Err(error) => {
            tracing::error!(%error, "no database connection for a result query");
            return output.fail(writer.as_mut(), ResultError::Unavailable).await;
        }
    };
    let label = label(&pool, request);
    let end = stream_rows(&client, &query, label, writer.as_mut(), &mut output).await;
    let Some(end) = end else {
        return cancel(client).await;
    };
    let mut end = end.map_err(|error| classify(error, &pool));
    if !query.uploads.is_empty() {
        // Uploaded tables live in the query's transaction, dropped at its end; the connection
        // is not pooled again all the same.
        if end.is_ok() {
            if let Err(error) = client.batch_execute("COMMIT").await {
                end = Err(classify(RowsError::Database(error), &pool));
            }
        }
        drop(deadpool_postgres::Object::take(client));
    }
    let status = match end {
        Ok(status) => status,
        // Before anything is sent, any failure is an error response; after, a VOTable ends
        // with QUERY_STATUS=ERROR and other formats break off.
        Err(error) if output.started.is_some() || !writer.reports_errors_inline() => {
            return output.fail(writer.as_mut(), error).await;
        }
        Err(error) => QueryStatus::Error(error.to_string()),
    };
    if let Err(error) = writer.finish(&status) {
        tracing::error!(%error, "could not end a result document");
    }
    output.finish(writer.as_mut()).await;
}

/// Runs the query and writes its rows as they come; how the rows ended, or None when the
/// client hung up (while PostgreSQL was still working or while rows were going out).
async fn stream_rows(
    client: &deadpool_postgres::Client,
    query: &ResultQuery,
    label: Option<String>,
    writer: &mut dyn ResultWriter,
    output: &mut Output,
) -> Option<Result<QueryStatus, RowsError>> {
    let rows = async {
        if !query.uploads.is_empty() {
            // The reader's transactions start read-only; loading temporary tables needs a
            // read-write one, made read-only again before the user's query runs in it.
            client
                .batch_execute("BEGIN; SET TRANSACTION READ WRITE")
                .await?;
            for upload in &query.uploads {
                upload.load(client, query.index_uploads).await?;
            }
            client.batch_execute("SET TRANSACTION READ ONLY").await?;
        }
        let statement = prepare(client, &query.sql, &query.parameter_types).await?;
        let rows = client.query_raw(&statement, as_sql_parameters(&query.parameters));
        let (labelled, rows) = tokio::join!(named(client, label.as_deref()), rows);
        labelled?;
        rows
    };
    let rows = tokio::select! {
        rows = rows => rows,
        () = output.abandoned() => return None,
    };
    let rows = match rows {
        Ok(rows) => rows,
        Err(error) => return Some(Err(RowsError::Database(error))),
    };
    pin_mut!(rows);
    let mut written = RowsWritten(0);
    loop {
        let next = tokio::select! {
            next = rows.next() => next,
            () = output.abandoned() => return None,
        };
        let row = match next {
            // MAXREC=0 asks for metadata only, and DALI wants the overflow indicator with it
            // whether rows exist or not (the query runs with LIMIT 0).
            None if query.max_rows == Some(0) => return Some(Ok(QueryStatus::Overflow)),
            None => return Some(Ok(QueryStatus::Ok)),
            Some(Err(error)) => return Some(Err(RowsError::Database(error))),
            Some(Ok(row)) => row,
        };
        if query.max_rows.is_some_and(|max| written.0 >= max) {
            return Some(Ok(QueryStatus::Overflow));
        }
        if let Err(error) = write_row(writer, &row) {
            tracing::error!(%error, "could not write a result row");
            return Some(Err(RowsError::Unwritable));
        }
        written.0 += 1;
        if !output.send(writer).await {
            return None;
        }
    }
}

/// What a pool's connection is called while it serves a request.
fn label(pool: &QueryPool, request: Option<String>) -> Option<String> {
    request.map(|id| format!("{}/{id}", pool.name))
}

/// Names the connection after the request it now serves (`application_name`, what
/// `pg_stat_activity` shows). Polled together with the query, it goes out in the same round
/// trip, ahead of it.
async fn named(
    client: &deadpool_postgres::Client,
    label: Option<&str>,
) -> Result<(), tokio_postgres::Error> {
    match label {
        // One simple-protocol message, sent at the first poll: ahead of the query's. A
        // request id is printable ASCII; quotes are doubled.
        Some(label) => {
            client
                .batch_execute(&format!(
                    "SET application_name = '{}'",
                    label.replace('\'', "''")
                ))
                .await
        }
        None => Ok(()),
    }
}

/// The rows a stream wrote, counted for `/metrics` however the stream ends.
struct RowsWritten(u64);

impl Drop for RowsWritten {
    fn drop(&mut self) {
        metrics::result_rows(self.0);
    }
}

/// A client that hung up takes its query with it at once, instead of holding a connection
/// until the statement timeout: PostgreSQL is asked to cancel it, and the connection is closed
/// rather than pooled (a cancel that arrived late could otherwise stop the next user's query).
/// A backend ignores a cancel that reaches it between two messages of the query (after Bind,
/// before Execute: a window that widens when the CPUs are busy), so the cancel is sent again a
/// little later; with the connection never reused, a cancel that finds nothing to stop is
/// harmless.
async fn cancel(client: deadpool_postgres::Client) {
    let token = client.cancel_token();
    for pause in [0, 200, 1000] {
        tokio::time::sleep(std::time::Duration::from_millis(pause)).await;
        if let Err(error) = token.cancel_query(tokio_postgres::NoTls).await {
            tracing::warn!(%error, "could not cancel the query of a client that hung up");
            break;
        }
    }
    drop(deadpool_postgres::Object::take(client));
}

/// A bounded query (a page of a result) on a reader pool, all rows at once.
pub async fn fetch_rows(pool: &QueryPool, query: &ResultQuery) -> Result<Vec<Row>, ResultError> {
    let client = pool.pool.get().await.map_err(|error| {
        tracing::error!(%error, "no database connection for a page query");
        ResultError::Unavailable
    })?;
    let label = label(pool, crate::http::request_id::current());
    let rows = async {
        let statement = prepare(&client, &query.sql, &query.parameter_types).await?;
        let parameters = as_sql_parameters(&query.parameters);
        let rows = client.query(&statement, &parameters);
        let (labelled, rows) = tokio::join!(named(&client, label.as_deref()), rows);
        labelled?;
        rows
    };
    rows.await
        .map_err(|error| classify(RowsError::Database(error), pool))
}

/// Prepared statements a connection keeps: the portal's few shapes and the recent TAP ones.
const CACHED_STATEMENTS: usize = 64;

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

/// Parameters as tokio-postgres takes them.
pub fn as_sql_parameters(parameters: &[SqlParameter]) -> Vec<&(dyn ToSql + Sync)> {
    parameters
        .iter()
        .map(|p| p.as_ref() as &(dyn ToSql + Sync))
        .collect()
}

/// How reading rows failed, before it is told as a `ResultError`.
enum RowsError {
    Database(tokio_postgres::Error),
    Unwritable,
}

/// A timeout and a refused value are the user's to know about; anything else goes to the log.
fn classify(error: RowsError, pool: &QueryPool) -> ResultError {
    let error = match error {
        RowsError::Database(error) => error,
        RowsError::Unwritable => return ResultError::Unwritable,
    };
    let code = error.code().map(|code| code.code()).unwrap_or_default();
    let database = error.as_db_error();
    if code == tokio_postgres::error::SqlState::QUERY_CANCELED.code() {
        ResultError::Timeout(pool.timeout.as_secs())
    } else if error.is_closed() || code.starts_with("57P") {
        // The database went away under the query (a restart, a failover, this server's
        // shutdown): nothing the client did, and worth trying again.
        tracing::warn!(error = ?error, "the database stopped during a result query");
        ResultError::Unavailable
    } else if let Some(refused) = database.filter(|_| code.starts_with("22")) {
        // SQLSTATE class 22, "data exception": a value the query itself computes or compares.
        ResultError::Data(refused.message().to_string())
    } else if let Some(refused) = database.filter(|_| code.starts_with("42")) {
        // Class 42 after the checker: types the query combines that PostgreSQL cannot (a
        // string column compared with a number), which the checker leaves to PostgreSQL. The
        // user's to correct, in PostgreSQL's words and with its hint.
        tracing::info!(error = ?refused, "PostgreSQL refused a checked query");
        let hint = refused
            .hint()
            .map(|hint| format!(" ({hint})"))
            .unwrap_or_default();
        ResultError::Data(format!("{}{hint}", refused.message()))
    } else if let Some(refused) = database.filter(|db| raised_by_pg_sphere(db, code)) {
        // pg_sphere refuses values (a circle's radius computed from a column) as internal
        // errors; they are the query's, like class 22.
        ResultError::Data(refused.message().to_string())
    } else {
        tracing::error!(error = ?error, "result query failed");
        ResultError::Database(error)
    }
}

/// pg_sphere reports a value it cannot take (`radius must be not greater than 90 degrees`) as
/// SQLSTATE XX000 from one of its constructors, whose names start with `spher`.
fn raised_by_pg_sphere(error: &tokio_postgres::error::DbError, code: &str) -> bool {
    code == tokio_postgres::error::SqlState::INTERNAL_ERROR.code()
        && error
            .routine()
            .is_some_and(|routine| routine.starts_with("spher"))
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
