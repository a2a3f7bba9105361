//! `/detail/exposure/{exp_id}`: one exposure, with links to its program and its header at
//! ESO, and its projected baselines drawn in the (u,v) plane.

use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use maud::html;
use serde_json::Value;

use super::home::urlencode;
use super::layout::page;
use super::page_rows;
use super::svg::{uv_plot, Baseline};
use crate::http::{AppState, ServiceError, Surface};
use crate::schema::published_table;

pub(super) async fn exposure(
    State(state): State<AppState>,
    Path(exp_id): Path<String>,
) -> Response {
    Surface::Page.answer(answer(&state, exp_id).await)
}

async fn answer(state: &AppState, exp_id: String) -> Result<Response, ServiceError> {
    let rows = page_rows(
        state,
        "SELECT * FROM obsportal.exposures WHERE exp_id = $1::text",
        vec![Box::new(exp_id.clone())],
    )
    .await?;
    let Some(row) = rows.first() else {
        return Err(ServiceError::NotFound(format!(
            "There is no exposure {exp_id:?}."
        )));
    };
    let baselines = projected_baselines(row.get("exp_projected_baselines"));
    let header_id: String = row.get("exp_header_id");
    let program: Option<String> = row.get("obs_program");
    let target_id: i32 = row.get("target_id");
    let target_name: String = row.get("target_name");
    let obs_id: i32 = row.get("obs_id");
    let calibrators = page_rows(
        state,
        "SELECT sequence, cal_exp_id, cal_target_name, gap_minutes, cal_target_id
           FROM obsportal.calibrations WHERE obs_id = $1 ORDER BY sequence DESC",
        vec![Box::new(obs_id)],
    )
    .await?;
    let descriptions = &published_table("exposures").columns;
    let body = html! {
        p {
            a href=(format!("/detail/target/{target_id}")) { "Everything observed of " (target_name) } " · "
            a href=(format!("https://archive.eso.org/hdr?DpId={}", urlencode(&header_id))) { "Header in the ESO archive" }
            @if let Some(program) = &program {
                " · " a href=(format!("https://archive.eso.org/wdb/wdb/eso/sched_rep_arc/query?progid={}", urlencode(program))) { "Program " (program) " at ESO" }
                " · " a href=(format!("/search?program_id={}", urlencode(program))) { "All exposures of this program" }
                " · " a href=(format!("/program/{}", urlencode(program))) { "Its nights" }
            }
        }
        @if !calibrators.is_empty() {
            h2 { "Calibrators" }
            ul #calibrators { @for cal in &calibrators {
                li {
                    (cal.get::<_, &str>(0)) ": "
                    a href=(format!("/detail/exposure/{}", urlencode(cal.get(1)))) { (cal.get::<_, &str>(2)) }
                    (format!(", {:.0} min ", cal.get::<_, f64>(3)))
                    "(" a href=(format!("/detail/target/{}", cal.get::<_, i32>(4))) { "the calibrator" } ")"
                }
            } }
        }
        h2 { "Projected baselines" }
        @if baselines.is_empty() { p { "The header gives no projected baselines." } } @else { (uv_plot(&baselines)) }
        h2 { "All fields" }
        table #fields {
            tbody { @for (index, column) in row.columns().iter().enumerate() {
                tr {
                    th { (column.name()) }
                    td { (cell_text(row, index)) }
                    td { small { (descriptions.iter().find(|c| c.name == column.name()).map(|c| c.description.as_str()).unwrap_or("")) } }
                }
            } }
        }
    };
    Ok(page(&format!("Exposure {exp_id}"), body).into_response())
}

/// `/detail/exposure/{exp_id}/uv.svg`: the exposure's (u,v) picture alone (DataLink's
/// `#preview`).
pub(super) async fn uv_picture(
    State(state): State<AppState>,
    Path(exp_id): Path<String>,
) -> Response {
    Surface::Text.answer(
        async {
            let rows = page_rows(
                &state,
                "SELECT exp_projected_baselines FROM obsportal.exposures WHERE exp_id = $1::text",
                vec![Box::new(exp_id.clone())],
            )
            .await?;
            let row = rows.first().ok_or_else(|| {
                ServiceError::NotFound(format!("There is no exposure {exp_id:?}."))
            })?;
            let picture = uv_plot(&projected_baselines(row.get(0))).into_string();
            Ok((
                [(axum::http::header::CONTENT_TYPE, "image/svg+xml")],
                picture,
            )
                .into_response())
        }
        .await,
    )
}

/// The baselines of the published column, written in ObsPortal's form (a Python dictionary:
/// `{'U1-U2': {'length': {'start': '50.1590', 'end': ...}, 'angle': {...}}, ...}`, `None` for
/// what the header did not give). Station names and numbers hold no quotes, so it reads as
/// JSON once its quotes and `None`s are JSON's.
fn projected_baselines(text: Option<&str>) -> Vec<Baseline> {
    let json = text
        .unwrap_or("{}")
        .replace('\'', "\"")
        .replace("None", "null");
    let Ok(Value::Object(pairs)) = serde_json::from_str::<Value>(&json) else {
        return Vec::new();
    };
    let number = |value: &Value| match value {
        Value::String(text) => text.parse::<f64>().ok(),
        other => other.as_f64(),
    };
    let at = |value: &Value, when: &str| {
        Some((
            number(&value["length"][when])?,
            number(&value["angle"][when])?,
        ))
    };
    pairs
        .iter()
        .map(|(pair, value)| Baseline {
            pair: pair.clone(),
            colour: "#d62728",
            start: at(value, "start"),
            end: at(value, "end"),
        })
        .collect()
}

fn cell_text(row: &tokio_postgres::Row, index: usize) -> String {
    use tokio_postgres::types::Type;
    let column = &row.columns()[index];
    match *column.type_() {
        Type::FLOAT8 => row.get::<_, Option<f64>>(index).map(|v| v.to_string()),
        Type::INT4 => row.get::<_, Option<i32>>(index).map(|v| v.to_string()),
        Type::INT8 => row.get::<_, Option<i64>>(index).map(|v| v.to_string()),
        Type::TIMESTAMPTZ => row
            .get::<_, Option<chrono::DateTime<chrono::Utc>>>(index)
            .map(|v| v.format("%Y-%m-%d %H:%M:%S UTC").to_string()),
        _ => row.get::<_, Option<String>>(index),
    }
    .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_baselines_in_obsportal_form() {
        let baselines = projected_baselines(Some(
            "{'U1-U2': {'length': {'start': '50.1590', 'end': '50.0840'}, 'angle': {'start': '14.6000', 'end': '15.4000'}}, \
             'U2-U3': {'length': {'start': None, 'end': None}, 'angle': {'start': None, 'end': None}}}",
        ));
        assert_eq!(baselines.len(), 2);
        assert_eq!(baselines[0].pair, "U1-U2");
        assert_eq!(baselines[0].start, Some((50.159, 14.6)));
        assert_eq!(baselines[0].end, Some((50.084, 15.4)));
        assert_eq!(baselines[1].start, None);
        assert!(projected_baselines(None).is_empty());
    }
}
