//! DataLink 1.1 `{links}` at `/datalink`: for each exposure ID (an `exp_id`, or ObsCore's
//! `obs_publisher_did`, `ivo://eso.org/ID?<DP.ID>`; several per request), what hangs off it:
//! `#this` the raw file at ESO's archive, `#calibration` ESO's calibration selection for it,
//! `#preview` its (u,v) picture here, `#documentation` its program at ESO, `#auxiliary` its page
//! here. An ID that is malformed or unknown gets an error row, not a failed document. Result
//! tables say how to call it for their rows (`votable::ServiceDescriptor`).

use axum::extract::State;
use axum::http::{header, HeaderMap};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

use crate::http::{service_url, AppState, ParameterError, Parameters, ServiceError, Surface};
use crate::results::{fetch_rows, ResultQuery};
use crate::votable::{
    Cell, Datatype, Field, Preamble, QueryStatus, ResultWriter, TableDataWriter, TimestampStyle,
    DATALINK_LINKS,
};

/// The most IDs one request may ask for.
const MAX_IDS: usize = 1000;
/// ESO's archive: raw files, their calibration selection, program pages.
const ESO_FILE: &str = "https://dataportal.eso.org/dataPortal/file/";
const ESO_CALSELECTOR: &str = "https://archive.eso.org/calselector/v1/associations";
const ESO_PROGRAM: &str = "https://archive.eso.org/wdb/wdb/eso/sched_rep_arc/query?progid=";
/// The publisher DIDs of ObsCore: this prefix and the DP.ID.
const DID_PREFIX: &str = "ivo://eso.org/ID?";
const DATALINK_TYPE: &str = "application/x-votable+xml;content=datalink";

pub fn router() -> Router<AppState> {
    Router::new().route("/datalink", get(links).post(links))
}

/// The links endpoint as seen from the client that sent `headers`.
pub fn endpoint(headers: &HeaderMap) -> String {
    format!("{}/datalink", service_url(headers))
}

async fn links(
    State(state): State<AppState>,
    headers: HeaderMap,
    parameters: Result<Parameters, ParameterError>,
) -> Response {
    Surface::Dali.answer(answer(&state, &service_url(&headers), parameters).await)
}

/// One row of the links document.
struct Link {
    id: String,
    access_url: Option<String>,
    error: Option<String>,
    semantics: &'static str,
    description: String,
    content_type: Option<&'static str>,
}

async fn answer(
    state: &AppState,
    base: &str,
    parameters: Result<Parameters, ParameterError>,
) -> Result<Response, ServiceError> {
    let parameters = parameters?;
    if let Some(format) = parameters.single("RESPONSEFORMAT")? {
        let votable = ["votable", "application/x-votable+xml", DATALINK_TYPE];
        if !votable
            .iter()
            .any(|known| format.eq_ignore_ascii_case(known))
        {
            return Err(ParameterError::invalid("RESPONSEFORMAT", format, "votable").into());
        }
    }
    let ids: Vec<&str> = parameters
        .pairs
        .iter()
        .filter(|(name, _)| name.eq_ignore_ascii_case("ID"))
        .map(|(_, value)| value.as_str())
        .collect();
    if ids.is_empty() {
        return Err(ParameterError::invalid("ID", "", "one or more exposure ids").into());
    }
    if ids.len() > MAX_IDS {
        return Err(ServiceError::bad_request(format!(
            "at most {MAX_IDS} IDs in one request, not {}",
            ids.len()
        )));
    }
    let wanted: Vec<Option<String>> = ids.iter().map(|id| exposure_id(id)).collect();
    let known = fetch_rows(
        &state.reader,
        &ResultQuery::new(
            "SELECT exp_id, exp_header_id, obs_program, target_name, instrument_name
               FROM obsportal.exposures WHERE exp_id = ANY($1::text[])",
            vec![Box::new(
                wanted.iter().flatten().cloned().collect::<Vec<_>>(),
            )],
        ),
    )
    .await?;
    let mut rows = Vec::new();
    for (id, exposure) in ids.iter().zip(&wanted) {
        let Some(exposure) = exposure else {
            rows.push(fault(
                id,
                format!("UsageFault: {id:?} is not an exposure id (e.g. GRAVI.2020-01-09T03:34:07.546_1) nor {DID_PREFIX}<DP.ID>"),
            ));
            continue;
        };
        let Some(row) = known.iter().find(|row| row.get::<_, &str>(0) == exposure) else {
            rows.push(fault(id, format!("NotFoundFault: no exposure {exposure}")));
            continue;
        };
        rows.extend(links_of(id, base, row));
    }
    Ok(document(&rows))
}

/// The exposure an ID names: an exposure id as it is, or a publisher DID's DP.ID.
fn exposure_id(id: &str) -> Option<String> {
    let id = id.trim();
    let plain = |text: &str| {
        !text.is_empty()
            && text
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._:-".contains(c))
    };
    match id.strip_prefix(DID_PREFIX) {
        Some(dp_id) if plain(dp_id) => Some(format!("{dp_id}_1")),
        Some(_) => None,
        None if plain(id) && id.ends_with("_1") => Some(id.to_string()),
        None => None,
    }
}

fn fault(id: &str, message: String) -> Link {
    Link {
        id: id.to_string(),
        access_url: None,
        error: Some(message),
        semantics: "#this",
        description: String::new(),
        content_type: None,
    }
}

/// The links of one exposure (`exp_id`, `exp_header_id`, `obs_program`, `target_name`,
/// `instrument_name`).
fn links_of(id: &str, base: &str, row: &tokio_postgres::Row) -> Vec<Link> {
    let (exposure, dp_id): (&str, &str) = (row.get(0), row.get(1));
    let (program, target, instrument): (Option<&str>, &str, &str) =
        (row.get(2), row.get(3), row.get(4));
    let encoded = |text: &str| form_urlencoded::byte_serialize(text.as_bytes()).collect::<String>();
    let link = |semantics, access_url: String, description: String, content_type| Link {
        id: id.to_string(),
        access_url: Some(access_url),
        error: None,
        semantics,
        description,
        content_type: Some(content_type),
    };
    let mut links = vec![
        link(
            "#this",
            format!("{ESO_FILE}{dp_id}"),
            format!("The raw {instrument} file of {target} at ESO's archive (login needed while proprietary)"),
            "application/fits",
        ),
        link(
            "#calibration",
            format!(
                "{ESO_CALSELECTOR}?dp_id={}&mode=Raw2Raw&responseformat=votable",
                encoded(dp_id)
            ),
            "The raw calibrations ESO's calibration selector associates with it".into(),
            DATALINK_TYPE,
        ),
        link(
            "#preview",
            format!("{base}/detail/exposure/{}/uv.svg", encoded(exposure)),
            "Its projected baselines in the (u,v) plane".into(),
            "image/svg+xml",
        ),
        link(
            "#auxiliary",
            format!("{base}/detail/exposure/{}", encoded(exposure)),
            "Everything known of it here, its calibrators and its target".into(),
            "text/html",
        ),
    ];
    if let Some(program) = program {
        links.push(link(
            "#documentation",
            format!("{ESO_PROGRAM}{}", encoded(program)),
            format!("Program {program} at ESO (its abstract and publications)"),
            "text/html",
        ));
    }
    links
}

/// The links document: VOTable TABLEDATA with DataLink 1.1's fields.
fn optional(value: Option<&str>) -> Cell<'_> {
    value.map_or(Cell::Null, Cell::Text)
}

fn document(links: &[Link]) -> Response {
    let text = |name: &str, ucd: &str| Field {
        ucd: Some(ucd.into()),
        ..Field::new(name, Datatype::Char, Some("*"))
    };
    let fields = [
        text("ID", "meta.id;meta.main"),
        text("access_url", "meta.ref.url"),
        text("service_def", "meta.ref"),
        text("error_message", "meta.code.error"),
        text("semantics", "meta.code"),
        text("description", "meta.note"),
        text("content_type", "meta.code.mime"),
        Field {
            ucd: Some("phys.size;meta.file".into()),
            unit: Some("byte".into()),
            ..Field::new("content_length", Datatype::Long, None)
        },
    ];
    let preamble = Preamble {
        infos: vec![
            ("QUERY_STATUS".into(), "OK".into()),
            ("standardID".into(), DATALINK_LINKS.into()),
        ],
        ..Preamble::default()
    };
    let memory = "writing to memory cannot fail";
    let mut writer =
        TableDataWriter::start(Vec::new(), &preamble, &fields, TimestampStyle::Dali).expect(memory);
    for link in links {
        writer
            .write_row(&[
                Cell::Text(&link.id),
                optional(link.access_url.as_deref()),
                Cell::Null,
                optional(link.error.as_deref()),
                Cell::Text(link.semantics),
                Cell::Text(&link.description),
                optional(link.content_type),
                Cell::Null,
            ])
            .expect(memory);
    }
    writer.finish(&QueryStatus::Ok).expect(memory);
    (
        [(header::CONTENT_TYPE, DATALINK_TYPE)],
        writer.take_output(),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_exposure_ids_or_publisher_dids() {
        assert_eq!(
            exposure_id("GRAVI.2020-01-09T03:34:07.546_1").as_deref(),
            Some("GRAVI.2020-01-09T03:34:07.546_1")
        );
        assert_eq!(
            exposure_id("ivo://eso.org/ID?GRAVI.2020-01-09T03:34:07.546").as_deref(),
            Some("GRAVI.2020-01-09T03:34:07.546_1")
        );
        for bad in [
            "",
            "GRAVI.2020-01-09T03:34:07.546",
            "x'; DROP",
            "ivo://eso.org/ID?",
            "ivo://other/x_1",
        ] {
            assert_eq!(exposure_id(bad), None, "{bad}");
        }
    }
}
