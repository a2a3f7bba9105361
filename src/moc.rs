//! The sky coverage as IVOA MOC 2.0 files, for Aladin, TOPCAT and mocpy: `/moc/{scope}.fits`
//! (a FITS binary table of NUNIQ cells) and `/moc/{scope}.txt` (the ASCII serialisation),
//! where the scope is `all`, an interferometer or an instrument; `/moc` lists them. Each
//! import computes them with pg_sphere (the published `obsportal.coverage`); this module only
//! reads them and writes the FITS form.

use axum::extract::{Path, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};

use crate::http::{AppState, ServiceError, Surface};
use crate::results::{fetch_rows, ResultQuery};
use crate::votable::fits::{card_integer, card_logical, card_string, write_header as header};

pub fn router() -> Router<AppState> {
    Router::new()
        .route("/moc", get(list))
        .route("/moc/{file}", get(file))
}

async fn list(State(state): State<AppState>) -> Response {
    Surface::Text.answer(
        async {
            let rows = fetch_rows(
                &state.reader,
                &ResultQuery::new(
                    "SELECT kind, scope, sky_fraction FROM obsportal.coverage ORDER BY kind DESC, scope",
                    vec![],
                ),
            )
            .await?;
            let entries: Vec<serde_json::Value> = rows
                .iter()
                .map(|row| {
                    let scope: &str = row.get(1);
                    serde_json::json!({
                        "kind": row.get::<_, &str>(0),
                        "scope": scope,
                        "sky_fraction": row.get::<_, f64>(2),
                        "fits": format!("/moc/{scope}.fits"),
                        "ascii": format!("/moc/{scope}.txt"),
                    })
                })
                .collect();
            Ok(Json(entries).into_response())
        }
        .await,
    )
}

async fn file(State(state): State<AppState>, Path(file): Path<String>) -> Response {
    Surface::Text.answer(
        async {
            let (scope, fits) = match (file.strip_suffix(".fits"), file.strip_suffix(".txt")) {
                (Some(scope), _) => (scope, true),
                (_, Some(scope)) => (scope, false),
                _ => {
                    return Err(ServiceError::NotFound(format!(
                        "{file}: a MOC is /moc/<scope>.fits or /moc/<scope>.txt"
                    )))
                }
            };
            let rows = fetch_rows(
                &state.reader,
                &ResultQuery::new(
                    "SELECT moc, moc_order FROM obsportal.coverage WHERE scope = $1",
                    vec![Box::new(scope.to_string())],
                ),
            )
            .await?;
            let row = rows.first().ok_or_else(|| {
                ServiceError::NotFound(format!("No coverage {scope:?} (see /moc)"))
            })?;
            let (ascii, order): (String, i32) = (row.get(0), row.get(1));
            Ok(if fits {
                let cells = parse_ascii(&ascii).ok_or(ServiceError::Internal)?;
                (
                    [(header::CONTENT_TYPE, "application/fits")],
                    fits_moc(&cells, order as u8, scope),
                )
                    .into_response()
            } else {
                (
                    [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
                    format!("{ascii}\n"),
                )
                    .into_response()
            })
        }
        .await,
    )
}

/// The cells (order, index) of an ASCII MOC (`11/1-3 7 12/40`).
pub fn parse_ascii(text: &str) -> Option<Vec<(u8, u64)>> {
    let mut cells = Vec::new();
    let mut order = None;
    for word in text.split_whitespace() {
        let word = match word.split_once('/') {
            Some((depth, rest)) => {
                order = Some(depth.parse::<u8>().ok().filter(|d| *d <= 29)?);
                rest
            }
            None => word,
        };
        if word.is_empty() {
            continue;
        }
        let (low, high) = match word.split_once('-') {
            Some((low, high)) => (low.parse::<u64>().ok()?, high.parse::<u64>().ok()?),
            None => {
                let index = word.parse::<u64>().ok()?;
                (index, index)
            }
        };
        cells.extend((low..=high).map(|index| (order.unwrap_or(0), index)));
        order?;
    }
    Some(cells)
}

/// A MOC 2.0 FITS file: an empty primary HDU, then a binary table of the cells' NUNIQ numbers
/// (4 * 4^order + index), ascending, 32-bit up to order 13 as the standard asks.
pub fn fits_moc(cells: &[(u8, u64)], max_order: u8, name: &str) -> Vec<u8> {
    let mut uniq: Vec<u64> = cells
        .iter()
        .map(|&(order, index)| 4 * 4u64.pow(order.into()) + index)
        .collect();
    uniq.sort_unstable();
    let wide = max_order > 13;
    let mut out = Vec::new();
    header(
        &mut out,
        &[
            card_logical("SIMPLE", true),
            card_integer("BITPIX", 8),
            card_integer("NAXIS", 0),
            card_logical("EXTEND", true),
        ],
    );
    let name: String = name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .collect();
    header(
        &mut out,
        &[
            card_string("XTENSION", "BINTABLE"),
            card_integer("BITPIX", 8),
            card_integer("NAXIS", 2),
            card_integer("NAXIS1", if wide { 8 } else { 4 }),
            card_integer("NAXIS2", uniq.len() as i64),
            card_integer("PCOUNT", 0),
            card_integer("GCOUNT", 1),
            card_integer("TFIELDS", 1),
            card_string("TFORM1", if wide { "1K" } else { "1J" }),
            card_string("TTYPE1", "UNIQ"),
            card_string("ORDERING", "NUNIQ"),
            card_string("COORDSYS", "C"),
            card_string("MOCDIM", "SPACE"),
            card_integer("MOCORD_S", max_order.into()),
            card_integer("MOCORDER", max_order.into()),
            card_string("MOCVERS", "2.0"),
            card_string("MOCTYPE", "CATALOG"),
            card_string("MOCTOOL", "obsportal"),
            card_string("EXTNAME", &format!("{name} coverage")),
        ],
    );
    for value in &uniq {
        if wide {
            out.extend_from_slice(&(*value as i64).to_be_bytes());
        } else {
            out.extend_from_slice(&(*value as i32).to_be_bytes());
        }
    }
    out.resize(out.len().div_ceil(2880) * 2880, 0);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ascii_mocs_are_read_and_written_as_fits_blocks() {
        let cells = parse_ascii("2/77 3/32 34 286 305-307\n11/").unwrap();
        assert_eq!(cells.len(), 1 + 6);
        assert_eq!(cells[0], (2, 77));
        assert_eq!(cells[6], (3, 307));
        assert_eq!(parse_ascii("x/1"), None);
        assert_eq!(parse_ascii("5"), None, "an index needs its order");
        let fits = fits_moc(&cells, 11, "VLTI");
        assert_eq!(fits.len(), 3 * 2880, "primary header, table header, data");
        let text = String::from_utf8_lossy(&fits[2880..2 * 2880]);
        assert!(text.starts_with("XTENSION= 'BINTABLE'"));
        assert!(text.contains("NAXIS2  =                    7"));
        assert!(text.contains("TFORM1  = '1J      '"));
        // The first cell, 2/77: 4 * 16 + 77 = 141, big-endian.
        assert_eq!(&fits[2 * 2880..2 * 2880 + 4], &141i32.to_be_bytes());
    }
}
