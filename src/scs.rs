//! Simple Cone Search 1.03 over the exposures: `/scs?RA=&DEC=&SR=` (decimal degrees, ICRS).
//! VERB 1 gives identification and position, 2 (default) what ASPRO2 reads, 3 every column.
//! Errors are a VOTable with `INFO name="Error"` under VOTABLE, as the standard prefers.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::params::Parameters;
use crate::results::{output_buffer, row_limit, stream_results, ResultQuery};
use crate::schema::{published_table, ApiPresence};
use crate::server::AppState;
use crate::votable::{Field, Preamble, TableDataWriter, TimestampStyle};

const VOTABLE: &str = "application/x-votable+xml; charset=utf-8";
/// Largest accepted radius [deg]: the whole sky (the registry's MaxSR).
const MAX_SR: f64 = 180.0;
/// At most this many rows per answer; more is reported as OVERFLOW.
const MAX_RECORDS: u64 = 100_000;

pub fn router() -> Router<AppState> {
    Router::new().route("/scs", get(cone_search))
}

async fn cone_search(State(state): State<AppState>, parameters: Parameters) -> Response {
    let request = match ConeRequest::read(&parameters) {
        Ok(request) => request,
        Err(message) => return error_document(&message),
    };
    let fields = fields_for(request.verbosity);
    let columns: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
    let position = "spoint(radians(target_ra), radians(target_dec))";
    // Computed once per query (InitPlans), not row by row in the prepared statement's generic
    // plan, so PostgreSQL keeps that plan instead of planning every search.
    let centre = "(SELECT spoint(radians($1), radians($2)))";
    // pg_sphere's circles stop at 90 degrees; a larger cone covers most of the sky, where
    // reading every row is what the index would do anyway.
    let within = if request.radius <= 90.0 {
        format!("{position} @ (SELECT scircle(spoint(radians($1), radians($2)), radians($3)))")
    } else {
        format!("{position} <-> {centre} <= radians($3)")
    };
    let query = ResultQuery {
        sql: format!(
            "SELECT {} FROM obsportal.exposures WHERE {within} \
             ORDER BY {position} <-> {centre}, exp_id LIMIT $4",
            columns.join(", ")
        ),
        parameters: vec![
            Box::new(request.ra),
            Box::new(request.dec),
            Box::new(request.radius),
            Box::new(row_limit(request.max_records) as i64),
        ],
        parameter_types: Vec::new(),
        max_rows: Some(request.max_records),
    };
    let preamble = Preamble {
        params: vec![],
        infos: vec![("QUERY_STATUS".into(), "OK".into())],
    };
    let writer = TableDataWriter::start(output_buffer(), &preamble, &fields, TimestampStyle::Dali)
        .expect("writing to memory cannot fail");
    match stream_results(state.reader.clone(), query, Box::new(writer), VOTABLE).await {
        Ok(response) => response,
        Err(error) => error_document(&error.to_string()),
    }
}

struct ConeRequest {
    ra: f64,
    dec: f64,
    radius: f64,
    verbosity: u8,
    max_records: u64,
}

impl ConeRequest {
    /// Names are matched without regard to case, as DALI asks.
    fn read(parameters: &Parameters) -> Result<ConeRequest, String> {
        // DALI: single-valued, names without regard to case; an empty value is no value.
        let value = |name: &str| -> Result<Option<&str>, String> {
            let value = parameters.single(name).map_err(|error| error.message)?;
            Ok(value.map(str::trim).filter(|value| !value.is_empty()))
        };
        let number = |name: &str| -> Result<f64, String> {
            let text =
                value(name)?.ok_or_else(|| format!("{name} is required (decimal degrees)"))?;
            text.parse::<f64>()
                .ok()
                .filter(|n| n.is_finite())
                .ok_or_else(|| format!("Error in input {name} value: {text}"))
        };
        let (ra, dec, radius) = (number("RA")?, number("DEC")?, number("SR")?);
        if !(0.0..=360.0).contains(&ra) {
            return Err(format!("RA={ra} is out of range [0, 360]"));
        }
        if !(-90.0..=90.0).contains(&dec) {
            return Err(format!("DEC={dec} is out of range [-90, 90]"));
        }
        if !(0.0..=MAX_SR).contains(&radius) {
            return Err(format!("SR={radius} is out of range [0, {MAX_SR}]"));
        }
        let verbosity = match value("VERB")? {
            None => 2,
            Some(text) => match text.parse::<u8>() {
                Ok(verbosity @ 1..=3) => verbosity,
                _ => return Err(format!("VERB={text}: expected 1, 2 or 3")),
            },
        };
        let max_records = match value("MAXREC")? {
            None => MAX_RECORDS,
            Some(text) => text
                .parse::<u64>()
                .map_err(|_| format!("MAXREC={text}: expected a non-negative integer"))?
                .min(MAX_RECORDS),
        };
        // SR=0 asks for the metadata only.
        let max_records = if radius == 0.0 { 0 } else { max_records };
        Ok(ConeRequest {
            ra,
            dec,
            radius,
            verbosity,
            max_records,
        })
    }
}

/// The columns for a verbosity, with the SCS 1.03 UCDs on the identifier and position.
fn fields_for(verbosity: u8) -> Vec<Field> {
    let exposures = published_table("exposures");
    let minimal = [
        "exp_id",
        "target_name",
        "target_ra",
        "target_dec",
        "exp_mjd_start",
        "instrument_name",
    ];
    exposures
        .columns
        .iter()
        .filter(|column| match verbosity {
            1 => minimal.contains(&column.name.as_str()),
            2 => column.api == Some(ApiPresence::Default),
            _ => true,
        })
        .map(|column| {
            let mut field = Field::from_column(column);
            let scs_ucd = match column.name.as_str() {
                "exp_id" => Some("ID_MAIN"),
                "target_ra" => Some("POS_EQ_RA_MAIN"),
                "target_dec" => Some("POS_EQ_DEC_MAIN"),
                _ => None,
            };
            if let Some(ucd) = scs_ucd {
                field.ucd = Some(ucd.into());
            }
            field
        })
        .collect()
}

fn error_document(message: &str) -> Response {
    let body = crate::votable::cone_search_error_document(message);
    ([(header::CONTENT_TYPE, VOTABLE)], body).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_main_ucd_appears_exactly_once_at_every_verbosity() {
        for verbosity in 1..=3 {
            let fields = fields_for(verbosity);
            for ucd in ["ID_MAIN", "POS_EQ_RA_MAIN", "POS_EQ_DEC_MAIN"] {
                let count = fields
                    .iter()
                    .filter(|f| f.ucd.as_deref() == Some(ucd))
                    .count();
                assert_eq!(count, 1, "VERB={verbosity} {ucd}");
            }
        }
        assert!(
            fields_for(1).len() < fields_for(2).len() && fields_for(2).len() < fields_for(3).len()
        );
    }
}
