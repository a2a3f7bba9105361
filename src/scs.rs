//! Simple Cone Search 1.03 over the exposures: `/scs?RA=&DEC=&SR=` (decimal degrees, ICRS).
//! VERB 1 gives identification and position, 2 (default) what ASPRO2 reads, 3 every column.
//! Errors are a VOTable with `INFO name="Error"` under VOTABLE, as the standard prefers.

use adql::build::{Condition, Cone, Query};
use axum::extract::State;
use axum::response::Response;
use axum::routing::get;
use axum::Router;

use crate::formats::Format;
use crate::http::{AppState, ParameterError, Parameters, ServiceError, Surface};
use crate::query::prepare_built;
use crate::schema::{published_table, ApiPresence};
use crate::votable::{Field, Preamble, TimestampStyle};

/// Largest accepted radius [deg]: the whole sky (the registry's MaxSR).
const MAX_SR: f64 = 180.0;
/// At most this many rows per answer; more is reported as OVERFLOW.
const MAX_RECORDS: u64 = 100_000;

pub fn router() -> Router<AppState> {
    Router::new().route("/scs", get(cone_search))
}

async fn cone_search(
    State(state): State<AppState>,
    headers: axum::http::HeaderMap,
    parameters: Result<Parameters, ParameterError>,
) -> Response {
    let datalink = crate::datalink::endpoint(&headers);
    Surface::ConeSearch.answer(answer(state, datalink, parameters).await)
}

async fn answer(
    state: AppState,
    datalink: String,
    parameters: Result<Parameters, ParameterError>,
) -> Result<Response, ServiceError> {
    let request = ConeRequest::read(&parameters?)?;
    let fields = fields_for(request.verbosity);
    let query = cone_query(request.ra, request.dec, request.radius, &fields);
    let prepared = prepare_built(&query, Some(request.max_records))?;
    let preamble = Preamble {
        params: vec![],
        infos: vec![("QUERY_STATUS".into(), "OK".into())],
        datalink: Some(datalink),
    };
    Ok(prepared
        .stream(
            &state.reader,
            Format::TableData,
            &fields,
            &preamble,
            TimestampStyle::Dali,
        )
        .await?)
}

/// What a cone search asks the database: the exposures within `radius` degrees of the
/// position, nearest first, with `fields`.
pub fn cone_query(ra: f64, dec: f64, radius: f64, fields: &[Field]) -> Query {
    let cone = Cone {
        ra_column: "target_ra".into(),
        dec_column: "target_dec".into(),
        ra,
        dec,
        radius,
    };
    Query::select(
        "obsportal.exposures",
        fields.iter().map(|f| f.name.as_str()),
    )
    .filter(Condition::InCone(cone.clone()))
    .order_by_distance(&cone)
    .order_by("exp_id", false)
}

struct ConeRequest {
    ra: f64,
    dec: f64,
    radius: f64,
    verbosity: u8,
    max_records: u64,
}

impl ConeRequest {
    /// DALI: single-valued, names without regard to case; an empty value is no value.
    fn read(parameters: &Parameters) -> Result<ConeRequest, ServiceError> {
        let number = |name: &str| -> Result<f64, ServiceError> {
            let text = parameters.required(name, "decimal degrees")?;
            text.parse::<f64>()
                .ok()
                .filter(|n| n.is_finite())
                .ok_or_else(|| {
                    ServiceError::bad_request(format!("Error in input {name} value: {text}"))
                })
        };
        let (ra, dec, radius) = (number("RA")?, number("DEC")?, number("SR")?);
        let out_of_range = |name: &str, value: f64, range: &str| {
            Err(ServiceError::bad_request(format!(
                "{name}={value} is out of range {range}"
            )))
        };
        if !(0.0..=360.0).contains(&ra) {
            return out_of_range("RA", ra, "[0, 360]");
        }
        if !(-90.0..=90.0).contains(&dec) {
            return out_of_range("DEC", dec, "[-90, 90]");
        }
        if !(0.0..=MAX_SR).contains(&radius) {
            return out_of_range("SR", radius, "[0, 180]");
        }
        let verbosity = match parameters.parsed::<u8>("VERB", "1, 2 or 3")? {
            None => 2,
            Some(verbosity @ 1..=3) => verbosity,
            Some(other) => {
                return Err(ParameterError::invalid("VERB", &other.to_string(), "1, 2 or 3").into())
            }
        };
        let max_records = parameters
            .parsed::<u64>("MAXREC", "a non-negative integer")?
            .map_or(MAX_RECORDS, |asked| asked.min(MAX_RECORDS));
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
pub fn fields_for(verbosity: u8) -> Vec<Field> {
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
