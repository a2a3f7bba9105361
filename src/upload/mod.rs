//! TAP table uploads (TAP 1.1, 4.5): `UPLOAD=name,param:part` (a part of the multipart body)
//! or `UPLOAD=name,URL` (http and https, fetched by `fetch.rs`). A table is read from VOTable
//! (TABLEDATA, BINARY, BINARY2: `votable.rs`) or CSV (`csv.rs`) straight into PostgreSQL's
//! binary COPY form (`copy.rs`), then loaded, on the connection that runs the query and in its
//! transaction, as a temporary table (`TAP_UPLOAD.name` in ADQL) that ends with it. A table
//! with a position is indexed on it, so that a crossmatch uses an index whichever side is
//! larger. Every refusal names the upload, and the row or byte where it went wrong.

mod copy;
mod csv;
mod fetch;
mod votable;

use std::time::Duration;

use crate::http::{Parameters, ServiceError};

/// What uploads may be.
#[derive(Debug, Clone)]
pub struct UploadLimits {
    pub max_rows: u64,
    pub max_bytes: usize,
    /// How long fetching a URL may take.
    pub fetch_timeout: Duration,
    /// Whether URLs may resolve to the service's own network (tests; an operator's choice).
    pub allow_private_urls: bool,
}

impl Default for UploadLimits {
    fn default() -> Self {
        UploadLimits {
            max_rows: 1_000_000,
            max_bytes: 64 * 1024 * 1024,
            fetch_timeout: Duration::from_secs(30),
            allow_private_urls: false,
        }
    }
}

/// The types an uploaded column can have, and what PostgreSQL stores them as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Boolean,
    Short,
    Int,
    Long,
    Float,
    Double,
    Text,
    /// Text with xtype timestamp (DALI: `YYYY-MM-DD['T'hh:mm:ss[.SSS]]`, UTC).
    Timestamp,
}

impl Kind {
    fn sql(self) -> &'static str {
        match self {
            Kind::Boolean => "boolean",
            Kind::Short => "smallint",
            Kind::Int => "integer",
            Kind::Long => "bigint",
            Kind::Float => "real",
            Kind::Double => "double precision",
            Kind::Text => "text",
            Kind::Timestamp => "timestamp with time zone",
        }
    }

    fn votable_name(self) -> &'static str {
        match self {
            Kind::Boolean => "boolean",
            Kind::Short => "short",
            Kind::Int => "int",
            Kind::Long => "long",
            Kind::Float => "float",
            Kind::Double => "double",
            Kind::Text => "char",
            Kind::Timestamp => "timestamp",
        }
    }

    /// The FIELD a result column of this kind is written with, as it was uploaded.
    fn field(self, name: &str) -> crate::votable::Field {
        use crate::votable::{Datatype, Field};
        let (datatype, arraysize, xtype) = match self {
            Kind::Boolean => (Datatype::Boolean, None, None),
            Kind::Short => (Datatype::Short, None, None),
            Kind::Int => (Datatype::Int, None, None),
            Kind::Long => (Datatype::Long, None, None),
            Kind::Float => (Datatype::Float, None, None),
            Kind::Double => (Datatype::Double, None, None),
            Kind::Text => (Datatype::Char, Some("*"), None),
            Kind::Timestamp => (Datatype::Char, Some("*"), Some("timestamp".to_string())),
        };
        Field {
            xtype,
            ..Field::new(name, datatype, arraysize)
        }
    }

    fn adql(self) -> adql::ColumnType {
        match self {
            Kind::Boolean => adql::ColumnType::Boolean,
            Kind::Short | Kind::Int | Kind::Long => adql::ColumnType::Integer,
            Kind::Float | Kind::Double => adql::ColumnType::Double,
            Kind::Text => adql::ColumnType::Text,
            Kind::Timestamp => adql::ColumnType::Timestamp,
        }
    }
}

#[derive(Debug, Clone)]
pub struct UploadColumn {
    pub name: String,
    pub kind: Kind,
    pub unit: Option<String>,
    pub ucd: Option<String>,
}

/// An uploaded table, read and ready to load.
pub struct Upload {
    pub name: String,
    pub columns: Vec<UploadColumn>,
    pub rows: u64,
    copy: Vec<u8>,
    /// A column of row numbers (1, 2, ... in the order of the rows) added when loaded.
    numbered: Option<String>,
}

/// How long loading an upload took, step by step.
#[derive(Debug, Clone, Copy)]
pub struct LoadTimes {
    /// Creating the table and copying the rows in.
    pub copy: Duration,
    /// Building the position index.
    pub index: Duration,
    pub analyze: Duration,
}

/// Where an upload comes from, as `UPLOAD` says.
#[derive(Debug, Clone, PartialEq)]
pub enum Source {
    /// `param:part`: a part of the request's multipart body.
    Part(String),
    Url(String),
}

#[derive(Debug, Clone, PartialEq)]
pub struct UploadSpec {
    pub name: String,
    pub source: Source,
}

/// Why an upload was refused, before the upload's name is attached.
#[derive(Debug)]
pub(crate) enum ReadError {
    TooManyRows(u64),
    TooManyBytes(usize),
    At { place: String, problem: String },
}

impl ReadError {
    fn at(place: &str, problem: impl Into<String>) -> ReadError {
        ReadError::At {
            place: place.to_string(),
            problem: problem.into(),
        }
    }
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ReadError::TooManyRows(max) => write!(f, "more than the {max} rows an upload may have"),
            ReadError::TooManyBytes(max) => {
                write!(f, "more than the {max} bytes an upload may have")
            }
            ReadError::At { place, problem } => write!(f, "{place}: {problem}"),
        }
    }
}

fn refused(name: &str, error: ReadError) -> ServiceError {
    let message = format!("upload {name}: {error}");
    match error {
        ReadError::TooManyRows(_) | ReadError::TooManyBytes(_) => ServiceError::TooLarge(message),
        ReadError::At { .. } => ServiceError::BadRequest(message),
    }
}

/// Every `UPLOAD` of a request (the parameter may be repeated, and each may list several
/// tables separated by `;`). Table names must be plain ADQL names (TAP 1.1, 4.5.1).
pub fn specs(parameters: &Parameters) -> Result<Vec<UploadSpec>, ServiceError> {
    let mut specs: Vec<UploadSpec> = Vec::new();
    for (_, value) in parameters
        .pairs
        .iter()
        .filter(|(name, _)| name.eq_ignore_ascii_case("UPLOAD"))
    {
        for item in value
            .split(';')
            .map(str::trim)
            .filter(|item| !item.is_empty())
        {
            let Some((name, location)) = item.split_once(',') else {
                return Err(ServiceError::bad_request(format!(
                    "UPLOAD={item}: expected name,param:part or name,URL"
                )));
            };
            let name = name.trim();
            let plain = name.starts_with(|c: char| c.is_ascii_alphabetic())
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
                && !adql::is_reserved_word(name);
            if !plain {
                return Err(ServiceError::bad_request(format!(
                    "UPLOAD table name {name:?}: a table name is a plain ADQL name (a letter, then \
                     letters, digits or _), not a reserved word"
                )));
            }
            if specs
                .iter()
                .any(|spec| spec.name.eq_ignore_ascii_case(name))
            {
                return Err(ServiceError::bad_request(format!(
                    "UPLOAD names {name} twice"
                )));
            }
            let location = location.trim();
            let source = match location.strip_prefix("param:") {
                Some(part) => Source::Part(part.to_string()),
                None if location.starts_with("http://") || location.starts_with("https://") => {
                    Source::Url(location.to_string())
                }
                None => {
                    return Err(ServiceError::bad_request(format!(
                        "UPLOAD={item}: the table is param:part (a part of this request) or an \
                         http or https URL"
                    )))
                }
            };
            specs.push(UploadSpec {
                name: name.to_string(),
                source,
            });
        }
    }
    Ok(specs)
}

impl UploadSpec {
    /// Reads the table: from the request's part, or fetched from its URL.
    pub async fn read(
        &self,
        parameters: &Parameters,
        limits: &UploadLimits,
    ) -> Result<Upload, ServiceError> {
        let fetched;
        let bytes: &[u8] = match &self.source {
            Source::Part(part) => match parameters.file(part) {
                Some(data) => data,
                None => parameters.get(part).map(str::as_bytes).ok_or_else(|| {
                    ServiceError::bad_request(format!(
                        "upload {}: the request has no part named {part:?}",
                        self.name
                    ))
                })?,
            },
            Source::Url(url) => {
                let limits = fetch::FetchLimits {
                    max_bytes: limits.max_bytes,
                    timeout: limits.fetch_timeout,
                    allow_private: limits.allow_private_urls,
                };
                fetched = fetch::fetch(url, &limits)
                    .await
                    .map_err(|error| refused(&self.name, error))?;
                &fetched
            }
        };
        Upload::read_bytes(&self.name, bytes.to_vec(), limits).await
    }
}

impl Upload {
    /// Reads a table (VOTable or CSV) from `bytes`, to be `TAP_UPLOAD.name`.
    pub async fn read_bytes(
        name: &str,
        bytes: Vec<u8>,
        limits: &UploadLimits,
    ) -> Result<Upload, ServiceError> {
        if bytes.len() > limits.max_bytes {
            return Err(refused(name, ReadError::TooManyBytes(limits.max_bytes)));
        }
        let name = name.to_string();
        let max_rows = limits.max_rows;
        // Parsing takes a while for a large table: off the threads answering requests.
        let read = tokio::task::spawn_blocking(move || parse(&bytes, max_rows))
            .await
            .map_err(|_| ServiceError::Internal)?;
        let (columns, writer) = read.map_err(|error| refused(&name, error))?;
        Ok(Upload {
            name,
            columns,
            rows: writer.rows(),
            copy: writer.finish(),
            numbered: None,
        })
    }

    /// The table with a column of row numbers, `column`, which must be a new name.
    pub fn numbered(mut self, column: &str) -> Result<Upload, ServiceError> {
        if self
            .columns
            .iter()
            .any(|c| c.name.eq_ignore_ascii_case(column))
        {
            return Err(ServiceError::bad_request(format!(
                "upload {}: the column name {column} is the service's own here: rename it",
                self.name
            )));
        }
        self.numbered = Some(column.to_string());
        Ok(self)
    }
}

/// For the fuzz target `upload` (`fuzz/`): an uploaded table's bytes read as the service
/// reads them, to COPY rows. Errors are the input's.
#[cfg(fuzzing)]
pub fn read_for_fuzzing(bytes: &[u8]) {
    let _ = parse(bytes, 10_000);
}

/// A VOTable when it looks like XML, CSV otherwise.
fn parse(bytes: &[u8], max_rows: u64) -> Result<(Vec<UploadColumn>, copy::CopyWriter), ReadError> {
    let start = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .unwrap_or(0);
    let bytes = bytes[start..]
        .strip_prefix(b"\xef\xbb\xbf")
        .unwrap_or(&bytes[start..]);
    if bytes.starts_with(b"<") {
        votable::read(bytes, max_rows)
    } else {
        let text = std::str::from_utf8(bytes).map_err(|error| {
            ReadError::at(
                &format!("byte {}", error.valid_up_to()),
                "not UTF-8 text (nor a VOTable)",
            )
        })?;
        csv::read(text, max_rows)
    }
}

/// The FIELD of a result column that is an uploaded table's column, described as it was
/// uploaded (datatype, unit, UCD); None for any other column.
pub fn field_of(
    column: &adql::OutputColumn,
    uploads: &[std::sync::Arc<Upload>],
) -> Option<crate::votable::Field> {
    let (table, name) = column.source.as_ref()?;
    let (schema, table) = table.split_once('.')?;
    if !schema.eq_ignore_ascii_case("TAP_UPLOAD") {
        return None;
    }
    let upload = uploads.iter().find(|upload| upload.name == table)?;
    let described = upload.columns.iter().find(|c| &c.name == name)?;
    let mut field = described.kind.field(&column.name);
    field.unit = column.unit.clone().or_else(|| described.unit.clone());
    field.ucd = described.ucd.clone();
    Some(field)
}

impl Upload {
    /// The table as the ADQL checker sees it: `TAP_UPLOAD.name`.
    pub fn table_info(&self) -> adql::TableInfo {
        adql::TableInfo {
            schema: "TAP_UPLOAD".into(),
            name: self.name.clone(),
            columns: self
                .columns
                .iter()
                .map(|column| adql::ColumnInfo {
                    name: column.name.clone(),
                    kind: column.kind.adql(),
                    unit: column.unit.clone(),
                })
                .chain(self.numbered.iter().map(|name| adql::ColumnInfo {
                    name: name.clone(),
                    kind: adql::ColumnType::Integer,
                    unit: None,
                }))
                .collect(),
        }
    }

    /// Loads the table into the current transaction of `client`, as a temporary table dropped
    /// at its end, analysed, and with `position_index` indexed on its position when it has
    /// one; how long each step took.
    pub async fn load(
        &self,
        client: &tokio_postgres::Client,
        position_index: bool,
    ) -> Result<LoadTimes, tokio_postgres::Error> {
        use futures_util::SinkExt;
        let started = std::time::Instant::now();
        let table = format!("pg_temp.{}", quoted(&self.name));
        let names: Vec<String> = self.columns.iter().map(|c| quoted(&c.name)).collect();
        let definitions: Vec<String> = self
            .columns
            .iter()
            .map(|column| format!("{} {}", quoted(&column.name), column.kind.sql()))
            .chain(
                self.numbered
                    .iter()
                    .map(|name| format!("{} bigint GENERATED ALWAYS AS IDENTITY", quoted(name))),
            )
            .collect();
        client
            .batch_execute(&format!(
                "CREATE TEMPORARY TABLE {} ({}) ON COMMIT DROP",
                quoted(&self.name),
                definitions.join(", ")
            ))
            .await?;
        let sink = client
            .copy_in(&format!(
                "COPY {table} ({}) FROM STDIN (FORMAT binary)",
                names.join(", ")
            ))
            .await?;
        futures_util::pin_mut!(sink);
        for piece in self.copy.chunks(1 << 20) {
            sink.send(bytes::Bytes::copy_from_slice(piece)).await?;
        }
        sink.finish().await?;
        let copied = started.elapsed();
        if let Some((ra, dec)) = self.position().filter(|_| position_index) {
            client
                .batch_execute(&format!(
                    "CREATE INDEX ON {table} USING gist (spoint(radians({}), radians({})))",
                    quoted(ra),
                    quoted(dec)
                ))
                .await?;
        }
        if let Some((_, dec)) = self.position() {
            // What the translator's crossmatch zones join on (adql's translate/zones.rs), so
            // that the planner can tell when they beat the index.
            client
                .batch_execute(&format!(
                    "CREATE STATISTICS pg_temp.{} ON (floor({} * 3600)) FROM {table}",
                    quoted(&format!("{}_zone", self.name)),
                    quoted(dec)
                ))
                .await?;
        }
        let indexed = started.elapsed();
        client.batch_execute(&format!("ANALYZE {table}")).await?;
        let times = LoadTimes {
            copy: copied,
            index: indexed - copied,
            analyze: started.elapsed() - indexed,
        };
        tracing::debug!(upload = %self.name, rows = self.rows, ?times, "upload loaded");
        Ok(times)
    }

    /// The columns holding a position in degrees: by UCD (`pos.eq.ra`, `pos.eq.dec`), else by
    /// name (`ra`, `dec`, and their `_deg` / `_icrs` forms).
    pub fn position(&self) -> Option<(&str, &str)> {
        let numeric = |c: &&UploadColumn| {
            matches!(
                c.kind,
                Kind::Float | Kind::Double | Kind::Short | Kind::Int | Kind::Long
            )
        };
        let by_ucd = |word: &str| {
            self.columns.iter().filter(numeric).find(|c| {
                c.ucd
                    .as_deref()
                    .is_some_and(|ucd| ucd.split(';').any(|part| part.eq_ignore_ascii_case(word)))
            })
        };
        let by_name = |names: &[&str]| {
            self.columns
                .iter()
                .filter(numeric)
                .find(|c| names.iter().any(|n| c.name.eq_ignore_ascii_case(n)))
        };
        let ra =
            by_ucd("pos.eq.ra").or_else(|| by_name(&["ra", "ra_deg", "raj2000", "ra_icrs"]))?;
        let dec = by_ucd("pos.eq.dec")
            .or_else(|| by_name(&["dec", "dec_deg", "dej2000", "de_icrs", "dec_icrs"]))?;
        Some((&ra.name, &dec.name))
    }
}

fn quoted(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}
